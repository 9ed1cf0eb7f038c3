/* ONNX reductions and normalisations: ReduceMean ... ReduceLogSumExp,
 * LayerNormalization and InstanceNormalization (docs/onnx.md). */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "onnx_internal.h"

static const struct {
    const char *onnx;
    clg_op op;
} reductions[] = {
    {"ReduceMean", CLG_OP_REDUCE_MEAN},   {"ReduceSum", CLG_OP_REDUCE_SUM},
    {"ReduceMax", CLG_OP_REDUCE_MAX},     {"ReduceMin", CLG_OP_REDUCE_MIN},
    {"ReduceProd", CLG_OP_REDUCE_PROD},   {"ReduceL1", CLG_OP_REDUCE_L1},
    {"ReduceL2", CLG_OP_REDUCE_L2},       {"ReduceSumSquare", CLG_OP_REDUCE_SUM_SQUARE},
    {"ReduceLogSum", CLG_OP_REDUCE_LOG_SUM}, {"ReduceLogSumExp", CLG_OP_REDUCE_LOG_SUM_EXP},
};

static bool is_type(const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type, bool filled)
{
    return a->has_type ? a->type == type : filled; /* old exporters leave type unset */
}

/* The reduced axes: an attribute, except ReduceSum's from opset 13, which
 * is an optional constant input. */
static clg_status read_reduce_axes(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, bool axes_input,
                                   int64_t *axes, int *n_axes)
{
    *n_axes = 0;
    if (axes_input) {
        if (ox_attr(n, "axes"))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                           "axes is an input, not an attribute, from opset 18 (ReduceSum: 13)");
        if (n_in < 2 || !in[1]) return CLG_OK;
        const ox_value *v = in[1];
        if (v->kind != OX_HOST || !ox_dtype_is_int(v->host.dtype) || v->host.sym)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "axes '%s' must be a constant integer tensor", v->name);
        if (v->host.count > CLG_MAX_RANK)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes '%s' has %zu entries; tensors have at most %d dims",
                           v->name, v->host.count, CLG_MAX_RANK);
        for (size_t k = 0; k < v->host.count; k++) axes[k] = v->host.i[k];
        *n_axes = (int)v->host.count;
        return CLG_OK;
    }
    const Onnx__AttributeProto *a = ox_attr(n, "axes");
    if (!a) return CLG_OK;
    if (!is_type(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, a->n_ints > 0 || !a->n_floats))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axes must be a list of integers");
    if (a->n_ints > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axes has %zu entries; tensors have at most %d dims",
                       a->n_ints, CLG_MAX_RANK);
    for (size_t k = 0; k < a->n_ints; k++) axes[k] = a->ints[k];
    *n_axes = (int)a->n_ints;
    return CLG_OK;
}

static clg_status tensor(ox_ctx *ox, ox_value *v, int *node) { return ox_tensor_node(ox, v, node); }

/* One step of a host reduction where an operand is a symbolic size (a dim
 * code): Sum and Prod as the graph's size arithmetic, a plain operand being
 * a size (>= 0). */
static clg_status symbolic_step(ox_ctx *ox, clg_op op, int64_t acc, bool acc_sym, int64_t x, bool x_sym, int64_t *r)
{
    char a[64], b[64];
    if (op != CLG_OP_REDUCE_SUM && op != CLG_OP_REDUCE_PROD)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of symbolic sizes (%s, %s) is not supported", clg_op_name(op),
                       clg_dim_str(ox->g, acc, a, sizeof a), clg_dim_str(ox->g, x, b, sizeof b));
    if ((!acc_sym && acc < 0) || (!x_sym && x < 0))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of %s and %s: a negative value with a symbolic size",
                       clg_op_name(op), clg_dim_str(ox->g, acc, a, sizeof a), clg_dim_str(ox->g, x, b, sizeof b));
    clg_status s = op == CLG_OP_REDUCE_SUM ? clg_dim_add(ox->g, acc, x, r) : clg_dim_mul(ox->g, acc, x, r);
    if (s == CLG_ERR_OUT_OF_MEMORY) return ox_oom(ox);
    if (s)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of %s and %s does not give a size clgraph can express",
                       clg_op_name(op), clg_dim_str(ox->g, acc, a, sizeof a), clg_dim_str(ox->g, x, b, sizeof b));
    return CLG_OK;
}

