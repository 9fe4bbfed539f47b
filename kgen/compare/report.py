"""The report of a comparison study: tables (mean ± std over seeds, with the real-data ceiling) and
figures, written as Markdown and as an HTML page with the same content.

Everything here reads what the runs wrote (config.json, history.json, eval/*.json, metrics.json,
samples/) and, for pictures drawn from the models (samples, latent spaces, interpolations,
reconstructions), loads the seed-0 model of each entry.
"""

from __future__ import annotations

import collections
import dataclasses
import html
import importlib.util
import json
import os

import numpy as np

from kgen import images, runs
from kgen.compare.study import anomaly_path, eval_path

FIGURES_DIR = "figures"
SAMPLE_METRICS = (("fid", "FID ↓"), ("is", "IS ↑"), ("kid", "KID ↓"), ("precision", "precision ↑"), ("recall", "recall ↑"))
AUTOENCODER_METRICS = (("reconstruction_mse", "reconstruction MSE / pixel ↓"), ("neg_elbo", "negative ELBO (nats) ↓"),
                       ("iw_nll", "importance-weighted NLL (nats) ↓"))


@dataclasses.dataclass
class RunRecord:
    """What one run of a study left behind, read from its run dir."""

    name: str
    seed: int
    run_dir: str
    record: dict
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
        return cls(name, seed, run_dir, load(os.path.join(run_dir, runs.CONFIG_FILE), {}),
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
    """``{model entry: [RunRecord per seed]}`` in the study's order."""
    grouped = collections.OrderedDict()
    for record in records:
        grouped.setdefault(record.name, []).append(record)
    return grouped


def sample_quality_table(grouped, extractor):
    """Rows of the sample-quality table for one extractor: each entry's metrics as mean ± std over
    seeds, then the real-data ceiling. Returns ``(header, rows, protocol or None)``."""
    header = ["model", "seeds"] + [label for _, label in SAMPLE_METRICS]
    rows, protocol, ceiling = [], None, None
    for name, records in grouped.items():
        reports = [r.evals[extractor] for r in records if extractor in r.evals]
        if not reports:
            continue
        protocol, ceiling = reports[0]["protocol"], reports[0]["metrics"]
        rows.append([name, str(len(reports))] + [
            mean_std([rep["metrics"][key]["value"] for rep in reports if key in rep["metrics"]]) for key, _ in SAMPLE_METRICS
        ])
    if ceiling:
        rows.append(["real data (ceiling)", "–"] + [
            f"{ceiling[key]['ceiling']:.4g}" if key in ceiling else "–" for key, _ in SAMPLE_METRICS
        ])
    return header, rows, protocol


def autoencoder_table(grouped, extractor):
    """Rows of the likelihood table (VAE, VAE-GAN): ``(header, rows)``."""
    header = ["model"] + [label for _, label in AUTOENCODER_METRICS]
    rows = []
    for name, records in grouped.items():
        scores = [r.evals[extractor]["autoencoder"] for r in records
                  if extractor in r.evals and r.evals[extractor].get("autoencoder")]
        if scores:
            rows.append([name] + [mean_std([s[key] for s in scores]) for key, _ in AUTOENCODER_METRICS])
    return header, rows


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


def class_agreement_table(grouped, extractor):
    """Rows of the table of class-conditional models: how often the evaluator classifier agrees with
    the requested class, overall and per class, in % (mean ± std over seeds). ``(header, rows)``."""
    reports = {name: [r.evals[extractor]["class_agreement"] for r in records
                      if extractor in r.evals and r.evals[extractor].get("class_agreement")]
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
    return [k for k in history if not k.startswith(("val_", "classifier_", "inception_")) and not k.endswith("_seconds")]


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


# ------------------------------------------------------------------------------------------ figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _show(ax, image_uint8, title=None):
    ax.imshow(image_uint8.squeeze(-1) if image_uint8.shape[-1] == 1 else image_uint8, cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def figure_samples(models, path, n=36, seed=0):
    """Side-by-side grids of ``n`` samples from each model (latent seed ``seed``)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(models), figsize=(2.6 * len(models), 2.9), squeeze=False)
    for ax, (name, model) in zip(axes[0], models.items()):
        _show(ax, images.make_grid(images.to_uint8(model.sample(n, seed=seed), model.output_range)), name)
    return _save(fig, path)


def figure_class_rows(models, path, per_class=8, seed=0):
    """For each class-conditional model, a grid with one row per class (columns share a latent vector)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 4.8), squeeze=False)
    for ax, (name, model) in zip(axes[0], models.items()):
        z, labels = model.class_rows_inputs(per_class, seed=seed)
        generated = images.to_uint8(model._generate_batch(z, labels), model.output_range)
        _show(ax, images.make_grid(generated, cols=per_class), name)
    return _save(fig, path)


def figure_epochs(grouped, path, columns=5):
    """For each entry (seed 0), the per-epoch sample grids of a few evenly spaced epochs."""
    plt = _pyplot()
    import tensorflow as tf

    rows = [(name, records[0].run_dir) for name, records in grouped.items()]
    grids = {}
    for name, run_dir in rows:
        files = sorted(f for f in os.listdir(os.path.join(run_dir, runs.SAMPLES_DIR)) if f.startswith("epoch_"))
        picks = sorted({files[round(i)] for i in np.linspace(0, len(files) - 1, min(columns, len(files)))})
        grids[name] = picks
    cols = max(len(p) for p in grids.values())
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.2 * cols, 2.4 * len(rows)), squeeze=False)
    for r, (name, run_dir) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(grids[name]):
                ax.axis("off")
                continue
            file = grids[name][c]
            png = tf.io.decode_png(tf.io.read_file(os.path.join(run_dir, runs.SAMPLES_DIR, file))).numpy()
            _show(ax, png, f"{name}, epoch {int(file[6:9])}")
    return _save(fig, path)


