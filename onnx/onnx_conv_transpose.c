/* ONNX ConvTranspose (opsets 1 and 11) with one or two spatial dims to
 * clgraph's ConvTranspose2D (1-D as 2-D of height 1, between Reshapes). ONNX's auto_pad, output_padding and output_shape are
 * resolved here, as ONNX's reference implementation does, into the begin
 * pads and an end pad that gives the requested output size (negative when
 * the output grows past what the input reaches: ConvTranspose2D then adds
 * rows and columns that hold only the bias). */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* An INTS attribute of `count` values (count < 0: 0 to max values, the
 * number in *n); *present says whether the node has it. */
static clg_status ints_attr(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, int count, int max, int64_t *out,
                            int *n_out, bool *present)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    *present = a != NULL;
    if (n_out) *n_out = 0;
    if (!a) return CLG_OK;
    if (a->n_floats || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a list of integers", name);
    if ((count >= 0 && a->n_ints != (size_t)count) || a->n_ints > (size_t)max)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s has %zu values; the input needs %d", name, a->n_ints,
                       count >= 0 ? count : max);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    if (n_out) *n_out = (int)a->n_ints;
    return CLG_OK;
}

clg_status ox_reshape_1d(ox_ctx *ox, int from, bool lift, ox_value *out, const char *hint, int *node)
{
    clg_attrs r;
    clg_attrs_default(CLG_OP_RESHAPE, &r);
    const int64_t up[4] = {0, 0, 1, -1}, down[3] = {0, 0, -1};
    r.shape_rank = lift ? 4 : 3;
    for (int k = 0; k < r.shape_rank; k++) r.shape[k] = lift ? up[k] : down[k];
    return ox_append(ox, CLG_OP_RESHAPE, out, hint, &from, 1, &r, node);
}

