/* Shape functions, one per op family (infer.c); the op table points at them. */
#ifndef CLG_INFER_H
#define CLG_INFER_H

#include "ir.h"

CLG_INTERNAL clg_status clg_infer_same(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_broadcast(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_gemm(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_matmul(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_conv2d(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_batchnorm(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_softmax(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_pool(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_global_pool(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_flatten(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_reshape(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_transpose(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_concat(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_clip(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_elementwise(const clg_infer_ctx *c, clg_shape *out);
/* infer_gather.c */
CLG_INTERNAL clg_status clg_infer_gather(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_gather_elements(const clg_infer_ctx *c, clg_shape *out);
/* infer_pad.c */
CLG_INTERNAL clg_status clg_infer_pad(const clg_infer_ctx *c, clg_shape *out);
/* infer_movement.c */
CLG_INTERNAL clg_status clg_infer_slice(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_expand(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_tile(const clg_infer_ctx *c, clg_shape *out);
/* DepthToSpace and SpaceToDepth (by c->op). */
CLG_INTERNAL clg_status clg_infer_depth_space(const clg_infer_ctx *c, clg_shape *out);
/* infer_range.c */
CLG_INTERNAL clg_status clg_infer_range(const clg_infer_ctx *c, clg_shape *out);
/* infer_trilu.c */
CLG_INTERNAL clg_status clg_infer_trilu(const clg_infer_ctx *c, clg_shape *out);
/* infer_conv_transpose.c */
CLG_INTERNAL clg_status clg_infer_conv_transpose(const clg_infer_ctx *c, clg_shape *out);
/* infer_argmax.c: ArgMax and ArgMin */
CLG_INTERNAL clg_status clg_infer_argmax(const clg_infer_ctx *c, clg_shape *out);
/* infer_resize.c */
CLG_INTERNAL clg_status clg_infer_resize(const clg_infer_ctx *c, clg_shape *out);

/* infer_reduce.c: the reductions (ReduceMean ...) and LayerNorm */
CLG_INTERNAL clg_status clg_infer_reduce(const clg_infer_ctx *c, clg_shape *out);
CLG_INTERNAL clg_status clg_infer_layer_norm(const clg_infer_ctx *c, clg_shape *out);
/* infer_attention.c */
CLG_INTERNAL clg_status clg_infer_attention(const clg_infer_ctx *c, clg_shape *out);
/* NumPy broadcasting of a and b into out (infer.c), failing with a message
 * naming c's node when they do not broadcast. */
CLG_INTERNAL clg_status clg_infer_broadcast_shapes(const clg_infer_ctx *c, const clg_shape *a,
                                                   const clg_shape *b, clg_shape *out);
/* The epilogue of a node whose first `own` inputs are the op's (c has all
 * of them), on the op's result *out (see clg_op_takes_epilogue). */
CLG_INTERNAL clg_status clg_infer_epilogue(const clg_infer_ctx *c, int own, clg_shape *out);

/* Pool/conv output length along one axis; <= 0 when the window does not fit. */
CLG_INTERNAL int64_t clg_window_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                    int64_t pad_end, int64_t dilation, bool ceil_mode);

/* Normalises an axis in [-rank, rank + extra) into [0, rank + extra) (a
 * negative axis counts from the back, as in ONNX), or fails naming it. */
CLG_INTERNAL clg_status clg_infer_axis(const clg_infer_ctx *c, int64_t axis, int rank, int extra, int64_t *out);

#endif
