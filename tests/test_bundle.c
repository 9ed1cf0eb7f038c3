/* AOT bundles (runtime/bundle/, docs/bundle.md): a model saved as a bundle
 * and loaded on a fresh context (empty cache directory) gives the same
 * bits as the model it was saved from, on the same device, and agrees with
 * the reference executor; loading builds no program from source and
 * measures nothing; a bundle whose recorded device or clgraph version differs
 * rebuilds from the sources it carries, with a note; every damaged form is
 * CLG_ERR_FORMAT (the allocator here counts blocks: no leak on any path). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "cache_file.h"
#include "clgraph.h"
#include "device_check.h"
#include "runtime.h"

/* ---------------------------------------------------------------- helpers */

static long live_blocks;
/* When positive, the allocation that brings it to 0 fails. */
static long fail_countdown;

static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    if (new_size && fail_countdown > 0 && --fail_countdown == 0) return NULL;
    if (new_size == 0) {
        if (ptr) live_blocks--;
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p && !ptr) live_blocks++;
    return p;
}

static char scratch_dir[256];

static void make_scratch(void)
{
    if (scratch_dir[0]) return;
    snprintf(scratch_dir, sizeof scratch_dir, "/tmp/clg_test_bundle_XXXXXX");
    assert_non_null(mkdtemp(scratch_dir));
}

/* A context whose cache directory is new and empty: whatever its models
 * need and the bundle does not bring, it must build. */
static clg_context *fresh_context(void)
{
    make_scratch();
    static int n;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cache%d", scratch_dir, n++);
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = dir;
    clg_context *ctx = NULL;
    clg_status s = clg_context_create_ex(&ctx, NULL, 0, &o, counting_alloc, NULL);
    if (s != CLG_OK) fail_msg("context: %s", clg_context_errmsg(ctx));
    return ctx;
}

/* Seeded inputs for g at batch 1 (every other symbol 1 too), or the
 * fixture's input.npy when npy is given. */
typedef struct io {
    clg_tensor *in, *out;
    int n_in, n_out;
} io;

static void io_make(clg_graph *g, const char *npy, io *x)
{
    x->n_in = clg_graph_input_count(g);
    x->n_out = clg_graph_output_count(g);
    x->in = calloc((size_t)x->n_in + 1, sizeof *x->in);
    x->out = calloc((size_t)x->n_out + 1, sizeof *x->out);
    for (int i = 0; i < x->n_in; i++) {
        if (npy) {
            assert_int_equal(clg_graph_read_npy(g, npy, i, &x->in[i]), CLG_OK);
            continue;
        }
        const char *name;
        clg_graph_input_info(g, i, &name, &x->in[i].rank, x->in[i].dims);
        size_t count = 1;
        for (int d = 0; d < x->in[i].rank; d++) {
            if (x->in[i].dims[d] < 0) x->in[i].dims[d] = 1;
            count *= (size_t)x->in[i].dims[d];
        }
        x->in[i].data = malloc(count * sizeof(float));
        unsigned state = 1234u + (unsigned)i;
        for (size_t k = 0; k < count; k++) {
            state = state * 1664525u + 1013904223u;
            x->in[i].data[k] = (float)((state >> 8) / 16777216.0 * 2.0 - 1.0);
        }
    }
    for (int i = 0; i < x->n_out; i++) {
        assert_int_equal(clg_graph_output_shape(g, i, x->in, x->n_in, &x->out[i].rank, x->out[i].dims), CLG_OK);
        size_t count = 1;
        for (int d = 0; d < x->out[i].rank; d++) count *= (size_t)x->out[i].dims[d];
        x->out[i].data = calloc(count + 1, sizeof(float));
        clg_graph_output_dtype(g, i, &x->out[i].dtype);
    }
}

static size_t elems(const clg_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++) n *= (size_t)t->dims[d];
    return n;
}

static void io_free(clg_graph *g, const char *npy, io *x)
{
    for (int i = 0; i < x->n_in; i++) {
        if (npy) clg_graph_free_tensor(g, &x->in[i]);
        else free(x->in[i].data);
    }
    for (int i = 0; i < x->n_out; i++) free(x->out[i].data);
    free(x->in);
    free(x->out);
}

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)n + 1);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

