/* sink-transpose: a region of layout-blind ops between Transposes computes
 * in the layout before them instead, so the Transposes into it and the
 * inverse Transposes out of it cancel.
 *
 * tf2onnx writes a Keras model in NHWC with a Transpose into and out of
 * every Conv (ONNX's Conv is NCHW) and relies on its own optimiser to cancel
 * the pairs; when that gives up (Keras 3's MobileNetV3: its batch norms as
 * Mul/Add, hard-swish, squeeze-and-excitation through ReduceMean) each Conv
 * keeps both, 108 Transposes in MobileNetV3Small, each a launch and a pass
 * over memory, and the Mul/Add between a Conv and its Transpose cannot join
 * the Conv's epilogue. ONNX Runtime's transpose optimiser undoes them too.
 *
 * A region: the nodes connected (through inputs and users both ways) to a
 * Transpose T (perm p, rank R) that do not care about layout: elementwise
 * ops and Elementwise (other inputs constants or rank-R values), Pad,
 * reductions that keep their dims, Concat. Rewritten in T's input layout:
 * - its inputs: a Transpose of perm p gives its input (the "entries"); a
 *   constant becomes a new constant broadcast to rank R and permuted by p's
 *   inverse; any other value gets a Transpose by p's inverse, a cost;
 * - attributes: pads, reduction axes and Concat's axis mapped through p;
 * - its users outside it: a Transpose of perm q becomes one of perm p∘q,
 *   none when that is the identity (the "exits"); any other user, and a
 *   graph output, reads a new Transpose by p of the node, a cost.
 * The rewrite happens when the elements the region's Transposes copy go
 * down: what the removed entries and exits copied against what the added
 * Transposes will (a Transpose that keeps its non-unit dims in order copies
 * nothing; the runtime makes it a view), or stay the same with fewer
 * Transposes (views that kept a Relu away from the Conv before it). An
 * entry that something outside the region also reads stays, and counts as
 * not removed. Every rewrite lowers (copies, Transposes), so the rounds
 * end. */
#include <stdio.h>
#include <string.h>

#include "passes.h"

/* Inputs of a node this pass rewrites, at most (a Concat of more stays). */
#define MAX_IN 64

/* t's perm (perm=[] reverses the dims). */
static void perm_of(const clg_node *t, int rank, int perm[CLG_MAX_RANK])
{
    for (int k = 0; k < rank; k++) perm[k] = t->attrs.perm_rank ? (int)t->attrs.perm[k] : rank - 1 - k;
}

/* Elements a Transpose by perm of a tensor of shape in copies: 0 when its
 * non-unit dims keep their order; a symbolic dim counts 1. */
static int64_t copied(const clg_shape *in, const int perm[CLG_MAX_RANK])
{
    int last = -1;
    bool moves = false;
    for (int k = 0; k < in->rank; k++) {
        if (in->dims[perm[k]] == 1) continue;
        if (perm[k] < last) moves = true;
        last = perm[k];
    }
    if (!moves) return 0;
    int64_t count = 1;
    for (int k = 0; k < in->rank; k++)
        if (in->dims[k] > 0) count *= in->dims[k];
    return count;
}

/* A transpose of a non-constant rank-rank value to rank-rank. */
static bool is_transpose(const clg_graph *g, int i, int rank)
{
    const clg_node *n = &g->nodes[i];
    return n->op == CLG_OP_TRANSPOSE && n->shape.rank == rank && g->nodes[n->inputs[0]].shape.rank == rank &&
           !clg_pass_is_constant(g, n->inputs[0]);
}

static bool is_reduce(clg_op op) { return op >= CLG_OP_REDUCE_MEAN && op <= CLG_OP_REDUCE_LOG_SUM_EXP; }

/* Whether node i computes the same in any layout of its rank-rank inputs
 * (given the attribute mapping push_node makes). */
static bool layout_blind(const clg_graph *g, int i, int rank)
{
    const clg_node *n = &g->nodes[i];
    if (n->dead || clg_node_has_epilogue(n) || n->shape.rank != rank || n->n_inputs < 1 || n->n_inputs > MAX_IN)
        return false;
    bool concat = n->op == CLG_OP_CONCAT;
    if (n->op == CLG_OP_PAD) {
        if (n->n_inputs != 1 || n->attrs.pad_count != 2 * rank) return false;
    } else if (is_reduce(n->op)) {
        if (n->n_inputs != 1 || !n->attrs.keepdims) return false;
    } else if (!concat && !clg_pass_is_elementwise(n->op)) {
        return false;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        const clg_node *in = &g->nodes[n->inputs[k]];
        /* constants broadcast up to rank dims (numpy's rule); values and
         * Concat's inputs have them */
        if (clg_pass_is_constant(g, n->inputs[k]) ? in->shape.rank > rank || (concat && in->shape.rank != rank)
                                                  : in->shape.rank != rank)
            return false;
    }
    return true;
}

