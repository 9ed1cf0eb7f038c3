/* Conv2D as a direct convolution on NCHW (kernels/conv_direct.cl says the
 * kernel): stride 1, ungrouped, vectors of 16 neighbouring output pixels
 * by a few output channels per work-item, the weights packed once into
 * blocks of those channels (kernels/conv.cl direct_weights), the input's
 * padding read in place where its rows are a multiple of 16 wide, else
 * written out first (pad_planes) unless it needs none. One launch per run
 * (two with the padding written out), the bias and the epilogue in the
 * store. Selection times it against the other paths
 * (CLG_ORIENT_DIRECT, names ending in "d": p4x64d, 4 channels by 4 rows
 * of 16 pixels; p8x32d, 8 channels by 2 rows). */
#include <stdio.h>

#include "epilogue.h"
#include "gemm.h"
#include "lower_util.h"

static const clg_kernel_family direct_family = {"conv_direct.cl", "conv_direct"};

/* Output pixels per vector: a row segment. */
enum { SEG = 16 };

bool clg_conv_direct_tile(int variant, int *co, int *pv)
{
    if (variant < 0 || variant >= CLG_GEMM_VARIANTS) return false;
    const clg_gemm_variant *v = &clg_gemm_variants[variant];
    /* tiles of at most 4 rows: clg_conv_direct_ok asks for 4 output rows */
    if (v->nr == 0 || v->wm > 0 || (v->tm != 4 && v->tm != 8) || v->nr % SEG != 0 || v->nr / SEG > 4) return false;
    *co = v->tm;
    *pv = v->nr / SEG;
    return true;
}

/* How the kernel gets its input (kernels/conv_direct.cl): as it is
 * (unpadded, whole segments), its padding read in place (DC_PL: rows a
 * multiple of 16 wide, the taps within 16 of the segment), or a copy with
 * the padding written out, each row long enough for its last segment and
 * the taps past it. *ph x *pw: the plane the kernel reads. */
typedef enum { INPUT_AS_IS, INPUT_PAD_IN_KERNEL, INPUT_PADDED_COPY } input_mode;

static input_mode input_of(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys,
                           int64_t *ph, int64_t *pw)
{
    const clg_attrs *at = &n->attrs;
    int64_t w = xs->dims[3], ow = ys->dims[3], segs = (ow + SEG - 1) / SEG;
    int64_t span = (ws->dims[3] - 1) * at->dilations[1], reach = segs * SEG + span;
    bool pads = at->pads[0] || at->pads[1] || at->pads[2] || at->pads[3];
    *ph = xs->dims[2];
    *pw = w;
    if (!pads && ow % SEG == 0) return INPUT_AS_IS;
    if (w % SEG == 0 && at->pads[1] <= SEG && span - at->pads[1] <= SEG) return INPUT_PAD_IN_KERNEL;
    *ph = xs->dims[2] + at->pads[0] + at->pads[2];
    *pw = w + at->pads[1] + at->pads[3];
    if (*pw < reach) *pw = reach;
    return INPUT_PADDED_COPY;
}

bool clg_conv_direct_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys)
{
    const clg_attrs *at = &n->attrs;
    if (at->group != 1 || at->strides[0] != 1 || at->strides[1] != 1 || ws->dims[2] > 7 || ws->dims[3] > 7 ||
        at->dilations[0] > 8 || at->dilations[1] > 8 || ys->dims[2] < 4 || ys->dims[3] < 1 || xs->dims[1] < 1)
        return false;
    int64_t ph, pw;
    input_of(n, xs, ws, ys, &ph, &pw);
    /* every offset the kernels form within an int: the padded input, the
     * output, the packed weights (blocks of up to 8 channels) */
    return xs->dims[0] * xs->dims[1] * ph * pw <= INT32_MAX && clg_shape_count(ys) <= INT32_MAX &&
           (ws->dims[0] + 8) * xs->dims[1] * ws->dims[2] * ws->dims[3] <= INT32_MAX;
}

bool clg_conv_direct_copies(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys)
{
    int64_t ph, pw;
    return input_of(n, xs, ws, ys, &ph, &pw) == INPUT_PADDED_COPY;
}

