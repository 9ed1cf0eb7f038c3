/* Memory planning by liveness (runtime/plan/memory_plan.c) and the limits of
 * kernel addressing (runtime/plan/plan.c).
 *
 * Without a device: every plan of seeded random graphs (aliases, fan-out,
 * values read much later, pinned inputs and outputs, random scratch) is
 * checked against an independent reading of the rules: no node writes over
 * a value that is still to be read, except an elementwise node writing in
 * place over an input that dies at it.
 * On the device: the same graphs and hand-written ones against the reference
 * executor, activation memory that does not grow with depth, in-place
 * chains that need exactly one block, refusals of positions past what
 * kernels and CLBlast can address, and out-of-memory at every allocation of
 * planning. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "models.h"
#include "plan.h"
#include "plan_check.h"

#define TOL 1e-4
#define PINNED INT_MAX

/* ---------------------------------------------------------------- the plan checker */

static bool overlaps(size_t a, size_t a_len, size_t b, size_t b_len)
{
    return a_len && b_len && a < b + b_len && b < a + a_len;
}

/* The ops memory_plan.c may run in place; the kernels' side of it is
 * checked by running them. */
static bool in_place_op(clg_op op)
{
    switch (op) {
    case CLG_OP_RELU: case CLG_OP_LEAKY_RELU: case CLG_OP_SIGMOID: case CLG_OP_TANH:
    case CLG_OP_CLIP: case CLG_OP_GELU: case CLG_OP_SOFTMAX: case CLG_OP_BATCHNORM:
    case CLG_OP_ADD: case CLG_OP_SUB: case CLG_OP_MUL: case CLG_OP_DIV: case CLG_OP_ELEMENTWISE:
        return true;
    default:
        return false;
    }
}

/* Whether node i runs a step at these sizes: not an input, a constant or
 * a view (an alias op, or a Transpose that moves only dims of 1). */
static bool computes(const clg_graph *g, int i, const clg_shape *shapes)
{
    const clg_node *n = &g->nodes[i];
    return n->op != CLG_OP_INPUT && n->op != CLG_OP_CONSTANT &&
           !clg_value_is_view(g, i, shapes);
}

/* Plans g at batch with the scratch requests and checks the result; returns
 * the arena's size in elements and, when in_place is not NULL, how many
 * nodes wrote in place. */
