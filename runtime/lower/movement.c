/* Slice, Expand, Tile, DepthToSpace and SpaceToDepth as strided walks of
 * kernels/copy.cl's copy_strided (Tile with its -DWRAP variant): each op
 * only says which input element every output element reads, as a start
 * offset and per-dim strides. */
#include "lower.h"
#include "lower_util.h"

static clg_status internal(clg_lower *lw, const char *what)
{
    return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %s", what);
}

clg_status clg_lower_slice(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape;
    clg_slice_dims sd;
    int bad;
    /* The plan binds the graph's sizes while it lowers (g->binding), so a
     * symbolic start or end resolves to a number and nothing is interned. */
    if (clg_slice_resolve((clg_graph *)lw->g, &n->attrs, xs, &sd, &bad) || out->shape.rank != xs->rank)
        return internal(lw, "the slice does not resolve on the input's shape");
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    int64_t in_st[CLG_MAX_RANK];
    clg_dense_strides(xs, in_st);
    clg_walk w = {xs->rank, 2, {0}, {{0}}};
    clg_dense_strides(&out->shape, w.st[1]);
    int64_t first = 0;
    for (int i = 0; i < xs->rank; i++) {
        if (sd.count[i] != out->shape.dims[i]) return internal(lw, "the slice does not match the output's shape");
        w.dims[i] = sd.count[i];
        w.st[0][i] = sd.step[i] * in_st[i];
        first += sd.first[i] * in_st[i];
    }
    return clg_emit_copy(lw, &in[0], first, out, 0, w);
}

clg_status clg_lower_expand(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    (void)n;
    return clg_emit_broadcast_copy(lw, &in[0], out);
}

/* ---------------------------------------------------------------- Tile */

/* A Tile walk: the output's dims, the input's dense strides, and the
 * input's extent per dim at which the source index wraps. */
typedef struct tile_walk {
    int rank;
    int64_t dims[CLG_MAX_RANK], wrap[CLG_MAX_RANK], src_st[CLG_MAX_RANK], dst_st[CLG_MAX_RANK];
} tile_walk;

/* Drops dims of 1 and merges a dim into the one outside it when the inner
 * one is not repeated: index a * n + b of the merged dim then reads
 * ((a % m_outer) * n + b) = (a * n + b) % (m_outer * n) inner elements, so
 * it wraps at the product. A Tile of one repeated axis becomes two dims. */
static void tile_merge(tile_walk *t)
{
    int r = 0;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] == 1) continue;
        if (r > 0 && t->dims[i] == t->wrap[i]) {
            t->dims[r - 1] *= t->dims[i];
            t->wrap[r - 1] *= t->wrap[i];
            t->src_st[r - 1] = t->src_st[i];
            t->dst_st[r - 1] = t->dst_st[i];
            continue;
        }
        t->dims[r] = t->dims[i];
        t->wrap[r] = t->wrap[i];
        t->src_st[r] = t->src_st[i];
        t->dst_st[r] = t->dst_st[i];
        r++;
    }
    if (r == 0) {
        t->dims[0] = t->wrap[0] = 1;
        t->src_st[0] = t->dst_st[0] = 0;
        r = 1;
    }
    t->rank = r;
}

