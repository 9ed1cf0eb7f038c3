/* Appending a kernel launch: the program built from source text (a file
 * of kernels/ through clg_emit_kernel, or text a lowering generated), the
 * kernel's arguments set once, the step added to the plan. */
#include <stdio.h>
#include <string.h>

#include "epilogue.h"
#include "lower.h"
#include "lower_util.h"
#include "plan.h"

/* Kernels take a tensor's offset as uint and add int indices to it, so no
 * element they touch may sit at 2^32 or beyond in its buffer. */
#define KERNEL_POSITIONS ((uint64_t)UINT32_MAX + 1)

clg_status clg_emit_kernel_source(clg_lower *lw, const char *name_for_cache, const char *source,
                                  const char *kernel, const char *options, cl_uint work_dim,
                                  const size_t *global, const clg_karg *args, int n_args)
{
    return clg_emit_kernel_local(lw, name_for_cache, source, kernel, options, work_dim, global, NULL,
                                 args, n_args);
}

/* A tensor argument's positions: no more elements than int indexes, and
 * none at 2^32 or beyond in its buffer (kernels take uint offsets). */
static clg_status check_positions(const clg_lower *lw, const char *kernel, int i, const clg_dev_tensor *t)
{
    clg_status s = clg_check_elems(lw, &t->shape);
    if (s) return s;
    uint64_t end = (uint64_t)t->off + (uint64_t)clg_shape_count(&t->shape);
    if (end > KERNEL_POSITIONS)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                              "kernel %s, argument %d reaches element %llu of its buffer; "
                              "kernels address at most 2^32 elements (uint offsets)",
                              kernel, i, (unsigned long long)(end - 1));
    return CLG_OK;
}

static clg_status bind_kernel(clg_lower *lw, clg_step *st);

/* Remembers that lw's plan uses program, once (for bundles). */
static clg_status note_program(clg_lower *lw, cl_program program)
{
    clg_plan *p = lw->plan;
    if (p->scratch_owned) return CLG_OK;
    for (int i = 0; i < p->n_programs; i++)
        if (p->programs[i] == program) return CLG_OK;
    if (p->n_programs == p->cap_programs) {
        int cap = p->cap_programs ? 2 * p->cap_programs : 16;
        cl_program *np = clg_mem_realloc(&lw->ctx->allocator, p->programs, (size_t)cap * sizeof *np);
        if (!np) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
        p->programs = np;
        p->cap_programs = cap;
    }
    p->programs[p->n_programs++] = program;
    return CLG_OK;
}

/* A program a plan still has to build (clg_plan_build_pending): copies of
 * what clg_program_get takes, and the node that first asked for it. */
typedef struct clg_pending_program {
    char *file, *source, *options;
    int node;
} clg_pending_program;

static char *copy_text(const clg_allocator *a, const char *text)
{
    size_t n = strlen(text) + 1;
    char *c = clg_mem_realloc(a, NULL, n);
    if (c) memcpy(c, text, n);
    return c;
}

/* 1 + the plan's pending program for (file, source, options), added when
 * new; 0 when out of memory. */
static int pending_add(clg_lower *lw, const char *file, const char *source, const char *options)
{
    clg_plan *p = lw->plan;
    const clg_allocator *a = &lw->ctx->allocator;
    if (!options) options = "";
    for (int i = 0; i < p->n_pending; i++) {
        const clg_pending_program *q = &p->pending[i];
        if (!strcmp(q->file, file) && !strcmp(q->options, options) && !strcmp(q->source, source)) {
            clg_program_cache_note_shared(lw->ctx); /* one build serves both, as a cached program would */
            return i + 1;
        }
    }
    if (p->n_pending == p->cap_pending) {
        int cap = p->cap_pending ? 2 * p->cap_pending : 16;
        clg_pending_program *q = clg_mem_realloc(a, p->pending, (size_t)cap * sizeof *q);
        if (!q) return 0;
        p->pending = q;
        p->cap_pending = cap;
    }
    clg_pending_program *q = &p->pending[p->n_pending];
    q->file = copy_text(a, file);
    q->source = copy_text(a, source);
    q->options = copy_text(a, options);
    q->node = lw->node;
    if (!q->file || !q->source || !q->options) {
        clg_mem_free(a, q->file);
        clg_mem_free(a, q->source);
        clg_mem_free(a, q->options);
        return 0;
    }
    return ++p->n_pending;
}

