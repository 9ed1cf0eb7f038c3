/* Device fault injection (tests/cl_fault.c), as SQLite and Lua do for
 * memory: for every k, the k-th OpenCL call of a model's create and run
 * fails with an error that call really returns, and
 *   - the call that met it returns a clean status (not CLG_OK, no crash)
 *     whose message names the failing call (or CLBlast, whose own calls
 *     clgraph only sees through CLBlast's status) and the OpenCL error;
 *   - nothing leaks: host memory (a counting allocator) and OpenCL objects
 *     (buffers, kernels, programs, events, queues, contexts) return to what
 *     they were before, and the ASan build checks the rest;
 *   - the context stays usable: a fresh model created on it after the
 *     failure runs and matches the reference executor, and a model whose
 *     run failed runs again and matches (no plan left broken).
 * A failure the library may absorb (a cached program binary the driver
 * will not load is rebuilt from source) must then give the right numbers.
 *
 * The sweeps are deterministic: GEMMs forced to CLBlast or to generated
 * kernels (the measured choice depends on timing) and attention forced to
 * its fused kernel. CLGRAPH_FAULT_STRIDE=S (default 1) sweeps every S-th k
 * only, for a quick look. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <time.h>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "cl_fault.h"
#include "clgraph.h"
#include "models.h"

#define MAX_IO 4
#define TOLERANCE 1e-4

/* ---------------------------------------------------------------- host memory, counted */

typedef struct counting_alloc {
    long long live, blocks;
} counting_alloc;

#define HDR 16
static void *counting_fn(void *user, void *ptr, size_t old_size, size_t new_size)
{
    counting_alloc *a = user;
    char *block = ptr ? (char *)ptr - HDR : NULL;
    if (new_size == 0) {
        if (ptr) {
            a->live -= (long long)old_size;
            a->blocks--;
        }
        free(block);
        return NULL;
    }
    char *p = realloc(block, new_size + HDR);
    if (!p) return NULL;
    a->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    if (!ptr) a->blocks++;
    return p + HDR;
}

/* ---------------------------------------------------------------- the models */

typedef struct model_case {
    const char *name;
    const char *path;             /* .clg or .onnx; NULL: text from models.c */
    char *(*text)(void);
    const char *inputs[MAX_IO];   /* .npy files; none: generated at batch 2 */
} model_case;

typedef struct loaded {
    clg_graph *g;
    int n_in, n_out;
    clg_tensor in[MAX_IO], want[MAX_IO];
    size_t out_count[MAX_IO];
} loaded;

static size_t count_of(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
    return n;
}

