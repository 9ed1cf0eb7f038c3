#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

typedef struct { char *s; size_t len, cap; } buf;

static void add(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort(); /* test code */
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int seed = 100;

static void batchnorm(buf *b, const char *out, const char *in, int ch)
{
    add(b, "const %s_s: f32[%d] = random(%d, 0.5, 1.5)\n", out, ch, seed++);
    add(b, "const %s_b: f32[%d] = random(%d, -0.2, 0.2)\n", out, ch, seed++);
    add(b, "const %s_m: f32[%d] = random(%d, -0.2, 0.2)\n", out, ch, seed++);
    add(b, "const %s_v: f32[%d] = random(%d, 0.5, 1.5)\n", out, ch, seed++);
    add(b, "%s = BatchNorm(%s, %s_s, %s_b, %s_m, %s_v) epsilon=0.001\n", out, in, out, out, out, out);
}

static void dense(buf *b, const char *out, const char *in, int in_w, int out_w, double scale)
{
    add(b, "const %s_w: f32[%d, %d] = random(%d, %g, %g)\n", out, out_w, in_w, seed++, -scale, scale);
    add(b, "const %s_b: f32[%d] = random(%d, -0.1, 0.1)\n", out, out_w, seed++);
    add(b, "%s = Gemm(%s, %s_w, %s_b) transB=1\n", out, in, out, out);
}

char *model_residual_mlp(int blocks, int width)
{
    buf b = {0};
    seed = 100;
    add(&b, "input x: f32[N, %d]\n", width);
    const char *prev = "x";
    char cur[32], name[64];
    for (int i = 0; i < blocks; i++) {
        snprintf(name, sizeof name, "b%d_d1", i);
        dense(&b, name, prev, width, width, 1.7 / __builtin_sqrt((double)width));
        add(&b, "b%d_r1 = Relu(b%d_d1)\n", i, i);
        snprintf(name, sizeof name, "b%d_bn1", i);
        char in[64];
        snprintf(in, sizeof in, "b%d_r1", i);
        batchnorm(&b, name, in, width);
        snprintf(name, sizeof name, "b%d_d2", i);
        snprintf(in, sizeof in, "b%d_bn1", i);
        dense(&b, name, in, width, width, 0.3 / __builtin_sqrt((double)width));
        snprintf(name, sizeof name, "b%d_bn2", i);
        snprintf(in, sizeof in, "b%d_d2", i);
        batchnorm(&b, name, in, width);
        add(&b, "b%d_sum = Add(b%d_bn2, %s)\n", i, i, prev);
        add(&b, "b%d_out = Relu(b%d_sum)\n", i, i);
        snprintf(cur, sizeof cur, "b%d_out", i);
        prev = cur;
    }
    dense(&b, "logits", prev, width, 10, 1.0 / __builtin_sqrt((double)width));
    add(&b, "y = Softmax(logits)\noutput y\n");
    return b.s;
}

static void conv(buf *b, const char *out, const char *in, int c, int m, int k, int stride, int pad)
{
    add(b, "const %s_w: f32[%d, %d, %d, %d] = random(%d, %g, %g)\n", out, m, c, k, k, seed++,
        -1.5 / __builtin_sqrt((double)(c * k * k)), 1.5 / __builtin_sqrt((double)(c * k * k)));
    add(b, "%s = Conv2D(%s, %s_w) strides=[%d, %d] pads=[%d, %d, %d, %d]\n", out, in, out, stride,
        stride, pad, pad, pad, pad);
}

char *model_small_resnet(void)
{
    buf b = {0};
    seed = 500;
    add(&b, "input x: f32[N, 3, 16, 16]\n");
    conv(&b, "stem", "x", 3, 8, 3, 1, 1);
    batchnorm(&b, "stem_bn", "stem", 8);
    add(&b, "stem_r = Relu(stem_bn)\n");
    add(&b, "pool = MaxPool(stem_r) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]\n");
    /* identity block at 8 channels, 8x8 */
    conv(&b, "a1", "pool", 8, 8, 3, 1, 1);
    batchnorm(&b, "a1_bn", "a1", 8);
    add(&b, "a1_r = Relu(a1_bn)\n");
    conv(&b, "a2", "a1_r", 8, 8, 3, 1, 1);
    batchnorm(&b, "a2_bn", "a2", 8);
    add(&b, "a_sum = Add(a2_bn, pool)\na_out = Relu(a_sum)\n");
    /* projection block to 16 channels, 4x4 */
    conv(&b, "p1", "a_out", 8, 16, 3, 2, 1);
    batchnorm(&b, "p1_bn", "p1", 16);
    add(&b, "p1_r = Relu(p1_bn)\n");
    conv(&b, "p2", "p1_r", 16, 16, 3, 1, 1);
    batchnorm(&b, "p2_bn", "p2", 16);
    conv(&b, "proj", "a_out", 8, 16, 1, 2, 0);
    batchnorm(&b, "proj_bn", "proj", 16);
    add(&b, "p_sum = Add(p2_bn, proj_bn)\np_out = Relu(p_sum)\n");
    add(&b, "gap = GlobalAveragePool(p_out)\nflat = Flatten(gap)\n");
    dense(&b, "logits", "flat", 16, 10, 0.5);
    add(&b, "y = Softmax(logits)\noutput y\n");
    return b.s;
}

char *model_keras_padded_cnn(void)
{
    buf b = {0};
    seed = 700;
    add(&b, "input x: f32[N, 3, 19, 18]\n");
    /* ResNet50's stem: ZeroPadding2D(3), Conv 7x7 stride 2 "valid" */
    add(&b, "stem_pad = Pad(x) pads=[0, 0, 3, 3, 0, 0, 3, 3]\n");
    conv(&b, "stem", "stem_pad", 3, 8, 7, 2, 0);
    batchnorm(&b, "stem_bn", "stem", 8);
    add(&b, "stem_r = Relu(stem_bn)\n");
    /* ZeroPadding2D(1) then MaxPooling2D(3, strides=2) */
    add(&b, "pool_pad = Pad(stem_r) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n");
    add(&b, "pool = MaxPool(pool_pad) kernel_shape=[3, 3] strides=[2, 2]\n");
    /* Conv2D(padding="same", strides=2) through tf2onnx: an asymmetric Pad */
    add(&b, "down_pad = Pad(pool) pads=[0, 0, 0, 0, 0, 0, 1, 1]\n");
    conv(&b, "down", "down_pad", 8, 12, 3, 2, 0);
    batchnorm(&b, "down_bn", "down", 12);
    add(&b, "down_r = Relu(down_bn)\n");
    /* a reflect Pad, which stays a Pad, and a padded average pool */
    add(&b, "refl = Pad(down_r) pads=[0, 0, 1, 0, 0, 0, 1, 1] mode=\"reflect\"\n");
    add(&b, "avg_pad = Pad(refl) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n");
    add(&b, "avg = AveragePool(avg_pad) kernel_shape=[3, 3]\n");
    add(&b, "gap = GlobalAveragePool(avg)\nflat = Flatten(gap)\n");
    dense(&b, "logits", "flat", 12, 10, 0.5);
    add(&b, "y = Softmax(logits)\noutput y\n");
    return b.s;
}
