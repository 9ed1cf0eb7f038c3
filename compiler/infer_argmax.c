/* Shape function of ArgMax and ArgMin: the input with the `axis` dim 1
 * (keepdims=1, the default) or dropped; a rank-1 input without keepdims
 * gives [1] (clgraph has no scalars). The index is held as a float, exact
 * while the axis has at most 2^24 elements (CLG_MAX_EXACT_INT). */
#include "infer.h"

clg_status clg_infer_argmax(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    int64_t axis;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 0, &axis);
    if (s) return s;
    if (c->attrs->select_last_index != 0 && c->attrs->select_last_index != 1)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "select_last_index must be 0 or 1, got %lld", (long long)c->attrs->select_last_index);
    if (!clg_dim_is_symbolic(x->dims[axis]) && x->dims[axis] > CLG_MAX_EXACT_INT)
        return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                             "axis %lld has %lld elements; indices past 2^24 are not exact in clgraph's floats",
                             (long long)axis, (long long)x->dims[axis]);
    *out = *x;
    if (c->attrs->keepdims) {
        out->dims[axis] = 1;
    } else if (x->rank == 1) {
        out->dims[0] = 1;
    } else {
        for (int d = (int)axis; d + 1 < x->rank; d++) out->dims[d] = x->dims[d + 1];
        out->dims[--out->rank] = 0;
    }
    return CLG_OK;
}
