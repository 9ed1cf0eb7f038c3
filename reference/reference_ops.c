/* The reference kernels: one plain C loop nest per op, ONNX semantics,
 * written for correctness rather than speed. Long sums accumulate in double.
 * Shapes arrive concrete and already checked by shape inference, so the
 * kernels trust them. */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "expr.h"
#include "reference_ops.h"

#define R CLG_MAX_RANK

static int64_t count_of(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* Product of dims[lo, hi). */
static int64_t dims_product(const clg_shape *s, int lo, int hi)
{
    int64_t n = 1;
    for (int i = lo; i < hi; i++) n *= s->dims[i];
    return n;
}

/* Element strides of `in` seen through the output shape `out` under NumPy
 * broadcasting: in's dims align to out's trailing dims, and a dim of 1 (or a
 * missing leading dim) gets stride 0 so the same element repeats. */
static void broadcast_strides(const clg_shape *in, const clg_shape *out, int64_t st[R])
{
    int off = out->rank - in->rank;
    int64_t s = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int k = i - off;
        if (k < 0) {
            st[i] = 0;
        } else {
            st[i] = in->dims[k] == 1 ? 0 : s;
            s *= in->dims[k];
        }
    }
}

/* Walks a dense output of `shape` in C order while keeping two strided input
 * offsets in step; the general broadcast (and permutation) iterator. */
typedef struct strided_walk {
    int rank;
    int64_t dims[R], idx[R];
    int64_t st_a[R], st_b[R];
    int64_t off_a, off_b;
} strided_walk;

static void walk_init(strided_walk *w, const clg_shape *shape, const int64_t *st_a,
                      const int64_t *st_b)
{
    memset(w, 0, sizeof *w);
    w->rank = shape->rank;
    for (int i = 0; i < shape->rank; i++) {
        w->dims[i] = shape->dims[i];
        w->st_a[i] = st_a ? st_a[i] : 0;
        w->st_b[i] = st_b ? st_b[i] : 0;
    }
}

static void walk_next(strided_walk *w)
{
    for (int d = w->rank - 1; d >= 0; d--) {
        w->off_a += w->st_a[d];
        w->off_b += w->st_b[d];
        if (++w->idx[d] < w->dims[d]) return;
        w->off_a -= w->st_a[d] * w->dims[d];
        w->off_b -= w->st_b[d] * w->dims[d];
        w->idx[d] = 0;
    }
}

/* ------------------------------------------------------------ elementwise */

/* Every elementwise op (Add ... Gelu, Elementwise: those with an expression
 * in the op table): the expression evaluated in double per output element,
 * with each input broadcast to the output's shape, rounded once. For one
 * +, -, * or / of two floats that is the float operation's result. The
 * elements go in chunks, so the expression's switch runs once per node and
 * chunk rather than per element. */
#define CHUNK 64

