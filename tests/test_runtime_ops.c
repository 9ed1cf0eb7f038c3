/* Every op on the OpenCL device against the reference executor, over shapes
 * that include 1, 3, 17 and 127 and sizes that are no multiple of any
 * work-group size, compiled as written (-O0: each op by its own lowering)
 * and optimised (-O2). Tolerances are relative to each output's largest
 * magnitude (tests/device_check.h); 1e-4 unless noted beside a case. */
#include <float.h>
#include <math.h>
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

#define TOL 1e-4

static char text[8192];

/* Checks the graph in `text` at a few batch sizes. */
static void check(double tol) { test_check_text(text, tol); }

static const int sizes[] = {1, 3, 17, 127};
#define N_SIZES (int)(sizeof sizes / sizeof *sizes)

static void test_gemm(void **state)
{
    (void)state;
    for (int i = 0; i < N_SIZES; i++) {
        for (int j = 0; j < N_SIZES; j++) {
            int k = sizes[i], n = sizes[j];
            for (int t = 0; t < 2; t++) {
                snprintf(text, sizeof text,
                         "input x: f32[N, %d]\n"
                         "const w: f32[%d, %d] = random(1)\n"
                         "const b: f32[%d] = random(2)\n"
                         "y = Gemm(x, w, b) transB=%d alpha=0.5 beta=2\n"
                         "output y\n", k, t ? n : k, t ? k : n, n, t);
                check(TOL);
            }
        }
    }
}

static void test_gemm_bias_shapes_and_trans_a(void **state)
{
    (void)state;
    static const char *bias[] = {"[1, 17]", "[5, 17]", "[5, 1]", "[1]"};
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text,
                 "input a: f32[3, 5]\n"
                 "const w: f32[3, 17] = random(1)\n"
                 "const c: f32%s = random(2)\n"
                 "y = Gemm(a, w, c) transA=1\n"
                 "output y\n", bias[i]);
        check(TOL);
    }
    snprintf(text, sizeof text,
             "input a: f32[N, 7]\n"
             "const w: f32[7, 3] = random(1)\n"
             "y = Gemm(a, w)\n"
             "output y\n");
    check(TOL);
}

static void test_matmul(void **state)
{
    (void)state;
    static const char *cases[][3] = {
        {"[N, 17]", "[17, 3]", "plain"},
        {"[N, 4, 17]", "[17, 127]", "batched A, shared B"},
        {"[N, 4, 17]", "[4, 17, 3]", "same batch (needs N = 4 at run)"},
        {"[N, 1, 5, 3]", "[2, 3, 7]", "broadcast batch"},
        {"[N, 17]", "[17]", "matrix-vector"},
    };
    for (int i = 0; i < 5; i++) {
        bool const_b = i != 2;
        if (const_b)
            snprintf(text, sizeof text,
                     "input a: f32%s\nconst b: f32%s = random(3)\ny = MatMul(a, b)\noutput y\n",
                     cases[i][0], cases[i][1]);
        else
            snprintf(text, sizeof text,
                     "input a: f32[4, 4, 17]\ninput b: f32[4, 17, 3]\ny = MatMul(a, b)\noutput y\n");
        check(TOL);
    }
}

static void test_conv2d(void **state)
{
    (void)state;
    /* channels, out, h, w, k, stride, pads, dilation, group, bias */
    static const struct { int c, m, h, w, k, s; const char *pads; int d, g, bias; } cases[] = {
        {3, 8, 17, 17, 3, 1, "[1, 1, 1, 1]", 1, 1, 1},
        {3, 5, 9, 13, 3, 2, "[0, 1, 2, 0]", 1, 1, 0},
        {4, 6, 11, 7, 3, 1, "[2, 2, 2, 2]", 2, 2, 1},
        {8, 8, 7, 7, 3, 1, "[1, 1, 1, 1]", 1, 8, 1}, /* depthwise */
        {17, 3, 5, 5, 1, 1, "[0, 0, 0, 0]", 1, 1, 1}, /* 1x1 */
        {1, 1, 1, 1, 1, 1, "[0, 0, 0, 0]", 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = snprintf(text, sizeof text,
                         "input x: f32[N, %d, %d, %d]\nconst w: f32[%d, %d, %d, %d] = random(4, -0.5, 0.5)\n",
                         cases[i].c, cases[i].h, cases[i].w, cases[i].m, cases[i].c / cases[i].g,
                         cases[i].k, cases[i].k);
        if (cases[i].bias) n += snprintf(text + n, sizeof text - (size_t)n, "const b: f32[%d] = random(5)\n", cases[i].m);
        snprintf(text + n, sizeof text - (size_t)n,
                 "y = Conv2D(x, w%s) strides=[%d, %d] pads=%s dilations=[%d, %d] group=%d\noutput y\n",
                 cases[i].bias ? ", b" : "", cases[i].s, cases[i].s, cases[i].pads, cases[i].d,
                 cases[i].d, cases[i].g);
        check(TOL);
    }
}

/* Depthwise convolutions (group = input channels) run a direct kernel
 * (kernels/conv_depthwise.cl): strides 1 and 2, asymmetric pads, dilation,
 * channel multiplier 2, kernels of 3x3, 5x5, 1x3 and one larger than the
 * padded input's row (no interior), with and without a bias and an
 * epilogue, at batches 1, 3 and 17 against the reference; one launch
 * each, the epilogue included. Each case runs with the device's choice of
 * body and with each body forced (CLGRAPH_DEPTHWISE: float16 rows and
 * whole planes where they fit, float8 row blocks, one output at a time). */
static void test_conv_depthwise(void **state)
{
    (void)state;
    static const struct {
        int c, mult, h, w, kh, kw, sh, sw;
        const char *pads;
        int dh, dw, bias;
        const char *epilogue;
    } cases[] = {
        {8, 1, 12, 12, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL},
        {8, 1, 13, 11, 3, 3, 2, 2, "[0, 1, 1, 0]", 1, 1, 1, "clip(x0, 0, 6)"},
        {6, 2, 9, 10, 3, 3, 1, 2, "[2, 0, 1, 2]", 2, 1, 0, "relu(x0 + x1)"},
        {3, 2, 7, 7, 5, 5, 2, 1, "[2, 2, 2, 2]", 1, 2, 1, "x0 * x1"},
        {5, 1, 6, 17, 1, 3, 1, 1, "[0, 1, 0, 1]", 1, 3, 0, NULL},
        {4, 1, 3, 3, 3, 7, 1, 1, "[1, 3, 1, 3]", 1, 1, 1, "tanh(x0)"}, /* every column at an edge */
        /* rows of several blocks of 8 outputs: edge blocks, vector
         * blocks (stride 1, 2 and 3, dilated) and a short last block */
        {8, 1, 5, 40, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "clip(x0, 0, 6)"},
        {4, 1, 9, 37, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 0, "relu(x0 + x1)"},
        {4, 1, 8, 36, 3, 3, 2, 2, "[0, 0, 1, 1]", 1, 1, 1, NULL},
        {3, 1, 6, 50, 3, 3, 1, 3, "[1, 1, 1, 1]", 1, 1, 1, NULL},
        {4, 2, 7, 29, 5, 5, 1, 1, "[2, 2, 2, 2]", 1, 2, 1, "x0 * x1"},
        /* small planes, a work-item each on CPUs (MobileNet's late
         * layers: 4x4, 2x2, 8x8 s2 to 4x4, 7x7; 5x5 taps on 4x4; the
         * limits: 10x10 inputs, 8x8 outputs of 3x3 taps) */
        {6, 1, 4, 4, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "clip(x0, 0, 6)"},
        {5, 1, 2, 2, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 0, "relu(x0 + x1)"},
        {4, 1, 8, 8, 3, 3, 2, 2, "[0, 0, 1, 1]", 1, 1, 1, NULL},
        {3, 2, 7, 7, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "x0 * x1"},
        {4, 1, 4, 4, 5, 5, 1, 1, "[2, 2, 2, 2]", 1, 1, 1, NULL},
        {2, 1, 10, 10, 3, 3, 1, 1, "[0, 0, 0, 0]", 1, 1, 0, NULL},
        {3, 1, 8, 8, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "tanh(x0)"},
        {3, 1, 5, 6, 3, 3, 2, 1, "[1, 0, 0, 2]", 2, 1, 1, NULL},
        /* strips of a plane's rows (16x16: 4 rows; 16x16 stride 2: 2 of
         * 8; 14x14: 4, the last strip short; 13x13 stride 2: 3 of 7;
         * dilated with a multiplier: 4 of 10) */
        {4, 1, 16, 16, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "clip(x0, 0, 6)"},
        {4, 1, 16, 16, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 0, "relu(x0 + x1)"},
        {3, 1, 14, 14, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, NULL},
        {3, 1, 13, 13, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 1, "x0 * x1"},
        {2, 2, 10, 12, 3, 3, 1, 1, "[2, 2, 2, 2]", 2, 2, 1, NULL},
        /* rows of 16 and more as float16 vectors from a padded private row
         * (DW_VEC, on CPUs): 37 outputs (3 vectors, the last 5 lanes
         * stored) in strips of 5 rows, the last short; 5x5 taps dilated,
         * with a multiplier; stride 2 in strips of 8 (input rows odd and
         * even apart), the last short, 17 outputs; stride 2 across only,
         * asymmetric pads; stride 2 with dilation 2 across */
        {3, 1, 22, 37, 3, 3, 1, 1, "[1, 1, 1, 1]", 1, 1, 1, "relu(x0 + x1)"},
        {2, 2, 11, 40, 5, 5, 1, 1, "[2, 2, 2, 2]", 2, 2, 1, NULL},
        {3, 1, 33, 34, 3, 3, 2, 2, "[1, 1, 1, 1]", 1, 1, 0, "x0 * x1"},
        {4, 1, 9, 40, 3, 3, 1, 2, "[0, 1, 2, 0]", 1, 1, 1, "clip(x0, 0, 6)"},
        {2, 1, 6, 44, 3, 3, 1, 2, "[1, 2, 1, 2]", 1, 2, 1, NULL},
    };
    static const char *const bodies[] = {NULL, "vec", "plane", "blocks", "rows"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int m = cases[i].c * cases[i].mult;
        int n = snprintf(text, sizeof text,
                         "input x: f32[N, %d, %d, %d]\nconst w: f32[%d, 1, %d, %d] = random(4, -0.5, 0.5)\n",
                         cases[i].c, cases[i].h, cases[i].w, m, cases[i].kh, cases[i].kw);
        if (cases[i].bias) n += snprintf(text + n, sizeof text - (size_t)n, "const b: f32[%d] = random(5)\n", m);
        const char *e = cases[i].epilogue;
        /* an epilogue's x1: per channel [M, 1, 1] */
        if (e && strstr(e, "x1")) n += snprintf(text + n, sizeof text - (size_t)n, "const c: f32[%d, 1, 1] = random(6)\n", m);
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "y = Conv2D(x, w%s%s) strides=[%d, %d] pads=%s dilations=[%d, %d] group=%d", cases[i].bias ? ", b" : "",
                      e && strstr(e, "x1") ? ", c" : "", cases[i].sh, cases[i].sw, cases[i].pads, cases[i].dh,
                      cases[i].dw, cases[i].c);
        if (e) n += snprintf(text + n, sizeof text - (size_t)n, " epilogue=\"%s\"", e);
        snprintf(text + n, sizeof text - (size_t)n, "\noutput y\n");
        for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++) {
            if (bodies[b]) setenv("CLGRAPH_DEPTHWISE", bodies[b], 1);
            else unsetenv("CLGRAPH_DEPTHWISE");
            check(TOL);
            int launches = test_launches_at(text, 0);
            if (launches >= 0) assert_int_equal(launches, 1);
        }
        unsetenv("CLGRAPH_DEPTHWISE");
    }
    /* Grouped convolutions (not depthwise): on CPUs the vector body, each
     * output summing its group's input channels (DW_CG), on other devices
     * CLBlast: groups of 4 input channels with 2 outputs each and a
     * residual; stride 2 with asymmetric pads; 5x5 dilated; grouped 1x1;
     * 37-wide rows; rows of 140, which the body does not take (CLBlast on
     * any device), nor windows of 19 input rows. */
    static const char *const grouped[] = {
        "input x: f32[N, 12, 9, 20]\nconst w: f32[6, 4, 3, 3] = random(4, -0.5, 0.5)\nconst b: f32[6] = random(5)\n"
        "input r: f32[N, 6, 9, 20]\ny = Conv2D(x, w, b, r) pads=[1, 1, 1, 1] group=3 epilogue=\"relu(x0 + x1)\"\n"
        "output y\n",
        "input x: f32[N, 8, 13, 13]\nconst w: f32[8, 4, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) strides=[2, 2] pads=[0, 1, 1, 0] group=2\noutput y\n",
        "input x: f32[N, 6, 5, 7]\nconst w: f32[9, 2, 5, 5] = random(4, -0.5, 0.5)\nconst b: f32[9] = random(5)\n"
        "y = Conv2D(x, w, b) dilations=[2, 2] pads=[4, 4, 4, 4] group=3\noutput y\n",
        "input x: f32[N, 64, 6, 6]\nconst w: f32[32, 16, 1, 1] = random(4, -0.5, 0.5)\ny = Conv2D(x, w) group=4\noutput y\n",
        "input x: f32[N, 4, 6, 37]\nconst w: f32[4, 2, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=2 epilogue=\"clip(x0, 0, 6)\"\noutput y\n",
        "input x: f32[N, 4, 3, 140]\nconst w: f32[4, 2, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=2\noutput y\n",
        /* a window of 19 input rows (7x7 at dilation 3): not the body,
         * whose code is unrolled over at most 18; grouped and depthwise */
        "input x: f32[N, 4, 20, 20]\nconst w: f32[4, 2, 7, 7] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) dilations=[3, 3] pads=[9, 9, 9, 9] group=2\noutput y\n",
        "input x: f32[N, 3, 20, 20]\nconst w: f32[3, 1, 7, 7] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) dilations=[3, 3] pads=[9, 9, 9, 9] group=3\noutput y\n",
    };
    for (size_t i = 0; i < sizeof grouped / sizeof *grouped; i++) {
        snprintf(text, sizeof text, "%s", grouped[i]);
        check(TOL);
    }
    /* kernels/conv_grouped.cl (vectors of a group's output channels by 8
     * or fewer pixels; on CPUs where it fills more lanes than the row
     * body, CLGRAPH_GROUPED=kernel on any device, =vec the row body where
     * it fits): channel vectors of 16, 8 (24 outputs per group), 4 and 2;
     * images of 2x2, 1x1, 5x7 (a last block of 3 pixels) and 3x1 pixels;
     * stride 2 with asymmetric pads, dilation, 7x7 and 1x3 kernels; a
     * bias, a residual and a per-image scale in the store; weights that
     * are a graph input (packed every run); 3 outputs per group, which no
     * vector divides (the row body or CLBlast). */
    static const char *const grouped_kernel[] = {
        "input x: f32[N, 32, 4, 4]\nconst w: f32[32, 16, 3, 3] = random(4, -0.5, 0.5)\nconst b: f32[32] = random(5)\n"
        "input r: f32[N, 32, 4, 4]\ny = Conv2D(x, w, b, r) pads=[1, 1, 1, 1] group=2 epilogue=\"relu(x0 + x1)\"\n"
        "output y\n",
        "input x: f32[N, 32, 2, 2]\nconst w: f32[48, 16, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=2\noutput y\n",
        "input x: f32[N, 12, 9, 13]\nconst w: f32[16, 3, 3, 3] = random(4, -0.5, 0.5)\nconst b: f32[16] = random(5)\n"
        "input s: f32[N, 16, 1, 1]\ny = Conv2D(x, w, b, s) strides=[2, 2] pads=[0, 1, 1, 0] group=4 "
        "epilogue=\"clip(x0, 0, 6) * x1\"\noutput y\n",
        "input x: f32[N, 8, 6, 7]\nconst w: f32[4, 4, 5, 5] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) dilations=[2, 2] pads=[3, 4, 5, 2] group=2\noutput y\n",
        "input x: f32[N, 6, 3, 1]\nconst w: f32[12, 2, 7, 7] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[3, 3, 3, 3] group=3\noutput y\n",
        "input x: f32[N, 16, 1, 1]\nconst w: f32[32, 4, 1, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[0, 1, 0, 1] group=4\noutput y\n",
        "input x: f32[N, 16, 5, 7]\ninput w: f32[16, 8, 3, 3]\ny = Conv2D(x, w) pads=[1, 1, 1, 1] group=2\noutput y\n",
        "input x: f32[N, 9, 5, 6]\nconst w: f32[9, 3, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=3\noutput y\n",
    };
    static const char *const grouped_ways[] = {NULL, "kernel", "vec"};
    for (size_t i = 0; i < sizeof grouped_kernel / sizeof *grouped_kernel; i++)
        for (size_t k = 0; k < sizeof grouped_ways / sizeof *grouped_ways; k++) {
            snprintf(text, sizeof text, "%s", grouped_kernel[i]);
            if (grouped_ways[k]) setenv("CLGRAPH_GROUPED", grouped_ways[k], 1);
            else unsetenv("CLGRAPH_GROUPED");
            check(TOL);
            /* one launch, the epilogue in it, when the kernel runs it
             * with constant weights (the first six cases) */
            int launches = test_launches_at(text, 2);
            if (launches >= 0 && k == 1 && i < 6) assert_int_equal(launches, 1);
        }
    unsetenv("CLGRAPH_GROUPED");
    /* Epilogue inputs that differ per image and pixel (a residual, a
     * per-image scale): each body addresses them by image and pixel. */
    static const char *const residual[] = {
        "input x: f32[N, 3, 18, 37]\nconst w: f32[3, 1, 3, 3] = random(4, -0.5, 0.5)\ninput r: f32[N, 3, 18, 37]\n"
        "input s: f32[N, 3, 1, 1]\ny = Conv2D(x, w, r, s) pads=[1, 1, 1, 1] group=3 epilogue=\"relu(x0 + x1) * x2\"\n"
        "output y\n",
        "input x: f32[N, 2, 20, 34]\nconst w: f32[2, 1, 3, 3] = random(4, -0.5, 0.5)\ninput r: f32[N, 2, 10, 17]\n"
        "y = Conv2D(x, w, r) strides=[2, 2] pads=[1, 1, 1, 1] group=2 epilogue=\"x0 - x1\"\noutput y\n",
    };
    for (size_t i = 0; i < sizeof residual / sizeof *residual; i++)
        for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++) {
            snprintf(text, sizeof text, "%s", residual[i]);
            if (bodies[b]) setenv("CLGRAPH_DEPTHWISE", bodies[b], 1);
            else unsetenv("CLGRAPH_DEPTHWISE");
            check(TOL);
        }
    unsetenv("CLGRAPH_DEPTHWISE");
}

