/* Lowering of every elementwise op (an Elementwise node, and Add ... Gelu
 * through the expressions the op table gives them): one OpenCL kernel
 * generated from the node's expression, one work-item per output element.
 *
 * The kernel is the expression and the input count, nothing else: shapes,
 * strides and offsets are arguments, so every node with the same canonical
 * expression and the same number of inputs shares one program (the program
 * cache keys on the source): all the Relus of a model are one program. It
 * walks a 3-D grid whose first dim is padded to a multiple of 64 and
 * bounds-checked, with no integer division per element (PoCL slows down ~5x
 * with one, and ~7x with a prime global size); each input has its own
 * stride per grid dim, 0 along the dims it broadcasts. Dims contiguous in
 * the output and every input are merged first (a unary op over a dense
 * tensor is one dim, one launch), and walks that still have more than
 * three dims launch once per index of the outer ones.
 *
 * Each op gets its own small kernel. Measured on PoCL: one kernel that
 * selected the op with a uniform switch kept PoCL from vectorising across
 * work-items, making Sigmoid about 4x and Gelu about 6x slower. */
#include <assert.h>

#include "expr.h"
#include "lower.h"
#include "lower_util.h"

static_assert(CLG_WALK_TENSORS >= CLG_EXPR_MAX_INPUTS + 1, "one walk holds the output and every input");

#define KERNEL_NAME "elementwise"
#define KERNEL_NAME_DENSE "elementwise_dense"
#define KERNEL_NAME_ROWS "elementwise_rows"
/* Rows of at most this many elements take the rows kernel. */
#define ROWS_MAX 255
/* The program cache's name for generated programs; their source tells
 * them apart. */
#define CACHE_NAME "generated:elementwise"

#define DENSE_WIDTH 8
/* The kernels work in float8s of their own: the hint keeps Intel's
 * compiler from vectorising across work-items as well, which made every
 * access a strided one. Measured on Intel's runtime, 1M elements (device
 * time, best of 3 interleaved rounds): a bias Add 1.54 -> 0.19 ms, a
 * broadcast Mul + Gelu 1.96 -> 0.58 ms; PoCL about the same either way.
 * It goes before __kernel: written after it (as the OpenCL spec's
 * examples do), Intel's compiler took the Gelu 1.35 ms again. */
#define VEC_HINT "__attribute__((vec_type_hint(float8))) "

/* The start of both kernels: the work-item's first element i0 along dim 0.
 * The grid holds ceil(n0 / DENSE_WIDTH) items padded up (clg_grid_size), so
 * the test is on the item, before any multiplication that could pass
 * INT_MAX; i0 < n0 after it. */
#define FIRST_ELEMENT \
    "    size_t item = get_global_id(0);\n" \
    "    if (item >= ((size_t)n0 + 7) / 8) return;\n" \
    "    int i0 = (int)item * 8;\n"
static_assert(DENSE_WIDTH == 8, "FIRST_ELEMENT spells out DENSE_WIDTH");

/* The body both kernels share once i0, n0, y_at and each input's xK_at
 * (uint, as the offsets: a buffer may hold up to 2^32 elements) are set:
 * DENSE_WIDTH outputs as one vector (strided: each input a vector where its
 * stride along dim 0 is 1, a broadcast scalar where it is 0, the only two
 * strides clg_emit_expr passes; the choice is uniform over the launch), or,
 * for the row's last few, one by one. */
static void write_elements(clg_text *t, const clg_expr *e, int n_inputs, bool half, bool strided)
{
    clg_text_printf(t, "    if (n0 - i0 >= %d) {\n", DENSE_WIDTH);
    for (int k = 0; k < n_inputs; k++) {
        if (!(e->inputs_used & (1u << k))) continue;
        clg_text_printf(t, "        float%d v%d = ", DENSE_WIDTH, k);
        if (strided)
            clg_text_printf(t, "x%d_s0 ? LOAD%d(x%d + x%d_at + i0) : (float%d)(LOAD(x%d, x%d_at));\n", k, DENSE_WIDTH, k,
                            k, DENSE_WIDTH, k, k);
        else
            clg_text_printf(t, "LOAD%d(x%d + x%d_at + i0);\n", DENSE_WIDTH, k, k);
    }
    clg_text_printf(t, "        STOREV(%d, ", DENSE_WIDTH);
    clg_expr_write_opencl_as(e, t, DENSE_WIDTH, half);
    clg_text_printf(t, ", y + y_at + i0);\n"
                       "        return;\n"
                       "    }\n"
                       "    for (; i0 < n0; i0++) {\n");
    for (int k = 0; k < n_inputs; k++)
        if (e->inputs_used & (1u << k))
            clg_text_printf(t, strided ? "        float v%d = LOAD(x%d, x%d_at + i0 * x%d_s0);\n"
                                       : "        float v%d = LOAD(x%d, x%d_at + i0);\n", k, k, k, k);
    clg_text_printf(t, "        STORE(y, y_at + i0, ");
    clg_expr_write_opencl_as(e, t, 1, half);
    clg_text_printf(t, ");\n    }\n}\n");
}

