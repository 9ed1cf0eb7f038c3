/* Building and enqueueing plans. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lower.h"
#include "lower_util.h"
#include "plan.h"

#include <clblast_c.h>

static const char *node_name(const clg_lower *lw) { return lw->g->nodes[lw->node].name; }
static const char *node_op(const clg_lower *lw) { return clg_op_name(lw->g->nodes[lw->node].op); }

clg_step *clg_plan_new_step(clg_lower *lw)
{
    clg_plan *p = lw->plan;
    if (p->n_steps == p->cap_steps) {
        int cap = p->cap_steps ? p->cap_steps * 2 : 64;
        clg_step *s = clg_mem_realloc(&lw->ctx->allocator, p->steps, (size_t)cap * sizeof *s);
        if (!s) return NULL;
        p->steps = s;
        p->cap_steps = cap;
    }
    clg_step *s = &p->steps[p->n_steps];
    memset(s, 0, sizeof *s);
    s->node = lw->node;
    return s;
}

clg_status clg_emit_kernel(clg_lower *lw, const char *file, const char *name, const char *options,
                           cl_uint work_dim, const size_t *global, const clg_karg *args, int n_args)
{
    clg_kernel_family family = {file, NULL};
    clg_launch l = {&family, name, options, work_dim, {0}, {0}, args, n_args, NULL};
    for (cl_uint d = 0; d < work_dim && d < 3; d++) l.global[d] = global[d];
    return clg_emit_launch(lw, &l);
}

/* The last element a GEMM operand of rows x cols (leading dim ld) reaches
 * over batch matrices stride apart, counting from the buffer's start. */
static uint64_t operand_last(size_t off, size_t rows, size_t cols, size_t ld, size_t batch,
                             size_t stride)
{
    return (uint64_t)off + (uint64_t)(batch - 1) * stride + (uint64_t)(rows - 1) * ld + cols - 1;
}

/* CLBlast hands offsets and sizes to its kernels as int: every element a
 * GEMM reaches must be addressable so (checked once the offsets are final). */
static clg_status gemm_check_positions(const clg_lower *lw, const clg_gemm *g)
{
    uint64_t last[3] = {
        g->k ? operand_last(g->a.off, g->trans_a ? g->k : g->m, g->trans_a ? g->m : g->k, g->lda,
                            g->batch, g->a_stride) : 0,
        g->k ? operand_last(g->b.off, g->trans_b ? g->n : g->k, g->trans_b ? g->k : g->n, g->ldb,
                            g->batch, g->b_stride) : 0,
        operand_last(g->c.off, g->m, g->n, g->ldc, g->batch, g->c_stride),
    };
    for (int i = 0; i < 3; i++)
        if (last[i] > INT_MAX)
            return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                                  "%zux%zux%zu GEMM: operand %c reaches element %llu of its "
                                  "buffer; CLBlast addresses at most %d", g->m, g->n, g->k,
                                  "ABC"[i], (unsigned long long)last[i], INT_MAX);
    return CLG_OK;
}

clg_status clg_emit_gemm(clg_lower *lw, const clg_gemm *gemm)
{
    if (gemm->m == 0 || gemm->n == 0 || gemm->batch == 0) return CLG_OK;
    if (lw->plan->elem_size == 2)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                              "this %zux%zux%zu GEMM (batch %zu) runs only through CLBlast's Sgemm, which takes "
                              "float buffers, and the model holds half ones (precision %s)",
                              gemm->m, gemm->n, gemm->k, gemm->batch, clg_precision_name(lw->plan->precision));
    /* Final offsets are checked now, the rest when the plan binds. */
    bool placed = gemm->a.block == CLG_BLOCK_NONE && gemm->b.block == CLG_BLOCK_NONE &&
                  gemm->c.block == CLG_BLOCK_NONE;
    clg_status s = placed ? gemm_check_positions(lw, gemm) : CLG_OK;
    if (s) return s;
    clg_step *st = clg_plan_new_step(lw);
    if (!st) return clg_ctx_fail(lw->ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", node_name(lw));
    st->kind = CLG_STEP_GEMM;
    st->gemm = *gemm;
    lw->plan->n_steps++;
    return CLG_OK;
}

