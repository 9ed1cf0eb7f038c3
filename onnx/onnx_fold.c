/* Folding on the host: Constant, and the shape arithmetic exporters emit
 * around dynamic sizes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
 * with Cast, Slice, Squeeze and integer Add/Sub/Mul/Div on the way), done at
 * import time so the graph only sees constants. A shape element that
 * depends on a symbolic size (N, S, ...) stays symbolic, a polynomial in the
 * symbols (compiler/dims.c), as long as the arithmetic keeps it one;
 * anything else that depends on a symbolic size is refused instead of being
 * guessed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* ---------------------------------------------------------------- helpers */

/* dst = src's elements with new dims (same count): float data is shared,
 * integers copied. */
static clg_status host_reshaped(ox_ctx *ox, const ox_host *src, int rank, const int64_t *dims, ox_host *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->dtype = src->dtype;
    dst->rank = rank;
    for (int k = 0; k < rank; k++) dst->dims[k] = dims[k];
    dst->count = src->count;
    if (src->f) {
        dst->f = src->f;
        dst->f->refs++;
        return CLG_OK;
    }
    size_t n = src->count ? src->count : 1;
    if (!(dst->i = clg_malloc(ox->g, n * sizeof *dst->i))) return ox_oom(ox);
    memcpy(dst->i, src->i, src->count * sizeof *dst->i);
    if (src->sym) {
        if (!(dst->sym = clg_malloc(ox->g, n))) {
            ox_host_free(ox->g, dst);
            return ox_oom(ox);
        }
        memcpy(dst->sym, src->sym, src->count);
    }
    return CLG_OK;
}

/* Gives h a sym array (all zero) if it has none. */
static clg_status need_sym(ox_ctx *ox, ox_host *h)
{
    if (h->sym) return CLG_OK;
    if (!(h->sym = clg_calloc(ox->g, h->count ? h->count : 1, 1))) return ox_oom(ox);
    return CLG_OK;
}

/* Copies element `from` of src to element `to` of dst (same storage kind). */
static clg_status copy_elem(ox_ctx *ox, const ox_host *src, size_t from, ox_host *dst, size_t to)
{
    if (src->f) {
        dst->f->data[to] = src->f->data[from];
        return CLG_OK;
    }
    dst->i[to] = src->i[from];
    if (src->sym && src->sym[from]) {
        clg_status s = need_sym(ox, dst);
        if (s) return s;
        dst->sym[to] = 1;
    }
    return CLG_OK;
}

static const ox_host *host_of(ox_ctx *ox, const ox_value *v, const char *what, clg_status *s)
{
    if (v->kind != OX_HOST) {
        *s = ox_fail(ox, CLG_ERR_UNSUPPORTED,
                     "%s '%s' is a computed tensor; only constants and shapes can be used here", what, v->name);
        return NULL;
    }
    *s = CLG_OK;
    return &v->host;
}

/* A host integer vector without symbolic elements (starts, axes, ...). */
static clg_status int_list(ox_ctx *ox, const ox_value *v, const char *what, int64_t *out, int max, int *n)
{
    clg_status s;
    const ox_host *h = host_of(ox, v, what, &s);
    if (!h) return s;
    if (!ox_dtype_is_int(h->dtype) || h->rank > 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s '%s' must be a 1-D integer tensor", what, v->name);
    if (h->sym) {
        for (size_t k = 0; k < h->count; k++)
            if (h->sym[k])
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' depends on a symbolic size", what, v->name);
    }
    if (h->count > (size_t)max)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' has %zu values; at most %d are supported", what, v->name,
                       h->count, max);
    for (size_t k = 0; k < h->count; k++) out[k] = h->i[k];
    *n = (int)h->count;
    return CLG_OK;
}

static clg_status norm_axis(ox_ctx *ox, int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return CLG_OK;
}

/* ---------------------------------------------------------------- Constant */

clg_status ox_constant_value(ox_ctx *ox, const Onnx__NodeProto *n, ox_host *out)
{
    memset(out, 0, sizeof *out);
    if (n->n_attribute != 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "a Constant needs exactly one attribute, got %zu", n->n_attribute);
    const Onnx__AttributeProto *a = n->attribute[0];
    const char *name = a->name ? a->name : "";
    if (strcmp(name, "value") == 0) {
        if (!a->t) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute value holds no tensor");
        return ox_tensor_decode(ox, a->t, "the value", out);
    }
    bool floats = strcmp(name, "value_floats") == 0, ints = strcmp(name, "value_ints") == 0;
    bool one_float = strcmp(name, "value_float") == 0, one_int = strcmp(name, "value_int") == 0;
    if (!floats && !ints && !one_float && !one_int)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a Constant given by %s is not supported", name);
    int64_t dims[1] = {(int64_t)(floats ? a->n_floats : a->n_ints)};
    clg_status s = ox_host_new(ox, floats || one_float ? OX_FLOAT : OX_INT64, floats || ints ? 1 : 0, dims, out);
    if (s) return s;
    if (one_float) out->f->data[0] = a->f;
    else if (one_int) out->i[0] = a->i;
    else if (floats && a->n_floats) memcpy(out->f->data, a->floats, a->n_floats * sizeof *a->floats);
    else if (ints && a->n_ints) memcpy(out->i, a->ints, a->n_ints * sizeof *a->ints);
    return CLG_OK;
}

/* ---------------------------------------------------------------- Shape */

