/* ConvTranspose2D's reference kernel, in the scatter form of the
 * definition (the gradient of a convolution): every input element adds
 * x · w[c, m, kh, kw] to output position (ih·stride + kh·dilation - top,
 * iw·stride + kw·dilation - left) when that lies in the output. The
 * device kernel gathers instead, so the two are independent. Sums in
 * double, rounded once. */
#include "reference_ops.h"

clg_status clg_ref_conv_transpose(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ws = a->in_shapes[1], *ys = a->out_shape;
    const clg_attrs *at = &a->node->attrs;
    int64_t n = xs->dims[0], c = xs->dims[1], h = xs->dims[2], w = xs->dims[3];
    int64_t mg = ws->dims[1], kh = ws->dims[2], kw = ws->dims[3], group = at->group;
    int64_t m = ys->dims[1], oh = ys->dims[2], ow = ys->dims[3], cg = c / group;
    size_t count = (size_t)(n * m * oh * ow);
    double *acc = clg_malloc(a->g, count * sizeof *acc);
    if (!acc) return clg_fail(a->g, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t b = 0; b < n; b++)
        for (int64_t o = 0; o < m; o++)
            for (int64_t p = 0; p < oh * ow; p++)
                acc[(b * m + o) * oh * ow + p] = a->n_inputs > 2 ? a->in[2][o] : 0.0;
    const float *x = a->in[0], *wt = a->in[1];
    for (int64_t b = 0; b < n; b++)
        for (int64_t ci = 0; ci < c; ci++) {
            int64_t g = ci / cg;
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++) {
                    double v = x[((b * c + ci) * h + i) * w + j];
                    for (int64_t ml = 0; ml < mg; ml++) {
                        int64_t mo = g * mg + ml;
                        for (int64_t u = 0; u < kh; u++) {
                            int64_t y = i * at->strides[0] + u * at->dilations[0] - at->pads[0];
                            if (y < 0 || y >= oh) continue;
                            for (int64_t q = 0; q < kw; q++) {
                                int64_t z = j * at->strides[1] + q * at->dilations[1] - at->pads[1];
                                if (z < 0 || z >= ow) continue;
                                acc[((b * m + mo) * oh + y) * ow + z] += v * wt[((ci * mg + ml) * kh + u) * kw + q];
                            }
                        }
                    }
                }
        }
    for (size_t k = 0; k < count; k++) a->out[k] = (float)acc[k];
    clg_free(a->g, acc);
    return CLG_OK;
}
