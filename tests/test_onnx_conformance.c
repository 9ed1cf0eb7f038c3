/* ONNX conformance: ONNX's own backend node tests (Debian libonnx-testdata,
 * /usr/share/libonnx-testdata/data/node/<test>/: model.onnx and
 * test_data_set_N/input_K.pb and output_K.pb, serialized TensorProtos).
 *
 * Every test is imported; one that needs an op, attribute or type clgraph
 * does not import is skipped (CLG_ERR_UNSUPPORTED). The others run on the
 * reference executor and, when there is an OpenCL device, compiled at
 * opt_level 0, 1 and 2 (clg_model_create_ex; clg_model_create's default is
 * one of them, so it is not run again), and must match the expected outputs within
 * |got - want| <= 1e-5 + 1e-3 |want| (ONNX's backend tests use rtol 1e-3).
 * FLOAT16 inputs are passed as clgraph's f16 (half bits) and FLOAT16
 * outputs compared as their float values with the same tolerance.
 * INT64, INT32 and BOOL expected outputs are compared exactly, and must come
 * back in that type (clgraph's i64, i32, bool), as ONNX's backend runner
 * also checks the dtype: an output whose values match but that clgraph gives
 * as f32 (its comparisons and logic compute f32) is skipped, naming both
 * types.
 *
 * Test inputs that a model exporter would have made constants (every
 * non-FLOAT input, Reshape's shape, Clip's bounds, Squeeze/Unsqueeze axes,
 * Slice's starts/ends/axes/steps, Split's split, Expand's shape, Tile's
 * repeats, Dropout's ratio and training_mode, Pad's pads, constant_value
 * and axes, Gather's indices, Resize's roi, scales and sizes, Upsample's
 * scales, Range's start, limit and delta) are moved into the model as initializers
 * holding the test's values before import.
 *
 * tests/onnx/expected_pass.txt lists the tests that must pass; any of them
 * failing or skipped fails this test. A test that passes without being
 * listed is reported so the list can grow.
 *
 * Environment: CLGRAPH_ONNX_TESTDATA (the node/ directory),
 * CLGRAPH_ONNX_FILTER (run only tests whose name contains it),
 * CLGRAPH_ONNX_WRITE_PASSING=FILE (write the names of passing tests),
 * CLGRAPH_ONNX_VERBOSE=1 (one line per test). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "device_check.h"
#include "onnx_internal.h"

#define DEFAULT_DATA "/usr/share/libonnx-testdata/data/node"
#define EXPECTED_LIST "tests/onnx/expected_pass.txt"
#define RTOL 1e-3
#define ATOL 1e-5
#define MAX_IO 16

typedef enum { PASS, FAIL, SKIP } outcome;

typedef struct result {
    char name[128];
    outcome outcome;
    char why[512];
} result;

/* ---------------------------------------------------------------- files */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) {
            buf[n] = '\0'; /* read_expected parses it as a string */
            break;
        }
        char *b = realloc(buf, cap *= 2);
        if (!b) {
            free(buf);
            buf = NULL;
        }
        buf = b;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in dir starting with prefix; the caller frees each and the array. */
static char **list_dir(const char *dir, const char *prefix, int *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, (size_t)cap * sizeof *names);
            assert_non_null(names);
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*count) qsort(names, (size_t)*count, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, int count)
{
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

/* Number of files dir/prefix0.pb, prefix1.pb, ... that exist. */
static int count_pb(const char *dir, const char *prefix)
{
    int n = 0;
    for (;; n++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s%d.pb", dir, prefix, n);
        if (stat(path, &st) != 0) return n;
    }
}

/* ---------------------------------------------------------------- the model */

/* Whether input `name` of the graph feeds an operand clgraph needs to be a
 * constant. */
static bool feeds_constant_slot(const Onnx__GraphProto *gr, const char *name)
{
    static const struct { const char *op; unsigned slots; } table[] = {
        {"Reshape", 1u << 1}, {"Clip", 3u << 1}, {"Unsqueeze", 1u << 1}, {"Squeeze", 1u << 1},
        {"Slice", 15u << 1}, {"Dropout", 3u << 1}, {"Gather", 1u << 1}, {"Pad", 7u << 1},
        {"Split", 1u << 1}, {"Expand", 1u << 1}, {"Tile", 1u << 1}, {"Resize", 7u << 1}, {"Upsample", 1u << 1},
        {"Range", 7u},
    };
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *n = gr->node[k];
        for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
            if (strcmp(n->op_type, table[t].op) != 0) continue;
            for (size_t i = 0; i < n->n_input && i < 16; i++)
                if ((table[t].slots >> i & 1) && strcmp(n->input[i], name) == 0) return true;
        }
    }
    return false;
}

