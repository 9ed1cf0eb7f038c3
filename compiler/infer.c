/* Shape inference per op. Shapes may carry symbolic sizes (N, S, N*S, ...:
 * compiler/dims.c) in any position; the same functions run again with every
 * size bound to a number when a graph is executed (clg_graph_bind, which
 * also checks that the numbers agree with the symbolic result), so they
 * must accept concrete shapes too. Where two sizes can only be compared at
 * run time (a symbol against a number, two different symbols), the
 * functions accept them and the binding checks. */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

typedef struct { char s[160]; } shape_text;

#define show(sh) show_in(c->g, (sh))
static shape_text show_in(const clg_graph *g, const clg_shape *s)
{
    shape_text t;
    clg_shape_str(g, s, t.s, sizeof t.s);
    return t;
}

#define dim_text(d, buf, size) clg_dim_str(c->g, (d), (buf), (size))

/* Whether two sizes may be equal: equal, or one of them symbolic (then the
 * binding checks the numbers). */
#define may_equal(a, b) may_equal_in(c->g, (a), (b))
static bool may_equal_in(const clg_graph *g, int64_t a, int64_t b)
{
    return a == b || ((clg_dim_is_symbolic(a) || clg_dim_is_symbolic(b)) && !clg_dim_differ(g, a, b));
}

/* r = a (op) b on sizes that may be symbolic; a result the table cannot
 * express becomes a new anonymous size, known once the graph is bound. */
static clg_status dim_op(const clg_infer_ctx *c, char op, int64_t a, int64_t b, int64_t *r)
{
    clg_status s = op == '+' ? clg_dim_add(c->g, a, b, r)
                 : op == '*' ? clg_dim_mul(c->g, a, b, r)
                             : clg_dim_div(c->g, a, b, r);
    if (s == CLG_ERR_UNSUPPORTED && (clg_dim_is_symbolic(a) || clg_dim_is_symbolic(b))) s = clg_dim_fresh(c->g, r);
    if (s == CLG_ERR_OUT_OF_MEMORY) return clg_fail(c->g, s, "out of memory for a symbolic size");
    if (s) return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op, "size arithmetic overflows");
    return CLG_OK;
}

static clg_status need_rank(const clg_infer_ctx *c, int i, int lo, int hi, const char *what)
{
    int r = c->in[i]->rank;
    if (r >= lo && r <= hi) return CLG_OK;
    if (lo == hi)
        return FAIL(c, "%s must have rank %d, got %s", what, lo, show(c->in[i]).s);
    return FAIL(c, "%s must have rank %d to %d, got %s", what, lo, hi, show(c->in[i]).s);
}

/* Normalises an axis in [-rank, rank + extra) into [0, rank + extra): a
 * negative axis counts from the back of the input's dims (ONNX). */
clg_status clg_infer_axis(const clg_infer_ctx *c, int64_t axis, int rank, int extra, int64_t *out)
{
    if (axis < -rank || axis >= rank + extra)
        return FAIL(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return CLG_OK;
}

clg_status clg_infer_same(const clg_infer_ctx *c, clg_shape *out)
{
    *out = *c->in[0];
    return CLG_OK;
}

clg_status clg_infer_clip(const clg_infer_ctx *c, clg_shape *out)
{
    if (c->attrs->min > c->attrs->max)
        return FAIL(c, "min %g is greater than max %g", c->attrs->min, c->attrs->max);
    *out = *c->in[0];
    return CLG_OK;
}

/* NumPy broadcasting of two shapes. */
static clg_status broadcast2(const clg_infer_ctx *c, const clg_shape *a, const clg_shape *b,
                             clg_shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) out->dims[i] = da;
        else if (da == 1) out->dims[i] = db;
        /* A symbol against a number n: n (the symbol is n or 1 when bound). */
        else if (clg_dim_is_symbolic(da) && !clg_dim_is_symbolic(db)) out->dims[i] = db;
        else if (clg_dim_is_symbolic(db) && !clg_dim_is_symbolic(da)) out->dims[i] = da;
        /* Two different symbols: either may be 1, so the result is its own. */
        else if (clg_dim_is_symbolic(da)) {
            clg_status s = clg_dim_fresh(c->g, &out->dims[i]);
            if (s) return clg_fail(c->g, s, "out of memory for a symbolic size");
        } else
            return FAIL(c, "shapes %s and %s do not broadcast", show(a).s, show(b).s);
    }
    return CLG_OK;
}

