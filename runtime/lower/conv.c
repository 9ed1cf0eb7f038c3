/* Conv2D: im2col and a GEMM, the GEMM through a packed generated kernel (in
 * either orientation) or CLBlast, or an implicit GEMM (the packed kernel
 * reading the NCHW input in place: no im2col, no column matrix in
 * scratch), as selection decided (runtime/gemm/choice.c times the whole
 * convolution each way); depthwise convolutions through a direct kernel
 * (kernels/conv_depthwise.cl); on CPUs other grouped ones through
 * kernels/conv_grouped.cl (vectors of a group's output channels) or the
 * depthwise kernel's vector body (summing each group's channels along an
 * output row), whichever fills more lanes, elsewhere through CLBlast's
 * batched GEMM. A node's epilogue (clg_op_takes_epilogue) runs in the generated and
 * direct kernels' stores, over the NCHW result (clg_epilogue's p), and as a
 * launch after CLBlast. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_file.h"
#include "epilogue.h"
#include "expr.h"
#include "gemm.h"
#include "lower_util.h"

static const clg_kernel_family depthwise_family = {"conv_depthwise.cl", "depthwise"};

/* The node's epilogue for the NCHW result out, parsed (*e NULL: none):
 * ep's inputs point into epi_in, which must live as long as ep. */
typedef struct conv_epilogue {
    clg_expr *e;
    clg_dev_tensor in[CLG_EXPR_MAX_INPUTS];
    clg_epilogue ep;
} conv_epilogue;

static clg_status epilogue_of(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                              const clg_dev_tensor *out, int64_t p, conv_epilogue *ce)
{
    memset(ce, 0, sizeof *ce);
    clg_status s = clg_epilogue_parse(lw, n, &ce->e);
    if (s || !ce->e) return s;
    int own = clg_node_own_inputs(n);
    for (int k = own; k < n->n_inputs && k - own + 1 < CLG_EXPR_MAX_INPUTS; k++) ce->in[k - own + 1] = in[k];
    int64_t pixels = out->shape.dims[2] * out->shape.dims[3];
    ce->ep = (clg_epilogue){ce->e, n->n_inputs - own + 1, ce->in, 0, 0, p < 0 ? -pixels : pixels, &out->shape};
    return CLG_OK;
}

/* Whether ce's epilogue can run in a kernel's store: each input addresses
 * the result's pixels with one stride (see clg_epilogue). */
static bool epilogue_fits(const conv_epilogue *ce)
{
    clg_karg args[1 + 4 * CLG_EXPR_MAX_INPUTS];
    return ce->e && clg_epilogue_args(&ce->ep, args, 1 + 4 * CLG_EXPR_MAX_INPUTS) >= 0;
}

/* Whether the convolution is depthwise: each group one input channel. */
static bool depthwise(const clg_node *n, const clg_shape *xs, const clg_shape *ws)
{
    return n->attrs.group > 1 && n->attrs.group == xs->dims[1] && ws->dims[1] == 1 &&
           ws->dims[0] % n->attrs.group == 0;
}

static size_t count(const clg_shape *s) { return (size_t)clg_shape_count(s); }

static int64_t vec_rows(const clg_shape *ws, const clg_shape *ys, const clg_attrs *at, int64_t min_ow);

/* Whether the grouped (not depthwise) convolution n runs the depthwise
 * kernel's vector body on device ctx (each output summing its group's
 * input channels, kernels/conv_depthwise.cl DW_CG) instead of CLBlast's
 * batched GEMM: on CPUs, or on any device with CLGRAPH_DEPTHWISE=vec,
 * where the body fits (rows of up to 128 outputs at column strides 1 and
 * 2) and a group has at most 256 input channels. torchvision's RegNet-Y
 * 400MF and ResNeXt-50 32x4d at 96x96, batch 8, took 4-5x ONNX Runtime's
 * time through CLBlast (2026-12-07). */
static bool grouped_vec(const clg_context *ctx, const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                        const clg_shape *ys)
{
    const char *force = getenv("CLGRAPH_DEPTHWISE");
    bool on = ctx->info.type == CLG_DEVICE_CPU || (force && !strcmp(force, "vec"));
    return on && n->attrs.group > 1 && !depthwise(n, xs, ws) && xs->dims[1] % n->attrs.group == 0 &&
           ws->dims[0] % n->attrs.group == 0 && ws->dims[1] == xs->dims[1] / n->attrs.group &&
           ws->dims[1] <= 256 && vec_rows(ws, ys, &n->attrs, 1) > 0;
}

