/* Built OpenCL programs, cached per context in memory and per device and
 * driver on disk, so a process pays the compiler once per kernel source.
 *
 * A disk entry is <cache_dir>/<16 hex digits>.bin:
 *
 *     "CLGBIN1\0"             8 bytes of magic
 *     key                     u64, the hash the file is named after
 *     identity length         u32
 *     identity                platform, device name and driver version
 *     payload length          u64
 *     payload checksum        u64, FNV-1a of the payload
 *     payload                 what CL_PROGRAM_BINARIES returned
 *
 * with integers little-endian. Nothing in a file is trusted: any mismatch,
 * short read or failed load of the binary means building from source and
 * replacing the file. Files are written under a temporary name and renamed,
 * so a reader never sees a half-written entry. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_file.h"
#include "runtime.h"

#define CL_STD_OPTION "-cl-std=CL1.2"
static const char MAGIC[8] = "CLGBIN1";
/* A kernel binary this large is not one of ours; refuse to read it. */
#define MAX_PAYLOAD ((uint64_t)1 << 30)
#define MAX_IDENTITY 1024
/* Room for device_identity's text (three device strings of at most 128). */
#define IDENTITY_SIZE (3 * 128 + 64 + 8)

/* ------------------------------------------------------------------ hashing */

/* Each part is hashed with its terminating NUL so that ("ab", "c") and
 * ("a", "bc") differ. */
static uint64_t fnv1a_str(uint64_t h, const char *s) { return clg_fnv1a(h, s, strlen(s) + 1); }

/* ------------------------------------------------------------------ bytes */

/* ------------------------------------------------------------------ options */

/* "-cl-std=CL1.2 OPTIONS", allocated with ctx's allocator. */
static char *full_options(clg_context *ctx, const char *options)
{
    size_t a = strlen(CL_STD_OPTION), b = options ? strlen(options) : 0;
    char *s = clg_mem_realloc(&ctx->allocator, NULL, a + 1 + b + 1);
    if (!s) return NULL;
    memcpy(s, CL_STD_OPTION, a);
    s[a] = '\0';
    if (b) {
        s[a] = ' ';
        memcpy(s + a + 1, options, b);
        s[a + 1 + b] = '\0';
    }
    return s;
}

/* Platform, device and driver: a binary from any other combination must not
 * be loaded, so it is both part of the file's key and checked inside it. */
static void device_identity(const clg_context *ctx, char *buf, size_t size)
{
    snprintf(buf, size, "%s\n%s\n%s", ctx->info.platform, ctx->info.name, ctx->info.driver);
}

/* ------------------------------------------------------------------ disk */

static char *cache_path(clg_context *ctx, uint64_t key, const char *suffix)
{
    size_t n = strlen(ctx->cache_dir) + 1 + 16 + strlen(suffix) + 1;
    char *p = clg_mem_realloc(&ctx->allocator, NULL, n);
    if (p)
        snprintf(p, n, "%s/%016llx%s", ctx->cache_dir, (unsigned long long)key, suffix);
    return p;
}

static size_t header_size(size_t identity_len) { return 8 + 8 + 4 + identity_len + 8 + 8; }

/* Reads and checks a cache file; on success *payload (allocated) and *len
 * hold the binary. Every failure, including running out of memory, just
 * means "no usable entry". */