clg_status clg_scratch(clg_lower *lw, size_t elems, clg_dev_tensor *out)
{
    clg_plan *p = lw->plan;
    memset(out, 0, sizeof *out);
    out->shape.rank = 1;
    out->shape.dims[0] = (int64_t)elems;
    if (p->scratch_owned) return clg_plan_buffer(lw, elems, out);
    if (p->n_scratch == p->cap_scratch) {
        int cap = p->cap_scratch ? p->cap_scratch * 2 : 8;
        clg_scratch_request *r = clg_mem_realloc(&lw->ctx->allocator, p->scratch, (size_t)cap * sizeof *r);
        if (!r) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory planning");
        p->scratch = r;
        p->cap_scratch = cap;
    }
    p->scratch[p->n_scratch] = (clg_scratch_request){lw->node, elems, 0};
    out->block = 1 + p->n_values + p->n_scratch++;
    return CLG_OK;
}

clg_status clg_plan_index_flag(clg_lower *lw, const clg_dev_tensor **flag)
{
    clg_plan *p = lw->plan;
    if (!p->has_index_flag) {
        /* two elements: room for the one float the kernels store there, at half storage too */
        clg_status s = clg_plan_buffer(lw, 2, &p->index_flag);
        if (s) return s;
        p->has_index_flag = true;
    }
    *flag = &p->index_flag;
    return CLG_OK;
}

clg_status clg_plan_buffer(clg_lower *lw, size_t elems, clg_dev_tensor *out)
{
    clg_plan *p = lw->plan;
    memset(out, 0, sizeof *out);
    out->shape.rank = 1;
    out->shape.dims[0] = (int64_t)elems;
    if (p->n_owned == p->cap_owned) {
        int cap = p->cap_owned ? p->cap_owned * 2 : 8;
        cl_mem *o = clg_mem_realloc(&lw->ctx->allocator, p->owned, (size_t)cap * sizeof *o);
        if (!o) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory planning");
        p->owned = o;
        p->cap_owned = cap;
    }
    size_t bytes = (elems ? elems : 1) * p->elem_size;
    if (bytes > lw->ctx->info.max_alloc_bytes)
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                              "needs a buffer of %zu bytes, more than the device's largest allocation "
                              "(%llu bytes)", bytes, (unsigned long long)lw->ctx->info.max_alloc_bytes);
    cl_int err;
    cl_mem b = clCreateBuffer(lw->ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(lw->ctx, err, "clCreateBuffer", "node %s (%s): buffer of %zu bytes",
                               node_name(lw), node_op(lw), bytes);
    p->owned[p->n_owned++] = b;
    p->owned_bytes += bytes;
    out->buf = b;
    return CLG_OK;
}

clg_status clg_plan_run_steps_now(clg_lower *lw, int from)
{
    clg_plan *p = lw->plan;
    if (p->defer_builds) {
        /* their programs may not be built yet: run with the others' builds */
        for (int i = from; i < p->n_steps; i++) p->steps[i].once = true;
        return CLG_OK;
    }
    clg_status s = clg_plan_bind(p, lw->g, from);
    for (int i = from; i < p->n_steps; i++) {
        if (!s) s = clg_plan_enqueue(p, lw->g, &p->steps[i], NULL);
        clg_plan_step_release(p, &p->steps[i]);
    }
    if (from < p->n_steps) p->n_steps = from;
    return s;
}

void clg_plan_step_release(clg_plan *p, clg_step *st)
{
    if (st->kernel) clReleaseKernel(st->kernel);
    clg_mem_free(&p->ctx->allocator, st->args);
    clg_mem_free(&p->ctx->allocator, st->kernel_name);
    st->kernel = NULL;
    st->args = NULL;
    st->kernel_name = NULL;
}

/* Releases the steps (and their kernels) but keeps the rest. */
static void drop_steps(clg_plan *p)
{
    for (int i = 0; i < p->n_steps; i++) clg_plan_step_release(p, &p->steps[i]);
    p->n_steps = 0;
}

