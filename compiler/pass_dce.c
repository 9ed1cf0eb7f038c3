/* Dead-code elimination: a node no graph output depends on is removed.
 * Graph inputs stay even when unused, because callers pass inputs by
 * position and the input list must not change. */
#include "passes.h"

clg_status clg_pass_dce(clg_graph *g, bool *changed)
{
    bool *live = clg_calloc(g, (size_t)g->n_nodes + 1, sizeof *live);
    if (!live) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in pass dce");
    for (int k = 0; k < g->n_outputs; k++) live[g->outputs[k]] = true;
    /* Inputs come before their consumers, so one backward sweep suffices. */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const clg_node *n = &g->nodes[i];
        if (n->op == CLG_OP_INPUT) live[i] = true;
        if (!live[i]) continue;
        for (int k = 0; k < n->n_inputs; k++) live[n->inputs[k]] = true;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!live[i]) {
            g->nodes[i].dead = true;
            *changed = true;
        }
    clg_free(g, live);
    return CLG_OK;
}
