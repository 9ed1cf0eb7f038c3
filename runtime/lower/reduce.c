/* Lowering of the reductions (ReduceMean ... ReduceLogSumExp) to
 * kernels/reduce.cl, and of LayerNorm to kernels/layernorm.cl. The input's
 * dims are split into kept and reduced groups (neighbours of one kind
 * merged, dims of 1 dropped): reductions over the innermost contiguous
 * elements take a work-group per output row, the others a work-item per
 * output element. */
#include <stdio.h>
#include <string.h>

#include "lower.h"
#include "lower_util.h"

static const clg_kernel_family reduce_family = {"reduce.cl", NULL};
static const clg_kernel_family layernorm_family = {"layernorm.cl", NULL};

/* The decision's variant. */
enum { STRIDED = 0, ROWS_PER_GROUP = 1 };
/* Rows at least this long spread over a work-group; shorter ones are read by
 * one work-item each, which wastes less than a mostly idle group. */
#define GROUP_MIN_LEN 64
#define GROUP_MAX_ITEMS 256

/* The -D defines of each reduction (kernels/reduce.cl's header). */
static const char *reduce_defines(clg_op op)
{
    switch (op) {
    case CLG_OP_REDUCE_MEAN: return "-DCOMBINE_SUM -DFINISH_MEAN";
    case CLG_OP_REDUCE_SUM: return "-DCOMBINE_SUM";
    case CLG_OP_REDUCE_MAX: return "-DCOMBINE_MAX";
    case CLG_OP_REDUCE_MIN: return "-DCOMBINE_MIN";
    case CLG_OP_REDUCE_PROD: return "-DCOMBINE_PROD";
    case CLG_OP_REDUCE_L1: return "-DCOMBINE_SUM -DMAP_ABS";
    case CLG_OP_REDUCE_L2: return "-DCOMBINE_SUM -DMAP_SQUARE -DFINISH_SQRT";
    case CLG_OP_REDUCE_SUM_SQUARE: return "-DCOMBINE_SUM -DMAP_SQUARE";
    case CLG_OP_REDUCE_LOG_SUM: return "-DCOMBINE_SUM -DFINISH_LOG";
    case CLG_OP_REDUCE_LOG_SUM_EXP: return "-DCOMBINE_SUM -DMAP_EXP -DFINISH_LOG";
    default: return NULL;
    }
}

/* The input's dims as groups, outermost first: each a size, its dense
 * stride and whether it is reduced. */
typedef struct reduce_split {
    int n;
    int64_t size[CLG_MAX_RANK], stride[CLG_MAX_RANK];
    bool reduced[CLG_MAX_RANK];
} reduce_split;

static void split_dims(const clg_node *n, const clg_shape *xs, reduce_split *sp)
{
    const clg_attrs *a = &n->attrs;
    bool mask[CLG_MAX_RANK] = {false};
    for (int d = 0; d < xs->rank; d++) mask[d] = a->axes_rank == 0;
    for (int k = 0; k < a->axes_rank; k++) {
        int64_t ax = a->axes[k] < 0 ? a->axes[k] + xs->rank : a->axes[k];
        if (ax >= 0 && ax < xs->rank) mask[ax] = true;
    }
    sp->n = 0;
    for (int d = 0; d < xs->rank; d++) {
        if (xs->dims[d] == 1) continue;
        if (sp->n > 0 && sp->reduced[sp->n - 1] == mask[d]) {
            sp->size[sp->n - 1] *= xs->dims[d];
            continue;
        }
        sp->size[sp->n] = xs->dims[d];
        sp->reduced[sp->n++] = mask[d];
    }
    int64_t s = 1;
    for (int i = sp->n - 1; i >= 0; i--) {
        sp->stride[i] = s;
        s *= sp->size[i];
    }
}

/* A single reduced group that is the innermost: rows of *len contiguous
 * elements. */
/* A work-group per row pays a barrier per step of its tree; CPU runtimes run
 * a work-group's items as fibres or loops that every barrier interrupts,
 * which made a LayerNorm of 1024 rows of 256 take milliseconds on both CPU
 * runtimes here. With many rows there, one work-item per row (its loop over
 * the row needing no barrier) keeps every core busy anyway; the group
 * kernels stay for GPUs and for a few long rows. */
#define CPU_ROWS_PER_ITEM 64
static bool many_rows_on_cpu(const clg_lower *lw, int64_t rows)
{
    return lw->ctx->info.type == CLG_DEVICE_CPU && rows > CPU_ROWS_PER_ITEM;
}

static bool innermost_rows(const reduce_split *sp, int64_t *len)
{
    int reduced = 0;
    for (int i = 0; i < sp->n; i++) reduced += sp->reduced[i];
    if (reduced != 1 || !sp->reduced[sp->n - 1]) return false;
    *len = sp->size[sp->n - 1];
    return true;
}

clg_status clg_select_reduce(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                             const clg_dev_tensor *out, clg_decision *d)
{
    reduce_split sp;
    split_dims(n, &in[0].shape, &sp);
    int64_t len;
    if (innermost_rows(&sp, &len) && len >= GROUP_MIN_LEN && !many_rows_on_cpu(lw, clg_shape_count(&out->shape)))
        d->variant = ROWS_PER_GROUP;
    return CLG_OK;
}