clg_status clg_lower_tile(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    (void)n;
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    if (xs->rank != ys->rank) return internal(lw, "the output's rank differs from the input's");
    clg_status s = clg_check_elems(lw, ys);
    if (s) return s;
    tile_walk t = {xs->rank, {0}, {0}, {0}, {0}};
    clg_dense_strides(xs, t.src_st);
    clg_dense_strides(ys, t.dst_st);
    for (int i = 0; i < xs->rank; i++) {
        if (ys->dims[i] % xs->dims[i]) return internal(lw, "the output is not a whole number of tiles");
        t.dims[i] = ys->dims[i];
        t.wrap[i] = xs->dims[i];
    }
    tile_merge(&t);
    /* The innermost three dims are the grid; each index of the rest is a
     * launch whose offsets wrap on the host. */
    int lead = t.rank > 3 ? t.rank - 3 : 0;
    int64_t launches = 1;
    for (int i = 0; i < lead; i++) launches *= t.dims[i];
    int64_t gn[3], gs[3], gd[3], gm[3];
    for (int d = 0; d < 3; d++) {
        int i = t.rank - 1 - d;
        bool in_walk = i >= lead;
        gn[d] = in_walk ? t.dims[i] : 1;
        gs[d] = in_walk ? t.src_st[i] : 0;
        gd[d] = in_walk ? t.dst_st[i] : 0;
        gm[d] = in_walk ? t.wrap[i] : 1;
    }
    size_t global[3] = {clg_grid_size(gn[0]), (size_t)gn[1], (size_t)gn[2]};
    for (int64_t l = 0; l < launches; l++) {
        int64_t from = 0, to = 0, rest = l;
        for (int i = lead - 1; i >= 0; i--) {
            int64_t at = rest % t.dims[i];
            rest /= t.dims[i];
            from += at % t.wrap[i] * t.src_st[i];
            to += at * t.dst_st[i];
        }
        clg_dev_tensor src = clg_tensor_advance(&in[0], (size_t)from);
        clg_dev_tensor dst = clg_tensor_advance(out, (size_t)to);
        clg_karg args[] = {
            CLG_ARG_T(&src), CLG_ARG_T(&dst), CLG_ARG_I(gn[0]),
            CLG_ARG_I(gs[0]), CLG_ARG_I(gs[1]), CLG_ARG_I(gs[2]),
            CLG_ARG_I(gd[0]), CLG_ARG_I(gd[1]), CLG_ARG_I(gd[2]),
            CLG_ARG_I(gm[0]), CLG_ARG_I(gm[1]), CLG_ARG_I(gm[2]),
        };
        if ((s = clg_emit_kernel(lw, "copy.cl", "copy_strided", "-DWRAP", 3, global, args,
                                 (int)(sizeof args / sizeof args[0]))))
            return s;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

/* Both are a 6-D permutation of [N, C, H, W] with the block split out of
 * the channels: a walk [bi, bj, c, h, w] per batch item, of which the grid
 * takes w and the two largest others (clg_emit_copy), so the extra
 * launches number about b^2. Where the batch and channel dims are contiguous in
 * both tensors (DepthToSpace CRD) they are one dim and the batch costs no
 * launches; otherwise (DCR, SpaceToDepth) each batch item is its own walk. */
static clg_status depth_space(clg_lower *lw, const clg_dev_tensor *in, const clg_dev_tensor *out,
                              const int64_t src_st[5], const int64_t dst_st[5], const int64_t dims[5])
{
    const clg_shape *xs = &in[0].shape;
    clg_status s = clg_check_elems(lw, xs);
    if (s) return s;
    int64_t item = xs->dims[1] * xs->dims[2] * xs->dims[3]; /* one batch item, the same in and out */
    bool merge = item == dims[2] * src_st[2] && item == dims[2] * dst_st[2];
    int64_t walks = merge ? 1 : xs->dims[0];
    for (int64_t b = 0; b < walks; b++) {
        clg_walk w = {5, 2, {0}, {{0}}};
        for (int i = 0; i < 5; i++) {
            w.dims[i] = dims[i];
            w.st[0][i] = src_st[i];
            w.st[1][i] = dst_st[i];
        }
        if (merge) w.dims[2] *= xs->dims[0];
        if ((s = clg_emit_copy(lw, &in[0], b * item, out, b * item, w))) return s;
    }
    return CLG_OK;
}

clg_status clg_lower_depth_to_space(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    int64_t b = n->attrs.blocksize;
    if (xs->rank != 4 || ys->rank != 4 || b < 1) return internal(lw, "DepthToSpace needs rank 4 and a blocksize");
    int64_t c = ys->dims[1], h = xs->dims[2], w = xs->dims[3];
    /* Output [c, h * b + bi, w * b + bj] reads input channel
     * (bi * b + bj) * c' + c (DCR) or c * b^2 + bi * b + bj (CRD) at [h, w]. */
    int64_t plane = h * w;
    int64_t bi_st = n->attrs.mode_crd ? b * plane : b * c * plane;
    int64_t bj_st = n->attrs.mode_crd ? plane : c * plane;
    int64_t c_st = n->attrs.mode_crd ? b * b * plane : plane;
    const int64_t dims[5] = {b, b, c, h, w};
    const int64_t src[5] = {bi_st, bj_st, c_st, w, 1};
    const int64_t dst[5] = {w * b, 1, h * b * w * b, b * w * b, b};
    return depth_space(lw, in, out, src, dst, dims);
}

clg_status clg_lower_space_to_depth(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out)
{
    const clg_shape *xs = &in[0].shape, *ys = &out->shape;
    int64_t b = n->attrs.blocksize;
    if (xs->rank != 4 || ys->rank != 4 || b < 1) return internal(lw, "SpaceToDepth needs rank 4 and a blocksize");
    int64_t c = xs->dims[1], h = ys->dims[2], w = ys->dims[3];
    /* Output channel (bi * b + bj) * c + c at [h, w] reads input
     * [c, h * b + bi, w * b + bj]; the input is [c, h * b, w * b]. */
    int64_t in_w = w * b, in_plane = h * b * in_w, out_plane = h * w;
    const int64_t dims[5] = {b, b, c, h, w};
    const int64_t src[5] = {in_w, 1, in_plane, b * in_w, b};
    const int64_t dst[5] = {b * c * out_plane, c * out_plane, out_plane, w, 1};
    return depth_space(lw, in, out, src, dst, dims);
}
