/* The thread-safety contract of include/clgraph.h, hammered: threads that
 * each create their own models on one shared context at the same time (an
 * MLP, a small ResNet and a transformer encoder exported from PyTorch) and
 * then run them many times, through host tensors and through OpenCL
 * buffers, every result checked against the reference executor (computed
 * once, before the threads start); and concurrent creation of one graph's
 * models on a fresh context, so that the program cache's builds collide.
 * Built with -DCLGRAPH_SANITIZE=thread, it is the ThreadSanitizer stage of
 * scripts/test.sh. Threads record failures; the main thread asserts (cmocka
 * cannot fail from another thread). Skips without an OpenCL device. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "models.h"
#include "runtime.h"

#define THREADS 4
#define RUNS 12 /* per thread, spread over its models */
#define MAX_IO 4

/* One model's work: its graph, an input and the reference's outputs. */
typedef struct job {
    const char *name;
    clg_graph *g;
    int n_in, n_out;
    clg_tensor in[MAX_IO];
    clg_tensor ref[MAX_IO];
    size_t in_count[MAX_IO], out_count[MAX_IO];
    double tol;
} job;

typedef struct worker {
    int id;
    clg_context *ctx;
    job *jobs;
    int n_jobs;
    pthread_barrier_t *start;
    int runs_checked;
    char failure[1024]; /* "" while all is well */
} worker;

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static double rel_error(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst / scale;
}

/* A job for g at batch (its inputs seeded), with the reference's outputs. */
static void job_make(job *j, const char *name, clg_graph *g, int64_t batch, const clg_tensor *given, double tol)
{
    memset(j, 0, sizeof *j);
    j->name = name;
    j->g = g;
    j->tol = tol;
    j->n_in = clg_graph_input_count(g);
    j->n_out = clg_graph_output_count(g);
    assert_true(j->n_in <= MAX_IO && j->n_out <= MAX_IO);
    for (int i = 0; i < j->n_in; i++) {
        clg_dtype dt;
        assert_int_equal(clg_graph_input_dtype(g, i, &dt), CLG_OK);
        assert_int_equal(dt, CLG_DTYPE_F32);
        if (given) {
            j->in[i] = given[i];
        } else {
            j->in[i].dtype = CLG_DTYPE_F32;
            assert_int_equal(clg_graph_input_info(g, i, NULL, &j->in[i].rank, j->in[i].dims), CLG_OK);
            for (int d = 0; d < j->in[i].rank; d++)
                if (j->in[i].dims[d] == CLG_BATCH) j->in[i].dims[d] = batch;
        }
        size_t count = 1;
        for (int d = 0; d < j->in[i].rank; d++) count *= (size_t)j->in[i].dims[d];
        j->in_count[i] = count;
        float *data = malloc(count * sizeof(float));
        assert_non_null(data);
        if (given) memcpy(data, given[i].data, count * sizeof(float));
        else fill(data, count, 11u * (unsigned)i + 3u);
        j->in[i].data = data;
    }
    for (int i = 0; i < j->n_out; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_output_shape(g, i, j->in, j->n_in, &rank, dims), CLG_OK);
        size_t count = 1;
        for (int d = 0; d < rank; d++) count *= (size_t)dims[d];
        j->out_count[i] = count;
        j->ref[i] = (clg_tensor){malloc(count * sizeof(float)), 0, {0}, CLG_DTYPE_F32};
    }
    if (clg_graph_run_reference(g, j->in, j->n_in, j->ref, j->n_out) != CLG_OK)
        fail_msg("%s: reference: %s", name, clg_graph_errmsg(g));
}

static void job_free(job *j)
{
    for (int i = 0; i < j->n_in; i++) free(j->in[i].data);
    for (int i = 0; i < j->n_out; i++) free(j->ref[i].data);
    clg_graph_destroy(j->g);
}

