/* clgraph — the command-line tool.
 *
 *   clgraph check FILE       parse and validate; list nodes and shapes
 *   clgraph print FILE       the canonical text form
 *   clgraph run FILE ...     run on a device, reading/writing .npy files
 *   clgraph compile FILE     optimize and write (or print) the result
 *   clgraph bench FILE ...   time a model on a device
 *   clgraph devices          list the OpenCL devices
 *   clgraph tune             tune CLBlast's GEMM parameters for a device
 *
 * Exit status: 0 success, 1 an error from the library or a file, 2 a usage
 * error. Only the public API (clgraph.h) is used. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char usage_text[] =
    "usage: clgraph check FILE      parse and validate a graph; list its nodes\n"
    "       clgraph print FILE      print the graph in canonical text form\n"
    "       clgraph run FILE [options]\n"
    "           --input X.npy       a graph input, in input order (repeatable);\n"
    "                               without any, inputs are random in [-1, 1)\n"
    "           --output Y.npy      write a graph output, in output order (repeatable);\n"
    "                               outputs without a file are summarized\n"
    "           --batch N           batch size of generated inputs (default 1)\n"
    "           --dim NAME=SIZE     size of the symbolic dimension NAME of generated inputs\n"
    "           --device SPEC       ref (the host reference executor), gpu, cpu, an index,\n"
    "                               P:D, or part of a device name (default: CLGRAPH_DEVICE,\n"
    "                               else the first discrete GPU, else any GPU, else a CPU)\n"
    "           --check             also run the reference executor and print the errors\n"
    "           -O0, -O1, -O2       optimization level (default -O2)\n"
    "           --precision P       fp32 (default), fp16-storage (half buffers, float\n"
    "                               arithmetic) or fp16 (needs cl_khr_fp16)\n"
    "           --cache-dir DIR     program binaries, GEMM choices and tuned parameters\n"
    "                               (default: CLGRAPH_CACHE_DIR, else ~/.cache/clgraph;\n"
    "                               '' keeps nothing on disk)\n"
    "           --kernel-dir DIR    read kernels/*.cl from DIR (default: CLGRAPH_KERNEL_DIR,\n"
    "                               else the copies built into the library)\n"
    "           --gemm PATH         default (a remembered choice, else the device class's\n"
    "                               variant; or CLGRAPH_GEMM), measure (time the candidates\n"
    "                               once, remember the fastest), clblast, generated\n"
    "                               or generated:VARIANT: how GEMMs run\n"
    "           --verbose           each OpenCL program built, with its compile time\n"
    "                               (also CLGRAPH_LOG=builds)\n"
    "       clgraph compile FILE [-O0|-O1|-O2] [-o OUT.clg] [--dump-after PASS|all]\n"
    "                            [--dot BEFORE.dot AFTER.dot]\n"
    "                               optimize; write the result (weights beside it in\n"
    "                               OUT.clg.bin) or print it\n"
    "       clgraph compile FILE [-O0|-O1|-O2] --bundle -o OUT.clgb [--device SPEC]\n"
    "                            [--batch N] [--dim NAME=SIZE] [--cache-dir DIR] [--gemm PATH]\n"
    "                            [--precision P] (recorded: the bundle runs at it)\n"
    "                               compile for a device and write an AOT bundle (graph,\n"
    "                               weights, GEMM choices, program binaries and sources):\n"
    "                               run and bench load it without compiling anything\n"
    "       clgraph bench FILE [--device SPEC] [--batch N] [--dim NAME=SIZE] [--iters K] [--warmup W]\n"
    "                          [-O0|-O1|-O2] [--precision P] [--json] [--profile]\n"
    "                          [--cache-dir DIR] [--kernel-dir DIR] [--gemm PATH] [--verbose]\n"
    "       clgraph devices         list every OpenCL device; * marks the default\n"
    "       clgraph tune [--device SPEC] [--quick|--full] [--cache-dir DIR]\n"
    "                               search CLBlast's GEMM parameters for a device and\n"
    "                               store them; every later context applies them\n"
    "       clgraph --version\n"
    "       clgraph help\n"
    "environment (defaults for the options above): CLGRAPH_DEVICE (device spec),\n"
    "             CLGRAPH_CACHE_DIR (program cache, default ~/.cache/clgraph),\n"
    "             CLGRAPH_CACHE=0 (no program cache), CLGRAPH_KERNEL_DIR (kernels),\n"
    "             CLGRAPH_TUNING=0 (ignore tuned GEMM parameters),\n"
    "             CLGRAPH_GEMM=clblast|generated[:VARIANT] (force a GEMM path;\n"
    "             default: measured per shape, remembered in the cache directory)\n";

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
        clg_dtype dtype = CLG_DTYPE_F32;
        clg_graph_node_info(g, i, &op, &name, &rank, dims);
        clg_graph_node_dtype(g, i, &dtype);
        printf("%5d  %-*s  %-*s  %s\n", i, name_w, name, op_w, clg_op_name(op),
               shape_str(g, dtype, rank, dims, buf, sizeof buf));
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

typedef struct run_args {
    const char *file;
    const char *inputs[MAX_FILES];
    int n_inputs;
    const char *outputs[MAX_FILES];
    int n_outputs;
    const char *device; /* NULL: the default */
    size_args sizes;    /* --batch, --dim */
    int check;
    int opt_level;
    clg_precision precision; /* --precision */
    const char *compile_option; /* the first -O or --precision given (a bundle takes neither) */
    clg_context_options context; /* --cache-dir, --kernel-dir, --gemm */
} run_args;

