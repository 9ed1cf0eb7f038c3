/* PyTorch fixtures (tests/fixtures, made by make_fixtures.py there): models
 * exported from PyTorch 1.13 with BatchNorm kept in the graph, imported with
 * the ONNX importer and run on the reference executor and on the OpenCL
 * device at each optimization level, compared with PyTorch's own output.
 *
 * The error is max |ours - PyTorch| / max |PyTorch| over the output, so a
 * tolerance of 1e-4 means "agrees to four digits relative to the output's
 * scale". A fixture may loosen it in its tolerance.txt (a number, then why).
 * Each run prints its error; the device runs also check that a model re-plans
 * correctly from batch 1 to the fixture's batch. A fixture with input_2.npy
 * and output_2.npy (the transformers: another batch and sequence length) is
 * also run on those, by the same model, which must re-plan for the new sizes.
 *
 * The half_* fixtures (make_half_fixtures.py) are models exported in half
 * precision: an f16 input (input.npy is float16) and an f16 output, which
 * is widened here and compared with the fp32 PyTorch model's output.
 *
 * Without an OpenCL device only the reference runs.
 *
 * Half precision: each fixture also runs at fp16-storage (any device) and
 * fp16 (a device with cl_khr_fp16; elsewhere the test checks the refusal
 * and prints that it skipped), compared with the fp32 reference executor
 * on the same input, error relative to the output's largest |value|. The
 * bound per fixture (FIXTURE_TEST's third argument) is half's unit roundoff
 * u = 2^-11 (4.9e-4: every stored activation and weight is rounded once)
 * times a factor for the model family, measured with margin (bench/README.md
 * "Half precision" lists each fixture's error):
 *   - MLPs, small CNNs, ResNets (BatchNorm folded, ReLU): 8u (3.9e-3): a
 *     rounding per layer, errors of independent roundings mostly cancel;
 *   - deep narrow CNNs with squeeze-excitation, hard swish, dense
 *     concatenation (MobileNet, EfficientNet, RegNet, DenseNet): 16u (7.8e-3):
 *     gates multiply two rounded values, and 20-50 layers;
 *   - transformers and LayerNorm/softmax blocks: 16u: a LayerNorm divides by
 *     a standard deviation computed from rounded inputs, softmax sharpens
 *     rounded scores (exp amplifies an absolute error of the logits).
 * The accumulations themselves run in float (GEMM, convolution, reductions,
 * softmax, LayerNorm), so the bound does not grow with K.
 * fp16 adds half arithmetic in the element-wise work (docs/runtime.md
 * "Precision"): an epilogue rounds the float accumulator to half and then
 * each of its operations (bias, residual, activation), up to three
 * roundings per layer where fp16-storage has one at the store; independent
 * roundings add in quadrature (sqrt 3 ~ 1.7), so the fp16 bound is the
 * family's fp16-storage bound times 1.5: 12u for the shallow family, 24u
 * for the deep ones and transformers. Measured on Intel's runtime, fp16's
 * errors were 0.8 to 2.0 times fp16-storage's and at most 3.1u
 * (keras_efficientnet 1.51e-3, encoder_stack 1.45e-3).
 * A bound of 0 marks a fixture with integer tensors on the device (token
 * ids): a half precision refuses it (CLG_ERR_UNSUPPORTED naming the
 * tensor), which the test checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "device_check.h"

#define FIXTURES "tests/fixtures/"
#define DEFAULT_TOLERANCE 1e-4

static size_t count(const clg_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
    return n;
}

/* max |got - want| / max |want| over the first `n` elements (NaN counts as
 * infinitely wrong). */
static double error(const float *got, const float *want, size_t n)
{
    double scale = 1e-6, diff = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (fabs(want[k]) > scale) scale = fabs(want[k]);
        double d = fabs((double)got[k] - (double)want[k]);
        if (!(d <= diff)) diff = isnan(d) ? INFINITY : d;
    }
    return diff / scale;
}

