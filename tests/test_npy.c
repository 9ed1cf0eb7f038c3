/* .npy reading and writing (io/npy.c): files numpy wrote (tests/data/npy,
 * made by make_fixtures.py there), hand-written headers, malformed files,
 * shape checks against graph inputs and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clgraph.h"

#define DATA "tests/data/npy/"

/* A scratch path under the build directory (or /tmp), unique per process. */
static const char *scratch(const char *name)
{
    static char path[4][1024];
    static int next;
    const char *dir = getenv("CLGRAPH_BUILD_DIR");
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/test_npy_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* A version 1.0 file with the given header dict (padded with spaces and '\n'
 * like numpy does, but not aligned) followed by `count` floats 0, 1, 2... */
static void write_npy_v1(const char *path, const char *dict, size_t count)
{
    char buf[4096];
    size_t dlen = strlen(dict), hlen = dlen + 3;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, dlen);
    memcpy(buf + 10 + dlen, "  \n", 3);
    size_t n = 10 + hlen;
    for (size_t i = 0; i < count; i++) {
        float v = (float)i;
        memcpy(buf + n, &v, 4);
        n += 4;
    }
    write_bytes(path, buf, n);
}

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    return g;
}

/* Reads path expecting status, with message containing `msg`; checks the
 * tensor is left cleared. */
static void expect_read_error(clg_graph *g, const char *path, int index, clg_status status, const char *msg)
{
    clg_tensor t = {(float *)&t, 3, {1, 2, 3}, CLG_DTYPE_F32};
    clg_status s = clg_graph_read_npy(g, path, index, &t);
    if (s != status || !strstr(clg_graph_errmsg(g), msg))
        fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", path, s, clg_graph_errmsg(g), status, msg);
    assert_null(t.data);
    assert_int_equal(t.rank, 0);
}

/* ------------------------------------------------------------- numpy files */

static void test_read_numpy_2x3(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const char *files[] = {DATA "f32_2x3.npy", DATA "f32_v2.npy", DATA "f32_v3.npy"};
    for (size_t f = 0; f < 3; f++) {
        clg_tensor t;
        assert_int_equal(clg_graph_read_npy(g, files[f], -1, &t), CLG_OK);
        assert_int_equal(t.rank, 2);
        assert_int_equal(t.dims[0], 2);
        assert_int_equal(t.dims[1], 3);
        for (int i = 0; i < 6; i++) assert_true(t.data[i] == (float)i * 0.5f - 1.0f);
        clg_graph_free_tensor(g, &t);
        assert_null(t.data);
        assert_int_equal(t.rank, 0);
    }
    clg_graph_destroy(g);
}

static void test_read_numpy_rank1_rank5(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    clg_tensor t;
    assert_int_equal(clg_graph_read_npy(g, DATA "f32_5.npy", -1, &t), CLG_OK);
    assert_int_equal(t.rank, 1);
    assert_int_equal(t.dims[0], 5);
    const float want[] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f};
    for (int i = 0; i < 5; i++) assert_true(t.data[i] == want[i]);
    clg_graph_free_tensor(g, &t);

    assert_int_equal(clg_graph_read_npy(g, DATA "f32_rank5.npy", -1, &t), CLG_OK);
    assert_int_equal(t.rank, 5);
    const int64_t dims[] = {2, 1, 3, 1, 2};
    for (int i = 0; i < 5; i++) assert_int_equal(t.dims[i], dims[i]);
    for (int i = 0; i < 12; i++) assert_true(t.data[i] == (float)i);
    clg_graph_free_tensor(g, &t);
    clg_graph_destroy(g);
}

/* Reading a numpy.save file and writing it back gives the same bytes. */
static void test_write_matches_numpy(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const char *files[] = {DATA "f32_2x3.npy", DATA "f32_5.npy", DATA "f32_rank5.npy", DATA "mlp_x_b3.npy"};
    const char *out = scratch("same.npy");
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        clg_tensor t;
        assert_int_equal(clg_graph_read_npy(g, files[f], -1, &t), CLG_OK);
        assert_int_equal(clg_graph_write_npy(g, out, &t), CLG_OK);
        clg_graph_free_tensor(g, &t);
        size_t la, lb;
        char *a = read_bytes(files[f], &la), *b = read_bytes(out, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
    }
    remove(out);
    clg_graph_destroy(g);
}

