/* GEMM speed on the default device: CLBlast with its own parameters against
 * CLBlast with the parameters `clgraph tune` stored, against NumPy
 * (OpenBLAS) on the host, on square GEMMs and Dense layers.
 *
 * Each configuration runs in its own process (CLBlast's parameters are
 * per process, so "default" and "tuned" cannot share one; NumPy runs with
 * OpenBLAS's threads and with one), and they alternate round after round,
 * rotating their order, so machine noise hits all alike; the table reports
 * the median over rounds. Two numbers per shape and clgraph configuration:
 *   - GEMM: the CLBlastSgemm call clg_plan_enqueue makes for the layer
 *     (row-major, Dense weights transposed), on the context's queue with
 *     data resident, back to back with one wait per sample, as NumPy's
 *     matmul is timed;
 *   - model: clg_model_run of the one-layer model (input upload, GEMM, bias,
 *     output read-back, the final wait), what an embedder sees.
 * Build and run: see bench/README.md (cmake target bench_gemm). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <clblast_c.h>

#include "runtime.h"

#ifndef CLG_SOURCE_DIR
#define CLG_SOURCE_DIR "."
#endif

typedef struct shape {
    const char *name; /* one word, for the child protocol */
    const char *label;
    size_t m, n, k;
    int dense; /* Gemm with transB=1 and a bias, as exported Dense layers */
} shape;

static const shape SHAPES[] = {
    {"sq1024", "1024×1024×1024", 1024, 1024, 1024, 0},
    {"sq512", "512×512×512", 512, 512, 512, 0},
    {"d128b64", "Dense 128→128, batch 64", 64, 128, 128, 1},
    {"d512b64", "Dense 512→512, batch 64", 64, 512, 512, 1},
    {"d128b1024", "Dense 128→128, batch 1024", 1024, 128, 128, 1},
    {"d512b1024", "Dense 512→512, batch 1024", 1024, 512, 512, 1},
    {"d128b1", "Dense 128→128, batch 1", 1, 128, 128, 1},
};
#define N_SHAPES ((int)(sizeof SHAPES / sizeof *SHAPES))

