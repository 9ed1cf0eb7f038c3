#!/bin/bash
# Cold and warm start-up of `clgraph run` (process start to first result,
# batch 1): each run gets a fresh pair of empty cache directories
# (CLGRAPH_CACHE_DIR and POCL_CACHE_DIR), runs MODEL twice (cold, then
# warm) and prints both wall times and how many program binaries the cold
# run left. Pass several CLGRAPH binaries to compare builds interleaved.
#   bench/cold_start.sh DEVICE MODEL CLGRAPH [CLGRAPH...]
# Environment passes through (CLGRAPH_GEMM=measure, CLGRAPH_BUILD_THREADS=1,
# CLGRAPH_LOG=builds to list each program's compile time on stderr).
set -u
dev=$1 model=$2
shift 2
for bin in "$@"; do
    d=$(mktemp -d "${TMPDIR:-/tmp}/clg_cold.XXXXXX") || exit 1
    mkdir -p "$d/clg" "$d/pocl"
    t0=$(date +%s.%N)
    CLGRAPH_CACHE_DIR=$d/clg POCL_CACHE_DIR=$d/pocl "$bin" run "$model" --device "$dev" >/dev/null
    t1=$(date +%s.%N)
    CLGRAPH_CACHE_DIR=$d/clg POCL_CACHE_DIR=$d/pocl "$bin" run "$model" --device "$dev" >/dev/null 2>&1
    t2=$(date +%s.%N)
    echo "$bin $(basename "$model") $dev: cold $(echo "$t1 - $t0" | bc) s, warm $(echo "$t2 - $t1" | bc) s," \
         "$(ls "$d/clg" | grep -c '\.bin$') programs, load $(cut -d' ' -f1 /proc/loadavg)"
    rm -rf "$d"
done