static clg_status k_elementwise(const clg_ref_args *a)
{
    const clg_node *node = a->node;
    clg_expr *e = clg_malloc(a->g, sizeof *e);
    double *values = NULL;
    char err[256];
    clg_status s = CLG_OK;
    if (!e) return clg_fail_node(a->g, CLG_ERR_OUT_OF_MEMORY, node->line, node->name, node->op, "out of memory");
    /* A node with an epilogue comes here for it (clg_ref_run_node): its
     * expr slot holds the epilogue's text. */
    clg_status parsed = clg_node_has_epilogue(node) ? clg_expr_parse(e, node->attrs.expr, err, sizeof err)
                                                    : clg_expr_of_node(node, e, err, sizeof err);
    if (a->n_inputs > CLG_EXPR_MAX_INPUTS || parsed || clg_expr_check_inputs(e, a->n_inputs, err, sizeof err)) {
        s = clg_fail_node(a->g, CLG_ERR_INVALID_GRAPH, node->line, node->name, node->op, "%s",
                          a->n_inputs > CLG_EXPR_MAX_INPUTS ? "too many inputs" : err);
        goto done;
    }
    if (!(values = clg_malloc(a->g, (size_t)e->n_nodes * CHUNK * sizeof *values))) {
        s = clg_fail_node(a->g, CLG_ERR_OUT_OF_MEMORY, node->line, node->name, node->op, "out of memory");
        goto done;
    }
    const clg_shape *ys = a->out_shape;
    int64_t st[CLG_EXPR_MAX_INPUTS][R], off[CLG_EXPR_MAX_INPUTS] = {0}, idx[R] = {0};
    for (int k = 0; k < a->n_inputs; k++) broadcast_strides(a->in_shapes[k], ys, st[k]);
    double x[CLG_EXPR_MAX_INPUTS][CHUNK];
    const double *xp[CLG_EXPR_MAX_INPUTS] = {NULL}; /* the expression reads only inputs it has */
    for (int k = 0; k < a->n_inputs; k++) xp[k] = x[k];
    int64_t n = count_of(ys);
    bool dense = true; /* every input of the output's shape: read in order */
    for (int k = 0; k < a->n_inputs; k++) dense = dense && count_of(a->in_shapes[k]) == n;
    for (int64_t base = 0; base < n; base += CHUNK) {
        int count = n - base < CHUNK ? (int)(n - base) : CHUNK;
        for (int j = 0; dense && j < count; j++)
            for (int k = 0; k < a->n_inputs; k++) x[k][j] = a->in[k][base + j];
        for (int j = 0; !dense && j < count; j++) {
            for (int k = 0; k < a->n_inputs; k++) x[k][j] = a->in[k][off[k]];
            /* The next output index in C order, moving every input's offset. */
            for (int d = ys->rank - 1; d >= 0; d--) {
                for (int k = 0; k < a->n_inputs; k++) off[k] += st[k][d];
                if (++idx[d] < ys->dims[d]) break;
                for (int k = 0; k < a->n_inputs; k++) off[k] -= st[k][d] * ys->dims[d];
                idx[d] = 0;
            }
        }
        clg_expr_eval_many(e, xp, (size_t)count, values);
        const double *result = values + (size_t)(e->n_nodes - 1) * (size_t)count;
        for (int j = 0; j < count; j++) a->out[base + j] = (float)result[j];
    }
done:
    clg_free(a->g, values);
    clg_free(a->g, e);
    return s;
}

/* Flatten, Reshape, Identity: the shape is all that changes. */
static clg_status k_copy(const clg_ref_args *a)
{
    memcpy(a->out, a->in[0], (size_t)count_of(a->out_shape) * sizeof *a->out);
    return CLG_OK;
}

/* ------------------------------------------------------- matrix products */

static clg_status k_gemm(const clg_ref_args *a)
{
    const clg_attrs *at = &a->node->attrs;
    const clg_shape *sa = a->in_shapes[0];
    int64_t m = a->out_shape->dims[0], n = a->out_shape->dims[1];
    int64_t k = at->trans_a ? sa->dims[0] : sa->dims[1];
    const float *A = a->in[0], *B = a->in[1], *C = a->n_inputs > 2 ? a->in[2] : NULL;
    int64_t cs[R] = {0};
    if (C) broadcast_strides(a->in_shapes[2], a->out_shape, cs);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; p++) {
                double av = at->trans_a ? A[p * m + i] : A[i * k + p];
                double bv = at->trans_b ? B[j * k + p] : B[p * n + j];
                acc += av * bv;
            }
            double y = (double)at->alpha * acc;
            if (C) y += (double)at->beta * C[i * cs[0] + j * cs[1]];
            a->out[i * n + j] = (float)y;
        }
    }
    return CLG_OK;
}

/* numpy.matmul: a rank-1 A is a row vector [1, K] and a rank-1 B a column
 * [K, 1], with that dim dropped from the result; the dims before the last
 * two broadcast. The output's element order is [batch..., M, N] either way. */
