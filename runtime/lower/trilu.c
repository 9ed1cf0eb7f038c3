/* Trilu to kernels/trilu.cl: one launch over (cols, rows, matrices), the
 * lower triangle a -D define. */
#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_trilu(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    if (xs->rank < 2 || out->shape.rank != xs->rank || clg_shape_count(&out->shape) != clg_shape_count(xs))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: Trilu's shapes do not match");
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    if (clg_shape_count(xs) == 0) return CLG_OK;
    int64_t rows = xs->dims[xs->rank - 2], cols = xs->dims[xs->rank - 1], mats = 1;
    for (int d = 0; d < xs->rank - 2; d++) mats *= xs->dims[d];
    /* j - i lies in [1 - rows, cols - 1]: any k outside [-rows, cols] keeps
     * what the nearer end of that range keeps. */
    int64_t k = n->attrs.trilu_k;
    k = k < -rows ? -rows : k > cols ? cols : k;
    size_t global[3] = {clg_grid_size(cols), (size_t)rows, (size_t)mats};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(rows), CLG_ARG_I(cols), CLG_ARG_I(k),
    };
    return clg_emit_kernel(lw, "trilu.cl", "trilu", n->attrs.upper ? "" : "-DLOWER", 3, global, args,
                           (int)(sizeof args / sizeof args[0]));
}
