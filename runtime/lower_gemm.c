/* Gemm, MatMul and Conv2D through CLBlast; Gemm, and MatMul with a shared
 * B, also through generated kernels (gemm_generated.c) when gemm_choice.c
 * finds them faster. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lower.h"
#include "lower_util.h"
#include "plan.h"

static size_t count(const clg_shape *s) { return (size_t)clg_shape_count(s); }

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

/* The column matrix, [G*Cg*kh*kw, B*P] plain, into scratch of elems floats
 * (*col), by im2col_rows (args: the conv's im2col arguments, [1] set here;
 * grid: (images * output rows, column-matrix rows)). */
static clg_status emit_columns(clg_lower *lw, clg_karg *args, int n_args, const size_t *grid, size_t elems,
                               clg_dev_tensor *col)
{
    clg_status s = clg_scratch(lw, elems, col);
    if (s) return s;
    args[1] = CLG_ARG_T(col);
    return clg_emit_kernel(lw, "conv.cl", "im2col_rows", NULL, 2, grid, args, n_args);
}

/* Convolution through a packed-B GEMM kernel, W times the column matrix (few
 * channels, many pixels): im2col writes the column
 * matrix straight into the kernel's packed layout, and the kernel adds the
 * bias and writes NCHW itself, so one image or many take two launches. */
static clg_status lower_conv_packed(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out, int variant, const clg_karg *im2col_args,
                                    int n_im2col_args, int64_t m, int64_t cols,
                                    int64_t kdim, int64_t p_count)
{
    clg_dev_tensor col;
    clg_status s = clg_scratch(lw, clg_gemm_packed_elems(variant, cols, kdim), &col);
    if (s) return s;
    clg_karg args[17];
    memcpy(args, im2col_args, (size_t)n_im2col_args * sizeof *args);
    args[1] = CLG_ARG_T(&col);
    int nr = clg_gemm_variants[variant].nr;
    char options[32];
    snprintf(options, sizeof options, "-DPACK_NR=%d", nr);
    size_t grid[2] = {clg_grid_size((int64_t)kdim), (size_t)((cols + nr - 1) / nr)};
    args[n_im2col_args] = CLG_ARG_I(kdim);
    s = clg_emit_kernel(lw, "conv.cl", "im2col_panel", options, 2, grid, args, n_im2col_args + 1);
    if (s) return s;
    clg_dev_tensor w = in[1], bias;
    w.shape = (clg_shape){2, {m, kdim}};
    clg_gemm_gen g = {0};
    g.a = &w;
    g.lda = kdim;
    g.b = &col;
    g.b_packed = true;
    g.y = out;
    g.y_p = out->shape.dims[0] > 1 ? p_count : 0;
    g.m = m;
    g.n = cols;
    g.k = kdim;
    g.alpha = 1.0f;
    if (n->n_inputs == 3) {
        bias = in[2];
        bias.shape = (clg_shape){2, {m, 1}};
        g.bias = &bias;
        g.beta = 1.0f;
    }
    return clg_emit_gemm_gen(lw, &g, variant);
}

/* The other orientation, for few pixels and many channels: C^T = col^T W^T,
 * [B*P, M], with the weights as the packed operand (packed once: they are
 * constant) and the plain column matrix read transposed; the kernel adds
 * the bias per column and writes NCHW (y_p = -P). */
static clg_status lower_conv_flipped(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                     const clg_dev_tensor *out, int variant, clg_karg *im2col_args,
                                     int n_im2col_args, const size_t *im2col_grid, int64_t m, int64_t cols,
                                     int64_t kdim, int64_t p_count)
{
    clg_dev_tensor col;
    clg_status s = emit_columns(lw, im2col_args, n_im2col_args, im2col_grid, (size_t)(kdim * cols), &col);
    if (s) return s;
    clg_dev_tensor w = in[1];
    w.shape = (clg_shape){2, {m, kdim}};
    col.shape = (clg_shape){2, {kdim, cols}};
    clg_gemm_gen g = {0};
    g.a = &col;
    g.ta = true;
    g.lda = cols;
    g.b = &w;
    g.tb = true;
    g.ldb = kdim;
    g.b_constant = !clg_value_in_arena(lw->g, n->inputs[1]);
    g.y = out;
    g.y_p = p_count > 1 ? -p_count : 0;
    g.m = cols;
    g.n = m;
    g.k = kdim;
    g.alpha = 1.0f;
    if (n->n_inputs == 3) {
        g.bias = &in[2];
        g.beta = 1.0f;
    }
    return clg_emit_gemm_gen(lw, &g, variant - CLG_GEMM_VARIANTS);
}

