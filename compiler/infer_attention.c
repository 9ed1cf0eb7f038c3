/* Shape inference for Attention(Q, KT, V [, mask]):
 * O = softmax(scale * Q·KT + mask) · V over the last axis, with
 * Q [..., Sq, D], KT [..., D, Sk] (K already transposed, as PyTorch exports
 * it), V [..., Sk, Dv] and O [..., Sq, Dv]. The batch dims before the last
 * two broadcast as MatMul's; the mask broadcasts to the scores
 * [..., Sq, Sk] without widening them. Symbolic sizes pass through; where
 * two may be equal only once bound, the binding checks them. */
#include <math.h>
#include <stdio.h>

#include "infer.h"

#define FAIL(c, ...) clg_fail_node((c)->g, CLG_ERR_INVALID_GRAPH, (c)->line, (c)->name, (c)->op, __VA_ARGS__)

/* Equal, or one of them symbolic and not provably different. */
static bool may_equal(const clg_infer_ctx *c, int64_t a, int64_t b)
{
    return a == b || ((clg_dim_is_symbolic(a) || clg_dim_is_symbolic(b)) && !clg_dim_differ(c->g, a, b));
}

/* The dims before the last two. */
static clg_shape batch_of(const clg_shape *s)
{
    clg_shape b = {s->rank - 2, {0}};
    for (int i = 0; i < b.rank; i++) b.dims[i] = s->dims[i];
    return b;
}

clg_status clg_infer_attention(const clg_infer_ctx *c, clg_shape *out)
{
    static const char *const names[] = {"Q", "KT", "V", "mask"};
    char s1[160], s2[160], d1[64], d2[64];
    for (int i = 0; i < c->n_inputs; i++)
        if (c->in[i]->rank < 2)
            return FAIL(c, "input %s must have rank 2 or more, got %s", names[i],
                        clg_shape_str(c->g, c->in[i], s1, sizeof s1));
    const clg_shape *q = c->in[0], *kt = c->in[1], *v = c->in[2];
    if (!isfinite(c->attrs->scale)) return FAIL(c, "scale must be finite, got %g", c->attrs->scale);
    int64_t d = q->dims[q->rank - 1], sq = q->dims[q->rank - 2];
    int64_t sk = kt->dims[kt->rank - 1];
    if (!may_equal(c, d, kt->dims[kt->rank - 2]))
        return FAIL(c, "Q %s has head size %s (its last dim), but KT %s has %s rows (KT is [..., D, Sk])",
                    clg_shape_str(c->g, q, s1, sizeof s1), clg_dim_str(c->g, d, d1, sizeof d1),
                    clg_shape_str(c->g, kt, s2, sizeof s2), clg_dim_str(c->g, kt->dims[kt->rank - 2], d2, sizeof d2));
    if (!may_equal(c, sk, v->dims[v->rank - 2]))
        return FAIL(c, "KT %s has %s keys (its last dim), but V %s has %s rows",
                    clg_shape_str(c->g, kt, s1, sizeof s1), clg_dim_str(c->g, sk, d1, sizeof d1),
                    clg_shape_str(c->g, v, s2, sizeof s2), clg_dim_str(c->g, v->dims[v->rank - 2], d2, sizeof d2));
    clg_shape bq = batch_of(q), bk = batch_of(kt), bv = batch_of(v), b1, batch;
    clg_status s;
    if ((s = clg_infer_broadcast_shapes(c, &bq, &bk, &b1)) || (s = clg_infer_broadcast_shapes(c, &b1, &bv, &batch)))
        return s;
    if (batch.rank + 2 > CLG_MAX_RANK) return FAIL(c, "result would exceed rank %d", CLG_MAX_RANK);
    if (c->n_inputs == 4) {
        clg_shape scores = batch, full;
        scores.dims[scores.rank++] = sq;
        scores.dims[scores.rank++] = sk;
        const clg_shape *m = c->in[3];
        bool same = clg_infer_broadcast_shapes(c, &scores, m, &full) == CLG_OK && full.rank == scores.rank;
        for (int i = 0; same && i < full.rank; i++) same = full.dims[i] == scores.dims[i];
        if (!same) {
            clg_clear_error(c->g);
            return FAIL(c, "mask %s does not broadcast to the scores %s", clg_shape_str(c->g, m, s1, sizeof s1),
                        clg_shape_str(c->g, &scores, s2, sizeof s2));
        }
    }
    *out = batch;
    out->dims[out->rank++] = sq;
    out->dims[out->rank++] = v->dims[v->rank - 1];
    return CLG_OK;
}