def figure_losses(grouped, path):
    """One panel per entry: its training losses against epoch (mean over seeds)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(grouped), figsize=(3.4 * len(grouped), 2.8), squeeze=False)
    for ax, (name, records) in zip(axes[0], grouped.items()):
        histories = [r.history for r in records if r.history.get("epoch_seconds")]
        for key in loss_names(histories[0]) if histories else ():
            length = min(len(h[key]) for h in histories)
            values = np.mean([h[key][:length] for h in histories], axis=0)
            ax.plot(range(1, length + 1), values, marker="o", label=key)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize="x-small")
    return _save(fig, path)


def figure_metric_curves(grouped, path, prefix="classifier", against="epoch"):
    """Each training-time metric (``<prefix>_fid`` …) per entry (mean over seeds) against epoch or
    wall-clock minutes, with the real-data ceiling dashed. Returns ``None`` without such metrics."""
    plt = _pyplot()
    keys = [k for k, _ in SAMPLE_METRICS if any(f"{prefix}_{k}" in r.history for rs in grouped.values() for r in rs)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(3.3 * len(keys), 2.8), squeeze=False)
    ceiling = {}
    for records in grouped.values():
        for r in records:
            metrics_file = os.path.join(r.run_dir, runs.METRICS_FILE)
            if not ceiling and os.path.isfile(metrics_file):
                with open(metrics_file) as f:
                    ceiling = json.load(f).get("ceiling", {})
    for ax, key in zip(axes[0], keys):
        name_key = f"{prefix}_{key}"
        for name, records in grouped.items():
            histories = [r.history for r in records if name_key in r.history]
            if not histories:
                continue
            length = min(len(h[name_key]) for h in histories)
            values = np.mean([h[name_key][:length] for h in histories], axis=0)
            if against == "epoch":
                x = np.arange(1, length + 1)
            else:
                x = np.mean([np.cumsum(h["epoch_seconds"][:length]) for h in histories], axis=0) / 60.0
            ax.plot(x, values, marker="o", label=name)
        if name_key in ceiling:
            ax.axhline(ceiling[name_key], color="gray", linestyle="--", label="real data")
        ax.set_title(f"{prefix} {key}", fontsize=9)
        ax.set_xlabel("epoch" if against == "epoch" else "training minutes")
        ax.legend(fontsize="x-small")
    return _save(fig, path)


def _test_images_and_labels(data, image_size, n):
    from kgen.data.sources import NO_LABEL
    from kgen.evaluation.evaluate import held_out_examples

    x, y = held_out_examples(data, image_size, n)
    return x, y, bool(np.all(y != NO_LABEL))


def _pca_2d(z):
    centred = z - z.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def figure_latent_space(autoencoders, data, path, n=2000):
    """The 2-D latent space of each encoder on ``n`` test images, coloured by class: PCA, and t-SNE
    when scikit-learn is installed."""
    plt = _pyplot()
    from kgen.images import from_uint8

    try:
        from sklearn.manifold import TSNE
    except ImportError:
        TSNE = None
    methods = ["PCA"] + (["t-SNE"] if TSNE else [])
    fig, axes = plt.subplots(len(methods), len(autoencoders), figsize=(3.4 * len(autoencoders), 3.2 * len(methods)),
                             squeeze=False)
    for c, (name, model) in enumerate(autoencoders.items()):
        x, y, has_labels = _test_images_and_labels(data, model.image_shape[0], n)
        labels = y.astype("int32") if model.conditional else None
        z = np.asarray(model.encode(from_uint8(x, model.output_range), labels, training=False)[0], dtype="float64")
        for r, method in enumerate(methods):
            if method == "PCA":
                points = _pca_2d(z)
            else:  # perplexity must stay below the number of points (small test sets)
                points = TSNE(2, init="pca", random_state=0, perplexity=min(30.0, (len(z) - 1) / 3)).fit_transform(z)
            ax = axes[r][c]
            for label in np.unique(y) if has_labels else [None]:
                chosen = y == label if has_labels else slice(None)
                ax.scatter(points[chosen, 0], points[chosen, 1], s=3, label=None if label is None else str(label))
            ax.set_title(f"{name}: {method} of z", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if has_labels and c == len(autoencoders) - 1:
                ax.legend(title="class", fontsize="x-small", markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5))
    return _save(fig, path)


def figure_interpolations(models, path, steps=10, pairs=3, seed=0):
    """For each model, ``pairs`` rows of linear interpolations between two latent vectors (for a
    class-conditional model, row ``i`` keeps class ``i``)."""
    plt = _pyplot()
    import tensorflow as tf

    fig, axes = plt.subplots(len(models), 1, figsize=(1.1 * steps, 1.3 * pairs * len(models)), squeeze=False)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    for ax, (name, model) in zip(axes[:, 0], models.items()):
        ends = np.asarray(model.latent_batch(2 * pairs, seed=seed))
        z = np.concatenate([(1 - t) * ends[2 * i] + t * ends[2 * i + 1] for i in range(pairs)]).astype("float32")
        labels = np.repeat(np.arange(pairs) % model.num_classes, steps).astype("int32") if model.conditional else None
        generated = images.to_uint8(model._generate_batch(tf.constant(z), labels), model.output_range)
        _show(ax, images.make_grid(generated, cols=steps), name)
    return _save(fig, path)


def figure_reconstructions(autoencoders, data, path, n=10):
    """The same ``n`` test images (top row) and each autoencoder's reconstructions (one row each)."""
    plt = _pyplot()
    from kgen.images import from_uint8

    rows = []
    size = next(iter(autoencoders.values())).image_shape[0]
    x, y, _ = _test_images_and_labels(data, size, n)
    rows.append(("test images", x))
    for name, model in autoencoders.items():
        out = model.reconstruct(from_uint8(x, model.output_range), y.astype("int32") if model.conditional else None,
                                training=False)
        rows.append((name, images.to_uint8(out, model.output_range)))
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.1 * n, 1.4 * len(rows)), squeeze=False)
    for ax, (name, batch) in zip(axes[:, 0], rows):
        _show(ax, images.make_grid(batch, cols=n), name)
    return _save(fig, path)


