#!/usr/bin/env bash
# Builds Psyne. Usage: ./build.sh [--target=Native|Bindings|Build|Test|Pack|Demo|Bench] [cake options]
# Installs missing Debian prerequisites with apt-get when run as root (otherwise says
# what to install), bootstraps Cake as a local dotnet tool, then runs build.cake.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "build.sh: the .NET SDK (10.0 or later) is required: https://dot.net/download" >&2
  exit 1
fi

# command -> Debian package that provides it
declare -A prerequisites=(
  [cmake]=cmake
  [ninja]=ninja-build
  [cc]=gcc
  [clang]=clang
)
missing=()
for cmd in "${!prerequisites[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${prerequisites[$cmd]}")
done
# Interop peers used by the tests and benchmarks (optional for building, needed by the test suite).
[ -e /usr/include/zmq.h ] || missing+=(libzmq3-dev)

install_missing() {
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    [ -n "${apt_updated:-}" ] || { apt-get update -qq; apt_updated=1; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    missing=()
  else
    echo "build.sh: missing prerequisites: ${missing[*]}" >&2
    echo "build.sh: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}
install_missing

# libFuzzer (the fuzz targets CI runs briefly) comes with clang's runtime package,
# which is only recommended by clang, and named after clang's major version.
clang_major=$(clang -dumpversion | cut -d. -f1)
[ -e "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ] || [ "$(uname -m)" != x86_64 ] ||
  missing+=("libclang-rt-${clang_major}-dev")
install_missing

dotnet tool restore >/dev/null
exec dotnet tool run dotnet-cake -- build.cake "$@"
