/* Whole models on the OpenCL device against the reference executor: the
 * example model at several batches (re-planning as the batch changes), a
 * 50-block residual MLP, a small ResNet-style CNN; plus device-memory
 * exhaustion reported as an error. */
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
#include "models.h"
#include "runtime.h"

static void check_batches(clg_graph *g, const int64_t *batches, int n, double tol)
{
    clg_context *ctx = test_context();
    for (int i = 0; i < n; i++) {
        double err = test_device_error(ctx, g, batches[i], (unsigned)i + 7);
        if (!(err <= tol)) fail_msg("batch %lld: error %.3g > %.3g", (long long)batches[i], err, tol);
    }
}

static void test_example_model(void **state)
{
    (void)state;
    if (!test_context()) skip();
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, "examples/residual_mlp.clg") != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    static const int64_t batches[] = {1, 7, 64, 1000};
    check_batches(g, batches, 4, 1e-4);
    clg_graph_destroy(g);
}

/* The seed model at both half precisions against the fp32 reference, at
 * fp16-storage within 8 half unit roundoffs (8 * 2^-11: one rounding of
 * every stored value, float accumulation), at fp16 within 12 (half
 * arithmetic in the epilogues rounds up to three times per layer:
 * tests/test_pytorch_fixtures.c's shallow family); fp16 only where the
 * device has cl_khr_fp16 (else the refusal, which names the extension). */
static void test_example_model_half(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, "examples/residual_mlp.clg") != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    static const int64_t batches[] = {1, 7, 64};
    static const clg_precision precisions[] = {CLG_PRECISION_FP16_STORAGE, CLG_PRECISION_FP16};
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 3; i++) {
            clg_status refused = CLG_OK;
            char why[512] = "";
            double err = test_device_error_prec(ctx, g, batches[i], (unsigned)i + 7, CLG_OPT_DEFAULT, precisions[p],
                                                &refused, why, sizeof why);
            if (err < 0 && precisions[p] == CLG_PRECISION_FP16 && !info.fp16 && strstr(why, "cl_khr_fp16")) {
                printf("seed model fp16: skipped, %s has no cl_khr_fp16\n", info.name);
                break;
            }
            if (err < 0) fail_msg("%s: refused: %s", clg_precision_name(precisions[p]), why);
            printf("seed model %s batch %lld: error %.3g\n", clg_precision_name(precisions[p]), (long long)batches[i], err);
            double bound = (precisions[p] == CLG_PRECISION_FP16 ? 12 : 8) * 4.8828125e-4;
            if (!(err <= bound))
                fail_msg("%s batch %lld: error %.3g", clg_precision_name(precisions[p]), (long long)batches[i], err);
        }
    clg_graph_destroy(g);
}

static void test_plan_reuse_and_rebind(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_load(g, "examples/residual_mlp.clg"), CLG_OK);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    static float x[5 * 128], y[5 * 10];
    for (int i = 0; i < 5 * 128; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    clg_model_stats st;
    for (int64_t batch = 2; batch <= 5; batch += 3) {
        clg_tensor in = {x, 2, {batch, 128}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
        assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[0], batch);
        assert_int_equal(out.dims[1], 10);
        assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
        assert_int_equal(st.batch, batch);
        for (int r = 0; r < batch; r++) {
            float sum = 0;
            for (int c = 0; c < 10; c++) sum += y[r * 10 + c];
            assert_float_equal(sum, 1.0f, 1e-5f);
        }
    }
    assert_true(st.launches_per_inference > 0);
    assert_true(st.weight_bytes >= (128 * 128 * 2 + 10 * 128) * 4);
    /* A wrong input shape is an error naming the input, not a crash. */
    clg_tensor bad = {x, 2, {2, 64}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(m, &bad, 1, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "input x"));
    /* Profiling: every timed node has a name and a non-negative time. */
    clg_node_time times[64];
    int count = 0;
    assert_int_equal(clg_model_profile(m, times, 64, &count), CLG_OK);
    assert_true(count > 0);
    for (int i = 0; i < count && i < 64; i++) {
        assert_non_null(times[i].node);
        assert_true(times[i].ms >= 0.0);
        if (i) assert_true(times[i - 1].ms >= times[i].ms);
    }
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* Launches per call of g's plan at this batch (one run of zero inputs). */
static int launches_at(clg_graph *g, int64_t batch)
{
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, test_context(), g), CLG_OK);
    clg_tensor in = {NULL, 0, {0}, CLG_DTYPE_F32}, out = {NULL, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_input_info(g, 0, NULL, &in.rank, in.dims), CLG_OK);
    in.dims[0] = batch;
    in.data = calloc((size_t)(batch * in.dims[1]), sizeof(float));
    out.data = calloc(1 << 16, sizeof(float));
    assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
    clg_model_stats st;
    assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
    free(in.data);
    free(out.data);
    clg_model_destroy(m);
    return st.launches_per_inference;
}

