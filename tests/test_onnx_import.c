/* The ONNX importer without a device: models built here with the generated
 * protobuf-c bindings, imported, inspected and run on the reference
 * executor; every error path with its exact status and message; truncated
 * and mutated files; out-of-memory at every allocation; clg_graph_load's
 * detection and the CLI on an .onnx file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "device_check.h"
#include "ir.h"
#include "onnx.pb-c.h"

#define FIXTURE "tests/onnx/mlp_batch.onnx"

/* ================================================================ a model builder */

#define CAP 256

typedef struct mb {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[2];
    void **owned;
    int n_owned, cap_owned;
} mb;

static void *own(mb *b, void *p)
{
    assert_non_null(p);
    if (b->n_owned == b->cap_owned) {
        b->cap_owned = b->cap_owned ? 2 * b->cap_owned : 256;
        b->owned = realloc(b->owned, (size_t)b->cap_owned * sizeof *b->owned);
        assert_non_null(b->owned);
    }
    return b->owned[b->n_owned++] = p;
}

static void *mb_alloc(mb *b, size_t size) { return own(b, calloc(1, size)); }
static char *mb_str(mb *b, const char *s) { return own(b, strdup(s)); }

static void mb_init(mb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.producer_name = "test_onnx_import";
    onnx__graph_proto__init(&b->graph);
    b->graph.name = "g";
    b->model.graph = &b->graph;
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = opset;
    b->opsets[0] = &b->opset;
    b->model.opset_import = b->opsets;
    b->model.n_opset_import = 1;
    b->graph.node = mb_alloc(b, CAP * sizeof *b->graph.node);
    b->graph.input = mb_alloc(b, CAP * sizeof *b->graph.input);
    b->graph.output = mb_alloc(b, CAP * sizeof *b->graph.output);
    b->graph.initializer = mb_alloc(b, CAP * sizeof *b->graph.initializer);
}

static void mb_free(mb *b)
{
    for (int i = b->n_owned - 1; i >= 0; i--) free(b->owned[i]);
    free(b->owned);
}

/* A tensor ValueInfo; dims < 0 are dim_param "batch"; rank < 0: no shape. */
static Onnx__ValueInfoProto *mb_vi(mb *b, const char *name, int32_t elem, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = mb_alloc(b, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = mb_str(b, name);
    Onnx__TypeProto *t = mb_alloc(b, sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->type = t;
    if (rank < 0) return v;
    Onnx__TensorShapeProto *sh = mb_alloc(b, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)rank;
    sh->dim = mb_alloc(b, (size_t)(rank + 1) * sizeof *sh->dim);
    for (int k = 0; k < rank; k++) {
        Onnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[k] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = mb_str(b, dims[k] == -2 ? "seq" : "batch");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[k];
        }
        sh->dim[k] = d;
    }
    tt->shape = sh;
    return v;
}

static void mb_input_t(mb *b, const char *name, int32_t elem, int rank, const int64_t *dims)
{
    b->graph.input[b->graph.n_input++] = mb_vi(b, name, elem, rank, dims);
}

static void mb_input(mb *b, const char *name, int rank, const int64_t *dims)
{
    mb_input_t(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
}

static void mb_output_t(mb *b, const char *name, int32_t elem)
{
    b->graph.output[b->graph.n_output++] = mb_vi(b, name, elem, -1, NULL);
}

static void mb_output(mb *b, const char *name) { mb_output_t(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT); }

static Onnx__TensorProto *mb_tensor(mb *b, const char *name, int32_t dtype, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = mb_alloc(b, sizeof *t);
    onnx__tensor_proto__init(t);
    if (name) t->name = mb_str(b, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = mb_alloc(b, (size_t)(rank + 1) * sizeof *t->dims);
    for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
    return t;
}

static size_t count_of(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < rank; k++) n *= (size_t)dims[k];
    return n;
}

/* A FLOAT tensor, in raw_data (little-endian bytes) or float_data. */
static Onnx__TensorProto *mb_tensor_f(mb *b, const char *name, int rank, const int64_t *dims, const float *data,
                                      bool raw)
{
    Onnx__TensorProto *t = mb_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    size_t n = count_of(rank, dims);
    if (raw) {
        uint8_t *bytes = mb_alloc(b, 4 * n + 1);
        for (size_t k = 0; k < n; k++) {
            uint32_t u;
            memcpy(&u, &data[k], 4);
            for (int j = 0; j < 4; j++) bytes[4 * k + (size_t)j] = (uint8_t)(u >> (8 * j));
        }
        t->has_raw_data = 1;
        t->raw_data.data = bytes;
        t->raw_data.len = 4 * n;
    } else {
        t->n_float_data = n;
        t->float_data = mb_alloc(b, (n + 1) * sizeof(float));
        memcpy(t->float_data, data, n * sizeof(float));
    }
    return t;
}

static Onnx__TensorProto *mb_tensor_i64(mb *b, const char *name, int rank, const int64_t *dims, const int64_t *data)
{
    Onnx__TensorProto *t = mb_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, dims);
    size_t n = count_of(rank, dims);
    t->n_int64_data = n;
    t->int64_data = mb_alloc(b, (n + 1) * sizeof(int64_t));
    memcpy(t->int64_data, data, n * sizeof(int64_t));
    return t;
}

static void mb_init_f(mb *b, const char *name, int rank, const int64_t *dims, const float *data, bool raw)
{
    b->graph.initializer[b->graph.n_initializer++] = mb_tensor_f(b, name, rank, dims, data, raw);
}

static void mb_init_i64(mb *b, const char *name, int rank, const int64_t *dims, const int64_t *data)
{
    b->graph.initializer[b->graph.n_initializer++] = mb_tensor_i64(b, name, rank, dims, data);
}

/* ---- attributes */

static Onnx__AttributeProto *attr(mb *b, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = mb_str(b, name);
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__AttributeProto *A_i(mb *b, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
    return a;
}

static Onnx__AttributeProto *A_f(mb *b, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
    return a;
}

static Onnx__AttributeProto *A_ints(mb *b, const char *name, int n, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)n;
    a->ints = mb_alloc(b, (size_t)(n + 1) * sizeof *a->ints);
    memcpy(a->ints, v, (size_t)n * sizeof *v);
    return a;
}

static Onnx__AttributeProto *A_s(mb *b, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)mb_str(b, v);
    a->s.len = strlen(v);
    return a;
}

static Onnx__AttributeProto *A_t(mb *b, const char *name, Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a = attr(b, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
    return a;
}

/* Splits "a,b,,c" into owned strings (empty entries kept). */
static char **split(mb *b, const char *list, size_t *n)
{
    *n = 0;
    char **out = mb_alloc(b, 64 * sizeof *out);
    if (!*list) return out;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = mb_alloc(b, len + 1);
        memcpy(s, p, len);
        out[(*n)++] = s;
        if (!e) break;
        p = e + 1;
    }
    return out;
}

/* A node: inputs and outputs are comma-separated names; then n_attrs
 * attributes. */