static int32_t declared_type(const Onnx__GraphProto *gr, const char *name)
{
    for (size_t k = 0; k < gr->n_input; k++) {
        const Onnx__TypeProto *t = gr->input[k]->type;
        if (strcmp(gr->input[k]->name, name) == 0 && t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
            t->tensor_type)
            return t->tensor_type->elem_type;
    }
    return 0;
}

static bool is_initializer(const Onnx__GraphProto *gr, const char *name)
{
    for (size_t k = 0; k < gr->n_initializer; k++)
        if (gr->initializer[k]->name && strcmp(gr->initializer[k]->name, name) == 0) return true;
    return false;
}

/* One test data set: the model with the constant inputs folded in, the
 * remaining inputs and the expected outputs. */
typedef struct dataset {
    /* expected: F32 and F16 from clg_onnx_read_tensor, else malloc'd */
    clg_tensor inputs[MAX_IO], expected[MAX_IO];
    int n_inputs, n_expected;
    uint8_t *model; /* serialized */
    size_t model_len;
} dataset;

static void free_dataset(clg_graph *host, dataset *ds)
{
    for (int i = 0; i < ds->n_inputs; i++) clg_graph_free_tensor(host, &ds->inputs[i]);
    for (int i = 0; i < ds->n_expected; i++) {
        if (clg_dtype_is_float(ds->expected[i].dtype)) clg_graph_free_tensor(host, &ds->expected[i]);
        else free(ds->expected[i].data);
    }
    free(ds->model);
    memset(ds, 0, sizeof *ds);
}

/* An INT64, INT32 or BOOL TensorProto as a clg_tensor of i64, i32 or bool
 * elements (data malloc'd). 0, or SKIP / FAIL with why. */
static int read_typed(const Onnx__TensorProto *t, clg_tensor *out, int *rank0, char *why, size_t size)
{
    clg_dtype type = t->data_type == OX_INT64 ? CLG_DTYPE_I64 : t->data_type == OX_INT32 ? CLG_DTYPE_I32
                                                                                         : CLG_DTYPE_BOOL;
    if (t->n_dims > CLG_MAX_RANK) {
        snprintf(why, size, "an expected output of rank %zu", t->n_dims);
        return SKIP;
    }
    size_t n = 1;
    for (size_t k = 0; k < t->n_dims; k++) n *= (size_t)t->dims[k];
    *rank0 = t->n_dims == 0;
    if (n == 0) {
        snprintf(why, size, "an empty expected output");
        return SKIP;
    }
    size_t elem = clg_dtype_size(type);
    size_t have = t->has_raw_data ? t->raw_data.len / elem
                : type == CLG_DTYPE_I64 ? t->n_int64_data : t->n_int32_data;
    if (have != n) {
        snprintf(why, size, "an expected %s output holds %zu elements, its dims %zu", ox_dtype_name(t->data_type), have,
                 n);
        return FAIL;
    }
    uint8_t *data = malloc(n * elem);
    assert_non_null(data);
    for (size_t k = 0; k < n; k++) {
        if (t->has_raw_data) { /* little-endian */
            uint64_t v = 0;
            for (size_t b = 0; b < elem; b++) v |= (uint64_t)t->raw_data.data[k * elem + b] << (8 * b);
            if (type == CLG_DTYPE_I64) ((int64_t *)data)[k] = (int64_t)v;
            else if (type == CLG_DTYPE_I32) ((int32_t *)data)[k] = (int32_t)(uint32_t)v;
            else data[k] = v != 0;
        } else if (type == CLG_DTYPE_I64) {
            ((int64_t *)data)[k] = t->int64_data[k];
        } else if (type == CLG_DTYPE_I32) {
            ((int32_t *)data)[k] = t->int32_data[k];
        } else {
            data[k] = t->int32_data[k] != 0;
        }
    }
    memset(out, 0, sizeof *out);
    out->data = (float *)(void *)data;
    out->dtype = type;
    out->rank = t->n_dims ? (int)t->n_dims : 1;
    out->dims[0] = 1;
    for (size_t k = 0; k < t->n_dims; k++) out->dims[k] = t->dims[k];
    return 0;
}

