/* BatchNorm folding. In inference a BatchNorm is y = x·s + t per channel,
 * with s = scale / sqrt(var + epsilon) and t = bias - mean·s (the node's own
 * epsilon). A linear layer next to it can absorb that:
 *
 *   backward, BatchNorm(Gemm or Conv2D):  the producer's weights scale by s
 *     per output channel and its bias becomes s·bias + t;
 *   forward, Gemm(BatchNorm(x)) or an unpadded Conv2D(BatchNorm(x)): the
 *     consumer's weights scale by s per input channel and its bias gains
 *     W·t.
 *
 * New weights and biases are always new constants: the old ones may be
 * shared with other nodes. Sums are taken in double. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "passes.h"

/* A BatchNorm's per-channel s and t, or false when its parameters are not
 * all constants. */
static bool bn_affine(const clg_graph *g, const clg_node *bn, double *s, double *t)
{
    for (int k = 1; k < 5; k++)
        if (!clg_pass_is_constant(g, bn->inputs[k])) return false;
    const float *scale = g->nodes[bn->inputs[1]].constant->data;
    const float *bias = g->nodes[bn->inputs[2]].constant->data;
    const float *mean = g->nodes[bn->inputs[3]].constant->data;
    const float *var = g->nodes[bn->inputs[4]].constant->data;
    int64_t ch = g->nodes[bn->inputs[1]].shape.dims[0];
    double eps = bn->attrs.epsilon;
    for (int64_t c = 0; c < ch; c++) {
        s[c] = (double)scale[c] / sqrt((double)var[c] + eps);
        t[c] = (double)bias[c] - (double)mean[c] * s[c];
    }
    return true;
}

static bool optional_constant(const clg_graph *g, const clg_node *n, int k)
{
    return n->n_inputs <= k || clg_pass_is_constant(g, n->inputs[k]);
}

/* ---- the Gemm bias C, read and rebuilt */

/* The shape of a Gemm bias that must hold a per-column term: [N], or
 * [rows, N] when C already varies along M ([M, 1], [M, N]). */
static clg_shape gemm_bias_shape(const clg_graph *g, const clg_node *gemm)
{
    int64_t n = gemm->shape.dims[1];
    bool has_c = gemm->n_inputs == 3 && gemm->attrs.beta != 0.0f;
    const clg_shape *c = has_c ? &g->nodes[gemm->inputs[2]].shape : NULL;
    if (c && c->rank == 2 && c->dims[0] != 1) return (clg_shape){2, {c->dims[0], n}};
    if (c && c->rank == 2) return (clg_shape){2, {1, n}};
    return (clg_shape){1, {n}};
}

/* beta·C at (row i, column j) of the Gemm's output, 0 without C. */
static double gemm_bias_at(const clg_graph *g, const clg_node *gemm, int64_t i, int64_t j)
{
    if (gemm->n_inputs < 3 || gemm->attrs.beta == 0.0f) return 0.0;
    const clg_node *c = &g->nodes[gemm->inputs[2]];
    const clg_shape *cs = &c->shape;
    int64_t idx;
    if (cs->rank == 1) idx = cs->dims[0] == 1 ? 0 : j;
    else idx = (cs->dims[0] == 1 ? 0 : i) * cs->dims[1] + (cs->dims[1] == 1 ? 0 : j);
    return (double)gemm->attrs.beta * c->constant->data[idx];
}

/* ---- making the replacement */

/* "w2/bn2": constant w2 with BatchNorm bn2 folded in. */
static void fold_name(char *buf, size_t size, const clg_graph *g, int weight_or_layer, const char *suffix,
                      const char *bn)
{
    snprintf(buf, size, "%s%s/%s", g->nodes[weight_or_layer].name, suffix, bn);
}

/* Appends a copy of layer (a Gemm or Conv2D) reading x, with new weight and
 * bias constants w and b named after BatchNorm bn, and replaces node
 * `replaced` (the BatchNorm or the layer itself) by it. The new node takes
 * the name of `replaced` when that is a graph output, else the layer's.
 * Names are strings of their own, so they stay valid while the node array
 * grows. */