enum { DEFAULT, TUNED, OPENBLAS, OPENBLAS_1T, N_CONFIGS };
static const char *const CONFIG_NAMES[N_CONFIGS] = {"default", "tuned", "openblas", "openblas1"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seconds per call: two warm-up calls, then the median of 5 samples of
 * enough calls to last ~50 ms. call returns nonzero on failure. */
static int seconds_per_call(int (*call)(void *), void *arg, double *out)
{
    if (call(arg) || call(arg)) return 1;
    double t0 = now_s();
    if (call(arg)) return 1;
    double one = now_s() - t0;
    int reps = one >= 0.05 ? 1 : one < 1e-6 ? 50000 : (int)(0.05 / one) + 1;
    double samples[5];
    for (int s = 0; s < 5; s++) {
        t0 = now_s();
        for (int r = 0; r < reps; r++)
            if (call(arg)) return 1;
        samples[s] = (now_s() - t0) / reps;
    }
    *out = median(samples, 5);
    return 0;
}

/* ---------------------------------------------------------------- child: clgraph */

typedef struct gemm_call {
    clg_context *ctx;
    const shape *s;
    cl_mem a, b, c;
    int batch; /* calls per wait */
} gemm_call;

static int run_gemm(void *arg)
{
    gemm_call *g = arg;
    const shape *s = g->s;
    for (int i = 0; i < g->batch; i++) {
        CLBlastStatusCode rc = CLBlastSgemm(
            CLBlastLayoutRowMajor, CLBlastTransposeNo,
            s->dense ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k, 1.0f, g->a, 0,
            s->k, g->b, 0, s->dense ? s->k : s->n, 0.0f, g->c, 0, s->n, &g->ctx->queue, NULL);
        if (rc != CLBlastSuccess) {
            fprintf(stderr, "CLBlastSgemm %s: %d\n", s->name, (int)rc);
            return 1;
        }
    }
    return clFinish(g->ctx->queue) != CL_SUCCESS;
}

typedef struct model_call {
    clg_model *model;
    clg_tensor in, out;
} model_call;

static int run_model(void *arg)
{
    model_call *mc = arg;
    if (clg_model_run(mc->model, &mc->in, 1, &mc->out, 1) != CLG_OK) {
        fprintf(stderr, "run: %s\n", clg_model_errmsg(mc->model));
        return 1;
    }
    return 0;
}

static cl_mem random_buffer(clg_context *ctx, size_t n, unsigned seed)
{
    float *h = malloc(n * sizeof *h);
    if (!h) return NULL;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        h[i] = (float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * sizeof *h, h,
                              &err);
    free(h);
    return err == CL_SUCCESS ? m : NULL;
}

static int time_shape(clg_context *ctx, const shape *s)
{
    /* GEMM: data resident, B as the layer's weights are stored. */
    gemm_call g = {ctx, s, random_buffer(ctx, s->m * s->k, 1), random_buffer(ctx, s->k * s->n, 2),
                   random_buffer(ctx, s->m * s->n, 3), 1};
    if (!g.a || !g.b || !g.c) return 1;
    double gemm_s = 0;
    /* Small GEMMs are enqueued 10 per wait, as a model enqueues its layers. */
    g.batch = s->m * s->n * s->k < (1u << 22) ? 10 : 1;
    int rc = seconds_per_call(run_gemm, &g, &gemm_s);
    clReleaseMemObject(g.a);
    clReleaseMemObject(g.b);
    clReleaseMemObject(g.c);
    if (rc) return 1;
    printf("gemm %s %.9f\n", s->name, gemm_s / g.batch);

    /* The model: one layer, weights random constants. */
    char text[512];
    if (s->dense)
        snprintf(text, sizeof text,
                 "input x: f32[N, %zu]\nconst w: f32[%zu, %zu] = random(1, -0.1, 0.1)\n"
                 "const b: f32[%zu] = random(2, -0.1, 0.1)\ny = Gemm(x, w, b) transB=1\noutput y\n",
                 s->k, s->n, s->k, s->n);
    else
        snprintf(text, sizeof text,
                 "input x: f32[N, %zu]\nconst w: f32[%zu, %zu] = random(1, -0.1, 0.1)\n"
                 "y = MatMul(x, w)\noutput y\n",
                 s->k, s->k, s->n);
    clg_graph *graph = NULL;
    clg_model *model = NULL;
    model_call mc = {0};
    mc.in.data = calloc(s->m * s->k, sizeof(float));
    mc.out.data = calloc(s->m * s->n, sizeof(float));
    mc.in.rank = mc.out.rank = 2;
    mc.in.dims[0] = mc.out.dims[0] = (int64_t)s->m;
    mc.in.dims[1] = (int64_t)s->k;
    mc.out.dims[1] = (int64_t)s->n;
    rc = 1;
    if (mc.in.data && mc.out.data && clg_graph_create(&graph, NULL, NULL) == CLG_OK &&
        clg_graph_parse(graph, text, strlen(text), NULL) == CLG_OK &&
        clg_model_create(&model, ctx, graph) == CLG_OK) {
        for (size_t i = 0; i < s->m * s->k; i++) mc.in.data[i] = (float)((i * 7919) % 200) / 100 - 1;
        mc.model = model;
        double model_s = 0;
        rc = seconds_per_call(run_model, &mc, &model_s);
        if (!rc) printf("model %s %.9f\n", s->name, model_s);
    } else {
        fprintf(stderr, "%s: %s%s\n", s->name, graph ? clg_graph_errmsg(graph) : "",
                clg_context_errmsg(ctx));
    }
    clg_model_destroy(model);
    clg_graph_destroy(graph);
    free(mc.in.data);
    free(mc.out.data);
    return rc;
}

static int child(const char *config)
{
    int tuned = strcmp(config, "tuned") == 0;
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, tuned ? 0 : CLG_CONTEXT_UNTUNED, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context: %s\n", ctx ? clg_context_errmsg(ctx) : "out of memory");
        clg_context_destroy(ctx);
        return 1;
    }
    clg_tune_info info;
    if (clg_context_tuning(ctx, &info) != CLG_OK || info.applied != tuned) {
        fprintf(stderr, "%s: tuning %s\n", config, info.status);
        clg_context_destroy(ctx);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < N_SHAPES && !rc; i++) rc = time_shape(ctx, &SHAPES[i]);
    fflush(stdout);
    clg_context_destroy(ctx);
    return rc;
}

