/* Differential testing of the whole compiler: seeded random residual
 * networks and transformer encoders (tests/random_graph.h), compiled at the default optimization
 * level for the OpenCL device, against the reference executor on the
 * unoptimized graph. A failure prints its seed; replay one graph with
 *   CLGRAPH_RANDOM_SEED=<seed> ./build/tests/test_random_graphs
 * (a transformer: CLGRAPH_RANDOM_TRANSFORMER=<seed>) and print its text with CLGRAPH_RANDOM_PRINT=1.
 * CLGRAPH_RANDOM_TEST=NAME runs one test (e.g. test_random_graphs_fp16_storage).
 * CLGRAPH_RANDOM_SHARE=k/n runs only the seeds that are k modulo n (of
 * every loop below): scripts/test.sh runs all of them on PoCL and half on
 * the second device, where compiling is slower. */
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

/* Whether this run takes seed (CLGRAPH_RANDOM_SHARE, above). */
static bool in_share(uint64_t seed)
{
    const char *share = getenv("CLGRAPH_RANDOM_SHARE");
    unsigned long long k, n;
    if (!share || !*share) return true;
    if (sscanf(share, "%llu/%llu", &k, &n) != 2 || n == 0 || k >= n)
        fail_msg("CLGRAPH_RANDOM_SHARE=%s: expected k/n with k < n", share);
    return seed % n == k;
}

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

/* The same graphs at fp16-storage (half buffers, float arithmetic; any
 * device), against the reference at fp32. Bound: 16 half unit roundoffs
 * (16 * 2^-11 = 7.8e-3) relative to the output's largest value: each
 * stored activation and weight is rounded once to half (2^-11 relative),
 * the residual blocks and LayerNorms of these graphs pass a few such
 * roundings through, and every accumulation runs in float, so the bound
 * does not grow with the reduction length. A graph with integer tensors on
 * the device is refused at a half precision (checked) and not counted. */
#define HALF_GRAPHS 40
#define HALF_TOL (16 * 4.8828125e-4)

static void check_seed_half(uint64_t seed, bool transformer, int *ran, double *worst)
{
    clg_context *ctx = test_context();
    char *text = transformer ? random_transformer(seed) : random_graph(seed);
    clg_graph *g = test_parse(text);
    int64_t batch = 1 + (int64_t)(seed % 5);
    clg_status refused = CLG_OK;
    char why[512] = "";
    double err = test_device_error_prec(ctx, g, batch, (unsigned)seed, CLG_OPT_DEFAULT, CLG_PRECISION_FP16_STORAGE,
                                        &refused, why, sizeof why);
    clg_graph_destroy(g);
    if (err < 0 && !(refused == CLG_ERR_UNSUPPORTED && strstr(why, "tensor on the device"))) {
        fprintf(stderr, "%s", text);
        fail_msg("%s seed %llu at fp16-storage: refused (%d): %s", transformer ? "transformer" : "graph",
                 (unsigned long long)seed, refused, why);
    }
    if (err >= 0 && !(err <= HALF_TOL)) {
        fprintf(stderr, "%s", text);
        fail_msg("%s seed %llu (batch %lld) at fp16-storage: error %.3g > %.3g", transformer ? "transformer" : "graph",
                 (unsigned long long)seed, (long long)batch, err, HALF_TOL);
    }
    if (err >= 0) {
        (*ran)++;
        if (err > *worst) *worst = err;
    }
    free(text);
}

static void test_random_graphs_fp16_storage(void **state)
{
    (void)state;
    if (!test_context()) skip();
    int ran = 0;
    double worst = 0.0;
    for (uint64_t seed = 0; seed < HALF_GRAPHS; seed++)
        if (in_share(seed)) check_seed_half(seed, false, &ran, &worst);
    for (uint64_t seed = 0; seed < TRANSFORMERS / 2; seed++)
        if (in_share(seed)) check_seed_half(seed, true, &ran, &worst);
    printf("fp16-storage: %d random graphs ran of %d (the rest hold integer tensors: refused, or are another "
           "share's), worst error %.3g (bound %.1e)\n", ran, HALF_GRAPHS + TRANSFORMERS / 2, worst, HALF_TOL);
    assert_true(ran > 0);
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
    for (uint64_t seed = 0; seed < GRAPHS; seed++)
        if (in_share(seed)) check_seed(seed, false);
    for (uint64_t seed = 0; seed < TRANSFORMERS; seed++)
        if (in_share(seed)) check_seed(seed, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_graphs),
                                       cmocka_unit_test(test_random_graphs_fp16_storage)};
    if (getenv("CLGRAPH_RANDOM_TEST")) cmocka_set_test_filter(getenv("CLGRAPH_RANDOM_TEST"));
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
