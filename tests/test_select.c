/* The selection step as a specification: what clg_plan_select decides for
 * each node (runtime/plan/select.c), read from the plan before anything
 * runs. GEMM paths are forced through the context's gemm setting, so the
 * decisions do not depend on timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "gemm.h"
#include "plan_check.h"

static int node_named(const clg_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    fail_msg("no node %s", name);
    return -1;
}

/* The decision for node `name` of text at batch, with the GEMM path gemm
 * (NULL: measured). */
static clg_decision decide(const char *text, const char *name, int64_t batch, const char *gemm)
{
    test_set_gemm(gemm);
    clg_context *ctx = test_context();
    clg_graph *g = test_parse(text);
    test_plan tp;
    test_plan_build(&tp, ctx, g, batch);
    clg_decision d = tp.plan.decisions[node_named(g, name)];
    test_plan_free(&tp);
    clg_graph_destroy(g);
    test_set_gemm(NULL);
    return d;
}

static const char *const gemm_text = "input x: f32[N, 24]\n"
                                     "const w: f32[16, 24] = random(1)\n"
                                     "const b: f32[16] = random(2)\n"
                                     "input r: f32[N, 16]\n"
                                     "y = Gemm(x, w, b, r) transB=1 epilogue=\"relu(x0 + x1)\"\n"
                                     "output y\n";

/* A Gemm with an epilogue: generated, the epilogue in the kernel's store;
 * CLBlast, the epilogue as a launch after it. */
static void test_gemm_decisions(void **state)
{
    (void)state;
    if (!test_context()) skip();
    clg_decision d = decide(gemm_text, "y", 5, "generated:p8x32");
    assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
    assert_int_equal(d.variant, clg_gemm_variant_find("p8x32"));
    assert_true(d.epilogue_in_kernel);
    d = decide(gemm_text, "y", 5, "clblast");
    assert_int_equal(d.backend, CLG_BACKEND_CLBLAST);
    assert_false(d.epilogue_in_kernel);
    /* Measured: whichever wins, a generated kernel takes the epilogue. */
    d = decide(gemm_text, "y", 5, NULL);
    assert_true(d.backend == CLG_BACKEND_CLBLAST || d.backend == CLG_BACKEND_GENERATED);
    assert_int_equal(d.epilogue_in_kernel, d.backend == CLG_BACKEND_GENERATED);
}

/* A convolution of c channels on hw x hw images into m channels, k x k
 * kernels, pads 1, the stride on both axes, into text. */
static void conv_text(char *text, size_t size, int c, int hw, int m, int k, int stride)
{
    snprintf(text, size,
             "input x: f32[N, %d, %d, %d]\nconst w: f32[%d, %d, %d, %d] = random(1)\n"
             "y = Conv2D(x, w) pads=[1, 1, 1, 1] strides=[%d, %d]\noutput y\n",
             c, hw, hw, m, c, k, k, stride, stride);
}

/* A convolution: a packed variant in either orientation after im2col, the
 * implicit GEMM (no im2col: no scratch requested), or CLBlast; a grouped
 * one the direct kernel on CPUs and CLBlast elsewhere, the implicit GEMM
 * forced or not. Measured, the
 * choice is one of them. */
