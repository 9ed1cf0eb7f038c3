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
 * -DCUBIC: the four around it on each axis (floor - 1 to floor + 2),
 * weighted by Keys' cubic kernel with parameter cubic_a; with
 * -DEXCLUDE_OUTSIDE a source index outside the input weighs 0 and the
 * others are scaled to sum to 1 (bicubic over both axes); otherwise
 * nearest, rounded as NEAREST says (0 round_prefer_floor,
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

#ifdef CUBIC
/* The four weights of the taps floor(s) - 1 .. floor(s) + 2 and their
 * clamped indices, for source coordinate s on an axis of n elements. */
static float keys(float d, float a)
{
    d = fabs(d);
    return d <= 1.0f ? ((a + 2.0f) * d - (a + 3.0f)) * d * d + 1.0f
                     : d < 2.0f ? ((a * d - 5.0f * a) * d + 8.0f * a) * d - 4.0f * a : 0.0f;
}

static void cubic_taps(float s, int n, float a, float4 *wt, int4 *idx)
{
    float f = floor(s), r = s - f;
    int i0 = (int)f - 1;
    float4 w = (float4)(keys(r + 1.0f, a), keys(r, a), keys(r - 1.0f, a), keys(r - 2.0f, a));
    int4 i = (int4)(i0, i0 + 1, i0 + 2, i0 + 3);
#ifdef EXCLUDE_OUTSIDE
    w = select(w, (float4)(0.0f), (i < 0) | (i >= n));
    w /= w.x + w.y + w.z + w.w;
#endif
    *wt = w;
    /* vector bounds: with clamp(int4, int, int), valid OpenCL too, Oclgrind
     * read out of range (tests/test_oclgrind.sh runs cubic Resize) */
    *idx = clamp(i, (int4)(0), (int4)(n - 1));
}
#elif !defined(LINEAR)
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

__kernel void resize(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int h, int w,
                     int oh, int ow, float pre_h, float mul_h, float div_h, float post_h, float pre_w,
                     float mul_w, float div_w, float post_w, float cubic_a)
{
    int j = get_global_id(0);
    if (j >= ow) return;
    int i = get_global_id(1), p = get_global_id(2);
    float sy = ((float)i + pre_h) * mul_h / div_h + post_h;
    float sx = ((float)j + pre_w) * mul_w / div_w + post_w;
    __global const store_t *plane = x + x_off + p * h * w;
    float v;
#if defined(CUBIC)
    float4 wy, wx;
    int4 iy, ix;
    cubic_taps(sy, h, cubic_a, &wy, &iy);
    cubic_taps(sx, w, cubic_a, &wx, &ix);
    float r[4];
    for (int k = 0; k < 4; k++) {
        __global const store_t *row = plane + (k == 0 ? iy.x : k == 1 ? iy.y : k == 2 ? iy.z : iy.w) * w;
        r[k] = wx.x * LOAD(row, ix.x) + wx.y * LOAD(row, ix.y) + wx.z * LOAD(row, ix.z) + wx.w * LOAD(row, ix.w);
    }
    v = wy.x * r[0] + wy.y * r[1] + wy.z * r[2] + wy.w * r[3];
#elif defined(LINEAR)
    float fy = floor(sy), fx = floor(sx), ry = sy - fy, rx = sx - fx;
    int y0 = clamp((int)fy, 0, h - 1), y1 = clamp((int)fy + 1, 0, h - 1);
    int x0 = clamp((int)fx, 0, w - 1), x1 = clamp((int)fx + 1, 0, w - 1);
    float top = (1.0f - rx) * LOAD(plane, y0 * w + x0) + rx * LOAD(plane, y0 * w + x1);
    float bottom = (1.0f - rx) * LOAD(plane, y1 * w + x0) + rx * LOAD(plane, y1 * w + x1);
    v = (1.0f - ry) * top + ry * bottom;
#else
    v = LOAD(plane, nearest(sy, h) * w + nearest(sx, w));
#endif
    STORE(y, y_off + (p * oh + i) * ow + j, v);
}
