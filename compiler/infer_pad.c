/* Shape inference for Pad: each dim grows by its begin and end pads, or
 * shrinks where a pad is negative (ONNX's cropping). */
#include <stdio.h>

#include "infer.h"

/* Pads are bounded so that no sum below can overflow. */
#define MAX_PAD ((int64_t)1 << 31)

clg_status clg_infer_pad(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_shape *x = c->in[0];
    const clg_attrs *a = c->attrs;
    char shape[160];
    clg_shape_str(c->g, x, shape, sizeof shape);
    if (a->pad_count != 2 * x->rank)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                             "attribute pads needs %d values (a begin and an end per dim of the input %s), got %d",
                             2 * x->rank, shape, a->pad_count);
    if ((unsigned)a->pad_mode >= CLG_PAD_MODE_COUNT)
        return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op, "unknown mode %d",
                             (int)a->pad_mode);
    *out = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t begin = a->pad_amounts[i], end = a->pad_amounts[i + x->rank], d = x->dims[i];
        if (begin < -MAX_PAD || begin > MAX_PAD || end < -MAX_PAD || end > MAX_PAD)
            return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                                 "pads of dim %d must be within +-2^31, got [%lld, %lld]", i, (long long)begin,
                                 (long long)end);
        if (begin == 0 && end == 0) continue;
        /* A symbolic size (negative) passes through only unpadded. */
        if (d < 0)
            return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                                 "padding dim %d of the input %s, which is symbolic, is not supported", i, shape);
        int64_t kept = d - (begin < 0 ? -begin : 0) - (end < 0 ? -end : 0);
        if (kept < 1)
            return clg_fail_node(c->g, CLG_ERR_INVALID_GRAPH, c->line, c->name, c->op,
                                 "pads [%lld, %lld] crop all of dim %d of the input %s", (long long)begin,
                                 (long long)end, i, shape);
        /* NumPy reflects again off the far side when a pad is longer than
         * the dim; ONNX Runtime refuses that, and so does clgraph. */
        if (a->pad_mode == CLG_PAD_REFLECT && (begin >= kept || end >= kept))
            return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                                 "reflect pads [%lld, %lld] of dim %d must be smaller than the %lld elements they "
                                 "reflect",
                                 (long long)begin, (long long)end, i, (long long)kept);
        out->dims[i] = d + begin + end;
    }
    return CLG_OK;
}
