/* Splits the bias off a Gemm (beta·C) or a Conv2D (B) whose output goes
 * straight into an elementwise op: the layer computes without it and an
 * explicit Add puts it back, so that elementwise fusion can apply bias,
 * shortcut and activation in one kernel after the GEMM instead of a
 * broadcast copy before it. */
#include <stdio.h>

#include "expr.h"
#include "passes.h"

/* Is the layer at i's output read by exactly one elementwise node that
 * computes a tensor of the same shape (so the Add can fuse into it)? */
static bool feeds_elementwise(const clg_sweep *sw, int i)
{
    int c = clg_sweep_sole_consumer(sw, i);
    if (c < 0) return false;
    const clg_node *cn = &sw->g->nodes[c];
    /* A fused node already reading 16 inputs could not take the bias too. */
    if (cn->op == CLG_OP_ELEMENTWISE && cn->n_inputs >= CLG_EXPR_MAX_INPUTS) return false;
    return clg_pass_is_elementwise(cn->op) && clg_shape_equal(&cn->shape, &sw->g->nodes[i].shape);
}

static clg_status split(clg_graph *g, int i)
{
    const clg_node *n = &g->nodes[i];
    const clg_node *bn = &g->nodes[n->inputs[2]];
    const char *name = n->name; /* its own string: stays put as nodes grow */
    clg_status st = CLG_OK;
    int bias = n->inputs[2];
    char hint[256];
    snprintf(hint, sizeof hint, "%s/bias", name);
    if (n->op == CLG_OP_CONV2D) {
        /* [M] would line up with W; the channel is dim 1 of NCHW. */
        clg_shape s = {3, {bn->shape.dims[0], 1, 1}};
        bias = clg_edit_constant(g, hint, &s, bn->constant->data, &st);
    } else if (n->attrs.beta != 1.0f) {
        float *v = clg_malloc(g, bn->constant->count * sizeof *v);
        if (!v) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory splitting %s", name);
        for (size_t k = 0; k < bn->constant->count; k++) v[k] = n->attrs.beta * bn->constant->data[k];
        clg_shape s = bn->shape;
        bias = clg_edit_constant(g, hint, &s, v, &st);
        clg_free(g, v);
    }
    if (bias < 0) return st;
    n = &g->nodes[i];
    clg_attrs attrs = n->attrs;
    attrs.beta = 1.0f; /* unused without C; the default keeps the text short */
    int layer_in[2] = {n->inputs[0], n->inputs[1]};
    int li = clg_edit_append(g, n->op, name, layer_in, 2, &attrs, NULL, NULL, &st);
    if (li < 0) return st;
    snprintf(hint, sizeof hint, "%s/add_bias", name);
    int add_in[2] = {li, bias};
    int ai = clg_edit_append(g, CLG_OP_ADD, hint, add_in, 2, NULL, NULL, NULL, &st);
    if (ai < 0) return st;
    /* The layer is not a graph output (its one use is a node), so the Add's
     * name is free; the layer keeps its own. */
    clg_edit_replace_uses(g, i, ai);
    clg_edit_swap_names(g, i, li);
    g->nodes[i].dead = true;
    return CLG_OK;
}

clg_status clg_pass_split_bias(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    for (int i = 0; i < sw.n0 && !st; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead || (n->op != CLG_OP_GEMM && n->op != CLG_OP_CONV2D) || n->n_inputs != 3 ||
            clg_node_has_epilogue(n))
            continue;
        if (n->op == CLG_OP_GEMM && n->attrs.beta == 0.0f) continue; /* no bias to split */
        if (!clg_pass_is_constant(g, n->inputs[2]) || !feeds_elementwise(&sw, i)) continue;
        if (!(st = split(g, i))) *changed = true;
    }
    clg_sweep_end(&sw);
    return st;
}
