#!/usr/bin/env bash
# GPU benchmark, SdSharp against diffusers on the same random-weight models and the same GPU, one table.
# Runs on the GPU machine: needs python3 with torch, diffusers' source (DIFFUSERS_SRC, the folder holding the
# diffusers package) and a published SdSharp.Bench (BENCH, default .publish/bench/SdSharp.Bench).
# Usage: DIFFUSERS_SRC=... bench/run-gpu.sh [--compile sd15,sdxl,vae]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-/tmp/sdsharp-gpu-bench}"
mkdir -p "$work"
# MERGES (OpenAI's bpe_simple_vocab_16e6.txt.gz) adds the whole-image row: SD 1.5, 512×512, 20 steps.
python3 tools/reference/bench_diffusers.py "${DIFFUSERS_SRC:?set DIFFUSERS_SRC}" "$work/models" "$work/diffusers.json" "$@" ${MERGES:+--merges "$MERGES"}
"${BENCH:-.publish/bench/SdSharp.Bench}" gpu "$work/models" "$work/diffusers.json" "${DTYPE:-fp16}"
