/* The text format: valid files parse, print(parse(text)) round-trips for
 * canonical text and is idempotent otherwise, every constant generator gives
 * the documented values, floats round-trip bit-exactly, names may use
 * letters, digits and _ . / -. Run from the source tree (ctest does). */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clgraph.h"
#include "ir.h" /* constant data, for checking generated values */

#define VALID_DIR "tests/data/valid"
#define EXAMPLE "examples/residual_mlp.clg"

/* ---------------------------------------------------------------- helpers */

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
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
    if (len) *len = n;
    return buf;
}

/* The text without its comment lines (lines whose first byte is '#'). */
static char *strip_comment_lines(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    assert_non_null(out);
    size_t n = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (*p != '#') {
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    out[n] = '\0';
    return out;
}

static clg_graph *new_graph(void)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_non_null(g);
    return g;
}

static clg_graph *parse_ok(const char *text, const char *base_dir)
{
    clg_graph *g = new_graph();
    clg_status s = clg_graph_parse(g, text, strlen(text), base_dir);
    if (s != CLG_OK) fail_msg("parse failed (%d): %s\n--- text:\n%s", s, clg_graph_errmsg(g), text);
    return g;
}

static clg_graph *load_ok(const char *path)
{
    clg_graph *g = new_graph();
    clg_status s = clg_graph_load(g, path);
    if (s != CLG_OK) fail_msg("load failed (%d): %s", s, clg_graph_errmsg(g));
    return g;
}

/* print(g) as a malloc'd string (the graph's copy is freed). */
static char *print_dup(clg_graph *g)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(clg_graph_print(g, &text, &len), CLG_OK);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    char *copy = strdup(text);
    assert_non_null(copy);
    clg_graph_free(g, text);
    return copy;
}

static char *parse_print(const char *text, const char *base_dir)
{
    clg_graph *g = parse_ok(text, base_dir);
    char *out = print_dup(g);
    clg_graph_destroy(g);
    return out;
}

/* The data of constant `name` in g. */
static const clg_const *const_of(clg_graph *g, const char *name)
{
    int i = clg_find_value(g, name);
    if (i < 0) fail_msg("no value %s", name);
    assert_int_equal(g->nodes[i].op, CLG_OP_CONSTANT);
    assert_non_null(g->nodes[i].constant);
    return g->nodes[i].constant;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* random(seed, lo, hi) as docs/ir.md describes it, written independently. */
static void ref_random(uint64_t seed, float lo, float hi, float *out, size_t n)
{
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double u = (double)(z >> 40) / 16777216.0;
        float v = (float)((double)lo + ((double)hi - (double)lo) * u);
        out[i] = v < hi ? v : nextafterf(hi, lo);
    }
}

static void assert_random_matches(const clg_const *c, uint64_t seed, float lo, float hi)
{
    float *want = malloc(c->count * sizeof *want);
    assert_non_null(want);
    ref_random(seed, lo, hi, want, c->count);
    for (size_t i = 0; i < c->count; i++) {
        if (bits(c->data[i]) != bits(want[i]))
            fail_msg("random(%llu, %g, %g)[%zu] = %.9g, expected %.9g", (unsigned long long)seed, lo, hi,
                     i, c->data[i], want[i]);
        assert_true(c->data[i] >= lo);
        assert_true(c->data[i] < hi);
    }
    free(want);
}

/* ---------------------------------------------------------------- files */

/* Every file in tests/data/valid parses, and printing is idempotent on it. */
static void test_valid_files_parse_and_print_idempotent(void **state)
{
    (void)state;
    DIR *d = opendir(VALID_DIR);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".clg") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", VALID_DIR, e->d_name);
        clg_graph *g = load_ok(path);
        assert_true(clg_graph_node_count(g) > 0);
        assert_true(clg_graph_output_count(g) > 0);
        char *p1 = print_dup(g);
        char *p2 = parse_print(p1, VALID_DIR);
        if (strcmp(p1, p2) != 0) fail_msg("%s: print is not idempotent:\n%s\n---\n%s", path, p1, p2);
        free(p1);
        free(p2);
        clg_graph_destroy(g);
        files++;
    }
    closedir(d);
    assert_true(files >= 6);
}

/* The example model minus its comment lines is canonical. */
static void test_example_is_canonical(void **state)
{
    (void)state;
    char *text = read_text(EXAMPLE, NULL);
    char *canon = strip_comment_lines(text);
    clg_graph *g = load_ok(EXAMPLE);
    char *printed = print_dup(g);
    assert_string_equal(printed, canon);
    char *again = parse_print(canon, NULL);
    assert_string_equal(again, canon);
    /* The graph itself: 1 input, 14 constants, 9 computing nodes, 1 output. */
    assert_int_equal(clg_graph_node_count(g), 24);
    assert_int_equal(clg_graph_input_count(g), 1);
    assert_int_equal(clg_graph_output_count(g), 1);
    const char *name;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_output_info(g, 0, 64, &name, &rank, dims), CLG_OK);
    assert_string_equal(name, "y");
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], 64);
    assert_int_equal(dims[1], 10);
    free(text);
    free(canon);
    free(printed);
    free(again);
    clg_graph_destroy(g);
}

/* A canonical file exercising every op and non-default attributes of every
 * kind prints back byte for byte. */
static void test_all_ops_file_is_canonical(void **state)
{
    (void)state;
    char *text = read_text(VALID_DIR "/all_ops.clg", NULL);
    clg_graph *g = load_ok(VALID_DIR "/all_ops.clg");
    char *printed = print_dup(g);
    assert_string_equal(printed, text);
    /* Every computing op appears. */
    bool seen[CLG_OP_COUNT] = {false};
    for (int i = 0; i < clg_graph_node_count(g); i++) {
        clg_op op;
        assert_int_equal(clg_graph_node_info(g, i, &op, NULL, NULL, NULL), CLG_OK);
        seen[op] = true;
    }
    for (int op = CLG_OP_GEMM; op < CLG_OP_COUNT; op++)
        if (!seen[op] && op != CLG_OP_SUB && op != CLG_OP_MUL && op != CLG_OP_ADD)
            fail_msg("all_ops.clg lacks %s", clg_op_name((clg_op)op));
    free(text);
    free(printed);
    clg_graph_destroy(g);
}

