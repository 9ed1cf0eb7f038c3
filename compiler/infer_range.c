/* Shape function of Range: no inputs; the output is [length], the length
 * being the attribute shape's one entry. It may name a symbolic size (written
 * as Reshape's: clg_reshape_value), which is what lets positions =
 * arange(S) of a sequence length stay symbolic; once the plan binds the
 * sizes it is that size's number. */
#include <math.h>

#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

clg_status clg_infer_range(const clg_infer_ctx *c, clg_shape *out)
{
    const clg_attrs *a = c->attrs;
    if (a->shape_rank != 1)
        return FAIL(c, "attribute shape must hold the length, one entry; got %d", a->shape_rank);
    int64_t len = a->shape[0];
    if (len < -1) {
        len = clg_reshape_dim(len);
        if (CLG_DIM_ENTRY(len) >= c->g->dims.n_exprs && len != CLG_BATCH)
            return FAIL(c, "shape[0] names no symbolic size of this graph");
        if (c->g->binding && !clg_dim_eval(c->g, len, c->g->binding, &len))
            return FAIL(c, "shape[0] names a size no input gives");
    }
    if (!clg_dim_is_symbolic(len) && (len < 1 || len > ((int64_t)1 << 31)))
        return FAIL(c, "shape[0] = %lld: the length must be 1 to 2^31", (long long)len);
    if (!(a->range_start == a->range_start) || !(a->range_delta == a->range_delta))
        return FAIL(c, "start and delta must be numbers, got %g and %g", (double)a->range_start,
                    (double)a->range_delta);
    /* An integer Range is held as exact floats: its last value must be
     * within 2^24 (the importer checked start and delta; the length is
     * known only now when it is symbolic). */
    if (a->to != CLG_DTYPE_F32 && !clg_dim_is_symbolic(len) &&
        (fabs((double)a->range_start) > CLG_MAX_EXACT_INT ||
         fabs((double)a->range_start + (double)(len - 1) * (double)a->range_delta) > CLG_MAX_EXACT_INT))
        return clg_fail_node(c->g, CLG_ERR_UNSUPPORTED, c->line, c->name, c->op,
                             "a Range of length %lld from %g by %g goes past 2^24, where %s values are not exact "
                             "as floats", (long long)len, (double)a->range_start, (double)a->range_delta,
                             clg_dtype_name(a->to));
    out->rank = 1;
    out->dims[0] = len;
    return CLG_OK;
}
