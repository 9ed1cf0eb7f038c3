/* ONNX's activations, unary math, comparisons, logic and the variadic
 * Min/Max/Sum/Mean as Elementwise nodes: each op is one formula of the
 * expression language (docs/ir.md, "Elementwise expressions"), so it fuses
 * with its neighbours like Relu or Sigmoid. Attributes become numbers in the
 * formula.
 *
 * clgraph computes in float. Booleans are 1.0 / 0.0 and a comparison gives
 * 1.0 / 0.0. An integer or bool input is accepted where the op allows those
 * types and it is a constant whose every element is exact in float (|v| <=
 * 2^24); the result is then the same number the integer op would give,
 * because each op taking integers here (comparisons, logic, Where, Min, Max,
 * Abs, Neg, Sign, Pow's exponent) is exact on such values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "onnx_internal.h"

/* Largest integer magnitude below which every integer is a float. */
#define EXACT_IN_FLOAT ((int64_t)1 << 24)

/* The node of input v used as a float tensor. With ints, an integer or bool
 * constant is first copied into a FLOAT constant of its own (the host value
 * itself stays an integer for any shape arithmetic that uses it). */
static clg_status operand(ox_ctx *ox, ox_value *v, bool ints, int *node)
{
    if (v->kind != OX_HOST || !ints || ox_dtype_is_float(v->host.dtype)) return ox_tensor_node(ox, v, node);
    const ox_host *h = &v->host;
    if (!ox_dtype_is_int(h->dtype))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "'%s' has type %s, which is not supported here", v->name,
                       ox_dtype_name(h->dtype));
    for (size_t k = 0; k < h->count; k++) {
        if (h->sym && h->sym[k])
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "'%s' element %zu depends on the batch size N, which is not supported here", v->name, k);
        if (h->i[k] > EXACT_IN_FLOAT || h->i[k] < -EXACT_IN_FLOAT)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "'%s' element %zu is %lld; integers are computed as floats, exact only up to 2^24",
                           v->name, k, (long long)h->i[k]);
    }
    char hint[256];
    snprintf(hint, sizeof hint, "%s/float", v->clg_name);
    ox_value tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.name = v->name;
    tmp.kind = OX_HOST;
    tmp.node = -1;
    tmp.producer = v->producer;
    if (!(tmp.clg_name = ox_unique_name(ox, hint))) return ox_oom(ox);
    clg_status s = ox_host_new(ox, OX_FLOAT, h->rank, h->dims, &tmp.host);
    if (s) return s;
    for (size_t k = 0; k < h->count; k++) tmp.host.f->data[k] = (float)h->i[k];
    s = ox_tensor_node(ox, &tmp, node);
    ox_host_free(ox->g, &tmp.host);
    return s;
}

/* Appends an Elementwise node computing text over in: the ONNX value out,
 * or (out NULL) a helper named after hint. */
static clg_status append_expr(ox_ctx *ox, ox_value *out, const char *hint, ox_value **in, int n_in, bool ints,
                              const clg_text *text, int *node)
{
    if (n_in > CLG_EXPR_MAX_INPUTS)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%d inputs; at most %d are supported", n_in, CLG_EXPR_MAX_INPUTS);
    clg_attrs a;
    clg_attrs_default(CLG_OP_ELEMENTWISE, &a);
    if (text->len >= sizeof a.expr)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the formula is longer than %d bytes", (int)sizeof a.expr - 1);
    memcpy(a.expr, text->buf, text->len + 1);
    int idx[CLG_EXPR_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input %d is empty", i);
        clg_status s = operand(ox, in[i], ints, &idx[i]);
        if (s) return s;
    }
    return ox_append(ox, CLG_OP_ELEMENTWISE, out, out ? NULL : hint, idx, n_in, &a, node);
}

static clg_status emit_expr(ox_ctx *ox, ox_value *out, ox_value **in, int n_in, bool ints, const clg_text *text)
{
    clg_status s = append_expr(ox, out, NULL, in, n_in, ints, text, &out->node);
    if (!s) out->kind = OX_TENSOR;
    return s;
}

