/* What the lowering functions share: launch-grid sizes, the element-count
 * limit of the kernels, messages that name the node, and strided walks (the
 * broadcast strides of NumPy rules, merging of contiguous dims, and the
 * split of a walk into three launch-grid dims plus launches over the rest). */
#ifndef CLG_LOWER_UTIL_H
#define CLG_LOWER_UTIL_H

#include "plan.h"

/* The first grid dim is padded up to a multiple of this, and every kernel
 * checks that dim against its extent. */
#define CLG_GRID_MULTIPLE 64

/* The first grid dim as launched for an extent of n: padded up to a
 * multiple of CLG_GRID_MULTIPLE, because PoCL picks a work-group size of 1
 * for a large prime global size and runs ~7x slower, and so that every
 * launch can use one fixed work-group shape (see clg_emit_kernel_source):
 * a short dim wastes at most 63 idle work-items. */
CLG_INTERNAL size_t clg_grid_size(int64_t n);

/* Sets ctx's message to "node NAME (Op): " and the formatted text; returns s. */
CLG_INTERNAL clg_status clg_lower_fail(const clg_lower *lw, clg_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The kernels index with int: a tensor of more than INT_MAX elements is
 * refused (CLG_ERR_UNSUPPORTED, naming the node), never wrapped. */
CLG_INTERNAL clg_status clg_check_elems(const clg_lower *lw, const clg_shape *s);

/* t moved on by elems: the same buffer from elems further, seen as the 1-D
 * rest of t, so that clg_emit_kernel's position checks stay exact for a
 * slice (a launch of a walk, a Concat input's place in the output). */
CLG_INTERNAL clg_dev_tensor clg_tensor_advance(const clg_dev_tensor *t, size_t elems);

/* Dense C-order element strides of s. */
CLG_INTERNAL void clg_dense_strides(const clg_shape *s, int64_t st[CLG_MAX_RANK]);
/* A zero-filled device buffer of its own for a tensor of shape s, described
 * in *t (offset 0): the operands a trial plan times a candidate on (GEMM
 * and attention choices). NULL when OpenCL refuses; the caller releases it. */
CLG_INTERNAL cl_mem clg_zero_buffer(clg_context *ctx, const clg_shape *s, clg_dev_tensor *t);

/* Element strides of a dense tensor of shape `in` seen through the shape
 * `out` under NumPy broadcasting: in's dims align with out's trailing dims,
 * and a dim of 1 (or a missing leading dim) gets stride 0 so its element
 * repeats. False when in does not broadcast to out. */
CLG_INTERNAL bool clg_broadcast_strides(const clg_shape *in, const clg_shape *out,
                                        int64_t st[CLG_MAX_RANK]);

/* A walk over dims (C order) with an element stride per dim for each of up
 * to CLG_WALK_TENSORS tensors: the shape of every strided kernel. An
 * Elementwise node (lower/fused.c) walks its output and up to 16 inputs. */
#define CLG_WALK_TENSORS 17

typedef struct clg_walk {
    int rank, n_tensors;
    int64_t dims[CLG_MAX_RANK];
    int64_t st[CLG_WALK_TENSORS][CLG_MAX_RANK];
} clg_walk;

/* Drops dims of 1 and merges neighbours that are contiguous for every
 * tensor (the outer stride equals the inner stride times the inner dim), so
 * most walks fit a kernel's three grid dims: a same-shape operation becomes
 * one dim, a bias add or a Concat input two. Leaves rank >= 1. */
CLG_INTERNAL void clg_walk_merge(clg_walk *w);

/* A merged walk as launches: its innermost three dims are the grid (n[0]
 * the innermost, global[] as launched, first dim padded), st[k][d] tensor
 * k's stride along grid dim d; dims beyond those (rare: broadcasting or a
 * transpose that keeps four or more dims apart) are `launches` launches,
 * one per index, each with offsets from clg_walk_offset. */
typedef struct clg_walk_grid {
    int64_t n[3];
    int64_t st[CLG_WALK_TENSORS][3];
    size_t global[3];
    int64_t launches;
} clg_walk_grid;

CLG_INTERNAL void clg_walk_grid_of(const clg_walk *w, clg_walk_grid *grid);
/* Whether grid runs as rows: grid dim 0 over its dims 0 and 1 together,
 * 2^*shift work-items per row of n[0] elements (the fewest that hold it at
 * per_item elements each; the kernel splits an item by a shift and a mask),
 * dim 1 over dim 2. For rows of at most max_n0 elements, more than one of
 * them, every item index within an int: a padded first dim gives a short
 * row 64 work-items, most of them idle (kernels/copy.cl copy_rows, the
 * generated elementwise_rows). */
CLG_INTERNAL bool clg_walk_grid_rows(const clg_walk_grid *grid, int per_item, int64_t max_n0, int *shift);
/* How far tensor k's first element moves for launch number `launch`
 * (negative along a dim of negative stride). */
CLG_INTERNAL int64_t clg_walk_offset(const clg_walk *w, int k, int64_t launch);

/* The copy_strided launches (kernels/copy.cl) of walk w, tensor 0 the
 * source and 1 the destination, whose first elements are src_at and
 * dst_at elements into src and dst. The walk is merged and split into
 * launches here (the grid takes its innermost and two largest dims); strides may be 0 (broadcast) or negative (a reversed
 * axis: src_at is then the element read first, not the lowest). */
CLG_INTERNAL clg_status clg_emit_copy(clg_lower *lw, const clg_dev_tensor *src, int64_t src_at,
                                      const clg_dev_tensor *dst, int64_t dst_at, clg_walk w);

/* Output rows per strip of a float16-row body (kernels/conv_depthwise.cl
 * DW_VEC, kernels/pool.cl maxpool_rows) over an oh x ow output from a
 * window of kh x kw taps at strides sh, sw and dilations dh, dw; 0 when
 * the body does not take it. The bodies take rows of up to 128 outputs at
 * column strides 1 and 2, in strips of as many rows as keep 16 float16
 * accumulators and read at most 18 input rows (their code is unrolled over
 * them: a 16x16 depthwise plane at stride 2 took PoCL 0.65 ms whole
 * against 0.48 in strips of 8, [16,96,32,32], 2026-12-07), with a private
 * row of at most 512 floats. */
CLG_INTERNAL int64_t clg_vec_rows_strip(int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                        int64_t dh, int64_t dw);

#endif
