/* Convolution as im2col + GEMM. For a batch of B images and G groups the
 * column matrix of group g is [Cg*KH*KW, B*P] (P = OH*OW output pixels), so
 * one GEMM per group covers the whole batch; gemm_to_nchw then moves the
 * [M, B*P] result into NCHW and adds the bias. */

/* One work-item per element of the column matrix of every group: rows =
 * G * Cg*KH*KW (over all channels: c * KH*KW + ky * KW + kx), columns =
 * B * P, on the grid (ox, oy, row * B + b). The divisions depend on the
 * third grid dim only, which PoCL's work-groups (spread along the first
 * dims) share, so they leave its work-item loops. Measured on PoCL
 * against a 2-D (column, row) grid with four divisions per work-item: 25%
 * faster (a 1 x 8191 output), and no slower on ResNet shapes. The host pads
 * the first grid dim up to a multiple of 64 (PoCL picks a work-group size
 * of 1 for a prime global size), hence the check against out_w. */
__kernel void im2col(__global const float *x, uint x_off, __global float *col, uint col_off,
                     int batch, int channels, int height, int width,
                     int kh, int kw, int out_h, int out_w,
                     int stride_h, int stride_w, int pad_top, int pad_left,
                     int dil_h, int dil_w)
{
    const int z = get_global_id(2);
    const int row = z / batch, b = z - row * batch;
    const int c = row / (kh * kw), r = row - c * (kh * kw);
    const int ky = r / kw, kx = r - ky * kw;
    const int ox = get_global_id(0);
    if (ox >= out_w) return;
    const int oy = get_global_id(1);
    const int p_count = out_h * out_w;
    const int iy = oy * stride_h - pad_top + ky * dil_h;
    const int ix = ox * stride_w - pad_left + kx * dil_w;
    float v = 0.0f;
    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
        v = x[x_off + ((b * channels + c) * height + iy) * width + ix];
    col[col_off + row * (batch * p_count) + b * p_count + oy * out_w + ox] = v;
}

/* y[b, m, p] = t[m, b*P + p] + bias[m]; one work-item per output element,
 * n = B * M * P of them (the host pads the grid up to a multiple of 64). */
__kernel void gemm_to_nchw(__global const float *t, uint t_off, __global const float *bias,
                           uint bias_off, int has_bias, __global float *y, uint y_off,
                           int n, int batch, int out_channels, int p_count)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const int p = i % p_count;
    const int m = (i / p_count) % out_channels;
    const int b = i / (p_count * out_channels);
    float v = t[t_off + m * (batch * p_count) + b * p_count + p];
    if (has_bias) v += bias[bias_off + m];
    y[y_off + i] = v;
}
