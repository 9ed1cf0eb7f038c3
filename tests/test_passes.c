/* The graph compiler's passes, one at a time: text in, the canonical text
 * expected out (written by hand), and for every legality condition a graph
 * the pass must leave alone. Then the pipeline: BatchNorm folding checked
 * numerically on the reference executor, the example model's node list at
 * -O2, the pass manager's contract, out-of-memory at every allocation, and
 * clone, save and dot. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clgraph.h"
#include "passes.h"

#define EXAMPLE "examples/residual_mlp.clg"

/* ---------------------------------------------------------------- helpers */

static clg_graph *parse(const char *text)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_parse(g, text, strlen(text), NULL) != CLG_OK)
        fail_msg("parse: %s\n--- text:\n%s", clg_graph_errmsg(g), text);
    return g;
}

static clg_graph *load(const char *path)
{
    clg_graph *g = NULL;
    assert_int_equal(clg_graph_create(&g, NULL, NULL), CLG_OK);
    if (clg_graph_load(g, path) != CLG_OK) fail_msg("load: %s", clg_graph_errmsg(g));
    return g;
}

/* The canonical text of g, malloc'd. */
static char *print(clg_graph *g)
{
    char *text = NULL;
    assert_int_equal(clg_graph_print(g, &text, NULL), CLG_OK);
    char *copy = strdup(text);
    clg_graph_free(g, text);
    assert_non_null(copy);
    return copy;
}

/* Runs one pass (then dead-code elimination, so that what the pass orphaned
 * does not clutter the expected text) and compares the canonical text. The
 * result must also read back to itself. */
static void check_pass(const char *pass, const char *in, const char *expected)
{
    clg_graph *g = parse(in);
    if (clg_pass_run_named(g, pass) != CLG_OK) fail_msg("%s: %s", pass, clg_graph_errmsg(g));
    if (strcmp(pass, "dce") != 0) assert_int_equal(clg_pass_run_named(g, "dce"), CLG_OK);
    char *got = print(g);
    if (strcmp(got, expected) != 0)
        fail_msg("pass %s\n--- input:\n%s--- got:\n%s--- expected:\n%s", pass, in, got, expected);
    clg_graph *again = parse(got);
    char *reprinted = print(again);
    assert_string_equal(reprinted, got);
    free(reprinted);
    clg_graph_destroy(again);
    free(got);
    clg_graph_destroy(g);
}

/* "Do not fold/fuse": the pass must leave the text exactly as it was. */
static void check_unchanged(const char *pass, const char *in)
{
    check_pass(pass, in, in);
}

/* ---------------------------------------------------------------- dce */

static void test_dce(void **state)
{
    (void)state;
    check_pass("dce",
               "input x: f32[N, 2]\n"
               "input unused: f32[3]\n"
               "const c: f32[2] = ones\n"
               "const dead_c: f32[2] = zeros\n"
               "a = Relu(x)\n"
               "dead = Add(a, dead_c)\n"
               "dead2 = Sigmoid(dead)\n"
               "y = Add(a, c)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "input unused: f32[3]\n"
               "const c: f32[2] = ones\n"
               "a = Relu(x)\n"
               "y = Add(a, c)\n"
               "output y\n");
}

/* ---------------------------------------------------------------- identity */

static void test_identity(void **state)
{
    (void)state;
    check_pass("identity",
               "input x: f32[N, 4]\n"
               "a = Identity(x)\n"
               "b = Relu(a)\n"
               "c = Reshape(b) shape=[0, 4]\n"
               "d = Flatten(c)\n"
               "e = Transpose(d) perm=[0, 1]\n"
               "f = Concat(e)\n"
               "y = Sigmoid(f)\n"
               "output y\n",
               "input x: f32[N, 4]\n"
               "b = Relu(x)\n"
               "y = Sigmoid(b)\n"
               "output y\n");
    /* Whole Slices (a dim of 1 read backwards too), Expand and Tile to the
     * same shape, blocks of 1. */
    check_pass("identity",
               "input x: f32[N, 4, 1, 2, 2]\n"
               "a = Relu(x)\n"
               "s = Slice(a) starts=[0, 0, -1] ends=[2147483648, 100, -4294967296] axes=[0, 1, 2] steps=[1, 1, -1]\n"
               "e = Expand(s) shape=[1, 1, 2, 2]\n"
               "t = Tile(e) repeats=[1, 1, 1, 1, 1]\n"
               "r = Reshape(t) shape=[0, 4, 2, 2]\n"
               "d = DepthToSpace(r) blocksize=1 mode=\"CRD\"\n"
               "p = SpaceToDepth(d) blocksize=1\n"
               "y = Sigmoid(p)\n"
               "output y\n",
               "input x: f32[N, 4, 1, 2, 2]\n"
               "a = Relu(x)\n"
               "r = Reshape(a) shape=[0, 4, 2, 2]\n"
               "y = Sigmoid(r)\n"
               "output y\n");
}

static void test_identity_output_keeps_name(void **state)
{
    (void)state;
    /* The output's name moves to the value the Identity copied. */
    check_pass("identity",
               "input x: f32[N, 4]\n"
               "h = Relu(x)\n"
               "y = Identity(h)\n"
               "output y\n",
               "input x: f32[N, 4]\n"
               "y = Relu(x)\n"
               "output y\n");
}

static void test_identity_not_removed(void **state)
{
    (void)state;
    /* An output copying a graph input: the input's name cannot change. */
    check_unchanged("identity",
                    "input x: f32[N, 4]\n"
                    "y = Identity(x)\n"
                    "output y\n");
    /* An output copying another output: one value cannot have two names. */
    check_unchanged("identity",
                    "input x: f32[N, 4]\n"
                    "h = Relu(x)\n"
                    "y = Identity(h)\n"
                    "output h\n"
                    "output y\n");
    /* Shape-changing Reshape, a real Transpose, a Concat of two. */
    check_unchanged("identity",
                    "input x: f32[N, 2, 3]\n"
                    "r = Reshape(x) shape=[0, 3, 2]\n"
                    "t = Transpose(r) perm=[0, 2, 1]\n"
                    "c = Concat(t, t)\n"
                    "output c\n");
    /* A reversed dim keeps the shape but is no copy; a step of 2, an offset
     * start, a broadcast, a repeat, a real block. */
    check_unchanged("identity",
                    "input x: f32[N, 4, 2, 2]\n"
                    "input z: f32[N, 4, 1, 2]\n"
                    "s = Slice(x) starts=[-1] ends=[-4294967296] axes=[1] steps=[-1]\n"
                    "s2 = Slice(x) starts=[0] ends=[4] axes=[1] steps=[2]\n"
                    "s3 = Slice(x) starts=[1] ends=[4] axes=[1]\n"
                    "e = Expand(z) shape=[1, 1, 3, 1]\n"
                    "t = Tile(x) repeats=[1, 1, 1, 2]\n"
                    "d = DepthToSpace(x) blocksize=2\n"
                    "p = SpaceToDepth(x) blocksize=2\n"
                    "output s\n"
                    "output s2\n"
                    "output s3\n"
                    "output e\n"
                    "output t\n"
                    "output d\n"
                    "output p\n");
}

/* ---------------------------------------------------------------- fold-constants */

static void test_fold_constants(void **state)
{
    (void)state;
    check_pass("fold-constants",
               "input x: f32[N, 2]\n"
               "const a: f32[2] = [1, 2]\n"
               "const b: f32[2] = [3, -5]\n"
               "s = Add(a, b)\n"
               "r = Relu(s)\n"
               "y = Mul(x, r)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const r: f32[2] = [4, 0]\n"
               "y = Mul(x, r)\n"
               "output y\n");
    /* A folded output keeps its name; equal values print as a generator. */
    check_pass("fold-constants",
               "const a: f32[3] = full(2)\n"
               "y = Mul(a, a)\n"
               "output y\n",
               "const y: f32[3] = full(4)\n"
               "output y\n");
    check_pass("fold-constants",
               "const a: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2, 2] = [1, 0, 0, 1]\n"
               "y = Gemm(a, b) transB=1\n"
               "z = Transpose(y)\n"
               "output z\n",
               "const z: f32[2, 2] = [1, 3, 2, 4]\n"
               "output z\n");
}

static void test_fold_constants_not_folded(void **state)
{
    (void)state;
    /* One input is not a constant. */
    check_unchanged("fold-constants",
                    "input x: f32[2]\n"
                    "const a: f32[2] = [1, 2]\n"
                    "y = Add(a, x)\n"
                    "output y\n");
}

/* ---------------------------------------------------------------- fold-pad */

static double reference_difference(clg_graph *a, clg_graph *b, int64_t batch);
static int count_op(clg_graph *g, clg_op op);

static void test_fold_pad(void **state)
{
    (void)state;
    /* Keras' stride-2 "same" convolution: an asymmetric zero Pad joins the
     * Conv2D's own pads ([top, left, bottom, right] += [1, 0, 2, 1]). */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p = Pad(x) pads=[0, 0, 1, 0, 0, 0, 2, 1]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(p, w) strides=[2, 2] pads=[1, 1, 0, 0]\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(x, w) strides=[2, 2] pads=[2, 1, 2, 1]\n"
               "output y\n");
    /* AveragePool without pads of its own: the zeros count in the divisor,
     * which is count_include_pad=1. */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 0, 1]\n"
               "y = AveragePool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "y = AveragePool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 0, 1] count_include_pad=1\n"
               "output y\n");
    /* ... or with pads it already counts. */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p = Pad(x) pads=[0, 0, 1, 0, 0, 0, 0, 0]\n"
               "y = AveragePool(p) kernel_shape=[3, 3] pads=[0, 1, 1, 1] count_include_pad=1\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "y = AveragePool(x) kernel_shape=[3, 3] pads=[1, 1, 1, 1] count_include_pad=1\n"
               "output y\n");
    /* MaxPool: a -inf pad never wins, like MaxPool's own padding ... */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] value=-inf\n"
               "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "y = MaxPool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]\n"
               "output y\n");
    /* ... nor does a zero pad after a Relu (Keras' ResNet stem), nor after
     * a Clip whose min is not negative. */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "r = Relu(x)\n"
               "p = Pad(r) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
               "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "r = Relu(x)\n"
               "y = MaxPool(r) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]\n"
               "output y\n");
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "r = Clip(x) min=0 max=6\n"
               "p = Pad(r) pads=[0, 0, 0, 1, 0, 0, 1, 0]\n"
               "y = MaxPool(p) kernel_shape=[2, 2] strides=[2, 2]\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "r = Clip(x) min=0 max=6\n"
               "y = MaxPool(r) kernel_shape=[2, 2] strides=[2, 2] pads=[0, 1, 1, 0]\n"
               "output y\n");
    /* Two Pads in a row both fold (the pass runs to a fixpoint). */
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p1 = Pad(x) pads=[0, 0, 1, 0, 0, 0, 0, 0]\n"
               "p2 = Pad(p1) pads=[0, 0, 0, 2, 0, 0, 0, 1]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(p2, w)\n"
               "output y\n",
               "input x: f32[N, 3, 8, 8]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(x, w) pads=[1, 2, 0, 1]\n"
               "output y\n");
}

/* A Pad shared by several window ops (NASNet's separable convolutions)
 * folds into each, and goes. */
static void test_fold_pad_shared(void **state)
{
    (void)state;
    check_pass("fold-pad",
               "input x: f32[N, 3, 8, 8]\n"
               "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 2, 1]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(p, w) strides=[2, 2]\n"
               "z = AveragePool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
               "output y\n"
               "output z\n",
               "input x: f32[N, 3, 8, 8]\n"
               "const w: f32[4, 3, 3, 3] = random(1)\n"
               "y = Conv2D(x, w) strides=[2, 2] pads=[1, 1, 2, 1]\n"
               "z = AveragePool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 2, 1] count_include_pad=1\n"
               "output y\n"
               "output z\n");
}

static void test_fold_pad_refused(void **state)
{
    (void)state;
    static const char *cases[] = {
        /* Shared by a Conv2D and a MaxPool of a possibly negative input
         * (a 0 pad can win its max): the Pad stays for both ... */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "z = MaxPool(p) kernel_shape=[3, 3]\n"
        "output y\n"
        "output z\n",
        /* The padded tensor has another user ... */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "z = Relu(p)\n"
        "output y\n"
        "output z\n",
        /* ... or is a graph output. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n"
        "output p\n",
        /* Pads on C (or N) are no window's padding. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 1, 1, 1, 0, 0, 1, 1]\n"
        "const w: f32[4, 4, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n",
        /* A Conv2D pads with 0, not 1; nor with the input's reflection or edge. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] value=1\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n",
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] mode=\"reflect\"\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n",
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] mode=\"edge\"\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n",
        /* A crop is not padding. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, -1, 0, 0, 1, 1]\n"
        "const w: f32[4, 3, 3, 3] = random(1)\n"
        "y = Conv2D(p, w)\n"
        "output y\n",
        /* The Pad feeds the weight, not the input. */
        "input x: f32[N, 3, 8, 8]\n"
        "input w: f32[4, 3, 1, 1]\n"
        "p = Pad(w) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "y = Conv2D(x, p)\n"
        "output y\n",
        /* A zero pad can win a max over negative inputs. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
        "output y\n",
        "input x: f32[N, 3, 8, 8]\n"
        "r = Clip(x) min=-1 max=6\n"
        "p = Pad(r) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2]\n"
        "output y\n",
        /* With dilation a window may hold only padding: -inf there, but
         * -FLT_MAX from MaxPool's own padding. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1] value=-inf\n"
        "y = MaxPool(p) kernel_shape=[2, 2] dilations=[2, 2]\n"
        "output y\n",
        /* AveragePool that leaves its own padding out of the divisor. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 1, 1, 0, 0, 1, 1]\n"
        "y = AveragePool(p) kernel_shape=[3, 3] pads=[1, 1, 1, 1]\n"
        "output y\n",
        /* The summed pads would reach the window's size. */
        "input x: f32[N, 3, 8, 8]\n"
        "p = Pad(x) pads=[0, 0, 2, 0, 0, 0, 0, 0]\n"
        "y = AveragePool(p) kernel_shape=[2, 2] count_include_pad=1\n"
        "output y\n",
        /* ceil_mode: the last window starts on the Pad's rows, which
         * after folding would be trailing padding, and be dropped. */
        "input x: f32[N, 3, 4, 4]\n"
        "p = Pad(x) pads=[0, 0, 0, 0, 0, 0, 1, 1]\n"
        "y = AveragePool(p) kernel_shape=[2, 2] strides=[2, 2] ceil_mode=1 count_include_pad=1\n"
        "output y\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_unchanged("fold-pad", cases[i]);
}

/* The folded graphs compute what the Pads did: the reference executor
 * gives the same numbers before and after -O1, bit for bit (the Pad's
 * zeros add nothing to a sum and never win a max where the fold is made).
 * The ceil_mode cases round up (10 - 3 over stride 2) to a last window
 * that starts on the input, so they fold. */
static void test_fold_pad_numerics(void **state)
{
    (void)state;
    static const char *tails[] = {
        "const w: f32[4, 3, 3, 3] = random(1)\ny = Conv2D(p, w) strides=[2, 2] pads=[1, 0, 0, 1]",
        "const w: f32[3, 1, 3, 3] = random(1)\ny = Conv2D(p, w) group=3 dilations=[2, 2]",
        "y = AveragePool(p) kernel_shape=[3, 3] strides=[2, 2] ceil_mode=1",
        "y = AveragePool(p) kernel_shape=[3, 3] pads=[1, 0, 0, 1] count_include_pad=1",
        "y = MaxPool(p) kernel_shape=[3, 3] strides=[2, 2] ceil_mode=1",
    };
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "input x: f32[N, 3, 8, 8]\nr = Relu(x)\np = Pad(r) pads=[0, 0, 1, 0, 0, 0, 1, 1]\n%s\noutput y\n",
                 tails[i]);
        clg_graph *g = parse(text), *o = NULL;
        assert_int_equal(clg_graph_clone(g, &o), CLG_OK);
        assert_int_equal(clg_graph_optimize(o, 1, NULL, NULL), CLG_OK);
        if (count_op(o, CLG_OP_PAD) != 0) fail_msg("not folded:\n%s", text);
        for (int64_t batch = 1; batch <= 2; batch++) {
            double d = reference_difference(g, o, batch);
            if (d != 0.0) fail_msg("batch %lld: difference %g after folding\n%s", (long long)batch, d, text);
        }
        clg_graph_destroy(o);
        clg_graph_destroy(g);
    }
}

