/* Malformed text: every file in tests/data/malformed must fail to load with
 * the error its header names, leave the graph empty and hold no memory.
 *
 * A file's header is comment lines:
 *     # expect: <substring the message must contain>
 *     # status: CLG_ERR_...       (the exact status)
 *     # line: N                   (when the error is tied to a line: the
 *                                 message must contain "line N:")
 * The one file without a header is empty.clg (zero bytes).
 *
 * Also the in-memory API on text that is not NUL-terminated. */
#include <dirent.h>
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

#define MALFORMED_DIR "tests/data/malformed"

/* ---------------------------------------------------------------- a counting allocator */

typedef struct counter {
    long long live; /* bytes currently allocated */
    long long calls;
} counter;

static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    counter *c = user;
    if (new_size == 0) {
        if (ptr) c->live -= (long long)old_size;
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (!p) return NULL;
    c->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    c->calls++;
    return p;
}

/* ---------------------------------------------------------------- helpers */

static const struct { const char *name; clg_status status; } statuses[] = {
    {"CLG_ERR_INVALID_ARGUMENT", CLG_ERR_INVALID_ARGUMENT},
    {"CLG_ERR_OUT_OF_MEMORY", CLG_ERR_OUT_OF_MEMORY},
    {"CLG_ERR_PARSE", CLG_ERR_PARSE},
    {"CLG_ERR_INVALID_GRAPH", CLG_ERR_INVALID_GRAPH},
    {"CLG_ERR_UNSUPPORTED", CLG_ERR_UNSUPPORTED},
    {"CLG_ERR_IO", CLG_ERR_IO},
    {"CLG_ERR_FORMAT", CLG_ERR_FORMAT},
};

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t cap = 1024, n = 0, got;
    char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The value of header line "# key: value" (copied into out), or false. */
static bool header(const char *text, const char *key, char *out, size_t size)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "# %s: ", key);
    for (const char *p = text; *p == '#';) {
        const char *eol = strchr(p, '\n');
        if (!eol) break;
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            const char *v = p + strlen(prefix);
            size_t n = (size_t)(eol - v);
            if (n >= size) n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = eol + 1;
    }
    return false;
}

/* After a failed parse or load: nothing left in g, no memory held but the
 * graph itself, and g still usable. */
static void assert_left_empty(clg_graph *g, const counter *c, long long baseline, const char *what)
{
    if (clg_graph_node_count(g) != 0 || clg_graph_output_count(g) != 0 || clg_graph_input_count(g) != 0)
        fail_msg("%s: the graph is not empty after the error", what);
    if (c && c->live != baseline)
        fail_msg("%s: %lld bytes still held after the error", what, c->live - baseline);
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    if (strcmp(text, "") != 0) fail_msg("%s: prints \"%s\" after the error", what, text);
    clg_graph_free(g, text);
    /* The same graph takes a valid text afterwards. */
    const char *ok = "input x: f32[N, 2]\ny = Relu(x)\noutput y\n";
    assert_int_equal(clg_graph_parse(g, ok, strlen(ok), NULL), CLG_OK);
    assert_int_equal(clg_graph_node_count(g), 2);
}

typedef struct result { int files, with_line; } result;

