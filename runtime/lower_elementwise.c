/* Lowering of the elementwise ops to kernels/elementwise.cl: the
 * activations, Add/Sub/Mul/Div with broadcasting, and BatchNorm in
 * inference form. */
#include <limits.h>

#include "lower.h"

#define R CLG_MAX_RANK
#define FILE_CL "elementwise.cl"

/* The first grid dim as launched: padded up to a multiple of 64 (the
 * kernels check their extent), because PoCL picks a work-group size of 1
 * for a large prime global size and runs ~7x slower. Extents below 64 are
 * launched as they are, so a short innermost dim wastes no work-items. */
static size_t grid_size0(int64_t n)
{
    return n < 64 ? (size_t)n : (size_t)((n + 63) / 64 * 64);
}

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
    const char *kernel;
    float alpha = 0.0f, beta = 0.0f;
    switch (n->op) {
    case CLG_OP_RELU: kernel = "unary_relu"; break;
    case CLG_OP_LEAKY_RELU: kernel = "unary_leaky_relu"; alpha = a->alpha; break;
    case CLG_OP_SIGMOID: kernel = "unary_sigmoid"; break;
    case CLG_OP_TANH: kernel = "unary_tanh"; break;
    case CLG_OP_CLIP: kernel = "unary_clip"; alpha = a->min; beta = a->max; break;
    case CLG_OP_GELU: kernel = a->approximate ? "unary_gelu_tanh" : "unary_gelu_erf"; break;
    default:
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): not a unary op",
                            n->name, clg_op_name(n->op));
    }
    clg_status s = check_size(lw, n, out);
    if (s) return s;
    int64_t count = count_of(&out->shape);
    if (count == 0) return CLG_OK;
    size_t global = (size_t)((count + 63) / 64 * 64);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(count), CLG_ARG_F(alpha),
                       CLG_ARG_F(beta)};
    return clg_emit_kernel(lw, FILE_CL, kernel, NULL, 1, &global, args,
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

/* A walk over dims (C order) with a stride per dim for each of a, b and
 * the dense output y. */
typedef struct grid3 {
    int rank;
    int64_t dims[R];
    int64_t st[3][R]; /* a, b, y */
} grid3;

/* Drops dims of 1 and merges neighbours that are contiguous for every
 * stride array (the outer stride equals the inner stride times the inner
 * dim), so most shapes fit the kernels' three grid dims: a same-shape
 * operation becomes one dim, a bias add two. Leaves rank >= 1. */
static void merge_dims(grid3 *g)
{
    int r = 0;
    for (int i = 0; i < g->rank; i++) {
        if (g->dims[i] == 1) continue;
        bool merge = r > 0;
        for (int k = 0; merge && k < 3; k++)
            if (g->st[k][r - 1] != g->st[k][i] * g->dims[i]) merge = false;
        if (merge) {
            g->dims[r - 1] *= g->dims[i];
            for (int k = 0; k < 3; k++) g->st[k][r - 1] = g->st[k][i];
        } else {
            g->dims[r] = g->dims[i];
            for (int k = 0; k < 3; k++) g->st[k][r] = g->st[k][i];
            r++;
        }
    }
    if (r == 0) {
        g->dims[0] = 1;
        for (int k = 0; k < 3; k++) g->st[k][0] = 0;
        r = 1;
    }
    g->rank = r;
}

clg_status clg_lower_binary(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const char *kernel;
    switch (n->op) {
    case CLG_OP_ADD: kernel = "binary_add"; break;
    case CLG_OP_SUB: kernel = "binary_sub"; break;
    case CLG_OP_MUL: kernel = "binary_mul"; break;
    case CLG_OP_DIV: kernel = "binary_div"; break;
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
    if (count_of(ys) == 0) return CLG_OK;

    grid3 g = {ys->rank, {0}, {{0}}};
    for (int i = 0; i < ys->rank; i++) g.dims[i] = ys->dims[i];
    broadcast_strides(&in[0].shape, ys, g.st[0]);
    broadcast_strides(&in[1].shape, ys, g.st[1]);
    broadcast_strides(ys, ys, g.st[2]);
    merge_dims(&g);

    /* The innermost three dims are the launch grid; dims beyond those (only
     * when broadcasting alternates along four or more dims) are walked here,
     * one launch per index, with the offsets moved to its slice. */
    int lead = g.rank > 3 ? g.rank - 3 : 0;
    int64_t launches = 1;
    for (int i = 0; i < lead; i++) launches *= g.dims[i];
    int64_t n0 = g.dims[g.rank - 1];
    int64_t n1 = g.rank > 1 ? g.dims[g.rank - 2] : 1, n2 = g.rank > 2 ? g.dims[g.rank - 3] : 1;
    int64_t st[3][3] = {{0}}; /* [tensor][grid dim] */
    for (int k = 0; k < 3; k++)
        for (int d = 0; d < 3 && d < g.rank; d++) st[k][d] = g.st[k][g.rank - 1 - d];
    size_t global[3] = {grid_size0(n0), (size_t)n1, (size_t)n2};
    for (int64_t l = 0; l < launches; l++) {
        clg_dev_tensor a = in[0], b = in[1], y = *out;
        int64_t rest = l;
        for (int i = lead - 1; i >= 0; i--) {
            int64_t c = rest % g.dims[i];
            rest /= g.dims[i];
            a.off += (size_t)(c * g.st[0][i]);
            b.off += (size_t)(c * g.st[1][i]);
            y.off += (size_t)(c * g.st[2][i]);
        }
        clg_karg args[] = {
            CLG_ARG_T(&a), CLG_ARG_T(&b), CLG_ARG_T(&y), CLG_ARG_I(n0), CLG_ARG_I(n1),
            CLG_ARG_I(st[0][0]), CLG_ARG_I(st[0][1]), CLG_ARG_I(st[0][2]),
            CLG_ARG_I(st[1][0]), CLG_ARG_I(st[1][1]), CLG_ARG_I(st[1][2]),
        };
        if ((s = clg_emit_kernel(lw, FILE_CL, kernel, NULL, 3, global, args,
                                 (int)(sizeof args / sizeof args[0]))))
            return s;
    }
    return CLG_OK;
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
    int64_t outer = xs->dims[0], channels = xs->dims[1], inner = 1;
    for (int i = 2; i < xs->rank; i++) inner *= xs->dims[i];
    if (outer * channels * inner == 0) return CLG_OK;
    /* The grid (inner, channels, outer), or (channels, outer, 1) when there
     * is no inner extent, so that the first grid dim is never a lone 1. */
    bool spatial = inner > 1;
    int64_t n0 = spatial ? inner : channels, n1 = spatial ? channels : outer;
    size_t global[3] = {grid_size0(n0), (size_t)n1, (size_t)(spatial ? outer : 1)};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(&in[2]), CLG_ARG_T(&in[3]),
        CLG_ARG_T(&in[4]), CLG_ARG_T(out), CLG_ARG_I(n0), CLG_ARG_I(n1),
        CLG_ARG_I(spatial ? 0 : 1), CLG_ARG_I(spatial ? 1 : 0), CLG_ARG_F(n->attrs.epsilon),
    };
    return clg_emit_kernel(lw, FILE_CL, "batchnorm", NULL, 3, global, args,
                           (int)(sizeof args / sizeof args[0]));
}
