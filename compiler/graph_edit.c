/* Editing a graph from a pass: append, rewire, rename, kill, then compact
 * back into a flat topologically ordered array. */
#include <stdio.h>
#include <string.h>

#include "name_map.h"

static const char *node_name(const void *g, int i) { return ((const clg_graph *)g)->nodes[i].name; }

int clg_edit_append(clg_graph *g, clg_op op, const char *hint, const int *inputs, int n_inputs,
                    const clg_attrs *attrs, const clg_shape *shape, clg_const *constant,
                    clg_status *status)
{
    char name[256];
    snprintf(name, sizeof name, "%s", hint);
    for (int k = 1; clg_find_value(g, name) >= 0; k++) snprintf(name, sizeof name, "%s.%d", hint, k);
    clg_status s = clg_graph_append(g, op, name, 0, inputs, n_inputs, attrs, shape, constant);
    if (status) *status = s;
    return s ? -1 : g->n_nodes - 1;
}

int clg_edit_constant(clg_graph *g, const char *hint, const clg_shape *shape, const float *data,
                      clg_status *status)
{
    int64_t count = clg_shape_count(shape);
    clg_const *c = count >= 0 ? clg_const_new(g, (size_t)count) : NULL;
    if (!c) {
        *status = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory making constant %s", hint);
        return -1;
    }
    memcpy(c->data, data, (size_t)count * sizeof *data);
    c->init.kind = CLG_INIT_LIST;
    clg_const_simplify_init(c);
    int i = clg_edit_append(g, CLG_OP_CONSTANT, hint, NULL, 0, NULL, shape, c, status);
    if (i < 0) clg_const_release(g, c);
    return i;
}

void clg_edit_replace_uses(clg_graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++) {
        clg_node *n = &g->nodes[i];
        if (n->dead || i == to) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == from) n->inputs[k] = to;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == from) g->outputs[k] = to;
}

void clg_edit_swap_names(clg_graph *g, int a, int b)
{
    int sa = clg_name_map_slot(&g->names, g->nodes[a].name, node_name, g);
    int sb = clg_name_map_slot(&g->names, g->nodes[b].name, node_name, g);
    char *t = g->nodes[a].name;
    g->nodes[a].name = g->nodes[b].name;
    g->nodes[b].name = t;
    if (sa >= 0) g->names.slots[sa] = b + 1;
    if (sb >= 0) g->names.slots[sb] = a + 1;
}

clg_status clg_edit_use_counts(clg_graph *g, int *counts)
{
    memset(counts, 0, (size_t)g->n_nodes * sizeof *counts);
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) counts[n->inputs[k]]++;
    }
    for (int k = 0; k < g->n_outputs; k++) counts[g->outputs[k]]++;
    return CLG_OK;
}

bool clg_edit_is_output(const clg_graph *g, int node)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == node) return true;
    return false;
}

clg_status clg_graph_compact(clg_graph *g)
{
    int n = g->n_nodes;
    clg_status s = CLG_OK;
    int *order = clg_malloc(g, ((size_t)n + 1) * sizeof *order);
    int *new_index = clg_malloc(g, ((size_t)n + 1) * sizeof *new_index);
    int *stack = clg_malloc(g, ((size_t)n + 1) * sizeof *stack);
    int *next = clg_calloc(g, (size_t)n + 1, sizeof *next);
    char *state = clg_calloc(g, (size_t)n + 1, 1);
    clg_node *nodes = clg_malloc(g, ((size_t)n + 1) * sizeof *nodes);
    if (!order || !new_index || !stack || !next || !state || !nodes) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory compacting the graph");
        goto done;
    }
    /* Depth-first over live nodes in their current order: already ordered
     * nodes keep their order, appended ones move before their consumers. */
    int n_order = 0;
    for (int root = 0; root < n; root++) {
        if (g->nodes[root].dead || state[root]) continue;
        int top = 0;
        stack[top++] = root;
        state[root] = 1;
        while (top > 0) {
            int cur = stack[top - 1];
            const clg_node *nd = &g->nodes[cur];
            if (next[cur] < nd->n_inputs) {
                int dep = nd->inputs[next[cur]++];
                if (!state[dep]) {
                    state[dep] = 1;
                    stack[top++] = dep;
                }
            } else {
                state[cur] = 2;
                order[n_order++] = cur;
                top--;
            }
        }
    }
    for (int i = 0; i < n; i++) new_index[i] = -1;
    for (int k = 0; k < n_order; k++) new_index[order[k]] = k;
    for (int k = 0; k < n_order; k++) {
        nodes[k] = g->nodes[order[k]];
        for (int j = 0; j < nodes[k].n_inputs; j++) nodes[k].inputs[j] = new_index[nodes[k].inputs[j]];
    }
    for (int i = 0; i < n; i++) {
        if (new_index[i] >= 0) continue;
        clg_node *d = &g->nodes[i];
        clg_free(g, d->name);
        clg_free(g, d->inputs);
        clg_const_release(g, d->constant);
    }
    for (int k = 0; k < g->n_outputs; k++) g->outputs[k] = new_index[g->outputs[k]];
    memcpy(g->nodes, nodes, (size_t)n_order * sizeof *nodes);
    g->n_nodes = n_order;
    clg_name_map_free(g, &g->names);
    for (int i = 0; i < g->n_nodes && !s; i++)
        if (!clg_name_map_insert(g, &g->names, i, node_name, g))
            s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory compacting the graph");
