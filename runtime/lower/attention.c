/* Attention to kernels/attention.cl: one launch per node (more only when
 * the batch dims do not merge into one grid dim), the head and value sizes
 * and the mask -D defines. The kernel never writes the Sq x Sk scores; a
 * shape it does not take (D or Dv above CLG_ATTENTION_MAX_DIM) is refused
 * here, and fuse-attention does not make such nodes, so a model imported
 * from ONNX keeps its separate MatMul/Softmax launches for them. */
#include <stdio.h>

#include "lower.h"
#include "lower_util.h"

static const clg_kernel_family attention_family = {"attention.cl", NULL};

/* Query rows per work-group block: a power of two up to 64, no more than
 * the rows there are (the device may cut the work-group further; the
 * kernel then takes a block in several passes). */
#define BLOCK_ROWS_MAX 64

enum { T_OUT, T_Q, T_KT, T_V, T_MASK, N_TENSORS };

clg_status clg_lower_attention(clg_lower *lw, const clg_node *n, const clg_dev_tensor *in,
                               const clg_dev_tensor *out)
{
    const clg_shape *os = &out->shape;
    bool has_mask = n->n_inputs > 3;
    int n_t = has_mask ? N_TENSORS : T_MASK;
    const clg_shape *shapes[N_TENSORS] = {os, &in[0].shape, &in[1].shape, &in[2].shape,
                                          has_mask ? &in[3].shape : NULL};
    clg_status s;
    for (int t = 0; t < n_t; t++)
        if ((s = clg_check_elems(lw, shapes[t]))) return s;
    int br = os->rank - 2;
    int64_t sq = os->dims[br], dv = os->dims[br + 1];
    int64_t d = in[0].shape.dims[in[0].shape.rank - 1], sk = in[1].shape.dims[in[1].shape.rank - 1];
    if (d > CLG_ATTENTION_MAX_DIM || dv > CLG_ATTENTION_MAX_DIM)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                              "head size %lld and value size %lld: the attention kernel takes at most %d each",
                              (long long)d, (long long)dv, CLG_ATTENTION_MAX_DIM);
    if (clg_shape_count(os) == 0) return CLG_OK;
    if (sk == 0 || d == 0)
        return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED, "attention over %lld keys of size %lld", (long long)sk,
                              (long long)d);
    /* Each tensor's strides through the shape it broadcasts to: the
     * output's batch dims, then its own last two. */
    clg_walk w = {br, n_t, {0}, {{0}}};
    int64_t mask_q = 0, mask_k = 0;
    for (int t = 0; t < n_t; t++) {
        clg_shape full = *os;
        full.dims[br] = shapes[t]->dims[shapes[t]->rank - 2];
        full.dims[br + 1] = shapes[t]->dims[shapes[t]->rank - 1];
        if (t == T_MASK) full.dims[br] = sq, full.dims[br + 1] = sk;
        int64_t st[CLG_MAX_RANK];
        if (!clg_broadcast_strides(shapes[t], &full, st))
            return clg_lower_fail(lw, CLG_ERR_INTERNAL, "internal error: input %d does not broadcast", t);
        for (int i = 0; i < br; i++) w.st[t][i] = st[i];
        if (t == T_MASK) mask_q = st[br], mask_k = st[br + 1];
    }
    for (int i = 0; i < br; i++) w.dims[i] = os->dims[i];
    clg_walk_merge(&w);
    /* The innermost batch dim is grid dim 2; any others are launches. */
    int64_t launches = 1;
    for (int i = 0; i < w.rank - 1; i++) launches *= w.dims[i];
    int inner = w.rank - 1;

    int64_t block = 1;
    while (block < BLOCK_ROWS_MAX && block < sq) block *= 2;
    char defines[96];
    snprintf(defines, sizeof defines, "-DHEAD_DIM=%lld -DVALUE_DIM=%lld%s", (long long)d, (long long)dv,
             has_mask ? " -DHAS_MASK" : "");
    for (int64_t l = 0; l < launches; l++) {
        clg_dev_tensor at[N_TENSORS];
        for (int t = 0; t < n_t; t++) {
            const clg_dev_tensor *base = t == T_OUT ? out : &in[t - 1];
            int64_t off = 0, rest = l;
            for (int i = inner - 1; i >= 0; i--) {
                off += (rest % w.dims[i]) * w.st[t][i];
                rest /= w.dims[i];
            }
            at[t] = launches == 1 ? *base : clg_tensor_advance(base, (size_t)off);
        }
        clg_karg args[] = {
            CLG_ARG_T(&at[T_Q]), CLG_ARG_T(&at[T_KT]), CLG_ARG_T(&at[T_V]), CLG_ARG_T(&at[T_OUT]),
            CLG_ARG_I(sq), CLG_ARG_I(sk), CLG_ARG_I(block), CLG_ARG_F(n->attrs.scale),
            CLG_ARG_I(w.st[T_Q][inner]), CLG_ARG_I(w.st[T_KT][inner]), CLG_ARG_I(w.st[T_V][inner]),
            CLG_ARG_I(w.st[T_OUT][inner]),
            /* the mask's five, or only the tile when there is none */
            has_mask ? CLG_ARG_T(&at[T_MASK]) : CLG_ARG_LOCAL((d + dv) * sizeof(float)),
            CLG_ARG_I(w.st[T_MASK][inner]), CLG_ARG_I(mask_q), CLG_ARG_I(mask_k),
            CLG_ARG_LOCAL((d + dv) * sizeof(float)),
        };
        int n_args = has_mask ? (int)(sizeof args / sizeof args[0]) : 13;
        clg_launch launch = {&attention_family, "attention", defines, 3,
                             {(size_t)block, (size_t)((sq + block - 1) / block), (size_t)w.dims[inner]},
                             {CLG_LOCAL_FIT, 1, 1}, args, n_args, NULL};
        if ((s = clg_emit_launch(lw, &launch))) return s;
    }
    return CLG_OK;
}