/* The fixture's tolerance: the first number in its tolerance.txt, or 1e-4. */
static double tolerance(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s/tolerance.txt", name);
    FILE *f = fopen(path, "r");
    double tol = DEFAULT_TOLERANCE;
    if (f) {
        if (fscanf(f, "%lf", &tol) != 1 || !(tol > 0)) fail_msg("%s: no tolerance in it", path);
        fclose(f);
    }
    return tol;
}

typedef struct fixture {
    const char *name;
    clg_graph *g;
    clg_tensor x, want;   /* PyTorch's input and output */
    clg_tensor x2, want2; /* the second pair (data NULL when there is none) */
    float *got;
    uint16_t *half;       /* the output's halves, when it is f16 */
    clg_dtype out_dtype;
    double tol;
    bool rows_independent; /* dim 0 is a batch of independent samples */
    double half_tol;       /* the bound at fp16-storage; 0: refused at both (integer tensors) */
    double fp16_tol;       /* the bound at fp16 (half arithmetic) */
} fixture;

static void fixture_load(fixture *fx, const char *name)
{
    char path[256];
    memset(fx, 0, sizeof *fx);
    fx->name = name;
    fx->tol = tolerance(name);
    assert_int_equal(clg_graph_create(&fx->g, NULL, NULL), CLG_OK);
    snprintf(path, sizeof path, FIXTURES "%s/model.onnx", name);
    if (clg_graph_load_onnx(fx->g, path) != CLG_OK) fail_msg("%s", clg_graph_errmsg(fx->g));
    snprintf(path, sizeof path, FIXTURES "%s/input.npy", name);
    if (clg_graph_read_npy(fx->g, path, 0, &fx->x) != CLG_OK) fail_msg("%s", clg_graph_errmsg(fx->g));
    snprintf(path, sizeof path, FIXTURES "%s/output.npy", name);
    if (clg_graph_read_npy(fx->g, path, -1, &fx->want) != CLG_OK) fail_msg("%s", clg_graph_errmsg(fx->g));
    snprintf(path, sizeof path, FIXTURES "%s/input_2.npy", name);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        if (clg_graph_read_npy(fx->g, path, 0, &fx->x2) != CLG_OK) fail_msg("%s", clg_graph_errmsg(fx->g));
        snprintf(path, sizeof path, FIXTURES "%s/output_2.npy", name);
        if (clg_graph_read_npy(fx->g, path, -1, &fx->want2) != CLG_OK) fail_msg("%s", clg_graph_errmsg(fx->g));
    }
    size_t most = count(&fx->want);
    if (fx->x2.data && count(&fx->want2) > most) most = count(&fx->want2);
    fx->got = malloc(most * sizeof(float));
    fx->half = malloc(most * sizeof(uint16_t));
    assert_non_null(fx->got);
    assert_non_null(fx->half);
    assert_int_equal(clg_graph_output_dtype(fx->g, 0, &fx->out_dtype), CLG_OK);
}

/* An output tensor for a run: floats, or halves for an f16 output. */
static clg_tensor out_tensor(const fixture *fx)
{
    clg_tensor t = {fx->got, 0, {0}, fx->out_dtype};
    if (fx->out_dtype == CLG_DTYPE_F16) t.data = (float *)(void *)fx->half;
    return t;
}

/* n halves as floats (IEEE's definition). */
static void halves_to_floats(const uint16_t *half, float *out, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint16_t h = half[k];
        int e = (h >> 10) & 0x1f, f = h & 0x3ff;
        float v = e == 0x1f ? (f ? NAN : INFINITY) : e ? ldexpf((float)(1024 + f), e - 25) : ldexpf((float)f, -24);
        out[k] = h & 0x8000 ? -v : v;
    }
}

/* An f16 output's halves as floats, in place of t. */
static void widen(const fixture *fx, clg_tensor *t)
{
    if (t->dtype != CLG_DTYPE_F16) return;
    halves_to_floats(fx->half, fx->got, count(t));
    t->data = fx->got;
    t->dtype = CLG_DTYPE_F32;
}

