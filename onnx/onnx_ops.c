/* The op table: every ONNX op the importer knows, its input counts and the
 * attributes it accepts, whether it folds on the host, and how it becomes
 * clgraph nodes. docs/onnx.md lists the same ops with their limits. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

typedef clg_status (*convert_fn)(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                 ox_value **out, int n_out);

typedef enum fold_mode {
    FOLD_NEVER,   /* always graph nodes (host inputs become constants) */
    FOLD_IF_HOST, /* folded when every input is a host value */
    FOLD_ALWAYS   /* only on the host (shape plumbing) */
} fold_mode;

typedef struct ox_op {
    const char *name;
    int since; /* the oldest version of the op imported (the model's opset must be >= it) */
    int min_in, max_in;
    const char *attrs; /* accepted attribute names, space-separated */
    fold_mode fold;
    convert_fn convert;
} ox_op;

/* ---------------------------------------------------------------- attributes */

const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0) return n->attribute[k];
    return NULL;
}

static bool attr_is(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type)
{
    if (a->has_type) return a->type == type;
    /* Old exporters leave type unset; go by the field that is filled. */
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return a->has_i;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return a->has_f;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return a->has_s;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return a->n_ints > 0 || !a->n_floats;
    default: return false;
    }
}

clg_status ox_attr_int(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    *out = def;
    if (!a) return CLG_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be an integer", name);
    *out = a->i;
    return CLG_OK;
}

clg_status ox_attr_float(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, float def, float *out)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    *out = def;
    if (!a) return CLG_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a float", name);
    *out = a->f;
    return CLG_OK;
}

/* An INTS attribute of exactly `count` values (any count when count < 0, at
 * most max); *present says whether the node has it. */
static clg_status attr_ints(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, int count, int max,
                            int64_t *out, int *n_out, bool *present)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    *present = a != NULL;
    if (n_out) *n_out = 0;
    if (!a) return CLG_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a list of integers", name);
    if (count >= 0 && a->n_ints != (size_t)count)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute %s has %zu values; %d are supported", name,
                       a->n_ints, count);
    if (a->n_ints > (size_t)max)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute %s has %zu values; at most %d are supported", name,
                       a->n_ints, max);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    if (n_out) *n_out = (int)a->n_ints;
    return CLG_OK;
}

/* A STRING attribute into buf (NUL-terminated, truncated); def when absent. */
static clg_status attr_string(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, const char *def,
                              char *buf, size_t size)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    snprintf(buf, size, "%s", def);
    if (!a) return CLG_OK;
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a string", name);
    size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = '\0';
    for (size_t k = 0; k < len; k++)
        if (buf[k] < 0x20 || buf[k] > 0x7e) buf[k] = '?'; /* keep messages printable */
    return CLG_OK;
}

/* ---------------------------------------------------------------- helpers */

static const clg_shape *node_shape(ox_ctx *ox, int node) { return &ox->g->nodes[node].shape; }

/* Appends op on the given values, computing out. */
static clg_status emit(ox_ctx *ox, clg_op op, ox_value *out, ox_value *const *ins, int n, const clg_attrs *attrs)
{
    int idx[8];
    if (n > 8) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "too many inputs");
    for (int i = 0; i < n; i++) {
        clg_status s = ox_tensor_node(ox, ins[i], &idx[i]);
        if (s) return s;
    }
    clg_attrs def;
    if (!attrs) {
        clg_attrs_default(op, &def);
        attrs = &def;
    }
    clg_status s = ox_append(ox, op, out, NULL, idx, n, attrs, &out->node);
    if (!s) out->kind = OX_TENSOR;
    return s;
}

/* A Reshape of node `from` to dims (which may be symbolic: a symbolic dim
 * equal to the input's in the same position is written 0, "copy"). out
 * NULL: a helper named hint. */
static clg_status reshape_to(ox_ctx *ox, int from, const clg_shape *dims, ox_value *out, const char *hint,
                             int *node)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_RESHAPE, &a);
    a.shape_rank = dims->rank;
    const clg_shape *xs = node_shape(ox, from);
    for (int k = 0; k < dims->rank; k++) {
        int64_t d = dims->dims[k];
        a.shape[k] = !clg_dim_is_symbolic(d) ? d : k < xs->rank && xs->dims[k] == d ? 0 : clg_reshape_value(d);
    }
    return ox_append(ox, CLG_OP_RESHAPE, out, hint, &from, 1, &a, node);
}

/* A scalar float host value (Clip's bounds). */
static clg_status host_scalar(ox_ctx *ox, const ox_value *v, const char *what, float *out)
{
    if (v->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' must be a constant (an initializer or Constant)", what,
                       v->name);
    if (v->host.count != 1 || !ox_dtype_is_float(v->host.dtype))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' must be one FLOAT value", what, v->name);
    *out = v->host.f->data[0];
    return CLG_OK;
}

clg_status ox_unavailable(ox_ctx *ox, ox_value **out, int n_out, int from, const char *why)
{
    for (int o = from; o < n_out; o++) {
        if (!out[o]) continue;
        out[o]->kind = OX_UNAVAILABLE;
        if (!(out[o]->why = clg_strdup(ox->g, why))) return ox_oom(ox);
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- ops */

static clg_status conv_gemm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_GEMM, &a);
    clg_status s;
    if ((s = ox_attr_float(ox, n, "alpha", 1.0f, &a.alpha)) || (s = ox_attr_float(ox, n, "beta", 1.0f, &a.beta)) ||
        (s = ox_attr_int(ox, n, "transA", 0, &a.trans_a)) || (s = ox_attr_int(ox, n, "transB", 0, &a.trans_b)))
        return s;
    if (ox->opset < 11 && (n_in < 3 || !in[2]))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input C is required before opset 11");
    ox_value *ins[3] = {in[0], in[1], n_in > 2 ? in[2] : NULL};
    return emit(ox, CLG_OP_GEMM, out[0], ins, ins[2] ? 3 : 2, &a);
}