void clg_plan_free(clg_plan *p)
{
    if (!p->ctx) return;
    const clg_allocator *a = &p->ctx->allocator;
    drop_steps(p);
    if (p->arena) clReleaseMemObject(p->arena);
    for (int i = 0; i < p->n_owned; i++) clReleaseMemObject(p->owned[i]);
    clg_mem_free(a, p->owned);
    clg_mem_free(a, p->steps);
    clg_mem_free(a, p->scratch);
    clg_mem_free(a, p->values);
    clg_mem_free(a, p->decisions);
    clg_mem_free(a, p->gemm_memo);
    clg_mem_free(a, p->programs);
    clg_mem_free(a, p->block_off);
    clg_mem_free(a, p->sizes);
    clg_plan_pending_free(p);
    memset(p, 0, sizeof *p);
}

/* Runs every node's lowering function over p->values. */
static clg_status lower_all(clg_plan *p, clg_context *ctx, const clg_graph *g, const clg_shape *shapes)
{
    clg_status s = CLG_OK;
    for (int i = 0; i < g->n_nodes && !s; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->op == CLG_OP_INPUT || n->op == CLG_OP_CONSTANT || clg_value_is_view(g, i, shapes))
            continue;
        clg_dev_tensor stack[CLG_PLAN_INPUTS_STACK], *in = clg_plan_inputs(p, n, stack);
        if (!in) return CLG_ERR_OUT_OF_MEMORY;
        clg_lower lw = {ctx, g, i, p};
        clg_lower_fn fn = clg_lower_get(n->op);
        s = fn ? fn(&lw, n, in, &p->values[i])
               : clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): no OpenCL implementation",
                              n->name, clg_op_name(n->op));
        clg_plan_inputs_free(p, in, stack);
    }
    return s;
}