static Onnx__NodeProto *mb_node(mb *b, const char *op, const char *name, const char *inputs, const char *outputs,
                                int n_attrs, ...)
{
    Onnx__NodeProto *n = mb_alloc(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = mb_str(b, op);
    if (name) n->name = mb_str(b, name);
    n->input = split(b, inputs, &n->n_input);
    n->output = split(b, outputs, &n->n_output);
    n->attribute = mb_alloc(b, (size_t)(n_attrs + 1) * sizeof *n->attribute);
    va_list ap;
    va_start(ap, n_attrs);
    for (int i = 0; i < n_attrs; i++) n->attribute[i] = va_arg(ap, Onnx__AttributeProto *);
    va_end(ap);
    n->n_attribute = (size_t)n_attrs;
    b->graph.node[b->graph.n_node++] = n;
    return n;
}

/* A Constant node holding an INT64 vector (or a scalar when rank is 0). */
static void mb_const_i64(mb *b, const char *out, int rank, int64_t count, const int64_t *v)
{
    int64_t dims[1] = {count};
    mb_node(b, "Constant", NULL, "", out, 1, A_t(b, "value", mb_tensor_i64(b, NULL, rank, dims, v)));
}

static void mb_const_f(mb *b, const char *out, float v)
{
    mb_node(b, "Constant", NULL, "", out, 1, A_t(b, "value", mb_tensor_f(b, NULL, 0, NULL, &v, true)));
}

static uint8_t *mb_pack(mb *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(onnx__model_proto__pack(&b->model, buf), *len);
    return buf;
}

/* Imports b's model; returns the graph (destroy it) and checks the status
 * and, when want_msg is not NULL, that the message contains it. */
static clg_graph *import_want(mb *b, clg_status want, const char *want_msg)
{
    size_t len;
    uint8_t *bytes = mb_pack(b, &len);
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    clg_status s = clg_graph_parse_onnx(g, bytes, len);
    free(bytes);
    if (s != want)
        fail_msg("import: status %s (%s), expected %s", clg_status_string(s), clg_graph_errmsg(g),
                 clg_status_string(want));
    if (want_msg && !strstr(clg_graph_errmsg(g), want_msg))
        fail_msg("import: message \"%s\" lacks \"%s\"", clg_graph_errmsg(g), want_msg);
    if (s) {
        assert_int_equal(clg_graph_node_count(g), 0);
        assert_int_equal(clg_graph_output_count(g), 0);
    } else {
        assert_string_equal(clg_graph_errmsg(g), "");
    }
    return g;
}

static clg_graph *import_ok(mb *b) { return import_want(b, CLG_OK, NULL); }

static void expect_error(mb *b, clg_status want, const char *msg)
{
    clg_graph *g = import_want(b, want, msg);
    clg_graph_destroy(g);
    mb_free(b);
}

/* ---- inspecting the result */

static const clg_node *find_node(clg_graph *g, const char *name)
{
    int i = clg_find_value(g, name);
    if (i < 0) fail_msg("no node named %s", name);
    return &g->nodes[i];
}

static int count_op(const clg_graph *g, clg_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

/* Runs g on the reference with one input; out gets room for count floats. */
static void run1(clg_graph *g, const float *x, int rank, const int64_t *dims, float *out, clg_tensor *y)
{
    clg_tensor in = {(float *)x, rank, {0}, CLG_DTYPE_F32};
    for (int k = 0; k < rank; k++) in.dims[k] = dims[k];
    y->data = out;
    clg_status s = clg_graph_run_reference(g, &in, 1, y, 1);
    if (s) fail_msg("reference: %s", clg_graph_errmsg(g));
}

static void assert_close(const float *got, const double *want, size_t n, double tol)
{
    for (size_t k = 0; k < n; k++)
        if (fabs(got[k] - want[k]) > tol * (1 + fabs(want[k])))
            fail_msg("element %zu: got %.9g, want %.9g", k, got[k], want[k]);
}

/* ================================================================ models */

static const float W1[3 * 4] = {0.5f, -1, 0.25f, 2, 1, 1, -0.5f, 0, -2, 0.75f, 1.5f, -1};
static const float B1[3] = {0.1f, -0.2f, 0.3f};
static const float W2[3 * 2] = {1, -1, 0.5f, 2, -1.5f, 0.25f};
static const float B2[2] = {0.05f, -0.05f};

/* y = Softmax(Relu(x W1^T + b1) W2 + b2) with x [batch, 4]; PyTorch-style
 * names ("onnx::Gemm_1", "/fc1/Gemm_output_0"). */
static void build_mlp(mb *b)
{
    mb_init(b, 13);
    int64_t x[2] = {-1, 4}, w1[2] = {3, 4}, b1[1] = {3}, w2[2] = {3, 2}, b2[1] = {2};
    mb_input(b, "input", 2, x);
    mb_init_f(b, "onnx::Gemm_1", 2, w1, W1, true);
    mb_init_f(b, "fc1.bias", 1, b1, B1, false);
    mb_init_f(b, "onnx::MatMul_2", 2, w2, W2, true);
    mb_init_f(b, "fc2.bias", 1, b2, B2, false);
    mb_node(b, "Gemm", "/fc1/Gemm", "input,onnx::Gemm_1,fc1.bias", "/fc1/Gemm_output_0", 2, A_f(b, "alpha", 1.0f),
            A_i(b, "transB", 1));
    mb_node(b, "Relu", "/act/Relu", "/fc1/Gemm_output_0", "/act/Relu_output_0", 0);
    mb_node(b, "MatMul", "/fc2/MatMul", "/act/Relu_output_0,onnx::MatMul_2", "/fc2/MatMul_output_0", 0);
    mb_node(b, "Add", "/fc2/Add", "fc2.bias,/fc2/MatMul_output_0", "logits", 0);
    mb_node(b, "Softmax", "/Softmax", "logits", "probs", 1, A_i(b, "axis", 1));
    mb_output(b, "probs");
}

static void mlp_expected(const float *x, int64_t batch, double *y)
{
    for (int64_t r = 0; r < batch; r++) {
        double h[3], l[2];
        for (int j = 0; j < 3; j++) {
            double s = B1[j];
            for (int k = 0; k < 4; k++) s += (double)x[r * 4 + k] * W1[j * 4 + k];
            h[j] = s > 0 ? s : 0;
        }
        for (int j = 0; j < 2; j++) {
            l[j] = B2[j];
            for (int k = 0; k < 3; k++) l[j] += h[k] * W2[k * 2 + j];
        }
        double m = l[0] > l[1] ? l[0] : l[1], z = exp(l[0] - m) + exp(l[1] - m);
        for (int j = 0; j < 2; j++) y[r * 2 + j] = exp(l[j] - m) / z;
    }
}

static void test_mlp_dynamic_batch(void **state)
{
    (void)state;
    mb b;
    build_mlp(&b);
    clg_graph *g = import_ok(&b);
    assert_int_equal(clg_graph_input_count(g), 1);
    const char *name;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_input_info(g, 0, &name, &rank, dims), CLG_OK);
    assert_string_equal(name, "input");
    assert_int_equal(rank, 2);
    assert_int_equal(dims[0], CLG_BATCH);
    assert_int_equal(dims[1], 4);
    assert_int_equal(clg_graph_output_info(g, 0, 5, &name, &rank, dims), CLG_OK);
    assert_string_equal(name, "probs");
    assert_int_equal(dims[0], 5);
    assert_int_equal(dims[1], 2);
    /* Names mapped: ':' becomes '_'. */
    assert_int_equal(find_node(g, "onnx__Gemm_1")->op, CLG_OP_CONSTANT);
    assert_int_equal(find_node(g, "/fc1/Gemm_output_0")->op, CLG_OP_GEMM);
    assert_int_equal(find_node(g, "/fc1/Gemm_output_0")->attrs.trans_b, 1);
    assert_int_equal(find_node(g, "probs")->op, CLG_OP_SOFTMAX);
    assert_int_equal(find_node(g, "probs")->attrs.axis, 1);

    float x[5 * 4], y[5 * 2];
    double want[5 * 2];
    for (int k = 0; k < 20; k++) x[k] = (float)((k * 37 % 11) - 5) * 0.3f;
    int64_t xd[2] = {5, 4};
    clg_tensor out = {0};
    run1(g, x, 2, xd, y, &out);
    mlp_expected(x, 5, want);
    assert_close(y, want, 10, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* The checked-in fixture is exactly what build_mlp packs (regenerate with
 * CLGRAPH_ONNX_REGEN=1), and it loads through clg_graph_load by extension. */
static void test_fixture(void **state)
{
    (void)state;
    mb b;
    build_mlp(&b);
    size_t len;
    uint8_t *bytes = mb_pack(&b, &len);
    if (getenv("CLGRAPH_ONNX_REGEN")) {
        FILE *f = fopen(FIXTURE, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, len, f), len);
        fclose(f);
    }
    FILE *f = fopen(FIXTURE, "rb");
    assert_non_null(f);
    uint8_t *file = malloc(len + 16);
    size_t got = fread(file, 1, len + 16, f);
    fclose(f);
    assert_int_equal(got, len);
    assert_memory_equal(file, bytes, len);
    free(file);
    free(bytes);
    mb_free(&b);

    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_load(g, FIXTURE), CLG_OK);
    assert_int_equal(clg_graph_output_count(g), 1);
    clg_graph_destroy(g);
}

/* ---- PyTorch's dynamic-batch shape plumbing */

/* x.view(x.size(0), -1) and x.view(x.size(0), x.size(2) * x.size(3), -1)
 * and a Slice of the shape, as the exporter writes them. */
static void test_batch_plumbing(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    int64_t xd[4] = {-1, 2, 3, 4};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Shape", "/Shape", "x", "s", 0);
    mb_const_i64(&b, "c0", 0, 1, (int64_t[]){0});
    mb_node(&b, "Gather", "/Gather", "s,c0", "n", 1, A_i(&b, "axis", 0));
    mb_const_i64(&b, "axes0", 1, 1, (int64_t[]){0});
    mb_node(&b, "Unsqueeze", "/Unsqueeze", "n,axes0", "n1", 0);
    mb_const_i64(&b, "minus1", 1, 1, (int64_t[]){-1});
    mb_node(&b, "Concat", "/Concat", "n1,minus1", "shape_a", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Reshape", "/Reshape", "x,shape_a", "flat", 0);
    /* [N, 3*4, -1] through Gather, Mul, Cast and Div */
    mb_const_i64(&b, "c2", 0, 1, (int64_t[]){2});
    mb_const_i64(&b, "c3", 0, 1, (int64_t[]){3});
    mb_node(&b, "Gather", NULL, "s,c2", "d2", 0);
    mb_node(&b, "Gather", NULL, "s,c3", "d3", 0);
    mb_node(&b, "Mul", NULL, "d2,d3", "d23", 0);
    mb_node(&b, "Cast", NULL, "d23", "d23c", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64));
    mb_node(&b, "Unsqueeze", NULL, "d23c,axes0", "d23u", 0);
    mb_node(&b, "Mul", NULL, "n1,d23u", "n12", 0);
    mb_node(&b, "Div", NULL, "n12,d23u", "n_again", 0);
    mb_node(&b, "Concat", NULL, "n_again,d23u,minus1", "shape_b", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Reshape", "/Reshape_1", "flat,shape_b", "r3", 0);
    /* Slice(shape, 1, INT64_MAX) = [2, 3, 4]; Concat([N], that) = x's shape */
    mb_const_i64(&b, "starts", 1, 1, (int64_t[]){1});
    mb_const_i64(&b, "ends", 1, 1, (int64_t[]){INT64_MAX});
    mb_node(&b, "Slice", NULL, "s,starts,ends", "tail", 0);
    mb_node(&b, "Concat", NULL, "n1,tail", "shape_c", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Reshape", NULL, "r3,shape_c", "y", 0);
    mb_output(&b, "flat");
    mb_output(&b, "r3");
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    /* Only the input and the three reshapes reach the graph. */
    assert_int_equal(clg_graph_node_count(g), 4);
    const clg_node *flat = find_node(g, "flat"), *r3 = find_node(g, "r3"), *y = find_node(g, "y");
    assert_int_equal(flat->op, CLG_OP_RESHAPE);
    assert_int_equal(flat->attrs.shape_rank, 2);
    assert_int_equal(flat->attrs.shape[0], 0);
    assert_int_equal(flat->attrs.shape[1], -1);
    assert_int_equal(flat->shape.dims[0], CLG_BATCH);
    assert_int_equal(flat->shape.dims[1], 24);
    assert_int_equal(r3->attrs.shape_rank, 3);
    assert_int_equal(r3->attrs.shape[0], 0);
    assert_int_equal(r3->attrs.shape[1], 12);
    assert_int_equal(r3->attrs.shape[2], -1);
    assert_int_equal(r3->shape.dims[2], 2);
    assert_int_equal(y->shape.rank, 4);
    assert_int_equal(y->shape.dims[0], CLG_BATCH);
    assert_int_equal(y->shape.dims[3], 4);

    float x[3 * 24], out[3][3 * 24];
    for (int k = 0; k < 72; k++) x[k] = (float)k;
    clg_tensor in = {x, 4, {3, 2, 3, 4}, CLG_DTYPE_F32}, outs[3] = {{out[0], 0, {0}, CLG_DTYPE_F32}, {out[1], 0, {0}, CLG_DTYPE_F32}, {out[2], 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, outs, 3), CLG_OK);
    for (int o = 0; o < 3; o++)
        for (int k = 0; k < 72; k++) assert_true(out[o][k] == (float)k);
    assert_int_equal(outs[1].dims[1], 12);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* The shape arithmetic keeps symbolic sizes anywhere: [2N, -1], [N + 1, -1]
 * (not a polynomial the -1 divides: a size of its own, known when bound)
 * and [-1, N]. Each Reshape keeps x's elements in order. */
static void test_symbolic_plumbing(void **state)
{
    (void)state;
    int64_t xd[2] = {-1, 6};
    static const char *shapes[3] = {"[2*N, 3]", "[N+1, _1]", "[6, N]"};
    static const int64_t at_n2[3][2] = {{4, 3}, {3, 4}, {6, 2}};
    for (int variant = 0; variant < 3; variant++) {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, xd);
        mb_node(&b, "Shape", NULL, "x", "s", 0);
        mb_const_i64(&b, "c0", 1, 1, (int64_t[]){0});
        mb_node(&b, "Gather", NULL, "s,c0", "n", 0);
        mb_const_i64(&b, "k", 1, 1, (int64_t[]){variant == 0 ? 2 : 1});
        if (variant == 0) mb_node(&b, "Mul", NULL, "n,k", "n2", 0);
        else if (variant == 1) mb_node(&b, "Add", NULL, "n,k", "n2", 0);
        else mb_node(&b, "Identity", NULL, "n", "n2", 0);
        mb_const_i64(&b, "m1", 1, 1, (int64_t[]){-1});
        mb_node(&b, "Concat", "cat", variant == 2 ? "m1,n2" : "n2,m1", "shape", 1, A_i(&b, "axis", 0));
        mb_node(&b, "Reshape", "r", "x,shape", "y", 0);
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        const clg_node *y = find_node(g, "y");
        char text[64];
        assert_string_equal(clg_shape_str(g, &y->shape, text, sizeof text), shapes[variant]);
        float x[12], out[12];
        for (int k = 0; k < 12; k++) x[k] = (float)k - 3.5f;
        clg_tensor got = {0};
        run1(g, x, 2, (int64_t[]){2, 6}, out, &got);
        assert_int_equal(got.rank, 2);
        assert_int_equal(got.dims[0], at_n2[variant][0]);
        assert_int_equal(got.dims[1], at_n2[variant][1]);
        assert_memory_equal(out, x, sizeof x);
        if (variant == 1) {
            /* N = 3: 18 elements do not divide into rows of N + 1 = 4. */
            clg_tensor in = {x, 2, {3, 6}, CLG_DTYPE_F32}, o = {out, 0, {0}, CLG_DTYPE_F32};
            float big[18] = {0};
            in.data = big;
            assert_int_equal(clg_graph_run_reference(g, &in, 1, &o, 1), CLG_ERR_INVALID_ARGUMENT);
            assert_non_null(strstr(clg_graph_errmsg(g), "N=3"));
        }
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* Max and Min of shape values fold on the host with symbolic sizes where
 * the answer does not depend on them (tf2onnx's einsum takes Max of two
 * shapes' dims): Max(N, 1) is N, Min(N, 1) is 1, Max(N, N) is N; Max(N, 2)
 * is refused. */
static void test_symbolic_max_min(void **state)
{
    (void)state;
    int64_t xd[2] = {-1, 6};
    static const char *ops[4] = {"Max", "Min", "Max", "Max"};
    static const int64_t k[4] = {1, 1, -1, 2};
    static const char *shapes[3] = {"[N, 6]", "[1, 6*N]", "[N, 6]"};
    for (int variant = 0; variant < 4; variant++) {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, xd);
        mb_node(&b, "Shape", NULL, "x", "s", 0);
        mb_const_i64(&b, "c0", 1, 1, (int64_t[]){0});
        mb_node(&b, "Gather", NULL, "s,c0", "n", 0);
        if (k[variant] < 0) mb_node(&b, "Identity", NULL, "n", "kk", 0); /* Max(N, N) */
        else mb_const_i64(&b, "kk", 1, 1, (int64_t[]){k[variant]});
        mb_node(&b, ops[variant], "mm", "n,kk", "n2", 0);
        mb_const_i64(&b, "m1", 1, 1, (int64_t[]){-1});
        mb_node(&b, "Concat", "cat", "n2,m1", "shape", 1, A_i(&b, "axis", 0));
        mb_node(&b, "Reshape", "r", "x,shape", "y", 0);
        mb_output(&b, "y");
        if (variant == 3) {
            expect_error(&b, CLG_ERR_UNSUPPORTED, "node mm (Max, opset 13): Max of the sizes N and 2 depends on their values");
            continue;
        }
        clg_graph *g = import_ok(&b);
        char text[64];
        assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), shapes[variant]);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* PyTorch's cls.expand(n, -1, -1) (ViT's class token): the target shape
 * [N, -1, -1] is compared with -1 and the -1s replaced by ones through
 * Equal and Where, all on the host: Equal(N, -1) is false since sizes are
 * at least 1, and Where keeps N symbolic. The result is checked by value on
 * the reference at N = 2; Equal(N, 2) depends on N and is refused. */
static void test_symbolic_equal_where(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        mb b;
        mb_init(&b, 13);
        int64_t xd[2] = {-1, 6};
        mb_input(&b, "x", 2, xd);
        float cls[6] = {1, -2, 3, 0.5f, -1, 2};
        mb_init_f(&b, "cls", 3, (int64_t[]){1, 1, 6}, cls, true);
        mb_node(&b, "Shape", NULL, "x", "s", 0);
        mb_const_i64(&b, "c0", 1, 1, (int64_t[]){0});
        mb_node(&b, "Gather", NULL, "s,c0", "n", 0);
        mb_const_i64(&b, "m1", 1, 1, (int64_t[]){-1});
        mb_node(&b, "Concat", NULL, "n,m1,m1", "size", 1, A_i(&b, "axis", 0));
        mb_const_i64(&b, "k", 1, 1, (int64_t[]){variant ? 2 : -1});
        mb_node(&b, "Equal", "eq", "size,k", "is_m1", 0);
        mb_node(&b, "Shape", NULL, "size", "size_shape", 0);
        mb_node(&b, "ConstantOfShape", NULL, "size_shape", "ones", 1,
                A_t(&b, "value", mb_tensor_i64(&b, NULL, 1, (int64_t[]){1}, (int64_t[]){1})));
        mb_node(&b, "Where", "where", "is_m1,ones,size", "target", 0);
        mb_node(&b, "Expand", NULL, "cls,target", "tok", 0);
        mb_const_i64(&b, "ax", 1, 1, (int64_t[]){1});
        mb_node(&b, "Unsqueeze", NULL, "x,ax", "x3", 0);
        mb_node(&b, "Mul", NULL, "tok,x3", "y", 0);
        mb_output(&b, "y");
        if (variant == 1) {
            expect_error(&b, CLG_ERR_UNSUPPORTED, "node eq (Equal, opset 13): Equal of the sizes N and 2 depends on their values");
            continue;
        }
        clg_graph *g = import_ok(&b);
        char text[64];
        assert_string_equal(clg_shape_str(g, &find_node(g, "tok")->shape, text, sizeof text), "[N, 1, 6]");
        float x[12], out[12];
        for (int k = 0; k < 12; k++) x[k] = (float)k - 5.5f;
        clg_tensor in = {x, 2, {2, 6}, CLG_DTYPE_F32}, o = {out, 0, {0}, CLG_DTYPE_F32};
        if (clg_graph_run_reference(g, &in, 1, &o, 1) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
        assert_int_equal(o.rank, 3);
        for (int k = 0; k < 12; k++) assert_true(out[k] == cls[k % 6] * x[k]);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* Mod (fmod=0: the remainder has the divisor's sign) and Transpose of
 * integer host values, as Swin computes its padding: Mod([-7, 7, 6],
 * [4, -4, 4]) = [1, -1, 2]; with a 3 appended, as [2, 2], transposed and
 * flattened: [1, 2, -1, 3], a Reshape target. Mod of a symbolic size and of
 * floats are refused. */
static void test_host_mod_transpose(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        mb b;
        mb_init(&b, 13);
        int64_t xd[2] = {variant == 1 ? -1 : 2, 24};
        mb_input(&b, "x", 2, xd);
        if (variant == 1) {
            mb_node(&b, "Shape", NULL, "x", "s", 0);
            mb_const_i64(&b, "c0", 1, 1, (int64_t[]){0});
            mb_node(&b, "Gather", NULL, "s,c0", "a", 0);
            mb_const_i64(&b, "b", 1, 1, (int64_t[]){4});
        } else if (variant == 2) {
            mb_const_f(&b, "a", 7.5f);
            mb_const_f(&b, "b", 2.0f);
        } else {
            mb_const_i64(&b, "a", 1, 3, (int64_t[]){-7, 7, 6});
            mb_const_i64(&b, "b", 1, 3, (int64_t[]){4, -4, 4});
        }
        mb_node(&b, "Mod", "mod", "a,b", "r", 0);
        mb_const_i64(&b, "three", 1, 1, (int64_t[]){3});
        mb_node(&b, "Concat", NULL, "r,three", "r4", 1, A_i(&b, "axis", 0));
        mb_const_i64(&b, "sq", 1, 2, (int64_t[]){2, 2});
        mb_node(&b, "Reshape", NULL, "r4,sq", "r22", 0);
        mb_node(&b, "Transpose", NULL, "r22", "t", 1, A_ints(&b, "perm", 2, (int64_t[]){1, 0}));
        mb_const_i64(&b, "flat", 1, 1, (int64_t[]){4});
        mb_node(&b, "Reshape", NULL, "t,flat", "target", 0);
        mb_node(&b, "Reshape", NULL, "x,target", "y", 0);
        mb_output(&b, "y");
        if (variant == 1) {
            expect_error(&b, CLG_ERR_UNSUPPORTED, "node mod (Mod, opset 13): Mod of the symbolic size N is not supported");
            continue;
        }
        if (variant == 2) {
            expect_error(&b, CLG_ERR_UNSUPPORTED, "node mod (Mod, opset 13): this use of Mod is not supported");
            continue;
        }
        clg_graph *g = import_ok(&b);
        char text[64];
        assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[1, 2, 8, 3]");
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* Einsum as Transposes, Reshapes, ReduceSums and MatMuls
 * (onnx_einsum.c), on a symbolic batch: x [N, 2, 3] with a weight w [4, 3]
 * ("bij,kj->bki") and with itself ("bij,bkj->bik"), run on the reference
 * and compared with the sums written out; then the equations it refuses. */
static void test_einsum_import(void **state)
{
    (void)state;
    static const float W[4 * 3] = {0.5f, -1, 2, 1, 0.25f, -0.5f, -2, 1.5f, 1, 0, 3, -1};
    const char *eqs[2] = {"bij,kj->bki", "b i j , b k j -> b i k"};
    for (int v = 0; v < 2; v++) {
        mb b;
        mb_init(&b, 12);
        mb_input(&b, "x", 3, (int64_t[]){-1, 2, 3});
        mb_init_f(&b, "w", 2, (int64_t[]){4, 3}, W, true);
        mb_node(&b, "Einsum", "e", v ? "x,x" : "x,w", "y", 1, A_s(&b, "equation", eqs[v]));
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        char text[64];
        assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text),
                            v ? "[N, 2, 2]" : "[N, 4, 2]");
        float x[3 * 2 * 3], y[3 * 4 * 2];
        for (int k = 0; k < 18; k++) x[k] = (float)((k * 7) % 11) - 5.0f;
        clg_tensor out = {0};
        run1(g, x, 3, (int64_t[]){3, 2, 3}, y, &out);
        double want[3 * 4 * 2];
        int cols = v ? 2 : 4;
        for (int n = 0; n < 3; n++)
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < cols; k++) {
                    double acc = 0;
                    for (int j = 0; j < 3; j++)
                        acc += (double)x[n * 6 + i * 3 + j] * (v ? x[n * 6 + k * 3 + j] : W[k * 3 + j]);
                    want[v ? n * 4 + i * 2 + k : n * 8 + k * 2 + i] = acc;
                }
        assert_close(y, want, (size_t)(3 * 2 * cols), 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    static const struct {
        const char *eq;
        clg_status status;
        const char *msg;
    } bad[] = {
        {"bijk->b", CLG_ERR_INVALID_GRAPH, "operand 0 has 4 labels for an input of rank 3"},
        {"bij->", CLG_ERR_UNSUPPORTED, "the output is a scalar"},
        {"bij->bz", CLG_ERR_INVALID_GRAPH, "output dim 1 of 'bij->bz' is labelled in no operand"},
        {"bij->bii", CLG_ERR_INVALID_GRAPH, "the output repeats label 'i'"},
        {"bi->bi", CLG_ERR_INVALID_GRAPH, "operand 0 has 2 labels for an input of rank 3"},
        {"b1j->bj", CLG_ERR_INVALID_GRAPH, "operand 0: '1' is not a label"},
        {"bij,jk->bik", CLG_ERR_INVALID_GRAPH, "the equation 'bij,jk->bik' has more operands than the 1 inputs"},
        {"...i...->i", CLG_ERR_INVALID_GRAPH, "operand 0 has more than one '...'"},
        {"bjj->bj", CLG_ERR_UNSUPPORTED, "operand 0 repeats label 'j' (a diagonal), which is not supported"},
        {NULL, CLG_ERR_INVALID_GRAPH, "attribute equation is required"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mb b;
        mb_init(&b, 12);
        mb_input(&b, "x", 3, (int64_t[]){-1, 2, 2});
        if (bad[k].eq) mb_node(&b, "Einsum", "e", "x", "y", 1, A_s(&b, "equation", bad[k].eq));
        else mb_node(&b, "Einsum", "e", "x", "y", 0);
        mb_output(&b, "y");
        expect_error(&b, bad[k].status, bad[k].msg);
    }
}

/* What changed after opset 17, refused where it is wrong or not supported
 * (tests/fixtures/opset18_ops and opset21_ops run the supported forms
 * against ONNX Runtime). */
static void test_opset18_errors(void **state)
{
    (void)state;
    int64_t xd[4] = {-1, 6, 4, 4};
    static const float six[6] = {1, 1, 1, 1, 1, 1};
    mb b;
    mb_init(&b, 17);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Split", "s", "x", "a,c", 2, A_i(&b, "axis", 1), A_i(&b, "num_outputs", 2));
    mb_output(&b, "a");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node s (Split, opset 17): attribute num_outputs is part of Split from opset 18");
    mb_init(&b, 18);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Split", "s", "x", "a,c", 1, A_i(&b, "axis", 1));
    mb_output(&b, "a");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node s (Split, opset 18): from opset 18 Split needs the split input or num_outputs");
    mb_init(&b, 18);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Split", "s", "x", "a,c", 2, A_i(&b, "axis", 1), A_i(&b, "num_outputs", 3));
    mb_output(&b, "a");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node s (Split, opset 18): num_outputs is 3 for 2 outputs");
    for (int v = 0; v < 2; v++) {
        mb_init(&b, 18);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "s", 1, (int64_t[]){v ? 4 : 6}, six, true);
        mb_node(&b, "GroupNormalization", "gn", "x,s,s", "y", 1, A_i(&b, "num_groups", v ? 4 : 3));
        mb_output(&b, "y");
        expect_error(&b, CLG_ERR_INVALID_GRAPH,
                     v ? "node gn (GroupNormalization, opset 18): num_groups 4 does not divide the 6 channels"
                       : "node gn (GroupNormalization, opset 18): scale and bias must have shape [3] (one per group in "
                         "opset 18)");
    }
    /* per channel from 21: [6] is right there */
    mb_init(&b, 21);
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "s", 1, (int64_t[]){6}, six, true);
    mb_node(&b, "GroupNormalization", "gn", "x,s,s", "y", 1, A_i(&b, "num_groups", 3));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    char text[64];
    assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[N, 6, 4, 4]");
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 20);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Gelu", "g", "x", "y", 1, A_s(&b, "approximate", "erf"));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node g (Gelu, opset 20): attribute approximate must be 'none' or 'tanh'");
    mb_init(&b, 17);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Gelu", "g", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node g (Gelu, opset 17): Gelu before opset 20 is not supported");
    mb_init(&b, 19);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "AveragePool", "p", "x", "y", 2, A_ints(&b, "kernel_shape", 2, (int64_t[]){2, 2}),
            A_ints(&b, "dilations", 2, (int64_t[]){2, 2}));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node p (AveragePool, opset 19): AveragePool's dilations other than 1 are not supported");
    mb_init(&b, 18);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "AveragePool", "p", "x", "y", 2, A_ints(&b, "kernel_shape", 2, (int64_t[]){2, 2}),
            A_ints(&b, "dilations", 2, (int64_t[]){1, 1}));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (AveragePool, opset 18): attribute dilations is not part of this op's opset");
}

/* CumSum of INT64 ids over a symbolic batch, each variant against the sums
 * written out on the reference (float CumSum runs on the device in
 * tests/fixtures/opset18_ops, against ONNX Runtime); its errors. */
static void test_cumsum_import(void **state)
{
    (void)state;
    const int64_t x[2 * 5] = {3, -1, 4, 1, -5, 9, 2, -6, 5, 3};
    for (int v = 0; v < 4; v++) {
        int excl = v & 1, rev = v >> 1;
        mb b;
        mb_init(&b, 14);
        mb_input_t(&b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, (int64_t[]){-1, 5});
        mb_init_i64(&b, "axis", 0, NULL, (int64_t[]){-1});
        mb_node(&b, "CumSum", "c", "x,axis", "y", 2, A_i(&b, "exclusive", excl), A_i(&b, "reverse", rev));
        mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
        clg_graph *g = import_ok(&b);
        int64_t y[2 * 5] = {0};
        clg_tensor in = {(float *)x, 2, {2, 5}, CLG_DTYPE_I64};
        clg_tensor out = {(float *)y, 0, {0}, CLG_DTYPE_I64};
        if (clg_graph_run_reference(g, &in, 1, &out, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
        assert_int_equal(out.rank, 2);
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 5; j++) {
                int64_t want = 0;
                for (int i = 0; i < 5; i++)
                    if (rev ? (excl ? i > j : i >= j) : (excl ? i < j : i <= j)) want += x[r * 5 + i];
                if (y[r * 5 + j] != want)
                    fail_msg("variant %d, [%d][%d]: got %lld, want %lld", v, r, j, (long long)y[r * 5 + j], (long long)want);
            }
        clg_graph_destroy(g);
        mb_free(&b);
    }
    mb b;
    mb_init(&b, 14);
    mb_input(&b, "x", 2, (int64_t[]){-1, 5});
    mb_input_t(&b, "axis", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, (int64_t[]){1});
    mb_node(&b, "CumSum", "c", "x,axis", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node c (CumSum, opset 14): axis 'axis' must be a constant integer scalar");
    mb_init(&b, 14);
    mb_input(&b, "x", 2, (int64_t[]){-1, 5});
    mb_init_i64(&b, "axis", 0, NULL, (int64_t[]){2});
    mb_node(&b, "CumSum", "c", "x,axis", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node c (CumSum, opset 14): axis 2 is out of range for rank 2");
}

/* Integer Add, Sub, Mul and Div of computed tensors (through float, cast
 * back): y = (x * x - 7) / -3 on INT32 ids, Div truncating toward zero as
 * ONNX's integer Div does, against C's arithmetic on the reference; a
 * mix of INT32 and INT64 is refused. */
static void test_int_arithmetic(void **state)
{
    (void)state;
    const int32_t x[2 * 4] = {0, 1, -2, 3, 5, -8, 13, 2047};
    mb b;
    mb_init(&b, 14);
    mb_input_t(&b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 2, (int64_t[]){-1, 4});
    Onnx__TensorProto *seven = mb_tensor(&b, "seven", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 0, NULL);
    seven->n_int32_data = 1;
    seven->int32_data = mb_alloc(&b, sizeof(int32_t));
    seven->int32_data[0] = 7;
    b.graph.initializer[b.graph.n_initializer++] = seven;
    Onnx__TensorProto *m3 = mb_tensor(&b, "m3", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 0, NULL);
    m3->n_int32_data = 1;
    m3->int32_data = mb_alloc(&b, sizeof(int32_t));
    m3->int32_data[0] = -3;
    b.graph.initializer[b.graph.n_initializer++] = m3;
    mb_node(&b, "Mul", NULL, "x,x", "sq", 0);
    mb_node(&b, "Sub", NULL, "sq,seven", "d", 0);
    mb_node(&b, "Div", NULL, "d,m3", "y", 0);
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT32);
    clg_graph *g = import_ok(&b);
    int32_t y[8] = {0};
    clg_tensor in = {(float *)x, 2, {2, 4}, CLG_DTYPE_I32};
    clg_tensor out = {(float *)y, 0, {0}, CLG_DTYPE_I32};
    if (clg_graph_run_reference(g, &in, 1, &out, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
    for (int k = 0; k < 8; k++)
        if (y[k] != (x[k] * x[k] - 7) / -3) fail_msg("[%d]: got %d, want %d", k, y[k], (x[k] * x[k] - 7) / -3);
    clg_graph_destroy(g);
    mb_free(&b);
    /* Abs, Min, Neg and Where of integer tensors stay integer tensors
     * (cast back), so an integer reader takes them: y = where(x > 0,
     * min(|x|, 3), -x) - 1, INT64 throughout. */
    const int64_t xi[8] = {0, 1, -2, 3, 5, -8, 13, -1};
    mb_init(&b, 14);
    mb_input_t(&b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, (int64_t[]){-1, 4});
    mb_init_i64(&b, "three", 0, NULL, (int64_t[]){3});
    mb_init_i64(&b, "zero", 0, NULL, (int64_t[]){0});
    mb_init_i64(&b, "one", 0, NULL, (int64_t[]){1});
    mb_node(&b, "Abs", NULL, "x", "a", 0);
    mb_node(&b, "Min", NULL, "a,three", "m", 0);
    mb_node(&b, "Neg", NULL, "x", "ng", 0);
    mb_node(&b, "Greater", NULL, "x,zero", "pos", 0);
    mb_node(&b, "Where", NULL, "pos,m,ng", "w", 0);
    mb_node(&b, "Sub", NULL, "w,one", "y", 0);
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    g = import_ok(&b);
    assert_int_equal(find_node(g, "w")->dtype, CLG_DTYPE_I64);
    int64_t yi[8] = {0};
    clg_tensor in64 = {(float *)xi, 2, {2, 4}, CLG_DTYPE_I64};
    clg_tensor out64 = {(float *)yi, 0, {0}, CLG_DTYPE_I64};
    if (clg_graph_run_reference(g, &in64, 1, &out64, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
    for (int k = 0; k < 8; k++) {
        int64_t a = xi[k] < 0 ? -xi[k] : xi[k], want = (xi[k] > 0 ? (a < 3 ? a : 3) : -xi[k]) - 1;
        if (yi[k] != want) fail_msg("[%d]: got %lld, want %lld", k, (long long)yi[k], (long long)want);
    }
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 14);
    mb_input_t(&b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 2, (int64_t[]){-1, 4});
    mb_input_t(&b, "z", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, (int64_t[]){-1, 4});
    mb_node(&b, "Add", "a", "x,z", "y", 0);
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node a (Add, opset 14): inputs 'x' (INT32) and 'z' (INT64) differ in type");
}

/* torch.arange(S, dtype=float): the symbolic S cast to FLOAT for a Range's
 * limit only becomes a FLOAT graph Range of length S (rotary embeddings);
 * the same cast read by anything else, or a fractional start, is refused.
 * x [N, S] + positions, on the reference. */
static void build_float_range(mb *b, float start, bool other_use)
{
    mb_init(b, 14);
    mb_input(b, "x", 2, (int64_t[]){-1, -2});
    mb_node(b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(b, "c1", 0, 1, (int64_t[]){1});
    mb_node(b, "Gather", NULL, "s,c1", "seq", 0);
    mb_node(b, "Cast", "cast", "seq", "limit", 1, A_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
    mb_const_f(b, "start", start);
    mb_const_f(b, "delta", 1.0f);
    mb_node(b, "Range", "range", "start,limit,delta", "pos", 0);
    mb_node(b, "Add", NULL, "x,pos", other_use ? "y0" : "y", 0);
    if (other_use) mb_node(b, "Mul", NULL, "y0,limit", "y", 0);
    mb_output(b, "y");
}

static void test_range_float_symbolic(void **state)
{
    (void)state;
    mb b;
    build_float_range(&b, 2.0f, false);
    clg_graph *g = import_ok(&b);
    char text[64];
    assert_string_equal(clg_shape_str(g, &find_node(g, "pos")->shape, text, sizeof text), "[seq-2]");
    assert_int_equal(find_node(g, "pos")->dtype, CLG_DTYPE_F32);
    /* S = 3: positions [2.0], broadcast over x */
    float x[2 * 3] = {0, 1, 2, 10, 11, 12}, y[6];
    clg_tensor out = {0};
    run1(g, x, 2, (int64_t[]){2, 3}, y, &out);
    for (int k = 0; k < 6; k++) assert_true(y[k] == x[k] + 2.0f);
    clg_graph_destroy(g);
    mb_free(&b);
    build_float_range(&b, 0.0f, true);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node cast (Cast, opset 14): a shape that depends on a symbolic size cast to FLOAT");
    build_float_range(&b, 0.5f, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node range (Range, opset 14): start 'start' is 0.5; a FLOAT Range to a symbolic limit needs whole numbers");
}

/* Size of a tensor with a symbolic batch is a symbolic size: x [N, 2, 3]
 * reshaped to [Size(x)] is [6*N]. */
static void test_size_symbolic(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 3, (int64_t[]){-1, 2, 3});
    mb_node(&b, "Size", NULL, "x", "n", 0);
    mb_const_i64(&b, "zero", 1, 1, (int64_t[]){0});
    mb_node(&b, "Unsqueeze", NULL, "n,zero", "shape", 0);
    mb_node(&b, "Reshape", NULL, "x,shape", "y", 0);
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    char text[64];
    assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[6*N]");
    clg_graph_destroy(g);
    mb_free(&b);
}

/* ScatterND and Expand of host values, as swin_t builds its shifted-window
 * mask from shapes: data d [3, 4] (d[i][j] = i*4 + j), rows 2 and 0
 * replaced by [1, 2, 3, 4] expanded to [2, 4], added to x [N, 3, 4]. A
 * ScatterND of a graph tensor and a reduction are refused. */
static void test_host_scatter_nd_expand(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        mb b;
        mb_init(&b, variant == 2 ? 16 : 13);
        int64_t xd[3] = {-1, 3, 4}, dd[2] = {3, 4}, rd[2] = {1, 4};
        float d[12], row[4] = {1, 2, 3, 4};
        for (int k = 0; k < 12; k++) d[k] = (float)k;
        mb_input(&b, "x", 3, xd);
        mb_init_f(&b, "d", 2, dd, d, true);
        mb_init_f(&b, "row", 2, rd, row, true);
        mb_const_i64(&b, "ushape", 1, 2, (int64_t[]){2, 4});
        mb_node(&b, "Expand", NULL, "row,ushape", "u", 0);
        mb_const_i64(&b, "i1", 1, 2, (int64_t[]){2, 0});
        mb_const_i64(&b, "ishape", 1, 2, (int64_t[]){2, 1});
        mb_node(&b, "Reshape", NULL, "i1,ishape", "idx", 0);
        if (variant == 2)
            mb_node(&b, "ScatterND", "sc", "d,idx,u", "m", 1, A_s(&b, "reduction", "add"));
        else
            mb_node(&b, "ScatterND", "sc", variant == 1 ? "x,idx,u" : "d,idx,u", "m", 0);
        mb_node(&b, "Add", NULL, "x,m", "y", 0);
        mb_output(&b, "y");
        if (variant == 1) {
            expect_error(&b, CLG_ERR_UNSUPPORTED,
                         "node sc (ScatterND, opset 13): input 'x' is computed in the graph; ScatterND is only "
                         "folded on the host, of constants and shapes");
            continue;
        }
        if (variant == 2) {
            expect_error(&b, CLG_ERR_UNSUPPORTED, "node sc (ScatterND, opset 16): only reduction \"none\" is supported");
            continue;
        }
        clg_graph *g = import_ok(&b);
        assert_int_equal(find_node(g, "y")->op, CLG_OP_ADD);
        float x[24], y[24];
        double want[24];
        for (int k = 0; k < 24; k++) {
            x[k] = (float)(k % 5) - 2.0f;
            int i = k / 4 % 3, j = k % 4;
            want[k] = x[k] + (i == 1 ? d[4 + j] : row[j]);
        }
        int64_t bd[3] = {2, 3, 4};
        clg_tensor out = {0};
        run1(g, x, 3, bd, y, &out);
        assert_close(y, want, 24, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* ---- ConstantOfShape and Trilu: a causal mask */

/* x [batch, seq, seq] + Trilu(ConstantOfShape([seq, seq], value), k): the
 * mask's shape comes from x's symbolic seq, as PyTorch exports
 * torch.triu(torch.full((s, s), -inf), diagonal=1). */
static void build_causal(mb *b, float value, bool int_value, bool k_computed)
{
    mb_init(b, 14);
    int64_t xd[3] = {-1, -2, -2};
    mb_input(b, "x", 3, xd);
    mb_node(b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(b, "c1", 1, 1, (int64_t[]){1});
    mb_node(b, "Gather", NULL, "s,c1", "seq", 0);
    mb_node(b, "Concat", NULL, "seq,seq", "ss", 1, A_i(b, "axis", 0));
    Onnx__TensorProto *v = int_value ? mb_tensor_i64(b, NULL, 1, (int64_t[]){1}, (int64_t[]){3})
                                     : mb_tensor_f(b, NULL, 1, (int64_t[]){1}, &value, true);
    mb_node(b, "ConstantOfShape", "cos", "ss", "full", 1, A_t(b, "value", v));
    if (k_computed) {
        mb_node(b, "ReduceMax", NULL, "x", "kk", 1, A_i(b, "keepdims", 0));
    } else {
        mb_const_i64(b, "kk", 0, 1, (int64_t[]){1});
    }
    mb_node(b, "Trilu", "tri", "full,kk", "mask", 0);
    if (int_value) { /* an integer mask, the output itself */
        mb_output_t(b, "mask", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
        return;
    }
    mb_node(b, "Add", NULL, "x,mask", "y", 0);
    mb_output(b, "y");
}

static void test_causal_mask(void **state)
{
    (void)state;
    mb b;
    build_causal(&b, -INFINITY, false, false);
    clg_graph *g = import_ok(&b);
    char text[64];
    assert_string_equal(clg_shape_str(g, &find_node(g, "mask")->shape, text, sizeof text), "[seq, seq]");
    assert_int_equal(find_node(g, "full")->op, CLG_OP_EXPAND);
    /* Two sizes through the same graph: y = x + (-inf above the diagonal). */
    for (int64_t s = 3; s <= 5; s += 2) {
        float x[2 * 5 * 5], out[2 * 5 * 5];
        for (int k = 0; k < 2 * s * s; k++) x[k] = (float)k * 0.25f - 3.0f;
        clg_tensor got = {0};
        run1(g, x, 3, (int64_t[]){2, s, s}, out, &got);
        assert_int_equal(got.dims[1], s);
        for (int64_t m = 0; m < 2; m++)
            for (int64_t i = 0; i < s; i++)
                for (int64_t j = 0; j < s; j++) {
                    int64_t at = (m * s + i) * s + j;
                    if (j > i) assert_true(isinf(out[at]) && out[at] < 0);
                    else assert_true(out[at] == x[at]);
                }
    }
    clg_graph_destroy(g);
    mb_free(&b);

    /* An integer fill of a symbolic shape is an INT64 graph tensor: an
     * Expand of an INT64 constant, which Trilu keeps INT64. */
    build_causal(&b, 1.0f, true, false);
    g = import_ok(&b);
    assert_int_equal(find_node(g, "full")->op, CLG_OP_EXPAND);
    assert_int_equal(find_node(g, "full")->dtype, CLG_DTYPE_I64);
    assert_int_equal(find_node(g, "mask")->dtype, CLG_DTYPE_I64);
    assert_string_equal(clg_shape_str(g, &find_node(g, "mask")->shape, text, sizeof text), "[seq, seq]");
    clg_graph_destroy(g);
    mb_free(&b);
    build_causal(&b, -INFINITY, false, true);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node tri (Trilu, opset 14): k 'kk' is computed in the graph");
}

/* ---- Resize, Upsample, ConvTranspose, ArgMax */

/* Resize of x [N, 3, 4, 5]: by constant scales, or by sizes that PyTorch
 * computes as Concat(Shape(x)[0:2], [H', W']) (a symbolic N passes). */
static void build_resize(mb *b, int64_t opset, const char *mode, const float *scales, bool sizes_from_shape)
{
    mb_init(b, opset);
    mb_input(b, "x", 4, (int64_t[]){-1, 3, 4, 5});
    if (sizes_from_shape) {
        mb_node(b, "Shape", NULL, "x", "s", 0);
        mb_const_i64(b, "first2", 1, 2, (int64_t[]){0, 1});
        mb_node(b, "Gather", NULL, "s,first2", "nc", 0);
        mb_const_i64(b, "hw", 1, 2, (int64_t[]){8, 9});
        mb_node(b, "Concat", NULL, "nc,hw", "sizes", 1, A_i(b, "axis", 0));
        mb_node(b, "Resize", "rs", "x,,,sizes", "y", 1, A_s(b, "mode", mode));
    } else {
        mb_init_f(b, "sc", 1, (int64_t[]){4}, scales, true);
        mb_node(b, "Resize", "rs", opset < 11 ? "x,sc" : "x,,sc", "y", 1, A_s(b, "mode", mode));
    }
    mb_output(b, "y");
}

static void test_resize_import(void **state)
{
    (void)state;
    mb b;
    char text[64];
    build_resize(&b, 13, "linear", NULL, true);
    clg_graph *g = import_ok(&b);
    const clg_node *y = find_node(g, "y");
    assert_int_equal(y->op, CLG_OP_RESIZE);
    assert_string_equal(clg_shape_str(g, &y->shape, text, sizeof text), "[N, 3, 8, 9]");
    assert_int_equal(y->attrs.resize_mode, CLG_RESIZE_LINEAR);
    assert_true(y->attrs.height_scale == 0.0f && y->attrs.width_scale == 0.0f);
    clg_graph_destroy(g);
    mb_free(&b);

    /* scales: the output is floor(input * scale), the scale kept for the
     * coordinates */
    build_resize(&b, 13, "nearest", (float[]){1, 1, 2, 0.5f}, false);
    g = import_ok(&b);
    y = find_node(g, "y");
    assert_string_equal(clg_shape_str(g, &y->shape, text, sizeof text), "[N, 3, 8, 2]");
    assert_true(y->attrs.height_scale == 2.0f && y->attrs.width_scale == 0.5f);
    assert_int_equal(y->attrs.coord_mode, CLG_COORD_HALF_PIXEL);
    clg_graph_destroy(g);
    mb_free(&b);

    /* Resize-10 is asymmetric with floor rounding */
    build_resize(&b, 10, "nearest", (float[]){1, 1, 2, 3}, false);
    g = import_ok(&b);
    y = find_node(g, "y");
    assert_int_equal(y->attrs.coord_mode, CLG_COORD_ASYMMETRIC);
    assert_int_equal(y->attrs.nearest_mode, CLG_NEAREST_FLOOR);
    clg_graph_destroy(g);
    mb_free(&b);

    build_resize(&b, 13, "cubic", (float[]){1, 1, 2, 2}, false);
    g = import_ok(&b);
    y = find_node(g, "y");
    assert_int_equal(y->attrs.resize_mode, CLG_RESIZE_CUBIC);
    assert_true(y->attrs.cubic_coeff_a == -0.75f);
    assert_int_equal(y->attrs.exclude_outside, 0);
    clg_graph_destroy(g);
    mb_free(&b);
    /* Cubic is not defined before Resize-11, nor in Upsample. */
    build_resize(&b, 10, "cubic", (float[]){1, 1, 2, 2}, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node rs (Resize, opset 10): attribute mode 'cubic' is not supported (only nearest and linear)");
    build_resize(&b, 13, "bicubic", (float[]){1, 1, 2, 2}, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node rs (Resize, opset 13): attribute mode 'bicubic' is not supported (only nearest and linear, and "
                 "cubic from Resize-11)");
    build_resize(&b, 13, "linear", (float[]){1, 2, 1, 1}, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "resizes dimension 1 (3); only the last two dimensions");
    build_resize(&b, 13, "linear", (float[]){2, 1, 1, 1}, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "dimension 0 is N; scaling a symbolic dimension is not supported");
    build_resize(&b, 10, "nearest", (float[]){1, 1, 0.5f, 1}, false);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "nearest downsampling in Resize-10 is not supported");
    build_resize(&b, 13, "linear", (float[]){1, 1, 2, 2}, false);
    b.graph.node[b.graph.n_node - 1]->attribute[0] = A_s(&b, "coordinate_transformation_mode", "tf_crop_and_resize");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "attribute coordinate_transformation_mode 'tf_crop_and_resize' is not supported");

    /* scales computed in the graph */
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){1, 3, 4, 5});
    mb_input(&b, "sc", 1, (int64_t[]){4});
    mb_node(&b, "Resize", "rs", "x,,sc", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "scales 'sc' is a computed tensor; only constant scales");

    /* both scales and sizes */
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){1, 3, 4, 5});
    mb_init_f(&b, "sc", 1, (int64_t[]){4}, (float[]){1, 1, 2, 2}, true);
    mb_init_i64(&b, "sz", 1, (int64_t[]){4}, (int64_t[]){1, 3, 8, 10});
    mb_node(&b, "Resize", "rs", "x,,sc,sz", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "exactly one of scales and sizes must be given (both are)");

    /* Upsample-7: scales as an attribute */
    mb_init(&b, 7);
    mb_input(&b, "x", 4, (int64_t[]){1, 3, 4, 5});
    Onnx__AttributeProto *sa = A_f(&b, "scales", 0);
    sa->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    sa->has_f = 0;
    sa->floats = mb_alloc(&b, 4 * sizeof(float));
    sa->n_floats = 4;
    sa->floats[0] = sa->floats[1] = 1, sa->floats[2] = 2, sa->floats[3] = 3;
    mb_node(&b, "Upsample", "up", "x", "y", 1, sa);
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[1, 3, 8, 15]");
    clg_graph_destroy(g);
    mb_free(&b);
}

/* ConvTranspose: 1-D as 2-D of height 1 between Reshapes; 3-D refused;
 * output_shape and output_padding become end pads. */
static void test_conv_transpose_import(void **state)
{
    (void)state;
    mb b;
    char text[64];
    mb_init(&b, 11);
    mb_input(&b, "x", 3, (int64_t[]){-1, 2, 5});
    mb_init_f(&b, "w", 3, (int64_t[]){2, 3, 3}, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, true);
    mb_node(&b, "ConvTranspose", "ct", "x,w", "y", 2, A_ints(&b, "strides", 1, (int64_t[]){2}),
            A_ints(&b, "output_padding", 1, (int64_t[]){1}));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[N, 3, 12]");
    clg_graph_destroy(g);
    mb_free(&b);

    mb_init(&b, 11);
    mb_input(&b, "x", 4, (int64_t[]){1, 1, 3, 3});
    mb_init_f(&b, "w", 4, (int64_t[]){1, 2, 3, 3}, (float[]){1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true);
    mb_node(&b, "ConvTranspose", "ct", "x,w", "y", 2, A_ints(&b, "strides", 2, (int64_t[]){3, 2}),
            A_ints(&b, "output_shape", 2, (int64_t[]){10, 8}));
    mb_output(&b, "y");
    g = import_ok(&b);
    const clg_node *y = find_node(g, "y");
    assert_string_equal(clg_shape_str(g, &y->shape, text, sizeof text), "[1, 2, 10, 8]");
    /* the natural output is [9, 7]: one more row and column at the end */
    assert_int_equal(y->attrs.pads[2], -1);
    assert_int_equal(y->attrs.pads[3], -1);
    clg_graph_destroy(g);
    mb_free(&b);

    mb_init(&b, 11);
    mb_input(&b, "x", 5, (int64_t[]){1, 1, 3, 3, 3});
    mb_input(&b, "w", 5, (int64_t[]){1, 1, 2, 2, 2});
    mb_node(&b, "ConvTranspose", "ct", "x,w", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "only 1-D and 2-D transposed convolutions are supported (the input has rank 5)");
}

/* ArgMax/ArgMin give INT64 graph tensors. */
static void test_argmax_import(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 3, (int64_t[]){-1, 4, 5});
    mb_node(&b, "ArgMin", "am", "x", "y", 2, A_i(&b, "axis", -1), A_i(&b, "select_last_index", 1));
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    clg_graph *g = import_ok(&b);
    const clg_node *y = find_node(g, "y");
    assert_int_equal(y->op, CLG_OP_ARGMIN);
    assert_int_equal(y->dtype, CLG_DTYPE_I64);
    char text[64];
    assert_string_equal(clg_shape_str(g, &y->shape, text, sizeof text), "[N, 4, 1]");
    clg_graph_destroy(g);
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){7});
    mb_node(&b, "ArgMax", "am", "x", "y", 1, A_i(&b, "keepdims", 0));
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "keepdims=0 on a rank-1 input gives a scalar");
    mb_init(&b, 11);
    mb_input(&b, "x", 2, (int64_t[]){3, 7});
    mb_node(&b, "ArgMax", "am", "x", "y", 1, A_i(&b, "select_last_index", 1));
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "attribute select_last_index is part of opset 12 on");
}

/* ---- LRN */

/* LRN over 5 channels with an even window (size 4: channels c-1 .. c+2,
 * ONNX's floor/ceil split) against the formula evaluated here directly;
 * then the refusals. */
static void test_lrn_import(void **state)
{
    (void)state;
    const float alpha = 0.3f, beta = 0.6f, bias = 1.5f;
    const int64_t size = 4, C = 5, H = 2, W = 3;
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){-1, C, H, W});
    mb_node(&b, "LRN", "lrn", "x", "y", 4, A_f(&b, "alpha", alpha), A_f(&b, "beta", beta), A_f(&b, "bias", bias),
            A_i(&b, "size", size));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    float x[2 * 5 * 2 * 3], out[2 * 5 * 2 * 3];
    double want[2 * 5 * 2 * 3];
    for (int k = 0; k < 2 * 5 * 2 * 3; k++) x[k] = (float)((k * 37) % 23) * 0.25f - 2.5f;
    for (int64_t n = 0; n < 2; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < H * W; p++) {
                double sum = 0;
                for (int64_t i = c - (size - 1) / 2; i <= c + size / 2; i++)
                    if (i >= 0 && i < C) sum += (double)x[(n * C + i) * H * W + p] * x[(n * C + i) * H * W + p];
                double v = x[(n * C + c) * H * W + p];
                want[(n * C + c) * H * W + p] = v / pow(bias + alpha / (double)size * sum, beta);
            }
    clg_tensor got = {0};
    run1(g, x, 4, (int64_t[]){2, C, H, W}, out, &got);
    assert_close(out, want, 2 * 5 * 2 * 3, 1e-5);
    clg_graph_destroy(g);
    mb_free(&b);

    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){1, C, H, W});
    mb_node(&b, "LRN", "lrn", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node lrn (LRN, opset 13): attribute size is required");
    mb_init(&b, 13);
    mb_input(&b, "x", 3, (int64_t[]){1, C, H});
    mb_node(&b, "LRN", "lrn", "x", "y", 1, A_i(&b, "size", 3));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "input 'x' has rank 3; only 4-D [N, C, H, W] LRN is supported");
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){1, C, H, W});
    mb_node(&b, "LRN", "lrn", "x", "y", 1, A_i(&b, "size", 0));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "attribute size=0 must be 1 to 4096");
}

