/*
 * clgraph.h — the one public header of clgraph.
 *
 * clgraph compiles neural networks built from residual blocks and runs them on
 * any OpenCL device. This header declares the whole library: the graph IR
 * (text format, ONNX import, C builder API, shape inference), the graph
 * compiler (clg_graph_optimize), the host reference executor and the .npy
 * helpers; then OpenCL devices, contexts (a device with its queue, program
 * cache and settings) and models (a graph compiled for a context's device,
 * run with clg_model_run); last, tuning CLBlast for a device.
 *
 * Usage, compiling a model for the default OpenCL device and running it:
 *
 *     clg_graph *g = NULL;
 *     if (clg_graph_create(&g, NULL, NULL) != CLG_OK) return -1;   // out of memory
 *     if (clg_graph_load(g, "examples/residual_mlp.clg") != CLG_OK) {
 *         fprintf(stderr, "%s\n", clg_graph_errmsg(g));
 *         clg_graph_destroy(g);
 *         return -1;
 *     }
 *     clg_context *ctx = NULL;
 *     clg_model *m = NULL;
 *     if (clg_context_create(&ctx, NULL, 0, NULL, NULL) != CLG_OK)
 *         fprintf(stderr, "%s\n", clg_context_errmsg(ctx));     // e.g. no OpenCL device
 *     else if (clg_model_create(&m, ctx, g) != CLG_OK)
 *         fprintf(stderr, "%s\n", clg_model_errmsg(m));         // names the node
 *     else {
 *         clg_tensor x = { data, 2, { 64, 128 }, CLG_DTYPE_F32 };  // batch 64, caller's memory
 *         clg_tensor y = { out, 0, { 0 }, CLG_DTYPE_F32 };
 *         clg_graph_output_info(g, 0, 64, NULL, &y.rank, y.dims);  // room for out
 *         if (clg_model_run(m, &x, 1, &y, 1) != CLG_OK)
 *             fprintf(stderr, "%s\n", clg_model_errmsg(m));
 *     }
 *     clg_model_destroy(m);                      // the model before its context
 *     clg_context_destroy(ctx);
 *     clg_graph_destroy(g);
 *
 * clg_graph_run_reference(g, &x, 1, &y, 1) computes the same on the host
 * without a device: the oracle the device results are tested against.
 *
 * Integer inputs (token ids) travel in their own type: for a graph with
 * `input ids: i64[N, 16]`,
 *
 *     int64_t ids[4 * 16] = { ... };
 *     clg_tensor x = { (float *)ids, 2, { 4, 16 }, CLG_DTYPE_I64 };
 *
 * Conventions:
 *   - Every function that can fail returns a clg_status (CLG_OK is 0, errors are
 *     negative). Each object keeps the message of its own last error:
 *     clg_graph_errmsg, clg_context_errmsg, clg_model_errmsg. A failing call
 *     writes the message of the object it acts on (the model for
 *     clg_model_create and clg_model_run, the context for clg_context_create
 *     and clg_tune, the graph for graph functions), naming the text line, the
 *     node and its op, the OpenCL call and its error where they apply.
 *   - Pointers passed in are borrowed for the duration of the call unless a
 *     comment says otherwise. Memory the library returns is owned by the object
 *     it came from unless a comment says who frees it.
 *   - Every *_destroy(NULL) is a no-op.
 *   - Options structs (clg_context_options, clg_model_options) start with
 *     struct_size and are initialised with their _INIT macro: fields are
 *     only ever added at the end, and a caller built against an older header
 *     (a smaller struct_size) keeps working, its missing fields defaulted.
 *   - Settings the environment gives (CLGRAPH_DEVICE, CLGRAPH_CACHE_DIR,
 *     CLGRAPH_CACHE, CLGRAPH_KERNEL_DIR, CLGRAPH_GEMM, CLGRAPH_TUNING) are
 *     defaults: an argument, flag or option set through the API wins.
 *   - Threads (tested by tests/test_threads.c, also under ThreadSanitizer):
 *       - A graph, a model and a context are each used by one thread at a
 *         time; the caller serialises calls on one object (clgraph takes no
 *         lock per model: its message, clg_model_errmsg, is only meaningful
 *         to the thread that made the call, and its runs share the
 *         context's queue anyway).
 *       - Except: distinct models on one context may be created, run
 *         (clg_model_run and clg_model_run_buffers) and destroyed from
 *         different threads at the same time. The context's program cache
 *         is locked (a program two threads need is built once), nothing a
 *         model does writes the context's message, and the models' work is
 *         interleaved on the context's one in-order queue (each call's
 *         clFinish also waits for the others' commands queued before it).
 *         The context's allocator must then be thread-safe.
 *       - Distinct models may be created from one graph at the same time
 *         (creation only reads it; constant data is shared by atomic
 *         reference counts), as long as no thread changes the graph.
 *       - Distinct contexts, graphs and models are independent. The
 *         library's few process-wide tables (kernel text read from a
 *         kernel directory, the CLBlast parameters applied per device) are
 *         locked; every error message is written to the calling thread's
 *         object.
 *       - clg_tune and clg_context_destroy need the context to themselves
 *         (no model of it in use). clgraph reads the environment
 *         (getenv) but never changes it: a caller must not setenv while
 *         other threads are in clgraph.
 *   - Across processes: the program cache, the GEMM choice file and the
 *     tuning file in a cache directory may be shared by any number of
 *     processes at once. Every file is written whole to a temporary file
 *     beside it and renamed over the old one (atomic on POSIX), so a
 *     reader sees the old file or the new one, never half of one; and
 *     nothing read is trusted (a program binary is checked against its
 *     key, device identity and checksum, the tuning file whole, the choice
 *     file line by line): what does not check is ignored, then rebuilt or
 *     measured again. Two processes adding GEMM
 *     choices at once may lose one of them (the last rename wins): it is
 *     measured again later, never used wrong.
 *   - The library never prints, never exits and never aborts on user input.
 *
 * Versions and compatibility. clgraph's version is MAJOR.MINOR.PATCH
 * (CLG_VERSION_* at compile time, clg_version() at run time; CHANGELOG.md
 * lists the changes). The shared library's SONAME carries the ABI version:
 * libclgraph.so.MAJOR, and libclgraph.so.0.MINOR while MAJOR is 0.
 *   - A breaking change bumps MAJOR (MINOR while MAJOR is 0) and with it the
 *     SONAME: removing or renaming a function, type, macro or enum value;
 *     changing a function's parameters, a status or enum value's number, a
 *     struct's layout or size (other than fields appended to an options
 *     struct that starts with struct_size), or what a call means for
 *     input it accepted before.
 *   - A MINOR release (a PATCH release while MAJOR is 0) may only add:
 *     functions, types, macros, ops and enum values appended before their
 *     _COUNT (which may therefore grow: size nothing in a stored format or
 *     an ABI by it), fields at the end of struct_size options structs,
 *     statuses (treat an unknown negative status as an error), ONNX
 *     operators and text-format features. Code built against an older
 *     header keeps working with a newer library of the same SONAME.
 *   - Otherwise a PATCH release fixes bugs without changing the header.
 * What is not in this header (the library's internal symbols, the files of
 * the on-disk caches, the CLI's output) is not part of the ABI.
 */
#ifndef CLGRAPH_H
#define CLGRAPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CLG_API __attribute__((visibility("default")))
#else
#define CLG_API
#endif

/* CLG_VERSION_MAJOR, _MINOR, _PATCH and CLG_VERSION_STRING ("0.1.0"), made
 * by the build from the project's version and installed with this header. */
#include "clgraph_version.h"
#define CLG_VERSION_NUMBER (CLG_VERSION_MAJOR * 10000 + CLG_VERSION_MINOR * 100 + CLG_VERSION_PATCH)

/* The library's version as CLG_VERSION_NUMBER; compare with the header's to
 * detect a header/library mismatch. */
