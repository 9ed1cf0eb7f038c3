/* The ONNX importer's internal interface (docs/onnx.md). An ONNX graph is
 * read value by value: every ONNX value becomes either a graph tensor (a
 * clgraph node), a host value (a constant the importer keeps and folds on the
 * host: initializers, Constant nodes, shapes and the arithmetic on them), or
 * an unavailable value (an output clgraph does not compute, such as
 * BatchNormalization's training statistics), which is an error only when
 * something uses it. Host values become clgraph constants when a graph op
 * consumes them. */
#ifndef CLG_ONNX_INTERNAL_H
#define CLG_ONNX_INTERNAL_H

#include <assert.h>

#include "ir.h"
#include "onnx.pb-c.h"
#include "onnx_detect.h"

/* Host values (constants folded on the host) have as many dims as clgraph
 * tensors: a host value becomes a graph constant as it is. */
#define OX_MAX_RANK 8
static_assert(OX_MAX_RANK >= CLG_MAX_RANK, "a graph tensor must fit a host value");
/* The newest opset of the default domain the importer understands; older
 * ones import when each op's version is one the op table supports (all of
 * opsets 9 to 17 are covered). */
#define OX_MAX_OPSET 21

/* ONNX TensorProto data types used by name in the importer. */
enum {
    OX_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    OX_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    OX_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    OX_UINT16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    OX_INT16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    OX_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    OX_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    OX_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    OX_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    OX_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
};

typedef enum ox_kind {
    OX_UNDEFINED,   /* not produced yet */
    OX_TENSOR,      /* a clgraph node */
    OX_HOST,        /* a host value */
    OX_UNAVAILABLE  /* produced, but not computed by clgraph; `why` says so */
} ox_kind;

/* A host value: a constant tensor of any rank 0..OX_MAX_RANK. Floating
 * types (FLOAT, DOUBLE, FLOAT16) are held as floats in a clgraph constant block, so
 * materializing one shares its data; integer and bool types as int64. An
 * integer element may be symbolic: sym[k] set means the element is the
 * graph's symbolic size i[k] (a dim code: N, S, N*S, ...; Shape of a tensor
 * with symbolic dims, and the arithmetic on them). */
typedef struct ox_host {
    int32_t dtype;
    int rank;
    int64_t dims[OX_MAX_RANK];
    size_t count;
    clg_const *f;  /* floating types */
    int64_t *i;    /* integer types */
    uint8_t *sym;  /* NULL when no element is symbolic */
} ox_host;

typedef struct ox_value {
    const char *name; /* the ONNX name, borrowed from the model */
    const char *clg_name; /* its clgraph name (onnx_names.c), owned by the context */
    ox_kind kind;
    int node;         /* TENSOR: its node; HOST: its constant node once materialized, else -1 */
    ox_host host;
    char *why;        /* UNAVAILABLE: the reason */
    int producer;     /* index of the ONNX node defining it, -1 for inputs and initializers */
    int uses;         /* inputs of nodes that name it, plus one per graph output */
} ox_value;

typedef struct ox_ctx {
    clg_graph *g;
    const Onnx__GraphProto *graph;
    int64_t opset;
    ox_value *values;
    int n_values, cap_values;
    clg_name_map value_map; /* ONNX name -> value index */
    char **names;           /* every clgraph name handed out */
    int n_names, cap_names;
    clg_name_map name_map;  /* clgraph name -> index into names */
    const Onnx__NodeProto *cur; /* the node being imported, for messages */
    int *gelu_input;        /* per ONNX node: value index of x when the node ends a Gelu pattern, else -1 */
    bool *skip;             /* per ONNX node: inside a matched Gelu pattern */
    bool *gelu_tanh;        /* per ONNX node: the Gelu it ends is the tanh approximation */
} ox_ctx;

/* protobuf-c allocates through this, so the graph's allocator sees (and
 * the allocation-failure tests cover) every byte of a parsed model. */
