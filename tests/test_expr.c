/* The Elementwise expression language (compiler/expr.c) and the op around
 * it: parse/print round trips, precedence, errors with their positions,
 * evaluation against hand-computed values and against the standalone
 * reference ops, the generated OpenCL C as text, and the op in the text
 * format and the builder. No device needed. */
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

#include "expr.h"
#include "epilogue.h"
#include "gemm.h"

static clg_expr expr; /* 16 KiB: not on the stack of every test */

static void parse_ok(const char *text)
{
    char err[256];
    if (clg_expr_parse(&expr, text, err, sizeof err) != CLG_OK) fail_msg("\"%s\": %s", text, err);
}

static const char *canonical(const char *text)
{
    static char buf[4 * CLG_MAX_STRING_ATTR];
    parse_ok(text);
    size_t n = clg_expr_print(&expr, buf, sizeof buf);
    assert_true(n < sizeof buf);
    assert_int_equal(strlen(buf), n);
    return buf;
}

/* ---------------------------------------------------------------- round trips */

static void test_round_trips(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"x0", "x0"},
        {"  x15\t", "x15"},
        {"x0+x1*x2", "x0 + x1 * x2"},
        {"(x0+x1)*x2", "(x0 + x1) * x2"},
        {"x0*(x1+x2)", "x0 * (x1 + x2)"},
        {"((x0))", "x0"},
        {"(x0-x1)-x2", "x0 - x1 - x2"},
        {"x0-(x1-x2)", "x0 - (x1 - x2)"},
        {"x0-(x1+x2)", "x0 - (x1 + x2)"},
        {"x0+(x1+x2)", "x0 + (x1 + x2)"}, /* a different program from x0 + x1 + x2 */
        {"x0+(x1*x2)", "x0 + x1 * x2"},
        {"(x0*x1)/x2", "x0 * x1 / x2"},
        {"x0/(x1*x2)", "x0 / (x1 * x2)"},
        {"x0/x1/x2", "x0 / x1 / x2"},
        {"-x0", "-x0"},
        {"--x0", "-(-x0)"},
        {"-(-x0)", "-(-x0)"},
        {"-(x0+x1)", "-(x0 + x1)"},
        {"-x0*x1", "-x0 * x1"},
        {"-(x0*x1)", "-(x0 * x1)"},
        {"x0*-x1", "x0 * -x1"},
        {"x0 - -2", "x0 - -2"},
        {"relu( x0 + x1 )", "relu(x0 + x1)"},
        {"leaky_relu(x0,0.2)", "leaky_relu(x0, 0.2)"},
        {"clip(x0,-6,6)", "clip(x0, -6, 6)"},
        {"clip(x0, -inf, inf)", "clip(x0, -inf, inf)"},
        {"min(x0, nan)", "min(x0, nan)"},
        {"max(min(x0,x1),x2)", "max(min(x0, x1), x2)"},
        {"gelu(x0)+gelu_tanh(x1)+sigmoid(x2)+tanh(x3)", "gelu(x0) + gelu_tanh(x1) + sigmoid(x2) + tanh(x3)"},
        {"-relu(x0)", "-relu(x0)"},
        {"exp(log(sqrt(abs(x0))))", "exp(log(sqrt(abs(x0))))"},
        {"floor(x0)+ceil(x1)-round(x2)*sign(x3)", "floor(x0) + ceil(x1) - round(x2) * sign(x3)"},
        {"erf(x0)/pow(x1,3)", "erf(x0) / pow(x1, 3)"},
        {"hard_sigmoid(x0,0.2,0.5)*hard_swish(x1)", "hard_sigmoid(x0, 0.2, 0.5) * hard_swish(x1)"},
        {"elu(x0,1)+selu(x1,1.6732632,1.050701)+celu(x2,2)", "elu(x0, 1) + selu(x1, 1.6732632, 1.050701) + celu(x2, 2)"},
        {"softplus(x0)+softsign(x1)+mish(x2)+thresholded_relu(x3,1)",
         "softplus(x0) + softsign(x1) + mish(x2) + thresholded_relu(x3, 1)"},
        {"where(and(eq(x0,x1),not(lt(x0,x2))),x3,-x3)", "where(and(eq(x0, x1), not(lt(x0, x2))), x3, -x3)"},
        {"or(gt(x0,x1),xor(le(x0,x1),ge(x0,x2)))", "or(gt(x0, x1), xor(le(x0, x1), ge(x0, x2)))"},
        {"2*(x0)", "2 * x0"},
        /* numbers: the shortest text that reads back as the same float */
        {"1.50", "1.5"},
        {"100", "1e+02"},
        {"0.1", "0.1"},
        {"1e-5", "1e-05"},
        {".5", "0.5"},
        {"5.", "5"},
        {"3.4028235e38", "3.4028235e+38"},
        {"0.333333343", "0.33333334"},
        {"1E-50", "0"},
        {"007", "7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char first[256];
        snprintf(first, sizeof first, "%s", canonical(cases[i][0]));
        if (strcmp(first, cases[i][1]) != 0)
            fail_msg("\"%s\" printed \"%s\", want \"%s\"", cases[i][0], first, cases[i][1]);
        /* The canonical text parses to the same program and prints itself. */
        clg_expr a = expr;
        assert_string_equal(canonical(first), first);
        assert_int_equal(a.n_nodes, expr.n_nodes);
        assert_int_equal(a.inputs_used, expr.inputs_used);
        for (int k = 0; k < a.n_nodes; k++) {
            assert_int_equal(a.nodes[k].op, expr.nodes[k].op);
            assert_int_equal(a.nodes[k].input, expr.nodes[k].input);
            assert_memory_equal(a.nodes[k].args, expr.nodes[k].args, sizeof a.nodes[k].args);
            assert_memory_equal(&a.nodes[k].value, &expr.nodes[k].value, sizeof(float));
        }
    }
}

static void test_inputs_used(void **state)
{
    (void)state;
    parse_ok("x3 * x0 + x15");
    assert_int_equal(expr.inputs_used, (1u << 0) | (1u << 3) | (1u << 15));
    parse_ok("2");
    assert_int_equal(expr.inputs_used, 0);
}

/* ---------------------------------------------------------------- evaluation */

static double eval(const char *text, const double *x)
{
    static double values[CLG_EXPR_MAX_NODES];
    parse_ok(text);
    return clg_expr_eval(&expr, x, values);
}

static void check_value(const char *text, const double *x, double want)
{
    double got = eval(text, x);
    if (isnan(want) ? !isnan(got) : got != want) fail_msg("%s = %.17g, want %.17g", text, got, want);
}

static void check_near(const char *text, const double *x, double want)
{
    double got = eval(text, x);
    if (!(fabs(got - want) <= 1e-15)) fail_msg("%s = %.17g, want %.17g", text, got, want);
}

static void test_precedence(void **state)
{
    (void)state;
    check_value("2 + 3 * 4", NULL, 14);
    check_value("(2 + 3) * 4", NULL, 20);
    check_value("2 - 3 - 4", NULL, -5);
    check_value("2 - (3 - 4)", NULL, 3);
    check_value("24 / 4 / 2", NULL, 3);
    check_value("24 / (4 / 2)", NULL, 12);
    check_value("-2 * 3", NULL, -6);
    check_value("-(2 + 3)", NULL, -5);
    check_value("2 * -3 + 1", NULL, -5);
    check_value("8 / -2 - -1", NULL, -3);
    check_value("--2", NULL, 2);
    check_value("1 + 2 * 3 - 4 / 2", NULL, 5);
}

static void test_evaluation(void **state)
{
    (void)state;
    const double x[] = {3, -2, 0.5, NAN, -1, 1, 7};
    check_value("x0 * x1 + x0 / x1", x, -7.5);
    check_value("x0 - x1 * x2", x, 4);
    check_value("relu(x1)", x, 0);
    check_value("relu(x0)", x, 3);
    check_value("relu(x3)", x, NAN); /* NaN passes through, as Relu's */
    check_value("leaky_relu(x1, 0.25)", x, -0.5);
    check_value("leaky_relu(x1, 0.1)", x, -2 * (double)0.1f); /* the slope is a float */
    check_value("leaky_relu(x0, 0.1)", x, 3);
    check_value("sigmoid(0)", x, 0.5);
    check_near("sigmoid(x0)", x, 1 / (1 + exp(-3.0)));
    check_value("tanh(x2)", x, tanh(0.5));
    check_value("clip(x6, -6, 6)", x, 6);
    check_value("clip(-x6, -6, 6)", x, -6);
    check_value("clip(x2, -6, 6)", x, 0.5);
    check_value("clip(x3, -6, 6)", x, NAN);
    check_value("clip(x0, -inf, inf)", x, 3);
    check_near("gelu(x5)", x, 0.8413447460685429);
    check_near("gelu(x4)", x, -0.15865525393145707);
    check_near("gelu_tanh(x5)", x, 0.8411919906082768);
    check_value("gelu(0)", x, 0);
    check_value("min(x0, x1)", x, -2);
    check_value("max(x0, x1)", x, 3);
    check_value("min(x3, x1)", x, NAN); /* NaN either side wins, as numpy.minimum */
    check_value("min(x1, x3)", x, NAN);
    check_value("max(x3, x1)", x, NAN);
    check_value("max(x1, x3)", x, NAN);
    check_value("1 / 0", x, INFINITY);
}

