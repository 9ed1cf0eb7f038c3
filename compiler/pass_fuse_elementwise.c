/* Elementwise fusion: chains and trees of elementwise ops (those with an
 * expression in the op table: Add, Sub, Mul, Div, Relu, LeakyRelu, Sigmoid,
 * Tanh, Clip, Gelu and Elementwise itself) become one Elementwise node whose
 * expression combines them, so one generated kernel reads the inputs once
 * and writes the result once.
 *
 * Starting from the last node, each elementwise node gathers the producers
 * it may absorb: a producer joins only when every one of its uses is by one
 * node of the group (so it is not a graph output and nobody else needs its
 * value) and its shape is the group's output shape (a producer that a
 * consumer broadcasts would be recomputed for every output element). The
 * group stops growing at 16 distinct inputs or when the expression no longer
 * fits the attribute. The fused node takes the name of the group's last
 * node.
 *
 * The group's expression is built from its members' own expressions
 * (clg_expr_of_node), each xK replaced by what the member's input K
 * computes: a member's value, or an input of the fused node. */
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "passes.h"

typedef struct fuse_state {
    clg_graph *g;
    const clg_sweep *sw;
    int root;
    bool *member, *rejected; /* per node of the sweep */
    int *list;               /* the group's members, root first */
    int n_list;
    int *rejected_list;
    int n_rejected;
    int *order;         /* the members by node index, for write_group */
    int *value, *stamp; /* per node of the sweep: its node in built, if stamp == round */
    int round;
    int leaves[CLG_EXPR_MAX_INPUTS]; /* the fused node's inputs */
    int n_leaves;
    clg_expr one;   /* one member's expression */
    clg_expr built; /* the group's, a member's value shared by its uses */
    int leaf_node[CLG_EXPR_MAX_NODES];     /* built's INPUT nodes: the graph node read */
    int stack[2 * CLG_EXPR_MAX_NODES + 3]; /* the walk numbering the leaves */
    char canonical[CLG_MAX_STRING_ATTR];
    clg_expr expr;
} fuse_state;

static bool fusible(clg_op op) { return clg_pass_is_elementwise(op); }