static void check_file(const char *dir, const char *fname, result *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, fname);
    size_t len;
    char *text = read_all(path, &len);
    char expect[256], status_name[64], line[32];
    if (len == 0) {
        /* The empty file: no header possible. */
        assert_string_equal(fname, "empty.clg");
        snprintf(expect, sizeof expect, "the graph has no outputs");
        snprintf(status_name, sizeof status_name, "CLG_ERR_INVALID_GRAPH");
        line[0] = '\0';
    } else {
        if (!header(text, "expect", expect, sizeof expect)) fail_msg("%s: no '# expect:' line", path);
        if (strncmp(text, "# expect: ", 10) != 0) fail_msg("%s: '# expect:' is not the first line", path);
        if (!header(text, "status", status_name, sizeof status_name)) fail_msg("%s: no '# status:' line", path);
        if (!header(text, "line", line, sizeof line)) line[0] = '\0';
    }
    clg_status want = CLG_OK;
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (strcmp(statuses[i].name, status_name) == 0) want = statuses[i].status;
    if (want == CLG_OK) fail_msg("%s: unknown status %s", path, status_name);

    counter c = {0, 0};
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, counting_alloc, &c), CLG_OK);
    long long baseline = c.live;
    clg_status s = clg_graph_load(g, path);
    const char *msg = clg_graph_errmsg(g);
    if (s == CLG_OK) fail_msg("%s: loaded without an error (expected \"%s\")", path, expect);
    if (s != want)
        fail_msg("%s: status %s, expected %s; message: %s", path, clg_status_string(s), status_name, msg);
    if (!strstr(msg, expect)) fail_msg("%s: message \"%s\" lacks \"%s\"", path, msg, expect);
    /* clg_graph_load names the file first. */
    if (strncmp(msg, path, strlen(path)) != 0) fail_msg("%s: message \"%s\" does not name the file", path, msg);
    if (line[0]) {
        char tag[48];
        snprintf(tag, sizeof tag, "line %s:", line);
        if (!strstr(msg, tag)) fail_msg("%s: message \"%s\" lacks \"%s\"", path, msg, tag);
        /* ... and no other line number first. */
        const char *first = strstr(msg, "line ");
        if (first != strstr(msg, tag)) fail_msg("%s: message \"%s\" names another line first", path, msg);
        r->with_line++;
    }
    assert_left_empty(g, &c, baseline, path);
    clg_graph_destroy(g);
    if (c.live != 0) fail_msg("%s: %lld bytes leaked", path, c.live);

    /* The same text in memory gives the same error (less the file name). */
    {
        assert_int_equal(clg_graph_create(&g, counting_alloc, &c), CLG_OK);
        char *copy = malloc(len ? len : 1); /* not NUL-terminated */
        assert_non_null(copy);
        memcpy(copy, text, len);
        s = clg_graph_parse(g, copy, len, MALFORMED_DIR);
        free(copy);
        assert_int_equal(s, want);
        if (!strstr(clg_graph_errmsg(g), expect)) fail_msg("%s in memory: \"%s\"", path, clg_graph_errmsg(g));
        assert_left_empty(g, &c, baseline, path);
        clg_graph_destroy(g);
        assert_int_equal(c.live, 0);
    }
    free(text);
    r->files++;
}

/* ---------------------------------------------------------------- tests */

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_malformed_files(void **state)
{
    (void)state;
    DIR *d = opendir(MALFORMED_DIR);
    assert_non_null(d);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".clg") != 0) continue;
        names = realloc(names, (n + 1) * sizeof *names);
        assert_non_null(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    result r = {0, 0};
    for (size_t i = 0; i < n; i++) {
        check_file(MALFORMED_DIR, names[i], &r);
        free(names[i]);
    }
    free(names);
    print_message("%d malformed files, %d with a line number\n", r.files, r.with_line);
    assert_true(r.files >= 30);
}

/* Messages name both lines of a duplicate, and the whole cycle. */
static void test_specific_messages(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    const char *dup = "input x: f32[N, 4]\ny = Relu(x)\n\ny = Tanh(x)\noutput y\n";
    assert_int_equal(clg_graph_parse(g, dup, strlen(dup), NULL), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "line 4: node y (Tanh): duplicate name: already defined on line 2");
    const char *cyc = "input x: f32[N, 4]\na = Add(x, b)\nb = Relu(a)\noutput b\n";
    assert_int_equal(clg_graph_parse(g, cyc, strlen(cyc), NULL), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "line 3: node b (Relu): cycle: a -> b -> a");
    const char *two = "input x: f32[N, 4]\ny = Relu(x)\noutput y\noutput y\n";
    assert_int_equal(clg_graph_parse(g, two, strlen(two), NULL), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "line 4: output 'y' is listed twice");
    const char *gemm = "input x: f32[N, 64]\nconst w: f32[128, 10] = ones\nd = Gemm(x, w)\noutput d\n";
    assert_int_equal(clg_graph_parse(g, gemm, strlen(gemm), NULL), CLG_ERR_INVALID_GRAPH);
    assert_string_equal(clg_graph_errmsg(g), "line 3: node d (Gemm): input has 64 features, weight expects 128");
    /* A load error message starts with the path. */
    assert_int_equal(clg_graph_load(g, MALFORMED_DIR "/unknown_op.clg"), CLG_ERR_PARSE);
    assert_string_equal(clg_graph_errmsg(g), MALFORMED_DIR "/unknown_op.clg: line 5: node y: unknown op 'Foo'");
    /* A missing model file is an I/O error. */
    assert_int_equal(clg_graph_load(g, MALFORMED_DIR "/no_such_file.clg"), CLG_ERR_IO);
    assert_non_null(strstr(clg_graph_errmsg(g), "no_such_file.clg"));
    /* A directory is not a model. */
    assert_true(clg_graph_load(g, MALFORMED_DIR) < 0);
    assert_int_equal(clg_graph_node_count(g), 0);
    clg_graph_destroy(g);
}

