/* ONNX Pad (opsets 2 to 21) to clgraph's Pad. Before opset 11 the pads and
 * the constant value are attributes; from 11 on they are inputs, which must
 * be constants (initializers, Constant nodes or values folded on the host):
 * clgraph's Pad takes them as attributes. Opset 18's axes input (pads for
 * the listed axes only, the others unpadded) is read; opset 19's wrap mode
 * is refused by name. */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

static const char *const modes[CLG_PAD_MODE_COUNT] = {"constant", "reflect", "edge"};

static clg_status read_mode(ox_ctx *ox, const Onnx__NodeProto *n, clg_pad_mode *mode)
{
    const Onnx__AttributeProto *a = ox_attr(n, "mode");
    *mode = CLG_PAD_CONSTANT;
    if (!a) return CLG_OK;
    if ((a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) || (!a->has_type && !a->has_s))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute mode must be a string");
    for (int m = 0; m < CLG_PAD_MODE_COUNT; m++)
        if (a->s.len == strlen(modes[m]) && memcmp(a->s.data, modes[m], a->s.len) == 0) {
            *mode = (clg_pad_mode)m;
            return CLG_OK;
        }
    char shown[24];
    size_t len = a->s.len < sizeof shown - 1 ? a->s.len : sizeof shown - 1;
    for (size_t k = 0; k < len; k++) {
        char c = (char)a->s.data[k];
        shown[k] = c < 0x20 || c > 0x7e ? '?' : c;
    }
    shown[len] = '\0';
    return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute mode '%s' is not supported (only constant, reflect and edge)",
                   shown);
}

/* Opsets before 11: pads and value are attributes. */
static clg_status pads_from_attributes(ox_ctx *ox, const Onnx__NodeProto *n, int rank, clg_attrs *a)
{
    const Onnx__AttributeProto *p = ox_attr(n, "pads"), *v = ox_attr(n, "value");
    if (!p) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute pads is required before opset 11");
    if ((p->has_type && p->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) || p->n_floats)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute pads must be a list of integers");
    if (p->n_ints != (size_t)(2 * rank))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute pads has %zu values; the input of rank %d needs %d",
                       p->n_ints, rank, 2 * rank);
    for (int k = 0; k < 2 * rank; k++) a->pad_amounts[k] = p->ints[k];
    if (v) {
        if ((v->has_type && v->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) || (!v->has_type && !v->has_f))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute value must be a float");
        a->pad_value = v->f;
    }
    return CLG_OK;
}

/* Opset 11 on: pads and constant_value are inputs, constant ones. */
static clg_status pads_from_inputs(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, int rank,
                                   clg_attrs *a)
{
    if (ox_attr(n, "pads") || ox_attr(n, "value"))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attributes pads and value are inputs from opset 11 on");
    /* axis[k]: the dim pads [k] and [k + count] apply to (all by default) */
    int64_t axis[CLG_MAX_RANK];
    int n_axes = rank;
    for (int k = 0; k < rank; k++) axis[k] = k;
    if (n_in > 3 && in[3]) {
        const ox_value *v = in[3];
        if (ox->opset < 18) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the axes input is part of Pad from opset 18");
        if (v->kind != OX_HOST || !ox_dtype_is_int(v->host.dtype) || v->host.sym)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "axes '%s' must be a constant integer tensor", v->name);
        if (v->host.count > (size_t)rank)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes '%s' has %zu values for an input of rank %d", v->name,
                           v->host.count, rank);
        n_axes = (int)v->host.count;
        bool seen[CLG_MAX_RANK] = {false};
        for (int k = 0; k < n_axes; k++) {
            int64_t ax = v->host.i[k] < 0 ? v->host.i[k] + rank : v->host.i[k];
            if (ax < 0 || ax >= rank || seen[ax])
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes '%s': %lld is out of range or repeated", v->name,
                               (long long)v->host.i[k]);
            seen[ax] = true;
            axis[k] = ax;
        }
    }
    if (n_in < 2 || !in[1]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the pads input is required");
    const ox_value *p = in[1];
    if (p->kind != OX_HOST || !ox_dtype_is_int(p->host.dtype) || p->host.sym)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "pads '%s' is a computed tensor; only constant pads (an initializer or Constant) are "
                       "supported",
                       p->name);
    if (p->host.count != (size_t)(2 * n_axes))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "pads '%s' has %zu values; %d axes need %d", p->name,
                       p->host.count, n_axes, 2 * n_axes);
    for (int k = 0; k < 2 * rank; k++) a->pad_amounts[k] = 0;
    for (int k = 0; k < n_axes; k++) {
        a->pad_amounts[axis[k]] = p->host.i[k];
        a->pad_amounts[rank + axis[k]] = p->host.i[n_axes + k];
    }
    if (n_in > 2 && in[2]) {
        const ox_value *v = in[2];
        if (v->kind != OX_HOST)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "constant_value '%s' is a computed tensor; only a constant one is supported", v->name);
        if (v->host.count != 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "constant_value '%s' must be one value, not %zu", v->name,
                           v->host.count);
        if (ox_dtype_is_float(v->host.dtype)) {
            a->pad_value = v->host.f->data[0];
        } else if (ox_dtype_is_int(v->host.dtype) && !v->host.sym) {
            /* the data's type; whether the value fits it is checked with the node */
            int64_t i = v->host.i[0];
            if (i > CLG_MAX_EXACT_INT || i < -CLG_MAX_EXACT_INT)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "constant_value '%s' (%lld) is beyond 2^24", v->name,
                               (long long)i);
            a->pad_value = (float)i;
        } else {
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "constant_value '%s' of type %s is not supported", v->name,
                           ox_dtype_name(v->host.dtype));
        }
    }
    return CLG_OK;
}

clg_status ox_convert_pad(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                          int n_out)
{
    (void)n_out;
    int x;
    /* data of any type clgraph holds: Pad moves values and fills one */
    clg_status s = ox_tensor_node(ox, in[0], &x);
    if (s) return s;
    int rank = ox->g->nodes[x].shape.rank;
    clg_attrs a;
    clg_attrs_default(CLG_OP_PAD, &a);
    a.pad_count = 2 * rank;
    if ((s = read_mode(ox, n, &a.pad_mode))) return s;
    if (ox->opset < 11) {
        if (n_in > 1) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "takes one input before opset 11, got %d", n_in);
        s = pads_from_attributes(ox, n, rank, &a);
    } else {
        s = pads_from_inputs(ox, n, in, n_in, rank, &a);
    }
    if (s) return s;
    if ((s = ox_append(ox, CLG_OP_PAD, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
