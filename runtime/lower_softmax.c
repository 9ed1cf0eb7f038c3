/* Lowering of Softmax to kernels/softmax.cl: the input seen as
 * [outer, len, inner] around the axis, one work-item per row. */
#include <limits.h>

#include "lower.h"

clg_status clg_lower_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    if (axis < 0 || axis >= xs->rank)
        return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                            "node %s (%s): axis %lld is out of range for rank %d", n->name,
                            clg_op_name(n->op), (long long)n->attrs.axis, xs->rank);
    int64_t outer = 1, len = xs->dims[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= xs->dims[i];
    for (int i = (int)axis + 1; i < xs->rank; i++) inner *= xs->dims[i];
    if (outer * len * inner > INT_MAX)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): tensors of more than %d elements are not supported",
                            n->name, clg_op_name(n->op), INT_MAX);
    int64_t rows = outer * inner;
    if (rows == 0 || len == 0) return CLG_OK;
    /* Padded to a multiple of 64 (the kernel checks rows): PoCL picks a
     * work-group size of 1 for a large prime global size, ~7x slower. */
    size_t global = (size_t)((rows + 63) / 64 * 64);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(rows), CLG_ARG_I(len),
                       CLG_ARG_I(inner)};
    return clg_emit_kernel(lw, "softmax.cl", "softmax", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