typedef struct ox_pb_alloc {
    ProtobufCAllocator pb;
    clg_graph *g;
    bool failed; /* an allocation was refused: unpack's NULL means out of memory */
} ox_pb_alloc;
CLG_INTERNAL void ox_pb_alloc_init(ox_pb_alloc *a, clg_graph *g);

/* ---- errors (onnx_import.c). Messages name the node being imported:
 * "node /layer1/Conv (Conv, opset 13): auto_pad 'FOO' is not supported". */
CLG_INTERNAL clg_status ox_fail(ox_ctx *ox, clg_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
CLG_INTERNAL clg_status ox_oom(ox_ctx *ox);
/* The node's name, or its first output's when it has none. */
CLG_INTERNAL const char *ox_node_label(const Onnx__NodeProto *n);
CLG_INTERNAL const char *ox_dtype_name(int32_t dtype);

/* ---- names (onnx_names.c) */
/* A valid, unique clgraph name made from an ONNX name (or helper hint):
 * bytes outside [A-Za-z0-9_./-] become '_', and a name already taken gets
 * ".1", ".2", ... appended. NULL when out of memory. Owned by ox. */
CLG_INTERNAL const char *ox_unique_name(ox_ctx *ox, const char *onnx_name);
CLG_INTERNAL void ox_names_free(ox_ctx *ox);

/* ---- values (onnx_import.c) */
CLG_INTERNAL int ox_find_value(const ox_ctx *ox, const char *name);
/* Whether the ONNX value `name` is a graph output declared BOOL, or with
 * no element type (a comparison's output is then BOOL, as ONNX types it).
 * A model that declares such an output FLOAT keeps it float. */
CLG_INTERNAL bool ox_wants_bool_output(const ox_ctx *ox, const char *name);
/* Appends a clgraph node computing the ONNX value out (or a helper when out
 * is NULL, named after hint), wrapping clgraph's errors with the node's
 * label. On success *node is its index. */
CLG_INTERNAL clg_status ox_append(ox_ctx *ox, clg_op op, ox_value *out, const char *hint,
                                  const int *inputs, int n_inputs, const clg_attrs *attrs, int *node);
/* ox_append of a Cast of node `from` to type `to`. */
CLG_INTERNAL clg_status ox_append_cast(ox_ctx *ox, ox_value *out, const char *hint, int from, clg_dtype to,
                                       int *node);
/* The node of a value used as a float graph tensor, materializing a host
 * value as a constant (a rank-0 one as [1]). */
CLG_INTERNAL clg_status ox_tensor_node(ox_ctx *ox, ox_value *v, int *node);

/* ---- tensors (onnx_tensor.c) */
/* Decodes a TensorProto into a host value (dims, dtype, data; exact byte
 * sizes, little-endian raw_data). what names it in messages. */
CLG_INTERNAL clg_status ox_tensor_decode(ox_ctx *ox, const Onnx__TensorProto *t, const char *what,
                                         ox_host *out);
CLG_INTERNAL void ox_host_free(clg_graph *g, ox_host *h);
/* An INT / FLOAT attribute of node n, def when absent; one of another type
 * (or, without a type, another field filled) is CLG_ERR_INVALID_GRAPH
 * naming it (onnx_ops.c). */
CLG_INTERNAL clg_status ox_attr_int(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, int64_t def,
                                    int64_t *out);
CLG_INTERNAL clg_status ox_attr_float(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, float def,
                                      float *out);
/* Marks out[from..] as outputs clgraph does not compute (onnx_ops.c); why
 * is the message for a node that uses one. */
CLG_INTERNAL clg_status ox_unavailable(ox_ctx *ox, ox_value **out, int n_out, int from, const char *why);
/* A host value of dtype and dims with room for its elements (floats for
 * FLOAT/DOUBLE, int64 otherwise; sym not allocated). */
CLG_INTERNAL clg_status ox_host_new(ox_ctx *ox, int32_t dtype, int rank, const int64_t *dims,
                                    ox_host *out);
CLG_INTERNAL bool ox_dtype_is_float(int32_t dtype);
CLG_INTERNAL bool ox_dtype_is_int(int32_t dtype);
/* Element count of dims, or -1 past 2^31 or for negative dims. */
CLG_INTERNAL int64_t ox_dims_count(int rank, const int64_t *dims);

/* ---- attributes (onnx_ops.c) */
CLG_INTERNAL const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name);
/* Squeeze/Unsqueeze axes: the attribute before opset 13, the constant
 * input from 13 on. *present is false when the node gives none. */
