/* Generated GEMM kernels (kernels/gemm.cl, runtime/gemm/variants.c) against
 * the reference executor: every variant forced with
 * CLGRAPH_GEMM=generated:NAME, M in {1, 3, 17, 64, 127}, odd and even N and
 * K, every transpose, with and without the Gemm's own bias and each kind of
 * epilogue (an Elementwise node after the Gemm run by the same kernel),
 * sampled so that each variant meets a third of the epilogues. The
 * graphs run at -O0 so they stay as written. Tolerance: 1e-4 of each
 * output's largest magnitude (tests/device_check.h); K up to 130 sums in
 * float with fma, far inside it. Also: a fused pair is one launch, MatMul
 * and Conv2D through the same kernels, the choice file is written on a
 * miss and a corrupt one is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "device_check.h"
#include "gemm.h"
#include "runtime.h"
#include "tuning.h"

#define TOL 1e-4

static char text[8192];

/* The Elementwise node after the Gemm: its expression and extra inputs
 * (declared as graph inputs, so they are random; %d is M, %d N). */
typedef struct epilogue {
    const char *expr; /* NULL: no Elementwise node */
    const char *decl; /* extra inputs x1.. as declarations, printf with M, N */
    const char *args; /* ", s1, s2" */
} epilogue;

static const epilogue epilogues[] = {
    {NULL, "", ""},
    {"relu(x0 + x1)", "input e1: f32[%d]\n", ", e1"},
    {"relu(x0 + x1 + x2)", "input e1: f32[%d]\ninput e2: f32[%d, %d]\n", ", e1, e2"},
    {"sigmoid(x0) * x1 - x2", "input e1: f32[%d, 1]\ninput e2: f32[%d, %d]\n", ", e1, e2"},
    {"gelu(x0 * 0.5)", "", ""},
    /* every helper function (the packed kernels run them on vectors) */
    {"clip(x0, -0.5, 0.5) + leaky_relu(x1, 0.1) * max(x0, x2) - min(x0, 0.25) + tanh(x2) + gelu_tanh(x0)",
     "input e1: f32[%d]\ninput e2: f32[%d, %d]\n", ", e1, e2"},
    /* the helpers that name their vector type (@T) and pow's widening */
    {"where(gt(x0, x1), hard_swish(x0), softplus(x2)) + eq(x2, x2) - pow(abs(x1) + 0.5, x0) * sign(x2) + "
     "xor(lt(x0, 0), ge(x1, 0.25)) + mish(x0)",
     "input e1: f32[%d]\ninput e2: f32[%d, %d]\n", ", e1, e2"},
};
#define N_EPILOGUES (int)(sizeof epilogues / sizeof *epilogues)

/* 1: the GEMM's B is a graph input rather than a constant (packed every
 * run rather than once by the packed-B variants). */
static int w_is_input;

static void write_graph(int m, int n, int k, int ta, int tb, int bias, const epilogue *ep)
{
    int len = snprintf(text, sizeof text, "input a: f32[%d, %d]\n%s w: f32[%d, %d]%s\n", ta ? k : m, ta ? m : k,
                       w_is_input ? "input" : "const", tb ? n : k, tb ? k : n,
                       w_is_input ? "" : " = random(1, -1, 1)");
    if (bias) len += snprintf(text + len, sizeof text - (size_t)len, "const b: f32[%d] = random(2, -1, 1)\n", n);
    if (ep->expr) {
        /* e1 is [N] or [M, 1], e2 [M, N] */
        if (strstr(ep->decl, "[%d, 1]"))
            len += snprintf(text + len, sizeof text - (size_t)len, ep->decl, m, m, n);
        else
            len += snprintf(text + len, sizeof text - (size_t)len, ep->decl, n, m, n);
    }
    len += snprintf(text + len, sizeof text - (size_t)len, "y = Gemm(a, w%s) transA=%d transB=%d alpha=0.5 beta=1.5\n",
                    bias ? ", b" : "", ta, tb);
    if (ep->expr)
        snprintf(text + len, sizeof text - (size_t)len, "z = Elementwise(y%s) expr=\"%s\"\noutput z\n", ep->args,
                 ep->expr);
    else
        snprintf(text + len, sizeof text - (size_t)len, "output y\n");
}

static void check_text(clg_context *ctx, double tol)
{
    clg_graph *g = test_parse(text);
    double err = test_device_error_at(ctx, g, 1, 7, 0);
    clg_graph_destroy(g);
    if (!(err <= tol)) fail_msg("%s: error %.3g > %.3g for\n%s", test_gemm_path(), err, tol, text);
}