CLG_API int clg_version(void);

/* ---------------------------------------------------------------- status */

typedef enum clg_status {
    CLG_OK = 0,
    CLG_ERR_INVALID_ARGUMENT = -1, /* NULL pointer, bad index, tensor of the wrong shape */
    CLG_ERR_OUT_OF_MEMORY = -2,    /* the allocator returned NULL */
    CLG_ERR_PARSE = -3,            /* text that does not follow the grammar */
    CLG_ERR_INVALID_GRAPH = -4,    /* undefined or duplicate names, cycles, shape errors */
    CLG_ERR_UNSUPPORTED = -5,      /* a valid request clgraph cannot do (yet) */
    CLG_ERR_IO = -6,               /* a file could not be opened, read or written */
    CLG_ERR_FORMAT = -7,           /* a file's contents are malformed (.npy, weights) */
    CLG_ERR_OPENCL = -8,           /* an OpenCL or CLBlast call failed */
    CLG_ERR_DEVICE_NOT_FOUND = -9, /* no OpenCL device matches the request */
    CLG_ERR_OUT_OF_DEVICE_MEMORY = -10,
    CLG_ERR_BUILD = -11,           /* an OpenCL program failed to build */
    CLG_ERR_INTERNAL = -12         /* clgraph broke one of its own invariants: a bug in
                                    * clgraph to report, not a fault of the caller's */
} clg_status;

/* A static English name for a status ("CLG_ERR_PARSE: ..."); never NULL. */
CLG_API const char *clg_status_string(clg_status status);

/* ------------------------------------------------------------- allocator */

/* An allocator shaped like lua_Alloc. With new_size == 0 it frees ptr and
 * returns NULL; otherwise it behaves like realloc(ptr, new_size) and returns
 * NULL on failure (old_size is the size of ptr's block, 0 when ptr is NULL).
 * Every host allocation a graph makes goes through its allocator. */
typedef void *(*clg_alloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);

/* ---------------------------------------------------------------- tensors */

#define CLG_MAX_RANK 8
/* Symbolic dimensions. A dim below 0 is a size known only when the graph
 * runs, named by a symbol (N, S, ...) or a polynomial in symbols (N*S,
 * S+1) that shape inference derived. CLG_BATCH is the symbol N; any other
 * symbol's dim comes from clg_graph_symbol, and clg_graph_dim_str names
 * any dim. Symbols may stand in any position of any input; a run takes
 * their sizes from the inputs it is given. */
#define CLG_BATCH (-1)
/* Symbolic sizes in attribute lists: Reshape's and Expand's `shape` write a
 * size d as d - 1 (-1 there means "infer"), Slice's `starts` and `ends` as
 * CLG_INDEX_SYMBOLIC + d (negative indices there count from the back). */
#define CLG_INDEX_SYMBOLIC (-((int64_t)1 << 62))

/* Element types. Every value of a graph has one (clg_graph_input_dtype,
 * clg_graph_output_dtype). clgraph computes in fp32: integer and boolean
 * values are held on the device as exact floats (bool as 0 and 1), so an
 * integer is exact while its magnitude is at most 2^24 = 16777216; a
 * larger one passed in is an error (CLG_ERR_INVALID_ARGUMENT naming the
 * input, the element and its value), never a rounded value. F32 is 0, so a
 * zero-initialised clg_tensor is fp32. */
typedef enum clg_dtype {
    CLG_DTYPE_F32 = 0,  /* float:   "f32" in the text format */
    CLG_DTYPE_I64 = 1,  /* int64_t: "i64" */
    CLG_DTYPE_I32 = 2,  /* int32_t: "i32" */
    CLG_DTYPE_BOOL = 3, /* uint8_t, 0 or 1 (any non-zero byte reads as 1): "bool" */
    /* IEEE 754 half precision, passed as its bits in uint16_t: "f16".
     * Every half is exactly a float, so f16 values are held and computed
     * as floats (f32 arithmetic, whatever the device); an f16 input is
     * widened exactly on the host and an f16 output rounded to the nearest
     * half on the host (ties to even, beyond 65504 in magnitude +-inf, NaN
     * stays NaN). Ops on f16 values compute f32 values, except those that
     * only move values (Reshape, Transpose, Concat, Gather, ...), which
     * keep f16, and Cast to f16, which rounds each value to half
     * precision. For graph inputs, outputs and constants; buffer runs
     * (clg_model_run_buffers) take f32 only. */
    CLG_DTYPE_F16 = 4
} clg_dtype;

/* The largest integer magnitude an integer value can hold exactly: 2^24. */
#define CLG_MAX_EXACT_INT 16777216

/* The text-format name of a dtype ("f32", "i64", "i32", "bool", "f16"), or NULL. */
CLG_API const char *clg_dtype_name(clg_dtype dtype);

/* Bytes per element of a dtype (4, 8, 4, 1, 2), 0 for an unknown one. */
CLG_API size_t clg_dtype_size(clg_dtype dtype);

/* IEEE half precision for f16 tensors: a half's bits to the float it is
 * (exact), and a float to the nearest half's bits (round to nearest, ties
 * to even; beyond 65504 in magnitude, from 65520 on, +-inf; NaN stays NaN)
 * -- the conversions clgraph itself uses at an f16 tensor's edges. */
CLG_API float clg_half_to_float(uint16_t h);
CLG_API uint16_t clg_float_to_half(float f);

/* A dense, C-ordered tensor in host memory. The data is always the
 * caller's (borrowed), except for tensors filled by clg_graph_read_npy.
 * data points to elements of type dtype: with dtype F32 (0, what every
 * initialiser that leaves dtype out gives) floats, as before dtype existed;
 * with I64, I32, BOOL or F16 it points to int64_t, int32_t, uint8_t or
 * uint16_t (half bits) elements, cast to float * (`(float *)ids`), and is
 * never read as floats. */
typedef struct clg_tensor {
    float *data;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    /* Added last, so that an initialiser written before it existed,
     * { data, rank, { dims } }, still compiles and means F32 (compilers'
     * -Wmissing-field-initializers then asks for the fourth value). The
     * struct grew by 8 bytes: code built against the older header must be
     * rebuilt (an array of clg_tensor has another stride). */
    clg_dtype dtype;
} clg_tensor;

/* ---------------------------------------------------------------- the ops */

