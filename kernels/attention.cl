/* Attention, flash style: O = softmax(scale * Q·KT + mask) · V for one
 * batch matrix per grid index 2, without ever writing the Sq x Sk scores.
 *
 * Q is [Sq, HEAD_DIM], KT [HEAD_DIM, Sk] (K transposed, as exported),
 * V [Sk, VALUE_DIM], O [Sq, VALUE_DIM], all dense; the batch strides move
 * each to its matrix (0 where a batch dim broadcasts). Grid: dim 0 is one
 * work-group (the host sizes it from the device's limits and the local
 * memory), dim 1 the blocks of block_rows query rows, dim 2 the batch.
 * Each work-item owns one query row at a time (a group smaller than a
 * block takes the block in several passes), keeps q and its output row in
 * private memory and streams K and V through __local tiles of one key per
 * work-item, loaded by the whole group with coalesced reads. The softmax is
 * online: a running maximum m and sum l, the output rescaled by
 * exp(m_old - m_new) when the maximum grows (checked once per CHUNK keys),
 * so each score is computed once and never stored. A score of -inf (a masked key) adds nothing; a
 * row whose every key is masked is 0/0 = NaN, as the unfused Softmax gives.
 *
 * Defines: HEAD_DIM, VALUE_DIM (private arrays of that many floats), and
 * HAS_MASK for a mask input with strides mask_q, mask_k along the query
 * and key dims. */
#ifndef HEAD_DIM
#error HEAD_DIM must be defined
#endif
#ifndef VALUE_DIM
#error VALUE_DIM must be defined
#endif
/* Keys scored before each rescale of the running sums. */
#ifndef CHUNK
#define CHUNK 16
#endif

__kernel void attention(__global const store_t *q, uint q_off, __global const store_t *kt, uint kt_off,
                        __global const store_t *v, uint v_off, __global store_t *o, uint o_off, int sq, int sk,
                        int block_rows, float scale, int q_b, int kt_b, int v_b, int o_b,
#ifdef HAS_MASK
                        __global const store_t *mask, uint mask_off, int mask_b, int mask_q, int mask_k,
#endif
                        __local float *tile)
{
    int lid = get_local_id(0), size = get_local_size(0);
    int b = get_global_id(2);
    q += q_off + b * q_b;
    kt += kt_off + b * kt_b;
    v += v_off + b * v_b;
    o += o_off + b * o_b;
#ifdef HAS_MASK
    mask += mask_off + b * mask_b;
#endif
    /* k_tile[d * size + j]: every work-item reads the same element at once
     * (a broadcast); v_tile[j * VALUE_DIM + e] likewise. */
    __local float *k_tile = tile;
    __local float *v_tile = tile + HEAD_DIM * size;
    int first = get_global_id(1) * block_rows;
    int last = min(first + block_rows, sq);

    /* The same trip counts for every work-item of the group, so the
     * barriers stay uniform; rows past the end only help load tiles. */
    for (int r0 = first; r0 < last; r0 += size) {
        /* Rows past the end compute on row last - 1's mask and q = 0 and
         * store nothing: no branch splits the group (PoCL vectorises
         * across work-items only where none does). */
        int row = r0 + lid;
        bool live = row < last;
        int at = live ? row : last - 1;
        float qr[HEAD_DIM], acc[VALUE_DIM];
        for (int d = 0; d < HEAD_DIM; d++) qr[d] = live ? LOAD(q, at * HEAD_DIM + d) * scale : 0.0f;
        for (int e = 0; e < VALUE_DIM; e++) acc[e] = 0.0f;
        float m = -INFINITY, l = 0.0f;
        for (int j0 = 0; j0 < sk; j0 += size) {
            int n = min(size, sk - j0);
            barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile is used up */
            for (int i = lid; i < HEAD_DIM * n; i += size) {
                int d = i / n, j = i - d * n;
                k_tile[d * size + j] = LOAD(kt, d * sk + j0 + j);
            }
            for (int i = lid; i < n * VALUE_DIM; i += size) v_tile[i] = LOAD(v, j0 * VALUE_DIM + i);
            barrier(CLK_LOCAL_MEM_FENCE);
            /* CHUNK keys at a time: their scores, then one rescale to the
             * chunk's maximum (not one per key), then their weights. */
            for (int jc = 0; jc < n; jc += CHUNK) {
                int cn = min(CHUNK, n - jc);
                float sc[CHUNK], mn = m;
                for (int jj = 0; jj < cn; jj++) {
                    float s = 0.0f;
                    for (int d = 0; d < HEAD_DIM; d++) s += qr[d] * k_tile[d * size + jc + jj];
#ifdef HAS_MASK
                    s += LOAD(mask, at * mask_q + (j0 + jc + jj) * mask_k);
#endif
                    sc[jj] = s;
                    mn = fmax(mn, s);
                }
                /* While every score so far is -inf (masked), mn is -inf:
                 * nothing is added and nothing rescaled. */
                float c = mn == -INFINITY ? 1.0f : exp(m - mn);
                l *= c;
                for (int e = 0; e < VALUE_DIM; e++) acc[e] *= c;
                m = mn;
                for (int jj = 0; jj < cn; jj++) {
                    float p = mn == -INFINITY ? 0.0f : exp(sc[jj] - mn);
                    l += p;
                    for (int e = 0; e < VALUE_DIM; e++) acc[e] += p * v_tile[(jc + jj) * VALUE_DIM + e];
                }
            }
        }
        if (live)
            for (int e = 0; e < VALUE_DIM; e++) STORE(o, row * VALUE_DIM + e, acc[e] / l);
    }
}
