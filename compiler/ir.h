/* Internal graph IR: a flat, topologically ordered array of nodes, one value
 * per node. Inputs and constants are nodes too, so a node's inputs are plain
 * indices into the same array. */
#ifndef CLG_IR_H
#define CLG_IR_H

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clgraph.h"

#define CLG_INTERNAL __attribute__((visibility("hidden")))

/* A dimension is a size >= 0, or a negative code naming a symbolic size:
 * code -1 - e is entry e of the graph's table of dimension expressions
 * (compiler/dims.c), polynomials in the graph's named symbols such as N, S,
 * N*S or S+1. Entry 0 is always the symbol N, so CLG_BATCH (-1) is N. The
 * table interns, so two dims are equal exactly when their codes are. */
typedef struct clg_shape {
    int rank;
    int64_t dims[CLG_MAX_RANK];
} clg_shape;

#define CLG_DIM_MAX_TERMS 4
#define CLG_DIM_MAX_FACTORS 4
/* The most named symbols one graph may have, the longest name, and room
 * for any dim as text (clg_dim_str). */
#define CLG_MAX_SYMBOLS 64
#define CLG_MAX_SYMBOL_NAME 32
#define CLG_DIM_STR_MAX 768

/* coef * sym[0] * ... * sym[n-1] (symbol indices ascending, repeats are
 * powers); n == 0 is the constant coef. */
typedef struct clg_dim_term {
    int64_t coef;
    int n;
    int sym[CLG_DIM_MAX_FACTORS];
} clg_dim_term;

/* A sum of terms, canonical: terms ordered, no two alike, no zero coef. */
typedef struct clg_dim_expr {
    int n;
    clg_dim_term t[CLG_DIM_MAX_TERMS];
} clg_dim_expr;

typedef struct clg_dim_table {
    char **names; /* symbol k's name */
    int n_syms, cap_syms;
    clg_dim_expr *exprs;
    int n_exprs, cap_exprs;
    int n_fresh; /* anonymous symbols made so far (_1, _2, ...) */
} clg_dim_table;

/* The largest head size D and value size Dv of an Attention node that
 * the device kernel takes (kernels/attention.cl keeps a row of each in
 * private memory); fuse-attention fuses only up to it. */
#define CLG_ATTENTION_MAX_DIM 128

/* Room for a string attribute, its NUL included. */
#define CLG_MAX_STRING_ATTR 1024

typedef enum clg_pad_mode { CLG_PAD_CONSTANT, CLG_PAD_REFLECT, CLG_PAD_EDGE, CLG_PAD_MODE_COUNT } clg_pad_mode;

/* Resize's mode, coordinate_transformation_mode and nearest_mode, in the
 * order of their names in compiler/attrs.c (the first of each the ONNX
 * default). The values are also the kernels' -D defines (kernels/resize.cl). */
typedef enum clg_resize_mode {
    CLG_RESIZE_NEAREST,
    CLG_RESIZE_LINEAR,
    CLG_RESIZE_CUBIC,
    CLG_RESIZE_MODE_COUNT
} clg_resize_mode;
typedef enum clg_resize_coord {
    CLG_COORD_HALF_PIXEL,
    CLG_COORD_PYTORCH_HALF_PIXEL,
    CLG_COORD_ALIGN_CORNERS,
    CLG_COORD_ASYMMETRIC,
    CLG_COORD_TF_HALF_PIXEL_FOR_NN,
    CLG_COORD_COUNT
} clg_resize_coord;
typedef enum clg_resize_nearest {
    CLG_NEAREST_ROUND_PREFER_FLOOR,
    CLG_NEAREST_ROUND_PREFER_CEIL,
    CLG_NEAREST_FLOOR,
    CLG_NEAREST_CEIL,
    CLG_NEAREST_COUNT
} clg_resize_nearest;

/* Every attribute any op has. Which fields an op uses, their text names and
 * their defaults live in the op table (op_table.c). */
