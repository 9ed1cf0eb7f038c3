/* Each model keeps its own last error: a failing clg_model_create or
 * clg_model_run writes the model's message and nothing else, so models
 * sharing a context, in one thread or in two, never see each other's
 * errors and the context's message stays as it was. Also clg_model_options'
 * struct_size, and CLG_ERR_INTERNAL for a broken internal invariant. Skips
 * when the machine has no OpenCL device. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_check.h"
#include "plan.h"

/* Kernels index with int: a tensor of more elements is refused deep in
 * lowering, with a message naming the node. These batches make the
 * graphs below pass INT_MAX elements (2^21 x 1024 and 2^29 x 4 = 2^31). */
#define HUGE_BATCH_A ((int64_t)1 << 21)
#define HUGE_BATCH_B ((int64_t)1 << 29)

static const char graph_a[] = "input x: f32[N, 1024]\na_sigmoid = Sigmoid(x)\noutput a_sigmoid\n";
static const char graph_b[] = "input x: f32[N, 4]\nb_relu = Relu(x)\noutput b_relu\n";

static char *copy_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    assert_non_null(c);
    memcpy(c, s, n);
    return c;
}

static void expect_in(const char *what, const char *msg, const char *part)
{
    if (!strstr(msg, part)) fail_msg("%s: message \"%s\" lacks \"%s\"", what, msg, part);
}

static void expect_not_in(const char *what, const char *msg, const char *part)
{
    if (strstr(msg, part)) fail_msg("%s: message \"%s\" has \"%s\"", what, msg, part);
}

/* ---------------------------------------------------------------- one thread */

static void test_models_keep_their_own_errors(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    char *ctx_before = copy_text(clg_context_errmsg(ctx));
    clg_graph *ga = test_parse(graph_a), *gb = test_parse(graph_b);
    clg_model *a = NULL, *b = NULL;
    assert_int_equal(clg_model_create(&a, ctx, ga), CLG_OK);
    assert_int_equal(clg_model_create(&b, ctx, gb), CLG_OK);
    assert_string_equal(clg_model_errmsg(a), "");
    assert_string_equal(clg_model_errmsg(b), "");

    static float x[1024], y[1024];
    /* A fails deep inside planning (the lowering of its node). */
    clg_tensor in_a = {x, 2, {HUGE_BATCH_A, 1024}, CLG_DTYPE_F32}, out_a = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(a, &in_a, 1, &out_a, 1), CLG_ERR_UNSUPPORTED);
    expect_in("a", clg_model_errmsg(a), "node a_sigmoid (Sigmoid)");
    char *a_msg = copy_text(clg_model_errmsg(a));

    /* B succeeds, then fails in two ways of its own; A's message stays. */
    clg_tensor in_b = {x, 2, {3, 4}, CLG_DTYPE_F32}, out_b = {y, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(b, &in_b, 1, &out_b, 1), CLG_OK);
    assert_string_equal(clg_model_errmsg(b), "");
    clg_tensor wrong = {x, 2, {3, 5}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(b, &wrong, 1, &out_b, 1), CLG_ERR_INVALID_ARGUMENT);
    expect_not_in("b", clg_model_errmsg(b), "a_sigmoid");
    assert_true(clg_model_errmsg(b)[0] != '\0');
    in_b.dims[0] = HUGE_BATCH_B;
    assert_int_equal(clg_model_run(b, &in_b, 1, &out_b, 1), CLG_ERR_UNSUPPORTED);
    expect_in("b", clg_model_errmsg(b), "node b_relu (Relu)");
    assert_string_equal(clg_model_errmsg(a), a_msg);

    /* A failed create writes the new model's message only. */
    clg_model *c = NULL;
    clg_model_options bad = CLG_MODEL_OPTIONS_INIT;
    bad.opt_level = 7;
    assert_int_equal(clg_model_create_ex(&c, ctx, ga, &bad), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(c);
    expect_in("c", clg_model_errmsg(c), "opt_level 7");
    assert_string_equal(clg_model_errmsg(a), a_msg);
    expect_in("b", clg_model_errmsg(b), "node b_relu (Relu)");
    /* A model whose creation failed cannot run, and keeps saying why. */
    in_a.dims[0] = 1;
    assert_int_equal(clg_model_run(c, &in_a, 1, &out_a, 1), CLG_ERR_INVALID_ARGUMENT);
    expect_in("c", clg_model_errmsg(c), "opt_level 7");
    int count = -1;
    assert_int_equal(clg_model_profile(c, NULL, 0, &count), CLG_ERR_INVALID_ARGUMENT);
    clg_model_destroy(c);
    /* The graph is checked in the model too. */
    assert_int_equal(clg_model_create(&c, ctx, NULL), CLG_ERR_INVALID_ARGUMENT);
    expect_in("c", clg_model_errmsg(c), "graph is NULL");
    clg_model_destroy(c);
    assert_int_equal(clg_model_create(NULL, ctx, ga), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_model_create(&c, NULL, ga), CLG_ERR_INVALID_ARGUMENT);
    assert_null(c);

    /* A success clears only the model's own message. */
    assert_int_equal(clg_model_run(a, &in_a, 1, &out_a, 1), CLG_OK);
    assert_string_equal(clg_model_errmsg(a), "");
    expect_in("b", clg_model_errmsg(b), "node b_relu (Relu)");

    /* None of it reached the context. */
    assert_string_equal(clg_context_errmsg(ctx), ctx_before);
    clg_model_destroy(a);
    clg_model_destroy(b);
    clg_graph_destroy(ga);
    clg_graph_destroy(gb);
    free(a_msg);
    free(ctx_before);
}

