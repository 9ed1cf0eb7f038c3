#!/usr/bin/env python3
"""Two clgraph builds on the same models, interleaved: `clgraph bench --json`
of each, round after round in alternating order, so machine noise hits both
alike. Round 0 warms the caches (PoCL's kernels, each build's own GEMM
choices) and is not counted.

usage: bench/compare_builds.py [--rounds R] [--iters K] [--tuning-from DIR] BEFORE AFTER MODEL:BATCH[@DEVICE] ...

BEFORE and AFTER are clgraph binaries (e.g. from a `git worktree` of the
older commit). MODEL is a file `clgraph bench` reads, or mlp:BLOCKS:WIDTH for
the residual MLP of tests/models.c (Dense, ReLU, BatchNorm, Dense,
BatchNorm, add, ReLU per block, then Dense(10) and Softmax), written to a
temporary file. Each build gets its own CLGRAPH_CACHE_DIR, empty but for
the `clgraph tune` files (tuning-*.txt) copied from DIR when given. @DEVICE
runs that case with `--device DEVICE` (e.g. `...:1@0 ...:1@1` interleaves two
devices in the one run). Prints a
Markdown table: median over rounds of each build's median latency, its p90,
launches, activation bytes and the after/before latency ratio."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def mlp_text(blocks, width):
    seed = [100]

    def nxt():
        seed[0] += 1
        return seed[0] - 1

    lines = [f"input x: f32[N, {width}]"]

    def dense(out, inp, in_w, out_w, scale):
        lines.append(f"const {out}_w: f32[{out_w}, {in_w}] = random({nxt()}, {-scale:g}, {scale:g})")
        lines.append(f"const {out}_b: f32[{out_w}] = random({nxt()}, -0.1, 0.1)")
        lines.append(f"{out} = Gemm({inp}, {out}_w, {out}_b) transB=1")

    def batchnorm(out, inp, ch):
        lines.append(f"const {out}_s: f32[{ch}] = random({nxt()}, 0.5, 1.5)")
        lines.append(f"const {out}_b: f32[{ch}] = random({nxt()}, -0.2, 0.2)")
        lines.append(f"const {out}_m: f32[{ch}] = random({nxt()}, -0.2, 0.2)")
        lines.append(f"const {out}_v: f32[{ch}] = random({nxt()}, 0.5, 1.5)")
        lines.append(f"{out} = BatchNorm({inp}, {out}_s, {out}_b, {out}_m, {out}_v) epsilon=0.001")

    prev = "x"
    for i in range(blocks):
        dense(f"b{i}_d1", prev, width, width, 1.7 / width ** 0.5)
        lines.append(f"b{i}_r1 = Relu(b{i}_d1)")
        batchnorm(f"b{i}_bn1", f"b{i}_r1", width)
        dense(f"b{i}_d2", f"b{i}_bn1", width, width, 0.3 / width ** 0.5)
        batchnorm(f"b{i}_bn2", f"b{i}_d2", width)
        lines.append(f"b{i}_sum = Add(b{i}_bn2, {prev})")
        lines.append(f"b{i}_out = Relu(b{i}_sum)")
        prev = f"b{i}_out"
    dense("logits", prev, width, 10, 1.0 / width ** 0.5)
    lines.append("y = Softmax(logits)")
    lines.append("output y")
    return "\n".join(lines) + "\n"


def run(binary, model, batch, iters, cache, device):
    env = dict(os.environ, CLGRAPH_CACHE_DIR=cache)
    env.pop("CLGRAPH_GEMM", None)
    cmd = [binary, "bench", model, "--batch", str(batch), "--iters", str(iters), "--json"]
    if device is not None:
        cmd += ["--device", device]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def latency(ms):
    return f"{ms * 1000:.1f} µs" if ms < 1 else f"{ms:.3f} ms"


def main():
    args = sys.argv[1:]
    rounds, iters, tuning_from = 5, 30, None
    while args and args[0].startswith("--"):
        if args[0] == "--rounds":
            rounds = int(args[1])
        elif args[0] == "--iters":
            iters = int(args[1])
        elif args[0] == "--tuning-from":
            tuning_from = args[1]
        else:
            sys.exit(__doc__)
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    builds = {"before": os.path.abspath(args[0]), "after": os.path.abspath(args[1])}
    tmp = tempfile.mkdtemp(prefix="clgraph-compare-")
    caches = {k: os.path.join(tmp, "cache-" + k) for k in builds}
    for c in caches.values():
        os.makedirs(c)
        for name in os.listdir(tuning_from) if tuning_from else []:
            if name.startswith("tuning-") and name.endswith(".txt"):
                shutil.copy(os.path.join(tuning_from, name), c)
    cases = []
    for spec in args[2:]:
        device = None
        if "@" in spec:
            spec, device = spec.rsplit("@", 1)
        model, batch = spec.rsplit(":", 1)
        label = model
        if model.startswith("mlp:"):
            _, blocks, width = model.split(":")
            label = f"{blocks}-block MLP, width {width}"
            model = os.path.join(tmp, f"mlp-{blocks}-{width}.clg")
            with open(model, "w") as f:
                f.write(mlp_text(int(blocks), int(width)))
        cases.append((label, model, int(batch), device))
    res = {}
    for r in range(rounds + 1):
        order = list(builds) if r % 2 == 0 else list(reversed(builds))
        for label, model, batch, device in cases:
            for k in order:
                out = run(builds[k], model, batch, iters, caches[k], device)
                if r > 0:
                    res.setdefault((label, batch, device, k), []).append(out)
        print(f"round {r}/{rounds}", file=sys.stderr)
    print(f"Medians over {rounds} interleaved rounds of `clgraph bench --json --iters {iters}` (the median "
          "latency of each run; p90 likewise the median of the runs' p90).\n")
    print("| model | batch | device | before: median | p90 | launches | after: median | p90 | launches | "
          "activation bytes (before / after) | after / before |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, model, batch, device in cases:
        cells = {}
        for k in builds:
            rs = res[(label, batch, device, k)]
            cells[k] = (statistics.median(x["latency_ms_median"] for x in rs),
                        statistics.median(x["latency_ms_p90"] for x in rs),
                        rs[-1]["launches_per_inference"], rs[-1]["activation_bytes"])
        b, a = cells["before"], cells["after"]
        name = res[(label, batch, device, "after")][-1]["device"].split(" (")[0]
        print(f"| {label} | {batch} | {name} | {latency(b[0])} | {latency(b[1])} | {b[2]} | {latency(a[0])} | "
              f"{latency(a[1])} | {a[2]} | {b[3]:,} / {a[3]:,} | {a[0] / b[0]:.2f} |")


if __name__ == "__main__":
    main()
