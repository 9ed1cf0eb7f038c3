/* Which kernel runs a Gemm node: CLBlast or a generated variant (with the
 * Elementwise node after it as its epilogue), chosen by measurement.
 *
 * The choice is per device and GEMM shape (M, N, K, transposes, whether an
 * epilogue runs too). A plan decides while it measures (the first lowering
 * pass, before memory is planned, because a fused pair shares one block),
 * asking in turn: CLGRAPH_GEMM, the plan's own earlier answers, the
 * device's choice file in the cache directory, and last the device itself:
 * every candidate runs on zero-filled scratch buffers, once to warm up,
 * once timed alone and then 3 rounds of 4 back-to-back launches, and the
 * fastest counts (no rounds when the timed run was slow, see time_steps).
 * The CLBlast candidate pays what it costs in the plan: the bias copy, the
 * GEMM and the separate Elementwise launch.
 *
 * A convolution asks for its im2col GEMM (gemm_key.epi 2): CLBlast against
 * the packed variants only, timed as a Gemm of the same shape. That leaves
 * im2col out and counts a pack of the column matrix for W·col (which the
 * plan writes packed directly) but not for the flipped product (whose
 * packed operand, W, is a constant): it leans towards the flipped
 * orientation and CLBlast.
 *
 * The choice file, <cache_dir>/gemm-<hash of platform, device, driver>.txt,
 * holds lines "M N K TA TB EPI VARIANT" (VARIANT "clblast" or a generated
 * variant's name) after a first line naming the format; lines that do not
 * parse or name an unknown variant are ignored, the last line for a shape
 * wins, and writes go to a temporary file renamed over the old one. */
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

/* Version 2: the packed variants and convolutions' keys; choices made
 * among version 1's candidates are measured again. */
#define FILE_MAGIC "clgraph-gemm-choices 2"
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
           a->epi == b->epi;
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

/* A variant as the file and CLGRAPH_GEMM name it: its name, with "t"
 * appended for a convolution's other orientation (v + CLG_GEMM_VARIANTS). */
static const char *variant_name(int v, char *buf, size_t size)
{
    if (v < 0) return "clblast";
    snprintf(buf, size, "%s%s", clg_gemm_variants[v % CLG_GEMM_VARIANTS].name, v >= CLG_GEMM_VARIANTS ? "t" : "");
    return buf;
}

/* The variant named name (see variant_name) if it can run key's GEMM, or
 * -2: any that fits the transposes for a Gemm, a packed one (either
 * orientation) for a convolution's. */
static int variant_for(const char *name, const gemm_key *key)
{
    char base[32];
    size_t len = strlen(name);
    bool flipped = len > 1 && len < sizeof base && name[len - 1] == 't';
    snprintf(base, sizeof base, "%.*s", (int)(flipped ? len - 1 : len), name);
    int v = clg_gemm_variant_find(base);
    if (v < 0) return -2;
    if (key->epi == 2) return clg_gemm_variants[v].nr > 0 ? v + (flipped ? CLG_GEMM_VARIANTS : 0) : -2;
    return !flipped && clg_gemm_variant_fits(v, key->ta, key->tb) ? v : -2;
}

/* -2: no entry; -1: CLBlast; else a variant for the key (variant_for). */
static int file_lookup(const char *text, const gemm_key *key)
{
    int found = -2;
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        long long m, n, k;
        int ta, tb, epi;
        char name[32];
        if (sscanf(line, "%lld %lld %lld %d %d %d %31s", &m, &n, &k, &ta, &tb, &epi, name) != 7) continue;
        gemm_key e = {m, n, k, ta, tb, epi};
        if (!key_eq(&e, key)) continue;
        if (!strcmp(name, "clblast")) {
            found = -1;
        } else {
            int v = variant_for(name, key);
            if (v >= 0) found = v;
        }
    }
    return found;
}

/* The old text (when ours and not too big) with one line added, written to
 * a new file beside path and renamed over it: a reader sees the old file
 * or the new one. A failure only costs the next process a measurement. */
static void file_append(clg_context *ctx, const char *path, const char *old, const gemm_key *key, int v)
{
    char line[160], name[40];
    int n = snprintf(line, sizeof line, "%lld %lld %lld %d %d %d %s\n", (long long)key->m, (long long)key->n,
                     (long long)key->k, key->ta, key->tb, key->epi, variant_name(v, name, sizeof name));
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
 * seconds. */
static double time_steps(clg_plan *tmp, const clg_graph *g, double beat)
{
    clg_context *ctx = tmp->ctx;
    double best = -1.0;
    int rounds = ROUNDS;
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
            if (beat >= 0 && t > 3 * beat) return t;
            if (t > SLOW_S) return t;
            rounds = ROUNDS + 1;
        }
    }
    return best;
}

static void drop_tmp_steps(clg_plan *tmp)
{
    for (int i = 0; i < tmp->n_steps; i++)
        if (tmp->steps[i].kernel) clReleaseKernel(tmp->steps[i].kernel);
    tmp->n_steps = 0;
}

