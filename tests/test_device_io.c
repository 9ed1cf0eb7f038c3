/* clg_model_run_buffers: runs on OpenCL buffers the caller owns. Results
 * equal clg_model_run's (the same plan and kernels: bit for bit) and the
 * reference executor's, on the shared (owned) context and on a borrowed
 * context with the caller's own queue; a caller kernel before and after,
 * chained through the event out and the wait list with no host wait; every
 * error path names the input or output. Skips without an OpenCL device. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "device_check.h"
#include "models.h"
#include "runtime.h"

/* Two inputs, two outputs, one of them N-dependent through a GEMM. */
static const char two_io[] =
    "input x: f32[N, 8]\n"
    "input z: f32[N, 8]\n"
    "const w: f32[8, 4] = random(3, -1, 1)\n"
    "s = Add(x, z)\n"
    "h = MatMul(s, w)\n"
    "y = Tanh(h)\n"
    "output y\n"
    "output s\n";

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static void expect_in(const char *msg, const char *part)
{
    if (!strstr(msg, part)) fail_msg("message \"%s\" lacks \"%s\"", msg, part);
}

/* The largest |a - b| relative to the largest |b|. */
static double rel_error(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as worst */
    }
    return worst / scale;
}

static cl_mem make_buffer(cl_context c, size_t bytes, const void *init)
{
    cl_int err;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)init, &err);
    assert_int_equal(err, CL_SUCCESS);
    return m;
}

static void read_buffer(cl_command_queue q, cl_mem m, size_t offset, size_t bytes, void *into)
{
    assert_int_equal(clEnqueueReadBuffer(q, m, CL_TRUE, offset, bytes, into, 0, NULL, NULL), CL_SUCCESS);
}

/* Runs a graph of f32 inputs and outputs at batch through host tensors,
 * the reference and buffers (at byte offsets in_off and out_off, waiting
 * or through the event out), and checks that all three agree. */
static void check_graph(clg_context *ctx, const char *text, int64_t batch, size_t in_off, size_t out_off,
                        bool with_event, int host_runs_first)
{
    clg_graph *g = test_parse(text);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    assert_true(n_in <= 4 && n_out <= 4);
    clg_tensor in[4], host[4], ref[4];
    clg_buffer bin[4], bout[4];
    size_t in_count[4], out_count[4];
    for (int i = 0; i < n_in; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_input_info(g, i, NULL, &rank, dims), CLG_OK);
        size_t count = 1;
        for (int d = 0; d < rank; d++) {
            if (dims[d] == CLG_BATCH) dims[d] = batch;
            count *= (size_t)dims[d];
        }
        in_count[i] = count;
        in[i] = (clg_tensor){malloc(count * sizeof(float)), rank, {0}, CLG_DTYPE_F32};
        memcpy(in[i].dims, dims, sizeof dims);
        fill(in[i].data, count, 17u + (unsigned)i);
        char *bytes = calloc(1, in_off + count * sizeof(float));
        memcpy(bytes + in_off, in[i].data, count * sizeof(float));
        bin[i] = (clg_buffer){make_buffer(ctx->cl, in_off + count * sizeof(float), bytes), in_off, rank, {0},
                              CLG_DTYPE_F32};
        memcpy(bin[i].dims, dims, sizeof dims);
        free(bytes);
    }
    for (int i = 0; i < n_out; i++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_output_info(g, i, batch, NULL, &rank, dims), CLG_OK);
        size_t count = 1;
        for (int d = 0; d < rank; d++) count *= (size_t)dims[d];
        out_count[i] = count;
        host[i] = (clg_tensor){malloc(count * sizeof(float)), 0, {0}, CLG_DTYPE_F32};
        ref[i] = (clg_tensor){malloc(count * sizeof(float)), 0, {0}, CLG_DTYPE_F32};
        bout[i] = (clg_buffer){make_buffer(ctx->cl, out_off + count * sizeof(float), NULL), out_off, 0, {0},
                               CLG_DTYPE_F32};
    }
    for (int r = 0; r < host_runs_first; r++)
        assert_int_equal(clg_model_run(m, in, n_in, host, n_out), CLG_OK);
    assert_int_equal(clg_model_run(m, in, n_in, host, n_out), CLG_OK);
    assert_int_equal(clg_graph_run_reference(g, in, n_in, ref, n_out), CLG_OK);
    cl_event done = NULL;
    clg_status s = clg_model_run_buffers(m, bin, n_in, bout, n_out, NULL, 0, with_event ? &done : NULL);
    if (s) fail_msg("clg_model_run_buffers: %s", clg_model_errmsg(m));
    assert_string_equal(clg_model_errmsg(m), "");
    if (with_event) {
        assert_non_null(done);
        assert_int_equal(clWaitForEvents(1, &done), CL_SUCCESS);
        clReleaseEvent(done);
    }
    for (int i = 0; i < n_out; i++) {
        assert_int_equal(bout[i].rank, host[i].rank);
        assert_memory_equal(bout[i].dims, host[i].dims, sizeof host[i].dims);
        float *got = malloc(out_count[i] * sizeof(float));
        read_buffer(ctx->queue, bout[i].mem, out_off, out_count[i] * sizeof(float), got);
        /* The same plan and kernels as the host run: the same bits. */
        assert_memory_equal(got, host[i].data, out_count[i] * sizeof(float));
        double e = rel_error(got, ref[i].data, out_count[i]);
        if (e > 1e-4) fail_msg("output %d: error %g against the reference", i, e);
        free(got);
    }
    for (int i = 0; i < n_in; i++) {
        /* The caller's inputs are read, never written. */
        float *back = malloc(in_count[i] * sizeof(float));
        read_buffer(ctx->queue, bin[i].mem, in_off, in_count[i] * sizeof(float), back);
        assert_memory_equal(back, in[i].data, in_count[i] * sizeof(float));
        free(back);
        free(in[i].data);
        clReleaseMemObject(bin[i].mem);
    }
    for (int i = 0; i < n_out; i++) {
        free(host[i].data);
        free(ref[i].data);
        clReleaseMemObject(bout[i].mem);
    }
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

