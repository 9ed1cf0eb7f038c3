/* Row-major GEMM for GPUs: work-group tiles staged through __local memory.
 * The same product, arguments and epilogue as kernels/gemm.cl (which is
 * shaped for CPUs: a 12x32 register tile per work-item spills on a GPU),
 * specialised at build time (runtime/gemm/variants.c chooses the defines):
 *
 *     C[r][c] = EPILOGUE(alpha * sum_k op(A)[r][k] * op(B)[k][c]
 *                        + beta * bias[r * bias_sr + c * bias_sc])
 *
 *   WM, WN     work-items per work-group along M and N (the host sizes them
 *              from the device's limits; reqd_work_group_size says so)
 *   TM, TN     rows and columns of C per work-item; a work-group computes
 *              a BM x BN = (WM * TM) x (WN * TN) tile of C. A work-item's
 *              elements are WM rows and WN columns apart, so neighbouring
 *              work-items read neighbouring words of local memory (no bank
 *              conflicts) and store neighbouring columns of C (coalesced)
 *   TK         the depth of the K slice staged per step (a multiple of 4)
 *   TRANS_A    0: A is [M][lda]; 1: [K][lda]
 *   TRANS_B    0: B is [K][ldb]; 1: [N][ldb]
 *   PACKED_B   > 0: B is packed in panels of PACKED_B columns (BN divides
 *              it) as kernels/gemm.cl's pack_b and im2col_panel write it:
 *              K rows of PACKED_B floats, zero past N; TRANS_B unused
 *   CONV_A     A is a convolution's NCHW input read in place (the implicit
 *              GEMM; needs PACKED_B): row r is output pixel r of the batch,
 *              column k input channel k / (KH*KW) at tap k % (KH*KW)
 *   y_p        (argument) 0: y is C, row-major; > 0: y holds NCHW images of
 *              y_p pixels and C's columns run over images then pixels;
 *              < 0: NCHW images of -y_p pixels, C's rows run over them
 *   HAS_BIAS   add beta * bias, bias broadcast over C by its strides
 *   EPILOGUE   the prelude's clg_epilogue (runtime/lower/epilogue.h)
 *
 * Each step stages a BM x TK slice of A and a TK x BN slice of B in local
 * memory, element (k, x) at [k][x], four floats per load (vload4: any
 * float-aligned address), then every work-item runs TK rank-1 updates of
 * its TM x TN registers from there. Elements past M, N or K are staged as
 * zeros and never read from global memory, so any M, N, K work and every
 * word of local memory read was written in the same step.
 *
 * Grid: dim 0 over ceil(N / BN) * WN, dim 1 over ceil(M / BM) * WM
 * work-items, work-groups of exactly WN x WM (no work-item returns early:
 * all of them reach the barriers). */
#ifndef WM
#define WM 16
#endif
#ifndef WN
#define WN 16
#endif
#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 4
#endif
#ifndef TK
#define TK 16
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef PACKED_B
#define PACKED_B 0
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif
#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif

#define BM (WM * TM)
#if TN * WM * WN > TK * (WN * TN + 2)
#error "the stores stage TN words per work-item in bs"
#endif
#define BN (WN * TN)
#define WG (WM * WN)
/* Row pitch of the staged slices: a pitch of 2 modulo 32 words puts the
 * stores of neighbouring work-items that walk along k (4 floats each, k
 * then x) in distinct banks of a 32-bank local memory. */
#define PITCH_A (BM + 2)
#define PITCH_B (BN + 2)

/* Where element (r, c) of C goes in y (as kernels/gemm.cl's Y_INDEX). */
#define Y_INDEX(r, c)                                                   \
    (y_p > 0   ? ((c) / y_p * M + (r)) * y_p + (c) % y_p                \
     : y_p < 0 ? ((r) / -y_p * N + (c)) * -y_p + (r) % -y_p             \
               : (r) * N + (c))