/* A reduction of an integer host value (shape arithmetic: tf2onnx computes
 * a flattened size as ReduceProd of a slice of a Shape), folded here on
 * the host: Sum, Prod, Max, Min, L1 and SumSquare of int64 values, wrapping
 * around as int64 does; Sum and Prod of symbolic sizes (N, S, ...) too, as
 * the graph's size arithmetic (ReduceProd of [S, 64] is 64*S). */
static clg_status host_reduce(ox_ctx *ox, clg_op op, const ox_value *v, const int64_t *axes, int n_axes,
                              bool keepdims, ox_value *out)
{
    const ox_host *h = &v->host;
    if (op != CLG_OP_REDUCE_SUM && op != CLG_OP_REDUCE_PROD && op != CLG_OP_REDUCE_MAX && op != CLG_OP_REDUCE_MIN &&
        op != CLG_OP_REDUCE_L1 && op != CLG_OP_REDUCE_SUM_SQUARE)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of the integer constant '%s' is not supported", clg_op_name(op),
                       v->name);
    bool mask[OX_MAX_RANK] = {false};
    for (int d = 0; d < h->rank; d++) mask[d] = n_axes == 0;
    for (int k = 0; k < n_axes; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + h->rank : axes[k];
        if (a < 0 || a >= h->rank || mask[a])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes[%d] = %lld is out of range for rank %d or repeated", k,
                           (long long)axes[k], h->rank);
        mask[a] = true;
    }
    if (h->count == 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a reduction of the empty constant '%s' is not supported", v->name);
    int64_t dims[OX_MAX_RANK], st[OX_MAX_RANK], stride = 1;
    int rank = 0;
    for (int d = h->rank - 1; d >= 0; d--) {
        st[d] = stride;
        stride *= h->dims[d];
    }
    for (int d = 0; d < h->rank; d++)
        if (!mask[d]) dims[rank++] = h->dims[d];
        else if (keepdims) dims[rank++] = 1;
    ox_host r;
    clg_status s = ox_host_new(ox, h->dtype, rank, dims, &r);
    if (s) return s;
    size_t n_out = r.count ? r.count : 1;
    /* per output element: 1 once written, 2 when symbolic */
    uint8_t *state = clg_calloc(ox->g, n_out, 1);
    if (!state) {
        ox_host_free(ox->g, &r);
        return ox_oom(ox);
    }
    bool any_sym = false;
    for (size_t e = 0; e < h->count && !s; e++) {
        size_t o = 0, ost = 1;
        for (int d = h->rank - 1; d >= 0; d--) {
            int64_t c = ((int64_t)e / st[d]) % h->dims[d];
            if (mask[d]) continue;
            o += (size_t)c * ost;
            ost *= (size_t)h->dims[d];
        }
        int64_t x = h->i[e], *acc = &r.i[o];
        bool x_sym = h->sym && h->sym[e];
        if (x_sym && (op == CLG_OP_REDUCE_L1 || op == CLG_OP_REDUCE_SUM_SQUARE)) {
            s = ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of the symbolic sizes in '%s' is not supported", clg_op_name(op),
                        v->name);
            break;
        }
        if (op == CLG_OP_REDUCE_L1) x = x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
        if (op == CLG_OP_REDUCE_SUM_SQUARE) x = (int64_t)((uint64_t)x * (uint64_t)x);
        if (!state[o]) {
            *acc = x;
            state[o] = x_sym ? 2 : 1;
        } else if (x_sym || state[o] == 2) {
            int64_t res;
            if ((s = symbolic_step(ox, op, *acc, state[o] == 2, x, x_sym, &res))) break;
            *acc = res;
            state[o] = clg_dim_is_symbolic(res) ? 2 : 1;
        } else if (op == CLG_OP_REDUCE_PROD) {
            *acc = (int64_t)((uint64_t)*acc * (uint64_t)x);
        } else if (op == CLG_OP_REDUCE_MAX) {
            *acc = x > *acc ? x : *acc;
        } else if (op == CLG_OP_REDUCE_MIN) {
            *acc = x < *acc ? x : *acc;
        } else {
            *acc = (int64_t)((uint64_t)*acc + (uint64_t)x);
        }
    }
    for (size_t o = 0; o < r.count && !s; o++) any_sym |= state[o] == 2;
    if (!s && any_sym) {
        if (!(r.sym = clg_calloc(ox->g, n_out, 1))) s = ox_oom(ox);
        for (size_t o = 0; o < r.count && !s; o++) r.sym[o] = state[o] == 2;
    }
    clg_free(ox->g, state);
    if (s) {
        ox_host_free(ox->g, &r);
        return s;
    }
    out->host = r;
    out->kind = OX_HOST;
    out->node = -1;
    return CLG_OK;
}

