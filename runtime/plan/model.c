/* Models: a graph compiled for one device. Weights are uploaded once at
 * create; a plan per set of sizes (the batch N and any other symbolic size
 * the inputs give) is built on first use, and the last MODEL_PLANS of them
 * are kept, so a server alternating between a few sequence lengths plans
 * each once. Each model keeps its own last error: everything it
 * calls reports through its context (clg_ctx_fail), and the model captures
 * those messages into its own buffer while it works (clg_error_capture), so
 * models sharing a context never overwrite each other's. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "plan.h"

/* Plans kept per model: each holds its own activation memory. */
#define MODEL_PLANS 4
/* Runs of a plan timed each way before its gate is decided (model_run). */
#define GATE_TRIALS 8

/* Whether a plan's runs hold their chain behind a user event until all of it
 * is queued: its first 2 * GATE_TRIALS runs alternate between the two ways
 * and are timed, then the faster median decides. */
typedef struct gate_choice {
    int runs;                      /* timed so far */
    double ms[2][GATE_TRIALS];     /* [0]: not gated, [1]: gated */
    bool gated;                    /* the decision, once runs == 2 * GATE_TRIALS */
} gate_choice;

struct clg_model {
    clg_context *ctx;
    clg_graph *g;
    cl_mem weights;
    size_t *const_off; /* per node, for constants */
    uint64_t weight_bytes;
    clg_precision precision;
    size_t elem_size; /* bytes per device element: 4, or 2 at a half precision */
    clg_plan plans[MODEL_PLANS];
    uint64_t plan_used[MODEL_PLANS]; /* last use (run count), 0: empty */
    uint64_t runs;
    gate_choice gate[MODEL_PLANS];
    clg_plan *plan;    /* the one the last run used (or create built) */
    int64_t *sizes;    /* room for every symbol's size, for each run */
    /* Integer and bool tensors travel as floats through these host buffers,
     * one per input then one per output, kept and grown between runs so that
     * a run allocates nothing once they are large enough. */
    float **convert;
    size_t *convert_count; /* floats each convert[i] holds */
    int n_convert;
    double build_ms, upload_ms;
    cl_event *events;  /* per step of the last run, when profiling */
    int n_events;
    bool created;      /* false after a failed clg_model_create: only the message is left */
    char errmsg[16384];
    char note[1024];   /* clg_model_note: what loading a bundle had to do instead */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void release_events(clg_model *m)
{
    for (int i = 0; i < m->n_events; i++)
        if (m->events[i]) clReleaseEvent(m->events[i]);
    clg_mem_free(&m->ctx->allocator, m->events);
    m->events = NULL;
    m->n_events = 0;
}

/* Everything the model holds but itself and its message. */
static void model_release(clg_model *m)
{
    const clg_allocator a = m->ctx->allocator;
    release_events(m);
    for (int i = 0; i < MODEL_PLANS; i++) clg_plan_free(&m->plans[i]);
    m->plan = &m->plans[0];
    if (m->weights) clReleaseMemObject(m->weights);
    m->weights = NULL;
    clg_mem_free(&a, m->const_off);
    m->const_off = NULL;
    clg_mem_free(&a, m->sizes);
    m->sizes = NULL;
    for (int i = 0; i < m->n_convert; i++) clg_mem_free(&a, m->convert[i]);
    clg_mem_free(&a, m->convert);
    clg_mem_free(&a, m->convert_count);
    m->convert = NULL;
    m->convert_count = NULL;
    m->n_convert = 0;
    clg_graph_destroy(m->g);
    m->g = NULL;
}

void clg_model_destroy(clg_model *m)
{
    if (!m) return;
    const clg_allocator a = m->ctx->allocator;
    model_release(m);
    clg_mem_free(&a, m);
}

const char *clg_model_errmsg(const clg_model *m) { return m ? m->errmsg : "no model (NULL)"; }

/* Copies every constant into one device buffer. */
static clg_status upload_weights(clg_model *m)
{
    clg_context *ctx = m->ctx;
    clg_graph *g = m->g;
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != CLG_OP_CONSTANT) continue;
        m->const_off[i] = total;
        total += (g->nodes[i].constant->count + 63) / 64 * 64;
    }
    m->weight_bytes = (uint64_t)total * m->elem_size;
    size_t bytes = (total ? total : 1) * m->elem_size;
    if (bytes > ctx->info.max_alloc_bytes) {
        /* every constant shares one buffer: name the largest, which alone
         * may be what passes the limit */
        int big = -1;
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].op == CLG_OP_CONSTANT && (big < 0 || g->nodes[i].constant->count > g->nodes[big].constant->count))
                big = i;
        if (big < 0)
            return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                                "the weights need %zu bytes, more than the device's largest allocation "
                                "(%llu bytes)", bytes, (unsigned long long)ctx->info.max_alloc_bytes);
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                            "the weights need %zu bytes, more than the device's largest allocation "
                            "(%llu bytes); the largest constant, %s, needs %zu", bytes,
                            (unsigned long long)ctx->info.max_alloc_bytes, g->nodes[big].name,
                            g->nodes[big].constant->count * m->elem_size);
    }
    cl_int err;
    m->weights = clCreateBuffer(ctx->cl, CL_MEM_READ_ONLY, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clCreateBuffer", "weights buffer of %zu bytes", bytes);
    /* At a half precision the constants are converted here, once, into
     * one host buffer (the writes below are not blocking: it must live
     * until the clFinish). */
    uint16_t *halves = NULL;
    if (m->elem_size == 2 && !(halves = clg_mem_realloc(&ctx->allocator, NULL, bytes))) {
        clReleaseMemObject(m->weights);
        m->weights = NULL;
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory converting the weights to half");
    }
    clg_status s = CLG_OK;
    for (int i = 0; i < g->n_nodes && !s; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->op != CLG_OP_CONSTANT || n->constant->count == 0) continue;
        const void *data = n->constant->data;
        if (halves) {
            uint16_t *h = halves + m->const_off[i];
            for (size_t k = 0; k < n->constant->count && !s; k++) {
                float v = n->constant->data[k];
                h[k] = clg_float_to_half(v);
                float back = clg_half_to_float(h[k]);
                /* Beyond half's range is an error; so is an integer or bool constant that
                 * half does not hold exactly (an index past 2048). */
                if (isfinite(v) && !isfinite(back))
                    s = clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                                     "constant %s: element %zu is %g, beyond half precision's range (65504); "
                                     "run the model at fp32", n->name, k, (double)v);
                else if (n->dtype != CLG_DTYPE_F32 && back != v)
                    s = clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                                     "constant %s (%s): element %zu is %g, which half precision does not hold "
                                     "exactly; run the model at fp32", n->name, clg_dtype_name(n->dtype), k, (double)v);
            }
            data = h;
        }
        if (s) break;
        err = clEnqueueWriteBuffer(ctx->queue, m->weights, CL_FALSE, m->const_off[i] * m->elem_size,
                                   n->constant->count * m->elem_size, data, 0, NULL, NULL);
        if (err != CL_SUCCESS) s = clg_ctx_cl_fail(ctx, err, "clEnqueueWriteBuffer", "constant %s", n->name);
    }
    if (s) {
        clFinish(ctx->queue);
        clg_mem_free(&ctx->allocator, halves);
        return s;
    }
    err = clFinish(ctx->queue);
    clg_mem_free(&ctx->allocator, halves);
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clFinish", "uploading the weights");
    return CLG_OK;
}