clg_status clg_lower_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const clg_attrs *at = &n->attrs;
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    int batch = (int)xs->dims[0], channels = (int)xs->dims[1];
    int height = (int)xs->dims[2], width = (int)xs->dims[3];
    int out_ch = (int)ws->dims[0], kh = (int)ws->dims[2], kw = (int)ws->dims[3];
    int out_h = (int)ys->dims[2], out_w = (int)ys->dims[3];
    int groups = (int)at->group;
    size_t p_count = (size_t)out_h * (size_t)out_w;
    size_t kdim = (size_t)(channels / groups) * (size_t)kh * (size_t)kw; /* GEMM K per group */
    size_t cols = (size_t)batch * p_count;
    size_t m_group = (size_t)(out_ch / groups);

    /* im2col_rows' grid: (image, output row), column-matrix row */
    size_t im2col_grid[2] = {clg_grid_size((int64_t)batch * out_h), kdim * (size_t)groups};
    clg_karg im2col_args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[0]) /* the column matrix, below */, CLG_ARG_I(batch),
        CLG_ARG_I(channels), CLG_ARG_I(height), CLG_ARG_I(width), CLG_ARG_I(kh), CLG_ARG_I(kw),
        CLG_ARG_I(out_h),  CLG_ARG_I(out_w),     CLG_ARG_I(at->strides[0]), CLG_ARG_I(at->strides[1]),
        CLG_ARG_I(at->pads[0]), CLG_ARG_I(at->pads[1]), CLG_ARG_I(at->dilations[0]),
        CLG_ARG_I(at->dilations[1]),
    };
    int n_im2col_args = (int)(sizeof im2col_args / sizeof *im2col_args);
    clg_status s;

    if (groups == 1 && cols > 0 && kdim > 0 && cols <= INT32_MAX) {
        /* Chosen like a Gemm of the same shape: W [M, K] times the column
         * matrix [K, B*P], which is not a constant (the node itself stands
         * for it as B); or the other way round, col^T [B*P, K] times W^T. */
        int ins[2] = {n->inputs[1], lw->node}, alt_ins[2] = {lw->node, n->inputs[1]}, variant, unused;
        clg_node gn = *n, an;
        gn.op = CLG_OP_GEMM;
        gn.n_inputs = 2;
        gn.inputs = ins;
        memset(&gn.attrs, 0, sizeof gn.attrs);
        gn.attrs.alpha = 1.0f;
        an = gn;
        an.inputs = alt_ins;
        an.attrs.trans_a = an.attrs.trans_b = 1;
        clg_dev_tensor gin[2] = {in[1], in[0]}, gout = *out, ain[2] = {in[0], in[1]}, aout = *out;
        gin[0].shape = (clg_shape){2, {(int64_t)m_group, (int64_t)kdim}};
        gin[1].shape = (clg_shape){2, {(int64_t)kdim, (int64_t)cols}};
        gout.shape = (clg_shape){2, {(int64_t)m_group, (int64_t)cols}};
        ain[0].shape = gin[1].shape;
        ain[1].shape = gin[0].shape;
        aout.shape = (clg_shape){2, {(int64_t)cols, (int64_t)m_group}};
        clg_gemm_alt alt = {&an, ain, &aout};
        if ((s = clg_gemm_choose(lw, &gn, gin, &gout, &alt, &variant, &unused))) return s;
        if (variant >= CLG_GEMM_VARIANTS)
            return lower_conv_flipped(lw, n, in, out, variant, im2col_args, n_im2col_args, im2col_grid,
                                      (int64_t)m_group, (int64_t)cols, (int64_t)kdim, (int64_t)p_count);
        if (variant >= 0)
            return lower_conv_packed(lw, n, in, out, variant, im2col_args, n_im2col_args,
                                     (int64_t)m_group, (int64_t)cols, (int64_t)kdim, (int64_t)p_count);
    }

    clg_dev_tensor col;
    if ((s = emit_columns(lw, im2col_args, n_im2col_args, im2col_grid, kdim * (size_t)groups * cols, &col)))
        return s;
    /* With one image the GEMM result already is NCHW: write it in place
     * (the bias pre-filled); otherwise go through [M, B*P] and reorder. */
    bool direct = batch == 1;
    clg_dev_tensor t = *out;
    if (!direct && (s = clg_scratch(lw, (size_t)out_ch * cols, &t))) return s;
    clg_gemm gm = {0};
    gm.m = m_group;
    gm.n = cols;
    gm.k = kdim;
    gm.alpha = 1.0f;
    gm.a = in[1].buf;
    gm.a_off = in[1].off;
    gm.lda = kdim;
    gm.a_stride = m_group * kdim;
    gm.b = col.buf;
    gm.b_off = col.off;
    gm.ldb = cols;
    gm.b_stride = kdim * cols;
    gm.c = t.buf;
    gm.c_off = t.off;
    gm.ldc = cols;
    gm.c_stride = m_group * cols;
    gm.batch = (size_t)groups;
    bool has_bias = n->n_inputs == 3;
    if (direct && has_bias) {
        clg_dev_tensor bias = in[2];
        bias.shape = (clg_shape){3, {out_ch, 1, 1}};
        if ((s = clg_emit_broadcast_copy(lw, &bias, out))) return s;
        gm.beta = 1.0f;
    }
    if ((s = clg_emit_gemm(lw, &gm))) return s;
    if (direct) return CLG_OK;

    size_t grid[1] = {clg_grid_size((int64_t)count(ys))};
    clg_karg args[] = {
        CLG_ARG_T(&t), CLG_ARG_T(has_bias ? &in[2] : &t), CLG_ARG_I(has_bias), CLG_ARG_T(out),
        CLG_ARG_I(count(ys)), CLG_ARG_I(batch), CLG_ARG_I(out_ch), CLG_ARG_I(p_count),
    };
    return clg_emit_kernel(lw, "conv.cl", "gemm_to_nchw", NULL, 1, grid, args,
                           (int)(sizeof args / sizeof *args));
}