static void test_batchnorm(void **state)
{
    (void)state;
    static const char *shapes[] = {"[N, 17]", "[N, 3, 5, 7]", "[N, 127]"};
    static const int ch[] = {17, 3, 127};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text,
                 "input x: f32%s\n"
                 "const s: f32[%d] = random(1, 0.5, 1.5)\nconst b: f32[%d] = random(2)\n"
                 "const m: f32[%d] = random(3)\nconst v: f32[%d] = random(4, 0.1, 2)\n"
                 "y = BatchNorm(x, s, b, m, v) epsilon=0.001\noutput y\n",
                 shapes[i], ch[i], ch[i], ch[i], ch[i]);
        check(TOL);
    }
}

static void test_binary(void **state)
{
    (void)state;
    static const char *ops[] = {"Add", "Sub", "Mul", "Div"};
    static const char *pairs[][2] = {
        {"[N, 17]", "[1, 17]"}, {"[N, 17]", "[17]"}, {"[N, 1]", "[1, 127]"},
        {"[N, 3, 5, 7]", "[3, 1, 1]"}, {"[N, 3, 1, 7]", "[5, 1]"}, {"[N, 1]", "[1]"},
    };
    for (int o = 0; o < 4; o++) {
        for (int p = 0; p < 6; p++) {
            /* Div's denominator stays away from zero. */
            snprintf(text, sizeof text,
                     "input a: f32%s\nconst b: f32%s = random(7, %s)\ny = %s(a, b)\noutput y\n",
                     pairs[p][0], pairs[p][1], o == 3 ? "0.5, 2" : "-1, 1", ops[o]);
            check(TOL);
        }
    }
    snprintf(text, sizeof text, "input a: f32[N, 17]\ninput b: f32[N, 17]\ny = Add(a, b)\noutput y\n");
    check(TOL);
    /* Rows shorter than 256 elements take the rows kernel (several rows
     * on grid dim 0, 2^shift items each), longer ones the general one: a
     * per-channel scale and shift over rows of 1, 4, 9 (one vector and
     * one element), 16, 49, 255 and 256; a squeeze-and-excitation scale
     * [N, C, 1, 1]; a row broadcast down the columns */
    static const char *const rows[][2] = {
        {"[N, 5, 1, 1]", "[5, 1, 1]"}, {"[N, 6, 2, 2]", "[6, 1, 1]"}, {"[N, 7, 3, 3]", "[7, 1, 1]"},
        {"[N, 9, 4, 4]", "[9, 1, 1]"}, {"[N, 4, 7, 7]", "[4, 1, 1]"}, {"[N, 3, 255]", "[3, 1]"},
        {"[N, 3, 256]", "[3, 1]"},     {"[N, 11, 3, 5]", "[N, 11, 1, 1]"}, {"[N, 13, 9]", "[N, 1, 9]"},
    };
    for (size_t p = 0; p < sizeof rows / sizeof *rows; p++) {
        bool per_image = rows[p][1][1] == 'N';
        snprintf(text, sizeof text,
                 "input a: f32%s\n%s b: f32%s%s\nconst c: f32[1] = full(0.25)\n"
                 "y = Elementwise(a, b, c) expr=\"relu(x0 * x1 + x2)\"\noutput y\n",
                 rows[p][0], per_image ? "input" : "const", rows[p][1], per_image ? "" : " = random(8)");
        check(TOL);
    }
}

static void test_unary(void **state)
{
    (void)state;
    static const char *ops[] = {
        "Relu(x)", "LeakyRelu(x) alpha=0.2", "Sigmoid(x)", "Tanh(x)", "Clip(x) min=-0.5 max=0.25",
        "Clip(x) min=0", "Gelu(x)", "Gelu(x) approximate=1", "Identity(x)",
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        snprintf(text, sizeof text,
                 "input x0: f32[N, 3, 127]\nconst k: f32[1] = full(3)\nx = Mul(x0, k)\ny = %s\noutput y\n", ops[i]);
        check(TOL);
    }
}

/* At -O0 each elementwise op runs alone as the kernel generated from its
 * expression: one launch, whether its inputs are dense or broadcast (up to
 * three dims after merging). */
static void test_elementwise_ops_one_launch(void **state)
{
    (void)state;
    static const char *ops[] = {
        "Relu(x)", "LeakyRelu(x) alpha=0.2", "Sigmoid(x)", "Tanh(x)", "Clip(x) min=0", "Gelu(x)",
        "Gelu(x) approximate=1", "Add(x, x)", "Sub(x, c)", "Mul(c, x)", "Div(x, r)",
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        snprintf(text, sizeof text,
                 "input x: f32[N, 3, 127]\nconst c: f32[3, 1] = random(1)\nconst r: f32[127] = random(2, 1, 2)\n"
                 "y = %s\noutput y\n", ops[i]);
        int launches = test_launches_at(text, 0);
        if (launches != 1) fail_msg("%s: %d launches at -O0", ops[i], launches);
    }
}

static void test_softmax(void **state)
{
    (void)state;
    for (int axis = -1; axis <= 2; axis++) {
        if (axis == 0) continue; /* N is symbolic */
        snprintf(text, sizeof text,
                 "input x0: f32[N, 17, 3]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\n"
                 "y = Softmax(x) axis=%d\noutput y\n", axis);
        check(TOL);
    }
    snprintf(text, sizeof text, "input x: f32[N, 127]\ny = Softmax(x)\noutput y\n");
    check(TOL);
    /* Few long rows take the work-group kernel (a row per work-group,
     * reductions through local memory): rows of odd length, along the last
     * axis and a middle one (strided), written in place over the scaled
     * input. */
    snprintf(text, sizeof text,
             "input x0: f32[N, 1001]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\ny = Softmax(x)\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x0: f32[N, 2, 333, 3]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\n"
             "y = Softmax(x) axis=2\noutput y\n");
    check(TOL);
}

/* Every reduction over axes sets that take each kernel: innermost rows
 * longer than a work-group (1001) and of odd length (65), short innermost
 * rows (3: a work-item per row), outer axes, two separated groups, all
 * axes, and size-1 axes only (a single element per output), with and
 * without keepdims. The input is shifted away from 0 so that ReduceLogSum
 * and ReduceProd stay finite: x in [0, 2). */
static void test_reductions(void **state)
{
    (void)state;
    static const char *ops[] = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"};
    static const struct { const char *shape, *attrs; } cases[] = {
        {"N, 1001", "axes=[1]"},
        {"N, 5, 65", "axes=[-1] keepdims=0"},
        {"N, 7, 3", "axes=[2]"},
        {"N, 7, 3", "axes=[1]"},
        {"N, 4, 5, 3", "axes=[1, 3]"},
        {"N, 4, 5, 3", "axes=[1, 2] keepdims=0"},
        {"N, 4, 1, 3", "axes=[2]"},
        {"N, 2, 3, 5, 7", "axes=[1, 3]"},
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            /* ReduceProd over 1001 elements of [0, 2) underflows a
             * float; over 40 it does not. */
            bool prod_long = strcmp(ops[i], "ReduceProd") == 0 && c == 0;
            snprintf(text, sizeof text,
                     "input x0: f32[%s]\nconst h: f32[1] = full(1)\nx = Add(x0, h)\n"
                     "y = %s(x) %s\noutput y\n", cases[c].shape, ops[i], prod_long ? "axes=[1]" : cases[c].attrs);
            if (prod_long) snprintf(text, sizeof text,
                                    "input x0: f32[N, 40]\nconst h: f32[1] = full(1)\nx = Add(x0, h)\n"
                                    "y = ReduceProd(x) axes=[1]\noutput y\n");
            check(TOL);
        }
    /* Every axis, the batch's as well; along N alone. */
    snprintf(text, sizeof text, "input x: f32[N, 3, 100]\ny = ReduceMean(x)\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text, "input x: f32[N, 3, 5]\ny = ReduceSum(x) axes=[0] keepdims=0\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text, "input x: f32[300, 2]\ny = ReduceMax(x) axes=[0] keepdims=0\noutput y\n");
    check(TOL);
}

/* LayerNorm over the last axis and over the last two, rows shorter and
 * longer than a work-group, with and without bias, scale of the whole
 * normalised shape or of its trailing dim; in place over the input's sum. */
static void test_layer_norm(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x0: f32[N, 7, 33]\nconst k: f32[1] = full(3)\nx = Mul(x0, k)\n"
             "const g: f32[33] = random(2, 0.5, 1.5)\nconst b: f32[33] = random(3)\n"
             "y = LayerNorm(x, g, b)\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x0: f32[N, 1000]\nconst k: f32[1] = full(5)\nx = Add(x0, k)\n"
             "const g: f32[1000] = random(2, 0.5, 1.5)\ny = LayerNorm(x, g) epsilon=0.001\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 4, 5]\nconst g: f32[4, 5] = random(2, 0.5, 1.5)\nconst b: f32[5] = random(3)\n"
             "y = LayerNorm(x, g, b) axis=2\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[2, 3, 4]\nconst g: f32[1] = full(2)\nconst b: f32[1] = full(1)\n"
             "y = LayerNorm(x, g, b) axis=0\noutput y\n");
    check(TOL);
    /* Many short rows, which CPU devices give an item each: 192 rows
     * (ConvNeXt's NHWC LayerNorm at batch 3, once only its first 128 were
     * written) and more rows than any work-group holds. */
    snprintf(text, sizeof text,
             "input x: f32[3, 8, 8, 16]\nconst g: f32[16] = random(2, 0.5, 1.5)\nconst b: f32[16] = random(3)\n"
             "y = LayerNorm(x, g, b)\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[9000, 5]\nconst g: f32[5] = random(2, 0.5, 1.5)\ny = LayerNorm(x, g)\noutput y\n");
    check(TOL);
}

/* The residual input (x + r normalised), written directly and made by
 * fuse-layernorm at -O2 from a post-norm Add: then one launch. */
static void test_layer_norm_residual(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, 5, 300]\ninput r: f32[N, 5, 300]\n"
             "const g: f32[300] = random(2, 0.5, 1.5)\nconst b: f32[300] = random(3)\n"
             "y = LayerNorm(x, g, b, r)\noutput y\n");
    check(TOL);
    /* Rows enough for an item each on CPUs, read in float8s with a tail of
     * 3 (kernels/layernorm.cl's ROW_VEC8). */
    snprintf(text, sizeof text,
             "input x: f32[N, 40, 27]\ninput r: f32[N, 40, 27]\n"
             "const g: f32[27] = random(2, 0.5, 1.5)\nconst b: f32[27] = random(3)\n"
             "y = LayerNorm(x, g, b, r)\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 5, 24]\ninput r: f32[N, 5, 24]\nconst g: f32[5, 24] = random(2, 0.5, 1.5)\n"
             "s = Add(x, r)\ny = LayerNorm(s, g) axis=1\noutput y\n");
    check(TOL);
    int launches = test_launches_at(text, 2);
    if (launches != 1) fail_msg("Add + LayerNorm: %d launches at -O2, expected 1", launches);
}

