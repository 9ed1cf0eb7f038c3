/* clg_tune: the staged search for a device's CLBlast GEMM parameters.
 *
 * 1. Kernel stages (cheap per configuration): CLBlast's own tuners sample
 *    the copy/pad/transpose kernels, the direct GEMM kernel and the main
 *    Xgemm kernel in child processes (tune/tuners.c says why).
 * 2. The routine stage (a ~9 s compile per configuration on PoCL, so only a
 *    few): the best Xgemm candidates, and the direct kernel, are timed
 *    through CLBlastSgemm itself on the shapes models use, after checking
 *    its results against the host. Each candidate runs with
 *    XGEMM_MIN_INDIRECT_SIZE forced low (every shape on Xgemm) and the
 *    direct kernel once with it forced high, so the switch point can be
 *    placed where the measured times cross, instead of CLBlast's generic
 *    896 that sends everything below 896³ to an untuned direct kernel.
 * 3. The chosen set is timed once more as CLBlast will run it; it is stored
 *    only when it beats the parameters in effect when the tune began. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tuning.h"

#include <clblast_c.h>

/* ---------------------------------------------------------------- plans */

/* What models run: square GEMMs, Dense layers (B transposed, as exported
 * Gemm nodes store weights) at batch 1024, 64 and 1, and an im2col 3x3
 * convolution (128 channels at 28x28). */
static const clg_tune_gemm SHAPES[] = {
    {1024, 1024, 1024, false}, {512, 512, 512, false}, {1024, 512, 512, true},
    {1024, 128, 128, true},    {64, 512, 512, true},   {64, 128, 128, true},
    {1, 128, 128, true},       {128, 784, 1152, false},
};

/* Xgemm configurations known to do well (first: from clblast_tuner_xgemm on
 * a 2-core AVX-512 PoCL CPU, ~116 GFLOP/s at 1024³ against ~20 for the
 * generic parameters). They are candidates like any other: the routine
 * stage keeps one only if it measures best on this device. */
static const size_t SEEDS[][16] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    {0, 1, 16, 2, 8, 8, 128, 16, 8, 128, 0, 0, 1, 1, 8, 8},
    {0, 1, 32, 2, 8, 8, 32, 8, 8, 128, 1, 0, 0, 1, 4, 8},
    {1, 2, 1, 1, 16, 16, 128, 4, 4, 16, 0, 0, 0, 0, 8, 1},
};
#define N_SEEDS ((int)(sizeof SEEDS / sizeof *SEEDS))

int clg_tune_seed_count(void) { return N_SEEDS; }
const size_t *clg_tune_seed(int i) { return i >= 0 && i < N_SEEDS ? SEEDS[i] : NULL; }

void clg_tune_plan_for_level(clg_tune_level level, clg_tune_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->use_tuners = true;
    plan->copy_size = 1024;
    plan->shapes = SHAPES;
    plan->n_shapes = (int)(sizeof SHAPES / sizeof *SHAPES);
    if (level == CLG_TUNE_FULL) {
        /* ~1000 Xgemm and ~130 direct configurations on 512³, every
         * copy/transpose configuration: tens of minutes on a 2-core CPU. */
        plan->level = "full";
        plan->kernel_size = 512;
        double fraction[CLG_TK_COUNT] = {1, 1, 1, 1, 64, 128, 0};
        double seconds[CLG_TK_COUNT] = {300, 300, 300, 300, 900, 2400, 0};
        memcpy(plan->fraction, fraction, sizeof fraction);
        memcpy(plan->seconds, seconds, sizeof seconds);
        plan->candidates = 8;
        plan->n_seeds = N_SEEDS;
        plan->rounds = 3;
    } else {
        /* ~130 Xgemm configurations (both GEMMK variants), ~16 direct ones,
         * a quarter of the copy kernels on 256³: five to ten minutes on a
         * 2-core CPU. */
        plan->level = "quick";
        plan->kernel_size = 256;
        double fraction[CLG_TK_COUNT] = {4, 4, 4, 2, 512, 1024, 0};
        double seconds[CLG_TK_COUNT] = {15, 15, 15, 15, 60, 150, 0};
        memcpy(plan->fraction, fraction, sizeof fraction);
        memcpy(plan->seconds, seconds, sizeof seconds);
        plan->candidates = 2;
        plan->n_seeds = 1;
        plan->rounds = 2;
    }
}

/* ---------------------------------------------------------------- progress */

