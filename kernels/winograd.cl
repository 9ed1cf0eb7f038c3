/* Winograd convolution F(m x m, 3x3), m = WG_M (2 or 4), by the minimal
 * filtering of Lavin and Gray ("Fast Algorithms for Convolutional Neural
 * Networks", 2016; runtime/lower/conv_winograd.c): a 3x3, stride-1,
 * undilated, ungrouped convolution as a = (m + 2)^2 products of
 * transformed tiles: per m x m outputs and input channel a multiply-adds
 * against the direct sum's 9 m^2, 2.25x fewer for F(2x2), 4x for F(4x4).
 * Three kernels, each a launch, in two programs: wino_weights and
 * wino_input, and (-DWG_OUT) wino_output alone, the one that takes the
 * epilogue, so that a model's epilogues (a Relu, a residual Add and Relu)
 * make programs of one kernel each (PoCL compiles each kernel of a program
 * once more when it saves it):
 *
 *   wino_weights  once per plan (constant weights): U = G g G^T for each
 *                 output channel k and input channel c, a values, written
 *                 straight into the packed-B panels of kernels/gemm.cl
 *                 (`panel` columns each, zero past the last channel):
 *                 product xi's B is U[xi] as [C][K]
 *   wino_input    every run: V = B^T d B for each (m + 2)^2 input patch d
 *                 (tiles m apart, zeros outside the input: the padding),
 *                 written as A = V[xi] [T][C], T = images x tile rows x
 *                 tile columns
 *   (gemm)        the packed GEMM kernel, batched over xi: M[xi] = V[xi]
 *                 U[xi], [T][K]
 *   wino_output   every run: Y = A^T M A for each tile and output channel,
 *                 m x m outputs, bias and epilogue, stored into the NCHW
 *                 output (outputs past the edge are not stored)
 *
 * F(2x2, 3x3): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1]:
 * coefficients 0, +-1 and +-1/2. F(4x4, 3x3) (interpolation points 0,
 * +-1, +-2): G's rows 1/4 [1 0 0], -1/6 [1 1 1], -1/6 [1 -1 1],
 * 1/24 [1 2 4], 1/24 [1 -2 4], [0 0 1]; B^T's [4 0 -5 0 1 0],
 * [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0], [0 2 -1 -2 1 0],
 * [0 4 0 -5 0 1]; A^T's [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0],
 * [0 1 -1 8 -8 1]: larger coefficients, so more rounding in the
 * transforms (tests/test_conv.c checks both against the reference).
 *
 * wino_input and wino_output: a work-item per tile and 8 channels, their
 * arithmetic on float8 vectors of the channels, V and M read and written
 * as vectors of 8 neighbours (a tile's channels are neighbours in both);
 * grid dim 0 over tiles (padded to a multiple of 64, checked here), dim 1
 * over groups of 8 channels. One channel per work-item, left to the
 * compilers to vectorise across work-items, made a 3x3 64->64
 * convolution on 16x16 images at batch 16 take 3.4-3.7 ms on PoCL
 * (about 1.1-1.2 ms per transform) against 1.6 ms this way; tiles as
 * neighbours (V and M tile-major) took 3.3 ms on Intel's runtime against
 * 1.5: the products read A a row of tiles apart per k. */

#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif
#ifndef WG_M
#define WG_M 2
#endif
#define WG_A (WG_M + 2)      /* the input patch's side */
#define WG_XI (WG_A * WG_A) /* products */

/* The 1-D transforms, from x[xo + i * xs] into y[yo + i * ys]: B^T (WG_A
 * in, WG_A out), G (3 in, WG_A out), A^T (WG_A in, WG_M out). */
#define CLG_WG_E(a, o, st, i) a[(o) + (i) * (st)]
#if WG_M == 2
#define CLG_WG_BT(x, xo, xs, y, yo, ys) \
    {                                   \
        CLG_WG_E(y, yo, ys, 0) = CLG_WG_E(x, xo, xs, 0) - CLG_WG_E(x, xo, xs, 2);          \
        CLG_WG_E(y, yo, ys, 1) = CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2);          \
        CLG_WG_E(y, yo, ys, 2) = CLG_WG_E(x, xo, xs, 2) - CLG_WG_E(x, xo, xs, 1);          \
        CLG_WG_E(y, yo, ys, 3) = CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 3);          \
    }
