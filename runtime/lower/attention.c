/* Attention, two ways, chosen by measurement before lowering
 * (clg_select_attention):
 * - FUSED: kernels/attention.cl, one launch per node (more only when the
 *   batch dims do not merge into one grid dim), the head and value sizes
 *   and the mask -D defines; the Sq x Sk scores are never written.
 * - UNFUSED: what the node replaced: scores = scale * Q·KT into scratch
 *   (one batched launch of a generated GEMM, clg_emit_product), the mask
 *   added in place, Softmax over the keys (kernels/softmax.cl), then P·V
 *   (likewise).
 * A shape the kernel does not take (D or Dv above CLG_ATTENTION_MAX_DIM;
 * fuse-attention never makes one, a text may) runs unfused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_file.h"
#include "expr.h"
#include "gemm.h"
#include "lower.h"
#include "lower_util.h"

static const clg_kernel_family attention_family = {"attention.cl", NULL};
static const clg_kernel_family softmax_family = {"softmax.cl", NULL};

/* The decision's variant. */
enum { FUSED = 0, UNFUSED = 1 };

/* Query rows per work-group block: a power of two up to 64, no more than
 * the rows there are (the device may cut the work-group further; the
 * kernel then takes a block in several passes). */
#define BLOCK_ROWS_MAX 64

enum { T_OUT, T_Q, T_KT, T_V, T_MASK, N_TENSORS };

/* The batch dims as a walk over the output, the query, KT, V and mask
 * (element strides per batch dim, broadcast dims 0), merged; plus the
 * sizes and the mask's strides along the query and key dims. */
typedef struct att_shape {
    clg_walk w;
    int n_t;
    bool has_mask;
    int64_t sq, sk, d, dv, mask_q, mask_k;
} att_shape;

static clg_status shape_of(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out,
                           att_shape *a)
{
    const clg_shape *os = &out->shape;
    a->has_mask = n->n_inputs > 3;
    a->n_t = a->has_mask ? N_TENSORS : T_MASK;
    const clg_shape *shapes[N_TENSORS] = {os, &in[0].shape, &in[1].shape, &in[2].shape,
                                          a->has_mask ? &in[3].shape : NULL};
    clg_status s;
    for (int t = 0; t < a->n_t; t++)
        if ((s = clg_check_elems(lw, shapes[t]))) return s;
    int br = os->rank - 2;
    a->sq = os->dims[br], a->dv = os->dims[br + 1];
    a->d = in[0].shape.dims[in[0].shape.rank - 1], a->sk = in[1].shape.dims[in[1].shape.rank - 1];
    /* Each tensor's strides through the shape it broadcasts to: the
     * output's batch dims, then its own last two. */
    memset(&a->w, 0, sizeof a->w);
    a->w.rank = br;
    a->w.n_tensors = a->n_t;
    a->mask_q = a->mask_k = 0;
    for (int t = 0; t < a->n_t; t++) {
        clg_shape full = *os;
        full.dims[br] = shapes[t]->dims[shapes[t]->rank - 2];
        full.dims[br + 1] = shapes[t]->dims[shapes[t]->rank - 1];
        if (t == T_MASK) full.dims[br] = a->sq, full.dims[br + 1] = a->sk;
        int64_t st[CLG_MAX_RANK];
        if (!clg_broadcast_strides(shapes[t], &full, st))
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d does not broadcast", t);
        for (int i = 0; i < br; i++) a->w.st[t][i] = st[i];
        if (t == T_MASK) a->mask_q = st[br], a->mask_k = st[br + 1];
    }
    for (int i = 0; i < br; i++) a->w.dims[i] = os->dims[i];
    clg_walk_merge(&a->w);
    return CLG_OK;
}

/* Tensor t's element offset for batch index b (over the merged walk). */
static size_t walk_offset(const clg_walk *w, int t, int64_t b)
{
    int64_t off = 0;
    for (int i = w->rank - 1; i >= 0; i--) {
        off += (b % w->dims[i]) * w->st[t][i];
        b /= w->dims[i];
    }
    return (size_t)off;
}


