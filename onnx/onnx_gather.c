/* Gather, GatherElements and Cast of graph tensors, as clgraph's nodes of
 * the same names.
 * (Both fold on the host when every input is a host value: onnx_fold.c.) */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* ONNX's indices are always INT64 or INT32; a computed one that clgraph
 * holds as f32 (an Elementwise formula of integers, such as Where over
 * integer constants, gives f32) becomes i64 through a Cast, which keeps its
 * values (they are integers) and satisfies the op's type rule. */
static clg_status integer_indices(ox_ctx *ox, const ox_value *out, int *idx)
{
    if (ox->g->nodes[*idx].dtype != CLG_DTYPE_F32) return CLG_OK;
    char hint[256];
    snprintf(hint, sizeof hint, "%s/indices", out->clg_name);
    return ox_append_cast(ox, NULL, hint, *idx, CLG_DTYPE_I64, idx);
}

/* Gather(data, indices) along axis. Constant indices are checked against
 * the gathered dimension here (the device clamps; a wrong model should fail
 * at import, not compute something). Scalar indices drop the axis: a Gather
 * with one index, then a Reshape without that dimension. */
clg_status ox_convert_gather(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_in, (void)n_out;
    int64_t axis;
    clg_status s = ox_attr_int(ox, n, "axis", 0, &axis);
    if (s) return s;
    int x, idx;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const ox_value *iv = in[1];
    bool scalar = iv->kind == OX_HOST && iv->host.rank == 0;
    if (iv->kind == OX_HOST) {
        if (!ox_dtype_is_int(iv->host.dtype) || iv->host.dtype == OX_BOOL)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the indices '%s' must be integers", iv->name);
        const clg_shape *xs = &ox->g->nodes[x].shape;
        int64_t ax = axis < 0 ? axis + xs->rank : axis;
        if (ax >= 0 && ax < xs->rank && !clg_dim_is_symbolic(xs->dims[ax]) && !iv->host.sym) {
            int64_t dim = xs->dims[ax];
            for (size_t j = 0; j < iv->host.count; j++)
                if (iv->host.i[j] < -dim || iv->host.i[j] >= dim)
                    return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                                   "index %lld (element %zu of '%s') is out of range for dimension %lld of size %lld",
                                   (long long)iv->host.i[j], j, iv->name, (long long)ax, (long long)dim);
        }
    }
    if ((s = ox_tensor_node(ox, in[1], &idx)) || (s = integer_indices(ox, out[0], &idx))) return s;
    clg_attrs a;
    clg_attrs_default(CLG_OP_GATHER, &a);
    a.axis = axis;
    int inputs[2] = {x, idx};
    if (!scalar) {
        if ((s = ox_append(ox, CLG_OP_GATHER, out[0], NULL, inputs, 2, &a, &out[0]->node))) return s;
        out[0]->kind = OX_TENSOR;
        return CLG_OK;
    }
    char hint[256];
    snprintf(hint, sizeof hint, "%s/gather", out[0]->clg_name);
    int gathered;
    if ((s = ox_append(ox, CLG_OP_GATHER, NULL, hint, inputs, 2, &a, &gathered))) return s;
    const clg_shape *gs = &ox->g->nodes[gathered].shape;
    int64_t ax = axis < 0 ? axis + gs->rank : axis;
    if (gs->rank < 2)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a scalar index into a rank-1 tensor gives a scalar, which "
                                                "clgraph cannot represent");
    clg_attrs r;
    clg_attrs_default(CLG_OP_RESHAPE, &r);
    /* A symbolic size keeps its position (0: copy) before the axis and
     * moves one place after it (its symbolic value, as reshape_to writes). */
    for (int k = 0; k < gs->rank; k++) {
        int64_t d = gs->dims[k];
        if (k == ax) continue;
        r.shape[r.shape_rank++] = !clg_dim_is_symbolic(d) ? d : k < ax ? 0 : clg_reshape_value(d);
    }
    if ((s = ox_append(ox, CLG_OP_RESHAPE, out[0], NULL, &gathered, 1, &r, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

/* GatherElements(data, indices) along axis; constant indices are checked
 * against the gathered dimension here, as for Gather. */
clg_status ox_convert_gather_elements(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in,
                                      ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    int64_t axis;
    clg_status s = ox_attr_int(ox, n, "axis", 0, &axis);
    if (s) return s;
    int inputs[2];
    if ((s = ox_tensor_node(ox, in[0], &inputs[0]))) return s;
    const ox_value *iv = in[1];
    if (iv->kind == OX_HOST) {
        if (!ox_dtype_is_int(iv->host.dtype) || iv->host.dtype == OX_BOOL)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the indices '%s' must be integers", iv->name);
        const clg_shape *xs = &ox->g->nodes[inputs[0]].shape;
        int64_t ax = axis < 0 ? axis + xs->rank : axis;
        if (ax >= 0 && ax < xs->rank && !clg_dim_is_symbolic(xs->dims[ax]) && !iv->host.sym) {
            int64_t dim = xs->dims[ax];
            for (size_t j = 0; j < iv->host.count; j++)
                if (iv->host.i[j] < -dim || iv->host.i[j] >= dim)
                    return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                                   "index %lld (element %zu of '%s') is out of range for dimension %lld of size %lld",
                                   (long long)iv->host.i[j], j, iv->name, (long long)ax, (long long)dim);
        }
    }
    if ((s = ox_tensor_node(ox, in[1], &inputs[1])) || (s = integer_indices(ox, out[0], &inputs[1]))) return s;
    clg_attrs a;
    clg_attrs_default(CLG_OP_GATHER_ELEMENTS, &a);
    a.axis = axis;
    if ((s = ox_append(ox, CLG_OP_GATHER_ELEMENTS, out[0], NULL, inputs, 2, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

/* Cast of a graph tensor to FLOAT, FLOAT16, INT64, INT32 or BOOL: an
 * Identity when the type does not change, else a Cast node (to an integer
 * truncates toward zero, to BOOL is != 0, to FLOAT16 rounds to the nearest
 * half, ties to even, as ONNX says; from FLOAT16 to FLOAT changes no value). */
static clg_status cast_tensor(ox_ctx *ox, int64_t to, ox_value **in, ox_value **out)
{
    clg_status s;
    clg_attrs a;
    clg_attrs_default(CLG_OP_CAST, &a);
    if (!ox_dtype_to_clg((int32_t)to, &a.to))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "a cast of a computed tensor to %s is not supported (FLOAT, FLOAT16, INT64, INT32 or BOOL)",
                       ox_dtype_name((int32_t)to));
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    clg_op op = ox->g->nodes[x].dtype == a.to ? CLG_OP_IDENTITY : CLG_OP_CAST;
    if (op == CLG_OP_IDENTITY) clg_attrs_default(op, &a);
    if ((s = ox_append(ox, op, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}

clg_status ox_convert_cast(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                           int n_out)
{
    (void)n_in, (void)n_out;
    int64_t to;
    clg_status s = ox_attr_int(ox, n, "to", 0, &to);
    return s ? s : cast_tensor(ox, to, in, out);
}

/* CastLike (opset 15): Cast to the type of the second input, a graph
 * tensor or a constant; its values are not read. Folded when the first
 * input is a constant. */
clg_status ox_convert_cast_like(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                                int n_out)
{
    (void)n, (void)n_in, (void)n_out;
    const ox_value *like = in[1];
    int64_t to;
    if (like->kind == OX_HOST) to = like->host.dtype;
    else if (like->kind == OX_TENSOR) to = ox_dtype_from_clg(ox->g->nodes[like->node].dtype);
    else return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the target_type input '%s' is not available", like->name);
    if (in[0]->kind != OX_HOST) return cast_tensor(ox, to, in, out);
    ox_host h;
    memset(&h, 0, sizeof h);
    clg_status s = ox_fold_cast(ox, to, in, &h);
    if (s) {
        ox_host_free(ox->g, &h);
        return s;
    }
    out[0]->host = h;
    out[0]->kind = OX_HOST;
    return CLG_OK;
}
