/* OpenCL fault injection for tests (tests/cl_fault.c): the OpenCL entry
 * points clgraph and CLBlast call, replaced by wrappers that count the calls
 * and make the k-th one fail with an error that call really returns
 * (CL_MEM_OBJECT_ALLOCATION_FAILURE from clCreateBuffer, CL_OUT_OF_RESOURCES
 * from clEnqueueNDRangeKernel, CL_BUILD_PROGRAM_FAILURE from clBuildProgram,
 * ...), the way SQLite's and Lua's test allocators fail the k-th malloc.
 * They also count the OpenCL objects created and released, so a test can
 * tell that a failed call left none behind.
 *
 * The wrappers are linked into the test executable and exported from it
 * (CMake's ENABLE_EXPORTS), so they interpose on libOpenCL.so for every
 * caller in the process, CLBlast's shared library included, exactly as an
 * LD_PRELOAD library would, and work unchanged in the ASan build. */
#ifndef CLG_TEST_CL_FAULT_H
#define CLG_TEST_CL_FAULT_H

#include <stdbool.h>

/* Which calls count: every wrapped call but the releases and retains
 * (which never fail), or only those that make contexts, queues and
 * programs (a sweep over program building that stays short). */
typedef enum { CL_FAULT_ALL, CL_FAULT_SETUP } cl_fault_scope;

/* Starts counting calls afresh: the k-th call in scope from now fails
 * (k = 0: none does). */
void cl_fault_arm(long k, cl_fault_scope scope);
/* As cl_fault_arm, counting only the calls of the entry point named
 * `call` ("clBuildProgram"): its n-th call from now fails. */
void cl_fault_arm_named(const char *call, long n);
/* No call fails from now on; what cl_fault_calls and cl_fault_fired
 * report stays. */
void cl_fault_disarm(void);
/* Calls in scope since cl_fault_arm. */
long cl_fault_calls(void);
/* Whether the armed call has failed, and if so its name, the name of the
 * error it returned ("clCreateBuffer", "CL_MEM_OBJECT_ALLOCATION_FAILURE")
 * and the file of the caller (the test itself, or "libclblast.so.1"); any
 * pointer may be NULL. */
bool cl_fault_fired(const char **call, const char **error, const char **caller);
/* For a clGet*Info call that failed, what it asked (CL_KERNEL_WORK_GROUP_SIZE,
 * ...); else 0. */
unsigned long cl_fault_fired_query(void);

/* OpenCL objects alive that were created through the wrappers (created or
 * retained, minus released), by kind. */
typedef struct cl_fault_live {
    long buffers, kernels, programs, events, queues, contexts;
} cl_fault_live;
cl_fault_live cl_fault_live_objects(void);

#endif
