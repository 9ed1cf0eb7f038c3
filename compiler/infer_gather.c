/* Shape functions of the indexing ops: Gather, GatherElements. */
#include <stdio.h>

#include "infer.h"

/* ONNX Gather: data's dims before axis, then the indices' dims, then data's
 * dims after axis. A symbolic dim is copied through like any other; the
 * indices are checked against the gathered dim at run time (by the
 * reference executor; clamped on the device). */
clg_status clg_infer_gather(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0], *idx = c->in[1];
    int64_t axis;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 0, &axis);
    if (s) return s;
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

/* ONNX GatherElements: the indices have data's rank and give the result's
 * shape; along every other axis they may not reach past data (the result's
 * element at a position reads data at the same position but along axis). A
 * symbolic dim must be the same symbol in both, as the check needs sizes. */
clg_status clg_infer_gather_elements(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0], *idx = c->in[1];
    int64_t axis;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 0, &axis);
    if (s) return s;
    char xb[96], ib[96];
    if (idx->rank != x->rank)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "indices %s must have the data's rank (data %s)", clg_shape_str(c->g, idx, ib, sizeof ib),
                             clg_shape_str(c->g, x, xb, sizeof xb));
    for (int d = 0; d < x->rank; d++) {
        if (d == axis || idx->dims[d] == x->dims[d]) continue;
        /* With a symbolic size the comparison waits for the sizes: shape
         * inference runs again on the bound shapes before anything runs. */
        if (idx->dims[d] < 0 || x->dims[d] < 0) continue;
        if (idx->dims[d] > x->dims[d])
            return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                                 "dimension %d of indices %s is larger than the data's %s", d,
                                 clg_shape_str(c->g, idx, ib, sizeof ib), clg_shape_str(c->g, x, xb, sizeof xb));
    }
    *out = *idx;
    return CLG_OK;
}