static bool disk_read(clg_context *ctx, const char *path, uint64_t key, const char *identity,
                      unsigned char **payload, size_t *len)
{
    *payload = NULL;
    bool ok = false;
    unsigned char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    size_t id_len = strlen(identity);
    size_t hsize = header_size(id_len);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < hsize ||
        (uint64_t)st.st_size - hsize > MAX_PAYLOAD)
        goto done;
    size_t size = (size_t)st.st_size;
    buf = clg_mem_realloc(&ctx->allocator, NULL, size);
    if (!buf || !clg_read_all(fd, buf, size)) goto done;

    const unsigned char *p = buf;
    if (memcmp(p, MAGIC, 8) != 0) goto done;
    p += 8;
    if (clg_le_get64(p) != key) goto done;
    p += 8;
    if (clg_le_get32(p) != id_len) goto done;
    p += 4;
    if (memcmp(p, identity, id_len) != 0) goto done;
    p += id_len;
    uint64_t n = clg_le_get64(p);
    p += 8;
    uint64_t sum = clg_le_get64(p);
    p += 8;
    if (n == 0 || n != size - hsize) goto done;
    if (clg_fnv1a(CLG_FNV_OFFSET, p, (size_t)n) != sum) goto done;
    /* The payload moves to the front so one block is handed back. */
    memmove(buf, p, (size_t)n);
    *payload = buf;
    *len = (size_t)n;
    buf = NULL;
    ok = true;
done:
    clg_mem_free(&ctx->allocator, buf);
    close(fd);
    return ok;
}

/* Best effort: a cache that cannot be written only costs a rebuild later. */
static void disk_write(clg_context *ctx, const char *path, uint64_t key, const char *identity,
                       const unsigned char *payload, size_t len)
{
    size_t id_len = strlen(identity);
    unsigned char header[8 + 8 + 4 + MAX_IDENTITY + 8 + 8];
    if (id_len > MAX_IDENTITY) return;
    unsigned char *p = header;
    memcpy(p, MAGIC, 8);
    p += 8;
    clg_le_put64(p, key);
    p += 8;
    clg_le_put32(p, (uint32_t)id_len);
    p += 4;
    memcpy(p, identity, id_len);
    p += id_len;
    clg_le_put64(p, len);
    p += 8;
    clg_le_put64(p, clg_fnv1a(CLG_FNV_OFFSET, payload, len));
    p += 8;

    size_t n = strlen(path) + 64;
    char *tmp = clg_mem_realloc(&ctx->allocator, NULL, n);
    if (!tmp) return;
    int fd = clg_open_temp_beside(path, tmp, n);
    if (fd < 0) goto done;
    bool ok = clg_write_all(fd, header, (size_t)(p - header)) && clg_write_all(fd, payload, len);
    if (close(fd) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
done:
    clg_mem_free(&ctx->allocator, tmp);
}

/* ------------------------------------------------------------------ building */

/* Loads a cached binary; NULL when the driver refuses it in any way. */
static cl_program load_binary(clg_context *ctx, const unsigned char *bin, size_t len,
                              const char *options)
{
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    cl_program prog =
        clCreateProgramWithBinary(ctx->cl, 1, &ctx->device, &len, &bin, &bin_status, &err);
    if (!prog) return NULL;
    cl_build_status build = CL_BUILD_ERROR;
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS ||
        clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS ||
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_STATUS, sizeof build, &build,
                              NULL) != CL_SUCCESS ||
        build != CL_BUILD_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

/* The binary of a built program, allocated with ctx's allocator; NULL when
 * the driver gives none (the disk cache is then skipped). */
static unsigned char *program_binary(clg_context *ctx, cl_program prog, size_t *len)
{
    cl_uint n_devices = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof n_devices, &n_devices, NULL) !=
            CL_SUCCESS ||
        n_devices != 1)
        return NULL;
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > MAX_PAYLOAD)
        return NULL;
    unsigned char *bin = clg_mem_realloc(&ctx->allocator, NULL, size);
    if (!bin) return NULL;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        clg_mem_free(&ctx->allocator, bin);
        return NULL;
    }
    *len = size;
    return bin;
}

/* "building FILE with options 'OPTS' failed: CL_BUILD_PROGRAM_FAILURE (-11)"
 * followed by as much of the build log as fits. */