/* Users of each node, as lists in one array, for the graph as it was when
 * the round began: node i's users are list[start[i] .. start[i + 1]), a
 * node reading i through several inputs listed that many times in a row. */
typedef struct users {
    int *start, *list;
} users;

static void users_free(clg_graph *g, users *u)
{
    clg_free(g, u->start);
    clg_free(g, u->list);
}

static clg_status users_build(clg_graph *g, users *u)
{
    int n = g->n_nodes, total = 0;
    for (int i = 0; i < n; i++) total += g->nodes[i].dead ? 0 : g->nodes[i].n_inputs;
    u->start = clg_calloc(g, (size_t)n + 2, sizeof *u->start);
    u->list = clg_malloc(g, ((size_t)total + 1) * sizeof *u->list);
    int *fill = clg_calloc(g, (size_t)n + 1, sizeof *fill);
    if (!u->start || !u->list || !fill) {
        clg_free(g, fill);
        users_free(g, u);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in pass sink-transpose");
    }
    for (int i = 0; i < n; i++)
        if (!g->nodes[i].dead)
            for (int k = 0; k < g->nodes[i].n_inputs; k++) u->start[g->nodes[i].inputs[k] + 1]++;
    for (int i = 0; i < n; i++) u->start[i + 1] += u->start[i];
    for (int i = 0; i < n; i++)
        if (!g->nodes[i].dead)
            for (int k = 0; k < g->nodes[i].n_inputs; k++) {
                int s = g->nodes[i].inputs[k];
                u->list[u->start[s] + fill[s]++] = i;
            }
    clg_free(g, fill);
    return CLG_OK;
}

/* A region under construction. */
typedef struct region {
    int rank, perm[CLG_MAX_RANK], inv[CLG_MAX_RANK];
    char *in;    /* per node: 1 in the region */
    int *nodes;  /* the region's nodes, in the order found */
    int n;
    int64_t removed, added; /* elements copied by the Transposes that go, and come */
    int n_removed, n_added; /* those Transposes */
} region;

/* Grows r from its nodes (a breadth-first search through inputs and users);
 * false when the region cannot be rewritten (an entry Transpose of another
 * perm feeds it: left to a region of its own). */
static bool region_grow(clg_graph *g, const users *u, const char *busy, int n0, region *r)
{
    for (int at = 0; at < r->n; at++) {
        const clg_node *n = &g->nodes[r->nodes[at]];
        for (int k = 0; k < n->n_inputs; k++) {
            int in = n->inputs[k];
            /* a node this round appended: another region's rewrite */
            if (in >= n0) return false;
            if (r->in[in] || clg_pass_is_constant(g, in)) continue;
            if (busy[in]) return false;
            if (!is_transpose(g, in, r->rank) && layout_blind(g, in, r->rank)) {
                r->in[in] = 1;
                r->nodes[r->n++] = in;
            }
        }
        for (int j = u->start[r->nodes[at]]; j < u->start[r->nodes[at] + 1]; j++) {
            int user = u->list[j];
            if (r->in[user]) continue;
            if (busy[user]) return false;
            if (!is_transpose(g, user, r->rank) && layout_blind(g, user, r->rank)) {
                r->in[user] = 1;
                r->nodes[r->n++] = user;
            }
        }
    }
    return true;
}

/* The copies the rewrite would remove and add, into r->removed and
 * r->added; false when an entry is a Transpose of another perm or of a
 * node of the region. */