#ifdef CONV_A
#define CLG_CONV_PARAMS                                                                 \
    , int conv_c, int conv_h, int conv_w, int conv_kh, int conv_kw, int conv_ow, int conv_p, \
        int conv_sh, int conv_sw, int conv_pt, int conv_pl, int conv_dh, int conv_dw
#else
#define CLG_CONV_PARAMS
#endif

/* kernels/gemm.cl's argument list: the host sets one list for both files. */
#define CLG_GEMM_PARAMS                                                                  \
    __global const store_t *a, uint a_off, int lda, __global const store_t *b, uint b_off, int ldb, \
        __global store_t *y, uint y_off, int y_p, int M, int N, int K, float alpha,           \
        __global const store_t *bias, uint bias_off, int bias_sr, int bias_sc, float beta CLG_CONV_PARAMS EPILOGUE_ARGS

/* Four floats from p; those from `left` on are zero and not read. */
float4 clg_load4(const __global store_t *p, int left)
{
    if (left >= 4) return LOADV(4, p);
    return (float4)(left > 0 ? LOAD(p, 0) : 0.0f, left > 1 ? LOAD(p, 1) : 0.0f, left > 2 ? LOAD(p, 2) : 0.0f, 0.0f);
}

/* Stages the TK x X slice from k0 of an operand whose memory runs along k
 * (element (k, x) at base[x * ld + k]), x from x0 and below `limit`. */
void clg_stage_along_k(__local float *t, int pitch, int xs, const __global store_t *base, int ld, int x0,
                       int limit, int k0, int K, int lid)
{
    for (int e = lid; e < xs * (TK / 4); e += WG) {
        const int x = e / (TK / 4), kc = e % (TK / 4) * 4;
        const float4 v = x0 + x < limit ? clg_load4(base + (x0 + x) * ld + k0 + kc, K - k0 - kc) : (float4)(0.0f);
        t[kc * pitch + x] = v.s0;
        t[(kc + 1) * pitch + x] = v.s1;
        t[(kc + 2) * pitch + x] = v.s2;
        t[(kc + 3) * pitch + x] = v.s3;
    }
}

/* The same for an operand whose memory runs along x (element (k, x) at
 * base[k * ld + x]). */
void clg_stage_along_x(__local float *t, int pitch, int xs, const __global store_t *base, int ld, int x0,
                       int limit, int k0, int K, int lid)
{
    for (int e = lid; e < xs / 4 * TK; e += WG) {
        const int kc = e / (xs / 4), x = e % (xs / 4) * 4;
        const float4 v = k0 + kc < K ? clg_load4(base + (k0 + kc) * ld + x0 + x, limit - x0 - x) : (float4)(0.0f);
        __local float *d = t + kc * pitch + x;
        d[0] = v.s0;
        d[1] = v.s1;
        d[2] = v.s2;
        d[3] = v.s3;
    }
}

#ifdef CONV_A
/* The implicit GEMM's A slice: element (r, k) is input channel k / taps
 * at kernel tap k % taps for output pixel r, zero in the padding (the
 * address is then never formed). k runs fastest across work-items:
 * neighbouring taps of one kernel row read neighbouring input pixels. */
void clg_stage_conv(__local float *t, const __global store_t *a, int r0, int M, int k0, int K, int lid,
                    int conv_c, int conv_h, int conv_w, int conv_kh, int conv_kw, int conv_ow, int conv_p,
                    int conv_sh, int conv_sw, int conv_pt, int conv_pl, int conv_dh, int conv_dw)
{
    const int taps = conv_kh * conv_kw;
    for (int e = lid; e < BM * TK; e += WG) {
        const int x = e / TK, kc = e % TK, r = r0 + x, k = k0 + kc;
        float v = 0.0f;
        if (r < M && k < K) {
            const int bi = r / conv_p, p = r - bi * conv_p, oy = p / conv_ow, ox = p - oy * conv_ow;
            const int ch = k / taps, tap = k - ch * taps, ky = tap / conv_kw, kx = tap - ky * conv_kw;
            const int iy = oy * conv_sh - conv_pt + ky * conv_dh, ix = ox * conv_sw - conv_pl + kx * conv_dw;
            if (iy >= 0 && iy < conv_h && ix >= 0 && ix < conv_w)
                v = LOAD(a, ((bi * conv_c + ch) * conv_h + iy) * conv_w + ix);
        }
        t[kc * PITCH_A + x] = v;
    }
}
#endif