/* Whether plans may use the dense chain (lower/chain.c): not with a forced
 * GEMM path or CLGRAPH_CHAIN=0. */
static bool chain_expected(void)
{
    const char *gemm = getenv("CLGRAPH_GEMM"), *chain = getenv("CLGRAPH_CHAIN");
    return (!gemm || !*gemm || !strcmp(gemm, "default") || !strcmp(gemm, "measure")) && !(chain && !strcmp(chain, "0"));
}

/* Small chains of dense layers run as one kernel (lower/chain.c): the seed
 * model at small batches (its Softmax in the kernel too), and a chain with
 * every kind of extra input: alpha and beta, a C that is a [1, N]
 * constant and one that is the chain's own earlier value, a scalar
 * constant and the graph's input in an epilogue, a layer with B not
 * transposed, no Softmax. Each against the reference, and the launch count
 * showing the chain ran (one launch) where it applies and not beyond. */
static void test_dense_chain(void **state)
{
    (void)state;
    if (!test_context()) skip();
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, "examples/residual_mlp.clg") != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    static const int64_t seed_batches[] = {1, 3, 8, 17};
    check_batches(g, seed_batches, 4, 1e-4);
    if (chain_expected()) {
        assert_int_equal(launches_at(g, 1), 1);
        assert_int_equal(launches_at(g, 3), 1);
        assert_true(launches_at(g, 64) > 1);
    }
    clg_graph_destroy(g);

    g = test_parse("input x: f32[N, 12]\n"
                   "const w1: f32[12, 20] = random(1, -0.5, 0.5)\n"
                   "const c1: f32[1, 20] = random(2, -0.1, 0.1)\n"
                   "h1 = Gemm(x, w1, c1) alpha=2 beta=0.5\n"
                   "const w2: f32[20, 20] = random(3, -0.3, 0.3)\n"
                   "const s2: f32[1] = random(4, 0.5, 1.5)\n"
                   "h2 = Gemm(h1, w2, h1, s2) transB=1 beta=-0.75 epilogue=\"tanh(x0) * x1\"\n"
                   "const w3: f32[12, 20] = random(5, -0.3, 0.3)\n"
                   "const b3: f32[12] = random(6, -0.1, 0.1)\n"
                   "y = Gemm(h2, w3, b3, x) transB=1 epilogue=\"sigmoid(x0 + x1) - x2\"\n"
                   "output y\n");
    static const int64_t batches[] = {1, 3, 16};
    check_batches(g, batches, 3, 1e-4);
    if (chain_expected()) {
        assert_int_equal(launches_at(g, 1), 1);
        assert_int_equal(launches_at(g, 16), 1);
    }
    clg_graph_destroy(g);
}

static void test_residual_mlp_50_blocks(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char *text = model_residual_mlp(50, 64);
    clg_graph *g = test_parse(text);
    free(text);
    static const int64_t batches[] = {1, 13};
    check_batches(g, batches, 2, 1e-4);
    clg_graph_destroy(g);
}

static void test_small_resnet(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char *text = model_small_resnet();
    clg_graph *g = test_parse(text);
    free(text);
    static const int64_t batches[] = {1, 4};
    check_batches(g, batches, 2, 1e-4);
    clg_graph_destroy(g);
}

