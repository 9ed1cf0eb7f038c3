/* Which convolution path is faster on a device: clgraph's im2col + CLBlast
 * GEMM (+ reorder) or CLBlast's own CLBlastSconvgemm? Both run the same
 * 3x3/1x1 ResNet convolutions on the default device; each is checked
 * against the reference executor and timed as the median over repeated
 * runs, interleaved so machine noise hits both alike. Build: see
 * bench/README.md (cmake target bench_conv_paths). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clgraph.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct { int b, c, h, w, m, k, stride, pad; } conv_case;

#define ITERS 15

int main(void)
{
    static const conv_case cases[] = {
        {1, 64, 56, 56, 64, 3, 1, 1},  {1, 128, 28, 28, 128, 3, 1, 1}, {1, 256, 14, 14, 256, 3, 1, 1},
        {1, 64, 56, 56, 128, 1, 2, 0}, {8, 64, 28, 28, 64, 3, 1, 1},
    };
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, CLG_CONTEXT_PROFILING, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "context: %s\n", ctx ? clg_context_errmsg(ctx) : "out of memory");
        return 1;
    }
    clg_device_info info;
    clg_context_device(ctx, &info);
    /* CLBlast needs a queue of its own on the same device. */
    cl_platform_id platform;
    cl_device_id device;
    cl_uint np;
    clGetPlatformIDs(1, &platform, &np);
    cl_platform_id platforms[16];
    clGetPlatformIDs(16, platforms, &np);
    platform = platforms[info.platform_index];
    cl_device_id devices[16];
    cl_uint nd;
    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 16, devices, &nd);
    device = devices[info.device_index];
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(cl, device, 0, &err);
    printf("device: %s\n", info.name);
    printf("%-28s %12s %12s %8s %10s\n", "conv (B,C,H,W -> M, k, s, p)", "im2col+gemm", "convgemm", "ratio", "max err");
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const conv_case *c = &cases[ci];
        char text[1024];
        snprintf(text, sizeof text,
                 "input x: f32[%d, %d, %d, %d]\nconst w: f32[%d, %d, %d, %d] = random(1, -0.1, 0.1)\n"
                 "y = Conv2D(x, w) strides=[%d, %d] pads=[%d, %d, %d, %d]\noutput y\n",
                 c->b, c->c, c->h, c->w, c->m, c->c, c->k, c->k, c->stride, c->stride, c->pad, c->pad,
                 c->pad, c->pad);
        clg_graph *g = NULL;
        clg_graph_create(&g, NULL, NULL);
        if (clg_graph_parse(g, text, strlen(text), NULL) != CLG_OK) {
            fprintf(stderr, "%s\n", clg_graph_errmsg(g));
            return 1;
        }
        int rank;
        int64_t dims[CLG_MAX_RANK];
        clg_graph_output_info(g, 0, 1, NULL, &rank, dims);
        size_t nx = (size_t)c->b * c->c * c->h * c->w, ny = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
        size_t nw = (size_t)c->m * c->c * c->k * c->k;
        float *x = malloc(nx * 4), *y = malloc(ny * 4), *yr = malloc(ny * 4), *yc = malloc(ny * 4);
        for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        clg_tensor tx = {x, 4, {c->b, c->c, c->h, c->w}, CLG_DTYPE_F32}, ty = {y, 0, {0}, CLG_DTYPE_F32}, tr = {yr, 0, {0}, CLG_DTYPE_F32};
        clg_graph_run_reference(g, &tx, 1, &tr, 1);
        clg_model *m = NULL;
        if (clg_model_create(&m, ctx, g) != CLG_OK) {
            fprintf(stderr, "%s\n", clg_model_errmsg(m));
            return 1;
        }
        /* The same weights on the CLBlast side: read them from the graph's
         * constant by running a graph that outputs w. */
        float *w = malloc(nw * 4);
        {
            char wt[256];
            snprintf(wt, sizeof wt, "const w: f32[%d, %d, %d, %d] = random(1, -0.1, 0.1)\noutput w\n", c->m, c->c, c->k, c->k);
            clg_graph *gw = NULL;
            clg_graph_create(&gw, NULL, NULL);
            clg_graph_parse(gw, wt, strlen(wt), NULL);
            clg_tensor tw = {w, 0, {0}, CLG_DTYPE_F32};
            clg_graph_run_reference(gw, NULL, 0, &tw, 1);
            clg_graph_destroy(gw);
        }
        cl_mem bx = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nx * 4, x, &err);
        cl_mem bw = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, nw * 4, w, &err);
        cl_mem by = clCreateBuffer(cl, CL_MEM_READ_WRITE, ny * 4, NULL, &err);
        double ours[ITERS], theirs[ITERS];
        for (int it = -2; it < ITERS; it++) {
            clg_model_run(m, &tx, 1, &ty, 1);
            clg_node_time t[8];
            int n = 0;
            clg_model_profile(m, t, 8, &n);
            double dev = 0;
            for (int i = 0; i < n && i < 8; i++) dev += t[i].ms;
            double t0 = now_ms();
            CLBlastStatusCode rc = CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, c->c, c->h, c->w, c->k, c->k,
                                                    c->pad, c->pad, c->stride, c->stride, 1, 1, c->m, c->b,
                                                    bx, 0, bw, 0, by, 0, &q, NULL);
            clFinish(q);
            double t1 = now_ms();
            if (rc != CLBlastSuccess) {
                fprintf(stderr, "CLBlastSconvgemm: %d\n", rc);
                return 1;
            }
            if (it >= 0) {
                ours[it] = dev;
                theirs[it] = t1 - t0;
            }
        }
        clEnqueueReadBuffer(q, by, CL_TRUE, 0, ny * 4, yc, 0, NULL, NULL);
        double worst = 0, scale = 1e-6;
        for (size_t i = 0; i < ny; i++) {
            scale = fmax(scale, fabs(yr[i]));
            worst = fmax(worst, fmax(fabs(y[i] - yr[i]), fabs(yc[i] - yr[i])));
        }
        qsort(ours, ITERS, sizeof *ours, cmp);
        qsort(theirs, ITERS, sizeof *theirs, cmp);
        char label[64];
        snprintf(label, sizeof label, "%d,%d,%d,%d -> %d, %d, %d, %d", c->b, c->c, c->h, c->w, c->m, c->k, c->stride, c->pad);
        printf("%-28s %9.3f ms %9.3f ms %8.2f %10.2g\n", label, ours[ITERS / 2], theirs[ITERS / 2],
               theirs[ITERS / 2] / ours[ITERS / 2], worst / scale);
        clReleaseMemObject(bx);
        clReleaseMemObject(bw);
        clReleaseMemObject(by);
        clg_model_destroy(m);
        clg_graph_destroy(g);
        free(x); free(y); free(yr); free(yc); free(w);
    }
    printf("im2col+gemm: device time of clgraph's conv node (profiling events); convgemm: wall time of\n"
           "CLBlastSconvgemm + clFinish with data resident. ratio > 1: clgraph's path is faster.\n");
    clReleaseCommandQueue(q);
    clReleaseContext(cl);
    clg_context_destroy(ctx);
    return 0;
}