static void test_every_variant(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const int ms[] = {1, 3, 17, 64, 127};
    static const int nks[][2] = {{16, 16}, {17, 33}, {130, 7}, {1, 128}};
    char env[64];
    for (int v = 0; v < CLG_GEMM_VARIANTS; v++) {
        snprintf(env, sizeof env, "generated:%s", clg_gemm_variants[v].name);
        test_set_gemm(env);
        ctx = test_context();
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            /* A variant that does not fit the transposes falls back to
             * another generated one: still checked. */
            for (size_t mi = 0; mi < sizeof ms / sizeof *ms; mi++)
                for (size_t s = 0; s < sizeof nks / sizeof *nks; s++)
                    for (int e = 0; e < N_EPILOGUES; e++) {
                        /* A third of the epilogues per variant and
                         * transpose (every one with some variant, and
                         * with some packed one: each combination is a
                         * program to compile), all of those at two
                         * shapes, half at the others. */
                        if ((e + v + t) % 3 != 0) continue;
                        if (s >= 2 && (e + (int)mi) % 2 != 0) continue;
                        /* B as an input too, sampled */
                        w_is_input = (e + (int)mi + (int)s) % 4 == 1;
                        write_graph(ms[mi], nks[s][0], nks[s][1], ta, tb, (e + t + (int)mi) % 2, &epilogues[e]);
                        check_text(ctx, TOL);
                    }
        }
    }
    w_is_input = 0;
    test_set_gemm(NULL);
}

/* The work-group variants for GPUs (kernels/gemm_local.cl; never timed on a
 * CPU, so forced here): sizes that fill no tile and several (1, 7, 33, 65,
 * 130 for M, N and K: edge tiles in every dim, K not a multiple of the
 * slice depth 16 nor of 4), every transpose, each epilogue with and
 * without the bias, B constant (packed once) and an input (packed every
 * run); then at batches 1, 3 and 17 a Gemm and a batched MatMul whose
 * epilogues -O2 absorbs (test_check_text). */
static void test_local_variants(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const int sizes[] = {1, 7, 33, 65, 130};
    static const char *const batched[] = {
        "input x: f32[N, 33]\nconst w: f32[65, 33] = random(1, -1, 1)\nconst b: f32[65] = random(2, -1, 1)\n"
        "input r: f32[N, 65]\nd = Gemm(x, w, b) transB=1\ns = Add(d, r)\ny = Relu(s)\noutput y\n",
        "input x: f32[N, 7, 130]\nconst w: f32[130, 33] = random(1, -1, 1)\nconst c: f32[33] = random(2, -1, 1)\n"
        "m = MatMul(x, w)\ny = Elementwise(m, c) expr=\"tanh(x0 * x1)\"\noutput y\n",
    };
    char env[64];
    int ran = 0, n_local = 0;
    for (int v = 0; v < CLG_GEMM_VARIANTS; v++) {
        if (clg_gemm_variants[v].wm == 0) continue;
        n_local++;
        snprintf(env, sizeof env, "generated:%s", clg_gemm_variants[v].name);
        test_set_gemm(env);
        clg_context *ctx = test_context();
        for (int t = 0; t < 4; t++)
            for (int e = 0; e < N_EPILOGUES; e++)
                for (int s = 0; s < 3; s++) {
                    /* three shapes per program, every size in each dim
                     * over the epilogues */
                    int m = sizes[(e + s) % 5], n = sizes[(e + 2 * s + t + 1) % 5], k = sizes[(2 * e + s + t + 3) % 5];
                    w_is_input = (e + s) % 3 == 2;
                    write_graph(m, n, k, t & 1, t >> 1, (e + t) % 2, &epilogues[e]);
                    check_text(ctx, TOL);
                    ran++;
                }
        for (size_t i = 0; i < sizeof batched / sizeof *batched; i++) test_check_text(batched[i], TOL);
    }
    w_is_input = 0;
    test_set_gemm(NULL);
    assert_true(n_local >= 3);
    assert_int_equal(ran, n_local * 4 * N_EPILOGUES * 3);
}

/* Gemm -> Elementwise, absorbed at -O2 into one Gemm with an epilogue, is
 * one launch with a generated kernel, two (bias copy excluded: no bias)
 * with CLBlast; both right. */
static void test_fused_pair_is_one_launch(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    write_graph(3, 17, 33, 0, 1, 0, &epilogues[2]);
    static const char *const modes[] = {"generated", "clblast"};
    static const int launches[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        check_text(ctx, TOL);
        clg_graph *g = test_parse(text);
        clg_model *m = NULL;
        clg_model_options o = CLG_MODEL_OPTIONS_INIT;
        o.opt_level = 2; /* absorb-epilogue */
        assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
        static float a[3 * 33], e1[17], e2[3 * 17], z[3 * 17];
        clg_tensor in[3] = {{a, 2, {3, 33}, CLG_DTYPE_F32}, {e1, 1, {17}, CLG_DTYPE_F32}, {e2, 2, {3, 17}, CLG_DTYPE_F32}};
        clg_tensor out = {z, 2, {3, 17}, CLG_DTYPE_F32};
        assert_int_equal(clg_model_run(m, in, 3, &out, 1), CLG_OK);
        clg_model_stats st;
        assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
        assert_int_equal(st.launches_per_inference, launches[i]);
        clg_model_destroy(m);
        clg_graph_destroy(g);
    }
    test_set_gemm(NULL);
}

/* The Gemm with the absorbed epilogue takes the Elementwise's place, so
 * its epilogue may read a value computed after the original Gemm (h1
 * below) as well as before it (h2). */
