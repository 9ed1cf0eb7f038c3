/* Pad (ONNX): y is x with each axis cropped by its negative pads, then
 * grown by its positive ones; the new elements are VALUE (constant mode),
 * a mirror of the elements next to the edge, the edge itself excluded
 * (PAD_MODE 1, reflect), or copies of the edge (PAD_MODE 2, edge).
 *
 * The host merges neighbouring axes without pads (they stay contiguous) and
 * writes every tensor as rank 8 (leading axes of size 1 with no pads). One
 * work-item per output element on the grid (o7, o6, the six leading axes
 * together): neighbouring work-items write neighbouring elements, and only
 * the outermost grid dim is split by division. The host pads the first
 * grid dim up to a multiple of 64, hence the check against n7.
 *
 * Per axis a: lead_a = the positive begin pad, crop_a = the negative begin
 * pad (as a count), kept_a = the axis' size after cropping, stride_a = the
 * input's element stride. */

#ifndef PAD_MODE
#define PAD_MODE 0
#endif

/* The input index along one axis for output index o; -1 for the constant. */
static int source(int o, int lead, int crop, int kept)
{
    int j = o - lead;
#if PAD_MODE == 2
    j = clamp(j, 0, kept - 1);
#elif PAD_MODE == 1
    j = j < 0 ? -j : j >= kept ? 2 * (kept - 1) - j : j;
#else
    if (j < 0 || j >= kept) return -1;
#endif
    return j + crop;
}

__kernel void pad(__global const store_t *x, uint x_off, __global store_t *y, uint y_off,
                  int n1, int n2, int n3, int n4, int n5, int n6, int n7,
                  int lead0, int lead1, int lead2, int lead3, int lead4, int lead5, int lead6, int lead7,
                  int crop0, int crop1, int crop2, int crop3, int crop4, int crop5, int crop6, int crop7,
                  int kept0, int kept1, int kept2, int kept3, int kept4, int kept5, int kept6, int kept7,
                  int stride0, int stride1, int stride2, int stride3, int stride4, int stride5, int stride6,
                  float value)
{
    int o7 = get_global_id(0);
    if (o7 >= n7) return;
    int o6 = get_global_id(1), outer = get_global_id(2);
    const int n[8] = {1, n1, n2, n3, n4, n5, n6, n7};
    const int lead[8] = {lead0, lead1, lead2, lead3, lead4, lead5, lead6, lead7};
    const int crop[8] = {crop0, crop1, crop2, crop3, crop4, crop5, crop6, crop7};
    const int kept[8] = {kept0, kept1, kept2, kept3, kept4, kept5, kept6, kept7};
    const int stride[8] = {stride0, stride1, stride2, stride3, stride4, stride5, stride6, 1};
    int o[8];
    o[7] = o7;
    o[6] = o6;
    int rest = outer;
#pragma unroll
    for (int a = 5; a > 0; a--) {
        o[a] = rest % n[a];
        rest /= n[a];
    }
    o[0] = rest;
    float v = value;
    int at = 0;
    bool inside = true;
#pragma unroll
    for (int a = 0; a < 8; a++) {
        int s = source(o[a], lead[a], crop[a], kept[a]);
        inside = inside && s >= 0;
        at += s * stride[a];
    }
#if PAD_MODE == 0
    if (inside)
#endif
        v = LOAD(x, x_off + at);
    STORE(y, y_off + (outer * n6 + o6) * n7 + o7, v);
}
