/* Differential testing of the whole compiler: seeded random residual
 * networks and transformer encoders (tests/random_graph.h), compiled at the default optimization
 * level for the OpenCL device, against the reference executor on the
 * unoptimized graph. A failure prints its seed; replay one graph with
 *   CLGRAPH_RANDOM_SEED=<seed> ./build/tests/test_random_graphs
 * (a transformer: CLGRAPH_RANDOM_TRANSFORMER=<seed>) and print its text with CLGRAPH_RANDOM_PRINT=1.
 * CLGRAPH_RANDOM_TEST=NAME runs one test (e.g. test_random_graphs_fp16_storage,
 * test_random_graphs_fp16).
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
/* At fp16 (half arithmetic in the element-wise work, every accumulation
 * still in float: docs/runtime.md "Precision") each element-wise step
 * rounds to half once more than at fp16-storage; independent roundings
 * add in quadrature, so the bound is fp16-storage's times 1.5, as for
 * the PyTorch fixtures (tests/test_pytorch_fixtures.c): 24 units. */
#define FP16_TOL (1.5 * HALF_TOL)

static void check_seed_half(uint64_t seed, bool transformer, clg_precision precision, int *ran, double *worst)
{
    clg_context *ctx = test_context();
    char *text = transformer ? random_transformer(seed) : random_graph(seed);
    clg_graph *g = test_parse(text);
    int64_t batch = 1 + (int64_t)(seed % 5);
    clg_status refused = CLG_OK;
    char why[512] = "";
    const char *pname = clg_precision_name(precision);
    double tol = precision == CLG_PRECISION_FP16 ? FP16_TOL : HALF_TOL;
    double err = test_device_error_prec(ctx, g, batch, (unsigned)seed, CLG_OPT_DEFAULT, precision, &refused, why,
                                        sizeof why);
    clg_graph_destroy(g);
    if (err < 0 && !(refused == CLG_ERR_UNSUPPORTED && strstr(why, "tensor on the device"))) {
        fprintf(stderr, "%s", text);
        fail_msg("%s seed %llu at %s: refused (%d): %s", transformer ? "transformer" : "graph",
                 (unsigned long long)seed, pname, refused, why);
    }
    if (err >= 0 && !(err <= tol)) {
        fprintf(stderr, "%s", text);
        fail_msg("%s seed %llu (batch %lld) at %s: error %.3g > %.3g", transformer ? "transformer" : "graph",
                 (unsigned long long)seed, (long long)batch, pname, err, tol);
    }
    if (err >= 0) {
        (*ran)++;
        if (err > *worst) *worst = err;
    }
    free(text);
}

static void run_half(clg_precision precision)
{
    int ran = 0;
    double worst = 0.0;
    for (uint64_t seed = 0; seed < HALF_GRAPHS; seed++)
        if (in_share(seed)) check_seed_half(seed, false, precision, &ran, &worst);
    for (uint64_t seed = 0; seed < TRANSFORMERS / 2; seed++)
        if (in_share(seed)) check_seed_half(seed, true, precision, &ran, &worst);
    printf("%s: %d random graphs ran of %d (the rest hold integer tensors: refused, or are another share's), "
           "worst error %.3g (bound %.1e)\n", clg_precision_name(precision), ran, HALF_GRAPHS + TRANSFORMERS / 2,
           worst, precision == CLG_PRECISION_FP16 ? FP16_TOL : HALF_TOL);
    assert_true(ran > 0);
}

static void test_random_graphs_fp16_storage(void **state)
{
    (void)state;
    if (!test_context()) skip();
    run_half(CLG_PRECISION_FP16_STORAGE);
}

/* The same graphs at fp16 on a device with cl_khr_fp16; on one without,
 * the refusal names the device and the extension, and the test says it
 * skipped. */
static void test_random_graphs_fp16(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    if (!info.fp16) {
        char *text = random_graph(0);
        clg_graph *g = test_parse(text);
        clg_model *m = NULL;
        clg_model_options opt = CLG_MODEL_OPTIONS_INIT;
        opt.precision = CLG_PRECISION_FP16;
        clg_status s = clg_model_create_ex(&m, ctx, g, &opt);
        if (s != CLG_ERR_UNSUPPORTED || !strstr(clg_model_errmsg(m), "cl_khr_fp16") ||
            !strstr(clg_model_errmsg(m), info.name))
            fail_msg("fp16 on %s: status %d, \"%s\"", info.name, s, clg_model_errmsg(m));
        printf("fp16: skipped, %s has no cl_khr_fp16 (refused as expected: %s)\n", info.name, clg_model_errmsg(m));
        clg_model_destroy(m);
        clg_graph_destroy(g);
        free(text);
        return;
    }
    run_half(CLG_PRECISION_FP16);
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
                                       cmocka_unit_test(test_random_graphs_fp16_storage),
                                       cmocka_unit_test(test_random_graphs_fp16)};
    if (getenv("CLGRAPH_RANDOM_TEST")) cmocka_set_test_filter(getenv("CLGRAPH_RANDOM_TEST"));
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
