"""Full-size check of `sdsharp merge` on the GPU machine (CPU only; no dotnet needed): two random-weight SD 1.5
single files (fp16, built by fullsize_pipeline_check.build) and a third derived from the second, merged by the
published command with weighted sum and add difference under /usr/bin/time -v (peak RSS, wall time), and a sample
of the output's tensors compared with torch's direct computation.

Usage: python3 tools/reference/fullsize_merge_check.py DIFFUSERS_SRC [WORK_DIR]
  DIFFUSERS_SRC  diffusers' src folder (with ../scripts), as for make_model_fixtures.py
  The command is .device/cli/SdSharp.Cli (dotnet publish -r linux-x64 --self-contained); the report is written
  to $OUT/merge_check.json (WORK_DIR when OUT is not set).

Expected: every sampled tensor equals torch's fp32 computation rounded once to fp16 (the merger computes in fp32;
"max_ulps" says how many fp16 steps the worst element is away, "ok" allows one);
"a1111_fp16_max_ulps" is how far A1111's own arithmetic (torch ops on fp16 tensors, rounded after each operation)
lands from that, for information. Peak RSS should be far below one input's size: the merger streams.
"""
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DIFFUSERS_SRC = sys.argv[1]
WORK = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "/tmp/sdsharp-merge-check")
OUT = os.environ.get("OUT") or WORK
CLI = os.path.join(ROOT, ".device", "cli", "SdSharp.Cli")
os.makedirs(WORK, exist_ok=True)

# fullsize_pipeline_check reads its arguments when imported: DIFFUSERS_SRC WORK SDSHARP MERGES REPORT.
sys.argv = [sys.argv[0], DIFFUSERS_SRC, WORK, CLI, "(unused)", os.path.join(WORK, "(unused).json")]
spec = importlib.util.spec_from_file_location("fullsize_pipeline_check", os.path.join(HERE, "fullsize_pipeline_check.py"))
pipeline_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pipeline_check)

from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

SAMPLE = 40  # tensors compared in full, plus the largest one


def build_sd15(name, seed):
    """A random full-size SD 1.5 single file (fp16), under WORK/name."""
    path, *networks = pipeline_check.build("sd1", seed)
    del networks
    target = os.path.join(WORK, name)
    os.replace(path, target)
    return target


def derive(source, name, seed):
    """C for add difference: B plus small noise (B as a fine-tune of C), fp16 like B."""
    g = torch.Generator().manual_seed(seed)
    tensors = load_file(source)
    for k, v in tensors.items():
        if v.is_floating_point():
            tensors[k] = (v.float() + 0.01 * torch.randn(v.shape, generator=g)).half()
    path = os.path.join(WORK, name)
    save_file(tensors, path)
    return path