static size_t check_plan(clg_graph *g, int64_t batch, clg_scratch_request *req, int n_req,
                         int *in_place)
{
    int n = g->n_nodes;
    clg_shape *shapes = calloc((size_t)n, sizeof *shapes);
    size_t *off = calloc((size_t)n, sizeof *off), *count = calloc((size_t)n, sizeof *count);
    int *first = calloc((size_t)n, sizeof *first), *last = calloc((size_t)n, sizeof *last);
    assert_true(shapes && off && count && first && last);
    assert_int_equal(clg_graph_bind_batch(g, batch, shapes), CLG_OK);
    clg_allocator mem = {clg_default_alloc, NULL};
    size_t arena = 0;
    assert_int_equal(clg_plan_memory(&mem, g, shapes, req, n_req, off, &arena), CLG_OK);

    /* Lifetimes, read from the graph directly: from the node to its last
     * reader through any alias; inputs from before the first node. */
    for (int i = 0; i < n; i++) {
        count[i] = (size_t)clg_shape_count(&shapes[i]);
        first[i] = g->nodes[i].op == CLG_OP_INPUT ? -1 : i;
        last[i] = g->nodes[i].op == CLG_OP_INPUT ? PINNED : i;
    }
    for (int j = 0; j < n; j++) {
        if (!computes(g, j, shapes)) continue;
        for (int k = 0; k < g->nodes[j].n_inputs; k++) {
            int r = clg_value_root(g, g->nodes[j].inputs[k], shapes);
            if (last[r] < j) last[r] = j;
        }
    }
    for (int o = 0; o < g->n_outputs; o++) last[clg_value_root(g, g->outputs[o], shapes)] = PINNED;

    for (int i = 0; i < n; i++) {
        if (!clg_value_in_arena(g, i)) continue;
        int r = clg_value_root(g, i, shapes);
        assert_int_equal(off[i], off[r]);
        if (r == i) {
            assert_int_equal(off[i] % 64, 0);
            assert_true(off[i] + count[i] <= arena);
        }
    }
    int n_in_place = 0, next = 0;
    for (int i = 0; i < n; i++) {
        const clg_node *nd = &g->nodes[i];
        if (!computes(g, i, shapes)) continue;
        size_t w_off[9], w_len[9];
        int n_w = 0;
        bool has_out = clg_value_in_arena(g, i);
        if (has_out) {
            w_off[0] = off[i];
            w_len[0] = count[i];
            n_w = 1;
        }
        for (; next < n_req && req[next].node == i; next++) {
            assert_true(n_w < 9);
            assert_int_equal(req[next].off % 64, 0);
            assert_true(req[next].off + req[next].elems <= arena);
            w_off[n_w] = req[next].off;
            w_len[n_w++] = req[next].elems;
        }
        for (int a = 0; a < n_w; a++)
            for (int b = a + 1; b < n_w; b++)
                if (overlaps(w_off[a], w_len[a], w_off[b], w_len[b]))
                    fail_msg("node %s: writes %d and %d overlap", nd->name, a, b);
        for (int v = 0; v < n; v++) {
            if (v == i || clg_value_root(g, v, shapes) != v || !clg_value_in_arena(g, v)) continue;
            if (!(first[v] < i && i <= last[v])) continue; /* not live across node i */
            for (int w = 0; w < n_w; w++) {
                if (!overlaps(w_off[w], w_len[w], off[v], count[v])) continue;
                bool reads_v = false;
                for (int k = 0; k < nd->n_inputs; k++)
                    if (clg_value_root(g, nd->inputs[k], shapes) == v) reads_v = true;
                bool ok = has_out && w == 0 && i == last[v] && off[i] == off[v] &&
                          count[i] == count[v] && in_place_op(nd->op) && reads_v;
                if (!ok)
                    fail_msg("node %s (%s) writes [%zu, +%zu) over %s [%zu, +%zu), live until %d",
                             nd->name, clg_op_name(nd->op), w_off[w], w_len[w], g->nodes[v].name,
                             off[v], count[v], last[v]);
                n_in_place++;
            }
        }
    }
    assert_int_equal(next, n_req);
    free(shapes);
    free(off);
    free(count);
    free(first);
    free(last);
    if (in_place) *in_place = n_in_place;
    return arena;
}

static clg_graph *parse_quiet(const char *text)
{
    return test_parse(text);
}

/* ---------------------------------------------------------------- random graphs */

static char text[1 << 17];
static size_t text_len;

static void add(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(text + text_len, sizeof text - text_len, fmt, ap);
    va_end(ap);
    assert_true(w >= 0 && (size_t)w < sizeof text - text_len);
    text_len += (size_t)w;
}

static uint64_t rng;

static unsigned pick(unsigned n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng >> 33) % n;
}

/* Values are [N, 16] (kind 0) or [N, 4, 4] (kind 1). */
#define MAX_VALUES 128
static int kinds[MAX_VALUES];
static int n_values;

/* An earlier value of the kind: mostly a recent one, sometimes one from
 * the start (a long lifetime). */
static int operand(int kind)
{
    for (int tries = 0; tries < 64; tries++) {
        int v = pick(4) == 0 ? (int)pick((unsigned)n_values)
                             : n_values - 1 - (int)pick(n_values < 4 ? (unsigned)n_values : 4u);
        if (kinds[v] == kind) return v;
    }
    for (int v = n_values - 1; v >= 0; v--)
        if (kinds[v] == kind) return v;
    return -1;
}

static void new_value(int kind) { kinds[n_values++] = kind; }

