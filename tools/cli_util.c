/* Helpers shared by the clgraph subcommands: messages, options, inputs
 * and outputs, and the engine a graph runs on. Only the public API is used. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clgraph: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clgraph: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAILURE;
}

/* Loads path into a new graph; prints the error and returns NULL on failure. */
clg_graph *load_graph(const char *path)
{
    clg_graph *g = NULL;
    if (clg_graph_create(&g, NULL, NULL) != CLG_OK) {
        fail("out of memory");
        return NULL;
    }
    if (clg_graph_load(g, path) != CLG_OK) {
        fail("%s", clg_graph_errmsg(g));
        clg_graph_destroy(g);
        return NULL;
    }
    return g;
}

/* "f32[N, S, 128]", "i64[N, 16]" */
const char *shape_str(const clg_graph *g, clg_dtype dtype, int rank, const int64_t *dims, char *buf, size_t size)
{
    const char *type = clg_dtype_name(dtype);
    size_t n = (size_t)snprintf(buf, size, "%s[", type ? type : "?");
    for (int i = 0; i < rank && n < size; i++) {
        char d[64];
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", clg_graph_dim_str(g, dims[i], d, sizeof d));
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

/* Element count of a concrete shape; 0 if it overflows size_t bytes. */
size_t element_count(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1 || (uint64_t)dims[i] > SIZE_MAX / sizeof(float) / n) return 0;
        n *= (size_t)dims[i];
    }
    return n;
}

const char *plural(long long n, const char *word, char *buf, size_t size)
{
    snprintf(buf, size, "%lld %s%s", n, word, n == 1 ? "" : "s");
    return buf;
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE"; NULL when
 * argv[*i] is not opt. Sets *missing when the value is absent. */
const char *option_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* SplitMix64, as the text format's random(seed) generator. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tensor_value(const clg_tensor *t, size_t k)
{
    switch (t->dtype) {
    case CLG_DTYPE_F16: return clg_half_to_float(((const uint16_t *)(const void *)t->data)[k]);
    case CLG_DTYPE_I64: return (double)((const int64_t *)t->data)[k];
    case CLG_DTYPE_I32: return (double)((const int32_t *)t->data)[k];
    case CLG_DTYPE_BOOL: return (double)((const uint8_t *)t->data)[k];
    default: return (double)t->data[k];
    }
}

int size_option(int argc, char **argv, int *i, size_args *sizes, int *rc)
{
    int missing = 0;
    const char *v;
    long long value = 0;
    const char *name = NULL;
    char text[64];
    if ((v = option_value(argc, argv, i, "--batch", &missing))) {
        if ((*rc = positive_option("--batch", v, &value))) return 1;
        name = "N";
    } else if ((v = option_value(argc, argv, i, "--dim", &missing))) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || (size_t)(eq - v) >= sizeof text) {
            *rc = usage_error("--dim takes NAME=SIZE (e.g. --dim S=128), got '%s'", v);
            return 1;
        }
        snprintf(text, sizeof text, "--dim %.*s", (int)(eq - v), v);
        if ((*rc = positive_option(text, eq + 1, &value))) return 1;
        name = v;
    } else {
        if (missing) *rc = usage_error("option %s needs a value", argv[*i]);
        return missing;
    }
    size_t len = strcspn(name, "=");
    for (int k = 0; k < sizes->n; k++)
        if (strncmp(sizes->name[k], name, len) == 0 && strcspn(sizes->name[k], "=") == len) {
            *rc = usage_error("the size of %.*s is given twice", (int)len, name);
            return 1;
        }
    if (sizes->n == MAX_SIZES) {
        *rc = usage_error("more than %d sizes given", MAX_SIZES);
        return 1;
    }
    sizes->name[sizes->n] = name;
    sizes->value[sizes->n++] = value;
    return 1;
}

/* The size given for the symbolic dim d, or -1 (N: 1 when not given). */
static long long given_size(const clg_graph *g, const size_args *sizes, int64_t d)
{
    char text[64];
    clg_graph_dim_str(g, d, text, sizeof text);
    for (int k = 0; sizes && k < sizes->n; k++)
        if (strlen(text) == strcspn(sizes->name[k], "=") && strncmp(sizes->name[k], text, strlen(text)) == 0)
            return sizes->value[k];
    return d == CLG_BATCH ? 1 : -1;
}

