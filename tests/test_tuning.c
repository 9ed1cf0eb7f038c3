/* GEMM tuning (runtime/tune/tuning.c, tune/tuners.c, tune/routine.c): parameter
 * validity, reading clblast_tuner output, the parameter file's round trip,
 * every kind of file that must be ignored (corrupt, stale, another device's,
 * invalid values), a context applying stored parameters with GEMMs still
 * matching the reference executor, and one tiny bounded tune. Every test
 * uses its own cache directory; device tests skip without an OpenCL device. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "device_check.h"
#include "tuning.h"

static char root[256];
static int next_dir;

static bool have_device(void)
{
    int n = 0;
    return clg_devices_list(NULL, 0, &n) == CLG_OK && n > 0;
}

static const char *fresh_cache_dir(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/cache%d", root, next_dir++);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(setenv("CLGRAPH_CACHE_DIR", dir, 1), 0);
    return dir;
}

static const clg_allocator ALLOC = {clg_default_alloc, NULL};

static clg_device_info fake_device(const char *name, const char *driver)
{
    clg_device_info d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform, sizeof d.platform, "Test Platform");
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.driver, sizeof d.driver, "%s", driver);
    d.index = d.platform_index = d.device_index = -1;
    return d;
}

/* A set as a tune would store it: Copy, Xgemm (the first seed) and the
 * routine switch. */
static clg_tuning sample_set(void)
{
    clg_tuning t;
    memset(&t, 0, sizeof t);
    t.has[CLG_TK_COPY] = true;
    size_t copy[4] = {16, 32, 2, 1}; /* COPY_DIMX COPY_DIMY COPY_VW COPY_WPT */
    memcpy(t.values[CLG_TK_COPY], copy, sizeof copy);
    t.has[CLG_TK_XGEMM] = true;
    memcpy(t.values[CLG_TK_XGEMM], clg_tune_seed(0), 16 * sizeof(size_t));
    t.has[CLG_TK_GEMM_ROUTINE] = true;
    t.values[CLG_TK_GEMM_ROUTINE][0] = 16;
    t.created = 1764211200;
    snprintf(t.level, sizeof t.level, "quick");
    t.seconds = 274.5;
    t.n_shapes = 2;
    t.shapes[0] = (clg_tune_shape){1024, 1024, 1024, 0, 21.25, 112.5};
    t.shapes[1] = (clg_tune_shape){1, 128, 128, 1, 0.04, 0.05};
    return t;
}

