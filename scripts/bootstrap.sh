#!/usr/bin/env bash
# Installs every build and test dependency of aftune from Debian packages.
# A no-op (no apt call at all) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang                       # libFuzzer targets
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libsodium-dev nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libsqlite3-dev libzstd-dev
  libsentencepiece-dev
  libopenblas-dev             # benchmark competitor only
  python3 python3-torch python3-numpy   # PyTorch oracle for tests
  python3-sentencepiece       # independent oracle for the SentencePiece tokenizer tests
  python3-jinja2              # independent oracle for the chat template (Jinja) tests
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
