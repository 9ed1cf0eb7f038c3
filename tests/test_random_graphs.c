/* Differential testing of the whole compiler: seeded random residual
 * networks (tests/random_graph.h), compiled at the default optimization
 * level for the OpenCL device, against the reference executor on the
 * unoptimized graph. A failure prints its seed; replay one graph with
 *   CLGRAPH_RANDOM_SEED=<seed> ./build/tests/test_random_graphs
 * and print its text with CLGRAPH_RANDOM_PRINT=1. */
#include <setjmp.h>
#include <stdarg.h>
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

static void check_seed(uint64_t seed)
{
    clg_context *ctx = test_context();
    char *text = random_graph(seed);
    if (getenv("CLGRAPH_RANDOM_PRINT")) printf("%s", text);
    clg_graph *g = test_parse(text);
    int64_t batch = 1 + (int64_t)(seed % 5);
    double err = test_device_error(ctx, g, batch, (unsigned)seed);
    clg_graph_destroy(g);
    if (!(err <= TOL)) {
        fprintf(stderr, "%s", text);
        free(text);
        fail_msg("seed %llu (batch %lld): error %.3g > %.3g; replay with CLGRAPH_RANDOM_SEED=%llu "
                 "./build/tests/test_random_graphs", (unsigned long long)seed, (long long)batch, err, TOL,
                 (unsigned long long)seed);
    }
    free(text);
}

static void test_random_graphs(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const char *one = getenv("CLGRAPH_RANDOM_SEED");
    if (one && *one) {
        check_seed(strtoull(one, NULL, 10));
        return;
    }
    for (uint64_t seed = 0; seed < GRAPHS; seed++) check_seed(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_graphs)};
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
