/* Absorbs an elementwise node (an Elementwise, or any op the op table gives
 * an expression: a lone Relu, an Add) into the Gemm, MatMul or Conv2D whose
 * result it reads as x0: the pair becomes one node, the layer with an
 * `epilogue` attribute (the node's expression) and its other inputs appended
 * to its own (clg_op_takes_epilogue). The runtime then applies the
 * expression as the GEMM or convolution kernel stores each element, or runs
 * it as a launch after a CLBlast GEMM: the fusion is decided here, visible
 * in the text and in --dot, and the runtime only chooses how to run it.
 *
 * Legal when (each is tested by a "do not absorb" case in test_passes.c):
 * - the GEMM has no epilogue yet, and is not a graph output;
 * - the Elementwise is the GEMM's only reader and reads it once, as x0 or
 *   as another input (PyTorch's bias Add(b, MatMul) reads it as x1): its
 *   expression then takes x0 and that input swapped;
 * - both have the same shape, and it is 2-D (the generated kernels address
 *   the epilogue's inputs by row and column), or a MatMul's of rank 3 or
 *   more by a 2-D B (one GEMM of all the result's rows: a transformer's
 *   [N, S, D] x [D, F] projection) whose further inputs are rows of it:
 *   their dims before the last all the result's or all 1 (a residual, a
 *   bias), or for a Conv2D its 4-D NCHW result, each
 *   further input addressing the result's pixels with one stride (its H and
 *   W both the result's, or both 1: a residual, a bias per channel [C, 1,
 *   1]; runtime/lower/epilogue.h);
 * - the Elementwise reads at most CLG_EXPR_MAX_INPUTS inputs (it always
 *   does when it parses).
 * The new node takes the Elementwise's place (its name and readers), so
 * the epilogue's inputs are all computed before it. */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "passes.h"

static bool gemm_like(const clg_graph *g, const clg_node *n)
{
    if (n->op == CLG_OP_GEMM || n->op == CLG_OP_CONV2D) return true;
    if (n->op != CLG_OP_MATMUL) return false;
    return g->nodes[n->inputs[0]].shape.rank >= 2 && g->nodes[n->inputs[1]].shape.rank == 2;
}

/* Whether in, broadcast to a MatMul's result out ([..., M, N] run as one
 * GEMM of all of out's rows), is a 2-D tensor over those rows: its dims
 * before the last are all out's (one row of in per row: a residual) or
 * all 1 (a bias broadcast over every row). Sizes compare as interned
 * codes: equal symbolic sizes are the same code. */
static bool rows_flat(const clg_shape *in, const clg_shape *out)
{
    bool all_out = true, all_one = true;
    for (int i = 0; i < out->rank - 1; i++) {
        int j = i - (out->rank - in->rank);
        int64_t d = j < 0 ? 1 : in->dims[j];
        all_out = all_out && d == out->dims[i];
        all_one = all_one && d == 1;
    }
    return all_out || all_one;
}

/* Whether in, broadcast to the NCHW shape out, steps through out's pixels
 * (H * W of them per image and channel) with one stride: its H and W are
 * both out's or both 1, unless out's H or W is 1. */
static bool one_pixel_stride(const clg_shape *in, const clg_shape *out)
{
    int64_t h = in->rank >= 2 ? in->dims[in->rank - 2] : 1, w = in->rank >= 1 ? in->dims[in->rank - 1] : 1;
    if (out->dims[2] == 1 || out->dims[3] == 1) return true;
    return (h == 1 && w == 1) || (h == out->dims[2] && w == out->dims[3]);
}

/* The layer node e may be absorbed into, or -1; *slot the input of e
 * that reads it (the first that can be). */
