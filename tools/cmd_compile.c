/* clgraph compile: run the optimizer and write (or print) the result, with
 * the IR after a chosen pass and Graphviz pictures before and after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct compile_args {
    const char *file, *out, *dump_after, *dot_before, *dot_after;
    int opt_level;
} compile_args;

static int parse_compile_args(int argc, char **argv, compile_args *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->opt_level = CLG_OPT_DEFAULT;
    for (int i = 0; i < argc; i++) {
        int missing = 0, rc = 0, o;
        const char *v, *a = argv[i];
        if ((o = opt_option(argc, argv, &i, &ca->opt_level, &rc))) {
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

int cmd_compile(int argc, char **argv)
{
    compile_args ca;
    int rc = parse_compile_args(argc, argv, &ca);
    if (rc) return rc;
    clg_graph *g = load_graph(ca.file);
    if (!g) return EXIT_FAILURE;
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