static void test_buffers_equal_host_runs(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    char *mlp = model_residual_mlp(2, 32);
    char *cnn = model_small_resnet();
    check_graph(ctx, two_io, 3, 0, 0, false, 0);
    check_graph(ctx, two_io, 5, 20, 36, true, 0);
    check_graph(ctx, mlp, 7, 0, 4, false, 0);
    /* After the gate is decided (2 * 8 timed host runs), buffer runs use it. */
    check_graph(ctx, mlp, 1, 8, 0, true, 17);
    check_graph(ctx, cnn, 2, 4, 4, true, 0);
    free(mlp);
    free(cnn);
}

/* ---------------------------------------------------------------- a framework's queue */

static const char caller_kernels[] =
    "__kernel void scale(__global float *x, float k) { x[get_global_id(0)] *= k; }\n"
    "__kernel void add(__global float *x, float k) { x[get_global_id(0)] += k; }\n";

typedef struct framework {
    cl_context cl;
    cl_command_queue queue, other;
    cl_program program;
    cl_kernel scale, add;
} framework;

static bool framework_open(framework *f, clg_context *shared)
{
    cl_int err;
    memset(f, 0, sizeof *f);
    f->cl = clCreateContext(NULL, 1, &shared->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) return false;
    f->queue = clCreateCommandQueue(f->cl, shared->device, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    f->other = clCreateCommandQueue(f->cl, shared->device, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    const char *src = caller_kernels;
    f->program = clCreateProgramWithSource(f->cl, 1, &src, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clBuildProgram(f->program, 1, &shared->device, NULL, NULL, NULL), CL_SUCCESS);
    f->scale = clCreateKernel(f->program, "scale", &err);
    assert_int_equal(err, CL_SUCCESS);
    f->add = clCreateKernel(f->program, "add", &err);
    assert_int_equal(err, CL_SUCCESS);
    return true;
}

static void framework_close(framework *f)
{
    clReleaseKernel(f->scale);
    clReleaseKernel(f->add);
    clReleaseProgram(f->program);
    clReleaseCommandQueue(f->other);
    clReleaseCommandQueue(f->queue);
    clReleaseContext(f->cl);
}

static cl_int launch(cl_command_queue q, cl_kernel k, cl_mem x, float v, size_t n, cl_uint n_wait,
                     const cl_event *wait, cl_event *ev)
{
    cl_int err = clSetKernelArg(k, 0, sizeof x, &x);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof v, &v);
    if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, n_wait, wait, ev);
    return err;
}

