/* The precision option's names and element sizes. The half conversions
 * themselves (IEEE 754 binary16, round to nearest even, as
 * vstore_half_rte) are compiler/dtype.c's, shared with f16 tensors. */

#include "plan.h"

const char *clg_precision_name(clg_precision p)
{
    switch (p) {
    case CLG_PRECISION_FP32: return "fp32";
    case CLG_PRECISION_FP16_STORAGE: return "fp16-storage";
    case CLG_PRECISION_FP16: return "fp16";
    }
    return "?";
}


size_t clg_precision_elem_size(clg_precision p) { return p == CLG_PRECISION_FP32 ? sizeof(float) : 2; }
