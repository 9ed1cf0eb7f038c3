/* How a GEMM runs: CLBlast or a generated variant (with the node's
 * epilogue in its store), chosen by measurement or by the device class's
 * default, for the selection step (plan/select.c) before any lowering.
 *
 * The choice is per device and GEMM shape (clg_gemm_key: M, N, K,
 * transposes, and what runs with it). clg_gemm_decide asks in turn:
 * CLGRAPH_GEMM, the plan's own earlier answers, the device's choice file
 * in the cache directory, and last, by default, default_choice (one
 * variant per device class and shape class: nothing built but what runs);
 * with CLGRAPH_GEMM=measure the device itself: every candidate is
 * emitted through clg_emit_gemm_decided (gemm/emit.c, what lowering runs)
 * into a trial plan on zero-filled buffers, run once to warm up, once
 * timed alone and then 3 rounds of 4 back-to-back launches, and the
 * fastest counts (no rounds when two timed runs were slow, see
 * time_steps); the three fastest are then timed twice more, interleaved,
 * each keeping its best (load on the machine during one turn must not
 * decide).
 * The CLBlast candidate pays what it costs in the plan: the bias copy, the
 * GEMM and the epilogue's separate launch.
 *
 * A convolution (CLG_GEMM_USE_CONV, keyed by its im2col GEMM's shape and
 * a hash of its geometry): the whole convolution as lowering runs it
 * (clg_emit_conv_trial, lower/conv.c), its epilogue left out, on
 * zero-filled copies of its input, weights, bias and output: im2col +
 * CLBlast, im2col + each packed variant in both orientations, and each
 * packed variant as the implicit GEMM (no im2col), so the implicit path
 * wins only where it is faster than im2col and the GEMM together.
 *
 * The choice file, <cache_dir>/gemm-<hash of platform, device, driver>.txt,
 * holds lines "M N K TA TB USE VARIANT [GEOM]" (USE clg_gemm_use's number,
 * VARIANT "clblast" or a generated variant's name, with "t" appended for
 * the flipped orientation and "i" for the implicit GEMM, GEOM a
 * convolution's geometry hash in hex, only on USE 3 lines) after a first
 * line naming the format; lines that do
 * not parse or name an unknown variant are ignored, the last line for a
 * shape wins, and writes go to a temporary file renamed over the old one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache_file.h"
#include "expr.h"
#include "gemm.h"
#include "lower_util.h"
#include "plan.h"
#include "tuning.h"

/* The choice file's first line (gemm.h). Version 2: the packed variants
 * and convolutions' keys; choices made among version 1's candidates are
 * measured again. Version 3: the implicit GEMM's channel-outer loop
 * (kernels/gemm.cl CONV_KH) changed which convolution path wins. */
#define FILE_MAGIC CLG_GEMM_CHOICES_MAGIC
#define MAX_FILE_BYTES (1 << 20)
#define ROUNDS 3
#define LAUNCHES 4
#define SLOW_S 0.02
/* Larger GEMMs are not timed (scratch memory): CLBlast runs them. */
#define MAX_MEASURE_ELEMS ((int64_t)1 << 26)

typedef clg_gemm_key gemm_key;

static bool key_eq(const gemm_key *a, const gemm_key *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->ta == b->ta && a->tb == b->tb &&
           a->use == b->use && a->geom == b->geom;
}

static clg_decision clblast(void) { return (clg_decision){CLG_BACKEND_CLBLAST, -1, CLG_ORIENT_AS_WRITTEN, false}; }

static clg_decision generated(int v, clg_orientation o, const gemm_key *key)
{
    return (clg_decision){CLG_BACKEND_GENERATED, v, o, key->use == CLG_GEMM_USE_EPILOGUE};
}

/* ---------------------------------------------------------------- the file */

static char *choice_path(clg_context *ctx)
{
    if (!ctx->cache_dir) return NULL;
    uint64_t h = CLG_FNV_OFFSET;
    const char *parts[3] = {ctx->info.platform, ctx->info.name, ctx->info.driver};
    for (int i = 0; i < 3; i++) h = clg_fnv1a(h, parts[i], strlen(parts[i]) + 1);
    /* CLBlast's parameters decide which side wins: choices timed against
     * another tuning state are not this device's answers. */
    uint8_t tuning[8];
    uint64_t state = clg_tuning_state(ctx->device);
    for (int i = 0; i < 8; i++) tuning[i] = (uint8_t)(state >> (8 * i));
    h = clg_fnv1a(h, tuning, sizeof tuning);
    size_t len = strlen(ctx->cache_dir) + 32;
    char *path = clg_mem_realloc(&ctx->allocator, NULL, len);
    if (path) snprintf(path, len, "%s/gemm-%016llx.txt", ctx->cache_dir, (unsigned long long)h);
    return path;
}

