/* Building and enqueueing plans. */
#include <stdio.h>
#include <string.h>

#include "plan.h"

#include <clblast_c.h>

/* Activations start on 64-float (256-byte) boundaries: aligned for vector
 * loads on every device, and what CLBlast's fast paths prefer. */
#define ALIGN_ELEMS 64

static size_t align_up(size_t x) { return (x + ALIGN_ELEMS - 1) / ALIGN_ELEMS * ALIGN_ELEMS; }

static const char *node_name(const clg_lower *lw) { return lw->g->nodes[lw->node].name; }
static const char *node_op(const clg_lower *lw) { return clg_op_name(lw->g->nodes[lw->node].op); }

static clg_step *new_step(clg_lower *lw)
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
    clg_context *ctx = lw->ctx;
    const char *source = clg_kernel_source(file);
    if (!source)
        return clg_ctx_fail(ctx, CLG_ERR_BUILD, "node %s (%s): kernel file %s is missing",
                            node_name(lw), node_op(lw), file);
    cl_program program;
    clg_status s = clg_program_get(ctx, file, source, options, &program);
    if (s) return s;
    for (cl_uint d = 0; d < work_dim; d++)
        if (global[d] == 0) return CLG_OK; /* nothing to do: an empty launch is an error in OpenCL */
    cl_int err;
    cl_kernel k = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clCreateKernel", "node %s (%s): kernel %s in %s",
                               node_name(lw), node_op(lw), name, file);
    cl_uint arg = 0;
    for (int i = 0; i < n_args && err == CL_SUCCESS; i++) {
        const clg_karg *a = &args[i];
        if (a->kind == CLG_KARG_TENSOR) {
            cl_uint off = (cl_uint)a->t->off;
            err = clSetKernelArg(k, arg++, sizeof(cl_mem), &a->t->buf);
            if (err == CL_SUCCESS) err = clSetKernelArg(k, arg++, sizeof off, &off);
        } else if (a->kind == CLG_KARG_INT) {
            cl_int v = a->i;
            err = clSetKernelArg(k, arg++, sizeof v, &v);
        } else {
            cl_float v = a->f;
            err = clSetKernelArg(k, arg++, sizeof v, &v);
        }
    }
    if (err != CL_SUCCESS) {
        clReleaseKernel(k);
        return clg_ctx_cl_fail(ctx, err, "clSetKernelArg", "node %s (%s): kernel %s argument %u",
                               node_name(lw), node_op(lw), name, arg ? arg - 1 : 0);
    }
    clg_step *st = new_step(lw);
    if (!st) {
        clReleaseKernel(k);
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", node_name(lw));
    }
    st->kind = CLG_STEP_KERNEL;
    st->kernel = k;
    st->work_dim = work_dim;
    for (cl_uint d = 0; d < work_dim; d++) st->global[d] = global[d];
    lw->plan->n_steps++;
    return CLG_OK;
}

clg_status clg_emit_gemm(clg_lower *lw, const clg_gemm *gemm)
{
    if (gemm->m == 0 || gemm->n == 0 || gemm->batch == 0) return CLG_OK;
    clg_step *st = new_step(lw);
    if (!st) return clg_ctx_fail(lw->ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", node_name(lw));
    st->kind = CLG_STEP_GEMM;
    st->gemm = *gemm;
    lw->plan->n_steps++;
    return CLG_OK;
}

clg_status clg_scratch(clg_lower *lw, size_t elems, clg_dev_tensor *out)
{
    clg_plan *p = lw->plan;
    clg_context *ctx = lw->ctx;
    if (p->n_scratch == p->cap_scratch) {
        int cap = p->cap_scratch ? p->cap_scratch * 2 : 8;
        cl_mem *s = clg_mem_realloc(&ctx->allocator, p->scratch, (size_t)cap * sizeof *s);
        if (!s) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", node_name(lw));
        p->scratch = s;
        p->cap_scratch = cap;
    }
    size_t bytes = (elems ? elems : 1) * sizeof(float);
    if (bytes > ctx->info.max_alloc_bytes)
        return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                            "node %s (%s): needs %zu bytes of scratch, more than the device's "
                            "largest allocation (%llu bytes)", node_name(lw), node_op(lw), bytes,
                            (unsigned long long)ctx->info.max_alloc_bytes);
    cl_int err;
    cl_mem m = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clCreateBuffer", "node %s (%s): %zu bytes of scratch",
                               node_name(lw), node_op(lw), bytes);
    p->scratch[p->n_scratch++] = m;
    p->scratch_elems += elems;
    memset(out, 0, sizeof *out);
    out->buf = m;
    out->off = 0;
    out->shape.rank = 1;
    out->shape.dims[0] = (int64_t)elems;
    return CLG_OK;
}

void clg_plan_free(clg_plan *p)
{
    if (!p->ctx) return;
    const clg_allocator *a = &p->ctx->allocator;
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].kernel) clReleaseKernel(p->steps[i].kernel);
    for (int i = 0; i < p->n_scratch; i++) clReleaseMemObject(p->scratch[i]);
    if (p->arena) clReleaseMemObject(p->arena);
    clg_mem_free(a, p->steps);
    clg_mem_free(a, p->scratch);
    clg_mem_free(a, p->values);
    memset(p, 0, sizeof *p);
}