/* Generated input i at the given sizes: floats uniform in [-1, 1), integer
 * and bool inputs zeros (any other value could be an index out of range).
 * Returns 0 or prints and returns 1. */
static int random_input(clg_graph *g, int i, const size_args *sizes, clg_tensor *t)
{
    const char *name;
    clg_graph_input_info(g, i, &name, &t->rank, t->dims);
    clg_graph_input_dtype(g, i, &t->dtype);
    for (int d = 0; d < t->rank; d++) {
        if (t->dims[d] >= 0) continue;
        char text[64];
        long long v = given_size(g, sizes, t->dims[d]);
        if (v < 0)
            return fail("input %s: dimension %d is %s; give its size with --dim %s=SIZE, or give --input files",
                        name, d, clg_graph_dim_str(g, t->dims[d], text, sizeof text), text);
        t->dims[d] = v;
    }
    size_t count = element_count(t->rank, t->dims);
    if (t->dtype == CLG_DTYPE_F16) {
        /* uniform in [-1, 1) on the grid of 1/1024, which halves hold exactly */
        uint16_t *h = count ? malloc(count * sizeof *h) : NULL;
        if (!h) return fail("out of memory generating input %s", name);
        uint64_t state = RANDOM_SEED + (uint64_t)i;
        for (size_t k = 0; k < count; k++) h[k] = clg_float_to_half((float)((int)(splitmix64(&state) >> 53) - 1024) / 1024.0f); /* exact */
        t->data = (float *)(void *)h;
        return 0;
    }
    if (t->dtype != CLG_DTYPE_F32) {
        if (!count || !(t->data = calloc(count, clg_dtype_size(t->dtype))))
            return fail("out of memory generating input %s", name);
        return 0;
    }
    if (!count || !(t->data = malloc(count * sizeof(float))))
        return fail("out of memory generating input %s", name);
    uint64_t state = RANDOM_SEED + (uint64_t)i;
    for (size_t k = 0; k < count; k++)
        t->data[k] = (float)(-1.0 + 2.0 * (double)(splitmix64(&state) >> 40) / (double)(1u << 24));
    return 0;
}

int prepare_inputs(clg_graph *g, const char *const *files, int n_files, const size_args *sizes,
                   clg_tensor *inputs, int n, int64_t *batch, int quiet)
{
    char buf[128];
    if (n_files) {
        if (n_files != n)
            return fail("the graph has %d input%s, but %d --input file%s given", n, n == 1 ? "" : "s",
                        n_files, n_files == 1 ? " was" : "s were");
        *batch = 1;
        for (int i = 0; i < n; i++) {
            const char *name;
            int rank;
            int64_t dims[CLG_MAX_RANK];
            if (clg_graph_read_npy(g, files[i], i, &inputs[i]) != CLG_OK) return fail("%s", clg_graph_errmsg(g));
            clg_graph_input_info(g, i, &name, &rank, dims);
            for (int d = 0; d < rank && d < inputs[i].rank; d++)
                if (dims[d] == CLG_BATCH) *batch = inputs[i].dims[d];
            if (!quiet)
                printf("input %s: %s from %s\n", name,
                       shape_str(NULL, inputs[i].dtype, inputs[i].rank, inputs[i].dims, buf, sizeof buf), files[i]);
        }
        return 0;
    }
    *batch = given_size(g, sizes, CLG_BATCH);
    for (int i = 0; i < n; i++) {
        const char *name;
        if (random_input(g, i, sizes, &inputs[i])) return 1;
        clg_graph_input_info(g, i, &name, NULL, NULL);
        if (!quiet && inputs[i].dtype != CLG_DTYPE_F32 && inputs[i].dtype != CLG_DTYPE_F16)
            printf("input %s: %s zeros (no --input given)\n", name,
                   shape_str(NULL, inputs[i].dtype, inputs[i].rank, inputs[i].dims, buf, sizeof buf));
        else if (!quiet)
            printf("input %s: %s random uniform [-1, 1) (seed %u, no --input given)\n", name,
                   shape_str(NULL, inputs[i].dtype, inputs[i].rank, inputs[i].dims, buf, sizeof buf), RANDOM_SEED + (unsigned)i);
    }
    return 0;
}