typedef struct tune_run {
    clg_context *ctx;
    const clg_tune_plan *plan;
    clg_tune_progress_fn progress;
    void *user;
    double start;
    clg_tune_progress p;
    double flops; /* of the current kernel stage's problem, for GFLOP/s */
    /* device buffers for the routine stage */
    cl_mem a, b, c;
    float *host_a, *host_b; /* the first CHECK elements of a and b */
} tune_run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(tune_run *run)
{
    if (!run->progress) return;
    run->p.elapsed_s = now_s() - run->start;
    run->progress(run->user, &run->p);
}

static void begin_stage(tune_run *run, const char *name, const char *unit, int total)
{
    run->p.stage = name;
    run->p.stage_index++;
    run->p.done = 0;
    run->p.total = total;
    run->p.best = 0;
    run->p.unit = unit;
    report(run);
}

static void on_tuner_row(void *user, int done, int total, double best_ms)
{
    tune_run *run = user;
    run->p.done = done;
    run->p.total = total > done ? total : done;
    run->p.best = best_ms > 0 ? run->flops / (best_ms * 1e6) : 0;
    report(run);
}

/* ---------------------------------------------------------------- kernel stages */

static const clg_tune_kernel_id KERNEL_STAGES[] = {
    CLG_TK_COPY, CLG_TK_PAD, CLG_TK_TRANSPOSE, CLG_TK_PADTRANSPOSE, CLG_TK_XGEMM_DIRECT,
    CLG_TK_XGEMM,
};
#define N_KERNEL_STAGES ((int)(sizeof KERNEL_STAGES / sizeof *KERNEL_STAGES))

/* Runs one tuner; results (fastest first) in out, empty when it is not
 * installed or measured nothing. */
static clg_status run_kernel_stage(tune_run *run, clg_tune_kernel_id id, const char *scratch,
                                   clg_tuner_results *out)
{
    clg_context *ctx = run->ctx;
    const clg_tune_plan *plan = run->plan;
    const clg_tune_kernel *k = clg_tune_kernel_get(id);
    bool gemm = id == CLG_TK_XGEMM || id == CLG_TK_XGEMM_DIRECT;
    size_t m = gemm ? plan->kernel_size : plan->copy_size;
    run->flops = gemm ? 2.0 * (double)m * (double)m * (double)m : 8.0 * (double)m * (double)m;
    begin_stage(run, k->name, gemm ? "GFLOP/s" : "GB/s", 0);
    memset(out, 0, sizeof *out);
    char *path = clg_tuner_find(&ctx->allocator, k->tuner);
    if (!path) return CLG_OK;
    char err[512] = "";
    clg_status s = clg_tuner_run(&ctx->allocator, path, id, &ctx->info, m, m, m, plan->fraction[id],
                                 plan->max_results, plan->seconds[id], scratch, on_tuner_row, run,
                                 out, err, sizeof err);
    clg_mem_free(&ctx->allocator, path);
    if (s == CLG_ERR_OUT_OF_MEMORY) return clg_ctx_fail(ctx, s, "out of memory");
    /* A tuner that cannot start or run only costs this stage. */
    return CLG_OK;
}

/* ---------------------------------------------------------------- routine stage */

/* The odd shape every parameter set is checked on: not a multiple of any
 * tile, so CLBlast's padding paths run too. */
#define CHECK_M 37
#define CHECK_N 29
#define CHECK_K 53
#define CHECK_ELEMS (CHECK_M * CHECK_K > CHECK_K * CHECK_N ? CHECK_M * CHECK_K : CHECK_K * CHECK_N)
/* Floats past the end of every buffer, and past the check's C, that a
 * parameter set must leave alone: on a CPU device a kernel writing past its
 * output corrupts the host heap, so such a set is refused, not timed. */
#define GUARD 16384
#define GUARD_BITS 0x7fc0dea1u

static size_t max_size(const clg_tune_plan *plan, int which)
{
    size_t best = CHECK_ELEMS;
    for (int i = 0; i < plan->n_shapes; i++) {
        const clg_tune_gemm *g = &plan->shapes[i];
        size_t e = which == 0 ? g->m * g->k : which == 1 ? g->k * g->n : g->m * g->n;
        if (e > best) best = e;
    }
    return best;
}