static clg_status build_failed(clg_context *ctx, cl_program prog, cl_int err, const char *file,
                               const char *options, const char *node)
{
    clg_status s = node ? clg_ctx_cl_fail(ctx, err, "clBuildProgram", "node %s: building %s with options '%s'",
                                          node, file, options)
                        : clg_ctx_cl_fail(ctx, err, "clBuildProgram", "building %s with options '%s'",
                                          file, options);
    size_t msg_size;
    char *msg = clg_ctx_errbuf(ctx, &msg_size);
    size_t used = strlen(msg);
    size_t log_size = 0;
    if (!prog ||
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size) !=
            CL_SUCCESS ||
        log_size <= 1)
        return s;
    char *log = clg_mem_realloc(&ctx->allocator, NULL, log_size + 1);
    if (!log) return s;
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, log_size, log, NULL) ==
        CL_SUCCESS) {
        log[log_size] = '\0';
        size_t end = strlen(log);
        while (end > 0 && (log[end - 1] == '\n' || log[end - 1] == '\r' || log[end - 1] == ' '))
            log[--end] = '\0';
        const char *tail = "\n[build log truncated]";
        size_t room = msg_size - used;
        int w = snprintf(msg + used, room, "\nbuild log:\n%s", log);
        if (w > 0 && (size_t)w >= room && room > strlen(tail) + 1)
            memcpy(msg + msg_size - strlen(tail) - 1, tail, strlen(tail) + 1);
    }
    clg_mem_free(&ctx->allocator, log);
    return s;
}

