/* fuse-attention: scaled dot-product attention as PyTorch exports it,
 *
 *   Qs = Div(Q, c) or Mul(Q, c)          (optional; or on KT, or on the scores)
 *   scores = MatMul(Qs, KT)              KT = K transposed, [..., D, Sk]
 *   scores' = Add(scores, mask)          (optional, either operand order)
 *   P = Softmax(scores') axis=-1
 *   O = MatMul(P, V)
 *
 * becomes O = Attention(Q, KT, V [, mask]) scale=s, one kernel that never
 * writes the Sq x Sk scores (kernels/attention.cl). KT is taken as it is:
 * the Transpose that makes it stays (PyTorch's K is [Sk, B, D], so it moves
 * data anyway), and the kernel's reads of KT along Sk are the coalesced
 * ones.
 *
 * Legality, each checked: every intermediate (the scores, the scaled and
 * the masked scores, P) has the next node as its only use and is not a
 * graph output; a scale is a constant of one element, finite and (for
 * Div) non-zero, dividing (Div) only as the divisor, else it is no scale:
 * on Q or KT the node stays and feeds the Attention (as it does when it
 * has other uses), on the scores nothing fuses; the scaled value
 * keeps its operand's shape; the Softmax is over the last axis; neither
 * MatMul carries an epilogue; Q, KT and V have rank 2 or more (no MatMul
 * vectors); the mask has rank 2 or more and does not widen the scores;
 * D and Dv are known sizes no larger than CLG_ATTENTION_MAX_DIM (the device
 * kernel's limit; larger heads keep the unfused launches); and the
 * Attention node's inferred shape and type equal O's (its inputs pass
 * Attention's type rules). The scale moves from Q or KT
 * to the scores, which changes the rounding (not the value) by an ulp or
 * so. */
#include <math.h>

#include "passes.h"

/* The value of node i when it is a constant of one element. */
static bool scalar_constant(const clg_graph *g, int i, double *v)
{
    const clg_node *n = &g->nodes[i];
    if (!clg_pass_is_constant(g, i) || !n->constant || n->constant->count != 1) return false;
    *v = n->constant->data[0];
    return isfinite(*v);
}

/* When node i is Mul(x, c), Mul(c, x) or Div(x, c) with c a one-element
 * constant and the result of x's shape: x, with the factor multiplied into
 * *scale; else i itself. *scaled says whether it was. */
static int strip_scale(const clg_graph *g, int i, double *scale, bool *scaled)
{
    const clg_node *n = &g->nodes[i];
    *scaled = false;
    if (n->op != CLG_OP_MUL && n->op != CLG_OP_DIV) return i;
    double c;
    int x = -1;
    if (scalar_constant(g, n->inputs[1], &c)) x = n->inputs[0];
    else if (n->op == CLG_OP_MUL && scalar_constant(g, n->inputs[0], &c)) x = n->inputs[1];
    if (x < 0 || !clg_shape_equal(&g->nodes[x].shape, &n->shape)) return i;
    if (n->op == CLG_OP_DIV) {
        if (c == 0.0) return i;
        c = 1.0 / c;
    }
    *scale *= c;
    *scaled = true;
    return x;
}

/* A known size a kernel can keep in private memory. */
static bool head_size_ok(int64_t d) { return d >= 1 && d <= CLG_ATTENTION_MAX_DIM; }

/* The nodes a match removes, the output MatMul aside. */
#define MAX_CHAIN 6

typedef struct match {
    int q, kt, v, mask; /* mask -1: none */
    double scale;
    int dead[MAX_CHAIN];
    int n_dead;
} match;

/* Whether node i (live, sole use `user`, fresh) may be folded away. */
static bool sole_use(const clg_sweep *sw, int i, int user)
{
    return clg_sweep_fresh(sw, i) && clg_sweep_sole_consumer(sw, i) == user;
}

