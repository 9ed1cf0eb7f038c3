/* The graph compiler's passes (docs/compiler.md). Each pass is one file and
 * one function that rewrites a compact graph and says whether it changed
 * anything; the pass manager (passes.c) holds them in a table, runs them in
 * order and compacts the graph after each change. */
#ifndef CLG_PASSES_H
#define CLG_PASSES_H

#include "ir.h"

/* A pass: rewrites g, which is compact on entry (no dead nodes, in
 * topological order), setting *changed when it did something. It may leave
 * dead nodes and appended nodes out of order: the manager compacts. On an
 * error the manager restores the graph as it was before the pass. */
typedef clg_status (*clg_pass_run_fn)(clg_graph *g, bool *changed);

typedef struct clg_pass {
    const char *name;
    int level;          /* the lowest optimization level that runs it */
    bool fixpoint;      /* rerun while it changes something */
    clg_pass_run_fn run;
} clg_pass;

CLG_INTERNAL clg_status clg_pass_dce(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_identity(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fold_constants(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fold_batchnorm(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fold_pad(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_sink_transpose(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_shrink_conv(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_merge_projections(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fuse_layernorm(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fuse_attention(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_batchnorm_scale_shift(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_split_bias(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_fuse_elementwise(clg_graph *g, bool *changed);
CLG_INTERNAL clg_status clg_pass_absorb_epilogue(clg_graph *g, bool *changed);

/* Runs the first pass called name as clg_graph_optimize would (rounds,
 * compaction, the fallback copy); for tests and tools. */
CLG_INTERNAL clg_status clg_pass_run_named(clg_graph *g, const char *name);

/* ---- what passes share (passes.c) */

/* A sweep over the graph as it was when the sweep began. Rewrites append
 * nodes and rewire uses, so facts about a node that a rewrite involved go
 * stale: such nodes are marked touched, and a sweep leaves any candidate that
 * involves a touched or appended node to the next round. */
typedef struct clg_sweep {
    clg_graph *g;
    int n0;        /* nodes when the sweep began; indices >= n0 are new */
    int *uses;     /* per node: uses by live nodes plus one per output slot */
    int *consumer; /* per node: a live node that reads it, -1 when none */
    bool *touched;
} clg_sweep;

CLG_INTERNAL clg_status clg_sweep_begin(clg_graph *g, clg_sweep *sw);
CLG_INTERNAL void clg_sweep_end(clg_sweep *sw);
/* True when node i existed at the start of the sweep, is live and no rewrite
 * has involved it. */
CLG_INTERNAL bool clg_sweep_fresh(const clg_sweep *sw, int i);
/* The node that reads i when that node is i's only use (so i is not a graph
 * output and no other node reads it), else -1. */
CLG_INTERNAL int clg_sweep_sole_consumer(const clg_sweep *sw, int i);
/* Marks i touched (no-op for appended nodes). */
CLG_INTERNAL void clg_sweep_touch(clg_sweep *sw, int i);

/* True for a constant node. */
CLG_INTERNAL bool clg_pass_is_constant(const clg_graph *g, int i);
/* Whether a node of op on these inputs passes the op's type rules and
 * computes a want value. Elementwise ops take any numeric type (Div of an
 * i32 by a float is f32), so a pattern matched through them can reach a
 * value the fused op does not take; a pass checks before it rewrites. */
CLG_INTERNAL bool clg_pass_types_fit(clg_graph *g, clg_op op, const clg_attrs *attrs, const int *inputs,
                                     int n_inputs, clg_dtype want);
/* Ops computed element by element (possibly broadcasting), which elementwise
 * fusion can merge into one generated kernel: those with an expression in
 * the op table, the fused Elementwise op too. */
CLG_INTERNAL bool clg_pass_is_elementwise(clg_op op);
CLG_INTERNAL bool clg_shape_equal(const clg_shape *a, const clg_shape *b);
/* Whether node n with attrs instead of its own, on inputs of shapes in
 * (n_inputs of them), passes its op's shape rules with its own output
 * shape: a rewrite that changes attributes or an input keeps the node's
 * result. A refusal's error is cleared. */
CLG_INTERNAL bool clg_pass_keeps_shape(clg_graph *g, const clg_node *n, const clg_attrs *attrs,
                                       const clg_shape *const *in);
/* Replaces node old by node repl (appended by the caller): every use moves to
 * repl, repl takes old's name (so graph outputs keep theirs), old dies. */
CLG_INTERNAL void clg_pass_replace(clg_graph *g, int old, int repl);

#endif
