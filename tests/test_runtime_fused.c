/* Elementwise nodes (generated kernels, runtime/lower/fused.c) on the OpenCL
 * device against the reference executor: 1 to 16 inputs, broadcasting,
 * every function, odd sizes, walks that need more than one launch, and
 * programs shared between nodes with the same expression. Tolerances are
 * relative to each output's largest magnitude (tests/device_check.h): 1e-4
 * unless noted beside a case. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "runtime.h"

#define TOL 1e-4

static char text[8192];

/* Checks the graph in `text` at a few batch sizes. */
static void check(double tol) { test_check_text(text, tol); }

static const int sizes[] = {1, 3, 17, 127};
#define N_SIZES (int)(sizeof sizes / sizeof *sizes)

/* Every function alone and in combinations, one input, at odd widths.
 * Inputs are uniform in [-1, 1): every branch of relu, clip, min and max
 * is taken. The device computes in float with OpenCL's exp/erf/tanh (a few
 * ulp), the reference in double: 1e-4 of the scale holds for all of them,
 * gelu included (its error near 0, where it is tiny, is far below 1e-4 of
 * the tensor's scale). */
static void test_every_function(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "relu(x0)",
        "leaky_relu(x0, 0.1)",
        "sigmoid(x0)",
        "tanh(x0)",
        "clip(x0, -0.5, 0.25)",
        "clip(x0, -inf, inf)",
        "gelu(x0)",
        "gelu_tanh(x0)",
        "min(x0, 0.25)",
        "max(x0, -0.25)",
        "-x0",
        "-(-x0) * 2.5",
        "x0 * 3 - 1 / (2 + x0)",
        "x0 - (x0 - 1) * (x0 + 1)",
        "sigmoid(x0) * x0",
        "clip(gelu(x0) * 4, -x0, 1) + leaky_relu(tanh(x0 * 3), 0.2)",
        "max(min(x0, 0.5), relu(-x0) - 0.75)",
        "1e+02 * x0 / 1e+02",
        "0.5",
        /* unary math, arguments kept inside each function's domain */
        "exp(x0 * 3)",
        "log(abs(x0) + 0.125)",
        "sqrt(abs(x0))",
        "abs(x0) - 0.5",
        "floor(x0 * 4.3)",
        "ceil(x0 * 4.3)",
        "round(x0 * 4.3)",
        "sign(x0)",
        "erf(x0 * 2)",
        "pow(abs(x0) + 0.25, x0 * 3)",
        /* activations, over [-4, 4) */
        "hard_sigmoid(x0 * 4, 0.2, 0.5)",
        "hard_swish(x0 * 4)",
        "elu(x0 * 4, 0.7)",
        "selu(x0 * 4, 1.6732632, 1.050701)",
        "celu(x0 * 4, 1.5)",
        "softplus(x0 * 4)",
        "softsign(x0 * 4)",
        "mish(x0 * 4)",
        "thresholded_relu(x0 * 4, 1)",
        /* comparisons and logic: 1 or 0 */
        "eq(floor(x0 * 3), 0)",
        "lt(x0, 0.25) + gt(x0, -0.25) * 2 + le(x0, 0.5) * 4 + ge(x0, -0.5) * 8",
        "not(gt(x0, 0)) + and(gt(x0, 0), lt(x0, 0.5)) * 2 + or(lt(x0, -0.5), gt(x0, 0.5)) * 4",
        "xor(gt(x0, 0), gt(x0, 0.5))",
        "where(gt(x0, 0), x0 * 2, exp(x0))",
        /* trigonometric and hyperbolic, inside their domains */
        "sin(x0 * 4) + cos(x0 * 4)",
        "tan(x0)",
        "asin(x0) + acos(x0 * 0.5)",
        "atan(x0 * 8)",
        "sinh(x0 * 4) + cosh(x0 * 4)",
        "asinh(x0 * 8) + acosh(abs(x0) * 8 + 1)",
        "atanh(x0 * 0.9)",
        /* classification: 1 or 0 */
        "isnan(log(x0)) + isinf(1 / floor(x0 * 2)) * 2",
    };
    for (size_t e = 0; e < sizeof exprs / sizeof *exprs; e++)
        for (int i = 0; i < N_SIZES; i++) {
            snprintf(text, sizeof text,
                     "input x: f32[N, %d]\n"
                     "y = Elementwise(x) expr=\"%s\"\n"
                     "output y\n", sizes[i], exprs[e]);
            check(TOL);
        }
}

