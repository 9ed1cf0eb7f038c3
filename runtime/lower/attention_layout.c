/* Attention's operands read in place through strides.
 *
 * PyTorch's multi-head attention export computes Q, K and V with one fused
 * projection and then cuts the heads out of it: a Slice per operand, a
 * Reshape to [S, N*H, D] and a Transpose to [N*H, S, D] (K's to
 * [N*H, D, S]), and after attention a Transpose back to [S, N*H, D]. Each
 * Slice and Transpose is a copy launch (seven per layer). None is needed:
 * every element of those tensors is one element of the projection's output
 * at an offset that is a sum of index times stride, so the attention's
 * products can read them there (and write their result where the
 * Transpose after them would have put it).
 *
 * A layout is such a map: a list of atoms (size, stride), outermost first,
 * whose row-major index space is the tensor's, plus a start offset. Reshape
 * keeps the atoms and regroups them (splitting an atom where a dim boundary
 * falls inside it); Transpose permutes the dims' groups of atoms; a Slice
 * with a positive step narrows a dim that is one atom. A chain of these
 * between a computed value (the root) and an Attention input, each node
 * read only by the next, is absorbed: its Slices and Transposes are views
 * for the plan (memory_plan.c clg_value_is_view: no launch, no memory of
 * their own, the root kept alive up to the Attention), and the Attention's
 * lowering reads the root through the layout. A Transpose that alone reads
 * an Attention's output is a view of that output, which the Attention then
 * writes in the Transpose's layout. */
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "lower_util.h"

/* How many movement nodes a chain may hold. */
#define MAX_CHAIN 16

static bool is_movement(const clg_node *n)
{
    return clg_lower_is_alias(n->op) || n->op == CLG_OP_TRANSPOSE || n->op == CLG_OP_SLICE;
}

/* The one node that reads value v (and through which input slot), or -1
 * when none or several do, or v is a graph output. */
static int only_reader(const clg_graph *g, int v, int *slot)
{
    for (int o = 0; o < g->n_outputs; o++)
        if (g->outputs[o] == v) return -1;
    int reader = -1;
    for (int i = v + 1; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == v) {
                if (reader >= 0) return -1;
                reader = i;
                *slot = k;
            }
    return reader;
}

/* Splits l's atoms so that dim boundaries of s fall between atoms; first[d]
 * is then the index of dim d's first atom (first[rank] = the count). Dims
 * of 1 hold no atom. False when a boundary cannot fall between atoms (the
 * sizes do not divide) or there are too many. */
static bool align_to(clg_layout *l, const clg_shape *s, int first[CLG_MAX_RANK + 1])
{
    clg_layout out = {0, {0}, {0}, l->off};
    int64_t size[CLG_LAYOUT_ATOMS], st[CLG_LAYOUT_ATOMS]; /* innermost first */
    int n = 0, at = l->n - 1;
    int64_t left = at >= 0 ? l->size[at] : 1, stride = at >= 0 ? l->st[at] : 0;
    int ends[CLG_MAX_RANK];
    for (int d = s->rank - 1; d >= 0; d--) {
        int64_t need = s->dims[d];
        if (need <= 0) return false;
        while (need > 1) {
            if (at < 0 || n == CLG_LAYOUT_ATOMS) return false;
            int64_t take;
            if (left <= need) {
                if (need % left) return false;
                take = left;
            } else {
                if (left % need) return false;
                take = need;
            }
            size[n] = take, st[n] = stride, n++;
            need /= take;
            left /= take;
            stride *= take;
            if (left == 1 && --at >= 0) left = l->size[at], stride = l->st[at];
        }
        ends[d] = n;
    }
    /* atoms of 1 left over are fine; anything larger is not this shape */
    if (at >= 0 && left != 1) return false;
    for (int i = at - 1; i >= 0; i--)
        if (l->size[i] != 1) return false;
    out.n = n;
    for (int i = 0; i < n; i++) out.size[i] = size[n - 1 - i], out.st[i] = st[n - 1 - i];
    /* first[d] counts from the outside: dim d starts after the atoms of
     * the dims before it */
    int acc = 0;
    for (int d = 0; d < s->rank; d++) {
        int count = (d == s->rank - 1 ? ends[d] : ends[d] - ends[d + 1]);
        first[d] = acc;
        acc += count;
    }
    first[s->rank] = acc;
    *l = out;
    return true;
}

/* Merges neighbouring atoms that are one run (outer stride = inner size *
 * inner stride) within each dim of s (l aligned to s). */
static void merge_within(clg_layout *l, const clg_shape *s, int first[CLG_MAX_RANK + 1])
{
    clg_layout out = {0, {0}, {0}, l->off};
    int nf[CLG_MAX_RANK + 1];
    for (int d = 0; d < s->rank; d++) {
        nf[d] = out.n;
        for (int i = first[d]; i < first[d + 1]; i++) {
            if (out.n > nf[d] && out.st[out.n - 1] == l->size[i] * l->st[i]) {
                out.size[out.n - 1] *= l->size[i];
                out.st[out.n - 1] = l->st[i];
            } else {
                out.size[out.n] = l->size[i], out.st[out.n] = l->st[i], out.n++;
            }
        }
    }
    nf[s->rank] = out.n;
    memcpy(first, nf, sizeof nf);
    *l = out;
}

bool clg_layout_aligned(const clg_layout *l, const clg_shape *s, clg_layout *out, int first[CLG_MAX_RANK + 1])
{
    *out = *l;
    if (!align_to(out, s, first)) return false;
    merge_within(out, s, first);
    return true;
}

void clg_layout_dense(const clg_shape *s, clg_layout *l)
{
    int64_t count = clg_shape_count(s);
    l->off = 0;
    l->n = count > 1 ? 1 : 0;
    l->size[0] = count, l->st[0] = 1;
}