typedef enum clg_op {
    CLG_OP_INPUT,
    CLG_OP_CONSTANT,
    CLG_OP_GEMM,
    CLG_OP_MATMUL,
    CLG_OP_CONV2D,
    CLG_OP_BATCHNORM,
    CLG_OP_ADD,
    CLG_OP_SUB,
    CLG_OP_MUL,
    CLG_OP_DIV,
    CLG_OP_RELU,
    CLG_OP_LEAKY_RELU,
    CLG_OP_SIGMOID,
    CLG_OP_TANH,
    CLG_OP_CLIP,
    CLG_OP_GELU,
    CLG_OP_SOFTMAX,
    CLG_OP_MAXPOOL,
    CLG_OP_AVERAGEPOOL,
    CLG_OP_GLOBALAVERAGEPOOL,
    CLG_OP_FLATTEN,
    CLG_OP_RESHAPE,
    CLG_OP_TRANSPOSE,
    CLG_OP_CONCAT,
    CLG_OP_IDENTITY,
    CLG_OP_ELEMENTWISE, /* fused elementwise: attribute expr over inputs x0..x15 */
    CLG_OP_PAD,         /* ONNX Pad: constant, reflect or edge, on any axis */
    CLG_OP_SLICE,
    CLG_OP_EXPAND,
    CLG_OP_TILE,
    CLG_OP_DEPTH_TO_SPACE,
    CLG_OP_SPACE_TO_DEPTH,
    /* reductions over attribute axes (all when empty), keepdims */
    CLG_OP_REDUCE_MEAN,
    CLG_OP_REDUCE_SUM,
    CLG_OP_REDUCE_MAX,
    CLG_OP_REDUCE_MIN,
    CLG_OP_REDUCE_PROD,
    CLG_OP_REDUCE_L1,
    CLG_OP_REDUCE_L2,
    CLG_OP_REDUCE_SUM_SQUARE,
    CLG_OP_REDUCE_LOG_SUM,
    CLG_OP_REDUCE_LOG_SUM_EXP,
    CLG_OP_LAYER_NORM,  /* normalise over the dims from axis, then scale and bias */
    CLG_OP_LOG_SOFTMAX,
    CLG_OP_GATHER,      /* ONNX Gather: data, integer indices, attribute axis */
    CLG_OP_CAST,        /* ONNX Cast between f32, i64, i32 and bool: attribute to */
    CLG_OP_GATHER_ELEMENTS, /* ONNX GatherElements: data, integer indices of its rank, axis */
    CLG_OP_ATTENTION,   /* softmax(scale * Q·KT + mask)·V in one kernel (fuse-attention) */
    CLG_OP_TRILU,       /* ONNX Trilu: keep the upper or lower triangle of the last two dims */
    CLG_OP_RESIZE,      /* ONNX Resize/Upsample of the last two dims: nearest, (bi)linear or (bi)cubic */
    CLG_OP_CONV_TRANSPOSE, /* ONNX ConvTranspose, two spatial dims */
    CLG_OP_ARGMAX,      /* ONNX ArgMax/ArgMin: the index (i64) of the largest/smallest along axis */
    CLG_OP_ARGMIN,
    CLG_OP_RANGE,       /* ONNX Range: start, start + delta, ... of a length that may be symbolic */
    CLG_OP_COUNT
} clg_op;

/* The op's name as written in the text format ("Gemm"), or NULL. */
CLG_API const char *clg_op_name(clg_op op);

/* --------------------------------------------------------------- attributes */

typedef enum clg_attr_kind { CLG_ATTR_INT, CLG_ATTR_FLOAT, CLG_ATTR_INTS, CLG_ATTR_STRING } clg_attr_kind;

/* Pad's pads: a begin and an end per dim of a rank-8 tensor. */
#define CLG_MAX_ATTR_INTS (2 * CLG_MAX_RANK)

/* One attribute for clg_graph_add_node. Names and meanings follow ONNX
 * (docs/ir.md lists them per op); name and s are borrowed for the call (the
 * graph keeps its own copy of a string). */
typedef struct clg_attr {
    const char *name;
    clg_attr_kind kind;
    int count;                        /* number of ints for CLG_ATTR_INTS */
    int64_t ints[CLG_MAX_ATTR_INTS];  /* ints[0] for CLG_ATTR_INT */
    float f;                          /* for CLG_ATTR_FLOAT */
    const char *s;                    /* for CLG_ATTR_STRING: NUL-terminated, at most 1023 bytes */
} clg_attr;

/* ------------------------------------------------------------------ graphs */

typedef struct clg_graph clg_graph;

/* Creates an empty graph. alloc may be NULL for the C library's allocator;
 * user is passed to alloc untouched. Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT
 * (out is NULL) or CLG_ERR_OUT_OF_MEMORY. The caller owns *out. */
CLG_API clg_status clg_graph_create(clg_graph **out, clg_alloc_fn alloc, void *user);

/* Releases the graph and everything it owns. NULL is a no-op. */
CLG_API void clg_graph_destroy(clg_graph *g);

/* The message of the last error on g ("" when none). Owned by g, valid until
 * the next call on g. Never NULL, even for g == NULL. */
CLG_API const char *clg_graph_errmsg(const clg_graph *g);

/* Parses text in the clgraph text format (docs/ir.md) into g, which must be
 * empty. len is the text's length in bytes (the text need not be
 * NUL-terminated). base_dir is where a `weights "file"` statement's relative
 * path is resolved (NULL: the current directory). On error g is left empty.
 * Returns CLG_OK, CLG_ERR_PARSE, CLG_ERR_INVALID_GRAPH, CLG_ERR_IO,
 * CLG_ERR_FORMAT, CLG_ERR_OUT_OF_MEMORY or CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_graph_parse(clg_graph *g, const char *text, size_t len, const char *base_dir);

/* Reads and parses a text-format file; a sidecar weights file is looked up
 * next to it. A file whose name ends in .onnx (any case) or whose first
 * byte is 0x08 (a ModelProto's ir_version tag, which no text model starts
 * with) is read with clg_graph_load_onnx instead. Statuses as
 * clg_graph_parse, plus CLG_ERR_UNSUPPORTED for ONNX files. */
CLG_API clg_status clg_graph_load(clg_graph *g, const char *path);

/* ---- ONNX models (docs/onnx.md lists the ops, opsets 9 to 21, and limits) */

/* Imports an ONNX model, a serialized ModelProto of len bytes, into g,
 * which must be empty. data is borrowed for the call; every value the
 * graph needs is copied (initializers become constants owned by g). Graph
 * inputs must be FLOAT, INT64, INT32 or BOOL tensors (the last three become
 * I64, I32 and BOOL inputs) of rank 1 to 8; any dim may be symbolic: a
 * symbolic first dim (a dim_param, 0 or unset) is the batch N, another
 * dim_param a symbol of that name shared by the inputs that use it, an
 * unnamed one a size of its own. Initializers listed as graph inputs are
 * constants.
 * Shape arithmetic (Shape, Gather, Concat, ...) is folded at import; names
 * are mapped to valid clgraph names as docs/onnx.md describes. Messages
 * name the ONNX node, its op type and the opset ("node /layer1/Conv (Conv,
 * opset 13): auto_pad 'FOO' is not supported"). On error g is left empty.
 * Returns CLG_OK, CLG_ERR_FORMAT (not a ModelProto, truncated, tensor data
 * of the wrong size, negative dims), CLG_ERR_UNSUPPORTED (an op, attribute
 * value, data type or opset clgraph does not import), CLG_ERR_INVALID_GRAPH
 * (undefined or duplicate names, cycles, shape errors),
 * CLG_ERR_OUT_OF_MEMORY or CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_graph_parse_onnx(clg_graph *g, const void *data, size_t len);

/* Reads an ONNX file and imports it as clg_graph_parse_onnx does; the
 * message starts with the path. Also CLG_ERR_IO. clg_graph_load calls this
 * for files whose name ends in .onnx or whose contents start like a
 * ModelProto. */
CLG_API clg_status clg_graph_load_onnx(clg_graph *g, const char *path);

/* Prints g in the canonical text format. *text is NUL-terminated, allocated
 * with g's allocator and freed by the caller with clg_graph_free(g, *text).
 * len may be NULL. print(parse(print(x))) == print(x). Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_print(clg_graph *g, char **text, size_t *len);

/* Frees memory that g's functions handed to the caller. NULL is a no-op. */
CLG_API void clg_graph_free(clg_graph *g, void *ptr);

/* ---- the builder: values are named; a node's inputs must already exist.
 * Every builder function below returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (a NULL pointer or bad rank),
 * CLG_ERR_INVALID_GRAPH (a bad or duplicate name, an undefined input, an
 * unknown attribute, a shape that does not check) or CLG_ERR_OUT_OF_MEMORY;
 * on error nothing is added and clg_graph_errmsg says why. */

/* Adds a graph input. dims[0] may be CLG_BATCH. */
CLG_API clg_status clg_graph_add_input(clg_graph *g, const char *name, int rank, const int64_t *dims);

/* Adds a constant; data (the product of dims floats) is copied. */
CLG_API clg_status clg_graph_add_constant(clg_graph *g, const char *name, int rank,
                                          const int64_t *dims, const float *data);