/* The pattern ending at MatMul o (P · V), or false. */
static bool match_at(const clg_sweep *sw, int o, match *m)
{
    const clg_graph *g = sw->g;
    const clg_node *on = &g->nodes[o];
    if (on->op != CLG_OP_MATMUL || clg_node_has_epilogue(on) || on->n_inputs != 2 || !clg_sweep_fresh(sw, o))
        return false;
    m->n_dead = 0;
    m->scale = 1.0;
    m->mask = -1;
    m->v = on->inputs[1];
    int p = on->inputs[0];
    const clg_node *pn = &g->nodes[p];
    if (pn->op != CLG_OP_SOFTMAX || !sole_use(sw, p, o)) return false;
    if (pn->attrs.axis != -1 && pn->attrs.axis != pn->shape.rank - 1) return false;
    m->dead[m->n_dead++] = p;
    int s = pn->inputs[0];
    if (!sole_use(sw, s, p)) return false;
    if (g->nodes[s].op == CLG_OP_ADD) {
        const clg_node *an = &g->nodes[s];
        /* The operand that is the scores' MatMul (maybe scaled) is the
         * scores; the other the mask. */
        int side = -1;
        for (int k = 0; k < 2 && side < 0; k++) {
            double unused = 1.0;
            bool scaled;
            int x = strip_scale(g, an->inputs[k], &unused, &scaled);
            if (g->nodes[x].op == CLG_OP_MATMUL) side = k;
        }
        if (side < 0) return false;
        m->mask = an->inputs[1 - side];
        if (g->nodes[m->mask].shape.rank < 2 || !clg_shape_equal(&an->shape, &g->nodes[an->inputs[side]].shape))
            return false;
        m->dead[m->n_dead++] = s;
        int next = an->inputs[side];
        if (!sole_use(sw, next, s)) return false;
        s = next;
    }
    bool scaled;
    int mm = strip_scale(g, s, &m->scale, &scaled);
    if (scaled) {
        m->dead[m->n_dead++] = s;
        if (!sole_use(sw, mm, s)) return false;
    }
    const clg_node *mn = &g->nodes[mm];
    if (mn->op != CLG_OP_MATMUL || clg_node_has_epilogue(mn) || mn->n_inputs != 2) return false;
    m->dead[m->n_dead++] = mm;
    /* A scaled Q or KT with other uses stays, as the node's input. */
    for (int k = 0; k < 2; k++) {
        int x = mn->inputs[k], y = x;
        if (sole_use(sw, x, mm)) {
            y = strip_scale(g, x, &m->scale, &scaled);
            if (scaled) m->dead[m->n_dead++] = x;
        }
        if (k == 0) m->q = y;
        else m->kt = y;
    }
    const clg_shape *qs = &g->nodes[m->q].shape, *ks = &g->nodes[m->kt].shape, *vs = &g->nodes[m->v].shape;
    if (qs->rank < 2 || ks->rank < 2 || vs->rank < 2) return false;
    if (!head_size_ok(qs->dims[qs->rank - 1]) || !head_size_ok(vs->dims[vs->rank - 1])) return false;
    return isfinite((float)m->scale);
}

clg_status clg_pass_fuse_attention(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    for (int o = 0; o < sw.n0 && !st; o++) {
        match m;
        if (!match_at(&sw, o, &m)) continue;
        clg_attrs attrs;
        clg_attrs_default(CLG_OP_ATTENTION, &attrs);
        attrs.scale = (float)m.scale;
        int ins[4] = {m.q, m.kt, m.v, m.mask};
        int n_in = m.mask >= 0 ? 4 : 3;
        /* The node as it would be, through its own shape rules. */
        const clg_shape *in[4];
        for (int k = 0; k < n_in; k++) in[k] = &g->nodes[ins[k]].shape;
        clg_node trial = g->nodes[o];
        trial.op = CLG_OP_ATTENTION;
        trial.attrs = attrs;
        trial.n_inputs = n_in;
        trial.inputs = ins;
        /* ... and its type rules: a scale stripped off an integer Q (Div of
         * an i32 by a float is f32) or an integer mask would leave the
         * Attention an input it does not take. */
        clg_shape shape;
        if (clg_infer_node(g, &trial, in, &shape)) {
            clg_clear_error(g);
            continue;
        }
        if (!clg_shape_equal(&shape, &g->nodes[o].shape) ||
            !clg_pass_types_fit(g, CLG_OP_ATTENTION, &attrs, ins, n_in, g->nodes[o].dtype))
            continue;
        int a = clg_edit_append(g, CLG_OP_ATTENTION, g->nodes[o].name, ins, n_in, &attrs, NULL, NULL, &st);
        if (a < 0) break;
        clg_pass_replace(g, o, a);
        clg_sweep_touch(&sw, o);
        for (int k = 0; k < m.n_dead; k++) {
            g->nodes[m.dead[k]].dead = true;
            clg_sweep_touch(&sw, m.dead[k]);
        }
        for (int k = 0; k < n_in; k++) clg_sweep_touch(&sw, ins[k]);
        *changed = true;
    }
    clg_sweep_end(&sw);
    return st;
}
