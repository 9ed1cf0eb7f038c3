/* The builder API's argument checking: NULL pointers, bad names, unknown
 * attributes, undefined inputs, ops that are not computing ops; errors add
 * nothing; *_destroy(NULL) and friends are no-ops; a built graph prints
 * text that parses back to the same graph. */
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

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_non_null(g);
    return g;
}

static void expect(clg_graph *g, clg_status got, clg_status want, const char *msg)
{
    if (got != want || (msg && !strstr(clg_graph_errmsg(g), msg)))
        fail_msg("status %d \"%s\", expected %d \"%s\"", got, clg_graph_errmsg(g), want, msg ? msg : "");
}

static const int64_t D_N4[2] = {CLG_BATCH, 4};
static const int64_t D_44[2] = {4, 4};
static const float ZEROS[16] = {0};

/* A graph with x: [N, 4] and w: [4, 4]. */
static clg_graph *base_graph(void)
{
    clg_graph *g = new_graph();
    assert_int_equal(clg_graph_add_input(g, "x", 2, D_N4), CLG_OK);
    assert_int_equal(clg_graph_add_constant(g, "w", 2, D_44, ZEROS), CLG_OK);
    return g;
}

/* ---------------------------------------------------------------- no-ops on NULL */

static void test_null_is_a_no_op(void **state)
{
    (void)state;
    clg_graph_destroy(NULL);
    clg_graph_free(NULL, NULL);
    clg_graph_free_tensor(NULL, NULL);
    clg_graph *g = new_graph();
    clg_graph_free(g, NULL);
    clg_graph_free_tensor(g, NULL);
    clg_graph_destroy(g);
    /* The message of a NULL graph is a string, never NULL. */
    assert_non_null(clg_graph_errmsg(NULL));
    /* A fresh graph has no message. */
    g = new_graph();
    assert_string_equal(clg_graph_errmsg(g), "");
    clg_graph_destroy(g);
    /* Counts of a NULL graph are 0. */
    assert_int_equal(clg_graph_node_count(NULL), 0);
    assert_int_equal(clg_graph_input_count(NULL), 0);
    assert_int_equal(clg_graph_output_count(NULL), 0);
}

static void test_status_strings_and_version(void **state)
{
    (void)state;
    static const clg_status all[] = {CLG_OK, CLG_ERR_INVALID_ARGUMENT, CLG_ERR_OUT_OF_MEMORY, CLG_ERR_PARSE,
                                     CLG_ERR_INVALID_GRAPH, CLG_ERR_UNSUPPORTED, CLG_ERR_IO, CLG_ERR_FORMAT,
                                     CLG_ERR_OPENCL, CLG_ERR_DEVICE_NOT_FOUND, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                                     CLG_ERR_BUILD, CLG_ERR_INTERNAL};
    static const char *names[] = {"CLG_OK", "CLG_ERR_INVALID_ARGUMENT", "CLG_ERR_OUT_OF_MEMORY", "CLG_ERR_PARSE",
                                  "CLG_ERR_INVALID_GRAPH", "CLG_ERR_UNSUPPORTED", "CLG_ERR_IO", "CLG_ERR_FORMAT",
                                  "CLG_ERR_OPENCL", "CLG_ERR_DEVICE_NOT_FOUND", "CLG_ERR_OUT_OF_DEVICE_MEMORY",
                                  "CLG_ERR_BUILD", "CLG_ERR_INTERNAL"};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *s = clg_status_string(all[i]);
        assert_non_null(s);
        assert_true(strncmp(s, names[i], strlen(names[i])) == 0);
        assert_int_equal(s[strlen(names[i])], ':');
    }
    assert_non_null(clg_status_string((clg_status)-999));
    assert_non_null(clg_status_string((clg_status)1));
    assert_int_equal(clg_version(), CLG_VERSION_NUMBER);
    /* Op names as the text format spells them. */
    assert_string_equal(clg_op_name(CLG_OP_GEMM), "Gemm");
    assert_string_equal(clg_op_name(CLG_OP_CONV2D), "Conv2D");
    assert_string_equal(clg_op_name(CLG_OP_GLOBALAVERAGEPOOL), "GlobalAveragePool");
    assert_string_equal(clg_op_name(CLG_OP_LEAKY_RELU), "LeakyRelu");
    for (int op = 0; op < CLG_OP_COUNT; op++) assert_non_null(clg_op_name((clg_op)op));
    assert_null(clg_op_name(CLG_OP_COUNT));
    assert_null(clg_op_name((clg_op)-1));
}

