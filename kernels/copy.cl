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

/* copy_strided for short rows (n0 <= 8: a transpose or slice of small
 * planes, ShuffleNet's channel shuffle over 2x2 ones): grid dim 0
 * walks dims 0 and 1 together, 2^shift items per row (the fewest that
 * hold n0), dim 1 walks dim 2; a shift and a mask, no division. With dim
 * 0 padded to 64 instead, a row of 4 elements kept 4 of 64 work-items
 * busy. */
__kernel void copy_rows(__global const store_t *src, uint src_off, __global store_t *dst, uint dst_off, int n0,
                        int n1, int shift, int s0, int s1, int s2, int d0, int d1, int d2)
{
    const int item = get_global_id(0), i1 = item >> shift, i0 = item & ((1 << shift) - 1);
    if (i1 >= n1 || i0 >= n0) return;
    const int i2 = get_global_id(1);
    STORE(dst, dst_off + i0 * d0 + i1 * d1 + i2 * d2, LOAD(src, src_off + i0 * s0 + i1 * s1 + i2 * s2));
}

/* Up to eight inputs of a Concat in one launch (runtime/lower/copy.c
 * lower_concat_rows): the output seen as rows (dim 1 of the grid: one per
 * index of the dims before the axis) of row_out elements, this launch's
 * inputs' rows consecutive runs of one output row. A work-item copies 16
 * neighbouring elements of a run as one vector (the run's last few one by
 * one). Dim 0 walks the runs, each padded to a multiple of 64 work-items:
 * run k takes items [p_{k-1}, p_k) (p_{-1} = 0), whose first ceil(n_k /
 * 16) copy input k's row (n_k elements) to columns c_k onwards. So a
 * work-group of 64 (what the host asks for) or of any size dividing 64
 * lies within one run, and the run is chosen from its group's first item:
 * one input for the whole group.
 *
 * Why: DenseNet concatenates every earlier layer's features before each
 * layer (DenseNet-121 at 64x64, batch 16: about 106 MB read and written
 * per call). As a strided copy per input, an element per work-item (a
 * work-group per 256 bytes), its Concats took 11-22 ms of Intel's
 * runtime's device time (ONNX Runtime: 3.7 ms) and 593 launches; a run
 * chosen per item instead of per group made every load a gather. Slots
 * past the launch's inputs have p_k = the last padded end and are never
 * taken. */
#define CAT_IN(k) , __global const store_t *x##k, uint x##k##_off, int p##k, int n##k, int c##k
#define CAT_TAKE(k, prev)                   \
    else if (key < p##k) {                  \
        src = x##k + x##k##_off;            \
        v = j - (prev);                     \
        n = n##k;                           \
        c = c##k;                           \
    }
#define CAT_CHOOSE                                                                                            \
    if (key < p0) {                                                                                           \
        src = x0 + x0_off;                                                                                    \
        v = j;                                                                                                \
        n = n0;                                                                                               \
        c = c0;                                                                                               \
    }                                                                                                         \
    CAT_TAKE(1, p0) CAT_TAKE(2, p1) CAT_TAKE(3, p2) CAT_TAKE(4, p3) CAT_TAKE(5, p4) CAT_TAKE(6, p5)           \
    CAT_TAKE(7, p6)
__kernel void concat8(__global store_t *y, uint y_off, int row_out CAT_IN(0) CAT_IN(1) CAT_IN(2) CAT_IN(3)
                          CAT_IN(4) CAT_IN(5) CAT_IN(6) CAT_IN(7))
{
    const int j = get_global_id(0), o = get_global_id(1);
    const __global store_t *src = x0 + x0_off;
    int v = 0, n = 0, c = 0; /* v: the item's vector in its run */
    if (64 % get_local_size(0) == 0) {
        /* the group's first item: one run for the whole group */
        const int key = get_group_id(0) * get_local_size(0);
        CAT_CHOOSE
    } else {
        const int key = j;
        CAT_CHOOSE
    }
    const int e = v * 16;
    if (e >= n) return; /* the run's padding, or past the last run */
    const __global store_t *from = src + (size_t)o * n + e;
    __global store_t *to = y + y_off + (size_t)o * row_out + c + e;
    if (e + 16 <= n) {
        STOREV(16, LOADV(16, from), to);
    } else {
        for (int i = 0; i < n - e; i++) STORE(to, i, LOAD(from, i));
    }
}
