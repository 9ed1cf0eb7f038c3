/* A whole small MLP in one launch: a graph that is one input, a chain of
 * Gemm nodes (each reading the one before; constant weights; epilogues
 * over constant biases and the chain's earlier values) and at most a final
 * Softmax over the last dim runs, when it is small, as one generated kernel
 * of one work-group that keeps every activation in local memory between
 * layers (kernels/dense_chain.cl holds its helpers).
 *
 * Why: at batch 1 such a model's four launches need ~6 us of device time on
 * PoCL, but each OpenCL command costs ~3-5 us there, so a call took 4-6x
 * the device's empty-kernel floor. One launch between the input's write
 * and the output's read is the fewest commands a call can have. The
 * kernel runs on one compute unit and does its arithmetic without the
 * packed GEMM's tiling, so it is used only where the work is small
 * (CHAIN_MAX_MACS, measured: bench/README.md "Small calls"); anything else
 * lowers node by node as before. CLGRAPH_CHAIN=0 turns it off (for
 * comparing the two), and a context whose GEMM path is forced (clblast,
 * generated...) never uses it, so a forced path runs what it names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "lower.h"
#include "lower_util.h"

#define CHAIN_MAX_LAYERS 16
/* Rows of the input at most (the batch of a [N, K] model). */
#define CHAIN_MAX_ROWS 16
/* Multiply-adds per call at most. */
#define CHAIN_MAX_MACS (1 << 19)
/* Local floats at most (every activation of the chain, input included). */
#define CHAIN_MAX_LOCAL_FLOATS 8192
#define CHAIN_WORK_ITEMS 128

typedef struct chain_layer {
    int node;
    clg_expr *e; /* the epilogue, NULL without one */
} chain_layer;

typedef struct chain {
    int input, softmax, n_layers;
    chain_layer layers[CHAIN_MAX_LAYERS];
} chain;

/* Whether a value of shape s broadcasts to [m, n] the way the generated
 * kernel addresses it (rank <= 2, each dim 1 or the result's); its row and
 * column strides then. */
static bool broadcast_2d(const clg_shape *s, int64_t m, int64_t n, int64_t *sr, int64_t *sc)
{
    if (s->rank > 2) return false;
    int64_t rows = s->rank == 2 ? s->dims[0] : 1, cols = s->rank >= 1 ? s->dims[s->rank - 1] : 1;
    if ((rows != 1 && rows != m) || (cols != 1 && cols != n)) return false;
    *sc = cols == n && n > 1 ? 1 : 0;
    *sr = rows == m && m > 1 ? cols : 0;
    return true;
}

static bool is_constant(const clg_graph *g, int v) { return g->nodes[clg_value_root(g, v, NULL)].op == CLG_OP_CONSTANT; }

/* Position of value v in the chain: 0 the input, l + 1 layer l's output,
 * -1 neither. */
static int chain_pos(const chain *c, int v)
{
    if (v == c->input) return 0;
    for (int l = 0; l < c->n_layers; l++)
        if (c->layers[l].node == v) return l + 1;
    return -1;
}

/* An extra input of a layer (the Gemm's C or an epilogue's input): a
 * constant that broadcasts, or an earlier chain value of the result's
 * shape. */
static bool extra_fits(const clg_graph *g, const clg_plan *p, const chain *c, int v, int64_t m, int64_t n)
{
    int64_t sr, sc;
    if (is_constant(g, v)) return broadcast_2d(&p->values[v].shape, m, n, &sr, &sc);
    const clg_shape *s = &p->values[v].shape;
    return chain_pos(c, v) >= 0 && s->rank == 2 && s->dims[0] == m && s->dims[1] == n;
}

static void chain_free(const clg_allocator *mem, chain *c)
{
    for (int l = 0; l < c->n_layers; l++) clg_mem_free(mem, c->layers[l].e);
    c->n_layers = 0;
}

/* Whether p's graph is a small chain (the file's comment); on true, c
 * holds it and its parsed epilogues (chain_free releases them). */