/* Each function at the edges of its domain (0, -0, large |x|, +-inf, NaN,
 * halves for round): the device against the reference element by element,
 * NaN where the reference has NaN, infinities equal, else within
 * 1e-5 relative (OpenCL's exp, erf, pow are within 16 ulp) or 1e-30
 * absolute (results PoCL may flush to zero as denormals). Run as written
 * and optimised. */
static void test_edge_values(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const float v[] = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 1.0f, -1.0f, 3.0f, -3.0f,
                              20.0f, -20.0f, 88.0f, -88.0f, 100.0f, -100.0f, 1e30f, -1e30f, 3.4e38f, -3.4e38f,
                              INFINITY, -INFINITY, NAN};
    enum { N = sizeof v / sizeof *v };
    static const char *const exprs[] = {
        "exp(x0)", "log(x0)", "sqrt(x0)", "abs(x0)", "floor(x0)", "ceil(x0)", "round(x0)", "sign(x0)", "erf(x0)",
        "pow(x0, 2)", "pow(x0, 0.5)", "pow(x0, -1)", "pow(2, x0)", "hard_sigmoid(x0, 0.2, 0.5)", "hard_swish(x0)",
        "elu(x0, 1)", "selu(x0, 1.6732632, 1.050701)", "celu(x0, 1)", "softplus(x0)", "softsign(x0)", "mish(x0)",
        "thresholded_relu(x0, 1)", "eq(x0, 1)", "lt(x0, 1)", "gt(x0, 1)", "le(x0, 1)", "ge(x0, 1)", "not(x0)",
        "and(x0, 1)", "or(x0, 0)", "xor(x0, 1)", "where(x0, 1, 2)", "1 / x0", "-x0", "sin(x0)", "cos(x0)",
        "tan(x0)", "asin(x0)", "acos(x0)", "atan(x0)", "sinh(x0)", "cosh(x0)", "asinh(x0)", "acosh(x0)", "atanh(x0)",
        "isnan(x0)", "isinf(x0)", "gelu(x0)",
    };
    float ref[N], dev[N];
    for (size_t e = 0; e < sizeof exprs / sizeof *exprs; e++) {
        snprintf(text, sizeof text, "input x: f32[1, %d]\ny = Elementwise(x) expr=\"%s\"\noutput y\n", N, exprs[e]);
        clg_graph *g = test_parse(text);
        clg_tensor in = {(float *)v, 2, {1, N}, CLG_DTYPE_F32}, r = {ref, 0, {0}, CLG_DTYPE_F32};
        if (clg_graph_run_reference(g, &in, 1, &r, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
        static const int levels[] = {0, CLG_OPT_DEFAULT};
        for (int l = 0; l < 2; l++) {
            clg_model *m = NULL;
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.opt_level = levels[l];
            if (clg_model_create_ex(&m, ctx, g, &o)) fail_msg("%s: model: %s", exprs[e], clg_model_errmsg(m));
            clg_tensor d = {dev, 0, {0}, CLG_DTYPE_F32};
            if (clg_model_run(m, &in, 1, &d, 1)) fail_msg("%s: run: %s", exprs[e], clg_model_errmsg(m));
            clg_model_destroy(m);
            for (int k = 0; k < N; k++) {
                bool ok = isnan(ref[k]) ? isnan(dev[k])
                        : isinf(ref[k]) ? dev[k] == ref[k]
                                        : fabs((double)dev[k] - ref[k]) <= 1e-5 * fabs(ref[k]) + 1e-30;
                if (!ok)
                    fail_msg("-O%d: %s at x0 = %.9g: device %.9g, reference %.9g", levels[l], exprs[e], v[k],
                             dev[k], ref[k]);
            }
        }
        clg_graph_destroy(g);
    }
}

/* gelu on a dense grid over [-14, 14], alone and as a vector (the
 * generated kernels take 8 outputs per work-item): within 2e-5 relative
 * where v > -6, also in the negative tail, where 0.5 v (1 + erf(v / sqrt 2))
 * in float loses every digit to cancellation (relative error 1 near
 * v = -5.5; the device's formula is compiler/expr.c GELU_BODY), and within
 * 1e-8 absolute below -6, where |gelu| < 6e-9. */
static void test_gelu_tail(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    enum { N = 5601 };
    static float v[N], ref[N], dev[N];
    for (int k = 0; k < N; k++) v[k] = -14.0f + 28.0f * (float)k / (N - 1);
    snprintf(text, sizeof text, "input x: f32[1, %d]\ny = Gelu(x)\noutput y\n", N);
    clg_graph *g = test_parse(text);
    clg_tensor in = {v, 2, {1, N}, CLG_DTYPE_F32}, r = {ref, 0, {0}, CLG_DTYPE_F32};
    if (clg_graph_run_reference(g, &in, 1, &r, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g)) fail_msg("model: %s", clg_model_errmsg(m));
    clg_tensor d = {dev, 0, {0}, CLG_DTYPE_F32};
    if (clg_model_run(m, &in, 1, &d, 1)) fail_msg("run: %s", clg_model_errmsg(m));
    clg_model_destroy(m);
    clg_graph_destroy(g);
    for (int k = 0; k < N; k++) {
        double err = fabs((double)dev[k] - ref[k]);
        if (v[k] > -6.0f ? err > 2e-5 * fabs(ref[k]) + 1e-30 : err > 1e-8)
            fail_msg("gelu(%.9g): device %.9g, reference %.9g", v[k], dev[k], ref[k]);
    }
}

/* 1 to 5 inputs of one shape, and the most the op takes: 16. */
static void test_input_counts(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "relu(x0) * 2",
        "relu(x0 + x1)",
        "x0 * sigmoid(x1) + x2",
        "clip(x0 * x1, -0.5, 0.5) + max(x2, x3)",
        "gelu(x0 + x1) * x2 - tanh(x3) / (2 + x4)",
    };
    for (int n = 1; n <= 5; n++)
        for (int i = 0; i < N_SIZES; i++) {
            int len = snprintf(text, sizeof text, "input a: f32[N, %d]\n", sizes[i]);
            for (int k = 1; k < n; k++)
                len += snprintf(text + len, sizeof text - (size_t)len,
                                "const c%d: f32[%d] = random(%d)\n", k, sizes[i], k);
            len += snprintf(text + len, sizeof text - (size_t)len, "y = Elementwise(a");
            for (int k = 1; k < n; k++) len += snprintf(text + len, sizeof text - (size_t)len, ", c%d", k);
            snprintf(text + len, sizeof text - (size_t)len, ") expr=\"%s\"\noutput y\n", exprs[n - 1]);
            check(TOL);
        }

    /* Sixteen inputs of mixed shapes, each weighted so none cancels. */
    int len = snprintf(text, sizeof text, "input a: f32[N, 3, 5]\n");
    static const char *const shapes[] = {"[5]", "[3, 1]", "[1]", "[1, 5]", "[3, 5]"};
    for (int k = 1; k < 16; k++)
        len += snprintf(text + len, sizeof text - (size_t)len, "const c%d: f32%s = random(%d)\n", k,
                        shapes[k % 5], k);
    len += snprintf(text + len, sizeof text - (size_t)len, "y = Elementwise(a");
    for (int k = 1; k < 16; k++) len += snprintf(text + len, sizeof text - (size_t)len, ", c%d", k);
    len += snprintf(text + len, sizeof text - (size_t)len, ") expr=\"x0");
    for (int k = 1; k < 16; k++) len += snprintf(text + len, sizeof text - (size_t)len, " + x%d * %d", k, k);
    snprintf(text + len, sizeof text - (size_t)len, "\"\noutput y\n");
    check(TOL);
}

