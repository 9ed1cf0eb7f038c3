/* Optimization levels against the unoptimized graph. Every test model (the
 * example, a 50-block residual MLP, a small ResNet, a CNN with Keras' Pads,
 * a sequence block, and the transformer fixtures exported from PyTorch and
 * Keras: encoders, a causal decoder block, token-id stacks with an
 * embedding and positions) compiled at -O0, -O1
 * and -O2 on the device must agree with the reference executor running the
 * graph as written; and the reference executor on the optimized graph must
 * agree with it too, which needs no device. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "models.h"

#define TOLERANCE 1e-4

static clg_graph *load(const char *path)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, path) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    return g;
}

/* An attention-shaped residual block over a sequence S of its own size:
 * per-token projections, scores over S, a residual add, a Reshape naming
 * N*S. */
static const char *SEQUENCE_BLOCK =
    "input x: f32[N, S, 16]\n"
    "const wq: f32[16, 16] = random(11, -0.3, 0.3)\n"
    "const wv: f32[16, 16] = random(12, -0.3, 0.3)\n"
    "const bv: f32[16] = random(13, -0.1, 0.1)\n"
    "q = MatMul(x, wq)\n"
    "v0 = MatMul(x, wv)\n"
    "v = Add(v0, bv)\n"
    "kt = Transpose(x) perm=[0, 2, 1]\n"
    "s0 = MatMul(q, kt)\n"
    "s = Mul(s0, c)\n"
    "const c: f32[1] = full(0.25)\n"
    "p = Softmax(s) axis=-1\n"
    "o = MatMul(p, v)\n"
    "r0 = Add(o, x)\n"
    "r = Relu(r0)\n"
    "flat = Reshape(r) shape=[-1, 16]\n"
    "const wo: f32[16, 4] = random(14, -0.3, 0.3)\n"
    "y = MatMul(flat, wo)\n"
    "output y\n";

/* The transformer fixtures (tests/fixtures, make_transformer_fixtures.py
 * and make_keras_fixtures.py), symbolic batch and sequence. */
static const char *const fixtures[] = {"encoder_post_relu", "encoder_seq_first", "decoder_causal",
                                       "keras_mha_block",   "embedding_stack",   "arange_positions"};
#define FIRST_FIXTURE 5

static clg_graph *model(int which)
{
    if (which == 0) return load("examples/residual_mlp.clg");
    if (which == 4) return test_parse(SEQUENCE_BLOCK);
    if (which >= FIRST_FIXTURE) {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/%s/model.onnx", fixtures[which - FIRST_FIXTURE]);
        return load(path);
    }
    char *text = which == 1 ? model_residual_mlp(50, 64) : which == 2 ? model_small_resnet() : model_keras_padded_cnn();
    clg_graph *g = test_parse(text);
    free(text);
    return g;
}

static const char *model_name[] = {"example",           "50-block MLP",      "small ResNet",   "Keras-padded CNN",
                                   "sequence block",    "encoder_post_relu", "encoder_seq_first", "decoder_causal",
                                   "keras_mha_block",   "embedding_stack",   "arange_positions"};
#define N_MODELS (FIRST_FIXTURE + (int)(sizeof fixtures / sizeof *fixtures))

static size_t elems(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    return n;
}

/* Runs g on the reference executor with seeded inputs; returns the outputs
 * (malloc'd, n_out of them). */