static clg_status lower_fused(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                              const clg_dev_tensor *out, const att_shape *a)
{
    const clg_walk *w = &a->w;
    int64_t sq = a->sq, sk = a->sk;
    if (a->d > CLG_ATTENTION_MAX_DIM || a->dv > CLG_ATTENTION_MAX_DIM)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                              "head size %lld and value size %lld: the attention kernel takes at most %d each "
                              "(CLGRAPH_ATTENTION=fused)",
                              (long long)a->d, (long long)a->dv, CLG_ATTENTION_MAX_DIM);
    /* The innermost batch dim is grid dim 2; any others are launches. */
    int64_t launches = 1;
    for (int i = 0; i < w->rank - 1; i++) launches *= w->dims[i];
    int inner = w->rank - 1;
    int64_t block = 1;
    while (block < BLOCK_ROWS_MAX && block < sq) block *= 2;
    char defines[96];
    snprintf(defines, sizeof defines, "-DHEAD_DIM=%lld -DVALUE_DIM=%lld%s", (long long)a->d, (long long)a->dv,
             a->has_mask ? " -DHAS_MASK" : "");
    size_t tile = (size_t)(a->d + a->dv) * sizeof(float);
    for (int64_t l = 0; l < launches; l++) {
        clg_dev_tensor at[N_TENSORS];
        for (int t = 0; t < a->n_t; t++) {
            const clg_dev_tensor *base = t == T_OUT ? out : &in[t - 1];
            at[t] = launches == 1 ? *base : clg_tensor_advance(base, walk_offset(w, t, l * w->dims[inner]));
        }
        clg_karg args[] = {
            CLG_ARG_T(&at[T_Q]), CLG_ARG_T(&at[T_KT]), CLG_ARG_T(&at[T_V]), CLG_ARG_T(&at[T_OUT]),
            CLG_ARG_I(sq), CLG_ARG_I(sk), CLG_ARG_I(block), CLG_ARG_F(n->attrs.scale),
            CLG_ARG_I(w->st[T_Q][inner]), CLG_ARG_I(w->st[T_KT][inner]), CLG_ARG_I(w->st[T_V][inner]),
            CLG_ARG_I(w->st[T_OUT][inner]),
            /* the mask's five, or only the tile when there is none */
            a->has_mask ? CLG_ARG_T(&at[T_MASK]) : CLG_ARG_LOCAL(tile),
            CLG_ARG_I(w->st[T_MASK][inner]), CLG_ARG_I(a->mask_q), CLG_ARG_I(a->mask_k),
            CLG_ARG_LOCAL(tile),
        };
        int n_args = a->has_mask ? (int)(sizeof args / sizeof args[0]) : 13;
        clg_launch launch = {&attention_family, "attention", defines, 3,
                             {(size_t)block, (size_t)((sq + block - 1) / block), (size_t)w->dims[inner]},
                             {CLG_LOCAL_FIT, 1, 1}, args, n_args, NULL};
        clg_status s = clg_emit_launch(lw, &launch);
        if (s) return s;
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- operands */

/* An operand (Q, KT, V or the output) as memory and a layout over the
 * node's shape for it: dense at t's offset, or, absorbed
 * (attention_layout.c), strided through the root's memory. */
typedef struct operand {
    clg_dev_tensor t;
    clg_layout l;
} operand;

enum { O_OUT, O_Q, O_KT, O_V, N_OPERANDS };

static const clg_shape *plan_shape(const void *plan, int node)
{
    return &((const clg_plan *)plan)->values[node].shape;
}

/* The operands as the plan placed them: in[k] and out dense unless the
 * chain that computed an input, or the Transpose that reads the output, is
 * absorbed (then the root's memory, as clg_value_is_view made it). */
static void plan_operands(clg_lower *lw, const clg_dev_tensor *in, const clg_dev_tensor *out,
                          operand ops[N_OPERANDS])
{
    const clg_graph *g = lw->g;
    const clg_plan *p = lw->plan;
    bool copies = getenv("CLGRAPH_ATTENTION_COPIES") != NULL;
    for (int k = 0; k < 3; k++) {
        operand *o = &ops[O_Q + k];
        int root;
        if (!copies && clg_attention_operand(g, lw->node, k, plan_shape, p, &root, &o->l)) {
            o->t = p->values[root];
        } else {
            o->t = in[k];
            clg_layout_dense(&in[k].shape, &o->l);
        }
    }
    ops[O_OUT].t = *out;
    clg_layout_dense(&out->shape, &ops[O_OUT].l);
    int tr;
    if (!copies && clg_attention_writes_through(g, lw->node, plan_shape, p, &tr)) {
        /* output dim perm[j] is the Transpose's dim j */
        const clg_node *t = &g->nodes[tr];
        const clg_shape *ts = &p->values[tr].shape;
        int64_t tst[CLG_MAX_RANK];
        clg_dense_strides(ts, tst);
        clg_layout l = {0, {0}, {0}, 0};
        const clg_shape *os = &out->shape;
        for (int i = 0; i < os->rank; i++) {
            if (os->dims[i] == 1) continue;
            for (int j = 0; j < ts->rank; j++) {
                int from = t->attrs.perm_rank ? (int)t->attrs.perm[j] : ts->rank - 1 - j;
                if (from == i) l.size[l.n] = os->dims[i], l.st[l.n] = tst[j], l.n++;
            }
        }
        ops[O_OUT].l = l;
    }
}

static void dense_operands(const clg_dev_tensor *in, const clg_dev_tensor *out, operand ops[N_OPERANDS])
{
    ops[O_OUT].t = *out;
    clg_layout_dense(&out->shape, &ops[O_OUT].l);
    for (int k = 0; k < 3; k++) {
        ops[O_Q + k].t = in[k];
        clg_layout_dense(&in[k].shape, &ops[O_Q + k].l);
    }
}

static bool is_dense(const operand *o)
{
    int64_t run = 1;
    for (int i = o->l.n - 1; i >= 0; i--) {
        if (o->l.st[i] != run) return false;
        run *= o->l.size[i];
    }
    return o->l.off == 0;
}

/* The copy between operand o (shape s) and dense memory d: the walk over
 * o's atoms, tensor 0 the source. */
static clg_status copy_layout(clg_lower *lw, const operand *o, const clg_dev_tensor *d, bool to_dense)
{
    clg_walk w = {o->l.n > 0 ? o->l.n : 1, 2, {0}, {{0}}};
    w.dims[0] = 1;
    int64_t run = 1;
    for (int i = o->l.n - 1; i >= 0; i--) {
        w.dims[i] = o->l.size[i];
        w.st[to_dense ? 0 : 1][i] = o->l.st[i];
        w.st[to_dense ? 1 : 0][i] = run;
        run *= o->l.size[i];
    }
    return to_dense ? clg_emit_copy(lw, &o->t, o->l.off, d, 0, w) : clg_emit_copy(lw, d, 0, &o->t, o->l.off, w);
}

/* Input operand o (shape s) copied into dense scratch, which o becomes. */
static clg_status materialize(clg_lower *lw, operand *o, const clg_shape *s)
{
    clg_dev_tensor d;
    clg_status st = clg_scratch(lw, (size_t)clg_shape_count(s), &d);
    if (st) return st;
    d.shape = *s;
    if ((st = copy_layout(lw, o, &d, true))) return st;
    o->t = d;
    clg_layout_dense(s, &o->l);
    return CLG_OK;
}

/* The output operand o as dense scratch of out's shape (copied to where
 * o was after the products). */
static clg_status output_scratch(clg_lower *lw, const clg_dev_tensor *out, operand *o)
{
    clg_dev_tensor d;
    clg_status s = clg_scratch(lw, (size_t)clg_shape_count(&out->shape), &d);
    if (s) return s;
    d.shape = out->shape;
    o->t = d;
    clg_layout_dense(&out->shape, &o->l);
    return CLG_OK;
}

/* The row and column strides of o's last two dims (rows x cols): a dim of
 * 1 has any stride, so it takes the one that makes the other contiguous
 * dim the leading one. False when o's last two dims are not one atom each. */
static bool matrix_strides(const operand *o, const clg_shape *s, int64_t *rs, int64_t *cs)
{
    clg_layout al;
    int first[CLG_MAX_RANK + 1];
    if (!clg_layout_aligned(&o->l, s, &al, first)) return false;
    int r = s->rank;
    for (int d = r - 2; d < r; d++)
        if (first[d + 1] - first[d] > 1) return false;
    int64_t rows = s->dims[r - 2], cols = s->dims[r - 1];
    *rs = rows > 1 ? al.st[first[r - 2]] : 0;
    *cs = cols > 1 ? al.st[first[r - 1]] : 0;
    if (rows == 1) *rs = *cs == 1 || cols == 1 ? cols : 1;
    if (cols == 1) *cs = *rs == 1 && rows > 1 ? rows : 1;
    return true;
}

/* As a GEMM operand: plain (element (r, c) at r * ld + c) or transposed
 * (at c * ld + r), ld no less than the contiguous extent. */
static bool gemm_form(const operand *o, const clg_shape *s, bool *trans, size_t *ld)
{
    int64_t rs, cs;
    if (!matrix_strides(o, s, &rs, &cs)) return false;
    int64_t rows = s->dims[s->rank - 2], cols = s->dims[s->rank - 1];
    if (cs == 1 && rs >= cols) {
        *trans = false, *ld = (size_t)rs;
        return true;
    }
    if (rs == 1 && cs >= rows) {
        *trans = true, *ld = (size_t)cs;
        return true;
    }
    return false;
}

/* The walk over the output's batch dims, each split where an operand's
 * atoms are (broadcast dims stride 0), tensors O_OUT..O_V, plus the scores
 * (tensor N_OPERANDS) dense over it; then merged. False when the operands'
 * splits of a dim do not nest or there are too many. */
static bool batch_walk(const operand ops[N_OPERANDS], const clg_shape *shapes[N_OPERANDS], int64_t sq, int64_t sk,
                       clg_walk *w)
{
    const clg_shape *os = shapes[O_OUT];
    int br = os->rank - 2;
    clg_layout al[N_OPERANDS];
    int first[N_OPERANDS][CLG_MAX_RANK + 1];
    for (int t = 0; t < N_OPERANDS; t++)
        if (!clg_layout_aligned(&ops[t].l, shapes[t], &al[t], first[t])) return false;
    memset(w, 0, sizeof *w);
    w->n_tensors = N_OPERANDS + 1;
    for (int i = 0; i < br; i++) {
        int64_t D = os->dims[i];
        if (D == 1) continue;
        /* each operand's atoms for dim i, walked from the innermost */
        /* zeroed: only the operands not broadcast along dim i are read,
         * which gcc's -O3 cannot see (-Wmaybe-uninitialized in Release) */
        int at[N_OPERANDS] = {0}, lo[N_OPERANDS] = {0};
        int64_t rem[N_OPERANDS] = {0}, st[N_OPERANDS] = {0};
        bool bc[N_OPERANDS];
        for (int t = 0; t < N_OPERANDS; t++) {
            int d = i - (os->rank - shapes[t]->rank);
            bc[t] = d < 0 || shapes[t]->dims[d] == 1;
            if (bc[t]) continue;
            lo[t] = first[t][d];
            at[t] = first[t][d + 1] - 1;
            rem[t] = al[t].size[at[t]], st[t] = al[t].st[at[t]];
        }
        int64_t dims[CLG_MAX_RANK], sts[CLG_MAX_RANK][N_OPERANDS];
        int nd = 0;
        while (D > 1) {
            int64_t m = D;
            for (int t = 0; t < N_OPERANDS; t++)
                if (!bc[t] && rem[t] < m) m = rem[t];
            if (nd == CLG_MAX_RANK || m <= 1) return false;
            for (int t = 0; t < N_OPERANDS; t++) {
                if (bc[t]) {
                    sts[nd][t] = 0;
                    continue;
                }
                if (rem[t] % m) return false;
                sts[nd][t] = st[t];
                rem[t] /= m, st[t] *= m;
                if (rem[t] == 1 && --at[t] >= lo[t]) rem[t] = al[t].size[at[t]], st[t] = al[t].st[at[t]];
            }
            dims[nd++] = m;
            D /= m;
        }
        if (w->rank + nd > CLG_MAX_RANK) return false;
        for (int j = nd - 1; j >= 0; j--) {
            w->dims[w->rank] = dims[j];
            for (int t = 0; t < N_OPERANDS; t++) w->st[t][w->rank] = sts[j][t];
            w->rank++;
        }
    }
    int64_t run = sq * sk;
    for (int i = w->rank - 1; i >= 0; i--) {
        w->st[N_OPERANDS][i] = run;
        run *= w->dims[i];
    }
    if (w->rank == 0) {
        w->rank = 1;
        w->dims[0] = 1;
    }
    clg_walk_merge(w);
    return true;
}

/* One matrix operand of a product: tensor t of the walk, plain or
 * transposed with its leading dim. */
typedef struct mat {
    int t;
    bool trans;
    size_t ld;
} mat;

/* C[b] = alpha * A[b] · B[b] for every batch index b of the walk: the
 * innermost two batch dims along which neither A nor B broadcasts are one
 * launch's two-level batch (clg_emit_product), the rest launches. */
static clg_status emit_products(clg_lower *lw, const clg_walk *w, const clg_dev_tensor *tensors, mat a, mat b,
                                mat c, size_t m, size_t nn, size_t k, float alpha)
{
    int r = w->rank;
    int levels = 0;
    for (int i = r - 1; i >= 0 && levels < 2; i--) {
        if (w->dims[i] > 1 && w->st[a.t][i] != 0 && w->st[b.t][i] != 0) levels++;
        else break;
    }
    int host = r - levels;
    int64_t launches = 1;
    for (int i = 0; i < host; i++) launches *= w->dims[i];
    clg_gemm gm = {0};
    gm.m = m, gm.n = nn, gm.k = k;
    gm.alpha = alpha;
    gm.a = tensors[a.t], gm.b = tensors[b.t], gm.c = tensors[c.t];
    gm.trans_a = a.trans, gm.trans_b = b.trans;
    gm.lda = a.ld, gm.ldb = b.ld, gm.ldc = c.ld;
    gm.batch = 1;
    if (levels >= 1) {
        gm.batch = (size_t)w->dims[r - 1];
        gm.a_stride = (size_t)w->st[a.t][r - 1];
        gm.b_stride = (size_t)w->st[b.t][r - 1];
        gm.c_stride = (size_t)w->st[c.t][r - 1];
    }
    if (levels == 2) {
        gm.zn = gm.batch;
        gm.batch *= (size_t)w->dims[r - 2];
        gm.a_stride2 = (size_t)w->st[a.t][r - 2];
        gm.b_stride2 = (size_t)w->st[b.t][r - 2];
        gm.c_stride2 = (size_t)w->st[c.t][r - 2];
    }
    for (int64_t l = 0; l < launches; l++) {
        int64_t rest = l, off[3] = {0, 0, 0};
        int ts[3] = {a.t, b.t, c.t};
        for (int i = host - 1; i >= 0; i--) {
            int64_t at = rest % w->dims[i];
            rest /= w->dims[i];
            for (int j = 0; j < 3; j++) off[j] += at * w->st[ts[j]][i];
        }
        gm.a.off = tensors[a.t].off + (size_t)off[0];
        gm.b.off = tensors[b.t].off + (size_t)off[1];
        gm.c.off = tensors[c.t].off + (size_t)off[2];
        clg_status s = clg_emit_product(lw, &gm);
        if (s) return s;
    }
    return CLG_OK;
}

static clg_status lower_unfused(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                const clg_dev_tensor *out, const att_shape *a, operand ops[N_OPERANDS])
{
    const clg_shape *shapes[N_OPERANDS] = {&out->shape, &in[0].shape, &in[1].shape, &in[2].shape};
    int br = out->shape.rank - 2;
    int64_t batches = 1;
    for (int i = 0; i < br; i++) batches *= out->shape.dims[i];
    size_t rows = (size_t)(batches * a->sq);
    clg_status s;
    /* Each operand as a GEMM takes it, else (a layout the products cannot
     * read) copied to dense memory; the output then goes through scratch. */
    mat mq = {O_Q, false, 0}, mkt = {O_KT, false, 0}, mv = {O_V, false, 0}, mo = {O_OUT, false, 0};
    mat *mats[N_OPERANDS] = {&mo, &mq, &mkt, &mv};
    operand final_out = ops[O_OUT];
    bool out_copy = false;
    clg_walk w;
    /* at most: copies for the forms, then copies of every strided operand
     * for the walk, then both hold */
    for (int pass = 0; pass < 3; pass++) {
        bool forms = true;
        for (int t = 0; t < N_OPERANDS; t++) {
            bool f = gemm_form(&ops[t], shapes[t], &mats[t]->trans, &mats[t]->ld) && !(t == O_OUT && mats[t]->trans);
            if (f) continue;
            forms = false;
            if (pass == 2) return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: attention operand %d", t);
            if (t == O_OUT) {
                if ((s = output_scratch(lw, out, &ops[O_OUT]))) return s;
                out_copy = true;
            } else if ((s = materialize(lw, &ops[t], shapes[t]))) {
                return s;
            }
        }
        if (!forms) continue;
        if (batch_walk(ops, shapes, a->sq, a->sk, &w)) break;
        if (pass == 2) return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: attention's batch walk");
        /* splits that do not nest: every strided operand to dense memory */
        for (int t = O_Q; t <= O_V; t++)
            if (!is_dense(&ops[t]) && (s = materialize(lw, &ops[t], shapes[t]))) return s;
        if (!is_dense(&ops[O_OUT])) {
            if ((s = output_scratch(lw, out, &ops[O_OUT]))) return s;
            out_copy = true;
        }
    }
    clg_dev_tensor scores;
    if ((s = clg_scratch(lw, rows * (size_t)a->sk, &scores))) return s;
    /* The scores as [batch..., Sq, Sk], for the mask's broadcast. */
    scores.shape = out->shape;
    scores.shape.dims[br + 1] = a->sk;
    if ((s = clg_check_elems(lw, &scores.shape))) return s;
    clg_dev_tensor t[N_OPERANDS + 1];
    for (int i = 0; i < N_OPERANDS; i++) {
        t[i] = ops[i].t;
        t[i].off += (size_t)ops[i].l.off;
    }
    t[N_OPERANDS] = scores;
    mat ms = {N_OPERANDS, false, (size_t)a->sk};
    if ((s = emit_products(lw, &w, t, mq, mkt, ms, (size_t)a->sq, (size_t)a->sk, (size_t)a->d, n->attrs.scale)))
        return s;
    if (a->has_mask) {
        clg_expr e;
        char err[64];
        if (clg_expr_parse(&e, "x0 + x1", err, sizeof err))
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %s", err);
        clg_dev_tensor add_in[2] = {scores, in[3]};
        if ((s = clg_emit_expr(lw, &e, 2, add_in, &scores))) return s;
    }
    clg_karg args[] = {CLG_ARG_T(&scores), CLG_ARG_T(&scores), CLG_ARG_I(rows), CLG_ARG_I(a->sk), CLG_ARG_I(1)};
    clg_launch l = {&softmax_family, "softmax", CLG_SOFTMAX_LAST_AXIS, 1, {clg_grid_size((int64_t)rows)}, {0},
                    args, 5, NULL};
    if ((s = clg_emit_launch(lw, &l))) return s;
    /* P · V: P is the scores, dense per batch index. */
    if ((s = emit_products(lw, &w, t, ms, mv, mo, (size_t)a->sq, (size_t)a->dv, (size_t)a->sk, 1.0f))) return s;
    return out_copy ? copy_layout(lw, &final_out, &ops[O_OUT].t, false) : CLG_OK;
}

/* The fused kernel reads dense operands: strided ones are copied first
 * (and the output written through scratch). */
static clg_status lower_fused_ops(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                  const clg_dev_tensor *out, const att_shape *a, operand ops[N_OPERANDS])
{
    clg_dev_tensor din[4], dout = *out;
    clg_status s;
    for (int k = 0; k < n->n_inputs && k < 4; k++) din[k] = in[k];
    for (int k = 0; k < 3; k++) {
        if (is_dense(&ops[O_Q + k])) continue;
        if ((s = materialize(lw, &ops[O_Q + k], &in[k].shape))) return s;
        din[k] = ops[O_Q + k].t;
    }
    bool out_copy = !is_dense(&ops[O_OUT]);
    if (out_copy) {
        if ((s = clg_scratch(lw, (size_t)clg_shape_count(&out->shape), &dout))) return s;
        dout.shape = out->shape;
    }
    if ((s = lower_fused(lw, n, din, &dout, a))) return s;
    return out_copy ? copy_layout(lw, &ops[O_OUT], &dout, false) : CLG_OK;
}

clg_status clg_lower_attention(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out)
{
    att_shape a;
    clg_status s = shape_of(lw, n, in, out, &a);
    if (s) return s;
    if (clg_shape_count(&out->shape) == 0) return CLG_OK;
    if (a.sk == 0 || a.d == 0)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "attention over %lld keys of size %lld", (long long)a.sk,
                              (long long)a.d);
    operand ops[N_OPERANDS];
    plan_operands(lw, in, out, ops);
    return clg_decision_of(lw)->variant == UNFUSED ? lower_unfused(lw, n, in, out, &a, ops)
                                                   : lower_fused_ops(lw, n, in, out, &a, ops);
}