/* One run of model m on job j, through host tensors or buffers, checked. */
static bool run_checked(worker *w, clg_model *m, const job *j, bool buffers, int run)
{
    float *got[MAX_IO] = {NULL};
    cl_mem in_buf[MAX_IO] = {NULL}, out_buf[MAX_IO] = {NULL};
    bool ok = true;
    clg_status s = CLG_OK;
    for (int i = 0; i < j->n_out; i++) {
        got[i] = malloc(j->out_count[i] * sizeof(float));
        if (!got[i]) ok = false;
    }
    if (ok && !buffers) {
        clg_tensor out[MAX_IO];
        for (int i = 0; i < j->n_out; i++) out[i] = (clg_tensor){got[i], 0, {0}, CLG_DTYPE_F32};
        s = clg_model_run(m, j->in, j->n_in, out, j->n_out);
    } else if (ok) {
        clg_buffer bin[MAX_IO], bout[MAX_IO];
        cl_int err = CL_SUCCESS;
        for (int i = 0; i < j->n_in && err == CL_SUCCESS; i++) {
            in_buf[i] = clCreateBuffer(w->ctx->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                       j->in_count[i] * sizeof(float), j->in[i].data, &err);
            bin[i] = (clg_buffer){in_buf[i], 0, j->in[i].rank, {0}, CLG_DTYPE_F32};
            memcpy(bin[i].dims, j->in[i].dims, sizeof bin[i].dims);
        }
        for (int i = 0; i < j->n_out && err == CL_SUCCESS; i++) {
            out_buf[i] = clCreateBuffer(w->ctx->cl, CL_MEM_READ_WRITE, j->out_count[i] * sizeof(float), NULL, &err);
            bout[i] = (clg_buffer){out_buf[i], 0, 0, {0}, CLG_DTYPE_F32};
        }
        if (err != CL_SUCCESS) {
            snprintf(w->failure, sizeof w->failure, "thread %d: clCreateBuffer: %d", w->id, (int)err);
            ok = false;
        } else {
            cl_event done = NULL;
            s = clg_model_run_buffers(m, bin, j->n_in, bout, j->n_out, NULL, 0, &done);
            if (!s) {
                /* Read on the host after the run's event: a blocking read
                 * on the shared queue would serialise behind the others. */
                for (int i = 0; i < j->n_out && err == CL_SUCCESS; i++)
                    err = clEnqueueReadBuffer(w->ctx->queue, out_buf[i], CL_TRUE, 0, j->out_count[i] * sizeof(float),
                                              got[i], 1, &done, NULL);
                clReleaseEvent(done);
                if (err != CL_SUCCESS) {
                    snprintf(w->failure, sizeof w->failure, "thread %d: clEnqueueReadBuffer: %d", w->id, (int)err);
                    ok = false;
                }
            }
        }
    }
    if (ok && s) {
        snprintf(w->failure, sizeof w->failure, "thread %d, %s, run %d (%s): %s: %s", w->id, j->name, run,
                 buffers ? "buffers" : "host", clg_status_string(s), clg_model_errmsg(m));
        ok = false;
    }
    for (int i = 0; ok && i < j->n_out; i++) {
        double e = rel_error(got[i], j->ref[i].data, j->out_count[i]);
        if (!(e <= j->tol)) {
            snprintf(w->failure, sizeof w->failure, "thread %d, %s, run %d (%s): output %d error %g > %g", w->id,
                     j->name, run, buffers ? "buffers" : "host", i, e, j->tol);
            ok = false;
        }
    }
    for (int i = 0; i < MAX_IO; i++) {
        free(got[i]);
        if (in_buf[i]) clReleaseMemObject(in_buf[i]);
        if (out_buf[i]) clReleaseMemObject(out_buf[i]);
    }
    return ok;
}

/* Creates a model of every job (all threads at once), then runs them. */
static void *work(void *arg)
{
    worker *w = arg;
    clg_model *models[8] = {NULL};
    pthread_barrier_wait(w->start);
    bool ok = true;
    for (int j = 0; j < w->n_jobs && ok; j++) {
        /* Each thread starts with another model, so creations differ. */
        int k = (j + w->id) % w->n_jobs;
        if (clg_model_create(&models[k], w->ctx, w->jobs[k].g) != CLG_OK) {
            snprintf(w->failure, sizeof w->failure, "thread %d: creating %s: %s", w->id, w->jobs[k].name,
                     clg_model_errmsg(models[k]));
            ok = false;
        }
    }
    for (int r = 0; r < RUNS && ok; r++) {
        int k = (r + w->id) % w->n_jobs;
        ok = run_checked(w, models[k], &w->jobs[k], r % 3 == 2, r);
        if (ok) w->runs_checked++;
    }
    for (int j = 0; j < w->n_jobs; j++) clg_model_destroy(models[j]);
    return NULL;
}

static int run_workers(clg_context *ctx, job *jobs, int n_jobs, int threads)
{
    pthread_t tid[THREADS];
    worker w[THREADS];
    pthread_barrier_t start;
    assert_true(threads <= THREADS);
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)threads), 0);
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){t, ctx, jobs, n_jobs, &start, 0, ""};
        assert_int_equal(pthread_create(&tid[t], NULL, work, &w[t]), 0);
    }
    int total = 0;
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&start);
    for (int t = 0; t < threads; t++) {
        if (w[t].failure[0]) fail_msg("%s", w[t].failure);
        total += w[t].runs_checked;
    }
    return total;
}