static clg_status replace_layer(clg_graph *g, int layer, int x, const clg_shape *w_shape, const float *w,
                                const clg_shape *b_shape, const float *b, int replaced, const char *bn)
{
    clg_status s = CLG_OK;
    char name[256];
    int w_input = g->nodes[layer].inputs[1];
    fold_name(name, sizeof name, g, w_input, "", bn);
    int wi = clg_edit_constant(g, name, w_shape, w, &s);
    if (wi < 0) return s;
    const clg_node *l = &g->nodes[layer];
    if (l->n_inputs == 3) fold_name(name, sizeof name, g, l->inputs[2], "", bn);
    else fold_name(name, sizeof name, g, layer, ".bias", bn);
    int bi = clg_edit_constant(g, name, b_shape, b, &s);
    if (bi < 0) return s;
    clg_attrs attrs = g->nodes[layer].attrs;
    attrs.beta = 1.0f; /* beta·C is inside the new bias (Gemm only) */
    int inputs[3] = {x, wi, bi};
    int k = clg_edit_append(g, g->nodes[layer].op, g->nodes[layer].name, inputs, 3, &attrs, NULL, NULL, &s);
    if (k < 0) return s;
    clg_edit_replace_uses(g, replaced, k);
    clg_edit_swap_names(g, clg_edit_is_output(g, k) ? replaced : layer, k);
    g->nodes[replaced].dead = true;
    return CLG_OK;
}

/* ---- backward: BatchNorm(layer(x)) -> layer'(x) */

static clg_status fold_backward(clg_graph *g, int bn_i, int layer, const double *s, const double *t)
{
    const clg_node *l = &g->nodes[layer];
    const clg_node *wn = &g->nodes[l->inputs[1]];
    const float *w = wn->constant->data;
    clg_shape w_shape = wn->shape, b_shape;
    size_t w_count = wn->constant->count;
    float *nw = clg_malloc(g, w_count * sizeof *nw), *nb = NULL;
    clg_status st = CLG_OK;
    if (!nw) goto oom;
    if (l->op == CLG_OP_GEMM) {
        /* Output column j is channel j; B is [K, N], or [N, K] with transB. */
        int64_t rows = w_shape.dims[0], cols = w_shape.dims[1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++)
                nw[r * cols + c] = (float)(w[r * cols + c] * s[l->attrs.trans_b ? r : c]);
        b_shape = gemm_bias_shape(g, l);
        int64_t n = b_shape.rank == 1 ? b_shape.dims[0] : b_shape.dims[1];
        int64_t m = b_shape.rank == 1 ? 1 : b_shape.dims[0];
        if (!(nb = clg_malloc(g, (size_t)(m * n) * sizeof *nb))) goto oom;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) nb[i * n + j] = (float)(s[j] * gemm_bias_at(g, l, i, j) + t[j]);
    } else {
        /* Conv2D: W is [M, C/group, kH, kW]; output channel m is W's row m
         * whatever the group. */
        int64_t m = w_shape.dims[0], per = (int64_t)w_count / m;
        for (int64_t o = 0; o < m; o++)
            for (int64_t k = 0; k < per; k++) nw[o * per + k] = (float)(w[o * per + k] * s[o]);
        b_shape = (clg_shape){1, {m}};
        const float *b = l->n_inputs == 3 ? g->nodes[l->inputs[2]].constant->data : NULL;
        if (!(nb = clg_malloc(g, (size_t)m * sizeof *nb))) goto oom;
        for (int64_t o = 0; o < m; o++) nb[o] = (float)(s[o] * (b ? b[o] : 0.0) + t[o]);
    }
    /* The BatchNorm's node is what keeps its name; the layer dies with it. */
    st = replace_layer(g, layer, l->inputs[0], &w_shape, nw, &b_shape, nb, bn_i, g->nodes[bn_i].name);
    if (!st) g->nodes[layer].dead = true;
    goto done;
