/* clgraph compile: run the optimizer and write (or print) the result, with
 * the IR after a chosen pass and Graphviz pictures before and after. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct compile_args {
    const char *file, *out, *dump_after, *dot_before, *dot_after;
    int opt_level;
    clg_precision precision; /* --precision (a bundle records it) */
    /* --bundle: the device, the sizes to plan besides 1, context settings */
    int bundle;
    const char *device;
    size_args sizes;
    clg_context_options context;
} compile_args;

static int parse_compile_args(int argc, char **argv, compile_args *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->opt_level = CLG_OPT_DEFAULT;
    ca->context = (clg_context_options)CLG_CONTEXT_OPTIONS_INIT;
    for (int i = 0; i < argc; i++) {
        int missing = 0, rc = 0, o;
        const char *v, *a = argv[i];
        if ((o = opt_option(argc, argv, &i, &ca->opt_level, &rc))) {
            if (o < 0) return rc;
        } else if ((o = precision_option(argc, argv, &i, &ca->precision, &rc))) {
            if (o < 0) return rc;
        } else if (strcmp(a, "--bundle") == 0) {
            ca->bundle = 1;
        } else if ((v = option_value(argc, argv, &i, "--device", &missing))) {
            ca->device = v;
        } else if (size_option(argc, argv, &i, &ca->sizes, &rc)) {
            if (rc) return rc;
        } else if ((o = context_option(argc, argv, &i, &ca->context, &rc))) {
            if (o < 0) return rc;
        } else if ((v = option_value(argc, argv, &i, "-o", &missing))) {
            ca->out = v;
        } else if ((v = option_value(argc, argv, &i, "--dump-after", &missing))) {
            ca->dump_after = v;
        } else if (strcmp(a, "--dot") == 0) {
            if (i + 2 >= argc) return usage_error("--dot needs two files: BEFORE.dot AFTER.dot");
            ca->dot_before = argv[++i];
            ca->dot_after = argv[++i];
        } else if (missing) {
            return usage_error("option %s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s' for compile", a);
        } else if (ca->file) {
            return usage_error("compile takes one FILE, got '%s' and '%s'", ca->file, a);
        } else {
            ca->file = a;
        }
    }
    if (!ca->file) return usage_error("compile needs a FILE");
    if (ca->bundle && !ca->out) return usage_error("--bundle needs -o OUT.clgb");
    if (ca->bundle && (ca->dump_after || ca->dot_before))
        return usage_error("--bundle does not take --dump-after or --dot");
    if (!ca->bundle && (ca->device || ca->sizes.n || ca->context.cache_dir || ca->context.kernel_dir ||
                        ca->context.gemm))
        return usage_error("--device, --batch, --dim, --cache-dir, --kernel-dir and --gemm need --bundle");
    if (ca->dump_after && strcmp(ca->dump_after, "all") != 0) {
        int level, found = 0;
        const char *name;
        for (int i = 0; (name = clg_pass_name(i, &level)); i++) found |= strcmp(name, ca->dump_after) == 0;
        if (!found) {
            char list[1024] = "";
            size_t n = 0;
            for (int i = 0; (name = clg_pass_name(i, &level)) && n < sizeof list; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", name);
            return usage_error("--dump-after: no pass '%s' (passes: %s, or all)", ca->dump_after, list);
        }
    }
    return 0;
}

static void dump_after(void *user, const char *pass, const clg_graph *g)
{
    const char *wanted = user;
    if (strcmp(wanted, "all") != 0 && strcmp(wanted, pass) != 0) return;
    char *text = NULL;
    size_t len = 0;
    /* clg_graph_print takes a mutable graph for its allocator and message;
     * printing changes neither the nodes nor their order. */
    if (clg_graph_print((clg_graph *)g, &text, &len) != CLG_OK) return;
    printf("# ---- after %s\n", pass);
    fwrite(text, 1, len, stdout);
    clg_graph_free((clg_graph *)g, text);
}

static int write_dot(clg_graph *g, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (clg_graph_dot(g, &text, &len) != CLG_OK) return fail("%s", clg_graph_errmsg(g));
    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f || fwrite(text, 1, len, f) != len) rc = fail("cannot write %s", path);
    if (f && fclose(f) != 0 && !rc) rc = fail("cannot write %s", path);
    clg_graph_free(g, text);
    return rc;
}