/* Saved bundles, by test, kept for the damage tests. */
static unsigned char *saved;
static size_t saved_len;

/* Compiles the model at path (at -O2, run at the fixture's sizes when npy
 * is given), saves it as a bundle, loads that on a fresh context and
 * checks: the same bits, no build from source, no measurement, and the
 * reference's answer within tol. cold: compiled on a fresh context too, so
 * that every program the model uses is built there, in parallel after
 * planning (clg_plan_build_pending), and the bundle must still carry them
 * all. */
static void round_trip_at(const char *path, const char *npy, double tol, bool cold, clg_precision precision)
{
    clg_context *ctx = test_context();
    if (!ctx) skip();
    if (cold) ctx = fresh_context();
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, path) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    io a, b, ref;
    io_make(g, npy, &a);
    io_make(g, npy, &b);
    io_make(g, npy, &ref);
    clg_model *m = NULL;
    clg_model_options mo = CLG_MODEL_OPTIONS_INIT;
    mo.opt_level = 2;
    mo.precision = precision;
    if (clg_model_create_ex(&m, ctx, g, &mo) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    clg_model_stats st_saved;
    assert_int_equal(clg_model_stats_get(m, &st_saved), CLG_OK);
    if (clg_model_run(m, a.in, a.n_in, a.out, a.n_out) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    make_scratch();
    char file[512];
    snprintf(file, sizeof file, "%s/model.clgb", scratch_dir);
    if (clg_model_save_bundle(m, file) != CLG_OK) fail_msg("save: %s", clg_model_errmsg(m));
    clg_model_destroy(m);
    if (cold) {
        int built = 0;
        clg_program_cache_stats(ctx, NULL, NULL, &built);
        assert_true(built > 0); /* nothing came from a cache */
        clg_context_destroy(ctx);
    }

    clg_context *fresh = fresh_context();
    clg_model *l = NULL;
    if (clg_model_load_bundle(&l, fresh, file) != CLG_OK) fail_msg("load: %s", clg_model_errmsg(l));
    int builds = -1;
    clg_program_cache_stats(fresh, NULL, NULL, &builds);
    assert_int_equal(builds, 0);
    assert_true(fresh->cache_preset_binaries > 0);
    assert_int_equal(atomic_load(&fresh->gemm_measurements), 0);
    assert_string_equal(clg_model_note(l), "");
    assert_int_equal(clg_model_precision(l), precision);
    if (clg_model_run(l, b.in, b.n_in, b.out, b.n_out) != CLG_OK) fail_msg("%s", clg_model_errmsg(l));
    /* at the saved model's precision: its weight bytes (half at a half
     * precision) and, below, its bits */
    clg_model_stats st_loaded;
    assert_int_equal(clg_model_stats_get(l, &st_loaded), CLG_OK);
    assert_int_equal(st_loaded.weight_bytes, st_saved.weight_bytes);
    clg_program_cache_stats(fresh, NULL, NULL, &builds);
    assert_int_equal(builds, 0);
    assert_int_equal(atomic_load(&fresh->gemm_measurements), 0);
    for (int i = 0; i < a.n_out; i++)
        if (memcmp(a.out[i].data, b.out[i].data, elems(&a.out[i]) * clg_dtype_size(a.out[i].dtype)) != 0)
            fail_msg("%s: output %d of the bundle differs from the model it was saved from", path, i);
    /* and against the reference executor, on the original graph */
    assert_int_equal(clg_graph_run_reference(g, ref.in, ref.n_in, ref.out, ref.n_out), CLG_OK);
    for (int i = 0; i < a.n_out; i++) {
        if (ref.out[i].dtype != CLG_DTYPE_F32) continue;
        double worst = 0, scale = 1e-6;
        for (size_t k = 0; k < elems(&ref.out[i]); k++) {
            double d = fabs((double)b.out[i].data[k] - ref.out[i].data[k]);
            if (d > worst) worst = d;
            if (fabs(ref.out[i].data[k]) > scale) scale = fabs(ref.out[i].data[k]);
        }
        if (worst / scale > tol) fail_msg("%s: output %d is %g from the reference", path, i, worst / scale);
    }
    clg_model_destroy(l);
    clg_context_destroy(fresh);
    assert_int_equal(live_blocks, 0);
    io_free(g, npy, &a);
    io_free(g, npy, &b);
    io_free(g, npy, &ref);
    clg_graph_destroy(g);
    free(saved);
    saved = read_all(file, &saved_len);
}

static unsigned char *find_bytes(void *data, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp((unsigned char *)data + i, s, n)) return (unsigned char *)data + i;
    return NULL;
}