/* ---------------------------------------------------------------- shrink-conv */

/* DeepLabV3's ASPP on a small map: a 3x3 at dilation 12 over 4x4 reads
 * padding at every tap but the centre: a 1x1 convolution. A 5x5 depthwise
 * over 2x2 planes (EfficientNet's last stages) reads only its middle 3x3. */
static void test_shrink_conv(void **state)
{
    (void)state;
    check_pass("shrink-conv",
               "input x: f32[N, 1, 4, 4]\n"
               "const w: f32[1, 1, 3, 3] = [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
               "y = Conv2D(x, w) pads=[12, 12, 12, 12] dilations=[12, 12]\n"
               "output y\n",
               "input x: f32[N, 1, 4, 4]\n"
               "const w/taps: f32[1, 1, 1, 1] = [5]\n"
               "y = Conv2D(x, w/taps)\n"
               "output y\n");
    check_pass("shrink-conv",
               "input x: f32[N, 1, 2, 2]\n"
               "const w: f32[1, 1, 5, 5] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, "
               "22, 23, 24, 25]\n"
               "y = Conv2D(x, w) pads=[2, 2, 2, 2]\n"
               "output y\n",
               "input x: f32[N, 1, 2, 2]\n"
               "const w/taps: f32[1, 1, 3, 3] = [7, 8, 9, 12, 13, 14, 17, 18, 19]\n"
               "y = Conv2D(x, w/taps) pads=[1, 1, 1, 1]\n"
               "output y\n");
}

static void test_shrink_conv_refused(void **state)
{
    (void)state;
    /* Every tap reads the input somewhere. */
    check_unchanged("shrink-conv",
                    "input x: f32[N, 1, 5, 5]\n"
                    "const w: f32[1, 1, 3, 3] = random(1)\n"
                    "y = Conv2D(x, w) pads=[1, 1, 1, 1]\n"
                    "output y\n");
    /* Only the last tap reads, but input rows 1 and 2 are read by no
     * window: the shrunk kernel would need a negative end pad. */
    check_unchanged("shrink-conv",
                    "input x: f32[N, 1, 3, 3]\n"
                    "const w: f32[1, 1, 3, 3] = random(1)\n"
                    "y = Conv2D(x, w) strides=[3, 3] pads=[2, 2, 0, 0]\n"
                    "output y\n");
    /* The weight is an input, not a constant. */
    check_unchanged("shrink-conv",
                    "input x: f32[N, 1, 4, 4]\n"
                    "input w: f32[1, 1, 3, 3]\n"
                    "y = Conv2D(x, w) pads=[12, 12, 12, 12] dilations=[12, 12]\n"
                    "output y\n");
}

/* The reference executor's results before and after, over geometries:
 * dilation on one axis, strides, asymmetric pads, groups and a bias, a
 * weight another Conv shares (it keeps the full kernel). */
static void test_shrink_conv_numerics(void **state)
{
    (void)state;
    static const char *cases[] = {
        "input x: f32[N, 4, 4, 6]\nconst w: f32[5, 4, 3, 3] = random(1)\nconst b: f32[5] = random(2)\n"
        "y = Conv2D(x, w, b) pads=[6, 1, 6, 1] dilations=[6, 1]\noutput y\n",
        "input x: f32[N, 3, 3, 3]\nconst w: f32[3, 1, 7, 7] = random(1)\n"
        "y = Conv2D(x, w) pads=[3, 3, 3, 3] group=3\noutput y\n",
        "input x: f32[N, 2, 5, 4]\nconst w: f32[2, 2, 5, 3] = random(1)\n"
        "y = Conv2D(x, w) strides=[2, 2] pads=[4, 2, 3, 2] dilations=[2, 1]\noutput y\n",
        "input x: f32[N, 2, 4, 4]\nconst w: f32[2, 2, 3, 3] = random(1)\n"
        "y = Conv2D(x, w) pads=[8, 8, 8, 8] dilations=[8, 8]\nz = Conv2D(y, w) pads=[1, 1, 1, 1]\noutput z\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        clg_graph *g = parse(cases[i]), *o = NULL;
        assert_int_equal(clg_graph_clone(g, &o), CLG_OK);
        assert_int_equal(clg_pass_run_named(o, "shrink-conv"), CLG_OK);
        char *text = print(o);
        if (!strstr(text, "/taps")) fail_msg("case %zu: not shrunk:\n%s", i, text);
        free(text);
        for (int64_t batch = 1; batch <= 2; batch++) {
            double d = reference_difference(g, o, batch);
            if (d > 1e-6) fail_msg("case %zu, batch %lld: difference %g", i, (long long)batch, d);
        }
        clg_graph_destroy(o);
        clg_graph_destroy(g);
    }
}

/* ---------------------------------------------------------------- sink-transpose */

/* tf2onnx's NHWC Keras model when its own optimiser gave up: a Transpose
 * into and out of each Conv, a batch norm's Add, a Relu, a squeeze-and-
 * excitation ReduceMean and Mul and a Pad in NHWC between them. The region
 * computes in NCHW: the constant becomes [1, C, 1, 1], the axes and pads
 * move with the dims, and both Transposes between the Convs go. */
static void test_sink_transpose(void **state)
{
    (void)state;
    check_pass("sink-transpose",
               "input x: f32[N, 3, 4, 2]\n"
               "const w: f32[2, 2, 1, 1] = [1, 2, 3, 4]\n"
               "const s: f32[2] = [5, 6]\n"
               "t = Transpose(x) perm=[0, 3, 1, 2]\n"
               "c = Conv2D(t, w)\n"
               "u = Transpose(c) perm=[0, 2, 3, 1]\n"
               "a = Add(u, s)\n"
               "r = Relu(a)\n"
               "m = ReduceMean(r) axes=[1, 2]\n"
               "e = Mul(r, m)\n"
               "p = Pad(e) pads=[0, 1, 0, 0, 0, 1, 2, 0]\n"
               "t2 = Transpose(p) perm=[0, 3, 1, 2]\n"
               "y = Conv2D(t2, w)\n"
               "output y\n",
               "input x: f32[N, 3, 4, 2]\n"
               "const w: f32[2, 2, 1, 1] = [1, 2, 3, 4]\n"
               "t = Transpose(x) perm=[0, 3, 1, 2]\n"
               "c = Conv2D(t, w)\n"
               "const s/permuted: f32[1, 2, 1, 1] = [5, 6]\n"
               "a/in_layout = Add(c, s/permuted)\n"
               "r/in_layout = Relu(a/in_layout)\n"
               "m/in_layout = ReduceMean(r/in_layout) axes=[2, 3]\n"
               "e/in_layout = Mul(r/in_layout, m/in_layout)\n"
               "p/in_layout = Pad(e/in_layout) pads=[0, 0, 1, 0, 0, 0, 1, 2]\n"
               "y = Conv2D(p/in_layout, w)\n"
               "output y\n");
    /* Two Transposes of one perm into an Add (a residual in NHWC), a
     * Concat along NHWC's channels, and a graph output inside the region,
     * which gets a Transpose back under its own name. */
    check_pass("sink-transpose",
               "input x: f32[N, 2, 3, 4]\n"
               "input z: f32[N, 2, 3, 4]\n"
               "a = Transpose(x) perm=[0, 2, 3, 1]\n"
               "b = Transpose(z) perm=[0, 2, 3, 1]\n"
               "s = Add(a, b)\n"
               "k = Concat(s, a) axis=3\n"
               "y = Transpose(k) perm=[0, 3, 1, 2]\n"
               "output y\n"
               "output s\n",
               "input x: f32[N, 2, 3, 4]\n"
               "input z: f32[N, 2, 3, 4]\n"
               "s/in_layout = Add(x, z)\n"
               "y = Concat(s/in_layout, x)\n"
               "s = Transpose(s/in_layout) perm=[0, 2, 3, 1]\n"
               "output y\n"
               "output s\n");
}

/* Moves that would copy more than they save stay undone. */
static void test_sink_transpose_refused(void **state)
{
    (void)state;
    /* The Add's other input is neither a constant nor a Transpose: it
     * would need a Transpose of its own, and the output one back. */
    check_unchanged("sink-transpose",
                    "input x: f32[N, 2, 3, 4]\n"
                    "input z: f32[N, 3, 4, 2]\n"
                    "a = Transpose(x) perm=[0, 2, 3, 1]\n"
                    "y = Add(a, z)\n"
                    "output y\n");
    /* Transposes of two perms into one node. */
    check_unchanged("sink-transpose",
                    "input x: f32[N, 2, 3, 4]\n"
                    "input z: f32[N, 3, 2, 4]\n"
                    "a = Transpose(x) perm=[0, 2, 3, 1]\n"
                    "b = Transpose(z) perm=[0, 1, 3, 2]\n"
                    "s = Add(a, b)\n"
                    "y = Transpose(s) perm=[0, 3, 1, 2]\n"
                    "output y\n");
    /* No layout-blind reader: a Conv, a reduction that drops its dims,
     * Softmax (its axis semantics are left alone). */
    check_unchanged("sink-transpose",
                    "input x: f32[N, 3, 4, 2]\n"
                    "const w: f32[2, 2, 1, 1] = [1, 2, 3, 4]\n"
                    "t = Transpose(x) perm=[0, 3, 1, 2]\n"
                    "c = Conv2D(t, w)\n"
                    "m = ReduceMean(t) axes=[2, 3] keepdims=0\n"
                    "s = Softmax(t) axis=1\n"
                    "output c\n"
                    "output m\n"
                    "output s\n");
}

/* Each region's results against the reference executor before the pass,
 * with every Transpose between the layers gone: constants with two
 * non-unit dims (permuted data, not only a new shape), an entry that a
 * Conv also reads (kept), a Pad in NHWC, reductions, a Concat. */