clg_dev_tensor *clg_plan_inputs(clg_plan *p, const clg_node *n, clg_dev_tensor *stack)
{
    clg_dev_tensor *in = stack;
    if (n->n_inputs > CLG_PLAN_INPUTS_STACK &&
        !(in = clg_mem_realloc(&p->ctx->allocator, NULL, (size_t)n->n_inputs * sizeof *in))) {
        clg_ctx_fail(p->ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", n->name);
        return NULL;
    }
    for (int k = 0; k < n->n_inputs; k++) in[k] = p->values[n->inputs[k]];
    return in;
}

void clg_plan_inputs_free(clg_plan *p, clg_dev_tensor *in, const clg_dev_tensor *stack)
{
    if (in != stack) clg_mem_free(&p->ctx->allocator, in);
}

/* Where each value lives: constants in the weights buffer; the rest in the
 * arena, as their block (1 + node) until the arena is placed (arena_off
 * NULL), then at their planned offset. */
static void place_values(clg_plan *p, const clg_graph *g, const clg_shape *shapes, cl_mem weights,
                         const size_t *const_off, const size_t *arena_off)
{
    for (int i = 0; i < g->n_nodes; i++) {
        clg_dev_tensor *v = &p->values[i];
        int root = clg_value_root(g, i, shapes);
        v->shape = shapes[i];
        if (g->nodes[root].op == CLG_OP_CONSTANT) {
            v->buf = weights;
            v->off = const_off[root];
            v->block = CLG_BLOCK_NONE;
        } else if (!arena_off) {
            v->buf = NULL;
            v->off = 0;
            v->block = 1 + i;
        } else {
            v->buf = p->arena;
            v->off = arena_off[i];
            v->block = CLG_BLOCK_NONE;
        }
    }
}

clg_status clg_plan_build(clg_plan *p, clg_context *ctx, clg_graph *g, cl_mem weights,
                          const size_t *const_off, const int64_t *sizes, clg_precision precision)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->precision = precision;
    p->elem_size = clg_precision_elem_size(precision);
    p->batch = sizes[0];
    p->n_values = g->n_nodes;
    clg_status s = CLG_OK;
    const clg_allocator *mem = &ctx->allocator;
    p->n_sizes = clg_dim_symbol_count(g);
    /* values: the key, then the bound sizes (binding may add the sizes
     * only inference knows). */
    p->sizes = clg_mem_calloc(mem, 2 * (size_t)p->n_sizes, sizeof *p->sizes);
    if (!p->sizes) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the model");
    int64_t *bound = p->sizes + p->n_sizes;
    memcpy(p->sizes, sizes, (size_t)p->n_sizes * sizeof *sizes);
    memcpy(bound, sizes, (size_t)p->n_sizes * sizeof *sizes);
    clg_shape *shapes = clg_mem_calloc(mem, (size_t)g->n_nodes + 1, sizeof *shapes);
    size_t *arena_off = clg_mem_calloc(mem, (size_t)g->n_nodes + 1, sizeof *arena_off);
    p->values = clg_mem_calloc(mem, (size_t)g->n_nodes + 1, sizeof *p->values);
    p->decisions = clg_mem_calloc(mem, (size_t)g->n_nodes + 1, sizeof *p->decisions);
    if (!shapes || !arena_off || !p->values || !p->decisions) {
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the model");
        goto done;
    }
    if ((s = clg_graph_bind(g, bound, shapes))) {
        s = clg_ctx_fail(ctx, s, "%s", clg_graph_errmsg(g));
        goto done;
    }

    /* Select what runs each node, lower every node once (activations and
     * scratch as arena blocks, ggml-alloc style), place the blocks by
     * liveness, allocate the arena and bind the steps to it. */
    place_values(p, g, shapes, weights, const_off, NULL);
    /* Ops whose attributes name symbolic sizes (a Slice to S) read the
     * numbers while they are lowered. */
    g->binding = bound;
    /* A small chain of dense layers runs as one kernel (lower/chain.c). */
    bool chained = false;
    p->defer_builds = true;
    s = clg_lower_chain(p, ctx, g, &chained);
    p->defer_builds = false;
    if (!s && !chained) s = clg_plan_select(p, g);
    /* Programs the lowering needs that are not built yet are built
     * together after it, in parallel. */
    p->defer_builds = true;
    if (!s && !chained) s = lower_all(p, ctx, g, shapes);
    g->binding = NULL;
    if (!s) s = clg_plan_build_pending(p, g);
    p->defer_builds = false;
    if (s) goto done;
    if ((s = clg_plan_memory(mem, g, shapes, p->scratch, p->n_scratch, arena_off, &p->arena_elems))) {
        s = s == CLG_ERR_OUT_OF_MEMORY ? clg_ctx_fail(ctx, s, "out of memory planning the activation memory")
                                       : clg_ctx_fail(ctx, CLG_ERR_INTERNAL, "internal error planning the activation memory");
        goto done;
    }
    size_t total = p->arena_elems;
    char sizes_text[160];
    size_t bytes = (total ? total : 1) * p->elem_size;
    if (bytes > ctx->info.max_alloc_bytes) {
        /* One activation that alone passes the limit is the model's
         * problem on this device whatever the plan: name it. */
        int big = -1;
        uint64_t big_bytes = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            if (clg_value_root(g, i, shapes) != i || g->nodes[i].op == CLG_OP_CONSTANT) continue;
            uint64_t b = (uint64_t)clg_shape_count(&shapes[i]) * p->elem_size;
            if (b > big_bytes) {
                big = i;
                big_bytes = b;
            }
        }
        if (big >= 0 && big_bytes > ctx->info.max_alloc_bytes) {
            s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                             "%s: tensor %s (%s) alone needs %llu bytes, more than the device's largest "
                             "allocation (%llu bytes of %s)", clg_dim_values_str(g, bound, sizes_text, sizeof sizes_text),
                             g->nodes[big].name, clg_op_name(g->nodes[big].op), (unsigned long long)big_bytes,
                             (unsigned long long)ctx->info.max_alloc_bytes, ctx->info.name);
            goto done;
        }
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                         "%s needs %zu bytes of activations, more than the device's largest "
                         "allocation (%llu bytes of %s)", clg_dim_values_str(g, bound, sizes_text, sizeof sizes_text), bytes,
                         (unsigned long long)ctx->info.max_alloc_bytes, ctx->info.name);
        goto done;
    }
    if (!(p->block_off = clg_mem_calloc(mem, (size_t)(1 + p->n_values + p->n_scratch), sizeof *p->block_off))) {
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the model");
        goto done;
    }
    for (int i = 0; i < p->n_values; i++) p->block_off[1 + i] = arena_off[i];
    for (int r = 0; r < p->n_scratch; r++) p->block_off[1 + p->n_values + r] = p->scratch[r].off;
    cl_int err;
    p->arena = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        p->arena = NULL;
        s = clg_ctx_cl_fail(ctx, err, "clCreateBuffer", "activation arena of %zu bytes", bytes);
        goto done;
    }
    place_values(p, g, shapes, weights, const_off, arena_off);
    s = clg_plan_bind(p, g, 0);