void free_inputs(clg_graph *g, int from_files, clg_tensor *inputs, int n)
{
    for (int i = 0; inputs && i < n; i++) {
        if (from_files) clg_graph_free_tensor(g, &inputs[i]);
        else free(inputs[i].data);
    }
}

/* Allocates every output at the shape the inputs give. Returns 0 or 1 (printed). */
int prepare_outputs(clg_graph *g, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs, int n)
{
    for (int i = 0; i < n; i++) {
        const char *name = output_name(g, i);
        clg_tensor *t = &outputs[i];
        if (clg_graph_output_shape(g, i, inputs, n_inputs, &t->rank, t->dims) != CLG_OK)
            return fail("%s", clg_graph_errmsg(g));
        clg_graph_output_dtype(g, i, &t->dtype);
        size_t count = element_count(t->rank, t->dims);
        if (!count || !(t->data = malloc(count * clg_dtype_size(t->dtype))))
            return fail("out of memory for output %s", name);
    }
    return 0;
}

const char *output_name(clg_graph *g, int i)
{
    const char *name = "?";
    clg_graph_output_info(g, i, 1, &name, NULL, NULL);
    return name;
}

/* Prints min/max/mean and the first values of output i. */
void summarize(clg_graph *g, int i, const clg_tensor *t)
{
    const char *name = output_name(g, i);
    char buf[128];
    size_t count = element_count(t->rank, t->dims), nans = 0;
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < count; k++) {
        double v = tensor_value(t, k);
        if (isnan(v)) {
            nans++;
            continue;
        }
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    printf("output %s: %s\n", name, shape_str(NULL, t->dtype, t->rank, t->dims, buf, sizeof buf));
    printf("  min %.9g  max %.9g  mean %.9g", lo, hi, count > nans ? sum / (double)(count - nans) : NAN);
    if (nans) printf("  (%zu NaN)", nans);
    printf("\n");
    if (t->rank == 2 && t->dims[1] <= 10) {
        int64_t rows = t->dims[0] < 4 ? t->dims[0] : 4;
        for (int64_t r = 0; r < rows; r++) {
            printf("  [%lld]", (long long)r);
            for (int64_t c = 0; c < t->dims[1]; c++) printf(" %.6g", tensor_value(t, (size_t)(r * t->dims[1] + c)));
            printf("\n");
        }
        if (t->dims[0] > rows) printf("  ... %lld more rows\n", (long long)(t->dims[0] - rows));
    } else {
        size_t shown = count < 10 ? count : 10;
        printf("  first %zu of %zu:", shown, count);
        for (size_t k = 0; k < shown; k++) printf(" %.6g", tensor_value(t, k));
        printf("\n");
    }
}

int positive_option(const char *opt, const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long b = strtoll(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || errno || b < 1)
        return usage_error("%s: '%s' is not a positive integer", opt, v);
    *out = b;
    return 0;
}

/* ---------------------------------------------------------------- engines */

/* Build reports (clg_context_options.on_build). The library never prints:
 * the CLI says on stderr that a first run compiles (one line, how many
 * programs; on a terminal a progress count in place), and with --verbose
 * or CLGRAPH_LOG=builds one line per program with its compile time. */
int cli_verbose;

typedef struct build_report {
    int tty, verbose, progress; /* progress: a count is showing on the terminal */
} build_report;

static void end_progress_of(build_report *r)
{
    if (r->progress) fputc('\n', stderr);
    r->progress = 0;
}

