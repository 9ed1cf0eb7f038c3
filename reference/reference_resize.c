/* Resize's reference kernel, in double, from the ONNX definition (the
 * backend tests' reference implementation): each output coordinate x of a
 * resized axis maps to a source coordinate x_ori by the coordinate
 * transformation, with scale the given one or output size / input size;
 * nearest takes one element, rounding x_ori as nearest_mode says (an
 * integral x_ori is itself), linear the two around it weighted by the
 * distance, cubic the four around it (floor(x_ori) - 1 to + 2) weighted by
 * Keys' cubic convolution kernel with parameter A. Indices outside the
 * input are clamped to its edge (ONNX pads the input by its edge values);
 * with exclude_outside they weigh 0 instead and the other weights are
 * scaled to sum to 1. Every mode is separable, so the two axes' weights
 * multiply. */
#include <math.h>

#include "reference_ops.h"

/* One resized axis: the source coordinate of output index x. */
static double source_coord(const clg_attrs *a, double x, double scale, int64_t in)
{
    double len = scale * (double)in; /* ONNX's length of the resized axis, before rounding */
    switch (a->coord_mode) {
    case CLG_COORD_PYTORCH_HALF_PIXEL: return len > 1.0 ? (x + 0.5) / scale - 0.5 : -0.5;
    case CLG_COORD_ALIGN_CORNERS: return len == 1.0 ? 0.0 : x * (double)(in - 1) / (len - 1.0);
    case CLG_COORD_ASYMMETRIC: return x / scale;
    case CLG_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    default: return (x + 0.5) / scale - 0.5; /* half_pixel */
    }
}

static int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : i >= in ? in - 1 : i; }

static int64_t nearest_index(clg_resize_nearest mode, double x, int64_t in)
{
    double f = floor(x), frac = x - f;
    int64_t i = (int64_t)f;
    if (frac != 0.0) {
        bool up = mode == CLG_NEAREST_ROUND_PREFER_CEIL ? frac >= 0.5
                : mode == CLG_NEAREST_FLOOR           ? false
                : mode == CLG_NEAREST_CEIL            ? true
                                                      : frac > 0.5;
        i += up;
    }
    return clamp_index(i, in);
}

/* The source indices and their weights for output index x of an axis:
 * nearest one (weight 1), linear two, cubic four. */
typedef struct tap {
    int n;
    int64_t i[4];
    double w[4];
} tap;

/* Keys' kernel at distance d (ONNX's cubic_coeffs, with A its parameter). */
static double cubic_weight(double d, double A)
{
    d = fabs(d);
    if (d <= 1.0) return ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A;
    return 0.0;
}

static tap axis_tap(const clg_attrs *a, int64_t x, float given, int64_t in, int64_t out)
{
    double scale = given > 0.0f ? (double)given : (double)out / (double)in;
    double s = source_coord(a, (double)x, scale, in);
    tap t;
    double f = floor(s), r = s - f;
    if (a->resize_mode == CLG_RESIZE_NEAREST) {
        t.n = 1;
        t.i[0] = nearest_index(a->nearest_mode, s, in);
        t.w[0] = 1.0;
    } else if (a->resize_mode == CLG_RESIZE_LINEAR) {
        t.n = 2;
        t.i[0] = clamp_index((int64_t)f, in);
        t.i[1] = clamp_index((int64_t)f + 1, in);
        t.w[0] = 1.0 - r;
        t.w[1] = r;
    } else {
        t.n = 4;
        double sum = 0.0;
        for (int k = 0; k < 4; k++) {
            int64_t i = (int64_t)f - 1 + k;
            t.w[k] = cubic_weight(r + 1.0 - k, (double)a->cubic_coeff_a);
            if (a->exclude_outside && (i < 0 || i >= in)) t.w[k] = 0.0;
            sum += t.w[k];
            t.i[k] = clamp_index(i, in);
        }
        if (a->exclude_outside)
            for (int k = 0; k < 4; k++) t.w[k] /= sum;
    }
    return t;
}

clg_status clg_ref_resize(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    const clg_attrs *at = &a->node->attrs;
    int r = xs->rank;
    int64_t h = xs->dims[r - 2], w = xs->dims[r - 1];
    int64_t oh = a->out_shape->dims[r - 2], ow = a->out_shape->dims[r - 1], planes = 1;
    for (int d = 0; d < r - 2; d++) planes *= xs->dims[d];
    tap *cols = clg_malloc(a->g, (size_t)ow * sizeof *cols);
    if (!cols) return clg_fail(a->g, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t x = 0; x < ow; x++) cols[x] = axis_tap(at, x, at->width_scale, w, ow);
    for (int64_t y = 0; y < oh; y++) {
        tap row = axis_tap(at, y, at->height_scale, h, oh);
        for (int64_t p = 0; p < planes; p++) {
            const float *plane = a->in[0] + p * h * w;
            float *o = a->out + (p * oh + y) * ow;
            if (at->resize_mode == CLG_RESIZE_NEAREST) { /* a copy: an inf must not meet a 0 weight */
                for (int64_t x = 0; x < ow; x++) o[x] = plane[row.i[0] * w + cols[x].i[0]];
                continue;
            }
            for (int64_t x = 0; x < ow; x++) {
                const tap *c = &cols[x];
                double v = 0.0;
                for (int ky = 0; ky < row.n; ky++) {
                    double acc = 0.0;
                    for (int kx = 0; kx < c->n; kx++) acc += c->w[kx] * plane[row.i[ky] * w + c->i[kx]];
                    v += row.w[ky] * acc;
                }
                o[x] = (float)v;
            }
        }
    }
    clg_free(a->g, cols);
    return CLG_OK;
}
