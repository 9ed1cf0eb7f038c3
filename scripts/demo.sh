#!/usr/bin/env bash
# Installs what is missing, builds, and runs the example model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release >/dev/null
./build/clgraph run examples/residual_mlp.clg --batch 1 "$@"
