/* The ONNX importer's driver: the public entry points, the model-level
 * checks (IR version, opset, graph inputs and outputs), initializers, a
 * topological order of the nodes, and the loop that imports them one by one
 * through the op table (onnx_ops.c) and the host folder (onnx_fold.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "name_map.h"
#include "onnx_internal.h"
#include "weights_file.h"

/* ---------------------------------------------------------------- memory */

static void *pb_alloc(void *user, size_t size)
{
    ox_pb_alloc *a = user;
    void *p = clg_malloc(a->g, size);
    if (!p) a->failed = true;
    return p;
}

static void pb_free(void *user, void *ptr) { clg_free(((ox_pb_alloc *)user)->g, ptr); }

void ox_pb_alloc_init(ox_pb_alloc *a, clg_graph *g)
{
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
    a->g = g;
    a->failed = false;
}

/* ---------------------------------------------------------------- errors */

/* protobuf-c leaves absent optional strings NULL. */
static const char *str(const char *s) { return s ? s : ""; }

const char *ox_node_label(const Onnx__NodeProto *n)
{
    if (n->name && *n->name) return n->name;
    for (size_t k = 0; k < n->n_output; k++)
        if (*n->output[k]) return n->output[k];
    return "(unnamed)";
}

clg_status ox_fail(ox_ctx *ox, clg_status status, const char *fmt, ...)
{
    char msg[sizeof ox->g->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ox->cur)
        return clg_fail(ox->g, status, "node %s (%s, opset %lld): %s", ox_node_label(ox->cur),
                        str(ox->cur->op_type), (long long)ox->opset, msg);
    return clg_fail(ox->g, status, "%s", msg);
}

clg_status ox_oom(ox_ctx *ox)
{
    return clg_fail(ox->g, CLG_ERR_OUT_OF_MEMORY, "out of memory importing the ONNX model");
}

/* ---------------------------------------------------------------- values */

static const char *value_key(const void *ctx, int i) { return ((const ox_ctx *)ctx)->values[i].name; }

int ox_find_value(const ox_ctx *ox, const char *name)
{
    return clg_name_map_find(&ox->value_map, name, value_key, ox);
}

bool ox_wants_bool_output(const ox_ctx *ox, const char *name)
{
    for (size_t k = 0; k < ox->graph->n_output; k++) {
        const Onnx__ValueInfoProto *vi = ox->graph->output[k];
        if (strcmp(vi->name, name) != 0) continue;
        const Onnx__TypeProto *t = vi->type;
        if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
            !t->tensor_type->has_elem_type || t->tensor_type->elem_type == 0)
            return true; /* undeclared: ONNX's type, BOOL */
        return t->tensor_type->elem_type == OX_BOOL;
    }
    return false;
}

/* Adds the value `name` (unique; the caller checked) and returns its index,
 * or -1 when out of memory. */
static int add_value(ox_ctx *ox, const char *name, int producer)
{
    if (!clg_grow(ox->g, (void **)&ox->values, &ox->cap_values, ox->n_values + 1, sizeof *ox->values))
        return -1;
    ox_value *v = &ox->values[ox->n_values];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->node = -1;
    v->producer = producer;
    if (!clg_name_map_insert(ox->g, &ox->value_map, ox->n_values, value_key, ox)) return -1;
    return ox->n_values++;
}

clg_status ox_append(ox_ctx *ox, clg_op op, ox_value *out, const char *hint, const int *inputs,
                     int n_inputs, const clg_attrs *attrs, int *node)
{
    const char *name = out ? out->clg_name : ox_unique_name(ox, hint);
    if (!name) return ox_oom(ox);
    clg_status s = clg_graph_append(ox->g, op, name, 0, inputs, n_inputs, attrs, NULL, NULL);
    if (s == CLG_ERR_OUT_OF_MEMORY) return ox_oom(ox);
    if (s) {
        /* clgraph's message names its own node ("node y (Gemm): ..."); the
         * user knows the ONNX node, so name that instead. */
        char msg[sizeof ox->g->errmsg];
        snprintf(msg, sizeof msg, "%s", ox->g->errmsg);
        const char *text = msg;
        if (strncmp(text, "node ", 5) == 0 && strstr(text, "): ")) text = strstr(text, "): ") + 3;
        return ox_fail(ox, s, "%s", text);
    }
    *node = ox->g->n_nodes - 1;
    return CLG_OK;
}

clg_status ox_append_cast(ox_ctx *ox, ox_value *out, const char *hint, int from, clg_dtype to, int *node)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_CAST, &a);
    a.to = to;
    return ox_append(ox, CLG_OP_CAST, out, hint, &from, 1, &a, node);
}

/* Appends an INPUT or CONSTANT node of type dtype for v (constants: takes
 * a reference to c). */
