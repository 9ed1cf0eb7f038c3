/* ConvTranspose2D (ONNX ConvTranspose, two spatial dims), in the gather
 * form: output (n, m, oy, ox) sums x[n, c, iy, ix] · w[c, m % MG, ky, kx]
 * over the input channels c of m's group and the kernel taps (ky, kx) with
 * iy·STRIDE_H = oy + PAD_T - ky·DIL_H (likewise x) for a whole iy inside the
 * input. Bias added first when HAS_BIAS.
 *
 * One work-item per output element on the grid (ox, oy, n·M + m). The taps
 * are the outer loops and the channels the inner one, so a tap's tests are
 * made once rather than once per channel. The tap loops run over the whole
 * kernel in every work-item, so neighbouring work-items run the same loops:
 * starting each at its own residue modulo the stride (skipping the taps
 * that cannot match) measured 2 to 3 times slower on Intel's CPU runtime
 * (a 256 -> 128 channel, 2x2, stride-2 layer on 32x32), presumably because
 * the work-items no longer vectorise together. The shape and window are -D
 * defines (fixed per node), so divisions are by constants. The host pads
 * the first grid dim up to a multiple of 64, hence the check. */

__kernel void conv_transpose(__global const store_t *x, uint x_off, __global const store_t *w, uint w_off,
#ifdef HAS_BIAS
                             __global const store_t *b, uint b_off,
#endif
                             __global store_t *y, uint y_off)
{
    int ox = get_global_id(0);
    if (ox >= OW) return;
    int oy = get_global_id(1), nm = get_global_id(2);
    int m = nm % M, n = nm / M;
    int g = m / MG, ml = m % MG;
#ifdef HAS_BIAS
    float acc = LOAD(b, b_off + m);
#else
    float acc = 0.0f;
#endif
    __global const store_t *xg = x + x_off + (n * C + g * CG) * H * W;
    __global const store_t *wg = w + w_off + ((g * CG) * MG + ml) * KH * KW;
    int ty0 = oy + PAD_T, tx0 = ox + PAD_L;
    for (int ky = 0; ky < KH; ky++) {
        int ty = ty0 - ky * DIL_H;
        if (ty < 0 || ty % STRIDE_H) continue;
        int iy = ty / STRIDE_H;
        if (iy >= H) continue;
        for (int kx = 0; kx < KW; kx++) {
            int tx = tx0 - kx * DIL_W;
            if (tx < 0 || tx % STRIDE_W) continue;
            int ix = tx / STRIDE_W;
            if (ix >= W) continue;
            __global const store_t *xp = xg + iy * W + ix;
            __global const store_t *wp = wg + ky * KW + kx;
            for (int cl = 0; cl < CG; cl++) acc += LOAD(xp, cl * H * W) * LOAD(wp, cl * MG * KH * KW);
        }
    }
    STORE(y, y_off + (nm * OH + oy) * OW + ox, acc);
}
