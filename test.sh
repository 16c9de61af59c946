#!/usr/bin/env bash
# Runs every test (what CI runs). Installs what the tests need first, from the project's own files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet test SdSharp.slnx -c Release "$@"
