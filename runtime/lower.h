/* Lowering functions, one per op family; runtime/lower_table.c maps ops to
 * them. Each appends the node's launches to the plan through clg_emit_*. */
#ifndef CLG_LOWER_H
#define CLG_LOWER_H

#include "runtime.h"

/* lower_gemm.c: CLBlast-backed ops */
CLG_INTERNAL clg_status clg_lower_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_matmul(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* lower_elementwise.c: kernels/elementwise.cl */
CLG_INTERNAL clg_status clg_lower_unary(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_binary(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_batchnorm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* lower_softmax.c, lower_pool.c: kernels/softmax.cl, kernels/pool.cl */
CLG_INTERNAL clg_status clg_lower_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_maxpool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_averagepool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_globalaveragepool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* lower_copy.c: kernels/copy.cl */
CLG_INTERNAL clg_status clg_lower_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_concat(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* Copies src into dst with NumPy broadcasting of src's shape to dst's (used
 * to pre-fill a GEMM's C with its bias). */
CLG_INTERNAL clg_status clg_emit_broadcast_copy(clg_lower *lw, const clg_dev_tensor *src, const clg_dev_tensor *dst);

#endif
