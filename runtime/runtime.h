/* Internal interface of the OpenCL runtime: contexts, errors, programs, and
 * the plan that lowers each graph node to kernel launches and CLBlast calls. */
#ifndef CLG_RUNTIME_H
#define CLG_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>

#include "ir.h"

/* ---------------------------------------------------------------- context */

typedef struct clg_program_entry {
    uint64_t key; /* hash of file name, source and options */
    cl_program program;
} clg_program_entry;

struct clg_context {
    clg_allocator allocator;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    bool borrowed;  /* cl and queue belong to the embedder */
    bool profiling; /* queue has CL_QUEUE_PROFILING_ENABLE */
    clg_device_info info;
    clg_program_entry *programs; /* in-memory program cache */
    int n_programs, cap_programs;
    char *cache_dir; /* on-disk binary cache, NULL when off */
    int cache_memory_hits, cache_disk_hits, cache_builds; /* clg_program_cache_stats */
    char errmsg[16384];
};

/* ---------------------------------------------------------------- errors (cl_error.c) */

/* "CL_OUT_OF_RESOURCES" for -5, CLBlast's names for its own codes. */
CLG_INTERNAL const char *clg_cl_error_name(cl_int err);
/* The status an OpenCL error maps to: allocation failures become
 * CLG_ERR_OUT_OF_DEVICE_MEMORY, build failures CLG_ERR_BUILD, the rest
 * CLG_ERR_OPENCL. */
CLG_INTERNAL clg_status clg_cl_status(cl_int err);
CLG_INTERNAL clg_status clg_ctx_fail(clg_context *ctx, clg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets "WHAT: CALL failed: CL_NAME (code)" and returns clg_cl_status(err). */
CLG_INTERNAL clg_status clg_ctx_cl_fail(clg_context *ctx, cl_int err, const char *call,
                                        const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- devices (device.c) */

/* Fills info for (platform index, device index) handles. */
CLG_INTERNAL void clg_device_describe(cl_platform_id p, cl_device_id d, clg_device_info *info);
/* Picks a device from a list by spec (see clg_context_create): a pure
 * function so selection is testable without hardware. Returns the list
 * index, or -1 and a message listing the devices in err. */
CLG_INTERNAL int clg_device_pick(const clg_device_info *devices, int count, const char *spec,
                                 char *err, size_t err_size);
/* The default device's index in the list (first discrete GPU, else any GPU,
 * else a CPU, else the first), or -1 for an empty list. */
CLG_INTERNAL int clg_device_default(const clg_device_info *devices, int count);

/* ---------------------------------------------------------------- programs (program_cache.c) */

/* The program for (file, source, options) on ctx's device: from the
 * in-memory cache, else the on-disk binary cache, else built (and stored).
 * The context owns the program. A failed build returns CLG_ERR_BUILD with
 * the build log in ctx's message. */
CLG_INTERNAL clg_status clg_program_get(clg_context *ctx, const char *file, const char *source,
                                        const char *options, cl_program *out);

/* The text of kernels/FILE (e.g. "elementwise.cl"): embedded at build time,
 * or read from $CLGRAPH_KERNEL_DIR when that is set (for kernel development).
 * NULL if there is no such file. The returned text lives for the process. */
CLG_INTERNAL const char *clg_kernel_source(const char *file);

/* ---------------------------------------------------------------- plans (plan.c) */

/* A tensor in device memory: a buffer and an offset in elements, the way
 * CLBlast takes them, so activations can share one arena. */
typedef struct clg_dev_tensor {
    cl_mem buf;
    size_t off;
    clg_shape shape; /* concrete */
} clg_dev_tensor;

typedef enum clg_karg_kind {
    CLG_KARG_TENSOR, /* two kernel arguments: __global float *, uint offset */
    CLG_KARG_INT,
    CLG_KARG_FLOAT,
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

typedef enum clg_step_kind { CLG_STEP_KERNEL, CLG_STEP_GEMM } clg_step_kind;

/* One GEMM, row-major: C = alpha * op(A) * op(B) + beta * C, batch times
 * with the given strides (batch 1: a single CLBlastSgemm). */
typedef struct clg_gemm {
    bool trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    cl_mem a, b, c;
    size_t a_off, b_off, c_off;
    size_t lda, ldb, ldc;
    size_t batch;
    size_t a_stride, b_stride, c_stride;
} clg_gemm;

typedef struct clg_step {
    int node; /* graph node this step belongs to */
    clg_step_kind kind;
    cl_kernel kernel; /* owned by the step; arguments set at plan time */
    cl_uint work_dim;
    size_t global[3];
    size_t local[3]; /* all zero: the driver chooses */
    clg_gemm gemm;
} clg_step;

/* The state a node's lowering function works with. */
typedef struct clg_lower {
    clg_context *ctx;
    const clg_graph *g;
    int node;                   /* index of the node being lowered */
    struct clg_plan *plan;
} clg_lower;

/* Plans lower every node twice (plan.c): first measuring, with no arena yet
 * (tensors' buf NULL), when the emitters below record nothing and
 * clg_scratch only notes the request; then for real. A lowering function
 * must ask for the same scratch both times; an emitter of its own must
 * record nothing while lw->plan->measuring.
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

/* ---------------------------------------------------------------- runtime core, continued */

/* A device's OpenCL handles, parallel to its clg_device_info. */
typedef struct clg_device_handle {
    cl_platform_id platform;
    cl_device_id device;
} clg_device_handle;

/* Every device of every platform in platform order, described, with
 * index/platform_index/device_index/is_default set (device.c). *infos and
 * *handles (either may be NULL to skip it) are allocated with a and freed
 * with clg_mem_free; both are NULL when *count is 0. A platform whose
 * devices cannot be listed is skipped. On CLG_ERR_OPENCL or
 * CLG_ERR_OUT_OF_MEMORY, err (may be NULL) says why. */
CLG_INTERNAL clg_status clg_device_enumerate(const clg_allocator *a, clg_device_info **infos,
                                             clg_device_handle **handles, int *count, char *err,
                                             size_t err_size);

/* How ctx's clg_program_get calls were served: from memory, from the disk
 * cache, or by building from source (any pointer may be NULL). */
CLG_INTERNAL void clg_program_cache_stats(const clg_context *ctx, int *memory_hits, int *disk_hits,
                                          int *builds);

#endif
