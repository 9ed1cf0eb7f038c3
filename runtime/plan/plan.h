/* A plan: every node of a graph lowered for one batch size to a list of
 * steps (kernel launches with their arguments bound, CLBlast GEMMs) over
 * device memory: one arena for activations and scratch, planned by
 * liveness (memory_plan.c), and one buffer for weights. */
#ifndef CLG_PLAN_H
#define CLG_PLAN_H

#include "runtime.h"

/* ---------------------------------------------------------------- plans (plan.c) */

/* A tensor in device memory: a buffer and an offset in elements, the way
 * CLBlast takes them, so activations can share one arena. While a plan is
 * lowered the arena is not placed yet: an activation or a scratch block is
 * then `block` (its offset counted from the block's start), and the plan
 * binds it to the arena once memory is planned (clg_plan_bind). */
typedef struct clg_dev_tensor {
    cl_mem buf;
    size_t off;
    clg_shape shape; /* concrete */
    int block;       /* CLG_BLOCK_NONE: buf and off are final; else a block of the plan's arena */
} clg_dev_tensor;

#define CLG_BLOCK_NONE 0

typedef enum clg_karg_kind {
    CLG_KARG_TENSOR, /* two kernel arguments: __global float *, uint offset */
    CLG_KARG_INT,
    CLG_KARG_FLOAT,
    CLG_KARG_LOCAL,  /* a __local buffer of i bytes per work-item of the work-group */
} clg_karg_kind;

typedef struct clg_karg {
    clg_karg_kind kind;
    const clg_dev_tensor *t;
    int i;
    float f;
} clg_karg;

#define CLG_ARG_T(tensor) ((clg_karg){CLG_KARG_TENSOR, (tensor), 0, 0.0f})
#define CLG_ARG_I(v) ((clg_karg){CLG_KARG_INT, NULL, (int)(v), 0.0f})
#define CLG_ARG_F(v) ((clg_karg){CLG_KARG_FLOAT, NULL, 0, (float)(v)})
#define CLG_ARG_LOCAL(bytes_per_item) ((clg_karg){CLG_KARG_LOCAL, NULL, (int)(bytes_per_item), 0.0f})

/* local[0] for a kernel that runs one work-group along grid dim 0 (a
 * work-group reduction): global[0] is then the most work-items wanted, and
 * the emitter settles on the largest power of two that is no larger, fits
 * the kernel's CL_KERNEL_WORK_GROUP_SIZE and the device's
 * CL_DEVICE_MAX_WORK_ITEM_SIZES[0], and leaves every CLG_ARG_LOCAL plus the
 * kernel's own __local arrays within the device's local memory, for
 * local[0] and global[0] alike. */
#define CLG_LOCAL_FIT ((size_t)-1)

typedef enum clg_step_kind { CLG_STEP_KERNEL, CLG_STEP_GEMM } clg_step_kind;

/* One GEMM, row-major: C = alpha * op(A) * op(B) + beta * C, batch times
 * with the given strides (batch 1: a single CLBlastSgemm); the operands'
 * offsets are their tensors'. */
typedef struct clg_gemm {
    bool trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    clg_dev_tensor a, b, c;
    size_t lda, ldb, ldc;
    size_t batch;
    size_t a_stride, b_stride, c_stride;
    /* > 0 (clg_emit_product only): the batch is two-level, product
     * z = z1 * zn + z0 at z0 * *_stride + z1 * *_stride2 */
    size_t zn;
    size_t a_stride2, b_stride2, c_stride2;
} clg_gemm;

/* A kernel argument as a step keeps it until the plan binds it. */
typedef struct clg_step_arg {
    clg_karg_kind kind;
    clg_dev_tensor t;
    int i;
    float f;
} clg_step_arg;