static bool region_cost(clg_graph *g, const users *u, int n0, region *r)
{
    r->removed = r->added = 0;
    r->n_removed = r->n_added = 0;
    for (int at = 0; at < r->n; at++) {
        int v = r->nodes[at];
        const clg_node *n = &g->nodes[v];
        /* entries */
        for (int k = 0; k < n->n_inputs; k++) {
            int in = n->inputs[k];
            if (r->in[in] || clg_pass_is_constant(g, in)) continue;
            bool first = true; /* count each input once */
            for (int j = 0; j < k; j++) first = first && n->inputs[j] != in;
            for (int a2 = 0; a2 < at && first; a2++)
                for (int j = 0; j < g->nodes[r->nodes[a2]].n_inputs; j++) first = first && g->nodes[r->nodes[a2]].inputs[j] != in;
            if (!first) continue;
            const clg_node *e = &g->nodes[in];
            if (is_transpose(g, in, r->rank)) {
                int p[CLG_MAX_RANK];
                /* a Transpose from the region back into it (ConvNeXt's
                 * permutes around its LayerNorm): left alone */
                if (e->inputs[0] >= n0 || r->in[e->inputs[0]]) return false;
                perm_of(e, r->rank, p);
                if (memcmp(p, r->perm, sizeof p[0] * (size_t)r->rank) != 0) return false;
                bool only_region = !clg_edit_is_output(g, in);
                for (int j = u->start[in]; j < u->start[in + 1]; j++) only_region = only_region && r->in[u->list[j]];
                if (only_region) {
                    r->removed += copied(&g->nodes[e->inputs[0]].shape, p);
                    r->n_removed++;
                }
            } else {
                r->added += copied(&e->shape, r->inv);
                r->n_added++;
            }
        }
        /* exits */
        bool needs_transpose = clg_edit_is_output(g, v);
        for (int j = u->start[v]; j < u->start[v + 1]; j++) {
            int user = u->list[j];
            if (r->in[user] || (j > u->start[v] && u->list[j - 1] == user)) continue;
            if (is_transpose(g, user, r->rank)) {
                int q[CLG_MAX_RANK], c[CLG_MAX_RANK];
                perm_of(&g->nodes[user], r->rank, q);
                for (int k = 0; k < r->rank; k++) c[k] = r->perm[q[k]];
                /* the user's copy goes, the composed one comes */
                clg_shape before = n->shape, after;
                after.rank = r->rank;
                for (int k = 0; k < r->rank; k++) after.dims[r->perm[k]] = before.dims[k];
                bool identity = true;
                for (int k = 0; k < r->rank; k++) identity = identity && c[k] == k;
                r->removed += copied(&before, q);
                r->n_removed++;
                if (!identity) {
                    r->added += copied(&after, c);
                    r->n_added++;
                }
            } else {
                needs_transpose = true;
            }
        }
        if (needs_transpose) {
            clg_shape after;
            after.rank = r->rank;
            for (int k = 0; k < r->rank; k++) after.dims[r->perm[k]] = n->shape.dims[k];
            r->added += copied(&after, r->perm);
            r->n_added++;
        }
    }
    return true;
}

/* A new constant: constant c broadcast to rank dims (leading 1s), then
 * transposed by perm's inverse, so that a Transpose by perm gives c. */
static int permuted_constant(clg_graph *g, int c, int rank, const int perm[CLG_MAX_RANK], clg_status *st)
{
    const clg_node *cn = &g->nodes[c];
    clg_shape src = {rank, {0}}, dst = {rank, {0}};
    int pad = rank - cn->shape.rank;
    for (int k = 0; k < rank; k++) src.dims[k] = k < pad ? 1 : cn->shape.dims[k - pad];
    for (int k = 0; k < rank; k++) dst.dims[perm[k]] = src.dims[k]; /* dst dim perm[k] is src dim k */
    int64_t count = clg_shape_count(&src);
    float *data = clg_malloc(g, (size_t)(count > 0 ? count : 1) * sizeof *data);
    if (!data) {
        *st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory permuting constant %s", cn->name);
        return -1;
    }
    int64_t dst_stride[CLG_MAX_RANK], step[CLG_MAX_RANK], idx[CLG_MAX_RANK] = {0}, s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        dst_stride[k] = s;
        s *= dst.dims[k];
    }
    for (int k = 0; k < rank; k++) step[k] = dst_stride[perm[k]];
    const float *from = cn->constant->data;
    for (int64_t i = 0; i < count; i++) {
        int64_t at = 0;
        for (int k = 0; k < rank; k++) at += idx[k] * step[k];
        data[at] = from[i];
        for (int k = rank - 1; k >= 0 && ++idx[k] == src.dims[k]; k--) idx[k] = 0;
    }
    char hint[256];
    snprintf(hint, sizeof hint, "%s/permuted", cn->name);
    clg_dtype dtype = cn->dtype;
    int i = clg_edit_constant(g, hint, &dst, data, st);
    if (i >= 0) g->nodes[i].dtype = dtype;
    clg_free(g, data);
    return i;
}