/* The whole file (NUL-terminated), or NULL when absent, unreadable or not
 * ours. */
static char *read_file(clg_context *ctx, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = clg_mem_realloc(&ctx->allocator, NULL, MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE_BYTES, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (strncmp(buf, FILE_MAGIC "\n", strlen(FILE_MAGIC) + 1) != 0) {
        clg_mem_free(&ctx->allocator, buf);
        return NULL;
    }
    return buf;
}

/* A decision as the file and CLGRAPH_GEMM name it: "clblast", or the
 * variant's name with "t" appended for the flipped orientation. */
static const char *decision_name(const clg_decision *d, char *buf, size_t size)
{
    if (d->backend != CLG_BACKEND_GENERATED) return "clblast";
    snprintf(buf, size, "%s%s", clg_gemm_variants[d->variant].name,
             d->orientation == CLG_ORIENT_FLIPPED     ? "t"
             : d->orientation == CLG_ORIENT_IMPLICIT  ? "i"
             : d->orientation == CLG_ORIENT_POINTWISE ? "w"
             : d->orientation == CLG_ORIENT_WINOGRAD  ? "f"
             : d->orientation == CLG_ORIENT_WINOGRAD4 ? "g"
             : d->orientation == CLG_ORIENT_DIRECT     ? "d"
                                                      : "");
    return buf;
}

/* The decision a name stands for (see decision_name) if it can run key's
 * GEMM: any variant that fits the transposes for a GEMM, a packed one
 * (any orientation; the implicit GEMM only where the caller allows it) or
 * a vector one read in place (the caller checks that the convolution is
 * pointwise: runs_conv) for a convolution. */
static bool decision_for(const char *name, const gemm_key *key, clg_decision *d)
{
    if (!strcmp(name, "clblast")) {
        *d = clblast();
        return true;
    }
    clg_orientation o;
    int v = clg_gemm_variant_parse_orient(name, &o);
    if (v < 0) return false;
    if (key->use == CLG_GEMM_USE_CONV) {
        if (o != CLG_ORIENT_POINTWISE && clg_gemm_variants[v].nr == 0) return false;
    } else if (o != CLG_ORIENT_AS_WRITTEN || !clg_gemm_variant_fits(v, key->ta, key->tb)) {
        return false;
    }
    *d = generated(v, o, key);
    return true;
}

/* Whether decision d can run conv (NULL: a GEMM, which takes any): the
 * implicit GEMM and the pointwise read only where the convolution allows
 * them. */
static bool runs_conv(const clg_decision *d, const clg_conv_job *conv)
{
    if (d->orientation == CLG_ORIENT_IMPLICIT) return conv && conv->implicit_ok;
    if (d->orientation == CLG_ORIENT_POINTWISE) return conv && conv->pointwise_ok;
    if (clg_winograd_tile(d->orientation)) return conv && conv->winograd_ok;
    if (d->orientation == CLG_ORIENT_DIRECT) return conv && conv->direct_ok;
    return true;
}

/* The last usable line for key in the file's text, if any. */
static bool file_lookup(const char *text, const gemm_key *key, clg_decision *d)
{
    bool found = false;
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        long long m, n, k;
        unsigned long long geom = 0;
        int ta, tb, use;
        char name[32], one[160];
        /* One line at a time: sscanf's %llx would skip the newline of a
         * line without GEOM and read the next line's M as its geometry,
         * so that no line but the last ever matched. */
        size_t len = strcspn(line, "\n");
        if (len >= sizeof one) continue;
        memcpy(one, line, len);
        one[len] = '\0';
        if (sscanf(one, "%lld %lld %lld %d %d %d %31s %llx", &m, &n, &k, &ta, &tb, &use, name, &geom) < 7)
            continue;
        gemm_key e = {m, n, k, ta != 0, tb != 0, (clg_gemm_use)use, (uint64_t)geom};
        if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || !key_eq(&e, key)) continue;
        if (decision_for(name, key, d)) found = true;
    }
    return found;
}

/* The old text (when ours and not too big) with one line added, written to
 * a new file beside path and renamed over it: a reader sees the old file
 * or the new one. A failure only costs the next process a measurement. */