/* Comments, blank lines, odd spacing, CRLF, defaults written out and
 * statements out of order: print gives the canonical form, and printing is
 * idempotent. */
static void test_messy_file_prints_canonically(void **state)
{
    (void)state;
    char *want = read_text(VALID_DIR "/messy_canonical.clg", NULL);
    clg_graph *g = load_ok(VALID_DIR "/messy.clg");
    char *printed = print_dup(g);
    assert_string_equal(printed, want);
    char *again = parse_print(printed, NULL);
    assert_string_equal(again, printed);
    free(want);
    free(printed);
    free(again);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- canonical form */

typedef struct { const char *in, *out; } pair;

#define HEAD "input x: f32[N, 8]\n"
#define IMG "input x: f32[N, 4, 8, 8]\n"

/* Each input prints as its canonical form; each canonical form prints as itself. */
static const pair canonical_cases[] = {
    /* Defaults are omitted, whatever way they are written. */
    {HEAD "const w: f32[8, 8] = ones\ny = Gemm(x, w) alpha=1 beta=1.0 transA=0 transB=0\noutput y\n",
     HEAD "const w: f32[8, 8] = ones\ny = Gemm(x, w)\noutput y\n"},
    {HEAD "y = LeakyRelu(x) alpha=0.01\noutput y\n", HEAD "y = LeakyRelu(x)\noutput y\n"},
    {HEAD "y = LeakyRelu(x) alpha=1\noutput y\n", HEAD "y = LeakyRelu(x) alpha=1\noutput y\n"},
    {HEAD "y = Clip(x) min=-inf max=inf\noutput y\n", HEAD "y = Clip(x)\noutput y\n"},
    {HEAD "y = Clip(x) max=6.0 min=0\noutput y\n", HEAD "y = Clip(x) min=0 max=6\noutput y\n"},
    {HEAD "y = Gelu(x) approximate=0\noutput y\n", HEAD "y = Gelu(x)\noutput y\n"},
    {HEAD "y = Softmax(x) axis=-1\noutput y\n", HEAD "y = Softmax(x)\noutput y\n"},
    {HEAD "y = Softmax(x) axis=1\noutput y\n", HEAD "y = Softmax(x) axis=1\noutput y\n"},
    {HEAD "y = Flatten(x) axis=1\noutput y\n", HEAD "y = Flatten(x)\noutput y\n"},
    {HEAD "y = Concat(x, x) axis=1\noutput y\n", HEAD "y = Concat(x, x)\noutput y\n"},
    {HEAD "y = Concat(x, x) axis=-1\noutput y\n", HEAD "y = Concat(x, x) axis=-1\noutput y\n"},
    {"input x: f32[2, 8]\ny = Transpose(x) perm=[]\noutput y\n", "input x: f32[2, 8]\ny = Transpose(x)\noutput y\n"},
    {HEAD "y = Transpose(x) perm=[0, 1]\noutput y\n", HEAD "y = Transpose(x) perm=[0, 1]\noutput y\n"},
    {HEAD "y = Reshape(x) shape=[0, 2, -1]\noutput y\n", HEAD "y = Reshape(x) shape=[0, 2, -1]\noutput y\n"},
    /* Ranks 6 to 8 (CLG_MAX_RANK): shapes, perm, starts/ends/axes/steps,
     * repeats and Pad's 16 amounts at full length. */
    {"input x: f32[N,2,7,3,7,5]\ny = Transpose(x) perm=[0,1,3,2,4,5]\noutput y\n",
     "input x: f32[N, 2, 7, 3, 7, 5]\ny = Transpose(x) perm=[0, 1, 3, 2, 4, 5]\noutput y\n"},
    {HEAD "r = Reshape(x) shape=[0, 1, 2, 1, 2, 1, 2, 1]\ny = Tile(r) repeats=[1, 2, 1, 2, 1, 2, 1, 2]\noutput y\n",
     HEAD "r = Reshape(x) shape=[0, 1, 2, 1, 2, 1, 2, 1]\ny = Tile(r) repeats=[1, 2, 1, 2, 1, 2, 1, 2]\noutput y\n"},
    {"input x: f32[N, 2, 3, 2, 3, 2, 3, 4]\n"
     "y = Slice(x) starts=[0, 0, 0, 0, 0, 0, 0, 1] ends=[1, 2, 3, 2, 3, 2, 3, 4] axes=[0, 1, 2, 3, 4, 5, 6, 7] "
     "steps=[1, 1, 1, 1, 1, 1, 1, 2]\n"
     "p = Pad(y) pads=[0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2] mode=\"edge\"\noutput p\n",
     "input x: f32[N, 2, 3, 2, 3, 2, 3, 4]\n"
     "y = Slice(x) starts=[0, 0, 0, 0, 0, 0, 0, 1] ends=[1, 2, 3, 2, 3, 2, 3, 4] axes=[0, 1, 2, 3, 4, 5, 6, 7] "
     "steps=[1, 1, 1, 1, 1, 1, 1, 2]\n"
     "p = Pad(y) pads=[0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2] mode=\"edge\"\noutput p\n"},
    {IMG "const s: f32[4] = ones\nconst b: f32[4] = zeros\n"
         "y = BatchNorm(x, s, b, b, s) epsilon=0.00001\noutput y\n",
     IMG "const s: f32[4] = ones\nconst b: f32[4] = zeros\ny = BatchNorm(x, s, b, b, s)\noutput y\n"},
    {IMG "const w: f32[4, 4, 3, 3] = zeros\n"
         "y = Conv2D(x, w) strides=[1, 1] pads=[0, 0, 0, 0] dilations=[1, 1] group=1\noutput y\n",
     IMG "const w: f32[4, 4, 3, 3] = zeros\ny = Conv2D(x, w)\noutput y\n"},
    /* Attributes print in op-table order, not the order written. */
    {IMG "const w: f32[4, 2, 3, 3] = zeros\n"
         "y = Conv2D(x, w) group=2 dilations=[2, 2] pads=[2, 2, 2, 2] strides=[1, 2]\noutput y\n",
     IMG "const w: f32[4, 2, 3, 3] = zeros\n"
         "y = Conv2D(x, w) strides=[1, 2] pads=[2, 2, 2, 2] dilations=[2, 2] group=2\noutput y\n"},
    {IMG "y = MaxPool(x) ceil_mode=0 dilations=[1, 1] pads=[0, 0, 0, 0] strides=[1, 1] kernel_shape=[2, 2]\n"
         "output y\n",
     IMG "y = MaxPool(x) kernel_shape=[2, 2]\noutput y\n"},
    /* Trilu: upper=1 and k=0 are the defaults; attributes in table order */
    {HEAD "y = Trilu(x) k=0 upper=1\noutput y\n", HEAD "y = Trilu(x)\noutput y\n"},
    {HEAD "y = Trilu(x) k=-3 upper=0\noutput y\n", HEAD "y = Trilu(x) upper=0 k=-3\noutput y\n"},
    {HEAD "y = Trilu(x) k=+9000000000\noutput y\n", HEAD "y = Trilu(x) k=9000000000\noutput y\n"},
    /* ArgMax/ArgMin: axis 0, keepdims 1 and select_last_index 0 are the defaults */
    {HEAD "y = ArgMax(x) select_last_index=0 keepdims=1 axis=0\noutput y\n", HEAD "y = ArgMax(x)\noutput y\n"},
    {HEAD "y = ArgMin(x) select_last_index=1 keepdims=0 axis=-1\noutput y\n",
     HEAD "y = ArgMin(x) axis=-1 keepdims=0 select_last_index=1\noutput y\n"},
    /* ConvTranspose2D: Conv2D's window attributes and defaults; negative pads print as written */
    {IMG "const w: f32[4, 2, 3, 3] = zeros\n"
         "y = ConvTranspose2D(x, w) group=2 dilations=[1, 1] pads=[1, 0, -1, 0] strides=[2, 2]\noutput y\n",
     IMG "const w: f32[4, 2, 3, 3] = zeros\n"
         "y = ConvTranspose2D(x, w) strides=[2, 2] pads=[1, 0, -1, 0] group=2\noutput y\n"},
    /* Resize: the ONNX defaults (nearest, half_pixel, round_prefer_floor,
     * scales 0) are left out; attributes in table order */
    {IMG "y = Resize(x) nearest_mode=\"round_prefer_floor\" mode=\"nearest\" sizes=[3, 5] "
         "coordinate_transformation_mode=\"half_pixel\" width_scale=0 height_scale=0.0\noutput y\n",
     IMG "y = Resize(x) sizes=[3, 5]\noutput y\n"},
    {IMG "y = Resize(x) nearest_mode=\"ceil\" coordinate_transformation_mode=\"tf_half_pixel_for_nn\" "
         "width_scale=0.6 sizes=[16, 3] height_scale=2\noutput y\n",
     IMG "y = Resize(x) sizes=[16, 3] height_scale=2 width_scale=0.6 "
         "coordinate_transformation_mode=\"tf_half_pixel_for_nn\" nearest_mode=\"ceil\"\noutput y\n"},
    {IMG "y = Resize(x) coordinate_transformation_mode=\"align_corners\" mode=\"linear\" sizes=[1, 9]\noutput y\n",
     IMG "y = Resize(x) sizes=[1, 9] mode=\"linear\" coordinate_transformation_mode=\"align_corners\"\noutput y\n"},
    {IMG "y = Resize(x) sizes=[2, 2] coordinate_transformation_mode=\"pytorch_half_pixel\" "
         "nearest_mode=\"round_prefer_ceil\"\noutput y\n",
     IMG "y = Resize(x) sizes=[2, 2] coordinate_transformation_mode=\"pytorch_half_pixel\" "
         "nearest_mode=\"round_prefer_ceil\"\noutput y\n"},
    {IMG "y = Resize(x) exclude_outside=1 cubic_coeff_a=-0.5 mode=\"cubic\" sizes=[3, 3]\noutput y\n",
     IMG "y = Resize(x) sizes=[3, 3] mode=\"cubic\" cubic_coeff_a=-0.5 exclude_outside=1\noutput y\n"},
    {IMG "y = Resize(x) mode=\"cubic\" sizes=[3, 3] cubic_coeff_a=-0.75\noutput y\n",
     IMG "y = Resize(x) sizes=[3, 3] mode=\"cubic\"\noutput y\n"},
    {IMG "y = Resize(x) sizes=[8, 8] nearest_mode=\"floor\" coordinate_transformation_mode=\"asymmetric\"\noutput y\n",
     IMG "y = Resize(x) sizes=[8, 8] coordinate_transformation_mode=\"asymmetric\" nearest_mode=\"floor\"\noutput y\n"},
    {IMG "y = AveragePool(x) kernel_shape=[3, 3] count_include_pad=0 ceil_mode=0\noutput y\n",
     IMG "y = AveragePool(x) kernel_shape=[3, 3]\noutput y\n"},
    /* Range: no inputs; start 0, delta 1 and to "f32" are the defaults; a
     * symbolic length names its size */
    {"input x: f32[N, S]\ny = Range() delta=1 start=0 shape=[S] to=\"f32\"\nz = Add(x, y)\noutput z\n",
     "input x: f32[N, S]\ny = Range() shape=[S]\nz = Add(x, y)\noutput z\n"},
    {"input x: f32[N, 6]\ny = Range( ) to=\"i64\" shape=[6] delta=-2 start=+10\nz = Add(x, y)\noutput z\n",
     "input x: f32[N, 6]\ny = Range() start=1e+01 delta=-2 shape=[6] to=\"i64\"\nz = Add(x, y)\noutput z\n"},
    /* Attention: scale 1 is the default; a mask is a fourth input. */
    {"input q: f32[N, 5, 8]\ninput kt: f32[N, 8, 7]\ninput v: f32[N, 7, 3]\ny = Attention(q, kt, v) scale=1.0\noutput y\n",
     "input q: f32[N, 5, 8]\ninput kt: f32[N, 8, 7]\ninput v: f32[N, 7, 3]\ny = Attention(q, kt, v)\noutput y\n"},
    {"input q: f32[N, 5, 8]\ninput kt: f32[N, 8, 7]\ninput v: f32[N, 7, 3]\ninput m: f32[5, 7]\n"
     "y = Attention(q, kt, v, m) scale=0.35355339\noutput y\n",
     "input q: f32[N, 5, 8]\ninput kt: f32[N, 8, 7]\ninput v: f32[N, 7, 3]\ninput m: f32[5, 7]\n"
     "y = Attention(q, kt, v, m) scale=0.35355338\noutput y\n"},
    /* Spacing, comments, blank lines, tabs and CR. */
    {"\n\n# comment\n  input   x :  f32 [ N , 8 ]   # trailing\r\n\t\ny=Relu(x)#c\n   output y",
     HEAD "y = Relu(x)\noutput y\n"},
    /* Generators: default random range omitted, numbers in shortest form. */
    {HEAD "const c: f32[8] = random(5, -1, 1.0)\ny = Add(x, c)\noutput y\n",
     HEAD "const c: f32[8] = random(5)\ny = Add(x, c)\noutput y\n"},
    {HEAD "const c: f32[8] = random(5, -1, 2)\ny = Add(x, c)\noutput y\n",
     HEAD "const c: f32[8] = random(5, -1, 2)\ny = Add(x, c)\noutput y\n"},
    {HEAD "const c: f32[8] = full(2.50)\ny = Add(x, c)\noutput y\n",
     HEAD "const c: f32[8] = full(2.5)\ny = Add(x, c)\noutput y\n"},
    {"input x: f32[N, 2]\nconst c: f32[2] = [1e-3, +0.10]\ny = Add(x, c)\noutput y\n",
     "input x: f32[N, 2]\nconst c: f32[2] = [0.001, 0.1]\ny = Add(x, c)\noutput y\n"},
    /* Integers past 2^53 read exactly (they once went through a double):
     * what an imported model printed must read back as itself. */
    {"input x: f32[N, 4, 4]\ny = Trilu(x) k=-432345564227567615\noutput y\n",
     "input x: f32[N, 4, 4]\ny = Trilu(x) k=-432345564227567615\noutput y\n"},
    /* Outputs keep their order; several statements per graph. */
    {HEAD "a = Relu(x)\nb = Tanh(x)\noutput b\noutput a\noutput x\n",
     HEAD "a = Relu(x)\nb = Tanh(x)\noutput b\noutput a\noutput x\n"},
    /* A weights statement prints first. */
    {HEAD "output y\nconst w: f32[3, 2] = file(0)\nweights \"weights.bin\"\ny = Relu(x)\n",
     "weights \"weights.bin\"\n" HEAD "const w: f32[3, 2] = file(0)\ny = Relu(x)\noutput y\n"},
};

static void test_canonical_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canonical_cases / sizeof *canonical_cases; i++) {
        const pair *c = &canonical_cases[i];
        char *p1 = parse_print(c->in, VALID_DIR);
        if (strcmp(p1, c->out) != 0) fail_msg("case %zu:\n%s\n--- printed:\n%s--- expected:\n%s", i, c->in, p1, c->out);
        char *p2 = parse_print(c->out, VALID_DIR);
        if (strcmp(p2, c->out) != 0) fail_msg("case %zu: canonical text does not round-trip:\n%s", i, p2);
        free(p1);
        free(p2);
    }
}

