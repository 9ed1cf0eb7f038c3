/* A grouped convolution (more than one input channel per group) through
 * kernels/conv_grouped.cl: vectors of a group's output channels by a few
 * output pixels per work-item, the weights packed once into blocks of
 * those channels (kernels/conv.cl direct_weights), the bias and the
 * epilogue in the store; one launch per run (two when the weights are a
 * graph input: they are packed every run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epilogue.h"
#include "gemm.h"
#include "lower_util.h"

static const clg_kernel_family grouped_family = {"conv_grouped.cl", "conv_grouped"};

/* Output pixels per work-item: GC_R multiply-adds share each weight
 * vector. 8 keeps 8 vectors of accumulators (one per pixel) in registers
 * at 16 channels; fewer when the image has fewer pixels. */
enum { GC_PIXELS = 8 };

/* The widest vector of output channels that divides the outputs per
 * group (so that no block straddles two groups), 0 when none of 2, 4, 8
 * or 16 does. */
static int vector_width(int64_t mg)
{
    for (int v = 16; v >= 2; v /= 2)
        if (mg % v == 0) return v;
    return 0;
}

int clg_conv_grouped_width(const clg_node *n, const clg_shape *ws)
{
    return n->attrs.group > 0 ? vector_width(ws->dims[0] / n->attrs.group) : 0;
}

bool clg_conv_grouped_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys)
{
    const clg_attrs *at = &n->attrs;
    int64_t g = at->group;
    if (g <= 1 || xs->dims[1] % g || ws->dims[0] % g || ws->dims[1] != xs->dims[1] / g || ws->dims[1] < 2) return false;
    if (!vector_width(ws->dims[0] / g) || ws->dims[2] > 7 || ws->dims[3] > 7 || ys->dims[2] * ys->dims[3] < 1) return false;
    /* every offset the kernels form within an int: the input, the output,
     * the packed weights */
    return clg_shape_count(xs) <= INT32_MAX && clg_shape_count(ys) <= INT32_MAX &&
           clg_shape_count(ws) <= INT32_MAX && ys->dims[2] * ys->dims[3] + GC_PIXELS <= INT32_MAX;
}

clg_status clg_lower_conv_grouped(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                  const clg_dev_tensor *out, const clg_epilogue *ep)
{
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    const clg_attrs *at = &n->attrs;
    if (!clg_conv_grouped_ok(n, xs, ws, ys))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the grouped kernel cannot run this convolution");
    int64_t m = ws->dims[0], cg = ws->dims[1], mg = m / at->group, k = cg * ws->dims[2] * ws->dims[3];
    int vw = vector_width(mg);
    int64_t pixels = ys->dims[2] * ys->dims[3], r = pixels < GC_PIXELS ? pixels : GC_PIXELS;
    int64_t pblocks = (pixels + r - 1) / r, blocks = m / vw;

    /* the weights in blocks of vw channels (vw divides m) */
    clg_dev_tensor wp;
    clg_status s = clg_conv_weight_blocks(lw, n, &in[1], m, k, vw, &wp);
    if (s) return s;

    char defines[96];
    snprintf(defines, sizeof defines, "-DGC_VW=%d -DGC_R=%d -DGC_KH=%d -DGC_KW=%d", vw, (int)r, (int)ws->dims[2],
             (int)ws->dims[3]);
    bool has_bias = clg_node_own_inputs(n) == 3;
    clg_karg args[] = {
        CLG_ARG_T(&in[0]),        CLG_ARG_T(&wp),           CLG_ARG_T(has_bias ? &in[2] : &wp),
        CLG_ARG_I(has_bias),      CLG_ARG_T(out),           CLG_ARG_I(xs->dims[0]),
        CLG_ARG_I(xs->dims[1]),   CLG_ARG_I(cg),            CLG_ARG_I(m),
        CLG_ARG_I(mg),            CLG_ARG_I(xs->dims[2]),   CLG_ARG_I(xs->dims[3]),
        CLG_ARG_I(ys->dims[2]),   CLG_ARG_I(ys->dims[3]),   CLG_ARG_I(at->strides[0]),
        CLG_ARG_I(at->strides[1]), CLG_ARG_I(at->pads[0]),  CLG_ARG_I(at->pads[1]),
        CLG_ARG_I(at->dilations[0]), CLG_ARG_I(at->dilations[1]), CLG_ARG_I(pblocks),
    };
    /* one work-item per work-group: each is a tile's whole loop, as in
     * the direct convolution */
    clg_launch l = {&grouped_family, "conv_grouped", defines, 2, {(size_t)(xs->dims[0] * pblocks), (size_t)blocks},
                    {1, 1}, args, (int)(sizeof args / sizeof *args), ep};
    return clg_emit_launch(lw, &l);
}
