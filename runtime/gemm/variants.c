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

/* kernels/gemm.cl: the gemm kernel takes an epilogue; pack_b is a
 * program of its own (-DPACK_B, see pack_b below). */
static const clg_kernel_family gemm_family = {"gemm.cl", "gemm"};
/* kernels/gemm_local.cl, the work-group variants (wm > 0); B packed for
 * them by gemm.cl's pack_b too. */
static const clg_kernel_family gemm_local_family = {"gemm_local.cl", "gemm_local"};
/* The depth of the K slices gemm_local.cl stages (its TK), and the most
 * items a work-group of it halves to: tiles below 4 rows or columns would
 * break its loads of 4 floats. */
#define LOCAL_TK 16
#define LOCAL_MIN_SIDE 4

/* Where measuring times a variant (CLGRAPH_GEMM=generated:NAME runs any
 * variant anywhere). */
#define ANY_DEVICE (CLG_DEVICE_CPU | CLG_DEVICE_GPU | CLG_DEVICE_ACCELERATOR | CLG_DEVICE_OTHER)
#define GPU_LIKE (CLG_DEVICE_GPU | CLG_DEVICE_ACCELERATOR | CLG_DEVICE_OTHER)
/* CPU-shaped: more than 64 accumulators per work-item, right for a CPU's
 * vector registers (AVX-512's 32 hold a 12 x 32 tile) and wrong for a GPU,
 * where scripts/gpu_compile_check.py measured them spilling (p12x32: all
 * 512 VGPRs of gfx90a and 1.8-2.5 KiB of scratch per work-item; p4x64 and
 * p8x32 ~1.1 KiB; n8x16 up to 576 B). Measuring never times them on other
 * devices (a GPU's candidates are CLBlast and the l variants), so that
 * no GPU runs a spilling kernel by choice; docs/portability.md. */
#define CPU_ONLY CLG_DEVICE_CPU

const clg_gemm_variant clg_gemm_variants[CLG_GEMM_VARIANTS] = {
    {"g1x1", 1, 1, 1, 1, 0, 0, 0, ANY_DEVICE},
    {"g2x4", 2, 4, 1, 1, 0, 0, 0, ANY_DEVICE},
    {"g4x4", 4, 4, 1, 1, 0, 0, 0, ANY_DEVICE},
    {"d1x1v8", 1, 1, 8, 1, 0, 0, 0, ANY_DEVICE},
    {"n1x8", 1, 1, 1, 8, 0, 0, 0, ANY_DEVICE},
    {"n4x16", 4, 1, 1, 16, 0, 0, 0, ANY_DEVICE},
    {"n8x16", 8, 1, 1, 16, 0, 0, 0, CPU_ONLY},
    /* packed B, tm x nr tiles (kernels/gemm.cl MR, NV = nr / 16) */
    {"p4x64", 4, 1, 1, 1, 64, 0, 0, CPU_ONLY},
    {"p8x32", 8, 1, 1, 1, 32, 0, 0, CPU_ONLY},
    {"p12x32", 12, 1, 1, 1, 32, 0, 0, CPU_ONLY},
    /* work-group tiles through local memory, for GPUs (kernels/gemm_local.cl):
     * 16 x 16 work-items of 4 x 4 or 2 x 4 outputs (64 x 64 or 32 x 64
     * per work-group), B as it is or packed in panels of 64 columns (the
     * form convolutions take). On a CPU they lose to the packed variants
     * (PoCL runs a work-group's items one after another, between
     * barriers, through memory): not timed there. */
    {"l4x4", 4, 4, 1, 1, 0, 16, 16, GPU_LIKE},
    {"l4x4p", 4, 4, 1, 1, 64, 16, 16, GPU_LIKE},
    {"l2x4p", 2, 4, 1, 1, 64, 16, 16, GPU_LIKE},
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
    char last = len ? name[len - 1] : 0;
    if (v >= 0 || len < 2 || len >= sizeof base ||
        (last != 't' && last != 'i' && last != 'w' && last != 'f' && last != 'g' && last != 'd'))
        return v;
    snprintf(base, sizeof base, "%.*s", (int)(len - 1), name);
    v = clg_gemm_variant_find(base);
    if (v < 0 || (last == 'w' ? clg_gemm_variants[v].vn <= 1 : clg_gemm_variants[v].nr == 0)) return -1;
    /* Winograd's products run batched, which the work-group variants do not */
    if ((last == 'f' || last == 'g') && clg_gemm_variants[v].wm > 0) return -1;
    /* the direct convolution has tiles for p4x64 and p8x32 */
    int co, pv;
    if (last == 'd' && !clg_conv_direct_tile(v, &co, &pv)) return -1;
    *o = last == 't'   ? CLG_ORIENT_FLIPPED
         : last == 'i' ? CLG_ORIENT_IMPLICIT
         : last == 'f' ? CLG_ORIENT_WINOGRAD
         : last == 'g' ? CLG_ORIENT_WINOGRAD4
         : last == 'd' ? CLG_ORIENT_DIRECT
                       : CLG_ORIENT_POINTWISE;
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
 * once into a buffer of the plan's; any other B every run, into scratch.
 * pack_b builds as a program of its own (-DPACK_B) whose options are only
 * what the panels' layout needs (their width, B's orientation, batched or
 * not): every GEMM and convolution of a plan with the same panels shares
 * that one program, whatever its epilogue, bias or convolution geometry,
 * and the gemm programs hold no pack_b. On PoCL each kernel of a saved
 * program costs a work-group function compile (docs/runtime.md,
 * "Start-up"), so a cold ResNet-18 compiled pack_b six times before. */