static void test_epilogue_input_computed_later(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const exprs[] = {"x0 * x1 + 1", "relu(x0 - x1)"};
    static const char *const orders[] = {"h1, h2", "h2, h1"};
    test_set_gemm("generated");
    ctx = test_context();
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text,
                 "input a: f32[5, 12]\n"
                 "const w1: f32[12, 9] = random(1, -1, 1)\n"
                 "const w2: f32[12, 9] = random(2, -1, 1)\n"
                 "h1 = Gemm(a, w1)\n"
                 "h2 = Gemm(a, w2)\n"
                 "z = Elementwise(%s) expr=\"%s\"\n"
                 "output z\n", orders[i], exprs[i]);
        check_text(ctx, TOL);
    }
    test_set_gemm(NULL);
}

/* Epilogues as written in the text (-O0, nothing absorbed): a Gemm with a
 * bias and two epilogue inputs, one broadcast per row, in the kernel or
 * after CLBlast; a batched MatMul whose 3-D result takes its epilogue as a
 * launch after the product. */
static void test_written_epilogues(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated", "generated:p8x32", "generated:d1x1v8", "clblast"};
    static const char *const graphs[] = {
        "input a: f32[5, 12]\nconst w: f32[9, 12] = random(1, -1, 1)\nconst b: f32[9] = random(2, -1, 1)\n"
        "input r: f32[5, 9]\ninput s: f32[5, 1]\n"
        "y = Gemm(a, w, b, r, s) transB=1 epilogue=\"relu(x0 + x1) * x2\"\noutput y\n",
        "input a: f32[2, 5, 12]\nconst w: f32[12, 9] = random(1, -1, 1)\ninput r: f32[2, 1, 9]\n"
        "y = MatMul(a, w, r) epilogue=\"tanh(x0 - x1)\"\noutput y\n",
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        for (size_t j = 0; j < sizeof graphs / sizeof *graphs; j++) {
            snprintf(text, sizeof text, "%s", graphs[j]);
            check_text(ctx, TOL);
        }
    }
    test_set_gemm(NULL);
}

/* A transformer's projection [N, S, D] x [D, F] with its bias + GELU and a
 * residual absorbed at -O2 (the bias read first, as PyTorch's Add(b,
 * MatMul) has it): one GEMM of N*S rows with the epilogue in its store,
 * one launch on the generated paths (its constant B packed once), the
 * epilogue a launch after CLBlast; a [1, 1, F] bias, and a [N, 1, F]
 * input that is no row of the GEMM (not absorbed: two launches). Every
 * path at batches 1 and 3 against the reference of the graph as written;
 * 5 x 17 rows by 33 columns: partial tiles on every side. */
static void test_matmul_3d_epilogue(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated:p8x32", "generated:n4x16", "generated:g2x4", "clblast"};
    static const struct { const char *b, *r; int launches; } cases[] = {
        {"[33]", "[N, 5, 33]", 1}, {"[1, 1, 33]", "[N, 5, 33]", 1}, {"[33]", "[N, 1, 33]", 2}};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            snprintf(text, sizeof text,
                     "input a: f32[N, 5, 17]\nconst w: f32[17, 33] = random(1, -1, 1)\n"
                     "const b: f32%s = random(2)\ninput r: f32%s\n"
                     "h = MatMul(a, w)\ny = Elementwise(b, h, r) expr=\"gelu(x0 + x1) + x2\"\noutput y\n",
                     cases[c].b, cases[c].r);
            for (int64_t batch = 1; batch <= 3; batch += 2) {
                clg_graph *g = test_parse(text);
                double err = test_device_error_at(ctx, g, batch, 11, 2);
                clg_graph_destroy(g);
                if (!(err <= TOL)) fail_msg("%s, batch %lld: error %.3g for\n%s", modes[i], (long long)batch, err, text);
            }
            clg_graph *g = test_parse(text);
            clg_model *m = NULL;
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.opt_level = 2;
            assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
            clg_model_stats st;
            assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
            int expected = cases[c].launches + (strcmp(modes[i], "clblast") == 0 && cases[c].launches == 1);
            if (st.launches_per_inference != expected)
                fail_msg("%s: %d launches, expected %d, for\n%s", modes[i], st.launches_per_inference, expected, text);
            clg_model_destroy(m);
            clg_graph_destroy(g);
        }
    }
    test_set_gemm(NULL);
}

/* Batched products of two computed tensors (attention's Q·KT and P·V as
 * MatMuls) run on a generated kernel, every product of the batch in one
 * launch (the packed variants pack each product's B first), or through
 * CLBlast (CLGRAPH_GEMM=clblast): sizes off every tile edge, one and two
 * batch dims, a broadcast batch (one launch per product), at batches 1
 * and 3 against the reference. */
