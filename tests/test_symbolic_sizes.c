/* Symbolic sizes beyond the batch (docs/ir.md, "Types, shapes and symbolic
 * sizes"): a sequence length S anywhere, sizes derived from it (N*S, 2*S),
 * binding from the inputs with the errors that name an input, a dimension
 * and both sizes, and models that plan per set of sizes, each result checked
 * against the reference executor (and the reference against values computed
 * here by hand where the op is simple). */
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

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)((i * 2654435761u + seed * 97u) % 2001u) / 1000.0 - 1.0);
}

static clg_status run_ref(clg_graph *g, const clg_tensor *in, int n_in, clg_tensor *out)
{
    return clg_graph_run_reference(g, in, n_in, out, 1);
}

/* Per token a dense layer, then softmax(h hᵀ) over the sequence: every op
 * sees S in a different place, and the Reshape names N*S. */
static const char *SEQ_MODEL =
    "input x: f32[N, S, 8]\n"
    "const w: f32[8, 8] = random(3, -0.5, 0.5)\n"
    "h = MatMul(x, w)\n"
    "t = Transpose(h) perm=[0, 2, 1]\n"
    "scores = MatMul(h, t)\n"
    "p = Softmax(scores) axis=-1\n"
    "flat = Reshape(p) shape=[-1, S]\n"
    "output flat\n";

/* The reference's rows of softmax(h hᵀ) each sum to one, and the output's
 * shape is [N*S, S] for every size. */
static void test_reference_shapes(void **state)
{
    (void)state;
    clg_graph *g = test_parse(SEQ_MODEL);
    static const int64_t cases[][2] = {{1, 1}, {2, 5}, {3, 2}, {1, 17}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t n = cases[c][0], s = cases[c][1];
        float *x = malloc((size_t)(n * s * 8) * sizeof *x), *y = malloc((size_t)(n * s * s) * sizeof *y);
        fill(x, (size_t)(n * s * 8), (unsigned)c);
        clg_tensor in = {x, 3, {n, s, 8}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_output_shape(g, 0, &in, 1, &rank, dims), CLG_OK);
        assert_int_equal(rank, 2);
        assert_int_equal(dims[0], n * s);
        assert_int_equal(dims[1], s);
        if (run_ref(g, &in, 1, &out)) fail_msg("%s", clg_graph_errmsg(g));
        assert_int_equal(out.dims[0], n * s);
        assert_int_equal(out.dims[1], s);
        for (int64_t r = 0; r < n * s; r++) {
            double sum = 0;
            for (int64_t k = 0; k < s; k++) sum += y[r * s + k];
            assert_true(fabs(sum - 1.0) < 1e-5);
        }
        free(x);
        free(y);
    }
    /* clg_graph_output_info binds N only: S has no size there. */
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_output_info(g, 0, 2, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "use clg_graph_output_shape"));
    clg_graph_destroy(g);
}

/* One model, sizes changing and repeating between runs: every run matches
 * the reference, with the plan kept per set of sizes. */
static void test_device_changing_sizes(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse(SEQ_MODEL);
    for (int level = 0; level <= 2; level += 2) {
        clg_model_options o = CLG_MODEL_OPTIONS_INIT;
        o.opt_level = level;
        clg_model *m = NULL;
        if (clg_model_create_ex(&m, ctx, g, &o)) fail_msg("create: %s", clg_model_errmsg(m));
        static const int64_t cases[][2] = {{2, 5}, {2, 9}, {1, 5}, {2, 5}, {3, 1}, {2, 9}, {4, 33}, {2, 5}};
        uint64_t bytes_at_2_5 = 0;
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            int64_t n = cases[c][0], s = cases[c][1];
            size_t xn = (size_t)(n * s * 8), yn = (size_t)(n * s * s);
            float *x = malloc(xn * sizeof *x), *y = malloc(yn * sizeof *y), *r = malloc(yn * sizeof *r);
            fill(x, xn, (unsigned)(c + 7));
            clg_tensor in = {x, 3, {n, s, 8}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32}, ref = {r, 0, {0}, CLG_DTYPE_F32};
            if (clg_model_run(m, &in, 1, &out, 1)) fail_msg("run N=%lld S=%lld: %s", (long long)n, (long long)s, clg_model_errmsg(m));
            if (run_ref(g, &in, 1, &ref)) fail_msg("%s", clg_graph_errmsg(g));
            assert_int_equal(out.dims[0], n * s);
            assert_int_equal(out.dims[1], s);
            double worst = 0;
            for (size_t k = 0; k < yn; k++) worst = fmax(worst, fabs((double)y[k] - r[k]));
            if (worst > 1e-5) fail_msg("-O%d N=%lld S=%lld: error %g", level, (long long)n, (long long)s, worst);
            clg_model_stats st;
            assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
            assert_int_equal(st.batch, n);
            /* The same sizes come back to the same plan's memory. */
            if (n == 2 && s == 5) {
                if (!bytes_at_2_5) bytes_at_2_5 = st.activation_bytes;
                assert_int_equal(st.activation_bytes, bytes_at_2_5);
            }
            free(x);
            free(y);
            free(r);
        }
        clg_model_destroy(m);
    }
    clg_graph_destroy(g);
}

