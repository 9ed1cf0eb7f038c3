/* Selection: what runs each node of a plan, decided once, before lowering.
 * A family with a choice to make (GEMM-shaped ops between CLBlast and the
 * generated variants, by measurement; Softmax between its kernels, by
 * shape) has a select function next to its lowering; every other node gets
 * its family's default. Lowering then only reads p->decisions. */
#include <assert.h>
#include <string.h>

#include "lower.h"

static_assert(CLG_OP_COUNT == 54, "a new op with a choice of kernels needs a select entry below");

static const clg_select_fn select_table[CLG_OP_COUNT] = {
    [CLG_OP_GEMM] = clg_select_gemm,
    [CLG_OP_MATMUL] = clg_select_gemm,
    [CLG_OP_CONV2D] = clg_select_conv2d,
    [CLG_OP_SOFTMAX] = clg_select_softmax,
    [CLG_OP_REDUCE_MEAN] = clg_select_reduce,
    [CLG_OP_REDUCE_SUM] = clg_select_reduce,
    [CLG_OP_REDUCE_MAX] = clg_select_reduce,
    [CLG_OP_REDUCE_MIN] = clg_select_reduce,
    [CLG_OP_REDUCE_PROD] = clg_select_reduce,
    [CLG_OP_REDUCE_L1] = clg_select_reduce,
    [CLG_OP_REDUCE_L2] = clg_select_reduce,
    [CLG_OP_REDUCE_SUM_SQUARE] = clg_select_reduce,
    [CLG_OP_REDUCE_LOG_SUM] = clg_select_reduce,
    [CLG_OP_REDUCE_LOG_SUM_EXP] = clg_select_reduce,
    [CLG_OP_LOG_SOFTMAX] = clg_select_softmax,
    [CLG_OP_ATTENTION] = clg_select_attention,
};

clg_status clg_plan_select(clg_plan *p, const clg_graph *g)
{
    clg_context *ctx = p->ctx;
    clg_status s = CLG_OK;
    for (int i = 0; i < g->n_nodes && !s; i++) {
        const clg_node *n = &g->nodes[i];
        p->decisions[i] = (clg_decision){CLG_BACKEND_DEFAULT, 0, CLG_ORIENT_AS_WRITTEN, false};
        clg_select_fn fn = select_table[n->op];
        if (!fn) continue;
        clg_dev_tensor stack[CLG_PLAN_INPUTS_STACK], *in = clg_plan_inputs(p, n, stack);
        if (!in) return CLG_ERR_OUT_OF_MEMORY;
        clg_lower lw = {ctx, g, i, p};
        s = fn(&lw, n, in, &p->values[i], &p->decisions[i]);
        clg_plan_inputs_free(p, in, stack);
    }
    return s;
}