static clg_status append_leaf(ox_ctx *ox, clg_op op, ox_value *v, const clg_shape *shape, clg_const *c,
                              clg_dtype dtype)
{
    if (c) c->refs++;
    clg_status s = clg_graph_append_value(ox->g, op, v->clg_name, 0, shape, c, dtype);
    if (s) {
        if (c) c->refs--;
        if (s == CLG_ERR_OUT_OF_MEMORY) return ox_oom(ox);
        char msg[sizeof ox->g->errmsg];
        snprintf(msg, sizeof msg, "%s", ox->g->errmsg);
        const char *text = msg;
        if (strncmp(text, "node ", 5) == 0 && strstr(text, "): ")) text = strstr(text, "): ") + 3;
        return ox_fail(ox, s, "'%s': %s", v->name, text);
    }
    v->node = ox->g->n_nodes - 1;
    return CLG_OK;
}

clg_status ox_tensor_node(ox_ctx *ox, ox_value *v, int *node)
{
    switch (v->kind) {
    case OX_TENSOR:
        *node = v->node;
        return CLG_OK;
    case OX_UNAVAILABLE:
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "'%s' %s", v->name, v->why);
    case OX_UNDEFINED:
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "'%s' is not defined", v->name);
    case OX_HOST:
        break;
    }
    if (v->node < 0) {
        const ox_host *h = &v->host;
        clg_dtype type;
        if (!ox_dtype_to_clg(h->dtype, &type) && !ox_graph_int_type(h->dtype, &type))
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "'%s' has type %s but is used as a graph tensor; clgraph computes in FLOAT, FLOAT16, "
                           "INT64, INT32 and BOOL only", v->name, ox_dtype_name(h->dtype));
        if (h->rank > CLG_MAX_RANK)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "'%s' has %d dimensions; clgraph tensors have at most %d",
                           v->name, h->rank, CLG_MAX_RANK);
        if (h->count == 0)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "'%s' is an empty tensor, which clgraph cannot represent",
                           v->name);
        /* A scalar broadcasts like a [1]. */
        clg_shape shape = {h->rank ? h->rank : 1, {1}};
        for (int k = 0; k < h->rank; k++) shape.dims[k] = h->dims[k];
        /* A FLOAT16 constant is an f32 one: its values are exact floats, and
         * host arithmetic on them (folded in float) need not stay halves. */
        if (h->dtype == OX_FLOAT || h->dtype == OX_FLOAT16) {
            clg_status s = append_leaf(ox, CLG_OP_CONSTANT, v, &shape, h->f, CLG_DTYPE_F32);
            if (s) return s;
        } else {
            /* Integers (indices, masks) are held as exact floats. */
            clg_const *c;
            clg_status s = ox_int_host_const(ox, v, &c, &type);
            if (s) return s;
            s = append_leaf(ox, CLG_OP_CONSTANT, v, &shape, c, type);
            clg_const_release(ox->g, c); /* the node holds its own reference */
            if (s) return s;
        }
    }
    *node = v->node;
    return CLG_OK;
}

/* ---------------------------------------------------------------- the model */

/* The model's opset of the default domain ("" or "ai.onnx"). */
static clg_status model_opset(ox_ctx *ox, const Onnx__ModelProto *m)
{
    ox->opset = 0;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[k];
        const char *d = str(o->domain);
        if (*d && strcmp(d, "ai.onnx") != 0) continue;
        if (!o->has_version) return ox_fail(ox, CLG_ERR_FORMAT, "the default domain's opset has no version");
        ox->opset = o->version;
    }
    if (!ox->opset)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "the model imports no opset of the default ONNX domain (IR version %lld)",
                       (long long)m->ir_version);
    if (ox->opset < 1 || ox->opset > OX_MAX_OPSET)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the model uses opset %lld; clgraph imports opsets up to %d",
                       (long long)ox->opset, OX_MAX_OPSET);
    return CLG_OK;
}

static bool param_is(const Onnx__ValueInfoProto *vi, size_t k, const char *name)
{
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type || !t->tensor_type->shape ||
        k >= t->tensor_type->shape->n_dim)
        return false;
    const Onnx__TensorShapeProto__Dimension *d = t->tensor_type->shape->dim[k];
    return d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && strcmp(str(d->dim_param), name) == 0;
}

/* Whether some graph input has the dim_param `name` at position `from` or
 * later. */
static bool param_used(ox_ctx *ox, const char *name, size_t from)
{
    const Onnx__GraphProto *gr = ox->graph;
    for (size_t i = 0; i < gr->n_input; i++) {
        const Onnx__TypeProto *t = gr->input[i]->type;
        size_t rank = t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type &&
                              t->tensor_type->shape ? t->tensor_type->shape->n_dim : 0;
        for (size_t k = from; k < rank; k++)
            if (param_is(gr->input[i], k, name)) return true;
    }
    return false;
}