static clg_status build_source(clg_context *ctx, const char *file, const char *source,
                               const char *options, const char *node, cl_program *out)
{
    cl_int err = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(ctx->cl, 1, &source, NULL, &err);
    if (!prog) {
        if (err == CL_SUCCESS) err = CL_OUT_OF_HOST_MEMORY;
        return clg_ctx_cl_fail(ctx, err, "clCreateProgramWithSource", "%s", file);
    }
    err = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clg_status s = build_failed(ctx, prog, err, file, options, node);
        clReleaseProgram(prog);
        return s;
    }
    *out = prog;
    return CLG_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *copy_string(clg_context *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = clg_mem_realloc(&ctx->allocator, NULL, n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Best effort: without the copies the program only cannot be bundled. */
static void record_origin(clg_context *ctx, clg_program_entry *e, const char *file, const char *source,
                          const char *opts)
{
    e->file = copy_string(ctx, file);
    e->source = copy_string(ctx, source);
    e->options = copy_string(ctx, opts);
}

/* Tells the context's on_build about one event, one call at a time. */
static void report(clg_context *ctx, const clg_build_event *e)
{
    if (!ctx->on_build) return;
    pthread_mutex_lock(&ctx->build_report_lock);
    ctx->on_build(e, ctx->on_build_user);
    pthread_mutex_unlock(&ctx->build_report_lock);
}

static void report_done(clg_context *ctx, const char *file, const char *options, const char *node,
                        double secs, bool from_source, bool trial, int index, int count)
{
    clg_build_event e = {CLG_BUILD_DONE, file, options, node, secs, from_source, trial, index, count};
    report(ctx, &e);
}

/* One lookup's keys and disk path (path NULL without a disk cache). */
typedef struct lookup {
    char *opts; /* "-cl-std=CL1.2 OPTIONS" */
    uint64_t key, disk_key;
    char identity[IDENTITY_SIZE];
    char *path;
} lookup;

static void lookup_free(clg_context *ctx, lookup *l)
{
    clg_mem_free(&ctx->allocator, l->opts);
    clg_mem_free(&ctx->allocator, l->path);
    l->opts = l->path = NULL;
}

static clg_status lookup_init(clg_context *ctx, const char *file, const char *source, const char *options,
                              lookup *l)
{
    memset(l, 0, sizeof *l);
    if (!(l->opts = full_options(ctx, options))) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    l->key = clg_program_key(file, source, l->opts);
    device_identity(ctx, l->identity, sizeof l->identity);
    l->disk_key = fnv1a_str(clg_fnv1a(CLG_FNV_OFFSET, &l->key, sizeof l->key), l->identity);
    if (ctx->cache_dir) l->path = cache_path(ctx, l->disk_key, ".bin");
    return CLG_OK;
}

/* Room for `more` new entries first, so a program once built is never
 * lost to a failed allocation. */
static clg_status reserve(clg_context *ctx, int more)
{
    if (ctx->n_programs + more <= ctx->cap_programs) return CLG_OK;
    int cap = ctx->cap_programs ? 2 * ctx->cap_programs : 16;
    while (cap < ctx->n_programs + more) cap *= 2;
    clg_program_entry *p = clg_mem_realloc(&ctx->allocator, ctx->programs, (size_t)cap * sizeof *p);
    if (!p) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    ctx->programs = p;
    ctx->cap_programs = cap;
    return CLG_OK;
}

static cl_program memory_find(const clg_context *ctx, uint64_t key)
{
    for (int i = 0; i < ctx->n_programs; i++)
        if (ctx->programs[i].key == key) return ctx->programs[i].program;
    return NULL;
}

/* A program built or loaded, with what it was built from (for bundles:
 * every program a plan uses is captured, however it was built). Room was
 * reserved. */
static void insert(clg_context *ctx, const char *file, const char *source, const lookup *l, cl_program prog)
{
    ctx->programs[ctx->n_programs] = (clg_program_entry){.key = l->key, .program = prog, .file = NULL,
                                                         .source = NULL, .options = NULL, .unsaved = false,
                                                         .disk_key = 0};
    record_origin(ctx, &ctx->programs[ctx->n_programs], file, source, l->opts);
    ctx->n_programs++;
}

/* Memory, then disk; NULL in *out on a miss. Holds the lock. */
static clg_status find_locked(clg_context *ctx, const char *file, const char *source, const lookup *l,
                              const char *node, bool trial, cl_program *out)
{
    *out = memory_find(ctx, l->key);
    if (*out) {
        ctx->cache_memory_hits++;
        return CLG_OK;
    }
    if (!l->path) return CLG_OK;
    clg_status s = reserve(ctx, 1);
    if (s) return s;
    unsigned char *bin = NULL;
    size_t len = 0;
    double t0 = now_s();
    if (disk_read(ctx, l->path, l->disk_key, l->identity, &bin, &len)) {
        cl_program prog = load_binary(ctx, bin, len, l->opts);
        clg_mem_free(&ctx->allocator, bin);
        if (prog) {
            ctx->cache_disk_hits++;
            insert(ctx, file, source, l, prog);
            report_done(ctx, file, l->opts, node, now_s() - t0, false, trial, 0, 0);
            *out = prog;
        }
    }
    return CLG_OK;
}

/* The binary of a program just built (the last entry), into the disk cache
 * now, or marked to be saved at clg_context_destroy. */
static void store(clg_context *ctx, const lookup *l, cl_program prog)
{
    if (!l->path || ctx->save_binaries == CLG_SAVE_NEVER) return;
    if (ctx->save_binaries == CLG_SAVE_AT_DESTROY) {
        clg_program_entry *e = &ctx->programs[ctx->n_programs - 1];
        e->unsaved = true;
        e->disk_key = l->disk_key;
        return;
    }
    size_t len = 0;
    unsigned char *bin = program_binary(ctx, prog, &len);
    if (bin) disk_write(ctx, l->path, l->disk_key, l->identity, bin, len);
    clg_mem_free(&ctx->allocator, bin);
}

/* PoCL 3.1 makes a program's binary when it is first asked for, compiling
 * then a generic work-group function for each of its kernels (any local
 * size) that a process which built the program from source never runs:
 * about as long again as the build, all of it one compile at a time under
 * PoCL's compiler lock, so asked for right after the build it stood
 * between a cold start and its first result (docs/runtime.md, "Start-up").
 * Asked for here, when the context goes, it costs the same once but after
 * the results; the binary then also carries the work-group functions the
 * runs compiled, so a later process that loads it compiles nothing. */
void clg_program_cache_flush(clg_context *ctx)
{
    if (!ctx || !ctx->cache_dir) return;
    pthread_mutex_lock(&ctx->lock);
    char identity[IDENTITY_SIZE];
    device_identity(ctx, identity, sizeof identity);
    int count = 0;
    for (int i = 0; i < ctx->n_programs; i++) count += ctx->programs[i].unsaved && ctx->programs[i].program;
    clg_build_event save = {CLG_BUILD_SAVE, NULL, NULL, NULL, 0.0, false, false, 0, count};
    if (count > 0) report(ctx, &save);
    for (int i = 0; i < ctx->n_programs; i++) {
        clg_program_entry *e = &ctx->programs[i];
        if (!e->unsaved || !e->program) continue;
        e->unsaved = false;
        char *path = cache_path(ctx, e->disk_key, ".bin");
        size_t len = 0;
        unsigned char *bin = path ? program_binary(ctx, e->program, &len) : NULL;
        if (bin) disk_write(ctx, path, e->disk_key, identity, bin, len);
        clg_mem_free(&ctx->allocator, bin);
        clg_mem_free(&ctx->allocator, path);
    }
    pthread_mutex_unlock(&ctx->lock);
}

static clg_status program_get(clg_context *ctx, const char *file, const char *source, const char *options,
                              const char *node, bool trial, cl_program *out)
{
    lookup l;
    clg_status s = lookup_init(ctx, file, source, options, &l);
    if (!s) s = find_locked(ctx, file, source, &l, node, trial, out);
    if (!s && !*out && !(s = reserve(ctx, 1))) {
        double t0 = now_s();
        s = build_source(ctx, file, source, l.opts, node, out);
        if (!s) {
            ctx->cache_builds++;
            report_done(ctx, file, l.opts, node, now_s() - t0, true, trial, 0, 0);
            insert(ctx, file, source, &l, *out);
            store(ctx, &l, *out);
        }
    }
    lookup_free(ctx, &l);
    return s;
}

static clg_status check_args(clg_context *ctx, const char *file, const char *source, cl_program *out)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return CLG_ERR_INVALID_ARGUMENT;
    if (!ctx->cl || !ctx->device)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "the context has no OpenCL device");
    if (!file || !source) return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "no kernel source to build");
    return CLG_OK;
}

