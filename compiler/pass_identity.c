/* Removes nodes that return their input unchanged: Identity, a Reshape or
 * Flatten to the shape it already has, a Transpose that keeps every dim in
 * place, a Concat of one input. Their users read the input instead. */
#include "passes.h"

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