typedef struct clg_step {
    int node; /* graph node this step belongs to */
    clg_step_kind kind;
    cl_kernel kernel; /* owned by the step */
    cl_uint work_dim;
    size_t global[3];
    size_t local[3]; /* all zero: the driver chooses */
    clg_gemm gemm;
    clg_step_arg *args; /* the kernel's, set on it when the plan binds */
    int n_args;
    size_t group_items; /* work-items per group, for CLG_KARG_LOCAL arguments */
    bool bound;         /* arguments set (a kernel) or operands placed (a GEMM) */
    /* A kernel whose program was not built when the step was emitted
     * (clg_plan_build defers builds, to build them together): pending is
     * 1 + the plan's pending program, kernel_name the kernel (allocated),
     * local_given whether local[] was asked for (CLG_LOCAL_FIT in [0]
     * sized once the kernel exists); once: run when the programs are built,
     * then dropped (clg_plan_run_steps_now while builds are deferred). */
    int pending;
    char *kernel_name;
    bool local_given, once;
} clg_step;

/* The state a node's lowering function works with. */
typedef struct clg_lower {
    clg_context *ctx;
    const clg_graph *g;
    int node;                   /* index of the node being lowered */
    struct clg_plan *plan;
} clg_lower;

/* Plans lower every node once (plan.c), before the arena is placed: the
 * emitters below record steps whose arena tensors are blocks (see
 * clg_dev_tensor) and clg_scratch records a request; clg_plan_bind then
 * gives the steps their buffers and offsets.
 *
 * Appends a kernel launch: kernel `name` from kernels/FILE built with
 * options (may be NULL; -cl-std=CL1.2 is always added), over a work_dim
 * grid of global sizes as given (pad the first with clg_grid_size, and
 * bounds-check it in the kernel), with the given arguments in order. A
 * tensor argument past INT_MAX elements or reaching element 2^32 of its
 * buffer (kernels take uint offsets, int indices) is CLG_ERR_UNSUPPORTED. */
CLG_INTERNAL clg_status clg_emit_kernel(clg_lower *lw, const char *file, const char *name,
                                        const char *options, cl_uint work_dim,
                                        const size_t *global, const clg_karg *args, int n_args);
/* A kernel family: one kernels/FILE whose kernels are specialised by -D
 * defines, and the kernel in it that takes an epilogue (NULL: none; the
 * contract is in lower/epilogue.h). A family is a static const next to its
 * lowering. */
typedef struct clg_kernel_family {
    const char *file;
    const char *epilogue_kernel;
} clg_kernel_family;

struct clg_epilogue;

/* One launch of a family's kernel: the one way to build a kernel from a
 * file of kernels/. local: all 0 for the fixed shape padded grids use (see
 * clg_emit_kernel_local), CLG_LOCAL_FIT in [0] for a work-group sized from
 * the device's limits, or explicit sizes. epilogue (NULL: none) puts its
 * prelude in front of the file (for every kernel of the family alike, so
 * they share a program) and, for the family's epilogue kernel, its
 * arguments after args. */
typedef struct clg_launch {
    const clg_kernel_family *family;
    const char *kernel;
    const char *defines; /* -D options; NULL: none */
    cl_uint work_dim;
    size_t global[3], local[3];
    const clg_karg *args;
    int n_args;
    const struct clg_epilogue *epilogue;
} clg_launch;

CLG_INTERNAL clg_status clg_emit_launch(clg_lower *lw, const clg_launch *l);

/* Appends a GEMM (see clg_gemm). An operand reaching past element INT_MAX
 * of its buffer (CLBlast passes offsets to its kernels as int) is
 * CLG_ERR_UNSUPPORTED. */
CLG_INTERNAL clg_status clg_emit_gemm(clg_lower *lw, const clg_gemm *gemm);
/* Device scratch memory of elems floats that lives for the node's steps
 * only: a block of the arena that overlaps none of the node's values. */
CLG_INTERNAL clg_status clg_scratch(clg_lower *lw, size_t elems, clg_dev_tensor *out);