static clg_status conv_matmul(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                              int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    return emit(ox, CLG_OP_MATMUL, out[0], in, 2, NULL);
}

/* The spatial attributes Conv, MaxPool and AveragePool share: 2-D only,
 * auto_pad resolved to explicit pads [top, left, bottom, right]. */
typedef struct window {
    int64_t kernel[2], strides[2], pads[4], dilations[2];
    int64_t ceil_mode;
} window;

/* The window attributes of an op with sp spatial dims (1 or 2), into the
 * 2-D slots from 2 - sp (a 1-D op's height: kernel 1, stride 1, no pads).
 * x is the input as the 2-D op sees it (a 1-D one lifted to height 1). */
static clg_status read_window(ox_ctx *ox, const Onnx__NodeProto *n, const clg_shape *x, int sp, bool has_dilations,
                              bool has_ceil, window *w)
{
    bool present;
    clg_status s;
    int off = 2 - sp;
    int64_t v[4];
    w->strides[0] = w->strides[1] = 1;
    w->dilations[0] = w->dilations[1] = 1;
    memset(w->pads, 0, sizeof w->pads);
    w->ceil_mode = 0;
    if ((s = attr_ints(ox, n, "strides", sp, sp, v, NULL, &present))) return s;
    for (int k = 0; present && k < sp; k++) w->strides[off + k] = v[k];
    if (has_dilations) {
        if ((s = attr_ints(ox, n, "dilations", sp, sp, v, NULL, &present))) return s;
        for (int k = 0; present && k < sp; k++) w->dilations[off + k] = v[k];
    }
    if (has_ceil && (s = ox_attr_int(ox, n, "ceil_mode", 0, &w->ceil_mode))) return s;
    /* MaxPool gained dilations and both pools ceil_mode in opset 10. */
    if (!has_dilations && ox_attr(n, "dilations"))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute dilations is not part of this op's opset");
    if (!has_ceil && ox_attr(n, "ceil_mode"))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute ceil_mode is not part of this op's opset");
    if ((s = attr_ints(ox, n, "pads", 2 * sp, 2 * sp, v, NULL, &present))) return s;
    for (int k = 0; present && k < sp; k++) w->pads[off + k] = v[k], w->pads[2 + off + k] = v[sp + k];
    for (int k = 0; k < 2; k++) {
        if (w->strides[k] < 1 || w->dilations[k] < 1 || w->kernel[k] < 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                           "kernel_shape, strides and dilations must be positive (got %lld, %lld, %lld)",
                           (long long)w->kernel[k], (long long)w->strides[k], (long long)w->dilations[k]);
    }
    char pad[32];
    if ((s = attr_string(ox, n, "auto_pad", "NOTSET", pad, sizeof pad))) return s;
    if (strcmp(pad, "NOTSET") == 0) return CLG_OK;
    if (present)
        for (int k = 0; k < 4; k++)
            if (w->pads[k])
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "auto_pad '%s' and explicit pads cannot be combined", pad);
    if (strcmp(pad, "VALID") == 0) return CLG_OK;
    bool upper = strcmp(pad, "SAME_UPPER") == 0;
    if (!upper && strcmp(pad, "SAME_LOWER") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", pad);
    for (int k = off; k < 2; k++) {
        /* SAME: output = ceil(input / stride); the padding that takes,
         * split evenly with the odd one at the end (UPPER) or start. */
        int64_t in = x->dims[2 + k];
        int64_t o = (in + w->strides[k] - 1) / w->strides[k];
        int64_t span = w->dilations[k] * (w->kernel[k] - 1) + 1;
        int64_t total = (o - 1) * w->strides[k] + span - in;
        if (total < 0) total = 0;
        int64_t small = total / 2, big = total - small;
        w->pads[k] = upper ? small : big;
        w->pads[k + 2] = upper ? big : small;
    }
    return CLG_OK;
}

/* A 1-D (rank 3) window op runs as 2-D with a height of 1: its input is
 * lifted to [N, C, 1, L] here, and the 2-D result dropped back by the
 * caller (ox_reshape_1d). */
static clg_status lift_1d(ox_ctx *ox, ox_value *out, const char *what, int *node)
{
    char hint[256];
    snprintf(hint, sizeof hint, "%s/%s2d", out->clg_name, what);
    return ox_reshape_1d(ox, *node, true, NULL, hint, node);
}

/* Appends the 2-D op computing out: directly, or for a 1-D op as a helper
 * whose result is reshaped back to rank 3. */
static clg_status append_window_op(ox_ctx *ox, clg_op op, ox_value *out, int sp, const int *idx, int n_idx,
                                   const clg_attrs *a)
{
    clg_status s;
    if (sp == 2) {
        s = ox_append(ox, op, out, NULL, idx, n_idx, a, &out->node);
    } else {
        char hint[256];
        snprintf(hint, sizeof hint, "%s/2d", out->clg_name);
        int y;
        if (!(s = ox_append(ox, op, NULL, hint, idx, n_idx, a, &y))) s = ox_reshape_1d(ox, y, false, out, NULL, &out->node);
    }
    if (!s) out->kind = OX_TENSOR;
    return s;
}