/* A seeded graph of about `ops` nodes over values v0, v1, ...: unary and
 * binary elementwise ops (some broadcasting a constant), Softmax,
 * BatchNorm, Gemm, Concat, Transpose, Elementwise and the aliases Reshape,
 * Flatten and Identity, with several outputs, some of them read again later. */
static const char *random_text(uint64_t seed, int ops)
{
    static const char *unary[] = {"Relu", "Sigmoid", "Tanh", "Gelu", "Clip min=-1 max=1",
                                  "LeakyRelu alpha=0.1"};
    static const char *binary[] = {"Add", "Sub", "Mul"};
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    text_len = 0;
    n_values = 0;
    int consts = 0;
    add("input v0: f32[N, 16]\n");
    new_value(0);
    if (pick(2)) {
        add("input v1: f32[N, 4, 4]\n");
        new_value(1);
    }
    while (n_values < ops && n_values < MAX_VALUES) {
        int v = n_values, kind = (int)pick(4) == 0 ? 1 : 0;
        int a = operand(kind);
        if (a < 0) kind = 0, a = operand(0);
        switch (pick(10)) {
        case 0: case 1: {
            const char *u = unary[pick(6)];
            const char *space = strchr(u, ' ');
            add("v%d = %.*s(v%d)%s\n", v, space ? (int)(space - u) : (int)strlen(u), u, a,
                space ? space : "");
            new_value(kind);
            break;
        }
        case 2: case 3: {
            int b = operand(kind);
            add("v%d = %s(v%d, v%d)\n", v, binary[pick(3)], a, b);
            new_value(kind);
            break;
        }
        case 4:
            if (kind == 0) {
                add("const c%d: f32[16] = random(%d, -1, 1)\n", consts, consts + 1);
                add("v%d = Add(c%d, v%d)\n", v, consts++, a); /* broadcast input first */
            } else {
                add("v%d = Softmax(v%d) axis=-1\n", v, a);
            }
            new_value(kind);
            break;
        case 5:
            if (kind == 0) {
                add("const c%d: f32[16, 16] = random(%d, -0.4, 0.4)\n", consts, consts + 1);
                add("v%d = Gemm(v%d, c%d)\n", v, a, consts++);
            } else {
                add("v%d = Transpose(v%d) perm=[0, 2, 1]\n", v, a);
            }
            new_value(kind);
            break;
        case 6:
            if (kind == 0) {
                for (int p = 0; p < 4; p++)
                    add("const c%d_%d: f32[16] = random(%d, %s)\n", consts, p, consts * 4 + p + 1,
                        p == 0 || p == 3 ? "0.5, 1.5" : "-0.3, 0.3");
                add("v%d = BatchNorm(v%d, c%d_0, c%d_1, c%d_2, c%d_3)\n", v, a, consts, consts,
                    consts, consts);
                consts++;
            } else {
                add("v%d = Softmax(v%d) axis=1\n", v, a);
            }
            new_value(kind);
            break;
        case 7: /* an alias to the other kind */
            if (kind == 0)
                add("v%d = Reshape(v%d) shape=[0, 4, 4]\n", v, a);
            else
                add("v%d = Flatten(v%d) axis=1\n", v, a);
            new_value(1 - kind);
            if (pick(3) == 0) {
                add("v%d = Identity(v%d)\n", v + 1, v);
                new_value(1 - kind);
            }
            break;
        case 8: { /* a fused node: the second input read twice, a broadcast constant */
            int b = operand(kind);
            add("const c%d: f32[%d] = random(%d, -1, 1)\n", consts, kind ? 4 : 16, consts + 1);
            add("v%d = Elementwise(v%d, c%d, v%d) expr=\"tanh(x0 * x1) + x2 - sigmoid(x2)\"\n", v,
                a, consts++, b);
            new_value(kind);
            break;
        }
        default:
            if (kind == 0) {
                int b = operand(0);
                add("const c%d: f32[32, 16] = random(%d, -0.3, 0.3)\n", consts, consts + 1);
                add("v%d = Concat(v%d, v%d) axis=1\n", v, a, b);
                add("v%d = Gemm(v%d, c%d)\n", v + 1, v, consts++);
                new_value(2); /* [N, 32]: only the Gemm reads it */
                new_value(0);
            } else {
                int b = operand(1);
                add("v%d = Mul(v%d, v%d)\n", v, a, b);
                new_value(1);
            }
            break;
        }
    }
    /* Outputs: the last value and a few others, which may be read later. */
    add("output v%d\n", n_values - 1);
    bool listed[MAX_VALUES] = {false};
    for (int k = (int)pick(3); k > 0; k--) {
        int v = (int)pick((unsigned)n_values - 1);
        if (!listed[v]) add("output v%d\n", v);
        listed[v] = true;
    }
    return text;
}

