/* Shape function of Resize: the input with its last two dims replaced by
 * the `sizes` attribute. The dims before them (N, C, ...) pass through,
 * symbolic or not; the resized dims may be symbolic in the input (the scale
 * the kernels divide by is then taken from the bound size), but the output
 * sizes are numbers. */
#include <math.h>

#include "infer.h"

clg_status clg_infer_resize(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    char t[160];
    if (x->rank < 2)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "input 0 %s must have rank 2 or more (the last two dims are resized)",
                             clg_shape_str(c->g, x, t, sizeof t));
    for (int k = 0; k < 2; k++)
        if (a->resize_sizes[k] < 1 || a->resize_sizes[k] > INT32_MAX)
            return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                                 "sizes[%d] must be 1 to 2^31 - 1, got %lld (sizes is required)", k,
                                 (long long)a->resize_sizes[k]);
    const float scales[2] = {a->height_scale, a->width_scale};
    for (int k = 0; k < 2; k++)
        if (!(scales[k] >= 0.0f) || isinf(scales[k]))
            return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                                 "%s must be finite and positive (or 0: size / input size), got %g",
                                 k ? "width_scale" : "height_scale", (double)scales[k]);
    *out = *x;
    out->dims[x->rank - 2] = a->resize_sizes[0];
    out->dims[x->rank - 1] = a->resize_sizes[1];
    return CLG_OK;
}
