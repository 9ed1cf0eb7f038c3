/* Contexts: one OpenCL device with its cl_context, in-order queue, program
 * cache and settings (cache and kernel directories, the GEMM path), owned
 * or borrowed from an embedder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

/* mkdir -p. Directories it creates are private to the user: the cache
 * holds device binaries that the process will load and run. */
bool clg_make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) return false;
    memcpy(path, dir, n + 1);
    while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST) return false;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

/* CLGRAPH_CACHE=0 turns the disk cache off (when honor_off); else
 * CLGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/clgraph, else ~/.cache/clgraph.
 * A directory that cannot be created means running without a disk cache,
 * not failing: the cache only saves build time. Only running out of host
 * memory is an error. */
clg_status clg_cache_dir_resolve(const clg_allocator *a, bool honor_off, bool create, char **out)
{
    *out = NULL;
    const char *off = getenv("CLGRAPH_CACHE");
    if (honor_off && off && strcmp(off, "0") == 0) return CLG_OK;
    const char *dir = getenv("CLGRAPH_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    const char *base, *tail = NULL;
    if (dir && *dir) base = dir;
    /* The XDG spec says a relative $XDG_CACHE_HOME is invalid and ignored. */
    else if (xdg && xdg[0] == '/') base = xdg, tail = "/clgraph";
    else if (home && *home) base = home, tail = "/.cache/clgraph";
    else return CLG_OK;
    size_t nb = strlen(base), nt = tail ? strlen(tail) : 0;
    char *path = clg_mem_realloc(a, NULL, nb + nt + 1);
    if (!path) return CLG_ERR_OUT_OF_MEMORY;
    memcpy(path, base, nb);
    if (nt) memcpy(path + nb, tail, nt);
    path[nb + nt] = '\0';
    if (create && !clg_make_dirs(path)) {
        clg_mem_free(a, path);
        return CLG_OK;
    }
    *out = path;
    return CLG_OK;
}

/* A copy of text with ctx's allocator, trailing slashes dropped from a
 * path (so that "dir/" and "dir" name one cache). */
static char *copy_setting(clg_context *ctx, const char *text, bool path)
{
    size_t n = strlen(text);
    while (path && n > 1 && text[n - 1] == '/') n--;
    char *c = clg_mem_realloc(&ctx->allocator, NULL, n + 1);
    if (!c) return NULL;
    memcpy(c, text, n);
    c[n] = '\0';
    return c;
}

#define OOM(ctx) clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory")

static clg_status resolve_cache_dir(clg_context *ctx, const char *option)
{
    if (!option) {
        if (clg_cache_dir_resolve(&ctx->allocator, true, true, &ctx->cache_dir) != CLG_OK ||
            clg_cache_dir_resolve(&ctx->allocator, false, false, &ctx->tuning_dir) != CLG_OK)
            return OOM(ctx);
        return CLG_OK;
    }
    if (!*option) return CLG_OK; /* no cache directory at all */
    if (!(ctx->cache_dir = copy_setting(ctx, option, true))) return OOM(ctx);
    if (!(ctx->tuning_dir = copy_setting(ctx, option, true))) return OOM(ctx);
    /* Asked for by name: a directory that cannot be made is an error, not
     * a silent run without a cache. */
    errno = 0;
    if (!clg_make_dirs(ctx->cache_dir))
        return clg_ctx_fail(ctx, CLG_ERR_IO, "cache directory %s: %s", ctx->cache_dir,
                            errno ? strerror(errno) : "not a writable directory");
    return CLG_OK;
}

static clg_status resolve_kernel_dir(clg_context *ctx, const char *option)
{
    if (!option) {
        const char *env = getenv("CLGRAPH_KERNEL_DIR");
        /* As before contexts had the setting: a missing directory shows as
         * missing kernels when they are built. */
        if (env && *env && !(ctx->kernel_dir = copy_setting(ctx, env, true))) return OOM(ctx);
        return CLG_OK;
    }
    if (!*option) return CLG_OK; /* the embedded kernels */
    struct stat st;
    if (stat(option, &st) != 0)
        return clg_ctx_fail(ctx, CLG_ERR_IO, "kernel directory %s: %s", option, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return clg_ctx_fail(ctx, CLG_ERR_IO, "kernel directory %s: not a directory", option);
    if (!(ctx->kernel_dir = copy_setting(ctx, option, true))) return OOM(ctx);
    return CLG_OK;
}

/* The GEMM path, as runtime/gemm/choice.c reads it: NULL (the default:
 * a remembered choice, else the device class's default variant, nothing
 * timed), "measure", "clblast", "generated" or "generated:NAME". From the
 * environment, values are taken as CLGRAPH_GEMM always was (any other
 * value is the default, "generatedX" is "generated"); through the API
 * only the documented values are accepted. Whether NAME is a variant is
 * for the caller that knows the variants (runtime/plan/context_api.c). */
static clg_status resolve_gemm(clg_context *ctx, const char *option)
{
    const char *v = option ? option : getenv("CLGRAPH_GEMM");
    const char *path = NULL;
    if (!v || !*v || !strcmp(v, "default")) path = NULL;
    else if (!strcmp(v, "measure")) path = "measure";
    else if (!strcmp(v, "clblast")) path = "clblast";
    else if (!strncmp(v, "generated:", 10) && v[10]) path = v;
    else if (!strcmp(v, "generated") || (!option && !strncmp(v, "generated", 9))) path = "generated";
    else if (option)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "gemm option '%s': expected default, measure, clblast, generated or "
                            "generated:VARIANT", option);
    if (path && !(ctx->gemm_path = copy_setting(ctx, path, false))) return OOM(ctx);
    return CLG_OK;
}

#undef OOM

/* The float vector width (clg_context.vector_width). GPUs: the driver's
 * CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, its advice for kernels (NVIDIA's
 * drivers report 1: scalar lanes, where a float8 is eight registers and
 * eight loads). CPUs: CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, the SIMD width,
 * because Intel's CPU runtime prefers 1 for the sake of its vectoriser
 * across work-items while a work-item's own contiguous vector loads are
 * what the GEMM vector variants are made of: d1x1v8 at VW=1 took 1.3-1.8x
 * as long as at VW=8 there (a 1024-1024-512 Dense chain at batch 1, medians
 * of 400 runs, three interleaved rounds, 2026-12-06); PoCL reports 16 for
 * both. Either falls back on the other where it reads 0; a value that is no
 * power of two rounds down, 16 at most. */
static clg_status resolve_vector_width(clg_context *ctx)
{
    const char *env = getenv("CLGRAPH_VECTOR_WIDTH");
    if (env && *env) {
        char *end;
        long w = strtol(env, &end, 10);
        if (*end || (w != 1 && w != 2 && w != 4 && w != 8 && w != 16))
            return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                                "CLGRAPH_VECTOR_WIDTH '%s': expected 1, 2, 4, 8 or 16", env);
        ctx->vector_width = (int)w;
        return CLG_OK;
    }
    cl_device_info first = ctx->info.type == CLG_DEVICE_CPU ? CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
                                                            : CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT;
    cl_device_info second = first == CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT ? CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
                                                                         : CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT;
    cl_uint w = 0;
    cl_int err = clGetDeviceInfo(ctx->device, first, sizeof w, &w, NULL);
    if (err == CL_SUCCESS && w == 0) err = clGetDeviceInfo(ctx->device, second, sizeof w, &w, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clGetDeviceInfo", "the float vector width of %s", ctx->info.name);
    ctx->vector_width = 1;
    while (ctx->vector_width * 2 <= (int)w && ctx->vector_width < 16) ctx->vector_width *= 2;
    return CLG_OK;
}

/* When the disk cache takes a program's binary (clg_context.save_binaries):
 * on PoCL at clg_context_destroy, because asking PoCL for a binary compiles
 * a work-group function for each kernel (runtime/cl/program_cache.c,
 * clg_program_cache_flush; measured in docs/runtime.md, "Start-up");
 * elsewhere right after the build, as the binary is there already.
 * CLGRAPH_SAVE_BINARIES=build, destroy or never overrides (never: for
 * caches that live one run, as CI's; PoCL's own cache still works). */
static clg_status resolve_binaries(clg_context *ctx)
{
    const char *env = getenv("CLGRAPH_SAVE_BINARIES");
    if (env && *env) {
        if (!strcmp(env, "build")) ctx->save_binaries = CLG_SAVE_AT_BUILD;
        else if (!strcmp(env, "destroy")) ctx->save_binaries = CLG_SAVE_AT_DESTROY;
        else if (!strcmp(env, "never")) ctx->save_binaries = CLG_SAVE_NEVER;
        else
            return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                                "CLGRAPH_SAVE_BINARIES '%s': expected build, destroy or never", env);
        return CLG_OK;
    }
    ctx->save_binaries = strstr(ctx->info.platform, "Portable Computing Language") ? CLG_SAVE_AT_DESTROY
                                                                                  : CLG_SAVE_AT_BUILD;
    return CLG_OK;
}