/* ---------------------------------------------------------------- driver */

#define MAX_ROUNDS 64

typedef struct samples {
    double gemm[N_CONFIGS][N_SHAPES][MAX_ROUNDS];
    double model[N_CONFIGS][N_SHAPES][MAX_ROUNDS];
    int n_gemm[N_CONFIGS][N_SHAPES], n_model[N_CONFIGS][N_SHAPES];
} samples;

static char blas_version[128] = "";

/* Runs one configuration's process and adds what it printed. */
static int run_child(const char *self, int config, samples *acc, int keep)
{
    char cmd[2048];
    if (config == OPENBLAS || config == OPENBLAS_1T) {
        int n = snprintf(cmd, sizeof cmd,
                         "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE %s python3 "
                         "'%s/bench/openblas_gemm.py'",
                         config == OPENBLAS_1T ? "OPENBLAS_NUM_THREADS=1" : "-u OPENBLAS_NUM_THREADS",
                         CLG_SOURCE_DIR);
        for (int i = 0; i < N_SHAPES; i++)
            n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s:%zu,%zu,%zu,%d", SHAPES[i].name,
                          SHAPES[i].m, SHAPES[i].n, SHAPES[i].k, SHAPES[i].dense);
    } else {
        snprintf(cmd, sizeof cmd, "%s'%s' --child %s", config == DEFAULT ? "CLGRAPH_TUNING=0 " : "",
                 self, CONFIG_NAMES[config]);
    }
    FILE *p = popen(cmd, "r");
    if (!p) return 1;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char kind[16], name[64];
        double s;
        if (line[0] == '#') {
            size_t len = strcspn(line + 2, "\n");
            if (len >= sizeof blas_version) len = sizeof blas_version - 1;
            memcpy(blas_version, line + 2, len);
            blas_version[len] = '\0';
            continue;
        }
        if (sscanf(line, "%15s %63s %lf", kind, name, &s) != 3) continue;
        for (int i = 0; i < N_SHAPES; i++) {
            if (strcmp(name, SHAPES[i].name) != 0 || !keep) continue;
            if (strcmp(kind, "gemm") == 0 && acc->n_gemm[config][i] < MAX_ROUNDS)
                acc->gemm[config][i][acc->n_gemm[config][i]++] = s;
            if (strcmp(kind, "model") == 0 && acc->n_model[config][i] < MAX_ROUNDS)
                acc->model[config][i][acc->n_model[config][i]++] = s;
        }
    }
    int status = pclose(p);
    if (status != 0) fprintf(stderr, "bench_gemm: '%s' failed (status %d)\n", cmd, status);
    return status != 0;
}

/* The 1-minute load average: other processes on the machine skew every
 * column, so the output says how busy it was. */
static double load_average(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    return load;
}

static double gflops(const shape *s, double seconds)
{
    return 2.0 * (double)s->m * (double)s->n * (double)s->k / seconds * 1e-9;
}

