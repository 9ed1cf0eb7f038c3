/* The implicit-GEMM convolution (kernels/gemm.cl CONV_A, runtime/lower/conv.c
 * lower_conv_implicit) against the reference executor, forced with the GEMM
 * path generated:NAMEi for each packed variant (kernels/gemm_local.cl's
 * work-group ones too): kernels 1x1 to 7x7 (and
 * non-square), strides 1 and 2, symmetric and asymmetric pads, dilation 2,
 * odd sizes and channel counts (one output channel, counts that fill no
 * panel and several panels), interior tiles of wide rows (the kernel's
 * specialised loop) beside edge tiles, tiles across rows and images read
 * through row pointers (CONV_INB), with and without a bias and epilogues, at
 * batches 1, 3 and 17 (test_check_text, -O0 and -O2); whole panels of
 * output channels (the tile stored channel by channel) and padded inputs
 * padded first (runtime/lower/conv.c pad_first). Also: one launch
 * per run with constant weights and no im2col scratch (the activation
 * memory shrinks by the column matrix), weights that are a graph input
 * (packed every run), and grouped convolutions, which the implicit GEMM
 * does not take, still right when it is forced; pointwise convolutions
 * on the vector variants that read the input in place (test_pointwise);
 * Winograd F(2x2, 3x3) and F(4x4, 3x3) (test_winograd); the direct
 * convolution (test_direct).
 * Tolerance: 1e-4 of each output's largest magnitude
 * (tests/device_check.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"

#define TOL 1e-4

static char text[8192];

/* and the work-group variants for GPUs (kernels/gemm_local.cl CONV_A) */
static const char *const implicit_modes[] = {"generated:p8x32i", "generated:p4x64i", "generated:p12x32i",
                                             "generated:l4x4pi", "generated:l2x4pi"};
#define N_MODES (sizeof implicit_modes / sizeof *implicit_modes)

/* One convolution: input channels, height, width; output channels,
 * kernel height and width, strides, pads [top, left, bottom, right],
 * dilations; a bias or not; an epilogue (NULL: none) and the declarations
 * of its inputs x1.. as graph inputs ("" when it takes none). */
typedef struct conv_case {
    int c, h, w, m, kh, kw, sh, sw;
    const char *pads;
    int dh, dw, bias;
    const char *epilogue, *decl, *args;
} conv_case;

static void write_conv(const conv_case *k)
{
    int n = snprintf(text, sizeof text,
                     "input x: f32[N, %d, %d, %d]\nconst w: f32[%d, %d, %d, %d] = random(1, -0.5, 0.5)\n", k->c,
                     k->h, k->w, k->m, k->c, k->kh, k->kw);
    if (k->bias) n += snprintf(text + n, sizeof text - (size_t)n, "const b: f32[%d] = random(2)\n", k->m);
    if (k->epilogue) n += snprintf(text + n, sizeof text - (size_t)n, "%s", k->decl);
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "y = Conv2D(x, w%s%s) strides=[%d, %d] pads=%s dilations=[%d, %d]", k->bias ? ", b" : "",
                  k->epilogue ? k->args : "", k->sh, k->sw, k->pads, k->dh, k->dw);
    if (k->epilogue) n += snprintf(text + n, sizeof text - (size_t)n, " epilogue=\"%s\"", k->epilogue);
    snprintf(text + n, sizeof text - (size_t)n, "\noutput y\n");
}

/* Each case under each GEMM path, checked against the reference
 * (test_check_text); the path reset after. */
static void check_cases(const char *const *modes, size_t n_modes, const conv_case *cases, size_t n_cases)
{
    for (size_t i = 0; i < n_modes; i++) {
        test_set_gemm(modes[i]);
        for (size_t c = 0; c < n_cases; c++) {
            write_conv(&cases[c]);
            test_check_text(text, TOL);
        }
    }
    test_set_gemm(NULL);
}

/* A 3x3 convolution whose weights are a graph input (prepared every run,
 * not once per plan) under each of the first n modes. */
