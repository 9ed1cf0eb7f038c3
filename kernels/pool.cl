/* Pooling over NCHW tensors. x is [planes, h, w] with planes = N * C, y is
 * [planes, oh, ow]; the host computed oh and ow (ceil_mode included). One
 * work-item per output element on the grid (ox, oy, plane): no integer
 * division, which PoCL cannot hoist out of its work-item loops. The host
 * gives each work-group a block of outputs of every dim (64 work-items:
 * a 16 x 16 output image takes 16 x 4 of them), each grid dim padded up to
 * a multiple of its block, hence the checks: with a row of 16 outputs padded
 * to 64 work-items, three quarters of each group were idle and a MaxPool of
 * [32, 32, 32, 32] took 47 ms on PoCL (2.6 ms now, bench/README.md).
 * KH and KW, the window, are -D defines, so the window's loops unroll.
 * A launch covers the outputs [oy_begin, oy_end) x [ox_begin, ox_end) of
 * every plane: the host launches the outputs whose windows lie inside the
 * input with INSIDE (a -D define; no checks per element, loads the
 * compiler can see are neighbours) and the border around them, which
 * padding or ceil_mode's overhang make, separately with checks (clamped
 * indices and masks, no branches). On PoCL the checked kernel ran a padded
 * 3x3 MaxPool of [32, 32, 32, 32] in ~30 ms, unpadded 2.6 ms. Pads are
 * ONNX's: the top and left pads shift every window; the bottom and right
 * pads only matter to AveragePool's count_include_pad divisor. */

/* A program holds the one kernel POOL_KERNEL names (1 maxpool, 2
 * averagepool, 3 globalaveragepool, 4 maxpool_rows, 5 averagepool_rows;
 * the first three
 * without it): PoCL compiles
 * a work-group function for every kernel of a program when its binary is
 * taken for the cache, and a model's pooling programs each run one
 * kernel (docs/runtime.md, "Start-up"). */
/* globalaveragepool's program is built without a window. */
#ifndef KH
#define KH 1
#define KW 1
#endif

/* Only real elements are compared: padding never wins. A window that holds
 * none (possible only with dilation) gives -FLT_MAX, as ONNX Runtime does.
 * NaN propagates, as in numpy.max and PyTorch: once best is NaN no v is
 * greater, and a NaN v only replaces it by a NaN. The select form keeps
 * the loop free of branches, so it vectorises across work-items. */
#if !defined(POOL_KERNEL) || POOL_KERNEL == 1
__kernel void maxpool(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int planes,
                      int h, int w, int oh, int ow, int oy_begin, int oy_end, int ox_begin, int ox_end,
                      int stride_h, int stride_w, int pad_top, int pad_left, int dilation_h, int dilation_w)
{
    int ox = ox_begin + get_global_id(0), oy = oy_begin + get_global_id(1), plane = get_global_id(2);
    if (ox >= ox_end || oy >= oy_end || plane >= planes) return;
    __global const store_t *src = x + x_off + plane * h * w;
    int y0 = oy * stride_h - pad_top, x0 = ox * stride_w - pad_left;

    float best = -FLT_MAX;
    for (int ky = 0; ky < KH; ky++) {
        int iy = y0 + ky * dilation_h;
#ifndef INSIDE
        bool in_y = iy >= 0 && iy < h;
        iy = clamp(iy, 0, h - 1);
#endif
        for (int kx = 0; kx < KW; kx++) {
            int ix = x0 + kx * dilation_w;
#ifdef INSIDE
            float v = LOAD(src, iy * w + ix);
            best = v > best || isnan(v) ? v : best;
#else
            bool in = in_y && ix >= 0 && ix < w;
            float v = LOAD(src, iy * w + clamp(ix, 0, w - 1));
            best = in && (v > best || isnan(v)) ? v : best;
#endif
        }
    }
    STORE(y, y_off + (plane * oh + oy) * ow + ox, best);
}
#endif

/* The window along one axis starts at o * stride - pad_begin and spans KH
 * (KW) elements, cut at the end of the padded input (with ceil_mode the last
 * window may run past it). count_include_pad divides by that padded span;
 * otherwise by the number of real elements, as ONNX and PyTorch do. */
#if !defined(POOL_KERNEL) || POOL_KERNEL == 2
__kernel void averagepool(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int planes,
                          int h, int w, int oh, int ow, int oy_begin, int oy_end, int ox_begin, int ox_end,
                          int stride_h, int stride_w, int pad_top, int pad_left, int pad_bottom, int pad_right,
                          int count_include_pad)
{
    int ox = ox_begin + get_global_id(0), oy = oy_begin + get_global_id(1), plane = get_global_id(2);
    if (ox >= ox_end || oy >= oy_end || plane >= planes) return;
    __global const store_t *src = x + x_off + plane * h * w;
    int y_start = oy * stride_h - pad_top, x_start = ox * stride_w - pad_left;

    float sum = 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        int iy = y_start + ky;
#ifndef INSIDE
        bool in_y = iy >= 0 && iy < h;
        iy = clamp(iy, 0, h - 1);
#endif
        for (int kx = 0; kx < KW; kx++) {
            int ix = x_start + kx;
#ifdef INSIDE
            sum += LOAD(src, iy * w + ix);
#else
            bool in = in_y && ix >= 0 && ix < w;
            float v = LOAD(src, iy * w + clamp(ix, 0, w - 1));
            sum += in ? v : 0.0f;
#endif
        }
    }
