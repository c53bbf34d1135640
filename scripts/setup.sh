#!/usr/bin/env bash
# Installs the system tools vimsim's tests need (Debian packages), once.
# Safe to re-run: packages already present are not touched.
set -euo pipefail
pkgs=(dataset-fashion-mnist iverilog verilator yosys)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