clg_status ox_convert_reduce(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_out;
    clg_op op = CLG_OP_COUNT;
    for (size_t k = 0; k < sizeof reductions / sizeof reductions[0]; k++)
        if (strcmp(n->op_type, reductions[k].onnx) == 0) op = reductions[k].op;
    if (op == CLG_OP_COUNT) return ox_fail(ox, CLG_ERR_INTERNAL, "internal error: not a reduction");
    /* ReduceSum took its axes as an input from opset 13, the others from 18. */
    bool axes_input = (op == CLG_OP_REDUCE_SUM && ox->opset >= 13) || ox->opset >= 18;
    if (!axes_input && n_in > 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "takes 1 input before opset 18 (ReduceSum: 13), got %d", n_in);
    clg_attrs a;
    clg_attrs_default(op, &a);
    int64_t noop = 0;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "keepdims", 1, &a.keepdims))) return s;
    if (a.keepdims != 0 && a.keepdims != 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "keepdims must be 0 or 1, got %lld", (long long)a.keepdims);
    if ((s = ox_attr_int(ox, n, "noop_with_empty_axes", 0, &noop))) return s;
    if (noop && !axes_input)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute noop_with_empty_axes is not part of this op's opset");
    if ((s = read_reduce_axes(ox, n, in, n_in, axes_input, a.axes, &a.axes_rank))) return s;
    if (in[0]->kind == OX_HOST && ox_dtype_is_int(in[0]->host.dtype)) {
        if (a.axes_rank == 0 && noop) { /* the value itself */
            const ox_host *h = &in[0]->host;
            ox_host r;
            if ((s = ox_host_new(ox, h->dtype, h->rank, h->dims, &r))) return s;
            if (h->count) memcpy(r.i, h->i, h->count * sizeof *r.i);
            if (h->sym) {
                if (!(r.sym = clg_malloc(ox->g, h->count))) {
                    ox_host_free(ox->g, &r);
                    return ox_oom(ox);
                }
                memcpy(r.sym, h->sym, h->count);
            }
            out[0]->host = r;
            out[0]->kind = OX_HOST;
            out[0]->node = -1;
            return CLG_OK;
        }
        return host_reduce(ox, op, in[0], a.axes, a.axes_rank, a.keepdims != 0, out[0]);
    }
    int x;
    if ((s = tensor(ox, in[0], &x))) return s;
    if (a.axes_rank == 0 && noop) { /* no axes and noop_with_empty_axes: the input itself */
        clg_attrs id;
        clg_attrs_default(CLG_OP_IDENTITY, &id);
        s = ox_append(ox, CLG_OP_IDENTITY, out[0], NULL, &x, 1, &id, &out[0]->node);
    } else {
        s = ox_append(ox, op, out[0], NULL, &x, 1, &a, &out[0]->node);
    }
    if (!s) out[0]->kind = OX_TENSOR;
    return s;
}

/* LayerNormalization's Mean and InvStdDev outputs, computed only when
 * something uses them: the mean over the normalised dims and
 * 1 / sqrt(mean((x - mean)^2) + epsilon), both with those dims kept as 1
 * (ONNX's shapes). mean_out or inv_out NULL: not wanted. */
static clg_status layer_norm_statistics(ox_ctx *ox, int x, const clg_attrs *ln, ox_value *mean_out,
                                        ox_value *inv_out)
{
    const clg_shape xs = ox->g->nodes[x].shape;
    int64_t axis = ln->axis < 0 ? ln->axis + xs.rank : ln->axis;
    clg_attrs red;
    clg_attrs_default(CLG_OP_REDUCE_MEAN, &red);
    for (int64_t d = axis; d < xs.rank; d++) red.axes[red.axes_rank++] = d;
    char hint[256];
    const char *base = (mean_out ? mean_out : inv_out)->clg_name;
    int mean, dev, sq, var;
    clg_status s;
    snprintf(hint, sizeof hint, "%s/mean", base);
    if ((s = ox_append(ox, CLG_OP_REDUCE_MEAN, mean_out, hint, &x, 1, &red, &mean))) return s;
    if (mean_out) {
        mean_out->node = mean;
        mean_out->kind = OX_TENSOR;
    }
    if (!inv_out) return CLG_OK;
    clg_attrs none;
    clg_attrs_default(CLG_OP_SUB, &none);
    int sub_in[2] = {x, mean};
    snprintf(hint, sizeof hint, "%s/deviation", base);
    if ((s = ox_append(ox, CLG_OP_SUB, NULL, hint, sub_in, 2, &none, &dev))) return s;
    int mul_in[2] = {dev, dev};
    snprintf(hint, sizeof hint, "%s/square", base);
    if ((s = ox_append(ox, CLG_OP_MUL, NULL, hint, mul_in, 2, &none, &sq))) return s;
    snprintf(hint, sizeof hint, "%s/variance", base);
    if ((s = ox_append(ox, CLG_OP_REDUCE_MEAN, NULL, hint, &sq, 1, &red, &var))) return s;
    clg_attrs inv;
    clg_attrs_default(CLG_OP_ELEMENTWISE, &inv);
    clg_text t = {inv.expr, sizeof inv.expr, 0};
    clg_text_printf(&t, "1 / sqrt(x0 + ");
    clg_expr_write_float(&t, ln->epsilon);
    clg_text_printf(&t, ")");
    if ((s = ox_append(ox, CLG_OP_ELEMENTWISE, inv_out, NULL, &var, 1, &inv, &inv_out->node))) return s;
    inv_out->kind = OX_TENSOR;
    return CLG_OK;
}

