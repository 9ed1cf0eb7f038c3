/* The Elementwise expression language: a recursive-descent parser into a
 * post-order node array, the canonical printer, a double evaluator and the
 * OpenCL C writer. Every elementwise op (the op table's expr) runs through
 * them: clg_expr_eval holds each function's formula for the reference
 * executor, the functions table below its formula for the device. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

/* GELU's Phi(v) in float arithmetic only (scripts/fit_gelu.py fits the
 * polynomials and checks the formula in float32): |v| < 1.5, 0.5 + v PA(v^2);
 * beyond, the tail Phi(-|v|) = exp(-v^2/2) PB(min(|v|, 6) - 1.5), PB fitted
 * to the smooth Phi(-a) exp(a^2/2) with relative weights, and exp by hand
 * (2^n from the exponent bits times Taylor's e^r, |r| <= ln2/2); 0 past
 * |v| = 13, so that +-inf give inf and NaN as 0.5 v (1 + erf) does.
 * Error against float64: 1.2e-7 max(1, |v|) absolute, and 4.1e-6 relative
 * for v > -6 (where 1 + erf(v / sqrt 2) in float loses all of it).
 * Why not erf: on Intel's runtime it is a long SVML call (the FFN GEMM's
 * GELU epilogue cost 0.35-0.45 ms of 2.3-2.8 at [1024x256x1024]), on PoCL a
 * scalar libm call that stops the vectoriser. */
#define GELU_BODY                                                                                            \
    "@T a = fabs(v), x = v * v; "                                                                            \
    "@T pa = (((((4.207396804e-07f * x - 8.777207626e-06f) * x + 1.144975103e-04f) * x - 1.186643631e-03f) " \
    "* x + 9.973318020e-03f) * x - 6.649034883e-02f) * x + 3.989422797e-01f; "                               \
    "@T b = fmin(a, 6.0f) - 1.5f; "                                                                          \
    "@T pb = (((((((((1.552829803e-08f * b - 4.451464277e-07f) * b + 5.812267449e-06f) * b "                 \
    "- 4.643644851e-05f) * b + 2.596905572e-04f) * b - 1.115185781e-03f) * b + 3.969559043e-03f) * b "       \
    "- 1.241521533e-02f) * b + 3.516052778e-02f) * b - 9.026750317e-02f) * b + 2.057805290e-01f; "           \
    "@T y = fmax(-0.5f * x, -87.0f), n = rint(y * 1.442695041f); "                                           \
    "@T r = y - n * 0.693145752f - n * 1.428606765e-06f; "                                                   \
    "@T er = ((((((1.984126984e-04f * r + 1.388888889e-03f) * r + 8.333333333e-03f) * r "                    \
    "+ 4.166666667e-02f) * r + 1.666666667e-01f) * r + 0.5f) * r + 1.0f) * r + 1.0f; "                       \
    "@T tail = a < 13.0f ? er * as_@T((convert_@I(n) + 127) << 23) * pb : 0.0f; "                            \
    "return a < 1.5f ? v * (0.5f + v * pa) : v < 0.0f ? v * tail : v * (1.0f - tail);"

/* Functions by name, with their argument count and their OpenCL C: a
 * builtin (cl_name alone), or a helper of clgraph's, cl_name(params) {
 * return body; }, written once for float and for floatW. The bodies
 * compute in float what clg_expr_eval computes in double, with comparisons
 * where NaN must pass through; they mean the same per component on vectors
 * (comparisons, ?: and || are componentwise in OpenCL C, scalars widen).
 * @T in a body is the helper's type (float or floatW), @I the int type of
 * the same width. A body with statements (a ';') returns its value
 * itself. */
