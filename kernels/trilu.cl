/* Trilu (ONNX): y is x with the elements outside a triangle of each matrix
 * (the last two dims, rows x cols) set to 0. Element (i, j) is kept when
 * j - i >= k, or, with -DLOWER, when j - i <= k. The zero is written, not
 * computed as x * 0, so an -inf outside the triangle (an attention mask)
 * becomes 0 rather than NaN.
 *
 * One work-item per element on the grid (j, i, matrix): neighbouring
 * work-items read and write neighbouring elements, and no index needs a
 * division. Each work-item reads the one element it writes, so y may be x.
 * The host pads the first grid dim up to a multiple of 64, hence the check.
 * ONNX's k is any int64; the host clamps it to [-rows, cols], which keeps
 * the same elements (j - i lies in [1 - rows, cols - 1]) and fits an int. */
__kernel void trilu(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int rows, int cols,
                    int k)
{
    int j = get_global_id(0);
    if (j >= cols) return;
    int i = get_global_id(1), m = get_global_id(2);
    int at = (m * rows + i) * cols + j;
    int d = j - i;
#ifdef LOWER
    bool keep = d <= k;
#else
    bool keep = d >= k;
#endif
    STORE(y, y_off + at, keep ? LOAD(x, x_off + at) : 0.0f);
}