/* ---------------------------------------------------------------- two threads */

#define ROUNDS 12

typedef struct worker {
    clg_context *ctx;
    const char *text;
    const char *node;  /* the node its failures name */
    const char *other; /* the other worker's node, never in its messages */
    int64_t width, huge_batch;
    char failure[1024]; /* "" when every check held */
} worker;

/* cmocka's asserts are not for other threads: a worker records what went
 * wrong and the main thread fails the test. */
static void *work(void *arg)
{
    worker *w = arg;
    clg_graph *g = NULL;
    clg_model *m = NULL;
    float *x = NULL, *got = NULL, *want = NULL;
    if (clg_graph_create(&g, NULL, NULL) != CLG_OK || clg_graph_parse(g, w->text, strlen(w->text), NULL) != CLG_OK) {
        snprintf(w->failure, sizeof w->failure, "parse: %s", clg_graph_errmsg(g));
        goto done;
    }
    /* Both threads create their models at once on one cold context. */
    if (clg_model_create(&m, w->ctx, g) != CLG_OK) {
        snprintf(w->failure, sizeof w->failure, "create: %s", clg_model_errmsg(m));
        goto done;
    }
    size_t most = 3 * (size_t)w->width;
    x = malloc(most * sizeof *x);
    got = malloc(most * sizeof *got);
    want = malloc(most * sizeof *want);
    if (!x || !got || !want) {
        snprintf(w->failure, sizeof w->failure, "out of host memory");
        goto done;
    }
    for (int r = 0; r < ROUNDS; r++) {
        /* Batches 1, 2, 3 in turn: every round plans again. */
        int64_t batch = 1 + r % 3;
        for (size_t i = 0; i < (size_t)batch * (size_t)w->width; i++)
            x[i] = (float)((int)((i * 37 + (size_t)r * 11) % 19) - 9) / 4.0f;
        clg_tensor in = {x, 2, {batch, w->width}, CLG_DTYPE_F32}, out = {got, 0, {0}, CLG_DTYPE_F32}, ref = {want, 0, {0}, CLG_DTYPE_F32};
        if (clg_model_run(m, &in, 1, &out, 1) != CLG_OK) {
            snprintf(w->failure, sizeof w->failure, "round %d: run: %s", r, clg_model_errmsg(m));
            goto done;
        }
        if (clg_graph_run_reference(g, &in, 1, &ref, 1) != CLG_OK) {
            snprintf(w->failure, sizeof w->failure, "round %d: reference: %s", r, clg_graph_errmsg(g));
            goto done;
        }
        for (size_t i = 0; i < (size_t)batch * (size_t)w->width; i++)
            if (fabsf(got[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i]))) {
                snprintf(w->failure, sizeof w->failure, "round %d: element %zu is %g, not %g", r, i,
                         (double)got[i], (double)want[i]);
                goto done;
            }
        /* Then a failure of its own, deep in planning. */
        clg_tensor huge = {x, 2, {w->huge_batch, w->width}, CLG_DTYPE_F32};
        clg_status s = clg_model_run(m, &huge, 1, &out, 1);
        const char *msg = clg_model_errmsg(m);
        if (s != CLG_ERR_UNSUPPORTED || !strstr(msg, w->node) || strstr(msg, w->other)) {
            snprintf(w->failure, sizeof w->failure, "round %d: huge batch: status %d, message \"%s\"", r,
                     (int)s, msg);
            goto done;
        }
    }