static void assert_same_set(const clg_tuning *a, const clg_tuning *b)
{
    for (int i = 0; i < CLG_TK_COUNT; i++) {
        assert_int_equal(a->has[i], b->has[i]);
        if (a->has[i])
            assert_memory_equal(a->values[i], b->values[i],
                                (size_t)clg_tune_kernel_get((clg_tune_kernel_id)i)->n_params *
                                    sizeof(size_t));
    }
    assert_int_equal(a->created, b->created);
    assert_string_equal(a->level, b->level);
    assert_int_equal(a->n_shapes, b->n_shapes);
    for (int i = 0; i < a->n_shapes; i++) {
        assert_int_equal(a->shapes[i].m, b->shapes[i].m);
        assert_int_equal(a->shapes[i].trans_b, b->shapes[i].trans_b);
        assert_true(a->shapes[i].after_gflops - b->shapes[i].after_gflops < 0.01);
    }
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* FNV-1a, to re-seal a file after editing it so only the edit is tested. */
static char *reseal(const char *text)
{
    const char *mark = strstr(text, "checksum\t");
    assert_non_null(mark);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = text; p < mark; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    size_t n = (size_t)(mark - text);
    char *out = malloc(n + 64);
    assert_non_null(out);
    memcpy(out, text, n);
    snprintf(out + n, 64, "checksum\t%016llx\n", (unsigned long long)h);
    return out;
}

/* text with the first `from` replaced by `to`, resealed. */
static char *edited(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) + strlen(to) + 1;
    char *tmp = malloc(n);
    assert_non_null(tmp);
    snprintf(tmp, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    char *out = reseal(tmp);
    free(tmp);
    return out;
}

/* ---------------------------------------------------------------- pure */

static void test_params_valid(void **state)
{
    (void)state;
    char why[128];
    for (int i = 0; i < clg_tune_seed_count(); i++)
        assert_true(clg_tune_params_valid(CLG_TK_XGEMM, clg_tune_seed(i), why, sizeof why));
    /* MWG=100 is no power of two; MWG=32 with MDIMC*VWM=64 does not divide. */
    size_t x[16];
    memcpy(x, clg_tune_seed(0), sizeof x);
    x[clg_tune_param_find(CLG_TK_XGEMM, "MWG")] = 100;
    assert_false(clg_tune_params_valid(CLG_TK_XGEMM, x, why, sizeof why));
    assert_non_null(strstr(why, "MWG=100"));
    x[clg_tune_param_find(CLG_TK_XGEMM, "MWG")] = 32;
    assert_false(clg_tune_params_valid(CLG_TK_XGEMM, x, why, sizeof why));
    assert_non_null(strstr(why, "MDIMC*VWM"));
    memcpy(x, clg_tune_seed(0), sizeof x);
    x[clg_tune_param_find(CLG_TK_XGEMM, "SA")] = 2;
    assert_false(clg_tune_params_valid(CLG_TK_XGEMM, x, why, sizeof why));

    /* Rows clblast_tuner_xgemm_direct verified (WGD MDIMCD NDIMCD MDIMAD
     * NDIMBD KWID VWMD VWND PADA PADB), in the kernel's name order. */
    size_t d[10] = {0};
    const char *names[10] = {"WGD", "MDIMCD", "NDIMCD", "MDIMAD", "NDIMBD",
                             "KWID", "VWMD",   "VWND",   "PADA",   "PADB"};
    size_t row[10] = {64, 32, 16, 32, 16, 8, 2, 4, 1, 0};
    for (int i = 0; i < 10; i++) d[clg_tune_param_find(CLG_TK_XGEMM_DIRECT, names[i])] = row[i];
    assert_true(clg_tune_params_valid(CLG_TK_XGEMM_DIRECT, d, why, sizeof why));
    d[clg_tune_param_find(CLG_TK_XGEMM_DIRECT, "KWID")] = 128;
    assert_false(clg_tune_params_valid(CLG_TK_XGEMM_DIRECT, d, why, sizeof why));

    size_t routine[1] = {(size_t)1 << 21};
    assert_false(clg_tune_params_valid(CLG_TK_GEMM_ROUTINE, routine, why, sizeof why));
    routine[0] = 128;
    assert_true(clg_tune_params_valid(CLG_TK_GEMM_ROUTINE, routine, why, sizeof why));
    assert_int_equal(clg_tune_kernel_find("Padtranspose"), CLG_TK_PADTRANSPOSE);
    assert_int_equal(clg_tune_kernel_find("Nope"), -1);
}

static void test_tuner_output(void **state)
{
    (void)state;
    clg_tuner_parser p;
    clg_tuner_parser_init(&p, CLG_TK_XGEMM);
    clg_tuner_result r;
    /* Lines as clblast_tuner_xgemm 1.5.3 prints them, colours included. */
    char lines[][512] = {
        "* Found \x1b[1m578 configuration(s)\x1b[0m",
        "* Exploring a random subset of \x1b[1m0 configuration(s)\x1b[0m",
        "* Parameters explored: GEMMK MWG NWG KWG MDIMC NDIMC MDIMA NDIMB KWI VWM VWN STRM STRN "
        "SA SB KREG ",
        "|   ID | total |      param |      local      |      global     |       compiles |"
        "         time | GFLOPS |            status |",
        "|  ref |     - |          - |       8       8 |     256     256 |             "
        "\x1b[32mOK\x1b[0m |     19.01 ms |      - |      \x1b[32mreference OK\x1b[0m |",
        "* Found \x1b[1m120800 configuration(s)\x1b[0m",
        "* Exploring a random subset of \x1b[1m58 configuration(s)\x1b[0m",
        "|    1 |    58 |    0  128   64   16   16   32   32   32    2    2    2    1    0    0"
        "    0    1 |      16      32 |      32     128 |   \x1b[32mOK\x1b[0m     96 ms |      "
        "2.57 ms |   13.0 |     \x1b[32mresults match\x1b[0m |",
        "|    2 |    58 |    0   64  128   32   16   16   32    8    2    2    1    0    1    0"
        "    1    1 |      16      16 |      64      32 |   \x1b[32mOK\x1b[0m    107 ms |      "
        "2.28 ms |   14.7 |     \x1b[31mL2 error too large\x1b[0m |",
        /* verified by the tuner but MWG=96: never taken */
        "|    3 |    58 |    0   96   64   16   16   32   32   32    2    2    2    1    0    0"
        "    0    1 |      16      32 |      32     128 |   OK     96 ms |      1.00 ms |   13.0 |"
        "     results match |",
    };
    int verified = 0;
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        memset(&r, 0, sizeof r);
        int got = clg_tuner_parse_line(&p, lines[i], &r);
        if (got) {
            verified++;
            assert_int_equal(r.values[clg_tune_param_find(CLG_TK_XGEMM, "MWG")], 128);
            assert_int_equal(r.values[clg_tune_param_find(CLG_TK_XGEMM, "NWG")], 64);
            assert_int_equal(r.values[clg_tune_param_find(CLG_TK_XGEMM, "STRM")], 1);
            assert_int_equal(r.values[clg_tune_param_find(CLG_TK_XGEMM, "KREG")], 1);
            assert_true(r.ms > 2.56 && r.ms < 2.58);
        }
    }
    assert_int_equal(verified, 1);
    assert_int_equal(p.announced, 58);

    /* A row under a header that names parameters Xgemm does not have. */
    char header[] = "* Parameters explored: COPY_DIMX COPY_DIMY COPY_WPT COPY_VW";
    char row[] = "|    1 |     2 |   16   32    1    2 |  16  32 |  64  32 | OK 9 ms |  0.01 ms | "
                 "36.4 | results match |";
    assert_int_equal(clg_tuner_parse_line(&p, header, &r), 0);
    assert_int_equal(clg_tuner_parse_line(&p, row, &r), 0);
    clg_tuner_parser_init(&p, CLG_TK_COPY);
    char header2[] = "* Parameters explored: COPY_DIMX COPY_DIMY COPY_WPT COPY_VW";
    char row2[] = "|    1 |     2 |   16   32    1    2 |  16  32 |  64  32 | OK 9 ms |  0.01 ms | "
                  "36.4 | results match |";
    assert_int_equal(clg_tuner_parse_line(&p, header2, &r), 0);
    assert_int_equal(clg_tuner_parse_line(&p, row2, &r), 1);
    assert_int_equal(r.values[clg_tune_param_find(CLG_TK_COPY, "COPY_WPT")], 1);
    assert_int_equal(r.values[clg_tune_param_find(CLG_TK_COPY, "COPY_VW")], 2);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    const char *dir = fresh_cache_dir();
    clg_device_info dev = fake_device("Test Device (R) 9000", "1.2.3");
    clg_tuning t = sample_set(), back;
    char *text = NULL, why[256];
    size_t len = 0;
    assert_int_equal(clg_tuning_format(&ALLOC, &t, &dev, &text, &len), CLG_OK);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "kernel\tXgemm\tGEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=8 "
                                 "MWG=128 NDIMB=16 NDIMC=8 NWG=128 SA=0 SB=0 STRM=1 STRN=1 VWM=8 "
                                 "VWN=8\n"));
    assert_true(clg_tuning_parse(text, len, &dev, &back, why, sizeof why));
    assert_same_set(&t, &back);

    char err[256];
    assert_int_equal(clg_tuning_store(&ALLOC, dir, &dev, &t, err, sizeof err), CLG_OK);
    assert_true(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    assert_same_set(&t, &back);
    /* The file is where the path says, and nothing temporary is left. */
    char *path = clg_tuning_path(&ALLOC, dir, &dev);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, len);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The public view without a context. */
    clg_tune_info info;
    assert_int_equal(clg_device_tuning(&dev, &info), CLG_OK);
    assert_int_equal(info.tuned, 1);
    assert_int_equal(info.applied, 0);
    assert_string_equal(info.path, path);
    assert_string_equal(info.level, "quick");
    assert_int_equal(info.n_shapes, 2);
    assert_non_null(strstr(info.parameters, "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=16\n"));
    assert_non_null(strstr(info.parameters, "Copy COPY_DIMX=16"));

    /* A second store replaces the first. */
    t.values[CLG_TK_GEMM_ROUTINE][0] = 200;
    assert_int_equal(clg_tuning_store(&ALLOC, dir, &dev, &t, err, sizeof err), CLG_OK);
    assert_true(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    assert_int_equal(back.values[CLG_TK_GEMM_ROUTINE][0], 200);

    /* Names the format cannot hold are refused, not written half. */
    clg_device_info bad = fake_device("two\nlines", "1");
    char *none = NULL;
    assert_int_equal(clg_tuning_format(&ALLOC, &t, &bad, &none, &len), CLG_ERR_INVALID_ARGUMENT);
    assert_null(none);
    clg_mem_free(&ALLOC, path);
    clg_mem_free(&ALLOC, text);
    assert_int_equal(clg_device_tuning(NULL, &info), CLG_ERR_INVALID_ARGUMENT);
}

