#!/bin/sh
# fp32 against fp16-storage (and fp16 where the device has cl_khr_fp16):
# `clgraph bench --json` per model, device and precision, interleaved
# (every configuration once per round, ROUNDS rounds) so that a moment of
# load on a shared machine falls on all of them alike. Prints one line per
# run: model device precision median_ms activation_bytes weight_bytes.
#
#   bench/precision.sh [ROUNDS]      (from the repository root, after a build;
#                                     DEVICES="0" for one device, default "0 1")
set -eu
ROUNDS=${1:-2}
CLI=${CLI:-build/clgraph}
run() { # model-file device precision extra-args...
    f=$1 d=$2 p=$3
    shift 3
    out=$(CLGRAPH_DEVICE=$d "$CLI" bench "$f" --precision "$p" --json --iters 15 --warmup 3 "$@" 2>/dev/null) || {
        echo "$(basename "$(dirname "$f")") dev$d $p refused"; return 0; }
    echo "$out" | awk -v m="$(basename "$(dirname "$f")")" -v d="dev$d" -v p="$p" -F': ' '
        /latency_ms_median/ { sub(/,/, "", $2); lat = $2 }
        /activation_bytes/ { sub(/,/, "", $2); act = $2 }
        /"weight_bytes/ { sub(/,/, "", $2); w = $2 }
        END { printf "%s %s %s %.3f %d %d\n", m, d, p, lat, act, w }'
}
for r in $(seq "$ROUNDS"); do
    for spec in "tests/fixtures/resnet18_narrow/model.onnx --batch 16" \
                "tests/fixtures/tv_mobilenet_v2/model.onnx --batch 8" \
                "tests/fixtures/encoder_stack/model.onnx --batch 8 --dim S=64"; do
        # shellcheck disable=SC2086
        set -- $spec
        f=$1
        shift
        for d in ${DEVICES:-0 1}; do
            for p in fp32 fp16-storage fp16; do
                [ "$p" = fp16 ] && [ "$d" = 1 ] && continue # PoCL's CPU device has no cl_khr_fp16
                run "$f" "$d" "$p" "$@"
            done
        done
    done
done