done:
    free(x);
    free(got);
    free(want);
    clg_model_destroy(m);
    clg_graph_destroy(g);
    return NULL;
}

static void test_two_threads_one_context(void **state)
{
    (void)state;
    if (!test_context()) skip(); /* a device exists */
    /* A context of its own, with no disk cache: both threads build every
     * program (and time every GEMM) at the same time. */
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.cache_dir = "";
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, 0, &o, NULL, NULL) != CLG_OK)
        fail_msg("context: %s", clg_context_errmsg(ctx));
    worker w[2] = {
        {ctx,
         "input x: f32[N, 16]\n"
         "const a_w: f32[16, 16] = random(1, -0.5, 0.5)\n"
         "const a_b: f32[16] = random(2, -0.1, 0.1)\n"
         "a_gemm = Gemm(x, a_w, a_b) transB=1\n"
         "a_out = Relu(a_gemm)\n"
         "output a_out\n",
         "node a_", "b_", 16, (int64_t)1 << 27, ""},
        {ctx,
         "input x: f32[N, 8]\n"
         "const b_c: f32[8] = random(3, -1, 1)\n"
         "b_sig = Sigmoid(x)\n"
         "b_out = Add(b_sig, b_c)\n"
         "output b_out\n",
         "node b_", "a_", 8, (int64_t)1 << 28, ""},
    };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        if (w[i].failure[0]) fail_msg("thread %d: %s", i, w[i].failure);
    assert_string_equal(clg_context_errmsg(ctx), "");
    clg_context_destroy(ctx);
}

/* ---------------------------------------------------------------- options that grow */

