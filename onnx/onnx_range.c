/* ONNX Range (opset 11): start, start + delta, ... up to but not including
 * limit, all three scalar inputs of one type. PyTorch exports
 * torch.arange(x.size(1)) as Shape -> Gather -> Range(0, S, 1), so the
 * limit is often a symbolic size: then the result is a graph Range node of
 * length S - start (divided by delta when that is exact), computed at run
 * time once S is bound. Constant inputs fold on the host, as the other
 * shape ops do, unless the result is large. */
#include <math.h>
#include <stdio.h>

#include "onnx_internal.h"

/* A concrete Range with more elements than this becomes a graph Range node
 * rather than a host value: host values are meant for shape arithmetic (the
 * same bound as ConstantOfShape's). */
#define HOST_RANGE_MAX 65536

static const char *const input_names[3] = {"start", "limit", "delta"};

/* Input k as a host scalar of the node's type: *sym set when it is a
 * symbolic size (then *i is its dim code). */
static clg_status scalar(ox_ctx *ox, ox_value *const *in, int k, int32_t dtype, double *v, int64_t *i,
                         bool *sym)
{
    const ox_value *x = in[k];
    if (x->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "%s '%s' is computed in the graph; it must be a constant or computed from shapes at import",
                       input_names[k], x->name);
    const ox_host *h = &x->host;
    if (h->count != 1 || h->rank > 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s '%s' must be a scalar, got %zu elements", input_names[k],
                       x->name, h->count);
    if (h->dtype != dtype)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s '%s' is %s but start is %s; Range needs one type",
                       input_names[k], x->name, ox_dtype_name(h->dtype), ox_dtype_name(dtype));
    *sym = h->sym && h->sym[0];
    *i = h->i ? h->i[0] : 0;
    *v = h->f ? (double)h->f->data[0] : (double)*i;
    return CLG_OK;
}

/* The length of a Range to a symbolic limit: (limit - start) / delta when
 * that is a size clgraph can express (delta positive and dividing it
 * exactly, term by term), which is ONNX's ceil((limit - start) / delta). */
static clg_status symbolic_length(ox_ctx *ox, const ox_value *lv, int64_t limit, int64_t start, int64_t delta,
                                  int64_t *len)
{
    char d[CLG_DIM_STR_MAX];
    if (delta < 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "a negative delta (%lld) with the symbolic limit '%s' (%s) is not supported",
                       (long long)delta, lv->name, clg_dim_str(ox->g, limit, d, sizeof d));
    int64_t diff;
    if (clg_dim_sub(ox->g, limit, start, &diff) || clg_dim_div(ox->g, diff, delta, len))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "the length (%s - %lld) / %lld of a Range to the symbolic limit '%s' is not a size clgraph "
                       "can express",
                       clg_dim_str(ox->g, limit, d, sizeof d), (long long)start, (long long)delta, lv->name);
    if (!clg_dim_is_symbolic(*len) && *len < 1)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the Range to '%s' is empty; clgraph tensors are never empty",
                       lv->name);
    return CLG_OK;
}

/* A graph Range node computing out: length len (a number or a symbolic
 * size), values start + i * delta of the node's type. */
static clg_status graph_range(ox_ctx *ox, ox_value *out, int32_t dtype, double start, double delta, int64_t len)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_RANGE, &a);
    if (dtype == OX_DOUBLE) dtype = OX_FLOAT; /* held as floats, like every DOUBLE constant */
    if (!ox_dtype_to_clg(dtype, &a.to) || dtype == OX_BOOL)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a Range of %s computed in the graph is not supported",
                       ox_dtype_name(dtype));
    if (a.to != CLG_DTYPE_F32) {
        /* Integer values are held as exact floats: start and every step
         * must stay within 2^24 (the run-time length is checked against
         * this too, by the shape function once bound). */
        if (fabs(start) > CLG_MAX_EXACT_INT || fabs(delta) > CLG_MAX_EXACT_INT)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "start %.17g or delta %.17g is past 2^24; integers are computed as floats", start, delta);
    }
    a.range_start = (float)start;
    a.range_delta = (float)delta;
    a.shape_rank = 1;
    a.shape[0] = clg_reshape_value(len);
    clg_status s = ox_append(ox, CLG_OP_RANGE, out, NULL, NULL, 0, &a, &out->node);
    if (s) return s;
    out->kind = OX_TENSOR;
    return CLG_OK;
}

