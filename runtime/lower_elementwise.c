/* Lowering of the elementwise ops to kernels/elementwise.cl: the activations
 * (one unary kernel), Add/Sub/Mul/Div (one broadcasting binary kernel) and
 * BatchNorm in inference form. */
#include <limits.h>

#include "lower.h"

#define R CLG_MAX_RANK
#define FILE_CL "elementwise.cl"

/* Op codes of the unary and binary kernels; kernels/elementwise.cl defines
 * the same numbers. */
enum {
    UNARY_RELU = 0,
    UNARY_LEAKY_RELU = 1,
    UNARY_SIGMOID = 2,
    UNARY_TANH = 3,
    UNARY_CLIP = 4,
    UNARY_GELU_ERF = 5,
    UNARY_GELU_TANH = 6
};
enum { BINARY_ADD = 0, BINARY_SUB = 1, BINARY_MUL = 2, BINARY_DIV = 3 };

static int64_t count_of(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* The kernels index with int; a tensor past that is refused, not wrapped. */
static clg_status check_size(clg_lower *lw, const clg_node *n, const clg_dev_tensor *t)
{
    if (count_of(&t->shape) <= INT_MAX) return CLG_OK;
    return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                        "node %s (%s): tensors of more than %d elements are not supported",
                        n->name, clg_op_name(n->op), INT_MAX);
}

clg_status clg_lower_unary(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                           const clg_dev_tensor *out)
{
    const clg_attrs *a = &n->attrs;
    int op;
    float alpha = 0.0f, beta = 0.0f;
    switch (n->op) {
    case CLG_OP_RELU: op = UNARY_RELU; break;
    case CLG_OP_LEAKY_RELU: op = UNARY_LEAKY_RELU; alpha = a->alpha; break;
    case CLG_OP_SIGMOID: op = UNARY_SIGMOID; break;
    case CLG_OP_TANH: op = UNARY_TANH; break;
    case CLG_OP_CLIP: op = UNARY_CLIP; alpha = a->min; beta = a->max; break;
    case CLG_OP_GELU: op = a->approximate ? UNARY_GELU_TANH : UNARY_GELU_ERF; break;
    default:
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): not a unary op",
                            n->name, clg_op_name(n->op));
    }
    clg_status s = check_size(lw, n, out);
    if (s) return s;
    int64_t count = count_of(&out->shape);
    if (count == 0) return CLG_OK;
    size_t global = (size_t)count;
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(count), CLG_ARG_I(op),
                       CLG_ARG_F(alpha), CLG_ARG_F(beta)};
    return clg_emit_kernel(lw, FILE_CL, "unary", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}

/* Element strides of `in` seen through the shape `out` under NumPy
 * broadcasting: in's dims align with out's trailing dims, and a dim of 1 (or
 * a missing leading dim) gets stride 0 so its element repeats. */
static void broadcast_strides(const clg_shape *in, const clg_shape *out, int64_t st[R])
{
    int lead = out->rank - in->rank;
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int k = i - lead;
        if (k < 0) {
            st[i] = 0;
        } else {
            st[i] = in->dims[k] == 1 ? 0 : s;
            s *= in->dims[k];
        }
    }
}

/* Drops dims of 1 and merges neighbours that are contiguous for every
 * stride array (a stride of the outer dim equal to the inner stride times
 * the inner dim), so the kernel does as few divisions as the layout
 * allows: a same-shape operation becomes rank 1. Leaves rank >= 1. */
static void merge_dims(int *rank, int64_t dims[R], int64_t st[][R], int n_st)
{
    int r = 0;
    for (int i = 0; i < *rank; i++) {
        if (dims[i] == 1) continue;
        bool merge = r > 0;
        for (int k = 0; merge && k < n_st; k++)
            if (st[k][r - 1] != st[k][i] * dims[i]) merge = false;
        if (merge) {
            dims[r - 1] *= dims[i];
            for (int k = 0; k < n_st; k++) st[k][r - 1] = st[k][i];
        } else {
            dims[r] = dims[i];
            for (int k = 0; k < n_st; k++) st[k][r] = st[k][i];
            r++;
        }
    }
    if (r == 0) {
        dims[0] = 1;
        for (int k = 0; k < n_st; k++) st[k][0] = 0;
        r = 1;
    }
    *rank = r;
}