/* The size of a graph input's symbolic dimension k named `param` (a
 * dim_param, "" when the dim is unnamed or 0). The batch N is the dim_param
 * "N" when an input has one; otherwise a first dimension, whose name (if
 * any) is the batch wherever it appears, unless some input has that name
 * in another position (then it is a size of that name: PyTorch's
 * sequence-first {0: 'S', 1: 'N'} keeps S and N apart). Every other name
 * becomes a symbol of that name (characters a symbol cannot hold become
 * _), the same in every input that uses it; an unnamed dimension after the
 * first a size of its own. */
static clg_status input_symbol(ox_ctx *ox, const char *param, size_t k, int64_t *d)
{
    if (!param[0]) {
        if (k == 0) {
            *d = CLG_BATCH;
            return CLG_OK;
        }
        return clg_dim_fresh(ox->g, d);
    }
    if (strcmp(param, "N") == 0 || (k == 0 && !param_used(ox, "N", 0) && !param_used(ox, param, 1))) {
        *d = CLG_BATCH;
        return CLG_OK;
    }
    char name[64];
    size_t n = 0;
    if (param[0] >= '0' && param[0] <= '9') name[n++] = '_';
    for (const char *c = param; *c && n + 1 < sizeof name; c++)
        name[n++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ? *c : '_';
    name[n] = '\0';
    clg_status s = clg_dim_symbol(ox->g, name, n, d);
    return s == CLG_ERR_INVALID_ARGUMENT ? clg_dim_fresh(ox->g, d) : s;
}

/* A graph input's ValueInfo to a clgraph shape and type: FLOAT, INT64,
 * INT32 or BOOL, rank 1..8, dims positive or symbolic (input_symbol). */
static clg_status input_shape(ox_ctx *ox, const Onnx__ValueInfoProto *vi, clg_shape *shape, clg_dtype *type)
{
    const char *name = vi->name;
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "graph input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = t->tensor_type;
    int32_t dtype = tt->has_elem_type ? tt->elem_type : 0;
    if (!ox_dtype_to_clg(dtype, type))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "graph input '%s' has data type %s; clgraph inputs are FLOAT, FLOAT16, INT64, INT32 or BOOL",
                       name, ox_dtype_name(dtype));
    if (!tt->shape)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "graph input '%s' has no shape", name);
    size_t rank = tt->shape->n_dim;
    if (rank < 1 || rank > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "graph input '%s' has rank %zu; clgraph tensors have rank 1 to %d",
                       name, rank, CLG_MAX_RANK);
    shape->rank = (int)rank;
    for (size_t k = 0; k < rank; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
        bool known = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (known && d->dim_value < 0)
            return ox_fail(ox, CLG_ERR_FORMAT, "graph input '%s': dimension %zu is negative (%lld)", name, k,
                           (long long)d->dim_value);
        if (known && d->dim_value > 0) {
            shape->dims[k] = d->dim_value;
            continue;
        }
        clg_status s = input_symbol(ox, d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                                             ? str(d->dim_param) : "", k, &shape->dims[k]);
        if (s) return ox_fail(ox, s, "graph input '%s': dimension %zu: %s", name, k,
                              s == CLG_ERR_UNSUPPORTED ? "too many symbolic sizes" : "out of memory");
    }
    return CLG_OK;
}

/* A graph output's declared type must be what clgraph computes (FLOAT, or
 * INT64, INT32, BOOL for an integer or bool value, FLOAT16 for an f16
 * one), and where the model declares its dims they must be what clgraph computed: a mismatch means a
 * wrong import, which must never pass silently. */
static clg_status check_output(ox_ctx *ox, const Onnx__ValueInfoProto *vi, int node)
{
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type) return CLG_OK;
    const Onnx__TypeProto__Tensor *tt = t->tensor_type;
    int32_t computed = ox_dtype_from_clg(ox->g->nodes[node].dtype);
    if (tt->has_elem_type && tt->elem_type != computed && tt->elem_type != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "graph output '%s' has data type %s; clgraph computes it as %s",
                       vi->name, ox_dtype_name(tt->elem_type), ox_dtype_name(computed));
    if (!tt->shape) return CLG_OK;
    const clg_shape *have = &ox->g->nodes[node].shape;
    char buf[160];
    if ((int)tt->shape->n_dim != have->rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "graph output '%s' is declared with rank %zu but computes %s",
                       vi->name, tt->shape->n_dim, clg_shape_str(ox->g, have, buf, sizeof buf));
    for (int k = 0; k < have->rank; k++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[k];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value <= 0 ||
            clg_dim_is_symbolic(have->dims[k]))
            continue;
        if (d->dim_value != have->dims[k])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                           "graph output '%s' is declared with dimension %d = %lld but computes %s", vi->name,
                           k, (long long)d->dim_value, clg_shape_str(ox->g, have, buf, sizeof buf));
    }
    return CLG_OK;
}

/* Defines every value: initializers, graph inputs (those without an
 * initializer of the same name), node outputs; reserves their clgraph
 * names in the order docs/onnx.md gives. */
