/* Graph lifetime, the builder API and shape checks on every added node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "name_map.h"

/* Largest tensor clgraph accepts: 2^31 elements (8 GiB of fp32). Beyond it
 * sizes stop fitting the int arithmetic OpenCL kernels use for indices. */
#define MAX_ELEMENTS ((int64_t)1 << 31)

clg_status clg_graph_create(clg_graph **out, clg_alloc_fn alloc, void *user)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!alloc) alloc = clg_default_alloc;
    /* The graph struct itself comes from the allocator too, without a header:
     * its size is known at both ends. */
    clg_graph *g = alloc(user, NULL, 0, sizeof *g);
    if (!g) return CLG_ERR_OUT_OF_MEMORY;
    memset(g, 0, sizeof *g);
    g->allocator.fn = alloc;
    g->allocator.user = user;
    *out = g;
    return CLG_OK;
}

void clg_graph_clear(clg_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        clg_node *n = &g->nodes[i];
        clg_free(g, n->name);
        clg_free(g, n->inputs);
        clg_const_release(g, n->constant);
    }
    clg_free(g, g->nodes);
    clg_free(g, g->outputs);
    clg_free(g, g->weights_path);
    clg_name_map_free(g, &g->names);
    clg_dim_table_free(g);
    g->nodes = NULL;
    g->outputs = NULL;
    g->weights_path = NULL;
    g->n_nodes = g->cap_nodes = g->n_outputs = g->cap_outputs = 0;
}

void clg_graph_destroy(clg_graph *g)
{
    if (!g) return;
    clg_graph_clear(g);
    g->allocator.fn(g->allocator.user, g, sizeof *g, 0);
}

void clg_graph_free(clg_graph *g, void *ptr)
{
    if (g) clg_free(g, ptr);
}

static const char *node_name(const void *g, int i) { return ((const clg_graph *)g)->nodes[i].name; }

int clg_find_value(const clg_graph *g, const char *name)
{
    return clg_name_map_find(&g->names, name, node_name, g);
}

static bool valid_name(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-", *s))
            return false;
    return true;
}

/* Dims must be positive or symbolic sizes the graph knows; the count of the
 * known dims must stay sane. */
static clg_status check_shape(clg_graph *g, int line, const char *name, clg_op op,
                              const clg_shape *s)
{
    char buf[96];
    if (s->rank < 1 || s->rank > CLG_MAX_RANK)
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                             "rank %d is outside 1..%d", s->rank, CLG_MAX_RANK);
    int64_t count = 1;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = s->dims[i];
        if (clg_dim_is_symbolic(d)) {
            if (d != CLG_BATCH && CLG_DIM_ENTRY(d) >= g->dims.n_exprs)
                return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                     "shape %s: dimension %d must be positive or a symbolic size of this "
                                     "graph (clg_graph_symbol makes them), got %lld",
                                     clg_shape_str(g, s, buf, sizeof buf), i, (long long)d);
            continue;
        }
        if (d < 1)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "shape %s: dimension %d must be positive",
                                 clg_shape_str(g, s, buf, sizeof buf), i);
        if (d > MAX_ELEMENTS || count > MAX_ELEMENTS / d)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "shape %s has more than 2^31 elements",
                                 clg_shape_str(g, s, buf, sizeof buf));
        count *= d;
    }
    return CLG_OK;
}

clg_status clg_infer_node(clg_graph *g, const clg_node *n, const clg_shape *const *in, clg_shape *out)
{
    const clg_op_info *info = clg_op_get(n->op);
    int own = clg_node_own_inputs(n);
    clg_infer_ctx ctx = {g, n->line, n->name, n->op, &n->attrs, own, in};
    clg_status s = info->infer(&ctx, out);
    if (s) return s;
    if (clg_node_has_epilogue(n)) {
        ctx.n_inputs = n->n_inputs;
        if ((s = clg_infer_epilogue(&ctx, own, out))) return s;
    }
    return check_shape(g, n->line, n->name, n->op, out);
}