static void test_sink_transpose_numerics(void **state)
{
    (void)state;
    static const struct { const char *text; int transposes; } cases[] = {
        {"input x: f32[N, 5, 4, 3]\n"
         "const w: f32[3, 3, 1, 1] = random(1)\n"
         "const q: f32[4, 3] = random(2)\n"
         "const k: f32[1, 5, 1, 3] = random(3)\n"
         "t = Transpose(x) perm=[0, 3, 1, 2]\n"
         "c = Conv2D(t, w)\n"
         "u = Transpose(c) perm=[0, 2, 3, 1]\n"
         "a = Elementwise(u, q, k) expr=\"relu(x0 * x1 + x2)\"\n"
         "m = ReduceMax(a) axes=[1, 2]\n"
         "e = Mul(a, m)\n"
         "p = Pad(e) pads=[0, 1, 2, 0, 0, 2, 1, 0]\n"
         "t2 = Transpose(p) perm=[0, 3, 1, 2]\n"
         "y = Conv2D(t2, w) strides=[2, 2]\n"
         "output y\n",
         1},
        /* a Concat of the entry and a node of the region, a reduction
         * over the channels, the region's end a graph output */
        {"input x: f32[N, 5, 4, 3]\n"
         "const w: f32[3, 3, 3, 3] = random(1)\n"
         "t = Transpose(x) perm=[0, 3, 1, 2]\n"
         "c = Conv2D(t, w) pads=[1, 1, 1, 1]\n"
         "u = Transpose(c) perm=[0, 2, 3, 1]\n"
         "r = Sigmoid(u)\n"
         "k = Concat(r, u) axis=3\n"
         "s = ReduceSum(k) axes=[3]\n"
         "t2 = Transpose(s) perm=[0, 3, 1, 2]\n"
         "output t2\n",
         1},
        /* a region's rewrite moves an exit's reader onto a node appended
         * in the same round (read out of bounds before the fix) */
        {"input x: f32[N, 3, 4, 5]\n"
         "const c: f32[3] = [1, 2, 3]\n"
         "t1 = Transpose(x) perm=[0, 2, 3, 1]\n"
         "r = Add(t1, c)\n"
         "u = Transpose(r) perm=[0, 3, 1, 2]\n"
         "e = Transpose(u) perm=[0, 2, 3, 1]\n"
         "s = Relu(e)\n"
         "v = Transpose(s) perm=[0, 3, 1, 2]\n"
         "output v\n",
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        clg_graph *g = parse(cases[i].text), *o = NULL;
        assert_int_equal(clg_graph_clone(g, &o), CLG_OK);
        assert_int_equal(clg_graph_optimize(o, 1, NULL, NULL), CLG_OK);
        if (count_op(o, CLG_OP_TRANSPOSE) != cases[i].transposes)
            fail_msg("case %zu: %d Transposes left, want %d", i, count_op(o, CLG_OP_TRANSPOSE), cases[i].transposes);
        for (int64_t batch = 1; batch <= 2; batch++) {
            double d = reference_difference(g, o, batch);
            if (d > 1e-6) fail_msg("case %zu, batch %lld: difference %g", i, (long long)batch, d);
        }
        clg_graph_destroy(o);
        clg_graph_destroy(g);
    }
}

/* ---------------------------------------------------------------- fuse-attention */

/* PyTorch's MultiheadAttention: the scores' Transpose of K, Q divided by
 * sqrt(D), an additive mask, Softmax over the last axis, times V. */
#define ATT_HEAD                                                                                   \
    "input q: f32[N, 7, 8]\n"                                                                      \
    "input k: f32[7, N, 8]\n"                                                                      \
    "input v: f32[N, 7, 4]\n"                                                                      \
    "input m: f32[7, 7]\n"                                                                         \
    "kt = Transpose(k) perm=[1, 2, 0]\n"

static void test_fuse_attention(void **state)
{
    (void)state;
    check_pass("fuse-attention",
               ATT_HEAD "const c: f32[1] = full(2)\n"
                        "qs = Div(q, c)\n"
                        "s = MatMul(qs, kt)\n"
                        "sm = Add(s, m)\n"
                        "p = Softmax(sm)\n"
                        "y = MatMul(p, v)\n"
                        "output y\n",
               ATT_HEAD "y = Attention(q, kt, v, m) scale=0.5\n"
                        "output y\n");
    /* The scale as a Mul on the scores, the mask first in the Add, the
     * Softmax's axis written positive, no batch dims. */
    check_pass("fuse-attention",
               "input q: f32[5, 16]\n"
               "input kt: f32[16, 9]\n"
               "input v: f32[9, 3]\n"
               "input m: f32[5, 9]\n"
               "const c: f32[1, 1] = full(0.25)\n"
               "s = MatMul(q, kt)\n"
               "ss = Mul(c, s)\n"
               "sm = Add(m, ss)\n"
               "p = Softmax(sm) axis=1\n"
               "y = MatMul(p, v)\n"
               "output y\n",
               "input q: f32[5, 16]\n"
               "input kt: f32[16, 9]\n"
               "input v: f32[9, 3]\n"
               "input m: f32[5, 9]\n"
               "y = Attention(q, kt, v, m) scale=0.25\n"
               "output y\n");
    /* No mask, no scale, 4-D [N, H, S, D] with the scale on KT; Q keeps
     * its other use. */
    check_pass("fuse-attention",
               "input q: f32[N, 2, 6, 8]\n"
               "input kt: f32[N, 2, 8, 6]\n"
               "input v: f32[N, 2, 6, 8]\n"
               "const c: f32[1] = full(4)\n"
               "ks = Mul(kt, c)\n"
               "s = MatMul(q, ks)\n"
               "p = Softmax(s)\n"
               "a = MatMul(p, v)\n"
               "y = Add(a, q)\n"
               "output y\n",
               "input q: f32[N, 2, 6, 8]\n"
               "input kt: f32[N, 2, 8, 6]\n"
               "input v: f32[N, 2, 6, 8]\n"
               "a = Attention(q, kt, v) scale=4\n"
               "y = Add(a, q)\n"
               "output y\n");
}

static void test_fuse_attention_refused(void **state)
{
    (void)state;
    static const char *const cases[] = {
        /* the scores are used elsewhere */
        ATT_HEAD "s = MatMul(q, kt)\np = Softmax(s)\ny = MatMul(p, v)\nz = Relu(s)\noutput y\noutput z\n",
        /* the probabilities are a graph output */
        ATT_HEAD "s = MatMul(q, kt)\np = Softmax(s)\ny = MatMul(p, v)\noutput y\noutput p\n",
        /* the masked scores are used elsewhere */
        ATT_HEAD "s = MatMul(q, kt)\nsm = Add(s, m)\np = Softmax(sm)\ny = MatMul(p, v)\noutput y\noutput sm\n",
        /* Softmax not over the last axis */
        ATT_HEAD "s = MatMul(q, kt)\np = Softmax(s) axis=1\ny = MatMul(p, v)\noutput y\n",
        /* the mask scaled with the scores: (s + m) * c is not scale * s + m */
        ATT_HEAD "const c: f32[1] = full(2)\ns = MatMul(q, kt)\nsm = Add(s, m)\nss = Mul(sm, c)\n"
                 "p = Softmax(ss)\ny = MatMul(p, v)\noutput y\n",
        /* a scale on the scores that is not one number */
        ATT_HEAD "const c: f32[7] = full(2)\ns = MatMul(q, kt)\nss = Mul(s, c)\np = Softmax(ss)\n"
                 "y = MatMul(p, v)\noutput y\n",
        /* a mask that widens the scores */
        "input q: f32[7, 8]\ninput kt: f32[8, 7]\ninput v: f32[7, 4]\ninput m: f32[2, 7, 7]\n"
        "s = MatMul(q, kt)\nsm = Add(s, m)\np = Softmax(sm)\ny = MatMul(p, v)\noutput y\n",
        /* a mask of rank 1 */
        "input q: f32[7, 8]\ninput kt: f32[8, 7]\ninput v: f32[7, 4]\ninput m: f32[7]\n"
        "s = MatMul(q, kt)\nsm = Add(s, m)\np = Softmax(sm)\ny = MatMul(p, v)\noutput y\n",
        /* V a vector */
        "input q: f32[7, 8]\ninput kt: f32[8, 7]\ninput v: f32[7]\n"
        "s = MatMul(q, kt)\np = Softmax(s)\ny = MatMul(p, v)\noutput y\n",
        /* a head larger than the kernel takes */
        "input q: f32[7, 129]\ninput kt: f32[129, 7]\ninput v: f32[7, 4]\n"
        "s = MatMul(q, kt)\np = Softmax(s)\ny = MatMul(p, v)\noutput y\n",
        /* a symbolic head size */
        "input q: f32[7, D]\ninput kt: f32[D, 7]\ninput v: f32[7, 4]\n"
        "s = MatMul(q, kt)\np = Softmax(s)\ny = MatMul(p, v)\noutput y\n",
        /* a MatMul with an epilogue */
        ATT_HEAD "s = MatMul(q, kt) epilogue=\"x0 * 2\"\np = Softmax(s)\ny = MatMul(p, v)\noutput y\n",
        /* Relu instead of Softmax */
        ATT_HEAD "s = MatMul(q, kt)\np = Relu(s)\ny = MatMul(p, v)\noutput y\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* Canonical first, so that "unchanged" compares like with like. */
        clg_graph *g = parse(cases[i]);
        char *text = print(g);
        clg_graph_destroy(g);
        check_unchanged("fuse-attention", text);
        free(text);
    }
}

/* A scale that is not one (a tensor, an input, a constant divided by Q, a
 * division by zero) or a scaled Q with another use: the node stays, as the
 * Attention's Q. */
static void test_fuse_attention_keeps_scale_node(void **state)
{
    (void)state;
    static const char *const scales[] = {
        "const c: f32[8] = full(2)\nqs = Div(q, c)\n",
        "input c: f32[1]\nqs = Div(q, c)\n",
        "const c: f32[1] = full(2)\nqs = Div(c, q)\n",
        "const c: f32[1] = zeros\nqs = Div(q, c)\n",
    };
    for (size_t i = 0; i < sizeof scales / sizeof *scales; i++) {
        char in[1024], want[1024];
        snprintf(in, sizeof in, ATT_HEAD "%ss = MatMul(qs, kt)\np = Softmax(s)\ny = MatMul(p, v)\noutput y\n",
                 scales[i]);
        snprintf(want, sizeof want, ATT_HEAD "%sy = Attention(qs, kt, v)\noutput y\n", scales[i]);
        clg_graph *g = parse(in), *w = parse(want);
        char *text = print(g), *expected = print(w);
        check_pass("fuse-attention", text, expected);
        free(text);
        free(expected);
        clg_graph_destroy(g);
        clg_graph_destroy(w);
    }
    check_pass("fuse-attention",
               ATT_HEAD "const c: f32[1] = full(2)\n"
                        "qs = Div(q, c)\n"
                        "s = MatMul(qs, kt)\n"
                        "p = Softmax(s)\n"
                        "y = MatMul(p, v)\n"
                        "output y\n"
                        "output qs\n",
               ATT_HEAD "const c: f32[1] = full(2)\n"
                        "qs = Div(q, c)\n"
                        "y = Attention(qs, kt, v)\n"
                        "output y\n"
                        "output qs\n");
}

/* Fused and unfused give the same numbers on the reference executor, up
 * to the rounding of the moved scale. */
static void test_fuse_attention_numerics(void **state)
{
    (void)state;
    const char *text = "input x: f32[N, 7, 8]\n"
                       "const m: f32[7, 7] = random(5, -2, 0)\n"
                       "const c: f32[1] = full(2.828427)\n"
                       "kt = Transpose(x) perm=[0, 2, 1]\n"
                       "v = Tanh(x)\n"
                       "qs = Div(x, c)\n"
                       "s = MatMul(qs, kt)\n"
                       "sm = Add(s, m)\n"
                       "p = Softmax(sm)\n"
                       "y = MatMul(p, v)\n"
                       "output y\n";
    clg_graph *g = parse(text), *o = NULL;
    assert_int_equal(clg_graph_clone(g, &o), CLG_OK);
    assert_int_equal(clg_graph_optimize(o, 2, NULL, NULL), CLG_OK);
    assert_int_equal(count_op(o, CLG_OP_ATTENTION), 1);
    assert_int_equal(count_op(o, CLG_OP_SOFTMAX), 0);
    for (int64_t batch = 1; batch <= 3; batch++) {
        double d = reference_difference(g, o, batch);
        if (!(d < 1e-6)) fail_msg("batch %lld: difference %g after fusing", (long long)batch, d);
    }
    clg_graph_destroy(o);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- merge-projections */

/* Keras' Q, K and V projections: three Gemms (transB=1, no bias) of one
 * input become one Gemm of the stacked weights and a Slice each, which
 * keep the members' names; MatMuls ([K, N] weights side by side, a 3-D
 * input) and Gemms with [N] biases likewise. */
static void test_merge_projections(void **state)
{
    (void)state;
    check_pass("merge-projections",
               "input x: f32[N, 2]\n"
               "const wq: f32[2, 2] = [1, 2, 3, 4]\n"
               "const wk: f32[1, 2] = [5, 6]\n"
               "const wv: f32[2, 2] = [7, 8, 9, 10]\n"
               "q = Gemm(x, wq) beta=0 transB=1\n"
               "k = Gemm(x, wk) beta=0 transB=1\n"
               "v = Gemm(x, wv) beta=0 transB=1\n"
               "y = Concat(q, k, v) axis=1\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const q/merged_weight: f32[5, 2] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1e+01]\n"
               "q/merged = Gemm(x, q/merged_weight) beta=0 transB=1\n"
               "q = Slice(q/merged) starts=[0] ends=[2] axes=[-1]\n"
               "k = Slice(q/merged) starts=[2] ends=[3] axes=[-1]\n"
               "v = Slice(q/merged) starts=[3] ends=[5] axes=[-1]\n"
               "y = Concat(q, k, v)\n"
               "output y\n");
    check_pass("merge-projections",
               "input x: f32[N, 3, 2]\n"
               "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
               "const wb: f32[2, 1] = [5, 6]\n"
               "a = MatMul(x, wa)\n"
               "b = MatMul(x, wb)\n"
               "output a\n"
               "output b\n",
               "input x: f32[N, 3, 2]\n"
               "const a/merged_weight: f32[2, 3] = [1, 2, 5, 3, 4, 6]\n"
               "a/merged = MatMul(x, a/merged_weight)\n"
               "a = Slice(a/merged) starts=[0] ends=[2] axes=[-1]\n"
               "b = Slice(a/merged) starts=[2] ends=[3] axes=[-1]\n"
               "output a\n"
               "output b\n");
    check_pass("merge-projections",
               "input x: f32[N, 2]\n"
               "const wa: f32[2, 1] = [1, 2]\n"
               "const ba: f32[1] = [0.5]\n"
               "const wb: f32[2, 2] = [3, 4, 5, 6]\n"
               "const bb: f32[2] = [0.25, -1]\n"
               "a = Gemm(x, wa, ba) alpha=2 beta=3\n"
               "b = Gemm(x, wb, bb) alpha=2 beta=3\n"
               "y = Concat(a, b) axis=1\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const a/merged_weight: f32[2, 3] = [1, 3, 4, 2, 5, 6]\n"
               "const a/merged_bias: f32[3] = [0.5, 0.25, -1]\n"
               "a/merged = Gemm(x, a/merged_weight, a/merged_bias) alpha=2 beta=3\n"
               "a = Slice(a/merged) starts=[0] ends=[1] axes=[-1]\n"
               "b = Slice(a/merged) starts=[1] ends=[3] axes=[-1]\n"
               "y = Concat(a, b)\n"
               "output y\n");
}

/* Do not merge: different inputs; a weight computed in the graph; different
 * attributes; an epilogue; a bias in one member only; a lone projection. */
static void test_merge_projections_refused(void **state)
{
    (void)state;
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "input z: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = MatMul(x, wa)\n"
                    "b = MatMul(z, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "input w: f32[2, 2]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = MatMul(x, w)\n"
                    "b = MatMul(x, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = Gemm(x, wa) transB=1\n"
                    "b = Gemm(x, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = Gemm(x, wa) alpha=0.5\n"
                    "b = Gemm(x, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = MatMul(x, wa, x) epilogue=\"x0 + x1\"\n"
                    "b = MatMul(x, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const ba: f32[2] = [1, 2]\n"
                    "const wb: f32[2, 2] = [5, 6, 7, 8]\n"
                    "a = Gemm(x, wa, ba)\n"
                    "b = Gemm(x, wb)\n"
                    "output a\n"
                    "output b\n");
    check_unchanged("merge-projections",
                    "input x: f32[N, 2]\n"
                    "const wa: f32[2, 2] = [1, 2, 3, 4]\n"
                    "a = MatMul(x, wa)\n"
                    "output a\n");
}

/* A weight another node also reads is never edited: the merged weights
 * are a new constant, and the shared one keeps its values for its other
 * reader. The merged graph computes what the original did. */
static void test_merge_projections_shared_weight(void **state)
{
    (void)state;
    const char *text = "input x: f32[N, 3]\n"
                       "z = Relu(x)\n"
                       "const w: f32[3, 4] = random(1)\n"
                       "const wk: f32[3, 2] = random(2)\n"
                       "q = MatMul(x, w)\n"
                       "k = MatMul(x, wk)\n"
                       "other = MatMul(z, w)\n"
                       "y = Concat(q, k, other) axis=1\n"
                       "output y\n";
    clg_graph *g = parse(text), *o = NULL;
    assert_int_equal(clg_graph_clone(g, &o), CLG_OK);
    assert_int_equal(clg_pass_run_named(o, "merge-projections"), CLG_OK);
    assert_int_equal(clg_pass_run_named(o, "dce"), CLG_OK);
    assert_int_equal(count_op(o, CLG_OP_MATMUL), 2); /* the merged one and `other` */
    assert_int_equal(count_op(o, CLG_OP_SLICE), 2);
    int wi = clg_find_value(g, "w"), wo = clg_find_value(o, "w");
    assert_true(wi >= 0 && wo >= 0);
    const clg_node *other = &o->nodes[clg_find_value(o, "other")];
    assert_int_equal(other->inputs[1], wo);
    assert_memory_equal(o->nodes[wo].constant->data, g->nodes[wi].constant->data, 12 * sizeof(float));
    for (int64_t batch = 1; batch <= 3; batch++) {
        double d = reference_difference(g, o, batch);
        if (!(d == 0)) fail_msg("batch %lld: difference %g after merging", (long long)batch, d);
    }
    clg_graph_destroy(o);
    clg_graph_destroy(g);
}

/* ---------------------------------------------------------------- fold-batchnorm */

/* BatchNorm parameters with exact arithmetic: var + epsilon is 4 and 1, so
 * s = scale / sqrt(var + eps) = [1, 3] and t = bias - mean·s = [-0.5, -1].
 * The epsilon is 0.25, not the default: the pass must use the node's own. */
#define BN_PARAMS                                                                                  \
    "const s: f32[2] = [2, 3]\n"                                                                   \
    "const o: f32[2] = [0.5, -1]\n"                                                                \
    "const m: f32[2] = [1, 0]\n"                                                               \
    "const v: f32[2] = [3.75, 0.75]\n"

static void test_fold_batchnorm_backward_gemm(void **state)
{
    (void)state;
    /* transB=1: rows of w are output channels. b' = s·b + t. The folded
     * layer keeps its own name. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "d = Gemm(x, w, b) transB=1\n" BN_PARAMS
               "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
               "y = Relu(bn)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const w/bn: f32[2, 2] = [1, 2, 9, 12]\n"
               "const b/bn: f32[2] = [0, -0.25]\n"
               "d = Gemm(x, w/bn, b/bn) transB=1\n"
               "y = Relu(d)\n"
               "output y\n");
    /* transB=0: columns are channels; no bias: one is made (t); alpha
     * stays; the BatchNorm's output being a graph output does not matter,
     * the folded Gemm takes its name. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "d = Gemm(x, w) alpha=2\n" BN_PARAMS
               "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
               "output bn\n",
               "input x: f32[N, 2]\n"
               "const w/bn: f32[2, 2] = [1, 6, 3, 12]\n"
               "const d.bias/bn: f32[2] = [-0.5, -1]\n"
               "bn = Gemm(x, w/bn, d.bias/bn) alpha=2\n"
               "output bn\n");
    /* beta scales C before the BatchNorm: b' = s·beta·C + t, beta becomes
     * 1; a [1, N] bias keeps its shape. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[1, 2] = [0.5, 0.25]\n"
               "d = Gemm(x, w, b) beta=0.5 transB=1\n" BN_PARAMS
               "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
               "output bn\n",
               "input x: f32[N, 2]\n"
               "const w/bn: f32[2, 2] = [1, 2, 9, 12]\n"
               "const b/bn: f32[1, 2] = [-0.25, -0.625]\n"
               "bn = Gemm(x, w/bn, b/bn) transB=1\n"
               "output bn\n");
}

static void test_fold_batchnorm_backward_conv(void **state)
{
    (void)state;
    /* Grouped: W's first dim is the output channel whatever the group. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2, 3, 3]\n"
               "const w: f32[2, 1, 1, 1] = [2, 3]\n"
               "const b: f32[2] = [1, 1]\n"
               "c = Conv2D(x, w, b) pads=[1, 1, 1, 1] group=2\n" BN_PARAMS
               "bn = BatchNorm(c, s, o, m, v) epsilon=0.25\n"
               "y = Relu(bn)\n"
               "output y\n",
               "input x: f32[N, 2, 3, 3]\n"
               "const w/bn: f32[2, 1, 1, 1] = [2, 9]\n"
               "const b/bn: f32[2] = [0.5, 2]\n"
               "c = Conv2D(x, w/bn, b/bn) pads=[1, 1, 1, 1] group=2\n"
               "y = Relu(c)\n"
               "output y\n");
}

static void test_fold_batchnorm_forward_gemm(void **state)
{
    (void)state;
    /* W' = W·diag(s); b' = b + W·t: u = [1·-0.5 + 2·-1, 3·-0.5 + 4·-1,
     * 5·-0.5 + 6·-1] = [-2.5, -5.5, -8.5]. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n" BN_PARAMS
               "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
               "const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]\n"
               "const b: f32[3] = [1, 1, 1]\n"
               "d = Gemm(bn, w, b) transB=1\n"
               "output d\n",
               "input x: f32[N, 2]\n"
               "const w/bn: f32[3, 2] = [1, 6, 3, 12, 5, 18]\n"
               "const b/bn: f32[3] = [-1.5, -4.5, -7.5]\n"
               "d = Gemm(x, w/bn, b/bn) transB=1\n"
               "output d\n");
    /* Two consumers, each with its own new constants; transB=0 and alpha=2
     * (the bias gains alpha·W·t = 2·(-1.5)). */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n" BN_PARAMS
               "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
               "const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]\n"
               "const b: f32[3] = [1, 1, 1]\n"
               "d = Gemm(bn, w, b) transB=1\n"
               "const w2: f32[2, 1] = [1, 1]\n"
               "e = Gemm(bn, w2) alpha=2\n"
               "output d\n"
               "output e\n",
               "input x: f32[N, 2]\n"
               "const w/bn: f32[3, 2] = [1, 6, 3, 12, 5, 18]\n"
               "const b/bn: f32[3] = [-1.5, -4.5, -7.5]\n"
               "d = Gemm(x, w/bn, b/bn) transB=1\n"
               "const w2/bn: f32[2, 1] = [1, 3]\n"
               "const e.bias/bn: f32[1] = [-3]\n"
               "e = Gemm(x, w2/bn, e.bias/bn) alpha=2\n"
               "output d\n"
               "output e\n");
}