static int by_index(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Appends node n (its args already in built) to built; its index or -1 when
 * full. */
static int append(clg_expr *e, const clg_expr_node *n)
{
    if (e->n_nodes == CLG_EXPR_MAX_NODES) return -1;
    e->nodes[e->n_nodes] = *n;
    return e->n_nodes++;
}

/* Where graph node p's value is in built: a member built or an input seen
 * in this round; -1 when it is not there yet. A node appended by this pass
 * (past the sweep's nodes, never a member) is looked up among the inputs. */
static int seen(const fuse_state *fs, int p)
{
    if (p < fs->sw->n0) return fs->stamp[p] == fs->round ? fs->value[p] : -1;
    for (int i = 0; i < fs->built.n_nodes; i++)
        if (fs->built.nodes[i].op == CLG_EXPR_INPUT && fs->leaf_node[i] == p) return i;
    return -1;
}

/* Where member m's expression is appended to built, each xK mapped to the
 * value of the member's input K (built earlier: members come in node
 * order, producers first) or to an INPUT node for a graph node outside the
 * group, one per such node. Its root's index, or -1 when built is full. */
static int build_member(fuse_state *fs, int m)
{
    const clg_node *n = &fs->g->nodes[m];
    char err[8];
    if (clg_expr_of_node(n, &fs->one, err, sizeof err) || fs->one.n_nodes == 0) return -1;
    int map[CLG_EXPR_MAX_NODES];
    for (int j = 0; j < fs->one.n_nodes; j++) {
        clg_expr_node node = fs->one.nodes[j];
        if (node.op == CLG_EXPR_INPUT) {
            if (node.input >= n->n_inputs) return -1;
            int p = n->inputs[node.input];
            if ((map[j] = seen(fs, p)) >= 0) continue;
            /* Not a member (members come first) nor seen: a new input. */
            node.input = 0;
            node.pos = 0;
            if ((map[j] = append(&fs->built, &node)) < 0) return -1;
            fs->leaf_node[map[j]] = p;
            if (p < fs->sw->n0) {
                fs->stamp[p] = fs->round;
                fs->value[p] = map[j];
            }
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (node.args[k] >= 0) node.args[k] = (int16_t)map[node.args[k]];
        if ((map[j] = append(&fs->built, &node)) < 0) return -1;
    }
    return map[fs->one.n_nodes - 1];
}

/* Numbers built's inputs x0, x1, ... in the order the printed text shows
 * them (args left to right), into fs->leaves; false past 16 inputs or when
 * the expression, written out, has more nodes than any expression may. */
static bool number_leaves(fuse_state *fs, int top)
{
    clg_expr *e = &fs->built;
    fs->n_leaves = 0;
    e->inputs_used = 0;
    for (int i = 0; i < e->n_nodes; i++)
        if (e->nodes[i].op == CLG_EXPR_INPUT) e->nodes[i].input = UINT8_MAX;
    int sp = 0, visits = 0;
    fs->stack[sp++] = top;
    while (sp > 0) {
        /* A value used twice is written out twice, so this counts the
         * nodes of the text, not of built. */
        if (++visits > CLG_EXPR_MAX_NODES) return false;
        clg_expr_node *n = &e->nodes[fs->stack[--sp]];
        if (n->op == CLG_EXPR_INPUT) {
            if (n->input != UINT8_MAX) continue;
            if (fs->n_leaves == CLG_EXPR_MAX_INPUTS) return false;
            n->input = (uint8_t)fs->n_leaves;
            e->inputs_used |= 1u << fs->n_leaves;
            fs->leaves[fs->n_leaves++] = fs->leaf_node[n - e->nodes];
            continue;
        }
        for (int k = 2; k >= 0; k--)
            if (n->args[k] >= 0) fs->stack[sp++] = n->args[k];
    }
    return true;
}

/* Writes the group's expression into fs->canonical (and its inputs into
 * fs->leaves); false when it has more than 16 inputs or does not fit the
 * attribute (or the parser's depth) in canonical form. */
static bool write_group(fuse_state *fs)
{
    memcpy(fs->order, fs->list, (size_t)fs->n_list * sizeof *fs->order);
    qsort(fs->order, (size_t)fs->n_list, sizeof *fs->order, by_index);
    fs->round++;
    fs->built.n_nodes = 0;
    int top = -1;
    for (int q = 0; q < fs->n_list; q++) {
        int m = fs->order[q];
        if ((top = build_member(fs, m)) < 0) return false;
        fs->stamp[m] = fs->round;
        fs->value[m] = top;
    }
    /* The root is the last member; the text is written from the last node.
     * A group whose expression reads no input at all (a member like
     * "sqrt(81)" ignores its own) would be an Elementwise of no inputs,
     * which no node may be: it is not formed. */
    if (!number_leaves(fs, top) || fs->n_leaves == 0) return false;
    if (top != fs->built.n_nodes - 1 && append(&fs->built, &fs->built.nodes[top]) < 0) return false;
    if (clg_expr_print(&fs->built, fs->canonical, sizeof fs->canonical) >= sizeof fs->canonical) return false;
    char err[8];
    return clg_expr_parse(&fs->expr, fs->canonical, err, sizeof err) == CLG_OK;
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
        fs->order = clg_malloc(g, n * sizeof *fs->order);
        fs->value = clg_malloc(g, n * sizeof *fs->value);
        fs->stamp = clg_calloc(g, n, sizeof *fs->stamp);
    }
    if (!fs || !fs->member || !fs->rejected || !fs->list || !fs->rejected_list || !fs->order || !fs->value ||
        !fs->stamp) {
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
        clg_free(g, fs->order);
        clg_free(g, fs->value);
        clg_free(g, fs->stamp);
        clg_free(g, fs);
    }
    clg_sweep_end(&sw);
    return st;
}
