/* The OpenCL plumbing (runtime/cl/): contexts, errors, devices, programs and
 * kernel text. Plans, lowering and tuning build on it; it calls none of
 * them (CMake gives runtime/cl/ no include path to the other rooms). */
#ifndef CLG_RUNTIME_H
#define CLG_RUNTIME_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ir.h"

/* ---------------------------------------------------------------- context */

typedef struct clg_program_entry {
    uint64_t key; /* hash of file name, source and options */
    cl_program program;
    /* What it was built from (options with -cl-std), copies the context
     * owns, so that a bundle can carry the source beside the binary; NULL
     * when the copy could not be allocated (that program is then not
     * bundled). */
    char *file, *source, *options;
    /* Built from source and its binary not yet in the disk cache: saved by
     * clg_program_cache_flush (at clg_context_destroy) under disk_key,
     * when the context saves binaries then (CLG_SAVE_AT_DESTROY). */
    bool unsaved;
    uint64_t disk_key;
} clg_program_entry;

/* When a program built from source goes into the disk cache: right after
 * the build; at clg_context_destroy (PoCL compiles a work-group function
 * for every kernel to make a binary: program_cache.c, clg_program_cache_flush);
 * never (programs are still loaded from the cache; PoCL keeps its own). */
typedef enum clg_save_binaries { CLG_SAVE_AT_BUILD, CLG_SAVE_AT_DESTROY, CLG_SAVE_NEVER } clg_save_binaries;

struct clg_context {
    clg_allocator allocator;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cl;
    cl_command_queue queue;
    bool borrowed;  /* cl and queue belong to the embedder */
    bool profiling; /* queue has CL_QUEUE_PROFILING_ENABLE */
    clg_device_info info;
    /* Models built and run from several threads share the program cache:
     * lock guards programs and the counters. */
    pthread_mutex_t lock;
    clg_program_entry *programs; /* in-memory program cache */
    int n_programs, cap_programs;
    int cache_memory_hits, cache_disk_hits, cache_builds; /* clg_program_cache_stats */
    int cache_preset_binaries; /* programs a bundle preseeded from its binaries */
    /* GEMM choices a bundle carries, in the choice file's format ("M N K
     * TA TB USE VARIANT [GEOM]" lines), asked before the choice file; NULL:
     * none. Guarded by lock. gemm_measurements counts the decisions made by
     * timing candidates (GEMM choices and Attention), for tests. */
    char *preset_choices;
    atomic_int gemm_measurements;

    /* Settings, resolved once at creation from clg_context_options, else
     * from the environment (context.c, resolve_settings); read-only after. */
    char *cache_dir;  /* program binaries and GEMM choices; NULL: none (CLGRAPH_CACHE=0,
                         cache_dir "", or no directory could be made) */
    char *tuning_dir; /* where clg_tune's parameter file is read and written: the cache
                         directory even when CLGRAPH_CACHE=0; NULL: none (cache_dir "") */
    char *kernel_dir; /* kernels/NAME.cl read from here; NULL: the embedded copies */
    char *gemm_path;  /* how GEMMs run: NULL: the choice file, else the device class's
                         default (gemm/choice.c); "measure": the choice file, else timing;
                         "clblast"; "generated"; "generated:NAME" (NAME a variant, or a
                         packed one + "t" for a convolution's flipped product) */
    clg_save_binaries save_binaries; /* when the disk cache takes a program built from
                                 source (context.c, resolve_binaries) */
    int vector_width; /* floats per vector load in kernels that pick a width at lowering (the
                         GEMM variants' VW and VN): a GPU's (any non-CPU
                         device's) CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, a CPU's
                         CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (context.c says why), as a power
                         of two in 1..16; CLGRAPH_VECTOR_WIDTH overrides it (tests force each
                         width on any device) */
    clg_build_fn on_build; /* build events (clg_context_options.on_build); NULL: none */
    void *on_build_user;
    pthread_mutex_t build_report_lock; /* one on_build call at a time */

    char errmsg[16384];
};

/* ---------------------------------------------------------------- errors (cl_error.c) */

/* "CL_OUT_OF_RESOURCES" for -5, CLBlast's names for its own codes. */
CLG_INTERNAL const char *clg_cl_error_name(cl_int err);
/* The status an OpenCL error maps to: allocation failures become
 * CLG_ERR_OUT_OF_DEVICE_MEMORY, build failures CLG_ERR_BUILD, the rest
 * CLG_ERR_OPENCL. */
