/* Lowering of Softmax and LogSoftmax to kernels/softmax.cl: the input seen as
 * [outer, len, inner] around the axis; one work-item per row, or for few
 * long rows one work-group per row reducing through local memory. */
#include "lower.h"
#include "lower_util.h"

static const clg_kernel_family softmax_family = {"softmax.cl", NULL};

/* The decision's variant. */
enum { ROW_PER_ITEM = 0, ROW_PER_GROUP = 1 };
/* Few rows, each long: a row per work-item would leave the device idle
 * (one work-item for a batch-1 classifier head), a work-group per row
 * spreads the row. */
#define GROUP_MIN_LEN 256
#define GROUP_MAX_ROWS 64
#define GROUP_MAX_ITEMS 256

static bool axis_split(const clg_node *n, const clg_shape *xs, int64_t *outer, int64_t *len, int64_t *inner)
{
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    if (axis < 0 || axis >= xs->rank) return false;
    *outer = 1, *len = xs->dims[axis], *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= xs->dims[i];
    for (int i = (int)axis + 1; i < xs->rank; i++) *inner *= xs->dims[i];
    return true;
}

clg_status clg_lower_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    int64_t outer, len, inner;
    if (!axis_split(n, xs, &outer, &len, &inner))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: axis %lld is out of range for rank %d",
                              (long long)n->attrs.axis, xs->rank);
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    /* the program holds the one kernel it runs (kernels/softmax.cl SOFTMAX_KERNEL) */
    bool group = clg_decision_of(lw)->variant == ROW_PER_GROUP, log = n->op == CLG_OP_LOG_SOFTMAX;
    /* A row per item along the last axis reads the row in float8s. */
    const char *defines = group ? (log ? "-DSOFTMAX_KERNEL=2 -DLOG_SOFTMAX" : "-DSOFTMAX_KERNEL=2")
                          : inner == 1 ? (log ? CLG_SOFTMAX_LAST_AXIS " -DLOG_SOFTMAX" : CLG_SOFTMAX_LAST_AXIS)
                                       : (log ? "-DSOFTMAX_KERNEL=1 -DLOG_SOFTMAX" : "-DSOFTMAX_KERNEL=1");
    int64_t rows = outer * inner;
    if (rows == 0 || len == 0) return CLG_OK;
    clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(rows), CLG_ARG_I(len),
                       CLG_ARG_I(inner), CLG_ARG_LOCAL(sizeof(float))};
    int n_args = (int)(sizeof args / sizeof args[0]);
    if (group) {
        /* At most GROUP_MAX_ITEMS work-items, as many as the device allows. */
        clg_launch l = {&softmax_family, "softmax_group", defines, 2,
                        {GROUP_MAX_ITEMS < len ? GROUP_MAX_ITEMS : (size_t)len, (size_t)rows}, {CLG_LOCAL_FIT, 1},
                        args, n_args, NULL};
        return clg_emit_launch(lw, &l);
    }
    size_t global = clg_grid_size(rows);
    clg_launch l = {&softmax_family, "softmax", defines, 1, {global}, {0}, args, n_args - 1, NULL};
    return clg_emit_launch(lw, &l);
}

clg_status clg_select_softmax(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                              const clg_dev_tensor *out, clg_decision *d)
{
    (void)lw, (void)out;
    int64_t outer, len, inner;
    if (axis_split(n, &in[0].shape, &outer, &len, &inner) && len >= GROUP_MIN_LEN &&
        outer * inner <= GROUP_MAX_ROWS)
        d->variant = ROW_PER_GROUP;
    return CLG_OK;
}