/* ---- Range */

/* y = x + Cast(Range(start, limit, delta)) with x [batch, seq] and the
 * limit seq (or seq + 1, 2 * seq) from x's Shape: torch.arange(x.size(1))
 * as PyTorch exports it. The limit stays symbolic, so the Range is a graph
 * node of length seq computed at run time. */
static void build_range_positions(mb *b, int64_t start, const char *limit_op, int64_t limit_arg, int64_t delta)
{
    mb_init(b, 14);
    mb_input(b, "x", 2, (int64_t[]){-1, -2});
    mb_node(b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(b, "c1", 0, 1, (int64_t[]){1});
    mb_node(b, "Gather", NULL, "s,c1", "seq", 0);
    mb_const_i64(b, "arg", 0, 1, (int64_t[]){limit_arg});
    if (limit_op) mb_node(b, limit_op, NULL, "seq,arg", "limit", 0);
    else mb_node(b, "Identity", NULL, "seq", "limit", 0);
    mb_const_i64(b, "start", 0, 1, (int64_t[]){start});
    mb_const_i64(b, "delta", 0, 1, (int64_t[]){delta});
    mb_node(b, "Range", "range", "start,limit,delta", "pos", 0);
    mb_node(b, "Cast", NULL, "pos", "posf", 1, A_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
    mb_node(b, "Add", NULL, "x,posf", "y", 0);
    mb_output(b, "y");
}

static void test_range_symbolic(void **state)
{
    (void)state;
    /* arange(seq); arange(1, seq + 1); arange(0, 2 * seq, 2) */
    static const struct { int64_t start; const char *op; int64_t arg, delta; float first, step; } cases[] = {
        {0, NULL, 0, 1, 0, 1}, {1, "Add", 1, 1, 1, 1}, {0, "Mul", 2, 2, 0, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        mb b;
        build_range_positions(&b, cases[c].start, cases[c].op, cases[c].arg, cases[c].delta);
        clg_graph *g = import_ok(&b);
        const clg_node *r = find_node(g, "pos");
        assert_int_equal(r->op, CLG_OP_RANGE);
        assert_int_equal(r->dtype, CLG_DTYPE_I64);
        char text[64];
        assert_string_equal(clg_shape_str(g, &r->shape, text, sizeof text), "[seq]");
        for (int64_t s = 3; s <= 5; s += 2) {
            float x[2 * 5], out[2 * 5];
            for (int k = 0; k < 2 * s; k++) x[k] = (float)k * 0.5f;
            clg_tensor got = {0};
            run1(g, x, 2, (int64_t[]){2, s}, out, &got);
            assert_int_equal(got.dims[1], s);
            for (int64_t m = 0; m < 2; m++)
                for (int64_t j = 0; j < s; j++)
                    assert_true(out[m * s + j] == x[m * s + j] + cases[c].first + (float)j * cases[c].step);
        }
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* The length (seq - 0) / 3 is no size; a negative step to seq; a
     * symbolic start. */
    mb b;
    build_range_positions(&b, 0, NULL, 0, 3);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node range (Range, opset 14): the length (seq - 0) / 3 of a Range to the "
                                          "symbolic limit 'limit' is not a size clgraph can express");
    build_range_positions(&b, 100, NULL, 0, -1);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node range (Range, opset 14): a negative delta (-1) with the symbolic "
                                          "limit 'limit' (seq) is not supported");
    mb_init(&b, 14);
    mb_input(&b, "x", 2, (int64_t[]){-1, -2});
    mb_node(&b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(&b, "c1", 0, 1, (int64_t[]){1});
    mb_node(&b, "Gather", NULL, "s,c1", "seq", 0);
    mb_const_i64(&b, "one", 0, 1, (int64_t[]){1});
    mb_node(&b, "Range", "range", "seq,seq,one", "pos", 0);
    mb_output_t(&b, "pos", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node range (Range, opset 14): start 'seq' is the symbolic size seq; only the limit may be one");
}

/* Range of constants folds on the host (ONNX's node test values: [1, 3]
 * and [10, 7]); inputs computed in the graph, a zero step, mixed types and
 * an empty result are refused. */
static void test_range_host(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){-1, 2});
        if (variant == 0) {
            mb_const_f(&b, "start", 1);
            mb_const_f(&b, "limit", 5);
            mb_const_f(&b, "delta", 2);
        } else {
            mb_const_i64(&b, "start", 0, 1, (int64_t[]){10});
            mb_const_i64(&b, "limit", 0, 1, (int64_t[]){6});
            mb_const_i64(&b, "delta", 0, 1, (int64_t[]){-3});
        }
        mb_node(&b, "Range", NULL, "start,limit,delta", "r", 0);
        if (variant == 0) {
            mb_node(&b, "Add", NULL, "x,r", "y", 0);
        } else {
            mb_node(&b, "Cast", NULL, "r", "rf", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
            mb_node(&b, "Add", NULL, "x,rf", "y", 0);
        }
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        assert_int_equal(count_op(g, CLG_OP_RANGE), 0); /* folded */
        float x[4] = {0, 0, 1, 1}, out[4];
        clg_tensor got = {0};
        run1(g, x, 2, (int64_t[]){2, 2}, out, &got);
        float want[2] = {variant ? 10.0f : 1.0f, variant ? 7.0f : 3.0f};
        for (int k = 0; k < 4; k++) assert_true(out[k] == x[k] + want[k % 2]);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    mb b;
    /* the limit computed in the graph */
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){4});
    mb_const_f(&b, "start", 0);
    mb_node(&b, "ReduceMax", NULL, "x", "limit", 1, A_i(&b, "keepdims", 0));
    mb_const_f(&b, "delta", 1);
    mb_node(&b, "Range", "range", "start,limit,delta", "r", 0);
    mb_output(&b, "r");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node range (Range, opset 13): limit 'limit' is computed in the graph");
    /* delta 0; FLOAT limit with an INT64 start; an empty range */
    static const struct { int64_t start, limit, delta; bool float_limit; clg_status st; const char *msg; } bad[] = {
        {0, 4, 0, false, CLG_ERR_INVALID_GRAPH, "delta 'delta' is 0"},
        {0, 4, 1, true, CLG_ERR_INVALID_GRAPH, "limit 'limit' is FLOAT but start is INT64; Range needs one type"},
        {5, 1, 1, false, CLG_ERR_UNSUPPORTED, "Range(5, 1, 1) is empty; clgraph tensors are never empty"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        mb_init(&b, 13);
        mb_input(&b, "x", 1, (int64_t[]){4});
        mb_const_i64(&b, "start", 0, 1, &bad[k].start);
        if (bad[k].float_limit) mb_const_f(&b, "limit", (float)bad[k].limit);
        else mb_const_i64(&b, "limit", 0, 1, &bad[k].limit);
        mb_const_i64(&b, "delta", 0, 1, &bad[k].delta);
        mb_node(&b, "Range", "range", "start,limit,delta", "r", 0);
        mb_node(&b, "Cast", NULL, "r", "rf", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
        mb_node(&b, "Add", NULL, "x,rf", "y", 0);
        mb_output(&b, "y");
        expect_error(&b, bad[k].st, bad[k].msg);
    }
}

/* ConstantOfShape of a known shape folds on the host: the value (float 0
 * without one, a float, an integer that shape arithmetic can use), a scalar
 * for an empty shape; malformed values are refused. */
static void test_constant_of_shape_host(void **state)
{
    (void)state;
    int64_t xd[2] = {-1, 4};
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
    for (int variant = 0; variant < 3; variant++) {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, xd);
        float v = 2.5f;
        if (variant == 2) mb_const_i64(&b, "shape", 1, 0, (int64_t[]){0}); /* [] : a scalar */
        else mb_const_i64(&b, "shape", 1, 2, (int64_t[]){1, 4});
        if (variant == 0) mb_node(&b, "ConstantOfShape", NULL, "shape", "c", 0);
        else mb_node(&b, "ConstantOfShape", NULL, "shape", "c", 1,
                     A_t(&b, "value", mb_tensor_f(&b, NULL, 1, (int64_t[]){1}, &v, false)));
        mb_node(&b, "Add", NULL, "x,c", "y", 0);
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        clg_tensor got = {0};
        run1(g, x, 2, (int64_t[]){2, 4}, out, &got);
        for (int k = 0; k < 8; k++) assert_true(out[k] == x[k] + (variant == 0 ? 0.0f : 2.5f));
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* An integer fill is a host value: Reshape x by ConstantOfShape([2], 2)
     * = [2, 2] after Concat with -1. */
    {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){2, 4});
        mb_const_i64(&b, "two", 1, 1, (int64_t[]){2});
        mb_node(&b, "ConstantOfShape", NULL, "two", "c", 1,
                A_t(&b, "value", mb_tensor_i64(&b, NULL, 1, (int64_t[]){1}, (int64_t[]){2})));
        mb_const_i64(&b, "m1", 1, 1, (int64_t[]){-1});
        mb_node(&b, "Concat", NULL, "m1,c", "shape", 1, A_i(&b, "axis", 0));
        mb_node(&b, "Reshape", NULL, "x,shape", "y", 0);
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        char text[64];
        assert_string_equal(clg_shape_str(g, &find_node(g, "y")->shape, text, sizeof text), "[2, 2, 2]");
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* A large known shape is a graph Expand, not a host value written out
     * at import. */
    {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){300, 300});
        mb_const_i64(&b, "shape", 1, 2, (int64_t[]){300, 300});
        float v = -1.5f;
        mb_node(&b, "ConstantOfShape", NULL, "shape", "c", 1,
                A_t(&b, "value", mb_tensor_f(&b, NULL, 1, (int64_t[]){1}, &v, true)));
        mb_node(&b, "Add", NULL, "x,c", "y", 0);
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        assert_int_equal(find_node(g, "c")->op, CLG_OP_EXPAND);
        float *big = malloc(2 * 90000 * sizeof *big);
        assert_non_null(big);
        for (int k = 0; k < 90000; k++) big[k] = (float)(k % 7);
        clg_tensor got = {0};
        run1(g, big, 2, (int64_t[]){300, 300}, big + 90000, &got);
        for (int k = 0; k < 90000; k++) assert_true(big[90000 + k] == big[k] - 1.5f);
        free(big);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* A value of two elements; a negative dimension. */
    {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 2, xd);
        mb_const_i64(&b, "shape", 1, 2, (int64_t[]){1, 4});
        mb_node(&b, "ConstantOfShape", "cos", "shape", "c", 1,
                A_t(&b, "value", mb_tensor_f(&b, NULL, 1, (int64_t[]){2}, (float[]){1, 2}, true)));
        mb_node(&b, "Add", NULL, "x,c", "y", 0);
        mb_output(&b, "y");
        expect_error(&b, CLG_ERR_INVALID_GRAPH,
                     "node cos (ConstantOfShape, opset 13): attribute value must hold one element, got 2");
        mb_init(&b, 13);
        mb_input(&b, "x", 2, xd);
        mb_const_i64(&b, "shape", 1, 2, (int64_t[]){1, -4});
        mb_node(&b, "ConstantOfShape", "cos", "shape", "c", 0);
        mb_node(&b, "Add", NULL, "x,c", "y", 0);
        mb_output(&b, "y");
        expect_error(&b, CLG_ERR_INVALID_GRAPH,
                     "node cos (ConstantOfShape, opset 13): the shape 'shape' has the negative dimension -4 at 1");
    }
}

