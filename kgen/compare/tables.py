"""What a study's runs left behind (config.json, history.json, eval/*.json, metrics.json), read back and
put into the report's tables: mean ± std over seeds, with the real-data ceiling."""

from __future__ import annotations

import collections
import dataclasses
import json
import os

import numpy as np

from kgen import names, runs
from kgen.record import RunRecord
from kgen.compare.study import anomaly_path, eval_path

# (report key, column label); "↓": lower is better.
SAMPLE_METRICS = tuple(zip(names.REPORTED_METRICS, ("FID ↓", "IS ↑", "KID ↓", "precision ↑", "recall ↑")))
AUTOENCODER_METRICS = (("reconstruction_mse", "reconstruction MSE / pixel ↓"), ("neg_elbo", "negative ELBO (nats) ↓"),
                       ("iw_nll", "importance-weighted NLL (nats) ↓"))


@dataclasses.dataclass
class StudyRun:
    """What one run of a study left behind, read from its run dir."""

    name: str
    seed: int
    run_dir: str
    record: RunRecord | None
    history: dict
    evals: dict  # extractor name → report
    anomaly: dict | None = None  # the anomaly-detection report, in an anomaly study

    @classmethod
    def read(cls, name, seed, run_dir, extractor_names, eval_n, normal_classes=None):
        def load(path, default=None):
            if not os.path.isfile(path):
                return default
            with open(path) as f:
                return json.load(f)

        evals = {e: load(eval_path(run_dir, e, eval_n)) for e in extractor_names}
        anomaly = load(anomaly_path(run_dir, normal_classes)) if normal_classes is not None else None
        return cls(name, seed, run_dir, RunRecord.read(run_dir),
                   load(os.path.join(run_dir, runs.HISTORY_FILE), {}), {k: v for k, v in evals.items() if v}, anomaly)


def mean_std(values):
    """``"m ± s"`` over seeds (just ``"m"`` for one value; ``"–"`` for none), 4 significant digits."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{np.mean(values):.4g} ± {np.std(values, ddof=1):.2g}"


def group_runs(records):
    """``{model entry: [StudyRun per seed]}`` in the study's order."""
    grouped = collections.OrderedDict()
    for record in records:
        grouped.setdefault(record.name, []).append(record)
    return grouped


def extractor_keys(grouped, extractor):
    """The distinct extractors (by the hash of their weights, ``protocol["extractor_key"]``) of the
    reports of one extractor kind, in the order the runs have them: one table each, never mixed."""
    keys = [r.evals[extractor]["protocol"].get("extractor_key") for rs in grouped.values() for r in rs
            if extractor in r.evals]
    return list(dict.fromkeys(keys))


def _reports(records, extractor, key):
    return [r.evals[extractor] for r in records
            if extractor in r.evals and r.evals[extractor]["protocol"].get("extractor_key") == key]


def _values(reports, metric):
    """One metric's value in each report that has it (one per seed)."""
    return [rep["metrics"][metric]["value"] for rep in reports if metric in rep["metrics"]]


def sample_quality_table(grouped, extractor, key=None):
    """Rows of the sample-quality table of one extractor (the reports whose ``extractor_key`` is ``key``):
    each entry's metrics as mean ± std over seeds, then the real-data ceiling.
    Returns ``(header, rows, protocol or None)``."""
    header = ["model", "seeds"] + [label for _, label in SAMPLE_METRICS]
    rows, protocol, ceiling = [], None, None
    for name, records in grouped.items():
        reports = _reports(records, extractor, key)
        if not reports:
            continue
        protocol, ceiling = reports[0]["protocol"], reports[0]["metrics"]
        rows.append([name, str(len(reports))] + [
            mean_std(_values(reports, k)) for k, _ in SAMPLE_METRICS
        ])
    if ceiling:
        rows.append(["real data (ceiling)", "–"] + [
            f"{ceiling[k]['ceiling']:.4g}" if k in ceiling else "–" for k, _ in SAMPLE_METRICS
        ])
    return header, rows, protocol


def winners_table(grouped, extractor, key=None):
    """For each sample metric: the best entry (by mean over seeds), the runner-up, by how much it leads,
    and whether that lead exceeds the spread over seeds (two standard deviations of either entry).
    Returns ``(header, rows)``; no rows with fewer than two entries."""
    header = ["metric", "best", "mean", "runner-up", "mean", "lead", "beyond the seeds' spread?"]
    rows = []
    for metric, label in SAMPLE_METRICS:
        values = {name: _values(_reports(records, extractor, key), metric) for name, records in grouped.items()}
        values = {name: found for name, found in values.items() if found}
        if len(values) < 2:
            continue
        order = sorted(values, key=lambda n: np.mean(values[n]), reverse=not label.endswith("↓"))
        best, second = order[0], order[1]
        lead = abs(np.mean(values[best]) - np.mean(values[second]))
        spread = 2 * max(np.std(values[n], ddof=1) if len(values[n]) > 1 else 0.0 for n in (best, second))
        verdict = "yes" if lead > spread else "no"
        if len(values[best]) < 2 or len(values[second]) < 2:
            verdict = "one seed: unknown"
        rows.append([label, best, f"{np.mean(values[best]):.4g}", second, f"{np.mean(values[second]):.4g}",
                     f"{lead:.3g}", verdict])
    return header, rows


def autoencoder_scores(record):
    """A run's autoencoder metrics from the first of its reports that has them (``None`` if none does)."""
    return next((report["autoencoder"] for report in record.evals.values() if report.get("autoencoder")), None)