static void test_batched_products(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated", "generated:p8x32", "generated:n4x16", "generated:g1x1",
                                        "clblast"};
    static const char *const graphs[] = {
        "input a: f32[N, 33, 17]\ninput b: f32[N, 17, 45]\ny = MatMul(a, b)\noutput y\n",
        "input a: f32[N, 3, 9, 64]\ninput b: f32[N, 3, 64, 1]\ny = MatMul(a, b)\noutput y\n",
        "input a: f32[N, 2, 1, 40]\ninput b: f32[N, 2, 40, 129]\ny = MatMul(a, b)\noutput y\n",
        "input a: f32[N, 2, 7, 5]\ninput b: f32[2, 5, 3]\ny = MatMul(a, b)\noutput y\n",
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        for (size_t j = 0; j < sizeof graphs / sizeof *graphs; j++)
            for (int64_t batch = 1; batch <= 3; batch += 2) {
                clg_graph *g = test_parse(graphs[j]);
                double err = test_device_error_at(ctx, g, batch, 5, 0);
                clg_graph_destroy(g);
                if (!(err <= TOL)) fail_msg("%s, batch %lld: error %.3g for\n%s", modes[i], (long long)batch, err, graphs[j]);
            }
    }
    test_set_gemm(NULL);
}

/* MatMul with a shared B runs as a Gemm: A's batch dims folded into M, an
 * Elementwise after a 2-D MatMul as the kernel's epilogue, B constant or
 * not; every path against the reference. With a constant B the packed
 * variant packs it once: one launch per run; an input B adds the pack. */
static void test_matmul_as_gemm(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated:p12x32", "generated:p4x64", "generated:n4x16", "clblast"};
    static const char *const graphs[] = {
        "input a: f32[2, 5, 17]\nconst w: f32[17, 33] = random(1, -1, 1)\ny = MatMul(a, w)\noutput y\n",
        "input a: f32[7, 40]\n%s w: f32[40, 65]%s\ninput e1: f32[65]\ny = MatMul(a, w)\n"
        "z = Elementwise(y, e1) expr=\"relu(x0 + x1)\"\noutput z\n",
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        snprintf(text, sizeof text, "%s", graphs[0]);
        check_text(ctx, TOL);
        for (int input = 0; input < 2; input++) {
            snprintf(text, sizeof text, graphs[1], input ? "input" : "const", input ? "" : " = random(1, -1, 1)");
            check_text(ctx, TOL);
            clg_graph *g = test_parse(text);
            clg_model *m = NULL;
            clg_model_options o = CLG_MODEL_OPTIONS_INIT;
            o.opt_level = 2; /* the Elementwise absorbed as the MatMul's epilogue */
            assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
            clg_model_stats st;
            assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
            int expected = strcmp(modes[i], "clblast") == 0 ? 2 : !strncmp(modes[i], "generated:p", 11) && input ? 2 : 1;
            if (st.launches_per_inference != expected)
                fail_msg("%s, B %s: %d launches, expected %d", modes[i], input ? "an input" : "constant",
                         st.launches_per_inference, expected);
            /* a constant B packed once, 65 columns in panels of 32 or 64 */
            uint64_t packed = !input && strstr(modes[i], ":p12x32") ? 3 * 32 * 40 * 4
                              : !input && strstr(modes[i], ":p4x64") ? 2 * 64 * 40 * 4 : 0;
            if (st.prepared_bytes != packed)
                fail_msg("%s: %llu prepared bytes, expected %llu", modes[i], (unsigned long long)st.prepared_bytes,
                         (unsigned long long)packed);
            clg_model_destroy(m);
            clg_graph_destroy(g);
        }
    }
    test_set_gemm(NULL);
}

/* Conv2D through the packed variants (im2col packing the column matrix,
 * the kernel adding the bias and writing NCHW), the same flipped (W^T
 * packed, the column matrix read transposed: variant names ending in t),
 * the implicit GEMM (no column matrix: names ending in i) and through
 * CLBlast, at batches 1, 3 and 17 (test_check_text), with
 * strides, padding, dilation, no bias, one output channel and odd sizes;
 * grouped convolutions always take CLBlast's path. */
static void test_conv_as_gemm(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated:p12x32", "generated:p8x32",  "generated:p4x64",
                                        "generated:p12x32t", "generated:p4x64t", "generated:p8x32i",
                                        "generated:l4x4p",   "generated:l2x4pt", "generated:l4x4pi", "clblast"};
    static const char *const convs[] = {
        "input x: f32[N, 3, 11, 9]\nconst w: f32[5, 3, 3, 3] = random(1, -1, 1)\nconst b: f32[5] = random(2, -1, 1)\n"
        "y = Conv2D(x, w, b) pads=[1, 1, 1, 1]\noutput y\n",
        "input x: f32[N, 3, 17, 13]\nconst w: f32[13, 3, 7, 7] = random(1, -1, 1)\nconst b: f32[13] = random(2, -1, 1)\n"
        "y = Conv2D(x, w, b) strides=[2, 2] pads=[3, 3, 3, 3]\noutput y\n",
        "input x: f32[N, 4, 8, 8]\nconst w: f32[1, 4, 1, 1] = random(1, -1, 1)\ny = Conv2D(x, w)\noutput y\n",
        "input x: f32[N, 2, 10, 10]\nconst w: f32[3, 2, 3, 3] = random(1, -1, 1)\n"
        "y = Conv2D(x, w) dilations=[2, 2] pads=[0, 1, 2, 1]\noutput y\n",
        "input x: f32[N, 4, 6, 6]\nconst w: f32[6, 2, 3, 3] = random(1, -1, 1)\nconst b: f32[6] = random(2, -1, 1)\n"
        "y = Conv2D(x, w, b) group=2 pads=[1, 1, 1, 1]\noutput y\n",
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        for (size_t c = 0; c < sizeof convs / sizeof *convs; c++) test_check_text(convs[c], TOL);
    }
    test_set_gemm(NULL);
}

