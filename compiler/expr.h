/* The expression language of the Elementwise op (docs/ir.md, "Elementwise
 * expressions"): parsing into a flat program, the canonical text, evaluation
 * in double for the reference executor, and OpenCL C text for generated
 * kernels. All of it works in memory the caller provides, so nothing here
 * allocates or can run out of memory.
 *
 *     expr    := term (('+' | '-') term)*
 *     term    := unary (('*' | '/') unary)*
 *     unary   := '-' unary | primary
 *     primary := NUMBER | 'inf' | 'nan' | 'x' K | FUNCTION '(' expr (',' expr)* ')'
 *              | '(' expr ')'
 */
#ifndef CLG_EXPR_H
#define CLG_EXPR_H

#include "ir.h"

#define CLG_EXPR_MAX_INPUTS 16
/* Every node starts at its own byte of text (an operator, a number, a name,
 * a minus sign), so a text that fits a string attribute fits this many. */
#define CLG_EXPR_MAX_NODES CLG_MAX_STRING_ATTR
/* Nesting of parentheses, calls and minus signs. Bounds the parser's
 * recursion and the bracket depth of the generated OpenCL C, which clang
 * (and so PoCL) limits to 256 by default. */
#define CLG_EXPR_MAX_DEPTH 200

typedef enum clg_expr_op {
    CLG_EXPR_NUMBER,
    CLG_EXPR_INPUT,
    CLG_EXPR_NEG,
    CLG_EXPR_ADD,
    CLG_EXPR_SUB,
    CLG_EXPR_MUL,
    CLG_EXPR_DIV,
    /* the functions, in the order their OpenCL helpers are emitted */
    CLG_EXPR_RELU,
    CLG_EXPR_LEAKY_RELU,
    CLG_EXPR_SIGMOID,
    CLG_EXPR_TANH,
    CLG_EXPR_CLIP,
    CLG_EXPR_GELU,
    CLG_EXPR_GELU_TANH,
    CLG_EXPR_MIN,
    CLG_EXPR_MAX,
    /* unary math */
    CLG_EXPR_EXP,
    CLG_EXPR_LOG,
    CLG_EXPR_SQRT,
    CLG_EXPR_ABS,
    CLG_EXPR_FLOOR,
    CLG_EXPR_CEIL,
    CLG_EXPR_ROUND,
    CLG_EXPR_SIGN,
    CLG_EXPR_ERF,
    CLG_EXPR_POW,
    /* activations */
    CLG_EXPR_HARD_SIGMOID,
    CLG_EXPR_HARD_SWISH,
    CLG_EXPR_ELU,
    CLG_EXPR_SELU,
    CLG_EXPR_CELU,
    CLG_EXPR_SOFTPLUS,
    CLG_EXPR_SOFTSIGN,
    CLG_EXPR_MISH,
    CLG_EXPR_THRESHOLDED_RELU,
    /* comparisons and logic: 1 for true, 0 for false; a nonzero argument
     * (NaN included) is true */
    CLG_EXPR_EQ,
    CLG_EXPR_LT,
    CLG_EXPR_GT,
    CLG_EXPR_LE,
    CLG_EXPR_GE,
    CLG_EXPR_NOT,
    CLG_EXPR_AND,
    CLG_EXPR_OR,
    CLG_EXPR_XOR,
    CLG_EXPR_WHERE,
    /* trigonometric and hyperbolic (rotary position embeddings compute
     * sin and cos of positions in the graph) */
    CLG_EXPR_SIN,
    CLG_EXPR_COS,
    CLG_EXPR_TAN,
    CLG_EXPR_ASIN,
    CLG_EXPR_ACOS,
    CLG_EXPR_ATAN,
    CLG_EXPR_SINH,
    CLG_EXPR_COSH,
    CLG_EXPR_ASINH,
    CLG_EXPR_ACOSH,
    CLG_EXPR_ATANH,
    /* classification: 1 or 0 */
    CLG_EXPR_ISNAN,
    CLG_EXPR_ISINF,
    CLG_EXPR_OP_COUNT
} clg_expr_op;

typedef struct clg_expr_node {
    uint8_t op;      /* clg_expr_op */
    uint8_t input;   /* CLG_EXPR_INPUT: k of xK */
    int16_t pos;     /* byte offset in the text where it was written, for messages */
    int16_t args[3]; /* operands: indices of earlier nodes */
    float value;     /* CLG_EXPR_NUMBER: the number rounded to float */
} clg_expr_node;

/* A parsed expression: nodes in post-order (operands before the node that
 * uses them), the root last. */
typedef struct clg_expr {
    int n_nodes;
    uint32_t inputs_used; /* bit k set when xK appears */
    clg_expr_node nodes[CLG_EXPR_MAX_NODES];
} clg_expr;

/* Parses the NUL-terminated text into *e. Returns CLG_OK, or CLG_ERR_PARSE
 * with "expr: at P: WHAT" in err (P is a byte offset from 0). */