#define CLG_WG_G(x, xo, xs, y, yo, ys)           \
    {                                            \
        CLG_WG_E(y, yo, ys, 0) = CLG_WG_E(x, xo, xs, 0);                           \
        CLG_WG_E(y, yo, ys, 1) = 0.5f * (CLG_WG_E(x, xo, xs, 0) + CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2));  \
        CLG_WG_E(y, yo, ys, 2) = 0.5f * (CLG_WG_E(x, xo, xs, 0) - CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2));  \
        CLG_WG_E(y, yo, ys, 3) = CLG_WG_E(x, xo, xs, 2);                           \
    }
#define CLG_WG_AT(x, xo, xs, y, yo, ys)  \
    {                                    \
        CLG_WG_E(y, yo, ys, 0) = CLG_WG_E(x, xo, xs, 0) + CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2);   \
        CLG_WG_E(y, yo, ys, 1) = CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 2) - CLG_WG_E(x, xo, xs, 3);   \
    }
#elif WG_M == 4
#define CLG_WG_BT(x, xo, xs, y, yo, ys)                              \
    {                                                                \
        CLG_WG_E(y, yo, ys, 0) = 4.0f * CLG_WG_E(x, xo, xs, 0) - 5.0f * CLG_WG_E(x, xo, xs, 2) + CLG_WG_E(x, xo, xs, 4);                 \
        CLG_WG_E(y, yo, ys, 1) = CLG_WG_E(x, xo, xs, 3) + CLG_WG_E(x, xo, xs, 4) - 4.0f * (CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2));              \
        CLG_WG_E(y, yo, ys, 2) = CLG_WG_E(x, xo, xs, 4) - CLG_WG_E(x, xo, xs, 3) + 4.0f * (CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 2));              \
        CLG_WG_E(y, yo, ys, 3) = CLG_WG_E(x, xo, xs, 4) - CLG_WG_E(x, xo, xs, 2) + 2.0f * (CLG_WG_E(x, xo, xs, 3) - CLG_WG_E(x, xo, xs, 1));              \
        CLG_WG_E(y, yo, ys, 4) = CLG_WG_E(x, xo, xs, 4) - CLG_WG_E(x, xo, xs, 2) + 2.0f * (CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 3));              \
        CLG_WG_E(y, yo, ys, 5) = 4.0f * CLG_WG_E(x, xo, xs, 1) - 5.0f * CLG_WG_E(x, xo, xs, 3) + CLG_WG_E(x, xo, xs, 5);                 \
    }
#define CLG_WG_G(x, xo, xs, y, yo, ys)                                          \
    {                                                                           \
        CLG_WG_E(y, yo, ys, 0) = 0.25f * CLG_WG_E(x, xo, xs, 0);                                                  \
        CLG_WG_E(y, yo, ys, 1) = (-1.0f / 6.0f) * (CLG_WG_E(x, xo, xs, 0) + CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2));                       \
        CLG_WG_E(y, yo, ys, 2) = (-1.0f / 6.0f) * (CLG_WG_E(x, xo, xs, 0) - CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2));                       \
        CLG_WG_E(y, yo, ys, 3) = (1.0f / 24.0f) * CLG_WG_E(x, xo, xs, 0) + (1.0f / 12.0f) * CLG_WG_E(x, xo, xs, 1) + (1.0f / 6.0f) * CLG_WG_E(x, xo, xs, 2); \
        CLG_WG_E(y, yo, ys, 4) = (1.0f / 24.0f) * CLG_WG_E(x, xo, xs, 0) - (1.0f / 12.0f) * CLG_WG_E(x, xo, xs, 1) + (1.0f / 6.0f) * CLG_WG_E(x, xo, xs, 2); \
        CLG_WG_E(y, yo, ys, 5) = CLG_WG_E(x, xo, xs, 2);                                                          \
    }
