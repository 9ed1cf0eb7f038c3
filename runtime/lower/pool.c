/* Lowering of MaxPool, AveragePool and GlobalAveragePool to kernels/pool.cl.
 * Output sizes (ceil_mode included) come from shape inference in
 * out->shape; the kernels only need the window geometry. */
#include "lower.h"
#include "lower_util.h"

#include <stdio.h>

#define FILE_CL "pool.cl"

static const clg_kernel_family pool_family = {FILE_CL, NULL};

/* Work-items per group, at most: the [32, 32, 32, 32] MaxPool took 9.3 ms
 * on PoCL with groups of 64, 2.0 with 256 and 1.9 with 1024, and 5.1, 0.49
 * and 0.22-0.30 ms on Intel's runtime (one run each, device time): both CPU
 * runtimes pay for every group. */
#define POOL_GROUP 1024

static size_t pow2_at_least(int64_t n, size_t cap)
{
    size_t p = 1;
    while (p < cap && (int64_t)p < n) p *= 2;
    return p;
}

/* The grid (ox, oy, plane) of a pooling launch, each dim padded to its block
 * of the work-group: a group covers a block of outputs of every dim
 * (kernels/pool.cl says why), a row first. */
static void pool_grid(const clg_lower *lw, const int64_t *y, size_t global[3], size_t local[3])
{
    int64_t n[3] = {y[3], y[2], y[0] * y[1]};
    size_t left = POOL_GROUP, device_max = 0, item_max[3] = {0, 0, 0};
    /* The kernels hold a few registers and no local memory, so the device's
     * own limits are theirs. */
    if (clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof device_max, &device_max, NULL) ==
            CL_SUCCESS &&
        device_max >= 1)
        while (left > device_max) left /= 2;
    if (clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_max, item_max, NULL) !=
        CL_SUCCESS)
        item_max[0] = item_max[1] = item_max[2] = 1;
    for (int d = 0; d < 3; d++) {
        size_t cap = left;
        while (cap > 1 && cap > item_max[d]) cap /= 2;
        local[d] = pow2_at_least(n[d], cap);
        left /= local[d];
        global[d] = (size_t)((n[d] + (int64_t)local[d] - 1) / (int64_t)local[d]) * local[d];
    }
}

/* Whether every window of one axis lies inside the input: the first starts
 * at or after 0, the last ends before the input does. */
static bool inside(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dilation)
{
    return pad == 0 && (out - 1) * stride + (k - 1) * dilation <= in - 1;
}

static void pool_defines(const clg_attrs *a, const int64_t *x, const int64_t *y, int64_t dh, int64_t dw,
                         char *buf, size_t size)
{
    bool in = inside(x[2], y[2], a->kernel[0], a->strides[0], a->pads[0], dh) &&
              inside(x[3], y[3], a->kernel[1], a->strides[1], a->pads[1], dw);
    snprintf(buf, size, "-DKH=%lld -DKW=%lld%s", (long long)a->kernel[0], (long long)a->kernel[1],
             in ? " -DINSIDE" : "");
}

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
    char defines[96];
    pool_defines(a, x, y, a->dilations[0], a->dilations[1], defines, sizeof defines);
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(y[0] * y[1]),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]),
        CLG_ARG_I(a->dilations[0]), CLG_ARG_I(a->dilations[1]),
    };
    clg_launch l = {&pool_family, "maxpool", defines, 3, {0}, {0}, args, (int)(sizeof args / sizeof args[0]),
                    NULL};
    pool_grid(lw, y, l.global, l.local);
    return clg_emit_launch(lw, &l);
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
    char defines[96];
    pool_defines(a, x, y, 1, 1, defines, sizeof defines);
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(y[0] * y[1]),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]), CLG_ARG_I(a->pads[2]), CLG_ARG_I(a->pads[3]),
        CLG_ARG_I(a->count_include_pad != 0),
    };
    clg_launch l = {&pool_family, "averagepool", defines, 3, {0}, {0}, args,
                    (int)(sizeof args / sizeof args[0]), NULL};
    pool_grid(lw, y, l.global, l.local);
    return clg_emit_launch(lw, &l);
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
