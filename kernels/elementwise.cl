/* Elementwise kernels: one work-item per output element, every tensor as
 * (buffer, offset in elements).
 *
 * Each op has its own small kernel, all in this one program (one build).
 * Measured on PoCL: selecting the op with a uniform switch instead keeps
 * PoCL from vectorising across work-items, making Sigmoid about 4x and
 * Gelu about 6x slower; a kernel's own first-launch compile costs ~40 ms
 * once, against ~0.5 s for building a program.
 *
 * The host pads a grid's first dimension up to a multiple of 64 (PoCL
 * picks a work-group size of 1 for a prime global size, which is ~7x
 * slower), so every kernel checks that dimension against its extent. */

/* y = f(x) over n elements. alpha and beta are the op's parameters. */
#define UNARY_KERNEL(NAME, EXPR)                                                        \
    __kernel void NAME(__global const float *x, uint x_off, __global float *y, uint y_off, \
                       int n, float alpha, float beta)                                   \
    {                                                                                    \
        int i = get_global_id(0);                                                        \
        if (i >= n) return;                                                              \
        float v = x[x_off + i];                                                          \
        y[y_off + i] = (EXPR);                                                           \
    }

/* Comparisons rather than fmax/fmin, so that NaN passes through as in the
 * reference executor and ONNX Runtime. */
UNARY_KERNEL(unary_relu, v < 0.0f ? 0.0f : v)
UNARY_KERNEL(unary_leaky_relu, v < 0.0f ? alpha * v : v)  /* alpha: the slope below 0 */
UNARY_KERNEL(unary_clip, v < alpha ? alpha : v > beta ? beta : v) /* [alpha, beta] */
UNARY_KERNEL(unary_sigmoid, 1.0f / (1.0f + exp(-v)))
UNARY_KERNEL(unary_tanh, tanh(v))
/* x * Phi(x) with the exact normal CDF. erfc(-x / sqrt 2) would keep more
 * relative accuracy where the result is below ~1e-8, but PoCL's erfc is 4x
 * slower than its erf, and ONNX Runtime and PyTorch use this form too. */
UNARY_KERNEL(unary_gelu_erf, 0.5f * v * (1.0f + erf(v * 0.70710678118654752f)))
/* 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), written as
 * x / (1 + exp(-2u)): the same function without the cancellation of
 * 1 + tanh(u) for negative x, and with exp, which PoCL vectorises. */
UNARY_KERNEL(unary_gelu_tanh,
             v / (1.0f + exp(-1.5957691216057308f * (v + 0.044715f * v * v * v))))

/* y = a (op) b with NumPy broadcasting, over a grid of at most three dims:
 * i0 the innermost (extent n0), i1 (extent n1), i2 the outermost. The host
 * merges dims that are contiguous in all three tensors and, for the rare
 * shapes that still have more than three, launches once per outer index.
 * An input's stride is 0 along a dim it broadcasts. No integer division:
 * PoCL does not hoist it out of its work-item loops, and a division per
 * element made this kernel ~5x slower. */
#define BINARY_KERNEL(NAME, OP)                                                           \
    __kernel void NAME(__global const float *a, uint a_off, __global const float *b,      \
                       uint b_off, __global float *y, uint y_off, int n0, int n1,         \
                       int sa0, int sa1, int sa2, int sb0, int sb1, int sb2)              \
    {                                                                                      \
        int i0 = get_global_id(0);                                                         \
        if (i0 >= n0) return;                                                              \
        int i1 = get_global_id(1), i2 = get_global_id(2);                                  \
        float p = a[a_off + i2 * sa2 + i1 * sa1 + i0 * sa0];                               \
        float q = b[b_off + i2 * sb2 + i1 * sb1 + i0 * sb0];                               \
        y[y_off + (i2 * n1 + i1) * n0 + i0] = p OP q;                                      \
    }

BINARY_KERNEL(binary_add, +)
BINARY_KERNEL(binary_sub, -)
BINARY_KERNEL(binary_mul, *)
BINARY_KERNEL(binary_div, /)

/* BatchNorm in inference form, y = (x - mean) * scale / sqrt(var + eps)
 * + bias per channel, over a grid (i0 < n0, i1 < n1, i2) of dense x. The
 * channel is i0 * c0 + i1 * c1: the host passes (c0, c1) = (0, 1) for
 * [outer, channels, inner] with the grid (inner, channels, outer), and
 * (1, 0) for [outer, channels] with the grid (channels, outer, 1). Each
 * work-item recomputes its channel's factor: a sqrt and a division cost
 * less than another launch and a scratch buffer. */
__kernel void batchnorm(__global const float *x, uint x_off, __global const float *scale,
                        uint scale_off, __global const float *bias, uint bias_off,
                        __global const float *mean, uint mean_off, __global const float *var,
                        uint var_off, __global float *y, uint y_off, int n0, int n1, int c0,
                        int c1, float eps)
{
    int i0 = get_global_id(0);
    if (i0 >= n0) return;
    int i1 = get_global_id(1), i2 = get_global_id(2);
    int c = i0 * c0 + i1 * c1;
    int i = (i2 * n1 + i1) * n0 + i0;
    float mul = scale[scale_off + c] / sqrt(var[var_off + c] + eps);
    y[y_off + i] = (x[x_off + i] - mean[mean_off + c]) * mul + bias[bias_off + c];
}