clg_status clg_graph_append(clg_graph *g, clg_op op, const char *name, int line, const int *inputs,
                            int n_inputs, const clg_attrs *attrs, const clg_shape *shape,
                            clg_const *constant)
{
    const clg_op_info *info = clg_op_get(op);
    if (!info) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "unknown op %d", (int)op);
    if (!name) return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, line, "(null)", op, "name is NULL");
    if (!valid_name(name))
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                             "a name must be non-empty and use only letters, digits and _ . / -");
    int other = clg_find_value(g, name);
    if (other >= 0) {
        if (g->nodes[other].line > 0)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "duplicate name: already defined on line %d", g->nodes[other].line);
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "duplicate name");
    }
    clg_node n = {0};
    n.op = op;
    n.name = (char *)name;
    n.line = line;
    n.n_inputs = n_inputs;
    n.inputs = (int *)inputs;
    if (attrs) n.attrs = *attrs;
    else clg_attrs_default(op, &n.attrs);
    /* An epilogue's inputs come after the op's own (clg_op_takes_epilogue). */
    int epi = clg_epilogue_inputs(op, &n.attrs);
    if (epi < 0)
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "attribute epilogue does not parse");
    int own = n_inputs - epi;
    if (epi > 0 && (own < info->min_inputs || (info->max_inputs >= 0 && own > info->max_inputs)))
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                             "takes %d to %d inputs, then the %d its epilogue reads (x1..x%d); got %d in all",
                             info->min_inputs, info->max_inputs, epi, epi, n_inputs);
    if (own < info->min_inputs || (info->max_inputs >= 0 && own > info->max_inputs)) {
        if (info->min_inputs == info->max_inputs)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "takes %d inputs, got %d", info->min_inputs, own);
        if (info->max_inputs < 0)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "takes at least %d inputs, got %d", info->min_inputs, own);
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "takes %d to %d inputs, got %d",
                             info->min_inputs, info->max_inputs, own);
    }


    clg_status s;
    if (info->infer) {
        const clg_shape *in_stack[8];
        const clg_shape **in = in_stack;
        if (n_inputs > 8 && !(in = clg_malloc(g, (size_t)n_inputs * sizeof *in)))
            return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding node %s", name);
        for (int i = 0; i < n_inputs; i++) in[i] = &g->nodes[inputs[i]].shape;
        s = clg_infer_node(g, &n, in, &n.shape);
        if (in != in_stack) clg_free(g, in);
        if (s) return s;
        if ((s = clg_infer_dtype(g, line, name, op, &n.attrs, inputs, n_inputs, &n.dtype))) return s;
    } else {
        n.shape = *shape;
        if ((s = check_shape(g, line, name, op, shape))) return s;
        if (op == CLG_OP_CONSTANT && clg_shape_is_symbolic(shape))
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "a constant cannot have a symbolic dimension");
    }

    if (!clg_grow(g, (void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes))
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding node %s", name);
    n.name = clg_strdup(g, name);
    n.inputs = n_inputs ? clg_malloc(g, (size_t)n_inputs * sizeof *n.inputs) : NULL;
    if (!n.name || (n_inputs && !n.inputs)) {
        clg_free(g, n.name);
        clg_free(g, n.inputs);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding node %s", name);
    }
    if (n_inputs) memcpy(n.inputs, inputs, (size_t)n_inputs * sizeof *n.inputs);
    n.constant = constant;
    g->nodes[g->n_nodes] = n;
    if (!clg_name_map_insert(g, &g->names, g->n_nodes, node_name, g)) {
        clg_free(g, n.name);
        clg_free(g, n.inputs);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding node %s", name);
    }
    g->n_nodes++;
    return CLG_OK;
}

clg_status clg_graph_append_value(clg_graph *g, clg_op op, const char *name, int line,
                                  const clg_shape *shape, clg_const *constant, clg_dtype dtype)
{
    if (!clg_dtype_valid(dtype))
        return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, line, name ? name : "(null)", op,
                             "unknown element type %d", (int)dtype);
    size_t bad;
    /* file(...) values are not read yet: the parser checks them once they are. */
    if (constant && constant->init.kind != CLG_INIT_FILE &&
        !clg_values_fit_dtype(constant->data, constant->count, dtype, &bad))
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name ? name : "(null)", op,
                             "element %zu (%.9g) does not fit %s (%s)", bad, (double)constant->data[bad],
                             clg_dtype_name(dtype), clg_dtype_values_text(dtype));
    clg_status s = clg_graph_append(g, op, name, line, NULL, 0, NULL, shape, constant);
    if (!s) g->nodes[g->n_nodes - 1].dtype = dtype; /* nothing reads it yet */
    return s;
}

