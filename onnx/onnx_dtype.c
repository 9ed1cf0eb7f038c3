/* Element types at the importer's edges: which ONNX data types become
 * clgraph's integer, bool and f16 values (graph inputs, outputs, integer
 * constants used by graph ops), and integer host values materialized as
 * constants of exact floats. FLOAT16 data is held as floats (every half is
 * one): graph inputs and outputs declared FLOAT16 are clgraph's f16, which
 * converts at the model's edges. */
#include <stdio.h>

#include "onnx_internal.h"

bool ox_dtype_to_clg(int32_t onnx, clg_dtype *out)
{
    switch (onnx) {
    case OX_FLOAT: *out = CLG_DTYPE_F32; return true;
    case OX_INT64: *out = CLG_DTYPE_I64; return true;
    case OX_INT32: *out = CLG_DTYPE_I32; return true;
    case OX_BOOL: *out = CLG_DTYPE_BOOL; return true;
    case OX_FLOAT16: *out = CLG_DTYPE_F16; return true;
    default: return false;
    }
}

int32_t ox_dtype_from_clg(clg_dtype t)
{
    switch (t) {
    case CLG_DTYPE_F32: return OX_FLOAT;
    case CLG_DTYPE_I64: return OX_INT64;
    case CLG_DTYPE_I32: return OX_INT32;
    case CLG_DTYPE_BOOL: return OX_BOOL;
    case CLG_DTYPE_F16: return OX_FLOAT16;
    }
    return 0;
}

bool ox_graph_int_type(int32_t onnx, clg_dtype *out)
{
    if (onnx == OX_INT8 || onnx == OX_UINT8 || onnx == OX_INT16 || onnx == OX_UINT16) {
        *out = CLG_DTYPE_I32; /* every value fits: an INT32 tensor holds them */
        return true;
    }
    return ox_dtype_to_clg(onnx, out) && !clg_dtype_is_float(*out);
}

clg_status ox_int_host_const(ox_ctx *ox, const ox_value *v, clg_const **out, clg_dtype *dtype)
{
    const ox_host *h = &v->host;
    *out = NULL;
    if (!ox_graph_int_type(h->dtype, dtype))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "'%s' has type %s but is used as a graph tensor; clgraph computes in FLOAT, FLOAT16, "
                       "INT64, INT32 and BOOL only", v->name, ox_dtype_name(h->dtype));
    if (h->sym)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "'%s' depends on the batch N and is used as a graph tensor, which is not supported",
                       v->name);
    clg_const *c = clg_const_new(ox->g, h->count ? h->count : 1);
    if (!c) return ox_oom(ox);
    size_t bad;
    int64_t value;
    if (!clg_values_to_float(h->i, CLG_DTYPE_I64, h->count, c->data, &bad, &value)) {
        clg_const_release(ox->g, c);
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "'%s': element %zu is %lld, past 2^24 in magnitude: clgraph holds integers as exact floats",
                       v->name, bad, (long long)value);
    }
    c->init.kind = CLG_INIT_LIST;
    *out = c;
    return CLG_OK;
}

clg_status ox_require_float(ox_ctx *ox, ox_value *const *in, int n)
{
    for (int i = 0; i < n; i++) {
        const ox_value *v = in[i];
        if (!v) continue;
        int32_t type = v->kind == OX_HOST ? v->host.dtype
                     : v->kind == OX_TENSOR ? ox_dtype_from_clg(ox->g->nodes[v->node].dtype) : OX_FLOAT;
        if (type != OX_FLOAT && type != OX_FLOAT16 && !(v->kind == OX_HOST && type == OX_DOUBLE))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "input '%s' is %s; clgraph computes this op on FLOAT tensors only (integer arithmetic "
                           "of computed tensors is not supported)", v->name, ox_dtype_name(type));
    }
    return CLG_OK;
}
