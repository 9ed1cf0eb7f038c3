/* Shape functions of the data-movement ops: Slice, Expand, Tile,
 * DepthToSpace, SpaceToDepth. A negative dim is a symbolic size: it may be
 * copied through and compared, but an op that would have to compute with it
 * (a slice of part of it, a tile or block of it) is CLG_ERR_UNSUPPORTED
 * naming the node, the input and the dimension. */
#include <stdint.h>
#include <stdio.h>

#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)
#define UNSUPPORTED(c, ...) clg_fail_node((c)->g, CLG_ERR_UNSUPPORTED, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

/* No dim or count computed here may exceed this (a tensor holds at most
 * 2^31 elements), so the products below cannot overflow. */
#define DIM_LIMIT ((int64_t)1 << 31)

#define shape_text(s, buf, size) clg_shape_str(c->g, (s), (buf), (size))

static clg_status need_symbolic_free(const clg_infer_ctx *c, int64_t dim, int axis, const char *why)
{
    char t[160];
    if (dim >= 0) return CLG_OK;
    return UNSUPPORTED(c, "input 0 %s: dimension %d is symbolic, and %s",
                       shape_text(c->in[0], t, sizeof t), axis, why);
}

/* ---------------------------------------------------------------- Slice */

/* The smallest end that means "to the end" of a symbolic dim. Exporters
 * write INT64_MAX (which the ONNX importer clamps to 2^32) or, from
 * TensorFlow through tf2onnx, INT32_MAX (Keras' Cropping2D, strided
 * slices). Both are past every dim below 2^31, so the slice is the whole
 * dim; a size of exactly 2^31 (only in a tensor of exactly 2^31 elements)
 * would make INT32_MAX one short, and binding, which re-infers with
 * numbers and compares, refuses it as inconsistent sizes. */
#define SLICE_TO_END ((int64_t)INT32_MAX)

/* A start or end: a number, or (*code set) a symbolic size's code when the
 * graph is not bound. false when a bound graph lacks its size. */
static bool slice_index(const clg_graph *g, int64_t v, int64_t *out, bool *code)
{
    *code = false;
    *out = v;
    if (!clg_index_is_symbolic(v)) return true;
    *out = clg_index_dim(v);
    if (g->binding) return clg_dim_eval(g, *out, g->binding, out);
    *code = true;
    return true;
}

/* The symbolic count of a step-1 slice [b, e) of a dim that is or may be
 * symbolic (b_code, e_code: b or e is a size's code): an end past the dim,
 * or counted from its back, is the dim's (a symbolic end is taken to be
 * within the dim, which the binding checks). */
static bool slice_symbolic(clg_graph *g, int64_t dim, int64_t b, bool b_code, int64_t e, bool e_code, int64_t *first,
                           int64_t *count)
{
    int64_t start = b, end = e;
    if (!b_code && b < 0 && clg_dim_sub(g, dim, -b, &start)) return false;
    if (!e_code && e >= SLICE_TO_END) end = dim;
    else if (!e_code && e < 0 && clg_dim_sub(g, dim, -e, &end)) return false;
    *first = start;
    return clg_dim_sub(g, end, start, count) == CLG_OK && (*count > 0 || clg_dim_is_symbolic(*count));
}