clg_status ox_convert_range(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    if (in[0]->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "start '%s' is computed in the graph; it must be a constant or computed from shapes at import",
                       in[0]->name);
    int32_t dtype = in[0]->host.dtype;
    if (dtype != OX_FLOAT && dtype != OX_DOUBLE && dtype != OX_INT16 && dtype != OX_INT32 && dtype != OX_INT64)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "start '%s' is %s; Range takes FLOAT, DOUBLE, INT16, INT32 or INT64",
                       in[0]->name, ox_dtype_name(dtype));
    double v[3];
    int64_t iv[3];
    bool sym[3];
    for (int k = 0; k < 3; k++) {
        clg_status s = scalar(ox, in, k, dtype, &v[k], &iv[k], &sym[k]);
        if (s) return s;
    }
    char d[CLG_DIM_STR_MAX];
    for (int k = 0; k < 3; k += 2)
        if (sym[k])
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s '%s' is the symbolic size %s; only the limit may be one",
                           input_names[k], in[k]->name, clg_dim_str(ox->g, iv[k], d, sizeof d));
    if (v[2] == 0)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "delta '%s' is 0", in[2]->name);
    if (sym[1]) {
        /* A FLOAT Range to a symbolic size (torch.arange(S, dtype=float)):
         * integral start and delta count like integers. */
        for (int k = 0; k < 3 && !ox_dtype_is_int(dtype); k += 2) {
            if (v[k] != floor(v[k]) || fabs(v[k]) > CLG_MAX_EXACT_INT)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                               "%s '%s' is %g; a FLOAT Range to a symbolic limit needs whole numbers", input_names[k],
                               in[k]->name, v[k]);
            iv[k] = (int64_t)v[k];
        }
        int64_t len;
        clg_status s = symbolic_length(ox, in[1], iv[1], iv[0], iv[2], &len);
        if (s) return s;
        return graph_range(ox, out[0], dtype, v[0], v[2], len);
    }

    /* ONNX: max(ceil((limit - start) / delta), 0) elements. Integers are
     * counted exactly; floats in double, as NumPy's arange does. */
    double count_d;
    if (ox_dtype_is_int(dtype)) {
        int64_t span, step = iv[2];
        if (__builtin_sub_overflow(iv[1], iv[0], &span))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Range(%lld, %lld, %lld) has more than 2^31 elements",
                           (long long)iv[0], (long long)iv[1], (long long)iv[2]);
        int64_t q = span / step;
        if (q * step != span && (span < 0) == (step < 0)) q++; /* ceil */
        count_d = (double)q;
    } else {
        count_d = ceil((v[1] - v[0]) / v[2]);
    }
    if (!(count_d >= 1))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "Range(%.9g, %.9g, %.9g) is empty; clgraph tensors are never empty", v[0], v[1], v[2]);
    if (count_d > (double)((int64_t)1 << 31))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "Range(%.9g, %.9g, %.9g) has more than 2^31 elements", v[0], v[1],
                       v[2]);
    int64_t count = (int64_t)count_d;
    if (count > HOST_RANGE_MAX) {
        if (ox_dtype_is_int(dtype) && fabs(v[0] + (double)(count - 1) * v[2]) > CLG_MAX_EXACT_INT)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "Range(%lld, %lld, %lld) computed in the graph reaches past 2^24; integers are computed "
                           "as floats", (long long)iv[0], (long long)iv[1], (long long)iv[2]);
        return graph_range(ox, out[0], dtype, v[0], v[2], count);
    }
    ox_host h;
    clg_status s = ox_host_new(ox, dtype, 1, &count, &h);
    if (s) return s;
    for (int64_t k = 0; k < count; k++) {
        if (h.f) h.f->data[k] = (float)(v[0] + (double)k * v[2]);
        else h.i[k] = iv[0] + k * iv[2];
    }
    out[0]->host = h;
    out[0]->kind = OX_HOST;
    return CLG_OK;
}
