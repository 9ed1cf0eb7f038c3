/* Fuzzes the bundle reader (runtime/bundle/bundle_format.c): the container,
 * its sections and the graph in them, without a device. Checksums would
 * stop nearly every mutation at the first check, so each input is also
 * tried "resealed": with every checksum recomputed, the checks behind them
 * see the damage. Properties beyond "no crash, no leak":
 *   - a rejected bundle gives CLG_ERR_FORMAT or CLG_ERR_OUT_OF_MEMORY with a
 *     message naming a section or the header and an offset;
 *   - an accepted bundle's sections, written again with
 *     clg_bundle_serialize, read back to the same sections, programs and
 *     identity. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cache_file.h"
#include "clgraph.h"
#include "fuzz_alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_bundle: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void check_one(const unsigned char *d, size_t len)
{
    clg_allocator a = {fuzz_alloc, NULL};
    clg_bundle b;
    char err[512];
    clg_status s = clg_bundle_parse(&a, d, len, &b, err, sizeof err);
    if (s) {
        if (s != CLG_ERR_FORMAT && s != CLG_ERR_OUT_OF_MEMORY) fail("an unexpected status", clg_status_string(s));
        if (s == CLG_ERR_FORMAT && !strstr(err, "offset")) fail("a rejection without an offset", err);
        return;
    }
    clg_graph *g = NULL;
    if (clg_graph_create(&g, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    s = clg_bundle_graph(&b, g, err, sizeof err);
    if (s && s != CLG_ERR_FORMAT && s != CLG_ERR_OUT_OF_MEMORY) fail("the graph: an unexpected status", err);
    if (s == CLG_ERR_FORMAT && !strstr(err, "GRPH")) fail("a graph rejection not naming GRPH", err);
    clg_graph_destroy(g);

    clg_bundle_out out;
    for (int i = 0; i < CLG_SEC_COUNT; i++) {
        out.data[i] = b.sec[i].data;
        out.size[i] = b.sec[i].size;
    }
    unsigned char *again = NULL;
    size_t again_len = 0;
    if (clg_bundle_serialize(&a, &out, &again, &again_len) == CLG_OK) {
        clg_bundle c;
        s = clg_bundle_parse(&a, again, again_len, &c, err, sizeof err);
        if (s == CLG_OK) {
            for (int i = 0; i < CLG_SEC_COUNT; i++)
                if (c.sec[i].size != b.sec[i].size || memcmp(c.sec[i].data, b.sec[i].data, b.sec[i].size))
                    fail("a section changed when written again", clg_bundle_tags[i]);
            if (c.n_programs != b.n_programs || strcmp(c.identity, b.identity) || strcmp(c.version, b.version) ||
                c.precision != b.precision)
                fail("programs, identity or precision changed when written again", NULL);
            for (int i = 0; i < b.n_programs; i++)
                if (strcmp(c.programs[i].source, b.programs[i].source) ||
                    c.programs[i].binary_len != b.programs[i].binary_len)
                    fail("a program changed when written again", b.programs[i].file);
            clg_bundle_free(&c);
        } else if (s != CLG_ERR_OUT_OF_MEMORY) {
            fail("an accepted bundle written again is rejected", err);
        }
        clg_mem_free(&a, again);
    }
    clg_bundle_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    unsigned char *copy = malloc(size + 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    clg_bundle_reseal(copy, size);
    check_one(copy, size);
    free(copy);
    return 0;
}