/* The new functions' values, worked out by hand (or from the definition
 * with libm) at ordinary and edge arguments. */
static void test_evaluation_math(void **state)
{
    (void)state;
    const double x[] = {3, -2, 0.5, NAN, -1, 1, 7, INFINITY, -INFINITY, 0, -0.0, 1000, -1000, 2.5, -2.5, 1.5};
    check_value("exp(x9)", x, 1);
    check_value("exp(x8)", x, 0);
    check_value("log(x5)", x, 0);
    check_value("log(x9)", x, -INFINITY);
    check_value("log(x1)", x, NAN);
    check_value("sqrt(9)", x, 3);
    check_value("sqrt(x1)", x, NAN);
    check_value("abs(x1)", x, 2);
    check_value("abs(x8)", x, INFINITY);
    check_value("floor(x14)", x, -3);
    check_value("ceil(x14)", x, -2);
    /* round: halves to even */
    check_value("round(x13)", x, 2);
    check_value("round(x14)", x, -2);
    check_value("round(x15)", x, 2);
    check_value("round(x2)", x, 0);
    check_value("round(2.6)", x, 3);
    check_value("round(x3)", x, NAN);
    check_value("sign(x0)", x, 1);
    check_value("sign(x1)", x, -1);
    check_value("sign(x9)", x, 0);
    check_value("sign(x3)", x, NAN);
    check_value("sign(x8)", x, -1);
    check_value("erf(x9)", x, 0);
    check_value("erf(x7)", x, 1);
    check_value("pow(x1, 3)", x, -8);
    check_value("pow(x0, 0.5)", x, sqrt(3.0));
    check_value("pow(x1, 0.5)", x, NAN);
    check_value("pow(x9, -1)", x, INFINITY);
    check_value("pow(x3, 0)", x, 1);
    /* hard_sigmoid(v, 0.5, 0.25) = clip(v/2 + 1/4, 0, 1) */
    check_value("hard_sigmoid(x2, 0.5, 0.25)", x, 0.5);
    check_value("hard_sigmoid(x0, 0.5, 0.25)", x, 1);
    check_value("hard_sigmoid(x1, 0.5, 0.25)", x, 0);
    check_value("hard_sigmoid(x3, 0.5, 0.25)", x, NAN);
    /* hard_swish(v) = v clip(v/6 + 1/2, 0, 1) */
    check_value("hard_swish(x0)", x, 3);
    check_near("hard_swish(x5)", x, 2.0 / 3);
    check_value("hard_swish(-3)", x, 0);
    check_value("hard_swish(x8)", x, 0);
    check_value("hard_swish(x7)", x, INFINITY);
    check_value("hard_swish(x3)", x, NAN);
    check_near("elu(x4, 0.5)", x, 0.5 * (exp(-1.0) - 1));
    check_value("elu(x0, 0.5)", x, 3);
    check_value("elu(x8, 0.5)", x, -0.5);
    check_value("elu(x3, 0.5)", x, NAN);
    check_near("selu(x4, 2, 3)", x, 3 * 2 * (exp(-1.0) - 1));
    check_value("selu(x0, 2, 3)", x, 9);
    check_value("selu(x9, 2, 3)", x, 0);
    check_near("celu(x4, 2)", x, 2 * (exp(-0.5) - 1));
    check_value("celu(x0, 2)", x, 3);
    check_value("celu(x8, 2)", x, -2);
    check_near("celu(x0, -2)", x, 3); /* max(0, 3) + min(0, -2 (e^-1.5 - 1) > 0) */
    check_near("softplus(x9)", x, log(2.0));
    check_near("softplus(x1)", x, log(1 + exp(-2.0)));
    check_value("softplus(x11)", x, 1000); /* no overflow: exp(1000) is inf */
    check_value("softplus(x12)", x, 0);
    check_value("softplus(x7)", x, INFINITY);
    check_value("softplus(x8)", x, 0);
    check_value("softplus(x3)", x, NAN);
    check_value("softsign(x0)", x, 0.75);
    check_value("softsign(x1)", x, -2.0 / 3);
    check_near("mish(x5)", x, tanh(log(1 + exp(1.0))));
    check_value("mish(x11)", x, 1000);
    check_value("mish(x9)", x, 0);
    check_value("thresholded_relu(x0, 3)", x, 0); /* strictly above alpha */
    check_value("thresholded_relu(x6, 3)", x, 7);
    check_value("thresholded_relu(x3, 3)", x, NAN);
    /* trigonometric and hyperbolic, and classification */
    check_value("sin(x9)", x, 0);
    check_value("cos(x9)", x, 1);
    check_near("sin(x0)", x, sin(3.0));
    check_near("atan(x1)", x, atan(-2.0));
    check_near("acosh(x0)", x, acosh(3.0));
    check_value("acos(x0)", x, NAN); /* outside [-1, 1] */
    check_value("atanh(x3)", x, NAN);
    check_value("tanh(x7)", x, 1);
    check_value("sinh(x8)", x, -INFINITY);
    check_value("isnan(x3)", x, 1);
    check_value("isnan(x7)", x, 0);
    check_value("isinf(x8)", x, 1);
    check_value("isinf(x3)", x, 0);
    check_value("isinf(x0)", x, 0);
    /* comparisons and logic: 1 or 0, NaN compares false, nonzero is true */
    check_value("eq(x0, 3)", x, 1);
    check_value("eq(x3, x3)", x, 0);
    check_value("eq(x9, x10)", x, 1); /* 0 == -0 */
    check_value("lt(x1, x0)", x, 1);
    check_value("lt(x0, x0)", x, 0);
    check_value("le(x0, x0)", x, 1);
    check_value("gt(x3, x0)", x, 0);
    check_value("ge(x0, x3)", x, 0);
    check_value("ge(x7, x0)", x, 1);
    check_value("not(x9)", x, 1);
    check_value("not(x1)", x, 0);
    check_value("not(x3)", x, 0);
    check_value("and(x0, x1)", x, 1);
    check_value("and(x0, x9)", x, 0);
    check_value("or(x9, x10)", x, 0);
    check_value("or(x9, x3)", x, 1);
    check_value("xor(x0, x1)", x, 0);
    check_value("xor(x0, x9)", x, 1);
    check_value("where(x5, x0, x1)", x, 3);
    check_value("where(x9, x0, x1)", x, -2);
    check_value("where(x3, x0, x1)", x, 3);
    check_value("inf - inf", x, NAN);
    check_value("x0 * nan", x, NAN);
}

/* Each function gives bit for bit what its standalone op gives in the
 * reference executor, special values included. */
static void test_same_as_standalone_ops(void **state)
{
    (void)state;
    static const struct { const char *op, *expr; } pairs[] = {
        {"Relu(x)", "relu(x0)"},
        {"LeakyRelu(x) alpha=0.1", "leaky_relu(x0, 0.1)"},
        {"Sigmoid(x)", "sigmoid(x0)"},
        {"Tanh(x)", "tanh(x0)"},
        {"Clip(x) min=-0.5 max=0.75", "clip(x0, -0.5, 0.75)"},
        {"Clip(x)", "clip(x0, -inf, inf)"},
        {"Gelu(x)", "gelu(x0)"},
        {"Gelu(x) approximate=1", "gelu_tanh(x0)"},
        {"Identity(x)", "x0"},
    };
    float in[] = {NAN, -INFINITY, INFINITY, -0.0f, 0.0f, 1e-30f, -1e-30f, 0.3f, -0.3f, 2.5f,
                  -2.5f, 9.0f, -9.0f, 40.0f, -40.0f, 3e38f, -3e38f, 1e-45f, 0.75f, -0.5f};
    enum { N = sizeof in / sizeof *in };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "input x: f32[%d]\na = %s\nb = Elementwise(x) expr=\"%s\"\noutput a\noutput b\n", N,
                 pairs[i].op, pairs[i].expr);
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        if (clg_graph_parse(g, text, strlen(text), NULL)) fail_msg("%s: %s", text, clg_graph_errmsg(g));
        float a[N], b[N];
        clg_tensor x = {in, 1, {N}, CLG_DTYPE_F32};
        clg_tensor outs[2] = {{a, 0, {0}, CLG_DTYPE_F32}, {b, 0, {0}, CLG_DTYPE_F32}};
        assert_int_equal(clg_graph_run_reference(g, &x, 1, outs, 2), CLG_OK);
        for (int k = 0; k < N; k++)
            if (memcmp(&a[k], &b[k], sizeof a[k]) != 0 && !(isnan(a[k]) && isnan(b[k])))
                fail_msg("%s vs %s at x = %g: %.9g != %.9g", pairs[i].op, pairs[i].expr, in[k], a[k], b[k]);
        clg_graph_destroy(g);
    }
}

