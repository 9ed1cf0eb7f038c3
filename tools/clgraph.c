/* clgraph — the command-line tool: check, print and run graphs.
 *
 *   clgraph check FILE     parse and validate; list nodes and shapes
 *   clgraph print FILE     the canonical text form
 *   clgraph run FILE ...   run on a device, reading/writing .npy files
 *
 * Exit status: 0 success, 1 an error from the library or a file, 2 a usage
 * error. Only the public API (clgraph.h) is used. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgraph.h"

#define EXIT_USAGE 2
#define MAX_FILES 64
/* Generated inputs: input i is uniform in [-1, 1) from seed RANDOM_SEED + i,
 * with the generator of the text format's random(seed) (SplitMix64), so a
 * run can be reproduced exactly elsewhere. */
#define RANDOM_SEED 1234u

static const char usage_text[] =
    "usage: clgraph check FILE      parse and validate a graph; list its nodes\n"
    "       clgraph print FILE      print the graph in canonical text form\n"
    "       clgraph run FILE [options]\n"
    "           --input X.npy       a graph input, in input order (repeatable);\n"
    "                               without any, inputs are random in [-1, 1)\n"
    "           --output Y.npy      write a graph output, in output order (repeatable);\n"
    "                               outputs without a file are summarized\n"
    "           --batch N           batch size of generated inputs (default 1)\n"
    "           --device NAME       where to run (default ref: the host reference)\n"
    "       clgraph --version\n"
    "       clgraph help\n";

/* ------------------------------------------------------------- helpers */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clgraph: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
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
static clg_graph *load_graph(const char *path)
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

/* "f32[N, 128]" */
static const char *shape_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "f32[");
    for (int i = 0; i < rank && n < size; i++) {
        if (dims[i] == CLG_BATCH) n += (size_t)snprintf(buf + n, size - n, "%sN", i ? ", " : "");
        else n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

/* Element count of a concrete shape; 0 if it overflows size_t bytes. */
static size_t element_count(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 1 || (uint64_t)dims[i] > SIZE_MAX / sizeof(float) / n) return 0;
        n *= (size_t)dims[i];
    }
    return n;
}

