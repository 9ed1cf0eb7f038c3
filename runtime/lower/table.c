/* Which lowering function runs each op on a device. */
#include <assert.h>

#include "lower.h"

static_assert(CLG_OP_COUNT == 26, "a new op needs a lowering entry below");

static const clg_lower_fn lower_table[CLG_OP_COUNT] = {
    [CLG_OP_GEMM] = clg_lower_gemm,
    [CLG_OP_MATMUL] = clg_lower_matmul,
    [CLG_OP_CONV2D] = clg_lower_conv2d,
    [CLG_OP_BATCHNORM] = clg_lower_batchnorm,
    [CLG_OP_ADD] = clg_lower_binary,
    [CLG_OP_SUB] = clg_lower_binary,
    [CLG_OP_MUL] = clg_lower_binary,
    [CLG_OP_DIV] = clg_lower_binary,
    [CLG_OP_RELU] = clg_lower_unary,
    [CLG_OP_LEAKY_RELU] = clg_lower_unary,
    [CLG_OP_SIGMOID] = clg_lower_unary,
    [CLG_OP_TANH] = clg_lower_unary,
    [CLG_OP_CLIP] = clg_lower_unary,
    [CLG_OP_GELU] = clg_lower_unary,
    [CLG_OP_SOFTMAX] = clg_lower_softmax,
    [CLG_OP_MAXPOOL] = clg_lower_maxpool,
    [CLG_OP_AVERAGEPOOL] = clg_lower_averagepool,
    [CLG_OP_GLOBALAVERAGEPOOL] = clg_lower_globalaveragepool,
    [CLG_OP_TRANSPOSE] = clg_lower_transpose,
    [CLG_OP_CONCAT] = clg_lower_concat,
    [CLG_OP_ELEMENTWISE] = clg_lower_elementwise_fused,
    /* Input and Constant have no launch; Flatten, Reshape and Identity
     * reinterpret their input's memory (clg_lower_is_alias). */
};

clg_lower_fn clg_lower_get(clg_op op)
{
    if ((int)op < 0 || op >= CLG_OP_COUNT) return NULL;
    return lower_table[op];
}

bool clg_lower_is_alias(clg_op op)
{
    return op == CLG_OP_FLATTEN || op == CLG_OP_RESHAPE || op == CLG_OP_IDENTITY;
}
