/* Data movement through the one strided copy kernel of kernels/copy.cl:
 * Transpose, Concat, and the broadcast copy that pre-fills a GEMM's C. */
#include <limits.h>

#include "lower.h"

#define R CLG_MAX_RANK

/* A copy over a grid of dims (C order) with a source and a destination
 * element stride per dim. */
typedef struct copy_grid {
    int rank;
    int64_t dims[R];
    int64_t st[2][R]; /* [0]: source, [1]: destination */
} copy_grid;

static int64_t count_of(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i];
    return n;
}

/* Dense C-order strides of a shape. */
static void dense_strides(const clg_shape *s, int64_t st[R])
{
    int64_t k = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = k;
        k *= s->dims[i];
    }
}

static const char *node_name(const clg_lower *lw)
{
    return lw->g->nodes[lw->node].name;
}

static const char *node_op(const clg_lower *lw)
{
    return clg_op_name(lw->g->nodes[lw->node].op);
}

/* Drops dims of 1 and merges neighbours that are contiguous in both tensors
 * (the outer stride equals the inner stride times the inner dim), so most
 * copies fit the kernel's three grid dims: a plain copy becomes one dim, a
 * Concat input (outer, chunk). Leaves rank >= 1. */
static void merge_dims(copy_grid *g)
{
    int r = 0;
    for (int i = 0; i < g->rank; i++) {
        if (g->dims[i] == 1) continue;
        bool merge = r > 0;
        for (int k = 0; merge && k < 2; k++)
            if (g->st[k][r - 1] != g->st[k][i] * g->dims[i]) merge = false;
        if (merge) {
            g->dims[r - 1] *= g->dims[i];
            for (int k = 0; k < 2; k++) g->st[k][r - 1] = g->st[k][i];
        } else {
            g->dims[r] = g->dims[i];
            for (int k = 0; k < 2; k++) g->st[k][r] = g->st[k][i];
            r++;
        }
    }
    if (r == 0) {
        g->dims[0] = 1;
        g->st[0][0] = g->st[1][0] = 0;
        r = 1;
    }
    g->rank = r;
}

/* Emits the copy_strided launches for grid g from src to dst (whose
 * offsets point at the first element to read and write). */
static clg_status emit_copy(clg_lower *lw, const clg_dev_tensor *src, const clg_dev_tensor *dst,
                            copy_grid g)
{
    int64_t count = 1;
    for (int i = 0; i < g.rank; i++) count *= g.dims[i];
    if (count == 0) return CLG_OK;
    if (count > INT_MAX)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): tensors of more than %d elements are not supported",
                            node_name(lw), node_op(lw), INT_MAX);
    merge_dims(&g);

    /* The innermost three dims are the launch grid; dims beyond those (a
     * transpose that keeps four or more dims apart) are walked here, one
     * launch per index, with the offsets moved to its slice. */
    int lead = g.rank > 3 ? g.rank - 3 : 0;
    int64_t launches = 1;
    for (int i = 0; i < lead; i++) launches *= g.dims[i];
    int64_t n0 = g.dims[g.rank - 1];
    int64_t n1 = g.rank > 1 ? g.dims[g.rank - 2] : 1, n2 = g.rank > 2 ? g.dims[g.rank - 3] : 1;
    int64_t st[2][3] = {{0}}; /* [source, destination][grid dim] */
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 3 && d < g.rank; d++) st[k][d] = g.st[k][g.rank - 1 - d];
    /* Padded to a multiple of 64 (the kernel checks n0): PoCL picks a
     * work-group size of 1 for a large prime global size, ~7x slower. */
    size_t global[3] = {n0 < 64 ? (size_t)n0 : (size_t)((n0 + 63) / 64 * 64), (size_t)n1,
                        (size_t)n2};
    for (int64_t l = 0; l < launches; l++) {
        clg_dev_tensor s = *src, d = *dst;
        int64_t rest = l;
        for (int i = lead - 1; i >= 0; i--) {
            int64_t c = rest % g.dims[i];
            rest /= g.dims[i];
            s.off += (size_t)(c * g.st[0][i]);
            d.off += (size_t)(c * g.st[1][i]);
        }
        clg_karg args[] = {
            CLG_ARG_T(&s), CLG_ARG_T(&d), CLG_ARG_I(n0),
            CLG_ARG_I(st[0][0]), CLG_ARG_I(st[0][1]), CLG_ARG_I(st[0][2]),
            CLG_ARG_I(st[1][0]), CLG_ARG_I(st[1][1]), CLG_ARG_I(st[1][2]),
        };
        clg_status status = clg_emit_kernel(lw, "copy.cl", "copy_strided", NULL, 3, global, args,
                                            (int)(sizeof args / sizeof args[0]));
        if (status) return status;
    }
    return CLG_OK;
}