/* The empty text, and NULL text with length 0, parse to "no outputs". */
static void test_empty_text(void **state)
{
    (void)state;
    counter c = {0, 0};
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, counting_alloc, &c), CLG_OK);
    long long baseline = c.live;
    assert_int_equal(clg_graph_parse(g, "", 0, NULL), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "the graph has no outputs"));
    assert_int_equal(c.live, baseline);
    assert_int_equal(clg_graph_parse(g, NULL, 0, NULL), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "the graph has no outputs"));
    assert_int_equal(clg_graph_parse(g, NULL, 5, NULL), CLG_ERR_INVALID_ARGUMENT);
    /* A length of 0 ignores whatever the pointer holds. */
    assert_int_equal(clg_graph_parse(g, "input x: f32[2]\noutput x\n", 0, NULL), CLG_ERR_INVALID_GRAPH);
    assert_left_empty(g, &c, baseline, "empty text");
    clg_graph_destroy(g);
    assert_int_equal(c.live, 0);
}

/* Text in a buffer with no NUL after it: the parser must stop at len (ASan
 * catches a read past the buffer), wherever the text ends. */
static void parse_exact(const char *text, size_t len, clg_status want, const char *expect)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    clg_status s = clg_graph_parse(g, buf, len, NULL);
    if (s != want) fail_msg("\"%.*s\": status %d, expected %d: %s", (int)len, text, s, want, clg_graph_errmsg(g));
    if (expect && !strstr(clg_graph_errmsg(g), expect))
        fail_msg("\"%.*s\": message \"%s\" lacks \"%s\"", (int)len, text, clg_graph_errmsg(g), expect);
    if (s) assert_int_equal(clg_graph_node_count(g), 0);
    clg_graph_destroy(g);
    free(buf);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    const char *valid = "input x: f32[N, 4]\nconst c: f32[4] = [1, 2, 3, 4]\ny = Add(x, c)\noutput y";
    parse_exact(valid, strlen(valid), CLG_OK, NULL);
    /* Ends inside every kind of token. */
    static const struct { const char *text; clg_status status; const char *expect; } cut[] = {
        {"input x: f32[N, 4]\noutput", CLG_ERR_PARSE, "line 2: expected an output name, found end of line"},
        {"input x: f32[N, 4]\noutput y", CLG_ERR_INVALID_GRAPH, "line 2: output 'y' is not defined"},
        {"input x: f32[N, 4", CLG_ERR_PARSE, "line 1: expected ']', found end of line"},
        {"input x: f32[N, 4]\nconst c: f32[4] = [1, 2, 3, 4", CLG_ERR_PARSE, "line 2: expected ']'"},
        {"input x: f32[N, 4]\nconst c: f32[4] = full(1.2", CLG_ERR_PARSE, "line 2: expected ')'"},
        {"input x: f32[N, 4]\nconst c: f32[4] = random(12", CLG_ERR_PARSE, "line 2: expected ')'"},
        {"input x: f32[N, 4]\nconst c: f32[4] = random(12, -1e", CLG_ERR_PARSE, "'-1e' is not a number"},
        {"input x: f32[N, 4]\nconst c: f32[4] = fi", CLG_ERR_PARSE, "line 2: expected zeros, ones"},
        {"input x: f32[N, 4]\ny = Softmax(x) axis=-", CLG_ERR_PARSE, "'-' is not a number"},
        {"input x: f32[N, 4]\ny = Softmax(x) axis", CLG_ERR_PARSE, "expected '=', found end of line"},
        {"input x: f32[N, 4]\ny = Relu(x", CLG_ERR_PARSE, "expected ')', found end of line"},
        {"input x: f32[N, 4]\ny = Re", CLG_ERR_PARSE, "unknown op 'Re'"},
        {"input x: f32[N, 4]\ny =", CLG_ERR_PARSE, "expected an op name after '='"},
        {"weights \"w.bin", CLG_ERR_PARSE, "line 1: unterminated string"},
        {"#", CLG_ERR_INVALID_GRAPH, "no outputs"},
        {"\n\n\n", CLG_ERR_INVALID_GRAPH, "no outputs"},
        {"i", CLG_ERR_PARSE, "unknown statement 'i'"},
    };
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) parse_exact(cut[i].text, strlen(cut[i].text), cut[i].status, cut[i].expect);

    /* A length shorter than the text: what follows is not read, even inside a
     * token. */
    const char *longer = "input x: f32[N, 128]\ny = Relu(x)\noutput yz\nGARBAGE (";
    size_t len = strstr(longer, "z\n") - longer;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_parse(g, longer, len, NULL), CLG_OK);
    const char *name;
    assert_int_equal(clg_graph_output_info(g, 0, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "y");
    clg_graph_destroy(g);
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    len = strstr(longer, "28]") - longer; /* "f32[N, 1" */
    assert_int_equal(clg_graph_parse(g, longer, len, NULL), CLG_ERR_PARSE);
    assert_string_equal(clg_graph_errmsg(g), "line 1: expected ']', found end of line");
    /* With the full length, the garbage line is an error on line 4. */
    assert_int_equal(clg_graph_parse(g, longer, strlen(longer), NULL), CLG_ERR_PARSE);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 4: "));
    clg_graph_destroy(g);

    /* Embedded NUL bytes within len are text, not an end. */
    const char nul[] = "input x: f32[N, 4]\noutput x\n\0output x\n";
    parse_exact(nul, sizeof nul - 1, CLG_ERR_PARSE, "line 3: expected a statement, found byte 0x00");
}