static void check_weights_input(const char *const *modes, size_t n)
{
    snprintf(text, sizeof text,
             "input x: f32[N, 7, 6, 9]\ninput w: f32[5, 7, 3, 3]\nconst b: f32[5] = random(2)\n"
             "y = Conv2D(x, w, b) pads=[1, 1, 1, 1]\noutput y\n");
    for (size_t i = 0; i < n; i++) {
        test_set_gemm(modes[i]);
        test_check_text(text, TOL);
    }
}

/* Geometry: every kernel size, stride, pad and dilation the kernel's
 * index arithmetic handles, on odd sizes. */
static void test_implicit_geometry(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {5, 11, 9, 7, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {3, 13, 11, 5, 3, 3, 2, 2, "[0, 1, 2, 0]", 1, 1, 0, NULL, NULL, NULL},
        {4, 12, 10, 6, 3, 3, 1, 1, "[2, 2, 2, 2]", 2, 2, 1, NULL, NULL, NULL},
        {3, 17, 13, 13, 7, 7, 2, 2, "[3, 3, 3, 3]", 1, 1, 1, NULL, NULL, NULL}, /* a ResNet stem */
        {6, 9, 10, 17, 5, 5, 1, 2, "[2, 1, 0, 2]", 1, 2, 0, NULL, NULL, NULL},
        {17, 5, 7, 3, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},  /* 1x1: the plain GEMM */
        {8, 9, 9, 33, 1, 1, 2, 2, "[0, 0, 0, 0]", 1, 1, 0, NULL, NULL, NULL},  /* a 1x1 downsample */
        {2, 6, 8, 1, 1, 3, 1, 1, "[0, 1, 0, 1]", 1, 1, 1, NULL, NULL, NULL},   /* one output channel */
        {3, 4, 4, 70, 3, 3, 1, 1, "[1, 1, 1, 1]", 2, 2, 1, NULL, NULL, NULL},  /* several panels, taps off the edge */
        {2, 3, 3, 4, 5, 5, 1, 1, "[2, 2, 2, 2]", 1, 1, 0, NULL, NULL, NULL},   /* kernel larger than the input */
        {1, 1, 1, 1, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 0, NULL, NULL, NULL},
        /* wide rows: interior tiles of every variant (kernels/gemm.cl
         * CLG_CONV_INTERIOR_LOOP: a tile in one output row, every tap
         * inside) beside edge tiles, with strides and dilations in each
         * direction and a 7 x 7 kernel (its tap loop not unrolled) */
        {3, 7, 41, 5, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {2, 6, 37, 4, 3, 3, 2, 1, "[0, 1, 1, 0]", 1, 2, 0, NULL, NULL, NULL},
        {3, 9, 45, 6, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {2, 12, 40, 3, 3, 3, 1, 1, "[2, 2, 2, 2]", 2, 2, 1, NULL, NULL, NULL},
        {3, 9, 30, 4, 7, 7, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, NULL, NULL, NULL},
        {2, 11, 40, 3, 9, 9, 1, 1, "[4, 4, 4, 4]", 1, 1, 0, NULL, NULL, NULL}, /* 81 taps: no interior loop */
        /* whole panels of output channels (32, 64, 96): tiles inside one
         * image store channel by channel (kernels/gemm.cl), others row by
         * row; padded wide rows have their input padded first
         * (runtime/lower/conv.c pad_first), symmetric, asymmetric, with
         * strides and dilations; odd widths put tiles across rows and
         * images */
        {5, 9, 32, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {7, 10, 33, 64, 3, 3, 1, 1, "[1, 2, 0, 1]", 1, 1, 1, NULL, NULL, NULL},
        {4, 8, 50, 96, 3, 3, 2, 2, "[1, 1, 1, 1]", 2, 2, 0, NULL, NULL, NULL},
        {3, 7, 27, 32, 5, 3, 1, 2, "[2, 0, 2, 3]", 1, 1, 1, NULL, NULL, NULL},
        {3, 5, 5, 64, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL}, /* 25 pixels: tiles across images */
    };
    check_cases(implicit_modes, N_MODES, cases, sizeof cases / sizeof *cases);
}

/* Tiles that are no stretch of one output row, every tap inside the
 * input (kernels/gemm.cl CLG_CONV_ROWS_LOOP, CONV_INB): images narrower
 * than a tile (4x4, 2x2, 1x3: a tile across rows and images), rows whose
 * last tile runs into the next (7, 14 and 11 pixels wide), unpadded and
 * padded first (symmetric, only bottom and right), strides and dilations
 * in each direction, 1x1 and 5x3 kernels, whole panels of output channels
 * (stored channel by channel) and odd counts, and a residual epilogue. */
static void test_implicit_row_pointers(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {9, 4, 4, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {5, 2, 2, 64, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {6, 7, 7, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, NULL, NULL, NULL},
        {4, 14, 14, 17, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {3, 9, 11, 5, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {3, 13, 12, 7, 3, 3, 2, 2, "[0, 0, 0, 0]", 1, 1, 0, NULL, NULL, NULL},
        {2, 11, 13, 6, 3, 3, 1, 2, "[0, 0, 0, 0]", 2, 1, 1, NULL, NULL, NULL},
        {3, 12, 9, 5, 5, 3, 2, 1, "[0, 0, 1, 1]", 1, 2, 1, NULL, NULL, NULL},
        {5, 1, 3, 33, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 0, NULL, NULL, NULL},
        {8, 7, 7, 32, 1, 1, 2, 2, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {4, 6, 6, 96, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {3, 4, 4, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 32, 4, 4]\n", ", r"},
        {3, 2, 5, 7, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, "x0 * x1", "input r: f32[N, 7, 2, 5]\n", ", r"},
    };
    check_cases(implicit_modes, N_MODES, cases, sizeof cases / sizeof *cases);
}

/* Epilogues in the implicit kernel's NCHW store: a whole residual, per
 * channel [C, 1, 1], per image and channel [N, C, 1, 1], per image and
 * pixel [N, 1, H, W]; one pixel per image; and an input with no one
 * pixel stride ([W]: the epilogue then runs as a launch after). */
static void test_implicit_epilogues(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {5, 11, 9, 7, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 7, 11, 9]\n", ", r"},
        {3, 17, 13, 13, 7, 7, 2, 2, "[3, 3, 3, 3]", 1, 1, 0, "clip(x0 * x1 + x2, -0.5, 0.5)",
         "input s: f32[N, 13, 1, 1]\ninput t: f32[N, 1, 9, 7]\n", ", s, t"},
        {4, 10, 10, 6, 3, 3, 1, 1, "[0, 1, 2, 1]", 2, 2, 1, "relu(x0 + x1 + x2)",
         "const c: f32[6, 1, 1] = random(3)\ninput r: f32[N, 6, 8, 8]\n", ", c, r"},
        {4, 1, 1, 6, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "x0 * x1", "input r: f32[N, 6, 1, 1]\n", ", r"},
        {2, 10, 10, 3, 3, 3, 1, 1, "[0, 1, 2, 1]", 2, 2, 0, "tanh(x0 - x1)", "input r: f32[8]\n", ", r"},
        /* whole panels, stored channel by channel after the epilogue, the
         * input padded first */
        {6, 9, 35, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 32, 9, 35]\n", ", r"},
        {3, 6, 41, 64, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, "x0 * x1 + x2",
         "input s: f32[N, 64, 1, 1]\ninput t: f32[N, 1, 6, 41]\n", ", s, t"},
    };
    check_cases(implicit_modes, N_MODES, cases, sizeof cases / sizeof *cases);
}

/* Launches per run and activation memory of the model for text under a
 * GEMM path, at batch 1. */
static void model_stats(const char *gemm, clg_model_stats *st)
{
    test_set_gemm(gemm);
    clg_context *ctx = test_context();
    clg_graph *g = test_parse(text);
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s: %s", gemm, clg_model_errmsg(m));
    assert_int_equal(clg_model_stats_get(m, st), CLG_OK);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* With constant weights (packed once, when the plan is built) the
 * implicit path is one launch, the epilogue included, and its activation
 * memory is that of the im2col path less the column matrix at least; with
 * weights that are a graph input, they are packed every run: two
 * launches, still right. A padded convolution whose tiles mostly sit in
 * one output row gets its input padded first: two launches, the padded
 * copy in place of the column matrix. */
static void test_implicit_launches_and_memory(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const conv_case k = {16, 22, 22, 32, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "relu(x0 + x1)",
                         "input r: f32[N, 32, 20, 20]\n", ", r"};
    write_conv(&k);
    clg_model_stats implicit, im2col;
    model_stats("generated:p8x32i", &implicit);
    model_stats("generated:p8x32t", &im2col);
    assert_int_equal(implicit.launches_per_inference, 1);
    assert_int_equal(im2col.launches_per_inference, 2);
    uint64_t columns = (uint64_t)16 * 3 * 3 * 20 * 20 * sizeof(float);
    if (implicit.activation_bytes + columns > im2col.activation_bytes)
        fail_msg("implicit: %llu activation bytes, im2col: %llu, the column matrix %llu",
                 (unsigned long long)implicit.activation_bytes, (unsigned long long)im2col.activation_bytes,
                 (unsigned long long)columns);
    /* the same output from 20 x 20 padded: 8-pixel tiles of 20-pixel rows
     * are 4 in 5 in one row, and padded first every one of those is
     * interior (36% unpadded) */
    const conv_case kp = {16, 20, 20, 32, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)",
                          "input r: f32[N, 32, 20, 20]\n", ", r"};
    write_conv(&kp);
    test_set_gemm("generated:p8x32i");
    test_check_text(text, TOL);
    model_stats("generated:p8x32i", &implicit);
    model_stats("generated:p8x32t", &im2col);
    assert_int_equal(implicit.launches_per_inference, 2);
    uint64_t padded = (uint64_t)16 * 22 * 22 * sizeof(float);
    if (implicit.activation_bytes + columns > im2col.activation_bytes + padded)
        fail_msg("implicit padded first: %llu activation bytes, im2col: %llu", (unsigned long long)implicit.activation_bytes,
                 (unsigned long long)im2col.activation_bytes);
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 9, 11]\ninput w: f32[5, 3, 3, 3]\nconst b: f32[5] = random(2)\n"
             "y = Conv2D(x, w, b) strides=[2, 1] pads=[1, 0, 0, 1]\noutput y\n");
    for (size_t i = 0; i < N_MODES; i++) {
        test_set_gemm(implicit_modes[i]);
        test_check_text(text, TOL);
    }
    /* the weights packed, the input padded first (8-pixel tiles of
     * 10-pixel rows: 2 in 5 interior padded, 3 in 20 not), the GEMM */
    model_stats("generated:p8x32i", &implicit);
    assert_int_equal(implicit.launches_per_inference, 3);
    test_set_gemm(NULL);
}

/* A grouped convolution is no implicit GEMM: forcing one leaves it on its
 * own path (the direct kernel on CPUs, CLBlast's batched GEMM elsewhere),
 * right; a depthwise one keeps its direct kernel. */
static void test_implicit_forced_on_grouped(void **state)
{
    (void)state;
    if (!test_context()) skip();
    snprintf(text, sizeof text,
             "input x: f32[N, 4, 6, 6]\nconst w: f32[6, 2, 3, 3] = random(1, -0.5, 0.5)\nconst b: f32[6] = random(2)\n"
             "y = Conv2D(x, w, b) group=2 pads=[1, 1, 1, 1]\noutput y\n");
    test_set_gemm("generated:p8x32i");
    test_check_text(text, TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 4, 6, 6]\nconst w: f32[4, 1, 3, 3] = random(1, -0.5, 0.5)\n"
             "y = Conv2D(x, w) group=4 strides=[2, 2] pads=[1, 1, 1, 1]\noutput y\n");
    test_check_text(text, TOL);
    test_set_gemm(NULL);
}

/* Pointwise convolutions (1x1, stride 1, unpadded) on the vector
 * variants reading the NCHW input in place (CLG_ORIENT_POINTWISE,
 * kernels/gemm.cl CONV_B1), forced and as the default picks: images
 * whose pixels fill whole 16-column groups and images they run across
 * (35, 20 and 1 pixels: element by element), partial row tiles (3, 33
 * output channels), deep K, with and without a bias, epilogues whose
 * inputs are whole, per channel, per image and channel, and per image and
 * pixel; weights that are a graph input. One launch per run, no scratch. */
static void test_pointwise(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {17, 5, 7, 3, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {9, 4, 8, 33, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 33, 4, 8]\n", ", r"},
        {5, 16, 16, 24, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 0, "clip(x0 * x1 + x2, -0.5, 0.5)",
         "const s: f32[24, 1, 1] = random(3)\ninput t: f32[N, 1, 16, 16]\n", ", s, t"},
        {4, 1, 1, 6, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "x0 * x1", "input r: f32[N, 6, 1, 1]\n", ", r"},
        {6, 4, 5, 16, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "tanh(x0 - x1)", "input r: f32[N, 16, 4, 5]\n", ", r"},
        {300, 6, 8, 10, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {32, 8, 8, 16, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "x0 + x1", "input r: f32[N, 16, 8, 8]\n", ", r"},
    };
    static const char *const modes[] = {"generated:n8x16w", "generated:n4x16w", "default"};
    check_cases(modes, sizeof modes / sizeof *modes, cases, sizeof cases / sizeof *cases);
    const conv_case k = {16, 12, 12, 24, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, "relu(x0 + x1)",
                         "input r: f32[N, 24, 12, 12]\n", ", r"};
    write_conv(&k);
    clg_model_stats st;
    model_stats("generated:n8x16w", &st);
    assert_int_equal(st.launches_per_inference, 1);
    assert_int_equal(st.prepared_bytes, 0);
    snprintf(text, sizeof text,
             "input x: f32[N, 7, 3, 9]\ninput w: f32[5, 7, 1, 1]\nconst b: f32[5] = random(2)\n"
             "y = Conv2D(x, w, b)\noutput y\n");
    test_set_gemm("generated:n8x16w");
    test_check_text(text, TOL);
    test_set_gemm(NULL);
}

/* Kernels whose outer taps read only padding (compiler/pass_shrink_conv.c
 * shrinks them at -O1 and up; -O0 runs them whole): DeepLabV3's ASPP at
 * dilation 12 over a 4x4 map (a 1x1 convolution then), a 5x5 depthwise
 * over 2x2 planes (3x3), a 7-tall kernel over 3 rows with a bias and an
 * epilogue. */
static void test_shrunk_taps(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const char *cases[] = {
        "input x: f32[N, 40, 4, 4]\nconst w: f32[24, 40, 3, 3] = random(1)\n"
        "y = Conv2D(x, w) pads=[12, 12, 12, 12] dilations=[12, 12]\noutput y\n",
        "input x: f32[N, 16, 2, 2]\nconst w: f32[16, 1, 5, 5] = random(1)\n"
        "y = Conv2D(x, w) pads=[2, 2, 2, 2] group=16\noutput y\n",
        "input x: f32[N, 8, 3, 5]\nconst w: f32[6, 8, 7, 1] = random(1)\nconst b: f32[6] = random(2)\n"
        "c = Conv2D(x, w, b) pads=[3, 0, 3, 0]\ny = Relu(c)\noutput y\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, "%s", cases[i]);
        test_check_text(text, TOL);
    }
}

/* Winograd F(2x2, 3x3) and F(4x4, 3x3) (runtime/lower/conv_winograd.c) on
 * every packed variant that runs them and by default: odd images (a last
 * tile partly outside), padded and not, asymmetric pads, 1x1 images, channel counts
 * that leave a part of the float8 of channels (5, 7, 70) and of a weight
 * panel (6, 33, 100), epilogues with a whole residual, a per-channel
 * constant and a per-image-pixel input; a convolution Winograd cannot run
 * (stride 2, 1x1, dilated) stays right when it is forced; weights that are
 * a graph input (transformed every run). By default a 3x3 stride-1
 * convolution of 128 channels on 32x32 images takes F(4x4): three launches
 * (input transform, the batched products, output transform), the
 * transformed weights prepared once (36 per 3x3 taps' 9). */
static void test_winograd(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {5, 7, 9, 6, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 6, 7, 9]\n", ", r"},
        {70, 6, 5, 33, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 0, NULL, NULL, NULL},
        {3, 1, 1, 65, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {16, 8, 8, 100, 3, 3, 1, 1, "[0, 1, 2, 0]", 1, 1, 1, NULL, NULL, NULL},
        {7, 4, 13, 1, 3, 3, 1, 1, "[2, 2, 2, 2]", 1, 1, 0, NULL, NULL, NULL},
        {9, 10, 10, 16, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "clip(x0 * x1 + x2, -0.5, 0.5)",
         "const s: f32[16, 1, 1] = random(3)\ninput t: f32[N, 1, 10, 10]\n", ", s, t"},
        {128, 4, 4, 128, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 128, 4, 4]\n",
         ", r"},
        {6, 9, 9, 8, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {6, 5, 5, 8, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {6, 9, 9, 8, 3, 3, 1, 1, "[2, 2, 2, 2]", 2, 2, 1, NULL, NULL, NULL},
    };
    static const char *const modes[] = {"generated:p8x32f", "generated:p4x64f", "generated:p12x32f",
                                        "generated:p8x32g", "generated:p4x64g", "generated:p12x32g", "default"};
    check_cases(modes, sizeof modes / sizeof *modes, cases, sizeof cases / sizeof *cases);
    static const char *const prepared[] = {"generated:p8x32f", "generated:p4x64g"};
    check_weights_input(prepared, 2);
    const conv_case k = {128, 32, 32, 64, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)",
                         "input r: f32[N, 64, 32, 32]\n", ", r"};
    write_conv(&k);
    clg_model_stats st;
    model_stats("default", &st);
    clg_context *ctx = test_context();
    clg_device_info info;
    clg_context_device(ctx, &info);
    if (info.type == CLG_DEVICE_CPU) {
        assert_int_equal(st.launches_per_inference, 3);
        /* p4x64's panels: 64 output channels, 36 transformed taps */
        assert_int_equal(st.prepared_bytes, (uint64_t)36 * 128 * 64 * sizeof(float));
    }
    test_set_gemm(NULL);
}

/* The direct convolution (runtime/lower/conv_direct.c, kernels/conv_direct.cl)
 * on both of its tiles (p8x32d: 8 channels by 2 rows of 16 pixels; p4x64d:
 * 4 by 4) and by default: kernels 1x1 to 7x7 and non-square, dilations,
 * symmetric and asymmetric pads, rows that end inside their last 16-pixel
 * segment (9, 35 and 20 outputs wide) and whole ones read in place
 * (unpadded, 16 wide), a last block of rows moved up (5 and 7 rows),
 * output channels that fill no block (1, 6, 33), one input channel,
 * epilogues with a whole residual, a per-channel constant and a
 * per-image-pixel input; convolutions it cannot run (stride 2, 3 output
 * rows) stay right when it is forced; weights that are a graph input
 * (packed every run); rows a multiple of 16 wide, whose padding the kernel
 * reads in place (DC_PL: symmetric and asymmetric, 7x7, dilated, pads
 * wider than the taps, segments wholly past the input). Launches: the
 * padding written out first and the convolution (2), or the convolution
 * alone when the input needs no padding or its rows are 16 wide (1); the
 * weights packed once, into blocks of the tile's channels. The cases at
 * fp16-storage too. */
static void test_direct(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const conv_case cases[] = {
        {5, 7, 9, 6, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 6, 7, 9]\n", ", r"},
        {4, 18, 18, 5, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
        {3, 6, 35, 33, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, "clip(x0 * x1 + x2, -0.5, 0.5)",
         "const s: f32[33, 1, 1] = random(3)\ninput t: f32[N, 1, 6, 35]\n", ", s, t"},
        {6, 12, 20, 10, 5, 3, 1, 1, "[2, 1, 0, 3]", 2, 1, 1, NULL, NULL, NULL},
        {3, 9, 17, 8, 7, 7, 1, 1, "[3, 3, 3, 3]", 1, 1, 1, "relu(x0)", "", ""},
        {8, 6, 6, 9, 1, 1, 1, 1, "[1, 0, 1, 0]", 1, 1, 1, NULL, NULL, NULL},
        {1, 5, 16, 1, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 2, 1, NULL, NULL, NULL},
        {16, 32, 32, 16, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 16, 32, 32]\n",
         ", r"},
        {9, 9, 9, 7, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL},
        {4, 3, 12, 5, 3, 3, 1, 1, "[0, 1, 0, 1]", 1, 1, 1, NULL, NULL, NULL},
        /* rows a multiple of 16 wide: the padding read in place */
        {5, 9, 16, 6, 3, 3, 1, 1, "[1, 2, 0, 1]", 1, 1, 1, "relu(x0 + x1)", "input r: f32[N, 6, 8, 17]\n", ", r"},
        {3, 6, 16, 4, 7, 7, 1, 1, "[3, 3, 3, 3]", 1, 1, 1, NULL, NULL, NULL},
        {4, 8, 32, 5, 3, 3, 1, 1, "[2, 2, 2, 2]", 2, 2, 0, NULL, NULL, NULL},
        {2, 5, 16, 3, 3, 3, 1, 1, "[2, 2, 2, 2]", 1, 1, 1, "x0 * x1", "input r: f32[N, 3, 7, 18]\n", ", r"},
        {3, 4, 48, 5, 1, 5, 1, 1, "[0, 2, 0, 2]", 1, 1, 1, NULL, NULL, NULL},
        {7, 5, 32, 9, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL},
    };
    static const char *const modes[] = {"generated:p8x32d", "generated:p4x64d", "default"};
    check_cases(modes, sizeof modes / sizeof *modes, cases, sizeof cases / sizeof *cases);
    /* at fp16-storage too: half rows loaded 16 at a time at any element
     * address (PoCL 3.1 has crashed in vload_half8 at addresses not
     * 16-byte aligned, kernels' storage prelude), within 16 half units */
    for (size_t i = 0; i < 2; i++) {
        test_set_gemm(modes[i]);
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            write_conv(&cases[c]);
            clg_graph *g = test_parse(text);
            clg_status refused = CLG_OK;
            char why[256] = "";
            double err = test_device_error_prec(test_context(), g, 3, 7, CLG_OPT_DEFAULT, CLG_PRECISION_FP16_STORAGE,
                                                &refused, why, sizeof why);
            clg_graph_destroy(g);
            if (!(err >= 0 && err <= 16 * 4.8828125e-4))
                fail_msg("%s, case %zu at fp16-storage: error %.3g (%d: %s)\n%s", modes[i], c, err, refused, why, text);
        }
    }
    check_weights_input(modes, 2);
    /* padded: the copy and the convolution; the weights in blocks of 8
     * (33 channels: 5 blocks) */
    const conv_case k = {6, 20, 20, 33, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)",
                         "input r: f32[N, 33, 20, 20]\n", ", r"};
    write_conv(&k);
    clg_model_stats st;
    model_stats("generated:p8x32d", &st);
    assert_int_equal(st.launches_per_inference, 2);
    assert_int_equal(st.prepared_bytes, (uint64_t)40 * 6 * 9 * sizeof(float));
    /* unpadded and 16 wide: the convolution alone; so with rows a
     * multiple of 16 wide, the padding read in place */
    const conv_case k1 = {6, 18, 18, 8, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 1, NULL, NULL, NULL};
    write_conv(&k1);
    model_stats("generated:p4x64d", &st);
    assert_int_equal(st.launches_per_inference, 1);
    const conv_case k2 = {6, 10, 32, 8, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL, NULL, NULL};
    write_conv(&k2);
    model_stats("generated:p8x32d", &st);
    assert_int_equal(st.launches_per_inference, 1);
    test_set_gemm(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd),
        cmocka_unit_test(test_direct),
        cmocka_unit_test(test_pointwise),
        cmocka_unit_test(test_shrunk_taps),
        cmocka_unit_test(test_implicit_geometry),
        cmocka_unit_test(test_implicit_row_pointers),
        cmocka_unit_test(test_implicit_epilogues),
        cmocka_unit_test(test_implicit_launches_and_memory),
        cmocka_unit_test(test_implicit_forced_on_grouped),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