static void test_model_options_struct_size(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    /* -O0 runs Add and Relu as two launches, -O2 as one fused kernel. */
    clg_graph *g = test_parse("input x: f32[N, 8]\nconst c: f32[8] = random(5, -1, 1)\n"
                              "s = Add(x, c)\ny = Relu(s)\noutput y\n");
    clg_model *m = NULL;
    clg_model_stats st;
    int launches[3];
    for (int level = 0; level <= 2; level += 2) {
        clg_model_options o = CLG_MODEL_OPTIONS_INIT;
        o.opt_level = level;
        assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
        assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
        launches[level] = st.launches_per_inference;
        clg_model_destroy(m);
    }
    assert_true(launches[2] < launches[0]);

    /* A caller of the first version of the struct (which ended with
     * opt_level) is read up to there. */
    clg_model_options first = CLG_MODEL_OPTIONS_INIT;
    first.opt_level = 0;
    first.struct_size = offsetof(clg_model_options, opt_level) + sizeof first.opt_level;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &first), CLG_OK);
    assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
    assert_int_equal(st.launches_per_inference, launches[0]);
    clg_model_destroy(m);

    /* Not initialised, or too small for any version. */
    clg_model_options zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &zero), CLG_ERR_INVALID_ARGUMENT);
    expect_in("zero", clg_model_errmsg(m), "struct_size is 0");
    clg_model_destroy(m);
    clg_model_options small = CLG_MODEL_OPTIONS_INIT;
    small.struct_size = sizeof(size_t);
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &small), CLG_ERR_INVALID_ARGUMENT);
    expect_in("small", clg_model_errmsg(m), "struct_size");
    clg_model_destroy(m);

    /* A newer header's larger struct: its unknown fields must be zero. */
    struct {
        clg_model_options o;
        int64_t future;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.o.struct_size = sizeof newer;
    newer.o.opt_level = 0;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &newer.o), CLG_OK);
    assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
    assert_int_equal(st.launches_per_inference, launches[0]);
    clg_model_destroy(m);
    newer.future = 1;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &newer.o), CLG_ERR_INVALID_ARGUMENT);
    expect_in("newer", clg_model_errmsg(m), "newer");
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- precision */

/* The host's float-to-half conversion (weights, inputs) against values
 * whose half is known: exact ones, ties to even, the largest finite half,
 * overflow to inf, subnormals and NaN. */
static void test_half_conversion(void **state)
{
    (void)state;
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {0.0f, 0x0000},         {-0.0f, 0x8000},         {1.0f, 0x3c00},          {-2.0f, 0xc000},
        {0.5f, 0x3800},         {65504.0f, 0x7bff},      {65519.0f, 0x7bff},      {65520.0f, 0x7c00},
        {1e6f, 0x7c00},         {-1e6f, 0xfc00},         {INFINITY, 0x7c00},      {2048.0f, 0x6800},
        {2049.0f, 0x6800} /* a tie: to even (2048) */,   {2051.0f, 0x6802} /* a tie: to even (2052) */,
        {1.0f + 1.0f / 4096, 0x3c00} /* below half an ulp */,
        {0x1p-24f, 0x0001} /* the smallest subnormal */, {0x1p-25f, 0x0000} /* a tie: to even (0) */,
        {0x1.8p-25f, 0x0001},   {0x1p-14f, 0x0400} /* the smallest normal */,
        {0x1.ff8p-15f, 0x03ff} /* the largest subnormal */, {0x1.ffcp-15f, 0x0400} /* a tie: to even (up) */,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = clg_float_to_half(cases[i].f);
        if (h != cases[i].h) fail_msg("%a -> 0x%04x, want 0x%04x", (double)cases[i].f, h, cases[i].h);
        if (isfinite(cases[i].f) && (h & 0x7c00) != 0x7c00 && clg_half_to_float(h) != clg_half_to_float(cases[i].h))
            fail_msg("0x%04x back to float", h);
    }
    assert_true(isnan(clg_half_to_float(clg_float_to_half(NAN))));
    /* every half survives the round trip through float */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaNs */
        assert_int_equal(clg_float_to_half(clg_half_to_float((uint16_t)h)), h);
    }
}