static void test_round_trip(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const char *path = scratch("rt.npy");
    /* Long first dimensions change numpy's growth padding; the data must
     * still start on a 64-byte boundary. */
    const int64_t shapes[][CLG_MAX_RANK + 1] = {
        {1, 7}, {2, 4, 3}, {3, 1, 2, 3}, {5, 2, 1, 2, 1, 2}, {2, 1234567, 1}, {1, 100000},
        {6, 2, 1, 3, 1, 2, 2}, {8, 2, 1, 2, 3, 1, 2, 1, 2}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        clg_tensor t = {NULL, (int)shapes[k][0], {0}, CLG_DTYPE_F32};
        size_t count = 1;
        for (int i = 0; i < t.rank; i++) count *= (size_t)(t.dims[i] = shapes[k][1 + i]);
        t.data = malloc(count * sizeof(float));
        assert_non_null(t.data);
        for (size_t i = 0; i < count; i++) t.data[i] = (float)i * 0.25f - 3.0f;
        assert_int_equal(clg_graph_write_npy(g, path, &t), CLG_OK);

        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        size_t header = (size_t)st.st_size - count * sizeof(float);
        assert_int_equal(header % 64, 0);

        clg_tensor r;
        assert_int_equal(clg_graph_read_npy(g, path, -1, &r), CLG_OK);
        assert_int_equal(r.rank, t.rank);
        for (int i = 0; i < t.rank; i++) assert_int_equal(r.dims[i], t.dims[i]);
        assert_memory_equal(r.data, t.data, count * sizeof(float));
        clg_graph_free_tensor(g, &r);
        free(t.data);
    }
    remove(path);
    clg_graph_destroy(g);
}

/* --------------------------------------------------------- malformed files */

static void test_malformed_numpy_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        clg_status status;
        const char *msg;
    } cases[] = {
        {"f64.npy", CLG_ERR_FORMAT, "dtype '<f8' (float64) is not supported"},
        {"f32_be.npy", CLG_ERR_FORMAT, "dtype '>f4' (float32) is not supported"},
        {"fortran.npy", CLG_ERR_FORMAT, "Fortran order"},
        {"scalar.npy", CLG_ERR_FORMAT, "0-d (shape ())"},
        {"empty.npy", CLG_ERR_FORMAT, "shape (0, 3) has no elements"},
        {"rank9.npy", CLG_ERR_FORMAT, "more than 8 dimensions"},
        {"truncated.npy", CLG_ERR_FORMAT, "truncated.npy: truncated: expected 24 bytes of data, found 20"},
        {"trailing.npy", CLG_ERR_FORMAT, "expected 24 bytes of data, found 28 (trailing bytes)"},
        {"bad_magic.npy", CLG_ERR_FORMAT, "bad_magic.npy: not a .npy file"},
        {"no_such_file.npy", CLG_ERR_IO, "cannot open " DATA "no_such_file.npy"},
    };
    clg_graph *g = new_graph();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", cases[i].file);
        expect_read_error(g, path, -1, cases[i].status, cases[i].msg);
    }
    clg_graph_destroy(g);
}

/* Header dicts numpy or other writers may produce. */
static void test_header_variants_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *dict;
        int rank;
        int64_t d0, d1;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 2, 3},
        {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", 2, 2, 3},
        {"{'fortran_order':False,'shape':(5,),'descr':'<f4'}", 1, 5, 0},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3,)}", 2, 2, 3},
        {"{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 3L , 2L ) , }", 2, 3, 2},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 1, 6, 0},
    };
    clg_graph *g = new_graph();
    const char *path = scratch("variant.npy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t count = (size_t)cases[i].d0 * (size_t)(cases[i].rank == 2 ? cases[i].d1 : 1);
        write_npy_v1(path, cases[i].dict, count);
        clg_tensor t;
        clg_status s = clg_graph_read_npy(g, path, -1, &t);
        if (s != CLG_OK) fail_msg("%s: %s", cases[i].dict, clg_graph_errmsg(g));
        assert_int_equal(t.rank, cases[i].rank);
        assert_int_equal(t.dims[0], cases[i].d0);
        if (t.rank == 2) assert_int_equal(t.dims[1], cases[i].d1);
        for (size_t k = 0; k < count; k++) assert_true(t.data[k] == (float)k);
        clg_graph_free_tensor(g, &t);
    }
    remove(path);
    clg_graph_destroy(g);
}

