/* Lowering of MaxPool, AveragePool and GlobalAveragePool to kernels/pool.cl.
 * Output sizes (ceil_mode included) come from shape inference in
 * out->shape; the kernels only need the window geometry. */
#include "lower.h"
#include "lower_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * (kernels/pool.cl says why), a row first. A failed query of the device's
 * limits is the node's error, not "no limit": a group sized without them
 * fails at launch, far from its cause. */
static clg_status pool_grid(clg_lower *lw, const int64_t n[3], size_t global[3], size_t local[3])
{
    size_t left = POOL_GROUP, device_max = 0, item_max[3] = {0, 0, 0};
    /* The kernels hold a few registers and no local memory, so the device's
     * own limits are theirs. */
    cl_int err = clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof device_max, &device_max, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_max, item_max, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(lw->ctx, err, "clGetDeviceInfo", "node %s (%s): sizing its work-groups",
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op));
    if (device_max >= 1)
        while (left > device_max) left /= 2;
    for (int d = 0; d < 3; d++) {
        size_t cap = left;
        while (cap > 1 && cap > item_max[d]) cap /= 2;
        local[d] = pow2_at_least(n[d], cap);
        left /= local[d];
        global[d] = (size_t)((n[d] + (int64_t)local[d] - 1) / (int64_t)local[d]) * local[d];
    }
    return CLG_OK;
}

/* The outputs [*lo, *hi) along one axis whose windows lie inside the input:
 * o * stride - pad >= 0 and o * stride - pad + (k - 1) * dilation <= in - 1.
 * Empty (lo == hi) when there are none. */
static void inside_range(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                         int64_t *lo, int64_t *hi)
{
    int64_t first = (pad + stride - 1) / stride, top = in - 1 + pad - (k - 1) * dilation;
    int64_t end = top < 0 ? 0 : top / stride + 1;
    if (end > out) end = out;
    if (first > end) first = end;
    *lo = first;
    *hi = end;
}

/* A rectangle of outputs [y0, y1) x [x0, x1) of every plane, and whether
 * all their windows lie inside the input. */
typedef struct pool_region {
    int64_t y0, y1, x0, x1;
    bool inside;
} pool_region;

/* The interior (if any) and the border strips around it that padding and
 * ceil_mode make: at most five regions, none empty. */
static int pool_regions(const clg_attrs *a, const int64_t *x, const int64_t *y, int64_t dh, int64_t dw,
                        pool_region r[5])
{
    int64_t ylo, yhi, xlo, xhi;
    inside_range(x[2], y[2], a->kernel[0], a->strides[0], a->pads[0], dh, &ylo, &yhi);
    inside_range(x[3], y[3], a->kernel[1], a->strides[1], a->pads[1], dw, &xlo, &xhi);
    if (ylo == yhi || xlo == xhi) {
        r[0] = (pool_region){0, y[2], 0, y[3], false};
        return 1;
    }
    const pool_region all[5] = {
        {ylo, yhi, xlo, xhi, true},      {0, ylo, 0, y[3], false},  {yhi, y[2], 0, y[3], false},
        {ylo, yhi, 0, xlo, false},       {ylo, yhi, xhi, y[3], false},
    };
    int n = 0;
    for (int i = 0; i < 5; i++)
        if (all[i].y1 > all[i].y0 && all[i].x1 > all[i].x0) r[n++] = all[i];
    return n;
}

/* One launch per region of kernel `name`, whose arguments are args with
 * the region's four bounds at [first, first + 4). */
