"""Sampling in bfloat16 against float32: do the images of a model trained under mixed_bfloat16 stay within
one uint8 level of the same weights computing in float32, and how much faster is its export?

    .venv/bin/python benchmarks/bf16_sampling.py RUN_DIR [--n 10000]

RUN_DIR holds a model trained with ``--precision mixed_bfloat16`` (what ``--precision auto`` picks on a CPU
with AVX512-BF16). The script loads it twice — computing in bfloat16, as trained, and in float32, as
``kgen.run.layout.load_model`` loads it by default — draws ``--n`` images from both with the same seed, and prints one
JSON line with the largest difference in uint8 levels and the share of pixels that differ at all and by
more than one level; then both models are exported and ``serving_default`` is timed at batch 1, 64 and
1,024 (median of repeated calls, ``kgen.bench.throughput.savedmodel_sampling_throughput``), one JSON line each.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgen.bench.throughput import savedmodel_sampling_throughput  # noqa: E402
from kgen.run import layout  # noqa: E402
from kgen.export import export_model  # noqa: E402
from kgen.images import to_uint8  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    model = layout.load_model(args.run_dir, float32=False)
    compute = {layer.dtype_policy.compute_dtype for layer in model.sampling_network().layers if layer.weights}
    twin = layout.load_model(args.run_dir)
    ours = to_uint8(model.sample(args.n, seed=0), model.output_range).astype(np.int16)
    full = to_uint8(twin.sample(args.n, seed=0), twin.output_range).astype(np.int16)
    diff = np.abs(ours - full)
    print(json.dumps({"measure": "images", "n": args.n, "compute_dtype": sorted(compute),
                      "max_uint8_difference": int(diff.max()), "share_differing": float(np.mean(diff > 0)),
                      "share_differing_by_more_than_1": float(np.mean(diff > 1)),
                      "mean_abs_difference": float(diff.mean())}), flush=True)
    with tempfile.TemporaryDirectory() as directory:
        for name, candidate in (("bfloat16", model), ("float32", twin)):
            path = export_model(candidate, directory, name=name)
            for result in savedmodel_sampling_throughput(path):
                print(json.dumps({"measure": "savedmodel", "precision": name, **result}), flush=True)
    keras.backend.clear_session()


if __name__ == "__main__":
    main()