clg_status clg_infer_broadcast_shapes(const clg_infer_ctx *c, const clg_shape *a, const clg_shape *b,
                                      clg_shape *out)
{
    return broadcast2(c, a, b, out);
}

clg_status clg_infer_broadcast(const clg_infer_ctx *c, clg_shape *out)
{
    return broadcast2(c, c->in[0], c->in[1], out);
}

/* Elementwise: the expression must parse and use only the node's inputs;
 * the output is the NumPy broadcast of all inputs. */
clg_status clg_infer_elementwise(const clg_infer_ctx *c, clg_shape *out)
{
    const char *text = c->attrs->expr;
    if (!memchr(text, '\0', sizeof c->attrs->expr)) return FAIL(c, "attribute expr is not terminated");
    if (!text[0]) return FAIL(c, "attribute expr is required");
    clg_expr e;
    char err[256];
    if (clg_expr_parse(&e, text, err, sizeof err) || clg_expr_check_inputs(&e, c->n_inputs, err, sizeof err))
        return FAIL(c, "%s", err);
    *out = *c->in[0];
    for (int i = 1; i < c->n_inputs; i++) {
        clg_shape acc = *out;
        clg_status s = broadcast2(c, &acc, c->in[i], out);
        if (s) return s;
    }
    return CLG_OK;
}

clg_status clg_infer_epilogue(const clg_infer_ctx *c, int own, clg_shape *out)
{
    const char *text = c->attrs->expr;
    if (!memchr(text, '\0', sizeof c->attrs->expr)) return FAIL(c, "attribute epilogue is not terminated");
    clg_expr e;
    char err[256];
    if (clg_expr_parse(&e, text, err, sizeof err) || clg_expr_check_inputs(&e, c->n_inputs - own + 1, err, sizeof err))
        return FAIL(c, "attribute epilogue: %s", err);
    /* The epilogue runs on the op's result in place: its inputs broadcast
     * to that shape and never widen it. */
    for (int i = own; i < c->n_inputs; i++) {
        clg_shape full;
        bool same = broadcast2(c, out, c->in[i], &full) == CLG_OK && full.rank == out->rank;
        for (int d = 0; same && d < out->rank; d++) same = full.dims[d] == out->dims[d];
        if (!same)
            return FAIL(c, "epilogue input x%d %s does not broadcast to the result %s", i - own + 1,
                        show(c->in[i]).s, show(out).s);
    }
    return CLG_OK;
}

clg_status clg_infer_gemm(const clg_infer_ctx *c, clg_shape *out)
{
    clg_status s;
    if ((s = need_rank(c, 0, 2, 2, "input A")) || (s = need_rank(c, 1, 2, 2, "weight B"))) return s;
    const clg_shape *a = c->in[0], *b = c->in[1];
    int64_t m = c->attrs->trans_a ? a->dims[1] : a->dims[0];
    int64_t k = c->attrs->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = c->attrs->trans_b ? b->dims[1] : b->dims[0];
    int64_t n = c->attrs->trans_b ? b->dims[0] : b->dims[1];
    char t1[64], t2[64];
    if (!may_equal(k, kb))
        return FAIL(c, "input has %s features, weight expects %s", dim_text(k, t1, sizeof t1),
                    dim_text(kb, t2, sizeof t2));
    out->rank = 2;
    out->dims[0] = m;
    out->dims[1] = n;
    if (c->n_inputs == 3) {
        const clg_shape *bias = c->in[2];
        clg_shape full;
        if (bias->rank > 2 || broadcast2(c, out, bias, &full) != CLG_OK ||
            !may_equal(full.dims[0], m) || !may_equal(full.dims[1], n))
            return FAIL(c, "bias %s does not broadcast to the output %s", show(bias).s,
                        show(out).s);
    }
    return CLG_OK;
}

