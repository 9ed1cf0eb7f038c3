/* The epilogue contract between the host and a kernel family's .cl file,
 * written down once. Any family may take an epilogue (GEMM, the
 * depthwise convolution and Winograd's output transform today; pooling,
 * normalisation as they come): an
 * Elementwise expression applied to each element of the kernel's 2-D result
 * [rows, cols] (or a convolution's NCHW result seen so: clg_epilogue's p)
 * before it is stored, x0 being that element and x1.. further tensors
 * broadcast to the result.
 *
 * The host (clg_emit_launch, plan/emit.c) puts a prelude in front of the
 * family's file that defines:
 *   EPILOGUE                 1 (left undefined when there is no epilogue)
 *   EPILOGUE_ARGS            the extra kernel parameters, to be written
 *                            last in the epilogue kernel's parameter list:
 *                            per input xK, K >= 1,
 *                            `__global const float *xK, uint xK_off,
 *                             int xK_sr, int xK_sc` (row and column
 *                            strides of xK over the result; 0 where it
 *                            broadcasts)
 *   EPILOGUE_PASS            the same names, to pass them on to a helper
 *   float clg_epilogue(float v, int r, int c EPILOGUE_ARGS)
 *                            the expression for element (r, c)
 *   float16 clg_epilogue16(float16 v, int r, int c EPILOGUE_ARGS)
 *                            the same for elements (r, c) .. (r, c + 15)
 *   EPILOGUE_NCHW, float clg_epilogue_px(float v, int img, int px, int c
 *                            EPILOGUE_ARGS)   only over an NCHW result
 *                            (p != 0): the element of image img, pixel
 *                            px, channel c, with no division
 * and appends those arguments, in that order, after the launch's own.
 * Without an epilogue the prelude is empty: the file defines
 * EPILOGUE_ARGS and EPILOGUE_PASS as nothing under #ifndef EPILOGUE and
 * calls the functions only under #ifdef EPILOGUE. Only the family's
 * epilogue kernel (clg_kernel_family.epilogue_kernel) takes the
 * arguments; every other kernel of the file is built from the same text
 * (one program) and takes none, unless the file's defines leave it out of
 * the program (kernels/winograd.cl builds its epilogue kernel alone,
 * -DWG_OUT). */
#ifndef CLG_EPILOGUE_H
#define CLG_EPILOGUE_H

#include "plan.h"

struct clg_expr;

/* An epilogue as a launch takes it: expression e over n_inputs inputs
 * (x0 the element), in[1..n_inputs) the tensors for x1.., the result's
 * shape rows x cols for their strides.
 *
 * A convolution's result is NCHW although its kernels see it as a matrix:
 * with p != 0, element (r, c) is an element of nchw (images of |p| = H*W
 * pixels): p > 0, r is the channel and c = image * p + pixel (the packed
 * GEMM as written, the direct kernels); p < 0, r = image * -p + pixel and
 * c the channel (the flipped GEMM). EPILOGUE_ARGS then open with
 * `int epi_p` (|p|, an argument so that one program serves every shape),
 * and each input xK takes three strides over nchw instead of two,
 * `int xK_sn, int xK_sch, int xK_sp` (image, channel, pixel), so an input must address its pixels with one stride:
 * its H and W both the result's, both 1, or the result's H or W is 1
 * (clg_epilogue_args fails otherwise; pass absorb-epilogue never makes
 * such a node). */
typedef struct clg_epilogue {
    const struct clg_expr *e;
    int n_inputs;
    const clg_dev_tensor *in;
    int64_t rows, cols;
    int64_t p;
    const clg_shape *nchw;
} clg_epilogue;

/* The prelude for ep (NULL: none, the empty text), snprintf-style: writes
 * at most size bytes, NUL included, and returns the full length. half
 * (precision fp16): the functions' expression in half arithmetic where it
 * has some (clg_expr_write_opencl_as); their parameters, loads and result
 * stay float, so the family's file is the same text. */
CLG_INTERNAL size_t clg_epilogue_prelude(const clg_epilogue *ep, bool half, char *buf, size_t size);

/* ep's kernel arguments (3 per input x1..; with p != 0, |p| and 4 per input) into args, at most room; their
 * count, or -1 when an input does not broadcast to rows x cols or room is
 * short. */
CLG_INTERNAL int clg_epilogue_args(const clg_epilogue *ep, clg_karg *args, int room);

#endif