static clg_status define_values(ox_ctx *ox)
{
    const Onnx__GraphProto *gr = ox->graph;
    for (size_t k = 0; k < gr->n_initializer; k++) {
        const char *name = str(gr->initializer[k]->name);
        if (!*name) return ox_fail(ox, CLG_ERR_FORMAT, "initializer %zu has no name", k);
        if (ox_find_value(ox, name) >= 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "initializer '%s' is defined twice", name);
        if (add_value(ox, name, -1) < 0) return ox_oom(ox);
    }
    int first_input = ox->n_values;
    for (size_t k = 0; k < gr->n_input; k++) {
        const char *name = str(gr->input[k]->name);
        if (!*name) return ox_fail(ox, CLG_ERR_FORMAT, "graph input %zu has no name", k);
        int i = ox_find_value(ox, name);
        if (i >= first_input)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "graph input '%s' is listed twice", name);
        if (i >= 0) continue; /* an initializer: a constant, not an input */
        if (add_value(ox, name, -1) < 0) return ox_oom(ox);
    }
    int first_output = ox->n_values;
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *n = gr->node[k];
        ox->cur = n;
        if (!n->op_type || !*n->op_type) return ox_fail(ox, CLG_ERR_FORMAT, "the node has no op_type");
        for (size_t o = 0; o < n->n_output; o++) {
            const char *name = n->output[o];
            if (!*name) continue;
            int i = ox_find_value(ox, name);
            if (i >= 0) {
                int p = ox->values[i].producer;
                if (p >= 0)
                    return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output '%s' is also produced by node %s (%s)",
                                   name, ox_node_label(gr->node[p]), str(gr->node[p]->op_type));
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output '%s' is also a graph %s", name,
                               i < first_input ? "initializer" : "input");
            }
            if (add_value(ox, name, (int)k) < 0) return ox_oom(ox);
        }
    }
    ox->cur = NULL;
    /* Names: graph inputs, initializers, node outputs. */
    for (int pass = 0; pass < 3; pass++) {
        int lo = pass == 0 ? first_input : pass == 1 ? 0 : first_output;
        int hi = pass == 0 ? first_output : pass == 1 ? first_input : ox->n_values;
        for (int i = lo; i < hi; i++)
            if (!(ox->values[i].clg_name = ox_unique_name(ox, ox->values[i].name))) return ox_oom(ox);
    }
    return CLG_OK;
}

static clg_status import_inputs_and_initializers(ox_ctx *ox)
{
    const Onnx__GraphProto *gr = ox->graph;
    if (gr->n_sparse_initializer)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t k = 0; k < gr->n_initializer; k++) {
        ox_value *v = &ox->values[k]; /* initializers come first */
        char what[64 + 200];
        snprintf(what, sizeof what, "initializer '%.200s'", v->name);
        clg_status s = ox_tensor_decode(ox, gr->initializer[k], what, &v->host);
        if (s) return s;
        v->kind = OX_HOST;
    }
    for (size_t k = 0; k < gr->n_input; k++) {
        ox_value *v = &ox->values[ox_find_value(ox, gr->input[k]->name)];
        if (v->kind != OX_UNDEFINED) {
            /* An initializer: a constant, whose type must be the declared one. */
            const Onnx__TypeProto *t = gr->input[k]->type;
            if (t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type &&
                t->tensor_type->has_elem_type && t->tensor_type->elem_type != v->host.dtype)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "graph input '%s' is declared %s but its initializer is %s",
                               v->name, ox_dtype_name(t->tensor_type->elem_type), ox_dtype_name(v->host.dtype));
            continue;
        }
        clg_shape shape;
        clg_dtype type;
        clg_status s = input_shape(ox, gr->input[k], &shape, &type);
        if (!s) s = append_leaf(ox, CLG_OP_INPUT, v, &shape, NULL, type);
        if (s) return s;
        v->kind = OX_TENSOR;
    }
    return CLG_OK;
}

/* Counts uses and checks every name a node or the graph output list uses. */
static clg_status count_uses(ox_ctx *ox)
{
    const Onnx__GraphProto *gr = ox->graph;
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *n = gr->node[k];
        for (size_t i = 0; i < n->n_input; i++) {
            if (!*n->input[i]) continue;
            int v = ox_find_value(ox, n->input[i]);
            if (v < 0) {
                ox->cur = n;
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                               "input '%s' is not defined (not a graph input, initializer or node output)",
                               n->input[i]);
            }
            ox->values[v].uses++;
        }
    }
    if (!gr->n_output) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the graph has no outputs");
    for (size_t k = 0; k < gr->n_output; k++) {
        const char *name = str(gr->output[k]->name);
        int v = ox_find_value(ox, name);
        if (v < 0) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "graph output '%s' is not defined", name);
        ox->values[v].uses++;
    }
    return CLG_OK;
}

/* ---- topological order: Kahn's algorithm, always taking the ready node
 * that comes first in the file, so a sorted graph keeps its order. */

static void heap_push(int *heap, int *n, int x)
{
    int i = (*n)++;
    while (i > 0 && heap[(i - 1) / 2] > x) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = x;
}