/* Adds a graph input whose values have element type dtype (the caller
 * passes tensors of that dtype to clg_model_run and
 * clg_graph_run_reference). clg_graph_add_input is this with F32. An
 * unknown dtype is CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_graph_add_input_typed(clg_graph *g, const char *name, clg_dtype dtype,
                                             int rank, const int64_t *dims);

/* Adds a constant of element type dtype; data points to the product of
 * dims elements of that type (int64_t for I64, half bits in uint16_t for
 * F16, ...), copied. An integer above 2^24 in magnitude is
 * CLG_ERR_INVALID_ARGUMENT naming the element. */
CLG_API clg_status clg_graph_add_constant_typed(clg_graph *g, const char *name, clg_dtype dtype,
                                                int rank, const int64_t *dims, const void *data);

/* Adds a node of op (not INPUT or CONSTANT) computing the value `name` from
 * the named inputs, infers its shape and checks it. Attributes that are not
 * given keep their ONNX defaults. On error nothing is added and the message
 * names the node and its op. */
CLG_API clg_status clg_graph_add_node(clg_graph *g, clg_op op, const char *name,
                                      const char *const *inputs, int n_inputs,
                                      const clg_attr *attrs, int n_attrs);

/* Marks a value as a graph output, in call order. */
CLG_API clg_status clg_graph_add_output(clg_graph *g, const char *name);

/* ---- inspection */

/* Counts; 0 for a NULL graph. */
CLG_API int clg_graph_node_count(const clg_graph *g);
CLG_API int clg_graph_input_count(const clg_graph *g);
CLG_API int clg_graph_output_count(const clg_graph *g);

/* Describes node i (0 <= i < node_count) in topological order. Any out
 * pointer may be NULL. *name is owned by g. Dims may be symbolic (< 0).
 * Returns CLG_OK or CLG_ERR_INVALID_ARGUMENT (no such node). */
CLG_API clg_status clg_graph_node_info(const clg_graph *g, int i, clg_op *op, const char **name,
                                       int *rank, int64_t dims[CLG_MAX_RANK]);

/* Element type of node i (0 <= i < node_count). Returns CLG_OK or
 * CLG_ERR_INVALID_ARGUMENT (no such node, or dtype is NULL). */
CLG_API clg_status clg_graph_node_dtype(const clg_graph *g, int i, clg_dtype *dtype);

/* Name and declared shape of the i-th graph input (dims may be symbolic).
 * Returns CLG_OK or CLG_ERR_INVALID_ARGUMENT (no such input). */
CLG_API clg_status clg_graph_input_info(const clg_graph *g, int i, const char **name, int *rank,
                                        int64_t dims[CLG_MAX_RANK]);

/* Element type of the i-th graph input / output: the dtype of the tensor
 * the caller passes for it (clg_tensor.dtype) to clg_model_run and
 * clg_graph_run_reference. Outputs are F32 unless the graph's output value
 * is an integer or bool value (a Gather of an integer input, a Cast).
 * Returns CLG_OK or CLG_ERR_INVALID_ARGUMENT (no such input or output, or
 * dtype is NULL). */
CLG_API clg_status clg_graph_input_dtype(const clg_graph *g, int i, clg_dtype *dtype);
CLG_API clg_status clg_graph_output_dtype(const clg_graph *g, int i, clg_dtype *dtype);

/* Name and concrete shape of the i-th output when the batch N is `batch`
 * (ignored when the graph has no symbolic batch). A graph with symbols
 * other than N needs clg_graph_output_shape. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT (no such output, a batch below 1, a batch that
 * makes a tensor too large, other symbols) or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_output_info(clg_graph *g, int i, int64_t batch, const char **name,
                                         int *rank, int64_t dims[CLG_MAX_RANK]);

/* The concrete shape of the i-th output for these inputs (only their rank,
 * dims and non-NULL data are read), as clg_model_run would produce it.
 * Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (no such output, inputs that do
 * not fit the graph: the message names the input, the dimension and both
 * sizes) or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_output_shape(clg_graph *g, int i, const clg_tensor *inputs, int n_inputs,
                                          int *rank, int64_t dims[CLG_MAX_RANK]);

/* The dim that stands for the symbol `name` (a letter or _, then letters,
 * digits or _; at most 32 characters), made if g has none of that name yet: use it in an input's
 * dims. "N" gives CLG_BATCH. Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (a bad
 * name), CLG_ERR_UNSUPPORTED (more than 64 symbols) or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_symbol(clg_graph *g, const char *name, int64_t *dim);

/* Writes dim as text into buf ("128", "S", "N*S", "2*S+1"; "?" for a code g
 * does not hold) and returns buf. */
CLG_API const char *clg_graph_dim_str(const clg_graph *g, int64_t dim, char *buf, size_t size);

/* ---- optimization (the graph compiler) */

/* Optimization levels: 0 none, 1 folding and cleanup (dead code, Identity
 * removal, constant folding, BatchNorm folding), 2 everything (also
 * elementwise fusion into generated kernels and GEMM epilogues). */
#define CLG_OPT_DEFAULT 2

/* Called after each pass that ran, with the graph as that pass left it. */
typedef void (*clg_pass_fn)(void *user, const char *pass, const clg_graph *g);

/* Rewrites g in place so it computes the same outputs (within fp32
 * rounding) with fewer nodes. Output names and input names are kept.
 * after_pass may be NULL. Returns CLG_OK, CLG_ERR_OUT_OF_MEMORY or
 * CLG_ERR_INVALID_ARGUMENT; after an error g may be partly optimized but
 * is still a valid graph computing the same outputs. */
CLG_API clg_status clg_graph_optimize(clg_graph *g, int level, clg_pass_fn after_pass, void *user);

/* The passes in the order they run, with the level each needs; NULL past
 * the last. For --dump-after. */
CLG_API const char *clg_pass_name(int i, int *level);

/* A new graph equal to g, with g's allocator; the caller owns *out.
 * Constant data is shared by reference count, never edited in place.
 * Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_clone(const clg_graph *g, clg_graph **out);

/* Writes g as text to path and, when g holds constants that no generator
 * describes (folded weights, imported models), their values to the sidecar
 * weights file path + ".bin" (named by a weights statement, relative to
 * the text file). clg_graph_load reads both back. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT, CLG_ERR_IO or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_save(clg_graph *g, const char *path);

/* Graphviz text for g: one box per node (a fused node lists what it
 * computes), edges labelled with shapes. *text is allocated with g's
 * allocator; free it with clg_graph_free. len may be NULL. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_dot(clg_graph *g, char **text, size_t *len);

/* ---- the reference executor */

/* Runs g on the host with plain C loops, accumulating in double where sums
 * are long. It is the oracle every device result is checked against, built
 * for correctness, not speed. inputs[i] must have the shape and the dtype
 * of graph input i (clg_graph_input_dtype), with one batch size shared by
 * all inputs; integer elements must be at most 2^24 in magnitude.
 * outputs[i].dtype must be output i's dtype (clg_graph_output_dtype: F32
 * unless the graph computes an integer or bool output) and outputs[i].data
 * point to room for output i in that type, whose rank and dims the call
 * writes. Integer outputs are converted from the exact floats computed; a
 * bool output is 1 where the value is non-zero. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT (wrong count, NULL data, a shape or dtype that
 * does not match, an integer input that is not exact as a float: the
 * message names the input, the element and the value) or
 * CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_run_reference(clg_graph *g, const clg_tensor *inputs, int n_inputs,
                                           clg_tensor *outputs, int n_outputs);

/* ---- .npy files (NumPy format 1.0–3.0, little-endian, C order; float32,
 * float16, int64, int32 and bool elements) */