/* The framework's chain: its kernel doubles x on its queue, the model runs
 * on that queue behind a user event the framework holds, and a kernel of
 * the framework's on its second queue adds 1 to y once the run's event
 * completes. Nothing waits on the host until the end. */
static void test_borrowed_chain(void **state)
{
    (void)state;
    clg_context *shared = test_context();
    if (!shared) skip();
    framework f;
    if (!framework_open(&f, shared)) skip();
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create_borrowed(&ctx, f.cl, f.queue, NULL, NULL), CLG_OK);
    char *mlp = model_residual_mlp(1, 16);
    clg_graph *g = test_parse(mlp);
    free(mlp);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);

    enum { B = 4, IN = 16, OUT = 10 };
    float x[B * IN], x2[B * IN], y_ref[B * OUT], y[B * OUT];
    fill(x, B * IN, 5);
    for (int i = 0; i < B * IN; i++) x2[i] = 2.0f * x[i];
    clg_tensor rin = {x2, 2, {B, IN}, CLG_DTYPE_F32}, rout = {y_ref, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_graph_run_reference(g, &rin, 1, &rout, 1), CLG_OK);
    for (int i = 0; i < B * OUT; i++) y_ref[i] += 1.0f;

    for (int round = 0; round < 3; round++) {
        cl_mem xb = make_buffer(f.cl, sizeof x, x), yb = make_buffer(f.cl, sizeof y, NULL);
        cl_int err;
        cl_event hold = clCreateUserEvent(f.cl, &err);
        assert_int_equal(err, CL_SUCCESS);
        assert_int_equal(launch(f.queue, f.scale, xb, 2.0f, B * IN, 0, NULL, NULL), CL_SUCCESS);
        clg_buffer in = {xb, 0, 2, {B, IN}, CLG_DTYPE_F32}, out = {yb, 0, 0, {0}, CLG_DTYPE_F32};
        cl_event ran = NULL, after = NULL;
        clg_status s = clg_model_run_buffers(m, &in, 1, &out, 1, &hold, 1, &ran);
        if (s) fail_msg("%s", clg_model_errmsg(m));
        assert_non_null(ran);
        assert_int_equal(out.rank, 2);
        assert_int_equal(out.dims[0], B);
        assert_int_equal(out.dims[1], OUT);
        assert_int_equal(launch(f.other, f.add, yb, 1.0f, B * OUT, 1, &ran, &after), CL_SUCCESS);
        clFlush(f.queue);
        clFlush(f.other);
        /* Held: the run cannot have completed before the framework lets it. */
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
        cl_int status = CL_QUEUED;
        assert_int_equal(clGetEventInfo(ran, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
                         CL_SUCCESS);
        assert_true(status > CL_COMPLETE);
        assert_int_equal(clSetUserEventStatus(hold, CL_COMPLETE), CL_SUCCESS);
        assert_int_equal(clWaitForEvents(1, &after), CL_SUCCESS);
        assert_int_equal(clEnqueueReadBuffer(f.other, yb, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL), CL_SUCCESS);
        double e = rel_error(y, y_ref, B * OUT);
        if (e > 1e-4) fail_msg("round %d: error %g against the reference", round, e);
        clReleaseEvent(ran);
        clReleaseEvent(after);
        clReleaseEvent(hold);
        clReleaseMemObject(xb);
        clReleaseMemObject(yb);
    }
    /* And the same model on the borrowed queue through host tensors and
     * through a waiting buffer run: the same bits. */
    float yh[B * OUT], yw[B * OUT];
    clg_tensor hin = {x2, 2, {B, IN}, CLG_DTYPE_F32}, hout = {yh, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run(m, &hin, 1, &hout, 1), CLG_OK);
    cl_mem xb = make_buffer(f.cl, sizeof x2, x2), yb = make_buffer(f.cl, sizeof yw, NULL);
    clg_buffer in = {xb, 0, 2, {B, IN}, CLG_DTYPE_F32}, out = {yb, 0, 0, {0}, CLG_DTYPE_F32};
    assert_int_equal(clg_model_run_buffers(m, &in, 1, &out, 1, NULL, 0, NULL), CLG_OK);
    read_buffer(f.queue, yb, 0, sizeof yw, yw);
    assert_memory_equal(yw, yh, sizeof yh);
    clReleaseMemObject(xb);
    clReleaseMemObject(yb);

    clg_model_destroy(m);
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
    framework_close(&f);
}

