/* The reference Attention: per batch matrix and query row, the scores
 * scale * q·k_j + mask_j in double, their softmax (the maximum subtracted
 * first, as the Softmax kernel does) and the weighted sum of V's rows, all
 * in double and rounded once. Batch dims broadcast as MatMul's. */
#include <math.h>

#include "reference_ops.h"

/* Element offsets of a tensor of shape `in` for output batch index bi when
 * its dims broadcast to `full` (the first `batch_rank` dims walked). */
static int64_t batch_offset(const clg_shape *in, const clg_shape *full, int batch_rank, int64_t bi)
{
    int lead = full->rank - in->rank;
    int64_t off = 0, stride = 1;
    for (int i = full->rank - 1; i >= 0; i--) {
        int j = i - lead;
        int64_t dim = j >= 0 ? in->dims[j] : 1;
        if (i < batch_rank) {
            int64_t idx = bi % full->dims[i];
            bi /= full->dims[i];
            if (dim != 1) off += idx * stride;
        }
        stride *= dim;
    }
    return off;
}

clg_status clg_ref_attention(const clg_ref_args *a)
{
    const clg_shape *qs = a->in_shapes[0], *ks = a->in_shapes[1], *vs = a->in_shapes[2], *os = a->out_shape;
    int br = os->rank - 2;
    int64_t sq = qs->dims[qs->rank - 2], d = qs->dims[qs->rank - 1];
    int64_t sk = ks->dims[ks->rank - 1], dv = vs->dims[vs->rank - 1];
    int64_t n_batch = 1;
    for (int i = 0; i < br; i++) n_batch *= os->dims[i];
    /* Each operand seen through the shape it broadcasts to. */
    clg_shape fq = *os, fk = *os, fv = *os, fm = *os;
    fq.dims[br] = sq, fq.dims[br + 1] = d;
    fk.dims[br] = d, fk.dims[br + 1] = sk;
    fv.dims[br] = sk, fv.dims[br + 1] = dv;
    fm.dims[br] = sq, fm.dims[br + 1] = sk;
    const clg_shape *ms = a->n_inputs > 3 ? a->in_shapes[3] : NULL;
    /* The mask's strides along the query and key dims (0 where it
     * broadcasts). */
    int64_t m_q = 0, m_k = 0;
    if (ms) {
        int r = ms->rank;
        m_k = ms->dims[r - 1] == 1 ? 0 : 1;
        m_q = ms->dims[r - 2] == 1 ? 0 : ms->dims[r - 1];
    }
    double scale = a->node->attrs.scale;
    double *p = clg_malloc(a->g, (size_t)(sk > 0 ? sk : 1) * sizeof *p);
    if (!p)
        return clg_fail_node(a->g, CLG_ERR_OUT_OF_MEMORY, a->node->line, a->node->name, a->node->op,
                             "out of memory for the reference scores");
    float *out = a->out;
    for (int64_t b = 0; b < n_batch; b++) {
        const float *Q = a->in[0] + batch_offset(qs, &fq, br, b);
        const float *KT = a->in[1] + batch_offset(ks, &fk, br, b);
        const float *V = a->in[2] + batch_offset(vs, &fv, br, b);
        const float *M = ms ? a->in[3] + batch_offset(ms, &fm, br, b) : NULL;
        for (int64_t i = 0; i < sq; i++) {
            double mx = -INFINITY;
            for (int64_t j = 0; j < sk; j++) {
                double acc = 0.0;
                for (int64_t k = 0; k < d; k++) acc += (double)Q[i * d + k] * (double)KT[k * sk + j];
                p[j] = scale * acc + (M ? (double)M[i * m_q + j * m_k] : 0.0);
                if (p[j] > mx) mx = p[j];
            }
            double sum = 0.0;
            for (int64_t j = 0; j < sk; j++) {
                p[j] = exp(p[j] - mx);
                sum += p[j];
            }
            for (int64_t e = 0; e < dv; e++) {
                double acc = 0.0;
                for (int64_t j = 0; j < sk; j++) acc += p[j] * (double)V[j * dv + e];
                out[i * dv + e] = (float)(acc / sum);
            }
        }
        out += sq * dv;
    }
    clg_free(a->g, p);
    return CLG_OK;
}