static clg_graph *load_fixture(const char *name, clg_tensor *x)
{
    char path[256];
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    snprintf(path, sizeof path, "tests/fixtures/%s/model.onnx", name);
    if (clg_graph_load_onnx(g, path) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    snprintf(path, sizeof path, "tests/fixtures/%s/input.npy", name);
    if (clg_graph_read_npy(g, path, 0, x) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    return g;
}

/* THREADS threads, each with an MLP, a small ResNet and a transformer
 * encoder of its own on the shared context, RUNS runs each. */
static void test_threads_share_a_context(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    job jobs[3];
    char *mlp = model_residual_mlp(2, 64), *cnn = model_small_resnet();
    job_make(&jobs[0], "mlp", test_parse(mlp), 5, NULL, 1e-4);
    job_make(&jobs[1], "small resnet", test_parse(cnn), 2, NULL, 1e-4);
    free(mlp);
    free(cnn);
    clg_tensor x = {0};
    clg_graph *enc = load_fixture("encoder_pre_gelu", &x);
    job_make(&jobs[2], "encoder_pre_gelu", enc, 0, &x, 1e-4);
    clg_graph_free_tensor(enc, &x);
    int checked = run_workers(ctx, jobs, 3, THREADS);
    printf("%d threads x %d runs on one context, 3 models each: %d results checked against the reference\n",
           THREADS, RUNS, checked);
    assert_int_equal(checked, THREADS * RUNS);
    for (int j = 0; j < 3; j++) job_free(&jobs[j]);
}

/* Models of one graph created at the same moment on a fresh context with
 * no disk cache: every program is built while the others wait for it. */
static void test_concurrent_create(void **state)
{
    (void)state;
    clg_context *shared = test_context();
    if (!shared) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(shared, &info), CLG_OK);
    char spec[16];
    snprintf(spec, sizeof spec, "%d", info.index);
    clg_context_options opts = CLG_CONTEXT_OPTIONS_INIT;
    opts.cache_dir = "";
    opts.gemm = "generated";
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, spec, 0, &opts, NULL, NULL) != CLG_OK)
        fail_msg("%s", clg_context_errmsg(ctx));
    job jobs[1];
    char *mlp = model_residual_mlp(1, 48);
    job_make(&jobs[0], "mlp", test_parse(mlp), 3, NULL, 1e-4);
    free(mlp);
    int checked = run_workers(ctx, jobs, 1, THREADS);
    printf("%d models of one graph created at once on a fresh context: %d results checked\n", THREADS, checked);
    assert_int_equal(checked, THREADS * RUNS);
    int memory_hits = 0, disk_hits = 0, builds = 0;
    clg_program_cache_stats(ctx, &memory_hits, &disk_hits, &builds);
    /* Each program was built once; the other threads found it built. */
    assert_int_equal(disk_hits, 0);
    assert_true(builds > 0);
    assert_true(memory_hits >= (THREADS - 1) * builds);
    job_free(&jobs[0]);
    clg_context_destroy(ctx);
}

/* Contexts are independent: threads each open their own context on the
 * same device at once (the device list, settings, the stored tuning applied
 * per device under its lock), build a model on it, run it and close it. */
typedef struct own_context {
    const char *spec;
    const job *j;
    int runs_checked;
    char failure[1024];
} own_context;

static void *own_context_work(void *arg)
{
    own_context *o = arg;
    clg_context *ctx = NULL;
    clg_model *m = NULL;
    if (clg_context_create(&ctx, o->spec, 0, NULL, NULL) != CLG_OK) {
        snprintf(o->failure, sizeof o->failure, "context: %s", clg_context_errmsg(ctx));
    } else if (clg_model_create(&m, ctx, o->j->g) != CLG_OK) {
        snprintf(o->failure, sizeof o->failure, "model: %s", clg_model_errmsg(m));
    } else {
        worker w = {0, ctx, NULL, 0, NULL, 0, ""};
        for (int r = 0; r < 3 && !w.failure[0]; r++)
            if (run_checked(&w, m, o->j, r == 1, r)) o->runs_checked++;
        memcpy(o->failure, w.failure, sizeof o->failure);
    }
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    return NULL;
}

static void test_concurrent_contexts(void **state)
{
    (void)state;
    clg_context *shared = test_context();
    if (!shared) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(shared, &info), CLG_OK);
    char spec[16];
    snprintf(spec, sizeof spec, "%d", info.index);
    job j;
    char *mlp = model_residual_mlp(1, 32);
    job_make(&j, "mlp", test_parse(mlp), 2, NULL, 1e-4);
    free(mlp);
    pthread_t tid[THREADS];
    own_context o[THREADS];
    for (int t = 0; t < THREADS; t++) {
        o[t] = (own_context){spec, &j, 0, ""};
        assert_int_equal(pthread_create(&tid[t], NULL, own_context_work, &o[t]), 0);
    }
    int checked = 0;
    for (int t = 0; t < THREADS; t++) pthread_join(tid[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        if (o[t].failure[0]) fail_msg("thread %d: %s", t, o[t].failure);
        checked += o[t].runs_checked;
    }
    printf("%d threads with a context each on one device: %d results checked\n", THREADS, checked);
    assert_int_equal(checked, THREADS * 3);
    job_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_share_a_context),
        cmocka_unit_test(test_concurrent_create),
        cmocka_unit_test(test_concurrent_contexts),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