static void test_header_variants_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *dict;
        size_t count;
        const char *msg;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False}", 6, "no 'shape' key"},
        {"{'descr': '<f4', 'shape': (6,)}", 6, "no 'fortran_order' key"},
        {"{'fortran_order': False, 'shape': (6,)}", 6, "no 'descr' key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", 6, "unexpected key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 6, "key 'descr' appears twice"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", 6, "'fortran_order' is not True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", 6, "is an int, not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [6]}", 6, "'shape' is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", 6, "non-negative integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 6, "expected ',' or ')'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", 6, "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", 6, "text after the closing '}'"},
        {"{'descr': <f4, 'fortran_order': False, 'shape': (6,)}", 6, "'descr' is not a string"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", 6, "expected ',' or '}'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}", 6, "structured dtypes"},
        {"('descr', '<f4')", 6, "it is not a dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 0, "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904)}", 0,
         "shape (4611686018427387904, 4611686018427387904) is too large"},
        /* A huge shape over a tiny file is reported, not allocated. */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,)}", 1,
         "truncated: expected 4398046511104 bytes of data, found 4"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 5, "expected 24 bytes of data, found 20"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1)}", 1, "more than 8 dimensions"},
    };
    clg_graph *g = new_graph();
    const char *path = scratch("bad.npy");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_v1(path, cases[i].dict, cases[i].count);
        expect_read_error(g, path, -1, CLG_ERR_FORMAT, cases[i].msg);
    }
    remove(path);
    clg_graph_destroy(g);
}

static void test_bad_prefixes(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const char *path = scratch("prefix.npy");
    write_bytes(path, "", 0);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "not a .npy file");
    write_bytes(path, "\x93NUMPY\x01", 7);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "truncated .npy header");
    write_bytes(path, "\x93NUMPY\x04\x00\x10\x00{}", 12);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "unsupported .npy format version 4.0");
    write_bytes(path, "\x93NUMPY\x01\x01\x10\x00{}", 12);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "unsupported .npy format version 1.1");
    write_bytes(path, "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "truncated .npy header");
    write_bytes(path, "\x93NUMPY\x02\x00\x10\x00", 10);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "truncated .npy header");
    write_bytes(path, "\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14);
    expect_read_error(g, path, -1, CLG_ERR_FORMAT, "is too long");
    remove(path);
    clg_graph_destroy(g);
}

/* A FIFO cannot be sought: the data is read as it comes. */
static void read_through_fifo(clg_graph *g, const char *src, clg_status want, const char *msg)
{
    const char *fifo = scratch("fifo.npy");
    remove(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    size_t len;
    char *bytes = read_bytes(src, &len);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(fifo, "wb");
        size_t n = f ? fwrite(bytes, 1, len, f) : 0;
        _exit(f && n == len && fclose(f) == 0 ? 0 : 1);
    }
    clg_tensor t;
    clg_status s = clg_graph_read_npy(g, fifo, -1, &t);
    int wstatus;
    waitpid(pid, &wstatus, 0);
    free(bytes);
    remove(fifo);
    if (s != want || (msg && !strstr(clg_graph_errmsg(g), msg)))
        fail_msg("fifo %s: got %d \"%s\"", src, s, clg_graph_errmsg(g));
    if (s == CLG_OK) {
        assert_int_equal(t.rank, 2);
        for (int i = 0; i < 6; i++) assert_true(t.data[i] == (float)i * 0.5f - 1.0f);
        clg_graph_free_tensor(g, &t);
    }
}