static clg_status fold_shape(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    const ox_value *x = in[0];
    int rank;
    int64_t dims[OX_MAX_RANK];
    if (x->kind == OX_TENSOR) {
        const clg_shape *sh = &ox->g->nodes[x->node].shape;
        rank = sh->rank;
        for (int k = 0; k < rank; k++) dims[k] = sh->dims[k];
    } else {
        rank = x->host.rank;
        for (int k = 0; k < rank; k++) dims[k] = x->host.dims[k];
    }
    int64_t start, end;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "start", 0, &start)) || (s = ox_attr_int(ox, n, "end", rank, &end)))
        return s;
    if (ox->opset < 15 && (ox_attr(n, "start") || ox_attr(n, "end")))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "start and end are attributes from opset 15 on");
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    int64_t len[1] = {end > start ? end - start : 0};
    if ((s = ox_host_new(ox, OX_INT64, 1, len, out))) return s;
    for (int64_t k = 0; k < len[0]; k++) {
        int64_t d = dims[start + k];
        if (clg_dim_is_symbolic(d)) {
            if ((s = need_sym(ox, out))) return s;
            out->sym[k] = 1;
        }
        out->i[k] = d;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Gather */

static clg_status fold_gather(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    clg_status s;
    const ox_host *data = host_of(ox, in[0], "the data", &s);
    if (!data) return s;
    const ox_host *idx = host_of(ox, in[1], "the indices", &s);
    if (!idx) return s;
    if (!ox_dtype_is_int(idx->dtype) || idx->dtype == OX_BOOL)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the indices must be integers");
    if (idx->sym) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "indices that depend on a symbolic size are not supported");
    if (data->rank < 1) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the data must have rank 1 or more");
    int64_t axis;
    if ((s = ox_attr_int(ox, n, "axis", 0, &axis)) || (s = norm_axis(ox, axis, data->rank, &axis))) return s;
    int rank = data->rank - 1 + idx->rank;
    if (rank > OX_MAX_RANK) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the result has more than %d dims", OX_MAX_RANK);
    int64_t dims[OX_MAX_RANK];
    int r = 0;
    size_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= (size_t)(dims[r++] = data->dims[k]);
    for (int k = 0; k < idx->rank; k++) dims[r++] = idx->dims[k];
    for (int k = (int)axis + 1; k < data->rank; k++) inner *= (size_t)(dims[r++] = data->dims[k]);
    int64_t dim = data->dims[axis];
    if ((s = ox_host_new(ox, data->dtype, rank, dims, out))) return s;
    for (size_t j = 0; j < idx->count; j++) {
        int64_t at = idx->i[j] < 0 ? idx->i[j] + dim : idx->i[j];
        if (at < 0 || at >= dim)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "index %lld is out of range for a dimension of %lld",
                           (long long)idx->i[j], (long long)dim);
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                size_t to = (o * idx->count + j) * inner + i;
                size_t from = (o * (size_t)dim + (size_t)at) * inner + i;
                if ((s = copy_elem(ox, data, from, out, to))) return s;
            }
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Squeeze, Unsqueeze, Reshape */

static clg_status fold_squeeze(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_host *out)
{
    bool unsqueeze = strcmp(n->op_type, "Unsqueeze") == 0;
    const ox_host *x = &in[0]->host;
    int64_t axes[OX_MAX_RANK];
    int n_axes;
    bool present;
    clg_status s = ox_read_axes(ox, n, in, n_in, axes, &n_axes, &present);
    if (s) return s;
    if (unsqueeze && !present) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axes are required");
    int rank = unsqueeze ? x->rank + n_axes : x->rank;
    if (rank > OX_MAX_RANK) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the result has more than %d dims", OX_MAX_RANK);
    bool marked[OX_MAX_RANK] = {false};
    for (int k = 0; k < n_axes; k++) {
        int64_t ax = axes[k] < 0 ? axes[k] + rank : axes[k];
        if (ax < 0 || ax >= rank || marked[ax])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range or repeated", (long long)axes[k]);
        marked[ax] = true;
    }
    int64_t dims[OX_MAX_RANK];
    int r = 0, src = 0;
    for (int k = 0; k < rank; k++) {
        if (unsqueeze) {
            dims[r++] = marked[k] ? 1 : x->dims[src++];
            continue;
        }
        bool drop = present ? marked[k] : x->dims[k] == 1;
        if (drop && x->dims[k] != 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "dimension %d has size %lld, not 1", k, (long long)x->dims[k]);
        if (!drop) dims[r++] = x->dims[k];
    }
    return host_reshaped(ox, x, r, dims, out);
}

static clg_status fold_reshape(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    const ox_host *x = &in[0]->host;
    int64_t target[OX_MAX_RANK];
    int rank;
    clg_status s = int_list(ox, in[1], "the shape", target, OX_MAX_RANK, &rank);
    if (s) return s;
    int64_t allowzero;
    if ((s = ox_attr_int(ox, n, "allowzero", 0, &allowzero))) return s;
    int infer = -1;
    int64_t known = 1;
    for (int k = 0; k < rank; k++) {
        if (target[k] == 0 && !allowzero) {
            if (k >= x->rank)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "target dimension %d copies a dimension the input lacks", k);
            target[k] = x->dims[k];
        }
        if (target[k] == -1) {
            if (infer >= 0) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the target has more than one -1");
            infer = k;
            continue;
        }
        if (target[k] < 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "target dimension %d is %lld", k, (long long)target[k]);
        if (target[k] && known > ((int64_t)1 << 40) / target[k])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the target shape is too large");
        known *= target[k];
    }
    if (infer >= 0) {
        if (known == 0 || (int64_t)x->count % known)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "cannot infer the -1 of the target for %zu elements", x->count);
        target[infer] = (int64_t)x->count / known;
        known *= target[infer];
    }
    if (known != (int64_t)x->count)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the target holds %lld elements, the input %zu", (long long)known,
                       x->count);
    return host_reshaped(ox, x, rank, target, out);
}

/* ---------------------------------------------------------------- Concat */