typedef struct clg_attrs {
    float alpha, beta;   /* Gemm; alpha also LeakyRelu */
    int64_t trans_a, trans_b;
    float epsilon;       /* BatchNorm */
    float min, max;      /* Clip */
    int64_t approximate; /* Gelu: 0 exact erf, 1 tanh */
    int64_t axis;        /* Softmax, LogSoftmax, Flatten, Concat, LayerNorm, Gather */
    clg_dtype to;        /* Cast: the result's element type */
    int64_t kernel[2];   /* pools (Conv2D takes its kernel from the weight) */
    int64_t strides[2];
    int64_t pads[4];     /* top, left, bottom, right (ONNX order) */
    int64_t dilations[2];
    int64_t group;
    int64_t ceil_mode, count_include_pad;
    int shape_rank;      /* Reshape target (0 keeps a dim, -1 infers one); Expand target */
    int64_t shape[CLG_MAX_RANK];
    int perm_rank;       /* Transpose; 0 means reverse */
    int64_t perm[CLG_MAX_RANK];
    /* Pad: ONNX's pads, the begins of every dim then the ends (negative
     * crops), pad_count = 2 * rank; the mode; the constant mode's value. */
    int pad_count;
    int64_t pad_amounts[2 * CLG_MAX_RANK];
    clg_pad_mode pad_mode;
    float pad_value;
    /* Slice (ONNX semantics: negative starts/ends count from the back and
     * are clamped; empty axes means 0..n-1, empty steps all 1) */
    int starts_rank, ends_rank, axes_rank, steps_rank;
    int64_t starts[CLG_MAX_RANK], ends[CLG_MAX_RANK], axes[CLG_MAX_RANK], steps[CLG_MAX_RANK];
    int repeats_rank;    /* Tile: one per input dim */
    int64_t repeats[CLG_MAX_RANK];
    int64_t blocksize;   /* DepthToSpace, SpaceToDepth */
    int64_t mode_crd;    /* DepthToSpace: 0 DCR, 1 CRD (text: mode="DCR" / "CRD") */
    int64_t keepdims;    /* reductions (axes above): keep reduced dims as 1 (default 1) */
    float scale;         /* Attention: multiplies Q·KT */
    int64_t upper;       /* Trilu: 1 keeps j - i >= k (default), 0 keeps j - i <= k */
    int64_t trilu_k;     /* Trilu: the diagonal, k above the main one (text: k) */
    /* Resize of the last two dims: their output sizes (text: sizes), the
     * scales the coordinate transformation divides by (0: output size /
     * input size, what ONNX uses when sizes are given), and the three ONNX
     * string attributes as enums (text: their ONNX names and strings). */
    int64_t resize_sizes[2];
    float height_scale, width_scale;
    clg_resize_mode resize_mode;
    clg_resize_coord coord_mode;
    clg_resize_nearest nearest_mode;
    float cubic_coeff_a;     /* Resize cubic: the kernel's A (ONNX default -0.75) */
    int64_t exclude_outside; /* Resize cubic: taps outside the input weigh 0, the rest renormalised */
    int64_t select_last_index; /* ArgMax, ArgMin: ties go to the last index (default 0: the first) */
    float range_start;   /* Range: element i is range_start + i * range_delta (text: start, delta) */
    float range_delta;
    /* Elementwise: the expression over x0..x15 (compiler/expr.h), "" when
     * unset. clg_attr_set stores it canonical; a pass writing it directly
     * should too (clg_expr_print), though any valid text works. */
    char expr[CLG_MAX_STRING_ATTR];
} clg_attrs;

typedef enum clg_init_kind {
    CLG_INIT_LIST,   /* explicit values (also builder-added data) */
    CLG_INIT_ZEROS,
    CLG_INIT_ONES,
    CLG_INIT_FULL,   /* every element = value */
    CLG_INIT_RANDOM, /* uniform in [lo, hi) from seed */
    CLG_INIT_FILE    /* float32 LE at byte offset of the sidecar weights file */
} clg_init_kind;

typedef struct clg_init {
    clg_init_kind kind;
    uint64_t seed;
    float lo, hi, value;
    uint64_t offset;
} clg_init;

/* Constant data, shared by reference count: a pass that wants different
 * values makes a new one instead of editing one another node may use. */
