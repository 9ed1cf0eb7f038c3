/* Recognises LayerNorm written out as separate ops, as exporters older
 * than ONNX opset 17 write it, and replaces it by one LayerNorm node (one
 * kernel instead of eight launches and two extra passes over memory):
 *
 *   m = ReduceMean(x) over trailing axes, keepdims (or GlobalAveragePool)
 *   d = x - m                       (Sub; tf2onnx may write two of them)
 *   q = d * d | pow(d, 2) | x0 * x0 on d | pow(d, c) with c a constant 2
 *   v = ReduceMean(q) over the same axes, keepdims
 *   e = v + eps                     (eps a one-element constant, >= 0)
 *   s = sqrt(e)
 *   n = d / s | d * (1 / s)
 *   [n * gamma] [+ beta]            (constants that fit LayerNorm's scale
 *                                    and bias: the row's trailing dims)
 *
 * or, after s, TensorFlow's batch-normalisation arithmetic that Keras'
 * LayerNormalization uses and tf2onnx keeps (Rsqrt as Sqrt, Reciprocal):
 *
 *   r = 1 / s;  inv = r [* gamma];
 *   x * inv + (beta - m * inv | -(m * inv) | (-m) * inv [+ beta])
 *
 * The ops are recognised by their expression (the op table's, or an
 * Elementwise node's canonical text), so Sub and Elementwise "x0 - x1"
 * match alike, and so do the Sqrt/Pow/Reciprocal ops or expressions that
 * the importer may write for ONNX's. Legal only when every intermediate
 * value is used inside the pattern alone (not a graph output, not read by
 * another node): the means and variances are not computed any more. The
 * model's own epsilon is kept.
 *
 * Then a LayerNorm's residual Add (the sum read by the LayerNorm alone)
 * becomes its fourth input. The pass runs to a fixpoint, so a LayerNorm
 * recognised in one round takes its residual in the next. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "passes.h"

#define MAX_SUBS 2
#define MAX_PATTERN 24

typedef struct ln_match {
    int x, axis;
    float eps;
    int gamma, beta; /* -1 when absent */
    int out;         /* the node the LayerNorm replaces */
    int nodes[MAX_PATTERN], n_nodes;
} ln_match;

/* The canonical expression text of an elementwise node, "" for others. */
static void expr_text(const clg_node *n, char *buf, size_t size)
{
    buf[0] = '\0';
    if (n->op == CLG_OP_ELEMENTWISE) { /* stored canonical */
        const char *end = memchr(n->attrs.expr, '\0', sizeof n->attrs.expr);
        size_t len = end ? (size_t)(end - n->attrs.expr) : size;
        if (len < size) memcpy(buf, n->attrs.expr, len + 1);
        return;
    }
    const clg_op_info *info = clg_op_get(n->op);
    if (!info || !info->expr) return;
    clg_text t = {buf, size, 0};
    info->expr(&n->attrs, &t);
    if (t.len >= size) buf[0] = '\0';
}

static bool is_expr(const clg_node *n, int n_inputs, const char *text)
{
    char buf[64];
    if (n->dead || n->n_inputs != n_inputs) return false;
    expr_text(n, buf, sizeof buf);
    return strcmp(buf, text) == 0;
}

/* A constant of one element, its value in *v. */
static bool scalar_constant(const clg_graph *g, int i, float *v)
{
    if (!clg_pass_is_constant(g, i) || g->nodes[i].constant->count != 1) return false;
    *v = g->nodes[i].constant->data[0];
    return true;
}

/* ReduceMean with keepdims over the trailing axes [axis, rank): *axis.
 * GlobalAveragePool is one over the axes from 2 (tf2onnx writes it for a
 * mean over the last axis of a rank-3 tensor). */
static bool trailing_mean(const clg_graph *g, int i, int *axis)
{
    const clg_node *n = &g->nodes[i];
    if (!n->dead && n->op == CLG_OP_GLOBALAVERAGEPOOL) {
        *axis = 2;
        return true;
    }
    if (n->dead || n->op != CLG_OP_REDUCE_MEAN || !n->attrs.keepdims) return false;
    int rank = g->nodes[n->inputs[0]].shape.rank;
    bool mask[CLG_MAX_RANK] = {false};
    int count = n->attrs.axes_rank ? n->attrs.axes_rank : rank;
    for (int k = 0; k < rank; k++) mask[k] = n->attrs.axes_rank == 0;
    for (int k = 0; k < n->attrs.axes_rank; k++) {
        int64_t a = n->attrs.axes[k] < 0 ? n->attrs.axes[k] + rank : n->attrs.axes[k];
        if (a < 0 || a >= rank) return false;
        mask[a] = true;
    }
    for (int k = rank - count; k < rank; k++)
        if (!mask[k]) return false;
    *axis = rank - count;
    return true;
}