static clg_status fold_concat(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_host *out)
{
    int64_t axis;
    clg_status s = ox_attr_int(ox, n, "axis", 0, &axis);
    if (s) return s;
    if (!ox_attr(n, "axis")) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axis is required");
    const ox_host *first = NULL;
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input %d is empty", i);
        if (!first) first = &in[i]->host;
    }
    if ((s = norm_axis(ox, axis, first->rank, &axis))) return s;
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, first->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n_in; i++) {
        const ox_host *h = &in[i]->host;
        if (h->dtype != first->dtype)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "inputs of types %s and %s", ox_dtype_name(first->dtype),
                           ox_dtype_name(h->dtype));
        if (h->rank != first->rank)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "inputs of ranks %d and %d", first->rank, h->rank);
        for (int k = 0; k < h->rank; k++)
            if (k != axis && h->dims[k] != first->dims[k])
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "inputs differ in dimension %d", k);
        dims[axis] += h->dims[axis];
    }
    if ((s = ox_host_new(ox, first->dtype, first->rank, dims, out))) return s;
    size_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= (size_t)dims[k];
    for (int k = (int)axis + 1; k < first->rank; k++) inner *= (size_t)dims[k];
    size_t to = 0;
    for (size_t o = 0; o < outer; o++)
        for (int i = 0; i < n_in; i++) {
            const ox_host *h = &in[i]->host;
            size_t chunk = (size_t)h->dims[axis] * inner;
            for (size_t e = 0; e < chunk; e++)
                if ((s = copy_elem(ox, h, o * chunk + e, out, to++))) return s;
        }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Cast */

static int64_t narrow(int64_t v, int32_t to)
{
    switch (to) {
    case OX_INT32: return (int32_t)(uint32_t)(uint64_t)v;
    case OX_INT16: return (int16_t)(uint16_t)(uint64_t)v;
    case OX_INT8: return (int8_t)(uint8_t)(uint64_t)v;
    case OX_UINT16: return (int64_t)((uint64_t)v & 0xffff);
    case OX_UINT8: return (int64_t)((uint64_t)v & 0xff);
    case OX_BOOL: return v != 0;
    default: return v;
    }
}

/* in[0] (a host value) cast to the ONNX type `to`: Cast, and CastLike
 * (onnx_gather.c) with the type of its second input. */
clg_status ox_fold_cast(ox_ctx *ox, int64_t to, ox_value **in, ox_host *out)
{
    const ox_host *x = &in[0]->host;
    clg_status s;
    if (!ox_dtype_is_float((int32_t)to) && !ox_dtype_is_int((int32_t)to))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a cast to %s is not supported", ox_dtype_name((int32_t)to));
    if ((s = ox_host_new(ox, (int32_t)to, x->rank, x->dims, out))) return s;
    for (size_t k = 0; k < x->count; k++) {
        bool sym = x->sym && x->sym[k];
        if (x->f && out->f) {
            out->f->data[k] = to == OX_FLOAT16 ? clg_round_half(x->f->data[k]) : x->f->data[k];
        } else if (x->f) {
            float v = x->f->data[k];
            if (to == OX_BOOL) {
                out->i[k] = v != 0.0f;
                continue;
            }
            if (!(v > -9.2e18f && v < 9.2e18f))
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "casting %g to %s is not supported", (double)v,
                               ox_dtype_name((int32_t)to));
            out->i[k] = narrow((int64_t)v, (int32_t)to);
        } else if (out->f) {
            if (sym)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a shape that depends on a symbolic size cast to %s",
                               ox_dtype_name((int32_t)to));
            out->f->data[k] = to == OX_FLOAT16 ? clg_round_half((float)x->i[k]) : (float)x->i[k];
        } else {
            if (sym && to != OX_INT64 && to != OX_INT32)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a shape that depends on a symbolic size cast to %s",
                               ox_dtype_name((int32_t)to));
            out->i[k] = sym ? x->i[k] : narrow(x->i[k], (int32_t)to);
            if (sym) {
                if ((s = need_sym(ox, out))) return s;
                out->sym[k] = 1;
            }
        }
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Slice */