/* The op table's expressions: what fusion merges, what the reference
 * evaluates and what a standalone op runs as on the device. */
static void test_op_table_expressions(void **state)
{
    (void)state;
    static const struct { const char *op, *expr; } cases[] = {
        {"Add(x, x)", "x0 + x1"},
        {"Sub(x, x)", "x0 - x1"},
        {"Mul(x, x)", "x0 * x1"},
        {"Div(x, x)", "x0 / x1"},
        {"Relu(x)", "relu(x0)"},
        {"LeakyRelu(x)", "leaky_relu(x0, 0.01)"},
        {"LeakyRelu(x) alpha=-0.5", "leaky_relu(x0, -0.5)"},
        {"LeakyRelu(x) alpha=-0.0", "leaky_relu(x0, -0)"},
        {"LeakyRelu(x) alpha=0.33333334", "leaky_relu(x0, 0.33333334)"},
        {"Sigmoid(x)", "sigmoid(x0)"},
        {"Tanh(x)", "tanh(x0)"},
        {"Clip(x)", "clip(x0, -inf, inf)"},
        {"Clip(x) min=-1e-45 max=3.4028235e+38", "clip(x0, -1e-45, 3.4028235e+38)"},
        {"Gelu(x)", "gelu(x0)"},
        {"Gelu(x) approximate=1", "gelu_tanh(x0)"},
        {"Elementwise(x, x) expr=\"x1 * (x0 + 2)\"", "x1 * (x0 + 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text, "input x: f32[3]\ny = %s\noutput y\n", cases[i].op);
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        if (clg_graph_parse(g, text, strlen(text), NULL)) fail_msg("%s: %s", text, clg_graph_errmsg(g));
        const clg_node *n = &g->nodes[clg_find_value(g, "y")];
        const clg_op_info *info = clg_op_get(n->op);
        assert_non_null(info->expr);
        assert_true(info->in_place == CLG_IN_PLACE_ALL);
        assert_false(info->alias);
        char err[256], out[256];
        if (clg_expr_of_node(n, &expr, err, sizeof err)) fail_msg("%s: %s", cases[i].op, err);
        clg_expr_print(&expr, out, sizeof out);
        if (strcmp(out, cases[i].expr)) fail_msg("%s: \"%s\", want \"%s\"", cases[i].op, out, cases[i].expr);
        /* Attributes come back bit for bit: f(-1) of LeakyRelu is -alpha,
         * Clip's bounds clip x = -inf and inf. */
        double x[2] = {-1.0, -1.0}, values[CLG_EXPR_MAX_NODES];
        if (n->op == CLG_OP_LEAKY_RELU) {
            float got = (float)clg_expr_eval(&expr, x, values), want = -n->attrs.alpha;
            assert_memory_equal(&got, &want, sizeof got);
        }
        if (n->op == CLG_OP_CLIP) {
            x[0] = -INFINITY;
            assert_true((float)clg_expr_eval(&expr, x, values) == n->attrs.min);
            x[0] = INFINITY;
            assert_true((float)clg_expr_eval(&expr, x, values) == n->attrs.max);
        }
        clg_graph_destroy(g);
    }

    /* The other ops have no expression; which alias their input and which
     * may overwrite one is the op table's too. */
    for (int op = 0; op < CLG_OP_COUNT; op++) {
        const clg_op_info *info = clg_op_get((clg_op)op);
        bool alias = op == CLG_OP_FLATTEN || op == CLG_OP_RESHAPE || op == CLG_OP_IDENTITY;
        bool elementwise = (op >= CLG_OP_ADD && op <= CLG_OP_GELU) || op == CLG_OP_ELEMENTWISE;
        if (info->alias != alias || (info->expr != NULL) != elementwise)
            fail_msg("%s: alias %d, expr %d", info->name, info->alias, info->expr != NULL);
        if (!elementwise && op != CLG_OP_BATCHNORM && op != CLG_OP_SOFTMAX && op != CLG_OP_LOG_SOFTMAX &&
            op != CLG_OP_LAYER_NORM && op != CLG_OP_CAST && op != CLG_OP_TRILU)
            assert_int_equal(info->in_place, 0);
    }
    assert_int_equal(clg_op_get(CLG_OP_BATCHNORM)->in_place, 1); /* x, not the parameters */
    assert_int_equal(clg_op_get(CLG_OP_SOFTMAX)->in_place, 1);
    assert_int_equal(clg_op_get(CLG_OP_LOG_SOFTMAX)->in_place, 1);
    assert_int_equal(clg_op_get(CLG_OP_LAYER_NORM)->in_place, 1u | 1u << 3); /* x or the residual */
    assert_int_equal(clg_op_get(CLG_OP_TRILU)->in_place, 1);
    clg_node identity = {.op = CLG_OP_IDENTITY, .n_inputs = 1};
    char err[64];
    assert_int_equal(clg_expr_of_node(&identity, &expr, err, sizeof err), CLG_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "Identity is not an elementwise op");
}

/* What a standalone op runs as on the device (-O0): the program generated
 * from its expression, shared by every node with that expression. */
static void test_standalone_op_kernel_source(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    const char *text = "input x: f32[N, 4]\ny = LeakyRelu(x) alpha=0.2\noutput y\n";
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_parse(g, text, strlen(text), NULL), CLG_OK);
    char err[64];
    assert_int_equal(clg_expr_of_node(&g->nodes[clg_find_value(g, "y")], &expr, err, sizeof err), CLG_OK);
    static char buf[4096];
    clg_fused_kernel_source(&expr, 1, false, buf, sizeof buf);
    assert_string_equal(buf,
        "/* Elementwise: leaky_relu(x0, 0.2) */\n"
        "float clg_leaky_relu(float v, float alpha) { return v < 0.0f ? alpha * v : v; }\n"
        "float8 clg_leaky_relu8(float8 v, float8 alpha) { return v < 0.0f ? alpha * v : v; }\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise(__global store_t *y, uint y_off, int n0, int n1,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    int i1 = get_global_id(1), i2 = get_global_id(2);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x0_at = x0_off + i2 * x0_s2 + i1 * x0_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = x0_s0 ? LOAD8(x0 + x0_at + i0) : (float8)(LOAD(x0, x0_at));\n"
        "        STOREV(8, clg_leaky_relu8(v0, 0.2f), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0 * x0_s0);\n"
        "        STORE(y, y_at + i0, clg_leaky_relu(v0, 0.2f));\n"
        "    }\n"
        "}\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise_rows(__global store_t *y, uint y_off, int n0, int n1, int shift,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    int i1 = (int)(item >> shift), i0 = ((int)item & ((1 << shift) - 1)) * 8;\n"
        "    if (i1 >= n1 || i0 >= n0) return;\n"
        "    int i2 = get_global_id(1);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x0_at = x0_off + i2 * x0_s2 + i1 * x0_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = x0_s0 ? LOAD8(x0 + x0_at + i0) : (float8)(LOAD(x0, x0_at));\n"
        "        STOREV(8, clg_leaky_relu8(v0, 0.2f), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0 * x0_s0);\n"
        "        STORE(y, y_at + i0, clg_leaky_relu(v0, 0.2f));\n"
        "    }\n"
        "}\n"
        "__kernel void elementwise_dense(__global store_t *y, uint y_off, int n0,\n"
        "    __global const store_t *x0, uint x0_off)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    uint y_at = y_off;\n"
        "    uint x0_at = x0_off;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = LOAD8(x0 + x0_at + i0);\n"
        "        STOREV(8, clg_leaky_relu8(v0, 0.2f), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0);\n"
        "        STORE(y, y_at + i0, clg_leaky_relu(v0, 0.2f));\n"
        "    }\n"
        "}\n");
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- errors */

static void check_error(const char *text, const char *want)
{
    char err[256];
    if (clg_expr_parse(&expr, text, err, sizeof err) != CLG_ERR_PARSE) fail_msg("\"%s\" parsed", text);
    if (strcmp(err, want) != 0) fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, want);
}

