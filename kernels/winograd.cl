/* Winograd F(2x2, 3x3) convolution (runtime/lower/conv_winograd.c): a 3x3,
 * stride-1, undilated, ungrouped convolution as 16 products of transformed
 * tiles, 2.25x fewer multiply-adds than the direct sum (16 products per
 * 2x2 outputs and input channel against 36). Three kernels, each a launch:
 *
 *   wino_weights  once per plan (constant weights): U = G g G^T for each
 *                 output channel k and input channel c, 16 values, written
 *                 straight into the packed-B panels of kernels/gemm.cl
 *                 (PACK_NR columns per panel, zero past the last channel):
 *                 product xi's B is U[xi] as [C][K]
 *   wino_input    every run: V = B^T d B for each 4x4 input tile d (tiles
 *                 2 apart, zeros outside the input: the padding), written as
 *                 A = V[xi] [T][C], T = images x tile rows x tile columns
 *   (gemm)        the packed GEMM kernel, batched over xi: M[xi] = V[xi]
 *                 U[xi], [T][K]
 *   wino_output   every run: Y = A^T m A for each tile and output channel,
 *                 2x2 outputs, bias and epilogue, stored into the NCHW
 *                 output (outputs past an odd edge are not stored)
 *
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1]
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016). Their coefficients are 0, 1 and 1/2: the transforms add no
 * rounding beyond the sums', and the products' error stays that of a
 * float dot product (tests/test_conv.c checks it against the reference).
 *
 * wino_input and wino_output: a work-item per tile and 8 channels, their
 * arithmetic on float8 vectors of the channels, V and M read and written
 * as vectors of 8 neighbours (a tile's channels are neighbours in both);
 * grid dim 0 over tiles (padded to a multiple of 64, checked here), dim 1
 * over groups of 8 channels. One channel per work-item, left to the
 * compilers to vectorise across work-items, took 4-5x as long on PoCL
 * (c. 1.2 ms each way for a 3x3 64->64 convolution on 16x16 images at
 * batch 16, against 0.3 for its products); tiles as neighbours (V and M
 * tile-major) also slowed the products: A read a row of tiles apart per k. */

#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif
#ifndef PACK_NR
#define PACK_NR 32
#endif

/* The 4 rows (or columns) of B^T d: d's rows r0..r3 in, t0..t3 out. */
#define CLG_WG_BT(r0, r1, r2, r3, t0, t1, t2, t3) \
    t0 = (r0) - (r2);                             \
    t1 = (r1) + (r2);                             \
    t2 = (r2) - (r1);                             \
    t3 = (r1) - (r3)

/* U for output channel k (< channels_out; past it zeros, the panel's
 * padding) and input channel c: a work-item per (k, c) of the padded
 * panels, 16 stores, product xi's panels elems apart. */
__kernel void wino_weights(__global const store_t *w, uint w_off, __global store_t *u, uint u_off, int channels,
                           int channels_out, int padded_out, int elems)
{
    const int k = get_global_id(0), c = get_global_id(1);
    if (k >= padded_out) return;
    float g[9], t[12], r[16];
    for (int i = 0; i < 9; i++) g[i] = k < channels_out ? LOAD(w, w_off + ((size_t)k * channels + c) * 9 + i) : 0.0f;
    /* t = G g: 4 rows of 3 */
    for (int j = 0; j < 3; j++) {
        const float a = g[j], b = g[3 + j], d = g[6 + j];
        t[j] = a;
        t[3 + j] = 0.5f * (a + b + d);
        t[6 + j] = 0.5f * (a - b + d);
        t[9 + j] = d;
    }
    /* r = t G^T: 4 rows of 4 */
    for (int i = 0; i < 4; i++) {
        const float a = t[3 * i], b = t[3 * i + 1], d = t[3 * i + 2];
        r[4 * i] = a;
        r[4 * i + 1] = 0.5f * (a + b + d);
        r[4 * i + 2] = 0.5f * (a - b + d);
        r[4 * i + 3] = d;
    }
    const size_t at = u_off + ((size_t)(k / PACK_NR) * channels + c) * PACK_NR + k % PACK_NR;
    for (int xi = 0; xi < 16; xi++) STORE(u, at + (size_t)xi * elems, r[xi]);
}

/* float8 of channels c .. c + 7 of p at element offset off, each channel
 * `step` elements apart; lanes past `count` channels repeat the last. */
static inline float8 clg_wg_gather(const __global store_t *p, size_t off, size_t step, int count)
{
    float s[8];
    for (int l = 0; l < 8; l++) s[l] = LOAD(p, off + (size_t)min(l, count - 1) * step);
    return vload8(0, s);
}