/* Whether the grouped (not depthwise) convolution n runs
 * kernels/conv_grouped.cl (runtime/lower/conv_grouped.c: vectors of a
 * group's output channels, as many as divide the outputs per group, up to
 * 16) rather than the depthwise kernel's vector body (vectors of 16 along
 * an output row) or CLBlast. On CPUs, where it can, whichever fills more
 * of its 16 lanes, ties to the grouped kernel: at batch 16 (device time,
 * both CPU runtimes, 2 runs, 2026-12-07) ResNeXt-50 32x4d's 4-channel
 * groups on 16x16 planes took it 1.7-2.4 ms against the row body's
 * 0.7-0.9, its 8-channel groups on 8x8 planes 0.66-1.08 against
 * 1.25-3.8, its 16- and 32-channel groups on 4x4 and 2x2 planes 0.38-0.57
 * against 2.7-11; RegNet-Y 400MF's 8-channel groups on 16x16 outputs
 * (stride 2) 0.62-1.06 against 1.36-2.3. CLGRAPH_GROUPED=vec sends every
 * one the row body takes there, CLGRAPH_GROUPED=kernel every one this
 * kernel can run to it, on any device (Oclgrind's GPU-like device checks
 * it so). */
static bool grouped_kernel(const clg_context *ctx, const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                           const clg_shape *ys)
{
    if (depthwise(n, xs, ws) || !clg_conv_grouped_ok(n, xs, ws, ys)) return false;
    const char *force = getenv("CLGRAPH_GROUPED");
    if (force && !strcmp(force, "kernel")) return true;
    if (ctx->info.type != CLG_DEVICE_CPU) return false;
    if (!grouped_vec(ctx, n, xs, ws, ys)) return true;
    if (force && !strcmp(force, "vec")) return false;
    /* lanes filled: the grouped kernel's vw of 16, the row body's a row's
     * outputs of its vectors' */
    int64_t ow = ys->dims[3], row_lanes = (ow + 15) / 16 * 16;
    return clg_conv_grouped_width(n, ws) * row_lanes >= 16 * ow;
}

/* Whether a grouped (not depthwise) convolution runs a direct kernel of
 * clgraph's own (grouped_kernel's or the depthwise kernel's vector body)
 * instead of CLBlast's batched GEMM. */
static bool grouped_direct(const clg_context *ctx, const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                           const clg_shape *ys)
{
    return grouped_kernel(ctx, n, xs, ws, ys) || grouped_vec(ctx, n, xs, ws, ys);
}

/* The implicit GEMM's geometry for n (*g), and whether it can run n:
 * ungrouped, and every offset it forms (kernels/gemm.cl CONV_A: rows of
 * the batch's pixels, input offsets one channel plane past the input's
 * end) within an int. */
static bool implicit_geom(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys,
                          clg_conv_geom *g)
{
    const clg_attrs *at = &n->attrs;
    *g = (clg_conv_geom){xs->dims[1], xs->dims[2], xs->dims[3], ws->dims[2], ws->dims[3], ys->dims[3],
                         ys->dims[2] * ys->dims[3], at->strides[0], at->strides[1], at->pads[0], at->pads[1],
                         at->dilations[0], at->dilations[1]};
    int64_t rows = xs->dims[0] * g->p, end = clg_shape_count(xs) + g->h * g->w;
    return at->group == 1 && g->p > 0 && rows <= INT32_MAX && end <= INT32_MAX;
}

/* Whether n is pointwise (1x1 kernels, stride 1, no padding, ungrouped):
 * its column matrix is its NCHW input itself, which a vector variant reads
 * in place (CLG_ORIENT_POINTWISE, kernels/gemm.cl CONV_B1), with every
 * offset within an int. */
static bool pointwise(const clg_node *n, const clg_shape *xs, const clg_shape *ws)
{
    const clg_attrs *at = &n->attrs;
    return at->group == 1 && ws->dims[2] == 1 && ws->dims[3] == 1 && at->strides[0] == 1 && at->strides[1] == 1 &&
           !at->pads[0] && !at->pads[1] && !at->pads[2] && !at->pads[3] && xs->dims[2] * xs->dims[3] > 0 &&
           clg_shape_count(xs) <= INT32_MAX && xs->dims[0] * ws->dims[0] * xs->dims[2] * xs->dims[3] <= INT32_MAX;
}

/* What a convolution's choice is keyed by besides its GEMM's shape (the
 * choice file's GEOM): the geometry, the batch and whether it has a bias,
 * which decide what im2col and the implicit GEMM cost. */
static uint64_t geometry_hash(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys)
{
    const clg_attrs *at = &n->attrs;
    int64_t v[] = {xs->dims[0], xs->dims[1], xs->dims[2], xs->dims[3], ws->dims[0], ws->dims[2], ws->dims[3],
                   ys->dims[2], ys->dims[3], at->strides[0], at->strides[1], at->pads[0], at->pads[1],
                   at->pads[2], at->pads[3], at->dilations[0], at->dilations[1], at->group,
                   clg_node_own_inputs(n)};
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, v, sizeof v);
    return h ? h : 1; /* 0 means no convolution */
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