static void test_errors(void **state)
{
    (void)state;
    check_error("", "expr: at 0: expected an expression, found the end");
    check_error("   ", "expr: at 3: expected an expression, found the end");
    check_error("(x0 + x1", "expr: at 8: expected ')', found the end");
    check_error("(x0 + x1]", "expr: at 8: expected ')', found ']'");
    check_error("relu(x0", "expr: at 7: expected ',' or ')', found the end");
    check_error("relu()", "expr: at 5: expected an expression, found ')'");
    check_error("relu x0", "expr: at 5: expected '(' after relu, found 'x'");
    check_error("relu(x0, x1)", "expr: at 0: relu takes 1 argument, got 2");
    check_error("2 * clip(x0, 1)", "expr: at 4: clip takes 3 arguments, got 2");
    check_error("min(x0, x1, x2, x3)", "expr: at 0: min takes 2 arguments, got 4");
    check_error("where(x0, x1)", "expr: at 0: where takes 3 arguments, got 2");
    check_error("x0 * pow(x0)", "expr: at 5: pow takes 2 arguments, got 1");
    check_error("hard_sigmoid(x0, 0.2)", "expr: at 0: hard_sigmoid takes 3 arguments, got 2");
    check_error("not x0", "expr: at 4: expected '(' after not, found 'x'");
    check_error("x0 and x1", "expr: at 3: expected an operator or the end, found 'a'");
    check_error("x0 < x1", "expr: at 3: expected an operator or the end, found '<'");
    check_error("exp", "expr: at 3: expected '(' after exp, found the end");
    check_error("x0 +", "expr: at 4: expected an expression, found the end");
    check_error("x0 x1", "expr: at 3: expected an operator or the end, found 'x'");
    check_error("x0)", "expr: at 2: expected an operator or the end, found ')'");
    check_error("x0 # 1", "expr: at 3: expected an operator or the end, found '#'");
    check_error("x0 ^ 2", "expr: at 3: expected an operator or the end, found '^'");
    check_error("x0 + \x01", "expr: at 5: expected an expression, found byte 0x01");
    check_error("2x0", "expr: at 1: expected an operator or the end, found 'x'");
    check_error("foo(x0)", "expr: at 0: unknown name 'foo' (expected x0 to x15, a number or a function)");
    check_error("Relu(x0)", "expr: at 0: unknown name 'Relu' (expected x0 to x15, a number or a function)");
    check_error("x", "expr: at 0: unknown name 'x' (expected x0 to x15, a number or a function)");
    check_error("y0", "expr: at 0: unknown name 'y0' (expected x0 to x15, a number or a function)");
    check_error("x0 + x16", "expr: at 5: 'x16' is not an input: inputs are x0 to x15");
    check_error("x01", "expr: at 0: 'x01' is not an input: inputs are x0 to x15");
    check_error("x99999999999", "expr: at 0: 'x99999999999' is not an input: inputs are x0 to x15");
    check_error("1e", "expr: at 0: malformed number: no digits after the exponent's 'e'");
    check_error("1e+", "expr: at 0: malformed number: no digits after the exponent's 'e'");
    check_error("x0 * 1e39", "expr: at 5: number 1e39 is out of range for a float");
    check_error("x0 + .", "expr: at 5: expected digits around '.'");
    check_error("1.2.3", "expr: at 3: expected an operator or the end, found '.'");
    check_error("+x0", "expr: at 0: expected an expression, found '+'");

    /* Nesting: 200 levels are fine, 201 are not. */
    char deep[1024];
    for (int kind = 0; kind < 2; kind++) {
        for (int levels = 200; levels <= 201; levels++) {
            size_t n = 0;
            static const char *const open[] = {"(", "-"};
            for (int i = 0; i < levels; i++) n += (size_t)sprintf(deep + n, "%s", open[kind]);
            n += (size_t)sprintf(deep + n, "x0");
            for (int i = 0; kind == 0 && i < levels; i++) deep[n++] = ')';
            deep[n] = '\0';
            char err[256];
            clg_status s = clg_expr_parse(&expr, deep, err, sizeof err);
            if (levels == 200) {
                assert_int_equal(s, CLG_OK);
            } else {
                assert_int_equal(s, CLG_ERR_PARSE);
                assert_non_null(strstr(err, "the expression nests deeper than 200 levels"));
            }
        }
    }

    /* Longer than an attribute can hold. */
    char long_text[CLG_MAX_STRING_ATTR + 1];
    memset(long_text, ' ', sizeof long_text);
    long_text[0] = '1';
    long_text[CLG_MAX_STRING_ATTR] = '\0';
    check_error(long_text, "expr: longer than 1023 bytes");
    long_text[CLG_MAX_STRING_ATTR - 1] = '\0';
    parse_ok(long_text);

    /* Truncated messages stay terminated. */
    char small[12];
    assert_int_equal(clg_expr_parse(&expr, "relu(", small, sizeof small), CLG_ERR_PARSE);
    assert_string_equal(small, "expr: at 5:");
}