clg_status clg_lower_reduce(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const char *defines = reduce_defines(n->op);
    if (!defines) return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: not a reduction");
    clg_status s = clg_check_elems(lw, &in[0].shape);
    if (s) return s;
    int64_t n_out = clg_shape_count(&out->shape);
    if (n_out == 0) return CLG_OK;
    reduce_split sp;
    split_dims(n, &in[0].shape, &sp);
    int64_t len;
    if (clg_decision_of(lw)->variant == ROWS_PER_GROUP && innermost_rows(&sp, &len)) {
        clg_karg args[] = {CLG_ARG_T(&in[0]), CLG_ARG_T(out), CLG_ARG_I(n_out), CLG_ARG_I(len),
                           CLG_ARG_LOCAL(sizeof(float))};
        clg_launch l = {&reduce_family, "reduce_rows", defines, 2,
                        {GROUP_MAX_ITEMS < len ? GROUP_MAX_ITEMS : (size_t)len, (size_t)n_out}, {CLG_LOCAL_FIT, 1},
                        args, (int)(sizeof args / sizeof args[0]), NULL};
        return clg_emit_launch(lw, &l);
    }
    /* Kept groups fill k0..k3 from the inside out, reduced ones r0..r3
     * (groups alternate, so rank 8 leaves at most four of each); the rest
     * are 1 with stride 0. */
    enum { GROUPS = 4 };
    int64_t k[GROUPS], ks[GROUPS], r[GROUPS], rs[GROUPS];
    for (int i = 0; i < GROUPS; i++) k[i] = 1, ks[i] = 0, r[i] = 1, rs[i] = 0;
    int nk = 0, nr = 0;
    for (int i = sp.n - 1; i >= 0; i--) {
        if (sp.reduced[i] ? nr == GROUPS : nk == GROUPS)
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: more than %d %s dim groups", GROUPS,
                                  sp.reduced[i] ? "reduced" : "kept");
        if (sp.reduced[i]) {
            r[GROUPS - 1 - nr] = sp.size[i];
            rs[GROUPS - 1 - nr++] = sp.stride[i];
        } else {
            k[GROUPS - 1 - nk] = sp.size[i];
            ks[GROUPS - 1 - nk++] = sp.stride[i];
        }
    }
    clg_karg args[3 + 4 * GROUPS];
    int n_args = 0;
    args[n_args++] = CLG_ARG_T(&in[0]);
    args[n_args++] = CLG_ARG_T(out);
    args[n_args++] = CLG_ARG_I(n_out);
    for (int i = 0; i < GROUPS; i++) args[n_args++] = CLG_ARG_I(k[i]);
    for (int i = 0; i < GROUPS; i++) args[n_args++] = CLG_ARG_I(ks[i]);
    for (int i = 0; i < GROUPS; i++) args[n_args++] = CLG_ARG_I(r[i]);
    for (int i = 0; i < GROUPS; i++) args[n_args++] = CLG_ARG_I(rs[i]);
    clg_launch l = {&reduce_family, "reduce_strided", defines, 1, {clg_grid_size(n_out)}, {0},
                    args, n_args, NULL};
    return clg_emit_launch(lw, &l);
}

clg_status clg_lower_layer_norm(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + xs->rank : n->attrs.axis;
    int64_t rows = 1, len = 1;
    for (int d = 0; d < xs->rank; d++) {
        if (d < axis) rows *= xs->dims[d];
        else len *= xs->dims[d];
    }
    if (rows == 0 || len == 0) return CLG_OK;
    bool has_bias = n->n_inputs > 2, has_residual = n->n_inputs > 3;
    clg_karg args[12];
    int n_args = 0;
    args[n_args++] = CLG_ARG_T(&in[0]);
    args[n_args++] = CLG_ARG_T(out);
    args[n_args++] = CLG_ARG_I(rows);
    args[n_args++] = CLG_ARG_I(len);
    args[n_args++] = CLG_ARG_F(n->attrs.epsilon);
    args[n_args++] = CLG_ARG_T(&in[1]);
    args[n_args++] = CLG_ARG_I(clg_shape_count(&in[1].shape));
    if (has_bias) {
        args[n_args++] = CLG_ARG_T(&in[2]);
        args[n_args++] = CLG_ARG_I(clg_shape_count(&in[2].shape));
    }
    if (has_residual) args[n_args++] = CLG_ARG_T(&in[3]);
    bool per_item = many_rows_on_cpu(lw, rows);
    /* A work-group per row takes local memory and a work-group fitted to
     * the row (CLG_LOCAL_FIT, which makes dim 0 one work-group); an item
     * per row must not: CLG_LOCAL_FIT would cut its grid of rows to one
     * power-of-two work-group, leaving the rows past it unwritten. */
    args[n_args++] = per_item ? CLG_ARG_I(0) : CLG_ARG_LOCAL(sizeof(float));
    /* Scale and bias of a whole row each index by position (no modulo). */
    bool full = clg_shape_count(&in[1].shape) == len && (!has_bias || clg_shape_count(&in[2].shape) == len);
    /* An item per row reads its row in float8s where scale and bias index
     * by position (kernels/layernorm.cl). */
    bool vec8 = per_item && full;
    char defines[96];
    snprintf(defines, sizeof defines, "%s%s%s%s%s", has_bias ? "-DHAS_BIAS" : "", has_residual ? " -DHAS_RESIDUAL" : "",
             per_item ? " -DROW_PER_ITEM" : "", full ? " -DFULL_PARAMS" : "", vec8 ? " -DROW_VEC8" : "");
    clg_launch l = {&layernorm_family, "layernorm", defines[0] ? defines : NULL, 2,
                    {GROUP_MAX_ITEMS < len ? GROUP_MAX_ITEMS : (size_t)len, (size_t)rows}, {CLG_LOCAL_FIT, 1},
                    args, n_args, NULL};
    if (per_item) {
        l.work_dim = 1;
        l.global[0] = clg_grid_size(rows);
        l.global[1] = 0;
        l.local[0] = 0;
        l.local[1] = 0;
    }
    return clg_emit_launch(lw, &l);
}