/* Lowers one node: in[] are its inputs' device tensors, out its output's. A
 * node may set *alias to make its output the same memory as in[0] (reshape-
 * like ops) instead of launching anything. One per op, in lower_*.c. */
typedef clg_status (*clg_lower_fn)(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                   const clg_dev_tensor *out);

CLG_INTERNAL clg_lower_fn clg_lower_get(clg_op op);
/* Ops whose output is their first input's memory, reinterpreted. */
CLG_INTERNAL bool clg_lower_is_alias(clg_op op);

/* A lowering's call to clg_scratch: elems floats for node's steps only,
 * placed at off in the arena. */
typedef struct clg_scratch_request {
    int node;
    size_t elems;
    size_t off;
} clg_scratch_request;

/* ---------------------------------------------------------------- selection (select.c) */

/* What runs a node: decided for every node of a plan by clg_plan_select,
 * before lowering, which only reads it. */
typedef enum clg_backend {
    CLG_BACKEND_DEFAULT = 0, /* the op family's own kernels (the only way for most ops) */
    CLG_BACKEND_CLBLAST,     /* a CLBlast GEMM; an epilogue runs as a launch after it */
    CLG_BACKEND_GENERATED,   /* a generated kernels/gemm.cl variant */
} clg_backend;

/* Which product a convolution computes. */
typedef enum clg_orientation {
    CLG_ORIENT_AS_WRITTEN = 0, /* W times the column matrix, which im2col packs */
    CLG_ORIENT_FLIPPED,        /* col^T times W^T: the weights are packed once, per plan */
    CLG_ORIENT_IMPLICIT,       /* as FLIPPED, col^T read from the NCHW input in place (no im2col) */
    CLG_ORIENT_POINTWISE,      /* as written on a vector variant (n4x16, n8x16), the column matrix
                                  the NCHW input itself: 1x1 kernels, stride 1, no padding */
    CLG_ORIENT_WINOGRAD,       /* Winograd F(2x2, 3x3) on a packed variant, the 16 products of
                                  transformed tiles batched (lower/conv_winograd.c): 3x3 kernels,
                                  stride 1, undilated, ungrouped */
    CLG_ORIENT_WINOGRAD4,      /* the same, F(4x4, 3x3): 36 products */
    CLG_ORIENT_DIRECT,         /* a direct convolution, vectors along the output pixels
                                  (lower/conv_direct.c) on a packed variant's tile: tm output
                                  channels by nr pixels (p4x64, p8x32): stride 1, ungrouped */
    CLG_ORIENT_COUNT           /* how many there are (what measuring times a convolution in) */
} clg_orientation;

/* The output tile m of a Winograd orientation, F(m x m, 3x3); 0 for the
 * others. */
static inline int clg_winograd_tile(clg_orientation o)
{
    return o == CLG_ORIENT_WINOGRAD ? 2 : o == CLG_ORIENT_WINOGRAD4 ? 4 : 0;
}

typedef struct clg_decision {
    clg_backend backend;
    int variant; /* GENERATED: index in clg_gemm_variants; DEFAULT: the family's variant */
    clg_orientation orientation;
    bool epilogue_in_kernel; /* the node's epilogue runs in its kernel's store */
} clg_decision;

struct clg_gemm_memo;

