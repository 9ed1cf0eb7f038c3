/* Context settings through the API (clg_context_options) and the
 * environment as their default: the cache directory, the kernel directory
 * and the GEMM path, each resolved once into the context; options structs
 * that grow (struct_size); borrowed contexts with options; allocation
 * failures. The expected values come from the header's documentation of
 * each setting. Skips when the machine has no OpenCL device. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime.h"
#include "tuning.h"

#define SELFTEST "selftest.cl"

static char root[256];          /* this process's scratch directory */
static char default_cache[300]; /* CLGRAPH_CACHE_DIR between tests: never $HOME's */
static int next_dir;

static bool have_device(void)
{
    int n = 0;
    return clg_devices_list(NULL, 0, &n) == CLG_OK && n > 0;
}

/* A new path under root, not created. */
static const char *fresh_path(const char *what)
{
    static char paths[8][512];
    static int slot;
    char *p = paths[slot++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s%d", root, what, next_dir++);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Files named *.bin in dir (program binaries); 0 for no directory. */
static int count_bins(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) n++;
    }
    closedir(d);
    return n;
}

static clg_context *create_with(const clg_context_options *o)
{
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, o, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    return ctx;
}

/* Builds selftest.cl through the context's program cache. */
static void build_selftest(clg_context *ctx)
{
    const char *src = clg_context_kernel_source(ctx, SELFTEST);
    assert_non_null(src);
    cl_program prog = NULL;
    if (clg_program_get(ctx, SELFTEST, src, NULL, &prog) != CLG_OK)
        fail_msg("program: %s", clg_context_errmsg(ctx));
}

/* ---------------------------------------------------------------- struct_size */

static void test_options_struct_size(void **state)
{
    (void)state;
    if (!have_device()) skip();
    clg_context *ctx = NULL;

    /* Not initialised: struct_size 0. */
    clg_context_options zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &zero, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(ctx);
    assert_non_null(strstr(clg_context_errmsg(ctx), "struct_size is 0"));
    clg_context_destroy(ctx);

    /* Smaller than any version of the struct. */
    clg_context_options tiny = CLG_CONTEXT_OPTIONS_INIT;
    tiny.struct_size = sizeof(size_t);
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &tiny, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_context_errmsg(ctx), "struct_size"));
    clg_context_destroy(ctx);

    /* A newer caller's larger struct: fine while its new fields are zero
     * (their default), refused once one is set. */
    struct {
        clg_context_options o;
        const char *future;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.o.struct_size = sizeof newer;
    newer.o.gemm = "clblast";
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &newer.o, NULL, NULL), CLG_OK);
    assert_string_equal(ctx->gemm_path, "clblast"); /* the known fields are read */
    clg_context_destroy(ctx);
    newer.future = "x";
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &newer.o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_context_errmsg(ctx), "newer"));
    clg_context_destroy(ctx);

    /* NULL options: everything from the environment, as clg_context_create. */
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, NULL, NULL, NULL), CLG_OK);
    clg_context_destroy(ctx);
    /* An unknown flag is still refused. */
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0x100, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- cache directory */