/* The GEMM of a convolution in an orientation, over W seen as [m, kdim]
 * and the column matrix col as [kdim, cols]: W times col into y [m, cols],
 * or flipped, col^T times W^T into y [cols, m] with W the operand packed
 * (once, when it is a constant). Selection times it as it is; lowering adds
 * the bias and the NCHW store. */
static void conv_gemm(clg_orientation o, const clg_dev_tensor *w, const clg_dev_tensor *col,
                      const clg_dev_tensor *y, bool w_constant, int64_t m, int64_t cols, int64_t kdim,
                      clg_gemm_gen *g)
{
    memset(g, 0, sizeof *g);
    bool flipped = o == CLG_ORIENT_FLIPPED;
    g->a = flipped ? col : w;
    g->ta = flipped;
    g->lda = flipped ? cols : kdim;
    g->b = flipped ? w : col;
    g->tb = flipped;
    g->ldb = flipped ? kdim : cols;
    g->b_constant = flipped && w_constant;
    g->y = y;
    g->m = flipped ? cols : m;
    g->n = flipped ? m : cols;
    g->k = kdim;
    g->alpha = 1.0f;
}

/* ce's epilogue into g's store when it fits there (else the caller runs it
 * after). */
static void set_epilogue(clg_gemm_gen *g, const conv_epilogue *ce)
{
    if (!epilogue_fits(ce)) return;
    g->epi = ce->e;
    g->n_epi = ce->ep.n_inputs;
    g->epi_in = ce->in;
    g->epi_p = ce->ep.p;
}

/* Whether the implicit GEMM gets its input with the padding written out
 * (conv_pad_planes): whenever it has padding and the kernel has the
 * specialised loops (gemm/variants.c's CONV_KH condition). In bounds,
 * a tile in one output row takes kernels/gemm.cl's interior loop and any
 * other the row-pointer loop (CONV_INB); with the padding read in place,
 * every tile touching it, and every tile across rows, took the general
 * loop, which works out offsets and bounds again at every tap. Measured
 * on PoCL (bench/README.md): ~10% on the 3x3 32->32 convolution on 32x32
 * images (half its 8-pixel tiles touch the padding), the copy included;
 * 1.3-1.4x (median time) with p8x32 on 4x4, 2x2 and 7x7 images
 * (resnet18's layers 3 and 4 at 64x64 and layer 4 at 224x224: 8-pixel
 * tiles across rows and images); the copy itself costs 0.1-0.25 ms on a
 * 16-image 64x16x16 input. *pg: the padded geometry (no pads, the grown
 * planes). */
static bool pad_first(const clg_node *n, const clg_conv_geom *g, int64_t images, int variant, clg_conv_geom *pg)
{
    const clg_attrs *at = &n->attrs;
    const clg_gemm_variant *v = &clg_gemm_variants[variant];
    int64_t ph = g->h + at->pads[0] + at->pads[2], pw = g->w + at->pads[1] + at->pads[3];
    *pg = *g;
    pg->h = ph;
    pg->w = pw;
    pg->pt = pg->pl = 0;
    /* only where the interior loop exists (gemm/variants.c's CONV_KH
     * condition) and the grown input's offsets still fit an int */
    bool any_pad = at->pads[0] || at->pads[1] || at->pads[2] || at->pads[3];
    if (!any_pad || v->wm > 0 || v->nr == 0 || g->kh * g->kw > 49 || g->sw > 8 || g->dw > 8) return false;
    return images * g->c * ph * pw + ph * pw <= INT32_MAX;
}

clg_status clg_conv_pad_planes(clg_lower *lw, const clg_node *n, const clg_dev_tensor *x, int64_t ph, int64_t pw,
                               clg_dev_tensor *xp)
{
    const clg_shape *xs = &x->shape;
    int64_t rows = xs->dims[0] * xs->dims[1] * ph;
    clg_status s = clg_scratch(lw, (size_t)(rows * pw), xp);
    if (s) return s;
    xp->shape = (clg_shape){4, {xs->dims[0], xs->dims[1], ph, pw}};
    size_t grid[1] = {clg_grid_size(rows)};
    clg_karg args[] = {
        CLG_ARG_T(x),         CLG_ARG_T(xp),        CLG_ARG_I(rows), CLG_ARG_I(xs->dims[2]),
        CLG_ARG_I(xs->dims[3]), CLG_ARG_I(ph),      CLG_ARG_I(pw),    CLG_ARG_I(n->attrs.pads[0]),
        CLG_ARG_I(n->attrs.pads[1]),
    };
    return clg_emit_kernel(lw, "conv.cl", "pad_planes", NULL, 1, grid, args, (int)(sizeof args / sizeof *args));
}

