/* A plan: every node of a graph lowered for one batch size to a list of
 * steps (kernel launches with their arguments already set, CLBlast GEMMs)
 * over device memory: one arena for activations, one buffer for weights. */
#ifndef CLG_PLAN_H
#define CLG_PLAN_H

#include "runtime.h"

typedef struct clg_plan {
    clg_context *ctx;
    int64_t batch;
    clg_step *steps;
    int n_steps, cap_steps;
    clg_dev_tensor *values; /* per node: where its output lives */
    cl_mem arena;           /* activations */
    size_t arena_elems;
    cl_mem *scratch;        /* per-node scratch buffers */
    int n_scratch, cap_scratch;
    size_t scratch_elems;
} clg_plan;

/* Lowers g at batch into plan. weights holds every constant, node i's at
 * const_off[i]. On failure the plan is left empty and ctx's message says
 * which node failed. */
CLG_INTERNAL clg_status clg_plan_build(clg_plan *plan, clg_context *ctx, clg_graph *g,
                                       cl_mem weights, const size_t *const_off, int64_t batch);
CLG_INTERNAL void clg_plan_free(clg_plan *plan);
/* Enqueues one step; event may be NULL. */
CLG_INTERNAL clg_status clg_plan_enqueue(clg_plan *plan, const clg_graph *g, const clg_step *step,
                                         cl_event *event);

#endif