/* The formula (computed in float) as a helper node, then a Cast of it to
 * `to` computing out. */
static clg_status emit_cast_expr(ox_ctx *ox, ox_value *out, ox_value **in, int n_in, const clg_text *text,
                                 clg_dtype to)
{
    int f;
    clg_status s = append_expr(ox, NULL, out->name, in, n_in, true, text, &f);
    if (s) return s;
    if ((s = ox_append_cast(ox, out, NULL, f, to, &out->node))) return s;
    out->kind = OX_TENSOR;
    return CLG_OK;
}

/* An op defined on integers (Abs, Neg, Sign, Min, Max, Where's branches)
 * computes in float like every Elementwise; when its data inputs (from
 * in[data_from] on) include an integer graph tensor, the result is cast
 * back to that type, so integer readers (Gather's indices, integer Adds:
 * T5's relative position buckets) still see an integer tensor. Exact
 * within 2^24, as every integer the graph holds. */
static clg_status emit_int_expr(ox_ctx *ox, ox_value *out, ox_value **in, int n_in, int data_from,
                                const clg_text *text)
{
    clg_dtype type = CLG_DTYPE_F32;
    for (int i = data_from; i < n_in; i++)
        if (in[i] && in[i]->kind == OX_TENSOR && clg_dtype_is_int(ox->g->nodes[in[i]->node].dtype))
            type = ox->g->nodes[in[i]->node].dtype;
    if (type == CLG_DTYPE_F32) return emit_expr(ox, out, in, n_in, true, text);
    return emit_cast_expr(ox, out, in, n_in, text, type);
}

/* A comparison or logic op: its ONNX result is BOOL, held as the floats 0
 * and 1 like every bool. Where the result is a graph output declared BOOL,
 * a Cast to bool follows the formula, so the caller receives it as BOOL;
 * elsewhere its readers take the floats as they are. */
static clg_status emit_bool_expr(ox_ctx *ox, ox_value *out, ox_value **in, int n_in, const clg_text *text)
{
    if (!ox_wants_bool_output(ox, out->name)) return emit_expr(ox, out, in, n_in, true, text);
    return emit_cast_expr(ox, out, in, n_in, text, CLG_DTYPE_BOOL);
}

/* ---------------------------------------------------------------- one input, no attributes */

static const struct {
    const char *op;
    const char *expr;
    bool ints;    /* defined on integers (or bools) too */
    bool boolean; /* its result is BOOL */
} unary[] = {
    {"Abs", "abs(x0)", true, false},
    {"Acos", "acos(x0)", false, false},
    {"Acosh", "acosh(x0)", false, false},
    {"Asin", "asin(x0)", false, false},
    {"Asinh", "asinh(x0)", false, false},
    {"Atan", "atan(x0)", false, false},
    {"Atanh", "atanh(x0)", false, false},
    {"Ceil", "ceil(x0)", false, false},
    {"Cos", "cos(x0)", false, false},
    {"Cosh", "cosh(x0)", false, false},
    {"Erf", "erf(x0)", false, false},
    {"Exp", "exp(x0)", false, false},
    {"Floor", "floor(x0)", false, false},
    {"HardSwish", "hard_swish(x0)", false, false},
    {"IsNaN", "isnan(x0)", false, true},
    {"Log", "log(x0)", false, false},
    {"Mish", "mish(x0)", false, false},
    {"Neg", "-x0", true, false},
    {"Not", "not(x0)", true, true},
    {"Reciprocal", "1 / x0", false, false},
    {"Round", "round(x0)", false, false},
    {"Sign", "sign(x0)", true, false},
    {"Sin", "sin(x0)", false, false},
    {"Sinh", "sinh(x0)", false, false},
    {"Softplus", "softplus(x0)", false, false},
    {"Softsign", "softsign(x0)", false, false},
    {"Sqrt", "sqrt(x0)", false, false},
    {"Tan", "tan(x0)", false, false},
};