/* The library's version is the one CMakeLists.txt's project() line states,
 * read from that file here (tests run in the source tree) rather than
 * through the build's own plumbing, so a hand-edited or stale version in
 * the header or the library fails. */
static void test_version_is_the_project_version(void **state)
{
    (void)state;
    FILE *f = fopen("CMakeLists.txt", "r");
    assert_non_null(f);
    char line[256];
    int major = -1, minor = -1, patch = -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "project(clgraph VERSION %d.%d.%d", &major, &minor, &patch) == 3) break;
    }
    fclose(f);
    if (patch < 0) fail_msg("no 'project(clgraph VERSION X.Y.Z' line in CMakeLists.txt");
    int v = clg_version();
    if (v / 10000 != major || v / 100 % 100 != minor || v % 100 != patch)
        fail_msg("clg_version() %d is not project(VERSION %d.%d.%d)", v, major, minor, patch);
    assert_int_equal(CLG_VERSION_MAJOR, major);
    assert_int_equal(CLG_VERSION_MINOR, minor);
    assert_int_equal(CLG_VERSION_PATCH, patch);
    char text[64];
    snprintf(text, sizeof text, "%d.%d.%d", major, minor, patch);
    assert_string_equal(CLG_VERSION_STRING, text);
    /* The ABI version the SONAME carries: MAJOR, or 0.MINOR before 1.0. */
    if (major == 0) snprintf(text, sizeof text, "0.%d", minor);
    else snprintf(text, sizeof text, "%d", major);
    assert_string_equal(CLG_SOVERSION_STRING, text);
}

/* ---------------------------------------------------------------- create and inputs */