/* The first live node after `after` that reads `from` and satisfies ok. */
typedef bool (*node_test)(const clg_graph *g, int i, const void *ctx);

static int find_consumer(const clg_graph *g, int from, node_test ok, const void *ctx)
{
    for (int j = from + 1; j < g->n_nodes; j++) {
        const clg_node *n = &g->nodes[j];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) {
                if (ok(g, j, ctx)) return j;
                break;
            }
    }
    return -1;
}

typedef struct sub_set {
    int n, node[MAX_SUBS];
} sub_set;

static bool in_subs(const sub_set *d, int i)
{
    for (int k = 0; k < d->n; k++)
        if (d->node[k] == i) return true;
    return false;
}

/* The square of a deviation. */
static bool is_square(const clg_graph *g, int j, const void *ctx)
{
    const sub_set *d = ctx;
    const clg_node *n = &g->nodes[j];
    if (is_expr(n, 2, "x0 * x1")) return in_subs(d, n->inputs[0]) && in_subs(d, n->inputs[1]);
    if (is_expr(n, 1, "x0 * x0") || is_expr(n, 1, "pow(x0, 2)")) return in_subs(d, n->inputs[0]);
    float c;
    return is_expr(n, 2, "pow(x0, x1)") && in_subs(d, n->inputs[0]) && scalar_constant(g, n->inputs[1], &c) &&
           c == 2.0f;
}

static bool is_mean_of(const clg_graph *g, int j, const void *ctx)
{
    const int *want = ctx; /* {input, axis} */
    int axis;
    return g->nodes[j].inputs[0] == want[0] && trailing_mean(g, j, &axis) && axis == want[1];
}

/* v + eps with eps a non-negative one-element constant, either side. */
static bool is_add_eps(const clg_graph *g, int j, const void *ctx)
{
    (void)ctx;
    const clg_node *n = &g->nodes[j];
    float c;
    if (!is_expr(n, 2, "x0 + x1")) return false;
    return (scalar_constant(g, n->inputs[0], &c) || scalar_constant(g, n->inputs[1], &c)) && c >= 0.0f;
}

static bool is_sqrt(const clg_graph *g, int j, const void *ctx)
{
    (void)ctx;
    return is_expr(&g->nodes[j], 1, "sqrt(x0)");
}

/* 1 / s: Reciprocal's expression, or Div of a constant 1. */
static bool is_reciprocal(const clg_graph *g, int j, const void *ctx)
{
    (void)ctx;
    const clg_node *n = &g->nodes[j];
    float c;
    if (is_expr(n, 1, "1 / x0")) return true;
    return is_expr(n, 2, "x0 / x1") && scalar_constant(g, n->inputs[0], &c) && c == 1.0f;
}

/* d / s, or d * r either way round, for d one of the deviations. */
typedef struct scale_ctx {
    const sub_set *d;
    int by;
    bool divide;
} scale_ctx;

static bool is_normalise(const clg_graph *g, int j, const void *ctx)
{
    const scale_ctx *c = ctx;
    const clg_node *n = &g->nodes[j];
    if (c->divide) return is_expr(n, 2, "x0 / x1") && in_subs(c->d, n->inputs[0]) && n->inputs[1] == c->by;
    if (!is_expr(n, 2, "x0 * x1")) return false;
    return (in_subs(c->d, n->inputs[0]) && n->inputs[1] == c->by) ||
           (in_subs(c->d, n->inputs[1]) && n->inputs[0] == c->by);
}

/* A constant LayerNorm takes as scale or bias for rows from axis of x:
 * after leading 1s, its dims are the trailing dims of x (as
 * compiler/infer_reduce.c requires). */
static bool fits_row(const clg_graph *g, int p, const clg_shape *x, int axis)
{
    if (!clg_pass_is_constant(g, p)) return false;
    const clg_shape *s = &g->nodes[p].shape;
    int lead = 0;
    while (lead < s->rank && s->dims[lead] == 1) lead++;
    if (s->rank > x->rank || s->rank - lead > x->rank - axis) return false;
    for (int k = lead; k < s->rank; k++)
        if (s->dims[k] != x->dims[x->rank - s->rank + k]) return false;
    return true;
}