static void test_input_range(void **state)
{
    (void)state;
    char err[256];
    parse_ok("x0 + x2 * x1");
    assert_int_equal(clg_expr_check_inputs(&expr, 3, err, sizeof err), CLG_OK);
    assert_int_equal(clg_expr_check_inputs(&expr, 2, err, sizeof err), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(err, "expr: at 5: x2 is not an input: the node has 2 inputs");
    assert_int_equal(clg_expr_check_inputs(&expr, 1, err, sizeof err), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(err, "expr: at 5: x2 is not an input: the node has 1 input");
    /* Unused inputs are allowed. */
    parse_ok("x1");
    assert_int_equal(clg_expr_check_inputs(&expr, 16, err, sizeof err), CLG_OK);
}

/* ---------------------------------------------------------------- OpenCL text */

static const char *opencl(const char *text, const char **helpers)
{
    static char body[4096], defs[4096];
    parse_ok(text);
    clg_text t = {body, sizeof body, 0};
    clg_expr_write_opencl(&expr, &t);
    assert_true(t.len < sizeof body);
    clg_text h = {defs, sizeof defs, 0};
    clg_expr_write_opencl_helpers(&expr, &h);
    assert_true(h.len < sizeof defs);
    *helpers = defs;
    return body;
}

static void test_opencl_text(void **state)
{
    (void)state;
    const char *helpers;
    assert_string_equal(opencl("relu(x0 + x1)", &helpers), "clg_relu(v0 + v1)");
    assert_string_equal(helpers, "float clg_relu(float v) { return v < 0.0f ? 0.0f : v; }\n");

    assert_string_equal(opencl("x0 * 0.5 - -x1 / 3", &helpers), "v0 * 0.5f - -v1 / 3.0f");
    assert_string_equal(helpers, "");

    assert_string_equal(opencl("--x0 * (x1 - x2)", &helpers), "-(-v0) * (v1 - v2)");
    assert_string_equal(opencl("clip(x0, -inf, 100) + nan", &helpers),
                        "clg_clip(v0, -INFINITY, 1e+02f) + NAN");
    assert_string_equal(opencl("tanh(x3) * 1e-05", &helpers), "tanh(v3) * 1e-05f");
    assert_string_equal(helpers, ""); /* tanh is OpenCL's own */

    /* Helpers come once each, in a fixed order whatever the expression's. */
    assert_string_equal(opencl("max(min(x0, 1), relu(x1)) + relu(x2)", &helpers),
                        "clg_max(clg_min(v0, 1.0f), clg_relu(v1)) + clg_relu(v2)");
    assert_string_equal(helpers,
                        "float clg_relu(float v) { return v < 0.0f ? 0.0f : v; }\n"
                        "float clg_min(float a, float b) { return a < b || isnan(a) ? a : b; }\n"
                        "float clg_max(float a, float b) { return a > b || isnan(a) ? a : b; }\n");

    /* Over float16 (the GEMM epilogue's): the same bodies, the type and
     * the names widened; numbers stay float literals. */
    parse_ok("max(leaky_relu(x0, 0.1), clip(x1, -1, 1)) * tanh(x2)");
    char vec[1024], vec_defs[1024];
    clg_text v = {vec, sizeof vec, 0}, vd = {vec_defs, sizeof vec_defs, 0};
    clg_expr_write_opencl_vector(&expr, &v, 16);
    clg_expr_write_opencl_helpers_vector(&expr, &vd, 16);
    assert_string_equal(vec, "clg_max16(clg_leaky_relu16(v0, 0.1f), clg_clip16(v1, -1.0f, 1.0f)) * tanh(v2)");
    assert_string_equal(vec_defs,
                        "float16 clg_leaky_relu16(float16 v, float16 alpha) { return v < 0.0f ? alpha * v : v; }\n"
                        "float16 clg_clip16(float16 v, float16 lo, float16 hi) { return v < lo ? lo : v > hi ? hi : v; }\n"
                        "float16 clg_max16(float16 a, float16 b) { return a > b || isnan(a) ? a : b; }\n");
    /* Every helper, scalar and vector, from the same body. */
    parse_ok("relu(x0) + leaky_relu(x0, 2) + sigmoid(x0) + clip(x0, 0, 1) + gelu_tanh(x0) + min(x0, 1) + "
             "max(x0, 1)");
    char all1[2048], all4[2048];
    clg_text a1 = {all1, sizeof all1, 0}, a4 = {all4, sizeof all4, 0};
    clg_expr_write_opencl_helpers(&expr, &a1);
    clg_expr_write_opencl_helpers_vector(&expr, &a4, 4);
    assert_true(a1.len < sizeof all1 && a4.len < sizeof all4);
    assert_string_equal(all1,
        "float clg_relu(float v) { return v < 0.0f ? 0.0f : v; }\n"
        "float clg_leaky_relu(float v, float alpha) { return v < 0.0f ? alpha * v : v; }\n"
        "float clg_sigmoid(float v) { return 1.0f / (1.0f + exp(-v)); }\n"
        "float clg_clip(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }\n"
        "float clg_gelu_tanh(float v) { return v / (1.0f + exp(-1.5957691216057308f * (v + 0.044715f * v * v * v))); }\n"
        "float clg_min(float a, float b) { return a < b || isnan(a) ? a : b; }\n"
        "float clg_max(float a, float b) { return a > b || isnan(a) ? a : b; }\n");
    /* Line by line, the float4 text is the float text with the signature
     * widened: "float " -> "float4 " and each name -> name4. */
    for (char *l1 = all1, *l4 = all4; *l1; l1 = strchr(l1, '\n') + 1, l4 = strchr(l4, '\n') + 1) {
        const char *body1 = strstr(l1, "{ return "), *body4 = strstr(l4, "{ return ");
        assert_non_null(body1);
        assert_non_null(body4);
        assert_memory_equal(body1, body4, (size_t)(strchr(body1, '\n') - body1));
        assert_memory_equal(l4, "float4 clg_", 11);
    }
    /* A body of statements (gelu's): its locals and the bit casts take the
     * helper's width too, and it returns by itself. */
    parse_ok("gelu(x0)");
    char g1[2048], g4[2048];
    clg_text t1 = {g1, sizeof g1, 0}, t4 = {g4, sizeof g4, 0};
    clg_expr_write_opencl_helpers(&expr, &t1);
    clg_expr_write_opencl_helpers_vector(&expr, &t4, 4);
    assert_true(t1.len < sizeof g1 && t4.len < sizeof g4);
    assert_memory_equal(g1, "float clg_gelu(float v) { float a = fabs(v), x = v * v; float pa = ", 67);
    assert_memory_equal(g4, "float4 clg_gelu4(float4 v) { float4 a = fabs(v), x = v * v; float4 pa = ", 72);
    assert_non_null(strstr(g1, " * as_float((convert_int(n) + 127) << 23) * pb : 0.0f; "));
    assert_non_null(strstr(g4, " * as_float4((convert_int4(n) + 127) << 23) * pb : 0.0f; "));
    static const char end[] = " return a < 1.5f ? v * (0.5f + v * pa) : v < 0.0f ? v * tail : v * (1.0f - tail); }\n";
    assert_true(t1.len > sizeof end && t4.len > sizeof end);
    assert_string_equal(g1 + t1.len - (sizeof end - 1), end);
    assert_string_equal(g4 + t4.len - (sizeof end - 1), end);

    /* Builtins are called by their OpenCL names; helpers returning 1 or 0
     * name their own type for it, float or floatW. */
    assert_string_equal(opencl("abs(x0) + round(x1) + exp(x2) + erf(x3)", &helpers),
                        "fabs(v0) + rint(v1) + exp(v2) + erf(v3)");
    assert_string_equal(helpers, "");
    assert_string_equal(opencl("where(eq(x0, x1), x2, sign(x3))", &helpers),
                        "clg_where(clg_eq(v0, v1), v2, clg_sign(v3))");
    assert_string_equal(helpers,
                        "float clg_sign(float v) { return v > 0.0f ? (float)(1.0f) : v < 0.0f ? (float)(-1.0f) : v; }\n"
                        "float clg_eq(float a, float b) { return a == b ? (float)(1.0f) : (float)(0.0f); }\n"
                        "float clg_where(float c, float a, float b) { return c != 0.0f ? a : b; }\n");
    parse_ok("where(eq(x0, x1), x2, pow(x3, 2))");
    char cmp4[1024];
    clg_text c4 = {cmp4, sizeof cmp4, 0};
    clg_expr_write_opencl_helpers_vector(&expr, &c4, 4);
    assert_string_equal(cmp4,
                        "float4 clg_pow4(float4 a, float4 b) { return pow(a, b); }\n"
                        "float4 clg_eq4(float4 a, float4 b) { return a == b ? (float4)(1.0f) : (float4)(0.0f); }\n"
                        "float4 clg_where4(float4 c, float4 a, float4 b) { return c != 0.0f ? a : b; }\n");

    /* Measuring with no buffer gives the length that writing needs. */
    parse_ok("gelu(x0) + gelu_tanh(x1) * sigmoid(x2) - leaky_relu(x3, 0.01)");
    clg_text m = {NULL, 0, 0};
    clg_expr_write_opencl(&expr, &m);
    char buf[512];
    clg_text t = {buf, sizeof buf, 0};
    clg_expr_write_opencl(&expr, &t);
    assert_int_equal(m.len, strlen(buf));
    /* A buffer too small is filled and terminated, and the length still counts all. */
    char tiny[8];
    clg_text s = {tiny, sizeof tiny, 0};
    clg_expr_write_opencl(&expr, &s);
    assert_int_equal(s.len, m.len);
    assert_string_equal(tiny, "clg_gel");
}

/* The whole generated program (runtime/lower/fused.c) for two simple cases. */
static void test_kernel_source(void **state)
{
    (void)state;
    static char buf[8192];
    parse_ok("relu(x0 + x1)");
    size_t n = clg_fused_kernel_source(&expr, 2, false, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf,
        "/* Elementwise: relu(x0 + x1) */\n"
        "float clg_relu(float v) { return v < 0.0f ? 0.0f : v; }\n"
        "float8 clg_relu8(float8 v) { return v < 0.0f ? 0.0f : v; }\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise(__global store_t *y, uint y_off, int n0, int n1,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2,\n"
        "    __global const store_t *x1, uint x1_off, int x1_s0, int x1_s1, int x1_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    int i1 = get_global_id(1), i2 = get_global_id(2);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x0_at = x0_off + i2 * x0_s2 + i1 * x0_s1;\n"
        "    uint x1_at = x1_off + i2 * x1_s2 + i1 * x1_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = x0_s0 ? LOAD8(x0 + x0_at + i0) : (float8)(LOAD(x0, x0_at));\n"
        "        float8 v1 = x1_s0 ? LOAD8(x1 + x1_at + i0) : (float8)(LOAD(x1, x1_at));\n"
        "        STOREV(8, clg_relu8(v0 + v1), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0 * x0_s0);\n"
        "        float v1 = LOAD(x1, x1_at + i0 * x1_s0);\n"
        "        STORE(y, y_at + i0, clg_relu(v0 + v1));\n"
        "    }\n"
        "}\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise_rows(__global store_t *y, uint y_off, int n0, int n1, int shift,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2,\n"
        "    __global const store_t *x1, uint x1_off, int x1_s0, int x1_s1, int x1_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    int i1 = (int)(item >> shift), i0 = ((int)item & ((1 << shift) - 1)) * 8;\n"
        "    if (i1 >= n1 || i0 >= n0) return;\n"
        "    int i2 = get_global_id(1);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x0_at = x0_off + i2 * x0_s2 + i1 * x0_s1;\n"
        "    uint x1_at = x1_off + i2 * x1_s2 + i1 * x1_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = x0_s0 ? LOAD8(x0 + x0_at + i0) : (float8)(LOAD(x0, x0_at));\n"
        "        float8 v1 = x1_s0 ? LOAD8(x1 + x1_at + i0) : (float8)(LOAD(x1, x1_at));\n"
        "        STOREV(8, clg_relu8(v0 + v1), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0 * x0_s0);\n"
        "        float v1 = LOAD(x1, x1_at + i0 * x1_s0);\n"
        "        STORE(y, y_at + i0, clg_relu(v0 + v1));\n"
        "    }\n"
        "}\n"
        "__kernel void elementwise_dense(__global store_t *y, uint y_off, int n0,\n"
        "    __global const store_t *x0, uint x0_off,\n"
        "    __global const store_t *x1, uint x1_off)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    uint y_at = y_off;\n"
        "    uint x0_at = x0_off;\n"
        "    uint x1_at = x1_off;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v0 = LOAD8(x0 + x0_at + i0);\n"
        "        float8 v1 = LOAD8(x1 + x1_at + i0);\n"
        "        STOREV(8, clg_relu8(v0 + v1), y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v0 = LOAD(x0, x0_at + i0);\n"
        "        float v1 = LOAD(x1, x1_at + i0);\n"
        "        STORE(y, y_at + i0, clg_relu(v0 + v1));\n"
        "    }\n"
        "}\n");
    /* An unused input keeps its parameters (the launch passes every input)
     * but is not read. */
    parse_ok("x1*2");
    clg_fused_kernel_source(&expr, 2, false, buf, sizeof buf);
    assert_string_equal(buf,
        "/* Elementwise: x1 * 2 */\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise(__global store_t *y, uint y_off, int n0, int n1,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2,\n"
        "    __global const store_t *x1, uint x1_off, int x1_s0, int x1_s1, int x1_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    int i1 = get_global_id(1), i2 = get_global_id(2);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x1_at = x1_off + i2 * x1_s2 + i1 * x1_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v1 = x1_s0 ? LOAD8(x1 + x1_at + i0) : (float8)(LOAD(x1, x1_at));\n"
        "        STOREV(8, v1 * 2.0f, y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v1 = LOAD(x1, x1_at + i0 * x1_s0);\n"
        "        STORE(y, y_at + i0, v1 * 2.0f);\n"
        "    }\n"
        "}\n"
        "__attribute__((vec_type_hint(float8))) __kernel void elementwise_rows(__global store_t *y, uint y_off, int n0, int n1, int shift,\n"
        "    __global const store_t *x0, uint x0_off, int x0_s0, int x0_s1, int x0_s2,\n"
        "    __global const store_t *x1, uint x1_off, int x1_s0, int x1_s1, int x1_s2)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    int i1 = (int)(item >> shift), i0 = ((int)item & ((1 << shift) - 1)) * 8;\n"
        "    if (i1 >= n1 || i0 >= n0) return;\n"
        "    int i2 = get_global_id(1);\n"
        "    uint y_at = y_off + (i2 * n1 + i1) * n0;\n"
        "    uint x1_at = x1_off + i2 * x1_s2 + i1 * x1_s1;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v1 = x1_s0 ? LOAD8(x1 + x1_at + i0) : (float8)(LOAD(x1, x1_at));\n"
        "        STOREV(8, v1 * 2.0f, y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v1 = LOAD(x1, x1_at + i0 * x1_s0);\n"
        "        STORE(y, y_at + i0, v1 * 2.0f);\n"
        "    }\n"
        "}\n"
        "__kernel void elementwise_dense(__global store_t *y, uint y_off, int n0,\n"
        "    __global const store_t *x0, uint x0_off,\n"
        "    __global const store_t *x1, uint x1_off)\n"
        "{\n"
        "    size_t item = get_global_id(0);\n"
        "    if (item >= ((size_t)n0 + 7) / 8) return;\n"
        "    int i0 = (int)item * 8;\n"
        "    uint y_at = y_off;\n"
        "    uint x1_at = x1_off;\n"
        "    if (n0 - i0 >= 8) {\n"
        "        float8 v1 = LOAD8(x1 + x1_at + i0);\n"
        "        STOREV(8, v1 * 2.0f, y + y_at + i0);\n"
        "        return;\n"
        "    }\n"
        "    for (; i0 < n0; i0++) {\n"
        "        float v1 = LOAD(x1, x1_at + i0);\n"
        "        STORE(y, y_at + i0, v1 * 2.0f);\n"
        "    }\n"
        "}\n");
    /* Measuring first gives the size to allocate; the same expression
     * written differently gives the same program. */
    char other[8192];
    parse_ok("( x1 )*2.0");
    size_t need = clg_fused_kernel_source(&expr, 2, false, NULL, 0);
    assert_int_equal(need, strlen(buf));
    clg_fused_kernel_source(&expr, 2, false, other, need + 1);
    assert_string_equal(other, buf);
}

/* The epilogue prelude (runtime/lower/epilogue.c) is the contract a
 * family's kernel is written against (epilogue.h): its macros and the
 * scalar function, as text; none without an epilogue. */
static void test_epilogue_prelude(void **state)
{
    (void)state;
    static char buf[16384];
    assert_int_equal(clg_epilogue_prelude(NULL, false, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    parse_ok("relu(x0 + x2)");
    clg_epilogue ep = {&expr, 3, NULL, 4, 5, 0, NULL};
    size_t n = clg_epilogue_prelude(&ep, false, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "#define EPILOGUE 1\n"
                                "#define EPILOGUE_ARGS , __global const store_t *x1, uint x1_off, int x1_sr, int x1_sc"
                                " , __global const store_t *x2, uint x2_off, int x2_sr, int x2_sc\n"
                                "#define EPILOGUE_PASS , x1, x1_off, x1_sr, x1_sc , x2, x2_off, x2_sr, x2_sc\n"
                                "float clg_epilogue(float v0, int r, int c EPILOGUE_ARGS)\n{\n"
                                "    float v2 = LOAD(x2, x2_off + r * x2_sr + c * x2_sc);\n"
                                "    return clg_relu(v0 + v2);\n}\n"));
    assert_non_null(strstr(buf, "float16 clg_epilogue16(float16 v0, int r, int c EPILOGUE_ARGS)\n"));
    /* Arguments: three per input after x0, strides over the 4 x 5 result. */
    clg_dev_tensor in[3] = {{0}, {NULL, 0, {1, {5}}, CLG_BLOCK_NONE}, {NULL, 7, {2, {4, 1}}, CLG_BLOCK_NONE}};
    ep.in = in;
    clg_karg args[6];
    assert_int_equal(clg_epilogue_args(&ep, args, 6), 6);
    assert_int_equal(args[1].i, 0); /* x1 [5]: the same for every row */
    assert_int_equal(args[2].i, 1);
    assert_int_equal(args[4].i, 1); /* x2 [4, 1]: one per row */
    assert_int_equal(args[5].i, 0);
    assert_int_equal(clg_epilogue_args(&ep, args, 5), -1);
    in[2].shape = (clg_shape){2, {3, 1}};
    assert_int_equal(clg_epilogue_args(&ep, args, 6), -1); /* 3 rows do not broadcast to 4 */

    /* A convolution's NCHW result [2, 3, 4, 5] seen as [channel, image *
     * 20 + pixel] (p = 20): strides per image, channel and pixel. */
    clg_shape nchw = {4, {2, 3, 4, 5}};
    ep = (clg_epilogue){&expr, 3, in, 3, 40, 20, &nchw};
    n = clg_epilogue_prelude(&ep, false, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "#define EPILOGUE_ARGS , int epi_p , __global const store_t *x1, uint x1_off, int x1_sn, int x1_sch, "
                                "int x1_sp , __global const store_t *x2, uint x2_off, int x2_sn, int x2_sch, int x2_sp\n"));
    assert_non_null(strstr(buf, "    float v2 = LOAD(x2, x2_off + (c) / epi_p * x2_sn + r * x2_sch + (c) % epi_p * x2_sp);\n"));
    /* 16 columns may run into the next image: element by element then */
    assert_non_null(strstr(buf, "if (c % epi_p + 16 <= epi_p)"));
    in[1].shape = (clg_shape){3, {3, 1, 1}};           /* a bias per channel */
    in[2].shape = (clg_shape){4, {2, 3, 4, 5}};        /* a residual */
    clg_karg cargs[9];
    assert_int_equal(clg_epilogue_args(&ep, cargs, 9), 9);
    assert_int_equal(cargs[0].i, 20); /* epi_p */
    assert_int_equal(cargs[2].i, 0);
    assert_int_equal(cargs[3].i, 1);
    assert_int_equal(cargs[4].i, 0);
    assert_int_equal(cargs[6].i, 60);
    assert_int_equal(cargs[7].i, 20);
    assert_int_equal(cargs[8].i, 1);
    assert_int_equal(clg_epilogue_args(&ep, cargs, 8), -1); /* room short */
    in[2].shape = (clg_shape){2, {1, 5}}; /* along W only: no one pixel stride */
    assert_int_equal(clg_epilogue_args(&ep, cargs, 9), -1);
    in[2].shape = (clg_shape){4, {2, 1, 4, 5}}; /* one plane per image */
    assert_int_equal(clg_epilogue_args(&ep, cargs, 9), 9);
    assert_int_equal(cargs[6].i, 20);
    assert_int_equal(cargs[7].i, 0);
    assert_int_equal(cargs[8].i, 1);
    /* flipped (p = -20): rows are image * 20 + pixel, columns channels */
    ep.p = -20;
    clg_epilogue_prelude(&ep, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "    float v2 = LOAD(x2, x2_off + (r) / epi_p * x2_sn + (r) % epi_p * x2_sp + c * x2_sch);\n"));
    /* over an NCHW result: by image, pixel and channel, no division */
    assert_non_null(strstr(buf, "#define EPILOGUE_NCHW 1\nfloat clg_epilogue_px(float v0, int img, int px, int c EPILOGUE_ARGS)\n{\n"
                                "    float v2 = LOAD(x2, x2_off + img * x2_sn + px * x2_sp + c * x2_sch);\n"
                                "    return clg_relu(v0 + v2);\n}\n"));
    /* none over a plain matrix */
    ep.p = 0;
    clg_epilogue_prelude(&ep, false, buf, sizeof buf);
    assert_null(strstr(buf, "clg_epilogue_px"));
}

/* Half arithmetic (precision fp16): arithmetic, comparisons and clamps in
 * compute_t (halfW on vectors) with every float literal of a helper's body
 * a half, the functions that keep float (sigmoid here) from float operands
 * and rounded to half, the result back in float; an expression without
 * half arithmetic is its float text, byte for byte (one program for fp16
 * and fp16-storage). */
static void test_half_text(void **state)
{
    (void)state;
    static char buf[8192], other[8192];
    parse_ok("relu(x0 + x1) * sigmoid(x2 - 1)");
    assert_true(clg_expr_half_arithmetic(&expr));
    clg_text t = {buf, sizeof buf, 0};
    clg_expr_write_opencl_helpers_as(&expr, &t, 1, true);
    clg_expr_write_opencl_as(&expr, &t, 1, true);
    assert_string_equal(buf,
        "float clg_sigmoid(float v) { return 1.0f / (1.0f + exp(-v)); }\n"
        "compute_t clg_relu_h(compute_t v) { return v < (compute_t)(0.0f) ? (compute_t)(0.0f) : v; }\n"
        "(float)(clg_relu_h((compute_t)(v0) + (compute_t)(v1)) * (compute_t)(clg_sigmoid(v2 - 1.0f)))");
    t = (clg_text){buf, sizeof buf, 0};
    clg_expr_write_opencl_helpers_as(&expr, &t, 16, true);
    clg_expr_write_opencl_as(&expr, &t, 16, true);
    assert_string_equal(buf,
        "float16 clg_sigmoid16(float16 v) { return 1.0f / (1.0f + exp(-v)); }\n"
        "half16 clg_relu_h16(half16 v) { return v < (half16)(0.0f) ? (half16)(0.0f) : v; }\n"
        "convert_float16(clg_relu_h16(convert_half16(v0) + convert_half16(v1)) * "
        "convert_half16(clg_sigmoid16(v2 - 1.0f)))");
    /* @T and literals together; a literal inside a name or after '.' is no literal */
    parse_ok("sign(x0) + hard_swish(x1)");
    t = (clg_text){buf, sizeof buf, 0};
    clg_expr_write_opencl_helpers_as(&expr, &t, 4, true);
    assert_string_equal(buf,
        "half4 clg_sign_h4(half4 v) { return v > (half4)(0.0f) ? (half4)((half4)(1.0f)) : v < (half4)(0.0f) ? "
        "(half4)(-(half4)(1.0f)) : v; }\n"
        "half4 clg_hard_swish_h4(half4 v) { return (half4)(0.16666667f) * v + (half4)(0.5f) <= (half4)(0.0f) ? "
        "(half4)(0.0f) : v * ((half4)(0.16666667f) * v + (half4)(0.5f) > (half4)(1.0f) ? (half4)(1.0f) : "
        "(half4)(0.16666667f) * v + (half4)(0.5f)); }\n");
    /* no half arithmetic: the float text, byte for byte */
    static const char *const floats[] = {"sigmoid(x0)", "x1", "2.5", "exp(x0 * x1 + 1)", "gelu(x0) "};
    for (int k = 0; k < 5; k++) {
        parse_ok(floats[k]);
        assert_false(clg_expr_half_arithmetic(&expr));
        for (int w = 1; w <= 16; w *= 16) {
            t = (clg_text){buf, sizeof buf, 0};
            clg_expr_write_opencl_helpers_as(&expr, &t, w, true);
            clg_expr_write_opencl_as(&expr, &t, w, true);
            clg_text f = {other, sizeof other, 0};
            clg_expr_write_opencl_helpers_as(&expr, &f, w, false);
            clg_expr_write_opencl_as(&expr, &f, w, false);
            assert_string_equal(buf, other);
        }
    }
    /* the generated kernel: the same text but the expression */
    parse_ok("x0 + x1");
    clg_fused_kernel_source(&expr, 2, true, buf, sizeof buf);
    clg_fused_kernel_source(&expr, 2, false, other, sizeof other);
    assert_non_null(strstr(buf, "STORE(y, y_at + i0, (float)((compute_t)(v0) + (compute_t)(v1)));\n"));
    assert_non_null(strstr(buf, "STOREV(8, convert_float8(convert_half8(v0) + convert_half8(v1)), y + y_at + i0);\n"));
    assert_null(strstr(other, "compute_t"));
}

/* ---------------------------------------------------------------- the op */

static clg_graph *parse_graph(const char *text, clg_status want, const char *msg)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    clg_status s = clg_graph_parse(g, text, strlen(text), NULL);
    if (s != want) fail_msg("status %d (%s), want %d for\n%s", s, clg_graph_errmsg(g), want, text);
    if (msg && !strstr(clg_graph_errmsg(g), msg)) fail_msg("message \"%s\" lacks \"%s\"", clg_graph_errmsg(g), msg);
    return g;
}

