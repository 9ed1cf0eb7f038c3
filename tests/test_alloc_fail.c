/* Out-of-memory handling through the allocator hook: an allocator shaped like
 * lua_Alloc that fails the k-th growth request (frees and shrinks always
 * succeed) and tracks live bytes. For k = 1, 2, ... until the operation
 * succeeds, every failing k must give CLG_ERR_OUT_OF_MEMORY, and after
 * clg_graph_destroy no byte may be left. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgraph.h"

#define EXAMPLE "examples/residual_mlp.clg"

/* ---------------------------------------------------------------- the allocator */

typedef struct fail_alloc {
    long long fail_at;  /* fail this growth request (1-based); 0: never */
    long long growths;  /* growth requests seen (new_size > old_size) */
    long long failures; /* requests refused */
    long long live;     /* bytes the library holds */
    long long blocks;   /* blocks the library holds */
    long long bad_old;  /* calls whose old_size was not the block's size */
} fail_alloc;

/* Each block carries its size in front, so the allocator can check the
 * old_size the library reports (lua_Alloc's contract). */
#define HDR 16

static void *fail_alloc_fn(void *user, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *a = user;
    char *block = ptr ? (char *)ptr - HDR : NULL;
    if (ptr) {
        size_t real;
        memcpy(&real, block, sizeof real);
        if (real != old_size) a->bad_old++;
    } else if (old_size != 0) {
        /* lua_Alloc passes a type tag here for new blocks; clgraph passes 0. */
        a->bad_old++;
    }
    if (new_size == 0) {
        if (ptr) {
            a->live -= (long long)old_size;
            a->blocks--;
        }
        free(block);
        return NULL;
    }
    if (new_size > (ptr ? old_size : 0)) {
        a->growths++;
        if (a->fail_at && a->growths == a->fail_at) {
            a->failures++;
            return NULL;
        }
    }
    char *p = realloc(block, new_size + HDR);
    if (!p) return NULL;
    memcpy(p, &new_size, sizeof new_size);
    a->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    if (!ptr) a->blocks++;
    return p + HDR;
}

static void assert_clean(const fail_alloc *a, const char *what, long long k)
{
    if (a->live != 0 || a->blocks != 0)
        fail_msg("%s, failing allocation %lld: %lld bytes in %lld blocks leaked", what, k, a->live, a->blocks);
    if (a->bad_old) fail_msg("%s, failing allocation %lld: %lld calls with a wrong old_size", what, k, a->bad_old);
}

static void assert_oom(clg_graph *g, clg_status s, const char *what, long long k)
{
    if (s != CLG_ERR_OUT_OF_MEMORY)
        fail_msg("%s, failing allocation %lld: status %s (%s), expected CLG_ERR_OUT_OF_MEMORY", what, k,
                 clg_status_string(s), g ? clg_graph_errmsg(g) : "");
    if (g && !strstr(clg_graph_errmsg(g), "out of memory"))
        fail_msg("%s, failing allocation %lld: message \"%s\"", what, k, clg_graph_errmsg(g));
}

/* ---------------------------------------------------------------- create + load + print */

/* Returns the number of growth requests the whole sequence made. */
static long long load_print_until_success(const char *path)
{
    char *want = NULL;
    for (long long k = 1;; k++) {
        fail_alloc a = {k, 0, 0, 0, 0, 0};
        clg_graph *g = NULL;
        clg_status s = clg_graph_create(&g, fail_alloc_fn, &a);
        if (s) {
            assert_oom(NULL, s, path, k);
            assert_null(g);
            assert_clean(&a, path, k);
            continue;
        }
        s = clg_graph_load(g, path);
        if (s) {
            assert_oom(g, s, path, k);
            /* The graph is left empty. */
            assert_int_equal(clg_graph_node_count(g), 0);
            assert_int_equal(clg_graph_output_count(g), 0);
        } else {
            char *text = NULL;
            size_t len = 0;
            s = clg_graph_print(g, &text, &len);
            if (s) {
                assert_oom(g, s, path, k);
                assert_null(text);
            } else {
                if (!want) {
                    want = strdup(text);
                    assert_non_null(want);
                }
                assert_string_equal(text, want);
                assert_int_equal(len, strlen(text));
                clg_graph_free(g, text);
            }
        }
        clg_graph_destroy(g);
        assert_clean(&a, path, k);
        if (s == CLG_OK) {
            /* Success comes exactly when no request was refused. */
            if (a.failures != 0) fail_msg("%s: succeeded although allocation %lld failed", path, k);
            free(want);
            return a.growths;
        }
        assert_int_equal(a.failures, 1);
    }
}

static void test_load_and_print_example(void **state)
{
    (void)state;
    long long n = load_print_until_success(EXAMPLE);
    print_message("%s: %lld growth requests, each failed once\n", EXAMPLE, n);
    assert_true(n > 20);
}

/* Other shapes of input reach other allocations: weights files, many ops,
 * statements out of order. */
