/* The host reference executor, op by op, against hand-computed values.
 *
 * Every expected array below was worked out independently of clgraph: by
 * hand for the small cases, and otherwise with NumPy (np.matmul, broadcasting
 * arithmetic, np.concatenate, np.transpose, math.erf) or straightforward
 * Python loop nests over np.pad-ed inputs for Conv2D and the pools, following
 * the ONNX operator definitions. The comment above each array says which. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgraph.h"

/* ------------------------------------------------------------------ helpers */

#define DIMS(...) (const int64_t[]){__VA_ARGS__}
#define NDIMS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define NAMES(...) (const char *const[]){__VA_ARGS__}, \
                   ((int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
#define ATTRS(...) (const clg_attr[]){__VA_ARGS__}, \
                   ((int)(sizeof((clg_attr[]){__VA_ARGS__}) / sizeof(clg_attr)))
#define NO_ATTRS NULL, 0
#define FLOATS(...) (float[]){__VA_ARGS__}
/* A caller tensor over a (modifiable) float array literal. */
#define TENSOR(data, ...) ((clg_tensor){(data), NDIMS(__VA_ARGS__), {__VA_ARGS__}, CLG_DTYPE_F32})

static clg_attr a_int(const char *name, int64_t v)
{
    clg_attr a = {name, CLG_ATTR_INT, 1, {v}, 0.0f, NULL};
    return a;
}

static clg_attr a_float(const char *name, float f)
{
    clg_attr a = {name, CLG_ATTR_FLOAT, 1, {0}, f, NULL};
    return a;
}

static clg_attr a_ints(const char *name, int count, const int64_t *v)
{
    clg_attr a = {name, CLG_ATTR_INTS, count, {0}, 0.0f, NULL};
    for (int i = 0; i < count; i++) a.ints[i] = v[i];
    return a;
}
#define A_INTS(name, ...) a_ints((name), NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))

static void ok(clg_graph *g, clg_status s)
{
    if (s != CLG_OK) fail_msg("status %d: %s", (int)s, clg_graph_errmsg(g));
}

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    return g;
}

static void input(clg_graph *g, const char *name, int rank, const int64_t *dims)
{
    ok(g, clg_graph_add_input(g, name, rank, dims));
}

static void constant(clg_graph *g, const char *name, int rank, const int64_t *dims, const float *data)
{
    ok(g, clg_graph_add_constant(g, name, rank, dims, data));
}

static void node(clg_graph *g, clg_op op, const char *name, const char *const *in, int n_in,
                 const clg_attr *attrs, int n_attrs)
{
    ok(g, clg_graph_add_node(g, op, name, in, n_in, attrs, n_attrs));
}

static void output(clg_graph *g, const char *name) { ok(g, clg_graph_add_output(g, name)); }

static int64_t count_of(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* |got - want| <= 1e-5 * max(1, |want|): 1e-5 absolute near zero, relative above. */
static void check_close(const float *got, const float *want, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (got[i] == want[i]) continue; /* infinities, which have no difference */
        double w = want[i], d = fabs((double)got[i] - w);
        double tol = 1e-5 * (fabs(w) > 1.0 ? fabs(w) : 1.0);
        if (!(d <= tol))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, (double)got[i], w);
    }
}

static void check_shape(const clg_tensor *t, int rank, const int64_t *dims)
{
    assert_int_equal(t->rank, rank);
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i])
            fail_msg("dim %d: got %lld, want %lld", i, (long long)t->dims[i], (long long)dims[i]);
}

/* Runs a one-output graph and checks the output's shape and values. */
static void expect(clg_graph *g, clg_tensor *inputs, int n_inputs, int rank, const int64_t *dims,
                   const float *want)
{
    int64_t n = count_of(rank, dims);
    clg_tensor y = {malloc((size_t)n * sizeof(float)), 0, {0}, CLG_DTYPE_F32};
    assert_non_null(y.data);
    clg_status s = clg_graph_run_reference(g, inputs, n_inputs, &y, 1);
    if (s != CLG_OK) {
        free(y.data);
        fail_msg("run_reference: status %d: %s", (int)s, clg_graph_errmsg(g));
    }
    check_shape(&y, rank, dims);
    check_close(y.data, want, n);
    free(y.data);
}

/* x (an input) -> op(x, consts...) -> y, run and checked, graph destroyed. */
static void expect_destroy(clg_graph *g, clg_tensor *inputs, int n_inputs, int rank,
                           const int64_t *dims, const float *want)
{
    expect(g, inputs, n_inputs, rank, dims, want);
    clg_graph_destroy(g);
}

/* ------------------------------------------------------------ broadcasting */

static clg_graph *binary_graph(clg_op op, int ra, const int64_t *da, int rb, const int64_t *db)
{
    clg_graph *g = new_graph();
    input(g, "a", ra, da);
    input(g, "b", rb, db);
    node(g, op, "y", NAMES("a", "b"), NO_ATTRS);
    output(g, "y");
    return g;
}

static void test_add_column_plus_row(void **state)
{
    (void)state;
    clg_graph *g = binary_graph(CLG_OP_ADD, 2, DIMS(3, 1), 2, DIMS(1, 4));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3), 3, 1), TENSOR(FLOATS(10, 20, 30, 40), 1, 4)};
    /* by hand: y[i][j] = a[i] + b[j] */
    expect_destroy(g, in, 2, 2, DIMS(3, 4), FLOATS(11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43));
}

static void test_mul_rank3_by_rank1(void **state)
{
    (void)state;
    clg_graph *g = binary_graph(CLG_OP_MUL, 3, DIMS(2, 2, 3), 1, DIMS(3));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 2, 2, 3),
                       TENSOR(FLOATS(0.5f, -1, 2), 3)};
    /* by hand: each row of 3 times (0.5, -1, 2) */
    expect_destroy(g, in, 2, 3, DIMS(2, 2, 3),
                   FLOATS(0.5f, -2, 6, 2, -5, 12, 3.5f, -8, 18, 5, -11, 24));
}

static void test_sub_both_sides_broadcast(void **state)
{
    (void)state;
    /* [2,1,3] - [2,1] -> [2,2,3]: a repeats along dim 1, b along dims 0 and 2 */
    clg_graph *g = binary_graph(CLG_OP_SUB, 3, DIMS(2, 1, 3), 2, DIMS(2, 1));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6), 2, 1, 3), TENSOR(FLOATS(1, 2), 2, 1)};
    /* by hand: y[i][j][k] = a[i][k] - b[j] */
    expect_destroy(g, in, 2, 3, DIMS(2, 2, 3), FLOATS(0, 1, 2, -1, 0, 1, 3, 4, 5, 2, 3, 4));
}

static void test_div_broadcast(void **state)
{
    (void)state;
    clg_graph *g = binary_graph(CLG_OP_DIV, 2, DIMS(2, 3), 1, DIMS(1));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6), 2, 3), TENSOR(FLOATS(4), 1)};
    expect_destroy(g, in, 2, 2, DIMS(2, 3), FLOATS(0.25f, 0.5f, 0.75f, 1, 1.25f, 1.5f));

    g = binary_graph(CLG_OP_DIV, 2, DIMS(1, 2), 2, DIMS(3, 1));
    clg_tensor in2[] = {TENSOR(FLOATS(1, -2), 1, 2), TENSOR(FLOATS(3, 4, 5), 3, 1)};
    /* by hand: y[i][j] = a[j] / b[i] */
    expect_destroy(g, in2, 2, 2, DIMS(3, 2),
                   FLOATS(1.0f / 3, -2.0f / 3, 0.25f, -0.5f, 0.2f, -0.4f));
}

static void test_add_rank5_broadcast(void **state)
{
    (void)state;
    /* [2,1,1,1,2] + [1,2,1,1] -> [2,1,2,1,2]: y[i,0,j,0,k] = a[i,k] + b[j] */
    clg_graph *g = binary_graph(CLG_OP_ADD, 5, DIMS(2, 1, 1, 1, 2), 4, DIMS(1, 2, 1, 1));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4), 2, 1, 1, 1, 2), TENSOR(FLOATS(10, 20), 1, 2, 1, 1)};
    expect_destroy(g, in, 2, 5, DIMS(2, 1, 2, 1, 2), FLOATS(11, 12, 21, 22, 13, 14, 23, 24));
}

/* -------------------------------------------------------------------- Gemm */

/* A = [[1,2,3],[4,5,6]], B = [[1,0,-1,2],[2,1,0,-1],[0,3,1,1]];
 * A @ B = [[5,11,2,3],[14,23,2,9]] (by hand). */
static const float gemm_a[] = {1, 2, 3, 4, 5, 6};
static const float gemm_at[] = {1, 4, 2, 5, 3, 6}; /* A transposed, [3,2] */
static const float gemm_b[] = {1, 0, -1, 2, 2, 1, 0, -1, 0, 3, 1, 1};
static const float gemm_bt[] = {1, 2, 0, 0, 1, 3, -1, 0, 1, 2, -1, 1}; /* B transposed, [4,3] */

static clg_graph *gemm_graph(bool ta, bool tb, float alpha, float beta, int c_rank,
                             const int64_t *c_dims, const float *c_data)
{
    clg_graph *g = new_graph();
    input(g, "a", 2, ta ? DIMS(3, 2) : DIMS(2, 3));
    constant(g, "b", 2, tb ? DIMS(4, 3) : DIMS(3, 4), tb ? gemm_bt : gemm_b);
    if (c_rank) constant(g, "c", c_rank, c_dims, c_data);
    node(g, CLG_OP_GEMM, "y", (const char *const[]){"a", "b", "c"}, c_rank ? 3 : 2,
         ATTRS(a_int("transA", ta), a_int("transB", tb), a_float("alpha", alpha), a_float("beta", beta)));
    output(g, "y");
    return g;
}

static void test_gemm_plain(void **state)
{
    (void)state;
    clg_graph *g = gemm_graph(false, false, 1, 1, 0, NULL, NULL);
    clg_tensor x = TENSOR((float *)gemm_a, 2, 3);
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(5, 11, 2, 3, 14, 23, 2, 9));
}

static void test_gemm_bias_shapes(void **state)
{
    (void)state;
    clg_tensor x = TENSOR((float *)gemm_a, 2, 3);
    /* Y = 0.5 * A@B + 2 * C, by hand from A@B above. */
    clg_graph *g = gemm_graph(false, false, 0.5f, 2, 1, DIMS(4), FLOATS(1, 2, 3, 4));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(4.5f, 9.5f, 7, 9.5f, 9, 15.5f, 7, 12.5f));
    g = gemm_graph(false, false, 0.5f, 2, 2, DIMS(1, 4), FLOATS(1, 2, 3, 4));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(4.5f, 9.5f, 7, 9.5f, 9, 15.5f, 7, 12.5f));
    g = gemm_graph(false, false, 0.5f, 2, 2, DIMS(2, 1), FLOATS(10, 20));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(22.5f, 25.5f, 21, 21.5f, 47, 51.5f, 41, 44.5f));
    g = gemm_graph(false, false, 0.5f, 2, 2, DIMS(2, 4), FLOATS(1, 2, 3, 4, 5, 6, 7, 8));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(4.5f, 9.5f, 7, 9.5f, 17, 23.5f, 15, 20.5f));
    g = gemm_graph(false, false, 0.5f, 2, 1, DIMS(1), FLOATS(7));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), FLOATS(16.5f, 19.5f, 15, 15.5f, 21, 25.5f, 15, 18.5f));
}

static void test_gemm_transposes(void **state)
{
    (void)state;
    /* The same product from transposed storage: 2 * A@B - C, C = [1,2,3,4]. */
    const float *want = FLOATS(9, 20, 1, 2, 27, 44, 1, 14);
    clg_tensor xt = TENSOR((float *)gemm_at, 3, 2), x = TENSOR((float *)gemm_a, 2, 3);
    clg_graph *g = gemm_graph(true, true, 2, -1, 1, DIMS(4), FLOATS(1, 2, 3, 4));
    expect_destroy(g, &xt, 1, 2, DIMS(2, 4), want);
    g = gemm_graph(true, false, 2, -1, 1, DIMS(4), FLOATS(1, 2, 3, 4));
    expect_destroy(g, &xt, 1, 2, DIMS(2, 4), want);
    g = gemm_graph(false, true, 2, -1, 1, DIMS(4), FLOATS(1, 2, 3, 4));
    expect_destroy(g, &x, 1, 2, DIMS(2, 4), want);
}

/* ------------------------------------------------------------------ MatMul */

static clg_graph *matmul_graph(int ra, const int64_t *da, int rb, const int64_t *db)
{
    return binary_graph(CLG_OP_MATMUL, ra, da, rb, db);
}

static void test_matmul_2d(void **state)
{
    (void)state;
    clg_graph *g = matmul_graph(2, DIMS(2, 3), 2, DIMS(3, 2));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6), 2, 3), TENSOR(FLOATS(1, 2, 3, 4, 5, 6), 3, 2)};
    /* by hand: [[1+6+15, 2+8+18], [4+15+30, 8+20+36]] */
    expect_destroy(g, in, 2, 2, DIMS(2, 2), FLOATS(22, 28, 49, 64));
}

static void test_matmul_batched(void **state)
{
    (void)state;
    clg_graph *g = matmul_graph(3, DIMS(2, 2, 3), 2, DIMS(3, 2));
    clg_tensor in[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 2, 2, 3),
                       TENSOR(FLOATS(1, 0, 0, 1, 1, -1), 3, 2)};
    /* by hand: each row (p,q,r) -> (p + r, q - r) */
    expect_destroy(g, in, 2, 3, DIMS(2, 2, 2), FLOATS(4, -1, 10, -1, 16, -1, 22, -1));
}