/* Reads a .npy file into *out; its data is allocated with g's allocator and
 * released with clg_graph_free_tensor. out->dtype is the file's element
 * type ('<f4' F32, '<f2' F16, '<i8' I64, '<i4' I32, '|b1' BOOL). If input_index >= 0
 * the shape is checked against that graph input (a symbolic dim matches
 * any size), and so is the dtype.
 * Returns CLG_OK, CLG_ERR_IO, CLG_ERR_FORMAT (not a C-order .npy of one of
 * those types, or truncated), CLG_ERR_INVALID_ARGUMENT (shape or dtype
 * mismatch) or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_graph_read_npy(clg_graph *g, const char *path, int input_index, clg_tensor *out);

/* Releases t->data from clg_graph_read_npy and clears t. NULL is a no-op. */
CLG_API void clg_graph_free_tensor(clg_graph *g, clg_tensor *t);

/* Writes t as a C-order .npy file of t->dtype's element type. */
CLG_API clg_status clg_graph_write_npy(clg_graph *g, const char *path, const clg_tensor *t);


/* ------------------------------------------------------------ OpenCL devices */

typedef enum clg_device_type {
    CLG_DEVICE_CPU = 1,
    CLG_DEVICE_GPU = 2,
    CLG_DEVICE_ACCELERATOR = 4,
    CLG_DEVICE_OTHER = 8
} clg_device_type;

/* What clgraph knows about one OpenCL device. Indices count devices across
 * all platforms in platform order, as `clgraph devices` lists them. */
typedef struct clg_device_info {
    int index;                 /* global index, what CLGRAPH_DEVICE=1 selects */
    int platform_index, device_index; /* what CLGRAPH_DEVICE=0:1 selects */
    char platform[128];        /* platform name */
    char name[128];            /* device name */
    char vendor[128];
    char driver[64];           /* driver version */
    char c_version[64];        /* OpenCL C version */
    clg_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    int fp16, fp64;            /* 1 when supported */
    int unified_memory;        /* 1 for host-shared memory (CPUs, integrated GPUs) */
    int is_default;            /* the device chosen when no spec is given */
} clg_device_info;

/* Lists every device of every OpenCL platform. Writes up to capacity
 * entries to out (which may be NULL with capacity 0) and the total to
 * *count. A machine with no OpenCL platform has 0 devices, not an error.
 * Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT, CLG_ERR_OUT_OF_MEMORY or
 * CLG_ERR_OPENCL. */
CLG_API clg_status clg_devices_list(clg_device_info *out, int capacity, int *count);

/* --------------------------------------------------------------- contexts */

/* A context is one OpenCL device with its context, in-order command queue,
 * program cache and settings (where caches and kernels live, how GEMMs run).
 * Models compiled in it share them. */
typedef struct clg_context clg_context;

/* Flags for clg_context_create and clg_context_create_ex. */
#define CLG_CONTEXT_PROFILING 1 /* a profiling queue, for per-node times */
#define CLG_CONTEXT_UNTUNED 2   /* do not apply the device's stored GEMM parameters
                                  * (see clg_tune); for A/B timing. Also what
                                  * CLGRAPH_TUNING=0 does */

/* Opens the device that spec selects: "gpu", "cpu", a global index ("1"),
 * "platform:device" ("0:1"), or a case-insensitive substring of the device
 * or platform name ("nvidia", "pthread"). spec NULL or "" reads the
 * CLGRAPH_DEVICE environment variable, and without it picks the first
 * discrete GPU, else any GPU, else a CPU. alloc may be NULL. The settings
 * come from the environment (see clg_context_options).
 * Like sqlite3_open, *out is set even on most failures so that
 * clg_context_errmsg can say why (a spec that matches nothing lists the
 * devices there are); the caller destroys it either way. *out is NULL only
 * when the context itself could not be allocated.
 * Returns CLG_OK, CLG_ERR_DEVICE_NOT_FOUND, CLG_ERR_OPENCL,
 * CLG_ERR_OUT_OF_MEMORY or CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_context_create(clg_context **out, const char *spec, int flags,
                                      clg_alloc_fn alloc, void *user);

/* Wraps an embedder's own cl_context and cl_command_queue (passed as
 * void * so this header does not need CL/cl.h). clgraph borrows them:
 * it retains nothing and never releases them; they must outlive the
 * context. The queue must be in-order. Statuses and *out as for
 * clg_context_create. */
CLG_API clg_status clg_context_create_borrowed(clg_context **out, void *cl_context,
                                               void *cl_command_queue, clg_alloc_fn alloc,
                                               void *user);

/* What a context reports about building OpenCL programs (its options'
 * on_build), for a caller that shows progress or logs compile times; the
 * library itself never prints.
 *   CLG_BUILD_START: a model's plan is about to build `count` programs
 *     from source (nothing else set), in parallel where it can.
 *   CLG_BUILD_DONE: one program is built or loaded: `file` (a kernels/
 *     file, "FILE+epilogue" or "generated:elementwise"), its `options`,
 *     the `node` that first needed it, `seconds` of clBuildProgram wall
 *     time, `from_source` (false: loaded from the disk cache), `index` of
 *     `count` in its START batch (both 0 outside one: a program built
 *     alone, e.g. while candidates are timed), and `trial` (built to time
 *     a candidate: a GEMM or convolution under CLGRAPH_GEMM=measure, or an
 *     Attention node's two ways).
 *   CLG_BUILD_SAVE: the context is about to write `count` programs'
 *     binaries to its disk cache (nothing else set). On PoCL this comes
 *     from clg_context_destroy, which saves then what was built from
 *     source (making a PoCL binary compiles every kernel again; docs/
 *     runtime.md, "Programs and the cache"), so on_build_user must still
 *     be valid when the context is destroyed.
 * The strings live only during the call. Calls may come from clgraph's
 * build threads, never two at a time, while the context is locked: the
 * callback must not call clgraph with the same context. */
typedef enum clg_build_event_kind { CLG_BUILD_START = 0, CLG_BUILD_DONE = 1, CLG_BUILD_SAVE = 2 } clg_build_event_kind;
typedef struct clg_build_event {
    clg_build_event_kind kind;
    const char *file, *options, *node;
    double seconds;
    int from_source, trial; /* 0 or 1 */
    int index, count;
} clg_build_event;
typedef void (*clg_build_fn)(const clg_build_event *event, void *user);

/* A context's settings, for clg_context_create_ex and
 * clg_context_create_borrowed_ex. Initialise with CLG_CONTEXT_OPTIONS_INIT
 * (every setting NULL, struct_size set), then set what you need. A NULL
 * setting takes its default from the environment, as clg_context_create
 * does; a setting given here wins over the environment. The strings are
 * copied; the context resolves every setting once, when it is created. */