static clg_status fold_slice(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_host *out)
{
    clg_status s;
    const ox_host *x = host_of(ox, in[0], "the data", &s);
    if (!x) return s;
    int64_t starts[OX_MAX_RANK], ends[OX_MAX_RANK], axes[OX_MAX_RANK], steps[OX_MAX_RANK];
    int n_starts = 0, n_ends = 0, n_axes = -1, n_steps = -1;
    if (ox->opset < 10) {
        const char *names[3] = {"starts", "ends", "axes"};
        int64_t *dst[3] = {starts, ends, axes};
        int *cnt[3] = {&n_starts, &n_ends, &n_axes};
        for (int a = 0; a < 3; a++) {
            const Onnx__AttributeProto *at = ox_attr(n, names[a]);
            if (!at) {
                if (a < 2) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s is required", names[a]);
                continue;
            }
            if (at->n_ints > OX_MAX_RANK) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "too many %s", names[a]);
            for (size_t k = 0; k < at->n_ints; k++) dst[a][k] = at->ints[k];
            *cnt[a] = (int)at->n_ints;
        }
    } else {
        if (n_in < 3 || !in[1] || !in[2]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "starts and ends are required");
        if (n->n_attribute) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "starts, ends and axes are inputs from opset 10");
        if ((s = int_list(ox, in[1], "starts", starts, OX_MAX_RANK, &n_starts)) ||
            (s = int_list(ox, in[2], "ends", ends, OX_MAX_RANK, &n_ends)))
            return s;
        if (n_in > 3 && in[3] && (s = int_list(ox, in[3], "axes", axes, OX_MAX_RANK, &n_axes))) return s;
        if (n_in > 4 && in[4] && (s = int_list(ox, in[4], "steps", steps, OX_MAX_RANK, &n_steps))) return s;
    }
    if (n_ends != n_starts || (n_axes >= 0 && n_axes != n_starts) || (n_steps >= 0 && n_steps != n_starts))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "starts, ends, axes and steps differ in length");
    int64_t first[OX_MAX_RANK], step[OX_MAX_RANK], dims[OX_MAX_RANK];
    bool seen[OX_MAX_RANK] = {false};
    for (int k = 0; k < x->rank; k++) {
        first[k] = 0;
        step[k] = 1;
        dims[k] = x->dims[k];
    }
    for (int j = 0; j < n_starts; j++) {
        int64_t ax = n_axes >= 0 ? axes[j] : j;
        if ((s = norm_axis(ox, ax, x->rank, &ax))) return s;
        if (seen[ax]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is repeated", (long long)ax);
        seen[ax] = true;
        int64_t dim = x->dims[ax], st = n_steps >= 0 ? steps[j] : 1;
        int64_t b = starts[j], e = ends[j];
        if (st == 0) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "a step is 0");
        if (b < 0) b += dim;
        if (e < 0) e += dim;
        if (st > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            dims[ax] = e > b ? (e - b + st - 1) / st : 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            dims[ax] = b > e ? (b - e + (-st) - 1) / (-st) : 0;
        }
        first[ax] = b;
        step[ax] = st;
    }
    if ((s = ox_host_new(ox, x->dtype, x->rank, dims, out))) return s;
    int64_t at[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < out->count; e++) {
        size_t from = 0;
        for (int k = 0; k < x->rank; k++) from = from * (size_t)x->dims[k] + (size_t)(first[k] + at[k] * step[k]);
        if ((s = copy_elem(ox, x, from, out, e))) return s;
        for (int k = x->rank - 1; k >= 0 && ++at[k] == dims[k]; k--) at[k] = 0;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Add, Sub, Mul, Div */

/* a op b where each side is a plain integer or (as, bs) a symbolic size's
 * code; the result is symbolic (*rs) unless the arithmetic cancels it. */
static clg_status int_op(ox_ctx *ox, char op, int64_t a, bool as, int64_t b, bool bs, int64_t *r, bool *rs)
{
    bool overflow = false;
    *rs = false;
    if (op == '=') { /* Equal: 1 or 0 */
        /* Sizes are at least 1: the same size equals itself, and no size
         * equals a number below 1 (PyTorch's expand(n, -1, -1) asks whether
         * n is -1); otherwise the answer depends on the size. */
        if (as == bs) {
            *r = a == b;
            if (!as || a == b) return CLG_OK;
        } else if ((as ? b : a) < 1) {
            *r = 0;
            return CLG_OK;
        }
        char x[CLG_DIM_STR_MAX], y[CLG_DIM_STR_MAX];
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Equal of the sizes %s and %s depends on their values",
                       as ? clg_dim_str(ox->g, a, x, sizeof x) : (snprintf(x, sizeof x, "%lld", (long long)a), x),
                       bs ? clg_dim_str(ox->g, b, y, sizeof y) : (snprintf(y, sizeof y, "%lld", (long long)b), y));
    }
    if (op == '%') { /* Mod with fmod=0: the remainder takes the divisor's sign */
        if (as || bs) {
            char x[CLG_DIM_STR_MAX];
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Mod of the symbolic size %s is not supported",
                           clg_dim_str(ox->g, as ? a : b, x, sizeof x));
        }
        if (b == 0) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "integer Mod by zero");
        *r = b == -1 ? 0 : a % b;
        if (*r != 0 && (*r < 0) != (b < 0)) *r += b;
        return CLG_OK;
    }
    if (op == '>' || op == '<') { /* Max, Min */
        bool max = op == '>';
        if (!as && !bs) {
            *r = max ? (a > b ? a : b) : (a < b ? a : b);
            return CLG_OK;
        }
        /* Sizes are at least 1: the same size, or a size against 0 or 1,
         * has a known answer; two different sizes do not. */
        if (a == b && as == bs) {
            *r = a;
            *rs = as;
            return CLG_OK;
        }
        int64_t plain = as ? b : a, size = as ? a : b;
        if (as != bs && plain >= 0 && plain <= 1) {
            *r = max ? size : plain;
            *rs = max;
            return CLG_OK;
        }
        char x[CLG_DIM_STR_MAX], y[CLG_DIM_STR_MAX];
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s of the sizes %s and %s depends on their values", max ? "Max" : "Min",
                       as ? clg_dim_str(ox->g, a, x, sizeof x) : (snprintf(x, sizeof x, "%lld", (long long)a), x),
                       bs ? clg_dim_str(ox->g, b, y, sizeof y) : (snprintf(y, sizeof y, "%lld", (long long)b), y));
    }
    if (!as && !bs) {
        switch (op) {
        case '+': overflow = __builtin_add_overflow(a, b, r); break;
        case '-': overflow = __builtin_sub_overflow(a, b, r); break;
        case '*': overflow = __builtin_mul_overflow(a, b, r); break;
        default:
            if (b == 0) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "integer division by zero");
            if (a == INT64_MIN && b == -1) overflow = true;
            else {
                /* ONNX's integer Div truncates, as C does. */
                *r = a / b;
            }
        }
        if (!overflow) return CLG_OK;
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "integer overflow in shape arithmetic");
    }
    /* A plain operand must be a size (>= 0) to meet a symbolic one; a
     * negative one only subtracts (S + -1 is S - 1). */
    if (!as && a < 0) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "shape arithmetic on %lld and a symbolic size", (long long)a);
    if (!bs && b < 0 && op == '+' && b != INT64_MIN) {
        op = '-';
        b = -b;
    } else if (!bs && b < 0) {
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "shape arithmetic on a symbolic size and %lld", (long long)b);
    }
    clg_status s = op == '+' ? clg_dim_add(ox->g, a, b, r)
                 : op == '-' ? clg_dim_sub(ox->g, a, b, r)
                 : op == '*' ? clg_dim_mul(ox->g, a, b, r)
                             : clg_dim_div(ox->g, a, b, r);
    if (s == CLG_ERR_OUT_OF_MEMORY) return ox_oom(ox);
    if (s) {
        char x[64], y[64];
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "shape arithmetic %s %c %s does not give a size clgraph can express",
                       clg_dim_str(ox->g, a, x, sizeof x), op, clg_dim_str(ox->g, b, y, sizeof y));
    }
    *rs = clg_dim_is_symbolic(*r);
    return CLG_OK;
}

