#!/bin/sh
# Tests the clgraph command-line tool: test_cli.sh PATH/TO/clgraph
# Run from the source directory (ctest does); needs only POSIX sh and awk.
set -u
CLI=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/clgraph_cli.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
# The cache checks below are of the default policy (scripts/test.sh turns
# binaries off for the other tests); they set it where they test it.
unset CLGRAPH_SAVE_BINARIES
MLP=examples/residual_mlp.clg
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL: $*" >&2
    if [ -s "$TMP/out" ]; then sed 's/^/  stdout: /' "$TMP/out" >&2; fi
    if [ -s "$TMP/err" ]; then sed 's/^/  stderr: /' "$TMP/err" >&2; fi
}

# run EXPECTED_STATUS ARGS...: runs the CLI, output in $TMP/out and $TMP/err.
run() {
    want=$1
    shift
    "$CLI" "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "clgraph $* exited $got, expected $want"; fi
}

# has FILE PATTERN: FILE has a line matching the basic regex PATTERN.
has() {
    if grep -q -e "$2" "$TMP/$1"; then ok; else bad "$1 has no line matching '$2'"; fi
}

# ---- check
run 0 check "$MLP"
has out '^ *0  x  *Input  *f32\[N, 128\]$'
has out '^ *1  w1  *Constant  *f32\[128, 128\]$'
has out '^ *22  logits  *Gemm  *f32\[N, 10\]$'
has out '^ *23  y  *Softmax  *f32\[N, 10\]$'
has out '^24 nodes, 1 input, 1 output, 35338 parameters$'

# ---- print: the canonical form of the example is the example without its comments
run 0 print "$MLP"
grep -v '^#' "$MLP" >"$TMP/expected"
if cmp -s "$TMP/expected" "$TMP/out"; then ok; else bad "print $MLP differs from the file without comments"; fi
cp "$TMP/out" "$TMP/printed.clg"
run 0 print "$TMP/printed.clg"
if cmp -s "$TMP/printed.clg" "$TMP/out"; then ok; else bad "print is not idempotent"; fi

# ---- errors in the graph exit 1 with the library's message
printf 'input x: f32[N, 4]\ny = Relu(x)\nz = Frobnicate(y)\noutput z\n' >"$TMP/bad.clg"
run 1 check "$TMP/bad.clg"
has err '^clgraph: .*line 3: .*Frobnicate'
run 1 print "$TMP/bad.clg"
has err 'line 3'
run 1 check "$TMP/does-not-exist.clg"
has err '^clgraph: .*does-not-exist.clg'

# ---- usage errors exit 2 and name what is wrong
run 2
has err 'usage: clgraph'
run 2 frobnicate
has err "unknown command 'frobnicate'"
run 2 --frobnicate
has err "unknown option '--frobnicate'"
run 2 check
has err 'check needs a FILE'
run 2 check "$MLP" "$MLP"
run 2 print
run 2 run
has err 'run needs a FILE'
run 2 run "$MLP" --frobnicate
has err "unknown option '--frobnicate'"
run 2 run "$MLP" --input
has err 'option --input needs a value'
run 2 run "$MLP" --batch 0
has err "'0' is not a positive integer"
run 2 run "$MLP" --batch 3x
run 2 run "$MLP" --batch 2 --input tests/data/npy/mlp_x_b3.npy
has err '--batch and --dim apply to generated inputs'
run 2 run "$MLP" "$MLP"

# ---- symbolic sizes other than the batch: --dim gives them
SEQ=tests/data/valid/sequence_sizes.clg
run 0 check "$SEQ"
has out '^ *0  x  *Input  *f32\[N, S, 8\]$'
has out 'flat  *Reshape  *f32\[N\*S, S\]$'
run 0 run "$SEQ" --device ref --batch 2 --dim S=5
has out 'input x: f32\[2, 5, 8\]'
has out 'output flat: f32\[10, 5\]'
run 0 run "$SEQ" --dim S=3 --check
has out 'check flat: max abs error'
run 1 run "$SEQ" --device ref
has err 'input x: dimension 1 is S; give its size with --dim S=SIZE'
run 2 run "$SEQ" --dim S
has err '--dim takes NAME=SIZE'
run 2 run "$SEQ" --dim S=2 --dim S=3
has err 'the size of S is given twice'