static void test_fold_batchnorm_forward_conv(void **state)
{
    (void)state;
    /* Without padding every tap sees x·s + t, so W·t is exact. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2, 2, 2]\n" BN_PARAMS
               "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
               "const w: f32[1, 2, 1, 1] = [1, 2]\n"
               "c = Conv2D(bn, w)\n"
               "output c\n",
               "input x: f32[N, 2, 2, 2]\n"
               "const w/bn: f32[1, 2, 1, 1] = [1, 6]\n"
               "const c.bias/bn: f32[1] = [-2.5]\n"
               "c = Conv2D(x, w/bn, c.bias/bn)\n"
               "output c\n");
}

static void test_fold_batchnorm_refused(void **state)
{
    (void)state;
    /* The producer's output is read twice (by the BatchNorm and the Add). */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "d = Gemm(x, w) transB=1\n" BN_PARAMS
                    "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
                    "y = Add(bn, d)\n"
                    "output y\n");
    /* The producer's output is a graph output. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "d = Gemm(x, w) transB=1\n" BN_PARAMS
                    "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
                    "y = Relu(bn)\n"
                    "output d\n"
                    "output y\n");
    /* The producer's weight is computed, not a constant. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n"
                    "input w: f32[2, 2]\n"
                    "d = Gemm(x, w) transB=1\n" BN_PARAMS
                    "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
                    "output bn\n");
    /* The BatchNorm's output is also a graph output: forward folding would
     * lose it. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n" BN_PARAMS
                    "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
                    "const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]\n"
                    "d = Gemm(bn, w) transB=1\n"
                    "output bn\n"
                    "output d\n");
    /* One consumer is not a layer that can absorb it. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n" BN_PARAMS
                    "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
                    "const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]\n"
                    "d = Gemm(bn, w) transB=1\n"
                    "r = Relu(bn)\n"
                    "output d\n"
                    "output r\n");
    /* transA=1: the channels are not A's columns. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[2, 2]\n" BN_PARAMS
                    "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "d = Gemm(bn, w) transA=1\n"
                    "output d\n");
    /* The BatchNorm is the Gemm's weight, not its input. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[2, 2]\n" BN_PARAMS
                    "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
                    "const a: f32[2, 2] = [1, 2, 3, 4]\n"
                    "d = Gemm(a, bn)\n"
                    "output d\n");
    /* A zero-padded Conv2D sees 0 at the border where the BatchNorm would
     * have given t: forward folding would be inexact. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2, 2, 2]\n" BN_PARAMS
                    "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
                    "const w: f32[1, 2, 1, 1] = [1, 2]\n"
                    "c = Conv2D(bn, w) pads=[1, 0, 0, 0]\n"
                    "output c\n");
    /* BatchNorm parameters that are computed. */
    check_unchanged("fold-batchnorm",
                    "input x: f32[N, 2]\n"
                    "input sv: f32[2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "d = Gemm(x, w) transB=1\n"
                    "const o: f32[2] = [0.5, -1]\n"
                    "const m: f32[2] = [1, 0]\n"
                    "const v: f32[2] = [3.75, 0.75]\n"
                    "bn = BatchNorm(d, sv, o, m, v) epsilon=0.25\n"
                    "output bn\n");
}

static void test_fold_batchnorm_shared_weight(void **state)
{
    (void)state;
    /* w and b also feed e: they stay as they were for it, and the folded
     * Gemm gets constants of its own. */
    check_pass("fold-batchnorm",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "d = Gemm(x, w, b) transB=1\n" BN_PARAMS
               "bn = BatchNorm(d, s, o, m, v) epsilon=0.25\n"
               "e = Gemm(x, w, b) transB=1\n"
               "y = Add(bn, e)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "e = Gemm(x, w, b) transB=1\n"
               "const w/bn: f32[2, 2] = [1, 2, 9, 12]\n"
               "const b/bn: f32[2] = [0, -0.25]\n"
               "d = Gemm(x, w/bn, b/bn) transB=1\n"
               "y = Add(d, e)\n"
               "output y\n");
}

/* ---------------------------------------------------------------- scale-shift */

static void test_batchnorm_scale_shift(void **state)
{
    (void)state;
    check_pass("batchnorm-scale-shift",
               "input x: f32[N, 2]\n"
               "r = Relu(x)\n" BN_PARAMS
               "bn = BatchNorm(r, s, o, m, v) epsilon=0.25\n"
               "y = Sigmoid(bn)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "r = Relu(x)\n"
               "const bn/scale: f32[2] = [1, 3]\n"
               "bn/mul = Mul(r, bn/scale)\n"
               "const bn/shift: f32[2] = [-0.5, -1]\n"
               "bn = Add(bn/mul, bn/shift)\n"
               "y = Sigmoid(bn)\n"
               "output y\n");
    /* NCHW: [C, 1, 1] so that the channel lines up with dim 1. */
    check_pass("batchnorm-scale-shift",
               "input x: f32[N, 2, 3, 3]\n" BN_PARAMS
               "bn = BatchNorm(x, s, o, m, v) epsilon=0.25\n"
               "output bn\n",
               "input x: f32[N, 2, 3, 3]\n"
               "const bn/scale: f32[2, 1, 1] = [1, 3]\n"
               "const bn/shift: f32[2, 1, 1] = [-0.5, -1]\n"
               "bn/mul = Mul(x, bn/scale)\n"
               "bn = Add(bn/mul, bn/shift)\n"
               "output bn\n");
}

/* ---------------------------------------------------------------- split-bias */

static void test_split_bias(void **state)
{
    (void)state;
    check_pass("split-bias",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "d = Gemm(x, w, b) transB=1\n"
               "y = Relu(d)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "d = Gemm(x, w) transB=1\n"
               "d/add_bias = Add(d, b)\n"
               "y = Relu(d/add_bias)\n"
               "output y\n");
    /* beta: the bias constant is beta·C, a new one. */
    check_pass("split-bias",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "const b: f32[1, 2] = [0.5, 0.25]\n"
               "d = Gemm(x, w, b) beta=2 transB=1\n"
               "y = Add(d, x)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "const w: f32[2, 2] = [1, 2, 3, 4]\n"
               "d = Gemm(x, w) transB=1\n"
               "const d/bias: f32[1, 2] = [1, 0.5]\n"
               "d/add_bias = Add(d, d/bias)\n"
               "y = Add(d/add_bias, x)\n"
               "output y\n");
    /* Conv2D: the bias becomes [M, 1, 1]. */
    check_pass("split-bias",
               "input x: f32[N, 2, 3, 3]\n"
               "const w: f32[2, 2, 1, 1] = [1, 2, 3, 4]\n"
               "const b: f32[2] = [0.5, 0.25]\n"
               "c = Conv2D(x, w, b)\n"
               "y = Relu(c)\n"
               "output y\n",
               "input x: f32[N, 2, 3, 3]\n"
               "const w: f32[2, 2, 1, 1] = [1, 2, 3, 4]\n"
               "c = Conv2D(x, w)\n"
               "const c/bias: f32[2, 1, 1] = [0.5, 0.25]\n"
               "c/add_bias = Add(c, c/bias)\n"
               "y = Relu(c/add_bias)\n"
               "output y\n");
}

static void test_split_bias_refused(void **state)
{
    (void)state;
    /* The consumer is not elementwise. */
    check_unchanged("split-bias",
                    "input x: f32[N, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const b: f32[2] = [0.5, 0.25]\n"
                    "d = Gemm(x, w, b) transB=1\n"
                    "y = Softmax(d)\n"
                    "output y\n");
    /* The output is read twice: the Add could not fuse into both. */
    check_unchanged("split-bias",
                    "input x: f32[N, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const b: f32[2] = [0.5, 0.25]\n"
                    "d = Gemm(x, w, b) transB=1\n"
                    "y = Relu(d)\n"
                    "z = Sigmoid(d)\n"
                    "output y\n"
                    "output z\n");
    /* The Gemm is a graph output. */
    check_unchanged("split-bias",
                    "input x: f32[N, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const b: f32[2] = [0.5, 0.25]\n"
                    "d = Gemm(x, w, b) transB=1\n"
                    "output d\n");
    /* The consumer broadcasts to a larger shape: the Add would be
     * recomputed per output element. */
    check_unchanged("split-bias",
                    "input x: f32[1, 2]\n"
                    "input z: f32[3, 2]\n"
                    "const w: f32[2, 2] = [1, 2, 3, 4]\n"
                    "const b: f32[2] = [0.5, 0.25]\n"
                    "d = Gemm(x, w, b) transB=1\n"
                    "y = Add(d, z)\n"
                    "output y\n");
}

/* ---------------------------------------------------------------- fuse-elementwise */

/* ---------------------------------------------------------------- fuse-layernorm */

/* The written-out LayerNorm needs sqrt (and may use pow), which the
 * expression language gains in another branch: such nodes are written
 * with a placeholder expression and given their real one after parsing
 * (SQRT_NODE: "s", POW_NODE: "q" when the text has it). The result is
 * compared as text; it must parse when the pattern was replaced. */
/* The pass and dce called directly: the pass manager's backup copy
 * re-infers every node, which a sqrt cannot pass yet. */
static void run_fuse_layernorm(clg_graph *g)
{
    bool changed = false;
    if (clg_pass_fuse_layernorm(g, &changed) != CLG_OK) fail_msg("fuse-layernorm: %s", clg_graph_errmsg(g));
    assert_int_equal(clg_graph_compact(g), CLG_OK);
    assert_int_equal(clg_pass_dce(g, &changed), CLG_OK);
    assert_int_equal(clg_graph_compact(g), CLG_OK);
}

static char *fuse_layernorm_text(const char *in, const char *pow_expr)
{
    clg_graph *g = parse(in);
    int s = clg_find_value(g, "s"), q = clg_find_value(g, "q");
    assert_true(s >= 0);
    snprintf(g->nodes[s].attrs.expr, sizeof g->nodes[s].attrs.expr, "sqrt(x0)");
    if (pow_expr) snprintf(g->nodes[q].attrs.expr, sizeof g->nodes[q].attrs.expr, "%s", pow_expr);
    run_fuse_layernorm(g);
    char *got = print(g);
    clg_graph_destroy(g);
    return got;
}

static void check_fuse_layernorm(const char *in, const char *pow_expr, const char *expected)
{
    char *got = fuse_layernorm_text(in, pow_expr);
    if (strcmp(got, expected) != 0) fail_msg("--- input:\n%s--- got:\n%s--- expected:\n%s", in, got, expected);
    clg_graph *again = parse(got);
    clg_graph_destroy(again);
    free(got);
}