void clg_plan_pending_free(clg_plan *p)
{
    const clg_allocator *a = &p->ctx->allocator;
    for (int i = 0; i < p->n_pending; i++) {
        clg_mem_free(a, p->pending[i].file);
        clg_mem_free(a, p->pending[i].source);
        clg_mem_free(a, p->pending[i].options);
    }
    clg_mem_free(a, p->pending);
    p->pending = NULL;
    p->n_pending = p->cap_pending = 0;
}

/* Gives st its kernel `kernel` from program and sizes its work-group:
 * what st->local asks for (st->local_given; CLG_LOCAL_FIT in [0]: the
 * largest that fits), else 64-item groups for padded grids. */
static clg_status attach_kernel(clg_lower *lw, clg_step *st, cl_program program, const char *kernel,
                                const char *file)
{
    clg_context *ctx = lw->ctx;
    cl_uint work_dim = st->work_dim;
    cl_int err;
    cl_kernel k = clCreateKernel(program, kernel, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clCreateKernel", "node %s (%s): kernel %s in %s",
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op),
                               kernel, file);
    size_t grid0 = st->global[0], local_fit = 0;
    if (st->local_given && st->local[0] == CLG_LOCAL_FIT) {
        size_t kernel_max = 0, local_per_item = 0;
        for (int i = 0; i < st->n_args; i++)
            if (st->args[i].kind == CLG_KARG_LOCAL) local_per_item += (size_t)st->args[i].i;
        err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max, NULL);
        if (err != CL_SUCCESS) {
            clReleaseKernel(k);
            return clg_ctx_cl_fail(ctx, err, "clGetKernelWorkGroupInfo", "node %s (%s): kernel %s",
                                   lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op), kernel);
        }
        /* The kernel's own __local arrays, and the device's limit on a
         * work-group's first dim, count too. A failed query is an error,
         * not a zero: a group sized without the limit fails at launch,
         * far from its cause. */
        cl_ulong kernel_local = 0;
        size_t item_max[3] = {0, 0, 0};
        const char *query = NULL;
        if ((err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof kernel_local,
                                            &kernel_local, NULL)) != CL_SUCCESS)
            query = "clGetKernelWorkGroupInfo";
        else if ((err = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_max, item_max,
                                        NULL)) != CL_SUCCESS)
            query = "clGetDeviceInfo";
        if (query) {
            clReleaseKernel(k);
            return clg_ctx_cl_fail(ctx, err, query, "node %s (%s): kernel %s", lw->g->nodes[lw->node].name,
                                   clg_op_name(lw->g->nodes[lw->node].op), kernel);
        }
        if (item_max[0] == 0) item_max[0] = kernel_max;
        size_t rest = 1; /* the work-group's other dims */
        for (cl_uint d = 1; d < work_dim; d++) rest *= st->local[d];
        local_fit = 1;
        while (local_fit * 2 <= grid0 && local_fit * 2 <= item_max[0] && local_fit * 2 * rest <= kernel_max &&
               (uint64_t)kernel_local + (uint64_t)local_fit * 2 * rest * local_per_item <= ctx->info.local_mem_bytes)
            local_fit *= 2;
        /* Not even one work-item's group fits: say so here rather than
         * let the launch fail with CL_OUT_OF_RESOURCES. */
        uint64_t need = (uint64_t)kernel_local + (uint64_t)rest * local_per_item;
        if (rest > kernel_max || need > ctx->info.local_mem_bytes) {
            clReleaseKernel(k);
            return clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                                "node %s (%s): kernel %s needs a work-group of %zu items and %llu bytes of local "
                                "memory at least; %s allows %zu items and %llu bytes",
                                lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op), kernel, rest,
                                (unsigned long long)need, ctx->info.name, kernel_max,
                                (unsigned long long)ctx->info.local_mem_bytes);
        }
        grid0 = local_fit;
    } else if (st->local_given) {
        /* A fixed work-group (a tiled kernel's): it must fit the kernel
         * as built (its registers bound CL_KERNEL_WORK_GROUP_SIZE) and its
         * __local arrays the device, else the launch would fail with
         * CL_INVALID_WORK_GROUP_SIZE or CL_OUT_OF_RESOURCES far from here. */
        size_t kernel_max = 0, items = 1;
        cl_ulong kernel_local = 0;
        for (cl_uint d = 0; d < work_dim; d++) items *= st->local[d];
        err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max, &kernel_max, NULL);
        if (err == CL_SUCCESS)
            err = clGetKernelWorkGroupInfo(k, ctx->device, CL_KERNEL_LOCAL_MEM_SIZE, sizeof kernel_local,
                                           &kernel_local, NULL);
        if (err != CL_SUCCESS) {
            clReleaseKernel(k);
            return clg_ctx_cl_fail(ctx, err, "clGetKernelWorkGroupInfo", "node %s (%s): kernel %s",
                                   lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op), kernel);
        }
        if (items > kernel_max || kernel_local > ctx->info.local_mem_bytes) {
            clReleaseKernel(k);
            return clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED,
                                "node %s (%s): kernel %s needs a work-group of %zu items and %llu bytes of local "
                                "memory; %s allows %zu items and %llu bytes",
                                lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op), kernel, items,
                                (unsigned long long)kernel_local, ctx->info.name, kernel_max,
                                (unsigned long long)ctx->info.local_mem_bytes);
        }
    }
    st->kernel = k;
    st->global[0] = grid0;
    /* A fixed work-group shape for padded grids: PoCL compiles a kernel
     * once per work-group size it sees (about 30 ms each, cold), so letting
     * it choose per global size multiplies compilations by the number of
     * distinct shapes in a model. */
    size_t max_wg = 0;
    if (st->local_given) {
        if (local_fit) st->local[0] = local_fit;
        st->group_items = local_fit;
        for (cl_uint d = 1; d < work_dim; d++) st->group_items *= st->local[d];
    } else if (st->global[0] % CLG_GRID_MULTIPLE == 0 &&
               clGetKernelWorkGroupInfo(k, lw->ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg, &max_wg,
                                        NULL) == CL_SUCCESS &&
               max_wg >= CLG_GRID_MULTIPLE) {
        st->local[0] = CLG_GRID_MULTIPLE;
        for (cl_uint d = 1; d < work_dim; d++) st->local[d] = 1;
    }
    return CLG_OK;
}

