/* The op table: text name, arity, attributes, shape function and the
 * properties the passes, the memory planner and the lowering read (the
 * expression of an elementwise op, which inputs may be overwritten in place,
 * whether the output aliases the input) per op. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "infer.h"

static_assert(CLG_OP_COUNT == 54, "a new op needs a row in op_table below and a reference kernel");

#define ATTRS(...) (int)(sizeof((clg_attr_field[]){__VA_ARGS__}) / sizeof(clg_attr_field)), {__VA_ARGS__}
#define NO_ATTRS 0, {0}

/* ---- the expressions of the elementwise ops (what each function means is
 * docs/ir.md's table; its float formula is expr.c's, its double one
 * clg_expr_eval's) */

static void expr_add(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "x0 + x1"); }
static void expr_sub(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "x0 - x1"); }
static void expr_mul(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "x0 * x1"); }
static void expr_div(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "x0 / x1"); }
static void expr_relu(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "relu(x0)"); }
static void expr_sigmoid(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "sigmoid(x0)"); }
static void expr_tanh(const clg_attrs *a, clg_text *t) { (void)a; clg_text_printf(t, "tanh(x0)"); }

static void expr_leaky_relu(const clg_attrs *a, clg_text *t)
{
    clg_text_printf(t, "leaky_relu(x0, ");
    clg_expr_write_float(t, a->alpha);
    clg_text_printf(t, ")");
}

static void expr_clip(const clg_attrs *a, clg_text *t)
{
    clg_text_printf(t, "clip(x0, ");
    clg_expr_write_float(t, a->min);
    clg_text_printf(t, ", ");
    clg_expr_write_float(t, a->max);
    clg_text_printf(t, ")");
}

static void expr_gelu(const clg_attrs *a, clg_text *t)
{
    clg_text_printf(t, a->approximate ? "gelu_tanh(x0)" : "gelu(x0)");
}

static void expr_elementwise(const clg_attrs *a, clg_text *t) { clg_text_printf(t, "%s", a->expr); }

/* Designated initialisers after the positional ones: only the properties an
 * op has are written (`.expr = NULL` in a row with none, so that clang's
 * -Wmissing-field-initializers sees every row name its properties). */
#define ELEMENTWISE(fn) .expr = (fn), .in_place = CLG_IN_PLACE_ALL, .types = CLG_TYPES_ANY
#define REDUCE_ATTRS ATTRS(CLG_F_AXES, CLG_F_KEEPDIMS)

