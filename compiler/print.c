/* The canonical text form of a graph: one statement per line, attributes
 * that differ from their defaults in op-table order, floats in the shortest
 * form that reads back to the same bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "print.h"

typedef struct strbuf {
    clg_graph *g;
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = true; return; }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *p = clg_realloc(b->g, b->s, cap);
        if (!p) { b->oom = true; return; }
        b->s = p;
        b->cap = cap;
    }
}

/* Shortest %g that strtof reads back to the same float. */
static void sb_float(strbuf *b, float v)
{
    if (isnan(v)) { sb_printf(b, "nan"); return; }
    if (isinf(v)) { sb_printf(b, v < 0 ? "-inf" : "inf"); return; }
    /* "-0" would read back as the integer 0, and so as +0 for a float attribute. */
    if (v == 0 && signbit(v)) { sb_printf(b, "-0.0"); return; }
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    sb_printf(b, "%s", buf);
}

static void sb_type(strbuf *b, clg_dtype t, const clg_shape *s)
{
    char d[CLG_DIM_STR_MAX];
    sb_printf(b, "%s[", clg_dtype_name(t));
    for (int i = 0; i < s->rank; i++) sb_printf(b, "%s%s", i ? ", " : "", clg_dim_str(b->g, s->dims[i], d, sizeof d));
    sb_printf(b, "]");
}

static void sb_init(strbuf *b, const clg_const *c)
{
    const clg_init *in = &c->init;
    switch (in->kind) {
    case CLG_INIT_ZEROS: sb_printf(b, "zeros"); break;
    case CLG_INIT_ONES: sb_printf(b, "ones"); break;
    case CLG_INIT_FULL: sb_printf(b, "full("); sb_float(b, in->value); sb_printf(b, ")"); break;
    case CLG_INIT_RANDOM:
        sb_printf(b, "random(%llu", (unsigned long long)in->seed);
        if (in->lo != -1.0f || in->hi != 1.0f) {
            sb_printf(b, ", ");
            sb_float(b, in->lo);
            sb_printf(b, ", ");
            sb_float(b, in->hi);
        }
        sb_printf(b, ")");
        break;
    case CLG_INIT_FILE: sb_printf(b, "file(%llu)", (unsigned long long)in->offset); break;
    case CLG_INIT_LIST:
        sb_printf(b, "[");
        for (size_t i = 0; i < c->count; i++) {
            if (i) sb_printf(b, ", ");
            sb_float(b, c->data[i]);
        }
        sb_printf(b, "]");
        break;
    }
}

/* "text" with \" and \\ escaped. */
static void sb_string(strbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (; *s; s++) sb_printf(b, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
    sb_printf(b, "\"");
}

/* An expression in canonical form even when a pass wrote it otherwise, so
 * printing stays idempotent; left as it is if it does not parse. */
static void sb_expr(strbuf *b, const char *text)
{
    clg_expr e;
    char err[8], canonical[CLG_MAX_STRING_ATTR];
    if (clg_expr_parse(&e, text, err, sizeof err) == CLG_OK &&
        clg_expr_print(&e, canonical, sizeof canonical) < sizeof canonical)
        text = canonical;
    sb_string(b, text);
}

static void sb_attrs(strbuf *b, const clg_node *n)
{
    const clg_op_info *info = clg_op_get(n->op);
    clg_attrs def;
    clg_attrs_default(n->op, &def);
    for (int i = 0; i < info->n_attrs; i++) {
        clg_attr v, d;
        clg_attr_get(&n->attrs, info->attrs[i], &v);
        clg_attr_get(&def, info->attrs[i], &d);
        if (clg_attr_equal(&v, &d)) continue;
        sb_printf(b, " %s=", clg_field_get(info->attrs[i])->name);
        if (info->attrs[i] == CLG_F_PAD_MODE || info->attrs[i] == CLG_F_BLOCK_MODE || info->attrs[i] == CLG_F_TO) {
            sb_string(b, v.s); /* a mode or a type name */
        } else if (v.kind == CLG_ATTR_STRING) {
            sb_expr(b, v.s); /* expr or epilogue, both expressions */
        } else if (v.kind == CLG_ATTR_FLOAT) {
            sb_float(b, v.f);
        } else if (v.kind == CLG_ATTR_INT) {
            sb_printf(b, "%lld", (long long)v.ints[0]);
        } else {
            sb_printf(b, "[");
            for (int k = 0; k < v.count; k++) {
                char d[CLG_DIM_STR_MAX];
                /* Reshape's shape names symbolic sizes (clg_reshape_dim). */
                if (info->attrs[i] == CLG_F_SHAPE && v.ints[k] < -1)
                    sb_printf(b, "%s%s", k ? ", " : "", clg_dim_str(b->g, clg_reshape_dim(v.ints[k]), d, sizeof d));
                /* Slice's starts and ends, likewise (clg_index_value). */
                else if ((info->attrs[i] == CLG_F_STARTS || info->attrs[i] == CLG_F_ENDS) &&
                         clg_index_is_symbolic(v.ints[k]))
                    sb_printf(b, "%s%s", k ? ", " : "", clg_dim_str(b->g, clg_index_dim(v.ints[k]), d, sizeof d));
                else
                    sb_printf(b, "%s%lld", k ? ", " : "", (long long)v.ints[k]);
            }
            sb_printf(b, "]");
        }
    }
}

clg_status clg_graph_print(clg_graph *g, char **text, size_t *len)
{
    if (!g || !text) return CLG_ERR_INVALID_ARGUMENT;
    return clg_print_with_sidecar(g, g->weights_path, NULL, text, len);
}

clg_status clg_print_with_sidecar(clg_graph *g, const char *weights_path, const uint64_t *file_offsets,
                                  char **text, size_t *len)
{
    *text = NULL;
    strbuf b = {g, NULL, 0, 0, false};
    if (weights_path) sb_printf(&b, "weights \"%s\"\n", weights_path);
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->op == CLG_OP_INPUT) {
            sb_printf(&b, "input %s: ", n->name);
            sb_type(&b, n->dtype, &n->shape);
        } else if (n->op == CLG_OP_CONSTANT) {
            sb_printf(&b, "const %s: ", n->name);
            sb_type(&b, n->dtype, &n->shape);
            sb_printf(&b, " = ");
            if (file_offsets && file_offsets[i] != CLG_NOT_IN_SIDECAR)
                sb_printf(&b, "file(%llu)", (unsigned long long)file_offsets[i]);
            else
                sb_init(&b, n->constant);
        } else {
            sb_printf(&b, "%s = %s(", n->name, clg_op_name(n->op));
            for (int k = 0; k < n->n_inputs; k++)
                sb_printf(&b, "%s%s", k ? ", " : "", g->nodes[n->inputs[k]].name);
            sb_printf(&b, ")");
            sb_attrs(&b, n);
        }
        sb_printf(&b, "\n");
    }
    for (int i = 0; i < g->n_outputs; i++) sb_printf(&b, "output %s\n", g->nodes[g->outputs[i]].name);
    if (!b.s) sb_printf(&b, "%s", "");
    if (b.oom) {
        clg_free(g, b.s);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory printing the graph");
    }
    *text = b.s;
    if (len) *len = b.len;
    return CLG_OK;
}