/* Every setting of the context, from options (already read whole by the
 * caller; may be NULL) or else the environment, once. */
static clg_status resolve_settings(clg_context *ctx, const clg_context_options *options)
{
    clg_status s = resolve_cache_dir(ctx, options ? options->cache_dir : NULL);
    if (!s) s = resolve_kernel_dir(ctx, options ? options->kernel_dir : NULL);
    if (!s) s = resolve_gemm(ctx, options ? options->gemm : NULL);
    if (!s) s = resolve_vector_width(ctx);
    if (!s) s = resolve_binaries(ctx);
    if (!s && options) {
        ctx->on_build = options->on_build;
        ctx->on_build_user = options->on_build_user;
    }
    return s;
}

/* The caller's options whole, as this version of the struct (a caller's
 * older, smaller struct gets the defaults for what it lacks). */
static clg_status read_options(clg_context *ctx, const clg_context_options *options,
                               clg_context_options *out)
{
    *out = (clg_context_options)CLG_CONTEXT_OPTIONS_INIT;
    char why[256];
    /* The first version of the struct ends with gemm. */
    size_t first = offsetof(clg_context_options, gemm) + sizeof options->gemm;
    if (!clg_options_read(out, sizeof *out, options, first, why, sizeof why))
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_context_options: %s", why);
    return CLG_OK;
}