clg_status ox_conv_unary_expr(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                              int n_out)
{
    (void)n_in, (void)n_out;
    for (size_t k = 0; k < sizeof unary / sizeof unary[0]; k++) {
        if (strcmp(n->op_type, unary[k].op) != 0) continue;
        char buf[32];
        clg_text t = {buf, sizeof buf, 0};
        clg_text_printf(&t, "%s", unary[k].expr);
        if (unary[k].boolean) return emit_bool_expr(ox, out[0], in, 1, &t);
        if (unary[k].ints) return emit_int_expr(ox, out[0], in, 1, 0, &t);
        return emit_expr(ox, out[0], in, 1, false, &t);
    }
    return ox_fail(ox, CLG_ERR_UNSUPPORTED, "op %s has no formula", n->op_type);
}

/* IsInf: which infinities detect_negative and detect_positive ask for. */
clg_status ox_conv_isinf(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    int64_t neg, pos;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "detect_negative", 1, &neg)) || (s = ox_attr_int(ox, n, "detect_positive", 1, &pos)))
        return s;
    char buf[48];
    clg_text t = {buf, sizeof buf, 0};
    if (neg && pos) clg_text_printf(&t, "isinf(x0)");
    else if (neg) clg_text_printf(&t, "and(isinf(x0), lt(x0, 0))");
    else if (pos) clg_text_printf(&t, "and(isinf(x0), gt(x0, 0))");
    else clg_text_printf(&t, "and(0, x0)"); /* detects nothing: 0 everywhere, NaN and inf too */
    return emit_bool_expr(ox, out[0], in, 1, &t);
}

/* Hardmax: 1 where the first maximum along axis is, else 0, as
 * eq(ArgMax(x, axis, keepdims), [0, 1, ..., d-1] along axis). Opset 13's
 * one axis; before 13 Hardmax flattens the dims from axis on, which is the
 * same only when axis is the last dim. */
clg_status ox_conv_hardmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    (void)n_in, (void)n_out;
    int x;
    clg_status s;
    if ((s = ox_require_float(ox, in, 1)) || (s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    clg_attrs a;
    clg_attrs_default(CLG_OP_ARGMAX, &a);
    if ((s = ox_attr_int(ox, n, "axis", ox->opset >= 13 ? -1 : 1, &a.axis))) return s;
    int64_t axis = a.axis < 0 ? a.axis + xs.rank : a.axis;
    if (axis < 0 || axis >= xs.rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range for rank %d", (long long)a.axis,
                       xs.rank);
    if (ox->opset < 13 && axis != xs.rank - 1)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "axis %lld before opset 13 (Hardmax over the flattened dims from it) is supported only as "
                       "the last dim",
                       (long long)a.axis);
    int64_t d = xs.dims[axis];
    if (clg_dim_is_symbolic(d))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the dim along axis %lld is symbolic", (long long)axis);
    a.axis = axis;
    a.keepdims = 1;
    char hint[256];
    snprintf(hint, sizeof hint, "%s/argmax", out[0]->clg_name);
    ox_value arg, iota;
    memset(&arg, 0, sizeof arg);
    arg.name = out[0]->name;
    arg.kind = OX_TENSOR;
    if ((s = ox_append(ox, CLG_OP_ARGMAX, NULL, hint, &x, 1, &a, &arg.node))) return s;
    /* the positions along axis, 1 in every other dim */
    memset(&iota, 0, sizeof iota);
    iota.name = out[0]->name;
    iota.kind = OX_HOST;
    iota.node = -1;
    snprintf(hint, sizeof hint, "%s/positions", out[0]->clg_name);
    if (!(iota.clg_name = ox_unique_name(ox, hint))) return ox_oom(ox);
    int64_t dims[CLG_MAX_RANK];
    for (int k = 0; k < xs.rank; k++) dims[k] = k == axis ? d : 1;
    if ((s = ox_host_new(ox, OX_FLOAT, xs.rank, dims, &iota.host))) return s;
    for (int64_t k = 0; k < d; k++) iota.host.f->data[k] = (float)k;
    ox_value *args[2] = {&arg, &iota};
    char buf[16];
    clg_text t = {buf, sizeof buf, 0};
    clg_text_printf(&t, "eq(x0, x1)");
    s = emit_expr(ox, out[0], args, 2, false, &t);
    ox_host_free(ox->g, &iota.host);
    return s;
}

