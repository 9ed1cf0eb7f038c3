/* GEMM speed on the default device: CLBlast with its own parameters, CLBlast
 * with the parameters `clgraph tune` stored, clgraph's generated kernels
 * (each variant forced, and what clgraph picks by itself), against NumPy
 * (OpenBLAS) on the host, on square GEMMs and Dense layers.
 *
 * Each configuration runs in its own process (CLBlast's parameters are
 * per process, so "default" and "tuned" cannot share one; each generated
 * variant is forced through CLGRAPH_GEMM, read at plan build; NumPy runs
 * with OpenBLAS's threads and with one), and they alternate round after
 * round, rotating their order, so machine noise hits all alike; the table
 * reports the median over rounds. Round 0 is a warm-up (program builds,
 * the choice measurement) and also checks every generated result against
 * the reference executor. What is timed:
 *   - gemm (default, tuned): the CLBlastSgemm call clg_plan_enqueue makes
 *     for the layer (row-major, Dense weights transposed), on the context's
 *     queue with data resident, back to back with one wait per sample, as
 *     NumPy's matmul is timed; wall time;
 *   - device (chosen, generated:NAME): device time of the one-layer model's
 *     GEMM node from profiling events (CLG_CONTEXT_PROFILING,
 *     clg_model_profile), median over repeated clg_model_run; a generated
 *     kernel runs the Dense layer's bias as its epilogue in the same launch;
 *   - model (default, tuned): wall time of clg_model_run of the one-layer
 *     model (input upload, GEMM, bias, output read-back, the final wait),
 *     what an embedder sees.
 * The processes use a private CLGRAPH_CACHE_DIR made for this run (holding
 * a copy of the device's tuning file), so clgraph's GEMM choice is measured
 * in this run, never read from an older choice file; POCL_CACHE_DIR is
 * left as it is. "chosen" and the model run with the same CLBlast
 * parameters share one directory, hence one choice.
 * Build and run: see bench/README.md (cmake target bench_gemm). */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gemm.h"
#include "runtime.h" /* first: it sets CL_TARGET_OPENCL_VERSION for the OpenCL headers */

#include <clblast_c.h>

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

/* Configurations: one process each per round. GEN + v forces generated
 * variant v (clg_gemm_variants). */
enum { DEFAULT, TUNED, CHOSEN, OPENBLAS, OPENBLAS_1T, GEN, N_CONFIGS = GEN + CLG_GEMM_VARIANTS };

static const char *config_name(int config)
{
    static const char *const names[GEN] = {"default", "tuned", "chosen", "openblas", "openblas1"};
    return config < GEN ? names[config] : clg_gemm_variants[config - GEN].name;
}

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

