#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "device_check.h"

static clg_context *shared_ctx;
static int shared_tried;

static clg_context *shared_context(void)
{
    if (!shared_tried) {
        shared_tried = 1;
        int count = 0;
        if (clg_devices_list(NULL, 0, &count) != CLG_OK || count == 0) return NULL;
        clg_status s = clg_context_create(&shared_ctx, NULL, CLG_CONTEXT_PROFILING, NULL, NULL);
        if (s != CLG_OK) {
            fprintf(stderr, "context: %s\n", clg_context_errmsg(shared_ctx));
            clg_context_destroy(shared_ctx);
            shared_ctx = NULL;
            fail_msg("cannot open the OpenCL device");
        }
    }
    return shared_ctx;
}

/* One context per GEMM path a test asked for (the path is a context's
 * setting, fixed when it is created). */
#define MAX_GEMM_CONTEXTS 32
static struct {
    char gemm[64];
    clg_context *ctx;
} gemm_ctx[MAX_GEMM_CONTEXTS];
static int n_gemm_ctx;
static char current_gemm[64];

void test_set_gemm(const char *gemm)
{
    snprintf(current_gemm, sizeof current_gemm, "%s", gemm ? gemm : "");
}

const char *test_gemm_path(void) { return current_gemm[0] ? current_gemm : "measure"; }

clg_context *test_context(void)
{
    clg_context *shared = shared_context();
    if (!shared || !current_gemm[0]) return shared;
    for (int i = 0; i < n_gemm_ctx; i++)
        if (!strcmp(gemm_ctx[i].gemm, current_gemm)) return gemm_ctx[i].ctx;
    if (n_gemm_ctx == MAX_GEMM_CONTEXTS) fail_msg("more than %d GEMM paths", MAX_GEMM_CONTEXTS);
    clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
    o.gemm = current_gemm;
    clg_context *ctx = NULL;
    if (clg_context_create_ex(&ctx, NULL, CLG_CONTEXT_PROFILING, &o, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context (gemm %s): %s\n", current_gemm, clg_context_errmsg(ctx));
        clg_context_destroy(ctx);
        fail_msg("cannot open the OpenCL device with gemm %s", current_gemm);
    }
    snprintf(gemm_ctx[n_gemm_ctx].gemm, sizeof gemm_ctx[n_gemm_ctx].gemm, "%s", current_gemm);
    gemm_ctx[n_gemm_ctx++].ctx = ctx;
    return ctx;
}

void test_context_release(void)
{
    clg_context_destroy(shared_ctx);
    shared_ctx = NULL;
    for (int i = 0; i < n_gemm_ctx; i++) clg_context_destroy(gemm_ctx[i].ctx);
    n_gemm_ctx = 0;
    current_gemm[0] = '\0';
}

int test_teardown(void **state)
{
    (void)state;
    test_context_release();
    return 0;
}

clg_graph *test_parse(const char *text)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_parse(g, text, strlen(text), NULL) != CLG_OK) {
        fprintf(stderr, "parse: %s\n--- text:\n%s\n", clg_graph_errmsg(g), text);
        clg_graph_destroy(g);
        fail_msg("test graph does not parse");
    }
    return g;
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* IEEE half bits to their value (the definition, not clgraph's code). */
static double half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, f = h & 0x3ff;
    double v = e == 0x1f ? (f ? NAN : INFINITY) : e ? ldexp(1024 + f, e - 25) : ldexp(f, -24);
    return h & 0x8000 ? -v : v;
}

/* k / 1024 (|k| < 1024) as half bits: exact, 10 fraction bits. */
static uint16_t half_of_1024ths(int k)
{
    unsigned m = (unsigned)(k < 0 ? -k : k);
    if (!m) return 0;
    int e = 0;
    while ((m >> (e + 1)) != 0) e++;
    return (uint16_t)((k < 0 ? 0x8000u : 0u) | (unsigned)(e + 5) << 10 | ((m << (10 - e)) & 0x3ffu));
}

/* Element k of t as a double, whatever its dtype. */
static double value_at(const clg_tensor *t, size_t k)
{
    switch (t->dtype) {
    case CLG_DTYPE_F16: return half_value(((const uint16_t *)t->data)[k]);
    case CLG_DTYPE_I64: return (double)((const int64_t *)t->data)[k];
    case CLG_DTYPE_I32: return (double)((const int32_t *)t->data)[k];
    case CLG_DTYPE_BOOL: return (double)((const uint8_t *)t->data)[k];
    default: return (double)t->data[k];
    }
}

static size_t elems(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    return n;
}

double test_device_error(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed)
{
    return test_device_error_at(ctx, g, batch, seed, CLG_OPT_DEFAULT);
}

double test_device_error_at(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed, int opt_level)
{
    return test_device_error_prec(ctx, g, batch, seed, opt_level, CLG_PRECISION_FP32, NULL, NULL, 0);
}