static void test_matmul_broadcast_batch(void **state)
{
    (void)state;
    /* [2,1,2,3] x [3,3,2]: batch dims [2,1] and [3] broadcast to [2,3]. */
    clg_graph *g = matmul_graph(4, DIMS(2, 1, 2, 3), 3, DIMS(3, 3, 2));
    float a[12], b[18];
    for (int i = 0; i < 12; i++) a[i] = (float)(i + 1);  /* 1..12 */
    for (int i = 0; i < 18; i++) b[i] = (float)(i - 8);  /* -8..9 */
    clg_tensor in[] = {TENSOR(a, 2, 1, 2, 3), TENSOR(b, 3, 3, 2)};
    /* numpy: np.arange(1,13).reshape(2,1,2,3) @ np.arange(-8,10).reshape(3,3,2) */
    expect_destroy(g, in, 2, 4, DIMS(2, 3, 2, 2),
                   FLOATS(-32, -26, -86, -71, 4, 10, 4, 19, 40, 46, 94, 109, -140, -116, -194, -161,
                          4, 28, 4, 37, 148, 172, 202, 235));
}

static void test_matmul_rank1(void **state)
{
    (void)state;
    float v[] = {1, 2, 3}, m32[] = {1, 2, 3, 4, 5, 6};
    clg_graph *g = matmul_graph(1, DIMS(3), 2, DIMS(3, 2));
    clg_tensor in[] = {TENSOR(v, 3), TENSOR(m32, 3, 2)};
    /* by hand: (1,2,3) @ [[1,2],[3,4],[5,6]] = (22, 28) */
    expect_destroy(g, in, 2, 1, DIMS(2), FLOATS(22, 28));

    g = matmul_graph(2, DIMS(2, 3), 1, DIMS(3));
    clg_tensor in2[] = {TENSOR(m32, 2, 3), TENSOR(v, 3)};
    /* by hand: [[1,2,3],[4,5,6]] @ (1,2,3) = (14, 32) */
    expect_destroy(g, in2, 2, 1, DIMS(2), FLOATS(14, 32));

    g = matmul_graph(3, DIMS(2, 2, 3), 1, DIMS(3));
    clg_tensor in3[] = {TENSOR(FLOATS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 2, 2, 3), TENSOR(v, 3)};
    expect_destroy(g, in3, 2, 2, DIMS(2, 2), FLOATS(14, 32, 50, 68));

    g = matmul_graph(1, DIMS(2), 3, DIMS(3, 2, 4));
    float b[24];
    for (int i = 0; i < 24; i++) b[i] = (float)(i + 1);
    clg_tensor in4[] = {TENSOR(FLOATS(2, -1), 2), TENSOR(b, 3, 2, 4)};
    /* numpy: np.array([2,-1]) @ np.arange(1,25).reshape(3,2,4), shape (3,4) */
    expect_destroy(g, in4, 2, 2, DIMS(3, 4), FLOATS(-3, -2, -1, 0, 5, 6, 7, 8, 13, 14, 15, 16));
}

/* ------------------------------------------------------------------ Conv2D */

static clg_graph *conv_graph(int64_t n, int64_t c, int64_t h, int64_t w, const int64_t *wdims,
                             const float *weight, const float *bias, const clg_attr *attrs,
                             int n_attrs)
{
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(n, c, h, w));
    constant(g, "w", 4, wdims, weight);
    if (bias) constant(g, "b", 1, DIMS(wdims[0]), bias);
    node(g, CLG_OP_CONV2D, "y", (const char *const[]){"x", "w", "b"}, bias ? 3 : 2, attrs, n_attrs);
    output(g, "y");
    return g;
}

static float *iota(float *buf, int n, float start, float scale)
{
    for (int i = 0; i < n; i++) buf[i] = (start + (float)i) * scale;
    return buf;
}

static void test_conv_asymmetric_pads(void **state)
{
    (void)state;
    float x[16];
    clg_graph *g = conv_graph(1, 1, 4, 4, DIMS(1, 1, 3, 3), FLOATS(1, 0, -1, 2, 1, 0, 0, 1, 1), NULL,
                              ATTRS(A_INTS("pads", 1, 0, 0, 2)));
    clg_tensor in = TENSOR(iota(x, 16, 1, 1), 1, 1, 4, 4);
    /* Python loops over np.pad(x, top 1, left 0, bottom 0, right 2); e.g. y[0][0] =
     * (2,1,0).(1,2,3) + (0,1,1).(5,6,7) = 4 + 13 = 17 by hand. */
    expect_destroy(g, &in, 1, 4, DIMS(1, 1, 3, 4), FLOATS(17, 22, 18, 8, 35, 40, 37, 20, 55, 60, 57, 32));
}

static void test_conv_stride2(void **state)
{
    (void)state;
    float x[16];
    clg_graph *g = conv_graph(1, 1, 4, 4, DIMS(1, 1, 3, 3), FLOATS(1, 0, -1, 2, 1, 0, 0, 1, 1), NULL,
                              ATTRS(A_INTS("pads", 1, 1, 1, 1), A_INTS("strides", 2, 2)));
    clg_tensor in = TENSOR(iota(x, 16, 1, 1), 1, 1, 4, 4);
    /* Python loops; by hand y[0][0] is the window at rows/cols -1..1:
     * (2,1,0).(0,1,2) + (0,1,1).(0,5,6) = 1 + 11 = 12. */
    expect_destroy(g, &in, 1, 4, DIMS(1, 1, 2, 2), FLOATS(12, 22, 30, 60));
}

static void test_conv_dilation2(void **state)
{
    (void)state;
    float x[25];
    clg_graph *g = conv_graph(1, 1, 5, 5, DIMS(1, 1, 2, 2), FLOATS(1, 2, 3, 4), NULL,
                              ATTRS(A_INTS("dilations", 2, 2)));
    clg_tensor in = TENSOR(iota(x, 25, 1, 1), 1, 1, 5, 5);
    /* y[0][0] = 1*x00 + 2*x02 + 3*x20 + 4*x22 = 1 + 6 + 33 + 52 = 92 by hand;
     * each step right adds 10, each step down adds 50. */
    expect_destroy(g, &in, 1, 4, DIMS(1, 1, 3, 3), FLOATS(92, 102, 112, 142, 152, 162, 192, 202, 212));
}

static void test_conv_group2(void **state)
{
    (void)state;
    float x[36], w[16];
    /* x = 1..36 as [1,4,3,3]; w = (-7..8)/4 as [2,2,2,2]; group 2: output
     * channel 0 reads input channels 0-1, output channel 1 reads 2-3. */
    clg_graph *g = conv_graph(1, 4, 3, 3, DIMS(2, 2, 2, 2), iota(w, 16, -7, 0.25f), NULL,
                              ATTRS(a_int("group", 2)));
    clg_tensor in = TENSOR(iota(x, 36, 1, 1), 1, 4, 3, 3);
    /* Python loops over the groups */
    expect_destroy(g, &in, 1, 4, DIMS(1, 2, 2, 2), FLOATS(-31, -38, -52, -59, 251, 260, 278, 287));
}

static void test_conv_depthwise(void **state)
{
    (void)state;
    float x[18];
    clg_graph *g = conv_graph(1, 2, 3, 3, DIMS(2, 1, 2, 2), FLOATS(1, -1, 0, 2, 0.5f, 0.5f, 0.5f, 0.5f),
                              FLOATS(1, -2), ATTRS(a_int("group", 2)));
    clg_tensor in = TENSOR(iota(x, 18, 1, 1), 1, 2, 3, 3);
    /* by hand: channel 0: x00 - x01 + 2 x11 + 1, e.g. 1 - 2 + 10 + 1 = 10;
     * channel 1: mean-of-4 * 2 - 2, e.g. (10+11+13+14)/2 - 2 = 22. */
    expect_destroy(g, &in, 1, 4, DIMS(1, 2, 2, 2), FLOATS(10, 12, 16, 18, 22, 24, 28, 30));
}

static void test_conv_batch_bias_channels(void **state)
{
    (void)state;
    float x[36], w[24];
    /* x = (1..36)/10 as [2,2,3,3]; w = (-12..11)/8 as [3,2,2,2]; pads (0,1,1,0) */
    clg_graph *g = conv_graph(2, 2, 3, 3, DIMS(3, 2, 2, 2), iota(w, 24, -12, 0.125f),
                              FLOATS(0.5f, 0, -0.5f), ATTRS(A_INTS("pads", 0, 1, 1, 0)));
    clg_tensor in = TENSOR(iota(x, 36, 1, 0.1f), 2, 2, 3, 3);
    /* Python loops over np.pad */
    expect_destroy(g, &in, 1, 4, DIMS(2, 3, 3, 3),
                   FLOATS(-1.775f, -4.8f, -5.65f, -2.975f, -7.35f, -8.2f, -1.8625f, -4.7375f, -5.2125f,
                          0.525f, 0.7f, 0.65f, 0.525f, 0.55f, 0.5f, -0.0625f, -0.4375f, -0.5125f,
                          2.825f, 6.2f, 6.95f, 4.025f, 8.45f, 9.2f, 1.7375f, 3.8625f, 4.1875f,
                          -8.975f, -20.1f, -20.95f, -10.175f, -22.65f, -23.5f, -5.9125f, -13.2875f,
                          -13.7625f, 0.525f, -0.2f, -0.25f, 0.525f, -0.35f, -0.4f, -0.5125f, -1.7875f,
                          -1.8625f, 10.025f, 19.7f, 20.45f, 11.225f, 21.95f, 22.7f, 4.8875f, 9.7125f,
                          10.0375f));
}

/* --------------------------------------------------------------- BatchNorm */

static clg_graph *bn_graph(int rank, const int64_t *dims, const float *scale, const float *bias,
                           const float *mean, const float *var, float eps)
{
    clg_graph *g = new_graph();
    input(g, "x", rank, dims);
    const int64_t *cd = DIMS(dims[1]);
    constant(g, "scale", 1, cd, scale);
    constant(g, "bias", 1, cd, bias);
    constant(g, "mean", 1, cd, mean);
    constant(g, "var", 1, cd, var);
    node(g, CLG_OP_BATCHNORM, "y", NAMES("x", "scale", "bias", "mean", "var"),
         ATTRS(a_float("epsilon", eps)));
    output(g, "y");
    return g;
}

static void test_batchnorm(void **state)
{
    (void)state;
    clg_graph *g = bn_graph(2, DIMS(2, 3), FLOATS(1, 2, 0.5f), FLOATS(0, 1, -1), FLOATS(1, 2, 3),
                            FLOATS(4, 1, 0.25f), 1e-5f);
    clg_tensor x = TENSOR(FLOATS(1, 2, 3, 4, 5, 6), 2, 3);
    /* numpy: scale * (x - mean) / sqrt(var + 1e-5) + bias; e.g. (4-1)/sqrt(4.00001) */
    expect_destroy(g, &x, 1, 2, DIMS(2, 3), FLOATS(0, 1, -1, 1.49999813f, 6.99997f, 1.99994f));

    g = bn_graph(4, DIMS(1, 2, 2, 2), FLOATS(2, -1), FLOATS(0.5f, 0), FLOATS(0, 4), FLOATS(3, 0),
                 0.001f);
    clg_tensor x4 = TENSOR(FLOATS(1, 2, 3, 4, 5, 6, 7, 8), 1, 2, 2, 2);
    /* numpy, channel = dim 1: 2x/sqrt(3.001) + 0.5 and -(x-4)/sqrt(0.001) */
    expect_destroy(g, &x4, 1, 4, DIMS(1, 2, 2, 2),
                   FLOATS(1.65450814f, 2.80901627f, 3.96352441f, 5.11803255f, -31.6227766f,
                          -63.2455532f, -94.8683298f, -126.491106f));
}

/* -------------------------------------------------------------- activations */

static float unary_x[] = {-3, -1, -0.5f, 0, 0.5f, 1, 3};

static void expect_unary(clg_op op, const clg_attr *attrs, int n_attrs, const float *want)
{
    clg_graph *g = new_graph();
    input(g, "x", 1, DIMS(7));
    node(g, op, "y", NAMES("x"), attrs, n_attrs);
    output(g, "y");
    clg_tensor x = TENSOR(unary_x, 7);
    expect_destroy(g, &x, 1, 1, DIMS(7), want);
}

static void test_relu_leaky(void **state)
{
    (void)state;
    expect_unary(CLG_OP_RELU, NO_ATTRS, FLOATS(0, 0, 0, 0, 0.5f, 1, 3));
    expect_unary(CLG_OP_LEAKY_RELU, ATTRS(a_float("alpha", 0.1f)),
                 FLOATS(-0.3f, -0.1f, -0.05f, 0, 0.5f, 1, 3));
    /* ONNX default alpha 0.01 */
    expect_unary(CLG_OP_LEAKY_RELU, NO_ATTRS, FLOATS(-0.03f, -0.01f, -0.005f, 0, 0.5f, 1, 3));
    expect_unary(CLG_OP_IDENTITY, NO_ATTRS, unary_x);
}

static void test_sigmoid_tanh(void **state)
{
    (void)state;
    /* numpy: 1 / (1 + np.exp(-x)) and np.tanh(x) */
    expect_unary(CLG_OP_SIGMOID, NO_ATTRS,
                 FLOATS(0.0474258732f, 0.268941421f, 0.377540669f, 0.5f, 0.622459331f, 0.731058579f,
                        0.952574127f));
    expect_unary(CLG_OP_TANH, NO_ATTRS,
                 FLOATS(-0.995054754f, -0.761594156f, -0.462117157f, 0, 0.462117157f, 0.761594156f,
                        0.995054754f));
}

static void test_clip(void **state)
{
    (void)state;
    expect_unary(CLG_OP_CLIP, ATTRS(a_float("min", -1), a_float("max", 0.5f)),
                 FLOATS(-1, -1, -0.5f, 0, 0.5f, 0.5f, 0.5f));
    expect_unary(CLG_OP_CLIP, ATTRS(a_float("min", 0)), FLOATS(0, 0, 0, 0, 0.5f, 1, 3));
    expect_unary(CLG_OP_CLIP, ATTRS(a_float("max", 0.75f)), FLOATS(-3, -1, -0.5f, 0, 0.5f, 0.75f, 0.75f));
    expect_unary(CLG_OP_CLIP, NO_ATTRS, unary_x);
}