CLG_INTERNAL clg_status clg_expr_parse(clg_expr *e, const char *text, char *err, size_t err_size);

/* CLG_OK when every xK has K < n_inputs; else CLG_ERR_INVALID_GRAPH with a
 * message naming the first that does not. Inputs the expression never uses
 * are allowed. */
CLG_INTERNAL clg_status clg_expr_check_inputs(const clg_expr *e, int n_inputs, char *err,
                                              size_t err_size);

/* Evaluates e with the inputs x (x[k] for xK, every one of the 16 readable)
 * in double: the reference executor's formula of each function and so of
 * each elementwise op. values is scratch room for e->n_nodes doubles. */
CLG_INTERNAL double clg_expr_eval(const clg_expr *e, const double *x, double *values);
/* The same at count positions at once: x[k] points to count values of xK
 * (only the inputs e uses are read); values is room for e->n_nodes * count
 * doubles, node i's at values[i * count], so the results are the last
 * count. */
CLG_INTERNAL void clg_expr_eval_many(const clg_expr *e, const double *const *x, size_t count, double *values);

/* A text being written into a fixed buffer, snprintf-style: len counts every
 * byte asked for, also those that did not fit, so a first pass with size 0
 * measures. buf stays NUL-terminated when size > 0. */
typedef struct clg_text {
    char *buf;
    size_t size, len;
} clg_text;

CLG_INTERNAL void clg_text_printf(clg_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A number the parser reads back as exactly v: the shortest form, with a
 * minus sign for negatives (-0.5, -0, -inf), which the parser takes as a
 * negation of the number. */
CLG_INTERNAL void clg_expr_write_float(clg_text *t, float v);

/* The canonical text: minimal parentheses, one space around binary
 * operators, ", " between arguments, numbers in the shortest form that reads
 * back to the same float. Parsing it gives the same program. */
CLG_INTERNAL void clg_expr_write(const clg_expr *e, clg_text *t);
/* As clg_expr_write into buf; returns the full length (>= size: truncated). */
CLG_INTERNAL size_t clg_expr_print(const clg_expr *e, char *buf, size_t size);

/* The expression as OpenCL C over float variables v0..v15 (xK read as vK),
 * calling the helpers below. */
CLG_INTERNAL void clg_expr_write_opencl(const clg_expr *e, clg_text *t);
/* OpenCL C definitions of the helper functions e calls, one per line, in a
 * fixed order; empty when it calls none. */
CLG_INTERNAL void clg_expr_write_opencl_helpers(const clg_expr *e, clg_text *t);
/* The same over floatW vectors (W 2, 4, 8 or 16; 1: as above): the
 * expression calls clgraph's helpers with W appended to their names, and
 * the helpers are written for floatW under those names; inputs v0.. are
 * floatW, numbers stay float literals (widened). A helper's body is one
 * text for every width (comparisons, ?: and || work per component on
 * vectors); only its signature names the type, and the body where it says
 * @T (a 1 or 0 of the helper's type). */
CLG_INTERNAL void clg_expr_write_opencl_vector(const clg_expr *e, clg_text *t, int width);
CLG_INTERNAL void clg_expr_write_opencl_helpers_vector(const clg_expr *e, clg_text *t, int width);

/* Half arithmetic (precision fp16, docs/runtime.md "Precision"): the same
 * expression written to compute in half where that is safe. With half,
 * the arithmetic, comparisons, selections and clamps compute in compute_t
 * (halfW for vectors, cl_khr_fp16), an input or a number rounded to half
 * where half arithmetic reads it; the functions that keep float (exp, log,
 * sqrt, erf, tanh, pow, sigmoid and what is made of them) compute from
 * float operands and round their result to half; the whole value is
 * converted back to float(W) at the end. Helpers in half are named
 * cl_name_hW. An expression whose root keeps float, or a lone input or
 * number, has no half arithmetic (clg_expr_half_arithmetic false) and is
 * written as without half, byte for byte. */
CLG_INTERNAL bool clg_expr_half_arithmetic(const clg_expr *e);
CLG_INTERNAL void clg_expr_write_opencl_as(const clg_expr *e, clg_text *t, int width, bool half);
CLG_INTERNAL void clg_expr_write_opencl_helpers_as(const clg_expr *e, clg_text *t, int width, bool half);

/* The value of node n as an expression over its inputs: an Elementwise
 * node's expr, or what its op's row of the op table writes (a Relu gives
 * relu(x0), a LeakyRelu with alpha=0.2 leaky_relu(x0, 0.2)). Returns
 * CLG_OK; CLG_ERR_INVALID_ARGUMENT for an op that is not elementwise;
 * CLG_ERR_PARSE (message in err) for an expression that does not parse. */
CLG_INTERNAL clg_status clg_expr_of_node(const clg_node *n, clg_expr *e, char *err, size_t err_size);

#endif
