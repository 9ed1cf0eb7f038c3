/* ArgMax and ArgMin to kernels/argmax.cl: one launch over (inner, outer),
 * the op and select_last_index as -D defines. */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_argmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    if (axis < 0 || axis >= xs->rank)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: ArgMax's axis is out of range");
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    if (clg_shape_count(xs) == 0) return CLG_OK;
    int64_t outer = 1, len = xs->dims[axis], inner = 1;
    for (int d = 0; d < axis; d++) outer *= xs->dims[d];
    for (int d = (int)axis + 1; d < xs->rank; d++) inner *= xs->dims[d];
    char options[48];
    snprintf(options, sizeof options, "%s%s", n->op == CLG_OP_ARGMIN ? "-DARGMIN " : "",
             n->attrs.select_last_index ? "-DSELECT_LAST" : "");
    size_t global[2] = {clg_grid_size(inner), (size_t)outer};
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(len), CLG_ARG_I(inner)};
    return clg_emit_kernel(lw, "argmax.cl", "argmax", options, 2, global, args, (int)(sizeof args / sizeof args[0]));
}
