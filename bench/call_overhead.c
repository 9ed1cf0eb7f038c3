/* What a small call costs: the device's own floor against clg_model_run.
 *
 * On the context's own in-order queue (a clgraph context on the chosen
 * device; its queue is used directly for the raw OpenCL measurements), each
 * round times, K times each, in this order:
 *   - empty:     one launch of an empty kernel (64 work-items) + clFinish:
 *                the launch-and-wait floor;
 *   - roundtrip: a non-blocking write of 128 floats, one tiny kernel, a
 *                non-blocking read of 10 floats, clFinish: the floor of any
 *                call that moves data (the seed's input and output sizes);
 *                then the same ending in a blocking read instead of
 *                clFinish;
 *   - chain:     the same, with as many tiny kernels as the model launches
 *                per call: the OpenCL calls a clg_model_run makes, with
 *                kernels that take no time; its host time is broken into the
 *                enqueue calls and the wait; then the same with the write
 *                waiting for a user event set once everything is queued, as
 *                clg_model_run does (docs/runtime.md, "Small calls");
 *   - mapped:    the zero-copy that OpenCL 1.2 allows (buffers over host
 *                memory, touched by the host only while mapped), and the
 *                launches alone with no data moved, the bound of any
 *                zero-copy;
 *   - model:     clg_model_run of the model (default the seed MLP,
 *                examples/residual_mlp.clg) at batch 1, data from the host
 *                and back, what an embedder sees: planned as a small chain
 *                of dense layers in one kernel where it is one (lower/chain.c)
 *                and, as a second model in the same process, with that
 *                turned off (CLGRAPH_CHAIN=0 while its plan is built: one
 *                launch per node, as before the chain kernel).
 * The table gives the median over rounds of each round's median, and the
 * model as a multiple of each floor. Build and run: bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime.h" /* first: it sets CL_TARGET_OPENCL_VERSION for the OpenCL headers */

#ifndef CLG_SOURCE_DIR
#define CLG_SOURCE_DIR "."
#endif

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *kernel_text =
    "__kernel void empty(void) {}\n"
    "__kernel void tiny(__global const float *x, __global float *y) {\n"
    "    int i = get_global_id(0);\n"
    "    if (i < 10) y[i] = x[i] + 1.0f;\n"
    "}\n";

