"""Do the points of a training curve and the final evaluation score the same thing? ``kgen fit --metrics-at``
scores the model as it trains, computing in its training precision (bfloat16 under ``--precision auto`` on CPUs
with bfloat16 units); ``kgen eval`` and ``kgen compare``'s final evaluation load the same weights to compute in
float32 (``kgen.run.layout.load_model``). This scores each finished run's weights both ways, from the same latent
vectors (seed 0), so that only the precision differs.

    .venv/bin/python benchmarks/curve_precision.py RUN_DIR [RUN_DIR ...] [--n 10000]

Prints one JSON line per run, then a Markdown table: the mean over runs of each metric in the training
precision and in float32, and the mean of the per-run difference (float32 − training precision, paired: the
same weights and latents) with its 95 % Student-t interval.
"""

from __future__ import annotations

import argparse
import json

from evaluation_biases import sample_metrics
from kgen.compare.statistics import mean_interval
from kgen.evaluation import features
from kgen.evaluation.classifier import recorded_evaluator
from kgen.evaluation.report import with_interval
from kgen.run import layout
from kgen.run.record import RunRecord


def both_precisions(run_dir, n):
    """The run's sample metrics (latent seed 0, no intervals) computing in the precision it trained in and in
    float32, and that precision's name."""
    data = RunRecord.read(run_dir).kgen_run["data"]
    extractor, _ = recorded_evaluator(RunRecord.read(run_dir).evaluator, data)
    trained, full = (layout.load_model(run_dir, float32=float32) for float32 in (False, True))
    real = features.RealFeatures.load(extractor, data, full.image_shape[0], min(n, 10_000))
    return (sample_metrics(trained, extractor, data, n, real), sample_metrics(full, extractor, data, n, real),
            trained.generator.dtype_policy.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--n", type=int, default=10_000, help="generated images per score (default 10000)")
    args = parser.parse_args()
    pairs = {}
    for run_dir in args.run_dirs:
        trained, full, policy = both_precisions(run_dir, args.n)
        print(json.dumps({"run": run_dir, "training_precision": policy, "in_training_precision": trained,
                          "in_float32": full}), flush=True)
        for key in trained:
            pairs.setdefault(key, []).append((trained[key], full[key]))
    print("\n| metric | training precision | float32 | float32 − training precision [95 % interval] | runs |\n"
          "| --- | --- | --- | --- | --- |")
    for key, values in pairs.items():
        before, after = (mean_interval(v).mean for v in zip(*values))
        change = mean_interval([a - b for b, a in values])
        print(f"| {key} | {before:.4g} | {after:.4g} | {with_interval(change.mean, change.interval)} | {len(values)} |")


if __name__ == "__main__":
    main()
