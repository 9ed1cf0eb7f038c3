/* Elementwise kernels: one work-item per output element. Every tensor comes
 * as (buffer, offset in elements). The op is a uniform int argument rather
 * than a -D define so that one program serves every elementwise op (PoCL
 * needs about a second to compile a program from cold).
 *
 * The op codes below must match the ones in runtime/lower_elementwise.c. */

#define UNARY_RELU 0
#define UNARY_LEAKY_RELU 1 /* alpha: slope for x < 0 */
#define UNARY_SIGMOID 2
#define UNARY_TANH 3
#define UNARY_CLIP 4       /* alpha: min, beta: max */
#define UNARY_GELU_ERF 5
#define UNARY_GELU_TANH 6

#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2
#define BINARY_DIV 3

#define MAX_RANK 5

/* Comparisons rather than fmax/fmin so that NaN passes through, as in the
 * reference executor and ONNX Runtime. */
__kernel void unary(__global const float *x, uint x_off, __global float *y, uint y_off, int n,
                    int op, float alpha, float beta)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float v = x[x_off + i];
    float r;
    switch (op) {
    case UNARY_RELU: r = v < 0.0f ? 0.0f : v; break;
    case UNARY_LEAKY_RELU: r = v < 0.0f ? alpha * v : v; break;
    case UNARY_SIGMOID: r = 1.0f / (1.0f + exp(-v)); break;
    case UNARY_TANH: r = tanh(v); break;
    case UNARY_CLIP: r = v < alpha ? alpha : v > beta ? beta : v; break;
    /* Gelu as x * Phi(x). Both forms are rewritten so that no 1 + (-1 + tiny)
     * cancels for negative x: 1 + erf(t) = erfc(-t), and
     * 0.5 * (1 + tanh(u)) = 1 / (1 + exp(-2u)). */
    case UNARY_GELU_ERF: r = 0.5f * v * erfc(v * -0.70710678118654752f); break;
    case UNARY_GELU_TANH: {
        const float k = 0.79788456080286535588f; /* sqrt(2 / pi) */
        r = v / (1.0f + exp(-2.0f * k * (v + 0.044715f * v * v * v)));
        break;
    }
    default: r = v; break;
    }
    y[y_off + i] = r;
}

/* z = a (op) b with NumPy broadcasting. The host gives the output's dims and
 * each input's element strides, right-aligned in MAX_RANK slots (slots before
 * MAX_RANK - rank are unused); a stride of 0 repeats an element. The output
 * is dense, so its linear index is the work-item id. The host merges dims
 * that are contiguous in all three tensors first, so a same-shape operation
 * arrives as rank 1 and needs no division at all. */
__kernel void binary(__global const float *a, uint a_off, __global const float *b, uint b_off,
                     __global float *z, uint z_off, int n, int op, int rank,
                     int d0, int d1, int d2, int d3, int d4,
                     int sa0, int sa1, int sa2, int sa3, int sa4,
                     int sb0, int sb1, int sb2, int sb3, int sb4)
{
    int i = get_global_id(0);
    if (i >= n) return;
    const int dims[MAX_RANK] = {d0, d1, d2, d3, d4};
    const int st_a[MAX_RANK] = {sa0, sa1, sa2, sa3, sa4};
    const int st_b[MAX_RANK] = {sb0, sb1, sb2, sb3, sb4};
    int rest = i, ia = 0, ib = 0;
    int first = MAX_RANK - rank;
    for (int d = MAX_RANK - 1; d > first; d--) {
        int q = rest / dims[d];
        int c = rest - q * dims[d];
        ia += c * st_a[d];
        ib += c * st_b[d];
        rest = q;
    }
    /* The outermost dim needs no modulo: what is left is its coordinate. */
    ia += rest * st_a[first];
    ib += rest * st_b[first];
    float p = a[a_off + ia], q = b[b_off + ib];
    float r;
    switch (op) {
    case BINARY_ADD: r = p + q; break;
    case BINARY_SUB: r = p - q; break;
    case BINARY_MUL: r = p * q; break;
    default: r = p / q; break;
    }
    z[z_off + i] = r;
}

/* BatchNorm in inference form over x of shape [outer, channels, inner]:
 * y = (x - mean) * scale / sqrt(var + eps) + bias, per channel. The per-
 * channel factor is recomputed by every work-item: it costs a sqrt and a
 * division but saves a launch and a scratch buffer. */
__kernel void batchnorm(__global const float *x, uint x_off, __global const float *scale,
                        uint scale_off, __global const float *bias, uint bias_off,
                        __global const float *mean, uint mean_off, __global const float *var,
                        uint var_off, __global float *y, uint y_off, int n, int channels,
                        int inner, float eps)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int c = (i / inner) % channels;
    float mul = scale[scale_off + c] / sqrt(var[var_off + c] + eps);
    y[y_off + i] = (x[x_off + i] - mean[mean_off + c]) * mul + bias[bias_off + c];
}
