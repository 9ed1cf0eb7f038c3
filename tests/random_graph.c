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
    /* One conv activation in four as tf2onnx writes a Keras model whose
     * Transposes its optimiser left: into NHWC, a per-channel scale [C]
     * (broadcast along the last dim), the activation, back to NCHW, which
     * sink-transpose undoes. Decided by next_seed, not pick, so the other
     * choices of every seed stay as they were. */
    if (v->conv && g->next_seed % 4 == 1) {
        char t[32], sc[32], act[32];
        fresh(g, t, "nhwc");
        emit(g, "%s = Transpose(%s) perm=[0, 2, 3, 1]\n", t, v->name);
        fresh(g, sc, "scale");
        emit(g, "const %s_c: f32[%d] = random(%d, 0.5, 1.5)\n", sc, v->ch, g->next_seed++);
        emit(g, "%s = Mul(%s, %s_c)\n", sc, t, sc);
        fresh(g, act, "act");
        snprintf(call, sizeof call, acts[pick(g, 8)], sc);
        emit(g, "%s = %s\n", act, call);
        fresh(g, out, "nchw");
        emit(g, "%s = Transpose(%s) perm=[0, 3, 1, 2]\n", out, act);
        snprintf(v->name, sizeof v->name, "%s", out);
        return;
    }
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

/* ---------------------------------------------------------------- transformer blocks */

/* A [K, N] projection of value `in` ([N, S, K]) with an optional bias Add,
 * as PyTorch's Linear exports (MatMul then Add): into out. */
static void projection(gen *g, const char *in, int k, int n, int bias, char *out)
{
    double scale = 1.5 / __builtin_sqrt((double)k);
    char mm[32];
    fresh(g, mm, "proj");
    emit(g, "const %s_w: f32[%d, %d] = random(%d, %g, %g)\n", mm, k, n, g->next_seed++, -scale, scale);
    emit(g, "%s = MatMul(%s, %s_w)\n", mm, in, mm);
    if (!bias) {
        snprintf(out, 32, "%s", mm);
        return;
    }
    fresh(g, out, "biased");
    emit(g, "const %s_b: f32[%d] = random(%d, -0.2, 0.2)\n", out, n, g->next_seed++);
    if (pick(g, 2)) emit(g, "%s = Add(%s_b, %s)\n", out, out, mm); /* PyTorch's operand order */
    else emit(g, "%s = Add(%s, %s_b)\n", out, mm, out);
}

static void layer_norm(gen *g, const char *in, int d, const char *residual, char *out)
{
    fresh(g, out, "ln");
    emit(g, "const %s_s: f32[%d] = random(%d, 0.5, 1.5)\n", out, d, g->next_seed++);
    emit(g, "const %s_b: f32[%d] = random(%d, -0.3, 0.3)\n", out, d, g->next_seed++);
    if (residual) {
        /* the residual Add written out, as exporters do; fuse-layernorm
         * takes it into the LayerNorm */
        char sum[32];
        fresh(g, sum, "res");
        emit(g, "%s = Add(%s, %s)\n", sum, residual, in);
        emit(g, "%s = LayerNorm(%s, %s_s, %s_b)\n", out, sum, out, out);
    } else {
        emit(g, "%s = LayerNorm(%s, %s_s, %s_b)\n", out, in, out, out);
    }
}

/* One attention sub-block of x ([N, S, d], h heads): Q, K and V as one
 * projection and Slices (PyTorch's in_proj) or as three projections of the
 * same input (Keras'), heads split by Reshape and Transpose, the scale on
 * Q or on the scores, an optional causal mask (-inf grown to [S, S] and
 * cut by Trilu), Softmax, the heads joined and the output projection. */