static void test_out_of_device_memory(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    /* 16 outputs pinned in the arena beside the input: a batch whose
     * activations pass the device's largest allocation while each tensor
     * stays far below the 2^31-element shape limit, even on GPUs that allow
     * allocations of tens of GiB. */
    char text[4096];
    int n = snprintf(text, sizeof text, "input x: f32[N, 1024]\n");
    for (int i = 0; i < 16; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n, "const k%d: f32[1] = full(%d)\ny%d = Mul(x, k%d)\n", i, i, i, i);
    }
    for (int i = 0; i < 16; i++) n += snprintf(text + n, sizeof text - (size_t)n, "output y%d\n", i);
    clg_graph *g = test_parse(text);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    int64_t batch = (int64_t)(info.max_alloc_bytes / (17 * 1024 * 4)) + 1;
    assert_true(batch * 1024 < ((int64_t)1 << 31));
    /* Planning fails before any input is read or output written, so small
     * host buffers suffice. */
    static float x[1024], y[16][1024];
    clg_tensor in = {x, 2, {batch, 1024}, CLG_DTYPE_F32}, out[16];
    for (int i = 0; i < 16; i++) out[i] = (clg_tensor){y[i], 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(m, &in, 1, out, 16), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    assert_non_null(strstr(clg_model_errmsg(m), "bytes"));
    /* The model still works at a sane batch afterwards. */
    for (int i = 0; i < 1024; i++) x[i] = (float)i;
    in.dims[0] = 1;
    assert_int_equal(clg_model_run(m, &in, 1, out, 16), CLG_OK);
    assert_float_equal(y[3][5], 15.0f, 0.0f);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* CL_DEVICE_MAX_MEM_ALLOC_SIZE: a device with a small largest allocation
 * (faked by lowering the context's copy of it; no device here is that
 * small) fails the model's creation naming the largest constant when the
 * weights pass it, and its run naming the one activation that alone
 * passes it, with both sizes; a batch that fits still runs. */
static void test_alloc_limit_names_tensor(void **state)
{
    (void)state;
    if (!test_context()) skip();
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create(&ctx, NULL, 0, NULL, NULL), CLG_OK);
    ctx->info.max_alloc_bytes = 64 * 1024;
    clg_graph *g = test_parse("input x: f32[N, 16]\nconst small: f32[16, 16] = random(1)\n"
                              "const big: f32[16, 2048] = random(2)\ny = MatMul(x, big)\noutput y\n");
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    if (!strstr(clg_model_errmsg(m), "the largest constant, big, needs 131072") ||
        !strstr(clg_model_errmsg(m), "(65536 bytes)"))
        fail_msg("unexpected message: %s", clg_model_errmsg(m));
    clg_model_destroy(m);
    m = NULL;
    clg_graph_destroy(g);

    g = test_parse("input x: f32[N, 16]\nt = Tile(x) repeats=[1, 64]\ny = Relu(t)\noutput y\n");
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    static float x[64 * 16], y[64 * 16 * 64];
    clg_tensor in = {x, 2, {64, 16}, CLG_DTYPE_F32};
    clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};
    /* 64 rows: t and y are 256 KiB each, four times the limit */
    assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    const char *msg = clg_model_errmsg(m);
    if (!strstr(msg, "N=64: tensor t (Tile) alone needs 262144 bytes") || !strstr(msg, "(65536 bytes of "))
        fail_msg("unexpected message: %s", msg);
    in.dims[0] = 4; /* 16 KiB each: fits */
    assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
    clg_model_destroy(m);
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_model),
        cmocka_unit_test(test_alloc_limit_names_tensor),
        cmocka_unit_test(test_plan_reuse_and_rebind),
        cmocka_unit_test(test_dense_chain),
        cmocka_unit_test(test_example_model_half),
        cmocka_unit_test(test_residual_mlp_50_blocks),
        cmocka_unit_test(test_small_resnet),
        cmocka_unit_test(test_out_of_device_memory),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