clg_status clg_lower_binary(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    int op;
    switch (n->op) {
    case CLG_OP_ADD: op = BINARY_ADD; break;
    case CLG_OP_SUB: op = BINARY_SUB; break;
    case CLG_OP_MUL: op = BINARY_MUL; break;
    case CLG_OP_DIV: op = BINARY_DIV; break;
    default:
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): not a binary op",
                            n->name, clg_op_name(n->op));
    }
    clg_status s;
    if ((s = check_size(lw, n, &in[0])) || (s = check_size(lw, n, &in[1])) ||
        (s = check_size(lw, n, out)))
        return s;
    const clg_shape *ys = &out->shape;
    if (in[0].shape.rank > ys->rank || in[1].shape.rank > ys->rank)
        return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                            "node %s (%s): an input has a higher rank than the output", n->name,
                            clg_op_name(n->op));
    int64_t count = count_of(ys);
    if (count == 0) return CLG_OK;

    /* Strides of a, of b, and of the dense output (which the kernel walks by
     * its linear index, but which must stay contiguous through merging). */
    int rank = ys->rank;
    int64_t dims[R] = {0}, st[3][R] = {{0}};
    for (int i = 0; i < rank; i++) dims[i] = ys->dims[i];
    broadcast_strides(&in[0].shape, ys, st[0]);
    broadcast_strides(&in[1].shape, ys, st[1]);
    broadcast_strides(ys, ys, st[2]);
    merge_dims(&rank, dims, st, 3);

    /* Right-align into the kernel's five slots. */
    int d[R] = {1, 1, 1, 1, 1}, sa[R] = {0}, sb[R] = {0};
    for (int i = 0; i < rank; i++) {
        d[R - rank + i] = (int)dims[i];
        sa[R - rank + i] = (int)st[0][i];
        sb[R - rank + i] = (int)st[1][i];
    }
    size_t global = (size_t)count;
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(out),
        CLG_ARG_I(count), CLG_ARG_I(op), CLG_ARG_I(rank),
        CLG_ARG_I(d[0]), CLG_ARG_I(d[1]), CLG_ARG_I(d[2]), CLG_ARG_I(d[3]), CLG_ARG_I(d[4]),
        CLG_ARG_I(sa[0]), CLG_ARG_I(sa[1]), CLG_ARG_I(sa[2]), CLG_ARG_I(sa[3]), CLG_ARG_I(sa[4]),
        CLG_ARG_I(sb[0]), CLG_ARG_I(sb[1]), CLG_ARG_I(sb[2]), CLG_ARG_I(sb[3]), CLG_ARG_I(sb[4]),
    };
    return clg_emit_kernel(lw, FILE_CL, "binary", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}

clg_status clg_lower_batchnorm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    if (xs->rank < 2)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): the input must have a channel dimension", n->name,
                            clg_op_name(n->op));
    clg_status s = check_size(lw, n, out);
    if (s) return s;
    int64_t count = count_of(xs), channels = xs->dims[1], inner = 1;
    for (int i = 2; i < xs->rank; i++) inner *= xs->dims[i];
    if (count == 0) return CLG_OK;
    size_t global = (size_t)count;
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(&in[2]), CLG_ARG_T(&in[3]),
        CLG_ARG_T(&in[4]), CLG_ARG_T(out), CLG_ARG_I(count), CLG_ARG_I(channels),
        CLG_ARG_I(inner), CLG_ARG_F(n->attrs.epsilon),
    };
    return clg_emit_kernel(lw, FILE_CL, "batchnorm", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