clg_status clg_infer_matmul(const clg_infer_ctx *c, clg_shape *out)
{
    clg_shape a = *c->in[0], b = *c->in[1];
    if (a.rank < 1 || b.rank < 1) return FAIL(c, "inputs must have rank 1 or more");
    bool a_vec = a.rank == 1, b_vec = b.rank == 1;
    if (a_vec) { a.rank = 2; a.dims[1] = a.dims[0]; a.dims[0] = 1; }
    if (b_vec) { b.rank = 2; b.dims[1] = 1; }
    char t1[64], t2[64];
    if (!may_equal(a.dims[a.rank - 1], b.dims[b.rank - 2]))
        return FAIL(c, "input has %s features, weight expects %s",
                    dim_text(a.dims[a.rank - 1], t1, sizeof t1),
                    dim_text(b.dims[b.rank - 2], t2, sizeof t2));
    clg_shape ba = {a.rank - 2, {0}}, bb = {b.rank - 2, {0}}, batch;
    for (int i = 0; i < ba.rank; i++) ba.dims[i] = a.dims[i];
    for (int i = 0; i < bb.rank; i++) bb.dims[i] = b.dims[i];
    clg_status s = broadcast2(c, &ba, &bb, &batch);
    if (s) return s;
    if (batch.rank + 2 > CLG_MAX_RANK) return FAIL(c, "result would exceed rank %d", CLG_MAX_RANK);
    if (a_vec && b_vec) return FAIL(c, "a vector times a vector is a scalar, which clgraph does not support");
    *out = batch;
    if (!a_vec) out->dims[out->rank++] = a.dims[a.rank - 2];
    if (!b_vec) out->dims[out->rank++] = b.dims[b.rank - 1];
    return CLG_OK;
}

int64_t clg_window_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                       int64_t pad_end, int64_t dilation, bool ceil_mode)
{
    int64_t span = dilation * (kernel - 1) + 1;
    int64_t room = in + pad_begin + pad_end - span;
    if (room < 0) return 0;
    int64_t n = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
    /* As PyTorch and ONNX Runtime do: the last window must start inside the
     * input or its leading padding, not in the trailing padding. */
    if (ceil_mode && (n - 1) * stride >= in + pad_begin) n--;
    return n;
}

/* Checks strides/pads/dilations and computes the two spatial sizes. */
static clg_status spatial(const clg_infer_ctx *c, const clg_shape *x, const int64_t kernel[2],
                          bool ceil_mode, int64_t out_hw[2])
{
    const clg_attrs *a = c->attrs;
    for (int i = 0; i < 2; i++) {
        if (kernel[i] < 1) return FAIL(c, "kernel size must be positive, got %lld", (long long)kernel[i]);
        if (a->strides[i] < 1) return FAIL(c, "strides must be positive, got %lld", (long long)a->strides[i]);
        if (a->dilations[i] < 1) return FAIL(c, "dilations must be positive, got %lld", (long long)a->dilations[i]);
    }
    for (int i = 0; i < 4; i++)
        if (a->pads[i] < 0) return FAIL(c, "pads must not be negative, got %lld", (long long)a->pads[i]);
    /* Bounded so the window arithmetic below cannot overflow. */
    const int64_t big = (int64_t)1 << 31;
    for (int i = 0; i < 4; i++)
        if (kernel[i % 2] > big || a->strides[i % 2] > big || a->dilations[i % 2] > big || a->pads[i] > big)
            return FAIL(c, "kernel, strides, pads and dilations must be at most 2^31");
    for (int i = 0; i < 2; i++) {
        if (x->dims[2 + i] < 1) return FAIL(c, "spatial dims must be known, got %s", show(x).s);
        /* ONNX's rule: padding smaller than the dilated window, so the first
         * and last windows reach into the input. */
        int64_t span = (kernel[i] - 1) * a->dilations[i] + 1;
        if (c->op != CLG_OP_CONV2D && (a->pads[i] >= span || a->pads[i + 2] >= span))
            return FAIL(c, "pads must be smaller than the window (%lld) along axis %d",
                        (long long)span, i + 2);
        out_hw[i] = clg_window_out(x->dims[2 + i], kernel[i], a->strides[i], a->pads[i],
                                   a->pads[i + 2], a->dilations[i], ceil_mode);
        if (out_hw[i] < 1)
            return FAIL(c, "kernel %lldx%lld does not fit the input %s", (long long)kernel[0],
                        (long long)kernel[1], show(x).s);
    }
    return CLG_OK;
}