clg_status clg_slice_resolve(clg_graph *g, const clg_attrs *a, const clg_shape *in, clg_slice_dims *out, int *bad_axis)
{
    *bad_axis = -1;
    for (int k = 0; k < in->rank; k++) {
        out->first[k] = 0;
        out->step[k] = 1;
        out->count[k] = in->dims[k];
    }
    for (int j = 0; j < a->starts_rank; j++) {
        int64_t ax = a->axes_rank ? a->axes[j] : j;
        if (ax < 0) ax += in->rank;
        int64_t dim = in->dims[ax], st = a->steps_rank ? a->steps[j] : 1;
        int64_t b, e;
        bool b_code, e_code;
        if (!slice_index(g, a->starts[j], &b, &b_code) || !slice_index(g, a->ends[j], &e, &e_code)) {
            *bad_axis = (int)ax;
            return CLG_ERR_UNSUPPORTED;
        }
        if (clg_dim_is_symbolic(dim) || b_code || e_code) {
            /* Whole, or a step-1 part expressed in the sizes. */
            if (st == 1 && b == 0 && !b_code && !e_code && e >= SLICE_TO_END) continue;
            if (st != 1 || !slice_symbolic(g, dim, b, b_code, e, e_code, &out->first[ax], &out->count[ax])) {
                *bad_axis = (int)ax;
                return CLG_ERR_UNSUPPORTED;
            }
            continue;
        }
        /* ONNX: negative indices count from the back, then clamp to
         * [0, dim] (positive steps) or [-1, dim - 1] (negative steps). */
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        int64_t n;
        if (st > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            n = e > b ? (e - b + st - 1) / st : 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            n = b > e ? (b - e - st - 1) / -st : 0;
        }
        out->first[ax] = b;
        out->step[ax] = st;
        out->count[ax] = n;
    }
    return CLG_OK;
}