/* The context struct comes from the allocator without a header, like a
 * graph: its size is known at both ends. */
static clg_context *context_alloc(clg_alloc_fn alloc, void *user)
{
    if (!alloc) alloc = clg_default_alloc;
    clg_context *ctx = alloc(user, NULL, 0, sizeof *ctx);
    if (!ctx) return NULL;
    memset(ctx, 0, sizeof *ctx);
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        alloc(user, ctx, sizeof *ctx, 0);
        return NULL;
    }
    if (pthread_mutex_init(&ctx->build_report_lock, NULL) != 0) {
        pthread_mutex_destroy(&ctx->lock);
        alloc(user, ctx, sizeof *ctx, 0);
        return NULL;
    }
    ctx->allocator.fn = alloc;
    ctx->allocator.user = user;
    ctx->info.index = ctx->info.platform_index = ctx->info.device_index = -1;
    return ctx;
}

clg_status clg_context_open(clg_context **out, const char *spec, int flags,
                            const clg_context_options *options, clg_alloc_fn alloc, void *user)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    clg_context *ctx = *out = context_alloc(alloc, user);
    if (!ctx) return CLG_ERR_OUT_OF_MEMORY;
    if (flags & ~(CLG_CONTEXT_PROFILING | CLG_CONTEXT_UNTUNED))
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "unknown context flags 0x%x",
                            (unsigned)flags);
    clg_context_options opts;
    if (options) {
        clg_status s = read_options(ctx, options, &opts);
        if (s) return s;
        options = &opts;
    }

    const char *from_env = NULL;
    if (!spec || !*spec) {
        from_env = getenv("CLGRAPH_DEVICE");
        spec = from_env && *from_env ? from_env : "";
    }

    clg_device_info *devices = NULL;
    clg_device_handle *handles = NULL;
    int count = 0;
    clg_status s = clg_device_enumerate(&ctx->allocator, &devices, &handles, &count, ctx->errmsg,
                                        sizeof ctx->errmsg);
    if (s != CLG_OK) return s;

    size_t prefix = 0;
    if (from_env && *from_env) {
        int w = snprintf(ctx->errmsg, sizeof ctx->errmsg, "CLGRAPH_DEVICE: ");
        prefix = w > 0 ? (size_t)w : 0;
    }
    int i =
        clg_device_pick(devices, count, spec, ctx->errmsg + prefix, sizeof ctx->errmsg - prefix);
    if (i < 0) {
        s = CLG_ERR_DEVICE_NOT_FOUND;
        goto done;
    }
    ctx->errmsg[0] = '\0';
    ctx->info = devices[i];
    ctx->platform = handles[i].platform;
    ctx->device = handles[i].device;
    ctx->profiling = (flags & CLG_CONTEXT_PROFILING) != 0;

    const char *query;
    cl_int err = clg_device_limits(ctx->device, &ctx->info, &query);
    if (err != CL_SUCCESS) {
        s = clg_ctx_cl_fail(ctx, err, "clGetDeviceInfo", "%s of %s", query, ctx->info.name);
        goto done;
    }
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->platform, 0};
    ctx->cl = clCreateContext(props, 1, &ctx->device, NULL, NULL, &err);
    if (!ctx->cl) {
        if (err == CL_SUCCESS) err = CL_OUT_OF_HOST_MEMORY;
        s = clg_ctx_cl_fail(ctx, err, "clCreateContext", "opening %s", ctx->info.name);
        goto done;
    }
    ctx->queue = clCreateCommandQueue(ctx->cl, ctx->device,
                                      ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (!ctx->queue) {
        if (err == CL_SUCCESS) err = CL_OUT_OF_HOST_MEMORY;
        s = clg_ctx_cl_fail(ctx, err, "clCreateCommandQueue", "opening %s", ctx->info.name);
        goto done;
    }
    s = resolve_settings(ctx, options);

done:
    clg_mem_free(&ctx->allocator, devices);
    clg_mem_free(&ctx->allocator, handles);
    return s;
}