static void test_random_plans(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        const char *t = random_text(seed, 8 + (int)(seed % 60));
        clg_graph *g = parse_quiet(t);
        /* Scratch for some nodes: random sizes, up to three each. */
        clg_scratch_request req[3 * MAX_VALUES * 3];
        int n_req = 0;
        int64_t batch = 1 + (int64_t)(seed % 5);
        clg_shape *shapes = calloc((size_t)g->n_nodes, sizeof *shapes);
        assert_non_null(shapes);
        assert_int_equal(clg_graph_bind_batch(g, batch, shapes), CLG_OK);
        for (int i = 0; i < g->n_nodes; i++) {
            if (!computes(g, i, shapes) || pick(4)) continue;
            for (int k = (int)pick(3) + 1; k > 0; k--)
                req[n_req++] = (clg_scratch_request){i, 1 + pick(300), 0};
        }
        free(shapes);
        check_plan(g, batch, req, n_req, NULL);
        check_plan(g, batch, NULL, 0, NULL);
        clg_graph_destroy(g);
    }
}

/* ---------------------------------------------------------------- planning without a device */

static size_t plan_elems(const char *t, int64_t batch, int *in_place)
{
    clg_graph *g = parse_quiet(t);
    size_t elems = check_plan(g, batch, NULL, 0, in_place);
    clg_graph_destroy(g);
    return elems;
}

static void test_depth_does_not_grow_the_arena(void **state)
{
    (void)state;
    char *shallow = model_residual_mlp(10, 64), *deep = model_residual_mlp(50, 64);
    for (int64_t batch = 1; batch <= 64; batch *= 8)
        assert_int_equal(plan_elems(shallow, batch, NULL), plan_elems(deep, batch, NULL));
    free(shallow);
    free(deep);
}

static void test_in_place_chain(void **state)
{
    (void)state;
    /* Ten activations in a row need one block beside the pinned input: each
     * writes over the one before, the last (an output) too. */
    text_len = 0;
    add("input x: f32[N, 64]\nh0 = Relu(x)\n");
    for (int i = 1; i < 10; i++) add("h%d = %s(h%d)\n", i, i % 2 ? "Sigmoid" : "Tanh", i - 1);
    add("output h9\n");
    int in_place = 0;
    assert_int_equal(plan_elems(text, 3, &in_place), 2 * 3 * 64);
    assert_int_equal(in_place, 9);
}

static void test_no_in_place_over_live_or_pinned(void **state)
{
    (void)state;
    int in_place = -1;
    /* x is pinned, a is read again later (fan-out), o1 is an output. */
    static const char *t = "input x: f32[N, 64]\n"
                           "a = Relu(x)\n"
                           "b = Sigmoid(a)\n"
                           "c = Tanh(a)\n"
                           "o1 = Add(b, c)\n"
                           "o2 = Relu(o1)\n"
                           "output o1\noutput o2\n";
    plan_elems(t, 2, &in_place);
    assert_int_equal(in_place, 2); /* c over a (its last reader), o1 over b */
    /* The dying input is the broadcast one: no in place. */
    static const char *bc = "input x: f32[N, 64]\n"
                            "const k: f32[1, 64] = ones\n"
                            "s = Sigmoid(k)\n"
                            "y = Add(x, s)\n"
                            "output y\n";
    plan_elems(bc, 4, &in_place);
    assert_int_equal(in_place, 0);
    /* BatchNorm's parameters are no x to write over. */
    static const char *bn = "input x: f32[1, 4]\n"
                            "const p: f32[4] = ones\n"
                            "s = Relu(p)\n"
                            "y = BatchNorm(x, s, p, p, p)\n"
                            "output y\n";
    plan_elems(bn, 1, &in_place);
    assert_int_equal(in_place, 0);
}

