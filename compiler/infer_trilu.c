/* Shape function of Trilu: the output is the input's shape. The triangle
 * is taken over the last two dims, so the input needs rank 2 or more; any
 * dim may be symbolic (the mask depends on the sizes only at run time,
 * when they are bound). */
#include "infer.h"

clg_status clg_infer_trilu(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    char t[160];
    if (x->rank < 2)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "input 0 %s must have rank 2 or more (the triangle is of its last two dims)",
                             clg_shape_str(c->g, x, t, sizeof t));
    if (c->attrs->upper != 0 && c->attrs->upper != 1)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "upper must be 0 or 1, got %lld", (long long)c->attrs->upper);
    *out = *x;
    return CLG_OK;
}