static void fixture_free(fixture *fx)
{
    free(fx->got);
    free(fx->half);
    clg_graph_free_tensor(fx->g, &fx->x);
    clg_graph_free_tensor(fx->g, &fx->want);
    if (fx->x2.data) {
        clg_graph_free_tensor(fx->g, &fx->x2);
        clg_graph_free_tensor(fx->g, &fx->want2);
    }
    clg_graph_destroy(fx->g);
}

/* Checks an output's shape against PyTorch's, its error against the
 * tolerance, and prints the error. */
static void check_against(const fixture *fx, const clg_tensor *out, const clg_tensor *want, const char *where)
{
    if (out->rank != want->rank || memcmp(out->dims, want->dims, (size_t)out->rank * sizeof out->dims[0]))
        fail_msg("%s %s: the output shape differs from PyTorch's", fx->name, where);
    double err = error(out->data, want->data, count(want));
    printf("fixture %-16s %-24s max error %.3g (tolerance %.0e)\n", fx->name, where, err, fx->tol);
    if (!(err <= fx->tol)) fail_msg("%s %s: error %.3g > %.3g", fx->name, where, err, fx->tol);
}

static void check(const fixture *fx, const clg_tensor *out, const char *where)
{
    check_against(fx, out, &fx->want, where);
}

static void run_reference(fixture *fx)
{
    clg_tensor out = out_tensor(fx);
    if (clg_graph_run_reference(fx->g, &fx->x, 1, &out, 1) != CLG_OK)
        fail_msg("%s reference: %s", fx->name, clg_graph_errmsg(fx->g));
    widen(fx, &out);
    check(fx, &out, "reference");
    if (!fx->x2.data) return;
    clg_tensor out2 = out_tensor(fx);
    if (clg_graph_run_reference(fx->g, &fx->x2, 1, &out2, 1) != CLG_OK)
        fail_msg("%s reference, second input: %s", fx->name, clg_graph_errmsg(fx->g));
    widen(fx, &out2);
    check_against(fx, &out2, &fx->want2, "reference, input_2");
}

/* Compiles the model at `level` (-1: clg_model_create's default), runs the
 * first sample alone and then the whole batch, and checks both. */
static void run_device(fixture *fx, clg_context *ctx, int level)
{
    char where[64];
    clg_model *m = NULL;
    clg_model_options opt = CLG_MODEL_OPTIONS_INIT;
    opt.opt_level = level;
    clg_status s = level < 0 ? clg_model_create(&m, ctx, fx->g) : clg_model_create_ex(&m, ctx, fx->g, &opt);
    if (level < 0) snprintf(where, sizeof where, "device default (O%d)", CLG_OPT_DEFAULT);
    else snprintf(where, sizeof where, "device O%d", level);
    if (s != CLG_OK) fail_msg("%s %s: %s", fx->name, where, clg_model_errmsg(m));

    /* Batch 1 first, so the full batch that follows needs a new plan. */
    if (fx->rows_independent) {
        clg_tensor one = fx->x, out1 = out_tensor(fx);
        one.dims[0] = 1;
        if (clg_model_run(m, &one, 1, &out1, 1) != CLG_OK) fail_msg("%s %s: %s", fx->name, where, clg_model_errmsg(m));
        widen(fx, &out1);
        size_t row = count(&fx->want) / (size_t)fx->want.dims[0];
        assert_int_equal(out1.dims[0], 1);
        double err1 = error(out1.data, fx->want.data, row);
        if (!(err1 <= fx->tol)) fail_msg("%s %s batch 1: error %.3g > %.3g", fx->name, where, err1, fx->tol);
    }

    clg_tensor out = out_tensor(fx);
    if (clg_model_run(m, &fx->x, 1, &out, 1) != CLG_OK) fail_msg("%s %s: %s", fx->name, where, clg_model_errmsg(m));
    widen(fx, &out);
    check(fx, &out, where);
    if (fx->x2.data) {
        /* Other sizes, then the first ones again (a kept plan). */
        char where2[80];
        snprintf(where2, sizeof where2, "%s, input_2", where);
        clg_tensor out2 = out_tensor(fx);
        if (clg_model_run(m, &fx->x2, 1, &out2, 1) != CLG_OK) fail_msg("%s %s: %s", fx->name, where2, clg_model_errmsg(m));
        widen(fx, &out2);
        check_against(fx, &out2, &fx->want2, where2);
        clg_tensor again = out_tensor(fx);
        if (clg_model_run(m, &fx->x, 1, &again, 1) != CLG_OK) fail_msg("%s %s: %s", fx->name, where, clg_model_errmsg(m));
        widen(fx, &again);
        check(fx, &again, where);
    }
    clg_model_destroy(m);
}