/* Node `from` times or plus a fitting constant: *param gets it. */
typedef struct affine_ctx {
    int from;
    const char *text;
    const clg_shape *x;
    int axis;
    int *param;
} affine_ctx;

static bool is_affine(const clg_graph *g, int j, const void *ctx)
{
    const affine_ctx *c = ctx;
    const clg_node *n = &g->nodes[j];
    if (!is_expr(n, 2, c->text)) return false;
    int other = n->inputs[0] == c->from ? n->inputs[1] : n->inputs[0];
    if (!fits_row(g, other, c->x, c->axis) || !clg_shape_equal(&n->shape, c->x)) return false;
    *c->param = other;
    return true;
}

static void add_node(ln_match *m, int i) { m->nodes[m->n_nodes++] = i; }

/* a * b, either way round; *other gets the factor that is not a. */
static bool is_product_with(const clg_graph *g, int j, int a, int *other)
{
    const clg_node *n = &g->nodes[j];
    if (!is_expr(n, 2, "x0 * x1") || (n->inputs[0] != a && n->inputs[1] != a)) return false;
    *other = n->inputs[0] == a ? n->inputs[1] : n->inputs[0];
    return true;
}

/* Every live node after `from` that reads it, up to max. */
static int consumers(const clg_graph *g, int from, int *out, int max)
{
    int n_out = 0;
    for (int j = from + 1; j < g->n_nodes && n_out < max; j++) {
        const clg_node *n = &g->nodes[j];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) {
                out[n_out++] = j;
                break;
            }
    }
    return n_out;
}

/* TensorFlow's tf.nn.batch_normalization as Keras' LayerNormalization
 * calls it (tf2onnx keeps its shape), from the reciprocal r of the
 * standard deviation on:
 *   inv = r [* gamma];  y = x * inv + (beta - mean * inv)
 * (without an offset, - mean * inv is a negation). */
static bool match_batchnorm_form(const clg_graph *g, int m0, int r, ln_match *m)
{
    const clg_shape *xs = &g->nodes[m->x].shape;
    add_node(m, r);
    int inv = r, cand[4], n_cand = consumers(g, r, cand, 4), other;
    for (int k = 0; k < n_cand && inv == r; k++)
        if (is_product_with(g, cand[k], r, &other) && other != m->x && other != m0 &&
            fits_row(g, other, xs, m->axis)) {
            inv = cand[k];
            m->gamma = other;
            add_node(m, inv);
        }
    /* x * inv, and mean * inv or (-mean) * inv (tf2onnx writes the
     * negation first) */
    int neg = -1;
    n_cand = consumers(g, m0, cand, 4);
    for (int k = 0; k < n_cand && neg < 0; k++)
        if (is_expr(&g->nodes[cand[k]], 1, "-x0")) neg = cand[k];
    int xi = -1, mi = -1;
    bool negated = false;
    n_cand = consumers(g, inv, cand, 4);
    for (int k = 0; k < n_cand; k++) {
        if (!is_product_with(g, cand[k], inv, &other)) continue;
        if (other == m->x && clg_shape_equal(&g->nodes[cand[k]].shape, xs)) {
            xi = cand[k];
        } else if (other == m0 || (neg >= 0 && other == neg)) {
            mi = cand[k];
            negated = other == neg;
        }
    }
    if (xi < 0 || mi < 0) return false;
    add_node(m, xi);
    add_node(m, mi);
    if (negated) add_node(m, neg);
    /* the shift: beta - mean * inv or -(mean * inv); (-mean) * inv + beta
     * or (-mean) * inv alone */
    int shift = negated ? mi : -1;
    n_cand = consumers(g, mi, cand, 4);
    for (int k = 0; k < n_cand; k++) {
        const clg_node *n = &g->nodes[cand[k]];
        int other_in = n->n_inputs == 2 ? (n->inputs[0] == mi ? n->inputs[1] : n->inputs[0]) : -1;
        if (!negated && is_expr(n, 2, "x0 - x1") && n->inputs[1] == mi && fits_row(g, n->inputs[0], xs, m->axis)) {
            shift = cand[k];
            m->beta = n->inputs[0];
            break;
        }
        if (!negated && is_expr(n, 1, "-x0")) {
            shift = cand[k];
            break;
        }
        if (negated && is_expr(n, 2, "x0 + x1") && other_in != xi && fits_row(g, other_in, xs, m->axis)) {
            shift = cand[k];
            m->beta = other_in;
            break;
        }
    }
    if (shift < 0) return false;
    if (shift != mi) add_node(m, shift);
    n_cand = consumers(g, shift, cand, 4);
    for (int k = 0; k < n_cand; k++) {
        const clg_node *n = &g->nodes[cand[k]];
        if (is_expr(n, 2, "x0 + x1") && ((n->inputs[0] == xi && n->inputs[1] == shift) ||
                                          (n->inputs[0] == shift && n->inputs[1] == xi)) &&
            clg_shape_equal(&n->shape, xs)) {
            add_node(m, cand[k]);
            m->out = cand[k];
            return true;
        }
    }
    return false;
}