clg_status ox_convert_layer_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                 int n_out)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_LAYER_NORM, &a);
    int64_t stash = 1;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "axis", -1, &a.axis)) || (s = ox_attr_float(ox, n, "epsilon", 1e-5f, &a.epsilon)) ||
        (s = ox_attr_int(ox, n, "stash_type", 1, &stash)))
        return s;
    /* stash_type is the precision of the statistics: float (1) is what the
     * kernels use; a double one would be a silent approximation. */
    if (stash != 1)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "stash_type=%lld is not supported (1, float, only)", (long long)stash);
    int idx[3];
    int n_idx = n_in > 2 && in[2] ? 3 : 2;
    for (int i = 0; i < n_idx; i++)
        if ((s = tensor(ox, in[i], &idx[i]))) return s;
    if ((s = ox_append(ox, CLG_OP_LAYER_NORM, out[0], NULL, idx, n_idx, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    bool want_mean = n_out > 1 && out[1] && out[1]->uses > 0, want_inv = n_out > 2 && out[2] && out[2]->uses > 0;
    for (int o = 3; o < n_out; o++)
        if (out[o]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "has at most 3 outputs");
    for (int o = 1; o < n_out && o < 3; o++)
        if (out[o] && !(o == 1 ? want_mean : want_inv) &&
            (s = ox_unavailable(ox, out, o + 1, o, "is a LayerNormalization statistic that nothing uses")))
            return s;
    if (want_mean || want_inv) return layer_norm_statistics(ox, idx[0], &a, want_mean ? out[1] : NULL,
                                                            want_inv ? out[2] : NULL);
    return CLG_OK;
}

/* A Reshape of node `from` to [C, 1, ..., 1] (rank - 1 dims), so a
 * per-channel vector broadcasts over an [N, C, ...] tensor. */
static clg_status per_channel(ox_ctx *ox, int from, int64_t channels, int rank, const char *hint, int *node)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_RESHAPE, &a);
    a.shape_rank = rank - 1;
    a.shape[0] = channels;
    for (int k = 1; k < rank - 1; k++) a.shape[k] = 1;
    return ox_append(ox, CLG_OP_RESHAPE, NULL, hint, &from, 1, &a, node);
}

/* A constant [1] of 1.0, named after base: the scale of a LayerNorm that
 * only normalises (Instance and Group normalisation scale afterwards). */
static clg_status unit_scale(ox_ctx *ox, const char *base, int *node)
{
    char hint[256];
    clg_const *one = clg_const_new(ox->g, 1);
    if (!one) return ox_oom(ox);
    one->data[0] = 1.0f;
    one->init.kind = CLG_INIT_ONES;
    const char *one_name;
    snprintf(hint, sizeof hint, "%s/one", base);
    if (!(one_name = ox_unique_name(ox, hint))) {
        clg_const_release(ox->g, one);
        return ox_oom(ox);
    }
    clg_shape one_shape = {1, {1}};
    clg_status s = clg_graph_append(ox->g, CLG_OP_CONSTANT, one_name, 0, NULL, 0, NULL, &one_shape, one);
    if (s) {
        clg_const_release(ox->g, one);
        return s == CLG_ERR_OUT_OF_MEMORY ? ox_oom(ox) : ox_fail(ox, s, "%s", ox->g->errmsg);
    }
    *node = ox->g->n_nodes - 1;
    return CLG_OK;
}