static clg_status pack_b(clg_lower *lw, const clg_gemm_gen *g, int variant, bool batched, clg_dev_tensor *packed)
{
    size_t elems = clg_gemm_packed_elems(variant, g->n, g->k);
    int nr = clg_gemm_variants[variant].nr;
    int64_t batch = g->batch > 1 ? g->batch : 1;
    clg_status s = g->b_constant ? clg_plan_buffer(lw, elems * (size_t)batch, packed)
                                 : clg_scratch(lw, elems * (size_t)batch, packed);
    if (s || g->k == 0) return s;
    int from = lw->plan->n_steps;
    char options[64];
    snprintf(options, sizeof options, "-DPACK_B=1 -DNV=%d -DTRANS_B=%d%s", nr / 16, g->tb,
             batched ? " -DBATCHED=1" : "");
    /* batched: each product's panels elems apart */
    clg_karg args[] = {CLG_ARG_T(g->b), CLG_ARG_I(g->ldb), CLG_ARG_T(packed), CLG_ARG_I(g->n), CLG_ARG_I(g->k),
                       CLG_ARG_I(g->b_bs), CLG_ARG_I((int64_t)elems), CLG_ARG_I(g->zn > 0 ? g->zn : batch),
                       CLG_ARG_I(g->zn > 0 ? g->b_bs2 : 0)};
    clg_launch l = {&gemm_family, "pack_b", options, batched ? 3 : 2,
                    {clg_grid_size(g->k), (size_t)((g->n + nr - 1) / nr), (size_t)batch},
                    {0}, args, batched ? 9 : 5, NULL};
    s = clg_emit_launch(lw, &l);
    if (!s && g->b_constant) s = clg_plan_run_steps_now(lw, from);
    return s;
}

/* The work-group (*wm x *wn items) of work-group variant v on lw's
 * device: v's own, each side halved in turn (the longer first) until the
 * device's CL_DEVICE_MAX_WORK_GROUP_SIZE and CL_DEVICE_MAX_WORK_ITEM_SIZES
 * allow it (64-item groups: 8 x 8 items, tiles of 32 x 32); a packed B's
 * panels stay a multiple of the tile's columns, since both are powers of
 * two. The kernel's own CL_KERNEL_WORK_GROUP_SIZE (its registers) and
 * local memory are checked when it is built (clg_emit_kernel_local). A
 * failed query is the node's error, not "no limit". */