/* Two inputs share S and N; a third dim is 2*S, checked against them. */
static const char *TWO_INPUTS =
    "input a: f32[N, S]\n"
    "input b: f32[N, S]\n"
    "input c: f32[N, 2*S]\n"
    "ab = Concat(a, b) axis=1\n"
    "y = Add(ab, c)\n"
    "output y\n";

static void test_binding_errors(void **state)
{
    (void)state;
    clg_graph *g = test_parse(TWO_INPUTS);
    float a[2 * 5], b[2 * 7], c[2 * 14], y[2 * 14];
    fill(a, 10, 1);
    fill(b, 14, 2);
    fill(c, 28, 3);
    clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};
    /* S is 5 by a, 7 by b. */
    clg_tensor in[3] = {{a, 2, {2, 5}, CLG_DTYPE_F32}, {b, 2, {2, 7}, CLG_DTYPE_F32}, {c, 2, {2, 10}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, in, 3, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_string_equal(clg_graph_errmsg(g), "input b: dimension 1 is S = 7, but input a gave S = 5 (its dimension 1)");
    /* N differs. */
    in[1] = (clg_tensor){b, 2, {1, 5}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, in, 3, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_string_equal(clg_graph_errmsg(g), "input b: dimension 0 is N = 1, but input a gave N = 2 (its dimension 0)");
    /* c's 2*S does not agree. */
    in[1] = (clg_tensor){b, 2, {2, 5}, CLG_DTYPE_F32};
    in[2] = (clg_tensor){c, 2, {2, 11}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, in, 3, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "input c: expected shape [N, 2*S], got [2, 11] (with N=2, S=5)"));
    /* Consistent: y = [a b] + c, checked by hand. */
    in[2] = (clg_tensor){c, 2, {2, 10}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, in, 3, &out, 1), CLG_OK);
    assert_int_equal(out.dims[1], 10);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 10; k++) {
            float want = (k < 5 ? a[r * 5 + k] : b[r * 5 + k - 5]) + c[r * 10 + k];
            assert_true(fabs(y[r * 10 + k] - want) < 1e-6);
        }
    /* The device agrees, and says the same on the same mistake. */
    clg_context *ctx = test_context();
    if (ctx) {
        clg_model *m = NULL;
        if (clg_model_create(&m, ctx, g)) fail_msg("create: %s", clg_model_errmsg(m));
        float yd[2 * 10];
        clg_tensor outd = {yd, 0, {0}, CLG_DTYPE_F32};
        assert_int_equal(clg_model_run(m, in, 3, &outd, 1), CLG_OK);
        for (int k = 0; k < 20; k++) assert_true(fabs(yd[k] - y[k]) < 1e-6);
        in[1] = (clg_tensor){b, 2, {2, 7}, CLG_DTYPE_F32};
        assert_int_equal(clg_model_run(m, in, 3, &outd, 1), CLG_ERR_INVALID_ARGUMENT);
        assert_string_equal(clg_model_errmsg(m), "input b: dimension 1 is S = 7, but input a gave S = 5 (its dimension 1)");
        clg_model_destroy(m);
    }
    clg_graph_destroy(g);
}

