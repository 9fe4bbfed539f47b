#!/usr/bin/env bash
# Re-creates the evaluator classifiers kgen ships (kgen/evaluation/evaluators/{mnist,fashion_mnist}/).
# Training is deterministic (op determinism, fixed seeds): on the same machine kind and software the
# weights files come out byte-identical, and `git status` shows only the dates in evaluator.json.
# Needs both datasets offline: scripts/setup.sh (Fashion-MNIST) and scripts/get_mnist.sh (MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(mnist fashion_mnist)
for name in "${names[@]}"; do
  .venv/bin/kgen evaluator fit --data "$name" --out "kgen/evaluation/evaluators/$name"
done