static bool chain_match(clg_context *ctx, const clg_graph *g, const clg_plan *p, chain *c)
{
    memset(c, 0, sizeof *c);
    c->input = c->softmax = -1;
    if (g->n_outputs != 1) return false;
    int64_t macs = 0, local = 0, m = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        const clg_shape *ys = &p->values[i].shape;
        if (n->op == CLG_OP_CONSTANT) continue;
        if (c->softmax >= 0) return false; /* the Softmax comes last */
        if (n->op == CLG_OP_INPUT) {
            if (c->input >= 0 || ys->rank != 2 || ys->dims[1] < 1) return false;
            c->input = i;
            m = ys->dims[0];
            local += clg_shape_count(ys);
            continue;
        }
        int prev = c->n_layers ? c->layers[c->n_layers - 1].node : c->input;
        if (n->op == CLG_OP_SOFTMAX) {
            if (!c->n_layers || n->inputs[0] != prev || ys->rank != 2 || (n->attrs.axis != -1 && n->attrs.axis != 1))
                return false;
            c->softmax = i;
            continue;
        }
        if (n->op != CLG_OP_GEMM || c->n_layers == CHAIN_MAX_LAYERS || n->inputs[0] != prev || prev < 0 ||
            n->attrs.trans_a || !isfinite(n->attrs.alpha) || !isfinite(n->attrs.beta) || !is_constant(g, n->inputs[1]) || ys->rank != 2 || ys->dims[0] != m)
            return false;
        int own = clg_node_own_inputs(n);
        int64_t nn = ys->dims[1], k = p->values[n->inputs[1]].shape.dims[n->attrs.trans_b ? 1 : 0];
        if (own == 3 && n->attrs.beta != 0.0f && !extra_fits(g, p, c, n->inputs[2], m, nn)) return false;
        for (int j = own; j < n->n_inputs; j++)
            if (!extra_fits(g, p, c, n->inputs[j], m, nn)) return false;
        if (k < 1 || nn < 1) return false; /* no zero-sized local arrays */
        macs += m * k * nn;
        local += m * nn;
        c->layers[c->n_layers++].node = i;
    }
    /* One node is one launch either way (and its own kernel spreads over
     * every core): the chain pays only where it replaces several. */
    if (c->n_layers + (c->softmax >= 0) < 2) return false;
    int last = c->softmax >= 0 ? c->softmax : c->n_layers ? c->layers[c->n_layers - 1].node : -1;
    if (last < 0 || g->outputs[0] != last || m < 1 || m > CHAIN_MAX_ROWS || macs > CHAIN_MAX_MACS ||
        local > CHAIN_MAX_LOCAL_FLOATS || (uint64_t)local * sizeof(float) * 2 > ctx->info.local_mem_bytes)
        return false;
    return true;
}

/* Whether this plan may use the chain at all: not at a half precision
 * (dense_chain.cl has no half-storage form yet; the launch chain has). */
static bool chain_allowed(const clg_context *ctx, const clg_plan *p)
{
    const char *env = getenv("CLGRAPH_CHAIN");
    if (env && !strcmp(env, "0")) return false;
    if (p->elem_size != sizeof(float)) return false;
    return !ctx->gemm_path || !strcmp(ctx->gemm_path, "measure");
}

/* Appends each helper line of `helpers` that text does not hold yet (two
 * layers' epilogues may use the same function). */
static void add_helpers(clg_text *t, const char *helpers)
{
    for (const char *line = helpers; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        char one[1024];
        if (len < sizeof one) {
            memcpy(one, line, len);
            one[len] = '\0';
            if (!t->buf || !strstr(t->buf, one)) clg_text_printf(t, "%s", one);
        } else {
            clg_text_printf(t, "%.*s", (int)len, line);
        }
        line += len;
    }
}

/* The kernel's text (chain_match's chain c over p's shapes) into t; the
 * helper file's body first. Arguments: the input, the output, then per
 * layer its W, its C (if it adds one), its constant epilogue inputs, in
 * this order (chain_args). */