# ---- help and version
run 0 help
has out 'usage: clgraph'
run 0 --version
has out '^clgraph [0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*$'

# ---- run: errors found before running
run 1 run "$MLP" --device no-such-device
has err "no OpenCL device matches 'no-such-device'"
run 1 run "$MLP" --input tests/data/npy/mlp_x_bad.npy
has err 'mlp_x_bad.npy: shape (3, 64) does not match input x: f32\[N, 128\]'
run 1 run "$MLP" --input tests/data/npy/f64.npy
has err "dtype '<f8' (float64) is not supported"
run 1 run "$MLP" --input tests/data/npy/mlp_x_b3.npy --input tests/data/npy/mlp_x_b3.npy
has err 'the graph has 1 input, but 2 --input files were given'

# ---- run end to end, once the reference executor is there
"$CLI" run "$MLP" >"$TMP/out" 2>"$TMP/err"
if [ $? -ne 0 ] && grep -q 'not written yet' "$TMP/err"; then
    echo "test_cli: the reference executor is not written yet; skipping the run checks"
else
    run 0 run "$MLP" --batch 2 --device ref
    has out '^input x: f32\[2, 128\] random'
    has out '^device: reference executor (host)$'
    has out '^output y: f32\[2, 10\]$'
    has out '^  \[1\]'

    y="$TMP/y.npy"
    run 0 run "$MLP" --input tests/data/npy/mlp_x_b3.npy --output "$y" --device ref
    has out "^output y: f32\[3, 10\] written to $y\$"
    # A version 1.0 header padded to 128 bytes, then 3 x 10 floats.
    size=$(wc -c <"$y" | tr -d ' ')
    if [ "$size" -eq 248 ]; then ok; else bad "$y has $size bytes, expected 248"; fi
    magic=$(head -c 6 "$y" | tail -c 5)
    header=$(head -c 128 "$y" | tail -c 118)
    if [ "$magic" = NUMPY ] && [ "$(echo "$header" | sed 's/ *$//')" = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 10), }" ]; then
        ok
    else
        bad "$y does not have numpy's header for (3, 10) float32"
    fi

    # On the default device (reference when the machine has no OpenCL),
    # --check compares with the reference executor.
    run 0 run "$MLP" --batch 3 --check
    has out '^device: '
    if grep -q '^device: reference' "$TMP/out"; then ok; else has out '^check y: max abs error'; fi

    # Read the softmax back with the CLI itself: each row must sum to 1.
    printf 'input y: f32[N, 10]\nconst ones: f32[10, 1] = ones\ns = MatMul(y, ones)\noutput s\n' >"$TMP/rowsum.clg"
    run 0 run "$TMP/rowsum.clg" --input "$y"
    has out '^output s: f32\[3, 1\]$'
    if awk '/^  min / { found = 1; if ($2 < 1 - 1e-5 || $4 > 1 + 1e-5) bad = 1 }
            END { exit !(found && !bad) }' "$TMP/out"; then
        ok
    else
        bad "the rows of the softmax do not sum to 1 within 1e-5"
    fi
    run 0 run "$TMP/rowsum.clg" --input "$y" --output "$TMP/s.npy"
    size=$(wc -c <"$TMP/s.npy" | tr -d ' ')
    if [ "$size" -eq 140 ]; then ok; else bad "s.npy has $size bytes, expected 140"; fi

    # f16 inputs and outputs: '<f2' files in and out, random halves without.
    printf 'input x: f16[N, 3]\ny = Mul(x, x)\nh = Cast(y) to="f16"\nz = Mul(h, y)\noutput h\noutput z\n' >"$TMP/half.clg"
    run 0 run "$TMP/half.clg" --input tests/data/npy/f16.npy --output "$TMP/h.npy" --output "$TMP/z.npy" --device ref
    has out '^input x: f16\[2, 3\] from tests/data/npy/f16.npy$'
    has out "^output h: f16\[2, 3\] written to $TMP/h.npy\$"
    has out "^output z: f32\[2, 3\] written to $TMP/z.npy\$"
    header=$(head -c 128 "$TMP/h.npy" | tail -c 118)
    if [ "$(echo "$header" | sed 's/ *$//')" = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }" ]; then
        ok
    else
        bad "h.npy does not have numpy's header for (2, 3) float16"
    fi
    size=$(wc -c <"$TMP/h.npy" | tr -d ' ')
    if [ "$size" -eq 140 ]; then ok; else bad "h.npy has $size bytes, expected 140"; fi
    # 2.5^2 = 6.25 exactly; 65504^2 rounds to inf; (6e-8)^2 to 0
    run 0 run "$TMP/half.clg" --input tests/data/npy/f16.npy --device ref
    has out '^  \[0\] 0 6.25 inf$'
    run 0 run "$TMP/half.clg" --batch 2 --device ref
    has out '^input x: f16\[2, 3\] random uniform'

    run 1 run "$MLP" --output "$TMP/no/such/dir/y.npy"
    has err 'cannot create'
    run 1 run "$MLP" --output "$TMP/a.npy" --output "$TMP/b.npy"
    has err 'the graph has 1 output, but 2 --output files were given'
