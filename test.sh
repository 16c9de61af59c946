#!/usr/bin/env bash
# Runs every test (what CI runs). Installs what the tests need first, from the project's own files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The web UI test drives Debian's Chromium through Playwright (a browser is never downloaded).
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
dotnet test SdSharp.slnx -c Release "$@"
