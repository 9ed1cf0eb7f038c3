#!/bin/sh
# Runs every kernel family of clgraph under Oclgrind, a simulated OpenCL
# device that reports data races, uninitialised values, out-of-bounds
# accesses, barrier divergence and API misuse, shrunk to GPU-like limits
# (work-groups of at most 256 items, 32 KiB of local memory). Fails on any
# error Oclgrind reports in clgraph's own kernels, on any API error, on a
# wrong result (--check against the reference executor) or on a crash, and
# when a kernel family did not run at all. Errors in CLBlast's kernels (their
# names start with a capital letter) are counted and listed, not failed on:
# they are not ours (docs/portability.md lists them).
#
#   test_oclgrind.sh CLGRAPH SHIM REPRO_OFFSET_WRITE REPRO_SLOT_REUSE
#
# SHIM is tests/oclgrind_shim.c built as a module: it works around two bugs
# of Oclgrind 21.10's uninitialised-value checker that would otherwise
# report every clgraph kernel (see that file); the two reproducers show the
# bugs without clgraph, and the first checks below prove the shim fixes them.
# Exit 77 (skipped) when oclgrind is not installed.
set -u
CLI=$1
SHIM=$2
REPRO_OFFSET=$3
REPRO_REUSE=$4
if ! command -v oclgrind >/dev/null 2>&1; then
    echo "oclgrind is not installed (scripts/setup.sh installs it): skipped"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/clgraph_oclgrind.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
# A cache of its own: programs built by Oclgrind, and GEMM choices timed on it.
export CLGRAPH_CACHE_DIR="$TMP/cache"
unset CLGRAPH_DEVICE
# -cl-opt-disable: Oclgrind 21.10's uninitialised-value checker stops a
# work-item at LLVM's freeze instruction ("OCLGRIND FATAL ERROR ...
# Unsupported instruction: freeze"; fixed after 21.10), which clang's
# optimiser emits for a division and remainder by the same value (gemm.cl's
# NCHW store index): the work-item's outputs are then never written and
# every kernel after it reads garbage. Unoptimised code has no freeze.
OPTIONS="--data-races --uninitialized --check-api --max-wgsize 256 --local-mem-size 32768"
OPTIONS="$OPTIONS --max-errors 100000 --build-options -cl-opt-disable"
KERNELS=$TMP/kernels.txt
: >"$KERNELS"
failed=0
runs=0

# grind LABEL SHIM|- ENV=VALUE... -- PROGRAM ARGS...: runs PROGRAM under
# Oclgrind (with SHIM in front of Oclgrind's runtime unless -), its output in
# $TMP/LABEL.out and Oclgrind's reports in $TMP/LABEL.log. Returns the
# program's exit status.
grind() {
    label=$1
    shim=$2
    shift 2
    envs=""
    while [ "$1" != "--" ]; do
        envs="$envs $1"
        shift
    done
    shift
    if [ "$shim" = "-" ]; then
        # shellcheck disable=SC2086
        env $envs oclgrind $OPTIONS --log "$TMP/$label.log" "$@" >"$TMP/$label.out" 2>&1
    else
        # shellcheck disable=SC2086
        env $envs CLG_SHIM_KERNEL_LOG="$KERNELS" oclgrind $OPTIONS --log "$TMP/$label.log" \
            sh -c 'LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"' "$shim" "$@" \
            >"$TMP/$label.out" 2>&1
    fi
}

