/* Lowering functions, one per op family; lower/table.c maps ops to
 * them. Each appends the node's launches to the plan through clg_emit_*. */
#ifndef CLG_LOWER_H
#define CLG_LOWER_H

#include "plan.h"

/* A family's choice for node n (inputs in, output out; shapes are what
 * counts), written to *d, which holds the default on entry
 * (plan/select.c calls these; lowering reads the result from
 * lw->plan->decisions). */
typedef clg_status (*clg_select_fn)(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out, clg_decision *d);
/* gemm.c: Gemm, and MatMul as one GEMM where it is one; conv.c: Conv2D;
 * softmax.c: Softmax */
CLG_INTERNAL clg_status clg_select_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                        const clg_dev_tensor *out, clg_decision *d);
CLG_INTERNAL clg_status clg_select_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                          const clg_dev_tensor *out, clg_decision *d);
CLG_INTERNAL clg_status clg_select_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                           const clg_dev_tensor *out, clg_decision *d);

/* reduce.c: every reduction op, a work-group per row or a work-item per
 * output element */
CLG_INTERNAL clg_status clg_select_reduce(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                          const clg_dev_tensor *out, clg_decision *d);
/* attention.c: Attention, fused or unfused, by measurement */
CLG_INTERNAL clg_status clg_select_attention(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                             const clg_dev_tensor *out, clg_decision *d);
/* Bundles: an attention node's decision keyed by its name and its inputs'
 * and output's shapes (the preset line "attention KEY VARIANT"), and the
 * lookup in what a bundle preseeded into ctx. */