static char *print_graph(clg_graph *g)
{
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    return text;
}

static void test_text_format(void **state)
{
    (void)state;
    const char *text =
        "input x: f32[N, 3, 5, 7]\n"
        "const c: f32[3, 1, 1] = random(1)\n"
        "const s: f32[1] = full(0.5)\n"
        "y = Elementwise(x, c, s) expr=\"relu(x0*x1+x2)  -  -0.25\"\n"
        "output y\n";
    clg_graph *g = parse_graph(text, CLG_OK, NULL);
    char *printed = print_graph(g);
    assert_string_equal(printed,
                        "input x: f32[N, 3, 5, 7]\n"
                        "const c: f32[3, 1, 1] = random(1)\n"
                        "const s: f32[1] = full(0.5)\n"
                        "y = Elementwise(x, c, s) expr=\"relu(x0 * x1 + x2) - -0.25\"\n"
                        "output y\n");
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_node_info(g, 3, NULL, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 4);
    assert_int_equal(dims[0], CLG_BATCH);
    assert_int_equal(dims[3], 7);
    clg_graph *again = parse_graph(printed, CLG_OK, NULL);
    char *printed2 = print_graph(again);
    assert_string_equal(printed2, printed);
    clg_graph_free(again, printed2);
    clg_graph_destroy(again);
    clg_graph_free(g, printed);
    clg_graph_destroy(g);

    /* Broadcasting: [N, 17] with [17], and the scalar [1] first. */
    g = parse_graph("input x: f32[N, 17]\nconst b: f32[17] = ones\nconst one: f32[1] = ones\n"
                    "y = Elementwise(one, x, b) expr=\"x1 + x2\"\noutput y\n", CLG_OK, NULL);
    assert_int_equal(clg_graph_node_info(g, 3, NULL, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], CLG_BATCH);
    assert_int_equal(dims[1], 17);
    clg_graph_destroy(g);

    /* Unused inputs are allowed; an escaped backslash reaches the expression. */
    g = parse_graph("input x: f32[4]\ny = Elementwise(x, x) expr=\"x1\"\noutput y\n", CLG_OK, NULL);
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = Elementwise(x) expr=\"x0 \\\\ 2\"\noutput y\n", CLG_ERR_PARSE,
                    "line 2: node y (Elementwise): expr: at 3: expected an operator or the end, found '\\'");
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = Elementwise(x) expr=\"x0\" expr=\"x0\"\noutput y\n", CLG_ERR_PARSE,
                    "attribute expr is given twice");
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = Elementwise(x) expr=\"x0\x02\"\noutput y\n", CLG_ERR_PARSE,
                    "line 2: byte 0x02 in a string");
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = Relu(x) expr=\"x0\"\noutput y\n", CLG_ERR_PARSE,
                    "unknown attribute 'expr'");
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = Relu(x) alpha=\"x0\"\noutput y\n", CLG_ERR_PARSE,
                    "unknown attribute 'alpha'");
    clg_graph_destroy(g);
    g = parse_graph("input x: f32[4]\ny = LeakyRelu(x) alpha=\"x0\"\noutput y\n", CLG_ERR_INVALID_GRAPH,
                    "attribute alpha must be a number");
    clg_graph_destroy(g);

    /* A string that does not fit an attribute. */
    char big[2 * CLG_MAX_STRING_ATTR];
    int n = snprintf(big, sizeof big, "input x: f32[4]\ny = Elementwise(x) expr=\"");
    memset(big + n, ' ', CLG_MAX_STRING_ATTR);
    big[n] = 'x';
    big[n + 1] = '0';
    snprintf(big + n + CLG_MAX_STRING_ATTR, sizeof big - (size_t)n - CLG_MAX_STRING_ATTR, "\"\noutput y\n");
    g = parse_graph(big, CLG_ERR_PARSE, "line 2: string longer than 1023 bytes");
    clg_graph_destroy(g);
}