clg_status clg_model_create(clg_model **out, clg_context *ctx, clg_graph *g)
{
    return clg_model_create_ex(out, ctx, g, NULL);
}

/* The first version of clg_model_options ends with opt_level. */
#define MODEL_OPTIONS_FIRST (offsetof(clg_model_options, opt_level) + sizeof(int))

static clg_status model_build_optimized(clg_model *m);

/* m's precision, checked against its device (model options, bundles). */
static clg_status set_precision(clg_model *m, clg_precision p)
{
    clg_context *ctx = m->ctx;
    if (p < CLG_PRECISION_FP32 || p > CLG_PRECISION_FP16)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "precision %d is not a clg_precision", (int)p);
    if (p == CLG_PRECISION_FP16 && !ctx->info.fp16)
        return clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                            "precision fp16 needs half arithmetic, and device %s does not report the cl_khr_fp16 "
                            "extension (fp16-storage needs no extension)", ctx->info.name);
    m->precision = p;
    m->elem_size = clg_precision_elem_size(p);
    return CLG_OK;
}

/* The model compiles its own copy of g, optimized at the requested level:
 * the caller's graph stays as it was, and the plan, the stats and the
 * profile all speak of the optimized graph's nodes. Failures report through
 * the context, which the caller has pointed at m's message. */
static clg_status model_build(clg_model *m, clg_graph *g, const clg_model_options *options)
{
    clg_context *ctx = m->ctx;
    clg_model_options opts = CLG_MODEL_OPTIONS_INIT;
    char why[256];
    if (options && !clg_options_read(&opts, sizeof opts, options, MODEL_OPTIONS_FIRST, why, sizeof why))
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "clg_model_options: %s", why);
    if (!g) return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "graph is NULL");
    if (g->n_outputs == 0) return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "the graph has no outputs");
    int level = opts.opt_level;
    if (level < 0 || level > 2)
        return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT, "opt_level %d is outside 0..2", level);
    clg_status s = set_precision(m, opts.precision);
    if (s) return s;
    s = clg_graph_clone(g, &m->g);
    if (s) return clg_ctx_fail(ctx, s, "out of memory copying the graph");
    if ((s = clg_graph_optimize(m->g, level, NULL, NULL)))
        return clg_ctx_fail(ctx, s, "optimizing the graph at level %d: %s", level, clg_graph_errmsg(m->g));
    return model_build_optimized(m);
}