static void test_log_softmax(void **state)
{
    (void)state;
    for (int axis = 1; axis <= 2; axis++) {
        snprintf(text, sizeof text,
                 "input x0: f32[N, 17, 3]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\n"
                 "y = LogSoftmax(x) axis=%d\noutput y\n", axis);
        check(TOL);
    }
    /* rows along the last axis in float8s and a tail of 5 (ROW_VEC8) */
    snprintf(text, sizeof text,
             "input x0: f32[N, 4, 45]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\ny = LogSoftmax(x)\noutput y\n");
    check(TOL);
    /* the work-group kernel */
    snprintf(text, sizeof text,
             "input x0: f32[N, 1001]\nconst k: f32[1] = full(8)\nx = Mul(x0, k)\ny = LogSoftmax(x)\noutput y\n");
    check(TOL);
}

/* The graph in `text` with its Attention nodes run each way: the fused
 * kernel, the unfused launches, as measurement picks (selection), and the
 * device class's default. */
static void check_attention_ways(double tol)
{
    static const char *const ways[] = {"fused", "unfused", "measure", NULL};
    for (size_t i = 0; i < sizeof ways / sizeof *ways; i++) {
        if (ways[i]) setenv("CLGRAPH_ATTENTION", ways[i], 1);
        else unsetenv("CLGRAPH_ATTENTION");
        check(tol);
    }
    unsetenv("CLGRAPH_ATTENTION");
}

/* Attention as one node (kernels/attention.cl) against the reference:
 * Sq != Sk, head sizes 8 to 64 and value sizes apart from them, sequence
 * lengths 1, 7, 33 and 129 (the kernel's tiles and query blocks end part
 * way), with and without a mask, one and two batch dims, and batch dims
 * that broadcast (one launch per outer batch index). */
static void test_attention(void **state)
{
    (void)state;
    static const struct { int sq, sk, d, dv; bool mask; } cases[] = {
        {1, 7, 8, 8, true},      {7, 33, 16, 16, false}, {33, 1, 64, 64, true}, {129, 33, 16, 8, true},
        {33, 129, 64, 32, false}, {129, 129, 8, 8, true}, {7, 7, 128, 128, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int sq = cases[i].sq, sk = cases[i].sk, d = cases[i].d, dv = cases[i].dv;
        snprintf(text, sizeof text,
                 "input q: f32[N, %d, %d]\ninput kt: f32[N, %d, %d]\ninput v: f32[N, %d, %d]\n"
                 "const m: f32[%d, %d] = random(3, -4, 0)\n"
                 "y = Attention(q, kt, v%s) scale=0.7\noutput y\n",
                 sq, d, d, sk, sk, dv, sq, sk, cases[i].mask ? ", m" : "");
        check_attention_ways(TOL);
    }
    /* Two batch dims; KT shared across N (stride 0: the batch walk does
     * not merge), a mask per head. */
    snprintf(text, sizeof text,
             "input q: f32[N, 2, 33, 16]\ninput kt: f32[2, 16, 7]\ninput v: f32[N, 2, 7, 16]\n"
             "input m: f32[2, 1, 7]\ny = Attention(q, kt, v, m) scale=0.25\noutput y\n");
    check_attention_ways(TOL);
    /* A causal mask: rows whose first keys are -inf. */
    snprintf(text, sizeof text,
             "input q: f32[N, 4, 8]\ninput kt: f32[N, 8, 4]\ninput v: f32[N, 4, 8]\n"
             "const m: f32[4, 4] = [0, -inf, -inf, -inf, 0, 0, -inf, -inf, 0, 0, 0, -inf, 0, 0, 0, 0]\n"
             "y = Attention(q, kt, v, m)\noutput y\n");
    check_attention_ways(TOL);
    snprintf(text, sizeof text,
             "input q: f32[N, 4, 8]\ninput kt: f32[N, 8, 4]\ninput v: f32[N, 4, 8]\n"
             "const m: f32[4, 4] = [-inf, 0, 0, 0, -inf, -inf, 0, 0, -inf, -inf, -inf, 0, 0, 0, 0, 0]\n"
             "y = Attention(q, kt, v, m)\noutput y\n");
    check_attention_ways(TOL);
}

/* PyTorch's attention block as exported (K here [N, S, D], as the test
 * inputs' batch comes first; PyTorch's is [S, N, D]): -O0 runs it op by op, -O2 fuses
 * it into one Attention launch after K's Transpose; both against the
 * reference of the graph as written (test_check_text), so the two levels
 * agree with each other too. */
static void test_attention_pattern(void **state)
{
    (void)state;
    static const int dims[][3] = {{7, 8, 16}, {33, 16, 16}, {129, 64, 32}};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) {
        int s = dims[i][0], d = dims[i][1], dv = dims[i][2];
        snprintf(text, sizeof text,
                 "input q: f32[N, %d, %d]\ninput k: f32[N, %d, %d]\ninput v: f32[N, %d, %d]\n"
                 "const m: f32[%d, %d] = random(4, -2, 0)\nconst c: f32[1] = full(%.9g)\n"
                 "qs = Div(q, c)\nkt = Transpose(k) perm=[0, 2, 1]\ns = MatMul(qs, kt)\nsm = Add(s, m)\n"
                 "p = Softmax(sm)\ny = MatMul(p, v)\noutput y\n",
                 s, d, s, d, s, dv, s, s, sqrt((double)d));
        check_attention_ways(TOL);
        setenv("CLGRAPH_ATTENTION", "fused", 1);
        int o0 = test_launches_at(text, 0), o2 = test_launches_at(text, 2);
        unsetenv("CLGRAPH_ATTENTION");
        if (o2 != 2) fail_msg("%d launches at -O2 (-O0: %d), expected the Transpose and the Attention:\n%s", o2, o0, text);
        assert_true(o0 > o2);
    }
}

/* Attention reading Q, K and V through strides from one fused projection
 * and writing its heads where the Transpose after it puts them
 * (lower/attention_layout.c): PyTorch's export of multi-head attention,
 * [S, N, 3E] cut into heads by Slice, Reshape and Transpose, with odd
 * sizes (S 7 or 9, 3 heads of 5), as the projection's output and as a
 * graph input, cross attention (K and V from another tensor, Sk != Sq), a
 * mask, each way of running attention, at batches 1, 3 and 17 against the
 * reference. Chains the Attention cannot absorb stay copies: a Slice
 * another node reads too, a reversed Slice. The launches: the copies are
 * gone (unfused: the two products, their two pack_b and the Softmax, plus
 * the Relu and the projection's MatMul). */
static void test_attention_strided(void **state)
{
    (void)state;
    static const char *heads =
        "q = Slice(x) starts=[0] ends=[15] axes=[-1]\n"
        "k = Slice(kv) starts=[%d] ends=[%d] axes=[-1]\n"
        "v = Slice(kv) starts=[%d] ends=[%d] axes=[2]\n"
        "qr = Reshape(q) shape=[0, -1, 5]\nqt = Transpose(qr) perm=[1, 0, 2]\n"
        "kr = Reshape(k) shape=[0, -1, 5]\nkt = Transpose(kr) perm=[1, 2, 0]\n"
        "vr = Reshape(v) shape=[0, -1, 5]\nvt = Transpose(vr) perm=[1, 0, 2]\n"
        "y = Attention(qt, kt, vt%s) scale=0.4\n"
        "yt = Transpose(y) perm=[1, 0, 2]\nyr = Reshape(yt) shape=[0, -1]\nz = Relu(yr)\n";
    char body[1024];
    /* self attention on the projection's output */
    snprintf(body, sizeof body, heads, 15, 30, 30, 45, "");
    snprintf(text, sizeof text,
             "input a: f32[7, N, 6]\nconst w: f32[6, 45] = random(5)\nx = MatMul(a, w)\nkv = Identity(x)\n%soutput z\n",
             body);
    check_attention_ways(TOL);
    setenv("CLGRAPH_ATTENTION", "unfused", 1);
    int o0 = test_launches_at(text, 0);
    setenv("CLGRAPH_ATTENTION_COPIES", "1", 1);
    int copies = test_launches_at(text, 0);
    unsetenv("CLGRAPH_ATTENTION_COPIES");
    unsetenv("CLGRAPH_ATTENTION");
    if (o0 != 7 || copies != 14)
        fail_msg("%d launches at -O0 (%d with the copies), expected 7 (14):\n%s", o0, copies, text);
    /* cross attention from graph inputs, Sk = 9, with a mask */
    snprintf(body, sizeof body, heads, 0, 15, 15, 30, ", m");
    snprintf(text, sizeof text,
             "input x: f32[7, N, 15]\ninput kv: f32[9, N, 30]\nconst m: f32[7, 9] = random(3, -4, 0)\n%soutput z\n",
             body);
    check_attention_ways(TOL);
    /* K's Slice also read by another node: its chain stays copies (Q's and
     * V's are absorbed) */
    snprintf(body, sizeof body, heads, 15, 30, 30, 45, "");
    snprintf(text, sizeof text,
             "input x: f32[7, N, 45]\nkv = Identity(x)\n%sk2 = Sigmoid(k)\noutput z\noutput k2\n", body);
    check_attention_ways(TOL);
    /* Q with neither stride 1 and an output whose rows are not
     * contiguous: absorbed, but copied to scratch (and back) for the
     * products */
    snprintf(text, sizeof text,
             "input x: f32[7, 5, N]\ninput kt: f32[N, 5, 9]\ninput v: f32[N, 9, 3]\n"
             "q = Transpose(x) perm=[2, 0, 1]\ny = Attention(q, kt, v) scale=0.4\n"
             "yt = Transpose(y) perm=[2, 1, 0]\noutput yt\n");
    check_attention_ways(TOL);
    /* a reversed V (negative step) is no layout the products take */
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 9, 5]\ninput kt: f32[N, 3, 5, 9]\n"
             "v = Slice(x) starts=[-1] ends=[-100] steps=[-1] axes=[2]\n"
             "q = Transpose(x) perm=[0, 1, 2, 3]\n"
             "y = Attention(q, kt, v) scale=0.4\nyt = Transpose(y) perm=[0, 2, 1, 3]\noutput yt\n");
    check_attention_ways(TOL);
}

/* A head larger than the kernel takes (fuse-attention never makes one, a
 * text may) runs unfused; forced to the kernel it is refused when the plan
 * is made, naming the node. */
static void test_attention_head_too_large(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input q: f32[N, 5, 129]\ninput kt: f32[N, 129, 3]\ninput v: f32[N, 3, 130]\n"
             "y = Attention(q, kt, v) scale=0.1\noutput y\n");
    check(TOL);
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input q: f32[2, 129]\ninput kt: f32[129, 3]\ninput v: f32[3, 4]\n"
                              "y = Attention(q, kt, v)\noutput y\n");
    clg_model *m = NULL;
    setenv("CLGRAPH_ATTENTION", "fused", 1);
    /* A graph without symbolic sizes is planned when the model is made. */
    clg_status s = clg_model_create(&m, ctx, g);
    unsetenv("CLGRAPH_ATTENTION");
    assert_int_equal(s, CLG_ERR_UNSUPPORTED);
    const char *msg = clg_model_errmsg(m);
    if (!strstr(msg, "node y (Attention)") || !strstr(msg, "at most 128")) fail_msg("message: %s", msg);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* The pooling cases of test_pools, with the way set in CLGRAPH_POOL. */
static void pool_cases(void)
{
    static const char *attrs[] = {
        "kernel_shape=[2, 2] strides=[2, 2]",
        "kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]",
        "kernel_shape=[3, 3] strides=[2, 2] ceil_mode=1",
        "kernel_shape=[3, 2] pads=[1, 0, 0, 1]",
        /* asymmetric on both axes, with ceil_mode's partial last window */
        "kernel_shape=[3, 3] strides=[2, 2] pads=[0, 2, 2, 1] ceil_mode=1",
    };
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "input x: f32[N, 3, 17, 13]\ny = MaxPool(x) %s\noutput y\n", attrs[i]);
        check(TOL);
        snprintf(text, sizeof text, "input x: f32[N, 3, 17, 13]\ny = AveragePool(x) %s\noutput y\n", attrs[i]);
        check(TOL);
        snprintf(text, sizeof text,
                 "input x: f32[N, 3, 17, 13]\ny = AveragePool(x) %s count_include_pad=1\noutput y\n", attrs[i]);
        check(TOL);
    }
    snprintf(text, sizeof text, "input x: f32[N, 3, 17, 13]\ny = MaxPool(x) kernel_shape=[3, 3] dilations=[2, 2]\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text, "input x: f32[N, 17, 7, 3]\ny = GlobalAveragePool(x)\noutput y\n");
    check(TOL);
    /* Planes read in float8s: 12 x 25 = 300 elements, one whole block of
     * 256 and a part block, then a tail of 4. */
    snprintf(text, sizeof text, "input x: f32[N, 5, 12, 25]\ny = GlobalAveragePool(x)\noutput y\n");
    check(TOL);
    /* The work-group blocks of kernels/pool.cl: rows of more than 64
     * outputs (75), a 1 x 1 output per plane (the group then spans planes,
     * 37 x N of them, padded), overlapping windows inside the input (the
     * unchecked INSIDE path) and dilation with padding and ceil_mode (the
     * checked one). */
    static const struct { const char *input, *attrs; } blocks[] = {
        {"N, 5, 9, 150", "kernel_shape=[2, 2] strides=[2, 2]"},
        {"N, 37, 5, 4", "kernel_shape=[5, 4]"},
        {"N, 3, 11, 9", "kernel_shape=[3, 2]"},
        {"N, 2, 19, 23", "kernel_shape=[2, 3] strides=[3, 2] pads=[1, 1, 0, 2] ceil_mode=1"},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) {
        snprintf(text, sizeof text, "input x: f32[%s]\ny = MaxPool(x) %s\noutput y\n", blocks[i].input,
                 blocks[i].attrs);
        check(TOL);
        snprintf(text, sizeof text, "input x: f32[%s]\ny = AveragePool(x) %s\noutput y\n", blocks[i].input,
                 blocks[i].attrs);
        check(TOL);
    }
    snprintf(text, sizeof text,
             "input x: f32[N, 2, 19, 23]\ny = MaxPool(x) kernel_shape=[2, 3] dilations=[2, 3] pads=[1, 2, 2, 0] "
             "ceil_mode=1\noutput y\n");
    check(TOL);
}

/* Pooling against the reference, the device's way and the window kernels
 * forced (on CPUs the rows kernels take most of these). */
static void test_pools(void **state)
{
    (void)state;
    unsetenv("CLGRAPH_POOL");
    pool_cases();
    setenv("CLGRAPH_POOL", "windows", 1);
    pool_cases();
    unsetenv("CLGRAPH_POOL");
}

