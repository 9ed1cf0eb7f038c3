/* Trilu's reference kernel, straight from the ONNX definition: element
 * (i, j) of each matrix (the last two dims) is kept when j - i >= k (upper)
 * or j - i <= k (lower), else it is 0, written as 0 rather than computed as
 * x * 0 (an -inf outside the triangle must become 0, not NaN). */
#include "reference_ops.h"

clg_status clg_ref_trilu(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0];
    int64_t rows = xs->dims[xs->rank - 2], cols = xs->dims[xs->rank - 1];
    int64_t mats = 1, k = a->node->attrs.trilu_k;
    for (int d = 0; d < xs->rank - 2; d++) mats *= xs->dims[d];
    bool upper = a->node->attrs.upper != 0;
    const float *x = a->in[0];
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                int64_t at = (m * rows + i) * cols + j;
                bool keep = upper ? j - i >= k : j - i <= k;
                a->out[at] = keep ? x[at] : 0.0f;
            }
    return CLG_OK;
}
