/* Data movement of graph tensors: Slice (when its data is computed; host
 * data still folds in onnx_fold.c), Split (one Slice per output), Expand,
 * Tile, DepthToSpace and SpaceToDepth. Their index operands (starts, ends,
 * axes, steps, split, shape, repeats) must be host values: constants, or
 * computed from shapes at import. */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* ONNX writes "to the end" as INT64_MAX (and "from the back" as INT64_MIN
 * for negative steps). clgraph dims are below 2^31, so clamping indices to
 * +-2^32 keeps every slice the same and the values printable (the text
 * format's integers stop at 9e18). */
#define INDEX_LIMIT ((int64_t)1 << 32)

static int64_t clamp(int64_t v, int64_t limit) { return v > limit ? limit : v < -limit ? -limit : v; }
static int64_t clamp_index(int64_t v) { return clamp(v, INDEX_LIMIT); }
/* A step of 2^31 or more takes one element of any dim, as the step given
 * does (clgraph's Slice takes steps up to 2^31). */
static int64_t clamp_step(int64_t v) { return clamp(v, INDEX_LIMIT / 2); }

/* A host integer vector of at most max values: an index operand. A symbolic
 * element (a symbolic size's code, compiler/dims.c) is refused unless sym is
 * given, which is then set for that element. */
static clg_status host_ints(ox_ctx *ox, const ox_value *v, const char *what, int max, int64_t *out, int *n,
                            bool *sym)
{
    if (v->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "%s '%s' is computed in the graph; it must be a constant or computed from shapes at import",
                       what, v->name);
    const ox_host *h = &v->host;
    if (!ox_dtype_is_int(h->dtype) || h->rank > 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s '%s' must be a 1-D integer tensor", what, v->name);
    if (h->count > (size_t)max)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' has %zu values; at most %d are supported", what, v->name,
                       h->count, max);
    for (size_t k = 0; k < h->count; k++) {
        bool s = h->sym && h->sym[k];
        if (s && !sym)
        {
            char d[CLG_DIM_STR_MAX];
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' element %zu is the symbolic size %s; only constants "
                           "are supported there", what, v->name, k, clg_dim_str(ox->g, h->i[k], d, sizeof d));
        }
        if (sym) sym[k] = s;
        out[k] = h->i[k];
    }
    *n = (int)h->count;
    return CLG_OK;
}

/* An INTS attribute (at most max values); *present says whether it is there. */
static clg_status attr_ints(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, int max, int64_t *out, int *count,
                            bool *present)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    *present = a != NULL;
    *count = 0;
    if (!a) return CLG_OK;
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a list of integers", name);
    if (a->n_ints > (size_t)max)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute %s has %zu values; at most %d are supported", name,
                       a->n_ints, max);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    *count = (int)a->n_ints;
    return CLG_OK;
}

/* Appends op on x computing out. */
static clg_status emit_one(ox_ctx *ox, clg_op op, ox_value *x, ox_value *out, const clg_attrs *a)
{
    int node;
    clg_status s = ox_tensor_node(ox, x, &node);
    if (s) return s;
    if ((s = ox_append(ox, op, out, NULL, &node, 1, a, &out->node))) return s;
    out->kind = OX_TENSOR;
    return CLG_OK;
}

/* ---------------------------------------------------------------- Slice */

