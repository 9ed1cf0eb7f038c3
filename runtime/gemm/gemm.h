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
    int nr;           /* > 0: B packed in panels of nr columns, tiles of tm x nr (any transposes);
                         with wm: the panels' width, a multiple of the work-group's columns */
    int wm, wn;       /* > 0: kernels/gemm_local.cl, work-groups of at most wm x wn work-items
                         (fewer where the device allows fewer) staging tiles of A and B through
                         __local memory, tm x tn outputs per work-item */
    unsigned devices; /* clg_device_type bits of the devices on which measuring times it;
                         CLGRAPH_GEMM=generated:NAME runs it on any */
} clg_gemm_variant;
#define CLG_GEMM_VARIANTS 13
CLG_INTERNAL extern const clg_gemm_variant clg_gemm_variants[CLG_GEMM_VARIANTS];
/* Whether variant v exists and handles these transposes. */
CLG_INTERNAL bool clg_gemm_variant_fits(int v, bool trans_a, bool trans_b);
/* The variant named name, or -1. */
CLG_INTERNAL int clg_gemm_variant_find(const char *name);
/* The variant a GEMM path or the choice file names: a variant's name, or a
 * packed variant's with "t" appended for a convolution's flipped product,
 * "i" for its implicit GEMM, "f" for Winograd F(2x2, 3x3) or "g" for
 * F(4x4, 3x3), or a vector variant's (vn > 1) with "w"
 * for a pointwise convolution read in place (*o set). -1 when it names
 * none. */
CLG_INTERNAL int clg_gemm_variant_parse_orient(const char *name, clg_orientation *o);
/* The same, *flipped set for either suffix. */
CLG_INTERNAL int clg_gemm_variant_parse(const char *name, bool *flipped);

/* A convolution's geometry for the implicit GEMM (kernels/gemm.cl
 * CONV_A): input channels, height, width; kernel height and width; output
 * width and pixels per image; strides; top and left pads; dilations. */
typedef struct clg_conv_geom {
    int64_t c, h, w, kh, kw, out_w, p, sh, sw, pt, pl, dh, dw;
} clg_conv_geom;
/* Whether every tap of every output pixel of g falls inside the input (no
 * padding to read: kernels/gemm.cl CONV_INB). */
CLG_INTERNAL bool clg_conv_in_bounds(const clg_conv_geom *g);
/* One GEMM's operands, as selection times it and lowering runs it:
 * y = epi(alpha * op(A) op(B) + beta * bias) with A [m, k] (ta: [k, m]) of
 * leading dim lda, B [k, n] (tb: [n, k]) of ldb, bias (NULL: none)
 * broadcast to [m, n], epi (NULL: none) an expression whose x0 is the
 * element and x1.. epi_in[1..n_epi) broadcast to [m, n]. */
typedef struct clg_gemm_gen {
    const clg_dev_tensor *a, *b, *y, *bias;
    int64_t m, n, k, lda, ldb;
    bool ta, tb;
    float alpha, beta;
    bool b_constant; /* a packed variant packs B once, when the plan is built */
    bool b_packed;   /* B already is in the packed variant's layout (im2col wrote it) */
    int64_t y_p;     /* > 0 (packed variants): y is NCHW images of y_p pixels, C's column
                        c = image * y_p + pixel; < 0: y is NCHW images of -y_p pixels and
                        C's row r = image * -y_p + pixel (the flipped convolution) */
    bool b_nchw;     /* vector variants: B is a pointwise convolution's NCHW input read in
                        place (kernels/gemm.cl CONV_B1), column c = image * y_p + pixel (y_p 0:
                        one image), row k input channel k */
    const struct clg_expr *epi;
    int n_epi;                    /* epi's inputs, x0 included */
    const clg_dev_tensor *epi_in; /* [1..n_epi) read; [0] is the GEMM itself */
    int64_t epi_p;                /* != 0: a convolution's epilogue, its inputs over y's NCHW
                                     shape (clg_epilogue's p: y_p's sign, pixels per image) */
    const clg_conv_geom *conv;    /* non-NULL (packed variants): A is a convolution's NCHW
                                     input read in place, row r output pixel r of the batch,
                                     column k = channel * kh*kw + tap (ta, lda unused) */
    int64_t batch;                /* > 1: that many products in one launch (kernels/gemm.cl
                                     BATCHED), product z's A, B and y a_bs, b_bs, y_bs
                                     elements after product 0's; no epilogue, bias or conv */
    int64_t a_bs, b_bs, y_bs;
    int64_t zn;                   /* > 0: a two-level batch, product z = z1 * zn + z0 at
                                     z0 * *_bs + z1 * *_bs2 (attention's [batch, heads]) */
    int64_t a_bs2, b_bs2, y_bs2;
    int64_t y_ld;                 /* > 0 (batched only): C's rows y_ld apart, not n */
} clg_gemm_gen;

