/* Removes nodes that return their input unchanged: Identity, a Reshape or
 * Flatten to the shape it already has, a Transpose that keeps every dim in
 * place, a Concat of one input, a Slice of everything in order, an Expand or
 * Tile to the same shape, DepthToSpace/SpaceToDepth with a block of 1. Their users read the input instead. */
#include "passes.h"

/* Every dim read from 0 forwards by 1 to its end. A dim of 1 is the same
 * whichever way it is read; a reversed one of more is not a no-op even
 * though its shape is unchanged. */
static bool slice_is_whole(clg_graph *g, const clg_node *n, const clg_shape *in)
{
    clg_slice_dims sd;
    int bad;
    if (clg_slice_resolve(g, &n->attrs, in, &sd, &bad)) return false;
    for (int k = 0; k < in->rank; k++)
        if (in->dims[k] != 1 && (sd.first[k] != 0 || sd.step[k] != 1 || sd.count[k] != in->dims[k])) return false;
    return true;
}

static bool is_no_op(const clg_graph *g, const clg_node *n)
{
    const clg_shape *in = n->n_inputs > 0 ? &g->nodes[n->inputs[0]].shape : NULL;
    switch (n->op) {
    case CLG_OP_IDENTITY: return true;
    case CLG_OP_RESHAPE:
    case CLG_OP_FLATTEN: return clg_shape_equal(&n->shape, in);
    case CLG_OP_TRANSPOSE:
        /* perm=[] reverses the dims, which keeps a rank-1 tensor. */
        if (n->attrs.perm_rank == 0) return in->rank == 1;
        for (int i = 0; i < n->attrs.perm_rank; i++)
            if (n->attrs.perm[i] != i) return false;
        return true;
    case CLG_OP_CONCAT: return n->n_inputs == 1;
    /* Resolving a symbolic slice may intern its count: the pass's own graph. */
    case CLG_OP_SLICE: return slice_is_whole((clg_graph *)g, n, in);
    /* The same shape out: nothing broadcast, every repeat 1, a block of 1. */
    case CLG_OP_EXPAND:
    case CLG_OP_TILE:
    case CLG_OP_DEPTH_TO_SPACE:
    case CLG_OP_SPACE_TO_DEPTH: return clg_shape_equal(&n->shape, in);
    default: return false;
    }
}

clg_status clg_pass_identity(clg_graph *g, bool *changed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        clg_node *n = &g->nodes[i];
        if (n->dead || !is_no_op(g, n)) continue;
        int src = n->inputs[0];
        if (clg_edit_is_output(g, i)) {
            /* The output's name must survive, so the source takes it. That
             * cannot rename a graph input, and a value that is already an
             * output cannot answer to two names. */
            if (g->nodes[src].op == CLG_OP_INPUT || clg_edit_is_output(g, src)) continue;
            clg_edit_replace_uses(g, i, src);
            clg_edit_swap_names(g, i, src);
        } else {
            clg_edit_replace_uses(g, i, src);
        }
        g->nodes[i].dead = true;
        *changed = true;
    }
    return CLG_OK;
}