static void load_case(const model_case *mc, loaded *l)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(clg_graph_create(&l->g, NULL, NULL), CLG_OK);
    clg_status s;
    if (mc->text) {
        char *text = mc->text();
        s = clg_graph_parse(l->g, text, strlen(text), NULL);
        free(text);
    } else if (strstr(mc->path, ".onnx")) {
        s = clg_graph_load_onnx(l->g, mc->path);
    } else {
        s = clg_graph_load(l->g, mc->path);
    }
    if (s) fail_msg("%s: %s", mc->name, clg_graph_errmsg(l->g));
    l->n_in = clg_graph_input_count(l->g);
    l->n_out = clg_graph_output_count(l->g);
    assert_true(l->n_in <= MAX_IO && l->n_out <= MAX_IO);
    for (int i = 0; i < l->n_in; i++) {
        if (mc->inputs[0]) {
            if (clg_graph_read_npy(l->g, mc->inputs[i], i, &l->in[i]))
                fail_msg("%s: %s", mc->inputs[i], clg_graph_errmsg(l->g));
            continue;
        }
        const char *name;
        clg_dtype dt;
        assert_int_equal(clg_graph_input_info(l->g, i, &name, &l->in[i].rank, l->in[i].dims), CLG_OK);
        assert_int_equal(clg_graph_input_dtype(l->g, i, &dt), CLG_OK);
        assert_int_equal(dt, CLG_DTYPE_F32);
        for (int d = 0; d < l->in[i].rank; d++)
            if (l->in[i].dims[d] < 0) l->in[i].dims[d] = 2; /* N, S, ...: 2 */
        size_t n = count_of(l->in[i].rank, l->in[i].dims);
        l->in[i].dtype = CLG_DTYPE_F32;
        l->in[i].data = malloc(n * sizeof(float));
        assert_non_null(l->in[i].data);
        for (size_t k = 0; k < n; k++) l->in[i].data[k] = (float)sin(0.37 * (double)k + i) * 0.8f;
    }
    for (int o = 0; o < l->n_out; o++) {
        clg_dtype dt;
        assert_int_equal(clg_graph_output_dtype(l->g, o, &dt), CLG_OK);
        assert_int_equal(dt, CLG_DTYPE_F32);
        assert_int_equal(clg_graph_output_shape(l->g, o, l->in, l->n_in, &l->want[o].rank, l->want[o].dims), CLG_OK);
        l->out_count[o] = count_of(l->want[o].rank, l->want[o].dims);
        l->want[o].dtype = CLG_DTYPE_F32;
        l->want[o].data = calloc(l->out_count[o] ? l->out_count[o] : 1, sizeof(float));
        assert_non_null(l->want[o].data);
    }
    if (clg_graph_run_reference(l->g, l->in, l->n_in, l->want, l->n_out))
        fail_msg("%s: reference: %s", mc->name, clg_graph_errmsg(l->g));
}

static void unload(const model_case *mc, loaded *l)
{
    for (int i = 0; i < l->n_in; i++) {
        if (mc->inputs[0]) clg_graph_free_tensor(l->g, &l->in[i]);
        else free(l->in[i].data);
    }
    for (int o = 0; o < l->n_out; o++) free(l->want[o].data);
    clg_graph_destroy(l->g);
}

/* Runs m and compares every output with the reference; returns the status,
 * failing the test on a wrong number. */
static clg_status run_and_check(clg_model *m, const loaded *l, const char *what, long k)
{
    clg_tensor out[MAX_IO];
    float *data[MAX_IO];
    for (int o = 0; o < l->n_out; o++) {
        data[o] = calloc(l->out_count[o] ? l->out_count[o] : 1, sizeof(float));
        assert_non_null(data[o]);
        out[o] = (clg_tensor){data[o], 0, {0}, CLG_DTYPE_F32};
    }
    clg_status s = clg_model_run(m, l->in, l->n_in, out, l->n_out);
    for (int o = 0; o < l->n_out && !s; o++) {
        double worst = 0, scale = 1e-6;
        for (size_t i = 0; i < l->out_count[o]; i++) {
            double r = l->want[o].data[i];
            if (fabs(r) > scale) scale = fabs(r);
            double e = fabs((double)data[o][i] - r);
            if (!(e <= worst)) worst = e; /* NaN counts as worst */
        }
        if (!(worst / scale <= TOLERANCE))
            fail_msg("%s, k=%ld: output %d differs from the reference by %g (relative)", what, k, o, worst / scale);
    }
    for (int o = 0; o < l->n_out; o++) free(data[o]);
    return s;
}

/* ---------------------------------------------------------------- checks */

typedef struct sweep_counts {
    long calls, failed, absorbed;
} sweep_counts;

static bool same_live(cl_fault_live a, cl_fault_live b, bool programs)
{
    return a.buffers == b.buffers && a.kernels == b.kernels && a.events == b.events && a.queues == b.queues &&
           a.contexts == b.contexts && (!programs || a.programs == b.programs);
}

static void assert_no_leak(cl_fault_live before, const counting_alloc *host, long long host_before, bool programs,
                           const char *what, long k)
{
    cl_fault_live now = cl_fault_live_objects();
    if (!same_live(now, before, programs))
        fail_msg("%s, k=%ld: OpenCL objects leaked (now - before): %ld buffers, %ld kernels, %ld programs, "
                 "%ld events, %ld queues, %ld contexts",
                 what, k, now.buffers - before.buffers, now.kernels - before.kernels, now.programs - before.programs,
                 now.events - before.events, now.queues - before.queues, now.contexts - before.contexts);
    if (host && host->live != host_before)
        fail_msg("%s, k=%ld: %lld bytes of host memory leaked", what, k, host->live - host_before);
}