/* Conv2D epilogues as written in the text, on each path: in the packed
 * kernels' NCHW store (as written and flipped, columns of 16 pixels that
 * run into the next image at batches 3 and 17), in the depthwise kernel's,
 * and as a launch after CLBlast or where an input has no one pixel stride
 * (the [8] along W below). Inputs broadcast per channel [C, 1, 1], per
 * image and channel [N, C, 1, 1], per image and pixel [N, 1, H, W], or are
 * a whole residual; one pixel per image (the 1x1 input) too. */
static void test_conv_epilogues(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    static const char *const modes[] = {"generated:p12x32", "generated:p4x64", "generated:p8x32t", "generated:p4x64i",
                                        "generated:l2x4p",  "generated:l4x4pt", "generated:l2x4pi", "clblast"};
    static const char *const convs[] = {
        "input x: f32[N, 3, 11, 9]\nconst w: f32[5, 3, 3, 3] = random(1, -1, 1)\nconst b: f32[5] = random(2, -1, 1)\n"
        "const c: f32[5, 1, 1] = random(3, -1, 1)\ninput r: f32[N, 5, 11, 9]\n"
        "y = Conv2D(x, w, b, c, r) pads=[1, 1, 1, 1] epilogue=\"relu(x0 + x1 + x2)\"\noutput y\n",
        "input x: f32[N, 3, 17, 13]\nconst w: f32[13, 3, 7, 7] = random(1, -1, 1)\ninput s: f32[N, 13, 1, 1]\n"
        "input t: f32[N, 1, 9, 7]\n"
        "y = Conv2D(x, w, s, t) strides=[2, 2] pads=[3, 3, 3, 3] epilogue=\"clip(x0 * x1 + x2, -0.5, 0.5)\"\noutput y\n",
        "input x: f32[N, 2, 10, 10]\nconst w: f32[3, 2, 3, 3] = random(1, -1, 1)\ninput r: f32[8]\n"
        "y = Conv2D(x, w, r) dilations=[2, 2] pads=[0, 1, 2, 1] epilogue=\"tanh(x0 - x1)\"\noutput y\n",
        "input x: f32[N, 4, 1, 1]\nconst w: f32[6, 4, 1, 1] = random(1, -1, 1)\nconst b: f32[6] = random(2, -1, 1)\n"
        "input r: f32[N, 6, 1, 1]\ny = Conv2D(x, w, b, r) epilogue=\"x0 * x1\"\noutput y\n",
        "input x: f32[N, 4, 6, 6]\nconst w: f32[6, 2, 3, 3] = random(1, -1, 1)\ninput r: f32[N, 6, 6, 6]\n"
        "y = Conv2D(x, w, r) group=2 pads=[1, 1, 1, 1] epilogue=\"relu(x0 + x1)\"\noutput y\n",
        "input x: f32[N, 4, 9, 9]\nconst w: f32[8, 1, 3, 3] = random(1, -1, 1)\nconst b: f32[8] = random(2, -1, 1)\n"
        "input r: f32[N, 8, 5, 5]\n"
        "y = Conv2D(x, w, b, r) group=4 strides=[2, 2] pads=[1, 1, 1, 1] epilogue=\"clip(x0 + x1, 0, 6)\"\noutput y\n",
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        test_set_gemm(modes[i]);
        ctx = test_context();
        for (size_t c = 0; c < sizeof convs / sizeof *convs; c++) test_check_text(convs[c], TOL);
    }
    test_set_gemm(NULL);
}

/* Lines of the one gemm-*.txt file in dir (its path to path), or -1. */
static int choice_lines(const char *dir, char *path, size_t size)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int lines = -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "gemm-", 5) != 0 || !strstr(de->d_name, ".txt")) continue;
        snprintf(path, size, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int c;
        lines = 0;
        while ((c = fgetc(f)) != EOF) lines += c == '\n';
        fclose(f);
    }
    closedir(d);
    return lines;
}

static void write_text_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

/* With a cache directory of its own (other tests write theirs at the same
 * time): a miss is measured and written (format line + one line for the
 * one shape), a second compile reads it, a file of junk is ignored and
 * replaced, and an entry naming an unknown variant is measured again. */
