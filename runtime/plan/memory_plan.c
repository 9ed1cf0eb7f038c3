/* Memory planning by liveness: where in the one activation arena each value
 * and each scratch request lives.
 *
 * A value's storage belongs to its root: the node that computed it, after
 * looking through views (Flatten, Reshape, Identity reinterpret their
 * input's memory, and so does a Transpose that moves only dims of 1 at the
 * plan's sizes: clg_value_is_view). A root lives from its node to the last
 * node that reads it or any view of it; graph inputs and outputs are pinned
 * (inputs are written before the first step, outputs read after the last). Walking the
 * nodes in order, each root takes a block when it is computed and gives it
 * back after its last reader, as ggml-alloc does: best fit among the free
 * blocks, else the end of the arena. A node's scratch takes blocks after its
 * output and gives them back right after the node. An elementwise node may
 * instead take over the block of an input that dies at that node. */
#include <string.h>

#include "plan.h"

/* Every block starts on a 64-float (256-byte) boundary: aligned for vector
 * loads on every device, and what CLBlast's fast paths prefer. */
#define ALIGN_ELEMS 64

#define FOREVER INT32_MAX /* the last use of a pinned root */

static size_t align_up(size_t x) { return (x + ALIGN_ELEMS - 1) / ALIGN_ELEMS * ALIGN_ELEMS; }

/* ---------------------------------------------------------------- free blocks */

typedef struct block {
    size_t off, size;
} block;

/* Free ranges of the arena, sorted by offset and never adjacent (frees
 * merge). Everything from `end` on is free too: the arena grows there. */
typedef struct allocator {
    const clg_allocator *mem;
    block *free;
    int n_free, cap_free;
    size_t end;  /* first element past every block in use or free */
    size_t high; /* the most the arena has needed */
} allocator;

static size_t take(allocator *a, size_t size)
{
    int best = -1;
    for (int i = 0; i < a->n_free; i++)
        if (a->free[i].size >= size && (best < 0 || a->free[i].size < a->free[best].size)) best = i;
    if (best >= 0) {
        size_t off = a->free[best].off;
        a->free[best].off += size;
        a->free[best].size -= size;
        if (a->free[best].size == 0) {
            memmove(&a->free[best], &a->free[best + 1], (size_t)(a->n_free - best - 1) * sizeof *a->free);
            a->n_free--;
        }
        return off;
    }
    /* No free block fits: grow the arena, starting inside the last free
     * block when it ends where the arena ends. */
    size_t off = a->end;
    if (a->n_free > 0 && a->free[a->n_free - 1].off + a->free[a->n_free - 1].size == a->end)
        off = a->free[--a->n_free].off;
    a->end = off + size;
    if (a->end > a->high) a->high = a->end;
    return off;
}

static bool give_back(allocator *a, size_t off, size_t size)
{
    if (size == 0) return true;
    int i = 0;
    while (i < a->n_free && a->free[i].off < off) i++;
    bool join_prev = i > 0 && a->free[i - 1].off + a->free[i - 1].size == off;
    bool join_next = i < a->n_free && off + size == a->free[i].off;
    if (join_prev && join_next) {
        a->free[i - 1].size += size + a->free[i].size;
        memmove(&a->free[i], &a->free[i + 1], (size_t)(a->n_free - i - 1) * sizeof *a->free);
        a->n_free--;
    } else if (join_prev) {
        a->free[i - 1].size += size;
    } else if (join_next) {
        a->free[i].off = off;
        a->free[i].size += size;
    } else {
        if (a->n_free == a->cap_free) {
            int cap = a->cap_free ? a->cap_free * 2 : 16;
            block *b = clg_mem_realloc(a->mem, a->free, (size_t)cap * sizeof *b);
            if (!b) return false;
            a->free = b;
            a->cap_free = cap;
        }
        memmove(&a->free[i + 1], &a->free[i], (size_t)(a->n_free - i) * sizeof *a->free);
        a->free[i] = (block){off, size};
        a->n_free++;
    }
    /* A free block at the end of the arena is just more room to grow. */
    if (a->n_free > 0 && a->free[a->n_free - 1].off + a->free[a->n_free - 1].size == a->end) {
        a->end = a->free[a->n_free - 1].off;
        a->n_free--;
    }
    return true;
}