/* a (op) b elementwise with NumPy broadcasting: + - * / and > for Max, <
 * for Min; on integers also = (Equal, 1 or 0 of the inputs' type) and %
 * (Mod). */
static clg_status fold_pair(ox_ctx *ox, char op, const ox_host *a, const ox_host *b, ox_host *out)
{
    if (a->dtype != b->dtype)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "inputs of types %s and %s", ox_dtype_name(a->dtype),
                       ox_dtype_name(b->dtype));
    /* NumPy broadcasting, aligned from the right. */
    int rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[OX_MAX_RANK], sa[OX_MAX_RANK], sb[OX_MAX_RANK];
    int64_t stride_a = 1, stride_b = 1;
    for (int k = rank - 1; k >= 0; k--) {
        int ka = k - (rank - a->rank), kb = k - (rank - b->rank);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "dimensions %lld and %lld do not broadcast", (long long)da,
                           (long long)db);
        dims[k] = da == 1 ? db : da;
        sa[k] = da == 1 ? 0 : stride_a;
        sb[k] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    clg_status s = ox_host_new(ox, a->dtype, rank, dims, out);
    if (s) return s;
    int64_t at[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < out->count; e++) {
        size_t ia = 0, ib = 0;
        for (int k = 0; k < rank; k++) {
            ia += (size_t)(at[k] * sa[k]);
            ib += (size_t)(at[k] * sb[k]);
        }
        if (out->f) {
            float x = a->f->data[ia], y = b->f->data[ib];
            /* Max and Min propagate NaN, as ONNX's do. */
            out->f->data[e] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : op == '/' ? x / y
                            : isnan(x) || isnan(y) ? x + y
                            : op == '>' ? (x > y ? x : y) : (x < y ? x : y);
        } else {
            bool rs;
            if ((s = int_op(ox, op, a->i[ia], a->sym && a->sym[ia], b->i[ib], b->sym && b->sym[ib], &out->i[e], &rs)))
                return s;
            if (rs) {
                if ((s = need_sym(ox, out))) return s;
                out->sym[e] = 1;
            }
        }
        for (int k = rank - 1; k >= 0 && ++at[k] == dims[k]; k--) at[k] = 0;
    }
    return CLG_OK;
}

static clg_status fold_binary(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    char op = n->op_type[0] == 'A' ? '+' : n->op_type[0] == 'S' ? '-' : n->op_type[0] == 'M' ? '*' : '/';
    return fold_pair(ox, op, &in[0]->host, &in[1]->host, out);
}

/* Max and Min of any number of inputs, pairwise: tf2onnx's einsum takes the
 * Max of two shapes' dims. */
static clg_status fold_minmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_host *out)
{
    char op = strcmp(n->op_type, "Max") == 0 ? '>' : '<';
    for (int i = 0; i < n_in; i++)
        if (!in[i]) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input %d is empty", i);
    clg_status s = host_reshaped(ox, &in[0]->host, in[0]->host.rank, in[0]->host.dims, out);
    for (int i = 1; i < n_in && !s; i++) {
        ox_host next;
        memset(&next, 0, sizeof next);
        s = fold_pair(ox, op, out, &in[i]->host, &next);
        ox_host_free(ox->g, out);
        *out = next;
    }
    return s;
}

/* ---------------------------------------------------------------- Equal, Mod, Where of integers */

static bool all_int(ox_value **in, int n)
{
    for (int i = 0; i < n; i++)
        if (!in[i] || in[i]->kind != OX_HOST || !ox_dtype_is_int(in[i]->host.dtype)) return false;
    return true;
}

/* Equal and Mod of integer host values: the shape arithmetic exporters
 * write (PyTorch's expand(n, -1, -1) compares a shape with -1; Swin's
 * padding is a size Mod the window). */
static clg_status fold_equal_mod(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    bool equal = strcmp(n->op_type, "Equal") == 0;
    if (!equal) {
        int64_t fmod = 0;
        clg_status s = ox_attr_int(ox, n, "fmod", 0, &fmod);
        if (s) return s;
        if (fmod != 0) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Mod of integers with fmod=%lld", (long long)fmod);
    }
    clg_status s = fold_pair(ox, equal ? '=' : '%', &in[0]->host, &in[1]->host, out);
    if (!s && equal) out->dtype = OX_BOOL;
    return s;
}

/* Where(cond, x, y) of integer host values, NumPy broadcasting over all
 * three; a symbolic element of x or y stays symbolic where it is chosen. */
static clg_status fold_where(ox_ctx *ox, ox_value **in, ox_host *out)
{
    const ox_host *h[3] = {&in[0]->host, &in[1]->host, &in[2]->host};
    if (h[1]->dtype != h[2]->dtype)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "X and Y of types %s and %s", ox_dtype_name(h[1]->dtype),
                       ox_dtype_name(h[2]->dtype));
    int rank = 0;
    for (int j = 0; j < 3; j++)
        if (h[j]->rank > rank) rank = h[j]->rank;
    int64_t dims[OX_MAX_RANK], st[3][OX_MAX_RANK], stride[3] = {1, 1, 1};
    for (int k = rank - 1; k >= 0; k--) {
        dims[k] = 1;
        for (int j = 0; j < 3; j++) {
            int kj = k - (rank - h[j]->rank);
            int64_t d = kj >= 0 ? h[j]->dims[kj] : 1;
            if (d != 1 && dims[k] != 1 && d != dims[k])
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "dimensions %lld and %lld do not broadcast",
                               (long long)dims[k], (long long)d);
            if (d != 1) dims[k] = d;
        }
        for (int j = 0; j < 3; j++) {
            int kj = k - (rank - h[j]->rank);
            int64_t d = kj >= 0 ? h[j]->dims[kj] : 1;
            st[j][k] = d == 1 ? 0 : stride[j];
            stride[j] *= d;
        }
    }
    clg_status s = ox_host_new(ox, h[1]->dtype, rank, dims, out);
    if (s) return s;
    int64_t at[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < out->count; e++) {
        size_t ix[3] = {0, 0, 0};
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < rank; k++) ix[j] += (size_t)(at[k] * st[j][k]);
        const ox_host *from = h[0]->i[ix[0]] ? h[1] : h[2];
        size_t i = h[0]->i[ix[0]] ? ix[1] : ix[2];
        if (h[0]->sym && h[0]->sym[ix[0]])
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Where's condition '%s' holds a symbolic size", in[0]->name);
        out->i[e] = from->i[i];
        if (from->sym && from->sym[i]) {
            if ((s = need_sym(ox, out))) return s;
            out->sym[e] = 1;
        }
        for (int k = rank - 1; k >= 0 && ++at[k] == dims[k]; k--) at[k] = 0;
    }
    return CLG_OK;
}