static void test_read_fifo(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    read_through_fifo(g, DATA "f32_2x3.npy", CLG_OK, NULL);
    read_through_fifo(g, DATA "truncated.npy", CLG_ERR_FORMAT, "truncated: expected 24 bytes of data, found 20");
    read_through_fifo(g, DATA "trailing.npy", CLG_ERR_FORMAT, "expected 24 bytes of data, found 28");
    clg_graph_destroy(g);
}

/* ---------------------------------------------------- graph input shapes */

static void test_shape_against_input(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    const int64_t xd[] = {CLG_BATCH, 128}, md[] = {2, 3}, vd[] = {5};
    assert_int_equal(clg_graph_add_input(g, "x", 2, xd), CLG_OK);
    assert_int_equal(clg_graph_add_input(g, "m", 2, md), CLG_OK);
    assert_int_equal(clg_graph_add_input(g, "v", 1, vd), CLG_OK);

    clg_tensor t;
    assert_int_equal(clg_graph_read_npy(g, DATA "mlp_x_b3.npy", 0, &t), CLG_OK); /* N matches 3 */
    assert_int_equal(t.dims[0], 3);
    clg_graph_free_tensor(g, &t);
    assert_int_equal(clg_graph_read_npy(g, DATA "f32_2x3.npy", 1, &t), CLG_OK);
    clg_graph_free_tensor(g, &t);
    assert_int_equal(clg_graph_read_npy(g, DATA "f32_5.npy", 2, &t), CLG_OK);
    clg_graph_free_tensor(g, &t);

    expect_read_error(g, DATA "mlp_x_bad.npy", 0, CLG_ERR_INVALID_ARGUMENT,
                      "mlp_x_bad.npy: shape (3, 64) does not match input x: f32[N, 128]");
    expect_read_error(g, DATA "f32_5.npy", 0, CLG_ERR_INVALID_ARGUMENT,
                      "f32_5.npy: shape (5,) does not match input x: f32[N, 128]");
    expect_read_error(g, DATA "mlp_x_b3.npy", 1, CLG_ERR_INVALID_ARGUMENT,
                      "shape (3, 128) does not match input m: f32[2, 3]");
    expect_read_error(g, DATA "f32_rank5.npy", 2, CLG_ERR_INVALID_ARGUMENT,
                      "shape (2, 1, 3, 1, 2) does not match input v: f32[5]");
    expect_read_error(g, DATA "f32_5.npy", 3, CLG_ERR_INVALID_ARGUMENT, "the graph has no input 3 (it has 3)");
    /* Format errors come before shape checks. */
    expect_read_error(g, DATA "f64.npy", 1, CLG_ERR_FORMAT, "float64");
    /* The element type must be the input's. */
    expect_read_error(g, DATA "i32.npy", 1, CLG_ERR_INVALID_ARGUMENT,
                      "i32.npy: dtype '<i4' (i32) does not match input m: f32[2, 3]");
    const int64_t id[] = {CLG_BATCH, 3};
    assert_int_equal(clg_graph_add_input_typed(g, "ids", CLG_DTYPE_I32, 2, id), CLG_OK);
    assert_int_equal(clg_graph_read_npy(g, DATA "i32.npy", 3, &t), CLG_OK);
    assert_int_equal(t.dtype, CLG_DTYPE_I32);
    clg_graph_free_tensor(g, &t);
    expect_read_error(g, DATA "f32_2x3.npy", 3, CLG_ERR_INVALID_ARGUMENT,
                      "f32_2x3.npy: dtype '<f4' (f32) does not match input ids: i32[N, 3]");
    clg_graph_destroy(g);
}

/* int32 (written by numpy.save), int64 and bool arrays read with their dtype
 * and write back as numpy writes them. */