/* Shrink: x + bias below -lambd, x - bias above lambd, 0 between. */
clg_status ox_conv_shrink(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                          int n_out)
{
    (void)n_in, (void)n_out;
    float bias, lambd;
    clg_status s;
    if ((s = ox_require_float(ox, in, 1)) || (s = ox_attr_float(ox, n, "bias", 0.0f, &bias)) ||
        (s = ox_attr_float(ox, n, "lambd", 0.5f, &lambd)))
        return s;
    char buf[160];
    clg_text t = {buf, sizeof buf, 0};
    clg_text_printf(&t, "where(lt(x0, ");
    clg_expr_write_float(&t, -lambd);
    clg_text_printf(&t, "), x0 + ");
    clg_expr_write_float(&t, bias);
    clg_text_printf(&t, ", where(gt(x0, ");
    clg_expr_write_float(&t, lambd);
    clg_text_printf(&t, "), x0 - ");
    clg_expr_write_float(&t, bias);
    clg_text_printf(&t, ", 0))");
    return emit_expr(ox, out[0], in, 1, false, &t);
}

/* ---------------------------------------------------------------- activations with attributes */

/* name(x0, a1[, a2]) with the attributes' values. */
static void write_call(clg_text *t, const char *name, int n_args, const float *args)
{
    clg_text_printf(t, "%s(x0", name);
    for (int k = 0; k < n_args; k++) {
        clg_text_printf(t, ", ");
        clg_expr_write_float(t, args[k]);
    }
    clg_text_printf(t, ")");
}

clg_status ox_conv_activation(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                              int n_out)
{
    (void)n_in, (void)n_out;
    const char *op = n->op_type;
    float args[2];
    int n_args = 1;
    const char *fn;
    clg_status s;
    if (strcmp(op, "HardSigmoid") == 0) {
        fn = "hard_sigmoid";
        n_args = 2;
        if ((s = ox_attr_float(ox, n, "alpha", 0.2f, &args[0])) || (s = ox_attr_float(ox, n, "beta", 0.5f, &args[1])))
            return s;
    } else if (strcmp(op, "Elu") == 0) {
        fn = "elu";
        if ((s = ox_attr_float(ox, n, "alpha", 1.0f, &args[0]))) return s;
    } else if (strcmp(op, "Selu") == 0) {
        fn = "selu";
        n_args = 2;
        /* the defaults are ONNX's, the float nearest the exact constants */
        if ((s = ox_attr_float(ox, n, "alpha", 1.67326319217681884765625f, &args[0])) ||
            (s = ox_attr_float(ox, n, "gamma", 1.05070102214813232421875f, &args[1])))
            return s;
    } else if (strcmp(op, "Celu") == 0) {
        fn = "celu";
        if ((s = ox_attr_float(ox, n, "alpha", 1.0f, &args[0]))) return s;
        if (args[0] == 0.0f)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute alpha=0 is not supported (Celu divides by alpha)");
    } else if (strcmp(op, "ThresholdedRelu") == 0) {
        fn = "thresholded_relu";
        if ((s = ox_attr_float(ox, n, "alpha", 1.0f, &args[0]))) return s;
    } else {
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "op %s has no formula", op);
    }
    char buf[128];
    clg_text t = {buf, sizeof buf, 0};
    write_call(&t, fn, n_args, args);
    return emit_expr(ox, out[0], in, 1, false, &t);
}

/* PRelu: leaky_relu with the slope as a second input, which must broadcast
 * to X's shape without widening it (ONNX's unidirectional broadcasting). */