CLG_INTERNAL clg_status clg_cl_status(cl_int err);
/* Sets the message (where clg_ctx_errbuf says) and returns s. */
CLG_INTERNAL clg_status clg_ctx_fail(clg_context *ctx, clg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets "WHAT: CALL failed: CL_NAME (code)" and returns clg_cl_status(err). */
CLG_INTERNAL clg_status clg_ctx_cl_fail(clg_context *ctx, cl_int err, const char *call,
                                        const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A message about work on a context goes to the context's errmsg, unless
 * the calling thread has begun a capture for that context: then it goes to
 * the capture's buffer. A model captures around everything it does, so the
 * messages of the plan, lowering and program code it calls land in the
 * model's own message, and models sharing a context (in one thread or
 * several) never overwrite each other's or the context's. Captures nest;
 * each begin is paired with an end in the same function. */
typedef struct clg_error_capture {
    const clg_context *ctx;
    char *buf;
    size_t size;
    struct clg_error_capture *outer;
} clg_error_capture;
CLG_INTERNAL void clg_error_capture_begin(clg_error_capture *c, const clg_context *ctx, char *buf,
                                          size_t size);
CLG_INTERNAL void clg_error_capture_end(clg_error_capture *c);
/* Where the next message about ctx goes on this thread, and its size. */
CLG_INTERNAL char *clg_ctx_errbuf(clg_context *ctx, size_t *size);

/* Every call into CLBlast holds this process-wide lock (clblast_lock.c
 * says why). Not recursive: take it around the call only. */
CLG_INTERNAL void clg_clblast_lock(void);
CLG_INTERNAL void clg_clblast_unlock(void);

/* ---------------------------------------------------------------- devices (device.c) */

/* Fills info for (platform index, device index) handles. Best effort, for
 * listing: a query that fails leaves its field zero. */
CLG_INTERNAL void clg_device_describe(cl_platform_id p, cl_device_id d, clg_device_info *info);
/* Reads again, checking each query, the fields of info that plans are
 * built with (type, largest allocation, local memory): a context must not
 * plan with a zero that stands for a failed query. Returns CL_SUCCESS, or
 * the first error with the query's name in *what. */
CLG_INTERNAL cl_int clg_device_limits(cl_device_id d, clg_device_info *info, const char **what);
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
/* The same, naming node (may be NULL) in a failed build's message and in
 * the context's build events, trial marking a build for timing a GEMM
 * candidate. */
CLG_INTERNAL clg_status clg_program_get_for(clg_context *ctx, const char *file, const char *source,
                                            const char *options, const char *node, bool trial,
                                            cl_program *out);
/* The program if it is built already (memory) or in the disk cache (then
 * loaded); *out NULL otherwise, with CLG_OK: nothing is built. */
CLG_INTERNAL clg_status clg_program_find(clg_context *ctx, const char *file, const char *source,
                                         const char *options, const char *node, cl_program *out);

/* One program for clg_programs_build: what clg_program_get takes, the
 * node that asked for it (for messages), and the program once built. */
typedef struct clg_build_req {
    const char *file, *source, *options, *node;
    cl_program program; /* out: owned by the context, as clg_program_get's */
} clg_build_req;
/* Builds reqs from source at once, on as many threads as there are cores
 * (each clBuildProgram on its own thread; the context's lock is held
 * throughout), and caches each as clg_program_get does. A program another
 * model built meanwhile is taken as it is. On a failed build, every other
 * program still built is kept, and the first failed request's message
 * names its node, file, options and build log (CLG_ERR_BUILD). */
CLG_INTERNAL clg_status clg_programs_build(clg_context *ctx, clg_build_req *reqs, int n);

/* The text of kernels/FILE (e.g. "elementwise.cl") for ctx: read from
 * ctx->kernel_dir when it has one (for kernel development), else the copy
 * embedded at build time. NULL if there is no such file. The returned text
 * lives for the process. */
CLG_INTERNAL const char *clg_context_kernel_source(const clg_context *ctx, const char *file);

/* As clg_context_kernel_source with the directory $CLGRAPH_KERNEL_DIR names
 * now, ignoring any context's setting. For callers that have no context
 * at hand yet (runtime/plan/plan.c's clg_emit_kernel and
 * runtime/gemm/variants.c's gemm.cl); emit.c swaps the text of a kernels/
 * file for the context's before building it. */
CLG_INTERNAL const char *clg_kernel_source(const char *file);
/* The storage macros (store_t, LOAD, STORE, LOADV, STOREV, compute_t) that
 * every kernel file and generated kernel is written against: a program's
 * text is this, then the file (docs/runtime.md "Precision"). */
CLG_INTERNAL const char *clg_kernel_storage_prelude(void);

/* ---------------------------------------------------------------- devices and programs, continued */

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
/* Counts a request a plan's pending program already covers as a memory
 * hit: it is served by the same build. */
CLG_INTERNAL void clg_program_cache_note_shared(clg_context *ctx);
/* Writes the binaries of the programs built from source whose saving was
 * left for later (CLG_SAVE_AT_DESTROY) to the disk cache; best effort,
 * like every cache write. clg_context_destroy calls it. */
CLG_INTERNAL void clg_program_cache_flush(clg_context *ctx);
CLG_INTERNAL void clg_program_cache_stats(const clg_context *ctx, int *memory_hits, int *disk_hits,
                                          int *builds);

/* The directory the environment names for caches (CLGRAPH_CACHE_DIR, else
 * $XDG_CACHE_HOME/clgraph, else ~/.cache/clgraph), allocated with a, or
 * NULL in *out when there is none. With create it is created if missing
 * (NULL when that fails); with honor_off, CLGRAPH_CACHE=0 also means NULL.
 * Only running out of memory is an error. A context resolves this once
 * (ctx->cache_dir, ctx->tuning_dir); only what has no context
 * (clg_device_tuning) calls it later. */
CLG_INTERNAL clg_status clg_cache_dir_resolve(const clg_allocator *a, bool honor_off, bool create,
                                              char **out);
/* mkdir -p path, private to the user (0700); true when it is then a
 * writable directory. */
CLG_INTERNAL bool clg_make_dirs(const char *path);

/* clg_context_create_ex and clg_context_create_borrowed_ex without applying
 * CLBlast's stored tuning (the public functions, runtime/plan/context_api.c,
 * open the context here and then apply it). options may be NULL. */
CLG_INTERNAL clg_status clg_context_open(clg_context **out, const char *spec, int flags,
                                         const clg_context_options *options, clg_alloc_fn alloc,
                                         void *user);
CLG_INTERNAL clg_status clg_context_open_borrowed(clg_context **out, void *cl_context_handle,
                                                  void *cl_command_queue_handle, int flags,
                                                  const clg_context_options *options,
                                                  clg_alloc_fn alloc, void *user);

/* ---------------------------------------------------------------- bundles (program_cache.c) */

/* The program cache's key for (file, source, full options: what
 * clBuildProgram is given, with -cl-std). */
CLG_INTERNAL uint64_t clg_program_key(const char *file, const char *source, const char *full_options);
/* "platform\ndevice\ndriver": what a binary is valid for. */
CLG_INTERNAL void clg_program_identity(const clg_context *ctx, char *buf, size_t size);
/* The cache entry holding prog (copied to *entry: its strings stay the
 * context's), false when there is none. Takes the lock. */
CLG_INTERNAL bool clg_program_entry_of(clg_context *ctx, cl_program prog, clg_program_entry *entry);
/* prog's binary (CL_PROGRAM_BINARIES), allocated with ctx's allocator, or
 * NULL when the driver gives none. */
CLG_INTERNAL unsigned char *clg_program_binary(clg_context *ctx, cl_program prog, size_t *len);
/* The binary of the program built again from source now (NULL when that
 * fails): with a driver that adds kernels compiled at their first launch
 * to a binary (PoCL), one taken after the model ran carries them. */
CLG_INTERNAL unsigned char *clg_program_binary_fresh(clg_context *ctx, const char *source, const char *full_options,
                                                     size_t *len);
/* One program for clg_programs_preset, and what became of it. */
typedef struct clg_preset_req {
    const char *file, *source, *options; /* options: the full options */
    const unsigned char *binary;         /* NULL: build from source */
    size_t binary_len;
    bool rebuilt;                        /* out: built from source */
    bool skip;                           /* out: in the cache already */
    cl_int err;                          /* out: the build's error */
} clg_preset_req;
/* Puts n programs (file, source, full options) into the in-memory cache,
 * each unless it is there: from its binary when one is given and the
 * driver takes it (counted in cache_preset_binaries), else built from
 * source (counted in cache_builds; rebuilt set). The binaries are taken,
 * or the programs built, on as many threads as clg_programs_build uses,
 * then cached in request order. The first failure's message names its
 * file, options and build log; the programs that did load are kept. */
CLG_INTERNAL clg_status clg_programs_preset(clg_context *ctx, clg_preset_req *reqs, int n);

#endif
