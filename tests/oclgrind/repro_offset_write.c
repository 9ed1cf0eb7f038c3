/* Oclgrind 21.10 bug, without clgraph: under --uninitialized, a host write
 * at a non-zero offset makes the whole buffer read as uninitialised. Every
 * element of x is written (in two halves), yet `oclgrind --uninitialized
 * ./repro_offset_write` reports "Uninitialized value written to global
 * memory" at y[0] = s. With one write of all 8 floats it reports nothing.
 * Cause: Uninitialized::hostMemoryStore reallocates the buffer's shadow with
 * the size of the write and the clean shadow stored at the write's offset
 * falls outside it. tests/test_oclgrind.sh expects the report without
 * tests/oclgrind_shim.c and none with it. */
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
    cl_mem x = clCreateBuffer(c, CL_MEM_READ_ONLY, sizeof host, NULL, NULL);
    cl_mem y = clCreateBuffer(c, CL_MEM_WRITE_ONLY, sizeof out, NULL, NULL);
    /* all 8 floats written, in two halves: the second at offset 16 bytes */
    clEnqueueWriteBuffer(q, x, CL_TRUE, 0, 4 * sizeof(float), host, 0, NULL, NULL);
    clEnqueueWriteBuffer(q, x, CL_TRUE, 4 * sizeof(float), 4 * sizeof(float), host + 4, 0, NULL, NULL);
    clSetKernelArg(k, 0, sizeof x, &x);
    clSetKernelArg(k, 1, sizeof y, &y);
    size_t one = 1;
    clEnqueueNDRangeKernel(q, k, 1, NULL, &one, &one, 0, NULL, NULL);
    clEnqueueReadBuffer(q, y, CL_TRUE, 0, sizeof out, &out, 0, NULL, NULL);
    printf("sum = %g (expected 36)\n", out);
    return 0;
}