static CLBlastStatusCode gemm(tune_run *run, const clg_tune_gemm *g)
{
    clg_clblast_lock();
    CLBlastStatusCode rc = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                        g->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, g->m, g->n, g->k,
                                        1.0f, run->a, 0, g->k, run->b, 0, g->trans_b ? g->k : g->n, 0.0f, run->c,
                                        0, g->n, &run->ctx->queue, NULL);
    clg_clblast_unlock();
    return rc;
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

static clg_status setup_buffers(tune_run *run)
{
    clg_context *ctx = run->ctx;
    size_t sizes[3] = {max_size(run->plan, 0), max_size(run->plan, 1), max_size(run->plan, 2)};
    cl_mem *bufs[3] = {&run->a, &run->b, &run->c};
    for (int i = 0; i < 3; i++) {
        cl_int err = CL_SUCCESS;
        *bufs[i] = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (sizes[i] + GUARD) * sizeof(float), NULL, &err);
        if (!*bufs[i])
            return clg_ctx_cl_fail(ctx, err == CL_SUCCESS ? CL_OUT_OF_HOST_MEMORY : err,
                                   "clCreateBuffer", "tuning buffers");
    }
    size_t host = sizes[0] > sizes[1] ? sizes[0] : sizes[1];
    float *tmp = clg_mem_realloc(&ctx->allocator, NULL, host * sizeof(float));
    run->host_a = clg_mem_realloc(&ctx->allocator, NULL, CHECK_ELEMS * sizeof(float));
    run->host_b = clg_mem_realloc(&ctx->allocator, NULL, CHECK_ELEMS * sizeof(float));
    if (!tmp || !run->host_a || !run->host_b) {
        clg_mem_free(&ctx->allocator, tmp);
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < 2 && err == CL_SUCCESS; i++) {
        fill_random(tmp, sizes[i], 1234u + (uint64_t)i);
        memcpy(i == 0 ? run->host_a : run->host_b, tmp, CHECK_ELEMS * sizeof(float));
        err = clEnqueueWriteBuffer(ctx->queue, *bufs[i], CL_TRUE, 0, sizes[i] * sizeof(float), tmp,
                                   0, NULL, NULL);
    }
    clg_mem_free(&ctx->allocator, tmp);
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clEnqueueWriteBuffer", "tuning buffers");
    return CLG_OK;
}

static void release_buffers(tune_run *run)
{
    if (run->a) clReleaseMemObject(run->a);
    if (run->b) clReleaseMemObject(run->b);
    if (run->c) clReleaseMemObject(run->c);
    clg_mem_free(&run->ctx->allocator, run->host_a);
    clg_mem_free(&run->ctx->allocator, run->host_b);
}

/* Runs the check shape with and without B transposed and compares with a
 * double-precision host GEMM. 0 when right, else the CLBlast/OpenCL error
 * or 1 for wrong numbers. */
/* Whether the GUARD floats from element `from` of run->c still hold the
 * sentinel (fill: write it there first). */
static int guard(tune_run *run, size_t from, bool fill, bool *intact)
{
    cl_int rc;
    if (fill) {
        cl_uint bits = GUARD_BITS;
        return clEnqueueFillBuffer(run->ctx->queue, run->c, &bits, sizeof bits, from * sizeof(float),
                                   GUARD * sizeof(float), 0, NULL, NULL);
    }
    /* Allocated per call, not a static array: two contexts may tune (each
     * its own device) from two threads at once. */
    cl_uint *words = clg_mem_calloc(&run->ctx->allocator, GUARD, sizeof *words);
    if (!words) return CL_OUT_OF_HOST_MEMORY;
    rc = clEnqueueReadBuffer(run->ctx->queue, run->c, CL_TRUE, from * sizeof(float), GUARD * sizeof *words, words,
                             0, NULL, NULL);
    *intact = true;
    for (int i = 0; i < GUARD && rc == CL_SUCCESS; i++)
        if (words[i] != GUARD_BITS) *intact = false;
    clg_mem_free(&run->ctx->allocator, words);
    return rc;
}

/* 0: right; 1: wrong numbers or a write past C; else a CLBlast or OpenCL
 * error. */
