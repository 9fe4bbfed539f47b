"""What a study's runs left behind (config.json, history.json, eval/*.json, metrics.json), read back and
put into the report's tables: the mean over seeds with its 95 % Student-t interval, the real-data
ceiling with its bootstrap interval, and a winner only where Welch's t-test says the lead is real."""

from __future__ import annotations

import collections
import dataclasses
import json
import os

import numpy as np

from kgen import names
from kgen.compare.statistics import mean_interval, welch_test
from kgen.compare.study import anomaly_path, eval_path
from kgen.evaluation.bootstrap import CONFIDENCE, RANGES
from kgen.evaluation.report import METRIC_LABELS, metric_label, with_interval
from kgen.run import layout
from kgen.run.record import RunRecord

# (report key, column label); "↓": lower is better.
SAMPLE_METRICS = tuple((name, METRIC_LABELS[name]) for name in names.REPORTED_METRICS)
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
                   load(os.path.join(run_dir, layout.HISTORY_FILE), {}), {k: v for k, v in evals.items() if v}, anomaly)


def mean_std(values, metric=None):
    """The mean over seeds and its 95 % Student-t interval as text: ``"12.3 [6.82, 17.8]"`` (``"12.3 (1
    seed)"`` for one value, ``"–"`` for none); for a sample ``metric`` (``"fid"``, …) the interval is cut
    to the values the metric can take."""
    found = mean_interval(values)
    if found is None:
        return "–"
    if found.interval is None:
        return f"{with_interval(found.mean)} (1 seed)"
    low, high = RANGES.get(metric, (-np.inf, np.inf))
    return with_interval(found.mean, [max(found.low, low), min(found.high, high)])


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
    each entry's metrics as the mean over seeds with its 95 % interval, then the real-data ceiling with
    its bootstrap interval. Returns ``(header, rows, protocol or None)``."""
    header = ["model", "seeds"] + [metric_label(k, extractor) for k, _ in SAMPLE_METRICS]
    rows, protocol, ceiling = [], None, None
    for name, records in grouped.items():
        reports = _reports(records, extractor, key)
        if not reports:
            continue
        protocol, ceiling = reports[0]["protocol"], reports[0]["metrics"]
        rows.append([name, str(len(reports))] + [
            mean_std(_values(reports, k), k) for k, _ in SAMPLE_METRICS
        ])
    if ceiling:
        rows.append(["real data (ceiling)", "–"] + [
            with_interval(ceiling[k]["ceiling"], ceiling[k].get("ceiling_interval")) if k in ceiling else "–"
            for k, _ in SAMPLE_METRICS
        ])
    return header, rows, protocol


def _lower_is_better(label):
    return label.endswith("↓")


def _has_direction(label):
    """Whether a metric's label says which way is better (``↑``/``↓``); a winner is named only for those."""
    return label.endswith(("↑", "↓"))


def winner(values, label, confidence=CONFIDENCE):
    """Which entry of ``{entry: [value per seed]}`` is best on one metric, and whether its lead is real.

    The best and the runner-up are the two best means; Welch's two-sided t-test of their difference
    decides: a winner is named only when ``p < 1 − confidence``.

    Returns:
        ``None`` with fewer than two entries or for a metric without a better direction (its label has no
        ``↑``/``↓``, e.g. the relative sharpness), else ``{"best", "runner_up", "best_mean", "runner_up_mean",
        "difference", "interval", "p", "verdict"}``: the difference best − runner-up with its
        ``confidence`` interval (``None`` with one seed), and the verdict as a sentence.
    """
    values = {name: found for name, found in values.items() if found}
    if len(values) < 2 or not _has_direction(label):
        return None
    order = sorted(values, key=lambda n: np.mean(values[n]), reverse=not _lower_is_better(label))
    best, second = order[0], order[1]
    test = welch_test(values[best], values[second], confidence)
    out = {"best": best, "runner_up": second, "best_mean": float(np.mean(values[best])),
           "runner_up_mean": float(np.mean(values[second])),
           "difference": float(np.mean(values[best]) - np.mean(values[second])),
           "interval": None if test is None else [test.low, test.high], "p": None if test is None else test.p}
    if test is None:
        out["verdict"] = "cannot tell: fewer than 2 seeds"
    elif test.significant(confidence):
        out["verdict"] = f"{best} is better"
    else:
        out["verdict"] = "no clear winner"
    return out


def winners_table(grouped, extractor, key=None, confidence=CONFIDENCE):
    """For each sample metric: the best entry and the runner-up (by mean over seeds), the difference of
    their means with its 95 % interval, Welch's t-test p-value and the verdict (see :func:`winner`).
    Returns ``(header, rows)``; no rows with fewer than two entries."""
    header = ["metric", "best", "mean", "runner-up", "mean", f"difference [{100 * confidence:g} % interval]",
              "Welch's t-test p", "verdict"]
    rows = []
    for metric, label in SAMPLE_METRICS:
        found = winner({name: _values(_reports(records, extractor, key), metric) for name, records in grouped.items()},
                       label, confidence)
        if found is None:
            continue
        rows.append([metric_label(metric, extractor), found["best"], f"{found['best_mean']:.4g}", found["runner_up"],
                     f"{found['runner_up_mean']:.4g}", with_interval(found["difference"], found["interval"], 3),
                     "–" if found["p"] is None else f"{found['p']:.2g}", found["verdict"]])
    return header, rows


