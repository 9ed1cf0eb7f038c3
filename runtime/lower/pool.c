/* Lowering of MaxPool, AveragePool and GlobalAveragePool to kernels/pool.cl.
 * Output sizes (ceil_mode included) come from shape inference in
 * out->shape; the kernels only need the window geometry. */
#include "lower.h"
#include "lower_util.h"

#define FILE_CL "pool.cl"

/* The ranks the kernels handle, and the element limit of their int indices. */
static clg_status check_sizes(clg_lower *lw, const clg_dev_tensor *in, const clg_dev_tensor *out,
                              int min_rank)
{
    if (in->shape.rank < min_rank || out->shape.rank != in->shape.rank)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "input of rank %d, output of rank %d",
                              in->shape.rank, out->shape.rank);
    clg_status s = clg_check_elems(lw, &in->shape);
    return s ? s : clg_check_elems(lw, &out->shape);
}

clg_status clg_lower_maxpool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out)
{
    clg_status s = check_sizes(lw, &in[0], out, 4);
    if (s) return s;
    if (in[0].shape.rank != 4)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "only 2-D pooling (NCHW)");
    const clg_attrs *a = &n->attrs;
    const int64_t *x = in[0].shape.dims, *y = out->shape.dims;
    if (clg_shape_count(&out->shape) == 0) return CLG_OK;
    size_t global[3] = {clg_grid_size(y[3]), (size_t)y[2], (size_t)(y[0] * y[1])};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(a->kernel[0]), CLG_ARG_I(a->kernel[1]),
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]),
        CLG_ARG_I(a->dilations[0]), CLG_ARG_I(a->dilations[1]),
    };
    return clg_emit_kernel(lw, FILE_CL, "maxpool", NULL, 3, global, args,
                           (int)(sizeof args / sizeof args[0]));
}

clg_status clg_lower_averagepool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                 const clg_dev_tensor *out)
{
    clg_status s = check_sizes(lw, &in[0], out, 4);
    if (s) return s;
    const clg_attrs *a = &n->attrs;
    if (in[0].shape.rank != 4 || a->dilations[0] != 1 || a->dilations[1] != 1)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "only undilated 2-D pooling (NCHW)");
    const int64_t *x = in[0].shape.dims, *y = out->shape.dims;
    if (clg_shape_count(&out->shape) == 0) return CLG_OK;
    size_t global[3] = {clg_grid_size(y[3]), (size_t)y[2], (size_t)(y[0] * y[1])};
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(a->kernel[0]), CLG_ARG_I(a->kernel[1]),
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]), CLG_ARG_I(a->pads[2]), CLG_ARG_I(a->pads[3]),
        CLG_ARG_I(a->count_include_pad != 0),
    };
    return clg_emit_kernel(lw, FILE_CL, "averagepool", NULL, 3, global, args,
                           (int)(sizeof args / sizeof args[0]));
}

clg_status clg_lower_globalaveragepool(clg_lower *lw, const clg_node *n,
                                       const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    (void)n;
    clg_status s = check_sizes(lw, &in[0], out, 3);
    if (s) return s;
    const clg_shape *xs = &in[0].shape;
    int64_t planes = xs->dims[0] * xs->dims[1], inner = 1;
    for (int i = 2; i < xs->rank; i++) inner *= xs->dims[i];
    if (planes == 0) return CLG_OK;
    if (inner == 0)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "the mean of an empty plane is undefined");
    size_t global = clg_grid_size(planes);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(planes), CLG_ARG_I(inner)};
    return clg_emit_kernel(lw, FILE_CL, "globalaveragepool", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
