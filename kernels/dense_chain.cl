/* Helpers of the dense-chain kernel: a whole chain of small dense layers
 * (Gemm with its epilogue, a final Softmax) in one launch of one
 * work-group, the activations kept in local memory between layers. The
 * kernel itself is generated per chain (runtime/lower/chain.c): its layer
 * count, sizes and epilogues are the text around these. Why one launch: a
 * batch-1 call of a small model is bound by the cost of each OpenCL
 * command (~3-5 us each on PoCL), not by its arithmetic. */

/* Row r of x (k floats per row, local memory) times column c of op(W):
 * W is [n, k] read along its rows when tb, else [k, n] read down column c
 * (ldb floats per row). tb is a literal in every call, so each call site
 * keeps one loop. */
inline float chain_dot(__local const float *x, int k, __global const float *w, int ldb, int tb, int r, int c)
{
    __local const float *xr = x + r * k;
    float acc = 0.0f;
    if (tb) {
        /* Each work-item reads its own row of W: vectors along k, since
         * across work-items the reads are ldb floats apart. */
        __global const float *wr = w + c * ldb;
        float8 acc8 = (float8)(0.0f);
        int i = 0;
        for (; i + 8 <= k; i += 8) acc8 = fma(vload8(0, xr + i), vload8(0, wr + i), acc8);
        float4 acc4 = acc8.lo + acc8.hi;
        acc = (acc4.x + acc4.y) + (acc4.z + acc4.w);
        for (; i < k; i++) acc = fma(xr[i], wr[i], acc);
    } else {
        for (int i = 0; i < k; i++) acc = fma(xr[i], w[i * ldb + c], acc);
    }
    return acc;
}

/* Softmax over each of the m rows of x (n floats each) into y, a
 * work-item per row: the chain's rows are few. */
inline void chain_softmax(__local const float *x, int m, int n, __global float *y)
{
    for (int r = get_local_id(0); r < m; r += get_local_size(0)) {
        __local const float *xr = x + r * n;
        float mx = xr[0];
        for (int i = 1; i < n; i++) mx = fmax(mx, xr[i]);
        float sum = 0.0f;
        for (int i = 0; i < n; i++) sum += exp(xr[i] - mx);
        for (int i = 0; i < n; i++) y[r * n + i] = exp(xr[i] - mx) / sum;
    }
}
