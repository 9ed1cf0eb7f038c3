/* GELU as PyTorch 1.13 exports nn.GELU() at opsets below 20, which have no
 * Gelu op (the tanh approximation: match_tanh_at below):
 *
 *     d = Div(x, 1.4142135)      or Mul(x, 0.70710677)
 *     e = Erf(d)
 *     a = Add(e, 1.0)            (either order)
 *     y = Mul(Mul(x, a), 0.5)    or Mul(Mul(x, 0.5), a), any operand order
 *
 * is matched before import and becomes one Gelu(x) (approximate=0, the same
 * 0.5*x*(1+erf(x/sqrt(2)))). Each inner value must have exactly one use and
 * not be a graph output, so nothing else can see what is skipped; anything
 * else imports op by op (Erf as an Elementwise erf). */
#include <math.h>
#include <string.h>

#include "onnx_internal.h"

static bool is_op(const Onnx__NodeProto *n, const char *op, size_t n_in)
{
    return n->op_type && strcmp(n->op_type, op) == 0 && (!n->domain || !*n->domain) && n->n_input == n_in &&
           n->n_output == 1 && *n->output[0];
}

static int value_of(const ox_ctx *ox, const char *name) { return *name ? ox_find_value(ox, name) : -1; }

/* Whether value v is a one-element FLOAT constant equal to want (relative
 * 1e-6): an initializer, or the output of a Constant node. */
static clg_status scalar_is(ox_ctx *ox, int v, float want, bool *yes)
{
    *yes = false;
    if (v < 0) return CLG_OK;
    const ox_value *val = &ox->values[v];
    float got;
    if (val->kind == OX_HOST) {
        if (val->host.dtype != OX_FLOAT || val->host.count != 1) return CLG_OK;
        got = val->host.f->data[0];
    } else {
        if (val->producer < 0 || !is_op(ox->graph->node[val->producer], "Constant", 0)) return CLG_OK;
        ox_host h;
        char saved[sizeof ox->g->errmsg];
        memcpy(saved, ox->g->errmsg, sizeof saved);
        clg_status s = ox_constant_value(ox, ox->graph->node[val->producer], &h);
        if (s == CLG_ERR_OUT_OF_MEMORY) return s;
        /* A malformed Constant is reported when it is imported, not here. */
        memcpy(ox->g->errmsg, saved, sizeof saved);
        if (s) return CLG_OK;
        bool ok = h.dtype == OX_FLOAT && h.count == 1;
        got = ok ? h.f->data[0] : 0.0f;
        ox_host_free(ox->g, &h);
        if (!ok) return CLG_OK;
    }
    *yes = fabsf(got - want) <= 1e-6f * fabsf(want);
    return CLG_OK;
}

/* The one node using value v, when v has exactly one use and it is a node's. */
static int single_consumer(const ox_ctx *ox, int v)
{
    if (v < 0 || ox->values[v].uses != 1) return -1;
    const char *name = ox->values[v].name;
    for (size_t k = 0; k < ox->graph->n_node; k++) {
        const Onnx__NodeProto *n = ox->graph->node[k];
        for (size_t i = 0; i < n->n_input; i++)
            if (strcmp(n->input[i], name) == 0) return (int)k;
    }
    return -1; /* used only as a graph output */
}

/* The input of binary node n that is not value v (-1 if v is not an input). */
static int other_input(const ox_ctx *ox, const Onnx__NodeProto *n, int v)
{
    int a = value_of(ox, n->input[0]), b = value_of(ox, n->input[1]);
    if (a == v) return b;
    if (b == v) return a;
    return -1;
}

/* The part both forms share, after the node na computing a = 1 + erf(..)
 * or 1 + tanh(..): y = (x * a) * 0.5 or (x * 0.5) * a, any operand order.
 * On a match *inner is the first Mul and *final the one computing y. */