static clg_status local_group(clg_lower *lw, const clg_gemm_variant *v, int *wm, int *wn)
{
    size_t device_max = 0, item_max[3] = {0, 0, 0};
    cl_int err = clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof device_max, &device_max, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(lw->ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_max, item_max, NULL);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(lw->ctx, err, "clGetDeviceInfo", "node %s (%s): sizing the GEMM's work-groups",
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op));
    *wm = v->wm;
    *wn = v->wn;
    while ((size_t)*wm * (size_t)*wn > device_max || (size_t)*wn > item_max[0] || (size_t)*wm > item_max[1]) {
        bool halve_m = (size_t)*wm > item_max[1] || ((size_t)*wn <= item_max[0] && *wm * v->tm >= *wn * v->tn);
        if (halve_m && *wm / 2 * v->tm >= LOCAL_MIN_SIDE)
            *wm /= 2;
        else if (*wn / 2 * v->tn >= LOCAL_MIN_SIDE)
            *wn /= 2;
        else if (*wm / 2 * v->tm >= LOCAL_MIN_SIDE)
            *wm /= 2;
        else
            return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                                  "GEMM variant %s needs work-groups of %d items at least; %s allows %zu",
                                  v->name, *wm * *wn, lw->ctx->info.name, device_max);
    }
    return CLG_OK;
}