/* MaxPool's and AveragePool's rows of float16 vectors (kernels/pool.cl
 * maxpool_rows and averagepool_rows, on CPUs: rows of up to 128 outputs)
 * against the reference, with the device's choice and with each way forced
 * (CLGRAPH_POOL), AveragePool with and without count_include_pad where it
 * takes the window (no dilation): ResNet's 3x3 stride 2
 * (strips of 8 rows, odd and even private rows), 37 outputs (a short last
 * vector), 2x2 stride 2, ceil_mode's overhang with asymmetric pads,
 * dilation with padding, an odd column dilation at stride 2, 5x5 windows,
 * rows narrower than a vector; then -inf and NaN inputs: padding never wins, a window of -inf gives
 * -FLT_MAX as the window kernel does, NaN propagates. */
static void test_pool_rows(void **state)
{
    (void)state;
    static const struct { const char *input, *attrs; } cases[] = {
        {"N, 3, 32, 32", "kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]"},
        {"N, 2, 37, 37", "kernel_shape=[3, 3] pads=[1, 1, 1, 1]"},
        {"N, 2, 33, 40", "kernel_shape=[2, 2] strides=[2, 2]"},
        {"N, 2, 35, 35", "kernel_shape=[3, 3] strides=[2, 2] pads=[0, 2, 2, 1] ceil_mode=1"},
        {"N, 2, 30, 40", "kernel_shape=[3, 3] dilations=[2, 2] pads=[2, 2, 2, 2]"},
        {"N, 2, 9, 41", "kernel_shape=[2, 2] strides=[1, 2] dilations=[1, 3] pads=[0, 1, 1, 1]"},
        {"N, 1, 20, 18", "kernel_shape=[5, 5] pads=[2, 2, 2, 2]"},
        /* rows narrower than a vector: GoogLeNet's padded 3x3 pools with
         * ceil_mode, a 2x2 stride 2 over 8x8, a 1-wide plane */
        {"N, 5, 12, 12", "kernel_shape=[3, 3] pads=[1, 1, 1, 1] ceil_mode=1"},
        {"N, 7, 3, 3", "kernel_shape=[3, 3] pads=[1, 1, 1, 1] ceil_mode=1"},
        {"N, 6, 13, 13", "kernel_shape=[3, 3] strides=[2, 2] ceil_mode=1"},
        {"N, 9, 8, 8", "kernel_shape=[2, 2] strides=[2, 2]"},
        {"N, 2, 6, 1", "kernel_shape=[2, 1]"},
        /* Inception-v3's last AveragePools: 1x1 planes, all padding */
        {"N, 4, 1, 1", "kernel_shape=[3, 3] pads=[1, 1, 1, 1]"},
        /* 19 input rows a window: the window kernel */
        {"N, 2, 22, 20", "kernel_shape=[7, 3] dilations=[3, 1] pads=[3, 1, 3, 1]"},
        {"N, 2, 24, 10", "kernel_shape=[19, 2] strides=[2, 1] pads=[1, 0, 1, 1]"},
    };
    static const char *const ways[] = {NULL, "rows", "windows"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
            if (ways[w]) setenv("CLGRAPH_POOL", ways[w], 1);
            else unsetenv("CLGRAPH_POOL");
            snprintf(text, sizeof text, "input x: f32[%s]\ny = MaxPool(x) %s\noutput y\n", cases[i].input,
                     cases[i].attrs);
            check(TOL);
            if (strstr(cases[i].attrs, "dilations")) continue;
            for (int cip = 0; cip < 2; cip++) {
                snprintf(text, sizeof text, "input x: f32[%s]\ny = AveragePool(x) %s count_include_pad=%d\noutput y\n",
                         cases[i].input, cases[i].attrs, cip);
                check(TOL);
            }
        }
    clg_graph *g = test_parse("input x: f32[1, 2, 4, 34]\ny = MaxPool(x) kernel_shape=[3, 3] strides=[2, 2] "
                              "pads=[1, 1, 1, 1]\noutput y\n");
    float x[272], ref[2 * 2 * 17], dev[2 * 2 * 17];
    for (int k = 0; k < 272; k++) x[k] = (float)((k * 13) % 17) - 8.0f;
    for (int k = 0; k < 136; k++) x[k] = -INFINITY; /* channel 0: all -inf */
    x[136 + 5] = NAN;                                /* channel 1: one NaN */
    clg_tensor in = {x, 4, {1, 2, 4, 34}, CLG_DTYPE_F32}, out = {ref, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_OK);
    clg_context *ctx = test_context();
    for (size_t w = 0; ctx && w < sizeof ways / sizeof *ways; w++) {
        if (ways[w]) setenv("CLGRAPH_POOL", ways[w], 1);
        else unsetenv("CLGRAPH_POOL");
        clg_model *m = NULL;
        if (clg_model_create(&m, ctx, g)) fail_msg("create: %s", clg_model_errmsg(m));
        clg_tensor outd = {dev, 0, {0}, CLG_DTYPE_F32};
        if (clg_model_run(m, &in, 1, &outd, 1)) fail_msg("run: %s", clg_model_errmsg(m));
        for (int k = 0; k < 68; k++) {
            if (k < 34) assert_true(ref[k] == -FLT_MAX);
            if (isnan(ref[k])) assert_true(isnan(dev[k]));
            else if (dev[k] != ref[k]) fail_msg("%s: element %d: %g, want %g", ways[w] ? ways[w] : "default", k, dev[k], ref[k]);
        }
        assert_true(isnan(ref[34 + 2]) && isnan(ref[34 + 3]));
        clg_model_destroy(m);
    }
    unsetenv("CLGRAPH_POOL");
    clg_graph_destroy(g);
}

/* Pad in every mode on ranks 1 to 5, with negative pads (crops) and pads
 * on the innermost and outer dims. */
static void test_pad(void **state)
{
    (void)state;
    static const struct { const char *shape, *pads; } cases[] = {
        {"[N, 127]", "[0, 3, 0, 5]"},
        {"[N, 3, 17]", "[0, 1, -2, 0, 2, 4]"},
        {"[N, 3, 17, 13]", "[0, 0, 1, 2, 0, 0, 3, 0]"},
        {"[N, 3, 17, 13]", "[0, 2, -1, 1, 0, 1, 2, -3]"},
        {"[N, 2, 3, 4, 5]", "[0, 1, 2, 3, 4, 0, 1, 2, 1, 0]"},
        {"[N, 2, 3, 4, 5]", "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"},
    };
    static const char *modes[] = {"value=-1.5", "mode=\"reflect\"", "mode=\"edge\""};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int m = 0; m < 3; m++) {
            snprintf(text, sizeof text, "input x: f32%s\ny = Pad(x) pads=%s %s\noutput y\n", cases[i].shape,
                     cases[i].pads, modes[m]);
            check(TOL);
        }
    }
    /* Rank 1 has no batch. */
    snprintf(text, sizeof text, "input x: f32[17]\ny = Pad(x) pads=[3, -2] mode=\"reflect\"\noutput y\n");
    check(TOL);
    /* Integer and bool data keep their type, exactly. */
    static const char *typed[] = {"i32[N, 3, 17]", "i64[N, 3, 17]", "bool[N, 3, 17]"};
    static const char *typed_modes[] = {"value=-7", "mode=\"reflect\"", "mode=\"edge\""};
    for (int t = 0; t < 3; t++)
        for (int m = 0; m < 3; m++) {
            snprintf(text, sizeof text, "input x: %s\ny = Pad(x) pads=[0, 1, -2, 0, 2, 4] %s\noutput y\n", typed[t],
                     t == 2 && m == 0 ? "value=1" : typed_modes[m]);
            check(0.0);
        }
}

/* A zero Pad before a window op: at -O2 fold-pad makes it the op's own
 * (asymmetric) padding where that is exact; -O0 runs the Pad. Both match
 * the reference of the graph as written. */
static void test_pad_then_window(void **state)
{
    (void)state;
    static const char *tails[] = {
        "const w: f32[5, 3, 3, 3] = random(4, -0.5, 0.5)\ny = Conv2D(p, w) strides=[2, 2]",
        "const w: f32[5, 3, 3, 3] = random(4, -0.5, 0.5)\ny = Conv2D(p, w) strides=[2, 2] pads=[1, 0, 0, 1]",
        "const w: f32[3, 1, 3, 3] = random(4, -0.5, 0.5)\ny = Conv2D(p, w) group=3 dilations=[2, 2]",
        "y = AveragePool(p) kernel_shape=[3, 3] strides=[2, 2]",
        "y = AveragePool(p) kernel_shape=[3, 3] strides=[2, 2] ceil_mode=1",
        "y = AveragePool(p) kernel_shape=[3, 3] pads=[1, 0, 0, 1] count_include_pad=1",
        "y = AveragePool(p) kernel_shape=[3, 3] pads=[1, 0, 0, 1]", /* not folded */
        "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]",
    };
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        for (int relu = 0; relu < 2; relu++) {
            snprintf(text, sizeof text,
                     "input x: f32[N, 3, 17, 13]\n%s\np = Pad(r) pads=[0, 0, 1, 0, 0, 0, 2, 1]\n%s\noutput y\n",
                     relu ? "r = Relu(x)" : "r = Identity(x)", tails[i]);
            check(TOL);
        }
    }
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 17, 13]\np = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] value=-inf\n"
             "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]\noutput y\n");
    check(TOL);
}

static void test_shape_ops(void **state)
{
    (void)state;
    static const char *bodies[] = {
        "y = Flatten(x)",
        "y = Reshape(x) shape=[0, -1, 3]",
        "y = Transpose(x) perm=[0, 3, 1, 2]",
        "y = Transpose(x) perm=[0, 2, 1, 3]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        snprintf(text, sizeof text, "input x: f32[N, 5, 7, 3]\n%s\nz = Relu(y)\noutput z\n", bodies[i]);
        check(TOL);
    }
    snprintf(text, sizeof text,
             "input a: f32[N, 3, 5]\ninput b: f32[N, 17, 5]\nconst c: f32[1, 1, 5] = random(2)\n"
             "cb = Add(b, c)\ny = Concat(a, cb, a) axis=1\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input a: f32[N, 3, 5]\ninput b: f32[N, 3, 7]\ny = Concat(a, b) axis=-1\noutput y\n");
    check(TOL);
}


/* A Transpose that moves only dims of 1 runs no step: its value is its
 * input's memory (memory_plan.c, clg_value_is_view). At batch 1 the first
 * graph's Transposes of N are such views (of an input, of an intermediate
 * read again after them, of a graph output), at batches 3 and 17 copies; a
 * dim of 1 that is not N makes one at every batch; a view of a constant at
 * -O0. The Sigmoid must not write over a while t (a view of a) is still to
 * be read. */
static void test_transpose_views(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, 5, 3]\n"
             "xt = Transpose(x) perm=[1, 0, 2]\n"
             "a = Relu(xt)\n"
             "t = Transpose(a) perm=[1, 0, 2]\n"
             "b = Sigmoid(a)\n"
             "c = Add(t, t)\n"
             "output b\noutput c\noutput t\noutput xt\n");
    check(TOL);
    /* At batch 1 only the Relu, the Sigmoid and the Add run (-O0: no
     * fusion); copies for the two Transposes would make 5. */
    int o0 = test_launches_at(text, 0);
    if (o0 != 3) fail_msg("%d launches at -O0 and batch 1, expected 3 (the Transposes views):\n%s", o0, text);
    snprintf(text, sizeof text,
             "input x: f32[N, 1, 6]\n"
             "const w: f32[1, 6] = random(3)\n"
             "t = Transpose(x) perm=[0, 2, 1]\n"
             "wt = Transpose(w) perm=[1, 0]\n"
             "r = Reshape(t) shape=[0, 6]\n"
             "y = MatMul(r, wt)\n"
             "z = Transpose(y) perm=[1, 0]\n"
             "output z\noutput t\n");
    check(TOL);
}

/* Ranks 6 to 8 (CLG_MAX_RANK): swin's window partition (a 6-D Reshape and
 * Transpose), a Reshape to 7-D and back, broadcasting at rank 8, the
 * movement ops, Pad, the reductions, Gather and GatherElements at rank 6
 * and up, each checked against the reference executor. The copies walk
 * more dims than the grid's three (launches); Pad's kernel takes 8 axes
 * (neighbours without pads merged), reduce_strided four kept and four
 * reduced groups (rank 8 alternating). */
