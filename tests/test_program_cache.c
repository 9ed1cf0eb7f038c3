/* The program cache (runtime/cl/program_cache.c) and kernel text
 * (runtime/cl/kernel_source.c): builds, memory hits, disk hits under each
 * policy for saving binaries (after the build, at the context's destroy,
 * never), every kind of damaged cache file, the cache switched off, build
 * errors with their log, and allocation failures. Each test uses a fresh cache directory. Skips
 * when the machine has no OpenCL device. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime.h"
#include "tuning.h"

#define SELFTEST "selftest.cl"

static char root[256]; /* this process's scratch directory */
static int next_dir;

static bool have_device(void)
{
    int n = 0;
    return clg_devices_list(NULL, 0, &n) == CLG_OK && n > 0;
}

/* A new, empty cache directory, made the one contexts use. */
static const char *fresh_cache_dir(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/cache%d", root, next_dir++);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", dir, 1), 0);
    return dir;
}

static clg_context *open_context(void)
{
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, 0, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    return ctx;
}

/* Files in dir ending in suffix; the last one's path goes to path. */
static int count_files(const char *dir, const char *suffix, char *path, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.' && (len == 1 || (len == 2 && e->d_name[1] == '.'))) continue;
        if (len >= sl && strcmp(e->d_name + len - sl, suffix) == 0) {
            n++;
            if (path) snprintf(path, size, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return n;
}

static void expect_stats(const clg_context *ctx, int memory, int disk, int builds)
{
    int m = -1, d = -1, b = -1;
    clg_program_cache_stats(ctx, &m, &d, &b);
    if (m != memory || d != disk || b != builds)
        fail_msg("cache stats memory/disk/builds %d/%d/%d, expected %d/%d/%d", m, d, b, memory,
                 disk, builds);
}

static cl_program get_selftest(clg_context *ctx, const char *options)
{
    const char *src = clg_kernel_source(SELFTEST);
    assert_non_null(src);
    cl_program prog = NULL;
    if (clg_program_get(ctx, SELFTEST, src, options, &prog) != CLG_OK)
        fail_msg("program: %s", clg_context_errmsg(ctx));
    assert_non_null(prog);
    return prog;
}

/* c = a + 0.5 b on the device, checked on the host. */
static void run_selftest(clg_context *ctx, cl_program prog)
{
    enum { N = 67 };
    float a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = (float)i;
        b[i] = (float)(3 * i + 1);
        c[i] = -1.0f;
    }
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(prog, "clg_selftest_add", &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem ba = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof a, a, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem bb = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof b, b, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem bc = clCreateBuffer(ctx->cl, CL_MEM_WRITE_ONLY, sizeof c, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    float scale = 0.5f;
    assert_int_equal(clSetKernelArg(k, 0, sizeof ba, &ba), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 1, sizeof bb, &bb), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 2, sizeof bc, &bc), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(k, 3, sizeof scale, &scale), CL_SUCCESS);
    size_t global = N;
    assert_int_equal(clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(ctx->queue, bc, CL_TRUE, 0, sizeof c, c, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < N; i++)
        assert_float_equal(c[i], a[i] + 0.5f * b[i], 0.0f);
    clReleaseMemObject(ba);
    clReleaseMemObject(bb);
    clReleaseMemObject(bc);
    clReleaseKernel(k);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ kernel text */

static void test_kernel_source(void **state)
{
    (void)state;
    const char *src = clg_kernel_source(SELFTEST);
    assert_non_null(src);
    assert_non_null(strstr(src, "__kernel void clg_selftest_add"));
    assert_ptr_equal(clg_kernel_source(SELFTEST), src);
    assert_null(clg_kernel_source("no_such_kernel.cl"));
    assert_null(clg_kernel_source(NULL));
    assert_null(clg_kernel_source(""));
    assert_null(clg_kernel_source("../kernels/selftest.cl"));
    assert_null(clg_kernel_source(".."));

    /* $CLGRAPH_KERNEL_DIR replaces the embedded text, read once. */
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/kernels", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/%s", dir, SELFTEST);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("// edited\n", f);
    fclose(f);
    assert_int_equal(setenv("CLGRAPH_KERNEL_DIR", dir, 1), 0);
    const char *edited = clg_kernel_source(SELFTEST);
    assert_non_null(edited);
    assert_string_equal(edited, "// edited\n");
    assert_ptr_equal(clg_kernel_source(SELFTEST), edited);
    assert_null(clg_kernel_source("elsewhere.cl"));
    assert_int_equal(unsetenv("CLGRAPH_KERNEL_DIR"), 0);
    assert_ptr_equal(clg_kernel_source(SELFTEST), src);
    unlink(path);
    rmdir(dir);
}

/* ------------------------------------------------------------ the cache */

/* The CLG_BUILD_SAVE reports a context made, and its DONE reports. */
typedef struct saves_seen {
    int events, count, done;
} saves_seen;

static void note_save(const clg_build_event *e, void *user)
{
    saves_seen *s = user;
    if (e->kind == CLG_BUILD_DONE) s->done++;
    if (e->kind != CLG_BUILD_SAVE) return;
    s->events++;
    s->count += e->count;
}

/* Builds two programs, hits memory, and finds both on disk in a new
 * context, with the binaries saved as CLGRAPH_SAVE_BINARIES says (NULL:
 * the device's default): right after the build, or only when the context
 * is destroyed (after the programs ran, so the binary also carries the
 * work-group functions the run compiled), or never. */
static void build_memory_disk(const char *when)
{
    const char *dir = fresh_cache_dir();
    if (when) assert_int_equal(setenv("CLGRAPH_SAVE_BINARIES", when, 1), 0);
    else assert_int_equal(unsetenv("CLGRAPH_SAVE_BINARIES"), 0);

    saves_seen saves = {0, 0, 0};
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.on_build = note_save;
    o.on_build_user = &saves;
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    assert_string_equal(ctx->cache_dir, dir);
    clg_save_binaries expect = strstr(ctx->info.platform, "Portable Computing Language") ? CLG_SAVE_AT_DESTROY
                                                                                         : CLG_SAVE_AT_BUILD;
    if (when) expect = !strcmp(when, "build") ? CLG_SAVE_AT_BUILD
                       : !strcmp(when, "destroy") ? CLG_SAVE_AT_DESTROY : CLG_SAVE_NEVER;
    assert_int_equal(ctx->save_binaries, expect);
    double t0 = now_ms();
    cl_program p1 = get_selftest(ctx, NULL);
    double t_build = now_ms() - t0;
    expect_stats(ctx, 0, 0, 1);
    assert_ptr_equal(get_selftest(ctx, NULL), p1);
    expect_stats(ctx, 1, 0, 1);
    /* Other options are another program. */
    cl_program p2 = get_selftest(ctx, "-DUNUSED=1");
    assert_ptr_not_equal(p2, p1);
    expect_stats(ctx, 1, 0, 2);
    run_selftest(ctx, p1);
    run_selftest(ctx, p2);
    assert_int_equal(count_files(dir, ".bin", NULL, 0), expect == CLG_SAVE_AT_BUILD ? 2 : 0);
    t0 = now_ms();
    clg_context_destroy(ctx);
    double t_destroy = now_ms() - t0;
    int saved = expect == CLG_SAVE_NEVER ? 0 : 2;
    assert_int_equal(count_files(dir, ".bin", NULL, 0), saved);
    /* Saving at destroy is announced (the CLI says so: it takes seconds). */
    assert_int_equal(saves.events, expect == CLG_SAVE_AT_DESTROY ? 1 : 0);
    assert_int_equal(saves.count, expect == CLG_SAVE_AT_DESTROY ? 2 : 0);
    assert_int_equal(saves.done, 2); /* the two builds; memory hits are not reported */
    assert_int_equal(count_files(dir, ".tmp", NULL, 0), 0);

    /* A new context finds both on disk (builds them without binaries). */
    ctx = open_context();
    t0 = now_ms();
    cl_program p3 = get_selftest(ctx, NULL);
    double t_disk = now_ms() - t0;
    expect_stats(ctx, 0, saved / 2, 1 - saved / 2);
    run_selftest(ctx, p3);
    get_selftest(ctx, "-DUNUSED=1");
    expect_stats(ctx, 0, saved, 2 - saved);
    clg_context_destroy(ctx);
    assert_int_equal(count_files(dir, ".bin", NULL, 0), saved);
    assert_int_equal(unsetenv("CLGRAPH_SAVE_BINARIES"), 0);
    print_message("selftest.cl (binaries %s): built in %.1f ms, context destroyed in %.1f ms, "
                  "loaded in %.1f ms\n", when ? when : "default", t_build, t_destroy, t_disk);
}

static void test_build_then_memory_then_disk(void **state)
{
    (void)state;
    if (!have_device()) skip();
    build_memory_disk(NULL);
    build_memory_disk("build");
    build_memory_disk("destroy");
    build_memory_disk("never");
}

/* Saving at destroy is best effort like every cache write: a cache
 * directory gone by then costs nothing but the entries; an unknown
 * CLGRAPH_SAVE_BINARIES is an error naming it. */
static void test_save_at_destroy_errors(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    assert_int_equal(setenv("CLGRAPH_SAVE_BINARIES", "destroy", 1), 0);
    clg_context *ctx = open_context();
    run_selftest(ctx, get_selftest(ctx, NULL));
    assert_int_equal(rmdir(dir), 0);
    clg_context_destroy(ctx);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);

    assert_int_equal(setenv("CLGRAPH_SAVE_BINARIES", "later", 1), 0);
    ctx = NULL;
    assert_int_equal(clg_context_create(&ctx, NULL, 0, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    const char *msg = clg_context_errmsg(ctx);
    if (!strstr(msg, "CLGRAPH_SAVE_BINARIES 'later'")) fail_msg("message: %s", msg);
    clg_context_destroy(ctx);
    assert_int_equal(unsetenv("CLGRAPH_SAVE_BINARIES"), 0);
}

typedef enum damage {
    FLIP_PAYLOAD,  /* checksum mismatch */
    FLIP_IDENTITY, /* written by another driver */
    FLIP_KEY,
    TRUNCATE,
    GARBAGE,
    EMPTY,
    BAD_BINARY, /* a consistent file whose binary the driver refuses */
    DAMAGE_COUNT
} damage;

static const char *damage_names[] = {"flip payload", "flip identity", "flip key",  "truncate",
                                     "garbage",      "empty",         "bad binary"};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void do_damage(const char *path, damage d)
{
    size_t len = 0;
    unsigned char *buf = slurp(path, &len);
    /* The layout the cache writes: magic, key, identity length, identity,
     * payload length, checksum, payload. */
    assert_memory_equal(buf, "CLGBIN1", 8);
    uint32_t id_len = (uint32_t)buf[16] | (uint32_t)buf[17] << 8 | (uint32_t)buf[18] << 16 |
                      (uint32_t)buf[19] << 24;
    size_t header = 8 + 8 + 4 + id_len + 8 + 8;
    assert_true(len > header);
    switch (d) {
    case FLIP_PAYLOAD: buf[header + (len - header) / 2] ^= 0x5a; break;
    case FLIP_IDENTITY: buf[20 + id_len - 1] ^= 0x01; break;
    case FLIP_KEY: buf[8] ^= 0x80; break;
    case TRUNCATE: len = header + (len - header) / 2; break;
    case GARBAGE:
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)(i * 131 + 7);
        break;
    case EMPTY: len = 0; break;
    case BAD_BINARY: {
        for (size_t i = header; i < len; i++)
            buf[i] = (unsigned char)(i * 37 + 11);
        uint64_t sum = fnv1a(buf + header, len - header);
        for (int i = 0; i < 8; i++)
            buf[header - 8 + i] = (unsigned char)(sum >> (8 * i));
        break;
    }
    case DAMAGE_COUNT: break;
    }
    spit(path, buf, len);
    free(buf);
}

static void test_damaged_files_are_rebuilt(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    clg_context *ctx = open_context();
    get_selftest(ctx, NULL);
    expect_stats(ctx, 0, 0, 1);
    clg_context_destroy(ctx);
    char path[1024];
    assert_int_equal(count_files(dir, ".bin", path, sizeof path), 1);

    for (int d = 0; d < DAMAGE_COUNT; d++) {
        do_damage(path, (damage)d);
        ctx = open_context();
        cl_program prog = get_selftest(ctx, NULL);
        int m, disk, b;
        clg_program_cache_stats(ctx, &m, &disk, &b);
        if (disk != 0 || b != 1) fail_msg("%s: disk hits %d, builds %d", damage_names[d], disk, b);
        run_selftest(ctx, prog);
        clg_context_destroy(ctx);
        /* Replaced by a good entry, with nothing left behind. */
        assert_int_equal(count_files(dir, ".bin", NULL, 0), 1);
        assert_int_equal(count_files(dir, ".tmp", NULL, 0), 0);
    }
    ctx = open_context();
    run_selftest(ctx, get_selftest(ctx, NULL));
    expect_stats(ctx, 0, 1, 0);
    clg_context_destroy(ctx);
}

static void test_cache_off(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    assert_int_equal(setenv("CLGRAPH_CACHE", "0", 1), 0);
    clg_context *ctx = open_context();
    assert_null(ctx->cache_dir);
    run_selftest(ctx, get_selftest(ctx, NULL));
    expect_stats(ctx, 0, 0, 1);
    assert_int_equal(count_files(dir, "", NULL, 0), 0);
    clg_context_destroy(ctx);
    assert_int_equal(unsetenv("CLGRAPH_CACHE"), 0);

    /* A directory that cannot be created means no disk cache, not failure. */
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", "/proc/clgraph-no/such/dir", 1), 0);
    ctx = open_context();
    assert_null(ctx->cache_dir);
    clg_context_destroy(ctx);

    /* Missing levels are created. */
    char deep[600];
    snprintf(deep, sizeof deep, "%s/a/b/c/", dir);
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", deep, 1), 0);
    ctx = open_context();
    assert_non_null(ctx->cache_dir);
    struct stat st;
    assert_int_equal(stat(ctx->cache_dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    clg_context_destroy(ctx);
}

static void test_build_error_has_log(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    clg_context *ctx = open_context();
    const char *broken = "__kernel void broken(__global float *x)\n"
                         "{\n"
                         "    x[get_global_id(0)] = undeclared_thing + ;\n"
                         "}\n";
    cl_program prog = (cl_program)ctx; /* must be cleared */
    assert_int_equal(clg_program_get(ctx, "broken.cl", broken, "-DFOO=1", &prog), CLG_ERR_BUILD);
    assert_null(prog);
    const char *msg = clg_context_errmsg(ctx);
    if (!strstr(msg, "broken.cl") || !strstr(msg, "-cl-std=CL1.2 -DFOO=1") ||
        !strstr(msg, "CL_BUILD_PROGRAM_FAILURE") || !strstr(msg, "error") ||
        !strstr(msg, "undeclared_thing"))
        fail_msg("message lacks the file, options or log: %s", msg);
    expect_stats(ctx, 0, 0, 0);
    assert_int_equal(count_files(dir, "", NULL, 0), 0);
    /* The context still works. */
    run_selftest(ctx, get_selftest(ctx, NULL));

    assert_int_equal(clg_program_get(ctx, SELFTEST, NULL, NULL, &prog), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_program_get(NULL, SELFTEST, broken, NULL, &prog),
                     CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}

/* Programs built together (clg_programs_build, a plan's new programs on
 * as many threads as there are cores): a broken one among good ones fails
 * the batch with its own node, file and build log; the good ones are
 * built, cached and usable; the next batch finds them in memory. */
static void test_parallel_builds_name_failing_node(void **state)
{
    (void)state;
    if (!have_device()) skip();
    fresh_cache_dir();
    clg_context *ctx = open_context();
    const char *src = clg_kernel_source(SELFTEST);
    const char *broken = "__kernel void broken(__global float *x)\n"
                         "{\n"
                         "    x[get_global_id(0)] = undeclared_thing + ;\n"
                         "}\n";
    clg_build_req reqs[4] = {
        {SELFTEST, src, "-DA=1", "good0", NULL},
        {SELFTEST, src, "-DA=2", "good1", NULL},
        {"broken.cl", broken, "-DFOO=1", "the_bad_node", NULL},
        {SELFTEST, src, "-DA=3", "good3", NULL},
    };
    assert_int_equal(clg_programs_build(ctx, reqs, 4), CLG_ERR_BUILD);
    const char *msg = clg_context_errmsg(ctx);
    if (!strstr(msg, "node the_bad_node") || !strstr(msg, "broken.cl") || !strstr(msg, "-DFOO=1") ||
        !strstr(msg, "undeclared_thing") || strstr(msg, "good"))
        fail_msg("message lacks the failing node, file, options or log: %s", msg);
    assert_null(reqs[2].program);
    for (int i = 0; i < 4; i++)
        if (i != 2) {
            assert_non_null(reqs[i].program);
            run_selftest(ctx, reqs[i].program);
        }
    expect_stats(ctx, 0, 0, 3);
    /* The good ones are cached: asked again they come from memory. */
    cl_program again = get_selftest(ctx, "-DA=2");
    assert_ptr_equal(again, reqs[1].program);
    expect_stats(ctx, 1, 0, 3);
    clg_build_req two[2] = {{SELFTEST, src, "-DA=1", "x", NULL}, {SELFTEST, src, "-DA=4", "y", NULL}};
    assert_int_equal(clg_programs_build(ctx, two, 2), CLG_OK);
    assert_ptr_equal(two[0].program, reqs[0].program);
    run_selftest(ctx, two[1].program);
    expect_stats(ctx, 1, 0, 4);
    assert_int_equal(clg_programs_build(ctx, NULL, 0), CLG_OK);
    assert_int_equal(clg_programs_build(NULL, two, 2), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}

/* ------------------------------------------------------------ allocation failures */

typedef struct failing_alloc {
    long budget, calls, live;
} failing_alloc;

static void *failing(void *user, void *ptr, size_t old_size, size_t new_size)
{
    failing_alloc *f = user;
    (void)old_size;
    if (new_size == 0) {
        if (ptr) f->live--;
        free(ptr);
        return NULL;
    }
    if (f->calls++ >= f->budget) return NULL;
    void *p = realloc(ptr, new_size);
    if (p && !ptr) f->live++;
    return p;
}

/* kernels/pool.cl and softmax.cl build only the kernel their lowering
 * names (POOL_KERNEL, SOFTMAX_KERNEL), gemm.cl only gemm or only pack_b: PoCL compiles a work-group
 * function for every kernel of a program when the disk cache takes its
 * binary (docs/runtime.md, "Start-up"). Without the define, all of them. */
static void test_one_kernel_per_program(void **state)
{
    (void)state;
    if (!have_device()) skip();
    fresh_cache_dir();
    clg_context *ctx = open_context();
    static const struct {
        const char *file, *options, *kernels;
    } cases[] = {
        {"pool.cl", "-DPOOL_KERNEL=1 -DKH=3 -DKW=3 -DINSIDE", "maxpool"},
        {"pool.cl", "-DPOOL_KERNEL=2 -DKH=2 -DKW=2", "averagepool"},
        {"pool.cl", "-DPOOL_KERNEL=3", "globalaveragepool"},
        {"pool.cl", "-DKH=3 -DKW=3", "averagepool;globalaveragepool;maxpool"},
        {"softmax.cl", "-DSOFTMAX_KERNEL=1", "softmax"},
        {"softmax.cl", "-DSOFTMAX_KERNEL=2 -DLOG_SOFTMAX", "softmax_group"},
        {"softmax.cl", "", "softmax;softmax_group"},
        /* pack_b is a program of its own (PACK_B), never in a gemm one */
        {"gemm.cl", "-DMR=4 -DNV=4 -DTRANS_A=0 -DTRANS_B=0 -DHAS_BIAS=1", "gemm"},
        {"gemm.cl", "-DMR=4 -DNV=4 -DTRANS_A=0 -DTRANS_B=0 -DHAS_BIAS=0 -DCONV_A=1 -DCONV_KH=3 -DCONV_KW=3 "
                    "-DCONV_DW=1 -DCONV_INB=1", "gemm"},
        {"gemm.cl", "-DPACK_B=1 -DNV=2 -DTRANS_B=1 -DBATCHED=1", "pack_b"},
        {"gemm.cl", "-DTM=1 -DTN=1 -DVW=8 -DVN=1 -DTRANS_A=0 -DTRANS_B=1 -DHAS_BIAS=0", "gemm"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cl_program prog = NULL;
        /* as a plan builds it: the storage macros, then the file */
        const char *prelude = clg_kernel_storage_prelude(), *body = clg_kernel_source(cases[i].file);
        char *text = malloc(strlen(prelude) + strlen(body) + 1);
        assert_non_null(text);
        strcpy(text, prelude);
        strcat(text, body);
        clg_status built = clg_program_get(ctx, cases[i].file, text, cases[i].options, &prog);
        free(text);
        if (built != CLG_OK) fail_msg("%s %s: %s", cases[i].file, cases[i].options, clg_context_errmsg(ctx));
        char names[256] = "";
        assert_int_equal(clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, sizeof names, names, NULL), CL_SUCCESS);
        /* sorted, so the drivers' orders compare */
        char *parts[8];
        int n = 0;
        for (char *t = strtok(names, ";"); t && n < 8; t = strtok(NULL, ";")) parts[n++] = t;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++)
                if (strcmp(parts[a], parts[b]) > 0) {
                    char *x = parts[a];
                    parts[a] = parts[b];
                    parts[b] = x;
                }
        char joined[256] = "";
        for (int a = 0; a < n; a++) {
            if (a) strcat(joined, ";");
            strcat(joined, parts[a]);
        }
        if (strcmp(joined, cases[i].kernels) != 0)
            fail_msg("%s %s: kernels '%s', expected '%s'", cases[i].file, cases[i].options, joined,
                     cases[i].kernels);
    }
    clg_context_destroy(ctx);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    failing_alloc f = {1L << 40, 0, 0};
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create(&ctx, NULL, 0, failing, &f), CLG_OK);
    long base = f.live;
    const char *src = clg_kernel_source(SELFTEST);
    clg_status s = CLG_ERR_OUT_OF_MEMORY;
    for (long budget = 0; budget < 32 && s != CLG_OK; budget++) {
        f.budget = f.calls + budget;
        cl_program prog = NULL;
        s = clg_program_get(ctx, SELFTEST, src, NULL, &prog);
        if (s != CLG_OK) {
            assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
            assert_null(prog);
        }
        /* The cache array may have grown; nothing else stays. */
        assert_true(f.live <= base + 1);
        /* A failed write leaves no temporary file. */
        assert_int_equal(count_files(dir, ".tmp", NULL, 0), 0);
    }
    assert_int_equal(s, CLG_OK);
    f.budget = 1L << 40;
    clg_context_destroy(ctx);
    assert_int_equal(f.live, 0);

    /* Reading a good entry under failures: the same, from disk. */
    f = (failing_alloc){1L << 40, 0, 0};
    assert_int_equal(clg_context_create(&ctx, NULL, 0, failing, &f), CLG_OK);
    s = CLG_ERR_OUT_OF_MEMORY;
    for (long budget = 0; budget < 32 && s != CLG_OK; budget++) {
        f.budget = f.calls + budget;
        cl_program prog = NULL;
        s = clg_program_get(ctx, SELFTEST, src, NULL, &prog);
        if (s != CLG_OK) assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
    }
    assert_int_equal(s, CLG_OK);
    f.budget = 1L << 40;
    clg_context_destroy(ctx);
    assert_int_equal(f.live, 0);

    /* Saving at destroy under failures: whatever fails, nothing leaks and
     * no temporary file stays; a save that succeeds is a good entry. */
    assert_int_equal(setenv("CLGRAPH_SAVE_BINARIES", "destroy", 1), 0);
    for (long budget = 0; budget < 4; budget++) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/destroy%ld", dir, budget);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(setenv("CLGRAPH_CACHE_DIR", sub, 1), 0);
        f = (failing_alloc){1L << 40, 0, 0};
        assert_int_equal(clg_context_create(&ctx, NULL, 0, failing, &f), CLG_OK);
        cl_program prog = NULL;
        assert_int_equal(clg_program_get(ctx, SELFTEST, src, NULL, &prog), CLG_OK);
        f.budget = f.calls + budget;
        clg_context_destroy(ctx);
        assert_int_equal(f.live, 0);
        assert_int_equal(count_files(sub, ".tmp", NULL, 0), 0);
        int saved = count_files(sub, ".bin", NULL, 0);
        assert_true(saved <= 1);
        if (budget == 3) assert_int_equal(saved, 1);
        if (saved) {
            ctx = open_context();
            run_selftest(ctx, get_selftest(ctx, NULL));
            expect_stats(ctx, 0, 1, 0);
            clg_context_destroy(ctx);
        }
    }
    assert_int_equal(unsetenv("CLGRAPH_SAVE_BINARIES"), 0);
}

/* ------------------------------------------------------------ set-up */

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clgraph-test-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) return -1;
    unsetenv("CLGRAPH_CACHE");
    unsetenv("CLGRAPH_KERNEL_DIR");
    unsetenv("CLGRAPH_SAVE_BINARIES");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clg_remove_tree(root);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_source),
        cmocka_unit_test(test_build_then_memory_then_disk),
        cmocka_unit_test(test_save_at_destroy_errors),
        cmocka_unit_test(test_damaged_files_are_rebuilt),
        cmocka_unit_test(test_cache_off),
        cmocka_unit_test(test_build_error_has_log),
        cmocka_unit_test(test_parallel_builds_name_failing_node),
        cmocka_unit_test(test_one_kernel_per_program),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