def quality_summary(grouped, extractor, key=None):
    """What the sample-quality and winners tables of one extractor hold, as JSON-ready data:
    ``{"protocol", "models": {entry: {metric: {"values", "mean", "interval"}}}, "ceiling": {metric:
    {"value", "interval"}}, "winners": {metric: winner(...)}}``."""
    models, protocol, ceiling = {}, None, {}
    for name, records in grouped.items():
        reports = _reports(records, extractor, key)
        if not reports:
            continue
        protocol = reports[0]["protocol"]
        ceiling = {k: {"value": e["ceiling"], "interval": e.get("ceiling_interval")}
                   for k, e in reports[0]["metrics"].items() if "ceiling" in e}
        models[name] = {}
        for metric, _ in SAMPLE_METRICS:
            found = mean_interval(_values(reports, metric))
            if found is not None:
                models[name][metric] = {"values": _values(reports, metric), "mean": found.mean,
                                        "interval": found.interval}
    winners = {metric: winner({name: _values(_reports(records, extractor, key), metric)
                               for name, records in grouped.items()}, label) for metric, label in SAMPLE_METRICS}
    return {"protocol": protocol, "models": models, "ceiling": ceiling,
            "winners": {k: v for k, v in winners.items() if v is not None}}


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
    """Rows of the anomaly-detection table: ROC AUC of each score, mean over seeds with its interval."""
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
    the requested class, overall and per class, in % (mean over seeds with its interval). ``(header, rows)``."""
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


def learning_rate_text(records):
    """The learning rates an entry's runs began with (their ``config.json``), defaults resolved: ``"0.0008"`` when
    every optimizer had the same, else each by role; the seeds' when they differ, joined by `` / ``; ``"–"`` for
    runs recorded before kgen kept them."""
    texts = []
    for rates in (r.record.learning_rates for r in records if r.record is not None and r.record.learning_rates):
        values = set(rates.values())
        text = f"{values.pop():g}" if len(values) == 1 else ", ".join(f"{k} {v:g}" for k, v in rates.items())
        texts.append(text)
    return " / ".join(dict.fromkeys(texts)) or "–"


def cost_table(grouped, parameters):
    """Rows of the size / learning rate / time / final-loss table. ``parameters``: ``{entry: {network: count}}``."""
    header = ["model", "parameters", "learning rate", "epochs", "s / epoch", "final training losses"]
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
        rows.append([name, param_text, learning_rate_text(records), epochs, seconds, losses])
    return header, rows


def network_parameters(model):
    """``{network attribute: parameter count}`` of a kgen model's sub-networks."""
    names = dict.fromkeys(n for networks in model.optimizer_roles.values() for n in networks)
    return {n: int(getattr(model, n).count_params()) for n in names}


def _training_metrics(run_dir, section, position, prefix):
    """``{position: {metric key: value}}`` of the metrics ``metrics.json`` holds in ``section`` (a list of
    dicts, each with its ``position`` and ``<prefix>_<key>`` values), keys as in :data:`SAMPLE_METRICS`."""
    path = os.path.join(run_dir, layout.METRICS_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        points = json.load(f).get(section, [])
    return {entry[position]: {key: entry[f"{prefix}_{key}"] for key, _ in SAMPLE_METRICS if f"{prefix}_{key}" in entry}
            for entry in points}


def timed_metrics(run_dir, prefix="classifier"):
    """The metrics of the run in ``run_dir`` at each time point of training (``metrics.json``'s ``"timed"``):
    ``{minutes: {metric key: value}}`` with keys as in :data:`SAMPLE_METRICS`."""
    return _training_metrics(run_dir, "timed", "minutes", prefix)


def epoch_metrics(run_dir, prefix="classifier"):
    """The metrics of the run in ``run_dir`` after each epoch that computed them (``metrics.json``'s
    ``"epochs"``; every ``--metrics-every`` epochs): ``{epoch: {metric key: value}}``."""
    return _training_metrics(run_dir, "epochs", "epoch", prefix)


def training_ceiling(grouped, prefix="classifier", section="timed"):
    """The real-data ceiling of the metrics during training (from the first run whose ``metrics.json`` has
    metrics in ``section``: ``"timed"`` or ``"epochs"``), its protocol and its bootstrap intervals:
    ``({key: value}, protocol, {key: [low, high] or None})``."""
    for records in grouped.values():
        for record in records:
            path = os.path.join(record.run_dir, layout.METRICS_FILE)
            if os.path.isfile(path):
                with open(path) as f:
                    saved = json.load(f)
                if saved.get(section):
                    ceiling, intervals = saved.get("ceiling", {}), saved.get("ceiling_intervals", {})
                    keys = [key for key, _ in SAMPLE_METRICS if f"{prefix}_{key}" in ceiling]
                    return ({key: ceiling[f"{prefix}_{key}"] for key in keys}, saved.get("protocol", {}),
                            {key: intervals.get(f"{prefix}_{key}") for key in keys})
    return {}, {}, {}


def time_to_quality_table(grouped, key):
    """Rows of one metric (``key``: fid, is, …) at each time point of training, per entry (mean over seeds
    with its interval), then the ceiling. Returns ``(header, rows)``; no rows when no run scored ``key`` during
    training (e.g. the image statistics, which only the final evaluation computes)."""
    timed = {name: [timed_metrics(r.run_dir) for r in records] for name, records in grouped.items()}
    points = sorted({m for runs_ in timed.values() for t in runs_ for m in t if key in t[m]})
    if not points:
        return [], []
    header = ["model"] + [f"{m:g} min" for m in points]
    rows = [[name] + [mean_std([t[m][key] for t in runs_ if m in t and key in t[m]], key) for m in points]
            for name, runs_ in timed.items() if any(runs_)]
    ceiling, _, intervals = training_ceiling(grouped)
    if key in ceiling:
        rows.append(["real data (ceiling)"] + [with_interval(ceiling[key], intervals[key])] * len(points))
    return header, rows