__kernel __attribute__((reqd_work_group_size(WN, WM, 1))) void gemm_local(CLG_GEMM_PARAMS)
{
    __local float as[TK * PITCH_A];
    __local float bs[TK * PITCH_B];
    const int lx = get_local_id(0), ly = get_local_id(1), lid = ly * WN + lx;
    const int c0 = get_group_id(0) * BN, r0 = get_group_id(1) * BM;
    a += a_off;
#if PACKED_B
    /* the panel that holds columns c0 .. c0 + BN - 1, from column c0 */
    const __global store_t *bp = b + b_off + (size_t)(c0 / PACKED_B) * K * PACKED_B + c0 % PACKED_B;
#else
    b += b_off;
#endif
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TK) {
#ifdef CONV_A
        clg_stage_conv(as, a, r0, M, k0, K, lid, conv_c, conv_h, conv_w, conv_kh, conv_kw, conv_ow, conv_p,
                       conv_sh, conv_sw, conv_pt, conv_pl, conv_dh, conv_dw);
#elif TRANS_A
        clg_stage_along_x(as, PITCH_A, BM, a, lda, r0, M, k0, K, lid);
#else
        clg_stage_along_k(as, PITCH_A, BM, a, lda, r0, M, k0, K, lid);
#endif
#if PACKED_B
        /* a panel is zero past N: only K bounds the loads */
        clg_stage_along_x(bs, PITCH_B, BN, bp, PACKED_B, 0, BN, k0, K, lid);
#elif TRANS_B
        clg_stage_along_k(bs, PITCH_B, BN, b, ldb, c0, N, k0, K, lid);
#else
        clg_stage_along_x(bs, PITCH_B, BN, b, ldb, c0, N, k0, K, lid);
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 4
        for (int kk = 0; kk < TK; kk++) {
            float av[TM], bv[TN];
#pragma unroll
            for (int i = 0; i < TM; i++) av[i] = as[kk * PITCH_A + ly + WM * i];
#pragma unroll
            for (int j = 0; j < TN; j++) bv[j] = bs[kk * PITCH_B + lx + WN * j];
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
        /* the next step overwrites the slices */
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    /* The stores, one row of the tile at a time: the row's TN values go
     * through this work-item's own words of bs (free after the last
     * step's barrier, and no other work-item reads them: no barrier), so
     * that a rolled loop can index them. The epilogue is then written out
     * TM times, not TM * TN: unrolled 16 times, a large one (pow, softplus)
     * was too big to inline and ran as calls with a stack frame in
     * scratch memory on gfx1100. */
    __local float *own = bs + lid;
#pragma unroll
    for (int i = 0; i < TM; i++) {
        const int r = r0 + ly + WM * i;
#pragma unroll
        for (int j = 0; j < TN; j++) own[j * WG] = acc[i][j];
#pragma nounroll
        for (int j = 0; j < TN; j++) {
            const int c = c0 + lx + WN * j;
            if (r < M && c < N) {
                float v = alpha * own[j * WG];
#if HAS_BIAS
                v += beta * LOAD(bias, bias_off + r * bias_sr + c * bias_sc);
#endif
#ifdef EPILOGUE
                v = clg_epilogue(v, r, c EPILOGUE_PASS);
#endif
                STORE(y, y_off + Y_INDEX(r, c), v);
            }
        }
    }
}