/* A zero-filled scratch buffer for a tensor of shape s. */
static cl_mem zero_buffer(clg_context *ctx, const clg_shape *s, clg_dev_tensor *t)
{
    size_t bytes = ((size_t)clg_shape_count(s) + 1) * sizeof(float);
    cl_int err;
    cl_mem b = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) return NULL;
    float zero = 0.0f;
    if (clEnqueueFillBuffer(ctx->queue, b, &zero, sizeof zero, 0, bytes, 0, NULL, NULL) != CL_SUCCESS) {
        clReleaseMemObject(b);
        return NULL;
    }
    t->buf = b;
    t->off = 0;
    t->shape = *s;
    return b;
}

/* Whether variant v is worth timing on ctx's device. On a
 * CPU the packed variants beat the others by 3-60x whenever a GEMM does
 * arithmetic (bench/README.md), and only at a few rows do the dot-product
 * and row-vector ones win (launch cost, not FLOPs): the rest are skipped,
 * as each costs a PoCL compile per expression and transposes when first
 * timed. Other devices time every variant. */
static bool worth_timing(const clg_context *ctx, int v)
{
    if (ctx->info.type != CLG_DEVICE_CPU) return true;
    const clg_gemm_variant *x = &clg_gemm_variants[v];
    return x->nr > 0 || x->vw > 1 || (x->vn > 1 && x->tm == 1);
}

/* Zero-filled buffers for a GEMM candidate's inputs and output (t[0..n_in)
 * the inputs, t[n_in] the output); false when one cannot be made. */
static bool zero_operands(clg_context *ctx, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out,
                          clg_dev_tensor *t, cl_mem *bufs)
{
    for (int i = 0; i < n->n_inputs; i++)
        if (!(bufs[i] = zero_buffer(ctx, &in[i].shape, &t[i]))) return false;
    return (bufs[n->n_inputs] = zero_buffer(ctx, &out->shape, &t[n->n_inputs])) != NULL;
}

/* Times CLBlast and every fitting variant for node n (with epilogue node
 * epi, or -1), and with alt (may be NULL) the packed variants on alt's
 * GEMM too (as v + CLG_GEMM_VARIANTS); conv: packed variants only. *best is
 * the fastest (-1 CLBlast). Falls back to CLBlast when nothing can be
 * timed. */
static void measure(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in, const clg_dev_tensor *out,
                    int epi, bool conv, const clg_gemm_alt *alt, int *best)
{
    clg_context *ctx = lw->ctx;
    const clg_graph *g = lw->g;
    *best = -1;
    const clg_node *en = epi >= 0 ? &g->nodes[epi] : NULL;
    int n_t = n->n_inputs + 1 + (en ? en->n_inputs : 0);
    clg_dev_tensor t[3 + 1 + CLG_EXPR_MAX_INPUTS], at[4];
    cl_mem bufs[3 + 1 + CLG_EXPR_MAX_INPUTS] = {0}, abufs[4] = {0};
    if (n_t > (int)(sizeof bufs / sizeof *bufs) || (alt && alt->n->n_inputs > 3)) return;
    bool ok = zero_operands(ctx, n, in, out, t, bufs);
    bool alt_ok = alt && zero_operands(ctx, alt->n, alt->in, alt->out, at, abufs);
    clg_dev_tensor *y = &t[n->n_inputs];
    clg_dev_tensor *ein = &t[n->n_inputs + 1];
    if (en && ok) {
        ein[0] = *y;
        for (int i = 1; i < en->n_inputs && ok; i++)
            ok = (bufs[n->n_inputs + 1 + i] =
                      zero_buffer(ctx, &lw->plan->values[en->inputs[i]].shape, &ein[i])) != NULL;
    }
    clg_plan tmp = {0};
    tmp.ctx = ctx;
    tmp.batch = lw->plan->batch;
    tmp.scratch_owned = true;
    clg_lower tl = {ctx, g, lw->node, &tmp};
    double best_t = -1.0;
    for (int v = -1; v < 2 * CLG_GEMM_VARIANTS && ok; v++) {
        bool flipped = v >= CLG_GEMM_VARIANTS;
        if (flipped && !alt_ok) break;
        int base = v % CLG_GEMM_VARIANTS;
        const clg_node *cn = flipped ? alt->n : n;
        bool ta = cn->attrs.trans_a != 0, tb = cn->attrs.trans_b != 0;
        if (v >= 0 && !clg_gemm_variant_fits(base, ta, tb)) continue;
        if (v >= 0 && (conv || flipped) && clg_gemm_variants[base].nr == 0) continue;
        if (v >= 0 && !worth_timing(ctx, base)) continue;
        clg_status s;
        if (v < 0) {
            s = clg_lower_gemm_clblast(&tl, n, t, y);
            if (!s && en) {
                clg_lower te = {ctx, g, epi, &tmp};
                s = clg_lower_elementwise_fused(&te, en, ein, y);
            }
        } else if (flipped) {
            s = clg_emit_gemm_generated(&tl, cn, at, &at[cn->n_inputs], base, NULL, NULL);
        } else {
            s = clg_emit_gemm_generated(&tl, n, t, y, v, en, ein);
        }
        double secs = s ? -1.0 : time_steps(&tmp, g, best_t);
        drop_tmp_steps(&tmp);
        /* one candidate's packed operands at a time on the device */
        for (int i = 0; i < tmp.n_owned; i++) clReleaseMemObject(tmp.owned[i]);
        tmp.n_owned = 0;
        if (secs >= 0 && (best_t < 0 || secs < best_t)) {
            best_t = secs;
            *best = v;
        }
    }
    clFinish(ctx->queue);
    clg_mem_free(&ctx->allocator, tmp.steps);
    for (int i = 0; i < tmp.n_owned; i++) clReleaseMemObject(tmp.owned[i]);
    clg_mem_free(&ctx->allocator, tmp.owned);
    for (int i = 0; i < n_t; i++)
        if (bufs[i]) clReleaseMemObject(bufs[i]);
    for (int i = 0; i < 4; i++)
        if (abufs[i]) clReleaseMemObject(abufs[i]);
}