static int check_results(tune_run *run)
{
    float c[CHECK_M * CHECK_N];
    for (int tb = 0; tb < 2; tb++) {
        clg_tune_gemm g = {CHECK_M, CHECK_N, CHECK_K, tb == 1};
        bool intact = true;
        int rc = guard(run, CHECK_M * CHECK_N, true, NULL);
        if (rc == 0) rc = (int)gemm(run, &g);
        if (rc == 0)
            rc = clEnqueueReadBuffer(run->ctx->queue, run->c, CL_TRUE, 0, sizeof c, c, 0, NULL,
                                     NULL);
        if (rc == 0) rc = guard(run, CHECK_M * CHECK_N, false, &intact);
        if (rc != 0) return rc;
        if (!intact) return 1;
        for (int i = 0; i < CHECK_M; i++)
            for (int j = 0; j < CHECK_N; j++) {
                double sum = 0, mag = 0;
                for (int k = 0; k < CHECK_K; k++) {
                    double x = run->host_a[i * CHECK_K + k];
                    double y = tb ? run->host_b[j * CHECK_K + k] : run->host_b[k * CHECK_N + j];
                    sum += x * y;
                    mag += fabs(x * y);
                }
                if (!(fabs(c[i * CHECK_N + j] - sum) <= 1e-4 * mag + 1e-6)) return 1;
            }
    }
    return 0;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Seconds per call of one shape: a warm-up call (which builds CLBlast's
 * program after an override), then the fastest of 5 samples of enough
 * back-to-back calls to last ~20 ms, with one wait per sample. */
static int time_shape(tune_run *run, const clg_tune_gemm *g, double *seconds)
{
    cl_command_queue q = run->ctx->queue;
    int rc = (int)gemm(run, g);
    if (rc == 0) rc = clFinish(q);
    double t0 = now_s();
    if (rc == 0) rc = (int)gemm(run, g);
    if (rc == 0) rc = clFinish(q);
    if (rc != 0) return rc;
    double one = now_s() - t0;
    int reps = one > 0.02 ? 1 : one < 1e-4 ? 200 : (int)(0.02 / one) + 1;
    double samples[5];
    for (int s = 0; s < 5; s++) {
        t0 = now_s();
        for (int r = 0; r < reps && rc == 0; r++) rc = (int)gemm(run, g);
        if (rc == 0) rc = clFinish(q);
        if (rc != 0) return rc;
        samples[s] = (now_s() - t0) / reps;
    }
    /* The fastest sample: other processes only ever add time. */
    qsort(samples, 5, sizeof *samples, cmp_double);
    *seconds = samples[0];
    return 0;
}

static double gflops(const clg_tune_gemm *g, double seconds)
{
    return seconds > 0 ? 2.0 * (double)g->m * (double)g->n * (double)g->k / seconds * 1e-9 : 0;
}

/* Times every shape with what CLBlast now has (checking the results first
 * when check), keeping each shape's fastest time so far in times. */
static int sweep(tune_run *run, bool check, double *times)
{
    size_t end = max_size(run->plan, 2);
    int rc = guard(run, end, true, NULL);
    if (rc == 0 && check) rc = check_results(run);
    for (int i = 0; rc == 0 && i < run->plan->n_shapes; i++) {
        double t = 0;
        rc = time_shape(run, &run->plan->shapes[i], &t);
        if (rc == 0 && !(t >= times[i])) times[i] = t;
        run->p.done++;
        double gf = gflops(&run->plan->shapes[i], t);
        if (rc == 0 && i == 0 && gf > run->p.best) run->p.best = gf; /* the first shape's best */
        report(run);
    }
    bool intact = true;
    if (rc == 0) rc = guard(run, end, false, &intact);
    return rc == 0 && !intact ? 1 : rc;
}

static double log_sum(const double *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += log(t[i]);
    return s;
}

static double cube(double x) { return x * x * x; }

/* XGEMM_MIN_INDIRECT_SIZE from per-shape times on each path: CLBlast runs
 * the direct kernel when m·n·k < size³. Every cut between shapes sorted by
 * m·n·k is tried; the one with the least total log time wins (*score),
 * placed at the geometric middle of the cut so shapes between go to the
 * nearer side. */
static size_t choose_switch(const clg_tune_plan *plan, const double *t_direct,
                            const double *t_indirect, double *score)
{
    int n = plan->n_shapes;
    int order[CLG_TUNE_MAX_SHAPES];
    double vol[CLG_TUNE_MAX_SHAPES];
    for (int i = 0; i < n; i++) {
        order[i] = i;
        vol[i] = (double)plan->shapes[i].m * (double)plan->shapes[i].n * (double)plan->shapes[i].k;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && vol[order[j]] < vol[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    /* cut = number of smallest shapes sent to the direct kernel */
    int best_cut = 0;
    double best = INFINITY;
    for (int cut = 0; cut <= n; cut++) {
        if (cut > 0 && cut < n && vol[order[cut]] == vol[order[cut - 1]]) continue;
        double s = 0;
        for (int i = 0; i < n; i++)
            s += log(i < cut ? t_direct[order[i]] : t_indirect[order[i]]);
        if (s < best - 1e-9) {
            best = s;
            best_cut = cut;
        }
    }
    *score = best;
    if (best_cut == 0) return 1;
    double lo = cbrt(vol[order[best_cut - 1]]);
    double hi = best_cut < n ? cbrt(vol[order[best_cut]]) : 2 * lo;
    size_t size = (size_t)ceil(sqrt(lo * hi));
    while (cube((double)size) <= vol[order[best_cut - 1]]) size++;
    if (best_cut < n)
        while (size > 1 && cube((double)size) > vol[order[best_cut]]) size--;
    return size;
}

/* Hands CLBlast one kernel's values; false (with ctx's message) if it refuses. */
static bool override(tune_run *run, clg_tune_kernel_id id, const size_t *values)
{
    int rc = clg_tuning_override(run->ctx->device, id, values);
    if (rc != 0)
        clg_ctx_cl_fail(run->ctx, rc, "CLBlastOverrideParameters", "%s",
                        clg_tune_kernel_get(id)->name);
    return rc == 0;
}

static bool override_all(tune_run *run, const clg_tuning *t)
{
    for (int id = 0; id < CLG_TK_COUNT; id++)
        if (t->has[id] && !override(run, (clg_tune_kernel_id)id, t->values[id])) return false;
    return true;
}

/* Sweep failures: rc 1 is wrong numbers, anything else a CLBlast or
 * OpenCL error. */
static clg_status sweep_failed(clg_context *ctx, int rc, const char *what)
{
    if (rc == 1)
        return clg_ctx_fail(ctx, CLG_ERR_OPENCL, "CLBlastSgemm gives wrong results (or writes past C) with %s",
                            what);
    return clg_ctx_cl_fail(ctx, rc, "CLBlastSgemm", "timing %s", what);
}

/* ---------------------------------------------------------------- clg_tune */

/* The status line, cut to fit (a context message can be a build log). */
static void fill_result(clg_tune_info *result, const char *status)
{
    if (!result) return;
    size_t n = strcspn(status, "\n");
    if (n >= sizeof result->status) n = sizeof result->status - 1;
    memcpy(result->status, status, n);
    result->status[n] = '\0';
}

#define MAX_CANDIDATES 16

/* Adds values to cands unless already there. */
static void add_candidate(size_t cands[][CLG_TK_MAX_PARAMS], int *n, const size_t *values)
{
    if (*n == MAX_CANDIDATES) return;
    for (int j = 0; j < *n; j++)
        if (memcmp(cands[j], values, CLG_TK_MAX_PARAMS * sizeof(size_t)) == 0) return;
    memcpy(cands[(*n)++], values, CLG_TK_MAX_PARAMS * sizeof(size_t));
}

clg_status clg_tune_run(clg_context *ctx, const clg_tune_plan *plan, clg_tune_progress_fn progress,
                        void *user, clg_tune_info *result)
{
    if (result) memset(result, 0, sizeof *result);
    if (!ctx || !plan || !ctx->device || !ctx->queue) return CLG_ERR_INVALID_ARGUMENT;
    if (plan->n_shapes < 1 || plan->n_shapes > CLG_TUNE_MAX_SHAPES || plan->n_seeds > N_SEEDS ||
        plan->candidates < 0 || plan->n_seeds < 0)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "invalid tuning plan");
    const clg_allocator *al = &ctx->allocator;
    tune_run run = {.ctx = ctx, .plan = plan, .progress = progress, .user = user, .start = now_s()};
    clg_tuner_results res[CLG_TK_COUNT];
    memset(res, 0, sizeof res);
    char *dir = NULL, *scratch = NULL;
    double *times = NULL;
    clg_tuning orig, chosen;  /* what CLBlast ran before the tune; what it picks */
    bool changed = false, stored = false;
    clg_status s = CLG_OK;
    if (ctx->tuning_dir) {
        size_t n = strlen(ctx->tuning_dir) + 1;
        if (!(dir = clg_mem_realloc(al, NULL, n))) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(dir, ctx->tuning_dir, n);
    }
    if (!dir) {
        s = clg_ctx_fail(ctx, CLG_ERR_IO,
                         "no cache directory to store tuned parameters in (the context's cache_dir "
                         "is \"\", or neither CLGRAPH_CACHE_DIR nor HOME is set)");
        goto done;
    }
    if (!clg_make_dirs(dir)) {
        s = clg_ctx_fail(ctx, CLG_ERR_IO, "cannot create the cache directory %s", dir);
        goto done;
    }
    if (result) {
        char *path = clg_tuning_path(al, dir, &ctx->info);
        if (path) snprintf(result->path, sizeof result->path, "%s", path);
        clg_mem_free(al, path);
    }

    /* What CLBlast runs now, so that it can be put back exactly when the
     * tune finds nothing better or fails half-way. */
    memset(&orig, 0, sizeof orig);
    for (int id = 0; id < CLG_TK_COUNT; id++) {
        int rc = clg_tuning_retrieve(ctx->device, (clg_tune_kernel_id)id, orig.values[id]);
        if (rc != 0) {
            s = clg_ctx_cl_fail(ctx, rc, "clblast::RetrieveParameters", "%s",
                                clg_tune_kernel_get((clg_tune_kernel_id)id)->name);
            goto done;
        }
        orig.has[id] = true;
    }

    /* Which kernel stages run: every tuner that is installed and asked for. */
    bool run_stage[N_KERNEL_STAGES] = {false};
    int n_stages = 1;
    for (int i = 0; plan->use_tuners && i < N_KERNEL_STAGES; i++) {
        clg_tune_kernel_id id = KERNEL_STAGES[i];
        char *path = plan->fraction[id] > 0 ? clg_tuner_find(al, clg_tune_kernel_get(id)->tuner)
                                            : NULL;
        run_stage[i] = path != NULL;
        n_stages += path != NULL;
        clg_mem_free(al, path);
    }
    run.p.stage_count = n_stages;
    if (n_stages > 1) {
        size_t n = strlen(dir) + 32;
        scratch = clg_mem_realloc(al, NULL, n);
        if (!scratch) {
            s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        snprintf(scratch, n, "%s/tune-XXXXXX", dir);
        if (!mkdtemp(scratch)) {
            s = clg_ctx_fail(ctx, CLG_ERR_IO, "cannot create a scratch directory in %s", dir);
            clg_mem_free(al, scratch);
            scratch = NULL;
            goto done;
        }
    }
    for (int i = 0; i < N_KERNEL_STAGES; i++) {
        if (!run_stage[i]) continue;
        s = run_kernel_stage(&run, KERNEL_STAGES[i], scratch, &res[KERNEL_STAGES[i]]);
        if (s != CLG_OK) goto done;
    }

    /* Xgemm candidates: the one in effect, the tuner's best few, seeds (the
     * first one at least when the tuner measured nothing). */
    size_t cands[MAX_CANDIDATES][CLG_TK_MAX_PARAMS];
    int n_cands = 0;
    add_candidate(cands, &n_cands, orig.values[CLG_TK_XGEMM]);
    for (int i = 0; i < res[CLG_TK_XGEMM].count && n_cands < 1 + plan->candidates; i++)
        add_candidate(cands, &n_cands, res[CLG_TK_XGEMM].items[i].values);
    int n_seeds = res[CLG_TK_XGEMM].count == 0 && plan->n_seeds == 0 ? 1 : plan->n_seeds;
    for (int i = 0; i < n_seeds; i++) {
        size_t seed[CLG_TK_MAX_PARAMS] = {0};
        memcpy(seed, SEEDS[i], sizeof SEEDS[i]);
        add_candidate(cands, &n_cands, seed);
    }
    /* Direct kernels: the one in effect and the tuner's best. */
    size_t directs[2][CLG_TK_MAX_PARAMS];
    int n_directs = 1;
    memcpy(directs[0], orig.values[CLG_TK_XGEMM_DIRECT], sizeof directs[0]);
    if (res[CLG_TK_XGEMM_DIRECT].count > 0 &&
        memcmp(res[CLG_TK_XGEMM_DIRECT].items[0].values, directs[0], sizeof directs[0]) != 0)
        memcpy(directs[n_directs++], res[CLG_TK_XGEMM_DIRECT].items[0].values, sizeof directs[0]);

    /* The routine stage. Configurations: the baseline; each direct kernel
     * with every shape sent to it; each Xgemm candidate with every shape
     * sent to Xgemm. The first round builds each one's CLBlast program
     * (the cost of this stage) and checks its results; later rounds switch
     * between them for free (CLBlast keeps built programs per parameter
     * set) and keep each shape's fastest time, rotating the order so that
     * load from other processes does not favour one configuration. */
    int ns = plan->n_shapes, n_cfg = 1 + n_directs + n_cands;
    int rounds = plan->rounds > 0 ? plan->rounds : 1;
    begin_stage(&run, "GEMM routine", "GFLOP/s", (rounds * n_cfg + 2 * (rounds + 1)) * ns);
    clg_tuning *cfg = clg_mem_calloc(al, (size_t)n_cfg, sizeof *cfg);
    bool *usable = clg_mem_calloc(al, (size_t)n_cfg, sizeof *usable);
    times = clg_mem_calloc(al, (size_t)(n_cfg + 1) * (size_t)ns, sizeof *times);
    if (!cfg || !usable || !times) {
        clg_mem_free(al, cfg);
        clg_mem_free(al, usable);
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int i = 0; i < (n_cfg + 1) * ns; i++) times[i] = INFINITY;
    double *t_final = times + (size_t)n_cfg * (size_t)ns;
    size_t all_direct = 1u << 20, all_indirect = 1;
    chosen = orig;
    /* The copy kernels only serve the Xgemm path; they are judged with it. */
    for (int id = CLG_TK_COPY; id <= CLG_TK_PADTRANSPOSE; id++)
        if (res[id].count > 0)
            memcpy(chosen.values[id], res[id].items[0].values, sizeof chosen.values[id]);
    for (int c = 0; c < n_cfg; c++) {
        usable[c] = true;
        cfg[c] = c == 0 ? orig : chosen;
        if (c >= 1 && c <= n_directs) {
            memcpy(cfg[c].values[CLG_TK_XGEMM_DIRECT], directs[c - 1], sizeof directs[0]);
            cfg[c].values[CLG_TK_GEMM_ROUTINE][0] = all_direct;
        } else if (c > n_directs) {
            memcpy(cfg[c].values[CLG_TK_XGEMM], cands[c - 1 - n_directs], sizeof cands[0]);
            cfg[c].values[CLG_TK_GEMM_ROUTINE][0] = all_indirect;
        }
    }
    s = setup_buffers(&run);
    for (int r = 0; s == CLG_OK && r < rounds; r++) {
        for (int j = 0; j < n_cfg; j++) {
            int c = (j + r) % n_cfg;
            if (!usable[c]) {
                run.p.done += ns;
                continue;
            }
            changed = true; /* from here on CLBlast runs what the search gives it */
            if (!override_all(&run, &cfg[c])) {
                s = CLG_ERR_OPENCL;
                break;
            }
            int done_before = run.p.done;
            int rc = sweep(&run, r == 0, times + (size_t)c * (size_t)ns);
            run.p.done = done_before + ns;
            if (rc == 0) continue;
            /* Without a working baseline or direct kernel nothing can be
             * decided; a tuned configuration that fails is dropped. */
            if (c <= 1) {
                s = sweep_failed(ctx, rc, c == 0 ? "the parameters in effect"
                                                 : "the direct GEMM kernel in effect");
                break;
            }
            usable[c] = false;
        }
    }
    int best = -1, best_direct = 1;
    double best_score = INFINITY;
    size_t best_switch = 1;
    for (int c = 1 + n_directs; s == CLG_OK && c < n_cfg; c++) {
        double score = usable[c] ? log_sum(times + (size_t)c * (size_t)ns, ns) : INFINITY;
        if (score < best_score) {
            best_score = score;
            best = c;
        }
    }
    if (s == CLG_OK && best < 0)
        s = clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                         "none of the %d Xgemm configurations ran correctly on this device",
                         n_cands);
    /* The direct kernel and the switch point, chosen together. */
    best_score = INFINITY;
    for (int d = 1; s == CLG_OK && d <= n_directs; d++) {
        double score;
        if (!usable[d]) continue;
        size_t sw = choose_switch(plan, times + (size_t)d * (size_t)ns,
                                  times + (size_t)best * (size_t)ns, &score);
        if (score < best_score) {
            best_score = score;
            best_direct = d;
            best_switch = sw;
        }
    }
    if (s == CLG_OK) {
        memcpy(chosen.values[CLG_TK_XGEMM], cfg[best].values[CLG_TK_XGEMM],
               sizeof chosen.values[CLG_TK_XGEMM]);
        memcpy(chosen.values[CLG_TK_XGEMM_DIRECT], cfg[best_direct].values[CLG_TK_XGEMM_DIRECT],
               sizeof chosen.values[CLG_TK_XGEMM_DIRECT]);
        chosen.values[CLG_TK_GEMM_ROUTINE][0] = best_switch;
    }
    /* The set as CLBlast will run it against the baseline, alternating,
     * ending on the chosen set. */
    double *t_base = times;
    for (int r = 0; s == CLG_OK && r < 2 * (rounds + 1); r++) {
        bool final = r % 2 == 1;
        if (!override_all(&run, final ? &chosen : &orig)) {
            s = CLG_ERR_OPENCL;
            break;
        }
        int rc = sweep(&run, final && r == 1, final ? t_final : t_base);
        if (rc != 0) s = sweep_failed(ctx, rc, final ? "the chosen parameters" : "the parameters in effect");
    }
    clg_mem_free(al, cfg);
    clg_mem_free(al, usable);
    if (s != CLG_OK) goto done;

    /* The file holds what differs from what CLBlast ran before. */
    clg_tuning t;
    memset(&t, 0, sizeof t);
    for (int id = 0; id < CLG_TK_COUNT; id++) {
        t.has[id] = memcmp(chosen.values[id], orig.values[id], sizeof orig.values[id]) != 0;
        memcpy(t.values[id], chosen.values[id], sizeof t.values[id]);
    }
    t.created = (int64_t)time(NULL);
    snprintf(t.level, sizeof t.level, "%s", plan->level ? plan->level : "custom");
    t.seconds = now_s() - run.start;
    t.n_shapes = ns;
    for (int i = 0; i < ns; i++) {
        clg_tune_shape *sh = &t.shapes[i];
        sh->m = (int64_t)plan->shapes[i].m;
        sh->n = (int64_t)plan->shapes[i].n;
        sh->k = (int64_t)plan->shapes[i].k;
        sh->trans_b = plan->shapes[i].trans_b;
        sh->before_gflops = gflops(&plan->shapes[i], t_base[i]);
        sh->after_gflops = gflops(&plan->shapes[i], t_final[i]);
    }
    if (result) clg_tuning_describe(&t, result);
    /* Stored only when faster overall (geometric mean over the shapes). */
    if (log_sum(t_final, ns) >= log_sum(t_base, ns)) {
        fill_result(result, "no faster parameters found; nothing stored, the previous ones "
                            "are back in effect");
        goto done;
    }
    char err[512];
    s = clg_tuning_store(al, dir, &ctx->info, &t, err, sizeof err);
    if (s != CLG_OK) {
        clg_ctx_fail(ctx, s, "%s", err);
        goto done;
    }
    /* CLBlast already runs exactly this (the final sweep set it); this
     * records it as the device's stored set. */
    clg_tuning_apply_set(ctx->device, &t);
    stored = true;
    if (result) {
        result->tuned = 1;
        result->applied = 1;
        fill_result(result, "tuned");
    }

done:
    /* Put back what CLBlast ran before, so a failed or fruitless tune
     * leaves the process as it found it. */
    if (changed && !stored) {
        int failed = 0;
        for (int id = 0; id < CLG_TK_COUNT; id++)
            failed |= clg_tuning_override(ctx->device, (clg_tune_kernel_id)id, orig.values[id]);
        if (failed) clg_tuning_forget(ctx->device);
    }
    if (result && s != CLG_OK) fill_result(result, ctx->errmsg);
    release_buffers(&run);
    for (int i = 0; i < CLG_TK_COUNT; i++) clg_tuner_results_free(al, &res[i]);
    if (scratch) clg_remove_tree(scratch);
    clg_mem_free(al, scratch);
    clg_mem_free(al, times);
    clg_mem_free(al, dir);
    return s;
}

clg_status clg_tune(clg_context *ctx, clg_tune_level level, clg_tune_progress_fn progress,
                    void *user, clg_tune_info *result)
{
    if (result) memset(result, 0, sizeof *result);
    if (!ctx || !ctx->device || (level != CLG_TUNE_QUICK && level != CLG_TUNE_FULL))
        return CLG_ERR_INVALID_ARGUMENT;
    clg_tune_plan plan;
    clg_tune_plan_for_level(level, &plan);
    return clg_tune_run(ctx, &plan, progress, user, result);
}
