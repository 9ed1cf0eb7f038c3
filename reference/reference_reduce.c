/* The reference kernels of the reductions (ReduceMean ... ReduceLogSumExp),
 * LayerNorm and LogSoftmax: plain loops in double, ONNX semantics. */
#include <math.h>
#include <string.h>

#include "reference_ops.h"

#define R CLG_MAX_RANK

/* What a reduction kind does to each element (map), how it combines
 * (sum, product, max or min) and what it does to the result (finish). */
typedef enum { COMBINE_SUM, COMBINE_PROD, COMBINE_MAX, COMBINE_MIN } combine_kind;

static combine_kind combine_of(clg_op op)
{
    switch (op) {
    case CLG_OP_REDUCE_MAX: return COMBINE_MAX;
    case CLG_OP_REDUCE_MIN: return COMBINE_MIN;
    case CLG_OP_REDUCE_PROD: return COMBINE_PROD;
    default: return COMBINE_SUM;
    }
}

static double map_of(clg_op op, double v, double shift)
{
    switch (op) {
    case CLG_OP_REDUCE_L1: return fabs(v);
    case CLG_OP_REDUCE_L2:
    case CLG_OP_REDUCE_SUM_SQUARE: return v * v;
    case CLG_OP_REDUCE_LOG_SUM_EXP: return exp(v - shift);
    default: return v;
    }
}

static double finish_of(clg_op op, double acc, double count, double shift)
{
    switch (op) {
    case CLG_OP_REDUCE_MEAN: return acc / count;
    case CLG_OP_REDUCE_L2: return sqrt(acc);
    case CLG_OP_REDUCE_LOG_SUM: return log(acc);
    case CLG_OP_REDUCE_LOG_SUM_EXP: return shift + log(acc);
    default: return acc;
    }
}

/* One output element: walks the reduced dims from base. */
typedef struct reduce_walk {
    int n;                     /* reduced dims */
    int64_t dims[R], st[R];    /* their sizes and input strides */
    int64_t count;
} reduce_walk;

static double reduce_one(clg_op op, const reduce_walk *w, const float *x)
{
    combine_kind comb = combine_of(op);
    /* LogSumExp subtracts the maximum first, so exp never overflows. */
    double shift = 0.0;
    int64_t idx[R] = {0};
    if (op == CLG_OP_REDUCE_LOG_SUM_EXP) {
        shift = -INFINITY;
        int64_t off = 0;
        for (int64_t e = 0; e < w->count; e++) {
            if (x[off] > shift) shift = x[off];
            for (int d = w->n - 1; d >= 0; d--) {
                off += w->st[d];
                if (++idx[d] < w->dims[d]) break;
                off -= w->st[d] * w->dims[d];
                idx[d] = 0;
            }
        }
        if (isinf(shift)) shift = 0.0; /* all -inf (log 0) or +inf: let exp say so */
    }
    double acc = comb == COMBINE_SUM ? 0.0 : comb == COMBINE_PROD ? 1.0 : comb == COMBINE_MAX ? -INFINITY : INFINITY;
    int64_t off = 0;
    memset(idx, 0, sizeof idx);
    for (int64_t e = 0; e < w->count; e++) {
        double v = map_of(op, x[off], shift);
        if (comb == COMBINE_SUM) acc += v;
        else if (comb == COMBINE_PROD) acc *= v;
        else if (comb == COMBINE_MAX) acc = v > acc || isnan(v) ? v : acc;
        else acc = v < acc || isnan(v) ? v : acc;
        for (int d = w->n - 1; d >= 0; d--) {
            off += w->st[d];
            if (++idx[d] < w->dims[d]) break;
            off -= w->st[d] * w->dims[d];
            idx[d] = 0;
        }
    }
    return finish_of(op, acc, (double)w->count, shift);
}