static void test_cache_dir_option(void **state)
{
    (void)state;
    if (!have_device()) skip();
    /* Binaries counted below are saved by the default policy, whatever
     * the caller's environment says (scripts/test.sh turns them off). */
    assert_int_equal(unsetenv("CLGRAPH_SAVE_BINARIES"), 0);
    const char *env_dir = fresh_path("env-cache");
    assert_int_equal(mkdir(env_dir, 0700), 0);
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", env_dir, 1), 0);

    /* A directory named in the options is created (with its parents) and
     * used for programs and tuning alike, not the environment's. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/a/b", fresh_path("opt-cache"));
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    char with_slash[620];
    snprintf(with_slash, sizeof with_slash, "%s/", dir);
    o.cache_dir = with_slash;
    clg_context *ctx = create_with(&o);
    assert_true(is_dir(dir));
    assert_string_equal(ctx->cache_dir, dir); /* "dir/" and "dir" are one cache */
    assert_string_equal(ctx->tuning_dir, dir);
    build_selftest(ctx);
    clg_tune_info info;
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_true(strncmp(info.path, dir, strlen(dir)) == 0);
    /* Counted once the context is gone: on PoCL the binary is saved then
     * (docs/runtime.md, "Programs and the cache"). */
    clg_context_destroy(ctx);
    assert_int_equal(count_bins(dir), 1);
    assert_int_equal(count_bins(env_dir), 0);

    /* The option wins over CLGRAPH_CACHE=0 too. */
    assert_int_equal(setenv("CLGRAPH_CACHE", "0", 1), 0);
    ctx = create_with(&o);
    assert_string_equal(ctx->cache_dir, dir);
    clg_context_destroy(ctx);

    /* Without the option, CLGRAPH_CACHE=0 keeps programs off the disk but
     * the tuning file is still looked for in the environment's directory. */
    o.cache_dir = NULL;
    ctx = create_with(&o);
    assert_null(ctx->cache_dir);
    assert_string_equal(ctx->tuning_dir, env_dir);
    clg_context_destroy(ctx);
    assert_int_equal(unsetenv("CLGRAPH_CACHE"), 0);

    /* Without the option, the environment's directory. */
    ctx = create_with(&o);
    assert_string_equal(ctx->cache_dir, env_dir);
    assert_string_equal(ctx->tuning_dir, env_dir);
    clg_context_destroy(ctx);

    /* "": no cache directory at all, whatever the environment says. */
    o.cache_dir = "";
    ctx = create_with(&o);
    assert_null(ctx->cache_dir);
    assert_null(ctx->tuning_dir);
    build_selftest(ctx);
    assert_int_equal(count_bins(env_dir), 0);
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.tuned, 0);
    assert_non_null(strstr(info.status, "no cache directory"));
    assert_string_equal(info.path, "");
    clg_tune_info result;
    assert_int_equal(clg_tune(ctx, CLG_TUNE_QUICK, NULL, NULL, &result), CLG_ERR_IO);
    assert_non_null(strstr(clg_context_errmsg(ctx), "no cache directory"));
    clg_context_destroy(ctx);
    assert_int_equal(count_bins(env_dir), 0);

    /* A directory that cannot be made (its parent is a file) is an error
     * naming it, not a silent run without a cache. */
    const char *file = fresh_path("plain-file");
    write_file(file, "x");
    char below[600];
    snprintf(below, sizeof below, "%s/cache", file);
    o.cache_dir = below;
    ctx = NULL;
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL), CLG_ERR_IO);
    assert_non_null(ctx);
    assert_non_null(strstr(clg_context_errmsg(ctx), below));
    clg_context_destroy(ctx);
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", default_cache, 1), 0);
}

/* ---------------------------------------------------------------- kernel directory */

/* A kernel directory holding selftest.cl with the given text. */
static const char *kernel_dir_with(const char *file, const char *text)
{
    const char *dir = fresh_path("kernels");
    assert_int_equal(mkdir(dir, 0700), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_file(path, text);
    return dir;
}

static void test_kernel_dir_option(void **state)
{
    (void)state;
    if (!have_device()) skip();
    assert_int_equal(unsetenv("CLGRAPH_KERNEL_DIR"), 0);
    const char *embedded = clg_context_kernel_source(NULL, SELFTEST);
    assert_non_null(embedded);
    assert_non_null(strstr(embedded, "clg_selftest_add"));

    const char *dir = kernel_dir_with(SELFTEST, "// from the option\n");
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.kernel_dir = dir;
    clg_context *ctx = create_with(&o);
    assert_string_equal(clg_context_kernel_source(ctx, SELFTEST), "// from the option\n");
    /* A kernel missing there does not fall back to the embedded copy. */
    assert_null(clg_context_kernel_source(ctx, "elementwise.cl"));
    clg_context_destroy(ctx);

    /* The environment is the default; "" means the embedded kernels even
     * when it names a directory. */
    const char *env_dir = kernel_dir_with(SELFTEST, "// from the environment\n");
    assert_int_equal(setenv("CLGRAPH_KERNEL_DIR", env_dir, 1), 0);
    o.kernel_dir = NULL;
    ctx = create_with(&o);
    assert_string_equal(ctx->kernel_dir, env_dir);
    assert_string_equal(clg_context_kernel_source(ctx, SELFTEST), "// from the environment\n");
    clg_context_destroy(ctx);
    o.kernel_dir = "";
    ctx = create_with(&o);
    assert_null(ctx->kernel_dir);
    assert_ptr_equal(clg_context_kernel_source(ctx, SELFTEST), embedded);
    clg_context_destroy(ctx);
    o.kernel_dir = dir;
    ctx = create_with(&o);
    assert_string_equal(clg_context_kernel_source(ctx, SELFTEST), "// from the option\n");
    clg_context_destroy(ctx);
    assert_int_equal(unsetenv("CLGRAPH_KERNEL_DIR"), 0);

    /* A path that is no directory. */
    o.kernel_dir = fresh_path("missing");
    ctx = NULL;
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL), CLG_ERR_IO);
    assert_non_null(strstr(clg_context_errmsg(ctx), o.kernel_dir));
    clg_context_destroy(ctx);
    const char *file = fresh_path("plain-file");
    write_file(file, "x");
    o.kernel_dir = file;
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL), CLG_ERR_IO);
    assert_non_null(strstr(clg_context_errmsg(ctx), "not a directory"));
    clg_context_destroy(ctx);
}