typedef struct clg_context_options {
    size_t struct_size; /* sizeof(clg_context_options) in the caller's header */

    /* Where built program binaries, the measured GEMM choices and
     * clg_tune's parameter file are kept.
     *   NULL: CLGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/clgraph, else
     *     ~/.cache/clgraph, created if missing (a directory that cannot be
     *     created means no disk cache); CLGRAPH_CACHE=0 keeps programs and
     *     GEMM choices off the disk but still reads the parameter file there.
     *   "": no cache directory: nothing is read from or written to disk
     *     (programs and GEMM choices are kept in memory, no stored tuning is
     *     applied, and clg_tune fails with CLG_ERR_IO).
     *   a path: that directory, created (mode 0700) if missing; one that
     *     cannot be created is CLG_ERR_IO. */
    const char *cache_dir;

    /* Where the text of kernels/NAME.cl is read from.
     *   NULL: CLGRAPH_KERNEL_DIR when it is set, else the copies embedded
     *     in the library at build time.
     *   "": the embedded copies.
     *   a path: that directory, for kernel development without rebuilding;
     *     a kernel missing there fails the build that needs it
     *     (CLG_ERR_BUILD), it does not fall back to the embedded copy. A
     *     path that is not a directory is CLG_ERR_IO. */
    const char *kernel_dir;

    /* How GEMMs (Gemm, MatMul and convolutions) run.
     *   NULL: CLGRAPH_GEMM when it is set (unknown values are the
     *     default), else "default".
     *   "default": the choice the cache directory remembers for the shape
     *     (measured earlier), else the device class's default variant
     *     (docs/runtime.md, "Start-up"): nothing is timed, and a first run
     *     builds one program per kernel.
     *   "measure": for each GEMM shape nothing remembers, CLBlast and the
     *     generated kernels that can win on the device are timed once per
     *     device and the fastest is kept in the cache directory, where
     *     later "default" runs find it (docs/runtime.md, "Generated GEMMs").
     *   "clblast": always CLBlast.
     *   "generated": always a generated kernel, the variant that won on
     *     PoCL for the shape's transposes.
     *   "generated:NAME": variant NAME where it fits the GEMM ("p8x32",
     *     "d1x1v8", ...; a name ending in "t" for a convolution's flipped
     *     product, in "i" for its implicit GEMM, which reads the input in
     *     place without im2col, and a vector variant's in "w" ("n8x16w")
     *     for a pointwise convolution read in place), else as "generated".
     * Any other value is CLG_ERR_INVALID_ARGUMENT. The setting belongs to
     * the context because the measured choices it replaces are per device. */
    const char *gemm;

    /* Called around program builds (see clg_build_event), with on_build_user;
     * NULL: nothing is reported. */
    clg_build_fn on_build;
    void *on_build_user;
} clg_context_options;

#define CLG_CONTEXT_OPTIONS_INIT { sizeof(clg_context_options), NULL, NULL, NULL, NULL, NULL }

/* As clg_context_create, with options (NULL: all from the environment).
 * Also returns CLG_ERR_INVALID_ARGUMENT for options whose struct_size is 0
 * (not initialised with CLG_CONTEXT_OPTIONS_INIT), or larger than this
 * library's struct with a field it does not know set, and for an unknown
 * gemm value; CLG_ERR_IO for a cache_dir that cannot be created or a
 * kernel_dir that is not a directory. */
CLG_API clg_status clg_context_create_ex(clg_context **out, const char *spec, int flags,
                                         const clg_context_options *options, clg_alloc_fn alloc,
                                         void *user);

/* As clg_context_create_borrowed, with flags and options. flags may hold
 * CLG_CONTEXT_UNTUNED; CLG_CONTEXT_PROFILING is CLG_ERR_INVALID_ARGUMENT
 * (the borrowed queue's own properties decide). Options and statuses as for
 * clg_context_create_ex. */
CLG_API clg_status clg_context_create_borrowed_ex(clg_context **out, void *cl_context,
                                                  void *cl_command_queue, int flags,
                                                  const clg_context_options *options,
                                                  clg_alloc_fn alloc, void *user);

/* Releases the context and what it owns (not borrowed handles). NULL: no-op. */
CLG_API void clg_context_destroy(clg_context *ctx);

/* The last error of a call on ctx (creating it, clg_tune,
 * clg_context_tuning), including the OpenCL error name and build log where
 * they apply. Models never write it: their errors are in clg_model_errmsg.
 * Owned by ctx. Never NULL. */
CLG_API const char *clg_context_errmsg(const clg_context *ctx);

/* Describes the context's device. */
CLG_API clg_status clg_context_device(const clg_context *ctx, clg_device_info *info);

/* ----------------------------------------------------------------- models */

/* A graph compiled for one context's device: weights uploaded once,
 * activations in device memory, all nodes enqueued on one in-order queue. */
typedef struct clg_model clg_model;

/* Compiles g for ctx's device at CLG_OPT_DEFAULT (see clg_model_create_ex).
 * The model compiles its own optimized copy of g, so g may change or go
 * away afterwards (its allocator must stay usable until the model is
 * destroyed: the copy shares constant data with g). ctx is borrowed and
 * must outlive the model.
 * Like clg_context_create, *out is set even on failure, so that
 * clg_model_errmsg(*out) can say why (naming the node); the caller destroys
 * it either way, and a model whose creation failed cannot run. *out is NULL
 * only when out or ctx is NULL (CLG_ERR_INVALID_ARGUMENT) or the model
 * itself could not be allocated (CLG_ERR_OUT_OF_MEMORY). The context's
 * message is not touched. Returns CLG_OK, CLG_ERR_UNSUPPORTED,
 * CLG_ERR_BUILD, CLG_ERR_OPENCL, CLG_ERR_OUT_OF_DEVICE_MEMORY,
 * CLG_ERR_OUT_OF_MEMORY, CLG_ERR_INVALID_ARGUMENT or CLG_ERR_INTERNAL. */
CLG_API clg_status clg_model_create(clg_model **out, clg_context *ctx, clg_graph *g);

/* Options for clg_model_create_ex. Initialise with CLG_MODEL_OPTIONS_INIT,
 * then set what you need. (Fields are only added at the end, each making
 * the struct larger, so that struct_size tells the versions apart.) */
/* How a model holds and computes floating-point tensors on the device.
 * Graph inputs and outputs stay f32 at the API whichever is chosen (the
 * model converts at its edges); integer and bool tensors are unaffected. */
typedef enum clg_precision {
    CLG_PRECISION_FP32 = 0,         /* float everywhere (the default) */
    CLG_PRECISION_FP16_STORAGE = 1, /* activations and weights in half buffers, arithmetic in
                                       float: half the memory and traffic; needs no extension
                                       (vload_half/vstore_half are core OpenCL 1.2) */
    CLG_PRECISION_FP16 = 2          /* half storage, and half arithmetic where the kernel
                                       family has it (accumulations stay float); needs the
                                       device's cl_khr_fp16 (CLG_ERR_UNSUPPORTED otherwise) */
} clg_precision;

typedef struct clg_model_options {
    size_t struct_size; /* sizeof(clg_model_options) in the caller's header */
    int opt_level;      /* 0, 1 or 2 (CLG_OPT_DEFAULT) */
    clg_precision precision; /* added in 0.x: CLG_PRECISION_FP32 when an older caller's
                                struct ends before it */
} clg_model_options;

#define CLG_MODEL_OPTIONS_INIT { sizeof(clg_model_options), CLG_OPT_DEFAULT, CLG_PRECISION_FP32 }

/* "fp32", "fp16-storage" or "fp16" ("?" for a value outside the enum). */
CLG_API const char *clg_precision_name(clg_precision p);

/* As clg_model_create, with options (NULL: the defaults). The model
 * optimizes its own copy of g at opt_level (clg_graph_optimize); g itself
 * is not changed. Stats and profiles describe the optimized graph. An
 * Weights are converted to half once here at a half precision, rounding to
 * nearest even; a weight beyond half's range (65504) fails with
 * CLG_ERR_UNSUPPORTED naming the constant. A half precision on a graph
 * with integer tensors computed on the device (they would lose exactness
 * in half) is CLG_ERR_UNSUPPORTED naming the tensor, as is an op whose
 * kernels have no half variant yet (naming the node); CLG_PRECISION_FP16
 * on a device without cl_khr_fp16 is CLG_ERR_UNSUPPORTED naming the device
 * and the extension. A precision outside the enum, an
 * opt_level outside 0..2, a struct_size of 0 (options not initialised with
 * CLG_MODEL_OPTIONS_INIT), or a struct_size larger than this library's
 * struct with a field it does not know set, is CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_model_create_ex(clg_model **out, clg_context *ctx, clg_graph *g,
                                       const clg_model_options *options);

/* Releases the model's device memory and kernels. NULL is a no-op. */
CLG_API void clg_model_destroy(clg_model *m);

/* The last error of a call on m (clg_model_create, clg_model_run,
 * clg_model_profile): "" after a call that succeeded. Each model has its
 * own, so models sharing a context, in one thread or several, never see
 * each other's errors. Owned by m. Never NULL. */
CLG_API const char *clg_model_errmsg(const clg_model *m);