/* Builds ds from the parsed model and the data set directory. Returns 0, or
 * writes why it cannot and returns SKIP / FAIL. */
static int load_dataset(clg_graph *host, Onnx__ModelProto *m, const char *dir, dataset *ds, char *why, size_t size)
{
    Onnx__GraphProto *gr = m->graph;
    int n_in = count_pb(dir, "input_"), n_out = count_pb(dir, "output_");
    if (n_out > MAX_IO || n_in > MAX_IO) {
        snprintf(why, size, "more than %d inputs or outputs", MAX_IO);
        return SKIP;
    }
    /* Graph inputs in order, without those that have an initializer. */
    const char *names[MAX_IO];
    int n_names = 0;
    for (size_t k = 0; k < gr->n_input && n_names < MAX_IO; k++)
        if (!is_initializer(gr, gr->input[k]->name)) names[n_names++] = gr->input[k]->name;
    if (n_names != n_in) {
        snprintf(why, size, "%d graph inputs but %d input files", n_names, n_in);
        return FAIL;
    }
    Onnx__TensorProto *folded[MAX_IO];
    int n_folded = 0, rc = 0;
    for (int i = 0; i < n_in && !rc; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, i);
        size_t len;
        char *bytes = read_all(path, &len);
        assert_non_null(bytes);
        Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)bytes);
        if (!t) {
            snprintf(why, size, "input_%d.pb is not a TensorProto", i);
            rc = FAIL;
        } else if (t->has_data_type && t->data_type != declared_type(gr, names[i])) {
            snprintf(why, size, "input %d holds %s, the model declares %s", i, ox_dtype_name(t->data_type),
                     ox_dtype_name(declared_type(gr, names[i])));
            onnx__tensor_proto__free_unpacked(t, NULL);
            rc = SKIP;
        } else if ((t->has_data_type && t->data_type != OX_FLOAT && t->data_type != OX_FLOAT16) ||
                   feeds_constant_slot(gr, names[i])) {
            /* An initializer with the input's name and the test's value. */
            free(t->name);
            t->name = strdup(names[i]);
            folded[n_folded++] = t;
        } else {
            int rank0 = 0;
            clg_status s = clg_onnx_read_tensor(host, bytes, len, &ds->inputs[ds->n_inputs], &rank0);
            onnx__tensor_proto__free_unpacked(t, NULL);
            if (s) {
                snprintf(why, size, "input %d: %s", i, clg_graph_errmsg(host));
                rc = s == CLG_ERR_UNSUPPORTED ? SKIP : FAIL;
            } else {
                ds->n_inputs++;
            }
        }
        free(bytes);
    }
    for (int i = 0; i < n_out && !rc; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/output_%d.pb", dir, i);
        size_t len;
        char *bytes = read_all(path, &len);
        assert_non_null(bytes);
        int rank0 = 0;
        Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)bytes);
        bool typed = t && t->has_data_type &&
                     (t->data_type == OX_INT64 || t->data_type == OX_INT32 || t->data_type == OX_BOOL);
        if (typed) {
            rc = read_typed(t, &ds->expected[i], &rank0, why, size);
            onnx__tensor_proto__free_unpacked(t, NULL);
            free(bytes);
            if (!rc && rank0) {
                snprintf(why, size, "expected output %d: a scalar", i);
                free(ds->expected[i].data);
                rc = SKIP;
            }
            if (rc) break;
            ds->n_expected++;
            continue;
        }
        if (t) onnx__tensor_proto__free_unpacked(t, NULL);
        clg_status s = clg_onnx_read_tensor(host, bytes, len, &ds->expected[i], &rank0);
        free(bytes);
        if (s || rank0) {
            snprintf(why, size, "expected output %d: %s", i, s ? clg_graph_errmsg(host) : "a scalar");
            rc = s == CLG_ERR_UNSUPPORTED || rank0 ? SKIP : FAIL;
            if (!s) clg_graph_free_tensor(host, &ds->expected[i]);
            break;
        }
        ds->n_expected++;
    }
    if (!rc) {
        /* The model with the folded inputs appended to its initializers. */
        size_t n_init = gr->n_initializer;
        Onnx__TensorProto **saved = gr->initializer;
        Onnx__TensorProto **all = malloc((n_init + (size_t)n_folded + 1) * sizeof *all);
        assert_non_null(all);
        if (n_init) memcpy(all, saved, n_init * sizeof *all);
        for (int i = 0; i < n_folded; i++) all[n_init + (size_t)i] = folded[i];
        gr->initializer = all;
        gr->n_initializer = n_init + (size_t)n_folded;
        ds->model_len = onnx__model_proto__get_packed_size(m);
        ds->model = malloc(ds->model_len + 1);
        assert_non_null(ds->model);
        onnx__model_proto__pack(m, ds->model);
        gr->initializer = saved;
        gr->n_initializer = n_init;
        free(all);
    }
    for (int i = 0; i < n_folded; i++) onnx__tensor_proto__free_unpacked(folded[i], NULL);
    return rc;
}