static void test_precision_errors(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    clg_model *m = NULL;
    clg_model_options o = CLG_MODEL_OPTIONS_INIT;

    /* A weight beyond half's range, named. */
    clg_graph *g = test_parse("input x: f32[N, 2]\nconst big: f32[2] = [1, 70000]\ny = Mul(x, big)\noutput y\n");
    o.precision = CLG_PRECISION_FP16_STORAGE;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_ERR_UNSUPPORTED);
    expect_in("overflow", clg_model_errmsg(m), "constant big");
    expect_in("overflow", clg_model_errmsg(m), "65504");
    clg_model_destroy(m);
    o.precision = CLG_PRECISION_FP32; /* fine at fp32 */
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
    clg_model_destroy(m);
    clg_graph_destroy(g);

    /* Integer tensors on the device are refused, named. */
    g = test_parse("input ids: i64[N, 3]\nconst table: f32[5000, 2] = random(1, -1, 1)\n"
                   "y = Gather(table, ids) axis=0\noutput y\n");
    o.precision = CLG_PRECISION_FP16_STORAGE;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_ERR_UNSUPPORTED);
    expect_in("integer", clg_model_errmsg(m), "node ids");
    expect_in("integer", clg_model_errmsg(m), "i64");
    clg_model_destroy(m);
    clg_graph_destroy(g);

    /* A precision outside the enum. */
    g = test_parse("input x: f32[N, 2]\ny = Relu(x)\noutput y\n");
    o.precision = (clg_precision)7;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_ERR_INVALID_ARGUMENT);
    expect_in("bad precision", clg_model_errmsg(m), "precision 7");
    clg_model_destroy(m);

    /* fp16 compute: refused on a device without cl_khr_fp16, naming both. */
    o.precision = CLG_PRECISION_FP16;
    clg_status s = clg_model_create_ex(&m, ctx, g, &o);
    if (info.fp16) {
        assert_int_equal(s, CLG_OK);
        printf("precision fp16 on %s: created (cl_khr_fp16)\n", info.name);
    } else {
        assert_int_equal(s, CLG_ERR_UNSUPPORTED);
        expect_in("no fp16", clg_model_errmsg(m), "cl_khr_fp16");
        expect_in("no fp16", clg_model_errmsg(m), info.name);
        printf("precision fp16 on %s: refused, no cl_khr_fp16: %s\n", info.name, clg_model_errmsg(m));
    }
    clg_model_destroy(m);

    /* Half models: halved bytes, outputs through clg_model_run only (bundles
     * record the precision: test_bundle.c test_round_trip_half). */
    clg_model_stats s32, s16;
    o.precision = CLG_PRECISION_FP32;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
    assert_int_equal(clg_model_stats_get(m, &s32), CLG_OK);
    clg_model_destroy(m);
    o.precision = CLG_PRECISION_FP16_STORAGE;
    assert_int_equal(clg_model_create_ex(&m, ctx, g, &o), CLG_OK);
    assert_int_equal(clg_model_stats_get(m, &s16), CLG_OK);
    assert_int_equal(s16.activation_bytes * 2, s32.activation_bytes);
    float xv[4] = {-1.0f, 2.0f, 0.1f, -0.0f}, yv[4];
    clg_tensor x = {xv, 2, {2, 2}, CLG_DTYPE_F32}, y = {yv, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(m, &x, 1, &y, 1), CLG_OK);
    assert_true(yv[0] == 0.0f && yv[1] == 2.0f && yv[3] == 0.0f);
    assert_true(yv[2] == clg_half_to_float(clg_float_to_half(0.1f))); /* rounded once, at the edge */
    assert_int_equal(clg_model_run_buffers(m, NULL, 0, NULL, 0, NULL, 0, NULL), CLG_ERR_UNSUPPORTED);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- internal errors */

/* A launch whose tensor has no buffer once the plan binds can only come
 * from a bug in clgraph: CLG_ERR_INTERNAL, not the caller's
 * CLG_ERR_INVALID_ARGUMENT. */
static void test_internal_error_status(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse("input x: f32[N, 4]\nr = Relu(x)\noutput r\n");
    clg_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.ctx = ctx;
    clg_lower lw = {ctx, g, 1, &plan};
    clg_dev_tensor t = {NULL, 0, {1, {16}}, CLG_BLOCK_NONE};
    size_t global = 64;
    clg_karg args[] = {CLG_ARG_T(&t), CLG_ARG_T(&t), CLG_ARG_I(16), CLG_ARG_I(1), CLG_ARG_I(0),
                       CLG_ARG_I(0), CLG_ARG_I(1), CLG_ARG_I(0), CLG_ARG_I(0)};
    assert_int_equal(clg_emit_kernel(&lw, "copy.cl", "copy_strided", NULL, 1, &global, args, 9), CLG_OK);
    assert_int_equal(clg_plan_bind(&plan, g, 0), CLG_ERR_INTERNAL);
    expect_in("ctx", clg_context_errmsg(ctx), "node r (Relu): internal error");
    assert_int_equal(plan.n_steps, 1);
    clg_plan_free(&plan);
    clg_graph_destroy(g);
    assert_int_equal(strncmp(clg_status_string(CLG_ERR_INTERNAL), "CLG_ERR_INTERNAL:", 17), 0);
}