static void round_trip(const char *path, const char *npy, double tol, bool cold)
{
    round_trip_at(path, npy, tol, cold, CLG_PRECISION_FP32);
}

static void keep_mlp(void);

/* Format version 3 records the precision: a half model's bundle loads at
 * its precision (the same bits and weight bytes as the model it was saved
 * from, within half's bound of the fp32 reference), fp16 where the device
 * has cl_khr_fp16; elsewhere loading an fp16 bundle is refused naming the
 * extension (checked by forging the INFO line of an fp16-storage one). */
static void test_round_trip_half(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    round_trip_at("examples/residual_mlp.clg", NULL, 8 * 4.8828125e-4, true, CLG_PRECISION_FP16_STORAGE);
    assert_int_equal(clg_le_get32((unsigned char *)saved + 8), 3);
    assert_non_null(find_bytes(saved, saved_len, "\nprecision fp16-storage\n"));
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    if (info.fp16) {
        round_trip_at("examples/residual_mlp.clg", NULL, 8 * 4.8828125e-4, true, CLG_PRECISION_FP16);
        round_trip_at("tests/fixtures/resnet18_narrow/model.onnx", "tests/fixtures/resnet18_narrow/input.npy",
                      16 * 4.8828125e-4, false, CLG_PRECISION_FP16);
        printf("fp16 bundles round-trip on %s\n", info.name);
        return;
    }
    /* "fp16-storage" -> "fp16" plus padding the INFO section's length
     * keeps: a line of its own after it */
    unsigned char *p = find_bytes(saved, saved_len, "\nprecision fp16-storage\n");
    memcpy(p, "\nprecision fp16\nx      \n", 24);
    clg_bundle_reseal(saved, saved_len);
    clg_context *fresh = fresh_context();
    clg_model *l = NULL;
    assert_int_equal(clg_model_load_bundle_memory(&l, fresh, saved, saved_len), CLG_ERR_UNSUPPORTED);
    if (!strstr(clg_model_errmsg(l), "cl_khr_fp16") || !strstr(clg_model_errmsg(l), info.name))
        fail_msg("'%s'", clg_model_errmsg(l));
    printf("fp16 bundle on %s: refused: %s\n", info.name, clg_model_errmsg(l));
    clg_model_destroy(l);
    clg_context_destroy(fresh);
}

static void test_round_trip_mlp(void **state)
{
    (void)state;
    keep_mlp();
}

static unsigned char *mlp;
static size_t mlp_len;

static void keep_mlp(void)
{
    if (mlp) return;
    round_trip("examples/residual_mlp.clg", NULL, 1e-4, true);
    mlp = saved;
    mlp_len = saved_len;
    saved = NULL;
}

static void test_round_trip_conv(void **state)
{
    (void)state;
    round_trip("tests/fixtures/resnet18_narrow/model.onnx", "tests/fixtures/resnet18_narrow/input.npy", 1e-3, false);
}

static void test_round_trip_transformer(void **state)
{
    (void)state;
    round_trip("tests/fixtures/encoder_stack/model.onnx", "tests/fixtures/encoder_stack/input.npy", 1e-3, false);
}

/* ---------------------------------------------------------------- another device */

/* The MLP's bundle with its info section forged to say it was made by
 * clgraph `version` (NULL: this one) for the device `identity` (NULL: this
 * one), loaded on a fresh context: it must rebuild every program from the
 * sources it carries (no binary taken, nothing measured), say so in its
 * note, naming `says`, and run exactly as the genuine bundle does, within
 * the reference executor's tolerance. */
