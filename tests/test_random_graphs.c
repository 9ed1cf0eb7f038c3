/* Differential testing of the whole compiler: seeded random residual
 * networks and transformer encoders (tests/random_graph.h), compiled at the default optimization
 * level for the OpenCL device, against the reference executor on the
 * unoptimized graph. A failure prints its seed; replay one graph with
 *   CLGRAPH_RANDOM_SEED=<seed> ./build/tests/test_random_graphs
 * (a transformer: CLGRAPH_RANDOM_TRANSFORMER=<seed>) and print its text with CLGRAPH_RANDOM_PRINT=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "random_graph.h"

#define GRAPHS 200
#define TOL 1e-4

#define TRANSFORMERS 24

static void check_seed(uint64_t seed, bool transformer)
{
    clg_context *ctx = test_context();
    char *text = transformer ? random_transformer(seed) : random_graph(seed);
    if (getenv("CLGRAPH_RANDOM_PRINT")) printf("%s", text);
    clg_graph *g = test_parse(text);
    int64_t batch = 1 + (int64_t)(seed % 5);
    double err = test_device_error(ctx, g, batch, (unsigned)seed);
    clg_graph_destroy(g);
    if (!(err <= TOL)) {
        fprintf(stderr, "%s", text);
        free(text);
        fail_msg("%s seed %llu (batch %lld): error %.3g > %.3g; replay with %s=%llu "
                 "./build/tests/test_random_graphs", transformer ? "transformer" : "graph",
                 (unsigned long long)seed, (long long)batch, err, TOL,
                 transformer ? "CLGRAPH_RANDOM_TRANSFORMER" : "CLGRAPH_RANDOM_SEED", (unsigned long long)seed);
    }
    free(text);
}

static void test_random_graphs(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const char *one = getenv("CLGRAPH_RANDOM_SEED"), *tf = getenv("CLGRAPH_RANDOM_TRANSFORMER");
    if ((one && *one) || (tf && *tf)) {
        if (one && *one) check_seed(strtoull(one, NULL, 10), false);
        if (tf && *tf) check_seed(strtoull(tf, NULL, 10), true);
        return;
    }
    for (uint64_t seed = 0; seed < GRAPHS; seed++) check_seed(seed, false);
    for (uint64_t seed = 0; seed < TRANSFORMERS; seed++) check_seed(seed, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_graphs)};
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
