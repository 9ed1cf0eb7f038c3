/* Shape inference per op through the builder API (clg_graph_add_node +
 * clg_graph_node_info), and binding the symbolic batch N with
 * clg_graph_output_info. */
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

#include "clgraph.h"

#define N CLG_BATCH

/* A list of dims and its length, for the helpers below. */
#define DIMS(...) (const int64_t[]){__VA_ARGS__}, (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define INS(...) (const char *const[]){__VA_ARGS__}, (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
#define NO_ATTRS NULL, 0
#define ATTRS(...) (const clg_attr[]){__VA_ARGS__}, (int)(sizeof((const clg_attr[]){__VA_ARGS__}) / sizeof(clg_attr))

static clg_attr ai(const char *name, int64_t v)
{
    clg_attr a = {name, CLG_ATTR_INT, 1, {v}, 0.0f, NULL};
    return a;
}

static clg_attr af(const char *name, float f)
{
    clg_attr a = {name, CLG_ATTR_FLOAT, 0, {0}, f, NULL};
    return a;
}

/* An INTS attribute: AL("pads", 1, 1, 1, 1). */
#define AL(name, ...) \
    ((clg_attr){name, CLG_ATTR_INTS, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}, 0.0f, NULL})

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    return g;
}

static void input(clg_graph *g, const char *name, const int64_t *dims, int rank)
{
    clg_status s = clg_graph_add_input(g, name, rank, dims);
    if (s) fail_msg("add_input %s: %s", name, clg_graph_errmsg(g));
}

static void constant(clg_graph *g, const char *name, const int64_t *dims, int rank)
{
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= dims[i];
    float *data = calloc((size_t)count, sizeof *data);
    assert_non_null(data);
    clg_status s = clg_graph_add_constant(g, name, rank, dims, data);
    free(data);
    if (s) fail_msg("add_constant %s: %s", name, clg_graph_errmsg(g));
}

static const char *dims_text(const int64_t *dims, int rank, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && n < size; i++) {
        if (dims[i] == N) n += (size_t)snprintf(buf + n, size - n, "%sN", i ? ", " : "");
        else n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

/* Adds a node that must succeed with the shape want. */
static void node_ok(clg_graph *g, clg_op op, const char *name, const char *const *ins, int n_ins,
                    const clg_attr *attrs, int n_attrs, const int64_t *want, int want_rank)
{
    int before = clg_graph_node_count(g);
    clg_status s = clg_graph_add_node(g, op, name, ins, n_ins, attrs, n_attrs);
    if (s) fail_msg("%s = %s(...): %s", name, clg_op_name(op), clg_graph_errmsg(g));
    assert_int_equal(clg_graph_node_count(g), before + 1);
    clg_op got_op;
    const char *got_name;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(g, before, &got_op, &got_name, &rank, dims), CLG_OK);
    assert_int_equal(got_op, op);
    assert_string_equal(got_name, name);
    char a[128], b[128];
    bool same = rank == want_rank;
    for (int i = 0; same && i < rank; i++) same = dims[i] == want[i];
    if (!same)
        fail_msg("%s = %s(...): shape %s, expected %s", name, clg_op_name(op), dims_text(dims, rank, a, sizeof a),
                 dims_text(want, want_rank, b, sizeof b));
    for (int i = rank; i < CLG_MAX_RANK; i++) assert_int_equal(dims[i], 0);
}

/* Adds a node that must fail with status and a message containing expect;
 * nothing may be added. */
static void node_err(clg_graph *g, clg_op op, const char *name, const char *const *ins, int n_ins,
                     const clg_attr *attrs, int n_attrs, clg_status status, const char *expect)
{
    int before = clg_graph_node_count(g);
    clg_status s = clg_graph_add_node(g, op, name, ins, n_ins, attrs, n_attrs);
    if (s == CLG_OK) fail_msg("%s = %s(...) succeeded, expected \"%s\"", name, clg_op_name(op), expect);
    if (s != status || !strstr(clg_graph_errmsg(g), expect))
        fail_msg("%s = %s(...): status %d \"%s\", expected %d \"%s\"", name, clg_op_name(op), s,
                 clg_graph_errmsg(g), status, expect);
    /* The message names the node and its op, and no line (built by API). */
    char tag[128];
    snprintf(tag, sizeof tag, "node %s (%s): ", name, clg_op_name(op));
    if (!strstr(clg_graph_errmsg(g), tag)) fail_msg("message \"%s\" lacks \"%s\"", clg_graph_errmsg(g), tag);
    assert_null(strstr(clg_graph_errmsg(g), "line "));
    assert_int_equal(clg_graph_node_count(g), before);
    /* The name stays free. */
    assert_int_equal(clg_graph_node_info(g, before, NULL, NULL, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
}

/* Adds a node that must succeed with the shape written as want ("[N*64, 1]"). */
static void node_ok_text(clg_graph *g, clg_op op, const char *name, const char *const *ins, int n_ins,
                         const clg_attr *attrs, int n_attrs, const char *want)
{
    int before = clg_graph_node_count(g);
    if (clg_graph_add_node(g, op, name, ins, n_ins, attrs, n_attrs))
        fail_msg("%s = %s(...): %s", name, clg_op_name(op), clg_graph_errmsg(g));
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(g, before, NULL, NULL, &rank, dims), CLG_OK);
    char text[256], d[64];
    size_t n = (size_t)snprintf(text, sizeof text, "[");
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i ? ", " : "", clg_graph_dim_str(g, dims[i], d, sizeof d));
    snprintf(text + n, sizeof text - n, "]");
    if (strcmp(text, want)) fail_msg("%s = %s(...): shape %s, expected %s", name, clg_op_name(op), text, want);
}

#define OK node_ok
#define OK_TEXT node_ok_text
#define ERR node_err

/* ---------------------------------------------------------------- Gemm and MatMul */