/* The model at a half precision against the fp32 reference executor, on
 * the first input (and the second, where there is one). */
static void run_half(fixture *fx, clg_context *ctx, clg_precision precision)
{
    const char *pname = clg_precision_name(precision);
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    clg_model *m = NULL;
    clg_model_options opt = CLG_MODEL_OPTIONS_INIT;
    opt.precision = precision;
    clg_status s = clg_model_create_ex(&m, ctx, fx->g, &opt);
    if (precision == CLG_PRECISION_FP16 && !info.fp16) {
        /* the refusal names the device and the extension */
        if (s != CLG_ERR_UNSUPPORTED || !strstr(clg_model_errmsg(m), "cl_khr_fp16") ||
            !strstr(clg_model_errmsg(m), info.name))
            fail_msg("%s %s on %s: status %d, \"%s\"", fx->name, pname, info.name, s, clg_model_errmsg(m));
        printf("fixture %-16s %-24s skipped: %s has no cl_khr_fp16 (refused as expected)\n", fx->name, pname,
               info.name);
        clg_model_destroy(m);
        return;
    }
    if (fx->half_tol == 0) {
        if (s != CLG_ERR_UNSUPPORTED || !strstr(clg_model_errmsg(m), "tensor on the device"))
            fail_msg("%s %s: expected a refusal of its integer tensors, got status %d, \"%s\"", fx->name, pname, s,
                     clg_model_errmsg(m));
        printf("fixture %-16s %-24s skipped: integer tensors on the device (refused: %s)\n", fx->name, pname,
               clg_model_errmsg(m));
        clg_model_destroy(m);
        return;
    }
    if (s != CLG_OK) fail_msg("%s %s: %s", fx->name, pname, clg_model_errmsg(m));
    double tol = precision == CLG_PRECISION_FP16 ? fx->fp16_tol : fx->half_tol;
    for (int pass = 0; pass < (fx->x2.data ? 2 : 1); pass++) {
        const clg_tensor *x = pass ? &fx->x2 : &fx->x;
        size_t n = count(pass ? &fx->want2 : &fx->want);
        float *ref = malloc(n * sizeof *ref);
        uint16_t *ref_half = malloc(n * sizeof *ref_half);
        assert_non_null(ref);
        assert_non_null(ref_half);
        /* an f16 output (the half_* fixtures) comes back as halves from both */
        clg_tensor want = {ref, 0, {0}, fx->out_dtype}, out = out_tensor(fx);
        if (fx->out_dtype == CLG_DTYPE_F16) want.data = (float *)(void *)ref_half;
        if (clg_graph_run_reference(fx->g, x, 1, &want, 1) != CLG_OK)
            fail_msg("%s reference: %s", fx->name, clg_graph_errmsg(fx->g));
        if (fx->out_dtype == CLG_DTYPE_F16) halves_to_floats(ref_half, ref, n);
        free(ref_half);
        if (clg_model_run(m, x, 1, &out, 1) != CLG_OK) fail_msg("%s %s: %s", fx->name, pname, clg_model_errmsg(m));
        widen(fx, &out);
        assert_int_equal(out.rank, want.rank);
        double err = error(out.data, ref, n);
        printf("fixture %-16s %-24s max error vs fp32 reference %.3g (bound %.1e)%s\n", fx->name, pname, err,
               tol, pass ? ", input_2" : "");
        free(ref);
        if (!(err <= tol))
            fail_msg("%s %s%s: error %.3g > %.3g", fx->name, pname, pass ? ", input_2" : "", err, tol);
    }
    clg_model_destroy(m);
}

