/* clgraph bench: compile a model once, warm it up, time K runs and report
 * the median and p90 latency, launches, device memory and one-time costs.
 * Latency is wall time of clg_model_run: input upload, every kernel, output
 * read-back and the final wait, as an embedder would see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

typedef struct bench_args {
    const char *file;
    const char *device;
    size_args sizes; /* --batch, --dim */
    long long iters, warmup;
    int json, profile, opt_level;
    clg_precision precision; /* --precision */
    const char *compile_option; /* the first -O or --precision given (a bundle takes neither) */
    clg_context_options context; /* --cache-dir, --kernel-dir, --gemm */
} bench_args;

static int parse_bench_args(int argc, char **argv, bench_args *ba)
{
    memset(ba, 0, sizeof *ba);
    ba->iters = 20;
    ba->warmup = 3;
    ba->opt_level = CLG_OPT_DEFAULT;
    ba->context = (clg_context_options)CLG_CONTEXT_OPTIONS_INIT;
    for (int i = 0; i < argc; i++) {
        int missing = 0, rc = 0, o;
        const char *v, *a = argv[i];
        if ((o = opt_option(argc, argv, &i, &ba->opt_level, &rc))) {
            if (o < 0) return rc;
            if (!ba->compile_option) ba->compile_option = a;
        } else if ((o = precision_option(argc, argv, &i, &ba->precision, &rc))) {
            if (o < 0) return rc;
            if (!ba->compile_option) ba->compile_option = a;
        } else if ((o = context_option(argc, argv, &i, &ba->context, &rc))) {
            if (o < 0) return rc;
        } else if ((v = option_value(argc, argv, &i, "--device", &missing))) {
            ba->device = v;
        } else if (size_option(argc, argv, &i, &ba->sizes, &rc)) {
            if (rc) return rc;
        } else if ((v = option_value(argc, argv, &i, "--iters", &missing))) {
            if ((rc = positive_option("--iters", v, &ba->iters))) return rc;
        } else if ((v = option_value(argc, argv, &i, "--warmup", &missing))) {
            if (strcmp(v, "0") == 0) ba->warmup = 0;
            else if ((rc = positive_option("--warmup", v, &ba->warmup))) return rc;
        } else if (strcmp(a, "--json") == 0) {
            ba->json = 1;
        } else if (strcmp(a, "--profile") == 0) {
            ba->profile = 1;
        } else if (missing) {
            return usage_error("option %s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s' for bench", a);
        } else if (ba->file) {
            return usage_error("bench takes one FILE, got '%s' and '%s'", ba->file, a);
        } else {
            ba->file = a;
        }
    }
    if (!ba->file) return usage_error("bench needs a FILE");
    if (ba->device && strcmp(ba->device, "ref") == 0)
        return usage_error("bench measures OpenCL devices; 'ref' is the host reference executor");
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, long long n, double p)
{
    long long rank = (long long)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* JSON string contents: device names are plain, but escape what JSON needs. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", (unsigned char)*s);
        else putchar(*s);
    }
    putchar('"');
}

static void print_profile(engine *e, int json)
{
    int count = 0;
    if (clg_model_profile(e->model, NULL, 0, &count) != CLG_OK) {
        fail("%s", clg_model_errmsg(e->model));
        return;
    }
    clg_node_time *times = calloc((size_t)count + 1, sizeof *times);
    if (!times || clg_model_profile(e->model, times, count, &count) != CLG_OK) {
        free(times);
        fail("cannot read the profile");
        return;
    }
    double total = 0;
    for (int i = 0; i < count; i++) total += times[i].ms;
    if (json) {
        printf(",\n  \"profile\": [");
        for (int i = 0; i < count; i++) {
            printf("%s\n    {\"node\": ", i ? "," : "");
            json_string(times[i].node);
            printf(", \"op\": \"%s\", \"launches\": %d, \"ms\": %.6f}", clg_op_name(times[i].op),
                   times[i].launches, times[i].ms);
        }
        printf("\n  ]");
    } else {
        printf("\nper-node device time of the last run (OpenCL profiling events), slowest first:\n");
        printf("  %10s  %6s  %8s  %-18s %s\n", "ms", "share", "launches", "op", "node");
        for (int i = 0; i < count; i++)
            printf("  %10.4f  %5.1f%%  %8d  %-18s %s\n", times[i].ms,
                   total > 0 ? 100.0 * times[i].ms / total : 0.0, times[i].launches,
                   clg_op_name(times[i].op), times[i].node);
        printf("  %10.4f  total device time\n", total);
    }
    free(times);
}