static void test_gemm(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 64));
    constant(g, "w", DIMS(64, 32));
    constant(g, "wt", DIMS(32, 64));
    constant(g, "a", DIMS(6, 4));
    constant(g, "at", DIMS(4, 6));
    constant(g, "b", DIMS(4, 3));
    constant(g, "bt", DIMS(3, 4));
    OK(g, CLG_OP_GEMM, "y0", INS("x", "w"), NO_ATTRS, DIMS(N, 32));
    OK(g, CLG_OP_GEMM, "y1", INS("x", "wt"), ATTRS(ai("transB", 1)), DIMS(N, 32));
    /* All four transpose combinations: A is [M, K] = [6, 4], B is [K, N] = [4, 3]. */
    OK(g, CLG_OP_GEMM, "t00", INS("a", "b"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "t10", INS("at", "b"), ATTRS(ai("transA", 1)), DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "t01", INS("a", "bt"), ATTRS(ai("transB", 1)), DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "t11", INS("at", "bt"), ATTRS(ai("transA", 1), ai("transB", 1)), DIMS(6, 3));
    /* transA swaps M and K: [6, 4]^T is [4, 6], which needs a [6, x] B. */
    ERR(g, CLG_OP_GEMM, "bad_t", INS("a", "b"), ATTRS(ai("transA", 1)), CLG_ERR_INVALID_GRAPH,
        "input has 6 features, weight expects 4");
    ERR(g, CLG_OP_GEMM, "bad_tb", INS("a", "b"), ATTRS(ai("transB", 1)), CLG_ERR_INVALID_GRAPH,
        "input has 4 features, weight expects 3");
    /* alpha and beta do not change the shape. */
    OK(g, CLG_OP_GEMM, "ab", INS("a", "b"), ATTRS(af("alpha", 0.5f), af("beta", 2.0f)), DIMS(6, 3));

    /* Bias shapes: anything that broadcasts to [M, N] without growing it. */
    constant(g, "c3", DIMS(3));
    constant(g, "c1", DIMS(1));
    constant(g, "c13", DIMS(1, 3));
    constant(g, "c61", DIMS(6, 1));
    constant(g, "c63", DIMS(6, 3));
    constant(g, "c11", DIMS(1, 1));
    constant(g, "c4", DIMS(4));
    constant(g, "c31", DIMS(3, 1));
    constant(g, "c163", DIMS(1, 6, 3));
    constant(g, "c73", DIMS(7, 3));
    constant(g, "c32", DIMS(32));
    OK(g, CLG_OP_GEMM, "b3", INS("a", "b", "c3"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "b1", INS("a", "b", "c1"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "b13", INS("a", "b", "c13"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "b61", INS("a", "b", "c61"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "b63", INS("a", "b", "c63"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "b11", INS("a", "b", "c11"), NO_ATTRS, DIMS(6, 3));
    OK(g, CLG_OP_GEMM, "bx", INS("x", "w", "c32"), NO_ATTRS, DIMS(N, 32));
    OK(g, CLG_OP_GEMM, "bx1", INS("x", "w", "c1"), NO_ATTRS, DIMS(N, 32));
    ERR(g, CLG_OP_GEMM, "e4", INS("a", "b", "c4"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias [4] does not broadcast to the output [6, 3]");
    ERR(g, CLG_OP_GEMM, "e31", INS("a", "b", "c31"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias [3, 1] does not broadcast to the output [6, 3]");
    ERR(g, CLG_OP_GEMM, "e163", INS("a", "b", "c163"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias [1, 6, 3] does not broadcast");
    ERR(g, CLG_OP_GEMM, "e73", INS("a", "b", "c73"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias [7, 3] does not broadcast");
    /* A bias with a fixed row count fits only N = 2 (or broadcast N = 1...
     * which does not fit the bias): checked when N is bound
     * (test_symbolic_sizes). */
    constant(g, "c232", DIMS(2, 32));
    OK(g, CLG_OP_GEMM, "eN", INS("x", "w", "c232"), NO_ATTRS, DIMS(N, 32));
    /* Ranks and arity. */
    input(g, "x3", DIMS(N, 2, 64));
    ERR(g, CLG_OP_GEMM, "r3", INS("x3", "w"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "input A must have rank 2, got [N, 2, 64]");
    ERR(g, CLG_OP_GEMM, "r1", INS("x", "c32"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "weight B must have rank 2, got [32]");
    ERR(g, CLG_OP_GEMM, "one", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 2 to 3 inputs, got 1");
    ERR(g, CLG_OP_GEMM, "four", INS("x", "w", "c32", "c32"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 2 to 3 inputs, got 4");
    /* The features mismatch names both counts. */
    input(g, "x64", DIMS(N, 64));
    constant(g, "w128", DIMS(128, 10));
    ERR(g, CLG_OP_GEMM, "d1", INS("x64", "w128"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "node d1 (Gemm): input has 64 features, weight expects 128");
    clg_graph_destroy(g);
}

static void test_matmul(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 64));
    input(g, "x3", DIMS(N, 4, 5));
    constant(g, "w", DIMS(64, 10));
    constant(g, "w56", DIMS(5, 6));
    constant(g, "a4", DIMS(2, 3, 4, 5));
    constant(g, "b4", DIMS(2, 3, 5, 6));
    constant(g, "a3141", DIMS(3, 1, 4, 5));
    constant(g, "b257", DIMS(2, 5, 7));
    constant(g, "v5", DIMS(5));
    constant(g, "v64", DIMS(64));
    constant(g, "b256", DIMS(2, 5, 6));
    constant(g, "a245", DIMS(2, 4, 5));
    constant(g, "b356", DIMS(3, 5, 6));
    constant(g, "w76", DIMS(7, 6));
    OK(g, CLG_OP_MATMUL, "m", INS("x", "w"), NO_ATTRS, DIMS(N, 10));
    OK(g, CLG_OP_MATMUL, "batched", INS("a4", "b4"), NO_ATTRS, DIMS(2, 3, 4, 6));
    OK(g, CLG_OP_MATMUL, "bcast", INS("a3141", "b257"), NO_ATTRS, DIMS(3, 2, 4, 7));
    OK(g, CLG_OP_MATMUL, "bcast2", INS("a4", "w56"), NO_ATTRS, DIMS(2, 3, 4, 6));
    OK(g, CLG_OP_MATMUL, "symb", INS("x3", "w56"), NO_ATTRS, DIMS(N, 4, 6));
    /* Batch dims broadcast like NumPy; N against 2 is 2 (N must be 1 or 2
     * when bound). */
    OK(g, CLG_OP_MATMUL, "symb_b", INS("x3", "b256"), NO_ATTRS, DIMS(2, 4, 6));
    ERR(g, CLG_OP_MATMUL, "nob", INS("a245", "b356"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "shapes [2] and [3] do not broadcast");
    /* Rank 1 operands: a vector on the left loses M, on the right loses N. */
    OK(g, CLG_OP_MATMUL, "vl", INS("v5", "w56"), NO_ATTRS, DIMS(6));
    OK(g, CLG_OP_MATMUL, "vl3", INS("v5", "b256"), NO_ATTRS, DIMS(2, 6));
    OK(g, CLG_OP_MATMUL, "vr", INS("x", "v64"), NO_ATTRS, DIMS(N));
    OK(g, CLG_OP_MATMUL, "vr4", INS("a4", "v5"), NO_ATTRS, DIMS(2, 3, 4));
    ERR(g, CLG_OP_MATMUL, "vv", INS("v5", "v5"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "a vector times a vector");
    ERR(g, CLG_OP_MATMUL, "k", INS("x3", "w76"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input has 5 features, weight expects 7");
    ERR(g, CLG_OP_MATMUL, "k1", INS("v5", "w"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input has 5 features, weight expects 64");
    /* Rank 5 is the limit. */
    constant(g, "a5", DIMS(2, 1, 2, 3, 4));
    constant(g, "b5", DIMS(1, 3, 2, 4, 5));
    OK(g, CLG_OP_MATMUL, "r5", INS("a5", "b5"), NO_ATTRS, DIMS(2, 3, 2, 3, 5));
    ERR(g, CLG_OP_MATMUL, "one", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 2 inputs, got 1");
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- Conv2D and pools */

static void test_conv2d(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 32, 32));
    input(g, "x8", DIMS(N, 8, 10, 10));
    input(g, "r", DIMS(2, 3, 7, 9));
    constant(g, "w", DIMS(16, 3, 3, 3));
    constant(g, "w15", DIMS(4, 3, 1, 5));
    constant(g, "wg2", DIMS(16, 4, 3, 3));
    constant(g, "wdw", DIMS(8, 1, 3, 3));
    constant(g, "b16", DIMS(16));
    constant(g, "b8", DIMS(8));
    OK(g, CLG_OP_CONV2D, "plain", INS("x", "w"), NO_ATTRS, DIMS(N, 16, 30, 30));
    OK(g, CLG_OP_CONV2D, "same", INS("x", "w", "b16"), ATTRS(AL("pads", 1, 1, 1, 1)), DIMS(N, 16, 32, 32));
    OK(g, CLG_OP_CONV2D, "s2", INS("x", "w"), ATTRS(AL("strides", 2, 2), AL("pads", 1, 1, 1, 1)), DIMS(N, 16, 16, 16));
    OK(g, CLG_OP_CONV2D, "s21", INS("x", "w"), ATTRS(AL("strides", 2, 1)), DIMS(N, 16, 15, 30));
    /* pads are top, left, bottom, right. */
    OK(g, CLG_OP_CONV2D, "asym", INS("x", "w"), ATTRS(AL("pads", 0, 1, 2, 3)), DIMS(N, 16, 32, 34));
    /* Padding may exceed the kernel for Conv2D. */
    OK(g, CLG_OP_CONV2D, "bigpad", INS("x", "w"), ATTRS(AL("pads", 4, 4, 4, 4)), DIMS(N, 16, 38, 38));
    OK(g, CLG_OP_CONV2D, "dil", INS("x", "w"), ATTRS(AL("dilations", 2, 2)), DIMS(N, 16, 28, 28));
    OK(g, CLG_OP_CONV2D, "dil_s", INS("x", "w"), ATTRS(AL("dilations", 3, 1), AL("strides", 3, 3)),
       DIMS(N, 16, 9, 10));
    OK(g, CLG_OP_CONV2D, "rect", INS("r", "w15"), NO_ATTRS, DIMS(2, 4, 7, 5));
    OK(g, CLG_OP_CONV2D, "rect_p", INS("r", "w15"), ATTRS(AL("pads", 0, 2, 0, 2)), DIMS(2, 4, 7, 9));
    OK(g, CLG_OP_CONV2D, "g2", INS("x8", "wg2", "b16"), ATTRS(ai("group", 2)), DIMS(N, 16, 8, 8));
    OK(g, CLG_OP_CONV2D, "dw", INS("x8", "wdw", "b8"), ATTRS(ai("group", 8), AL("pads", 1, 1, 1, 1)),
       DIMS(N, 8, 10, 10));
    OK(g, CLG_OP_CONV2D, "s3", INS("x8", "wdw"), ATTRS(ai("group", 8), AL("strides", 3, 3)), DIMS(N, 8, 3, 3));
    /* Errors. */
    ERR(g, CLG_OP_CONV2D, "ch", INS("x8", "w"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input has 8 channels, weight [16, 3, 3, 3] expects 3");
    ERR(g, CLG_OP_CONV2D, "grp", INS("x", "wdw"), ATTRS(ai("group", 2)), CLG_ERR_INVALID_GRAPH,
        "group 2 does not divide 3 input and 8 output channels");
    ERR(g, CLG_OP_CONV2D, "grp0", INS("x", "w"), ATTRS(ai("group", 0)), CLG_ERR_INVALID_GRAPH, "group must be positive");
    ERR(g, CLG_OP_CONV2D, "bias", INS("x", "w", "b8"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias must have shape [16], got [8]");
    constant(g, "w99", DIMS(4, 3, 33, 3));
    ERR(g, CLG_OP_CONV2D, "big", INS("x", "w99"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "kernel 33x3 does not fit the input [N, 3, 32, 32]");
    ERR(g, CLG_OP_CONV2D, "st0", INS("x", "w"), ATTRS(AL("strides", 1, 0)), CLG_ERR_INVALID_GRAPH,
        "strides must be positive, got 0");
    ERR(g, CLG_OP_CONV2D, "dil0", INS("x", "w"), ATTRS(AL("dilations", 0, 1)), CLG_ERR_INVALID_GRAPH,
        "dilations must be positive, got 0");
    ERR(g, CLG_OP_CONV2D, "negpad", INS("x", "w"), ATTRS(AL("pads", 0, -1, 0, 0)), CLG_ERR_INVALID_GRAPH,
        "pads must not be negative, got -1");
    ERR(g, CLG_OP_CONV2D, "pads2", INS("x", "w"), ATTRS(AL("pads", 1, 1)), CLG_ERR_INVALID_GRAPH,
        "attribute pads needs 4 values, got 2");
    ERR(g, CLG_OP_CONV2D, "ks", INS("x", "w"), ATTRS(AL("kernel_shape", 3, 3)), CLG_ERR_INVALID_GRAPH,
        "unknown attribute 'kernel_shape'");
    input(g, "x3", DIMS(N, 3, 32));
    ERR(g, CLG_OP_CONV2D, "rank", INS("x3", "w"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "input must have rank 4, got [N, 3, 32]");
    clg_graph_destroy(g);
}

static void test_pools(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 32, 32));
    input(g, "x5", DIMS(1, 2, 5, 5));
    input(g, "x6", DIMS(1, 2, 6, 7));
    OK(g, CLG_OP_MAXPOOL, "m2", INS("x"), ATTRS(AL("kernel_shape", 2, 2), AL("strides", 2, 2)), DIMS(N, 3, 16, 16));
    OK(g, CLG_OP_MAXPOOL, "m3", INS("x"), ATTRS(AL("kernel_shape", 3, 3), AL("strides", 2, 2)), DIMS(N, 3, 15, 15));
    OK(g, CLG_OP_MAXPOOL, "m3c", INS("x"), ATTRS(AL("kernel_shape", 3, 3), AL("strides", 2, 2), ai("ceil_mode", 1)),
       DIMS(N, 3, 16, 16));
    OK(g, CLG_OP_MAXPOOL, "m1", INS("x"), ATTRS(AL("kernel_shape", 3, 3)), DIMS(N, 3, 30, 30));
    OK(g, CLG_OP_MAXPOOL, "mp", INS("x"), ATTRS(AL("kernel_shape", 3, 3), AL("pads", 1, 1, 1, 1)), DIMS(N, 3, 32, 32));
    OK(g, CLG_OP_MAXPOOL, "md", INS("x"), ATTRS(AL("kernel_shape", 2, 2), AL("dilations", 2, 2)), DIMS(N, 3, 30, 30));
    OK(g, CLG_OP_MAXPOOL, "mr", INS("x6"), ATTRS(AL("kernel_shape", 2, 3), AL("strides", 2, 1)), DIMS(1, 2, 3, 5));
    /* ceil_mode: 6 + 1 + 1 - 3 = 5 over stride 2 is 2.5 -> 3 windows + 1. */
    OK(g, CLG_OP_MAXPOOL, "c_on", INS("x6"),
       ATTRS(AL("kernel_shape", 3, 3), AL("strides", 2, 2), AL("pads", 1, 1, 1, 1), ai("ceil_mode", 1)),
       DIMS(1, 2, 4, 4));
    OK(g, CLG_OP_MAXPOOL, "c_off", INS("x6"), ATTRS(AL("kernel_shape", 3, 3), AL("strides", 2, 2), AL("pads", 1, 1, 1, 1)),
       DIMS(1, 2, 3, 4));
    /* ceil_mode never starts a window in the trailing padding: 5 + 2 - 2 = 5
     * over 2 rounds up to 3 + 1 = 4 windows, but the 4th would start at 6,
     * past the input's last row (index 5 with the leading pad), so 3. */
    OK(g, CLG_OP_MAXPOOL, "c_drop", INS("x5"),
       ATTRS(AL("kernel_shape", 2, 2), AL("strides", 2, 2), AL("pads", 1, 1, 1, 1), ai("ceil_mode", 1)),
       DIMS(1, 2, 3, 3));
    OK(g, CLG_OP_AVERAGEPOOL, "a2", INS("x"), ATTRS(AL("kernel_shape", 2, 2), AL("strides", 2, 2)), DIMS(N, 3, 16, 16));
    OK(g, CLG_OP_AVERAGEPOOL, "ap", INS("x"),
       ATTRS(AL("kernel_shape", 3, 3), AL("pads", 1, 1, 1, 1), ai("count_include_pad", 1)), DIMS(N, 3, 32, 32));
    OK(g, CLG_OP_AVERAGEPOOL, "ac", INS("x5"), ATTRS(AL("kernel_shape", 2, 2), AL("strides", 2, 2), ai("ceil_mode", 1)),
       DIMS(1, 2, 3, 3));
    OK(g, CLG_OP_AVERAGEPOOL, "af", INS("x5"), ATTRS(AL("kernel_shape", 2, 2), AL("strides", 2, 2)), DIMS(1, 2, 2, 2));
    /* Errors. */
    ERR(g, CLG_OP_MAXPOOL, "nok", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attribute kernel_shape is required");
    ERR(g, CLG_OP_MAXPOOL, "big", INS("x5"), ATTRS(AL("kernel_shape", 6, 6)), CLG_ERR_INVALID_GRAPH,
        "kernel 6x6 does not fit the input [1, 2, 5, 5]");
    ERR(g, CLG_OP_MAXPOOL, "pad", INS("x"), ATTRS(AL("kernel_shape", 2, 2), AL("pads", 0, 0, 2, 0)),
        CLG_ERR_INVALID_GRAPH, "pads must be smaller than the window (2) along axis 2");
    ERR(g, CLG_OP_AVERAGEPOOL, "dil", INS("x"), ATTRS(AL("kernel_shape", 2, 2), AL("dilations", 2, 2)),
        CLG_ERR_INVALID_GRAPH, "unknown attribute 'dilations'");
    ERR(g, CLG_OP_MAXPOOL, "k0", INS("x"), ATTRS(AL("kernel_shape", 0, 2)), CLG_ERR_INVALID_GRAPH,
        "kernel size must be positive, got 0");
    ERR(g, CLG_OP_MAXPOOL, "k1", INS("x"), ATTRS(AL("kernel_shape", 2)), CLG_ERR_INVALID_GRAPH,
        "attribute kernel_shape needs 2 values, got 1");
    input(g, "flat", DIMS(N, 8));
    ERR(g, CLG_OP_MAXPOOL, "rank", INS("flat"), ATTRS(AL("kernel_shape", 2, 2)), CLG_ERR_INVALID_GRAPH,
        "input must have rank 4, got [N, 8]");

    /* GlobalAveragePool keeps N and C and sets every spatial dim to 1. */
    input(g, "x3", DIMS(N, 8, 10));
    input(g, "x5d", DIMS(2, 4, 3, 5, 7));
    OK(g, CLG_OP_GLOBALAVERAGEPOOL, "gap", INS("x"), NO_ATTRS, DIMS(N, 3, 1, 1));
    OK(g, CLG_OP_GLOBALAVERAGEPOOL, "gap3", INS("x3"), NO_ATTRS, DIMS(N, 8, 1));
    OK(g, CLG_OP_GLOBALAVERAGEPOOL, "gap5", INS("x5d"), NO_ATTRS, DIMS(2, 4, 1, 1, 1));
    ERR(g, CLG_OP_GLOBALAVERAGEPOOL, "gap2", INS("flat"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input must have rank 3 to 8, got [N, 8]");
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- Pad */

static clg_attr as(const char *name, const char *text)
{
    clg_attr a = {name, CLG_ATTR_STRING, 0, {0}, 0.0f, text};
    return a;
}

/* Attention(Q, KT, V [, mask]): [..., Sq, D] x [..., D, Sk] x [..., Sk, Dv]
 * gives [..., Sq, Dv]; batch dims broadcast as MatMul's, symbolic sizes
 * pass through. */
static void test_attention(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    int64_t S = 0;
    assert_int_equal(clg_graph_symbol(g, "S", &S), CLG_OK);
    input(g, "q", DIMS(N, 2, S, 8));
    input(g, "kt", DIMS(N, 2, 8, 9));
    input(g, "kt1", DIMS(1, 8, 9));
    input(g, "v", DIMS(N, 2, 9, 4));
    input(g, "v2", DIMS(9, 4));
    input(g, "m", DIMS(S, 9));
    input(g, "m1", DIMS(1, 9));
    input(g, "m3", DIMS(3, S, 9));
    input(g, "m_wide", DIMS(2, N, 2, S, 9));
    input(g, "kt_bad", DIMS(N, 2, 7, 9));
    input(g, "v_bad", DIMS(N, 2, 10, 4));
    input(g, "vec", DIMS(9));
    OK_TEXT(g, CLG_OP_ATTENTION, "a", INS("q", "kt", "v"), NO_ATTRS, "[N, 2, S, 4]");
    OK_TEXT(g, CLG_OP_ATTENTION, "am", INS("q", "kt", "v", "m"), ATTRS(af("scale", 0.125f)), "[N, 2, S, 4]");
    OK_TEXT(g, CLG_OP_ATTENTION, "bc", INS("q", "kt1", "v2", "m1"), NO_ATTRS, "[N, 2, S, 4]");
    ERR(g, CLG_OP_ATTENTION, "e_d", INS("q", "kt_bad", "v"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "Q [N, 2, S, 8] has head size 8 (its last dim), but KT [N, 2, 7, 9] has 7 rows");
    ERR(g, CLG_OP_ATTENTION, "e_sk", INS("q", "kt", "v_bad"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "KT [N, 2, 8, 9] has 9 keys (its last dim), but V [N, 2, 10, 4] has 10 rows");
    ERR(g, CLG_OP_ATTENTION, "e_m3", INS("q", "kt", "v", "m3"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "does not broadcast to the scores [N, 2, S, 9]");
    ERR(g, CLG_OP_ATTENTION, "e_wide", INS("q", "kt", "v", "m_wide"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "mask [2, N, 2, S, 9] does not broadcast to the scores");
    ERR(g, CLG_OP_ATTENTION, "e_vec", INS("q", "kt", "vec"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input V must have rank 2 or more, got [9]");
    ERR(g, CLG_OP_ATTENTION, "e_scale", INS("q", "kt", "v"), ATTRS(af("scale", INFINITY)), CLG_ERR_INVALID_GRAPH,
        "scale must be finite");
    ERR(g, CLG_OP_ATTENTION, "e_two", INS("q", "kt"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "");
    clg_graph_destroy(g);
}

static void test_pad(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 5, 7));
    input(g, "v", DIMS(4));
    input(g, "x5", DIMS(2, 3, 4, 5, 6));
    /* Each dim grows by its begin and end pads (ONNX order: all begins,
     * then all ends); N passes through unpadded. */
    OK(g, CLG_OP_PAD, "p", INS("x"), ATTRS(AL("pads", 0, 0, 1, 2, 0, 0, 3, 4)), DIMS(N, 3, 9, 13));
    OK(g, CLG_OP_PAD, "pc", INS("x"), ATTRS(AL("pads", 0, 1, 0, 0, 0, 2, 0, 0)), DIMS(N, 6, 5, 7));
    /* Negative pads crop. */
    OK(g, CLG_OP_PAD, "crop", INS("x"), ATTRS(AL("pads", 0, 0, -1, 2, 0, 0, -2, -3)), DIMS(N, 3, 2, 6));
    OK(g, CLG_OP_PAD, "v1", INS("v"), ATTRS(AL("pads", 2, 3), as("mode", "edge")), DIMS(9));
    OK(g, CLG_OP_PAD, "r5", INS("x5"), ATTRS(AL("pads", 1, 0, 0, 0, 0, 0, 2, 0, 3, -5), as("mode", "reflect")),
       DIMS(3, 5, 4, 8, 1));
    /* Reflect needs room: pads smaller than the dim after cropping. */
    OK(g, CLG_OP_PAD, "r_edge", INS("v"), ATTRS(AL("pads", 3, 3), as("mode", "reflect")), DIMS(10));
    ERR(g, CLG_OP_PAD, "r_long", INS("v"), ATTRS(AL("pads", 4, 0), as("mode", "reflect")), CLG_ERR_UNSUPPORTED,
        "reflect pads [4, 0] of dim 0 must be smaller than the 4 elements they reflect");
    ERR(g, CLG_OP_PAD, "r_crop", INS("v"), ATTRS(AL("pads", -2, 2), as("mode", "reflect")), CLG_ERR_UNSUPPORTED,
        "reflect pads [-2, 2] of dim 0 must be smaller than the 2 elements they reflect");
    ERR(g, CLG_OP_PAD, "all", INS("v"), ATTRS(AL("pads", -2, -2)), CLG_ERR_INVALID_GRAPH,
        "pads [-2, -2] crop all of dim 0 of the input [4]");
    ERR(g, CLG_OP_PAD, "count", INS("x"), ATTRS(AL("pads", 1, 1, 1, 1)), CLG_ERR_INVALID_GRAPH,
        "attribute pads needs 8 values (a begin and an end per dim of the input [N, 3, 5, 7]), got 4");
    ERR(g, CLG_OP_PAD, "none", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attribute pads needs 8 values");
    ERR(g, CLG_OP_PAD, "mode", INS("v"), ATTRS(AL("pads", 1, 1), as("mode", "wrap")), CLG_ERR_INVALID_GRAPH,
        "attribute mode must be \"constant\", \"reflect\" or \"edge\", got \"wrap\"");
    ERR(g, CLG_OP_PAD, "huge", INS("v"), ATTRS(AL("pads", (int64_t)1 << 40, 0)), CLG_ERR_INVALID_GRAPH,
        "pads of dim 0 must be within +-2^31");
    /* A symbolic dim can be copied through, never padded or cropped. */
    ERR(g, CLG_OP_PAD, "sym", INS("x"), ATTRS(AL("pads", 1, 0, 0, 0, 0, 0, 0, 0)), CLG_ERR_UNSUPPORTED,
        "padding dim 0 of the input [N, 3, 5, 7], which is symbolic, is not supported");
    ERR(g, CLG_OP_PAD, "sym_crop", INS("x"), ATTRS(AL("pads", 0, 0, 0, 0, -1, 0, 0, 0)), CLG_ERR_UNSUPPORTED,
        "which is symbolic");
    OK(g, CLG_OP_PAD, "val", INS("v"), ATTRS(AL("pads", 0, 1), af("value", -2.5f)), DIMS(5));
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- layout ops */

static void test_flatten(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4, 5));
    input(g, "c", DIMS(2, 3, 4));
    OK(g, CLG_OP_FLATTEN, "f", INS("x"), NO_ATTRS, DIMS(N, 60));
    OK(g, CLG_OP_FLATTEN, "f1", INS("x"), ATTRS(ai("axis", 1)), DIMS(N, 60));
    OK(g, CLG_OP_FLATTEN, "fm3", INS("x"), ATTRS(ai("axis", -3)), DIMS(N, 60));
    OK(g, CLG_OP_FLATTEN, "c0", INS("c"), ATTRS(ai("axis", 0)), DIMS(1, 24));
    OK(g, CLG_OP_FLATTEN, "c1", INS("c"), NO_ATTRS, DIMS(2, 12));
    OK(g, CLG_OP_FLATTEN, "c2", INS("c"), ATTRS(ai("axis", 2)), DIMS(6, 4));
    OK(g, CLG_OP_FLATTEN, "c3", INS("c"), ATTRS(ai("axis", 3)), DIMS(24, 1));
    /* Negative axes count from the back, as in ONNX: -1 is axis 2. */
    OK(g, CLG_OP_FLATTEN, "cm1", INS("c"), ATTRS(ai("axis", -1)), DIMS(6, 4));
    OK(g, CLG_OP_FLATTEN, "cm3", INS("c"), ATTRS(ai("axis", -3)), DIMS(1, 24));
    ERR(g, CLG_OP_FLATTEN, "cm4", INS("c"), ATTRS(ai("axis", -4)), CLG_ERR_INVALID_GRAPH,
        "axis -4 is out of range for rank 3");
    ERR(g, CLG_OP_FLATTEN, "c4", INS("c"), ATTRS(ai("axis", 4)), CLG_ERR_INVALID_GRAPH,
        "axis 4 is out of range for rank 3");
    /* Symbolic sizes multiply through. */
    OK_TEXT(g, CLG_OP_FLATTEN, "f2", INS("x"), ATTRS(ai("axis", 2)), "[3*N, 20]");
    OK_TEXT(g, CLG_OP_FLATTEN, "f0", INS("x"), ATTRS(ai("axis", 0)), "[1, 60*N]");
    clg_graph_destroy(g);
}

static void test_reshape(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4));
    input(g, "c", DIMS(2, 3, 4));
    /* With N: shape[0] is 0 (copy) or -1 (infer), and stands for N. */
    OK(g, CLG_OP_RESHAPE, "r0", INS("x"), ATTRS(AL("shape", 0, 12)), DIMS(N, 12));
    OK(g, CLG_OP_RESHAPE, "r1", INS("x"), ATTRS(AL("shape", 0, -1)), DIMS(N, 12));
    OK(g, CLG_OP_RESHAPE, "r2", INS("x"), ATTRS(AL("shape", -1, 12)), DIMS(N, 12));
    OK(g, CLG_OP_RESHAPE, "r3", INS("x"), ATTRS(AL("shape", 0, 2, -1)), DIMS(N, 2, 6));
    OK(g, CLG_OP_RESHAPE, "r4", INS("x"), ATTRS(AL("shape", 0, 0, 2, 2)), DIMS(N, 3, 2, 2));
    OK(g, CLG_OP_RESHAPE, "r5", INS("x"), ATTRS(AL("shape", 0, 1, 12, 1, 1)), DIMS(N, 1, 12, 1, 1));
    OK(g, CLG_OP_RESHAPE, "r6", INS("x"), ATTRS(AL("shape", -1, 4, 3)), DIMS(N, 4, 3));
    /* Without N, an ordinary ONNX Reshape. */
    OK(g, CLG_OP_RESHAPE, "c0", INS("c"), ATTRS(AL("shape", -1)), DIMS(24));
    OK(g, CLG_OP_RESHAPE, "c1", INS("c"), ATTRS(AL("shape", 4, -1)), DIMS(4, 6));
    OK(g, CLG_OP_RESHAPE, "c2", INS("c"), ATTRS(AL("shape", 0, -1)), DIMS(2, 12));
    OK(g, CLG_OP_RESHAPE, "c3", INS("c"), ATTRS(AL("shape", 0, 0, 0)), DIMS(2, 3, 4));
    OK(g, CLG_OP_RESHAPE, "c4", INS("c"), ATTRS(AL("shape", 4, 0, 2)), DIMS(4, 3, 2)); /* 0 copies dims[1] */
    OK(g, CLG_OP_RESHAPE, "c5", INS("c"), ATTRS(AL("shape", 1, 1, 1, 1, 24)), DIMS(1, 1, 1, 1, 24));
    /* Ranks 6 to 8 (CLG_MAX_RANK): swin's window partition, and back. */
    OK(g, CLG_OP_RESHAPE, "r7", INS("x"), ATTRS(AL("shape", 0, 1, 3, 1, 2, 2, 1)), DIMS(N, 1, 3, 1, 2, 2, 1));
    OK(g, CLG_OP_RESHAPE, "r8", INS("r7"), ATTRS(AL("shape", 0, 3, 4)), DIMS(N, 3, 4));
    OK(g, CLG_OP_RESHAPE, "c6", INS("c"), ATTRS(AL("shape", 1, 2, 1, 3, 1, 2, 1, 2)), DIMS(1, 2, 1, 3, 1, 2, 1, 2));
    OK(g, CLG_OP_RESHAPE, "c7", INS("c"), ATTRS(AL("shape", 2, 1, 3, 2, -1, 1)), DIMS(2, 1, 3, 2, 2, 1));
    /* Errors. */
    ERR(g, CLG_OP_RESHAPE, "e0", INS("x"), ATTRS(AL("shape", 0, 5)), CLG_ERR_INVALID_GRAPH,
        "cannot reshape [N, 3, 4]: 12*N elements, shape holds 5*N");
    /* 12*N against 12 may agree (N = 1): checked when N is bound. */
    OK(g, CLG_OP_RESHAPE, "e1", INS("x"), ATTRS(AL("shape", 3, 4)), DIMS(3, 4));
    /* N moves and multiplies: [N, 3, 4] as [3, N*4] and [N*3, 4]. */
    OK_TEXT(g, CLG_OP_RESHAPE, "m0", INS("x"), ATTRS(AL("shape", 3, -1)), "[3, 4*N]");
    OK_TEXT(g, CLG_OP_RESHAPE, "m1", INS("x"), ATTRS(AL("shape", -1, 4)), "[3*N, 4]");
    ERR(g, CLG_OP_RESHAPE, "e2", INS("x"), ATTRS(AL("shape", -1, -1)), CLG_ERR_INVALID_GRAPH, "shape has more than one -1");
    ERR(g, CLG_OP_RESHAPE, "e3", INS("c"), ATTRS(AL("shape", -1, 2, -1)), CLG_ERR_INVALID_GRAPH,
        "shape has more than one -1");
    ERR(g, CLG_OP_RESHAPE, "e4", INS("c"), ATTRS(AL("shape", 5, -1)), CLG_ERR_INVALID_GRAPH,
        "cannot reshape [2, 3, 4]: 24 elements do not divide into 5");
    ERR(g, CLG_OP_RESHAPE, "e5", INS("c"), ATTRS(AL("shape", 2, -9, 6)), CLG_ERR_INVALID_GRAPH,
        "shape[1] names no symbolic size of this graph");
    /* A code beyond int once wrapped to a valid-looking entry (fuzz_optimize). */
    ERR(g, CLG_OP_RESHAPE, "e5b", INS("c"), ATTRS(AL("shape", -294967267296)), CLG_ERR_INVALID_GRAPH,
        "shape[0] names no symbolic size of this graph");
    ERR(g, CLG_OP_RESHAPE, "e5c", INS("c"), ATTRS(AL("shape", INT64_MIN)), CLG_ERR_INVALID_GRAPH,
        "shape[0] names no symbolic size of this graph");
    ERR(g, CLG_OP_RESHAPE, "e6", INS("c"), ATTRS(AL("shape", 0, 0, 0, 0)), CLG_ERR_INVALID_GRAPH,
        "shape[3] = 0 copies a dimension the input lacks");
    ERR(g, CLG_OP_RESHAPE, "e7", INS("c"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attribute shape is required");
    ERR(g, CLG_OP_RESHAPE, "e8", INS("c"), ATTRS(AL("shape", 1, 1, 1, 1, 1, 1, 1, 4, 6)), CLG_ERR_INVALID_GRAPH,
        "attribute shape needs at most 8 values, got 9");
    ERR(g, CLG_OP_RESHAPE, "e9", INS("c"), ATTRS(AL("shape", 4294967296, 4294967296, 4294967296)),
        CLG_ERR_INVALID_GRAPH, "shape holds more than 2^31 elements");
    clg_graph_destroy(g);
}

static void test_transpose(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4));
    input(g, "c", DIMS(2, 3, 4));
    input(g, "x5", DIMS(N, 2, 3, 4, 5));
    input(g, "x6", DIMS(N, 2, 7, 3, 7, 5));
    input(g, "x8", DIMS(1, 2, 3, 4, 5, 6, 7, 8));
    OK(g, CLG_OP_TRANSPOSE, "t6", INS("x6"), ATTRS(AL("perm", 0, 1, 3, 2, 4, 5)), DIMS(N, 2, 3, 7, 7, 5));
    OK(g, CLG_OP_TRANSPOSE, "t8", INS("x8"), ATTRS(AL("perm", 7, 0, 6, 1, 5, 2, 4, 3)), DIMS(8, 1, 7, 2, 6, 3, 5, 4));
    OK(g, CLG_OP_TRANSPOSE, "t8r", INS("x8"), NO_ATTRS, DIMS(8, 7, 6, 5, 4, 3, 2, 1));
    ERR(g, CLG_OP_TRANSPOSE, "e6", INS("x6"), ATTRS(AL("perm", 0, 1, 3, 2, 4, 4)), CLG_ERR_INVALID_GRAPH,
        "perm is not a permutation");
    OK(g, CLG_OP_TRANSPOSE, "t0", INS("c"), NO_ATTRS, DIMS(4, 3, 2)); /* no perm: reverse */
    OK(g, CLG_OP_TRANSPOSE, "t1", INS("x"), ATTRS(AL("perm", 0, 2, 1)), DIMS(N, 4, 3));
    OK(g, CLG_OP_TRANSPOSE, "t2", INS("c"), ATTRS(AL("perm", 1, 2, 0)), DIMS(3, 4, 2));
    OK(g, CLG_OP_TRANSPOSE, "t3", INS("x"), ATTRS(AL("perm", 0, 1, 2)), DIMS(N, 3, 4));
    OK(g, CLG_OP_TRANSPOSE, "t5", INS("x5"), ATTRS(AL("perm", 0, 4, 1, 3, 2)), DIMS(N, 5, 2, 4, 3));
    OK(g, CLG_OP_TRANSPOSE, "e0", INS("x"), NO_ATTRS, DIMS(4, 3, N));
    ERR(g, CLG_OP_TRANSPOSE, "e1", INS("x"), ATTRS(AL("perm", 0, 1)), CLG_ERR_INVALID_GRAPH,
        "perm has 2 entries for an input of rank 3");
    ERR(g, CLG_OP_TRANSPOSE, "e2", INS("x"), ATTRS(AL("perm", 0, 1, 1)), CLG_ERR_INVALID_GRAPH, "perm is not a permutation");
    ERR(g, CLG_OP_TRANSPOSE, "e3", INS("x"), ATTRS(AL("perm", 0, 1, 3)), CLG_ERR_INVALID_GRAPH, "perm is not a permutation");
    ERR(g, CLG_OP_TRANSPOSE, "e4", INS("x"), ATTRS(AL("perm", 0, -1, 1)), CLG_ERR_INVALID_GRAPH, "perm is not a permutation");
    clg_graph_destroy(g);
}

static void test_concat(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "a", DIMS(N, 2, 4));
    input(g, "b", DIMS(N, 3, 4));
    input(g, "c", DIMS(N, 1, 4));
    input(g, "d", DIMS(N, 2, 5));
    constant(g, "k1", DIMS(2, 3));
    constant(g, "k2", DIMS(5, 3));
    constant(g, "k3", DIMS(1, 2, 4));
    OK(g, CLG_OP_CONCAT, "c1", INS("a", "b", "c"), NO_ATTRS, DIMS(N, 6, 4));
    OK(g, CLG_OP_CONCAT, "c2", INS("a", "d"), ATTRS(ai("axis", 2)), DIMS(N, 2, 9));
    OK(g, CLG_OP_CONCAT, "c3", INS("a", "d"), ATTRS(ai("axis", -1)), DIMS(N, 2, 9));
    OK(g, CLG_OP_CONCAT, "c4", INS("a"), NO_ATTRS, DIMS(N, 2, 4));
    OK(g, CLG_OP_CONCAT, "c5", INS("k1", "k2", "k1"), ATTRS(ai("axis", 0)), DIMS(9, 3));
    OK(g, CLG_OP_CONCAT, "c6", INS("k1", "k1"), ATTRS(ai("axis", -2)), DIMS(4, 3));
    /* More than eight inputs. */
    OK(g, CLG_OP_CONCAT, "many", INS("a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c"), NO_ATTRS,
       DIMS(N, 24, 4));
    ERR(g, CLG_OP_CONCAT, "e1", INS("a", "d"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input 1 has shape [N, 2, 5], which does not match [N, 2, 4] outside axis 1");
    ERR(g, CLG_OP_CONCAT, "e2", INS("a", "k1"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input 1 has shape [2, 3], which does not match [N, 2, 4] outside axis 1");
    ERR(g, CLG_OP_CONCAT, "e3", INS("a", "b"), ATTRS(ai("axis", 0)), CLG_ERR_INVALID_GRAPH,
        "input 1 has shape [N, 3, 4], which does not match [N, 2, 4] outside axis 0");
    OK_TEXT(g, CLG_OP_CONCAT, "cn", INS("a", "a", "k3"), ATTRS(ai("axis", 0)), "[2*N+1, 2, 4]");
    ERR(g, CLG_OP_CONCAT, "e4", INS("a", "b"), ATTRS(ai("axis", 3)), CLG_ERR_INVALID_GRAPH,
        "axis 3 is out of range for rank 3");
    ERR(g, CLG_OP_CONCAT, "e5", NULL, 0, NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes at least 1 inputs, got 0");
    clg_graph_destroy(g);
}

/* Slice: ONNX's clamping, negative indices and steps; a symbolic dim only
 * whole. */
static void test_slice(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 10, 6));
    input(g, "c", DIMS(4, 5, 6, 7, 8));
    /* [N, 2:8:3, :] -> indices 2, 5 */
    OK(g, CLG_OP_SLICE, "s0", INS("x"), ATTRS(AL("starts", 2), AL("ends", 8), AL("axes", 1), AL("steps", 3)),
       DIMS(N, 2, 6));
    /* ends past the dim clamp; negative starts count from the back: 10-3 = 7..10 */
    OK(g, CLG_OP_SLICE, "s1", INS("x"), ATTRS(AL("starts", -3), AL("ends", 1000), AL("axes", -2)), DIMS(N, 3, 6));
    /* reversed: 9 down to (but not) 0 by 2 -> 9, 7, 5, 3, 1 */
    OK(g, CLG_OP_SLICE, "s2", INS("x"), ATTRS(AL("starts", -1), AL("ends", 0), AL("axes", 1), AL("steps", -2)),
       DIMS(N, 5, 6));
    /* reversed to the front: an end below -dim clamps to -1 -> all 6 */
    OK(g, CLG_OP_SLICE, "s3", INS("x"), ATTRS(AL("starts", 100), AL("ends", -4294967296), AL("axes", 2), AL("steps", -1)),
       DIMS(N, 10, 6));
    /* default axes (0, 1, ...) over a rank-5 input, default steps */
    OK(g, CLG_OP_SLICE, "s4", INS("c"), ATTRS(AL("starts", 1, 0, -2), AL("ends", 3, -1, 6)), DIMS(2, 4, 2, 7, 8));
    /* N kept whole: start 0, end 2^31 or more, step 1 */
    OK(g, CLG_OP_SLICE, "s5", INS("x"), ATTRS(AL("starts", 0, 1), AL("ends", 2147483648, 2), AL("axes", 0, 1)),
       DIMS(N, 1, 6));
    /* ... or INT32_MAX, TensorFlow's "to the end" (tf2onnx: Keras' Cropping2D) */
    OK(g, CLG_OP_SLICE, "s6", INS("x"), ATTRS(AL("starts", 0, 1), AL("ends", 2147483647, 2147483647), AL("axes", 0, 1)),
       DIMS(N, 9, 6));
    /* one short of it is a part of N: refused, not taken as the whole */
    ERR(g, CLG_OP_SLICE, "e0t", INS("x"), ATTRS(AL("starts", 0), AL("ends", 2147483646)), CLG_ERR_INVALID_GRAPH,
        "more than 2^31 elements");
    /* Part of N: 2 rows (N must be at least 2 when bound), or N-2 of them. */
    OK(g, CLG_OP_SLICE, "e0", INS("x"), ATTRS(AL("starts", 0), AL("ends", 2)), DIMS(2, 10, 6));
    OK_TEXT(g, CLG_OP_SLICE, "n2", INS("x"), ATTRS(AL("starts", 1), AL("ends", -1)), "[N-2, 10, 6]");
    ERR(g, CLG_OP_SLICE, "e0s", INS("x"), ATTRS(AL("starts", 0), AL("ends", 2147483648), AL("steps", 2)),
        CLG_ERR_UNSUPPORTED, "the slice along axis 0 involves a symbolic size; only steps of 1");
    ERR(g, CLG_OP_SLICE, "e1", INS("x"), ATTRS(AL("starts", 5), AL("ends", 5), AL("axes", 1)), CLG_ERR_UNSUPPORTED,
        "the slice of input 0 [N, 10, 6] along axis 1 is empty");
    ERR(g, CLG_OP_SLICE, "e2", INS("x"), ATTRS(AL("starts", 1), AL("ends", 5), AL("axes", 1), AL("steps", 0)),
        CLG_ERR_INVALID_GRAPH, "steps[0] is 0");
    ERR(g, CLG_OP_SLICE, "e3", INS("x"), ATTRS(AL("starts", 1, 1), AL("ends", 5, 5), AL("axes", 1, -2)),
        CLG_ERR_INVALID_GRAPH, "axis 1 is repeated");
    ERR(g, CLG_OP_SLICE, "e4", INS("x"), ATTRS(AL("starts", 1), AL("ends", 5), AL("axes", 3)), CLG_ERR_INVALID_GRAPH,
        "axis 3 is out of range for rank 3");
    ERR(g, CLG_OP_SLICE, "e5", INS("x"), ATTRS(AL("starts", 1), AL("ends", 5, 6)), CLG_ERR_INVALID_GRAPH,
        "starts, ends, axes and steps must have the same length (1, 2, 0, 0)");
    ERR(g, CLG_OP_SLICE, "e6", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attributes starts and ends are required");
    clg_graph_destroy(g);
}

static void test_expand_and_tile(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 1));
    input(g, "c", DIMS(3, 1));
    /* bidirectional: a 1 in the target keeps the input's dim */
    OK(g, CLG_OP_EXPAND, "e0", INS("x"), ATTRS(AL("shape", 1, 1, 4)), DIMS(N, 3, 4));
    OK(g, CLG_OP_EXPAND, "e1", INS("c"), ATTRS(AL("shape", 2, 1, 6)), DIMS(2, 3, 6));
    OK(g, CLG_OP_EXPAND, "e2", INS("c"), ATTRS(AL("shape", 1)), DIMS(3, 1));
    OK(g, CLG_OP_EXPAND, "e3", INS("x"), ATTRS(AL("shape", 3, 5)), DIMS(N, 3, 5));
    ERR(g, CLG_OP_EXPAND, "f0", INS("c"), ATTRS(AL("shape", 2, 6)), CLG_ERR_INVALID_GRAPH,
        "input [3, 1] does not broadcast to shape[0] = 2");
    ERR(g, CLG_OP_EXPAND, "f1", INS("x"), ATTRS(AL("shape", 4, 3, 1)), CLG_ERR_UNSUPPORTED,
        "dimension 0 is symbolic, and it cannot be broadcast to a fixed size");
    ERR(g, CLG_OP_EXPAND, "f2", INS("c"), ATTRS(AL("shape", 0, 1)), CLG_ERR_INVALID_GRAPH,
        "shape[0] = 0: target dims must be 1 to 2^31");
    ERR(g, CLG_OP_EXPAND, "f3", INS("c"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attribute shape is required");

    OK(g, CLG_OP_TILE, "t0", INS("x"), ATTRS(AL("repeats", 1, 2, 3)), DIMS(N, 6, 3));
    OK(g, CLG_OP_TILE, "t1", INS("c"), ATTRS(AL("repeats", 1, 1)), DIMS(3, 1));
    ERR(g, CLG_OP_TILE, "u0", INS("x"), ATTRS(AL("repeats", 2, 1, 1)), CLG_ERR_UNSUPPORTED,
        "dimension 0 is symbolic, and only a repeat of 1 keeps it");
    ERR(g, CLG_OP_TILE, "u1", INS("c"), ATTRS(AL("repeats", 2)), CLG_ERR_INVALID_GRAPH,
        "repeats has 1 entries for an input of rank 2");
    ERR(g, CLG_OP_TILE, "u2", INS("c"), ATTRS(AL("repeats", 0, 1)), CLG_ERR_UNSUPPORTED, "repeats[0] = 0 makes an empty tensor");
    ERR(g, CLG_OP_TILE, "u3", INS("c"), ATTRS(AL("repeats", 1, -2)), CLG_ERR_INVALID_GRAPH,
        "repeats[1] = -2: repeats must be 1 to 2^31");
    clg_graph_destroy(g);
}

static void test_depth_to_space(void **state)
{
    (void)state;
    const clg_attr crd = {"mode", CLG_ATTR_STRING, 0, {0}, 0.0f, "CRD"};
    const clg_attr bad_mode = {"mode", CLG_ATTR_STRING, 0, {0}, 0.0f, "DRC"};
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 8, 3, 5));
    input(g, "y", DIMS(N, 3, 4, 6));
    input(g, "r3", DIMS(8, 3, 5));
    OK(g, CLG_OP_DEPTH_TO_SPACE, "d0", INS("x"), ATTRS(ai("blocksize", 2)), DIMS(N, 2, 6, 10));
    OK(g, CLG_OP_DEPTH_TO_SPACE, "d1", INS("x"), ATTRS(ai("blocksize", 2), crd), DIMS(N, 2, 6, 10));
    OK(g, CLG_OP_DEPTH_TO_SPACE, "d2", INS("x"), ATTRS(ai("blocksize", 1)), DIMS(N, 8, 3, 5));
    OK(g, CLG_OP_SPACE_TO_DEPTH, "s0", INS("y"), ATTRS(ai("blocksize", 2)), DIMS(N, 12, 2, 3));
    ERR(g, CLG_OP_DEPTH_TO_SPACE, "e0", INS("x"), ATTRS(ai("blocksize", 3)), CLG_ERR_INVALID_GRAPH,
        "8 channels do not divide by blocksize^2 = 9");
    ERR(g, CLG_OP_DEPTH_TO_SPACE, "e1", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "attribute blocksize is required");
    ERR(g, CLG_OP_DEPTH_TO_SPACE, "e2", INS("r3"), ATTRS(ai("blocksize", 2)), CLG_ERR_INVALID_GRAPH,
        "input must have rank 4, got [8, 3, 5]");
    ERR(g, CLG_OP_DEPTH_TO_SPACE, "e3", INS("x"), ATTRS(ai("blocksize", 2), bad_mode), CLG_ERR_INVALID_GRAPH,
        "attribute mode must be \"DCR\" or \"CRD\"");
    ERR(g, CLG_OP_SPACE_TO_DEPTH, "e4", INS("y"), ATTRS(ai("blocksize", 3)), CLG_ERR_INVALID_GRAPH,
        "height and width of [N, 3, 4, 6] do not divide by blocksize 3");
    ERR(g, CLG_OP_SPACE_TO_DEPTH, "e5", INS("y"), ATTRS(ai("blocksize", -1)), CLG_ERR_INVALID_GRAPH,
        "blocksize must be positive");
    clg_graph_destroy(g);
}

/* Trilu keeps its input's shape, symbolic sizes included (a [S, S] mask,
 * [N, H, S, S] scores); it needs the two dims of a matrix. */
static void test_trilu(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    int64_t s;
    assert_int_equal(clg_graph_symbol(g, "S", &s), CLG_OK);
    input(g, "m", DIMS(s, s));
    input(g, "x", DIMS(N, 4, s, s));
    input(g, "r", DIMS(3, 5, 2));
    input(g, "v", DIMS(s));
    OK(g, CLG_OP_TRILU, "t0", INS("m"), ATTRS(ai("k", 1)), DIMS(s, s));
    OK(g, CLG_OP_TRILU, "t1", INS("x"), ATTRS(ai("upper", 0), ai("k", -3)), DIMS(N, 4, s, s));
    OK(g, CLG_OP_TRILU, "t2", INS("r"), NO_ATTRS, DIMS(3, 5, 2));
    ERR(g, CLG_OP_TRILU, "e0", INS("v"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "input 0 [S] must have rank 2 or more");
    ERR(g, CLG_OP_TRILU, "e1", INS("r"), ATTRS(ai("upper", -1)), CLG_ERR_INVALID_GRAPH, "upper must be 0 or 1, got -1");
    clg_graph_destroy(g);
}

/* Range has no inputs: its shape is [length], a number or a symbolic size
 * (shape=[S], written S - 1 as Reshape's); integer ranges must stay exact. */
static void test_range(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    int64_t s;
    assert_int_equal(clg_graph_symbol(g, "S", &s), CLG_OK);
    clg_attr i64 = {"to", CLG_ATTR_STRING, 0, {0}, 0.0f, "i64"};
    OK(g, CLG_OP_RANGE, "r0", NULL, 0, ATTRS(AL("shape", 7)), DIMS(7));
    OK(g, CLG_OP_RANGE, "r1", NULL, 0, ATTRS(AL("shape", s - 1), i64), DIMS(s));
    OK(g, CLG_OP_RANGE, "r2", NULL, 0, ATTRS(AL("shape", N - 1), af("start", 3), af("delta", -0.5f)), DIMS(N));
    /* the last value, -4096 + 4097 * 4096, is 2^24 exactly */
    OK(g, CLG_OP_RANGE, "r3", NULL, 0, ATTRS(AL("shape", 4098), af("start", -4096), af("delta", 4096), i64),
       DIMS(4098));
    ERR(g, CLG_OP_RANGE, "e0", NULL, 0, NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "attribute shape must hold the length, one entry; got 0");
    ERR(g, CLG_OP_RANGE, "e1", NULL, 0, ATTRS(AL("shape", 2, 3)), CLG_ERR_INVALID_GRAPH,
        "attribute shape must hold the length, one entry; got 2");
    ERR(g, CLG_OP_RANGE, "e2", NULL, 0, ATTRS(AL("shape", 0)), CLG_ERR_INVALID_GRAPH,
        "shape[0] = 0: the length must be 1 to 2^31");
    ERR(g, CLG_OP_RANGE, "e3", NULL, 0, ATTRS(AL("shape", -40)), CLG_ERR_INVALID_GRAPH,
        "shape[0] names no symbolic size of this graph");
    ERR(g, CLG_OP_RANGE, "e3b", NULL, 0, ATTRS(AL("shape", -4294967298)), CLG_ERR_INVALID_GRAPH,
        "shape[0] names no symbolic size of this graph");
    ERR(g, CLG_OP_RANGE, "e4", NULL, 0, ATTRS(AL("shape", 4099), af("start", -4096), af("delta", 4096), i64),
        CLG_ERR_UNSUPPORTED, "a Range of length 4099 from -4096 by 4096 goes past 2^24");
    ERR(g, CLG_OP_RANGE, "e5", NULL, 0, ATTRS(AL("shape", 3), af("delta", NAN)), CLG_ERR_INVALID_GRAPH,
        "start and delta must be numbers");
    const char *const one[] = {"r0"};
    ERR(g, CLG_OP_RANGE, "e6", one, 1, ATTRS(AL("shape", 3)), CLG_ERR_INVALID_GRAPH, "takes 0 inputs, got 1");
    clg_graph_destroy(g);
}

/* Resize replaces the last two dims by `sizes`; leading dims pass through,
 * symbolic ones too, and a symbolic H or W may be resized (to numbers). */
static void test_resize(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    int64_t s;
    assert_int_equal(clg_graph_symbol(g, "S", &s), CLG_OK);
    input(g, "x", DIMS(N, 3, 5, 7));
    input(g, "m", DIMS(5, 7));
    input(g, "q", DIMS(2, N, 3, s, 4));
    input(g, "v", DIMS(9));
    OK(g, CLG_OP_RESIZE, "r0", INS("x"), ATTRS(AL("sizes", 11, 13), as("mode", "linear")), DIMS(N, 3, 11, 13));
    OK(g, CLG_OP_RESIZE, "r1", INS("m"), ATTRS(AL("sizes", 1, 2), af("height_scale", 0.25f)), DIMS(1, 2));
    OK(g, CLG_OP_RESIZE, "r2", INS("q"), ATTRS(AL("sizes", 6, 8), as("nearest_mode", "ceil")), DIMS(2, N, 3, 6, 8));
    ERR(g, CLG_OP_RESIZE, "e0", INS("v"), ATTRS(AL("sizes", 1, 2)), CLG_ERR_INVALID_GRAPH,
        "input 0 [9] must have rank 2 or more");
    ERR(g, CLG_OP_RESIZE, "e1", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "sizes[0] must be 1 to 2^31 - 1, got 0");
    ERR(g, CLG_OP_RESIZE, "e2", INS("x"), ATTRS(AL("sizes", 4, -1)), CLG_ERR_INVALID_GRAPH,
        "sizes[1] must be 1 to 2^31 - 1, got -1");
    ERR(g, CLG_OP_RESIZE, "e3", INS("x"), ATTRS(AL("sizes", 4, 4), af("width_scale", -2.0f)), CLG_ERR_INVALID_GRAPH,
        "width_scale must be finite and positive");
    ERR(g, CLG_OP_RESIZE, "e4", INS("x"), ATTRS(AL("sizes", 4, 4), as("mode", "bicubic")), CLG_ERR_INVALID_GRAPH,
        "attribute mode: \"bicubic\" is not one of clgraph's");
    ERR(g, CLG_OP_RESIZE, "e5", INS("x"), ATTRS(AL("sizes", 4, 4), as("coordinate_transformation_mode", "tf_crop_and_resize")),
        CLG_ERR_INVALID_GRAPH, "coordinate_transformation_mode: \"tf_crop_and_resize\" is not one");
    clg_graph_destroy(g);
}

/* ConvTranspose2D: [N, C, H, W] and [C, M/group, kH, kW] give
 * [N, M, stride·(H-1) + dilation·(kH-1) + 1 - pads]; negative pads grow it. */
static void test_conv_transpose(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 4, 5, 7));
    constant(g, "w", DIMS(4, 3, 3, 2));
    constant(g, "b", DIMS(6));
    constant(g, "b3", DIMS(3));
    OK(g, CLG_OP_CONV_TRANSPOSE, "t0", INS("x", "w"), NO_ATTRS, DIMS(N, 3, 7, 8));
    OK(g, CLG_OP_CONV_TRANSPOSE, "t1", INS("x", "w", "b"),
       ATTRS(AL("strides", 2, 3), AL("pads", 1, 0, -1, 2), AL("dilations", 2, 1), ai("group", 2)), DIMS(N, 6, 13, 18));
    ERR(g, CLG_OP_CONV_TRANSPOSE, "e0", INS("x", "w", "b"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias must have shape [3], got [6]");
    ERR(g, CLG_OP_CONV_TRANSPOSE, "e1", INS("x", "w", "b3"), ATTRS(ai("group", 3)), CLG_ERR_INVALID_GRAPH,
        "input has 4 channels; weight [4, 3, 3, 2] needs [C, M/group, kH, kW] with C = 4 divisible by group 3");
    ERR(g, CLG_OP_CONV_TRANSPOSE, "e2", INS("x", "w"), ATTRS(AL("pads", 4, 0, 4, 0)), CLG_ERR_INVALID_GRAPH,
        "output dimension 2 would be -1");
    ERR(g, CLG_OP_CONV_TRANSPOSE, "e3", INS("x", "w"), ATTRS(AL("strides", 0, 1)), CLG_ERR_INVALID_GRAPH,
        "strides and dilations must be positive");
    ERR(g, CLG_OP_CONV_TRANSPOSE, "e4", INS("b", "w"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "must have rank 4");
    clg_graph_destroy(g);
}

/* ArgMax/ArgMin: the axis dim becomes 1 or goes; [1] for a rank-1 input
 * without keepdims; symbolic dims pass through. */
static void test_argmax(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 5, 7));
    input(g, "v", DIMS(9));
    OK(g, CLG_OP_ARGMAX, "a0", INS("x"), NO_ATTRS, DIMS(1, 5, 7));
    OK(g, CLG_OP_ARGMIN, "a1", INS("x"), ATTRS(ai("axis", -1), ai("keepdims", 0)), DIMS(N, 5));
    OK(g, CLG_OP_ARGMAX, "a2", INS("x"), ATTRS(ai("axis", 0), ai("keepdims", 0)), DIMS(5, 7));
    OK(g, CLG_OP_ARGMIN, "a3", INS("v"), ATTRS(ai("keepdims", 0), ai("select_last_index", 1)), DIMS(1));
    ERR(g, CLG_OP_ARGMAX, "e0", INS("x"), ATTRS(ai("axis", 3)), CLG_ERR_INVALID_GRAPH, "axis 3 is out of range for rank 3");
    ERR(g, CLG_OP_ARGMAX, "e1", INS("x"), ATTRS(ai("select_last_index", 2)), CLG_ERR_INVALID_GRAPH,
        "select_last_index must be 0 or 1, got 2");
    /* the result is i64 */
    assert_int_equal(clg_graph_add_output(g, "a1"), CLG_OK);
    clg_dtype t;
    assert_int_equal(clg_graph_output_dtype(g, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_I64);
    clg_graph_destroy(g);
}

static void test_softmax_and_unary(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4));
    input(g, "c", DIMS(5, 6));
    OK(g, CLG_OP_SOFTMAX, "s", INS("x"), NO_ATTRS, DIMS(N, 3, 4));
    OK(g, CLG_OP_SOFTMAX, "s1", INS("x"), ATTRS(ai("axis", 1)), DIMS(N, 3, 4));
    OK(g, CLG_OP_SOFTMAX, "s2", INS("x"), ATTRS(ai("axis", -2)), DIMS(N, 3, 4));
    OK(g, CLG_OP_SOFTMAX, "sc", INS("c"), ATTRS(ai("axis", 0)), DIMS(5, 6));
    OK(g, CLG_OP_SOFTMAX, "e0", INS("x"), ATTRS(ai("axis", 0)), DIMS(N, 3, 4));
    OK(g, CLG_OP_SOFTMAX, "e1", INS("x"), ATTRS(ai("axis", -3)), DIMS(N, 3, 4));
    ERR(g, CLG_OP_SOFTMAX, "e2", INS("x"), ATTRS(ai("axis", 3)), CLG_ERR_INVALID_GRAPH, "axis 3 is out of range for rank 3");
    ERR(g, CLG_OP_SOFTMAX, "e3", INS("c"), ATTRS(ai("axis", -3)), CLG_ERR_INVALID_GRAPH, "axis -3 is out of range for rank 2");
    /* Element-wise ops keep the shape. */
    OK(g, CLG_OP_RELU, "relu", INS("x"), NO_ATTRS, DIMS(N, 3, 4));
    OK(g, CLG_OP_LEAKY_RELU, "lrelu", INS("x"), ATTRS(af("alpha", 0.2f)), DIMS(N, 3, 4));
    OK(g, CLG_OP_SIGMOID, "sig", INS("c"), NO_ATTRS, DIMS(5, 6));
    OK(g, CLG_OP_TANH, "tanh", INS("x"), NO_ATTRS, DIMS(N, 3, 4));
    OK(g, CLG_OP_CLIP, "clip", INS("x"), ATTRS(af("min", 0.0f), af("max", 6.0f)), DIMS(N, 3, 4));
    OK(g, CLG_OP_CLIP, "clip_eq", INS("x"), ATTRS(af("min", 1.0f), af("max", 1.0f)), DIMS(N, 3, 4));
    OK(g, CLG_OP_CLIP, "clip_int", INS("x"), ATTRS(ai("min", 0)), DIMS(N, 3, 4)); /* an int is a fine float */
    OK(g, CLG_OP_GELU, "gelu", INS("x"), ATTRS(ai("approximate", 1)), DIMS(N, 3, 4));
    OK(g, CLG_OP_IDENTITY, "id", INS("c"), NO_ATTRS, DIMS(5, 6));
    ERR(g, CLG_OP_CLIP, "clip_bad", INS("x"), ATTRS(af("min", 1.0f), af("max", 0.0f)), CLG_ERR_INVALID_GRAPH,
        "min 1 is greater than max 0");
    ERR(g, CLG_OP_RELU, "two", INS("x", "x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 1 inputs, got 2");
    ERR(g, CLG_OP_TANH, "none", NULL, 0, NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 1 inputs, got 0");
    clg_graph_destroy(g);
}

/* Reductions: axes in any order, negative or absent (all), keepdims; a
 * reduction to nothing keeps one dim of 1; a symbolic dim reduces like any
 * other. LayerNorm: scale and bias fit the row's trailing dims. */
static void test_reduce_and_layer_norm(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4, 5));
    input(g, "c", DIMS(5, 6));
    OK(g, CLG_OP_REDUCE_MEAN, "m", INS("x"), ATTRS(AL("axes", -1)), DIMS(N, 3, 4, 1));
    OK(g, CLG_OP_REDUCE_SUM, "s", INS("x"), ATTRS(AL("axes", 3, 1), ai("keepdims", 0)), DIMS(N, 4));
    OK(g, CLG_OP_REDUCE_MAX, "mx", INS("c"), NO_ATTRS, DIMS(1, 1));
    OK(g, CLG_OP_REDUCE_MIN, "mn", INS("c"), ATTRS(ai("keepdims", 0)), DIMS(1));
    OK(g, CLG_OP_REDUCE_LOG_SUM_EXP, "lse", INS("c"), ATTRS(AL("axes", 0), ai("keepdims", 0)), DIMS(6));
    /* over N: the count is the bound batch, which only the kernels need */
    OK(g, CLG_OP_REDUCE_L2, "n0", INS("x"), ATTRS(AL("axes", 0)), DIMS(1, 3, 4, 5));
    OK(g, CLG_OP_REDUCE_L1, "n1", INS("x"), ATTRS(ai("keepdims", 0)), DIMS(1));
    ERR(g, CLG_OP_REDUCE_PROD, "e2", INS("x"), ATTRS(AL("axes", 4)), CLG_ERR_INVALID_GRAPH,
        "axes[0] = 4 is out of range for rank 4");
    ERR(g, CLG_OP_REDUCE_SUM_SQUARE, "e3", INS("x"), ATTRS(AL("axes", 1, -3)), CLG_ERR_INVALID_GRAPH,
        "axes[1] = -3 repeats an axis");
    ERR(g, CLG_OP_REDUCE_LOG_SUM, "e4", INS("x"), ATTRS(AL("axes", 1), ai("keepdims", 2)), CLG_ERR_INVALID_GRAPH,
        "keepdims must be 0 or 1, got 2");
    constant(g, "g45", DIMS(4, 5));
    constant(g, "g5", DIMS(5));
    constant(g, "g145", DIMS(1, 4, 5));
    constant(g, "g1", DIMS(1));
    constant(g, "g3", DIMS(3, 1, 1));
    OK(g, CLG_OP_LAYER_NORM, "ln", INS("x", "g5", "g5"), NO_ATTRS, DIMS(N, 3, 4, 5));
    OK(g, CLG_OP_LAYER_NORM, "ln2", INS("x", "g45", "g5"), ATTRS(ai("axis", 2), af("epsilon", 0.1f)), DIMS(N, 3, 4, 5));
    OK(g, CLG_OP_LAYER_NORM, "ln3", INS("x", "g145"), ATTRS(ai("axis", -3)), DIMS(N, 3, 4, 5));
    OK(g, CLG_OP_LAYER_NORM, "ln4", INS("x", "g1", "g1"), ATTRS(ai("axis", 1)), DIMS(N, 3, 4, 5));
    ERR(g, CLG_OP_LAYER_NORM, "le0", INS("x", "g45"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "scale [4, 5] must match the trailing dims of the normalised dims of [N, 3, 4, 5] (axis 3)");
    ERR(g, CLG_OP_LAYER_NORM, "le1", INS("x", "g3"), ATTRS(ai("axis", 1)), CLG_ERR_INVALID_GRAPH,
        "scale [3, 1, 1] must match");
    ERR(g, CLG_OP_LAYER_NORM, "le2", INS("x", "g5", "g45"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "bias [4, 5] must match");
    OK(g, CLG_OP_LAYER_NORM, "ln5", INS("x", "g5"), ATTRS(ai("axis", 0)), DIMS(N, 3, 4, 5));
    ERR(g, CLG_OP_LAYER_NORM, "le4", INS("x", "g5"), ATTRS(ai("axis", 4)), CLG_ERR_INVALID_GRAPH,
        "axis 4 is out of range for rank 4");
    ERR(g, CLG_OP_LAYER_NORM, "le5", INS("x", "g5"), ATTRS(af("epsilon", -1.0f)), CLG_ERR_INVALID_GRAPH,
        "epsilon must not be negative");
    ERR(g, CLG_OP_LAYER_NORM, "le6", INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 2 to 4 inputs, got 1");
    OK(g, CLG_OP_LAYER_NORM, "lr", INS("x", "g5", "g5", "x"), NO_ATTRS, DIMS(N, 3, 4, 5));
    ERR(g, CLG_OP_LAYER_NORM, "le7", INS("x", "g5", "g5", "g45"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "residual [4, 5] must have the shape of the input [N, 3, 4, 5]");
    OK(g, CLG_OP_LOG_SOFTMAX, "lsm", INS("x"), ATTRS(ai("axis", 2)), DIMS(N, 3, 4, 5));
    clg_graph_destroy(g);
}

static void test_batchnorm(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 8, 4, 4));
    input(g, "f", DIMS(N, 8));
    constant(g, "p", DIMS(8));
    constant(g, "q", DIMS(4));
    constant(g, "p2", DIMS(1, 8));
    OK(g, CLG_OP_BATCHNORM, "bn", INS("x", "p", "p", "p", "p"), NO_ATTRS, DIMS(N, 8, 4, 4));
    OK(g, CLG_OP_BATCHNORM, "bn2", INS("f", "p", "p", "p", "p"), ATTRS(af("epsilon", 1e-3f)), DIMS(N, 8));
    ERR(g, CLG_OP_BATCHNORM, "e1", INS("x", "q", "p", "p", "p"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "scale must have shape [8] (one per channel), got [4]");
    ERR(g, CLG_OP_BATCHNORM, "e2", INS("x", "p", "p", "p", "q"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "var must have shape [8] (one per channel), got [4]");
    ERR(g, CLG_OP_BATCHNORM, "e3", INS("x", "p", "p2", "p", "p"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "bias must have shape [8] (one per channel), got [1, 8]");
    ERR(g, CLG_OP_BATCHNORM, "e4", INS("x", "p", "p", "p"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 5 inputs, got 4");
    ERR(g, CLG_OP_BATCHNORM, "e5", INS("x", "p", "p", "p", "p"), ATTRS(af("epsilon", -1.0f)), CLG_ERR_INVALID_GRAPH,
        "epsilon must not be negative");
    ERR(g, CLG_OP_BATCHNORM, "e6", INS("p", "p", "p", "p", "p"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "input must have rank 2 to 8, got [8]");
    clg_graph_destroy(g);
}

/* NumPy broadcasting for Add, Sub, Mul, Div; N broadcasts against N and 1. */
static void test_broadcasting(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    input(g, "x", DIMS(N, 3, 4));
    input(g, "y", DIMS(N, 1, 4));
    input(g, "n1", DIMS(N, 1));
    input(g, "n5", DIMS(N, 5));
    constant(g, "v4", DIMS(4));
    constant(g, "v1", DIMS(1));
    constant(g, "m31", DIMS(3, 1));
    constant(g, "m15", DIMS(1, 5));
    constant(g, "m35", DIMS(3, 5));
    constant(g, "a213", DIMS(2, 1, 3));
    constant(g, "a41", DIMS(4, 1));
    constant(g, "m34", DIMS(3, 4));
    /* Rank 8 against lower ranks, the dims of 1 alternating. */
    input(g, "r8", DIMS(N, 1, 3, 1, 2, 1, 3, 1));
    constant(g, "r7", DIMS(2, 1, 2, 1, 3, 1, 2));
    OK(g, CLG_OP_ADD, "b8", INS("r8", "r7"), NO_ATTRS, DIMS(N, 2, 3, 2, 2, 3, 3, 2));
    OK(g, CLG_OP_MUL, "b8v", INS("v1", "r8"), NO_ATTRS, DIMS(N, 1, 3, 1, 2, 1, 3, 1));
    ERR(g, CLG_OP_ADD, "b8e", INS("r8", "a41"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
        "shapes [N, 1, 3, 1, 2, 1, 3, 1] and [4, 1] do not broadcast");
    static const clg_op ops[] = {CLG_OP_ADD, CLG_OP_SUB, CLG_OP_MUL, CLG_OP_DIV};
    for (int k = 0; k < 4; k++) {
        clg_op op = ops[k];
        char name[16];
#define NAME(s) (snprintf(name, sizeof name, "%s%d", s, k), name)
        OK(g, op, NAME("a"), INS("x", "v4"), NO_ATTRS, DIMS(N, 3, 4));
        OK(g, op, NAME("b"), INS("v4", "x"), NO_ATTRS, DIMS(N, 3, 4));
        OK(g, op, NAME("c"), INS("y", "m31"), NO_ATTRS, DIMS(N, 3, 4));
        OK(g, op, NAME("d"), INS("v1", "n5"), NO_ATTRS, DIMS(N, 5));
        OK(g, op, NAME("e"), INS("n5", "n5"), NO_ATTRS, DIMS(N, 5));
        OK(g, op, NAME("f"), INS("n1", "n5"), NO_ATTRS, DIMS(N, 5));
        OK(g, op, NAME("g"), INS("n5", "m15"), NO_ATTRS, DIMS(N, 5));
        OK(g, op, NAME("h"), INS("m15", "n5"), NO_ATTRS, DIMS(N, 5));
        OK(g, op, NAME("i"), INS("a213", "a41"), NO_ATTRS, DIMS(2, 4, 3));
        OK(g, op, NAME("j"), INS("x", "m34"), NO_ATTRS, DIMS(N, 3, 4));
        OK(g, op, NAME("k"), INS("n1", "m15"), NO_ATTRS, DIMS(N, 5));
        /* N against 3 gives 3: N must be 1 or 3 when bound. */
        OK(g, op, NAME("e1"), INS("n1", "m35"), NO_ATTRS, DIMS(3, 5));
        ERR(g, op, NAME("e2"), INS("x", "a41"), NO_ATTRS, CLG_ERR_INVALID_GRAPH,
            "shapes [N, 3, 4] and [4, 1] do not broadcast");
        ERR(g, op, NAME("e3"), INS("n5", "v4"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "shapes [N, 5] and [4] do not broadcast");
        ERR(g, op, NAME("e4"), INS("x"), NO_ATTRS, CLG_ERR_INVALID_GRAPH, "takes 2 inputs, got 1");
#undef NAME
    }
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- binding N */

static void expect_output(clg_graph *g, int i, int64_t batch, const char *name, const int64_t *want, int want_rank)
{
    const char *got_name = NULL;
    int rank = -1;
    int64_t dims[CLG_MAX_RANK];
    clg_status s = clg_graph_output_info(g, i, batch, &got_name, &rank, dims);
    if (s) fail_msg("output_info(%d, %lld): %s", i, (long long)batch, clg_graph_errmsg(g));
    assert_string_equal(got_name, name);
    assert_int_equal(rank, want_rank);
    for (int k = 0; k < rank; k++) assert_int_equal(dims[k], want[k]);
    for (int k = rank; k < CLG_MAX_RANK; k++) assert_int_equal(dims[k], 0);
}

static void test_output_info_binds_batch(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    assert_int_equal(clg_graph_load(g, "examples/residual_mlp.clg"), CLG_OK);
    expect_output(g, 0, 3, "y", DIMS(3, 10));
    expect_output(g, 0, 1, "y", DIMS(1, 10));
    expect_output(g, 0, 1000000, "y", DIMS(1000000, 10));
    /* The graph keeps N: the node info is unchanged. */
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(g, clg_graph_node_count(g) - 1, NULL, NULL, &rank, dims), CLG_OK);
    assert_int_equal(dims[0], N);
    /* Errors. */
    assert_int_equal(clg_graph_output_info(g, 0, 0, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "batch must be positive, got 0"));
    assert_int_equal(clg_graph_output_info(g, 0, -3, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_output_info(g, 1, 3, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_output_info(g, -1, 3, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_output_info(NULL, 0, 3, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    /* Every out pointer may be NULL. */
    assert_int_equal(clg_graph_output_info(g, 0, 3, NULL, NULL, NULL), CLG_OK);
    /* A batch that takes a tensor past 2^31 elements is the caller's error. */
    assert_int_equal(clg_graph_output_info(g, 0, (int64_t)1 << 30, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "N=1073741824"));
    clg_graph_destroy(g);

    /* Several outputs; ops whose output depends on N through other dims. */
    g = new_graph();
    input(g, "x", DIMS(N, 3, 4, 5));
    input(g, "s", DIMS(2, 6));
    OK(g, CLG_OP_FLATTEN, "flat", INS("x"), NO_ATTRS, DIMS(N, 60));
    OK(g, CLG_OP_RESHAPE, "rs", INS("x"), ATTRS(AL("shape", -1, 12, 5)), DIMS(N, 12, 5));
    OK(g, CLG_OP_TRANSPOSE, "tr", INS("rs"), ATTRS(AL("perm", 0, 2, 1)), DIMS(N, 5, 12));
    OK(g, CLG_OP_GLOBALAVERAGEPOOL, "gap", INS("x"), NO_ATTRS, DIMS(N, 3, 1, 1));
    OK(g, CLG_OP_RELU, "fixed", INS("s"), NO_ATTRS, DIMS(2, 6));
    constant(g, "w", DIMS(60, 7));
    OK(g, CLG_OP_MATMUL, "mm", INS("flat", "w"), NO_ATTRS, DIMS(N, 7));
    const char *outs[] = {"mm", "tr", "gap", "fixed", "x"};
    for (int i = 0; i < 5; i++) assert_int_equal(clg_graph_add_output(g, outs[i]), CLG_OK);
    assert_int_equal(clg_graph_output_count(g), 5);
    expect_output(g, 0, 7, "mm", DIMS(7, 7));
    expect_output(g, 1, 7, "tr", DIMS(7, 5, 12));
    expect_output(g, 2, 2, "gap", DIMS(2, 3, 1, 1));
    expect_output(g, 3, 9, "fixed", DIMS(2, 6)); /* no N: the batch is ignored */
    expect_output(g, 4, 5, "x", DIMS(5, 3, 4, 5));
    clg_graph_destroy(g);

    /* A graph without N ignores the batch. */
    g = new_graph();
    input(g, "c", DIMS(2, 3));
    OK(g, CLG_OP_SOFTMAX, "y", INS("c"), NO_ATTRS, DIMS(2, 3));
    assert_int_equal(clg_graph_add_output(g, "y"), CLG_OK);
    expect_output(g, 0, 64, "y", DIMS(2, 3));
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_expand_and_tile),
        cmocka_unit_test(test_depth_to_space),
        cmocka_unit_test(test_trilu),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_softmax_and_unary),
        cmocka_unit_test(test_reduce_and_layer_norm),
        cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_broadcasting),
        cmocka_unit_test(test_output_info_binds_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