typedef struct clg_const {
    atomic_int refs; /* clones and models on other threads may share it */
    size_t count;
    float *data;
    clg_init init;
} clg_const;

typedef struct clg_node {
    clg_op op;
    char *name;
    int line; /* text line, 0 when built through the API */
    int n_inputs;
    int *inputs; /* node indices, all smaller than this node's */
    clg_attrs attrs;
    clg_shape shape;
    clg_const *constant; /* CONSTANT only */
    /* Logical element type. Every value is fp32 in memory; an integer or
     * bool value holds exact integers (0 and 1 for bool). Inputs and
     * constants are declared; other nodes get it from the op table's type
     * rule (clg_infer_dtype) when they are added. */
    clg_dtype dtype;
    bool dead;           /* removed by a pass; gone after clg_graph_compact */
} clg_node;

/* Open-addressing hash of names to indices (name_map.c). */
typedef struct clg_name_map {
    int *slots; /* index + 1, 0 when empty */
    int cap, count;
} clg_name_map;

/* A lua_Alloc-shaped function and its user pointer; graphs, contexts and
 * models each carry one. */
typedef struct clg_allocator {
    clg_alloc_fn fn;
    void *user;
} clg_allocator;

struct clg_graph {
    clg_allocator allocator;
    clg_node *nodes;
    int n_nodes, cap_nodes;
    int *outputs; /* node indices in output order */
    int n_outputs, cap_outputs;
    char *weights_path; /* sidecar named by the text, as written */
    clg_name_map names; /* node name -> node index */
    clg_dim_table dims; /* the symbolic sizes its shapes name */
    /* While clg_graph_bind runs: every symbol's size, so that shape
     * functions turn the symbolic sizes of attributes (Reshape's shape)
     * into numbers. NULL otherwise. */
    const int64_t *binding;
    char errmsg[2048];
};

/* ---- memory (alloc.c): everything goes through an object's allocator */
CLG_INTERNAL void *clg_mem_realloc(const clg_allocator *a, void *ptr, size_t new_size);
CLG_INTERNAL void *clg_mem_calloc(const clg_allocator *a, size_t n, size_t size);
CLG_INTERNAL void clg_mem_free(const clg_allocator *a, void *ptr);
/* The C library's allocator, used when the caller passes NULL. */
CLG_INTERNAL void *clg_default_alloc(void *user, void *ptr, size_t old_size, size_t new_size);

/* Reads a caller's options struct (clg_model_options, clg_context_options:
 * a size_t struct_size first) into out, which holds this library's version
 * of the struct already filled with the defaults (known bytes). The first
 * min(struct_size, known) bytes are copied, so a caller built against an
 * older, smaller struct keeps the defaults for the fields it lacks. Fails,
 * saying why in why, for a struct_size below min (0: not initialised) or
 * one above known whose extra bytes are not all zero (a newer header's
 * fields this library cannot honour); out is left as it was then. */
CLG_INTERNAL bool clg_options_read(void *out, size_t known, const void *options, size_t min,
                                   char *why, size_t why_size);
/* Shorthands on a graph's allocator. */
CLG_INTERNAL void *clg_malloc(clg_graph *g, size_t size);
CLG_INTERNAL void *clg_calloc(clg_graph *g, size_t n, size_t size);
CLG_INTERNAL void *clg_realloc(clg_graph *g, void *ptr, size_t new_size);
CLG_INTERNAL void clg_free(clg_graph *g, void *ptr);
CLG_INTERNAL char *clg_strdup(clg_graph *g, const char *s);
/* Grows *arr (of *cap elements of elem bytes) to hold at least need. */
CLG_INTERNAL bool clg_grow(clg_graph *g, void **arr, int *cap, int need, size_t elem);
/* Blocks carry a small header with their size, so clg_free can tell the
 * allocator the old size (lua_Alloc's contract) without callers tracking it. */