/* Whether configuration config times shape s at all. */
static int config_applies(int config, const shape *s)
{
    return config < GEN || clg_gemm_variant_fits(config - GEN, false, s->dense != 0);
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

/* One run of the model, then the device time of its GEMM node (Gemm or
 * MatMul; a generated kernel's fused epilogue and any pack launch are the
 * node's own launches) into *ms and its launch count into *launches. */
static int gemm_node_ms(model_call *mc, double *ms, int *launches)
{
    if (run_model(mc)) return 1;
    clg_node_time times[16];
    int count = 0;
    if (clg_model_profile(mc->model, times, 16, &count) != CLG_OK) {
        fprintf(stderr, "profile: %s\n", clg_model_errmsg(mc->model));
        return 1;
    }
    int found = 0;
    *ms = 0;
    *launches = 0;
    for (int i = 0; i < count && i < 16; i++)
        if (times[i].op == CLG_OP_GEMM || times[i].op == CLG_OP_MATMUL) {
            *ms += times[i].ms;
            *launches += times[i].launches;
            found++;
        }
    if (found != 1) {
        fprintf(stderr, "profile: %d GEMM nodes timed, expected 1\n", found);
        return 1;
    }
    return 0;
}

/* Device seconds of the GEMM node: a warm-up run (two if fast), then the
 * median over runs, at least 5 and up to 200 or ~0.1 s of runs. */
static int device_seconds(model_call *mc, double *out, int *launches)
{
    double ms = 0;
    double t0 = now_s();
    if (gemm_node_ms(mc, &ms, launches)) return 1;
    if (now_s() - t0 < 0.2 && gemm_node_ms(mc, &ms, launches)) return 1;
    double samples[200];
    int n = 0;
    t0 = now_s();
    while (n < 200 && (n < 5 || now_s() - t0 < 0.1)) {
        if (gemm_node_ms(mc, &ms, launches)) return 1;
        samples[n++] = ms * 1e-3;
    }
    *out = median(samples, n);
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

static int time_clblast(clg_context *ctx, const shape *s)
{
    /* GEMM: data resident, B as the layer's weights are stored. */
    gemm_call g = {ctx, s, random_buffer(ctx, s->m * s->k, 1), random_buffer(ctx, s->k * s->n, 2),
                   random_buffer(ctx, s->m * s->n, 3), 1};
    int rc = 1;
    double gemm_s = 0;
    if (g.a && g.b && g.c) {
        /* Small GEMMs are enqueued 10 per wait, as a model enqueues its layers. */
        g.batch = s->m * s->n * s->k < (1u << 22) ? 10 : 1;
        rc = seconds_per_call(run_gemm, &g, &gemm_s);
    }
    if (g.a) clReleaseMemObject(g.a);
    if (g.b) clReleaseMemObject(g.b);
    if (g.c) clReleaseMemObject(g.c);
    if (!rc) printf("gemm %s %.9f\n", s->name, gemm_s / g.batch);
    return rc;
}

/* Largest |a-b| over the largest |b|: the model's output against the
 * reference executor's on the same input. */
static int check_output(clg_graph *graph, model_call *mc, const shape *s, double *err)
{
    clg_tensor ref = mc->out;
    ref.data = malloc(s->m * s->n * sizeof(float));
    if (!ref.data) return 1;
    int rc = 1;
    if (clg_graph_run_reference(graph, &mc->in, 1, &ref, 1) == CLG_OK) {
        double diff = 0, mag = 0;
        for (size_t i = 0; i < s->m * s->n; i++) {
            diff = fmax(diff, fabs((double)mc->out.data[i] - ref.data[i]));
            mag = fmax(mag, fabs((double)ref.data[i]));
        }
        *err = mag > 0 ? diff / mag : diff;
        rc = 0;
    } else {
        fprintf(stderr, "%s: reference: %s\n", s->name, clg_graph_errmsg(graph));
    }
    free(ref.data);
    return rc;
}

/* The one-layer model: its wall time per clg_model_run (wall) or its GEMM
 * node's device time, and with check, its output against the reference. */
static int time_model(clg_context *ctx, const shape *s, int wall, int check)
{
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
    int rc = 1;
    if (mc.in.data && mc.out.data && clg_graph_create(&graph, NULL, NULL) == CLG_OK &&
        clg_graph_parse(graph, text, strlen(text), NULL) == CLG_OK &&
        clg_model_create(&model, ctx, graph) == CLG_OK) {
        for (size_t i = 0; i < s->m * s->k; i++) mc.in.data[i] = (float)((i * 7919) % 200) / 100 - 1;
        mc.model = model;
        double t = 0;
        int launches = 0;
        rc = wall ? seconds_per_call(run_model, &mc, &t) : device_seconds(&mc, &t, &launches);
        if (!rc) printf("%s %s %.9f %d\n", wall ? "model" : "device", s->name, t, launches);
        double err = 0;
        if (!rc && check && !check_output(graph, &mc, s, &err))
            printf("error %s %.3g\n", s->name, err);
    } else {
        fprintf(stderr, "%s: %s%s\n", s->name, graph ? clg_graph_errmsg(graph) : "",
                model ? clg_model_errmsg(model) : "");
    }
    clg_model_destroy(model);
    clg_graph_destroy(graph);
    free(mc.in.data);
    free(mc.out.data);
    return rc;
}

/* config: "default", "tuned" (CLBlast calls and the model's wall time),
 * "chosen" or a variant's name (the GEMM node's device time; the variant
 * is forced by the parent through CLGRAPH_GEMM). */
static int child(const char *config, int check)
{
    int config_id = -1;
    for (int c = 0; c < N_CONFIGS; c++)
        if (c != OPENBLAS && c != OPENBLAS_1T && !strcmp(config, config_name(c))) config_id = c;
    if (config_id < 0) {
        fprintf(stderr, "bench_gemm: unknown configuration %s\n", config);
        return 1;
    }
    int clblast = config_id == DEFAULT || config_id == TUNED;
    int flags = config_id == DEFAULT ? CLG_CONTEXT_UNTUNED : clblast ? 0 : CLG_CONTEXT_PROFILING;
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, flags, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context: %s\n", ctx ? clg_context_errmsg(ctx) : "out of memory");
        clg_context_destroy(ctx);
        return 1;
    }
    clg_tune_info info;
    if (clg_context_tuning(ctx, &info) != CLG_OK ||
        (clblast && info.applied != (config_id == TUNED))) {
        fprintf(stderr, "%s: tuning %s\n", config, info.status);
        clg_context_destroy(ctx);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < N_SHAPES && !rc; i++) {
        const shape *s = &SHAPES[i];
        if (!config_applies(config_id, s)) continue;
        if (clblast) rc = time_clblast(ctx, s) || time_model(ctx, s, 1, 0);
        else rc = time_model(ctx, s, 0, check);
        fflush(stdout);
    }
    clg_context_destroy(ctx);
    return rc;
}

/* ---------------------------------------------------------------- driver */

#define MAX_ROUNDS 64

typedef struct series {
    double v[MAX_ROUNDS];
    int n;
} series;

typedef struct samples {
    series gemm[N_CONFIGS][N_SHAPES];   /* wall time of the CLBlast call, or the GEMM node's
                                           device time (chosen, generated) */
    series model[N_CONFIGS][N_SHAPES];  /* clg_model_run wall time */
    int launches[N_CONFIGS][N_SHAPES];  /* of the GEMM node */
    double error[N_CONFIGS][N_SHAPES];  /* against the reference, round 0; -1: not checked */
    int failed[N_CONFIGS];
} samples;

static char blas_version[128] = "";

static void add(series *s, double v)
{
    if (s->n < MAX_ROUNDS) s->v[s->n++] = v;
}

/* Runs one configuration's process and adds what it printed. cache_dir is
 * its CLGRAPH_CACHE_DIR. Round 0 (keep 0) checks results and keeps none. */
static int run_child(const char *self, int config, const char *cache_dir, samples *acc, int keep)
{
    char cmd[4096];
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
        /* env's -u options before any NAME=VALUE. */
        char gemm_env[128] = "";
        if (config >= GEN)
            snprintf(gemm_env, sizeof gemm_env, "CLGRAPH_GEMM=generated:%s ", config_name(config));
        snprintf(cmd, sizeof cmd, "env %s%s%sCLGRAPH_CACHE_DIR='%s' '%s' --child %s%s",
                 config >= GEN ? "" : "-u CLGRAPH_GEMM ",
                 config == DEFAULT ? "CLGRAPH_TUNING=0 " : "-u CLGRAPH_TUNING ", gemm_env, cache_dir,
                 self, config_name(config), keep ? "" : " --check");
    }
    FILE *p = popen(cmd, "r");
    if (!p) return 1;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char kind[16], name[64];
        double s;
        int launches = 0;
        if (line[0] == '#') {
            size_t len = strcspn(line + 2, "\n");
            if (len >= sizeof blas_version) len = sizeof blas_version - 1;
            memcpy(blas_version, line + 2, len);
            blas_version[len] = '\0';
            continue;
        }
        if (sscanf(line, "%15s %63s %lf %d", kind, name, &s, &launches) < 3) continue;
        for (int i = 0; i < N_SHAPES; i++) {
            if (strcmp(name, SHAPES[i].name) != 0) continue;
            if (strcmp(kind, "error") == 0) acc->error[config][i] = s;
            if (!keep) continue;
            if (strcmp(kind, "gemm") == 0 || strcmp(kind, "device") == 0)
                add(&acc->gemm[config][i], s);
            if (strcmp(kind, "device") == 0) acc->launches[config][i] = launches;
            if (strcmp(kind, "model") == 0) add(&acc->model[config][i], s);
        }
    }
    int status = pclose(p);
    if (status != 0) fprintf(stderr, "\nbench_gemm: '%s' failed (status %d)\n", cmd, status);
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