static void test_alias_extends_lifetime(void **state)
{
    (void)state;
    /* a dies only when its Reshape f is read, at the very end. */
    static const char *t = "input x: f32[N, 16]\n"
                           "a = Relu(x)\n"
                           "f = Reshape(a) shape=[0, 4, 4]\n"
                           "b = Sigmoid(x)\n"
                           "c = Tanh(b)\n"
                           "d = Relu(c)\n"
                           "e = Reshape(d) shape=[0, 4, 4]\n"
                           "y = Add(e, f)\n"
                           "output y\n";
    int in_place = 0;
    plan_elems(t, 5, &in_place); /* check_plan proves a survives */
    assert_int_equal(in_place, 3); /* c, d, y */
}

/* ---------------------------------------------------------------- on the device */

static void check_text(const char *t, const int64_t *batches, int n)
{
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse(t);
    for (int i = 0; i < n; i++) {
        double err = test_device_error(ctx, g, batches[i], (unsigned)i + 3);
        if (!(err <= TOL))
            fail_msg("batch %lld: error %.3g > %.3g for\n%s", (long long)batches[i], err, TOL, t);
    }
    clg_graph_destroy(g);
}

static uint64_t activation_bytes(clg_context *ctx, const char *t, int64_t batch)
{
    clg_graph *g = test_parse(t);
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("model: %s", clg_model_errmsg(m));
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_input_info(g, 0, NULL, &rank, dims), CLG_OK);
    dims[0] = batch;
    size_t in_n = 1, out_n = (size_t)batch * 1024;
    for (int d = 0; d < rank; d++) in_n *= (size_t)dims[d];
    float *x = calloc(in_n, sizeof *x), *y = calloc(out_n, sizeof *y);
    assert_true(x && y);
    clg_tensor in = {x, rank, {0}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    memcpy(in.dims, dims, sizeof dims);
    if (clg_model_run(m, &in, 1, &out, 1) != CLG_OK) fail_msg("run: %s", clg_model_errmsg(m));
    clg_model_stats st;
    assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
    free(x);
    free(y);
    clg_model_destroy(m);
    clg_graph_destroy(g);
    return st.activation_bytes;
}

static void test_device_depth_independent(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    char *shallow = model_residual_mlp(10, 64), *deep = model_residual_mlp(50, 64);
    for (int64_t batch = 1; batch <= 64; batch *= 8) {
        uint64_t a = activation_bytes(ctx, shallow, batch), b = activation_bytes(ctx, deep, batch);
        assert_int_equal(a, b);
        /* x, y and three blocks of [batch, 64] at most */
        assert_true(a <= (uint64_t)(5 * ((batch * 64 + 63) / 64 * 64)) * sizeof(float));
    }
    static const int64_t batches[] = {1, 13};
    check_text(shallow, batches, 2);
    check_text(deep, batches, 2);
    free(shallow);
    free(deep);
}

static void test_device_random_graphs(void **state)
{
    (void)state;
    if (!test_context()) skip();
    static const int64_t batches[] = {1, 5};
    for (uint64_t seed = 1; seed <= 24; seed++) check_text(random_text(seed, 40), batches, 2);
}