static void test_create_and_inputs(void **state)
{
    (void)state;
    assert_int_equal(clg_graph_create(NULL, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_graph *g = new_graph();
    static const int64_t d5[5] = {CLG_BATCH, 1, 2, 3, 4}, d9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    expect(g, clg_graph_add_input(NULL, "x", 2, D_N4), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_add_input(g, NULL, 2, D_N4), CLG_ERR_INVALID_ARGUMENT, "name is NULL");
    expect(g, clg_graph_add_input(g, "x", 2, NULL), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_add_input(g, "x", 0, D_N4), CLG_ERR_INVALID_ARGUMENT, "rank 0 is outside 1..8");
    expect(g, clg_graph_add_input(g, "x", 9, d9), CLG_ERR_INVALID_ARGUMENT, "rank 9 is outside 1..8");
    expect(g, clg_graph_add_input(g, "x", -1, D_N4), CLG_ERR_INVALID_ARGUMENT, NULL);
    /* Names: letters, digits, _ . / - only, not empty. */
    expect(g, clg_graph_add_input(g, "a b", 2, D_N4), CLG_ERR_INVALID_GRAPH,
           "a name must be non-empty and use only letters, digits and _ . / -");
    expect(g, clg_graph_add_input(g, "", 2, D_N4), CLG_ERR_INVALID_GRAPH, "a name must be non-empty");
    static const char *bad[] = {"x,y", "x#", "x=1", "x:", "(x)", "x\ny", "x\"", "caf\xc3\xa9", "x\ty", "[x]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect(g, clg_graph_add_input(g, bad[i], 2, D_N4), CLG_ERR_INVALID_GRAPH, "a name must be non-empty");
    assert_int_equal(clg_graph_node_count(g), 0);
    /* Shapes. */
    static const int64_t zero[2] = {CLG_BATCH, 0}, neg[2] = {2, -5}, n2[2] = {4, CLG_BATCH}, huge[2] = {65536, 65536};
    expect(g, clg_graph_add_input(g, "x", 2, zero), CLG_ERR_INVALID_GRAPH, "shape [N, 0]: dimension 1 must be positive");
    expect(g, clg_graph_add_input(g, "x", 2, neg), CLG_ERR_INVALID_GRAPH, "dimension 1 must be positive");
    expect(g, clg_graph_add_input(g, "x", 2, huge), CLG_ERR_INVALID_GRAPH, "more than 2^31 elements");
    assert_int_equal(clg_graph_node_count(g), 0);
    /* N may stand anywhere, and other symbols too. */
    assert_int_equal(clg_graph_add_input(g, "n_second", 2, n2), CLG_OK);
    int64_t seq, seq_again, nn;
    assert_int_equal(clg_graph_symbol(g, "S", &seq), CLG_OK);
    assert_int_equal(clg_graph_symbol(g, "S", &seq_again), CLG_OK);
    assert_int_equal(clg_graph_symbol(g, "N", &nn), CLG_OK);
    assert_true(seq < 0 && seq != CLG_BATCH);
    assert_int_equal(seq_again, seq);
    assert_int_equal(nn, CLG_BATCH);
    expect(g, clg_graph_symbol(g, "2S", &seq_again), CLG_ERR_INVALID_ARGUMENT, "symbol '2S'");
    int64_t ns[3] = {CLG_BATCH, seq, 8};
    assert_int_equal(clg_graph_add_input(g, "tokens", 3, ns), CLG_OK);
    char buf[16];
    assert_string_equal(clg_graph_dim_str(g, seq, buf, sizeof buf), "S");
    assert_string_equal(clg_graph_dim_str(g, 12, buf, sizeof buf), "12");
    assert_int_equal(clg_graph_node_count(g), 2);
    clg_graph_destroy(g);
    g = new_graph();
    /* Good inputs; the name is copied. */
    char name[8] = "in.0/a-";
    assert_int_equal(clg_graph_add_input(g, name, 5, d5), CLG_OK);
    name[0] = 'X';
    assert_int_equal(clg_graph_add_input(g, "x", 2, D_N4), CLG_OK);
    expect(g, clg_graph_add_input(g, "x", 2, D_N4), CLG_ERR_INVALID_GRAPH, "node x (Input): duplicate name");
    assert_int_equal(clg_graph_input_count(g), 2);
    const char *got;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_input_info(g, 0, &got, &rank, dims), CLG_OK);
    assert_string_equal(got, "in.0/a-");
    assert_int_equal(rank, 5);
    assert_int_equal(dims[0], CLG_BATCH);
    assert_int_equal(dims[4], 4);
    assert_int_equal(clg_graph_input_info(g, 2, &got, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_input_info(g, -1, &got, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_input_info(NULL, 0, &got, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_input_info(g, 1, NULL, NULL, NULL), CLG_OK);
    clg_graph_destroy(g);
}

static void test_constants(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    float data[4] = {1.5f, -2.0f, 0.25f, 3.0f};
    static const int64_t d22[2] = {2, 2}, dn[2] = {CLG_BATCH, 2}, d0[1] = {0};
    expect(g, clg_graph_add_constant(NULL, "c", 2, d22, data), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_add_constant(g, "c", 2, d22, NULL), CLG_ERR_INVALID_ARGUMENT, "data is NULL");
    expect(g, clg_graph_add_constant(g, NULL, 2, d22, data), CLG_ERR_INVALID_ARGUMENT, "name is NULL");
    expect(g, clg_graph_add_constant(g, "c", 2, NULL, data), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_add_constant(g, "c", 2, dn, data), CLG_ERR_INVALID_GRAPH,
           "a constant cannot have a symbolic dimension");
    expect(g, clg_graph_add_constant(g, "c", 1, d0, data), CLG_ERR_INVALID_GRAPH, "must be positive");
    expect(g, clg_graph_add_constant(g, "c c", 2, d22, data), CLG_ERR_INVALID_GRAPH, "a name must be non-empty");
    assert_int_equal(clg_graph_node_count(g), 0);
    assert_int_equal(clg_graph_add_constant(g, "c", 2, d22, data), CLG_OK);
    data[0] = 99.0f; /* the data was copied */
    expect(g, clg_graph_add_constant(g, "c", 2, d22, data), CLG_ERR_INVALID_GRAPH, "duplicate name");
    assert_int_equal(clg_graph_add_output(g, "c"), CLG_OK);
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    assert_string_equal(text, "const c: f32[2, 2] = [1.5, -2, 0.25, 3]\noutput c\n");
    clg_graph_free(g, text);
    /* Constants are not inputs. */
    assert_int_equal(clg_graph_input_count(g), 0);
    clg_op op;
    assert_int_equal(clg_graph_node_info(g, 0, &op, NULL, NULL, NULL), CLG_OK);
    assert_int_equal(op, CLG_OP_CONSTANT);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- nodes */

static void test_add_node_errors(void **state)
{
    (void)state;
    clg_graph *g = base_graph();
    const char *xw[] = {"x", "w"};
    const char *x[] = {"x"};
    clg_attr tb = {"transB", CLG_ATTR_INT, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(NULL, CLG_OP_GEMM, "y", xw, 2, NULL, 0), CLG_ERR_INVALID_ARGUMENT, NULL);
    /* Only computing ops. */
    expect(g, clg_graph_add_node(g, CLG_OP_INPUT, "y", NULL, 0, NULL, 0), CLG_ERR_INVALID_ARGUMENT,
           "is not a computing op (use add_input/add_constant)");
    expect(g, clg_graph_add_node(g, CLG_OP_CONSTANT, "y", NULL, 0, NULL, 0), CLG_ERR_INVALID_ARGUMENT,
           "is not a computing op");
    expect(g, clg_graph_add_node(g, CLG_OP_COUNT, "y", x, 1, NULL, 0), CLG_ERR_INVALID_ARGUMENT, "is not a computing op");
    expect(g, clg_graph_add_node(g, (clg_op)-1, "y", x, 1, NULL, 0), CLG_ERR_INVALID_ARGUMENT, "is not a computing op");
    expect(g, clg_graph_add_node(g, (clg_op)1000, NULL, x, 1, NULL, 0), CLG_ERR_INVALID_ARGUMENT, "node (null)");
    /* Arrays. */
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "y", NULL, 1, NULL, 0), CLG_ERR_INVALID_ARGUMENT,
           "node y (Relu): bad input or attribute array");
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "y", x, -1, NULL, 0), CLG_ERR_INVALID_ARGUMENT, "bad input");
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, NULL, 1), CLG_ERR_INVALID_ARGUMENT, "bad input");
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &tb, -1), CLG_ERR_INVALID_ARGUMENT, "bad input");
    /* Names. */
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, NULL, x, 1, NULL, 0), CLG_ERR_INVALID_ARGUMENT, "name is NULL");
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "", x, 1, NULL, 0), CLG_ERR_INVALID_GRAPH, "a name must be non-empty");
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "my relu", x, 1, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "node my relu (Relu): a name must be non-empty and use only letters, digits and _ . / -");
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "x", x, 1, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "node x (Relu): duplicate name");
    /* Inputs. */
    const char *undefined[] = {"x", "nope"};
    expect(g, clg_graph_add_node(g, CLG_OP_ADD, "y", undefined, 2, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "node y (Add): input 'nope' is not defined");
    const char *with_null[] = {"x", NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_ADD, "y", with_null, 2, NULL, 0), CLG_ERR_INVALID_ARGUMENT,
           "node y (Add): input 1 is NULL");
    const char *self[] = {"y"};
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "y", self, 1, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "input 'y' is not defined");
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", x, 1, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "node y (Gemm): takes 2 to 3 inputs, got 1");
    /* Attributes. */
    clg_attr unknown = {"gamma", CLG_ATTR_FLOAT, 0, {0}, 1.0f, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &unknown, 1), CLG_ERR_INVALID_GRAPH,
           "node y (Gemm): unknown attribute 'gamma'");
    clg_attr other_op = {"axis", CLG_ATTR_INT, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &other_op, 1), CLG_ERR_INVALID_GRAPH,
           "unknown attribute 'axis'");
    clg_attr wrong_case = {"TransB", CLG_ATTR_INT, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &wrong_case, 1), CLG_ERR_INVALID_GRAPH,
           "unknown attribute 'TransB'");
    clg_attr no_name = {NULL, CLG_ATTR_INT, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &no_name, 1), CLG_ERR_INVALID_GRAPH,
           "unknown attribute ''");
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "y", x, 1, &tb, 1), CLG_ERR_INVALID_GRAPH,
           "node y (Relu): unknown attribute 'transB'");
    clg_attr tb_float = {"transB", CLG_ATTR_FLOAT, 0, {0}, 1.0f, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &tb_float, 1), CLG_ERR_INVALID_GRAPH,
           "attribute transB must be an integer");
    clg_attr alpha_list = {"alpha", CLG_ATTR_INTS, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &alpha_list, 1), CLG_ERR_INVALID_GRAPH,
           "attribute alpha must be a number");
    clg_attr perm_int = {"perm", CLG_ATTR_INT, 1, {0}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_TRANSPOSE, "y", x, 1, &perm_int, 1), CLG_ERR_INVALID_GRAPH,
           "attribute perm must be a list of integers");
    clg_attr perm_long = {"perm", CLG_ATTR_INTS, 9, {0, 1, 2, 3, 4, 5, 6, 7, 8}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_TRANSPOSE, "y", x, 1, &perm_long, 1), CLG_ERR_INVALID_GRAPH,
           "attribute perm needs at most 8 values, got 9");
    clg_attr perm_neg = {"perm", CLG_ATTR_INTS, -1, {0}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_TRANSPOSE, "y", x, 1, &perm_neg, 1), CLG_ERR_INVALID_GRAPH,
           "attribute perm needs at most 8 values, got -1");
    clg_attr strides3 = {"strides", CLG_ATTR_INTS, 3, {1, 1, 1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_MAXPOOL, "y", x, 1, &strides3, 1), CLG_ERR_INVALID_GRAPH,
           "attribute strides needs 2 values, got 3");
    clg_attr bad_kind = {"transB", (clg_attr_kind)7, 1, {1}, 0, NULL};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &bad_kind, 1), CLG_ERR_INVALID_GRAPH,
           "attribute transB must be an integer");
    /* Shape errors. */
    static const int64_t d35[2] = {3, 5};
    assert_int_equal(clg_graph_add_constant(g, "w35", 2, d35, ZEROS), CLG_OK);
    const char *xw35[] = {"x", "w35"};
    expect(g, clg_graph_add_node(g, CLG_OP_GEMM, "y", xw35, 2, NULL, 0), CLG_ERR_INVALID_GRAPH,
           "node y (Gemm): input has 4 features, weight expects 3");
    /* None of this added anything, and messages never name a line. */
    assert_int_equal(clg_graph_node_count(g), 3);
    assert_null(strstr(clg_graph_errmsg(g), "line"));
    /* The name y is still free. */
    assert_int_equal(clg_graph_add_node(g, CLG_OP_GEMM, "y", xw, 2, &tb, 1), CLG_OK);
    assert_int_equal(clg_graph_node_count(g), 4);
    clg_graph_destroy(g);
}

