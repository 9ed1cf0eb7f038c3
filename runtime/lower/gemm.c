/* Gemm (and MatMul where it is one GEMM) as selection decided: a generated
 * kernel with the node's epilogue in its store, or CLBlast with the
 * epilogue as a launch after it (runtime/gemm/). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "gemm.h"
#include "lower_util.h"

/* The epilogue's inputs as device tensors: epi_in[k] for xK, [0] unused.
 * For a MatMul whose result has more than two dims (A's batch dims folded
 * into the GEMM's rows), each input is seen as a 2-D [rows, cols] tensor
 * over the GEMM's result, which it is when its dims before the last are
 * all the result's (one row each: a residual) or all 1 (broadcast over
 * the rows: a bias); the result is whether every input is (the kernel can
 * then address them by row and column). */
static bool epilogue_inputs(const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out,
                            clg_dev_tensor *epi_in)
{
    int own = clg_node_own_inputs(n);
    bool flat = true;
    const clg_shape *os = &out->shape;
    int64_t rows = os->rank >= 1 ? clg_shape_count(os) / (os->dims[os->rank - 1] ? os->dims[os->rank - 1] : 1) : 1;
    for (int k = own; k < n->n_inputs && k - own + 1 < CLG_EXPR_MAX_INPUTS; k++) {
        clg_dev_tensor *t = &epi_in[k - own + 1];
        *t = in[k];
        if (os->rank <= 2) continue;
        const clg_shape *s = &in[k].shape;
        bool all_out = true, all_one = true;
        for (int i = 0; i < os->rank - 1; i++) {
            int j = i - (os->rank - s->rank);
            int64_t d = j < 0 ? 1 : s->dims[j];
            all_out = all_out && d == os->dims[i];
            all_one = all_one && d == 1;
        }
        int64_t cols = s->rank ? s->dims[s->rank - 1] : 1;
        if (all_out || all_one) t->shape = (clg_shape){2, {all_out ? rows : 1, cols}};
        else flat = false;
    }
    return flat;
}

clg_status clg_select_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                           const clg_dev_tensor *out, clg_decision *d)
{
    clg_expr *e;
    clg_status s = clg_epilogue_parse(lw, n, &e);
    if (s) return s;
    clg_dev_tensor epi_in[CLG_EXPR_MAX_INPUTS];
    bool flat = epilogue_inputs(n, in, out, epi_in);
    clg_gemm_views views;
    clg_gemm_gen gen;
    *d = (clg_decision){CLG_BACKEND_CLBLAST, -1, CLG_ORIENT_AS_WRITTEN, false};
    /* The generated kernels address an epilogue's inputs by row and column
     * of the GEMM's 2-D result; any other runs as a launch after the GEMM. */
    bool epi_in_kernel = e && flat;
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
    epilogue_inputs(n, in, out, epi_in);
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