typedef struct clg_plan {
    clg_context *ctx;
    /* How floating-point tensors are held (the model's option): at a half
     * precision every device element, the arena's, the weights' and
     * scratch's, is a half (elem_size 2) and every kernel is built with
     * -DSTORE_HALF (kernels/storage.h), -DCOMPUTE_HALF too at
     * CLG_PRECISION_FP16. Offsets stay counted in elements. */
    clg_precision precision;
    size_t elem_size;
    int64_t batch;  /* N's size (1 when the graph has no N) */
    int64_t *sizes; /* every symbol's size as the inputs gave it: the plan's key */
    int n_sizes;
    clg_step *steps;
    int n_steps, cap_steps;
    clg_dev_tensor *values; /* per node: where its output lives */
    cl_mem arena;           /* activations and scratch */
    size_t arena_elems;
    clg_scratch_request *scratch; /* in node order */
    int n_scratch, cap_scratch;
    /* Arena blocks (clg_dev_tensor.block): 1 + i for node i's value,
     * 1 + n_values + r for scratch request r; their offsets once memory is
     * planned (block_off[block], NULL before). */
    int n_values;
    size_t *block_off;
    clg_decision *decisions;         /* per node, from clg_plan_select */
    struct clg_gemm_memo *gemm_memo; /* GEMM shapes this plan has decided */
    int n_gemm_memo, cap_gemm_memo;
    /* The programs this plan's lowering took from the context's cache
     * (owned by the context; a bundle carries them). Not kept for the
     * trial plans that time candidates (scratch_owned). */
    cl_program *programs;
    int n_programs, cap_programs;
    /* Buffers of the plan's own (clg_plan_buffer): constants in another
     * layout, prepared once when the plan is built. */
    cl_mem *owned;
    int n_owned, cap_owned;
    uint64_t owned_bytes;
    /* The trial plans that time GEMM candidates (gemm/choice.c) have no
     * arena: clg_scratch hands out owned buffers instead. */
    bool scratch_owned;
    /* One float (an owned buffer) where the index kernels (Gather,
     * GatherElements) store 1 + their node's index when they clamp an index
     * out of range; the model zeroes it before each run and reads it with
     * the outputs. has_index_flag: some kernel takes it. */
    clg_dev_tensor index_flag;
    bool has_index_flag;
    /* Set by clg_plan_build: a kernel whose program is neither built nor in
     * the disk cache is recorded (pending) instead of built, and
     * clg_plan_build_pending builds them all at once, in parallel, after
     * lowering. Trial plans (timing GEMM candidates) build as they go. */
    bool defer_builds;
    struct clg_pending_program *pending;
    int n_pending, cap_pending;
} clg_plan;

/* Bytes per device element at precision p (half.c): 4 at fp32, 2 at both
 * half precisions (every buffer holds halves). */
CLG_INTERNAL size_t clg_precision_elem_size(clg_precision p);

/* Decides what runs each node of g into p->decisions: GEMM-shaped nodes
 * through gemm/choice.c, the rest by their family's rule. Reads only the
 * shapes of p->values. */
CLG_INTERNAL clg_status clg_plan_select(clg_plan *p, const clg_graph *g);

/* Lowers g for the symbol sizes `sizes` (clg_graph_check_inputs's values)
 * into plan at precision (clg_precision). weights holds every constant,
 * node i's at const_off[i] (in elements of the precision). On failure the plan is left empty and ctx's message says
 * which node failed. */
CLG_INTERNAL clg_status clg_plan_build(clg_plan *plan, clg_context *ctx, clg_graph *g,
                                       cl_mem weights, const size_t *const_off, const int64_t *sizes,
                                       clg_precision precision);
CLG_INTERNAL void clg_plan_free(clg_plan *plan);
/* A device buffer of elems floats that lives as long as lw's plan, for data
 * derived from constants (a packed weight matrix). */
CLG_INTERNAL clg_status clg_plan_buffer(clg_lower *lw, size_t elems, clg_dev_tensor *out);
/* The plan's index flag (above), made on first use. */
CLG_INTERNAL clg_status clg_plan_index_flag(clg_lower *lw, const clg_dev_tensor **flag);
/* Runs the steps appended since the plan had `from` steps once, now, and
 * removes them from the plan: work on constants that every run would
 * repeat (their tensors must need no arena block). */
CLG_INTERNAL clg_status clg_plan_run_steps_now(clg_lower *lw, int from);
/* Builds p's pending programs together (clg_programs_build), gives their
 * steps their kernels, and runs and drops the steps marked once. A failed
 * build names the node that first needed the program. */