int cmd_bench(int argc, char **argv)
{
    bench_args ba;
    int rc = parse_bench_args(argc, argv, &ba);
    if (rc) return rc;
    engine e = {0};
    int bundle = file_is_bundle(ba.file);
    if (bundle && ba.compile_option) return bundle_refuses(ba.compile_option);
    clg_graph *g = NULL;
    if (bundle && engine_open_bundle(&e, ba.device, ba.file, ba.profile ? CLG_CONTEXT_PROFILING : 0, &ba.context, &g))
        return EXIT_FAILURE;
    if (!bundle && !(g = load_graph(ba.file))) return EXIT_FAILURE;
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    clg_tensor *outputs = calloc((size_t)n_out + 1, sizeof *outputs);
    double *ms = calloc((size_t)ba.iters, sizeof *ms);
    int64_t batch = 1;
    if (!inputs || !outputs || !ms) rc = fail("out of memory");
    if (!rc && !bundle)
        rc = engine_open(&e, ba.device, g, ba.profile ? CLG_CONTEXT_PROFILING : 0, &ba.context,
                         ba.opt_level, ba.precision);
    if (!rc && e.is_ref) rc = fail("no OpenCL device to benchmark");
    if (!rc) rc = prepare_inputs(g, NULL, 0, &ba.sizes, inputs, n_in, &batch, 1);
    if (!rc) rc = prepare_outputs(g, inputs, n_in, outputs, n_out);
    for (long long i = 0; !rc && i < ba.warmup; i++) rc = engine_run(&e, g, inputs, n_in, outputs, n_out);
    for (long long i = 0; !rc && i < ba.iters; i++) {
        double t0 = now_ms();
        rc = engine_run(&e, g, inputs, n_in, outputs, n_out);
        ms[i] = now_ms() - t0;
    }
    if (!rc) {
        clg_model_stats st;
        clg_model_stats_get(e.model, &st);
        qsort(ms, (size_t)ba.iters, sizeof *ms, compare_double);
        double median = ba.iters % 2 ? ms[ba.iters / 2] : (ms[ba.iters / 2 - 1] + ms[ba.iters / 2]) / 2;
        double p90 = percentile(ms, ba.iters, 90);
        double ips = median > 0 ? (double)batch * 1000.0 / median : 0;
        if (ba.json) {
            printf("{\n  \"model\": ");
            json_string(ba.file);
            printf(",\n  \"device\": ");
            json_string(e.description);
            /* A bundle runs as it was compiled: its graph is optimized
             * already (no level applies) and its precision is recorded. */
            if (bundle) printf(",\n  \"bundle\": true");
            else printf(",\n  \"opt_level\": %d", ba.opt_level);
            printf(",\n  \"precision\": \"%s\"", clg_precision_name(clg_model_precision(e.model)));
            printf(",\n  \"batch\": %lld,\n  \"iters\": %lld,\n  \"latency_ms_median\": %.6f,\n"
                   "  \"latency_ms_p90\": %.6f,\n  \"inferences_per_s\": %.3f,\n"
                   "  \"launches_per_inference\": %d,\n  \"activation_bytes\": %llu,\n"
                   "  \"weight_bytes\": %llu,\n  \"prepared_bytes\": %llu,\n  \"build_ms\": %.3f,\n"
                   "  \"upload_ms\": %.3f",
                   (long long)batch, ba.iters, median, p90, ips, st.launches_per_inference,
                   (unsigned long long)st.activation_bytes, (unsigned long long)st.weight_bytes,
                   (unsigned long long)st.prepared_bytes, st.build_ms, st.upload_ms);
            if (ba.profile) print_profile(&e, 1);
            printf("\n}\n");
        } else {
            printf("model:        %s\n", ba.file);
            printf("device:       %s\n", e.description);
            char how[16] = "bundle";
            if (!bundle) snprintf(how, sizeof how, "-O%d", ba.opt_level);
            printf("batch:        %lld (%s, %s)\n", (long long)batch, how, clg_precision_name(clg_model_precision(e.model)));
            printf("latency:      median %.4f ms, p90 %.4f ms over %lld runs (after %lld warm-up)\n",
                   median, p90, ba.iters, ba.warmup);
            printf("throughput:   %.1f inferences/s\n", ips);
            printf("launches:     %d per inference (each CLBlast call counted as one)\n",
                   st.launches_per_inference);
            printf("device bytes: %llu activations, %llu weights, %llu packed weights\n",
                   (unsigned long long)st.activation_bytes, (unsigned long long)st.weight_bytes,
                   (unsigned long long)st.prepared_bytes);
            printf("one-time:     build %.1f ms, weight upload %.1f ms\n", st.build_ms, st.upload_ms);
            if (ba.profile) print_profile(&e, 0);
        }
    }
    engine_close(&e);
    free_inputs(g, 0, inputs, n_in);
    for (int i = 0; outputs && i < n_out; i++) free(outputs[i].data);
    free(inputs);
    free(outputs);
    free(ms);
    clg_graph_destroy(g);
    return rc;
}