static void file_append(clg_context *ctx, const char *path, const char *old, const gemm_key *key,
                        const clg_decision *d)
{
    char line[160];
    int n = clg_gemm_choice_line(key, d, line, sizeof line);
    if (n <= 0 || (size_t)n >= sizeof line) return;
    const char *head = old && strlen(old) < MAX_FILE_BYTES / 2 ? old : FILE_MAGIC "\n";
    size_t tmp_size = strlen(path) + 64;
    char *tmp = clg_mem_realloc(&ctx->allocator, NULL, tmp_size);
    if (!tmp) return;
    int fd = clg_open_temp_beside(path, tmp, tmp_size);
    if (fd >= 0) {
        bool ok = clg_write_all(fd, head, strlen(head)) && clg_write_all(fd, line, (size_t)n);
        if (close(fd) != 0) ok = false;
        if (!ok || rename(tmp, path) != 0) unlink(tmp);
    }
    clg_mem_free(&ctx->allocator, tmp);
}

/* ---------------------------------------------------------------- timing */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best of ROUNDS rounds of LAUNCHES runs of tmp's steps, in seconds
 * per run, after one run to warm up (the first launch of a kernel compiles
 * it: never timed); a negative value when a step fails. A candidate whose
 * first timed run took over 3x the best time so far (`beat`, negative:
 * none yet) is out and is not timed further, and one over SLOW_S gets no
 * more rounds: a convolution's GEMM on a slow path would otherwise cost
 * seconds. Either only after a second single run says so too. */
static double time_steps(clg_plan *tmp, const clg_graph *g, double beat)
{
    clg_context *ctx = tmp->ctx;
    double best = -1.0;
    int rounds = ROUNDS;
    bool second_chance = false;
    for (int round = -1; round < rounds; round++) {
        /* warm-up, then a single run, then the rounds proper */
        int launches = round < 0 ? 1 : round == 0 ? 1 : LAUNCHES;
        double t0 = now_s();
        for (int l = 0; l < launches; l++)
            for (int s = 0; s < tmp->n_steps; s++)
                if (clg_plan_enqueue(tmp, g, &tmp->steps[s], NULL)) return -1.0;
        if (clFinish(ctx->queue) != CL_SUCCESS) return -1.0;
        double t = (now_s() - t0) / launches;
        if (round < 0) continue;
        if (best < 0 || t < best) best = t;
        if (round == 0) {
            /* out only when a second single run is slow as well: one
             * moment of load on the machine must not rule the fastest out */
            if ((beat >= 0 && t > 3 * beat) || t > SLOW_S) {
                if (second_chance) return best;
                second_chance = true;
                round--;
                continue;
            }
            rounds = ROUNDS + 1;
        }
    }
    return best;
}

static void drop_tmp_steps(clg_plan *tmp)
{
    for (int i = 0; i < tmp->n_steps; i++) clg_plan_step_release(tmp, &tmp->steps[i]);
    tmp->n_steps = 0;
}

/* Whether variant v is worth timing on ctx's device. On a
 * CPU the packed variants beat the others by 3-60x whenever a GEMM does
 * arithmetic (bench/README.md), and only at a few rows do the dot-product
 * and row-vector ones win (launch cost, not FLOPs): the rest are skipped,
 * as each costs a PoCL compile per expression and transposes when first
 * timed. Other devices time every variant made for them
 * (clg_gemm_variant.devices). */
static bool worth_timing(const clg_context *ctx, int v)
{
    const clg_gemm_variant *x = &clg_gemm_variants[v];
    if (!(x->devices & (unsigned)ctx->info.type)) return false; /* the variant's device classes */
    if (ctx->info.type != CLG_DEVICE_CPU) return true;
    return x->nr > 0 || x->vw > 1 || (x->vn > 1 && x->tm == 1);
}

/* A trial copy of gen whose tensors are zero-filled buffers of the same
 * shapes (t: room for them; bufs: to release, n_bufs counted up); false
 * when one cannot be made. */
typedef struct trial {
    clg_gemm_gen gen;
    clg_dev_tensor a, b, y, bias, epi_in[CLG_EXPR_MAX_INPUTS];
    clg_dev_tensor conv_in[3], conv_out; /* a convolution's (trial_conv) */
    cl_mem bufs[4 + CLG_EXPR_MAX_INPUTS];
    int n_bufs;
} trial;

static bool trial_tensor(clg_context *ctx, trial *t, const clg_dev_tensor *of, clg_dev_tensor *into)
{
    cl_mem b = clg_zero_buffer(ctx, &of->shape, into);
    if (b) t->bufs[t->n_bufs++] = b;
    return b != NULL;
}