/* Every file below is for dev's path and must be ignored with a reason
 * that says which kind it is. */
static void test_bad_files_ignored(void **state)
{
    (void)state;
    const char *dir = fresh_cache_dir();
    clg_device_info dev = fake_device("Test Device", "1.2.3");
    clg_tuning t = sample_set(), back;
    char *text = NULL, why[256];
    size_t len = 0;
    assert_int_equal(clg_tuning_format(&ALLOC, &t, &dev, &text, &len), CLG_OK);
    char *path = clg_tuning_path(&ALLOC, dir, &dev);

    assert_false(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    assert_string_equal(why, "no parameter file");

    clg_device_info other = fake_device("Other Device", "1.2.3");
    char *foreign = NULL;
    size_t foreign_len = 0;
    assert_int_equal(clg_tuning_format(&ALLOC, &t, &other, &foreign, &foreign_len), CLG_OK);
    clg_device_info newer = fake_device("Test Device", "1.2.4");
    char *stale_driver = NULL;
    size_t stale_len = 0;
    assert_int_equal(clg_tuning_format(&ALLOC, &t, &newer, &stale_driver, &stale_len), CLG_OK);

    char *flipped = strdup(text);
    flipped[strstr(flipped, "MWG=128") - flipped + 4] = '6'; /* MWG=628, checksum unchanged */
    char *truncated = strndup(text, len / 2);
    char *stale_clblast = edited(text, "clblast\t", "clblast\t0.9-");
    char *stale_format = edited(text, "clgraph-tuning 1", "clgraph-tuning 2");
    char *bad_value = edited(text, "MWG=128", "MWG=96");
    char *missing = edited(text, " VWN=8", "");
    char *repeated = edited(text, "VWN=8", "VWN=8 VWN=8");
    char *unknown_kernel = edited(text, "kernel\tCopy", "kernel\tXgemv");
    char *unknown_key = edited(text, "level\t", "mood\t");
    char *junk_line = edited(text, "kernel\tXgemm", "hello\nkernel\tXgemm");
    char *after_sum = malloc(len + 8);
    snprintf(after_sum, len + 8, "%sextra\n", text);

    struct {
        const char *text;
        size_t len;
        const char *why;
    } cases[] = {
        {"", 0, "not a parameter file"},
        {flipped, len, "checksum mismatch"},
        {truncated, strlen(truncated), "no checksum line"},
        {after_sum, strlen(after_sum), "no checksum line"},
        {foreign, foreign_len, "tuned for another device (Other Device)"},
        {stale_driver, stale_len, "stale: tuned with driver 1.2.4, the device has 1.2.3"},
        {stale_clblast, strlen(stale_clblast), "stale: tuned with CLBlast 0.9-"},
        {stale_format, strlen(stale_format), "stale: not a version 1"},
        {bad_value, strlen(bad_value), "MWG=96 is out of range"},
        {missing, strlen(missing), "Xgemm needs all 16 parameters, the file has 15"},
        {repeated, strlen(repeated), "repeated parameter VWN"},
        {unknown_kernel, strlen(unknown_kernel), "unknown kernel Xgemv"},
        {unknown_key, strlen(unknown_key), "corrupt: line 7"},
        {junk_line, strlen(junk_line), "corrupt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text, cases[i].len);
        if (clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why))
            fail_msg("case %zu was accepted", i);
        if (!strstr(why, cases[i].why)) fail_msg("case %zu: '%s', expected '%s'", i, why, cases[i].why);
        if (i > 0 && strncmp(why, "ignored: ", 9) != 0) fail_msg("case %zu: '%s'", i, why);
        clg_tune_info info;
        assert_int_equal(clg_device_tuning(&dev, &info), CLG_OK);
        assert_int_equal(info.tuned, 0);
        assert_string_equal(info.status, why);
    }
    /* A directory where the file should be, and a file too large to be one. */
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_false(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    rmdir(path);
    char *big = calloc(1, 70000);
    write_file(path, big, 70000);
    assert_false(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    free(big);

    /* The good text still loads (the cases were copies). */
    write_file(path, text, len);
    assert_true(clg_tuning_load(&ALLOC, dir, &dev, &back, why, sizeof why));
    free(flipped);
    free(truncated);
    free(stale_clblast);
    free(stale_format);
    free(bad_value);
    free(missing);
    free(repeated);
    free(unknown_kernel);
    free(unknown_key);
    free(junk_line);
    free(after_sum);
    clg_mem_free(&ALLOC, foreign);
    clg_mem_free(&ALLOC, stale_driver);
    clg_mem_free(&ALLOC, text);
    clg_mem_free(&ALLOC, path);
}

/* ---------------------------------------------------------------- device */

static cl_device_id ctx_device(const clg_context *ctx) { return ctx->device; }

static clg_context *open_context(int flags)
{
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, flags, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    return ctx;
}

/* GEMMs through both CLBlast paths: tiny ones go to the direct kernel,
 * the rest (past XGEMM_MIN_INDIRECT_SIZE=16 when tuned) to Xgemm with
 * padding, B plain and transposed. */
static void check_gemms(clg_context *ctx)
{
    static const char *graphs[] = {
        "input x: f32[N, 96]\nconst w: f32[96, 80] = random(1, -1, 1)\n"
        "y = MatMul(x, w)\noutput y\n",
        "input x: f32[N, 130]\nconst w: f32[70, 130] = random(2, -1, 1)\n"
        "const b: f32[70] = random(3, -1, 1)\ny = Gemm(x, w, b) transB=1\noutput y\n",
        "input x: f32[N, 7]\nconst w: f32[7, 5] = random(4, -1, 1)\n"
        "y = MatMul(x, w)\noutput y\n",
    };
    for (size_t i = 0; i < sizeof graphs / sizeof *graphs; i++) {
        clg_graph *g = test_parse(graphs[i]);
        double err = test_device_error(ctx, g, i == 2 ? 3 : 64, 7);
        if (!(err < 1e-4)) fail_msg("graph %zu: error %g", i, err);
        clg_graph_destroy(g);
    }
}

static void test_context_applies_stored(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    clg_context *ctx = open_context(CLG_CONTEXT_UNTUNED);
    clg_device_info dev;
    assert_int_equal(clg_context_device(ctx, &dev), CLG_OK);
    clg_tune_info info;
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.tuned, 0);
    assert_string_equal(info.status, "no parameter file");
    clg_context_destroy(ctx);

    clg_tuning t = sample_set();
    char err[256];
    assert_int_equal(clg_tuning_store(&ALLOC, dir, &dev, &t, err, sizeof err), CLG_OK);

    /* Asked not to, a context leaves CLBlast alone (first in this process:
     * once applied, parameters stay for every context on the device). */
    ctx = open_context(CLG_CONTEXT_UNTUNED);
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.tuned, 1);
    assert_int_equal(info.applied, 0);
    size_t xgemm[CLG_TK_MAX_PARAMS], routine[1];
    assert_int_equal(clg_tuning_retrieve(ctx_device(ctx), CLG_TK_XGEMM, xgemm), 0);
    assert_memory_not_equal(xgemm, t.values[CLG_TK_XGEMM], 16 * sizeof(size_t));
    assert_int_equal(clg_tuning_state(ctx_device(ctx)), 0);
    clg_context_destroy(ctx);
    setenv("CLGRAPH_TUNING", "0", 1);
    ctx = open_context(0);
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.applied, 0);
    assert_string_equal(info.status, "tuned, not applied (CLGRAPH_TUNING=0)");
    clg_context_destroy(ctx);
    unsetenv("CLGRAPH_TUNING");

    ctx = open_context(0);
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.tuned, 1);
    assert_int_equal(info.applied, 1);
    assert_string_equal(info.status, "tuned");
    /* CLBlast itself now holds the stored values. */
    assert_int_equal(clg_tuning_retrieve(ctx_device(ctx), CLG_TK_XGEMM, xgemm), 0);
    assert_memory_equal(xgemm, t.values[CLG_TK_XGEMM], 16 * sizeof(size_t));
    assert_int_equal(clg_tuning_retrieve(ctx_device(ctx), CLG_TK_GEMM_ROUTINE, routine), 0);
    assert_int_equal(routine[0], 16);
    assert_true(clg_tuning_state(ctx_device(ctx)) != 0);
    check_gemms(ctx);
    clg_context_destroy(ctx);

    /* A corrupt file is ignored and is not what the device runs. */
    char *path = clg_tuning_path(&ALLOC, dir, &dev);
    write_file(path, "clgraph-tuning 1\n", 17);
    ctx = open_context(0);
    assert_int_equal(clg_context_tuning(ctx, &info), CLG_OK);
    assert_int_equal(info.tuned, 0);
    assert_int_equal(info.applied, 0);
    assert_non_null(strstr(info.status, "ignored: corrupt"));
    check_gemms(ctx);
    clg_context_destroy(ctx);
    clg_mem_free(&ALLOC, path);
}