/* Unchanged: the input with its placeholders replaced. */
static void check_layernorm_unfused(const char *in, const char *pow_expr)
{
    char *got = fuse_layernorm_text(in, pow_expr);
    if (!strstr(got, "ReduceMean") || strstr(got, "LayerNorm"))
        fail_msg("fused what must not be fused:\n--- input:\n%s--- got:\n%s", in, got);
    free(got);
}

/* PyTorch's export of nn.LayerNorm before opset 17 (Pow written as d*d). */
#define LN_HEAD "input x: f32[N, 4, 8]\n" \
                "const eps: f32[1] = full(0.001)\n" \
                "const g: f32[8] = random(1)\n" \
                "const b: f32[8] = random(2)\n" \
                "m = ReduceMean(x) axes=[-1]\n" \
                "d = Sub(x, m)\n"
#define LN_BODY "v = ReduceMean(q) axes=[-1]\n" \
                "e = Add(v, eps)\n" \
                "s = Elementwise(e) expr=\"x0\"\n" \
                "n = Div(d, s)\n" \
                "y0 = Mul(n, g)\n" \
                "y = Add(y0, b)\n"
#define LN_FUSED "input x: f32[N, 4, 8]\n" \
                 "const g: f32[8] = random(1)\n" \
                 "const b: f32[8] = random(2)\n" \
                 "y = LayerNorm(x, g, b) epsilon=0.001\n" \
                 "output y\n"

static void test_fuse_layernorm(void **state)
{
    (void)state;
    check_fuse_layernorm(LN_HEAD "q = Mul(d, d)\n" LN_BODY "output y\n", NULL, LN_FUSED);
    /* pow(x0, 2) and x0 * x0 as one-input expressions, pow with a constant
     * exponent, and the model's own epsilon kept. */
    check_fuse_layernorm(LN_HEAD "q = Elementwise(d) expr=\"x0\"\n" LN_BODY "output y\n", "pow(x0, 2)", LN_FUSED);
    check_fuse_layernorm(LN_HEAD "q = Elementwise(d) expr=\"x0 * x0\"\n" LN_BODY "output y\n", NULL, LN_FUSED);
    check_fuse_layernorm(LN_HEAD "const two: f32[1] = full(2)\nq = Elementwise(d, two) expr=\"x0\"\n" LN_BODY
                         "output y\n",
                         "pow(x0, x1)", LN_FUSED);
    /* tf2onnx: two Subs (SquaredDifference's and the normalisation's), a
     * Reciprocal then Mul, normalising two trailing axes, no scale or bias
     * (a scale of 1 is made). */
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(1e-05)\n"
                         "m = ReduceMean(x) axes=[2, 1]\n"
                         "d = Sub(x, m)\n"
                         "d2 = Sub(x, m)\n"
                         "q = Mul(d2, d)\n"
                         "v = ReduceMean(q) axes=[-2, -1]\n"
                         "e = Add(eps, v)\n"
                         "s = Elementwise(e) expr=\"x0\"\n"
                         "r = Elementwise(s) expr=\"1 / x0\"\n"
                         "y = Mul(r, d)\n"
                         "output y\n",
                         NULL,
                         "input x: f32[N, 4, 8]\n"
                         "const y/scale: f32[1] = [1]\n"
                         "y = LayerNorm(x, y/scale) axis=-2\n"
                         "output y\n");
    /* Keras' LayerNormalization through tf2onnx: x * inv + (beta - mean *
     * inv) with inv = gamma / sqrt(var + eps), the reciprocal as a Div of
     * 1; and without scale and offset, -(mean * inv). */
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(0.001)\n"
                         "const g: f32[8] = random(1)\n"
                         "const b: f32[8] = random(2)\n"
                         "const one: f32[1] = ones\n"
                         "m = ReduceMean(x) axes=[2]\n"
                         "d = Sub(x, m)\n"
                         "q = Mul(d, d)\n"
                         "v = ReduceMean(q) axes=[2]\n"
                         "e = Add(v, eps)\n"
                         "s = Elementwise(e) expr=\"x0\"\n"
                         "r = Div(one, s)\n"
                         "inv = Mul(r, g)\n"
                         "xi = Mul(x, inv)\n"
                         "mi = Mul(inv, m)\n"
                         "sh = Sub(b, mi)\n"
                         "y = Add(xi, sh)\n"
                         "output y\n",
                         NULL, LN_FUSED);
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(0.001)\n"
                         "m = ReduceMean(x) axes=[2]\n"
                         "d = Sub(x, m)\n"
                         "q = Mul(d, d)\n"
                         "v = ReduceMean(q) axes=[2]\n"
                         "e = Add(v, eps)\n"
                         "s = Elementwise(e) expr=\"x0\"\n"
                         "r = Elementwise(s) expr=\"1 / x0\"\n"
                         "xi = Mul(r, x)\n"
                         "mi = Mul(m, r)\n"
                         "sh = Elementwise(mi) expr=\"-x0\"\n"
                         "y = Add(sh, xi)\n"
                         "output y\n",
                         NULL,
                         "input x: f32[N, 4, 8]\n"
                         "const y/scale: f32[1] = [1]\n"
                         "y = LayerNorm(x, y/scale) epsilon=0.001\n"
                         "output y\n");
    /* What tf2onnx really writes for Keras (tests/fixtures/keras_mha_block):
     * the mean negated first, (-mean) * inv + beta. */
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(0.001)\n"
                         "const g: f32[8] = random(1)\n"
                         "const b: f32[8] = random(2)\n"
                         "m = GlobalAveragePool(x)\n"
                         "ng = Elementwise(m) expr=\"-x0\"\n"
                         "d = Sub(x, m)\n"
                         "q = Mul(d, d)\n"
                         "v = GlobalAveragePool(q)\n"
                         "e = Add(v, eps)\n"
                         "s = Elementwise(e) expr=\"x0\"\n"
                         "r = Elementwise(s) expr=\"1 / x0\"\n"
                         "inv = Mul(r, g)\n"
                         "xi = Mul(x, inv)\n"
                         "mi = Mul(ng, inv)\n"
                         "sh = Add(mi, b)\n"
                         "y = Add(xi, sh)\n"
                         "output y\n",
                         NULL, LN_FUSED);
    /* tf2onnx's means over the last axis of a rank-3 tensor as
     * GlobalAveragePool. */
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(0.001)\n"
                         "const g: f32[8] = random(1)\n"
                         "const b: f32[8] = random(2)\n"
                         "m = GlobalAveragePool(x)\n"
                         "d = Sub(x, m)\n"
                         "q = Mul(d, d)\n"
                         "v = GlobalAveragePool(q)\n"
                         "e = Add(v, eps)\n"
                         "s = Elementwise(e) expr=\"x0\"\n"
                         "n = Div(d, s)\n"
                         "y0 = Mul(n, g)\n"
                         "y = Add(y0, b)\n"
                         "output y\n",
                         NULL, LN_FUSED);
    /* A scale that LayerNorm cannot take ([4, 1] varies along a dim
     * outside the row): the normalisation fuses, the Mul and Add stay. */
    check_fuse_layernorm("input x: f32[N, 4, 8]\n"
                         "const eps: f32[1] = full(0.001)\n"
                         "const g: f32[4, 1] = random(1)\n"
                         "const b: f32[8] = random(2)\n"
                         "m = ReduceMean(x) axes=[-1]\n"
                         "d = Sub(x, m)\n"
                         "q = Mul(d, d)\n"
                         LN_BODY "output y\n",
                         NULL,
                         "input x: f32[N, 4, 8]\n"
                         "const g: f32[4, 1] = random(1)\n"
                         "const b: f32[8] = random(2)\n"
                         "const n/scale: f32[1] = [1]\n"
                         "n = LayerNorm(x, n/scale) epsilon=0.001\n"
                         "y0 = Mul(n, g)\n"
                         "y = Add(y0, b)\n"
                         "output y\n");
}

static void test_fuse_layernorm_refused(void **state)
{
    (void)state;
    /* The mean is also a graph output. */
    check_layernorm_unfused(LN_HEAD "q = Mul(d, d)\n" LN_BODY "output y\noutput m\n", NULL);
    /* The variance is read elsewhere. */
    check_layernorm_unfused(LN_HEAD "q = Mul(d, d)\n" LN_BODY "w = Relu(v)\noutput y\noutput w\n", NULL);
    /* The deviation is read elsewhere. */
    check_layernorm_unfused(LN_HEAD "q = Mul(d, d)\n" LN_BODY "w = Relu(d)\noutput y\noutput w\n", NULL);
    /* The batch-normalisation form with mean * inv read elsewhere. */
    check_layernorm_unfused("input x: f32[N, 4, 8]\nconst eps: f32[1] = full(0.001)\n"
                            "m = ReduceMean(x) axes=[2]\nd = Sub(x, m)\nq = Mul(d, d)\n"
                            "v = ReduceMean(q) axes=[2]\ne = Add(v, eps)\ns = Elementwise(e) expr=\"x0\"\n"
                            "r = Elementwise(s) expr=\"1 / x0\"\nxi = Mul(r, x)\nmi = Mul(m, r)\n"
                            "sh = Elementwise(mi) expr=\"-x0\"\ny = Add(sh, xi)\noutput y\noutput mi\n",
                            NULL);
    /* eps is not a constant. */
    check_layernorm_unfused("input x: f32[N, 4, 8]\ninput eps: f32[1]\n"
                            "const g: f32[8] = random(1)\nconst b: f32[8] = random(2)\n"
                            "m = ReduceMean(x) axes=[-1]\nd = Sub(x, m)\nq = Mul(d, d)\n" LN_BODY "output y\n",
                            NULL);
    /* Not the trailing axes; keepdims=0; different axes for the variance;
     * a square that is not d's. */
    check_layernorm_unfused("input x: f32[N, 4, 8]\nconst eps: f32[1] = full(0.001)\n"
                            "const g: f32[8] = random(1)\nconst b: f32[8] = random(2)\n"
                            "m = ReduceMean(x) axes=[1]\nd = Sub(x, m)\nq = Mul(d, d)\n"
                            "v = ReduceMean(q) axes=[1]\ne = Add(v, eps)\ns = Elementwise(e) expr=\"x0\"\n"
                            "y = Div(d, s)\noutput y\n",
                            NULL);
    check_layernorm_unfused("input x: f32[N, 4, 8]\nconst eps: f32[1] = full(0.001)\n"
                            "m = ReduceMean(x) axes=[-1]\nd = Sub(x, m)\nq = Mul(d, d)\n"
                            "v = ReduceMean(q) axes=[1, 2]\ne = Add(v, eps)\ns = Elementwise(e) expr=\"x0\"\n"
                            "y = Div(d, s)\noutput y\n",
                            NULL);
    check_layernorm_unfused("input x: f32[N, 4, 8]\nconst eps: f32[1] = full(0.001)\n"
                            "m = ReduceMean(x) axes=[-1]\nd = Sub(x, m)\nq = Mul(d, x)\n"
                            "v = ReduceMean(q) axes=[-1]\ne = Add(v, eps)\ns = Elementwise(e) expr=\"x0\"\n"
                            "y = Div(d, s)\noutput y\n",
                            NULL);
    /* A negative epsilon (LayerNorm's must not be). */
    check_layernorm_unfused("input x: f32[N, 4, 8]\nconst eps: f32[1] = full(-0.5)\n"
                            "m = ReduceMean(x) axes=[-1]\nd = Sub(x, m)\nq = Mul(d, d)\n"
                            "v = ReduceMean(q) axes=[-1]\ne = Add(v, eps)\ns = Elementwise(e) expr=\"x0\"\n"
                            "y = Div(d, s)\noutput y\n",
                            NULL);
}

/* A post-norm residual: the Add read by the LayerNorm alone becomes its
 * fourth input (a zero bias made when it has none). */
static void test_fuse_layernorm_residual(void **state)
{
    (void)state;
    check_pass("fuse-layernorm",
               "input a: f32[N, 7, 16]\n"
               "input b: f32[N, 7, 16]\n"
               "const g: f32[16] = random(1)\n"
               "s = Add(a, b)\n"
               "y = LayerNorm(s, g)\n"
               "output y\n",
               "input a: f32[N, 7, 16]\n"
               "input b: f32[N, 7, 16]\n"
               "const g: f32[16] = random(1)\n"
               "const y/bias: f32[1] = [0]\n"
               "y = LayerNorm(a, g, y/bias, b)\n"
               "output y\n");
    check_pass("fuse-layernorm",
               "input a: f32[N, 7, 16]\n"
               "input b: f32[N, 7, 16]\n"
               "const g: f32[7, 16] = random(1)\n"
               "const c: f32[16] = random(2)\n"
               "s = Elementwise(b, a) expr=\"x0 + x1\"\n"
               "y = LayerNorm(s, g, c) axis=1 epsilon=0.001\n"
               "output y\n",
               "input a: f32[N, 7, 16]\n"
               "input b: f32[N, 7, 16]\n"
               "const g: f32[7, 16] = random(1)\n"
               "const c: f32[16] = random(2)\n"
               "y = LayerNorm(b, g, c, a) axis=1 epsilon=0.001\n"
               "output y\n");
    /* Not fused: the sum is read again (pre-norm: the next residual), is a
     * graph output, or broadcasts one side; a LayerNorm that has one. */
    check_unchanged("fuse-layernorm",
                    "input a: f32[N, 7, 16]\n"
                    "input b: f32[N, 7, 16]\n"
                    "const g: f32[16] = random(1)\n"
                    "s = Add(a, b)\n"
                    "y = LayerNorm(s, g)\n"
                    "z = Add(s, y)\n"
                    "output z\n");
    check_unchanged("fuse-layernorm",
                    "input a: f32[N, 7, 16]\n"
                    "input b: f32[N, 7, 16]\n"
                    "const g: f32[16] = random(1)\n"
                    "s = Add(a, b)\n"
                    "y = LayerNorm(s, g)\n"
                    "output y\n"
                    "output s\n");
    check_unchanged("fuse-layernorm",
                    "input a: f32[N, 7, 16]\n"
                    "const b: f32[16] = random(2)\n"
                    "const g: f32[16] = random(1)\n"
                    "s = Add(a, b)\n"
                    "y = LayerNorm(s, g)\n"
                    "output y\n");
    check_unchanged("fuse-layernorm",
                    "input a: f32[N, 7, 16]\n"
                    "input b: f32[N, 7, 16]\n"
                    "input c: f32[N, 7, 16]\n"
                    "const g: f32[16] = random(1)\n"
                    "s = Add(a, b)\n"
                    "y = LayerNorm(s, g, g, c)\n"
                    "output y\n");
}

/* The fused node computes what the pattern means: checked on the reference
 * executor against the formula evaluated here in double. */