/* The rest of model_build, for m->g as it is (optimized already). */
static clg_status model_build_optimized(clg_model *m)
{
    clg_context *ctx = m->ctx;
    clg_graph *g = m->g;
    clg_status s;
    int n_syms = clg_dim_symbol_count(g);
    /* n_convert only once convert exists: model_release walks it. */
    int n_convert = clg_graph_input_count(g) + g->n_outputs;
    if (!(m->const_off = clg_mem_calloc(&ctx->allocator, (size_t)g->n_nodes + 1, sizeof *m->const_off)) ||
        !(m->sizes = clg_mem_calloc(&ctx->allocator, (size_t)n_syms, sizeof *m->sizes)) ||
        !(m->convert = clg_mem_calloc(&ctx->allocator, (size_t)n_convert, sizeof *m->convert)) ||
        !(m->convert_count = clg_mem_calloc(&ctx->allocator, (size_t)n_convert, sizeof *m->convert_count)))
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory creating a model");
    m->n_convert = n_convert;
    /* Integer tensors the device computes would lose exactness in half
     * (every element is a half there); integer constants are checked
     * element by element when converted. Bool (0 and 1) and f16 are exact. */
    for (int i = 0; i < g->n_nodes && m->elem_size == 2; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->op == CLG_OP_CONSTANT || n->dtype == CLG_DTYPE_F32 || n->dtype == CLG_DTYPE_F16 ||
            n->dtype == CLG_DTYPE_BOOL)
            continue;
        if (g->nodes[clg_value_root(g, i, NULL)].op == CLG_OP_CONSTANT) continue;
        return clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                            "node %s (%s): an %s tensor on the device; precision %s holds every device tensor "
                            "in half, exact for integers only up to 2048 (run the model at fp32)",
                            n->name, clg_op_name(n->op), clg_dtype_name(n->dtype), clg_precision_name(m->precision));
    }
    double t0 = now_ms();
    if ((s = upload_weights(m))) return s;
    double t1 = now_ms();
    m->upload_ms = t1 - t0;
    /* Plan with every size the inputs give at 1 now, so every program is
     * built (and any unsupported node reported) at create rather than at
     * the first run. A graph whose other symbols cannot all be 1 (a
     * Reshape that needs S even) is planned at its first run instead. */
    bool others = false;
    for (int k = 0; k < n_syms; k++) m->sizes[k] = -1;
    m->sizes[0] = 1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int d = 0; g->nodes[i].op == CLG_OP_INPUT && d < g->nodes[i].shape.rank; d++) {
            int k = clg_dim_symbol_of(g, g->nodes[i].shape.dims[d]);
            if (k >= 0) m->sizes[k] = 1;
            others |= k > 0;
        }
    m->plan = &m->plans[0];
    s = clg_plan_build(m->plan, ctx, g, m->weights, m->const_off, m->sizes, m->precision);
    if (s == CLG_ERR_INVALID_ARGUMENT && others) s = CLG_OK;
    m->plan_used[0] = m->plan->sizes ? 1 : 0;
    if (s) return s;
    m->build_ms = now_ms() - t1;
    return CLG_OK;
}

/* Like clg_context_create, the model is handed out even when it fails, to
 * carry the message; it keeps nothing else. */
clg_status clg_model_create_ex(clg_model **out, clg_context *ctx, clg_graph *g,
                               const clg_model_options *options)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return CLG_ERR_INVALID_ARGUMENT;
    clg_model *m = clg_mem_calloc(&ctx->allocator, 1, sizeof *m);
    if (!m) return CLG_ERR_OUT_OF_MEMORY;
    m->ctx = ctx;
    *out = m;
    clg_error_capture capture;
    clg_error_capture_begin(&capture, ctx, m->errmsg, sizeof m->errmsg);
    clg_status s = model_build(m, g, options);
    clg_error_capture_end(&capture);
    if (s) model_release(m);
    m->created = s == CLG_OK;
    return s;
}

static clg_status model_fail(clg_model *m, clg_status s, const char *msg)
{
    snprintf(m->errmsg, sizeof m->errmsg, "%s", msg);
    return s;
}

/* The median of GATE_TRIALS times (sorted in place). */
static double median_ms(double *ms)
{
    for (int i = 1; i < GATE_TRIALS; i++)
        for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
            double t = ms[j];
            ms[j] = ms[j - 1];
            ms[j - 1] = t;
        }
    return (ms[GATE_TRIALS / 2 - 1] + ms[GATE_TRIALS / 2]) / 2;
}

/* The plan's chain of steps, between the index flag's reset and (with
 * read_flag) its read into *flagged: index kernels flag an index out of
 * range there (plan.h). */