static int heap_pop(int *heap, int *n)
{
    int top = heap[0], x = heap[--(*n)], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap[c + 1] < heap[c]) c++;
        if (heap[c] >= x) break;
        heap[i] = heap[c];
        i = c;
    }
    if (*n) heap[i] = x;
    return top;
}

static clg_status topo_order(ox_ctx *ox, int *order)
{
    const Onnx__GraphProto *gr = ox->graph;
    int n = (int)gr->n_node;
    clg_status s = CLG_OK;
    int *pending = clg_calloc(ox->g, (size_t)n + 1, sizeof *pending);
    int *first = clg_calloc(ox->g, (size_t)ox->n_values + 1, sizeof *first); /* CSR of consumers */
    int total = 0;
    for (int k = 0; k < n; k++) total += (int)gr->node[k]->n_input;
    int *consumers = clg_malloc(ox->g, ((size_t)total + 1) * sizeof *consumers);
    int *heap = clg_malloc(ox->g, ((size_t)n + 1) * sizeof *heap);
    int *cursor = clg_malloc(ox->g, ((size_t)ox->n_values + 1) * sizeof *cursor);
    if (!pending || !first || !consumers || !heap || !cursor) {
        s = ox_oom(ox);
        goto done;
    }
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < gr->node[k]->n_input; i++) {
            if (!*gr->node[k]->input[i]) continue;
            int v = ox_find_value(ox, gr->node[k]->input[i]);
            if (ox->values[v].producer < 0) continue;
            pending[k]++;
            first[v + 1]++;
        }
    for (int v = 0; v < ox->n_values; v++) first[v + 1] += first[v];
    memcpy(cursor, first, (size_t)ox->n_values * sizeof *cursor);
    /* consumers[first[v] .. first[v + 1]) are the nodes reading v. */
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < gr->node[k]->n_input; i++) {
            if (!*gr->node[k]->input[i]) continue;
            int v = ox_find_value(ox, gr->node[k]->input[i]);
            if (ox->values[v].producer >= 0) consumers[cursor[v]++] = k;
        }
    int n_heap = 0, n_done = 0;
    for (int k = 0; k < n; k++)
        if (!pending[k]) heap_push(heap, &n_heap, k);
    while (n_heap) {
        int k = heap_pop(heap, &n_heap);
        order[n_done++] = k;
        for (size_t o = 0; o < gr->node[k]->n_output; o++) {
            if (!*gr->node[k]->output[o]) continue;
            int v = ox_find_value(ox, gr->node[k]->output[o]);
            for (int c = first[v]; c < first[v + 1]; c++)
                if (--pending[consumers[c]] == 0) heap_push(heap, &n_heap, consumers[c]);
        }
    }
    if (n_done < n) {
        /* Every node left waits, directly or not, on a cycle. */
        int k = 0;
        while (!pending[k]) k++;
        const Onnx__NodeProto *node = gr->node[k];
        const char *via = "";
        for (size_t i = 0; i < node->n_input && !*via; i++) {
            if (!*node->input[i]) continue;
            int v = ox_find_value(ox, node->input[i]);
            int p = ox->values[v].producer;
            if (p >= 0 && pending[p]) via = node->input[i];
        }
        ox->cur = node;
        s = ox_fail(ox, CLG_ERR_INVALID_GRAPH,
                    "the graph has a cycle: input '%s' depends on this node's own output", via);
        ox->cur = NULL;
    }
done:
    clg_free(ox->g, cursor);
    clg_free(ox->g, heap);
    clg_free(ox->g, consumers);
    clg_free(ox->g, first);
    clg_free(ox->g, pending);
    return s;
}

/* ---- the node loop */

/* Converts node n, whose outputs are defined values: binds its inputs and
 * outputs (in and out grow as needed) and marks the outputs its converter
 * left undefined as unavailable. The main graph's nodes and If branches'. */