oom:
    st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory folding %s", g->nodes[bn_i].name);
done:
    clg_free(g, nw);
    clg_free(g, nb);
    return st;
}

/* Can the BatchNorm at bn_i fold into the layer that produces its input? */
static bool backward_legal(const clg_sweep *sw, int bn_i)
{
    const clg_graph *g = sw->g;
    int layer = g->nodes[bn_i].inputs[0];
    /* The layer's own output must vanish: nothing else may read it and it
     * must not be a graph output. */
    if (clg_sweep_sole_consumer(sw, layer) != bn_i) return false;
    const clg_node *l = &g->nodes[layer];
    /* BN(epilogue(layer)) is no layer with other weights. */
    if (clg_node_has_epilogue(l)) return false;
    if (l->op == CLG_OP_GEMM)
        return clg_pass_is_constant(g, l->inputs[1]) && optional_constant(g, l, 2);
    if (l->op == CLG_OP_CONV2D)
        return clg_pass_is_constant(g, l->inputs[1]) && optional_constant(g, l, 2);
    return false;
}

/* ---- forward: layer(BatchNorm(x)) -> layer'(x), for every consumer */

static bool forward_consumer_legal(const clg_graph *g, int bn_i, int c)
{
    const clg_node *n = &g->nodes[c];
    if (n->inputs[0] != bn_i || clg_node_has_epilogue(n)) return false; /* its rewrite keeps no epilogue */
    for (int k = 1; k < n->n_inputs; k++)
        if (n->inputs[k] == bn_i || !clg_pass_is_constant(g, n->inputs[k])) return false;
    if (n->op == CLG_OP_GEMM) return n->attrs.trans_a == 0; /* channels are A's columns */
    if (n->op == CLG_OP_CONV2D) {
        /* Zero padding would meet t at the border where the unfolded layer
         * sees 0: folding is exact only without padding. */
        for (int k = 0; k < 4; k++)
            if (n->attrs.pads[k] != 0) return false;
        return true;
    }
    return false;
}

static clg_status fold_forward_into(clg_graph *g, int bn_i, int c, const double *s, const double *t)
{
    const clg_node *l = &g->nodes[c];
    const clg_node *wn = &g->nodes[l->inputs[1]];
    const float *w = wn->constant->data;
    clg_shape w_shape = wn->shape, b_shape;
    size_t w_count = wn->constant->count;
    float *nw = clg_malloc(g, w_count * sizeof *nw), *nb = NULL;
    double *u = NULL;
    clg_status st = CLG_OK;
    if (!nw) goto oom;
    if (l->op == CLG_OP_GEMM) {
        /* op(B) is [K, N]; its row k meets channel k of the BatchNorm. */
        int64_t rows = w_shape.dims[0], cols = w_shape.dims[1];
        int64_t n = l->shape.dims[1];
        if (!(u = clg_calloc(g, (size_t)n, sizeof *u))) goto oom;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t col = 0; col < cols; col++) {
                int64_t k = l->attrs.trans_b ? col : r, j = l->attrs.trans_b ? r : col;
                double v = w[r * cols + col];
                nw[r * cols + col] = (float)(v * s[k]);
                u[j] += v * t[k];
            }
        b_shape = gemm_bias_shape(g, l);
        int64_t bm = b_shape.rank == 1 ? 1 : b_shape.dims[0];
        if (!(nb = clg_malloc(g, (size_t)(bm * n) * sizeof *nb))) goto oom;
        for (int64_t i = 0; i < bm; i++)
            for (int64_t j = 0; j < n; j++)
                nb[i * n + j] = (float)(gemm_bias_at(g, l, i, j) + (double)l->attrs.alpha * u[j]);
    } else {
        /* Conv2D: W[m, cg, kh, kw] reads input channel (m's group)·C/group + cg. */
        int64_t m = w_shape.dims[0], cg = w_shape.dims[1], taps = w_shape.dims[2] * w_shape.dims[3];
        int64_t m_per_group = m / l->attrs.group;
        const float *b = l->n_inputs == 3 ? g->nodes[l->inputs[2]].constant->data : NULL;
        b_shape = (clg_shape){1, {m}};
        if (!(nb = clg_malloc(g, (size_t)m * sizeof *nb))) goto oom;
        for (int64_t o = 0; o < m; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t ci = 0; ci < cg; ci++) {
                int64_t ch = (o / m_per_group) * cg + ci;
                for (int64_t k = 0; k < taps; k++) {
                    int64_t idx = (o * cg + ci) * taps + k;
                    nw[idx] = (float)(w[idx] * s[ch]);
                    acc += (double)w[idx] * t[ch];
                }
            }
            nb[o] = (float)acc;
        }
    }
    st = replace_layer(g, c, g->nodes[bn_i].inputs[0], &w_shape, nw, &b_shape, nb, c, g->nodes[bn_i].name);
    goto done;
