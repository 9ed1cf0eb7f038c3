/* Merges sibling projections: Gemm or MatMul nodes that read the same input
 * A with constant weights (Keras' MultiHeadAttention exports its Q, K and V
 * projections as three such Gemms of one input) become one GEMM whose
 * weights are the members' side by side, followed by one Slice per member
 * along the last axis — the form PyTorch's nn.MultiheadAttention exports
 * itself (one in_proj MatMul, then Slices). One GEMM of N1 + N2 + N3 columns
 * reads A once instead of three times and fills wider tiles.
 *
 * Legality, each a case of test_merge_projections_refused: the members
 * share input 0 (the same node, not equal values); each B is a constant of
 * rank 2 with the same K; the same op, and for Gemm the same alpha, beta,
 * transA and transB; no epilogue; a Gemm bias (beta != 0 and a C) must be,
 * in every member or none, a constant [N_j], so the biases concatenate too.
 * Constants are never edited: the merged weights and bias are new constants,
 * and the members' own stay for any other node that reads them (dce drops
 * them otherwise). */
#include <stdio.h>
#include <string.h>

#include "passes.h"

/* At most this many members per merged GEMM (more are left for the next
 * round). */
#define MAX_MEMBERS 16

/* Does node i carry a Gemm bias (C read with a non-zero beta)? */
static bool has_bias(const clg_node *n)
{
    return n->op == CLG_OP_GEMM && n->n_inputs == 3 && n->attrs.beta != 0.0f;
}

/* Is node i a projection this pass may merge: Gemm or MatMul, f32, no
 * epilogue, a constant rank-2 weight, and (Gemm) a constant [N] bias when
 * it has one? */
static bool candidate(const clg_graph *g, int i)
{
    const clg_node *n = &g->nodes[i];
    if (n->dead || (n->op != CLG_OP_GEMM && n->op != CLG_OP_MATMUL) || clg_node_has_epilogue(n)) return false;
    if (n->dtype != CLG_DTYPE_F32 || !clg_pass_is_constant(g, n->inputs[1])) return false;
    const clg_node *b = &g->nodes[n->inputs[1]];
    if (b->shape.rank != 2 || !b->constant) return false;
    if (n->op == CLG_OP_MATMUL && g->nodes[n->inputs[0]].shape.rank < 2) return false;
    if (has_bias(n)) {
        const clg_node *c = &g->nodes[n->inputs[2]];
        int64_t cols = n->attrs.trans_b ? b->shape.dims[0] : b->shape.dims[1];
        if (!clg_pass_is_constant(g, n->inputs[2]) || !c->constant || c->shape.rank != 1 || c->shape.dims[0] != cols)
            return false;
    }
    return true;
}

/* Can j join a group that i leads? */
static bool compatible(const clg_graph *g, int i, int j)
{
    const clg_node *a = &g->nodes[i], *b = &g->nodes[j];
    if (a->op != b->op || a->inputs[0] != b->inputs[0]) return false;
    const clg_shape *wa = &g->nodes[a->inputs[1]].shape, *wb = &g->nodes[b->inputs[1]].shape;
    if (a->op == CLG_OP_MATMUL) return wa->dims[0] == wb->dims[0];
    if (a->attrs.alpha != b->attrs.alpha || a->attrs.beta != b->attrs.beta || a->attrs.trans_a != b->attrs.trans_a ||
        a->attrs.trans_b != b->attrs.trans_b || has_bias(a) != has_bias(b))
        return false;
    int k = a->attrs.trans_b ? 1 : 0; /* the dim of B that is K */
    return wa->dims[k] == wb->dims[k];
}

/* The output columns of member i (its B's N). */
static int64_t columns(const clg_graph *g, int i)
{
    const clg_node *n = &g->nodes[i];
    const clg_shape *w = &g->nodes[n->inputs[1]].shape;
    return n->op == CLG_OP_GEMM && n->attrs.trans_b ? w->dims[0] : w->dims[1];
}