fi

# ---- compile: optimize, write text + sidecar, load and run again
run 0 compile "$MLP" -O2 -o "$TMP/opt.clg" --dot "$TMP/before.dot" "$TMP/after.dot"
has err '24 nodes -> 11 nodes'
if [ -s "$TMP/opt.clg.bin" ] && grep -q '^weights "opt.clg.bin"$' "$TMP/opt.clg"; then ok; else bad "no sidecar written"; fi
if grep -q 'BatchNorm' "$TMP/opt.clg"; then bad "BatchNorm left after -O2"; else ok; fi
if grep -q 'digraph' "$TMP/before.dot" && grep -q 'epilogue: relu' "$TMP/after.dot"; then ok; else bad "dot files"; fi
run 0 run "$TMP/opt.clg" --batch 3 --device ref
has out '^output y: f32\[3, 10\]$'
run 0 compile "$MLP" --dump-after fold-batchnorm
has out '^# ---- after fold-batchnorm$'
run 2 compile "$MLP" --dump-after no-such-pass
has err "no pass 'no-such-pass'"
run 2 compile "$MLP" -O3
has err "optimization level '3' is not 0, 1 or 2"
run 2 run "$MLP" -O
run 2 run "$MLP" --precision half
has err "precision 'half' is not fp32, fp16 or fp16-storage"
run 2 bench "$MLP" --precision
has err 'needs a value'
# --precision fp16-storage: half buffers on any device, the same outputs
# within half's rounding (--check's relative error, at most 8 * 2^-11)
if ! "$CLI" devices 2>/dev/null | grep -q '^no OpenCL devices'; then
    run 0 run "$MLP" --batch 3 --precision fp16-storage --check
    awk '/^check / { v = $0; sub(/.*\(/, "", v); sub(/ relative.*/, "", v); n++; if (!(v + 0 <= 3.9e-3)) bad = 1 }
         END { exit bad || !n }' "$TMP/out" && ok || bad "run --precision fp16-storage --check: error past 3.9e-3"
    run 0 bench "$MLP" --batch 2 --iters 2 --precision fp16-storage --json
    has out '"precision": "fp16-storage"'
    # a bundle records the precision (format version 3): run at it, within half's bound
    run 0 compile "$MLP" --bundle -o "$TMP/half.clgb" --precision fp16-storage
    run 0 run "$TMP/half.clgb" --batch 3 --check
    awk '/^check / { v = $0; sub(/.*\(/, "", v); sub(/ relative.*/, "", v); n++; if (!(v + 0 <= 3.9e-3) || v + 0 == 0) bad = 1 }
         END { exit bad || !n }' "$TMP/out" && ok || bad "run half.clgb --check: error 0 (not half) or past 3.9e-3"
    # bench reports the precision the bundle runs at, not the CLI's default
    run 0 bench "$TMP/half.clgb" --batch 2 --iters 2 --json
    has out '"precision": "fp16-storage"'
    has out '"bundle": true'
    run 0 bench "$TMP/half.clgb" --batch 2 --iters 2
    has out '^batch: *2 (bundle, fp16-storage)$'
    # a bundle runs as compiled: -O and --precision are refused, not ignored
    run 2 run "$TMP/half.clgb" --precision fp32
    has err '^clgraph: --precision does not apply to a bundle'
    run 2 bench "$TMP/half.clgb" -O1
    has err '^clgraph: -O1 does not apply to a bundle'
fi