/* Operands seen as matrices (a MatMul's A and Y with their batch dims
 * folded into rows); gen points into it, so it must live as long. */
typedef struct clg_gemm_views {
    clg_dev_tensor a, y;
} clg_gemm_views;

/* The GEMM of a Gemm node, or of a MatMul with 2-D B shared by every matrix
 * of A (A's batch dims fold into M), over its inputs in and output out,
 * with epi (may be NULL) as its epilogue over epi_in ([0] unused). False
 * when the node's product is no single GEMM (a batched or broadcast
 * MatMul, or another op). */
CLG_INTERNAL bool clg_gemm_of_node(const clg_graph *g, const clg_node *n, const clg_dev_tensor *in,
                                   const clg_dev_tensor *out, const struct clg_expr *epi,
                                   const clg_dev_tensor *epi_in, clg_gemm_views *views, clg_gemm_gen *gen);
/* Appends gen as decided: a generated variant (epilogue in its store) or
 * CLBlast (bias copied into y first, the epilogue as a launch after). */
CLG_INTERNAL clg_status clg_emit_gemm_decided(clg_lower *lw, const clg_gemm_gen *gen, const clg_decision *d);
/* Appends gen through CLBlast: the bias pre-fills y, one GEMM accumulates
 * onto it, the epilogue runs after it over y in place. */
CLG_INTERNAL clg_status clg_emit_gemm_clblast(clg_lower *lw, const clg_gemm_gen *gen);
CLG_INTERNAL clg_status clg_emit_gemm_gen(clg_lower *lw, const clg_gemm_gen *g, int variant);
/* A batched or single product of two computed tensors (attention's Q·KT
 * and P·V, a batched MatMul; no bias: beta must be 0, C row-major with
 * ldc = n) on a generated variant, all gm->batch products in one launch:
 * the variant CLGRAPH_GEMM=generated:NAME names when it fits, else the
 * default below; CLGRAPH_GEMM=clblast sends it to CLBlast. */
CLG_INTERNAL clg_status clg_emit_product(clg_lower *lw, const clg_gemm *gm);
/* Floats of B packed for variant (0 when it does not pack B). */
CLG_INTERNAL size_t clg_gemm_packed_elems(int variant, int64_t n, int64_t k);

/* choice.c: how a GEMM runs, decided per device and shape.
 *
 * What a choice is keyed by: the product's shape and what runs with it.
 * The numbers of clg_gemm_use are the choice file's EPI column. */
typedef enum clg_gemm_use {
    CLG_GEMM_USE_PLAIN = 0,    /* a GEMM and its bias */
    CLG_GEMM_USE_EPILOGUE = 1, /* with an epilogue in the same kernel (CLBlast: a launch after) */
    /* 2 was a convolution's im2col GEMM timed alone: no longer asked */
    CLG_GEMM_USE_CONV = 3, /* a whole convolution (im2col + GEMM, or implicit), keyed by geometry too */
} clg_gemm_use;

typedef struct clg_gemm_key {
    int64_t m, n, k;
    bool ta, tb;
    clg_gemm_use use;
    uint64_t geom; /* CONV: a hash of the convolution's geometry (the file's GEOM), else 0 */
} clg_gemm_key;

/* A convolution as selection times it: the node, its own inputs (x, w
 * and the bias if any) and output, shapes only; measuring lowers it
 * through clg_emit_conv_trial onto zero-filled copies, once per
 * candidate. */
typedef struct clg_conv_job {
    const clg_node *node;
    const clg_dev_tensor *in;
    int n_in;
    const clg_dev_tensor *out;
    uint64_t geom;     /* the key's geom */
    bool implicit_ok;  /* the implicit GEMM can run it (ungrouped, offsets in int) */
    bool pointwise_ok; /* CLG_ORIENT_POINTWISE can run it (1x1, stride 1, unpadded, ungrouped) */
    bool winograd_ok;  /* CLG_ORIENT_WINOGRAD(4) can run it (clg_conv_winograd_ok) */
    bool direct_ok;    /* CLG_ORIENT_DIRECT can run it (clg_conv_direct_ok) */
} clg_conv_job;

/* conv_winograd.c: whether Winograd F(2x2, 3x3) and F(4x4, 3x3) can run
 * the convolution n (3x3, stride 1, undilated, ungrouped, every offset
 * within an int), and the convolution lowered so, F(tile x tile, 3x3)
 * (tile 2 or 4) on packed variant `variant`, ep (NULL: none) in its last
 * kernel's store. */
CLG_INTERNAL bool clg_conv_winograd_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                                       const clg_shape *ys);
/* Tiles of m x m outputs over all images of an output ys of input xs. */
CLG_INTERNAL int64_t clg_winograd_tiles(const clg_shape *xs, const clg_shape *ys, int64_t m);
struct clg_epilogue;
CLG_INTERNAL clg_status clg_lower_conv_winograd(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                                const clg_dev_tensor *out, int variant, int tile,
                                                const struct clg_epilogue *ep);
