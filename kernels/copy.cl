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
