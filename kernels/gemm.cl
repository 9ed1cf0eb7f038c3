/* Row-major GEMM with an optional bias and elementwise epilogue, specialised
 * at build time (runtime/gemm/variants.c chooses the defines):
 *
 *     C[r][c] = EPILOGUE(alpha * sum_k op(A)[r][k] * op(B)[k][c]
 *                        + beta * bias[r * bias_sr + c * bias_sc])
 *
 *   TM, TN     rows and columns of C per work-item (register tile)
 *   TRANS_A    0: A is [M][lda] (element (r, k) at r * lda + k); 1: [K][lda]
 *   TRANS_B    0: B is [K][ldb] (element (k, c) at k * ldb + c); 1: [N][ldb]
 *   VW         > 1: each work-item's dot products run VW-wide along k
 *              (needs TRANS_A 0 and TRANS_B 1, TM = TN = 1)
 *   VN         > 1: each work-item's TM rows run VN-wide along N, VN
 *              neighbouring columns loaded as one vector from a row of B
 *              (needs TRANS_B 0, TN = 1)
 *   y_p        (argument) 0: y is C, row-major; > 0: y holds NCHW images of
 *              y_p pixels and C's columns run over images then pixels;
 *              < 0: NCHW images of -y_p pixels, C's rows run over them
 *   MR, NV     > 0: the packed-B kernel (below): each work-item computes an
 *              MR x (16 * NV) tile of C from B packed by pack_b
 *   PACK_B     the program is pack_b alone (with NV, TRANS_B, BATCHED),
 *              no gemm kernel; without it no pack_b
 *   HAS_BIAS   add beta * bias, bias broadcast over C by its strides
 *   CONV_A     (packed-B kernel only) A is no matrix but a convolution's
 *              NCHW input, read in place (an implicit GEMM, no im2col):
 *              row r of A is output pixel r of the batch (image r / P,
 *              pixel r % P), column k input channel k / (KH*KW) at kernel
 *              tap k % (KH*KW); the geometry comes as the conv_* arguments
 *              after beta, lda and TRANS_A are unused
 *   CONV_B1    (vector kernel, VN > 1, or the scalar one) B is no matrix but
 *              a pointwise (1x1, stride 1, unpadded) convolution's NCHW
 *              input, read in place: column c is pixel c % P of image
 *              c / P (P = y_p, or N for one image), row k input channel k
 *   BATCHED    a batch of products in one launch: grid dim 2 is the
 *              batch index z, and A, B (or its packed panels) and y start
 *              z * a_bs, z * b_bs, z * y_bs elements further (arguments
 *              after the convolution's; attention's Q·KT and P·V, batched
 *              MatMuls of two computed tensors). Not with CONV_A or an
 *              epilogue (those address y by the whole result's rows)
 *   EPILOGUE   defined by the prelude the host writes in front of this
 *              file (the contract: runtime/lower/epilogue.h): functions
 *              clg_epilogue(v0, r, c EPILOGUE_PASS) and clg_epilogue16
 *              over extra kernel arguments EPILOGUE_ARGS (an expression
 *              with x0 the GEMM's value); the gemm kernel takes them
 *
 * Compilers for CPUs (PoCL's loop vectoriser) vectorise the innermost loop
 * of a work-item, not across work-items, so the VW and VN variants spell
 * their vectors out.
 *
 * Grid: dim 0 over ceil(N / TN) column groups (ceil(N / VN) with VN) (padded to a multiple of 64,
 * checked here), dim 1 over ceil(M / TM) row groups. A work-item's TN
 * columns are ceil(N / TN) apart, so neighbouring work-items read
 * neighbouring columns of B (the CPU compilers vectorise across work-items;
 * GPUs coalesce the loads) and every work-item of a row of work-groups
 * reads the same elements of A. Rows and columns past the edge are clamped
 * for loads and skipped for stores, so odd sizes need no padding. */
#ifndef TM
#define TM 1
#endif
#ifndef TN
#define TN 1
#endif
#ifndef TRANS_A
#define TRANS_A 0
#endif
#ifndef TRANS_B
#define TRANS_B 0
#endif
#ifndef VW
#define VW 1
#endif
#ifndef VN
#define VN 1
#endif
#ifndef HAS_BIAS
#define HAS_BIAS 0
#endif
#ifndef EPILOGUE
#define EPILOGUE_ARGS
#define EPILOGUE_PASS
#endif