def autoencoder_table(grouped):
    """Rows of the likelihood table (VAE, VAE-GAN): ``(header, rows, protocol line)``."""
    header = ["model"] + [label for _, label in AUTOENCODER_METRICS]
    rows, protocol = [], ""
    for name, records in grouped.items():
        scores = [found for found in map(autoencoder_scores, records) if found]
        if scores:
            rows.append([name] + [mean_std([s[key] for s in scores]) for key, _ in AUTOENCODER_METRICS])
            protocol = protocol or next(rep["protocol"].get("autoencoder", "") for r in records
                                        for rep in r.evals.values() if rep.get("autoencoder"))
    return header, rows, protocol


def anomaly_table(grouped):
    """Rows of the anomaly-detection table: ROC AUC of each score, mean ± std over seeds."""
    scores = ("reconstruction_error", "neg_elbo", "discriminator")
    header = ["model"] + [f"ROC AUC: {s.replace('_', ' ')} ↑" for s in scores]
    rows = []
    for name, records in grouped.items():
        reports = [r.anomaly for r in records if r.anomaly]
        if reports:
            rows.append([name] + [mean_std([rep["auc"][s] for rep in reports if s in rep["auc"]]) for s in scores])
    return header, rows


def class_agreement_table(grouped, extractor, key=None):
    """Rows of the table of class-conditional models: how often the evaluator classifier agrees with
    the requested class, overall and per class, in % (mean ± std over seeds). ``(header, rows)``."""
    reports = {name: [rep["class_agreement"] for rep in _reports(records, extractor, key) if rep.get("class_agreement")]
               for name, records in grouped.items()}
    reports = {name: found for name, found in reports.items() if found}
    if not reports:
        return [], []
    classes = len(next(iter(reports.values()))[0]["per_class"])
    header = ["model", "seeds", "all classes ↑"] + [f"class {c}" for c in range(classes)]
    rows = []
    for name, found in reports.items():
        per_class = [mean_std([100 * f["per_class"][c] for f in found if f["per_class"][c] is not None])
                     for c in range(classes)]
        rows.append([name, str(len(found)), mean_std([100 * f["overall"] for f in found])] + per_class)
    return header, rows


def loss_names(history):
    """The training losses of a history (no validation, metrics or timings)."""
    return [k for k in history
            if not k.startswith(("val_", "classifier_", "inception_")) and not k.endswith("_seconds")]


def cost_table(grouped, parameters):
    """Rows of the size / time / final-loss table. ``parameters``: ``{entry: {network: count}}``."""
    header = ["model", "parameters", "epochs", "s / epoch", "final training losses"]
    rows = []
    for name, records in grouped.items():
        histories = [r.history for r in records if r.history.get("epoch_seconds")]
        if not histories:
            continue
        params = parameters.get(name, {})
        total = sum(params.values())
        param_text = f"{total / 1e6:.2f} M (" + ", ".join(f"{k} {v / 1e6:.2f} M" for k, v in params.items()) + ")"
        epochs = mean_std([len(h["epoch_seconds"]) for h in histories])
        seconds = mean_std([float(np.median(h["epoch_seconds"])) for h in histories])
        losses = ", ".join(f"{k} {mean_std([h[k][-1] for h in histories])}" for k in loss_names(histories[0]))
        rows.append([name, param_text, epochs, seconds, losses])
    return header, rows


def network_parameters(model):
    """``{network attribute: parameter count}`` of a kgen model's sub-networks."""
    names = dict.fromkeys(n for networks in model.optimizer_roles.values() for n in networks)
    return {n: int(getattr(model, n).count_params()) for n in names}


def timed_metrics(record, prefix="classifier"):
    """A run's metrics at each time point of training (``metrics.json``'s ``"timed"``):
    ``{minutes: {metric key: value}}`` with keys as in :data:`SAMPLE_METRICS`."""
    path = os.path.join(record.run_dir, runs.METRICS_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        timed = json.load(f).get("timed", [])
    return {entry["minutes"]: {key: entry[f"{prefix}_{key}"] for key, _ in SAMPLE_METRICS if f"{prefix}_{key}" in entry}
            for entry in timed}


def timed_ceiling(grouped, prefix="classifier"):
    """The real-data ceiling of the metrics during training (from the first run's ``metrics.json``), and
    its protocol (``({key: value}, protocol)``)."""
    for records in grouped.values():
        for record in records:
            path = os.path.join(record.run_dir, runs.METRICS_FILE)
            if os.path.isfile(path):
                with open(path) as f:
                    saved = json.load(f)
                if saved.get("timed"):
                    ceiling = saved.get("ceiling", {})
                    return ({key: ceiling[f"{prefix}_{key}"] for key, _ in SAMPLE_METRICS
                             if f"{prefix}_{key}" in ceiling},
                            saved.get("protocol", {}))
    return {}, {}


def time_to_quality_table(grouped, key):
    """Rows of one metric (``key``: fid, is, …) at each time point of training, per entry (mean ± std over
    seeds), then the ceiling. Returns ``(header, rows)``; no rows when no run has timed metrics."""
    timed = {name: [timed_metrics(r) for r in records] for name, records in grouped.items()}
    points = sorted({m for runs_ in timed.values() for t in runs_ for m in t})
    if not points:
        return [], []
    header = ["model"] + [f"{m:g} min" for m in points]
    rows = [[name] + [mean_std([t[m][key] for t in runs_ if m in t and key in t[m]]) for m in points]
            for name, runs_ in timed.items() if any(runs_)]
    ceiling, _ = timed_ceiling(grouped)
    if key in ceiling:
        rows.append(["real data (ceiling)"] + [f"{ceiling[key]:.4g}"] * len(points))
    return header, rows