static bool trial_make(clg_context *ctx, const clg_gemm_gen *gen, trial *t)
{
    memset(t, 0, sizeof *t);
    t->gen = *gen;
    if (gen->n_epi > CLG_EXPR_MAX_INPUTS) return false;
    bool ok = trial_tensor(ctx, t, gen->a, &t->a) && trial_tensor(ctx, t, gen->b, &t->b) &&
              trial_tensor(ctx, t, gen->y, &t->y) && (!gen->bias || trial_tensor(ctx, t, gen->bias, &t->bias));
    for (int i = 1; ok && gen->epi && i < gen->n_epi; i++) ok = trial_tensor(ctx, t, &gen->epi_in[i], &t->epi_in[i]);
    t->gen.a = &t->a;
    t->gen.b = &t->b;
    t->gen.y = &t->y;
    t->gen.bias = gen->bias ? &t->bias : NULL;
    t->gen.epi_in = t->epi_in;
    return ok;
}

/* A trial copy of a convolution's own inputs and output (t->conv_in,
 * t->conv_out), zero-filled. */
static bool trial_conv(clg_context *ctx, const clg_conv_job *conv, trial *t)
{
    memset(t, 0, sizeof *t);
    if (conv->n_in > 3) return false;
    bool ok = trial_tensor(ctx, t, conv->out, &t->conv_out);
    for (int i = 0; ok && i < conv->n_in; i++) ok = trial_tensor(ctx, t, &conv->in[i], &t->conv_in[i]);
    return ok;
}

static void trial_free(trial *t)
{
    for (int i = 0; i < t->n_bufs; i++) clReleaseMemObject(t->bufs[i]);
    t->n_bufs = 0;
}

/* The candidates kept for timing again (measure): the TOP fastest. */
#define TOP 3
#define RETIME 2
typedef struct top_candidate {
    clg_decision d;
    double secs;
} top_candidate;

/* top (n sorted, fastest first) with d added if it is among the TOP
 * fastest; the new count. */
static int keep_top(top_candidate *top, int n, const clg_decision *d, double secs)
{
    int at = n;
    while (at > 0 && top[at - 1].secs > secs) at--;
    if (at >= TOP) return n;
    if (n == TOP) n--;
    memmove(&top[at + 1], &top[at], (size_t)(n - at) * sizeof *top);
    top[at] = (top_candidate){*d, secs};
    return n + 1;
}

/* One candidate d lowered into tl's plan on t's buffers and timed (see
 * time_steps; beat as there), then dropped: seconds per run, negative when
 * it failed (*remember cleared when for want of memory or by a fault of
 * clgraph's). */
static double time_candidate(clg_lower *tl, const clg_conv_job *conv, trial *t, const clg_decision *d, double beat,
                             bool *remember)
{
    clg_plan *tmp = tl->plan;
    clg_status s = conv ? clg_emit_conv_trial(tl, conv->node, t->conv_in, &t->conv_out, d)
                        : clg_emit_gemm_decided(tl, &t->gen, d);
    if (!s) s = clg_plan_bind(tmp, tl->g, 0);
    if (s == CLG_ERR_OUT_OF_MEMORY || s == CLG_ERR_OUT_OF_DEVICE_MEMORY || s == CLG_ERR_INTERNAL) *remember = false;
    double secs = s ? -1.0 : time_steps(tmp, tl->g, beat);
    drop_tmp_steps(tmp);
    /* one candidate's packed operands at a time on the device */
    for (int i = 0; i < tmp->n_owned; i++) clReleaseMemObject(tmp->owned[i]);
    tmp->n_owned = 0;
    return secs;
}

/* Times CLBlast and every fitting variant for gen; for a convolution
 * (conv non-NULL) the whole convolution instead, through CLBlast and the
 * packed variants in each orientation: as written and flipped after
 * im2col, and the implicit GEMM where conv allows it, and on CPUs the
 * vector variants reading a pointwise convolution's input in place. *best is the
 * fastest; CLBlast when nothing can be timed. Returns
 * whether the answer is the device's to remember: false when nothing was
 * timed or a candidate failed for want of memory or by a fault of
 * clgraph's (another process must not inherit a fallback). A candidate's
 * failure is no failure of the plan: its message goes nowhere. */