/* ---------------------------------------------------------------- comparing */

/* Element k of t as a double, whatever its dtype. */
static double value_at(const clg_tensor *t, size_t k)
{
    switch (t->dtype) {
    case CLG_DTYPE_I64: return (double)((const int64_t *)(const void *)t->data)[k];
    case CLG_DTYPE_I32: return (double)((const int32_t *)(const void *)t->data)[k];
    case CLG_DTYPE_BOOL: return (double)((const uint8_t *)(const void *)t->data)[k];
    case CLG_DTYPE_F16: return clg_half_to_float(((const uint16_t *)(const void *)t->data)[k]);
    default: return t->data[k];
    }
}

/* Compares outputs with the expected ones: floats within the tolerance,
 * integers and bools exactly, then the types. 0, or FAIL / SKIP with why. */
static int compare(const clg_tensor *got, const dataset *ds, const char *where, char *why, size_t size)
{
    int rc = 0;
    for (int i = 0; i < ds->n_expected; i++) {
        const clg_tensor *e = &ds->expected[i], *g = &got[i];
        bool same = e->rank == g->rank;
        for (int k = 0; same && k < e->rank; k++) same = e->dims[k] == g->dims[k];
        if (!same) {
            snprintf(why, size, "%s: output %d has rank %d dims [%lld, ...], expected rank %d [%lld, ...]", where, i,
                     g->rank, (long long)g->dims[0], e->rank, (long long)e->dims[0]);
            return FAIL;
        }
        size_t n = 1;
        for (int k = 0; k < e->rank; k++) n *= (size_t)e->dims[k];
        bool exact = !clg_dtype_is_float(e->dtype);
        for (size_t k = 0; k < n; k++) {
            double want = value_at(e, k), have = value_at(g, k);
            if (isnan(want) && isnan(have)) continue;
            if (want == have) continue; /* infinities */
            if (!exact && fabs(have - want) <= ATOL + RTOL * fabs(want)) continue;
            snprintf(why, size, "%s: output %d element %zu is %.17g, expected %.17g", where, i, k, have, want);
            return FAIL;
        }
        if (e->dtype != g->dtype && !rc) {
            snprintf(why, size, "%s: output %d has the expected values but is %s; ONNX gives %s", where, i,
                     clg_dtype_name(g->dtype), clg_dtype_name(e->dtype));
            rc = SKIP;
        }
    }
    return rc;
}

static void alloc_outputs(clg_graph *g, const dataset *ds, clg_tensor *out)
{
    for (int i = 0; i < ds->n_expected; i++) {
        size_t n = 1;
        for (int k = 0; k < ds->expected[i].rank; k++) n *= (size_t)ds->expected[i].dims[k];
        /* Room for whatever the graph computes: at least the expected size,
         * and the graph's own output size. */
        int64_t batch = 1;
        for (int j = 0; j < ds->n_inputs; j++) {
            int rank;
            int64_t dims[CLG_MAX_RANK];
            if (clg_graph_input_info(g, j, NULL, &rank, dims) == CLG_OK && dims[0] == CLG_BATCH)
                batch = ds->inputs[j].dims[0];
        }
        int rank;
        int64_t dims[CLG_MAX_RANK];
        if (clg_graph_output_info(g, i, batch, NULL, &rank, dims) == CLG_OK) {
            size_t m = 1;
            for (int k = 0; k < rank; k++) m *= (size_t)dims[k];
            if (m > n) n = m;
        }
        /* room for the widest element type */
        out[i].data = calloc(n + 1, sizeof(int64_t));
        assert_non_null(out[i].data);
        assert_int_equal(clg_graph_output_dtype(g, i, &out[i].dtype), CLG_OK);
    }
}