static int absorbing_gemm(const clg_sweep *sw, int e, int *slot)
{
    const clg_graph *g = sw->g;
    const clg_node *en = &g->nodes[e];
    if (!clg_pass_is_elementwise(en->op) || en->n_inputs < 1 || en->n_inputs > CLG_EXPR_MAX_INPUTS) return -1;
    for (int s = 0; s < en->n_inputs; s++) {
        int p = en->inputs[s];
        bool once = true;
        for (int k = 0; k < en->n_inputs; k++)
            if (k != s && en->inputs[k] == p) once = false;
        if (!once || !clg_sweep_fresh(sw, p) || clg_sweep_sole_consumer(sw, p) != e) continue;
        const clg_node *pn = &g->nodes[p];
        if (!gemm_like(g, pn) || clg_node_has_epilogue(pn)) continue;
        if (!clg_shape_equal(&pn->shape, &en->shape)) continue;
        bool ok = true;
        if (pn->op == CLG_OP_CONV2D) {
            if (pn->shape.rank != 4) continue;
            for (int k = 0; k < en->n_inputs; k++)
                if (k != s && !one_pixel_stride(&g->nodes[en->inputs[k]].shape, &pn->shape)) ok = false;
        } else if (pn->shape.rank > 2) {
            /* a MatMul by a 2-D B: A's batch dims are the GEMM's rows */
            for (int k = 0; k < en->n_inputs; k++)
                if (k != s && !rows_flat(&g->nodes[en->inputs[k]].shape, &pn->shape)) ok = false;
        } else if (pn->shape.rank != 2) {
            continue;
        }
        if (!ok) continue;
        *slot = s;
        return p;
    }
    return -1;
}

/* e's expression x with inputs 0 and s swapped (the layer read as xS
 * becomes x0, as the epilogue has it). */
static void swap_inputs(clg_expr *x, int s)
{
    if (s == 0) return;
    for (int i = 0; i < x->n_nodes; i++)
        if (x->nodes[i].op == CLG_EXPR_INPUT)
            x->nodes[i].input = x->nodes[i].input == 0 ? (uint8_t)s : x->nodes[i].input == s ? 0 : x->nodes[i].input;
    uint32_t b0 = x->inputs_used & 1u, bs = (x->inputs_used >> s) & 1u;
    x->inputs_used = (x->inputs_used & ~(1u | (1u << s))) | (b0 << s) | bs;
}

static clg_status absorb(clg_graph *g, int p, int e, int slot)
{
    clg_status st = CLG_OK;
    clg_expr *x = clg_malloc(g, sizeof *x);
    if (!x) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory absorbing %s", g->nodes[e].name);
    char err[256];
    clg_attrs attrs = g->nodes[p].attrs;
    clg_status parsed = clg_expr_of_node(&g->nodes[e], x, err, sizeof err);
    if (!parsed) swap_inputs(x, slot);
    if (!parsed && clg_expr_print(x, attrs.expr, sizeof attrs.expr) >= sizeof attrs.expr) {
        snprintf(err, sizeof err, "the expression is longer than %d bytes", CLG_MAX_STRING_ATTR - 1);
        parsed = CLG_ERR_INVALID_GRAPH;
    }
    clg_free(g, x);
    if (parsed) return clg_fail(g, CLG_ERR_INVALID_GRAPH, "node %s: %s", g->nodes[e].name, err);
    /* Only inputs up to the highest one the expression names follow the
     * GEMM's own: that is how the epilogue's inputs are counted. */
    const clg_node *pn = &g->nodes[p], *en = &g->nodes[e];
    int ein[CLG_EXPR_MAX_INPUTS];
    for (int k = 0; k < en->n_inputs; k++) ein[k] = en->inputs[k];
    ein[slot] = en->inputs[0];
    ein[0] = p;
    int last = clg_epilogue_inputs(pn->op, &attrs);
    int n_in = pn->n_inputs + last;
    int in[3 + CLG_EXPR_MAX_INPUTS];
    for (int k = 0; k < pn->n_inputs; k++) in[k] = pn->inputs[k];
    for (int k = 1; k <= last; k++) in[pn->n_inputs + k - 1] = ein[k];
    int f = clg_edit_append(g, pn->op, g->nodes[e].name, in, n_in, &attrs, NULL, NULL, &st);
    if (f < 0) return st;
    clg_pass_replace(g, e, f); /* f takes e's name and readers */
    g->nodes[p].dead = true;   /* e was its only reader */
    return CLG_OK;
}

clg_status clg_pass_absorb_epilogue(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    for (int e = 0; e < sw.n0 && !st; e++) {
        if (!clg_sweep_fresh(&sw, e)) continue;
        int slot = 0;
        int p = absorbing_gemm(&sw, e, &slot);
        if (p < 0) continue;
        if ((st = absorb(g, p, e, slot))) break;
        clg_sweep_touch(&sw, p);
        clg_sweep_touch(&sw, e);
        *changed = true;
    }
    clg_sweep_end(&sw);
    return st;
}