/* The implicit GEMM: the flipped product, C^T = col^T W^T with W^T packed
 * once, but the kernel forms col^T's rows from the NCHW input itself
 * (kernels/gemm.cl CONV_A), so no im2col runs and no column matrix takes
 * scratch; bias and epilogue as in the flipped path. One launch (two with
 * weights that are no constant: they are packed every run). */
static clg_status lower_conv_implicit(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                      const clg_dev_tensor *out, int variant, int64_t m, int64_t cols,
                                      int64_t kdim, const conv_epilogue *ce)
{
    clg_conv_geom geom;
    if (!implicit_geom(n, &in[0].shape, &in[1].shape, &out->shape, &geom))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the implicit GEMM cannot run this convolution");
    clg_conv_geom padded;
    clg_dev_tensor x = in[0];
    if (pad_first(n, &geom, in[0].shape.dims[0], variant, &padded)) {
        clg_status s = clg_conv_pad_planes(lw, n, &in[0], padded.h, padded.w, &x);
        if (s) return s;
        geom = padded;
    }
    clg_dev_tensor w = in[1];
    w.shape = (clg_shape){2, {m, kdim}};
    clg_gemm_gen g;
    conv_gemm(CLG_ORIENT_FLIPPED, &w, &x, out, !clg_value_in_arena(lw->g, n->inputs[1]), m, cols, kdim, &g);
    g.ta = false; /* A is no matrix: the kernel reads it through geom */
    g.lda = 0;
    g.conv = &geom;
    g.y_p = geom.p > 1 ? -geom.p : 0;
    set_epilogue(&g, ce);
    if (clg_node_own_inputs(n) == 3) {
        g.bias = &in[2];
        g.beta = 1.0f;
    }
    return clg_emit_gemm_gen(lw, &g, variant);
}

/* W [m, kdim] times the column matrix col as written: packed by
 * im2col_panel, or (b_nchw) a pointwise convolution's NCHW input itself;
 * the bias per row, the epilogue and the NCHW store (y_p) in the kernel's
 * store. */
static clg_status emit_as_written(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                  const clg_dev_tensor *out, int variant, const clg_dev_tensor *col, bool b_nchw,
                                  int64_t m, int64_t cols, int64_t kdim, int64_t p_count, const conv_epilogue *ce)
{
    clg_dev_tensor w = in[1], bias;
    w.shape = (clg_shape){2, {m, kdim}};
    clg_gemm_gen g;
    conv_gemm(CLG_ORIENT_AS_WRITTEN, &w, col, out, false, m, cols, kdim, &g);
    g.b_packed = !b_nchw; /* im2col_panel wrote it packed */
    g.b_nchw = b_nchw;
    if (b_nchw) g.ldb = p_count;
    g.y_p = out->shape.dims[0] > 1 ? p_count : 0;
    set_epilogue(&g, ce);
    if (clg_node_own_inputs(n) == 3) {
        bias = in[2];
        bias.shape = (clg_shape){2, {m, 1}};
        g.bias = &bias;
        g.beta = 1.0f;
    }
    return clg_emit_gemm_gen(lw, &g, variant);
}

/* Convolution through a packed-B GEMM kernel, W times the column matrix (few
 * channels, many pixels): im2col writes the column
 * matrix straight into the kernel's packed layout, and the kernel adds the
 * bias and writes NCHW itself, so one image or many take two launches. */
static clg_status lower_conv_packed(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out, int variant, const clg_karg *im2col_args,
                                    int n_im2col_args, int64_t m, int64_t cols,
                                    int64_t kdim, int64_t p_count, const conv_epilogue *ce)
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
    return emit_as_written(lw, n, in, out, variant, &col, false, m, cols, kdim, p_count, ce);
}

/* A pointwise convolution on a vector variant: W [M, C] times the NCHW
 * input read in place as the column matrix [C, B*P] (kernels/gemm.cl
 * CONV_B1), each work-item a few output channels by 16 pixels of one
 * image; the bias, the epilogue and the NCHW store (y_p) in its store. One
 * launch, no packing: the flipped and implicit products store a pixel's
 * channels a plane apart and compute whole 32- or 64-channel panels
 * (MobileNetV2's 32 -> 16). */
static clg_status lower_conv_pointwise(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                       const clg_dev_tensor *out, int variant, int64_t m, int64_t cols,
                                       int64_t kdim, int64_t p_count, const conv_epilogue *ce)
{
    if (!pointwise(n, &in[0].shape, &in[1].shape))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the convolution is not pointwise");
    clg_dev_tensor x = in[0];
    x.shape = (clg_shape){2, {kdim, cols}};
    return emit_as_written(lw, n, in, out, variant, &x, true, m, cols, kdim, p_count, ce);
}

/* The other orientation, for few pixels and many channels: C^T = col^T W^T,
 * [B*P, M], with the weights as the packed operand (packed once: they are
 * constant) and the plain column matrix read transposed; the kernel adds
 * the bias per column and writes NCHW (y_p = -P). */