/* NumPy broadcasting, inputs in any order, the batch coming from any input. */
static void test_broadcasting(void **state)
{
    (void)state;
    for (int i = 0; i < N_SIZES; i++) {
        int w = sizes[i];
        /* [N, w] with [w] and the scalar [1] */
        snprintf(text, sizeof text,
                 "input x: f32[N, %d]\n"
                 "const b: f32[%d] = random(1)\n"
                 "const s: f32[1] = random(2)\n"
                 "y = Elementwise(x, b, s) expr=\"relu(x0 + x1) * x2\"\n"
                 "output y\n", w, w);
        check(TOL);
        /* The lower-rank input first, the batch from the second */
        snprintf(text, sizeof text,
                 "input x: f32[N, 3, %d]\n"
                 "const b: f32[%d] = random(1)\n"
                 "y = Elementwise(b, x) expr=\"x0 - x1\"\n"
                 "output y\n", w, w);
        check(TOL);
        /* [N, 1] with [1, w]: both broadcast, an outer product */
        snprintf(text, sizeof text,
                 "input x: f32[N, 1]\n"
                 "const b: f32[1, %d] = random(1)\n"
                 "y = Elementwise(x, b) expr=\"x0 * x1\"\n"
                 "output y\n", w);
        check(TOL);
    }
    /* [N, 3, 5, 7] with per-channel [3, 1, 1] and a scalar */
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 5, 7]\n"
             "const g: f32[3, 1, 1] = random(1, 0.5, 1.5)\n"
             "const s: f32[1] = full(0.25)\n"
             "y = Elementwise(x, g, s) expr=\"clip(x0 * x1 - x2, -1, 1)\"\n"
             "output y\n");
    check(TOL);
    /* Only scalars and an unused input */
    snprintf(text, sizeof text,
             "input x: f32[N, 17]\n"
             "const s: f32[1] = full(3)\n"
             "y = Elementwise(x, s) expr=\"x1 * 2\"\n"
             "output y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[1]\n"
             "y = Elementwise(x) expr=\"sigmoid(x0)\"\n"
             "output y\n");
    check(TOL);
}

