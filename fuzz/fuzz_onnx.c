/* Fuzzes the ONNX importer (clg_graph_parse_onnx) on the input bytes as a
 * serialized ModelProto. Beyond "no crash":
 *   - a rejected model gives one of the documented statuses with a message
 *     and leaves the graph empty;
 *   - an imported model is a valid clgraph graph: it prints, the text parses
 *     back, and printing that gives the same text. Only for models up to
 *     ROUND_TRIP_MAX bytes: printing a large model's weights as text and
 *     reading them back takes most of a second under ASan and would slow the
 *     fuzzer tenfold, and the weights' size adds nothing to the property. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgraph.h"
#include "fuzz_alloc.h"

#define ROUND_TRIP_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_onnx: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    if (clg_graph_create(&g, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clg_graph *g = new_graph(), *again = NULL;
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    clg_status s = clg_graph_parse_onnx(g, data, size);
    if (s != CLG_OK) {
        switch (s) {
        case CLG_ERR_FORMAT: case CLG_ERR_UNSUPPORTED: case CLG_ERR_INVALID_GRAPH:
        case CLG_ERR_OUT_OF_MEMORY:
            break;
        default:
            fail("clg_graph_parse_onnx returned an unexpected status", clg_status_string(s));
        }
        if (clg_graph_errmsg(g)[0] == '\0') fail("a failed import left no message", clg_status_string(s));
        if (clg_graph_node_count(g) || clg_graph_input_count(g) || clg_graph_output_count(g))
            fail("a failed import left nodes in the graph", clg_graph_errmsg(g));
        goto done;
    }
    if (size > ROUND_TRIP_MAX) goto done;
    if (clg_graph_print(g, &first, &first_len) != CLG_OK) {
        if (strstr(clg_graph_errmsg(g), "out of memory")) goto done; /* the allocator's cap */
        fail("an imported graph does not print", clg_graph_errmsg(g));
    }
    again = new_graph();
    s = clg_graph_parse(again, first, first_len, NULL);
    if (s == CLG_ERR_OUT_OF_MEMORY) goto done;
    if (s != CLG_OK) {
        fprintf(stderr, "fuzz_onnx: an imported graph's text does not parse: %s\n", clg_graph_errmsg(again));
        fail("its text:", first);
    }
    if (clg_graph_print(again, &second, &second_len) != CLG_OK) {
        if (strstr(clg_graph_errmsg(again), "out of memory")) goto done;
        fail("the re-parsed graph does not print", clg_graph_errmsg(again));
    }
    if (first_len != second_len || memcmp(first, second, first_len) != 0) {
        fprintf(stderr, "fuzz_onnx: printing is not idempotent\n--- imported:\n%s\n--- re-parsed:\n%s\n", first,
                second);
        abort();
    }
done:
    clg_graph_free(again, second);
    clg_graph_free(g, first);
    clg_graph_destroy(again);
    clg_graph_destroy(g);
    return 0;
}