/* The parser orders statements by their dependencies; statements already in
 * order keep their order. */
static void test_topological_sort(void **state)
{
    (void)state;
    const char *text = "output out\n"
                       "out = Add(l, r)\n"
                       "r = Tanh(m)\n"
                       "l = Relu(m)\n"
                       "m = Gemm(x, w, b) transB=1\n"
                       "const b: f32[4] = zeros\n"
                       "const w: f32[4, 8] = ones\n"
                       "input x: f32[N, 8]\n";
    clg_graph *g = parse_ok(text, NULL);
    static const char *want[] = {"x", "w", "b", "m", "l", "r", "out"};
    assert_int_equal(clg_graph_node_count(g), 7);
    for (int i = 0; i < 7; i++) {
        const char *name;
        assert_int_equal(clg_graph_node_info(g, i, NULL, &name, NULL, NULL), CLG_OK);
        assert_string_equal(name, want[i]);
    }
    char *printed = print_dup(g);
    assert_string_equal(printed, "input x: f32[N, 8]\n"
                                 "const w: f32[4, 8] = ones\n"
                                 "const b: f32[4] = zeros\n"
                                 "m = Gemm(x, w, b) transB=1\n"
                                 "l = Relu(m)\n"
                                 "r = Tanh(m)\n"
                                 "out = Add(l, r)\n"
                                 "output out\n");
    free(printed);
    clg_graph_destroy(g);

    /* Independent statements in order stay in order (constants first here). */
    const char *ordered = "const c: f32[8] = ones\ninput x: f32[N, 8]\ny = Add(x, c)\noutput y\n";
    char *p = parse_print(ordered, NULL);
    assert_string_equal(p, ordered);
    free(p);

    /* A long chain written backwards: iterative ordering, no recursion limit. */
    enum { CHAIN = 5000 };
    size_t cap = (size_t)CHAIN * 40 + 100, n = 0;
    char *chain = malloc(cap);
    assert_non_null(chain);
    n += (size_t)snprintf(chain + n, cap - n, "output v%d\n", CHAIN);
    for (int i = CHAIN; i >= 1; i--) n += (size_t)snprintf(chain + n, cap - n, "v%d = Relu(v%d)\n", i, i - 1);
    n += (size_t)snprintf(chain + n, cap - n, "input v0: f32[N, 2]\n");
    g = parse_ok(chain, NULL);
    assert_int_equal(clg_graph_node_count(g), CHAIN + 1);
    const char *name;
    assert_int_equal(clg_graph_node_info(g, CHAIN, NULL, &name, NULL, NULL), CLG_OK);
    char last[32];
    snprintf(last, sizeof last, "v%d", CHAIN);
    assert_string_equal(name, last);
    clg_graph_destroy(g);
    free(chain);
}