static void attention_block(gen *g, const char *x, int d, int h, char *out)
{
    int dh = d / h, bias = pick(g, 2);
    char q[32], k[32], v[32];
    if (pick(g, 2)) {
        char qkv[32];
        projection(g, x, d, 3 * d, bias, qkv);
        const char *names[3] = {"q", "k", "v"};
        char *dst[3] = {q, k, v};
        for (int i = 0; i < 3; i++) {
            fresh(g, dst[i], names[i]);
            emit(g, "%s = Slice(%s) starts=[%d] ends=[%d] axes=[-1]\n", dst[i], qkv, i * d, (i + 1) * d);
        }
    } else {
        projection(g, x, d, d, bias, q);
        projection(g, x, d, d, bias, k);
        projection(g, x, d, d, bias, v);
    }
    char qh[32], kh[32], vh[32], qt[32], kt[32], vt[32];
    fresh(g, qh, "qh");
    fresh(g, kh, "kh");
    fresh(g, vh, "vh");
    emit(g, "%s = Reshape(%s) shape=[0, 0, %d, %d]\n", qh, q, h, dh);
    emit(g, "%s = Reshape(%s) shape=[0, 0, %d, %d]\n", kh, k, h, dh);
    emit(g, "%s = Reshape(%s) shape=[0, 0, %d, %d]\n", vh, v, h, dh);
    fresh(g, qt, "qt");
    fresh(g, kt, "kt");
    fresh(g, vt, "vt");
    emit(g, "%s = Transpose(%s) perm=[0, 2, 1, 3]\n", qt, qh);
    emit(g, "%s = Transpose(%s) perm=[0, 2, 3, 1]\n", kt, kh);
    emit(g, "%s = Transpose(%s) perm=[0, 2, 1, 3]\n", vt, vh);
    char c[32], scores[32];
    fresh(g, c, "scale");
    emit(g, "const %s: f32[1] = full(%g)\n", c, __builtin_sqrt((double)dh));
    fresh(g, scores, "scores");
    if (pick(g, 2)) {
        char qs[32];
        fresh(g, qs, "qs");
        emit(g, "%s = Div(%s, %s)\n", qs, qt, c);
        emit(g, "%s = MatMul(%s, %s)\n", scores, qs, kt);
    } else {
        char raw[32];
        fresh(g, raw, "raw");
        emit(g, "%s = MatMul(%s, %s)\n", raw, qt, kt);
        emit(g, "%s = Div(%s, %s)\n", scores, raw, c);
    }
    if (pick(g, 3) == 0) {
        char full[32], grown[32], mask[32], masked[32];
        fresh(g, full, "minf");
        fresh(g, grown, "grown");
        fresh(g, mask, "mask");
        fresh(g, masked, "masked");
        emit(g, "const %s: f32[1, 1] = full(-inf)\n", full);
        emit(g, "%s = Expand(%s) shape=[S, S]\n", grown, full);
        emit(g, "%s = Trilu(%s) k=1\n", mask, grown);
        emit(g, "%s = Add(%s, %s)\n", masked, scores, mask);
        snprintf(scores, sizeof scores, "%s", masked);
    }
    char p[32], o[32], ot[32], joined[32];
    fresh(g, p, "probs");
    emit(g, "%s = Softmax(%s) axis=-1\n", p, scores);
    fresh(g, o, "heads");
    emit(g, "%s = MatMul(%s, %s)\n", o, p, vt);
    fresh(g, ot, "ot");
    emit(g, "%s = Transpose(%s) perm=[0, 2, 1, 3]\n", ot, o);
    fresh(g, joined, "joined");
    emit(g, "%s = Reshape(%s) shape=[0, 0, %d]\n", joined, ot, d);
    projection(g, joined, d, d, 1, out);
}

char *random_transformer(uint64_t seed)
{
    gen g = {0};
    g.state = seed * 0x9E3779B97F4A7C15ull + 11;
    g.next_seed = 1;
    static const int widths[] = {8, 12, 16, 32};
    int d = widths[pick(&g, 4)];
    int h = d % 4 == 0 && pick(&g, 2) ? 4 : d % 2 == 0 && pick(&g, 2) ? 2 : 1;
    emit(&g, "input x: f32[N, S, %d]\n", d);
    char x[32];
    snprintf(x, sizeof x, "x");
    if (pick(&g, 3) == 0) {
        /* positions arange(S) as a float ramp added to the input */
        char pos[32], col[32], ramp[32];
        fresh(&g, pos, "pos");
        fresh(&g, col, "col");
        fresh(&g, ramp, "ramp");
        emit(&g, "%s = Range() start=%d delta=0.25 shape=[S]\n", pos, pick(&g, 5) - 2);
        emit(&g, "%s = Reshape(%s) shape=[S, 1]\n", col, pos);
        emit(&g, "const %s_w: f32[1, %d] = random(%d, -0.2, 0.2)\n", ramp, d, g.next_seed++);
        emit(&g, "%s = Mul(%s, %s_w)\n", ramp, col, ramp);
        fresh(&g, x, "xp");
        emit(&g, "%s = Add(x, %s)\n", x, ramp);
    }
    int blocks = 1 + pick(&g, 2), extra = -1;
    char extra_name[32] = "";
    for (int b = 0; b < blocks; b++) {
        int pre_norm = pick(&g, 2), f = d * (1 + pick(&g, 3));
        char in[32], att[32], mid[32];
        if (pre_norm) layer_norm(&g, x, d, NULL, in);
        else snprintf(in, sizeof in, "%s", x);
        attention_block(&g, in, d, h, att);
        if (pre_norm) {
            fresh(&g, mid, "res");
            emit(&g, "%s = Add(%s, %s)\n", mid, x, att);
        } else {
            layer_norm(&g, att, d, x, mid);
        }
        /* the feed-forward network: bias + GELU or ReLU in the first GEMM's
         * epilogue, then back to d */
        char ffn_in[32], hidden[32], act[32], back[32], next[32];
        if (pre_norm) layer_norm(&g, mid, d, NULL, ffn_in);
        else snprintf(ffn_in, sizeof ffn_in, "%s", mid);
        projection(&g, ffn_in, d, f, 1, hidden);
        fresh(&g, act, "act");
        emit(&g, "%s = %s(%s)\n", act, pick(&g, 2) ? "Gelu" : "Relu", hidden);
        projection(&g, act, f, d, 1, back);
        if (pre_norm) {
            fresh(&g, next, "res");
            emit(&g, "%s = Add(%s, %s)\n", next, mid, back);
        } else {
            layer_norm(&g, back, d, mid, next);
        }
        /* a value inside the block also a graph output: fusion must keep it */
        if (extra < 0 && pick(&g, 4) == 0) {
            extra = b;
            snprintf(extra_name, sizeof extra_name, "%s", mid);
        }
        snprintf(x, sizeof x, "%s", next);
    }
    emit(&g, "y = Identity(%s)\n", x);
    emit(&g, "output y\n");
    if (extra >= 0) emit(&g, "output %s\n", extra_name);
    return g.s;
}