CLG_INTERNAL uint64_t clg_attention_key(const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL bool clg_attention_preset_lookup(clg_context *ctx, uint64_t key, int *variant);

/* The decision for lw's node. */
static inline const clg_decision *clg_decision_of(const clg_lower *lw) { return &lw->plan->decisions[lw->node]; }

/* chain.c: the whole graph as one kernel where it is a small chain of
 * dense layers (*done then true; else nothing is emitted) */
CLG_INTERNAL clg_status clg_lower_chain(clg_plan *p, clg_context *ctx, const clg_graph *g, bool *done);

/* gemm.c, matmul.c, conv.c: GEMM-shaped ops (runtime/gemm/ holds their kernels) */
CLG_INTERNAL clg_status clg_lower_gemm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_matmul(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_conv2d(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* elementwise.c: kernels/elementwise.cl */
CLG_INTERNAL clg_status clg_lower_batchnorm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* softmax.c, pool.c: kernels/softmax.cl, kernels/pool.cl */
/* kernels/softmax.cl's defines for a softmax kernel over rows of contiguous
 * elements (the last axis), one row per work-item: Softmax and attention's
 * unfused path share the program. */
#define CLG_SOFTMAX_LAST_AXIS "-DSOFTMAX_KERNEL=1 -DROW_VEC8"
CLG_INTERNAL clg_status clg_lower_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_maxpool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_averagepool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_globalaveragepool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* reduce.c: kernels/reduce.cl (ReduceMean ... ReduceLogSumExp), kernels/layernorm.cl */
CLG_INTERNAL clg_status clg_lower_reduce(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_layer_norm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);

/* copy.c: kernels/copy.cl */
CLG_INTERNAL clg_status clg_lower_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_concat(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* pad.c: kernels/pad.cl */
CLG_INTERNAL clg_status clg_lower_pad(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* movement.c: kernels/copy.cl too */
CLG_INTERNAL clg_status clg_lower_slice(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_expand(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_tile(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_depth_to_space(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_space_to_depth(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* gather.c: kernels/gather.cl, kernels/cast.cl */
CLG_INTERNAL clg_status clg_lower_gather(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_cast(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
CLG_INTERNAL clg_status clg_lower_gather_elements(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* attention.c: kernels/attention.cl */
CLG_INTERNAL clg_status clg_lower_attention(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* conv_transpose.c */
CLG_INTERNAL clg_status clg_lower_conv_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* argmax.c: ArgMax and ArgMin */
CLG_INTERNAL clg_status clg_lower_argmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* resize.c */
CLG_INTERNAL clg_status clg_lower_resize(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* trilu.c */
CLG_INTERNAL clg_status clg_lower_trilu(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* range.c */
CLG_INTERNAL clg_status clg_lower_range(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
/* Copies src into dst with NumPy broadcasting of src's shape to dst's (used
 * to pre-fill a GEMM's C with its bias). */
CLG_INTERNAL clg_status clg_emit_broadcast_copy(clg_lower *lw, const clg_dev_tensor *src, const clg_dev_tensor *dst);

/* fused.c: every op with an expression in the op table (Elementwise, Add,
 * Relu, ...), a kernel generated from the expression */
CLG_INTERNAL clg_status clg_lower_elementwise_fused(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out);
struct clg_expr;
/* The OpenCL C program for an expression over n_inputs inputs: kernel
 * "elementwise"(y, y_off, n0, n1, then per input xK, xK_off and its three
 * grid strides), and "elementwise_dense"(y, y_off, n, then per input xK,
 * xK_off) for inputs all dense and of the output's shape. snprintf-style: writes at most size bytes, NUL included,
 * and returns the full length. The same expression, input count and half
 * always give the same text. half: in half arithmetic where the expression
 * has some (clg_expr_write_opencl_as; for precision fp16), else float. */
CLG_INTERNAL size_t clg_fused_kernel_source(const struct clg_expr *e, int n_inputs, bool half, char *buf,
                                           size_t size);
/* Appends the kernel for e over inputs in[0..n_inputs) (broadcast to out's
 * shape) writing out: an Elementwise node's launch, and an epilogue's run
 * after a GEMM that could not take it (in[0] is then out itself: each
 * element is read before it is written). */
CLG_INTERNAL clg_status clg_emit_expr(clg_lower *lw, const struct clg_expr *e, int n_inputs,
                                      const clg_dev_tensor *in, const clg_dev_tensor *out);
/* Node n's epilogue (clg_node_has_epilogue) as a launch over out in place,
 * its inputs the last ones of in. */
CLG_INTERNAL clg_status clg_emit_epilogue_launch(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                                 const clg_dev_tensor *out);
/* Epilogue e over y in place after the op that wrote y: x0 is y,
 * x1..x(n_epi - 1) are epi_in[1..] (epi_in[0] is not read). */
CLG_INTERNAL clg_status clg_emit_epilogue_after(clg_lower *lw, const struct clg_expr *e, int n_epi,
                                                const clg_dev_tensor *epi_in, const clg_dev_tensor *y);
/* Node n's epilogue parsed into *e (allocated with lw's allocator, to free
 * with clg_mem_free), or *e NULL when n has none. */
CLG_INTERNAL clg_status clg_epilogue_parse(clg_lower *lw, const clg_node *n, struct clg_expr **e);

/* plan/emit.c: clg_emit_kernel for source text a lowering generated.
 * name_for_cache names the program in messages and in the program cache's
 * key (with the source and options); kernel is the kernel's name in it. */
CLG_INTERNAL clg_status clg_emit_kernel_source(clg_lower *lw, const char *name_for_cache, const char *source,
                                               const char *kernel, const char *options, cl_uint work_dim,
                                               const size_t *global, const clg_karg *args, int n_args);

/* The same with a work-group shape of the caller's (local: work_dim sizes
 * that divide global; NULL: as clg_emit_kernel_source chooses). */
CLG_INTERNAL clg_status clg_emit_kernel_local(clg_lower *lw, const char *name_for_cache, const char *source,
                                              const char *kernel, const char *options, cl_uint work_dim,
                                              const size_t *global, const size_t *local,
                                              const clg_karg *args, int n_args);

#endif