/* from * scale + bias, scale and bias [channels] reshaped to [channels,
 * 1...] against a rank-`rank` from (dim 1 its channels): into out, or
 * (out NULL) a helper node *node named after base. */
static clg_status scale_shift(ox_ctx *ox, int from, int scale, int bias, int64_t channels, int rank,
                              const char *base, ox_value *out, int *node)
{
    char hint[256];
    int sc, bi, mul;
    clg_status s;
    snprintf(hint, sizeof hint, "%s/scale", base);
    if ((s = per_channel(ox, scale, channels, rank, hint, &sc))) return s;
    snprintf(hint, sizeof hint, "%s/bias", base);
    if ((s = per_channel(ox, bias, channels, rank, hint, &bi))) return s;
    clg_attrs none;
    clg_attrs_default(CLG_OP_MUL, &none);
    int mul_in[2] = {from, sc};
    snprintf(hint, sizeof hint, "%s/scaled", base);
    if ((s = ox_append(ox, CLG_OP_MUL, NULL, hint, mul_in, 2, &none, &mul))) return s;
    int add_in[2] = {mul, bi};
    snprintf(hint, sizeof hint, "%s/shifted", base);
    if ((s = ox_append(ox, CLG_OP_ADD, out, out ? NULL : hint, add_in, 2, &none, node))) return s;
    if (out) out->kind = OX_TENSOR;
    return CLG_OK;
}

/* InstanceNormalization(x [N, C, D...], scale [C], bias [C]): each (n, c)
 * normalised over its spatial dims, then scaled and shifted per channel.
 * Imported as LayerNorm from axis 2 with a scale of 1, then Mul by scale
 * and Add of bias as [C, 1...], which -O2 fuses into one elementwise
 * kernel. */
clg_status ox_convert_instance_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                    int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_LAYER_NORM, &a);
    clg_status s;
    if ((s = ox_attr_float(ox, n, "epsilon", 1e-5f, &a.epsilon))) return s;
    int x, scale, bias;
    if ((s = tensor(ox, in[0], &x)) || (s = tensor(ox, in[1], &scale)) || (s = tensor(ox, in[2], &bias))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    if (xs.rank < 3)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the input must have rank 3 or more, not %d", xs.rank);
    int64_t ch = xs.dims[1];
    const clg_shape *ss = &ox->g->nodes[scale].shape, *bs = &ox->g->nodes[bias].shape;
    if (ss->rank != 1 || ss->dims[0] != ch || bs->rank != 1 || bs->dims[0] != ch)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "scale and bias must have shape [%lld] (one per channel)",
                       (long long)ch);
    a.axis = 2;
    char hint[256];
    const char *base = out[0]->clg_name;
    int unit;
    if ((s = unit_scale(ox, base, &unit))) return s;
    int ln_in[2] = {x, unit}, ln;
    snprintf(hint, sizeof hint, "%s/normalised", base);
    if ((s = ox_append(ox, CLG_OP_LAYER_NORM, NULL, hint, ln_in, 2, &a, &ln))) return s;
    return scale_shift(ox, ln, scale, bias, ch, xs.rank, base, out[0], &out[0]->node);
}

