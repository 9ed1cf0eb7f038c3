/* Data movement through the one strided copy kernel of kernels/copy.cl:
 * the walk launcher every data-movement op uses (movement.c has Slice,
 * Expand, Tile, DepthToSpace, SpaceToDepth), Transpose, Concat, and the
 * broadcast copy that pre-fills a GEMM's C. */
#include <stdlib.h>

#include "lower.h"
#include "lower_util.h"

/* A copy may walk its dims in any order: each element is read and written
 * once whichever way. So when more than three dims are left, the grid takes
 * the innermost (the destination's contiguous run, for coalesced stores)
 * and the two largest of the rest, and only the smallest become launches:
 * ShuffleNet's channel shuffle [N, C/2, 2, H·W] launches twice, not N
 * times. */
static void grid_largest(clg_walk *w)
{
    int r = w->rank;
    if (r <= 3) return;
    /* Stable selection of the two largest among dims 0..r-2, moved to
     * r-3 and r-2 (in their original order); the others keep theirs. */
    int big[2] = {-1, -1};
    for (int i = 0; i < r - 1; i++) {
        if (big[0] < 0 || w->dims[i] > w->dims[big[0]]) {
            big[1] = big[0];
            big[0] = i;
        } else if (big[1] < 0 || w->dims[i] > w->dims[big[1]]) {
            big[1] = i;
        }
    }
    int lo = big[0] < big[1] ? big[0] : big[1], hi = big[0] < big[1] ? big[1] : big[0];
    clg_walk o = *w;
    int at = 0;
    for (int i = 0; i < r - 1; i++) {
        if (i == lo || i == hi) continue;
        w->dims[at] = o.dims[i];
        for (int k = 0; k < w->n_tensors; k++) w->st[k][at] = o.st[k][i];
        at++;
    }
    int order[2] = {lo, hi};
    for (int j = 0; j < 2; j++, at++) {
        w->dims[at] = o.dims[order[j]];
        for (int k = 0; k < w->n_tensors; k++) w->st[k][at] = o.st[k][order[j]];
    }
}

clg_status clg_emit_copy(clg_lower *lw, const clg_dev_tensor *src, int64_t src_at, const clg_dev_tensor *dst,
                         int64_t dst_at, clg_walk w)
{
    int64_t count = 1;
    for (int i = 0; i < w.rank; i++) count *= w.dims[i];
    if (count == 0) return CLG_OK;
    clg_shape walked = {1, {count}};
    clg_status s = clg_check_elems(lw, &walked);
    if (s) return s;
    clg_walk_merge(&w);
    grid_largest(&w);
    clg_walk_grid grid;
    clg_walk_grid_of(&w, &grid);
    /* rows of 8 elements or fewer, many of them: copy_rows, 2^shift
     * work-items per row on grid dim 0. A transpose [16, 2, 232, 4] ->
     * [16, 232, 2, 4] (ShuffleNet's shuffle over 2x2 planes) took 0.093
     * -> 0.044 ms of device time on Intel's runtime and 0.130 -> 0.035 on
     * PoCL; rows of 16 the same either way; rows of 32 (Swin's head split,
     * [16, 49, 3, 3, 32] -> [3, 16, 3, 49, 32]) 0.28 -> 0.40 and 0.13 ->
     * 0.30: a vector of work-items then spans two rows and every access
     * is a gather (minima of 3 runs, 2026-12-07). */
    int shift;
    bool rows = clg_walk_grid_rows(&grid, 1, 8, &shift);
    for (int64_t l = 0; l < grid.launches; l++) {
        /* Signed until here: a reversed axis (a Slice with a negative
         * step) walks back from its first element. */
        clg_dev_tensor from = clg_tensor_advance(src, (size_t)(src_at + clg_walk_offset(&w, 0, l)));
        clg_dev_tensor to = clg_tensor_advance(dst, (size_t)(dst_at + clg_walk_offset(&w, 1, l)));
        if (rows) {
            clg_karg args[] = {
                CLG_ARG_T(&from),         CLG_ARG_T(&to),           CLG_ARG_I(grid.n[0]),
                CLG_ARG_I(grid.n[1]),     CLG_ARG_I(shift),         CLG_ARG_I(grid.st[0][0]),
                CLG_ARG_I(grid.st[0][1]), CLG_ARG_I(grid.st[0][2]), CLG_ARG_I(grid.st[1][0]),
                CLG_ARG_I(grid.st[1][1]), CLG_ARG_I(grid.st[1][2]),
            };
            size_t global[2] = {clg_grid_size(grid.n[1] << shift), grid.global[2]};
            if ((s = clg_emit_kernel(lw, "copy.cl", "copy_rows", NULL, 2, global, args,
                                     (int)(sizeof args / sizeof args[0]))))
                return s;
            continue;
        }
        clg_karg args[] = {
            CLG_ARG_T(&from), CLG_ARG_T(&to), CLG_ARG_I(grid.n[0]),
            CLG_ARG_I(grid.st[0][0]), CLG_ARG_I(grid.st[0][1]), CLG_ARG_I(grid.st[0][2]),
            CLG_ARG_I(grid.st[1][0]), CLG_ARG_I(grid.st[1][1]), CLG_ARG_I(grid.st[1][2]),
        };
        if ((s = clg_emit_kernel(lw, "copy.cl", "copy_strided", NULL, 3, grid.global, args,
                                 (int)(sizeof args / sizeof args[0]))))
            return s;
    }
    return CLG_OK;
}

