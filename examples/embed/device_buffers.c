/* A framework-style caller that keeps its tensors in OpenCL buffers: it
 * creates its own context, queue and buffers, lends the context and queue
 * to clgraph (clg_context_create_borrowed), builds a small model with the
 * builder API (Dense + ReLU, then Dense), runs it on its buffers with no
 * host round trip (clg_model_run_buffers), chaining a kernel of its own
 * before the run and one after it through events, and checks the result
 * against clgraph's reference executor on the host.
 *
 * Build by hand against the shared library:
 *     cc -std=c11 -I include examples/embed/device_buffers.c -L build -lclgraph -lOpenCL \
 *        -Wl,-rpath,$PWD/build -o device_buffers && ./device_buffers
 * Exit status 0 when the device's result matches the reference, 1 when it
 * does not, 2 when something failed on the way (the message says what). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgraph.h"

enum { BATCH = 8, IN = 32, HIDDEN = 64, OUT = 10 };

/* The framework's own kernels: one prepares the input, one uses the output. */
static const char framework_source[] =
    "__kernel void scale(__global float *x, float k) { x[get_global_id(0)] *= k; }\n"
    "__kernel void shift(__global float *x, float k) { x[get_global_id(0)] += k; }\n";

static float uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* x[N, IN] -> Gemm(W1^T, b1) -> Relu -> Gemm(W2^T, b2) -> y[N, OUT]. */
static clg_status build_model(clg_graph *g)
{
    static float w1[HIDDEN * IN], b1[HIDDEN], w2[OUT * HIDDEN], b2[OUT];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++) w1[i] = 0.2f * uniform(&seed);
    for (size_t i = 0; i < sizeof b1 / sizeof *b1; i++) b1[i] = 0.1f * uniform(&seed);
    for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = 0.2f * uniform(&seed);
    for (size_t i = 0; i < sizeof b2 / sizeof *b2; i++) b2[i] = 0.1f * uniform(&seed);
    const int64_t x_dims[2] = {CLG_BATCH, IN}, w1_dims[2] = {HIDDEN, IN}, b1_dims[1] = {HIDDEN};
    const int64_t w2_dims[2] = {OUT, HIDDEN}, b2_dims[1] = {OUT};
    clg_attr trans_b = {"transB", CLG_ATTR_INT, 0, {1}, 0.0f, NULL};
    const char *dense1[3] = {"x", "w1", "b1"}, *relu[1] = {"d1"}, *dense2[3] = {"h", "w2", "b2"};
    clg_status s;
    if ((s = clg_graph_add_input(g, "x", 2, x_dims)) ||
        (s = clg_graph_add_constant(g, "w1", 2, w1_dims, w1)) ||
        (s = clg_graph_add_constant(g, "b1", 1, b1_dims, b1)) ||
        (s = clg_graph_add_node(g, CLG_OP_GEMM, "d1", dense1, 3, &trans_b, 1)) ||
        (s = clg_graph_add_node(g, CLG_OP_RELU, "h", relu, 1, NULL, 0)) ||
        (s = clg_graph_add_constant(g, "w2", 2, w2_dims, w2)) ||
        (s = clg_graph_add_constant(g, "b2", 1, b2_dims, b2)) ||
        (s = clg_graph_add_node(g, CLG_OP_GEMM, "y", dense2, 3, &trans_b, 1)) ||
        (s = clg_graph_add_output(g, "y")))
        return s;
    return CLG_OK;
}

static int cl_check(cl_int err, const char *call)
{
    if (err == CL_SUCCESS) return 0;
    fprintf(stderr, "%s failed: %d\n", call, (int)err);
    return 1;
}

static cl_int launch(cl_command_queue q, cl_kernel k, cl_mem x, float v, size_t n, cl_uint n_wait,
                     const cl_event *wait, cl_event *done)
{
    cl_int err = clSetKernelArg(k, 0, sizeof x, &x);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof v, &v);
    if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, n_wait, wait, done);
    return err;
}

