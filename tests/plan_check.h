/* Plans built directly (clg_plan_build) for tests that look at a plan's
 * insides: its decisions, scratch requests and memory. */
#ifndef CLG_TEST_PLAN_CHECK_H
#define CLG_TEST_PLAN_CHECK_H

#include "plan.h"

/* A plan of g at batch on ctx, over a zero-filled weights buffer (the plan
 * is looked at, never run; building it may pack constant weights). Fails
 * the test with the context's message when it cannot be built. */
typedef struct test_plan {
    clg_plan plan;
    cl_mem weights;
    size_t *const_off;
} test_plan;

void test_plan_build(test_plan *tp, clg_context *ctx, clg_graph *g, int64_t batch);
void test_plan_free(test_plan *tp);

#endif