/* The whole lookup holds the context's lock, a build included: models
 * created on one context from two threads at once then build a program
 * they both need once, and one waits for the other. */
clg_status clg_program_get_for(clg_context *ctx, const char *file, const char *source, const char *options,
                               const char *node, bool trial, cl_program *out)
{
    clg_status s = check_args(ctx, file, source, out);
    if (s) return s;
    pthread_mutex_lock(&ctx->lock);
    s = program_get(ctx, file, source, options, node, trial, out);
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

clg_status clg_program_get(clg_context *ctx, const char *file, const char *source,
                           const char *options, cl_program *out)
{
    return clg_program_get_for(ctx, file, source, options, NULL, false, out);
}

clg_status clg_program_find(clg_context *ctx, const char *file, const char *source, const char *options,
                            const char *node, cl_program *out)
{
    clg_status s = check_args(ctx, file, source, out);
    if (s) return s;
    lookup l;
    pthread_mutex_lock(&ctx->lock);
    s = lookup_init(ctx, file, source, options, &l);
    if (!s) s = find_locked(ctx, file, source, &l, node, false, out);
    pthread_mutex_unlock(&ctx->lock);
    lookup_free(ctx, &l);
    return s;
}

/* ------------------------------------------------------------------ building several at once */

/* One program of a batch, as the build threads see it. */
typedef struct build_job {
    const clg_build_req *req;
    lookup l;
    cl_program prog; /* created from source; NULL: found built meanwhile */
    cl_int err;
    double secs;
} build_job;

typedef struct build_pool {
    clg_context *ctx;
    build_job *jobs;
    int n, count; /* jobs, of which count are built */
    atomic_int next, done;
} build_pool;

/* Takes the next job until none is left. The OpenCL specification makes
 * every call but clSetKernelArg thread-safe since 1.1, so builds of
 * different programs may run at once in one context (PoCL 3.1 and Intel's
 * runtime build them concurrently: docs/runtime.md, "Start-up"). */
static void *build_worker(void *arg)
{
    build_pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        build_job *j = &p->jobs[i];
        if (!j->prog) continue;
        double t0 = now_s();
        j->err = clBuildProgram(j->prog, 1, &p->ctx->device, j->l.opts, NULL, NULL);
        j->secs = now_s() - t0;
        int index = atomic_fetch_add(&p->done, 1) + 1;
        if (j->err == CL_SUCCESS)
            report_done(p->ctx, j->req->file, j->l.opts, j->req->node, j->secs, true, false, index, p->count);
    }
    return NULL;
}

