#!/usr/bin/env bash
# One-command setup on Debian 12: install the Debian packages dmlsim needs, configure and build in
# Release, then run the main job on a shipped scenario (the seed's model averaging run).
# Usage: ./setup.sh            (as root, or as a user with sudo)
#        ./setup.sh --no-run   (install and build only)
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  g++ cmake make pkg-config
  libsimgrid-dev libeigen3-dev libfmt-dev libgtest-dev libpugixml-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libjemalloc-dev python3 python3-matplotlib python3-pandas parallel dataset-fashion-mnist
  iproute2 procps time
)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== configuring and building (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

if [ "${1:-}" != "--no-run" ]; then
  echo "== running the main job: build/dmlsim run scenarios/seed/ma.xml"
  build/dmlsim run scenarios/seed/ma.xml
fi