bool clg_conv_in_bounds(const clg_conv_geom *g)
{
    int64_t out_h = g->out_w > 0 ? g->p / g->out_w : 0;
    return g->pt == 0 && g->pl == 0 && out_h > 0 && (out_h - 1) * g->sh + (g->kh - 1) * g->dh < g->h &&
           (g->out_w - 1) * g->sw + (g->kw - 1) * g->dw < g->w;
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
    if ((g->b_packed || (g->y_p && !g->b_nchw) || g->conv) && v->nr == 0)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: variant %s takes no packed B", v->name);
    if (g->b_nchw && (v->vn <= 1 || v->wm > 0 || g->tb))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: variant %s reads no pointwise input", v->name);
    /* a single product whose C rows are y_ld apart runs batched too (its
     * kernel is the one that takes y_ld) */
    bool batched = g->batch > 1 || (g->y_ld > 0 && g->y_ld != g->n);
    /* (B already packed, as Winograd's transformed weights are, it may be:
     * the check above made sure the variant packs) */
    if (batched && (g->epi || g->conv || g->y_p || has_bias || g->b_nchw))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: a batched GEMM takes no epilogue, bias or NCHW store");
    /* kernels/gemm_local.cl has no batched form */
    if (batched && v->wm > 0)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "GEMM variant %s does not run batched products", v->name);
    /* A vector variant's width is its widest: the device's float vector
     * width caps it (clg_context.vector_width: d1x1v8 runs 1-wide dot
     * products and n4x16 4 columns per vector where a GPU prefers 1 or 4),
     * so that a scalar GPU gets no float16 of sixteen registers and loads. The name and the
     * choice file stay the variant's; the build options say the width. */
    int vw = v->vw < lw->ctx->vector_width ? v->vw : lw->ctx->vector_width;
    int vn = v->vn < lw->ctx->vector_width ? v->vn : lw->ctx->vector_width;

    int64_t bias_st[2] = {0, 0};
    if (has_bias && !strides_2d(&g->bias->shape, m, nn, bias_st))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: the bias does not broadcast to the output");
    clg_epilogue ep = {g->epi, g->n_epi, g->epi_in, m, nn, g->epi_p, &g->y->shape};

    char options[280], conv[100] = "";
    /* the implicit GEMM: kernels up to 7 x 7 take an interior tile's loop
     * specialised to their size and column dilation (kernels/gemm.cl
     * CONV_KH; the column stride, at most 8 there, is an argument, so
     * strides 1 and 2 share a program); with every tap inside the input (no
     * padding, or written out first) the other tiles a loop over row
     * pointers (CONV_INB) */
    const clg_conv_geom *cg = g->conv;
    if (cg && cg->kh * cg->kw <= 49 && cg->sw <= 8 && cg->dw <= 8)
        snprintf(conv, sizeof conv, " -DCONV_A=1 -DCONV_KH=%d -DCONV_KW=%d -DCONV_DW=%d%s", (int)cg->kh,
                 (int)cg->kw, (int)cg->dw, clg_conv_in_bounds(cg) ? " -DCONV_INB=1" : "");
    else if (g->conv)
        snprintf(conv, sizeof conv, " -DCONV_A=1");
    int wm = 0, wn = 0;
    if (v->wm > 0) {
        /* kernels/gemm_local.cl: the general implicit-conv operand only */
        if ((s = local_group(lw, v, &wm, &wn))) return s;
        snprintf(options, sizeof options,
                 "-DWM=%d -DWN=%d -DTM=%d -DTN=%d -DTK=%d -DPACKED_B=%d -DTRANS_A=%d -DTRANS_B=%d -DHAS_BIAS=%d%s",
                 wm, wn, v->tm, v->tn, LOCAL_TK, v->nr, g->ta, g->tb, has_bias, g->conv ? " -DCONV_A=1" : "");
    } else if (v->nr > 0)
        snprintf(options, sizeof options, "-DMR=%d -DNV=%d -DTRANS_A=%d -DTRANS_B=%d -DHAS_BIAS=%d%s", v->tm,
                 v->nr / 16, g->ta, g->tb, has_bias, conv[0] ? conv : batched ? " -DBATCHED=1" : "");
    else
        snprintf(options, sizeof options,
                 "-DTM=%d -DTN=%d -DVW=%d -DVN=%d -DTRANS_A=%d -DTRANS_B=%d -DHAS_BIAS=%d%s", v->tm, v->tn,
                 vw, vn, g->ta, g->tb, has_bias,
                 batched ? " -DBATCHED=1" : g->b_nchw ? " -DCONV_B1=1" : "");
    clg_dev_tensor packed_b;
    if (v->nr > 0 && !g->b_packed) {
        s = pack_b(lw, g, variant, batched, &packed_b);
        if (s) return s;
    }
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
        int64_t zn = g->zn > 0 ? g->zn : (g->batch > 1 ? g->batch : 1);
        args[n_args++] = CLG_ARG_I(g->a_bs);
        args[n_args++] = CLG_ARG_I(b_bs);
        args[n_args++] = CLG_ARG_I(g->y_bs);
        args[n_args++] = CLG_ARG_I(zn);
        args[n_args++] = CLG_ARG_I(g->zn > 0 ? g->a_bs2 : 0);
        /* packed panels are dense over the whole batch */
        args[n_args++] = CLG_ARG_I(g->zn > 0 ? (v->nr > 0 ? zn * b_bs : g->b_bs2) : 0);
        args[n_args++] = CLG_ARG_I(g->zn > 0 ? g->y_bs2 : 0);
        args[n_args++] = CLG_ARG_I(g->y_ld > 0 ? g->y_ld : nn);
    }
    clg_launch l = {&gemm_family, "gemm", options, batched ? 3 : 2,
                    {0, 0, (size_t)(batched && g->batch > 1 ? g->batch : 1)}, {0},
                    args, n_args, g->epi ? &ep : NULL};
    if (v->wm > 0) {
        /* one work-group per (wm * tm) x (wn * tn) tile of C */
        l.family = &gemm_local_family;
        l.kernel = "gemm_local";
        l.global[0] = (size_t)((nn + wn * v->tn - 1) / (wn * v->tn)) * (size_t)wn;
        l.global[1] = (size_t)((m + wm * v->tm - 1) / (wm * v->tm)) * (size_t)wm;
        l.local[0] = (size_t)wn;
        l.local[1] = (size_t)wm;
    } else if (v->nr > 0) {
        /* One tile per work-group: a tile is a long loop already, and
         * PoCL spreads work-groups over the cores. */
        l.global[0] = (size_t)((m + v->tm - 1) / v->tm);
        l.global[1] = (size_t)((nn + v->nr - 1) / v->nr);
        l.local[0] = l.local[1] = 1;
        if (batched) l.local[2] = 1;
    } else {
        int64_t groups = vn > 1 ? (nn + vn - 1) / vn : (nn + v->tn - 1) / v->tn;
        l.global[0] = clg_grid_size(groups);
        l.global[1] = (size_t)((m + v->tm - 1) / v->tm);
    }
    return clg_emit_launch(lw, &l);
}