static void test_high_rank(void **state)
{
    (void)state;
    static const struct { const char *input, *body; } cases[] = {
        /* swin_t's window partition and its reverse: [B, H/w, w, W/w, w, C] */
        {"f32[N, 14, 21, 5]", "r = Reshape(x) shape=[0, 2, 7, 3, 7, 5]\nt = Transpose(r) perm=[0, 1, 3, 2, 4, 5]\n"
                              "y = Reshape(t) shape=[-1, 7, 7, 5]"},
        {"f32[2, 3, 4, 5, 2, 3]", "y = Transpose(x) perm=[5, 3, 1, 4, 0, 2]"},
        {"f32[N, 2, 3, 2, 3, 2, 3]", "y = Transpose(x) perm=[0, 6, 5, 4, 3, 2, 1]"},
        {"f32[2, 3, 2, 3, 2, 3, 2, 2]", "y = Transpose(x) perm=[7, 0, 6, 1, 5, 2, 4, 3]"},
        /* Reshape to 7-D and back, through a Relu at rank 7 */
        {"f32[N, 12, 10]", "r = Reshape(x) shape=[0, 2, 2, 3, 2, 5, 1]\nq = Relu(r)\ny = Reshape(q) shape=[0, 120]"},
        /* Slice at rank 6 (negative steps, default axes) and rank 8 */
        {"f32[N, 4, 3, 5, 2, 6]", "y = Slice(x) starts=[3, 1, 4, 5] ends=[-5, 3, 0, 0] axes=[1, 2, 3, 5] "
                                  "steps=[-1, 1, -2, -2]"},
        {"f32[2, 3, 2, 3, 2, 3, 2, 4]", "y = Slice(x) starts=[1, 1, 0, 1] ends=[2, 3, 1, 4] axes=[0, 3, 4, 7]"},
        /* Expand and Tile at rank 6 and 7 */
        {"f32[N, 2, 1, 3, 1, 2]", "y = Expand(x) shape=[1, 4, 1, 5, 1]"},
        {"f32[3, 1]", "y = Expand(x) shape=[2, 1, 3, 2, 4, 3, 5]"},
        {"f32[N, 2, 3, 2, 2, 3]", "y = Tile(x) repeats=[1, 2, 2, 3, 1, 2]"},
        {"f32[2, 1, 2, 1, 2, 1, 2]", "y = Tile(x) repeats=[1, 3, 1, 2, 1, 2, 2]"},
        /* Pad at rank 6 in each mode and at rank 8 with every axis padded
         * (nothing to merge) */
        {"f32[N, 2, 3, 4, 3, 5]", "y = Pad(x) pads=[0, 1, 0, 2, 0, 1, 0, 0, 1, 0, 0, 3] value=-1.5"},
        {"f32[N, 2, 3, 4, 3, 5]", "y = Pad(x) pads=[0, 1, 0, 2, 0, -1, 0, 0, 1, -1, 0, 3] mode=\"reflect\""},
        {"f32[N, 2, 3, 4, 3, 5]", "y = Pad(x) pads=[0, 0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 2] mode=\"edge\""},
        {"f32[2, 3, 2, 3, 2, 3, 2, 3]", "y = Pad(x) pads=[1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 2] "
                                        "value=2"},
        {"f32[2, 3, 2, 3, 2, 3, 2, 3]", "y = Pad(x) pads=[1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 2] "
                                        "mode=\"reflect\""},
        /* Reductions at rank 6 (inner rows and strided) and rank 8 with the
         * axes alternating: four kept and four reduced groups */
        {"f32[N, 2, 3, 4, 3, 5]", "y = ReduceSum(x) axes=[2, 4]"},
        {"f32[N, 2, 3, 4, 3, 5]", "y = ReduceMean(x) axes=[-1] keepdims=0"},
        {"f32[N, 2, 3, 4, 3, 5]", "y = ReduceMax(x) axes=[1, 3, 5]"},
        {"f32[2, 3, 2, 3, 2, 3, 2, 3]", "y = ReduceSum(x) axes=[1, 3, 5, 7]"},
        {"f32[2, 3, 2, 3, 2, 3, 2, 3]", "y = ReduceLogSumExp(x) axes=[0, 2, 4, 6] keepdims=0"},
        /* MatMul with 4 and 6 batch dims (broadcast), Softmax and
         * LayerNorm at rank 7 */
        {"f32[N, 2, 1, 3, 4, 5]", "const w: f32[1, 3, 5, 3] = random(2)\ny = MatMul(x, w)"},
        {"f32[2, 1, 2, 1, 2, 3, 4, 5]", "const w: f32[2, 1, 2, 1, 5, 3] = random(2)\ny = MatMul(x, w)"},
        {"f32[N, 2, 1, 3, 2, 2, 7]", "y = Softmax(x) axis=-1"},
        {"f32[N, 2, 1, 3, 2, 2, 7]", "const s: f32[7] = random(2)\ny = LayerNorm(x, s) axis=-1"},
        /* Gather and GatherElements on 6-D data */
        {"f32[N, 3, 2, 4, 2, 5]", "const i: i64[2, 2] = [3, -1, 0, 2]\ny = Gather(x, i) axis=3"},
        {"f32[N, 3, 2, 4, 2, 5]", "const i: i64[2] = [4, -5]\ny = Gather(x, i) axis=-1"},
        {"f32[N, 3, 2, 4, 2, 5]", "const i: i32[1, 2, 1, 3, 1, 1] = [1, -2, 0, 3, 2, -1]\n"
                                  "y = GatherElements(x, i) axis=3"},
        {"f32[2, 3, 2, 3, 2, 2, 3, 2]", "const i: i64[2, 1, 2, 2, 1, 2, 1, 2] = [0, 1, -1, 2, 1, 0, 2, -3, 0, 0, 1, 1, "
                                        "2, 2, -1, -2, 0, 1, 2, 0, 1, 2, 0, 1, -1, 0, 1, 2, 0, 0, 2, 1]\n"
                                        "y = GatherElements(x, i) axis=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, "input x: %s\n%s\nz = Relu(y)\noutput z\noutput y\n", cases[i].input,
                 cases[i].body);
        check(TOL);
    }
    /* The ops that see a rank-6 input as rows or planes: ArgMax (an i64
     * output), GlobalAveragePool, bilinear Resize, Trilu */
    static const char *const planes[] = {
        "a = ArgMax(x) axis=3\noutput a",
        "y = GlobalAveragePool(x)\noutput y",
        "y = Resize(x) sizes=[5, 7] mode=\"linear\"\noutput y",
        "y = Trilu(x) upper=0\noutput y",
    };
    for (size_t i = 0; i < sizeof planes / sizeof *planes; i++) {
        snprintf(text, sizeof text, "input x: f32[N, 2, 3, 2, 4, 3]\n%s\n", planes[i]);
        check(TOL);
    }
    /* Broadcasting Add and Mul at rank 8, dims alternating between the
     * operands (no merging), and Concat along every axis of a rank-6 tensor */
    snprintf(text, sizeof text,
             "input a: f32[N, 1, 3, 1, 2, 1, 3, 1]\ninput b: f32[2, 1, 2, 1, 3, 1, 2]\n"
             "y = Add(a, b)\nz = Mul(y, a)\noutput z\noutput y\n");
    check(TOL);
    for (int axis = 0; axis < 6; axis++) {
        int64_t a[6] = {2, 2, 3, 2, 1, 3}, b[6] = {2, 2, 3, 2, 1, 3};
        b[axis] = 4;
        snprintf(text, sizeof text,
                 "input a: f32[%lld, %lld, %lld, %lld, %lld, %lld]\n"
                 "input b: f32[%lld, %lld, %lld, %lld, %lld, %lld]\n"
                 "y = Concat(a, b, a) axis=%d\noutput y\n",
                 (long long)a[0], (long long)a[1], (long long)a[2], (long long)a[3], (long long)a[4],
                 (long long)a[5], (long long)b[0], (long long)b[1], (long long)b[2], (long long)b[3],
                 (long long)b[4], (long long)b[5], axis - 6);
        check(TOL);
    }
}

/* Gather on every axis (negative and 2-D indices, a gathered last axis),
 * embedding lookups of int64 and int32 ids at several table widths (the
 * ids the check generates are in [-2, 2]), Cast in every direction, and
 * integer outputs read back into integer buffers. */
static void test_gather_and_cast(void **state)
{
    (void)state;
    static const char *gathers[] = {
        "const i: i64[3] = [0, -1, 0]\ny = Gather(x, i)", /* along N: valid at any batch */
        "const i: i64[2, 3] = [0, 6, -7, 3, 3, 1]\ny = Gather(x, i) axis=1",
        "const i: i32[1] = [2]\ny = Gather(x, i) axis=2",
        "const i: i64[4] = [4, 0, -1, 2]\ny = Gather(x, i) axis=-1",
    };
    for (size_t i = 0; i < sizeof gathers / sizeof *gathers; i++) {
        snprintf(text, sizeof text, "input x: f32[N, 7, 3, 5]\n%s\noutput y\n", gathers[i]);
        check(0);
        /* of a computed value, and feeding one */
        snprintf(text, sizeof text, "input x0: f32[N, 7, 3, 5]\nx = Relu(x0)\n%s\nz = Sigmoid(y)\noutput z\n",
                 gathers[i]);
        check(TOL);
    }
    for (int s = 0; s < N_SIZES; s++) {
        snprintf(text, sizeof text,
                 "input ids: i64[N, 9]\nconst table: f32[5, %d] = random(3)\nemb = Gather(table, ids)\n"
                 "const w: f32[%d, 4] = random(4)\ny = MatMul(emb, w)\noutput y\noutput emb\n",
                 sizes[s], sizes[s]);
        check(TOL);
        snprintf(text, sizeof text,
                 "input ids: i32[N]\nconst table: f32[3, %d] = random(5)\nemb = Gather(table, ids)\noutput emb\n",
                 sizes[s]);
        check(0);
    }
    /* Integer data gathered stays integer and comes back as int64. */
    snprintf(text, sizeof text,
             "input ids: i64[N, 4]\nconst pos: i64[3, 2] = [7, -8, 9, 16777216, 0, -1]\ny = Gather(pos, ids)\n"
             "output y\n");
    check(0);
    /* GatherElements along each axis of a batch input, indices computed by
     * a Cast of an input (so all of [-2, 2] occur) or constant. */
    for (int axis = 1; axis < 3; axis++) {
        snprintf(text, sizeof text,
                 "input x: f32[N, 5, 4]\ninput i: i64[N, 3, 4]\ny = GatherElements(x, i) axis=%d\noutput y\n",
                 axis);
        check(0);
    }
    snprintf(text, sizeof text,
             "input x: f32[N, 5, 17]\nconst i: i32[1, 2, 1] = [4, -5]\ny = GatherElements(x, i) axis=-2\n"
             "z = Relu(y)\noutput z\n");
    check(0);
    snprintf(text, sizeof text,
             "input x: f32[N, 17]\nk = Mul(x, x)\nt = Cast(x) to=\"i64\"\nb = Cast(k) to=\"bool\"\n"
             "h = Cast(b) to=\"i32\"\nf = Cast(t) to=\"f32\"\nm = Cast(x) to=\"f32\"\noutput t\noutput b\noutput h\n"
             "output f\noutput m\n");
    check(0);
    snprintf(text, sizeof text,
             "input m: bool[N, 5]\ninput ids: i32[N, 5]\nf = Cast(m) to=\"f32\"\ni = Cast(ids) to=\"i64\"\n"
             "j = Cast(ids) to=\"bool\"\noutput f\noutput i\noutput j\n");
    check(0);
}

/* An index out of range fails the run naming the node, on the device (the
 * kernel clamps it and raises the plan's index flag, kernels/gather.cl) as
 * on the reference executor (which also names the index), and the next
 * run with good indices succeeds; a caller's integer that a float would not
 * hold exactly, or a tensor of the wrong dtype, is refused before anything
 * runs, naming the input. */