/* ---------------------------------------------------------------- generators */

static void test_generators_values(void **state)
{
    (void)state;
    clg_graph *g = load_ok(VALID_DIR "/generators.clg");
    const clg_const *c = const_of(g, "c_zeros");
    assert_int_equal(c->count, 4);
    assert_int_equal(c->init.kind, CLG_INIT_ZEROS);
    for (size_t i = 0; i < c->count; i++) assert_int_equal(bits(c->data[i]), bits(0.0f));
    c = const_of(g, "c_ones");
    assert_int_equal(c->init.kind, CLG_INIT_ONES);
    for (size_t i = 0; i < c->count; i++) assert_true(c->data[i] == 1.0f);
    c = const_of(g, "c_full");
    assert_int_equal(c->init.kind, CLG_INIT_FULL);
    for (size_t i = 0; i < c->count; i++) assert_true(c->data[i] == -2.5f);
    c = const_of(g, "c_rand");
    assert_int_equal(c->count, 8);
    assert_int_equal(c->init.kind, CLG_INIT_RANDOM);
    assert_random_matches(c, 42, -1.0f, 1.0f);
    c = const_of(g, "c_range");
    assert_int_equal(c->count, 64);
    assert_random_matches(c, 7, 0.5f, 1.5f);
    c = const_of(g, "c_list");
    assert_int_equal(c->init.kind, CLG_INIT_LIST);
    const float list[] = {1.0f, -2.0f, 0.1f, 1e-3f};
    for (size_t i = 0; i < 4; i++) assert_int_equal(bits(c->data[i]), bits(list[i]));
    c = const_of(g, "c_exp");
    const float exps[] = {1e30f, -1e-30f, FLT_MAX};
    for (size_t i = 0; i < 3; i++) assert_int_equal(bits(c->data[i]), bits(exps[i]));
    clg_graph_destroy(g);

    /* full() takes any number form; full(0) and zeros agree. */
    g = parse_ok("const a: f32[3] = full(1e2)\nconst b: f32[2] = full(-0)\nconst z: f32[1] = full(0)\n"
                 "output a\noutput b\noutput z\n", NULL);
    for (size_t i = 0; i < 3; i++) assert_true(const_of(g, "a")->data[i] == 100.0f);
    assert_true(signbit(const_of(g, "b")->data[0]));
    assert_int_equal(bits(const_of(g, "z")->data[0]), 0);
    char *p = print_dup(g);
    /* Shortest %g form: 100 is "1e+02" (one significant digit suffices). */
    assert_string_equal(p, "const a: f32[3] = full(1e+02)\nconst b: f32[2] = full(-0.0)\nconst z: f32[1] = full(0)\n"
                           "output a\noutput b\noutput z\n");
    free(p);
    clg_graph_destroy(g);
}