static clg_status merge(clg_graph *g, const int *members, int n_members)
{
    const clg_node *lead = &g->nodes[members[0]];
    bool trans_b = lead->op == CLG_OP_GEMM && lead->attrs.trans_b;
    bool bias = has_bias(lead);
    int64_t k = trans_b ? g->nodes[lead->inputs[1]].shape.dims[1] : g->nodes[lead->inputs[1]].shape.dims[0];
    int64_t total = 0;
    for (int m = 0; m < n_members; m++) total += columns(g, members[m]);
    char hint[256];

    clg_status st = CLG_OK;
    float *w = clg_malloc(g, (size_t)(k * total) * sizeof *w);
    float *c = bias ? clg_malloc(g, (size_t)total * sizeof *c) : NULL;
    if (!w || (bias && !c)) {
        clg_free(g, w);
        clg_free(g, c);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory merging %s", lead->name);
    }
    /* transB: B_j is [N_j, K], stacked row blocks; else B_j is [K, N_j],
     * placed side by side in each row. */
    int64_t off = 0;
    for (int m = 0; m < n_members; m++) {
        const clg_node *n = &g->nodes[members[m]];
        const float *b = g->nodes[n->inputs[1]].constant->data;
        int64_t cols = columns(g, members[m]);
        if (trans_b) {
            memcpy(w + off * k, b, (size_t)(cols * k) * sizeof *w);
        } else {
            for (int64_t r = 0; r < k; r++) memcpy(w + r * total + off, b + r * cols, (size_t)cols * sizeof *w);
        }
        if (bias) memcpy(c + off, g->nodes[n->inputs[2]].constant->data, (size_t)cols * sizeof *c);
        off += cols;
    }
    clg_shape ws = trans_b ? (clg_shape){2, {total, k}} : (clg_shape){2, {k, total}};
    snprintf(hint, sizeof hint, "%s/merged_weight", lead->name);
    int wi = clg_edit_constant(g, hint, &ws, w, &st);
    clg_free(g, w);
    int ci = -1;
    if (wi >= 0 && bias) {
        clg_shape cs = {1, {total}};
        /* g->nodes may have moved with the weight's append: no lead here */
        snprintf(hint, sizeof hint, "%s/merged_bias", g->nodes[members[0]].name);
        ci = clg_edit_constant(g, hint, &cs, c, &st);
    }
    clg_free(g, c);
    if (wi < 0 || (bias && ci < 0)) return st;

    lead = &g->nodes[members[0]];
    clg_attrs attrs = lead->attrs;
    int in[3] = {lead->inputs[0], wi, ci};
    snprintf(hint, sizeof hint, "%s/merged", lead->name);
    int gi = clg_edit_append(g, lead->op, hint, in, bias ? 3 : 2, &attrs, NULL, NULL, &st);
    if (gi < 0) return st;
    off = 0;
    for (int m = 0; m < n_members; m++) {
        int64_t cols = columns(g, members[m]);
        clg_attrs sa;
        clg_attrs_default(CLG_OP_SLICE, &sa);
        sa.starts_rank = sa.ends_rank = sa.axes_rank = 1;
        sa.starts[0] = off;
        sa.ends[0] = off + cols;
        sa.axes[0] = -1;
        snprintf(hint, sizeof hint, "%s/slice", g->nodes[members[m]].name);
        int si = clg_edit_append(g, CLG_OP_SLICE, hint, &gi, 1, &sa, NULL, NULL, &st);
        if (si < 0) return st;
        clg_pass_replace(g, members[m], si);
        off += cols;
    }
    return CLG_OK;
}

clg_status clg_pass_merge_projections(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    for (int i = 0; i < sw.n0 && !st; i++) {
        if (!clg_sweep_fresh(&sw, i) || !candidate(g, i)) continue;
        int members[MAX_MEMBERS], n_members = 1;
        members[0] = i;
        for (int j = i + 1; j < sw.n0 && n_members < MAX_MEMBERS; j++)
            if (clg_sweep_fresh(&sw, j) && candidate(g, j) && compatible(g, i, j)) members[n_members++] = j;
        if (n_members < 2) continue;
        for (int m = 0; m < n_members; m++) clg_sweep_touch(&sw, members[m]);
        if (!(st = merge(g, members, n_members))) *changed = true;
    }
    clg_sweep_end(&sw);
    return st;
}