/* GlobalMaxPool: ReduceMax over every spatial dim (2 on), kept as 1. */
clg_status ox_convert_global_max_pool(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                      ox_value **out, int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    int x;
    clg_status s;
    if ((s = ox_require_float(ox, in, 1)) || (s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    if (xs.rank < 3)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the input '%s' has rank %d; [N, C, spatial...] is needed",
                       in[0]->name, xs.rank);
    clg_attrs a;
    clg_attrs_default(CLG_OP_REDUCE_MAX, &a);
    for (int d = 2; d < xs.rank; d++) a.axes[a.axes_rank++] = d;
    a.keepdims = 1;
    if ((s = ox_append(ox, CLG_OP_REDUCE_MAX, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

/* GroupNormalization (opset 18; 21 changed scale and bias from one per
 * group to one per channel): x [N, C, D...] as [N, G, C/G * D...],
 * normalised over the last dim (LayerNorm from axis 2 with a scale of 1),
 * scaled and shifted per group there (18) or per channel once reshaped
 * back (21). */
clg_status ox_convert_group_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                 int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs ln;
    clg_attrs_default(CLG_OP_LAYER_NORM, &ln);
    int64_t groups, stash = 1;
    clg_status s;
    if ((s = ox_attr_float(ox, n, "epsilon", 1e-5f, &ln.epsilon)) || (s = ox_attr_int(ox, n, "num_groups", 0, &groups)) ||
        (s = ox_attr_int(ox, n, "stash_type", 1, &stash)))
        return s;
    if (!ox_attr(n, "num_groups")) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute num_groups is required");
    if (stash != 1) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "stash_type %lld is not supported (1: float)", (long long)stash);
    if ((s = ox_require_float(ox, in, 3))) return s;
    int x, scale, bias;
    if ((s = tensor(ox, in[0], &x)) || (s = tensor(ox, in[1], &scale)) || (s = tensor(ox, in[2], &bias))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    if (xs.rank < 3)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the input must have rank 3 or more, not %d", xs.rank);
    int64_t ch = xs.dims[1];
    if (clg_dim_is_symbolic(ch))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the channel count of '%s' is symbolic", in[0]->name);
    if (groups < 1 || ch % groups)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "num_groups %lld does not divide the %lld channels", (long long)groups,
                       (long long)ch);
    bool per_group = ox->opset < 21;
    int64_t want = per_group ? groups : ch;
    const clg_shape *ss = &ox->g->nodes[scale].shape, *bs = &ox->g->nodes[bias].shape;
    if (ss->rank != 1 || ss->dims[0] != want || bs->rank != 1 || bs->dims[0] != want)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "scale and bias must have shape [%lld] (one per %s in opset %lld)",
                       (long long)want, per_group ? "group" : "channel", (long long)ox->opset);
    char hint[256];
    const char *base = out[0]->clg_name;
    /* [N, G, rest]: N copied (0), rest inferred (-1). */
    clg_attrs r;
    clg_attrs_default(CLG_OP_RESHAPE, &r);
    r.shape_rank = 3;
    r.shape[0] = 0;
    r.shape[1] = groups;
    r.shape[2] = -1;
    int grouped, normed;
    snprintf(hint, sizeof hint, "%s/grouped", base);
    if ((s = ox_append(ox, CLG_OP_RESHAPE, NULL, hint, &x, 1, &r, &grouped))) return s;
    int unit;
    if ((s = unit_scale(ox, base, &unit))) return s;
    ln.axis = 2;
    int ln_in[2] = {grouped, unit};
    snprintf(hint, sizeof hint, "%s/normalised", base);
    if ((s = ox_append(ox, CLG_OP_LAYER_NORM, NULL, hint, ln_in, 2, &ln, &normed))) return s;
    /* opset 18: [G, 1] against [N, G, rest] */
    if (per_group && (s = scale_shift(ox, normed, scale, bias, groups, 3, base, NULL, &normed))) return s;
    /* back to x's shape: N copied, the rest as x has them */
    r.shape_rank = xs.rank;
    r.shape[0] = 0;
    for (int k = 1; k < xs.rank; k++)
        r.shape[k] = clg_dim_is_symbolic(xs.dims[k]) ? clg_reshape_value(xs.dims[k]) : xs.dims[k];
    if (per_group) {
        if ((s = ox_append(ox, CLG_OP_RESHAPE, out[0], NULL, &normed, 1, &r, &out[0]->node))) return s;
        out[0]->kind = OX_TENSOR;
        return CLG_OK;
    }
    int back;
    snprintf(hint, sizeof hint, "%s/ungrouped", base);
    if ((s = ox_append(ox, CLG_OP_RESHAPE, NULL, hint, &normed, 1, &r, &back))) return s;
    /* opset 21: one per channel, as InstanceNormalization's */
    return scale_shift(ox, back, scale, bias, ch, xs.rank, base, out[0], &out[0]->node);
}

/* Gelu (opset 20): clgraph's Gelu, exact (approximate "none") or the tanh
 * form, as the patterns of older exports become (onnx_gelu.c). */
clg_status ox_convert_gelu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_GELU, &a);
    const Onnx__AttributeProto *ap = ox_attr(n, "approximate");
    if (ap) {
        if (!ap->has_s) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute approximate must be a string");
        if (ap->s.len == 4 && memcmp(ap->s.data, "tanh", 4) == 0) a.approximate = 1;
        else if (!(ap->s.len == 4 && memcmp(ap->s.data, "none", 4) == 0))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute approximate must be 'none' or 'tanh'");
    }
    int x;
    clg_status s;
    if ((s = ox_require_float(ox, in, 1)) || (s = tensor(ox, in[0], &x))) return s;
    if ((s = ox_append(ox, CLG_OP_GELU, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