static void on_build(const clg_build_event *ev, void *user)
{
    build_report *r = user;
    if (ev->kind == CLG_BUILD_START) {
        /* PoCL takes 0.5-1 s per program from source: one is quick, more
         * are worth a word. */
        if (ev->count >= 2 || r->verbose)
            fprintf(stderr, "clgraph: compiling %d OpenCL program%s for this device (once: later runs load them "
                            "from the cache)%s",
                    ev->count, ev->count == 1 ? "" : "s", r->tty && !r->verbose ? "" : "\n");
        r->progress = r->tty && !r->verbose && ev->count >= 2;
        return;
    }
    if (ev->kind == CLG_BUILD_SAVE) {
        /* After the results, on PoCL: a second or more per program, in
         * silence it would look like a hang. */
        end_progress_of(r);
        if (ev->count >= 2 || r->verbose)
            fprintf(stderr, "clgraph: saving %d compiled program%s in the cache (once)\n", ev->count,
                    ev->count == 1 ? "" : "s");
        return;
    }
    if (r->verbose)
        fprintf(stderr, "clgraph: %s %-28s %7.3f s  node %s%s  [%s]\n", ev->from_source ? "built " : "loaded",
                ev->file ? ev->file : "?", ev->seconds, ev->node ? ev->node : "-",
                ev->trial ? " (candidate, timed)" : "", ev->options ? ev->options : "");
    else if (r->progress && ev->count > 0) {
        fprintf(stderr, "\rclgraph: compiling %d OpenCL programs for this device (once: later runs load them "
                        "from the cache): %d/%d",
                ev->count, ev->index, ev->count);
        if (ev->index == ev->count) {
            fprintf(stderr, "\n");
            r->progress = 0;
        }
    }
}

static build_report the_report;

/* Ends a progress count showing on the terminal, so that a message that
 * follows starts on a line of its own. */
static void end_progress(void)
{
    if (the_report.progress) fputc('\n', stderr);
    the_report.progress = 0;
}

/* The engine's OpenCL context on device spec, and its description. Build
 * reports go to on_build unless the caller's options name their own. */
static int open_context(engine *e, const char *spec, int context_flags, const clg_context_options *options)
{
    clg_context_options with_report = CLG_CONTEXT_OPTIONS_INIT;
    if (options) with_report = *options;
    if (!with_report.on_build) {
        const char *log = getenv("CLGRAPH_LOG");
        the_report.tty = isatty(2);
        the_report.verbose = cli_verbose || (log && strstr(log, "build"));
        the_report.progress = 0;
        with_report.on_build = on_build;
        with_report.on_build_user = &the_report;
    }
    clg_status s = clg_context_create_ex(&e->ctx, spec, context_flags, &with_report, NULL, NULL);
    if (s != CLG_OK) {
        int rc = fail("%s", e->ctx ? clg_context_errmsg(e->ctx) : "out of memory");
        engine_close(e);
        return rc;
    }
    clg_device_info info;
    clg_context_device(e->ctx, &info);
    snprintf(e->description, sizeof e->description, "%s (%s, OpenCL device %d:%d)", info.name,
             info.platform, info.platform_index, info.device_index);
    return 0;
}

int engine_open(engine *e, const char *spec, clg_graph *g, int context_flags,
                const clg_context_options *options, int opt_level, clg_precision precision)
{
    memset(e, 0, sizeof *e);
    if (!spec) {
        const char *env = getenv("CLGRAPH_DEVICE");
        int count = 0;
        if ((!env || !*env) && (clg_devices_list(NULL, 0, &count) != CLG_OK || count == 0)) {
            fprintf(stderr, "clgraph: no OpenCL device found; using the reference executor "
                            "(install pocl-opencl-icd for a CPU device)\n");
            spec = "ref";
        }
    }
    if (spec && strcmp(spec, "ref") == 0) {
        e->is_ref = 1;
        snprintf(e->description, sizeof e->description, "reference executor (host)");
        return 0;
    }
    if (open_context(e, spec, context_flags, options)) return 1;
    clg_model_options model_options = CLG_MODEL_OPTIONS_INIT;
    model_options.opt_level = opt_level;
    model_options.precision = precision;
    if (clg_model_create_ex(&e->model, e->ctx, g, &model_options) != CLG_OK) {
        end_progress(); /* before the message */
        int rc = fail("%s", e->model ? clg_model_errmsg(e->model) : "out of memory");
        engine_close(e);
        return rc;
    }
    return 0;
}

int file_is_bundle(const char *path)
{
    char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && memcmp(magic, "CLGBNDL", 8) == 0;
}