static clg_status k_matmul(const clg_ref_args *a)
{
    clg_shape sa = *a->in_shapes[0], sb = *a->in_shapes[1];
    if (sa.rank == 1) { sa.rank = 2; sa.dims[1] = sa.dims[0]; sa.dims[0] = 1; }
    if (sb.rank == 1) { sb.rank = 2; sb.dims[1] = 1; }
    int64_t m = sa.dims[sa.rank - 2], k = sa.dims[sa.rank - 1], n = sb.dims[sb.rank - 1];
    clg_shape ba = {sa.rank - 2, {0}}, bb = {sb.rank - 2, {0}};
    for (int i = 0; i < ba.rank; i++) ba.dims[i] = sa.dims[i];
    for (int i = 0; i < bb.rank; i++) bb.dims[i] = sb.dims[i];
    clg_shape batch = {ba.rank > bb.rank ? ba.rank : bb.rank, {0}};
    for (int i = 0; i < batch.rank; i++) batch.dims[i] = a->out_shape->dims[i];
    /* Strides in whole matrices, then scaled to elements. */
    int64_t st_a[R] = {0}, st_b[R] = {0};
    broadcast_strides(&ba, &batch, st_a);
    broadcast_strides(&bb, &batch, st_b);
    for (int i = 0; i < batch.rank; i++) {
        st_a[i] *= m * k;
        st_b[i] *= k * n;
    }
    strided_walk w;
    walk_init(&w, &batch, st_a, st_b);
    int64_t n_batch = count_of(&batch);
    float *out = a->out;
    for (int64_t bi = 0; bi < n_batch; bi++, walk_next(&w)) {
        const float *A = a->in[0] + w.off_a, *B = a->in[1] + w.off_b;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0.0;
                for (int64_t p = 0; p < k; p++) acc += (double)A[i * k + p] * (double)B[p * n + j];
                out[i * n + j] = (float)acc;
            }
        out += m * n;
    }
    return CLG_OK;
}

/* ------------------------------------------------------------ convolution */

static clg_status k_conv2d(const clg_ref_args *a)
{
    const clg_attrs *at = &a->node->attrs;
    const clg_shape *xs = a->in_shapes[0], *ws = a->in_shapes[1], *ys = a->out_shape;
    int64_t batch = xs->dims[0], cin = xs->dims[1], h = xs->dims[2], wd = xs->dims[3];
    int64_t cout = ws->dims[0], cg = ws->dims[1], kh = ws->dims[2], kw = ws->dims[3];
    int64_t oh = ys->dims[2], ow = ys->dims[3];
    int64_t mg = cout / at->group; /* output channels per group */
    const float *x = a->in[0], *w = a->in[1], *bias = a->n_inputs > 2 ? a->in[2] : NULL;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t m = 0; m < cout; m++) {
            int64_t c0 = (m / mg) * cg; /* first input channel of m's group */
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[m] : 0.0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t ky = 0; ky < kh; ky++) {
                            int64_t iy = oy * at->strides[0] - at->pads[0] + ky * at->dilations[0];
                            if (iy < 0 || iy >= h) continue;
                            for (int64_t kx = 0; kx < kw; kx++) {
                                int64_t ix = ox * at->strides[1] - at->pads[1] + kx * at->dilations[1];
                                if (ix < 0 || ix >= wd) continue;
                                acc += (double)x[((b * cin + c0 + c) * h + iy) * wd + ix] *
                                       (double)w[((m * cg + c) * kh + ky) * kw + kx];
                            }
                        }
                    a->out[((b * cout + m) * oh + oy) * ow + ox] = (float)acc;
                }
        }
    return CLG_OK;
}

/* ------------------------------------------------------------ normalising */

