/* Lowering of Softmax to kernels/softmax.cl: the input seen as
 * [outer, len, inner] around the axis, one work-item per row. */
#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    if (axis < 0 || axis >= xs->rank)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: axis %lld is out of range for rank %d",
                              (long long)n->attrs.axis, xs->rank);
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    int64_t outer = 1, len = xs->dims[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= xs->dims[i];
    for (int i = (int)axis + 1; i < xs->rank; i++) inner *= xs->dims[i];
    int64_t rows = outer * inner;
    if (rows == 0 || len == 0) return CLG_OK;
    size_t global = clg_grid_size(rows);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(rows), CLG_ARG_I(len),
                       CLG_ARG_I(inner)};
    return clg_emit_kernel(lw, "softmax.cl", "softmax", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
