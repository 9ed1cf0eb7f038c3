/* Resize to kernels/resize.cl: one launch over (output columns, output
 * rows, planes). The coordinate transformation of each axis becomes
 * here the four terms of kernels/resize.cl's map (the formulas of
 * reference/reference_resize.c's source_coord). */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

/* ONNX's source coordinate of output index o is (o + m[0]) * m[1] / m[2] + m[3]. */
static void coord_map(const clg_attrs *a, float given, int64_t in, int64_t out, float m[4])
{
    double scale = given > 0.0f ? (double)given : (double)out / (double)in;
    double len = scale * (double)in;
    double pre = 0.5, mul = 1.0, div = scale, post = -0.5; /* half_pixel */
    switch (a->coord_mode) {
    case CLG_COORD_PYTORCH_HALF_PIXEL:
        /* len <= 1 leaves one output element, o = 0 */
        if (!(len > 1.0)) pre = 0.0, div = 1.0;
        break;
    case CLG_COORD_ALIGN_CORNERS:
        pre = 0.0, post = 0.0;
        if (len == 1.0) div = 1.0, mul = 0.0;
        else mul = (double)(in - 1), div = len - 1.0;
        break;
    case CLG_COORD_ASYMMETRIC: pre = 0.0, post = 0.0; break;
    case CLG_COORD_TF_HALF_PIXEL_FOR_NN: post = 0.0; break;
    default: break;
    }
    m[0] = (float)pre, m[1] = (float)mul, m[2] = (float)div, m[3] = (float)post;
}

clg_status clg_lower_resize(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    int r = xs->rank;
    if (r < 2 || ys->rank != r)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: Resize's shapes do not match");
    clg_status s = clg_check_elems(lw, xs);
    if (s || (s = clg_check_elems(lw, ys))) return s;
    if (clg_shape_count(ys) == 0) return CLG_OK;
    int64_t h = xs->dims[r - 2], w = xs->dims[r - 1], oh = ys->dims[r - 2], ow = ys->dims[r - 1], planes = 1;
    for (int d = 0; d < r - 2; d++) planes *= xs->dims[d];
    const clg_attrs *a = &n->attrs;
    float mh[4], mw[4];
    coord_map(a, a->height_scale, h, oh, mh);
    coord_map(a, a->width_scale, w, ow, mw);
    char options[32];
    if (a->resize_mode == CLG_RESIZE_CUBIC)
        snprintf(options, sizeof options, "-DCUBIC%s", a->exclude_outside ? " -DEXCLUDE_OUTSIDE" : "");
    else if (a->resize_mode == CLG_RESIZE_LINEAR) snprintf(options, sizeof options, "-DLINEAR");
    else snprintf(options, sizeof options, "-DNEAREST=%d", (int)a->nearest_mode);
    size_t global[3] = {clg_grid_size(ow), (size_t)oh, (size_t)planes};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out),  CLG_ARG_I(h),      CLG_ARG_I(w),      CLG_ARG_I(oh),     CLG_ARG_I(ow),
        CLG_ARG_F(mh[0]), CLG_ARG_F(mh[1]), CLG_ARG_F(mh[2]), CLG_ARG_F(mh[3]),
        CLG_ARG_F(mw[0]), CLG_ARG_F(mw[1]), CLG_ARG_F(mw[2]), CLG_ARG_F(mw[3]), CLG_ARG_F(a->cubic_coeff_a),
    };
    return clg_emit_kernel(lw, "resize.cl", "resize", options, 3, global, args, (int)(sizeof args / sizeof args[0]));
}