/* ---------------------------------------------------------------- choosing */

/* Without measuring (CLGRAPH_GEMM=generated): what won on PoCL (2 cores,
 * AVX-512; bench/README.md): dot products along K when B is transposed,
 * vectors along N when it is not, else a 4x4 register tile. */
static int default_variant(int64_t m, bool ta, bool tb)
{
    const char *name = !ta && tb ? "d1x1v8" : !tb ? (m <= 8 ? "n1x8" : "n4x16") : "g4x4";
    return clg_gemm_variant_find(name);
}

clg_status clg_gemm_choose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                           const clg_dev_tensor *out, const clg_gemm_alt *alt, int *variant, int *epi)
{
    clg_plan *p = lw->plan;
    clg_context *ctx = lw->ctx;
    int node = lw->node;
    if (!p->measuring) {
        *variant = p->gemm_variant[node];
        *epi = p->fused[node];
        return CLG_OK;
    }
    /* A convolution's GEMM: only the packed variants (im2col packs B). */
    bool conv = lw->g->nodes[node].op == CLG_OP_CONV2D;
    int e = conv ? -1 : clg_gemm_epilogue_node(lw->g, node);
    bool ta = n->attrs.trans_a != 0, tb = n->attrs.trans_b != 0;
    gemm_key key = {out->shape.dims[0], out->shape.dims[1],
                    ta ? in[0].shape.dims[0] : in[0].shape.dims[1], ta, tb, conv ? 2 : e >= 0};
    int v = -1;
    const char *env = getenv("CLGRAPH_GEMM");
    int64_t biggest = clg_shape_count(&out->shape);
    for (int i = 0; i < n->n_inputs; i++)
        if (clg_shape_count(&in[i].shape) > biggest) biggest = clg_shape_count(&in[i].shape);
    if (key.m == 0 || key.n == 0 || biggest > MAX_MEASURE_ELEMS) {
        v = -1;
    } else if (env && !strcmp(env, "clblast")) {
        v = -1;
    } else if (env && !strncmp(env, "generated", 9)) {
        v = conv ? clg_gemm_variant_find("p8x32") : default_variant(key.m, ta, tb);
        int f = env[9] == ':' ? variant_for(env + 10, &key) : -2;
        if (f >= 0 && (f < CLG_GEMM_VARIANTS || alt)) v = f;
    } else {
        int found = -2;
        for (int i = 0; i < p->n_gemm_memo && found == -2; i++)
            if (key_eq(&p->gemm_memo[i].key, &key)) found = p->gemm_memo[i].variant;
        char *path = found == -2 ? choice_path(ctx) : NULL;
        char *text = path ? read_file(ctx, path) : NULL;
        if (found == -2 && text) found = file_lookup(text, &key);
        if (found == -2) {
            measure(lw, n, in, out, e, conv, alt, &found);
            if (path) file_append(ctx, path, text, &key, found);
        }
        clg_mem_free(&ctx->allocator, text);
        clg_mem_free(&ctx->allocator, path);
        v = found;
        if (p->n_gemm_memo == p->cap_gemm_memo) {
            int cap = p->cap_gemm_memo ? 2 * p->cap_gemm_memo : 8;
            clg_gemm_memo *mm = clg_mem_realloc(&ctx->allocator, p->gemm_memo, (size_t)cap * sizeof *mm);
            if (!mm) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
            p->gemm_memo = mm;
            p->cap_gemm_memo = cap;
        }
        clg_gemm_memo *mm = &p->gemm_memo[p->n_gemm_memo++];
        mm->key = key;
        mm->variant = v;
    }
    if (v < 0) e = -1;
    p->gemm_variant[node] = v;
    p->fused[node] = e;
    if (e >= 0) p->fused[e] = node;
    *variant = v;
    *epi = e;
    return CLG_OK;
}