CLG_INTERNAL clg_status ox_read_axes(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                     int64_t *axes, int *n_axes, bool *present);

/* ---- host folding (onnx_fold.c) */
/* Imports node n when every input is a host value (and for the ops that
 * only ever fold: Shape, Gather, Slice, Constant). *handled is false when
 * the op must run in the graph instead. */
CLG_INTERNAL clg_status ox_fold_node(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                     ox_value **out, int n_out, bool *handled);
/* A Constant node's value. */
CLG_INTERNAL clg_status ox_constant_value(ox_ctx *ox, const Onnx__NodeProto *n, ox_host *out);

/* ---- graph ops (onnx_ops.c) */
CLG_INTERNAL clg_status ox_convert_node(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out);
/* onnx_reduce.c: ReduceMean ... ReduceLogSumExp, LayerNormalization,
 * InstanceNormalization */
CLG_INTERNAL clg_status ox_convert_reduce(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_layer_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                              ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_group_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                              ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_gelu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                        int n_out);
CLG_INTERNAL clg_status ox_convert_instance_norm(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                                 ox_value **out, int n_out);
/* True when the importer knows op_type (to fold or to convert). */
CLG_INTERNAL bool ox_op_known(const char *op_type);

/* ---- element types (onnx_dtype.c) */
/* FLOAT, INT64, INT32 and BOOL as clgraph dtypes; false for the others. */
CLG_INTERNAL bool ox_dtype_to_clg(int32_t onnx, clg_dtype *out);
CLG_INTERNAL int32_t ox_dtype_from_clg(clg_dtype t);
/* The graph type an integer constant of ONNX type onnx takes: its own, or
 * INT32 for the 8- and 16-bit types (GPT-2's uint8 causal mask); false
 * for a floating or unsupported type. */
CLG_INTERNAL bool ox_graph_int_type(int32_t onnx, clg_dtype *out);
/* An INT64, INT32 or BOOL host value as a new constant of exact floats
 * (the caller owns it) and its clgraph dtype; other types, symbolic
 * elements and integers past 2^24 are CLG_ERR_UNSUPPORTED naming v. */
CLG_INTERNAL clg_status ox_int_host_const(ox_ctx *ox, const ox_value *v, clg_const **out, clg_dtype *dtype);
/* CLG_ERR_UNSUPPORTED naming the first of in[0..n) (graph tensors and host
 * values; NULL entries skipped) that is not FLOAT: for ONNX ops whose
 * integer form clgraph does not compute (integer Div truncates, ...). */
CLG_INTERNAL clg_status ox_require_float(ox_ctx *ox, ox_value *const *in, int n);

