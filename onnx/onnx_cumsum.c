/* CumSum (opset 11) as a MatMul by a triangle of ones: along an axis of
 * length L, y[..., j] = sum_i x[..., i] * T[i, j] with T[i, j] = 1 when
 * i <= j (i < j exclusive; i >= j and i > j reversed). T is a [1, 1] one
 * Expanded to [L, L] and cut by a Trilu, so L may be symbolic (HF
 * transformers' position ids, cumsum over an attention mask of the
 * sequence length); the axis is moved last by a Transpose and back. O(L^2)
 * per row: meant for the sequence lengths models cumsum over, not for
 * millions of elements. Integer data (ids, masks) is summed in float,
 * exact to 2^24, and cast back. */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

static clg_status append1(ox_ctx *ox, clg_op op, ox_value *out, const char *hint, int from, const clg_attrs *a,
                          int *node)
{
    return ox_append(ox, op, out, out ? NULL : hint, &from, 1, a, node);
}

clg_status ox_convert_cumsum(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_in, (void)n_out;
    int64_t exclusive, reverse;
    clg_status s;
    if ((s = ox_attr_int(ox, n, "exclusive", 0, &exclusive)) || (s = ox_attr_int(ox, n, "reverse", 0, &reverse)))
        return s;
    const ox_value *av = in[1];
    if (av->kind != OX_HOST || !ox_dtype_is_int(av->host.dtype) || av->host.count != 1 || av->host.rank > 1 ||
        (av->host.sym && av->host.sym[0]))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "axis '%s' must be a constant integer scalar", av->name);
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    clg_dtype dtype = ox->g->nodes[x].dtype;
    if (dtype == CLG_DTYPE_BOOL)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "CumSum of BOOL '%s' is not defined", in[0]->name);
    int64_t axis = av->host.i[0];
    if (axis < -xs.rank || axis >= xs.rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "axis %lld is out of range for rank %d", (long long)axis, xs.rank);
    if (axis < 0) axis += xs.rank;
    int64_t len = xs.dims[axis];
    char hint[256];
    const char *base = out[0]->clg_name;
    bool is_int = dtype == CLG_DTYPE_I64 || dtype == CLG_DTYPE_I32;
    clg_attrs a;
    if (is_int || dtype == CLG_DTYPE_F16) { /* sum in float */
        snprintf(hint, sizeof hint, "%s/float", base);
        if ((s = ox_append_cast(ox, NULL, hint, x, CLG_DTYPE_F32, &x))) return s;
    }
    /* the axis last */
    clg_attrs perm;
    clg_attrs_default(CLG_OP_TRANSPOSE, &perm);
    perm.perm_rank = xs.rank;
    for (int k = 0; k < xs.rank; k++) perm.perm[k] = k;
    perm.perm[axis] = xs.rank - 1;
    perm.perm[xs.rank - 1] = axis;
    bool moved = axis != xs.rank - 1;
    if (moved) {
        snprintf(hint, sizeof hint, "%s/axis_last", base);
        if ((s = append1(ox, CLG_OP_TRANSPOSE, NULL, hint, x, &perm, &x))) return s;
    }
    /* T: ones [1, 1] expanded to [L, L], the triangle kept */
    ox_value one;
    memset(&one, 0, sizeof one);
    one.name = out[0]->name;
    one.kind = OX_HOST;
    one.node = -1;
    one.producer = out[0]->producer;
    snprintf(hint, sizeof hint, "%s/one", base);
    if (!(one.clg_name = ox_unique_name(ox, hint))) return ox_oom(ox);
    if ((s = ox_host_new(ox, OX_FLOAT, 2, (int64_t[]){1, 1}, &one.host))) return s;
    one.host.f->data[0] = 1.0f;
    int t;
    s = ox_tensor_node(ox, &one, &t);
    ox_host_free(ox->g, &one.host);
    if (s) return s;
    clg_attrs_default(CLG_OP_EXPAND, &a);
    a.shape_rank = 2;
    a.shape[0] = a.shape[1] = clg_dim_is_symbolic(len) ? clg_reshape_value(len) : len;
    snprintf(hint, sizeof hint, "%s/ones", base);
    if ((s = append1(ox, CLG_OP_EXPAND, NULL, hint, t, &a, &t))) return s;
    clg_attrs_default(CLG_OP_TRILU, &a);
    a.upper = !reverse;
    a.trilu_k = !exclusive ? 0 : reverse ? -1 : 1;
    snprintf(hint, sizeof hint, "%s/triangle", base);
    if ((s = append1(ox, CLG_OP_TRILU, NULL, hint, t, &a, &t))) return s;
    bool last = !moved && !is_int && dtype != CLG_DTYPE_F16;
    int mm_in[2] = {x, t};
    snprintf(hint, sizeof hint, "%s/sums", base);
    if ((s = ox_append(ox, CLG_OP_MATMUL, last ? out[0] : NULL, last ? NULL : hint, mm_in, 2, NULL, &x))) return s;
    if (moved) {
        last = !is_int && dtype != CLG_DTYPE_F16;
        snprintf(hint, sizeof hint, "%s/axis_back", base);
        if ((s = append1(ox, CLG_OP_TRANSPOSE, last ? out[0] : NULL, hint, x, &perm, &x))) return s;
    }
    if (!last) {
        if ((s = ox_append_cast(ox, out[0], NULL, x, dtype, &x))) return s;
    }
    out[0]->node = x;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