static void test_choice_file(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char dir[] = "/tmp/clg_gemm_choice_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *old = getenv("CLGRAPH_CACHE_DIR");
    char *saved = old ? strdup(old) : NULL;
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", dir, 1), 0);
    /* measured (only when asked: CLGRAPH_GEMM=measure): the file is what is tested */
    assert_int_equal(setenv("CLGRAPH_GEMM", "measure", 1), 0);
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, 0, NULL, NULL) != CLG_OK) fail_msg("context: %s", clg_context_errmsg(ctx));
    char path[4400];
    write_graph(5, 29, 11, 0, 1, 1, &epilogues[1]);
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2);
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2);
    write_text_file(path, "not a choice file\n5 29 11 0 1 1 g1x1\n");
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2);
    write_text_file(path, "clgraph-gemm-choices 3\n5 29 11 0 1 1 no-such-variant\n");
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 3);
    /* a file of the previous version is not read: measured again */
    write_text_file(path, "clgraph-gemm-choices 1\n5 29 11 0 1 1 g1x1\n");
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2);
    char head[64] = "";
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_string_equal(head, "clgraph-gemm-choices 3\n");
    /* A line followed by another is read (not only the last line): the
     * shape is found, nothing measured, nothing appended. */
    char measured[512] = "";
    f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(measured, 1, sizeof measured - 64, f);
    fclose(f);
    measured[got] = '\0';
    strcat(measured, "7 7 7 0 0 0 g1x1\n");
    write_text_file(path, measured);
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 3);
    clg_context_destroy(ctx);
    unsetenv("CLGRAPH_GEMM");
    if (saved) {
        setenv("CLGRAPH_CACHE_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("CLGRAPH_CACHE_DIR");
    }
    clg_remove_tree(dir);
}

/* What a context reported through on_build. */
typedef struct builds_seen {
    int starts, done, trials, from_source;
    char options[16][256];
} builds_seen;

static void note_build(const clg_build_event *e, void *user)
{
    builds_seen *b = user;
    if (e->kind == CLG_BUILD_START) {
        b->starts++;
        return;
    }
    if (e->kind != CLG_BUILD_DONE) return; /* CLG_BUILD_SAVE: test_program_cache */
    if (b->done < 16) snprintf(b->options[b->done], sizeof b->options[0], "%s", e->options ? e->options : "");
    b->done++;
    b->trials += e->trial;
    b->from_source += e->from_source;
}

static clg_context *context_seeing(const char *dir, const char *gemm, builds_seen *seen)
{
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = dir;
    o.gemm = gemm;
    o.on_build = note_build;
    o.on_build_user = seen;
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    return ctx;
}

/* pack_b is a program of its own whose options are only the panels'
 * layout (docs/runtime.md, "Start-up"): two packed GEMMs whose gemm
 * programs differ (one with a bias) share one pack_b program, and no gemm
 * program is built with PACK_B. Before, each gemm program held pack_b and
 * a plan built 2 programs here; now 3, of which one is pack_b. The results
 * still match the reference. */
static void test_pack_b_shared(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char dir[] = "/tmp/clg_gemm_pack_XXXXXX";
    assert_non_null(mkdtemp(dir));
    builds_seen seen = {0};
    clg_context *ctx = context_seeing(dir, "generated:p4x64", &seen);
    snprintf(text, sizeof text,
             "input a: f32[5, 11]\n"
             "const w: f32[11, 29] = random(1, -1, 1)\n"
             "const v: f32[11, 29] = random(3, -1, 1)\n"
             "const b: f32[29] = random(2, -1, 1)\n"
             "y1 = Gemm(a, w)\n"
             "y2 = Gemm(a, v, b) alpha=0.5 beta=1.5\n"
             "output y1\noutput y2\n");
    check_text(ctx, TOL);
    int pack = 0, gemm = 0;
    for (int i = 0; i < seen.done && i < 16; i++) {
        if (strstr(seen.options[i], "-DPACK_B=1 -DNV=4 -DTRANS_B=0"))
            pack++;
        else if (strstr(seen.options[i], "-DMR=4 -DNV=4"))
            gemm++;
        if (strstr(seen.options[i], "-DPACK_B") && strstr(seen.options[i], "-DMR="))
            fail_msg("pack_b built with a gemm program's options: %s", seen.options[i]);
    }
    if (pack != 1 || gemm != 2 || seen.done != 3)
        fail_msg("%d programs: %d pack_b, %d packed gemm (expected 3: 1, 2)", seen.done, pack, gemm);
    clg_context_destroy(ctx);
    clg_remove_tree(dir);
}

/* The implicit GEMM takes the convolution's column stride as an argument
 * (kernels/gemm.cl conv_sw), its kernel size as defines: two 3x3
 * convolutions of strides 1 and 2 with the same epilogue build one gemm
 * program (before, one per stride). The results match the reference. */