static void test_gather_device_errors(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input ids: i64[N]\nconst t: f32[3, 2] = [0, 1, 10, 11, 20, 21]\n"
                              "y = Gather(t, ids)\nc = Cast(y) to=\"i32\"\noutput y\noutput c\n");
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    int64_t ids[4] = {2, -1, 1, -3};
    float y[8];
    int32_t c[8];
    clg_tensor in = {(float *)ids, 1, {4}, CLG_DTYPE_I64};
    clg_tensor out[2] = {{y, 0, {0}, CLG_DTYPE_F32}, {(float *)c, 0, {0}, CLG_DTYPE_I32}};
    if (clg_model_run(m, &in, 1, out, 2) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    /* rows 2, 2 (-1 is the last), 1, 0 (-3) */
    const float want[8] = {20, 21, 20, 21, 10, 11, 0, 1};
    for (int k = 0; k < 8; k++) {
        assert_true(y[k] == want[k]);
        assert_int_equal(c[k], (int32_t)want[k]);
    }
    const int64_t bad[][4] = {{2, -1, 3, 0}, {-4, 0, 0, 0}, {0, 0, 0, 16777216}};
    for (int b = 0; b < 3; b++) {
        memcpy(ids, bad[b], sizeof ids);
        assert_int_equal(clg_model_run(m, &in, 1, out, 2), CLG_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(clg_model_errmsg(m), "node y (Gather): an index is out of range"));
        assert_int_equal(clg_graph_run_reference(g, &in, 1, out, 2), CLG_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(clg_graph_errmsg(g), "node y (Gather): index "));
    }
    ids[0] = 0;
    ids[3] = 1;
    if (clg_model_run(m, &in, 1, out, 2) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    assert_true(y[6] == 10 && y[0] == 0);

    ids[2] = -16777217;
    assert_int_equal(clg_model_run(m, &in, 1, out, 2), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "input ids: element 2 is -16777217, past 2^24 in magnitude"));
    ids[2] = 0;
    in.dtype = CLG_DTYPE_F32;
    assert_int_equal(clg_model_run(m, &in, 1, out, 2), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "input ids: the graph declares i64, the tensor is f32"));
    in.dtype = CLG_DTYPE_I64;
    out[1].dtype = CLG_DTYPE_I64;
    assert_int_equal(clg_model_run(m, &in, 1, out, 2), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "output c: the graph computes i32, the tensor is i64"));
    out[1].dtype = CLG_DTYPE_I32;
    if (clg_model_run(m, &in, 1, out, 2) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    assert_int_equal(c[4], 0);
    clg_model_destroy(m);
    clg_graph_destroy(g);

    /* GatherElements raises the same flag, naming its node. */
    g = test_parse("input x: f32[N, 3]\ninput i: i64[N, 2]\nge = GatherElements(x, i) axis=1\noutput ge\n");
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    float xs[3] = {1, 2, 3}, ys[2];
    int64_t is[2] = {-3, 2};
    clg_tensor gin[2] = {{xs, 2, {1, 3}, CLG_DTYPE_F32}, {(float *)is, 2, {1, 2}, CLG_DTYPE_I64}};
    clg_tensor gout = {ys, 0, {0}, CLG_DTYPE_F32};
    if (clg_model_run(m, gin, 2, &gout, 1) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    assert_true(ys[0] == 1 && ys[1] == 3);
    is[1] = 3;
    assert_int_equal(clg_model_run(m, gin, 2, &gout, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "node ge (GatherElements): an index is out of range"));
    /* The second input refused after the first one's write is queued: the
     * run still opens its gate and waits (it would hang otherwise), and the
     * next run is good. */
    is[1] = 16777217;
    assert_int_equal(clg_model_run(m, gin, 2, &gout, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_model_errmsg(m), "input i: element 1 is 16777217"));
    is[1] = -1;
    if (clg_model_run(m, gin, 2, &gout, 1) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    assert_true(ys[0] == 1 && ys[1] == 3);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* A model converts integer inputs and outputs through host buffers it keeps
 * between runs and grows when a batch needs more: one model run at batches
 * 1, 17, 3, 1 and 17 again, with other ids each time, matches the
 * reference every time (a buffer kept too small or stale would not). */
static void test_integer_buffers_across_sizes(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input ids: i64[N, 3]\ninput x: f32[N, 2]\nconst t: f32[5, 2] = random(9)\n"
                              "e = Gather(t, ids)\nc = Cast(ids) to=\"i32\"\ns = ReduceSum(e) axes=[1] keepdims=0\n"
                              "y = Add(s, x)\noutput c\noutput y\n");
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    static const int64_t batches[] = {1, 17, 3, 1, 17};
    int64_t ids[17 * 3];
    float x[17 * 2], y[17 * 2], y_ref[17 * 2];
    int32_t c[17 * 3], c_ref[17 * 3];
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        int64_t n = batches[b];
        for (int k = 0; k < n * 3; k++) ids[k] = (int64_t)((k * 7 + b * 3) % 9) - 4; /* [-4, 4] */
        for (int k = 0; k < n * 2; k++) x[k] = (float)(k + (int)b) * 0.25f;
        clg_tensor in[2] = {{(float *)ids, 2, {n, 3}, CLG_DTYPE_I64}, {x, 2, {n, 2}, CLG_DTYPE_F32}};
        clg_tensor out[2] = {{(float *)c, 0, {0}, CLG_DTYPE_I32}, {y, 0, {0}, CLG_DTYPE_F32}};
        clg_tensor ref[2] = {{(float *)c_ref, 0, {0}, CLG_DTYPE_I32}, {y_ref, 0, {0}, CLG_DTYPE_F32}};
        if (clg_model_run(m, in, 2, out, 2) != CLG_OK) fail_msg("batch %lld: %s", (long long)n, clg_model_errmsg(m));
        if (clg_graph_run_reference(g, in, 2, ref, 2) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
        assert_int_equal(out[1].dims[0], n);
        for (int k = 0; k < n * 3; k++) assert_int_equal(c[k], c_ref[k]);
        for (int k = 0; k < n * 2; k++) assert_float_equal(y[k], y_ref[k], 1e-5);
    }
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* Slice, Expand, Tile, DepthToSpace, SpaceToDepth, and Transpose and
 * Concat at every rank up to 5: each a strided walk of copy_strided (Tile
 * its -DWRAP variant), with walks that merge to one dim, that keep more
 * than three dims (extra launches), negative steps and broadcast strides. */
static void test_movement(void **state)
{
    (void)state;
    static const struct { const char *input, *body; } cases[] = {
        /* Slice: rank 1 to 5, negative steps, clamped ends, default axes */
        {"f32[17]", "y = Slice(x) starts=[-2] ends=[-4294967296] steps=[-3]"},
        {"f32[17]", "y = Slice(x) starts=[3] ends=[100]"},
        {"f32[N, 19]", "y = Slice(x) starts=[1] ends=[-1] axes=[1] steps=[2]"},
        {"f32[N, 7, 9]", "y = Slice(x) starts=[6, 8] ends=[-100, 0] axes=[1, 2] steps=[-1, -3]"},
        {"f32[N, 6, 7, 5]", "y = Slice(x) starts=[2] ends=[5] axes=[1]"},
        {"f32[N, 6, 7, 5]", "y = Slice(x) starts=[0, 1, -1] ends=[3, 7, -6] axes=[-3, -2, -1] steps=[2, 2, -1]"},
        {"f32[N, 4, 3, 5, 6]", "y = Slice(x) starts=[3, 1, 4] ends=[-5, 3, 0] axes=[1, 2, 4] steps=[-1, 1, -2]"},
        {"f32[3, 4, 3, 5, 6]", "y = Slice(x) starts=[1, 0, 0, 1, -1] ends=[3, 4, 3, 5, -100] steps=[1, 3, 2, 1, -1]"},
        /* Expand: a scalar-like [1], a channel vector, a new leading dim */
        {"f32[N, 1, 5]", "y = Expand(x) shape=[1, 6, 1]"},
        {"f32[N, 3, 1, 1]", "y = Expand(x) shape=[3, 7, 5]"},
        {"f32[3, 1]", "y = Expand(x) shape=[2, 4, 3, 5]"},
        {"f32[1]", "y = Expand(x) shape=[3, 1, 2, 67]"},
        {"f32[N, 2, 1, 3, 1]", "y = Expand(x) shape=[1, 4, 1, 5]"},
        /* Tile: one repeated axis, all of them, rank 5 (launches over the
         * dims beyond the grid's three) */
        {"f32[13]", "y = Tile(x) repeats=[5]"},
        {"f32[N, 3, 7]", "y = Tile(x) repeats=[1, 2, 1]"},
        {"f32[N, 3, 7]", "y = Tile(x) repeats=[1, 3, 2]"},
        {"f32[2, 3, 2, 5, 3]", "y = Tile(x) repeats=[2, 1, 3, 2, 2]"},
        {"f32[N, 2, 3, 2, 2]", "y = Tile(x) repeats=[1, 2, 2, 3, 1]"},
        /* DepthToSpace both modes, SpaceToDepth, blocksize 1 and 3 */
        {"f32[N, 8, 5, 3]", "y = DepthToSpace(x) blocksize=2"},
        {"f32[N, 8, 5, 3]", "y = DepthToSpace(x) blocksize=2 mode=\"CRD\""},
        {"f32[N, 18, 2, 3]", "y = DepthToSpace(x) blocksize=3 mode=\"CRD\""},
        {"f32[N, 9, 2, 3]", "y = DepthToSpace(x) blocksize=3"},
        {"f32[N, 4, 3, 2]", "y = DepthToSpace(x) blocksize=1"},
        {"f32[N, 3, 6, 4]", "y = SpaceToDepth(x) blocksize=2"},
        {"f32[N, 2, 9, 3]", "y = SpaceToDepth(x) blocksize=3"},
        /* Transpose at ranks 1 to 5: ShuffleNet's channel shuffle, a full
         * reversal, a permutation that merges to nothing */
        {"f32[17]", "y = Transpose(x)"},
        {"f32[N, 2, 3, 5, 7]", "y = Transpose(x) perm=[0, 2, 1, 3, 4]"},
        {"f32[2, 3, 4, 5, 6]", "y = Transpose(x)"},
        {"f32[N, 2, 3, 5, 7]", "y = Transpose(x) perm=[0, 4, 2, 3, 1]"},
        {"f32[N, 3, 5]", "y = Transpose(x) perm=[0, 2, 1]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, "input x: %s\n%s\nz = Relu(y)\noutput z\noutput y\n", cases[i].input,
                 cases[i].body);
        check(TOL);
    }
    /* Concat along every axis of a rank-5 tensor, and of a rank 1 */
    for (int axis = 1; axis < 5; axis++) {
        int64_t a[5] = {0, 2, 3, 2, 3}, b[5] = {0, 2, 3, 2, 3};
        b[axis] = 4;
        snprintf(text, sizeof text,
                 "input a: f32[N, %lld, %lld, %lld, %lld]\ninput b: f32[N, %lld, %lld, %lld, %lld]\n"
                 "y = Concat(a, b, a) axis=%d\noutput y\n",
                 (long long)a[1], (long long)a[2], (long long)a[3], (long long)a[4], (long long)b[1],
                 (long long)b[2], (long long)b[3], (long long)b[4], axis - 5);
        check(TOL);
    }
    snprintf(text, sizeof text, "input a: f32[5]\ninput b: f32[3]\ny = Concat(a, b, a) axis=0\noutput y\n");
    check(TOL);
    /* DenseNet's Concat of many inputs (kernels/copy.cl concat8, up to 8
     * per launch): 11 inputs in 2 launches, of three sizes along the
     * axis, computed ones, the same input two or three times; along
     * channels, along the batch and along the last axis; the strided
     * copies (CLGRAPH_CONCAT_COPIES=1, a launch per input) alike */
    static const struct {
        int axis;
        const char *a, *b, *e;
    } many[] = {
        {1, "[N, 2, 4, 5]", "[N, 1, 4, 5]", "[N, 3, 4, 5]"},
        {0, "[2, 3, 4, 5]", "[1, 3, 4, 5]", "[3, 3, 4, 5]"},
        {3, "[N, 3, 4, 2]", "[N, 3, 4, 1]", "[N, 3, 4, 3]"},
    };
    for (int copies = 0; copies < 2; copies++)
        for (size_t i = 0; i < sizeof many / sizeof *many; i++) {
            snprintf(text, sizeof text,
                     "input a: f32%s\ninput b: f32%s\ninput e: f32%s\nr = Relu(a)\ns = Sigmoid(b)\nt = Tanh(a)\n"
                     "y = Concat(a, b, e, r, s, a, t, b, r, e, s) axis=%d\noutput y\n",
                     many[i].a, many[i].b, many[i].e, many[i].axis);
            if (copies) setenv("CLGRAPH_CONCAT_COPIES", "1", 1);
            else unsetenv("CLGRAPH_CONCAT_COPIES");
            check(TOL); /* Sigmoid and Tanh round unlike the reference's */
            /* Relu, Sigmoid and Tanh, then the Concat's */
            int launches = test_launches_at(text, 0);
            if (launches >= 0) assert_int_equal(launches, 3 + (copies ? 11 : 2));
        }
    unsetenv("CLGRAPH_CONCAT_COPIES");
    /* ShuffleNet v2's block as exported: a channel split by Slice, a
     * Concat, and the shuffle's Reshape -> Transpose -> Reshape */
    snprintf(text, sizeof text,
             "input x: f32[N, 8, 5, 5]\n"
             "l = Slice(x) starts=[0] ends=[4] axes=[1]\n"
             "r = Slice(x) starts=[4] ends=[8] axes=[1]\n"
             "rr = Relu(r)\n"
             "c = Concat(l, rr) axis=1\n"
             "g = Reshape(c) shape=[0, 2, 4, 5, 5]\n"
             "t = Transpose(g) perm=[0, 2, 1, 3, 4]\n"
             "y = Reshape(t) shape=[0, 8, 5, 5]\n"
             "output y\n");
    check(TOL);
    /* Launches: a copy's grid takes its innermost and two largest dims, so
     * the shuffle's [16, 4, 2, 25] walk launches twice (not 16 times).
     * DepthToSpace DCR walks [bi, bj, c*h, w] per batch item (c and h are
     * contiguous in both tensors): 2 launches each, 6 for a batch of 3; CRD
     * walks [bi, bj, n*c, h, w] once: b^2 = 4 launches in all. */
    assert_int_equal(test_launches_at("input x: f32[16, 2, 4, 5, 5]\ny = Transpose(x) perm=[0, 2, 1, 3, 4]\n"
                                      "output y\n", 0), 2);
    assert_int_equal(test_launches_at("input x: f32[3, 8, 5, 3]\ny = DepthToSpace(x) blocksize=2\noutput y\n", 0),
                     6);
    assert_int_equal(test_launches_at("input x: f32[3, 8, 5, 3]\ny = DepthToSpace(x) blocksize=2 mode=\"CRD\"\n"
                                      "output y\n", 0), 4);
}

/* Trilu: upper and lower, k below, on and above the diagonal and past
 * either end (the host clamps it), ranks 2 to 5, square and not. */
static void test_trilu(void **state)
{
    (void)state;
    static const struct { const char *input, *attrs; } cases[] = {
        {"f32[5, 7]", ""},
        {"f32[5, 7]", "k=2"},
        {"f32[5, 7]", "k=-3"},
        {"f32[5, 7]", "upper=0"},
        {"f32[5, 7]", "upper=0 k=1"},
        {"f32[7, 5]", "upper=0 k=-2"},
        {"f32[7, 5]", "k=100"},
        {"f32[7, 5]", "k=-100"},
        {"f32[7, 5]", "upper=0 k=-9000000000"},
        {"f32[7, 5]", "upper=0 k=9000000000"},
        {"f32[N, 4, 6]", "k=-1"},
        {"f32[N, 6, 4]", "upper=0 k=1"},
        {"f32[N, 3, 5, 2]", "k=1"},
        {"f32[2, 3, 1, 9]", "upper=0 k=-4"},
        {"f32[N, 3, 66, 70]", "upper=0"},
        {"f32[2, N, 2, 3, 4]", "k=2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(text, sizeof text, "input x: %s\ny = Trilu(x) %s\nz = Relu(y)\noutput z\noutput y\n",
                 cases[i].input, cases[i].attrs);
        check(TOL);
    }
    /* Integer and bool data keep their type (the kept values and the zeros
     * are exact). */
    snprintf(text, sizeof text, "input x: i64[N, 4, 5]\ny = Trilu(x) k=1\noutput y\n");
    check(TOL);
    snprintf(text, sizeof text, "input x: bool[3, 6]\ny = Trilu(x) upper=0\noutput y\n");
    check(TOL);
}

/* Resize: nearest with every nearest_mode, linear and cubic (A -0.75 and
 * -0.5, with and without exclude_outside), under every
 * coordinate transformation, up and down, odd sizes, sizes to 1 (the
 * align_corners and pytorch_half_pixel special cases), given scales that
 * are not output / input, ranks 2 to 5. Scales are ones whose coordinates
 * are the same in float and double: a scale such as 0.6 (not exact in
 * binary) can put a coordinate a rounding error away from a half, where
 * nearest in float (the device) and in double (the reference) may round
 * differently (docs/ir.md). */
static void test_resize(void **state)
{
    (void)state;
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nn"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const struct { const char *input, *sizes, *scales; } shapes[] = {
        {"f32[N, 3, 5, 7]", "[11, 13]", ""},
        {"f32[N, 3, 5, 7]", "[10, 21]", "height_scale=2 width_scale=3"},
        {"f32[N, 2, 9, 8]", "[4, 4]", "height_scale=0.5 width_scale=0.5"},
        {"f32[N, 2, 9, 8]", "[3, 5]", ""},
        {"f32[N, 4, 6]", "[1, 17]", ""},
        {"f32[N, 1, 3]", "[5, 1]", ""},
        {"f32[2, N, 3, 4, 6]", "[6, 9]", "height_scale=1.5 width_scale=1.5"},
        {"f32[N, 3, 70, 66]", "[35, 131]", ""},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int c = 0; c < 5; c++) {
            snprintf(text, sizeof text,
                     "input x: %s\ny = Resize(x) sizes=%s %s mode=\"linear\" coordinate_transformation_mode=\"%s\"\n"
                     "output y\n",
                     shapes[i].input, shapes[i].sizes, shapes[i].scales, coords[c]);
            check(TOL);
            for (int e = 0; e < 2; e++) {
                snprintf(text, sizeof text,
                         "input x: %s\ny = Resize(x) sizes=%s %s mode=\"cubic\" coordinate_transformation_mode=\"%s\" "
                         "%s\noutput y\n",
                         shapes[i].input, shapes[i].sizes, shapes[i].scales, coords[c],
                         e ? "cubic_coeff_a=-0.5 exclude_outside=1" : "");
                check(TOL);
            }
            for (int k = 0; k < 4; k++) {
                snprintf(text, sizeof text,
                         "input x: %s\ny = Resize(x) sizes=%s %s coordinate_transformation_mode=\"%s\" "
                         "nearest_mode=\"%s\"\nz = Relu(y)\noutput z\n",
                         shapes[i].input, shapes[i].sizes, shapes[i].scales, coords[c], nearests[k]);
                check(0.0);
            }
        }
}

/* ConvTranspose2D: strides, dilations, groups, bias or none, pads of
 * every sign (a negative end pad is ONNX's output_padding/output_shape),
 * odd sizes, 1x1 kernels and kernels larger than the input. */
static void test_conv_transpose(void **state)
{
    (void)state;
    static const struct { const char *x, *w, *b, *attrs; } cases[] = {
        {"[N, 3, 5, 7]", "[3, 4, 3, 3]", "[4]", ""},
        {"[N, 3, 5, 7]", "[3, 4, 3, 3]", "", "strides=[2, 2] pads=[1, 1, 1, 1]"},
        {"[N, 4, 5, 7]", "[4, 3, 3, 2]", "[6]", "strides=[2, 3] pads=[1, 0, -1, 2] dilations=[2, 1] group=2"},
        {"[N, 6, 4, 3]", "[6, 1, 3, 3]", "[6]", "strides=[3, 2] group=6"},
        {"[N, 2, 1, 1]", "[2, 5, 4, 4]", "[5]", "strides=[2, 2] pads=[0, 0, -1, -1]"},
        {"[N, 17, 9, 11]", "[17, 3, 1, 1]", "[3]", "strides=[2, 1]"},
        {"[N, 3, 3, 3]", "[3, 2, 5, 5]", "", "dilations=[2, 3] pads=[2, 1, 0, 3]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int m = 0;
        if (cases[i].b[0]) sscanf(cases[i].b, "[%d]", &m);
        snprintf(text, sizeof text,
                 "input x: f32%s\nconst w: f32%s = random(1)\n%s%s%s\ny = ConvTranspose2D(x, w%s) %s\noutput y\n",
                 cases[i].x, cases[i].w, m ? "const b: f32" : "", m ? cases[i].b : "", m ? " = random(2)" : "",
                 m ? ", b" : "", cases[i].attrs);
        check(TOL);
    }
}

/* ArgMax and ArgMin: every axis of ranks 1 to 5, keepdims or not,
 * select_last_index, ties (integer data with few values) and NaN; the i64
 * result feeds a Cast back to f32 as well as being an output. */
static void test_argmax(void **state)
{
    (void)state;
    static const struct { const char *x, *attrs; } cases[] = {
        {"f32[N, 17]", ""},
        {"f32[N, 17]", "axis=1 keepdims=0"},
        {"f32[N, 5, 7]", "axis=-1 select_last_index=1"},
        {"f32[N, 5, 7]", "axis=1 keepdims=0"},
        {"f32[3, N, 4, 6]", "axis=2"},
        {"f32[2, 3, N, 4, 66]", "axis=4 keepdims=0 select_last_index=1"},
        {"f32[127]", ""},
        {"i64[N, 9, 3]", "axis=1"},
        {"i64[N, 9, 3]", "axis=1 select_last_index=1"},
        {"bool[N, 12]", "axis=1 keepdims=0"},
        {"bool[N, 12]", "axis=1 select_last_index=1"},
    };
    for (int op = 0; op < 2; op++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            snprintf(text, sizeof text, "input x: %s\ny = %s(x) %s\nz = Cast(y) to=\"f32\"\noutput y\noutput z\n",
                     cases[i].x, op ? "ArgMin" : "ArgMax", cases[i].attrs);
            check(0.0);
        }
    /* NaN wins, the first one (the last with select_last_index). */
    snprintf(text, sizeof text,
             "const x: f32[2, 5] = [1, nan, 3, nan, 2, -1, -2, 7, -2, 7]\n"
             "a = ArgMax(x) axis=1\nb = ArgMin(x) axis=1 select_last_index=1\nc = ArgMax(x) axis=1 "
             "select_last_index=1\nd = ArgMin(x) axis=1\ny = Concat(a, b, c, d) axis=1\noutput y\n");
    check(0.0);
}

/* Range of a symbolic length (positions = arange(S)): as floats added to
 * the input, as i64 indices into a position table (Gather), negative and
 * fractional steps; the sizes differ per batch (S = batch + 2). */
static void test_range(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, S, 3]\n"
             "p = Range() start=2 delta=0.5 shape=[S]\n"
             "q = Reshape(p) shape=[S, 1]\n"
             "y = Add(x, q)\n"
             "output y\n"
             "output p\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, S, 4]\n"
             "const t: f32[40, 4] = random(3)\n"
             "i = Range() shape=[S] to=\"i64\"\n"
             "e = Gather(t, i) axis=0\n"
             "y = Add(x, e)\n"
             "output y\n"
             "output i\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 70]\n"
             "p = Range() start=-3 delta=-1.25 shape=[70]\n"
             "y = Mul(x, p)\n"
             "output y\n");
    check(TOL);
}

/* A causal attention mask as PyTorch exports it: -inf grown to [S, S]
 * (ConstantOfShape), its strict upper triangle kept (Trilu k=1, the zero
 * written, never -inf * 0), added to every head's scores, then Softmax over
 * rows with -inf entries. */
static void test_causal_mask_softmax(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, S, S]\n"
             "const c: f32[1, 1] = full(-inf)\n"
             "e = Expand(c) shape=[S, S]\n"
             "m = Trilu(e) k=1\n"
             "s = Add(x, m)\n"
             "y = Softmax(s) axis=-1\n"
             "output y\n");
    check(TOL);
}

