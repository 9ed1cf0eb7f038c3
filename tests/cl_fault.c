/* OpenCL fault injection: see cl_fault.h. Test code only, never part of
 * the library.
 *
 * A failing call does not reach the driver, as the specification says of a
 * call that returns an error, with two exceptions: clFinish and
 * clWaitForEvents wait for the real queue first and then report the error.
 * A failing wait whose commands might still run would let the driver write
 * into host memory the caller has already freed, a hazard no caller can
 * avoid; what a caller can get wrong is what it does with the error. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_fault.h"

/* calls: counted atomically, since clgraph builds programs on several
 * threads at once (clBuildProgram). */
static long armed;
static _Atomic long calls;
static cl_fault_scope scope;
static const char *armed_name; /* count only this entry point's calls; NULL: all in scope */
static const char *fired_call, *fired_error;
static char fired_caller[256];
static unsigned long fired_param; /* the query of a clGet*Info call that failed */
static cl_fault_live live;

void cl_fault_arm(long k, cl_fault_scope s)
{
    armed = k;
    calls = 0;
    scope = s;
    armed_name = NULL;
    fired_call = fired_error = NULL;
    fired_caller[0] = '\0';
    fired_param = 0;
}

void cl_fault_arm_named(const char *call, long n)
{
    cl_fault_arm(n, CL_FAULT_ALL);
    armed_name = call;
}

void cl_fault_disarm(void) { armed = 0; }

long cl_fault_calls(void) { return calls; }

unsigned long cl_fault_fired_query(void) { return fired_param; }

bool cl_fault_fired(const char **call, const char **error, const char **caller)
{
    if (caller) *caller = fired_caller;
    if (call) *call = fired_call;
    if (error) *error = fired_error;
    return fired_call != NULL;
}

cl_fault_live cl_fault_live_objects(void) { return live; }

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "cl_fault: no %s behind the wrapper\n", name);
        abort(); /* test code: nothing useful can happen without the real call */
    }
    return f;
}