static clg_status conv_conv(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    int idx[3];
    int n_idx = n_in > 2 && in[2] ? 3 : 2;
    clg_status s;
    for (int i = 0; i < n_idx; i++)
        if ((s = ox_tensor_node(ox, in[i], &idx[i]))) return s;
    int rank = node_shape(ox, idx[0])->rank;
    if (rank != 4 && rank != 3)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "only 1-D and 2-D convolutions are supported (the input has rank %d)",
                       rank);
    if (node_shape(ox, idx[1])->rank != rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the weight '%s' must have rank %d, not %d", in[1]->name, rank,
                       node_shape(ox, idx[1])->rank);
    int sp = rank - 2;
    if (sp == 1 && ((s = lift_1d(ox, out[0], "x", &idx[0])) || (s = lift_1d(ox, out[0], "w", &idx[1])))) return s;
    const clg_shape *xs = node_shape(ox, idx[0]), *ws = node_shape(ox, idx[1]);
    window win;
    win.kernel[0] = ws->dims[2];
    win.kernel[1] = ws->dims[3];
    int64_t kernel[2];
    bool present;
    if ((s = attr_ints(ox, n, "kernel_shape", sp, sp, kernel, NULL, &present))) return s;
    for (int k = 0; present && k < sp; k++)
        if (kernel[k] != win.kernel[2 - sp + k])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "kernel_shape[%d] = %lld does not match the weight's %lld", k,
                           (long long)kernel[k], (long long)win.kernel[2 - sp + k]);
    if ((s = read_window(ox, n, xs, sp, true, false, &win))) return s;
    clg_attrs a;
    clg_attrs_default(CLG_OP_CONV2D, &a);
    memcpy(a.strides, win.strides, sizeof a.strides);
    memcpy(a.pads, win.pads, sizeof a.pads);
    memcpy(a.dilations, win.dilations, sizeof a.dilations);
    if ((s = ox_attr_int(ox, n, "group", 1, &a.group))) return s;
    return append_window_op(ox, CLG_OP_CONV2D, out[0], sp, idx, n_idx, &a);
}

/* A 3-D pool (rank 5, [N, C, D, H, W]) as two 2-D ones: over (H, W) on
 * [N, C·D, H, W], then over D on [N, C, D, H'·W'] with a (kd, 1) window.
 * Exact for MaxPool (a max of maxes; padding never wins) and for
 * AveragePool: the window is a box, so its element count, clipped to the
 * input or not (count_include_pad), is the product of the per-axis counts,
 * and the mean of means is the mean. */
static clg_status pool_3d(ox_ctx *ox, const Onnx__NodeProto *n, clg_op op, int x, ox_value *out,
                          const clg_attrs *base)
{
    const clg_shape xs = *node_shape(ox, x);
    for (int d = 1; d < 5; d++)
        if (clg_dim_is_symbolic(xs.dims[d]))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "3-D pooling needs numeric C, D, H and W; dimension %d is symbolic",
                           d);
    int64_t k[3], st[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pads[6] = {0}, v[6];
    bool present;
    clg_status s;
    if ((s = attr_ints(ox, n, "kernel_shape", 3, 3, k, NULL, &present))) return s;
    if (!present) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute kernel_shape is required");
    if ((s = attr_ints(ox, n, "strides", 3, 3, v, NULL, &present))) return s;
    for (int i = 0; present && i < 3; i++) st[i] = v[i];
    if ((s = attr_ints(ox, n, "dilations", 3, 3, v, NULL, &present))) return s;
    for (int i = 0; present && i < 3; i++) dil[i] = v[i];
    if ((s = attr_ints(ox, n, "pads", 6, 6, v, NULL, &present))) return s;
    for (int i = 0; present && i < 6; i++) pads[i] = v[i];
    char pad[32];
    if ((s = attr_string(ox, n, "auto_pad", "NOTSET", pad, sizeof pad))) return s;
    if (strcmp(pad, "NOTSET") != 0 && strcmp(pad, "VALID") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "auto_pad '%s' on 3-D pooling is not supported", pad);
    for (int i = 0; i < 3; i++)
        if (k[i] < 1 || st[i] < 1 || dil[i] < 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                           "kernel_shape, strides and dilations must be positive (got %lld, %lld, %lld)",
                           (long long)k[i], (long long)st[i], (long long)dil[i]);
    char hint[256];
    clg_shape sh = xs;
    int hw, dd, y;
    /* [N, C·D, H, W], pooled over H and W */
    sh.rank = 4;
    sh.dims[1] = xs.dims[1] * xs.dims[2];
    sh.dims[2] = xs.dims[3];
    sh.dims[3] = xs.dims[4];
    snprintf(hint, sizeof hint, "%s/hw_in", out->clg_name);
    if ((s = reshape_to(ox, x, &sh, NULL, hint, &hw))) return s;
    clg_attrs a = *base;
    a.kernel[0] = k[1], a.kernel[1] = k[2];
    a.strides[0] = st[1], a.strides[1] = st[2];
    a.dilations[0] = dil[1], a.dilations[1] = dil[2];
    a.pads[0] = pads[1], a.pads[1] = pads[2], a.pads[2] = pads[4], a.pads[3] = pads[5];
    snprintf(hint, sizeof hint, "%s/hw", out->clg_name);
    if ((s = ox_append(ox, op, NULL, hint, &hw, 1, &a, &hw))) return s;
    const clg_shape *ps = node_shape(ox, hw);
    int64_t oh = ps->dims[2], ow = ps->dims[3];
    /* [N, C, D, H'·W'], pooled over D */
    sh.dims[1] = xs.dims[1];
    sh.dims[2] = xs.dims[2];
    sh.dims[3] = oh * ow;
    snprintf(hint, sizeof hint, "%s/d_in", out->clg_name);
    if ((s = reshape_to(ox, hw, &sh, NULL, hint, &dd))) return s;
    a = *base;
    a.kernel[0] = k[0], a.kernel[1] = 1;
    a.strides[0] = st[0], a.strides[1] = 1;
    a.dilations[0] = dil[0], a.dilations[1] = 1;
    a.pads[0] = pads[0], a.pads[1] = 0, a.pads[2] = pads[3], a.pads[3] = 0;
    snprintf(hint, sizeof hint, "%s/d", out->clg_name);
    if ((s = ox_append(ox, op, NULL, hint, &dd, 1, &a, &y))) return s;
    sh.rank = 5;
    sh.dims[2] = node_shape(ox, y)->dims[2];
    sh.dims[3] = oh;
    sh.dims[4] = ow;
    if ((s = reshape_to(ox, y, &sh, out, NULL, &out->node))) return s;
    out->kind = OX_TENSOR;
    return CLG_OK;
}

