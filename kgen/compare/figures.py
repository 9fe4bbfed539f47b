"""The report's figures: samples, grids over training, losses, metrics against epochs, minutes and
training time, latent spaces, interpolations and reconstructions. Each returns the PNG's path."""

from __future__ import annotations

import os

import numpy as np

from kgen import images
from kgen.compare.statistics import mean_interval
from kgen.compare.tables import SAMPLE_METRICS, epoch_metrics, loss_names, timed_metrics, training_ceiling
from kgen.evaluation.bootstrap import RANGES
from kgen.evaluation.report import metric_label
from kgen.files import atomic_path
from kgen.run import layout


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    plt = _pyplot()
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
    return path


def _panel_title(name, width=24):
    """An entry's name as a panel title: when longer than ``width`` characters, its settings (``@…``) on a
    line of their own, and each setting on its own line when they still do not fit."""
    if len(name) <= width:
        return name
    base, _, settings = name.partition("@")
    if not settings:
        return name
    return base + "\n@" + (settings if len(settings) < width else settings.replace(";", ";\n"))


def _show(ax, image_uint8, title=None):
    ax.imshow(image_uint8.squeeze(-1) if image_uint8.shape[-1] == 1 else image_uint8, cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(_panel_title(title), fontsize=9)


def figure_samples(models, path, n=36, seed=0):
    """Side-by-side grids of ``n`` samples from each model (latent seed ``seed``)."""
    plt = _pyplot()
    two_line_titles = any(_panel_title(name) != name for name in models)
    fig, axes = plt.subplots(1, len(models), figsize=(2.6 * len(models), 2.9 + 0.3 * two_line_titles), squeeze=False)
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
        files = sorted(f for f in os.listdir(os.path.join(run_dir, layout.SAMPLES_DIR)) if f.startswith("epoch_"))
        picks = sorted({files[round(i)] for i in np.linspace(0, len(files) - 1, min(columns, len(files)))})
        grids[name] = picks
    cols = max(len(p) for p in grids.values())
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.2 * cols + 0.6, 2.4 * len(rows)), squeeze=False)
    for r, (name, run_dir) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            if c >= len(grids[name]):
                ax.axis("off")
                continue
            file = grids[name][c]
            png = tf.io.decode_png(tf.io.read_file(os.path.join(run_dir, layout.SAMPLES_DIR, file))).numpy()
            _show(ax, png, f"epoch {int(file[6:9])}")
            if c == 0:  # the entry once, beside its row: long names do not fit above every small grid
                ax.set_ylabel(_panel_title(name), fontsize=9)
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
        ax.set_title(_panel_title(name), fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize="x-small")
    return _save(fig, path)


def figure_metric_curves(grouped, path, prefix="classifier", against="epoch"):
    """Each training-time metric (``<prefix>_fid`` …) per entry (mean over seeds, with a band of its 95 %
    interval) against the epochs that computed it (every ``--metrics-every``) or the wall-clock minutes of
    training at their ends, with the real-data ceiling dashed. Returns ``None`` without such metrics."""
    curves = {}
    for name, records in grouped.items():
        runs_ = [(epoch_metrics(r.run_dir, prefix), r.history.get("epoch_seconds", [])) for r in records]
        runs_ = [(points, seconds) for points, seconds in runs_ if points]
        epochs = sorted(set.intersection(*(set(points) for points, _ in runs_))) if runs_ else []
        if against == "epoch":
            x = epochs
        else:  # the minutes of training at the end of each epoch every run has the duration of
            epochs = [e for e in epochs if all(len(seconds) >= e for _, seconds in runs_)]
            x = [float(np.mean([np.sum(seconds[:e]) for _, seconds in runs_])) / 60.0 for e in epochs]
        if epochs:
            curves[name] = [(at, [points[e] for points, _ in runs_]) for at, e in zip(x, epochs)]
    ceiling, _, _ = training_ceiling(grouped, prefix, section="epochs")
    return _metric_panels(curves, ceiling, "epoch" if against == "epoch" else "training minutes", path, prefix)


def _metric_panels(curves, ceiling, xlabel, path, prefix="classifier"):
    """One panel per metric: ``curves`` maps each entry to its points ``[(x, [{metric key: value} of each
    seed])]``; the mean over seeds with a band of its 95 % interval, the ``ceiling`` (``{key: value}``)
    dashed, FID and KID on a log scale when positive, one legend beside the last panel. ``None`` without
    metrics."""
    keys = [k for k, _ in SAMPLE_METRICS
            if any(k in values for points in curves.values() for _, seeds in points for values in seeds)]
    if not keys:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, entry_points in curves.items():
            points = [(at, [values[key] for values in seeds if key in values]) for at, seeds in entry_points]
            points = [(at, values) for at, values in points if values]
            if points:
                _plot_mean_and_band(ax, [at for at, _ in points], [values for _, values in points], name, key)
        if key in ceiling:
            ax.axhline(ceiling[key], color="gray", linestyle="--", label="real data")
        if key in ("fid", "kid") and all(v > 0 for line in ax.get_lines() for v in line.get_ydata()):
            ax.set_yscale("log")
        ax.set_title(metric_label(key, prefix), fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0][-1].legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1, 0.5))
    return _save(fig, path)


def _plot_mean_and_band(ax, x, per_seed, label, metric=None):
    """The mean over seeds (``per_seed``: one list of values per x) and, with ≥ 2 seeds, a band of its
    95 % Student-t interval (cut to the values ``metric`` can take)."""
    found = [mean_interval(values) for values in per_seed]
    line, = ax.plot(x, [f.mean for f in found], marker="o", label=label)
    if all(f.interval for f in found):
        low, high = RANGES.get(metric, (-np.inf, np.inf))
        ax.fill_between(x, [max(f.low, low) for f in found], [min(f.high, high) for f in found],
                        color=line.get_color(), alpha=0.2, linewidth=0)


def figure_time_to_quality(grouped, path):
    """Each metric during training against minutes of training, per entry: the mean over seeds with a band
    of its 95 % interval, and the real-data ceiling dashed. Returns ``None`` when no run has timed metrics."""
    curves = {}
    for name, records in grouped.items():
        runs_ = [timed_metrics(r.run_dir) for r in records]
        minutes = sorted({m for run in runs_ for m in run})  # every time point any seed reached
        if minutes:
            curves[name] = [(m, [run[m] for run in runs_ if m in run]) for m in minutes]
    ceiling, _, _ = training_ceiling(grouped)
    return _metric_panels(curves, ceiling, "minutes of training", path)


def _test_images_and_labels(data, image_size, n):
    from kgen.data.real_images import held_out_examples
    from kgen.data.sources import NO_LABEL

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
            ax.set_title(_panel_title(f"{name}: {method} of z"), fontsize=9)
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