/* A row that is -inf throughout (Trilu k=0 masks all of row 0) gives NaN
 * there on the device and in the reference, as in ONNX Runtime and
 * PyTorch; the other rows are finite and agree. */
static void test_softmax_fully_masked_row(void **state)
{
    (void)state;
    clg_graph *g = test_parse("input x: f32[2, 4, 4]\n"
                              "const c: f32[4, 4] = full(-inf)\n"
                              "m = Trilu(c)\n"
                              "s = Add(x, m)\n"
                              "y = Softmax(s) axis=-1\n"
                              "output y\n");
    float x[32], ref[32], dev[32];
    for (int k = 0; k < 32; k++) x[k] = (float)((k * 7) % 11) / 11.0f - 0.5f;
    clg_tensor in = {x, 3, {2, 4, 4}, CLG_DTYPE_F32}, out = {ref, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_OK);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 4; i++) {
            double sum = 0;
            for (int j = 0; j < 4; j++) {
                float v = ref[(b * 4 + i) * 4 + j];
                if (i == 0) assert_true(isnan(v));
                else if (j >= i) assert_true(v == 0.0f); /* exp(-inf) */
                else sum += v;
            }
            if (i > 0) assert_true(fabs(sum - 1.0) < 1e-6);
        }
    clg_context *ctx = test_context();
    if (ctx) {
        for (int level = 0; level <= 2; level++) {
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.opt_level = level;
            clg_model *m = NULL;
            if (clg_model_create_ex(&m, ctx, g, &o)) fail_msg("create: %s", clg_model_errmsg(m));
            clg_tensor outd = {dev, 0, {0}, CLG_DTYPE_F32};
            if (clg_model_run(m, &in, 1, &outd, 1)) fail_msg("run: %s", clg_model_errmsg(m));
            for (int k = 0; k < 32; k++) {
                if (isnan(ref[k])) assert_true(isnan(dev[k]));
                else if (!(fabs(dev[k] - ref[k]) < 1e-6)) fail_msg("O%d element %d: %g, want %g", level, k, dev[k], ref[k]);
            }
            clg_model_destroy(m);
        }
    }
    clg_graph_destroy(g);
}


/* ------------------------------------------------------------ half precision */

/* IEEE half bits to their value, from the definition. */
static float half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, f = h & 0x3ff;
    float v = e == 0x1f ? (f ? NAN : INFINITY) : e ? ldexpf((float)(1024 + f), e - 25) : ldexpf((float)f, -24);
    return h & 0x8000 ? -v : v;
}

static bool same_float(float a, float b) { return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b)); }

/* Runs x through Cast(to f16) and back to f32 on the reference executor
 * and on the device (-O0 and the default level), the f16 output as half
 * bits, the f32 one as the rounded float the device computed (the host's
 * own rounding of an f16 output could hide a kernel's error). */
