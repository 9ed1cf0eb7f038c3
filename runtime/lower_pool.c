/* Lowering of MaxPool, AveragePool and GlobalAveragePool to kernels/pool.cl.
 * Output sizes (ceil_mode included) come from shape inference in
 * out->shape; the kernels only need the window geometry. */
#include <limits.h>

#include "lower.h"

#define FILE_CL "pool.cl"

/* The first grid dim as launched: padded up to a multiple of 64 (the
 * kernels check their extent), because PoCL picks a work-group size of 1
 * for a large prime global size and runs ~7x slower. Extents below 64 are
 * launched as they are, so a narrow output wastes no work-items. */
static size_t grid_size0(int64_t n)
{
    return n < 64 ? (size_t)n : (size_t)((n + 63) / 64 * 64);
}

static int64_t count_of(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* The kernels index with int; a tensor past that is refused, not wrapped. */
static clg_status check_sizes(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                              const clg_dev_tensor *out, int min_rank)
{
    if (in->shape.rank < min_rank || out->shape.rank != in->shape.rank)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): input of rank %d, output of rank %d", n->name,
                            clg_op_name(n->op), in->shape.rank, out->shape.rank);
    if (count_of(&in->shape) > INT_MAX || count_of(&out->shape) > INT_MAX)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): tensors of more than %d elements are not supported",
                            n->name, clg_op_name(n->op), INT_MAX);
    return CLG_OK;
}

clg_status clg_lower_maxpool(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out)
{
    clg_status s = check_sizes(lw, n, &in[0], out, 4);
    if (s) return s;
    if (in[0].shape.rank != 4)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): only 2-D pooling (NCHW)",
                            n->name, clg_op_name(n->op));
    const clg_attrs *a = &n->attrs;
    const int64_t *x = in[0].shape.dims, *y = out->shape.dims;
    if (count_of(&out->shape) == 0) return CLG_OK;
    size_t global[3] = {grid_size0(y[3]), (size_t)y[2], (size_t)(y[0] * y[1])};
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
    clg_status s = check_sizes(lw, n, &in[0], out, 4);
    if (s) return s;
    const clg_attrs *a = &n->attrs;
    if (in[0].shape.rank != 4 || a->dilations[0] != 1 || a->dilations[1] != 1)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): only undilated 2-D pooling (NCHW)", n->name,
                            clg_op_name(n->op));
    const int64_t *x = in[0].shape.dims, *y = out->shape.dims;
    if (count_of(&out->shape) == 0) return CLG_OK;
    size_t global[3] = {grid_size0(y[3]), (size_t)y[2], (size_t)(y[0] * y[1])};
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
    clg_status s = check_sizes(lw, n, &in[0], out, 3);
    if (s) return s;
    const clg_shape *xs = &in[0].shape;
    int64_t planes = xs->dims[0] * xs->dims[1], inner = 1;
    for (int i = 2; i < xs->rank; i++) inner *= xs->dims[i];
    if (planes == 0) return CLG_OK;
    if (inner == 0)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): the mean of an empty plane is undefined", n->name,
                            clg_op_name(n->op));
    size_t global = (size_t)((planes + 63) / 64 * 64);
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(planes), CLG_ARG_I(inner)};
    return clg_emit_kernel(lw, FILE_CL, "globalaveragepool", NULL, 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