clg_status ox_convert_slice(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_SLICE, &a);
    enum { MAX = CLG_MAX_RANK };
    clg_status s;
    /* A start or end may be a symbolic size (a table sliced to the
     * sequence length S): kept as such (clg_index_value). */
    bool start_sym[MAX] = {false}, end_sym[MAX] = {false};
    if (ox->opset < 10) {
        bool present[3];
        if ((s = attr_ints(ox, n, "starts", MAX, a.starts, &a.starts_rank, &present[0])) ||
            (s = attr_ints(ox, n, "ends", MAX, a.ends, &a.ends_rank, &present[1])) ||
            (s = attr_ints(ox, n, "axes", MAX, a.axes, &a.axes_rank, &present[2])))
            return s;
        if (!present[0] || !present[1]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attributes starts and ends are required");
    } else {
        if (n->n_attribute) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "starts, ends and axes are inputs from opset 10");
        if (n_in < 3 || !in[1] || !in[2]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "starts and ends are required");
        if ((s = host_ints(ox, in[1], "starts", MAX, a.starts, &a.starts_rank, start_sym)) ||
            (s = host_ints(ox, in[2], "ends", MAX, a.ends, &a.ends_rank, end_sym)))
            return s;
        if (n_in > 3 && in[3] && (s = host_ints(ox, in[3], "axes", MAX, a.axes, &a.axes_rank, NULL))) return s;
        if (n_in > 4 && in[4] && (s = host_ints(ox, in[4], "steps", MAX, a.steps, &a.steps_rank, NULL))) return s;
    }
    /* An empty axes or steps list means the default in clgraph too; an
     * empty starts is refused by shape inference. */
    for (int k = 0; k < a.starts_rank; k++)
        a.starts[k] = start_sym[k] ? clg_index_value(a.starts[k]) : clamp_index(a.starts[k]);
    for (int k = 0; k < a.ends_rank; k++) a.ends[k] = end_sym[k] ? clg_index_value(a.ends[k]) : clamp_index(a.ends[k]);
    for (int k = 0; k < a.steps_rank; k++) a.steps[k] = clamp_step(a.steps[k]);
    return emit_one(ox, CLG_OP_SLICE, in[0], out[0], &a);
}

/* ---------------------------------------------------------------- Split */

clg_status ox_convert_split(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    int64_t axis, split[OX_MAX_RANK * 4];
    enum { MAX_SPLIT = (int)(sizeof split / sizeof split[0]) };
    int n_split = 0;
    bool present = false;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "axis", 0, &axis))) return s;
    if (ox->opset < 13) {
        if ((s = attr_ints(ox, n, "split", MAX_SPLIT, split, &n_split, &present))) return s;
        if (n_in > 1 && in[1]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "split is an attribute before opset 13");
    } else if (n_in > 1 && in[1]) {
        if ((s = host_ints(ox, in[1], "split", MAX_SPLIT, split, &n_split, NULL))) return s;
        present = true;
    }
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape *xs = &ox->g->nodes[x].shape;
    if (axis < -xs->rank || axis >= xs->rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range for rank %d", (long long)axis, xs->rank);
    if (axis < 0) axis += xs->rank;
    int64_t dim = xs->dims[axis];
    if (dim < 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "splitting along axis %lld, a symbolic dimension, is not supported",
                       (long long)axis);
    if (present) {
        if (n_split != n_out)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "split has %d values for %d outputs", n_split, n_out);
        int64_t total = 0;
        for (int k = 0; k < n_split; k++) {
            if (split[k] < 0 || split[k] > dim)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "split[%d] = %lld is out of range", k, (long long)split[k]);
            total += split[k];
        }
        if (total != dim)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "split sums to %lld, but axis %lld has %lld", (long long)total,
                           (long long)axis, (long long)dim);
    } else if (ox_attr(n, "num_outputs")) {
        /* Opset 18: ceil(dim / num_outputs) each, the last one smaller
         * when that does not divide. */
        int64_t parts;
        if (ox->opset < 18)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute num_outputs is part of Split from opset 18");
        if ((s = ox_attr_int(ox, n, "num_outputs", 0, &parts))) return s;
        if (parts != n_out)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "num_outputs is %lld for %d outputs", (long long)parts, n_out);
        if (n_out > MAX_SPLIT) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "more than %d outputs", MAX_SPLIT);
        int64_t each = (dim + n_out - 1) / n_out;
        for (int k = 0; k < n_out; k++) {
            int64_t left = dim - k * each;
            split[k] = left < 0 ? 0 : left < each ? left : each;
        }
    } else {
        if (ox->opset >= 18)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "from opset 18 Split needs the split input or num_outputs");
        if (n_out > MAX_SPLIT) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "more than %d outputs", MAX_SPLIT);
        if (dim % n_out)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld (%lld) does not split into %d equal parts",
                           (long long)axis, (long long)dim, n_out);
        for (int k = 0; k < n_out; k++) split[k] = dim / n_out;
    }
    int64_t at = 0;
    for (int k = 0; k < n_out; k++) {
        int64_t from = at;
        at += split[k];
        if (!out[k]) continue;
        if (split[k] == 0)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "output %d ('%s') is empty; clgraph tensors are never empty", k,
                           out[k]->name);
        clg_attrs a;
        clg_attrs_default(CLG_OP_SLICE, &a);
        a.starts_rank = a.ends_rank = a.axes_rank = 1;
        a.starts[0] = from;
        a.ends[0] = at;
        a.axes[0] = axis;
        if ((s = ox_append(ox, CLG_OP_SLICE, out[k], NULL, &x, 1, &a, &out[k]->node))) return s;
        out[k]->kind = OX_TENSOR;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Expand, Tile */