static void test_gelu(void **state)
{
    (void)state;
    /* Python: 0.5*x*(1+math.erf(x/math.sqrt(2))) */
    expect_unary(CLG_OP_GELU, NO_ATTRS,
                 FLOATS(-0.00404969409f, -0.158655254f, -0.154268769f, 0, 0.345731231f, 0.841344746f,
                        2.99595031f));
    expect_unary(CLG_OP_GELU, ATTRS(a_int("approximate", 0)),
                 FLOATS(-0.00404969409f, -0.158655254f, -0.154268769f, 0, 0.345731231f, 0.841344746f,
                        2.99595031f));
    /* Python: 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3))) */
    expect_unary(CLG_OP_GELU, ATTRS(a_int("approximate", 1)),
                 FLOATS(-0.00363739208f, -0.158808009f, -0.15428599f, 0, 0.34571401f, 0.841191991f,
                        2.99636261f));
}

/* ----------------------------------------------------------------- Softmax */

static float softmax_x[] = {-0.9f, 0.2f, 1.3f, 2.4f, -1.5f, -0.4f, 0.7f, 1.8f, 2.9f, -1.0f, 0.1f, 1.2f,
                            2.3f,  3.4f, -0.5f, 0.6f, 1.7f, 2.8f, 3.9f, 0.0f, 1.1f, 2.2f, 3.3f, 4.4f};

static void expect_softmax(int64_t axis, const float *want)
{
    clg_graph *g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_SOFTMAX, "y", NAMES("x"), ATTRS(a_int("axis", axis)));
    output(g, "y");
    clg_tensor x = TENSOR(softmax_x, 2, 3, 4);
    expect_destroy(g, &x, 1, 3, DIMS(2, 3, 4), want);
}

static void test_softmax_axes(void **state)
{
    (void)state;
    /* numpy: e = np.exp(x - x.max(axis, keepdims=True)); e / e.sum(axis, keepdims=True) */
    expect_softmax(0, FLOATS(0.0391657228f, 0.0391657228f, 0.858148935f, 0.858148935f, 0.0391657228f,
                             0.0391657228f, 0.0391657228f, 0.858148935f, 0.858148935f, 0.0391657228f,
                             0.0391657228f, 0.0391657228f, 0.960834277f, 0.960834277f, 0.141851065f,
                             0.141851065f, 0.960834277f, 0.960834277f, 0.960834277f, 0.141851065f,
                             0.141851065f, 0.960834277f, 0.960834277f, 0.960834277f));
    expect_softmax(1, FLOATS(0.0216216234f, 0.540538832f, 0.540538832f, 0.540538832f, 0.0118661985f,
                             0.296654001f, 0.296654001f, 0.296654001f, 0.966512178f, 0.162807167f,
                             0.162807167f, 0.162807167f, 0.540538832f, 0.540538832f, 0.00786459971f,
                             0.0216216234f, 0.296654001f, 0.296654001f, 0.640578478f, 0.0118661985f,
                             0.162807167f, 0.162807167f, 0.351556922f, 0.966512178f));
    const float *last = FLOATS(0.0249116766f, 0.0748388125f, 0.224828218f, 0.675421293f, 0.0249116766f,
                               0.0748388125f, 0.224828218f, 0.675421293f, 0.791304827f, 0.0160175222f,
                               0.0481192961f, 0.144558354f, 0.235423761f, 0.707252063f, 0.0143161336f,
                               0.0430080423f, 0.0756895524f, 0.227383982f, 0.683099232f, 0.0138272342f,
                               0.0249116766f, 0.0748388125f, 0.224828218f, 0.675421293f);
    expect_softmax(-1, last);
    expect_softmax(2, last);
}

static void test_softmax_stable(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(2, 3));
    node(g, CLG_OP_SOFTMAX, "y", NAMES("x"), NO_ATTRS); /* default axis -1 */
    output(g, "y");
    clg_tensor x = TENSOR(FLOATS(1000, 1001, 1002, -1000, -1000, -1000), 2, 3);
    /* numpy with the max subtracted: softmax(0,1,2) and a uniform row; exp(1000)
     * alone would overflow */
    expect_destroy(g, &x, 1, 2, DIMS(2, 3),
                   FLOATS(0.0900305732f, 0.244728471f, 0.665240956f, 1.0f / 3, 1.0f / 3, 1.0f / 3));
}

/* ------------------------------------------------------------------ pools */

static float x5[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3};

static void expect_pool(clg_op op, float *x, int64_t h, int64_t w, const clg_attr *attrs, int n_attrs,
                        int64_t oh, int64_t ow, const float *want)
{
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(1, 1, h, w));
    node(g, op, "y", NAMES("x"), attrs, n_attrs);
    output(g, "y");
    clg_tensor in = TENSOR(x, 1, 1, h, w);
    expect_destroy(g, &in, 1, 4, DIMS(1, 1, oh, ow), want);
}

static void test_maxpool(void **state)
{
    (void)state;
    float x[16];
    iota(x, 16, 1, 1);
    /* by hand: max of each 2x2 block of 1..16 */
    expect_pool(CLG_OP_MAXPOOL, x, 4, 4, ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("strides", 2, 2)),
                2, 2, FLOATS(6, 8, 14, 16));
    /* x = -(1..16): the zero padding must never win; by hand the max of each
     * 3x3 window at rows/cols -1..1 and 1..3 */
    iota(x, 16, 1, -1);
    expect_pool(CLG_OP_MAXPOOL, x, 4, 4,
                ATTRS(A_INTS("kernel_shape", 3, 3), A_INTS("strides", 2, 2), A_INTS("pads", 1, 1, 1, 1)),
                2, 2, FLOATS(-1, -2, -5, -6));
}

static void test_maxpool_ceil_dilation_asym(void **state)
{
    (void)state;
    /* Python loops (ONNX semantics; ceil_mode output 3 = ceil((5-2)/2)+1) */
    expect_pool(CLG_OP_MAXPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("strides", 2, 2), a_int("ceil_mode", 1)), 3, 3,
                FLOATS(9, 6, 5, 8, 9, 9, 6, 6, 3));
    /* 2x2 kernel with dilation 2 reads x[i][j], x[i][j+2], x[i+2][j], x[i+2][j+2] */
    expect_pool(CLG_OP_MAXPOOL, x5, 5, 5, ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("dilations", 2, 2)),
                3, 3, FLOATS(9, 8, 9, 9, 8, 6, 9, 8, 9));
    /* kernel 2x3, strides (2,1), pads (top 1, left 0, bottom 0, right 1) */
    expect_pool(CLG_OP_MAXPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 2, 3), A_INTS("strides", 2, 1), A_INTS("pads", 1, 0, 0, 1)), 3,
                4, FLOATS(4, 4, 5, 5, 9, 9, 9, 9, 6, 8, 8, 8));
}

static void test_avgpool_pads(void **state)
{
    (void)state;
    float x[16];
    iota(x, 16, 1, 1);
    /* by hand: window (0,0) holds 1,2,5,6 (sum 14) in a 3x3 padded window:
     * 14/4 = 3.5 without the padding, 14/9 = 1.5556 with it */
    expect_pool(CLG_OP_AVERAGEPOOL, x, 4, 4,
                ATTRS(A_INTS("kernel_shape", 3, 3), A_INTS("strides", 2, 2), A_INTS("pads", 1, 1, 1, 1),
                      a_int("count_include_pad", 0)),
                2, 2, FLOATS(3.5f, 5, 9.5f, 11));
    expect_pool(CLG_OP_AVERAGEPOOL, x, 4, 4,
                ATTRS(A_INTS("kernel_shape", 3, 3), A_INTS("strides", 2, 2), A_INTS("pads", 1, 1, 1, 1),
                      a_int("count_include_pad", 1)),
                2, 2, FLOATS(1.55555556f, 3.33333333f, 6.33333333f, 11));
    /* kernel 3x2, strides 2, pads (top 2, left 0, bottom 0, right 1); Python loops */
    expect_pool(CLG_OP_AVERAGEPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 3, 2), A_INTS("strides", 2, 2), A_INTS("pads", 2, 0, 0, 1)), 3,
                3,
                FLOATS(2, 2.5f, 5, 4.66666667f, 5.33333333f, 5.66666667f, 4.33333333f, 6.16666667f,
                       5.33333333f));
    expect_pool(CLG_OP_AVERAGEPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 3, 2), A_INTS("strides", 2, 2), A_INTS("pads", 2, 0, 0, 1),
                      a_int("count_include_pad", 1)),
                3, 3,
                FLOATS(0.666666667f, 0.833333333f, 0.833333333f, 4.66666667f, 5.33333333f, 2.83333333f,
                       4.33333333f, 6.16666667f, 2.66666667f));
}

static void test_avgpool_ceil_mode(void **state)
{
    (void)state;
    float x[36];
    iota(x, 36, 1, 1);
    /* 6x6, kernel 3, stride 2, pads 1, ceil_mode: 4 outputs per axis (3 with
     * floor). The last window starts at 5 and would end at 8, past the padded
     * input's end 7: clipped to [5,7), so with the padding counted it divides
     * by 2 per axis, not 3. By hand: y[0][3] holds x[0][5], x[1][5] = 6, 12:
     * 18/2 = 9 without padding, 18/(3*2) = 3 with it. Rest: Python loops. */
    expect_pool(CLG_OP_AVERAGEPOOL, x, 6, 6,
                ATTRS(A_INTS("kernel_shape", 3, 3), A_INTS("strides", 2, 2), A_INTS("pads", 1, 1, 1, 1),
                      a_int("ceil_mode", 1)),
                4, 4, FLOATS(4.5f, 6, 8, 9, 13.5f, 15, 17, 18, 25.5f, 27, 29, 30, 31.5f, 33, 35, 36));
    expect_pool(CLG_OP_AVERAGEPOOL, x, 6, 6,
                ATTRS(A_INTS("kernel_shape", 3, 3), A_INTS("strides", 2, 2), A_INTS("pads", 1, 1, 1, 1),
                      a_int("ceil_mode", 1), a_int("count_include_pad", 1)),
                4, 4,
                FLOATS(2, 4, 5.33333333f, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5f, 16.5f, 17.5f, 9));
    /* 5x5, kernel 2, stride 2, no pads, ceil_mode: the last window holds one
     * row/column and, clipped to the (unpadded) input, divides by what it
     * holds under both count_include_pad values. By hand: y[2][2] = x[4][4] = 3,
     * y[0][2] = (5+3)/2 = 4. */
    const float *want = FLOATS(3.75f, 4, 4, 4.5f, 6.75f, 6.5f, 4, 5, 3);
    expect_pool(CLG_OP_AVERAGEPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("strides", 2, 2), a_int("ceil_mode", 1)), 3, 3,
                want);
    expect_pool(CLG_OP_AVERAGEPOOL, x5, 5, 5,
                ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("strides", 2, 2), a_int("ceil_mode", 1),
                      a_int("count_include_pad", 1)),
                3, 3, want);
}

static void test_global_avgpool(void **state)
{
    (void)state;
    float x[24];
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(2, 2, 2, 3));
    node(g, CLG_OP_GLOBALAVERAGEPOOL, "y", NAMES("x"), NO_ATTRS);
    output(g, "y");
    clg_tensor in = TENSOR(iota(x, 24, 1, 1), 2, 2, 2, 3);
    /* by hand: mean of each run of 6 consecutive values */
    expect_destroy(g, &in, 1, 4, DIMS(2, 2, 1, 1), FLOATS(3.5f, 9.5f, 15.5f, 21.5f));

    g = new_graph();
    input(g, "x", 3, DIMS(1, 2, 4));
    node(g, CLG_OP_GLOBALAVERAGEPOOL, "y", NAMES("x"), NO_ATTRS);
    output(g, "y");
    clg_tensor in3 = TENSOR(x, 1, 2, 4); /* 1..8 */
    expect_destroy(g, &in3, 1, 3, DIMS(1, 2, 1), FLOATS(2.5f, 6.5f));
}

/* --------------------------------------------------------- data movement */

static void test_flatten_reshape(void **state)
{
    (void)state;
    float x[24];
    iota(x, 24, 1, 1);
    clg_tensor in = TENSOR(x, 2, 3, 4);
    clg_graph *g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_FLATTEN, "y", NAMES("x"), NO_ATTRS);
    output(g, "y");
    expect_destroy(g, &in, 1, 2, DIMS(2, 12), x);

    g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_FLATTEN, "y", NAMES("x"), ATTRS(a_int("axis", 0)));
    output(g, "y");
    expect_destroy(g, &in, 1, 2, DIMS(1, 24), x);

    /* 0 copies the input's dim, -1 takes what is left */
    g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_RESHAPE, "y", NAMES("x"), ATTRS(A_INTS("shape", 0, -1)));
    output(g, "y");
    expect_destroy(g, &in, 1, 2, DIMS(2, 12), x);

    g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_RESHAPE, "y", NAMES("x"), ATTRS(A_INTS("shape", 4, 0, -1)));
    output(g, "y");
    expect_destroy(g, &in, 1, 3, DIMS(4, 3, 2), x);
}

static void test_transpose(void **state)
{
    (void)state;
    float x[24];
    iota(x, 24, 1, 1);
    clg_tensor in = TENSOR(x, 2, 3, 4);
    clg_graph *g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_TRANSPOSE, "y", NAMES("x"), ATTRS(A_INTS("perm", 1, 2, 0)));
    output(g, "y");
    /* numpy: np.arange(1,25).reshape(2,3,4).transpose(1,2,0); y[j][k][i] = x[i][j][k] */
    expect_destroy(g, &in, 1, 3, DIMS(3, 4, 2),
                   FLOATS(1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23,
                          12, 24));

    g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    node(g, CLG_OP_TRANSPOSE, "y", NAMES("x"), NO_ATTRS); /* no perm: reverse the dims */
    output(g, "y");
    /* numpy: .transpose() */
    expect_destroy(g, &in, 1, 3, DIMS(4, 3, 2),
                   FLOATS(1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23, 4, 16, 8, 20,
                          12, 24));
}