# reports LABEL: Oclgrind's reports in $TMP/LABEL.log, one line each:
# "KERNEL<TAB>first line of the message" (KERNEL "-" for API errors).
reports() {
    [ -f "$TMP/$1.log" ] || return 0
    awk 'BEGIN { RS = ""; FS = "\n" }
         { k = "-"
           for (i = 2; i <= NF; i++) if ($i ~ /^\tKernel: /) { k = $i; sub(/^\tKernel: /, "", k) }
           print k "\t" $1 }' "$TMP/$1.log"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}

# model LABEL FILE BATCH -O<n> ENV=VALUE...: runs FILE with --check and
# judges the run (at $PRECISION, each output within $CHECK_TOL of the
# reference relative to its largest value).
PRECISION=fp32
CHECK_TOL=1e-4
model() {
    label=$1
    file=$2
    batch=$3
    level=$4
    shift 4
    runs=$((runs + 1))
    start=$(date +%s)
    grind "$label" "$SHIM" "$@" -- "$CLI" run "$file" --batch "$batch" "$level" --precision "$PRECISION" --check
    rc=$?
    secs=$(($(date +%s) - start))
    reports "$label" >"$TMP/$label.reports"
    ours=$(awk -F '\t' '$1 !~ /^[A-Z]/' "$TMP/$label.reports" | wc -l)
    theirs=$(awk -F '\t' '$1 ~ /^[A-Z]/' "$TMP/$label.reports" | wc -l)
    echo "$label: exit $rc, ${secs} s, $ours reports in clgraph's kernels or API calls, $theirs in CLBlast's"
    if [ "$rc" -ne 0 ]; then
        fail "$label: clgraph exited $rc"
        tail -n 20 "$TMP/$label.out"
    fi
    if [ "$ours" -ne 0 ]; then
        fail "$label: Oclgrind reports errors in clgraph's kernels:"
        awk -F '\t' '$1 !~ /^[A-Z]/' "$TMP/$label.reports" | sort | uniq -c | sort -rn | head -n 20
        awk 'BEGIN { RS = ""; ORS = "\n\n" } /\tKernel: [a-z]/ && n++ < 3' "$TMP/$label.log"
    fi
    if [ "$theirs" -ne 0 ]; then
        awk -F '\t' '$1 ~ /^[A-Z]/ { print "  (CLBlast) " $1 ": " $2 }' "$TMP/$label.reports" |
            sed 's/ address 0x[0-9a-f]*//' | sort | uniq -c
    fi
    # every output matches the reference executor
    checks=$(grep -c '^check ' "$TMP/$label.out")
    if [ "$checks" -eq 0 ] && [ "$rc" -eq 0 ]; then fail "$label: no --check line"; fi
    awk '/^check / { v = $0; sub(/.*\(/, "", v); sub(/ relative.*/, "", v);
                     if (!(v + 0 <= '"$CHECK_TOL"')) { print "FAIL: '"$label"': " $0; bad = 1 } }
         END { exit bad }' "$TMP/$label.out" || failed=$((failed + 1))
}

# ---- the shim fixes Oclgrind's two bugs (and nothing else)
grind repro_offset - -- "$REPRO_OFFSET"
n=$(reports repro_offset | grep -c Uninitialized)
if [ "$n" -ge 1 ]; then echo "Oclgrind bug 1 reproduced without the shim ($n report)"; else
    echo "note: Oclgrind no longer shows bug 1 (offset writes); tests/oclgrind_shim.c may be unnecessary"; fi
grind repro_offset_shim "$SHIM" -- "$REPRO_OFFSET"
[ "$(reports repro_offset_shim | wc -l)" -eq 0 ] || fail "the shim does not fix Oclgrind's offset-write bug"
grind repro_reuse - -- "$REPRO_REUSE"
n=$(reports repro_reuse | grep -c Uninitialized)
if [ "$n" -eq 0 ]; then echo "Oclgrind bug 2 reproduced without the shim (no report)"; else
    echo "note: Oclgrind no longer shows bug 2 (slot reuse); tests/oclgrind_shim.c may be unnecessary"; fi
grind repro_reuse_shim "$SHIM" -- "$REPRO_REUSE"
[ "$(reports repro_reuse_shim | grep -c Uninitialized)" -ge 1 ] ||
    fail "with the shim, a read of a never-written buffer is not reported"
: >"$KERNELS"