/* The real entry point, looked up once. */
#define REAL(name)                                  \
    static __typeof__(&name) real_;                 \
    if (!real_) real_ = (__typeof__(&name))next(#name)

/* Counts the call (when in scope) and says whether it is the one to fail;
 * from is the caller's address, for the name of its library. */
static bool fail_here(bool setup, const char *call, const char *error, void *from, unsigned long param)
{
    if (scope == CL_FAULT_SETUP && !setup) return false;
    if (armed_name && strcmp(call, armed_name) != 0) return false;
    if (atomic_fetch_add(&calls, 1) + 1 != armed) return false;
    fired_call = call;
    fired_error = error;
    fired_param = param;
    Dl_info info;
    snprintf(fired_caller, sizeof fired_caller, "%s",
             dladdr(from, &info) && info.dli_fname ? info.dli_fname : "?");
    return true;
}

#define FAIL(setup, call, err) \
    (fail_here(setup, call, #err, __builtin_return_address(0), 0) ? (err) : CL_SUCCESS)
/* The same for a query, recording which. */
#define FAIL_QUERY(setup, call, err, what) \
    (fail_here(setup, call, #err, __builtin_return_address(0), (unsigned long)(what)) ? (err) : CL_SUCCESS)

/* ---------------------------------------------------------------- platforms, devices, contexts, queues */

cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *platforms, cl_uint *count)
{
    REAL(clGetPlatformIDs);
    cl_int e = FAIL(true, "clGetPlatformIDs", CL_OUT_OF_HOST_MEMORY);
    return e ? e : real_(n, platforms, count);
}

cl_int clGetPlatformInfo(cl_platform_id p, cl_platform_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetPlatformInfo);
    cl_int e = FAIL_QUERY(true, "clGetPlatformInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(p, what, size, value, size_ret);
}

cl_int clGetDeviceIDs(cl_platform_id p, cl_device_type type, cl_uint n, cl_device_id *devices, cl_uint *count)
{
    REAL(clGetDeviceIDs);
    cl_int e = FAIL(true, "clGetDeviceIDs", CL_OUT_OF_RESOURCES);
    return e ? e : real_(p, type, n, devices, count);
}

cl_int clGetDeviceInfo(cl_device_id d, cl_device_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetDeviceInfo);
    cl_int e = FAIL_QUERY(true, "clGetDeviceInfo", CL_OUT_OF_RESOURCES, what);
    return e ? e : real_(d, what, size, value, size_ret);
}

cl_context clCreateContext(const cl_context_properties *props, cl_uint n, const cl_device_id *devices,
                           void(CL_CALLBACK *notify)(const char *, const void *, size_t, void *), void *user,
                           cl_int *err)
{
    REAL(clCreateContext);
    cl_int e = FAIL(true, "clCreateContext", CL_OUT_OF_HOST_MEMORY);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_context c = real_(props, n, devices, notify, user, err);
    if (c) live.contexts++;
    return c;
}

cl_int clRetainContext(cl_context c)
{
    REAL(clRetainContext);
    cl_int e = real_(c);
    if (!e) live.contexts++;
    return e;
}

cl_int clReleaseContext(cl_context c)
{
    REAL(clReleaseContext);
    cl_int e = real_(c);
    if (!e) live.contexts--;
    return e;
}

cl_command_queue clCreateCommandQueue(cl_context c, cl_device_id d, cl_command_queue_properties props, cl_int *err)
{
    REAL(clCreateCommandQueue);
    cl_int e = FAIL(true, "clCreateCommandQueue", CL_OUT_OF_RESOURCES);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_command_queue q = real_(c, d, props, err);
    if (q) live.queues++;
    return q;
}

cl_int clRetainCommandQueue(cl_command_queue q)
{
    REAL(clRetainCommandQueue);
    cl_int e = real_(q);
    if (!e) live.queues++;
    return e;
}

cl_int clReleaseCommandQueue(cl_command_queue q)
{
    REAL(clReleaseCommandQueue);
    cl_int e = real_(q);
    if (!e) live.queues--;
    return e;
}

cl_int clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info what, size_t size, void *value,
                             size_t *size_ret)
{
    REAL(clGetCommandQueueInfo);
    cl_int e = FAIL_QUERY(false, "clGetCommandQueueInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(q, what, size, value, size_ret);
}

/* ---------------------------------------------------------------- buffers */

cl_mem clCreateBuffer(cl_context c, cl_mem_flags flags, size_t size, void *host, cl_int *err)
{
    REAL(clCreateBuffer);
    /* Both errors a driver gives for memory it cannot find, alternately. */
    cl_int e = FAIL(false, "clCreateBuffer", CL_MEM_OBJECT_ALLOCATION_FAILURE);
    if (e && calls % 2 == 0) {
        fired_error = "CL_OUT_OF_HOST_MEMORY";
        e = CL_OUT_OF_HOST_MEMORY;
    }
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_mem m = real_(c, flags, size, host, err);
    if (m) live.buffers++;
    return m;
}

cl_int clRetainMemObject(cl_mem m)
{
    REAL(clRetainMemObject);
    cl_int e = real_(m);
    if (!e) live.buffers++;
    return e;
}

cl_int clReleaseMemObject(cl_mem m)
{
    REAL(clReleaseMemObject);
    cl_int e = real_(m);
    if (!e) live.buffers--;
    return e;
}

cl_int clGetMemObjectInfo(cl_mem m, cl_mem_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetMemObjectInfo);
    cl_int e = FAIL_QUERY(false, "clGetMemObjectInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(m, what, size, value, size_ret);
}

/* ---------------------------------------------------------------- programs and kernels */

cl_program clCreateProgramWithSource(cl_context c, cl_uint n, const char **strings, const size_t *lengths,
                                     cl_int *err)
{
    REAL(clCreateProgramWithSource);
    cl_int e = FAIL(true, "clCreateProgramWithSource", CL_OUT_OF_HOST_MEMORY);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_program p = real_(c, n, strings, lengths, err);
    if (p) live.programs++;
    return p;
}

cl_program clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *devices, const size_t *lengths,
                                     const unsigned char **binaries, cl_int *status, cl_int *err)
{
    REAL(clCreateProgramWithBinary);
    cl_int e = FAIL(true, "clCreateProgramWithBinary", CL_OUT_OF_HOST_MEMORY);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_program p = real_(c, n, devices, lengths, binaries, status, err);
    if (p) live.programs++;
    return p;
}

cl_int clRetainProgram(cl_program p)
{
    REAL(clRetainProgram);
    cl_int e = real_(p);
    if (!e) live.programs++;
    return e;
}

cl_int clReleaseProgram(cl_program p)
{
    REAL(clReleaseProgram);
    cl_int e = real_(p);
    if (!e) live.programs--;
    return e;
}

cl_int clBuildProgram(cl_program p, cl_uint n, const cl_device_id *devices, const char *options,
                      void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    REAL(clBuildProgram);
    cl_int e = FAIL(true, "clBuildProgram", CL_BUILD_PROGRAM_FAILURE);
    return e ? e : real_(p, n, devices, options, notify, user);
}

cl_int clGetProgramInfo(cl_program p, cl_program_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetProgramInfo);
    cl_int e = FAIL_QUERY(true, "clGetProgramInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(p, what, size, value, size_ret);
}

cl_int clGetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info what, size_t size, void *value,
                             size_t *size_ret)
{
    REAL(clGetProgramBuildInfo);
    cl_int e = FAIL_QUERY(true, "clGetProgramBuildInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(p, d, what, size, value, size_ret);
}

cl_kernel clCreateKernel(cl_program p, const char *name, cl_int *err)
{
    REAL(clCreateKernel);
    cl_int e = FAIL(false, "clCreateKernel", CL_OUT_OF_RESOURCES);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_kernel k = real_(p, name, err);
    if (k) live.kernels++;
    return k;
}

cl_int clRetainKernel(cl_kernel k)
{
    REAL(clRetainKernel);
    cl_int e = real_(k);
    if (!e) live.kernels++;
    return e;
}

cl_int clReleaseKernel(cl_kernel k)
{
    REAL(clReleaseKernel);
    cl_int e = real_(k);
    if (!e) live.kernels--;
    return e;
}

cl_int clGetKernelInfo(cl_kernel k, cl_kernel_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetKernelInfo);
    cl_int e = FAIL_QUERY(false, "clGetKernelInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(k, what, size, value, size_ret);
}

cl_int clGetKernelWorkGroupInfo(cl_kernel k, cl_device_id d, cl_kernel_work_group_info what, size_t size,
                                void *value, size_t *size_ret)
{
    REAL(clGetKernelWorkGroupInfo);
    cl_int e = FAIL_QUERY(false, "clGetKernelWorkGroupInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(k, d, what, size, value, size_ret);
}

cl_int clSetKernelArg(cl_kernel k, cl_uint index, size_t size, const void *value)
{
    REAL(clSetKernelArg);
    cl_int e = FAIL(false, "clSetKernelArg", CL_OUT_OF_RESOURCES);
    return e ? e : real_(k, index, size, value);
}

/* ---------------------------------------------------------------- commands and events */

static void count_event(cl_int e, cl_event *event)
{
    if (!e && event && *event) live.events++;
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint n_wait, const cl_event *wait,
                              cl_event *event)
{
    REAL(clEnqueueNDRangeKernel);
    cl_int e = FAIL(false, "clEnqueueNDRangeKernel", CL_OUT_OF_RESOURCES);
    if (e) return e;
    e = real_(q, k, dims, offset, global, local, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset, size_t size, void *host,
                           cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueReadBuffer);
    cl_int e = FAIL(false, "clEnqueueReadBuffer", CL_OUT_OF_RESOURCES);
    if (e) return e;
    e = real_(q, m, blocking, offset, size, host, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t offset, size_t size,
                            const void *host, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueWriteBuffer);
    cl_int e = FAIL(false, "clEnqueueWriteBuffer", CL_MEM_OBJECT_ALLOCATION_FAILURE);
    if (e) return e;
    e = real_(q, m, blocking, offset, size, host, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_off, size_t dst_off, size_t size,
                           cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueCopyBuffer);
    cl_int e = FAIL(false, "clEnqueueCopyBuffer", CL_OUT_OF_RESOURCES);
    if (e) return e;
    e = real_(q, src, dst, src_off, dst_off, size, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem m, const void *pattern, size_t pattern_size, size_t offset,
                           size_t size, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueFillBuffer);
    cl_int e = FAIL(false, "clEnqueueFillBuffer", CL_MEM_OBJECT_ALLOCATION_FAILURE);
    if (e) return e;
    e = real_(q, m, pattern, pattern_size, offset, size, n_wait, wait, event);
    count_event(e, event);
    return e;
}

/* clg_model_run_buffers: the caller's wait list (and the gate) held in
 * front of the run by a barrier, and the run's event out as a marker. */
cl_int clEnqueueBarrierWithWaitList(cl_command_queue q, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueBarrierWithWaitList);
    cl_int e = FAIL(false, "clEnqueueBarrierWithWaitList", CL_OUT_OF_RESOURCES);
    if (e) return e;
    e = real_(q, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clEnqueueMarkerWithWaitList(cl_command_queue q, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    REAL(clEnqueueMarkerWithWaitList);
    cl_int e = FAIL(false, "clEnqueueMarkerWithWaitList", CL_OUT_OF_RESOURCES);
    if (e) return e;
    e = real_(q, n_wait, wait, event);
    count_event(e, event);
    return e;
}

cl_int clFinish(cl_command_queue q)
{
    REAL(clFinish);
    cl_int e = real_(q);
    cl_int f = FAIL(false, "clFinish", CL_OUT_OF_RESOURCES);
    return f ? f : e;
}

cl_int clWaitForEvents(cl_uint n, const cl_event *events)
{
    REAL(clWaitForEvents);
    cl_int e = real_(n, events);
    cl_int f = FAIL(false, "clWaitForEvents", CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    return f ? f : e;
}

/* clg_model_run's gate: the chain's first command waits on it until the
 * whole chain is queued. */
cl_event clCreateUserEvent(cl_context c, cl_int *err)
{
    REAL(clCreateUserEvent);
    cl_int e = FAIL(false, "clCreateUserEvent", CL_OUT_OF_HOST_MEMORY);
    if (e) {
        if (err) *err = e;
        return NULL;
    }
    cl_event ev = real_(c, err);
    if (ev) live.events++;
    return ev;
}

/* Opens the gate first, then fails: a gate left shut would hold the
 * commands queued behind it forever, which no driver error does. */
cl_int clSetUserEventStatus(cl_event ev, cl_int status)
{
    REAL(clSetUserEventStatus);
    cl_int e = real_(ev, status);
    cl_int f = FAIL(false, "clSetUserEventStatus", CL_OUT_OF_RESOURCES);
    return f ? f : e;
}

cl_int clRetainEvent(cl_event ev)
{
    REAL(clRetainEvent);
    cl_int e = real_(ev);
    if (!e) live.events++;
    return e;
}

cl_int clReleaseEvent(cl_event ev)
{
    REAL(clReleaseEvent);
    cl_int e = real_(ev);
    if (!e) live.events--;
    return e;
}

cl_int clGetEventProfilingInfo(cl_event ev, cl_profiling_info what, size_t size, void *value, size_t *size_ret)
{
    REAL(clGetEventProfilingInfo);
    cl_int e = FAIL_QUERY(false, "clGetEventProfilingInfo", CL_OUT_OF_HOST_MEMORY, what);
    return e ? e : real_(ev, what, size, value, size_ret);
}