/* ---------------------------------------------------------------- choosing */

/* Scores beyond this many elements are not timed (the unfused candidate's
 * scratch): the fused kernel runs them. */
#define MAX_MEASURE_SCORES ((int64_t)1 << 26)
#define ROUNDS 4
#define RUNS 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds per run of RUNS runs of tmp's steps; negative when a step
 * fails. */
static double time_runs(clg_plan *tmp, const clg_graph *g, int runs)
{
    double t0 = now_s();
    for (int r = 0; r < runs; r++)
        for (int s = 0; s < tmp->n_steps; s++)
            if (clg_plan_enqueue(tmp, g, &tmp->steps[s], NULL)) return -1.0;
    if (clFinish(tmp->ctx->queue) != CL_SUCCESS) return -1.0;
    return (now_s() - t0) / runs;
}

/* Times both ways on zero-filled copies of the node's tensors, each
 * lowered into a trial plan of its own, and keeps the faster; FUSED when
 * nothing could be timed. Each is run once to warm up (a kernel's first
 * launch may compile it), then the two take turns for ROUNDS rounds of
 * RUNS runs and the best round of each counts: turns, so that a burst of
 * load from elsewhere on a shared machine falls on both. A candidate's
 * failure is no failure of the plan: its message goes nowhere (lowering
 * reports the chosen way's own errors). */
