"""Are a model's samples copies of its training images? For each run, the median pixel distance (images in [0, 1])
from its samples to their nearest training image, beside the same for held-out test images: samples much nearer
the training set than new real images are would be copies, not new images.

    .venv/bin/python benchmarks/nearest_training_images.py RUN_DIR [RUN_DIR ...] [--n 1000]

Samples are drawn as `kgen sample` draws them (seed 0), from the model's prior (a fitted mixture prior when the
run has one). For a VAE or VAE-GAN the same is measured for its reconstructions of training images (their codes,
one draw of q(z|x) each, decoded): what copies would score. Prints one JSON line per run, the first for the test
images.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from kgen.data.real_images import uint8_batches
from kgen.images import to_uint8
from kgen.run import layout
from kgen.run.record import RunRecord
from kgen.training.prior import posterior_codes


def flat_unit(images_uint8):
    """uint8 images ``[n, H, W, C]`` as float32 rows in [0, 1]."""
    return np.asarray(images_uint8, np.float32).reshape(len(images_uint8), -1) / 255.0


def median_nearest_distance(rows, train, train_squares, block=500):
    """Median over ``rows`` of the Euclidean distance to the nearest row of ``train``."""
    nearest = []
    for start in range(0, len(rows), block):
        x = rows[start:start + block]
        squares = np.sum(x ** 2, axis=1, keepdims=True) - 2.0 * x @ train.T + train_squares
        nearest.append(np.sqrt(np.maximum(squares.min(axis=1), 0.0)))
    return float(np.median(np.concatenate(nearest)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--n", type=int, default=1000, help="samples (and test images) per run (default 1000)")
    args = parser.parse_args()
    first = RunRecord.read(args.run_dirs[0]).kgen_run
    data, limit, classes = first["data"], first.get("limit"), first.get("classes")
    size = layout.load_model(args.run_dirs[0]).image_shape[0]
    train = flat_unit(np.concatenate([b.numpy() for b in uint8_batches(data, "train", size, limit=limit,
                                                                       classes=classes)]))
    train_squares = np.sum(train ** 2, axis=1)
    test = flat_unit(np.concatenate([b.numpy() for b in uint8_batches(data, "test", size, limit=args.n)]))
    print(json.dumps({"run": f"{data} test images", "median_nearest_training_distance":
                      median_nearest_distance(test, train, train_squares)}), flush=True)
    for run_dir in args.run_dirs:
        model = layout.load_model(run_dir)
        samples = flat_unit(to_uint8(model.sample(args.n, seed=0), model.output_range))
        result = {"run": run_dir, "median_nearest_training_distance":
                  median_nearest_distance(samples, train, train_squares)}
        if model.has_encoder:
            codes = posterior_codes(model, data, args.n, limit=limit, classes=classes)
            decoded = flat_unit(to_uint8(np.asarray(model.decode(codes)), model.output_range))
            result["reconstructions"] = median_nearest_distance(decoded, train, train_squares)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
