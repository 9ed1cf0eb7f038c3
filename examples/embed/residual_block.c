/*
 * residual_block.c — an application embedding clgraph through its installed
 * package: it builds a residual block with the builder API, compiles it for
 * an OpenCL device, runs a batch, and checks the device's output against
 * clgraph's host reference executor. Exit status 0 when every output is
 * within tolerance, 1 on a mismatch or any error (the message says which).
 *
 *     x:[N,32] -> Gemm(32)+Relu -> Gemm(32) -> Add(x) -> Relu -> Gemm(10) -> Softmax
 *
 * The device is CLGRAPH_DEVICE's, else clgraph's default (a GPU if there is
 * one). Built by examples/embed/CMakeLists.txt (find_package) or by the
 * pkg-config line in examples/embed/README.md.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <clgraph.h>

enum { WIDTH = 32, CLASSES = 10, BATCH = 4 };

/* Deterministic weights in [-scale, scale): a small LCG, so that every run
 * and every build computes the same numbers. */
static void fill(float *v, size_t n, uint32_t seed, float scale)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = scale * ((float)(seed >> 8) / (float)(1u << 24) * 2.0f - 1.0f);
    }
}

/* Adds a Dense layer: out = in · w^T + b, w of [units, in_width]. */
static clg_status dense(clg_graph *g, const char *in, int in_width, int units, const char *out,
                        uint32_t seed)
{
    char w_name[64], b_name[64];
    snprintf(w_name, sizeof w_name, "%s_w", out);
    snprintf(b_name, sizeof b_name, "%s_b", out);
    float w[WIDTH * WIDTH], b[WIDTH];
    fill(w, (size_t)units * (size_t)in_width, seed, 0.3f);
    fill(b, (size_t)units, seed + 1, 0.1f);
    const int64_t w_dims[2] = {units, in_width}, b_dims[1] = {units};
    clg_status st = clg_graph_add_constant(g, w_name, 2, w_dims, w);
    if (st == CLG_OK) st = clg_graph_add_constant(g, b_name, 1, b_dims, b);
    const char *inputs[3] = {in, w_name, b_name};
    const clg_attr trans_b = {.name = "transB", .kind = CLG_ATTR_INT, .ints = {1}};
    if (st == CLG_OK) st = clg_graph_add_node(g, CLG_OP_GEMM, out, inputs, 3, &trans_b, 1);
    return st;
}

static clg_status unary(clg_graph *g, clg_op op, const char *in, const char *out)
{
    return clg_graph_add_node(g, op, out, &in, 1, NULL, 0);
}

static clg_status build(clg_graph *g)
{
    const int64_t x_dims[2] = {CLG_BATCH, WIDTH};
    const char *sum_inputs[2] = {"d2", "x"};
    clg_status st = clg_graph_add_input(g, "x", 2, x_dims);
    if (st == CLG_OK) st = dense(g, "x", WIDTH, WIDTH, "d1", 1);
    if (st == CLG_OK) st = unary(g, CLG_OP_RELU, "d1", "r1");
    if (st == CLG_OK) st = dense(g, "r1", WIDTH, WIDTH, "d2", 3);
    if (st == CLG_OK) st = clg_graph_add_node(g, CLG_OP_ADD, "sum", sum_inputs, 2, NULL, 0);
    if (st == CLG_OK) st = unary(g, CLG_OP_RELU, "sum", "res");
    if (st == CLG_OK) st = dense(g, "res", WIDTH, CLASSES, "logits", 5);
    if (st == CLG_OK) st = unary(g, CLG_OP_SOFTMAX, "logits", "y");
    if (st == CLG_OK) st = clg_graph_add_output(g, "y");
    return st;
}

int main(void)
{
    /* The header this program was compiled with against the library it
     * runs with: a mismatch means a stale install or a wrong -I/-L. */
    if (clg_version() != CLG_VERSION_NUMBER) {
        fprintf(stderr, "residual_block: clgraph.h is %s (%d) but the library is %d\n",
                CLG_VERSION_STRING, CLG_VERSION_NUMBER, clg_version());
        return 1;
    }

    int rc = 1;
    clg_graph *g = NULL;
    clg_context *ctx = NULL;
    clg_model *m = NULL;
    float x[BATCH * WIDTH], y_device[BATCH * CLASSES], y_reference[BATCH * CLASSES];
    fill(x, BATCH * WIDTH, 42, 1.0f);

    if (clg_graph_create(&g, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "residual_block: out of memory\n");
        return 1;
    }
    if (build(g) != CLG_OK) {
        fprintf(stderr, "residual_block: building the graph: %s\n", clg_graph_errmsg(g));
        goto done;
    }

    clg_tensor in = {x, 2, {BATCH, WIDTH}, CLG_DTYPE_F32};
    clg_tensor out_ref = {y_reference, 0, {0}, CLG_DTYPE_F32};
    if (clg_graph_run_reference(g, &in, 1, &out_ref, 1) != CLG_OK) {
        fprintf(stderr, "residual_block: reference run: %s\n", clg_graph_errmsg(g));
        goto done;
    }

    if (clg_context_create(&ctx, NULL, 0, NULL, NULL) != CLG_OK) {
        fprintf(stderr, "residual_block: no device: %s\n", clg_context_errmsg(ctx));
        goto done;
    }
    clg_device_info dev;
    if (clg_context_device(ctx, &dev) == CLG_OK)
        printf("clgraph %s on %s (%s)\n", CLG_VERSION_STRING, dev.name, dev.platform);
    if (clg_model_create(&m, ctx, g) != CLG_OK) {
        fprintf(stderr, "residual_block: compiling: %s\n", clg_model_errmsg(m));
        goto done;
    }
    clg_tensor out_dev = {y_device, 0, {0}, CLG_DTYPE_F32};
    if (clg_model_run(m, &in, 1, &out_dev, 1) != CLG_OK) {
        fprintf(stderr, "residual_block: running: %s\n", clg_model_errmsg(m));
        goto done;
    }
    if (out_dev.rank != 2 || out_dev.dims[0] != BATCH || out_dev.dims[1] != CLASSES) {
        fprintf(stderr, "residual_block: the device's output has the wrong shape\n");
        goto done;
    }

    /* fp32 on both sides, sums of 32 terms in another order: a few ulp. */
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < BATCH * CLASSES; i++) {
        double diff = fabs((double)y_device[i] - (double)y_reference[i]);
        if (diff > worst) worst = diff;
        if (!(diff <= 1e-5 + 1e-4 * fabs((double)y_reference[i]))) {
            if (bad++ < 5)
                fprintf(stderr, "residual_block: y[%d][%d] is %.7g on the device, %.7g in the reference\n",
                        i / CLASSES, i % CLASSES, (double)y_device[i], (double)y_reference[i]);
        }
    }
    if (bad) {
        fprintf(stderr, "residual_block: %d of %d outputs differ from the reference\n", bad,
                BATCH * CLASSES);
        goto done;
    }
    printf("y[0] = [%.4f %.4f %.4f ...]; %d outputs match the reference (largest difference %.2g)\n",
           (double)y_device[0], (double)y_device[1], (double)y_device[2], BATCH * CLASSES, worst);
    rc = 0;
done:
    clg_model_destroy(m); /* the model before its context */
    clg_context_destroy(ctx);
    clg_graph_destroy(g);
    return rc;
}