#define CHECK(call)                                                                                      \
    do {                                                                                                 \
        cl_int e_ = (call);                                                                              \
        if (e_ != CL_SUCCESS) {                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, clg_cl_error_name(e_)); \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

enum { EMPTY, ROUNDTRIP, ROUNDTRIP_BLOCKING, CHAIN, CHAIN_ENQUEUE, CHAIN_WAIT, GATED, MAPPED, KERNELS, MODEL_NO_CHAIN, MODEL, N_MEASURES };
static const char *measure_names[N_MEASURES] = {
    "empty kernel + clFinish",
    "write + 1 kernel + read + clFinish",
    "write + 1 kernel + blocking read (no clFinish)",
    "write + L kernels + read + clFinish",
    "  of which the enqueue calls",
    "  of which clFinish",
    "the same, the write waiting for a user event set once all is queued (as clg_model_run does)",
    "zero-copy by the rules: map, memcpy, unmap, L kernels, blocking map, memcpy, unmap",
    "L kernels + clFinish (no data moved: what any zero-copy could reach)",
    "clg_model_run, one launch per node (CLGRAPH_CHAIN=0 when planned)",
    "clg_model_run",
};

int main(int argc, char **argv)
{
    const char *device = NULL, *path = CLG_SOURCE_DIR "/examples/residual_mlp.clg";
    int iters = 1000, rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--device SPEC] [--iters K] [--rounds R] [--model FILE]\n", argv[0]);
            return 2;
        }
    }
    if (iters < 1 || rounds < 1) return 2;
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, device, 0, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context: %s\n", ctx ? clg_context_errmsg(ctx) : "out of memory");
        return 1;
    }
    clg_graph *g = NULL;
    clg_model *model = NULL;
    if (clg_graph_create(&g, NULL, NULL) || clg_graph_load(g, path)) {
        fprintf(stderr, "%s: %s\n", path, g ? clg_graph_errmsg(g) : "out of memory");
        return 1;
    }
    /* Batch-1 inputs and outputs of the graph's declared shapes (N = 1). */
    int n_in = clg_graph_input_count(g), n_out = clg_graph_output_count(g);
    clg_tensor in[8], out[8];
    if (n_in > 8 || n_out > 8) return 1;
    for (int i = 0; i < n_in; i++) {
        in[i] = (clg_tensor){.dtype = CLG_DTYPE_F32};
        clg_graph_input_info(g, i, NULL, &in[i].rank, in[i].dims);
        size_t count = 1;
        for (int d = 0; d < in[i].rank; d++) {
            if (in[i].dims[d] < 0) in[i].dims[d] = 1;
            count *= (size_t)in[i].dims[d];
        }
        float *x = malloc(count * sizeof *x);
        for (size_t k = 0; k < count; k++) x[k] = (float)((k * 7919) % 101) / 101.0f - 0.5f;
        in[i].data = x;
    }
    for (int i = 0; i < n_out; i++) {
        out[i] = (clg_tensor){.dtype = CLG_DTYPE_F32};
        out[i].data = malloc(1 << 20); /* the seed model's outputs are far smaller */
    }
    /* Plans are built when a model is created (for batch 1) and when a run
     * needs a new batch: the second model's with the chain kernel off. */
    clg_model *no_chain = NULL;
    const char *chain_env = getenv("CLGRAPH_CHAIN");
    bool made = clg_model_create(&model, ctx, g) == CLG_OK;
    setenv("CLGRAPH_CHAIN", "0", 1);
    made = made && clg_model_create(&no_chain, ctx, g) == CLG_OK;
    if (made && clg_model_run(no_chain, in, n_in, out, n_out) != CLG_OK) {
        fprintf(stderr, "run: %s\n", clg_model_errmsg(no_chain));
        return 1;
    }
    if (chain_env) setenv("CLGRAPH_CHAIN", chain_env, 1);
    else unsetenv("CLGRAPH_CHAIN");
    if (!made) {
        fprintf(stderr, "model: %s\n", model ? clg_model_errmsg(model) : "out of memory");
        return 1;
    }

    if (clg_model_run(model, in, n_in, out, n_out) != CLG_OK) {
        fprintf(stderr, "run: %s\n", clg_model_errmsg(model));
        return 1;
    }
    clg_model_stats st;
    clg_model_stats_get(no_chain, &st);
    int launches = st.launches_per_inference; /* the tiny-kernel chains copy the launch-per-node plan */
    clg_model_stats_get(model, &st);
    int model_launches = st.launches_per_inference;

    cl_int err;
    cl_program prog = clCreateProgramWithSource(ctx->cl, 1, &kernel_text, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(prog, 1, &ctx->device, "", NULL, NULL));
    cl_kernel empty = clCreateKernel(prog, "empty", &err);
    CHECK(err);
    cl_kernel tiny = clCreateKernel(prog, "tiny", &err);
    CHECK(err);
    cl_mem xb = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, 128 * sizeof(float), NULL, &err);
    CHECK(err);
    cl_mem yb = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, 128 * sizeof(float), NULL, &err);
    CHECK(err);
    CHECK(clSetKernelArg(tiny, 0, sizeof xb, &xb));
    CHECK(clSetKernelArg(tiny, 1, sizeof yb, &yb));
    /* The zero-copy way OpenCL 1.2 allows: buffers over host memory
     * (CL_MEM_USE_HOST_PTR), whose contents the host may touch only while
     * they are mapped (clEnqueueMapBuffer), and kernels may use only while
     * they are not. */
    static float host_x[128] __attribute__((aligned(4096))), host_y[128] __attribute__((aligned(4096)));
    cl_mem xh = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, sizeof host_x, host_x, &err);
    CHECK(err);
    cl_mem yh = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, sizeof host_y, host_y, &err);
    CHECK(err);
    cl_kernel tiny_host = clCreateKernel(prog, "tiny", &err);
    CHECK(err);
    CHECK(clSetKernelArg(tiny_host, 0, sizeof xh, &xh));
    CHECK(clSetKernelArg(tiny_host, 1, sizeof yh, &yh));
    cl_bool unified = CL_FALSE;
    CHECK(clGetDeviceInfo(ctx->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL));
    float hx[128] = {0}, hy[10];
    size_t global = 64;
    cl_command_queue q = ctx->queue;

    double *sample = malloc((size_t)iters * sizeof *sample);
    double *enq = malloc((size_t)iters * sizeof *enq), *wait = malloc((size_t)iters * sizeof *wait);
    double *per_round[N_MEASURES];
    for (int m = 0; m < N_MEASURES; m++) per_round[m] = malloc((size_t)rounds * sizeof(double));
    for (int r = -1; r < rounds; r++) { /* round -1 warms up */
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            CHECK(clEnqueueNDRangeKernel(q, empty, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clFinish(q));
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[EMPTY][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            CHECK(clEnqueueWriteBuffer(q, xb, CL_FALSE, 0, sizeof hx, hx, 0, NULL, NULL));
            CHECK(clEnqueueNDRangeKernel(q, tiny, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clEnqueueReadBuffer(q, yb, CL_FALSE, 0, sizeof hy, hy, 0, NULL, NULL));
            CHECK(clFinish(q));
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[ROUNDTRIP][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            CHECK(clEnqueueWriteBuffer(q, xb, CL_FALSE, 0, sizeof hx, hx, 0, NULL, NULL));
            CHECK(clEnqueueNDRangeKernel(q, tiny, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clEnqueueReadBuffer(q, yb, CL_TRUE, 0, sizeof hy, hy, 0, NULL, NULL));
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[ROUNDTRIP_BLOCKING][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            CHECK(clEnqueueWriteBuffer(q, xb, CL_FALSE, 0, sizeof hx, hx, 0, NULL, NULL));
            for (int k = 0; k < launches; k++)
                CHECK(clEnqueueNDRangeKernel(q, tiny, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clEnqueueReadBuffer(q, yb, CL_FALSE, 0, sizeof hy, hy, 0, NULL, NULL));
            double t1 = now_us();
            CHECK(clFinish(q));
            double t2 = now_us();
            sample[i] = t2 - t0;
            enq[i] = t1 - t0;
            wait[i] = t2 - t1;
        }
        if (r >= 0) {
            per_round[CHAIN][r] = median(sample, iters);
            per_round[CHAIN_ENQUEUE][r] = median(enq, iters);
            per_round[CHAIN_WAIT][r] = median(wait, iters);
        }
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            cl_event gate = clCreateUserEvent(ctx->cl, &err);
            CHECK(err);
            CHECK(clEnqueueWriteBuffer(q, xb, CL_FALSE, 0, sizeof hx, hx, 1, &gate, NULL));
            for (int k = 0; k < launches; k++)
                CHECK(clEnqueueNDRangeKernel(q, tiny, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clEnqueueReadBuffer(q, yb, CL_FALSE, 0, sizeof hy, hy, 0, NULL, NULL));
            CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
            CHECK(clReleaseEvent(gate));
            CHECK(clFinish(q));
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[GATED][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            float *px = clEnqueueMapBuffer(q, xh, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, sizeof hx, 0, NULL,
                                           NULL, &err);
            CHECK(err);
            memcpy(px, hx, sizeof hx);
            CHECK(clEnqueueUnmapMemObject(q, xh, px, 0, NULL, NULL));
            for (int k = 0; k < launches; k++)
                CHECK(clEnqueueNDRangeKernel(q, tiny_host, 1, NULL, &global, NULL, 0, NULL, NULL));
            float *py = clEnqueueMapBuffer(q, yh, CL_TRUE, CL_MAP_READ, 0, sizeof hy, 0, NULL, NULL, &err);
            CHECK(err);
            memcpy(hy, py, sizeof hy);
            CHECK(clEnqueueUnmapMemObject(q, yh, py, 0, NULL, NULL));
            sample[i] = now_us() - t0;
        }
        CHECK(clFinish(q));
        if (r >= 0) per_round[MAPPED][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            for (int k = 0; k < launches; k++)
                CHECK(clEnqueueNDRangeKernel(q, tiny, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clFinish(q));
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[KERNELS][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            if (clg_model_run(no_chain, in, n_in, out, n_out) != CLG_OK) {
                fprintf(stderr, "run: %s\n", clg_model_errmsg(no_chain));
                return 1;
            }
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[MODEL_NO_CHAIN][r] = median(sample, iters);
        for (int i = 0; i < iters; i++) {
            double t0 = now_us();
            if (clg_model_run(model, in, n_in, out, n_out) != CLG_OK) {
                fprintf(stderr, "run: %s\n", clg_model_errmsg(model));
                return 1;
            }
            sample[i] = now_us() - t0;
        }
        if (r >= 0) per_round[MODEL][r] = median(sample, iters);
    }
    clg_device_info info;
    clg_context_device(ctx, &info);
    double result[N_MEASURES];
    for (int m = 0; m < N_MEASURES; m++) result[m] = median(per_round[m], rounds);
    printf("device: %s (%s), CL_DEVICE_HOST_UNIFIED_MEMORY %s\nmodel: %s at batch 1: %d launch(es) per call "
           "(%d with one launch per node; L = %d below)\n",
           info.name, info.platform, unified ? "true" : "false", path, model_launches, launches, launches);
    printf("%d rounds of %d calls each, the measures interleaved in each round; medians over rounds of each "
           "round's median\n\n", rounds, iters);
    printf("| measure | µs per call | clg_model_run / this | one launch per node / this |\n| --- | ---: | ---: | ---: |\n");
    for (int m = 0; m < N_MEASURES; m++) {
        char name[128];
        snprintf(name, sizeof name, "%s", measure_names[m]);
        char *l = strstr(name, "L kernels");
        if (l) {
            char rest[128];
            snprintf(rest, sizeof rest, "%s", l + 1);
            snprintf(l, sizeof name - (size_t)(l - name), "%d%s", launches, rest);
        }
        bool part = m == CHAIN_ENQUEUE || m == CHAIN_WAIT || m == MODEL || m == MODEL_NO_CHAIN;
        if (part) printf("| %s | %.1f | | |\n", name, result[m]);
        else printf("| %s | %.1f | %.2f× | %.2f× |\n", name, result[m], result[MODEL] / result[m],
                    result[MODEL_NO_CHAIN] / result[m]);
    }
    printf("| clg_model_run / one launch per node | %.2f | | |\n", result[MODEL] / result[MODEL_NO_CHAIN]);

    for (int m = 0; m < N_MEASURES; m++) free(per_round[m]);
    free(sample);
    free(enq);
    free(wait);
    clReleaseMemObject(xb);
    clReleaseMemObject(yb);
    clReleaseMemObject(xh);
    clReleaseMemObject(yh);
    clReleaseKernel(tiny_host);
    clReleaseKernel(empty);
    clReleaseKernel(tiny);
    clReleaseProgram(prog);
    for (int i = 0; i < n_in; i++) free(in[i].data);
    for (int i = 0; i < n_out; i++) free(out[i].data);
    clg_model_destroy(model);
    clg_model_destroy(no_chain);
    clg_graph_destroy(g);
    clg_context_destroy(ctx);
    return 0;
}