/* --bundle: compile g for the device (planning batch 1, and the sizes
 * given by running once at them), then write the model as a bundle. */
static int write_bundle(const compile_args *ca, clg_graph *g)
{
    engine e;
    int rc = engine_open(&e, ca->device, g, 0, &ca->context, ca->opt_level, ca->precision);
    if (rc) return rc;
    if (e.is_ref) {
        engine_close(&e);
        return fail("--bundle needs an OpenCL device");
    }
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    clg_tensor *outputs = calloc((size_t)n_out + 1, sizeof *outputs);
    int64_t batch = 1;
    if (!inputs || !outputs) rc = fail("out of memory");
    /* Run once, at the sizes given or else at batch 1 when N is the only
     * symbol: a driver that compiles kernels at their first launch (PoCL
     * builds each work-group function then) puts them into the binaries
     * the bundle takes only after they have run. */
    bool only_batch = true;
    for (int i = 0; i < n_in; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        clg_graph_input_info(g, i, NULL, &rank, dims);
        for (int d = 0; d < rank; d++) only_batch &= dims[d] >= 0 || dims[d] == CLG_BATCH;
    }
    if (!rc && (ca->sizes.n || only_batch)) {
        rc = prepare_inputs(g, NULL, 0, &ca->sizes, inputs, n_in, &batch, 1);
        if (!rc) rc = prepare_outputs(g, inputs, n_in, outputs, n_out);
        if (!rc) rc = engine_run(&e, g, inputs, n_in, outputs, n_out);
        free_inputs(g, 0, inputs, n_in);
        for (int i = 0; i < n_out; i++) free(outputs[i].data);
    }
    if (!rc && clg_model_save_bundle(e.model, ca->out) != CLG_OK) rc = fail("%s", clg_model_errmsg(e.model));
    if (!rc) fprintf(stderr, "clgraph: -O%d bundle for %s written to %s\n", ca->opt_level, e.description, ca->out);
    free(inputs);
    free(outputs);
    engine_close(&e);
    return rc;
}

int cmd_compile(int argc, char **argv)
{
    compile_args ca;
    int rc = parse_compile_args(argc, argv, &ca);
    if (rc) return rc;
    clg_graph *g = load_graph(ca.file);
    if (!g) return EXIT_FAILURE;
    if (ca.bundle) {
        rc = write_bundle(&ca, g);
        clg_graph_destroy(g);
        return rc;
    }
    int before = clg_graph_node_count(g);
    if (ca.dot_before) rc = write_dot(g, ca.dot_before);
    if (!rc && clg_graph_optimize(g, ca.opt_level, ca.dump_after ? dump_after : NULL, (void *)ca.dump_after) != CLG_OK)
        rc = fail("%s", clg_graph_errmsg(g));
    if (!rc && ca.dot_after) rc = write_dot(g, ca.dot_after);
    if (!rc && ca.out) {
        if (clg_graph_save(g, ca.out) != CLG_OK) rc = fail("%s", clg_graph_errmsg(g));
        else fprintf(stderr, "clgraph: -O%d: %d nodes -> %d nodes, written to %s\n", ca.opt_level, before,
                     clg_graph_node_count(g), ca.out);
    } else if (!rc && !ca.dump_after) {
        char *text = NULL;
        size_t len = 0;
        if (clg_graph_print(g, &text, &len) != CLG_OK) rc = fail("%s", clg_graph_errmsg(g));
        else fwrite(text, 1, len, stdout);
        clg_graph_free(g, text);
    }
    clg_graph_destroy(g);
    return rc;
}