clg_status clg_context_open_borrowed(clg_context **out, void *cl_context_handle,
                                     void *cl_command_queue_handle, int flags,
                                     const clg_context_options *options, clg_alloc_fn alloc,
                                     void *user)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    clg_context *ctx = *out = context_alloc(alloc, user);
    if (!ctx) return CLG_ERR_OUT_OF_MEMORY;
    ctx->borrowed = true;
    if (flags & CLG_CONTEXT_PROFILING)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "CLG_CONTEXT_PROFILING with a borrowed queue: the queue's own "
                            "properties decide whether it profiles");
    if (flags & ~CLG_CONTEXT_UNTUNED)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "unknown context flags 0x%x",
                            (unsigned)flags);
    clg_context_options opts;
    if (options) {
        clg_status s = read_options(ctx, options, &opts);
        if (s) return s;
        options = &opts;
    }
    cl_context cl = (cl_context)cl_context_handle;
    cl_command_queue queue = (cl_command_queue)cl_command_queue_handle;
    if (!cl || !queue)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "a borrowed context needs both a cl_context and a cl_command_queue");

    cl_context queue_cl = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof queue_cl, &queue_cl, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clGetCommandQueueInfo", "borrowed queue");
    if (queue_cl != cl)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "the borrowed queue belongs to another cl_context");
    err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof ctx->device, &ctx->device, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clGetCommandQueueInfo", "borrowed queue");
    err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clGetCommandQueueInfo", "borrowed queue");
    /* Models enqueue node after node with no events between them. */
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                            "the borrowed queue is out-of-order; clgraph needs an in-order queue");
    err = clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof ctx->platform, &ctx->platform,
                          NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clGetDeviceInfo", "borrowed queue's device");
    ctx->cl = cl;
    ctx->queue = queue;
    ctx->profiling = (props & CL_QUEUE_PROFILING_ENABLE) != 0;

    /* The device's place in the list, for clg_context_device; a device the
     * list does not show (a sub-device) keeps index -1. */
    clg_device_info *devices = NULL;
    clg_device_handle *handles = NULL;
    int count = 0;
    clg_status s = clg_device_enumerate(&ctx->allocator, &devices, &handles, &count, ctx->errmsg,
                                        sizeof ctx->errmsg);
    if (s != CLG_OK) return s;
    int found = -1;
    for (int i = 0; i < count && found < 0; i++)
        if (handles[i].device == ctx->device) found = i;
    if (found >= 0) {
        ctx->info = devices[found];
    } else {
        clg_device_describe(ctx->platform, ctx->device, &ctx->info);
        ctx->info.index = ctx->info.platform_index = ctx->info.device_index = -1;
    }
    clg_mem_free(&ctx->allocator, devices);
    clg_mem_free(&ctx->allocator, handles);
    const char *query;
    err = clg_device_limits(ctx->device, &ctx->info, &query);
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clGetDeviceInfo", "%s of %s", query, ctx->info.name);
    return resolve_settings(ctx, options);
}

void clg_context_destroy(clg_context *ctx)
{
    if (!ctx) return;
    clg_program_cache_flush(ctx);
    for (int i = 0; i < ctx->n_programs; i++) {
        if (ctx->programs[i].program) clReleaseProgram(ctx->programs[i].program);
        clg_mem_free(&ctx->allocator, ctx->programs[i].file);
        clg_mem_free(&ctx->allocator, ctx->programs[i].source);
        clg_mem_free(&ctx->allocator, ctx->programs[i].options);
    }
    clg_mem_free(&ctx->allocator, ctx->preset_choices);
    clg_mem_free(&ctx->allocator, ctx->programs);
    clg_mem_free(&ctx->allocator, ctx->cache_dir);
    clg_mem_free(&ctx->allocator, ctx->tuning_dir);
    clg_mem_free(&ctx->allocator, ctx->kernel_dir);
    clg_mem_free(&ctx->allocator, ctx->gemm_path);
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->build_report_lock);
    if (!ctx->borrowed) {
        if (ctx->queue) clReleaseCommandQueue(ctx->queue);
        if (ctx->cl) clReleaseContext(ctx->cl);
    }
    ctx->allocator.fn(ctx->allocator.user, ctx, sizeof *ctx, 0);
}

const char *clg_context_errmsg(const clg_context *ctx)
{
    return ctx ? ctx->errmsg : "no context (NULL)";
}

clg_status clg_context_device(const clg_context *ctx, clg_device_info *info)
{
    if (!ctx || !info) return CLG_ERR_INVALID_ARGUMENT;
    if (!ctx->device) return CLG_ERR_INVALID_ARGUMENT; /* a context whose creation failed */
    *info = ctx->info;
    return CLG_OK;
}