/* The kernel files whose kernels read and write through the storage
 * macros: only these may run at a half precision (another op's node is
 * refused, naming its file, rather than read half buffers as float). */
static const char *const HALF_READY[] = {
    "generated:elementwise", "gemm.cl", "gemm_local.cl", "argmax.cl", "attention.cl", "cast.cl", "conv.cl",
    "conv_depthwise.cl", "conv_direct.cl", "conv_grouped.cl", "conv_transpose.cl", "copy.cl", "elementwise.cl", "gather.cl", "layernorm.cl", "pad.cl",
    "pool.cl", "range.cl", "reduce.cl", "resize.cl", "softmax.cl", "trilu.cl", "winograd.cl", NULL,
};

static bool half_ready(const char *name)
{
    size_t n = strcspn(name, "+"); /* "FILE+epilogue" */
    for (int i = 0; HALF_READY[i]; i++)
        if (strlen(HALF_READY[i]) == n && !strncmp(HALF_READY[i], name, n)) return true;
    return false;
}

static clg_status emit_kernel_stored(clg_lower *lw, const char *name_for_cache, const char *source,
                                     const char *kernel, const char *options, cl_uint work_dim,
                                     const size_t *global, const size_t *local, const clg_karg *args,
                                     int n_args);

clg_status clg_emit_kernel_local(clg_lower *lw, const char *name_for_cache, const char *source,
                                 const char *kernel, const char *options, cl_uint work_dim,
                                 const size_t *global, const size_t *local, const clg_karg *args,
                                 int n_args)
{
    const clg_plan *p = lw->plan;
    bool half = p->precision != CLG_PRECISION_FP32;
    if (half && !half_ready(name_for_cache))
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "kernel %s in %s has no half-storage variant yet (precision %s)",
                              kernel, name_for_cache, clg_precision_name(p->precision));
    const clg_allocator *mem = &lw->ctx->allocator;
    const char *prelude = clg_kernel_storage_prelude();
    size_t pre = strlen(prelude), len = strlen(source);
    /* -DCOMPUTE_HALF (and with it cl_khr_fp16) only for a program that
     * computes in half, which its text says by naming compute_t (the
     * generated elementwise kernels and epilogues at fp16: compiler/expr.c
     * clg_expr_write_opencl_as; no kernel file yet). Every other program
     * is the same text with the same options at fp16 and fp16-storage:
     * one program for both in the program cache and in bundles. */
    bool compute_half = p->precision == CLG_PRECISION_FP16 && strstr(source, "compute_t");
    const char *defs = !half ? "" : compute_half ? " -DSTORE_HALF -DCOMPUTE_HALF" : " -DSTORE_HALF";
    size_t olen = options ? strlen(options) : 0, dlen = strlen(defs);
    char *text = clg_mem_realloc(mem, NULL, pre + len + 1);
    char *opts = clg_mem_realloc(mem, NULL, olen + dlen + 1);
    if (!text || !opts) {
        clg_mem_free(mem, text);
        clg_mem_free(mem, opts);
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(text, prelude, pre);
    memcpy(text + pre, source, len + 1);
    if (olen) memcpy(opts, options, olen);
    memcpy(opts + olen, defs, dlen + 1);
    clg_status s = emit_kernel_stored(lw, name_for_cache, text, kernel, opts, work_dim, global, local, args, n_args);
    clg_mem_free(mem, text);
    clg_mem_free(mem, opts);
    return s;
}

