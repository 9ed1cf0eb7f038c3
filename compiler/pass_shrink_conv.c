/* shrink-conv: a Conv2D's kernel rows and columns that read only padding,
 * for every output, go; the kernel left is what the outputs read.
 *
 * DeepLabV3's ASPP runs 3x3 convolutions at dilations 12, 24 and 36 with
 * as much padding; on a feature map smaller than the dilation (4x4 for a
 * 64x64 image at output stride 16, 32x32 for 512x512 at dilation 36) every
 * tap but the centre reads padding, so the layer is a 1x1 convolution
 * computed as a 3x3 one: nine times the work, and the im2col path's copy
 * of the padding. torchvision's deeplabv3_mobilenet_v3_large at 64x64,
 * batch 16: those three layers took 18 of 39 ms on Intel's runtime, where
 * ONNX Runtime took 3.3.
 *
 * Along one axis, tap k (of K, dilation d) reads input row
 * o * stride - pad_begin + k * d for output row o in [0, out). The taps
 * that read a row in [0, in) for some o form one run [k0, k1] (the rows a
 * tap reads grow with k), so the new kernel is taps k0..k1, its begin pad
 * pad_begin - k0 * d and its end pad what keeps the output size; a pad
 * that would be negative (an input row no window reads) leaves the node
 * as it is. The weights are a new constant (the old one may be shared).
 * The result is the same: the dropped taps multiply padding zeros. */
#include <stdio.h>

#include "passes.h"

/* The taps [*k0, *k1] of a kernel of k along one axis that read an input
 * row for some output row; false when no tap does. */
static bool hit_taps(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                     int64_t *k0, int64_t *k1)
{
    *k0 = -1;
    *k1 = -1;
    for (int64_t t = 0; t < k; t++) {
        /* the rows tap t reads: first, first + stride, ..., last */
        int64_t first = -pad + t * dilation, last = (out - 1) * stride - pad + t * dilation;
        bool hit = false;
        if (last >= 0 && first <= in - 1) {
            /* a row in [0, in) among first + j * stride */
            int64_t j = first >= 0 ? 0 : (-first + stride - 1) / stride;
            hit = j <= out - 1 && first + j * stride <= in - 1;
        }
        if (hit) {
            if (*k0 < 0) *k0 = t;
            *k1 = t;
        }
    }
    return *k0 >= 0;
}

static clg_status shrink(clg_graph *g, int i, const int64_t k0[2], const int64_t k1[2], const clg_attrs *attrs)
{
    const clg_node *n = &g->nodes[i];
    const clg_node *w = &g->nodes[n->inputs[1]];
    const int64_t m = w->shape.dims[0], c = w->shape.dims[1], kh = w->shape.dims[2], kw = w->shape.dims[3];
    const int64_t nh = k1[0] - k0[0] + 1, nw = k1[1] - k0[1] + 1;
    clg_shape shape = {4, {m, c, nh, nw}};
    float *data = clg_malloc(g, (size_t)(m * c * nh * nw) * sizeof *data);
    if (!data) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory shrinking %s", n->name);
    const float *from = w->constant->data;
    for (int64_t mc = 0; mc < m * c; mc++)
        for (int64_t y = 0; y < nh; y++)
            for (int64_t x = 0; x < nw; x++)
                data[(mc * nh + y) * nw + x] = from[(mc * kh + k0[0] + y) * kw + k0[1] + x];
    char hint[256];
    snprintf(hint, sizeof hint, "%s/taps", w->name);
    clg_status st = CLG_OK;
    int wi = clg_edit_constant(g, hint, &shape, data, &st);
    clg_free(g, data);
    if (wi < 0) return st;
    g->nodes[i].inputs[1] = wi;
    g->nodes[i].attrs = *attrs;
    return CLG_OK;
}

clg_status clg_pass_shrink_conv(clg_graph *g, bool *changed)
{
    int n0 = g->n_nodes;
    for (int i = 0; i < n0; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead || n->op != CLG_OP_CONV2D || n->n_inputs < 2 || n->n_inputs > 3 || clg_node_has_epilogue(n) ||
            !clg_pass_is_constant(g, n->inputs[1]))
            continue;
        const clg_shape *x = &g->nodes[n->inputs[0]].shape, *w = &g->nodes[n->inputs[1]].shape;
        if (x->rank != 4 || w->rank != 4 || n->shape.rank != 4) continue;
        const clg_attrs *a = &n->attrs;
        int64_t k0[2], k1[2];
        bool any = true, smaller = false;
        for (int d = 0; d < 2 && any; d++) {
            /* sizes known when the graph is built: H and W, never the batch */
            if (x->dims[2 + d] < 1 || n->shape.dims[2 + d] < 1) any = false;
            else any = hit_taps(x->dims[2 + d], n->shape.dims[2 + d], w->dims[2 + d], a->strides[d], a->pads[d],
                                a->dilations[d], &k0[d], &k1[d]);
            smaller = smaller || (any && (k0[d] > 0 || k1[d] < w->dims[2 + d] - 1));
        }
        if (!any || !smaller) continue;
        clg_attrs attrs = *a;
        bool ok = true;
        for (int d = 0; d < 2; d++) {
            int64_t k = k1[d] - k0[d] + 1, dil = k == 1 ? 1 : a->dilations[d];
            int64_t begin = a->pads[d] - k0[d] * a->dilations[d];
            /* the end pad that keeps the output size: the last window's last
             * tap row, past the input's end */
            int64_t end = (n->shape.dims[2 + d] - 1) * a->strides[d] + (k - 1) * dil + 1 - x->dims[2 + d] - begin;
            if (begin < 0 || end < 0) ok = false;
            attrs.pads[d] = begin;
            attrs.pads[d + 2] = end;
            attrs.dilations[d] = dil;
        }
        if (!ok) continue;
        /* the node as it would be, through the shape rules: the same output */
        clg_shape nw = {4, {w->dims[0], w->dims[1], k1[0] - k0[0] + 1, k1[1] - k0[1] + 1}};
        const clg_shape *in[3] = {x, &nw, n->n_inputs > 2 ? &g->nodes[n->inputs[2]].shape : NULL};
        if (!clg_pass_keeps_shape(g, n, &attrs, in)) continue;
        clg_status st = shrink(g, i, k0, k1, &attrs);
        if (st) return st;
        *changed = true;
    }
    return CLG_OK;
}