static clg_status lower_conv_flipped(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                     const clg_dev_tensor *out, int variant, clg_karg *im2col_args,
                                     int n_im2col_args, const size_t *im2col_grid, int64_t m, int64_t cols,
                                     int64_t kdim, int64_t p_count, const conv_epilogue *ce)
{
    clg_dev_tensor col;
    clg_status s = emit_columns(lw, im2col_args, n_im2col_args, im2col_grid, (size_t)(kdim * cols), &col);
    if (s) return s;
    clg_dev_tensor w = in[1];
    w.shape = (clg_shape){2, {m, kdim}};
    col.shape = (clg_shape){2, {kdim, cols}};
    clg_gemm_gen g;
    conv_gemm(CLG_ORIENT_FLIPPED, &w, &col, out, !clg_value_in_arena(lw->g, n->inputs[1]), m, cols, kdim, &g);
    g.y_p = p_count > 1 ? -p_count : 0;
    set_epilogue(&g, ce);
    if (clg_node_own_inputs(n) == 3) {
        g.bias = &in[2];
        g.beta = 1.0f;
    }
    return clg_emit_gemm_gen(lw, &g, variant);
}

clg_status clg_select_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out, clg_decision *d)
{
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    int64_t groups = n->attrs.group, m = ws->dims[0] / groups;
    int64_t kdim = xs->dims[1] / groups * ws->dims[2] * ws->dims[3];
    int64_t cols = xs->dims[0] * ys->dims[2] * ys->dims[3];
    *d = (clg_decision){CLG_BACKEND_CLBLAST, -1, CLG_ORIENT_AS_WRITTEN, false};
    /* Depthwise ones run their own kernel, the epilogue in its store, and
     * so do grouped ones on CPUs (grouped_direct). */
    if (depthwise(n, xs, ws) || grouped_direct(lw->ctx, n, xs, ws, ys)) {
        *d = (clg_decision){CLG_BACKEND_DEFAULT, 0, CLG_ORIENT_AS_WRITTEN, true};
        return CLG_OK;
    }
    /* Other grouped convolutions (not grouped_direct's) run as CLBlast's
     * batched GEMM. */
    if (groups != 1 || cols <= 0 || kdim <= 0 || cols > INT32_MAX) return CLG_OK;
    /* Keyed by the im2col GEMM's shape, W [M, K] times the column matrix
     * [K, B*P] (its other orientation col^T [B*P, K] times W^T), and the
     * geometry. */
    clg_dev_tensor w = in[1], col = {0}, y = *out, yt = *out;
    w.shape = (clg_shape){2, {m, kdim}};
    col.shape = (clg_shape){2, {kdim, cols}};
    y.shape = (clg_shape){2, {m, cols}};
    yt.shape = (clg_shape){2, {cols, m}};
    bool w_constant = !clg_value_in_arena(lw->g, n->inputs[1]);
    clg_gemm_gen direct, flipped;
    conv_gemm(CLG_ORIENT_AS_WRITTEN, &w, &col, &y, w_constant, m, cols, kdim, &direct);
    conv_gemm(CLG_ORIENT_FLIPPED, &w, &col, &yt, w_constant, m, cols, kdim, &flipped);
    /* What is timed is the whole convolution, each way (choice.c). */
    clg_conv_geom geom;
    clg_conv_job job = {n, in, clg_node_own_inputs(n), out, geometry_hash(n, xs, ws, ys),
                        implicit_geom(n, xs, ws, ys, &geom), pointwise(n, xs, ws),
                        clg_conv_winograd_ok(n, xs, ws, ys), clg_conv_direct_ok(n, xs, ws, ys)};
    return clg_gemm_decide(lw, &direct, &flipped, &job, d);
}

/* The depthwise kernel's plane body (DW_PLANE) takes a plane, or a strip
 * of its rows, up to these sizes: outputs (a work-item's accumulators),
 * inputs (loads unrolled), outputs times taps (FMAs unrolled). Measured at
 * batch 16 against the rows (2026-12-07, both CPU runtimes, 2 runs): 4x4
 * and 2x2 planes 1.7-3.5x faster, 8x8 and 7x7 with 3x3 taps 2-4x; beyond,
 * worse on Intel's runtime: 8x8 outputs of 5x5 taps 2.1-2.3 ms against
 * 1.8 (PoCL: 0.6 against 1.3), and 8x8 outputs from 16x16 inputs
 * (stride 2) whole 0.49 against 0.28 (latency); in strips of 2 rows (80
 * inputs) 0.24 ms of device time against the rows' 0.38 (PoCL 0.14-0.28
 * against 0.53), of 4 (144 inputs) 1.2-1.3. Against the float8 blocks
 * (rows wider than 8) a strip must also load each input at most
 * DW_STRIP_LOADS times per output:
 * [16,144,16,16] in strips of 4 rows (1.5 loads per output) 0.51-0.53 ms
 * against 0.74 (device time, Intel's runtime), [16,32,32,32] in strips of
 * one row (3 per output) 0.58-0.60 against 0.44-0.56. */
