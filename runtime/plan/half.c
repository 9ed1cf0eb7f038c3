/* Half precision on the host: the weights' conversion at model creation
 * and the conversion of inputs and outputs at a half-precision model's
 * edges (IEEE 754 binary16, round to nearest even, as vstore_half_rte). */
#include <math.h>
#include <string.h>

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

uint16_t clg_half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); /* NaN stays NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to 65520 or more: inf */
    if (ax < 0x38800000u) {
        /* a subnormal half (or zero): the value in units of 2^-24, rounded to nearest even */
        if (ax < 0x33000000u) return sign; /* below half the smallest subnormal: zero */
        uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23); /* 14 .. 24 */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    /* normal: rebias the exponent, round the 13 dropped bits to nearest even (a carry into
     * the exponent is the right result) */
    uint32_t h = ((ax - 0x38000000u) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

float clg_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
    if (e == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (e == 31) x = sign | 0x7f800000u | (mant << 13);
    else x = sign | ((e + 112u) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}