# ---- models at small odd shapes
cat >"$TMP/gemm.clg" <<'EOF'
# Gemm with and without transposes, a bias per column and per row, alpha,
# a residual Add + Relu epilogue; MatMul batched and with a constant. q has
# no batch dim, so that A can be transposed or a constant.
input x: f32[N, 13]
input z: f32[N, 3, 5]
input q: f32[13, 5]
input p: f32[13, 13]
const w1: f32[19, 13] = random(1, -0.5, 0.5)
const b1: f32[19] = random(2, -0.1, 0.1)
const w2: f32[13, 19] = random(3, -0.5, 0.5)
const wa: f32[7, 13] = random(4, -0.5, 0.5)
const ba: f32[7, 1] = random(5, -0.1, 0.1)
const wt: f32[13, 7] = random(6, -0.5, 0.5)
const wm: f32[5, 6] = random(7, -0.5, 0.5)
d1 = Gemm(x, w1, b1) transB=1
d2 = Gemm(x, w2)
s = Add(d1, d2)
r = Relu(s)
d3 = Gemm(wa, q, ba)
d4 = Gemm(q, wt) transA=1 alpha=0.5
d5 = Gemm(q, p) transA=1 transB=1
m1 = MatMul(z, wm)
zt = Transpose(z) perm=[0, 2, 1]
m2 = MatMul(z, zt)
output r
output d3
output d4
output d5
output m1
output m2
EOF
cat >"$TMP/conv.clg" <<'EOF'
# Convolutions: padding (asymmetric), strides, groups, 1x1, dilation, bias,
# a fused Relu and a residual Add after a convolution.
input x: f32[N, 3, 9, 7]
const w1: f32[5, 3, 3, 3] = random(1, -0.5, 0.5)
const b1: f32[5] = random(2, -0.1, 0.1)
c1 = Conv2D(x, w1, b1) pads=[1, 1, 1, 1]
r1 = Relu(c1)
const w5: f32[5, 5, 3, 3] = random(3, -0.3, 0.3)
const b5: f32[5] = random(4, -0.1, 0.1)
c5 = Conv2D(r1, w5, b5) pads=[1, 1, 1, 1]
a5 = Add(c5, r1)
r5 = Relu(a5)
const w2: f32[6, 5, 3, 3] = random(5, -0.3, 0.3)
c2 = Conv2D(r5, w2) strides=[2, 2] pads=[1, 0, 1, 1]
const w3: f32[6, 3, 1, 1] = random(6, -0.5, 0.5)
c3 = Conv2D(c2, w3) group=2
const w4: f32[4, 6, 2, 2] = random(7, -0.5, 0.5)
c4 = Conv2D(c3, w4) dilations=[2, 2] pads=[1, 1, 1, 1]
# a whole panel of 32 output channels on 20-pixel rows: the implicit GEMM
# pads the input first (pad_planes) and stores tiles channel by channel
input z: f32[N, 3, 4, 20]
const w6: f32[32, 3, 3, 3] = random(8, -0.5, 0.5)
const b6: f32[32] = random(9, -0.1, 0.1)
c6 = Conv2D(z, w6, b6) pads=[1, 1, 1, 1] epilogue="relu(x0)"
# unpadded on 4x4 images: 2x2 outputs, so 8-pixel tiles span rows and
# images, every tap inside (the implicit GEMM's row-pointer loop, CONV_INB)
input s: f32[N, 4, 4, 4]
const w7: f32[6, 4, 3, 3] = random(10, -0.5, 0.5)
c7 = Conv2D(s, w7)
# pointwise (1x1, stride 1, unpadded): the vector variants read the input
# in place (kernels/gemm.cl CONV_B1): 80-pixel images in whole 16-pixel
# groups, the epilogue on vectors; 4-pixel ones in groups across images
const w8: f32[7, 32, 1, 1] = random(11, -0.5, 0.5)
const b8: f32[7] = random(12, -0.1, 0.1)
c8 = Conv2D(c6, w8, b8) epilogue="relu(x0)"
const w9: f32[9, 6, 1, 1] = random(13, -0.5, 0.5)
c9 = Conv2D(c7, w9)
# rows of 32: the direct convolution reads the padding in place (DC_PL,
# shuffles of aligned vectors), 3x3 with a residual and 5x3 dilated with
# asymmetric pads
input q: f32[N, 4, 6, 32]
const wa: f32[5, 4, 3, 3] = random(14, -0.5, 0.5)
const ba: f32[5] = random(15, -0.1, 0.1)
ca = Conv2D(q, wa, ba) pads=[1, 1, 1, 1]
const wb: f32[4, 5, 5, 3] = random(16, -0.5, 0.5)
cb = Conv2D(ca, wb) pads=[2, 3, 2, 1] dilations=[1, 2]
ab = Add(cb, q)
output c4
output r5
output c6
output c7
output c8
output c9
output ab
EOF
cat >"$TMP/range.clg" <<'EOF'
# Range (kernels/range.cl), which -O0 runs as a kernel instead of folding
input x: f32[N, 6]
y = Range() start=-1 delta=0.5 shape=[6]
z = Add(x, y)
output z
EOF
cat >"$TMP/dw.clg" <<'EOF'
# Depthwise convolutions (kernels/conv_depthwise.cl), run with each body
# forced (CLGRAPH_DEPTHWISE): rows of 19 outputs (two float8 blocks and a
# short one) and of 5 and 2; strides 1, 2 and 3; asymmetric pads; taps
# past both ends of a row; 5x5 taps at dilation 2 with a channel
# multiplier of 2; a bias, and an epilogue with an input (the residual);
# small planes (s, t), which the plane body takes whole; 18 outputs of 36
# columns at stride 2 (u: the vector body's even and odd private rows); a
# grouped convolution, 2 input channels per group (d9: the vector body
# under CLGRAPH_DEPTHWISE=vec, CLBlast otherwise).
input x: f32[N, 4, 6, 19]
const w1: f32[4, 1, 3, 3] = random(1, -0.5, 0.5)
const b1: f32[4] = random(2, -0.1, 0.1)
d1 = Conv2D(x, w1, b1) pads=[1, 1, 1, 1] group=4
a1 = Add(d1, x)
r1 = Relu(a1)
const w2: f32[4, 1, 3, 3] = random(3, -0.5, 0.5)
d2 = Conv2D(r1, w2) strides=[2, 2] pads=[0, 0, 1, 1] group=4
const w3: f32[8, 1, 5, 5] = random(4, -0.3, 0.3)
const b3: f32[8] = random(5, -0.1, 0.1)
d3 = Conv2D(x, w3, b3) dilations=[2, 2] pads=[4, 4, 4, 4] group=4
const w4: f32[4, 1, 3, 3] = random(6, -0.5, 0.5)
d4 = Conv2D(x, w4) strides=[3, 3] pads=[1, 2, 1, 2] group=4
input s: f32[N, 3, 5, 5]
const w5: f32[3, 1, 3, 3] = random(7, -0.5, 0.5)
d5 = Conv2D(s, w5) pads=[1, 1, 1, 1] group=3
const w6: f32[3, 1, 3, 3] = random(8, -0.5, 0.5)
d6 = Conv2D(s, w6) strides=[2, 2] group=3
input t: f32[N, 2, 6, 6]
const w7: f32[4, 1, 3, 3] = random(9, -0.5, 0.5)
const b7: f32[4] = random(10, -0.1, 0.1)
d7 = Conv2D(t, w7, b7) dilations=[2, 2] pads=[2, 2, 2, 2] group=2
r7 = Clip(d7) min=0 max=6
input u: f32[N, 2, 5, 36]
const w8: f32[2, 1, 3, 3] = random(11, -0.5, 0.5)
d8 = Conv2D(u, w8) strides=[2, 2] pads=[1, 1, 1, 1] group=2
const w9: f32[6, 2, 3, 3] = random(12, -0.5, 0.5)
d9 = Conv2D(x, w9) pads=[1, 1, 1, 1] group=2
output r7
output d2
output d3
output d4
output d5
output d6
output d8
output d9
EOF
cat >"$TMP/grouped.clg" <<'EOF'
# Grouped convolutions through kernels/conv_grouped.cl (forced with
# CLGRAPH_GROUPED=kernel: a CPU body): output-channel vectors of 16 (a
# bias and a residual in the store), 8 (24 outputs per group, 2x2 images:
# blocks of 4 pixels), 4 (stride 2, asymmetric pads, 5x7 outputs: a last
# block of 3 pixels) and 2 (5x5 taps at dilation 2); weights that are a
# graph input, packed every run
input x: f32[N, 32, 4, 5]
const w1: f32[32, 16, 3, 3] = random(1, -0.3, 0.3)
const b1: f32[32] = random(2, -0.1, 0.1)
g1 = Conv2D(x, w1, b1) pads=[1, 1, 1, 1] group=2
a1 = Add(g1, x)
r1 = Relu(a1)
input s: f32[N, 32, 2, 2]
const w2: f32[48, 16, 3, 3] = random(3, -0.3, 0.3)
g2 = Conv2D(s, w2) pads=[1, 1, 1, 1] group=2
input t: f32[N, 12, 9, 13]
const w3: f32[16, 3, 3, 3] = random(4, -0.5, 0.5)
g3 = Conv2D(t, w3) strides=[2, 2] pads=[0, 1, 1, 0] group=4
input u: f32[N, 8, 6, 7]
const w4: f32[4, 4, 5, 5] = random(5, -0.3, 0.3)
g4 = Conv2D(u, w4) dilations=[2, 2] pads=[3, 4, 5, 2] group=2
input w5: f32[16, 8, 3, 3]
g5 = Conv2D(x, w5) pads=[1, 1, 1, 1] group=4
output r1
output g2
output g3
output g4
output g5
EOF
cat >"$TMP/pool.clg" <<'EOF'
# MaxPool and AveragePool in rows of float16 vectors (kernels/pool.cl
# maxpool_rows and averagepool_rows, forced with CLGRAPH_POOL=rows: CPU
# bodies): stride 2 over 36 columns (odd and even private rows, 18 outputs),
# stride 1 over 37 (a short last vector), padding and ceil_mode's overhang,
# 5-wide rows (part of one vector)
input x: f32[N, 2, 6, 36]
a = MaxPool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1]
input z: f32[N, 1, 5, 37]
b = MaxPool(z) kernel_shape=[3, 3] pads=[1, 1, 1, 1]
c = MaxPool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[0, 2, 2, 1] ceil_mode=1
input s: f32[N, 3, 5, 5]
d = MaxPool(s) kernel_shape=[3, 3] pads=[1, 1, 1, 1] ceil_mode=1
e = AveragePool(x) kernel_shape=[3, 3] strides=[2, 2] pads=[0, 2, 2, 1] ceil_mode=1
f = AveragePool(z) kernel_shape=[3, 3] pads=[1, 1, 1, 1] count_include_pad=1
g = AveragePool(s) kernel_shape=[3, 3] pads=[1, 1, 1, 1] ceil_mode=1
output d
output a
output b
output e
output f
output g
output c
EOF
cat >"$TMP/ops.clg" <<'EOF'
# BatchNorm, pooling, softmax (a row per work-item, and a work-group per
# row through local memory for l's few long rows), copies (Transpose:
# rows of 6, copy_rows; Concat of 2 inputs and of 10, two launches of
# concat8; Flatten,
# Reshape, a Slice with negative steps, Expand, Tile's wrapping variant,
# DepthToSpace in both modes, SpaceToDepth), every unary op and the
# binary ops with broadcasting (rows of 35 and 5 elements, the rows
# kernel; of 301, the general one), Pad in its three modes (with crops),
# Gather (rows of a table by int64 ids, and along the last axis), Cast
# and Trilu (upper and lower), Resize (bilinear up, nearest down,
# bicubic up with exclude_outside and down), trigonometric functions,
# ConvTranspose2D (strided, grouped, with a negative end pad and a bias),
# ArgMax and ArgMin.
input x: f32[N, 6, 7, 5]
input l: f32[N, 301]
input ids: i64[N, 3]
const s: f32[6] = random(1, 0.5, 1.5)
const b: f32[6] = random(2, -0.2, 0.2)
const m: f32[6] = random(3, -0.2, 0.2)
const v: f32[6] = random(4, 0.5, 1.5)
bn = BatchNorm(x, s, b, m, v) epsilon=0.001
mp = MaxPool(bn) kernel_shape=[3, 3] strides=[2, 2] pads=[1, 1, 1, 1] ceil_mode=1
ap = AveragePool(x) kernel_shape=[3, 2] strides=[2, 1] pads=[1, 0, 1, 1] count_include_pad=1
ap2 = AveragePool(x) kernel_shape=[2, 2] pads=[1, 1, 0, 0]
gp = GlobalAveragePool(bn)
sm = Softmax(ap) axis=1
sm2 = Softmax(x)
sl = Softmax(l)
const c301: f32[301] = random(11, -1, 1)
lb = Add(l, c301)
tr = Transpose(x) perm=[0, 2, 3, 1]
cc = Concat(x, ap2) axis=1
fl = Flatten(mp) axis=1
rs = Reshape(gp) shape=[0, -1]
sr = Slice(x) starts=[-1, 1] ends=[-100, 7] axes=[3, 2] steps=[-2, 3]
ex = Expand(gp) shape=[1, 6, 3, 4]
ti = Tile(x) repeats=[1, 2, 1, 3]
d2s = DepthToSpace(cc) blocksize=2
d2c = DepthToSpace(cc) blocksize=2 mode="CRD"
s2d = SpaceToDepth(d2c) blocksize=2
const c6: f32[6, 1, 1] = random(5, -1, 1)
const c5: f32[5] = random(6, -1, 1)
const two: f32[1] = full(2)
u1 = Sigmoid(x)
sg = Add(u1, c6)
u2 = Tanh(x)
u3 = Gelu(x)
th = Sub(u2, u3)
u4 = Gelu(x) approximate=1
gt = Mul(u4, c5)
u5 = LeakyRelu(x) alpha=0.1
lr = Div(u5, two)
u6 = Relu(x)
cl = Clip(u6) min=-0.5 max=0.5
cm = Concat(x, ap2, u6, x, ap2, u6, x, ap2, u6, x) axis=2
pz = Pad(x) pads=[0, 1, -1, 2, 0, 0, 1, -1] value=0.5
pr = Pad(x) pads=[0, 0, 2, 1, 0, 0, 1, 3] mode="reflect"
pe = Pad(x) pads=[0, 0, 1, 0, 0, 1, 0, 2] mode="edge"
tu = Trilu(x) k=1
tl = Trilu(x) upper=0 k=-2
rl = Resize(x) sizes=[9, 11] mode="linear" coordinate_transformation_mode="align_corners"
rn = Resize(x) sizes=[3, 2] nearest_mode="round_prefer_ceil"
rc = Resize(x) sizes=[13, 9] mode="cubic" cubic_coeff_a=-0.5 exclude_outside=1
rd = Resize(x) sizes=[4, 3] mode="cubic" coordinate_transformation_mode="align_corners"
tg = Elementwise(rd) expr="sin(x0) + cos(x0) + atanh(x0 * 0.5) + isnan(log(x0)) + isinf(1 / floor(x0))"
const ctw: f32[6, 2, 3, 2] = random(9)
const ctb: f32[6] = random(10)
ct = ConvTranspose2D(x, ctw, ctb) strides=[2, 3] pads=[1, 0, -1, 1] group=3
amx = ArgMax(x) axis=1
amn = ArgMin(x) axis=-1 keepdims=0 select_last_index=1
const table: f32[4, 9] = random(8)
emb = Gather(table, ids)
const gi: i32[3] = [4, -1, 0]
gl = Gather(x, gi) axis=-1
ci = Cast(gl) to="i64"
cb = Cast(x) to="bool"
output mp
output cm
output lb
output sm
output sm2
output sl
output tr
output cc
output fl
output rs
output sr
output ex
output ti
output d2s
output s2d
output sg
output th
output gt
output lr
output cl
output pz
output pr
output pe
output tu
output tl
output rl
output rn
output rc
output tg
output ct
output amx
output amn
output emb
output ci
output cb
EOF
cat >"$TMP/norm.clg" <<'EOF'
# Reductions: a work-group per innermost row (l's rows of 301, x's of 210),
# a work-item per output element (outer axes, split axes, short rows);
# LayerNorm over rows of 301 with a bias and of 35 without, in place over
# a sum, and with a residual input; LogSoftmax by a work-group per row and by a work-item per row.
input x: f32[N, 6, 7, 5]
input l: f32[N, 301]
const h: f32[1] = full(1.5)
xp = Add(x, h)
m1 = ReduceMean(l) axes=[1]
m2 = ReduceSum(x) axes=[2, 3]
m3 = ReduceMax(x) axes=[1]
m4 = ReduceLogSumExp(x) axes=[1, 3]
m5 = ReduceL2(l) axes=[1] keepdims=0
m6 = ReduceProd(xp) axes=[3]
m7 = ReduceLogSum(xp) axes=[1, 2, 3]
m8 = ReduceMin(x) axes=[2]
const g: f32[301] = random(1, 0.5, 1.5)
const gb: f32[301] = random(2)
ln1 = LayerNorm(l, g, gb)
const g2: f32[7, 5] = random(3, 0.5, 1.5)
ln2 = LayerNorm(xp, g2) axis=2
ln3 = LayerNorm(x, g2, g2, xp) axis=2
ls1 = LogSoftmax(l)
ls2 = LogSoftmax(x) axis=1
output m1
output m2
output m3
output m4
output m5
output m6
output m7
output m8
output ln1
output ln2
output ln3
output ls1
output ls2
EOF