/* The kernel directory decides what a model's kernels are built from: an
 * elementwise.cl that cannot build fails the model that needs it, in that
 * context only. */
static void test_kernel_dir_reaches_models(void **state)
{
    (void)state;
    if (!have_device()) skip();
    assert_int_equal(unsetenv("CLGRAPH_KERNEL_DIR"), 0);
    const char *broken = kernel_dir_with("elementwise.cl", "#error clg-test-broken-kernel-dir\n");
    clg_graph *g = NULL;
    const char *text = "input x: f32[N, 2]\nconst s: f32[2] = ones\nconst b: f32[2] = zeros\n"
                       "y = BatchNorm(x, s, b, b, s)\noutput y\n";
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_parse(g, text, strlen(text), NULL), CLG_OK);
    clg_model_options mo = CLG_MODEL_OPTIONS_INIT;
    mo.opt_level = 0; /* BatchNorm through elementwise.cl, its only kernel file */

    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = ""; /* nothing from an earlier run's disk cache */
    o.kernel_dir = broken;
    clg_context *ctx = create_with(&o);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &mo), CLG_ERR_BUILD);
    assert_non_null(m);
    assert_non_null(strstr(clg_model_errmsg(m), "elementwise.cl"));
    assert_non_null(strstr(clg_model_errmsg(m), "clg-test-broken-kernel-dir"));
    clg_model_destroy(m);
    clg_context_destroy(ctx);

    /* The same graph in a context with the embedded kernels, while the
     * environment names the broken directory: the option wins. */
    assert_int_equal(setenv("CLGRAPH_KERNEL_DIR", broken, 1), 0);
    o.kernel_dir = "";
    ctx = create_with(&o);
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &mo), CLG_OK);
    float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8}, y[8];
    clg_tensor in = {x, 2, {4, 2}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
    /* scale 1, bias 0, mean 0, variance 1: x / sqrt(1 + epsilon) */
    for (int i = 0; i < 8; i++) assert_true(fabsf(y[i] - x[i] / sqrtf(1.0f + 1e-5f)) <= 1e-6f * fabsf(x[i]));
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    assert_int_equal(unsetenv("CLGRAPH_KERNEL_DIR"), 0);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- GEMM path */

/* The context's gemm_path after creating it with gemm (NULL: not set) and
 * CLGRAPH_GEMM = env (NULL: unset); "(null)" for NULL. */
static void expect_gemm(const char *gemm, const char *env, const char *want)
{
    if (env) assert_int_equal(setenv("CLGRAPH_GEMM", env, 1), 0);
    else assert_int_equal(unsetenv("CLGRAPH_GEMM"), 0);
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = gemm;
    clg_context *ctx = create_with(&o);
    const char *got = ctx->gemm_path ? ctx->gemm_path : "(null)";
    if (strcmp(got, want) != 0)
        fail_msg("gemm %s, CLGRAPH_GEMM %s: gemm_path %s, expected %s", gemm ? gemm : "NULL",
                 env ? env : "unset", got, want);
    clg_context_destroy(ctx);
}

static void expect_gemm_refused(const char *gemm, const char *in_message)
{
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = gemm;
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(ctx);
    if (!strstr(clg_context_errmsg(ctx), in_message))
        fail_msg("gemm '%s': message \"%s\" lacks \"%s\"", gemm, clg_context_errmsg(ctx), in_message);
    clg_context_destroy(ctx);
}

static void test_gemm_option(void **state)
{
    (void)state;
    if (!have_device()) skip();
    /* Through the API. */
    expect_gemm(NULL, NULL, "(null)");
    expect_gemm("measure", NULL, "measure");
    expect_gemm("default", NULL, "(null)");
    expect_gemm("clblast", NULL, "clblast");
    expect_gemm("generated", NULL, "generated");
    expect_gemm("generated:p8x32", NULL, "generated:p8x32");
    expect_gemm("generated:d1x1v8", NULL, "generated:d1x1v8");
    expect_gemm("generated:p4x64t", NULL, "generated:p4x64t"); /* flipped packed variant */
    /* The option wins over the environment. */
    expect_gemm("measure", "clblast", "measure");
    expect_gemm("default", "measure", "(null)");
    expect_gemm("clblast", "generated", "clblast");
    /* The environment as the default, as lenient as CLGRAPH_GEMM always was. */
    expect_gemm(NULL, "clblast", "clblast");
    expect_gemm(NULL, "generated:n1x8", "generated:n1x8");
    expect_gemm(NULL, "generated", "generated");
    expect_gemm(NULL, "generatedfoo", "generated");
    expect_gemm(NULL, "bogus", "(null)");
    expect_gemm(NULL, "measure", "measure");
    expect_gemm(NULL, "", "(null)");
    assert_int_equal(unsetenv("CLGRAPH_GEMM"), 0);
    /* Values the header does not document are refused. */
    expect_gemm_refused("bogus", "expected default, measure, clblast, generated");
    expect_gemm_refused("CLBLAST", "expected default, measure");
    expect_gemm_refused("generated:", "expected default, measure");
    expect_gemm_refused("generatedfoo", "expected default, measure");
    expect_gemm_refused("generated:nosuch", "no variant nosuch");
    expect_gemm_refused("generated:nosuch", "p8x32"); /* the message lists the variants */
    expect_gemm_refused("generated:g4x4t", "no variant g4x4t"); /* only packed ones flip */
}

/* ---------------------------------------------------------------- borrowed contexts */

static void test_borrowed_with_options(void **state)
{
    (void)state;
    if (!have_device()) skip();
    clg_context_options none = CLG_CONTEXT_OPTIONS_INIT;
    none.cache_dir = "";
    clg_context *owner = create_with(&none);
    const char *kdir = kernel_dir_with(SELFTEST, "// borrowed\n");
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = "";
    o.kernel_dir = kdir;
    o.gemm = "generated";
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create_borrowed_ex(&ctx, owner->cl, owner->queue, CLG_CONTEXT_UNTUNED,
                                                    &o, NULL, NULL),
                     CLG_OK);
    assert_null(ctx->cache_dir);
    assert_null(ctx->tuning_dir);
    assert_string_equal(ctx->kernel_dir, kdir);
    assert_string_equal(ctx->gemm_path, "generated");
    assert_string_equal(clg_context_kernel_source(ctx, SELFTEST), "// borrowed\n");
    clg_context_destroy(ctx);
    /* Profiling follows the borrowed queue, so the flag is refused. */
    assert_int_equal(clg_context_create_borrowed_ex(&ctx, owner->cl, owner->queue, CLG_CONTEXT_PROFILING,
                                                    &o, NULL, NULL),
                     CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_context_errmsg(ctx), "CLG_CONTEXT_PROFILING"));
    clg_context_destroy(ctx);
    o.gemm = "nonsense";
    assert_int_equal(clg_context_create_borrowed_ex(&ctx, owner->cl, owner->queue, 0, &o, NULL, NULL),
                     CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
    clg_context_destroy(owner);
}