enum { DW_PLANE_MAX_OUT = 64, DW_PLANE_MAX_IN = 100, DW_PLANE_MAX_FMAS = 64 * 9, DW_STRIP_LOADS = 2 };

/* How many output rows a work-item of the plane body takes: the whole
 * plane where it fits the limits above; else the most rows that fit
 * (and, for rows the float8 blocks would take, load few enough: a strip's
 * input rows overlap its neighbours' by the taps' height); 0 when none
 * does. */
static int64_t plane_rows(const clg_shape *xs, const clg_shape *ws, const clg_shape *ys, const clg_attrs *at)
{
    int64_t oh = ys->dims[2], ow = ys->dims[3], taps = ws->dims[2] * ws->dims[3];
    if (oh * ow <= DW_PLANE_MAX_OUT && xs->dims[2] * xs->dims[3] <= DW_PLANE_MAX_IN &&
        oh * ow * taps <= DW_PLANE_MAX_FMAS)
        return oh;
    for (int64_t r = oh - 1; r >= 1; r--) {
        int64_t loads = ((r - 1) * at->strides[0] + (ws->dims[2] - 1) * at->dilations[0] + 1) * xs->dims[3];
        if (r * ow <= DW_PLANE_MAX_OUT && loads <= DW_PLANE_MAX_IN && r * ow * taps <= DW_PLANE_MAX_FMAS &&
            (ow <= 8 || loads <= DW_STRIP_LOADS * r * ow))
            return r;
    }
    return 0;
}

/* The depthwise vector body (kernels/conv_depthwise.cl DW_VEC) takes
 * output rows of 16 outputs and more (a grouped convolution's of any
 * width, min_ow) within clg_vec_rows_strip's limits (a 16x16 plane whole,
 * 32-wide rows 8 at a time). Against the plane, strip and block bodies, device
 * time at batch 16 (3x3, Clip epilogue, 4-6 interleaved runs, minima):
 * [16,144,16,16] 0.61 -> 0.29-0.31 ms on Intel's runtime, 0.60-0.92 ->
 * 0.28-0.46 on PoCL; [16,32,32,32] 0.71 -> 0.17, 0.44-0.70 -> 0.21-0.36;
 * [16,24,37,37] 0.67 -> 0.23, 0.77-1.38 -> 0.60-0.65; stride 2
 * [16,96,32,32] 0.42-0.90 -> 0.34-0.38, 0.48-0.68 -> 0.48-0.76 on PoCL
 * (within its noise; strips of 8). */
/* Rows per strip of the vector body for this convolution, 0 when it does
 * not take it. */
static int64_t vec_rows(const clg_shape *ws, const clg_shape *ys, const clg_attrs *at, int64_t min_ow)
{
    if (ys->dims[3] < min_ow) return 0;
    return clg_vec_rows_strip(ys->dims[2], ys->dims[3], ws->dims[2], ws->dims[3], at->strides[0], at->strides[1],
                              at->dilations[0], at->dilations[1]);
}

/* A depthwise convolution through kernels/conv_depthwise.cl, its bias and
 * epilogue in the store (the epilogue after it when it does not fit). */