/* ---- errors (error.c) */
/* Sets g's message and returns status. */
CLG_INTERNAL clg_status clg_fail(clg_graph *g, clg_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, prefixed with "line L: node NAME (Op): " for the node being built. */
CLG_INTERNAL clg_status clg_fail_node(clg_graph *g, clg_status status, int line, const char *name,
                                      clg_op op, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
CLG_INTERNAL void clg_clear_error(clg_graph *g);

/* ---- shapes (shape.c) */
CLG_INTERNAL int64_t clg_shape_count(const clg_shape *s); /* -1 if symbolic */
/* Whether any dim is symbolic. */
CLG_INTERNAL bool clg_shape_is_symbolic(const clg_shape *s);
/* Writes "[N, S, 128]" into buf; g names the symbols (NULL: written "?"). */
CLG_INTERNAL const char *clg_shape_str(const clg_graph *g, const clg_shape *s, char *buf, size_t size);

/* ---- symbolic dimensions (dims.c). Arithmetic returns CLG_OK,
 * CLG_ERR_UNSUPPORTED when the result is not a polynomial the table can
 * hold (a division that is not exact, too many terms) or
 * CLG_ERR_OUT_OF_MEMORY, and sets no message: the caller says what failed. */
static inline bool clg_dim_is_symbolic(int64_t d) { return d < 0; }
#define CLG_DIM_CODE(e) (-1 - (int64_t)(e))
/* The table entry a symbolic code names; INT_MAX (never a valid entry)
 * for codes beyond int, which a parsed or imported file can hold. */
static inline int clg_dim_entry(int64_t d)
{
    int64_t e = -1 - d;
    return e > INT_MAX ? INT_MAX : (int)e;
}
#define CLG_DIM_ENTRY(d) clg_dim_entry(d)
/* The code of the symbol called name (len bytes), made if new. */
CLG_INTERNAL clg_status clg_dim_symbol(clg_graph *g, const char *name, size_t len, int64_t *d);
/* A new anonymous symbol (_1, _2, ...): a size known only once bound. */
CLG_INTERNAL clg_status clg_dim_fresh(clg_graph *g, int64_t *d);
CLG_INTERNAL clg_status clg_dim_add(clg_graph *g, int64_t a, int64_t b, int64_t *r);
CLG_INTERNAL clg_status clg_dim_sub(clg_graph *g, int64_t a, int64_t b, int64_t *r);
CLG_INTERNAL clg_status clg_dim_mul(clg_graph *g, int64_t a, int64_t b, int64_t *r);
/* a / b when b divides a exactly, term by term. */
CLG_INTERNAL clg_status clg_dim_div(clg_graph *g, int64_t a, int64_t b, int64_t *r);
/* True when a and b can never be equal, whatever positive sizes the
 * symbols take (N*12 and N*5; S+1 and S); false when they might be. */
CLG_INTERNAL bool clg_dim_differ(const clg_graph *g, int64_t a, int64_t b);
/* The symbol index when d is exactly one symbol, else -1. */
CLG_INTERNAL int clg_dim_symbol_of(const clg_graph *g, int64_t d);
/* d's value with symbol k = values[k] (values[k] < 0: unknown); false when
 * d names an unknown symbol or overflows. */
CLG_INTERNAL bool clg_dim_eval(const clg_graph *g, int64_t d, const int64_t *values, int64_t *out);
/* "128", "N", "N*S", "2*S+1"; "?" for a code g does not hold. */
CLG_INTERNAL const char *clg_dim_str(const clg_graph *g, int64_t d, char *buf, size_t size);
CLG_INTERNAL const char *clg_dim_symbol_name(const clg_graph *g, int k);
/* Reshape's shape attribute keeps ONNX's 0 (copy) and -1 (infer), so a
 * symbolic size d is written there as d - 1: these convert. */
static inline int64_t clg_reshape_value(int64_t d) { return d < 0 ? d - 1 : d; }
static inline int64_t clg_reshape_dim(int64_t v) { return v < -1 ? v + 1 : v; }
CLG_INTERNAL int clg_dim_symbol_count(const clg_graph *g);
CLG_INTERNAL clg_status clg_dim_table_copy(clg_graph *dst, const clg_graph *src);
CLG_INTERNAL void clg_dim_table_free(clg_graph *g);

/* ---- the op table (op_table.c) */
typedef enum clg_attr_field {
    CLG_F_ALPHA, CLG_F_BETA, CLG_F_TRANS_A, CLG_F_TRANS_B, CLG_F_EPSILON, CLG_F_MIN, CLG_F_MAX,
    CLG_F_APPROXIMATE, CLG_F_AXIS, CLG_F_KERNEL, CLG_F_STRIDES, CLG_F_PADS, CLG_F_DILATIONS,
    CLG_F_GROUP, CLG_F_CEIL_MODE, CLG_F_COUNT_INCLUDE_PAD, CLG_F_SHAPE, CLG_F_PERM, CLG_F_EXPR,
    CLG_F_EPILOGUE, CLG_F_PAD_AMOUNTS, CLG_F_PAD_MODE, CLG_F_PAD_VALUE, CLG_F_STARTS, CLG_F_ENDS, CLG_F_AXES,
    CLG_F_STEPS, CLG_F_REPEATS, CLG_F_BLOCKSIZE, CLG_F_BLOCK_MODE, CLG_F_KEEPDIMS, CLG_F_TO, CLG_F_SCALE,
    CLG_F_UPPER, CLG_F_TRILU_K, CLG_F_RESIZE_SIZES, CLG_F_HEIGHT_SCALE, CLG_F_WIDTH_SCALE, CLG_F_RESIZE_MODE,
    CLG_F_COORD_MODE, CLG_F_NEAREST_MODE, CLG_F_SELECT_LAST_INDEX,
    CLG_F_START, CLG_F_DELTA, CLG_F_CUBIC_COEFF_A, CLG_F_EXCLUDE_OUTSIDE,
    CLG_F_COUNT
} clg_attr_field;

#define CLG_MAX_OP_ATTRS 8

/* A node being built, as the shape functions see it. */
typedef struct clg_infer_ctx {
    clg_graph *g;
    int line;
    const char *name;
    clg_op op;
    const clg_attrs *attrs;
    int n_inputs;
    const clg_shape *const *in; /* input shapes */
} clg_infer_ctx;

typedef clg_status (*clg_infer_fn)(const clg_infer_ctx *ctx, clg_shape *out);

/* Writes an op's value as an Elementwise expression (compiler/expr.h's
 * language) over x0..x(n-1), the node's inputs, given its attributes:
 * "relu(x0)", "leaky_relu(x0, 0.2)", "x0 + x1". */
struct clg_text;
typedef void (*clg_op_expr_fn)(const clg_attrs *a, struct clg_text *t);

/* How an op's element types (clg_node.dtype) follow from its inputs'
 * (compiler/dtype.c). Zero, the default of a row that names none, is the
 * strictest. */
typedef enum clg_type_rule {
    CLG_TYPES_FLOAT = 0, /* every input f32 (else an error naming the input); result f32 */
    CLG_TYPES_ANY,       /* any inputs, read as their float values; result f32 */
    CLG_TYPES_SAME,      /* all inputs of one type (else an error), result of that type */
    CLG_TYPES_GATHER,    /* input 1 i64 or i32 (indices); result of input 0's type */
    CLG_TYPES_CAST,      /* any input; result of the attribute `to` */
    CLG_TYPES_INDEX      /* any input, read as its float values; result i64 (ArgMax, ArgMin) */
} clg_type_rule;

/* in_place: every input may share the output's memory. */
#define CLG_IN_PLACE_ALL UINT32_MAX

typedef struct clg_op_info {
    const char *name;
    int min_inputs, max_inputs; /* max -1: any number */
    int n_attrs;
    clg_attr_field attrs[CLG_MAX_OP_ATTRS];
    clg_infer_fn infer;
    /* Elementwise: each output element is this expression of the inputs'
     * elements at the same position, every input broadcast to the output's
     * shape as for Add. NULL for other ops. Such an op fuses into an
     * Elementwise node (compiler/pass_fuse_elementwise.c), runs alone as the
     * kernel generated from its expression (runtime/lower/fused.c), and its
     * reference is the expression evaluated (clg_expr_eval): its formula is
     * written once for the device and once for the reference, in expr.c. */
    clg_op_expr_fn expr;
    /* Bit k set: the memory planner may give the output input k's memory
     * when k dies at this node with the output's size
     * (runtime/plan/memory_plan.c). The op's lowering promises that each
     * work-item reads the elements of input k it writes before writing them
     * and that no other work-item reads them. */
    uint32_t in_place;
    /* The output is input 0's memory reinterpreted (Flatten, Reshape,
     * Identity): no launch on the device. */
    bool alias;
    clg_type_rule types;
} clg_op_info;

CLG_INTERNAL const clg_op_info *clg_op_get(clg_op op);
CLG_INTERNAL bool clg_op_from_name(const char *name, size_t len, clg_op *op);
CLG_INTERNAL void clg_attrs_default(clg_op op, clg_attrs *a);
/* Epilogues. An op whose attributes include `epilogue` (Gemm, MatMul, Conv2D) may
 * carry an Elementwise expression applied to each element of its result
 * before it is stored: x0 is that element, x1..xK the node's last K inputs
 * (K the highest xK the expression names), broadcast to the result's shape.
 * The compiler's absorb-epilogue pass writes them; the runtime runs them in
 * the GEMM or convolution kernel's store or as a launch after it.
 *
 * Whether op takes an epilogue attribute. */
CLG_INTERNAL bool clg_op_takes_epilogue(clg_op op);
/* Whether node n carries an epilogue (a non-empty epilogue attribute). */
CLG_INTERNAL bool clg_node_has_epilogue(const clg_node *n);
/* K for an op's attributes: the inputs its epilogue reads after the op's
 * own, 0 without one; -1 when the expression does not parse. */
CLG_INTERNAL int clg_epilogue_inputs(clg_op op, const clg_attrs *a);
/* The inputs n's op itself reads: n_inputs less its epilogue's. */
CLG_INTERNAL int clg_node_own_inputs(const clg_node *n);

/* A Slice resolved against its input's shape (infer_movement.c): output
 * index i along axis k reads input index first[k] + i * step[k], for
 * count[k] indices; ONNX's negative indices and clamping applied. Axes not
 * sliced have first 0, step 1 and the input's dim. Shape inference, the
 * reference kernel and the lowering all read Slice this way. Returns
 * CLG_ERR_UNSUPPORTED with *bad_axis set when a symbolic dim is sliced
 * other than whole; attributes must have passed shape inference. */
typedef struct clg_slice_dims {
    int64_t first[CLG_MAX_RANK], step[CLG_MAX_RANK], count[CLG_MAX_RANK];
} clg_slice_dims;
/* g gives the symbolic sizes a start or end may name (clg_index_value),
 * their numbers while g->binding is set; without a binding, a symbolic
 * input dim or bound is resolved symbolically for step 1 (count = end -
 * start, interned in g), anything else being unsupported. */
CLG_INTERNAL clg_status clg_slice_resolve(clg_graph *g, const clg_attrs *a, const clg_shape *in, clg_slice_dims *out,
                                          int *bad_axis);
/* Slice's starts and ends keep ONNX's negative indices, so a symbolic size
 * d (a sequence length S an exporter slices a table to) is written as
 * CLG_INDEX_SYMBOLIC + d: these convert. */
static inline int64_t clg_index_value(int64_t d) { return CLG_INDEX_SYMBOLIC + d; }
static inline bool clg_index_is_symbolic(int64_t v) { return v < CLG_INDEX_SYMBOLIC; }
static inline int64_t clg_index_dim(int64_t v) { return v - CLG_INDEX_SYMBOLIC; }

/* Attribute fields by name/kind (attrs.c). */
typedef struct clg_field_info {
    const char *name;
    clg_attr_kind kind;
    int max_count; /* INTS: the most values; for fixed-length lists the only count */
    bool fixed_count;
} clg_field_info;
CLG_INTERNAL const clg_field_info *clg_field_get(clg_attr_field f);
/* Looks up an attribute of op by name; false if op has none of that name. */
CLG_INTERNAL bool clg_field_lookup(clg_op op, const char *name, size_t len, clg_attr_field *f);
/* Sets field f from a user attribute; checks kind and count. */
CLG_INTERNAL clg_status clg_attr_set(clg_graph *g, int line, const char *node, clg_op op,
                                     clg_attrs *a, clg_attr_field f, const clg_attr *value);
/* Reads field f into a clg_attr (name left NULL; a string's s points into a). */
CLG_INTERNAL void clg_attr_get(const clg_attrs *a, clg_attr_field f, clg_attr *out);
CLG_INTERNAL bool clg_attr_equal(const clg_attr *x, const clg_attr *y);

/* ---- graph building (graph.c) */
CLG_INTERNAL int clg_find_value(const clg_graph *g, const char *name);
/* Adds a node whose inputs are already resolved to indices; infers its shape.
 * Takes ownership of nothing: name is copied. constant may be NULL. */
CLG_INTERNAL clg_status clg_graph_append(clg_graph *g, clg_op op, const char *name, int line,
                                         const int *inputs, int n_inputs, const clg_attrs *attrs,
                                         const clg_shape *shape, clg_const *constant);
/* clg_graph_append for an input or constant of element type dtype (a
 * constant's values must fit it: clg_values_fit_dtype). */
CLG_INTERNAL clg_status clg_graph_append_value(clg_graph *g, clg_op op, const char *name, int line,
                                               const clg_shape *shape, clg_const *constant,
                                               clg_dtype dtype);
CLG_INTERNAL void clg_graph_clear(clg_graph *g);
CLG_INTERNAL clg_status clg_infer_node(clg_graph *g, const clg_node *n, const clg_shape *const *in,
                                       clg_shape *out);
/* Concrete shapes of every node (shapes[i] for node i) with each symbol k
 * of g sized values[k] (clg_dim_symbol_count(g) entries; -1 unknown):
 * shape inference runs again on the sizes, and each node's result must
 * match its symbolic shape. Symbols no input gives (an anonymous size) are
 * bound in values as their nodes are reached. */
CLG_INTERNAL clg_status clg_graph_bind(clg_graph *g, int64_t *values, clg_shape *shapes);
/* "N=2, S=7": the known sizes, for messages. */
CLG_INTERNAL const char *clg_dim_values_str(const clg_graph *g, const int64_t *values, char *buf, size_t size);
/* The same with only N sized (batch); for graphs with no other symbol. */
CLG_INTERNAL clg_status clg_graph_bind_batch(clg_graph *g, int64_t batch, clg_shape *shapes);
/* Checks the inputs against the graph's and sizes every symbol the inputs
 * give (values as above; N is 1 when no input names it), or an error naming
 * the input, the dimension and both sizes. */
CLG_INTERNAL clg_status clg_graph_check_inputs(clg_graph *g, const clg_tensor *inputs,
                                               int n_inputs, int64_t *values);
/* The count, data and dtype of the caller's output tensors, or an error
 * naming the output. */
CLG_INTERNAL clg_status clg_graph_check_outputs(clg_graph *g, const clg_tensor *outputs, int n_outputs);
/* Input node n's tensor t (checked by clg_graph_check_inputs) as count
 * floats at dst; an integer not exact as a float is an error naming the
 * input, the element and its value. */
CLG_INTERNAL clg_status clg_graph_input_floats(clg_graph *g, const clg_node *n, const clg_tensor *t,
                                               size_t count, float *dst);

/* ---- editing, for passes (graph_edit.c). Passes work with node indices:
 * appending may move the node array. Appended nodes may come after their
 * consumers; clg_graph_compact restores the topological order. */
/* Appends a node named after hint (made unique: hint, hint.1, hint.2, ...),
 * inferring its shape from its inputs (or taking *shape for constants).
 * On success the node owns constant's reference. Returns the index, or -1
 * with *status set. */
CLG_INTERNAL int clg_edit_append(clg_graph *g, clg_op op, const char *hint, const int *inputs,
                                 int n_inputs, const clg_attrs *attrs, const clg_shape *shape,
                                 clg_const *constant, clg_status *status);
/* A new constant node holding count values copied from data. */
CLG_INTERNAL int clg_edit_constant(clg_graph *g, const char *hint, const clg_shape *shape,
                                   const float *data, clg_status *status);
/* Every use of node from (inputs of live nodes, graph outputs) becomes to. */
CLG_INTERNAL void clg_edit_replace_uses(clg_graph *g, int from, int to);
/* Swaps the names of a and b, so a replacement can keep the name users know
 * (graph outputs keep their names). */
CLG_INTERNAL void clg_edit_swap_names(clg_graph *g, int a, int b);
/* Number of uses of each node by live nodes, plus one per graph output slot. */
CLG_INTERNAL clg_status clg_edit_use_counts(clg_graph *g, int *counts);
CLG_INTERNAL bool clg_edit_is_output(const clg_graph *g, int node);
/* Drops dead nodes, restores a stable topological order, renumbers inputs
 * and outputs and rebuilds the name index. */
CLG_INTERNAL clg_status clg_graph_compact(clg_graph *g);
/* A deep copy sharing constant data by reference count. */
CLG_INTERNAL clg_status clg_graph_copy(const clg_graph *src, clg_graph *dst);
/* Exchanges everything a and b hold (nodes, outputs, names, weights path),
 * not their allocators or messages; both must use the same allocator. */
CLG_INTERNAL void clg_graph_swap_contents(clg_graph *a, clg_graph *b);

/* ---- element types (dtype.c) */
/* Parses a dtype name ("f32", "i64", "i32", "bool") of len bytes. */
CLG_INTERNAL bool clg_dtype_from_name(const char *name, size_t len, clg_dtype *out);
CLG_INTERNAL bool clg_dtype_valid(clg_dtype t);
CLG_INTERNAL bool clg_dtype_is_int(clg_dtype t); /* I64 or I32 */
CLG_INTERNAL bool clg_dtype_is_float(clg_dtype t); /* F32 or F16 (held as floats) */
/* A float rounded to the nearest half, as a float (clg_float_to_half and
 * clg_half_to_float, public, do the two steps). */
CLG_INTERNAL float clg_round_half(float f);
/* What values of an integer, bool or f16 type are, for messages ("0 or 1"). */
CLG_INTERNAL const char *clg_dtype_values_text(clg_dtype t);
/* The dtype of a node with op and attrs whose inputs have in[0..n): by the
 * op table's type rule. Fails naming the node and the offending input. */
CLG_INTERNAL clg_status clg_infer_dtype(clg_graph *g, int line, const char *name, clg_op op,
                                        const clg_attrs *attrs, const int *inputs, int n_inputs,
                                        clg_dtype *out);
/* Converts count elements of type t at src to exact floats at dst. On an
 * integer that no float holds exactly (|v| > 2^24) returns false with its
 * index in *bad and its value in *bad_value. Bool: any non-zero byte is 1. */
CLG_INTERNAL bool clg_values_to_float(const void *src, clg_dtype t, size_t count, float *dst,
                                      size_t *bad, int64_t *bad_value);
/* Converts count floats to elements of type t at dst: integers by
 * truncation toward zero (NaN gives 0, values beyond the type's range its
 * nearest limit), bool as value != 0. */
CLG_INTERNAL void clg_values_from_float(const float *src, clg_dtype t, size_t count, void *dst);
/* For a value declared with an integer or bool type: whether every float
 * is one of its values (an integer within 2^24; 0 or 1 for bool); if not,
 * the first that is not in *bad. */
CLG_INTERNAL bool clg_values_fit_dtype(const float *v, size_t count, clg_dtype t, size_t *bad);

/* ---- constants (constant.c) */
CLG_INTERNAL clg_const *clg_const_new(clg_graph *g, size_t count);
CLG_INTERNAL void clg_const_release(clg_graph *g, clg_const *c);
/* Fills c->data from c->init (all kinds but LIST and FILE). */
CLG_INTERNAL void clg_const_generate(clg_const *c);
/* For a constant a pass computed (init LIST) of two or more values: zeros,
 * ones or full(v) when every value is the same and that generator gives
 * back the same bits, so the printed text stays short. */
CLG_INTERNAL void clg_const_simplify_init(clg_const *c);

#endif