static clg_status emit_kernel_stored(clg_lower *lw, const char *name_for_cache, const char *source,
                                     const char *kernel, const char *options, cl_uint work_dim,
                                     const size_t *global, const size_t *local, const clg_karg *args,
                                     int n_args)
{
    clg_context *ctx = lw->ctx;
    clg_plan *p = lw->plan;
    const char *node = lw->g->nodes[lw->node].name;
    /* Positions already final are checked now, the rest when the plan
     * binds. */
    for (int i = 0; i < n_args; i++) {
        const clg_dev_tensor *t = args[i].kind == CLG_KARG_TENSOR ? args[i].t : NULL;
        clg_status s = !t ? CLG_OK : t->block == CLG_BLOCK_NONE ? check_positions(lw, kernel, i, t)
                                                                 : clg_check_elems(lw, &t->shape);
        if (s) return s;
    }
    for (cl_uint d = 0; d < work_dim; d++)
        if (global[d] == 0) return CLG_OK; /* nothing to do: an empty launch is an error in OpenCL */
    cl_program program = NULL;
    clg_status s = p->defer_builds ? clg_program_find(ctx, name_for_cache, source, options, node, &program)
                                   : clg_program_get_for(ctx, name_for_cache, source, options, node, true, &program);
    if (s) return s;
    clg_step *st = clg_plan_new_step(lw);
    clg_step_arg *kept = n_args ? clg_mem_calloc(&ctx->allocator, (size_t)n_args, sizeof *kept) : NULL;
    if (!st || (n_args && !kept)) {
        clg_mem_free(&ctx->allocator, kept);
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the node");
    }
    for (int i = 0; i < n_args; i++) {
        kept[i].kind = args[i].kind;
        if (args[i].kind == CLG_KARG_TENSOR) kept[i].t = *args[i].t;
        kept[i].i = args[i].i;
        kept[i].f = args[i].f;
    }
    st->kind = CLG_STEP_KERNEL;
    st->args = kept;
    st->n_args = n_args;
    st->work_dim = work_dim;
    for (cl_uint d = 0; d < work_dim; d++) st->global[d] = global[d];
    st->local_given = local != NULL;
    if (local)
        for (cl_uint d = 0; d < work_dim; d++) st->local[d] = local[d];
    if (!program) {
        /* built later with the plan's other new programs */
        st->pending = pending_add(lw, name_for_cache, source, options);
        st->kernel_name = st->pending ? copy_text(&ctx->allocator, kernel) : NULL;
        if (!st->kernel_name) {
            clg_plan_step_release(p, st);
            return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the node");
        }
        p->n_steps++;
        return CLG_OK;
    }
    if ((s = attach_kernel(lw, st, program, kernel, name_for_cache)) || (s = note_program(lw, program))) {
        clg_plan_step_release(p, st);
        return s;
    }
    p->n_steps++;
    return CLG_OK;
}

