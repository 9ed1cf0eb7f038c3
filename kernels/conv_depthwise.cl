/* Depthwise convolution (group = input channels, each group one input
 * channel and `mult` output channels), direct: output channel m of image b
 * reads input channel m / mult only, through its KH x KW weights
 * (W is [M, 1, KH, KW]). A GEMM per group would have one row of K = KH*KW
 * (CLBlast's batched GEMM before this kernel: a launch per group's worth of
 * tiny products plus im2col's copy); here each output is KH*KW FMAs read
 * straight from x.
 *
 *   KH, KW    the kernel's size (defines, so the tap loops unroll)
 *   EPILOGUE  the prelude's epilogue (runtime/lower/epilogue.h), applied
 *             as each element is stored: row the output channel, column
 *             image * P + pixel (clg_epilogue's p = P = out_h * out_w)
 *
 * One work-item per output row (image, channel, oy), on a 1-D grid padded
 * to a multiple of 64 (hence the check), looping over the row's out_w
 * pixels: the columns whose taps all fall inside the row of x (the
 * interior) run without bounds checks. */
#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif

/* One output element at column ox: its taps, the bias, the epilogue. */
#define CLG_DW_PIXEL(CHECK_X)                                                       \
    {                                                                               \
        const int ix0 = ox * stride_w - pad_left;                                   \
        float acc = bv;                                                             \
        _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {                         \
            const int iy = iy0 + ky * dil_h;                                        \
            if (iy < 0 || iy >= height) continue;                                   \
            const __global store_t *row = xp + iy * width;                            \
            _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {                     \
                const int ix = ix0 + kx * dil_w;                                    \
                if (CHECK_X && (ix < 0 || ix >= width)) continue;                   \
                acc = fma(LOAD(row, ix), wk[ky * KW + kx], acc);                          \
            }                                                                       \
        }                                                                           \
        STORE(yp, ox, CLG_DW_FINISH(acc));                                                \
    }

#ifdef EPILOGUE
#define CLG_DW_FINISH(acc) clg_epilogue((acc), m, pix0 + ox EPILOGUE_PASS)
#else
#define CLG_DW_FINISH(acc) (acc)
#endif

__kernel void depthwise(__global const store_t *x, uint x_off, __global const store_t *w, uint w_off,
                        __global const store_t *bias, uint bias_off, int has_bias, __global store_t *y,
                        uint y_off, int batch, int channels, int height, int width, int mult, int out_h,
                        int out_w, int stride_h, int stride_w, int pad_top, int pad_left, int dil_h,
                        int dil_w EPILOGUE_ARGS)
{
    const int i = get_global_id(0);
    const int out_ch = channels * mult;
    if (i >= batch * out_ch * out_h) return;
    const int plane = i / out_h, oy = i - plane * out_h; /* plane = b * out_ch + m */
    const int b = plane / out_ch, m = plane - b * out_ch;
    const __global store_t *xp = x + x_off + (size_t)(b * channels + m / mult) * height * width;
    __global store_t *yp = y + y_off + ((size_t)plane * out_h + oy) * out_w;
    const int pix0 = b * out_h * out_w + oy * out_w; /* the epilogue's column of ox = 0 */
    (void)pix0;
    float wk[KH * KW];
    _Pragma("unroll") for (int j = 0; j < KH * KW; j++) wk[j] = LOAD(w, w_off + m * (KH * KW) + j);
    const float bv = has_bias ? LOAD(bias, bias_off + m) : 0.0f;
    const int iy0 = oy * stride_h - pad_top;
    /* the interior: ox in [lo, hi) has every tap's ix inside [0, width) */
    int lo = (pad_left + stride_w - 1) / stride_w;
    int hi = (width - 1 - (KW - 1) * dil_w + pad_left) / stride_w + 1;
    if (width - 1 - (KW - 1) * dil_w + pad_left < 0) hi = 0;
    lo = min(lo, out_w);
    hi = clamp(hi, lo, out_w);
    int ox = 0;
    for (; ox < lo; ox++) CLG_DW_PIXEL(1)
    for (; ox < hi; ox++) CLG_DW_PIXEL(0)
    for (; ox < out_w; ox++) CLG_DW_PIXEL(1)
}
