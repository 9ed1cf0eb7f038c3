/* LayerNorm: each row of len contiguous elements (the dims from the axis on)
 * of x (plus the residual r of the same shape, HAS_RESIDUAL defined: the
 * Add before a post-norm LayerNorm, fused) becomes
 * (x - mean) / sqrt(variance + eps) * scale + bias, where scale
 * holds n_scale values and bias n_bias (HAS_BIAS defined), both indexed by
 * the position in the row modulo their size (they match the row's trailing
 * dims, see compiler/infer_reduce.c; FULL_PARAMS when both hold a whole
 * row).
 *
 * One work-group per row (grid: work-group size x rows), its work-items
 * striding over the row so that neighbours read neighbouring elements; or
 * (ROW_PER_ITEM, for CPUs with many rows) one work-item per row, rows on
 * dim 0, without barriers (ROW_VEC8: in vectors of 8 along the row). The
 * variance is the mean of squared deviations from the mean, found in a
 * second pass rather than as E[x^2] - E[x]^2, which cancels badly when the
 * mean is large against the spread. Every read of the row happens before
 * the barrier of the second reduction, and each work-item then reads and
 * writes only its own elements, so y may be x (or r). */

#ifdef ROW_PER_ITEM
#define GROUP_SUM(part, v) (v)
#else
#define GROUP_SUM(part, v) group_sum(part, v)
static float group_sum(__local float *part, float v)
{
    int lid = get_local_id(0);
    part[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) part[lid] += part[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = part[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* part is reused by the next reduction */
    return r;
}
#endif

/* FULL_PARAMS: scale and bias (if any) hold a whole row, so element j's
 * are at j; otherwise at j modulo their size. The remainder is an integer
 * division per element, which PoCL does not vectorise: a LayerNorm of
 * 128 rows of 256 took 0.2 ms on it with the modulo. */
#ifdef FULL_PARAMS
#define PARAM_AT(j, n) (j)
#else
#define PARAM_AT(j, n) ((j) % (n))
#endif

#ifdef HAS_RESIDUAL
#define X(j) (LOAD(src, j) + LOAD(res, j))
#define XV8(j) (LOAD8(src + (j)) + LOAD8(res + (j)))
#else
#define X(j) LOAD(src, j)
#define XV8(j) LOAD8(src + (j))
#endif


__kernel void layernorm(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int rows, int len,
                        float eps, __global const store_t *scale, uint scale_off, int n_scale,
#ifdef HAS_BIAS
                        __global const store_t *bias, uint bias_off, int n_bias,
#endif
#ifdef HAS_RESIDUAL
                        __global const store_t *r, uint r_off,
#endif
#ifdef ROW_PER_ITEM
                        /* no work-group memory: the grid is one item per
                         * row, of any size, not a work-group fitted to it */
                        int unused)
{
    (void)unused;
    int row = get_global_id(0);
    if (row >= rows) return;
    int lid = 0, size = 1;
#else
                        __local float *part)
{
    int row = get_global_id(1);
    if (row >= rows) return; /* a whole work-group: the barriers stay uniform */
    int lid = get_local_id(0), size = get_local_size(0);
#endif
    __global const store_t *src = x + x_off + (size_t)row * len;
    __global store_t *dst = y + y_off + (size_t)row * len;
#ifdef HAS_RESIDUAL
    __global const store_t *res = r + r_off + (size_t)row * len;
#endif

#ifdef ROW_VEC8
    /* One row per work-item (FULL_PARAMS), eight elements of the row at a
     * time, then the row's last len % 8 one by one: the vector unit runs
     * along the row. Vectorised across work-items instead, as the scalar
     * loop below is on CPUs, every load is a gather of elements a row
     * apart, which made this kernel 3-9x slower on both CPU runtimes. */
    (void)lid;
    (void)size;
    int len8 = len & ~7;
    float8 acc = (float8)(0.0f);
    float tail = 0.0f;
    for (int j = 0; j < len8; j += 8) acc += XV8(j);
    for (int j = len8; j < len; j++) tail += X(j);
    float mean = (HSUM8(acc) + tail) / (float)len;
    acc = (float8)(0.0f);
    tail = 0.0f;
    for (int j = 0; j < len8; j += 8) {
        float8 d = XV8(j) - mean;
        acc = fma(d, d, acc);
    }
    for (int j = len8; j < len; j++) {
        float d = X(j) - mean;
        tail += d * d;
    }
    float inv = rsqrt((HSUM8(acc) + tail) / (float)len + eps);
    scale += scale_off;
#ifdef HAS_BIAS
    bias += bias_off;
#endif
    for (int j = 0; j < len8; j += 8) {
        float8 v = (XV8(j) - mean) * inv * LOAD8(scale + j);
#ifdef HAS_BIAS
        v += LOAD8(bias + j);
#endif
        STOREV(8, v, dst + j);
    }
    for (int j = len8; j < len; j++) {
        float v = (X(j) - mean) * inv * LOAD(scale, j);
#ifdef HAS_BIAS
        v += LOAD(bias, j);
#endif
        STORE(dst, j, v);
    }
#else
    float sum = 0.0f;
    for (int j = lid; j < len; j += size) sum += X(j);
    float mean = GROUP_SUM(part, sum) / (float)len;
    float dev = 0.0f;
    for (int j = lid; j < len; j += size) {
        float d = X(j) - mean;
        dev += d * d;
    }
    float inv = rsqrt(GROUP_SUM(part, dev) / (float)len + eps);
    scale += scale_off;
#ifdef HAS_BIAS
    bias += bias_off;
#endif
    for (int j = lid; j < len; j += size) {
        float v = (X(j) - mean) * inv * LOAD(scale, PARAM_AT(j, n_scale));
#ifdef HAS_BIAS
        v += LOAD(bias, PARAM_AT(j, n_bias));
#endif
        STORE(dst, j, v);
    }
#endif
}