CLG_INTERNAL clg_status clg_plan_build_pending(clg_plan *p, const clg_graph *g);
/* Frees p's list of pending programs (not the steps). */
CLG_INTERNAL void clg_plan_pending_free(clg_plan *p);
/* Binds the plan's steps from `from` on that are not bound yet: arena
 * blocks become the arena and their planned offsets (p->block_off), every
 * position is checked against the kernels' and CLBlast's addressing, and
 * kernels get their arguments. Errors name the step's node. */
CLG_INTERNAL clg_status clg_plan_bind(struct clg_plan *p, const clg_graph *g, int from);
/* t with its arena block resolved to the arena and the block's offset;
 * false when the plan has no such block placed. */
CLG_INTERNAL bool clg_plan_resolve(const struct clg_plan *p, clg_dev_tensor *t);
/* A GEMM step's operands resolved and checked against CLBlast's int
 * addressing (lw: the step's node, for messages). */
CLG_INTERNAL clg_status clg_plan_bind_gemm(clg_lower *lw, clg_step *st);
/* Node n's input tensors from p->values, in stack (room for
 * CLG_PLAN_INPUTS_STACK) or, for more, a block of the context's allocator:
 * release them with clg_plan_inputs_free. NULL when out of memory (the
 * context's message says so). */
#define CLG_PLAN_INPUTS_STACK 8
CLG_INTERNAL clg_dev_tensor *clg_plan_inputs(struct clg_plan *p, const clg_node *n, clg_dev_tensor *stack);
CLG_INTERNAL void clg_plan_inputs_free(struct clg_plan *p, clg_dev_tensor *in, const clg_dev_tensor *stack);
/* Releases a step's kernel and arguments. */
CLG_INTERNAL void clg_plan_step_release(struct clg_plan *p, clg_step *st);
/* A new, zeroed step for lw's node at the end of the plan (counted once the
 * caller increments n_steps), or NULL when out of memory. */
CLG_INTERNAL clg_step *clg_plan_new_step(clg_lower *lw);
/* Enqueues one step; event may be NULL. */
CLG_INTERNAL clg_status clg_plan_enqueue(clg_plan *plan, const clg_graph *g, const clg_step *step,
                                         cl_event *event);

/* ---------------------------------------------------------------- memory_plan.c */

/* Whether node's value is its first input's memory (no step runs for it):
 * an alias op (clg_lower_is_alias: Reshape, Flatten, Identity), or, given
 * the concrete shapes (per node; NULL: none known), a Transpose that only
 * moves dims of 1, or a Slice or Transpose an Attention absorbs
 * (clg_attention_absorbs: the Attention reads or writes that memory
 * through strides; no other node reads the value). */
CLG_INTERNAL bool clg_value_is_view(const clg_graph *g, int node, const clg_shape *shapes);

/* ---- attention's strided operands (lower/attention_layout.c) */
#define CLG_LAYOUT_ATOMS 16
/* Element i of a tensor, i in row-major order over the atoms' sizes
 * (outermost first), is element off + sum(index_j * st[j]) of its root. */
typedef struct clg_layout {
    int n;
    int64_t size[CLG_LAYOUT_ATOMS], st[CLG_LAYOUT_ATOMS];
    int64_t off;
} clg_layout;
/* A node's concrete shape. */
typedef const clg_shape *(*clg_shape_fn)(const void *ctx, int node);
/* The dense layout of shape s. */
CLG_INTERNAL void clg_layout_dense(const clg_shape *s, clg_layout *l);
/* l with its atoms split at s's dim boundaries and merged where a dim's
 * atoms are one run: dim d is atoms [first[d], first[d + 1]) of *out. */
CLG_INTERNAL bool clg_layout_aligned(const clg_layout *l, const clg_shape *s, clg_layout *out,
                                     int first[CLG_MAX_RANK + 1]);