/* Transpose of an integer host value (Swin's pads, computed from shapes
 * through a Reshape and Transpose); perm defaults to reversing the dims. */
static clg_status fold_transpose(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    const ox_host *x = &in[0]->host;
    int64_t perm[OX_MAX_RANK];
    const Onnx__AttributeProto *a = ox_attr(n, "perm");
    if (a && (a->n_ints != (size_t)x->rank))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "perm has %zu values for rank %d", a->n_ints, x->rank);
    bool seen[OX_MAX_RANK] = {false};
    for (int k = 0; k < x->rank; k++) {
        perm[k] = a ? a->ints[k] : x->rank - 1 - k;
        if (perm[k] < 0 || perm[k] >= x->rank || seen[perm[k]])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "perm is not a permutation of 0..%d", x->rank - 1);
        seen[perm[k]] = true;
    }
    int64_t dims[OX_MAX_RANK], stride[OX_MAX_RANK], st = 1;
    for (int k = x->rank - 1; k >= 0; k--) {
        stride[k] = st;
        st *= x->dims[k];
    }
    for (int k = 0; k < x->rank; k++) dims[k] = x->dims[perm[k]];
    clg_status s = ox_host_new(ox, x->dtype, x->rank, dims, out);
    if (s) return s;
    int64_t at[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < out->count; e++) {
        size_t from = 0;
        for (int k = 0; k < x->rank; k++) from += (size_t)(at[k] * stride[perm[k]]);
        if ((s = copy_elem(ox, x, from, out, e))) return s;
        for (int k = x->rank - 1; k >= 0 && ++at[k] == dims[k]; k--) at[k] = 0;
    }
    return CLG_OK;
}

/* Expand of a host value to a shape without symbolic sizes (the index
 * grids and region numbers of Swin's ScatterND mask); *handled false leaves
 * a larger or symbolic one to the graph Expand (onnx_movement.c). */
#define HOST_EXPAND_MAX 65536
static clg_status fold_expand(ox_ctx *ox, ox_value **in, ox_host *out, bool *handled)
{
    const ox_host *x = &in[0]->host, *sh = &in[1]->host;
    *handled = false;
    if (sh->rank != 1 || sh->count > OX_MAX_RANK || sh->sym) return CLG_OK;
    int rank = (int)sh->count > x->rank ? (int)sh->count : x->rank;
    int64_t dims[OX_MAX_RANK], st[OX_MAX_RANK], stride = 1, count = 1;
    for (int k = rank - 1; k >= 0; k--) {
        int kx = k - (rank - x->rank), ks = k - (rank - (int)sh->count);
        int64_t dx = kx >= 0 ? x->dims[kx] : 1, ds = ks >= 0 ? sh->i[ks] : 1;
        if (dx != 1 && ds != 1 && dx != ds)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "dimensions %lld and %lld do not broadcast", (long long)dx,
                           (long long)ds);
        if (ds < 1) return CLG_OK; /* the graph Expand names the bad size */
        dims[k] = dx != 1 ? dx : ds;
        st[k] = dx == 1 ? 0 : stride;
        stride *= dx;
        count *= dims[k];
        if (count > HOST_EXPAND_MAX) return CLG_OK;
    }
    clg_status s = ox_host_new(ox, x->dtype, rank, dims, out);
    if (s) return s;
    int64_t at[OX_MAX_RANK] = {0};
    for (size_t e = 0; e < out->count; e++) {
        size_t from = 0;
        for (int k = 0; k < rank; k++) from += (size_t)(at[k] * st[k]);
        if ((s = copy_elem(ox, x, from, out, e))) return s;
        for (int k = rank - 1; k >= 0 && ++at[k] == dims[k]; k--) at[k] = 0;
    }
    *handled = true;
    return CLG_OK;
}

/* ScatterND of host values: data with the slices that indices name
 * replaced by updates (reduction "none"). Swin's shifted-window mask is
 * built so, from shapes only: `mask[h0:h1, w0:w1] = count` per region. */