/* ---- GELU */

static void build_gelu(mb *b, int variant)
{
    mb_init(b, 13);
    int64_t xd[2] = {-1, 5};
    mb_input(b, "x", 2, xd);
    if (variant == 0) {
        mb_const_f(b, "sqrt2", 1.4142135381698608f);
        mb_node(b, "Div", "/act/Div", "x,sqrt2", "d", 0);
    } else {
        mb_const_f(b, "rsqrt2", 0.70710677f);
        mb_node(b, "Mul", "/act/Mul_0", "rsqrt2,x", "d", 0);
    }
    mb_node(b, "Erf", "/act/Erf", "d", "e", 0);
    mb_const_f(b, "one", 1.0f);
    mb_node(b, "Add", "/act/Add", variant == 0 ? "e,one" : "one,e", "a", 0);
    mb_const_f(b, "half", 0.5f);
    if (variant == 0) {
        mb_node(b, "Mul", "/act/Mul", "x,a", "m", 0);
        mb_node(b, "Mul", "/act/Mul_1", "m,half", "y", 0);
    } else {
        mb_node(b, "Mul", "/act/Mul", "half,x", "h", 0);
        mb_node(b, "Mul", "/act/Mul_1", "a,h", "y", 0);
    }
    mb_output(b, "y");
}

static void test_gelu_pattern(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        mb b;
        build_gelu(&b, variant);
        clg_graph *g = import_ok(&b);
        assert_int_equal(clg_graph_node_count(g), 2);
        assert_int_equal(find_node(g, "y")->op, CLG_OP_GELU);
        assert_int_equal(find_node(g, "y")->attrs.approximate, 0);
        float x[10], y[10];
        double want[10];
        for (int k = 0; k < 10; k++) {
            x[k] = (float)(k - 5) * 0.7f;
            want[k] = 0.5 * x[k] * (1 + erf(x[k] / sqrt(2.0)));
        }
        int64_t xd[2] = {2, 5};
        clg_tensor out = {0};
        run1(g, x, 2, xd, y, &out);
        assert_close(y, want, 10, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* Erf seen from outside the pattern: no Gelu node; the ops import one
     * by one (Erf as an Elementwise erf) and still compute GELU. */
    mb b;
    build_gelu(&b, 0);
    mb_output(&b, "e");
    clg_graph *g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_GELU), 0);
    assert_string_equal(find_node(g, "e")->attrs.expr, "erf(x0)");
    float x[10], y[20];
    double want[10];
    for (int k = 0; k < 10; k++) {
        x[k] = (float)(k - 5) * 0.7f;
        want[k] = 0.5 * x[k] * (1 + erf(x[k] / sqrt(2.0)));
    }
    int64_t xd[2] = {2, 5};
    clg_tensor in = {x, 2, {2, 5}, CLG_DTYPE_F32}, out[2] = {{y, 0, {0}, CLG_DTYPE_F32}, {y + 10, 0, {0}, CLG_DTYPE_F32}};
    (void)xd;
    if (clg_graph_run_reference(g, &in, 1, out, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
    assert_close(y, want, 10, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);
    /* A different constant: not GELU. */
    build_gelu(&b, 0);
    b.graph.node[0]->attribute[0]->t->raw_data.data[0] ^= 0x40;
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_GELU), 0);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* GELU's tanh approximation as PyTorch exports nn.GELU(approximate='tanh')
 * (variant 0: x * (x * x), beta * (...), 0.5 * (x * a)) and with Pow(x, 3),
 * operands swapped and (x * 0.5) * a (variant 1). */
static void build_gelu_tanh(mb *b, int variant)
{
    mb_init(b, 13);
    int64_t xd[2] = {-1, 5};
    mb_input(b, "x", 2, xd);
    if (variant == 0) {
        mb_node(b, "Mul", "/act/Mul", "x,x", "sq", 0);
        mb_node(b, "Mul", "/act/Mul_1", "x,sq", "cube", 0);
    } else {
        mb_const_f(b, "three", 3.0f);
        mb_node(b, "Pow", "/act/Pow", "x,three", "cube", 0);
    }
    mb_const_f(b, "kappa", 0.044715f);
    mb_node(b, "Mul", "/act/Mul_2", variant == 0 ? "kappa,cube" : "cube,kappa", "kc", 0);
    mb_node(b, "Add", "/act/Add", variant == 0 ? "x,kc" : "kc,x", "v", 0);
    mb_const_f(b, "beta", 0.7978845608f);
    mb_node(b, "Mul", "/act/Mul_3", variant == 0 ? "beta,v" : "v,beta", "u", 0);
    mb_node(b, "Tanh", "/act/Tanh", "u", "t", 0);
    mb_const_f(b, "one", 1.0f);
    mb_node(b, "Add", "/act/Add_1", variant == 0 ? "one,t" : "t,one", "a", 0);
    mb_const_f(b, "half", 0.5f);
    if (variant == 0) {
        mb_node(b, "Mul", "/act/Mul_4", "x,a", "m", 0);
        mb_node(b, "Mul", "/act/Mul_5", "half,m", "y", 0);
    } else {
        mb_node(b, "Mul", "/act/Mul_4", "x,half", "h", 0);
        mb_node(b, "Mul", "/act/Mul_5", "h,a", "y", 0);
    }
    mb_output(b, "y");
}

static void test_gelu_tanh_pattern(void **state)
{
    (void)state;
    float x[10], y[10];
    double want[10];
    for (int k = 0; k < 10; k++) {
        x[k] = (float)(k - 5) * 0.7f;
        double u = sqrt(2 / acos(-1.0)) * (x[k] + 0.044715 * pow(x[k], 3));
        want[k] = 0.5 * x[k] * (1 + tanh(u));
    }
    int64_t xd[2] = {2, 5};
    for (int variant = 0; variant < 2; variant++) {
        mb b;
        build_gelu_tanh(&b, variant);
        clg_graph *g = import_ok(&b);
        assert_int_equal(clg_graph_node_count(g), 2);
        assert_int_equal(find_node(g, "y")->op, CLG_OP_GELU);
        assert_int_equal(find_node(g, "y")->attrs.approximate, 1);
        clg_tensor out = {0};
        run1(g, x, 2, xd, y, &out);
        assert_close(y, want, 10, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* An inner value also used elsewhere: op by op, the same values. */
    mb b;
    build_gelu_tanh(&b, 0);
    mb_output(&b, "t");
    clg_graph *g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_GELU), 0);
    float y2[20];
    clg_tensor in = {x, 2, {2, 5}, CLG_DTYPE_F32}, out[2] = {{y2, 0, {0}, CLG_DTYPE_F32}, {y2 + 10, 0, {0}, CLG_DTYPE_F32}};
    if (clg_graph_run_reference(g, &in, 1, out, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
    assert_close(y2, want, 10, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);
    /* kappa 0.05: not GELU */
    build_gelu_tanh(&b, 1);
    for (size_t k = 0; k < b.graph.n_node; k++)
        if (strcmp(b.graph.node[k]->output[0], "kappa") == 0) b.graph.node[k]->attribute[0]->t->raw_data.data[3] ^= 0x01;
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_GELU), 0);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* ---- activations, unary math, comparisons, logic, variadic ops: one
 * Elementwise node each, checked against the formulas of the ONNX spec
 * written here independently of expr.c */

/* NaN exactly where want is NaN, infinities equal, else within tol. */
static void assert_values(const char *what, const float *got, const double *want, size_t n, double tol)
{
    for (size_t k = 0; k < n; k++) {
        bool ok = isnan(want[k]) ? isnan(got[k])
                : isinf(want[k]) ? got[k] == want[k]
                                 : fabs(got[k] - want[k]) <= tol * (1 + fabs(want[k]));
        if (!ok) fail_msg("%s: element %zu: got %.9g, want %.9g", what, k, got[k], want[k]);
    }
}

static void mb_init_bool(mb *b, const char *name, int rank, const int64_t *dims, const int32_t *data)
{
    Onnx__TensorProto *t = mb_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, rank, dims);
    size_t n = count_of(rank, dims);
    t->n_int32_data = n;
    t->int32_data = mb_alloc(b, (n + 1) * sizeof(int32_t));
    memcpy(t->int32_data, data, n * sizeof(int32_t));
    b->graph.initializer[b->graph.n_initializer++] = t;
}

static double f_elu(double x) { return x < 0 ? 0.5 * (exp(x) - 1) : x; }
static double f_hardswish(double x) { return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double f_neg(double x) { return -x; }
static double f_reciprocal(double x) { return 1 / x; }
static double f_selu(double x)
{
    const double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
    return x > 0 ? gamma * x : gamma * (alpha * exp(x) - alpha);
}
static double f_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double f_softplus(double x) { return log(1 + exp(x)); }
static double f_softsign(double x) { return x / (1 + fabs(x)); }
static double f_thresholded(double x) { return x > (double)0.4f ? x : 0; }
static double f_celu(double x) { return fmax(0, x) + fmin(0, 2 * (exp(x / 2) - 1)); }
static double f_not(double x) { return x == 0; }

static clg_graph *import_unary(mb *b, const char *op, int opset, const char *attr_name, float attr_value)
{
    mb_init(b, opset);
    int64_t xd[2] = {-1, 5};
    mb_input(b, "x", 2, xd);
    if (attr_name) mb_node(b, op, "n", "x", "y", 1, A_f(b, attr_name, attr_value));
    else mb_node(b, op, "n", "x", "y", 0);
    mb_output(b, "y");
    return import_ok(b);
}

static void test_elementwise_ops(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        int opset;
        const char *attr; /* one float attribute, or NULL */
        float value;
        const char *expr;
        double (*f)(double);
    } unary_ops[] = {
        {"Abs", 13, NULL, 0, "abs(x0)", fabs},
        {"Ceil", 13, NULL, 0, "ceil(x0)", ceil},
        {"Celu", 12, "alpha", 2, "celu(x0, 2)", f_celu},
        {"Elu", 6, "alpha", 0.5f, "elu(x0, 0.5)", f_elu},
        {"Erf", 13, NULL, 0, "erf(x0)", erf},
        {"Exp", 13, NULL, 0, "exp(x0)", exp},
        {"Floor", 13, NULL, 0, "floor(x0)", floor},
        {"HardSwish", 14, NULL, 0, "hard_swish(x0)", f_hardswish},
        {"Log", 13, NULL, 0, "log(x0)", log},
        {"Neg", 13, NULL, 0, "-x0", f_neg},
        {"Not", 9, NULL, 0, "not(x0)", f_not},
        {"Reciprocal", 13, NULL, 0, "1 / x0", f_reciprocal},
        {"Selu", 6, NULL, 0, "selu(x0, 1.6732632, 1.050701)", f_selu},
        {"Sign", 13, NULL, 0, "sign(x0)", f_sign},
        {"Softplus", 9, NULL, 0, "softplus(x0)", f_softplus},
        {"Softsign", 9, NULL, 0, "softsign(x0)", f_softsign},
        {"Sqrt", 13, NULL, 0, "sqrt(x0)", sqrt},
        {"ThresholdedRelu", 10, "alpha", 0.4f, "thresholded_relu(x0, 0.4)", f_thresholded},
    };
    float x[10] = {-2.5f, -1.5f, -0.5f, 0, 0.5f, 1.5f, 2.5f, 3.75f, -3.25f, 0.4f}, y[10];
    int64_t xd[2] = {2, 5};
    double want[10];
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        mb b;
        clg_graph *g = import_unary(&b, unary_ops[i].op, unary_ops[i].opset, unary_ops[i].attr, unary_ops[i].value);
        const clg_node *n = find_node(g, "y");
        assert_int_equal(n->op, CLG_OP_ELEMENTWISE);
        assert_string_equal(n->attrs.expr, unary_ops[i].expr);
        clg_tensor out = {0};
        run1(g, x, 2, xd, y, &out);
        for (int k = 0; k < 10; k++) want[k] = unary_ops[i].f(x[k]);
        assert_values(unary_ops[i].op, y, want, 10, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* HardSigmoid with both attributes; Round halves to even. */
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "HardSigmoid", "n", "x", "y", 2, A_f(&b, "alpha", 0.3f), A_f(&b, "beta", 0.4f));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    assert_string_equal(find_node(g, "y")->attrs.expr, "hard_sigmoid(x0, 0.3, 0.4)");
    clg_tensor out = {0};
    run1(g, x, 2, xd, y, &out);
    for (int k = 0; k < 10; k++) want[k] = fmax(0, fmin(1, (double)0.3f * x[k] + (double)0.4f));
    assert_values("HardSigmoid", y, want, 10, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);
    g = import_unary(&b, "Round", 11, NULL, 0);
    run1(g, x, 2, xd, y, &out);
    const double rounded[10] = {-2, -2, -0.0, 0, 0, 2, 2, 4, -3, 0};
    assert_values("Round", y, rounded, 10, 0);
    clg_graph_destroy(g);
    mb_free(&b);

    /* Pow with a FLOAT and an INT64 exponent; PRelu per channel. */
    float xp[10] = {2, 0.5f, 3, 4, 1.5f, 2, 9, 0.25f, 5, 7};
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_init_f(&b, "e", 1, (int64_t[]){5}, (float[]){2, 0.5f, 3, -1, 0}, true);
    mb_init_i64(&b, "k", 1, (int64_t[]){1}, (int64_t[]){3});
    mb_node(&b, "Pow", "p1", "x,e", "y", 0);
    mb_node(&b, "Pow", "p2", "x,k", "z", 0);
    mb_output(&b, "y");
    mb_output(&b, "z");
    g = import_ok(&b);
    assert_string_equal(find_node(g, "y")->attrs.expr, "pow(x0, x1)");
    float yz[20];
    clg_tensor in = {xp, 2, {2, 5}, CLG_DTYPE_F32}, outs[2] = {{yz, 0, {0}, CLG_DTYPE_F32}, {yz + 10, 0, {0}, CLG_DTYPE_F32}};
    if (clg_graph_run_reference(g, &in, 1, outs, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
    const double ex[5] = {2, 0.5, 3, -1, 0};
    for (int k = 0; k < 10; k++) want[k] = pow(xp[k], ex[k % 5]);
    assert_values("Pow", yz, want, 10, 1e-6);
    for (int k = 0; k < 10; k++) want[k] = (double)xp[k] * xp[k] * xp[k];
    assert_values("Pow int64", yz + 10, want, 10, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);

    mb_init(&b, 9);
    mb_input(&b, "x", 4, (int64_t[]){-1, 3, 2, 2});
    mb_init_f(&b, "slope", 3, (int64_t[]){3, 1, 1}, (float[]){0.1f, -2, 0.5f}, true);
    mb_node(&b, "PRelu", "n", "x,slope", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_string_equal(find_node(g, "y")->attrs.expr, "leaky_relu(x0, x1)");
    float x12[12], y12[12];
    double w12[12];
    const double slope[3] = {0.1f, -2, 0.5f};
    for (int k = 0; k < 12; k++) {
        x12[k] = (float)(k - 6) * 0.5f;
        w12[k] = x12[k] < 0 ? slope[k / 4] * x12[k] : x12[k];
    }
    run1(g, x12, 4, (int64_t[]){1, 3, 2, 2}, y12, &out);
    assert_values("PRelu", y12, w12, 12, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);

    /* Variadic ops with broadcasting: x [2, 5], c [5], d [2, 1]. */
    static const struct {
        const char *op, *expr;
    } variadic[] = {
        {"Sum", "x0 + x1 + x2"}, {"Mean", "(x0 + x1 + x2) / 3"}, {"Max", "max(max(x0, x1), x2)"},
        {"Min", "min(min(x0, x1), x2)"},
    };
    const float c5[5] = {0.25f, -1, 2, 0, -0.5f}, d2[2] = {1, -2};
    for (size_t i = 0; i < sizeof variadic / sizeof variadic[0]; i++) {
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){2, 5});
        mb_init_f(&b, "c", 1, (int64_t[]){5}, c5, true);
        mb_init_f(&b, "d", 2, (int64_t[]){2, 1}, d2, true);
        mb_node(&b, variadic[i].op, "n", "x,c,d", "y", 0);
        mb_output(&b, "y");
        g = import_ok(&b);
        assert_string_equal(find_node(g, "y")->attrs.expr, variadic[i].expr);
        run1(g, x, 2, xd, y, &out);
        for (int k = 0; k < 10; k++) {
            double a = x[k], bb = c5[k % 5], cc = d2[k / 5];
            want[k] = i == 0 ? a + bb + cc : i == 1 ? (a + bb + cc) / 3 : i == 2 ? fmax(fmax(a, bb), cc)
                                                                               : fmin(fmin(a, bb), cc);
        }
        assert_values(variadic[i].op, y, want, 10, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* One input: a copy. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "Max", "n", "x", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_string_equal(find_node(g, "y")->attrs.expr, "x0");
    clg_graph_destroy(g);
    mb_free(&b);

    /* Comparisons and logic give 1 and 0: (x > c) xor (x <= c) is 1 everywhere, ... */
    static const struct {
        const char *op, *expr;
    } compare[] = {
        {"Equal", "eq(x0, x1)"}, {"Less", "lt(x0, x1)"}, {"Greater", "gt(x0, x1)"},
        {"LessOrEqual", "le(x0, x1)"}, {"GreaterOrEqual", "ge(x0, x1)"},
    };
    float xc[10] = {0.25f, -1, 3, 0, -0.5f, 1, -1, -2, 0.5f, -0.5f};
    for (size_t i = 0; i < sizeof compare / sizeof compare[0]; i++) {
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){2, 5});
        mb_init_f(&b, "c", 1, (int64_t[]){5}, c5, true);
        mb_node(&b, compare[i].op, "n", "x,c", "y", 0);
        mb_output(&b, "y");
        g = import_ok(&b);
        assert_string_equal(find_node(g, "y")->attrs.expr, compare[i].expr);
        run1(g, xc, 2, xd, y, &out);
        for (int k = 0; k < 10; k++) {
            double a = xc[k], bb = c5[k % 5];
            want[k] = i == 0 ? a == bb : i == 1 ? a < bb : i == 2 ? a > bb : i == 3 ? a <= bb : a >= bb;
        }
        assert_values(compare[i].op, y, want, 10, 0);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* Declared BOOL (as ONNX types a comparison), the output is a Cast to
     * bool of the formula, and the caller receives bytes 0 and 1. */
    for (int undeclared = 0; undeclared <= 1; undeclared++) {
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){2, 5});
        mb_init_f(&b, "c", 1, (int64_t[]){5}, c5, true);
        mb_node(&b, "Greater", "n", "x,c", "y", 0);
        mb_output(&b, "y");
        b.graph.output[0]->type->tensor_type->elem_type = undeclared ? 0 : ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
        g = import_ok(&b);
        const clg_node *yn = find_node(g, "y");
        assert_int_equal(yn->op, CLG_OP_CAST);
        assert_int_equal(yn->attrs.to, CLG_DTYPE_BOOL);
        assert_string_equal(g->nodes[yn->inputs[0]].attrs.expr, "gt(x0, x1)");
        clg_dtype dt;
        assert_int_equal(clg_graph_output_dtype(g, 0, &dt), CLG_OK);
        assert_int_equal(dt, CLG_DTYPE_BOOL);
        uint8_t yb[10];
        clg_tensor in = {xc, 2, {2, 5}, CLG_DTYPE_F32}, yt = {(float *)yb, 0, {0}, CLG_DTYPE_BOOL};
        if (clg_graph_run_reference(g, &in, 1, &yt, 1)) fail_msg("reference: %s", clg_graph_errmsg(g));
        for (int k = 0; k < 10; k++) assert_int_equal(yb[k], xc[k] > c5[k % 5]);
        clg_context *ctx = test_context();
        if (ctx) {
            clg_model *m = NULL;
            if (clg_model_create(&m, ctx, g)) fail_msg("model: %s", clg_context_errmsg(ctx));
            memset(yb, 7, sizeof yb);
            yt.data = (float *)yb;
            if (clg_model_run(m, &in, 1, &yt, 1)) fail_msg("run: %s", clg_model_errmsg(m));
            for (int k = 0; k < 10; k++) assert_int_equal(yb[k], xc[k] > c5[k % 5]);
            clg_model_destroy(m);
        }
        clg_graph_destroy(g);
        mb_free(&b);
    }
    static const struct {
        const char *op, *expr;
    } logic[] = {{"And", "and(x0, x1)"}, {"Or", "or(x0, x1)"}, {"Xor", "xor(x0, x1)"}};
    for (size_t i = 0; i < sizeof logic / sizeof logic[0]; i++) {
        mb_init(&b, 13);
        mb_input(&b, "x", 2, (int64_t[]){2, 5});
        mb_init_f(&b, "c", 1, (int64_t[]){5}, c5, true);
        mb_const_f(&b, "zero", 0);
        mb_node(&b, "Greater", "g1", "x,zero", "p", 0);
        mb_node(&b, "Less", "g2", "c,zero", "q", 0);
        mb_node(&b, logic[i].op, "n", "p,q", "y", 0);
        mb_output(&b, "y");
        g = import_ok(&b);
        assert_string_equal(find_node(g, "y")->attrs.expr, logic[i].expr);
        run1(g, xc, 2, xd, y, &out);
        for (int k = 0; k < 10; k++) {
            bool p = xc[k] > 0, q = c5[k % 5] < 0;
            want[k] = i == 0 ? (p && q) : i == 1 ? (p || q) : (p != q);
        }
        assert_values(logic[i].op, y, want, 10, 0);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* Where(cond, x, c) with a BOOL constant condition and the condition
 * Equal(a, b) of two INT64 constants, both computed as 1.0 / 0.0. */
static void build_where_bool(mb *b)
{
    mb_init(b, 13);
    mb_input(b, "x", 2, (int64_t[]){2, 5});
    mb_init_bool(b, "cond", 1, (int64_t[]){5}, (int32_t[]){1, 0, 0, 1, 1});
    mb_init_f(b, "c", 2, (int64_t[]){2, 1}, (float[]){10, 20}, true);
    mb_init_i64(b, "a", 1, (int64_t[]){5}, (int64_t[]){7, -3, 16777216, 0, 5});
    mb_init_i64(b, "b", 1, (int64_t[]){1}, (int64_t[]){7});
    mb_node(b, "Where", "w1", "cond,x,c", "y", 0);
    mb_node(b, "Equal", "eq", "a,b", "e", 0);
    mb_node(b, "Where", "w2", "e,c,x", "z", 0);
    mb_output(b, "y");
    mb_output(b, "z");
}

static void test_where(void **state)
{
    (void)state;
    mb b;
    build_where_bool(&b);
    clg_graph *g = import_ok(&b);
    assert_string_equal(find_node(g, "y")->attrs.expr, "where(x0, x1, x2)");
    /* Equal of two integer constants folds on the host (exactly, as
     * integers); its BOOL result enters w2 as a FLOAT constant. */
    assert_true(clg_find_value(g, "e") < 0);
    float x[10], yz[20];
    double want[20];
    const int cond[5] = {1, 0, 0, 1, 1}, eq[5] = {1, 0, 0, 0, 0};
    for (int k = 0; k < 10; k++) {
        x[k] = (float)k - 4.5f;
        want[k] = cond[k % 5] ? x[k] : (k < 5 ? 10 : 20);
        want[10 + k] = eq[k % 5] ? (k < 5 ? 10 : 20) : x[k];
    }
    clg_tensor in = {x, 2, {2, 5}, CLG_DTYPE_F32}, outs[2] = {{yz, 0, {0}, CLG_DTYPE_F32}, {yz + 10, 0, {0}, CLG_DTYPE_F32}};
    if (clg_graph_run_reference(g, &in, 1, outs, 2)) fail_msg("reference: %s", clg_graph_errmsg(g));
    assert_values("Where", yz, want, 20, 0);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* Hardmax marks the first maximum only (ties), Shrink's three pieces, and
 * GlobalMaxPool as a ReduceMax; each against values written here. */
static void test_hardmax_shrink_global_max(void **state)
{
    (void)state;
    mb b;
    float x6[6] = {1, 3, 3, 2, 2, -1}, y6[6];
    clg_tensor out = {y6, 0, {0}, CLG_DTYPE_F32};
    int64_t d23[2] = {2, 3};
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 3});
    mb_node(&b, "Hardmax", "h", "x", "y", 0);
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    run1(g, x6, 2, d23, y6, &out);
    assert_values("Hardmax", y6, (double[]){0, 1, 0, 1, 0, 0}, 6, 0);
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 3});
    mb_node(&b, "Hardmax", "h", "x", "y", 1, A_i(&b, "axis", 0));
    mb_output(&b, "y");
    g = import_ok(&b);
    run1(g, x6, 2, d23, y6, &out);
    assert_values("Hardmax axis 0", y6, (double[]){0, 1, 1, 1, 0, 0}, 6, 0);
    clg_graph_destroy(g);
    mb_free(&b);
    /* along a symbolic dim there is no constant to compare with */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 3});
    mb_node(&b, "Hardmax", "h", "x", "y", 1, A_i(&b, "axis", 0));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node h (Hardmax, opset 13): the dim along axis 0 is symbolic");
    /* Before opset 13 axis flattens the dims after it. */
    mb_init(&b, 11);
    mb_input(&b, "x", 3, (int64_t[]){-1, 3, 4});
    mb_node(&b, "Hardmax", "h", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node h (Hardmax, opset 11): axis 1 before opset 13");
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 3});
    mb_node(&b, "Shrink", "s", "x", "y", 2, A_f(&b, "lambd", 1.5f), A_f(&b, "bias", 0.25f));
    mb_output(&b, "y");
    g = import_ok(&b);
    float xs[6] = {-2, -1.5f, 0, 1.5f, 1.75f, 3};
    run1(g, xs, 2, d23, y6, &out);
    assert_values("Shrink", y6, (double[]){-1.75, 0, 0, 0, 1.5, 2.75}, 6, 0);
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){-1, 2, 1, 3});
    mb_node(&b, "GlobalMaxPool", "p", "x", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    float xp[6] = {1, -4, 0.5f, -3, -2, -7};
    run1(g, xp, 4, (int64_t[]){1, 2, 1, 3}, y6, &out);
    assert_values("GlobalMaxPool", y6, (double[]){1, -2}, 2, 0);
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 3});
    mb_node(&b, "GlobalMaxPool", "p", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (GlobalMaxPool, opset 13): the input 'x' has rank 2");
}

