/* The host reference executor: binds the batch, gives every node a float
 * buffer from the graph's allocator, runs the nodes in (topological) array
 * order with the kernels of reference_ops.c, and copies the outputs out.
 * Buffers are freed after their last consumer. */
#include <string.h>

#include "reference_ops.h"

/* Elements of a concrete shape, or -1 if the count overflows what a buffer
 * of floats can hold. */
static int64_t buffer_count(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        int64_t d = s->dims[i];
        if (d < 1 || n > (int64_t)(SIZE_MAX / sizeof(float)) / d || n > INT64_MAX / d) return -1;
        n *= d;
    }
    return n;
}

/* values: room for every symbol's size. */
static clg_status run_reference(clg_graph *g, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs,
                                int n_outputs, int64_t *values)
{
    clg_status s = clg_graph_check_inputs(g, inputs, n_inputs, values);
    if (s) return s;
    if ((s = clg_graph_check_outputs(g, outputs, n_outputs))) return s;

    int n = g->n_nodes, max_in = 1;
    for (int i = 0; i < n; i++)
        if (g->nodes[i].n_inputs > max_in) max_in = g->nodes[i].n_inputs;

    clg_shape *shapes = clg_malloc(g, (size_t)(n ? n : 1) * sizeof *shapes);
    float **bufs = clg_calloc(g, (size_t)(n ? n : 1), sizeof *bufs);
    int *last_use = clg_malloc(g, (size_t)(n ? n : 1) * sizeof *last_use);
    const clg_shape **in_shapes = clg_malloc(g, (size_t)max_in * sizeof *in_shapes);
    const float **in_data = clg_malloc(g, (size_t)max_in * sizeof *in_data);
    if (!shapes || !bufs || !last_use || !in_shapes || !in_data) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory running the reference executor");
        goto fail;
    }
    if ((s = clg_graph_bind(g, values, shapes))) goto fail;

    /* A buffer lives until the last node that reads it; outputs to the end. */
    for (int i = 0; i < n; i++) last_use[i] = i;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) last_use[g->nodes[i].inputs[k]] = i;
    for (int i = 0; i < g->n_outputs; i++) last_use[g->outputs[i]] = n;

    int next_input = 0;
    for (int i = 0; i < n; i++) {
        const clg_node *node = &g->nodes[i];
        int64_t count = buffer_count(&shapes[i]);
        if (count < 0) {
            s = clg_fail_node(g, CLG_ERR_OUT_OF_MEMORY, node->line, node->name, node->op,
                              "a tensor of this size cannot be allocated");
            goto fail;
        }
        if (node->op == CLG_OP_CONSTANT) {
            bufs[i] = node->constant->data; /* borrowed, never freed here */
            continue;
        }
        if (!(bufs[i] = clg_malloc(g, (size_t)count * sizeof(float)))) {
            s = clg_fail_node(g, CLG_ERR_OUT_OF_MEMORY, node->line, node->name, node->op,
                              "out of memory for a %lld-element buffer", (long long)count);
            goto fail;
        }
        if (node->op == CLG_OP_INPUT) {
            if ((s = clg_graph_input_floats(g, node, &inputs[next_input++], (size_t)count, bufs[i]))) goto fail;
            continue;
        }
        for (int k = 0; k < node->n_inputs; k++) {
            in_shapes[k] = &shapes[node->inputs[k]];
            in_data[k] = bufs[node->inputs[k]];
        }
        clg_ref_args args = {g, node, node->n_inputs, in_shapes, in_data, &shapes[i], bufs[i]};
        /* Attributes that name symbolic sizes (a Slice to S) read the
         * bound numbers. */
        g->binding = values;
        s = clg_ref_run_node(&args);
        g->binding = NULL;
        if (s) goto fail;
        /* Release what no later node reads (each input once, even if listed twice). */
        for (int k = 0; k < node->n_inputs; k++) {
            int j = node->inputs[k];
            if (last_use[j] == i && bufs[j]) {
                if (g->nodes[j].op != CLG_OP_CONSTANT) clg_free(g, bufs[j]);
                bufs[j] = NULL;
            }
        }
        if (last_use[i] == i) {
            clg_free(g, bufs[i]);
            bufs[i] = NULL;
        }
    }

    for (int i = 0; i < g->n_outputs; i++) {
        int j = g->outputs[i];
        clg_tensor *t = &outputs[i];
        t->rank = shapes[j].rank;
        for (int d = 0; d < CLG_MAX_RANK; d++) t->dims[d] = d < shapes[j].rank ? shapes[j].dims[d] : 0;
        clg_values_from_float(bufs[j], g->nodes[j].dtype, (size_t)buffer_count(&shapes[j]), t->data);
    }
    s = CLG_OK;

fail:
    if (bufs)
        for (int i = 0; i < n; i++)
            if (bufs[i] && g->nodes[i].op != CLG_OP_CONSTANT) clg_free(g, bufs[i]);
    clg_free(g, bufs);
    clg_free(g, shapes);
    clg_free(g, last_use);
    clg_free(g, in_shapes);
    clg_free(g, in_data);
    return s;
}

clg_status clg_graph_run_reference(clg_graph *g, const clg_tensor *inputs, int n_inputs,
                                   clg_tensor *outputs, int n_outputs)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    int64_t *values = clg_malloc(g, (size_t)clg_dim_symbol_count(g) * sizeof *values);
    if (!values) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory running the reference executor");
    clg_status s = run_reference(g, inputs, n_inputs, outputs, n_outputs, values);
    clg_free(g, values);
    return s;
}

clg_status clg_ref_eval_constant_node(clg_graph *g, int i, float *out)
{
    const clg_node *node = &g->nodes[i];
    enum { MAX_STACK = 16 };
    const clg_shape *shape_stack[MAX_STACK];
    const float *data_stack[MAX_STACK];
    const clg_shape **in_shapes = shape_stack;
    const float **in_data = data_stack;
    if (node->n_inputs > MAX_STACK) {
        in_shapes = clg_malloc(g, (size_t)node->n_inputs * sizeof *in_shapes);
        in_data = clg_malloc(g, (size_t)node->n_inputs * sizeof *in_data);
    }
    clg_status s = CLG_OK;
    if (!in_shapes || !in_data) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory folding node %s", node->name);
        goto done;
    }
    for (int k = 0; k < node->n_inputs; k++) {
        const clg_node *in = &g->nodes[node->inputs[k]];
        if (in->op != CLG_OP_CONSTANT) {
            s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "node %s: input %s is not a constant",
                         node->name, in->name);
            goto done;
        }
        in_shapes[k] = &in->shape;
        in_data[k] = in->constant->data;
    }
    clg_ref_args args = {g, node, node->n_inputs, in_shapes, in_data, &node->shape, out};
    s = clg_ref_run_node(&args);
done:
    if (in_shapes != shape_stack) clg_free(g, in_shapes);
    if (in_data != data_stack) clg_free(g, in_data);
    return s;
}