clg_status clg_plan_build(clg_plan *p, clg_context *ctx, clg_graph *g, cl_mem weights,
                          const size_t *const_off, int64_t batch)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->batch = batch;
    clg_status s = CLG_OK;
    clg_shape *shapes = clg_mem_calloc(&ctx->allocator, (size_t)g->n_nodes + 1, sizeof *shapes);
    p->values = clg_mem_calloc(&ctx->allocator, (size_t)g->n_nodes + 1, sizeof *p->values);
    if (!shapes || !p->values) {
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the model");
        goto done;
    }
    if ((s = clg_graph_bind_batch(g, batch, shapes))) {
        s = clg_ctx_fail(ctx, s, "%s", clg_graph_errmsg(g));
        goto done;
    }

    /* Where each value lives. No reuse yet: every activation has its own
     * slice of the arena. */
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_node *n = &g->nodes[i];
        clg_dev_tensor *v = &p->values[i];
        v->shape = shapes[i];
        if (n->op == CLG_OP_CONSTANT) {
            v->buf = weights;
            v->off = const_off[i];
        } else if (clg_lower_is_alias(n->op)) {
            v->buf = NULL; /* resolved below, once the arena exists */
            v->off = 0;
        } else {
            v->off = total;
            total = align_up(total + (size_t)clg_shape_count(&shapes[i]));
        }
    }
    size_t bytes = (total ? total : 1) * sizeof(float);
    if (bytes > ctx->info.max_alloc_bytes) {
        s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_DEVICE_MEMORY,
                         "batch %lld needs %zu bytes of activations, more than the device's largest "
                         "allocation (%llu bytes of %s)", (long long)batch, bytes,
                         (unsigned long long)ctx->info.max_alloc_bytes, ctx->info.name);
        goto done;
    }
    cl_int err;
    p->arena = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        s = clg_ctx_cl_fail(ctx, err, "clCreateBuffer", "activation arena of %zu bytes", bytes);
        goto done;
    }
    p->arena_elems = total;

    for (int i = 0; i < g->n_nodes && !s; i++) {
        const clg_node *n = &g->nodes[i];
        clg_dev_tensor *v = &p->values[i];
        if (n->op == CLG_OP_INPUT) {
            v->buf = p->arena;
            continue;
        }
        if (n->op == CLG_OP_CONSTANT) continue;
        if (clg_lower_is_alias(n->op)) {
            v->buf = p->values[n->inputs[0]].buf;
            v->off = p->values[n->inputs[0]].off;
            continue;
        }
        v->buf = p->arena;
        clg_dev_tensor in_stack[8], *in = in_stack;
        if (n->n_inputs > 8 &&
            !(in = clg_mem_realloc(&ctx->allocator, NULL, (size_t)n->n_inputs * sizeof *in))) {
            s = clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory planning node %s", n->name);
            break;
        }
        for (int k = 0; k < n->n_inputs; k++) in[k] = p->values[n->inputs[k]];
        clg_lower lw = {ctx, g, i, p};
        clg_lower_fn fn = clg_lower_get(n->op);
        s = fn ? fn(&lw, n, in, v)
               : clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED, "node %s (%s): no OpenCL implementation",
                              n->name, clg_op_name(n->op));
        if (in != in_stack) clg_mem_free(&ctx->allocator, in);
    }
done:
    clg_mem_free(&ctx->allocator, shapes);
    if (s) clg_plan_free(p);
    return s;
}

clg_status clg_plan_enqueue(clg_plan *p, const clg_graph *g, const clg_step *st, cl_event *event)
{
    clg_context *ctx = p->ctx;
    const clg_node *n = &g->nodes[st->node];
    if (st->kind == CLG_STEP_KERNEL) {
        cl_int err = clEnqueueNDRangeKernel(ctx->queue, st->kernel, st->work_dim, NULL, st->global,
                                            NULL, 0, NULL, event);
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
    if (m->batch == 1) {
        call = "CLBlastSgemm";
        rc = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, m->m, m->n, m->k, m->alpha, m->a, m->a_off,
                          m->lda, m->b, m->b_off, m->ldb, m->beta, m->c, m->c_off, m->ldc,
                          &ctx->queue, event);
    } else {
        call = "CLBlastSgemmStridedBatched";
        rc = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, m->m, m->n, m->k, m->alpha,
                                        m->a, m->a_off, m->lda, m->a_stride, m->b, m->b_off, m->ldb,
                                        m->b_stride, m->beta, m->c, m->c_off, m->ldc, m->c_stride,
                                        m->batch, &ctx->queue, event);
    }
    if (rc != CLBlastSuccess)
        return clg_ctx_cl_fail(ctx, (cl_int)rc, call, "node %s (%s): %zux%zux%zu GEMM", n->name,
                               clg_op_name(n->op), m->m, m->n, m->k);
    return CLG_OK;
}