static clg_status fold_scatter_nd(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    const Onnx__AttributeProto *red = ox_attr(n, "reduction");
    if (red && !(red->has_s && red->s.len == 4 && memcmp(red->s.data, "none", 4) == 0))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "only reduction \"none\" is supported");
    for (int j = 0; j < 3; j++)
        if (in[j]->kind != OX_HOST)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "input '%s' is computed in the graph; ScatterND is only folded on the host, of constants "
                           "and shapes", in[j]->name);
    const ox_host *d = &in[0]->host, *ix = &in[1]->host, *u = &in[2]->host;
    if (!ox_dtype_is_int(ix->dtype) || ix->rank < 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "indices '%s' must be an integer tensor of rank 1 or more",
                       in[1]->name);
    if (ix->sym)
        for (size_t e = 0; e < ix->count; e++)
            if (ix->sym[e])
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "indices '%s' hold a symbolic size", in[1]->name);
    if (u->dtype != d->dtype)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "data and updates of types %s and %s", ox_dtype_name(d->dtype),
                       ox_dtype_name(u->dtype));
    int64_t k = ix->dims[ix->rank - 1];
    int urank = ix->rank - 1 + d->rank - (int)k;
    bool fits = k >= 1 && k <= d->rank && u->rank == urank;
    for (int j = 0; fits && j < ix->rank - 1; j++) fits = u->dims[j] == ix->dims[j];
    for (int j = (int)k; fits && j < d->rank; j++) fits = u->dims[ix->rank - 1 + j - k] == d->dims[j];
    if (!fits)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "indices '%s' (last dim %lld) and updates '%s' do not fit data '%s'",
                       in[1]->name, (long long)k, in[2]->name, in[0]->name);
    clg_status s = ox_host_new(ox, d->dtype, d->rank, d->dims, out);
    if (s) return s;
    for (size_t e = 0; e < d->count; e++)
        if ((s = copy_elem(ox, d, e, out, e))) return s;
    /* Each index tuple names a slice of `slice` elements (data's dims past
     * the first k), dense at its element offset. */
    size_t slice = 1;
    int64_t stride[OX_MAX_RANK], st = 1;
    for (int j = d->rank - 1; j >= 0; j--) {
        stride[j] = st;
        st *= d->dims[j];
        if (j >= k) slice *= (size_t)d->dims[j];
    }
    size_t tuples = (size_t)(ix->count / (size_t)k);
    for (size_t t = 0; t < tuples; t++) {
        int64_t at = 0;
        for (int m = 0; m < k; m++) {
            int64_t v = ix->i[t * (size_t)k + (size_t)m];
            if (v < -d->dims[m] || v >= d->dims[m])
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "index %lld of indices '%s' is out of range for dim %d of %lld",
                               (long long)v, in[1]->name, m, (long long)d->dims[m]);
            at += (v < 0 ? v + d->dims[m] : v) * stride[m];
        }
        for (size_t e = 0; e < slice; e++)
            if ((s = copy_elem(ox, u, t * slice + e, out, (size_t)at + e))) return s;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- sizes as floats */

/* Whether every use of v is the limit of a Range: torch.arange(x.size(1),
 * dtype=torch.float32), as rotary position embeddings write it, casts the
 * symbolic S to FLOAT for Range's limit and nothing else. */
static bool only_range_limits(ox_ctx *ox, const ox_value *v)
{
    int found = 0;
    const Onnx__GraphProto *gr = ox->graph;
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *m = gr->node[k];
        for (size_t i = 0; i < m->n_input; i++) {
            if (!m->input[i] || strcmp(m->input[i], v->name) != 0) continue;
            if (strcmp(m->op_type, "Range") != 0 || i != 1) return false;
            found++;
        }
    }
    return found > 0 && found == v->uses;
}

/* A symbolic size cast to a floating type, for a Range's limit only
 * (only_range_limits): the host value keeps the size's code in i and
 * sym, which onnx_range.c reads; its float data is not the value (0) and
 * nothing else reads it. */
static clg_status symbolic_float(ox_ctx *ox, int32_t to, ox_value **in, ox_host *out)
{
    const ox_host *x = &in[0]->host;
    if (x->count != 1)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a shape of %zu sizes that depends on a symbolic size cast to %s",
                       x->count, ox_dtype_name(to));
    clg_status s = ox_host_new(ox, to, x->rank, x->dims, out);
    if (s) return s;
    if (!(out->i = clg_malloc(ox->g, sizeof *out->i))) return ox_oom(ox);
    out->i[0] = x->i[0];
    if ((s = need_sym(ox, out))) return s;
    out->sym[0] = x->sym[0];
    out->f->data[0] = x->sym[0] ? 0.0f : (float)x->i[0];
    return CLG_OK;
}

/* ---------------------------------------------------------------- Neg */

/* Neg of integer host values (ONNX's expanded LayerNormalization negates
 * its axis to count the reduced axes). */
static clg_status fold_neg(ox_ctx *ox, ox_value **in, ox_host *out)
{
    const ox_host *x = &in[0]->host;
    if (x->sym) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the negation of a symbolic size ('%s')", in[0]->name);
    clg_status s = ox_host_new(ox, x->dtype, x->rank, x->dims, out);
    if (s) return s;
    for (size_t k = 0; k < x->count; k++) {
        if (x->i[k] == INT64_MIN)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "element %zu of '%s' has no negation in INT64", k, in[0]->name);
        out->i[k] = narrow(-x->i[k], x->dtype);
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- Size */

/* The element count of a tensor or host value: a rank-0 INT64, symbolic
 * (N*S*...) when the shape is. */
static clg_status fold_size(ox_ctx *ox, ox_value **in, ox_host *out)
{
    const ox_value *x = in[0];
    int rank;
    const int64_t *dims;
    if (x->kind == OX_TENSOR) {
        rank = ox->g->nodes[x->node].shape.rank;
        dims = ox->g->nodes[x->node].shape.dims;
    } else {
        rank = x->host.rank;
        dims = x->host.dims;
    }
    int64_t n = 1;
    for (int k = 0; k < rank; k++)
        if (clg_dim_mul(ox->g, n, dims[k], &n))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the element count of '%s' does not fit the size table", x->name);
    clg_status s = ox_host_new(ox, OX_INT64, 0, NULL, out);
    if (s) return s;
    out->i[0] = n;
    if (clg_dim_is_symbolic(n)) {
        if ((s = need_sym(ox, out))) return s;
        out->sym[0] = 1;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- EyeLike */

/* Ones on diagonal k of a 2-D shape, zeros elsewhere, in the type of the
 * `dtype` attribute (default: the input's): a constant, since only the
 * input's shape matters, and that must be known. */
static clg_status fold_eye_like(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, ox_host *out)
{
    const ox_value *x = in[0];
    const clg_shape *sh = x->kind == OX_TENSOR ? &ox->g->nodes[x->node].shape : NULL;
    int rank = sh ? sh->rank : x->host.rank;
    const int64_t *dims = sh ? sh->dims : x->host.dims;
    if (rank != 2) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the input '%s' must have rank 2, not %d", x->name, rank);
    if (clg_dim_is_symbolic(dims[0]) || clg_dim_is_symbolic(dims[1]))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the input '%s' has a symbolic size; EyeLike needs a known shape",
                       x->name);
    if (dims[0] > ((int64_t)1 << 24) / (dims[1] ? dims[1] : 1))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "an EyeLike of %lld x %lld elements is too large for a constant",
                       (long long)dims[0], (long long)dims[1]);
    int64_t like = sh ? ox_dtype_from_clg(ox->g->nodes[x->node].dtype) : x->host.dtype, dtype, k;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "dtype", like, &dtype)) || (s = ox_attr_int(ox, n, "k", 0, &k))) return s;
    if (!ox_dtype_is_float((int32_t)dtype) && !ox_dtype_is_int((int32_t)dtype))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "an EyeLike of type %s is not supported", ox_dtype_name((int32_t)dtype));
    if ((s = ox_host_new(ox, (int32_t)dtype, 2, dims, out))) return s;
    for (int64_t r = 0; r < dims[0]; r++)
        for (int64_t c = 0; c < dims[1]; c++) {
            size_t at = (size_t)(r * dims[1] + c);
            int one = c - r == k;
            if (out->f) out->f->data[at] = (float)one;
            else out->i[at] = one;
        }
    return CLG_OK;
}