static int measure(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out,
                   const att_shape *a)
{
    clg_context *ctx = lw->ctx;
    atomic_fetch_add(&ctx->gemm_measurements, 1);
    char discarded[512];
    clg_error_capture capture;
    clg_error_capture_begin(&capture, ctx, discarded, sizeof discarded);
    clg_dev_tensor t_in[4], t_out;
    cl_mem bufs[5];
    int n_bufs = 0;
    bool ok = true;
    for (int i = 0; ok && i < n->n_inputs && i < 4; i++) ok = (bufs[n_bufs++] = clg_zero_buffer(ctx, &in[i].shape, &t_in[i]));
    if (ok) ok = (bufs[n_bufs++] = clg_zero_buffer(ctx, &out->shape, &t_out));
    if (!ok) n_bufs--; /* the failed one is NULL */
    clg_plan tmp[2];
    double best[2] = {-1.0, -1.0};
    bool usable[2] = {false, false};
    for (int v = FUSED; v <= UNFUSED; v++) {
        memset(&tmp[v], 0, sizeof tmp[v]);
        tmp[v].ctx = ctx;
        tmp[v].precision = lw->plan->precision;
        tmp[v].elem_size = lw->plan->elem_size;
        tmp[v].batch = lw->plan->batch;
        tmp[v].scratch_owned = true;
        if (!ok) continue;
        clg_lower tl = {ctx, lw->g, lw->node, &tmp[v]};
        operand ops[N_OPERANDS];
        dense_operands(t_in, &t_out, ops);
        clg_status s = v == FUSED ? lower_fused(&tl, n, t_in, &t_out, a) : lower_unfused(&tl, n, t_in, &t_out, a, ops);
        if (!s) s = clg_plan_bind(&tmp[v], lw->g, 0);
        usable[v] = !s && time_runs(&tmp[v], lw->g, 1) >= 0;
    }
    for (int round = 0; round < 2 * ROUNDS; round++) {
        int v = round % 2;
        if (!usable[v]) continue;
        double t = time_runs(&tmp[v], lw->g, RUNS);
        if (t < 0) usable[v] = false;
        else if (best[v] < 0 || t < best[v]) best[v] = t;
    }
    clFinish(ctx->queue);
    for (int v = FUSED; v <= UNFUSED; v++) {
        for (int i = 0; i < tmp[v].n_steps; i++) clg_plan_step_release(&tmp[v], &tmp[v].steps[i]);
        for (int i = 0; i < tmp[v].n_owned; i++) clReleaseMemObject(tmp[v].owned[i]);
        clg_mem_free(&ctx->allocator, tmp[v].steps);
        clg_mem_free(&ctx->allocator, tmp[v].owned);
    }
    for (int i = 0; i < n_bufs; i++) clReleaseMemObject(bufs[i]);
    clg_error_capture_end(&capture);
    if (usable[UNFUSED] && (!usable[FUSED] || best[UNFUSED] < best[FUSED])) return UNFUSED;
    return FUSED;
}

