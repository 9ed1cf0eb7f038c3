/* The GEMM kernel family (runtime/gemm/): generated kernels/gemm.cl
 * variants and the choice between them and CLBlast. */
#ifndef CLG_GEMM_H
#define CLG_GEMM_H

#include "lower.h"

/* variants.c: kernels/gemm.cl variants, and Gemm -> Elementwise
 * pairs that one of them runs as a single launch */
typedef struct clg_gemm_variant {
    const char *name; /* as in CLGRAPH_GEMM=generated:NAME and the choice file */
    int tm, tn;       /* rows and columns of C per work-item */
    int vw;           /* > 1: VW-wide dot products along K (A plain, B transposed) */
    int vn;           /* > 1: VN columns as one vector (B plain) */
    int nr;           /* > 0: B packed in panels of nr columns, tiles of tm x nr (any transposes) */
} clg_gemm_variant;
#define CLG_GEMM_VARIANTS 10
CLG_INTERNAL extern const clg_gemm_variant clg_gemm_variants[CLG_GEMM_VARIANTS];
/* Whether variant v exists and handles these transposes. */
CLG_INTERNAL bool clg_gemm_variant_fits(int v, bool trans_a, bool trans_b);
/* The variant named name, or -1. */
CLG_INTERNAL int clg_gemm_variant_find(const char *name);
/* The Elementwise node a generated kernel for Gemm node gemm may apply as
 * its epilogue, or -1: gemm's only reader, reading it as x0 only, with the
 * same 2-D shape and its other inputs computed before gemm (the kernel runs
 * at gemm's place), and gemm not a graph output. */
CLG_INTERNAL int clg_gemm_epilogue_node(const clg_graph *g, int gemm);
/* The program text for a GEMM with epilogue e over n_inputs Elementwise
 * inputs (e NULL: none), snprintf-style like clg_fused_kernel_source. */
CLG_INTERNAL size_t clg_gemm_kernel_source(const struct clg_expr *e, int n_inputs, char *buf, size_t size);
/* Appends Gemm node n (inputs in, output out) as generated variant
 * `variant`, with epi (NULL: none) applied to every element before it is
 * stored; epi_in are epi's inputs (epi_in[0], the GEMM, is not read). */
CLG_INTERNAL clg_status clg_emit_gemm_generated(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                                const clg_dev_tensor *out, int variant, const clg_node *epi,
                                                const clg_dev_tensor *epi_in);

/* A GEMM for a generated kernel: y = epi(alpha * op(A) op(B) + beta * bias)
 * with A [m, k] (ta: [k, m]) of leading dim lda, B [k, n] (tb: [n, k]) of
 * ldb, bias (NULL: none) broadcast to [m, n]. */
typedef struct clg_gemm_gen {
    const clg_dev_tensor *a, *b, *y, *bias;
    int64_t m, n, k, lda, ldb;
    bool ta, tb;
    float alpha, beta;
    bool b_constant; /* a packed variant packs B once, when the plan is built */
    bool b_packed;   /* B already is in the packed variant's layout (im2col wrote it) */
    int64_t y_p;     /* > 0 (packed variants): y is NCHW images of y_p pixels, C's column
                        c = image * y_p + pixel */
    const clg_node *epi;          /* NULL: no epilogue */
    const clg_dev_tensor *epi_in; /* epi's inputs; [0] is not read */
} clg_gemm_gen;
CLG_INTERNAL clg_status clg_emit_gemm_gen(clg_lower *lw, const clg_gemm_gen *g, int variant);
/* Floats of B packed for variant (0 when it does not pack B). */
CLG_INTERNAL size_t clg_gemm_packed_elems(int variant, int64_t n, int64_t k);

/* Another GEMM that computes the same result (a convolution's, with the
 * operands swapped): a Gemm node over inputs in with output out. */
typedef struct clg_gemm_alt {
    const clg_node *n;
    const clg_dev_tensor *in, *out;
} clg_gemm_alt;

/* choice.c: which kernel runs Gemm node n, decided while measuring
 * (lw->plan->measuring) and remembered in the plan: -1 for CLBlast, else a
 * generated variant, or with alt (may be NULL) a packed variant v run on
 * alt's GEMM as v + CLG_GEMM_VARIANTS (named NAME "t"); *epi is the
 * Elementwise node it also runs, or -1.
 * CLGRAPH_GEMM=clblast|generated|generated:NAME forces the path; else the
 * per-device choice file in the cache directory answers, or the candidates
 * are timed on scratch buffers and the winner is written there. */
CLG_INTERNAL clg_status clg_gemm_choose(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                        const clg_dev_tensor *out, const clg_gemm_alt *alt, int *variant,
                                        int *epi);

#endif