static clg_status match_half_x_times(ox_ctx *ox, int na, int x, int *inner, int *final)
{
    const Onnx__GraphProto *gr = ox->graph;
    bool yes;
    clg_status s;
    *final = -1;
    int av = value_of(ox, gr->node[na]->output[0]);
    int nm = single_consumer(ox, av);
    if (nm < 0 || !is_op(gr->node[nm], "Mul", 2)) return CLG_OK;
    int other = other_input(ox, gr->node[nm], av);
    if (other == x) {
        int mv = value_of(ox, gr->node[nm]->output[0]);
        int n2 = single_consumer(ox, mv);
        if (n2 < 0 || !is_op(gr->node[n2], "Mul", 2)) return CLG_OK;
        if ((s = scalar_is(ox, other_input(ox, gr->node[n2], mv), 0.5f, &yes)) || !yes) return s;
        *inner = nm;
        *final = n2;
        return CLG_OK;
    }
    if (other < 0 || ox->values[other].uses != 1 || ox->values[other].producer < 0) return CLG_OK;
    int nh = ox->values[other].producer;
    if (!is_op(gr->node[nh], "Mul", 2)) return CLG_OK;
    int c = other_input(ox, gr->node[nh], x);
    if (c < 0 || c == x) return CLG_OK;
    if ((s = scalar_is(ox, c, 0.5f, &yes)) || !yes) return s;
    *inner = nh;
    *final = nm;
    return CLG_OK;
}

/* a = t + 1 (either order) where t is the output of node nt: the Add node
 * using t, or -1. */
static clg_status match_plus_one(ox_ctx *ox, int nt, int *na)
{
    const Onnx__GraphProto *gr = ox->graph;
    bool yes;
    *na = -1;
    int tv = value_of(ox, gr->node[nt]->output[0]);
    int n = single_consumer(ox, tv);
    if (n < 0 || !is_op(gr->node[n], "Add", 2)) return CLG_OK;
    clg_status s = scalar_is(ox, other_input(ox, gr->node[n], tv), 1.0f, &yes);
    if (!s && yes) *na = n;
    return s;
}

/* Marks the nodes parts[0..n_parts-1] as skipped and final as a Gelu of x,
 * unless one of them is already part of another match. */
static void mark(ox_ctx *ox, const int *parts, int n_parts, int final, int x, bool tanh_form)
{
    for (int k = 0; k < n_parts; k++)
        if (ox->skip[parts[k]] || ox->gelu_input[parts[k]] >= 0) return;
    if (ox->skip[final] || ox->gelu_input[final] >= 0) return;
    for (int k = 0; k < n_parts; k++) ox->skip[parts[k]] = true;
    ox->gelu_input[final] = x;
    ox->gelu_tanh[final] = tanh_form;
}

/* The producer of value v when v has exactly one use and is computed by a
 * node of op (with n_in inputs); else -1. */
static int only_use_producer(const ox_ctx *ox, int v, const char *op, size_t n_in)
{
    if (v < 0 || ox->values[v].uses != 1 || ox->values[v].producer < 0) return -1;
    int p = ox->values[v].producer;
    return is_op(ox->graph->node[p], op, n_in) ? p : -1;
}

/* Tries the exact pattern around Erf node e; on a match marks it. */
static clg_status match_at(ox_ctx *ox, int e)
{
    const Onnx__GraphProto *gr = ox->graph;
    const float sqrt2 = 1.41421356f;
    bool yes;
    clg_status s;

    /* d = x / sqrt(2) or x * (1 / sqrt(2)) */
    int d = value_of(ox, gr->node[e]->input[0]);
    if (d < 0 || ox->values[d].uses != 1 || ox->values[d].producer < 0) return CLG_OK;
    int nd = ox->values[d].producer;
    const Onnx__NodeProto *D = gr->node[nd];
    int x = -1;
    if (is_op(D, "Div", 2)) {
        if ((s = scalar_is(ox, value_of(ox, D->input[1]), sqrt2, &yes))) return s;
        if (yes) x = value_of(ox, D->input[0]);
    } else if (is_op(D, "Mul", 2)) {
        for (int side = 0; side < 2 && x < 0; side++) {
            if ((s = scalar_is(ox, value_of(ox, D->input[side]), 1.0f / sqrt2, &yes))) return s;
            if (yes) x = value_of(ox, D->input[1 - side]);
        }
    }
    if (x < 0) return CLG_OK;

    int na, inner, final;
    if ((s = match_plus_one(ox, e, &na)) || na < 0) return s;
    if ((s = match_half_x_times(ox, na, x, &inner, &final)) || final < 0) return s;
    int parts[4] = {nd, e, na, inner};
    mark(ox, parts, 4, final, x, false);
    return CLG_OK;
}

/* Whether value c is x cubed: Pow(x, 3.0), Mul(x, Mul(x, x)) or
 * Mul(Mul(x, x), x). The nodes computing it go to parts. */