static void test_load_and_print_other_files(void **state)
{
    (void)state;
    static const char *files[] = {"tests/data/valid/all_ops.clg", "tests/data/valid/weights.clg",
                                  "tests/data/valid/messy.clg", "tests/data/valid/names.clg",
                                  "tests/data/valid/sequence_sizes.clg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) load_print_until_success(files[i]);
}

/* A transformer fixture through the ONNX importer (protobuf-c's
 * allocations included). */
static void test_load_and_print_transformer_fixtures(void **state)
{
    (void)state;
    /* one fixture: each takes ~2000 loads (seconds); this one has symbolic
     * sizes, int64 ids, Range, Gather and an encoder layer */
    static const char *files[] = {"tests/fixtures/arange_positions/model.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        long long n = load_print_until_success(files[i]);
        print_message("%s: %lld growth requests, each failed once\n", files[i], n);
    }
}

/* -O2 on tf2onnx's Keras MultiHeadAttention + LayerNorm block
 * (fuse-layernorm, elementwise fusion), failing each
 * of its allocations in turn: CLG_ERR_OUT_OF_MEMORY and a graph that still
 * prints as one of the states the passes go through, or success; nothing
 * leaks. */
static void test_optimize_transformer_fixtures(void **state)
{
    (void)state;
    static const char *files[] = {"tests/fixtures/keras_mha_block/model.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        long long k;
        for (k = 1;; k++) {
            fail_alloc a = {0, 0, 0, 0, 0, 0};
            clg_graph *g = NULL;
            assert_int_equal(clg_graph_create(&g, fail_alloc_fn, &a), CLG_OK);
            if (clg_graph_load(g, files[i]) != CLG_OK) fail_msg("%s: %s", files[i], clg_graph_errmsg(g));
            a.fail_at = a.growths + k;
            clg_status s = clg_graph_optimize(g, 2, NULL, NULL);
            bool failed = a.failures != 0;
            a.fail_at = 0;
            if (failed) assert_oom(g, s, files[i], k);
            else if (s) fail_msg("%s: -O2 without a failure: %s", files[i], clg_graph_errmsg(g));
            /* whatever state it is left in, the graph is whole */
            char *text = NULL;
            size_t len = 0;
            assert_int_equal(clg_graph_print(g, &text, &len), CLG_OK);
            clg_graph_free(g, text);
            clg_graph_destroy(g);
            assert_clean(&a, files[i], k);
            if (!failed) break;
        }
        print_message("%s -O2: %lld allocations, each failed once\n", files[i], k - 1);
        assert_true(k > 10);
    }
}

/* Errors other than out-of-memory still win when memory is short: a file
 * with a syntax error gives either OOM or its own error, never anything else. */
static void test_malformed_under_failures(void **state)
{
    (void)state;
    static const char *files[] = {"tests/data/malformed/cycle_long.clg", "tests/data/malformed/duplicate_name.clg",
                                  "tests/data/malformed/error_deep_in_graph.clg",
                                  "tests/data/malformed/file_past_end.clg", "tests/data/malformed/truncated.clg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        clg_status final = CLG_OK;
        for (long long k = 1;; k++) {
            fail_alloc a = {k, 0, 0, 0, 0, 0};
            clg_graph *g = NULL;
            if (clg_graph_create(&g, fail_alloc_fn, &a)) continue;
            clg_status s = clg_graph_load(g, files[i]);
            assert_true(s != CLG_OK);
            if (a.failures) assert_oom(g, s, files[i], k);
            assert_int_equal(clg_graph_node_count(g), 0);
            clg_graph_destroy(g);
            assert_clean(&a, files[i], k);
            if (!a.failures) {
                final = s;
                break;
            }
        }
        assert_true(final != CLG_ERR_OUT_OF_MEMORY);
    }
}

/* The builder: every call either succeeds or returns OOM and adds nothing. */
static void test_builder_under_failures(void **state)
{
    (void)state;
    static const int64_t dx[3] = {CLG_BATCH, 2, 3}, dc[1] = {3};
    static const float c[3] = {1, 2, 3};
    static const char *cat_in[10] = {"x", "x", "x", "x", "x", "x", "x", "x", "x", "x"};
    for (long long k = 1;; k++) {
        fail_alloc a = {k, 0, 0, 0, 0, 0};
        clg_graph *g = NULL;
        clg_status s = clg_graph_create(&g, fail_alloc_fn, &a);
        if (s) {
            assert_oom(NULL, s, "builder", k);
            assert_clean(&a, "builder", k);
            continue;
        }
        const char *add_in[2] = {"x", "c"};
        const char *relu_in[1] = {"sum"};
        int steps = 0;
        int64_t dims[CLG_MAX_RANK];
        int rank;
        if (!(s = clg_graph_add_input(g, "x", 3, dx))) steps++;
        if (!s && !(s = clg_graph_add_constant(g, "c", 1, dc, c))) steps++;
        if (!s && !(s = clg_graph_add_node(g, CLG_OP_ADD, "sum", add_in, 2, NULL, 0))) steps++;
        if (!s && !(s = clg_graph_add_node(g, CLG_OP_RELU, "r", relu_in, 1, NULL, 0))) steps++;
        if (!s && !(s = clg_graph_add_node(g, CLG_OP_CONCAT, "cat", cat_in, 10, NULL, 0))) steps++;
        if (!s && !(s = clg_graph_add_output(g, "r"))) steps++;
        if (!s && !(s = clg_graph_add_output(g, "cat"))) steps++;
        if (!s && !(s = clg_graph_output_info(g, 1, 4, NULL, &rank, dims))) steps++;
        if (s) {
            assert_oom(g, s, "builder", k);
            /* The failed call added nothing: nodes are exactly the steps before it. */
            int nodes = steps < 5 ? steps : 5;
            assert_int_equal(clg_graph_node_count(g), nodes);
        } else {
            assert_int_equal(rank, 3);
            assert_int_equal(dims[0], 4);
            assert_int_equal(dims[1], 20);
            assert_int_equal(dims[2], 3);
        }
        clg_graph_destroy(g);
        assert_clean(&a, "builder", k);
        if (!s) {
            assert_int_equal(a.failures, 0);
            break;
        }
    }
}

/* ---------------------------------------------------------------- the reference executor */

enum { BATCH = 3, FEATURES = 128, CLASSES = 10 };

static void fill_input(float *x)
{
    for (int i = 0; i < BATCH * FEATURES; i++) x[i] = (float)sin(0.37 * i) * 0.8f;
}

/* Runs the example at batch 3 through the reference executor on a fresh
 * graph whose allocator fails its k-th growth request during the run
 * (k = 0: never). */
static clg_status run_once(long long k, float *y, fail_alloc *a, char *msg, size_t msg_size)
{
    memset(a, 0, sizeof *a);
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, fail_alloc_fn, a), CLG_OK);
    assert_int_equal(clg_graph_load(g, EXAMPLE), CLG_OK);
    float x[BATCH * FEATURES];
    fill_input(x);
    clg_tensor in = {x, 2, {BATCH, FEATURES}, CLG_DTYPE_F32};
    clg_tensor out = {y, 0, {0}, CLG_DTYPE_F32};
    long long before = a->live;
    a->fail_at = k ? a->growths + k : 0;
    clg_status s = clg_graph_run_reference(g, &in, 1, &out, 1);
    a->fail_at = 0;
    snprintf(msg, msg_size, "%s", clg_graph_errmsg(g));
    if (s == CLG_OK) {
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[0], BATCH);
        assert_int_equal(out.dims[1], CLASSES);
    }
    /* A run, failed or not, keeps nothing. */
    if (a->live != before) fail_msg("run failing allocation %lld: %lld bytes kept", k, a->live - before);
    if (s == CLG_ERR_OUT_OF_MEMORY) {
        /* The graph is still usable: a run with memory back succeeds. */
        float again[BATCH * CLASSES];
        clg_tensor out2 = {again, 0, {0}, CLG_DTYPE_F32};
        assert_int_equal(clg_graph_run_reference(g, &in, 1, &out2, 1), CLG_OK);
    }
    clg_graph_destroy(g);
    assert_clean(a, "run", k);
    return s;
}

