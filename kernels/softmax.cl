/* Softmax along one axis of x, seen as [outer, len, inner]: the row at
 * (o, i) is x[o * len * inner + j * inner + i] for j in [0, len). One
 * work-item per row, n = outer * inner rows; the host pads the grid up to a
 * multiple of 64, hence the check. Finding (o, i) costs one division per
 * row, not per element. Subtracting the row's maximum before exp keeps
 * every term in (0, 1], so nothing overflows. Each element is read before
 * it is written, so y may be x. */
__kernel void softmax(__global const float *x, uint x_off, __global float *y, uint y_off, int n,
                      int len, int inner)
{
    int row = get_global_id(0);
    if (row >= n) return;
    int o = row / inner, i = row - o * inner;
    int base = o * len * inner + i;
    __global const float *src = x + x_off + base;
    __global float *dst = y + y_off + base;

    float mx = -INFINITY;
    for (int j = 0; j < len; j++) mx = fmax(mx, src[j * inner]);
    float sum = 0.0f;
    for (int j = 0; j < len; j++) {
        float e = exp(src[j * inner] - mx);
        dst[j * inner] = e;
        sum += e;
    }
    for (int j = 0; j < len; j++) dst[j * inner] /= sum;
}