/* Parsing into a graph that is not empty is refused and changes nothing. */
static void test_parse_into_non_empty_graph(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    const char *t = "input x: f32[N, 4]\ny = Relu(x)\noutput y\n";
    assert_int_equal(clg_graph_parse(g, t, strlen(t), NULL), CLG_OK);
    assert_int_equal(clg_graph_parse(g, t, strlen(t), NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_graph_errmsg(g), "not empty"));
    assert_int_equal(clg_graph_load(g, "examples/residual_mlp.clg"), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_count(g), 2);
    assert_int_equal(clg_graph_output_count(g), 1);
    /* A builder-made graph is not empty either. */
    clg_graph *h = NULL;
    assert_int_equal(clg_graph_create(&h, NULL, NULL), CLG_OK);
    int64_t dims[2] = {CLG_BATCH, 4};
    assert_int_equal(clg_graph_add_input(h, "x", 2, dims), CLG_OK);
    assert_int_equal(clg_graph_parse(h, t, strlen(t), NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_count(h), 1);
    /* NULL graph or path. */
    assert_int_equal(clg_graph_parse(NULL, t, strlen(t), NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_load(NULL, "examples/residual_mlp.clg"), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_load(h, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_graph_destroy(g);
    clg_graph_destroy(h);
}

/* Statements after an error are not looked at: the first error is reported. */
static void test_first_error_wins(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    const char *t = "input x: f32[N, 4]\ny = Foo(x)\nz = Bar(x)\n";
    assert_int_equal(clg_graph_parse(g, t, strlen(t), NULL), CLG_ERR_PARSE);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 2: "));
    assert_null(strstr(clg_graph_errmsg(g), "Bar"));
    /* Syntax errors are found before graph errors, wherever they are. */
    const char *t2 = "input x: f32[N, 4]\ny = Relu(undefined)\noutput y\nz = Relu(x\n";
    assert_int_equal(clg_graph_parse(g, t2, strlen(t2), NULL), CLG_ERR_PARSE);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 4: "));
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_specific_messages),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_parse_into_non_empty_graph),
        cmocka_unit_test(test_first_error_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
