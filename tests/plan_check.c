#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "plan_check.h"

void test_plan_build(test_plan *tp, clg_context *ctx, clg_graph *g, int64_t batch)
{
    tp->const_off = calloc((size_t)g->n_nodes + 1, sizeof *tp->const_off);
    assert_non_null(tp->const_off);
    size_t total = 1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == CLG_OP_CONSTANT) {
            tp->const_off[i] = total;
            total += (size_t)clg_shape_count(&g->nodes[i].shape);
        }
    cl_int err;
    tp->weights = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, total * sizeof(float), NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    float zero = 0.0f;
    assert_int_equal(clEnqueueFillBuffer(ctx->queue, tp->weights, &zero, sizeof zero, 0, total * sizeof(float), 0,
                                         NULL, NULL), CL_SUCCESS);
    int64_t sizes[CLG_MAX_SYMBOLS];
    for (int k = 0; k < CLG_MAX_SYMBOLS; k++) sizes[k] = -1;
    sizes[0] = batch;
    if (clg_plan_build(&tp->plan, ctx, g, tp->weights, tp->const_off, sizes, CLG_PRECISION_FP32) != CLG_OK)
        fail_msg("plan: %s", clg_context_errmsg(ctx));
}

void test_plan_free(test_plan *tp)
{
    clg_context *ctx = tp->plan.ctx;
    clg_plan_free(&tp->plan);
    if (ctx) assert_int_equal(clFinish(ctx->queue), CL_SUCCESS);
    clReleaseMemObject(tp->weights);
    free(tp->const_off);
}