static void test_device_lifetimes(void **state)
{
    (void)state;
    static const int64_t batches[] = {1, 3, 17};
    /* Long lifetime: x0 is read again after a long chain that would happily
     * reuse its block. */
    text_len = 0;
    add("input x: f32[N, 96]\nx0 = Tanh(x)\nh0 = Sigmoid(x0)\n");
    add("const w: f32[96, 96] = random(5, -0.2, 0.2)\n");
    for (int i = 1; i < 16; i++)
        add(i % 3 ? "h%d = Relu(h%d)\n" : "h%d = Gemm(h%d, w)\n", i, i - 1);
    add("y = Add(h15, x0)\noutput y\n");
    check_text(text, batches, 3);
    /* Fan-out: a feeds three readers at different times, one of them an
     * elementwise op that must not write over it. */
    check_text("input x: f32[N, 33]\n"
               "a = Gelu(x)\n"
               "b = Sigmoid(a)\n"
               "c = Mul(a, b)\n"
               "d = Softmax(a)\n"
               "e = Add(c, d)\n"
               "f = Sub(e, a)\n"
               "output f\noutput b\n",
               batches, 3);
    /* Outputs read again, an input read last, and an alias read late. */
    check_text("input x: f32[N, 2, 8]\n"
               "a = Relu(x)\n"
               "o = Sigmoid(a)\n"
               "p = Flatten(o) axis=1\n"
               "q = Tanh(p)\n"
               "r = Reshape(q) shape=[0, 2, 8]\n"
               "s = Transpose(r) perm=[0, 2, 1]\n"
               "t = Transpose(s) perm=[0, 2, 1]\n"
               "u = Add(t, o)\n"
               "v = Mul(u, x)\n"
               "output o\noutput v\noutput p\n",
               batches, 3);
}

static void test_device_in_place_ops(void **state)
{
    (void)state;
    static const int64_t batches[] = {1, 4, 65};
    /* Each elementwise op written over its input, broadcasting included. */
    check_text("input x: f32[N, 3, 5, 7]\n"
               "const s: f32[3] = random(1, 0.5, 1.5)\n"
               "const b: f32[3] = random(2, -0.2, 0.2)\n"
               "const m: f32[3] = random(3, -0.2, 0.2)\n"
               "const v: f32[3] = random(4, 0.5, 1.5)\n"
               "const k: f32[5, 1] = random(5, -1, 1)\n"
               "a = Relu(x)\n"
               "c = BatchNorm(a, s, b, m, v)\n"
               "d = Softmax(c) axis=2\n"
               "e = Add(d, k)\n"
               "f = Mul(k, e)\n"
               "g = Add(f, f)\n"
               "h = Div(g, x)\n"
               "i = Clip(h) min=-3 max=3\n"
               "j = Elementwise(k, i, i) expr=\"tanh(x1) * x0 + x2\"\n"
               "output j\n",
               batches, 3);
}

static void test_device_conv_scratch(void **state)
{
    (void)state;
    if (!test_context()) skip();
    /* Scratch (im2col's columns, the GEMM result before NCHW) shares the
     * arena: the real requests of a plan pass the checker, and the arena is
     * far smaller than every value and scratch laid end to end. CLBlast's
     * path, which requests both: the measured choice may pick the implicit
     * GEMM, which requests none. */
    test_set_gemm("clblast");
    clg_context *ctx = test_context();
    char *t = model_small_resnet();
    static const int64_t batches[] = {1, 3};
    check_text(t, batches, 2);
    clg_graph *g = test_parse(t);
    test_plan tp;
    test_plan_build(&tp, ctx, g, 3);
    clg_plan plan = tp.plan;
    assert_true(plan.n_scratch >= 4);
    clg_scratch_request req[64];
    assert_true(plan.n_scratch <= 64);
    memcpy(req, plan.scratch, (size_t)plan.n_scratch * sizeof *req);
    assert_int_equal(check_plan(g, 3, req, plan.n_scratch, NULL), plan.arena_elems);
    for (int i = 0; i < plan.n_scratch; i++) assert_int_equal(req[i].off, plan.scratch[i].off);
    size_t end_to_end = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (clg_value_root(g, i, NULL) == i && clg_value_in_arena(g, i))
            end_to_end += ((size_t)clg_shape_count(&plan.values[i].shape) + 63) / 64 * 64;
    for (int i = 0; i < plan.n_scratch; i++) end_to_end += (plan.scratch[i].elems + 63) / 64 * 64;
    assert_true(plan.arena_elems * 2 < end_to_end);
    test_plan_free(&tp);
    clg_graph_destroy(g);
    free(t);
    test_set_gemm(NULL);
}