static clg_status convert_proto_node(ox_ctx *ox, const Onnx__NodeProto *n, ox_value ***in_buf, ox_value ***out_buf,
                                     int *cap)
{
    ox->cur = n;
    const char *domain = str(n->domain);
    if (*domain && strcmp(domain, "ai.onnx") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "ops of domain '%s' are not supported", domain);
    int need = (int)(n->n_input > n->n_output ? n->n_input : n->n_output);
    if (need > *cap) {
        ox_value **a = clg_realloc(ox->g, *in_buf, (size_t)need * sizeof *a);
        if (!a) return ox_oom(ox);
        *in_buf = a;
        ox_value **b = clg_realloc(ox->g, *out_buf, (size_t)need * sizeof *b);
        if (!b) return ox_oom(ox);
        *out_buf = b;
        *cap = need;
    }
    ox_value **in = *in_buf, **out = *out_buf;
    int n_in = (int)n->n_input, n_out = (int)n->n_output;
    for (int o = 0; o < n_out; o++)
        out[o] = *n->output[o] ? &ox->values[ox_find_value(ox, n->output[o])] : NULL;
    for (int i = 0; i < n_in; i++) {
        in[i] = *n->input[i] ? &ox->values[ox_find_value(ox, n->input[i])] : NULL;
        if (in[i] && in[i]->kind == OX_UNAVAILABLE)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "input '%s' %s", in[i]->name, in[i]->why);
        if (in[i] && in[i]->kind == OX_UNDEFINED)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input '%s' is not defined", in[i]->name);
    }
    clg_status s;
    if ((s = ox_convert_node(ox, n, in, n_in, out, n_out))) return s;
    /* A converter may define values (an If's branch), moving ox->values. */
    for (int o = 0; o < n_out; o++) {
        ox_value *v = *n->output[o] ? &ox->values[ox_find_value(ox, n->output[o])] : NULL;
        if (!v || v->kind != OX_UNDEFINED) continue;
        /* A converter leaves an output it does not compute undefined. */
        v->kind = OX_UNAVAILABLE;
        char buf[160];
        snprintf(buf, sizeof buf, "is output %d of node %.60s (%.40s), which clgraph does not compute", o,
                 ox_node_label(n), str(n->op_type));
        if (!(v->why = clg_strdup(ox->g, buf))) return ox_oom(ox);
    }
    return CLG_OK;
}

static clg_status import_node(ox_ctx *ox, int k, ox_value ***in_buf, ox_value ***out_buf, int *cap)
{
    const Onnx__NodeProto *n = ox->graph->node[k];
    ox->cur = n;
    const char *domain = str(n->domain);
    if (*domain && strcmp(domain, "ai.onnx") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "ops of domain '%s' are not supported", domain);
    if (ox->skip[k]) return CLG_OK;
    /* The end of a matched GELU: its inputs are inside the pattern. */
    if (ox->gelu_input[k] >= 0) {
        ox_value *y = &ox->values[ox_find_value(ox, n->output[0])];
        int x;
        clg_status s = ox_tensor_node(ox, &ox->values[ox->gelu_input[k]], &x);
        if (s) return s;
        clg_attrs a;
        clg_attrs_default(CLG_OP_GELU, &a);
        a.approximate = ox->gelu_tanh[k];
        if ((s = ox_append(ox, CLG_OP_GELU, y, NULL, &x, 1, &a, &y->node))) return s;
        y->kind = OX_TENSOR;
        return CLG_OK;
    }
    return convert_proto_node(ox, n, in_buf, out_buf, cap);
}

/* ---- If with a condition known at import */

/* Defines and imports the values of an If's branch: its initializers, then
 * its nodes in their (topological) order. Its nodes may read every value
 * defined so far, as ONNX's scoping allows; names must be new. */
static clg_status import_branch(ox_ctx *ox, const Onnx__GraphProto *gr)
{
    if (gr->n_sparse_initializer) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t k = 0; k < gr->n_initializer; k++) {
        const char *name = str(gr->initializer[k]->name);
        if (!*name || ox_find_value(ox, name) >= 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "a branch initializer '%s' has no name or one already used",
                           name);
        int i = add_value(ox, name, -1);
        if (i < 0 || !(ox->values[i].clg_name = ox_unique_name(ox, name))) return ox_oom(ox);
        char what[64 + 200];
        snprintf(what, sizeof what, "initializer '%.200s'", name);
        clg_status s = ox_tensor_decode(ox, gr->initializer[k], what, &ox->values[i].host);
        if (s) return s;
        ox->values[i].kind = OX_HOST;
    }
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *n = gr->node[k];
        ox->cur = n;
        if (!n->op_type || !*n->op_type) return ox_fail(ox, CLG_ERR_FORMAT, "the node has no op_type");
        for (size_t i = 0; i < n->n_input; i++) {
            int v = *n->input[i] ? ox_find_value(ox, n->input[i]) : -2;
            if (v == -1)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "input '%s' is not defined before this node",
                               n->input[i]);
            if (v >= 0) ox->values[v].uses++;
        }
        for (size_t o = 0; o < n->n_output; o++) {
            const char *name = n->output[o];
            if (!*name) continue;
            if (ox_find_value(ox, name) >= 0)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output '%s' is already defined", name);
            int i = add_value(ox, name, -1);
            if (i < 0 || !(ox->values[i].clg_name = ox_unique_name(ox, name))) return ox_oom(ox);
        }
    }
    ox_value **in = NULL, **out = NULL;
    int cap = 0;
    clg_status s = CLG_OK;
    for (size_t k = 0; k < gr->n_node && !s; k++) s = convert_proto_node(ox, gr->node[k], &in, &out, &cap);
    clg_free(ox->g, in);
    clg_free(ox->g, out);
    return s;
}

