"""How much of the spread between a study's training seeds is the draw of generated images? Each finished run
of a ``kgen compare`` study scored more than once, with other latent seeds (``kgen eval --seed S``, the same
number of images each), and the spread of FID between those draws set against the spread between training
seeds.

    for S in 1 2 3 4; do kgen eval --run-dir RUN --seed $S --metrics fid,is,pr --bootstrap 0; done   # each run
    .venv/bin/python benchmarks/evaluation_draws.py STUDY_DIR [--n 10000] [--metric fid]

Reads ``eval/classifier-n<N>-seed<S>.json`` of every run (seed 0 is the study's own evaluation) and prints, per
entry: each run's value per draw, their mean and standard deviation; the mean over training seeds with its 95 %
Student-t interval from the seed-0 draws alone (what the study reports) and from each run's mean over its
draws; the draw's standard deviation pooled over the runs, against the standard deviation between training
seeds. With two entries, Welch's test of their difference, from the seed-0 draws and from the means over draws.
Pure reading: nothing is trained or scored.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re

import numpy as np

from kgen.compare.statistics import mean_interval, welch_test

RUN_NAME = re.compile(r"^(?P<entry>.+)-seed(?P<seed>\d+)$")


def draws_of_run(run_dir, n, metric):
    """``{latent seed: value}`` of ``metric`` in the run's classifier evaluations of ``n`` images."""
    values = {}
    for path in glob.glob(os.path.join(run_dir, "eval", f"classifier-n{n}-seed*.json")):
        seed = int(re.search(r"-seed(\d+)\.json$", path).group(1))
        with open(path, encoding="utf-8") as f:
            values[seed] = json.load(f)["metrics"][metric]["value"]
    return values


def entries_of_study(study_dir, n, metric):
    """``{entry slug: {training seed: {latent seed: value}}}`` of every run with a seed-0 evaluation."""
    entries = {}
    for run_dir in sorted(glob.glob(os.path.join(study_dir, "runs", "*"))):
        match = RUN_NAME.match(os.path.basename(run_dir))
        draws = draws_of_run(run_dir, n, metric) if match and os.path.isdir(run_dir) else {}
        if 0 in draws:
            entries.setdefault(match["entry"], {})[int(match["seed"])] = draws
    return entries


def _interval(m):
    return f"{m.mean:.2f} [{m.low:.2f}, {m.high:.2f}]" if m.low is not None else f"{m.mean:.2f}"


def summarise(runs):
    """The numbers of one entry: seed-0 values, per-run draw means, pooled within-run and between-seed SDs."""
    first = [draws[0] for draws in runs.values()]
    means = [float(np.mean(list(draws.values()))) for draws in runs.values()]
    deviations = [np.asarray(list(d.values())) - np.mean(list(d.values())) for d in runs.values() if len(d) > 1]
    dof = sum(len(d) - 1 for d in deviations)
    within = math.sqrt(sum(float(np.sum(d * d)) for d in deviations) / dof) if dof else None
    between = float(np.std(first, ddof=1)) if len(first) > 1 else None
    return first, means, within, between


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study_dir")
    parser.add_argument("--n", type=int, default=10_000, help="generated images per evaluation (default 10000)")
    parser.add_argument("--metric", default="fid", help="metric of the evaluation reports (default fid)")
    args = parser.parse_args()
    entries = entries_of_study(args.study_dir, args.n, args.metric)
    if not entries:
        raise SystemExit(f"error: no run of {args.study_dir} has a classifier evaluation of {args.n} images")
    summaries = {}
    for entry, runs in entries.items():
        print(f"\n{entry}")
        for seed, draws in sorted(runs.items()):
            values = [draws[s] for s in sorted(draws)]
            spread = f", SD {np.std(values, ddof=1):.2f}" if len(values) > 1 else ""
            print(f"  seed {seed}: " + " / ".join(f"{v:.2f}" for v in values)
                  + f"  (draws {sorted(draws)}; mean {np.mean(values):.2f}{spread})")
        first, means, within, between = summarise(runs)
        summaries[entry] = first, means
        print(f"  over training seeds, seed-0 draws: {_interval(mean_interval(first))}; "
              f"each run's mean over its draws: {_interval(mean_interval(means))}")
        if within is not None and between is not None:
            print(f"  SD between draws of one run (pooled): {within:.2f}; SD between training seeds (seed-0 "
                  f"draws): {between:.2f}")
    if len(summaries) == 2:
        (a, (a_first, a_means)), (b, (b_first, b_means)) = summaries.items()
        for label, x, y in (("seed-0 draws", a_first, b_first), ("means over draws", a_means, b_means)):
            test = welch_test(y, x)
            if test is not None:
                print(f"\n{b} − {a}, {label}: {test.difference:+.2f} [{test.low:+.2f}, {test.high:+.2f}] "
                      f"(p = {test.p:.2g})")


if __name__ == "__main__":
    main()