/* The strided kernels' parameters (after y, y_off, n0, n1 and `extra`:
 * each input with its strides along the grid's three dims) and, once i1
 * and i2 are set, where the output's and each read input's row starts;
 * then the body. */
static void write_strided_kernel(clg_text *t, const clg_expr *e, int n_inputs, bool half, const char *name,
                                 const char *extra, const char *start)
{
    clg_text_printf(t, VEC_HINT "__kernel void %s(__global store_t *y, uint y_off, int n0, int n1%s", name, extra);
    for (int k = 0; k < n_inputs; k++)
        clg_text_printf(t, ",\n    __global const store_t *x%d, uint x%d_off, int x%d_s0, int x%d_s1, int x%d_s2",
                        k, k, k, k, k);
    clg_text_printf(t, ")\n{\n%s    uint y_at = y_off + (i2 * n1 + i1) * n0;\n", start);
    for (int k = 0; k < n_inputs; k++)
        if (e->inputs_used & (1u << k))
            clg_text_printf(t, "    uint x%d_at = x%d_off + i2 * x%d_s2 + i1 * x%d_s1;\n", k, k, k, k);
    write_elements(t, e, n_inputs, half, true);
}

/* The general kernel: a 3-D grid, each input with its own strides, dim 0
 * contiguous in the output. */
static void write_strided(clg_text *t, const clg_expr *e, int n_inputs, bool half)
{
    write_strided_kernel(t, e, n_inputs, half, KERNEL_NAME, "",
                         FIRST_ELEMENT "    int i1 = get_global_id(1), i2 = get_global_id(2);\n");
}

/* The general kernel for short rows (fewer than 256 elements along dim
 * 0: a CNN's late layers, whose planes are 8x8 to 1x1, under a BatchNorm
 * or a squeeze-and-excitation scale that broadcasts per channel): dim 0 of
 * the grid walks rows of dim 1 too, 2^shift items per row (the fewest
 * that hold it, 8 elements each), so a row of 16 elements takes 2 items
 * rather than the 64 of a padded dim 0 (2 busy). A shift and a mask, no
 * division. DenseNet-121's BatchNorm + ReLU over 4x4 planes ran at
 * 4-6 GB/s through the general kernel. */
static void write_rows(clg_text *t, const clg_expr *e, int n_inputs, bool half)
{
    write_strided_kernel(t, e, n_inputs, half, KERNEL_NAME_ROWS, ", int shift",
                         "    size_t item = get_global_id(0);\n"
                         "    int i1 = (int)(item >> shift), i0 = ((int)item & ((1 << shift) - 1)) * 8;\n"
                         "    if (i1 >= n1 || i0 >= n0) return;\n"
                         "    int i2 = get_global_id(1);\n");
}

/* Every input dense and of the output's shape (a standalone op on one
 * tensor, a same-shape Add): one dim, no strides. Vectorised across
 * work-items instead, one element each, a 1M-element op took about 1 ms on
 * Intel's runtime whatever the expression (8 MB moved: 8 GB/s). */
static void write_dense(clg_text *t, const clg_expr *e, int n_inputs, bool half)
{
    clg_text_printf(t, "__kernel void " KERNEL_NAME_DENSE "(__global store_t *y, uint y_off, int n0");
    for (int k = 0; k < n_inputs; k++) clg_text_printf(t, ",\n    __global const store_t *x%d, uint x%d_off", k, k);
    clg_text_printf(t, ")\n{\n" FIRST_ELEMENT
                       "    uint y_at = y_off;\n");
    for (int k = 0; k < n_inputs; k++)
        if (e->inputs_used & (1u << k)) clg_text_printf(t, "    uint x%d_at = x%d_off;\n", k, k);
    write_elements(t, e, n_inputs, half, false);
}