/* random(seed): SplitMix64, deterministic, independent of anything but seed,
 * lo and hi, within [lo, hi), default range [-1, 1). */
static void test_random_generator(void **state)
{
    (void)state;
    const char *text = "const a: f32[1000] = random(123)\n"
                       "const b: f32[1000] = random(123)\n"
                       "const c: f32[1000] = random(124)\n"
                       "const d: f32[10, 100] = random(123, -1, 1)\n"
                       "const e: f32[1000] = random(0, 0, 1e-3)\n"
                       "const f: f32[1000] = random(18446744073709551, -100, 100)\n"
                       "const t: f32[1] = random(3747935, 0.5, 1.5)\n"
                       "output a\noutput b\noutput c\noutput d\noutput e\noutput f\noutput t\n";
    clg_graph *g1 = parse_ok(text, NULL);
    clg_graph *g2 = parse_ok(text, NULL);
    const clg_const *a = const_of(g1, "a"), *b = const_of(g1, "b"), *c = const_of(g1, "c");
    const clg_const *d = const_of(g1, "d"), *a2 = const_of(g2, "a");
    assert_memory_equal(a->data, b->data, 1000 * sizeof(float));
    assert_memory_equal(a->data, a2->data, 1000 * sizeof(float));
    assert_memory_equal(a->data, d->data, 1000 * sizeof(float)); /* shape does not matter */
    int same = 0;
    double sum = 0;
    for (int i = 0; i < 1000; i++) {
        same += a->data[i] == c->data[i];
        sum += a->data[i];
    }
    assert_true(same < 5);
    assert_true(fabs(sum / 1000) < 0.1); /* roughly centred in [-1, 1) */
    /* Distinct values: not a constant or a short cycle. */
    int distinct = 0;
    for (int i = 1; i < 1000; i++) distinct += a->data[i] != a->data[i - 1];
    assert_true(distinct > 990);
    assert_random_matches(a, 123, -1.0f, 1.0f);
    assert_random_matches(c, 124, -1.0f, 1.0f);
    assert_random_matches(const_of(g1, "e"), 0, 0.0f, 1e-3f);
    assert_random_matches(const_of(g1, "f"), 18446744073709551ull, -100.0f, 100.0f);
    /* The first values of random(123), pinned so the algorithm cannot drift
     * from docs/ir.md unnoticed. */
    float pinned[3];
    ref_random(123, -1.0f, 1.0f, pinned, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(bits(a->data[i]), bits(pinned[i]));
    /* The top 24 bits of SplitMix64 for this seed are all ones: lo + span * u
     * rounds to hi itself, and the generator steps just below it. */
    const clg_const *t = const_of(g1, "t");
    assert_true(t->data[0] < 1.5f);
    assert_int_equal(bits(t->data[0]), bits(nextafterf(1.5f, 0.0f)));
    clg_graph_destroy(g1);
    clg_graph_destroy(g2);
}

/* The values of the splitmix64 reference itself, pinned against the numbers
 * published with the algorithm (seed 1234567: 6457827717110365317, ...). */
static void test_splitmix64_reference_values(void **state)
{
    (void)state;
    uint64_t s = 1234567, out[3];
    for (int i = 0; i < 3; i++) {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        out[i] = z ^ (z >> 31);
    }
    assert_true(out[0] == 6457827717110365317ull);
    assert_true(out[1] == 3203168211198807973ull);
    assert_true(out[2] == 9817491932198370423ull);
    /* And the library's random(1234567, 0, 1)[0] is (out[0] >> 40) / 2^24. */
    clg_graph *g = parse_ok("const r: f32[1] = random(1234567, 0, 1)\noutput r\n", NULL);
    assert_true(const_of(g, "r")->data[0] == (float)((double)(out[0] >> 40) / 16777216.0));
    clg_graph_destroy(g);
}

/* file(offset) reads little-endian float32 at a byte offset of the sidecar. */
static void test_weights_file(void **state)
{
    (void)state;
    clg_graph *g = load_ok(VALID_DIR "/weights.clg");
    const float w[] = {1, 2, 3, 4, 5, 6}, b[] = {0.5f, -0.25f}, tail[] = {0.1f, -3e-5f}, mid[] = {3, 4, 5, 6};
    const clg_const *c = const_of(g, "w");
    assert_int_equal(c->init.kind, CLG_INIT_FILE);
    assert_int_equal(c->init.offset, 0);
    assert_memory_equal(c->data, w, sizeof w);
    assert_memory_equal(const_of(g, "b")->data, b, sizeof b);
    assert_memory_equal(const_of(g, "tail")->data, tail, sizeof tail);
    c = const_of(g, "mid");
    assert_int_equal(c->init.offset, 8);
    assert_memory_equal(c->data, mid, sizeof mid);
    char *p = print_dup(g);
    assert_true(strncmp(p, "weights \"weights.bin\"\n", 22) == 0);
    assert_non_null(strstr(p, "const b: f32[2] = file(24)\n"));
    clg_graph_destroy(g);

    /* In memory, the sidecar is found through base_dir, with or without a
     * trailing slash. */
    const char *dirs[] = {VALID_DIR, VALID_DIR "/"};
    for (int i = 0; i < 2; i++) {
        g = parse_ok(p, dirs[i]);
        assert_memory_equal(const_of(g, "mid")->data, mid, sizeof mid);
        char *again = print_dup(g);
        assert_string_equal(again, p);
        free(again);
        clg_graph_destroy(g);
    }
    free(p);

    /* The last float of the file exactly; an offset need not be aligned. */
    g = parse_ok("weights \"" VALID_DIR "/weights.bin\"\nconst t: f32[1] = file(36)\noutput t\n", NULL);
    assert_int_equal(bits(const_of(g, "t")->data[0]), bits(-3e-5f));
    clg_graph_destroy(g);
    g = parse_ok("weights \"weights.bin\"\nconst t: f32[1] = file(2)\noutput t\n", VALID_DIR);
    const unsigned char raw[4] = {0x80, 0x3f, 0x00, 0x00}; /* bytes 2..5 of the file */
    float want;
    memcpy(&want, raw, 4);
    assert_int_equal(bits(const_of(g, "t")->data[0]), bits(want));
    clg_graph_destroy(g);

    /* An integer constant read from the file must hold integers: the file's
     * first six floats are 1..6, the seventh 0.5. */
    g = parse_ok("weights \"weights.bin\"\nconst t: i32[2, 3] = file(0)\noutput t\n", VALID_DIR);
    assert_int_equal(const_of(g, "t")->data[5], 6);
    clg_graph_destroy(g);
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    const char *bad = "weights \"weights.bin\"\nconst t: i64[2] = file(20)\noutput t\n";
    assert_int_equal(clg_graph_parse(g, bad, strlen(bad), VALID_DIR), CLG_ERR_INVALID_GRAPH);
    assert_non_null(strstr(clg_graph_errmsg(g), "line 2: node t (Constant): element 1 (0.5) from the weights file "
                                                "does not fit i64"));
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- numbers and names */

/* Floats print in the shortest form that reads back to the same bits. */
/* f16: every finite half as a constant (given as half bits) prints as its
 * float value and parses back to the same value; an f16 input keeps its
 * type through print and parse; a value no half holds is refused. */
static void test_f16_round_trip(void **state)
{
    (void)state;
    enum { N = 2 * 0x7c00 };
    uint16_t *h = malloc(N * sizeof *h);
    assert_non_null(h);
    for (int i = 0; i < 0x7c00; i++) {
        h[i] = (uint16_t)i;
        h[0x7c00 + i] = (uint16_t)(0x8000 | i);
    }
    clg_graph *g = new_graph();
    int64_t dims[1] = {N};
    assert_int_equal(clg_graph_add_constant_typed(g, "c", CLG_DTYPE_F16, 1, dims, h), CLG_OK);
    assert_int_equal(clg_graph_add_input_typed(g, "x", CLG_DTYPE_F16, 2, (int64_t[]){CLG_BATCH, 4}), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "c"), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "x"), CLG_OK);
    char *p = print_dup(g);
    assert_non_null(strstr(p, "input x: f16[N, 4]\n"));
    assert_non_null(strstr(p, "const c: f16[63488] = [0, 5.9604645e-08, 1.1920929e-07, "));
    clg_graph *back = parse_ok(p, NULL);
    const clg_const *c = const_of(back, "c");
    assert_int_equal(c->count, N);
    for (int i = 0; i < N; i++) {
        /* the value of half bits h[i], by the format's definition */
        int e = (h[i] >> 10) & 0x1f, f = h[i] & 0x3ff;
        float v = e ? ldexpf((float)(1024 + f), e - 25) : ldexpf((float)f, -24);
        if (h[i] & 0x8000) v = -v;
        if (bits(c->data[i]) != bits(v))
            fail_msg("half 0x%04x: %.9g came back as %.9g", h[i], (double)v, (double)c->data[i]);
    }
    clg_dtype t;
    assert_int_equal(clg_graph_input_dtype(back, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_F16);
    char *p2 = print_dup(back);
    assert_string_equal(p, p2);
    free(p);
    free(p2);
    clg_graph_destroy(back);
    clg_graph_destroy(g);
    free(h);
    static const char *const bad[][2] = {
        {"const c: f16[2] = [1, 0.1]\noutput c\n",
         "line 1: node c (Constant): element 1 (0.100000001) does not fit f16 (values a half-precision float holds "
         "exactly)"},
        {"const c: f16[1] = [65520]\noutput c\n", "element 0 (65520) does not fit f16"},
    };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        assert_int_equal(clg_graph_parse(g, bad[i][0], strlen(bad[i][0]), NULL), CLG_ERR_INVALID_GRAPH);
        if (!strstr(clg_graph_errmsg(g), bad[i][1])) fail_msg("%s", clg_graph_errmsg(g));
        clg_graph_destroy(g);
    }
}