# ------------------------------------------------------------------------------------------ document
class Document:
    """Blocks of a report rendered both as Markdown and as a standalone HTML page."""

    def __init__(self, title):
        self.title = title
        self.blocks = []

    def heading(self, text):
        self.blocks.append(("h2", text))

    def paragraph(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        if rows:
            self.blocks.append(("table", header, rows))

    def figure(self, path, caption):
        if path:
            self.blocks.append(("img", path, caption))

    def markdown(self, base):
        out = [f"# {self.title}", ""]
        for kind, *content in self.blocks:
            if kind == "h2":
                out += [f"## {content[0]}", ""]
            elif kind == "p":
                out += [content[0], ""]
            elif kind == "table":
                header, rows = content
                out += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
                out += ["| " + " | ".join(row) + " |" for row in rows] + [""]
            else:
                out += [f"![{content[1]}]({os.path.relpath(content[0], base)})", "", f"*{content[1]}*", ""]
        return "\n".join(out)

    def html(self, base):
        esc = html.escape
        out = [f"<!doctype html><meta charset='utf-8'><title>{esc(self.title)}</title>",
               "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
               "td,th{border:1px solid #ccc;padding:3px 8px}img{max-width:100%}</style>", f"<h1>{esc(self.title)}</h1>"]
        for kind, *content in self.blocks:
            if kind == "h2":
                out.append(f"<h2>{esc(content[0])}</h2>")
            elif kind == "p":
                out.append(f"<p>{esc(content[0])}</p>")
            elif kind == "table":
                header, rows = content
                out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
                out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
                out.append("</table>")
            else:
                out.append(f"<figure><img src='{esc(os.path.relpath(content[0], base))}'>"
                           f"<figcaption>{esc(content[1])}</figcaption></figure>")
        return "\n".join(out) + "\n"


def write_report(plan, study_dir, run_list, extractor_names=("classifier", "inception"), title=None):
    """Assemble the study's tables and figures into ``report.md`` and ``report.html``.

    Args:
        plan: the :class:`kgen.compare.study.StudyPlan`.
        study_dir: the study directory.
        run_list: ``[(spec, seed, run_dir)]`` from :func:`kgen.compare.study.run_study`.
        extractor_names: extractors whose evaluation reports to tabulate (missing ones are skipped).
        title: the report's title.

    Returns:
        The path of ``report.md``.
    """
    records = [RunRecord.read(spec.name, seed, run_dir, extractor_names, plan.eval_n, plan.normal_classes)
               for spec, seed, run_dir in run_list]
    grouped = group_runs(records)
    figures = os.path.join(study_dir, FIGURES_DIR)
    os.makedirs(figures, exist_ok=True)
    models = {name: runs.load_model(rs[0].run_dir) for name, rs in grouped.items()}
    autoencoders = {name: m for name, m in models.items() if hasattr(m, "encode")}
    budget = f"a budget of {plan.budget_minutes:g} minutes each" if plan.budget_minutes else f"{plan.epochs} epochs each"
    doc = Document(title or f"kgen comparison on {plan.data}")
    if plan.description:
        doc.paragraph(plan.description + ".")
    doc.paragraph(f"Models {', '.join(plan.models)}; {plan.seeds} seed(s) per model; batch {plan.batch_size}; "
                  f"{budget}. Metrics are mean ± standard deviation over seeds; the last row of each quality "
                  "table is real data under the same protocol (the ceiling).")
    for extractor in extractor_names:
        header, rows, protocol = sample_quality_table(grouped, extractor)
        if not rows:
            continue
        doc.heading(f"Sample quality ({extractor} features)")
        doc.paragraph(f"Extractor: {protocol['extractor']}. Generated: {protocol['n_generated']} images per run; "
                      f"reference: {protocol['reference']}; ceiling: {protocol['ceiling']}; KID: {protocol['kid']}; "
                      f"precision/recall: {protocol['precision_recall']}.")
        doc.table(header, rows)
        header, rows = class_agreement_table(grouped, extractor)
        if rows:
            doc.heading("Class-conditional models: does the classifier see the requested class?")
            doc.paragraph("Share (%) of the generated images above whose class according to the evaluator "
                          "classifier is the class they were generated for; the images are spread evenly over the "
                          "classes.")
            doc.table(header, rows)
        header, rows = autoencoder_table(grouped, extractor)
        if rows:
            doc.heading("Autoencoders: reconstruction and likelihood on held-out images")
            first = next(r.evals[extractor] for rs in grouped.values() for r in rs
                         if extractor in r.evals and r.evals[extractor].get("autoencoder"))
            doc.paragraph(first["protocol"].get("autoencoder", ""))
            doc.table(header, rows)
    header, rows = anomaly_table(grouped)
    if rows:
        first = next(r.anomaly for rs in grouped.values() for r in rs if r.anomaly)
        doc.heading("Anomaly detection")
        doc.paragraph(f"Every run trained on classes {first['normal_classes']} only; the test split's "
                      f"{first['n_normal']} images of those classes are normal and its {first['n_anomalous']} others "
                      "anomalous. ROC AUC of each score (0.5 is chance): VAE reconstruction error and negative ELBO, "
                      "minus the discriminator's logit.")
        doc.table(header, rows)
    parameters = {name: network_parameters(m) for name, m in models.items() if hasattr(m, "optimizer_roles")}
    doc.heading("Size, training time and final losses")
    doc.table(*cost_table(grouped, parameters))
    doc.heading("Pictures")
    doc.figure(figure_samples(models, os.path.join(figures, "samples.png")), "36 samples of each model (latent seed 0, seed-0 runs)")
    doc.figure(figure_epochs(grouped, os.path.join(figures, "epochs.png")), "The same latent vectors over training (seed-0 runs)")
    conditional = {name: m for name, m in models.items() if getattr(m, "conditional", False)}
    if conditional:
        doc.figure(figure_class_rows(conditional, os.path.join(figures, "classes.png")),
                   "Class-conditional models: one row per class, each column from one latent vector")
    doc.figure(figure_losses(grouped, os.path.join(figures, "losses.png")), "Training losses per epoch (mean over seeds)")
    for against in ("epoch", "time"):
        doc.figure(figure_metric_curves(grouped, os.path.join(figures, f"metrics_{against}.png"), against=against),
                   f"Classifier metrics during training against {'epoch' if against == 'epoch' else 'wall-clock time'} "
                   "(mean over seeds; dashed: real data)")
    doc.figure(figure_interpolations(models, os.path.join(figures, "interpolations.png")),
               "Linear interpolations between pairs of latent vectors")
    if autoencoders:
        doc.figure(figure_latent_space(autoencoders, plan.data, os.path.join(figures, "latent.png")),
                   "Encoder means of 2,000 test images, coloured by class: PCA"
                   + (" and t-SNE" if importlib.util.find_spec("sklearn") else " (t-SNE needs scikit-learn)"))
        doc.figure(figure_reconstructions(autoencoders, plan.data, os.path.join(figures, "reconstructions.png")),
                   "The same test images and their reconstructions")
    path = os.path.join(study_dir, "report.md")
    for file, text in ((path, doc.markdown(study_dir)), (os.path.join(study_dir, "report.html"), doc.html(study_dir))):
        with open(file, "w") as f:
            f.write(text)
    return path