cat >"$TMP/rank.clg" <<'EOF'
# Rank 6 and 8 paths (kernels/pad.cl, gather.cl's gather_elements,
# reduce.cl's reduce_rows (rows of 65) and reduce_strided with four kept
# and four reduced dims): tiny shapes, Oclgrind is slow.
input x6: f32[N, 2, 3, 2, 1, 3]
input x8: f32[N, 2, 2, 2, 3, 2, 2, 3]
input y6: f32[N, 2, 1, 2, 5, 13]
input y8: f32[N, 1, 2, 1, 2, 1, 5, 13]
p6 = Pad(x6) pads=[0, 1, 0, 0, 1, 2, 0, 0, 1, 1, 0, 1] value=0.25
p6r = Pad(x6) pads=[0, 0, 2, 1, 0, 1, 0, 0, 1, 0, 0, 2] mode="reflect"
p8 = Pad(x8) pads=[0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 2, 0, 1, 0] value=-1
p8e = Pad(x8) pads=[0, 0, 1, 0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 1, 1, -1] mode="edge"
const g6: i64[1, 2, 2, 2, 1, 3] = [-2, 1, 1, -2, -1, 1, 0, 2, 1, -3, 1, -3, 0, -1, 1, -2, -2, 2, 0, 1, 1, 0, 0, 2]
ge6 = GatherElements(x6, g6) axis=2
const g8: i64[1, 2, 1, 2, 1, 2, 1, 2] = [0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1]
ge8 = GatherElements(x8, g8) axis=5
r6 = ReduceSum(x6) axes=[5]
r6s = ReduceMax(x6) axes=[1, 3]
r8 = ReduceMean(x8) axes=[1, 3, 5, 7]
r8k = ReduceL2(x8) axes=[2, 4, 6] keepdims=0
r6w = ReduceLogSumExp(y6) axes=[4, 5]
r8w = ReduceMean(y8) axes=[6, 7] keepdims=0
output p6
output p6r
output p8
output p8e
output ge6
output ge8
output r6
output r6s
output r8
output r8k
output r6w
output r8w
EOF