static void test_outputs(void **state)
{
    (void)state;
    clg_graph *g = base_graph();
    expect(g, clg_graph_add_output(NULL, "x"), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_add_output(g, NULL), CLG_ERR_INVALID_ARGUMENT, "output name is NULL");
    expect(g, clg_graph_add_output(g, "nope"), CLG_ERR_INVALID_GRAPH, "output 'nope' is not defined");
    expect(g, clg_graph_add_output(g, ""), CLG_ERR_INVALID_GRAPH, "output '' is not defined");
    assert_int_equal(clg_graph_add_output(g, "w"), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "x"), CLG_OK);
    expect(g, clg_graph_add_output(g, "w"), CLG_ERR_INVALID_GRAPH, "output 'w' is listed twice");
    assert_int_equal(clg_graph_output_count(g), 2);
    const char *name;
    assert_int_equal(clg_graph_output_info(g, 0, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "w");
    assert_int_equal(clg_graph_output_info(g, 1, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "x");
    clg_graph_destroy(g);
}

static void test_inspection_arguments(void **state)
{
    (void)state;
    clg_graph *g = base_graph();
    clg_op op;
    const char *name;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(NULL, 0, &op, &name, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_info(g, -1, &op, &name, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_info(g, 2, &op, &name, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_info(g, 1, NULL, NULL, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_node_info(g, 1, &op, &name, &rank, dims), CLG_OK);
    assert_int_equal(op, CLG_OP_CONSTANT);
    assert_string_equal(name, "w");
    assert_int_equal(rank, 2);
    assert_int_equal(clg_graph_output_info(g, 0, 1, &name, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    clg_graph_destroy(g);
}

/* A built graph prints canonical text that parses back to the same text. */
static void test_built_graph_round_trips(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    static const int64_t dx[4] = {CLG_BATCH, 2, 6, 6}, dw[4] = {4, 2, 3, 3}, d4[1] = {4}, dfc[2] = {3, 16};
    assert_int_equal(clg_graph_add_input(g, "img", 4, dx), CLG_OK);
    float w[72];
    for (int i = 0; i < 72; i++) w[i] = (float)i / 8.0f - 4.0f;
    assert_int_equal(clg_graph_add_constant(g, "conv.w", 4, dw, w), CLG_OK);
    const float b[4] = {0.1f, -0.2f, 0.3f, 1e-3f};
    assert_int_equal(clg_graph_add_constant(g, "conv.b", 1, d4, b), CLG_OK);
    const char *conv_in[] = {"img", "conv.w", "conv.b"};
    clg_attr conv_attrs[2] = {{"pads", CLG_ATTR_INTS, 4, {1, 1, 1, 1}, 0, NULL}, {"strides", CLG_ATTR_INTS, 2, {1, 1}, 0, NULL}};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_CONV2D, "conv", conv_in, 3, conv_attrs, 2), CLG_OK);
    clg_attr lr = {"alpha", CLG_ATTR_FLOAT, 0, {0}, 0.125f, NULL};
    const char *c[] = {"conv"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_LEAKY_RELU, "act", c, 1, &lr, 1), CLG_OK);
    clg_attr pool[2] = {{"kernel_shape", CLG_ATTR_INTS, 2, {2, 2}, 0, NULL}, {"strides", CLG_ATTR_INTS, 2, {3, 3}, 0, NULL}};
    const char *a[] = {"act"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_MAXPOOL, "pool", a, 1, pool, 2), CLG_OK);
    const char *p[] = {"pool"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_FLATTEN, "flat", p, 1, NULL, 0), CLG_OK);
    float fc[48];
    for (int i = 0; i < 48; i++) fc[i] = (float)(i % 7) - 3.0f;
    assert_int_equal(clg_graph_add_constant(g, "fc", 2, dfc, fc), CLG_OK);
    const char *f[] = {"flat", "fc"};
    clg_attr gemm[2] = {{"transB", CLG_ATTR_INT, 1, {1}, 0, NULL}, {"alpha", CLG_ATTR_FLOAT, 0, {0}, 0.5f, NULL}};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_GEMM, "logits", f, 2, gemm, 2), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "logits"), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "pool"), CLG_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(clg_graph_print(g, &text, &len), CLG_OK);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "input img: f32[N, 2, 6, 6]\n"));
    assert_non_null(strstr(text, "const conv.b: f32[4] = [0.1, -0.2, 0.3, 0.001]\n"));
    assert_non_null(strstr(text, "conv = Conv2D(img, conv.w, conv.b) pads=[1, 1, 1, 1]\n")); /* strides default */
    assert_non_null(strstr(text, "act = LeakyRelu(conv) alpha=0.125\n"));
    assert_non_null(strstr(text, "pool = MaxPool(act) kernel_shape=[2, 2] strides=[3, 3]\n"));
    assert_non_null(strstr(text, "logits = Gemm(flat, fc) alpha=0.5 transB=1\n"));
    assert_non_null(strstr(text, "output logits\noutput pool\n"));
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_output_info(g, 0, 5, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], 5);
    assert_int_equal(dims[1], 3);

    clg_graph *h = new_graph();
    assert_int_equal(clg_graph_parse(h, text, len, NULL), CLG_OK);
    char *again = NULL;
    assert_int_equal(clg_graph_print(h, &again, NULL), CLG_OK);
    assert_string_equal(again, text);
    assert_int_equal(clg_graph_node_count(h), clg_graph_node_count(g));
    for (int i = 0; i < clg_graph_node_count(g); i++) {
        clg_op o1, o2;
        const char *n1, *n2;
        int r1, r2;
        int64_t d1[CLG_MAX_RANK], d2[CLG_MAX_RANK];
        assert_int_equal(clg_graph_node_info(g, i, &o1, &n1, &r1, d1), CLG_OK);
        assert_int_equal(clg_graph_node_info(h, i, &o2, &n2, &r2, d2), CLG_OK);
        assert_int_equal(o1, o2);
        assert_string_equal(n1, n2);
        assert_int_equal(r1, r2);
        assert_memory_equal(d1, d2, sizeof d1);
    }
    clg_graph_free(g, text);
    clg_graph_free(h, again);
    clg_graph_destroy(g);
    clg_graph_destroy(h);
}