static clg_tensor *reference_outputs(clg_graph *g, int64_t batch, unsigned seed)
{
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *in = calloc((size_t)n_in + 1, sizeof *in), *out = calloc((size_t)n_out + 1, sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    uint64_t state = seed * 2654435761u + 1;
    for (int i = 0; i < n_in; i++) {
        assert_int_equal(clg_graph_input_info(g, i, NULL, &in[i].rank, in[i].dims), CLG_OK);
        assert_int_equal(clg_graph_input_dtype(g, i, &in[i].dtype), CLG_OK);
        /* N is the batch, any other symbolic size batch + 2 (as device_check.c). */
        for (int d = 0; d < in[i].rank; d++)
            if (in[i].dims[d] < 0) in[i].dims[d] = in[i].dims[d] == CLG_BATCH ? batch : batch + 2;
        size_t n = elems(in[i].rank, in[i].dims);
        assert_non_null(in[i].data = malloc(n * clg_dtype_size(in[i].dtype)));
        for (size_t k = 0; k < n; k++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            /* token ids in [-2, 2] (valid, negative ones count from the
             * back), as device_check.c */
            if (in[i].dtype == CLG_DTYPE_I64) ((int64_t *)in[i].data)[k] = (int64_t)((state >> 33) % 5) - 2;
            else in[i].data[k] = (float)(state >> 33) / 2147483648.0f * 2.0f - 1.0f;
        }
    }
    for (int i = 0; i < n_out; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        if (clg_graph_output_shape(g, i, in, n_in, &rank, dims) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
        assert_non_null(out[i].data = malloc(elems(rank, dims) * sizeof(float)));
    }
    if (clg_graph_run_reference(g, in, n_in, out, n_out) != CLG_OK) fail_msg("reference: %s", clg_graph_errmsg(g));
    for (int i = 0; i < n_in; i++) free(in[i].data);
    free(in);
    return out;
}

static void free_outputs(clg_tensor *t, int n)
{
    for (int i = 0; i < n; i++) free(t[i].data);
    free(t);
}

/* The reference executor on the graph optimized at each level against the
 * graph as written. */
static void test_reference_optimized_vs_unoptimized(void **state)
{
    (void)state;
    for (int which = 0; which < N_MODELS; which++) {
        clg_graph *g = model(which);
        int n_out = clg_graph_output_count(g);
        clg_tensor *want = reference_outputs(g, 5, 11);
        for (int level = 0; level <= 2; level++) {
            clg_graph *opt = NULL;
            assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
            if (clg_graph_optimize(opt, level, NULL, NULL) != CLG_OK)
                fail_msg("%s -O%d: %s", model_name[which], level, clg_graph_errmsg(opt));
            assert_int_equal(clg_graph_output_count(opt), n_out);
            clg_tensor *got = reference_outputs(opt, 5, 11);
            for (int i = 0; i < n_out; i++) {
                assert_int_equal(got[i].rank, want[i].rank);
                size_t n = elems(want[i].rank, want[i].dims);
                double scale = 1e-6, diff = 0;
                for (size_t k = 0; k < n; k++) {
                    if (fabs(want[i].data[k]) > scale) scale = fabs(want[i].data[k]);
                    double d = fabs((double)got[i].data[k] - (double)want[i].data[k]);
                    if (!(d <= diff)) diff = isnan(d) ? INFINITY : d;
                }
                if (!(diff / scale <= TOLERANCE))
                    fail_msg("%s -O%d on the reference: error %.3g", model_name[which], level, diff / scale);
            }
            free_outputs(got, n_out);
            clg_graph_destroy(opt);
        }
        free_outputs(want, n_out);
        clg_graph_destroy(g);
    }
}

/* -O1 folds the Keras model's four zero Pads into the ops they feed and
 * keeps the reflect Pad. */
static void test_keras_pads_folded(void **state)
{
    (void)state;
    clg_graph *g = model(3);
    int pads[2] = {0, 0};
    for (int level = 0; level <= 1; level++) {
        if (level) assert_int_equal(clg_graph_optimize(g, 1, NULL, NULL), CLG_OK);
        for (int i = 0; i < clg_graph_node_count(g); i++) {
            clg_op op;
            assert_int_equal(clg_graph_node_info(g, i, &op, NULL, NULL, NULL), CLG_OK);
            pads[level] += op == CLG_OP_PAD;
        }
    }
    assert_int_equal(pads[0], 5);
    assert_int_equal(pads[1], 1);
    clg_graph_destroy(g);
}

/* The device at each level against the reference on the graph as written. */
static void test_device_levels(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const int64_t batches[] = {1, 7};
    for (int which = 0; which < N_MODELS; which++) {
        clg_graph *g = model(which);
        for (int level = 0; level <= 2; level++)
            for (int b = 0; b < 2; b++) {
                double err = test_device_error_at(ctx, g, batches[b], (unsigned)(level * 10 + b), level);
                if (!(err <= TOLERANCE))
                    fail_msg("%s -O%d batch %lld: error %.3g", model_name[which], level,
                             (long long)batches[b], err);
            }
        clg_graph_destroy(g);
    }
}

/* Fewer launches as the level rises; the model's graph is its own, so the
 * caller's graph is unchanged and may be destroyed first. */
static void test_launches_per_level(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = model(0);
    /* CLBlast for every GEMM, then generated kernels that run each Gemm's
     * Elementwise consumer as their epilogue (gemm/choice.c). */
    static const char *const paths[] = {"clblast", "generated"};
    static const int expect_o2[] = {7, 4};
    for (int p = 0; p < 2; p++) {
        test_set_gemm(paths[p]);
        ctx = test_context();
        int launches[3];
        static float x[128], y[10];
        for (int i = 0; i < 128; i++) x[i] = (float)i / 128.0f;
        for (int level = 0; level <= 2; level++) {
            clg_graph *copy = NULL;
            assert_int_equal(clg_graph_clone(g, &copy), CLG_OK);
            clg_model *m = NULL;
            clg_model_options options = CLG_MODEL_OPTIONS_INIT;
            options.opt_level = level;
            if (clg_model_create_ex(&m, ctx, copy, &options) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
            clg_graph_destroy(copy);
            clg_tensor in = {x, 2, {1, 128}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
            assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
            clg_model_stats st;
            assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
            launches[level] = st.launches_per_inference;
            clg_model_destroy(m);
        }
        if (!(launches[2] < launches[1] && launches[1] < launches[0]))
            fail_msg("launches at -O0/-O1/-O2: %d %d %d", launches[0], launches[1], launches[2]);
        /* -O2 with CLBlast: the block is Gemm, fused bias+relu, Gemm, fused
         * bias+shortcut+relu (4), then the head's Gemm with its bias (2) and
         * Softmax (1); generated, each Gemm with its Elementwise is one launch
         * and the head's bias is added in its kernel (3), then Softmax. */
        assert_int_equal(launches[2], expect_o2[p]);
    }
    test_set_gemm(NULL);
    ctx = test_context();

    clg_model_options bad = CLG_MODEL_OPTIONS_INIT;
    bad.opt_level = 3;
    clg_model *m = NULL;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "opt_level 3"));
    clg_model_destroy(m);
    assert_int_equal(clg_model_create_ex(&m, ctx, g, NULL), CLG_OK); /* NULL: the defaults */
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* A ResNet basic block: conv, BatchNorm, ReLU; conv, BatchNorm, the
 * shortcut Add, ReLU. */
static const char *RESNET_BLOCK =
    "input x: f32[N, 8, 9, 9]\n"
    "const w1: f32[8, 8, 3, 3] = random(1, -0.3, 0.3)\n"
    "const s1: f32[8] = random(2, 0.5, 1.5)\nconst t1: f32[8] = random(3, -0.2, 0.2)\n"
    "const m1: f32[8] = random(4, -0.2, 0.2)\nconst v1: f32[8] = random(5, 0.5, 1.5)\n"
    "const w2: f32[8, 8, 3, 3] = random(6, -0.3, 0.3)\n"
    "const s2: f32[8] = random(7, 0.5, 1.5)\nconst t2: f32[8] = random(8, -0.2, 0.2)\n"
    "const m2: f32[8] = random(9, -0.2, 0.2)\nconst v2: f32[8] = random(10, 0.5, 1.5)\n"
    "c1 = Conv2D(x, w1) pads=[1, 1, 1, 1]\n"
    "b1 = BatchNorm(c1, s1, t1, m1, v1) epsilon=0.00001\n"
    "r1 = Relu(b1)\n"
    "c2 = Conv2D(r1, w2) pads=[1, 1, 1, 1]\n"
    "b2 = BatchNorm(c2, s2, t2, m2, v2) epsilon=0.00001\n"
    "a = Add(b2, x)\n"
    "y = Relu(a)\n"
    "output y\n";

/* At -O2 each conv of the block absorbs its folded BatchNorm's bias, the
 * shortcut and the ReLU as its epilogue: its im2col and one GEMM launch
 * with the generated kernels (as written and flipped), the epilogue as one
 * launch after CLBlast's GEMM; -O0 runs every op. Right at every level and
 * batch on each path. */
static void test_resnet_block_launches(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const paths[] = {"generated:p8x32", "generated:p8x32t", "clblast"};
    static const int expect[][2] = {{9, 4}, {9, 4}, {9, 6}};
    for (int p = 0; p < 3; p++) {
        test_set_gemm(paths[p]);
        ctx = test_context();
        clg_graph *g = test_parse(RESNET_BLOCK);
        for (int level = 0; level <= 2; level++)
            for (int64_t b = 1; b <= 3; b += 2) {
                double err = test_device_error_at(ctx, g, b, (unsigned)(level + 3 * b), level);
                if (!(err <= TOLERANCE)) fail_msg("%s -O%d batch %lld: error %.3g", paths[p], level, (long long)b, err);
            }
        clg_graph_destroy(g);
        int o0 = test_launches_at(RESNET_BLOCK, 0), o2 = test_launches_at(RESNET_BLOCK, 2);
        if (o0 != expect[p][0] || o2 != expect[p][1])
            fail_msg("%s: launches at -O0/-O2 %d/%d, expected %d/%d", paths[p], o0, o2, expect[p][0], expect[p][1]);
    }
    test_set_gemm(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_optimized_vs_unoptimized),
        cmocka_unit_test(test_keras_pads_folded),
        cmocka_unit_test(test_device_levels),
        cmocka_unit_test(test_launches_per_level),
        cmocka_unit_test(test_resnet_block_launches),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
