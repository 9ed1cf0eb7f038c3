/* ONNX Gather along one axis, data viewed as [outer, axis_len, inner] and
 * the output as [outer, q, inner] (q: the number of indices):
 *     y[o, j, i] = x[o, idx[j], i]
 * One work-item per output element. With inner > 1 the grid is
 * (inner, q, outer), so neighbouring work-items read neighbouring elements
 * of one row of x: an embedding lookup Gather(weight[V, D], ids) reads each
 * row of D floats coalesced. With inner == 1 (gathering along the last
 * axis) the grid is (q, outer, 1) so that its first dim is never a lone 1.
 * Indices are integers held as floats (every value is an fp32 buffer); a
 * negative one counts from the back (ONNX). An index outside
 * [-axis_len, axis_len) is clamped to the nearest row, and the work-item
 * stores `node` (1 + the node's index) in *flag, which the host zeroes
 * before the run and reads with the outputs, so the run fails naming the
 * node instead of returning the clamped rows. (Racing stores write the same
 * kind of value; any one of them names a node that went wrong.) The host
 * pads the first grid dim up to a multiple of 64, hence the check. */
__kernel void gather(__global const store_t *x, uint x_off, __global const store_t *idx, uint idx_off,
                     __global store_t *y, uint y_off, __global float *flag, uint flag_off, int node,
                     int inner, int axis_len, int q, int n0, int inner_first)
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
    float v = LOAD(idx, idx_off + j);
    if (!(v >= (float)-axis_len && v < (float)axis_len)) flag[flag_off] = (float)node;
    int k = (int)clamp(v, (float)-axis_len, (float)(axis_len - 1));
    if (k < 0) k += axis_len;
    STORE(y, y_off + (o * q + j) * inner + i, LOAD(x, x_off + (o * axis_len + k) * inner + i));
}

/* ONNX GatherElements over at most 8 dims, the output (and the indices,
 * which have its shape) dense [n0, ..., n7] (leading 1s for a lower rank):
 * y[p] = x[p with p[axis] replaced by idx[p]], x's element strides
 * s0..s7. One work-item per output element, i the linear index; an index
 * out of range is clamped and flagged like gather's. The host pads the grid
 * up to a multiple of 64, hence the check. */
__kernel void gather_elements(__global const store_t *x, uint x_off, __global const store_t *idx, uint idx_off,
                              __global store_t *y, uint y_off, __global float *flag, uint flag_off, int node,
                              int n, int n1, int n2, int n3, int n4, int n5, int n6, int n7,
                              int s0, int s1, int s2, int s3, int s4, int s5, int s6, int s7,
                              int axis, int axis_len)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float v = LOAD(idx, idx_off + i);
    if (!(v >= (float)-axis_len && v < (float)axis_len)) flag[flag_off] = (float)node;
    int k = (int)clamp(v, (float)-axis_len, (float)(axis_len - 1));
    if (k < 0) k += axis_len;
    const int dims[8] = {1, n1, n2, n3, n4, n5, n6, n7};
    const int st[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    int r = i, at = 0;
#pragma unroll
    for (int d = 7; d >= 0; d--) {
        int p = d > 0 ? r % dims[d] : r;
        r = d > 0 ? r / dims[d] : 0;
        at += (d == axis ? k : p) * st[d];
    }
    STORE(y, y_off + i, LOAD(x, x_off + at));
}