static void test_builder(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    int64_t xd[] = {CLG_BATCH, 3, 5, 7}, cd[] = {3, 1, 1};
    float c[3] = {1, 2, 3};
    assert_int_equal(clg_graph_add_input(g, "x", 4, xd), CLG_OK);
    assert_int_equal(clg_graph_add_constant(g, "c", 3, cd, c), CLG_OK);
    const char *in[] = {"x", "c"};
    clg_attr e = {"expr", CLG_ATTR_STRING, 0, {0}, 0.0f, "(x0)*x1+1"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "y", in, 2, &e, 1), CLG_OK);
    assert_string_equal(clg_op_name(CLG_OP_ELEMENTWISE), "Elementwise");

    /* Errors name the node; nothing is added. */
    clg_attr not_string = {"expr", CLG_ATTR_INT, 1, {1}, 0.0f, NULL};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e1", in, 2, &not_string, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e1 (Elementwise): attribute expr must be a string");
    clg_attr null_string = {"expr", CLG_ATTR_STRING, 0, {0}, 0.0f, NULL};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e2", in, 2, &null_string, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e2 (Elementwise): attribute expr must be a string");
    clg_attr bad = {"expr", CLG_ATTR_STRING, 0, {0}, 0.0f, "x0 +* x1"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e3", in, 2, &bad, 1), CLG_ERR_PARSE);
    assert_string_equal(clg_graph_errmsg(g), "node e3 (Elementwise): expr: at 4: expected an expression, found '*'");
    clg_attr range = {"expr", CLG_ATTR_STRING, 0, {0}, 0.0f, "x0 * x2"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e4", in, 2, &range, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e4 (Elementwise): expr: at 5: x2 is not an input: the node has 2 inputs");
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e5", in, 2, NULL, 0), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e5 (Elementwise): attribute expr is required");
    clg_attr string_for_float = {"alpha", CLG_ATTR_STRING, 0, {0}, 0.0f, "1"};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_LEAKY_RELU, "e6", in, 1, &string_for_float, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e6 (LeakyRelu): attribute alpha must be a number");
    const char *seventeen[17];
    for (int i = 0; i < 17; i++) seventeen[i] = "x";
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e7", seventeen, 17, &e, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e7 (Elementwise): takes 1 to 16 inputs, got 17");
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e8", seventeen, 16, &e, 1), CLG_OK);

    /* Longer than 1023 bytes, as given or once canonical. */
    char text[CLG_MAX_STRING_ATTR + 8];
    memset(text, ' ', sizeof text);
    text[0] = 'x';
    text[1] = '0';
    text[CLG_MAX_STRING_ATTR] = '\0';
    clg_attr too_long = {"expr", CLG_ATTR_STRING, 0, {0}, 0.0f, text};
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e9", in, 1, &too_long, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node e9 (Elementwise): attribute expr is longer than 1023 bytes");
    size_t n = 0;
    while (n + 3 < 1000) n += (size_t)sprintf(text + n, "%sx0", n ? "+" : ""); /* x0+x0+...: 1000 bytes */
    assert_int_equal(clg_graph_add_node(g, CLG_OP_ELEMENTWISE, "e10", in, 1, &too_long, 1), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g),
                        "node e10 (Elementwise): attribute expr is longer than 1023 bytes in canonical form");

    assert_int_equal(clg_graph_add_output(g, "y"), CLG_OK);
    char *printed = print_graph(g);
    assert_string_equal(printed,
                        "input x: f32[N, 3, 5, 7]\n"
                        "const c: f32[3, 1, 1] = [1, 2, 3]\n"
                        "y = Elementwise(x, c) expr=\"x0 * x1 + 1\"\n"
                        "e8 = Elementwise(x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x) expr=\"x0 * x1 + 1\"\n"
                        "output y\n");
    clg_graph_free(g, printed);

    /* A pass may write expr directly: shape inference checks it, and the
     * printer writes it canonically. */
    clg_attrs a;
    clg_attrs_default(CLG_OP_ELEMENTWISE, &a);
    snprintf(a.expr, sizeof a.expr, "max(x0,(x1))");
    int inputs[2] = {0, 1};
    clg_status s;
    int idx = clg_edit_append(g, CLG_OP_ELEMENTWISE, "fused", inputs, 2, &a, NULL, NULL, &s);
    assert_int_equal(s, CLG_OK);
    assert_true(idx > 0);
    snprintf(a.expr, sizeof a.expr, "max(x0, x2)");
    assert_int_equal(clg_edit_append(g, CLG_OP_ELEMENTWISE, "bad", inputs, 2, &a, NULL, NULL, &s), -1);
    assert_int_equal(s, CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "node bad (Elementwise): expr: at 8: x2 is not an input: the node has 2 inputs");
    snprintf(a.expr, sizeof a.expr, "max(x0, ");
    assert_int_equal(clg_edit_append(g, CLG_OP_ELEMENTWISE, "bad", inputs, 2, &a, NULL, NULL, &s), -1);
    assert_int_equal(s, CLG_ERR_INVALID_GRAPH);
    memset(a.expr, 'x', sizeof a.expr);
    assert_int_equal(clg_edit_append(g, CLG_OP_ELEMENTWISE, "bad", inputs, 2, &a, NULL, NULL, &s), -1);
    assert_string_equal(clg_graph_errmsg(g), "node bad (Elementwise): attribute expr is not terminated");
    printed = print_graph(g);
    assert_non_null(strstr(printed, "fused = Elementwise(x, c) expr=\"max(x0, x1)\"\n"));
    clg_graph_free(g, printed);
    clg_graph_destroy(g);
}

