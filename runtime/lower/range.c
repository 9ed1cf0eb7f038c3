/* Range to kernels/range.cl: one launch over the (bound) length. */
#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_range(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    (void)in; /* Range has no inputs */
    if (out->shape.rank != 1)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: Range's output is not 1-D");
    clg_status s = clg_check_elems(lw, &out->shape);
    if (s) return s;
    int64_t len = out->shape.dims[0];
    size_t global[1] = {clg_grid_size(len)};
    clg_karg args[] = {
        CLG_ARG_T(out), CLG_ARG_I(len), CLG_ARG_F(n->attrs.range_start), CLG_ARG_F(n->attrs.range_delta),
    };
    return clg_emit_kernel(lw, "range.cl", "range", "", 1, global, args, (int)(sizeof args / sizeof args[0]));
}