/* ---- the public builder */

static clg_status shape_from(clg_graph *g, const char *name, clg_op op, int rank,
                             const int64_t *dims, clg_shape *s)
{
    if (rank < 1 || rank > CLG_MAX_RANK || !dims)
        return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name, op, "rank %d is outside 1..%d",
                             rank, CLG_MAX_RANK);
    s->rank = rank;
    for (int i = 0; i < rank; i++) s->dims[i] = dims[i];
    return CLG_OK;
}

clg_status clg_graph_add_input_typed(clg_graph *g, const char *name, clg_dtype dtype, int rank,
                                     const int64_t *dims)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    clg_shape s;
    clg_status st = shape_from(g, name, CLG_OP_INPUT, rank, dims, &s);
    if (st) return st;
    return clg_graph_append_value(g, CLG_OP_INPUT, name, 0, &s, NULL, dtype);
}

clg_status clg_graph_add_input(clg_graph *g, const char *name, int rank, const int64_t *dims)
{
    return clg_graph_add_input_typed(g, name, CLG_DTYPE_F32, rank, dims);
}

clg_status clg_graph_add_constant(clg_graph *g, const char *name, int rank, const int64_t *dims,
                                  const float *data)
{
    return clg_graph_add_constant_typed(g, name, CLG_DTYPE_F32, rank, dims, data);
}

clg_status clg_graph_add_constant_typed(clg_graph *g, const char *name, clg_dtype dtype, int rank,
                                        const int64_t *dims, const void *data)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!clg_dtype_valid(dtype))
        return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name ? name : "(null)", CLG_OP_CONSTANT,
                             "unknown element type %d", (int)dtype);
    clg_shape s;
    clg_status st = shape_from(g, name, CLG_OP_CONSTANT, rank, dims, &s);
    if (st) return st;
    if (!data) return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name, CLG_OP_CONSTANT, "data is NULL");
    /* Validate the shape before trusting it as an element count. */
    if ((st = check_shape(g, 0, name, CLG_OP_CONSTANT, &s))) return st;
    if (clg_shape_is_symbolic(&s))
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, 0, name, CLG_OP_CONSTANT,
                             "a constant cannot have a symbolic dimension");
    size_t count = (size_t)clg_shape_count(&s);
    clg_const *c = clg_const_new(g, count);
    if (!c) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory for constant %s", name);
    size_t bad;
    int64_t bad_value;
    if (!clg_values_to_float(data, dtype, count, c->data, &bad, &bad_value)) {
        clg_const_release(g, c);
        return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name, CLG_OP_CONSTANT,
                             "element %zu is %lld, past 2^24 in magnitude: not exact as a float",
                             bad, (long long)bad_value);
    }
    c->init.kind = CLG_INIT_LIST;
    if ((st = clg_graph_append_value(g, CLG_OP_CONSTANT, name, 0, &s, c, dtype))) {
        clg_const_release(g, c);
        return st;
    }
    return CLG_OK;
}

