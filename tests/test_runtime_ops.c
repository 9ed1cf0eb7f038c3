/* Every op on the OpenCL device against the reference executor, over shapes
 * that include 1, 3, 17 and 127 and sizes that are no multiple of any
 * work-group size, compiled as written (-O0: each op by its own lowering)
 * and optimised (-O2). Tolerances are relative to each output's largest
 * magnitude (tests/device_check.h); 1e-4 unless noted beside a case. */
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

/* The graph in `text` with its Attention nodes run each way: the fused
 * kernel, the unfused launches, and as measurement picks (selection). */
static void check_attention_ways(double tol)
{
    static const char *const ways[] = {"fused", "unfused", NULL};
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

static void test_pools(void **state)
{
    (void)state;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_bias_shapes_and_trans_a),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_elementwise_ops_one_launch),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_attention_pattern),
        cmocka_unit_test(test_attention_head_too_large),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_pad_then_window),
        cmocka_unit_test(test_shape_ops),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