static void free_outputs(clg_tensor *out, int n)
{
    for (int i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

/* ---------------------------------------------------------------- one test */

static int device_runs;

static int run_dataset(clg_graph *g, const dataset *ds, clg_context *ctx, char *why, size_t size)
{
    /* A few tests' data do not match their own model (test_castlike_*_expanded
     * feeds a [1] where [3, 4] is declared). */
    for (int i = 0; i < ds->n_inputs; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_input_info(g, i, NULL, &rank, dims), CLG_OK);
        bool same = rank == ds->inputs[i].rank;
        for (int k = 0; same && k < rank; k++) same = dims[k] == CLG_BATCH || dims[k] == ds->inputs[i].dims[k];
        if (!same) {
            snprintf(why, size, "the data of input %d does not have the model's declared shape", i);
            return SKIP;
        }
    }
    if (clg_graph_output_count(g) != ds->n_expected) {
        snprintf(why, size, "%d outputs, %d expected", clg_graph_output_count(g), ds->n_expected);
        return FAIL;
    }
    clg_tensor out[MAX_IO];
    memset(out, 0, sizeof out);
    alloc_outputs(g, ds, out);
    int rc = 0;
    if (clg_graph_run_reference(g, ds->inputs, ds->n_inputs, out, ds->n_expected) != CLG_OK) {
        snprintf(why, size, "reference: %s", clg_graph_errmsg(g));
        rc = FAIL;
    }
    if (!rc) rc = compare(out, ds, "reference", why, size);
    /* opt levels 0, 1, 2 and the default (-1); the default is skipped when
     * it is one of the levels already run. */
    for (int level = 0; level <= 3 && !rc && ctx; level++) {
        int opt = level == 3 ? -1 : level;
        if (opt < 0 && CLG_OPT_DEFAULT >= 0 && CLG_OPT_DEFAULT <= 2) continue;
        clg_model *m = NULL;
        clg_model_options o = CLG_MODEL_OPTIONS_INIT;
        o.opt_level = opt;
        clg_status s = opt < 0 ? clg_model_create(&m, ctx, g) : clg_model_create_ex(&m, ctx, g, &o);
        char where[32];
        snprintf(where, sizeof where, opt < 0 ? "device (default)" : "device -O%d", opt);
        if (s) {
            snprintf(why, size, "%s: create: %s", where, clg_model_errmsg(m));
            clg_model_destroy(m);
            rc = FAIL;
            break;
        }
        free_outputs(out, ds->n_expected);
        alloc_outputs(g, ds, out);
        device_runs++;
        if (clg_model_run(m, ds->inputs, ds->n_inputs, out, ds->n_expected) != CLG_OK) {
            snprintf(why, size, "%s: run: %s", where, clg_model_errmsg(m));
            rc = FAIL;
        }
        if (!rc) rc = compare(out, ds, where, why, size);
        clg_model_destroy(m);
    }
    free_outputs(out, ds->n_expected);
    return rc;
}

static void run_one(const char *root, const char *name, clg_context *ctx, result *r)
{
    snprintf(r->name, sizeof r->name, "%s", name);
    r->outcome = PASS;
    r->why[0] = '\0';
    char dir[2048], path[2200];
    if (strlen(root) + strlen(name) > 900) {
        r->outcome = SKIP;
        snprintf(r->why, sizeof r->why, "path too long");
        return;
    }
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    size_t len;
    char *bytes = read_all(path, &len);
    if (!bytes) {
        r->outcome = SKIP;
        snprintf(r->why, sizeof r->why, "no model.onnx");
        return;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)bytes);
    free(bytes);
    if (!m || !m->graph) {
        r->outcome = FAIL;
        snprintf(r->why, sizeof r->why, "model.onnx does not parse");
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return;
    }
    clg_graph *host = NULL;
    assert_int_equal(clg_graph_create(&host, NULL, NULL), CLG_OK);
    int n_sets = 0;
    char **sets = list_dir(dir, "test_data_set_", &n_sets);
    if (!n_sets) {
        r->outcome = SKIP;
        snprintf(r->why, sizeof r->why, "no test data");
    }
    for (int k = 0; k < n_sets && r->outcome == PASS; k++) {
        char set_dir[2400];
        snprintf(set_dir, sizeof set_dir, "%s/%.300s", dir, sets[k]);
        dataset ds = {0};
        int rc = load_dataset(host, m, set_dir, &ds, r->why, sizeof r->why);
        if (!rc) {
            clg_graph *g = NULL;
            assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
            clg_status s = clg_graph_parse_onnx(g, ds.model, ds.model_len);
            if (s) {
                snprintf(r->why, sizeof r->why, "import: %s", clg_graph_errmsg(g));
                rc = s == CLG_ERR_UNSUPPORTED ? SKIP : FAIL;
            } else {
                rc = run_dataset(g, &ds, ctx, r->why, sizeof r->why);
            }
            clg_graph_destroy(g);
        }
        if (rc) r->outcome = (outcome)rc;
        free_dataset(host, &ds);
    }
    free_list(sets, n_sets);
    clg_graph_destroy(host);
    onnx__model_proto__free_unpacked(m, NULL);
}