static void check_mismatch_rebuilds(const char *version, const char *identity, const char *says)
{
    keep_mlp();
    clg_allocator a = {counting_alloc, NULL};
    clg_bundle b;
    char err[512];
    assert_int_equal(clg_bundle_parse(&a, mlp, mlp_len, &b, err, sizeof err), CLG_OK);
    clg_bytes info = {&a, NULL, 0, 0, false};
    clg_bundle_put_info(&info, version ? version : b.version, identity ? identity : b.identity, b.precision);
    clg_bundle_out out;
    for (int i = 0; i < CLG_SEC_COUNT; i++) {
        out.data[i] = b.sec[i].data;
        out.size[i] = b.sec[i].size;
    }
    out.data[CLG_SEC_INFO] = info.data;
    out.size[CLG_SEC_INFO] = info.len;
    unsigned char *forged = NULL;
    size_t forged_len = 0;
    assert_int_equal(clg_bundle_serialize(&a, &out, &forged, &forged_len), CLG_OK);
    int n_programs = b.n_programs;
    clg_bundle_free(&b);
    clg_mem_free(&a, info.data);

    /* the genuine bundle's outputs, for comparison */
    clg_context *c1 = fresh_context(), *c2 = fresh_context();
    clg_model *genuine = NULL, *rebuilt = NULL;
    assert_int_equal(clg_model_load_bundle_memory(&genuine, c1, mlp, mlp_len), CLG_OK);
    if (clg_model_load_bundle_memory(&rebuilt, c2, forged, forged_len) != CLG_OK)
        fail_msg("%s", clg_model_errmsg(rebuilt));
    const char *note = clg_model_note(rebuilt);
    if (!strstr(note, says) || !strstr(note, "rebuilt from the sources")) fail_msg("note: '%s'", note);
    int builds = 0, binaries = 0;
    clg_program_cache_stats(c2, NULL, NULL, &builds);
    binaries = c2->cache_preset_binaries;
    assert_int_equal(builds, n_programs);
    assert_int_equal(binaries, 0);
    assert_int_equal(atomic_load(&c2->gemm_measurements), 0);

    clg_graph *g = NULL;
    assert_int_equal(clg_graph_clone(clg_model_graph(genuine), &g), CLG_OK);
    io x, y, ref;
    io_make(g, NULL, &x);
    io_make(g, NULL, &y);
    io_make(g, NULL, &ref);
    assert_int_equal(clg_model_run(genuine, x.in, x.n_in, x.out, x.n_out), CLG_OK);
    assert_int_equal(clg_model_run(rebuilt, y.in, y.n_in, y.out, y.n_out), CLG_OK);
    assert_int_equal(clg_graph_run_reference(g, ref.in, ref.n_in, ref.out, ref.n_out), CLG_OK);
    for (int i = 0; i < x.n_out; i++) {
        assert_memory_equal(x.out[i].data, y.out[i].data, elems(&x.out[i]) * sizeof(float));
        for (size_t k = 0; k < elems(&x.out[i]); k++)
            assert_true(fabs((double)y.out[i].data[k] - ref.out[i].data[k]) < 1e-4);
    }
    io_free(g, NULL, &x);
    io_free(g, NULL, &y);
    io_free(g, NULL, &ref);
    clg_graph_destroy(g);
    clg_model_destroy(genuine);
    clg_model_destroy(rebuilt);
    clg_context_destroy(c1);
    clg_context_destroy(c2);
    clg_mem_free(&a, forged);
    assert_int_equal(live_blocks, 0);
}

static void test_device_mismatch_rebuilds(void **state)
{
    (void)state;
    if (!test_context()) skip();
    check_mismatch_rebuilds(NULL, "Forged platform\nForged Device 9000\ndriver 0.0", "Forged Device 9000");
}

/* A bundle made by another clgraph version (the sources it carries are
 * that version's kernels as it built them) on this very device: the
 * binaries are not tried, the programs rebuilt, the note names both
 * versions. */
static void test_version_mismatch_rebuilds(void **state)
{
    (void)state;
    if (!test_context()) skip();
    check_mismatch_rebuilds("0.0.0-forged", NULL, "clgraph 0.0.0-forged");
}


