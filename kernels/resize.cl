/* Resize (ONNX) of the last two dims: y[p, i, j] from x[p, ., .], p the
 * plane (every leading dim together).
 *
 * Every coordinate transformation of ONNX's has the form
 * (o + pre) * mul / div + post for output index o, so the host passes those
 * four numbers per axis and the kernel needs no mode of its own. They are
 * the terms of ONNX's formula ((o + 0.5) / scale - 0.5 for half_pixel), not
 * one folded affine map, so that a coordinate that is exactly a half (which
 * nearest rounds by nearest_mode) comes out exact, as in the reference. -DLINEAR: the two source elements around
 * the coordinate, weighted by the distance (bilinear over both axes);
 * otherwise nearest, rounded as NEAREST says (0 round_prefer_floor,
 * 1 round_prefer_ceil, 2 floor, 3 ceil; an integral coordinate is itself).
 * Source indices outside the input are clamped to its edge, as ONNX's
 * edge padding does.
 *
 * One work-item per output element on the grid (j, i, plane): neighbouring
 * work-items write neighbouring elements. The host pads the first grid dim
 * up to a multiple of 64, hence the check. */

#ifndef NEAREST
#define NEAREST 0
#endif

#ifndef LINEAR
static int nearest(float s, int n)
{
    float f = floor(s), frac = s - f;
    int i = (int)f;
    if (frac != 0.0f) {
#if NEAREST == 0
        i += frac > 0.5f;
#elif NEAREST == 1
        i += frac >= 0.5f;
#elif NEAREST == 3
        i += 1;
#endif
    }
    return clamp(i, 0, n - 1);
}
#endif

__kernel void resize(__global const float *x, uint x_off, __global float *y, uint y_off, int h, int w,
                     int oh, int ow, float pre_h, float mul_h, float div_h, float post_h, float pre_w,
                     float mul_w, float div_w, float post_w)
{
    int j = get_global_id(0);
    if (j >= ow) return;
    int i = get_global_id(1), p = get_global_id(2);
    float sy = ((float)i + pre_h) * mul_h / div_h + post_h;
    float sx = ((float)j + pre_w) * mul_w / div_w + post_w;
    __global const float *plane = x + x_off + p * h * w;
    float v;
#ifdef LINEAR
    float fy = floor(sy), fx = floor(sx), ry = sy - fy, rx = sx - fx;
    int y0 = clamp((int)fy, 0, h - 1), y1 = clamp((int)fy + 1, 0, h - 1);
    int x0 = clamp((int)fx, 0, w - 1), x1 = clamp((int)fx + 1, 0, w - 1);
    float top = (1.0f - rx) * plane[y0 * w + x0] + rx * plane[y0 * w + x1];
    float bottom = (1.0f - rx) * plane[y1 * w + x0] + rx * plane[y1 * w + x1];
    v = (1.0f - ry) * top + ry * bottom;
#else
    v = plane[nearest(sy, h) * w + nearest(sx, w)];
#endif
    y[y_off + (p * oh + i) * ow + j] = v;
}
