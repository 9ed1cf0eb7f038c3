/* The host reference kernels (reference_ops.c), one per op, and what the
 * executor (reference.c) hands each of them. */
#ifndef CLG_REFERENCE_OPS_H
#define CLG_REFERENCE_OPS_H

#include "ir.h"

/* One node to compute. Shapes are concrete (the batch is bound); every
 * buffer is dense and C-ordered. The kernel writes all of out. */
typedef struct clg_ref_args {
    clg_graph *g;
    const clg_node *node;        /* op, attributes, name (for messages) */
    int n_inputs;
    const clg_shape *const *in_shapes;
    const float *const *in;      /* the inputs' data, in the node's input order */
    const clg_shape *out_shape;
    float *out;
} clg_ref_args;

/* reference_reduce.c: every reduction op (ReduceMean ...), LayerNorm,
 * LogSoftmax. */
CLG_INTERNAL clg_status clg_ref_reduce(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_layer_norm(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_log_softmax(const clg_ref_args *a);

/* Computes one node. Returns CLG_OK, or CLG_ERR_UNSUPPORTED for an op that
 * has no reference kernel (Input and Constant are the executor's job). */
CLG_INTERNAL clg_status clg_ref_run_node(const clg_ref_args *a);

/* The kernels that live in files of their own (reference_<family>.c). */
CLG_INTERNAL clg_status clg_ref_pad(const clg_ref_args *a);
/* The data-movement kernels (reference_movement.c). */
CLG_INTERNAL clg_status clg_ref_slice(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_expand(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_tile(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_depth_to_space(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_space_to_depth(const clg_ref_args *a);
/* reference_gather.c */
CLG_INTERNAL clg_status clg_ref_gather(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_cast(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_gather_elements(const clg_ref_args *a);
CLG_INTERNAL clg_status clg_ref_attention(const clg_ref_args *a);
/* reference_conv_transpose.c */
CLG_INTERNAL clg_status clg_ref_conv_transpose(const clg_ref_args *a);
/* reference_argmax.c: ArgMax and ArgMin */
CLG_INTERNAL clg_status clg_ref_argmax(const clg_ref_args *a);
/* reference_resize.c */
CLG_INTERNAL clg_status clg_ref_resize(const clg_ref_args *a);
/* reference_trilu.c */
CLG_INTERNAL clg_status clg_ref_trilu(const clg_ref_args *a);
/* reference_range.c */
CLG_INTERNAL clg_status clg_ref_range(const clg_ref_args *a);

/* Computes node i of g, all of whose inputs are constants, into out (room
 * for the node's element count); for constant folding (reference.c).
 * Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (an input is not a constant) or
 * CLG_ERR_UNSUPPORTED (no reference kernel for the op). */
CLG_INTERNAL clg_status clg_ref_eval_constant_node(clg_graph *g, int i, float *out);

#endif