clg_status clg_lower_transpose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    const clg_attrs *a = &n->attrs;
    if (out->shape.rank != xs->rank || (a->perm_rank != 0 && a->perm_rank != xs->rank))
        return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                            "node %s (%s): perm does not match the input's rank %d", n->name,
                            clg_op_name(n->op), xs->rank);
    if (count_of(xs) > INT_MAX)
        return clg_ctx_fail(lw->ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): tensors of more than %d elements are not supported",
                            n->name, clg_op_name(n->op), INT_MAX);
    int64_t in_st[R];
    dense_strides(xs, in_st);
    copy_grid g = {out->shape.rank, {0}, {{0}}};
    dense_strides(&out->shape, g.st[1]);
    /* Output axis i walks input axis perm[i]. */
    for (int i = 0; i < g.rank; i++) {
        g.dims[i] = out->shape.dims[i];
        g.st[0][i] = in_st[a->perm_rank ? a->perm[i] : xs->rank - 1 - i];
    }
    return emit_copy(lw, &in[0], out, g);
}

clg_status clg_lower_concat(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                            const clg_dev_tensor *out)
{
    const clg_shape *ys = &out->shape;
    int64_t axis = n->attrs.axis < 0 ? n->attrs.axis + ys->rank : n->attrs.axis;
    if (axis < 0 || axis >= ys->rank)
        return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                            "node %s (%s): axis %lld is out of range for rank %d", n->name,
                            clg_op_name(n->op), (long long)n->attrs.axis, ys->rank);
    int64_t out_st[R];
    dense_strides(ys, out_st);
    /* Each input is a block of the output: same dims, the output's strides,
     * starting `at` elements along the axis. */
    int64_t at = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        const clg_shape *xs = &in[k].shape;
        if (xs->rank != ys->rank || at + xs->dims[axis] > ys->dims[axis])
            return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                                "node %s (%s): input %d does not fit the output", n->name,
                                clg_op_name(n->op), k);
        copy_grid g = {xs->rank, {0}, {{0}}};
        dense_strides(xs, g.st[0]);
        for (int i = 0; i < xs->rank; i++) {
            g.dims[i] = xs->dims[i];
            g.st[1][i] = out_st[i];
        }
        clg_dev_tensor dst = *out;
        dst.off += (size_t)(at * out_st[axis]);
        clg_status s = emit_copy(lw, &in[k], &dst, g);
        if (s) return s;
        at += xs->dims[axis];
    }
    return CLG_OK;
}

clg_status clg_emit_broadcast_copy(clg_lower *lw, const clg_dev_tensor *src,
                                   const clg_dev_tensor *dst)
{
    const clg_shape *xs = &src->shape, *ys = &dst->shape;
    copy_grid g = {ys->rank, {0}, {{0}}};
    int lead = ys->rank - xs->rank;
    bool ok = lead >= 0;
    int64_t k = 1;
    /* NumPy rules: src's dims align with dst's trailing dims; a dim of 1 or
     * a missing leading dim repeats with stride 0. */
    for (int i = ys->rank - 1; ok && i >= 0; i--) {
        int j = i - lead;
        g.dims[i] = ys->dims[i];
        if (j < 0 || xs->dims[j] == 1) {
            g.st[0][i] = 0;
        } else if (xs->dims[j] == ys->dims[i]) {
            g.st[0][i] = k;
        } else {
            ok = false;
        }
        if (j >= 0) k *= xs->dims[j];
    }
    if (!ok) {
        char from[96], to[96];
        return clg_ctx_fail(lw->ctx, CLG_ERR_INVALID_ARGUMENT,
                            "node %s (%s): shape %s does not broadcast to %s", node_name(lw),
                            node_op(lw), clg_shape_str(xs, from, sizeof from),
                            clg_shape_str(ys, to, sizeof to));
    }
    dense_strides(ys, g.st[1]);
    return emit_copy(lw, src, dst, g);
}
