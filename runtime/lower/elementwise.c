/* Lowering of BatchNorm in inference form to kernels/elementwise.cl. (The
 * other elementwise ops run as kernels generated from their expressions:
 * fused.c.) */
#include "lower.h"
#include "lower_util.h"

#define FILE_CL "elementwise.cl"

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
