#!/usr/bin/env bash
# Sets kgen up on a fresh Debian machine; safe to run again (it only adds what is missing):
#   1. Debian's Fashion-MNIST in /usr/share/datasets/fashion-mnist/ (real data that works offline),
#   2. a virtual environment in .venv/ with kgen installed in editable mode and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "setup: no apt-get here; put Fashion-MNIST's IDX files in \$KGEN_DATA_DIR/fashion_mnist/ yourself." >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# pip's own notices about this machine's optional package mirrors are noise here: keep errors only.
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]' 2> >(grep -v "^WARNING: Location" >&2)
echo "setup: kgen $(.venv/bin/kgen --version | awk '{print $NF}') is ready in .venv/ (run .venv/bin/kgen --help)."
