#!/usr/bin/env bash
# Installs what is missing, builds the plain and the AddressSanitizer+UBSan
# configurations with -Werror, runs every test in both, then fuzzes each
# fuzz harness for 60 s (fuzz/run.sh; any crash fails).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== plain build"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2)

echo "== AddressSanitizer + UBSan build"
bash scripts/build.sh build-asan -DCLGRAPH_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# PoCL and LLVM leak at exit by design; suppress those libraries only.
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
(cd build-asan && ctest --output-on-failure -j2)

echo "== fuzzing (libFuzzer + ASan + UBSan, 60 s per harness)"
bash fuzz/run.sh 60