#define CLG_CAT2(a, b) a##b
#define CLG_CAT(a, b) CLG_CAT2(a, b)

#if TRANS_A
#define A_AT(r, k) LOAD(a, (k) * lda + (r))
#else
#define A_AT(r, k) LOAD(a, (r) * lda + (k))
#endif
#ifdef CONV_B1
/* B is a pointwise (1x1, stride 1, unpadded) convolution's NCHW input,
 * read in place: column c is pixel c % P of image c / P (P = y_p, or N for
 * one image), row k input channel k. The vector kernel below reads it a
 * vector at a time; other widths (a device preferring scalars) element by
 * element here. */
#define CLG_B1_P (y_p > 0 ? y_p : N)
#define B_AT(k, c) LOAD(b, ((c) / CLG_B1_P * K + (k)) * CLG_B1_P + (c) % CLG_B1_P)
#elif TRANS_B
#define B_AT(k, c) LOAD(b, (c) * ldb + (k))
#else
#define B_AT(k, c) LOAD(b, (k) * ldb + (c))
#endif

#ifndef MR
#define MR 0
#endif
#ifndef NV
#define NV 1
#endif

/* Where element (r, c) of C goes in y: row-major [M][N] (y_p 0), or NCHW
 * images of P pixels for a convolution's C, which is [channels][images *
 * pixels] (y_p = P) or [images * pixels][channels] (y_p = -P). */
#ifdef BATCHED
#define Y_LD y_ld /* a batched product's rows may be further apart than N */
#else
#define Y_LD N
#endif
#define Y_INDEX(r, c)                                                   \
    (y_p > 0   ? ((c) / y_p * M + (r)) * y_p + (c) % y_p                \
     : y_p < 0 ? ((r) / -y_p * N + (c)) * -y_p + (r) % -y_p             \
               : (r) * Y_LD + (c))

/* Both kernels below take these arguments, in this order: the host
 * (runtime/gemm/variants.c) sets one list for every variant. */
#define CLG_GEMM_PARAMS                                                                  \
    __global const store_t *a, uint a_off, int lda, __global const store_t *b, uint b_off, int ldb, \
        __global store_t *y, uint y_off, int y_p, int M, int N, int K, float alpha,           \
        __global const store_t *bias, uint bias_off, int bias_sr, int bias_sc, float beta CLG_CONV_PARAMS      \
        CLG_BATCH_PARAMS EPILOGUE_ARGS

#ifdef BATCHED
#define CLG_BATCH_PARAMS , int a_bs, int b_bs, int y_bs, int zn, int a_bs2, int b_bs2, int y_bs2, int y_ld
/* Moves a, b and y to product z = get_global_id(2) of the batch. The batch
 * is two-level: z = z1 * zn + z0 moves each operand z0 * *_bs + z1 * *_bs2
 * elements (zn = batch and *_bs2 = 0 for one level): attention's heads read
 * straight from a fused QKV projection are [batch, heads] with strides that
 * do not merge. y's rows are y_ld apart (N when dense). */
#define CLG_BATCH_START                                    \
    {                                                      \
        const size_t z = get_global_id(2), z1 = z / zn, z0 = z - z1 * zn; \
        a += z0 * a_bs + z1 * a_bs2;                       \
        b += z0 * b_bs + z1 * b_bs2;                       \
        y += z0 * y_bs + z1 * y_bs2;                       \
    }
#else
#define CLG_BATCH_PARAMS
#define CLG_BATCH_START
#endif

#ifdef CONV_A
/* The convolution's geometry: input channels, height and width, kernel
 * size, output width and pixels per image, strides, top and left pads,
 * dilations (bottom and right pads only shape the output). */
#define CLG_CONV_PARAMS                                                                 \
    , int conv_c, int conv_h, int conv_w, int conv_kh, int conv_kw, int conv_ow, int conv_p, \
        int conv_sh, int conv_sw, int conv_pt, int conv_pl, int conv_dh, int conv_dw
#else
#define CLG_CONV_PARAMS
#endif

/* NR = 16 * NV columns per panel of a packed B (pack_b and the packed-B
 * gemm below). */
#define NR (16 * NV)