static void test_concat(void **state)
{
    (void)state;
    float a[4], b[8], c[12];
    clg_graph *g = new_graph();
    input(g, "a", 3, DIMS(2, 1, 2));
    input(g, "b", 3, DIMS(2, 2, 2));
    input(g, "c", 3, DIMS(2, 3, 2));
    node(g, CLG_OP_CONCAT, "y", NAMES("a", "b", "c"), ATTRS(a_int("axis", 1)));
    output(g, "y");
    clg_tensor in[] = {TENSOR(iota(a, 4, 1, 1), 2, 1, 2), TENSOR(iota(b, 8, 101, 1), 2, 2, 2),
                       TENSOR(iota(c, 12, 201, 1), 2, 3, 2)};
    /* numpy: np.concatenate([a, b, c], axis=1) */
    expect_destroy(g, in, 3, 3, DIMS(2, 6, 2),
                   FLOATS(1, 2, 101, 102, 103, 104, 201, 202, 203, 204, 205, 206, 3, 4, 105, 106, 107,
                          108, 207, 208, 209, 210, 211, 212));

    g = new_graph();
    input(g, "a", 2, DIMS(2, 2));
    constant(g, "b", 2, DIMS(2, 1), FLOATS(50, 51));
    node(g, CLG_OP_CONCAT, "y", NAMES("a", "b"), ATTRS(a_int("axis", -1)));
    output(g, "y");
    clg_tensor in2 = TENSOR(FLOATS(1, 2, 3, 4), 2, 2);
    expect_destroy(g, &in2, 1, 2, DIMS(2, 3), FLOATS(1, 2, 50, 3, 4, 51));
}

/* -------------------------------------------------------------- Attention */

/* Two batches of one query against two keys; KT and V shared by both
 * (their batch dim of 1 broadcasts). With KT = [0, ln 2] the scores are
 * q·[0, ln 2]: for q = 1 the weights are [1, 2]/3, for q = 2 they are
 * [1, 4]/5, so with V = [[3, 30], [6, 60]] the outputs are [5, 50] and
 * [27/5, 54]. */
static clg_graph *attention_graph(bool mask, float scale)
{
    clg_graph *g = new_graph();
    input(g, "q", 3, DIMS(2, 1, 1));
    constant(g, "kt", 3, DIMS(1, 1, 2), FLOATS(0, 0.69314718f));
    constant(g, "v", 3, DIMS(1, 2, 2), FLOATS(3, 30, 6, 60));
    if (mask) input(g, "m", 2, DIMS(1, 2));
    if (mask) node(g, CLG_OP_ATTENTION, "y", NAMES("q", "kt", "v", "m"), ATTRS(a_float("scale", scale)));
    else node(g, CLG_OP_ATTENTION, "y", NAMES("q", "kt", "v"), ATTRS(a_float("scale", scale)));
    output(g, "y");
    return g;
}

static void test_attention(void **state)
{
    (void)state;
    clg_tensor in[] = {TENSOR(FLOATS(1, 2), 2, 1, 1), TENSOR(FLOATS(0, 0), 1, 2)};
    expect_destroy(attention_graph(false, 1), in, 1, 3, DIMS(2, 1, 2), FLOATS(5, 50, 5.4f, 54));
    /* scale 0.5 halves the scores and the mask [0, ln 2] adds to them: for
     * q = 2 they are [0, 2 ln 2] (weights [1, 4]/5), for q = 4
     * [0, 3 ln 2] (weights [1, 8]/9: 51/9 and 510/9). */
    clg_tensor half[] = {TENSOR(FLOATS(2, 4), 2, 1, 1), TENSOR(FLOATS(0, 0.69314718f), 1, 2)};
    expect_destroy(attention_graph(true, 0.5f), half, 2, 3, DIMS(2, 1, 2), FLOATS(5.4f, 54, 51.0f / 9, 510.0f / 9));
    /* A -inf mask entry removes its key: only V's second row is left. */
    clg_tensor masked[] = {TENSOR(FLOATS(1, 2), 2, 1, 1), TENSOR(FLOATS(-INFINITY, 0), 1, 2)};
    expect_destroy(attention_graph(true, 1), masked, 2, 3, DIMS(2, 1, 2), FLOATS(6, 60, 6, 60));
}

/* -------------------------------------------------------------------- Pad */

/* y = Pad(x) with the given attributes; the expected values are
 * numpy.pad's, worked out by hand in the comments. */
static void expect_pad(int rank, const int64_t *dims, float *x, const clg_attr *attrs, int n_attrs,
                       int out_rank, const int64_t *out_dims, const float *want)
{
    clg_graph *g = new_graph();
    input(g, "x", rank, dims);
    node(g, CLG_OP_PAD, "y", (const char *const[]){"x"}, 1, attrs, n_attrs);
    output(g, "y");
    clg_tensor in = {x, rank, {0}, CLG_DTYPE_F32};
    for (int i = 0; i < rank; i++) in.dims[i] = dims[i];
    expect_destroy(g, &in, 1, out_rank, out_dims, want);
}

static clg_attr a_string(const char *name, const char *s)
{
    clg_attr a = {name, CLG_ATTR_STRING, 0, {0}, 0.0f, s};
    return a;
}

static void test_pad_constant(void **state)
{
    (void)state;
    /* np.pad([[1,2,3],[4,5,6]], ((1,0),(0,2)), constant_values=9) */
    expect_pad(2, DIMS(2, 3), FLOATS(1, 2, 3, 4, 5, 6), ATTRS(A_INTS("pads", 1, 0, 0, 2), a_float("value", 9)),
               2, DIMS(3, 5), FLOATS(9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9));
    /* The default value is 0. */
    expect_pad(1, DIMS(2), FLOATS(1, 2), ATTRS(A_INTS("pads", 0, 1)), 1, DIMS(3), FLOATS(1, 2, 0));
}

static void test_pad_reflect_edge(void **state)
{
    (void)state;
    /* np.pad([1,2,3,4], (2,3), 'reflect'): the edge element is not repeated. */
    expect_pad(1, DIMS(4), FLOATS(1, 2, 3, 4), ATTRS(A_INTS("pads", 2, 3), a_string("mode", "reflect")), 1,
               DIMS(9), FLOATS(3, 2, 1, 2, 3, 4, 3, 2, 1));
    /* np.pad([1,2,3,4], (2,1), 'edge') */
    expect_pad(1, DIMS(4), FLOATS(1, 2, 3, 4), ATTRS(A_INTS("pads", 2, 1), a_string("mode", "edge")), 1,
               DIMS(7), FLOATS(1, 1, 1, 2, 3, 4, 4));
    /* x = 1..6 as [1, 2, 3], pads (0,0), (1,0), (1,2), reflect: the rows
     * become r1 r0 r1, and each row [a,b,c] becomes [b,a,b,c,b,a]. */
    expect_pad(3, DIMS(1, 2, 3), FLOATS(1, 2, 3, 4, 5, 6),
               ATTRS(A_INTS("pads", 0, 1, 1, 0, 0, 2), a_string("mode", "reflect")), 3, DIMS(1, 3, 6),
               FLOATS(5, 4, 5, 6, 5, 4, 2, 1, 2, 3, 2, 1, 5, 4, 5, 6, 5, 4));
}

static void test_pad_negative_crops(void **state)
{
    (void)state;
    /* x = 1..12 as [3, 4]; pads begins (-1, 1), ends (1, -2), edge: crop
     * the first row and the last two columns, leaving [[5,6],[9,10]], then
     * np.pad(that, ((0,1),(1,0)), 'edge'). */
    float x[12];
    expect_pad(2, DIMS(3, 4), iota(x, 12, 1, 1), ATTRS(A_INTS("pads", -1, 1, 1, -2), a_string("mode", "edge")), 2,
               DIMS(3, 3), FLOATS(5, 5, 6, 9, 9, 10, 9, 9, 10));
    /* Constant mode crops too: [1..12] as [3, 4] with begins (0, -1), ends (-2, 1). */
    expect_pad(2, DIMS(3, 4), iota(x, 12, 1, 1), ATTRS(A_INTS("pads", 0, -1, -2, 1)), 2, DIMS(1, 4),
               FLOATS(2, 3, 4, 0));
}

static void test_pad_rank5(void **state)
{
    (void)state;
    /* [1, 1, 1, 1, 2] = [7, 8]: only the last dim padded, edge (1, 2). */
    expect_pad(5, DIMS(1, 1, 1, 1, 2), FLOATS(7, 8),
               ATTRS(A_INTS("pads", 0, 0, 0, 0, 1, 0, 0, 0, 0, 2), a_string("mode", "edge")), 5, DIMS(1, 1, 1, 1, 5),
               FLOATS(7, 7, 8, 8, 8));
    /* [2, 1, 1, 1, 1] = [7, 8] reflected along the first dim by (1, 1). */
    expect_pad(5, DIMS(2, 1, 1, 1, 1), FLOATS(7, 8),
               ATTRS(A_INTS("pads", 1, 0, 0, 0, 0, 1, 0, 0, 0, 0), a_string("mode", "reflect")), 5,
               DIMS(4, 1, 1, 1, 1), FLOATS(8, 7, 8, 7));
}

/* Slice, Expand, Tile: expected values from Python's own slicing and plain
 * loops over nested lists (x[:, 2::-2, 3:0:-2] is ONNX's Slice for these
 * in-range indices), not from clgraph. */
static void test_slice(void **state)
{
    (void)state;
    float x[72];
    iota(x, 24, 1, 1);
    clg_tensor in = TENSOR(x, 2, 3, 4);
    clg_graph *g = new_graph();
    input(g, "x", 3, DIMS(2, 3, 4));
    /* negative steps; a start counted from the back; an end below -dim clamps */
    node(g, CLG_OP_SLICE, "y", NAMES("x"),
         ATTRS(A_INTS("starts", -1, 3), A_INTS("ends", -100, 0), A_INTS("axes", 1, 2), A_INTS("steps", -2, -2)));
    output(g, "y");
    /* python: [[row[3:0:-2] for row in m[2::-2]] for m in x] */
    expect_destroy(g, &in, 1, 3, DIMS(2, 2, 2), FLOATS(12, 10, 4, 2, 24, 22, 16, 14));

    /* rank 5, default axes and steps, an end past the dim */
    iota(x, 72, 1, 1);
    clg_tensor in5 = TENSOR(x, 2, 3, 2, 2, 3);
    g = new_graph();
    input(g, "x", 5, DIMS(2, 3, 2, 2, 3));
    node(g, CLG_OP_SLICE, "y", NAMES("x"), ATTRS(A_INTS("starts", 1, 1), A_INTS("ends", 2, 1000)));
    output(g, "y");
    /* python: x[1:2, 1:] */
    float want[24];
    iota(want, 24, 49, 1);
    expect_destroy(g, &in5, 1, 5, DIMS(1, 2, 2, 2, 3), want);
}

/* Ranks 6 to 8 (CLG_MAX_RANK), the expected values by index loops written
 * here: swin's window partition (a 6-D Transpose), a rank-8 ReduceSum over
 * alternating axes, a rank-7 constant Pad on two axes. */
static void test_high_rank(void **state)
{
    (void)state;
    enum { B = 2, HW = 2, WIN = 3, WW = 2, C = 2, N6 = B * HW * WIN * WW * WIN * C };
    static float x[N6], want[N6];
    for (int i = 0; i < N6; i++) x[i] = (float)i;
    /* x [B, HW, WIN, WW, WIN, C] -> perm (0, 1, 3, 2, 4, 5) */
    for (int b = 0, o = 0; b < B; b++)
        for (int h = 0; h < HW; h++)
            for (int w = 0; w < WW; w++)
                for (int i = 0; i < WIN; i++)
                    for (int j = 0; j < WIN; j++)
                        for (int c = 0; c < C; c++)
                            want[o++] = x[((((b * HW + h) * WIN + i) * WW + w) * WIN + j) * C + c];
    clg_tensor in6 = TENSOR(x, B, HW, WIN, WW, WIN, C);
    clg_graph *g = new_graph();
    input(g, "x", 6, DIMS(B, HW, WIN, WW, WIN, C));
    node(g, CLG_OP_TRANSPOSE, "y", NAMES("x"), ATTRS(A_INTS("perm", 0, 1, 3, 2, 4, 5)));
    output(g, "y");
    expect_destroy(g, &in6, 1, 6, DIMS(B, HW, WW, WIN, WIN, C), want);

    /* [2, 3, 2, 3, 2, 3, 2, 3] summed over axes 1, 3, 5, 7 (keepdims) */
    static float x8[1296], sum8[16];
    for (int i = 0; i < 1296; i++) x8[i] = (float)(i % 7) - 3.0f;
    memset(sum8, 0, sizeof sum8);
    for (int i = 0; i < 1296; i++) {
        int r = i, k = 0, place = 1;
        for (int d = 7; d >= 0; d--) {
            int idx = r % (d % 2 ? 3 : 2);
            r /= d % 2 ? 3 : 2;
            if (d % 2 == 0) {
                k += idx * place;
                place *= 2;
            }
        }
        sum8[k] += x8[i];
    }
    clg_tensor in8 = TENSOR(x8, 2, 3, 2, 3, 2, 3, 2, 3);
    g = new_graph();
    input(g, "x", 8, DIMS(2, 3, 2, 3, 2, 3, 2, 3));
    node(g, CLG_OP_REDUCE_SUM, "y", NAMES("x"), ATTRS(A_INTS("axes", 1, 3, 5, 7)));
    output(g, "y");
    expect_destroy(g, &in8, 1, 8, DIMS(2, 1, 2, 1, 2, 1, 2, 1), sum8);

    /* [1, 2, 1, 3, 1, 2, 2] padded by 1 before axis 1 and 2 after axis 6,
     * value 9: [1, 3, 1, 3, 1, 2, 4] */
    float x7[24], pad7[72];
    for (int i = 0; i < 24; i++) x7[i] = (float)i;
    for (int a = 0, o = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++)
                for (int d = 0; d < 4; d++)
                    pad7[o++] = a >= 1 && d < 2 ? x7[(((a - 1) * 3 + b) * 2 + c) * 2 + d] : 9.0f;
    clg_tensor in7 = TENSOR(x7, 1, 2, 1, 3, 1, 2, 2);
    g = new_graph();
    input(g, "x", 7, DIMS(1, 2, 1, 3, 1, 2, 2));
    node(g, CLG_OP_PAD, "y", NAMES("x"),
         ATTRS(A_INTS("pads", 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2), a_float("value", 9.0f)));
    output(g, "y");
    expect_destroy(g, &in7, 1, 7, DIMS(1, 3, 1, 3, 1, 2, 4), pad7);
}

