#!/usr/bin/env bash
# Install, through apt, whatever the build and the tests need and this machine
# lacks (Debian 12). Installs nothing when everything is present.
set -euo pipefail
pkgs=(cmake ninja-build gcc clang pkg-config libcmocka-dev libclang-rt-14-dev
      gcc-aarch64-linux-gnu qemu-system-arm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "mmsim: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