static clg_status k_batchnorm(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int64_t outer = xs->dims[0], ch = xs->dims[1], inner = dims_product(xs, 2, xs->rank);
    const float *x = a->in[0], *scale = a->in[1], *bias = a->in[2], *mean = a->in[3],
                *var = a->in[4];
    double eps = a->node->attrs.epsilon;
    for (int64_t c = 0; c < ch; c++) {
        double mul = (double)scale[c] / sqrt((double)var[c] + eps);
        for (int64_t o = 0; o < outer; o++) {
            int64_t base = (o * ch + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                a->out[base + i] = (float)(mul * ((double)x[base + i] - mean[c]) + bias[c]);
        }
    }
    return CLG_OK;
}

static clg_status k_softmax(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int axis = (int)(a->node->attrs.axis < 0 ? a->node->attrs.axis + xs->rank : a->node->attrs.axis);
    int64_t outer = dims_product(xs, 0, axis), len = xs->dims[axis];
    int64_t inner = dims_product(xs, axis + 1, xs->rank);
    const float *x = a->in[0];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *row = x + o * len * inner + i;
            float *dst = a->out + o * len * inner + i;
            double mx = -INFINITY;
            for (int64_t j = 0; j < len; j++)
                if (row[j * inner] > mx) mx = row[j * inner];
            double sum = 0.0;
            for (int64_t j = 0; j < len; j++) sum += exp((double)row[j * inner] - mx);
            for (int64_t j = 0; j < len; j++)
                dst[j * inner] = (float)(exp((double)row[j * inner] - mx) / sum);
        }
    return CLG_OK;
}

/* ----------------------------------------------------------------- pooling */

static clg_status k_maxpool(const clg_ref_args *a)
{
    const clg_attrs *at = &a->node->attrs;
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int64_t planes = xs->dims[0] * xs->dims[1], h = xs->dims[2], w = xs->dims[3];
    int64_t oh = ys->dims[2], ow = ys->dims[3];
    for (int64_t p = 0; p < planes; p++) {
        const float *x = a->in[0] + p * h * w;
        float *y = a->out + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                /* Padding never wins: only real elements are compared. A
                 * window holding none (possible only with dilation) gives
                 * the lowest float, as ONNX Runtime does. NaN propagates,
                 * as in numpy.max and PyTorch. */
                float best = -FLT_MAX;
                for (int64_t ky = 0; ky < at->kernel[0]; ky++) {
                    int64_t iy = oy * at->strides[0] - at->pads[0] + ky * at->dilations[0];
                    if (iy < 0 || iy >= h) continue;
                    for (int64_t kx = 0; kx < at->kernel[1]; kx++) {
                        int64_t ix = ox * at->strides[1] - at->pads[1] + kx * at->dilations[1];
                        if (ix < 0 || ix >= w) continue;
                        float v = x[iy * w + ix];
                        if (!isnan(best) && (v > best || isnan(v))) best = v;
                    }
                }
                y[oy * ow + ox] = best;
            }
    }
    return CLG_OK;
}

/* The window [start, start + k) along one axis: clipped to the padded input
 * [-pad_begin, in + pad_end) for the count_include_pad divisor, then to the
 * input [0, in) for the elements summed. */
typedef struct window { int64_t lo, hi, padded_len; } window;

static window avg_window(int64_t o, int64_t stride, int64_t k, int64_t pad_begin, int64_t pad_end,
                         int64_t in)
{
    int64_t start = o * stride - pad_begin;
    int64_t end = start + k;
    if (end > in + pad_end) end = in + pad_end;
    window win = {start < 0 ? 0 : start, end > in ? in : end, end - start};
    return win;
}

