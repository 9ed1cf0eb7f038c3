/* ONNX Cast between f32, f16, i64, i32 and bool, all held as floats: to an
 * integer type truncates toward zero (CAST_TO_INT), to bool gives 1 for any
 * non-zero value (CAST_TO_BOOL, NaN included, as C's != 0), to f16 rounds
 * to the nearest half and keeps it as a float (CAST_TO_HALF), to f32 copies.
 * Each work-item reads x[i] before writing y[i], so y may be x. The host
 * pads the grid up to a multiple of 64, hence the check. */

#if defined(CAST_TO_HALF)
/* IEEE round to nearest, ties to even, done on the float's bits rather
 * than with vstore_half: no half type, no extension, and the same result on
 * every driver whatever its rounding of NaN and subnormal halves. */
float round_to_half(float v)
{
    uint u = as_uint(v);
    uint sign = u & 0x80000000u;
    uint a = u ^ sign;
    if (a > 0x7f800000u) return v;                             /* NaN */
    if (a >= 0x477ff000u) return as_float(sign | 0x7f800000u); /* >= 65520: past 65504, inf */
    /* Below 2^-14 a half is a multiple of 2^-24 (subnormal); rint rounds
     * ties to even. The scaling by powers of two is exact. */
    if (a < 0x38800000u) return rint(v * 16777216.0f) * 5.9604644775390625e-8f;
    /* Keep 10 of the 23 fraction bits: add just under half a unit of the
     * dropped 13 bits, plus one when the kept lsb is odd (ties to even); a
     * carry moves into the exponent exactly when the value rounds up. */
    a += 0xfffu + ((a >> 13) & 1u);
    return as_float(sign | (a & ~0x1fffu));
}
#endif

__kernel void cast(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float v = LOAD(x, x_off + i);
#if defined(CAST_TO_BOOL)
    STORE(y, y_off + i, v != 0.0f ? 1.0f : 0.0f);
#elif defined(CAST_TO_INT)
    STORE(y, y_off + i, trunc(v));
#elif defined(CAST_TO_HALF)
    STORE(y, y_off + i, round_to_half(v));
#else
    STORE(y, y_off + i, v);
#endif
}