static clg_status conv_pool(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_in;
    bool max = strcmp(n->op_type, "MaxPool") == 0;
    int x;
    clg_status s;
    if ((s = ox_require_float(ox, in, 1)) || (s = ox_tensor_node(ox, in[0], &x))) return s;
    int rank = node_shape(ox, x)->rank;
    if (rank < 3 || rank > 5)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "only 1-D, 2-D and 3-D pooling is supported (the input has rank %d)",
                       rank);
    clg_op op = max ? CLG_OP_MAXPOOL : CLG_OP_AVERAGEPOOL;
    clg_attrs a;
    clg_attrs_default(op, &a);
    if (!max && (s = ox_attr_int(ox, n, "count_include_pad", 0, &a.count_include_pad))) return s;
    if (max) {
        /* storage_order only changes the Indices output, which is not computed. */
        int64_t order;
        if ((s = ox_attr_int(ox, n, "storage_order", 0, &order))) return s;
        if ((s = ox_unavailable(ox, out, n_out, 1, "is MaxPool's Indices output, which clgraph does not compute")))
            return s;
    }
    if (ox->opset >= 10 && (s = ox_attr_int(ox, n, "ceil_mode", 0, &a.ceil_mode))) return s;
    if (rank == 5) {
        if (max && ox->opset < 10 && ox_attr(n, "dilations"))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute dilations is not part of this op's opset");
        if (!max && ox_attr(n, "dilations") && ox->opset < 19)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute dilations is part of AveragePool from opset 19");
        if (!max && ox_attr(n, "dilations"))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "AveragePool's dilations are not supported on 3-D pools");
        return pool_3d(ox, n, op, x, out[0], &a);
    }
    int sp = rank - 2;
    if (sp == 1 && (s = lift_1d(ox, out[0], "x", &x))) return s;
    window win;
    win.kernel[0] = 1;
    bool present;
    int64_t kernel[2];
    if ((s = attr_ints(ox, n, "kernel_shape", sp, sp, kernel, NULL, &present))) return s;
    if (!present) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute kernel_shape is required");
    for (int k = 0; k < sp; k++) win.kernel[2 - sp + k] = kernel[k];
    /* MaxPool gained dilations in opset 10, AveragePool in 19 (clgraph's
     * AveragePool has none: only 1s are taken). */
    bool dilations = max ? ox->opset >= 10 : ox->opset >= 19;
    if ((s = read_window(ox, n, node_shape(ox, x), sp, dilations, ox->opset >= 10, &win))) return s;
    if (!max && (win.dilations[0] != 1 || win.dilations[1] != 1))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "AveragePool's dilations other than 1 are not supported");
    memcpy(a.kernel, win.kernel, sizeof a.kernel);
    memcpy(a.strides, win.strides, sizeof a.strides);
    memcpy(a.pads, win.pads, sizeof a.pads);
    memcpy(a.dilations, win.dilations, sizeof a.dilations);
    a.ceil_mode = win.ceil_mode;
    return append_window_op(ox, op, out[0], sp, &x, 1, &a);
}

static clg_status conv_batchnorm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                 ox_value **out, int n_out)
{
    (void)n_in;
    clg_attrs a;
    clg_attrs_default(CLG_OP_BATCHNORM, &a);
    int64_t training = 0;
    float momentum;
    clg_status s;
    if ((s = ox_attr_float(ox, n, "epsilon", 1e-5f, &a.epsilon)) || (s = ox_attr_float(ox, n, "momentum", 0.9f, &momentum)) ||
        (s = ox_attr_int(ox, n, "training_mode", 0, &training)))
        return s;
    if (training)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "training_mode=%lld is not supported (inference only)",
                       (long long)training);
    /* Before opset 14, asking for the statistics outputs is what selects
     * training mode, which normalizes with the batch's own statistics. */
    for (int o = 1; o < n_out && ox->opset < 14; o++)
        if (out[o])
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "training mode (output %d, '%s', is requested) is not supported (inference only)", o,
                           out[o]->name);
    if ((s = ox_unavailable(ox, out, n_out, 1, "is a training output of BatchNormalization, which clgraph does not compute")))
        return s;
    return emit(ox, CLG_OP_BATCHNORM, out[0], in, 5, &a);
}

/* The integer type of v (a graph tensor or a host value), or -1 for a
 * floating one. */
static int int_type_of(ox_ctx *ox, const ox_value *v)
{
    int32_t t = v->kind == OX_HOST     ? v->host.dtype
              : v->kind == OX_TENSOR ? ox_dtype_from_clg(ox->g->nodes[v->node].dtype)
                                     : OX_FLOAT;
    return ox_dtype_is_int(t) && t != OX_BOOL ? t : -1;
}

/* Add, Sub, Mul or Div of integer tensors computed in the graph (position
 * ids: a cumsum of the attention mask times the mask, plus an offset; an
 * id minus one): the graph computes in float, so each integer tensor is
 * cast to float, the op runs there, and the result is cast back (to an
 * integer: toward zero, which is Div's truncation). Exact while every
 * operand and result stays within +-2^24, as ids, positions, masks and
 * sizes do (docs/onnx.md). */
static clg_status int_binary(ox_ctx *ox, clg_op op, ox_value **in, ox_value *out)
{
    clg_dtype type = CLG_DTYPE_I64;
    int idx[2];
    char hint[256];
    clg_status s;
    for (int i = 0; i < 2; i++) {
        if ((s = ox_tensor_node(ox, in[i], &idx[i]))) return s;
        clg_dtype t = ox->g->nodes[idx[i]].dtype;
        if (t != CLG_DTYPE_I64 && t != CLG_DTYPE_I32) continue; /* a constant, held as exact floats */
        type = t;
        snprintf(hint, sizeof hint, "%s/float%d", out->clg_name, i);
        if ((s = ox_append_cast(ox, NULL, hint, idx[i], CLG_DTYPE_F32, &idx[i]))) return s;
    }
    clg_attrs none;
    clg_attrs_default(op, &none);
    int r;
    snprintf(hint, sizeof hint, "%s/float", out->clg_name);
    if ((s = ox_append(ox, op, NULL, hint, idx, 2, &none, &r))) return s;
    if ((s = ox_append_cast(ox, out, NULL, r, type, &out->node))) return s;
    out->kind = OX_TENSOR;
    return CLG_OK;
}

