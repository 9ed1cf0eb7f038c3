#!/usr/bin/env python3
"""Generated GEMM kernels vs CLBlast through `clgraph bench` (bench/README.md,
"Small GEMMs: generated kernels vs CLBlast").

Runs each model with CLGRAPH_GEMM=clblast (before) and with the measured
choice (after: no CLGRAPH_GEMM, choice file in CLGRAPH_CACHE_DIR), the two
interleaved round by round, and prints medians over the rounds: device time
per inference from profiling events (every node), its GFLOP/s for one-layer
models, wall-clock median latency, and launches per inference.

usage: bench/gemm_generated.py CLGRAPH_BINARY ROUNDS MODEL:BATCH[:FLOPS] ...
"""
import json, os, statistics, subprocess, sys

def run(binary, model, batch, mode):
    env = dict(os.environ)
    env.pop("CLGRAPH_GEMM", None)
    if mode == "clblast":
        env["CLGRAPH_GEMM"] = "clblast"
    out = subprocess.run([binary, "bench", model, "--batch", str(batch), "--iters", "50", "--warmup", "5",
                          "--profile", "--json"], env=env, capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    return sum(p["ms"] for p in r["profile"]), r["latency_ms_median"], r["launches_per_inference"]

def main():
    binary, rounds = sys.argv[1], int(sys.argv[2])
    cases = []
    for arg in sys.argv[3:]:
        parts = arg.split(":")
        cases.append((parts[0], int(parts[1]), float(parts[2]) if len(parts) > 2 else 0.0))
    res = {}
    for _ in range(rounds):
        for model, batch, flops in cases:
            for mode in ("clblast", "chosen"):
                res.setdefault((model, batch, mode), []).append(run(binary, model, batch, mode))
    print("| model | batch | path | launches | device µs / inference | GFLOP/s (device) | median latency µs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model, batch, flops in cases:
        for mode in ("clblast", "chosen"):
            r = res[(model, batch, mode)]
            dev = statistics.median(x[0] for x in r) * 1e3
            lat = statistics.median(x[1] for x in r) * 1e3
            gf = "%.1f" % (flops * batch / (dev * 1e3)) if flops else "—"
            print("| %s | %d | %s | %d | %.1f | %s | %.1f |" % (os.path.basename(model), batch,
                  "CLBlast" if mode == "clblast" else "measured choice", r[0][2], dev, gf, lat))

main()