static void test_borrowed_graphs(void **state)
{
    (void)state;
    clg_context *shared = test_context();
    if (!shared) skip();
    framework f;
    if (!framework_open(&f, shared)) skip();
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create_borrowed(&ctx, f.cl, f.queue, NULL, NULL), CLG_OK);
    check_graph(ctx, two_io, 6, 12, 0, true, 0);
    check_graph(ctx, two_io, 2, 0, 0, false, 0);
    clg_context_destroy(ctx);
    framework_close(&f);
}

/* ---------------------------------------------------------------- errors */

/* Runs with an event out: on an error the event must come back NULL. */
static void expect_error(clg_model *m, const clg_buffer *in, int n_in, clg_buffer *out, int n_out,
                         clg_status want, const char *part)
{
    cl_event ev = (cl_event)(uintptr_t)1;
    clg_status s = clg_model_run_buffers(m, in, n_in, out, n_out, NULL, 0, &ev);
    if (s != want)
        fail_msg("expected %s, got %s: %s", clg_status_string(want), clg_status_string(s), clg_model_errmsg(m));
    assert_null(ev);
    expect_in(clg_model_errmsg(m), part);
}

static void test_buffer_errors(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    clg_graph *g = test_parse(two_io);
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    enum { B = 3 };
    size_t in_bytes = B * 8 * sizeof(float), y_bytes = B * 4 * sizeof(float);
    cl_mem x = make_buffer(ctx->cl, in_bytes, NULL), z = make_buffer(ctx->cl, in_bytes, NULL);
    cl_mem y = make_buffer(ctx->cl, y_bytes, NULL), s = make_buffer(ctx->cl, in_bytes, NULL);
    clg_buffer in[2] = {{x, 0, 2, {B, 8}, CLG_DTYPE_F32}, {z, 0, 2, {B, 8}, CLG_DTYPE_F32}};
    clg_buffer out[2] = {{y, 0, 0, {0}, CLG_DTYPE_F32}, {s, 0, 0, {0}, CLG_DTYPE_F32}};
    clg_buffer bad_in[2], bad_out[2];

    /* counts */
    expect_error(m, in, 1, out, 2, CLG_ERR_INVALID_ARGUMENT, "2 inputs, 1 were given");
    expect_error(m, in, 2, out, 1, CLG_ERR_INVALID_ARGUMENT, "2 outputs, 1 were given");
    expect_error(m, NULL, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "inputs is NULL");
    /* wait list */
    cl_event ev = NULL;
    assert_int_equal(clg_model_run_buffers(m, in, 2, out, 2, NULL, 2, &ev), CLG_ERR_INVALID_ARGUMENT);
    assert_null(ev);
    expect_in(clg_model_errmsg(m), "wait_events is NULL");
    /* NULL mem */
    memcpy(bad_in, in, sizeof in);
    bad_in[1].mem = NULL;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input z: mem is NULL");
    memcpy(bad_out, out, sizeof out);
    bad_out[0].mem = NULL;
    expect_error(m, in, 2, bad_out, 2, CLG_ERR_INVALID_ARGUMENT, "output y: mem is NULL");
    /* shapes, ranks, dtypes */
    memcpy(bad_in, in, sizeof in);
    bad_in[1].dims[1] = 9;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input z");
    memcpy(bad_in, in, sizeof in);
    bad_in[0].rank = 3;
    bad_in[0].dims[2] = 1;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input x: expected shape");
    memcpy(bad_in, in, sizeof in);
    bad_in[1].dims[0] = B + 1; /* N given twice, differently */
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input z");
    memcpy(bad_in, in, sizeof in);
    bad_in[0].dtype = CLG_DTYPE_I64;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input x: the graph declares f32, the tensor is i64");
    memcpy(bad_out, out, sizeof out);
    bad_out[1].dtype = CLG_DTYPE_I32;
    expect_error(m, in, 2, bad_out, 2, CLG_ERR_INVALID_ARGUMENT, "output s: the graph computes f32, the buffer's dtype is i32");
    /* sizes: one float short, an offset past the end, an offset that pushes the tensor past it */
    cl_mem short_buf = make_buffer(ctx->cl, in_bytes - sizeof(float), NULL);
    memcpy(bad_in, in, sizeof in);
    bad_in[1].mem = short_buf;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT,
                 "input z: the buffer is too small: the tensor needs 96 bytes from offset 0, the buffer holds 92");
    memcpy(bad_in, in, sizeof in);
    bad_in[0].offset = in_bytes + 64;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input x: the buffer is too small");
    memcpy(bad_out, out, sizeof out);
    bad_out[0].offset = 4;
    expect_error(m, in, 2, bad_out, 2, CLG_ERR_INVALID_ARGUMENT,
                 "output y: the buffer is too small: the tensor needs 48 bytes from offset 4, the buffer holds 48");
    memcpy(bad_out, out, sizeof out);
    bad_out[1].mem = short_buf;
    expect_error(m, in, 2, bad_out, 2, CLG_ERR_INVALID_ARGUMENT, "output s: the buffer is too small");
    /* a buffer of another context */
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &ctx->device, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_mem foreign = make_buffer(other, in_bytes, NULL);
    memcpy(bad_in, in, sizeof in);
    bad_in[0].mem = foreign;
    expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT,
                 "input x: the buffer belongs to another OpenCL context than the model's");
    memcpy(bad_out, out, sizeof out);
    bad_out[1].mem = foreign;
    expect_error(m, in, 2, bad_out, 2, CLG_ERR_INVALID_ARGUMENT, "output s: the buffer belongs to another OpenCL context");
    /* an image is not a buffer */
    cl_image_format fmt = {CL_R, CL_FLOAT};
    cl_image_desc desc = {.image_type = CL_MEM_OBJECT_IMAGE2D, .image_width = 8, .image_height = 8};
    cl_mem image = clCreateImage(ctx->cl, CL_MEM_READ_WRITE, &fmt, &desc, NULL, &err);
    if (err == CL_SUCCESS) {
        memcpy(bad_in, in, sizeof in);
        bad_in[0].mem = image;
        expect_error(m, bad_in, 2, out, 2, CLG_ERR_INVALID_ARGUMENT, "input x: mem is an OpenCL image");
        clReleaseMemObject(image);
    }
    /* A failed event in the wait list is refused before anything waits
     * on it, with an event out or without. */
    cl_event failed = clCreateUserEvent(ctx->cl, &err), fine = clCreateUserEvent(ctx->cl, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clSetUserEventStatus(failed, -1), CL_SUCCESS);
    assert_int_equal(clSetUserEventStatus(fine, CL_COMPLETE), CL_SUCCESS);
    cl_event pair[2] = {fine, failed};
    assert_int_equal(clg_model_run_buffers(m, in, 2, out, 2, pair, 2, NULL), CLG_ERR_OPENCL);
    expect_in(clg_model_errmsg(m), "wait_events[1] failed");
    ev = (cl_event)(uintptr_t)1;
    assert_int_equal(clg_model_run_buffers(m, in, 2, out, 2, pair, 2, &ev), CLG_ERR_OPENCL);
    assert_null(ev);
    expect_in(clg_model_errmsg(m), "wait_events[1] failed");
    clReleaseEvent(fine);
    clReleaseEvent(failed);

    /* The model still runs, and an input may be an output's memory. */
    float xs[B * 8], zs[B * 8], want[B * 4], got[B * 4];
    fill(xs, B * 8, 1);
    fill(zs, B * 8, 2);
    assert_int_equal(clEnqueueWriteBuffer(ctx->queue, x, CL_TRUE, 0, in_bytes, xs, 0, NULL, NULL), CL_SUCCESS);
    assert_int_equal(clEnqueueWriteBuffer(ctx->queue, z, CL_TRUE, 0, in_bytes, zs, 0, NULL, NULL), CL_SUCCESS);
    clg_tensor hin[2] = {{xs, 2, {B, 8}, CLG_DTYPE_F32}, {zs, 2, {B, 8}, CLG_DTYPE_F32}};
    float hs[B * 8];
    clg_tensor hout[2] = {{want, 0, {0}, CLG_DTYPE_F32}, {hs, 0, {0}, CLG_DTYPE_F32}};
    assert_int_equal(clg_model_run(m, hin, 2, hout, 2), CLG_OK);
    clg_buffer inplace[2] = {out[0], {x, 0, 0, {0}, CLG_DTYPE_F32}}; /* s written over x */
    assert_int_equal(clg_model_run_buffers(m, in, 2, inplace, 2, NULL, 0, NULL), CLG_OK);
    assert_string_equal(clg_model_errmsg(m), "");
    read_buffer(ctx->queue, y, 0, y_bytes, got);
    assert_memory_equal(got, want, sizeof want);
    float sx[B * 8];
    read_buffer(ctx->queue, x, 0, in_bytes, sx);
    assert_memory_equal(sx, hs, sizeof hs);

    clReleaseMemObject(foreign);
    clReleaseContext(other);
    clReleaseMemObject(short_buf);
    clReleaseMemObject(x);
    clReleaseMemObject(z);
    clReleaseMemObject(y);
    clReleaseMemObject(s);
    clg_model_destroy(m);
    clg_graph_destroy(g);
}