static bool measure(clg_lower *lw, const clg_gemm_gen *gen, const clg_conv_job *conv, const gemm_key *key,
                    clg_decision *best)
{
    clg_context *ctx = lw->ctx;
    const clg_graph *g = lw->g;
    *best = clblast();
    atomic_fetch_add(&ctx->gemm_measurements, 1);
    trial *t = clg_mem_calloc(&ctx->allocator, 1, sizeof *t);
    if (!t) return false;
    char discarded[512];
    clg_error_capture capture;
    clg_error_capture_begin(&capture, ctx, discarded, sizeof discarded);
    bool ok = conv ? trial_conv(ctx, conv, &t[0]) : trial_make(ctx, gen, &t[0]), remember = ok;
    clg_plan tmp = {0};
    tmp.ctx = ctx;
    tmp.precision = lw->plan->precision;
    tmp.elem_size = lw->plan->elem_size;
    tmp.batch = lw->plan->batch;
    tmp.scratch_owned = true;
    clg_lower tl = {ctx, g, lw->node, &tmp};
    double best_t = -1.0;
    top_candidate top[TOP];
    int n_top = 0;
    /* candidates: CLBlast (c = -1), then each variant in each orientation
     * (a convolution's every one, a GEMM's one) */
    int orientations = conv ? CLG_ORIENT_COUNT : 1;
    for (int c = -1; c < orientations * CLG_GEMM_VARIANTS && ok; c++) {
        clg_orientation o = c < 0 ? CLG_ORIENT_AS_WRITTEN : (clg_orientation)(c / CLG_GEMM_VARIANTS);
        int v = c < 0 ? 0 : c % CLG_GEMM_VARIANTS;
        clg_decision d = clblast();
        if (c >= 0) {
            const clg_gemm_variant *x = &clg_gemm_variants[v];
            if (o == CLG_ORIENT_DIRECT) {
                /* the direct convolution's tiles (p4x64, p8x32), on CPUs */
                int co, pv;
                if (!conv->direct_ok || !clg_conv_direct_tile(v, &co, &pv) || ctx->info.type != CLG_DEVICE_CPU)
                    continue;
            } else if (o == CLG_ORIENT_POINTWISE) {
                /* the vector variants of several rows, on CPUs (a GPU's
                 * candidates stay CLBlast and the l variants) */
                if (!conv->pointwise_ok || x->vn <= 1 || x->tm <= 1 || ctx->info.type != CLG_DEVICE_CPU)
                    continue;
            } else if (conv ? x->nr == 0 || (o == CLG_ORIENT_IMPLICIT && !conv->implicit_ok) ||
                                  (clg_winograd_tile(o) && (!conv->winograd_ok || x->wm > 0))
                            : !clg_gemm_variant_fits(v, gen->ta, gen->tb)) {
                continue;
            } else if (!worth_timing(ctx, v)) {
                continue;
            }
            d = generated(v, o, key);
        }
        double secs = time_candidate(&tl, conv, t, &d, best_t, &remember);
        if (secs >= 0 && (best_t < 0 || secs < best_t)) best_t = secs;
        if (secs >= 0) n_top = keep_top(top, n_top, &d, secs);
    }
    /* The fastest few again, RETIME rounds, interleaved: a moment of load
     * on the machine during one candidate's turn above would otherwise
     * decide (bench/README.md saw im2col picked at 11.4 ms where the
     * implicit GEMM ran 1.9 ms). Each keeps its best time over all turns. */
    for (int round = 0; round < RETIME && n_top > 1 && ok; round++)
        for (int i = 0; i < n_top; i++) {
            double secs = time_candidate(&tl, conv, t, &top[i].d, -1.0, &remember);
            if (secs >= 0 && secs < top[i].secs) top[i].secs = secs;
        }
    for (int i = 0; i < n_top; i++)
        if (i == 0 || top[i].secs < best_t) {
            best_t = top[i].secs;
            *best = top[i].d;
        }
    clFinish(ctx->queue);
    clg_mem_free(&ctx->allocator, tmp.steps);
    for (int i = 0; i < tmp.n_owned; i++) clReleaseMemObject(tmp.owned[i]);
    clg_mem_free(&ctx->allocator, tmp.owned);
    trial_free(&t[0]);
    clg_mem_free(&ctx->allocator, t);
    clg_error_capture_end(&capture);
    return remember && best_t >= 0;
}

/* ---------------------------------------------------------------- choosing */

/* Without measuring (CLGRAPH_GEMM=generated): what won on PoCL (2 cores,
 * AVX-512; bench/README.md): dot products along K when B is transposed,
 * vectors along N when it is not, else a 4x4 register tile; p8x32 for a
 * convolution. */
static clg_decision default_generated(const gemm_key *key)
{
    const char *name = key->use == CLG_GEMM_USE_CONV ? "p8x32"
                       : !key->ta && key->tb         ? "d1x1v8"
                       : !key->tb                    ? (key->m <= 8 ? "n1x8" : "n4x16")
                                                     : "g4x4";
    return generated(clg_gemm_variant_find(name), CLG_ORIENT_AS_WRITTEN, key);
}