int bundle_refuses(const char *option)
{
    return usage_error("%s does not apply to a bundle: it runs as it was compiled (clgraph compile --bundle "
                       "takes -O and --precision)", option);
}

int engine_open_bundle(engine *e, const char *spec, const char *path, int context_flags,
                       const clg_context_options *options, clg_graph **g)
{
    memset(e, 0, sizeof *e);
    *g = NULL;
    if (spec && strcmp(spec, "ref") == 0) return fail("a bundle runs on the OpenCL device it was built for, not 'ref'");
    if (open_context(e, spec, context_flags, options)) return 1;
    if (clg_model_load_bundle(&e->model, e->ctx, path) != CLG_OK) {
        end_progress(); /* a binary the driver refused is built again from source */
        int rc = fail("%s", e->model ? clg_model_errmsg(e->model) : "out of memory");
        engine_close(e);
        return rc;
    }
    if (clg_model_note(e->model)[0]) fprintf(stderr, "clgraph: %s\n", clg_model_note(e->model));
    if (clg_graph_clone(clg_model_graph(e->model), g) != CLG_OK) {
        engine_close(e);
        return fail("out of memory");
    }
    return 0;
}

int engine_run(engine *e, clg_graph *g, const clg_tensor *in, int n_in, clg_tensor *out, int n_out)
{
    if (e->is_ref) {
        if (clg_graph_run_reference(g, in, n_in, out, n_out) != CLG_OK) return fail("%s", clg_graph_errmsg(g));
        return 0;
    }
    if (clg_model_run(e->model, in, n_in, out, n_out) != CLG_OK) return fail("%s", clg_model_errmsg(e->model));
    return 0;
}

void engine_close(engine *e)
{
    clg_model_destroy(e->model);
    clg_context_destroy(e->ctx);
    memset(e, 0, sizeof *e);
}

int context_option(int argc, char **argv, int *i, clg_context_options *options, int *rc)
{
    if (!strcmp(argv[*i], "--verbose")) {
        cli_verbose = 1;
        return 1;
    }
    static const char *const names[] = {"--cache-dir", "--kernel-dir", "--gemm"};
    const char **fields[] = {&options->cache_dir, &options->kernel_dir, &options->gemm};
    for (int k = 0; k < 3; k++) {
        int missing = 0;
        const char *v = option_value(argc, argv, i, names[k], &missing);
        if (missing) {
            *rc = usage_error("option %s needs a value", names[k]);
            return -1;
        }
        if (v) {
            *fields[k] = v;
            return 1;
        }
    }
    return 0;
}

int opt_option(int argc, char **argv, int *i, int *level, int *rc)
{
    const char *a = argv[*i];
    const char *v = NULL;
    int missing = 0;
    if (strncmp(a, "-O", 2) == 0 && a[2] != '\0') {
        v = a + 2;
    } else if (!(v = option_value(argc, argv, i, "-O", &missing)) &&
               !(v = option_value(argc, argv, i, "--opt", &missing))) {
        if (!missing) return 0;
        *rc = usage_error("option %s needs a level (0, 1 or 2)", a);
        return -1;
    }
    if ((v[0] != '0' && v[0] != '1' && v[0] != '2') || v[1] != '\0') {
        *rc = usage_error("optimization level '%s' is not 0, 1 or 2", v);
        return -1;
    }
    *level = v[0] - '0';
    return 1;
}

int precision_option(int argc, char **argv, int *i, clg_precision *precision, int *rc)
{
    int missing = 0;
    const char *v = option_value(argc, argv, i, "--precision", &missing);
    if (!v) {
        if (!missing) return 0;
        *rc = usage_error("option --precision needs a value (fp32, fp16 or fp16-storage)");
        return -1;
    }
    static const clg_precision all[] = {CLG_PRECISION_FP32, CLG_PRECISION_FP16_STORAGE, CLG_PRECISION_FP16};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (strcmp(v, clg_precision_name(all[k])) == 0) {
            *precision = all[k];
            return 1;
        }
    *rc = usage_error("precision '%s' is not fp32, fp16 or fp16-storage", v);
    return -1;
}