/* ---------------------------------------------------------------- damage */

static clg_context *damage_ctx;

/* Loading data must fail with CLG_ERR_FORMAT and a message naming where. */
static void expect_format(const unsigned char *data, size_t len, const char *what, const char *says)
{
    clg_model *m = NULL;
    clg_status s = clg_model_load_bundle_memory(&m, damage_ctx, data, len);
    if (s != CLG_ERR_FORMAT) fail_msg("%s: status %s, '%s'", what, clg_status_string(s), clg_model_errmsg(m));
    const char *msg = clg_model_errmsg(m);
    if (!strstr(msg, "offset") || (says && !strstr(msg, says))) fail_msg("%s: message '%s'", what, msg);
    clg_model_destroy(m);
}

static void test_damaged(void **state)
{
    (void)state;
    if (!test_context()) skip();
    keep_mlp();
    damage_ctx = fresh_context();
    unsigned char *d = malloc(mlp_len);
    /* truncated at many offsets, the header and table at every byte */
    for (size_t cut = 0; cut < mlp_len; cut += cut < 256 ? 1 : 997) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", cut);
        expect_format(mlp, cut, what, NULL);
    }
    /* a flipped byte in the header, the table and each section */
    size_t table_end = CLG_BUNDLE_HEADER + CLG_SEC_COUNT * CLG_BUNDLE_ENTRY;
    for (size_t at = 0; at < table_end; at++) {
        memcpy(d, mlp, mlp_len);
        d[at] ^= 0x40;
        char what[64];
        snprintf(what, sizeof what, "byte %zu of the header flipped", at);
        expect_format(d, mlp_len, what, NULL);
    }
    for (int k = 0; k < CLG_SEC_COUNT; k++) {
        const unsigned char *e = mlp + CLG_BUNDLE_HEADER + (size_t)k * CLG_BUNDLE_ENTRY;
        uint64_t off = clg_le_get64(e + 8), size = clg_le_get64(e + 16);
        for (uint64_t i = 0; i < size; i += 1 + size / 7) {
            memcpy(d, mlp, mlp_len);
            d[off + i] ^= 0x01;
            char what[128];
            snprintf(what, sizeof what, "section %s byte %llu flipped", clg_bundle_tags[k], (unsigned long long)i);
            expect_format(d, mlp_len, what, clg_bundle_tags[k]);
        }
    }
    /* wrong magic; another version; sizes past the file, resealed */
    memcpy(d, mlp, mlp_len);
    d[0] = 'X';
    expect_format(d, mlp_len, "wrong magic", "magic");
    memcpy(d, mlp, mlp_len);
    d[8] = CLG_BUNDLE_VERSION + 1;
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "version 4", "version 4");
    /* a precision this clgraph does not know */
    memcpy(d, mlp, mlp_len);
    unsigned char *prec = find_bytes(d, mlp_len, "\nprecision fp32\n");
    assert_non_null(prec);
    memcpy(prec, "\nprecision fp64\n", 16);
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "precision fp64", "precision 'fp64'");
    memcpy(d, mlp, mlp_len);
    d[8] = 0;
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "version 0", "version 0");
    memcpy(d, mlp, mlp_len);
    d[12] = 200;
    expect_format(d, mlp_len, "200 sections", "sections");
    for (int k = 0; k < CLG_SEC_COUNT; k++) {
        memcpy(d, mlp, mlp_len);
        clg_le_put64(d + CLG_BUNDLE_HEADER + (size_t)k * CLG_BUNDLE_ENTRY + 16, UINT64_MAX - 4);
        clg_bundle_reseal(d, mlp_len);
        expect_format(d, mlp_len, "huge section size", "outside the file");
        memcpy(d, mlp, mlp_len);
        clg_le_put64(d + CLG_BUNDLE_HEADER + (size_t)k * CLG_BUNDLE_ENTRY + 8, UINT64_MAX - 4);
        clg_bundle_reseal(d, mlp_len);
        expect_format(d, mlp_len, "huge section offset", "outside the file");
    }
    /* a huge program count, and a huge source length, behind good checksums */
    const unsigned char *pe = mlp + CLG_BUNDLE_HEADER + (size_t)CLG_SEC_PROGRAMS * CLG_BUNDLE_ENTRY;
    uint64_t poff = clg_le_get64(pe + 8);
    memcpy(d, mlp, mlp_len);
    d[poff + 3] = 0x7f;
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "huge program count", "PROG");
    memcpy(d, mlp, mlp_len);
    {
        /* the first program: u32 name, u32 options, then u64 source length */
        size_t at = poff + 4;
        uint32_t name = (uint32_t)d[at] | (uint32_t)d[at + 1] << 8;
        at += 4 + name;
        uint32_t opts = (uint32_t)d[at] | (uint32_t)d[at + 1] << 8 | (uint32_t)d[at + 2] << 16;
        at += 4 + opts;
        clg_le_put64(d + at, UINT64_MAX / 2);
        clg_bundle_reseal(d, mlp_len);
        expect_format(d, mlp_len, "huge source length", "source");
    }
    /* a graph text that does not parse, behind good checksums */
    const unsigned char *ge = mlp + CLG_BUNDLE_HEADER + (size_t)CLG_SEC_GRAPH * CLG_BUNDLE_ENTRY;
    memcpy(d, mlp, mlp_len);
    memcpy(d + clg_le_get64(ge + 8), "!!", 2);
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "graph text", "GRPH");
    /* weights shorter than the graph needs */
    memcpy(d, mlp, mlp_len);
    unsigned char *we = d + CLG_BUNDLE_HEADER + (size_t)CLG_SEC_WEIGHTS * CLG_BUNDLE_ENTRY;
    clg_le_put64(we + 16, clg_le_get64(we + 16) / 2);
    clg_bundle_reseal(d, mlp_len);
    expect_format(d, mlp_len, "short weights", "GRPH");
    free(d);
    clg_context_destroy(damage_ctx);
    assert_int_equal(live_blocks, 0);
}