static void test_conv_strides_share_program(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char dir[] = "/tmp/clg_gemm_stride_XXXXXX";
    assert_non_null(mkdtemp(dir));
    builds_seen seen = {0};
    clg_context *ctx = context_seeing(dir, "generated:p4x64i", &seen);
    snprintf(text, sizeof text,
             "input x: f32[N, 3, 9, 40]\n"
             "const w: f32[5, 3, 3, 3] = random(1, -0.5, 0.5)\n"
             "const v: f32[5, 3, 3, 3] = random(3, -0.5, 0.5)\n"
             "y1 = Conv2D(x, w) strides=[1, 1] pads=[1, 1, 1, 1] dilations=[1, 1] epilogue=\"relu(x0)\"\n"
             "y2 = Conv2D(x, v) strides=[2, 2] pads=[1, 1, 1, 1] dilations=[1, 1] epilogue=\"relu(x0)\"\n"
             "output y1\noutput y2\n");
    check_text(ctx, TOL);
    int conv = 0;
    for (int i = 0; i < seen.done && i < 16; i++) {
        if (strstr(seen.options[i], "-DCONV_KH=3")) conv++;
        if (strstr(seen.options[i], "-DCONV_SW")) fail_msg("built with the stride as a define: %s", seen.options[i]);
    }
    if (conv != 1) fail_msg("%d programs, %d of them 3x3 convolutions (expected 1)", seen.done, conv);
    clg_context_destroy(ctx);
    clg_remove_tree(dir);
}

/* The default path: nothing remembered, nothing measured. A Gemm with its
 * bias builds one program (a CPU's default variant; on other devices
 * CLBlast, whose programs are its own) and writes no choice file; the
 * results match the reference. A choice the file remembers (measured
 * earlier) is what the default path then runs. */
static void test_default_choice(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char dir[] = "/tmp/clg_gemm_default_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[4400];
    builds_seen seen = {0};
    clg_context *ctx = context_seeing(dir, NULL, &seen);
    clg_device_info info;
    clg_context_device(ctx, &info);
    write_graph(5, 29, 11, 0, 1, 1, &epilogues[0]);
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), -1); /* no file */
    assert_int_equal(seen.trials, 0);
    assert_int_equal(atomic_load(&ctx->gemm_measurements), 0);
    if (info.type == CLG_DEVICE_CPU) {
        int builds = 0;
        clg_program_cache_stats(ctx, NULL, NULL, &builds);
        assert_int_equal(builds, 1);
        assert_int_equal(seen.from_source, 1);
        assert_int_equal(seen.starts, 1);
        /* d1x1v8 (few rows, B transposed) at the device's width, 8 at most */
        char vw[24];
        snprintf(vw, sizeof vw, "-DVW=%d", ctx->vector_width < 8 ? ctx->vector_width : 8);
        if (!strstr(seen.options[0], vw)) fail_msg("default GEMM built with %s, not %s", seen.options[0], vw);
    }
    clg_context_destroy(ctx);

    /* A remembered choice wins over the default. */
    snprintf(path, sizeof path, "%s/x", dir);
    memset(&seen, 0, sizeof seen);
    ctx = context_seeing(dir, "measure", &seen); /* writes the file */
    check_text(ctx, TOL);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2);
    assert_true(seen.trials >= 1);
    assert_true(atomic_load(&ctx->gemm_measurements) >= 1);
    clg_context_destroy(ctx);
    write_text_file(path, "clgraph-gemm-choices 3\n5 29 11 0 1 0 g2x4\n");
    memset(&seen, 0, sizeof seen);
    ctx = context_seeing(dir, NULL, &seen);
    check_text(ctx, TOL);
    bool found = false;
    for (int i = 0; i < seen.done && i < 16; i++) found |= strstr(seen.options[i], "-DTM=2 -DTN=4 -DVW=1") != NULL;
    if (!found) fail_msg("the remembered g2x4 was not built (%d programs, first: %s)", seen.done, seen.options[0]);
    assert_int_equal(seen.trials, 0);
    assert_int_equal(choice_lines(dir, path, sizeof path), 2); /* nothing written */
    assert_int_equal(atomic_load(&ctx->gemm_measurements), 0);
    clg_context_destroy(ctx);
    clg_remove_tree(dir);
}

/* A model whose programs build together: one broken kernel file (a kernel
 * directory holding a bad softmax.cl beside good copies) fails the model's
 * create with CLG_ERR_BUILD naming the Softmax node, the file and the
 * build log, while the GEMM and Relu programs beside it built fine. */
static void test_parallel_build_error_names_node(void **state)
{
    (void)state;
    if (!test_context()) skip();
    char dir[] = "/tmp/clg_gemm_kdir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    DIR *d = opendir("kernels");
    assert_non_null(d);
    struct dirent *de;
    char from[4400], to[4400];
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".cl")) continue;
        snprintf(from, sizeof from, "kernels/%s", de->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, de->d_name);
        FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
        assert_non_null(in);
        assert_non_null(out);
        if (!strcmp(de->d_name, "softmax.cl")) fputs("__kernel void softmax(__global float *x) { x[0] = nonsense_here + ; }\n", out);
        else {
            char buf[4096];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
        }
        fclose(in);
        assert_int_equal(fclose(out), 0);
    }
    closedir(d);
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = "";
    o.kernel_dir = dir;
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL) != CLG_OK) fail_msg("context: %s", clg_context_errmsg(ctx));
    clg_graph *g = test_parse("input x: f32[N, 16]\n"
                              "const w: f32[16, 16] = random(1, -1, 1)\n"
                              "h = Gemm(x, w) transB=1\n"
                              "r = Relu(h)\n"
                              "e = Sigmoid(r)\n"
                              "the_softmax = Softmax(e) axis=1\n"
                              "output the_softmax\n");
    clg_model_options mo = CLG_MODEL_OPTIONS_INIT;
    mo.opt_level = 0;
    clg_model *m = NULL;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &mo), CLG_ERR_BUILD);
    const char *msg = clg_model_errmsg(m);
    if (!strstr(msg, "node the_softmax") || !strstr(msg, "softmax.cl") || !strstr(msg, "nonsense_here"))
        fail_msg("message lacks the node, file or log: %s", msg);
    clg_model_destroy(m);
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
    clg_remove_tree(dir);
}

