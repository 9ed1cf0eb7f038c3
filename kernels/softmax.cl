/* Softmax along one axis of x (LogSoftmax with LOG_SOFTMAX defined:
 * x - max - log(sum of exp(x - max)), each element read before it is
 * written), seen as [outer, len, inner]: the row at
 * (o, i) is x[o * len * inner + j * inner + i] for j in [0, len). One
 * work-item per row, n = outer * inner rows; the host pads the grid up to a
 * multiple of 64, hence the check. Finding (o, i) costs one division per
 * row, not per element. ROW_VEC8 (the host defines it when inner is 1):
 * the row in float8s. Subtracting the row's maximum before exp keeps
 * every term in (0, 1], so nothing overflows. Each element is read before
 * it is written, so y may be x.
 *
 * A program holds the one kernel SOFTMAX_KERNEL names (1 softmax, 2
 * softmax_group; both without it): PoCL compiles a work-group function
 * for every kernel of a program when its binary is taken for the cache
 * (docs/runtime.md, "Start-up"), 0.5 s for softmax_group on PoCL. */
#if !defined(SOFTMAX_KERNEL) || SOFTMAX_KERNEL == 1
__kernel void softmax(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int n,
                      int len, int inner)
{
    int row = get_global_id(0);
    if (row >= n) return;
    int o = row / inner, i = row - o * inner;
    int base = o * len * inner + i;
    __global const store_t *src = x + x_off + base;
    __global store_t *dst = y + y_off + base;

#ifdef ROW_VEC8
    /* inner == 1 (the last axis): the row is contiguous, so it is read
     * eight elements at a time and the row's last len % 8 one by one. The
     * scalar loops below, vectorised across work-items by CPU compilers,
     * make every load a gather of elements a row apart: 4096 rows of 128
     * took 1.1 ms on Intel's runtime and 2.9 ms on PoCL that way. */
    int len8 = len & ~7;
    float8 m8 = (float8)(-INFINITY);
    for (int j = 0; j < len8; j += 8) m8 = fmax(m8, LOAD8(src + j));
    float4 m4 = fmax(m8.lo, m8.hi);
    float mx = fmax(fmax(m4.x, m4.y), fmax(m4.z, m4.w));
    for (int j = len8; j < len; j++) mx = fmax(mx, LOAD(src, j));
    float8 s8 = (float8)(0.0f);
    float sum = 0.0f;
#ifdef LOG_SOFTMAX
    for (int j = 0; j < len8; j += 8) s8 += exp(LOAD8(src + j) - mx);
    for (int j = len8; j < len; j++) sum += exp(LOAD(src, j) - mx);
    float lse = mx + log(sum + HSUM8(s8));
    for (int j = 0; j < len8; j += 8) STOREV(8, LOAD8(src + j) - lse, dst + j);
    for (int j = len8; j < len; j++) STORE(dst, j, LOAD(src, j) - lse);
#else
    for (int j = 0; j < len8; j += 8) {
        float8 e = exp(LOAD8(src + j) - mx);
        STOREV(8, e, dst + j);
        s8 += e;
    }
    for (int j = len8; j < len; j++) {
        float e = exp(LOAD(src, j) - mx);
        STORE(dst, j, e);
        sum += e;
    }
    sum += HSUM8(s8);
    for (int j = 0; j < len8; j += 8) STOREV(8, LOAD8(dst + j) / sum, dst + j);
    for (int j = len8; j < len; j++) STORE(dst, j, LOAD(dst, j) / sum);
#endif
#else
    float mx = -INFINITY;
    for (int j = 0; j < len; j++) mx = fmax(mx, LOAD(src, j * inner));
    float sum = 0.0f;
#ifdef LOG_SOFTMAX
    for (int j = 0; j < len; j++) sum += exp(LOAD(src, j * inner) - mx);
    float lse = mx + log(sum);
    for (int j = 0; j < len; j++) STORE(dst, j * inner, LOAD(src, j * inner) - lse);
#else
    for (int j = 0; j < len; j++) {
        float e = exp(LOAD(src, j * inner) - mx);
        STORE(dst, j * inner, e);
        sum += e;
    }
    for (int j = 0; j < len; j++) STORE(dst, j * inner, LOAD(dst, j * inner) / sum);
#endif
#endif /* ROW_VEC8 */
}
#endif

/* The same for few long rows (a classifier head or an attention row at
 * batch 1): one work-group per row (grid: work-group size x rows), its
 * work-items striding over the row and reducing its maximum and its sum
 * through part, one float per work-item (the host sizes it; the group size
 * is a power of two). Every element is read and written by one work-item,
 * all reads for the maximum happen before the first barrier, so y may be x. */
static float group_reduce(__local float *part, float v, int is_max)
{
    int lid = get_local_id(0);
    part[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) part[lid] = is_max ? fmax(part[lid], part[lid + s]) : part[lid] + part[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = part[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* part is reused by the next reduction */
    return r;
}

#if !defined(SOFTMAX_KERNEL) || SOFTMAX_KERNEL == 2
__kernel void softmax_group(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int n,
                            int len, int inner, __local float *part)
{
    int row = get_global_id(1);
    if (row >= n) return; /* a whole work-group: the barriers stay uniform */
    int lid = get_local_id(0), size = get_local_size(0);
    int o = row / inner, i = row - o * inner;
    int base = o * len * inner + i;
    __global const store_t *src = x + x_off + base;
    __global store_t *dst = y + y_off + base;

    float mx = -INFINITY;
    for (int j = lid; j < len; j += size) mx = fmax(mx, LOAD(src, j * inner));
    mx = group_reduce(part, mx, 1);
    float sum = 0.0f;
#ifdef LOG_SOFTMAX
    for (int j = lid; j < len; j += size) sum += exp(LOAD(src, j * inner) - mx);
    float lse = mx + log(group_reduce(part, sum, 0));
    for (int j = lid; j < len; j += size) STORE(dst, j * inner, LOAD(src, j * inner) - lse);
#else
    for (int j = lid; j < len; j += size) {
        float e = exp(LOAD(src, j * inner) - mx);
        STORE(dst, j * inner, e);
        sum += e;
    }
    sum = group_reduce(part, sum, 0);
    for (int j = lid; j < len; j += size) STORE(dst, j * inner, LOAD(dst, j * inner) / sum);
#endif
}
#endif