static void chain_source(const clg_graph *g, const clg_plan *p, const chain *c, const char *body, clg_text *t)
{
    clg_text_printf(t, "%s\n", body);
    for (int l = 0; l < c->n_layers; l++)
        if (c->layers[l].e) {
            char helpers[4096];
            clg_text h = {helpers, sizeof helpers, 0};
            clg_expr_write_opencl_helpers(c->layers[l].e, &h);
            add_helpers(t, helpers);
        }
    int64_t m = p->values[c->input].shape.dims[0];
    clg_text_printf(t, "\n__kernel void dense_chain(__global const float *in, uint in_off, __global float *out, uint out_off");
    for (int l = 0; l < c->n_layers; l++) {
        const clg_node *n = &g->nodes[c->layers[l].node];
        int own = clg_node_own_inputs(n);
        clg_text_printf(t, ",\n    __global const float *w%d, uint w%d_off", l, l);
        if (own == 3 && n->attrs.beta != 0.0f && is_constant(g, n->inputs[2]))
            clg_text_printf(t, ", __global const float *c%d, uint c%d_off", l, l);
        for (int j = own; j < n->n_inputs; j++)
            if (is_constant(g, n->inputs[j]))
                clg_text_printf(t, ", __global const float *e%d_%d, uint e%d_%d_off", l, j, l, j);
    }
    clg_text_printf(t, ")\n{\n    int lid = get_local_id(0), wg = get_local_size(0);\n");
    clg_text_printf(t, "    __local float a0[%lld];\n", (long long)clg_shape_count(&p->values[c->input].shape));
    for (int l = 0; l < c->n_layers; l++)
        clg_text_printf(t, "    __local float a%d[%lld];\n", l + 1,
                        (long long)clg_shape_count(&p->values[c->layers[l].node].shape));
    clg_text_printf(t, "    for (int i = lid; i < %lld; i += wg) a0[i] = in[in_off + i];\n"
                       "    barrier(CLK_LOCAL_MEM_FENCE);\n",
                    (long long)clg_shape_count(&p->values[c->input].shape));
    for (int l = 0; l < c->n_layers; l++) {
        const clg_node *n = &g->nodes[c->layers[l].node];
        const clg_expr *e = c->layers[l].e;
        int own = clg_node_own_inputs(n);
        const clg_shape *ws = &p->values[n->inputs[1]].shape;
        int64_t nn = p->values[c->layers[l].node].shape.dims[1];
        int64_t k = ws->dims[n->attrs.trans_b ? 1 : 0], ldb = ws->dims[1];
        int src = chain_pos(c, n->inputs[0]);
        clg_text_printf(t, "    /* %s */\n    for (int i = lid; i < %lld; i += wg) {\n"
                           "        int r = i / %lld, c = i - r * %lld;\n",
                        n->name, (long long)(m * nn), (long long)nn, (long long)nn);
        clg_text_printf(t, "        float v0 = %af * chain_dot(", (double)n->attrs.alpha);
        clg_text_printf(t, "a%d, %lld, w%d + w%d_off, %lld, %d, r, c);\n", src, (long long)k, l, l,
                        (long long)ldb, n->attrs.trans_b ? 1 : 0);
        /* Where value v's element (r, c) is: a constant in global memory
         * with its broadcast strides, a chain value in local memory. */
        for (int j = own == 3 && n->attrs.beta != 0.0f ? 2 : own; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            bool is_c = j == 2 && own == 3;
            if (!is_c && e && !(e->inputs_used & (1u << (j - own + 1)))) continue;
            char name[32];
            if (is_c) snprintf(name, sizeof name, "c%d", l);
            else snprintf(name, sizeof name, "e%d_%d", l, j);
            if (is_c) clg_text_printf(t, "        v0 += ");
            else clg_text_printf(t, "        float v%d = ", j - own + 1);
            if (is_constant(g, v)) {
                int64_t sr = 0, sc = 0;
                broadcast_2d(&p->values[v].shape, m, nn, &sr, &sc);
                clg_text_printf(t, "%s[%s_off + r * %lld + c * %lld]", name, name, (long long)sr, (long long)sc);
            } else {
                clg_text_printf(t, "a%d[i]", chain_pos(c, v));
            }
            if (is_c) clg_text_printf(t, " * %af", (double)n->attrs.beta);
            clg_text_printf(t, ";\n");
        }
        clg_text_printf(t, "        a%d[i] = ", l + 1);
        if (e) clg_expr_write_opencl(e, t);
        else clg_text_printf(t, "v0");
        clg_text_printf(t, ";\n    }\n    barrier(CLK_LOCAL_MEM_FENCE);\n");
    }
    const clg_shape *ys = &p->values[c->layers[c->n_layers - 1].node].shape;
    if (c->softmax >= 0)
        clg_text_printf(t, "    chain_softmax(a%d, %lld, %lld, out + out_off);\n}\n", c->n_layers,
                        (long long)ys->dims[0], (long long)ys->dims[1]);
    else
        clg_text_printf(t, "    for (int i = lid; i < %lld; i += wg) out[out_off + i] = a%d[i];\n}\n",
                        (long long)clg_shape_count(ys), c->n_layers);
}

