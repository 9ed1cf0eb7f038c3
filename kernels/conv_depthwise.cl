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
 * On a 1-D grid padded to a multiple of 64 (hence the checks), one of
 * three bodies:
 *
 *   DW_PLANE 1   (on CPUs, small planes: runtime/lower/conv.c's limits)
 *             a work-item per output plane (image, channel), or per strip
 *             of DW_R of its rows, every size a define (DW_IH, DW_IW,
 *             DW_OH, DW_OW, DW_SH, DW_SW, DW_PT, DW_PL, DW_DH, DW_DW,
 *             DW_R): each input element of the strip's rows is loaded once
 *             and added to the accumulators of the outputs it is a tap of,
 *             the loops unrolled and every bounds condition folded (but
 *             a strip's input rows against the plane's top and bottom). On
 *             MobileNetV2's 8x8, 7x7, 4x4 and 2x2 planes a work-item per
 *             row loaded each input once per tap, a gather each across
 *             the vectorised work-items, and reloaded the weights per row:
 *             these layers ran at 4-9 GFLOP/s on PoCL, and 1.7-4x faster
 *             as planes (batch 16, both CPU runtimes); strips of 16x16
 *             planes 1.4-2x faster than the blocks or the rows.
 *
 *   DW_VEC 1     (on CPUs, output rows of 16 to 128 at strides 1 and 2; a
 *             grouped convolution's rows of any width up to 128, DW_CG)
 *             the same strips (DW_R rows, every size a define), their
 *             rows as float16 vectors: each input row of the strip is
 *             copied once into a private row with the padding written
 *             out as zeros (stride 2: its even and its odd elements into
 *             two rows), and every tap of 16 neighbouring outputs is then
 *             one vector load from it, at any offset, with no bounds check
 *             and no lane loaded alone (the even lanes of two vectors
 *             instead, joined component by component as Oclgrind needs,
 *             took PoCL 1.3x the old body's time at stride 2); bias, epilogue and store a vector per 16
 *             outputs (the lanes of a row's last vector past its end are
 *             computed and not stored). The float8 blocks below load an
 *             edge block's taps lane by lane, and on a 16-wide row every
 *             block is an edge block; the strips' scalar accumulators
 *             run scalar multiply-adds.
 *
 * and a work-item per output row (image, channel, oy):
 *
 *   DW_BLOCKS 1  (on CPUs, rows wider than 8 outputs) the row in blocks of 8
 *             outputs as float8s. CPUs vectorise across work-items: taken
 *             one output at a time, each lane read another row, a gather
 *             per tap (Intel's runtime: 7-9 GFLOP/s on MobileNetV2's
 *             layers). A block reads a tap's 8 inputs as one vector instead
 *             (stride 1: 8 neighbours; stride 2: the even elements of the
 *             15 from the first; others: 8 loads); a tap that reaches
 *             outside the row (the blocks at the edges) loads each lane
 *             with a bounds check, zero outside. The lanes of a row's last
 *             block past its end are computed and not stored.
 *   otherwise    one output at a time, the columns whose taps all fall
 *             inside the row (the interior) without bounds checks. On rows
 *             of 2 to 8 outputs (MobileNetV2's later layers) the blocks
 *             took 2.5-3.5x as long on PoCL (a block of 8 lanes, most of
 *             them checked or idle) and 1.0-1.2x on Intel's runtime.
 *
 * A work-item per block instead of per row was 2-3x slower on both CPU
 * runtimes ([16,96,112,112]): 8 outputs seem too little work to pay for
 * an item's index arithmetic (three divisions) and scheduling. On a GPU
 * neighbouring items a row apart do not coalesce (either way), and the
 * 5x5 block kernel needed 1220 bytes of scratch on gfx1100: GPUs take the
 * loop below until a GPU-shaped variant (issue 13). */
#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif
/* Input channels per group: 1 (depthwise) but in the DW_VEC body, which
 * also runs grouped convolutions (runtime/lower/conv.c): each output then
 * sums DW_CG input channels' taps, W being [M, DW_CG, KH, KW]. */
#ifndef DW_CG
#define DW_CG 1
#endif

#if DW_BLOCKS
#define DW_PX 8

static inline float8 clg_dw_even(float8 lo, float8 hi)
{
    return (float8)(lo.s0, lo.s2, lo.s4, lo.s6, hi.s1, hi.s3, hi.s5, hi.s7);
}

#ifdef EPILOGUE
#define CLG_DW_E(v, l) clg_epilogue_px((v), b, px0 + (l), m EPILOGUE_PASS)
#else
#define CLG_DW_E(v, l) (v)
#endif
#define CLG_DW_FINISH(a)                                                                                     \
    ((float8)(CLG_DW_E((a).s0, 0), CLG_DW_E((a).s1, 1), CLG_DW_E((a).s2, 2), CLG_DW_E((a).s3, 3),            \
              CLG_DW_E((a).s4, 4), CLG_DW_E((a).s5, 5), CLG_DW_E((a).s6, 6), CLG_DW_E((a).s7, 7)))

/* The taps, each lane's inputs loaded by LOADX(ix) (ix: lane 0's column),
 * a separate loop per way of loading so that none has a branch inside but
 * CHECK's: 0 in a block whose every tap is inside the row, else whether
 * this tap is (LOADX), or needs its lanes checked one by one (the edge). */
#define CLG_DW_TAPS(LOADX, CHECK)                                                                            \
    _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {                                                      \
        const int iy = iy0 + ky * dil_h;                                                                     \
        if (iy < 0 || iy >= height) continue;                                                                \
        const __global store_t *row = xp + iy * width;                                                       \
        _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {                                                  \
            const int ix = ix0 + kx * dil_w;                                                                 \
            const float8 v = (CHECK && (ix < 0 || ix + span > width)) ? CLG_DW_EDGE(ix) : LOADX(ix);         \
            acc = fma(v, (float8)(wk[ky * KW + kx]), acc);                                                   \
        }                                                                                                    \
    }
#define CLG_DW_NEXT(ix) LOAD8(row + (ix))
/* (lo.even, hi.odd) by components: written as two swizzles joined, clang
 * at -O0 widens each half with undefined lanes (a shufflevector whose mask
 * has undef elements), and Oclgrind 21.10's --uninitialized check crashes
 * on those (tests/oclgrind/repro_shuffle_undef.c); optimising compilers
 * make the same one shuffle of this. */
#define CLG_DW_EVEN(ix) clg_dw_even(LOAD8(row + (ix)), LOAD8(row + (ix) + 7))
#define CLG_DW_STRIDED(ix)                                                                                   \
    ((float8)(LOAD(row, ix), LOAD(row, (ix) + stride_w), LOAD(row, (ix) + 2 * stride_w),                     \
              LOAD(row, (ix) + 3 * stride_w), LOAD(row, (ix) + 4 * stride_w), LOAD(row, (ix) + 5 * stride_w), \
              LOAD(row, (ix) + 6 * stride_w), LOAD(row, (ix) + 7 * stride_w)))
/* element j of the row, zero outside it */
#define CLG_DW_AT(j) (((j) >= 0 && (j) < width) ? LOAD(row, (j)) : 0.0f)
#define CLG_DW_EDGE(ix)                                                                                      \
    ((float8)(CLG_DW_AT(ix), CLG_DW_AT((ix) + stride_w), CLG_DW_AT((ix) + 2 * stride_w),                     \
              CLG_DW_AT((ix) + 3 * stride_w), CLG_DW_AT((ix) + 4 * stride_w), CLG_DW_AT((ix) + 5 * stride_w), \
              CLG_DW_AT((ix) + 6 * stride_w), CLG_DW_AT((ix) + 7 * stride_w)))

/* Lane l of a row's last, short block (n outputs), by its component name:
 * a private array indexed by a loop variable instead went to scratch
 * memory on GPUs (scripts/gpu_compile_check.py failed it). */
#define CLG_DW_TAIL(l, comp) \
    if ((l) < n) STORE(yp, ox0 + (l), CLG_DW_E(acc.comp, l));

/* A row's blocks of 8 outputs, each lane's inputs loaded by LOADX: the
 * blocks whose every tap is inside the row without checks, the others
 * (the edges) with CHECK's per tap; then the bias, the epilogue, the store
 * (the last block of a row: its lanes inside the row only, as the
 * epilogue's inputs end with the image). */
#define CLG_DW_ROW(LOADX)                                                                                    \
    for (int ox0 = 0; ox0 < out_w; ox0 += DW_PX) {                                                           \
        const int ix0 = ox0 * stride_w - pad_left, px0 = oy * out_w + ox0;                                   \
        (void)px0;                                                                                           \
        float8 acc = (float8)(bv);                                                                           \
        if (ix0 >= 0 && ix0 + (KW - 1) * dil_w + span <= width) {                                            \
            CLG_DW_TAPS(LOADX, 0)                                                                            \
        } else {                                                                                             \
            CLG_DW_TAPS(LOADX, 1)                                                                            \
        }                                                                                                    \
        if (ox0 + DW_PX <= out_w) {                                                                          \
            STOREV(8, CLG_DW_FINISH(acc), yp + ox0);                                                         \
        } else {                                                                                             \
            const int n = out_w - ox0;                                                                       \
            CLG_DW_TAIL(0, s0) CLG_DW_TAIL(1, s1) CLG_DW_TAIL(2, s2) CLG_DW_TAIL(3, s3)                      \
            CLG_DW_TAIL(4, s4) CLG_DW_TAIL(5, s5) CLG_DW_TAIL(6, s6)                                         \
        }                                                                                                    \
    }

#else

/* One output element at column ox: its taps, the bias, the epilogue. */
#define CLG_DW_PIXEL(CHECK_X)                                                                                \
    {                                                                                                        \
        const int ix0 = ox * stride_w - pad_left;                                                            \
        float acc = bv;                                                                                      \
        _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {                                                  \
            const int iy = iy0 + ky * dil_h;                                                                 \
            if (iy < 0 || iy >= height) continue;                                                            \
            const __global store_t *row = xp + iy * width;                                                   \
            _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {                                              \
                const int ix = ix0 + kx * dil_w;                                                             \
                if (CHECK_X && (ix < 0 || ix >= width)) continue;                                            \
                acc = fma(LOAD(row, ix), wk[ky * KW + kx], acc);                                             \
            }                                                                                                \
        }                                                                                                    \
        STORE(yp, ox, CLG_DW_ONE(acc, oy * out_w + ox));                                                     \
    }

#endif

/* an output's bias-added sum at pixel px of its plane, the epilogue applied */
#ifdef EPILOGUE
#define CLG_DW_ONE(acc, px) clg_epilogue_px((acc), b, (px), m EPILOGUE_PASS)
#else
#define CLG_DW_ONE(acc, px) (acc)
#endif

/* The bodies share the kernel and its prologue: the row, its weights,
 * its bias. */
#if DW_BLOCKS
__attribute__((vec_type_hint(float8)))
#elif DW_VEC
__attribute__((vec_type_hint(float16)))
#endif
__kernel void depthwise(__global const store_t *x, uint x_off, __global const store_t *w, uint w_off,
                        __global const store_t *bias, uint bias_off, int has_bias, __global store_t *y,
                        uint y_off, int batch, int channels, int height, int width, int mult, int out_h,
                        int out_w, int stride_h, int stride_w, int pad_top, int pad_left, int dil_h,
                        int dil_w EPILOGUE_ARGS)
{
    const int i = get_global_id(0);
    const int out_ch = channels / DW_CG * mult;
#if DW_PLANE || DW_VEC
    /* a strip of DW_R output rows of a plane (all of them: one strip) */
    const int strips = (DW_OH + DW_R - 1) / DW_R;
    if (i >= batch * out_ch * strips) return;
    const int plane = i / strips, oy0 = (i - plane * strips) * DW_R; /* plane = b * out_ch + m */
    __global store_t *yp = y + y_off + (size_t)plane * (DW_OH * DW_OW) + oy0 * DW_OW;
#else
    if (i >= batch * out_ch * out_h) return;
    const int plane = i / out_h, oy = i - plane * out_h; /* plane = b * out_ch + m */
    __global store_t *yp = y + y_off + (size_t)i * out_w;
#endif
    const int b = plane / out_ch, m = plane - b * out_ch;
    /* the group's first input channel (DW_CG of them; `mult` outputs per
     * group) */
    const __global store_t *xp =
        x + x_off + (size_t)(b * channels + (mult == 1 ? m : m / mult) * DW_CG) * height * width;
    float wk[KH * KW];
    _Pragma("unroll") for (int j = 0; j < KH * KW; j++) wk[j] = LOAD(w, w_off + m * (DW_CG * KH * KW) + j);
    const float bv = has_bias ? LOAD(bias, bias_off + m) : 0.0f;
#if DW_PLANE
    /* Every input element of the strip's rows once, added to each output
     * whose tap it is: with the sizes known, the conditions fold away
     * when the loops unroll, and what is left is loads and FMAs on
     * registers (a whole plane: the row checks fold too). Each output's
     * taps are still added in (ky, kx) order. */
#define DW_LR ((DW_R - 1) * DW_SH + (KH - 1) * DW_DH + 1)
    float acc[DW_R * DW_OW];
    _Pragma("unroll") for (int o = 0; o < DW_R * DW_OW; o++) acc[o] = bv;
    const int iy0 = oy0 * DW_SH - DW_PT;
    _Pragma("unroll") for (int ly = 0; ly < DW_LR; ly++) {
        const int iy = iy0 + ly;
        if (iy < 0 || iy >= DW_IH) continue;
        _Pragma("unroll") for (int ix = 0; ix < DW_IW; ix++) {
            const float v = LOAD(xp, iy * DW_IW + ix);
            _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {
                _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {
                    /* the output this tap of this input belongs to, if any */
                    const int ny = ly - ky * DW_DH, nx = ix + DW_PL - kx * DW_DW;
                    if (ny >= 0 && ny % DW_SH == 0 && ny / DW_SH < DW_R && nx >= 0 && nx % DW_SW == 0 &&
                        nx / DW_SW < DW_OW) {
                        const int o = ny / DW_SH * DW_OW + nx / DW_SW;
                        acc[o] = fma(v, wk[ky * KW + kx], acc[o]);
                    }
                }
            }
        }
    }
    /* the last strip's rows past the plane's end are not stored */
    _Pragma("unroll") for (int r = 0; r < DW_R; r++) {
        if (DW_OH % DW_R != 0 && oy0 + r >= DW_OH) break;
        _Pragma("unroll") for (int ox = 0; ox < DW_OW; ox++)
            STORE(yp, r * DW_OW + ox, CLG_DW_ONE(acc[r * DW_OW + ox], (oy0 + r) * DW_OW + ox));
    }
#elif DW_VEC
#define DW_CH ((DW_OW + 15) / 16) /* vectors of 16 outputs per row */
#define DW_LR ((DW_R - 1) * DW_SH + (KH - 1) * DW_DH + 1)
/* the private row: DW_PL zeros, the input row, zeros up to the furthest
 * element the last vector's last tap reads; at stride 2 as its even
 * elements (pr) and its odd ones (po), DW_PH each */
#define DW_PW ((DW_CH * 16 - 1) * DW_SW + (KW - 1) * DW_DW + 1)
#define DW_PH (DW_PW / 2 + 1)
    float16 acc[DW_R][DW_CH];
    _Pragma("unroll") for (int r = 0; r < DW_R; r++)
        _Pragma("unroll") for (int c = 0; c < DW_CH; c++) acc[r][c] = (float16)(bv);
#if DW_SW == 1
    float pr[DW_PW];
    _Pragma("unroll") for (int j = 0; j < DW_PW; j++) pr[j] = 0.0f;
#else
    float pr[DW_PH], po[DW_PH];
    _Pragma("unroll") for (int j = 0; j < DW_PH; j++) pr[j] = po[j] = 0.0f;
#endif
    const int iy0 = oy0 * DW_SH - DW_PT;
    /* a grouped convolution's input channels one after another, each
     * channel's weights loaded as it starts */
#if DW_CG > 1
    for (int ci = 0; ci < DW_CG; ci++) {
        const __global store_t *xc = xp + ci * (DW_IH * DW_IW);
        _Pragma("unroll") for (int j = 0; j < KH * KW; j++) wk[j] = LOAD(w, w_off + (m * DW_CG + ci) * (KH * KW) + j);
#else
    {
        const __global store_t *xc = xp;
#endif
    _Pragma("unroll") for (int ly = 0; ly < DW_LR; ly++) {
        const int iy = iy0 + ly;
        if (iy < 0 || iy >= DW_IH) continue;
#if DW_SW == 1
        _Pragma("unroll") for (int j = 0; j < DW_IW && DW_PL + j < DW_PW; j++) pr[DW_PL + j] = LOAD(xc, iy * DW_IW + j);
#else
        _Pragma("unroll") for (int j = 0; j < DW_IW && DW_PL + j < DW_PW; j++) {
            const int q = DW_PL + j;
            if (q % 2 == 0)
                pr[q / 2] = LOAD(xc, iy * DW_IW + j);
            else
                po[q / 2] = LOAD(xc, iy * DW_IW + j);
        }
#endif
        _Pragma("unroll") for (int ky = 0; ky < KH; ky++) {
            /* the output row this input row is tap row ky of, if any */
            const int ny = ly - ky * DW_DH;
            if (ny < 0 || ny % DW_SH != 0 || ny / DW_SH >= DW_R) continue;
            const int r = ny / DW_SH;
            _Pragma("unroll") for (int c = 0; c < DW_CH; c++)
                _Pragma("unroll") for (int kx = 0; kx < KW; kx++) {
                    /* lane l reads padded element q + DW_SW * l */
                    const int q = c * 16 * DW_SW + kx * DW_DW;
#if DW_SW == 1
                    const float16 v = vload16(0, pr + q);
#else
                    const float16 v = vload16(0, (q % 2 == 0 ? pr : po) + q / 2);
#endif
                    acc[r][c] = fma(v, (float16)(wk[ky * KW + kx]), acc[r][c]);
                }
        }
    }
    }
    /* the last strip's rows past the plane's end and the last vector's
     * lanes past the row's end are not stored */
    _Pragma("unroll") for (int r = 0; r < DW_R; r++) {
        if (DW_OH % DW_R != 0 && oy0 + r >= DW_OH) break;
        _Pragma("unroll") for (int c = 0; c < DW_CH; c++) {
            const int px0 = (oy0 + r) * DW_OW + c * 16;
            float16 v = acc[r][c];
            if (c * 16 + 16 <= DW_OW) {
#ifdef EPILOGUE
                v = clg_epilogue16(v, m, b * (DW_OH * DW_OW) + px0 EPILOGUE_PASS);
#endif
                STOREV(16, v, yp + r * DW_OW + c * 16);
            } else {
                float part[16];
                vstore16(v, 0, part);
                for (int l = 0; l < DW_OW - c * 16; l++) STORE(yp, r * DW_OW + c * 16 + l, CLG_DW_ONE(part[l], px0 + l));
            }
        }
    }
#elif DW_BLOCKS
    const int iy0 = oy * stride_h - pad_top;
    /* one past the last element a lane-0-based vector tap reads */
    const int span = stride_w == 2 ? 15 : (DW_PX - 1) * stride_w + 1;
    if (stride_w == 1) {
        CLG_DW_ROW(CLG_DW_NEXT)
    } else if (stride_w == 2) {
        CLG_DW_ROW(CLG_DW_EVEN)
    } else {
        CLG_DW_ROW(CLG_DW_STRIDED)
    }
#else
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
#endif
}