static const char *plural(long long n, const char *word, char *buf, size_t size)
{
    snprintf(buf, size, "%lld %s%s", n, word, n == 1 ? "" : "s");
    return buf;
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE"; NULL when
 * argv[*i] is not opt. Sets *missing when the value is absent. */
static const char *option_value(int argc, char **argv, int *i, const char *opt, int *missing)
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

/* ---------------------------------------------------------------- check */

static int cmd_check(int argc, char **argv)
{
    if (argc == 0) return usage_error("check needs a FILE");
    if (argc > 1) return usage_error("check takes one FILE, got %d arguments", argc);
    clg_graph *g = load_graph(argv[0]);
    if (!g) return EXIT_FAILURE;
    int n = clg_graph_node_count(g);
    int name_w = 4, op_w = 2;
    for (int i = 0; i < n; i++) {
        clg_op op;
        const char *name;
        clg_graph_node_info(g, i, &op, &name, NULL, NULL);
        if ((int)strlen(name) > name_w) name_w = (int)strlen(name);
        if ((int)strlen(clg_op_name(op)) > op_w) op_w = (int)strlen(clg_op_name(op));
    }
    printf("%s: ok\n", argv[0]);
    printf("%5s  %-*s  %-*s  %s\n", "#", name_w, "name", op_w, "op", "shape");
    long long params = 0;
    for (int i = 0; i < n; i++) {
        clg_op op;
        const char *name;
        int rank;
        int64_t dims[CLG_MAX_RANK];
        char buf[128];
        clg_graph_node_info(g, i, &op, &name, &rank, dims);
        printf("%5d  %-*s  %-*s  %s\n", i, name_w, name, op_w, clg_op_name(op), shape_str(rank, dims, buf, sizeof buf));
        if (op == CLG_OP_CONSTANT) params += (long long)element_count(rank, dims);
    }
    char a[48], b[48], c[48], d[48];
    printf("%s, %s, %s, %s\n", plural(n, "node", a, sizeof a), plural(clg_graph_input_count(g), "input", b, sizeof b),
           plural(clg_graph_output_count(g), "output", c, sizeof c), plural(params, "parameter", d, sizeof d));
    clg_graph_destroy(g);
    return EXIT_SUCCESS;
}

/* ---------------------------------------------------------------- print */

static int cmd_print(int argc, char **argv)
{
    if (argc == 0) return usage_error("print needs a FILE");
    if (argc > 1) return usage_error("print takes one FILE, got %d arguments", argc);
    clg_graph *g = load_graph(argv[0]);
    if (!g) return EXIT_FAILURE;
    char *text = NULL;
    size_t len = 0;
    int rc = EXIT_SUCCESS;
    if (clg_graph_print(g, &text, &len) != CLG_OK) rc = fail("%s", clg_graph_errmsg(g));
    else fwrite(text, 1, len, stdout);
    clg_graph_free(g, text);
    clg_graph_destroy(g);
    return rc;
}

/* ------------------------------------------------------------------ run */

typedef clg_status (*run_fn)(clg_graph *g, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs,
                             int n_outputs);

/* The places a graph can run. A device runner (OpenCL) adds a row here. */
typedef struct device {
    const char *name;
    const char *description;
    run_fn run;
} device;

static const device devices[] = {
    {"ref", "reference executor (host)", clg_graph_run_reference},
};
#define N_DEVICES ((int)(sizeof devices / sizeof devices[0]))

static const device *find_device(const char *name)
{
    for (int i = 0; i < N_DEVICES; i++)
        if (strcmp(devices[i].name, name) == 0) return &devices[i];
    char list[256] = "";
    size_t n = 0;
    for (int i = 0; i < N_DEVICES && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s'%s'", i ? ", " : "", devices[i].name);
    fail("device '%s': only %s %s available in this build", name, list, N_DEVICES == 1 ? "is" : "are");
    return NULL;
}

typedef struct run_args {
    const char *file;
    const char *inputs[MAX_FILES];
    int n_inputs;
    const char *outputs[MAX_FILES];
    int n_outputs;
    const char *device;
    long long batch; /* 0: not given */
} run_args;

/* Parses run's arguments; returns 0 or a usage error's exit status. */
static int parse_run_args(int argc, char **argv, run_args *ra)
{
    memset(ra, 0, sizeof *ra);
    ra->device = "ref";
    for (int i = 0; i < argc; i++) {
        int missing = 0;
        const char *v;
        const char *a = argv[i];
        if ((v = option_value(argc, argv, &i, "--input", &missing))) {
            if (ra->n_inputs == MAX_FILES) return usage_error("more than %d --input files", MAX_FILES);
            ra->inputs[ra->n_inputs++] = v;
        } else if ((v = option_value(argc, argv, &i, "--output", &missing))) {
            if (ra->n_outputs == MAX_FILES) return usage_error("more than %d --output files", MAX_FILES);
            ra->outputs[ra->n_outputs++] = v;
        } else if ((v = option_value(argc, argv, &i, "--device", &missing))) {
            ra->device = v;
        } else if ((v = option_value(argc, argv, &i, "--batch", &missing))) {
            char *end;
            errno = 0;
            long long b = strtoll(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || errno || b < 1)
                return usage_error("--batch: '%s' is not a positive integer", v);
            ra->batch = b;
        } else if (missing) {
            return usage_error("option %s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s' for run", a);
        } else if (ra->file) {
            return usage_error("run takes one FILE, got '%s' and '%s'", ra->file, a);
        } else {
            ra->file = a;
        }
    }
    if (!ra->file) return usage_error("run needs a FILE");
    if (ra->batch && ra->n_inputs)
        return usage_error("--batch applies to generated inputs; with --input the batch comes from the files");
    return 0;
}

/* SplitMix64, as the text format's random(seed) generator. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Generated input i at the given batch; returns 0 or prints and returns 1. */
static int random_input(clg_graph *g, int i, int64_t batch, clg_tensor *t)
{
    const char *name;
    clg_graph_input_info(g, i, &name, &t->rank, t->dims);
    if (t->dims[0] == CLG_BATCH) t->dims[0] = batch;
    size_t count = element_count(t->rank, t->dims);
    if (!count || !(t->data = malloc(count * sizeof(float))))
        return fail("out of memory generating input %s", name);
    uint64_t state = RANDOM_SEED + (uint64_t)i;
    for (size_t k = 0; k < count; k++)
        t->data[k] = (float)(-1.0 + 2.0 * (double)(splitmix64(&state) >> 40) / (double)(1u << 24));
    return 0;
}

/* Reads or generates every input; sets *batch. Returns 0 or 1 (printed). */
static int prepare_inputs(clg_graph *g, const run_args *ra, clg_tensor *inputs, int n, int64_t *batch)
{
    char buf[128];
    if (ra->n_inputs) {
        if (ra->n_inputs != n)
            return fail("the graph has %d input%s, but %d --input file%s given", n, n == 1 ? "" : "s",
                        ra->n_inputs, ra->n_inputs == 1 ? " was" : "s were");
        *batch = 1;
        for (int i = 0; i < n; i++) {
            const char *name;
            int rank;
            int64_t dims[CLG_MAX_RANK];
            if (clg_graph_read_npy(g, ra->inputs[i], i, &inputs[i]) != CLG_OK) return fail("%s", clg_graph_errmsg(g));
            clg_graph_input_info(g, i, &name, &rank, dims);
            if (dims[0] == CLG_BATCH) *batch = inputs[i].dims[0];
            printf("input %s: %s from %s\n", name, shape_str(inputs[i].rank, inputs[i].dims, buf, sizeof buf),
                   ra->inputs[i]);
        }
        return 0;
    }
    *batch = ra->batch ? ra->batch : 1;
    for (int i = 0; i < n; i++) {
        const char *name;
        if (random_input(g, i, *batch, &inputs[i])) return 1;
        clg_graph_input_info(g, i, &name, NULL, NULL);
        printf("input %s: %s random uniform [-1, 1) (seed %u, no --input given)\n", name,
               shape_str(inputs[i].rank, inputs[i].dims, buf, sizeof buf), RANDOM_SEED + (unsigned)i);
    }
    return 0;
}

/* Allocates every output at the batch. Returns 0 or 1 (printed). */
static int prepare_outputs(clg_graph *g, int64_t batch, clg_tensor *outputs, int n)
{
    for (int i = 0; i < n; i++) {
        const char *name;
        clg_tensor *t = &outputs[i];
        if (clg_graph_output_info(g, i, batch, &name, &t->rank, t->dims) != CLG_OK)
            return fail("%s", clg_graph_errmsg(g));
        size_t count = element_count(t->rank, t->dims);
        if (!count || !(t->data = malloc(count * sizeof(float))))
            return fail("out of memory for output %s", name);
    }
    return 0;
}

static const char *output_name(clg_graph *g, int i)
{
    const char *name = "?";
    clg_graph_output_info(g, i, 1, &name, NULL, NULL);
    return name;
}

/* Prints min/max/mean and the first values of output i. */
static void summarize(clg_graph *g, int i, const clg_tensor *t)
{
    const char *name = output_name(g, i);
    char buf[128];
    size_t count = element_count(t->rank, t->dims), nans = 0;
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < count; k++) {
        double v = t->data[k];
        if (isnan(v)) {
            nans++;
            continue;
        }
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    printf("output %s: %s\n", name, shape_str(t->rank, t->dims, buf, sizeof buf));
    printf("  min %.9g  max %.9g  mean %.9g", lo, hi, count > nans ? sum / (double)(count - nans) : NAN);
    if (nans) printf("  (%zu NaN)", nans);
    printf("\n");
    if (t->rank == 2 && t->dims[1] <= 10) {
        int64_t rows = t->dims[0] < 4 ? t->dims[0] : 4;
        for (int64_t r = 0; r < rows; r++) {
            printf("  [%lld]", (long long)r);
            for (int64_t c = 0; c < t->dims[1]; c++) printf(" %.6g", t->data[r * t->dims[1] + c]);
            printf("\n");
        }
        if (t->dims[0] > rows) printf("  ... %lld more rows\n", (long long)(t->dims[0] - rows));
    } else {
        size_t shown = count < 10 ? count : 10;
        printf("  first %zu of %zu:", shown, count);
        for (size_t k = 0; k < shown; k++) printf(" %.6g", t->data[k]);
        printf("\n");
    }
}

static int cmd_run(int argc, char **argv)
{
    run_args ra;
    int rc = parse_run_args(argc, argv, &ra);
    if (rc) return rc;
    const device *dev = find_device(ra.device);
    if (!dev) return EXIT_FAILURE;
    clg_graph *g = load_graph(ra.file);
    if (!g) return EXIT_FAILURE;
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    clg_tensor *outputs = calloc((size_t)n_out + 1, sizeof *outputs);
    int64_t batch = 1;
    if (!inputs || !outputs) rc = fail("out of memory");
    else if (ra.n_outputs > n_out)
        rc = fail("the graph has %d output%s, but %d --output files were given", n_out, n_out == 1 ? "" : "s",
                  ra.n_outputs);
    if (!rc) rc = prepare_inputs(g, &ra, inputs, n_in, &batch);
    if (!rc) rc = prepare_outputs(g, batch, outputs, n_out);
    if (!rc) {
        printf("device: %s\n", dev->description);
        if (dev->run(g, inputs, n_in, outputs, n_out) != CLG_OK) rc = fail("%s", clg_graph_errmsg(g));
    }
    for (int i = 0; !rc && i < n_out; i++) {
        char buf[128];
        if (i >= ra.n_outputs) {
            summarize(g, i, &outputs[i]);
        } else if (clg_graph_write_npy(g, ra.outputs[i], &outputs[i]) != CLG_OK) {
            rc = fail("%s", clg_graph_errmsg(g));
        } else {
            printf("output %s: %s written to %s\n", output_name(g, i),
                   shape_str(outputs[i].rank, outputs[i].dims, buf, sizeof buf), ra.outputs[i]);
        }
    }
    for (int i = 0; inputs && i < n_in; i++) {
        if (ra.n_inputs) clg_graph_free_tensor(g, &inputs[i]);
        else free(inputs[i].data);
    }
    for (int i = 0; outputs && i < n_out; i++) free(outputs[i].data);
    free(inputs);
    free(outputs);
    clg_graph_destroy(g);
    return rc;
}

/* ----------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc < 2) return usage_error("no command given");
    const char *cmd = argv[1];
    int rc;
    if (strcmp(cmd, "check") == 0) {
        rc = cmd_check(argc - 2, argv + 2);
    } else if (strcmp(cmd, "print") == 0) {
        rc = cmd_print(argc - 2, argv + 2);
    } else if (strcmp(cmd, "run") == 0) {
        rc = cmd_run(argc - 2, argv + 2);
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        int v = clg_version();
        printf("clgraph %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
        rc = EXIT_SUCCESS;
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stderr);
        return EXIT_SUCCESS;
    } else if (cmd[0] == '-') {
        return usage_error("unknown option '%s'", cmd);
    } else {
        return usage_error("unknown command '%s'", cmd);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "clgraph: cannot write to standard output: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    return rc;
}