static void test_elementwise_ops_refused(void **state)
{
    (void)state;
    mb b;
    /* An integer that float cannot hold exactly. */
    build_where_bool(&b);
    b.graph.initializer[2]->int64_data[2] = 16777217;
    b.graph.node[1]->op_type = (char *)"Less"; /* Equal of constants folds on the host, as integers */
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node eq (Less, opset 13): 'a' element 2 is 16777217; integers are computed as floats, exact only "
                 "up to 2^24");
    /* Pow of an integer base gives integers. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_init_i64(&b, "k", 1, (int64_t[]){1}, (int64_t[]){3});
    mb_node(&b, "Pow", "p", "k,x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node p (Pow, opset 13): Pow of the INT64 base 'k' is not supported");
    /* Celu divides by alpha. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "Celu", "n", "x", "y", 1, A_f(&b, "alpha", 0));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node n (Celu, opset 13): attribute alpha=0 is not supported");
    /* An attribute of the wrong type. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "Elu", "n", "x", "y", 1, A_i(&b, "alpha", 1));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node n (Elu, opset 13): attribute alpha must be a float");
    /* A PRelu slope that widens X. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_init_f(&b, "slope", 3, (int64_t[]){3, 1, 1}, (float[]){1, 2, 3}, true);
    mb_node(&b, "PRelu", "n", "x,slope", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node n (PRelu, opset 13): the slope 'slope' widens X");
    /* Mish is an opset 18 op. */
    mb_init(&b, 17);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "Mish", "n", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node n (Mish, opset 17): Mish before opset 18 is not supported");
    /* More inputs than an Elementwise node takes. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, 5});
    mb_node(&b, "Sum", "n", "x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node n (Sum, opset 13): 17 inputs; at most 16 are supported");
}

/* ---- Softmax before opset 13: flatten at axis, softmax rows, reshape back */

static void test_softmax_opset11(void **state)
{
    (void)state;
    float x[2 * 3 * 4];
    for (int k = 0; k < 24; k++) x[k] = (float)((k * 7) % 13) * 0.25f - 1;
    for (int axis = 0; axis < 3; axis++) {
        mb b;
        mb_init(&b, 11);
        int64_t xd[3] = {2, 3, 4};
        mb_input(&b, "x", 3, xd);
        mb_node(&b, "Softmax", "sm", "x", "y", 1, A_i(&b, "axis", axis));
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        assert_int_equal(count_op(g, CLG_OP_SOFTMAX), 1);
        assert_int_equal(count_op(g, CLG_OP_RESHAPE), axis == 2 ? 0 : 2);
        float y[24];
        double want[24];
        /* rows of `inner` elements: the dims from axis on */
        int inner = axis == 0 ? 24 : axis == 1 ? 12 : 4;
        for (int r = 0; r < 24 / inner; r++) {
            double m = -INFINITY, z = 0;
            for (int k = 0; k < inner; k++) m = fmax(m, x[r * inner + k]);
            for (int k = 0; k < inner; k++) z += exp(x[r * inner + k] - m);
            for (int k = 0; k < inner; k++) want[r * inner + k] = exp(x[r * inner + k] - m) / z;
        }
        clg_tensor out = {0};
        run1(g, x, 3, xd, y, &out);
        assert_int_equal(out.rank, 3);
        assert_close(y, want, 24, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* With N, axis 1 works (Reshape [0, 12]) and axis 0 cannot. */
    for (int axis = 0; axis < 2; axis++) {
        mb b;
        mb_init(&b, 11);
        int64_t xd[3] = {-1, 3, 4};
        mb_input(&b, "x", 3, xd);
        mb_node(&b, "Softmax", "sm", "x", "y", 1, A_i(&b, "axis", axis));
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        if (axis == 0) {
            /* Reshape [-1]: one softmax over everything, N included. */
            const clg_node *flat0 = find_node(g, "y/flat");
            assert_int_equal(flat0->attrs.shape_rank, 1);
            float x[2 * 12], out[2 * 12];
            double want[2 * 12], sum = 0;
            for (int k = 0; k < 24; k++) sum += exp(x[k] = (float)(k % 7) * 0.25f);
            for (int k = 0; k < 24; k++) want[k] = exp(x[k]) / sum;
            clg_tensor got = {0};
            run1(g, x, 3, (int64_t[]){2, 3, 4}, out, &got);
            assert_close(out, want, 24, 1e-6);
            clg_graph_destroy(g);
            mb_free(&b);
            continue;
        }
        const clg_node *flat = find_node(g, "y/flat");
        assert_int_equal(flat->attrs.shape_rank, 2);
        assert_int_equal(flat->attrs.shape[0], 0);
        assert_int_equal(flat->attrs.shape[1], 12);
        assert_int_equal(find_node(g, "y")->shape.dims[0], CLG_BATCH);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

/* ---- reductions and normalisations (onnx_reduce.c); the ONNX node tests
 * cover the values of every reduction, these the forms and errors. */

static void test_layer_normalization(void **state)
{
    (void)state;
    /* axis 1 of [2, 3, 4]: two rows of 12, scale and bias of shape [3, 4];
     * the expected values computed here in double. */
    float x[24], sc[12], bi[12];
    for (int k = 0; k < 24; k++) x[k] = (float)((k * 5) % 11) * 0.5f - 2;
    for (int k = 0; k < 12; k++) {
        sc[k] = 0.5f + 0.125f * (float)k;
        bi[k] = 0.25f * (float)(k % 3) - 0.25f;
    }
    int64_t xd[3] = {2, 3, 4}, pd[2] = {3, 4};
    mb b;
    mb_init(&b, 17);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "scale", 2, pd, sc, true);
    mb_init_f(&b, "bias", 2, pd, bi, false);
    mb_node(&b, "LayerNormalization", "ln", "x,scale,bias", "y", 2, A_i(&b, "axis", 1), A_f(&b, "epsilon", 0.01f));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_LAYER_NORM), 1);
    float y[24];
    double want[24];
    for (int r = 0; r < 2; r++) {
        double mean = 0, var = 0;
        for (int k = 0; k < 12; k++) mean += x[r * 12 + k] / 12.0;
        for (int k = 0; k < 12; k++) var += (x[r * 12 + k] - mean) * (x[r * 12 + k] - mean) / 12.0;
        for (int k = 0; k < 12; k++)
            want[r * 12 + k] = (x[r * 12 + k] - mean) / sqrt(var + (double)0.01f) * sc[k] + bi[k];
    }
    clg_tensor out = {0};
    run1(g, x, 3, xd, y, &out);
    assert_close(y, want, 24, 1e-6);
    clg_graph_destroy(g);
    mb_free(&b);

    /* The statistics outputs are computed only when used: Mean as a
     * ReduceMean over the normalised dims (kept as 1); named but unused,
     * InvStdDev adds nothing. */
    mb_init(&b, 17);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "scale", 2, pd, sc, true);
    mb_node(&b, "LayerNormalization", "ln", "x,scale", "y,mean,inv", 1, A_i(&b, "axis", 1));
    mb_output(&b, "y");
    mb_output(&b, "mean");
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_REDUCE_MEAN), 1);
    assert_int_equal(count_op(g, CLG_OP_ELEMENTWISE), 0);
    const clg_node *mn = find_node(g, "mean");
    assert_int_equal(mn->op, CLG_OP_REDUCE_MEAN);
    assert_int_equal(mn->shape.rank, 3);
    assert_int_equal(mn->shape.dims[1], 1);
    assert_int_equal(mn->shape.dims[2], 1);
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 17);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "scale", 2, pd, sc, true);
    mb_node(&b, "LayerNormalization", "ln", "x,scale", "y", 1, A_i(&b, "stash_type", 11));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node ln (LayerNormalization, opset 17): stash_type=11 is not supported");
    /* A scale that is not the normalised dims' trailing shape. */
    int64_t bad[1] = {3};
    mb_init(&b, 17);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "scale", 1, bad, sc, true);
    mb_node(&b, "LayerNormalization", "ln", "x,scale", "y", 1, A_i(&b, "axis", 1));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "scale [3] must match the trailing dims");
    /* Before opset 17 it is not an ONNX op. */
    mb_init(&b, 16);
    mb_input(&b, "x", 3, xd);
    mb_init_f(&b, "scale", 2, pd, sc, true);
    mb_node(&b, "LayerNormalization", "ln", "x,scale", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "LayerNormalization before opset 17 is not supported");
}

/* LayerNorm as PyTorch exports it before opset 17 (ReduceMean, Sub, Pow 2,
 * ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta) and as tf2onnx
 * writes Keras' (SquaredDifference as Sub and Mul, Rsqrt as Sqrt and
 * Reciprocal, x * inv + (beta - mean * inv)): imported op by op, then one
 * LayerNorm at -O2 that computes the same on the reference executor. */
static void test_layer_norm_patterns_fuse(void **state)
{
    (void)state;
    float sc[8], bi[8], x[3 * 5 * 8];
    for (int k = 0; k < 8; k++) {
        sc[k] = 0.5f + 0.1f * (float)k;
        bi[k] = 0.2f * (float)(k % 3) - 0.2f;
    }
    for (int k = 0; k < 120; k++) x[k] = (float)((k * 13) % 17) * 0.4f - 3.0f;
    int64_t xd[3] = {-1, 5, 8}, cd[1] = {8}, ax[1] = {-1};
    for (int form = 0; form < 2; form++) {
        mb b;
        mb_init(&b, 13);
        mb_input(&b, "x", 3, xd);
        mb_init_f(&b, "gamma", 1, cd, sc, true);
        mb_init_f(&b, "beta", 1, cd, bi, true);
        mb_const_f(&b, "eps", 1e-3f);
        mb_node(&b, "ReduceMean", NULL, "x", "mean", 1, A_ints(&b, "axes", 1, ax));
        mb_node(&b, "Sub", NULL, "x,mean", "d", 0);
        if (form == 0) {
            mb_const_f(&b, "two", 2.0f);
            mb_node(&b, "Pow", NULL, "d,two", "sq", 0);
        } else {
            mb_node(&b, "Sub", NULL, "x,mean", "d2", 0);
            mb_node(&b, "Mul", NULL, "d2,d2", "sq", 0);
        }
        mb_node(&b, "ReduceMean", NULL, "sq", "var", 1, A_ints(&b, "axes", 1, ax));
        mb_node(&b, "Add", NULL, "var,eps", "ve", 0);
        mb_node(&b, "Sqrt", NULL, "ve", "sd", 0);
        if (form == 0) {
            mb_node(&b, "Div", NULL, "d,sd", "n", 0);
            mb_node(&b, "Mul", NULL, "n,gamma", "g", 0);
            mb_node(&b, "Add", NULL, "g,beta", "y", 0);
        } else {
            mb_node(&b, "Reciprocal", NULL, "sd", "r", 0);
            mb_node(&b, "Mul", NULL, "r,gamma", "inv", 0);
            mb_node(&b, "Mul", NULL, "x,inv", "xi", 0);
            mb_node(&b, "Mul", NULL, "mean,inv", "mi", 0);
            mb_node(&b, "Sub", NULL, "beta,mi", "sh", 0);
            mb_node(&b, "Add", NULL, "xi,sh", "y", 0);
        }
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        int64_t rd[3] = {3, 5, 8};
        float y0[120], y2[120];
        double want[120];
        for (int r = 0; r < 15; r++) {
            double mean = 0, var = 0;
            for (int k = 0; k < 8; k++) mean += x[r * 8 + k] / 8.0;
            for (int k = 0; k < 8; k++) var += (x[r * 8 + k] - mean) * (x[r * 8 + k] - mean) / 8.0;
            for (int k = 0; k < 8; k++)
                want[r * 8 + k] = (x[r * 8 + k] - mean) / sqrt(var + (double)1e-3f) * sc[k] + bi[k];
        }
        clg_tensor out = {0};
        run1(g, x, 3, rd, y0, &out);
        assert_close(y0, want, 120, 1e-5);
        assert_int_equal(clg_graph_optimize(g, 2, NULL, NULL), CLG_OK);
        assert_int_equal(count_op(g, CLG_OP_LAYER_NORM), 1);
        assert_int_equal(count_op(g, CLG_OP_REDUCE_MEAN), 0);
        assert_int_equal(clg_graph_node_count(g), 4); /* x, gamma, beta, the LayerNorm */
        run1(g, x, 3, rd, y2, &out);
        assert_close(y2, want, 120, 1e-5);
        clg_graph_destroy(g);
        mb_free(&b);
    }
}

static void test_reduce_forms(void **state)
{
    (void)state;
    int64_t xd[3] = {-1, 3, 4};
    /* ReduceSum-13's axes input; keepdims=0. */
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    int64_t ax[2] = {-1, 1};
    mb_const_i64(&b, "axes", 1, 2, ax);
    mb_node(&b, "ReduceSum", "rs", "x,axes", "y", 1, A_i(&b, "keepdims", 0));
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    const clg_node *y = find_node(g, "y");
    assert_int_equal(y->op, CLG_OP_REDUCE_SUM);
    assert_int_equal(y->attrs.axes_rank, 2);
    assert_int_equal(y->attrs.keepdims, 0);
    assert_int_equal(y->shape.rank, 1);
    assert_int_equal(y->shape.dims[0], CLG_BATCH);
    clg_graph_destroy(g);
    mb_free(&b);
    /* No axes with noop_with_empty_axes: the input unchanged. */
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceSum", "rs", "x", "y", 1, A_i(&b, "noop_with_empty_axes", 1));
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_REDUCE_SUM), 0);
    clg_graph_destroy(g);
    mb_free(&b);
    /* From opset 18 every reduction takes its axes as an input, and an
     * attribute is refused. */
    mb_init(&b, 18);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceMax", "rm", "x", "y", 1, A_ints(&b, "axes", 1, (int64_t[]){2}));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node rm (ReduceMax, opset 18): axes is an input, not an attribute, from opset 18");
    /* ReduceMean takes its axes as an attribute up to opset 17. */
    mb_init(&b, 17);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceMean", "rm", "x", "y", 1, A_ints(&b, "axes", 1, (int64_t[]){2}));
    mb_output(&b, "y");
    g = import_ok(&b);
    y = find_node(g, "y");
    assert_int_equal(y->op, CLG_OP_REDUCE_MEAN);
    assert_int_equal(y->shape.rank, 3);
    assert_int_equal(y->shape.dims[2], 1);
    clg_graph_destroy(g);
    mb_free(&b);
    /* Shape arithmetic folds on the host: Reshape(x, [0, ReduceProd(Shape(x)[1:3])])
     * is a Reshape to [N, 12] with no reduction in the graph. */
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    int64_t one[1] = {1}, three[1] = {3}, zero[1] = {0};
    mb_node(&b, "Shape", NULL, "x", "shape", 0);
    mb_const_i64(&b, "starts", 1, 1, one);
    mb_const_i64(&b, "ends", 1, 1, three);
    mb_node(&b, "Slice", NULL, "shape,starts,ends", "tail", 0);
    mb_node(&b, "ReduceProd", "rp", "tail", "prod", 0);
    mb_const_i64(&b, "zero", 1, 1, zero);
    mb_node(&b, "Concat", NULL, "zero,prod", "target", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Reshape", NULL, "x,target", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_REDUCE_PROD), 0);
    y = find_node(g, "y");
    assert_int_equal(y->shape.rank, 2);
    assert_int_equal(y->shape.dims[0], CLG_BATCH);
    assert_int_equal(y->shape.dims[1], 12);
    clg_graph_destroy(g);
    mb_free(&b);
    /* Over N too, as size arithmetic: Reshape(x, ReduceProd(Shape(x)))
     * flattens [N, 3, 4] to [12*N]; the maximum of sizes is not one. */
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "Shape", NULL, "x", "shape", 0);
    mb_node(&b, "ReduceProd", "rp", "shape", "prod", 0);
    mb_node(&b, "Reshape", NULL, "x,prod", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    y = find_node(g, "y");
    assert_int_equal(y->shape.rank, 1);
    char dim[32];
    assert_string_equal(clg_dim_str(g, y->shape.dims[0], dim, sizeof dim), "12*N");
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "Shape", NULL, "x", "shape", 0);
    mb_node(&b, "ReduceMax", "rm", "shape", "m", 0);
    mb_node(&b, "Reshape", NULL, "x,m", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node rm (ReduceMax, opset 13): ReduceMax of symbolic sizes (N, 3)");
    /* Errors: axes as an attribute of ReduceSum-13, an axis out of range,
     * keepdims not 0 or 1. */
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceSum", "rs", "x", "y", 1, A_ints(&b, "axes", 1, (int64_t[]){1}));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "axes is an input, not an attribute, from opset 18 (ReduceSum: 13)");
    mb_init(&b, 11);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceMax", "rm", "x", "y", 1, A_ints(&b, "axes", 1, (int64_t[]){3}));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "axes[0] = 3 is out of range for rank 3");
    mb_init(&b, 11);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "ReduceMin", "rm", "x", "y", 1, A_i(&b, "keepdims", 2));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "keepdims must be 0 or 1, got 2");
}

