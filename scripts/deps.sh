#!/usr/bin/env bash
# deps.sh - install what callscope needs to build, run and test on Debian 12.
# Idempotent: installs only the packages that are missing. Needs root (or
# sudo, which it uses when present).
set -euo pipefail

# libreoffice-calc-nogui: the test suite reads the client XLSX back through
# LibreOffice (headless, every sheet to CSV); about 260 MB, installed
# without recommends. clang and libclang-rt-14-dev: the libFuzzer targets
# (tests/fuzz/; without the runtime -fsanitize=fuzzer does not link).
PKGS=(build-essential cmake pkgconf
      libcurl4-openssl-dev libjansson-dev libpq-dev libhpdf-dev libpcre2-dev
      libxlsxwriter-dev libcmocka-dev zlib1g-dev
      postgresql python3 fonts-dejavu-core poppler-utils qpdf
      libreoffice-calc-nogui clang libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: run as root or install sudo" >&2; exit 1; }
    SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The postgresql package would start the system cluster where an init
# system runs; callscope never uses it (it runs its own), so that is harmless.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