static int append_transpose(clg_graph *g, int x, const int perm[CLG_MAX_RANK], int rank, const char *hint,
                            clg_status *st)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_TRANSPOSE, &a);
    a.perm_rank = rank;
    for (int k = 0; k < rank; k++) a.perm[k] = perm[k];
    int in[1] = {x};
    return clg_edit_append(g, CLG_OP_TRANSPOSE, hint, in, 1, &a, NULL, NULL, st);
}

/* Rewrites region r (its nodes in index order: topological, the graph being
 * compact when the round began with n0 nodes); fresh[v] the new node of
 * region node v, entry[x] the Transpose into the region of value x. */
static clg_status region_rewrite(clg_graph *g, const users *u, region *r, int n0, int *fresh, int *entry)
{
    clg_status st = CLG_OK;
    char hint[300];
    for (int v = 0; v < n0; v++) entry[v] = -1;
    for (int v = 0; v < n0; v++) {
        if (!r->in[v]) continue;
        int inputs[MAX_IN], n_inputs = g->nodes[v].n_inputs;
        for (int k = 0; k < n_inputs; k++) {
            int in = g->nodes[v].inputs[k];
            if (r->in[in]) {
                inputs[k] = fresh[in];
            } else if (clg_pass_is_constant(g, in)) {
                if ((inputs[k] = permuted_constant(g, in, r->rank, r->perm, &st)) < 0) return st;
            } else if (is_transpose(g, in, r->rank)) {
                inputs[k] = g->nodes[in].inputs[0]; /* of perm p: region_cost checked */
            } else {
                if (entry[in] < 0) {
                    snprintf(hint, sizeof hint, "%s/to_layout", g->nodes[in].name);
                    if ((entry[in] = append_transpose(g, in, r->inv, r->rank, hint, &st)) < 0) return st;
                }
                inputs[k] = entry[in];
            }
        }
        clg_attrs a = g->nodes[v].attrs;
        const clg_attrs *old = &g->nodes[v].attrs;
        clg_op op = g->nodes[v].op;
        if (op == CLG_OP_PAD) {
            for (int k = 0; k < r->rank; k++) {
                a.pad_amounts[r->perm[k]] = old->pad_amounts[k];
                a.pad_amounts[r->rank + r->perm[k]] = old->pad_amounts[r->rank + k];
            }
        } else if (is_reduce(op)) {
            for (int k = 0; k < a.axes_rank; k++) a.axes[k] = r->perm[old->axes[k] < 0 ? old->axes[k] + r->rank : old->axes[k]];
        } else if (op == CLG_OP_CONCAT) {
            a.axis = r->perm[old->axis < 0 ? old->axis + r->rank : old->axis];
        }
        clg_dtype dtype = g->nodes[v].dtype;
        snprintf(hint, sizeof hint, "%s/in_layout", g->nodes[v].name);
        if ((fresh[v] = clg_edit_append(g, op, hint, inputs, n_inputs, &a, NULL, NULL, &st)) < 0) return st;
        g->nodes[fresh[v]].dtype = dtype;
    }
    /* exits, then the old nodes go */
    for (int v = 0; v < n0; v++) {
        if (!r->in[v]) continue;
        for (int j = u->start[v]; j < u->start[v + 1]; j++) {
            int user = u->list[j];
            if (r->in[user] || g->nodes[user].dead || !is_transpose(g, user, r->rank)) continue;
            int q[CLG_MAX_RANK], c[CLG_MAX_RANK];
            bool identity = true;
            perm_of(&g->nodes[user], r->rank, q);
            for (int k = 0; k < r->rank; k++) {
                c[k] = r->perm[q[k]];
                identity = identity && c[k] == k;
            }
            bool output = clg_edit_is_output(g, user);
            if (identity && (!output || !clg_edit_is_output(g, fresh[v]))) {
                /* a graph output keeps its name: the new node takes it */
                clg_edit_replace_uses(g, user, fresh[v]);
                if (output) clg_edit_swap_names(g, user, fresh[v]);
                g->nodes[user].dead = true;
            } else {
                snprintf(hint, sizeof hint, "%s", g->nodes[user].name);
                int t = append_transpose(g, fresh[v], c, r->rank, hint, &st);
                if (t < 0) return st;
                clg_pass_replace(g, user, t);
            }
        }
        /* what still reads v (users outside the region, graph outputs)
         * reads it back in its old layout */
        bool read = clg_edit_is_output(g, v);
        for (int j = u->start[v]; j < u->start[v + 1] && !read; j++) read = !r->in[u->list[j]] && !g->nodes[u->list[j]].dead;
        if (read) {
            snprintf(hint, sizeof hint, "%s/back", g->nodes[v].name);
            int t = append_transpose(g, fresh[v], r->perm, r->rank, hint, &st);
            if (t < 0) return st;
            clg_pass_replace(g, v, t);
        } else {
            g->nodes[v].dead = true;
        }
    }
    /* entry Transposes that only the region read go now, not at the last
     * dce: the passes between count readers (an epilogue joins a Conv that
     * one node reads) */
    for (int v = 0; v < n0; v++) {
        if (!r->in[v]) continue;
        for (int k = 0; k < g->nodes[v].n_inputs; k++) {
            int in = g->nodes[v].inputs[k];
            /* (a node appended above: a Transpose back out of the region,
             * which the dead region nodes still read) */
            if (in >= n0 || r->in[in] || g->nodes[in].dead || !is_transpose(g, in, r->rank) ||
                clg_edit_is_output(g, in))
                continue;
            /* every live reader, not only those of the round's lists: a
             * node an earlier region appended may read it */
            bool read = false;
            for (int j = 0; j < g->n_nodes && !read; j++) {
                if (g->nodes[j].dead) continue;
                for (int q = 0; q < g->nodes[j].n_inputs; q++) read = read || g->nodes[j].inputs[q] == in;
            }
            if (!read) g->nodes[in].dead = true;
        }
    }
    return CLG_OK;
}

