/* Constant folding: a node whose inputs are all constants is computed once,
 * here, by the reference executor's kernel for its op, and becomes a new
 * constant under the node's name. */
#include "passes.h"
#include "reference_ops.h"

/* A result past this many elements that is also larger than its inputs
 * together stays a node: folding would trade a cheap kernel for a large
 * weight upload (a broadcast of a [4096, 1] and a [1, 4096] constant). */
#define MAX_GROWN_ELEMENTS ((int64_t)1 << 20)

clg_status clg_pass_fold_constants(clg_graph *g, bool *changed)
{
    int n0 = g->n_nodes;
    for (int i = 0; i < n0; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead || n->op == CLG_OP_INPUT || n->op == CLG_OP_CONSTANT) continue;
        bool all_constant = n->n_inputs > 0;
        int64_t in_elements = 0;
        for (int k = 0; k < n->n_inputs && all_constant; k++) {
            all_constant = clg_pass_is_constant(g, n->inputs[k]);
            in_elements += clg_shape_count(&g->nodes[n->inputs[k]].shape);
        }
        if (!all_constant) continue;
        /* A constant grown to a symbolic size (Expand to [N, S, 4]) stays a
         * node: its size is known only when bound. */
        if (clg_shape_is_symbolic(&n->shape)) continue;
        int64_t count = clg_shape_count(&n->shape);
        if (count > MAX_GROWN_ELEMENTS && count > in_elements) continue;

        clg_const *c = clg_const_new(g, (size_t)count);
        if (!c) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory folding node %s", n->name);
        clg_status s = clg_ref_eval_constant_node(g, i, c->data);
        if (s == CLG_ERR_UNSUPPORTED) {
            /* An op without a host kernel simply stays a node. */
            clg_const_release(g, c);
            clg_clear_error(g);
            continue;
        }
        if (s) {
            clg_const_release(g, c);
            return s;
        }
        c->init.kind = CLG_INIT_LIST;
        clg_const_simplify_init(c);
        clg_shape shape = n->shape; /* n moves when the node array grows */
        clg_dtype dtype = n->dtype;
        int k = clg_edit_append(g, CLG_OP_CONSTANT, n->name, NULL, 0, NULL, &shape, c, &s);
        if (k < 0) {
            clg_const_release(g, c);
            return s;
        }
        g->nodes[k].dtype = dtype; /* the folded value keeps its type (a Gather of integers) */
        clg_pass_replace(g, i, k);
        *changed = true;
    }
    return CLG_OK;
}
