/* Fuzzes the text-format parser with a round-trip property, not only "no
 * crash": whatever clg_graph_parse accepts must print, the printed text must
 * parse again, and printing that graph must give the same text
 * (print(parse(print(x))) == print(x), as include/clgraph.h promises). A
 * rejected input must leave the graph empty with a message and a parse-time
 * status. Relative `weights "FILE"` paths resolve in tests/data/valid, so the
 * seed that uses weights.bin reaches the sidecar reader. */
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
    fprintf(stderr, "fuzz_parse: %s\n%s\n", what, detail ? detail : "");
    abort();
}

/* Parses text into a new graph; NULL when the parse failed (the failure is
 * checked here). *status receives the parse status. */
static clg_graph *parse(const char *text, size_t len, clg_status *status)
{
    clg_graph *g = NULL;
    if (clg_graph_create(&g, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    *status = clg_graph_parse(g, text, len, FUZZ_WEIGHTS_DIR);
    if (*status == CLG_OK) return g;
    switch (*status) {
    case CLG_ERR_PARSE: case CLG_ERR_INVALID_GRAPH: case CLG_ERR_IO: case CLG_ERR_FORMAT:
    case CLG_ERR_OUT_OF_MEMORY: case CLG_ERR_UNSUPPORTED:
        break;
    default:
        fail("clg_graph_parse returned an unexpected status", clg_status_string(*status));
    }
    if (clg_graph_errmsg(g)[0] == '\0') fail("a failed parse left no message", clg_status_string(*status));
    if (clg_graph_node_count(g) || clg_graph_input_count(g) || clg_graph_output_count(g))
        fail("a failed parse left nodes in the graph", clg_graph_errmsg(g));
    clg_graph_destroy(g);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clg_status s;
    clg_graph *g = parse((const char *)data, size, &s);
    if (!g) return 0;
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    clg_graph *again = NULL;
    if (clg_graph_print(g, &first, &first_len) != CLG_OK) {
        if (strstr(clg_graph_errmsg(g), "out of memory")) goto done; /* the allocator's cap */
        fail("a parsed graph does not print", clg_graph_errmsg(g));
    }
    if (strlen(first) != first_len) fail("print: the length does not match the text", first);
    again = parse(first, first_len, &s);
    if (!again) {
        if (s == CLG_ERR_OUT_OF_MEMORY) goto done;
        /* Re-parse to get the message; the graph was destroyed above. */
        clg_graph *h = NULL;
        clg_graph_create(&h, fuzz_alloc, NULL);
        clg_graph_parse(h, first, first_len, FUZZ_WEIGHTS_DIR);
        fprintf(stderr, "fuzz_parse: the printed text does not parse again: %s\n", clg_graph_errmsg(h));
        fail("printed text:", first);
    }
    if (clg_graph_print(again, &second, &second_len) != CLG_OK) {
        if (strstr(clg_graph_errmsg(again), "out of memory")) goto done;
        fail("the re-parsed graph does not print", clg_graph_errmsg(again));
    }
    if (first_len != second_len || memcmp(first, second, first_len) != 0) {
        fprintf(stderr, "fuzz_parse: printing is not idempotent\n--- first print:\n%s\n--- second print:\n%s\n",
                first, second);
        abort();
    }
done:
    clg_graph_free(again, second);
    clg_graph_free(g, first);
    clg_graph_destroy(again);
    clg_graph_destroy(g);
    return 0;
}