# ---- compile --bundle: an AOT bundle run and benched on a fresh cache
# directory (the outputs are the model's: the same numbers as the .clg run)
run 2 compile "$MLP" --bundle
has err '\-\-bundle needs -o'
run 2 compile "$MLP" --device 0 -o "$TMP/x.clg"
has err 'need --bundle'
if ! "$CLI" devices 2>/dev/null | grep -q '^no OpenCL devices'; then
    run 0 compile "$MLP" -O2 --bundle -o "$TMP/mlp.clgb" --batch 3
    has err 'bundle for .* written to'
    run 0 run "$MLP" --batch 3 --output "$TMP/from_clg.npy"
    run 0 run "$TMP/mlp.clgb" --batch 3 --cache-dir "$TMP/bundle-cache" --check --output "$TMP/from_bundle.npy"
    has out '^check y: max abs error'
    if cmp -s "$TMP/from_clg.npy" "$TMP/from_bundle.npy"; then ok; else bad "the bundle's output differs from the model's"; fi
    if [ -s "$TMP/err" ]; then bad "loading the bundle on its own device printed a note"; else ok; fi
    run 0 bench "$TMP/mlp.clgb" --iters 2 --cache-dir "$TMP/bundle-cache2"
    has out '^latency:'
    head -c 100 "$TMP/mlp.clgb" >"$TMP/cut.clgb"
    run 1 run "$TMP/cut.clgb"
    has err 'truncated'
fi

# ---- integer inputs: int64 token ids from a .npy file through Gather; an
# integer output (a Cast) written as an int32 .npy file
{
    printf 'input ids: i64[N, 4]\n'
    printf 'const table: f32[10, 3] = ['
    r=0
    while [ $r -lt 10 ]; do
        printf '%s%d, %d, %d' "$([ $r -gt 0 ] && echo ', ')" $((r * 10)) $((r * 10 + 1)) $((r * 10 + 2))
        r=$((r + 1))
    done
    printf ']\n'
    printf 'emb = Gather(table, ids)\nidc = Cast(ids) to="i32"\noutput emb\noutput idc\n'
} >"$TMP/emb.clg"
# npy_i64 FILE V...: a (2, 4) int64 .npy file as numpy.save writes it.
npy_i64() {
    f=$1
    shift
    {
        printf '\223NUMPY\001\000\166\000'
        printf "%-117s\n" "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 4), }"
        for v in "$@"; do
            if [ "$v" -lt 0 ]; then v=$((v + 256)); fill='\377'; else fill='\000'; fi
            printf "\\$(printf '%03o' "$v")$fill$fill$fill$fill$fill$fill$fill"
        done
    } >"$f"
}
npy_i64 "$TMP/ids.npy" 1 2 3 9 0 -1 5 -10
npy_i64 "$TMP/ids_bad.npy" 1 2 3 10 0 0 0 0
run 0 run "$TMP/emb.clg" --device ref --input "$TMP/ids.npy"
has out '^input ids: i64\[2, 4\] from '
has out '^output emb: f32\[2, 4, 3\]$'
has out '^  first 10 of 24: 10 11 12 20 21 22 30 31 32 90$'
has out '^output idc: i32\[2, 4\]$'
has out '^  \[0\] 1 2 3 9$'
has out '^  \[1\] 0 -1 5 -10$'
run 0 run "$TMP/emb.clg" --device ref --input "$TMP/ids.npy" --output "$TMP/emb.npy" --output "$TMP/idc.npy"
has out '^output idc: i32\[2, 4\] written to '
if grep -q "'descr': '<i4'" "$TMP/idc.npy"; then ok; else bad "idc.npy is not an int32 .npy file"; fi
run 1 run "$TMP/emb.clg" --device ref --input "$TMP/ids_bad.npy"
has err 'node emb (Gather): index 10 (element 3 of .ids.) is out of range for dimension 0 of size 10'
sed 's/i64\[N/i32[N/' "$TMP/emb.clg" >"$TMP/emb32.clg"
run 1 run "$TMP/emb32.clg" --device ref --input "$TMP/ids.npy"
has err "dtype '<i8' (i64) does not match input ids: i32\[N, 4\]"

# ---- devices and bench (bench needs an OpenCL device)
run 0 devices
if grep -q '^no OpenCL devices' "$TMP/out"; then
    ok
    run 1 bench "$MLP"
