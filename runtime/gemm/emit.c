/* One GEMM as decided: the operands of a GEMM-shaped node, and their launch
 * through a generated variant or CLBlast. Lowering (lower/gemm.c) and the
 * timing of candidates (choice.c) both go through here, so what is timed
 * is what runs. */
#include <stdint.h>
#include <string.h>

#include "expr.h"
#include "gemm.h"
#include "lower_util.h"

bool clg_gemm_of_node(const clg_graph *g, const clg_node *n, const clg_dev_tensor *in,
                      const clg_dev_tensor *out, const clg_expr *epi, const clg_dev_tensor *epi_in,
                      clg_gemm_views *views, clg_gemm_gen *gen)
{
    memset(gen, 0, sizeof *gen);
    gen->epi = epi;
    gen->n_epi = epi ? n->n_inputs - clg_node_own_inputs(n) + 1 : 0;
    gen->epi_in = epi_in;
    gen->alpha = 1.0f;
    gen->b_constant = !clg_value_in_arena(g, n->inputs[1]);
    if (n->op == CLG_OP_GEMM) {
        gen->ta = n->attrs.trans_a != 0;
        gen->tb = n->attrs.trans_b != 0;
        gen->a = &in[0];
        gen->b = &in[1];
        gen->y = out;
        gen->lda = in[0].shape.dims[1];
        gen->ldb = in[1].shape.dims[1];
        gen->m = out->shape.dims[0];
        gen->n = out->shape.dims[1];
        gen->k = gen->ta ? in[0].shape.dims[0] : in[0].shape.dims[1];
        gen->alpha = n->attrs.alpha;
        if (clg_node_own_inputs(n) == 3 && n->attrs.beta != 0.0f) {
            gen->bias = &in[2];
            gen->beta = n->attrs.beta;
        }
        return true;
    }
    if (n->op != CLG_OP_MATMUL) return false;
    /* A B shared by every matrix of A: A's batch dims fold into M, and the
     * product is one GEMM (alpha 1, no bias). */
    const clg_shape *as = &in[0].shape, *bs = &in[1].shape;
    if (as->rank < 2 || bs->rank != 2) return false;
    int64_t k = as->dims[as->rank - 1], nn = bs->dims[1];
    int64_t rows = clg_shape_count(as) / (k ? k : 1);
    if (k == 0 || rows > INT32_MAX) return false;
    views->a = in[0];
    views->a.shape = (clg_shape){2, {rows, k}};
    views->y = *out;
    views->y.shape = (clg_shape){2, {rows, nn}};
    gen->a = &views->a;
    gen->b = &in[1];
    gen->y = &views->y;
    gen->lda = k;
    gen->ldb = nn;
    gen->m = rows;
    gen->n = nn;
    gen->k = k;
    return true;
}

clg_status clg_emit_gemm_clblast(clg_lower *lw, const clg_gemm_gen *gen)
{
    if (gen->b_packed || gen->y_p)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: CLBlast takes no packed operands");
    clg_gemm gm = {0};
    gm.trans_a = gen->ta;
    gm.trans_b = gen->tb;
    gm.m = (size_t)gen->m;
    gm.n = (size_t)gen->n;
    gm.k = (size_t)gen->k;
    gm.alpha = gen->alpha;
    gm.a = *gen->a;
    gm.lda = (size_t)gen->lda;
    gm.b = *gen->b;
    gm.ldb = (size_t)gen->ldb;
    gm.c = *gen->y;
    gm.ldc = (size_t)gen->n;
    gm.batch = 1;
    /* The bias pre-fills C and CLBlast accumulates onto it with beta. */
    if (gen->bias) {
        clg_status s = clg_emit_broadcast_copy(lw, gen->bias, gen->y);
        if (s) return s;
        gm.beta = gen->beta;
    }
    return clg_emit_gemm(lw, &gm);
}

clg_status clg_emit_gemm_decided(clg_lower *lw, const clg_gemm_gen *gen, const clg_decision *d)
{
    clg_gemm_gen g = *gen;
    bool epi_after = gen->epi && !(d->backend == CLG_BACKEND_GENERATED && d->epilogue_in_kernel);
    if (epi_after) g.epi = NULL;
    clg_status s = d->backend == CLG_BACKEND_GENERATED ? clg_emit_gemm_gen(lw, &g, d->variant)
                                                       : clg_emit_gemm_clblast(lw, &g);
    if (s || !epi_after) return s;
    return clg_emit_epilogue_after(lw, gen->epi, gen->n_epi, gen->epi_in, gen->y);
}

/* The variant a product of two computed tensors runs on when
 * CLGRAPH_GEMM names none. Measured 2026-12-06 on encoder_gelu_256 at
 * batch 8, S = 128 (attention's 32 x 128x128x64 and 32 x 128x64x128, the
 * Attention node's device time, unfused, one process per variant, load
 * 10): PoCL g4x4 158 ms, n4x16 62, n8x16 36, p4x64 35, p8x32 14 (CLBlast's
 * batched GEMM 62); Intel's runtime g4x4 20 ms, n4x16 1065, n8x16 787,
 * p4x64 27, p8x32 24 (CLBlast 70). p8x32 is the one good on both. */
