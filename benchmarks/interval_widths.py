"""Do kgen's bootstrap intervals measure how much a metric varies between draws of images? Their width
against the spread of the metric over fresh, independent draws, and what the intervals cost.

    .venv/bin/python benchmarks/interval_widths.py [--data mnist] [--draws 60]

1. Synthetic features (Gaussian, 4-d, generated set shifted and wider than the reference, 300 images
   each): the standard deviation of each metric over ``--draws`` fresh pairs of sets, against the width of
   the 95 % interval of single draws divided by 2·1.96 (1.0: the interval is as wide as the spread).
2. Real images: the pinned evaluator's features of ``--data``; ten disjoint pairs of 1,000 training images
   the evaluator never saw (the "generated" set) and 1,000 test images (the reference): the same ratio.
3. The cost of an interval: seconds of each metric at 2,000 and 10,000 images without and with 100
   resamples (the ceiling of ``--data`` against its 10,000 test images).

Prints JSON lines and a Markdown table per part.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from kgen.evaluation import bootstrap, features
from kgen.evaluation.classifier import find_evaluator

NAMES = ("fid", "is", "kid", "pr")
REPORTED = ("fid", "is", "kid", "precision", "recall")


class Sets:
    """A feature set: features and logits."""

    def __init__(self, features, logits):
        self.features, self.logits = features, logits


def width_ratios(draws, replicates=200, singles=3):
    """For pairs of sets from ``draws`` (a list of (candidate, reference)): the interval width of the first
    ``singles`` pairs over 2·1.96 times the standard deviation of the values over all pairs."""
    values = [bootstrap.bootstrap_scores(c, r, NAMES, replicates=0) for c, r in draws]
    spread = {k: np.std([v[k]["value"] for v in values], ddof=1) for k in REPORTED}
    ratios = {k: [] for k in REPORTED}
    for candidate, reference in draws[:singles]:
        one = bootstrap.bootstrap_scores(candidate, reference, NAMES, replicates=replicates)
        for k in REPORTED:
            low, high = one[k]["interval"]
            ratios[k].append((high - low) / (2 * 1.96 * spread[k]))
    return ratios


def synthetic(draws, n=300):
    out = []
    for seed in range(draws):
        g = np.random.default_rng(seed)
        candidate = Sets(g.normal(size=(n, 4)) * 1.2 + np.array([0.5, 0, 0, 0]), g.normal(size=(n, 3)))
        out.append((candidate, Sets(g.normal(size=(n, 4)), g.normal(size=(n, 3)))))
    return out


def real_images(data, n=1000, pairs=10):
    extractor = find_evaluator(data)
    real = features.RealFeatures.load(extractor, data, extractor.image_shape[0], n * pairs, n_reference=n * pairs)
    return [(Sets(real.ceiling.features[i * n:(i + 1) * n], real.ceiling.logits[i * n:(i + 1) * n]),
             Sets(real.reference.features[i * n:(i + 1) * n], real.reference.logits[i * n:(i + 1) * n]))
            for i in range(pairs)]


def costs(data):
    extractor = find_evaluator(data)
    real = features.RealFeatures.load(extractor, data, extractor.image_shape[0], 10_000)
    rows = []
    for n in (2000, 10_000):
        candidate = Sets(real.ceiling.features[:n], real.ceiling.logits[:n])
        for name in NAMES:
            seconds = []
            for replicates in (0, 100):
                start = time.perf_counter()
                bootstrap.bootstrap_scores(candidate, real.reference, (name,), replicates=replicates)
                seconds.append(time.perf_counter() - start)
            rows.append({"n": n, "metric": name, "seconds": seconds[0], "seconds_with_100_resamples": seconds[1]})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--draws", type=int, default=60)
    args = parser.parse_args()
    tables = {}
    for part, draws in (("synthetic Gaussian features, 300 + 300", synthetic(args.draws)),
                        (f"{args.data}: unseen training images against test images, 1,000 + 1,000",
                         real_images(args.data))):
        ratios = width_ratios(draws)
        print(json.dumps({"part": part, "ratios": ratios}), flush=True)
        tables[part] = ratios
    rows = costs(args.data)
    print("\n| features | " + " | ".join(REPORTED) + " |\n| --- |" + " --- |" * len(REPORTED))
    for part, ratios in tables.items():
        cells = ["–".join(f"{r:.2f}" for r in (min(v), max(v))) for v in ratios.values()]
        print(f"| {part} | " + " | ".join(cells) + " |")
    print("\n| images | metric | seconds | with 100 resamples |\n| --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['n']} | {row['metric']} | {row['seconds']:.2f} | {row['seconds_with_100_resamples']:.2f} |")


if __name__ == "__main__":
    main()