static clg_status conv_binary(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                              int n_out)
{
    (void)n_in, (void)n_out;
    const char *t = n->op_type;
    clg_op op = strcmp(t, "Add") == 0 ? CLG_OP_ADD : strcmp(t, "Sub") == 0 ? CLG_OP_SUB
              : strcmp(t, "Mul") == 0 ? CLG_OP_MUL : CLG_OP_DIV;
    int a = int_type_of(ox, in[0]), b = int_type_of(ox, in[1]);
    if (a >= 0 && b >= 0 && (in[0]->kind == OX_TENSOR || in[1]->kind == OX_TENSOR)) {
        if (a != b)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "inputs '%s' (%s) and '%s' (%s) differ in type", in[0]->name,
                           ox_dtype_name(a), in[1]->name, ox_dtype_name(b));
        return int_binary(ox, op, in, out[0]);
    }
    clg_status s = ox_require_float(ox, in, 2);
    return s ? s : emit(ox, op, out[0], in, 2, NULL);
}

static clg_status conv_unary(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_in, (void)n_out;
    const char *t = n->op_type;
    clg_op op = strcmp(t, "Relu") == 0 ? CLG_OP_RELU : strcmp(t, "Sigmoid") == 0 ? CLG_OP_SIGMOID
              : strcmp(t, "Tanh") == 0 ? CLG_OP_TANH : CLG_OP_GLOBALAVERAGEPOOL;
    clg_status s = ox_require_float(ox, in, 1);
    return s ? s : emit(ox, op, out[0], in, 1, NULL);
}

static clg_status conv_leaky_relu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                  ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_LEAKY_RELU, &a);
    clg_status s = ox_attr_float(ox, n, "alpha", 0.01f, &a.alpha);
    return s ? s : emit(ox, CLG_OP_LEAKY_RELU, out[0], in, 1, &a);
}

static clg_status conv_clip(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_CLIP, &a);
    clg_status s;
    if (ox->opset < 11) {
        /* Clip-6's defaults are the float range, not infinities. */
        if ((s = ox_attr_float(ox, n, "min", -FLT_MAX, &a.min)) || (s = ox_attr_float(ox, n, "max", FLT_MAX, &a.max)))
            return s;
    } else {
        if (n->n_attribute)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "min and max are inputs, not attributes, from opset 11");
        if (n_in > 1 && in[1] && (s = host_scalar(ox, in[1], "min", &a.min))) return s;
        if (n_in > 2 && in[2] && (s = host_scalar(ox, in[2], "max", &a.max))) return s;
    }
    if (isnan(a.min) || isnan(a.max))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a NaN bound is not supported");
    return emit(ox, CLG_OP_CLIP, out[0], in, 1, &a);
}