/* Applies movement node n (input shape xs, output shape ys) to l. */
static bool apply(const clg_graph *g, const clg_node *n, const clg_shape *xs, const clg_shape *ys, clg_layout *l)
{
    if (clg_lower_is_alias(n->op)) return clg_shape_count(xs) == clg_shape_count(ys);
    int first[CLG_MAX_RANK + 1];
    if (!align_to(l, xs, first)) return false;
    if (n->op == CLG_OP_TRANSPOSE) {
        const clg_attrs *a = &n->attrs;
        if (a->perm_rank != 0 && a->perm_rank != xs->rank) return false;
        clg_layout out = {0, {0}, {0}, l->off};
        for (int i = 0; i < xs->rank; i++) {
            int from = a->perm_rank ? (int)a->perm[i] : xs->rank - 1 - i;
            if (from < 0 || from >= xs->rank || ys->dims[i] != xs->dims[from]) return false;
            for (int j = first[from]; j < first[from + 1]; j++)
                out.size[out.n] = l->size[j], out.st[out.n] = l->st[j], out.n++;
        }
        *l = out;
        return true;
    }
    /* Slice: every narrowed dim must be one atom */
    const clg_attrs *a = &n->attrs;
    for (int i = 0; i < a->starts_rank; i++)
        if (clg_index_is_symbolic(a->starts[i])) return false;
    for (int i = 0; i < a->ends_rank; i++)
        if (clg_index_is_symbolic(a->ends[i])) return false;
    clg_slice_dims sd;
    int bad;
    if (clg_slice_resolve((clg_graph *)g, a, xs, &sd, &bad) || ys->rank != xs->rank) return false;
    merge_within(l, xs, first);
    for (int d = 0; d < xs->rank; d++) {
        if (sd.count[d] != ys->dims[d]) return false;
        if (sd.count[d] == xs->dims[d] && sd.first[d] == 0 && sd.step[d] == 1) continue;
        if (sd.step[d] < 1) return false;
        if (sd.count[d] == 0) return false;
        if (xs->dims[d] == 1) continue; /* the one element, kept */
        if (first[d + 1] - first[d] != 1) return false;
        int j = first[d];
        l->off += sd.first[d] * l->st[j];
        l->size[j] = sd.count[d];
        l->st[j] *= sd.step[d];
    }
    /* drop atoms narrowed to 1 */
    clg_layout out = {0, {0}, {0}, l->off};
    for (int j = 0; j < l->n; j++)
        if (l->size[j] != 1) out.size[out.n] = l->size[j], out.st[out.n] = l->st[j], out.n++;
    *l = out;
    return true;
}

bool clg_attention_operand(const clg_graph *g, int node, int slot, clg_shape_fn shape, const void *ctx,
                           int *root, clg_layout *l)
{
    int chain[MAX_CHAIN], n = 0;
    int v = g->nodes[node].inputs[slot];
    while (n < MAX_CHAIN && is_movement(&g->nodes[v])) {
        int s;
        if (only_reader(g, v, &s) < 0) break;
        chain[n++] = v;
        v = g->nodes[v].inputs[0];
    }
    *root = v;
    clg_layout_dense(shape(ctx, v), l);
    if (n == 0) return true;
    if (g->nodes[v].op == CLG_OP_CONSTANT) return false;
    for (int i = n - 1; i >= 0; i--) {
        const clg_node *c = &g->nodes[chain[i]];
        if (!apply(g, c, shape(ctx, c->inputs[0]), shape(ctx, chain[i]), l)) return false;
    }
    /* a copy can always take it: at most CLG_MAX_RANK atoms */
    clg_layout tmp;
    int first[CLG_MAX_RANK + 1];
    const clg_shape *xs = shape(ctx, g->nodes[node].inputs[slot]);
    return clg_layout_aligned(l, xs, &tmp, first) && tmp.n <= CLG_MAX_RANK;
}

bool clg_attention_absorbs(const clg_graph *g, int node, clg_shape_fn shape, const void *ctx)
{
    const clg_node *n = &g->nodes[node];
    if (n->op != CLG_OP_TRANSPOSE && n->op != CLG_OP_SLICE) return false;
    if (getenv("CLGRAPH_ATTENTION_COPIES")) return false;
    /* the Transpose that alone reads an Attention's output */
    int slot;
    if (n->op == CLG_OP_TRANSPOSE && g->nodes[n->inputs[0]].op == CLG_OP_ATTENTION &&
        only_reader(g, n->inputs[0], &slot) == node)
        return true;
    /* a link of a chain into an Attention's Q, KT or V */
    int v = node;
    for (int i = 0; i < MAX_CHAIN; i++) {
        int r = only_reader(g, v, &slot);
        if (r < 0) return false;
        const clg_node *rn = &g->nodes[r];
        if (rn->op == CLG_OP_ATTENTION) {
            if (slot > 2) return false;
            int root;
            clg_layout l;
            if (!clg_attention_operand(g, r, slot, shape, ctx, &root, &l)) return false;
            /* node must lie within the chain found from the Attention */
            for (int u = rn->inputs[slot]; u != root; u = g->nodes[u].inputs[0])
                if (u == node) return true;
            return false;
        }
        if (!is_movement(rn)) return false;
        v = r;
    }
    return false;
}

bool clg_attention_writes_through(const clg_graph *g, int node, clg_shape_fn shape, const void *ctx, int *transpose)
{
    int slot;
    int r = only_reader(g, node, &slot);
    if (r < 0 || g->nodes[r].op != CLG_OP_TRANSPOSE) return false;
    *transpose = r;
    return clg_attention_absorbs(g, r, shape, ctx);
}