clg_status clg_pass_sink_transpose(clg_graph *g, bool *changed)
{
    int n0 = g->n_nodes;
    users u = {NULL, NULL};
    clg_status st = users_build(g, &u);
    if (st) return st;
    region r;
    memset(&r, 0, sizeof r);
    char *busy = clg_calloc(g, (size_t)n0 + 1, 1);
    r.in = clg_calloc(g, (size_t)n0 + 1, 1);
    r.nodes = clg_malloc(g, ((size_t)n0 + 1) * sizeof *r.nodes);
    int *fresh = clg_malloc(g, ((size_t)n0 + 1) * sizeof *fresh);
    int *entry = clg_malloc(g, ((size_t)n0 + 1) * sizeof *entry);
    if (!busy || !r.in || !r.nodes || !fresh || !entry) {
        st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in pass sink-transpose");
        goto done;
    }
    for (int t = 0; t < n0 && !st; t++) {
        const clg_node *tn = &g->nodes[t];
        if (t >= n0 || busy[t] || tn->dead || !is_transpose(g, t, tn->shape.rank)) continue;
        r.rank = tn->shape.rank;
        perm_of(tn, r.rank, r.perm);
        for (int k = 0; k < r.rank; k++) r.inv[r.perm[k]] = k;
        /* the region: the layout-blind users of t and what connects to them */
        memset(r.in, 0, (size_t)n0);
        r.n = 0;
        for (int j = u.start[t]; j < u.start[t + 1]; j++) {
            int user = u.list[j];
            if (!r.in[user] && !busy[user] && !is_transpose(g, user, r.rank) && layout_blind(g, user, r.rank)) {
                r.in[user] = 1;
                r.nodes[r.n++] = user;
            }
        }
        if (r.n == 0 || !region_grow(g, &u, busy, n0, &r) || !region_cost(g, &u, n0, &r)) continue;
        /* fewer elements copied, or as many (none: views) by fewer
         * Transposes, which leaves the region's ops next to the
         * convolutions whose epilogues can take them */
        if (!(r.removed > r.added || (r.removed == r.added && r.n_removed > r.n_added))) continue;
        /* the nodes the rewrite involves are left alone by later regions
         * of this round: the region, its entries and its exits */
        for (int at = 0; at < r.n; at++) {
            int v = r.nodes[at];
            busy[v] = 1;
            for (int k = 0; k < g->nodes[v].n_inputs; k++) {
                int in = g->nodes[v].inputs[k];
                busy[in] = 1;
                /* an entry's input: the new nodes read it, which the
                 * round's reader lists do not know */
                if (g->nodes[in].op == CLG_OP_TRANSPOSE && g->nodes[in].inputs[0] < n0) busy[g->nodes[in].inputs[0]] = 1;
            }
            for (int j = u.start[v]; j < u.start[v + 1]; j++) busy[u.list[j]] = 1;
        }
        st = region_rewrite(g, &u, &r, n0, fresh, entry);
        *changed = true;
    }
done:
    clg_free(g, busy);
    clg_free(g, r.in);
    clg_free(g, r.nodes);
    clg_free(g, fresh);
    clg_free(g, entry);
    users_free(g, &u);
    return st;
}