/* ---------------------------------------------------------------- allocation failures */

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

static void test_options_allocation_failures(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *kdir = kernel_dir_with(SELFTEST, "// k\n");
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = fresh_path("oom-cache");
    o.kernel_dir = kdir;
    o.gemm = "generated:p8x32";
    bool succeeded = false;
    for (long budget = 0; budget < 64 && !succeeded; budget++) {
        failing_alloc f = {budget, 0, 0};
        clg_context *ctx = NULL;
        clg_status s = clg_context_create_ex(&ctx, NULL, 0, &o, failing, &f);
        if (s == CLG_OK) {
            succeeded = true;
            assert_string_equal(ctx->gemm_path, "generated:p8x32");
        } else {
            assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
        }
        clg_context_destroy(ctx);
        assert_int_equal(f.live, 0);
    }
    assert_true(succeeded);
}

/* ---------------------------------------------------------------- set-up */

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clgraph-test-options-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) return -1;
    snprintf(default_cache, sizeof default_cache, "%s/default-cache", root);
    setenv("CLGRAPH_CACHE_DIR", default_cache, 1);
    unsetenv("CLGRAPH_CACHE");
    unsetenv("CLGRAPH_KERNEL_DIR");
    unsetenv("CLGRAPH_GEMM");
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
        cmocka_unit_test(test_options_struct_size),
        cmocka_unit_test(test_cache_dir_option),
        cmocka_unit_test(test_kernel_dir_option),
        cmocka_unit_test(test_kernel_dir_reaches_models),
        cmocka_unit_test(test_gemm_option),
        cmocka_unit_test(test_borrowed_with_options),
        cmocka_unit_test(test_options_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