/* Broadcasting that alternates along four or five dims cannot merge into
 * the kernel's three grid dims: one launch per outer index. */
static void test_many_launches(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 5, 7]\n"
             "const a: f32[3, 1, 7] = random(1)\n"
             "const b: f32[1, 5, 1] = random(2)\n"
             "y = Elementwise(x, a, b) expr=\"x0 * x1 + x2\"\n"
             "output y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 2, 3, 4, 5]\n"
             "const a: f32[2, 1, 4, 1] = random(1)\n"
             "const b: f32[3, 1, 5] = random(2)\n"
             "y = Elementwise(a, x, b) expr=\"tanh(x1) + x0 * x2\"\n"
             "output y\n");
    check(TOL);
    snprintf(text, sizeof text,
             "input x: f32[N, 1, 3, 1, 17]\n"
             "const a: f32[2, 1, 4, 1] = random(1)\n"
             "y = Elementwise(x, a) expr=\"max(x0, x1)\"\n"
             "output y\n");
    check(TOL);
}

/* A chain of Elementwise nodes, and one next to standalone ops. */
static void test_in_a_graph(void **state)
{
    (void)state;
    snprintf(text, sizeof text,
             "input x: f32[N, 17]\n"
             "const w: f32[17, 17] = random(1)\n"
             "const b: f32[17] = random(2)\n"
             "h = Gemm(x, w, b) transB=1\n"
             "e1 = Elementwise(h, x) expr=\"gelu(x0) + x1\"\n"
             "r = Relu(e1)\n"
             "e2 = Elementwise(r, e1, b) expr=\"x0 * x1 - x2\"\n"
             "y = Softmax(e2)\n"
             "output y\n"
             "output e1\n");
    check(TOL);
}

/* Nodes with the same expression and input count share one program; a
 * different input count is a different program. */
static void test_programs_shared(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input x: f32[N, 17]\n"
                              "const b: f32[17] = random(1)\n"
                              "const s: f32[1] = full(0.5)\n"
                              "e1 = Elementwise(x, b) expr=\"relu(x0 + x1) * 0.123\"\n"
                              "e2 = Elementwise(e1, s) expr=\"relu(x0 + x1) * 0.123\"\n"
                              "e3 = Elementwise(e2, s, b) expr=\"relu(x0 + x1) * 0.123\"\n"
                              "output e1\n"  /* outputs are never fused away */
                              "output e2\n"
                              "output e3\n");
    int mem0, disk0, built0, mem1, disk1, built1;
    clg_program_cache_stats(ctx, &mem0, &disk0, &built0);
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    clg_program_cache_stats(ctx, &mem1, &disk1, &built1);
    assert_int_equal((disk1 - disk0) + (built1 - built0), 2); /* 2 inputs, 3 inputs */
    assert_true(mem1 - mem0 >= 1);                            /* e2 reuses e1's */
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function),
        cmocka_unit_test(test_edge_values),
        cmocka_unit_test(test_gelu_tail),
        cmocka_unit_test(test_input_counts),
        cmocka_unit_test(test_broadcasting),
        cmocka_unit_test(test_many_launches),
        cmocka_unit_test(test_in_a_graph),
        cmocka_unit_test(test_programs_shared),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
