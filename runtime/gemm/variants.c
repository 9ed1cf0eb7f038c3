/* Generated GEMM kernels (kernels/gemm.cl): the variants, their source and
 * launch.
 *
 * A variant is a set of -D defines for kernels/gemm.cl. An epilogue
 * (the expression of a GEMM node's epilogue attribute, x0 the element)
 * becomes a function clg_epilogue(v0, r, c, ...) written in front of the
 * file, with the epilogue's other inputs as extra kernel arguments, each
 * with a row and a column stride (0 where it broadcasts). Which variant a
 * GEMM uses, or CLBlast, is decided by gemm/choice.c. */
#include <stdio.h>
#include <string.h>

#include "epilogue.h"
#include "expr.h"
#include "gemm.h"
#include "lower_util.h"
#include "plan.h"

/* kernels/gemm.cl: the gemm kernel takes an epilogue, pack_b shares its
 * program. */
static const clg_kernel_family gemm_family = {"gemm.cl", "gemm"};

const clg_gemm_variant clg_gemm_variants[CLG_GEMM_VARIANTS] = {
    {"g1x1", 1, 1, 1, 1, 0},
    {"g2x4", 2, 4, 1, 1, 0},
    {"g4x4", 4, 4, 1, 1, 0},
    {"d1x1v8", 1, 1, 8, 1, 0},
    {"n1x8", 1, 1, 1, 8, 0},
    {"n4x16", 4, 1, 1, 16, 0},
    {"n8x16", 8, 1, 1, 16, 0},
    /* packed B, tm x nr tiles (kernels/gemm.cl MR, NV = nr / 16) */
    {"p4x64", 4, 1, 1, 1, 64},
    {"p8x32", 8, 1, 1, 1, 32},
    {"p12x32", 12, 1, 1, 1, 32},
};

bool clg_gemm_variant_fits(int v, bool trans_a, bool trans_b)
{
    if (v < 0 || v >= CLG_GEMM_VARIANTS) return false;
    const clg_gemm_variant *x = &clg_gemm_variants[v];
    if (x->nr > 0) return true;
    return (x->vw == 1 || (!trans_a && trans_b)) && (x->vn == 1 || !trans_b);
}

int clg_gemm_variant_find(const char *name)
{
    for (int v = 0; v < CLG_GEMM_VARIANTS; v++)
        if (!strcmp(clg_gemm_variants[v].name, name)) return v;
    return -1;
}

int clg_gemm_variant_parse_orient(const char *name, clg_orientation *o)
{
    *o = CLG_ORIENT_AS_WRITTEN;
    int v = clg_gemm_variant_find(name);
    size_t len = strlen(name);
    char base[32];
    if (v >= 0 || len < 2 || len >= sizeof base || (name[len - 1] != 't' && name[len - 1] != 'i')) return v;
    snprintf(base, sizeof base, "%.*s", (int)(len - 1), name);
    v = clg_gemm_variant_find(base);
    if (v < 0 || clg_gemm_variants[v].nr == 0) return -1;
    *o = name[len - 1] == 't' ? CLG_ORIENT_FLIPPED : CLG_ORIENT_IMPLICIT;
    return v;
}

int clg_gemm_variant_parse(const char *name, bool *flipped)
{
    clg_orientation o;
    int v = clg_gemm_variant_parse_orient(name, &o);
    *flipped = o != CLG_ORIENT_AS_WRITTEN;
    return v;
}

/* 2-D broadcast strides (row, column) of shape s over an m x n output. */
static bool strides_2d(const clg_shape *s, int64_t m, int64_t n, int64_t st[2])
{
    clg_shape out = {2, {m, n}};
    int64_t full[CLG_MAX_RANK];
    if (!clg_broadcast_strides(s, &out, full)) return false;
    st[0] = full[0];
    st[1] = full[1];
    return true;
}

/* B packed for a packed variant (kernels/gemm.cl pack_b): panels of nr
 * columns, each k rows of nr floats, zero past n. A constant B is packed
 * once into a buffer of the plan's; any other B every run, into scratch. */
static clg_status pack_b(clg_lower *lw, const clg_gemm_gen *g, int variant, const clg_epilogue *ep,
                         const char *options, clg_dev_tensor *packed)
{
    size_t elems = clg_gemm_packed_elems(variant, g->n, g->k);
    int nr = clg_gemm_variants[variant].nr;
    int64_t batch = g->batch > 1 ? g->batch : 1;
    clg_status s = g->b_constant ? clg_plan_buffer(lw, elems * (size_t)batch, packed)
                                 : clg_scratch(lw, elems * (size_t)batch, packed);
    if (s || g->k == 0) return s;
    int from = lw->plan->n_steps;
    /* batched: each product's panels elems apart */
    clg_karg args[] = {CLG_ARG_T(g->b), CLG_ARG_I(g->ldb), CLG_ARG_T(packed), CLG_ARG_I(g->n), CLG_ARG_I(g->k),
                       CLG_ARG_I(g->b_bs), CLG_ARG_I((int64_t)elems)};
    clg_launch l = {&gemm_family, "pack_b", options, batch > 1 ? 3 : 2,
                    {clg_grid_size(g->k), (size_t)((g->n + nr - 1) / nr), (size_t)batch},
                    {0}, args, batch > 1 ? 7 : 5, ep};
    s = clg_emit_launch(lw, &l);
    if (!s && g->b_constant) s = clg_plan_run_steps_now(lw, from);
    return s;
}

