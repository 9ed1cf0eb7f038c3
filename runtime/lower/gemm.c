/* Gemm through CLBlast or a generated kernel (runtime/gemm/), whichever
 * runtime/gemm/choice.c found faster. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "lower_util.h"


clg_status clg_lower_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                          const clg_dev_tensor *out)
{
    int variant, epi;
    clg_status s = clg_gemm_choose(lw, n, in, out, NULL, &variant, &epi);
    if (s) return s;
    if (variant < 0) return clg_lower_gemm_clblast(lw, n, in, out);
    if (epi < 0) return clg_emit_gemm_generated(lw, n, in, out, variant, NULL, NULL);
    /* Fused: the kernel writes the Elementwise node's value (its block is
     * the GEMM's, memory_plan.c) and reads its other inputs. */
    const clg_node *en = &lw->g->nodes[epi];
    clg_dev_tensor ein_stack[8], *ein = ein_stack;
    if (en->n_inputs > 8 &&
        !(ein = clg_mem_realloc(&lw->ctx->allocator, NULL, (size_t)en->n_inputs * sizeof *ein)))
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    for (int k = 0; k < en->n_inputs; k++) ein[k] = lw->plan->values[en->inputs[k]];
    s = clg_emit_gemm_generated(lw, n, in, &lw->plan->values[epi], variant, en, ein);
    if (ein != ein_stack) clg_mem_free(&lw->ctx->allocator, ein);
    return s;
}

clg_status clg_lower_gemm_clblast(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                  const clg_dev_tensor *out)
{
    const clg_dev_tensor *a = &in[0], *b = &in[1];
    clg_gemm gm = {0};
    gm.trans_a = n->attrs.trans_a != 0;
    gm.trans_b = n->attrs.trans_b != 0;
    gm.m = (size_t)out->shape.dims[0];
    gm.n = (size_t)out->shape.dims[1];
    gm.k = (size_t)(gm.trans_a ? a->shape.dims[0] : a->shape.dims[1]);
    gm.alpha = n->attrs.alpha;
    gm.beta = 0.0f;
    gm.a = a->buf;
    gm.a_off = a->off;
    gm.lda = (size_t)a->shape.dims[1];
    gm.b = b->buf;
    gm.b_off = b->off;
    gm.ldb = (size_t)b->shape.dims[1];
    gm.c = out->buf;
    gm.c_off = out->off;
    gm.ldc = gm.n;
    gm.batch = 1;
    /* The bias pre-fills C and CLBlast accumulates onto it with beta. */
    if (n->n_inputs == 3 && n->attrs.beta != 0.0f) {
        clg_status s = clg_emit_broadcast_copy(lw, &in[2], out);
        if (s) return s;
        gm.beta = n->attrs.beta;
    }
    return clg_emit_gemm(lw, &gm);
}