cat >"$TMP/attention.clg" <<'EOF'
# Attention (kernels/attention.cl): query blocks and key tiles that end part
# way, a mask, batch dims that broadcast (KT shared across N), and the
# PyTorch pattern that -O2 fuses.
input q: f32[N, 2, 37, 8]
input kt: f32[2, 8, 19]
input v: f32[N, 2, 19, 5]
const m: f32[37, 19] = random(1, -3, 0)
a1 = Attention(q, kt, v, m) scale=0.35
const c: f32[1] = full(2)
qs = Div(v, c)
vt = Transpose(v) perm=[0, 1, 3, 2]
s = MatMul(qs, vt)
p = Softmax(s)
a2 = MatMul(p, v)
# Heads cut from one fused projection [S, N, 3E] (3 heads of 5) and read
# through strides (lower/attention_layout.c): at batch 2 the unfused
# products run a two-level batch and write C rows 30 apart.
input x: f32[7, N, 45]
q3 = Slice(x) starts=[0] ends=[15] axes=[-1]
k3 = Slice(x) starts=[15] ends=[30] axes=[-1]
v3 = Slice(x) starts=[30] ends=[45] axes=[-1]
q3r = Reshape(q3) shape=[0, -1, 5]
q3t = Transpose(q3r) perm=[1, 0, 2]
k3r = Reshape(k3) shape=[0, -1, 5]
k3t = Transpose(k3r) perm=[1, 2, 0]
v3r = Reshape(v3) shape=[0, -1, 5]
v3t = Transpose(v3r) perm=[1, 0, 2]
a3 = Attention(q3t, k3t, v3t) scale=0.4
a3t = Transpose(a3) perm=[1, 0, 2]
output a1
output a2
output a3t
EOF
model attention-fused "$TMP/attention.clg" 2 -O2 CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=fused
model attention-unfused "$TMP/attention.clg" 2 -O2 CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=unfused

