/* Gemm (and MatMul where it is one GEMM) as selection decided: a generated
 * kernel with the node's epilogue in its store, or CLBlast with the
 * epilogue as a launch after it (runtime/gemm/). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "gemm.h"
#include "lower_util.h"

/* The epilogue's inputs as device tensors: epi_in[k] for xK, [0] unused. */
static void epilogue_inputs(const clg_node *n, const clg_dev_tensor *in, clg_dev_tensor *epi_in)
{
    int own = clg_node_own_inputs(n);
    for (int k = own; k < n->n_inputs && k - own + 1 < CLG_EXPR_MAX_INPUTS; k++) epi_in[k - own + 1] = in[k];
}

clg_status clg_select_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                           const clg_dev_tensor *out, clg_decision *d)
{
    clg_expr *e;
    clg_status s = clg_epilogue_parse(lw, n, &e);
    if (s) return s;
    clg_dev_tensor epi_in[CLG_EXPR_MAX_INPUTS];
    epilogue_inputs(n, in, epi_in);
    clg_gemm_views views;
    clg_gemm_gen gen;
    *d = (clg_decision){CLG_BACKEND_CLBLAST, -1, CLG_ORIENT_AS_WRITTEN, false};
    /* The generated kernels address an epilogue's inputs by row and column
     * of a 2-D result; any other runs as a launch after the GEMM. */
    bool epi_in_kernel = e && out->shape.rank == 2;
    if (clg_gemm_of_node(lw->g, n, in, out, epi_in_kernel ? e : NULL, epi_in, &views, &gen))
        s = clg_gemm_decide(lw, &gen, NULL, NULL, d);
    clg_mem_free(&lw->ctx->allocator, e);
    return s;
}

clg_status clg_lower_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                          const clg_dev_tensor *out)
{
    clg_expr *e;
    clg_status s = clg_epilogue_parse(lw, n, &e);
    if (s) return s;
    clg_dev_tensor epi_in[CLG_EXPR_MAX_INPUTS];
    epilogue_inputs(n, in, epi_in);
    const clg_decision *d = clg_decision_of(lw);
    bool in_kernel = d->backend == CLG_BACKEND_GENERATED && d->epilogue_in_kernel;
    clg_gemm_views views;
    clg_gemm_gen gen;
    if (!clg_gemm_of_node(lw->g, n, in, out, in_kernel ? e : NULL, epi_in, &views, &gen))
        s = clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: not one GEMM");
    else
        s = clg_emit_gemm_decided(lw, &gen, d);
    /* Otherwise the epilogue runs after, over the output as the node has it. */
    if (!s && e && !in_kernel) s = clg_emit_epilogue_launch(lw, n, in, out);
    clg_mem_free(&lw->ctx->allocator, e);
    return s;
}
