/* Reductions (ReduceMean, ReduceSum, ... ReduceLogSumExp). The host picks
 * the kind with three defines:
 *   how elements combine: COMBINE_SUM, COMBINE_PROD, COMBINE_MAX, COMBINE_MIN;
 *   what each element is first (none: itself): MAP_ABS, MAP_SQUARE, or
 *     MAP_EXP (LogSumExp: exp(v - the maximum), the maximum found by a first
 *     pass, so exp never overflows);
 *   what the result becomes (none: itself): FINISH_MEAN (divided by the
 *     count), FINISH_SQRT, FINISH_LOG (plus the maximum after MAP_EXP).
 * Max and min propagate NaN, as ONNX's reference (NumPy) does. */

#if defined(COMBINE_SUM)
#define INIT 0.0f
#define COMBINE(a, b) ((a) + (b))
#elif defined(COMBINE_PROD)
#define INIT 1.0f
#define COMBINE(a, b) ((a) * (b))
#elif defined(COMBINE_MAX)
#define INIT (-INFINITY)
#define COMBINE(a, b) ((a) > (b) || isnan(a) ? (a) : (b))
#elif defined(COMBINE_MIN)
#define INIT INFINITY
#define COMBINE(a, b) ((a) < (b) || isnan(a) ? (a) : (b))
#else
#error "reduce.cl needs one of COMBINE_SUM, COMBINE_PROD, COMBINE_MAX, COMBINE_MIN"
#endif

#if defined(MAP_ABS)
#define MAP(v, shift) fabs(v)
#elif defined(MAP_SQUARE)
#define MAP(v, shift) ((v) * (v))
#elif defined(MAP_EXP)
#define MAP(v, shift) exp((v) - (shift))
#else
#define MAP(v, shift) (v)
#endif

#if defined(FINISH_MEAN)
#define FINISH(acc, count, shift) ((acc) / (float)(count))
#elif defined(FINISH_SQRT)
#define FINISH(acc, count, shift) sqrt(acc)
#elif defined(FINISH_LOG)
#define FINISH(acc, count, shift) ((shift) + log(acc))
#else
#define FINISH(acc, count, shift) (acc)
#endif

/* A maximum that keeps an infinite one out of the exp's shift: with every
 * element -inf (log 0) or an element +inf, the shift is 0 and exp says the
 * rest, as the reference does. */
static float shift_of(float mx) { return isinf(mx) ? 0.0f : mx; }

/* The work-group's combination of v (one per work-item) through part (one
 * float per work-item; the group size is a power of two), as softmax.cl
 * does it; every work-item gets the result. */
static float group_combine(__local float *part, float v, int is_max)
{
    int lid = get_local_id(0);
    part[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) part[lid] = is_max ? fmax(part[lid], part[lid + s]) : COMBINE(part[lid], part[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = part[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* part is reused by the next reduction */
    return r;
}

/* Rows of len contiguous elements, row r at x[r * len]: one work-group per
 * row (grid: work-group size x rows), its work-items striding over the row
 * so that neighbours read neighbouring elements, then a tree through local
 * memory. */
__kernel void reduce_rows(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int rows, int len,
                          __local float *part)
{
    int row = get_global_id(1);
    if (row >= rows) return; /* a whole work-group: the barriers stay uniform */
    int lid = get_local_id(0), size = get_local_size(0);
    __global const store_t *src = x + x_off + (size_t)row * len;
    float shift = 0.0f;
#ifdef MAP_EXP
    float mx = -INFINITY;
    for (int j = lid; j < len; j += size) mx = fmax(mx, LOAD(src, j));
    shift = shift_of(group_combine(part, mx, 1));
#endif
    float acc = INIT;
    for (int j = lid; j < len; j += size) acc = COMBINE(acc, MAP(LOAD(src, j), shift));
    acc = group_combine(part, acc, 0);
    if (lid == 0) STORE(y, y_off + row, FINISH(acc, len, shift));
}

/* Any axes: one work-item per output element, n of them (the grid padded,
 * hence the check). The host merges neighbouring dims that are both kept or
 * both reduced and drops dims of 1, which leaves at most four of each for
 * rank 8: kept dims k0..k3 (k3 innermost) with input strides ks0..ks3,
 * reduced dims r0..r3 with strides rs0..rs3 (unused ones 1 and 0).
 * Neighbouring work-items differ in the innermost kept dim, so when the
 * reduced axes are outer ones (the common case here: innermost rows take
 * reduce_rows) their reads are neighbouring addresses. */
__kernel void reduce_strided(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int n,
                             int k0, int k1, int k2, int k3, int ks0, int ks1, int ks2, int ks3,
                             int r0, int r1, int r2, int r3, int rs0, int rs1, int rs2, int rs3)
{
    int o = get_global_id(0);
    if (o >= n) return;
    int i3 = o % k3, t = o / k3;
    int i2 = t % k2;
    t /= k2;
    int i1 = t % k1, i0 = t / k1;
    (void)k0;
    __global const store_t *src = x + x_off + i0 * ks0 + i1 * ks1 + i2 * ks2 + i3 * ks3;
    float shift = 0.0f;
#ifdef MAP_EXP
    float mx = -INFINITY;
    for (int a = 0; a < r0; a++)
        for (int b = 0; b < r1; b++)
            for (int c = 0; c < r2; c++)
                for (int e = 0; e < r3; e++) mx = fmax(mx, LOAD(src, a * rs0 + b * rs1 + c * rs2 + e * rs3));
    shift = shift_of(mx);
#endif
    float acc = INIT;
    for (int a = 0; a < r0; a++)
        for (int b = 0; b < r1; b++)
            for (int c = 0; c < r2; c++)
                for (int e = 0; e < r3; e++)
                    acc = COMBINE(acc, MAP(LOAD(src, a * rs0 + b * rs1 + c * rs2 + e * rs3), shift));
    STORE(y, y_off + o, FINISH(acc, r0 * r1 * r2 * r3, shift));
}