/* The default path (nothing remembered, nothing measured): one variant
 * per device class and shape class, so that a first run builds one
 * program per kernel instead of one per candidate. On CPUs the packed
 * variants are what measurement picks for nearly every shape (the choice
 * files of this project's machines, docs/runtime.md "Start-up"); one
 * variant for every shape also means GEMMs of different shapes share
 * their program. Other devices: CLBlast, whose kernels are tuned for GPUs
 * (no generated variant has been measured on one). */
static clg_decision default_choice(const clg_context *ctx, const gemm_key *key, const clg_conv_job *conv,
                                   bool half)
{
    if (ctx->info.type != CLG_DEVICE_CPU && !half) return clblast();
    int packed = clg_gemm_variant_find("p4x64");
    /* A convolution: the implicit GEMM (no im2col, so no im2col program)
     * wherever it can run, which measurement picked for 29 of 33
     * convolutions of a ResNet-18 and a MobileNetV2 at batch 1. */
    /* A pointwise convolution on images of whole 16-pixel groups: n8x16
     * reading its input in place (8 output channels by 16 pixels of one
     * image per work-item, stored as vectors) where the images are large,
     * or of 64 pixels and more with few input channels (an expansion).
     * Elsewhere the implicit GEMM's 64- or 32-channel tiles do more
     * multiply-adds per load and win. Measured per layer on both CPU
     * runtimes, torchvision MobileNetV2 at 64x64, batches 1 and 16
     * (docs/runtime.md "Convolution paths"): 0.2-0.7x the implicit GEMM's
     * device time on 32x32 and 16x16 images, 0.55-0.9x on 8x8 ones with 32
     * input channels; 1.0-1.4x on 8x8 ones with 144 or 192, 0.7-1.7x on
     * 4x4 ones (a win at batch 16 on Intel's runtime only), 2.4-9x on 2x2
     * ones (16-pixel groups across images go element by element). */
    if (conv && conv->pointwise_ok && ctx->info.type == CLG_DEVICE_CPU) {
        int64_t p = conv->out->shape.dims[2] * conv->out->shape.dims[3];
        if (p % 16 == 0 && (p >= 256 || (p >= 64 && key->k <= 64)))
            return generated(clg_gemm_variant_find("n8x16"), CLG_ORIENT_POINTWISE, key);
    }
    if (conv) {
        /* p8x32 where its 32-column panels leave fewer output channels
         * empty than p4x64's 64 (32 or 96 channels): only a whole panel
         * takes kernels/gemm.cl's channel-by-channel store; a Keras 3x3
         * 32->32 conv at batch 4 ran 0.53 ms with p8x32i, 1.50 with
         * p4x64i (bench/README.md, "Convolution stores") */
        int64_t m = conv->in[1].shape.dims[0] / (conv->node->attrs.group > 0 ? conv->node->attrs.group : 1);
        if (m > 0 && (m + 31) / 32 * 32 < (m + 63) / 64 * 64) packed = clg_gemm_variant_find("p8x32");
        /* Winograd for a 3x3, stride-1 convolution (its multiply-adds
         * 4x fewer as F(4x4, 3x3), 2.25x as F(2x2, 3x3), against two
         * memory passes, its transforms, and weights 4x or 16/9 the
         * size): F(4x4) for 64 input channels or more on images of 4x4
         * outputs or more, over at least 4 of its tiles and at most 2^17
         * tiles times channels (its transformed input, 36 floats per tile
         * and channel, within 18 MiB); else F(2x2) for 128 channels or
         * more over 4 to 256 of its tiles; both only for convolutions of
         * 2^26 multiply-adds or more. Fewer channels, tiles or outputs do
         * not pay for the transforms (an image of 2x2 outputs wastes 3/4
         * of a 4x4 tile), more tiles leave the caches. Measured per layer,
         * device time at batches 1, 4 and 16 on both CPU runtimes
         * (docs/runtime.md "Convolution paths"). The smaller convolutions
         * gained at most 0.1 ms each (ResNet-18 at 64x64 and batch 1: its
         * 9.4 M multiply-add layers 0.41-0.82x) and the model nothing
         * measurable, for two more launches per layer and two to four more
         * programs per model to build: PoCL's cold start of that model
         * went from 5 to 10 s. Half-precision plans take neither (F(4x4)'s
         * error at half storage, docs/runtime.md; F(2x2) not measured). */
        const clg_shape *xs = &conv->in[0].shape, *ws = &conv->in[1].shape, *ys = &conv->out->shape;
        int64_t c = xs->dims[1], oh = ys->dims[2], ow = ys->dims[3];
        if (conv->winograd_ok && !half && (double)clg_shape_count(ys) * (double)c * 9.0 >= (double)((int64_t)1 << 26)) {
            int64_t t4 = clg_winograd_tiles(xs, ys, 4), t2 = clg_winograd_tiles(xs, ys, 2);
            if (c >= 64 && oh >= 4 && ow >= 4 && t4 >= 4 && t4 * c <= ((int64_t)1 << 17))
                return generated(packed, CLG_ORIENT_WINOGRAD4, key);
            if (c >= 128 && t2 >= 4 && t2 <= 256) return generated(packed, CLG_ORIENT_WINOGRAD, key);
        }
        /* The direct convolution (p8x32d: 8 output channels by 2 rows of
         * 16 pixels per work-item, vectors along the pixels) on rows of 12
         * outputs or more, for few output channels, where the implicit
         * GEMM's 32- and 64-channel panels are mostly padding and it stores
         * each pixel's channels a plane apart: 32 output channels or fewer,
         * or 64 from at most 64 input channels, where it reads the input's
         * padding in place (rows a multiple of 16 wide); 16 or fewer where
         * it writes the padding out first. Per layer (3x3, pad 1, device
         * time, minima of 3 interleaved runs at batches 1 and 16, both CPU
         * runtimes; docs/runtime.md "Convolution paths"), against the
         * implicit GEMM: 16, 32 and 64 channels on 16x16 and 32x32 images
         * 0.30-0.89x, 3 -> 32 0.36-0.89x; on 28x28 images (padding written
         * out) 16 -> 16 0.47-0.99x, but 5x5 32 -> 64 1.03-1.41x and 64 and
         * 128 channels on 56x56 and 28x28 images 1.07-1.63x; 8x8 images
         * 0.95-1.28x. */
        int64_t om = ws->dims[0];
        if (conv->direct_ok && ow >= 12 && ctx->info.type == CLG_DEVICE_CPU) {
            bool copies = clg_conv_direct_copies(conv->node, xs, ws, ys);
            if (om <= 16 || (!copies && (om <= 32 || (om <= 64 && c <= 64))))
                return generated(clg_gemm_variant_find("p8x32"), CLG_ORIENT_DIRECT, key);
        }
        return generated(packed, conv->implicit_ok ? CLG_ORIENT_IMPLICIT : CLG_ORIENT_AS_WRITTEN, key);
    }
    /* A few rows against B transposed (a batch-1 Linear layer): dot
     * products along K, which needs no packed copy of B. */
    if (key->m <= 8 && !key->ta && key->tb) return generated(clg_gemm_variant_find("d1x1v8"), CLG_ORIENT_AS_WRITTEN, key);
    /* At most 32 columns (a classifier head): p4x64's 64-wide tiles would
     * compute mostly padding; p8x32's 32 waste half as much. The seed
     * model's 1024x128 -> 10 head: 0.62-0.73x p4x64's device time on PoCL
     * and Intel's runtime (bench/README.md "Small calls"). */
    if (key->n <= 32) return generated(clg_gemm_variant_find("p8x32"), CLG_ORIENT_AS_WRITTEN, key);
    return generated(packed, CLG_ORIENT_AS_WRITTEN, key);
}