static clg_status lower_depthwise(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                  const clg_dev_tensor *out, const conv_epilogue *ce)
{
    const clg_attrs *at = &n->attrs;
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    /* a work-item per output row (kernels/conv_depthwise.cl) */
    int64_t rows = ys->dims[0] * ys->dims[1] * ys->dims[2];
    if (rows > INT32_MAX) return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "%lld output rows, more than 2^31", (long long)rows);
    bool has_bias = clg_node_own_inputs(n) == 3, in_kernel = epilogue_fits(ce);
    char defines[256];
    /* On CPUs (kernels/conv_depthwise.cl says why): small planes whole,
     * or strips of a few rows, a work-item each, their sizes compiled in;
     * other rows of more than 8 outputs in float8 blocks; the rest an
     * output at a time. Planes and blocks are CPU-shaped (a 5x5 block
     * kernel needed scratch on gfx1100). */
    bool cpu = lw->ctx->info.type == CLG_DEVICE_CPU;
    /* a grouped convolution (grouped_direct): the vector body, on rows of
     * any width, each output summing its group's input channels */
    int64_t cg = ws->dims[1];
    int64_t strip = plane_rows(xs, ws, ys, at), vstrip = vec_rows(ws, ys, at, cg > 1 ? 1 : 16);
    bool fits_plane = strip > 0 && cg == 1, fits_vec = vstrip > 0;
    bool vec = (cpu || cg > 1) && fits_vec, plane = cpu && !vec && fits_plane;
    bool blocks = cpu && !vec && !plane && ys->dims[3] > 8;
    /* CLGRAPH_DEPTHWISE=vec, plane, blocks or rows forces one body on any
     * device (vec, plane: where they fit), so that a device of the other
     * class checks it too (tests/test_oclgrind.sh: Oclgrind's device is a
     * GPU) */
    const char *force = getenv("CLGRAPH_DEPTHWISE");
    if (force && cg == 1 && !strcmp(force, "vec")) vec = fits_vec, plane = blocks = false;
    if (force && cg == 1 && !strcmp(force, "plane")) plane = fits_plane, vec = blocks = false;
    if (force && cg == 1 && !strcmp(force, "blocks")) plane = vec = false, blocks = true;
    if (force && cg == 1 && !strcmp(force, "rows")) plane = vec = blocks = false;
    if (cg > 1 && !vec)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the grouped convolution fits no direct body");
    if (vec) strip = vstrip;
    int len = snprintf(defines, sizeof defines, "-DKH=%d -DKW=%d%s", (int)ws->dims[2], (int)ws->dims[3],
                       blocks ? " -DDW_BLOCKS=1" : "");
    if (plane || vec)
        len += snprintf(defines + len, sizeof defines - (size_t)len,
                        " -DDW_%s=1 -DDW_IH=%d -DDW_IW=%d -DDW_OH=%d -DDW_OW=%d -DDW_SH=%d -DDW_SW=%d -DDW_PT=%d"
                        " -DDW_PL=%d -DDW_DH=%d -DDW_DW=%d -DDW_R=%d",
                        vec ? "VEC" : "PLANE", (int)xs->dims[2], (int)xs->dims[3], (int)ys->dims[2],
                        (int)ys->dims[3], (int)at->strides[0], (int)at->strides[1], (int)at->pads[0],
                        (int)at->pads[1], (int)at->dilations[0], (int)at->dilations[1], (int)strip);
    if (cg > 1) snprintf(defines + len, sizeof defines - (size_t)len, " -DDW_CG=%d", (int)cg);
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1]), CLG_ARG_T(has_bias ? &in[2] : &in[1]), CLG_ARG_I(has_bias),
        CLG_ARG_T(out), CLG_ARG_I(xs->dims[0]), CLG_ARG_I(xs->dims[1]), CLG_ARG_I(xs->dims[2]),
        CLG_ARG_I(xs->dims[3]), CLG_ARG_I(ws->dims[0] / at->group), CLG_ARG_I(ys->dims[2]),
        CLG_ARG_I(ys->dims[3]), CLG_ARG_I(at->strides[0]), CLG_ARG_I(at->strides[1]), CLG_ARG_I(at->pads[0]),
        CLG_ARG_I(at->pads[1]), CLG_ARG_I(at->dilations[0]), CLG_ARG_I(at->dilations[1]),
    };
    /* a work-item per output row, or per strip of `strip` rows */
    int64_t items = plane || vec ? ys->dims[0] * ys->dims[1] * ((ys->dims[2] + strip - 1) / strip) : rows;
    clg_launch l = {&depthwise_family, "depthwise", defines, 1, {clg_grid_size(items)}, {0}, args,
                    (int)(sizeof args / sizeof *args), in_kernel ? &ce->ep : NULL};
    clg_status s = clg_emit_launch(lw, &l);
    if (!s && ce->e && !in_kernel) s = clg_emit_epilogue_launch(lw, n, in, out);
    return s;
}