#ifdef PACK_B
/* PACK_B: this program is pack_b alone, which packs B for every packed
 * variant (gemm.cl's and gemm_local.cl's): panel t holds columns
 * [t * NR, t * NR + NR) as K rows of NR floats, zero past N. Its options
 * are only what the layout needs (NV, TRANS_B, BATCHED), so every GEMM and
 * convolution of a plan with the same panels shares one program, and no
 * gemm program holds pack_b: PoCL compiles a work-group function for every
 * kernel of a program it saves (docs/runtime.md, "Start-up").
 *
 * Grid: dim 0 over K rows of B, dim 1 over ceil(N / NR) panels, dim 2 over
 * the batch (BATCHED). */
__kernel void pack_b(__global const store_t *b, uint b_off, int ldb, __global store_t *p, uint p_off, int N, int K
#ifdef BATCHED
                     , int b_bs, int p_bs, int zn, int b_bs2
#endif
)
{
    const int k = get_global_id(0), t = get_global_id(1);
    if (k >= K) return;
    b += b_off;
#ifdef BATCHED
    /* product get_global_id(2)'s B into its own panels, p_bs apart */
    {
        const size_t z = get_global_id(2), z1 = z / zn, z0 = z - z1 * zn;
        b += z0 * b_bs + z1 * b_bs2;
        p += z * p_bs;
    }
#endif
    p += p_off + ((size_t)t * K + k) * NR;
    for (int j = 0; j < NR; j++) {
        const int c = t * NR + j;
        STORE(p, j, c < N ? B_AT(k, c) : 0.0f);
    }
}

#elif MR > 0
/* The packed-B kernel, for CPUs: a register tile of MR rows by NR = 16 * NV
 * columns, MR * NV float16 accumulators, B read as one contiguous stream
 * per tile and each element of A broadcast once per k (a BLAS
 * micro-kernel). B must be packed first: panel t holds columns
 * [t * NR, t * NR + NR) as K rows of NR floats, zero past N, so loads never
 * need a bound; rows of A past M are clamped in the last row of tiles.
 * The loops carry "unroll" pragmas because PoCL leaves them rolled, which
 * puts the accumulators in memory (about 3x slower).
 *
 * Grid: dim 0 over ceil(M / MR) row tiles, dim 1 over ceil(N / NR) column
 * panels, one work-item per work-group (each is one tile's whole loop). */

/* The k loop over rows ROW(i) of A. */
#define CLG_TILE_LOOP(ROW)                                                                  \
    for (int k = 0; k < K; k++) {                                                           \
        float16 bv[NV];                                                                     \
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADV(16, bp + k * NR + 16 * v); \
        _Pragma("unroll") for (int i = 0; i < MR; i++) {                                    \
            const float16 av = (float16)(A_AT(ROW(i), k));                                  \
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = fma(av, bv[v], acc[i][v]); \
        }                                                                                   \
    }

#ifdef CONV_A
/* The implicit GEMM's k loop: kernel taps outside, input channels inside,
 * so each row's (output pixel's) input offset and whether the tap falls
 * inside the image (else it reads the padding's zero) are worked out once
 * per tap, not per k. Row i's offset off[i] then steps by a channel plane
 * per k. B (the weights) keeps k = channel * KH*KW + tap, hence its
 * stride of KH*KW rows. */
#define CLG_CONV_TILE_LOOP                                                                     \
    {                                                                                          \
        const int plane = conv_h * conv_w, taps = conv_kh * conv_kw;                           \
        int img[MR], iy0[MR], ix0[MR];                                                         \
        _Pragma("unroll") for (int i = 0; i < MR; i++) {                                       \
            const int r = min(r0 + i, M - 1), bi = r / conv_p, p = r - bi * conv_p;            \
            const int oy = p / conv_ow, ox = p - oy * conv_ow;                                 \
            img[i] = bi * conv_c * plane;                                                      \
            iy0[i] = oy * conv_sh - conv_pt;                                                   \
            ix0[i] = ox * conv_sw - conv_pl;                                                   \
        }                                                                                      \
        for (int ky = 0; ky < conv_kh; ky++)                                                   \
            for (int kx = 0; kx < conv_kw; kx++) {                                             \
                int off[MR];                                                                   \
                bool inside[MR], all = true;                                                   \
                _Pragma("unroll") for (int i = 0; i < MR; i++) {                               \
                    const int iy = iy0[i] + ky * conv_dh, ix = ix0[i] + kx * conv_dw;          \
                    inside[i] = iy >= 0 && iy < conv_h && ix >= 0 && ix < conv_w;              \
                    off[i] = img[i] + (inside[i] ? iy * conv_w + ix : 0);                      \
                    all = all && inside[i];                                                    \
                }                                                                              \
                const __global store_t *bk = bp + (ky * conv_kw + kx) * NR;                      \
                if (all)                                                                       \
                    CLG_CONV_CHANNELS(LOAD(a, off[i]))                                               \
                else                                                                           \
                    CLG_CONV_CHANNELS(inside[i] ? LOAD(a, off[i]) : 0.0f)                            \
            }                                                                                  \
    }