/* ---- Conv and pools: auto_pad to explicit pads */

static void test_auto_pad(void **state)
{
    (void)state;
    static const struct {
        const char *pad;
        int64_t kernel, stride;
        int64_t want[4];
    } cases[] = {
        {"SAME_UPPER", 2, 2, {0, 0, 1, 1}}, {"SAME_LOWER", 2, 2, {1, 1, 0, 0}}, {"SAME_UPPER", 3, 1, {1, 1, 1, 1}},
        {"SAME_LOWER", 4, 1, {2, 2, 1, 1}}, {"VALID", 3, 2, {0, 0, 0, 0}},      {"NOTSET", 3, 1, {0, 0, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int op = 0; op < 2; op++) {
            mb b;
            mb_init(&b, 13);
            int64_t xd[4] = {-1, 1, 5, 5}, wd[4] = {1, 1, cases[c].kernel, cases[c].kernel};
            float w[16];
            for (int k = 0; k < 16; k++) w[k] = 1;
            mb_input(&b, "x", 4, xd);
            int64_t st[2] = {cases[c].stride, cases[c].stride}, ks[2] = {cases[c].kernel, cases[c].kernel};
            if (op == 0) {
                mb_init_f(&b, "w", 4, wd, w, true);
                mb_node(&b, "Conv", "c", "x,w", "y", 2, A_s(&b, "auto_pad", cases[c].pad), A_ints(&b, "strides", 2, st));
            } else {
                mb_node(&b, "MaxPool", "p", "x", "y", 3, A_s(&b, "auto_pad", cases[c].pad), A_ints(&b, "strides", 2, st),
                        A_ints(&b, "kernel_shape", 2, ks));
            }
            mb_output(&b, "y");
            clg_graph *g = import_ok(&b);
            const clg_node *y = find_node(g, "y");
            for (int k = 0; k < 4; k++)
                if (y->attrs.pads[k] != cases[c].want[k])
                    fail_msg("%s kernel %lld stride %lld: pads[%d] = %lld, want %lld", cases[c].pad,
                             (long long)cases[c].kernel, (long long)cases[c].stride, k, (long long)y->attrs.pads[k],
                             (long long)cases[c].want[k]);
            if (cases[c].pad[0] == 'S')
                assert_int_equal(y->shape.dims[2], (5 + cases[c].stride - 1) / cases[c].stride);
            clg_graph_destroy(g);
            mb_free(&b);
        }
    }
    mb b;
    mb_init(&b, 13);
    int64_t xd[4] = {1, 1, 5, 5}, wd[4] = {1, 1, 3, 3};
    float w[9] = {0};
    mb_input(&b, "x", 4, xd);
    mb_init_f(&b, "w", 4, wd, w, false);
    mb_node(&b, "Conv", "/layer1/Conv", "x,w", "y", 1, A_s(&b, "auto_pad", "FOO"));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node /layer1/Conv (Conv, opset 13): auto_pad 'FOO' is not supported");
}

/* ---- names */

static void test_names(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    int64_t d[2] = {2, 3};
    mb_input(&b, "input:0", 2, d);
    mb_input(&b, "input_0", 2, d); /* collides with the mapped "input:0" */
    mb_node(&b, "Relu", NULL, "input:0", "a b", 0);
    mb_node(&b, "Relu", NULL, "input_0", "a_b", 0);
    mb_node(&b, "Add", NULL, "a b,a_b", "résumé", 0);
    mb_output(&b, "résumé");
    clg_graph *g = import_ok(&b);
    const char *name;
    assert_int_equal(clg_graph_input_info(g, 0, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "input_0");
    assert_int_equal(clg_graph_input_info(g, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "input_0.1");
    assert_int_equal(find_node(g, "a_b")->op, CLG_OP_RELU);
    assert_int_equal(find_node(g, "a_b.1")->op, CLG_OP_RELU);
    assert_int_equal(clg_graph_output_info(g, 0, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "r__sum__"); /* each byte of é is replaced */
    /* Imports are deterministic, and the printed text parses back. */
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    clg_graph *h = NULL;
    assert_int_equal(clg_graph_create(&h, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_parse(h, text, strlen(text), NULL), CLG_OK);
    clg_graph_free(g, text);
    clg_graph_destroy(h);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* ---- ops and forms */

static void test_clip_forms(void **state)
{
    (void)state;
    float x[6] = {-3, -1, 0, 0.5f, 2, 9};
    int64_t xd[2] = {2, 3};
    for (int form = 0; form < 4; form++) {
        mb b;
        mb_init(&b, form == 0 ? 6 : form == 1 ? 11 : 13);
        mb_input(&b, "x", 2, xd);
        double lo = -1, hi = 2;
        if (form == 0) {
            mb_node(&b, "Clip", "c", "x", "y", 2, A_f(&b, "min", -1), A_f(&b, "max", 2));
        } else if (form == 1) {
            mb_const_f(&b, "lo", -1);
            mb_const_f(&b, "hi", 2);
            mb_node(&b, "Clip", "c", "x,lo,hi", "y", 0);
        } else if (form == 2) {
            mb_init_f(&b, "hi", 0, NULL, (float[]){2}, false);
            mb_node(&b, "Clip", "c", "x,,hi", "y", 0); /* no min */
            lo = -INFINITY;
        } else {
            mb_node(&b, "Clip", "c", "x", "y", 0); /* no bounds at all */
            lo = -INFINITY;
            hi = INFINITY;
        }
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        float y[6];
        double want[6];
        for (int k = 0; k < 6; k++) want[k] = fmin(fmax(x[k], lo), hi);
        clg_tensor out = {0};
        run1(g, x, 2, xd, y, &out);
        assert_close(y, want, 6, 0);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_input(&b, "lo", 1, (int64_t[]){1});
    mb_node(&b, "Clip", "c", "x,lo", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node c (Clip, opset 13): min 'lo' must be a constant");
}

/* Pad: attributes before opset 11, constant inputs from 11 on; the values
 * are numpy.pad's on x = [[1, 2, 3], [4, 5, 6]], worked out by hand. */
static void test_pad_forms(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[2] = {2, 3}, pads[4] = {0, 1, 1, 0}; /* begins (0, 1), ends (1, 0) */
    /* np.pad(x, ((0, 1), (1, 0)), constant_values=9) */
    static const double constant9[12] = {9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9};
    /* np.pad(x, ((0, 1), (1, 0)), 'reflect') and 'edge' */
    static const double reflect[12] = {2, 1, 2, 3, 5, 4, 5, 6, 2, 1, 2, 3};
    static const double edge[12] = {1, 1, 2, 3, 4, 4, 5, 6, 4, 4, 5, 6};
    for (int form = 0; form < 5; form++) {
        mb b;
        mb_init(&b, form == 0 ? 2 : form == 1 ? 10 : form == 2 ? 11 : 13);
        mb_input(&b, "x", 2, xd);
        const double *want = constant9;
        if (form <= 1) {
            mb_node(&b, "Pad", "p", "x", "y", 2, A_ints(&b, "pads", 4, pads), A_f(&b, "value", 9));
        } else if (form == 2) {
            mb_init_i64(&b, "pads", 1, (int64_t[]){4}, pads);
            mb_const_f(&b, "v", 9);
            mb_node(&b, "Pad", "p", "x,pads,v", "y", 0);
        } else {
            mb_const_i64(&b, "pads", 1, 4, pads);
            mb_node(&b, "Pad", "p", "x,pads", "y", 1, A_s(&b, "mode", form == 3 ? "reflect" : "edge"));
            want = form == 3 ? reflect : edge;
        }
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        assert_int_equal(count_op(g, CLG_OP_PAD), 1);
        float y[12];
        clg_tensor out = {0};
        run1(g, x, 2, xd, y, &out);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[0], 3);
        assert_int_equal(out.dims[1], 4);
        assert_close(y, want, 12, 0);
        clg_graph_destroy(g);
        mb_free(&b);
    }

    /* The pads must be constants: here they hold the batch size N (x's
     * shape, [N, 3], then two zeros). */
    mb b;
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 3});
    mb_node(&b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(&b, "zeros", 1, 2, (int64_t[]){0, 0});
    mb_node(&b, "Concat", NULL, "s,zeros", "pads", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Pad", "p", "x,pads", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node p (Pad, opset 13): pads 'pads' is a computed tensor");
    /* ... and so must the value. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_input(&b, "v", 1, (int64_t[]){1});
    mb_init_i64(&b, "pads", 1, (int64_t[]){4}, pads);
    mb_node(&b, "Pad", "p", "x,pads,v", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node p (Pad, opset 13): constant_value 'v' is a computed tensor");
    /* Opset 18's axes input, in an older model (test_opset18_ops runs it). */
    mb_init(&b, 17);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){2}, pads);
    mb_init_i64(&b, "axes", 1, (int64_t[]){1}, (int64_t[]){1});
    mb_node(&b, "Pad", "p", "x,pads,,axes", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (Pad, opset 17): the axes input is part of Pad from opset 18");
    /* Opset 19's wrap mode. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){4}, pads);
    mb_node(&b, "Pad", "p", "x,pads", "y", 1, A_s(&b, "mode", "wrap"));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node p (Pad, opset 13): attribute mode 'wrap' is not supported");
    /* Wrong counts and forms. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){2}, pads);
    mb_node(&b, "Pad", "p", "x,pads", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (Pad, opset 13): pads 'pads' has 2 values; 2 axes need 4");
    mb_init(&b, 10);
    mb_input(&b, "x", 2, xd);
    mb_node(&b, "Pad", "p", "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (Pad, opset 10): attribute pads is required before opset 11");
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){4}, pads);
    mb_node(&b, "Pad", "p", "x,pads", "y", 1, A_ints(&b, "pads", 4, pads));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node p (Pad, opset 13): attributes pads and value are inputs from opset 11 on");
    /* Reflect past the dim: what ONNX Runtime refuses, clgraph does too. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){4}, (int64_t[]){0, 3, 0, 0});
    mb_node(&b, "Pad", "p", "x,pads", "y", 1, A_s(&b, "mode", "reflect"));
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "reflect pads [3, 0] of dim 1 must be smaller than the 3 elements");
}

/* Constants: folded on the host, materialized once when the graph needs
 * them; an output that is a constant becomes a constant node. */
static void test_constants_fold(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    int64_t xd[2] = {3, 2}, cd[2] = {3, 2};
    float c[6] = {1, 2, 3, 4, 5, 6};
    mb_input(&b, "x", 2, xd);
    mb_init_f(&b, "c", 2, cd, c, true);
    /* Gather rows [-1, 0] of c: [[5, 6], [1, 2]]; Transpose-free Slice of
     * the flattened constant backwards with step -2: [6, 4, 2] */
    mb_const_i64(&b, "idx", 1, 2, (int64_t[]){-1, 0});
    mb_node(&b, "Gather", NULL, "c,idx", "rows", 1, A_i(&b, "axis", 0));
    mb_const_i64(&b, "flat_shape", 1, 1, (int64_t[]){-1});
    mb_node(&b, "Reshape", NULL, "c,flat_shape", "cflat", 0);
    mb_const_i64(&b, "st", 1, 1, (int64_t[]){-1});
    mb_const_i64(&b, "en", 1, 1, (int64_t[]){INT64_MIN});
    mb_const_i64(&b, "ax", 1, 1, (int64_t[]){0});
    mb_const_i64(&b, "sp", 1, 1, (int64_t[]){-2});
    mb_node(&b, "Slice", NULL, "cflat,st,en,ax,sp", "back", 0);
    mb_node(&b, "Mul", NULL, "c,c", "sq", 0); /* folded: [1, 4, 9, ...] */
    mb_node(&b, "Add", NULL, "x,sq", "y", 0);
    mb_output(&b, "y");
    mb_output(&b, "rows");
    mb_output(&b, "back");
    clg_graph *g = import_ok(&b);
    assert_int_equal(find_node(g, "sq")->op, CLG_OP_CONSTANT);
    assert_int_equal(find_node(g, "rows")->op, CLG_OP_CONSTANT);
    assert_int_equal(clg_find_value(g, "c"), -1); /* only its folded uses are constants */
    const clg_node *rows = find_node(g, "rows"), *back = find_node(g, "back");
    float want_rows[4] = {5, 6, 1, 2}, want_back[3] = {6, 4, 2};
    assert_memory_equal(rows->constant->data, want_rows, sizeof want_rows);
    assert_int_equal(back->shape.dims[0], 3);
    assert_memory_equal(back->constant->data, want_back, sizeof want_back);
    float x[6] = {0}, y[6], r[4], k3[3];
    clg_tensor in = {x, 2, {3, 2}, CLG_DTYPE_F32}, outs[3] = {{y, 0, {0}, CLG_DTYPE_F32}, {r, 0, {0}, CLG_DTYPE_F32}, {k3, 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, outs, 3), CLG_OK);
    for (int k = 0; k < 6; k++) assert_true(y[k] == c[k] * c[k]);
    clg_graph_destroy(g);
    mb_free(&b);
}

static void test_batchnorm_dropout_identity(void **state)
{
    (void)state;
    float scale[2] = {1, 2}, bias[2] = {0, 1}, mean[2] = {0.5f, -1}, var[2] = {4, 1};
    int64_t xd[4] = {-1, 2, 1, 2}, pd[1] = {2};
    for (int opset = 9; opset <= 15; opset += 6) {
        mb b;
        mb_init(&b, opset);
        mb_input(&b, "x", 4, xd);
        mb_init_f(&b, "s", 1, pd, scale, true);
        mb_init_f(&b, "b", 1, pd, bias, true);
        mb_init_f(&b, "m", 1, pd, mean, true);
        mb_init_f(&b, "v", 1, pd, var, true);
        if (opset >= 14)
            mb_node(&b, "BatchNormalization", "bn", "x,s,b,m,v", "h,rm,rv", 2, A_f(&b, "epsilon", 0.0f),
                    A_i(&b, "training_mode", 0));
        else
            mb_node(&b, "BatchNormalization", "bn", "x,s,b,m,v", "h", 1, A_f(&b, "epsilon", 0.0f));
        mb_node(&b, "Dropout", "drop", "h", "d", 0);
        mb_node(&b, "Identity", "id", "d", "y", 0);
        mb_output(&b, "y");
        clg_graph *g = import_ok(&b);
        assert_int_equal(find_node(g, "h")->op, CLG_OP_BATCHNORM);
        assert_int_equal(find_node(g, "y")->op, CLG_OP_IDENTITY);
        float x[4] = {1, 2, 3, 4}, y[4];
        double want[4] = {(1 - 0.5) / 2 * 1 + 0, (2 - 0.5) / 2, (3 + 1) * 2 + 1, (4 + 1) * 2 + 1};
        int64_t bd[4] = {1, 2, 1, 2};
        clg_tensor out = {0};
        run1(g, x, 4, bd, y, &out);
        assert_close(y, want, 4, 1e-6);
        clg_graph_destroy(g);
        mb_free(&b);
    }
    /* Using a training output, or asking for them before opset 14. */
    mb b;
    mb_init(&b, 15);
    mb_input(&b, "x", 4, xd);
    const char *p[4] = {"s", "b", "m", "v"};
    for (int k = 0; k < 4; k++) mb_init_f(&b, p[k], 1, pd, scale, true);
    mb_node(&b, "BatchNormalization", "bn", "x,s,b,m,v", "h,rm,rv", 0);
    mb_node(&b, "Relu", "r", "rm", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node r (Relu, opset 15): input 'rm' is a training output of BatchNormalization, which clgraph does "
                 "not compute");
    mb_init(&b, 12);
    mb_input(&b, "x", 4, xd);
    for (int k = 0; k < 4; k++) mb_init_f(&b, p[k], 1, pd, scale, true);
    mb_node(&b, "BatchNormalization", "bn", "x,s,b,m,v", "y,rm", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node bn (BatchNormalization, opset 12): training mode (output 1, 'rm'");
    /* Dropout's mask */
    mb_init(&b, 13);
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Dropout", "drop", "x", "y,mask", 0);
    mb_output(&b, "y");
    mb_output(&b, "mask");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "'mask' is Dropout's mask, which clgraph does not compute");
    /* training_mode true: the identity when the ratio is a constant 0
     * (swin_t exported with TrainingMode.PRESERVE), refused otherwise. */
    const int32_t yes = 1;
    for (int zero = 1; zero >= 0; zero--) {
        mb_init(&b, 13);
        mb_input(&b, "x", 4, xd);
        mb_const_f(&b, "ratio", zero ? 0.0f : 0.5f);
        mb_init_bool(&b, "train", 0, NULL, &yes);
        mb_node(&b, "Dropout", "drop", "x,ratio,train", "y", 0);
        mb_output(&b, "y");
        if (zero) {
            clg_graph *g = import_ok(&b);
            assert_int_equal(find_node(g, "y")->op, CLG_OP_IDENTITY);
            clg_graph_destroy(g);
            mb_free(&b);
        } else {
            expect_error(&b, CLG_ERR_UNSUPPORTED,
                         "node drop (Dropout, opset 13): training_mode 'train' must be a constant false (inference "
                         "only), or the ratio a constant 0");
        }
    }
}

static void test_squeeze_unsqueeze_graph(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 11); /* axes as attributes */
    int64_t xd[3] = {-1, 3, 1};
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "Squeeze", NULL, "x", "s", 1, A_ints(&b, "axes", 1, (int64_t[]){-1}));
    mb_node(&b, "Unsqueeze", NULL, "s", "u", 1, A_ints(&b, "axes", 2, (int64_t[]){1, 3}));
    mb_output(&b, "u");
    clg_graph *g = import_ok(&b);
    const clg_node *u = find_node(g, "u");
    assert_int_equal(u->shape.rank, 4);
    assert_int_equal(u->shape.dims[0], CLG_BATCH);
    assert_int_equal(u->shape.dims[1], 1);
    assert_int_equal(u->shape.dims[2], 3);
    assert_int_equal(u->shape.dims[3], 1);
    clg_graph_destroy(g);
    mb_free(&b);
    mb_init(&b, 11);
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "Unsqueeze", "un", "x", "u", 1, A_ints(&b, "axes", 1, (int64_t[]){0}));
    mb_output(&b, "u");
    /* N moves to the second place. */
    g = import_ok(&b);
    u = find_node(g, "u");
    assert_int_equal(u->shape.rank, 4);
    assert_int_equal(u->shape.dims[0], 1);
    assert_int_equal(u->shape.dims[1], CLG_BATCH);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* ShuffleNet v2's block as torch.onnx writes it (opset 13): Split of the
 * channels, a branch, Concat, the channel shuffle Reshape -> Transpose ->
 * Reshape, then a reversed Slice with INT64 bounds, all on graph tensors. */
static void build_shuffle(mb *b)
{
    mb_init(b, 13);
    int64_t xd[4] = {-1, 8, 2, 3};
    mb_input(b, "x", 4, xd);
    mb_init_i64(b, "halves", 1, (int64_t[]){2}, (int64_t[]){4, 4});
    mb_node(b, "Split", "/split", "x,halves", "l,r", 1, A_i(b, "axis", 1));
    mb_node(b, "Relu", NULL, "r", "rr", 0);
    mb_node(b, "Concat", NULL, "l,rr", "c", 1, A_i(b, "axis", 1));
    mb_init_i64(b, "groups", 1, (int64_t[]){5}, (int64_t[]){0, 2, 4, 2, 3});
    mb_node(b, "Reshape", NULL, "c,groups", "g", 0);
    mb_node(b, "Transpose", NULL, "g", "t", 1, A_ints(b, "perm", 5, (int64_t[]){0, 2, 1, 3, 4}));
    mb_init_i64(b, "flat", 1, (int64_t[]){4}, (int64_t[]){0, 8, 2, 3});
    mb_node(b, "Reshape", NULL, "t,flat", "sh", 0);
    mb_const_i64(b, "st", 1, 1, (int64_t[]){-1});
    mb_const_i64(b, "en", 1, 1, (int64_t[]){INT64_MIN});
    mb_const_i64(b, "ax", 1, 1, (int64_t[]){1});
    mb_const_i64(b, "sp", 1, 1, (int64_t[]){-1});
    mb_node(b, "Slice", "/slice", "sh,st,en,ax,sp", "y", 0);
    mb_output(b, "y");
}

static void test_movement_graph(void **state)
{
    (void)state;
    mb b;
    build_shuffle(&b);
    clg_graph *g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_SLICE), 3); /* two from Split */
    const clg_node *y = find_node(g, "y");
    assert_int_equal(y->shape.rank, 4);
    assert_int_equal(y->shape.dims[0], CLG_BATCH);
    assert_int_equal(y->shape.dims[1], 8);
    /* The ends INT64_MIN was written as -2^32, which means the same. */
    assert_int_equal(y->attrs.ends[0], -((int64_t)1 << 32));
    enum { B = 2, C = 8, HW = 6 };
    float x[B * C * HW], out[B * C * HW];
    for (int k = 0; k < B * C * HW; k++) x[k] = (float)(k % 7) - 3.0f + 0.25f * (float)k;
    clg_tensor yt = {0};
    run1(g, x, 4, (int64_t[]){B, C, 2, 3}, out, &yt);
    /* Output channel j is shuffled channel 7 - j; shuffled channel k is
     * concatenated channel (k % 2) * 4 + k / 2, which is x's channel, through
     * a Relu for the second half. */
    double want[B * C * HW];
    for (int n = 0; n < B; n++)
        for (int j = 0; j < C; j++) {
            int k = 7 - j, src = (k % 2) * 4 + k / 2;
            for (int e = 0; e < HW; e++) {
                double v = x[(n * C + src) * HW + e];
                want[(n * C + j) * HW + e] = src >= 4 && v < 0 ? 0 : v;
            }
        }
    assert_close(out, want, B * C * HW, 0);
    clg_graph_destroy(g);
    mb_free(&b);

    /* A step of INT64_MAX takes the first element (the step is clamped to
     * 2^31, which does the same for any clgraph dim). */
    mb_init(&b, 13);
    mb_input(&b, "x", 4, (int64_t[]){-1, 4, 2, 3});
    mb_const_i64(&b, "st", 1, 1, (int64_t[]){0});
    mb_const_i64(&b, "en", 1, 1, (int64_t[]){INT64_MAX});
    mb_const_i64(&b, "ax", 1, 1, (int64_t[]){-1});
    mb_const_i64(&b, "sp", 1, 1, (int64_t[]){INT64_MAX});
    mb_node(&b, "Slice", NULL, "x,st,en,ax,sp", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    assert_int_equal(find_node(g, "y")->shape.dims[3], 1);
    clg_graph_destroy(g);
    mb_free(&b);

    /* Opset 9: Slice's attributes; Expand, Tile, DepthToSpace and its
     * inverse SpaceToDepth give x back. */
    mb_init(&b, 9);
    int64_t xd[4] = {-1, 4, 2, 3};
    mb_input(&b, "x", 4, xd);
    mb_node(&b, "Slice", NULL, "x", "s", 3, A_ints(&b, "starts", 1, (int64_t[]){1}),
            A_ints(&b, "ends", 1, (int64_t[]){INT64_MAX}), A_ints(&b, "axes", 1, (int64_t[]){2}));
    mb_init_i64(&b, "eshape", 1, (int64_t[]){4}, (int64_t[]){1, 1, 2, 1});
    mb_node(&b, "Expand", NULL, "s,eshape", "e", 0);
    mb_init_i64(&b, "reps", 1, (int64_t[]){4}, (int64_t[]){1, 1, 1, 2});
    mb_node(&b, "Tile", NULL, "e,reps", "t", 0);
    mb_node(&b, "DepthToSpace", NULL, "x", "d", 1, A_i(&b, "blocksize", 2));
    mb_node(&b, "SpaceToDepth", NULL, "d", "back", 1, A_i(&b, "blocksize", 2));
    mb_output(&b, "t");
    mb_output(&b, "back");
    g = import_ok(&b);
    const clg_node *t = find_node(g, "t"), *d = find_node(g, "d");
    assert_int_equal(t->shape.dims[2], 2);
    assert_int_equal(t->shape.dims[3], 6);
    assert_int_equal(d->shape.dims[1], 1);
    assert_int_equal(d->shape.dims[2], 4);
    float xs[24], ts[48], back[24];
    for (int k = 0; k < 24; k++) xs[k] = (float)k;
    clg_tensor in = {xs, 4, {1, 4, 2, 3}, CLG_DTYPE_F32}, outs[2] = {{ts, 0, {0}, CLG_DTYPE_F32}, {back, 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, outs, 2), CLG_OK);
    assert_memory_equal(back, xs, sizeof xs);
    /* t[c][h][w] = x[c][1][w % 3]: row 1 of each channel, twice down, twice across */
    for (int c = 0; c < 4; c++)
        for (int h = 0; h < 2; h++)
            for (int w = 0; w < 6; w++) assert_true(ts[(c * 2 + h) * 6 + w] == xs[c * 6 + 3 + w % 3]);
    clg_graph_destroy(g);
    mb_free(&b);
}

/* IR 3 models list initializers among the graph inputs: they are constants. */
static void test_initializer_listed_as_input(void **state)
{
    (void)state;
    mb b;
    build_mlp(&b);
    int64_t w1[2] = {3, 4};
    mb_input(&b, "onnx::Gemm_1", 2, w1);
    clg_graph *g = import_ok(&b);
    assert_int_equal(clg_graph_input_count(g), 1);
    clg_graph_destroy(g);
    mb_free(&b);
    /* ... and its declared type must be the initializer's. */
    build_mlp(&b);
    mb_input_t(&b, "onnx::Gemm_1", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 2, w1);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "graph input 'onnx::Gemm_1' is declared DOUBLE but its initializer is FLOAT");
}

/* ================================================================ errors */

static void relu_model(mb *b, int64_t opset)
{
    mb_init(b, opset);
    int64_t xd[2] = {-1, 3};
    mb_input(b, "x", 2, xd);
    mb_node(b, "Relu", "r", "x", "y", 0);
    mb_output(b, "y");
}

static void test_errors(void **state)
{
    (void)state;
    mb b;
    int64_t d2[2] = {2, 3}, d1[1] = {3};
    float f3[3] = {1, 2, 3}, f6[6] = {1, 2, 3, 4, 5, 6};

    relu_model(&b, 13);
    mb_node(&b, "Foo", "f", "y", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node f (Foo, opset 13): op Foo is not supported");

    relu_model(&b, 13);
    mb_node(&b, "Frobnicate", NULL, "y", "z", 0); /* unnamed: labelled by its output */
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node z (Frobnicate, opset 13): op Frobnicate is not supported");

    relu_model(&b, 22);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "the model uses opset 22; clgraph imports opsets up to 21");

    relu_model(&b, 5);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node r (Relu, opset 5): Relu before opset 6 is not supported");

    relu_model(&b, 13);
    b.model.n_opset_import = 0;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "the model imports no opset of the default ONNX domain");

    relu_model(&b, 13);
    b.graph.node[0]->domain = "com.microsoft";
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node r (Relu, opset 13): ops of domain 'com.microsoft' are not supported");

    relu_model(&b, 13);
    b.graph.node[0]->attribute = mb_alloc(&b, 2 * sizeof(void *));
    b.graph.node[0]->attribute[0] = A_i(&b, "foo", 1);
    b.graph.node[0]->n_attribute = 1;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node r (Relu, opset 13): attribute 'foo' is not supported");

    /* initializers: sizes, dims, types, external data */
    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, true);
    b.graph.initializer[0]->raw_data.len = 8;
    expect_error(&b, CLG_ERR_FORMAT, "initializer 'w': raw_data has 8 bytes, expected 12 (3 values of FLOAT)");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, false);
    b.graph.initializer[0]->n_float_data = 2;
    expect_error(&b, CLG_ERR_FORMAT, "initializer 'w': float_data has 2 values, expected 3");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, false);
    b.graph.initializer[0]->dims[0] = -3;
    expect_error(&b, CLG_ERR_FORMAT, "initializer 'w': dimension 0 is negative (-3)");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 2, d2, f6, false);
    b.graph.initializer[0]->dims[0] = (int64_t)1 << 40;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "initializer 'w' has more than 2^31 elements");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, true);
    b.graph.initializer[0]->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    mb_node(&b, "Add", "a", "y,w", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "initializer 'w' has data type BFLOAT16, which is not supported");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, true);
    b.graph.initializer[0]->has_data_location = 1;
    b.graph.initializer[0]->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "initializer 'w' keeps its data in an external file");

    relu_model(&b, 13);
    mb_init_i64(&b, "w", 1, d1, (int64_t[]){1, 2, 3});
    mb_node(&b, "Add", "a", "y,w", "z", 0);
    mb_output(&b, "z");
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node a (Add, opset 13): input 'w' is INT64; clgraph computes this op on FLOAT tensors only");

    /* graph inputs */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){2, -2});
    mb_node(&b, "Relu", "r", "x", "y", 0);
    mb_output(&b, "y");
    {
        /* A symbolic size anywhere keeps its ONNX name. */
        clg_graph *g = import_ok(&b);
        char text[32];
        assert_string_equal(clg_shape_str(g, &find_node(g, "x")->shape, text, sizeof text), "[2, seq]");
        clg_graph_destroy(g);
        mb_free(&b);
    }

    relu_model(&b, 13);
    b.graph.input[0]->type->tensor_type->shape->dim[1]->dim_value = -4;
    expect_error(&b, CLG_ERR_FORMAT, "graph input 'x': dimension 1 is negative (-4)");

    relu_model(&b, 13);
    b.graph.input[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "graph input 'x' has data type UINT8; clgraph inputs are FLOAT, FLOAT16, INT64, INT32 or BOOL");
    relu_model(&b, 13);
    b.graph.input[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node r (Relu, opset 13): input 'x' is INT64; clgraph computes this op on FLOAT");

    relu_model(&b, 13);
    b.graph.input[0]->type->tensor_type->shape->n_dim = 0;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "graph input 'x' has rank 0; clgraph tensors have rank 1 to 8");

    relu_model(&b, 13);
    b.graph.input[0]->type->tensor_type->shape->dim[1]->dim_value = (int64_t)1 << 40;
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "'x': shape [N, 1099511627776] has more than 2^31 elements");

    /* names and structure */
    relu_model(&b, 13);
    mb_node(&b, "Add", "a", "y,w", "z", 0);
    expect_error(&b, CLG_ERR_INVALID_GRAPH,
                 "node a (Add, opset 13): input 'w' is not defined (not a graph input, initializer or node output)");

    relu_model(&b, 13);
    mb_node(&b, "Relu", "r2", "x", "y", 0);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node r2 (Relu, opset 13): output 'y' is also produced by node r (Relu)");

    relu_model(&b, 13);
    mb_node(&b, "Relu", "r2", "y", "x", 0);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node r2 (Relu, opset 13): output 'x' is also a graph input");

    relu_model(&b, 13);
    mb_init_f(&b, "w", 1, d1, f3, true);
    mb_init_f(&b, "w", 1, d1, f3, true);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "initializer 'w' is defined twice");

    relu_model(&b, 13);
    mb_input(&b, "x", 2, d2);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "graph input 'x' is listed twice");

    relu_model(&b, 13);
    mb_output(&b, "nope");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "graph output 'nope' is not defined");

    relu_model(&b, 13);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "graph output 'y' is listed twice");

    relu_model(&b, 13);
    b.graph.n_output = 0;
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "the graph has no outputs");

    mb_init(&b, 13);
    mb_input(&b, "x", 2, d2);
    mb_node(&b, "Add", "a", "x,c", "b2", 0);
    mb_node(&b, "Relu", "c1", "b2", "c", 0);
    mb_output(&b, "c");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node a (Add, opset 13): the graph has a cycle: input 'c' depends on");

    mb_init(&b, 13);
    mb_input(&b, "x", 2, d2);
    mb_node(&b, "Relu", "self", "y", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node self (Relu, opset 13): the graph has a cycle");

    /* nodes out of order are fine */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, d2);
    mb_node(&b, "Relu", "second", "h", "y", 0);
    mb_node(&b, "Relu", "first", "x", "h", 0);
    mb_output(&b, "y");
    clg_graph *g = import_ok(&b);
    assert_int_equal(find_node(g, "y")->inputs[0], clg_find_value(g, "h"));
    clg_graph_destroy(g);
    mb_free(&b);

    /* shapes clgraph checks, reported against the ONNX node */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, d2);
    mb_input(&b, "z", 2, (int64_t[]){4, 5});
    mb_node(&b, "Add", "/blocks.0/Add", "x,z", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node /blocks.0/Add (Add, opset 13): ");

    relu_model(&b, 13);
    b.graph.output[0] = mb_vi(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, (int64_t[]){-1, 4});
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "graph output 'y' is declared with dimension 1 = 4 but computes [N, 3]");

    relu_model(&b, 13);
    mb_node(&b, "Conv", "c", "y,y", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node c (Conv, opset 13): only 1-D and 2-D convolutions are supported (the input has rank 2)");

    relu_model(&b, 13);
    mb_node(&b, "Shape", NULL, "x", "s", 0);
    mb_node(&b, "Reshape", "re", "x,s", "z", 1, A_i(&b, "allowzero", 1));
    mb_output(&b, "z");
    mb_init_i64(&b, "zero", 1, (int64_t[]){2}, (int64_t[]){0, 3});
    b.graph.node[2]->input[1] = "zero";
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node re (Reshape, opset 13): allowzero=1 with a 0 in the target");

    relu_model(&b, 13);
    mb_node(&b, "BatchNormalization", "bn", "y,y,y,y,y", "z", 1, A_i(&b, "training_mode", 1));
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node bn (BatchNormalization, opset 13): training_mode=1 is not supported");

    relu_model(&b, 13);
    mb_node(&b, "MaxPool", "mp", "y", "z,idx", 1, A_ints(&b, "kernel_shape", 2, (int64_t[]){1, 1}));
    mb_output(&b, "idx");
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node mp (MaxPool, opset 13): only 1-D, 2-D and 3-D pooling is supported (the input has rank 2)");

    relu_model(&b, 13);
    mb_init_f(&b, "fi", 1, d1, f3, true);
    mb_node(&b, "Gather", "ga", "y,fi", "z", 0);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node ga (Gather, opset 13): the indices 'fi' must be integers");

    relu_model(&b, 13);
    mb_node(&b, "Constant", "k", "", "z", 1, A_s(&b, "value_string", "hi"));
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node k (Constant, opset 13): a Constant given by value_string");

    relu_model(&b, 13);
    mb_node(&b, "Gemm", "gm", "y,y", "z", 1, A_s(&b, "alpha", "one"));
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node gm (Gemm, opset 13): attribute alpha must be a float");

    relu_model(&b, 13);
    mb_node(&b, "Shape", "sh", "y", "z", 0);
    b.graph.output[0]->name = "z";
    expect_error(&b, CLG_ERR_UNSUPPORTED, "'z' depends on the batch N and is used as a graph tensor");

    relu_model(&b, 13);
    b.model.has_ir_version = 0;
    expect_error(&b, CLG_ERR_FORMAT, "not an ONNX model: it has no ir_version");

    relu_model(&b, 13);
    b.model.graph = NULL;
    expect_error(&b, CLG_ERR_FORMAT, "not an ONNX model: it has no graph");
}

