/* Oclgrind 21.10 bug, without clgraph: under --uninitialized, a buffer
 * that reuses a released buffer's slot inherits its shadow. x is never
 * written, yet `oclgrind --uninitialized ./repro_slot_reuse` reports
 * nothing (without the released buffer before it, it reports the
 * uninitialised store). Cause: the Uninitialized plugin has no
 * memoryDeallocated handler, and Memory reuses freed slots.
 * tests/test_oclgrind.sh expects no report without tests/oclgrind_shim.c
 * and one with it. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

static const char *src =
    "__kernel void sum(__global const float *x, __global float *y) {\n"
    "    float s = 0.0f;\n"
    "    for (int i = 0; i < 8; i++) s += x[i];\n"
    "    y[0] = s;\n"
    "}\n";

int main(void)
{
    cl_platform_id p;
    cl_device_id d;
    clGetPlatformIDs(1, &p, NULL);
    clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL);
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, NULL);
    cl_command_queue q = clCreateCommandQueue(c, d, 0, NULL);
    cl_program prog = clCreateProgramWithSource(c, 1, &src, NULL, NULL);
    clBuildProgram(prog, 1, &d, "", NULL, NULL);
    cl_kernel k = clCreateKernel(prog, "sum", NULL);
    float host[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out;
    cl_mem old = clCreateBuffer(c, CL_MEM_READ_ONLY, sizeof host, NULL, NULL);
    clEnqueueWriteBuffer(q, old, CL_TRUE, 0, sizeof host, host, 0, NULL, NULL);
    clReleaseMemObject(old);
    /* x takes old's slot and is never written: reading it is a real bug */
    cl_mem x = clCreateBuffer(c, CL_MEM_READ_ONLY, sizeof host, NULL, NULL);
    cl_mem y = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof out, NULL, NULL);
    clSetKernelArg(k, 0, sizeof x, &x);
    clSetKernelArg(k, 1, sizeof y, &y);
    size_t one = 1;
    clEnqueueNDRangeKernel(q, k, 1, NULL, &one, &one, 0, NULL, NULL);
    clEnqueueReadBuffer(q, y, CL_TRUE, 0, sizeof out, &out, 0, NULL, NULL);
    printf("sum = %g (x was never written)\n", out);
    return 0;
}