/* Every allocation of a load failing in turn: CLG_ERR_OUT_OF_MEMORY (or,
 * where the failure only costs a recorded source, success), never a leak
 * or a crash; the same context then loads the bundle. */
/* Format version 1 summed its sections with FNV-1a, one multiply per
 * byte; version 2 with clg_sum64. A version-1 bundle still loads and
 * gives the same bits; sums of one version under the other's number do
 * not pass. */
static void test_version1_still_loads(void **state)
{
    (void)state;
    if (!test_context()) skip();
    keep_mlp();
    assert_int_equal(clg_le_get32(mlp + 8), CLG_BUNDLE_VERSION);
    unsigned char *v1 = malloc(mlp_len);
    memcpy(v1, mlp, mlp_len);
    v1[8] = 1;
    clg_bundle_reseal(v1, mlp_len);
    for (int k = 0; k < CLG_SEC_COUNT; k++) {
        const unsigned char *e1 = v1 + CLG_BUNDLE_HEADER + (size_t)k * CLG_BUNDLE_ENTRY;
        const unsigned char *e2 = mlp + CLG_BUNDLE_HEADER + (size_t)k * CLG_BUNDLE_ENTRY;
        uint64_t off = clg_le_get64(e1 + 8), size = clg_le_get64(e1 + 16);
        assert_true(clg_le_get64(e1 + 24) == clg_fnv1a(CLG_FNV_OFFSET, v1 + off, (size_t)size));
        if (size > 0) assert_true(clg_le_get64(e1 + 24) != clg_le_get64(e2 + 24));
    }
    clg_context *c1 = fresh_context(), *c2 = fresh_context();
    clg_model *a = NULL, *b = NULL;
    assert_int_equal(clg_model_load_bundle_memory(&a, c1, mlp, mlp_len), CLG_OK);
    if (clg_model_load_bundle_memory(&b, c2, v1, mlp_len) != CLG_OK) fail_msg("%s", clg_model_errmsg(b));
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_clone(clg_model_graph(a), &g), CLG_OK);
    io x, y;
    io_make(g, NULL, &x);
    io_make(g, NULL, &y);
    assert_int_equal(clg_model_run(a, x.in, x.n_in, x.out, x.n_out), CLG_OK);
    assert_int_equal(clg_model_run(b, y.in, y.n_in, y.out, y.n_out), CLG_OK);
    for (int i = 0; i < x.n_out; i++)
        assert_memory_equal(x.out[i].data, y.out[i].data, elems(&x.out[i]) * sizeof(float));
    io_free(g, NULL, &x);
    io_free(g, NULL, &y);
    clg_graph_destroy(g);
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_context_destroy(c1);
    clg_context_destroy(c2);
    /* version-1 sums under version 2's number (header resealed only) */
    v1[8] = 2;
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, v1, 24);
    clg_le_put64(v1 + 24, clg_fnv1a(h, v1 + CLG_BUNDLE_HEADER, (size_t)CLG_SEC_COUNT * CLG_BUNDLE_ENTRY));
    clg_context *c3 = fresh_context();
    clg_model *bad = NULL;
    assert_int_equal(clg_model_load_bundle_memory(&bad, c3, v1, mlp_len), CLG_ERR_FORMAT);
    if (!strstr(clg_model_errmsg(bad), "checksum mismatch")) fail_msg("'%s'", clg_model_errmsg(bad));
    clg_model_destroy(bad);
    clg_context_destroy(c3);
    free(v1);
    assert_int_equal(live_blocks, 0);
}

