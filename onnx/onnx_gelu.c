/* GELU as PyTorch 1.13 exports nn.GELU() at opsets below 20, which have no
 * Gelu op:
 *
 *     d = Div(x, 1.4142135)      or Mul(x, 0.70710677)
 *     e = Erf(d)
 *     a = Add(e, 1.0)            (either order)
 *     y = Mul(Mul(x, a), 0.5)    or Mul(Mul(x, 0.5), a), any operand order
 *
 * is matched before import and becomes one Gelu(x) (approximate=0, the same
 * 0.5*x*(1+erf(x/sqrt(2)))). Each inner value must have exactly one use and
 * not be a graph output, so nothing else can see what is skipped; any other
 * Erf stays an unsupported op. */
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

/* Tries the pattern around Erf node e; on a match marks it. */
static clg_status match_at(ox_ctx *ox, int e)
{
    const Onnx__GraphProto *gr = ox->graph;
    const float sqrt2 = 1.41421356f, half = 0.5f, one = 1.0f;
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

    /* a = erf + 1 */
    int ev = value_of(ox, gr->node[e]->output[0]);
    int na = single_consumer(ox, ev);
    if (na < 0 || !is_op(gr->node[na], "Add", 2)) return CLG_OK;
    if ((s = scalar_is(ox, other_input(ox, gr->node[na], ev), one, &yes)) || !yes) return s;

    /* y = (x * a) * 0.5, or (x * 0.5) * a */
    int av = value_of(ox, gr->node[na]->output[0]);
    int nm = single_consumer(ox, av);
    if (nm < 0 || !is_op(gr->node[nm], "Mul", 2)) return CLG_OK;
    int other = other_input(ox, gr->node[nm], av);
    int inner, final;
    if (other == x) {
        int mv = value_of(ox, gr->node[nm]->output[0]);
        int n2 = single_consumer(ox, mv);
        if (n2 < 0 || !is_op(gr->node[n2], "Mul", 2)) return CLG_OK;
        if ((s = scalar_is(ox, other_input(ox, gr->node[n2], mv), half, &yes)) || !yes) return s;
        inner = nm;
        final = n2;
    } else {
        if (other < 0 || ox->values[other].uses != 1 || ox->values[other].producer < 0) return CLG_OK;
        int nh = ox->values[other].producer;
        if (!is_op(gr->node[nh], "Mul", 2)) return CLG_OK;
        int c = other_input(ox, gr->node[nh], x);
        if (c < 0 || c == x) return CLG_OK;
        if ((s = scalar_is(ox, c, half, &yes)) || !yes) return s;
        inner = nh;
        final = nm;
    }
    int parts[4] = {nd, e, na, inner};
    for (int k = 0; k < 4; k++)
        if (ox->skip[parts[k]] || ox->gelu_input[parts[k]] >= 0) return CLG_OK;
    if (ox->skip[final] || ox->gelu_input[final] >= 0) return CLG_OK;
    for (int k = 0; k < 4; k++) ox->skip[parts[k]] = true;
    ox->gelu_input[final] = x;
    return CLG_OK;
}

clg_status ox_match_gelu(ox_ctx *ox, const int *order, int n_order)
{
    for (int i = 0; i < n_order; i++) {
        const Onnx__NodeProto *n = ox->graph->node[order[i]];
        if (!is_op(n, "Erf", 1)) continue;
        clg_status s = match_at(ox, order[i]);
        if (s) return s;
    }
    return CLG_OK;
}
