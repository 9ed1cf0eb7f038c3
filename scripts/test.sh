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
# LeakSanitizer's own tracer sometimes dies at exit under load ("Tracer
# caught signal 11", seen about once in a dozen runs of the PoCL tests, with
# no leak behind it). Only failures that all show that message are run once
# more; any other failure, or a second failure, fails the run.
if ! (cd build-asan && ctest --output-on-failure -j2); then
  log=build-asan/Testing/Temporary/LastTest.log
  failed=$(grep -c "Test Failed" "$log" || true)
  tracer=$(grep -c "Tracer caught signal" "$log" || true)
  if [ "$failed" -gt 0 ] && [ "$tracer" -ge "$failed" ]; then
    echo "== rerunning $failed test(s) that failed only in LeakSanitizer's tracer"
    (cd build-asan && ctest --output-on-failure --rerun-failed)
  else
    exit 1
  fi
fi

echo "== fuzzing (libFuzzer + ASan + UBSan, 60 s per harness)"
bash fuzz/run.sh 60
