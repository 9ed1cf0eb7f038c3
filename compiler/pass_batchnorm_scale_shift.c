/* A BatchNorm that could not fold becomes x·s + t: a Mul and an Add with
 * per-channel constants shaped to broadcast along dim 1 ([C] for rank 2,
 * [C, 1, 1] for NCHW), which elementwise fusion then merges with what
 * surrounds it. s and t use the node's own epsilon. */
#include <math.h>
#include <stdio.h>

#include "passes.h"

static clg_status scale_shift(clg_graph *g, int bn_i)
{
    const clg_node *bn = &g->nodes[bn_i];
    const float *scale = g->nodes[bn->inputs[1]].constant->data;
    const float *bias = g->nodes[bn->inputs[2]].constant->data;
    const float *mean = g->nodes[bn->inputs[3]].constant->data;
    const float *var = g->nodes[bn->inputs[4]].constant->data;
    int64_t ch = bn->shape.dims[1];
    /* [C] lines up with the last dim, which is the channel only at rank 2. */
    clg_shape cshape = {bn->shape.rank - 1, {ch, 1, 1, 1}};
    clg_status st = CLG_OK;
    float *sv = clg_malloc(g, (size_t)ch * sizeof *sv);
    float *tv = clg_malloc(g, (size_t)ch * sizeof *tv);
    if (!sv || !tv) {
        st = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory rewriting %s", bn->name);
        goto done;
    }
    double eps = bn->attrs.epsilon;
    for (int64_t c = 0; c < ch; c++) {
        double s = (double)scale[c] / sqrt((double)var[c] + eps);
        sv[c] = (float)s;
        tv[c] = (float)((double)bias[c] - (double)mean[c] * s);
    }
    const char *name = bn->name; /* its own string: stays put as nodes grow */
    char hint[256];
    snprintf(hint, sizeof hint, "%s/scale", name);
    int si = clg_edit_constant(g, hint, &cshape, sv, &st);
    if (si < 0) goto done;
    snprintf(hint, sizeof hint, "%s/shift", name);
    int ti = clg_edit_constant(g, hint, &cshape, tv, &st);
    if (ti < 0) goto done;
    snprintf(hint, sizeof hint, "%s/mul", name);
    int mul_in[2] = {g->nodes[bn_i].inputs[0], si};
    int mi = clg_edit_append(g, CLG_OP_MUL, hint, mul_in, 2, NULL, NULL, NULL, &st);
    if (mi < 0) goto done;
    int add_in[2] = {mi, ti};
    int ai = clg_edit_append(g, CLG_OP_ADD, name, add_in, 2, NULL, NULL, NULL, &st);
    if (ai < 0) goto done;
    clg_pass_replace(g, bn_i, ai);
done:
    clg_free(g, sv);
    clg_free(g, tv);
    return st;
}

clg_status clg_pass_batchnorm_scale_shift(clg_graph *g, bool *changed)
{
    int n0 = g->n_nodes;
    for (int i = 0; i < n0; i++) {
        const clg_node *n = &g->nodes[i];
        if (n->dead || n->op != CLG_OP_BATCHNORM) continue;
        bool constant_params = true;
        for (int k = 1; k < 5; k++) constant_params = constant_params && clg_pass_is_constant(g, n->inputs[k]);
        if (!constant_params) continue;
        clg_status st = scale_shift(g, i);
        if (st) return st;
        *changed = true;
    }
    return CLG_OK;
}
