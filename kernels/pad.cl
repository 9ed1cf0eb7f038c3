/* Pad (ONNX): y is x with each axis cropped by its negative pads, then
 * grown by its positive ones; the new elements are VALUE (constant mode),
 * a mirror of the elements next to the edge, the edge itself excluded
 * (PAD_MODE 1, reflect), or copies of the edge (PAD_MODE 2, edge).
 *
 * The host writes every tensor as rank 5 (leading axes of size 1 with no
 * pads). One work-item per output element on the grid (o4, o3, the three
 * leading axes together): neighbouring work-items write neighbouring
 * elements, and only the outermost grid dim is split by division. The host
 * pads the first grid dim up to a multiple of 64, hence the check against n4.
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

__kernel void pad(__global const float *x, uint x_off, __global float *y, uint y_off,
                  int n1, int n2, int n3, int n4,
                  int lead0, int lead1, int lead2, int lead3, int lead4,
                  int crop0, int crop1, int crop2, int crop3, int crop4,
                  int kept0, int kept1, int kept2, int kept3, int kept4,
                  int stride0, int stride1, int stride2, int stride3, float value)
{
    int o4 = get_global_id(0);
    if (o4 >= n4) return;
    int o3 = get_global_id(1), outer = get_global_id(2);
    int o2 = outer % n2, o01 = outer / n2;
    int o1 = o01 % n1, o0 = o01 / n1;

    int s0 = source(o0, lead0, crop0, kept0), s1 = source(o1, lead1, crop1, kept1);
    int s2 = source(o2, lead2, crop2, kept2), s3 = source(o3, lead3, crop3, kept3);
    int s4 = source(o4, lead4, crop4, kept4);
    float v = value;
#if PAD_MODE == 0
    if (s0 >= 0 && s1 >= 0 && s2 >= 0 && s3 >= 0 && s4 >= 0)
#endif
        v = x[x_off + s0 * stride0 + s1 * stride1 + s2 * stride2 + s3 * stride3 + s4];
    y[y_off + (outer * n3 + o3) * n4 + o4] = v;
}
