"""The effects a reference paper's claim is about, from a finished ``kgen compare`` study: for each pair of
entries ``BASE->CHANGED`` the change of every metric (mean over seeds with its 95 % Welch interval), and with
two pairs and ``--contrast`` the difference between their changes (whether a change costs one family more
than another).

    python benchmarks/reproduction_effects.py STUDY_DIR --contrast \\
        --effect 'vae:paper-dcgan->vae:paper-dcgan@translate=0.1' \\
        --effect 'vaegan:paper-dcgan->vaegan:paper-dcgan@translate=0.1'

With ``--at MINUTES`` the sample metrics are those scored after that many minutes of training (a study run
with ``--metrics-at``), for claims about how fast a model gets somewhere.

Sample metrics come from the study's report.json (the classifier extractor's per-seed values); an
autoencoder's held-out reconstruction and likelihood from each run's evaluation file; the training losses
of the last epoch (``train d_loss``, …) from each run's history.json. docs/reproductions.md
quotes its output.
"""

import argparse
import glob
import json
import os

from kgen.compare.statistics import contrast_test, mean_interval
from kgen.compare.study import RUNS_DIR, parse_models
from kgen.compare.tables import timed_metrics
from kgen.run.layout import HISTORY_FILE

AUTOENCODER_METRICS = ("reconstruction_mse", "neg_elbo", "iw_nll")


def _run_dirs(study_dir, entry):
    slug = parse_models(entry)[0].slug
    return sorted(glob.glob(os.path.join(study_dir, RUNS_DIR, f"{slug}-seed[0-9]*")))


def values_at(study_dir, entry, minutes):
    """``{metric: [value per seed]}`` of one entry's classifier metrics after ``minutes`` of training."""
    values = {}
    for run_dir in _run_dirs(study_dir, entry):
        timed = timed_metrics(run_dir)
        if minutes not in timed:
            raise SystemExit(f"error: {run_dir} has no metrics at {minutes:g} min (it has {sorted(timed)})")
        for metric, value in timed[minutes].items():
            values.setdefault(metric, []).append(value)
    return values


def per_seed_values(study_dir, entry):
    """``{metric: [value per seed]}`` of one entry of the study (sample metrics and autoencoder metrics)."""
    with open(os.path.join(study_dir, "report.json"), encoding="utf-8") as f:
        report = json.load(f)
    (extractor,) = [v for k, v in report["sample_quality"].items() if k.startswith("classifier")]
    name = parse_models(entry)[0].name
    values = {metric: row["values"] for metric, row in extractor["models"][name].items()}
    for run_dir in _run_dirs(study_dir, entry):
        with open(os.path.join(run_dir, HISTORY_FILE), encoding="utf-8") as f:
            history = json.load(f)
        for key, series in sorted(history.items()):
            if key.endswith("loss") and not key.startswith("val_") and series:
                values.setdefault(f"train {key}", []).append(series[-1])
        for path in glob.glob(os.path.join(run_dir, "eval", "classifier-n*-seed0.json")):
            with open(path, encoding="utf-8") as f:
                autoencoder = json.load(f).get("autoencoder") or {}
            for metric in AUTOENCODER_METRICS:
                if metric in autoencoder:
                    values.setdefault(metric, []).append(autoencoder[metric])
    return values


def _interval(test):
    return f"{test.difference:+.4g} [{test.low:+.3g}, {test.high:+.3g}] (p = {test.p:.2g})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study_dir")
    parser.add_argument("--effect", action="append", required=True, help="BASE->CHANGED, two entries of the study")
    parser.add_argument("--contrast", action="store_true", help="with two effects: the difference between them")
    parser.add_argument("--at", type=float, metavar="MINUTES",
                        help="the sample metrics scored after MINUTES of training instead of the final ones")
    args = parser.parse_args()
    pairs = [effect.split("->") for effect in args.effect]
    read = per_seed_values if args.at is None else (lambda study, entry: values_at(study, entry, args.at))
    values = {entry: read(args.study_dir, entry) for pair in pairs for entry in pair}
    metrics = [m for m in values[pairs[0][0]] if all(m in v for v in values.values())]
    for base, changed in pairs:
        print(f"\n{base} -> {changed}")
        for metric in metrics:
            before, after = mean_interval(values[base][metric]), mean_interval(values[changed][metric])
            test = contrast_test([values[changed][metric], values[base][metric]], [1, -1])
            print(f"  {metric:20s} {before.mean:10.4g} -> {after.mean:10.4g}   change {_interval(test)}")
    if args.contrast and len(pairs) == 2:
        (a, a2), (b, b2) = pairs
        print(f"\n({a2} - {a}) - ({b2} - {b})")
        for metric in metrics:
            groups = [values[a2][metric], values[a][metric], values[b2][metric], values[b][metric]]
            print(f"  {metric:20s} {_interval(contrast_test(groups, [1, -1, -1, 1]))}")


if __name__ == "__main__":
    main()