/* A failed call's status and message: not OK, not a crash, naming the
 * call and the error (for CLBlast's own calls: CLBlast and the error). */
static void assert_clean_failure(clg_status s, const char *msg, const char *what, long k)
{
    const char *call, *error, *caller;
    assert_true(cl_fault_fired(&call, &error, &caller));
    if (s == CLG_OK) fail_msg("%s, k=%ld: %s failed with %s, yet the call returned CLG_OK", what, k, call, error);
    if (s != CLG_ERR_OPENCL && s != CLG_ERR_OUT_OF_DEVICE_MEMORY && s != CLG_ERR_BUILD)
        fail_msg("%s, k=%ld: %s failed with %s: status %s (%s)", what, k, call, error, clg_status_string(s), msg);
    if (strstr(caller, "libclblast")) {
        /* CLBlast reports an OpenCL error of its own calls as its status,
         * the OpenCL code or one of its own (a failed buffer query is
         * CLBlastInvalidMatrixA): clgraph can only name CLBlast's call and
         * that status. */
        if (!strstr(msg, "CLBlast"))
            fail_msg("%s, k=%ld: %s failed in CLBlast with %s: the message does not name CLBlast: \"%s\"", what,
                     k, call, error, msg);
    } else if (!strstr(msg, error) || !strstr(msg, call)) {
        fail_msg("%s, k=%ld: %s failed with %s: the message does not name both: \"%s\"", what, k, call, error, msg);
    }
}

/* With CLGRAPH_FAULT_VERBOSE set, each absorbed failure is printed. */
static void note_absorbed(const char *what, long k)
{
    const char *call, *error, *caller;
    if (getenv("CLGRAPH_FAULT_VERBOSE") && cl_fault_fired(&call, &error, &caller))
        print_message("%s, k=%ld: %s (%s, from %s) absorbed\n", what, k, call, error, caller);
}

/* What a create on a warm context may absorb: the kernel-name query (for
 * messages) and a kernel's preferred work-group size (without it the
 * driver picks the group). Every limit a group is sized by must fail the
 * create (runtime/plan/emit.c). */
static void assert_may_absorb(const char *what, long k)
{
    const char *call;
    cl_fault_fired(&call, NULL, NULL);
    if (!strcmp(call, "clGetKernelInfo")) return;
    if (!strcmp(call, "clGetKernelWorkGroupInfo") && cl_fault_fired_query() == CL_KERNEL_WORK_GROUP_SIZE) return;
    fail_msg("%s, k=%ld: %s (query 0x%lx) failed and the create succeeded anyway", what, k, call,
             cl_fault_fired_query());
}

static long stride(void)
{
    const char *e = getenv("CLGRAPH_FAULT_STRIDE");
    long s = e ? atol(e) : 1;
    return s > 0 ? s : 1;
}