/* Matches the pattern that starts at the ReduceMean m0. */
static bool match(const clg_graph *g, int m0, ln_match *m)
{
    memset(m, 0, sizeof *m);
    m->gamma = m->beta = -1;
    if (!trailing_mean(g, m0, &m->axis)) return false;
    m->x = g->nodes[m0].inputs[0];
    const clg_shape *xs = &g->nodes[m->x].shape;
    add_node(m, m0);
    /* The deviations: every Sub(x, m0). */
    sub_set d = {0, {0}};
    for (int j = m0 + 1; j < g->n_nodes && d.n < MAX_SUBS; j++) {
        const clg_node *n = &g->nodes[j];
        if (is_expr(n, 2, "x0 - x1") && n->inputs[0] == m->x && n->inputs[1] == m0 &&
            clg_shape_equal(&n->shape, xs)) {
            d.node[d.n++] = j;
            add_node(m, j);
        }
    }
    if (d.n == 0) return false;
    int sq = -1;
    for (int k = 0; k < d.n && sq < 0; k++) sq = find_consumer(g, d.node[k], is_square, &d);
    if (sq < 0) return false;
    add_node(m, sq);
    int want[2] = {sq, m->axis};
    int var = find_consumer(g, sq, is_mean_of, want);
    if (var < 0) return false;
    add_node(m, var);
    int e = find_consumer(g, var, is_add_eps, NULL);
    if (e < 0) return false;
    add_node(m, e);
    const clg_node *en = &g->nodes[e];
    (void)scalar_constant(g, en->inputs[en->inputs[0] == var ? 1 : 0], &m->eps);
    int s = find_consumer(g, e, is_sqrt, NULL);
    if (s < 0) return false;
    add_node(m, s);
    int r = find_consumer(g, s, is_reciprocal, NULL);
    scale_ctx sc = {&d, s, true};
    int out = find_consumer(g, s, is_normalise, &sc);
    if (out < 0 && r >= 0) {
        sc = (scale_ctx){&d, r, false};
        out = find_consumer(g, r, is_normalise, &sc);
        if (out >= 0) add_node(m, r);
    }
    if (out < 0) return r >= 0 && match_batchnorm_form(g, m0, r, m);
    add_node(m, out);
    /* The optional scale and bias. */
    affine_ctx ac = {out, "x0 * x1", xs, m->axis, &m->gamma};
    int next = find_consumer(g, out, is_affine, &ac);
    if (next >= 0) {
        add_node(m, next);
        out = next;
    }
    ac = (affine_ctx){out, "x0 + x1", xs, m->axis, &m->beta};
    if ((next = find_consumer(g, out, is_affine, &ac)) >= 0) {
        add_node(m, next);
        out = next;
    }
    m->out = out;
    return true;
}

/* Every node of the match but the last is used only by nodes of the match
 * (uses counts graph outputs too), and none was involved in a rewrite of
 * this sweep. */
static bool legal(const clg_sweep *sw, const ln_match *m)
{
    const clg_graph *g = sw->g;
    for (int a = 0; a < m->n_nodes; a++) {
        int i = m->nodes[a];
        if (!clg_sweep_fresh(sw, i)) return false;
        if (i == m->out) continue;
        int inside = 0;
        for (int b = 0; b < m->n_nodes; b++) {
            const clg_node *n = &g->nodes[m->nodes[b]];
            for (int k = 0; k < n->n_inputs; k++) inside += n->inputs[k] == i;
        }
        if (inside != sw->uses[i]) return false;
    }
    return true;
}