static void progress_count(void *user, const clg_tune_progress *p)
{
    int *calls = user;
    (*calls)++;
    assert_non_null(p->stage);
    assert_true(p->stage_index >= 1 && p->stage_index <= p->stage_count);
    assert_true(p->done >= 0 && p->done <= p->total);
}

/* A tune bounded to two Xgemm configurations (from clblast_tuner_xgemm
 * when installed, else a built-in one) on two small shapes. */
static void test_tune_smoke(void **state)
{
    (void)state;
    if (!have_device()) skip();
    const char *dir = fresh_cache_dir();
    static const clg_tune_gemm shapes[] = {{64, 64, 64, false}, {1, 64, 64, true}};
    clg_tune_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.level = "smoke";
    plan.use_tuners = true;
    plan.kernel_size = 128; /* the Xgemm tuner's least: a multiple of MWG up to 128 */
    plan.fraction[CLG_TK_XGEMM] = 50000; /* ~2 of its 120800 sampled configurations */
    plan.seconds[CLG_TK_XGEMM] = 60;
    plan.max_results = 2;
    plan.candidates = 1;
    plan.rounds = 1;
    char *tuner = clg_tuner_find(&ALLOC, "clblast_tuner_xgemm");
    plan.n_seeds = tuner ? 0 : 1;
    clg_mem_free(&ALLOC, tuner);
    plan.n_shapes = 2;
    plan.shapes = shapes;

    clg_context *ctx = open_context(0);
    clg_device_info dev;
    assert_int_equal(clg_context_device(ctx, &dev), CLG_OK);
    clg_tuning before, after;
    for (int id = 0; id < CLG_TK_COUNT; id++)
        assert_int_equal(clg_tuning_retrieve(ctx_device(ctx), id, before.values[id]), 0);
    clg_tune_info *r = calloc(1, sizeof *r);
    int calls = 0;
    clg_status s = clg_tune_run(ctx, &plan, progress_count, &calls, r);
    if (s != CLG_OK) fail_msg("tune: %s", clg_context_errmsg(ctx));
    assert_true(calls > 0);
    assert_int_equal(r->n_shapes, 2);
    assert_true(r->shapes[0].before_gflops > 0 && r->shapes[0].after_gflops > 0);
    clg_tune_info now;
    assert_int_equal(clg_context_tuning(ctx, &now), CLG_OK);
    for (int id = 0; id < CLG_TK_COUNT; id++)
        assert_int_equal(clg_tuning_retrieve(ctx_device(ctx), id, after.values[id]), 0);
    if (r->tuned) {
        /* Stored, applied, what CLBlast runs, and what a context reads back:
         * the file holds the kernels that changed, CLBlast keeps the rest. */
        assert_int_equal(now.tuned, 1);
        assert_int_equal(now.applied, 1);
        assert_string_equal(now.parameters, r->parameters);
        clg_tuning file;
        char why[256];
        assert_true(clg_tuning_load(&ALLOC, dir, &dev, &file, why, sizeof why));
        for (int id = 0; id < CLG_TK_COUNT; id++)
            assert_memory_equal(after.values[id], file.has[id] ? file.values[id] : before.values[id],
                                (size_t)clg_tune_kernel_get(id)->n_params * sizeof(size_t));
    } else {
        /* Nothing better: nothing stored, and CLBlast runs what it ran. */
        assert_non_null(strstr(r->status, "nothing stored"));
        assert_int_equal(now.tuned, 0);
        for (int id = 0; id < CLG_TK_COUNT; id++)
            assert_memory_equal(after.values[id], before.values[id],
                                (size_t)clg_tune_kernel_get(id)->n_params * sizeof(size_t));
    }
    check_gemms(ctx);
    /* Nothing of the tuner's scratch directory is left. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, "tune-", 5) == 0) fail_msg("left behind: %s", e->d_name);
    closedir(d);
    free(r);
    clg_context_destroy(ctx);

    assert_int_equal(clg_tune(NULL, CLG_TUNE_QUICK, NULL, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------- main */

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/clgraph-test-tuning-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) return -1;
    unsetenv("CLGRAPH_TUNING");
    unsetenv("CLGRAPH_CACHE");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clg_remove_tree(root);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_valid),
        cmocka_unit_test(test_tuner_output),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_bad_files_ignored),
        cmocka_unit_test(test_context_applies_stored),
        cmocka_unit_test(test_tune_smoke),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
