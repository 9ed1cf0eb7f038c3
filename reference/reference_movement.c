/* Reference kernels of the data-movement ops: each output element computes
 * the input index it reads straight from the ONNX definition (no strided
 * views), so that the device's strided walks (runtime/lower/movement.c) are
 * checked against a different derivation. */
#include "reference_ops.h"

#define R CLG_MAX_RANK

/* Steps idx (C order) through dims; false after the last index. */
static bool next_index(int rank, const int64_t *dims, int64_t *idx)
{
    for (int d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) return true;
        idx[d] = 0;
    }
    return false;
}

static int64_t offset_of(const clg_shape *s, const int64_t *idx)
{
    int64_t off = 0;
    for (int d = 0; d < s->rank; d++) off = off * s->dims[d] + idx[d];
    return off;
}

clg_status clg_ref_slice(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    clg_slice_dims sd;
    int bad;
    if (clg_slice_resolve(a->g, &a->node->attrs, xs, &sd, &bad))
        return clg_fail_node(a->g, CLG_ERR_INTERNAL, a->node->line, a->node->name, a->node->op,
                             "internal error: the slice does not resolve on a concrete shape");
    int64_t o[R] = {0}, i[R] = {0};
    int64_t n = 0;
    do {
        for (int d = 0; d < ys->rank; d++) i[d] = sd.first[d] + o[d] * sd.step[d];
        a->out[n++] = a->in[0][offset_of(xs, i)];
    } while (next_index(ys->rank, ys->dims, o));
    return CLG_OK;
}

clg_status clg_ref_expand(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int lead = ys->rank - xs->rank;
    int64_t o[R] = {0}, i[R] = {0};
    int64_t n = 0;
    do {
        /* Dims align from the right; a dim of 1 repeats its one element. */
        for (int d = 0; d < xs->rank; d++) i[d] = xs->dims[d] == 1 ? 0 : o[d + lead];
        a->out[n++] = a->in[0][offset_of(xs, i)];
    } while (next_index(ys->rank, ys->dims, o));
    return CLG_OK;
}

clg_status clg_ref_tile(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int64_t o[R] = {0}, i[R] = {0};
    int64_t n = 0;
    do {
        for (int d = 0; d < ys->rank; d++) i[d] = o[d] % xs->dims[d];
        a->out[n++] = a->in[0][offset_of(xs, i)];
    } while (next_index(ys->rank, ys->dims, o));
    return CLG_OK;
}

/* DepthToSpace: output [n, c, h, w] reads input channel
 *   DCR: (h % b * b + w % b) * C' + c     (depth, then column, then row)
 *   CRD: c * b * b + h % b * b + w % b
 * at [h / b, w / b]; C' = C / b^2 is the output's channel count. */
clg_status clg_ref_depth_to_space(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int64_t b = a->node->attrs.blocksize;
    bool crd = a->node->attrs.mode_crd != 0;
    int64_t o[R] = {0}, i[R] = {0};
    int64_t n = 0;
    do {
        int64_t bi = o[2] % b, bj = o[3] % b;
        i[0] = o[0];
        i[1] = crd ? o[1] * b * b + bi * b + bj : (bi * b + bj) * ys->dims[1] + o[1];
        i[2] = o[2] / b;
        i[3] = o[3] / b;
        a->out[n++] = a->in[0][offset_of(xs, i)];
    } while (next_index(4, ys->dims, o));
    return CLG_OK;
}

/* SpaceToDepth, DepthToSpace-DCR's inverse: output channel (bi * b + bj) *
 * C + c at [h, w] reads input [c, h * b + bi, w * b + bj]. */
clg_status clg_ref_space_to_depth(const clg_ref_args *a)
{
    const clg_shape *xs = a->in_shapes[0], *ys = a->out_shape;
    int64_t b = a->node->attrs.blocksize, ch = xs->dims[1];
    int64_t o[R] = {0}, i[R] = {0};
    int64_t n = 0;
    do {
        int64_t block = o[1] / ch;
        i[0] = o[0];
        i[1] = o[1] % ch;
        i[2] = o[2] * b + block / b;
        i[3] = o[3] * b + block % b;
        a->out[n++] = a->in[0][offset_of(xs, i)];
    } while (next_index(4, ys->dims, o));
    return CLG_OK;
}