done:
    clg_mem_free(mem, shapes);
    clg_mem_free(mem, arena_off);
    if (s) clg_plan_free(p);
    return s;
}

clg_status clg_plan_enqueue(clg_plan *p, const clg_graph *g, const clg_step *st, cl_event *event)
{
    clg_context *ctx = p->ctx;
    const clg_node *n = &g->nodes[st->node];
    if (!st->bound)
        return clg_ctx_fail(ctx, CLG_ERR_INTERNAL, "internal error: node %s (%s): a step enqueued unbound", n->name,
                            clg_op_name(n->op));
    if (st->kind == CLG_STEP_KERNEL) {
        cl_int err = clEnqueueNDRangeKernel(ctx->queue, st->kernel, st->work_dim, NULL, st->global,
                                            st->local[0] ? st->local : NULL, 0, NULL, event);
        if (err != CL_SUCCESS)
            return clg_ctx_cl_fail(ctx, err, "clEnqueueNDRangeKernel", "node %s (%s)", n->name,
                                   clg_op_name(n->op));
        return CLG_OK;
    }
    const clg_gemm *m = &st->gemm;
    CLBlastTranspose ta = m->trans_a ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = m->trans_b ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode rc;
    const char *call;
    clg_clblast_lock();
    if (m->batch == 1) {
        call = "CLBlastSgemm";
        rc = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, m->m, m->n, m->k, m->alpha, m->a.buf, m->a.off,
                          m->lda, m->b.buf, m->b.off, m->ldb, m->beta, m->c.buf, m->c.off, m->ldc,
                          &ctx->queue, event);
    } else {
        call = "CLBlastSgemmStridedBatched";
        rc = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, m->m, m->n, m->k, m->alpha,
                                        m->a.buf, m->a.off, m->lda, m->a_stride, m->b.buf, m->b.off, m->ldb,
                                        m->b_stride, m->beta, m->c.buf, m->c.off, m->ldc, m->c_stride,
                                        m->batch, &ctx->queue, event);
    }
    clg_clblast_unlock();
    if (rc != CLBlastSuccess)
        return clg_ctx_cl_fail(ctx, (cl_int)rc, call, "node %s (%s): %zux%zux%zu GEMM", n->name,
                               clg_op_name(n->op), m->m, m->n, m->k);
    return CLG_OK;
}

/* A tensor with its arena block resolved (the arena placed, p->block_off
 * set); false when it names a block the plan does not have. */
bool clg_plan_resolve(const clg_plan *p, clg_dev_tensor *t)
{
    if (t->block == CLG_BLOCK_NONE) return true;
    if (!p->block_off || !p->arena || t->block < 1 || t->block > p->n_values + p->n_scratch) return false;
    t->buf = p->arena;
    t->off += p->block_off[t->block];
    t->block = CLG_BLOCK_NONE;
    return true;
}

/* A GEMM step's operands placed and checked. */
clg_status clg_plan_bind_gemm(clg_lower *lw, clg_step *st)
{
    clg_gemm *m = &st->gemm;
    if (!clg_plan_resolve(lw->plan, &m->a) || !clg_plan_resolve(lw->plan, &m->b) ||
        !clg_plan_resolve(lw->plan, &m->c))
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: a GEMM operand in no arena block");
    clg_status s = gemm_check_positions(lw, m);
    if (!s) st->bound = true;
    return s;
}
