/* MatMul: a shared B folds A's batch dims into M and runs as a Gemm (chosen
 * like one); batched and broadcast products go to CLBlast. */
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

clg_status clg_lower_matmul(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    (void)n;
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
    gm.a = in[0].buf;
    gm.b = in[1].buf;
    gm.c = out->buf;
    gm.lda = k;
    gm.ldb = nn;
    gm.ldc = nn;
    gm.batch = 1;

    size_t a_batches = count(as) / (m * k), b_batches = count(bs) / (k * nn);
    if (b_batches == 1 && as->rank >= 2 && bs->rank == 2 && m * a_batches <= INT32_MAX) {
        /* A shared matrix B: A's batch dims fold into M, and the product is
         * a Gemm (alpha 1, no bias), chosen between CLBlast and the
         * generated kernels like one. */
        clg_node gn = *n;
        gn.op = CLG_OP_GEMM;
        gn.n_inputs = 2;
        memset(&gn.attrs, 0, sizeof gn.attrs);
        gn.attrs.alpha = 1.0f;
        clg_dev_tensor in2[2] = {in[0], in[1]}, out2 = *out;
        in2[0].shape = (clg_shape){2, {(int64_t)(m * a_batches), (int64_t)k}};
        out2.shape = (clg_shape){2, {(int64_t)(m * a_batches), (int64_t)nn}};
        return clg_lower_gemm(lw, &gn, in2, &out2);
    }
    if (b_batches == 1) {
        /* A shared B: A's batch dims fold into M, one GEMM. */
        gm.m = m * a_batches;
        gm.a_off = in[0].off;
        gm.b_off = in[1].off;
        gm.c_off = out->off;
        return clg_emit_gemm(lw, &gm);
    }
    gm.m = m;
    if (a_batches == batches && b_batches == batches) {
        gm.batch = batches;
        gm.a_off = in[0].off;
        gm.b_off = in[1].off;
        gm.c_off = out->off;
        gm.a_stride = m * k;
        gm.b_stride = k * nn;
        gm.c_stride = m * nn;
        return clg_emit_gemm(lw, &gm);
    }
    /* General broadcasting: one GEMM per output matrix. */
    for (size_t i = 0; i < batches; i++) {
        gm.a_off = in[0].off + batch_offset(as, a_batch, &out->shape, out_batch, i, m * k);
        gm.b_off = in[1].off + batch_offset(bs, b_batch, &out->shape, out_batch, i, k * nn);
        gm.c_off = out->off + i * m * nn;
        clg_status s = clg_emit_gemm(lw, &gm);
        if (s) return s;
    }
    return CLG_OK;
}