static void test_float_round_trip(void **state)
{
    (void)state;
    const float tricky[] = {0.1f, 1e-3f, 0.3f, 1.0f / 3.0f, 2.0f / 3.0f, 1e-5f, 1e-45f, FLT_MIN, FLT_MAX,
                            -FLT_MAX, 16777217.0f, 123456789.0f, 3.14159265f, 2.5e-8f, -0.0f, 0.0f,
                            1e10f, 1.17549421e-38f /* largest subnormal */, 100.0f, 1e-7f};
    enum { N_TRICKY = sizeof tricky / sizeof *tricky, N_RANDOM = 2000 };
    float *vals = malloc((N_TRICKY + N_RANDOM) * sizeof *vals);
    assert_non_null(vals);
    memcpy(vals, tricky, sizeof tricky);
    uint64_t s = 99;
    for (int i = 0; i < N_RANDOM; i++) {
        uint32_t u;
        do {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u = (uint32_t)(s >> 32);
        } while (((u >> 23) & 0xff) == 0xff); /* no NaN or inf */
        memcpy(&vals[N_TRICKY + i], &u, 4);
    }
    clg_graph *g = new_graph();
    int64_t dims[1] = {N_TRICKY + N_RANDOM};
    assert_int_equal(clg_graph_add_constant(g, "c", 1, dims, vals), CLG_OK);
    assert_int_equal(clg_graph_add_output(g, "c"), CLG_OK);
    char *p = print_dup(g);
    assert_non_null(strstr(p, "= [0.1, 0.001, 0.3, 0.33333334, 0.6666667, 1e-05, 1e-45, 1.1754944e-38, "
                              "3.4028235e+38, -3.4028235e+38, 16777216, 1.2345679e+08, 3.1415927, 2.5e-08, "
                              "-0.0, 0, 1e+10, 1.1754942e-38, 1e+02, 1e-07, "));
    clg_graph *h = parse_ok(p, NULL);
    const clg_const *c = const_of(h, "c");
    assert_int_equal(c->count, N_TRICKY + N_RANDOM);
    for (size_t i = 0; i < c->count; i++)
        if (bits(c->data[i]) != bits(vals[i]))
            fail_msg("value %zu: %.9g (0x%08x) came back as %.9g (0x%08x)", i, vals[i], bits(vals[i]),
                     c->data[i], bits(c->data[i]));
    char *p2 = print_dup(h);
    assert_string_equal(p, p2);
    free(p);
    free(p2);
    free(vals);
    clg_graph_destroy(g);
    clg_graph_destroy(h);

    /* Float attributes and generator arguments too. */
    h = parse_ok("input x: f32[N, 4]\nconst w: f32[4, 4] = random(1, 0.1, 0.3)\n"
                 "const f: f32[4] = full(1e-3)\n"
                 "y = Gemm(x, w, f) alpha=0.1 beta=1e-3\noutput y\n", NULL);
    const clg_node *n = &h->nodes[clg_find_value(h, "y")];
    assert_int_equal(bits(n->attrs.alpha), bits(0.1f));
    assert_int_equal(bits(n->attrs.beta), bits(1e-3f));
    assert_int_equal(bits(const_of(h, "w")->init.lo), bits(0.1f));
    assert_int_equal(bits(const_of(h, "w")->init.hi), bits(0.3f));
    assert_int_equal(bits(const_of(h, "f")->data[3]), bits(1e-3f));
    p = print_dup(h);
    assert_non_null(strstr(p, "random(1, 0.1, 0.3)"));
    assert_non_null(strstr(p, "full(0.001)"));
    assert_non_null(strstr(p, "alpha=0.1 beta=0.001"));
    free(p);
    clg_graph_destroy(h);

    /* Non-finite list values and attributes print and read back. */
    h = parse_ok("input x: f32[N, 3]\nconst c: f32[3] = [inf, -inf, 1]\ny = Add(x, c)\n"
                 "z = Clip(y) min=-inf max=1e+38\noutput z\n", NULL);
    p = print_dup(h);
    assert_non_null(strstr(p, "= [inf, -inf, 1]\n"));
    assert_non_null(strstr(p, "z = Clip(y) max=1e+38\n"));
    char *p3 = parse_print(p, NULL);
    assert_string_equal(p, p3);
    free(p);
    free(p3);
    clg_graph_destroy(h);
}