/* ---------------------------------------------------------------- the list */

static bool in_list(char **list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0) return true;
    return false;
}

static char **read_expected(int *count)
{
    *count = 0;
    size_t len;
    char *text = read_all(EXPECTED_LIST, &len);
    if (!text) return NULL;
    char **list = NULL;
    int cap = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t') line++;
        if (!*line || *line == '#') continue;
        char *end = line + strlen(line);
        while (end > line && (end[-1] == ' ' || end[-1] == '\r')) *--end = '\0';
        if (*count == cap) {
            cap = cap ? cap * 2 : 64;
            list = realloc(list, (size_t)cap * sizeof *list);
            assert_non_null(list);
        }
        list[(*count)++] = strdup(line);
    }
    free(text);
    return list;
}

static void conformance(void **state)
{
    (void)state;
    const char *root = getenv("CLGRAPH_ONNX_TESTDATA");
    if (!root || !*root) root = DEFAULT_DATA;
    const char *filter = getenv("CLGRAPH_ONNX_FILTER");
    const char *verbose = getenv("CLGRAPH_ONNX_VERBOSE");
    int n_tests = 0;
    char **tests = list_dir(root, "test_", &n_tests);
    if (!n_tests) {
        print_message("no ONNX node tests in %s (install libonnx-testdata); skipping\n", root);
        skip();
    }
    int n_expected = 0;
    char **expected = read_expected(&n_expected);
    if (!expected) fail_msg("cannot read %s (run from the source directory, as ctest does)", EXPECTED_LIST);
    clg_context *ctx = test_context();
    if (!ctx) print_message("no OpenCL device: the reference executor only\n");
    result *results = calloc((size_t)n_tests, sizeof *results);
    assert_non_null(results);
    int counts[3] = {0}, ran = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n_tests; i++) {
        if (filter && *filter && !strstr(tests[i], filter)) continue;
        result *r = &results[ran++];
        run_one(root, tests[i], ctx, r);
        counts[r->outcome]++;
        if (verbose && *verbose)
            print_message("%-60s %s %s\n", r->name, r->outcome == PASS ? "pass" : r->outcome == FAIL ? "FAIL" : "skip",
                          r->why);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    int bad = 0, unlisted = 0;
    for (int i = 0; i < ran; i++) {
        const result *r = &results[i];
        bool listed = in_list(expected, n_expected, r->name);
        if (r->outcome != PASS && listed) {
            print_message("EXPECTED TO PASS: %s: %s%s\n", r->name, r->outcome == SKIP ? "skipped: " : "", r->why);
            bad++;
        } else if (r->outcome == FAIL) {
            print_message("failed (not listed): %s: %s\n", r->name, r->why);
        } else if (r->outcome == PASS && !listed) {
            print_message("passes but is not in %s: %s\n", EXPECTED_LIST, r->name);
            unlisted++;
        }
    }
    const char *write = getenv("CLGRAPH_ONNX_WRITE_PASSING");
    if (write && *write) {
        FILE *f = fopen(write, "w");
        assert_non_null(f);
        for (int i = 0; i < ran; i++)
            if (results[i].outcome == PASS) fprintf(f, "%s\n", results[i].name);
        fclose(f);
    }
    print_message("ONNX node tests: %d passed, %d failed, %d skipped (%d run, %d listed in %s, %d passing but "
                  "unlisted; %d device runs) in %.1f s%s\n",
                  counts[PASS], counts[FAIL], counts[SKIP], ran, n_expected, EXPECTED_LIST, unlisted, device_runs,
                  (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
                  ctx ? "" : " (reference executor only)");
    free(results);
    free_list(tests, n_tests);
    free_list(expected, n_expected);
    test_context_release();
    if (bad) fail_msg("%d tests of %s did not pass", bad, EXPECTED_LIST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(conformance)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