static clg_status rewrite(clg_graph *g, clg_sweep *sw, const ln_match *m, bool *changed)
{
    clg_status st = CLG_OK;
    /* An integer gamma or beta (Mul and Add take any numeric type) is no
     * LayerNorm input: the pattern stays. */
    for (int k = 0; k < 2; k++) {
        int p = k ? m->beta : m->gamma;
        if (p >= 0 && !clg_dtype_is_float(g->nodes[p].dtype)) return CLG_OK;
    }
    char hint[256];
    snprintf(hint, sizeof hint, "%s", g->nodes[m->out].name);
    int gamma = m->gamma;
    if (gamma < 0) {
        char ghint[300];
        snprintf(ghint, sizeof ghint, "%s/scale", hint);
        static const float one = 1.0f;
        clg_shape s = {1, {1}};
        if ((gamma = clg_edit_constant(g, ghint, &s, &one, &st)) < 0) return st;
    }
    clg_attrs a;
    clg_attrs_default(CLG_OP_LAYER_NORM, &a);
    a.axis = m->axis - g->nodes[m->x].shape.rank; /* counted from the back, as exporters write it */
    a.epsilon = m->eps;
    int in[3] = {m->x, gamma, m->beta};
    int ln = clg_edit_append(g, CLG_OP_LAYER_NORM, hint, in, m->beta >= 0 ? 3 : 2, &a, NULL, NULL, &st);
    if (ln < 0) return st;
    clg_pass_replace(g, m->out, ln);
    for (int k = 0; k < m->n_nodes; k++) {
        g->nodes[m->nodes[k]].dead = true;
        clg_sweep_touch(sw, m->nodes[k]);
    }
    clg_sweep_touch(sw, m->x);
    *changed = true;
    return CLG_OK;
}

/* A LayerNorm of a + b, the Add read by nothing else (a post-norm
 * transformer's residual connection), becomes LayerNorm(a, scale, bias, b):
 * the sum is never written. A residual needs a bias before it, a zero one
 * when there is none. */
static clg_status fuse_residual(clg_graph *g, clg_sweep *sw, int i, bool *changed)
{
    const clg_node *ln = &g->nodes[i];
    if (ln->n_inputs > 3) return CLG_OK;
    int add = ln->inputs[0];
    const clg_node *an = &g->nodes[add];
    if (!is_expr(an, 2, "x0 + x1") || clg_sweep_sole_consumer(sw, add) != i) return CLG_OK;
    const clg_shape *xs = &an->shape;
    if (!clg_shape_equal(&g->nodes[an->inputs[0]].shape, xs) || !clg_shape_equal(&g->nodes[an->inputs[1]].shape, xs))
        return CLG_OK;
    clg_status st = CLG_OK;
    char hint[256];
    snprintf(hint, sizeof hint, "%s", ln->name);
    int bias = ln->n_inputs > 2 ? ln->inputs[2] : -1;
    if (bias < 0) {
        char bhint[300];
        snprintf(bhint, sizeof bhint, "%s/bias", hint);
        static const float zero = 0.0f;
        clg_shape s = {1, {1}};
        if ((bias = clg_edit_constant(g, bhint, &s, &zero, &st)) < 0) return st;
    }
    ln = &g->nodes[i];
    an = &g->nodes[add];
    clg_attrs a = ln->attrs;
    int in[4] = {an->inputs[0], ln->inputs[1], bias, an->inputs[1]};
    if (!clg_pass_types_fit(g, CLG_OP_LAYER_NORM, &a, in, 4, ln->dtype)) return CLG_OK; /* an integer summand */
    int fused = clg_edit_append(g, CLG_OP_LAYER_NORM, hint, in, 4, &a, NULL, NULL, &st);
    if (fused < 0) return st;
    clg_pass_replace(g, i, fused);
    g->nodes[add].dead = true;
    clg_sweep_touch(sw, i);
    clg_sweep_touch(sw, add);
    *changed = true;
    return CLG_OK;
}

clg_status clg_pass_fuse_layernorm(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    for (int i = 0; i < sw.n0 && !st; i++) {
        clg_op op = g->nodes[i].op;
        if (!clg_sweep_fresh(&sw, i) || (op != CLG_OP_REDUCE_MEAN && op != CLG_OP_GLOBALAVERAGEPOOL)) continue;
        ln_match m;
        if (!match(g, i, &m) || !legal(&sw, &m)) continue;
        st = rewrite(g, &sw, &m, changed);
    }
    for (int i = 0; i < sw.n0 && !st; i++)
        if (clg_sweep_fresh(&sw, i) && g->nodes[i].op == CLG_OP_LAYER_NORM) st = fuse_residual(g, &sw, i, changed);
    clg_sweep_end(&sw);
    return st;
}
