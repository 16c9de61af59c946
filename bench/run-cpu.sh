#!/usr/bin/env bash
# CPU benchmarks, side by side with OpenBLAS: installs Debian's OpenBLAS if missing, then runs the bench.
# Usage: bench/run-cpu.sh [gemm] [--threads N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/*-linux-gnu/openblas-pthread/libopenblas.so.0 >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
exec dotnet run -c Release --project bench/SdSharp.Bench -- "${@:-gemm}"