static const clg_op_info op_table[CLG_OP_COUNT] = {
    [CLG_OP_INPUT] = {"Input", 0, 0, NO_ATTRS, NULL, .expr = NULL},
    [CLG_OP_CONSTANT] = {"Constant", 0, 0, NO_ATTRS, NULL, .expr = NULL},
    /* Arity counts the op's own inputs; an epilogue's follow them. */
    [CLG_OP_GEMM] = {"Gemm", 2, 3,
                     ATTRS(CLG_F_ALPHA, CLG_F_BETA, CLG_F_TRANS_A, CLG_F_TRANS_B, CLG_F_EPILOGUE),
                     clg_infer_gemm, .expr = NULL},
    [CLG_OP_MATMUL] = {"MatMul", 2, 2, ATTRS(CLG_F_EPILOGUE), clg_infer_matmul, .expr = NULL},
    [CLG_OP_CONV2D] = {"Conv2D", 2, 3, ATTRS(CLG_F_STRIDES, CLG_F_PADS, CLG_F_DILATIONS, CLG_F_GROUP, CLG_F_EPILOGUE),
                       clg_infer_conv2d, .expr = NULL},
    /* kernels/elementwise.cl's batchnorm reads x[i], then writes y[i] */
    [CLG_OP_BATCHNORM] = {"BatchNorm", 5, 5, ATTRS(CLG_F_EPSILON), clg_infer_batchnorm, .in_place = 1u << 0},
    [CLG_OP_ADD] = {"Add", 2, 2, NO_ATTRS, clg_infer_broadcast, ELEMENTWISE(expr_add)},
    [CLG_OP_SUB] = {"Sub", 2, 2, NO_ATTRS, clg_infer_broadcast, ELEMENTWISE(expr_sub)},
    [CLG_OP_MUL] = {"Mul", 2, 2, NO_ATTRS, clg_infer_broadcast, ELEMENTWISE(expr_mul)},
    [CLG_OP_DIV] = {"Div", 2, 2, NO_ATTRS, clg_infer_broadcast, ELEMENTWISE(expr_div)},
    [CLG_OP_RELU] = {"Relu", 1, 1, NO_ATTRS, clg_infer_same, ELEMENTWISE(expr_relu)},
    [CLG_OP_LEAKY_RELU] = {"LeakyRelu", 1, 1, ATTRS(CLG_F_ALPHA), clg_infer_same, ELEMENTWISE(expr_leaky_relu)},
    [CLG_OP_SIGMOID] = {"Sigmoid", 1, 1, NO_ATTRS, clg_infer_same, ELEMENTWISE(expr_sigmoid)},
    [CLG_OP_TANH] = {"Tanh", 1, 1, NO_ATTRS, clg_infer_same, ELEMENTWISE(expr_tanh)},
    [CLG_OP_CLIP] = {"Clip", 1, 1, ATTRS(CLG_F_MIN, CLG_F_MAX), clg_infer_clip, ELEMENTWISE(expr_clip)},
    [CLG_OP_GELU] = {"Gelu", 1, 1, ATTRS(CLG_F_APPROXIMATE), clg_infer_same, ELEMENTWISE(expr_gelu)},
    /* kernels/softmax.cl: one work-item per row reads its elements before
     * writing them */
    [CLG_OP_SOFTMAX] = {"Softmax", 1, 1, ATTRS(CLG_F_AXIS), clg_infer_softmax, .in_place = 1u << 0},
    [CLG_OP_MAXPOOL] = {"MaxPool", 1, 1,
                        ATTRS(CLG_F_KERNEL, CLG_F_STRIDES, CLG_F_PADS, CLG_F_DILATIONS, CLG_F_CEIL_MODE),
                        clg_infer_pool, .expr = NULL},
    [CLG_OP_AVERAGEPOOL] = {"AveragePool", 1, 1,
                            ATTRS(CLG_F_KERNEL, CLG_F_STRIDES, CLG_F_PADS, CLG_F_CEIL_MODE,
                                  CLG_F_COUNT_INCLUDE_PAD),
                            clg_infer_pool, .expr = NULL},
    [CLG_OP_GLOBALAVERAGEPOOL] = {"GlobalAveragePool", 1, 1, NO_ATTRS, clg_infer_global_pool, .expr = NULL},
    [CLG_OP_FLATTEN] = {"Flatten", 1, 1, ATTRS(CLG_F_AXIS), clg_infer_flatten, .alias = true, .types = CLG_TYPES_SAME},
    [CLG_OP_RESHAPE] = {"Reshape", 1, 1, ATTRS(CLG_F_SHAPE), clg_infer_reshape, .alias = true, .types = CLG_TYPES_SAME},
    [CLG_OP_TRANSPOSE] = {"Transpose", 1, 1, ATTRS(CLG_F_PERM), clg_infer_transpose, .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_CONCAT] = {"Concat", 1, -1, ATTRS(CLG_F_AXIS), clg_infer_concat, .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_IDENTITY] = {"Identity", 1, 1, NO_ATTRS, clg_infer_same, .alias = true, .types = CLG_TYPES_SAME},
    [CLG_OP_ELEMENTWISE] = {"Elementwise", 1, CLG_EXPR_MAX_INPUTS, ATTRS(CLG_F_EXPR), clg_infer_elementwise,
                            ELEMENTWISE(expr_elementwise)},
    /* Data movement plus a fill value: any element type, the value checked
     * against it (compiler/dtype.c). */
    [CLG_OP_PAD] = {"Pad", 1, 1, ATTRS(CLG_F_PAD_AMOUNTS, CLG_F_PAD_MODE, CLG_F_PAD_VALUE), clg_infer_pad,
                    .expr = NULL, .types = CLG_TYPES_SAME},
    /* Data movement (kernels/copy.cl through runtime/lower/movement.c). */
    [CLG_OP_SLICE] = {"Slice", 1, 1, ATTRS(CLG_F_STARTS, CLG_F_ENDS, CLG_F_AXES, CLG_F_STEPS), clg_infer_slice,
                      .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_EXPAND] = {"Expand", 1, 1, ATTRS(CLG_F_SHAPE), clg_infer_expand, .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_TILE] = {"Tile", 1, 1, ATTRS(CLG_F_REPEATS), clg_infer_tile, .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_DEPTH_TO_SPACE] = {"DepthToSpace", 1, 1, ATTRS(CLG_F_BLOCKSIZE, CLG_F_BLOCK_MODE), clg_infer_depth_space,
                               .expr = NULL, .types = CLG_TYPES_SAME},
    [CLG_OP_SPACE_TO_DEPTH] = {"SpaceToDepth", 1, 1, ATTRS(CLG_F_BLOCKSIZE), clg_infer_depth_space, .expr = NULL,
                               .types = CLG_TYPES_SAME},
    /* kernels/reduce.cl; what each computes is docs/ir.md's table */
    [CLG_OP_REDUCE_MEAN] = {"ReduceMean", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_SUM] = {"ReduceSum", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_MAX] = {"ReduceMax", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_MIN] = {"ReduceMin", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_PROD] = {"ReduceProd", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_L1] = {"ReduceL1", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_L2] = {"ReduceL2", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_SUM_SQUARE] = {"ReduceSumSquare", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_LOG_SUM] = {"ReduceLogSum", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    [CLG_OP_REDUCE_LOG_SUM_EXP] = {"ReduceLogSumExp", 1, 1, REDUCE_ATTRS, clg_infer_reduce, .expr = NULL},
    /* kernels/layernorm.cl: a work-group per row reads the row (x, and
     * the residual r) into its sums before the barrier that precedes the
     * first write, and each work-item then writes only elements it read */
    [CLG_OP_LAYER_NORM] = {"LayerNorm", 2, 4, ATTRS(CLG_F_AXIS, CLG_F_EPSILON), clg_infer_layer_norm,
                           .in_place = 1u << 0 | 1u << 3},
    /* the softmax kernels with -DLOG_SOFTMAX */
    [CLG_OP_LOG_SOFTMAX] = {"LogSoftmax", 1, 1, ATTRS(CLG_F_AXIS), clg_infer_softmax, .in_place = 1u << 0},
    /* Data movement and conversion: integer and bool values pass through
     * as the exact floats they are held in. */
    [CLG_OP_GATHER] = {"Gather", 2, 2, ATTRS(CLG_F_AXIS), clg_infer_gather, .expr = NULL,
                       .types = CLG_TYPES_GATHER},
    /* kernels/copy.cl's cast reads x[i], then writes y[i] */
    [CLG_OP_CAST] = {"Cast", 1, 1, ATTRS(CLG_F_TO), clg_infer_same, .in_place = 1u << 0,
                     .types = CLG_TYPES_CAST},
    [CLG_OP_GATHER_ELEMENTS] = {"GatherElements", 2, 2, ATTRS(CLG_F_AXIS), clg_infer_gather_elements,
                                .expr = NULL, .types = CLG_TYPES_GATHER},
    [CLG_OP_ATTENTION] = {"Attention", 3, 4, ATTRS(CLG_F_SCALE), clg_infer_attention, .expr = NULL},
    /* kernels/trilu.cl: each work-item reads the one element it writes;
     * the kept elements and the zeros are exact in any element type */
    [CLG_OP_TRILU] = {"Trilu", 1, 1, ATTRS(CLG_F_UPPER, CLG_F_TRILU_K), clg_infer_trilu, .in_place = 1u << 0,
                      .types = CLG_TYPES_SAME},
    /* kernels/resize.cl: computes in float, so f32 only */
    [CLG_OP_RESIZE] = {"Resize", 1, 1,
                       ATTRS(CLG_F_RESIZE_SIZES, CLG_F_HEIGHT_SCALE, CLG_F_WIDTH_SCALE, CLG_F_RESIZE_MODE,
                             CLG_F_COORD_MODE, CLG_F_NEAREST_MODE, CLG_F_CUBIC_COEFF_A, CLG_F_EXCLUDE_OUTSIDE),
                       clg_infer_resize, .expr = NULL},
    /* kernels/conv_transpose.cl; pads may be negative (docs/ir.md) */
    [CLG_OP_CONV_TRANSPOSE] = {"ConvTranspose2D", 2, 3, ATTRS(CLG_F_STRIDES, CLG_F_PADS, CLG_F_DILATIONS, CLG_F_GROUP),
                               clg_infer_conv_transpose, .expr = NULL},
    /* kernels/argmax.cl: the index is exact as a float (dims < 2^24 are
     * checked by the shape function) */
    [CLG_OP_ARGMAX] = {"ArgMax", 1, 1, ATTRS(CLG_F_AXIS, CLG_F_KEEPDIMS, CLG_F_SELECT_LAST_INDEX), clg_infer_argmax,
                       .expr = NULL, .types = CLG_TYPES_INDEX},
    [CLG_OP_ARGMIN] = {"ArgMin", 1, 1, ATTRS(CLG_F_AXIS, CLG_F_KEEPDIMS, CLG_F_SELECT_LAST_INDEX), clg_infer_argmax,
                       .expr = NULL, .types = CLG_TYPES_INDEX},
    /* No inputs: its length is the attribute shape's one entry, a symbolic
     * size when the ONNX limit was one (positions = arange(S)); its type is
     * the attribute to, its values exact floats in an integer type. */
    [CLG_OP_RANGE] = {"Range", 0, 0, ATTRS(CLG_F_START, CLG_F_DELTA, CLG_F_SHAPE, CLG_F_TO), clg_infer_range,
                      .expr = NULL, .types = CLG_TYPES_CAST},
};

const clg_op_info *clg_op_get(clg_op op)
{
    if ((int)op < 0 || op >= CLG_OP_COUNT) return NULL;
    return &op_table[op];
}

clg_status clg_expr_of_node(const clg_node *n, clg_expr *e, char *err, size_t err_size)
{
    const clg_op_info *info = clg_op_get(n->op);
    if (!info || !info->expr) {
        if (err_size) snprintf(err, err_size, "%s is not an elementwise op", info ? info->name : "the op");
        return CLG_ERR_INVALID_ARGUMENT;
    }
    char text[CLG_MAX_STRING_ATTR];
    clg_text t = {text, sizeof text, 0};
    info->expr(&n->attrs, &t);
    if (t.len >= sizeof text) {
        if (err_size) snprintf(err, err_size, "expr: longer than %d bytes", CLG_MAX_STRING_ATTR - 1);
        return CLG_ERR_PARSE;
    }
    return clg_expr_parse(e, text, err, err_size);
}

const char *clg_op_name(clg_op op)
{
    const clg_op_info *info = clg_op_get(op);
    return info ? info->name : NULL;
}

bool clg_op_from_name(const char *name, size_t len, clg_op *op)
{
    /* Input and Constant are statements, not callable ops. */
    for (int i = CLG_OP_GEMM; i < CLG_OP_COUNT; i++) {
        if (strlen(op_table[i].name) == len && memcmp(op_table[i].name, name, len) == 0) {
            *op = (clg_op)i;
            return true;
        }
    }
    return false;
}

void clg_attrs_default(clg_op op, clg_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->alpha = op == CLG_OP_LEAKY_RELU ? 0.01f : 1.0f;
    a->beta = 1.0f;
    a->epsilon = 1e-5f;
    a->min = -INFINITY;
    a->max = INFINITY;
    a->axis = op == CLG_OP_SOFTMAX || op == CLG_OP_LOG_SOFTMAX || op == CLG_OP_LAYER_NORM ? -1
            : op == CLG_OP_GATHER || op == CLG_OP_GATHER_ELEMENTS || op == CLG_OP_ARGMAX || op == CLG_OP_ARGMIN ? 0
                                                                                                          : 1;
    a->keepdims = 1;
    a->upper = 1;
    a->range_delta = 1.0f;
    a->strides[0] = a->strides[1] = 1;
    a->dilations[0] = a->dilations[1] = 1;
    a->group = 1;
    a->scale = 1.0f;
    a->cubic_coeff_a = -0.75f;
}

bool clg_op_takes_epilogue(clg_op op)
{
    const clg_op_info *info = clg_op_get(op);
    for (int i = 0; info && i < info->n_attrs; i++)
        if (info->attrs[i] == CLG_F_EPILOGUE) return true;
    return false;
}

bool clg_node_has_epilogue(const clg_node *n)
{
    return clg_op_takes_epilogue(n->op) && n->attrs.expr[0] != '\0';
}

int clg_epilogue_inputs(clg_op op, const clg_attrs *a)
{
    if (!clg_op_takes_epilogue(op) || !a->expr[0]) return 0;
    if (!memchr(a->expr, '\0', sizeof a->expr)) return -1;
    clg_expr e;
    char err[8];
    if (clg_expr_parse(&e, a->expr, err, sizeof err)) return -1;
    int k = 0;
    for (int i = 1; i < CLG_EXPR_MAX_INPUTS; i++)
        if (e.inputs_used & (1u << i)) k = i;
    return k;
}

int clg_node_own_inputs(const clg_node *n)
{
    int k = clg_epilogue_inputs(n->op, &n->attrs);
    return k > 0 ? n->n_inputs - k : n->n_inputs;
}