static void test_expand_tile(void **state)
{
    (void)state;
    clg_tensor in = TENSOR(FLOATS(1, 2, 3), 3, 1);
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(3, 1));
    node(g, CLG_OP_EXPAND, "y", NAMES("x"), ATTRS(A_INTS("shape", 2, 1, 4)));
    output(g, "y");
    /* [3, 1] against [2, 1, 4]: [2, 3, 4], each row its one value */
    expect_destroy(g, &in, 1, 3, DIMS(2, 3, 4),
                   FLOATS(1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));

    float x[6];
    clg_tensor in2 = TENSOR(iota(x, 6, 1, 1), 2, 3);
    g = new_graph();
    input(g, "x", 2, DIMS(2, 3));
    node(g, CLG_OP_TILE, "y", NAMES("x"), ATTRS(A_INTS("repeats", 2, 2)));
    output(g, "y");
    /* python: [[x[i % 2][j % 3] for j in range(6)] for i in range(4)] */
    expect_destroy(g, &in2, 1, 2, DIMS(4, 6),
                   FLOATS(1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6));

    clg_tensor in3 = TENSOR(iota(x, 4, 1, 1), 1, 2, 2);
    g = new_graph();
    input(g, "x", 3, DIMS(1, 2, 2));
    node(g, CLG_OP_TILE, "y", NAMES("x"), ATTRS(A_INTS("repeats", 3, 1, 2)));
    output(g, "y");
    expect_destroy(g, &in3, 1, 3, DIMS(3, 2, 4),
                   FLOATS(1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4));
}

/* The ONNX operator documentation's DepthToSpace example: x = arange(48)
 * as [1, 8, 2, 3], blocksize 2, in both modes; SpaceToDepth is DCR's
 * inverse, so it takes the DCR result back to arange(48). */
static const float d2s_dcr[48] = {0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38, 3,  15, 4,  16,
                                  5,  17, 27, 39, 28, 40, 29, 41, 6,  18, 7,  19, 8,  20, 30, 42,
                                  31, 43, 32, 44, 9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47};
static const float d2s_crd[48] = {0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20, 3,  9,  4,  10,
                                  5,  11, 15, 21, 16, 22, 17, 23, 24, 30, 25, 31, 26, 32, 36, 42,
                                  37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47};

static void test_depth_to_space(void **state)
{
    (void)state;
    float x[48], dcr_in[48];
    iota(x, 48, 0, 1);
    clg_tensor in = TENSOR(x, 1, 8, 2, 3);
    const clg_attr crd = {"mode", CLG_ATTR_STRING, 0, {0}, 0.0f, "CRD"};
    for (int mode = 0; mode < 2; mode++) {
        clg_graph *g = new_graph();
        input(g, "x", 4, DIMS(1, 8, 2, 3));
        if (mode) node(g, CLG_OP_DEPTH_TO_SPACE, "y", NAMES("x"), ATTRS(a_int("blocksize", 2), crd));
        else node(g, CLG_OP_DEPTH_TO_SPACE, "y", NAMES("x"), ATTRS(a_int("blocksize", 2)));
        output(g, "y");
        expect_destroy(g, &in, 1, 4, DIMS(1, 2, 4, 6), mode ? d2s_crd : d2s_dcr);
    }
    memcpy(dcr_in, d2s_dcr, sizeof dcr_in);
    clg_tensor in2 = TENSOR(dcr_in, 1, 2, 4, 6);
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(1, 2, 4, 6));
    node(g, CLG_OP_SPACE_TO_DEPTH, "y", NAMES("x"), ATTRS(a_int("blocksize", 2)));
    output(g, "y");
    expect_destroy(g, &in2, 1, 4, DIMS(1, 8, 2, 3), x);
}

/* Trilu: inputs and outputs of ONNX's node tests (libonnx-testdata
 * test_triu_neg, test_tril_pos, test_tril_out_neg, test_triu_one_row,
 * test_tril_square_neg; their int64 data as floats). */
static const float trilu_x[20] = {5, 0, 3, 3, 7, 9, 3, 5, 2, 4, 7, 6, 8, 8, 1, 6, 7, 7, 8, 1};

static void trilu_case(int rank, const int64_t *dims, int64_t upper, int64_t k, const float *want)
{
    float x[20];
    memcpy(x, trilu_x, sizeof x);
    clg_tensor in = {x, rank, {0}, CLG_DTYPE_F32};
    for (int d = 0; d < rank; d++) in.dims[d] = dims[d];
    clg_graph *g = new_graph();
    input(g, "x", rank, dims);
    node(g, CLG_OP_TRILU, "y", NAMES("x"), ATTRS(a_int("upper", upper), a_int("k", k)));
    output(g, "y");
    expect_destroy(g, &in, 1, rank, dims, want);
}

/* Resize: inputs and outputs of ONNX's node tests (libonnx-testdata
 * test_resize_upsample_scales_linear, ..._linear_align_corners,
 * ..._scales_nearest, ..._sizes_nearest_round_prefer_ceil_asymmetric,
 * test_resize_downsample_scales_linear with its given scale 0.6,
 * test_resize_downsample_scales_cubic_A_n0p5_exclude_outside with scale 0.8
 * and test_resize_upsample_scales_cubic_align_corners). */
static void resize_case(const float *x, int64_t h, int64_t w, const clg_attr *attrs, int n_attrs, int64_t oh,
                        int64_t ow, const float *want)
{
    float data[16];
    memcpy(data, x, (size_t)(h * w) * sizeof(float));
    clg_tensor in = TENSOR(data, 1, 1, h, w);
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(1, 1, h, w));
    node(g, CLG_OP_RESIZE, "y", NAMES("x"), attrs, n_attrs);
    output(g, "y");
    expect_destroy(g, &in, 1, 4, DIMS(1, 1, oh, ow), want);
}

static void test_resize(void **state)
{
    (void)state;
    const float *x22 = FLOATS(1, 2, 3, 4);
    resize_case(x22, 2, 2, ATTRS(A_INTS("sizes", 4, 4), a_string("mode", "linear")), 4, 4,
                FLOATS(1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4));
    resize_case(x22, 2, 2,
                ATTRS(A_INTS("sizes", 4, 4), a_string("mode", "linear"),
                      a_string("coordinate_transformation_mode", "align_corners")),
                4, 4,
                FLOATS(1, 1.3333333f, 1.6666667f, 2, 1.6666666f, 2, 2.3333333f, 2.6666667f, 2.3333333f, 2.6666667f,
                       3, 3.3333333f, 3, 3.3333333f, 3.6666667f, 4));
    resize_case(x22, 2, 2, ATTRS(A_INTS("sizes", 4, 6), a_float("height_scale", 2), a_float("width_scale", 3)), 4, 6,
                FLOATS(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4));
    const float *x44 = FLOATS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    resize_case(x44, 4, 4,
                ATTRS(A_INTS("sizes", 8, 8), a_string("coordinate_transformation_mode", "asymmetric"),
                      a_string("nearest_mode", "round_prefer_ceil")),
                8, 8,
                FLOATS(1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 6, 7, 7, 8, 8, 8, 5, 6, 6, 7, 7, 8, 8, 8, 9, 10, 10, 11, 11, 12,
                       12, 12, 9, 10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16,
                       16, 16, 13, 14, 14, 15, 15, 16, 16, 16));
    resize_case(FLOATS(1, 2, 3, 4, 5, 6, 7, 8), 2, 4,
                ATTRS(A_INTS("sizes", 1, 2), a_string("mode", "linear"), a_float("height_scale", 0.6f),
                      a_float("width_scale", 0.6f)),
                1, 2, FLOATS(2.6666665f, 4.3333331f));
    resize_case(x44, 4, 4,
                ATTRS(A_INTS("sizes", 3, 3), a_string("mode", "cubic"), a_float("height_scale", 0.8f),
                      a_float("width_scale", 0.8f), a_float("cubic_coeff_a", -0.5f), a_int("exclude_outside", 1)),
                3, 3,
                FLOATS(1.36812675f, 2.6695013f, 4.01333666f, 6.57362509f, 7.875f, 9.21883488f, 11.948966f, 13.2503414f,
                       14.5941763f));
    resize_case(x44, 4, 4,
                ATTRS(A_INTS("sizes", 8, 8), a_string("mode", "cubic"),
                      a_string("coordinate_transformation_mode", "align_corners")),
                8, 8,
                FLOATS(1, 1.34110785f, 1.80029154f, 2.32944608f, 2.67055392f, 3.19970846f, 3.65889215f, 4, 2.36443138f,
                       2.70553946f, 3.16472292f, 3.69387746f, 4.03498554f, 4.56413984f, 5.02332354f, 5.36443138f,
                       4.20116615f, 4.542274f, 5.00145769f, 5.53061247f, 5.87172031f, 6.40087461f, 6.86005831f,
                       7.20116615f, 6.31778431f, 6.65889215f, 7.11807585f, 7.64723015f, 7.98833799f, 8.51749229f,
                       8.97667599f, 9.31778431f, 7.68221569f, 8.02332401f, 8.48250771f, 9.01166153f, 9.35276985f,
                       9.88192463f, 10.3411083f, 10.6822157f, 9.79883385f, 10.1399412f, 10.5991249f, 11.1282797f,
                       11.469388f, 11.9985418f, 12.4577255f, 12.7988338f, 11.6355686f, 11.976676f, 12.4358597f,
                       12.9650145f, 13.3061228f, 13.8352766f, 14.2944603f, 14.6355686f, 13, 13.3411083f, 13.800292f,
                       14.3294458f, 14.6705542f, 15.199708f, 15.6588917f, 16));
}

/* ConvTranspose2D: ONNX's node tests test_convtranspose (ones kernel, two
 * output channels), test_convtranspose_dilations and test_convtranspose_pads
 * (strides [3, 2], pads [1, 2, 1, 2]), their inputs and outputs. */
static void test_conv_transpose(void **state)
{
    (void)state;
    const float *ramp = FLOATS(0, 1, 2, 3, 4, 5, 6, 7, 8);
    float ones[18];
    for (int i = 0; i < 18; i++) ones[i] = 1;
    const float *plain = FLOATS(0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8);
    float want[50];
    memcpy(want, plain, 25 * sizeof(float));
    memcpy(want + 25, plain, 25 * sizeof(float));
    float x[9];
    memcpy(x, ramp, sizeof x);
    clg_tensor in = TENSOR(x, 1, 1, 3, 3);
    clg_graph *g = new_graph();
    input(g, "x", 4, DIMS(1, 1, 3, 3));
    constant(g, "w", 4, DIMS(1, 2, 3, 3), ones);
    node(g, CLG_OP_CONV_TRANSPOSE, "y", NAMES("x", "w"), NULL, 0);
    output(g, "y");
    expect_destroy(g, &in, 1, 4, DIMS(1, 2, 5, 5), want);

    float xd[9] = {3, 8, 1, 9, 5, 7, 3, 2, 6};
    clg_tensor ind = TENSOR(xd, 1, 1, 3, 3);
    g = new_graph();
    input(g, "x", 4, DIMS(1, 1, 3, 3));
    constant(g, "w", 4, DIMS(1, 1, 2, 2), FLOATS(7, 2, 1, 9));
    node(g, CLG_OP_CONV_TRANSPOSE, "y", NAMES("x", "w"), ATTRS(A_INTS("dilations", 2, 2)));
    output(g, "y");
    expect_destroy(g, &ind, 1, 4, DIMS(1, 1, 5, 5),
                   FLOATS(21, 56, 13, 16, 2, 63, 35, 67, 10, 14, 24, 22, 76, 76, 21, 9, 5, 88, 45, 63, 3, 2, 33, 18, 54));

    memcpy(x, ramp, sizeof x);
    const float *pads = FLOATS(1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15);
    float wantp[42];
    memcpy(wantp, pads, 21 * sizeof(float));
    memcpy(wantp + 21, pads, 21 * sizeof(float));
    g = new_graph();
    input(g, "x", 4, DIMS(1, 1, 3, 3));
    constant(g, "w", 4, DIMS(1, 2, 3, 3), ones);
    node(g, CLG_OP_CONV_TRANSPOSE, "y", NAMES("x", "w"), ATTRS(A_INTS("strides", 3, 2), A_INTS("pads", 1, 2, 1, 2)));
    output(g, "y");
    expect_destroy(g, &in, 1, 4, DIMS(1, 2, 7, 3), wantp);
}

/* ArgMax/ArgMin: ONNX's node tests test_argmax_keepdims_example
 * ([[2, 1], [3, 10]], axis 1), ..._select_last_index ([[2, 2], [3, 10]]),
 * test_argmin_no_keepdims_example (axis 1, keepdims 0), and NaN as NumPy
 * treats it (it wins, the first one). */
