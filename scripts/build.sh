#!/usr/bin/env bash
# Configures and builds one configuration: build.sh DIR [cmake options...]
set -euo pipefail
dir=$1; shift
cmake -S . -B "$dir" -DCLGRAPH_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