/* Errors do not stick: a successful call after a failed one works, and the
 * message of the last error stays until the next one. */

/* Typed inputs and constants from the builder print as the text format
 * writes them and parse back to the same graph. */
static void test_typed_values_round_trip(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const int64_t ids_dims[2] = {CLG_BATCH, 16}, table_dims[2] = {3, 2}, sel_dims[1] = {2};
    expect(g, clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I64, 2, ids_dims), CLG_OK, NULL);
    expect(g, clg_graph_add_input_typed(g, "mask", CLG_DTYPE_BOOL, 2, ids_dims), CLG_OK, NULL);
    const float table[6] = {0, 1, 2, 3, 4, 5};
    expect(g, clg_graph_add_constant(g, "table", 2, table_dims, table), CLG_OK, NULL);
    const int32_t sel[2] = {-1, 16777216};
    expect(g, clg_graph_add_constant_typed(g, "sel", CLG_DTYPE_I32, 1, sel_dims, sel), CLG_OK, NULL);
    const char *const gin[] = {"table", "ids"};
    clg_attr to = {"to", CLG_ATTR_STRING, 1, {0}, 0.0f, "i64"};
    expect(g, clg_graph_add_node(g, CLG_OP_GATHER, "emb", gin, 2, NULL, 0), CLG_OK, NULL);
    const char *const cin[] = {"mask"};
    expect(g, clg_graph_add_node(g, CLG_OP_CAST, "m64", cin, 1, &to, 1), CLG_OK, NULL);
    expect(g, clg_graph_add_output(g, "emb"), CLG_OK, NULL);
    expect(g, clg_graph_add_output(g, "m64"), CLG_OK, NULL);
    expect(g, clg_graph_add_output(g, "sel"), CLG_OK, NULL);
    char *text = NULL;
    expect(g, clg_graph_print(g, &text, NULL), CLG_OK, NULL);
    const char *want = "input ids: i64[N, 16]\n"
                       "input mask: bool[N, 16]\n"
                       "const table: f32[3, 2] = [0, 1, 2, 3, 4, 5]\n"
                       "const sel: i32[2] = [-1, 16777216]\n"
                       "emb = Gather(table, ids)\n"
                       "m64 = Cast(mask) to=\"i64\"\n"
                       "output emb\n"
                       "output m64\n"
                       "output sel\n";
    assert_string_equal(text, want);
    clg_dtype d;
    expect(g, clg_graph_output_dtype(g, 1, &d), CLG_OK, NULL);
    assert_int_equal(d, CLG_DTYPE_I64);
    expect(g, clg_graph_output_dtype(g, 3, &d), CLG_ERR_INVALID_ARGUMENT, NULL);
    expect(g, clg_graph_input_dtype(g, 1, NULL), CLG_ERR_INVALID_ARGUMENT, NULL);
    clg_graph *h = new_graph();
    expect(h, clg_graph_parse(h, text, strlen(text), NULL), CLG_OK, NULL);
    char *again = NULL;
    expect(h, clg_graph_print(h, &again, NULL), CLG_OK, NULL);
    assert_string_equal(again, want);
    expect(h, clg_graph_input_dtype(h, 1, &d), CLG_OK, NULL);
    assert_int_equal(d, CLG_DTYPE_BOOL);
    clg_graph_free(h, again);
    clg_graph_free(g, text);
    clg_graph_destroy(h);
    clg_graph_destroy(g);
}

static void test_errors_do_not_stick(void **state)
{
    (void)state;
    clg_graph *g = base_graph();
    const char *x[] = {"x"};
    expect(g, clg_graph_add_node(g, CLG_OP_RELU, "", x, 1, NULL, 0), CLG_ERR_INVALID_GRAPH, NULL);
    assert_int_equal(clg_graph_add_node(g, CLG_OP_RELU, "r", x, 1, NULL, 0), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "r"), CLG_OK);
    char *t = NULL;
    assert_int_equal(clg_graph_print(g, &t, NULL), CLG_OK);
    assert_string_equal(t, "input x: f32[N, 4]\nconst w: f32[4, 4] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n"
                           "r = Relu(x)\noutput r\n");
    clg_graph_free(g, t);
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_a_no_op),
        cmocka_unit_test(test_status_strings_and_version),
        cmocka_unit_test(test_version_is_the_project_version),
        cmocka_unit_test(test_create_and_inputs),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_add_node_errors),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_inspection_arguments),
        cmocka_unit_test(test_built_graph_round_trips),
        cmocka_unit_test(test_typed_values_round_trip),
        cmocka_unit_test(test_errors_do_not_stick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