/* With a profiling queue, so that each step's event is counted too. */
static clg_context *open_context(const char *gemm, counting_alloc *host)
{
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = gemm;
    clg_context *ctx = NULL;
    clg_status s = clg_context_create_ex(&ctx, NULL, CLG_CONTEXT_PROFILING, &o, counting_fn, host);
    if (s) fail_msg("context (gemm %s): %s", gemm, clg_context_errmsg(ctx));
    return ctx;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void report(const char *what, sweep_counts c, double t0)
{
    print_message("%s: %ld calls, %ld failed in turn: %ld cleanly, %ld absorbed (%.1f s)\n", what, c.calls,
                  c.failed + c.absorbed, c.failed, c.absorbed, now_s() - t0);
}

/* ---------------------------------------------------------------- the sweeps */

/* Every call of clg_model_create on a warm context (programs built).
 * Strict: the calls repeat exactly, so every k must meet its call; else
 * (a choice timed on the device decides which calls follow) a k past the
 * calls a create made is allowed. Every `every`-th k (times the
 * environment's stride). */
static sweep_counts sweep_create(clg_context *ctx, const counting_alloc *host, const loaded *l, const char *what,
                                 bool strict, long every)
{
    sweep_counts c = {0, 0, 0};
    clg_model *m = NULL;
    cl_fault_arm(0, CL_FAULT_ALL);
    assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
    c.calls = cl_fault_calls();
    clg_model_destroy(m);
    cl_fault_live before = cl_fault_live_objects();
    long long host_before = host->live;
    for (long k = 1; k <= c.calls; k += every * stride()) {
        cl_fault_arm(k, CL_FAULT_ALL);
        clg_status s = clg_model_create(&m, ctx, l->g);
        cl_fault_disarm();
        if (!cl_fault_fired(NULL, NULL, NULL)) {
            if (strict) fail_msg("%s, k=%ld: create made fewer calls than before", what, k);
            assert_int_equal(s, CLG_OK);
            clg_model_destroy(m);
            assert_no_leak(before, host, host_before, true, what, k);
            continue;
        }
        if (s) {
            c.failed++;
            assert_clean_failure(s, clg_model_errmsg(m), what, k);
            assert_int_equal(clg_model_run(m, l->in, l->n_in, NULL, 0), CLG_ERR_INVALID_ARGUMENT);
        } else {
            c.absorbed++;
            note_absorbed(what, k);
            if (strict) assert_may_absorb(what, k);
            assert_int_equal(run_and_check(m, l, what, k), CLG_OK);
        }
        clg_model_destroy(m);
        assert_no_leak(before, host, host_before, true, what, k);
        if (!s) continue; /* a model has just run right on the context */
        /* The context is still usable. */
        assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
        if (run_and_check(m, l, what, k)) fail_msg("%s, k=%ld: after the failure: %s", what, k, clg_model_errmsg(m));
        clg_model_destroy(m);
        assert_no_leak(before, host, host_before, true, what, k);
    }
    return c;
}

/* Every call of the first clg_model_run of a model (which plans the run's
 * sizes); then the same model runs again, and a fresh one. */
static sweep_counts sweep_run(clg_context *ctx, const counting_alloc *host, const loaded *l, const char *what)
{
    sweep_counts c = {0, 0, 0};
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
    cl_fault_arm(0, CL_FAULT_ALL);
    assert_int_equal(run_and_check(m, l, what, 0), CLG_OK);
    c.calls = cl_fault_calls();
    clg_model_destroy(m);
    cl_fault_live before = cl_fault_live_objects();
    long long host_before = host->live;
    for (long k = 1; k <= c.calls; k += stride()) {
        assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
        cl_fault_arm(k, CL_FAULT_ALL);
        clg_status s = run_and_check(m, l, what, k);
        cl_fault_disarm();
        if (!cl_fault_fired(NULL, NULL, NULL)) fail_msg("%s, k=%ld: the run made fewer calls than before", what, k);
        if (s) {
            c.failed++;
            assert_clean_failure(s, clg_model_errmsg(m), what, k);
        } else {
            c.absorbed++;
            note_absorbed(what, k);
        }
        /* The same model runs again: no plan was left broken. */
        if (run_and_check(m, l, what, k))
            fail_msg("%s, k=%ld: the model's next run: %s", what, k, clg_model_errmsg(m));
        clg_model_destroy(m);
        assert_no_leak(before, host, host_before, true, what, k);
        if (!s) continue;
        /* And a fresh one on the same context. */
        assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
        if (run_and_check(m, l, what, k)) fail_msg("%s, k=%ld: a new model: %s", what, k, clg_model_errmsg(m));
        clg_model_destroy(m);
        assert_no_leak(before, host, host_before, true, what, k);
    }
    return c;
}

/* Every call that makes a context, a queue or a program (device queries
 * included), over a fresh context's creation and its first model's create
 * and run: programs come from the disk cache, or are built. The context is
 * destroyed after each k, so every object must be gone. */
static sweep_counts sweep_setup(const char *gemm, const loaded *l, const char *what)
{
    sweep_counts c = {0, 0, 0};
    counting_alloc host = {0, 0};
    cl_fault_live before = cl_fault_live_objects();
    cl_fault_arm(0, CL_FAULT_SETUP);
    clg_context *ctx = open_context(gemm, &host);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
    assert_int_equal(run_and_check(m, l, what, 0), CLG_OK);
    c.calls = cl_fault_calls();
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    /* CLBlast keeps its programs (and so nothing else) for the process. */
    bool programs = strcmp(gemm, "clblast") != 0;
    assert_no_leak(before, &host, 0, programs, what, 0);
    for (long k = 1; k <= c.calls; k += stride()) {
        clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
        o.gemm = gemm;
        ctx = NULL;
        m = NULL;
        cl_fault_arm(k, CL_FAULT_SETUP);
        clg_status s = clg_context_create_ex(&ctx, NULL, 0, &o, counting_fn, &host);
        const char *msg = clg_context_errmsg(ctx);
        if (!s) {
            s = clg_model_create(&m, ctx, l->g);
            msg = clg_model_errmsg(m);
        }
        if (!s) {
            s = run_and_check(m, l, what, k);
            msg = clg_model_errmsg(m);
        }
        cl_fault_disarm();
        if (!cl_fault_fired(NULL, NULL, NULL)) fail_msg("%s, k=%ld: fewer calls than before", what, k);
        if (s) {
            c.failed++;
            /* A device query that fails while the context lists devices
             * skips the device (clgraph devices shows what it can), so it
             * may surface as no device found. */
            if (s == CLG_ERR_DEVICE_NOT_FOUND) {
                const char *call;
                cl_fault_fired(&call, NULL, NULL);
                if (strcmp(call, "clGetDeviceInfo") && strcmp(call, "clGetDeviceIDs") &&
                    strcmp(call, "clGetPlatformInfo"))
                    fail_msg("%s, k=%ld: %s failed: device not found (%s)", what, k, call, msg);
            } else {
                assert_clean_failure(s, msg, what, k);
            }
        } else {
            c.absorbed++;
            note_absorbed(what, k);
        }
        if (ctx && m && s) {
            /* The context is still usable. */
            clg_model_destroy(m);
            assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
            if (run_and_check(m, l, what, k)) fail_msg("%s, k=%ld: a new model: %s", what, k, clg_model_errmsg(m));
        }
        clg_model_destroy(m);
        clg_context_destroy(ctx);
        assert_no_leak(before, &host, 0, programs, what, k);
    }
    return c;
}

static char *tiny_text(void)
{
    static const char text[] = "input x: f32[N, 5]\ny = Relu(x)\noutput y\n";
    char *t = malloc(sizeof text);
    if (t) memcpy(t, text, sizeof text);
    return t;
}

/* Building from source (no cache directory, so no binaries): the first
 * clCreateProgramWithSource, then the first clBuildProgram, fail; each
 * create fails cleanly, and then the model builds and runs on the same
 * context. One small model on one context: building from source costs
 * seconds per program on PoCL. */
static void build_from_source(void)
{
    static const model_case tiny = {"tiny", NULL, tiny_text, {NULL}};
    loaded tl, *l = &tl;
    double t0 = now_s();
    load_case(&tiny, l);
    static const char *calls[] = {"clCreateProgramWithSource", "clBuildProgram"};
    counting_alloc host = {0, 0};
    cl_fault_live before = cl_fault_live_objects();
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = "generated";
    o.cache_dir = "";
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, &o, counting_fn, &host)) fail_msg("%s", clg_context_errmsg(ctx));
    clg_model *m = NULL;
    for (int i = 0; i < 2; i++) {
        cl_fault_arm_named(calls[i], 1);
        clg_status s = clg_model_create(&m, ctx, l->g);
        cl_fault_disarm();
        if (!cl_fault_fired(NULL, NULL, NULL)) fail_msg("building from source: no %s", calls[i]);
        assert_clean_failure(s, clg_model_errmsg(m), "building from source", 1);
        if (i == 1) assert_int_equal(s, CLG_ERR_BUILD);
        clg_model_destroy(m);
    }
    assert_int_equal(clg_model_create(&m, ctx, l->g), CLG_OK);
    assert_int_equal(run_and_check(m, l, "building from source", 0), CLG_OK);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    assert_no_leak(before, &host, 0, true, "building from source", 0);
    unload(&tiny, l);
    print_message("building from source: clCreateProgramWithSource and clBuildProgram failed cleanly (%.1f s)\n",
                  now_s() - t0);
}