clg_status clg_lower_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    const clg_attrs *a = &n->attrs;
    if (out->shape.rank != xs->rank || (a->perm_rank != 0 && a->perm_rank != xs->rank))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL,
                              "internal error: perm does not match the input's rank %d", xs->rank);
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    int64_t in_st[CLG_MAX_RANK];
    clg_dense_strides(xs, in_st);
    clg_walk w = {out->shape.rank, 2, {0}, {{0}}};
    clg_dense_strides(&out->shape, w.st[1]);
    /* Output axis i walks input axis perm[i]. */
    for (int i = 0; i < w.rank; i++) {
        w.dims[i] = out->shape.dims[i];
        w.st[0][i] = in_st[a->perm_rank ? a->perm[i] : xs->rank - 1 - i];
    }
    return clg_emit_copy(lw, &in[0], 0, out, 0, w);
}

/* Inputs per concat8 launch (kernels/copy.cl). */
enum { CONCAT_PER_LAUNCH = 8 };

/* Whether a Concat can run as rows (kernels/copy.cl concat8): every
 * offset within an int. CLGRAPH_CONCAT_COPIES=1 takes the strided copy,
 * a launch per input, instead. */
static bool concat_rows_fit(const clg_dev_tensor *in, int n_in, const clg_shape *ys)
{
    /* the output and, padded, one row's work-items within an int */
    if (clg_shape_count(ys) > INT32_MAX - (int64_t)CONCAT_PER_LAUNCH * CLG_GRID_MULTIPLE) return false;
    for (int k = 0; k < n_in; k++)
        if (in[k].shape.rank != ys->rank) return false;
    return true;
}

/* The Concat as rows: the output as outer rows of row_out elements, the
 * inputs' rows runs of them, up to 8 inputs per launch, a work-item per
 * 16 elements of a run, each run's work-items padded to a multiple of 64
 * (kernels/copy.cl concat8). */