clg_status ox_conv_prelu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                         int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    int x;
    clg_status s = ox_tensor_node(ox, in[0], &x);
    if (s) return s;
    clg_shape xs = ox->g->nodes[x].shape;
    char buf[32];
    clg_text t = {buf, sizeof buf, 0};
    clg_text_printf(&t, "leaky_relu(x0, x1)");
    if ((s = emit_expr(ox, out[0], in, 2, false, &t))) return s;
    const clg_shape *ys = &ox->g->nodes[out[0]->node].shape;
    bool same = ys->rank == xs.rank;
    for (int k = 0; same && k < xs.rank; k++) same = ys->dims[k] == xs.dims[k];
    if (!same) {
        char a[160], b[160];
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the slope '%s' widens X %s to %s; it must broadcast to X's shape",
                       in[1]->name, clg_shape_str(ox->g, &xs, a, sizeof a), clg_shape_str(ox->g, ys, b, sizeof b));
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- two or more inputs */

static const struct {
    const char *op;
    const char *fn;
} binary[] = {
    {"And", "and"}, {"Equal", "eq"}, {"Greater", "gt"}, {"GreaterOrEqual", "ge"}, {"Less", "lt"},
    {"LessOrEqual", "le"}, {"Or", "or"}, {"Xor", "xor"},
};

/* The comparisons and the logic ops: numbers compared as floats (exact for
 * FLOAT, and for integers within 2^24), any nonzero being true. */
clg_status ox_conv_compare(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    (void)n_in, (void)n_out;
    for (size_t k = 0; k < sizeof binary / sizeof binary[0]; k++) {
        if (strcmp(n->op_type, binary[k].op) != 0) continue;
        char buf[32];
        clg_text t = {buf, sizeof buf, 0};
        clg_text_printf(&t, "%s(x0, x1)", binary[k].fn);
        return emit_bool_expr(ox, out[0], in, 2, &t);
    }
    return ox_fail(ox, CLG_ERR_UNSUPPORTED, "op %s has no formula", n->op_type);
}

clg_status ox_conv_where(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                         int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    char buf[32];
    clg_text t = {buf, sizeof buf, 0};
    clg_text_printf(&t, "where(x0, x1, x2)");
    return emit_int_expr(ox, out[0], in, 3, 1, &t);
}

/* Pow: X must be floating (an integer X gives an integer result, which a
 * float pow would not round the same way); the exponent may be an integer. */
clg_status ox_conv_pow(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                       int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    if (in[0]->kind == OX_HOST && !ox_dtype_is_float(in[0]->host.dtype))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Pow of the %s base '%s' is not supported (FLOAT bases only)",
                       ox_dtype_name(in[0]->host.dtype), in[0]->name);
    char buf[32];
    clg_text t = {buf, sizeof buf, 0};
    clg_text_printf(&t, "pow(x0, x1)");
    return emit_expr(ox, out[0], in, 2, true, &t);
}

/* Min, Max, Sum and Mean of 1 to 16 inputs with NumPy broadcasting: nested
 * min/max, a sum, and the sum divided by the count. */
clg_status ox_conv_variadic(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    const char *op = n->op_type;
    bool is_min = strcmp(op, "Min") == 0, is_max = strcmp(op, "Max") == 0, is_mean = strcmp(op, "Mean") == 0;
    if (n_in > CLG_EXPR_MAX_INPUTS)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%d inputs; at most %d are supported", n_in, CLG_EXPR_MAX_INPUTS);
    char buf[CLG_MAX_STRING_ATTR];
    clg_text t = {buf, sizeof buf, 0};
    if (is_min || is_max) {
        for (int i = 1; i < n_in; i++) clg_text_printf(&t, "%s(", is_min ? "min" : "max");
        clg_text_printf(&t, "x0");
        for (int i = 1; i < n_in; i++) clg_text_printf(&t, ", x%d)", i);
    } else {
        if (is_mean && n_in > 1) clg_text_printf(&t, "(");
        for (int i = 0; i < n_in; i++) clg_text_printf(&t, "%sx%d", i ? " + " : "", i);
        if (is_mean && n_in > 1) clg_text_printf(&t, ") / %d", n_in);
    }
    /* Sum and Mean are defined on floating types only. */
    if (is_min || is_max) return emit_int_expr(ox, out[0], in, n_in, 0, &t);
    return emit_expr(ox, out[0], in, n_in, false, &t);
}