static clg_status conv_softmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                               int n_out)
{
    (void)n_in, (void)n_out;
    clg_status s;
    int64_t axis;
    if ((s = ox_attr_int(ox, n, "axis", ox->opset < 13 ? 1 : -1, &axis))) return s;
    clg_op op = strcmp(n->op_type, "LogSoftmax") == 0 ? CLG_OP_LOG_SOFTMAX : CLG_OP_SOFTMAX;
    clg_attrs a;
    clg_attrs_default(op, &a);
    if (ox->opset >= 13) {
        a.axis = axis;
        return emit(ox, op, out[0], in, 1, &a);
    }
    /* Before opset 13 Softmax (and LogSoftmax) flattens the input to 2-D at axis and
     * normalizes each row: a per-axis softmax only when axis is the last
     * dim, otherwise a reshape to [d0, ..., d(axis-1), rest], a softmax over
     * the last dim and a reshape back. */
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    clg_shape xs = *node_shape(ox, x);
    if (axis < -xs.rank || axis >= xs.rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range for rank %d", (long long)axis, xs.rank);
    if (axis < 0) axis += xs.rank;
    if (axis == xs.rank - 1) {
        a.axis = -1;
        return emit(ox, op, out[0], in, 1, &a);
    }
    clg_shape flat = {(int)axis + 1, {0}};
    int64_t rest = 1;
    for (int k = 0; k < xs.rank; k++) {
        if (k < axis) flat.dims[k] = xs.dims[k];
        else if (clg_dim_mul(ox->g, rest, xs.dims[k], &rest))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the flattened size of %s cannot be expressed", "the input");
    }
    flat.dims[axis] = rest;
    char hint[256];
    snprintf(hint, sizeof hint, "%s/flat", out[0]->clg_name);
    int r1, sm;
    if ((s = reshape_to(ox, x, &flat, NULL, hint, &r1))) return s;
    a.axis = -1;
    snprintf(hint, sizeof hint, "%s/softmax", out[0]->clg_name);
    if ((s = ox_append(ox, op, NULL, hint, &r1, 1, &a, &sm))) return s;
    if ((s = reshape_to(ox, sm, &xs, out[0], NULL, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

static clg_status conv_flatten(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                               int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_FLATTEN, &a);
    clg_status s = ox_attr_int(ox, n, "axis", 1, &a.axis);
    return s ? s : emit(ox, CLG_OP_FLATTEN, out[0], in, 1, &a);
}

/* Reshape's target (a host int vector) as clgraph attributes: 0 copies a
 * dim, -1 infers one; a symbolic N entry is allowed first, where the input
 * has N, and becomes 0. */
static clg_status conv_reshape(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                               int n_out)
{
    (void)n_in, (void)n_out;
    clg_status s;
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const ox_value *sv = in[1];
    if (sv->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "the shape '%s' must be a constant or computed from shapes at import", sv->name);
    const ox_host *h = &sv->host;
    if (!ox_dtype_is_int(h->dtype) || h->rank != 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the shape '%s' must be a 1-D integer tensor", sv->name);
    if (h->count < 1 || h->count > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a target of %zu dims is not supported (1 to %d)", h->count,
                       CLG_MAX_RANK);
    int64_t allowzero;
    if ((s = ox_attr_int(ox, n, "allowzero", 0, &allowzero))) return s;
    const clg_shape *xs = node_shape(ox, x);
    clg_attrs a;
    clg_attrs_default(CLG_OP_RESHAPE, &a);
    a.shape_rank = (int)h->count;
    for (size_t k = 0; k < h->count; k++) {
        int64_t d = h->i[k];
        if (h->sym && h->sym[k]) {
            /* A symbolic size: "copy" where the input has it in the same
             * place, else the size itself. */
            d = (int)k < xs->rank && xs->dims[k] == d ? 0 : clg_reshape_value(d);
        } else if (d == 0 && allowzero) {
            /* allowzero=1 makes 0 a real zero-size dim. */
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "allowzero=1 with a 0 in the target is not supported");
        } else if (d < -1) {
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "target dimension %zu is %lld", k, (long long)d);
        }
        a.shape[k] = d;
    }
    int idx = x;
    if ((s = ox_append(ox, CLG_OP_RESHAPE, out[0], NULL, &idx, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

static clg_status conv_transpose(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                 ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_TRANSPOSE, &a);
    bool present;
    clg_status s = attr_ints(ox, n, "perm", -1, CLG_MAX_RANK, a.perm, &a.perm_rank, &present);
    return s ? s : emit(ox, CLG_OP_TRANSPOSE, out[0], in, 1, &a);
}

static clg_status conv_concat(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                              int n_out)
{
    (void)n_out;
    if (!ox_attr(n, "axis")) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axis is required");
    clg_attrs a;
    clg_attrs_default(CLG_OP_CONCAT, &a);
    clg_status s = ox_attr_int(ox, n, "axis", 1, &a.axis);
    if (s) return s;
    int stack[8], *idx = stack;
    if (n_in > 8 && !(idx = clg_malloc(ox->g, (size_t)n_in * sizeof *idx))) return ox_oom(ox);
    for (int i = 0; i < n_in && !s; i++) {
        if (!in[i]) s = ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input %d is empty", i);
        else s = ox_tensor_node(ox, in[i], &idx[i]);
    }
    if (!s) s = ox_append(ox, CLG_OP_CONCAT, out[0], NULL, idx, n_in, &a, &out[0]->node);
    if (!s) out[0]->kind = OX_TENSOR;
    if (idx != stack) clg_free(ox->g, idx);
    return s;
}

static clg_status conv_identity(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                ox_value **out, int n_out)
{
    (void)n_in;
    clg_status s;
    if (strcmp(n->op_type, "Dropout") == 0) {
        if (ox->opset >= 12 && n_in > 2 && in[2]) {
            /* training_mode must be a constant false, or the ratio a
             * constant 0: training then drops nothing and scales by 1, the
             * identity (PyTorch exports of attention_dropout=0.0 with
             * TrainingMode.PRESERVE, torchvision's swin_t). */
            const ox_value *t = in[2], *r = n_in > 1 ? in[1] : NULL;
            bool no_drop = r && r->kind == OX_HOST && r->host.count == 1 &&
                           (ox_dtype_is_int(r->host.dtype) ? r->host.i[0] == 0 : r->host.f->data[0] == 0.0f);
            if (!no_drop && (t->kind != OX_HOST || t->host.count != 1 ||
                             (ox_dtype_is_int(t->host.dtype) ? t->host.i[0] != 0 : t->host.f->data[0] != 0.0f)))
                return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                               "training_mode '%s' must be a constant false (inference only), or the ratio a "
                               "constant 0", t->name);
        }
        if ((s = ox_unavailable(ox, out, n_out, 1, "is Dropout's mask, which clgraph does not compute"))) return s;
    }
    return emit(ox, CLG_OP_IDENTITY, out[0], in, 1, NULL);
}

/* Unsqueeze and Squeeze of graph tensors are reshapes. axes come from an
 * attribute before opset 13, from a constant input after. */
clg_status ox_read_axes(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, int64_t *axes,
                        int *n_axes, bool *present)
{
    if (ox->opset < 13) return attr_ints(ox, n, "axes", -1, OX_MAX_RANK, axes, n_axes, present);
    *present = n_in > 1 && in[1];
    *n_axes = 0;
    if (!*present) return CLG_OK;
    const ox_value *v = in[1];
    if (v->kind != OX_HOST || !ox_dtype_is_int(v->host.dtype) || v->host.sym)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "axes '%s' must be a constant integer tensor", v->name);
    if (v->host.count > OX_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%zu axes are too many", v->host.count);
    for (size_t k = 0; k < v->host.count; k++) axes[k] = v->host.i[k];
    *n_axes = (int)v->host.count;
    return CLG_OK;
}

static clg_status conv_squeeze(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                               int n_out)
{
    (void)n_out;
    bool unsqueeze = strcmp(n->op_type, "Unsqueeze") == 0;
    int64_t axes[OX_MAX_RANK];
    int n_axes;
    bool present;
    clg_status s;
    if ((s = ox_read_axes(ox, n, in, n_in, axes, &n_axes, &present))) return s;
    if (unsqueeze && !present) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes are required");
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape *xs = node_shape(ox, x);
    int out_rank = unsqueeze ? xs->rank + n_axes : xs->rank;
    bool marked[OX_MAX_RANK * 2] = {false};
    int rank = unsqueeze ? out_rank : xs->rank;
    for (int k = 0; k < n_axes; k++) {
        int64_t ax = axes[k] < 0 ? axes[k] + rank : axes[k];
        if (ax < 0 || ax >= rank || marked[ax])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range or repeated", (long long)axes[k]);
        marked[ax] = true;
    }
    clg_shape to = {0, {0}};
    int src = 0;
    for (int k = 0; k < rank; k++) {
        if (unsqueeze) {
            int64_t d = marked[k] ? 1 : xs->dims[src++];
            if (to.rank == CLG_MAX_RANK)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the result has more than %d dims", CLG_MAX_RANK);
            to.dims[to.rank++] = d;
            continue;
        }
        bool drop = present ? marked[k] : xs->dims[k] == 1;
        if (drop && xs->dims[k] != 1 && !clg_dim_is_symbolic(xs->dims[k]))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "dimension %d has size %lld, not 1", k,
                           (long long)xs->dims[k]);
        if (!drop) to.dims[to.rank++] = xs->dims[k];
    }
    if (to.rank == 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the result is a scalar; clgraph tensors have rank 1 to %d",
                       CLG_MAX_RANK);
    if ((s = reshape_to(ox, x, &to, out[0], NULL, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

/* ---------------------------------------------------------------- the table */

static const ox_op ops[] = {
    {"Abs", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Acos", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Acosh", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Add", 7, 2, 2, "", FOLD_IF_HOST, conv_binary},
    {"And", 7, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"ArgMax", 1, 1, 1, "axis keepdims select_last_index", FOLD_NEVER, ox_convert_argmax},
    {"ArgMin", 1, 1, 1, "axis keepdims select_last_index", FOLD_NEVER, ox_convert_argmax},
    {"Asin", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Asinh", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Atan", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Atanh", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"AveragePool", 7, 1, 1, "auto_pad ceil_mode count_include_pad dilations kernel_shape pads strides", FOLD_NEVER, conv_pool},
    {"BatchNormalization", 9, 5, 5, "epsilon momentum training_mode", FOLD_NEVER, conv_batchnorm},
    {"Cast", 6, 1, 1, "saturate to", FOLD_IF_HOST, ox_convert_cast},
    {"CastLike", 15, 2, 2, "saturate", FOLD_NEVER, ox_convert_cast_like},
    {"Ceil", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Celu", 12, 1, 1, "alpha", FOLD_NEVER, ox_conv_activation},
    {"Clip", 6, 1, 3, "min max", FOLD_NEVER, conv_clip},
    {"Concat", 4, 1, -1, "axis", FOLD_IF_HOST, conv_concat},
    {"Constant", 1, 0, 0, "value value_float value_floats value_int value_ints value_string value_strings sparse_value",
     FOLD_ALWAYS, NULL},
    {"ConstantOfShape", 9, 1, 1, "value", FOLD_NEVER, ox_convert_constant_of_shape},
    {"Conv", 1, 2, 3, "auto_pad dilations group kernel_shape pads strides", FOLD_NEVER, conv_conv},
    {"ConvTranspose", 1, 2, 3, "auto_pad dilations group kernel_shape output_padding output_shape pads strides",
     FOLD_NEVER, ox_convert_conv_transpose},
    {"Cos", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Cosh", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"CumSum", 11, 2, 2, "exclusive reverse", FOLD_NEVER, ox_convert_cumsum},
    {"DepthToSpace", 1, 1, 1, "blocksize mode", FOLD_NEVER, ox_convert_depth_space},
    {"Div", 7, 2, 2, "", FOLD_IF_HOST, conv_binary},
    {"Dropout", 7, 1, 3, "ratio seed", FOLD_NEVER, conv_identity},
    {"Einsum", 12, 1, -1, "equation", FOLD_NEVER, ox_convert_einsum},
    {"Elu", 6, 1, 1, "alpha", FOLD_NEVER, ox_conv_activation},
    {"Equal", 7, 2, 2, "", FOLD_IF_HOST, ox_conv_compare},
    {"Erf", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Exp", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Expand", 8, 2, 2, "", FOLD_IF_HOST, ox_convert_expand},
    {"EyeLike", 9, 1, 1, "dtype k", FOLD_ALWAYS, NULL},
    {"Flatten", 1, 1, 1, "axis", FOLD_NEVER, conv_flatten},
    {"Floor", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Gather", 1, 2, 2, "axis", FOLD_IF_HOST, ox_convert_gather},
    {"GatherElements", 11, 2, 2, "axis", FOLD_NEVER, ox_convert_gather_elements},
    {"Gelu", 20, 1, 1, "approximate", FOLD_NEVER, ox_convert_gelu},
    {"Gemm", 7, 2, 3, "alpha beta transA transB", FOLD_NEVER, conv_gemm},
    {"GlobalAveragePool", 1, 1, 1, "", FOLD_NEVER, conv_unary},
    {"GlobalMaxPool", 1, 1, 1, "", FOLD_NEVER, ox_convert_global_max_pool},
    {"Greater", 7, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"GreaterOrEqual", 12, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"GroupNormalization", 18, 3, 3, "epsilon num_groups stash_type", FOLD_NEVER, ox_convert_group_norm},
    {"HardSigmoid", 6, 1, 1, "alpha beta", FOLD_NEVER, ox_conv_activation},
    {"HardSwish", 14, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Hardmax", 1, 1, 1, "axis", FOLD_NEVER, ox_conv_hardmax},
    {"Identity", 1, 1, 1, "", FOLD_IF_HOST, conv_identity},
    {"If", 1, 1, 1, "else_branch then_branch", FOLD_NEVER, ox_convert_if},
    {"InstanceNormalization", 1, 3, 3, "epsilon", FOLD_NEVER, ox_convert_instance_norm},
    {"IsInf", 10, 1, 1, "detect_negative detect_positive", FOLD_NEVER, ox_conv_isinf},
    {"IsNaN", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"LRN", 1, 1, 1, "alpha beta bias size", FOLD_NEVER, ox_convert_lrn},
    {"LayerNormalization", 17, 2, 3, "axis epsilon stash_type", FOLD_NEVER, ox_convert_layer_norm},
    {"LeakyRelu", 6, 1, 1, "alpha", FOLD_NEVER, conv_leaky_relu},
    {"Less", 7, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"LessOrEqual", 12, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"Log", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"LogSoftmax", 1, 1, 1, "axis", FOLD_NEVER, conv_softmax},
    {"MatMul", 1, 2, 2, "", FOLD_NEVER, conv_matmul},
    {"Max", 8, 1, -1, "", FOLD_IF_HOST, ox_conv_variadic},
    {"MaxPool", 1, 1, 1, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides", FOLD_NEVER, conv_pool},
    {"Mean", 8, 1, -1, "", FOLD_NEVER, ox_conv_variadic},
    {"Min", 8, 1, -1, "", FOLD_IF_HOST, ox_conv_variadic},
    {"Mish", 18, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Mod", 10, 2, 2, "fmod", FOLD_IF_HOST, NULL},
    {"Mul", 7, 2, 2, "", FOLD_IF_HOST, conv_binary},
    {"Neg", 6, 1, 1, "", FOLD_IF_HOST, ox_conv_unary_expr},
    {"Not", 1, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Or", 7, 2, 2, "", FOLD_NEVER, ox_conv_compare},
    {"PRelu", 7, 2, 2, "", FOLD_NEVER, ox_conv_prelu},
    {"Pad", 2, 1, 4, "mode pads value", FOLD_NEVER, ox_convert_pad},
    {"Pow", 7, 2, 2, "", FOLD_NEVER, ox_conv_pow},
    {"Range", 11, 3, 3, "", FOLD_NEVER, ox_convert_range},
    {"Reciprocal", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"ReduceL1", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceL2", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceLogSum", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceLogSumExp", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceMax", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceMean", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceMin", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceProd", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceSum", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"ReduceSumSquare", 1, 1, 2, "axes keepdims noop_with_empty_axes", FOLD_NEVER, ox_convert_reduce},
    {"Relu", 6, 1, 1, "", FOLD_NEVER, conv_unary},
    {"Reshape", 5, 2, 2, "allowzero", FOLD_IF_HOST, conv_reshape},
    {"Resize", 10, 1, 4,
     "antialias axes coordinate_transformation_mode cubic_coeff_a exclude_outside extrapolation_value "
     "keep_aspect_ratio_policy mode nearest_mode",
     FOLD_NEVER, ox_convert_resize},
    {"Round", 11, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"ScatterND", 11, 3, 3, "reduction", FOLD_ALWAYS, NULL},
    {"Selu", 6, 1, 1, "alpha gamma", FOLD_NEVER, ox_conv_activation},
    {"Shape", 1, 1, 1, "start end", FOLD_ALWAYS, NULL},
    {"Shrink", 9, 1, 1, "bias lambd", FOLD_NEVER, ox_conv_shrink},
    {"Sigmoid", 6, 1, 1, "", FOLD_NEVER, conv_unary},
    {"Sign", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Sin", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Sinh", 9, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Size", 1, 1, 1, "", FOLD_ALWAYS, NULL},
    {"Slice", 1, 1, 5, "axes ends starts", FOLD_IF_HOST, ox_convert_slice},
    {"Softmax", 1, 1, 1, "axis", FOLD_NEVER, conv_softmax},
    {"Softplus", 1, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Softsign", 1, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"SpaceToDepth", 1, 1, 1, "blocksize", FOLD_NEVER, ox_convert_depth_space},
    {"Split", 2, 1, 2, "axis num_outputs split", FOLD_NEVER, ox_convert_split},
    {"Sqrt", 6, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Squeeze", 1, 1, 2, "axes", FOLD_IF_HOST, conv_squeeze},
    {"Sub", 7, 2, 2, "", FOLD_IF_HOST, conv_binary},
    {"Sum", 8, 1, -1, "", FOLD_NEVER, ox_conv_variadic},
    {"Tan", 7, 1, 1, "", FOLD_NEVER, ox_conv_unary_expr},
    {"Tanh", 6, 1, 1, "", FOLD_NEVER, conv_unary},
    {"ThresholdedRelu", 10, 1, 1, "alpha", FOLD_NEVER, ox_conv_activation},
    {"Tile", 6, 2, 2, "", FOLD_NEVER, ox_convert_tile},
    {"Transpose", 1, 1, 1, "perm", FOLD_IF_HOST, conv_transpose},
    {"Trilu", 14, 1, 2, "upper", FOLD_NEVER, ox_convert_trilu},
    {"Unsqueeze", 1, 1, 2, "axes", FOLD_IF_HOST, conv_squeeze},
    {"Upsample", 7, 1, 2, "mode scales", FOLD_NEVER, ox_convert_resize},
    {"Where", 9, 3, 3, "", FOLD_IF_HOST, ox_conv_where},
    {"Xor", 7, 2, 2, "", FOLD_NEVER, ox_conv_compare},
};

static const ox_op *find_op(const char *name)
{
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (strcmp(ops[k].name, name) == 0) return &ops[k];
    return NULL;
}

bool ox_op_known(const char *op_type) { return find_op(op_type) != NULL; }

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) return true;
        p += len;
        while (*p == ' ') p++;
    }
    return false;
}

clg_status ox_convert_node(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    const ox_op *op = find_op(n->op_type);
    if (!op)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "op %s is not supported (docs/onnx.md lists the supported ops)",
                       n->op_type);
    if (ox->opset < op->since)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s before opset %d is not supported", n->op_type, op->since);
    if (n_in < op->min_in || (op->max_in >= 0 && n_in > op->max_in))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "takes %d to %d inputs, got %d", op->min_in, op->max_in, n_in);
    for (int i = 0; i < op->min_in; i++)
        if (!in[i]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input %d is required but empty", i);
    if (n_out < 1 || !out[0]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the first output has no name");
    for (size_t k = 0; k < n->n_attribute; k++) {
        const Onnx__AttributeProto *a = n->attribute[k];
        if (a->ref_attr_name && *a->ref_attr_name)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute %s refers to a function attribute", a->name);
        if (!listed(op->attrs, a->name ? a->name : ""))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute '%s' is not supported", a->name ? a->name : "");
    }
    bool all_host = true;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->kind != OX_HOST) all_host = false;
    if (op->fold == FOLD_ALWAYS || (op->fold == FOLD_IF_HOST && all_host)) {
        bool handled = false;
        clg_status s = ox_fold_node(ox, n, in, n_in, out, n_out, &handled);
        if (s || handled) return s;
    }
    if (!op->convert) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "this use of %s is not supported", n->op_type);
    return op->convert(ox, n, in, n_in, out, n_out);
}