clg_status clg_infer_conv2d(const clg_infer_ctx *c, clg_shape *out)
{
    clg_status s;
    if ((s = need_rank(c, 0, 4, 4, "input")) || (s = need_rank(c, 1, 4, 4, "weight"))) return s;
    const clg_shape *x = c->in[0], *w = c->in[1];
    int64_t group = c->attrs->group;
    if (group < 1) return FAIL(c, "group must be positive, got %lld", (long long)group);
    int64_t cin = x->dims[1], cout = w->dims[0];
    if (cin < 1 || cout < 1) return FAIL(c, "channel counts must be known");
    if (cin % group || cout % group)
        return FAIL(c, "group %lld does not divide %lld input and %lld output channels",
                    (long long)group, (long long)cin, (long long)cout);
    if (w->dims[1] * group != cin)
        return FAIL(c, "input has %lld channels, weight %s expects %lld", (long long)cin,
                    show(w).s, (long long)(w->dims[1] * group));
    if (c->n_inputs == 3 && (c->in[2]->rank != 1 || c->in[2]->dims[0] != cout))
        return FAIL(c, "bias must have shape [%lld], got %s", (long long)cout, show(c->in[2]).s);
    int64_t hw[2];
    if ((s = spatial(c, x, &w->dims[2], false, hw))) return s;
    *out = (clg_shape){4, {x->dims[0], cout, hw[0], hw[1]}};
    return CLG_OK;
}

clg_status clg_infer_batchnorm(const clg_infer_ctx *c, clg_shape *out)
{
    clg_status s;
    if ((s = need_rank(c, 0, 2, CLG_MAX_RANK, "input"))) return s;
    int64_t ch = c->in[0]->dims[1];
    static const char *names[] = {"", "scale", "bias", "mean", "var"};
    for (int i = 1; i < 5; i++)
        if (c->in[i]->rank != 1 || c->in[i]->dims[0] != ch)
            return FAIL(c, "%s must have shape [%lld] (one per channel), got %s", names[i],
                        (long long)ch, show(c->in[i]).s);
    if (!(c->attrs->epsilon >= 0)) return FAIL(c, "epsilon must not be negative");
    *out = *c->in[0];
    return CLG_OK;
}

clg_status clg_infer_softmax(const clg_infer_ctx *c, clg_shape *out)
{
    int64_t axis = 0;
    clg_status s = clg_infer_axis(c, c->attrs->axis, c->in[0]->rank, 0, &axis);
    if (s) return s;
    *out = *c->in[0];
    return CLG_OK;
}

clg_status clg_infer_pool(const clg_infer_ctx *c, clg_shape *out)
{
    clg_status s;
    if ((s = need_rank(c, 0, 4, 4, "input"))) return s;
    if (c->attrs->kernel[0] == 0 && c->attrs->kernel[1] == 0)
        return FAIL(c, "attribute kernel_shape is required");
    int64_t hw[2];
    if ((s = spatial(c, c->in[0], c->attrs->kernel, c->attrs->ceil_mode != 0, hw))) return s;
    *out = (clg_shape){4, {c->in[0]->dims[0], c->in[0]->dims[1], hw[0], hw[1]}};
    return CLG_OK;
}

clg_status clg_infer_global_pool(const clg_infer_ctx *c, clg_shape *out)
{
    clg_status s;
    if ((s = need_rank(c, 0, 3, CLG_MAX_RANK, "input"))) return s;
    *out = *c->in[0];
    for (int i = 2; i < out->rank; i++) out->dims[i] = 1;
    return CLG_OK;
}

clg_status clg_infer_flatten(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    int64_t axis = 0;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 1, &axis);
    if (s) return s;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < x->rank; i++)
        if ((s = dim_op(c, '*', i < axis ? outer : inner, x->dims[i], i < axis ? &outer : &inner))) return s;
    *out = (clg_shape){2, {outer, inner}};
    return CLG_OK;
}