clg_status clg_plan_build_pending(clg_plan *p, const clg_graph *g)
{
    clg_context *ctx = p->ctx;
    clg_status s = CLG_OK;
    clg_build_req *reqs = NULL;
    if (p->n_pending) {
        reqs = clg_mem_calloc(&ctx->allocator, (size_t)p->n_pending, sizeof *reqs);
        if (!reqs) return clg_ctx_fail(ctx, CLG_ERR_OUT_OF_MEMORY, "out of memory building the model's programs");
        for (int i = 0; i < p->n_pending; i++)
            reqs[i] = (clg_build_req){p->pending[i].file, p->pending[i].source, p->pending[i].options,
                                      g->nodes[p->pending[i].node].name, NULL};
        s = clg_programs_build(ctx, reqs, p->n_pending);
    }
    for (int i = 0; i < p->n_steps && !s; i++) {
        clg_step *st = &p->steps[i];
        if (!st->pending) continue;
        clg_lower lw = {ctx, g, st->node, p};
        cl_program program = reqs[st->pending - 1].program;
        s = attach_kernel(&lw, st, program, st->kernel_name, p->pending[st->pending - 1].file);
        if (!s) s = note_program(&lw, program); /* built in parallel, bundled like any other */
        if (!s) {
            st->pending = 0;
            clg_mem_free(&ctx->allocator, st->kernel_name);
            st->kernel_name = NULL;
        }
    }
    clg_mem_free(&ctx->allocator, reqs);
    /* Steps that prepare constants (packing B), in order, once. */
    int kept = 0;
    for (int i = 0; i < p->n_steps; i++) {
        clg_step *st = &p->steps[i];
        if (!st->once) {
            p->steps[kept++] = *st;
            continue;
        }
        if (!s) {
            clg_lower lw = {ctx, g, st->node, p};
            s = st->kind == CLG_STEP_KERNEL ? bind_kernel(&lw, st) : clg_plan_bind_gemm(&lw, st);
            if (!s) s = clg_plan_enqueue(p, g, st, NULL);
        }
        clg_plan_step_release(p, st);
    }
    p->n_steps = kept;
    clg_plan_pending_free(p);
    return s;
}

/* A kernel step's arguments set on its kernel, tensors resolved and
 * checked. */
