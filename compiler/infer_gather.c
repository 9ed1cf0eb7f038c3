/* Shape functions of the indexing ops: Gather. */
#include <stdio.h>

#include "infer.h"

/* ONNX Gather: data's dims before axis, then the indices' dims, then data's
 * dims after axis. A symbolic dim is copied through like any other; the
 * indices are checked against the gathered dim at run time (by the
 * reference executor; clamped on the device). */
clg_status clg_infer_gather(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0], *idx = c->in[1];
    int64_t axis = c->attrs->axis;
    if (axis < -x->rank || axis >= x->rank)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    int rank = x->rank + idx->rank - 1;
    if (rank > CLG_MAX_RANK)
        return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                             "the result would have rank %d (data rank %d, indices rank %d); at most %d",
                             rank, x->rank, idx->rank, CLG_MAX_RANK);
    out->rank = rank;
    int r = 0;
    for (int i = 0; i < axis; i++) out->dims[r++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) out->dims[r++] = idx->dims[i];
    for (int i = (int)axis + 1; i < x->rank; i++) out->dims[r++] = x->dims[i];
    return CLG_OK;
}