/* A model family's bounds at fp16-storage and fp16 (see the top). */
typedef struct half_bounds {
    double storage, fp16;
} half_bounds;

static void run_fixture(const char *name, bool rows_independent, half_bounds bounds)
{
    fixture fx;
    fixture_load(&fx, name);
    fx.rows_independent = rows_independent;
    fx.half_tol = bounds.storage;
    fx.fp16_tol = bounds.fp16;
    run_reference(&fx);
    clg_context *ctx = test_context();
    if (ctx) {
        /* the default level through clg_model_create, the others through
         * clg_model_create_ex (the default again would only repeat it) */
        run_device(&fx, ctx, -1);
        for (int level = 0; level <= 2; level++)
            if (level != CLG_OPT_DEFAULT) run_device(&fx, ctx, level);
        run_half(&fx, ctx, CLG_PRECISION_FP16_STORAGE);
        run_half(&fx, ctx, CLG_PRECISION_FP16);
    } else {
        printf("fixture %-16s no OpenCL device: reference only\n", name);
    }
    fixture_free(&fx);
}

/* rows: the first dim is a batch of independent samples, so the first
 * sample alone must give the first row of the output. */
#define FIXTURE_TEST(name, rows, bounds)         \
    static void test_##name(void **state)        \
    {                                            \
        (void)state;                             \
        run_fixture(#name, rows, bounds);        \
    }

/* the bounds at half precision (see the top of the file) */
#define HALF_U 4.8828125e-4 /* 2^-11 */
#define HALF_SHALLOW ((half_bounds){8 * HALF_U, 12 * HALF_U})
#define HALF_DEEP ((half_bounds){16 * HALF_U, 24 * HALF_U})
#define HALF_REFUSED ((half_bounds){0, 0})

FIXTURE_TEST(example_mlp, true, HALF_SHALLOW)
FIXTURE_TEST(residual_mlp24, true, HALF_SHALLOW)
FIXTURE_TEST(preact_resnet, true, HALF_SHALLOW)
FIXTURE_TEST(resnet18_narrow, true, HALF_SHALLOW)
FIXTURE_TEST(old_ops_opset9, true, HALF_SHALLOW)
/* 1-D convolutions and pooling (lifted to 2-D of height 1) in a residual
 * TCN, GlobalMaxPool; 3-D pooling (two 2-D pools), PyTorch's
 * LocalResponseNorm (an If folded at import, a 3-D AveragePool) and bicubic
 * Resize; an If whose condition folds at import (make_if_fixture.py: the
 * else branch, with its own initializer, reading an outer value). */
FIXTURE_TEST(tcn_residual_1d, true, HALF_SHALLOW)
FIXTURE_TEST(pool3d_bicubic, true, HALF_SHALLOW)
FIXTURE_TEST(if_static_branch, true, HALF_SHALLOW)
/* after opset 17 (make_opset_fixtures.py, ONNX Runtime's output): opset
 * 18's GroupNormalization per group, axes inputs of ReduceMean and Pad,
 * Split's num_outputs; opset 21's GroupNormalization per channel, Gelu
 * (exact and tanh), AveragePool's dilations, ReduceMax's axes input */
FIXTURE_TEST(opset18_ops, true, HALF_DEEP)
FIXTURE_TEST(opset21_ops, true, HALF_DEEP)
/* Transformers (make_transformer_fixtures.py): symbolic batch and sequence. */
FIXTURE_TEST(encoder_post_relu, true, HALF_DEEP)
FIXTURE_TEST(encoder_pre_gelu, true, HALF_DEEP)
FIXTURE_TEST(encoder_seq_first, false, HALF_DEEP)
FIXTURE_TEST(encoder_stack, true, HALF_DEEP)
/* a causal mask: Shape -> ConstantOfShape(-inf) -> Trilu(k = 1), added to
 * every head's [S, S] scores before the softmax */
FIXTURE_TEST(decoder_causal, true, HALF_DEEP)
/* int64 token ids, an embedding Gather and positions cut to S. */
FIXTURE_TEST(embedding_stack, true, HALF_REFUSED)
/* positions = torch.arange(S) of the ids' sequence length: a Range to a
 * symbolic limit, gathered from a position table and cast to a float ramp */
FIXTURE_TEST(arange_positions, true, HALF_REFUSED)
/* RoBERTa's positions from the ids: ids != PAD, an integer CumSum times the
 * mask plus PAD (integer arithmetic of computed tensors), gathered */
FIXTURE_TEST(padded_positions, true, HALF_REFUSED)
/* a T5 encoder block: RMS norms, relative-position buckets computed from S
 * with integer Abs, Min, Where, Greater, Mul and Add of computed tensors */
FIXTURE_TEST(t5_block, true, HALF_REFUSED)
/* a LLaMA block: RMS norms, rotary embeddings of torch.arange(S, float)
 * (a FLOAT Range to the symbolic S), a causal mask, a SiLU-gated FFN */
FIXTURE_TEST(llama_block, true, HALF_DEEP)
/* GPT-2 as transformers writes it: addmm projections, a uint8 causal-mask
 * buffer sliced to [S - S : S, :S] and applied by Where, tanh GELU */
FIXTURE_TEST(gpt2_block, true, HALF_REFUSED)
/* attention written with torch.einsum (ONNX Einsum): projections, scores,
 * heads moved by the equation, and a three-operand bilinear read-out */
FIXTURE_TEST(einsum_attention, true, HALF_DEEP)
/* Keras' MultiHeadAttention + LayerNormalization through tf2onnx
 * (make_keras_fixtures.py): its LayerNorms written out, fused at -O2. */
FIXTURE_TEST(keras_mha_block, true, HALF_DEEP)
/* torchvision's architectures from its own classes, narrowed to under 1 MB
 * (make_fixtures.py; bench/sweep_applications.py runs the full-size ones):
 * ReLU6 and inverted residuals; hard swish, hard sigmoid and
 * squeeze-excitation; SiLU and stochastic depth (Identity in eval); grouped
 * convolutions with SE; channel shuffle (a 5-D Reshape/Transpose of a
 * computed shape) and split halves; dense concatenation with average-pool
 * transitions; ConvNeXt's 7x7 depthwise convolutions, NCHW LayerNorm as its
 * decomposed pattern, GELU and layer scale. */
FIXTURE_TEST(tv_mobilenet_v2, true, HALF_DEEP)
FIXTURE_TEST(tv_mobilenet_v3_small, true, HALF_DEEP)
FIXTURE_TEST(tv_efficientnet, true, HALF_DEEP)
FIXTURE_TEST(tv_regnet_y, true, HALF_DEEP)
FIXTURE_TEST(tv_shufflenet_v2, true, HALF_DEEP)
FIXTURE_TEST(tv_densenet, true, HALF_DEEP)
FIXTURE_TEST(tv_convnext, true, HALF_DEEP)
/* Keras' applications from their own constructors, narrowed to under 1 MB
 * (make_keras_fixtures.py), through tf2onnx (NHWC, BatchNorm folded into the
 * convolutions by tf2onnx): ZeroPadding2D and padding="same" with strides as
 * Pad before Conv/MaxPool, hard swish as Keras writes it, swish with
 * squeeze-excitation and Rescaling/Normalization, dense concatenation. */
FIXTURE_TEST(keras_resnet, true, HALF_SHALLOW)
FIXTURE_TEST(keras_mobilenet_v3, true, HALF_DEEP)
FIXTURE_TEST(keras_efficientnet, true, HALF_DEEP)
FIXTURE_TEST(keras_densenet, true, HALF_DEEP)
/* Exported in half (make_half_fixtures.py): FLOAT16 weights, input, output. */
FIXTURE_TEST(half_residual_mlp, true, HALF_SHALLOW)
FIXTURE_TEST(half_conv_block, true, HALF_SHALLOW)

/* Keras 3's MobileNetV3 through tf2onnx keeps its NHWC Transposes around
 * every Conv (58 here); sink-transpose leaves the input's and one that
 * only moves unit dims before the classifier. The fixture's outputs above
 * check the numbers; this checks the Transposes are gone, so a change that
 * quietly stops the pass shows. */
static int count_transposes(const clg_graph *g)
{
    int n = 0;
    for (int i = 0; i < clg_graph_node_count(g); i++) {
        clg_op op;
        assert_int_equal(clg_graph_node_info(g, i, &op, NULL, NULL, NULL), CLG_OK);
        n += op == CLG_OP_TRANSPOSE;
    }
    return n;
}

static void test_keras_transposes_cancel(void **state)
{
    (void)state;
    fixture fx;
    fixture_load(&fx, "keras_mobilenet_v3");
    clg_graph *o = NULL;
    assert_int_equal(clg_graph_clone(fx.g, &o), CLG_OK);
    int before = count_transposes(o);
    assert_int_equal(clg_graph_optimize(o, 1, NULL, NULL), CLG_OK);
    int after = count_transposes(o);
    printf("keras_mobilenet_v3: %d Transposes, %d after -O1\n", before, after);
    assert_true(before >= 50);
    assert_true(after <= 2);
    clg_graph_destroy(o);
    fixture_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_mlp),
        cmocka_unit_test(test_residual_mlp24),
        cmocka_unit_test(test_preact_resnet),
        cmocka_unit_test(test_resnet18_narrow),
        cmocka_unit_test(test_old_ops_opset9),
        cmocka_unit_test(test_tcn_residual_1d),
        cmocka_unit_test(test_pool3d_bicubic),
        cmocka_unit_test(test_if_static_branch),
        cmocka_unit_test(test_encoder_post_relu),
        cmocka_unit_test(test_encoder_pre_gelu),
        cmocka_unit_test(test_encoder_seq_first),
        cmocka_unit_test(test_encoder_stack),
        cmocka_unit_test(test_decoder_causal),
        cmocka_unit_test(test_einsum_attention),
        cmocka_unit_test(test_padded_positions),
        cmocka_unit_test(test_t5_block),
        cmocka_unit_test(test_llama_block),
        cmocka_unit_test(test_gpt2_block),
        cmocka_unit_test(test_opset18_ops),
        cmocka_unit_test(test_opset21_ops),
        cmocka_unit_test(test_embedding_stack),
        cmocka_unit_test(test_arange_positions),
        cmocka_unit_test(test_keras_mha_block),
        cmocka_unit_test(test_tv_mobilenet_v2),
        cmocka_unit_test(test_tv_mobilenet_v3_small),
        cmocka_unit_test(test_tv_efficientnet),
        cmocka_unit_test(test_tv_regnet_y),
        cmocka_unit_test(test_tv_shufflenet_v2),
        cmocka_unit_test(test_tv_densenet),
        cmocka_unit_test(test_tv_convnext),
        cmocka_unit_test(test_keras_resnet),
        cmocka_unit_test(test_keras_mobilenet_v3),
        cmocka_unit_test(test_keras_transposes_cancel),
        cmocka_unit_test(test_keras_efficientnet),
        cmocka_unit_test(test_keras_densenet),
        cmocka_unit_test(test_half_residual_mlp),
        cmocka_unit_test(test_half_conv_block),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