/* Runs the model: copies the inputs to the device, enqueues every node with
 * no host synchronisation between them, reads the outputs back and waits
 * once. Inputs and outputs as for clg_graph_run_reference (integer and bool
 * inputs are converted to exact floats on the host before the upload,
 * integer and bool outputs back after the download). An index out of range
 * in a Gather or GatherElements fails the run with
 * CLG_ERR_INVALID_ARGUMENT naming the node (the device clamped it; the
 * outputs are then not valid). New sizes (the batch N or any other
 * symbolic size the inputs give) re-plan device memory; the same sizes
 * reuse the plan. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT (counts, NULL data, a shape that does not
 * match), CLG_ERR_OUT_OF_DEVICE_MEMORY (the batch does not fit),
 * CLG_ERR_OPENCL, CLG_ERR_BUILD, CLG_ERR_UNSUPPORTED, CLG_ERR_OUT_OF_MEMORY
 * or CLG_ERR_INTERNAL; clg_model_errmsg says why. A model whose creation
 * failed returns CLG_ERR_INVALID_ARGUMENT and keeps its message. */
CLG_API clg_status clg_model_run(clg_model *m, const clg_tensor *inputs, int n_inputs,
                                 clg_tensor *outputs, int n_outputs);

/* ---- device-resident inputs and outputs */

/* A dense, C-ordered f32 tensor in an OpenCL buffer the caller owns: mem is
 * a cl_mem (passed as void *, like clg_context_create_borrowed's handles)
 * of the model's context, borrowed for the call (clgraph retains nothing),
 * and the tensor's first element sits offset bytes into it. For an output,
 * rank and dims are written by the run, as for clg_tensor. dtype must be
 * the graph's dtype for that input or output, and F32: clgraph holds
 * integer, bool and f16 values on the device as exact floats, so their
 * runs go through clg_model_run, which converts on the host (an f16 input
 * or output here is CLG_ERR_UNSUPPORTED naming it). */
typedef struct clg_buffer {
    void *mem;       /* cl_mem */
    size_t offset;   /* bytes from the buffer's start */
    int rank;
    int64_t dims[CLG_MAX_RANK];
    clg_dtype dtype; /* CLG_DTYPE_F32 (0) */
} clg_buffer;

/* Runs the model on tensors that live in OpenCL buffers, with no host
 * round trip: the inputs are copied device-to-device (clEnqueueCopyBuffer)
 * into the model's activation memory, every node is enqueued, and the
 * outputs are copied into the caller's buffers, all on the context's queue
 * (the caller's own queue for a borrowed context). Copies rather than
 * binding the caller's buffers to the kernels: the kernels' arguments are
 * set once per plan, and the memory plan may reuse an input's memory for
 * later values, which would overwrite the caller's buffer. An input and an
 * output may therefore be the same memory (the input is read before any
 * output is written); two outputs must not overlap.
 *
 * wait_events points to n_wait cl_event values (NULL when n_wait is 0):
 * nothing of the run starts before they complete (events of other queues,
 * or user events, work too; the queue's own earlier commands come first
 * anyway, as it is in-order). An event that has already failed (a negative
 * execution status) is refused before anything is enqueued; what an event
 * that fails later does to the commands behind it is the OpenCL
 * implementation's choice (a waiting call then reports it).
 *
 * event_out is NULL, or the address of a cl_event:
 *   - NULL: the call returns when the outputs are written, as clg_model_run
 *     does (it waits for the queue with clFinish), and an index out of
 *     range in a Gather or GatherElements is reported as clg_model_run
 *     reports it.
 *   - a cl_event *: the call returns once everything is enqueued and sets
 *     *event_out to an event that completes when every output is written;
 *     the caller releases it (clReleaseEvent). The caller's kernels may
 *     then follow on the same queue, or on another one waiting for the
 *     event. Indices out of range are clamped by the device without a
 *     report in this mode (pass NULL, or use clg_model_run, to check). The
 *     model's memory is in use until the event completes: a later run of
 *     the same model queues behind it (one in-order queue), so nothing
 *     needs to wait in between. On an error *event_out is set to NULL and
 *     whatever was enqueued is finished before the call returns.
 *
 * The buffers are checked before anything is enqueued: each must be a
 * buffer (clGetMemObjectInfo) of the model's context (CL_MEM_CONTEXT)
 * holding the tensor from its offset (CL_MEM_SIZE); the message names the
 * input or output and gives both sizes. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT (counts, a NULL mem or a cl_mem that is not a
 * buffer, a buffer of another context or too small for the tensor, a shape,
 * rank or dtype that does not match, a NULL wait_events with n_wait > 0,
 * an index out of range when waiting), CLG_ERR_UNSUPPORTED (a graph input
 * or output that is not f32), CLG_ERR_OUT_OF_DEVICE_MEMORY, CLG_ERR_OPENCL
 * (also an event in wait_events that is invalid or failed, named by its index), CLG_ERR_BUILD,
 * CLG_ERR_OUT_OF_MEMORY or CLG_ERR_INTERNAL; clg_model_errmsg says why. */
CLG_API clg_status clg_model_run_buffers(clg_model *m, const clg_buffer *inputs, int n_inputs,
                                         clg_buffer *outputs, int n_outputs,
                                         const void *wait_events, int n_wait, void *event_out);

/* Costs and sizes of the current plan. */
typedef struct clg_model_stats {
    int64_t batch;              /* batch of the current plan (1 after create: the model plans
                                   batch 1 up front, so every program is built there) */
    int launches_per_inference; /* kernels enqueued, each CLBlast call counted as one */
    uint64_t activation_bytes;  /* device memory for activations and scratch */
    uint64_t weight_bytes;      /* device memory for constants */
    double build_ms;            /* program builds (cache hits included) at create */
    double upload_ms;           /* weight upload at create */
    uint64_t prepared_bytes;    /* device memory the current plan holds for constants in
                                   another layout (GEMM weights packed for the kernel) */
} clg_model_stats;

/* Fills *stats for the current plan. Returns CLG_OK or CLG_ERR_INVALID_ARGUMENT. */
CLG_API clg_status clg_model_stats_get(const clg_model *m, clg_model_stats *stats);

/* Device time of each node in the last run, from OpenCL profiling events;
 * needs a context created with CLG_CONTEXT_PROFILING. Writes up to capacity
 * entries, slowest first, and the number of timed nodes to *count. */
typedef struct clg_node_time {
    const char *node; /* a node of the model's optimized graph, owned by the model */
    clg_op op;
    int launches;
    double ms;
} clg_node_time;

/* Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (no profiling queue, or no run
 * yet), CLG_ERR_OPENCL or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_model_profile(clg_model *m, clg_node_time *times, int capacity, int *count);

/* ---------------------------------------------------------------- bundles */

/* An AOT bundle (docs/bundle.md) is one file holding a created model as it
 * stands: its optimized graph and weights, the decisions its plans made
 * (GEMM choices, Attention fused or not), and the OpenCL programs it built,
 * as binaries for its device with their sources beside them. Loading one
 * compiles and measures nothing when it meets the same device, driver and
 * clgraph version; elsewhere it builds the programs from the sources it
 * carries and clg_model_note says so. The format is versioned; every
 * section is checksummed. */

/* Writes m to path, replacing it atomically. Every plan the model holds
 * contributes its decisions and programs: run m once at each size the
 * bundle should serve (batch 1 is planned at create) before saving, also
 * because a driver that compiles kernels at their first launch (PoCL)
 * carries those compiled kernels in the binaries only once they have run.
 * Returns CLG_OK, CLG_ERR_INVALID_ARGUMENT (m not created, path NULL or
 * empty), CLG_ERR_IO or CLG_ERR_OUT_OF_MEMORY, with the cause in
 * clg_model_errmsg(m). */
CLG_API clg_status clg_model_save_bundle(clg_model *m, const char *path);