/* ---------------------------------------------------------------- liveness */

/* A Transpose that moves only dims of 1 (batch 1 of PyTorch's
 * [N, S, E] <-> [S, N, E] around attention) keeps every element where it
 * is: the dims of more than 1 stay in their order. */
static bool transpose_keeps_layout(const clg_node *n, const clg_shape *xs)
{
    if (n->attrs.perm_rank != 0 && n->attrs.perm_rank != xs->rank) return false;
    int64_t prev = -1;
    for (int i = 0; i < xs->rank; i++) {
        int64_t from = n->attrs.perm_rank ? n->attrs.perm[i] : xs->rank - 1 - i;
        if (from < 0 || from >= xs->rank) return false;
        if (xs->dims[from] == 1) continue;
        if (from < prev) return false;
        prev = from;
    }
    return true;
}

static const clg_shape *shape_at(const void *shapes, int node) { return &((const clg_shape *)shapes)[node]; }

bool clg_value_is_view(const clg_graph *g, int node, const clg_shape *shapes)
{
    const clg_node *n = &g->nodes[node];
    if (n->n_inputs == 0) return false;
    if (clg_lower_is_alias(n->op)) return true;
    if (!shapes || (n->op != CLG_OP_TRANSPOSE && n->op != CLG_OP_SLICE)) return false;
    if (n->op == CLG_OP_TRANSPOSE && transpose_keeps_layout(n, &shapes[n->inputs[0]])) return true;
    return clg_attention_absorbs(g, node, shape_at, shapes);
}

int clg_value_root(const clg_graph *g, int node, const clg_shape *shapes)
{
    while (g->nodes[node].n_inputs > 0 && clg_value_is_view(g, node, shapes)) node = g->nodes[node].inputs[0];
    return node;
}

bool clg_value_in_arena(const clg_graph *g, int node)
{
    return g->nodes[clg_value_root(g, node, NULL)].op != CLG_OP_CONSTANT;
}

/* Whether node n's kernel stays correct when its output is the memory of
 * its input k (same shape): every work-item reads the elements it writes
 * before writing them, and no other work-item reads them. The op table
 * says which inputs (in_place): every input of an elementwise op (the
 * generated kernel reads every input, then writes y[i]; an input of the
 * output's shape is read at i), x of BatchNorm, Softmax's input (one
 * work-item per row). Not pools, Transpose, Concat, Conv2D, Gemm or
 * MatMul: they read elements other work-items write (or CLBlast's tiles
 * do). */
static bool in_place_ok(const clg_node *n, int k)
{
    return k >= 0 && k < 32 && (clg_op_get(n->op)->in_place >> k & 1u);
}

/* The input root node i may write over, or -1: one that in_place_ok allows,
 * with the output's element count, dying at i, not pinned, whose block is
 * as large as the output's; any other input reading the same memory must be
 * read at the same index (same element count, so not broadcast) and be an
 * input the kernel reads elementwise. */
static int in_place_root(const clg_graph *g, int i, const clg_shape *shapes, const int *root,
                         const int *last, const size_t *size, size_t out_size)
{
    const clg_node *n = &g->nodes[i];
    int64_t count = clg_shape_count(&shapes[i]);
    for (int k = 0; k < n->n_inputs; k++) {
        int r = root[n->inputs[k]];
        if (!in_place_ok(n, k) || last[r] != i || size[r] != out_size ||
            clg_shape_count(&shapes[n->inputs[k]]) != count || !clg_value_in_arena(g, r))
            continue;
        bool ok = true;
        for (int j = 0; j < n->n_inputs && ok; j++)
            if (j != k && root[n->inputs[j]] == r)
                ok = in_place_ok(n, j) && clg_shape_count(&shapes[n->inputs[j]]) == count;
        if (ok) return r;
    }
    return -1;
}