clg_status ox_convert_conv_transpose(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                     ox_value **out, int n_out)
{
    (void)n_out;
    clg_status s;
    if ((s = ox_require_float(ox, in, n_in))) return s;
    int idx[3];
    int n_idx = n_in > 2 && in[2] ? 3 : 2;
    for (int i = 0; i < n_idx; i++)
        if ((s = ox_tensor_node(ox, in[i], &idx[i]))) return s;
    int rank = ox->g->nodes[idx[0]].shape.rank;
    if (rank != 4 && rank != 3)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "only 1-D and 2-D transposed convolutions are supported (the input has rank %d)", rank);
    if (ox->g->nodes[idx[1]].shape.rank != rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the weight '%s' must have rank %d, not %d", in[1]->name, rank,
                       ox->g->nodes[idx[1]].shape.rank);
    /* 1-D runs as 2-D with a height of 1: X and W get a dim of 1 before
     * their last, and the result loses it again. */
    int sp = rank - 2, off = 2 - sp; /* spatial dims, and where they start among the 2-D ones */
    if (sp == 1) {
        char hint[256];
        snprintf(hint, sizeof hint, "%s/x2d", out[0]->clg_name);
        if ((s = ox_reshape_1d(ox, idx[0], true, NULL, hint, &idx[0]))) return s;
        snprintf(hint, sizeof hint, "%s/w2d", out[0]->clg_name);
        if ((s = ox_reshape_1d(ox, idx[1], true, NULL, hint, &idx[1]))) return s;
    }
    const clg_shape *xs = &ox->g->nodes[idx[0]].shape, *ws = &ox->g->nodes[idx[1]].shape;
    for (int d = 2; d < 4; d++)
        if (clg_dim_is_symbolic(xs->dims[d]))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "input '%s' spatial dimension %d is symbolic; it must be a number",
                           in[0]->name, d - off);
    clg_attrs a;
    clg_attrs_default(CLG_OP_CONV_TRANSPOSE, &a);
    bool present;
    /* ONNX's per-spatial-dim attributes, read for sp dims into the 2-D
     * slots from `off` (a 1-D one's height keeps stride 1, no pads) */
    int64_t v[4], kernel[2] = {ws->dims[2], ws->dims[3]}, out_pad[2] = {0, 0}, pads[4] = {0, 0, 0, 0}, want[2];
    int n_shape;
    if ((s = ints_attr(ox, n, "strides", sp, sp, v, NULL, &present))) return s;
    for (int i = 0; present && i < sp; i++) a.strides[off + i] = v[i];
    if ((s = ints_attr(ox, n, "dilations", sp, sp, v, NULL, &present))) return s;
    for (int i = 0; present && i < sp; i++) a.dilations[off + i] = v[i];
    if ((s = ints_attr(ox, n, "kernel_shape", sp, sp, v, NULL, &present))) return s;
    for (int i = 0; present && i < sp; i++)
        if (v[i] != kernel[off + i])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "kernel_shape[%d] = %lld does not match the weight's %lld", i,
                           (long long)v[i], (long long)kernel[off + i]);
    if ((s = ints_attr(ox, n, "output_padding", sp, sp, v, NULL, &present))) return s;
    for (int i = 0; present && i < sp; i++) out_pad[off + i] = v[i];
    bool have_pads;
    if ((s = ints_attr(ox, n, "pads", 2 * sp, 2 * sp, v, NULL, &have_pads))) return s;
    for (int i = 0; have_pads && i < sp; i++) pads[off + i] = v[i], pads[2 + off + i] = v[sp + i];
    bool have_shape;
    if ((s = ints_attr(ox, n, "output_shape", -1, sp + 2, v, &n_shape, &have_shape))) return s;
    if (have_shape && n_shape != sp && n_shape != sp + 2)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                       "attribute output_shape has %d values; %d (or %d, with N and C) are needed", n_shape, sp, sp + 2);
    want[0] = 1;
    for (int i = 0; have_shape && i < sp; i++) want[off + i] = v[n_shape - sp + i];
    if ((s = ox_attr_int(ox, n, "group", 1, &a.group))) return s;
    for (int i = 0; i < 2; i++)
        if (a.strides[i] < 1 || a.dilations[i] < 1 || out_pad[i] < 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                           "strides and dilations must be positive and output_padding not negative");
    const Onnx__AttributeProto *ap = ox_attr(n, "auto_pad");
    char mode[32] = "NOTSET";
    if (ap) {
        if ((ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) || (!ap->has_type && !ap->has_s))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute auto_pad must be a string");
        size_t len = ap->s.len < sizeof mode - 1 ? ap->s.len : sizeof mode - 1;
        memcpy(mode, ap->s.data, len);
        mode[len] = '\0';
        for (size_t k = 0; k < len; k++)
            if (mode[k] < 0x20 || mode[k] > 0x7e) mode[k] = '?';
    }
    bool same = strcmp(mode, "SAME_UPPER") == 0 || strcmp(mode, "SAME_LOWER") == 0;
    if (!same && strcmp(mode, "NOTSET") != 0 && strcmp(mode, "VALID") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", mode);
    if (same && have_pads)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "auto_pad '%s' and explicit pads cannot be combined", mode);
    if (strcmp(mode, "VALID") == 0)
        for (int k = 0; k < 4; k++) pads[k] = 0;
    for (int i = 0; i < 2; i++) {
        int64_t in = xs->dims[2 + i], span = a.dilations[i] * (kernel[i] - 1) + 1;
        int64_t full = a.strides[i] * (in - 1) + out_pad[i] + span; /* the output before any padding */
        int64_t begin, size;
        if (same && i >= off) {
            /* ONNX: the output is output_shape, or input · stride */
            size = have_shape ? want[i] : in * a.strides[i];
            int64_t total = full - size;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* Python's floor division */
            begin = strcmp(mode, "SAME_UPPER") == 0 ? half : total - half;
        } else {
            begin = pads[i];
            size = have_shape ? want[i] : full - pads[i] - pads[i + 2];
        }
        if (size < 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output dimension %d would be %lld", 2 + i - off,
                           (long long)size);
        a.pads[i] = begin;
        a.pads[i + 2] = full - out_pad[i] - begin - size; /* output_padding is a smaller end pad */
    }
    if (sp == 2) {
        if ((s = ox_append(ox, CLG_OP_CONV_TRANSPOSE, out[0], NULL, idx, n_idx, &a, &out[0]->node))) return s;
    } else {
        char hint[256];
        snprintf(hint, sizeof hint, "%s/2d", out[0]->clg_name);
        int y;
        if ((s = ox_append(ox, CLG_OP_CONV_TRANSPOSE, NULL, hint, idx, n_idx, &a, &y)) ||
            (s = ox_reshape_1d(ox, y, false, out[0], NULL, &out[0]->node)))
            return s;
    }
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