static void test_fuse_layernorm_numerics(void **state)
{
    (void)state;
    clg_graph *g = parse(LN_HEAD "q = Mul(d, d)\n" LN_BODY "output y\n");
    int s = clg_find_value(g, "s");
    snprintf(g->nodes[s].attrs.expr, sizeof g->nodes[s].attrs.expr, "sqrt(x0)");
    run_fuse_layernorm(g);
    int gi = clg_find_value(g, "g"), bi = clg_find_value(g, "b");
    const float *gamma = g->nodes[gi].constant->data, *beta = g->nodes[bi].constant->data;
    float x[3 * 4 * 8], y[3 * 4 * 8];
    for (int k = 0; k < 96; k++) x[k] = (float)((k * 37) % 23) * 0.3f - 3.0f;
    clg_tensor in = {x, 3, {3, 4, 8}, CLG_DTYPE_F32}, out = {y, 0, {0}, CLG_DTYPE_F32};
    if (clg_graph_run_reference(g, &in, 1, &out, 1) != CLG_OK) fail_msg("%s", clg_graph_errmsg(g));
    for (int r = 0; r < 12; r++) {
        double mean = 0, var = 0;
        for (int k = 0; k < 8; k++) mean += x[r * 8 + k] / 8.0;
        for (int k = 0; k < 8; k++) var += (x[r * 8 + k] - mean) * (x[r * 8 + k] - mean) / 8.0;
        for (int k = 0; k < 8; k++) {
            double want = (x[r * 8 + k] - mean) / sqrt(var + (double)0.001f) * gamma[k] + beta[k];
            if (fabs(y[r * 8 + k] - want) > 1e-5 * (1 + fabs(want)))
                fail_msg("row %d, element %d: got %.7g, want %.7g", r, k, y[r * 8 + k], want);
        }
    }
    clg_graph_destroy(g);
}

static void test_fuse_elementwise(void **state)
{
    (void)state;
    check_pass("fuse-elementwise",
               "input x: f32[N, 2]\n"
               "input z: f32[N, 2]\n"
               "s = Add(x, z)\n"
               "y = Relu(s)\n"
               "output y\n",
               "input x: f32[N, 2]\n"
               "input z: f32[N, 2]\n"
               "y = Elementwise(x, z) expr=\"relu(x0 + x1)\"\n"
               "output y\n");
    /* Every fusible op; x read four times is one input; constants are
     * inputs like any other. */
    check_pass("fuse-elementwise",
               "input x: f32[N, 3]\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "a = Mul(x, c)\n"
               "b = Sub(a, x)\n"
               "d = Div(b, x)\n"
               "l = LeakyRelu(d) alpha=0.2\n"
               "cl = Clip(l) min=-1 max=6\n"
               "sg = Sigmoid(cl)\n"
               "t = Tanh(sg)\n"
               "ge = Gelu(t) approximate=1\n"
               "g2 = Gelu(ge)\n"
               "y = Add(g2, x)\n"
               "output y\n",
               "input x: f32[N, 3]\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "y = Elementwise(x, c) expr=\"gelu(gelu_tanh(tanh(sigmoid(clip(leaky_relu((x0 * x1 - x0) / x0, "
               "0.2), -1, 6))))) + x0\"\n"
               "output y\n");
    /* The functions ONNX's activations, math, comparisons and logic import
     * as (onnx/onnx_elementwise.c) fuse like any other. */
    check_pass("fuse-elementwise",
               "input x: f32[N, 3]\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "a = Elementwise(x) expr=\"softplus(x0)\"\n"
               "b = Elementwise(a, c) expr=\"leaky_relu(x0, x1)\"\n"
               "w = Elementwise(b, x) expr=\"where(gt(x0, 0.5), x0, mish(x1))\"\n"
               "y = Elementwise(w) expr=\"round(pow(x0, 2))\"\n"
               "output y\n",
               "input x: f32[N, 3]\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "y = Elementwise(x, c) expr=\"round(pow(where(gt(leaky_relu(softplus(x0), x1), 0.5), "
               "leaky_relu(softplus(x0), x1), mish(x0)), 2))\"\n"
               "output y\n");
    /* Elementwise nodes merge by substitution; a producer read twice by one
     * consumer still has one consumer; a right operand keeps its
     * parentheses (fp32 sums depend on their order). */
    check_pass("fuse-elementwise",
               "input x: f32[N, 2]\n"
               "input z: f32[N, 2]\n"
               "e = Elementwise(x, z) expr=\"x0 * x1\"\n"
               "f = Elementwise(e, x) expr=\"max(x0, x1) - x1\"\n"
               "s = Relu(x)\n"
               "m = Mul(s, s)\n"
               "cl = Clip(m) max=6\n"
               "p = Add(z, x)\n"
               "q = Add(cl, p)\n"
               "k = Add(f, q)\n"
               "output k\n",
               "input x: f32[N, 2]\n"
               "input z: f32[N, 2]\n"
               "k = Elementwise(x, z) expr=\"max(x0 * x1, x0) - x0 + (clip(relu(x0) * relu(x0), -inf, 6) + (x1 + x0))\"\n"
               "output k\n");
}

static void test_fuse_elementwise_refused(void **state)
{
    (void)state;
    /* The pre-activation sum is read twice. */
    check_unchanged("fuse-elementwise",
                    "input x: f32[N, 2]\n"
                    "input z: f32[N, 2]\n"
                    "s = Add(x, z)\n"
                    "y = Relu(s)\n"
                    "w = Sigmoid(s)\n"
                    "output y\n"
                    "output w\n");
    /* The producer is a graph output. */
    check_unchanged("fuse-elementwise",
                    "input x: f32[N, 2]\n"
                    "input z: f32[N, 2]\n"
                    "s = Add(x, z)\n"
                    "y = Relu(s)\n"
                    "output s\n"
                    "output y\n");
    /* The consumer broadcasts the producer: it would be recomputed per
     * output element. */
    check_unchanged("fuse-elementwise",
                    "input x: f32[N, 1]\n"
                    "input z: f32[N, 3]\n"
                    "a = Relu(x)\n"
                    "y = Add(a, z)\n"
                    "output y\n");
    /* A producer that is not elementwise. */
    check_unchanged("fuse-elementwise",
                    "input x: f32[N, 2]\n"
                    "a = Softmax(x)\n"
                    "y = Relu(a)\n"
                    "output y\n");
}

static double reference_difference(clg_graph *a, clg_graph *b, int64_t batch);
static int count_op(clg_graph *g, clg_op op);

/* The Elementwise after a Gemm or 2-D MatMul becomes its epilogue: the
 * GEMM's inputs, then the Elementwise's others up to the last one its
 * expression names (that count is how the text tells them apart). */
static void test_absorb_epilogue(void **state)
{
    (void)state;
    check_pass("absorb-epilogue",
               "input x: f32[N, 4]\n"
               "const w: f32[3, 4] = random(1)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "input r: f32[N, 3]\n"
               "h = Gemm(x, w, b) transB=1\n"
               "y = Elementwise(h, r) expr=\"relu(x0 + x1)\"\n"
               "output y\n",
               "input x: f32[N, 4]\n"
               "const w: f32[3, 4] = random(1)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "input r: f32[N, 3]\n"
               "y = Gemm(x, w, b, r) transB=1 epilogue=\"relu(x0 + x1)\"\n"
               "output y\n");
    /* Any elementwise op, not only an Elementwise node: a lone LeakyRelu
     * (its expression from the op table). */
    check_pass("absorb-epilogue",
               "input x: f32[N, 4]\n"
               "const w: f32[3, 4] = random(1)\n"
               "h = Gemm(x, w) transB=1\n"
               "y = LeakyRelu(h) alpha=0.2\n"
               "output y\n",
               "input x: f32[N, 4]\n"
               "const w: f32[3, 4] = random(1)\n"
               "y = Gemm(x, w) transB=1 epilogue=\"leaky_relu(x0, 0.2)\"\n"
               "output y\n");
    /* A MatMul; an input the expression never names is left out, one it
     * names after an unnamed one keeps its place. */
    check_pass("absorb-epilogue",
               "input x: f32[2, 4]\n"
               "input r: f32[2, 3]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "h = MatMul(x, w)\n"
               "y = Elementwise(h, c, r, c) expr=\"x0 * x2\"\n"
               "output y\n",
               "input x: f32[2, 4]\n"
               "input r: f32[2, 3]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const c: f32[3] = [1, 2, 3]\n"
               "y = MatMul(x, w, c, r) epilogue=\"x0 * x2\"\n"
               "output y\n");
    /* A transformer's 3-D MatMul by a 2-D weight (one GEMM of N * S
     * rows): a bias [F] and a residual [N, S, F] are rows of its result,
     * so its bias + GELU and the residual are its epilogue; a [1, 1, F]
     * bias too (all its leading dims 1). */
    check_pass("absorb-epilogue",
               "input x: f32[N, S, 4]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "const b3: f32[1, 1, 3] = [3, 2, 1]\n"
               "input r: f32[N, S, 3]\n"
               "h = MatMul(x, w)\n"
               "y = Elementwise(h, b, r, b3) expr=\"gelu(x0 + x1) + x2 * x3\"\n"
               "output y\n",
               "input x: f32[N, S, 4]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "const b3: f32[1, 1, 3] = [3, 2, 1]\n"
               "input r: f32[N, S, 3]\n"
               "y = MatMul(x, w, b, r, b3) epilogue=\"gelu(x0 + x1) + x2 * x3\"\n"
               "output y\n");
    /* The GEMM read as x1 (PyTorch's Add(bias, MatMul)), x2: the
     * expression takes it as x0, the input it displaces as its xK. */
    check_pass("absorb-epilogue",
               "input x: f32[N, 4]\n"
               "const w: f32[4, 4] = random(1)\n"
               "h = Gemm(x, w)\n"
               "y = Elementwise(x, h) expr=\"x0 - x1\"\n"
               "output y\n",
               "input x: f32[N, 4]\n"
               "const w: f32[4, 4] = random(1)\n"
               "y = Gemm(x, w, x) epilogue=\"x1 - x0\"\n"
               "output y\n");
    check_pass("absorb-epilogue",
               "input x: f32[N, S, 4]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "input r: f32[N, S, 3]\n"
               "h = MatMul(x, w)\n"
               "y = Elementwise(b, r, h) expr=\"gelu(x0 + x2) * x1\"\n"
               "output y\n",
               "input x: f32[N, S, 4]\n"
               "const w: f32[4, 3] = random(2)\n"
               "const b: f32[3] = [1, 2, 3]\n"
               "input r: f32[N, S, 3]\n"
               "y = MatMul(x, w, r, b) epilogue=\"gelu(x2 + x0) * x1\"\n"
               "output y\n");
    /* A Conv2D: a bias per channel [C, 1, 1] and a residual of the
     * result's NCHW shape, then the activation (a ResNet block's second
     * conv after fold-batchnorm and split-bias). */
    check_pass("absorb-epilogue",
               "input x: f32[N, 2, 5, 5]\n"
               "input r: f32[N, 3, 5, 5]\n"
               "const w: f32[3, 2, 3, 3] = random(1)\n"
               "const b: f32[3, 1, 1] = [1, 2, 3]\n"
               "h = Conv2D(x, w) pads=[1, 1, 1, 1]\n"
               "y = Elementwise(h, b, r) expr=\"relu(x0 + x1 + x2)\"\n"
               "output y\n",
               "input x: f32[N, 2, 5, 5]\n"
               "input r: f32[N, 3, 5, 5]\n"
               "const w: f32[3, 2, 3, 3] = random(1)\n"
               "const b: f32[3, 1, 1] = [1, 2, 3]\n"
               "y = Conv2D(x, w, b, r) pads=[1, 1, 1, 1] epilogue=\"relu(x0 + x1 + x2)\"\n"
               "output y\n");
    /* A lone Clip after a depthwise Conv2D with a bias of its own (kept). */
    check_pass("absorb-epilogue",
               "input x: f32[N, 2, 5, 5]\n"
               "const w: f32[2, 1, 3, 3] = random(1)\n"
               "const b: f32[2] = [1, 2]\n"
               "h = Conv2D(x, w, b) group=2\n"
               "y = Clip(h) min=0 max=6\n"
               "output y\n",
               "input x: f32[N, 2, 5, 5]\n"
               "const w: f32[2, 1, 3, 3] = random(1)\n"
               "const b: f32[2] = [1, 2]\n"
               "y = Conv2D(x, w, b) group=2 epilogue=\"clip(x0, 0, 6)\"\n"
               "output y\n");
    /* The reference executor computes the same numbers either way: the
     * epilogue reads the GEMM's result rounded to float, as the Elementwise
     * did. */
    clg_graph *g = load(EXAMPLE), *opt = NULL;
    assert_int_equal(clg_graph_optimize(g, 1, NULL, NULL), CLG_OK);
    assert_int_equal(clg_pass_run_named(g, "split-bias"), CLG_OK);
    assert_int_equal(clg_pass_run_named(g, "fuse-elementwise"), CLG_OK);
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_pass_run_named(opt, "absorb-epilogue"), CLG_OK);
    assert_int_equal(count_op(opt, CLG_OP_ELEMENTWISE), 0);
    assert_true(count_op(g, CLG_OP_ELEMENTWISE) > 0);
    double err = reference_difference(g, opt, 3);
    if (err != 0.0) fail_msg("absorbing changed the reference's numbers: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);

    /* A ResNet basic block at -O2: each conv absorbs its folded
     * BatchNorm's bias, the ReLU and (the second) the shortcut; the
     * reference executor running the convs' epilogues agrees with it
     * running the block as written (up to BatchNorm folding's rounding). */
    g = parse("input x: f32[N, 4, 6, 6]\n"
                   "const w1: f32[4, 4, 3, 3] = random(1, -0.5, 0.5)\n"
                   "const s1: f32[4] = random(2, 0.5, 1.5)\nconst t1: f32[4] = random(3)\n"
                   "const m1: f32[4] = random(4)\nconst v1: f32[4] = random(5, 0.5, 1.5)\n"
                   "const w2: f32[4, 4, 3, 3] = random(6, -0.5, 0.5)\n"
                   "const s2: f32[4] = random(7, 0.5, 1.5)\nconst t2: f32[4] = random(8)\n"
                   "const m2: f32[4] = random(9)\nconst v2: f32[4] = random(10, 0.5, 1.5)\n"
                   "c1 = Conv2D(x, w1) pads=[1, 1, 1, 1]\n"
                   "b1 = BatchNorm(c1, s1, t1, m1, v1) epsilon=0.00001\n"
                   "r1 = Relu(b1)\n"
                   "c2 = Conv2D(r1, w2) pads=[1, 1, 1, 1]\n"
                   "b2 = BatchNorm(c2, s2, t2, m2, v2) epsilon=0.00001\n"
                   "a = Add(b2, x)\n"
                   "y = Relu(a)\n"
                   "output y\n");
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_graph_optimize(opt, 2, NULL, NULL), CLG_OK);
    assert_int_equal(count_op(opt, CLG_OP_CONV2D), 2);
    assert_int_equal(count_op(opt, CLG_OP_ELEMENTWISE) + count_op(opt, CLG_OP_BATCHNORM) +
                         count_op(opt, CLG_OP_RELU) + count_op(opt, CLG_OP_ADD),
                     0);
    err = reference_difference(g, opt, 3);
    if (!(err <= 1e-5)) fail_msg("the block with conv epilogues: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);
}