/* The channel loop of one tap, row i's element of A being AELEM. With no
 * row in the padding (most taps of most tiles) a plain load, which the
 * compiler can fold into the multiply-add as a broadcast operand. Else a
 * row in the padding still loads from a valid address (off[i] is the
 * image's first element) and selects zero: no branch per element, and a
 * NaN at that address cannot leak into the sum. */
#define CLG_CONV_CHANNELS(AELEM)                                                                \
    for (int c = 0; c < conv_c; c++) {                                                         \
        float16 bv[NV];                                                                        \
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADV(16, bk + 16 * v);        \
        bk += taps * NR;                                                                       \
        _Pragma("unroll") for (int i = 0; i < MR; i++) {                                       \
            const float16 av = (float16)(AELEM);                                                \
            off[i] += plane;                                                                   \
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = fma(av, bv[v], acc[i][v]); \
        }                                                                                      \
    }
#endif

#ifdef CONV_KH
/* An interior tile, with the kernel size, the column stride and dilation
 * known at build time (CONV_KH x CONV_KW taps, CONV_DW; the column
 * stride CONV_SW is conv_sw, below): when
 * the tile's MR rows are MR neighbouring pixels of one output row and
 * every tap of every row falls inside the image, row i's element for
 * channel c at tap (ky, kx) is ap[c * plane + ky * dh * w + kx * CONV_DW +
 * i * CONV_SW] from the tile's first pixel ap. The k loop then runs in B's
 * own order (channels outside, taps inside), the taps unrolled, and each
 * load is one of KH row pointers plus a constant: no index arithmetic, no
 * bounds checks and no offsets in registers (PoCL even reuses a loaded
 * element across the kx taps). The tap-outer loop above sets MR offsets
 * and bounds up again at every tap, over 200 instructions of PoCL's code
 * per tap against 32 channels of multiply-adds at C = 32; a channel-outer
 * loop over general offsets, tried, spilled its MR x taps offsets to the
 * stack and ran slower than either. Other tiles take the loop above.
 * Measured: 1.2x on interior-only 3x3 32->32 convolutions (bench/README.md). */
/* The column stride is the argument conv_sw, not a define: built in, it
 * made the 3x3 convolutions of stride 1 and 2 two programs (two more
 * work-group functions for PoCL to compile cold) and measured no faster
 * (docs/runtime.md "Start-up", item 8). */
#define CONV_SW conv_sw
#define CONV_TAPS (CONV_KH * CONV_KW)
#if CONV_TAPS <= 9
#define CLG_TAP_UNROLL _Pragma("unroll")
#else
#define CLG_TAP_UNROLL _Pragma("nounroll")
#endif
#define CLG_CONV_INTERIOR_LOOP(AP)                                                              \
    {                                                                                           \
        const int plane = conv_h * conv_w, rowstep = conv_dh * conv_w;                          \
        const __global store_t *bk = bp;                                                          \
        for (int c = 0; c < conv_c; c++, AP += plane)                                           \
            CLG_TAP_UNROLL for (int t = 0; t < CONV_TAPS; t++) {                                \
                const __global store_t *at = AP + t / CONV_KW * rowstep + t % CONV_KW * CONV_DW;  \
                float16 bv[NV];                                                                 \
                _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADV(16, bk + 16 * v); \
                bk += NR;                                                                       \
                _Pragma("unroll") for (int i = 0; i < MR; i++) {                                \
                    const float16 av = (float16)(LOAD(at, i * CONV_SW));                              \
                    _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = fma(av, bv[v], acc[i][v]); \
                }                                                                               \
            }                                                                                   \
    }
#endif

