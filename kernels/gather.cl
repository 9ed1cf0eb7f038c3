/* ONNX Gather along one axis, data viewed as [outer, axis_len, inner] and
 * the output as [outer, q, inner] (q: the number of indices):
 *     y[o, j, i] = x[o, idx[j], i]
 * One work-item per output element. With inner > 1 the grid is
 * (inner, q, outer), so neighbouring work-items read neighbouring elements
 * of one row of x: an embedding lookup Gather(weight[V, D], ids) reads each
 * row of D floats coalesced. With inner == 1 (gathering along the last
 * axis) the grid is (q, outer, 1) so that its first dim is never a lone 1.
 * Indices are integers held as floats (every value is an fp32 buffer); a
 * negative one counts from the back (ONNX). A kernel cannot report an
 * error cheaply, so an index outside [-axis_len, axis_len) is clamped to
 * the nearest row: the reference executor reports it instead. The host
 * pads the first grid dim up to a multiple of 64, hence the check. */
__kernel void gather(__global const float *x, uint x_off, __global const float *idx, uint idx_off,
                     __global float *y, uint y_off, int inner, int axis_len, int q, int n0,
                     int inner_first)
{
    int g0 = get_global_id(0);
    if (g0 >= n0) return;
    int i, j, o;
    if (inner_first) {
        i = g0;
        j = get_global_id(1);
        o = get_global_id(2);
    } else {
        i = 0;
        j = g0;
        o = get_global_id(1);
    }
    int k = (int)idx[idx_off + j];
    if (k < 0) k += axis_len;
    k = clamp(k, 0, axis_len - 1);
    y[y_off + (o * q + j) * inner + i] = x[x_off + (o * axis_len + k) * inner + i];
}
