/* Elementwise fusion: chains and trees of Add, Sub, Mul, Div, Relu,
 * LeakyRelu, Sigmoid, Tanh, Clip, Gelu and Elementwise nodes become one
 * Elementwise node whose expression combines them, so one generated kernel
 * reads the inputs once and writes the result once.
 *
 * Starting from the last node, each elementwise node gathers the producers
 * it may absorb: a producer joins only when every one of its uses is by one
 * node of the group (so it is not a graph output and nobody else needs its
 * value) and its shape is the group's output shape (a producer that a
 * consumer broadcasts would be recomputed for every output element). The
 * group stops growing at 16 distinct inputs or when the expression no longer
 * fits the attribute. The fused node takes the name of the group's last
 * node. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "passes.h"

/* Room for the expression as first written, before clg_expr_print makes it
 * canonical (fewer parentheses, shortest numbers). */
#define RAW_SIZE (4 * CLG_MAX_STRING_ATTR)

enum { PREC_SUM, PREC_PRODUCT, PREC_ATOM };

typedef struct fuse_state {
    clg_graph *g;
    const clg_sweep *sw;
    int root;
    bool *member, *rejected; /* per node of the sweep */
    int *list;               /* the group's members, root first */
    int n_list;
    int *rejected_list;
    int n_rejected;
    int leaves[CLG_EXPR_MAX_INPUTS];
    int n_leaves;
    bool too_many_leaves;
    char raw[RAW_SIZE];
    char canonical[CLG_MAX_STRING_ATTR];
    clg_expr expr;
} fuse_state;

static bool fusible(clg_op op) { return clg_pass_is_elementwise(op); }

static bool in_group(const fuse_state *fs, int i) { return i < fs->sw->n0 && fs->member[i]; }

static int precedence(const fuse_state *fs, int i)
{
    if (!in_group(fs, i)) return PREC_ATOM;
    switch (fs->g->nodes[i].op) {
    case CLG_OP_ADD:
    case CLG_OP_SUB:
    case CLG_OP_ELEMENTWISE: return PREC_SUM; /* whatever its text is, it may be a sum */
    case CLG_OP_MUL:
    case CLG_OP_DIV: return PREC_PRODUCT;
    default: return PREC_ATOM;
    }
}

static void emit_number(clg_text *t, float v)
{
    if (isnan(v)) clg_text_printf(t, "nan");
    else if (isinf(v)) clg_text_printf(t, v < 0 ? "-inf" : "inf");
    else clg_text_printf(t, "%.9g", (double)v);
}

static void emit(fuse_state *fs, clg_text *t, int i);

/* Node i as an operand that needs at least precedence min. */
static void emit_operand(fuse_state *fs, clg_text *t, int i, int min)
{
    bool parens = precedence(fs, i) < min;
    if (parens) clg_text_printf(t, "(");
    emit(fs, t, i);
    if (parens) clg_text_printf(t, ")");
}

static void emit_leaf(fuse_state *fs, clg_text *t, int i)
{
    int k = 0;
    while (k < fs->n_leaves && fs->leaves[k] != i) k++;
    if (k == fs->n_leaves) {
        if (k == CLG_EXPR_MAX_INPUTS) {
            fs->too_many_leaves = true;
            k = 0;
        } else {
            fs->leaves[fs->n_leaves++] = i;
        }
    }
    clg_text_printf(t, "x%d", k);
}

/* An Elementwise member's expression with each of its xK replaced by what
 * its input K computes. */
static void emit_substituted(fuse_state *fs, clg_text *t, const clg_node *n)
{
    const char *s = n->attrs.expr;
    while (*s) {
        if (s[0] == 'x' && s[1] >= '0' && s[1] <= '9' && (s == n->attrs.expr || !(s[-1] == '_' ||
            (s[-1] >= 'a' && s[-1] <= 'z') || (s[-1] >= 'A' && s[-1] <= 'Z') || (s[-1] >= '0' && s[-1] <= '9')))) {
            int k = 0;
            s++;
            while (*s >= '0' && *s <= '9') k = k * 10 + (*s++ - '0');
            emit_operand(fs, t, n->inputs[k], PREC_ATOM);
        } else {
            clg_text_printf(t, "%c", *s++);
        }
    }
}

static void emit(fuse_state *fs, clg_text *t, int i)
{
    if (!in_group(fs, i)) {
        emit_leaf(fs, t, i);
        return;
    }
    const clg_node *n = &fs->g->nodes[i];
    const char *fn = NULL;
    switch (n->op) {
    case CLG_OP_ADD:
    case CLG_OP_SUB:
    case CLG_OP_MUL:
    case CLG_OP_DIV: {
        int p = precedence(fs, i);
        const char *sym = n->op == CLG_OP_ADD ? " + " : n->op == CLG_OP_SUB ? " - " : n->op == CLG_OP_MUL ? " * " : " / ";
        /* Left-associative: a right operand of the same precedence keeps
         * its parentheses, since fp32 sums depend on their order. */
        emit_operand(fs, t, n->inputs[0], p);
        clg_text_printf(t, "%s", sym);
        emit_operand(fs, t, n->inputs[1], p + 1);
        return;
    }
    case CLG_OP_ELEMENTWISE: emit_substituted(fs, t, n); return;
    case CLG_OP_RELU: fn = "relu"; break;
    case CLG_OP_SIGMOID: fn = "sigmoid"; break;
    case CLG_OP_TANH: fn = "tanh"; break;
    case CLG_OP_GELU: fn = n->attrs.approximate ? "gelu_tanh" : "gelu"; break;
    case CLG_OP_LEAKY_RELU:
        clg_text_printf(t, "leaky_relu(");
        emit(fs, t, n->inputs[0]);
        clg_text_printf(t, ", ");
        emit_number(t, n->attrs.alpha);
        clg_text_printf(t, ")");
        return;
    case CLG_OP_CLIP:
        clg_text_printf(t, "clip(");
        emit(fs, t, n->inputs[0]);
        clg_text_printf(t, ", ");
        emit_number(t, n->attrs.min);
        clg_text_printf(t, ", ");
        emit_number(t, n->attrs.max);
        clg_text_printf(t, ")");
        return;
    default: return; /* not fusible: never a member */
    }
    clg_text_printf(t, "%s(", fn);
    emit(fs, t, n->inputs[0]);
    clg_text_printf(t, ")");
}