#ifdef CONV_INB
/* Every tap of every output pixel inside the input (no padding, or the
 * padding written out first: runtime/lower/conv.c pad_first). A tile
 * whose MR pixels are no stretch of one output row (a 4x4 or 2x2 image's
 * rows, a 28-, 14- or 7-pixel row's straddling tiles, image boundaries)
 * keeps one pointer per row, rp[i] at pixel i's first tap; each load is
 * rp[i] plus the tap's offset (a multiple of the row stride plus a
 * constant, the same for every row), the channel step one add per row:
 * no bounds, no offsets per tap and row. The tap-outer loop above
 * (CLG_CONV_TILE_LOOP) sets MR offsets and bounds up again at every tap:
 * 1.3-1.4x the median time with p8x32 on 4x4, 2x2 and 7x7 images
 * (bench/README.md "Multi-row tiles"). The input's sizes stay arguments: built in, they
 * made a program per input size and ran no faster. Rows past M are
 * clamped to the last pixel, as elsewhere. */
#define CLG_CONV_ROWS_LOOP                                                                  \
    {                                                                                       \
        const int plane = conv_h * conv_w;                                                  \
        const __global store_t *rp[MR];                                                     \
        _Pragma("unroll") for (int i = 0; i < MR; i++) {                                    \
            const int r = min(r0 + i, M - 1), bi = r / conv_p, p = r - bi * conv_p;         \
            const int oy = p / conv_ow, ox = p - oy * conv_ow;                              \
            rp[i] = a + (bi * conv_c * plane + oy * conv_sh * conv_w + ox * CONV_SW);       \
        }                                                                                   \
        const __global store_t *bk = bp;                                                    \
        for (int c = 0; c < conv_c; c++) {                                                  \
            CLG_TAP_UNROLL for (int t = 0; t < CONV_TAPS; t++) {                            \
                const int tap = t / CONV_KW * conv_dh * conv_w + t % CONV_KW * CONV_DW;     \
                float16 bv[NV];                                                             \
                _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = LOADV(16, bk + 16 * v); \
                bk += NR;                                                                   \
                _Pragma("unroll") for (int i = 0; i < MR; i++) {                            \
                    const float16 av = (float16)(LOAD(rp[i], tap));                         \
                    _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = fma(av, bv[v], acc[i][v]); \
                }                                                                           \
            }                                                                               \
            _Pragma("unroll") for (int i = 0; i < MR; i++) rp[i] += plane;                  \
        }                                                                                   \
    }
#endif

/* A work-item's tile is float16 vectors already: the hint keeps Intel's
 * compiler from widening it again across work-items, which it did for
 * some programs only (an epilogue with an input, small images): a 3x3
 * conv 256 -> 256 on 4x4 images at batch 16 with a residual Add took
 * 3.9 ms with p8x32 against 1.5 without the Add, and 1.5 with the hint
 * (2026-12-07, device time). PoCL's times did not change. */