size_t clg_fused_kernel_source(const clg_expr *e, int n_inputs, bool half, char *buf, size_t size)
{
    clg_text t = {buf, size, 0};
    if (size) buf[0] = '\0';
    /* The canonical text cannot hold a comment's end: '*' is always
     * followed by a space there. */
    clg_text_printf(&t, "/* Elementwise: ");
    clg_expr_write(e, &t);
    clg_text_printf(&t, " */\n");
    clg_expr_write_opencl_helpers_as(e, &t, 1, half);
    clg_expr_write_opencl_helpers_as(e, &t, DENSE_WIDTH, half);
    write_strided(&t, e, n_inputs, half);
    write_rows(&t, e, n_inputs, half);
    write_dense(&t, e, n_inputs, half);
    return t.len;
}

clg_status clg_emit_expr(clg_lower *lw, const clg_expr *e, int n_inputs, const clg_dev_tensor *in,
                         const clg_dev_tensor *out)
{
    const clg_allocator *mem = &lw->ctx->allocator;
    const clg_shape *ys = &out->shape;
    char *source = NULL;
    clg_status s = CLG_OK;
    if (n_inputs < 1 || n_inputs > CLG_EXPR_MAX_INPUTS)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %d inputs, not 1 to %d", n_inputs,
                              CLG_EXPR_MAX_INPUTS);
    if ((s = clg_check_elems(lw, ys))) return s;
    for (int k = 0; k < n_inputs; k++)
        if ((s = clg_check_elems(lw, &in[k].shape))) return s;
    if (clg_shape_count(ys) == 0) return CLG_OK;

    clg_walk w = {ys->rank, n_inputs + 1, {0}, {{0}}};
    for (int i = 0; i < ys->rank; i++) w.dims[i] = ys->dims[i];
    clg_dense_strides(ys, w.st[0]);
    for (int k = 0; k < n_inputs; k++)
        if (!clg_broadcast_strides(&in[k].shape, ys, w.st[k + 1]))
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d does not broadcast to the output", k);
    clg_walk_merge(&w);
    clg_walk_grid grid;
    clg_walk_grid_of(&w, &grid);
    /* Inputs are dense tensors broadcast to the output, so along the
     * output's innermost dim each is read with stride 1 or 0: the kernel
     * loads vectors or broadcasts, nothing else. */
    for (int k = 0; k < n_inputs; k++)
        if (grid.st[k + 1][0] != 0 && grid.st[k + 1][0] != 1)
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d has stride %lld along the output's rows",
                                  k, (long long)grid.st[k + 1][0]);

    /* at fp16 in half arithmetic (the text says compute_t, so emit.c
     * builds it with -DCOMPUTE_HALF); at the other precisions, and for an
     * expression that keeps float, the float text all precisions share */
    bool half = lw->plan->precision == CLG_PRECISION_FP16;
    size_t len = clg_fused_kernel_source(e, n_inputs, half, NULL, 0);
    if (!(source = clg_mem_realloc(mem, NULL, len + 1)))
        return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    clg_fused_kernel_source(e, n_inputs, half, source, len + 1);

    clg_dev_tensor x[CLG_EXPR_MAX_INPUTS], y;
    clg_karg args[4 + 4 * CLG_EXPR_MAX_INPUTS];
    /* One dim that every input walks with the output: the kernel without
     * strides. Measured on PoCL, 64 x 128: a Relu takes the 2.2 us of the
     * hand-written kernel it replaced (2.4 with strides), a same-shape Add
     * 2.4 us (3.1 with strides). */
    bool dense = w.rank == 1;
    for (int k = 0; k < n_inputs; k++) dense = dense && w.st[k + 1][0] == 1;
    if (dense) {
        int a = 0;
        args[a++] = CLG_ARG_T(out);
        args[a++] = CLG_ARG_I(grid.n[0]);
        for (int k = 0; k < n_inputs; k++) args[a++] = CLG_ARG_T(&in[k]);
        size_t items = clg_grid_size((grid.n[0] + DENSE_WIDTH - 1) / DENSE_WIDTH);
        s = clg_emit_kernel_source(lw, CACHE_NAME, source, KERNEL_NAME_DENSE, NULL, 1, &items, args, a);
    }
    /* short rows of many: the rows kernel, 2^shift items per row */
    int shift;
    bool rows = !dense && clg_walk_grid_rows(&grid, DENSE_WIDTH, ROWS_MAX, &shift);
    for (int64_t l = 0; !dense && l < grid.launches && !s; l++) {
        int a = 0;
        y = clg_tensor_advance(out, clg_walk_offset(&w, 0, l));
        args[a++] = CLG_ARG_T(&y);
        args[a++] = CLG_ARG_I(grid.n[0]);
        args[a++] = CLG_ARG_I(grid.n[1]);
        if (rows) args[a++] = CLG_ARG_I(shift);
        for (int k = 0; k < n_inputs; k++) {
            x[k] = clg_tensor_advance(&in[k], clg_walk_offset(&w, k + 1, l));
            args[a++] = CLG_ARG_T(&x[k]);
            for (int d = 0; d < 3; d++) args[a++] = CLG_ARG_I(grid.st[k + 1][d]);
        }
        if (rows) {
            /* dims 0 and 1 on grid dim 0, 2^shift items per row */
            size_t global[2] = {clg_grid_size(grid.n[1] << shift), grid.global[2]};
            s = clg_emit_kernel_source(lw, CACHE_NAME, source, KERNEL_NAME_ROWS, NULL, 2, global, args, a);
            continue;
        }
        size_t global[3] = {clg_grid_size((grid.n[0] + DENSE_WIDTH - 1) / DENSE_WIDTH), grid.global[1], grid.global[2]};
        s = clg_emit_kernel_source(lw, CACHE_NAME, source, KERNEL_NAME, NULL, 3, global, args, a);
    }
    clg_mem_free(mem, source);
    return s;
}

