/* Grouped convolution on NCHW (group > 1, each group more than one input
 * channel: ResNeXt's and RegNet's 3x3 layers; runtime/lower/conv_grouped.c),
 * direct: a work-item computes GC_VW neighbouring output channels of one
 * group (a vector) for GC_R neighbouring output pixels of one image
 * (counted across rows). For each tap it works out its pixels' input
 * offsets and whether each is inside the image once; then for each of the
 * group's input channels one vector load of the GC_VW channels' weights
 * and, per pixel, one scalar load broadcast into a multiply-add: GC_R
 * multiply-adds of GC_VW lanes per GC_R + 1 loads, no lane idle.
 *
 * The depthwise kernel's vector body (kernels/conv_depthwise.cl DW_CG),
 * which ran these before, vectorises along an output row: RegNet-X's and
 * ResNeXt's later layers have rows of 8, 4 and 2 pixels (at 64x64 inputs),
 * most of its 16 lanes computed for nothing.
 *
 * Weights come packed by kernels/conv.cl direct_weights in blocks of GC_VW
 * output channels: block j holds, for k = input channel * KH * KW + tap
 * (the group's channels), the block's GC_VW weights next to each other.
 * A block never straddles two groups (runtime/lower/conv_grouped.c: GC_VW
 * divides the outputs per group).
 *
 *   GC_VW             output channels per work-item: 2, 4, 8 or 16
 *   GC_R              output pixels per work-item
 *   GC_KH, GC_KW      the kernel's size
 *   EPILOGUE          the prelude's epilogue (runtime/lower/epilogue.h),
 *                     row the output channel, column image * P + pixel
 *
 * Grid: dim 0 over (image, block of GC_R pixels), dim 1 over blocks of
 * GC_VW output channels; one work-item per work-group. A pixel block past
 * the image's last pixel computes copies of that pixel and stores none. */

#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif
#ifndef GC_VW
#define GC_VW 8
#endif
#ifndef GC_R
#define GC_R 8
#endif
#ifndef GC_KH
#define GC_KH 3
#endif
#ifndef GC_KW
#define GC_KW 3
#endif
#define GC_TAPS (GC_KH * GC_KW)
#define GC_CAT_(a, b) a##b
#define GC_CAT(a, b) GC_CAT_(a, b)
#define floatv GC_CAT(float, GC_VW)

__attribute__((vec_type_hint(floatv)))
__kernel void conv_grouped(__global const store_t *x, uint x_off, __global const store_t *w, uint w_off,
                           __global const store_t *bias, uint bias_off, int has_bias, __global store_t *y,
                           uint y_off, int images, int channels, int cg, int out_c, int mg, int in_h, int in_w,
                           int out_h, int out_w, int stride_h, int stride_w, int pad_top, int pad_left,
                           int dil_h, int dil_w, int pblocks EPILOGUE_ARGS)
{
    const int i = get_global_id(0), cb = get_global_id(1);
    const int img = i / pblocks, pb = i - img * pblocks, co0 = cb * GC_VW;
    if (img >= images || co0 >= out_c) return;
    const int pixels = out_h * out_w, plane = in_h * in_w, group = co0 / mg;
    const __global store_t *xg = x + x_off + ((size_t)img * channels + (size_t)group * cg) * plane;
    const __global store_t *wb = w + w_off + (size_t)cb * cg * GC_TAPS * GC_VW;
    /* each pixel's first tap's input row and column */
    int iy0[GC_R], ix0[GC_R];
    _Pragma("unroll") for (int r = 0; r < GC_R; r++) {
        const int p = min(pb * GC_R + r, pixels - 1), oy = p / out_w;
        iy0[r] = oy * stride_h - pad_top;
        ix0[r] = (p - oy * out_w) * stride_w - pad_left;
    }
    floatv acc[GC_R];
    _Pragma("unroll") for (int r = 0; r < GC_R; r++) acc[r] = (floatv)(0.0f);
    _Pragma("unroll") for (int t = 0; t < GC_TAPS; t++) {
        const int ky = t / GC_KW, kx = t - ky * GC_KW;
        /* this tap's input per pixel: an offset in the plane (0 outside
         * the image, where the load is multiplied by 0) */
        int off[GC_R];
        float in[GC_R];
        _Pragma("unroll") for (int r = 0; r < GC_R; r++) {
            const int iy = iy0[r] + ky * dil_h, ix = ix0[r] + kx * dil_w;
            const bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            off[r] = inside ? iy * in_w + ix : 0;
            in[r] = inside ? 1.0f : 0.0f;
        }
        const __global store_t *xc = xg, *wt = wb + t * GC_VW;
        for (int c = 0; c < cg; c++, xc += plane, wt += GC_TAPS * GC_VW) {
            const floatv wv = LOADV(GC_VW, wt);
            _Pragma("unroll") for (int r = 0; r < GC_R; r++)
                acc[r] = fma((floatv)(LOAD(xc, off[r]) * in[r]), wv, acc[r]);
        }
    }
    /* The store: each channel's pixels next to each other, through private
     * memory in rolled loops (one copy of the epilogue, as in
     * kernels/gemm.cl). */
    float tile[GC_R][GC_VW];
    _Pragma("unroll") for (int r = 0; r < GC_R; r++) GC_CAT(vstore, GC_VW)(acc[r], 0, tile[r]);
    const int p0 = pb * GC_R;
    __global store_t *yo = y + y_off + ((size_t)img * out_c + co0) * pixels + p0;
#pragma nounroll
    for (int j = 0; j < GC_VW; j++) {
        const float bv = has_bias ? LOAD(bias, bias_off + co0 + j) : 0.0f;
#pragma nounroll
        for (int r = 0; r < GC_R && p0 + r < pixels; r++) {
            float v = tile[r][j] + bv;
#ifdef EPILOGUE
            v = clg_epilogue_px(v, img, p0 + r, co0 + j EPILOGUE_PASS);
#endif
            STORE(yo, (size_t)j * pixels + r, v);
        }
    }
}
