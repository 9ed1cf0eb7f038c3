/* ConvTranspose2D (ONNX ConvTranspose, two spatial dims), in the gather
 * form: output (n, m, oy, ox) sums x[n, c, iy, ix] · w[c, m % MG, ky, kx]
 * over the input channels c of m's group and the kernel taps (ky, kx) with
 * iy·STRIDE_H = oy + PAD_T - ky·DIL_H (likewise x) for a whole iy inside the
 * input. Bias added first when HAS_BIAS.
 *
 * One work-item per output element on the grid (ox, oy, n·M + m): each
 * writes one element, neighbours along ox read neighbouring inputs where the
 * stride is 1. The shape and window are -D defines (fixed per node), so the
 * divisions by the stride are by constants. The host pads the first grid
 * dim up to a multiple of 64, hence the check. */

__kernel void conv_transpose(__global const float *x, uint x_off, __global const float *w, uint w_off,
#ifdef HAS_BIAS
                             __global const float *b, uint b_off,
#endif
                             __global float *y, uint y_off)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nm = get_global_id(2);
    int m = nm % M, n = nm / M;
    int g = m / MG, ml = m % MG;
#ifdef HAS_BIAS
    float acc = b[b_off + m];
#else
    float acc = 0.0f;
#endif
    for (int cl = 0; cl < CG; cl++) {
        int c = g * CG + cl;
        __global const float *xc = x + x_off + (n * C + c) * H * W;
        __global const float *wc = w + w_off + (c * MG + ml) * KH * KW;
        for (int ky = 0; ky < KH; ky++) {
            int ty = oy + PAD_T - ky * DIL_H;
            if (ty < 0 || ty % STRIDE_H) continue;
            int iy = ty / STRIDE_H;
            if (iy >= H) continue;
            for (int kx = 0; kx < KW; kx++) {
                int tx = ox + PAD_L - kx * DIL_W;
                if (tx < 0 || tx % STRIDE_W) continue;
                int ix = tx / STRIDE_W;
                if (ix >= W) continue;
                acc += xc[iy * W + ix] * wc[ky * KW + kx];
            }
        }
    }
    y[y_off + (nm * OH + oy) * OW + ox] = acc;
}