oom:
    st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory folding %s", g->nodes[bn_i].name);
done:
    clg_free(g, nw);
    clg_free(g, nb);
    clg_free(g, u);
    return st;
}

/* The consumers of the BatchNorm at bn_i when every one of them can absorb
 * it; their count, or 0 when forward folding is not legal. */
static int forward_consumers(const clg_sweep *sw, int bn_i, int *out)
{
    const clg_graph *g = sw->g;
    /* The BatchNorm's output must vanish, so it cannot be a graph output. */
    if (clg_edit_is_output(g, bn_i)) return 0;
    int n = 0, reads = 0;
    for (int c = bn_i + 1; c < sw->n0; c++) {
        const clg_node *cn = &g->nodes[c];
        if (cn->dead) continue;
        int r = 0;
        for (int k = 0; k < cn->n_inputs; k++) r += cn->inputs[k] == bn_i;
        if (!r) continue;
        if (!clg_sweep_fresh(sw, c) || !forward_consumer_legal(g, bn_i, c)) return 0;
        out[n++] = c;
        reads += r;
    }
    /* Every use accounted for (a consumer appended this sweep is not). */
    return reads == sw->uses[bn_i] ? n : 0;
}

clg_status clg_pass_fold_batchnorm(clg_graph *g, bool *changed)
{
    clg_sweep sw;
    clg_status st = clg_sweep_begin(g, &sw);
    if (st) return st;
    int max_ch = 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == CLG_OP_BATCHNORM && g->nodes[i].shape.dims[1] > max_ch)
            max_ch = (int)g->nodes[i].shape.dims[1];
    double *s = clg_malloc(g, (size_t)max_ch * sizeof *s);
    double *t = clg_malloc(g, (size_t)max_ch * sizeof *t);
    int *consumers = clg_malloc(g, (size_t)sw.n0 * sizeof *consumers);
    if (!s || !t || !consumers) {
        st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory in pass fold-batchnorm");
        goto done;
    }
    for (int i = 0; i < sw.n0 && !st; i++) {
        if (g->nodes[i].op != CLG_OP_BATCHNORM || !clg_sweep_fresh(&sw, i)) continue;
        if (!bn_affine(g, &g->nodes[i], s, t)) continue;
        int x = g->nodes[i].inputs[0];
        if (backward_legal(&sw, i)) {
            if ((st = fold_backward(g, i, x, s, t))) break;
            clg_sweep_touch(&sw, i);
            clg_sweep_touch(&sw, x);
            clg_sweep_touch(&sw, g->nodes[x].inputs[0]);
            *changed = true;
            continue;
        }
        int n = forward_consumers(&sw, i, consumers);
        for (int k = 0; k < n && !st; k++) {
            st = fold_forward_into(g, i, consumers[k], s, t);
            clg_sweep_touch(&sw, consumers[k]);
        }
        if (n && !st) {
            g->nodes[i].dead = true;
            clg_sweep_touch(&sw, i);
            clg_sweep_touch(&sw, x);
            *changed = true;
        }
    }
done:
    clg_free(g, s);
    clg_free(g, t);
    clg_free(g, consumers);
    clg_sweep_end(&sw);
    return st;
}