static const struct {
    const char *name;
    int arity;
    const char *cl_name;
    const char *params[3];
    const char *body;
} functions[CLG_EXPR_OP_COUNT] = {
    [CLG_EXPR_RELU] = {"relu", 1, "clg_relu", {"v"}, "v < 0.0f ? 0.0f : v"},
    [CLG_EXPR_LEAKY_RELU] = {"leaky_relu", 2, "clg_leaky_relu", {"v", "alpha"}, "v < 0.0f ? alpha * v : v"},
    [CLG_EXPR_SIGMOID] = {"sigmoid", 1, "clg_sigmoid", {"v"}, "1.0f / (1.0f + exp(-v))"},
    [CLG_EXPR_TANH] = {"tanh", 1, "tanh", {NULL}, NULL},
    [CLG_EXPR_CLIP] = {"clip", 3, "clg_clip", {"v", "lo", "hi"}, "v < lo ? lo : v > hi ? hi : v"},
    /* v * Phi(v) with the exact normal CDF, without erf: GELU_BODY. */
    [CLG_EXPR_GELU] = {"gelu", 1, "clg_gelu", {"v"}, GELU_BODY},
    /* 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), written
     * as x / (1 + exp(-2u)): the same function without the cancellation of
     * 1 + tanh(u) for negative x, and with exp, which PoCL vectorises. */
    [CLG_EXPR_GELU_TANH] = {"gelu_tanh", 1, "clg_gelu_tanh", {"v"},
                            "v / (1.0f + exp(-1.5957691216057308f * (v + 0.044715f * v * v * v)))"},
    [CLG_EXPR_MIN] = {"min", 2, "clg_min", {"a", "b"}, "a < b || isnan(a) ? a : b"},
    [CLG_EXPR_MAX] = {"max", 2, "clg_max", {"a", "b"}, "a > b || isnan(a) ? a : b"},
    [CLG_EXPR_EXP] = {"exp", 1, "exp", {NULL}, NULL},
    [CLG_EXPR_LOG] = {"log", 1, "log", {NULL}, NULL},
    [CLG_EXPR_SQRT] = {"sqrt", 1, "sqrt", {NULL}, NULL},
    [CLG_EXPR_ABS] = {"abs", 1, "fabs", {NULL}, NULL},
    [CLG_EXPR_FLOOR] = {"floor", 1, "floor", {NULL}, NULL},
    [CLG_EXPR_CEIL] = {"ceil", 1, "ceil", {NULL}, NULL},
    /* Halves to even (ONNX Round): rint in the default rounding mode, which
     * OpenCL kernels cannot change. */
    [CLG_EXPR_ROUND] = {"round", 1, "rint", {NULL}, NULL},
    /* OpenCL's sign() gives 0 for NaN; this lets NaN pass, as numpy.sign. */
    [CLG_EXPR_SIGN] = {"sign", 1, "clg_sign", {"v"}, "v > 0.0f ? (@T)(1.0f) : v < 0.0f ? (@T)(-1.0f) : v"},
    [CLG_EXPR_ERF] = {"erf", 1, "erf", {NULL}, NULL},
    /* A helper, not the builtin: its parameters widen a float literal
     * argument to floatW, which pow(floatW, float) has no overload for. */
    [CLG_EXPR_POW] = {"pow", 2, "clg_pow", {"a", "b"}, "pow(a, b)"},
    /* clip(alpha v + beta, 0, 1) with NaN passing through */
    [CLG_EXPR_HARD_SIGMOID] = {"hard_sigmoid", 3, "clg_hard_sigmoid", {"v", "alpha", "beta"},
                               "alpha * v + beta < 0.0f ? 0.0f : alpha * v + beta > 1.0f ? 1.0f : alpha * v + beta"},
    /* v hard_sigmoid(v, 1/6, 1/2), exactly 0 where the slope factor is 0
     * (so also at -inf, where v * 0 would be NaN) */
    [CLG_EXPR_HARD_SWISH] = {"hard_swish", 1, "clg_hard_swish", {"v"},
                             "0.16666667f * v + 0.5f <= 0.0f ? 0.0f : v * (0.16666667f * v + 0.5f > 1.0f ? 1.0f "
                             ": 0.16666667f * v + 0.5f)"},
    /* expm1 rather than exp - 1: no cancellation for small negative v */
    [CLG_EXPR_ELU] = {"elu", 2, "clg_elu", {"v", "alpha"}, "v < 0.0f ? alpha * expm1(v) : v"},
    [CLG_EXPR_SELU] = {"selu", 3, "clg_selu", {"v", "alpha", "gamma"},
                       "v > 0.0f ? gamma * v : gamma * (alpha * expm1(v))"},
    /* max(0, v) + min(0, alpha (exp(v / alpha) - 1)): the second term has
     * v's sign for any alpha != 0, so one of the two is always 0. */
    [CLG_EXPR_CELU] = {"celu", 2, "clg_celu", {"v", "alpha"}, "v > 0.0f ? v : alpha * expm1(v / alpha)"},
    /* log(1 + exp(v)) as max(v, 0) + log1p(exp(-|v|)): exp never
     * overflows, and no precision is lost for large negative v. */
    [CLG_EXPR_SOFTPLUS] = {"softplus", 1, "clg_softplus", {"v"}, "fmax(v, 0.0f) + log1p(exp(-fabs(v)))"},
    [CLG_EXPR_SOFTSIGN] = {"softsign", 1, "clg_softsign", {"v"}, "v / (1.0f + fabs(v))"},
    [CLG_EXPR_MISH] = {"mish", 1, "clg_mish", {"v"}, "v * tanh(fmax(v, 0.0f) + log1p(exp(-fabs(v))))"},
    [CLG_EXPR_THRESHOLDED_RELU] = {"thresholded_relu", 2, "clg_thresholded_relu", {"v", "alpha"},
                                   "v <= alpha ? 0.0f : v"},
    /* 1 or 0 of the helper's type: (@T)(1.0f) is a vector literal for
     * floatW, a cast for float; a comparison alone would give an int (-1
     * per true component on vectors). */
    [CLG_EXPR_EQ] = {"eq", 2, "clg_eq", {"a", "b"}, "a == b ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_LT] = {"lt", 2, "clg_lt", {"a", "b"}, "a < b ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_GT] = {"gt", 2, "clg_gt", {"a", "b"}, "a > b ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_LE] = {"le", 2, "clg_le", {"a", "b"}, "a <= b ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_GE] = {"ge", 2, "clg_ge", {"a", "b"}, "a >= b ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_NOT] = {"not", 1, "clg_not", {"v"}, "v == 0.0f ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_AND] = {"and", 2, "clg_and", {"a", "b"}, "a != 0.0f && b != 0.0f ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_OR] = {"or", 2, "clg_or", {"a", "b"}, "a != 0.0f || b != 0.0f ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_XOR] = {"xor", 2, "clg_xor", {"a", "b"}, "(a != 0.0f) != (b != 0.0f) ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_WHERE] = {"where", 3, "clg_where", {"c", "a", "b"}, "c != 0.0f ? a : b"},
    [CLG_EXPR_SIN] = {"sin", 1, "sin", {NULL}, NULL},
    [CLG_EXPR_COS] = {"cos", 1, "cos", {NULL}, NULL},
    [CLG_EXPR_TAN] = {"tan", 1, "tan", {NULL}, NULL},
    [CLG_EXPR_ASIN] = {"asin", 1, "asin", {NULL}, NULL},
    [CLG_EXPR_ACOS] = {"acos", 1, "acos", {NULL}, NULL},
    [CLG_EXPR_ATAN] = {"atan", 1, "atan", {NULL}, NULL},
    [CLG_EXPR_SINH] = {"sinh", 1, "sinh", {NULL}, NULL},
    [CLG_EXPR_COSH] = {"cosh", 1, "cosh", {NULL}, NULL},
    [CLG_EXPR_ASINH] = {"asinh", 1, "asinh", {NULL}, NULL},
    [CLG_EXPR_ACOSH] = {"acosh", 1, "acosh", {NULL}, NULL},
    [CLG_EXPR_ATANH] = {"atanh", 1, "atanh", {NULL}, NULL},
    /* NaN is the one value unequal to itself; an infinity the one whose
     * magnitude is INFINITY (comparisons, so both work on vectors too) */
    [CLG_EXPR_ISNAN] = {"isnan", 1, "clg_isnan", {"v"}, "v != v ? (@T)(1.0f) : (@T)(0.0f)"},
    [CLG_EXPR_ISINF] = {"isinf", 1, "clg_isinf", {"v"}, "fabs(v) == INFINITY ? (@T)(1.0f) : (@T)(0.0f)"},
};

/* The operations that compute in half when a program computes in half
 * (clg_expr_write_opencl_as): arithmetic, comparisons, selections and
 * clamps, whose result is exact or one rounding of half's own. The rest
 * (exp, log, sqrt, erf, tanh, pow, sigmoid and the activations made of
 * them, trigonometry, isnan/isinf) keep float, their result rounded to
 * half: exp overflows half beyond 11.09 (sigmoid, softplus, elu...),
 * x^3 beyond 40 (gelu_tanh), and the half versions of the transcendental
 * builtins are allowed errors of several half ulps (docs/runtime.md
 * "Precision"). */
static const bool half_arith[CLG_EXPR_OP_COUNT] = {
    [CLG_EXPR_NEG] = true, [CLG_EXPR_ADD] = true, [CLG_EXPR_SUB] = true, [CLG_EXPR_MUL] = true,
    [CLG_EXPR_DIV] = true, [CLG_EXPR_RELU] = true, [CLG_EXPR_LEAKY_RELU] = true, [CLG_EXPR_CLIP] = true,
    [CLG_EXPR_MIN] = true, [CLG_EXPR_MAX] = true, [CLG_EXPR_ABS] = true, [CLG_EXPR_FLOOR] = true,
    [CLG_EXPR_CEIL] = true, [CLG_EXPR_ROUND] = true, [CLG_EXPR_SIGN] = true, [CLG_EXPR_HARD_SIGMOID] = true,
    [CLG_EXPR_HARD_SWISH] = true, [CLG_EXPR_SOFTSIGN] = true, [CLG_EXPR_THRESHOLDED_RELU] = true,
    [CLG_EXPR_EQ] = true, [CLG_EXPR_LT] = true, [CLG_EXPR_GT] = true, [CLG_EXPR_LE] = true, [CLG_EXPR_GE] = true,
    [CLG_EXPR_NOT] = true, [CLG_EXPR_AND] = true, [CLG_EXPR_OR] = true, [CLG_EXPR_XOR] = true,
    [CLG_EXPR_WHERE] = true,
};

/* ---------------------------------------------------------------- text */

void clg_text_printf(clg_text *t, const char *fmt, ...)
{
    size_t room = t->len < t->size ? t->size - t->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n;
}

/* ---------------------------------------------------------------- parsing */

typedef struct expr_parser {
    clg_expr *e;
    const char *text, *p;
    int depth;
    char *err;
    size_t err_size;
} expr_parser;

static clg_status fail_at(expr_parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static clg_status fail_at(expr_parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->err_size) {
        int n = snprintf(ps->err, ps->err_size, "expr: at %d: ", (int)(at - ps->text));
        if (n > 0 && (size_t)n < ps->err_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + n, ps->err_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return CLG_ERR_PARSE;
}

static void skip_space(expr_parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t') ps->p++;
}

/* What is at the cursor, for messages. */
static const char *found(const expr_parser *ps, char *buf, size_t size)
{
    unsigned char c = (unsigned char)*ps->p;
    if (!c) return "the end";
    if (c < 32 || c > 126) snprintf(buf, size, "byte 0x%02x", c);
    else snprintf(buf, size, "'%c'", c);
    return buf;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

/* Appends a node; its index, or -1 with the error set. */
static int add_node(expr_parser *ps, clg_expr_op op, const char *at, int a0, int a1, int a2)
{
    clg_expr *e = ps->e;
    if (e->n_nodes == CLG_EXPR_MAX_NODES) {
        fail_at(ps, at, "more than %d terms", CLG_EXPR_MAX_NODES);
        return -1;
    }
    clg_expr_node *n = &e->nodes[e->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->pos = (int16_t)(at - ps->text);
    n->args[0] = (int16_t)a0;
    n->args[1] = (int16_t)a1;
    n->args[2] = (int16_t)a2;
    return e->n_nodes++;
}

static int parse_expr(expr_parser *ps);

/* Enters one level of nesting at `at`; false (error set) past the limit. */
static bool enter(expr_parser *ps, const char *at)
{
    if (++ps->depth <= CLG_EXPR_MAX_DEPTH) return true;
    fail_at(ps, at, "the expression nests deeper than %d levels", CLG_EXPR_MAX_DEPTH);
    return false;
}

/* Digits with an optional fraction and exponent: 2, 0.5, .5, 1e-05, 3.4e+38. */
static int parse_number(expr_parser *ps)
{
    const char *start = ps->p, *q = ps->p;
    while (is_digit(*q)) q++;
    if (*q == '.') {
        q++;
        while (is_digit(*q)) q++;
    }
    if (q - start == 1 && *start == '.') return fail_at(ps, start, "expected digits around '.'"), -1;
    if (*q == 'e' || *q == 'E') {
        const char *exp = q + 1;
        if (*exp == '+' || *exp == '-') exp++;
        if (!is_digit(*exp)) return fail_at(ps, start, "malformed number: no digits after the exponent's 'e'"), -1;
        while (is_digit(*exp)) exp++;
        q = exp;
    }
    char buf[64];
    size_t len = (size_t)(q - start);
    if (len >= sizeof buf) return fail_at(ps, start, "number longer than %d characters", (int)sizeof buf - 1), -1;
    memcpy(buf, start, len);
    buf[len] = '\0';
    float v = (float)strtod(buf, NULL);
    if (isinf(v)) return fail_at(ps, start, "number %s is out of range for a float", buf), -1;
    ps->p = q;
    int i = add_node(ps, CLG_EXPR_NUMBER, start, -1, -1, -1);
    if (i >= 0) ps->e->nodes[i].value = v;
    return i;
}

static bool word_is(const char *s, size_t len, const char *w) { return strlen(w) == len && memcmp(s, w, len) == 0; }

/* name(arg, ...) with the name already read; the cursor is after it. */
static int parse_call(expr_parser *ps, clg_expr_op op, const char *name)
{
    skip_space(ps);
    char f[32];
    if (*ps->p != '(')
        return fail_at(ps, ps->p, "expected '(' after %s, found %s", functions[op].name, found(ps, f, sizeof f)), -1;
    if (!enter(ps, ps->p)) return -1;
    ps->p++;
    int args[3] = {-1, -1, -1}, n = 0;
    for (;;) {
        int a = parse_expr(ps);
        if (a < 0) return -1;
        if (n < 3) args[n] = a;
        n++;
        skip_space(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == ')') break;
        return fail_at(ps, ps->p, "expected ',' or ')', found %s", found(ps, f, sizeof f)), -1;
    }
    ps->p++;
    ps->depth--;
    int arity = functions[op].arity;
    if (n != arity)
        return fail_at(ps, name, "%s takes %d argument%s, got %d", functions[op].name, arity,
                       arity == 1 ? "" : "s", n), -1;
    return add_node(ps, op, name, args[0], args[1], args[2]);
}

static int parse_primary(expr_parser *ps)
{
    skip_space(ps);
    const char *start = ps->p;
    char f[32];
    if (is_digit(*ps->p) || *ps->p == '.') return parse_number(ps);
    if (*ps->p == '(') {
        if (!enter(ps, start)) return -1;
        ps->p++;
        int i = parse_expr(ps);
        if (i < 0) return -1;
        skip_space(ps);
        if (*ps->p != ')') return fail_at(ps, ps->p, "expected ')', found %s", found(ps, f, sizeof f)), -1;
        ps->p++;
        ps->depth--;
        return i;
    }
    if (!is_name_start(*ps->p))
        return fail_at(ps, start, "expected an expression, found %s", found(ps, f, sizeof f)), -1;
    while (is_name_char(*ps->p)) ps->p++;
    size_t len = (size_t)(ps->p - start);
    int shown = len > 40 ? 40 : (int)len;
    if (start[0] == 'x' && len > 1 && strspn(start + 1, "0123456789") == len - 1) {
        /* xK: K from 0 to 15, written without leading zeros. */
        int k = len <= 3 ? atoi(start + 1) : CLG_EXPR_MAX_INPUTS;
        if ((start[1] == '0' && len > 2) || k >= CLG_EXPR_MAX_INPUTS)
            return fail_at(ps, start, "'%.*s' is not an input: inputs are x0 to x%d", shown, start,
                           CLG_EXPR_MAX_INPUTS - 1), -1;
        int i = add_node(ps, CLG_EXPR_INPUT, start, -1, -1, -1);
        if (i >= 0) {
            ps->e->nodes[i].input = (uint8_t)k;
            ps->e->inputs_used |= 1u << k;
        }
        return i;
    }
    if (word_is(start, len, "inf") || word_is(start, len, "nan")) {
        int i = add_node(ps, CLG_EXPR_NUMBER, start, -1, -1, -1);
        if (i >= 0) ps->e->nodes[i].value = start[0] == 'i' ? INFINITY : NAN;
        return i;
    }
    for (int op = CLG_EXPR_RELU; op < CLG_EXPR_OP_COUNT; op++)
        if (word_is(start, len, functions[op].name)) return parse_call(ps, (clg_expr_op)op, start);
    return fail_at(ps, start, "unknown name '%.*s' (expected x0 to x%d, a number or a function)", shown,
                   start, CLG_EXPR_MAX_INPUTS - 1), -1;
}

static int parse_unary(expr_parser *ps)
{
    skip_space(ps);
    if (*ps->p != '-') return parse_primary(ps);
    const char *at = ps->p++;
    if (!enter(ps, at)) return -1;
    int a = parse_unary(ps);
    if (a < 0) return -1;
    ps->depth--;
    return add_node(ps, CLG_EXPR_NEG, at, a, -1, -1);
}

static int parse_term(expr_parser *ps)
{
    int left = parse_unary(ps);
    for (;;) {
        if (left < 0) return -1;
        skip_space(ps);
        char c = *ps->p;
        if (c != '*' && c != '/') return left;
        const char *at = ps->p++;
        int right = parse_unary(ps);
        if (right < 0) return -1;
        left = add_node(ps, c == '*' ? CLG_EXPR_MUL : CLG_EXPR_DIV, at, left, right, -1);
    }
}

static int parse_expr(expr_parser *ps)
{
    int left = parse_term(ps);
    for (;;) {
        if (left < 0) return -1;
        skip_space(ps);
        char c = *ps->p;
        if (c != '+' && c != '-') return left;
        const char *at = ps->p++;
        int right = parse_term(ps);
        if (right < 0) return -1;
        left = add_node(ps, c == '+' ? CLG_EXPR_ADD : CLG_EXPR_SUB, at, left, right, -1);
    }
}

clg_status clg_expr_parse(clg_expr *e, const char *text, char *err, size_t err_size)
{
    if (err_size) err[0] = '\0';
    e->n_nodes = 0;
    e->inputs_used = 0;
    expr_parser ps = {e, text, text, 0, err, err_size};
    /* Node positions are int16_t; attributes are far shorter anyway. */
    size_t len = strlen(text);
    if (len >= CLG_MAX_STRING_ATTR) {
        if (err_size) snprintf(err, err_size, "expr: longer than %d bytes", CLG_MAX_STRING_ATTR - 1);
        return CLG_ERR_PARSE;
    }
    if (parse_expr(&ps) < 0) return CLG_ERR_PARSE;
    skip_space(&ps);
    if (*ps.p) {
        char f[32];
        return fail_at(&ps, ps.p, "expected an operator or the end, found %s", found(&ps, f, sizeof f));
    }
    return CLG_OK;
}

clg_status clg_expr_check_inputs(const clg_expr *e, int n_inputs, char *err, size_t err_size)
{
    for (int i = 0; i < e->n_nodes; i++) {
        const clg_expr_node *n = &e->nodes[i];
        if (n->op == CLG_EXPR_INPUT && n->input >= n_inputs) {
            if (err_size)
                snprintf(err, err_size, "expr: at %d: x%d is not an input: the node has %d input%s",
                         n->pos, n->input, n_inputs, n_inputs == 1 ? "" : "s");
            return CLG_ERR_INVALID_GRAPH;
        }
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- evaluation */

void clg_expr_eval_many(const clg_expr *e, const double *const *x, size_t count, double *values)
{
    for (int i = 0; i < e->n_nodes; i++) {
        const clg_expr_node *n = &e->nodes[i];
        double *r = values + (size_t)i * count;
        const double *a = n->args[0] >= 0 ? values + (size_t)n->args[0] * count : NULL;
        const double *b = n->args[1] >= 0 ? values + (size_t)n->args[1] * count : NULL;
        const double *c = n->args[2] >= 0 ? values + (size_t)n->args[2] * count : NULL;
        /* r[j] = V for every position j; each case is one formula. */
#define EACH(V) for (size_t j = 0; j < count; j++) r[j] = (V)
        switch ((clg_expr_op)n->op) {
        case CLG_EXPR_NUMBER: EACH(n->value); break;
        case CLG_EXPR_INPUT: EACH(x[n->input][j]); break;
        case CLG_EXPR_NEG: EACH(-a[j]); break;
        case CLG_EXPR_ADD: EACH(a[j] + b[j]); break;
        case CLG_EXPR_SUB: EACH(a[j] - b[j]); break;
        case CLG_EXPR_MUL: EACH(a[j] * b[j]); break;
        case CLG_EXPR_DIV: EACH(a[j] / b[j]); break;
        /* Comparisons, so NaN passes through. */
        case CLG_EXPR_RELU: EACH(a[j] < 0 ? 0.0 : a[j]); break;
        case CLG_EXPR_LEAKY_RELU: EACH(a[j] < 0 ? b[j] * a[j] : a[j]); break;
        case CLG_EXPR_SIGMOID: EACH(1.0 / (1.0 + exp(-a[j]))); break;
        case CLG_EXPR_TANH: EACH(tanh(a[j])); break;
        case CLG_EXPR_CLIP: EACH(a[j] < b[j] ? b[j] : a[j] > c[j] ? c[j] : a[j]); break;
        case CLG_EXPR_GELU: EACH(0.5 * a[j] * (1.0 + erf(a[j] / sqrt(2.0)))); break;
        case CLG_EXPR_GELU_TANH: {
            const double k = 0.79788456080286535588; /* sqrt(2 / pi) */
            EACH(0.5 * a[j] * (1.0 + tanh(k * (a[j] + 0.044715 * a[j] * a[j] * a[j]))));
            break;
        }
        /* NaN in either argument gives NaN, as numpy.minimum/maximum. */
        case CLG_EXPR_MIN: EACH(a[j] < b[j] || isnan(a[j]) ? a[j] : b[j]); break;
        case CLG_EXPR_MAX: EACH(a[j] > b[j] || isnan(a[j]) ? a[j] : b[j]); break;
        case CLG_EXPR_EXP: EACH(exp(a[j])); break;
        case CLG_EXPR_LOG: EACH(log(a[j])); break;
        case CLG_EXPR_SQRT: EACH(sqrt(a[j])); break;
        case CLG_EXPR_ABS: EACH(fabs(a[j])); break;
        case CLG_EXPR_FLOOR: EACH(floor(a[j])); break;
        case CLG_EXPR_CEIL: EACH(ceil(a[j])); break;
        /* halves to even: the default rounding mode, never changed here */
        case CLG_EXPR_ROUND: EACH(nearbyint(a[j])); break;
        case CLG_EXPR_SIGN: EACH(a[j] > 0 ? 1.0 : a[j] < 0 ? -1.0 : a[j]); break;
        case CLG_EXPR_ERF: EACH(erf(a[j])); break;
        case CLG_EXPR_POW: EACH(pow(a[j], b[j])); break;
        case CLG_EXPR_HARD_SIGMOID: {
            for (size_t j = 0; j < count; j++) {
                double v = b[j] * a[j] + c[j];
                r[j] = v < 0 ? 0.0 : v > 1 ? 1.0 : v;
            }
            break;
        }
        case CLG_EXPR_HARD_SWISH: {
            for (size_t j = 0; j < count; j++) {
                double h = a[j] / 6 + 0.5;
                r[j] = h <= 0 ? 0.0 : a[j] * (h > 1 ? 1.0 : h);
            }
            break;
        }
        case CLG_EXPR_ELU: EACH(a[j] < 0 ? b[j] * expm1(a[j]) : a[j]); break;
        case CLG_EXPR_SELU: EACH(a[j] > 0 ? c[j] * a[j] : c[j] * (b[j] * expm1(a[j]))); break;
        case CLG_EXPR_CELU: EACH(a[j] > 0 ? a[j] : b[j] * expm1(a[j] / b[j])); break;
        /* log(1 + exp(v)), written so that exp cannot overflow */
        case CLG_EXPR_SOFTPLUS: EACH(a[j] > 0 ? a[j] + log1p(exp(-a[j])) : log1p(exp(a[j]))); break;
        case CLG_EXPR_SOFTSIGN: EACH(a[j] / (1 + fabs(a[j]))); break;
        case CLG_EXPR_MISH:
            EACH(a[j] * tanh(a[j] > 0 ? a[j] + log1p(exp(-a[j])) : log1p(exp(a[j]))));
            break;
        case CLG_EXPR_THRESHOLDED_RELU: EACH(a[j] <= b[j] ? 0.0 : a[j]); break;
        case CLG_EXPR_EQ: EACH(a[j] == b[j] ? 1.0 : 0.0); break;
        case CLG_EXPR_LT: EACH(a[j] < b[j] ? 1.0 : 0.0); break;
        case CLG_EXPR_GT: EACH(a[j] > b[j] ? 1.0 : 0.0); break;
        case CLG_EXPR_LE: EACH(a[j] <= b[j] ? 1.0 : 0.0); break;
        case CLG_EXPR_GE: EACH(a[j] >= b[j] ? 1.0 : 0.0); break;
        case CLG_EXPR_NOT: EACH(a[j] == 0 ? 1.0 : 0.0); break;
        case CLG_EXPR_AND: EACH(a[j] != 0 && b[j] != 0 ? 1.0 : 0.0); break;
        case CLG_EXPR_OR: EACH(a[j] != 0 || b[j] != 0 ? 1.0 : 0.0); break;
        case CLG_EXPR_XOR: EACH((a[j] != 0) != (b[j] != 0) ? 1.0 : 0.0); break;
        case CLG_EXPR_WHERE: EACH(a[j] != 0 ? b[j] : c[j]); break;
        case CLG_EXPR_SIN: EACH(sin(a[j])); break;
        case CLG_EXPR_COS: EACH(cos(a[j])); break;
        case CLG_EXPR_TAN: EACH(tan(a[j])); break;
        case CLG_EXPR_ASIN: EACH(asin(a[j])); break;
        case CLG_EXPR_ACOS: EACH(acos(a[j])); break;
        case CLG_EXPR_ATAN: EACH(atan(a[j])); break;
        case CLG_EXPR_SINH: EACH(sinh(a[j])); break;
        case CLG_EXPR_COSH: EACH(cosh(a[j])); break;
        case CLG_EXPR_ASINH: EACH(asinh(a[j])); break;
        case CLG_EXPR_ACOSH: EACH(acosh(a[j])); break;
        case CLG_EXPR_ATANH: EACH(atanh(a[j])); break;
        case CLG_EXPR_ISNAN: EACH(isnan(a[j]) ? 1.0 : 0.0); break;
        case CLG_EXPR_ISINF: EACH(isinf(a[j]) ? 1.0 : 0.0); break;
        default: EACH(NAN); break;
        }
#undef EACH
    }
}

double clg_expr_eval(const clg_expr *e, const double *x, double *values)
{
    const double *inputs[CLG_EXPR_MAX_INPUTS];
    for (int k = 0; k < CLG_EXPR_MAX_INPUTS; k++) inputs[k] = &x[k];
    clg_expr_eval_many(e, inputs, 1, values);
    return e->n_nodes ? values[e->n_nodes - 1] : 0.0;
}

/* ---------------------------------------------------------------- writing */

/* Binding strength: + - bind loosest, then * /, then unary minus, then
 * numbers, inputs and calls. */
static int precedence(const clg_expr_node *n)
{
    switch ((clg_expr_op)n->op) {
    case CLG_EXPR_ADD:
    case CLG_EXPR_SUB: return 1;
    case CLG_EXPR_MUL:
    case CLG_EXPR_DIV: return 2;
    case CLG_EXPR_NEG: return 3;
    default: return 4;
    }
}

/* The shortest %g that reads back as the same float (as print.c writes
 * floats); in OpenCL C a float literal, so always with '.' or an exponent
 * and the f suffix. */
static void write_number(clg_text *t, float v, bool cl)
{
    if (isnan(v)) { clg_text_printf(t, cl ? "NAN" : "nan"); return; }
    if (isinf(v)) { clg_text_printf(t, cl ? "INFINITY" : "inf"); return; }
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    if (!cl) clg_text_printf(t, "%s", buf);
    else clg_text_printf(t, "%s%sf", buf, strpbrk(buf, ".e") ? "" : ".0");
}

void clg_expr_write_float(clg_text *t, float v)
{
    if (signbit(v) && !isnan(v)) {
        clg_text_printf(t, "-");
        v = -v;
    }
    write_number(t, v, false);
}

/* cl: NULL for clgraph's text, else OpenCL C with cl appended to the names
 * of clgraph's helper functions ("" for the float ones). half: the node is
 * written in half (compute_t, or halfW for a vector suffix), see
 * clg_expr_write_opencl_as; only with cl. */
static void write_node(const clg_expr *e, int i, clg_text *t, const char *cl, bool half)
{
    const clg_expr_node *n = &e->nodes[i];
    /* A number or an input in half: the float rounded to half (an input
     * came from a half buffer or a float accumulator). */
    if (half && (n->op == CLG_EXPR_NUMBER || n->op == CLG_EXPR_INPUT)) {
        if (*cl) clg_text_printf(t, n->op == CLG_EXPR_INPUT ? "convert_half%s(" : "(compute_t)(", cl);
        else clg_text_printf(t, "(compute_t)(");
        write_node(e, i, t, cl, false);
        clg_text_printf(t, ")");
        return;
    }
    /* An operation that keeps float inside half arithmetic: computed from
     * float operands, its result rounded to half. */
    if (half && !half_arith[n->op]) {
        if (*cl) clg_text_printf(t, "convert_half%s(", cl);
        else clg_text_printf(t, "(compute_t)(");
        write_node(e, i, t, cl, false);
        clg_text_printf(t, ")");
        return;
    }
    switch ((clg_expr_op)n->op) {
    case CLG_EXPR_NUMBER: write_number(t, n->value, cl != NULL); return;
    case CLG_EXPR_INPUT: clg_text_printf(t, "%c%d", cl ? 'v' : 'x', n->input); return;
    case CLG_EXPR_NEG: {
        /* -(-x0), never --x0: that would be a decrement in C. */
        const clg_expr_node *a = &e->nodes[n->args[0]];
        bool paren = precedence(a) < 3 || a->op == CLG_EXPR_NEG;
        clg_text_printf(t, paren ? "-(" : "-");
        write_node(e, n->args[0], t, cl, half);
        if (paren) clg_text_printf(t, ")");
        return;
    }
    case CLG_EXPR_ADD:
    case CLG_EXPR_SUB:
    case CLG_EXPR_MUL:
    case CLG_EXPR_DIV: {
        /* Left-associative: the right operand needs parentheses already at
         * equal strength, a - (b - c) and also a + (b + c), which is a
         * different program (and in floats a different value). */
        int p = precedence(n);
        bool lp = precedence(&e->nodes[n->args[0]]) < p, rp = precedence(&e->nodes[n->args[1]]) <= p;
        static const char ops[] = {[CLG_EXPR_ADD] = '+', [CLG_EXPR_SUB] = '-', [CLG_EXPR_MUL] = '*',
                                   [CLG_EXPR_DIV] = '/'};
        if (lp) clg_text_printf(t, "(");
        write_node(e, n->args[0], t, cl, half);
        clg_text_printf(t, "%s %c %s", lp ? ")" : "", ops[n->op], rp ? "(" : "");
        write_node(e, n->args[1], t, cl, half);
        if (rp) clg_text_printf(t, ")");
        return;
    }
    default: {
        const char *name = cl ? functions[n->op].cl_name : functions[n->op].name;
        clg_text_printf(t, "%s%s%s(", name, half && functions[n->op].body ? "_h" : "",
                        cl && functions[n->op].body ? cl : "");
        for (int k = 0; k < functions[n->op].arity; k++) {
            if (k) clg_text_printf(t, ", ");
            write_node(e, n->args[k], t, cl, half);
        }
        clg_text_printf(t, ")");
        return;
    }
    }
}

void clg_expr_write(const clg_expr *e, clg_text *t)
{
    if (t->size) t->buf[t->len < t->size ? t->len : t->size - 1] = '\0';
    if (e->n_nodes) write_node(e, e->n_nodes - 1, t, NULL, false);
}

size_t clg_expr_print(const clg_expr *e, char *buf, size_t size)
{
    clg_text t = {buf, size, 0};
    clg_expr_write(e, &t);
    return t.len;
}

bool clg_expr_half_arithmetic(const clg_expr *e)
{
    if (!e->n_nodes) return false;
    int op = e->nodes[e->n_nodes - 1].op;
    return op != CLG_EXPR_NUMBER && op != CLG_EXPR_INPUT && half_arith[op];
}

void clg_expr_write_opencl(const clg_expr *e, clg_text *t)
{
    clg_expr_write_opencl_as(e, t, 1, false);
}

void clg_expr_write_opencl_vector(const clg_expr *e, clg_text *t, int width)
{
    clg_expr_write_opencl_as(e, t, width, false);
}

void clg_expr_write_opencl_as(const clg_expr *e, clg_text *t, int width, bool half)
{
    if (t->size) t->buf[t->len < t->size ? t->len : t->size - 1] = '\0';
    char suffix[16] = "";
    if (width > 1) snprintf(suffix, sizeof suffix, "%d", width);
    half = half && clg_expr_half_arithmetic(e);
    if (!e->n_nodes) return;
    /* the value in float again, for STORE and the float callers */
    if (half) clg_text_printf(t, width > 1 ? "convert_float%s(" : "(float)(", suffix);
    write_node(e, e->n_nodes - 1, t, suffix, half);
    if (half) clg_text_printf(t, ")");
}

void clg_expr_write_opencl_helpers(const clg_expr *e, clg_text *t)
{
    clg_expr_write_opencl_helpers_as(e, t, 1, false);
}

/* T cl_nameW(T p0, ...) { return body; }, T float or floatW (W omitted for
 * float); half: T compute_t or halfW, the name cl_name_hW, and every float
 * literal of the body a T (a float literal beside a half vector would not
 * compile, and beside a half scalar would turn the operation into float). */
static void write_helper(clg_text *t, int op, int width, bool half)
{
    char type[16], suffix[16] = "";
    if (width > 1) {
        snprintf(type, sizeof type, "%s%d", half ? "half" : "float", width);
        snprintf(suffix, sizeof suffix, "%d", width);
    } else {
        snprintf(type, sizeof type, "%s", half ? "compute_t" : "float");
    }
    clg_text_printf(t, "%s %s%s%s(", type, functions[op].cl_name, half ? "_h" : "", suffix);
    for (int k = 0; k < functions[op].arity; k++)
        clg_text_printf(t, "%s%s %s", k ? ", " : "", type, functions[op].params[k]);
    const char *body = functions[op].body;
    bool statements = strchr(body, ';') != NULL;
    clg_text_printf(t, ") { %s", statements ? "" : "return ");
    for (const char *b = body; *b;) {
        if (b[0] == '@' && b[1] == 'I') {
            clg_text_printf(t, width > 1 ? "int%d" : "int", width);
            b += 2;
            continue;
        }
        if (b[0] == '@' && b[1] == 'T') {
            clg_text_printf(t, "%s", type);
            b += 2;
            continue;
        }
        bool starts = (*b >= '0' && *b <= '9') &&
                      (b == body || !(isalnum((unsigned char)b[-1]) || b[-1] == '_' || b[-1] == '.'));
        if (half && starts) {
            size_t len = strspn(b, "0123456789.");
            if (b[len] == 'f') {
                clg_text_printf(t, "(%s)(%.*s)", type, (int)len + 1, b);
                b += len + 1;
                continue;
            }
        }
        clg_text_printf(t, "%c", *b++);
    }
    clg_text_printf(t, "%s }\n", statements ? "" : ";");
}

void clg_expr_write_opencl_helpers_vector(const clg_expr *e, clg_text *t, int width)
{
    clg_expr_write_opencl_helpers_as(e, t, width, false);
}

void clg_expr_write_opencl_helpers_as(const clg_expr *e, clg_text *t, int width, bool half)
{
    if (t->size) t->buf[t->len < t->size ? t->len : t->size - 1] = '\0';
    half = half && clg_expr_half_arithmetic(e);
    /* which helpers the expression calls in float and which in half: the
     * same walk from the root as write_node's */
    bool in_float[CLG_EXPR_OP_COUNT] = {false}, in_half[CLG_EXPR_OP_COUNT] = {false};
    bool node_half[CLG_EXPR_MAX_NODES] = {false};
    if (e->n_nodes) node_half[e->n_nodes - 1] = half;
    for (int i = e->n_nodes - 1; i >= 0; i--) { /* every node's operands come before it */
        const clg_expr_node *n = &e->nodes[i];
        bool h = node_half[i] && half_arith[n->op];
        (h ? in_half : in_float)[n->op] = true;
        int arity = n->op == CLG_EXPR_NEG ? 1 : n->op >= CLG_EXPR_ADD && n->op <= CLG_EXPR_DIV ? 2 : functions[n->op].arity;
        for (int k = 0; k < arity; k++) node_half[n->args[k]] = h;
    }
    for (int op = 0; op < CLG_EXPR_OP_COUNT; op++)
        if (in_float[op] && functions[op].body) write_helper(t, op, width, false);
    for (int op = 0; op < CLG_EXPR_OP_COUNT; op++)
        if (in_half[op] && functions[op].body) write_helper(t, op, width, true);
}