/* ---------------------------------------------------------------- the tests */

static const model_case mlp = {"residual_mlp", "examples/residual_mlp.clg", NULL, {NULL}};
static const model_case resnet = {"small_resnet", NULL, model_small_resnet, {NULL}};
static const model_case encoder = {"encoder_pre_gelu", "tests/fixtures/encoder_pre_gelu/model.onnx", NULL,
                                   {"tests/fixtures/encoder_pre_gelu/input.npy"}};

static bool have_device(void)
{
    int count = 0;
    return clg_devices_list(NULL, 0, &count) == CLG_OK && count > 0;
}

static void sweep_model(const model_case *mc, bool setup)
{
    if (!have_device()) skip();
    setenv("CLGRAPH_ATTENTION", "fused", 1);
    loaded l;
    load_case(mc, &l);
    static const char *paths[] = {"generated", "clblast"};
    for (int p = 0; p < 2; p++) {
        char what[128];
        counting_alloc host = {0, 0};
        clg_context *ctx = open_context(paths[p], &host);
        clg_device_info dev;
        assert_int_equal(clg_context_device(ctx, &dev), CLG_OK);
        if (p == 0) print_message("%s on %s (%s)\n", mc->name, dev.name, dev.platform);
        /* Warm: every program built before the sweeps count calls. */
        clg_model *m = NULL;
        assert_int_equal(clg_model_create(&m, ctx, l.g), CLG_OK);
        assert_int_equal(run_and_check(m, &l, mc->name, 0), CLG_OK);
        clg_model_destroy(m);
        snprintf(what, sizeof what, "%s (gemm %s) create", mc->name, paths[p]);
        double t0 = now_s();
        sweep_counts c = sweep_create(ctx, &host, &l, what, true, 1);
        report(what, c, t0);
        snprintf(what, sizeof what, "%s (gemm %s) run", mc->name, paths[p]);
        t0 = now_s();
        c = sweep_run(ctx, &host, &l, what);
        report(what, c, t0);
        clg_context_destroy(ctx);
        assert_int_equal(host.live, 0);
        if (setup) {
            snprintf(what, sizeof what, "%s (gemm %s) context+programs", mc->name, paths[p]);
            t0 = now_s();
            c = sweep_setup(paths[p], &l, what);
            report(what, c, t0);
        }
    }
    unload(mc, &l);
}