/* Threads for a batch of n builds: the cores there are (CLGRAPH_BUILD_THREADS
 * overrides, for measuring), at most n and 64. One on Oclgrind: its
 * simulator is not safe for concurrent builds, whatever OpenCL promises
 * (two builds at once crashed it with segfaults and heap corruption in
 * tests/test_oclgrind.sh); PoCL and Intel's runtime build concurrently. */
static int build_threads(const clg_context *ctx, int n)
{
    if (strstr(ctx->info.platform, "Oclgrind")) return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("CLGRAPH_BUILD_THREADS");
    if (env && atoi(env) > 0) cores = atoi(env);
    if (cores < 1) cores = 1;
    if (cores > 64) cores = 64;
    return n < cores ? n : (int)cores;
}

/* Runs worker on build_threads(ctx, jobs) threads, this one included
 * (alone when no thread starts), and returns when all are done. */
static void run_workers(const clg_context *ctx, int jobs, void *(*worker)(void *), void *arg)
{
    pthread_t threads[64];
    int started = 0, want = build_threads(ctx, jobs) - 1;
    while (started < want && pthread_create(&threads[started], NULL, worker, arg) == 0) started++;
    worker(arg);
    for (int t = 0; t < started; t++) pthread_join(threads[t], NULL);
}

static clg_status build_batch(clg_context *ctx, clg_build_req *reqs, int n, build_job *jobs)
{
    clg_status s = reserve(ctx, n);
    int count = 0;
    for (int i = 0; i < n && !s; i++) {
        build_job *j = &jobs[i];
        j->req = &reqs[i];
        if ((s = lookup_init(ctx, reqs[i].file, reqs[i].source, reqs[i].options, &j->l))) break;
        /* Another model on the context may have built it since it was asked for. */
        if ((reqs[i].program = memory_find(ctx, j->l.key)) != NULL) continue;
        cl_int err = CL_SUCCESS;
        j->prog = clCreateProgramWithSource(ctx->cl, 1, &reqs[i].source, NULL, &err);
        if (!j->prog) {
            if (err == CL_SUCCESS) err = CL_OUT_OF_HOST_MEMORY;
            s = clg_ctx_cl_fail(ctx, err, "clCreateProgramWithSource", "node %s: %s",
                                reqs[i].node ? reqs[i].node : "?", reqs[i].file);
            break;
        }
        count++;
    }
    if (s) return s;
    clg_build_event start = {CLG_BUILD_START, NULL, NULL, NULL, 0.0, true, false, 0, count};
    if (count > 0) report(ctx, &start);
    build_pool pool = {ctx, jobs, n, count, 0, 0};
    run_workers(ctx, count, build_worker, &pool);
    /* In request order, so the first failure reported is the first asked for. */
    for (int i = 0; i < n; i++) {
        build_job *j = &jobs[i];
        if (!j->prog) continue;
        if (j->err != CL_SUCCESS) {
            if (!s) {
                s = build_failed(ctx, j->prog, j->err, reqs[i].file, j->l.opts, reqs[i].node);
            }
            clReleaseProgram(j->prog);
            j->prog = NULL;
            continue;
        }
        ctx->cache_builds++;
        insert(ctx, reqs[i].file, reqs[i].source, &j->l, j->prog);
        store(ctx, &j->l, j->prog);
        reqs[i].program = j->prog;
        j->prog = NULL;
    }
    return s;
}

