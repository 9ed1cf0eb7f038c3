/* ONNX Cast between f32, i64, i32 and bool, all held as floats: to an
 * integer type truncates toward zero (CAST_TO_INT), to bool gives 1 for any
 * non-zero value (CAST_TO_BOOL, NaN included, as C's != 0), to f32 copies.
 * Each work-item reads x[i] before writing y[i], so y may be x. The host
 * pads the grid up to a multiple of 64, hence the check. */
__kernel void cast(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    float v = LOAD(x, x_off + i);
#if defined(CAST_TO_BOOL)
    STORE(y, y_off + i, v != 0.0f ? 1.0f : 0.0f);
#elif defined(CAST_TO_INT)
    STORE(y, y_off + i, trunc(v));
#else
    STORE(y, y_off + i, v);
#endif
}
