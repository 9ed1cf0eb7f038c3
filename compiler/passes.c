/* The pass manager: the passes as data, run in order, each once or until it
 * stops changing the graph, with a compaction after every change and a copy
 * to fall back on when a pass fails half way. */
#include <string.h>

#include "passes.h"

/* Order matters: Transposes sink (and cancel) once LayerNorm is one node
 * (written out, its ops are layout-blind, and moved to another layout it
 * would no longer be recognised) and attention matched (its Transposes
 * are its own) and BatchNorms that could not fold are Mul/Add (which can
 * then move); that leaves Pads right before the Convs they pad, and a Pad
 * folds into the window op it feeds once constant folding has taken the
 * Pads of constants; a Conv's kernel shrinks to the taps that read its
 * input once all its padding is its own; BatchNorm folding wants constant
 * weights (so it runs after constant folding); what it cannot fold becomes
 * Mul/Add for fusion; sibling projections would merge once their weights are
 * final (after folding; no level runs that today); attention is matched before elementwise fusion and
 * epilogues take its scale and mask apart; LayerNorm is recognised in its written-out form
 * before fusion merges its Sub, Mul and Add into other expressions; biases
 * are split off before fusion so that they join the epilogue, which is then
 * absorbed into the GEMM that feeds it (one kernel); dead code runs
 * first (so nothing dead is folded) and last (what folding orphaned). */
static const clg_pass passes[] = {
    {"dce", 1, false, clg_pass_dce},
    {"identity", 1, false, clg_pass_identity},
    {"fold-constants", 1, true, clg_pass_fold_constants},
    {"fold-batchnorm", 1, true, clg_pass_fold_batchnorm},
    /* Level 3: no -O level runs it (only clg_pass_run_named). One GEMM
     * plus a Slice per member measured slower than the members' own GEMMs
     * on both CPU runtimes (docs/compiler.md, merge-projections): the
     * Slices are copies and one launch more. */
    {"merge-projections", 3, false, clg_pass_merge_projections},
    {"fuse-layernorm", 2, true, clg_pass_fuse_layernorm},
    {"fuse-attention", 2, true, clg_pass_fuse_attention},
    {"batchnorm-scale-shift", 2, false, clg_pass_batchnorm_scale_shift},
    {"sink-transpose", 1, true, clg_pass_sink_transpose},
    {"fold-pad", 1, true, clg_pass_fold_pad},
    {"shrink-conv", 1, false, clg_pass_shrink_conv},
    {"split-bias", 2, false, clg_pass_split_bias},
    {"fuse-elementwise", 2, true, clg_pass_fuse_elementwise},
    {"absorb-epilogue", 2, false, clg_pass_absorb_epilogue},
    {"dce", 1, false, clg_pass_dce},
};

#define N_PASSES ((int)(sizeof passes / sizeof *passes))
#define MAX_LEVEL 2
/* Every fixpoint pass removes at least one node per round that changes
 * something, so rounds are bounded by the graph; this only guards against
 * a pass that would report a change forever. */
#define MAX_ROUNDS 1000

const char *clg_pass_name(int i, int *level)
{
    if (i < 0 || i >= N_PASSES) return NULL;
    if (level) *level = passes[i].level;
    return passes[i].name;
}

/* One round of pass p. g is compact before and after; when the pass or the
 * compaction fails, g gets back its contents from before the round. */
static clg_status run_round(clg_graph *g, const clg_pass *p, bool *changed)
{
    clg_graph *backup = NULL;
    clg_status s = clg_graph_create(&backup, g->allocator.fn, g->allocator.user);
    if (s) return clg_fail(g, s, "out of memory before pass %s", p->name);
    if ((s = clg_graph_copy(g, backup))) {
        clg_graph_destroy(backup);
        return clg_fail(g, s, "out of memory before pass %s", p->name);
    }
    *changed = false;
    s = p->run(g, changed);
    if (!s && *changed) s = clg_graph_compact(g);
    if (s) {
        clg_graph_swap_contents(g, backup);
        *changed = false;
    }
    clg_graph_destroy(backup);
    return s;
}

