/* The reference Pad: every output element's source index, axis by axis.
 * Negative pads crop first (ONNX); reflect and edge then work on what is
 * left, as numpy.pad does on the cropped array. */
#include "reference_ops.h"

/* The index into the input along one axis for output index o, or -1 when
 * the element is the constant. kept = the axis' size after cropping. */
static int64_t source_index(int64_t o, int64_t begin, int64_t end, int64_t dim, clg_pad_mode mode)
{
    int64_t crop = begin < 0 ? -begin : 0, lead = begin > 0 ? begin : 0;
    int64_t kept = dim - crop - (end < 0 ? -end : 0);
    int64_t j = o - lead; /* index into the cropped axis */
    if (j < 0 || j >= kept) {
        if (mode == CLG_PAD_CONSTANT) return -1;
        if (mode == CLG_PAD_EDGE) j = j < 0 ? 0 : kept - 1;
        else j = j < 0 ? -j : 2 * (kept - 1) - j; /* reflect: the edge itself is not repeated */
    }
    return j + crop;
}

clg_status clg_ref_pad(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    const clg_attrs *at = &a->node->attrs;
    int r = xs->rank;
    int64_t in_stride[CLG_MAX_RANK], idx[CLG_MAX_RANK] = {0}, n = 1;
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        in_stride[i] = s;
        s *= xs->dims[i];
        n *= ys->dims[i];
    }
    for (int64_t e = 0; e < n; e++) {
        int64_t src = 0;
        for (int i = 0; i < r && src >= 0; i++) {
            int64_t k = source_index(idx[i], at->pad_amounts[i], at->pad_amounts[i + r], xs->dims[i], at->pad_mode);
            src = k < 0 ? -1 : src + k * in_stride[i];
        }
        a->out[e] = src < 0 ? at->pad_value : a->in[0][src];
        for (int i = r - 1; i >= 0; i--) {
            if (++idx[i] < ys->dims[i]) break;
            idx[i] = 0;
        }
    }
    return CLG_OK;
}
