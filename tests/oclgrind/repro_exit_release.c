/* Oclgrind 21.10 bug, without clgraph: an OpenCL call made while the
 * process exits, after thread-local destructors ran, writes into freed
 * memory. liboclgrind-rt.so keeps a thread_local std::stack of API call
 * names, allocated by the first call and destroyed by __call_tls_dtors at
 * the start of exit(); atexit handlers and library destructors run after
 * it. CLBlast releases its cached programs from a static destructor, so a
 * clgraph run that used CLBlast does this on every exit under Oclgrind:
 *
 *   valgrind --trace-children=yes oclgrind ./repro_exit_release
 *
 * shows "Invalid write of size 8 at clReleaseContext ... inside a block
 * ... free'd by std::stack<...>::~stack() ... __call_tls_dtors". Usually
 * nothing else shows; when the freed block has been reused, glibc aborts
 * ("malloc(): unsorted double linked list corrupted"). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>

static cl_context context;

static void release_at_exit(void)
{
    if (context) clReleaseContext(context);
}

int main(void)
{
    /* registered before any OpenCL call, like CLBlast's static cache */
    atexit(release_at_exit);
    cl_platform_id p;
    cl_device_id d;
    if (clGetPlatformIDs(1, &p, NULL) != CL_SUCCESS) return 1;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS) return 1;
    context = clCreateContext(NULL, 1, &d, NULL, NULL, NULL);
    if (!context) return 1;
    printf("context created; released at exit\n");
    return 0;
}