clg_status clg_graph_add_node(clg_graph *g, clg_op op, const char *name, const char *const *inputs,
                              int n_inputs, const clg_attr *attrs, int n_attrs)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!clg_op_get(op) || op == CLG_OP_INPUT || op == CLG_OP_CONSTANT)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                        "node %s: op %d is not a computing op (use add_input/add_constant)",
                        name ? name : "(null)", (int)op);
    if (n_inputs < 0 || (n_inputs > 0 && !inputs) || n_attrs < 0 || (n_attrs > 0 && !attrs))
        return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name, op, "bad input or attribute array");
    clg_attrs a;
    clg_attrs_default(op, &a);
    for (int i = 0; i < n_attrs; i++) {
        clg_attr_field f;
        const char *an = attrs[i].name ? attrs[i].name : "";
        if (!clg_field_lookup(op, an, strlen(an), &f))
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, 0, name, op, "unknown attribute '%s'", an);
        clg_status s = clg_attr_set(g, 0, name, op, &a, f, &attrs[i]);
        if (s) return s;
    }
    int stack_idx[8];
    int *idx = stack_idx;
    if (n_inputs > 8 && !(idx = clg_malloc(g, (size_t)n_inputs * sizeof *idx)))
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding node %s", name);
    clg_status s = CLG_OK;
    for (int i = 0; i < n_inputs && !s; i++) {
        idx[i] = inputs[i] ? clg_find_value(g, inputs[i]) : -1;
        if (!inputs[i])
            s = clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, 0, name, op, "input %d is NULL", i);
        else if (idx[i] < 0)
            s = clg_fail_node(g, CLG_ERR_INVALID_GRAPH, 0, name, op, "input '%s' is not defined", inputs[i]);
    }
    if (!s) s = clg_graph_append(g, op, name, 0, idx, n_inputs, &a, NULL, NULL);
    if (idx != stack_idx) clg_free(g, idx);
    return s;
}

clg_status clg_graph_add_output(clg_graph *g, const char *name)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!name) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "output name is NULL");
    int i = clg_find_value(g, name);
    if (i < 0) return clg_fail(g, CLG_ERR_INVALID_GRAPH, "output '%s' is not defined", name);
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == i) return clg_fail(g, CLG_ERR_INVALID_GRAPH, "output '%s' is listed twice", name);
    if (!clg_grow(g, (void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof *g->outputs))
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory adding output %s", name);
    g->outputs[g->n_outputs++] = i;
    return CLG_OK;
}

/* ---- inspection */

int clg_graph_node_count(const clg_graph *g) { return g ? g->n_nodes : 0; }

int clg_graph_input_count(const clg_graph *g)
{
    int n = 0;
    for (int i = 0; g && i < g->n_nodes; i++) n += g->nodes[i].op == CLG_OP_INPUT;
    return n;
}

int clg_graph_output_count(const clg_graph *g) { return g ? g->n_outputs : 0; }

static void write_shape(const clg_shape *s, int *rank, int64_t dims[CLG_MAX_RANK])
{
    if (rank) *rank = s->rank;
    if (dims)
        for (int i = 0; i < CLG_MAX_RANK; i++) dims[i] = i < s->rank ? s->dims[i] : 0;
}

clg_status clg_graph_node_info(const clg_graph *g, int i, clg_op *op, const char **name, int *rank,
                               int64_t dims[CLG_MAX_RANK])
{
    if (!g || i < 0 || i >= g->n_nodes) return CLG_ERR_INVALID_ARGUMENT;
    const clg_node *n = &g->nodes[i];
    if (op) *op = n->op;
    if (name) *name = n->name;
    write_shape(&n->shape, rank, dims);
    return CLG_OK;
}

static int input_node(const clg_graph *g, int i)
{
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].op == CLG_OP_INPUT && i-- == 0) return k;
    return -1;
}

clg_status clg_graph_input_info(const clg_graph *g, int i, const char **name, int *rank,
                                int64_t dims[CLG_MAX_RANK])
{
    int k = g ? input_node(g, i) : -1;
    if (k < 0) return CLG_ERR_INVALID_ARGUMENT;
    if (name) *name = g->nodes[k].name;
    write_shape(&g->nodes[k].shape, rank, dims);
    return CLG_OK;
}

clg_status clg_graph_node_dtype(const clg_graph *g, int i, clg_dtype *dtype)
{
    if (!g || i < 0 || i >= g->n_nodes || !dtype) return CLG_ERR_INVALID_ARGUMENT;
    *dtype = g->nodes[i].dtype;
    return CLG_OK;
}

clg_status clg_graph_input_dtype(const clg_graph *g, int i, clg_dtype *dtype)
{
    int k = g ? input_node(g, i) : -1;
    if (k < 0 || !dtype) return CLG_ERR_INVALID_ARGUMENT;
    *dtype = g->nodes[k].dtype;
    return CLG_OK;
}

clg_status clg_graph_output_dtype(const clg_graph *g, int i, clg_dtype *dtype)
{
    if (!g || i < 0 || i >= g->n_outputs || !dtype) return CLG_ERR_INVALID_ARGUMENT;
    *dtype = g->nodes[g->outputs[i]].dtype;
    return CLG_OK;
}