/* clg_model_run_buffers on a borrowed context: the k-th OpenCL call of a
 * buffer run (with a wait list and an event out) fails; the run returns a
 * clean status with no event, leaks nothing, and the model's next buffer
 * run matches the reference. The caller's own buffers and queue are made
 * before the fault is armed. */
static clg_status run_buffers_and_check(clg_model *m, cl_context cl, cl_command_queue q, const loaded *l,
                                        const char *what, long k, bool armed)
{
    cl_mem in[MAX_IO] = {NULL}, out[MAX_IO] = {NULL};
    clg_buffer bin[MAX_IO], bout[MAX_IO];
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < l->n_in; i++) {
        size_t bytes = count_of(l->in[i].rank, l->in[i].dims) * sizeof(float);
        in[i] = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, l->in[i].data, &err);
        assert_int_equal(err, CL_SUCCESS);
        bin[i] = (clg_buffer){in[i], 0, l->in[i].rank, {0}, CLG_DTYPE_F32};
        memcpy(bin[i].dims, l->in[i].dims, sizeof bin[i].dims);
    }
    for (int o = 0; o < l->n_out; o++) {
        out[o] = clCreateBuffer(cl, CL_MEM_READ_WRITE, l->out_count[o] * sizeof(float), NULL, &err);
        assert_int_equal(err, CL_SUCCESS);
        bout[o] = (clg_buffer){out[o], 0, 0, {0}, CLG_DTYPE_F32};
    }
    cl_event ready = clCreateUserEvent(cl, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clSetUserEventStatus(ready, CL_COMPLETE), CL_SUCCESS);
    cl_event done = (cl_event)(uintptr_t)1;
    if (armed) cl_fault_arm(k, CL_FAULT_ALL);
    clg_status s = clg_model_run_buffers(m, bin, l->n_in, bout, l->n_out, &ready, 1, &done);
    if (armed) cl_fault_disarm();
    if (s) {
        if (done) fail_msg("%s, k=%ld: a failed run handed out an event", what, k);
    } else {
        assert_non_null(done);
        assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
        clReleaseEvent(done);
        for (int o = 0; o < l->n_out; o++) {
            float *got = calloc(l->out_count[o] ? l->out_count[o] : 1, sizeof(float));
            assert_non_null(got);
            assert_int_equal(clEnqueueReadBuffer(q, out[o], CL_TRUE, 0, l->out_count[o] * sizeof(float), got, 0,
                                                 NULL, NULL), CL_SUCCESS);
            double worst = 0, scale = 1e-6;
            for (size_t i = 0; i < l->out_count[o]; i++) {
                double r = l->want[o].data[i];
                if (fabs(r) > scale) scale = fabs(r);
                double e = fabs((double)got[i] - r);
                if (!(e <= worst)) worst = e;
            }
            free(got);
            if (!(worst / scale <= TOLERANCE))
                fail_msg("%s, k=%ld: output %d differs from the reference by %g (relative)", what, k, o,
                         worst / scale);
        }
    }
    clReleaseEvent(ready);
    for (int i = 0; i < MAX_IO; i++) {
        if (in[i]) clReleaseMemObject(in[i]);
        if (out[i]) clReleaseMemObject(out[i]);
    }
    return s;
}