/* The reference executor broadcasts every input to the output's shape. */
static void test_reference_broadcast(void **state)
{
    (void)state;
    clg_graph *g = parse_graph("input x: f32[N, 2, 3]\n"
                               "const r: f32[2, 1] = [10, 20]\n"
                               "const c: f32[3] = [1, 2, 3]\n"
                               "const s: f32[1] = [-1]\n"
                               "y = Elementwise(x, r, c, s) expr=\"x0 * x3 + x1 * x2\"\n"
                               "output y\n", CLG_OK, NULL);
    float in[12], out[12];
    for (int i = 0; i < 12; i++) in[i] = (float)i;
    clg_tensor x = {in, 3, {2, 2, 3}, CLG_DTYPE_F32};
    clg_tensor y = {out, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &x, 1, &y, 1), CLG_OK);
    assert_int_equal(y.rank, 3);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) {
                int k = (b * 2 + i) * 3 + j;
                assert_float_equal(out[k], -in[k] + (i ? 20.0f : 10.0f) * (float)(j + 1), 0.0f);
            }
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_inputs_used),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_evaluation),
        cmocka_unit_test(test_evaluation_math),
        cmocka_unit_test(test_same_as_standalone_ops),
        cmocka_unit_test(test_op_table_expressions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_input_range),
        cmocka_unit_test(test_opencl_text),
        cmocka_unit_test(test_kernel_source),
        cmocka_unit_test(test_epilogue_prelude),
        cmocka_unit_test(test_standalone_op_kernel_source),
        cmocka_unit_test(test_half_text),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_builder),
        cmocka_unit_test(test_reference_broadcast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