/* The kernel's arguments, in chain_source's order; the count. */
static int chain_args(const clg_graph *g, const clg_plan *p, const chain *c, clg_karg *args)
{
    int n_args = 0, last = c->softmax >= 0 ? c->softmax : c->layers[c->n_layers - 1].node;
    args[n_args++] = CLG_ARG_T(&p->values[c->input]);
    args[n_args++] = CLG_ARG_T(&p->values[last]);
    for (int l = 0; l < c->n_layers; l++) {
        const clg_node *n = &g->nodes[c->layers[l].node];
        int own = clg_node_own_inputs(n);
        args[n_args++] = CLG_ARG_T(&p->values[n->inputs[1]]);
        if (own == 3 && n->attrs.beta != 0.0f && is_constant(g, n->inputs[2]))
            args[n_args++] = CLG_ARG_T(&p->values[n->inputs[2]]);
        for (int j = own; j < n->n_inputs; j++)
            if (is_constant(g, n->inputs[j])) args[n_args++] = CLG_ARG_T(&p->values[n->inputs[j]]);
    }
    return n_args;
}

clg_status clg_lower_chain(clg_plan *p, clg_context *ctx, const clg_graph *g, bool *done)
{
    *done = false;
    chain c;
    if (!chain_allowed(ctx, p) || !chain_match(ctx, g, p, &c)) return CLG_OK;
    const clg_allocator *mem = &ctx->allocator;
    int last = c.softmax >= 0 ? c.softmax : c.layers[c.n_layers - 1].node;
    clg_lower lw = {ctx, g, last, p};
    clg_status s = CLG_OK;
    for (int l = 0; l < c.n_layers && !s; l++) {
        lw.node = c.layers[l].node;
        s = clg_epilogue_parse(&lw, &g->nodes[lw.node], &c.layers[l].e);
    }
    lw.node = last;
    const char *body = s ? NULL : clg_context_kernel_source(ctx, "dense_chain.cl");
    if (!s && !body)
        s = clg_lower_fail(&lw, CLG_ERR_BUILD, "kernel file dense_chain.cl is missing from %s",
                           ctx->kernel_dir ? ctx->kernel_dir : "the library");
    char *source = NULL;
    if (!s) {
        clg_text t = {NULL, 0, 0};
        chain_source(g, p, &c, body, &t);
        size_t len = t.len;
        if (!(source = clg_mem_realloc(mem, NULL, len + 1))) {
            s = clg_lower_fail(&lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            t = (clg_text){source, len + 1, 0};
            source[0] = '\0';
            chain_source(g, p, &c, body, &t);
        }
    }
    if (!s) {
        clg_karg args[2 + CHAIN_MAX_LAYERS * (2 + CLG_EXPR_MAX_INPUTS)];
        int n_args = chain_args(g, p, &c, args);
        size_t global[1] = {CHAIN_WORK_ITEMS}, local[1] = {CLG_LOCAL_FIT};
        s = clg_emit_kernel_local(&lw, "generated:dense_chain", source, "dense_chain", NULL, 1, global, local, args,
                                  n_args);
        if (!s) *done = true;
    }
    clg_mem_free(mem, source);
    chain_free(mem, &c);
    return s;
}