static clg_status k_avgpool(const clg_ref_args *a)
{
    const clg_attrs *at = &a->node->attrs;
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int64_t planes = xs->dims[0] * xs->dims[1], h = xs->dims[2], w = xs->dims[3];
    int64_t oh = ys->dims[2], ow = ys->dims[3];
    for (int64_t p = 0; p < planes; p++) {
        const float *x = a->in[0] + p * h * w;
        float *y = a->out + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++) {
            window wy = avg_window(oy, at->strides[0], at->kernel[0], at->pads[0], at->pads[2], h);
            for (int64_t ox = 0; ox < ow; ox++) {
                window wx = avg_window(ox, at->strides[1], at->kernel[1], at->pads[1], at->pads[3], w);
                double sum = 0.0;
                for (int64_t iy = wy.lo; iy < wy.hi; iy++)
                    for (int64_t ix = wx.lo; ix < wx.hi; ix++) sum += x[iy * w + ix];
                int64_t div = at->count_include_pad ? wy.padded_len * wx.padded_len
                                                    : (wy.hi - wy.lo) * (wx.hi - wx.lo);
                /* Shape inference keeps every window on the input; guard anyway. */
                y[oy * ow + ox] = div > 0 ? (float)(sum / (double)div) : 0.0f;
            }
        }
    }
    return CLG_OK;
}

static clg_status k_global_avgpool(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int64_t planes = xs->dims[0] * xs->dims[1], inner = dims_product(xs, 2, xs->rank);
    for (int64_t p = 0; p < planes; p++) {
        double sum = 0.0;
        for (int64_t i = 0; i < inner; i++) sum += a->in[0][p * inner + i];
        a->out[p] = (float)(sum / (double)inner);
    }
    return CLG_OK;
}

/* ------------------------------------------------------------ data movement */

static clg_status k_transpose(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    const clg_attrs *at = &a->node->attrs;
    int64_t in_st[R], st[R];
    int64_t s = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        in_st[i] = s;
        s *= xs->dims[i];
    }
    /* Output axis i walks input axis perm[i]. */
    for (int i = 0; i < xs->rank; i++)
        st[i] = in_st[at->perm_rank ? at->perm[i] : xs->rank - 1 - i];
    strided_walk w;
    walk_init(&w, a->out_shape, st, NULL);
    int64_t n = count_of(a->out_shape);
    for (int64_t i = 0; i < n; i++, walk_next(&w)) a->out[i] = a->in[0][w.off_a];
    return CLG_OK;
}