static void test_load_out_of_memory(void **state)
{
    (void)state;
    if (!test_context()) skip();
    keep_mlp();
    clg_context *ctx = fresh_context();
    long base = live_blocks;
    int failures = 0;
    for (long k = 1; k < 100000; k += k < 40 ? 1 : 7) {
        clg_model *m = NULL;
        fail_countdown = k;
        clg_status s = clg_model_load_bundle_memory(&m, ctx, mlp, mlp_len);
        bool hit = fail_countdown == 0;
        fail_countdown = 0;
        if (s != CLG_OK && s != CLG_ERR_OUT_OF_MEMORY)
            fail_msg("allocation %ld failing: %s, '%s'", k, clg_status_string(s), clg_model_errmsg(m));
        if (s == CLG_ERR_OUT_OF_MEMORY && m && !clg_model_errmsg(m)[0])
            fail_msg("allocation %ld failing: no message", k);
        clg_model_destroy(m);
        failures += s != CLG_OK;
        if (!hit) break; /* the load needed fewer than k allocations */
    }
    assert_true(failures > 0);
    clg_model *m = NULL;
    assert_int_equal(clg_model_load_bundle_memory(&m, ctx, mlp, mlp_len), CLG_OK);
    clg_model_destroy(m);
    (void)base;
    clg_context_destroy(ctx);
    assert_int_equal(live_blocks, 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    clg_model *m = NULL;
    assert_int_equal(clg_model_load_bundle(NULL, NULL, "x"), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_model_load_bundle(&m, NULL, "x"), CLG_ERR_INVALID_ARGUMENT);
    assert_null(m);
    assert_int_equal(clg_model_save_bundle(NULL, "x"), CLG_ERR_INVALID_ARGUMENT);
    assert_null(clg_model_graph(NULL));
    assert_string_equal(clg_model_note(NULL), "");
    assert_int_equal(clg_model_precision(NULL), CLG_PRECISION_FP32);
    if (!test_context()) skip();
    clg_context *ctx = fresh_context();
    assert_int_equal(clg_model_load_bundle(&m, ctx, "/nonexistent/model.clgb"), CLG_ERR_IO);
    assert_non_null(strstr(clg_model_errmsg(m), "/nonexistent/model.clgb"));
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    assert_int_equal(live_blocks, 0);
}

static int teardown(void **state)
{
    free(saved);
    free(mlp);
    return test_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_round_trip_mlp),
        cmocka_unit_test(test_device_mismatch_rebuilds),
        cmocka_unit_test(test_version_mismatch_rebuilds),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_version1_still_loads),
        cmocka_unit_test(test_load_out_of_memory),
        cmocka_unit_test(test_round_trip_conv),
        cmocka_unit_test(test_round_trip_transformer),
        cmocka_unit_test(test_round_trip_half),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