static clg_status run_pass(clg_graph *g, const clg_pass *p)
{
    bool changed = true;
    for (int round = 0; changed && round < MAX_ROUNDS; round++) {
        clg_status s = run_round(g, p, &changed);
        if (s) return s;
        if (!p->fixpoint) break;
    }
    return CLG_OK;
}

clg_status clg_pass_run_named(clg_graph *g, const char *name)
{
    for (int i = 0; i < N_PASSES; i++)
        if (strcmp(passes[i].name, name) == 0) return run_pass(g, &passes[i]);
    return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "no pass named %s", name);
}

clg_status clg_graph_optimize(clg_graph *g, int level, clg_pass_fn after_pass, void *user)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (level < 0 || level > MAX_LEVEL)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "optimization level %d is outside 0..%d", level,
                        MAX_LEVEL);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].dead) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "the graph is not compact");
    for (int i = 0; i < N_PASSES; i++) {
        const clg_pass *p = &passes[i];
        if (p->level > level) continue;
        clg_status s = run_pass(g, p);
        if (s) return s;
        if (after_pass) after_pass(user, p->name, g);
    }
    return CLG_OK;
}

/* ---- sweeps */

clg_status clg_sweep_begin(clg_graph *g, clg_sweep *sw)
{
    memset(sw, 0, sizeof *sw);
    sw->g = g;
    sw->n0 = g->n_nodes;
    size_t n = (size_t)g->n_nodes + 1;
    sw->uses = clg_malloc(g, n * sizeof *sw->uses);
    sw->consumer = clg_malloc(g, n * sizeof *sw->consumer);
    sw->touched = clg_calloc(g, n, sizeof *sw->touched);
    if (!sw->uses || !sw->consumer || !sw->touched) {
        clg_sweep_end(sw);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in a graph pass");
    }
    clg_edit_use_counts(g, sw->uses);
    for (int i = 0; i < g->n_nodes; i++) sw->consumer[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) sw->consumer[n->inputs[k]] = i;
    }
    return CLG_OK;
}

void clg_sweep_end(clg_sweep *sw)
{
    if (!sw->g) return;
    clg_free(sw->g, sw->uses);
    clg_free(sw->g, sw->consumer);
    clg_free(sw->g, sw->touched);
    memset(sw, 0, sizeof *sw);
}

bool clg_sweep_fresh(const clg_sweep *sw, int i)
{
    return i >= 0 && i < sw->n0 && !sw->touched[i] && !sw->g->nodes[i].dead;
}

int clg_sweep_sole_consumer(const clg_sweep *sw, int i)
{
    if (!clg_sweep_fresh(sw, i) || sw->uses[i] != 1) return -1;
    /* One use that is a graph output leaves no consuming node. */
    return sw->consumer[i];
}

void clg_sweep_touch(clg_sweep *sw, int i)
{
    if (i >= 0 && i < sw->n0) sw->touched[i] = true;
}

/* ---- small helpers */

bool clg_pass_is_constant(const clg_graph *g, int i) { return g->nodes[i].op == CLG_OP_CONSTANT; }

bool clg_pass_types_fit(clg_graph *g, clg_op op, const clg_attrs *attrs, const int *inputs, int n_inputs,
                        clg_dtype want)
{
    clg_dtype got;
    if (clg_infer_dtype(g, 0, "", op, attrs, inputs, n_inputs, &got)) {
        clg_clear_error(g);
        return false;
    }
    return got == want;
}

bool clg_pass_is_elementwise(clg_op op)
{
    const clg_op_info *info = clg_op_get(op);
    return info && info->expr;
}

bool clg_shape_equal(const clg_shape *a, const clg_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

bool clg_pass_keeps_shape(clg_graph *g, const clg_node *n, const clg_attrs *attrs, const clg_shape *const *in)
{
    clg_node trial = *n;
    trial.attrs = *attrs;
    clg_shape out;
    if (clg_infer_node(g, &trial, in, &out)) {
        clg_clear_error(g);
        return false;
    }
    return clg_shape_equal(&out, &n->shape);
}

void clg_pass_replace(clg_graph *g, int old, int repl)
{
    clg_edit_replace_uses(g, old, repl);
    clg_edit_swap_names(g, old, repl);
    g->nodes[old].dead = true;
}