static void argmax_case(clg_op op, const float *data, const clg_attr *attrs, int n_attrs, int rank,
                        const int64_t *dims, const float *want)
{
    float x[6];
    memcpy(x, data, sizeof x);
    clg_tensor in = TENSOR(x, 2, 3);
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(2, 3));
    node(g, op, "y", NAMES("x"), attrs, n_attrs);
    node(g, CLG_OP_CAST, "z", NAMES("y"), ATTRS(a_string("to", "f32")));
    output(g, "z");
    expect_destroy(g, &in, 1, rank, dims, want);
}

static void test_argmax(void **state)
{
    (void)state;
    argmax_case(CLG_OP_ARGMAX, FLOATS(2, 1, 0, 3, 10, 0), ATTRS(a_int("axis", 1)), 2, DIMS(2, 1), FLOATS(0, 1));
    argmax_case(CLG_OP_ARGMAX, FLOATS(2, 2, 0, 3, 10, 10), ATTRS(a_int("axis", 1), a_int("select_last_index", 1)), 2,
                DIMS(2, 1), FLOATS(1, 2));
    argmax_case(CLG_OP_ARGMIN, FLOATS(2, 1, 5, 3, 10, 3), ATTRS(a_int("axis", 1), a_int("keepdims", 0)), 1, DIMS(2),
                FLOATS(1, 0));
    argmax_case(CLG_OP_ARGMIN, FLOATS(2, 1, 5, 3, 10, 3), ATTRS(a_int("keepdims", 0)), 1, DIMS(3), FLOATS(0, 0, 1));
    argmax_case(CLG_OP_ARGMAX, FLOATS(1, NAN, NAN, 4, 5, 6), ATTRS(a_int("axis", 1)), 2, DIMS(2, 1), FLOATS(1, 2));
    argmax_case(CLG_OP_ARGMIN, FLOATS(1, NAN, NAN, 4, 5, 6), ATTRS(a_int("axis", 1), a_int("select_last_index", 1)), 2,
                DIMS(2, 1), FLOATS(2, 0));
}

static void test_trilu(void **state)
{
    (void)state;
    trilu_case(2, DIMS(4, 5), 1, -1, FLOATS(5, 0, 3, 3, 7, 9, 3, 5, 2, 4, 0, 6, 8, 8, 1, 0, 0, 7, 8, 1));
    trilu_case(2, DIMS(4, 5), 0, 2, FLOATS(5, 0, 3, 0, 0, 9, 3, 5, 2, 0, 7, 6, 8, 8, 1, 6, 7, 7, 8, 1));
    trilu_case(2, DIMS(4, 5), 0, -7, FLOATS(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    trilu_case(3, DIMS(3, 1, 5), 1, 1, FLOATS(0, 0, 3, 3, 7, 0, 3, 5, 2, 4, 0, 6, 8, 8, 1));
    trilu_case(3, DIMS(2, 3, 3), 0, -1, FLOATS(0, 0, 0, 3, 0, 0, 3, 5, 0, 0, 0, 0, 8, 0, 0, 6, 7, 0));
    /* -inf outside the triangle becomes 0, not NaN (-inf * 0) */
    float minf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    clg_tensor in = TENSOR(minf, 2, 2);
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(2, 2));
    node(g, CLG_OP_TRILU, "y", NAMES("x"), ATTRS(a_int("k", 1)));
    output(g, "y");
    expect_destroy(g, &in, 1, 2, DIMS(2, 2), FLOATS(0, -INFINITY, 0, 0));
}

/* Range: ONNX's node tests' values (test_range_float_type_positive_delta:
 * Range(1, 5, 2) = [1, 3]; test_range_int32_type_negative_delta:
 * Range(10, 6, -3) = [10, 7]) and a length bound from a symbolic size,
 * start 2 step -0.5 over S = 5 (the ONNX formula start + i * delta). */
static void test_range(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    node(g, CLG_OP_RANGE, "y", NULL, 0, ATTRS(A_INTS("shape", 2), a_float("start", 1), a_float("delta", 2)));
    output(g, "y");
    expect_destroy(g, NULL, 0, 1, DIMS(2), FLOATS(1, 3));
    g = new_graph();
    node(g, CLG_OP_RANGE, "y", NULL, 0,
         ATTRS(A_INTS("shape", 2), a_float("start", 10), a_float("delta", -3), a_string("to", "i32")));
    output(g, "y");
    clg_dtype t;
    assert_int_equal(clg_graph_output_dtype(g, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_I32);
    int32_t got[2] = {0, 0};
    clg_tensor y = {(float *)(void *)got, 0, {0}, CLG_DTYPE_I32};
    ok(g, clg_graph_run_reference(g, NULL, 0, &y, 1));
    check_shape(&y, 1, DIMS(2));
    assert_int_equal(got[0], 10);
    assert_int_equal(got[1], 7);
    clg_graph_destroy(g);
    /* y = x + Range over x's symbolic length */
    g = new_graph();
    int64_t s;
    assert_int_equal(clg_graph_symbol(g, "S", &s), CLG_OK);
    input(g, "x", 1, DIMS(s));
    node(g, CLG_OP_RANGE, "r", NULL, 0, ATTRS(A_INTS("shape", s - 1), a_float("start", 2), a_float("delta", -0.5f)));
    node(g, CLG_OP_ADD, "y", NAMES("x", "r"), NULL, 0);
    output(g, "y");
    float zeros[5] = {0};
    clg_tensor in = TENSOR(zeros, 5);
    expect_destroy(g, &in, 1, 1, DIMS(5), FLOATS(2, 1.5f, 1, 0.5f, 0));
}

/* ---------------------------------------------------------- whole graphs */

/* x: [N, 3] -> relu(x @ W + b), W [3,2], b [2]. */
static clg_graph *batch_graph(void)
{
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(CLG_BATCH, 3));
    constant(g, "w", 2, DIMS(3, 2), FLOATS(1, -1, 0.5f, 2, -2, 1));
    constant(g, "b", 1, DIMS(2), FLOATS(0.5f, -0.5f));
    node(g, CLG_OP_GEMM, "h", NAMES("x", "w", "b"), NO_ATTRS);
    node(g, CLG_OP_RELU, "y", NAMES("h"), NO_ATTRS);
    output(g, "y");
    return g;
}

static void test_symbolic_batch(void **state)
{
    (void)state;
    clg_graph *g = batch_graph();
    float x[] = {1, 2, 3, -1, 0, 1, 2, 2, -2, 0, 0, 0};
    /* by hand: row (1,2,3) -> (1+1-6+0.5, -1+4+3-0.5) = (-3.5 -> 0, 5.5) */
    const float *want = FLOATS(0, 5.5f, 0, 1.5f, 7.5f, 0, 0.5f, 0);
    clg_tensor in4 = TENSOR(x, 4, 3), in1 = TENSOR(x, 1, 3);
    expect(g, &in4, 1, 2, DIMS(4, 2), want);
    expect(g, &in1, 1, 2, DIMS(1, 2), want);
    expect(g, &in4, 1, 2, DIMS(4, 2), want); /* the graph is unchanged by running */
    int rank = 0;
    int64_t dims[CLG_MAX_RANK];
    ok(g, clg_graph_output_info(g, 0, 7, NULL, &rank, dims));
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], 7);
    clg_graph_destroy(g);
}

static void test_multi_output_and_reuse(void **state)
{
    (void)state;
    /* x -> a = Relu(x) -> b = Add(a, a) -> c = Mul(b, x); d = Sigmoid(a) is dead.
     * Outputs: c, a (also read later), x (an input) and k (a constant). */
    clg_graph *g = new_graph();
    input(g, "x", 1, DIMS(4));
    constant(g, "k", 1, DIMS(2), FLOATS(7, 8));
    node(g, CLG_OP_RELU, "a", NAMES("x"), NO_ATTRS);
    node(g, CLG_OP_ADD, "b", NAMES("a", "a"), NO_ATTRS);
    node(g, CLG_OP_SIGMOID, "d", NAMES("a"), NO_ATTRS);
    node(g, CLG_OP_MUL, "c", NAMES("b", "x"), NO_ATTRS);
    output(g, "c");
    output(g, "a");
    output(g, "x");
    output(g, "k");
    float x[] = {-1, 2, -3, 4};
    clg_tensor in = TENSOR(x, 4);
    float yc[4], ya[4], yx[4], yk[2];
    clg_tensor out[] = {{yc, 0, {0}, CLG_DTYPE_F32}, {ya, 0, {0}, CLG_DTYPE_F32}, {yx, 0, {0}, CLG_DTYPE_F32}, {yk, 0, {0}, CLG_DTYPE_F32}};
    ok(g, clg_graph_run_reference(g, &in, 1, out, 4));
    /* by hand: a = (0,2,0,4), c = 2a * x = (0,8,0,32) */
    check_shape(&out[0], 1, DIMS(4));
    check_close(yc, FLOATS(0, 8, 0, 32), 4);
    check_close(ya, FLOATS(0, 2, 0, 4), 4);
    check_close(yx, x, 4);
    check_shape(&out[3], 1, DIMS(2));
    check_close(yk, FLOATS(7, 8), 2);
    clg_graph_destroy(g);
}

static void test_example_model(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    if (clg_graph_load(g, "examples/residual_mlp.clg") != CLG_OK)
        fail_msg("%s", clg_graph_errmsg(g));
    float x[3 * 128], y[3 * 10];
    for (int i = 0; i < 3 * 128; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    clg_tensor in = TENSOR(x, 3, 128), out = {y, 0, {0}, CLG_DTYPE_F32};
    ok(g, clg_graph_run_reference(g, &in, 1, &out, 1));
    check_shape(&out, 2, DIMS(3, 10));
    /* Property, not values: each row of the softmax head is a distribution. */
    for (int r = 0; r < 3; r++) {
        double sum = 0;
        for (int j = 0; j < 10; j++) {
            assert_true(y[r * 10 + j] > 0.0f && y[r * 10 + j] < 1.0f);
            sum += y[r * 10 + j];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
    }
    clg_graph_destroy(g);
}

/* ------------------------------------------------------------------ errors */

static void expect_error(clg_graph *g, const clg_tensor *in, int n_in, clg_tensor *out, int n_out,
                         const char *needle)
{
    clg_status s = clg_graph_run_reference(g, in, n_in, out, n_out);
    assert_int_equal(s, CLG_ERR_INVALID_ARGUMENT);
    if (!strstr(clg_graph_errmsg(g), needle))
        fail_msg("message \"%s\" does not mention \"%s\"", clg_graph_errmsg(g), needle);
}

static void test_errors(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "left", 2, DIMS(CLG_BATCH, 3));
    input(g, "right", 2, DIMS(CLG_BATCH, 3));
    node(g, CLG_OP_ADD, "y", NAMES("left", "right"), NO_ATTRS);
    output(g, "y");
    float a[12] = {0}, b[12] = {0}, y[12] = {0};
    clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};

    /* wrong input count */
    clg_tensor one[] = {TENSOR(a, 2, 3)};
    expect_error(g, one, 1, &out, 1, "2 inputs");
    expect_error(g, NULL, 2, &out, 1, "inputs is NULL");
    /* wrong shape (second dim, then rank) */
    clg_tensor bad[] = {TENSOR(a, 2, 3), TENSOR(b, 2, 4)};
    expect_error(g, bad, 2, &out, 1, "right");
    clg_tensor bad_rank[] = {TENSOR(a, 6), TENSOR(b, 2, 3)};
    expect_error(g, bad_rank, 2, &out, 1, "left");
    /* NULL data */
    clg_tensor null_data[] = {TENSOR(a, 2, 3), TENSOR(NULL, 2, 3)};
    expect_error(g, null_data, 2, &out, 1, "right");
    /* the two inputs disagree on the batch */
    clg_tensor mixed[] = {TENSOR(a, 2, 3), TENSOR(b, 3, 3)};
    expect_error(g, mixed, 2, &out, 1, "right");
    assert_non_null(strstr(clg_graph_errmsg(g), "left"));
    /* outputs: wrong count, NULL data */
    clg_tensor good[] = {TENSOR(a, 2, 3), TENSOR(b, 2, 3)};
    expect_error(g, good, 2, &out, 0, "1 outputs");
    expect_error(g, good, 2, NULL, 1, "1 outputs");
    clg_tensor null_out = {NULL, 0, {0}, CLG_DTYPE_F32};
    expect_error(g, good, 2, &null_out, 1, "output y");
    /* after all that, a good call still works */
    for (int i = 0; i < 6; i++) { a[i] = (float)i; b[i] = 10.0f * (float)i; }
    expect(g, good, 2, 2, DIMS(2, 3), FLOATS(0, 11, 22, 33, 44, 55));
    clg_graph_destroy(g);
    assert_int_equal(clg_graph_run_reference(NULL, good, 2, &out, 1), CLG_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------- allocation */

typedef struct alloc_stats {
    long live;     /* blocks allocated and not yet freed */
    long calls;    /* allocations (and reallocations) so far */
    long fail_at;  /* the call number that fails; -1 never */
    long failures;
} alloc_stats;

static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    alloc_stats *st = user;
    if (new_size == 0) {
        if (ptr) st->live--;
        free(ptr);
        return NULL;
    }
    if (st->calls++ == st->fail_at) {
        st->failures++;
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p && !ptr) st->live++;
    return p;
}

/* conv -> relu -> maxpool -> flatten -> gemm -> concat with the input's
 * flattening -> softmax: a graph with many intermediate buffers. */
static clg_graph *alloc_graph(alloc_stats *st)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, counting_alloc, st), CLG_OK);
    input(g, "x", 4, DIMS(CLG_BATCH, 1, 4, 4));
    float w[9], fc[12];
    constant(g, "w", 4, DIMS(1, 1, 3, 3), iota(w, 9, -4, 0.25f));
    constant(g, "fc", 2, DIMS(4, 3), iota(fc, 12, -6, 0.1f));
    node(g, CLG_OP_CONV2D, "c", NAMES("x", "w"), ATTRS(A_INTS("pads", 1, 1, 1, 1)));
    node(g, CLG_OP_RELU, "r", NAMES("c"), NO_ATTRS);
    node(g, CLG_OP_MAXPOOL, "p", NAMES("r"), ATTRS(A_INTS("kernel_shape", 2, 2), A_INTS("strides", 2, 2)));
    node(g, CLG_OP_FLATTEN, "f", NAMES("p"), NO_ATTRS);
    node(g, CLG_OP_GEMM, "d", NAMES("f", "fc"), NO_ATTRS);
    node(g, CLG_OP_FLATTEN, "xf", NAMES("x"), NO_ATTRS);
    node(g, CLG_OP_CONCAT, "cat", NAMES("d", "xf", "f"), ATTRS(a_int("axis", 1)));
    node(g, CLG_OP_SOFTMAX, "y", NAMES("cat"), NO_ATTRS);
    output(g, "y");
    output(g, "d");
    return g;
}