/* Creates a model on ctx from the bundle at path. As clg_model_create,
 * *out is set even on failure (the caller destroys it either way) so that
 * clg_model_errmsg(*out) says why; ctx is borrowed and must outlive the
 * model. The bundle's GEMM choices are added to ctx (other models on it
 * may use them) and its programs to ctx's in-memory program cache.
 * Returns CLG_OK; CLG_ERR_IO (unreadable); CLG_ERR_FORMAT for a damaged,
 * truncated or foreign file, or another format version (the message names
 * the section and its file offset); CLG_ERR_BUILD when a program must be
 * rebuilt and fails; and the statuses of clg_model_create. */
CLG_API clg_status clg_model_load_bundle(clg_model **out, clg_context *ctx, const char *path);

/* As clg_model_load_bundle from len bytes at data, which are borrowed for
 * the call only (the model copies what it keeps). */
CLG_API clg_status clg_model_load_bundle_memory(clg_model **out, clg_context *ctx, const void *data, size_t len);

/* The model's optimized graph, owned by the model (valid until it is
 * destroyed; never change it: clone it with clg_graph_clone to run the
 * reference executor or read .npy inputs against it). NULL when m is NULL
 * or its creation failed. */
CLG_API const clg_graph *clg_model_graph(const clg_model *m);

/* The precision m runs at: its options' for a created model, the one
 * recorded in the bundle for a loaded one (CLG_PRECISION_FP32 when m is
 * NULL or its creation failed). */
CLG_API clg_precision clg_model_precision(const clg_model *m);

/* A note on how the model was made, "" when there is none: for a bundle
 * opened on another device, driver or clgraph version, which and how many
 * programs were rebuilt from source. Owned by m. Never NULL. */
CLG_API const char *clg_model_note(const clg_model *m);

/* ----------------------------------------------------------------- tuning */

/* clgraph runs each GEMM (Gemm, MatMul and convolutions) either as one of
 * its generated kernels (kernels/gemm.cl) or through CLBlast, whichever
 * measured faster for that shape on the device (clg_context_options.gemm
 * can force one). CLBlast's speed depends on kernel parameters it ships
 * tuned for common GPUs only; elsewhere (CPUs through PoCL, new GPUs) it
 * uses generic ones, 4x slower or worse. clg_tune searches parameters for
 * one device and stores the winners in a per-device file in the context's
 * cache directory (clg_context_options.cache_dir; by default
 * CLGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/clgraph, else ~/.cache/clgraph;
 * CLGRAPH_CACHE=0 does not turn this file off). Every context opened on
 * that device afterwards applies them, so every model gets them without
 * asking; nothing ever tunes implicitly. The file is keyed by platform,
 * device name and driver version and checked whole before use: a corrupt
 * file, one for another device or driver, or one from another CLBlast
 * version is ignored. CLGRAPH_TUNING=0 (or CLG_CONTEXT_UNTUNED) keeps
 * CLBlast's own parameters.
 *
 * CLBlast holds parameters per process and device, not per context: once a
 * context has applied them (or clg_tune has run), every context in the
 * process on that device uses them, CLG_CONTEXT_UNTUNED ones included. */

typedef enum clg_tune_level {
    CLG_TUNE_QUICK = 0, /* a few hundred sampled configurations: minutes */
    CLG_TUNE_FULL = 1   /* a few thousand, larger problems: tens of minutes */
} clg_tune_level;

#define CLG_TUNE_MAX_SHAPES 12

/* One GEMM shape the tune timed through CLBlast's GEMM routine, row-major
 * C[m×n] = A[m×k]·B (B[n×k] transposed when trans_b, as a Dense layer). */
typedef struct clg_tune_shape {
    int64_t m, n, k;
    int trans_b;
    double before_gflops; /* with the parameters in effect when the tune began */
    double after_gflops;  /* with the parameters it stored */
} clg_tune_shape;

/* What is known about a device's tuning. */
typedef struct clg_tune_info {
    int tuned;             /* 1: a valid parameter file for the device exists */
    int applied;           /* 1: this process runs the device with it */
    char status[256];      /* one line: "tuned", "no parameter file", "ignored: ..." */
    char path[1024];       /* the parameter file ("" without a cache directory) */
    int64_t created;       /* when it was tuned, Unix time */
    char level[16];        /* "quick" or "full" */
    double seconds;        /* how long the tune took */
    int n_shapes;
    clg_tune_shape shapes[CLG_TUNE_MAX_SHAPES];
    char parameters[2048]; /* one line per kernel the file overrides (the rest keep
                              CLBlast's own): "Xgemm GEMMK=0 KREG=1 ..." */
} clg_tune_info;

/* Reads the tuning state of a device from clg_devices_list without opening
 * it, from the cache directory the environment names (a context's
 * cache_dir option applies to clg_context_tuning only); info->applied is
 * always 0 here. A missing or invalid file is not an
 * error: info->tuned is 0 and info->status says why. Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT or CLG_ERR_OUT_OF_MEMORY. */
CLG_API clg_status clg_device_tuning(const clg_device_info *device, clg_tune_info *info);

/* As clg_device_tuning for ctx's device and ctx's cache directory, with
 * info->applied set. */
CLG_API clg_status clg_context_tuning(const clg_context *ctx, clg_tune_info *info);

/* Progress of clg_tune, for a status line. */
typedef struct clg_tune_progress {
    const char *stage;      /* "Xgemm", "XgemmDirect", "Copy", ..., "GEMM routine" */
    int stage_index;        /* 1-based */
    int stage_count;
    int done, total;        /* configurations or timings; total may grow within a stage */
    double best;            /* best so far in the stage, in unit (0: none yet) */
    const char *unit;       /* "GFLOP/s", or "GB/s" for the copy kernels */
    double elapsed_s;       /* since clg_tune began */
} clg_tune_progress;

/* Called from clg_tune's thread; p is valid during the call only. */
typedef void (*clg_tune_progress_fn)(void *user, const clg_tune_progress *p);

/* Searches CLBlast's GEMM parameters for ctx's device, stores what is
 * faster than the parameters in effect and applies it in this process.
 * Stages: CLBlast's kernel tuners (clblast_tuner_* from Debian's
 * clblast-utils, found on PATH or in $CLGRAPH_CLBLAST_TUNERS) sample the
 * copy, transpose, direct-GEMM and main GEMM kernels in child processes;
 * without them only a few built-in Xgemm configurations are tried. Then the
 * best few candidates are timed through CLBlast's whole GEMM routine on the
 * shapes models use (Dense layers at batch 1, 64 and 1024, square 512 and
 * 1024, a convolution), results checked against the host, and the size
 * where the GEMM routine switches from its direct kernel to the main one
 * is set from those timings. It blocks for minutes (QUICK) or tens of
 * minutes (FULL) and uses the whole device; models on it meanwhile still
 * compute correctly but at whatever parameters are being tried. It runs
 * child processes (fork and exec) for the tuners. progress may be NULL. result
 * (may be NULL) receives the outcome; result->tuned is 0 when nothing
 * faster was found: nothing is stored then, and CLBlast gets back the
 * parameters it had (also after an error). Returns CLG_OK,
 * CLG_ERR_INVALID_ARGUMENT, CLG_ERR_IO (no cache directory, or the file
 * could not be written), CLG_ERR_UNSUPPORTED (no configuration ran),
 * CLG_ERR_OPENCL, CLG_ERR_OUT_OF_DEVICE_MEMORY or CLG_ERR_OUT_OF_MEMORY,
 * with the cause in clg_context_errmsg(ctx). */
CLG_API clg_status clg_tune(clg_context *ctx, clg_tune_level level, clg_tune_progress_fn progress,
                            void *user, clg_tune_info *result);


#ifdef __cplusplus
}
#endif

#endif /* CLGRAPH_H */