static void test_faults_buffers(void **state)
{
    (void)state;
    if (!have_device()) skip();
    loaded l;
    load_case(&mlp, &l);
    cl_platform_id platform;
    cl_device_id device;
    cl_int err;
    clg_device_info dev;
    {
        counting_alloc probe = {0, 0};
        clg_context *owned = open_context("generated", &probe);
        assert_int_equal(clg_context_device(owned, &dev), CLG_OK);
        clg_context_destroy(owned);
    }
    cl_uint n_platforms = 0;
    cl_platform_id platforms[16];
    assert_int_equal(clGetPlatformIDs(16, platforms, &n_platforms), CL_SUCCESS);
    assert_true(dev.platform_index < (int)n_platforms);
    platform = platforms[dev.platform_index];
    cl_device_id devices[16];
    cl_uint n_devices = 0;
    assert_int_equal(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 16, devices, &n_devices), CL_SUCCESS);
    assert_true(dev.device_index < (int)n_devices);
    device = devices[dev.device_index];
    cl_context cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(cl, device, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    counting_alloc host = {0, 0};
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = "generated";
    clg_context *ctx = NULL;
    if (clg_context_create_borrowed_ex(&ctx, cl, q, 0, &o, counting_fn, &host))
        fail_msg("%s", clg_context_errmsg(ctx));
    const char *what = "residual_mlp buffers (borrowed queue)";
    double t0 = now_s();
    sweep_counts c = {0, 0, 0};
    clg_model *m = NULL;
    /* Warm: every program in the context's cache before anything counts. */
    assert_int_equal(clg_model_create(&m, ctx, l.g), CLG_OK);
    assert_int_equal(run_buffers_and_check(m, cl, q, &l, what, 0, false), CLG_OK);
    clg_model_destroy(m);
    long long host_before = host.live;
    cl_fault_live before = cl_fault_live_objects();
    assert_int_equal(clg_model_create(&m, ctx, l.g), CLG_OK);
    assert_int_equal(run_buffers_and_check(m, cl, q, &l, what, 0, false), CLG_OK);
    long k = 1;
    for (;; k += stride()) {
        clg_status s = run_buffers_and_check(m, cl, q, &l, what, k, true);
        if (!cl_fault_fired(NULL, NULL, NULL)) break; /* past the run's last call */
        if (s) {
            c.failed++;
            assert_clean_failure(s, clg_model_errmsg(m), what, k);
        } else {
            c.absorbed++;
            note_absorbed(what, k);
        }
        /* The same model runs again: no plan was left broken. */
        if (run_buffers_and_check(m, cl, q, &l, what, k, false))
            fail_msg("%s, k=%ld: the model's next run: %s", what, k, clg_model_errmsg(m));
    }
    c.calls = k - 1;
    clg_model_destroy(m);
    assert_no_leak(before, &host, host_before, true, what, k);
    report(what, c, t0);
    assert_true(c.failed > 0);
    clg_context_destroy(ctx);
    assert_int_equal(host.live, 0);
    clReleaseCommandQueue(q);
    clReleaseContext(cl);
    unload(&mlp, &l);
}

