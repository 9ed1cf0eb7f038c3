/* Reference kernels of the indexing and conversion ops: Gather,
 * GatherElements and Cast. */
#include <math.h>
#include <string.h>

#include "reference_ops.h"

/* y[o, j, i] = x[o, idx[j], i], data viewed as [outer, axis_len, inner]. An
 * index outside [-axis_len, axis_len) is an error naming the node, where
 * the device clamps it (kernels/gather.cl). */
clg_status clg_ref_gather(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *is = a->in_shapes[1];
    int64_t axis = a->node->attrs.axis < 0 ? a->node->attrs.axis + xs->rank : a->node->attrs.axis;
    int64_t outer = 1, inner = 1, q = 1, len = xs->dims[axis];
    for (int i = 0; i < axis; i++) outer *= xs->dims[i];
    for (int i = (int)axis + 1; i < xs->rank; i++) inner *= xs->dims[i];
    for (int i = 0; i < is->rank; i++) q *= is->dims[i];
    const float *x = a->in[0], *idx = a->in[1];
    for (int64_t j = 0; j < q; j++) {
        float v = idx[j];
        if (!(v >= (float)-len && v < (float)len))
            return clg_fail_node(a->g, CLG_ERR_INVALID_ARGUMENT, a->node->line, a->node->name, a->node->op,
                                 "index %.9g (element %lld of '%s') is out of range for dimension %lld "
                                 "of size %lld",
                                 (double)v, (long long)j, a->g->nodes[a->node->inputs[1]].name,
                                 (long long)axis, (long long)len);
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < q; j++) {
            int64_t k = (int64_t)idx[j];
            if (k < 0) k += len;
            memcpy(a->out + (o * q + j) * inner, x + (o * len + k) * inner, (size_t)inner * sizeof *x);
        }
    return CLG_OK;
}

clg_status clg_ref_cast(const clg_ref_args *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->out_shape->rank; i++) n *= a->out_shape->dims[i];
    clg_dtype to = a->node->attrs.to;
    for (int64_t i = 0; i < n; i++) {
        float v = a->in[0][i];
        a->out[i] = to == CLG_DTYPE_BOOL ? (v != 0.0f ? 1.0f : 0.0f)
                  : clg_dtype_is_int(to)   ? truncf(v)
                  : to == CLG_DTYPE_F16    ? clg_round_half(v)
                                           : v;
    }
    return CLG_OK;
}

/* y[p] = x[p with p[axis] replaced by idx[p]]; an index outside
 * [-len, len) is an error naming the node (the device clamps it). */
clg_status clg_ref_gather_elements(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int rank = xs->rank;
    int64_t axis = a->node->attrs.axis < 0 ? a->node->attrs.axis + rank : a->node->attrs.axis;
    int64_t xst[CLG_MAX_RANK], n = 1, len = xs->dims[axis];
    for (int d = rank - 1, s = 1; d >= 0; d--) {
        xst[d] = s;
        s *= (int)xs->dims[d];
    }
    for (int d = 0; d < rank; d++) n *= ys->dims[d];
    int64_t at[CLG_MAX_RANK] = {0};
    for (int64_t i = 0; i < n; i++) {
        float v = a->in[1][i];
        if (!(v >= (float)-len && v < (float)len))
            return clg_fail_node(a->g, CLG_ERR_INVALID_ARGUMENT, a->node->line, a->node->name, a->node->op,
                                 "index %.9g (element %lld of '%s') is out of range for dimension %lld "
                                 "of size %lld",
                                 (double)v, (long long)i, a->g->nodes[a->node->inputs[1]].name, (long long)axis,
                                 (long long)len);
        int64_t k = (int64_t)v < 0 ? (int64_t)v + len : (int64_t)v, off = 0;
        for (int d = 0; d < rank; d++) off += (d == axis ? k : at[d]) * xst[d];
        a->out[i] = a->in[0][off];
        for (int d = rank - 1; d >= 0 && ++at[d] == ys->dims[d]; d--) at[d] = 0;
    }
    return CLG_OK;
}
