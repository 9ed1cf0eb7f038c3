/* ArgMax and ArgMin's reference kernel: along the axis, the index of the
 * largest (smallest) element, the first of equal ones or, with
 * select_last_index, the last. NaN counts as the extreme, as NumPy's argmax
 * and argmin (ONNX's reference) have it: the first NaN wins (the last with
 * select_last_index). The result is the index as a float (an i64 value). */
#include <math.h>

#include "reference_ops.h"

clg_status clg_ref_argmax(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int64_t axis = a->node->attrs.axis < 0 ? a->node->attrs.axis + xs->rank : a->node->attrs.axis;
    int64_t outer = 1, len = xs->dims[axis], inner = 1;
    for (int d = 0; d < axis; d++) outer *= xs->dims[d];
    for (int d = (int)axis + 1; d < xs->rank; d++) inner *= xs->dims[d];
    bool max = a->node->op == CLG_OP_ARGMAX, last = a->node->attrs.select_last_index != 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = a->in[0] + o * len * inner + i;
            int64_t best = 0;
            for (int64_t k = 1; k < len; k++) {
                float v = x[k * inner], b = x[best * inner];
                bool take;
                if (isnan(b)) take = last && isnan(v);
                else if (isnan(v)) take = true;
                else take = max ? v > b : v < b;
                if (!take && last && v == b) take = true;
                if (take) best = k;
            }
            a->out[o * inner + i] = (float)best;
        }
    return CLG_OK;
}
