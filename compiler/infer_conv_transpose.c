/* Shape function of ConvTranspose2D (ONNX ConvTranspose with two spatial
 * dims): X [N, C, H, W], W [C, M/group, kH, kW], B [M] give
 * [N, M, H', W'] with H' = stride * (H - 1) + dilation * (kH - 1) + 1 - top
 * - bottom. Pads may be negative: the importer writes ONNX's output_padding
 * and output_shape as a smaller (possibly negative) end pad, which adds
 * output rows that no input reaches (they hold the bias). */
#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

clg_status clg_infer_conv_transpose(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0], *w = c->in[1];
    const clg_attrs *a = c->attrs;
    char t[160], u[160];
    if (x->rank != 4 || w->rank != 4)
        return FAIL(c, "input %s and weight %s must have rank 4", clg_shape_str(c->g, x, t, sizeof t),
                    clg_shape_str(c->g, w, u, sizeof u));
    int64_t group = a->group, cin = x->dims[1];
    if (group < 1) return FAIL(c, "group must be positive, got %lld", (long long)group);
    for (int d = 1; d < 4; d++)
        if (clg_dim_is_symbolic(x->dims[d]))
            return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                                 "input %s: dimension %d must be a number", clg_shape_str(c->g, x, t, sizeof t), d);
    if (w->dims[0] != cin || cin % group)
        return FAIL(c, "input has %lld channels; weight %s needs [C, M/group, kH, kW] with C = %lld divisible by "
                       "group %lld",
                    (long long)cin, clg_shape_str(c->g, w, t, sizeof t), (long long)cin, (long long)group);
    int64_t cout = w->dims[1] * group;
    if (c->n_inputs == 3 && (c->in[2]->rank != 1 || c->in[2]->dims[0] != cout))
        return FAIL(c, "bias must have shape [%lld], got %s", (long long)cout,
                    clg_shape_str(c->g, c->in[2], t, sizeof t));
    const int64_t big = (int64_t)1 << 31;
    for (int i = 0; i < 2; i++) {
        if (a->strides[i] < 1 || a->dilations[i] < 1)
            return FAIL(c, "strides and dilations must be positive, got %lld and %lld", (long long)a->strides[i],
                        (long long)a->dilations[i]);
        if (a->strides[i] > big || a->dilations[i] > big || w->dims[2 + i] > big)
            return FAIL(c, "kernel, strides and dilations must be at most 2^31");
    }
    for (int i = 0; i < 4; i++)
        if (a->pads[i] > big || a->pads[i] < -big) return FAIL(c, "pads must be within 2^31 of 0");
    *out = (clg_shape){4, {x->dims[0], cout, 0, 0}};
    for (int i = 0; i < 2; i++) {
        int64_t span = a->dilations[i] * (w->dims[2 + i] - 1) + 1;
        int64_t o = a->strides[i] * (x->dims[2 + i] - 1) + span - a->pads[i] - a->pads[i + 2];
        if (o < 1 || o > big)
            return FAIL(c, "output dimension %d would be %lld (stride %lld, kernel %lld, pads %lld and %lld)", 2 + i,
                        (long long)o, (long long)a->strides[i], (long long)w->dims[2 + i], (long long)a->pads[i],
                        (long long)a->pads[i + 2]);
        out->dims[2 + i] = o;
    }
    return CLG_OK;
}