static void test_movement_errors(void **state)
{
    (void)state;
    mb b;
    relu_model(&b, 13);
    mb_const_i64(&b, "en", 1, 1, (int64_t[]){2});
    mb_node(&b, "Slice", "sl", "y,y,en", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "node sl (Slice, opset 13): starts 'y' is computed in the graph; it must be a constant");

    relu_model(&b, 13);
    mb_const_i64(&b, "st", 1, 1, (int64_t[]){0});
    mb_const_i64(&b, "en", 1, 1, (int64_t[]){2});
    mb_const_i64(&b, "sp", 1, 1, (int64_t[]){2});
    mb_node(&b, "Slice", "sl", "y,st,en,,sp", "z", 0); /* axis 0 is N, step 2 */
    expect_error(&b, CLG_ERR_UNSUPPORTED, "the slice along axis 0 involves a symbolic size; only steps of 1");

    relu_model(&b, 13);
    mb_node(&b, "Expand", "ex", "y,y", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node ex (Expand, opset 13): the shape 'y' is computed in the graph");

    relu_model(&b, 13);
    mb_node(&b, "Tile", "ti", "y,y", "z", 0);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node ti (Tile, opset 13): repeats 'y' is computed in the graph");

    relu_model(&b, 13);
    mb_init_i64(&b, "parts", 1, (int64_t[]){2}, (int64_t[]){1, 1});
    mb_node(&b, "Split", "sp", "y,parts", "z,w", 1, A_i(&b, "axis", 1));
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node sp (Split, opset 13): split sums to 2, but axis 1 has 3");

    relu_model(&b, 13);
    mb_node(&b, "Split", "sp", "y", "z,w", 1, A_i(&b, "axis", 1));
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "axis 1 (3) does not split into 2 equal parts");

    relu_model(&b, 13);
    mb_node(&b, "Split", "sp", "y", "z", 0); /* axis 0: N */
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node sp (Split, opset 13): splitting along axis 0, a symbolic dimension");

    relu_model(&b, 13);
    mb_node(&b, "DepthToSpace", "d2s", "y", "z", 2, A_i(&b, "blocksize", 2), A_s(&b, "mode", "RCD"));
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node d2s (DepthToSpace, opset 13): mode 'RCD' is not supported");

    relu_model(&b, 13);
    mb_node(&b, "SpaceToDepth", "s2d", "y", "z", 0);
    expect_error(&b, CLG_ERR_INVALID_GRAPH, "node s2d (SpaceToDepth, opset 13): attribute blocksize is required");
}

/* Bytes that are not a ModelProto, arguments, and a non-empty graph. */
static void test_bad_bytes_and_arguments(void **state)
{
    (void)state;
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_parse_onnx(g, "\x0a\xff\xff\xff\x0f", 5), CLG_ERR_FORMAT);
    assert_string_equal(clg_graph_errmsg(g),
                        "not an ONNX model: its 5 bytes are not a valid protobuf ModelProto (malformed or truncated)");
    assert_int_equal(clg_graph_parse_onnx(g, "", 0), CLG_ERR_FORMAT);
    assert_int_equal(clg_graph_parse_onnx(g, NULL, 3), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_parse_onnx(NULL, "", 0), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_load_onnx(g, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_load_onnx(g, "tests/onnx/no such file.onnx"), CLG_ERR_IO);
    /* An If on a condition only the run knows (tests/fixtures/make_if_fixture.py). */
    assert_int_equal(clg_graph_load_onnx(g, "tests/data/if_computed_cond.onnx"), CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_graph_errmsg(g), "node y (If, opset 13): the condition 'c' is computed in the graph"));
    clg_graph_destroy(g);
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    mb b;
    relu_model(&b, 13);
    size_t len;
    uint8_t *bytes = mb_pack(&b, &len);
    assert_int_equal(clg_graph_parse_onnx(g, bytes, len), CLG_OK);
    assert_int_equal(clg_graph_parse_onnx(g, bytes, len), CLG_ERR_INVALID_ARGUMENT);
    assert_string_equal(clg_graph_errmsg(g), "the graph is not empty");
    free(bytes);
    mb_free(&b);
    clg_graph_destroy(g);
}

/* Every strict prefix of a model fails cleanly, and seeded byte mutations
 * never crash (ASan/UBSan builds check the memory side). */
static void test_truncated_and_mutated(void **state)
{
    (void)state;
    mb b;
    build_mlp(&b);
    size_t len;
    uint8_t *bytes = mb_pack(&b, &len);
    mb_free(&b);
    for (size_t n = 0; n < len; n++) {
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        clg_status s = clg_graph_parse_onnx(g, bytes, n);
        if (s != CLG_ERR_FORMAT && s != CLG_ERR_UNSUPPORTED && s != CLG_ERR_INVALID_GRAPH)
            fail_msg("prefix of %zu bytes: %s (%s)", n, clg_status_string(s), clg_graph_errmsg(g));
        assert_int_equal(clg_graph_node_count(g), 0);
        clg_graph_destroy(g);
    }
    uint8_t *copy = malloc(len);
    uint64_t seed = 12345;
    int ok = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, bytes, len);
        int edits = 1 + round % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(seed >> 33) % len;
            copy[at] = (uint8_t)(seed >> 17);
        }
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        clg_status s = clg_graph_parse_onnx(g, copy, len);
        assert_true(s == CLG_OK || (s != CLG_ERR_OUT_OF_MEMORY && s != CLG_ERR_INVALID_ARGUMENT));
        if (s == CLG_OK) {
            ok++;
            char *text = NULL;
            assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
            clg_graph_free(g, text);
        } else {
            assert_int_equal(clg_graph_node_count(g), 0);
            assert_true(strlen(clg_graph_errmsg(g)) > 0);
        }
        clg_graph_destroy(g);
    }
    print_message("3000 mutated models: %d imported, the rest failed cleanly\n", ok);
    free(copy);
    free(bytes);
}

/* Graphs nested in attributes in nodes in graphs, 30000 deep: protobuf-c
 * would recurse until the stack overflows; the importer refuses it first.
 * 60 levels still import (and fail later, for a missing opset). */