/* Attention's way (fused or not) timed on the device at every plan, as
 * CLGRAPH_ATTENTION=measure (or a context measuring its GEMMs) asks: the timing's own buffers, trial plans and launches fail too, and
 * a candidate that fails is not chosen, so most of these failures are
 * absorbed; none may leak or give a wrong number. Every third k: most of
 * the calls are the timing's repeated launches of the same steps. */
static void test_faults_measured_attention(void **state)
{
    (void)state;
    if (!have_device()) skip();
    setenv("CLGRAPH_ATTENTION", "measure", 1);
    loaded l;
    load_case(&encoder, &l);
    counting_alloc host = {0, 0};
    clg_context *ctx = open_context("generated", &host);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, l.g), CLG_OK);
    assert_int_equal(run_and_check(m, &l, encoder.name, 0), CLG_OK);
    clg_model_destroy(m);
    const char *what = "encoder_pre_gelu (attention measured) create";
    double t0 = now_s();
    sweep_counts c = sweep_create(ctx, &host, &l, what, false, 3);
    report(what, c, t0);
    clg_context_destroy(ctx);
    assert_int_equal(host.live, 0);
    unload(&encoder, &l);
    setenv("CLGRAPH_ATTENTION", "fused", 1);
}

static void test_faults_residual_mlp(void **state)
{
    (void)state;
    sweep_model(&mlp, true);
}

static void test_faults_build_from_source(void **state)
{
    (void)state;
    if (!have_device()) skip();
    build_from_source();
}

static void test_faults_conv(void **state)
{
    (void)state;
    sweep_model(&resnet, false);
}

static void test_faults_transformer(void **state)
{
    (void)state;
    sweep_model(&encoder, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_residual_mlp),
        cmocka_unit_test(test_faults_build_from_source),
        cmocka_unit_test(test_faults_conv),
        cmocka_unit_test(test_faults_transformer),
        cmocka_unit_test(test_faults_measured_attention),
        cmocka_unit_test(test_faults_buffers),
    };
    /* CLGRAPH_FAULT_TEST=NAME runs only the tests whose names match it
     * (cmocka's filter, * as a wildcard), for a quick look at one sweep. */
    if (getenv("CLGRAPH_FAULT_TEST")) cmocka_set_test_filter(getenv("CLGRAPH_FAULT_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