done:
    clg_free(g, order);
    clg_free(g, new_index);
    clg_free(g, stack);
    clg_free(g, next);
    clg_free(g, state);
    clg_free(g, nodes);
    return s;
}

clg_status clg_graph_copy(const clg_graph *src, clg_graph *g)
{
    clg_status s = CLG_OK;
    /* Constant data is shared only between graphs with one allocator: the
     * last graph to let go frees it with its own. */
    bool share = src->allocator.fn == g->allocator.fn && src->allocator.user == g->allocator.user;
    /* The table first: the nodes' shapes name its entries. */
    if (clg_dim_table_copy(g, src)) {
        clg_dim_table_free(g);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory copying the graph");
    }
    for (int i = 0; i < src->n_nodes && !s; i++) {
        const clg_node *n = &src->nodes[i];
        if (n->dead) {
            s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "copying a graph that is not compact");
            break;
        }
        clg_const *c = n->constant;
        if (c && share) {
            c->refs++;
        } else if (c) {
            clg_const *copy = clg_const_new(g, c->count);
            if (!copy) {
                s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory copying the graph");
                break;
            }
            memcpy(copy->data, c->data, c->count * sizeof *c->data);
            copy->init = c->init;
            c = copy;
        }
        if (n->op == CLG_OP_INPUT || n->op == CLG_OP_CONSTANT)
            s = clg_graph_append_value(g, n->op, n->name, n->line, &n->shape, c, n->dtype);
        else
            s = clg_graph_append(g, n->op, n->name, n->line, n->inputs, n->n_inputs, &n->attrs, &n->shape, c);
        if (s) clg_const_release(g, c);
    }
    for (int k = 0; k < src->n_outputs && !s; k++) {
        if (!clg_grow(g, (void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof *g->outputs))
            s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory copying the graph");
        else
            g->outputs[g->n_outputs++] = src->outputs[k];
    }
    if (!s && src->weights_path && !(g->weights_path = clg_strdup(g, src->weights_path)))
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory copying the graph");
    if (s) clg_graph_clear(g);
    return s;
}

void clg_graph_swap_contents(clg_graph *a, clg_graph *b)
{
#define SWAP(field)                                                                                \
    do {                                                                                           \
        __typeof__(a->field) t_ = a->field;                                                        \
        a->field = b->field;                                                                       \
        b->field = t_;                                                                             \
    } while (0)
    SWAP(nodes);
    SWAP(n_nodes);
    SWAP(cap_nodes);
    SWAP(outputs);
    SWAP(n_outputs);
    SWAP(cap_outputs);
    SWAP(weights_path);
    SWAP(names);
    SWAP(dims);
#undef SWAP
}

clg_status clg_graph_clone(const clg_graph *g, clg_graph **out)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    clg_graph *copy = NULL;
    clg_status s = clg_graph_create(&copy, g->allocator.fn, g->allocator.user);
    if (s) return s;
    if ((s = clg_graph_copy(g, copy))) {
        clg_graph_destroy(copy);
        return s;
    }
    *out = copy;
    return CLG_OK;
}