static clg_status is_cube(ox_ctx *ox, int c, int x, int *parts, int *n_parts, bool *yes)
{
    const Onnx__GraphProto *gr = ox->graph;
    *yes = false;
    int np = only_use_producer(ox, c, "Pow", 2);
    if (np >= 0) {
        if (value_of(ox, gr->node[np]->input[0]) != x) return CLG_OK;
        clg_status s = scalar_is(ox, value_of(ox, gr->node[np]->input[1]), 3.0f, yes);
        if (!s && *yes) parts[(*n_parts)++] = np;
        return s;
    }
    int nm = only_use_producer(ox, c, "Mul", 2);
    if (nm < 0) return CLG_OK;
    int sq = other_input(ox, gr->node[nm], x);
    int ns = only_use_producer(ox, sq, "Mul", 2);
    if (ns < 0 || value_of(ox, gr->node[ns]->input[0]) != x || value_of(ox, gr->node[ns]->input[1]) != x)
        return CLG_OK;
    parts[(*n_parts)++] = nm;
    parts[(*n_parts)++] = ns;
    *yes = true;
    return CLG_OK;
}

/* Tries the tanh pattern around Tanh node t:
 *
 *     c = Pow(x, 3)                or Mul(x, Mul(x, x)), either order
 *     v = Add(x, Mul(0.044715, c)) any operand order
 *     t = Tanh(Mul(0.7978846, v))  sqrt(2/pi), either order
 *     y = 0.5 * x * (1 + t)        as the exact form's tail
 *
 * as PyTorch exports nn.GELU(approximate='tanh') and tf2onnx Keras'
 * gelu(approximate=True). */
static clg_status match_tanh_at(ox_ctx *ox, int t)
{
    const Onnx__GraphProto *gr = ox->graph;
    const float beta = 0.7978845608f, kappa = 0.044715f;
    bool yes;
    clg_status s;
    int parts[9], n_parts = 0;

    int nu = only_use_producer(ox, value_of(ox, gr->node[t]->input[0]), "Mul", 2);
    if (nu < 0) return CLG_OK;
    int v = -1;
    for (int side = 0; side < 2 && v < 0; side++) {
        if ((s = scalar_is(ox, value_of(ox, gr->node[nu]->input[side]), beta, &yes))) return s;
        if (yes) v = value_of(ox, gr->node[nu]->input[1 - side]);
    }
    int nv = only_use_producer(ox, v, "Add", 2);
    if (nv < 0) return CLG_OK;
    int x = -1;
    for (int side = 0; side < 2 && x < 0; side++) {
        int cand = value_of(ox, gr->node[nv]->input[side]);
        int nw = only_use_producer(ox, value_of(ox, gr->node[nv]->input[1 - side]), "Mul", 2);
        if (cand < 0 || nw < 0) continue;
        for (int k = 0; k < 2 && x < 0; k++) {
            if ((s = scalar_is(ox, value_of(ox, gr->node[nw]->input[k]), kappa, &yes))) return s;
            if (!yes) continue;
            n_parts = 0;
            if ((s = is_cube(ox, value_of(ox, gr->node[nw]->input[1 - k]), cand, parts, &n_parts, &yes))) return s;
            if (!yes) continue;
            parts[n_parts++] = nw;
            x = cand;
        }
    }
    if (x < 0) return CLG_OK;

    int na, inner, final;
    if ((s = match_plus_one(ox, t, &na)) || na < 0) return s;
    if ((s = match_half_x_times(ox, na, x, &inner, &final)) || final < 0) return s;
    parts[n_parts++] = nv;
    parts[n_parts++] = nu;
    parts[n_parts++] = t;
    parts[n_parts++] = na;
    parts[n_parts++] = inner;
    mark(ox, parts, n_parts, final, x, true);
    return CLG_OK;
}

clg_status ox_match_gelu(ox_ctx *ox, const int *order, int n_order)
{
    for (int i = 0; i < n_order; i++) {
        const Onnx__NodeProto *n = ox->graph->node[order[i]];
        clg_status s = CLG_OK;
        if (is_op(n, "Erf", 1)) s = match_at(ox, order[i]);
        else if (is_op(n, "Tanh", 1)) s = match_tanh_at(ox, order[i]);
        if (s) return s;
    }
    return CLG_OK;
}