static void test_absorb_epilogue_refused(void **state)
{
    (void)state;
    /* The GEMM is read twice. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 4] = random(1)\n"
                    "h = Gemm(x, w)\n"
                    "y = Elementwise(h) expr=\"relu(x0)\"\n"
                    "z = Elementwise(h, y) expr=\"x0 + x1\"\n"
                    "output z\n");
    /* The GEMM is a graph output. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 4] = random(1)\n"
                    "h = Gemm(x, w)\n"
                    "y = Elementwise(h) expr=\"relu(x0)\"\n"
                    "output h\n"
                    "output y\n");
    /* The Elementwise reads the GEMM twice. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 4] = random(1)\n"
                    "h = Gemm(x, w)\n"
                    "y = Elementwise(x, h, h) expr=\"x0 - x1 * x2\"\n"
                    "output y\n");
    /* The Elementwise broadcasts the GEMM to a larger shape. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 1] = random(1)\n"
                    "input z: f32[N, 3]\n"
                    "h = Gemm(x, w)\n"
                    "y = Elementwise(h, z) expr=\"x0 + x1\"\n"
                    "output y\n");
    /* A batched MatMul of two computed tensors (no one GEMM). */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 2, 4]\n"
                    "input w: f32[N, 4, 3]\n"
                    "h = MatMul(x, w)\n"
                    "y = Elementwise(h) expr=\"relu(x0)\"\n"
                    "output y\n");
    /* A 3-D MatMul by a 2-D weight whose epilogue input is no row of the
     * GEMM's result: [2, 3] over [N, 2, 3] (one per position, shared by
     * the batch), [N, 1, 3] (one per batch item, shared by the positions). */
    static const char *const not_rows[] = {"[2, 3]", "[N, 1, 3]"};
    for (int i = 0; i < 2; i++) {
        char t[512];
        snprintf(t, sizeof t,
                 "input x: f32[N, 2, 4]\n"
                 "const w: f32[4, 3] = random(1)\n"
                 "input r: f32%s\n"
                 "h = MatMul(x, w)\n"
                 "y = Elementwise(h, r) expr=\"relu(x0 + x1)\"\n"
                 "output y\n", not_rows[i]);
        check_unchanged("absorb-epilogue", t);
    }
    /* The GEMM has an epilogue already. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 4] = random(1)\n"
                    "h = Gemm(x, w) epilogue=\"relu(x0)\"\n"
                    "y = Elementwise(h) expr=\"tanh(x0)\"\n"
                    "output y\n");
    /* Softmax is no elementwise op. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 4]\n"
                    "const w: f32[4, 4] = random(1)\n"
                    "h = Gemm(x, w)\n"
                    "y = Softmax(h)\n"
                    "output y\n");
    /* A Conv2D read elsewhere too (its result is needed as it is). */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 2, 4, 4]\n"
                    "const w: f32[2, 2, 3, 3] = random(1)\n"
                    "h = Conv2D(x, w) pads=[1, 1, 1, 1]\n"
                    "y = Elementwise(h) expr=\"relu(x0)\"\n"
                    "z = Add(y, h)\n"
                    "output z\n");
    /* A Conv2D whose reader broadcasts it to a larger shape. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 1, 4, 4]\n"
                    "const w: f32[1, 1, 3, 3] = random(1)\n"
                    "input r: f32[N, 3, 2, 2]\n"
                    "h = Conv2D(x, w)\n"
                    "y = Add(h, r)\n"
                    "output y\n");
    /* An input that varies along W only: no one stride over the pixels. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 1, 4, 4]\n"
                    "const w: f32[2, 1, 3, 3] = random(1)\n"
                    "const c: f32[2] = [1, 2]\n"
                    "h = Conv2D(x, w)\n"
                    "y = Mul(h, c)\n"
                    "output y\n");
    /* A Conv2D that is a graph output. */
    check_unchanged("absorb-epilogue",
                    "input x: f32[N, 1, 4, 4]\n"
                    "const w: f32[2, 1, 3, 3] = random(1)\n"
                    "h = Conv2D(x, w)\n"
                    "y = Relu(h)\n"
                    "output h\n"
                    "output y\n");
}

/* Other passes leave a GEMM with an epilogue alone: BatchNorm folding in
 * either direction and bias splitting would lose or misplace it. */
static void test_epilogue_blocks_other_passes(void **state)
{
    (void)state;
    const char *bn_after = "input x: f32[N, 4]\n"
                           "const w: f32[4, 4] = random(1)\n"
                           "const b: f32[4] = [1, 2, 3, 4]\n"
                           "const g: f32[4] = [1, 2, 1, 2]\n"
                           "const m: f32[4] = [0, 1, 0, 1]\n"
                           "const v: f32[4] = [1, 1, 2, 2]\n"
                           "h = Gemm(x, w, b) epilogue=\"relu(x0)\"\n"
                           "y = BatchNorm(h, g, b, m, v)\n"
                           "output y\n";
    check_unchanged("fold-batchnorm", bn_after);
    check_unchanged("fold-batchnorm", "input x: f32[N, 4]\n"
                                      "const w: f32[4, 4] = random(1)\n"
                                      "const b: f32[4] = [1, 2, 3, 4]\n"
                                      "const g: f32[4] = [1, 2, 1, 2]\n"
                                      "const m: f32[4] = [0, 1, 0, 1]\n"
                                      "const v: f32[4] = [1, 1, 2, 2]\n"
                                      "n = BatchNorm(x, g, b, m, v)\n"
                                      "y = Gemm(n, w, b) epilogue=\"relu(x0)\"\n"
                                      "output y\n");
    /* [x, w, r] with an epilogue naming x1 is a Gemm without bias. */
    check_unchanged("split-bias", "input x: f32[N, 4]\n"
                                  "const w: f32[4, 4] = random(1)\n"
                                  "const r: f32[4] = [1, 2, 3, 4]\n"
                                  "h = Gemm(x, w, r) epilogue=\"x0 * x1\"\n"
                                  "y = Relu(h)\n"
                                  "output y\n");
    /* The same for a Conv2D with an epilogue: a BatchNorm after it or
     * before it stays, and its third input, x1 here, is no bias. */
    check_unchanged("fold-batchnorm", "input x: f32[N, 4, 5, 5]\n"
                                      "const w: f32[4, 4, 3, 3] = random(1)\n"
                                      "const b: f32[4] = [1, 2, 3, 4]\n"
                                      "const g: f32[4] = [1, 2, 1, 2]\n"
                                      "const m: f32[4] = [0, 1, 0, 1]\n"
                                      "const v: f32[4] = [1, 1, 2, 2]\n"
                                      "h = Conv2D(x, w, b) epilogue=\"relu(x0)\"\n"
                                      "y = BatchNorm(h, g, b, m, v)\n"
                                      "output y\n");
    check_unchanged("fold-batchnorm", "input x: f32[N, 4, 5, 5]\n"
                                      "const w: f32[4, 4, 3, 3] = random(1)\n"
                                      "const b: f32[4] = [1, 2, 3, 4]\n"
                                      "const g: f32[4] = [1, 2, 1, 2]\n"
                                      "const m: f32[4] = [0, 1, 0, 1]\n"
                                      "const v: f32[4] = [1, 1, 2, 2]\n"
                                      "n = BatchNorm(x, g, b, m, v)\n"
                                      "y = Conv2D(n, w, b) epilogue=\"relu(x0)\"\n"
                                      "output y\n");
    check_unchanged("split-bias", "input x: f32[N, 4, 5, 5]\n"
                                  "const w: f32[4, 4, 3, 3] = random(1)\n"
                                  "const r: f32[4, 1, 1] = [1, 2, 3, 4]\n"
                                  "h = Conv2D(x, w, r) epilogue=\"x0 * x1\"\n"
                                  "y = Relu(h)\n"
                                  "output y\n");
}

static void test_fuse_elementwise_16_inputs(void **state)
{
    (void)state;
    /* 17 distinct inputs: the chain fuses up to 16, the first Add stays. */
    char in[4096] = "", want[4096] = "";
    size_t a = 0, b = 0;
    for (int i = 0; i <= 16; i++) {
        a += (size_t)snprintf(in + a, sizeof in - a, "input i%d: f32[N, 2]\n", i);
        b += (size_t)snprintf(want + b, sizeof want - b, "input i%d: f32[N, 2]\n", i);
    }
    a += (size_t)snprintf(in + a, sizeof in - a, "s1 = Add(i0, i1)\n");
    for (int i = 2; i <= 16; i++) a += (size_t)snprintf(in + a, sizeof in - a, "s%d = Add(s%d, i%d)\n", i, i - 1, i);
    snprintf(in + a, sizeof in - a, "output s16\n");
    b += (size_t)snprintf(want + b, sizeof want - b, "s1 = Add(i0, i1)\ns16 = Elementwise(s1");
    for (int i = 2; i <= 16; i++) b += (size_t)snprintf(want + b, sizeof want - b, ", i%d", i);
    b += (size_t)snprintf(want + b, sizeof want - b, ") expr=\"x0");
    for (int i = 1; i < 16; i++) b += (size_t)snprintf(want + b, sizeof want - b, " + x%d", i);
    snprintf(want + b, sizeof want - b, "\"\noutput s16\n");
    check_pass("fuse-elementwise", in, want);
}

/* A chain too long for one expression (the attribute holds 1023 bytes and
 * nesting is limited): it splits into several fused nodes that still
 * compute the same. */

static void test_fuse_elementwise_long_chain(void **state)
{
    (void)state;
    static char text[1 << 16];
    size_t n = (size_t)snprintf(text, sizeof text, "input x: f32[N, 4]\nv0 = Tanh(x)\n");
    for (int i = 1; i < 400; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "v%d = %s(v%d)\n", i, i % 2 ? "Sigmoid" : "Tanh", i - 1);
    snprintf(text + n, sizeof text - n, "output v399\n");
    clg_graph *g = parse(text), *opt = NULL;
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_graph_optimize(opt, 2, NULL, NULL), CLG_OK);
    int fused = count_op(opt, CLG_OP_ELEMENTWISE);
    assert_true(fused >= 3 && fused + 1 == clg_graph_node_count(opt));
    char *out = print(opt);
    assert_non_null(strstr(out, "v399 = Elementwise("));
    free(out);
    double err = reference_difference(g, opt, 3);
    if (err > 1e-5) fail_msg("long chain: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);
}

/* ---------------------------------------------------------------- the pipeline */

static clg_tensor random_input(clg_graph *g, int i, int64_t batch, unsigned seed)
{
    clg_tensor t = {0};
    assert_int_equal(clg_graph_input_info(g, i, NULL, &t.rank, t.dims), CLG_OK);
    if (t.dims[0] == CLG_BATCH) t.dims[0] = batch;
    size_t n = 1;
    for (int d = 0; d < t.rank; d++) n *= (size_t)t.dims[d];
    t.data = malloc(n * sizeof(float));
    assert_non_null(t.data);
    uint64_t s = seed * 2654435761u + 7;
    for (size_t k = 0; k < n; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t.data[k] = (float)(s >> 40) / 16777216.0f * 2.0f - 1.0f;
    }
    return t;
}

/* Largest |a - b| over the largest |a| of each output (one input only). */
static double reference_difference(clg_graph *a, clg_graph *b, int64_t batch)
{
    assert_int_equal(clg_graph_input_count(a), 1);
    assert_int_equal(clg_graph_output_count(a), clg_graph_output_count(b));
    clg_tensor in = random_input(a, 0, batch, 3);
    double worst = 0.0;
    int n_out = clg_graph_output_count(a);
    clg_tensor *ya = calloc((size_t)n_out, sizeof *ya), *yb = calloc((size_t)n_out, sizeof *yb);
    size_t *counts = calloc((size_t)n_out, sizeof *counts);
    for (int o = 0; o < n_out; o++) {
        int rank;
        int64_t dims[CLG_MAX_RANK];
        assert_int_equal(clg_graph_output_info(a, o, batch, NULL, &rank, dims), CLG_OK);
        counts[o] = 1;
        for (int d = 0; d < rank; d++) counts[o] *= (size_t)dims[d];
        ya[o].data = malloc(counts[o] * sizeof(float));
        yb[o].data = malloc(counts[o] * sizeof(float));
    }
    if (clg_graph_run_reference(a, &in, 1, ya, n_out) != CLG_OK) fail_msg("reference: %s", clg_graph_errmsg(a));
    if (clg_graph_run_reference(b, &in, 1, yb, n_out) != CLG_OK) fail_msg("reference: %s", clg_graph_errmsg(b));
    for (int o = 0; o < n_out; o++) {
        double scale = 1e-6, diff = 0.0;
        for (size_t k = 0; k < counts[o]; k++) {
            if (fabs(ya[o].data[k]) > scale) scale = fabs(ya[o].data[k]);
            double d = fabs((double)ya[o].data[k] - (double)yb[o].data[k]);
            if (!(d <= diff)) diff = isnan(d) ? INFINITY : d;
        }
        if (diff / scale > worst) worst = diff / scale;
        free(ya[o].data);
        free(yb[o].data);
    }
    free(ya);
    free(yb);
    free(counts);
    free(in.data);
    return worst;
}

static int count_op(clg_graph *g, clg_op op)
{
    int n = 0;
    for (int i = 0; i < clg_graph_node_count(g); i++) {
        clg_op o;
        assert_int_equal(clg_graph_node_info(g, i, &o, NULL, NULL, NULL), CLG_OK);
        n += o == op;
    }
    return n;
}

static void test_batchnorm_folding_numerics(void **state)
{
    (void)state;
    /* The example (forward into Gemm, then backward into it) and a graph
     * with grouped convolutions folded both ways. */
    clg_graph *g = load(EXAMPLE), *opt = NULL;
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_graph_optimize(opt, 1, NULL, NULL), CLG_OK);
    assert_int_equal(count_op(opt, CLG_OP_BATCHNORM), 0);
    double err = reference_difference(g, opt, 7);
    if (err > 1e-5) fail_msg("example folded: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);

    g = parse("input x: f32[N, 4, 6, 6]\n"
              "const w1: f32[6, 2, 3, 3] = random(1, -0.5, 0.5)\n"
              "const b1: f32[6] = random(2)\n"
              "c1 = Conv2D(x, w1, b1) strides=[2, 1] pads=[1, 1, 0, 1] group=2\n"
              "const s1: f32[6] = random(3, 0.5, 1.5)\n"
              "const o1: f32[6] = random(4)\n"
              "const m1: f32[6] = random(5)\n"
              "const v1: f32[6] = random(6, 0.2, 2)\n"
              "bn1 = BatchNorm(c1, s1, o1, m1, v1) epsilon=0.01\n"
              "const s2: f32[6] = random(7, 0.5, 1.5)\n"
              "const o2: f32[6] = random(8)\n"
              "const m2: f32[6] = random(9)\n"
              "const v2: f32[6] = random(10, 0.2, 2)\n"
              "bn2 = BatchNorm(bn1, s2, o2, m2, v2) epsilon=0.001\n"
              "const w2: f32[4, 3, 2, 2] = random(11, -0.5, 0.5)\n"
              "c2 = Conv2D(bn2, w2) dilations=[1, 2] group=2\n"
              "y = Relu(c2)\n"
              "output y\n");
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_graph_optimize(opt, 1, NULL, NULL), CLG_OK);
    assert_int_equal(count_op(opt, CLG_OP_BATCHNORM), 0);
    err = reference_difference(g, opt, 3);
    if (err > 1e-5) fail_msg("convolutions folded: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);
}