static clg_status enqueue_chain(clg_model *m, clg_plan *p, bool read_flag, float *flagged)
{
    clg_context *ctx = m->ctx;
    static const float zero = 0.0f;
    cl_int err;
    clg_status s = CLG_OK;
    if (p->has_index_flag &&
        (err = clEnqueueWriteBuffer(ctx->queue, p->index_flag.buf, CL_FALSE, p->index_flag.off * sizeof(float),
                                    sizeof(float), &zero, 0, NULL, NULL)) != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clEnqueueWriteBuffer", "the index flag");
    for (int i = 0; i < p->n_steps && !s; i++)
        s = clg_plan_enqueue(p, m->g, &p->steps[i], m->events ? &m->events[i] : NULL);
    if (p->has_index_flag && read_flag && !s &&
        (err = clEnqueueReadBuffer(ctx->queue, p->index_flag.buf, CL_FALSE, p->index_flag.off * sizeof(float),
                                   sizeof(float), flagged, 0, NULL, NULL)) != CL_SUCCESS)
        s = clg_ctx_cl_fail(ctx, err, "clEnqueueReadBuffer", "the index flag");
    return s;
}

/* Completes and releases a run's gate event (NULL: none); s is the run's
 * status so far, which a failure here replaces only if it was CLG_OK. */
static clg_status open_gate(clg_context *ctx, cl_event gate, clg_status s)
{
    if (!gate) return s;
    cl_int err = clSetUserEventStatus(gate, CL_COMPLETE);
    clReleaseEvent(gate);
    if (!s && err != CL_SUCCESS) s = clg_ctx_cl_fail(ctx, err, "clSetUserEventStatus", "running the model");
    return s;
}

/* The error of a run whose index flag came back set: it holds the flagging
 * node's index + 1. */
static clg_status index_flag_error(clg_model *m, float flagged)
{
    const clg_graph *g = m->g;
    int k = (int)flagged - 1;
    const clg_node *n = k >= 0 && k < g->n_nodes ? &g->nodes[k] : NULL;
    snprintf(m->errmsg, sizeof m->errmsg,
             "node %s (%s): an index is out of range for the dimension it indexes (the device clamped it, so "
             "the outputs are not valid; clg_graph_run_reference names the index)",
             n ? n->name : "?", n ? clg_op_name(n->op) : "?");
    return CLG_ERR_INVALID_ARGUMENT;
}

/* Conversion buffer i with room for count floats (at least one), grown
 * only when a run needs more than it held; NULL when out of memory. */
static float *convert_buffer(clg_model *m, int i, size_t count)
{
    if (count < 1) count = 1;
    if (m->convert_count[i] >= count) return m->convert[i];
    float *grown = clg_mem_realloc(&m->ctx->allocator, m->convert[i], count * sizeof(float));
    if (!grown) return NULL;
    m->convert[i] = grown;
    m->convert_count[i] = count;
    return grown;
}

/* Makes m->plan the plan for m->sizes (clg_graph_check_inputs's values):
 * a kept one, else a new one in the least recently used slot; *slot_out
 * is its slot. */
static clg_status model_select_plan(clg_model *m, int *slot_out)
{
    clg_context *ctx = m->ctx;
    clg_graph *g = m->g;
    clg_status s = CLG_OK;
    int n_syms = clg_dim_symbol_count(g);
    /* The plan for these sizes, else a new one in the least recently used
     * slot. */
    int slot = -1, lru = 0;
    for (int i = 0; i < MODEL_PLANS && slot < 0; i++) {
        if (m->plan_used[i] && !memcmp(m->sizes, m->plans[i].sizes, (size_t)n_syms * sizeof *m->sizes)) slot = i;
        if (m->plan_used[i] < m->plan_used[lru]) lru = i;
    }
    release_events(m);
    if (slot < 0) {
        slot = lru;
        clg_plan_free(&m->plans[slot]);
        m->plan_used[slot] = 0;
        m->gate[slot].runs = 0;
        m->plan = &m->plans[slot];
        s = clg_plan_build(&m->plans[slot], ctx, g, m->weights, m->const_off, m->sizes, m->precision);
        if (s == CLG_ERR_OUT_OF_DEVICE_MEMORY || s == CLG_ERR_OPENCL) {
            /* The kept plans' memory may be what is missing: let them go. */
            bool freed = false;
            for (int i = 0; i < MODEL_PLANS; i++)
                if (i != slot && m->plan_used[i]) {
                    clg_plan_free(&m->plans[i]);
                    m->plan_used[i] = 0;
                    m->gate[i].runs = 0;
                    freed = true;
                }
            if (freed) s = clg_plan_build(&m->plans[slot], ctx, g, m->weights, m->const_off, m->sizes, m->precision);
        }
        if (s) return s;
    }
    m->plan_used[slot] = ++m->runs + 1;
    m->plan = &m->plans[slot];
    *slot_out = slot;
    return CLG_OK;
}

static clg_status model_run(clg_model *m, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs,
                            int n_outputs)
{
    clg_context *ctx = m->ctx;
    clg_graph *g = m->g;
    clg_status s = clg_graph_check_inputs(g, inputs, n_inputs, m->sizes);
    if (s) return model_fail(m, s, clg_graph_errmsg(g));
    if ((s = clg_graph_check_outputs(g, outputs, n_outputs))) return model_fail(m, s, clg_graph_errmsg(g));
    int slot;
    if ((s = model_select_plan(m, &slot))) return s;
    clg_plan *p = m->plan;
    gate_choice *gc = &m->gate[slot];
    bool trial = gc->runs < 2 * GATE_TRIALS;
    bool gated = trial ? gc->runs % 2 == 1 : gc->gated;
    double t0 = now_ms();
    if (ctx->profiling && p->n_steps) {
        m->events = clg_mem_calloc(&ctx->allocator, (size_t)p->n_steps, sizeof *m->events);
        if (!m->events) return model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory for profiling events");
        m->n_events = p->n_steps;
    }

    /* Integer and bool tensors travel as floats, through the model's
     * conversion buffers (one per input, then per output). */
    int n_in = clg_graph_input_count(g);
    cl_int err = CL_SUCCESS;
    int input = 0;
    /* Gated, the first write waits for this event, set when every command
     * of the run is queued: PoCL then works through the chain in one go
     * instead of starting each command as it arrives while this thread
     * competes with its workers for the cores. That made the seed model's
     * batch-1 call 0.57x as long on PoCL, but longer chains of longer
     * kernels lose the overlap of queueing with running (1.04x at batch
     * 64), and Intel's runtime gains nothing: so each plan times both ways
     * (gate_choice; docs/runtime.md, "Small calls"). */
    cl_event gate = gated && n_in > 0 ? clCreateUserEvent(ctx->cl, &err) : NULL;
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clCreateUserEvent", "running the model");
    for (int i = 0; i < g->n_nodes && err == CL_SUCCESS && !s; i++) {
        if (g->nodes[i].op != CLG_OP_INPUT) continue;
        const clg_dev_tensor *v = &p->values[i];
        size_t count = (size_t)clg_shape_count(&v->shape);
        const float *data = inputs[input].data;
        if (inputs[input].dtype != CLG_DTYPE_F32) {
            float *into = convert_buffer(m, input, count);
            if (!into) {
                s = model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory converting inputs");
                break;
            }
            if ((s = clg_graph_input_floats(g, &g->nodes[i], &inputs[input], count, into))) {
                model_fail(m, s, clg_graph_errmsg(g));
                break;
            }
            data = into;
        }
        if (m->elem_size == 2) {
            /* Half buffers: the input rounded to half on the host, into
             * the conversion buffer (in place when it is already there:
             * half k never overlaps a float after k). */
            float *into = convert_buffer(m, input, count);
            if (!into) {
                s = model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory converting inputs");
                break;
            }
            for (size_t k = 0; k < count; k++) {
                uint16_t h = clg_float_to_half(data[k]);
                memcpy((char *)into + 2 * k, &h, sizeof h);
            }
            data = into;
        }
        err = clEnqueueWriteBuffer(ctx->queue, v->buf, CL_FALSE, v->off * m->elem_size, count * m->elem_size,
                                   data, input == 0 && gate ? 1 : 0, input == 0 && gate ? &gate : NULL, NULL);
        input++;
        if (err != CL_SUCCESS)
            s = clg_ctx_cl_fail(ctx, err, "clEnqueueWriteBuffer", "input %s", g->nodes[i].name);
    }
    float flagged = 0.0f;
    if (!s) s = enqueue_chain(m, p, true, &flagged);
    for (int i = 0; i < n_outputs && !s; i++) {
        const clg_dev_tensor *v = &p->values[g->outputs[i]];
        size_t count = (size_t)clg_shape_count(&v->shape);
        outputs[i].rank = v->shape.rank;
        for (int d = 0; d < CLG_MAX_RANK; d++) outputs[i].dims[d] = d < v->shape.rank ? v->shape.dims[d] : 0;
        float *into = outputs[i].data;
        if (outputs[i].dtype != CLG_DTYPE_F32 || m->elem_size == 2) {
            if (!(into = convert_buffer(m, n_in + i, count))) {
                s = model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory converting outputs");
                break;
            }
        }
        err = clEnqueueReadBuffer(ctx->queue, v->buf, CL_FALSE, v->off * m->elem_size, count * m->elem_size,
                                  into, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            s = clg_ctx_cl_fail(ctx, err, "clEnqueueReadBuffer", "output %s", g->nodes[g->outputs[i]].name);
    }
    /* Open the gate on every path, or the wait below would never end. */
    s = open_gate(ctx, gate, s);
    /* Always wait: reads into the caller's memory must not outlive the call. */
    err = clFinish(ctx->queue);
    if (!s && err != CL_SUCCESS) s = clg_ctx_cl_fail(ctx, err, "clFinish", "running the model");
    if (!s && flagged != 0.0f) s = index_flag_error(m, flagged);
    for (int i = 0; i < n_outputs && !s && m->elem_size == 2; i++) {
        /* Halves back to floats: an f32 output straight into the caller's
         * memory, another in place, from the last element down (float k
         * never overlaps a half before k). */
        size_t count = (size_t)clg_shape_count(&p->values[g->outputs[i]].shape);
        float *conv = m->convert[n_in + i];
        float *to = outputs[i].dtype == CLG_DTYPE_F32 ? outputs[i].data : conv;
        for (size_t k = count; k-- > 0;) {
            uint16_t h;
            memcpy(&h, (const char *)conv + 2 * k, sizeof h);
            to[k] = clg_half_to_float(h);
        }
    }
    for (int i = 0; i < n_outputs && !s; i++)
        if (outputs[i].dtype != CLG_DTYPE_F32)
            clg_values_from_float(m->convert[n_in + i], outputs[i].dtype,
                                  (size_t)clg_shape_count(&p->values[g->outputs[i]].shape), outputs[i].data);
    if (s) return s;
    if (trial) {
        gc->ms[gc->runs % 2][gc->runs / 2] = now_ms() - t0;
        if (++gc->runs == 2 * GATE_TRIALS) gc->gated = median_ms(gc->ms[1]) < median_ms(gc->ms[0]);
    }
    m->errmsg[0] = '\0';
    return CLG_OK;
}

clg_status clg_model_run(clg_model *m, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs,
                         int n_outputs)
{
    if (!m) return CLG_ERR_INVALID_ARGUMENT;
    if (!m->created) return CLG_ERR_INVALID_ARGUMENT; /* the message says why creating it failed */
    clg_error_capture capture;
    clg_error_capture_begin(&capture, m->ctx, m->errmsg, sizeof m->errmsg);
    clg_status s = model_run(m, inputs, n_inputs, outputs, n_outputs);
    clg_error_capture_end(&capture);
    return s;
}

/* ---------------------------------------------------------------- buffer runs */

/* Inputs checked without a copy of clg_graph_check_inputs: a buffer's
 * tensor is viewed as a clg_tensor (its mem as the non-NULL data, never
 * read). */
#define VIEWS_ON_STACK 16

/* Checks that b is a buffer of m's context holding `bytes` from its
 * offset; `what` names it ("input x"). */
static clg_status check_buffer(clg_model *m, const char *what, const char *name, const clg_buffer *b,
                               size_t bytes)
{
    clg_context *ctx = m->ctx;
    char msg[512];
    if (!b->mem) {
        snprintf(msg, sizeof msg, "%s %s: mem is NULL", what, name);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    cl_mem mem = (cl_mem)b->mem;
    cl_mem_object_type type = 0;
    cl_context owner = NULL;
    size_t size = 0;
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_TYPE, sizeof type, &type, NULL);
    if (err == CL_INVALID_MEM_OBJECT) {
        snprintf(msg, sizeof msg, "%s %s: mem is not an OpenCL memory object (CL_INVALID_MEM_OBJECT)", what, name);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    if (err == CL_SUCCESS) err = clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err == CL_SUCCESS) err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clGetMemObjectInfo", "%s %s", what, name);
    if (type != CL_MEM_OBJECT_BUFFER) {
        snprintf(msg, sizeof msg, "%s %s: mem is an OpenCL image or pipe, not a buffer", what, name);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    if (owner != ctx->cl) {
        snprintf(msg, sizeof msg, "%s %s: the buffer belongs to another OpenCL context than the model's", what, name);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    if (b->offset > size || size - b->offset < bytes) {
        snprintf(msg, sizeof msg,
                 "%s %s: the buffer is too small: the tensor needs %zu bytes from offset %zu, the buffer holds %zu",
                 what, name, bytes, b->offset, size);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    return CLG_OK;
}

/* Integer, bool and f16 values live on the device as floats: a buffer of
 * them would need a conversion kernel, so they go through clg_model_run. */
static clg_status check_f32(clg_model *m, const char *what, const clg_node *n)
{
    if (n->dtype == CLG_DTYPE_F32) return CLG_OK;
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s %s is %s: buffer runs take f32 tensors only (clgraph holds integer, bool and f16 values as floats "
             "on the device); "
             "run it with clg_model_run", what, n->name, clg_dtype_name(n->dtype));
    return model_fail(m, CLG_ERR_UNSUPPORTED, msg);
}

/* A failed event in the caller's wait list (a negative execution status)
 * is an error naming it. */
static clg_status check_wait_events(clg_model *m, const cl_event *wait, int n_wait)
{
    for (int i = 0; i < n_wait; i++) {
        cl_int status = CL_COMPLETE;
        cl_int err = clGetEventInfo(wait[i], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
        if (err != CL_SUCCESS) return clg_ctx_cl_fail(m->ctx, err, "clGetEventInfo", "wait_events[%d]", i);
        if (status < 0) {
            snprintf(m->errmsg, sizeof m->errmsg,
                     "wait_events[%d] failed (execution status %d, %s): the run did not start", i, (int)status,
                     clg_cl_error_name(status));
            return CLG_ERR_OPENCL;
        }
    }
    return CLG_OK;
}

static clg_status model_run_buffers(clg_model *m, const clg_buffer *inputs, int n_inputs, clg_buffer *outputs,
                                    int n_outputs, const cl_event *wait, int n_wait, cl_event *event_out)
{
    clg_context *ctx = m->ctx;
    clg_graph *g = m->g;
    char msg[512];
    if (n_wait < 0 || (n_wait > 0 && !wait)) {
        snprintf(msg, sizeof msg, "wait_events is NULL with n_wait %d", n_wait);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    if (m->elem_size == 2) {
        snprintf(msg, sizeof msg, "clg_model_run_buffers takes f32 buffers, and this model holds its tensors "
                 "in half (precision %s): run it with clg_model_run", clg_precision_name(m->precision));
        return model_fail(m, CLG_ERR_UNSUPPORTED, msg);
    }
    int n_in = clg_graph_input_count(g);
    if (n_inputs > 0 && !inputs) return model_fail(m, CLG_ERR_INVALID_ARGUMENT, "inputs is NULL");
    if (n_inputs != n_in) {
        snprintf(msg, sizeof msg, "the graph has %d inputs, %d were given", n_in, n_inputs);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    for (int i = 0, input = 0; i < g->n_nodes && input < n_in; i++)
        if (g->nodes[i].op == CLG_OP_INPUT && !inputs[input++].mem) {
            snprintf(msg, sizeof msg, "input %s: mem is NULL", g->nodes[i].name);
            return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
        }
    if (n_outputs != g->n_outputs || (n_outputs > 0 && !outputs)) {
        snprintf(msg, sizeof msg, "the graph has %d outputs, %d were given", g->n_outputs, n_outputs);
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
    }
    /* Shapes, dtypes and symbol sizes, as clg_model_run checks them. */
    clg_tensor stack_views[VIEWS_ON_STACK] = {{0}}, *views = stack_views;
    if (n_inputs > VIEWS_ON_STACK &&
        !(views = clg_mem_calloc(&ctx->allocator, (size_t)n_inputs, sizeof *views)))
        return model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory checking the inputs");
    for (int i = 0; i < n_inputs; i++) {
        views[i] = (clg_tensor){(float *)inputs[i].mem, inputs[i].rank, {0}, inputs[i].dtype};
        memcpy(views[i].dims, inputs[i].dims, sizeof views[i].dims);
    }
    clg_status s = clg_graph_check_inputs(g, views, n_inputs, m->sizes);
    if (views != stack_views) clg_mem_free(&ctx->allocator, views);
    if (s) return model_fail(m, s, clg_graph_errmsg(g));
    for (int i = 0, input = 0; i < g->n_nodes && input < n_in; i++)
        if (g->nodes[i].op == CLG_OP_INPUT) {
            if ((s = check_f32(m, "input", &g->nodes[i]))) return s;
            input++;
        }
    for (int i = 0; i < n_outputs; i++) {
        const clg_node *n = &g->nodes[g->outputs[i]];
        if ((s = check_f32(m, "output", n))) return s;
        if (outputs[i].dtype != CLG_DTYPE_F32) {
            const char *got = clg_dtype_name(outputs[i].dtype);
            snprintf(msg, sizeof msg, "output %s: the graph computes f32, the buffer's dtype is %s%s", n->name,
                     got ? got : "unknown: ", got ? "" : "(not a clg_dtype)");
            return model_fail(m, CLG_ERR_INVALID_ARGUMENT, msg);
        }
    }
    int slot;
    if ((s = model_select_plan(m, &slot))) return s;
    clg_plan *p = m->plan;
    /* Every buffer is checked before anything is enqueued. */
    for (int i = 0, input = 0; i < g->n_nodes && !s; i++)
        if (g->nodes[i].op == CLG_OP_INPUT) {
            size_t bytes = (size_t)clg_shape_count(&p->values[i].shape) * sizeof(float);
            s = check_buffer(m, "input", g->nodes[i].name, &inputs[input++], bytes);
        }
    for (int i = 0; i < n_outputs && !s; i++) {
        const clg_dev_tensor *v = &p->values[g->outputs[i]];
        s = check_buffer(m, "output", g->nodes[g->outputs[i]].name, &outputs[i],
                         (size_t)clg_shape_count(&v->shape) * sizeof(float));
    }
    if (s) return s;
    /* An event that has already failed is refused before anything waits on
     * it: what commands behind a failed event do is the implementation's
     * choice, and PoCL 5 may never complete them (a clFinish behind one
     * hung in test_device_io). */
    if ((s = check_wait_events(m, wait, n_wait))) return s;
    if (ctx->profiling && p->n_steps) {
        m->events = clg_mem_calloc(&ctx->allocator, (size_t)p->n_steps, sizeof *m->events);
        if (!m->events) return model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory for profiling events");
        m->n_events = p->n_steps;
    }

    /* The gate as clg_model_run decided it for this plan (not timed here:
     * a run that does not wait has no time to take), and the caller's
     * events, each held in front of the run by a barrier (an in-order
     * queue runs nothing past it before it completes). */
    cl_int err = CL_SUCCESS;
    bool gated = m->gate[slot].runs == 2 * GATE_TRIALS && m->gate[slot].gated;
    cl_event gate = gated ? clCreateUserEvent(ctx->cl, &err) : NULL;
    if (err != CL_SUCCESS) return clg_ctx_cl_fail(ctx, err, "clCreateUserEvent", "running the model");
    if (gate && (err = clEnqueueBarrierWithWaitList(ctx->queue, 1, &gate, NULL)) != CL_SUCCESS)
        s = clg_ctx_cl_fail(ctx, err, "clEnqueueBarrierWithWaitList", "the run's gate");
    if (!s && n_wait > 0 && (err = clEnqueueBarrierWithWaitList(ctx->queue, (cl_uint)n_wait, wait, NULL)) != CL_SUCCESS)
        s = clg_ctx_cl_fail(ctx, err, "clEnqueueBarrierWithWaitList", "waiting for wait_events");
    for (int i = 0, input = 0; i < g->n_nodes && !s; i++) {
        if (g->nodes[i].op != CLG_OP_INPUT) continue;
        const clg_dev_tensor *v = &p->values[i];
        const clg_buffer *b = &inputs[input++];
        size_t bytes = (size_t)clg_shape_count(&v->shape) * sizeof(float);
        if (bytes == 0) continue; /* an empty copy is an error in OpenCL */
        err = clEnqueueCopyBuffer(ctx->queue, (cl_mem)b->mem, v->buf, b->offset, v->off * sizeof(float), bytes, 0,
                                  NULL, NULL);
        if (err != CL_SUCCESS) s = clg_ctx_cl_fail(ctx, err, "clEnqueueCopyBuffer", "input %s", g->nodes[i].name);
    }
    float flagged = 0.0f;
    if (!s) s = enqueue_chain(m, p, !event_out, &flagged);
    for (int i = 0; i < n_outputs && !s; i++) {
        const clg_dev_tensor *v = &p->values[g->outputs[i]];
        size_t bytes = (size_t)clg_shape_count(&v->shape) * sizeof(float);
        outputs[i].rank = v->shape.rank;
        for (int d = 0; d < CLG_MAX_RANK; d++) outputs[i].dims[d] = d < v->shape.rank ? v->shape.dims[d] : 0;
        if (bytes == 0) continue;
        err = clEnqueueCopyBuffer(ctx->queue, v->buf, (cl_mem)outputs[i].mem, v->off * sizeof(float),
                                  outputs[i].offset, bytes, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            s = clg_ctx_cl_fail(ctx, err, "clEnqueueCopyBuffer", "output %s", g->nodes[g->outputs[i]].name);
    }
    /* The queue is in-order: a marker completes after everything before it. */
    if (event_out && !s && (err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, event_out)) != CL_SUCCESS)
        s = clg_ctx_cl_fail(ctx, err, "clEnqueueMarkerWithWaitList", "the run's event");
    /* Open the gate on every path, or the queue would never move again. */
    s = open_gate(ctx, gate, s);
    if (s && event_out && *event_out) {
        clReleaseEvent(*event_out);
        *event_out = NULL;
    }
    /* Waiting: when the caller asked to (no event), and after an error, so
     * that a failed call leaves nothing of its own running. */
    if (s || !event_out) {
        err = clFinish(ctx->queue);
        if (!s && err != CL_SUCCESS) s = clg_ctx_cl_fail(ctx, err, "clFinish", "running the model");
    }
    if (s) return s;
    /* An event that failed while the run waited for it: where the
     * implementation ran the commands behind it anyway, a waiting run says
     * so. */
    if (!event_out && (s = check_wait_events(m, wait, n_wait))) return s;
    if (flagged != 0.0f) return index_flag_error(m, flagged);
    m->errmsg[0] = '\0';
    return CLG_OK;
}

clg_status clg_model_run_buffers(clg_model *m, const clg_buffer *inputs, int n_inputs, clg_buffer *outputs,
                                 int n_outputs, const void *wait_events, int n_wait, void *event_out)
{
    cl_event *event = event_out;
    if (event) *event = NULL;
    if (!m) return CLG_ERR_INVALID_ARGUMENT;
    if (!m->created) return CLG_ERR_INVALID_ARGUMENT; /* the message says why creating it failed */
    clg_error_capture capture;
    clg_error_capture_begin(&capture, m->ctx, m->errmsg, sizeof m->errmsg);
    clg_status s = model_run_buffers(m, inputs, n_inputs, outputs, n_outputs, wait_events, n_wait, event);
    clg_error_capture_end(&capture);
    return s;
}

clg_status clg_model_stats_get(const clg_model *m, clg_model_stats *st)
{
    if (!m || !st) return CLG_ERR_INVALID_ARGUMENT;
    memset(st, 0, sizeof *st);
    st->batch = m->plan->batch;
    st->launches_per_inference = m->plan->n_steps;
    st->activation_bytes = (uint64_t)m->plan->arena_elems * m->plan->elem_size; /* scratch included */
    st->weight_bytes = m->weight_bytes;
    st->prepared_bytes = m->plan->owned_bytes;
    st->build_ms = m->build_ms;
    st->upload_ms = m->upload_ms;
    return CLG_OK;
}

clg_status clg_model_profile(clg_model *m, clg_node_time *times, int capacity, int *count)
{
    if (!m || !count || (capacity > 0 && !times)) return CLG_ERR_INVALID_ARGUMENT;
    *count = 0;
    if (!m->created) return CLG_ERR_INVALID_ARGUMENT; /* the message says why creating it failed */
    if (!m->ctx->profiling)
        return model_fail(m, CLG_ERR_INVALID_ARGUMENT,
                          "profiling needs a context created with CLG_CONTEXT_PROFILING");
    if (!m->events) return model_fail(m, CLG_ERR_INVALID_ARGUMENT, "the model has not run yet");
    const clg_graph *g = m->g;
    double *ms = clg_mem_calloc(&m->ctx->allocator, (size_t)g->n_nodes, sizeof *ms);
    int *launches = clg_mem_calloc(&m->ctx->allocator, (size_t)g->n_nodes, sizeof *launches);
    clg_status s = CLG_OK;
    if (!ms || !launches) {
        s = model_fail(m, CLG_ERR_OUT_OF_MEMORY, "out of memory for the profile");
        goto done;
    }
    for (int i = 0; i < m->n_events; i++) {
        if (!m->events[i]) continue; /* CLBlast may not hand back an event */
        cl_ulong start = 0, end = 0;
        cl_int err = clGetEventProfilingInfo(m->events[i], CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(m->events[i], CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
        if (err != CL_SUCCESS) {
            clg_error_capture capture;
            clg_error_capture_begin(&capture, m->ctx, m->errmsg, sizeof m->errmsg);
            s = clg_ctx_cl_fail(m->ctx, err, "clGetEventProfilingInfo", "profiling step %d", i);
            clg_error_capture_end(&capture);
            goto done;
        }
        int node = m->plan->steps[i].node;
        ms[node] += (double)(end - start) / 1e6;
        launches[node]++;
    }
    /* Slowest first: selection of the largest remaining, capacity times. */
    for (;;) {
        int best = -1;
        for (int i = 0; i < g->n_nodes; i++)
            if (launches[i] && (best < 0 || ms[i] > ms[best])) best = i;
        if (best < 0) break;
        if (*count < capacity)
            times[*count] = (clg_node_time){g->nodes[best].name, g->nodes[best].op, launches[best], ms[best]};
        (*count)++;
        launches[best] = 0;
    }
    m->errmsg[0] = '\0';
done:
    clg_mem_free(&m->ctx->allocator, ms);
    clg_mem_free(&m->ctx->allocator, launches);
    return s;
}

/* ---------------------------------------------------------------- bundles */

const clg_graph *clg_model_graph(const clg_model *m) { return m && m->created ? m->g : NULL; }

clg_precision clg_model_precision(const clg_model *m) { return m && m->created ? m->precision : CLG_PRECISION_FP32; }

const char *clg_model_note(const clg_model *m) { return m ? m->note : ""; }

clg_model *clg_model_alloc(clg_context *ctx)
{
    clg_model *m = clg_mem_calloc(&ctx->allocator, 1, sizeof *m);
    if (m) {
        m->ctx = ctx;
        m->elem_size = sizeof(float);
    }
    return m;
}

char *clg_model_errbuf(clg_model *m, size_t *size)
{
    *size = sizeof m->errmsg;
    return m->errmsg;
}

void clg_model_set_note(clg_model *m, const char *note) { snprintf(m->note, sizeof m->note, "%s", note); }

clg_status clg_model_build_from(clg_model *m, clg_graph *g, clg_precision precision)
{
    m->g = g;
    clg_status s = set_precision(m, precision);
    if (!s) s = model_build_optimized(m);
    if (s) model_release(m);
    m->created = s == CLG_OK;
    return s;
}

void clg_model_fail_release(clg_model *m)
{
    model_release(m);
    m->created = false;
}

int clg_model_plans(const clg_model *m, const clg_plan **plans, int capacity)
{
    int n = 0;
    for (int i = 0; i < MODEL_PLANS && n < capacity; i++)
        if (m->plan_used[i] && m->plans[i].sizes) plans[n++] = &m->plans[i];
    return n;
}

clg_context *clg_model_context(const clg_model *m) { return m->ctx; }

