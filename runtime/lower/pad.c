/* Pad to kernels/pad.cl: the tensor seen as rank 8 (neighbouring axes
 * without pads merged, leading axes of size 1 without pads), one launch,
 * the mode a -D define. */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_pad(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                         const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    const clg_attrs *a = &n->attrs;
    int r = xs->rank;
    if (ys->rank != r || a->pad_count != 2 * r || r > CLG_MAX_RANK)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: pads do not match the input's rank %d", r);
    clg_status s = clg_check_elems(lw, xs);
    if (s || (s = clg_check_elems(lw, ys))) return s;
    if (clg_shape_count(ys) == 0) return CLG_OK;
    /* Neighbouring axes without pads merge into one (their elements stay
     * contiguous and in order), then the axes are right-aligned in 8. */
    enum { AXES = 8 };
    int64_t dim[AXES], ydim[AXES], begin[AXES], end[AXES];
    int m = 0;
    for (int k = 0; k < r; k++) {
        int64_t b0 = a->pad_amounts[k], e0 = a->pad_amounts[k + r];
        if (m > 0 && b0 == 0 && e0 == 0 && begin[m - 1] == 0 && end[m - 1] == 0) {
            dim[m - 1] *= xs->dims[k];
            ydim[m - 1] *= ys->dims[k];
            continue;
        }
        dim[m] = xs->dims[k];
        ydim[m] = ys->dims[k];
        begin[m] = b0;
        end[m++] = e0;
    }
    int64_t ydims[AXES], lead[AXES], crop[AXES], kept[AXES], stride[AXES], st = 1;
    for (int i = AXES - 1; i >= 0; i--) {
        int k = i - (AXES - m); /* the merged axis, < 0 for an added one */
        int64_t d = k >= 0 ? dim[k] : 1;
        int64_t b0 = k >= 0 ? begin[k] : 0, e0 = k >= 0 ? end[k] : 0;
        ydims[i] = k >= 0 ? ydim[k] : 1;
        lead[i] = b0 > 0 ? b0 : 0;
        crop[i] = b0 < 0 ? -b0 : 0;
        kept[i] = d - crop[i] - (e0 < 0 ? -e0 : 0);
        stride[i] = st;
        st *= d;
    }
    char options[32];
    snprintf(options, sizeof options, "-DPAD_MODE=%d",
             a->pad_mode == CLG_PAD_REFLECT ? 1 : a->pad_mode == CLG_PAD_EDGE ? 2 : 0);
    int64_t outer = 1;
    for (int i = 0; i < AXES - 2; i++) outer *= ydims[i];
    size_t global[3] = {clg_grid_size(ydims[7]), (size_t)ydims[6], (size_t)outer};
    clg_karg args[2 + 7 + 4 * AXES - 1 + 1];
    int n_args = 0;
    args[n_args++] = CLG_ARG_T(&in[0]);
    args[n_args++] = CLG_ARG_T(out);
    for (int i = 1; i < AXES; i++) args[n_args++] = CLG_ARG_I(ydims[i]);
    for (int i = 0; i < AXES; i++) args[n_args++] = CLG_ARG_I(lead[i]);
    for (int i = 0; i < AXES; i++) args[n_args++] = CLG_ARG_I(crop[i]);
    for (int i = 0; i < AXES; i++) args[n_args++] = CLG_ARG_I(kept[i]);
    for (int i = 0; i < AXES - 1; i++) args[n_args++] = CLG_ARG_I(stride[i]);
    args[n_args++] = CLG_ARG_F(a->pad_value);
    return clg_emit_kernel(lw, "pad.cl", "pad", options, 3, global, args, n_args);
}