#define CLG_WG_AT(x, xo, xs, y, yo, ys)                                       \
    {                                                                         \
        CLG_WG_E(y, yo, ys, 0) = CLG_WG_E(x, xo, xs, 0) + CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2) + CLG_WG_E(x, xo, xs, 3) + CLG_WG_E(x, xo, xs, 4);                        \
        CLG_WG_E(y, yo, ys, 1) = CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 2) + 2.0f * (CLG_WG_E(x, xo, xs, 3) - CLG_WG_E(x, xo, xs, 4));                       \
        CLG_WG_E(y, yo, ys, 2) = CLG_WG_E(x, xo, xs, 1) + CLG_WG_E(x, xo, xs, 2) + 4.0f * (CLG_WG_E(x, xo, xs, 3) + CLG_WG_E(x, xo, xs, 4));                       \
        CLG_WG_E(y, yo, ys, 3) = CLG_WG_E(x, xo, xs, 1) - CLG_WG_E(x, xo, xs, 2) + 8.0f * (CLG_WG_E(x, xo, xs, 3) - CLG_WG_E(x, xo, xs, 4)) + CLG_WG_E(x, xo, xs, 5);               \
    }
#else
#error "WG_M must be 2 or 4"
#endif

/* 8 neighbouring elements of a tile's channels from or to p, at any
 * element address: half buffers element by element, since PoCL 3.1
 * segfaults in vload_half8/vstore_half8 at an address that is not 16-byte
 * aligned (the storage prelude's LOAD8 says so), and a tile's channels
 * start at t * C. */
#ifdef STORE_HALF
#define CLG_WG_STORE8(v, p)                                          \
    {                                                                \
        float s_[8];                                                 \
        vstore8((v), 0, s_);                                         \
        for (int l_ = 0; l_ < 8; l_++) STORE((p), l_, s_[l_]);       \
    }
#else
#define CLG_WG_STORE8(v, p) { vstore8((v), 0, (p)); }
#endif

/* float8 of channels c .. c + 7 of p at element offset off, each channel
 * `step` elements apart; lanes past `count` channels repeat the last. */
static inline float8 clg_wg_gather(const __global store_t *p, size_t off, size_t step, int count)
{
    float s[8];
    for (int l = 0; l < 8; l++) s[l] = LOAD(p, off + (size_t)min(l, count - 1) * step);
    return vload8(0, s);
}

#ifndef WG_OUT
/* U for output channel k (< channels_out; past it zeros, the panel's
 * padding) and input channel c: a work-item per (k, c) of the padded
 * panels (`panel` columns each: the GEMM variant's NR), WG_XI stores,
 * product xi's panels elems apart. */
__kernel void wino_weights(__global const store_t *w, uint w_off, __global store_t *u, uint u_off, int channels,
                           int channels_out, int padded_out, int elems, int panel)
{
    const int k = get_global_id(0), c = get_global_id(1);
    if (k >= padded_out) return;
    float g[9], t[3 * WG_A], r[WG_XI];
    for (int i = 0; i < 9; i++) g[i] = k < channels_out ? LOAD(w, w_off + ((size_t)k * channels + c) * 9 + i) : 0.0f;
    /* t = G g ([WG_A][3]: each column of g), r = t G^T (each row of t) */
    _Pragma("unroll") for (int j = 0; j < 3; j++) CLG_WG_G(g, j, 3, t, j, 3)
    _Pragma("unroll") for (int i = 0; i < WG_A; i++) CLG_WG_G(t, 3 * i, 1, r, WG_A * i, 1)
    const size_t at = u_off + ((size_t)(k / panel) * channels + c) * panel + k % panel;
    for (int xi = 0; xi < WG_XI; xi++) STORE(u, at + (size_t)xi * elems, r[xi]);
}

/* V for tile t and input channels c0 .. c0 + 7: the WG_A x WG_A input
 * patch at row WG_M * ty - pad_top, column WG_M * tx - pad_left of image n
 * (zeros outside), WG_XI vectors of A = V[xi] [tiles][channels]. */