static void test_allocator_and_out_of_memory(void **state)
{
    (void)state;
    alloc_stats st = {0, 0, -1, 0};
    clg_graph *g = alloc_graph(&st);
    long baseline = st.live;
    float x[2 * 16], y[2 * 23], d[2 * 3], y_ok[2 * 23], d_ok[2 * 3];
    iota(x, 32, -10, 0.3f);
    clg_tensor in = TENSOR(x, 2, 1, 4, 4);
    clg_tensor out[] = {{y_ok, 0, {0}, CLG_DTYPE_F32}, {d_ok, 0, {0}, CLG_DTYPE_F32}};
    long before = st.calls;
    ok(g, clg_graph_run_reference(g, &in, 1, out, 2));
    long calls = st.calls - before;
    assert_int_equal(st.live, baseline); /* everything freed, through the allocator */
    assert_true(calls >= 8);             /* the buffers came from the allocator */
    check_shape(&out[0], 2, DIMS(2, 23));

    /* Fail each allocation of a run in turn: every failure is reported as out
     * of memory, leaks nothing, and leaves the graph usable. */
    for (long k = 0; k < calls; k++) {
        st.fail_at = st.calls + k;
        clg_tensor o[] = {{y, 0, {0}, CLG_DTYPE_F32}, {d, 0, {0}, CLG_DTYPE_F32}};
        clg_status s = clg_graph_run_reference(g, &in, 1, o, 2);
        assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
        assert_int_equal(st.live, baseline);
    }
    st.fail_at = -1;
    assert_int_equal(st.failures, calls);
    clg_tensor o[] = {{y, 0, {0}, CLG_DTYPE_F32}, {d, 0, {0}, CLG_DTYPE_F32}};
    ok(g, clg_graph_run_reference(g, &in, 1, o, 2));
    check_close(y, y_ok, 2 * 23);
    check_close(d, d_ok, 2 * 3);
    clg_graph_destroy(g);
    assert_int_equal(st.live, 0);
}


/* ----------------------------------------------------- integer values, Gather, Cast */

static clg_attr a_str(const char *name, const char *v)
{
    clg_attr a = {name, CLG_ATTR_STRING, 1, {0}, 0.0f, v};
    return a;
}

/* Gather along each axis, with negative and 2-D indices: the expected values
 * are numpy.take(x, idx, axis), worked out by hand for x = arange(24)
 * reshaped [2, 3, 4]. */
static void test_gather(void **state)
{
    (void)state;
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    struct {
        int axis;
        int idx_rank;
        int64_t idx_dims[2];
        int64_t idx[4];
        int out_rank;
        int64_t out_dims[4];
        float want[24];
    } cases[] = {
        /* np.take(x, [1, 0], 0): the two blocks swapped */
        {0, 1, {2}, {1, 0}, 3, {2, 3, 4},
         {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
        /* np.take(x, [-1], 1): row 2 of each block, kept as a dim of 1 */
        {1, 1, {1}, {-1}, 3, {2, 1, 4}, {8, 9, 10, 11, 20, 21, 22, 23}},
        /* np.take(x, [[3, 0], [-3, 2]], 2) -> [2, 3, 2, 2] */
        {-1, 2, {2, 2}, {3, 0, -3, 2}, 4, {2, 3, 2, 2},
         {3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 19, 16, 17, 18, 23, 20, 21, 22}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        clg_graph *g = new_graph();
        input(g, "x", 3, DIMS(2, 3, 4));
        ok(g, clg_graph_add_constant_typed(g, "idx", CLG_DTYPE_I64, cases[c].idx_rank, cases[c].idx_dims,
                                           cases[c].idx));
        node(g, CLG_OP_GATHER, "y", NAMES("x", "idx"), ATTRS(a_int("axis", cases[c].axis)));
        output(g, "y");
        float out[24];
        clg_tensor in = TENSOR(x, 2, 3, 4), y = {out, 0, {0}, CLG_DTYPE_F32};
        ok(g, clg_graph_run_reference(g, &in, 1, &y, 1));
        check_shape(&y, cases[c].out_rank, cases[c].out_dims);
        check_close(out, cases[c].want, count_of(cases[c].out_rank, cases[c].out_dims));
        clg_graph_destroy(g);
    }
}

/* An embedding lookup with int64 ids from the caller: the rows of the table
 * the ids name (negative ids count from the back, as numpy and ONNX do). */
static void test_gather_int64_ids(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    ok(g, clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I64, 2, DIMS(CLG_BATCH, 3)));
    float table[5 * 2];
    for (int i = 0; i < 10; i++) table[i] = (float)(i / 2) + (i % 2 ? 0.5f : 0.0f); /* row r: r, r + 0.5 */
    constant(g, "table", 2, DIMS(5, 2), table);
    node(g, CLG_OP_GATHER, "emb", NAMES("table", "ids"), NO_ATTRS);
    output(g, "emb");
    clg_dtype t = CLG_DTYPE_F32;
    ok(g, clg_graph_input_dtype(g, 0, &t));
    assert_int_equal(t, CLG_DTYPE_I64);
    ok(g, clg_graph_output_dtype(g, 0, &t));
    assert_int_equal(t, CLG_DTYPE_F32);
    int64_t ids[6] = {4, 0, -1, 2, 2, -5};
    float out[12];
    clg_tensor in = {(float *)ids, 2, {2, 3}, CLG_DTYPE_I64}, y = {out, 0, {0}, CLG_DTYPE_F32};
    ok(g, clg_graph_run_reference(g, &in, 1, &y, 1));
    check_shape(&y, 3, DIMS(2, 3, 2));
    const float want[12] = {4, 4.5f, 0, 0.5f, 4, 4.5f, 2, 2.5f, 2, 2.5f, 0, 0.5f};
    check_close(out, want, 12);

    /* An id past the table: the reference names the node, the index and the size. */
    ids[4] = 5;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g),
                           "node emb (Gather): index 5 (element 4 of 'ids') is out of range for dimension 0 of size 5"));
    ids[4] = -6;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    /* An integer no float holds exactly: named with its input, element and value. */
    ids[4] = 16777217;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "input ids: element 4 is 16777217, past 2^24 in magnitude"));
    ids[4] = -16777216; /* exact: fine as a float, then out of range for the table */
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "index -16777216"));
    /* The caller's tensor must have the declared dtype. */
    ids[4] = 1;
    in.dtype = CLG_DTYPE_I32;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "input ids: the graph declares i64, the tensor is i32"));
    in.dtype = CLG_DTYPE_F32; /* an old caller's zero-initialised dtype */
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "the graph declares i64, the tensor is f32"));
    in.dtype = (clg_dtype)7;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "the tensor is dtype 7"));
    in.dtype = CLG_DTYPE_I64;
    y.dtype = CLG_DTYPE_I64;
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "output emb: the graph computes f32, the tensor is i64"));
    clg_graph_destroy(g);
}

/* GatherElements: the examples of the ONNX operator's documentation, and a
 * rank-3 case along the middle axis worked out by hand (np.take_along_axis). */
static void test_gather_elements(void **state)
{
    (void)state;
    struct {
        int axis;
        int rank;
        int64_t xd[3], id[3];
        float x[12];
        int64_t idx[12];
        float want[12];
    } cases[] = {
        {1, 2, {2, 2}, {2, 2}, {1, 2, 3, 4}, {0, 0, 1, 0}, {1, 1, 4, 3}},
        {0, 2, {3, 3}, {2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 0, 2, 0, 0}, {4, 8, 3, 7, 2, 3}},
        {0, 2, {3, 3}, {2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {-1, -2, 0, -2, 0, 0}, {7, 5, 3, 4, 2, 3}},
        /* x = arange(12).reshape(2, 3, 2); along axis 1 with indices [2, 1, 2] */
        {-2, 3, {2, 3, 2}, {2, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {2, 0, -1, 1}, {4, 1, 10, 9}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        clg_graph *g = new_graph();
        input(g, "x", cases[c].rank, cases[c].xd);
        ok(g, clg_graph_add_constant_typed(g, "i", CLG_DTYPE_I64, cases[c].rank, cases[c].id, cases[c].idx));
        node(g, CLG_OP_GATHER_ELEMENTS, "y", NAMES("x", "i"), ATTRS(a_int("axis", cases[c].axis)));
        output(g, "y");
        float out[12];
        clg_tensor in = {cases[c].x, cases[c].rank, {0}, CLG_DTYPE_F32}, y = {out, 0, {0}, CLG_DTYPE_F32};
        for (int d = 0; d < cases[c].rank; d++) in.dims[d] = cases[c].xd[d];
        ok(g, clg_graph_run_reference(g, &in, 1, &y, 1));
        check_shape(&y, cases[c].rank, cases[c].id);
        check_close(out, cases[c].want, count_of(cases[c].rank, cases[c].id));
        clg_graph_destroy(g);
    }
    clg_graph *g = new_graph();
    input(g, "x", 2, DIMS(3, 3));
    ok(g, clg_graph_add_constant_typed(g, "i", CLG_DTYPE_I64, 2, DIMS(1, 4), (int64_t[4]){0, 0, 0, 0}));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_GATHER_ELEMENTS, "y", NAMES("x", "i"), NO_ATTRS),
                     CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "dimension 1 of indices [1, 4] is larger than the data's [3, 3]"));
    ok(g, clg_graph_add_constant_typed(g, "j", CLG_DTYPE_I64, 2, DIMS(1, 2), (int64_t[2]){0, 3}));
    node(g, CLG_OP_GATHER_ELEMENTS, "y", NAMES("x", "j"), NO_ATTRS);
    output(g, "y");
    float x[9] = {0}, out[2];
    clg_tensor in = TENSOR(x, 3, 3), y = {out, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, &y, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "node y (GatherElements): index 3 (element 1 of 'j')"));
    clg_graph_destroy(g);

    /* Against a symbolic size the check waits for the batch. */
    g = new_graph();
    input(g, "x", 2, DIMS(CLG_BATCH, 2));
    ok(g, clg_graph_add_constant_typed(g, "i", CLG_DTYPE_I64, 2, DIMS(3, 1), (int64_t[3]){0, 1, 0}));
    node(g, CLG_OP_GATHER_ELEMENTS, "y", NAMES("x", "i"), ATTRS(a_int("axis", 1)));
    output(g, "y");
    float x3[6] = {1, 2, 3, 4, 5, 6}, y3[3];
    clg_tensor in3 = TENSOR(x3, 3, 2), out3 = {y3, 0, {0}, CLG_DTYPE_F32};
    ok(g, clg_graph_run_reference(g, &in3, 1, &out3, 1));
    check_close(y3, (float[3]){1, 4, 5}, 3);
    in3.dims[0] = 2;
    assert_int_equal(clg_graph_run_reference(g, &in3, 1, &out3, 1), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "N=2: node y (GatherElements): dimension 0 of indices [3, 1]"));
    clg_graph_destroy(g);
}

/* Cast: to integers truncates toward zero (ONNX, C's conversion), to bool is
 * != 0 (NaN included), back to f32 keeps the value; integer outputs come
 * back in the caller's integer buffers. */
static void test_cast(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", 1, DIMS(8));
    node(g, CLG_OP_CAST, "i", NAMES("x"), ATTRS(a_str("to", "i64")));
    node(g, CLG_OP_CAST, "h", NAMES("x"), ATTRS(a_str("to", "i32")));
    node(g, CLG_OP_CAST, "b", NAMES("x"), ATTRS(a_str("to", "bool")));
    node(g, CLG_OP_CAST, "f", NAMES("b"), ATTRS(a_str("to", "f32")));
    output(g, "i");
    output(g, "h");
    output(g, "b");
    output(g, "f");
    float x[8] = {2.9f, -2.9f, 0.0f, -0.0f, 0.25f, -1.0f, 1e6f + 0.5f, NAN};
    int64_t i[8];
    int32_t h[8];
    uint8_t b[8];
    float f[8];
    clg_tensor in = TENSOR(x, 8);
    clg_tensor out[4] = {{(float *)i, 0, {0}, CLG_DTYPE_I64}, {(float *)h, 0, {0}, CLG_DTYPE_I32},
                         {(float *)b, 0, {0}, CLG_DTYPE_BOOL}, {f, 0, {0}, CLG_DTYPE_F32}};
    ok(g, clg_graph_run_reference(g, &in, 1, out, 4));
    /* NaN has no integer; clgraph gives 0 (ONNX leaves it undefined). */
    const int64_t want_i[8] = {2, -2, 0, 0, 0, -1, 1000000, 0};
    const uint8_t want_b[8] = {1, 1, 0, 0, 1, 1, 1, 1};
    const float want_f[8] = {1, 1, 0, 0, 1, 1, 1, 1};
    for (int k = 0; k < 8; k++) {
        assert_int_equal(i[k], want_i[k]);
        assert_int_equal(h[k], want_i[k]);
        assert_int_equal(b[k], want_b[k]);
    }
    check_close(f, want_f, 8);
    clg_dtype t;
    ok(g, clg_graph_output_dtype(g, 2, &t));
    assert_int_equal(t, CLG_DTYPE_BOOL);
    clg_graph_destroy(g);
}

