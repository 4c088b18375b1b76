#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those missing.
# Extra package names may be passed as arguments (e.g. fio for the fio check).
set -euo pipefail

want=(g++ cmake make pkg-config liburing-dev libcli11-dev libfmt-dev doctest-dev
      libbenchmark-dev nlohmann-json3-dev python3 python3-jsonschema attr xfsprogs "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