static clg_status bind_kernel(clg_lower *lw, clg_step *st)
{
    clg_context *ctx = lw->ctx;
    char kernel[128] = "";
    clGetKernelInfo(st->kernel, CL_KERNEL_FUNCTION_NAME, sizeof kernel, kernel, NULL);
    cl_int err = CL_SUCCESS;
    cl_uint arg = 0;
    for (int i = 0; i < st->n_args && err == CL_SUCCESS; i++) {
        clg_step_arg *a = &st->args[i];
        if (a->kind == CLG_KARG_TENSOR) {
            if (!clg_plan_resolve(lw->plan, &a->t) || !a->t.buf)
                return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: kernel %s, argument %d has no buffer",
                                      kernel, i);
            clg_status s = check_positions(lw, kernel, i, &a->t);
            if (s) return s;
            cl_uint off = (cl_uint)a->t.off; /* checked above */
            err = clSetKernelArg(st->kernel, arg++, sizeof(cl_mem), &a->t.buf);
            if (err == CL_SUCCESS) err = clSetKernelArg(st->kernel, arg++, sizeof off, &off);
        } else if (a->kind == CLG_KARG_LOCAL) {
            if (!st->group_items)
                return clg_lower_fail(lw, CLG_ERR_INTERNAL,
                                      "internal error: kernel %s takes local memory without CLG_LOCAL_FIT", kernel);
            err = clSetKernelArg(st->kernel, arg++, st->group_items * (size_t)a->i, NULL);
        } else if (a->kind == CLG_KARG_INT) {
            cl_int v = a->i;
            err = clSetKernelArg(st->kernel, arg++, sizeof v, &v);
        } else {
            cl_float v = a->f;
            err = clSetKernelArg(st->kernel, arg++, sizeof v, &v);
        }
    }
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clSetKernelArg", "node %s (%s): kernel %s argument %u",
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op), kernel,
                               arg ? arg - 1 : 0);
    st->bound = true;
    return CLG_OK;
}

clg_status clg_plan_bind(clg_plan *p, const clg_graph *g, int from)
{
    clg_status s = CLG_OK;
    for (int i = from; i < p->n_steps && !s; i++) {
        clg_step *st = &p->steps[i];
        if (st->bound) continue;
        clg_lower lw = {p->ctx, g, st->node, p};
        s = st->kind == CLG_STEP_KERNEL ? bind_kernel(&lw, st) : clg_plan_bind_gemm(&lw, st);
    }
    return s;
}

clg_status clg_emit_launch(clg_lower *lw, const clg_launch *l)
{
    const clg_allocator *mem = &lw->ctx->allocator;
    const char *file = l->family->file;
    /* The context's kernel directory decides which text is built. */
    const char *body = clg_context_kernel_source(lw->ctx, file);
    if (!body)
        return clg_lower_fail(lw, CLG_ERR_BUILD, "kernel file %s is missing from %s", file,
                              lw->ctx->kernel_dir ? lw->ctx->kernel_dir : "the library");
    bool takes = l->epilogue && l->family->epilogue_kernel && !strcmp(l->kernel, l->family->epilogue_kernel);
    if (l->epilogue && !l->family->epilogue_kernel)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %s takes no epilogue", file);
    enum { MAX_ARGS = 64 };
    clg_karg args[MAX_ARGS];
    if (l->n_args > MAX_ARGS)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: kernel %s: %d arguments", l->kernel,
                              l->n_args);
    memcpy(args, l->args, (size_t)l->n_args * sizeof *args);
    int n_args = l->n_args;
    if (takes) {
        int extra = clg_epilogue_args(l->epilogue, args + n_args, MAX_ARGS - n_args);
        if (extra < 0)
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: an epilogue input does not broadcast to the %lldx%lld result",
                                  (long long)l->epilogue->rows, (long long)l->epilogue->cols);
        n_args += extra;
    }
    static const size_t no_local[3] = {0, 0, 0};
    const size_t *local = memcmp(l->local, no_local, sizeof no_local) ? l->local : NULL;
    if (!l->epilogue)
        return clg_emit_kernel_local(lw, file, body, l->kernel, l->defines, l->work_dim, l->global, local, args,
                                     n_args);
    /* The prelude and the file as one text; the program cache keys it by
     * its text, so each epilogue is its own program. */
    bool half = lw->plan->precision == CLG_PRECISION_FP16;
    size_t pre = clg_epilogue_prelude(l->epilogue, half, NULL, 0), len = strlen(body);
    char *source = clg_mem_realloc(mem, NULL, pre + len + 1);
    if (!source) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    clg_epilogue_prelude(l->epilogue, half, source, pre + 1);
    memcpy(source + pre, body, len + 1);
    char name[96];
    snprintf(name, sizeof name, "%s+epilogue", file);
    clg_status s = clg_emit_kernel_local(lw, name, source, l->kernel, l->defines, l->work_dim, l->global, local,
                                         args, n_args);
    clg_mem_free(mem, source);
    return s;
}
