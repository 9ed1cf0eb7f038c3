/* Which convolution path is faster on a device: im2col + a packed GEMM (as
 * written, W times the packed column matrix, or flipped, the column matrix
 * times the packed weights) or the implicit GEMM (the packed kernel reading
 * the NCHW input in place, no im2col), each forced through the context's
 * GEMM path, beside what the measured choice picks. ResNet-shaped
 * convolutions run on the default device (CLGRAPH_DEVICE), each path checked
 * against the reference executor and timed as the median device time of
 * the conv node (profiling events, im2col included) over ITERS runs, the
 * paths interleaved run by run so machine noise hits them alike. Prints
 * milliseconds and GFLOP/s (2 * multiply-adds / time) per path. Build: see
 * bench/README.md (cmake target bench_conv_paths). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clgraph.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct { int b, c, h, w, m, k, stride, pad; } conv_case;

#define ITERS 11

/* GEMM paths: three im2col ones, three implicit ones, Winograd F(2x2,
 * 3x3) and F(4x4, 3x3) (3x3 stride-1 convolutions only: forced on another,
 * the convolution runs im2col and p8x32, CLGRAPH_GEMM=generated's
 * variant), and the measured choice
 * ("measure"). GFLOP/s count the direct convolution's multiply-adds, also
 * for Winograd, which does fewer. */
static const char *const paths[] = {"generated:p8x32",  "generated:p8x32t",  "generated:p4x64t", "generated:p8x32i",
                                    "generated:p12x32i", "generated:p4x64i", "generated:p4x64f", "generated:p4x64g",
                                    "measure"};
static const char *const labels[] = {"col p8x32", "col p8x32t", "col p4x64t", "imp p8x32i", "imp p12x32i", "imp p4x64i",
                                     "wino p4x64f", "wino p4x64g", "measured"};
#define N_PATHS (int)(sizeof paths / sizeof *paths)