clg_status ox_convert_if(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out, int n_out)
{
    (void)n_in;
    const ox_value *c = in[0];
    if (!c || c->kind != OX_HOST || c->host.count != 1 || (c->host.sym && c->host.sym[0]))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "the condition '%s' is computed in the graph; only a condition known at import (a constant "
                       "or folded shape arithmetic) is supported, whose branch is imported in place of the If",
                       c ? c->name : "");
    bool take = ox_dtype_is_float(c->host.dtype) ? c->host.f->data[0] != 0.0f : c->host.i[0] != 0;
    const char *which = take ? "then_branch" : "else_branch";
    const Onnx__AttributeProto *a = ox_attr(n, which);
    if (!a || !a->g) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s (a graph) is missing", which);
    const Onnx__GraphProto *branch = a->g;
    if ((int)branch->n_output != n_out)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the %s has %zu outputs; the If has %d", which, branch->n_output,
                       n_out);
    /* out[] points into ox->values, which the branch's values may move */
    int idx[16];
    if (n_out > 16) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%d outputs; at most 16 are supported", n_out);
    for (int k = 0; k < n_out; k++) idx[k] = out[k] ? (int)(out[k] - ox->values) : -1;
    clg_status s = import_branch(ox, branch);
    ox->cur = n;
    if (s) return s;
    for (int k = 0; k < n_out && !s; k++) {
        if (idx[k] < 0) continue;
        int b = ox_find_value(ox, str(branch->output[k]->name));
        if (b < 0)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the %s's output '%s' is not defined", which,
                           str(branch->output[k]->name));
        ox->values[b].uses++;
        /* the If's output is its own node, named as the model names it */
        int x;
        clg_attrs none;
        clg_attrs_default(CLG_OP_IDENTITY, &none);
        if ((s = ox_tensor_node(ox, &ox->values[b], &x))) return s;
        ox_value *o = &ox->values[idx[k]];
        if ((s = ox_append(ox, CLG_OP_IDENTITY, o, NULL, &x, 1, &none, &o->node))) return s;
        o->kind = OX_TENSOR;
    }
    return s;
}

/* A graph output declared FLOAT16 whose value clgraph computes as f32
 * (any arithmetic on halves does): the model would round it to half, so a
 * Cast to f16 rounds it (an f16 output, which the caller receives as half
 * bits). The cast takes the output's name, the value's node a new one. */
static clg_status half_output(ox_ctx *ox, const Onnx__ValueInfoProto *vi, ox_value *v, int *node)
{
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
        !t->tensor_type->has_elem_type || t->tensor_type->elem_type != OX_FLOAT16 ||
        ox->g->nodes[*node].dtype != CLG_DTYPE_F32 || ox->g->nodes[*node].op == CLG_OP_INPUT)
        return CLG_OK; /* a FLOAT input declared a FLOAT16 output: check_output refuses it */
    int x = *node, cast;
    clg_status s = ox_append_cast(ox, NULL, vi->name, x, CLG_DTYPE_F16, &cast);
    if (s) return s;
    clg_edit_swap_names(ox->g, x, cast);
    v->node = *node = cast;
    v->kind = OX_TENSOR;
    return CLG_OK;
}

static clg_status import_outputs(ox_ctx *ox)
{
    const Onnx__GraphProto *gr = ox->graph;
    for (size_t k = 0; k < gr->n_output; k++) {
        ox_value *v = &ox->values[ox_find_value(ox, gr->output[k]->name)];
        if (v->kind == OX_HOST && v->host.rank == 0)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED, "graph output '%s' is a scalar; clgraph tensors have rank 1 to %d",
                           v->name, CLG_MAX_RANK);
        int node;
        clg_status s = ox_tensor_node(ox, v, &node);
        if (!s) s = half_output(ox, gr->output[k], v, &node);
        if (!s) s = check_output(ox, gr->output[k], node);
        if (s) return s;
        for (int j = 0; j < ox->g->n_outputs; j++)
            if (ox->g->outputs[j] == node)
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "graph output '%s' is listed twice", v->name);
        if ((s = clg_graph_add_output(ox->g, ox->g->nodes[node].name)))
            return s == CLG_ERR_OUT_OF_MEMORY ? ox_oom(ox) : s;
    }
    return CLG_OK;
}

static clg_status import_model(ox_ctx *ox, const Onnx__ModelProto *m)
{
    if (!m->has_ir_version)
        return ox_fail(ox, CLG_ERR_FORMAT, "not an ONNX model: it has no ir_version");
    if (!m->graph) return ox_fail(ox, CLG_ERR_FORMAT, "not an ONNX model: it has no graph");
    ox->graph = m->graph;
    clg_status s = model_opset(ox, m);
    if (!s) s = define_values(ox);
    if (!s) s = import_inputs_and_initializers(ox);
    if (!s) s = count_uses(ox);
    if (s) return s;

    int n = (int)ox->graph->n_node;
    int *order = clg_malloc(ox->g, ((size_t)n + 1) * sizeof *order);
    ox->gelu_input = clg_malloc(ox->g, ((size_t)n + 1) * sizeof *ox->gelu_input);
    ox->skip = clg_calloc(ox->g, (size_t)n + 1, sizeof *ox->skip);
    ox->gelu_tanh = clg_calloc(ox->g, (size_t)n + 1, sizeof *ox->gelu_tanh);
    if (!order || !ox->gelu_input || !ox->skip || !ox->gelu_tanh) {
        clg_free(ox->g, order);
        return ox_oom(ox);
    }
    for (int k = 0; k < n; k++) ox->gelu_input[k] = -1;
    s = topo_order(ox, order);
    if (!s) s = ox_match_gelu(ox, order, n);
    ox_value **in = NULL, **out = NULL;
    int cap = 0;
    for (int i = 0; i < n && !s; i++) s = import_node(ox, order[i], &in, &out, &cap);
    ox->cur = NULL;
    clg_free(ox->g, in);
    clg_free(ox->g, out);
    clg_free(ox->g, order);
    if (!s) s = import_outputs(ox);
    return s;
}

