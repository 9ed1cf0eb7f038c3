/* A strided copy: dst[index . dst_strides] = src[index . src_strides] for
 * every index of a grid of up to MAX_RANK dims. It serves Transpose (src
 * strides permuted), Concat (dst strides of the whole output, the offset at
 * the input's slice) and broadcasting (src strides of 0). The host gives
 * dims and strides right-aligned in MAX_RANK slots (slots before
 * MAX_RANK - rank are unused) after merging dims that are contiguous in both
 * tensors, so a plain copy arrives as rank 1. One work-item per element,
 * n = the product of the dims. */

#define MAX_RANK 5

__kernel void copy_strided(__global const float *src, uint src_off, __global float *dst,
                           uint dst_off, int n, int rank,
                           int d0, int d1, int d2, int d3, int d4,
                           int ss0, int ss1, int ss2, int ss3, int ss4,
                           int ds0, int ds1, int ds2, int ds3, int ds4)
{
    int i = get_global_id(0);
    if (i >= n) return;
    const int dims[MAX_RANK] = {d0, d1, d2, d3, d4};
    const int src_st[MAX_RANK] = {ss0, ss1, ss2, ss3, ss4};
    const int dst_st[MAX_RANK] = {ds0, ds1, ds2, ds3, ds4};
    int rest = i, is = 0, id = 0;
    int first = MAX_RANK - rank;
    for (int d = MAX_RANK - 1; d > first; d--) {
        int q = rest / dims[d];
        int c = rest - q * dims[d];
        is += c * src_st[d];
        id += c * dst_st[d];
        rest = q;
    }
    /* The outermost dim needs no modulo: what is left is its coordinate. */
    is += rest * src_st[first];
    id += rest * dst_st[first];
    dst[dst_off + id] = src[src_off + is];
}