static void test_run_reference_example(void **state)
{
    (void)state;
    fail_alloc a;
    char msg[2048];
    float want[BATCH * CLASSES];
    clg_status s = run_once(0, want, &a, msg, sizeof msg);
    if (s == CLG_ERR_UNSUPPORTED) {
        print_message("reference executor not available yet (%s): skipped\n", msg);
        skip();
    }
    if (s) fail_msg("the example does not run: %s", msg);
    /* Softmax rows: positive, summing to 1. */
    for (int r = 0; r < BATCH; r++) {
        double sum = 0;
        for (int c = 0; c < CLASSES; c++) {
            assert_true(want[r * CLASSES + c] > 0.0f);
            sum += want[r * CLASSES + c];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
    }
    long long runs = 0;
    for (long long k = 1;; k++) {
        float y[BATCH * CLASSES];
        memset(y, 0, sizeof y);
        s = run_once(k, y, &a, msg, sizeof msg);
        if (a.failures == 0) {
            if (s) fail_msg("run without a failure: %s", msg);
            assert_memory_equal(y, want, sizeof y);
            break;
        }
        if (s != CLG_ERR_OUT_OF_MEMORY)
            fail_msg("run failing allocation %lld: status %s (%s)", k, clg_status_string(s), msg);
        if (!strstr(msg, "out of memory")) fail_msg("run failing allocation %lld: message \"%s\"", k, msg);
        runs++;
    }
    print_message("reference run at batch %d: %lld allocations, each failed once\n", BATCH, runs);
    assert_true(runs > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_print_example),
        cmocka_unit_test(test_load_and_print_other_files),
        cmocka_unit_test(test_load_and_print_transformer_fixtures),
        cmocka_unit_test(test_optimize_transformer_fixtures),
        cmocka_unit_test(test_malformed_under_failures),
        cmocka_unit_test(test_builder_under_failures),
        cmocka_unit_test(test_run_reference_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
