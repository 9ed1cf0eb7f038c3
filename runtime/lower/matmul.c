/* MatMul: a shared B folds A's batch dims into M and runs as one GEMM
 * (decided like a Gemm); batched and broadcast products run on a
 * generated GEMM kernel, all matrices of a batch in one launch
 * (clg_emit_product). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "lower_util.h"

static size_t count(const clg_shape *s) { return (size_t)clg_shape_count(s); }

/* Element offset of batch item `index` (over out_batch dims) in a matmul
 * operand with its own (broadcast) batch dims. */
static size_t batch_offset(const clg_shape *opd, int opd_batch_rank, const clg_shape *out,
                           int out_batch_rank, size_t index, size_t matrix)
{
    size_t off = 0, stride = matrix;
    for (int d = out_batch_rank - 1; d >= 0; d--) {
        size_t dim = (size_t)out->dims[d];
        size_t i = index % dim;
        index /= dim;
        int od = d - (out_batch_rank - opd_batch_rank);
        if (od < 0) continue;
        size_t odim = (size_t)opd->dims[od];
        if (odim != 1) off += i * stride;
        stride *= odim;
    }
    return off;
}

/* The products that are no single GEMM of clg_gemm_of_node's. */
static clg_status lower_products(clg_lower *lw, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    const clg_shape *as = &in[0].shape, *bs = &in[1].shape;
    /* Rank-1 operands are a row (A) or a column (B) vector. */
    size_t m = as->rank == 1 ? 1 : (size_t)as->dims[as->rank - 2];
    size_t k = (size_t)as->dims[as->rank - 1];
    size_t nn = bs->rank == 1 ? 1 : (size_t)bs->dims[bs->rank - 1];
    int a_batch = as->rank > 2 ? as->rank - 2 : 0, b_batch = bs->rank > 2 ? bs->rank - 2 : 0;
    int out_batch = a_batch > b_batch ? a_batch : b_batch;
    size_t batches = 1;
    for (int d = 0; d < out_batch; d++) batches *= (size_t)out->shape.dims[d];

    clg_gemm gm = {0};
    gm.alpha = 1.0f;
    gm.k = k;
    gm.n = nn;
    gm.a = in[0];
    gm.b = in[1];
    gm.c = *out;
    gm.lda = k;
    gm.ldb = nn;
    gm.ldc = nn;
    gm.batch = 1;

    size_t a_batches = count(as) / (m * k), b_batches = count(bs) / (k * nn);
    if (b_batches == 1) {
        /* A shared B: A's batch dims fold into M, one GEMM. */
        gm.m = m * a_batches;
        gm.a.off = in[0].off;
        gm.b.off = in[1].off;
        gm.c.off = out->off;
        /* half buffers: a generated product (CLBlast's Sgemm reads float) */
        return lw->plan->elem_size == 2 ? clg_emit_product(lw, &gm) : clg_emit_gemm(lw, &gm);
    }
    gm.m = m;
    if (a_batches == batches && b_batches == batches) {
        gm.batch = batches;
        gm.a.off = in[0].off;
        gm.b.off = in[1].off;
        gm.c.off = out->off;
        gm.a_stride = m * k;
        gm.b_stride = k * nn;
        gm.c_stride = m * nn;
        return clg_emit_product(lw, &gm);
    }
    /* General broadcasting: one GEMM per output matrix. */
    for (size_t i = 0; i < batches; i++) {
        gm.a.off = in[0].off + batch_offset(as, a_batch, &out->shape, out_batch, i, m * k);
        gm.b.off = in[1].off + batch_offset(bs, b_batch, &out->shape, out_batch, i, k * nn);
        gm.c.off = out->off + i * m * nn;
        clg_status s = clg_emit_product(lw, &gm);
        if (s) return s;
    }
    return CLG_OK;
}

clg_status clg_lower_matmul(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    /* One GEMM: as selection decided, its epilogue in the kernel or after. */
    clg_gemm_views views;
    clg_gemm_gen gen;
    if (clg_gemm_of_node(lw->g, n, in, out, NULL, NULL, &views, &gen)) return clg_lower_gemm(lw, n, in, out);
    /* Batched or broadcast products, then the epilogue. */
    clg_status s = lower_products(lw, in, out);
    if (!s && clg_node_has_epilogue(n)) s = clg_emit_epilogue_launch(lw, n, in, out);
    return s;
}