static void test_conv_decisions(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const char *conv = "input x: f32[N, 3, 9, 9]\nconst w: f32[8, 3, 3, 3] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    clg_decision d = decide(conv, "y", 2, "generated:p4x64t");
    assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
    assert_int_equal(d.variant, clg_gemm_variant_find("p4x64"));
    assert_int_equal(d.orientation, CLG_ORIENT_FLIPPED);
    d = decide(conv, "y", 2, "generated:p12x32");
    assert_int_equal(d.orientation, CLG_ORIENT_AS_WRITTEN);
    assert_int_equal(d.variant, clg_gemm_variant_find("p12x32"));
    const char *grouped = "input x: f32[N, 4, 9, 9]\nconst w: f32[8, 2, 3, 3] = random(1)\n"
                          "y = Conv2D(x, w) group=2\noutput y\n";
    /* a grouped one: the depthwise kernel's vector body on CPUs
     * (runtime/lower/conv.c grouped_direct), CLBlast elsewhere */
    clg_device_info dev;
    clg_context_device(test_context(), &dev);
    clg_backend grouped_backend = dev.type == CLG_DEVICE_CPU ? CLG_BACKEND_DEFAULT : CLG_BACKEND_CLBLAST;
    d = decide(grouped, "y", 2, "generated:p12x32");
    assert_int_equal(d.backend, grouped_backend);
    d = decide(grouped, "y", 2, "generated:p8x32i");
    assert_int_equal(d.backend, grouped_backend);
    d = decide(conv, "y", 2, "generated:p8x32i");
    assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
    assert_int_equal(d.variant, clg_gemm_variant_find("p8x32"));
    assert_int_equal(d.orientation, CLG_ORIENT_IMPLICIT);
    d = decide(conv, "y", 2, NULL);
    assert_true(d.backend == CLG_BACKEND_CLBLAST || d.backend == CLG_BACKEND_GENERATED);
    assert_true(d.backend == CLG_BACKEND_CLBLAST || clg_gemm_variants[d.variant].nr > 0);
    /* A pointwise one (1x1, stride 1, unpadded) also on a vector variant
     * reading its input in place; one that is not never. */
    const char *pw = "input x: f32[N, 6, 5, 7]\nconst w: f32[9, 6, 1, 1] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    d = decide(pw, "y", 2, "generated:n8x16w");
    assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
    assert_int_equal(d.variant, clg_gemm_variant_find("n8x16"));
    assert_int_equal(d.orientation, CLG_ORIENT_POINTWISE);
    d = decide(conv, "y", 2, "generated:n8x16w");
    assert_int_not_equal(d.orientation, CLG_ORIENT_POINTWISE);
    const char *strided = "input x: f32[N, 6, 5, 7]\nconst w: f32[9, 6, 1, 1] = random(1)\n"
                          "y = Conv2D(x, w) strides=[2, 2]\noutput y\n";
    assert_int_not_equal(decide(strided, "y", 2, "generated:n4x16w").orientation, CLG_ORIENT_POINTWISE);
    d = decide(pw, "y", 2, NULL);
    if (d.backend == CLG_BACKEND_GENERATED && d.orientation == CLG_ORIENT_POINTWISE)
        assert_true(clg_gemm_variants[d.variant].vn > 1);
    else
        assert_true(d.backend == CLG_BACKEND_CLBLAST || clg_gemm_variants[d.variant].nr > 0);
    /* The default on a CPU (runtime/gemm/choice.c): n8x16 in place on
     * 8x8 images from few channels, not on 2x2 ones (16-pixel groups
     * across images) nor on 8x8 from many; shapes nothing measures, so
     * that no choice file answers first. */
    const char *pw8 = "input x: f32[N, 6, 8, 8]\nconst w: f32[11, 6, 1, 1] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    const char *pw2 = "input x: f32[N, 6, 2, 2]\nconst w: f32[11, 6, 1, 1] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    const char *deep = "input x: f32[N, 70, 8, 8]\nconst w: f32[11, 70, 1, 1] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    clg_device_info info;
    clg_context_device(test_context(), &info);
    if (info.type == CLG_DEVICE_CPU) {
        d = decide(pw8, "y", 2, "default");
        assert_int_equal(d.orientation, CLG_ORIENT_POINTWISE);
        assert_int_equal(d.variant, clg_gemm_variant_find("n8x16"));
        assert_int_not_equal(decide(pw2, "y", 2, "default").orientation, CLG_ORIENT_POINTWISE);
        assert_int_not_equal(decide(deep, "y", 2, "default").orientation, CLG_ORIENT_POINTWISE);
    }
    /* Winograd: forced where it runs (3x3, stride 1, undilated,
     * ungrouped), never elsewhere; by default on a CPU, for 2^26
     * multiply-adds or more, F(4x4, 3x3) for 64 input channels and more on
     * images of 4x4 outputs and more over 4 to 2^17 / C of its tiles
     * (batch 2 of 32x32 outputs from 65 channels to 64: 128 tiles, 77 M
     * multiply-adds), F(2x2, 3x3) for 128 channels and more over 4 to 256
     * of its tiles where F(4x4) is not taken (batch 2 of 3x3 outputs, 700
     * channels to 700: 8 tiles, 79 M), neither for fewer channels, more
     * tiles (batch 2 of 200x200 outputs from 65 channels: 5000 x 65 of
     * 4x4; batch 72 of 3x3 outputs: 288 of 2x2) nor fewer multiply-adds */
    /* at batch `batch`; forced: a GEMM path, and the orientation (-1:
     * neither Winograd) and variant it gives; by_default: the default's
     * orientation (-1: neither) */
    static const struct {
        int c, hw, m, stride, batch;
        const char *forced, *variant;
        int forced_to, by_default;
    } cases[] = {
        {129, 3, 7, 1, 2, "generated:p8x32f", "p8x32", CLG_ORIENT_WINOGRAD, -1}, /* forced; 146 K multiply-adds */
        {129, 3, 7, 2, 2, "generated:p8x32f", NULL, -1, -1},                     /* stride 2: never */
        {129, 3, 7, 2, 2, "generated:p8x32g", NULL, -1, -1},
        {65, 32, 64, 1, 2, "generated:p4x64g", "p4x64", CLG_ORIENT_WINOGRAD4, CLG_ORIENT_WINOGRAD4}, /* 77 M */
        {700, 3, 700, 1, 2, NULL, NULL, 0, CLG_ORIENT_WINOGRAD}, /* 3x3 outputs: F(2x2), 8 tiles, 79 M */
        {700, 3, 700, 1, 72, NULL, NULL, 0, -1},                 /* 288 tiles of 2x2 */
        {127, 3, 3300, 1, 2, NULL, NULL, 0, -1},                 /* 68 M, too few channels for F(2x2) */
        {65, 32, 24, 1, 2, NULL, NULL, 0, -1},                   /* 29 M multiply-adds */
        {63, 32, 64, 1, 2, NULL, NULL, 0, -1},                   /* too few channels for F(4x4) */
        {65, 200, 7, 1, 2, NULL, NULL, 0, -1},                   /* 5000 x 65 of 4x4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        conv_text(text, sizeof text, cases[i].c, cases[i].hw, cases[i].m, 3, cases[i].stride);
        if (cases[i].forced) {
            d = decide(text, "y", cases[i].batch, cases[i].forced);
            if (cases[i].forced_to >= 0) {
                assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
                assert_int_equal(d.variant, clg_gemm_variant_find(cases[i].variant));
                assert_int_equal(d.orientation, cases[i].forced_to);
            } else {
                assert_true(d.orientation != CLG_ORIENT_WINOGRAD && d.orientation != CLG_ORIENT_WINOGRAD4);
            }
        }
        if (info.type != CLG_DEVICE_CPU) continue;
        d = decide(text, "y", cases[i].batch, "default");
        if (cases[i].by_default >= 0)
            assert_int_equal(d.orientation, cases[i].by_default);
        else
            assert_true(d.orientation != CLG_ORIENT_WINOGRAD && d.orientation != CLG_ORIENT_WINOGRAD4);
    }
    assert_int_not_equal(decide(pw, "y", 2, "generated:p4x64f").orientation, CLG_ORIENT_WINOGRAD);
    assert_int_not_equal(decide(grouped, "y", 2, "generated:p4x64f").orientation, CLG_ORIENT_WINOGRAD);
}

/* The direct convolution (CLG_ORIENT_DIRECT): forced on its two tiles
 * (p8x32d, p4x64d) where it runs (stride 1, ungrouped, output planes of 4
 * rows or more), never elsewhere; by default on CPUs (where Winograd is
 * not taken) on rows of 12 outputs or more, for 16 output channels or
 * fewer, and where it reads the input's padding in place (rows a multiple
 * of 16 wide) for 32 or fewer, or 64 or fewer from at most 64 input
 * channels. */
static void test_direct_decisions(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    clg_context_device(ctx, &info);
    /* channels in and out, image side, kernel, stride (pads 1, batch 2);
     * forced: the variant it gives (NULL: not direct); by default: direct
     * or not on a CPU */
    static const struct {
        int c, m, hw, k, stride;
        const char *forced, *variant;
        bool by_default;
    } cases[] = {
        {16, 16, 32, 3, 1, "generated:p8x32d", "p8x32", true},
        {16, 16, 32, 3, 1, "generated:p4x64d", "p4x64", true},
        {128, 16, 14, 3, 1, NULL, NULL, true},  /* padding written out: 16 channels */
        {3, 8, 20, 5, 1, NULL, NULL, true},     /* 5x5 */
        {16, 32, 28, 3, 1, NULL, NULL, false},  /* padding written out: 32 channels */
        {16, 16, 8, 3, 1, NULL, NULL, false},   /* rows of 8 */
        {32, 32, 32, 3, 1, NULL, NULL, true},   /* padding in place */
        {256, 32, 16, 3, 1, NULL, NULL, true},
        {64, 64, 16, 3, 1, NULL, NULL, true},
        {65, 64, 16, 3, 1, NULL, NULL, false},  /* 64 output channels from 65 */
        {32, 65, 32, 3, 1, NULL, NULL, false},  /* 65 output channels */
        {64, 64, 32, 3, 1, NULL, NULL, false},  /* 75 M multiply-adds: Winograd F(4x4) */
        {16, 16, 32, 3, 2, "generated:p8x32d", NULL, false}, /* stride 2: never */
        {16, 16, 3, 3, 1, "generated:p8x32d", NULL, false},  /* 3 output rows */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        conv_text(text, sizeof text, cases[i].c, cases[i].hw, cases[i].m, cases[i].k, cases[i].stride);
        clg_decision d;
        if (cases[i].forced) {
            d = decide(text, "y", 2, cases[i].forced);
            if (cases[i].variant) {
                assert_int_equal(d.backend, CLG_BACKEND_GENERATED);
                assert_int_equal(d.variant, clg_gemm_variant_find(cases[i].variant));
                assert_int_equal(d.orientation, CLG_ORIENT_DIRECT);
            } else {
                assert_int_not_equal(d.orientation, CLG_ORIENT_DIRECT);
            }
        }
        if (info.type != CLG_DEVICE_CPU) continue;
        d = decide(text, "y", 2, "default");
        bool direct = d.backend == CLG_BACKEND_GENERATED && d.orientation == CLG_ORIENT_DIRECT;
        if (direct != cases[i].by_default)
            fail_msg("case %zu (%d -> %d, %dx%d, %dx%d kernel): direct %d by default", i, cases[i].c, cases[i].m,
                     cases[i].hw, cases[i].hw, cases[i].k, cases[i].k, direct);
        if (direct) assert_int_equal(d.variant, clg_gemm_variant_find("p8x32"));
    }
    /* no tile on p12x32 */
    clg_orientation o;
    assert_int_equal(clg_gemm_variant_parse_orient("p12x32d", &o), -1);
}

/* Scratch requests of the node named name of text at batch under gemm. */
static int scratch_requests(const char *text, int64_t batch, const char *gemm)
{
    test_set_gemm(gemm);
    clg_context *ctx = test_context();
    clg_graph *g = test_parse(text);
    test_plan tp;
    test_plan_build(&tp, ctx, g, batch);
    int n = tp.plan.n_scratch;
    test_plan_free(&tp);
    clg_graph_destroy(g);
    test_set_gemm(NULL);
    return n;
}

/* The memory plan reserves the column matrix only where im2col runs: the
 * implicit GEMM requests no scratch (with constant weights, packed into a
 * buffer of the plan's), the im2col paths one. */
static void test_conv_scratch(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const char *conv = "input x: f32[N, 3, 9, 9]\nconst w: f32[8, 3, 3, 3] = random(1)\ny = Conv2D(x, w)\noutput y\n";
    assert_int_equal(scratch_requests(conv, 3, "generated:p8x32i"), 0);
    assert_int_equal(scratch_requests(conv, 3, "generated:p8x32t"), 1);
    assert_int_equal(scratch_requests(conv, 3, "generated:p8x32"), 1);
}

/* Softmax: a work-group per row for few long rows, else a work-item per
 * row; other ops keep their family's default. */
static void test_softmax_and_default_decisions(void **state)
{
    (void)state;
    if (!test_context()) skip();
    const char *text = "input x: f32[N, 300]\na = Relu(x)\ny = Softmax(a)\noutput y\n";
    assert_int_equal(decide(text, "y", 1, NULL).variant, 1);
    assert_int_equal(decide(text, "y", 64, NULL).variant, 1);
    assert_int_equal(decide(text, "y", 65, NULL).variant, 0);
    assert_int_equal(decide("input x: f32[N, 255]\ny = Softmax(x)\noutput y\n", "y", 1, NULL).variant, 0);
    clg_decision d = decide(text, "a", 1, NULL);
    assert_int_equal(d.backend, CLG_BACKEND_DEFAULT);
    assert_int_equal(d.variant, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_decisions),
        cmocka_unit_test(test_conv_decisions),
        cmocka_unit_test(test_direct_decisions),
        cmocka_unit_test(test_conv_scratch),
        cmocka_unit_test(test_softmax_and_default_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