/* Attention node's input slot (0-2) as a layout over *root, through the
 * chain of movement nodes (Reshape, Slice, Transpose), each read by the
 * next alone, that computed it: false when that chain does not reduce to
 * strides (the input is then read as it is). */
CLG_INTERNAL bool clg_attention_operand(const clg_graph *g, int node, int slot, clg_shape_fn shape,
                                        const void *ctx, int *root, clg_layout *l);
/* Whether Slice or Transpose node is a link of such a chain (or the lone
 * Transpose reading an Attention's output): a view, as above.
 * CLGRAPH_ATTENTION_COPIES set: never (for measuring against the copies). */
CLG_INTERNAL bool clg_attention_absorbs(const clg_graph *g, int node, clg_shape_fn shape, const void *ctx);
/* Whether Attention node's output is read only by a Transpose that is a
 * view of it (*transpose): the Attention writes the Transpose's layout. */
CLG_INTERNAL bool clg_attention_writes_through(const clg_graph *g, int node, clg_shape_fn shape,
                                               const void *ctx, int *transpose);
/* The node whose memory node's value is: node itself, or for a view
 * (clg_value_is_view, shapes: concrete, per node, or NULL for the alias
 * ops alone) its first input's root. */
CLG_INTERNAL int clg_value_root(const clg_graph *g, int node, const clg_shape *shapes);
/* Whether node's value lives in the arena: its root (through the alias
 * ops; a Transpose view of a constant counts as in the arena) is not a
 * constant. */
CLG_INTERNAL bool clg_value_in_arena(const clg_graph *g, int node);

/* Places every arena value of g (shapes: concrete, per node) and every
 * scratch request (in node order; each gets its .off) in one arena, in
 * elements, every block 64-float aligned:
 * - a root value lives from its node to the last node reading it or any
 *   view of it (clg_value_is_view); graph inputs and outputs are pinned (never reused);
 * - blocks are reused best-fit once their value is dead; scratch lives
 *   during its node only and overlaps none of the node's values;
 * - a unary activation, BatchNorm, Softmax, a binary op or an Elementwise
 *   node may write over an input of its output's size that dies at it (in
 *   place);
 * Writes off[i] for every node whose value is in the arena (aliases get
 * their root's offset; others 0) and the arena's size to *arena_elems.
 * Returns CLG_OK, CLG_ERR_OUT_OF_MEMORY, or CLG_ERR_INTERNAL when
 * the requests are not in node order. */
CLG_INTERNAL clg_status clg_plan_memory(const clg_allocator *mem, const clg_graph *g,
                                        const clg_shape *shapes, clg_scratch_request *scratch, int n_scratch, size_t *off,
                                        size_t *arena_elems);

/* ---------------------------------------------------------------- model.c, for bundles */

/* A new, empty model on ctx (not yet created: clg_model_build_from does
 * that), or NULL when out of memory. */
CLG_INTERNAL clg_model *clg_model_alloc(clg_context *ctx);
/* The model's message buffer, for an error capture. */
CLG_INTERNAL char *clg_model_errbuf(clg_model *m, size_t *size);
CLG_INTERNAL void clg_model_set_note(clg_model *m, const char *note);
/* Finishes creating m from g, an optimized graph it takes (freed with the
 * model, also on failure), at precision, as clg_model_create does after
 * optimizing (fp16 on a device without cl_khr_fp16: CLG_ERR_UNSUPPORTED). */
CLG_INTERNAL clg_status clg_model_build_from(clg_model *m, clg_graph *g, clg_precision precision);
/* Releases what a model holds after a failure before clg_model_build_from. */
CLG_INTERNAL void clg_model_fail_release(clg_model *m);
/* The plans the model has built (up to capacity), newest use not implied. */
CLG_INTERNAL int clg_model_plans(const clg_model *m, const clg_plan **plans, int capacity);
CLG_INTERNAL clg_context *clg_model_context(const clg_model *m);

#endif