clg_status clg_infer_slice(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    if (a->starts_rank < 1) return FAIL(c, "attributes starts and ends are required");
    if (a->ends_rank != a->starts_rank || (a->axes_rank && a->axes_rank != a->starts_rank) ||
        (a->steps_rank && a->steps_rank != a->starts_rank))
        return FAIL(c, "starts, ends, axes and steps must have the same length (%d, %d, %d, %d)", a->starts_rank,
                    a->ends_rank, a->axes_rank, a->steps_rank);
    bool seen[CLG_MAX_RANK] = {false};
    for (int j = 0; j < a->starts_rank; j++) {
        int64_t ax;
        clg_status s = clg_infer_axis(c, a->axes_rank ? a->axes[j] : j, x->rank, 0, &ax);
        if (s) return s;
        if (seen[ax]) return FAIL(c, "axis %lld is repeated", (long long)ax);
        seen[ax] = true;
        int64_t st = a->steps_rank ? a->steps[j] : 1;
        if (st == 0) return FAIL(c, "steps[%d] is 0", j);
        /* Bounded so that start + dim and the count formula cannot overflow. */
        if (st < -DIM_LIMIT || st > DIM_LIMIT) return FAIL(c, "steps[%d] = %lld is out of range", j, (long long)st);
    }
    clg_slice_dims d;
    int bad;
    if (clg_slice_resolve(c->g, a, x, &d, &bad)) {
        char t[160];
        return UNSUPPORTED(c, "input 0 %s: the slice along axis %d involves a symbolic size; only steps of 1 with a "
                           "start and end that are numbers or sizes are supported there", shape_text(x, t, sizeof t),
                           bad);
    }
    out->rank = x->rank;
    for (int k = 0; k < x->rank; k++) {
        if (d.count[k] == 0 || (clg_dim_is_symbolic(d.count[k]) && c->g->binding)) {
            char t[160];
            return UNSUPPORTED(c, "the slice of input 0 %s along axis %d is empty; clgraph tensors are never empty",
                               shape_text(x, t, sizeof t), k);
        }
        out->dims[k] = d.count[k];
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Expand */

clg_status clg_infer_expand(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    if (a->shape_rank < 1) return FAIL(c, "attribute shape is required");
    int r = x->rank > a->shape_rank ? x->rank : a->shape_rank;
    out->rank = r;
    char t[160];
    for (int i = 0; i < r; i++) {
        int ix = i - (r - x->rank), is = i - (r - a->shape_rank);
        int64_t dx = ix >= 0 ? x->dims[ix] : 1, ds = is >= 0 ? a->shape[is] : 1;
        /* A symbolic target size (written as Reshape's: clg_reshape_value):
         * its number once bound. */
        if (ds < -1) {
            ds = clg_reshape_dim(ds);
            if (CLG_DIM_ENTRY(ds) >= c->g->dims.n_exprs && ds != CLG_BATCH)
                return FAIL(c, "shape[%d] names no symbolic size of this graph", is);
            if (c->g->binding && !clg_dim_eval(c->g, ds, c->g->binding, &ds))
                return FAIL(c, "shape[%d] names a size no input gives", is);
        }
        if (clg_dim_is_symbolic(ds)) {
            /* Against the input's 1 it is the result; against the same size,
             * or any other (which must equal it when bound, or it is 1), the
             * input's dim stays. */
            out->dims[i] = dx == 1 ? ds : dx;
            continue;
        }
        if (ds < 1 || ds > DIM_LIMIT)
            return FAIL(c, "shape[%d] = %lld: target dims must be 1 to 2^31", is, (long long)ds);
        /* ONNX's Expand broadcasts both ways: a 1 in the target keeps the
         * input's dim. */
        if (ds == 1 || dx == ds) out->dims[i] = dx;
        else if (dx == 1) out->dims[i] = ds;
        else if (dx < 0)
            return need_symbolic_free(c, dx, ix, "it cannot be broadcast to a fixed size");
        else
            return FAIL(c, "input %s does not broadcast to shape[%d] = %lld", shape_text(x, t, sizeof t), is,
                        (long long)ds);
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Tile */

clg_status clg_infer_tile(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    if (a->repeats_rank != x->rank)
        return FAIL(c, "repeats has %d entries for an input of rank %d", a->repeats_rank, x->rank);
    *out = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t r = a->repeats[i];
        if (r < 1 || r > DIM_LIMIT) {
            if (r == 0)
                return UNSUPPORTED(c, "repeats[%d] = 0 makes an empty tensor; clgraph tensors are never empty", i);
            return FAIL(c, "repeats[%d] = %lld: repeats must be 1 to 2^31", i, (long long)r);
        }
        if (r == 1) continue;
        clg_status s = need_symbolic_free(c, x->dims[i], i, "only a repeat of 1 keeps it");
        if (s) return s;
        if (x->dims[i] > DIM_LIMIT / r) return FAIL(c, "the result would hold more than 2^31 elements");
        out->dims[i] = x->dims[i] * r;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

clg_status clg_infer_depth_space(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    int64_t b = c->attrs->blocksize;
    char t[160];
    if (x->rank != 4) return FAIL(c, "input must have rank 4, got %s", shape_text(x, t, sizeof t));
    if (b < 1) return FAIL(c, b == 0 ? "attribute blocksize is required" : "blocksize must be positive");
    if (b > 65536) return FAIL(c, "blocksize %lld is too large", (long long)b);
    bool to_space = c->op == CLG_OP_DEPTH_TO_SPACE;
    for (int i = 1; i < 4; i++) {
        clg_status s = need_symbolic_free(c, x->dims[i], i,
                                          to_space ? "DepthToSpace divides and multiplies it by the block size"
                                                   : "SpaceToDepth divides and multiplies it by the block size");
        if (s) return s;
    }
    *out = *x;
    if (to_space) {
        if (x->dims[1] % (b * b))
            return FAIL(c, "%lld channels do not divide by blocksize^2 = %lld", (long long)x->dims[1],
                        (long long)(b * b));
        out->dims[1] = x->dims[1] / (b * b);
        out->dims[2] = x->dims[2] * b;
        out->dims[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return FAIL(c, "height and width of %s do not divide by blocksize %lld", shape_text(x, t, sizeof t),
                        (long long)b);
        if (x->dims[1] > DIM_LIMIT / (b * b)) return FAIL(c, "the result would have more than 2^31 channels");
        out->dims[1] = x->dims[1] * b * b;
        out->dims[2] = x->dims[2] / b;
        out->dims[3] = x->dims[3] / b;
    }
    return CLG_OK;
}
