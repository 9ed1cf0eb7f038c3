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
 * - the Elementwise is the GEMM's only reader and reads it once, as x0;
 * - both have the same shape, and it is 2-D (the generated kernels address
 *   the epilogue's inputs by row and column; MatMul only with 2-D operands,
 *   which runs as a plain GEMM), or for a Conv2D its 4-D NCHW result, each
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
    return g->nodes[n->inputs[0]].shape.rank == 2 && g->nodes[n->inputs[1]].shape.rank == 2;
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

/* The layer node e may be absorbed into, or -1. */
static int absorbing_gemm(const clg_sweep *sw, int e)
{
    const clg_graph *g = sw->g;
    const clg_node *en = &g->nodes[e];
    if (!clg_pass_is_elementwise(en->op) || en->n_inputs < 1 || en->n_inputs > CLG_EXPR_MAX_INPUTS) return -1;
    int p = en->inputs[0];
    if (!clg_sweep_fresh(sw, p) || clg_sweep_sole_consumer(sw, p) != e) return -1;
    for (int k = 1; k < en->n_inputs; k++)
        if (en->inputs[k] == p) return -1;
    const clg_node *pn = &g->nodes[p];
    if (!gemm_like(g, pn) || clg_node_has_epilogue(pn)) return -1;
    if (!clg_shape_equal(&pn->shape, &en->shape)) return -1;
    if (pn->op == CLG_OP_CONV2D) {
        if (pn->shape.rank != 4) return -1;
        for (int k = 1; k < en->n_inputs; k++)
            if (!one_pixel_stride(&g->nodes[en->inputs[k]].shape, &pn->shape)) return -1;
    } else if (pn->shape.rank != 2) {
        return -1;
    }
    return p;
}

static clg_status absorb(clg_graph *g, int p, int e)
{
    clg_status st = CLG_OK;
    clg_expr *x = clg_malloc(g, sizeof *x);
    if (!x) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory absorbing %s", g->nodes[e].name);
    char err[256];
    clg_attrs attrs = g->nodes[p].attrs;
    clg_status parsed = clg_expr_of_node(&g->nodes[e], x, err, sizeof err);
    if (!parsed && clg_expr_print(x, attrs.expr, sizeof attrs.expr) >= sizeof attrs.expr) {
        snprintf(err, sizeof err, "the expression is longer than %d bytes", CLG_MAX_STRING_ATTR - 1);
        parsed = CLG_ERR_INVALID_GRAPH;
    }
    clg_free(g, x);
    if (parsed) return clg_fail(g, CLG_ERR_INVALID_GRAPH, "node %s: %s", g->nodes[e].name, err);
    /* Only inputs up to the highest one the expression names follow the
     * GEMM's own: that is how the epilogue's inputs are counted. */
    const clg_node *pn = &g->nodes[p], *en = &g->nodes[e];
    int last = clg_epilogue_inputs(pn->op, &attrs);
    int n_in = pn->n_inputs + last;
    int in[3 + CLG_EXPR_MAX_INPUTS];
    for (int k = 0; k < pn->n_inputs; k++) in[k] = pn->inputs[k];
    for (int k = 1; k <= last; k++) in[pn->n_inputs + k - 1] = en->inputs[k];
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
        int p = absorbing_gemm(&sw, e);
        if (p < 0) continue;
        if ((st = absorb(g, p, e))) break;
        clg_sweep_touch(&sw, p);
        clg_sweep_touch(&sw, e);
        *changed = true;
    }
    clg_sweep_end(&sw);
    return st;
}