/* Node n's expression (as an elementwise op: clg_expr_of_node; its
 * epilogue: the text in its expr slot) for n_inputs inputs. */
static clg_status parse_for(clg_lower *lw, const clg_node *n, bool epilogue, int n_inputs, clg_expr **out)
{
    char err[256];
    clg_expr *e = clg_mem_realloc(&lw->ctx->allocator, NULL, sizeof *e);
    *out = NULL;
    if (!e) return clg_lower_fail(lw, CLG_ERR_OUT_OF_MEMORY, "out of memory");
    clg_status s = epilogue ? clg_expr_parse(e, n->attrs.expr, err, sizeof err) : clg_expr_of_node(n, e, err, sizeof err);
    if (s || clg_expr_check_inputs(e, n_inputs, err, sizeof err)) {
        clg_mem_free(&lw->ctx->allocator, e);
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %s", err); /* shape inference checked it */
    }
    *out = e;
    return CLG_OK;
}

clg_status clg_lower_elementwise_fused(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                       const clg_dev_tensor *out)
{
    if (n->n_inputs < 1 || n->n_inputs > CLG_EXPR_MAX_INPUTS)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: %d inputs, not 1 to %d", n->n_inputs,
                              CLG_EXPR_MAX_INPUTS);
    clg_expr *e;
    clg_status s = parse_for(lw, n, false, n->n_inputs, &e);
    if (s) return s;
    s = clg_emit_expr(lw, e, n->n_inputs, in, out);
    clg_mem_free(&lw->ctx->allocator, e);
    return s;
}

clg_status clg_epilogue_parse(clg_lower *lw, const clg_node *n, clg_expr **e)
{
    *e = NULL;
    if (!clg_node_has_epilogue(n)) return CLG_OK;
    int n_epi = n->n_inputs - clg_node_own_inputs(n) + 1;
    if (n_epi > CLG_EXPR_MAX_INPUTS)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: an epilogue of %d inputs, more than %d", n_epi,
                              CLG_EXPR_MAX_INPUTS);
    return parse_for(lw, n, true, n_epi, e);
}

clg_status clg_emit_epilogue_launch(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                                    const clg_dev_tensor *out)
{
    clg_expr *e;
    clg_status s = clg_epilogue_parse(lw, n, &e);
    if (s || !e) return s;
    int own = clg_node_own_inputs(n);
    /* epi_in[k] is xK: in[own + k - 1]; [0] is never read */
    s = clg_emit_epilogue_after(lw, e, n->n_inputs - own + 1, in + own - 1, out);
    clg_mem_free(&lw->ctx->allocator, e);
    return s;
}

clg_status clg_emit_epilogue_after(clg_lower *lw, const clg_expr *e, int n_epi, const clg_dev_tensor *epi_in,
                                   const clg_dev_tensor *y)
{
    if (n_epi < 1 || n_epi > CLG_EXPR_MAX_INPUTS)
        return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: an epilogue of %d inputs", n_epi);
    clg_dev_tensor x[CLG_EXPR_MAX_INPUTS];
    x[0] = *y; /* in place: each element is read before it is written */
    for (int k = 1; k < n_epi; k++) x[k] = epi_in[k];
    return clg_emit_expr(lw, e, n_epi, x, y);
}