__attribute__((vec_type_hint(float16)))
__kernel void gemm(CLG_GEMM_PARAMS)
{
    const int ti = get_global_id(0), tj = get_global_id(1);
    const int r0 = ti * MR, c0 = tj * NR;
    if (r0 >= M || c0 >= N) return;
    CLG_BATCH_START
    a += a_off;
    const __global store_t *bp = b + b_off + (size_t)tj * K * NR;
    float16 acc[MR][NV];
    _Pragma("unroll") for (int i = 0; i < MR; i++)
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = (float16)(0.0f);
#ifdef CONV_A
#ifdef CONV_KH
    /* an interior tile (see CLG_CONV_INTERIOR_LOOP): ap its first pixel */
    const __global store_t *ap = a;
    bool interior = false;
    if (r0 + MR <= M) {
        const int bi = r0 / conv_p, p = r0 - bi * conv_p, oy = p / conv_ow, ox = p - oy * conv_ow;
        const int iy = oy * conv_sh - conv_pt, ix = ox * CONV_SW - conv_pl;
        interior = ox + MR <= conv_ow && iy >= 0 && iy + (CONV_KH - 1) * conv_dh < conv_h && ix >= 0 &&
                   ix + (MR - 1) * CONV_SW + (CONV_KW - 1) * CONV_DW < conv_w;
        if (interior) ap = a + (bi * conv_c * conv_h + iy) * conv_w + ix;
    }
    if (interior)
        CLG_CONV_INTERIOR_LOOP(ap)
    else
#endif
#ifdef CONV_INB
        CLG_CONV_ROWS_LOOP
#else
        CLG_CONV_TILE_LOOP
#endif
#else
    if (r0 + MR <= M) {
#define CLG_ROW_FULL(i) (r0 + (i))
        CLG_TILE_LOOP(CLG_ROW_FULL)
    } else {
        const int last = M - 1 - r0;
#define CLG_ROW_CLAMPED(i) (r0 + min((i), last))
        CLG_TILE_LOOP(CLG_ROW_CLAMPED)
    }
#endif
    /* The tile leaves the registers once; the stores below stay a rolled
     * loop (one copy of the epilogue instead of MR * NV: PoCL's compile
     * time), reading it from private memory. */
    float16 tile[MR][NV];
    _Pragma("unroll") for (int i = 0; i < MR; i++)
        _Pragma("unroll") for (int v = 0; v < NV; v++) tile[i][v] = acc[i][v];
    /* alpha, the bias and (ALL_FULL: the tile's 16 columns all inside N)
     * the epilogue on row r's 16 columns from cv, x */
#if HAS_BIAS
    /* a bias per row (a convolution's) or per column (a Dense layer's) as
     * vectors; other strides element by element */
#define CLG_TILE_BIAS(x, r, cv)                                                    \
    if (bias_sc == 0) {                                                            \
        x += beta * LOAD(bias, bias_off + (r) * bias_sr);                          \
    } else if (bias_sc == 1 && (cv) + 16 <= N) {                                   \
        x += beta * LOADV(16, bias + bias_off + (r) * bias_sr + (cv));             \
    } else {                                                                       \
        float part[16];                                                            \
        vstore16(x, 0, part);                                                      \
        for (int l = 0; l < 16 && (cv) + l < N; l++)                               \
            part[l] += beta * LOAD(bias, bias_off + (r) * bias_sr + ((cv) + l) * bias_sc); \
        x = vload16(0, part);                                                      \
    }
#else
#define CLG_TILE_BIAS(x, r, cv)
#endif
    /* Rows that are pixels of one NCHW image (the flipped and implicit
     * convolutions) with the whole tile inside y: each of the NR channels'
     * MR pixels are neighbours in y, so the tile is stored channel by
     * channel, MR floats at a time, after its rows are finished. Row by
     * row it would be NR scattered floats per row, one per channel plane:
     * planes of 4 KiB (32x32 images) all fall into one L1 set, and each row
     * evicted the lines the last one wrote (measured in bench/README.md,
     * "Convolution stores"). */
    if (y_p < 0 && r0 + MR <= M && c0 + NR <= N && r0 / -y_p == (r0 + MR - 1) / -y_p) {
        _Pragma("unroll") for (int i = 0; i < MR; i++)
            _Pragma("unroll") for (int v = 0; v < NV; v++) {
                float16 x = alpha * tile[i][v];
                CLG_TILE_BIAS(x, r0 + i, c0 + 16 * v)
#if defined(EPILOGUE) && !defined(EPILOGUE_NCHW)
                x = clg_epilogue16(x, r0 + i, c0 + 16 * v EPILOGUE_PASS);
#endif
                tile[i][v] = x;
            }
        const int pp = -y_p, img = r0 / pp, px0 = r0 - img * pp;
        __global store_t *yt = y + y_off + (size_t)(img * N + c0) * pp + px0;
        const float *tf = (const float *)tile;
#pragma nounroll
        for (int j = 0; j < NR; j++)
#ifdef EPILOGUE_NCHW
            /* the epilogue's inputs read channel by channel too (by row,
             * a residual's 16 channels were 16 loads a plane apart) */
            _Pragma("unroll") for (int i = 0; i < MR; i++)
                STORE(yt, (size_t)j * pp + i, clg_epilogue_px(tf[i * NR + j], img, px0 + i, c0 + j EPILOGUE_PASS));
#else
            _Pragma("unroll") for (int i = 0; i < MR; i++) STORE(yt, (size_t)j * pp + i, tf[i * NR + j]);
#endif
        return;
    }
#pragma nounroll
    for (int i = 0; i < MR; i++) {
        const int r = r0 + i;
        if (r >= M) break;
#pragma nounroll
        for (int v = 0; v < NV; v++) {
            const int cv = c0 + 16 * v;
            float16 x = alpha * tile[i][v];
            CLG_TILE_BIAS(x, r, cv)
            const bool full = cv + 16 <= N;
#ifdef EPILOGUE
            if (full) x = clg_epilogue16(x, r, cv EPILOGUE_PASS);
#endif
            /* 16 neighbouring elements of y (in one image when NCHW) */
            if (full && (y_p == 0 || (y_p > 0 && cv / y_p == (cv + 15) / y_p))) {
                STOREV(16, x, y + y_off + Y_INDEX(r, cv));
                continue;
            }
            float part[16];
            vstore16(x, 0, part);
            /* rows are pixels (the flipped and implicit convolutions): 16
             * channels of one pixel, -y_p apart, the division by the
             * image size done once, not per element as Y_INDEX would (it
             * cost more than the multiply-adds at K = 288) */
            if (full && y_p < 0) {
                const int pp = -y_p, img = r / pp;
                __global store_t *yr = y + y_off + (img * N + cv) * pp + (r - img * pp);
                for (int l = 0; l < 16; l++) STORE(yr, l * pp, part[l]);
                continue;
            }
            for (int l = 0; l < 16 && cv + l < N; l++)
#ifdef EPILOGUE
                STORE(y, y_off + Y_INDEX(r, cv + l), full ? part[l] : clg_epilogue(part[l], r, cv + l EPILOGUE_PASS));
#else
                STORE(y, y_off + Y_INDEX(r, cv + l), part[l]);
#endif
        }
    }
}
#else
/* Element (r, c) of y from its sum: alpha times it, plus beta times the
 * bias, through the epilogue. */