/* "112.3" GFLOP/s, or "94 µs" for the batch-1 layer, "—" without data. */
static const char *cell(const shape *s, double *v, int n, char *buf, size_t size)
{
    if (n == 0) return "—";
    double t = median(v, n);
    if (s->m == 1) snprintf(buf, size, "%.1f µs", t * 1e6);
    else snprintf(buf, size, "%.1f", gflops(s, t));
    return buf;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(argv[2]);
    int rounds = 7;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0) rounds = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: bench_gemm [--rounds N]\n");
        return 2;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_gemm: rounds must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) snprintf(self, sizeof self, "%s", argv[0]);
    else self[n] = '\0';

    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, CLG_CONTEXT_UNTUNED, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context: %s\n", ctx ? clg_context_errmsg(ctx) : "out of memory");
        clg_context_destroy(ctx);
        return 1;
    }
    clg_device_info dev;
    clg_context_device(ctx, &dev);
    clg_tune_info tuning;
    clg_context_tuning(ctx, &tuning);
    clg_context_destroy(ctx);
    int have_tuned = tuning.tuned;
    printf("device: %s (%s, driver %s)\n", dev.name, dev.platform, dev.driver);
    printf("tuning: %s%s%s\n", tuning.status, tuning.tuned ? ", " : "",
           tuning.tuned ? tuning.level : "");
    if (!have_tuned) printf("(run `clgraph tune` for the tuned column)\n");

    samples *acc = calloc(1, sizeof *acc);
    if (!acc) return 1;
    double load_before = load_average();
    int rc = 0;
    /* Round 0 is a warm-up (program builds, page faults) and is not kept. */
    for (int r = 0; r <= rounds && !rc; r++) {
        for (int j = 0; j < N_CONFIGS && !rc; j++) {
            int config = (r + j) % N_CONFIGS;
            if (config == TUNED && !have_tuned) continue;
            rc = run_child(self, config, acc, r > 0);
        }
        fprintf(stderr, "\rround %d/%d", r, rounds);
    }
    fprintf(stderr, "\n");
    if (rc) {
        free(acc);
        return 1;
    }
    printf("NumPy: %s; medians of %d interleaved rounds; 1-minute load average %.2f before, "
           "%.2f after\n\n",
           blas_version, rounds, load_before, load_average());
    printf("| GEMM | CLBlast default | CLBlast tuned | tuned / default | NumPy (OpenBLAS) "
           "| NumPy, 1 thread |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < N_SHAPES; i++) {
        const shape *s = &SHAPES[i];
        char a[32], b[32], c[32], d[32], ratio[32] = "—";
        if (acc->n_gemm[DEFAULT][i] && acc->n_gemm[TUNED][i])
            snprintf(ratio, sizeof ratio, "%.2f×",
                     median(acc->gemm[DEFAULT][i], acc->n_gemm[DEFAULT][i]) /
                         median(acc->gemm[TUNED][i], acc->n_gemm[TUNED][i]));
        printf("| %s%s | %s | %s | %s | %s | %s |\n", s->label, s->m == 1 ? " (µs)" : "",
               cell(s, acc->gemm[DEFAULT][i], acc->n_gemm[DEFAULT][i], a, sizeof a),
               cell(s, acc->gemm[TUNED][i], acc->n_gemm[TUNED][i], b, sizeof b), ratio,
               cell(s, acc->gemm[OPENBLAS][i], acc->n_gemm[OPENBLAS][i], c, sizeof c),
               cell(s, acc->gemm[OPENBLAS_1T][i], acc->n_gemm[OPENBLAS_1T][i], d, sizeof d));
    }
    printf("\n| one-layer model, clg_model_run | default | tuned |\n| --- | ---: | ---: |\n");
    for (int i = 0; i < N_SHAPES; i++) {
        const shape *s = &SHAPES[i];
        double d = acc->n_model[DEFAULT][i] ? median(acc->model[DEFAULT][i], acc->n_model[DEFAULT][i]) : 0;
        double t = acc->n_model[TUNED][i] ? median(acc->model[TUNED][i], acc->n_model[TUNED][i]) : 0;
        printf("| %s | %.3f ms | ", s->label, d * 1e3);
        if (t > 0) printf("%.3f ms |\n", t * 1e3);
        else printf("— |\n");
    }
    free(acc);
    return 0;
}