/* A size only a polynomial names cannot be bound: no input gives S alone. */
static void test_unbindable(void **state)
{
    (void)state;
    clg_graph *g = test_parse("input x: f32[N, 2*S]\ny = Relu(x)\noutput y\n");
    float x[8], y[8];
    clg_tensor in = {x, 2, {1, 8}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    fill(x, 8, 1);
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_string_equal(clg_graph_errmsg(g), "input x: dimension 1 is 2*S, and no input gives its symbols alone");
    clg_graph_destroy(g);
}

/* A bias of 2 rows against N rows: built, and checked when N is bound. */
static void test_checked_when_bound(void **state)
{
    (void)state;
    clg_graph *g = test_parse("input x: f32[N, 4]\n"
                              "const w: f32[4, 3] = random(1)\n"
                              "const b: f32[2, 3] = random(2)\n"
                              "y = Gemm(x, w, b)\n"
                              "output y\n");
    float x[3 * 4], y[3 * 3];
    fill(x, 12, 4);
    clg_tensor in = {x, 2, {3, 4}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "N=3: "));
    assert_non_null(strstr(clg_graph_errmsg(g), "node y (Gemm): bias [2, 3] does not broadcast to the output [3, 3]"));
    in.dims[0] = 2;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_OK);
    clg_graph_destroy(g);
}

/* Expand to a symbolic target: the sizes are bound per run. */
static void test_expand_to_symbolic(void **state)
{
    (void)state;
    clg_graph *g = test_parse("input x: f32[N, S, 4]\n"
                              "const b: f32[1, 4] = random(5)\n"
                              "e = Expand(b) shape=[N, S, 4]\n"
                              "y = Add(x, e)\n"
                              "output y\n");
    char text[64];
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(g, 2, NULL, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 3);
    assert_string_equal(clg_graph_dim_str(g, dims[1], text, sizeof text), "S");
    const float *bias = NULL;
    float x[2 * 3 * 4], y[2 * 3 * 4], yd[2 * 3 * 4], b_vals[4];
    fill(x, 24, 9);
    clg_tensor in = {x, 3, {2, 3, 4}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &out, 1), CLG_OK);
    /* y - x is b in every row. */
    for (int k = 0; k < 4; k++) b_vals[k] = y[k] - x[k];
    bias = b_vals;
    for (int r = 0; r < 6; r++)
        for (int k = 0; k < 4; k++) assert_true(fabs(y[r * 4 + k] - x[r * 4 + k] - bias[k]) < 1e-6);
    clg_context *ctx = test_context();
    if (ctx) {
        clg_model *m = NULL;
        if (clg_model_create(&m, ctx, g)) fail_msg("create: %s", clg_model_errmsg(m));
        clg_tensor outd = {yd, 0, {0}, CLG_DTYPE_F32};
        if (clg_model_run(m, &in, 1, &outd, 1)) fail_msg("run: %s", clg_model_errmsg(m));
        for (int k = 0; k < 24; k++) assert_true(fabs(yd[k] - y[k]) < 1e-6);
        clg_model_destroy(m);
    }
    clg_graph_destroy(g);
}

/* Slices bounded by symbolic sizes: a positional table cut to the
 * sequence length S, and x[:, 1:] + x[:, :-1] (S-1 rows), checked by hand;
 * a sequence longer than the table is an error naming the Slice. */