/* The shape of output i once the inputs' sizes are known: every symbol is
 * bound (values) and the graph's shapes are inferred again with them. */
static clg_status bind_nodes(clg_graph *g, int64_t *values, clg_shape *shapes, const bool *needed);

/* Only the nodes output i depends on are bound: a node that feeds no
 * output cannot make its shape fail. */
static clg_status output_shape_for(clg_graph *g, int i, int64_t *values, int *rank, int64_t dims[CLG_MAX_RANK])
{
    clg_shape *shapes = clg_malloc(g, (size_t)g->n_nodes * sizeof *shapes);
    bool *needed = clg_calloc(g, (size_t)g->n_nodes + 1, sizeof *needed);
    clg_status s = CLG_OK;
    if (!shapes || !needed) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory binding the sizes");
    } else {
        needed[g->outputs[i]] = true;
        for (int k = g->n_nodes - 1; k >= 0; k--)
            if (needed[k])
                for (int j = 0; j < g->nodes[k].n_inputs; j++) needed[g->nodes[k].inputs[j]] = true;
        s = bind_nodes(g, values, shapes, needed);
    }
    if (!s) write_shape(&shapes[g->outputs[i]], rank, dims);
    clg_free(g, shapes);
    clg_free(g, needed);
    return s;
}

static int64_t *new_values(clg_graph *g)
{
    int n = clg_dim_symbol_count(g);
    int64_t *v = clg_malloc(g, (size_t)n * sizeof *v);
    if (v)
        for (int k = 0; k < n; k++) v[k] = -1;
    return v;
}

clg_status clg_graph_output_info(clg_graph *g, int i, int64_t batch, const char **name, int *rank,
                                 int64_t dims[CLG_MAX_RANK])
{
    if (!g || i < 0 || i >= g->n_outputs) return CLG_ERR_INVALID_ARGUMENT;
    if (batch < 1) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "batch must be positive, got %lld", (long long)batch);
    const clg_node *n = &g->nodes[g->outputs[i]];
    if (name) *name = n->name;
    if (!rank && !dims) return CLG_OK;
    if (!clg_shape_is_symbolic(&n->shape)) {
        write_shape(&n->shape, rank, dims);
        return CLG_OK;
    }
    int64_t *values = new_values(g);
    if (!values) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory binding the sizes");
    values[0] = batch;
    /* N alone must size every input. */
    for (int x = 0; x < g->n_nodes; x++)
        for (int d = 0; g->nodes[x].op == CLG_OP_INPUT && d < g->nodes[x].shape.rank; d++) {
            int64_t v;
            if (clg_dim_eval(g, g->nodes[x].shape.dims[d], values, &v)) continue;
            char text[CLG_DIM_STR_MAX];
            clg_free(g, values);
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                            "output %s: the graph has symbolic sizes other than the batch N (%s); use "
                            "clg_graph_output_shape", n->name,
                            clg_dim_str(g, g->nodes[x].shape.dims[d], text, sizeof text));
        }
    clg_status s = output_shape_for(g, i, values, rank, dims);
    clg_free(g, values);
    return s;
}

clg_status clg_graph_output_shape(clg_graph *g, int i, const clg_tensor *inputs, int n_inputs, int *rank,
                                  int64_t dims[CLG_MAX_RANK])
{
    if (!g || i < 0 || i >= g->n_outputs) return CLG_ERR_INVALID_ARGUMENT;
    int64_t *values = new_values(g);
    if (!values) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory binding the sizes");
    clg_status s = clg_graph_check_inputs(g, inputs, n_inputs, values);
    if (!s) s = output_shape_for(g, i, values, rank, dims);
    clg_free(g, values);
    return s;
}