/* ---------------------------------------------------------------- dispatch */

/* A constant sliced to a symbolic size (a positional table cut to the
 * sequence length; GPT-2's causal mask, a uint8 buffer, cut to
 * [S - S : S, :S]) has no size on the host: it becomes a graph Slice
 * (integer data materialised as exact floats, as graph ops take it). */
static bool slice_to_symbolic(ox_value **in, int n_in)
{
    if (!in[0] || in[0]->kind != OX_HOST || in[0]->host.sym) return false;
    for (int i = 1; i < n_in && i < 3; i++)
        for (size_t k = 0; in[i] && in[i]->kind == OX_HOST && in[i]->host.sym && k < in[i]->host.count; k++)
            if (in[i]->host.sym[k]) return true;
    return false;
}

clg_status ox_fold_node(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out, int n_out,
                        bool *handled)
{
    (void)n_out;
    const char *t = n->op_type;
    ox_host h;
    memset(&h, 0, sizeof h);
    clg_status s;
    *handled = true;
    if (strcmp(t, "Constant") == 0) s = ox_constant_value(ox, n, &h);
    else if (strcmp(t, "Shape") == 0) s = fold_shape(ox, n, in, &h);
    else if (strcmp(t, "Gather") == 0) s = fold_gather(ox, n, in, &h);
    else if (strcmp(t, "Slice") == 0 && slice_to_symbolic(in, n_in)) {
        *handled = false; /* a graph Slice (onnx_movement.c) */
        return CLG_OK;
    } else if (strcmp(t, "Slice") == 0) s = fold_slice(ox, n, in, n_in, &h);
    else if (strcmp(t, "Squeeze") == 0 || strcmp(t, "Unsqueeze") == 0) s = fold_squeeze(ox, n, in, n_in, &h);
    else if (strcmp(t, "Reshape") == 0) s = fold_reshape(ox, n, in, &h);
    else if (strcmp(t, "Concat") == 0) s = fold_concat(ox, n, in, n_in, &h);
    else if (strcmp(t, "Cast") == 0) {
        int64_t to;
        s = ox_attr_int(ox, n, "to", 0, &to);
        if (!s && ox_dtype_is_float((int32_t)to) && in[0]->host.sym && only_range_limits(ox, out[0]))
            s = symbolic_float(ox, (int32_t)to, in, &h);
        else if (!s) s = ox_fold_cast(ox, to, in, &h);
    } else if (strcmp(t, "Size") == 0) s = fold_size(ox, in, &h);
    else if (strcmp(t, "EyeLike") == 0) s = fold_eye_like(ox, n, in, &h);
    else if (strcmp(t, "Neg") == 0 && all_int(in, 1)) s = fold_neg(ox, in, &h);
    else if (strcmp(t, "Identity") == 0) s = host_reshaped(ox, &in[0]->host, in[0]->host.rank, in[0]->host.dims, &h);
    else if (strcmp(t, "Add") == 0 || strcmp(t, "Sub") == 0 || strcmp(t, "Mul") == 0 || strcmp(t, "Div") == 0)
        s = fold_binary(ox, n, in, &h);
    else if (strcmp(t, "Max") == 0 || strcmp(t, "Min") == 0)
        s = fold_minmax(ox, n, in, n_in, &h);
    else if ((strcmp(t, "Equal") == 0 || strcmp(t, "Mod") == 0) && all_int(in, 2))
        s = fold_equal_mod(ox, n, in, &h);
    else if (strcmp(t, "Where") == 0 && all_int(in, 3))
        s = fold_where(ox, in, &h);
    else if (strcmp(t, "Transpose") == 0 && all_int(in, 1))
        s = fold_transpose(ox, n, in, &h);
    else if (strcmp(t, "ScatterND") == 0)
        s = fold_scatter_nd(ox, n, in, &h);
    else if (strcmp(t, "Expand") == 0 && all_int(in + 1, 1)) {
        s = fold_expand(ox, in, &h, handled);
        if (!s && !*handled) return CLG_OK;
    }
    else {
        *handled = false;
        return CLG_OK;
    }
    if (s) {
        ox_host_free(ox->g, &h);
        return s;
    }
    out[0]->host = h;
    out[0]->kind = OX_HOST;
    return CLG_OK;
}