/* Median of a series, 0 without data. */
static double med(series *s) { return s->n ? median(s->v, s->n) : 0; }

/* "112.3" GFLOP/s, or "94.0 µs" for the batch-1 layer, "—" for 0 seconds. */
static const char *cell(const shape *s, double t, char *buf, size_t size)
{
    if (t <= 0) return "—";
    if (s->m == 1) snprintf(buf, size, "%.1f µs", t * 1e6);
    else snprintf(buf, size, "%.1f", gflops(s, t));
    return buf;
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) return 1;
    FILE *out = fopen(to, "wb");
    int rc = !out;
    char buf[8192];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0) rc = fwrite(buf, 1, n, out) != n;
    fclose(in);
    if (out && fclose(out)) rc = 1;
    return rc;
}

/* The variant clgraph chose for s, from the choice file(s) in dir ("M N K
 * TA TB EPI VARIANT" lines; the last line for a shape wins). */
static void chosen_variant(const char *dir, const shape *s, char *out, size_t size)
{
    snprintf(out, size, "?");
    char pattern[1100];
    snprintf(pattern, sizeof pattern, "%s/gemm-*.txt", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) return;
    for (size_t f = 0; f < g.gl_pathc; f++) {
        FILE *in = fopen(g.gl_pathv[f], "r");
        if (!in) continue;
        char line[256], variant[64];
        long long m, n, k;
        int ta, tb, epi;
        while (fgets(line, sizeof line, in))
            if (sscanf(line, "%lld %lld %lld %d %d %d %63s", &m, &n, &k, &ta, &tb, &epi, variant) ==
                    7 &&
                (size_t)m == s->m && (size_t)n == s->n && (size_t)k == s->k && ta == 0 &&
                tb == s->dense)
                snprintf(out, size, "%s", variant);
        fclose(in);
    }
    globfree(&g);
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argc == 4 && !strcmp(argv[3], "--check"));
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

    /* The device and its tuning file, from the usual cache directory. */
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

    /* A private cache directory: "chosen/" for the chosen configuration and
     * the model run with the same CLBlast parameters (one choice file),
     * "other/" for the rest. Each holds a copy of the tuning file. */
    char base[] = "/tmp/bench_gemm.XXXXXX";
    if (!mkdtemp(base)) {
        perror("bench_gemm: mkdtemp");
        return 1;
    }
    char dirs[2][sizeof base + 8];
    const char *sub[2] = {"chosen", "other"};
    int rc = 0;
    for (int d = 0; d < 2 && !rc; d++) {
        snprintf(dirs[d], sizeof dirs[d], "%s/%s", base, sub[d]);
        rc = mkdir(dirs[d], 0700) != 0;
        if (!rc && have_tuned) {
            const char *slash = strrchr(tuning.path, '/');
            char to[2048];
            snprintf(to, sizeof to, "%s/%s", dirs[d], slash ? slash + 1 : tuning.path);
            rc = copy_file(tuning.path, to);
            if (rc) fprintf(stderr, "bench_gemm: cannot copy %s to %s\n", tuning.path, to);
        }
    }
    printf("cache directory: %s (removed at the end)\n", base);
    fflush(stdout);

    samples *acc = calloc(1, sizeof *acc);
    if (!acc) rc = 1;
    for (int c = 0; c < N_CONFIGS && acc; c++)
        for (int i = 0; i < N_SHAPES; i++) acc->error[c][i] = -1;
    double load_before = load_average();
    /* Round 0 is a warm-up (program builds, the choice, the checks) and is
     * not kept. A failing configuration is reported and dropped. */
    for (int r = 0; r <= rounds && !rc; r++) {
        for (int j = 0; j < N_CONFIGS; j++) {
            int config = (r + j) % N_CONFIGS;
            if ((config == TUNED && !have_tuned) || acc->failed[config]) continue;
            int same = config == CHOSEN || config == (have_tuned ? TUNED : DEFAULT);
            if (run_child(self, config, dirs[same ? 0 : 1], acc, r > 0)) {
                acc->failed[config] = 1;
                if (config < GEN) rc = 1;
            }
            fprintf(stderr, "\rround %d/%d, %d/%d ", r, rounds, j + 1, N_CONFIGS);
        }
    }
    fprintf(stderr, "\n");
    char chosen[N_SHAPES][64];
    for (int i = 0; i < N_SHAPES; i++) chosen_variant(dirs[0], &SHAPES[i], chosen[i], sizeof chosen[i]);
    char rm[256];
    snprintf(rm, sizeof rm, "rm -rf '%s'", base);
    if (system(rm) != 0) fprintf(stderr, "bench_gemm: could not remove %s\n", base);
    if (rc) {
        free(acc);
        return 1;
    }
    printf("NumPy: %s; medians of %d interleaved rounds; 1-minute load average %.2f before, "
           "%.2f after\n\n",
           blas_version, rounds, load_before, load_average());
    printf("| GEMM | CLBlast default | CLBlast tuned | generated, best variant | chosen | NumPy "
           "(OpenBLAS) | NumPy, 1 thread | chosen / faster NumPy |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < N_SHAPES; i++) {
        const shape *s = &SHAPES[i];
        char a[32], b[32], c[32], d[32], e[32], f[32];
        char gen[512] = "—", cho[512] = "—", ratio[32] = "—";
        int best = -1;
        double best_t = 0;
        for (int v = GEN; v < N_CONFIGS; v++) {
            double t = med(&acc->gemm[v][i]);
            if (t > 0 && (best < 0 || t < best_t)) best = v, best_t = t;
        }
        if (best >= 0)
            snprintf(gen, sizeof gen, "%s (%s)", cell(s, best_t, a, sizeof a), config_name(best));
        double ch = med(&acc->gemm[CHOSEN][i]);
        if (ch > 0) snprintf(cho, sizeof cho, "%s (%s)", cell(s, ch, b, sizeof b), chosen[i]);
        double o2 = med(&acc->gemm[OPENBLAS][i]), o1 = med(&acc->gemm[OPENBLAS_1T][i]);
        double ob = o2 > 0 && (o1 <= 0 || o2 < o1) ? o2 : o1;
        if (ch > 0 && ob > 0) snprintf(ratio, sizeof ratio, "%.0f%%", 100 * ob / ch);
        printf("| %s%s | %s | %s | %s | %s | %s | %s | %s |\n", s->label, s->m == 1 ? " (µs)" : "",
               cell(s, med(&acc->gemm[DEFAULT][i]), c, sizeof c),
               cell(s, med(&acc->gemm[TUNED][i]), d, sizeof d), gen, cho, cell(s, o2, e, sizeof e),
               cell(s, o1, f, sizeof f), ratio);
    }

    /* Every generated variant, and its check against the reference. */
    printf("\n| generated variant (GEMM node device time) |");
    for (int i = 0; i < N_SHAPES; i++) printf(" %s |", SHAPES[i].name);
    printf("\n| --- |");
    for (int i = 0; i < N_SHAPES; i++) printf(" ---: |");
    printf("\n");
    for (int v = GEN; v < N_CONFIGS; v++) {
        printf("| %s%s |", config_name(v), acc->failed[v] ? " (failed)" : "");
        for (int i = 0; i < N_SHAPES; i++) {
            const shape *s = &SHAPES[i];
            char a[32];
            if (!config_applies(v, s)) {
                printf(" n/a |");
                continue;
            }
            printf(" %s", cell(s, med(&acc->gemm[v][i]), a, sizeof a));
            if (acc->error[v][i] > 1e-4) printf(" (error %.2g)", acc->error[v][i]);
            else if (acc->error[v][i] < 0) printf(" (unchecked)");
            printf(" |");
        }
        printf("\n");
    }
    for (int i = 0; i < N_SHAPES; i++)
        if (acc->error[CHOSEN][i] > 1e-4)
            printf("chosen %s: error %.2g against the reference\n", SHAPES[i].name,
                   acc->error[CHOSEN][i]);
        else if (acc->error[CHOSEN][i] < 0)
            printf("chosen %s: not checked against the reference\n", SHAPES[i].name);

    printf("\n| one-layer model, clg_model_run | default | tuned |\n| --- | ---: | ---: |\n");
    for (int i = 0; i < N_SHAPES; i++) {
        const shape *s = &SHAPES[i];
        double d = med(&acc->model[DEFAULT][i]), t = med(&acc->model[TUNED][i]);
        printf("| %s | %.3f ms | ", s->label, d * 1e3);
        if (t > 0) printf("%.3f ms |\n", t * 1e3);
        else printf("— |\n");
    }
    free(acc);
    return 0;
}
