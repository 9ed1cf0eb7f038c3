/* clg_graph_dot: Graphviz text for a graph. One box per node with its name
 * and op (a fused Elementwise node also shows its expression), constants as
 * grey notes, graph outputs with a double border, and every edge labelled
 * with the shape that travels along it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

typedef struct dotbuf {
    clg_graph *g;
    char *s;
    size_t len, cap;
    bool oom;
} dotbuf;

static void put(dotbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(dotbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *p = clg_realloc(b->g, b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Text inside a double-quoted DOT string. */
static void put_escaped(dotbuf *b, const char *s)
{
    for (; *s; s++) put(b, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
}

clg_status clg_graph_dot(clg_graph *g, char **text, size_t *len)
{
    if (!g || !text) return CLG_ERR_INVALID_ARGUMENT;
    *text = NULL;
    dotbuf b = {g, NULL, 0, 0, false};
    put(&b, "digraph clgraph {\n");
    put(&b, "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    put(&b, "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    char shape[96];
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        put(&b, "  n%d [label=\"", i);
        put_escaped(&b, n->name);
        put(&b, "\\n%s", clg_op_name(n->op));
        if (n->op == CLG_OP_INPUT || n->op == CLG_OP_CONSTANT)
            put(&b, " %s", clg_shape_str(g, &n->shape, shape, sizeof shape));
        if (n->op == CLG_OP_ELEMENTWISE || clg_node_has_epilogue(n)) {
            put(&b, clg_node_has_epilogue(n) ? "\\nepilogue: " : "\\n");
            put_escaped(&b, n->attrs.expr);
        }
        put(&b, "\"");
        if (n->op == CLG_OP_INPUT) put(&b, ", shape=ellipse");
        if (n->op == CLG_OP_CONSTANT) put(&b, ", shape=note, style=filled, fillcolor=\"#eeeeee\"");
        if (n->op == CLG_OP_ELEMENTWISE || clg_node_has_epilogue(n))
            put(&b, ", style=filled, fillcolor=\"#ddeeff\"");
        if (clg_edit_is_output(g, i)) put(&b, ", peripheries=2");
        put(&b, "];\n");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            const clg_node *src = &g->nodes[n->inputs[k]];
            put(&b, "  n%d -> n%d [label=\"", n->inputs[k], i);
            /* A fused node's edges say which xK they are. */
            if (n->op == CLG_OP_ELEMENTWISE) put(&b, "x%d ", k);
            put(&b, "%s\"];\n", clg_shape_str(g, &src->shape, shape, sizeof shape));
        }
    }
    put(&b, "}\n");
    if (b.oom) {
        clg_free(g, b.s);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory writing the graph as DOT");
    }
    *text = b.s;
    if (len) *len = b.len;
    return CLG_OK;
}
