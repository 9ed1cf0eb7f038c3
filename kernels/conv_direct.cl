/* Direct convolution on NCHW, for CPUs: stride 1, ungrouped, any kernel
 * up to 7x7 and any dilation (runtime/lower/conv_direct.c). A work-item
 * computes DC_CO output channels for DC_PV neighbouring output rows of
 * 16 neighbouring pixels each (a segment of a row): DC_PV x DC_CO float16
 * accumulators, vectors along the pixels. For each input channel every
 * input row the tile needs is loaded once per horizontal tap as one
 * vector of 16 neighbours (at any offset), and each weight, broadcast, is
 * a multiply-add's operand: per vector load DC_CO multiply-adds, no
 * transposition anywhere, and the result stores as whole vectors, a
 * channel's 16 pixels together, with the bias and the node's epilogue.
 *
 * The implicit GEMM (kernels/gemm.cl CONV_A) vectorises along the output
 * channels instead: its panels are 32 or 64 channels wide, all computed
 * (half of them padding for 16 output channels), and it stores a pixel's
 * channels a plane apart through private memory. On 16 and 32 channels
 * this layout ran the convolution 1.3-3.5x faster (docs/runtime.md,
 * "Convolution paths").
 *
 * The input: with DC_PL defined (the left padding; rows a multiple of 16
 * wide, DC_PL <= 16 and (DC_KW - 1) * DC_DW - DC_PL <= 16), the
 * convolution's input itself, its padding read in place: a segment's
 * row is three aligned vectors, the 16 inputs left of the segment, its
 * own 16 and the 16 right of it, each either inside the row or wholly
 * outside it (then zero, as is a row in the padding, which adds
 * nothing), and every tap's vector is a shuffle of two of them. The copy
 * pad_planes writes is a pass over the input and a launch: 8-16% of a 3x3
 * 16- or 32-channel convolution on 32x32 images (docs/runtime.md).
 * Without DC_PL, every tap of every segment must be inside x: the input
 * with its padding written out (kernels/conv.cl pad_planes) and each row
 * long enough for its last segment's 16 lanes plus the taps (lanes past
 * the output row compute values that are never stored), or, unpadded
 * with whole segments, the input itself. in_h and in_w are x's plane;
 * out_h >= DC_PV.
 *
 * Weights come packed by kernels/conv.cl direct_weights: block b of DC_CO
 * output channels holds, for k = input channel * KH * KW + tap, the
 * block's DC_CO weights next to each other (zero past the last channel).
 *
 *   DC_CO, DC_PV          the tile (channels, rows of 16 pixels)
 *   DC_KH, DC_KW          the kernel's size
 *   DC_DH, DC_DW          its dilations
 *   EPILOGUE              the prelude's epilogue (runtime/lower/epilogue.h),
 *                         row the output channel, column image * P + pixel
 *
 * Grid: dim 0 over (image, block of DC_PV rows, segment), dim 1 over
 * blocks of DC_CO output channels; one work-item per work-group. The
 * last row block of an image is moved up to end at the last row (its
 * rows already stored by the block above are not stored again), so that
 * every row read exists. */

#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif
#ifndef DC_CO
#define DC_CO 8
#endif
#ifndef DC_PV
#define DC_PV 2
#endif
#ifndef DC_KH
#define DC_KH 3
#endif
#ifndef DC_KW
#define DC_KW 3
#endif
#ifndef DC_DH
#define DC_DH 1
#endif
#ifndef DC_DW
#define DC_DW 1
#endif
#define DC_TAPS (DC_KH * DC_KW)
/* lane indices 0..15, for shuffle2's masks */
#define DC_LANES ((uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
/* input rows a tile reads per channel */
#define DC_ROWS (DC_PV + (DC_KH - 1) * DC_DH)