static clg_status k_concat(const clg_ref_args *a)
{
    const clg_shape *ys = a->out_shape;
    int axis = (int)(a->node->attrs.axis < 0 ? a->node->attrs.axis + ys->rank : a->node->attrs.axis);
    int64_t outer = dims_product(ys, 0, axis), inner = dims_product(ys, axis + 1, ys->rank);
    int64_t row = ys->dims[axis] * inner; /* one outer slice of the output */
    int64_t at = 0;                       /* where the current input starts in a slice */
    for (int k = 0; k < a->n_inputs; k++) {
        int64_t chunk = a->in_shapes[k]->dims[axis] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy(a->out + o * row + at, a->in[k] + o * chunk, (size_t)chunk * sizeof *a->out);
        at += chunk;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- dispatch */

typedef clg_status (*ref_kernel)(const clg_ref_args *a);

static_assert(CLG_OP_COUNT == 54, "a new op needs a reference kernel in the table below, or an "
                                   "expression in the op table");

/* Ops with an expression in the op table evaluate it (k_elementwise); ops
 * whose output aliases their input copy it. */
static const ref_kernel kernels[CLG_OP_COUNT] = {
    [CLG_OP_INPUT] = NULL,    /* the executor copies the caller's data */
    [CLG_OP_CONSTANT] = NULL, /* the executor points at the constant's data */
    [CLG_OP_GEMM] = k_gemm,
    [CLG_OP_MATMUL] = k_matmul,
    [CLG_OP_CONV2D] = k_conv2d,
    [CLG_OP_BATCHNORM] = k_batchnorm,
    [CLG_OP_SOFTMAX] = k_softmax,
    [CLG_OP_MAXPOOL] = k_maxpool,
    [CLG_OP_AVERAGEPOOL] = k_avgpool,
    [CLG_OP_GLOBALAVERAGEPOOL] = k_global_avgpool,
    [CLG_OP_TRANSPOSE] = k_transpose,
    [CLG_OP_CONCAT] = k_concat,
    [CLG_OP_PAD] = clg_ref_pad,
    [CLG_OP_SLICE] = clg_ref_slice,
    [CLG_OP_EXPAND] = clg_ref_expand,
    [CLG_OP_TILE] = clg_ref_tile,
    [CLG_OP_DEPTH_TO_SPACE] = clg_ref_depth_to_space,
    [CLG_OP_SPACE_TO_DEPTH] = clg_ref_space_to_depth,
    [CLG_OP_REDUCE_MEAN] = clg_ref_reduce,
    [CLG_OP_REDUCE_SUM] = clg_ref_reduce,
    [CLG_OP_REDUCE_MAX] = clg_ref_reduce,
    [CLG_OP_REDUCE_MIN] = clg_ref_reduce,
    [CLG_OP_REDUCE_PROD] = clg_ref_reduce,
    [CLG_OP_REDUCE_L1] = clg_ref_reduce,
    [CLG_OP_REDUCE_L2] = clg_ref_reduce,
    [CLG_OP_REDUCE_SUM_SQUARE] = clg_ref_reduce,
    [CLG_OP_REDUCE_LOG_SUM] = clg_ref_reduce,
    [CLG_OP_REDUCE_LOG_SUM_EXP] = clg_ref_reduce,
    [CLG_OP_LAYER_NORM] = clg_ref_layer_norm,
    [CLG_OP_LOG_SOFTMAX] = clg_ref_log_softmax,
    [CLG_OP_GATHER] = clg_ref_gather,
    [CLG_OP_CAST] = clg_ref_cast,
    [CLG_OP_GATHER_ELEMENTS] = clg_ref_gather_elements,
    [CLG_OP_ATTENTION] = clg_ref_attention,
    [CLG_OP_TRILU] = clg_ref_trilu,
    [CLG_OP_RESIZE] = clg_ref_resize,
    [CLG_OP_CONV_TRANSPOSE] = clg_ref_conv_transpose,
    [CLG_OP_ARGMAX] = clg_ref_argmax,
    [CLG_OP_ARGMIN] = clg_ref_argmax,
    [CLG_OP_RANGE] = clg_ref_range,
};

clg_status clg_ref_run_node(const clg_ref_args *a)
{
    clg_op op = a->node->op;
    const clg_op_info *info = clg_op_get(op);
    ref_kernel k = info ? kernels[op] : NULL;
    if (!k && info && info->expr) k = k_elementwise;
    if (!k && info && info->alias) k = k_copy;
    if (!k)
        return clg_fail_node(a->g, CLG_ERR_UNSUPPORTED, a->node->line, a->node->name, op,
                             "the reference executor has no kernel for this op");
    if (!clg_node_has_epilogue(a->node)) return k(a);
    /* The op on its own inputs, then its epilogue over the result in place
     * (k_elementwise reads each element before writing it; the node's
     * expr slot holds the epilogue): x0 the result, x1.. the last inputs. */
    int own = clg_node_own_inputs(a->node);
    clg_ref_args op_args = *a;
    op_args.n_inputs = own;
    clg_status s = k(&op_args);
    if (s) return s;
    enum { MAX_IN = CLG_EXPR_MAX_INPUTS };
    const clg_shape *shapes[MAX_IN];
    const float *data[MAX_IN];
    int n_epi = a->n_inputs - own + 1;
    if (n_epi > MAX_IN)
        return clg_fail_node(a->g, CLG_ERR_INVALID_GRAPH, a->node->line, a->node->name, op,
                             "the epilogue has more than %d inputs", MAX_IN);
    shapes[0] = a->out_shape;
    data[0] = a->out;
    for (int i = 1; i < n_epi; i++) {
        shapes[i] = a->in_shapes[own + i - 1];
        data[i] = a->in[own + i - 1];
    }
    clg_ref_args epi_args = {a->g, a->node, n_epi, shapes, data, a->out_shape, a->out};
    return k_elementwise(&epi_args);
}