clg_status ox_convert_expand(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_EXPAND, &a);
    int64_t shape[OX_MAX_RANK];
    bool sym[OX_MAX_RANK];
    int count;
    int x;
    clg_status s;
    if ((s = host_ints(ox, in[1], "the shape", OX_MAX_RANK, shape, &count, sym))) return s;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape *xs = &ox->g->nodes[x].shape;
    if (count < 1 || count > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a shape of %d dims is not supported (1 to %d)", count, CLG_MAX_RANK);
    a.shape_rank = count;
    for (int k = 0; k < count; k++) {
        int ix = k - (count - xs->rank);
        if (sym[k]) {
            /* A symbolic size: a 1 where the input has the same size (it
             * keeps it), else the size itself (Reshape's encoding). */
            a.shape[k] = ix >= 0 && xs->dims[ix] == shape[k] ? 1 : clg_reshape_value(shape[k]);
            continue;
        }
        if (shape[k] < 1)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "target dimension %d is %lld; clgraph dims are positive", k,
                           (long long)shape[k]);
        a.shape[k] = shape[k];
    }
    return emit_one(ox, CLG_OP_EXPAND, in[0], out[0], &a);
}

clg_status ox_convert_tile(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_TILE, &a);
    clg_status s = host_ints(ox, in[1], "repeats", CLG_MAX_RANK, a.repeats, &a.repeats_rank, NULL);
    return s ? s : emit_one(ox, CLG_OP_TILE, in[0], out[0], &a);
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

clg_status ox_convert_depth_space(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                  int n_out)
{
    (void)n_in, (void)n_out;
    bool to_space = strcmp(n->op_type, "DepthToSpace") == 0;
    clg_op op = to_space ? CLG_OP_DEPTH_TO_SPACE : CLG_OP_SPACE_TO_DEPTH;
    clg_attrs a;
    clg_attrs_default(op, &a);
    clg_status s = ox_attr_int(ox, n, "blocksize", 0, &a.blocksize);
    if (s) return s;
    if (!ox_attr(n, "blocksize")) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute blocksize is required");
    const Onnx__AttributeProto *mode = ox_attr(n, "mode");
    if (mode) {
        if (!to_space || ox->opset < 11)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute mode is not part of this op's opset");
        if ((mode->has_type && mode->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) || !mode->has_s)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute mode must be a string");
        if (mode->s.len == 3 && memcmp(mode->s.data, "CRD", 3) == 0) a.mode_crd = 1;
        else if (!(mode->s.len == 3 && memcmp(mode->s.data, "DCR", 3) == 0)) {
            char text[33];
            size_t len = mode->s.len < sizeof text - 1 ? mode->s.len : sizeof text - 1;
            for (size_t k = 0; k < len; k++) {
                char c = (char)mode->s.data[k];
                text[k] = c < 0x20 || c > 0x7e ? '?' : c; /* keep messages printable */
            }
            text[len] = '\0';
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "mode '%s' is not supported (DCR or CRD)", text);
        }
    }
    return emit_one(ox, op, in[0], out[0], &a);
}