static size_t nested_model(uint8_t *buf, size_t cap, int levels)
{
    static const uint8_t tags[3] = {0x32, 0x2a, 0x0a}; /* Attribute.g, Node.attribute, Graph.node */
    size_t pos = cap;
    for (int l = 0; l <= levels; l++) {
        size_t len = cap - pos;
        uint8_t v[10];
        size_t n = 0;
        do {
            v[n++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
            len >>= 7;
        } while (len);
        pos -= n;
        memcpy(buf + pos, v, n);
        /* the outermost wrap is ModelProto.graph, around a GraphProto */
        buf[--pos] = l == levels ? 0x3a : tags[l % 3];
    }
    buf[--pos] = 0; /* ir_version 0 */
    buf[--pos] = 0x08;
    memmove(buf, buf + pos, cap - pos);
    return cap - pos;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t cap = 30000 * 8 + 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    size_t len = nested_model(buf, cap, 30000);
    assert_int_equal(clg_graph_parse_onnx(g, buf, len), CLG_ERR_FORMAT);
    assert_string_equal(clg_graph_errmsg(g), "not an ONNX model: messages nested more than 64 deep");
    len = nested_model(buf, cap, 60);
    assert_int_equal(clg_graph_parse_onnx(g, buf, len), CLG_ERR_UNSUPPORTED);
    assert_non_null(strstr(clg_graph_errmsg(g), "imports no opset"));
    clg_graph_destroy(g);
    free(buf);
}

/* ================================================================ out of memory */

typedef struct fail_alloc {
    long long fail_at, growths, failures, live, blocks;
} fail_alloc;

#define HDR 16

static void *fail_alloc_fn(void *user, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *a = user;
    char *block = ptr ? (char *)ptr - HDR : NULL;
    if (new_size == 0) {
        if (ptr) {
            a->live -= (long long)old_size;
            a->blocks--;
        }
        free(block);
        return NULL;
    }
    if (new_size > (ptr ? old_size : 0) && ++a->growths == a->fail_at) {
        a->failures++;
        return NULL;
    }
    char *p = realloc(block, new_size + HDR);
    if (!p) return NULL;
    a->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    if (!ptr) a->blocks++;
    return p + HDR;
}

/* For k = 1, 2, ...: the k-th allocation fails, which must give
 * CLG_ERR_OUT_OF_MEMORY, leave the graph empty and leak nothing, until the
 * import succeeds. protobuf-c's own allocations are among them. */
static void oom_sweep(mb *b, const char *what)
{
    size_t len;
    uint8_t *bytes = mb_pack(b, &len);
    for (long long k = 1;; k++) {
        fail_alloc a = {k, 0, 0, 0, 0};
        clg_graph *g = NULL;
        if (clg_graph_create(&g, fail_alloc_fn, &a)) continue;
        clg_status s = clg_graph_parse_onnx(g, bytes, len);
        if (s) {
            if (s != CLG_ERR_OUT_OF_MEMORY || !a.failures)
                fail_msg("%s, allocation %lld: %s (%s)", what, k, clg_status_string(s), clg_graph_errmsg(g));
            assert_non_null(strstr(clg_graph_errmsg(g), "out of memory"));
            assert_int_equal(clg_graph_node_count(g), 0);
        }
        clg_graph_destroy(g);
        if (a.live || a.blocks) fail_msg("%s, allocation %lld: %lld bytes in %lld blocks leaked", what, k, a.live, a.blocks);
        if (!s) {
            assert_int_equal(a.failures, 0);
            print_message("%s: %lld allocations, each failed once\n", what, k - 1);
            break;
        }
    }
    free(bytes);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    mb b;
    build_mlp(&b);
    oom_sweep(&b, "mlp");
    mb_free(&b);
    build_gelu(&b, 1);
    oom_sweep(&b, "gelu");
    mb_free(&b);
    build_gelu_tanh(&b, 0);
    oom_sweep(&b, "gelu_tanh");
    mb_free(&b);
    build_where_bool(&b);
    oom_sweep(&b, "where");
    mb_free(&b);
    mb_init(&b, 11);
    int64_t xd[3] = {-1, 3, 4};
    mb_input(&b, "x", 3, xd);
    mb_node(&b, "Shape", NULL, "x", "s", 0);
    mb_const_i64(&b, "c0", 1, 1, (int64_t[]){0});
    mb_node(&b, "Gather", NULL, "s,c0", "n", 0);
    mb_const_i64(&b, "m1", 1, 1, (int64_t[]){-1});
    mb_node(&b, "Concat", NULL, "n,m1", "shape", 1, A_i(&b, "axis", 0));
    mb_node(&b, "Reshape", NULL, "x,shape", "flat", 0);
    mb_node(&b, "Softmax", NULL, "x", "sm", 1, A_i(&b, "axis", 1));
    mb_output(&b, "flat");
    mb_output(&b, "sm");
    oom_sweep(&b, "plumbing");
    mb_free(&b);
    mb_init(&b, 13);
    mb_input(&b, "x", 3, xd);
    mb_init_i64(&b, "pads", 1, (int64_t[]){6}, (int64_t[]){0, 1, 0, 0, 0, 2});
    mb_const_f(&b, "v", 0.5f);
    mb_node(&b, "Pad", NULL, "x,pads,v", "y", 0);
    mb_output(&b, "y");
    oom_sweep(&b, "pad");
    mb_free(&b);
    build_shuffle(&b);
    oom_sweep(&b, "shuffle");
    mb_free(&b);
    build_causal(&b, -INFINITY, false, false); /* ConstantOfShape as an Expand, Trilu */
    oom_sweep(&b, "causal");
    mb_free(&b);
    mb_init(&b, 13); /* ConstantOfShape folded on the host */
    mb_input(&b, "x", 3, xd);
    mb_const_i64(&b, "shape", 1, 2, (int64_t[]){3, 4});
    mb_node(&b, "ConstantOfShape", NULL, "shape", "c", 1,
            A_t(&b, "value", mb_tensor_f(&b, NULL, 1, (int64_t[]){1}, (float[]){0.5f}, true)));
    mb_node(&b, "Add", NULL, "x,c", "y", 0);
    mb_output(&b, "y");
    oom_sweep(&b, "constant_of_shape");
    mb_free(&b);
}

/* ================================================================ files and the CLI */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_load_detects_onnx(void **state)
{
    (void)state;
    char dir[] = "/tmp/clg_onnx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[64], c[64], d[64];
    snprintf(a, sizeof a, "%s/m.ONNX", dir);
    snprintf(c, sizeof c, "%s/m.bin", dir);
    snprintf(d, sizeof d, "%s/text.onnx", dir);
    mb b;
    build_mlp(&b);
    size_t len;
    uint8_t *bytes = mb_pack(&b, &len);
    mb_free(&b);
    assert_int_equal(bytes[0], 0x08);
    write_file(a, bytes, len);
    write_file(c, bytes, len);
    write_file(d, "input x: f32[N, 2]\n", 19);
    free(bytes);
    const char *paths[2] = {a, c};
    for (int k = 0; k < 2; k++) {
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
        if (clg_graph_load(g, paths[k])) fail_msg("%s: %s", paths[k], clg_graph_errmsg(g));
        assert_int_equal(clg_graph_node_count(g), 10);
        clg_graph_destroy(g);
    }
    /* A text model named .onnx is read as ONNX, and says so. */
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_load(g, d), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_graph_errmsg(g), "text.onnx: not an ONNX model"));
    clg_graph_destroy(g);
    remove(a);
    remove(c);
    remove(d);
    rmdir(dir);
}

/* Runs a shell command; returns its exit status and its output in out. */
static int sh(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
    (void)state;
    const char *dir = getenv("CLGRAPH_BUILD_DIR");
    if (!dir) skip();
    char cli[1024], cmd[2048];
    static char out[1 << 16];
    snprintf(cli, sizeof cli, "%s/clgraph", dir);
    if (access(cli, X_OK) != 0) skip();
    snprintf(cmd, sizeof cmd, "'%s' check " FIXTURE " 2>&1", cli);
    assert_int_equal(sh(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, FIXTURE ": ok"));
    assert_non_null(strstr(out, "/fc1/Gemm_output_0"));
    assert_non_null(strstr(out, "f32[N, 2]"));
    snprintf(cmd, sizeof cmd, "'%s' print " FIXTURE " 2>&1", cli);
    assert_int_equal(sh(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "input input: f32[N, 4]\n"));
    assert_non_null(strstr(out, "/fc1/Gemm_output_0 = Gemm(input, onnx__Gemm_1, fc1.bias) transB=1\n"));
    assert_non_null(strstr(out, "output probs\n"));
    snprintf(cmd, sizeof cmd, "'%s' run " FIXTURE " --device ref --batch 3 2>&1", cli);
    assert_int_equal(sh(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "probs"));
    snprintf(cmd, sizeof cmd, "'%s' check tests/onnx/expected_pass.txt.onnx 2>&1", cli);
    assert_int_equal(sh(cmd, out, sizeof out), 1);
}


/* A BERT-style front: int64 token ids [N, 4] -> Gather(embedding [10, 8])
 * -> MatMul([8, 3]), plus the first token's embedding (a scalar index, which
 * drops the axis), the ids cast to FLOAT and to BOOL (a BOOL output). The
 * expected values are the same lookups and products written out here. */
static float emb_w(int r, int c) { return (float)((r * 8 + c) % 13) * 0.125f - 0.75f; }
static float proj_w(int r, int c) { return (float)((r * 3 + c) % 7) * 0.25f - 0.5f; }

static void build_embedding(mb *b)
{
    mb_init(b, 13);
    mb_input_t(b, "ids", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, (int64_t[]){-1, 4});
    float e[10 * 8], w[8 * 3];
    for (int r = 0; r < 10; r++)
        for (int c = 0; c < 8; c++) e[r * 8 + c] = emb_w(r, c);
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 3; c++) w[r * 3 + c] = proj_w(r, c);
    mb_init_f(b, "embeddings.weight", 2, (int64_t[]){10, 8}, e, true);
    mb_init_f(b, "proj", 2, (int64_t[]){8, 3}, w, false);
    mb_node(b, "Gather", "/emb/Gather", "embeddings.weight,ids", "h", 1, A_i(b, "axis", 0));
    mb_node(b, "MatMul", "/proj/MatMul", "h,proj", "y", 0);
    mb_const_i64(b, "zero", 0, 1, (int64_t[]){0});
    mb_node(b, "Gather", "/first", "h,zero", "first", 1, A_i(b, "axis", 1));
    mb_node(b, "Cast", "/castf", "ids", "idsf", 1, A_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
    mb_node(b, "Cast", "/castb", "ids", "mask", 1, A_i(b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL));
    mb_output(b, "y");
    mb_output(b, "first");
    mb_output(b, "idsf");
    mb_output_t(b, "mask", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL);
}

static void test_embedding_int64_ids(void **state)
{
    (void)state;
    mb b;
    build_embedding(&b);
    clg_graph *g = import_ok(&b);
    clg_dtype t;
    assert_int_equal(clg_graph_input_dtype(g, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_I64);
    assert_int_equal(clg_graph_output_dtype(g, 3, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_BOOL);
    assert_int_equal(find_node(g, "h")->op, CLG_OP_GATHER);
    assert_int_equal(find_node(g, "first")->op, CLG_OP_RESHAPE); /* the scalar index's dim dropped */
    int rank;
    int64_t dims[CLG_MAX_RANK];
    assert_int_equal(clg_graph_output_info(g, 1, 2, NULL, &rank, dims), CLG_OK);
    assert_int_equal(rank, 2);
    assert_int_equal(dims[1], 8);

    enum { B = 2 };
    int64_t ids[B * 4] = {3, 0, 9, 3, -1, 5, 1, 0};
    float y[B * 4 * 3], first[B * 8], idsf[B * 4];
    uint8_t mask[B * 4];
    clg_tensor in = {(float *)ids, 2, {B, 4}, CLG_DTYPE_I64};
    clg_tensor out[4] = {{y, 0, {0}, CLG_DTYPE_F32}, {first, 0, {0}, CLG_DTYPE_F32},
                         {idsf, 0, {0}, CLG_DTYPE_F32}, {(float *)mask, 0, {0}, CLG_DTYPE_BOOL}};
    if (clg_graph_run_reference(g, &in, 1, out, 4) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    double want_y[B * 4 * 3], want_first[B * 8], want_f[B * 4];
    for (int n = 0; n < B; n++)
        for (int s = 0; s < 4; s++) {
            int64_t id = ids[n * 4 + s];
            int r = (int)(id < 0 ? id + 10 : id);
            for (int o = 0; o < 3; o++) {
                double acc = 0;
                for (int k = 0; k < 8; k++) acc += (double)emb_w(r, k) * proj_w(k, o);
                want_y[(n * 4 + s) * 3 + o] = acc;
            }
            if (s == 0)
                for (int k = 0; k < 8; k++) want_first[n * 8 + k] = emb_w(r, k);
            want_f[n * 4 + s] = (double)id;
            assert_int_equal(mask[n * 4 + s], id != 0);
        }
    assert_close(y, want_y, B * 12, 1e-6);
    assert_close(first, want_first, B * 8, 0);
    assert_close(idsf, want_f, B * 4, 0);

    /* Saved as text + sidecar (the integer constant goes to the sidecar as
     * floats, its type in the text) and loaded back: the same graph. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/clg_emb_%ld.clg", (long)getpid());
    assert_int_equal(clg_graph_save(g, path), CLG_OK);
    clg_graph *back = NULL;
    assert_int_equal(clg_graph_create(&back, NULL, NULL), CLG_OK);
    if (clg_graph_load(back, path) != CLG_OK) fail_msg("%s", clg_graph_errmsg(back));
    char *t1 = NULL, *t2 = NULL;
    assert_int_equal(clg_graph_print(g, &t1, NULL), CLG_OK);
    assert_int_equal(clg_graph_print(back, &t2, NULL), CLG_OK);
    /* The reloaded text names the sidecar and reads the constants from it. */
    assert_non_null(strstr(t2, "input ids: i64[N, 4]\n"));
    assert_non_null(strstr(t2, "const zero: i64[1] = [0]\n"));
    assert_non_null(strstr(t2, "const embeddings.weight: f32[10, 8] = file("));
    assert_non_null(strstr(t1, "const zero: i64[1] = [0]\n"));
    assert_int_equal(clg_graph_run_reference(back, &in, 1, out, 4), CLG_OK);
    assert_close(first, want_first, B * 8, 0);
    clg_graph_free(g, t1);
    clg_graph_free(back, t2);
    clg_graph_destroy(back);
    char bin[80];
    snprintf(bin, sizeof bin, "%s.bin", path);
    remove(path);
    remove(bin);

    /* On the device, at -O0 and -O2, against the reference (ids the check
     * generates are in [-2, 2]). */
    clg_context *ctx = test_context();
    if (ctx) {
        for (int level = 0; level <= 2; level += 2)
            for (int64_t batch = 1; batch <= 5; batch += 4) {
                double err = test_device_error_at(ctx, g, batch, 7, level);
                if (!(err <= 1e-5)) fail_msg("-O%d batch %lld: error %.3g", level, (long long)batch, err);
            }
    }
    clg_graph_destroy(g);
    mb_free(&b);

    /* Constant indices out of range are refused at import, naming them. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 4});
    mb_init_i64(&b, "bad", 1, (int64_t[]){2}, (int64_t[]){1, 4});
    mb_node(&b, "Gather", "g", "x,bad", "z", 1, A_i(&b, "axis", 1));
    mb_output(&b, "z");
    expect_error(&b, CLG_ERR_INVALID_GRAPH,
                 "node g (Gather, opset 13): index 4 (element 1 of 'bad') is out of range for dimension 1 of size 4");
    /* A declared output type that clgraph does not compute is refused. */
    build_embedding(&b);
    b.graph.output[2]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    expect_error(&b, CLG_ERR_UNSUPPORTED, "graph output 'idsf' has data type INT64; clgraph computes it as FLOAT");
    /* Casts to types clgraph does not hold. */
    mb_init(&b, 13);
    mb_input(&b, "x", 2, (int64_t[]){-1, 4});
    mb_node(&b, "Cast", "c", "x", "z", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE));
    mb_output(&b, "z");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "node c (Cast, opset 13): a cast of a computed tensor to DOUBLE");
}


/* ---------------------------------------------------------------- FLOAT16 */

#define F16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16

/* A FLOAT16 tensor of half bits, in raw_data (two little-endian bytes
 * each) or, as the spec packs it, one half per int32_data value. */
static Onnx__TensorProto *mb_tensor_h(mb *b, const char *name, int rank, const int64_t *dims, const uint16_t *h,
                                      bool raw)
{
    Onnx__TensorProto *t = mb_tensor(b, name, F16, rank, dims);
    size_t n = count_of(rank, dims);
    if (raw) {
        uint8_t *bytes = mb_alloc(b, 2 * n + 1);
        for (size_t k = 0; k < n; k++) {
            bytes[2 * k] = (uint8_t)(h[k] & 0xff);
            bytes[2 * k + 1] = (uint8_t)(h[k] >> 8);
        }
        t->has_raw_data = 1;
        t->raw_data.data = bytes;
        t->raw_data.len = 2 * n;
    } else {
        t->n_int32_data = n;
        t->int32_data = mb_alloc(b, (n + 1) * sizeof(int32_t));
        for (size_t k = 0; k < n; k++) t->int32_data[k] = h[k];
    }
    return t;
}

/* A model exported in half: FLOAT16 input, a raw_data weight, an
 * int32_data bias, a FLOAT16 Constant; the Gemm and Mul compute in f32 and
 * the FLOAT16 output gets a Cast to f16 (named as the output) that rounds
 * to half; a Cast to FLOAT of the input gives f32. Expected values from
 * NumPy: (x @ W + B) * s in float32 from the halves, .astype(np.float16). */
static void test_float16_model(void **state)
{
    (void)state;
    mb b;
    mb_init(&b, 13);
    mb_input_t(&b, "x", F16, 2, (int64_t[]){-1, 3});
    static const uint16_t W[6] = {14336, 48128, 13312, 16384, 15360, 15872}; /* 0.5 -1 0.25 2 1 1.5 */
    static const uint16_t B[2] = {11878, 49664};                             /* 0.1 -> 0.0999755859375, -3 */
    static const uint16_t S = 13517;                                         /* 0.3 -> 0.2999267578125 */
    b.graph.initializer[b.graph.n_initializer++] = mb_tensor_h(&b, "W", 2, (int64_t[]){3, 2}, W, true);
    b.graph.initializer[b.graph.n_initializer++] = mb_tensor_h(&b, "B", 1, (int64_t[]){2}, B, false);
    mb_node(&b, "Constant", NULL, "", "s", 1, A_t(&b, "value", mb_tensor_h(&b, NULL, 0, NULL, &S, false)));
    mb_node(&b, "Gemm", "gemm", "x,W,B", "g", 0);
    mb_node(&b, "Mul", "mul", "g,s", "y", 0);
    mb_node(&b, "Cast", "widen", "x", "xf", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT));
    mb_output_t(&b, "y", F16);
    mb_output_t(&b, "xf", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    clg_graph *g = import_ok(&b);
    clg_dtype t;
    assert_int_equal(clg_graph_input_dtype(g, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_F16);
    assert_int_equal(clg_graph_output_dtype(g, 0, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_F16);
    assert_int_equal(clg_graph_output_dtype(g, 1, &t), CLG_OK);
    assert_int_equal(t, CLG_DTYPE_F32);
    const char *name;
    assert_int_equal(clg_graph_output_info(g, 0, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "y");
    assert_int_equal(find_node(g, "y")->op, CLG_OP_CAST);
    assert_int_equal(find_node(g, "y")->attrs.to, CLG_DTYPE_F16);
    uint16_t x[6] = {15360, 49152, 14336, 13312, 16896, 48128}; /* [[1, -2, 0.5], [0.25, 3, -1]] */
    uint16_t y[4];
    float xf[6];
    clg_tensor in = {(float *)x, 2, {2, 3}, CLG_DTYPE_F16};
    clg_tensor out[2] = {{(float *)y, 0, {0}, CLG_DTYPE_F16}, {xf, 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, out, 2), CLG_OK);
    /* [[0.1800537109375, -2.17578125], [-0.00750732421875, 0.375]] */
    const uint16_t want_y[4] = {12739, 49242, 40880, 13824};
    assert_memory_equal(y, want_y, sizeof y);
    const float want_xf[6] = {1, -2, 0.5f, 0.25f, 3, -1};
    assert_memory_equal(xf, want_xf, sizeof xf);
    clg_graph_destroy(g);
    mb_free(&b);

    /* Cast to FLOAT16 of a computed tensor rounds; of a FLOAT16 one is an
     * Identity; a FLOAT16 output computed as f16 gets no Cast. */
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){4});
    mb_node(&b, "Cast", "narrow", "x", "h", 1, A_i(&b, "to", F16));
    mb_node(&b, "Cast", "again", "h", "h2", 1, A_i(&b, "to", F16));
    mb_output_t(&b, "h2", F16);
    g = import_ok(&b);
    assert_int_equal(count_op(g, CLG_OP_CAST), 1);
    float xv[4] = {65520.0f, 1.00048828125f, 1e-8f, 2051.0f};
    uint16_t hv[4];
    in = (clg_tensor){xv, 1, {4}, CLG_DTYPE_F32};
    out[0] = (clg_tensor){(float *)hv, 0, {0}, CLG_DTYPE_F16};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, out, 1), CLG_OK);
    const uint16_t want_h[4] = {0x7c00, 0x3c00, 0x0000, 0x6802};
    assert_memory_equal(hv, want_h, sizeof hv);
    clg_graph_destroy(g);
    mb_free(&b);

    /* A FLOAT16 constant folded on the host by Cast(to=FLOAT16) rounds. */
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){1});
    mb_const_f(&b, "c", 0.1f);
    mb_node(&b, "Cast", "fold", "c", "ch", 1, A_i(&b, "to", F16));
    mb_node(&b, "Add", "add", "x,ch", "y", 0);
    mb_output(&b, "y");
    g = import_ok(&b);
    float one = 1.0f, got;
    in = (clg_tensor){&one, 1, {1}, CLG_DTYPE_F32};
    out[0] = (clg_tensor){&got, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &in, 1, out, 1), CLG_OK);
    assert_true(got == 1.0f + 0.0999755859375f);
    clg_graph_destroy(g);
    mb_free(&b);

    /* A FLOAT input listed as a FLOAT16 output contradicts itself: refused
     * (no Cast renames the input). */
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){2});
    mb_output_t(&b, "x", F16);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "graph output 'x' has data type FLOAT16; clgraph computes it as FLOAT");

    /* DOUBLE and BFLOAT16 stay refused, by name. */
    mb_init(&b, 13);
    mb_input_t(&b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 1, (int64_t[]){2});
    mb_node(&b, "Relu", NULL, "x", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED,
                 "graph input 'x' has data type DOUBLE; clgraph inputs are FLOAT, FLOAT16, INT64, INT32 or BOOL");
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){2});
    mb_node(&b, "Cast", "bf", "x", "y", 1, A_i(&b, "to", ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16));
    mb_output_t(&b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16);
    expect_error(&b, CLG_ERR_UNSUPPORTED, "a cast of a computed tensor to BFLOAT16 is not supported (FLOAT, FLOAT16, "
                                          "INT64, INT32 or BOOL)");
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){2});
    Onnx__TensorProto *bw = mb_tensor_h(&b, "w", 1, (int64_t[]){2}, W, true);
    bw->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    b.graph.initializer[b.graph.n_initializer++] = bw;
    mb_node(&b, "Add", NULL, "x,w", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_UNSUPPORTED, "initializer 'w' has data type BFLOAT16, which is not supported");
    /* A FLOAT16 raw_data of an odd byte count is malformed. */
    mb_init(&b, 13);
    mb_input(&b, "x", 1, (int64_t[]){2});
    Onnx__TensorProto *odd = mb_tensor_h(&b, "w", 1, (int64_t[]){2}, W, true);
    odd->raw_data.len = 3;
    b.graph.initializer[b.graph.n_initializer++] = odd;
    mb_node(&b, "Add", NULL, "x,w", "y", 0);
    mb_output(&b, "y");
    expect_error(&b, CLG_ERR_FORMAT, "initializer 'w': raw_data has 3 bytes, expected 4 (2 values of FLOAT16)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_dynamic_batch),
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_float16_model),
        cmocka_unit_test(test_batch_plumbing),
        cmocka_unit_test(test_symbolic_plumbing),
        cmocka_unit_test(test_symbolic_max_min),
        cmocka_unit_test(test_symbolic_equal_where),
        cmocka_unit_test(test_host_mod_transpose),
        cmocka_unit_test(test_einsum_import),
        cmocka_unit_test(test_size_symbolic),
        cmocka_unit_test(test_cumsum_import),
        cmocka_unit_test(test_int_arithmetic),
        cmocka_unit_test(test_range_float_symbolic),
        cmocka_unit_test(test_opset18_errors),
        cmocka_unit_test(test_host_scatter_nd_expand),
        cmocka_unit_test(test_causal_mask),
        cmocka_unit_test(test_range_symbolic),
        cmocka_unit_test(test_range_host),
        cmocka_unit_test(test_lrn_import),
        cmocka_unit_test(test_resize_import),
        cmocka_unit_test(test_conv_transpose_import),
        cmocka_unit_test(test_argmax_import),
        cmocka_unit_test(test_constant_of_shape_host),
        cmocka_unit_test(test_gelu_pattern),
        cmocka_unit_test(test_gelu_tanh_pattern),
        cmocka_unit_test(test_elementwise_ops),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_elementwise_ops_refused),
        cmocka_unit_test(test_hardmax_shrink_global_max),
        cmocka_unit_test(test_softmax_opset11),
        cmocka_unit_test(test_layer_normalization),
        cmocka_unit_test(test_reduce_forms),
        cmocka_unit_test(test_layer_norm_patterns_fuse),
        cmocka_unit_test(test_auto_pad),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_clip_forms),
        cmocka_unit_test(test_pad_forms),
        cmocka_unit_test(test_constants_fold),
        cmocka_unit_test(test_batchnorm_dropout_identity),
        cmocka_unit_test(test_squeeze_unsqueeze_graph),
        cmocka_unit_test(test_movement_graph),
        cmocka_unit_test(test_movement_errors),
        cmocka_unit_test(test_initializer_listed_as_input),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_embedding_int64_ids),
        cmocka_unit_test(test_bad_bytes_and_arguments),
        cmocka_unit_test(test_truncated_and_mutated),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_load_detects_onnx),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