clg_status clg_infer_reshape(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    if (a->shape_rank < 1) return FAIL(c, "attribute shape is required");
    int64_t total = 1, known = 1;
    clg_status s;
    for (int i = 0; i < x->rank; i++)
        if ((s = dim_op(c, '*', total, x->dims[i], &total))) return s;
    out->rank = a->shape_rank;
    int infer_at = -1;
    char t1[64], t2[64];
    for (int i = 0; i < a->shape_rank; i++) {
        /* -1 infers; below it, a symbolic size (clg_reshape_value). */
        int64_t d = a->shape[i] < -1 ? clg_reshape_dim(a->shape[i]) : a->shape[i];
        if (a->shape[i] == 0) {
            if (i >= x->rank) return FAIL(c, "shape[%d] = 0 copies a dimension the input lacks", i);
            d = x->dims[i];
        } else if (a->shape[i] == -1) {
            if (infer_at >= 0) return FAIL(c, "shape has more than one -1");
            infer_at = i;
            continue;
        } else if (clg_dim_is_symbolic(d)) {
            if (CLG_DIM_ENTRY(d) >= c->g->dims.n_exprs && d != CLG_BATCH)
                return FAIL(c, "shape[%d] names no symbolic size of this graph", i);
            /* Bound: the size it names now. */
            if (c->g->binding && !clg_dim_eval(c->g, d, c->g->binding, &d))
                return FAIL(c, "shape[%d] names a size no input gives", i);
        } else if (!clg_dim_is_symbolic(known) && known > 0 && d > ((int64_t)1 << 31) / known) {
            return FAIL(c, "cannot reshape %s: shape holds more than 2^31 elements", show(x).s);
        }
        out->dims[i] = d;
        if ((s = dim_op(c, '*', known, d, &known))) return s;
    }
    bool symbolic = clg_dim_is_symbolic(total) || clg_dim_is_symbolic(known);
    if (infer_at >= 0) {
        if (!symbolic && (known == 0 || total % known))
            return FAIL(c, "cannot reshape %s: %lld elements do not divide into %lld", show(x).s,
                        (long long)total, (long long)known);
        if (known == 0) return FAIL(c, "cannot reshape %s: the -1 of a shape with 0 elements", show(x).s);
        if ((s = dim_op(c, '/', total, known, &out->dims[infer_at]))) return s;
    } else if (!may_equal(known, total)) {
        return FAIL(c, "cannot reshape %s: %s elements, shape holds %s", show(x).s,
                    dim_text(total, t1, sizeof t1), dim_text(known, t2, sizeof t2));
    }
    return CLG_OK;
}

clg_status clg_infer_transpose(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    int64_t perm[CLG_MAX_RANK];
    if (a->perm_rank == 0) {
        for (int i = 0; i < x->rank; i++) perm[i] = x->rank - 1 - i;
    } else {
        if (a->perm_rank != x->rank)
            return FAIL(c, "perm has %d entries for an input of rank %d", a->perm_rank, x->rank);
        bool seen[CLG_MAX_RANK] = {false};
        for (int i = 0; i < x->rank; i++) {
            int64_t p = a->perm[i];
            if (p < 0 || p >= x->rank || seen[p]) return FAIL(c, "perm is not a permutation");
            seen[p] = true;
            perm[i] = p;
        }
    }
    out->rank = x->rank;
    for (int i = 0; i < x->rank; i++) out->dims[i] = x->dims[perm[i]];
    return CLG_OK;
}

clg_status clg_infer_concat(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    int64_t axis = 0;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 0, &axis);
    if (s) return s;
    *out = *x;
    for (int i = 1; i < c->n_inputs; i++) {
        const clg_shape *y = c->in[i];
        bool ok = y->rank == x->rank;
        for (int d = 0; ok && d < x->rank; d++)
            if (d != axis && !may_equal(y->dims[d], x->dims[d])) ok = false;
        if (!ok)
            return FAIL(c, "input %d has shape %s, which does not match %s outside axis %lld", i,
                        show(y).s, show(x).s, (long long)axis);
        if ((s = dim_op(c, '+', out->dims[axis], y->dims[axis], &out->dims[axis]))) return s;
    }
    return CLG_OK;
}
