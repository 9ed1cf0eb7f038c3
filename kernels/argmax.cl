/* ArgMax (ArgMin with -DARGMIN) along one axis of x seen as
 * [outer, len, inner]: y[o, i] is the index k of the largest (smallest)
 * x[o, k, i], written as a float (an i64 value held exactly). Ties go to the
 * first index, or the last with -DSELECT_LAST; NaN counts as the extreme
 * (NumPy's rule, the ONNX reference's): the first NaN wins, or the last.
 *
 * One work-item per output element on the grid (i, o): neighbouring
 * work-items read neighbouring elements of each row k when inner > 1. The
 * host pads the first grid dim up to a multiple of 64, hence the check. */

__kernel void argmax(__global const store_t *x, uint x_off, __global store_t *y, uint y_off, int len, int inner)
{
    int i = get_global_id(0);
    if (i >= inner) return;
    int o = get_global_id(1);
    __global const store_t *row = x + x_off + o * len * inner + i;
    int best = 0;
    float b = LOAD(row, 0);
    for (int k = 1; k < len; k++) {
        float v = LOAD(row, k * inner);
        bool take;
        if (isnan(b)) {
#ifdef SELECT_LAST
            take = isnan(v);
#else
            take = false;
#endif
        } else if (isnan(v)) {
            take = true;
        } else {
#ifdef ARGMIN
            take = v < b;
#else
            take = v > b;
#endif
#ifdef SELECT_LAST
            take = take || v == b;
#endif
        }
        if (take) best = k, b = v;
    }
    STORE(y, y_off + o * inner + i, (float)best);
}
