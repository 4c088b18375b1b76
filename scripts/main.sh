#!/usr/bin/env bash
# Installs what is missing, builds, and runs the headline aiobench comparison
# with its built-in defaults. Arguments go to aiobench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
exec build/tools/aiobench/aiobench "$@"