double test_device_error_prec(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed, int opt_level,
                              clg_precision precision, clg_status *refused, char *why, size_t size)
{
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor *in = calloc((size_t)n_in + 1, sizeof *in);
    clg_tensor *ref = calloc((size_t)n_out + 1, sizeof *ref);
    clg_tensor *dev = calloc((size_t)n_out + 1, sizeof *dev);
    assert_non_null(in);
    assert_non_null(ref);
    assert_non_null(dev);
    uint64_t state = seed * 2654435761u + 1;
    for (int i = 0; i < n_in; i++) {
        assert_int_equal(clg_graph_input_info(g, i, NULL, &in[i].rank, in[i].dims), CLG_OK);
        assert_int_equal(clg_graph_input_dtype(g, i, &in[i].dtype), CLG_OK);
        /* N is the batch; any other symbolic size (a sequence S) is
         * batch + 2, so the three batches of test_check_text give S = 3, 5
         * and 19. */
        for (int d = 0; d < in[i].rank; d++)
            if (in[i].dims[d] < 0) in[i].dims[d] = in[i].dims[d] == CLG_BATCH ? batch : batch + 2;
        size_t n = elems(in[i].rank, in[i].dims);
        in[i].data = malloc(n * clg_dtype_size(in[i].dtype));
        assert_non_null(in[i].data);
        for (size_t k = 0; k < n; k++) {
            uint64_t r = next_rand(&state);
            /* Integers in [-2, 2], bools 0 or 1: valid indices for any
             * gathered dimension of 2 or more. */
            switch (in[i].dtype) {
            case CLG_DTYPE_I64: ((int64_t *)in[i].data)[k] = (int64_t)(r % 5) - 2; break;
            case CLG_DTYPE_I32: ((int32_t *)in[i].data)[k] = (int32_t)(r % 5) - 2; break;
            case CLG_DTYPE_BOOL: ((uint8_t *)in[i].data)[k] = (uint8_t)(r & 1); break;
            /* halves in [-1, 1) on a grid of 1/1024 */
            case CLG_DTYPE_F16: ((uint16_t *)in[i].data)[k] = half_of_1024ths((int)(r % 2048) - 1024); break;
            default: in[i].data[k] = (float)r / 2147483648.0f * 2.0f - 1.0f;
            }
        }
    }
    for (int i = 0; i < n_out; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        if (clg_graph_output_shape(g, i, in, n_in, &rank, dims) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
        assert_int_equal(clg_graph_output_dtype(g, i, &ref[i].dtype), CLG_OK);
        dev[i].dtype = ref[i].dtype;
        size_t n = elems(rank, dims), size = clg_dtype_size(ref[i].dtype);
        ref[i].data = malloc(n * size);
        dev[i].data = malloc(n * size);
        assert_non_null(ref[i].data);
        assert_non_null(dev[i].data);
        if (dev[i].dtype == CLG_DTYPE_F32)
            for (size_t k = 0; k < n; k++) dev[i].data[k] = NAN; /* unwritten output shows */
        else
            memset(dev[i].data, 0x5a, n * size); /* so does an unwritten integer (0x5a5a...) */
    }
    if (clg_graph_run_reference(g, in, n_in, ref, n_out) != CLG_OK)
        fail_msg("reference: %s", clg_graph_errmsg(g));
    clg_model *m = NULL;
    clg_model_options options = CLG_MODEL_OPTIONS_INIT;
    options.opt_level = opt_level;
    options.precision = precision;
    clg_status created = clg_model_create_ex(&m, ctx, g, &options);
    double worst = 0.0;
    if (created != CLG_OK && refused) {
        *refused = created;
        snprintf(why, size, "%s", clg_model_errmsg(m));
        worst = -1.0;
    } else if (created != CLG_OK) {
        fail_msg("model: %s", clg_model_errmsg(m));
    }
    if (created == CLG_OK && clg_model_run(m, in, n_in, dev, n_out) != CLG_OK) fail_msg("run: %s", clg_model_errmsg(m));
    for (int i = 0; i < (created == CLG_OK ? n_out : 0); i++) {
        assert_int_equal(dev[i].rank, ref[i].rank);
        for (int d = 0; d < ref[i].rank; d++) assert_int_equal(dev[i].dims[d], ref[i].dims[d]);
        size_t n = elems(ref[i].rank, ref[i].dims);
        double scale = 1e-6, diff = 0.0;
        for (size_t k = 0; k < n; k++) {
            double r = value_at(&ref[i], k);
            if (fabs(r) > scale) scale = fabs(r);
            double d = fabs(value_at(&dev[i], k) - r);
            if (!(d <= diff)) diff = isnan(d) ? INFINITY : d;
        }
        if (diff / scale > worst) worst = diff / scale;
    }
    clg_model_destroy(m);
    for (int i = 0; i < n_in; i++) free(in[i].data);
    for (int i = 0; i < n_out; i++) {
        free(ref[i].data);
        free(dev[i].data);
    }
    free(in);
    free(ref);
    free(dev);
    return worst;
}

void test_check_text(const char *text, double tol)
{
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse(text);
    /* As written (each op by its own lowering) and optimised (what
     * clg_model_create runs). */
    static const int levels[] = {0, CLG_OPT_DEFAULT};
    static const int64_t batches[] = {1, 3, 17};
    for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
        for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
            double err = test_device_error_at(ctx, g, batches[i], (unsigned)(i + 1), levels[l]);
            if (!(err <= tol)) {
                clg_graph_destroy(g);
                fail_msg("-O%d, batch %lld: error %.3g > %.3g for\n%s", levels[l], (long long)batches[i], err, tol,
                         text);
            }
        }
    }
    clg_graph_destroy(g);
}

int test_launches_at(const char *text, int opt_level)
{
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse(text);
    clg_model *m = NULL;
    clg_model_options options = CLG_MODEL_OPTIONS_INIT;
    options.opt_level = opt_level;
    if (clg_model_create_ex(&m, ctx, g, &options) != CLG_OK) fail_msg("model: %s", clg_model_errmsg(m));
    clg_model_stats st;
    assert_int_equal(clg_model_stats_get(m, &st), CLG_OK);
    clg_model_destroy(m);
    clg_graph_destroy(g);
    return st.launches_per_inference;
}
