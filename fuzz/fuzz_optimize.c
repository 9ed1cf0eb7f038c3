/* Fuzzes the graph compiler through the text format: every graph that
 * parses is optimized (on a clone) at levels 1 and 2, and
 *   - clg_graph_optimize succeeds (or runs out of the harness's memory);
 *   - the optimized graph keeps the inputs' and outputs' names and shapes
 *     (at batch 3) as include/clgraph.h promises;
 *   - it prints, the text parses back, and printing that gives the same
 *     text, so what the passes build (folded constants, fused Elementwise
 *     nodes and their expressions) is a valid graph in the text format.
 * The numbers are not compared: on arbitrary graphs, rounding differences
 * after folding are unbounded relative to cancelling outputs; the runtime
 * tests compare optimized and unoptimized models on real networks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgraph.h"
#include "fuzz_alloc.h"

#ifndef FUZZ_WEIGHTS_DIR
#define FUZZ_WEIGHTS_DIR "tests/data/valid"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_optimize: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static int is_oom(const clg_graph *g) { return strstr(clg_graph_errmsg(g), "out of memory") != NULL; }

/* Inputs and outputs of `opt` have the names and shapes they have in g. */
static void check_interface(clg_graph *g, clg_graph *opt, int level)
{
    char what[96];
    snprintf(what, sizeof what, "level %d changed the graph's interface", level);
    if (clg_graph_input_count(opt) != clg_graph_input_count(g) ||
        clg_graph_output_count(opt) != clg_graph_output_count(g))
        fail(what, "input or output count");
    for (int i = 0; i < clg_graph_input_count(g); i++) {
        const char *a, *b;
        int ra, rb;
        int64_t da[CLG_MAX_RANK], db[CLG_MAX_RANK];
        if (clg_graph_input_info(g, i, &a, &ra, da) || clg_graph_input_info(opt, i, &b, &rb, db))
            fail("input_info failed", NULL);
        if (strcmp(a, b) || ra != rb || memcmp(da, db, (size_t)ra * sizeof da[0])) fail(what, a);
    }
    for (int i = 0; i < clg_graph_output_count(g); i++) {
        const char *a, *b;
        int ra, rb;
        int64_t da[CLG_MAX_RANK], db[CLG_MAX_RANK];
        clg_status sa = clg_graph_output_info(g, i, 3, &a, &ra, da);
        clg_status sb = clg_graph_output_info(opt, i, 3, &b, &rb, db);
        if (sa != sb) fail(what, "output_info status");
        if (sa) continue; /* batch 3 takes a tensor past the element limit */
        if (strcmp(a, b) || ra != rb || memcmp(da, db, (size_t)ra * sizeof da[0])) fail(what, a);
    }
}

static void check_round_trip(clg_graph *opt, int level)
{
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    clg_graph *again = NULL;
    if (clg_graph_print(opt, &first, &first_len) != CLG_OK) {
        if (is_oom(opt)) return;
        fail("an optimized graph does not print", clg_graph_errmsg(opt));
    }
    if (clg_graph_create(&again, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    clg_status s = clg_graph_parse(again, first, first_len, FUZZ_WEIGHTS_DIR);
    if (s != CLG_OK && s != CLG_ERR_OUT_OF_MEMORY) {
        fprintf(stderr, "fuzz_optimize: level %d: the optimized graph's text does not parse: %s\n", level,
                clg_graph_errmsg(again));
        fail("its text:", first);
    }
    if (s == CLG_OK && clg_graph_print(again, &second, &second_len) != CLG_OK && !is_oom(again))
        fail("the re-parsed optimized graph does not print", clg_graph_errmsg(again));
    if (second && (first_len != second_len || memcmp(first, second, first_len) != 0)) {
        fprintf(stderr, "fuzz_optimize: level %d: printing is not idempotent\n--- optimized:\n%s\n--- re-parsed:\n%s\n",
                level, first, second);
        abort();
    }
    clg_graph_free(again, second);
    clg_graph_destroy(again);
    clg_graph_free(opt, first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clg_graph *g = NULL;
    if (clg_graph_create(&g, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    if (clg_graph_parse(g, (const char *)data, size, FUZZ_WEIGHTS_DIR) != CLG_OK) {
        clg_graph_destroy(g);
        return 0; /* fuzz_parse checks the failures */
    }
    for (int level = 1; level <= 2; level++) {
        clg_graph *opt = NULL;
        clg_status s = clg_graph_clone(g, &opt);
        if (s == CLG_ERR_OUT_OF_MEMORY) continue;
        if (s != CLG_OK) fail("clone failed", clg_graph_errmsg(g));
        s = clg_graph_optimize(opt, level, NULL, NULL);
        if (s != CLG_OK && s != CLG_ERR_OUT_OF_MEMORY) fail("optimize failed", clg_graph_errmsg(opt));
        check_interface(g, opt, level);
        check_round_trip(opt, level);
        clg_graph_destroy(opt);
    }
    clg_graph_destroy(g);
    return 0;
}