#define PRODUCT_VARIANT "p8x32"

/* gm's two-level batch as gm->batch / gm->zn products of one level each. */
static clg_status split_outer(clg_lower *lw, const clg_gemm *gm)
{
    clg_gemm one = *gm;
    one.batch = gm->zn;
    one.zn = 0;
    one.a_stride2 = one.b_stride2 = one.c_stride2 = 0;
    for (size_t z1 = 0; z1 < gm->batch / gm->zn; z1++) {
        one.a.off = gm->a.off + z1 * gm->a_stride2;
        one.b.off = gm->b.off + z1 * gm->b_stride2;
        one.c.off = gm->c.off + z1 * gm->c_stride2;
        clg_status s = clg_emit_product(lw, &one);
        if (s) return s;
    }
    return CLG_OK;
}

clg_status clg_emit_product(clg_lower *lw, const clg_gemm *gm)
{
    const char *path = lw->ctx->gemm_path;
    bool half = lw->plan->elem_size == 2; /* only the generated kernels read half buffers */
    bool two_level = gm->zn > 0 && gm->zn < gm->batch;
    if (gm->beta != 0.0f || (path && !strcmp(path, "clblast") && !half) || gm->m > INT32_MAX ||
        gm->n > INT32_MAX || gm->k > INT32_MAX || gm->ldc > INT32_MAX) {
        /* CLBlast's strided batch has one level */
        if (two_level) return split_outer(lw, gm);
        return clg_emit_gemm(lw, gm);
    }
    if (gm->m == 0 || gm->n == 0 || gm->batch == 0) return CLG_OK;
    int v = -1;
    if (path && !strncmp(path, "generated:", 10)) v = clg_gemm_variant_find(path + 10);
    /* kernels/gemm_local.cl has no batched form: a batched product (or one
     * whose C rows are ldc apart) under a forced work-group variant runs on
     * the default product variant */
    if (v >= 0 && clg_gemm_variants[v].wm > 0 && (gm->batch > 1 || gm->ldc != gm->n)) v = -1;
    if (!clg_gemm_variant_fits(v, gm->trans_a, gm->trans_b)) v = clg_gemm_variant_find(PRODUCT_VARIANT);
    if (!clg_gemm_variant_fits(v, gm->trans_a, gm->trans_b)) v = clg_gemm_variant_find("g1x1");
    /* The operands' shapes as the generated kernels check them: the
     * products' extent in each buffer (the last product's, the largest
     * offsets being those of the last z0 and z1). */
    clg_dev_tensor a = gm->a, b = gm->b, y = gm->c;
    size_t batch = gm->batch, zn = two_level ? gm->zn : batch, outer = batch / zn;
    size_t a_rows = gm->trans_a ? gm->k : gm->m, b_rows = gm->trans_b ? gm->n : gm->k;
    size_t a_cols = gm->trans_a ? gm->m : gm->k, b_cols = gm->trans_b ? gm->k : gm->n;
    a.shape = (clg_shape){1, {(int64_t)((zn - 1) * gm->a_stride + (outer - 1) * gm->a_stride2 +
                                        (a_rows - 1) * gm->lda + a_cols)}};
    b.shape = (clg_shape){1, {(int64_t)((zn - 1) * gm->b_stride + (outer - 1) * gm->b_stride2 +
                                        (b_rows - 1) * gm->ldb + b_cols)}};
    y.shape = (clg_shape){1, {(int64_t)((zn - 1) * gm->c_stride + (outer - 1) * gm->c_stride2 +
                                        (gm->m - 1) * gm->ldc + gm->n)}};
    const clg_shape *shapes[3] = {&a.shape, &b.shape, &y.shape};
    for (int i = 0; i < 3; i++) {
        clg_status s = clg_check_elems(lw, shapes[i]);
        if (s) return s;
    }
    if (batch > 1 && (gm->a_stride > INT32_MAX || gm->b_stride > INT32_MAX || gm->c_stride > INT32_MAX ||
                      gm->a_stride2 > INT32_MAX || gm->b_stride2 > INT32_MAX || gm->c_stride2 > INT32_MAX))
        return two_level ? split_outer(lw, gm) : clg_emit_gemm(lw, gm);
    clg_gemm_gen g = {0};
    g.a = &a, g.b = &b, g.y = &y;
    g.m = (int64_t)gm->m, g.n = (int64_t)gm->n, g.k = (int64_t)gm->k;
    g.lda = (int64_t)gm->lda, g.ldb = (int64_t)gm->ldb;
    g.ta = gm->trans_a, g.tb = gm->trans_b;
    g.alpha = gm->alpha;
    g.batch = (int64_t)batch;
    g.a_bs = (int64_t)gm->a_stride, g.b_bs = (int64_t)gm->b_stride, g.y_bs = (int64_t)gm->c_stride;
    if (two_level) {
        g.zn = (int64_t)zn;
        g.a_bs2 = (int64_t)gm->a_stride2, g.b_bs2 = (int64_t)gm->b_stride2, g.y_bs2 = (int64_t)gm->c_stride2;
    }
    g.y_ld = (int64_t)gm->ldc;
    return clg_emit_gemm_gen(lw, &g, v);
}