/* An allocator that refuses every request while `refuse` is set and
 * counts what it was asked for and what is still held. */
typedef struct counting_alloc {
    bool refuse;
    long requests, live;
} counting_alloc;

static void *counting(void *user, void *ptr, size_t old_size, size_t new_size)
{
    counting_alloc *a = user;
    (void)old_size;
    if (new_size == 0) {
        if (ptr) a->live--;
        free(ptr);
        return NULL;
    }
    a->requests++;
    if (a->refuse) return NULL;
    void *p = realloc(ptr, new_size);
    if (p && !ptr) a->live++;
    return p;
}

/* A run of a plan the model keeps allocates nothing once its integer
 * conversion buffers are large enough; when they must grow and cannot, the
 * run fails with CLG_ERR_OUT_OF_MEMORY (its queued write released, not
 * hanging), and nothing leaks. */
static void test_runs_allocate_nothing(void **state)
{
    (void)state;
    counting_alloc a = {false, 0, 0};
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, 0, counting, &a) != CLG_OK) {
        clg_context_destroy(ctx);
        skip();
    }
    clg_graph *g = test_parse("input x: f32[N, 3]\ninput ids: i64[N, 2]\nconst t: f32[4, 3] = random(2)\n"
                              "e = Gather(t, ids)\nc = Cast(ids) to=\"i32\"\ny = Relu(x)\n"
                              "output y\noutput c\noutput e\n");
    clg_model *m = NULL;
    if (clg_model_create(&m, ctx, g) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    float x[3] = {-1, 2, -3}, y[3], e[6];
    int64_t ids[2] = {3, -4};
    int32_t c[2];
    clg_tensor in[2] = {{x, 2, {1, 3}, CLG_DTYPE_F32}, {(float *)ids, 2, {1, 2}, CLG_DTYPE_I64}};
    clg_tensor out[3] = {{y, 0, {0}, CLG_DTYPE_F32}, {(float *)c, 0, {0}, CLG_DTYPE_I32},
                         {e, 0, {0}, CLG_DTYPE_F32}};
    /* The plan for batch 1 was built at create; the conversion buffers not yet. */
    a.refuse = true;
    assert_int_equal(clg_model_run(m, in, 2, out, 3), CLG_ERR_OUT_OF_MEMORY);
    expect_in("refused conversion buffer", clg_model_errmsg(m), "out of memory converting inputs");
    a.refuse = false;
    if (clg_model_run(m, in, 2, out, 3) != CLG_OK) fail_msg("%s", clg_model_errmsg(m));
    a.refuse = true;
    long before = a.requests;
    for (int r = 0; r < 3; r++) {
        ids[0] = r;
        x[1] = (float)r;
        if (clg_model_run(m, in, 2, out, 3) != CLG_OK) fail_msg("run %d: %s", r, clg_model_errmsg(m));
        assert_true(y[0] == 0 && y[1] == (float)r && y[2] == 0);
        assert_int_equal(c[0], r);
        assert_int_equal(c[1], -4);
    }
    assert_int_equal(a.requests, before);
    a.refuse = false;
    clg_model_destroy(m);
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_keep_their_own_errors),
        cmocka_unit_test(test_two_threads_one_context),
        cmocka_unit_test(test_model_options_struct_size),
        cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_precision_errors),
        cmocka_unit_test(test_internal_error_status),
        cmocka_unit_test(test_runs_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