/* ---------------------------------------------------------------- limits of addressing */

static void test_refuses_unaddressable_positions(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input x: f32[N, 4]\nbig = Relu(x)\noutput big\n");
    clg_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.ctx = ctx;
    clg_lower lw = {ctx, g, 1, &plan};
    /* An offset past 2^32 elements: refused before any OpenCL call (the
     * buffer is never touched, so none is needed). */
    clg_dev_tensor far = {NULL, (size_t)1 << 32, {1, {16}}, CLG_BLOCK_NONE}, near = {NULL, 0, {1, {16}}, CLG_BLOCK_NONE};
    size_t global = 16;
    clg_karg args[] = {CLG_ARG_T(&near), CLG_ARG_T(&far), CLG_ARG_I(16), CLG_ARG_I(1), CLG_ARG_I(0),
                       CLG_ARG_I(0), CLG_ARG_I(1), CLG_ARG_I(0), CLG_ARG_I(0)};
    assert_int_equal(clg_emit_kernel(&lw, "copy.cl", "copy_strided", NULL, 1, &global, args, 9),
                     CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_context_errmsg(ctx), "node big (Relu)"));
    assert_non_null(strstr(clg_context_errmsg(ctx), "2^32"));
    /* A tensor that ends past 2^32 although it starts below. */
    far.off = ((size_t)1 << 32) - 8;
    assert_int_equal(clg_emit_kernel(&lw, "copy.cl", "copy_strided", NULL, 1, &global, args, 9),
                     CLG_ERR_UNSUPPORTED);
    /* More elements than int indexes. */
    far.off = 0;
    far.shape.dims[0] = (int64_t)INT_MAX + 1;
    assert_int_equal(clg_emit_kernel(&lw, "copy.cl", "copy_strided", NULL, 1, &global, args, 9),
                     CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_context_errmsg(ctx), "node big (Relu)"));
    /* CLBlast takes offsets as int. */
    clg_gemm gm = {.m = 4, .n = 4, .k = 4, .alpha = 1, .lda = 4, .ldb = 4, .ldc = 4, .batch = 1};
    gm.c.off = (size_t)INT_MAX - 8;
    assert_int_equal(clg_emit_gemm(&lw, &gm), CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_context_errmsg(ctx), "operand C"));
    gm.c.off = 0;
    gm.batch = 3;
    gm.b_stride = (size_t)1 << 30;
    assert_int_equal(clg_emit_gemm(&lw, &gm), CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_context_errmsg(ctx), "operand B"));
    assert_int_equal(plan.n_steps, 0);
    clg_plan_free(&plan);
    clg_graph_destroy(g);
}