clg_status clg_graph_symbol(clg_graph *g, const char *name, int64_t *dim)
{
    if (!g || !name || !dim) return CLG_ERR_INVALID_ARGUMENT;
    clg_status s = clg_dim_symbol(g, name, strlen(name), dim);
    if (s == CLG_ERR_INVALID_ARGUMENT)
        return clg_fail(g, s, "symbol '%s': a name is a letter or _ followed by letters, digits or _, at most %d in all", name, CLG_MAX_SYMBOL_NAME);
    if (s == CLG_ERR_UNSUPPORTED)
        return clg_fail(g, s, "symbol '%s': a graph has at most %d symbolic sizes", name, CLG_MAX_SYMBOLS);
    if (s) return clg_fail(g, s, "out of memory adding symbol '%s'", name);
    return CLG_OK;
}

const char *clg_graph_dim_str(const clg_graph *g, int64_t dim, char *buf, size_t size)
{
    if (!buf || !size) return "";
    return clg_dim_str(g, dim, buf, size);
}

/* ---- binding the symbolic sizes */

/* "N=2, S=7" for messages. */
const char *clg_dim_values_str(const clg_graph *g, const int64_t *values, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < clg_dim_symbol_count(g) && n < size; k++)
        if (values[k] >= 0)
            n += (size_t)snprintf(buf + n, size - n, "%s%s=%lld", n ? ", " : "", clg_dim_symbol_name(g, k),
                                  (long long)values[k]);
    if (!n) snprintf(buf, size, "the given sizes");
    return buf;
}

/* The first graph input that has symbol k as a dimension of its own (its
 * name, and the dimension in *dim), or NULL: where a run's value of k came
 * from, for messages. */
static const char *symbol_source(const clg_graph *g, int k, int *dim)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->op != CLG_OP_INPUT) continue;
        for (int d = 0; d < n->shape.rank; d++)
            if (clg_dim_is_symbolic(n->shape.dims[d]) && clg_dim_symbol_of(g, n->shape.dims[d]) == k) {
                *dim = d;
                return n->name;
            }
    }
    return NULL;
}

/* Checks node i's concrete shape against its symbolic one, binding the
 * symbols only it determines (an anonymous size, a Reshape's inferred -1). */
static clg_status bind_check(clg_graph *g, int i, const clg_shape *have, int64_t *values)
{
    const clg_node *n = &g->nodes[i];
    const clg_shape *want = &n->shape;
    bool ok = have->rank == want->rank;
    for (int d = 0; ok && d < want->rank; d++) {
        int64_t w = want->dims[d], v;
        if (!clg_dim_is_symbolic(w)) {
            ok = w == have->dims[d];
            continue;
        }
        int k = clg_dim_symbol_of(g, w);
        if (k >= 0 && values[k] < 0) values[k] = have->dims[d];
        else if (clg_dim_eval(g, w, values, &v)) ok = v == have->dims[d];
    }
    if (ok) return CLG_OK;
    char a[160], b[160], c[160], why[200] = "the sizes are inconsistent";
    /* Name the first dimension that does not fit, both sizes, and the
     * input that gave its symbol (a sequence longer than a positional
     * table: "its dimension 0 is S = 20 (input x's dimension 1) where this
     * node has 16"). */
    for (int d = 0; have->rank == want->rank && d < want->rank; d++) {
        int64_t w = want->dims[d], v;
        if (!clg_dim_is_symbolic(w) || !clg_dim_eval(g, w, values, &v) || v == have->dims[d]) continue;
        char e[64], from[96] = "";
        int k = clg_dim_symbol_of(g, w), in_dim = -1;
        const char *in_name = k >= 0 ? symbol_source(g, k, &in_dim) : NULL;
        if (in_name) snprintf(from, sizeof from, " (input %s's dimension %d)", in_name, in_dim);
        snprintf(why, sizeof why, "its dimension %d is %s = %lld%s where this node has %lld", d,
                 clg_dim_str(g, w, e, sizeof e), (long long)v, from, (long long)have->dims[d]);
        break;
    }
    return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, n->line, n->name, n->op,
                         "for %s the shape is %s, but the graph was built for %s: %s",
                         clg_dim_values_str(g, values, c, sizeof c), clg_shape_str(g, have, a, sizeof a),
                         clg_shape_str(g, want, b, sizeof b), why);
}

clg_status clg_graph_bind(clg_graph *g, int64_t *values, clg_shape *shapes)
{
    return bind_nodes(g, values, shapes, NULL);
}