clg_status clg_programs_build(clg_context *ctx, clg_build_req *reqs, int n)
{
    if (!ctx || (n > 0 && !reqs) || n < 0) return CLG_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < n; i++) reqs[i].program = NULL;
    if (n == 0) return CLG_OK;
    if (!ctx->cl || !ctx->device)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "the context has no OpenCL device");
    build_job *jobs = clg_mem_calloc(&ctx->allocator, (size_t)n, sizeof *jobs);
    if (!jobs) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    pthread_mutex_lock(&ctx->lock);
    clg_status s = build_batch(ctx, reqs, n, jobs);
    pthread_mutex_unlock(&ctx->lock);
    for (int i = 0; i < n; i++) {
        if (jobs[i].prog) clReleaseProgram(jobs[i].prog); /* created, never built: an earlier failure */
        lookup_free(ctx, &jobs[i].l);
    }
    clg_mem_free(&ctx->allocator, jobs);
    return s;
}

void clg_program_cache_note_shared(clg_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->cache_memory_hits++;
    pthread_mutex_unlock(&ctx->lock);
}

void clg_program_cache_stats(const clg_context *ctx, int *memory_hits, int *disk_hits, int *builds)
{
    /* The lock is not part of the context's value: a const context still locks it. */
    if (ctx) pthread_mutex_lock((pthread_mutex_t *)&ctx->lock);
    if (memory_hits) *memory_hits = ctx ? ctx->cache_memory_hits : 0;
    if (disk_hits) *disk_hits = ctx ? ctx->cache_disk_hits : 0;
    if (builds) *builds = ctx ? ctx->cache_builds : 0;
    if (ctx) pthread_mutex_unlock((pthread_mutex_t *)&ctx->lock);
}

/* ------------------------------------------------------------------ bundles */

uint64_t clg_program_key(const char *file, const char *source, const char *full_options)
{
    return fnv1a_str(fnv1a_str(fnv1a_str(CLG_FNV_OFFSET, file), source), full_options);
}

void clg_program_identity(const clg_context *ctx, char *buf, size_t size) { device_identity(ctx, buf, size); }

bool clg_program_entry_of(clg_context *ctx, cl_program prog, clg_program_entry *entry)
{
    bool found = false;
    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < ctx->n_programs && !found; i++)
        if (ctx->programs[i].program == prog) {
            *entry = ctx->programs[i];
            found = true;
        }
    pthread_mutex_unlock(&ctx->lock);
    return found;
}

unsigned char *clg_program_binary(clg_context *ctx, cl_program prog, size_t *len)
{
    return program_binary(ctx, prog, len);
}

/* PoCL serialises a program's binary once, when it is first asked for (the
 * disk cache asks right after the build), and puts in it the kernels it
 * has compiled by then; it compiles each kernel's work-group function only
 * at the kernel's first launch. A program built again from its source
 * after the model has run finds PoCL's cache warm (no compiler), and its
 * binary carries those compiled kernels: loaded elsewhere, nothing is
 * compiled at the first run either. */
unsigned char *clg_program_binary_fresh(clg_context *ctx, const char *source, const char *full_options,
                                        size_t *len)
{
    cl_int err = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(ctx->cl, 1, &source, NULL, &err);
    if (!prog) return NULL;
    unsigned char *bin = NULL;
    if (clBuildProgram(prog, 1, &ctx->device, full_options, NULL, NULL) == CL_SUCCESS)
        bin = program_binary(ctx, prog, len);
    clReleaseProgram(prog);
    return bin;
}

/* ------------------------------------------------------------------ presetting several at once */

typedef struct preset_pool {
    clg_context *ctx;
    clg_preset_req *reqs;
    cl_program *progs; /* per request: loaded or built; NULL: skip or failed */
    int n;
    atomic_int next;
} preset_pool;

/* Loads (or, without a usable binary, builds) the next request until none
 * is left. Taking a binary costs PoCL about as much as a small build (it
 * links the program's bitcode again), so they run on several threads as
 * builds do. Nothing here touches the context's cache: the caller's
 * thread enters the programs in request order. */