size_t clg_gemm_packed_elems(int variant, int64_t n, int64_t k)
{
    int nr = clg_gemm_variants[variant].nr;
    return nr > 0 ? (size_t)((n + nr - 1) / nr * k * nr) : 0;
}

clg_status clg_emit_gemm_gen(clg_lower *lw, const clg_gemm_gen *g, int variant)
{
    const clg_gemm_variant *v = &clg_gemm_variants[variant];
    int64_t m = g->m, nn = g->n, k = g->k;
    bool has_bias = g->bias != NULL;
    clg_status s = CLG_OK;
    if (m == 0 || nn == 0) return CLG_OK;
    if ((s = clg_check_elems(lw, &g->y->shape))) return s;
    if ((g->b_packed || g->y_p || g->conv) && v->nr == 0)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: variant %s takes no packed B", v->name);
    bool batched = g->batch > 1;
    if (batched && (g->epi || g->conv || g->b_packed || g->y_p || has_bias))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: a batched GEMM takes no epilogue, bias or packing");

    int64_t bias_st[2] = {0, 0};
    if (has_bias && !strides_2d(&g->bias->shape, m, nn, bias_st))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the bias does not broadcast to the output");
    clg_epilogue ep = {g->epi, g->n_epi, g->epi_in, m, nn, g->epi_p, &g->y->shape};

    char options[200];
    if (v->nr > 0)
        snprintf(options, sizeof options, "-DMR=%d -DNV=%d -DTRANS_A=%d -DTRANS_B=%d -DHAS_BIAS=%d%s", v->tm,
                 v->nr / 16, g->ta, g->tb, has_bias, g->conv ? " -DCONV_A=1" : batched ? " -DBATCHED=1" : "");
    else
        snprintf(options, sizeof options,
                 "-DTM=%d -DTN=%d -DVW=%d -DVN=%d -DTRANS_A=%d -DTRANS_B=%d -DHAS_BIAS=%d%s", v->tm, v->tn,
                 v->vw, v->vn, g->ta, g->tb, has_bias, batched ? " -DBATCHED=1" : "");
    clg_dev_tensor packed_b;
    if (v->nr > 0 && !g->b_packed && (s = pack_b(lw, g, variant, g->epi ? &ep : NULL, options, &packed_b)))
        return s;
    const clg_dev_tensor *b_arg = v->nr > 0 && !g->b_packed ? &packed_b : g->b;
    clg_karg args[27] = {
        CLG_ARG_T(g->a), CLG_ARG_I(g->lda), CLG_ARG_T(b_arg), CLG_ARG_I(g->ldb), CLG_ARG_T(g->y),
        CLG_ARG_I(g->y_p), CLG_ARG_I(m), CLG_ARG_I(nn), CLG_ARG_I(k), CLG_ARG_F(g->alpha),
        CLG_ARG_T(has_bias ? g->bias : g->y), CLG_ARG_I(bias_st[0]), CLG_ARG_I(bias_st[1]),
        CLG_ARG_F(has_bias ? g->beta : 0.0f),
    };
    int n_args = 14;
    if (g->conv) {
        /* the implicit GEMM's geometry (kernels/gemm.cl CLG_CONV_PARAMS) */
        const clg_conv_geom *c = g->conv;
        const int64_t geom[13] = {c->c, c->h, c->w, c->kh, c->kw, c->out_w, c->p,
                                  c->sh, c->sw, c->pt, c->pl, c->dh, c->dw};
        for (int i = 0; i < 13; i++) args[n_args++] = CLG_ARG_I(geom[i]);
    }
    if (batched) {
        /* a packed B: each product's panels, packed_elems apart */
        int64_t b_bs = v->nr > 0 ? (int64_t)clg_gemm_packed_elems(variant, nn, k) : g->b_bs;
        args[n_args++] = CLG_ARG_I(g->a_bs);
        args[n_args++] = CLG_ARG_I(b_bs);
        args[n_args++] = CLG_ARG_I(g->y_bs);
    }
    clg_launch l = {&gemm_family, "gemm", options, batched ? 3 : 2, {0, 0, (size_t)(batched ? g->batch : 1)}, {0},
                    args, n_args, g->epi ? &ep : NULL};
    if (v->nr > 0) {
        /* One tile per work-group: a tile is a long loop already, and
         * PoCL spreads work-groups over the cores. */
        l.global[0] = (size_t)((m + v->tm - 1) / v->tm);
        l.global[1] = (size_t)((nn + v->nr - 1) / v->nr);
        l.local[0] = l.local[1] = 1;
        if (batched) l.local[2] = 1;
    } else {
        int64_t groups = v->vn > 1 ? (nn + v->vn - 1) / v->vn : (nn + v->tn - 1) / v->tn;
        l.global[0] = clg_grid_size(groups);
        l.global[1] = (size_t)((m + v->tm - 1) / v->tm);
    }
    return clg_emit_launch(lw, &l);
}