#ifdef INSIDE
    float count = (float)(KH * KW);
#else
    int y_end = min(y_start + KH, h + pad_bottom), x_end = min(x_start + KW, w + pad_right);
    int y_lo = max(y_start, 0), y_hi = min(y_end, h), x_lo = max(x_start, 0), x_hi = min(x_end, w);
    float count = (float)(count_include_pad ? (y_end - y_start) * (x_end - x_start)
                                            : (y_hi - y_lo) * (x_hi - x_lo));
#endif
    /* Shape inference keeps every window on the input; guard anyway. */
    STORE(y, y_off + (plane * oh + oy) * ow + ox, count > 0.0f ? sum / count : 0.0f);
}
#endif

/* The mean of each of n planes of `inner` contiguous elements; one
 * work-item per plane (the host pads n up to a multiple of 64). Planes can
 * be large (224 x 224 = 50 176), and the rounding error of a running float
 * sum grows with its length, so the sum goes in blocks: its error grows
 * with BLOCK + inner / BLOCK instead. BLOCK is a multiple of 8. */
#define BLOCK 256

#if !defined(POOL_KERNEL) || POOL_KERNEL == 3
__kernel void globalaveragepool(__global const store_t *x, uint x_off, __global store_t *y,
                                uint y_off, int n, int inner)
{
    int plane = get_global_id(0);
    if (plane >= n) return;
    __global const store_t *src = x + x_off + plane * inner;
    /* Eight lanes along the plane, then its last inner % 8 elements one by
     * one: vectorised across work-items instead, each load is a gather of
     * elements a plane apart (Intel's runtime took 4.3 ms for
     * [16, 512, 7, 7] that way, PoCL 0.22 ms). Each lane's running sum
     * still goes in blocks. */
    int inner8 = inner & ~7;
    float8 sum8 = (float8)(0.0f);
    for (int start = 0; start < inner8; start += BLOCK) {
        int end = min(start + BLOCK, inner8);
        float8 part = (float8)(0.0f);
        for (int j = start; j < end; j += 8) part += LOAD8(src + j);
        sum8 += part;
    }
    float sum = 0.0f;
    for (int j = inner8; j < inner; j++) sum += LOAD(src, j);
    sum += HSUM8(sum8);
    STORE(y, y_off + plane, sum / (float)inner);
}
#endif

#if POOL_KERNEL == 4 || POOL_KERNEL == 5
/* MaxPool (4) and AveragePool (5) in rows of float16 vectors (on CPUs,
 * output rows of up to 128 at column strides 1 and 2: runtime/lower/pool.c),
 * as the depthwise convolution's DW_VEC body: a work-item per strip of PV_R
 * output rows of a plane, every size a define (PV_IH, PV_IW, PV_OH, PV_OW,
 * PV_SH, PV_SW, PV_PT, PV_PL, PV_DH, PV_DW, PV_R); each input row of the
 * strip is copied once into a private row with the padding (and ceil_mode's
 * overhang) written out as PV_PAD (at stride 2 its even and its odd
 * elements into two rows), so every tap of 16 neighbouring outputs is one
 * vector load, at any offset, with no bounds check. The window kernels
 * above take one output per work-item, and CPUs vectorise across
 * work-items: at stride 2 each tap was a gather (ResNet-18's 3x3 MaxPool
 * over [16, 64, 32, 32]: 1.5 ms on Intel's runtime, 2.5 on PoCL, three
 * launches), and a padded window took five launches (the interior and four
 * border strips).
 * MaxPool gives the window kernel's results: best starts at -FLT_MAX,
 * padding (-inf) never wins, NaN propagates. AveragePool pads with 0 and
 * sums in the window kernel's order (window rows, then columns, a 0 for
 * every tap off the input), so its sums are the same; the divisor is the
 * window kernel's too, per output (PV_PB, PV_PR: the bottom and right pads;
 * PV_CIP: count_include_pad). */
#if POOL_KERNEL == 4
#define PV_NAME maxpool_rows
#define PV_PAD (-INFINITY)
#define PV_START (-FLT_MAX)
#define PV_TAKE(acc, v) select(acc, v, ((v) > (acc)) | isnan(v))
#else
#define PV_NAME averagepool_rows
#define PV_PAD 0.0f
#define PV_START 0.0f
#define PV_TAKE(acc, v) ((acc) + (v))