static clg_status emit_regions(clg_lower *lw, const char *name, const clg_attrs *a, const int64_t *x,
                               const int64_t *y, int64_t dh, int64_t dw, clg_karg *args, int n_args, int first)
{
    /* the program holds this kernel only (kernels/pool.cl POOL_KERNEL) */
    int kernel_id = strcmp(name, "maxpool") == 0 ? 1 : 2;
    pool_region r[5];
    int n = pool_regions(a, x, y, dh, dw, r);
    for (int i = 0; i < n; i++) {
        char defines[96];
        snprintf(defines, sizeof defines, "-DPOOL_KERNEL=%d -DKH=%lld -DKW=%lld%s", kernel_id,
                 (long long)a->kernel[0], (long long)a->kernel[1], r[i].inside ? " -DINSIDE" : "");
        args[first] = (clg_karg)CLG_ARG_I(r[i].y0);
        args[first + 1] = (clg_karg)CLG_ARG_I(r[i].y1);
        args[first + 2] = (clg_karg)CLG_ARG_I(r[i].x0);
        args[first + 3] = (clg_karg)CLG_ARG_I(r[i].x1);
        clg_launch l = {&pool_family, name, defines, 3, {0}, {0}, args, n_args, NULL};
        const int64_t size[3] = {r[i].x1 - r[i].x0, r[i].y1 - r[i].y0, y[0] * y[1]};
        clg_status s = pool_grid(lw, size, l.global, l.local);
        if (!s) s = clg_emit_launch(lw, &l);
        if (s) return s;
    }
    return CLG_OK;
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

/* kernels/pool.cl's maxpool_rows and averagepool_rows (on CPUs) take what
 * clg_vec_rows_strip allows (the depthwise convolution's vector rows'
 * limits), rows narrower than a vector too: GoogLeNet's
 * padded 3x3 MaxPools over 12x12, 6x6 and 3x3 planes (batch 8) took the
 * window kernel five launches (the interior and four border strips) and
 * 0.6-1.9 ms, as rows 0.14-0.32 ms (both CPU runtimes, 2026-12-07);
 * an unpadded 2x2 stride-2 one over [8, 256, 8, 8] 0.043 -> 0.029 ms on
 * Intel's runtime, 0.30 -> 0.034 on PoCL. */
/* Output rows per strip of the rows kernels, 0 when they do not take the
 * node. */
static int64_t rows_strip(const clg_attrs *a, const int64_t *y)
{
    return clg_vec_rows_strip(y[2], y[3], a->kernel[0], a->kernel[1], a->strides[0], a->strides[1],
                              a->dilations[0], a->dilations[1]);
}

/* Whether the rows kernels take a pooling node whose strips are `strip`
 * rows: on CPUs where they fit; CLGRAPH_POOL=rows (where they fit) or
 * windows forces a way on any device (tests/test_oclgrind.sh: Oclgrind's
 * device is a GPU). */
static bool use_rows(clg_lower *lw, int64_t strip)
{
    const char *force = getenv("CLGRAPH_POOL");
    return strip > 0 && (force ? !strcmp(force, "rows") : lw->ctx->info.type == CLG_DEVICE_CPU);
}

/* MaxPool (avg false) or AveragePool through the rows kernels: one launch,
 * a work-item per strip. */
static clg_status emit_pool_rows(clg_lower *lw, const clg_attrs *a, const clg_dev_tensor *in,
                                 const clg_dev_tensor *out, int64_t strip, bool avg)
{
    const int64_t *x = in->shape.dims, *y = out->shape.dims;
    char defines[320];
    int len = snprintf(defines, sizeof defines,
                       "-DPOOL_KERNEL=%d -DKH=%lld -DKW=%lld -DPV_IH=%lld -DPV_IW=%lld -DPV_OH=%lld -DPV_OW=%lld"
                       " -DPV_SH=%lld -DPV_SW=%lld -DPV_PT=%lld -DPV_PL=%lld -DPV_DH=%lld -DPV_DW=%lld -DPV_R=%lld",
                       avg ? 5 : 4, (long long)a->kernel[0], (long long)a->kernel[1], (long long)x[2],
                       (long long)x[3], (long long)y[2], (long long)y[3], (long long)a->strides[0],
                       (long long)a->strides[1], (long long)a->pads[0], (long long)a->pads[1],
                       (long long)a->dilations[0], (long long)a->dilations[1], (long long)strip);
    if (avg)
        snprintf(defines + len, sizeof defines - (size_t)len, " -DPV_PB=%lld -DPV_PR=%lld -DPV_CIP=%d",
                 (long long)a->pads[2], (long long)a->pads[3], a->count_include_pad != 0);
    int64_t planes = y[0] * y[1], items = planes * ((y[2] + strip - 1) / strip);
    if (items > INT32_MAX) return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "%lld pooling strips, more than 2^31", (long long)items);
    clg_karg args[] = {CLG_ARG_T(in), CLG_ARG_T(out), CLG_ARG_I(planes)};
    clg_launch l = {&pool_family, avg ? "averagepool_rows" : "maxpool_rows", defines, 1, {clg_grid_size(items)},
                    {0}, args, 3, NULL};
    return clg_emit_launch(lw, &l);
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
    int64_t strip = rows_strip(a, y);
    if (use_rows(lw, strip)) return emit_pool_rows(lw, a, &in[0], out, strip, false);
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(y[0] * y[1]),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(0), CLG_ARG_I(0), CLG_ARG_I(0), CLG_ARG_I(0), /* the region, per launch */
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]),
        CLG_ARG_I(a->dilations[0]), CLG_ARG_I(a->dilations[1]),
    };
    return emit_regions(lw, "maxpool", a, x, y, a->dilations[0], a->dilations[1], args,
                        (int)(sizeof args / sizeof args[0]), 7);
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
    int64_t strip = rows_strip(a, y);
    if (use_rows(lw, strip)) return emit_pool_rows(lw, a, &in[0], out, strip, true);
    clg_karg args[] = {
        CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(y[0] * y[1]),
        CLG_ARG_I(x[2]), CLG_ARG_I(x[3]), CLG_ARG_I(y[2]), CLG_ARG_I(y[3]),
        CLG_ARG_I(0), CLG_ARG_I(0), CLG_ARG_I(0), CLG_ARG_I(0), /* the region, per launch */
        CLG_ARG_I(a->strides[0]), CLG_ARG_I(a->strides[1]),
        CLG_ARG_I(a->pads[0]), CLG_ARG_I(a->pads[1]), CLG_ARG_I(a->pads[2]), CLG_ARG_I(a->pads[3]),
        CLG_ARG_I(a->count_include_pad != 0),
    };
    return emit_regions(lw, "averagepool", a, x, y, 1, 1, args, (int)(sizeof args / sizeof args[0]), 7);
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
    return clg_emit_kernel(lw, FILE_CL, "globalaveragepool", "-DPOOL_KERNEL=3", 1, &global, args,
                           (int)(sizeof args / sizeof args[0]));
}