clg_status clg_ref_reduce(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    const clg_attrs *at = &a->node->attrs;
    bool mask[R] = {false};
    for (int d = 0; d < xs->rank; d++) mask[d] = at->axes_rank == 0;
    for (int k = 0; k < at->axes_rank; k++) mask[at->axes[k] < 0 ? at->axes[k] + xs->rank : at->axes[k]] = true;
    int64_t st[R], s = 1;
    for (int d = xs->rank - 1; d >= 0; d--) {
        st[d] = s;
        s *= xs->dims[d];
    }
    reduce_walk w = {0, {0}, {0}, 1};
    int kept = 0;
    int64_t kdims[R], kst[R];
    for (int d = 0; d < xs->rank; d++) {
        if (mask[d]) {
            w.dims[w.n] = xs->dims[d];
            w.st[w.n++] = st[d];
            w.count *= xs->dims[d];
        } else {
            kdims[kept] = xs->dims[d];
            kst[kept++] = st[d];
        }
    }
    /* The output in C order is the kept dims in C order, whether or not
     * keepdims leaves 1s between them. */
    int64_t n_out = 1;
    for (int k = 0; k < kept; k++) n_out *= kdims[k];
    int64_t idx[R] = {0}, base = 0;
    for (int64_t o = 0; o < n_out; o++) {
        a->out[o] = (float)reduce_one(a->node->op, &w, a->in[0] + base);
        for (int k = kept - 1; k >= 0; k--) {
            base += kst[k];
            if (++idx[k] < kdims[k]) break;
            base -= kst[k] * kdims[k];
            idx[k] = 0;
        }
    }
    return CLG_OK;
}

clg_status clg_ref_layer_norm(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int axis = (int)(a->node->attrs.axis < 0 ? a->node->attrs.axis + xs->rank : a->node->attrs.axis);
    int64_t rows = 1, len = 1;
    for (int d = 0; d < xs->rank; d++) {
        if (d < axis) rows *= xs->dims[d];
        else len *= xs->dims[d];
    }
    int64_t n_scale = 1, n_bias = 1;
    for (int d = 0; d < a->in_shapes[1]->rank; d++) n_scale *= a->in_shapes[1]->dims[d];
    if (a->n_inputs > 2)
        for (int d = 0; d < a->in_shapes[2]->rank; d++) n_bias *= a->in_shapes[2]->dims[d];
    const float *scale = a->in[1], *bias = a->n_inputs > 2 ? a->in[2] : NULL;
    const float *res = a->n_inputs > 3 ? a->in[3] : NULL;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = a->in[0] + r * len, *xr = res ? res + r * len : NULL;
        float *y = a->out + r * len;
        /* x + residual rounded to float, as the Add it replaces would */
#define ROW(j) (xr ? (double)(x[j] + xr[j]) : (double)x[j])
        double mean = 0.0, var = 0.0;
        for (int64_t j = 0; j < len; j++) mean += ROW(j);
        mean /= (double)len;
        for (int64_t j = 0; j < len; j++) var += (ROW(j) - mean) * (ROW(j) - mean);
        var /= (double)len;
        double inv = 1.0 / sqrt(var + (double)a->node->attrs.epsilon);
        for (int64_t j = 0; j < len; j++) {
            double v = (ROW(j) - mean) * inv * scale[j % n_scale];
            if (bias) v += bias[j % n_bias];
            y[j] = (float)v;
        }
#undef ROW
    }
    return CLG_OK;
}

clg_status clg_ref_log_softmax(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int axis = (int)(a->node->attrs.axis < 0 ? a->node->attrs.axis + xs->rank : a->node->attrs.axis);
    int64_t outer = 1, len = xs->dims[axis], inner = 1;
    for (int d = 0; d < axis; d++) outer *= xs->dims[d];
    for (int d = axis + 1; d < xs->rank; d++) inner *= xs->dims[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *row = a->in[0] + o * len * inner + i;
            float *dst = a->out + o * len * inner + i;
            double mx = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < len; j++)
                if (row[j * inner] > mx) mx = row[j * inner];
            for (int64_t j = 0; j < len; j++) sum += exp((double)row[j * inner] - mx);
            double lse = mx + log(sum);
            for (int64_t j = 0; j < len; j++) dst[j * inner] = (float)((double)row[j * inner] - lse);
        }
    return CLG_OK;
}