__attribute__((vec_type_hint(float8)))
__kernel void wino_input(__global const store_t *x, uint x_off, __global store_t *v, uint v_off, int channels,
                         int height, int width, int tiles_h, int tiles_w, int tiles, int pad_top, int pad_left)
{
    const int t = get_global_id(0), c0 = get_global_id(1) * 8;
    if (t >= tiles) return;
    const int per_image = tiles_h * tiles_w, n = t / per_image, rest = t - n * per_image;
    const int ty = rest / tiles_w, tx = rest - ty * tiles_w;
    const int y0 = WG_M * ty - pad_top, x0 = WG_M * tx - pad_left, count = min(8, channels - c0);
    const size_t plane = (size_t)height * width, base = x_off + ((size_t)n * channels + c0) * plane;
    float8 d[WG_XI];
    _Pragma("unroll") for (int i = 0; i < WG_A; i++)
        _Pragma("unroll") for (int j = 0; j < WG_A; j++) {
            const int iy = y0 + i, ix = x0 + j;
            d[WG_A * i + j] = iy >= 0 && iy < height && ix >= 0 && ix < width
                                  ? clg_wg_gather(x, base + iy * width + ix, plane, count)
                                  : (float8)(0.0f);
        }
    float8 e[WG_XI], r[WG_XI];
    /* e = B^T d (each column), r = e B (each row) */
    _Pragma("unroll") for (int j = 0; j < WG_A; j++) CLG_WG_BT(d, j, WG_A, e, j, WG_A)
    _Pragma("unroll") for (int i = 0; i < WG_A; i++) CLG_WG_BT(e, WG_A * i, 1, r, WG_A * i, 1)
    const size_t at = v_off + (size_t)t * channels + c0, step = (size_t)tiles * channels;
    if (count == 8) {
        _Pragma("unroll") for (int xi = 0; xi < WG_XI; xi++) CLG_WG_STORE8(r[xi], v + at + xi * step)
    } else {
        for (int xi = 0; xi < WG_XI; xi++) {
            float s[8];
            vstore8(r[xi], 0, s);
            for (int l = 0; l < count; l++) STORE(v, at + xi * step + l, s[l]);
        }
    }
}

#else
/* Y for tile t and output channels k0 .. k0 + 7 from M = the WG_XI products
 * [WG_XI][tiles][channels_out]: A^T M A, the bias, the epilogue (over the
 * NCHW output: image n, pixel oy * out_w + ox, channel k), stored where
 * inside. */
__attribute__((vec_type_hint(float8)))
__kernel void wino_output(__global const store_t *m, uint m_off, __global const store_t *bias, uint bias_off,
                          int has_bias, __global store_t *y, uint y_off, int channels_out, int out_h, int out_w,
                          int tiles_h, int tiles_w, int tiles EPILOGUE_ARGS)
{
    const int t = get_global_id(0), k0 = get_global_id(1) * 8;
    if (t >= tiles) return;
    const int per_image = tiles_h * tiles_w, n = t / per_image, rest = t - n * per_image;
    const int ty = rest / tiles_w, tx = rest - ty * tiles_w, count = min(8, channels_out - k0);
    const size_t at = m_off + (size_t)t * channels_out + k0, step = (size_t)tiles * channels_out;
    float8 s[WG_XI], h[WG_M * WG_A], o[WG_M * WG_M];
    _Pragma("unroll") for (int xi = 0; xi < WG_XI; xi++)
        s[xi] = count == 8 ? LOAD8(m + at + xi * step) : clg_wg_gather(m, at + xi * step, 1, count);
    /* h = A^T s (each column: [WG_M][WG_A]), o = h A (each row) */
    _Pragma("unroll") for (int j = 0; j < WG_A; j++) CLG_WG_AT(s, j, WG_A, h, j, WG_A)
    _Pragma("unroll") for (int i = 0; i < WG_M; i++) CLG_WG_AT(h, WG_A * i, 1, o, WG_M * i, 1)
    const float8 b = has_bias ? clg_wg_gather(bias, bias_off + k0, 1, count) : (float8)(0.0f);
    float f[WG_M * WG_M][8];
    _Pragma("unroll") for (int q = 0; q < WG_M * WG_M; q++) vstore8(o[q] + b, 0, f[q]);
    const size_t plane = (size_t)out_h * out_w;
    __global store_t *yk = y + y_off + ((size_t)n * channels_out + k0) * plane;
#pragma nounroll
    for (int q = 0; q < WG_M * WG_M; q++) {
        const int oy = WG_M * ty + q / WG_M, ox = WG_M * tx + q % WG_M;
        if (oy >= out_h || ox >= out_w) continue;
        const int px = oy * out_w + ox;
#pragma nounroll
        for (int l = 0; l < count; l++)
#ifdef EPILOGUE
            STORE(yk, l * plane + px, clg_epilogue_px(f[q][l], n, px, k0 + l EPILOGUE_PASS));
#else
            STORE(yk, l * plane + px, f[q][l]);
#endif
    }
}
#endif