static void count_passes(void *user, const char *pass, const clg_graph *g)
{
    (void)pass;
    (void)g;
    (*(int *)user)++;
}

static void test_pass_manager(void **state)
{
    (void)state;
    int level, n = 0, at_level[3] = {0, 0, 0};
    for (const char *name; (name = clg_pass_name(n, &level)); n++) {
        /* 3: a pass no level runs (merge-projections), by name only */
        assert_true(level >= 1 && level <= 3);
        for (int l = level; l <= 2; l++) at_level[l]++;
    }
    assert_true(n >= 8);
    assert_null(clg_pass_name(n, &level));
    assert_null(clg_pass_name(-1, &level));
    assert_string_equal(clg_pass_name(0, NULL), "dce");

    clg_graph *g = load(EXAMPLE);
    char *before = print(g);
    assert_int_equal(clg_graph_optimize(g, 3, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_optimize(g, -1, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_graph_optimize(NULL, 1, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    for (int l = 0; l <= 2; l++) {
        clg_graph *c = NULL;
        assert_int_equal(clg_graph_clone(g, &c), CLG_OK);
        int calls = 0;
        assert_int_equal(clg_graph_optimize(c, l, count_passes, &calls), CLG_OK);
        assert_int_equal(calls, at_level[l]);
        if (l == 0) {
            char *same = print(c);
            assert_string_equal(same, before);
            free(same);
        }
        clg_graph_destroy(c);
    }
    /* The original was never touched. */
    char *after = print(g);
    assert_string_equal(after, before);
    free(before);
    free(after);
    clg_graph_destroy(g);
}

/* -O2 on the example: no BatchNorm left, the residual block is
 * Gemm, Elementwise, Gemm, Elementwise, then the head. */
static void test_example_o2(void **state)
{
    (void)state;
    clg_graph *g = load(EXAMPLE);
    clg_graph *opt = NULL;
    assert_int_equal(clg_graph_clone(g, &opt), CLG_OK);
    assert_int_equal(clg_graph_optimize(opt, 2, NULL, NULL), CLG_OK);
    assert_int_equal(count_op(opt, CLG_OP_BATCHNORM), 0);
    clg_op ops[32];
    int n = 0;
    for (int i = 0; i < clg_graph_node_count(opt); i++) {
        clg_op op;
        assert_int_equal(clg_graph_node_info(opt, i, &op, NULL, NULL, NULL), CLG_OK);
        if (op != CLG_OP_INPUT && op != CLG_OP_CONSTANT && n < 32) ops[n++] = op;
    }
    /* Each block's Elementwise is absorbed into its Gemm as an epilogue. */
    const clg_op want[] = {CLG_OP_GEMM, CLG_OP_GEMM, CLG_OP_GEMM, CLG_OP_SOFTMAX};
    int n_want = (int)(sizeof want / sizeof *want);
    char got[512] = "";
    for (int i = 0; i < n; i++) {
        strcat(got, clg_op_name(ops[i]));
        strcat(got, " ");
    }
    if (n != n_want) fail_msg("nodes at -O2: %s", got);
    for (int i = 0; i < n; i++)
        if (ops[i] != want[i]) fail_msg("nodes at -O2: %s", got);
    /* Output and input names are kept. */
    const char *name;
    assert_int_equal(clg_graph_output_info(opt, 0, 1, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "y");
    assert_int_equal(clg_graph_input_info(opt, 0, &name, NULL, NULL), CLG_OK);
    assert_string_equal(name, "x");
    double err = reference_difference(g, opt, 5);
    if (err > 1e-5) fail_msg("example at -O2: relative error %g", err);
    clg_graph_destroy(g);
    clg_graph_destroy(opt);
}

/* ---------------------------------------------------------------- out of memory */

typedef struct fail_alloc {
    long long fail_at, growths, live;
} fail_alloc;

#define HDR 16

static void *fail_alloc_fn(void *user, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *a = user;
    char *block = ptr ? (char *)ptr - HDR : NULL;
    if (new_size == 0) {
        if (ptr) a->live -= (long long)old_size;
        free(block);
        return NULL;
    }
    if (new_size > (ptr ? old_size : 0) && ++a->growths == a->fail_at) return NULL;
    char *p = realloc(block, new_size + HDR);
    if (!p) return NULL;
    a->live += (long long)new_size - (long long)(ptr ? old_size : 0);
    return p + HDR;
}

/* Optimizing fails cleanly at every allocation: CLG_ERR_OUT_OF_MEMORY, a
 * graph that still computes the same outputs, nothing leaked. */
/* Every allocation of clg_graph_optimize(text, -O2) failed in turn: out of
 * memory, the graph as it was (or as optimized), nothing leaked. */
/* pass: NULL runs -O2, else that pass alone (one no level runs). */
static void optimize_out_of_memory_pass(const char *text, size_t len, const char *pass)
{
    clg_graph *ref = parse(text);
    bool succeeded = false;
    for (long long k = 1; !succeeded && k < 100000; k++) {
        fail_alloc a = {0, 0, 0};
        clg_graph *g = NULL;
        assert_int_equal(clg_graph_create(&g, fail_alloc_fn, &a), CLG_OK);
        assert_int_equal(clg_graph_parse(g, text, len, "examples"), CLG_OK);
        a.fail_at = a.growths + k;
        clg_status s = pass ? clg_pass_run_named(g, pass) : clg_graph_optimize(g, 2, NULL, NULL);
        a.fail_at = 0;
        if (s == CLG_OK) succeeded = true;
        else if (s != CLG_ERR_OUT_OF_MEMORY) fail_msg("failing allocation %lld: %s", k, clg_status_string(s));
        double err = reference_difference(ref, g, 2);
        if (err > 1e-5) fail_msg("failing allocation %lld: relative error %g", k, err);
        clg_graph_destroy(g);
        if (a.live != 0) fail_msg("failing allocation %lld: %lld bytes leaked", k, a.live);
    }
    assert_true(succeeded);
    clg_graph_destroy(ref);
}

static void optimize_out_of_memory(const char *text, size_t len) { optimize_out_of_memory_pass(text, len, NULL); }

static void test_optimize_out_of_memory(void **state)
{
    (void)state;
    FILE *f = fopen(EXAMPLE, "rb");
    assert_non_null(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    optimize_out_of_memory(text, len);
    /* fold-pad's sweep, with a Pad that folds and one that stays */
    static const char pads[] = "input x: f32[N, 3, 8, 8]\n"
                               "p = Pad(x) pads=[0, 0, 1, 0, 0, 0, 2, 1]\n"
                               "const w: f32[4, 3, 3, 3] = random(1)\n"
                               "c = Conv2D(p, w) strides=[2, 2]\n"
                               "q = Pad(c) pads=[0, 0, 1, 1, 0, 0, 1, 1] mode=\"edge\"\n"
                               "y = MaxPool(q) kernel_shape=[2, 2]\n"
                               "output y\n";
    optimize_out_of_memory(pads, sizeof pads - 1);
    /* fuse-attention's sweep: a block that fuses and one whose scores are
     * also an output */
    static const char attention[] = "input x: f32[N, 7, 8]\n"
                                    "const m: f32[7, 7] = random(5, -2, 0)\n"
                                    "const c: f32[1] = full(2)\n"
                                    "kt = Transpose(x) perm=[0, 2, 1]\n"
                                    "v = Tanh(x)\n"
                                    "qs = Div(x, c)\n"
                                    "s = MatMul(qs, kt)\n"
                                    "sm = Add(s, m)\n"
                                    "p = Softmax(sm)\n"
                                    "y = MatMul(p, v)\n"
                                    "s2 = MatMul(x, kt)\n"
                                    "p2 = Softmax(s2)\n"
                                    "y2 = MatMul(p2, v)\n"
                                    "output y\n"
                                    "output y2\n"
                                    "output s2\n";
    optimize_out_of_memory(attention, sizeof attention - 1);
    /* merge-projections' sweep: three Gemms of one input with a bias each,
     * and a MatMul pair */
    static const char projections[] = "input x: f32[N, 6]\n"
                                      "const wq: f32[4, 6] = random(1)\n"
                                      "const wk: f32[4, 6] = random(2)\n"
                                      "const wv: f32[2, 6] = random(3)\n"
                                      "const bq: f32[4] = random(4)\n"
                                      "const bk: f32[4] = random(5)\n"
                                      "const bv: f32[2] = random(6)\n"
                                      "q = Gemm(x, wq, bq) transB=1\n"
                                      "k = Gemm(x, wk, bk) transB=1\n"
                                      "v = Gemm(x, wv, bv) transB=1\n"
                                      "const wa: f32[6, 3] = random(7)\n"
                                      "const wb: f32[6, 3] = random(8)\n"
                                      "a = MatMul(x, wa)\n"
                                      "b = MatMul(x, wb)\n"
                                      "y = Concat(q, k, v, a, b)\n"
                                      "output y\n";
    optimize_out_of_memory_pass(projections, sizeof projections - 1, "merge-projections");
}

/* ---------------------------------------------------------------- clone, save, dot */

static void test_clone(void **state)
{
    (void)state;
    clg_graph *g = load(EXAMPLE), *c = NULL;
    char *want = print(g);
    assert_int_equal(clg_graph_clone(g, &c), CLG_OK);
    clg_graph_destroy(g); /* the clone's constants outlive the original */
    char *got = print(c);
    assert_string_equal(got, want);
    free(want);
    free(got);
    clg_graph_destroy(c);
    assert_int_equal(clg_graph_clone(NULL, &c), CLG_ERR_INVALID_ARGUMENT);
    assert_null(c);
}

static void test_save(void **state)
{
    (void)state;
    char dir[] = "/tmp/clg_save_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], bin[300];
    snprintf(path, sizeof path, "%s/model.clg", dir);
    snprintf(bin, sizeof bin, "%s.bin", path);

    /* Generators only: the text is the canonical print, no sidecar. */
    clg_graph *g = load(EXAMPLE);
    char *want = print(g);
    assert_int_equal(clg_graph_save(g, path), CLG_OK);
    clg_graph *back = load(path);
    char *got = print(back);
    assert_string_equal(got, want);
    assert_int_equal(access(bin, F_OK), -1);
    free(got);
    free(want);
    clg_graph_destroy(back);

    /* Folded weights go to the sidecar, short lists stay inline, and the
     * graph reads back with the same values. */
    assert_int_equal(clg_graph_optimize(g, 2, NULL, NULL), CLG_OK);
    assert_int_equal(clg_graph_save(g, path), CLG_OK);
    assert_int_equal(access(bin, F_OK), 0);
    back = load(path);
    char *text = print(back);
    assert_non_null(strstr(text, "weights \"model.clg.bin\"\n"));
    assert_non_null(strstr(text, "= file(0)\n"));
    assert_int_equal(clg_graph_node_count(back), clg_graph_node_count(g));
    double err = reference_difference(g, back, 3);
    assert_true(err == 0.0);
    /* Saved again from what was loaded: the same text. */
    char path2[300];
    snprintf(path2, sizeof path2, "%s/again.clg", dir);
    assert_int_equal(clg_graph_save(back, path2), CLG_OK);
    clg_graph *back2 = load(path2);
    char *text2 = print(back2);
    char *nl = strchr(text2, '\n'), *nl1 = strchr(text, '\n');
    assert_string_equal(nl, nl1); /* everything after the weights line */
    free(text);
    free(text2);
    clg_graph_destroy(back);
    clg_graph_destroy(back2);

    assert_int_equal(clg_graph_save(g, "/nonexistent-dir/x.clg"), CLG_ERR_IO);
    assert_int_equal(clg_graph_save(g, NULL), CLG_ERR_INVALID_ARGUMENT);
    clg_graph_destroy(g);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_dot(void **state)
{
    (void)state;
    clg_graph *g = load(EXAMPLE);
    assert_int_equal(clg_graph_optimize(g, 2, NULL, NULL), CLG_OK);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(clg_graph_dot(g, &text, &len), CLG_OK);
    assert_int_equal(strlen(text), len);
    assert_true(strncmp(text, "digraph clgraph {\n", 18) == 0);
    assert_non_null(strstr(text, "label=\"[N, 128]\""));
    /* The absorbed epilogue shows on its Gemm. */
    assert_non_null(strstr(text, "\\nGemm\\nepilogue: relu("));
    assert_non_null(strstr(text, "peripheries=2"));
    assert_true(text[len - 2] == '}' && text[len - 1] == '\n');
    clg_graph_free(g, text);
    clg_graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dce),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_identity_output_keeps_name),
        cmocka_unit_test(test_identity_not_removed),
        cmocka_unit_test(test_fold_constants),
        cmocka_unit_test(test_fold_constants_not_folded),
        cmocka_unit_test(test_fold_pad),
        cmocka_unit_test(test_fold_pad_refused),
        cmocka_unit_test(test_fold_pad_numerics),
        cmocka_unit_test(test_fold_pad_shared),
        cmocka_unit_test(test_shrink_conv),
        cmocka_unit_test(test_shrink_conv_refused),
        cmocka_unit_test(test_shrink_conv_numerics),
        cmocka_unit_test(test_sink_transpose),
        cmocka_unit_test(test_sink_transpose_refused),
        cmocka_unit_test(test_sink_transpose_numerics),
        cmocka_unit_test(test_fold_batchnorm_backward_gemm),
        cmocka_unit_test(test_fold_batchnorm_backward_conv),
        cmocka_unit_test(test_fold_batchnorm_forward_gemm),
        cmocka_unit_test(test_fold_batchnorm_forward_conv),
        cmocka_unit_test(test_fold_batchnorm_refused),
        cmocka_unit_test(test_fold_batchnorm_shared_weight),
        cmocka_unit_test(test_fuse_attention),
        cmocka_unit_test(test_fuse_attention_refused),
        cmocka_unit_test(test_fuse_attention_keeps_scale_node),
        cmocka_unit_test(test_fuse_attention_numerics),
        cmocka_unit_test(test_merge_projections),
        cmocka_unit_test(test_merge_projections_refused),
        cmocka_unit_test(test_merge_projections_shared_weight),
        cmocka_unit_test(test_batchnorm_scale_shift),
        cmocka_unit_test(test_fuse_layernorm),
        cmocka_unit_test(test_fuse_layernorm_refused),
        cmocka_unit_test(test_fuse_layernorm_numerics),
        cmocka_unit_test(test_fuse_layernorm_residual),
        cmocka_unit_test(test_split_bias),
        cmocka_unit_test(test_split_bias_refused),
        cmocka_unit_test(test_fuse_elementwise),
        cmocka_unit_test(test_fuse_elementwise_refused),
        cmocka_unit_test(test_fuse_elementwise_16_inputs),
        cmocka_unit_test(test_absorb_epilogue),
        cmocka_unit_test(test_absorb_epilogue_refused),
        cmocka_unit_test(test_epilogue_blocks_other_passes),
        cmocka_unit_test(test_fuse_elementwise_long_chain),
        cmocka_unit_test(test_batchnorm_folding_numerics),
        cmocka_unit_test(test_pass_manager),
        cmocka_unit_test(test_example_o2),
        cmocka_unit_test(test_optimize_out_of_memory),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_save),
        cmocka_unit_test(test_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