/* Writes the group's expression; false when it has more than 16 inputs or
 * does not fit the attribute (or the parser's depth) in canonical form. */
static bool write_group(fuse_state *fs)
{
    fs->n_leaves = 0;
    fs->too_many_leaves = false;
    clg_text t = {fs->raw, sizeof fs->raw, 0};
    emit(fs, &t, fs->root);
    if (fs->too_many_leaves || t.len >= sizeof fs->raw) return false;
    char err[8];
    if (clg_expr_parse(&fs->expr, fs->raw, err, sizeof err) != CLG_OK) return false;
    return clg_expr_print(&fs->expr, fs->canonical, sizeof fs->canonical) < sizeof fs->canonical;
}

/* May producer p join the group through its consumer m? */
static bool absorbable(const fuse_state *fs, int p, int m)
{
    const clg_sweep *sw = fs->sw;
    const clg_graph *g = fs->g;
    if (!clg_sweep_fresh(sw, p) || fs->member[p] || fs->rejected[p] || !fusible(g->nodes[p].op)) return false;
    /* Every use is by m: not a graph output (an output counts as a use), no
     * other reader that would need its value. */
    int reads = 0;
    for (int k = 0; k < g->nodes[m].n_inputs; k++) reads += g->nodes[m].inputs[k] == p;
    if (sw->uses[p] != reads) return false;
    /* No recomputation under broadcast. */
    return clg_shape_equal(&g->nodes[p].shape, &g->nodes[fs->root].shape);
}

static void grow_group(fuse_state *fs)
{
    clg_graph *g = fs->g;
    for (int q = 0; q < fs->n_list; q++) {
        int m = fs->list[q];
        for (int k = 0; k < g->nodes[m].n_inputs; k++) {
            int p = g->nodes[m].inputs[k];
            if (!absorbable(fs, p, m)) continue;
            fs->member[p] = true;
            fs->list[fs->n_list++] = p;
            if (write_group(fs)) continue;
            fs->member[p] = false;
            fs->n_list--;
            fs->rejected[p] = true;
            fs->rejected_list[fs->n_rejected++] = p;
        }
    }
}

static clg_status fuse_group(fuse_state *fs, bool *changed)
{
    clg_graph *g = fs->g;
    if (!write_group(fs)) return CLG_OK; /* the last accepted group always writes */
    clg_attrs attrs;
    clg_attrs_default(CLG_OP_ELEMENTWISE, &attrs);
    memcpy(attrs.expr, fs->canonical, sizeof attrs.expr);
    clg_status st = CLG_OK;
    int k = clg_edit_append(g, CLG_OP_ELEMENTWISE, g->nodes[fs->root].name, fs->leaves, fs->n_leaves,
                            &attrs, NULL, NULL, &st);
    if (k < 0) return st;
    /* An Elementwise member with inputs its expression never reads could
     * have widened the shape; then the group is left alone. */
    if (!clg_shape_equal(&g->nodes[k].shape, &g->nodes[fs->root].shape)) {
        g->nodes[k].dead = true;
        *changed = true; /* the dead node must be compacted away */
        return CLG_OK;
    }
    for (int q = 1; q < fs->n_list; q++) g->nodes[fs->list[q]].dead = true;
    clg_pass_replace(g, fs->root, k);
    *changed = true;
    /* Leaves are not touched: a dead member's uses keep them from joining
     * another group this sweep (their count no longer matches), and as
     * roots they are safe (clg_pass_replace rewires the fused node too). */
    return CLG_OK;
}

clg_status clg_pass_fuse_elementwise(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    size_t n = (size_t)sw.n0 + 1;
    fuse_state *fs = clg_calloc(g, 1, sizeof *fs);
    if (fs) {
        fs->member = clg_calloc(g, n, sizeof *fs->member);
        fs->rejected = clg_calloc(g, n, sizeof *fs->rejected);
        fs->list = clg_malloc(g, n * sizeof *fs->list);
        fs->rejected_list = clg_malloc(g, n * sizeof *fs->rejected_list);
    }
    if (!fs || !fs->member || !fs->rejected || !fs->list || !fs->rejected_list) {
        st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in pass fuse-elementwise");
        goto done;
    }
    fs->g = g;
    fs->sw = &sw;
    for (int r = sw.n0 - 1; r >= 0 && !st; r--) {
        if (!clg_sweep_fresh(&sw, r) || !fusible(g->nodes[r].op)) continue;
        fs->root = r;
        fs->member[r] = true;
        fs->list[0] = r;
        fs->n_list = 1;
        fs->n_rejected = 0;
        grow_group(fs);
        if (fs->n_list > 1) st = fuse_group(fs, changed);
        for (int q = 0; q < fs->n_list; q++) fs->member[fs->list[q]] = false;
        for (int q = 0; q < fs->n_rejected; q++) fs->rejected[fs->rejected_list[q]] = false;
    }
done:
    if (fs) {
        clg_free(g, fs->member);
        clg_free(g, fs->rejected);
        clg_free(g, fs->list);
        clg_free(g, fs->rejected_list);
        clg_free(g, fs);
    }
    clg_sweep_end(&sw);
    return st;
}
