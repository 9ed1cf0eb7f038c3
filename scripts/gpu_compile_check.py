#!/usr/bin/env python3
"""Compiles every OpenCL program clgraph built in a run for GPU targets this
machine does not have, and reports each kernel's register, scratch and
local-memory use on them.

The programs come from tests/program_recorder.c (an LD_PRELOAD shim that
writes each distinct source + build options to a directory; scripts/test.sh
records the whole test suite's). Each is compiled as it was built, options
included (OpenCL C 1.2 and the -D specialisations), with Debian's clang-16:

  - amdgcn-amd-amdhsa, gfx90a (CDNA2, wave64) and gfx1100 (RDNA3, wave32),
    linked with Debian's rocm-device-libs (without them every call to a
    builtin stays unresolved and each kernel reports a 16 KiB stack);
    resource use is read from the code object's metadata notes
    (llvm-readelf-16 --notes);
  - nvptx64-nvidia-nvcl, to PTX (no ptxas here, so no register counts:
    the PTX's .local depot, a stack frame, is the sign of spilling).

CLBlast's own programs are recorded too and skipped here: they are not
clgraph's. Programs with half arithmetic (-DCOMPUTE_HALF, precision fp16)
are compiled for the AMD targets only: NVIDIA's OpenCL reports no
cl_khr_fp16, so clgraph refuses fp16 there. A test suite records hundreds of programs that differ only in
the expression a kernel's epilogue or fused elementwise code was generated
for (580 GEMM programs over 40-odd sets of defines in one CI run); by
default each set of kernels and defines is compiled with its largest and
its smallest recorded source (the most and the least generated code), which
takes minutes instead of most of an hour; --per-variant 0 compiles every
one. Exit status 1 if any compiled program fails for any target, or if a
kernel that a GPU may run spills or uses scratch on one without a reason
in EXPLAINED below.

A GPU candidate is any kernel but the GEMM variants that
runtime/gemm/variants.c marks CPU_ONLY (more than 64 accumulators per
work-item: the packed p4x64/p8x32/p12x32 tiles, their convolution builds
and n8x16): measuring never times them on a GPU, and no default picks them
there, so their spills are reported and explained, not failed on. A
program of CPU_ONLY variants only is compiled for NVPTX alone (the front
end's check and its stack frame): their AMD code generation took 3-4 s per
program and target, 13 of the check's 16 minutes on PoCL's recorded
programs (2 cores, 2026-12-07), for code no GPU builds. So is a program of
the depthwise convolution's float8 row blocks, whole planes and float16
rows (-DDW_BLOCKS, -DDW_PLANE, -DDW_VEC: built for CPUs only by
runtime/lower/conv.c), MaxPool's and AveragePool's float16 rows
(maxpool_rows, averagepool_rows: runtime/lower/pool.c), Winograd's transforms (kernels/winograd.cl: its
products run on the CPU_ONLY packed variants) the direct convolution
(kernels/conv_direct.cl: on the packed variants' tiles) and the grouped
convolution (kernels/conv_grouped.cl: runtime/lower/conv.c picks it on
CPUs).

usage: gpu_compile_check.py RECORD_DIR [--report FILE.md] [--jobs N] [--per-variant N]
       gpu_compile_check.py --summarize FILE.md   (a report's table per kernel)
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

CLANG = os.environ.get("CLG_GPU_CLANG", "clang-16")
READELF = os.environ.get("CLG_GPU_READELF", "llvm-readelf-16")
BITCODE = os.environ.get("CLG_GPU_BITCODE", "/usr/lib/x86_64-linux-gnu/amdgcn/bitcode")

# (cpu, ISA version of its device library, wave64)
AMD_TARGETS = [("gfx90a", "90a", True), ("gfx1100", "1100", False)]


HERE = os.path.dirname(os.path.abspath(__file__))

# Spills in GPU candidates that are known and explained (docs/portability.md):
# (kernel, regular expression over the variant's defines, reason). Anything
# else that spills fails the check.
EXPLAINED = [
    ("attention", r".",
     "keeps a query row and an output row per work-item (qr[HEAD_DIM], acc[VALUE_DIM]): NVPTX puts them in "
     "local memory at every size, and at heads of 128 gfx90a needs 437 VGPRs and gfx1100 scratch; the rows "
     "belong in __local memory on GPUs (attention work, docs/portability.md)"),
    ("gemm", r"-DVN=16\b",
     "16-wide vector variants (n4x16) are built at VN=16 only where the device's float vector width is 16, "
     "which is a CPU's native width (runtime/cl/context.c resolve_vector_width; a GPU's preferred width caps "
     "VN, NVIDIA's is 1): at VN=16 a whole group finishes through the epilogue's clg_epilogue16, whose "
     "element-by-element fallback for inputs of other strides holds 16 floats in a private array (64 B of "
     "NVPTX stack; 0 scratch on the AMD targets)"),
]


def cpu_only_variants(path=None):
    """The GEMM variants runtime/gemm/variants.c marks CPU_ONLY, as
    (kind, tm, second) with kind "packed" (second: NV = nr / 16) or
    "generic" (second: TN)."""
    path = path or os.path.join(HERE, "..", "runtime", "gemm", "variants.c")
    out = []
    row = re.compile(r'\{"(\w+)",\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\w+)\}')
    for m in row.finditer(open(path).read()):
        name, tm, tn, vw, vn, nr, wm, wn, devices = m.groups()
        if devices != "CPU_ONLY":
            continue
        if int(nr) > 0:
            out.append(("packed", int(tm), int(nr) // 16, name))
        else:
            out.append(("generic", int(tm), int(tn), name))
    return out


def define(opts, name):
    m = re.search(r"-D%s=(\d+)" % name, opts)
    return int(m.group(1)) if m else None


def cpu_only_reason(kernel, opts, cpu_only):
    """Why kernel built with opts never runs on a GPU, or None when it may."""
    if kernel == "depthwise" and define(opts, "DW_BLOCKS"):
        return "DW_BLOCKS: CPU only (runtime/lower/conv.c builds the float8 row blocks for CPUs)"
    if kernel == "depthwise" and define(opts, "DW_PLANE"):
        return "DW_PLANE: CPU only (runtime/lower/conv.c builds the whole-plane body for CPUs)"
    if kernel == "depthwise" and define(opts, "DW_VEC"):
        return "DW_VEC: CPU only (runtime/lower/conv.c builds the float16-row body for CPUs)"
    if kernel in ("maxpool_rows", "averagepool_rows"):
        return "%s: CPU only (runtime/lower/pool.c builds the float16-row pools for CPUs)" % kernel
    if kernel in ("wino_weights", "wino_input", "wino_output"):
        return ("%s: CPU only (Winograd's products run on the packed variants, which are CPU_ONLY: "
                "measuring and the default never pick it on a GPU; CLGRAPH_GEMM or a bundle made on a "
                "CPU can force it, as they can the packed variants)" % kernel)
    if kernel == "conv_direct":
        return ("conv_direct: CPU only (its tiles are the packed variants' p4x64 and p8x32, CPU_ONLY: "
                "measuring and the default never pick it on a GPU; CLGRAPH_GEMM or a bundle made on a "
                "CPU can force it)")
    if kernel == "conv_grouped":
        return ("conv_grouped: CPU only (runtime/lower/conv.c picks it on CPUs; CLGRAPH_GROUPED=kernel "
                "can force it elsewhere, as Oclgrind's check does)")
    if kernel != "gemm":
        return None
    for kind, tm, second, name in cpu_only:
        if kind == "packed" and define(opts, "MR") == tm and define(opts, "NV") == second:
            return "%s: CPU_ONLY (CPU-shaped register tile)" % name
        if kind == "generic" and define(opts, "MR") is None and define(opts, "TM") == tm \
                and define(opts, "TN") == second:
            return "%s: CPU_ONLY (CPU-shaped register tile)" % name
    return None


def explained(kernel, var):
    for k, pattern, reason in EXPLAINED:
        if k == kernel and re.search(pattern, var):
            return reason
    return None


def is_clblast(source):
    return "CLBlast library" in source or "CNugteren/CLBlast" in source


def amd_args(cpu, isa, wave64):
    libs = ["opencl", "ocml", "ockl", "oclc_abi_version_400", "oclc_daz_opt_off",
            "oclc_unsafe_math_off", "oclc_finite_only_off", "oclc_correctly_rounded_sqrt_on",
            "oclc_wavefrontsize64_on" if wave64 else "oclc_wavefrontsize64_off"]
    # rocm-device-libs 5.2 predates gfx1100: its ISA-version library is absent,
    # and nothing clgraph calls reads it (the compile fails loudly if one did).
    if os.path.exists(os.path.join(BITCODE, "oclc_isa_version_%s.bc" % isa)):
        libs.append("oclc_isa_version_%s" % isa)
    args = ["-target", "amdgcn-amd-amdhsa", "-mcpu=" + cpu, "-nogpulib"]
    for lib in libs:
        args += ["-Xclang", "-mlink-builtin-bitcode", "-Xclang", os.path.join(BITCODE, lib + ".bc")]
    return args


def split_options(options):
    """The recorded build options as clang arguments (they are plain
    -D/-cl-* flags; quoting is not used by clgraph)."""
    return options.split()


def amd_kernel_stats(text):
    """Per kernel: the metadata map entries of one kernel between its '- .'
    list item and the next. llvm-readelf prints each kernel as a YAML map;
    fields appear in alphabetical order, .name among them."""
    kernels = {}
    block = None
    for line in text.splitlines():
        if re.match(r"\s*amdhsa\.kernels:", line):
            block = {}
            continue
        if block is None:
            continue
        m = re.match(r"(\s*)(- )?\.(\w+):\s*(.*)$", line)
        if not m:
            continue
        indent, item, key, value = len(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        if item and indent <= 2:  # a new kernel
            if block.get("name"):
                kernels[block["name"]] = block
            block = {}
        if indent > 4 and key not in ("name",):
            continue  # a field of an argument, not the kernel's
        if key == "name" and indent <= 4:
            block["name"] = value
        elif indent <= 4 and re.fullmatch(r"-?\d+", value or "x"):
            block[key] = int(value)
    if block and block.get("name"):
        kernels[block["name"]] = block
    return kernels


def compile_one(path, options, tmp, amd=True):
    """{target: (ok, message, {kernel: stats})} for one recorded program;
    amd False: the NVPTX target only (gfx1100 only for half arithmetic,
    which NVPTX does not take)."""
    results = {}
    base = os.path.join(tmp, os.path.basename(path))
    half = "-DCOMPUTE_HALF" in options.split()
    for cpu, isa, wave64 in (AMD_TARGETS if amd else AMD_TARGETS[1:] if half else []):
        obj = base + "." + cpu + ".o"
        cmd = [CLANG, "-x", "cl", "-O3"] + split_options(options) + amd_args(cpu, isa, wave64) + [path, "-o", obj]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            results[cpu] = (False, p.stderr.strip()[-2000:], {})
            continue
        notes = subprocess.run([READELF, "--notes", obj], capture_output=True, text=True).stdout
        results[cpu] = (True, "", amd_kernel_stats(notes))
    # Half arithmetic (-DCOMPUTE_HALF, precision fp16) needs cl_khr_fp16:
    # NVIDIA's OpenCL does not report it (nor does clang's nvptx target
    # know it), so clgraph refuses fp16 there and never builds such a
    # program for an NVIDIA device. Its AMD builds are checked above.
    if "-DCOMPUTE_HALF" in options.split():
        return results
    ptx = base + ".ptx"
    cmd = [CLANG, "-x", "cl", "-O3", "-target", "nvptx64-nvidia-nvcl"] + split_options(options) + [path, "-S", "-o", ptx]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        results["nvptx"] = (False, p.stderr.strip()[-2000:], {})
    else:
        stats = {}
        name = None
        for line in open(ptx):
            m = re.match(r"\.entry (\w+)", line.strip().replace(".visible ", ""))
            if m:
                name = m.group(1)
                stats[name] = {"local_depot": 0}
            m = re.search(r"\.local \.align \d+ \.b8 \s*__local_depot\d+\[(\d+)\]", line)
            if m and name:
                stats[name]["local_depot"] = int(m.group(1))
        results["nvptx"] = (True, "", stats)
    return results


def kernel_summary(table_lines):
    """The per-variant table's rows (Markdown lines as main writes them)
    summed up per kernel: how many variants are GPU candidates and how many
    CPU-only, the ranges over the GPU candidates (what a GPU would run),
    and the worst scratch and stack of the CPU-only ones (never built for
    a GPU). docs/portability.md's per-kernel table is this output."""
    def rng(cell):
        if cell == "-":
            return None
        parts = cell.split("–")
        return int(parts[0]), int(parts[-1])

    def merge(a, b):
        return b if a is None else a if b is None else (min(a[0], b[0]), max(a[1], b[1]))

    def fmt(r):
        return "-" if r is None else str(r[0]) if r[0] == r[1] else "%d–%d" % r

    kernels = {}
    for line in table_lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or not cells[0].startswith("`"):
            continue
        k = kernels.setdefault(cells[0], {"gpu": 0, "cpu": 0, "gpu_cols": [None] * 6, "cpu_cols": [None] * 2})
        if cells[9].startswith("no"):
            k["cpu"] += 1
            # gfx1100 scratch, nvptx stack (CPU-only programs get NVPTX alone
            # when all their kernels are CPU-only)
            for i, col in enumerate((6, 8)):
                k["cpu_cols"][i] = merge(k["cpu_cols"][i], rng(cells[col]))
        else:
            k["gpu"] += 1
            for i, col in enumerate((3, 4, 5, 6, 7, 8)):
                k["gpu_cols"][i] = merge(k["gpu_cols"][i], rng(cells[col]))
    out = ["| kernel | GPU candidates | CPU-only | gfx90a VGPRs | gfx90a scratch B | gfx1100 VGPRs "
           "| gfx1100 scratch B | LDS B | nvptx stack B | CPU-only: gfx1100 scratch B, nvptx stack B |",
           "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- |"]
    for name in sorted(kernels, key=lambda n: n.strip("`")):
        k = kernels[name]
        gpu = [fmt(r) for r in k["gpu_cols"]] if k["gpu"] else ["-"] * 6
        cpu = "%s, %s" % tuple(fmt(r) for r in k["cpu_cols"]) if k["cpu"] else "-"
        out.append("| %s | %d | %d | %s | %s |" % (name, k["gpu"], k["cpu"], " | ".join(gpu), cpu))
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--summarize":
        # a report written by --report, summed up per kernel
        print("\n".join(kernel_summary(open(sys.argv[2], encoding="utf-8").read().splitlines())))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record_dir")
    ap.add_argument("--report", help="write the per-kernel table (Markdown) here")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--per-variant", type=int, default=2,
                    help="sources compiled per set of kernels and defines: the largest and the smallest, "
                         "then the next largest (0: every one)")
    args = ap.parse_args()

    for tool in (CLANG, READELF):
        if not shutil.which(tool):
            print("gpu_compile_check: %s not found (scripts/setup.sh installs clang-16, llvm-16 "
                  "and rocm-device-libs)" % tool, file=sys.stderr)
            return 2
    programs = []
    for name in sorted(os.listdir(args.record_dir)):
        if not name.endswith(".opts"):
            continue
        cl = os.path.join(args.record_dir, name[:-5] + ".cl")
        source = open(cl, encoding="utf-8", errors="replace").read()
        if is_clblast(source):
            continue
        options = open(os.path.join(args.record_dir, name)).read().strip()
        programs.append((cl, options, len(source), tuple(sorted(set(re.findall(r"__kernel\s+void\s+(\w+)", source))))))
    recorded = len(programs)
    if args.per_variant > 0:
        groups = {}
        for p in programs:
            groups.setdefault((p[3], p[1]), []).append(p)
        programs = []
        for key in sorted(groups):
            members = sorted(groups[key], key=lambda p: (-p[2], p[0]))
            pick = [members[0]] + ([members[-1]] if len(members) > 1 else []) + members[1:-1]
            programs += pick[:args.per_variant]
    # A program whose every kernel is a CPU_ONLY GEMM variant is never built
    # for a GPU: it gets the NVPTX compile only (the front end's OpenCL C 1.2
    # check, and its stack frame for the report), not the AMD code
    # generation, which for these 256-accumulator tiles took 3-4 s per
    # program and target, most of the check's time.
    cpu_only = cpu_only_variants()
    if not cpu_only:
        print("gpu_compile_check: no CPU_ONLY variant found in runtime/gemm/variants.c", file=sys.stderr)
        return 2

    def gpu_candidate(kernels, opts):
        return any(cpu_only_reason(k, opts, cpu_only) is None for k in kernels if k != "pack_b") or not kernels

    programs = [(p[0], p[1], gpu_candidate(p[3], p[1])) for p in programs]
    if not programs:
        print("gpu_compile_check: no clgraph programs recorded in %s" % args.record_dir, file=sys.stderr)
        return 2

    failures = []
    per_kernel = {}  # kernel name -> list of (options, target, stats)
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(compile_one, cl, opts, tmp, amd): (cl, opts) for cl, opts, amd in programs}
        for fut in concurrent.futures.as_completed(futures):
            cl, opts = futures[fut]
            for target, (ok, message, stats) in fut.result().items():
                if not ok:
                    failures.append((cl, opts, target, message))
                for kernel, st in stats.items():
                    per_kernel.setdefault(kernel, []).append((opts, target, st))

    # One row per kernel and variant: the build options less the ones that
    # only switch transposes and the bias on (they barely change registers).
    def variant(opts):
        kept = [o for o in opts.split() if not re.match(r"-D(TRANS_[AB]|HAS_BIAS)=", o)
                and not o.startswith("-cl-std=")]
        return " ".join(kept)

    lines = []
    lines.append("| kernel | variant (defines) | option sets | gfx90a VGPRs | gfx90a scratch B | gfx1100 VGPRs "
                 "| gfx1100 scratch B | LDS B | nvptx stack B | on GPUs |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    spills = []  # (kernel, defines, "cpu-only"|"explained"|"defect", reason)
    for kernel in sorted(per_kernel):
        by_variant = {}
        for o, t, st in per_kernel[kernel]:
            by_variant.setdefault(variant(o), []).append((o, t, st))
        for var in sorted(by_variant):
            rows = by_variant[var]

            def rng(target, field):
                vals = [st.get(field, 0) for o, t, st in rows if t == target]
                if not vals:
                    return "-"
                lo, hi = min(vals), max(vals)
                return str(lo) if lo == hi else "%d–%d" % (lo, hi)

            spilling = any(st.get("vgpr_spill_count", 0) or st.get("sgpr_spill_count", 0)
                           or st.get("private_segment_fixed_size", 0) or st.get("local_depot", 0)
                           for o, t, st in rows)
            reason = cpu_only_reason(kernel, var, cpu_only)
            if spilling:
                if reason:
                    spills.append((kernel, var, "cpu-only", reason))
                elif explained(kernel, var):
                    spills.append((kernel, var, "explained", explained(kernel, var)))
                else:
                    spills.append((kernel, var, "defect", "a GPU candidate spills"))
            lines.append("| `%s` | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                kernel, "`%s`" % var if var else "(none)", len({o for o, _, _ in rows}),
                rng("gfx90a", "vgpr_count"), rng("gfx90a", "private_segment_fixed_size"),
                rng("gfx1100", "vgpr_count"), rng("gfx1100", "private_segment_fixed_size"),
                rng("gfx90a", "group_segment_fixed_size"), rng("nvptx", "local_depot"),
                "no (%s)" % reason.split(":")[0] if reason else "yes"))
    table = "\n".join(lines)
    count = {c: sum(1 for sp in spills if sp[2] == c) for c in ("cpu-only", "explained", "defect")}
    half = sum(1 for _, opts, _ in programs if "-DCOMPUTE_HALF" in opts.split())
    nvptx_only = sum(1 for _, _, amd in programs if not amd)
    summary = ("%d clgraph programs compiled (of %d recorded; %d kernels; %d with half arithmetic, for the AMD "
               "targets only; %d CPU-only, for NVPTX only), 3 targets: %d compile failures, "
               "%d kernel variants with scratch or spills: %d CPU-only (never run on a GPU), %d explained, "
               "%d in GPU candidates unexplained" % (len(programs), recorded, len(per_kernel), half, nvptx_only,
                                                    len(failures),
                                                    len(spills), count["cpu-only"], count["explained"],
                                                    count["defect"]))
    print(summary)
    print(table)
    if spills:
        print("\nvariants with scratch or spills on a target (kernel, defines, class: reason):")
        for kernel, o, cls, why in spills:
            print("  %s  %s  [%s: %s]" % (kernel, o, cls, why))
    if args.report:
        with open(args.report, "w") as f:
            f.write(summary + "\n\n" + table + "\n\nPer kernel:\n\n" + "\n".join(kernel_summary(lines)) + "\n")
            if spills:
                f.write("\nVariants with scratch or spills:\n\n")
                for kernel, o, cls, why in spills:
                    f.write("- `%s`: `%s` (%s: %s)\n" % (kernel, o, cls, why))
    for cl, opts, target, message in failures:
        print("\nFAILED %s for %s (options: %s):\n%s" % (cl, target, opts, message), file=sys.stderr)
    for kernel, o, cls, why in spills:
        if cls == "defect":
            print("\nSPILLS in a GPU candidate: %s (%s): fix it, mark the variant CPU_ONLY, or explain it in "
                  "EXPLAINED" % (kernel, o), file=sys.stderr)
    return 1 if failures or count["defect"] else 0


if __name__ == "__main__":
    sys.exit(main())