/* needed: the nodes to bind (NULL: all); the others keep their symbolic
 * shapes. Inputs are always bound, since they give the sizes. */
static clg_status bind_nodes(clg_graph *g, int64_t *values, clg_shape *shapes, const bool *needed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        if (needed && !needed[i] && n->op != CLG_OP_INPUT) {
            shapes[i] = n->shape;
            continue;
        }
        if (!clg_op_get(n->op)->infer) {
            shapes[i] = n->shape;
            for (int d = 0; d < shapes[i].rank; d++)
                if (!clg_dim_eval(g, n->shape.dims[d], values, &shapes[i].dims[d])) {
                    char t[64];
                    return clg_fail_node(g, CLG_ERR_INVALID_ARGUMENT, n->line, n->name, n->op,
                                         "dimension %d (%s) has no size: no input gives it", d,
                                         clg_dim_str(g, n->shape.dims[d], t, sizeof t));
                }
            continue;
        }
        const clg_shape *in_stack[8];
        const clg_shape **in = in_stack;
        if (n->n_inputs > 8 && !(in = clg_malloc(g, (size_t)n->n_inputs * sizeof *in)))
            return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory binding the sizes");
        for (int k = 0; k < n->n_inputs; k++) in[k] = &shapes[n->inputs[k]];
        g->binding = values;
        clg_status s = clg_infer_node(g, n, in, &shapes[i]);
        g->binding = NULL;
        if (in != in_stack) clg_free(g, in);
        /* The graph was valid with its sizes symbolic; only the sizes can
         * fail here (a tensor past the element limit, a slice they make
         * empty). */
        if (s == CLG_ERR_INVALID_GRAPH || s == CLG_ERR_UNSUPPORTED) {
            char msg[sizeof g->errmsg], v[160];
            snprintf(msg, sizeof msg, "%s", g->errmsg);
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "%s: %s", clg_dim_values_str(g, values, v, sizeof v), msg);
        }
        if (s) return s;
        if ((s = bind_check(g, i, &shapes[i], values))) return s;
    }
    return CLG_OK;
}