/* f16 values are floats: an f16 input's halves (given as bits) enter as
 * their exact values, ops that compute give f32, data movement keeps f16,
 * f16 with f32 in a Concat gives f32, with i64 is refused; an f16 constant
 * holds halves only; Cast to f16 rounds (to nearest, ties to even). */
static void test_f16_types(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    ok(g, clg_graph_add_input_typed(g, "h", CLG_DTYPE_F16, 1, DIMS(4)));
    ok(g, clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I64, 1, DIMS(4)));
    input(g, "x", 1, DIMS(4));
    /* 1, 1/3 rounded to half (0x3555 = 0.333251953125), 65504, 2^-24 */
    ok(g, clg_graph_add_constant_typed(g, "c", CLG_DTYPE_F16, 1, DIMS(4), (uint16_t[4]){0x3c00, 0x3555, 0x7bff, 0x0001}));
    node(g, CLG_OP_ADD, "a", NAMES("h", "c"), NO_ATTRS);
    node(g, CLG_OP_RESHAPE, "r", NAMES("h"), ATTRS(A_INTS("shape", 2, 2)));
    node(g, CLG_OP_CONCAT, "hh", NAMES("h", "c"), ATTRS(a_int("axis", 0)));
    node(g, CLG_OP_CONCAT, "hx", NAMES("h", "x"), ATTRS(a_int("axis", 0)));
    node(g, CLG_OP_CAST, "k", NAMES("x"), ATTRS(a_str("to", "f16")));
    node(g, CLG_OP_SOFTMAX, "s", NAMES("h"), NO_ATTRS);
    assert_int_equal(clg_graph_add_node(g, CLG_OP_CONCAT, "bad", NAMES("h", "ids"), ATTRS(a_int("axis", 0))),
                     CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "input 'ids' is i64 but input 'h' is f16"));
    const char *names[] = {"a", "r", "hh", "hx", "k", "s"};
    const clg_dtype want[] = {CLG_DTYPE_F32, CLG_DTYPE_F16, CLG_DTYPE_F16, CLG_DTYPE_F32, CLG_DTYPE_F16, CLG_DTYPE_F32};
    for (int i = 0; i < 6; i++) ok(g, clg_graph_add_output(g, names[i]));
    for (int i = 0; i < 6; i++) {
        clg_dtype d;
        ok(g, clg_graph_output_dtype(g, i, &d));
        if (d != want[i]) fail_msg("%s is %s, want %s", names[i], clg_dtype_name(d), clg_dtype_name(want[i]));
    }
    /* h = [-2, 0.5, 2^-14, -65504]; x rounds: 0.1 -> 0.0999755859375, 1 + 2^-11
     * (a tie) -> 1, 1 + 3 * 2^-11 (a tie) -> 1 + 2^-9, 70000 -> inf */
    uint16_t h[4] = {0xc000, 0x3800, 0x0400, 0xfbff};
    float x[4] = {0.1f, 1.00048828125f, 1.00146484375f, 70000.0f};
    int64_t ids[4] = {0, 1, 2, 3};
    float a[4], s[4], hx[8];
    uint16_t r[4], hh[8], k[4];
    clg_tensor in[3] = {{(float *)h, 1, {4}, CLG_DTYPE_F16}, {(float *)ids, 1, {4}, CLG_DTYPE_I64}, TENSOR(x, 4)};
    clg_tensor out[6] = {{a, 0, {0}, CLG_DTYPE_F32},          {(float *)r, 0, {0}, CLG_DTYPE_F16},
                         {(float *)hh, 0, {0}, CLG_DTYPE_F16}, {hx, 0, {0}, CLG_DTYPE_F32},
                         {(float *)k, 0, {0}, CLG_DTYPE_F16},  {s, 0, {0}, CLG_DTYPE_F32}};
    ok(g, clg_graph_run_reference(g, in, 3, out, 6));
    /* computed in f32: 0.5 + 0.333251953125 is no half (1706.5 units of 2^-11) */
    const float want_a[4] = {-1.0f, 0.833251953125f, 65504.0f, -65504.0f};
    assert_memory_equal(a, want_a, sizeof a);
    const uint16_t want_r[4] = {0xc000, 0x3800, 0x0400, 0xfbff};
    const uint16_t want_hh[8] = {0xc000, 0x3800, 0x0400, 0xfbff, 0x3c00, 0x3555, 0x7bff, 0x0001};
    const uint16_t want_k[4] = {0x2e66, 0x3c00, 0x3c02, 0x7c00}; /* NumPy's float16 of x */
    assert_memory_equal(r, want_r, sizeof r);
    assert_memory_equal(hh, want_hh, sizeof hh);
    assert_memory_equal(k, want_k, sizeof k);
    const float want_hx[8] = {-2.0f, 0.5f, 6.103515625e-05f, -65504.0f, 0.1f, 1.00048828125f, 1.00146484375f, 70000.0f};
    assert_memory_equal(hx, want_hx, sizeof hx);
    clg_graph_destroy(g);
    /* An f16 constant holds halves only. */
    g = new_graph();
    const char *text = "const c: f16[2] = [0.5, 1e-8]\noutput c\n";
    assert_int_equal(clg_graph_parse(g, text, strlen(text), NULL), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "element 1 (9.99999994e-09) does not fit f16"));
    clg_graph_destroy(g);
}

/* Type rules: an op that computes in float refuses an integer input, naming
 * the node and the input; Gather needs integer indices; data movement keeps
 * the type and Concat needs one. Integer constants must hold integers. */
static void test_type_errors(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    ok(g, clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I64, 2, DIMS(2, 3)));
    input(g, "x", 2, DIMS(2, 3));
    constant(g, "w", 2, DIMS(3, 3), (float[9]){0});
    assert_int_equal(clg_graph_add_node(g, CLG_OP_GEMM, "g", NAMES("ids", "w"), NO_ATTRS), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "node g (Gemm): input 'ids' is i64; Gemm needs f32"));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_SOFTMAX, "s", NAMES("ids"), NO_ATTRS), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "node s (Softmax): input 'ids' is i64; Softmax needs f32"));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_GATHER, "gx", NAMES("w", "x"), NO_ATTRS), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "node gx (Gather): indices 'x' are f32; Gather needs i64 or i32"));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_CONCAT, "c", NAMES("x", "ids"), NO_ATTRS), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "input 'ids' is i64 but input 'x' is f32"));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_CAST, "k", NAMES("x"), ATTRS(a_str("to", "f64"))),
                     CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "unknown type 'f64'"));
    node(g, CLG_OP_TRANSPOSE, "t", NAMES("ids"), NO_ATTRS);
    node(g, CLG_OP_RESHAPE, "r", NAMES("t"), ATTRS(A_INTS("shape", 6)));
    node(g, CLG_OP_ADD, "a", NAMES("ids", "x"), NO_ATTRS); /* read as their float values */
    clg_dtype d;
    ok(g, clg_graph_node_dtype(g, 4, &d));
    assert_int_equal(d, CLG_DTYPE_I64); /* r */
    ok(g, clg_graph_node_dtype(g, 5, &d));
    assert_int_equal(d, CLG_DTYPE_F32); /* a */
    /* Constants of integer types must hold their type's values. */
    assert_int_equal(clg_graph_add_constant_typed(g, "big", CLG_DTYPE_I64, 1, DIMS(2), (int64_t[2]){1, -16777217}),
                     CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "element 1 is -16777217"));
    assert_int_equal(clg_graph_add_input_typed(g, "q", (clg_dtype)5, 1, DIMS(2)), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_input_count(g), 2);
    clg_graph_destroy(g);

    /* Data movement keeps the type: a Slice and a Tile of int64 ids gather
     * as ids; Pad keeps it too, its fill value one of the type's. */
    g = new_graph();
    const char *moves = "input ids: i64[N, 6]\nconst t: f32[8, 2] = random(1)\n"
                        "s = Slice(ids) starts=[1] ends=[5] axes=[1] steps=[2]\ntl = Tile(s) repeats=[1, 3]\n"
                        "e = Gather(t, tl)\noutput e\noutput tl\n";
    ok(g, clg_graph_parse(g, moves, strlen(moves), NULL));
    ok(g, clg_graph_output_dtype(g, 1, &d));
    assert_int_equal(d, CLG_DTYPE_I64);
    int64_t ids[12] = {0, 7, 1, 6, 2, 5, 3, 4, 4, 3, 5, 2};
    int64_t sel[12];
    float e[2 * 6 * 2];
    clg_tensor in = {(float *)ids, 2, {2, 6}, CLG_DTYPE_I64};
    clg_tensor out[2] = {{e, 0, {0}, CLG_DTYPE_F32}, {(float *)sel, 0, {0}, CLG_DTYPE_I64}};
    ok(g, clg_graph_run_reference(g, &in, 1, out, 2));
    /* ids[:, 1:5:2] = [[7, 6], [4, 3]] tiled three times along axis 1 */
    const int64_t want_sel[12] = {7, 6, 7, 6, 7, 6, 4, 3, 4, 3, 4, 3};
    assert_memory_equal(sel, want_sel, sizeof want_sel);
    check_shape(&out[0], 3, DIMS(2, 6, 2));
    assert_int_equal(clg_graph_add_node(g, CLG_OP_PAD, "p", NAMES("ids"),
                                        ATTRS(A_INTS("pads", 0, 1, 0, 1), a_float("value", 0.5f))),
                     CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "node p (Pad): value 0.5 does not fit i64"));
    clg_graph_destroy(g);
    g = new_graph();
    ok(g, clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I64, 2, DIMS(2, 3)));
    node(g, CLG_OP_PAD, "p", NAMES("ids"), ATTRS(A_INTS("pads", 0, 1, 0, 1), a_float("value", -9)));
    node(g, CLG_OP_PAD, "q", NAMES("ids"), ATTRS(A_INTS("pads", 0, 2, 0, 0), a_string("mode", "edge")));
    output(g, "p");
    output(g, "q");
    ok(g, clg_graph_output_dtype(g, 0, &d));
    assert_int_equal(d, CLG_DTYPE_I64);
    int64_t pids[6] = {16777216, -3, 5, 0, 1, -16777216}, pp[10], pq[10];
    clg_tensor pin = {(float *)pids, 2, {2, 3}, CLG_DTYPE_I64};
    clg_tensor pout[2] = {{(float *)pp, 0, {0}, CLG_DTYPE_I64}, {(float *)pq, 0, {0}, CLG_DTYPE_I64}};
    ok(g, clg_graph_run_reference(g, &pin, 1, pout, 2));
    const int64_t want_p[10] = {-9, 16777216, -3, 5, -9, -9, 0, 1, -16777216, -9};
    const int64_t want_q[10] = {16777216, 16777216, 16777216, -3, 5, 0, 0, 0, 1, -16777216};
    assert_memory_equal(pp, want_p, sizeof want_p);
    assert_memory_equal(pq, want_q, sizeof want_q);
    clg_graph_destroy(g);

    /* The same rules from the text format, with its line. */
    g = new_graph();
    const char *text = "input x: f32[4]\nconst i: i32[2] = [0, 1.5]\ny = Gather(x, i)\noutput y\n";
    assert_int_equal(clg_graph_parse(g, text, strlen(text), NULL), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 2: node i (Constant): element 1 (1.5) does not fit i32 (integers of at most 2^24 in magnitude)"));
    clg_graph_destroy(g);
    g = new_graph();
    text = "input m: bool[4]\nconst w: f32[4, 2] = ones\ny = MatMul(m, w)\noutput y\n";
    assert_int_equal(clg_graph_parse(g, text, strlen(text), NULL), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 3: node y (MatMul): input 'm' is bool; MatMul needs f32"));
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_column_plus_row),
        cmocka_unit_test(test_mul_rank3_by_rank1),
        cmocka_unit_test(test_sub_both_sides_broadcast),
        cmocka_unit_test(test_div_broadcast),
        cmocka_unit_test(test_add_rank5_broadcast),
        cmocka_unit_test(test_gemm_plain),
        cmocka_unit_test(test_gemm_bias_shapes),
        cmocka_unit_test(test_gemm_transposes),
        cmocka_unit_test(test_matmul_2d),
        cmocka_unit_test(test_matmul_batched),
        cmocka_unit_test(test_matmul_broadcast_batch),
        cmocka_unit_test(test_matmul_rank1),
        cmocka_unit_test(test_conv_asymmetric_pads),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_pad_constant),
        cmocka_unit_test(test_pad_reflect_edge),
        cmocka_unit_test(test_pad_negative_crops),
        cmocka_unit_test(test_pad_rank5),
        cmocka_unit_test(test_conv_stride2),
        cmocka_unit_test(test_conv_dilation2),
        cmocka_unit_test(test_conv_group2),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_batch_bias_channels),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_relu_leaky),
        cmocka_unit_test(test_sigmoid_tanh),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_softmax_axes),
        cmocka_unit_test(test_softmax_stable),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_maxpool_ceil_dilation_asym),
        cmocka_unit_test(test_avgpool_pads),
        cmocka_unit_test(test_avgpool_ceil_mode),
        cmocka_unit_test(test_global_avgpool),
        cmocka_unit_test(test_flatten_reshape),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_expand_tile),
        cmocka_unit_test(test_high_rank),
        cmocka_unit_test(test_depth_to_space),
        cmocka_unit_test(test_trilu),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_symbolic_batch),
        cmocka_unit_test(test_multi_output_and_reuse),
        cmocka_unit_test(test_example_model),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_int64_ids),
        cmocka_unit_test(test_gather_elements),
        cmocka_unit_test(test_cast),
        cmocka_unit_test(test_f16_types),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_allocator_and_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
