/* Range's reference kernel: element i is start + i * delta, ONNX's formula,
 * rounded once (fmaf) as kernels/range.cl's fma is, so the two agree
 * exactly; integer ranges are exact either way. */
#include <math.h>

#include "reference_ops.h"

clg_status clg_ref_range(const clg_ref_args *a)
{
    int64_t n = a->out_shape->dims[0];
    float start = a->node->attrs.range_start, delta = a->node->attrs.range_delta;
    for (int64_t i = 0; i < n; i++) a->out[i] = fmaf((float)i, delta, start);
    return CLG_OK;
}