else
    has out '^\*[0-9]'
    run 0 bench "$MLP" --batch 4 --iters 3 --warmup 1 --json --profile
    for field in device batch latency_ms_median latency_ms_p90 inferences_per_s \
                 launches_per_inference activation_bytes weight_bytes prepared_bytes build_ms upload_ms profile; do
        has out "^  \"$field\": "
    done
    has out '"batch": 4,'
    run 0 bench "$MLP" --iters 2
    has out '^latency: *median'
    # Context settings as options: a cache directory of our own fills with
    # program binaries; '' keeps nothing on disk; a kernel directory (a copy
    # of kernels/) whose elementwise.cl cannot build fails the run with the
    # build log.
    run 0 run "$MLP" -O0 --cache-dir "$TMP/cache/a"
    if ls "$TMP/cache/a" | grep -q '\.bin$'; then ok; else bad "--cache-dir $TMP/cache/a holds no program binary"; fi
    run 0 bench "$MLP" --iters 1 --warmup 0 --cache-dir '' --gemm clblast
    # A first run says on stderr that it compiles (one line, how many
    # programs; stderr is no terminal here); --verbose names each program
    # with its time; a warm run builds nothing and says nothing of it.
    # Batch 64: at batch 1 the whole model is one dense-chain program.
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/b"
    has err '^clgraph: compiling [0-9][0-9]* OpenCL programs for this device'
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/b" --verbose
    has err '^clgraph: loaded gemm.cl'
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/b"
    if grep -q 'compiling\|loaded\|built\|saving' "$TMP/err"; then bad "a warm run reported builds"; else ok; fi
    # Binaries reach the cache when CLGRAPH_SAVE_BINARIES says (by default
    # at the context's end on PoCL, after the build elsewhere): saved at
    # the end, the CLI says so after the results; never leaves none; an
    # unknown value fails naming it.
    export CLGRAPH_SAVE_BINARIES=destroy
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/d"
    has err '^clgraph: saving [0-9][0-9]* compiled programs in the cache (once)$'
    if ls "$TMP/cache/d" | grep -q '\.bin$'; then ok; else bad "saving at the end left no binary"; fi
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/d"
    if grep -q 'saving' "$TMP/err"; then bad "a warm run saved binaries"; else ok; fi
    export CLGRAPH_SAVE_BINARIES=build
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/e"
    if grep -q 'saving' "$TMP/err"; then bad "binaries saved after the build were announced at the end"; else ok; fi
    if ls "$TMP/cache/e" | grep -q '\.bin$'; then ok; else bad "saving after the build left no binary"; fi
    export CLGRAPH_SAVE_BINARIES=never
    run 0 run "$MLP" --batch 64 --cache-dir "$TMP/cache/f"
    if ls "$TMP/cache/f" | grep -q '\.bin$'; then bad "CLGRAPH_SAVE_BINARIES=never left a binary"; else ok; fi
    export CLGRAPH_SAVE_BINARIES=later
    run 1 run "$MLP" --cache-dir "$TMP/cache/f"
    has err "^clgraph: CLGRAPH_SAVE_BINARIES 'later': expected build, destroy or never$"
    unset CLGRAPH_SAVE_BINARIES
    mkdir "$TMP/kernels"
    cp kernels/*.cl "$TMP/kernels/" # a kernel directory stands in for every kernels/ file
    printf '#error clg-cli-kernel-dir\n' >"$TMP/kernels/elementwise.cl"
    run 1 run "$MLP" -O0 --cache-dir '' --kernel-dir "$TMP/kernels"
    has err 'clg-cli-kernel-dir'
    run 1 run "$MLP" --kernel-dir "$TMP/no-such-dir"
    has err "^clgraph: kernel directory $TMP/no-such-dir"
    run 1 bench "$MLP" --iters 1 --gemm fastest
    has err "^clgraph: gemm option 'fastest'"
    run 1 run "$MLP" --gemm generated:nosuch
    has err 'no variant nosuch'
fi
run 2 run "$MLP" --gemm
has err 'option --gemm needs a value'
run 2 bench "$MLP" --cache-dir
run 2 tune --kernel-dir "$TMP"
run 2 bench "$MLP" --device ref
run 2 bench "$MLP" --iters 0
run 2 devices extra

echo "test_cli: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
