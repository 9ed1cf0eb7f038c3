/* The ops that build attention masks: ConstantOfShape (a tensor of one
 * value, its shape often computed from a symbolic sequence length) and
 * Trilu (the triangle of a causal mask). PyTorch exports
 * torch.triu(torch.full((s, s), -inf), diagonal=1) as
 * Shape -> ... -> ConstantOfShape(-inf) -> Trilu(k = 1). */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* A ConstantOfShape of concrete shape with more elements than this becomes
 * a graph Expand rather than a host value: host values are meant for shape
 * arithmetic, and a large filled tensor need not be written out at import. */
#define HOST_FILL_MAX 65536

/* ---------------------------------------------------------------- ConstantOfShape */

/* The fill value: the `value` attribute (a one-element tensor), float 0
 * when absent. */
static clg_status fill_value(ox_ctx *ox, const Onnx__NodeProto *n, ox_host *out)
{
    const Onnx__AttributeProto *a = ox_attr(n, "value");
    if (!a) {
        clg_status s = ox_host_new(ox, OX_FLOAT, 0, NULL, out);
        if (!s) out->f->data[0] = 0.0f;
        return s;
    }
    if ((a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR) || !a->t)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute value must be a tensor");
    clg_status s = ox_tensor_decode(ox, a->t, "attribute value", out);
    if (s) return s;
    if (out->count != 1) {
        size_t count = out->count;
        ox_host_free(ox->g, out);
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute value must hold one element, got %zu", count);
    }
    return CLG_OK;
}

clg_status ox_convert_constant_of_shape(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                        ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    const ox_value *sv = in[0];
    if (sv->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "the shape '%s' is computed in the graph; it must be a constant or computed from shapes at "
                       "import", sv->name);
    const ox_host *sh = &sv->host;
    if (!ox_dtype_is_int(sh->dtype) || sh->rank != 1)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the shape '%s' must be a 1-D integer tensor", sv->name);
    if (sh->count > OX_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the shape '%s' has %zu dims; at most %d are supported", sv->name,
                       sh->count, OX_MAX_RANK);
    int rank = (int)sh->count;
    int64_t dims[OX_MAX_RANK];
    bool symbolic = false;
    for (int k = 0; k < rank; k++) {
        dims[k] = sh->i[k];
        if (sh->sym && sh->sym[k]) symbolic = true;
        else if (dims[k] < 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the shape '%s' has the negative dimension %lld at %d",
                           sv->name, (long long)dims[k], k);
    }
    ox_host value;
    clg_status s = fill_value(ox, n, &value);
    if (s) return s;
    bool is_float = value.f != NULL;
    float fv = is_float ? value.f->data[0] : 0.0f;
    int64_t iv = is_float ? 0 : value.i[0];
    int32_t dtype = value.dtype;
    ox_host_free(ox->g, &value);

    int64_t count = symbolic ? -1 : ox_dims_count(rank, dims);
    if (!symbolic && (!is_float || count <= HOST_FILL_MAX)) {
        /* A host value, which shape arithmetic (an integer fill) or a later
         * fold may use. */
        ox_host h;
        if ((s = ox_host_new(ox, dtype, rank, dims, &h))) return s;
        for (size_t k = 0; k < h.count; k++) {
            if (is_float) h.f->data[k] = fv;
            else h.i[k] = iv;
        }
        out[0]->host = h;
        out[0]->kind = OX_HOST;
        return CLG_OK;
    }
    /* A graph tensor: the value as a constant of the output's rank with all
     * dims 1, expanded to the shape (Expand takes symbolic sizes and keeps
     * the element type; ox_tensor_node refuses a type graph tensors cannot
     * have). */
    if (rank < 1 || rank > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a shape of %d dims is not supported here (1 to %d)", rank,
                       CLG_MAX_RANK);
    clg_attrs a;
    clg_attrs_default(CLG_OP_EXPAND, &a);
    a.shape_rank = rank;
    int64_t ones[OX_MAX_RANK];
    for (int k = 0; k < rank; k++) {
        ones[k] = 1;
        if (sh->sym && sh->sym[k]) {
            a.shape[k] = clg_reshape_value(dims[k]); /* Reshape's encoding of a symbolic size */
            continue;
        }
        if (dims[k] < 1)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the shape '%s' has the dimension %lld at %d; clgraph dims are "
                           "positive", sv->name, (long long)dims[k], k);
        a.shape[k] = dims[k];
    }
    char hint[256];
    snprintf(hint, sizeof hint, "%s/value", out[0]->clg_name ? out[0]->clg_name : "ConstantOfShape");
    ox_value fill;
    memset(&fill, 0, sizeof fill);
    fill.name = out[0]->name;
    fill.kind = OX_HOST;
    fill.node = -1;
    fill.producer = out[0]->producer;
    if (!(fill.clg_name = ox_unique_name(ox, hint))) return ox_oom(ox);
    if ((s = ox_host_new(ox, dtype, rank, ones, &fill.host))) return s;
    if (is_float) fill.host.f->data[0] = fv;
    else fill.host.i[0] = iv;
    int node;
    s = ox_tensor_node(ox, &fill, &node);
    ox_host_free(ox->g, &fill.host);
    if (s) return s;
    if ((s = ox_append(ox, CLG_OP_EXPAND, out[0], NULL, &node, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

/* ---------------------------------------------------------------- Trilu */

clg_status ox_convert_trilu(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                            int n_out)
{
    (void)n_out;
    clg_attrs a;
    clg_attrs_default(CLG_OP_TRILU, &a);
    const Onnx__AttributeProto *up = ox_attr(n, "upper");
    if (up) {
        if ((up->has_type && up->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) || (!up->has_type && !up->has_i))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute upper must be an integer");
        a.upper = up->i != 0; /* ONNX: any nonzero value means the upper triangle */
    }
    if (n_in > 1 && in[1]) {
        const ox_value *kv = in[1];
        if (kv->kind != OX_HOST)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "k '%s' is computed in the graph; it must be a constant or computed from shapes at "
                           "import", kv->name);
        const ox_host *h = &kv->host;
        if (!ox_dtype_is_int(h->dtype) || h->count != 1 || h->rank > 1)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "k '%s' must be an integer scalar", kv->name);
        if (h->sym && h->sym[0]) {
            char d[CLG_DIM_STR_MAX];
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "k '%s' is the symbolic size %s; only constants are supported",
                           kv->name, clg_dim_str(ox->g, h->i[0], d, sizeof d));
        }
        a.trilu_k = h->i[0];
    }
    int x;
    clg_status s = ox_tensor_node(ox, in[0], &x);
    if (s) return s;
    if ((s = ox_append(ox, CLG_OP_TRILU, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