int main(int argc, char **argv)
{
    static const conv_case cases[] = {
        {32, 32, 32, 32, 32, 3, 1, 1},  /* the Keras block's 3x3 convs */
        {16, 3, 64, 64, 64, 7, 2, 3},   /* resnet18 at 64x64, batch 16: stem */
        {16, 64, 16, 16, 64, 3, 1, 1},  /* layer1 */
        {16, 64, 16, 16, 128, 3, 2, 1}, /* layer2's first */
        {16, 128, 8, 8, 128, 3, 1, 1},  /* layer2 */
        {16, 256, 4, 4, 256, 3, 1, 1},  /* layer3 */
        {16, 64, 16, 16, 128, 1, 2, 0}, /* a 1x1 downsample */
        {16, 64, 16, 16, 64, 1, 1, 0},  /* a 1x1, stride 1 */
        {1, 64, 56, 56, 64, 3, 1, 1},   /* resnet18 at 224x224, batch 1 */
        {1, 256, 14, 14, 256, 3, 1, 1},
    };
    int only = argc > 1 ? atoi(argv[1]) : -1; /* one case by its index */
    clg_context *ctx[N_PATHS] = {0};
    for (int p = 0; p < N_PATHS; p++) {
        clg_context_options o = CLG_CONTEXT_OPTIONS_INIT;
        o.gemm = paths[p];
        if (clg_context_create_ex(&ctx[p], NULL, CLG_CONTEXT_PROFILING, &o, NULL, NULL) != CLG_OK) {
            fprintf(stderr, "context: %s\n", ctx[p] ? clg_context_errmsg(ctx[p]) : "out of memory");
            return 1;
        }
    }
    clg_device_info info;
    clg_context_device(ctx[0], &info);
    printf("device: %s; median device ms of the conv node over %d interleaved runs, GFLOP/s below\n", info.name,
           ITERS);
    printf("%-26s", "B,C,H,W -> M, k, s, p");
    for (int p = 0; p < N_PATHS; p++) printf(" %11s", labels[p]);
    printf(" %8s %9s\n", "col/imp", "max err");
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        if (only >= 0 && (size_t)only != ci) continue;
        const conv_case *c = &cases[ci];
        char text[1024];
        snprintf(text, sizeof text,
                 "input x: f32[%d, %d, %d, %d]\nconst w: f32[%d, %d, %d, %d] = random(1, -0.1, 0.1)\n"
                 "const b: f32[%d] = random(2, -0.1, 0.1)\n"
                 "y = Conv2D(x, w, b) strides=[%d, %d] pads=[%d, %d, %d, %d] epilogue=\"relu(x0)\"\noutput y\n",
                 c->b, c->c, c->h, c->w, c->m, c->c, c->k, c->k, c->m, c->stride, c->stride, c->pad, c->pad,
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
        double flops = 2.0 * (double)ny * c->c * c->k * c->k;
        float *x = malloc(nx * 4), *y = malloc(ny * 4), *yr = malloc(ny * 4);
        for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        clg_tensor tx = {x, 4, {c->b, c->c, c->h, c->w}, CLG_DTYPE_F32}, tr = {yr, 0, {0}, CLG_DTYPE_F32};
        clg_graph_run_reference(g, &tx, 1, &tr, 1);
        clg_model *m[N_PATHS] = {0};
        for (int p = 0; p < N_PATHS; p++)
            if (clg_model_create(&m[p], ctx[p], g) != CLG_OK) {
                fprintf(stderr, "%s: %s\n", paths[p], clg_model_errmsg(m[p]));
                return 1;
            }
        static double times[N_PATHS][ITERS];
        double worst = 0, scale = 1e-6;
        for (size_t i = 0; i < ny; i++) scale = fmax(scale, fabs(yr[i]));
        for (int it = -2; it < ITERS; it++)
            for (int p = 0; p < N_PATHS; p++) {
                clg_tensor ty = {y, 0, {0}, CLG_DTYPE_F32};
                if (clg_model_run(m[p], &tx, 1, &ty, 1) != CLG_OK) {
                    fprintf(stderr, "%s: %s\n", paths[p], clg_model_errmsg(m[p]));
                    return 1;
                }
                clg_node_time t[8];
                int n = 0;
                clg_model_profile(m[p], t, 8, &n);
                double dev = 0;
                for (int i = 0; i < n && i < 8; i++) dev += t[i].ms;
                if (it >= 0) times[p][it] = dev;
                if (it == ITERS - 1)
                    for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(y[i] - yr[i]));
            }
        char label[64];
        snprintf(label, sizeof label, "%d,%d,%d,%d -> %d, %d, %d, %d", c->b, c->c, c->h, c->w, c->m, c->k, c->stride,
                 c->pad);
        double med[N_PATHS], best_col = 1e30, best_imp = 1e30;
        printf("%-26s", label);
        for (int p = 0; p < N_PATHS; p++) {
            qsort(times[p], ITERS, sizeof **times, cmp);
            med[p] = times[p][ITERS / 2];
            if (p < 3) best_col = fmin(best_col, med[p]);
            else if (p < 6) best_imp = fmin(best_imp, med[p]);
            printf(" %8.3f ms", med[p]);
        }
        printf(" %8.2f %9.2g\n", best_col / best_imp, worst / scale);
        printf("%-26s", "  GFLOP/s");
        for (int p = 0; p < N_PATHS; p++) printf(" %11.1f", flops / (med[p] * 1e6));
        printf("\n");
        fflush(stdout);
        for (int p = 0; p < N_PATHS; p++) clg_model_destroy(m[p]);
        clg_graph_destroy(g);
        free(x);
        free(y);
        free(yr);
    }
    printf("col: im2col + the packed GEMM (t: flipped); imp: the implicit GEMM; measured: the path the\n"
           "measured choice picked. col/imp: the best im2col time over the best implicit one (> 1: implicit\n"
           "faster). Each conv has a bias and a Relu epilogue (in the kernel's store on every path).\n");
    for (int p = 0; p < N_PATHS; p++) clg_context_destroy(ctx[p]);
    return 0;
}
