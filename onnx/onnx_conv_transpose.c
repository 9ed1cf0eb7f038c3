/* ONNX ConvTranspose (opsets 1 and 11) with two spatial dims to clgraph's
 * ConvTranspose2D. ONNX's auto_pad, output_padding and output_shape are
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
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute %s has %zu values; %d are supported (two spatial dims)",
                       name, a->n_ints, count >= 0 ? count : max);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    if (n_out) *n_out = (int)a->n_ints;
    return CLG_OK;
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
    const clg_shape *xs = &ox->g->nodes[idx[0]].shape, *ws = &ox->g->nodes[idx[1]].shape;
    if (xs->rank != 4)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "only 2-D transposed convolution is supported (the input has rank %d, not 4)", xs->rank);
    if (ws->rank != 4)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the weight '%s' must have rank 4, not %d", in[1]->name,
                       ws->rank);
    for (int d = 2; d < 4; d++)
        if (clg_dim_is_symbolic(xs->dims[d]))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "input '%s' dimension %d is symbolic; it must be a number",
                           in[0]->name, d);
    clg_attrs a;
    clg_attrs_default(CLG_OP_CONV_TRANSPOSE, &a);
    bool present;
    int64_t kernel[2], out_pad[2] = {0, 0}, pads[4] = {0, 0, 0, 0}, shape[4];
    int n_shape;
    if ((s = ints_attr(ox, n, "strides", 2, 2, a.strides, NULL, &present))) return s;
    if ((s = ints_attr(ox, n, "dilations", 2, 2, a.dilations, NULL, &present))) return s;
    if ((s = ints_attr(ox, n, "kernel_shape", 2, 2, kernel, NULL, &present))) return s;
    if (present && (kernel[0] != ws->dims[2] || kernel[1] != ws->dims[3]))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "kernel_shape [%lld, %lld] does not match the weight's [%lld, %lld]",
                       (long long)kernel[0], (long long)kernel[1], (long long)ws->dims[2], (long long)ws->dims[3]);
    if ((s = ints_attr(ox, n, "output_padding", 2, 2, out_pad, NULL, &present))) return s;
    bool have_pads;
    if ((s = ints_attr(ox, n, "pads", 4, 4, pads, NULL, &have_pads))) return s;
    bool have_shape;
    if ((s = ints_attr(ox, n, "output_shape", -1, 4, shape, &n_shape, &have_shape))) return s;
    if (have_shape && n_shape != 2 && n_shape != 4)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute output_shape has %d values; 2 (or 4, N C H W) are needed",
                       n_shape);
    const int64_t *want = have_shape ? shape + (n_shape - 2) : NULL;
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
    if (strcmp(mode, "VALID") == 0 && have_pads)
        for (int k = 0; k < 4; k++) pads[k] = 0;
    for (int i = 0; i < 2; i++) {
        int64_t in = xs->dims[2 + i], span = a.dilations[i] * (ws->dims[2 + i] - 1) + 1;
        int64_t full = a.strides[i] * (in - 1) + out_pad[i] + span; /* the output before any padding */
        int64_t begin, size;
        if (same) {
            /* ONNX: the output is output_shape, or input · stride */
            size = want ? want[i] : in * a.strides[i];
            int64_t total = full - size;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* Python's floor division */
            begin = strcmp(mode, "SAME_UPPER") == 0 ? half : total - half;
        } else {
            begin = pads[i];
            size = want ? want[i] : full - pads[i] - pads[i + 2];
        }
        if (size < 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output dimension %d would be %lld", 2 + i, (long long)size);
        a.pads[i] = begin;
        a.pads[i + 2] = full - out_pad[i] - begin - size; /* output_padding is a smaller end pad */
    }
    if ((s = ox_append(ox, CLG_OP_CONV_TRANSPOSE, out[0], NULL, idx, n_idx, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
