/* Pad to kernels/pad.cl: the tensor seen as rank 5 (leading axes of size 1
 * without pads), one launch, the mode a -D define. */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_pad(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                         const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    const clg_attrs *a = &n->attrs;
    int r = xs->rank;
    if (ys->rank != r || a->pad_count != 2 * r || r > 5)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: pads do not match the input's rank %d", r);
    clg_status s = clg_check_elems(lw, xs);
    if (s || (s = clg_check_elems(lw, ys))) return s;
    if (clg_shape_count(ys) == 0) return CLG_OK;
    int64_t ydims[5], lead[5], crop[5], kept[5], stride[5], st = 1;
    for (int i = 4; i >= 0; i--) {
        int k = i - (5 - r); /* the input's axis, < 0 for an added one */
        int64_t dim = k >= 0 ? xs->dims[k] : 1;
        int64_t begin = k >= 0 ? a->pad_amounts[k] : 0, end = k >= 0 ? a->pad_amounts[k + r] : 0;
        ydims[i] = k >= 0 ? ys->dims[k] : 1;
        lead[i] = begin > 0 ? begin : 0;
        crop[i] = begin < 0 ? -begin : 0;
        kept[i] = dim - crop[i] - (end < 0 ? -end : 0);
        stride[i] = st;
        st *= dim;
    }
    char options[32];
    snprintf(options, sizeof options, "-DPAD_MODE=%d",
             a->pad_mode == CLG_PAD_REFLECT ? 1 : a->pad_mode == CLG_PAD_EDGE ? 2 : 0);
    size_t global[3] = {clg_grid_size(ydims[4]), (size_t)ydims[3], (size_t)(ydims[0] * ydims[1] * ydims[2])};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out),
        CLG_ARG_I(ydims[1]), CLG_ARG_I(ydims[2]), CLG_ARG_I(ydims[3]), CLG_ARG_I(ydims[4]),
        CLG_ARG_I(lead[0]), CLG_ARG_I(lead[1]), CLG_ARG_I(lead[2]), CLG_ARG_I(lead[3]), CLG_ARG_I(lead[4]),
        CLG_ARG_I(crop[0]), CLG_ARG_I(crop[1]), CLG_ARG_I(crop[2]), CLG_ARG_I(crop[3]), CLG_ARG_I(crop[4]),
        CLG_ARG_I(kept[0]), CLG_ARG_I(kept[1]), CLG_ARG_I(kept[2]), CLG_ARG_I(kept[3]), CLG_ARG_I(kept[4]),
        CLG_ARG_I(stride[0]), CLG_ARG_I(stride[1]), CLG_ARG_I(stride[2]), CLG_ARG_I(stride[3]),
        CLG_ARG_F(a->pad_value),
    };
    return clg_emit_kernel(lw, "pad.cl", "pad", options, 3, global, args, (int)(sizeof args / sizeof args[0]));
}
