"""A digest of a short deterministic default-GAN run: weights after 2 epochs on 1,024 MNIST images
(width 8) and 16 samples. The same digest at two commits means the training and sampling arithmetic did
not change between them, so quality measured at the older commit still stands for the newer one.

    .venv/bin/python benchmarks/training_digest.py RUN_DIR     # needs MNIST (scripts/get_mnist.sh)

Prints one line: ``weights <16 hex> samples <16 hex>``.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from kgen.run.config import RunConfig
from kgen.run.layout import load_model
from kgen.training.fit import fit_run


def digests(run_dir):
    """``(weights digest, samples digest)`` of the short run trained into ``run_dir`` (replaced)."""
    fit_run(RunConfig(model="gan", data="mnist", limit=1024, epochs=2, batch_size=64, width=8, seed=0,
                      deterministic=True, metrics_every=0, validate=False, run_dir=run_dir), overwrite=True, verbose=0)
    model = load_model(run_dir, float32=False)
    weights = hashlib.sha256()
    for variable in model.variables:
        weights.update(np.asarray(variable.numpy()).tobytes())
    samples = hashlib.sha256(model.sample(16, seed=0).tobytes())
    return weights.hexdigest()[:16], samples.hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a scratch run directory (replaced)")
    weights, samples = digests(parser.parse_args().run_dir)
    print(f"weights {weights} samples {samples}")


if __name__ == "__main__":
    main()