static void run_half_cast(const float *x, size_t n, float *ref_f, uint16_t *ref_h, float *dev_f, uint16_t *dev_h,
                          int opt_level)
{
    snprintf(text, sizeof text, "input x: f32[%zu]\nh = Cast(x) to=\"f16\"\nf = Cast(h) to=\"f32\"\noutput h\noutput f\n", n);
    clg_graph *g = test_parse(text);
    clg_tensor in = {(float *)x, 1, {(int64_t)n}, CLG_DTYPE_F32};
    clg_tensor out[2] = {{(float *)ref_h, 0, {0}, CLG_DTYPE_F16}, {ref_f, 0, {0}, CLG_DTYPE_F32}};
    if (clg_graph_run_reference(g, &in, 1, out, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
    clg_context *ctx = test_context();
    if (ctx) {
        clg_model_options o = CLG_MODEL_OPTIONS_INIT;
        o.opt_level = opt_level;
        clg_model *m = NULL;
        if (clg_model_create_ex(&m, ctx, g, &o)) fail_msg("create: %s", clg_model_errmsg(m));
        clg_tensor dout[2] = {{(float *)dev_h, 0, {0}, CLG_DTYPE_F16}, {dev_f, 0, {0}, CLG_DTYPE_F32}};
        if (clg_model_run(m, &in, 1, dout, 2)) fail_msg("run: %s", clg_model_errmsg(m));
        clg_model_destroy(m);
    }
    clg_graph_destroy(g);
}

/* Cast to f16 rounds to the nearest half, ties to even, past 65504 to inf
 * (from 65520, the midpoint to the next binade), NaN stays NaN, and
 * subnormal halves are kept. The values and their halves come from NumPy
 * (np.float32(v).astype(np.float16)); then every midpoint between adjacent
 * halves, and the floats either side of it, of both signs: 190k values
 * whose rounding the half grid alone decides. */
static void test_half_cast(void **state)
{
    (void)state;
    static const float x[] = {65504.0f, 65519.99609375f, 65520.0f, -65520.0f, 65536.0f, 1e10f, INFINITY, NAN,
                              1.00048828125f, 1.00146484375f, 1.0004892349243164f, 5.960464477539063e-08f,
                              2.9802322387695312e-08f, 8.940696716308594e-08f, 3.073364496231079e-08f,
                              6.1005353927612305e-05f, 1e-8f, -1e-8f, 0.1f, 3.14159265f, -2.5f, 2049.0f, 2051.0f,
                              1e-5f};
    static const uint16_t want[] = {0x7bff, 0x7bff, 0x7c00, 0xfc00, 0x7c00, 0x7c00, 0x7c00, 0x7e00,
                                    0x3c00, 0x3c02, 0x3c01, 0x0001, 0x0000, 0x0002, 0x0001, 0x0400,
                                    0x0000, 0x8000, 0x2e66, 0x4248, 0xc100, 0x6800, 0x6802, 0x00a8};
    enum { K = sizeof x / sizeof *x };
    float rf[K], df[K];
    uint16_t rh[K], dh[K];
    for (int level = 0; level <= 2; level += 2) {
        memset(df, 0x5a, sizeof df);
        memset(dh, 0x5a, sizeof dh);
        run_half_cast(x, K, rf, rh, df, dh, level);
        bool device = test_context() != NULL;
        for (int k = 0; k < K; k++) {
            bool nan = want[k] == 0x7e00;
            if (nan ? !((rh[k] & 0x7c00) == 0x7c00 && (rh[k] & 0x3ff)) : rh[k] != want[k])
                fail_msg("reference: element %d (%.9g) gives half 0x%04x, want 0x%04x", k, (double)x[k], rh[k], want[k]);
            if (!same_float(rf[k], half_value(want[k])))
                fail_msg("reference: element %d (%.9g) rounds to %.9g, want %.9g", k, (double)x[k], (double)rf[k],
                         (double)half_value(want[k]));
            if (!device) continue;
            if (nan ? !((dh[k] & 0x7c00) == 0x7c00 && (dh[k] & 0x3ff)) : dh[k] != want[k])
                fail_msg("O%d device: element %d (%.9g) gives half 0x%04x, want 0x%04x", level, k, (double)x[k], dh[k],
                         want[k]);
            if (!same_float(df[k], half_value(want[k])))
                fail_msg("O%d device: element %d (%.9g) rounds to %.9g, want %.9g", level, k, (double)x[k],
                         (double)df[k], (double)half_value(want[k]));
        }
    }

    /* Midpoints: between the halves with bits h and h + 1 (0 <= h < 0x7c00;
     * 0x7c00 stands for 65536 there, the value past 65504 whose midpoint
     * is where inf begins) a tie goes to the even bits, a float just
     * below to h, one just above to h + 1. */
    size_t n = (size_t)0x7c00 * 3 * 2;
    float *mid = malloc(n * sizeof *mid), *want_f = malloc(n * sizeof *want_f);
    float *ref = malloc(n * sizeof *ref), *dev = malloc(n * sizeof *dev);
    uint16_t *rbits = malloc(n * sizeof *rbits), *dbits = malloc(n * sizeof *dbits);
    assert_true(mid && want_f && ref && dev && rbits && dbits);
    size_t i = 0;
    for (unsigned h = 0; h < 0x7c00; h++) {
        float lo = half_value((uint16_t)h), hi = h + 1 == 0x7c00 ? 65536.0f : half_value((uint16_t)(h + 1));
        float up = h + 1 == 0x7c00 ? INFINITY : hi, m = (lo + hi) / 2; /* exact: 12 significant bits */
        float cases[3][2] = {{m, h & 1 ? up : lo}, {nextafterf(m, 0.0f), lo}, {nextafterf(m, INFINITY), up}};
        for (int c = 0; c < 3; c++)
            for (int s = 0; s < 2; s++, i++) {
                mid[i] = s ? -cases[c][0] : cases[c][0];
                want_f[i] = s ? -cases[c][1] : cases[c][1];
            }
    }
    assert_int_equal(i, n);
    for (int level = 0; level <= 2; level += 2) {
        for (size_t k = 0; k < n; k++) dev[k] = NAN;
        run_half_cast(mid, n, ref, rbits, dev, dbits, level);
        bool device = test_context() != NULL;
        for (size_t k = 0; k < n; k++) {
            if (!same_float(ref[k], want_f[k]) || half_value(rbits[k]) != want_f[k])
                fail_msg("reference: %.9g rounds to %.9g (half 0x%04x), want %.9g", (double)mid[k], (double)ref[k],
                         rbits[k], (double)want_f[k]);
            if (device && (!same_float(dev[k], want_f[k]) || half_value(dbits[k]) != want_f[k]))
                fail_msg("O%d device: %.9g rounds to %.9g (half 0x%04x), want %.9g", level, (double)mid[k],
                         (double)dev[k], dbits[k], (double)want_f[k]);
        }
    }
    free(mid), free(want_f), free(ref), free(dev), free(rbits), free(dbits);
}

/* f16 inputs and outputs: every one of the 65536 halves goes in and comes
 * back through an f16 output unchanged (NaN as a NaN) and through a Cast to
 * f32 as its exact value; arithmetic and data movement on f16 values agree
 * with the reference executor. */
static void test_half_io(void **state)
{
    (void)state;
    enum { N = 65536 };
    uint16_t *x = malloc(N * sizeof *x), *back = malloc(N * sizeof *back);
    float *f = malloc(N * sizeof *f);
    assert_true(x && back && f);
    for (int k = 0; k < N; k++) x[k] = (uint16_t)k;
    clg_graph *g = test_parse("input x: f16[65536]\nr = Reshape(x) shape=[256, 256]\nt = Transpose(r) perm=[1, 0]\n"
                              "u = Transpose(t) perm=[1, 0]\nb = Reshape(u) shape=[65536]\nf = Cast(x) to=\"f32\"\n"
                              "output b\noutput f\n");
    clg_dtype dt;
    assert_int_equal(clg_graph_input_dtype(g, 0, &dt), CLG_OK);
    assert_int_equal(dt, CLG_DTYPE_F16);
    assert_int_equal(clg_graph_output_dtype(g, 0, &dt), CLG_OK);
    assert_int_equal(dt, CLG_DTYPE_F16); /* moving values keeps f16 */
    clg_tensor in = {(float *)x, 1, {N}, CLG_DTYPE_F16};
    for (int dev = 0; dev < 2; dev++) {
        clg_context *ctx = dev ? test_context() : NULL;
        if (dev && !ctx) break;
        memset(back, 0x5a, N * sizeof *back);
        for (int k = 0; k < N; k++) f[k] = 12345.0f;
        clg_tensor out[2] = {{(float *)back, 0, {0}, CLG_DTYPE_F16}, {f, 0, {0}, CLG_DTYPE_F32}};
        clg_model *m = NULL;
        if (!dev && clg_graph_run_reference(g, &in, 1, out, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
        if (dev && clg_model_create(&m, ctx, g)) fail_msg("create: %s", clg_model_errmsg(m));
        if (dev && clg_model_run(m, &in, 1, out, 2)) fail_msg("run: %s", clg_model_errmsg(m));
        clg_model_destroy(m);
        for (int k = 0; k < N; k++) {
            float v = half_value((uint16_t)k);
            if (isnan(v) ? !isnan(half_value(back[k])) : back[k] != k)
                fail_msg("%s: half 0x%04x came back as 0x%04x", dev ? "device" : "reference", k, back[k]);
            if (!same_float(f[k], v))
                fail_msg("%s: half 0x%04x widened to %.9g, want %.9g", dev ? "device" : "reference", k, (double)f[k],
                         (double)v);
        }
    }
    clg_graph_destroy(g);
    free(x), free(back), free(f);
    /* Arithmetic on f16 values computes f32; mixing f16 and f32 in a
     * Concat gives f32; a Cast to f16 output rounds; random f16 inputs. */
    snprintf(text, sizeof text,
             "input x: f16[N, 17]\ninput y: f32[N, 17]\nconst w: f32[17, 5] = random(7)\n"
             "const b: f16[5] = [0.5, -1, 0.099975586, 0.00006103515625, 3]\ns = Add(x, y)\n"
             "c = Concat(x, y) axis=1\nm = MatMul(x, w)\nmb = Add(m, b)\nh = Cast(mb) to=\"f16\"\nr = Relu(x)\n"
             "output s\noutput c\noutput h\noutput r\n");
    check(1e-6);
}

/* Half arithmetic (precision fp16) against its definition: x0 + x1 + x2
 * as two half additions, each rounded to half, where fp16-storage adds in
 * float and rounds once. Every input is a half in [0.25, 4) (or 1 and
 * 2^-11 twice, where half's 1 + 2^-11 + 2^-11 is 1 by two ties to even but
 * float's is 1 + 2^-10), so every float sum of them is exact and the
 * host's rounding of it (clg_float_to_half) is what the device must
 * store: both precisions are checked exactly, and the inputs are chosen
 * so that the two definitions differ at many elements: a device that
 * added in float at fp16 fails. Once as a standalone elementwise kernel
 * (-O0) and once as a MatMul's epilogue (-O2: the sum absorbed into the
 * GEMM, an identity matrix keeping the accumulator exact). */
static float half_round(float v) { return clg_half_to_float(clg_float_to_half(v)); }

static void test_half_arithmetic(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    enum { R = 64, C = 16, N = R * C };
    static float a[N], b[N], c[N], y[N];
    unsigned seed = 12345;
    float *in3[3] = {a, b, c};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            float m = 0.25f * (float)(1u << (seed >> 12) % 4) * (1.0f + (float)((seed >> 16) % 1024) / 1024.0f);
            in3[k][i] = (seed >> 28) & 1 ? -m : m;
        }
    a[0] = 1.0f, b[0] = c[0] = 0.00048828125f;
    int differ = 0;
    for (int i = 0; i < N; i++) differ += half_round(half_round(a[i] + b[i]) + c[i]) != half_round(a[i] + b[i] + c[i]);
    if (differ < N / 8) fail_msg("only %d of %d elements tell half from float arithmetic", differ, N);
    static char g_text[16384];
    int len = snprintf(g_text, sizeof g_text, "input a: f32[%d, %d]\ninput b: f32[%d, %d]\ninput c: f32[%d, %d]\n"
                       "const w: f32[%d, %d] = [", R, C, R, C, R, C, C, C);
    for (int i = 0; i < C * C; i++) len += snprintf(g_text + len, sizeof g_text - (size_t)len, "%s%d", i ? ", " : "", i % (C + 1) == 0);
    snprintf(g_text + len, sizeof g_text - (size_t)len,
             "]\nm = MatMul(a, w)\ny = Elementwise(m, b, c) expr=\"x0 + x1 + x2\"\noutput y\n");
    clg_graph *g = test_parse(g_text);
    static const clg_precision precisions[] = {CLG_PRECISION_FP16_STORAGE, CLG_PRECISION_FP16};
    for (int p = 0; p < 2; p++)
        for (int level = 0; level <= 2; level += 2) {
            const char *pname = clg_precision_name(precisions[p]);
            if (precisions[p] == CLG_PRECISION_FP16 && !info.fp16) {
                if (level == 0) printf("half arithmetic fp16: skipped, %s has no cl_khr_fp16\n", info.name);
                continue;
            }
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.precision = precisions[p];
            o.opt_level = level;
            clg_model *m = NULL;
            if (clg_model_create_ex(&m, ctx, g, &o) != CLG_OK) fail_msg("%s -O%d: %s", pname, level, clg_model_errmsg(m));
            clg_tensor in[3] = {{a, 2, {R, C}, CLG_DTYPE_F32}, {b, 2, {R, C}, CLG_DTYPE_F32}, {c, 2, {R, C}, CLG_DTYPE_F32}};
            clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};
            if (clg_model_run(m, in, 3, &out, 1) != CLG_OK) fail_msg("%s -O%d: %s", pname, level, clg_model_errmsg(m));
            for (int i = 0; i < N; i++) {
                float want = p ? half_round(half_round(a[i] + b[i]) + c[i]) : half_round(a[i] + b[i] + c[i]);
                if (y[i] != want)
                    fail_msg("%s -O%d: element %d: %.9g + %.9g + %.9g gave %.9g, want %.9g", pname, level, i,
                             (double)a[i], (double)b[i], (double)c[i], (double)y[i], (double)want);
            }
            printf("half arithmetic %s -O%d: %d elements exact (%d differ between half and float arithmetic)\n", pname,
                   level, N, differ);
            clg_model_destroy(m);
        }
    clg_graph_destroy(g);
}

/* Every operation that computes in half at fp16 (compiler/expr.c
 * half_arith) builds and agrees with the fp32 reference, standalone (-O0)
 * and as a MatMul's epilogue (-O2, an identity matrix keeping x0 exact):
 * the inputs are multiples of 1/8 in [-4, 4), exact in half, so the
 * discontinuous ones (floor, comparisons, sign) see the reference's
 * inputs, and the rest are within a few half roundings (2^-9 of the
 * output's largest value). */
static void test_half_functions(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    if (!info.fp16) {
        printf("half functions: skipped, %s has no cl_khr_fp16\n", info.name);
        return;
    }
    enum { R = 64, C = 32, N = R * C };
    static float a[N], b[N], y[N], ref[N];
    for (int i = 0; i < N; i++) {
        a[i] = (float)((i * 37) % 64 - 32) / 8.0f;
        b[i] = (float)((i * 11 + 5) % 64 - 32) / 8.0f;
    }
    static const char *const exprs[] = {
        "leaky_relu(x0, 0.125) + clip(x1, -0.5, 0.5) + relu(x1)",
        "min(x0, x1) - max(x0, 0.25) + abs(x1) * 2",
        "floor(x0 * 0.75) + ceil(x1) + round(x0 * 0.5) + sign(x1)",
        "hard_sigmoid(x0, 0.25, 0.5) + hard_swish(x1) + softsign(x0)",
        "thresholded_relu(x0, 0.5) + eq(x0, x1) + lt(x0, x1) + gt(x0, 0) + le(x1, 0) + ge(x0, x1)",
        "not(x0) + and(x0, x1) + or(x0, x1) + xor(x0, x1) + where(x1, x0, 3) + x0 / (abs(x1) + 5) - -x1",
    };
    static char g_text[16384];
    for (int e = 0; e < (int)(sizeof exprs / sizeof *exprs); e++) {
        int len = snprintf(g_text, sizeof g_text, "input a: f32[%d, %d]\ninput b: f32[%d, %d]\nconst w: f32[%d, %d] = [",
                           R, C, R, C, C, C);
        for (int i = 0; i < C * C; i++)
            len += snprintf(g_text + len, sizeof g_text - (size_t)len, "%s%d", i ? ", " : "", i % (C + 1) == 0);
        snprintf(g_text + len, sizeof g_text - (size_t)len,
                 "]\nm = MatMul(a, w)\ny = Elementwise(m, b) expr=\"%s\"\noutput y\n", exprs[e]);
        clg_graph *g = test_parse(g_text);
        clg_tensor in[2] = {{a, 2, {R, C}, CLG_DTYPE_F32}, {b, 2, {R, C}, CLG_DTYPE_F32}};
        clg_tensor want = {ref, 0, {0}, CLG_DTYPE_F32};
        if (clg_graph_run_reference(g, in, 2, &want, 1) != CLG_OK) fail_msg("reference: %s", clg_graph_errmsg(g));
        double top = 0;
        for (int i = 0; i < N; i++) top = fmax(top, fabs(ref[i]));
        for (int level = 0; level <= 2; level += 2) {
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.precision = CLG_PRECISION_FP16;
            o.opt_level = level;
            clg_model *m = NULL;
            if (clg_model_create_ex(&m, ctx, g, &o) != CLG_OK) fail_msg("%s -O%d: %s", exprs[e], level, clg_model_errmsg(m));
            clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};
            if (clg_model_run(m, in, 2, &out, 1) != CLG_OK) fail_msg("%s -O%d: %s", exprs[e], level, clg_model_errmsg(m));
            double err = 0;
            for (int i = 0; i < N; i++) err = fmax(err, fabs((double)y[i] - ref[i]));
            printf("half functions -O%d %s: error %.3g of %.3g\n", level, exprs[e], err, top);
            if (!(err <= top / 512)) fail_msg("%s -O%d: error %.3g > %.3g", exprs[e], level, err, top / 512);
            clg_model_destroy(m);
        }
        clg_graph_destroy(g);
    }
}

/* The kernels that read rows in float8s (LayerNorm, Softmax, LogSoftmax,
 * GlobalAveragePool, the generated Elementwise, the depthwise convolution) over half buffers, with
 * rows of odd length so most vectors start off a 16-byte boundary: PoCL
 * 3.1's vload_half8 segfaulted there (LOAD8 reads halves one by one). At
 * -O0 every op runs on its own; error bound as test_half_functions'. */
static void test_half_storage_rows(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const texts[] = {
        "input x: f32[N, 40, 45]\ny = Softmax(x)\noutput y\n",
        "input x: f32[N, 40, 45]\ny = LogSoftmax(x)\noutput y\n",
        "input x: f32[N, 40, 27]\ninput r: f32[N, 40, 27]\nconst g: f32[27] = random(2, 0.5, 1.5)\n"
        "const b: f32[27] = random(3)\ny = LayerNorm(x, g, b, r)\noutput y\n",
        "input x: f32[N, 5, 12, 25]\ny = GlobalAveragePool(x)\noutput y\n",
        "input x: f32[N, 7, 45]\nconst b: f32[45] = random(3)\ns = Add(x, b)\ny = Sigmoid(s)\noutput y\n",
        "input x: f32[N, 7, 45]\ny = Elementwise(x) expr=\"exp(x0)\"\noutput y\n",
        /* the depthwise convolution's vector rows (on CPUs: float16 from a
         * private row), at strides 1 and 2, rows of an odd length
         * (unaligned vectors, a short last vector) */
        "input x: f32[N, 3, 5, 37]\nconst w: f32[3, 1, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=3\noutput y\n",
        "input x: f32[N, 3, 5, 37]\nconst w: f32[3, 1, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) strides=[2, 2] pads=[0, 0, 1, 1] group=3 epilogue=\"clip(x0, 0, 6)\"\noutput y\n",
        /* and whole small planes and strips of rows (on CPUs) */
        "input x: f32[N, 3, 16, 16]\nconst w: f32[3, 1, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=3\noutput y\n",
        "input x: f32[N, 5, 7, 7]\nconst w: f32[5, 1, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) pads=[1, 1, 1, 1] group=5 epilogue=\"clip(x0, 0, 6)\"\noutput y\n",
        /* grouped (on CPUs kernels/conv_grouped.cl): channel vectors of
         * 16 and 4 at any element address (half loads) */
        "input x: f32[N, 32, 4, 5]\nconst w: f32[32, 16, 3, 3] = random(4, -0.5, 0.5)\nconst b: f32[32] = random(5)\n"
        "y = Conv2D(x, w, b) pads=[1, 1, 1, 1] group=2 epilogue=\"relu(x0)\"\noutput y\n",
        "input x: f32[N, 12, 9, 13]\nconst w: f32[16, 3, 3, 3] = random(4, -0.5, 0.5)\n"
        "y = Conv2D(x, w) strides=[2, 2] pads=[0, 1, 1, 0] group=4\noutput y\n",
    };
    for (int t = 0; t < (int)(sizeof texts / sizeof *texts); t++) {
        clg_graph *g = test_parse(texts[t]);
        double err = test_device_error_prec(ctx, g, 3, 7, 0, CLG_PRECISION_FP16_STORAGE, NULL, NULL, 0);
        printf("half storage rows %d: error %.3g\n", t, err);
        if (!(err <= 1.0 / 256)) fail_msg("%s: error %.3g at fp16 storage", texts[t], err);
        clg_graph_destroy(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_bias_shapes_and_trans_a),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_pool_rows),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_elementwise_ops_one_launch),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_layer_norm_residual),
        cmocka_unit_test(test_log_softmax),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_pattern),
        cmocka_unit_test(test_attention_strided),
        cmocka_unit_test(test_attention_head_too_large),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_then_window),
        cmocka_unit_test(test_shape_ops),
        cmocka_unit_test(test_transpose_views),
        cmocka_unit_test(test_gather_and_cast),
        cmocka_unit_test(test_gather_device_errors),
        cmocka_unit_test(test_integer_buffers_across_sizes),
        cmocka_unit_test(test_movement),
        cmocka_unit_test(test_high_rank),
        cmocka_unit_test(test_trilu),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_causal_mask_softmax),
        cmocka_unit_test(test_softmax_fully_masked_row),
        cmocka_unit_test(test_half_cast),
        cmocka_unit_test(test_half_io),
        cmocka_unit_test(test_half_arithmetic),
        cmocka_unit_test(test_half_functions),
        cmocka_unit_test(test_half_storage_rows),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