/* Integer and f16 inputs and outputs live on the device as floats: buffer
 * runs refuse them, naming the value, and NULL models are refused. */
static void test_buffer_integer_io(void **state)
{
    (void)state;
    clg_context *ctx = test_context();
    if (!ctx) skip();
    assert_int_equal(clg_model_run_buffers(NULL, NULL, 0, NULL, 0, NULL, 0, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_graph *g = test_parse("input ids: i64[N, 4]\nf = Cast(ids) to=\"f32\"\nr = Relu(f)\noutput r\n");
    clg_model *m = NULL;
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    cl_mem a = make_buffer(ctx->cl, 64, NULL), b = make_buffer(ctx->cl, 64, NULL);
    clg_buffer in = {a, 0, 2, {2, 4}, CLG_DTYPE_I64}, out = {b, 0, 0, {0}, CLG_DTYPE_F32};
    expect_error(m, &in, 1, &out, 1, CLG_ERR_UNSUPPORTED, "input ids is i64: buffer runs take f32 tensors only");
    clg_model_destroy(m);
    clg_graph_destroy(g);

    g = test_parse("input x: f32[N, 4]\ni = Cast(x) to=\"i64\"\noutput i\n");
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    in = (clg_buffer){a, 0, 2, {2, 4}, CLG_DTYPE_F32};
    out.dtype = CLG_DTYPE_I64;
    expect_error(m, &in, 1, &out, 1, CLG_ERR_UNSUPPORTED, "output i is i64");
    clg_model_destroy(m);
    clg_graph_destroy(g);

    /* f16 too: held as floats, converted on the host by clg_model_run. */
    g = test_parse("input h: f16[N, 4]\nr = Relu(h)\nk = Cast(r) to=\"f16\"\noutput r\noutput k\n");
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    in = (clg_buffer){a, 0, 2, {2, 4}, CLG_DTYPE_F16};
    out.dtype = CLG_DTYPE_F32;
    clg_buffer outs[2] = {out, out};
    outs[1].dtype = CLG_DTYPE_F16;
    expect_error(m, &in, 1, outs, 2, CLG_ERR_UNSUPPORTED, "input h is f16: buffer runs take f32 tensors only");
    clg_model_destroy(m);
    clg_graph_destroy(g);
    g = test_parse("input x: f32[N, 4]\nk = Cast(x) to=\"f16\"\noutput k\n");
    assert_int_equal(clg_model_create(&m, ctx, g), CLG_OK);
    in.dtype = CLG_DTYPE_F32;
    expect_error(m, &in, 1, &outs[1], 1, CLG_ERR_UNSUPPORTED, "output k is f16");
    clg_model_destroy(m);
    clg_graph_destroy(g);
    clReleaseMemObject(a);
    clReleaseMemObject(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffers_equal_host_runs),
        cmocka_unit_test(test_borrowed_chain),
        cmocka_unit_test(test_borrowed_graphs),
        cmocka_unit_test(test_buffer_errors),
        cmocka_unit_test(test_buffer_integer_io),
    };
    return cmocka_run_group_tests(tests, NULL, test_teardown);
}