/* Parses run's arguments; returns 0 or a usage error's exit status. */
static int parse_run_args(int argc, char **argv, run_args *ra)
{
    memset(ra, 0, sizeof *ra);
    ra->opt_level = CLG_OPT_DEFAULT;
    ra->context = (clg_context_options)CLG_CONTEXT_OPTIONS_INIT;
    for (int i = 0; i < argc; i++) {
        int missing = 0, rc = 0, o;
        const char *v;
        const char *a = argv[i];
        if ((o = opt_option(argc, argv, &i, &ra->opt_level, &rc))) {
            if (o < 0) return rc;
            if (!ra->compile_option) ra->compile_option = a;
        } else if ((o = precision_option(argc, argv, &i, &ra->precision, &rc))) {
            if (o < 0) return rc;
            if (!ra->compile_option) ra->compile_option = a;
        } else if ((o = context_option(argc, argv, &i, &ra->context, &rc))) {
            if (o < 0) return rc;
        } else if ((v = option_value(argc, argv, &i, "--input", &missing))) {
            if (ra->n_inputs == MAX_FILES) return usage_error("more than %d --input files", MAX_FILES);
            ra->inputs[ra->n_inputs++] = v;
        } else if ((v = option_value(argc, argv, &i, "--output", &missing))) {
            if (ra->n_outputs == MAX_FILES) return usage_error("more than %d --output files", MAX_FILES);
            ra->outputs[ra->n_outputs++] = v;
        } else if ((v = option_value(argc, argv, &i, "--device", &missing))) {
            ra->device = v;
        } else if (size_option(argc, argv, &i, &ra->sizes, &rc)) {
            if (rc) return rc;
        } else if (strcmp(a, "--check") == 0) {
            ra->check = 1;
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
    if (ra->sizes.n && ra->n_inputs)
        return usage_error("--batch and --dim apply to generated inputs; with --input the sizes come from the files");
    return 0;
}

/* --check: the reference executor's outputs beside the device's. */
static int check_outputs(clg_graph *g, const clg_tensor *inputs, int n_in, const clg_tensor *outputs,
                         int n_out)
{
    clg_tensor *ref = calloc((size_t)n_out + 1, sizeof *ref);
    int rc = ref ? prepare_outputs(g, inputs, n_in, ref, n_out) : fail("out of memory");
    if (!rc && clg_graph_run_reference(g, inputs, n_in, ref, n_out) != CLG_OK) rc = fail("%s", clg_graph_errmsg(g));
    for (int i = 0; !rc && i < n_out; i++) {
        size_t count = element_count(ref[i].rank, ref[i].dims);
        double max_abs = 0, max_ref = 0, max_rel = 0;
        for (size_t k = 0; k < count; k++) {
            double r = tensor_value(&ref[i], k), d = fabs(tensor_value(&outputs[i], k) - r);
            if (!(d <= max_abs)) max_abs = isnan(d) ? INFINITY : d;
            if (fabs(r) > max_ref) max_ref = fabs(r);
            double rel = d / (fabs(r) > 1e-6 ? fabs(r) : 1e-6);
            if (!(rel <= max_rel)) max_rel = isnan(rel) ? INFINITY : rel;
        }
        printf("check %s: max abs error %.3g, max rel error %.3g (%.3g relative to the largest |value|)\n",
               output_name(g, i), max_abs, max_rel, max_abs / (max_ref > 1e-6 ? max_ref : 1e-6));
    }
    for (int i = 0; ref && i < n_out; i++) free(ref[i].data);
    free(ref);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    run_args ra;
    int rc = parse_run_args(argc, argv, &ra);
    if (rc) return rc;
    /* A bundle opens its device first: it compiles nothing there. */
    engine e = {0};
    int bundle = file_is_bundle(ra.file);
    if (bundle && ra.compile_option) return bundle_refuses(ra.compile_option);
    clg_graph *g = NULL;
    if (bundle && engine_open_bundle(&e, ra.device, ra.file, 0, &ra.context, &g)) return EXIT_FAILURE;
    if (!bundle && !(g = load_graph(ra.file))) return EXIT_FAILURE;
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    clg_tensor *outputs = calloc((size_t)n_out + 1, sizeof *outputs);
    int64_t batch = 1;
    if (!inputs || !outputs) rc = fail("out of memory");
    else if (ra.n_outputs > n_out)
        rc = fail("the graph has %d output%s, but %d --output files were given", n_out, n_out == 1 ? "" : "s",
                  ra.n_outputs);
    /* Arguments that cannot fit the graph fail before the device is set up
     * (which compiles every kernel). */
    if (!rc && ra.n_inputs && ra.n_inputs != n_in)
        rc = fail("the graph has %d input%s, but %d --input files were given", n_in, n_in == 1 ? "" : "s",
                  ra.n_inputs);
    /* Input files are read and checked before the device is set up too. */
    if (!rc) rc = prepare_inputs(g, ra.inputs, ra.n_inputs, &ra.sizes, inputs, n_in, &batch, 0);
    if (!rc) rc = prepare_outputs(g, inputs, n_in, outputs, n_out);
    if (!rc && !bundle) rc = engine_open(&e, ra.device, g, 0, &ra.context, ra.opt_level, ra.precision);
    if (!rc) {
        printf("device: %s\n", e.description);
        rc = engine_run(&e, g, inputs, n_in, outputs, n_out);
    }
    if (!rc && ra.check && !e.is_ref) rc = check_outputs(g, inputs, n_in, outputs, n_out);
    for (int i = 0; !rc && i < n_out; i++) {
        char buf[128];
        if (i >= ra.n_outputs) {
            summarize(g, i, &outputs[i]);
        } else if (clg_graph_write_npy(g, ra.outputs[i], &outputs[i]) != CLG_OK) {
            rc = fail("%s", clg_graph_errmsg(g));
        } else {
            printf("output %s: %s written to %s\n", output_name(g, i),
                   shape_str(NULL, outputs[i].dtype, outputs[i].rank, outputs[i].dims, buf, sizeof buf), ra.outputs[i]);
        }
    }
    /* The results reach a pipe before the context goes: closing it may
     * still write the compiled programs to the cache (on PoCL, seconds on
     * a first run: docs/runtime.md, "Start-up"). */
    fflush(stdout);
    engine_close(&e);
    free_inputs(g, ra.n_inputs > 0, inputs, n_in);
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
    } else if (strcmp(cmd, "compile") == 0) {
        rc = cmd_compile(argc - 2, argv + 2);
    } else if (strcmp(cmd, "bench") == 0) {
        rc = cmd_bench(argc - 2, argv + 2);
    } else if (strcmp(cmd, "devices") == 0) {
        rc = cmd_devices(argc - 2, argv + 2);
    } else if (strcmp(cmd, "tune") == 0) {
        rc = cmd_tune(argc - 2, argv + 2);
    } else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        int v = clg_version();
        printf("clgraph %d.%d.%d\n", v / 10000, v / 100 % 100, v % 100);
        rc = EXIT_SUCCESS;
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stdout);
        rc = EXIT_SUCCESS;
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