clg_status clg_plan_memory(const clg_allocator *mem, const clg_graph *g, const clg_shape *shapes,
                           clg_scratch_request *scratch, int n_scratch, size_t *off,
                           size_t *arena_elems)
{
    int n = g->n_nodes;
    allocator a = {mem, NULL, 0, 0, 0, 0};
    int *root = clg_mem_calloc(mem, (size_t)n + 1, sizeof *root);
    int *last = clg_mem_calloc(mem, (size_t)n + 1, sizeof *last);
    size_t *size = clg_mem_calloc(mem, (size_t)n + 1, sizeof *size);
    bool *freed = clg_mem_calloc(mem, (size_t)n + 1, sizeof *freed);
    clg_status s = CLG_OK;
    if (!root || !last || !size || !freed) {
        s = CLG_ERR_OUT_OF_MEMORY;
        goto done;
    }

    /* Roots, block sizes and last uses. An unread root dies at its own
     * node; views extend their root's life to their own readers. */
    for (int i = 0; i < n; i++) {
        const clg_node *nd = &g->nodes[i];
        bool view = clg_value_is_view(g, i, shapes);
        root[i] = view ? root[nd->inputs[0]] : i;
        last[i] = i;
        if (root[i] == i && clg_value_in_arena(g, i))
            size[i] = align_up((size_t)clg_shape_count(&shapes[i]));
        for (int k = 0; k < nd->n_inputs; k++) {
            int r = root[nd->inputs[k]];
            if (last[r] < i) last[r] = i;
        }
        if (last[root[i]] < i) last[root[i]] = i;
        if (nd->op == CLG_OP_INPUT) last[i] = FOREVER;
    }
    for (int o = 0; o < g->n_outputs; o++) last[root[g->outputs[o]]] = FOREVER;

    /* Inputs first: they are written before any step runs, so no block
     * used by an earlier node may hold them. */
    for (int i = 0; i < n; i++) {
        off[i] = 0;
        if (g->nodes[i].op == CLG_OP_INPUT) off[i] = take(&a, size[i]);
    }

    int next_scratch = 0;
    for (int i = 0; i < n; i++) {
        const clg_node *nd = &g->nodes[i];
        if (nd->op != CLG_OP_INPUT && root[i] == i && clg_value_in_arena(g, i)) {
            int r = in_place_root(g, i, shapes, root, last, size, size[i]);
            if (r >= 0) {
                off[i] = off[r];
                freed[r] = true; /* the block is now node i's */
            } else {
                off[i] = take(&a, size[i]);
            }
        } else if (root[i] != i) {
            off[i] = off[root[i]];
        }
        /* Scratch: after the output, so neither overlaps the other or a
         * live input; back right after the node. */
        int first = next_scratch;
        for (; next_scratch < n_scratch && scratch[next_scratch].node == i; next_scratch++)
            scratch[next_scratch].off = take(&a, align_up(scratch[next_scratch].elems));
        for (int k = first; k < next_scratch; k++)
            if (!give_back(&a, scratch[k].off, align_up(scratch[k].elems))) {
                s = CLG_ERR_OUT_OF_MEMORY;
                goto done;
            }
        /* Roots whose last reader is this node. */
        for (int k = -1; k < nd->n_inputs; k++) {
            int r = root[k < 0 ? i : nd->inputs[k]];
            if (last[r] != i || freed[r] || size[r] == 0) continue;
            freed[r] = true;
            if (!give_back(&a, off[r], size[r])) {
                s = CLG_ERR_OUT_OF_MEMORY;
                goto done;
            }
        }
    }
    if (next_scratch != n_scratch) s = CLG_ERR_INTERNAL; /* requests out of node order */
    *arena_elems = a.high;
done:
    clg_mem_free(mem, a.free);
    clg_mem_free(mem, root);
    clg_mem_free(mem, last);
    clg_mem_free(mem, size);
    clg_mem_free(mem, freed);
    return s;
}
