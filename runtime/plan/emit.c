/* Appending a kernel launch: the program built from source text (a file
 * of kernels/ through clg_emit_kernel, or text a lowering generated), the
 * kernel's arguments set once, the step added to the plan. */
#include <string.h>

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

clg_status clg_emit_kernel_local(clg_lower *lw, const char *name_for_cache, const char *source,
                                 const char *kernel, const char *options, cl_uint work_dim,
                                 const size_t *global, const size_t *local, const clg_karg *args,
                                 int n_args)
{
    clg_context *ctx = lw->ctx;
    if (lw->plan->measuring) return CLG_OK;
    /* clg_emit_kernel (plan.c) looks a kernels/ file up without the
     * context, in $CLGRAPH_KERNEL_DIR or the embedded copies: the context's
     * own kernel directory decides which text is built. (Generated sources
     * are no kernels/ file and stay as they are.) */
    if (source && source == clg_kernel_source(name_for_cache)) {
        source = clg_context_kernel_source(ctx, name_for_cache);
        if (!source)
            return clg_lower_fail(lw, CLG_ERR_BUILD, "kernel file %s is missing from %s",
                                  name_for_cache, ctx->kernel_dir ? ctx->kernel_dir : "the library");
    }
    for (int i = 0; i < n_args; i++) {
        const clg_dev_tensor *t = args[i].kind == CLG_KARG_TENSOR ? args[i].t : NULL;
        if (!t) continue;
        clg_status s = clg_check_elems(lw, &t->shape);
        if (s) return s;
        uint64_t end = (uint64_t)t->off + (uint64_t)clg_shape_count(&t->shape);
        if (end > KERNEL_POSITIONS)
            return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                                  "kernel %s, argument %d reaches element %llu of its buffer; "
                                  "kernels address at most 2^32 elements (uint offsets)",
                                  kernel, i, (unsigned long long)(end - 1));
    }
    for (int i = 0; i < n_args; i++)
        if (args[i].kind == CLG_KARG_TENSOR && !args[i].t->buf)
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: kernel %s, argument %d has no buffer",
                                  kernel, i);
    cl_program program;
    clg_status s = clg_program_get(ctx, name_for_cache, source, options, &program);
    if (s) return s;
    for (cl_uint d = 0; d < work_dim; d++)
        if (global[d] == 0) return CLG_OK; /* nothing to do: an empty launch is an error in OpenCL */
    cl_int err;
    cl_kernel k = clCreateKernel(program, kernel, &err);
    if (err != CL_SUCCESS)
        return clg_ctx_cl_fail(ctx, err, "clCreateKernel", "node %s (%s): kernel %s in %s",
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op),
                               kernel, name_for_cache);
    cl_uint arg = 0;
    for (int i = 0; i < n_args && err == CL_SUCCESS; i++) {
        const clg_karg *a = &args[i];
        if (a->kind == CLG_KARG_TENSOR) {
            cl_uint off = (cl_uint)a->t->off; /* checked above */
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
                               lw->g->nodes[lw->node].name, clg_op_name(lw->g->nodes[lw->node].op),
                               kernel, arg ? arg - 1 : 0);
    }
    clg_step *st = clg_plan_new_step(lw);
    if (!st) {
        clReleaseKernel(k);
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory planning the node");
    }
    st->kind = CLG_STEP_KERNEL;
    st->kernel = k;
    st->work_dim = work_dim;
    for (cl_uint d = 0; d < work_dim; d++) st->global[d] = global[d];
    /* A fixed work-group shape for padded grids: PoCL compiles a kernel
     * once per work-group size it sees (about 30 ms each, cold), so letting
     * it choose per global size multiplies compilations by the number of
     * distinct shapes in a model. */
    size_t max_wg = 0;
    if (local) {
        for (cl_uint d = 0; d < work_dim; d++) st->local[d] = local[d];
    } else if (global[0] % CLG_GRID_MULTIPLE == 0 &&
        clGetKernelWorkGroupInfo(k, lw->ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg, &max_wg,
                                 NULL) == CL_SUCCESS &&
        max_wg >= CLG_GRID_MULTIPLE) {
        st->local[0] = CLG_GRID_MULTIPLE;
        for (cl_uint d = 1; d < work_dim; d++) st->local[d] = 1;
    }
    lw->plan->n_steps++;
    return CLG_OK;
}
