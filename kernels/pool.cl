/* Pooling over NCHW tensors. x is [planes, h, w] with planes = N * C, y is
 * [planes, oh, ow]; the host computed oh and ow (ceil_mode included). One
 * work-item per output element on the grid (ox, oy, plane): no integer
 * division, which PoCL cannot hoist out of its work-item loops. The host
 * pads the first grid dim up to a multiple of 64 once ow reaches 64, hence
 * the check against ow. Pads are ONNX's: the top and left pads shift every
 * window; the bottom and right pads only matter to AveragePool's
 * count_include_pad divisor. */

/* Only real elements are compared: padding never wins. A window that holds
 * none (possible only with dilation) gives -FLT_MAX, as ONNX Runtime does.
 * NaN propagates, as in numpy.max and PyTorch. */
__kernel void maxpool(__global const float *x, uint x_off, __global float *y, uint y_off, int h,
                      int w, int oh, int ow, int kh, int kw, int stride_h, int stride_w,
                      int pad_top, int pad_left, int dilation_h, int dilation_w)
{
    int ox = get_global_id(0);
    if (ox >= ow) return;
    int oy = get_global_id(1), plane = get_global_id(2);
    __global const float *src = x + x_off + plane * h * w;
    int y0 = oy * stride_h - pad_top, x0 = ox * stride_w - pad_left;

    float best = -FLT_MAX;
    for (int ky = 0; ky < kh; ky++) {
        int iy = y0 + ky * dilation_h;
        if (iy < 0 || iy >= h) continue;
        for (int kx = 0; kx < kw; kx++) {
            int ix = x0 + kx * dilation_w;
            if (ix < 0 || ix >= w) continue;
            float v = src[iy * w + ix];
            if (!isnan(best) && (v > best || isnan(v))) best = v;
        }
    }
    y[y_off + (plane * oh + oy) * ow + ox] = best;
}

/* The window along one axis starts at o * stride - pad_begin and spans k
 * elements, cut at the end of the padded input (with ceil_mode the last
 * window may run past it). count_include_pad divides by that padded span;
 * otherwise by the number of real elements, as ONNX and PyTorch do. */
__kernel void averagepool(__global const float *x, uint x_off, __global float *y, uint y_off,
                          int h, int w, int oh, int ow, int kh, int kw, int stride_h,
                          int stride_w, int pad_top, int pad_left, int pad_bottom, int pad_right,
                          int count_include_pad)
{
    int ox = get_global_id(0);
    if (ox >= ow) return;
    int oy = get_global_id(1), plane = get_global_id(2);
    __global const float *src = x + x_off + plane * h * w;

    int y_start = oy * stride_h - pad_top, y_end = min(y_start + kh, h + pad_bottom);
    int x_start = ox * stride_w - pad_left, x_end = min(x_start + kw, w + pad_right);
    int y_lo = max(y_start, 0), y_hi = min(y_end, h);
    int x_lo = max(x_start, 0), x_hi = min(x_end, w);

    float sum = 0.0f;
    for (int iy = y_lo; iy < y_hi; iy++)
        for (int ix = x_lo; ix < x_hi; ix++) sum += src[iy * w + ix];
    int count = count_include_pad ? (y_end - y_start) * (x_end - x_start)
                                  : (y_hi - y_lo) * (x_hi - x_lo);
    /* Shape inference keeps every window on the input; guard anyway. */
    y[y_off + (plane * oh + oy) * ow + ox] = count > 0 ? sum / (float)count : 0.0f;
}

/* The mean of each of n planes of `inner` contiguous elements; one
 * work-item per plane (the host pads n up to a multiple of 64). Planes can be large (224 x 224 = 50 176), and the
 * rounding error of a running float sum grows with its length, so the sum
 * goes in blocks: its error grows with BLOCK + inner / BLOCK instead. */
#define BLOCK 256

__kernel void globalaveragepool(__global const float *x, uint x_off, __global float *y,
                                uint y_off, int n, int inner)
{
    int plane = get_global_id(0);
    if (plane >= n) return;
    __global const float *src = x + x_off + plane * inner;
    float sum = 0.0f;
    for (int start = 0; start < inner; start += BLOCK) {
        int end = min(start + BLOCK, inner);
        float part = 0.0f;
        for (int j = start; j < end; j++) part += src[j];
        sum += part;
    }
    y[y_off + plane] = sum / (float)inner;
}