def run_timed(args):
    """Runs the command; returns (seconds, peak RSS in MiB, how it was measured)."""
    env = dict(os.environ, SDSHARP_CACHE=os.path.join(WORK, "cache"))
    if os.path.exists("/usr/bin/time"):
        run = subprocess.run(["/usr/bin/time", "-v", CLI, *args], capture_output=True, text=True, timeout=600, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"merge exited {run.returncode}: {run.stderr.strip()[-2000:]}")
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", run.stderr).group(1)
        seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
        return seconds, rss_kb / 1024, "/usr/bin/time -v", run.stderr.strip().splitlines()[0]
    # No GNU time: the child's own rusage from wait4.
    start = time.time()
    child = subprocess.Popen([CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    stderr = child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"merge exited {os.waitstatus_to_exitcode(status)}: {stderr.strip()[-2000:]}")
    return time.time() - start, usage.ru_maxrss / 1024, "wait4 rusage", stderr.strip().splitlines()[0]


def compare(output, inputs, formula_fp32, formula_a1111):
    """Sampled tensors of the output against torch: exact match with fp32-then-fp16, ulps from A1111's fp16 ops."""
    handles = [safe_open(p, "pt") for p in inputs]
    with safe_open(output, "pt") as merged:
        keys = list(handles[0].keys())
        assert set(merged.keys()) == set(keys), "the output's keys are not A's"
        merged_keys = [k for k in keys if "model" in k and handles[0].get_slice(k).get_dtype() in ("F16", "F32")]
        largest = max(merged_keys, key=lambda k: torch.Size(handles[0].get_slice(k).get_shape()).numel())
        sample = sorted(set(random.Random(5).sample(merged_keys, SAMPLE)) | {largest})
        inexact, wrong_type, max_ulps, a1111_ulps, elements = [], [], 0, 0, 0
        for k in sample:
            values = [h.get_tensor(k) for h in handles]
            got = merged.get_tensor(k)
            expected = formula_fp32(*[v.float() for v in values]).half()
            if got.dtype != torch.float16:
                wrong_type.append(k)
                continue
            ulps = int(ulp_distance(got, expected).max())
            if ulps > 0:
                inexact.append(k)
            max_ulps = max(max_ulps, ulps)
            # fp16 tensors: torch rounds after every operation, as A1111 computes.
            a1111_ulps = max(a1111_ulps, int(ulp_distance(formula_a1111(*values), expected).max()))
            elements += got.numel()
        return dict(sampled_tensors=len(sample), sampled_elements=elements, largest=largest, wrong_type=wrong_type[:10],
                    inexact=inexact[:10], inexact_count=len(inexact), max_ulps=max_ulps, a1111_fp16_max_ulps=a1111_ulps,
                    metadata_has_recipe="sd_merge_recipe" in (merged.metadata() or {}))


def ulp_distance(x, y):
    """Distance in fp16 steps (the int16 bit patterns made monotonic across the sign)."""
    def ordered(t):
        bits = t.contiguous().view(torch.int16).int()
        return torch.where(bits < 0, -32768 - bits, bits)
    return (ordered(x) - ordered(y)).abs()


def main():
    report = {"cli": CLI}
    started = time.time()
    try:
        if not os.path.exists(CLI):
            raise RuntimeError(f"{CLI} not found: publish the command there first")
        a = build_sd15("a.safetensors", 9300)
        b = build_sd15("b.safetensors", 9400)
        c = derive(b, "c.safetensors", 9500)
        report["input_bytes"] = {os.path.basename(p): os.path.getsize(p) for p in (a, b, c)}
        report["build_s"] = round(time.time() - started, 1)
        m_ws, m_ad = 0.3, 0.7
        cases = [
            ("weighted-sum", [a, b], m_ws, lambda x, y: (1 - m_ws) * x + m_ws * y),
            ("add-difference", [a, b, c], m_ad, lambda x, y, z: x + m_ad * (y - z)),
        ]
        for mode, inputs, m, formula in cases:
            output = os.path.join(WORK, f"{mode}.safetensors")
            if os.path.exists(output):
                os.remove(output)
            seconds, rss_mib, measured, summary = run_timed(["merge", *inputs, "--mode", mode, "--multiplier", str(m), "-o", output])
            entry = dict(wall_s=round(seconds, 2), peak_rss_mib=round(rss_mib, 1), measured_with=measured, summary=summary,
                         output_bytes=os.path.getsize(output),
                         rss_over_input_size=round(rss_mib * 2**20 / os.path.getsize(inputs[0]), 3))
            entry.update(compare(output, inputs, formula, formula))
            # Exact is expected (no fused multiply-add on either side); one fp16 step would still be a correct merge.
            entry["ok"] = not entry["wrong_type"] and entry["max_ulps"] <= 1 and entry["metadata_has_recipe"]
            report[mode] = entry
            print(mode, entry, flush=True)
            os.remove(output)
    except Exception as e:
        report["error"] = str(e)[-2000:]
        print("failed:", e, flush=True)
    finally:
        report["total_s"] = round(time.time() - started, 1)
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "merge_check.json"), "w") as f:
            json.dump(report, f, indent=1)
        # The inputs are gigabytes each: leave nothing behind.
        for name in ("a.safetensors", "b.safetensors", "c.safetensors", "sd1.safetensors"):
            if os.path.exists(os.path.join(WORK, name)):
                os.remove(os.path.join(WORK, name))
        shutil.rmtree(os.path.join(WORK, "cache"), ignore_errors=True)


if __name__ == "__main__":
    main()
