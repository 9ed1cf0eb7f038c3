/* Which lowering function runs each op on a device: the op's entry below,
 * or for an op with an expression in the op table (Add ... Gelu,
 * Elementwise) the kernel generated from it. */
#include <assert.h>

#include "lower.h"

static_assert(CLG_OP_COUNT == 54, "a new op needs a lowering entry below, or an expression in the op table");

static const clg_lower_fn lower_table[CLG_OP_COUNT] = {
    [CLG_OP_GEMM] = clg_lower_gemm,
    [CLG_OP_MATMUL] = clg_lower_matmul,
    [CLG_OP_CONV2D] = clg_lower_conv2d,
    [CLG_OP_BATCHNORM] = clg_lower_batchnorm,
    [CLG_OP_SOFTMAX] = clg_lower_softmax,
    [CLG_OP_MAXPOOL] = clg_lower_maxpool,
    [CLG_OP_AVERAGEPOOL] = clg_lower_averagepool,
    [CLG_OP_GLOBALAVERAGEPOOL] = clg_lower_globalaveragepool,
    [CLG_OP_TRANSPOSE] = clg_lower_transpose,
    [CLG_OP_CONCAT] = clg_lower_concat,
    [CLG_OP_PAD] = clg_lower_pad,
    [CLG_OP_SLICE] = clg_lower_slice,
    [CLG_OP_EXPAND] = clg_lower_expand,
    [CLG_OP_TILE] = clg_lower_tile,
    [CLG_OP_DEPTH_TO_SPACE] = clg_lower_depth_to_space,
    [CLG_OP_SPACE_TO_DEPTH] = clg_lower_space_to_depth,
    [CLG_OP_TRILU] = clg_lower_trilu,
    [CLG_OP_RESIZE] = clg_lower_resize,
    [CLG_OP_CONV_TRANSPOSE] = clg_lower_conv_transpose,
    [CLG_OP_ARGMAX] = clg_lower_argmax,
    [CLG_OP_ARGMIN] = clg_lower_argmax,
    [CLG_OP_RANGE] = clg_lower_range,
    [CLG_OP_REDUCE_MEAN] = clg_lower_reduce,
    [CLG_OP_REDUCE_SUM] = clg_lower_reduce,
    [CLG_OP_REDUCE_MAX] = clg_lower_reduce,
    [CLG_OP_REDUCE_MIN] = clg_lower_reduce,
    [CLG_OP_REDUCE_PROD] = clg_lower_reduce,
    [CLG_OP_REDUCE_L1] = clg_lower_reduce,
    [CLG_OP_REDUCE_L2] = clg_lower_reduce,
    [CLG_OP_REDUCE_SUM_SQUARE] = clg_lower_reduce,
    [CLG_OP_REDUCE_LOG_SUM] = clg_lower_reduce,
    [CLG_OP_REDUCE_LOG_SUM_EXP] = clg_lower_reduce,
    [CLG_OP_LAYER_NORM] = clg_lower_layer_norm,
    [CLG_OP_LOG_SOFTMAX] = clg_lower_softmax,
    [CLG_OP_GATHER] = clg_lower_gather,
    [CLG_OP_CAST] = clg_lower_cast,
    [CLG_OP_GATHER_ELEMENTS] = clg_lower_gather_elements,
    [CLG_OP_ATTENTION] = clg_lower_attention,
    /* Input and Constant have no launch; Flatten, Reshape and Identity
     * reinterpret their input's memory (the op table's alias). */
};

clg_lower_fn clg_lower_get(clg_op op)
{
    const clg_op_info *info = clg_op_get(op);
    if (!info) return NULL;
    if (lower_table[op]) return lower_table[op];
    return info->expr ? clg_lower_elementwise_fused : NULL;
}

bool clg_lower_is_alias(clg_op op)
{
    const clg_op_info *info = clg_op_get(op);
    return info && info->alias;
}