/* conv_direct.c: the direct convolution's tile on packed variant
 * `variant` (*co output channels by *pv rows of 16 pixels: p4x64 4 by 4,
 * p8x32 8 by 2), false for a variant that has none; whether it can run the
 * convolution n (stride 1, ungrouped, kernels up to 7x7, dilations up to
 * 8, output planes of 4 rows or more, every offset within an int); and
 * the convolution lowered so, ep (NULL: none) in its store. */
CLG_INTERNAL bool clg_conv_direct_tile(int variant, int *co, int *pv);
CLG_INTERNAL bool clg_conv_direct_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                                     const clg_shape *ys);
/* Whether the direct convolution writes n's input out padded first (its
 * rows not a multiple of 16 wide, or its taps reaching further than 16
 * past a segment) rather than reading it, padding included, in place. */
CLG_INTERNAL bool clg_conv_direct_copies(const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                                         const clg_shape *ys);
CLG_INTERNAL clg_status clg_lower_conv_direct(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                              const clg_dev_tensor *out, int variant,
                                              const struct clg_epilogue *ep);

/* conv_direct.c: n's weights w, [m, k] (k = input channels * taps), into
 * blocks of co output channels (kernels/conv.cl direct_weights: per k the
 * block's co weights next to each other, zero past m), *wp: once into a
 * buffer of the plan's when they are a constant, else into scratch every
 * run. */
CLG_INTERNAL clg_status clg_conv_weight_blocks(clg_lower *lw, const clg_node *n, const clg_dev_tensor *w, int64_t m,
                                               int64_t k, int co, clg_dev_tensor *wp);
/* conv_grouped.c: whether kernels/conv_grouped.cl can run the grouped
 * convolution n (more than one input channel per group, outputs per group
 * a multiple of 2, kernels up to 7x7, every offset within an int); and n
 * lowered so, ep (NULL: none) in its store. */
CLG_INTERNAL int clg_conv_grouped_width(const clg_node *n, const clg_shape *ws); /* channels per vector */
CLG_INTERNAL bool clg_conv_grouped_ok(const clg_node *n, const clg_shape *xs, const clg_shape *ws,
                                      const clg_shape *ys);
CLG_INTERNAL clg_status clg_lower_conv_grouped(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                               const clg_dev_tensor *out, const struct clg_epilogue *ep);

/* conv.c: x's planes (NCHW) into scratch grown to ph x pw with n's top
 * and left padding written out as zeros and zeros past x's bottom and
 * right edges (kernels/conv.cl pad_planes), *xp the copy. */
CLG_INTERNAL clg_status clg_conv_pad_planes(clg_lower *lw, const clg_node *n, const clg_dev_tensor *x, int64_t ph,
                                            int64_t pw, clg_dev_tensor *xp);

/* conv.c: the convolution n on in/out as decision d would lower it,
 * without its epilogue (what measuring times). */
CLG_INTERNAL clg_status clg_emit_conv_trial(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                            const clg_dev_tensor *out, const clg_decision *d);

typedef struct clg_gemm_memo {
    clg_gemm_key key;
    clg_decision decision;
} clg_gemm_memo;

/* The first line of a choice file and of a bundle's choices (its version:
 * runtime/gemm/choice.c says what each changed). */
#define CLG_GEMM_CHOICES_MAGIC "clgraph-gemm-choices 3"

/* The decision for gen (gen's tensors need shapes only: measuring runs
 * candidates on zero-filled buffers of those shapes); for a convolution
 * (conv non-NULL) gen and flipped are its im2col GEMM in both
 * orientations (their shapes key the choice) and conv what is timed: the
 * whole convolution, im2col included, against the implicit GEMM. Asks in turn:
 * the GEMM path forced by CLGRAPH_GEMM, the plan's memo of this shape, the
 * device's choice file in the cache directory, and last the device
 * class's default; with the path "measure" instead the device: every
 * candidate timed (see choice.c), the winner written to the file.
 * lw names the node in messages and holds the plan whose memo is used. */
/* Bundles: the choice file's line for key and d (with its newline; the
 * snprintf count), and a lookup in the choices a bundle preseeded into
 * ctx (clg_context.preset_choices), read like the file; an implicit GEMM
 * or a pointwise read counts only where conv (NULL: a GEMM) allows it. */
CLG_INTERNAL int clg_gemm_choice_line(const clg_gemm_key *key, const clg_decision *d, char *line, size_t size);
CLG_INTERNAL bool clg_gemm_preset_lookup(clg_context *ctx, const clg_gemm_key *key, const clg_conv_job *conv,
                                         clg_decision *d);

CLG_INTERNAL clg_status clg_gemm_decide(clg_lower *lw, const clg_gemm_gen *gen, const clg_gemm_gen *flipped,
                                        const clg_conv_job *conv, clg_decision *out);

#endif