# The variants' names from their table (CLGRAPH_GEMM ignores a name it does
# not know, so a stale list here would test the default variant instead).
variants=$(sed -n 's/^ *{"\([a-z0-9]*\)", .*/\1/p' "$(dirname "$0")/../runtime/gemm/variants.c")
[ -n "$variants" ] || fail "no GEMM variant names found in runtime/gemm/variants.c"
# CLGRAPH_VECTOR_WIDTH=16: Oclgrind's device prefers 1-wide floats, which
# would build the vector variants (d1x1v8, n1x8, n4x16, n8x16) without
# their vectors; 16 builds them as the CPUs do, so their vector loads and
# partial vectors at the edges are what is checked.
for v in $variants; do
    model "gemm-$v" "$TMP/gemm.clg" 5 -O2 CLGRAPH_GEMM=generated:$v CLGRAPH_VECTOR_WIDTH=16
done
model gemm-generated-O0 "$TMP/gemm.clg" 1 -O0 CLGRAPH_GEMM=generated
for v in generated generated:p4x64 generated:p8x32 generated:p12x32 generated:p4x64t generated:p8x32i generated:p12x32i \
    generated:l2x4pt generated:l4x4pi clblast; do
    model "conv-$v" "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=$v
done
# the pointwise convolutions on the vector variants, 16 wide as on CPUs
model conv-n8x16w "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:n8x16w CLGRAPH_VECTOR_WIDTH=16
model conv-n4x16w "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:n4x16w CLGRAPH_VECTOR_WIDTH=16
# and at the device's own width (1: the scalar kernel reads the input in
# place element by element)
model conv-n8x16w-scalar "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:n8x16w
model dw-vec "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=vec
model grouped "$TMP/grouped.clg" 2 -O2 CLGRAPH_GROUPED=kernel
model pool-rows "$TMP/pool.clg" 2 -O2 CLGRAPH_POOL=rows
# Winograd F(2x2, 3x3) and F(4x4, 3x3) (kernels/winograd.cl) on the 3x3 stride-1
# convolutions, a residual epilogue in its output transform's store; the
# others run im2col and p8x32 (what a forced path that cannot run falls
# back to)
model conv-winograd "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p8x32f
model conv-winograd4 "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p4x64g
# the direct convolution (kernels/conv_direct.cl) on both of its tiles:
# rows that end inside their 16-pixel segment, the padding written out
# first, a residual epilogue element by element in the partial segments;
# the strided and grouped ones fall back
model conv-direct "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p8x32d
model conv-direct4 "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p4x64d
model dw-rows "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=rows
model dw-blocks "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=blocks
model dw-plane "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=plane
model ops-O0 "$TMP/ops.clg" 3 -O0 CLGRAPH_GEMM=generated
model range-O0 "$TMP/range.clg" 2 -O0
model ops-O2 "$TMP/ops.clg" 3 -O2 CLGRAPH_GEMM=generated
model norm-O0 "$TMP/norm.clg" 3 -O0 CLGRAPH_GEMM=generated
model norm-O2 "$TMP/norm.clg" 3 -O2 CLGRAPH_GEMM=generated
model rank-O2 "$TMP/rank.clg" 2 -O2 CLGRAPH_GEMM=generated
model seed-generated examples/residual_mlp.clg 3 -O2 CLGRAPH_GEMM=generated
# the default choice times CLBlast and the generated variants on Oclgrind
model seed-default examples/residual_mlp.clg 2 -O2
# Half storage (vload_half/vstore_half_rte, core OpenCL 1.2: Oclgrind runs
# it): the same kernels reading and writing half buffers, within 8 of
# half's unit roundoffs (8 * 2^-11) of the fp32 reference. (ops.clg has
# int64 ids on the device, which a half precision refuses.)
PRECISION=fp16-storage
CHECK_TOL=3.9e-3
model seed-fp16-storage examples/residual_mlp.clg 3 -O2 CLGRAPH_GEMM=generated
model norm-fp16-storage "$TMP/norm.clg" 3 -O2 CLGRAPH_GEMM=generated
model conv-fp16-storage "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated
model dw-blocks-fp16-storage "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=blocks
model dw-plane-fp16-storage "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=plane
model dw-vec-fp16-storage "$TMP/dw.clg" 2 -O2 CLGRAPH_DEPTHWISE=vec
model grouped-fp16-storage "$TMP/grouped.clg" 2 -O2 CLGRAPH_GROUPED=kernel
model conv-winograd-fp16-storage "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p4x64f
model conv-direct-fp16-storage "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:p8x32d
model pool-rows-fp16-storage "$TMP/pool.clg" 2 -O2 CLGRAPH_POOL=rows
model attention-fp16-storage "$TMP/attention.clg" 2 -O2 CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=fused
model attention-unfused-fp16-storage "$TMP/attention.clg" 2 -O2 CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=unfused
PRECISION=fp32
CHECK_TOL=1e-4