/* The vector variants' width follows the device (clg_context.vector_width:
 * its preferred float width, CLGRAPH_VECTOR_WIDTH here to force each one on
 * any device): d1x1v8's dot products and n1x8/n4x16/n8x16's column vectors
 * at widths 1, 2, 4, 8 and 16, each capped at the variant's own, built with
 * that width (the build options say so) and matching the reference at
 * sizes off every vector edge (N and K odd, one column, fewer columns than
 * a vector). A width no vector has is the context's error. */
static void test_vector_widths(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const char *const names[] = {"d1x1v8", "n1x8", "n4x16", "n8x16"};
    static const int widths[] = {1, 2, 4, 8, 16};
    static const int shapes[][3] = {{3, 17, 33}, {17, 33, 7}, {5, 1, 9}, {2, 3, 130}};
    char dir[] = "/tmp/clg_gemm_width_XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        char w[8];
        snprintf(w, sizeof w, "%d", widths[wi]);
        assert_int_equal(setenv("CLGRAPH_VECTOR_WIDTH", w, 1), 0);
        for (size_t v = 0; v < sizeof names / sizeof *names; v++) {
            const clg_gemm_variant *x = &clg_gemm_variants[clg_gemm_variant_find(names[v])];
            int own = x->vw > 1 ? x->vw : x->vn;
            int want = own < widths[wi] ? own : widths[wi];
            char gemm[40], define[16];
            snprintf(gemm, sizeof gemm, "generated:%s", names[v]);
            snprintf(define, sizeof define, "-D%s=%d", x->vw > 1 ? "VW" : "VN", want);
            builds_seen seen = {0};
            clg_context *ctx = context_seeing(dir, gemm, &seen);
            bool built = false;
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                /* d1x1v8 takes B transposed, the column variants B as written */
                write_graph(shapes[s][0], shapes[s][1], shapes[s][2], 0, x->vw > 1, (int)s % 2, &epilogues[s % 2]);
                int before = seen.done;
                clg_graph *g = test_parse(text);
                double err = test_device_error_at(ctx, g, 1, 7, 0);
                clg_graph_destroy(g);
                if (!(err <= TOL)) fail_msg("%s at width %s: error %.3g for\n%s", names[v], w, err, text);
                for (int i = before; i < seen.done && i < 16; i++)
                    if (strstr(seen.options[i], "-DVW=") && strstr(seen.options[i], define)) built = true;
            }
            if (!built) fail_msg("%s at CLGRAPH_VECTOR_WIDTH=%s: no build with %s", names[v], w, define);
            clg_context_destroy(ctx);
        }
    }
    assert_int_equal(setenv("CLGRAPH_VECTOR_WIDTH", "3", 1), 0);
    clg_context *bad = NULL;
    assert_int_equal(clg_context_create(&bad, NULL, 0, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_context_errmsg(bad), "CLGRAPH_VECTOR_WIDTH '3'"));
    clg_context_destroy(bad);
    unsetenv("CLGRAPH_VECTOR_WIDTH");
    clg_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_variant),
        cmocka_unit_test(test_local_variants),
        cmocka_unit_test(test_fused_pair_is_one_launch),
        cmocka_unit_test(test_epilogue_input_computed_later),
        cmocka_unit_test(test_written_epilogues),
        cmocka_unit_test(test_matmul_as_gemm),
        cmocka_unit_test(test_matmul_3d_epilogue),
        cmocka_unit_test(test_batched_products),
        cmocka_unit_test(test_conv_as_gemm),
        cmocka_unit_test(test_conv_epilogues),
        cmocka_unit_test(test_choice_file),
        cmocka_unit_test(test_pack_b_shared),
        cmocka_unit_test(test_conv_strides_share_program),
        cmocka_unit_test(test_default_choice),
        cmocka_unit_test(test_parallel_build_error_names_node),
        cmocka_unit_test(test_vector_widths),
    };
    /* CLGRAPH_GEMM_TEST=NAME runs only the tests whose names match it
     * (cmocka's filter, * as a wildcard). */
    if (getenv("CLGRAPH_GEMM_TEST")) cmocka_set_test_filter(getenv("CLGRAPH_GEMM_TEST"));
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