clg_status clg_conv_weight_blocks(clg_lower *lw, const clg_node *n, const clg_dev_tensor *w, int64_t m, int64_t k,
                                  int co, clg_dev_tensor *wp)
{
    /* once, into a buffer of the plan's, when they are a constant; else
     * every run */
    int64_t blocks = (m + co - 1) / co;
    bool constant = !clg_value_in_arena(lw->g, n->inputs[1]);
    clg_status s = constant ? clg_plan_buffer(lw, (size_t)(blocks * co * k), wp)
                            : clg_scratch(lw, (size_t)(blocks * co * k), wp);
    if (s) return s;
    int from = lw->plan->n_steps;
    size_t wgrid[2] = {clg_grid_size(k), (size_t)blocks};
    clg_karg wargs[] = {CLG_ARG_T(w), CLG_ARG_T(wp), CLG_ARG_I(m), CLG_ARG_I(k), CLG_ARG_I(co)};
    if ((s = clg_emit_kernel(lw, "conv.cl", "direct_weights", NULL, 2, wgrid, wargs, 5))) return s;
    return constant ? clg_plan_run_steps_now(lw, from) : CLG_OK;
}

clg_status clg_lower_conv_direct(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                 const clg_dev_tensor *out, int variant, const clg_epilogue *ep)
{
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    const clg_attrs *at = &n->attrs;
    int co, pv;
    if (!clg_conv_direct_tile(variant, &co, &pv) || !clg_conv_direct_ok(n, xs, ws, ys))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL,
                              "internal error: the direct convolution cannot run this convolution on variant %d", variant);
    int64_t c = xs->dims[1], m = ws->dims[0], k = c * ws->dims[2] * ws->dims[3], blocks = (m + co - 1) / co;
    int64_t oh = ys->dims[2], ow = ys->dims[3], segs = (ow + SEG - 1) / SEG;
    int64_t items = xs->dims[0] * ((oh + pv - 1) / pv) * segs;

    clg_dev_tensor wp;
    clg_status s = clg_conv_weight_blocks(lw, n, &in[1], m, k, co, &wp);
    if (s) return s;

    /* the input: as it is, its padding read in place, or written out */
    int64_t ph, pw;
    clg_dev_tensor x = in[0];
    input_mode mode = input_of(n, xs, ws, ys, &ph, &pw);
    if (mode == INPUT_PADDED_COPY && (s = clg_conv_pad_planes(lw, n, &in[0], ph, pw, &x))) return s;

    char defines[128];
    int len = snprintf(defines, sizeof defines, "-DDC_CO=%d -DDC_PV=%d -DDC_KH=%d -DDC_KW=%d -DDC_DH=%d -DDC_DW=%d",
                       co, pv, (int)ws->dims[2], (int)ws->dims[3], (int)at->dilations[0], (int)at->dilations[1]);
    if (mode == INPUT_PAD_IN_KERNEL) snprintf(defines + len, sizeof defines - (size_t)len, " -DDC_PL=%d", (int)at->pads[1]);
    bool has_bias = clg_node_own_inputs(n) == 3;
    clg_karg args[] = {
        CLG_ARG_T(&x),          CLG_ARG_T(&wp),       CLG_ARG_T(has_bias ? &in[2] : &wp), CLG_ARG_I(has_bias),
        CLG_ARG_T(out),         CLG_ARG_I(xs->dims[0]), CLG_ARG_I(c),                     CLG_ARG_I(m),
        CLG_ARG_I(oh),          CLG_ARG_I(ow),        CLG_ARG_I(ph),                      CLG_ARG_I(pw),
        CLG_ARG_I(segs),        CLG_ARG_I(mode == INPUT_PAD_IN_KERNEL ? at->pads[0] : 0),
    };
    /* one work-item per work-group: each is a tile's whole loop, as in
     * the packed GEMM */
    clg_launch l = {&direct_family, "conv_direct", defines, 2, {(size_t)items, (size_t)blocks}, {1, 1}, args,
                    (int)(sizeof args / sizeof *args), ep};
    return clg_emit_launch(lw, &l);
}