clg_status clg_graph_check_inputs(clg_graph *g, const clg_tensor *inputs, int n_inputs, int64_t *values)
{
    int expected = clg_graph_input_count(g);
    if (n_inputs > 0 && !inputs) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "inputs is NULL");
    if (n_inputs != expected)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "the graph has %d inputs, %d were given",
                        expected, n_inputs);
    int n_syms = clg_dim_symbol_count(g);
    for (int k = 0; k < n_syms; k++) values[k] = -1;
    /* Which input first gave each symbol its size, for messages. */
    const char *from_stack[16];
    int from_dim_stack[16];
    const char **from = from_stack;
    int *from_dim = from_dim_stack;
    if (n_syms > 16) {
        from = clg_malloc(g, (size_t)n_syms * sizeof *from);
        from_dim = clg_malloc(g, (size_t)n_syms * sizeof *from_dim);
        if (!from || !from_dim) {
            clg_free(g, from);
            clg_free(g, from_dim);
            return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory checking the inputs");
        }
    }
    clg_status s = CLG_OK;
    /* First the dims that are one symbol, which give the sizes; then every
     * dim, checked against them. */
    for (int pass = 0; pass < 2 && !s; pass++)
        for (int i = 0; i < n_inputs && !s; i++) {
            const clg_node *n = &g->nodes[input_node(g, i)];
            const clg_tensor *t = &inputs[i];
            /* The declared shape as text only for a message: formatting it
             * on every run was a microsecond of each batch-1 call. */
            char want[160], have[160];
            if (!t->data) {
                s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "input %s: data is NULL", n->name);
                break;
            }
            if (t->dtype != n->dtype) {
                char type[32];
                if (clg_dtype_name(t->dtype)) snprintf(type, sizeof type, "%s", clg_dtype_name(t->dtype));
                else snprintf(type, sizeof type, "dtype %d", (int)t->dtype);
                s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "input %s: the graph declares %s, the tensor is %s",
                             n->name, clg_dtype_name(n->dtype), type);
                break;
            }
            clg_shape got = {t->rank > 0 && t->rank <= CLG_MAX_RANK ? t->rank : 0, {0}};
            for (int d = 0; d < got.rank; d++) got.dims[d] = t->dims[d];
            bool ok = t->rank == n->shape.rank;
            for (int d = 0; ok && d < t->rank; d++) ok = t->dims[d] >= 0;
            if (!ok) {
                clg_shape_str(g, &n->shape, want, sizeof want);
                s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "input %s: expected shape %s, got %s%s", n->name, want,
                             clg_shape_str(g, &got, have, sizeof have), got.rank == t->rank ? "" : " (bad rank)");
                break;
            }
            for (int d = 0; d < t->rank && !s; d++) {
                int64_t w = n->shape.dims[d], v;
                int k = clg_dim_symbol_of(g, w);
                if (pass == 0 && k >= 0 && values[k] < 0) {
                    if (t->dims[d] < 1)
                        s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "input %s: dimension %d (%s) must be positive, got %lld",
                                     n->name, d, clg_dim_symbol_name(g, k), (long long)t->dims[d]);
                    values[k] = t->dims[d];
                    from[k] = n->name;
                    from_dim[k] = d;
                } else if (pass == 0 && k >= 0 && values[k] != t->dims[d]) {
                    s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                                 "input %s: dimension %d is %s = %lld, but input %s gave %s = %lld (its dimension %d)",
                                 n->name, d, clg_dim_symbol_name(g, k), (long long)t->dims[d], from[k],
                                 clg_dim_symbol_name(g, k), (long long)values[k], from_dim[k]);
                } else if (pass == 1 && !clg_dim_eval(g, w, values, &v)) {
                    char e[64];
                    s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                                 "input %s: dimension %d is %s, and no input gives its symbols alone", n->name, d,
                                 clg_dim_str(g, w, e, sizeof e));
                } else if (pass == 1 && v != t->dims[d]) {
                    char sizes[160];
                    clg_shape_str(g, &n->shape, want, sizeof want);
                    s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "input %s: expected shape %s, got %s (with %s)",
                                 n->name, want, clg_shape_str(g, &got, have, sizeof have),
                                 clg_dim_values_str(g, values, sizes, sizeof sizes));
                }
            }
        }
    if (from != from_stack) {
        clg_free(g, from);
        clg_free(g, from_dim);
    }
    if (s) return s;
    if (values[0] < 0) values[0] = 1; /* N, when no input names it */
    return CLG_OK;
}

clg_status clg_graph_check_outputs(clg_graph *g, const clg_tensor *outputs, int n_outputs)
{
    if (n_outputs != g->n_outputs || (n_outputs > 0 && !outputs))
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "the graph has %d outputs, %d were given",
                        g->n_outputs, n_outputs);
    for (int i = 0; i < n_outputs; i++) {
        const clg_node *n = &g->nodes[g->outputs[i]];
        if (!outputs[i].data)
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "output %s: data is NULL", n->name);
        if (outputs[i].dtype != n->dtype) {
            const char *got = clg_dtype_name(outputs[i].dtype);
            if (got)
                return clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                                "output %s: the graph computes %s, the tensor is %s", n->name,
                                clg_dtype_name(n->dtype), got);
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "output %s: the graph computes %s, the tensor is dtype %d",
                            n->name, clg_dtype_name(n->dtype), (int)outputs[i].dtype);
        }
    }
    return CLG_OK;
}

clg_status clg_graph_input_floats(clg_graph *g, const clg_node *n, const clg_tensor *t, size_t count,
                                  float *dst)
{
    size_t bad;
    int64_t value;
    if (!clg_values_to_float(t->data, t->dtype, count, dst, &bad, &value))
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT,
                        "input %s: element %zu is %lld, past 2^24 in magnitude: %s values are held as "
                        "floats and this one would not be exact",
                        n->name, bad, (long long)value, clg_dtype_name(t->dtype));
    return CLG_OK;
}

clg_status clg_graph_bind_batch(clg_graph *g, int64_t batch, clg_shape *shapes)
{
    int64_t *values = new_values(g);
    if (!values) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory binding the sizes");
    values[0] = batch;
    clg_status s = clg_graph_bind(g, values, shapes);
    clg_free(g, values);
    return s;
}