int main(void)
{
    int rc = 2;
    cl_context cl = NULL;
    cl_command_queue queue = NULL;
    cl_program program = NULL;
    cl_kernel scale = NULL, shift = NULL;
    cl_mem x_buf = NULL, y_buf = NULL;
    cl_event ran = NULL, after = NULL;
    clg_graph *g = NULL;
    clg_context *ctx = NULL;
    clg_model *m = NULL;
    cl_int err;

    /* The framework's OpenCL setup: the first device of the first platform. */
    cl_platform_id platform;
    cl_device_id device;
    cl_uint n = 0;
    if (clGetPlatformIDs(1, &platform, &n) != CL_SUCCESS || n == 0 ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, &n) != CL_SUCCESS || n == 0) {
        fprintf(stderr, "no OpenCL device\n");
        return 2;
    }
    cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (cl_check(err, "clCreateContext")) goto done;
    queue = clCreateCommandQueue(cl, device, 0, &err);
    if (cl_check(err, "clCreateCommandQueue")) goto done;
    const char *src = framework_source;
    program = clCreateProgramWithSource(cl, 1, &src, NULL, &err);
    if (cl_check(err, "clCreateProgramWithSource") ||
        cl_check(clBuildProgram(program, 1, &device, NULL, NULL, NULL), "clBuildProgram"))
        goto done;
    scale = clCreateKernel(program, "scale", &err);
    if (cl_check(err, "clCreateKernel")) goto done;
    shift = clCreateKernel(program, "shift", &err);
    if (cl_check(err, "clCreateKernel")) goto done;

    static float x[BATCH * IN], y[BATCH * OUT], want[BATCH * OUT];
    unsigned seed = 1;
    for (int i = 0; i < BATCH * IN; i++) x[i] = uniform(&seed);
    x_buf = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    if (cl_check(err, "clCreateBuffer")) goto done;
    y_buf = clCreateBuffer(cl, CL_MEM_READ_WRITE, sizeof y, NULL, &err);
    if (cl_check(err, "clCreateBuffer")) goto done;

    /* clgraph borrows the framework's context and queue. */
    if (clg_graph_create(&g, NULL, NULL) != CLG_OK) goto done;
    if (build_model(g) != CLG_OK) {
        fprintf(stderr, "building the model: %s\n", clg_graph_errmsg(g));
        goto done;
    }
    if (clg_context_create_borrowed(&ctx, cl, queue, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_context_errmsg(ctx));
        goto done;
    }
    if (clg_model_create(&m, ctx, g) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_model_errmsg(m));
        goto done;
    }

    /* The chain, with no host wait: the framework halves x on its queue,
     * the model runs on the same queue (in order, so after it), and the
     * framework's next kernel adds 1 to y once the run's event completes. */
    if (cl_check(launch(queue, scale, x_buf, 0.5f, BATCH * IN, 0, NULL, NULL), "scale")) goto done;
    clg_buffer in = {x_buf, 0, 2, {BATCH, IN}, CLG_DTYPE_F32};
    clg_buffer out = {y_buf, 0, 0, {0}, CLG_DTYPE_F32};
    if (clg_model_run_buffers(m, &in, 1, &out, 1, NULL, 0, &ran) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_model_errmsg(m));
        goto done;
    }
    if (cl_check(launch(queue, shift, y_buf, 1.0f, BATCH * OUT, 1, &ran, &after), "shift")) goto done;
    if (cl_check(clEnqueueReadBuffer(queue, y_buf, CL_TRUE, 0, sizeof y, y, 1, &after, NULL),
                 "clEnqueueReadBuffer"))
        goto done;

    /* The same computation on the host: the reference executor on x / 2,
     * plus 1. */
    static float half[BATCH * IN];
    for (int i = 0; i < BATCH * IN; i++) half[i] = 0.5f * x[i];
    clg_tensor rx = {half, 2, {BATCH, IN}, CLG_DTYPE_F32};
    clg_tensor ry = {want, 0, {0}, CLG_DTYPE_F32};
    if (clg_graph_run_reference(g, &rx, 1, &ry, 1) != CLG_OK) {
        fprintf(stderr, "%s\n", clg_graph_errmsg(g));
        goto done;
    }
    double worst = 0, scale_ref = 1e-6;
    for (int i = 0; i < BATCH * OUT; i++) {
        want[i] += 1.0f;
        if (fabs(want[i]) > scale_ref) scale_ref = fabs(want[i]);
        double d = fabs((double)y[i] - want[i]);
        if (!(d <= worst)) worst = d;
    }
    double rel = worst / scale_ref;
    printf("device_buffers: y[%lld, %lld] on %s, largest difference from the reference %.3g (relative %.3g)\n",
           (long long)out.dims[0], (long long)out.dims[1], "the framework's queue", worst, rel);
    rc = out.rank == 2 && out.dims[0] == BATCH && out.dims[1] == OUT && rel <= 1e-4 ? 0 : 1;
    if (rc) fprintf(stderr, "device_buffers: MISMATCH\n");

done:
    if (ran) clReleaseEvent(ran);
    if (after) clReleaseEvent(after);
    clg_model_destroy(m);
    clg_context_destroy(ctx);
    clg_graph_destroy(g);
    if (x_buf) clReleaseMemObject(x_buf);
    if (y_buf) clReleaseMemObject(y_buf);
    if (scale) clReleaseKernel(scale);
    if (shift) clReleaseKernel(shift);
    if (program) clReleaseProgram(program);
    if (queue) clReleaseCommandQueue(queue);
    if (cl) clReleaseContext(cl);
    return rc;
}
