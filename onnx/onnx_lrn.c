/* ONNX LRN (local response normalization across channels, AlexNet's and
 * GoogLeNet's), imported as ops clgraph already has, so it needs no kernel
 * of its own and fuses like them:
 *
 *   y = x / (bias + alpha / size * sum of x² over the channel window)^beta
 *
 * where the window of channel c is [c - floor((size-1)/2), c +
 * ceil((size-1)/2)], clipped to the channels. The sum over that window is an
 * AveragePool over the channel axis: x² is transposed to [N, H, C, W], so
 * that C is a spatial dim, pooled with a (size, 1) window, stride 1 and the
 * window's reach as padding, counting the padding (the mean is then the sum
 * over the clipped window / size, exactly alpha / size's denominator), and
 * transposed back. */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "onnx_internal.h"

static clg_status append(ox_ctx *ox, clg_op op, ox_value *out, const char *base, const char *what, const int *in,
                         int n_in, const clg_attrs *a, int *node)
{
    char hint[256];
    snprintf(hint, sizeof hint, "%s/%s", base, what);
    return ox_append(ox, op, out, out ? NULL : hint, in, n_in, a, node);
}

/* a: an Elementwise node's attributes with the formula in t. */
static clg_status expr_attrs(ox_ctx *ox, clg_attrs *a, const clg_text *t)
{
    clg_attrs_default(CLG_OP_ELEMENTWISE, a);
    if (t->len >= sizeof a->expr) return ox_fail(ox, CLG_ERR_INTERNAL, "LRN's formula does not fit");
    memcpy(a->expr, t->buf, t->len + 1);
    return CLG_OK;
}

clg_status ox_convert_lrn(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out, int n_out)
{
    (void)n_in, (void)n_out;
    float alpha, beta, bias;
    int64_t size;
    clg_status s;
    if ((s = ox_attr_float(ox, n, "alpha", 1e-4f, &alpha)) || (s = ox_attr_float(ox, n, "beta", 0.75f, &beta)) ||
        (s = ox_attr_float(ox, n, "bias", 1.0f, &bias)) || (s = ox_attr_int(ox, n, "size", -1, &size)))
        return s;
    if (!ox_attr(n, "size")) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute size is required");
    if (size < 1 || size > 4096)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute size=%lld must be 1 to 4096", (long long)size);
    int x;
    if ((s = ox_require_float(ox, in, 1)) || (s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    if (xs.rank != 4)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "input '%s' has rank %d; only 4-D [N, C, H, W] LRN is supported",
                       in[0]->name, xs.rank);
    const char *base = out[0]->clg_name;
    clg_attrs a;
    char buf[160];
    clg_text t = {buf, sizeof buf, 0};
    /* x² */
    int sq, t1, pool, t2;
    clg_text_printf(&t, "x0 * x0");
    if ((s = expr_attrs(ox, &a, &t)) || (s = append(ox, CLG_OP_ELEMENTWISE, NULL, base, "square", &x, 1, &a, &sq)))
        return s;
    /* [N, C, H, W] -> [N, H, C, W] and back: the same swap */
    clg_attrs swap;
    clg_attrs_default(CLG_OP_TRANSPOSE, &swap);
    swap.perm_rank = 4;
    swap.perm[0] = 0, swap.perm[1] = 2, swap.perm[2] = 1, swap.perm[3] = 3;
    if ((s = append(ox, CLG_OP_TRANSPOSE, NULL, base, "channels_last", &sq, 1, &swap, &t1))) return s;
    clg_attrs_default(CLG_OP_AVERAGEPOOL, &a);
    a.kernel[0] = size, a.kernel[1] = 1;
    a.strides[0] = a.strides[1] = 1;
    a.pads[0] = (size - 1) / 2;       /* top: the window's reach below c */
    a.pads[2] = size - 1 - a.pads[0]; /* bottom: above c */
    a.pads[1] = a.pads[3] = 0;
    a.count_include_pad = 1;
    if ((s = append(ox, CLG_OP_AVERAGEPOOL, NULL, base, "window_mean", &t1, 1, &a, &pool)) ||
        (s = append(ox, CLG_OP_TRANSPOSE, NULL, base, "window_mean_nchw", &pool, 1, &swap, &t2)))
        return s;
    /* x0 * pow(bias + alpha * mean, -beta) */
    t.len = 0;
    clg_text_printf(&t, "x0 * pow(");
    clg_expr_write_float(&t, bias);
    clg_text_printf(&t, " + ");
    clg_expr_write_float(&t, alpha);
    clg_text_printf(&t, " * x1, ");
    clg_expr_write_float(&t, -beta);
    clg_text_printf(&t, ")");
    if ((s = expr_attrs(ox, &a, &t))) return s;
    int ins[2] = {x, t2};
    if ((s = append(ox, CLG_OP_ELEMENTWISE, out[0], base, "", ins, 2, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