static void test_integer_and_bool_arrays(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    clg_tensor t;
    /* np.arange(6, dtype=np.int32).reshape(2, 3) */
    assert_int_equal(clg_graph_read_npy(g, DATA "i32.npy", -1, &t), CLG_OK);
    assert_int_equal(t.dtype, CLG_DTYPE_I32);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 2);
    assert_int_equal(t.dims[1], 3);
    for (int i = 0; i < 6; i++) assert_int_equal(((const int32_t *)t.data)[i], i);
    const char *out = scratch("int.npy");
    assert_int_equal(clg_graph_write_npy(g, out, &t), CLG_OK);
    clg_graph_free_tensor(g, &t);
    size_t la, lb;
    char *a = read_bytes(DATA "i32.npy", &la), *b = read_bytes(out, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);

    /* int64: the header numpy.save writes for np.int64 (shape (2, 3): 128
     * bytes with the growth padding), then the values little-endian. */
    int64_t v[6] = {0, -1, 16777216, -16777216, ((int64_t)1 << 40) + 3, INT64_MIN};
    clg_tensor w = {(float *)v, 2, {2, 3}, CLG_DTYPE_I64};
    assert_int_equal(clg_graph_write_npy(g, out, &w), CLG_OK);
    b = read_bytes(out, &lb);
    assert_int_equal(lb, 128 + 6 * 8);
    const char head[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(b, head, sizeof head - 1);
    assert_int_equal(b[127], '\n');
    const unsigned char le_minus_one[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(b + 128 + 8, le_minus_one, 8);
    free(b);
    assert_int_equal(clg_graph_read_npy(g, out, -1, &t), CLG_OK);
    assert_int_equal(t.dtype, CLG_DTYPE_I64);
    assert_memory_equal(t.data, v, sizeof v);
    clg_graph_free_tensor(g, &t);

    /* bool: '|b1', one byte per element. */
    uint8_t m[3] = {1, 0, 1};
    clg_tensor bt = {(float *)m, 1, {3}, CLG_DTYPE_BOOL};
    assert_int_equal(clg_graph_write_npy(g, out, &bt), CLG_OK);
    b = read_bytes(out, &lb);
    assert_int_equal(lb, 128 + 3);
    assert_non_null(strstr(b + 10, "'descr': '|b1'"));
    free(b);
    assert_int_equal(clg_graph_read_npy(g, out, -1, &t), CLG_OK);
    assert_int_equal(t.dtype, CLG_DTYPE_BOOL);
    assert_memory_equal(t.data, m, sizeof m);
    clg_graph_free_tensor(g, &t);

    /* float16 (numpy.save of np.float16: '<f2'): the half bits as NumPy
     * stored them, and written back byte for byte; an f16 graph input takes
     * it, an f32 one names both types. */
    assert_int_equal(clg_graph_read_npy(g, DATA "f16.npy", -1, &t), CLG_OK);
    assert_int_equal(t.dtype, CLG_DTYPE_F16);
    assert_int_equal(t.rank, 2);
    const uint16_t halves[6] = {0x0000, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x2e66}; /* a.view(np.uint16) */
    assert_memory_equal(t.data, halves, sizeof halves);
    assert_int_equal(clg_graph_write_npy(g, out, &t), CLG_OK);
    clg_graph_free_tensor(g, &t);
    a = read_bytes(DATA "f16.npy", &la);
    b = read_bytes(out, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    assert_int_equal(clg_graph_add_input_typed(g, "h", CLG_DTYPE_F16, 2, (int64_t[]){2, 3}), CLG_OK);
    assert_int_equal(clg_graph_add_input(g, "x", 2, (int64_t[]){2, 3}), CLG_OK);
    assert_int_equal(clg_graph_read_npy(g, DATA "f16.npy", 0, &t), CLG_OK);
    clg_graph_free_tensor(g, &t);
    expect_read_error(g, DATA "f16.npy", 1, CLG_ERR_INVALID_ARGUMENT, "dtype '<f2' (f16) does not match input x: f32[2, 3]");

    clg_tensor bad = {(float *)m, 1, {3}, (clg_dtype)9};
    assert_int_equal(clg_graph_write_npy(g, out, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "unknown dtype 9"));
    remove(out);
    clg_graph_destroy(g);
}

/* ------------------------------------------------------ arguments, errors */

static void test_bad_arguments(void **state)
{
    (void)state;
    clg_tensor t;
    float data[6] = {0};
    assert_int_equal(clg_graph_read_npy(NULL, DATA "f32_2x3.npy", -1, &t), CLG_ERR_INVALID_ARGUMENT);
    clg_graph *g = new_graph();
    assert_int_equal(clg_graph_read_npy(g, NULL, -1, &t), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_read_npy(g, DATA "f32_2x3.npy", -1, NULL), CLG_ERR_INVALID_ARGUMENT);

    const char *path = scratch("w.npy");
    clg_tensor w = {data, 2, {2, 3}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(NULL, path, &w), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_write_npy(g, NULL, &w), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_write_npy(g, path, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_tensor bad = {NULL, 2, {2, 3}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(g, path, &bad), CLG_ERR_INVALID_ARGUMENT);
    bad = (clg_tensor){data, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(g, path, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "rank 0 is outside 1..8"));
    bad = (clg_tensor){data, 9, {1, 1, 1, 1, 1}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(g, path, &bad), CLG_ERR_INVALID_ARGUMENT);
    bad = (clg_tensor){data, 2, {0, 3}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(g, path, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "dimension 0 is 0"));
    bad = (clg_tensor){data, 2, {INT64_MAX, INT64_MAX}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_write_npy(g, path, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "too large"));

    assert_int_equal(clg_graph_write_npy(g, "/nonexistent-dir/x.npy", &w), CLG_ERR_IO);
    assert_non_null(strstr(clg_graph_errmsg(g), "cannot create /nonexistent-dir/x.npy"));
    if (access("/dev/full", W_OK) == 0) {
        float big[4096] = {0};
        clg_tensor b = {big, 1, {4096}, CLG_DTYPE_F32};
        assert_int_equal(clg_graph_write_npy(g, "/dev/full", &b), CLG_ERR_IO);
        assert_non_null(strstr(clg_graph_errmsg(g), "cannot write /dev/full"));
    }
    expect_read_error(g, "tests/data/npy", -1, CLG_ERR_IO, "tests/data/npy"); /* a directory */

    clg_graph_free_tensor(g, NULL);
    clg_graph_free_tensor(NULL, NULL);
    clg_tensor empty = {0};
    clg_graph_free_tensor(g, &empty);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------- allocation failures */

typedef struct budget {
    long allowed; /* allocations (not frees) that may still succeed; -1: all */
    long live;    /* blocks outstanding */
} budget;

static void *budget_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    budget *b = user;
    (void)old_size;
    if (new_size == 0) {
        if (ptr) b->live--;
        free(ptr);
        return NULL;
    }
    if (b->allowed == 0) return NULL;
    if (b->allowed > 0) b->allowed--;
    void *p = realloc(ptr, new_size);
    if (p && !ptr) b->live++;
    return p;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    const char *files[] = {DATA "f32_2x3.npy", DATA "f32_v2.npy", DATA "truncated.npy"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        int failures = 0;
        for (long k = 0;; k++) {
            budget b = {-1, 0};
            clg_graph *g = NULL;
            assert_int_equal(clg_graph_create(&g, budget_alloc, &b), CLG_OK);
            long base = b.live;
            b.allowed = k;
            clg_tensor t;
            clg_status s = clg_graph_read_npy(g, files[f], -1, &t);
            b.allowed = -1;
            if (s == CLG_ERR_OUT_OF_MEMORY) {
                failures++;
                assert_non_null(strstr(clg_graph_errmsg(g), "out of memory"));
                assert_null(t.data);
                assert_int_equal(b.live, base);
                clg_graph_destroy(g);
                continue;
            }
            if (f < 2) {
                assert_int_equal(s, CLG_OK);
                assert_int_equal(b.live, base + 1);
                clg_graph_free_tensor(g, &t);
            } else {
                assert_int_equal(s, CLG_ERR_FORMAT);
            }
            assert_int_equal(b.live, base);
            clg_graph_destroy(g);
            assert_int_equal(b.live, 0);
            break;
        }
        assert_true(failures >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_numpy_2x3),
        cmocka_unit_test(test_read_numpy_rank1_rank5),
        cmocka_unit_test(test_write_matches_numpy),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_integer_and_bool_arrays),
        cmocka_unit_test(test_malformed_numpy_files),
        cmocka_unit_test(test_header_variants_accepted),
        cmocka_unit_test(test_header_variants_rejected),
        cmocka_unit_test(test_bad_prefixes),
        cmocka_unit_test(test_read_fifo),
        cmocka_unit_test(test_shape_against_input),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