static void test_symbolic_slices(void **state)
{
    (void)state;
    clg_graph *g = test_parse("input x: f32[N, S, 4]\n"
                              "const pos: f32[16, 4] = random(3)\n"
                              "p = Slice(pos) starts=[0] ends=[S] axes=[0]\n"
                              "y = Add(x, p)\n"
                              "t = Slice(x) starts=[1] ends=[2147483648] axes=[1]\n"
                              "u = Slice(x) starts=[0] ends=[-1] axes=[1]\n"
                              "v = Add(t, u)\n"
                              "output y\n"
                              "output v\n");
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    assert_non_null(strstr(text, "p = Slice(pos) starts=[0] ends=[S] axes=[0]"));
    clg_graph_free(g, text);
    int rank;
    int64_t dims[CLG_MAX_RANK];
    char d[32];
    assert_int_equal(clg_graph_node_info(g, 6, NULL, NULL, &rank, dims), CLG_OK);
    assert_string_equal(clg_graph_dim_str(g, dims[1], d, sizeof d), "S-1");
    float x[2 * 5 * 4], y[2 * 5 * 4], v[2 * 4 * 4], yd[2 * 5 * 4], vd[2 * 4 * 4];
    fill(x, 40, 4);
    clg_tensor in = {x, 3, {2, 5, 4}, CLG_DTYPE_F32};
    clg_tensor out[2] = {{y, 0, {0}, CLG_DTYPE_F32}, {v, 0, {0}, CLG_DTYPE_F32}};
    if (clg_graph_run_reference(g, &in, 1, out, 2)) fail_msg("%s", clg_graph_errmsg(g));
    assert_int_equal(out[1].dims[1], 4);
    for (int n = 0; n < 2; n++)
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < 4; k++) {
                float want = x[(n * 5 + r + 1) * 4 + k] + x[(n * 5 + r) * 4 + k];
                assert_true(fabs(v[(n * 4 + r) * 4 + k] - want) < 1e-6);
            }
    /* y - x is the same table row for every batch item. */
    for (int r = 0; r < 5; r++)
        for (int k = 0; k < 4; k++)
            assert_true(fabs((y[(5 + r) * 4 + k] - x[(5 + r) * 4 + k]) - (y[r * 4 + k] - x[r * 4 + k])) < 1e-6);
    clg_context *ctx = test_context();
    if (ctx) {
        clg_model *m = NULL;
        if (clg_model_create(&m, ctx, g)) fail_msg("create: %s", clg_model_errmsg(m));
        clg_tensor outd[2] = {{yd, 0, {0}, CLG_DTYPE_F32}, {vd, 0, {0}, CLG_DTYPE_F32}};
        if (clg_model_run(m, &in, 1, outd, 2)) fail_msg("run: %s", clg_model_errmsg(m));
        for (int k = 0; k < 40; k++) assert_true(fabs(yd[k] - y[k]) < 1e-6);
        for (int k = 0; k < 32; k++) assert_true(fabs(vd[k] - v[k]) < 1e-6);
        clg_model_destroy(m);
    }
    /* S = 20 rows of a 16-row table. */
    float big[20 * 4] = {0}, yb[20 * 4], vb[19 * 4];
    clg_tensor in20 = {big, 3, {1, 20, 4}, CLG_DTYPE_F32};
    clg_tensor out20[2] = {{yb, 0, {0}, CLG_DTYPE_F32}, {vb, 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, &in20, 1, out20, 2), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "node p (Slice): for N=1, S=20 the shape is [16, 4], but the graph "
                                                "was built for [S, 4]: its dimension 0 is S = 20 (input x's "
                                                "dimension 1) where this node has 16"));
    clg_graph_destroy(g);
}

/* Text round trip: symbols and polynomials print as written. */
static void test_print_round_trip(void **state)
{
    (void)state;
    const char *text = "input x: f32[N, S, 8]\n"
                       "input e: f32[N, 1, 8]\n"
                       "c = Concat(x, e) axis=1\n"
                       "r = Reshape(c) shape=[N, -1]\n"
                       "output r\n";
    clg_graph *g = test_parse(text);
    char *printed = NULL;
    assert_int_equal(clg_graph_print(g, &printed, NULL), CLG_OK);
    assert_non_null(strstr(printed, "input x: f32[N, S, 8]"));
    assert_non_null(strstr(printed, "shape=[N, -1]"));
    clg_graph *again = test_parse(printed);
    char *printed2 = NULL;
    assert_int_equal(clg_graph_print(again, &printed2, NULL), CLG_OK);
    assert_string_equal(printed, printed2);
    int rank;
    int64_t dims[CLG_MAX_RANK];
    char d[32];
    assert_int_equal(clg_graph_node_info(again, 2, NULL, NULL, &rank, dims), CLG_OK);
    assert_string_equal(clg_graph_dim_str(again, dims[1], d, sizeof d), "S+1");
    assert_int_equal(clg_graph_node_info(again, 3, NULL, NULL, &rank, dims), CLG_OK);
    assert_string_equal(clg_graph_dim_str(again, dims[1], d, sizeof d), "8*S+8");
    clg_graph_free(g, printed);
    clg_graph_free(again, printed2);
    clg_graph_destroy(g);
    clg_graph_destroy(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_shapes),   cmocka_unit_test(test_device_changing_sizes),
        cmocka_unit_test(test_binding_errors),     cmocka_unit_test(test_unbindable),
        cmocka_unit_test(test_checked_when_bound), cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_expand_to_symbolic), cmocka_unit_test(test_symbolic_slices),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
