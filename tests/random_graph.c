#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random_graph.h"

typedef struct gen {
    uint64_t state;
    char *s;
    size_t len, cap;
    int next_id, next_seed;
} gen;

static uint64_t rnd(gen *g)
{
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int pick(gen *g, int n) { return (int)(rnd(g) % (uint64_t)n); }

static void emit(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (g->len + (size_t)n + 1 > g->cap) {
        g->cap = (g->len + (size_t)n + 1) * 2;
        g->s = realloc(g->s, g->cap);
        if (!g->s) abort(); /* test code */
    }
    va_start(ap, fmt);
    vsnprintf(g->s + g->len, g->cap - g->len, fmt, ap);
    va_end(ap);
    g->len += (size_t)n;
}

/* A fresh value name into buf. */
static const char *fresh(gen *g, char *buf, const char *what)
{
    snprintf(buf, 32, "%s%d", what, g->next_id++);
    return buf;
}

typedef struct value {
    char name[32];
    int conv; /* 1: [N, C, H, W]; 0: [N, C] */
    int ch, h, w;
} value;

static void batchnorm(gen *g, value *v)
{
    char out[32];
    /* Some dense values take a LayerNorm instead. Decided by the seed
     * counter, not by a draw, so that every seed's graph stays what it was
     * but for this node. */
    if (!v->conv && g->next_seed % 4 == 3) {
        fresh(g, out, "ln");
        emit(g, "const %s_s: f32[%d] = random(%d, 0.5, 1.5)\n", out, v->ch, g->next_seed++);
        emit(g, "const %s_b: f32[%d] = random(%d, -0.3, 0.3)\n", out, v->ch, g->next_seed++);
        emit(g, "%s = LayerNorm(%s, %s_s, %s_b)\n", out, v->name, out, out);
        snprintf(v->name, sizeof v->name, "%s", out);
        return;
    }
    fresh(g, out, "bn");
    emit(g, "const %s_s: f32[%d] = random(%d, 0.5, 1.5)\n", out, v->ch, g->next_seed++);
    emit(g, "const %s_b: f32[%d] = random(%d, -0.3, 0.3)\n", out, v->ch, g->next_seed++);
    emit(g, "const %s_m: f32[%d] = random(%d, -0.3, 0.3)\n", out, v->ch, g->next_seed++);
    emit(g, "const %s_v: f32[%d] = random(%d, 0.3, 1.5)\n", out, v->ch, g->next_seed++);
    emit(g, "%s = BatchNorm(%s, %s_s, %s_b, %s_m, %s_v) epsilon=%s\n", out, v->name, out, out, out, out,
         pick(g, 2) ? "0.001" : "1e-05");
    snprintf(v->name, sizeof v->name, "%s", out);
}

static void activation(gen *g, value *v)
{
    static const char *acts[] = {"Relu(%s)", "LeakyRelu(%s) alpha=0.1", "Sigmoid(%s)", "Tanh(%s)",
                                 "Clip(%s) min=-0.5 max=2", "Gelu(%s)", "Relu(%s)", "Relu(%s)"};
    char out[32], call[96];
    fresh(g, out, "act");
    snprintf(call, sizeof call, acts[pick(g, 8)], v->name);
    emit(g, "%s = %s\n", out, call);
    snprintf(v->name, sizeof v->name, "%s", out);
}

/* Dense or Conv2D from v to `ch` channels (3x3 same-padded or 1x1). */
static void layer(gen *g, value *v, int ch, int one_by_one, int stride)
{
    char out[32];
    fresh(g, out, v->conv ? "conv" : "dense");
    int bias = pick(g, 3) != 0;
    if (v->conv) {
        int k = one_by_one ? 1 : 3, pad = one_by_one ? 0 : 1;
        double scale = 1.7 / __builtin_sqrt((double)(v->ch * k * k));
        emit(g, "const %s_w: f32[%d, %d, %d, %d] = random(%d, %g, %g)\n", out, ch, v->ch, k, k,
             g->next_seed++, -scale, scale);
        if (bias) emit(g, "const %s_b: f32[%d] = random(%d, -0.1, 0.1)\n", out, ch, g->next_seed++);
        /* One 3x3 layer in four pads the way Keras' padding="same" exports
         * through tf2onnx: an explicit Pad (asymmetric with stride 2 on an
         * even size), mostly of zeros (which fold-pad folds) and sometimes
         * of another value (which stays). */
        char from[40];
        int pads[4] = {pad, pad, pad, pad}; /* top, left, bottom, right */
        snprintf(from, sizeof from, "%s", v->name);
        if (!one_by_one && pick(g, 4) == 0) {
            int size[2] = {v->h, v->w};
            for (int i = 0; i < 2; i++) {
                int o = (size[i] + stride - 1) / stride, total = (o - 1) * stride + k - size[i];
                pads[i] = total / 2;
                pads[i + 2] = total - total / 2;
            }
            snprintf(from, sizeof from, "%s_pad", out);
            emit(g, "%s = Pad(%s) pads=[0, 0, %d, %d, 0, 0, %d, %d]%s\n", from, v->name, pads[0], pads[1], pads[2],
                 pads[3], pick(g, 4) == 0 ? " value=0.5" : "");
            v->h += pads[0] + pads[2];
            v->w += pads[1] + pads[3];
            pads[0] = pads[1] = pads[2] = pads[3] = 0;
        }
        emit(g, "%s = Conv2D(%s, %s_w%s%s%s) strides=[%d, %d] pads=[%d, %d, %d, %d]\n", out, from, out,
             bias ? ", " : "", bias ? out : "", bias ? "_b" : "", stride, stride, pads[0], pads[1], pads[2], pads[3]);
        v->h = (v->h + pads[0] + pads[2] - k) / stride + 1;
        v->w = (v->w + pads[1] + pads[3] - k) / stride + 1;
    } else {
        double scale = 1.7 / __builtin_sqrt((double)v->ch);
        int trans = pick(g, 4) != 0;
        emit(g, "const %s_w: f32[%d, %d] = random(%d, %g, %g)\n", out, trans ? ch : v->ch, trans ? v->ch : ch,
             g->next_seed++, -scale, scale);
        if (bias) emit(g, "const %s_b: f32[%d] = random(%d, -0.1, 0.1)\n", out, ch, g->next_seed++);
        emit(g, "%s = Gemm(%s, %s_w%s%s%s)%s\n", out, v->name, out, bias ? ", " : "", bias ? out : "",
             bias ? "_b" : "", trans ? " transB=1" : "");
    }
    v->ch = ch;
    snprintf(v->name, sizeof v->name, "%s", out);
}

char *random_graph(uint64_t seed)
{
    gen g = {0};
    g.state = seed * 0x2545F4914F6CDD1Dull + 7;
    g.next_seed = 1;
    value v = {"x", pick(&g, 3) == 0, 1 + pick(&g, 33), 0, 0};
    if (v.conv) {
        v.ch = 1 + pick(&g, 8);
        v.h = 3 + pick(&g, 9);
        v.w = 3 + pick(&g, 9);
        emit(&g, "input x: f32[N, %d, %d, %d]\n", v.ch, v.h, v.w);
    } else {
        emit(&g, "input x: f32[N, %d]\n", v.ch);
    }
    int blocks = 1 + pick(&g, 4);
    int extra_outputs = 0;
    char outputs[4][32];
    for (int b = 0; b < blocks; b++) {
        value shortcut = v;
        int width = pick(&g, 3) == 0 ? (v.conv ? 1 + pick(&g, 12) : 1 + pick(&g, 40)) : v.ch;
        int stride = v.conv && width != v.ch && v.h > 4 && pick(&g, 2) ? 2 : 1;
        int style = pick(&g, 3); /* 0 post-activation, 1 BN after activation, 2 pre-activation */
        if (style == 2) {
            batchnorm(&g, &v);
            activation(&g, &v);
            layer(&g, &v, width, 0, stride);
            batchnorm(&g, &v);
            activation(&g, &v);
            layer(&g, &v, width, 0, 1);
        } else {
            layer(&g, &v, width, 0, stride);
            if (style == 0) {
                batchnorm(&g, &v);
                activation(&g, &v);
            } else {
                activation(&g, &v);
                batchnorm(&g, &v);
            }
            layer(&g, &v, width, 0, 1);
            if (pick(&g, 2)) batchnorm(&g, &v);
        }
        if (width != shortcut.ch || stride != 1) {
            layer(&g, &shortcut, width, 1, stride);
            if (pick(&g, 2)) batchnorm(&g, &shortcut);
        }
        char sum[32];
        fresh(&g, sum, "sum");
        emit(&g, "%s = Add(%s, %s)\n", sum, v.name, shortcut.name);
        snprintf(v.name, sizeof v.name, "%s", sum);
        /* The pre-activation sum used twice: by the activation and as an
         * extra output (or a second consumer), so fusion must keep it. */
        if (extra_outputs < 2 && pick(&g, 4) == 0) {
            snprintf(outputs[extra_outputs++], 32, "%s", sum);
        } else if (pick(&g, 5) == 0) {
            char twice[32];
            fresh(&g, twice, "twice");
            emit(&g, "%s = Mul(%s, %s)\n", twice, sum, sum);
            activation(&g, &v);
            char join[32];
            fresh(&g, join, "join");
            emit(&g, "%s = Sub(%s, %s)\n", join, v.name, twice);
            snprintf(v.name, sizeof v.name, "%s", join);
            continue;
        }
        if (style != 2) activation(&g, &v);
    }
    if (v.conv) {
        char pool[32], flat[32];
        fresh(&g, pool, "gap");
        /* the same mean as a reduction, for some seeds (no draw, as above) */
        if (g.next_seed % 3 == 0) emit(&g, "%s = ReduceMean(%s) axes=[2, 3]\n", pool, v.name);
        else emit(&g, "%s = GlobalAveragePool(%s)\n", pool, v.name);
        fresh(&g, flat, "flat");
        emit(&g, "%s = Flatten(%s)\n", flat, pool);
        snprintf(v.name, sizeof v.name, "%s", flat);
        v.conv = 0;
    }
    layer(&g, &v, 1 + pick(&g, 12), 0, 1);
    if (pick(&g, 2)) {
        emit(&g, "y = Softmax(%s)\n", v.name);
    } else {
        emit(&g, "y = Identity(%s)\n", v.name);
    }
    emit(&g, "output y\n");
    for (int i = 0; i < extra_outputs; i++) emit(&g, "output %s\n", outputs[i]);
    return g.s;
}
