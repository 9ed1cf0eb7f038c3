/* Lowering of the indexing and conversion ops: Gather and GatherElements
 * (kernels/gather.cl) and Cast (kernels/cast.cl). */
#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_gather(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *is = &in[1].shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    if (axis < 0 || axis >= xs->rank)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: axis %lld is out of range for rank %d",
                              (long long)n->attrs.axis, xs->rank);
    clg_status s;
    if ((s = clg_check_elems(lw, xs)) || (s = clg_check_elems(lw, is)) || (s = clg_check_elems(lw, &out->shape)))
        return s;
    int64_t outer = 1, inner = 1, q = 1;
    for (int i = 0; i < axis; i++) outer *= xs->dims[i];
    for (int i = (int)axis + 1; i < xs->rank; i++) inner *= xs->dims[i];
    for (int i = 0; i < is->rank; i++) q *= is->dims[i];
    if (outer * inner * q == 0) return CLG_OK;
    const clg_dev_tensor *flag;
    if ((s = clg_plan_index_flag(lw, &flag))) return s;
    bool inner_first = inner > 1;
    int64_t n0 = inner_first ? inner : q;
    size_t global[3] = {clg_grid_size(n0), (size_t)(inner_first ? q : outer), (size_t)(inner_first ? outer : 1)};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(out), CLG_ARG_T(flag), CLG_ARG_I(lw->node + 1), CLG_ARG_I(inner),
        CLG_ARG_I(xs->dims[axis]), CLG_ARG_I(q), CLG_ARG_I(n0), CLG_ARG_I(inner_first ? 1 : 0),
    };
    return clg_emit_kernel(lw, "gather.cl", "gather", NULL, 3, global, args, (int)(sizeof args / sizeof args[0]));
}

clg_status clg_lower_cast(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                          const clg_dev_tensor *out)
{
    clg_status s = clg_check_elems(lw, &out->shape);
    if (s) return s;
    int64_t count = clg_shape_count(&out->shape);
    if (count == 0) return CLG_OK;
    /* Truncating an integer or bool value changes nothing, nor does
     * rounding an f16 one, so the kernel depends on the target type only. */
    const char *options = NULL;
    if (n->attrs.to == CLG_DTYPE_BOOL) options = "-DCAST_TO_BOOL";
    else if (clg_dtype_is_int(n->attrs.to)) options = "-DCAST_TO_INT";
    else if (n->attrs.to == CLG_DTYPE_F16) options = "-DCAST_TO_HALF";
    size_t global[3] = {clg_grid_size(count), 1, 1};
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(count)};
    return clg_emit_kernel(lw, "cast.cl", "cast", options, 1, global, args, (int)(sizeof args / sizeof args[0]));
}

clg_status clg_lower_gather_elements(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                     const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    int rank = xs->rank;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + rank : n->attrs.axis;
    if (axis < 0 || axis >= rank || ys->rank != rank)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: axis %lld or ranks do not fit",
                              (long long)n->attrs.axis);
    clg_status s;
    if ((s = clg_check_elems(lw, xs)) || (s = clg_check_elems(lw, ys))) return s;
    /* Pad to 8 dims in front (kernels/gather.cl): sizes 1 and strides 0 there. */
    enum { DIMS = 8 };
    int64_t dims[DIMS], st[DIMS], xst[CLG_MAX_RANK];
    for (int d = 0; d < DIMS; d++) dims[d] = 1, st[d] = 0;
    clg_dense_strides(xs, xst);
    int pad = DIMS - rank;
    for (int d = 0; d < rank; d++) {
        dims[pad + d] = ys->dims[d];
        st[pad + d] = xst[d];
    }
    int64_t count = clg_shape_count(ys);
    if (count == 0) return CLG_OK;
    const clg_dev_tensor *flag;
    if ((s = clg_plan_index_flag(lw, &flag))) return s;
    size_t global[3] = {clg_grid_size(count), 1, 1};
    clg_karg args[6 + 2 * DIMS + 1];
    int n_args = 0;
    args[n_args++] = CLG_ARG_T(&in[0]);
    args[n_args++] = CLG_ARG_T(&in[1]);
    args[n_args++] = CLG_ARG_T(out);
    args[n_args++] = CLG_ARG_T(flag);
    args[n_args++] = CLG_ARG_I(lw->node + 1);
    args[n_args++] = CLG_ARG_I(count);
    for (int d = 1; d < DIMS; d++) args[n_args++] = CLG_ARG_I(dims[d]);
    for (int d = 0; d < DIMS; d++) args[n_args++] = CLG_ARG_I(st[d]);
    args[n_args++] = CLG_ARG_I(pad + axis);
    args[n_args++] = CLG_ARG_I(xs->dims[axis]);
    return clg_emit_kernel(lw, "gather.cl", "gather_elements", NULL, 1, global, args, n_args);
}