static void *preset_worker(void *arg)
{
    preset_pool *p = arg;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) break;
        clg_preset_req *r = &p->reqs[i];
        if (r->skip) continue;
        cl_program prog = r->binary && r->binary_len ? load_binary(p->ctx, r->binary, r->binary_len, r->options)
                                                     : NULL;
        if (!prog) {
            cl_int err = CL_SUCCESS;
            prog = clCreateProgramWithSource(p->ctx->cl, 1, &r->source, NULL, &err);
            if (prog) {
                r->err = clBuildProgram(prog, 1, &p->ctx->device, r->options, NULL, NULL);
            } else {
                r->err = err == CL_SUCCESS ? CL_OUT_OF_HOST_MEMORY : err;
            }
            r->rebuilt = true;
        }
        p->progs[i] = prog;
    }
    return NULL;
}

clg_status clg_programs_preset(clg_context *ctx, clg_preset_req *reqs, int n)
{
    if (!ctx || (n > 0 && !reqs) || n < 0) return CLG_ERR_INVALID_ARGUMENT;
    if (n == 0) return CLG_OK;
    if (!ctx->cl || !ctx->device)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "the context has no OpenCL device");
    for (int i = 0; i < n; i++) {
        if (!reqs[i].file || !reqs[i].source || !reqs[i].options) return CLG_ERR_INVALID_ARGUMENT;
        reqs[i].rebuilt = false;
        reqs[i].err = CL_SUCCESS;
        reqs[i].skip = false;
    }
    cl_program *progs = clg_mem_calloc(&ctx->allocator, (size_t)n, sizeof *progs);
    uint64_t *keys = clg_mem_calloc(&ctx->allocator, (size_t)n, sizeof *keys); /* each source hashed once */
    if (!progs || !keys) {
        clg_mem_free(&ctx->allocator, progs);
        clg_mem_free(&ctx->allocator, keys);
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) keys[i] = clg_program_key(reqs[i].file, reqs[i].source, reqs[i].options);
    pthread_mutex_lock(&ctx->lock);
    clg_status s = reserve(ctx, n);
    int todo = 0;
    for (int i = 0; i < n && !s; i++) {
        reqs[i].skip = memory_find(ctx, keys[i]) != NULL;
        /* the same program twice in one bundle: the first one takes it */
        for (int j = 0; j < i && !reqs[i].skip; j++) reqs[i].skip = !reqs[j].skip && keys[i] == keys[j];
        todo += !reqs[i].skip;
    }
    if (!s && todo > 0) {
        preset_pool pool = {ctx, reqs, progs, n, 0};
        run_workers(ctx, todo, preset_worker, &pool);
    }
    /* In request order: the first failure is the first asked for; every
     * program that did load or build is kept. */
    for (int i = 0; i < n && !s; i++) {
        clg_preset_req *r = &reqs[i];
        if (r->skip) continue;
        if (!progs[i] || r->err != CL_SUCCESS) {
            s = r->err != CL_SUCCESS ? build_failed(ctx, progs[i], r->err, r->file, r->options, NULL)
                                     : clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
            continue;
        }
        if (r->rebuilt) ctx->cache_builds++;
        else ctx->cache_preset_binaries++;
        ctx->programs[ctx->n_programs] = (clg_program_entry){.key = keys[i], .program = progs[i], .file = NULL,
                                                             .source = NULL, .options = NULL, .unsaved = false,
                                                             .disk_key = 0};
        record_origin(ctx, &ctx->programs[ctx->n_programs], r->file, r->source, r->options);
        ctx->n_programs++;
        progs[i] = NULL;
    }
    pthread_mutex_unlock(&ctx->lock);
    for (int i = 0; i < n; i++)
        if (progs[i]) clReleaseProgram(progs[i]);
    clg_mem_free(&ctx->allocator, progs);
    clg_mem_free(&ctx->allocator, keys);
    return s;
}
