/* Half precision on the host: the precision option's names. The
 * conversions themselves (IEEE 754 binary16, round to nearest even, as
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