static void test_refuses_tensors_past_int(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input x: f32[N, 1024]\ny = Sigmoid(x)\noutput y\n");
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    /* Planning refuses before any input is read: a small buffer will do. */
    static float x[1024], y[1024];
    /* 2^31 elements: the most shape inference allows, one past INT_MAX */
    clg_tensor in = {x, 2, {(int64_t)1 << 21, 1024}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    clg_status s = clg_model_run(m, &in, 1, &out, 1);
    if (s != CLG_ERR_UNSUPPORTED) fail_msg("status %d: %s", s, clg_model_errmsg(m));
    assert_non_null(strstr(clg_model_errmsg(m), "node y (Sigmoid)"));
    assert_non_null(strstr(clg_model_errmsg(m), "2147483647"));
    in.dims[0] = 1;
    assert_int_equal(clg_model_run(m, &in, 1, &out, 1), CLG_OK);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- out of host memory */

typedef struct fail_alloc {
    long count, fail_at; /* the fail_at-th allocation from now fails; 0: none */
} fail_alloc;

static void *fail_alloc_fn(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)old_size;
    fail_alloc *a = user;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (a->fail_at && ++a->count == a->fail_at) return NULL;
    return realloc(ptr, new_size);
}

static void test_planning_out_of_memory(void **state)
{
    (void)state;
    if (!test_context()) skip();
    fail_alloc fa = {0, 0};
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create(&ctx, NULL, 0, fail_alloc_fn, &fa), CLG_OK);
    char *t = model_small_resnet();
    clg_graph *g = test_parse(t);
    free(t);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK); /* warms the program cache */
    clg_model_destroy(m);
    /* Every allocation of creating a model fails in turn. */
    for (long k = 1;; k++) {
        fa.count = 0;
        fa.fail_at = k;
        m = NULL;
        clg_status s = clg_model_create(&m, ctx, g);
        fa.fail_at = 0;
        if (s == CLG_OK) {
            clg_model_destroy(m);
            break;
        }
        assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
        /* The model carries the message unless it could not be allocated itself. */
        if (m) assert_non_null(strstr(clg_model_errmsg(m), "out of memory"));
        clg_model_destroy(m);
        assert_true(k < 10000);
    }
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
}


static int node_named(const clg_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    fail_msg("no node %s", name);
    return -1;
}

static bool blocks_overlap(const size_t *off, const clg_shape *shapes, int a, int b)
{
    return overlaps(off[a], (size_t)clg_shape_count(&shapes[a]), off[b], (size_t)clg_shape_count(&shapes[b]));
}

/* A Gemm with an epilogue (as absorb-epilogue writes it) is one node: its
 * block never overlaps an input, its epilogue's inputs included, even one
 * that dies at it (the CLBlast path pre-fills the output with the bias and
 * accumulates onto it before the epilogue reads x1). */
static void test_gemm_epilogue_not_in_place(void **state)
{
    (void)state;
    clg_graph *g = parse_quiet("input x: f32[N, 16]\n"
                               "const w: f32[16, 16] = random(1, -1, 1)\n"
                               "a = Relu(x)\n"
                               "b = Sigmoid(a)\n"
                               "c = Tanh(b)\n"
                               "z = Gemm(a, w, a, c) epilogue=\"x0 + x1 * x2\"\n"
                               "y = Tanh(z)\n"
                               "u = Relu(y)\n"
                               "output u\n");
    int n = g->n_nodes, z = node_named(g, "z");
    clg_shape *shapes = calloc((size_t)n, sizeof *shapes);
    size_t *off = calloc((size_t)n, sizeof *off);
    assert_true(shapes && off);
    assert_int_equal(clg_graph_bind_batch(g, 3, shapes), CLG_OK);
    clg_allocator mem = {clg_default_alloc, NULL};
    size_t arena = 0;
    assert_int_equal(clg_plan_memory(&mem, g, shapes, NULL, 0, off, &arena), CLG_OK);
    const char *inputs[] = {"a", "c"};
    for (int i = 0; i < 2; i++) assert_false(blocks_overlap(off, shapes, z, node_named(g, inputs[i])));
    free(shapes);
    free(off);
    check_plan(g, 3, NULL, 0, NULL);
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_plans),
        cmocka_unit_test(test_depth_does_not_grow_the_arena),
        cmocka_unit_test(test_in_place_chain),
        cmocka_unit_test(test_no_in_place_over_live_or_pinned),
        cmocka_unit_test(test_alias_extends_lifetime),
        cmocka_unit_test(test_gemm_epilogue_not_in_place),
        cmocka_unit_test(test_device_depth_independent),
        cmocka_unit_test(test_device_random_graphs),
        cmocka_unit_test(test_device_lifetimes),
        cmocka_unit_test(test_device_in_place_ops),
        cmocka_unit_test(test_device_conv_scratch),
        cmocka_unit_test(test_refuses_unaddressable_positions),
        cmocka_unit_test(test_refuses_tensors_past_int),
        cmocka_unit_test(test_planning_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