/* ---- Gather, GatherElements and Cast of graph tensors (onnx_gather.c) */
CLG_INTERNAL clg_status ox_convert_gather(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_gather_elements(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in,
                                                   int n_in, ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_cast(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out);
/* Einsum as Transposes, Reshapes, ReduceSums and MatMuls (onnx_einsum.c). */
CLG_INTERNAL clg_status ox_convert_einsum(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
/* CumSum as a MatMul by a triangle of ones (onnx_cumsum.c). */
CLG_INTERNAL clg_status ox_convert_cumsum(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_cast_like(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                             ox_value **out, int n_out);
/* in[0], a host value, cast to the ONNX type `to` (onnx_fold.c). */
CLG_INTERNAL clg_status ox_fold_cast(ox_ctx *ox, int64_t to, ox_value **in, ox_host *out);
/* ---- activations, unary math, comparisons, logic, Min/Max/Sum/Mean as
 * Elementwise nodes (onnx_elementwise.c); the op table's convert functions */
CLG_INTERNAL clg_status ox_conv_unary_expr(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                           ox_value **out, int n_out);
/* A Reshape of node `from` to [d0, d1, 1, d2] (lift a 1-D window op's
 * input to 2-D, before) or back to [d0, d1, d3] (after): 0 copies N and C,
 * -1 takes the rest. out NULL: a helper named hint (onnx_conv_transpose.c). */
CLG_INTERNAL clg_status ox_reshape_1d(ox_ctx *ox, int from, bool lift, ox_value *out, const char *hint, int *node);
/* If whose condition is known at import: the taken branch is imported in
 * its place (onnx_import.c). */
CLG_INTERNAL clg_status ox_convert_if(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                      int n_out);
CLG_INTERNAL clg_status ox_conv_hardmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_shrink(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                       int n_out);
CLG_INTERNAL clg_status ox_convert_global_max_pool(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                                   ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_isinf(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                      int n_out);
CLG_INTERNAL clg_status ox_conv_activation(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                           ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_prelu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                      ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_compare(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_where(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                      ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_pow(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                    ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_conv_variadic(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                         ox_value **out, int n_out);
/* ---- converters in files of their own, named in onnx_ops.c's table */
/* onnx_pad.c: Pad, opsets 2 to 17 */
CLG_INTERNAL clg_status ox_convert_pad(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                       ox_value **out, int n_out);
/* onnx_mask.c: ConstantOfShape (a host value, or an Expand of a symbolic
 * shape) and Trilu */
CLG_INTERNAL clg_status ox_convert_constant_of_shape(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                                     ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_trilu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                         ox_value **out, int n_out);
/* onnx_conv_transpose.c: ConvTranspose (opsets 1 and 11), two spatial dims */
CLG_INTERNAL clg_status ox_convert_conv_transpose(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                                  ox_value **out, int n_out);
/* onnx_argmax.c: ArgMax and ArgMin (opsets 1 to 13) */
CLG_INTERNAL clg_status ox_convert_argmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
/* onnx_resize.c: Resize (opsets 10 to 17) and Upsample (7 to 9) */
CLG_INTERNAL clg_status ox_convert_resize(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
/* onnx_lrn.c: LRN (opsets 1 and 13) as Elementwise, Transpose and
 * AveragePool nodes (no op of its own) */
CLG_INTERNAL clg_status ox_convert_lrn(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                       ox_value **out, int n_out);
/* onnx_range.c: Range (a host value, or a graph Range of a symbolic or
 * large length) */
CLG_INTERNAL clg_status ox_convert_range(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                         ox_value **out, int n_out);
/* ---- data movement of graph tensors (onnx_movement.c): Slice, Split,
 * Expand, Tile, DepthToSpace and SpaceToDepth (by op_type) */
CLG_INTERNAL clg_status ox_convert_slice(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                         ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_split(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                         ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_expand(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                          ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_tile(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out);
CLG_INTERNAL clg_status ox_convert_depth_space(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                               ox_value **out, int n_out);

/* ---- Gelu (onnx_gelu.c): marks x*0.5*(1+Erf(x/sqrt(2))) subgraphs, which
 * PyTorch 1.13 exports for nn.GELU, and the tanh approximation
 * 0.5*x*(1+Tanh(sqrt(2/pi)*(x+0.044715*x^3))) (nn.GELU(approximate='tanh'),
 * Keras' gelu(approximate=True)), so they import as one Gelu node. */
CLG_INTERNAL clg_status ox_match_gelu(ox_ctx *ox, const int *order, int n_order);

/* ---- test support: decodes a serialized TensorProto (ONNX test data) into
 * a float tensor whose data is allocated with g's allocator (free with
 * clg_graph_free_tensor); FLOAT16 data as an f16 tensor of its bits. A
 * rank-0 tensor comes back as rank 1 [1] with *rank0 set. Other types are
 * CLG_ERR_UNSUPPORTED. */
CLG_INTERNAL clg_status clg_onnx_read_tensor(clg_graph *g, const void *data, size_t len,
                                             clg_tensor *out, int *rank0);

#endif