/* The divisor of the 16 outputs from column c * 16 of output row oy: the
 * window's rows times its columns, each cut at the padded input's end
 * (ceil_mode) and, without count_include_pad, to the input. */
inline float16 pv_count(int oy, int c)
{
    const int ys = oy * PV_SH - PV_PT, ye = min(ys + KH, PV_IH + PV_PB);
    const int cy = PV_CIP ? ye - ys : min(ye, PV_IH) - max(ys, 0);
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int16 xs = (lane + c * 16) * PV_SW - PV_PL, xe = min(xs + KW, (int16)(PV_IW + PV_PR));
    const int16 cx = PV_CIP ? xe - xs : min(xe, (int16)(PV_IW)) - max(xs, (int16)(0));
    return convert_float16(cy * cx);
}
#endif
#define PV_CH ((PV_OW + 15) / 16)
#define PV_LR ((PV_R - 1) * PV_SH + (KH - 1) * PV_DH + 1)
#define PV_PW ((PV_CH * 16 - 1) * PV_SW + (KW - 1) * PV_DW + 1)
#define PV_PH (PV_PW / 2 + 1)
__attribute__((vec_type_hint(float16)))
__kernel void PV_NAME(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int planes)
{
    const int strips = (PV_OH + PV_R - 1) / PV_R, i = get_global_id(0);
    if (i >= planes * strips) return;
    const int plane = i / strips, oy0 = (i - plane * strips) * PV_R;
    const __global store_t *xp = x + x_off + (size_t)plane * (PV_IH * PV_IW);
    __global store_t *yp = y + y_off + (size_t)plane * (PV_OH * PV_OW) + oy0 * PV_OW;
    float16 best[PV_R][PV_CH];
    _Pragma("unroll") for (int r = 0; r < PV_R; r++)
        _Pragma("unroll") for (int c = 0; c < PV_CH; c++) best[r][c] = (float16)(PV_START);
#if PV_SW == 1
    float pr[PV_PW];
    _Pragma("unroll") for (int j = 0; j < PV_PW; j++) pr[j] = PV_PAD;
#else
    float pr[PV_PH], po[PV_PH];
    _Pragma("unroll") for (int j = 0; j < PV_PH; j++) pr[j] = po[j] = PV_PAD;
#endif
    const int iy0 = oy0 * PV_SH - PV_PT;
    _Pragma("unroll") for (int ly = 0; ly < PV_LR; ly++) {
        const int iy = iy0 + ly;
        if (iy < 0 || iy >= PV_IH) continue;
        _Pragma("unroll") for (int j = 0; j < PV_IW && PV_PL + j < PV_PW; j++) {
#if PV_SW == 1
            pr[PV_PL + j] = LOAD(xp, iy * PV_IW + j);
#else
            const int q = PV_PL + j;
            if (q % 2 == 0)
                pr[q / 2] = LOAD(xp, iy * PV_IW + j);
            else
                po[q / 2] = LOAD(xp, iy * PV_IW + j);
#endif
        }
        _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {
            /* the output row this input row is window row ky of, if any */
            const int ny = ly - ky * PV_DH;
            if (ny < 0 || ny % PV_SH != 0 || ny / PV_SH >= PV_R) continue;
            const int r = ny / PV_SH;
            _Pragma("unroll") for (int c = 0; c < PV_CH; c++)
                _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {
                    /* lane l reads padded element q + PV_SW * l */
                    const int q = c * 16 * PV_SW + kx * PV_DW;
#if PV_SW == 1
                    const float16 v = vload16(0, pr + q);
#else
                    const float16 v = vload16(0, (q % 2 == 0 ? pr : po) + q / 2);
#endif
                    best[r][c] = PV_TAKE(best[r][c], v);
                }
        }
    }
    /* rows past the plane's end (the last strip) and lanes past a row's
     * end (its last vector) are not stored */
    _Pragma("unroll") for (int r = 0; r < PV_R; r++) {
        if (PV_OH % PV_R != 0 && oy0 + r >= PV_OH) break;
        _Pragma("unroll") for (int c = 0; c < PV_CH; c++) {
#if POOL_KERNEL == 5
            /* shape inference keeps every window on the input; guard
             * anyway, as the window kernel does */
            const float16 count = pv_count(oy0 + r, c);
            const float16 out = select((float16)(0.0f), best[r][c] / count, count > 0.0f);
#else
            const float16 out = best[r][c];
#endif
            if (c * 16 + 16 <= PV_OW) {
                STOREV(16, out, yp + r * PV_OW + c * 16);
            } else {
                float part[16];
                vstore16(out, 0, part);
                for (int l = 0; l < PV_OW - c * 16; l++) STORE(yp, r * PV_OW + c * 16 + l, part[l]);
            }
        }
    }
}
#endif
