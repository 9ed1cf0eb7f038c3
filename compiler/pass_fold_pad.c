/* fold-pad: a Pad that adds a constant around H and W of an NCHW tensor,
 * read only by Conv2Ds (as their X), MaxPools or AveragePools, becomes
 * each one's own padding, so the padded copy is never written. Keras writes this
 * pattern for ZeroPadding2D and for padding="same" with strides (tf2onnx
 * exports it as Pad then Conv).
 *
 * The fold must give the same numbers, which depends on the consumer:
 * - Conv2D pads with 0: the Pad's value must be +0.
 * - AveragePool: the Pad's zeros add nothing to a sum but count in the
 *   divisor, which is count_include_pad=1 exactly; so the pool must
 *   already count its own padding or have none, and becomes
 *   count_include_pad=1. The value must be +0.
 * - MaxPool: its padding never wins a max, which a -inf pad gives exactly;
 *   a 0 pad gives it too when the input cannot be negative (a Relu, or a
 *   Clip with min >= 0, feeds the Pad: Keras' ResNet stem), up to the sign
 *   of a zero result. Every window must hold an input element (an empty
 *   one is -FLT_MAX, not the pad value), which undilated windows do when
 *   the pads are smaller than the window; so no dilation.
 * And in every case the consumer's shape rules must accept the summed pads
 * (pools need each pad smaller than the window) and give the same output
 * shape (ceil_mode's rule for a last window changes when padding moves). */
#include <math.h>
#include <string.h>

#include "passes.h"

/* The spatial pads [top, left, bottom, right] of a constant-mode Pad on
 * dims 2 and 3 only of a rank-4 tensor, none negative (a crop cannot be
 * padding). */
static bool spatial_pads(const clg_node *pad, int64_t add[4])
{
    if (pad->op != CLG_OP_PAD || pad->shape.rank != 4 || pad->attrs.pad_mode != CLG_PAD_CONSTANT ||
        pad->attrs.pad_count != 8)
        return false;
    const int64_t *p = pad->attrs.pad_amounts;
    if (p[0] || p[1] || p[4] || p[5]) return false; /* N or C */
    const int at[4] = {2, 3, 6, 7};
    for (int k = 0; k < 4; k++) {
        if (p[at[k]] < 0) return false;
        add[k] = p[at[k]];
    }
    return true;
}

static bool is_positive_zero(float v) { return v == 0.0f && !signbit(v); }

/* Whether node i's values are never negative (NaN aside, which a max
 * propagates either way). */
static bool never_negative(const clg_graph *g, int i)
{
    const clg_node *n = &g->nodes[i];
    if (n->op == CLG_OP_RELU) return true;
    if (n->op == CLG_OP_CLIP) return n->attrs.min >= 0.0f;
    return false;
}

/* Whether the consumer c of Pad p can take the Pad's pads; *attrs gets
 * c's attributes with them added. */
static bool foldable(const clg_graph *g, const clg_node *p, const clg_node *c, const int64_t add[4],
                     clg_attrs *attrs)
{
    float v = p->attrs.pad_value;
    *attrs = c->attrs;
    if (c->op == CLG_OP_CONV2D) {
        if (!is_positive_zero(v)) return false;
    } else if (c->op == CLG_OP_AVERAGEPOOL) {
        bool own_pads = c->attrs.pads[0] || c->attrs.pads[1] || c->attrs.pads[2] || c->attrs.pads[3];
        if (!is_positive_zero(v) || (own_pads && !c->attrs.count_include_pad)) return false;
        attrs->count_include_pad = 1;
    } else if (c->op == CLG_OP_MAXPOOL) {
        if (c->attrs.dilations[0] != 1 || c->attrs.dilations[1] != 1) return false;
        if (!(v == -INFINITY || (v == 0.0f && never_negative(g, p->inputs[0])))) return false;
    } else {
        return false;
    }
    for (int k = 0; k < 4; k++) attrs->pads[k] += add[k];
    return true;
}

/* Whether consumer ci of Pad p (node i) can take the Pad's pads, reading
 * the Pad only as its X; *attrs gets its attributes with them. */
static bool consumer_folds(clg_graph *g, const clg_sweep *sw, int i, int ci, const int64_t add[4],
                           clg_attrs *attrs)
{
    const clg_node *p = &g->nodes[i], *c = &g->nodes[ci];
    if (!clg_sweep_fresh(sw, ci) || c->inputs[0] != i || clg_node_has_epilogue(c)) return false;
    for (int k = 1; k < c->n_inputs; k++)
        if (c->inputs[k] == i) return false;
    if (!foldable(g, p, c, add, attrs)) return false;
    /* The consumer as it would be, through its own shape rules. */
    const clg_shape *in[3];
    int n_in = c->n_inputs < 3 ? c->n_inputs : 3;
    in[0] = &g->nodes[p->inputs[0]].shape;
    for (int k = 1; k < n_in; k++) in[k] = &g->nodes[c->inputs[k]].shape;
    return clg_pass_keeps_shape(g, c, attrs, in);
}

/* A Pad read by several window ops (NASNet's separable convolutions share
 * one Pad) folds into each when every one of them can take it; a Pad some
 * reader needs stays for all. */
#define MAX_READERS 8

clg_status clg_pass_fold_pad(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status s = clg_sweep_begin(g, &sw);
    if (s) return s;
    for (int i = 0; i < sw.n0; i++) {
        const clg_node *p = &g->nodes[i];
        int64_t add[4];
        if (!clg_sweep_fresh(&sw, i) || !spatial_pads(p, add) || clg_edit_is_output(g, i)) continue;
        int readers[MAX_READERS], n = 0;
        bool ok = true;
        for (int c = i + 1; c < sw.n0 && ok; c++) {
            const clg_node *cn = &g->nodes[c];
            if (cn->dead) continue;
            bool reads = false;
            for (int k = 0; k < cn->n_inputs; k++) reads = reads || cn->inputs[k] == i;
            if (!reads) continue;
            if (n == MAX_READERS) ok = false;
            else readers[n++] = c;
        }
        if (!ok || n == 0) continue;
        clg_attrs attrs[MAX_READERS];
        for (int r = 0; r < n && ok; r++) ok = consumer_folds(g, &sw, i, readers[r], add, &attrs[r]);
        if (!ok) continue;
        int src = p->inputs[0];
        for (int r = 0; r < n; r++) {
            clg_node *c = &g->nodes[readers[r]];
            c->attrs = attrs[r];
            c->inputs[0] = src;
            clg_sweep_touch(&sw, readers[r]);
        }
        g->nodes[i].dead = true;
        clg_sweep_touch(&sw, i);
        clg_sweep_touch(&sw, src);
        *changed = true;
    }
    clg_sweep_end(&sw);
    return CLG_OK;
}