clg_status clg_select_attention(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                const clg_dev_tensor *out, clg_decision *d)
{
    /* CLGRAPH_ATTENTION=fused or unfused forces one way (tests run both);
     * =measure times them, as the context's "measure" GEMM path does. */
    const char *env = getenv("CLGRAPH_ATTENTION");
    if (env && !strcmp(env, "fused")) return CLG_OK;
    if (env && !strcmp(env, "unfused")) {
        d->variant = UNFUSED;
        return CLG_OK;
    }
    bool measuring = (env && !strcmp(env, "measure")) || (lw->ctx->gemm_path && !strcmp(lw->ctx->gemm_path, "measure"));
    att_shape a;
    char discarded[256];
    clg_error_capture capture;
    clg_error_capture_begin(&capture, lw->ctx, discarded, sizeof discarded);
    clg_status s = shape_of(lw, n, in, out, &a);
    clg_error_capture_end(&capture);
    /* A shape lowering refuses: lowering says why. */
    if (s || clg_shape_count(&out->shape) == 0 || a.sk == 0 || a.d == 0) return CLG_OK;
    if (a.d > CLG_ATTENTION_MAX_DIM || a.dv > CLG_ATTENTION_MAX_DIM) {
        d->variant = UNFUSED;
        return CLG_OK;
    }
    int64_t scores = clg_shape_count(&out->shape) / a.dv * a.sk;
    if (scores > MAX_MEASURE_SCORES) return CLG_OK;
    int preset;
    if (clg_attention_preset_lookup(lw->ctx, clg_attention_key(n, in, out), &preset)) {
        d->variant = preset;
        return CLG_OK;
    }
    if (!measuring) {
        /* The default path, like the GEMMs' (runtime/gemm/choice.c): no
         * timing. On CPUs the unfused launches, whose products run on the
         * generated batched GEMM, were faster than the fused kernel on PoCL
         * and on Intel's runtime at batch 1 and 8 (encoder_gelu_256 and the
         * encoder fixtures, docs/runtime.md); on other devices the fused
         * kernel, which never writes the scores. */
        d->variant = lw->ctx->info.type == CLG_DEVICE_CPU ? UNFUSED : FUSED;
        return CLG_OK;
    }
    d->variant = measure(lw, n, in, out, &a);
    return CLG_OK;
}

/* ---------------------------------------------------------------- bundles */

uint64_t clg_attention_key(const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out)
{
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, n->name, strlen(n->name) + 1);
    for (int i = 0; i <= n->n_inputs; i++) {
        const clg_shape *sh = i < n->n_inputs ? &in[i].shape : &out->shape;
        h = clg_fnv1a(h, &sh->rank, sizeof sh->rank);
        h = clg_fnv1a(h, sh->dims, (size_t)sh->rank * sizeof sh->dims[0]);
    }
    return h;
}

/* Lines "attention KEY VARIANT" (KEY in hex) among the preset choices. */
bool clg_attention_preset_lookup(clg_context *ctx, uint64_t key, int *variant)
{
    bool found = false;
    pthread_mutex_lock(&ctx->lock);
    for (const char *line = ctx->preset_choices; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        unsigned long long k;
        int v;
        if (sscanf(line, "attention %llx %d", &k, &v) == 2 && k == key && (v == FUSED || v == UNFUSED)) {
            *variant = v;
            found = true;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return found;
}