float clg_finish(float v, int r, int c, float alpha, __global const store_t *bias, uint bias_off, int bias_sr,
                 int bias_sc, float beta EPILOGUE_ARGS)
{
    v *= alpha;
#if HAS_BIAS
    v += beta * LOAD(bias, bias_off + r * bias_sr + c * bias_sc);
#endif
#ifdef EPILOGUE
    v = clg_epilogue(v, r, c EPILOGUE_PASS);
#endif
    return v;
}

/* float16 columns (VN 16): the same hint as the packed kernel's */
#if VN == 16
__attribute__((vec_type_hint(float16)))
#endif
__kernel void gemm(CLG_GEMM_PARAMS)
{
    const int r0 = get_global_id(1) * TM;
    CLG_BATCH_START
    a += a_off;
    b += b_off;
#if VN > 1
    {
        typedef CLG_CAT(float, VN) floatv;
        const int cbase = get_global_id(0) * VN;
        if (cbase >= N) return;
        int rows[TM];
        _Pragma("unroll") for (int i = 0; i < TM; i++) rows[i] = min(r0 + i, M - 1);
        floatv acc[TM];
        _Pragma("unroll") for (int i = 0; i < TM; i++) acc[i] = (floatv)(0.0f);
#ifdef CONV_B1
        /* A pointwise convolution's input (B_AT above): a group of VN
         * columns inside one image is one vector per channel; one that
         * runs into the next image (P no multiple of VN) goes element by
         * element. */
        const int pp = CLG_B1_P, img = cbase / pp, px = cbase - img * pp;
        const __global store_t *bcol = b + (size_t)img * K * pp + px;
        const int bstep = pp;
        const bool whole = cbase + VN <= N && px + VN <= pp;
#else
        const __global store_t *bcol = b + cbase;
        const int bstep = ldb;
        const bool whole = cbase + VN <= N;
#endif
        if (whole) {
            for (int k = 0; k < K; k++) {
                const floatv bv = LOADV(VN, bcol + k * bstep);
                _Pragma("unroll") for (int i = 0; i < TM; i++) acc[i] = fma((floatv)(A_AT(rows[i], k)), bv, acc[i]);
            }
        } else {
            /* the last, partial group of columns: element by element */
            for (int k = 0; k < K; k++) {
                union { floatv v; float s[VN]; } part;
                _Pragma("unroll") for (int l = 0; l < VN; l++) part.s[l] = B_AT(k, min(cbase + l, N - 1));
                _Pragma("unroll") for (int i = 0; i < TM; i++) acc[i] = fma((floatv)(A_AT(rows[i], k)), part.v, acc[i]);
            }
        }
#if VN == 16
        /* A whole group's rows as vectors: the bias (a row's, or a
         * vector of the columns'), the epilogue over 16 columns, one
         * vector store (16 neighbours in y: one image's pixels when NCHW).
         * Element by element each store and epilogue input was a scalar
         * access of its own. */
        if (whole && (y_p == 0 || cbase / y_p == (cbase + 15) / y_p) && (!HAS_BIAS || bias_sc <= 1)) {
            _Pragma("unroll") for (int i = 0; i < TM; i++) {
                const int r = r0 + i;
                if (r < M) {
                    float16 x = alpha * acc[i];
#if HAS_BIAS
                    x += beta * (bias_sc == 0 ? (float16)(LOAD(bias, bias_off + r * bias_sr))
                                              : LOADV(16, bias + bias_off + r * bias_sr + cbase));
#endif
#ifdef EPILOGUE
                    x = clg_epilogue16(x, r, cbase EPILOGUE_PASS);
#endif
                    STOREV(16, x, y + y_off + Y_INDEX(r, cbase));
                }
            }
            return;
        }
#endif
        /* Fully unrolled, without breaks, so that part and acc stay in
         * registers: NVPTX kept them on a stack in local memory otherwise
         * (scripts/gpu_compile_check.py). */
        _Pragma("unroll") for (int i = 0; i < TM; i++) {
            const int r = r0 + i;
            union { floatv v; float s[VN]; } part;
            part.v = acc[i];
            _Pragma("unroll") for (int l = 0; l < VN; l++) {
                const int c = cbase + l;
                if (r < M && c < N)
                    STORE(y, y_off + Y_INDEX(r, c),
                          clg_finish(part.s[l], r, c, alpha, bias, bias_off, bias_sr, bias_sc, beta EPILOGUE_PASS));
            }
        }
        return;
    }
#endif
    const int groups = (N + TN - 1) / TN;
    const int c0 = get_global_id(0);
    if (c0 >= groups) return;

    int rows[TM], cols[TN];
    for (int i = 0; i < TM; i++) rows[i] = min(r0 + i, M - 1);
    for (int j = 0; j < TN; j++) cols[j] = min(c0 + j * groups, N - 1);

    float acc[TM][TN];
    for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

#if VW > 1
    {
        typedef CLG_CAT(float, VW) floatv;
        floatv accv = (floatv)(0.0f);
        const __global store_t *arow = a + rows[0] * lda, *brow = b + cols[0] * ldb;
        int k = 0;
        for (; k + VW <= K; k += VW)
            accv = fma(LOADV(VW, arow + k), LOADV(VW, brow + k), accv);
        /* the lanes' sum by halves, in registers (a private array here
         * was a stack in local memory on NVPTX) */
#if VW == 16
        const float8 h8 = accv.lo + accv.hi;
#elif VW == 8
        const float8 h8 = accv;
#endif
#if VW >= 8
        const float4 h4 = h8.lo + h8.hi;
#elif VW == 4
        const float4 h4 = accv;
#endif
#if VW >= 4
        const float2 h2 = h4.lo + h4.hi;
#else
        const float2 h2 = accv;
#endif
        float s = h2.x + h2.y;
        for (; k < K; k++) s = fma(LOAD(arow, k), LOAD(brow, k), s);
        acc[0][0] = s;
    }
#else
    for (int k = 0; k < K; k++) {
        float av[TM], bv[TN];
        for (int i = 0; i < TM; i++) av[i] = A_AT(rows[i], k);
        for (int j = 0; j < TN; j++) bv[j] = B_AT(k, cols[j]);
        for (int i = 0; i < TM; i++)
            for (int j = 0; j < TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
#endif

    /* fully unrolled, without breaks: acc stays in registers (NVPTX kept
     * it on a stack in local memory behind a large epilogue otherwise) */
    _Pragma("unroll") for (int i = 0; i < TM; i++) {
        const int r = r0 + i;
        _Pragma("unroll") for (int j = 0; j < TN; j++) {
            const int c = c0 + j * groups;
            if (r < M && c < N)
                STORE(y, y_off + Y_INDEX(r, c),
                      clg_finish(acc[i][j], r, c, alpha, bias, bias_off, bias_sr, bias_sc, beta EPILOGUE_PASS));
        }
    }
}
#endif
