/* Conv2D by Winograd's minimal filtering, F(m x m, 3x3) for m = 2 or 4
 * (kernels/winograd.cl says the algorithm): the input's (m + 2)^2 patches
 * and the weights transformed, (m + 2)^2 products of [tiles, C] by [C, M]
 * on a packed GEMM variant in one batched launch, and the products
 * transformed back into m x m outputs with the bias and the epilogue.
 * F(2x2) does 2.25x fewer multiply-adds than the implicit GEMM, F(4x4) 4x,
 * for two memory passes (the transformed input, (m + 2)^2 / m^2 times the
 * input's size: 4x and 2.25x, and the products, as much against the
 * output) and weights (m + 2)^2 / 9 the size; selection times both
 * against the other paths (CLG_ORIENT_WINOGRAD, names ending in "f", and
 * CLG_ORIENT_WINOGRAD4, "g"). */
#include <stdio.h>
#include <string.h>

#include "epilogue.h"
#include "gemm.h"
#include "lower_util.h"

static const clg_kernel_family winograd_family = {"winograd.cl", "wino_output"};

int64_t clg_winograd_tiles(const clg_shape *xs, const clg_shape *ys, int64_t m)
{
    return xs->dims[0] * ((ys->dims[2] + m - 1) / m) * ((ys->dims[3] + m - 1) / m);
}

bool clg_conv_winograd_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws, const clg_shape *ys)
{
    const clg_attrs *at = &n->attrs;
    if (at->group != 1 || ws->dims[2] != 3 || ws->dims[3] != 3 || at->strides[0] != 1 || at->strides[1] != 1 ||
        at->dilations[0] != 1 || at->dilations[1] != 1)
        return false;
    int64_t t2 = clg_winograd_tiles(xs, ys, 2), t4 = clg_winograd_tiles(xs, ys, 4), c = xs->dims[1], m = ws->dims[0];
    /* every offset the kernels and the batched GEMM form within an int,
     * for either tile: the transformed input and products (16 or 36 per
     * tile and channel), the weights' panels (padded to 64 channels at
     * most) */
    if (clg_shape_count(xs) > INT32_MAX || clg_shape_count(ys) > INT32_MAX || c <= 0 || m <= 0 || c > INT32_MAX ||
        m > INT32_MAX || t2 <= 0)
        return false; /* (and the products below stay far inside an int64) */
    int64_t widest = c > m + 64 ? c : m + 64;
    return 16 * t2 * widest <= INT32_MAX && 36 * t4 * widest <= INT32_MAX && 36 * c * (m + 64) <= INT32_MAX;
}

clg_status clg_lower_conv_winograd(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                   const clg_dev_tensor *out, int variant, int tile, const clg_epilogue *ep)
{
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    const clg_gemm_variant *v = &clg_gemm_variants[variant];
    if (!clg_conv_winograd_ok(n, xs, ws, ys) || v->nr == 0 || v->wm > 0 || (tile != 2 && tile != 4))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL,
                              "internal error: Winograd F(%dx%d, 3x3) cannot run this convolution on %s", tile, tile,
                              v->name);
    int64_t th = (ys->dims[2] + tile - 1) / tile, tw = (ys->dims[3] + tile - 1) / tile;
    int64_t tiles = clg_winograd_tiles(xs, ys, tile), c = xs->dims[1], m = ws->dims[0], xis = (tile + 2) * (tile + 2);
    int64_t padded = (m + v->nr - 1) / v->nr * v->nr, elems = padded * c;
    /* the input side (weights and input transforms) and the output
     * transform, which takes the epilogue, build as programs of their own
     * (kernels/winograd.cl WG_OUT); the panels' width is an argument, so
     * that every variant shares them */
    char defines[24], out_defines[40];
    snprintf(defines, sizeof defines, "-DWG_M=%d", tile);
    snprintf(out_defines, sizeof out_defines, "-DWG_M=%d -DWG_OUT=1", tile);

    /* U, the weights transformed into the GEMM's packed panels: once, into
     * a buffer of the plan's, when they are a constant; else every run */
    bool constant = !clg_value_in_arena(lw->g, n->inputs[1]);
    clg_dev_tensor u;
    clg_status s = constant ? clg_plan_buffer(lw, (size_t)(xis * elems), &u) : clg_scratch(lw, (size_t)(xis * elems), &u);
    if (s) return s;
    int from = lw->plan->n_steps;
    clg_karg wargs[] = {CLG_ARG_T(&in[1]), CLG_ARG_T(&u),        CLG_ARG_I(c),    CLG_ARG_I(m),
                        CLG_ARG_I(padded), CLG_ARG_I(elems), CLG_ARG_I(v->nr)};
    clg_launch wl = {&winograd_family, "wino_weights", defines, 2, {clg_grid_size(padded), (size_t)c},
                     {0},              wargs,          7,       NULL};
    if ((s = clg_emit_launch(lw, &wl))) return s;
    if (constant && (s = clg_plan_run_steps_now(lw, from))) return s;

    /* V, the input's tiles transformed: A of the xis products, [tiles][C] each */
    clg_dev_tensor tv, prod;
    if ((s = clg_scratch(lw, (size_t)(xis * tiles * c), &tv))) return s;
    clg_karg iargs[] = {CLG_ARG_T(&in[0]),    CLG_ARG_T(&tv),    CLG_ARG_I(c),
                        CLG_ARG_I(xs->dims[2]), CLG_ARG_I(xs->dims[3]), CLG_ARG_I(th),
                        CLG_ARG_I(tw),        CLG_ARG_I(tiles),  CLG_ARG_I(n->attrs.pads[0]),
                        CLG_ARG_I(n->attrs.pads[1])};
    clg_launch il = {&winograd_family, "wino_input", defines, 2, {clg_grid_size(tiles), (size_t)((c + 7) / 8)},
                     {0},              iargs,        10,      NULL};
    if ((s = clg_emit_launch(lw, &il))) return s;

    /* the xis products, [tiles][M] each, in one batched launch */
    if ((s = clg_scratch(lw, (size_t)(xis * tiles * m), &prod))) return s;
    clg_gemm_gen g;
    memset(&g, 0, sizeof g);
    g.a = &tv;
    g.lda = c;
    g.b = &u;
    g.b_packed = true;
    g.ldb = m;
    g.y = &prod;
    g.m = tiles;
    g.n = m;
    g.k = c;
    g.alpha = 1.0f;
    g.batch = xis;
    g.a_bs = tiles * c;
    g.y_bs = tiles * m;
    if ((s = clg_emit_gemm_gen(lw, &g, variant))) return s;

    /* the outputs, bias and epilogue in the store */
    bool has_bias = clg_node_own_inputs(n) == 3;
    clg_karg oargs[] = {CLG_ARG_T(&prod), CLG_ARG_T(has_bias ? &in[2] : &prod), CLG_ARG_I(has_bias),
                        CLG_ARG_T(out),   CLG_ARG_I(m),                        CLG_ARG_I(ys->dims[2]),
                        CLG_ARG_I(ys->dims[3]), CLG_ARG_I(th),                  CLG_ARG_I(tw),
                        CLG_ARG_I(tiles)};
    clg_launch ol = {&winograd_family, "wino_output", out_defines, 2, {clg_grid_size(tiles), (size_t)((m + 7) / 8)},
                     {0},              oargs,         10,      ep};
    return clg_emit_launch(lw, &ol);
}