/* V for tile t and input channels c0 .. c0 + 7: the 4x4 input patch at row
 * 2 * ty - pad_top, column 2 * tx - pad_left of image n (zeros outside),
 * 16 vectors of A = V[xi] [tiles][channels]. */
__attribute__((vec_type_hint(float8)))
__kernel void wino_input(__global const store_t *x, uint x_off, __global store_t *v, uint v_off, int channels,
                         int height, int width, int tiles_h, int tiles_w, int tiles, int pad_top, int pad_left)
{
    const int t = get_global_id(0), c0 = get_global_id(1) * 8;
    if (t >= tiles) return;
    const int per_image = tiles_h * tiles_w, n = t / per_image, rest = t - n * per_image;
    const int ty = rest / tiles_w, tx = rest - ty * tiles_w;
    const int y0 = 2 * ty - pad_top, x0 = 2 * tx - pad_left, count = min(8, channels - c0);
    const size_t plane = (size_t)height * width, base = x_off + ((size_t)n * channels + c0) * plane;
    float8 d[16];
    _Pragma("unroll") for (int i = 0; i < 4; i++)
        _Pragma("unroll") for (int j = 0; j < 4; j++) {
            const int iy = y0 + i, ix = x0 + j;
            d[4 * i + j] = iy >= 0 && iy < height && ix >= 0 && ix < width
                               ? clg_wg_gather(x, base + iy * width + ix, plane, count)
                               : (float8)(0.0f);
        }
    float8 e[16], r[16];
    /* e = B^T d (over rows), r = e B (over columns) */
    _Pragma("unroll") for (int j = 0; j < 4; j++) {
        CLG_WG_BT(d[j], d[4 + j], d[8 + j], d[12 + j], e[j], e[4 + j], e[8 + j], e[12 + j]);
    }
    _Pragma("unroll") for (int i = 0; i < 4; i++) {
        CLG_WG_BT(e[4 * i], e[4 * i + 1], e[4 * i + 2], e[4 * i + 3], r[4 * i], r[4 * i + 1], r[4 * i + 2],
                  r[4 * i + 3]);
    }
    const size_t at = v_off + (size_t)t * channels + c0, step = (size_t)tiles * channels;
    if (count == 8) {
        _Pragma("unroll") for (int xi = 0; xi < 16; xi++) STOREV(8, r[xi], v + at + xi * step);
    } else {
        for (int xi = 0; xi < 16; xi++) {
            float s[8];
            vstore8(r[xi], 0, s);
            for (int l = 0; l < count; l++) STORE(v, at + xi * step + l, s[l]);
        }
    }
}

/* Y for tile t and output channels k0 .. k0 + 7 from M = the 16 products
 * [16][tiles][channels_out]: A^T m A, the bias, the epilogue (over the NCHW
 * output: image n, pixel oy * out_w + ox, channel k), stored where inside. */
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
    float8 s[16], h[8];
    _Pragma("unroll") for (int xi = 0; xi < 16; xi++)
        s[xi] = count == 8 ? LOADV(8, m + at + xi * step) : clg_wg_gather(m, at + xi * step, 1, count);
    /* h = A^T s (over rows): 2 rows of 4 */
    _Pragma("unroll") for (int j = 0; j < 4; j++) {
        h[j] = s[j] + s[4 + j] + s[8 + j];
        h[4 + j] = s[4 + j] - s[8 + j] - s[12 + j];
    }
    const float8 b = has_bias ? clg_wg_gather(bias, bias_off + k0, 1, count) : (float8)(0.0f);
    /* (h A) over columns: outputs o[2 * i + j] at (2 * ty + i, 2 * tx + j) */
    float8 o[4];
    _Pragma("unroll") for (int i = 0; i < 2; i++) {
        o[2 * i] = h[4 * i] + h[4 * i + 1] + h[4 * i + 2] + b;
        o[2 * i + 1] = h[4 * i + 1] - h[4 * i + 2] - h[4 * i + 3] + b;
    }
    float f[4][8];
    _Pragma("unroll") for (int q = 0; q < 4; q++) vstore8(o[q], 0, f[q]);
    const size_t plane = (size_t)out_h * out_w;
    __global store_t *yk = y + y_off + ((size_t)n * channels_out + k0) * plane;
    for (int q = 0; q < 4; q++) {
        const int oy = 2 * ty + q / 2, ox = 2 * tx + q % 2;
        if (oy >= out_h || ox >= out_w) continue;
        const int px = oy * out_w + ox;
        for (int l = 0; l < count; l++)
#ifdef EPILOGUE
            STORE(yk, l * plane + px, clg_epilogue_px(f[q][l], n, px, k0 + l EPILOGUE_PASS));
#else
            STORE(yk, l * plane + px, f[q][l]);
#endif
    }
}
