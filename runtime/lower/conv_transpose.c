/* ConvTranspose2D to kernels/conv_transpose.cl: one launch over (output
 * columns, output rows, batch · output channels), the shape and window as
 * -D defines. */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

clg_status clg_lower_conv_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out->shape;
    const clg_attrs *a = &n->attrs;
    if (xs->rank != 4 || ws->rank != 4 || ys->rank != 4)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: ConvTranspose2D's shapes are not rank 4");
    clg_status s = clg_check_elems(lw, xs);
    if (s || (s = clg_check_elems(lw, ys)) || (s = clg_check_elems(lw, ws))) return s;
    if (clg_shape_count(ys) == 0) return CLG_OK;
    bool bias = clg_node_own_inputs(n) > 2;
    char options[512];
    snprintf(options, sizeof options,
             "-DC=%lld -DH=%lld -DW=%lld -DM=%lld -DOH=%lld -DOW=%lld -DMG=%lld -DCG=%lld -DKH=%lld -DKW=%lld "
             "-DSTRIDE_H=%lld -DSTRIDE_W=%lld -DDIL_H=%lld -DDIL_W=%lld -DPAD_T=%lld -DPAD_L=%lld%s",
             (long long)xs->dims[1], (long long)xs->dims[2], (long long)xs->dims[3], (long long)ys->dims[1],
             (long long)ys->dims[2], (long long)ys->dims[3], (long long)ws->dims[1],
             (long long)(xs->dims[1] / a->group), (long long)ws->dims[2], (long long)ws->dims[3],
             (long long)a->strides[0], (long long)a->strides[1], (long long)a->dilations[0],
             (long long)a->dilations[1], (long long)a->pads[0], (long long)a->pads[1], bias ? " -DHAS_BIAS" : "");
    size_t global[3] = {clg_grid_size(ys->dims[3]), (size_t)ys->dims[2], (size_t)(ys->dims[0] * ys->dims[1])};
    clg_karg args[4] = {CLG_ARG_T(&in[0]), CLG_ARG_T(&in[1])};
    int n_args = 2;
    if (bias) args[n_args++] = CLG_ARG_T(&in[2]);
    args[n_args++] = CLG_ARG_T(out);
    return clg_emit_kernel(lw, "conv_transpose.cl", "conv_transpose", options, 3, global, args, n_args);
}
