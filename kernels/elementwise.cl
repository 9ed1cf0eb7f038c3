/* Elementwise kernels written by hand: only BatchNorm, whose parameters
 * run along dim 1 rather than broadcast from the right. The other
 * elementwise ops run as kernels generated from their expressions
 * (runtime/lower/fused.c, compiler/expr.c).
 *
 * Every tensor is (buffer, offset in elements). The host pads a grid's
 * first dimension up to a multiple of 64 (PoCL picks a work-group size of 1
 * for a prime global size, which is ~7x slower), so the kernel checks that
 * dimension against its extent. */

/* BatchNorm in inference form, y = (x - mean) * scale / sqrt(var + eps)
 * + bias per channel, over a grid (i0 < n0, i1 < n1, i2) of dense x. The
 * channel is i0 * c0 + i1 * c1: the host passes (c0, c1) = (0, 1) for
 * [outer, channels, inner] with the grid (inner, channels, outer), and
 * (1, 0) for [outer, channels] with the grid (channels, outer, 1). Each
 * work-item recomputes its channel's factor: a sqrt and a division cost
 * less than another launch and a scratch buffer. */
__kernel void batchnorm(__global const store_t *x, uint x_off, __global const store_t *scale,
                        uint scale_off, __global const store_t *bias, uint bias_off,
                        __global const store_t *mean, uint mean_off, __global const store_t *var,
                        uint var_off, __global store_t *y, uint y_off, int n0, int n1, int c0,
                        int c1, float eps)
{
    int i0 = get_global_id(0);
    if (i0 >= n0) return;
    int i1 = get_global_id(1), i2 = get_global_id(2);
    int c = i0 * c0 + i1 * c1;
    int i = (i2 * n1 + i1) * n0 + i0;
    float mul = LOAD(scale, scale_off + c) / sqrt(LOAD(var, var_off + c) + eps);
    STORE(y, y_off + i, (LOAD(x, x_off + i) - LOAD(mean, mean_off + c)) * mul + LOAD(bias, bias_off + c));
}
