/* Shape inference of the reductions (ReduceMean ... ReduceLogSumExp) and of
 * LayerNorm. A dim below 0 is a symbolic size: kept dims are copied, and a
 * reduced one becomes 1 or goes; no size is computed from it (the element
 * count a mean divides by is the bound one, which only the kernels see),
 * so a reduction over N or S is as well defined as Softmax along it. */
#include <stdio.h>
#include <string.h>

#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

#define shape_text(s, buf, size) clg_shape_str(c->g, (s), (buf), (size))

/* The axes a reduction's attributes name, as a mask over x's dims: every
 * dim when axes is empty (ONNX's default). */
static clg_status reduced_mask(const clg_infer_ctx *c, const clg_shape *x, bool mask[CLG_MAX_RANK])
{
    const clg_attrs *a = c->attrs;
    for (int d = 0; d < CLG_MAX_RANK; d++) mask[d] = a->axes_rank == 0 && d < x->rank;
    for (int k = 0; k < a->axes_rank; k++) {
        int64_t ax = a->axes[k];
        if (ax < -x->rank || ax >= x->rank)
            return FAIL(c, "axes[%d] = %lld is out of range for rank %d", k, (long long)ax, x->rank);
        if (ax < 0) ax += x->rank;
        if (mask[ax]) return FAIL(c, "axes[%d] = %lld repeats an axis", k, (long long)a->axes[k]);
        mask[ax] = true;
    }
    return CLG_OK;
}

clg_status clg_infer_reduce(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    if (c->attrs->keepdims != 0 && c->attrs->keepdims != 1)
        return FAIL(c, "keepdims must be 0 or 1, got %lld", (long long)c->attrs->keepdims);
    bool mask[CLG_MAX_RANK];
    clg_status s = reduced_mask(c, x, mask);
    if (s) return s;
    out->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!mask[d]) out->dims[out->rank++] = x->dims[d];
        else if (c->attrs->keepdims) out->dims[out->rank++] = 1;
    }
    /* clgraph tensors have rank 1 or more: a reduction to a scalar keeps
     * one dim of 1 (docs/ir.md). */
    if (out->rank == 0) out->dims[out->rank++] = 1;
    return CLG_OK;
}

/* LayerNorm(x, scale, bias?, residual?): every row of the dims from axis
 * on (of x + residual) is normalised; scale and bias broadcast to those
 * dims with the rows' own layout, that is they are (leading 1s aside) a
 * suffix of them, so the kernels index them by the position in the row
 * modulo their size. The residual has x's shape. */
clg_status clg_infer_layer_norm(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    int64_t axis;
    clg_status s = clg_infer_axis(c, c->attrs->axis, x->rank, 0, &axis);
    if (s) return s;
    if (!(c->attrs->epsilon >= 0)) return FAIL(c, "epsilon must not be negative");
    char b1[96], b2[96];
    if (c->n_inputs == 4) {
        const clg_shape *r = c->in[3];
        bool same = r->rank == x->rank;
        for (int d = 0; same && d < x->rank; d++) same = r->dims[d] == x->dims[d];
        if (!same)
            return FAIL(c, "residual %s must have the shape of the input %s", shape_text(r, b1, sizeof b1),
                        shape_text(x, b2, sizeof b2));
    }
    static const char *names[] = {"", "scale", "bias"};
    for (int i = 1; i < c->n_inputs && i < 3; i++) {
        const clg_shape *p = c->in[i];
        int lead = 0;
        while (lead < p->rank && p->dims[lead] == 1) lead++;
        bool ok = p->rank - lead <= x->rank - axis;
        for (int k = lead; ok && k < p->rank; k++) ok = p->dims[k] == x->dims[x->rank - p->rank + k];
        if (!ok)
            return FAIL(c, "%s %s must match the trailing dims of the normalised dims of %s (axis %lld)",
                        names[i], shape_text(p, b1, sizeof b1), shape_text(x, b2, sizeof b2), (long long)axis);
    }
    *out = *x;
    return CLG_OK;
}