__attribute__((vec_type_hint(float16)))
__kernel void conv_direct(__global const store_t *x, uint x_off, __global const store_t *w, uint w_off,
                          __global const store_t *bias, uint bias_off, int has_bias, __global store_t *y,
                          uint y_off, int images, int channels, int out_c, int out_h, int out_w, int in_h,
                          int in_w, int segs, int pad_top EPILOGUE_ARGS)
{
    const int g = get_global_id(0), cb = get_global_id(1);
    const int blocks = (out_h + DC_PV - 1) / DC_PV;
    const int seg = g % segs, t = g / segs, rb = t % blocks, img = t / blocks;
    const int co0 = cb * DC_CO;
    if (img >= images || co0 >= out_c) return;
    const int oy0 = min(rb * DC_PV, out_h - DC_PV), x0 = seg * 16;
    const int plane = in_h * in_w;
#ifdef DC_PL
    /* the padding read in place (see DC_PL above): the tile's input row r
     * is row oy0 - pad_top + r of the image's planes, each row's segment
     * three aligned vectors */
    const __global store_t *xp = x + x_off + (size_t)img * channels * plane;
    const int iy0 = oy0 - pad_top;
    const bool has_l = x0 >= 16 && x0 - 16 < in_w, has_a = x0 < in_w, has_b = x0 + 16 < in_w;
#else
    /* the tile's input row r is row oy0 + r */
    const __global store_t *xp = x + x_off + ((size_t)img * channels * in_h + oy0) * in_w + x0;
    (void)pad_top;
#endif
    const __global store_t *wp = w + w_off + (size_t)cb * channels * DC_TAPS * DC_CO;
    float16 acc[DC_PV][DC_CO];
    _Pragma("unroll") for (int p = 0; p < DC_PV; p++)
        _Pragma("unroll") for (int j = 0; j < DC_CO; j++) acc[p][j] = (float16)(0.0f);
    for (int c = 0; c < channels; c++, xp += plane, wp += DC_TAPS * DC_CO)
        _Pragma("unroll") for (int r = 0; r < DC_ROWS; r++) {
#ifdef DC_PL
            /* a row in the padding adds nothing */
            if (iy0 + r < 0 || iy0 + r >= in_h) continue;
            const __global store_t *row = xp + (iy0 + r) * in_w + x0;
            const float16 zero = (float16)(0.0f);
            const float16 vl = has_l && DC_PL > 0 ? LOADV(16, row - 16) : zero;
            const float16 va = has_a ? LOADV(16, row) : zero;
            const float16 vb = has_b && (DC_KW - 1) * DC_DW > DC_PL ? LOADV(16, row + 16) : zero;
#endif
            _Pragma("unroll") for (int kx = 0; kx < DC_KW; kx++) {
                /* input row r of the tile at tap column kx: a tap of
                 * output row p where r = p + ky * DC_DH */
#ifdef DC_PL
                const int o = kx * DC_DW - DC_PL;
                const float16 v = o < 0 ? shuffle2(vl, va, DC_LANES + (uint)(16 + o))
                                        : shuffle2(va, vb, DC_LANES + (uint)o);
#else
                const float16 v = LOADV(16, xp + r * in_w + kx * DC_DW);
#endif
                _Pragma("unroll") for (int p = 0; p < DC_PV; p++) {
                    const int d = r - p;
                    if (d >= 0 && d % DC_DH == 0 && d / DC_DH < DC_KH) {
                        const __global store_t *wt = wp + (d / DC_DH * DC_KW + kx) * DC_CO;
                        _Pragma("unroll") for (int j = 0; j < DC_CO; j++)
                            acc[p][j] = fma((float16)(LOAD(wt, j)), v, acc[p][j]);
                    }
                }
            }
        }
    /* The tile leaves the registers once; the stores stay rolled loops
     * over it in private memory (one copy of the epilogue, as in
     * kernels/gemm.cl). */
    float16 tile[DC_PV][DC_CO];
    _Pragma("unroll") for (int p = 0; p < DC_PV; p++)
        _Pragma("unroll") for (int j = 0; j < DC_CO; j++) tile[p][j] = acc[p][j];
    const int pixels = out_h * out_w, skip = rb * DC_PV - oy0;
    const bool whole = x0 + 16 <= out_w;
#pragma nounroll
    for (int p = skip; p < DC_PV; p++) {
        const int px = (oy0 + p) * out_w + x0;
        __global store_t *yo = y + y_off + ((size_t)img * out_c + co0) * pixels + px;
#pragma nounroll
        for (int j = 0; j < DC_CO && co0 + j < out_c; j++) {
            float16 o = tile[p][j];
            if (has_bias) o += LOAD(bias, bias_off + co0 + j);
            if (whole) {
#ifdef EPILOGUE
                o = clg_epilogue16(o, co0 + j, img * pixels + px EPILOGUE_PASS);
#endif
                STOREV(16, o, yo + (size_t)j * pixels);
            } else {
                float part[16];
                vstore16(o, 0, part);
                for (int l = 0; x0 + l < out_w; l++) {
#ifdef EPILOGUE
                    part[l] = clg_epilogue_px(part[l], img, px + l, co0 + j EPILOGUE_PASS);
#endif
                    STORE(yo, (size_t)j * pixels + l, part[l]);
                }
            }
        }
    }
}
