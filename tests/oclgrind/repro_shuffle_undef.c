/* Oclgrind 21.10 bug, without clgraph: its --uninitialized checker crashes
 * (SIGSEGV in oclgrind::Uninitialized::instructionExecuted, a memcpy) on
 * a shufflevector whose mask has undefined elements. clang emits one at -O0
 * for two swizzles joined into a wider vector, (float8)(lo.even, hi.odd):
 * each float4 half is first widened to 8 lanes, 4 of them undef. The
 * checker seems to take an undef lane's index as a real one and copies
 * shadow bytes from outside the operand, so whether it crashes depends on
 * what lies there (every run of 6 crashed here; the kernel's results are
 * right when it does not).
 *
 *   oclgrind --uninitialized ./oclgrind_repro_shuffle_undef
 *
 * kernels/conv_depthwise.cl writes the same value component by component
 * (clg_dw_even), which has no undef lanes. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

static const char *source =
    "__kernel void even_odd(__global const float8 *x, __global float8 *y)\n"
    "{\n"
    "    int i = get_global_id(0);\n"
    "    float8 lo = x[2 * i], hi = x[2 * i + 1];\n"
    "    y[i] = (float8)(lo.even, hi.odd);\n"
    "}\n";

enum { ITEMS = 4096 };

int main(void)
{
    static float x[ITEMS * 16], y[ITEMS * 8];
    for (int i = 0; i < ITEMS * 16; i++) x[i] = (float)i;
    cl_platform_id p;
    cl_device_id d;
    cl_int err;
    if (clGetPlatformIDs(1, &p, NULL) != CL_SUCCESS) return 1;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS) return 1;
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    if (!c) return 1;
    cl_command_queue q = clCreateCommandQueue(c, d, 0, &err);
    cl_program prog = clCreateProgramWithSource(c, 1, &source, NULL, &err);
    /* unoptimised, as tests/test_oclgrind.sh builds clgraph's kernels */
    if (clBuildProgram(prog, 1, &d, "-cl-opt-disable", NULL, NULL) != CL_SUCCESS) return 1;
    cl_kernel k = clCreateKernel(prog, "even_odd", &err);
    cl_mem bx = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    cl_mem by = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof y, NULL, &err);
    clSetKernelArg(k, 0, sizeof bx, &bx);
    clSetKernelArg(k, 1, sizeof by, &by);
    size_t global = ITEMS;
    if (clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL) != CL_SUCCESS) return 1;
    if (clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL) != CL_SUCCESS) return 1;
    int wrong = 0;
    for (int i = 0; i < ITEMS; i++)
        for (int l = 0; l < 8; l++)
            wrong += y[i * 8 + l] != x[i * 16 + (l < 4 ? 2 * l : 8 + 2 * (l - 4) + 1)];
    printf("%d of %d values wrong\n", wrong, ITEMS * 8);
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(c);
    return wrong != 0;
}