# ---- device limits: the same checks on a device shrunk to 64-item
# work-groups (and 16 KiB of local memory), below the 64 that padded grids
# ask for where the kernel allows it and the 256 that reductions would take:
# every work-group size clgraph picks must come from the device's and the
# kernel's limits (CL_KERNEL_WORK_GROUP_SIZE, CL_DEVICE_MAX_WORK_ITEM_SIZES,
# local memory), never from a constant. Oclgrind fails a launch whose
# work-group is larger than --max-wgsize (CL_INVALID_WORK_GROUP_SIZE).
OPTIONS_GPU=$OPTIONS
OPTIONS=$(echo "$OPTIONS" | sed 's/--max-wgsize 256 --local-mem-size 32768/--max-wgsize 64 --local-mem-size 16384/')
model wg64-norm-O2 "$TMP/norm.clg" 3 -O2 CLGRAPH_GEMM=generated
model wg64-ops-O2 "$TMP/ops.clg" 3 -O2 CLGRAPH_GEMM=generated
model wg64-rank-O2 "$TMP/rank.clg" 2 -O2 CLGRAPH_GEMM=generated
model wg64-attention-fused "$TMP/attention.clg" 2 -O2 CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=fused
model wg64-conv-generated "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated
model wg64-seed-generated examples/residual_mlp.clg 3 -O2 CLGRAPH_GEMM=generated
# the default path at batch 3: the dense-chain kernel (one work-group of
# the device's size, every activation in local memory)
model wg64-seed-default examples/residual_mlp.clg 3 -O2
# The work-group GEMM variants (kernels/gemm_local.cl) halve their 16 x 16
# items to 8 x 8 here: smaller tiles, the same checks (with the
# convolution as written: im2col_panel's packed B, the NCHW store by
# columns; the flipped and implicit forms ran above). Their convolution
# runs cost ~3 minutes each on a loaded machine (a 64-wide tile of 5 output
# channels simulates mostly idle work-items): two in all.
model wg64-gemm-l4x4 "$TMP/gemm.clg" 5 -O2 CLGRAPH_GEMM=generated:l4x4
model wg64-gemm-l4x4p "$TMP/gemm.clg" 5 -O2 CLGRAPH_GEMM=generated:l4x4p
model wg64-conv-l2x4p "$TMP/conv.clg" 2 -O2 CLGRAPH_GEMM=generated:l2x4p
# and at 256-item work-groups in 16 KiB of local memory (they stage 6.3-8.3 KiB)
OPTIONS=$(echo "$OPTIONS_GPU" | sed 's/--local-mem-size 32768/--local-mem-size 16384/')
model wg256-16k-gemm-l2x4p "$TMP/gemm.clg" 5 -O2 CLGRAPH_GEMM=generated:l2x4p
# A work-group kernel whose group of one item does not fit the local memory
# (attention's K and V tiles need 52 bytes here): a clean error at create
# naming the node and both sizes, not a failed launch.
OPTIONS="--check-api --max-wgsize 64 --local-mem-size 48"
runs=$((runs + 1))
grind tiny-local "$SHIM" CLGRAPH_GEMM=generated CLGRAPH_ATTENTION=fused -- "$CLI" run "$TMP/attention.clg" --batch 2 -O2
rc=$?
if [ "$rc" -eq 0 ] || ! grep -q "node a1 (Attention): kernel attention needs a work-group of 1 items" "$TMP/tiny-local.out"; then
    fail "tiny-local: attention with 48 bytes of local memory: exit $rc, not the error expected"
    tail -n 5 "$TMP/tiny-local.out"
else
    echo "tiny-local: $(tail -n 1 "$TMP/tiny-local.out")"
fi
OPTIONS=$OPTIONS_GPU

# ---- every kernel family ran
echo "kernels launched (clgraph's and CLBlast's):"
sort "$KERNELS" | uniq -c | sed 's/^/  /'
for k in gemm gemm_local pack_b im2col_rows im2col_panel pad_planes gemm_to_nchw elementwise elementwise_rows elementwise_dense depthwise batchnorm maxpool maxpool_rows averagepool_rows \
    wino_weights wino_input wino_output direct_weights conv_direct conv_grouped \
    averagepool globalaveragepool softmax softmax_group copy_strided copy_rows pad \
    reduce_rows reduce_strided concat8 layernorm gather gather_elements cast attention trilu resize conv_transpose argmax \
    range dense_chain; do
    grep -qx "$k" "$KERNELS" || fail "kernel $k never ran"
done

echo "$runs model runs under Oclgrind, $failed failures"
[ "$failed" -eq 0 ]
