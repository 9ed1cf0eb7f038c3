#!/usr/bin/env bash
# Installs what is missing, builds, and runs the example model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The library and the CLI only: the demo needs no tests (scripts/test.sh
# turns them on again in the same folder).
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DCLGRAPH_TESTS=OFF >/dev/null
./build/clgraph run examples/residual_mlp.clg --batch 1 "$@"
