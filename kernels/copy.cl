/* A strided copy over a grid of at most three dims, i0 the innermost
 * (extent n0), i1 (extent n1), i2 the outermost:
 *     dst[i0 * d0 + i1 * d1 + i2 * d2] = src[i0 * s0 + i1 * s1 + i2 * s2]
 * It serves every data-movement op: Transpose (permuted source strides),
 * Concat (the output's strides, the offset at the input's slice),
 * broadcasting and Expand (source strides of 0), Slice (source strides
 * times the steps, negative for a reversed axis, the offset at the first
 * element read), DepthToSpace and SpaceToDepth (the block dims as dims of
 * their own). The host merges dims that are contiguous in both tensors (a
 * plain copy becomes one dim, a Concat input two) and, for shapes that
 * keep more than three, gives the grid the innermost and the two largest
 * and launches once per index of the rest. There is no
 * integer division: PoCL does not hoist it out of its work-item loops.
 * The host pads the first grid dim up to a multiple of 64, hence the check.
 *
 * -DWRAP (Tile): the source index along each grid dim wraps at the input's
 * extent m0, m1, m2, so the output repeats the input; the modulo is the
 * price of not launching once per repeat. */
#ifdef WRAP
#define AT(i, m) ((i) % (m))
#else
#define AT(i, m) (i)
#endif

__kernel void copy_strided(__global const store_t *src, uint src_off, __global store_t *dst,
                           uint dst_off, int n0, int s0, int s1, int s2, int d0, int d1, int d2
#ifdef WRAP
                           , int m0, int m1, int m2
#endif
                           )
{
    int i0 = get_global_id(0);
    if (i0 >= n0) return;
    int i1 = get_global_id(1), i2 = get_global_id(2);
    STORE(dst, dst_off + i0 * d0 + i1 * d1 + i2 * d2,
          LOAD(src, src_off + AT(i0, m0) * s0 + AT(i1, m1) * s1 + AT(i2, m2) * s2));
}

/* Up to eight inputs of a Concat in one launch (runtime/lower/copy.c
 * lower_concat_rows): the output seen as `outer` rows of row_out elements
 * (outer: the product of the dims before the axis), this launch's inputs
 * as consecutive runs of one row, input k's run ending at e_k (its own
 * rows e_k - e_{k-1} long). Work-item (j, o) copies element j of the runs
 * in row o. DenseNet concatenates every earlier layer's features before
 * each layer: a launch per input, as the strided copy takes it, was up to
 * 25 launches per Concat (846 per DenseNet-121 call). Slots past the
 * launch's inputs repeat its last input, e_k = total, and are never
 * taken. The host pads the first grid dim up to a multiple of 64, hence
 * the check. */
#define CAT_IN(k) , __global const store_t *x##k, uint x##k##_off, int e##k
#define CAT_TAKE(k, prev)                                \
    else if (j < e##k) {                                 \
        src = x##k + x##k##_off;                         \
        start = prev;                                    \
        len = e##k - (prev);                             \
    }
__kernel void concat8(__global store_t *y, uint y_off, int row_out, int total CAT_IN(0) CAT_IN(1) CAT_IN(2)
                          CAT_IN(3) CAT_IN(4) CAT_IN(5) CAT_IN(6) CAT_IN(7))
{
    const int j = get_global_id(0), o = get_global_id(1);
    if (j >= total) return;
    /* input 0's run, unless j lies in a later one */
    const __global store_t *src = x0 + x0_off;
    int start = 0, len = e0;
    if (j < e0) {
    }
    CAT_TAKE(1, e0) CAT_TAKE(2, e1) CAT_TAKE(3, e2) CAT_TAKE(4, e3) CAT_TAKE(5, e4) CAT_TAKE(6, e5) CAT_TAKE(7, e6)
    STORE(y, y_off + (size_t)o * row_out + j, LOAD(src, (size_t)o * len + (j - start)));
}