static clg_status lower_conv(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out, const clg_decision *d, const conv_epilogue *ce)
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

    if (groups > 1 && d->backend == CLG_BACKEND_DEFAULT && grouped_kernel(lw->ctx, n, xs, ws, ys)) {
        s = clg_lower_conv_grouped(lw, n, in, out, epilogue_fits(ce) ? &ce->ep : NULL);
        if (!s && ce->e && !epilogue_fits(ce)) s = clg_emit_epilogue_launch(lw, n, in, out);
        return s;
    }
    if (depthwise(n, xs, ws) || (groups > 1 && d->backend == CLG_BACKEND_DEFAULT))
        return lower_depthwise(lw, n, in, out, ce);
    if (d->backend == CLG_BACKEND_GENERATED && d->orientation == CLG_ORIENT_IMPLICIT)
        return lower_conv_implicit(lw, n, in, out, d->variant, (int64_t)m_group, (int64_t)cols, (int64_t)kdim, ce);
    if (d->backend == CLG_BACKEND_GENERATED && clg_winograd_tile(d->orientation))
        return clg_lower_conv_winograd(lw, n, in, out, d->variant, clg_winograd_tile(d->orientation),
                                       epilogue_fits(ce) ? &ce->ep : NULL);
    if (d->backend == CLG_BACKEND_GENERATED && d->orientation == CLG_ORIENT_DIRECT)
        return clg_lower_conv_direct(lw, n, in, out, d->variant, epilogue_fits(ce) ? &ce->ep : NULL);
    if (d->backend == CLG_BACKEND_GENERATED && d->orientation == CLG_ORIENT_POINTWISE)
        return lower_conv_pointwise(lw, n, in, out, d->variant, (int64_t)m_group, (int64_t)cols, (int64_t)kdim,
                                    (int64_t)p_count, ce);
    if (d->backend == CLG_BACKEND_GENERATED && d->orientation == CLG_ORIENT_FLIPPED)
        return lower_conv_flipped(lw, n, in, out, d->variant, im2col_args, n_im2col_args, im2col_grid,
                                  (int64_t)m_group, (int64_t)cols, (int64_t)kdim, (int64_t)p_count, ce);
    if (d->backend == CLG_BACKEND_GENERATED)
        return lower_conv_packed(lw, n, in, out, d->variant, im2col_args, n_im2col_args, (int64_t)m_group,
                                 (int64_t)cols, (int64_t)kdim, (int64_t)p_count, ce);

    clg_dev_tensor col;
    if ((s = emit_columns(lw, im2col_args, n_im2col_args, im2col_grid, kdim * (size_t)groups * cols, &col)))
        return s;
    /* With one image the GEMM result already is NCHW: write it in place
     * (the bias pre-filled); otherwise go through [M, B*P] and reorder. */
    bool half = lw->plan->elem_size == 2;
    bool direct = batch == 1 && !half;
    clg_dev_tensor t = *out;
    if (!direct && (s = clg_scratch(lw, (size_t)out_ch * cols, &t))) return s;
    clg_gemm gm = {0};
    gm.m = m_group;
    gm.n = cols;
    gm.k = kdim;
    gm.alpha = 1.0f;
    gm.a = in[1];
    gm.lda = kdim;
    gm.a_stride = m_group * kdim;
    gm.b = col;
    gm.ldb = cols;
    gm.b_stride = kdim * cols;
    gm.c = t;
    gm.ldc = cols;
    gm.c_stride = m_group * cols;
    gm.batch = (size_t)groups;
    bool has_bias = clg_node_own_inputs(n) == 3;
    if (direct && has_bias) {
        clg_dev_tensor bias = in[2];
        bias.shape = (clg_shape){3, {out_ch, 1, 1}};
        if ((s = clg_emit_broadcast_copy(lw, &bias, out))) return s;
        gm.beta = 1.0f;
    }
    /* Half buffers: CLBlast's Sgemm cannot read them, so the groups run as
     * one batched generated product (beta 0: the bias comes with the
     * reorder below). */
    if ((s = half ? clg_emit_product(lw, &gm) : clg_emit_gemm(lw, &gm))) return s;
    if (!direct) {
        size_t grid[1] = {clg_grid_size((int64_t)count(ys))};
        clg_karg args[] = {
            CLG_ARG_T(&t), CLG_ARG_T(has_bias ? &in[2] : &t), CLG_ARG_I(has_bias), CLG_ARG_T(out),
            CLG_ARG_I(count(ys)), CLG_ARG_I(batch), CLG_ARG_I(out_ch), CLG_ARG_I(p_count),
        };
        s = clg_emit_kernel(lw, "conv.cl", "gemm_to_nchw", NULL, 1, grid, args, (int)(sizeof args / sizeof *args));
    }
    /* CLBlast's result gets the epilogue as a launch after it. */
    if (!s && ce->e) s = clg_emit_epilogue_launch(lw, n, in, out);
    return s;
}

clg_status clg_emit_conv_trial(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out, const clg_decision *d)
{
    conv_epilogue none;
    memset(&none, 0, sizeof none);
    return lower_conv(lw, n, in, out, d, &none);
}

clg_status clg_lower_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const clg_decision *d = clg_decision_of(lw);
    /* both products whose rows are pixels: their epilogue's p is negative */
    bool flipped = d->backend == CLG_BACKEND_GENERATED &&
                   (d->orientation == CLG_ORIENT_FLIPPED || d->orientation == CLG_ORIENT_IMPLICIT);
    conv_epilogue ce;
    clg_status s = epilogue_of(lw, n, in, out, flipped ? -1 : 1, &ce);
    if (s) return s;
    s = lower_conv(lw, n, in, out, d, &ce);
    /* The generated kernels ran it in their stores where it fits (the
     * depthwise and CLBlast paths see to theirs). */
    bool generated = d->backend == CLG_BACKEND_GENERATED && !depthwise(n, &in[0].shape, &in[1].shape);
    if (!s && ce.e && generated && !epilogue_fits(&ce)) s = clg_emit_epilogue_launch(lw, n, in, out);
    clg_mem_free(&lw->ctx->allocator, ce.e);
    return s;
}
