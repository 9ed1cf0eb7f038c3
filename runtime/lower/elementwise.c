/* Lowering of the elementwise ops to kernels/elementwise.cl: the
 * activations, Add/Sub/Mul/Div with broadcasting, and BatchNorm in
 * inference form. */
#include "lower.h"
#include "lower_util.h"

#define FILE_CL "elementwise.cl"

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
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "not a unary op");
    }
    clg_status s = clg_check_elems(lw, &out->shape);
    if (s) return s;
    int64_t count = clg_shape_count(&out->shape);
    if (count == 0) return CLG_OK;
    size_t global = clg_grid_size(count);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(count), CLG_ARG_F(alpha),
                       CLG_ARG_F(beta)};
    return clg_emit_kernel(lw, FILE_CL, kernel, NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
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
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "not a binary op");
    }
    clg_status s;
    if ((s = clg_check_elems(lw, &in[0].shape)) || (s = clg_check_elems(lw, &in[1].shape)) ||
        (s = clg_check_elems(lw, &out->shape)))
        return s;
    const clg_shape *ys = &out->shape;
    if (clg_shape_count(ys) == 0) return CLG_OK;

    clg_walk w = {ys->rank, 3, {0}, {{0}}};
    for (int i = 0; i < ys->rank; i++) w.dims[i] = ys->dims[i];
    if (!clg_broadcast_strides(&in[0].shape, ys, w.st[0]) ||
        !clg_broadcast_strides(&in[1].shape, ys, w.st[1]))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL,
                              "internal error: an input does not broadcast to the output");
    clg_dense_strides(ys, w.st[2]);
    clg_walk_merge(&w);
    clg_walk_grid grid;
    clg_walk_grid_of(&w, &grid);
    for (int64_t l = 0; l < grid.launches; l++) {
        clg_dev_tensor a = clg_tensor_advance(&in[0], clg_walk_offset(&w, 0, l));
        clg_dev_tensor b = clg_tensor_advance(&in[1], clg_walk_offset(&w, 1, l));
        clg_dev_tensor y = clg_tensor_advance(out, clg_walk_offset(&w, 2, l));
        clg_karg args[] = {
            CLG_ARG_T(&a), CLG_ARG_T(&b), CLG_ARG_T(&y), CLG_ARG_I(grid.n[0]), CLG_ARG_I(grid.n[1]),
            CLG_ARG_I(grid.st[0][0]), CLG_ARG_I(grid.st[0][1]), CLG_ARG_I(grid.st[0][2]),
            CLG_ARG_I(grid.st[1][0]), CLG_ARG_I(grid.st[1][1]), CLG_ARG_I(grid.st[1][2]),
        };
        if ((s = clg_emit_kernel(lw, FILE_CL, kernel, NULL, 3, grid.global, args,
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
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "the input must have a channel dimension");
    clg_status s = clg_check_elems(lw, &out->shape);
    if (s) return s;
    int64_t outer = xs->dims[0], channels = xs->dims[1], inner = 1;
    for (int i = 2; i < xs->rank; i++) inner *= xs->dims[i];
    if (outer * channels * inner == 0) return CLG_OK;
    /* The grid (inner, channels, outer), or (channels, outer, 1) when there
     * is no inner extent, so that the first grid dim is never a lone 1. */
    bool spatial = inner > 1;
    int64_t n0 = spatial ? inner : channels, n1 = spatial ? channels : outer;
    size_t global[3] = {clg_grid_size(n0), (size_t)n1, (size_t)(spatial ? outer : 1)};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(&in[2]), CLG_ARG_T(&in[3]),
        CLG_ARG_T(&in[4]), CLG_ARG_T(out), CLG_ARG_I(n0), CLG_ARG_I(n1),
        CLG_ARG_I(spatial ? 0 : 1), CLG_ARG_I(spatial ? 1 : 0), CLG_ARG_F(n->attrs.epsilon),
    };
    return clg_emit_kernel(lw, FILE_CL, "batchnorm", NULL, 3, global, args,
                           (int)(sizeof args / sizeof args[0]));
}