static void free_ctx(ox_ctx *ox)
{
    for (int i = 0; i < ox->n_values; i++) {
        ox_host_free(ox->g, &ox->values[i].host);
        clg_free(ox->g, ox->values[i].why);
    }
    clg_free(ox->g, ox->values);
    clg_name_map_free(ox->g, &ox->value_map);
    ox_names_free(ox);
    clg_free(ox->g, ox->gelu_input);
    clg_free(ox->g, ox->skip);
    clg_free(ox->g, ox->gelu_tanh);
}

/* ---------------------------------------------------------------- nesting */

/* ONNX nests messages (graphs in attributes in nodes in graphs ...), and
 * protobuf-c unpacks them recursively without a limit: a 150 KB file of
 * 30000 nested attributes overflows the stack. This walk of the wire
 * format, guided by the descriptors, refuses deeper nesting first. Bytes
 * that do not parse are left to protobuf-c to reject. */
#define MAX_NESTING 64

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

static bool nesting_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth)
{
    if (depth > MAX_NESTING) return false;
    while (p < end) {
        uint64_t tag, v;
        if (!read_varint(&p, end, &tag)) return true;
        switch (tag & 7) {
        case 0:
            if (!read_varint(&p, end, &v)) return true;
            break;
        case 1:
            if ((size_t)(end - p) < 8) return true;
            p += 8;
            break;
        case 5:
            if ((size_t)(end - p) < 4) return true;
            p += 4;
            break;
        case 2: {
            if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p)) return true;
            const ProtobufCFieldDescriptor *f =
                tag >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !nesting_ok(f->descriptor, p, p + v, depth + 1))
                return false;
            p += v;
            break;
        }
        default:
            return true; /* groups, invalid wire types: protobuf-c's to reject */
        }
    }
    return true;
}

/* ---------------------------------------------------------------- public */

clg_status clg_graph_parse_onnx(clg_graph *g, const void *data, size_t len)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!data && len) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "data is NULL");
    if (g->n_nodes || g->n_outputs) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "the graph is not empty");
    clg_clear_error(g);
    if (!nesting_ok(&onnx__model_proto__descriptor, data, (const uint8_t *)data + len, 0))
        return clg_fail(g, CLG_ERR_FORMAT, "not an ONNX model: messages nested more than %d deep", MAX_NESTING);
    ox_pb_alloc alloc;
    ox_pb_alloc_init(&alloc, g);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&alloc.pb, len, data);
    if (!m) {
        if (alloc.failed) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading the ONNX model");
        return clg_fail(g, CLG_ERR_FORMAT,
                        "not an ONNX model: its %zu bytes are not a valid protobuf ModelProto "
                        "(malformed or truncated)", len);
    }
    ox_ctx ox = {0};
    ox.g = g;
    clg_status s = import_model(&ox, m);
    free_ctx(&ox);
    onnx__model_proto__free_unpacked(m, &alloc.pb);
    if (s) clg_graph_clear(g);
    return s;
}

clg_status clg_graph_load_onnx(clg_graph *g, const char *path)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!path) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "path is NULL");
    char *data = NULL;
    size_t len = 0;
    clg_status s = clg_read_file(g, path, &data, &len);
    if (s) return s;
    s = clg_graph_parse_onnx(g, data, len);
    if (s && s != CLG_ERR_OUT_OF_MEMORY) {
        char msg[sizeof g->errmsg];
        snprintf(msg, sizeof msg, "%s", g->errmsg);
        clg_fail(g, s, "%s: %s", path, msg);
    }
    clg_free(g, data);
    return s;
}

bool clg_onnx_detect(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path);
    if (n >= 5) {
        const char *ext = path + n - 5;
        bool onnx = true;
        for (int k = 0; k < 5; k++) {
            char c = ext[k];
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if (c != ".onnx"[k]) onnx = false;
        }
        if (onnx) return true;
    }
    /* Serializers write fields in number order, so a ModelProto starts with
     * ir_version's tag (field 1, varint: 0x08), a byte no text model can
     * start with. */
    return len > 0 && data[0] == 0x08;
}