static clg_status lower_concat_rows(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out, int64_t axis)
{
    const clg_shape *ys = &out->shape;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= ys->dims[i];
    for (int i = (int)axis + 1; i < ys->rank; i++) inner *= ys->dims[i];
    int64_t row_out = ys->dims[axis] * inner, col = 0;
    if (outer == 0 || row_out == 0) return CLG_OK;
    for (int k0 = 0; k0 < n->n_inputs; k0 += CONCAT_PER_LAUNCH) {
        int nk = n->n_inputs - k0 < CONCAT_PER_LAUNCH ? n->n_inputs - k0 : CONCAT_PER_LAUNCH;
        clg_karg args[3 + 5 * CONCAT_PER_LAUNCH] = {CLG_ARG_T(out), CLG_ARG_I(row_out)};
        int na = 2;
        int64_t items = 0;
        for (int k = 0; k < CONCAT_PER_LAUNCH; k++) {
            /* slots past the launch's inputs: its last one, never taken */
            const clg_dev_tensor *x = &in[k0 + (k < nk ? k : nk - 1)];
            int64_t len = k < nk ? x->shape.dims[axis] * inner : 0;
            if (col + len > row_out)
                return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d does not fit the output",
                                      k0 + k);
            /* a work-item per 16 elements, the run padded to 64 of them */
            /* (within an int: concat_rows_fit) */
            items += ((len + 15) / 16 + CLG_GRID_MULTIPLE - 1) / CLG_GRID_MULTIPLE * CLG_GRID_MULTIPLE;
            args[na++] = CLG_ARG_T(x);
            args[na++] = CLG_ARG_I(items);
            args[na++] = CLG_ARG_I(len);
            args[na++] = CLG_ARG_I(col);
            col += len;
        }
        if (items == 0) continue;
        size_t grid[2] = {(size_t)items, (size_t)outer};
        clg_status s = clg_emit_kernel(lw, "copy.cl", "concat8", NULL, 2, grid, args, na);
        if (s) return s;
    }
    return CLG_OK;
}

clg_status clg_lower_concat(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const clg_shape *ys = &out->shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + ys->rank : n->attrs.axis;
    if (axis < 0 || axis >= ys->rank)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: axis %lld is out of range for rank %d",
                              (long long)n->attrs.axis, ys->rank);
    const char *copies = getenv("CLGRAPH_CONCAT_COPIES");
    if (concat_rows_fit(in, n->n_inputs, ys) && !(copies && *copies == '1'))
        return lower_concat_rows(lw, n, in, out, axis);
    int64_t out_st[CLG_MAX_RANK];
    clg_dense_strides(ys, out_st);
    /* Each input is a block of the output: same dims, the output's strides,
     * starting `at` elements along the axis. */
    int64_t at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        const clg_shape *xs = &in[k].shape;
        if (xs->rank != ys->rank || at + xs->dims[axis] > ys->dims[axis])
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d does not fit the output",
                                  k);
        clg_walk w = {xs->rank, 2, {0}, {{0}}};
        clg_dense_strides(xs, w.st[0]);
        for (int i = 0; i < xs->rank; i++) {
            w.dims[i] = xs->dims[i];
            w.st[1][i] = out_st[i];
        }
        clg_status s = clg_emit_copy(lw, &in[k], 0, out, at * out_st[axis], w);
        if (s) return s;
        at += xs->dims[axis];
    }
    return CLG_OK;
}

clg_status clg_emit_broadcast_copy(clg_lower *lw, const clg_dev_tensor *src,
                                   const clg_dev_tensor *dst)
{
    const clg_shape *xs = &src->shape, *ys = &dst->shape;
    clg_walk w = {ys->rank, 2, {0}, {{0}}};
    for (int i = 0; i < ys->rank; i++) w.dims[i] = ys->dims[i];
    if (!clg_broadcast_strides(xs, ys, w.st[0])) {
        char from[96], to[96];
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: shape %s does not broadcast to %s",
                              clg_shape_str(NULL, xs, from, sizeof from), clg_shape_str(NULL, ys, to, sizeof to));
    }
    clg_dense_strides(ys, w.st[1]);
    return clg_emit_copy(lw, src, 0, dst, 0, w);
}