static clg_status remember(clg_lower *lw, const gemm_key *key, const clg_decision *d)
{
    clg_plan *p = lw->plan;
    if (p->n_gemm_memo == p->cap_gemm_memo) {
        int cap = p->cap_gemm_memo ? 2 * p->cap_gemm_memo : 8;
        clg_gemm_memo *mm = clg_mem_realloc(&lw->ctx->allocator, p->gemm_memo, (size_t)cap * sizeof *mm);
        if (!mm) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
        p->gemm_memo = mm;
        p->cap_gemm_memo = cap;
    }
    p->gemm_memo[p->n_gemm_memo++] = (clg_gemm_memo){*key, *d};
    return CLG_OK;
}

clg_status clg_gemm_decide(clg_lower *lw, const clg_gemm_gen *gen, const clg_gemm_gen *flipped,
                           const clg_conv_job *conv, clg_decision *out)
{
    clg_plan *p = lw->plan;
    clg_context *ctx = lw->ctx;
    gemm_key key = {gen->m, gen->n, gen->k, gen->ta, gen->tb,
                    conv ? CLG_GEMM_USE_CONV : gen->epi ? CLG_GEMM_USE_EPILOGUE : CLG_GEMM_USE_PLAIN,
                    conv ? conv->geom : 0};
    *out = clblast();
    /* The context's GEMM path: its option, else CLGRAPH_GEMM (NULL: the
     * default, "measure": time what nothing remembers). */
    const char *env = ctx->gemm_path;
    /* Half buffers: only the generated kernels read them (CLBlast's Sgemm
     * takes float), and the choice file's measurements were made at fp32,
     * so a half plan takes the default generated variant (or the one
     * CLGRAPH_GEMM=generated:NAME forces, but Winograd F(4x4, 3x3): its
     * transformed values, through coefficients up to 5 and 8, lose too
     * much in half buffers, 8.5e-3 to 9.2e-3 of the largest output against
     * F(2x2)'s 5.6e-4 to 7.6e-4 and the implicit GEMM's 3.1e-4 to 5.0e-4,
     * on 3x3 convolutions of 12 and 64 channels at fp16-storage, both CPU
     * runtimes). */
    if (p->elem_size == 2) {
        if (key.m == 0 || key.n == 0) return CLG_OK; /* nothing runs */
        *out = default_choice(ctx, &key, conv, true);
        clg_decision forced;
        if (env && !strncmp(env, "generated:", 10) && decision_for(env + 10, &key, &forced) &&
            (forced.orientation == CLG_ORIENT_AS_WRITTEN || (conv && flipped)) && runs_conv(&forced, conv) &&
            forced.orientation != CLG_ORIENT_WINOGRAD4)
            *out = forced;
        return remember(lw, &key, out);
    }
    int64_t biggest = clg_shape_count(&gen->y->shape);
    const clg_dev_tensor *ops[3] = {gen->a, gen->b, gen->bias};
    for (int i = 0; i < 3; i++)
        if (ops[i] && clg_shape_count(&ops[i]->shape) > biggest) biggest = clg_shape_count(&ops[i]->shape);
    if (key.m == 0 || key.n == 0 || biggest > MAX_MEASURE_ELEMS) return CLG_OK;
    if (env && !strcmp(env, "clblast")) return CLG_OK;
    if (env && !strncmp(env, "generated", 9)) {
        *out = default_generated(&key);
        clg_decision forced;
        /* a flipped product only for a convolution, the implicit GEMM only
         * where it can run it */
        if (env[9] == ':' && decision_for(env + 10, &key, &forced) &&
            (forced.orientation == CLG_ORIENT_AS_WRITTEN || (conv && flipped)) && runs_conv(&forced, conv))
            *out = forced;
        return remember(lw, &key, out); /* a bundle carries it (runtime/bundle/) */
    }
    for (int i = 0; i < p->n_gemm_memo; i++)
        if (key_eq(&p->gemm_memo[i].key, &key)) {
            *out = p->gemm_memo[i].decision;
            return CLG_OK;
        }
    /* A bundle's choices come before the file (see clg_gemm_preset_lookup). */
    if (clg_gemm_preset_lookup(ctx, &key, conv, out)) return remember(lw, &key, out);
    char *path = choice_path(ctx);
    char *text = path ? read_file(ctx, path) : NULL;
    bool hit = text && file_lookup(text, &key, out);
    if (hit && !runs_conv(out, conv)) hit = false;
    if (!hit && env && !strcmp(env, "measure")) {
        if (measure(lw, gen, conv, &key, out) && path) file_append(ctx, path, text, &key, out);
    } else if (!hit) {
        *out = default_choice(ctx, &key, conv, false);
    }
    clg_mem_free(&ctx->allocator, text);
    clg_mem_free(&ctx->allocator, path);
    return remember(lw, &key, out);
}

/* ---------------------------------------------------------------- bundles */

int clg_gemm_choice_line(const clg_gemm_key *key, const clg_decision *d, char *line, size_t size)
{
    char name[40], geom[24] = "";
    if (key->geom) snprintf(geom, sizeof geom, " %016llx", (unsigned long long)key->geom);
    return snprintf(line, size, "%lld %lld %lld %d %d %d %s%s\n", (long long)key->m, (long long)key->n,
                    (long long)key->k, key->ta, key->tb, (int)key->use, decision_name(d, name, sizeof name), geom);
}

bool clg_gemm_preset_lookup(clg_context *ctx, const clg_gemm_key *key, const clg_conv_job *conv, clg_decision *d)
{
    pthread_mutex_lock(&ctx->lock);
    clg_decision found;
    bool hit = ctx->preset_choices && file_lookup(ctx->preset_choices, key, &found) &&
               runs_conv(&found, conv);
    pthread_mutex_unlock(&ctx->lock);
    if (hit) *d = found;
    return hit;
}