/* Names may use letters, digits, _ . / - and may look like keywords. */
static void test_names(void **state)
{
    (void)state;
    clg_graph *g = load_ok(VALID_DIR "/names.clg");
    static const char *want[] = {"data.in/0", "layer-1/w_0.weight", "layer-1/b_0.bias", "layer-1/gemm.out-2_x",
                                 "1x", "a..b//c--d__e", "input", "output", "N"};
    assert_int_equal(clg_graph_node_count(g), 9);
    for (int i = 0; i < 9; i++) {
        const char *name;
        assert_int_equal(clg_graph_node_info(g, i, NULL, &name, NULL, NULL), CLG_OK);
        assert_string_equal(name, want[i]);
    }
    const char *name;
    assert_int_equal(clg_graph_input_info(g, 0, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "data.in/0");
    assert_int_equal(clg_graph_output_info(g, 0, 2, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "N");
    assert_int_equal(clg_graph_output_info(g, 1, 2, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "1x");
    char *text = read_text(VALID_DIR "/names.clg", NULL);
    char *p = print_dup(g);
    assert_string_equal(p, text);
    free(text);
    free(p);
    clg_graph_destroy(g);
}

/* The shapes parse into the graph as written, N included. */
static void test_shapes_parse(void **state)
{
    (void)state;
    clg_graph *g = parse_ok("input a: f32[N]\ninput b: f32[1, 2, 3, 4, 5]\ninput c: f32[N, 2147483648]\n"
                            "const d: f32[2, 1, 2] = zeros\noutput a\noutput b\noutput c\noutput d\n", NULL);
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_input_count(g), 3);
    assert_int_equal(clg_graph_input_info(g, 0, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 1);
    assert_int_equal(dims[0], CLG_BATCH);
    assert_int_equal(clg_graph_input_info(g, 1, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(dims[i], i + 1);
    assert_int_equal(clg_graph_input_info(g, 2, NULL, &rank, dims), CLG_OK);
    assert_int_equal(dims[1], (int64_t)1 << 31);
    assert_int_equal(clg_graph_input_info(g, 3, NULL, &rank, dims), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_node_info(g, 3, NULL, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 3);
    assert_int_equal(dims[0], 2);
    assert_int_equal(dims[1], 1);
    assert_int_equal(dims[2], 2);
    assert_int_equal(dims[3], 0); /* unused entries are zeroed */
    clg_graph_destroy(g);
}

/* A graph can be printed any number of times; an empty graph prints "". */
static void test_print_misc(void **state)
{
    (void)state;
    clg_graph *g = new_graph();
    char *t = NULL;
    size_t len = 99;
    assert_int_equal(clg_graph_print(g, &t, &len), CLG_OK);
    assert_non_null(t);
    assert_string_equal(t, "");
    assert_int_equal(len, 0);
    clg_graph_free(g, t);
    assert_int_equal(clg_graph_print(g, &t, NULL), CLG_OK); /* len may be NULL */
    clg_graph_free(g, t);
    assert_int_equal(clg_graph_print(g, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_print(NULL, &t, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_graph_free(g, NULL);
    clg_graph_free(NULL, NULL);
    clg_graph_destroy(g);

    /* A big graph's text grows past the first buffer. */
    g = load_ok(VALID_DIR "/all_ops.clg");
    char *p1 = print_dup(g), *p2 = print_dup(g);
    assert_string_equal(p1, p2);
    free(p1);
    free(p2);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- mutations */

typedef struct live_counter { long long live; } live_counter;

static void *counting_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    live_counter *c = user;
    if (new_size == 0) {
        if (ptr) c->live -= (long long)old_size;
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p) c->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    return p;
}

/* Small random edits of valid files (a fixed seed, so the run is the same
 * every time): each text either fails, leaving the graph empty and holding
 * no memory, or parses into a graph whose printed text prints back
 * identically. */
static void test_mutations_fail_cleanly_or_print_idempotently(void **state)
{
    (void)state;
    static const char *files[] = {EXAMPLE, VALID_DIR "/all_ops.clg", VALID_DIR "/messy.clg",
                                  VALID_DIR "/names.clg", VALID_DIR "/weights.clg", VALID_DIR "/generators.clg"};
    static const char alphabet[] = "0123456789abcxyzN[](),=:#\" \n\t-+.eE_/fiInfa";
    enum { N_FILES = sizeof files / sizeof *files, ITERATIONS = 4000 };
    char *src[N_FILES];
    size_t len[N_FILES];
    for (int i = 0; i < N_FILES; i++) src[i] = read_text(files[i], &len[i]);
    uint64_t rng = 88172645463325252ull;
#define NEXT() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, rng)
    int parsed = 0;
    for (int it = 0; it < ITERATIONS; it++) {
        int f = (int)(NEXT() % N_FILES);
        size_t n = len[f];
        char *t = malloc(n + 8);
        assert_non_null(t);
        memcpy(t, src[f], n);
        int edits = 1 + (int)(NEXT() % 4);
        for (int e = 0; e < edits && n > 1; e++) {
            size_t pos = NEXT() % n;
            switch (NEXT() % 4) {
            case 0: t[pos] = alphabet[NEXT() % (sizeof alphabet - 1)]; break;
            case 1:
                memmove(t + pos + 1, t + pos, n - pos);
                t[pos] = alphabet[NEXT() % (sizeof alphabet - 1)];
                n++;
                break;
            case 2:
                memmove(t + pos, t + pos + 1, n - pos - 1);
                n--;
                break;
            default: t[pos] = (char)(NEXT() & 0xff); break;
            }
        }
        live_counter c = {0};
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, counting_alloc, &c), CLG_OK);
        long long baseline = c.live;
        clg_status s = clg_graph_parse(g, t, n, VALID_DIR);
        if (s != CLG_OK) {
            assert_true(s < 0);
            if (clg_graph_node_count(g) || clg_graph_output_count(g) || c.live != baseline)
                fail_msg("failed parse (%s) left something behind:\n%.*s", clg_graph_errmsg(g), (int)n, t);
            assert_true(strlen(clg_graph_errmsg(g)) > 0);
        } else {
            parsed++;
            char *p1 = print_dup(g);
            char *p2 = parse_print(p1, VALID_DIR);
            if (strcmp(p1, p2) != 0) fail_msg("not idempotent:\n%s---\n%s", p1, p2);
            free(p1);
            free(p2);
        }
        clg_graph_destroy(g);
        assert_int_equal(c.live, 0);
        free(t);
    }
#undef NEXT
    for (int i = 0; i < N_FILES; i++) free(src[i]);
    assert_true(parsed > ITERATIONS / 50); /* the edits often leave valid text */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_files_parse_and_print_idempotent),
        cmocka_unit_test(test_example_is_canonical),
        cmocka_unit_test(test_all_ops_file_is_canonical),
        cmocka_unit_test(test_messy_file_prints_canonically),
        cmocka_unit_test(test_canonical_forms),
        cmocka_unit_test(test_topological_sort),
        cmocka_unit_test(test_generators_values),
        cmocka_unit_test(test_random_generator),
        cmocka_unit_test(test_splitmix64_reference_values),
        cmocka_unit_test(test_weights_file),
        cmocka_unit_test(test_float_round_trip),
        cmocka_unit_test(test_f16_round_trip),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_shapes_parse),
        cmocka_unit_test(test_print_misc),
        cmocka_unit_test(test_mutations_fail_cleanly_or_print_idempotently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
