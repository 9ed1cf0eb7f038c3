/* Convolution as im2col + GEMM. For a batch of B images and G groups the
 * column matrix of group g is [Cg*KH*KW, B*P] (P = OH*OW output pixels), so
 * one GEMM per group covers the whole batch. After CLBlast's GEMM,
 * gemm_to_nchw moves the [M, B*P] result into NCHW and adds the bias;
 * kernels/gemm.cl's packed kernels write NCHW themselves, from
 * im2col_panel's packed layout or, flipped, from im2col_rows'. */

/* The column matrix of every group: rows G * Cg*KH*KW (over all
 * channels: c * KH*KW + ky * KW + kx), columns B * P. One work-item per
 * (image, output row, column-matrix row), on the grid (b * OH + oy, row)
 * (the first dim padded to 64, hence its check), each writing its OW
 * neighbouring elements in a loop: on PoCL a work-item per element costs
 * more in work-item loops than the copy itself (2.6x slower measured on a
 * ResNet stem, 16 images of 16x16 outputs). */
__kernel void im2col_rows(__global const store_t *x, uint x_off, __global store_t *col, uint col_off,
                          int batch, int channels, int height, int width,
                          int kh, int kw, int out_h, int out_w,
                          int stride_h, int stride_w, int pad_top, int pad_left,
                          int dil_h, int dil_w)
{
    const int i = get_global_id(0);
    if (i >= batch * out_h) return;
    const int row = get_global_id(1);
    const int b = i / out_h, oy = i - b * out_h;
    const int c = row / (kh * kw), r = row - c * (kh * kw);
    const int ky = r / kw, kx = r - ky * kw;
    const int iy = oy * stride_h - pad_top + ky * dil_h;
    const bool inside = iy >= 0 && iy < height;
    /* x_off may pass 2^31: the pointer moves in size_t, not int */
    const __global store_t *src = x + x_off + (size_t)(((b * channels + c) * height + (inside ? iy : 0)) * width);
    __global store_t *dst = col + col_off + (size_t)row * (batch * out_h * out_w) + (size_t)i * out_w;
    for (int ox = 0; ox < out_w; ox++) {
        const int ix = ox * stride_w - pad_left + kx * dil_w;
        STORE(dst, ox, inside && ix >= 0 && ix < width ? LOAD(src, ix) : 0.0f);
    }
}

#ifdef PACK_NR
/* The column matrix packed for kernels/gemm.cl's packed-B kernel: panel t
 * holds columns [t * PACK_NR, t * PACK_NR + PACK_NR) as `rows` rows of
 * PACK_NR floats, zero past the last column. One work-item per (row,
 * panel), on the grid (row, t), writes its PACK_NR floats in a loop,
 * stepping through pixels and images: neighbouring work-items fill
 * neighbouring stretches of the panel. Measured on PoCL on a ResNet stem
 * (7x7, stride 2, 16 images of 16x16 outputs): 2.8x faster than a
 * work-item per element. */
__kernel void im2col_panel(__global const store_t *x, uint x_off, __global store_t *col, uint col_off,
                          int batch, int channels, int height, int width,
                          int kh, int kw, int out_h, int out_w,
                          int stride_h, int stride_w, int pad_top, int pad_left,
                          int dil_h, int dil_w, int rows)
{
    const int row = get_global_id(0);
    if (row >= rows) return;
    const int t = get_global_id(1);
    const int c = row / (kh * kw), r = row - c * (kh * kw);
    const int ky = r / kw, kx = r - ky * kw;
    const int p_count = out_h * out_w;
    const int cidx = t * PACK_NR;
    int b = cidx / p_count, p = cidx - b * p_count;
    int oy = p / out_w, ox = p - oy * out_w;
    __global store_t *dst = col + col_off + ((size_t)t * rows + row) * PACK_NR;
    for (int j = 0; j < PACK_NR; j++) {
        const int iy = oy * stride_h - pad_top + ky * dil_h;
        const int ix = ox * stride_w - pad_left + kx * dil_w;
        float v = 0.0f;
        if (b < batch && iy >= 0 && iy < height && ix >= 0 && ix < width)
            v = LOAD(x, x_off + ((b * channels + c) * height + iy) * width + ix);
        STORE(dst, j, v);
        if (++ox == out_w) {
            ox = 0;
            if (++oy == out_h) {
                oy = 0;
                b++;
            }
        }
    }
}
#endif

/* y[b, m, p] = t[m, b*P + p] + bias[m]; one work-item per output element,
 * n = B * M * P of them (the host pads the grid up to a multiple of 64). */
__kernel void gemm_to_nchw(__global const store_t *t, uint t_off, __global const store_t *bias,
                           uint bias_off, int has_bias, __global store_t *y, uint y_off,
                           int n, int batch, int out_channels, int p_count)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const int p = i % p_count;
    const int m = (i / p_count) % out_channels;
    const int b = i / (p_count * out_channels);
    float v = LOAD(t, t_off + m * (batch * p_count) + b * p_count + p);
    if (has_bias) v += LOAD(bias, bias_off + m);
    STORE(y, y_off + i, v);
}

/* The implicit GEMM's input with its padding written out (conv_pad_planes
 * in runtime/lower/conv.c): every plane of x, [planes][height][width],
 * into [planes][height + pad_top + pad_bottom][width + pad_left +
 * pad_right] with zeros around it, so the convolution runs unpadded and
 * every tile within one output row takes kernels/gemm.cl's interior loop.
 * One work-item per output row (the grid padded to 64, hence the check),
 * writing its row in a loop, as im2col_rows does. */
__kernel void pad_planes(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int rows,
                         int height, int width, int out_h, int out_w, int pad_top, int pad_left)
{
    const int i = get_global_id(0);
    if (i >= rows) return;
    const int plane = i / out_h, oy = i - plane * out_h, iy = oy - pad_top;
    __global store_t *dst = y + y_off + (size_t)i * out_w;
    if (iy < 0 || iy >= height) {
        for (int ox = 0; ox < out_w; ox++) STORE(dst, ox, 0.0f);
        return;
    }
    const __global store_t *src = x + x_off + ((size_t)plane * height + iy) * width;
    for (int ox = 0; ox < pad_left; ox++) STORE(dst, ox, 0.0f);
    for (int ix = 0; ix < width; ix++) STORE(dst, pad_left + ix, LOAD(src, ix));
    for (int ox = pad_left + width; ox < out_w; ox++) STORE(dst, ox, 0.0f);
}

/* kernels/conv_direct.cl's weights: W [out_c, k] (k = input channel *
 * KH*KW + tap, as ONNX stores it) into blocks of `co` output channels,
 * each k rows of `co` weights next to each other, zero past out_c. One
 * work-item per (k, block), on the grid (k padded to 64, hence the check,
 * blocks); once per plan when the weights are a constant. */
__kernel void direct_weights(__global const store_t *w, uint w_off, __global store_t *p, uint p_off, int out_c,
                             int k, int co)
{
    const int r = get_global_id(0), b = get_global_id(1);
    if (r >= k) return;
    __global store_t *dst = p + p_off + ((size_t)b * k + r) * co;
    for (int j = 0; j < co; j++) {
        const int m = b * co + j;
        STORE(dst, j, m < out_c ? LOAD(w, w_off + (size_t)m * k + r) : 0.0f);
    }
}
