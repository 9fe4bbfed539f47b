"""Evaluate a generative model: generated vs real features under one stated protocol, with the value
real images get under the same protocol (the ceiling), and likelihood metrics for autoencoders.

Protocol (every report records it):

* reference: the data's test split (up to ``n_reference`` images, in order), at the model's image
  size; without a test split, every other image of the shuffled training data;
* generated: ``n`` images from latent seed ``seed``, quantised to uint8;
* ceiling: ``n`` real training images drawn at random,
  scored against the same reference exactly as the generated ones (without a test split: the other
  images of the shuffled training data);
* KID: 100 subsets of min(1000, n) per set; precision/recall: k = 3 on the first
  ``min(n, n_reference)`` rows of each set; IS: 10 splits.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgen import losses
from kgen.data import NoSplitError, load_dataset
from kgen.evaluation import likelihood, metrics as metric_math
from kgen.images import from_uint8, to_uint8, to_uint8_tensor

METRICS = ("fid", "is", "kid", "pr")
DEFAULT_CACHE = os.path.join("saved_models", ".cache", "features")
KID_SUBSETS, KID_SUBSET_SIZE, PR_K, IS_SPLITS = 100, 1000, 3, 10


def parse_metrics(text):
    """``"fid,is"`` → ``("fid", "is")``; unknown names raise ``ValueError`` listing the known ones."""
    names = tuple(dict.fromkeys(m.strip().lower() for m in str(text).split(",") if m.strip()))
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        given = ", ".join(unknown) or repr(text)
        raise ValueError(f"Unknown metric(s) {given}: expected some of {', '.join(METRICS)}.")
    return names


def uint8_batches(spec, split, image_size, batch_size=500, shuffle=False, seed=0, limit=None, translate=0.0,
                  labels=False):
    """Yield the uint8 image batches ``[b, H, W, C]`` of one split of a data spec (resized to ``image_size``,
    randomly shifted by up to ``translate`` of the size when asked, as in training); with ``labels``,
    ``(images, labels)`` pairs."""
    dataset, info = load_dataset(spec, batch_size, (0.0, 255.0), image_size, split, seed, shuffle=shuffle,
                                 limit=limit, drop_remainder=False, translate=translate, labels=labels)
    for batch in dataset:
        images = batch[0] if labels else batch
        images = to_uint8_tensor(images, (0.0, 255.0))
        yield (images, batch[1]) if labels else images


@functools.lru_cache(maxsize=64)
def held_out_split(data):
    """``"test"`` if the data spec has a test split, else ``"train"`` (e.g. an image folder).

    Remembered per spec: finding out reads the split, and an evaluation asks several times."""
    from kgen.data import sources

    try:
        sources.resolve(data, "test")
        return "test"
    except NoSplitError:
        return "train"


def held_out_examples(data, image_size, n):
    """The first ``n`` test images of ``data`` as uint8 (training images if it has no test split) and
    their labels (-1 for unlabelled data), as NumPy arrays."""
    images, labels = next(uint8_batches(data, held_out_split(data), image_size, batch_size=n, limit=n, labels=True))
    return images.numpy(), labels.numpy()


def _extract(extractor, batches, n, progress=None):
    features, logits, count = [], [], 0
    for batch in batches:
        batch = batch[: n - count]
        batch_features, batch_logits = extractor(batch)
        features.append(batch_features)
        logits.append(batch_logits)
        count += len(batch_features)
        if progress is not None:
            progress.add(len(batch_features))
        if count >= n:
            break
    return np.concatenate(features), np.concatenate(logits)


@dataclasses.dataclass
class FeatureSet:
    """Features and logits of one image set, and what the set is."""

    features: np.ndarray
    logits: np.ndarray
    description: str

    def __len__(self):
        return len(self.features)


def _cached(path, compute, description):
    if path and os.path.isfile(path):
        with np.load(path) as saved:
            return FeatureSet(saved["features"], saved["logits"], str(saved["description"]))
    result = FeatureSet(*compute(), description)
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}.npz"
        np.savez(tmp, features=result.features, logits=result.logits, description=description)
        os.replace(tmp, path)
    return result


@dataclasses.dataclass
class RealFeatures:
    """The reference set and the ceiling set of a data spec under one extractor (cached on disk).

    Use :meth:`load`; the result can score any number of models (and epochs) against the same reference.
    """

    reference: FeatureSet
    ceiling: FeatureSet

    @classmethod
    def load(cls, extractor, data, image_size, n_ceiling, n_reference=10_000, seed=0,
             cache_dir=DEFAULT_CACHE, verbose=False, translate=0.0):
        """Compute (or read from the cache) the reference and ceiling features.

        Args:
            extractor: a feature extractor.
            data: data spec.
            image_size: the model's image side; real images are resized to it.
            n_ceiling: real images in the ceiling set (use the number of generated images).
            n_reference: at most this many reference images.
            seed: seed of the random draw of the ceiling images.
            cache_dir: where features are cached (``None`` disables caching).
            verbose: show progress bars.
            translate: shift the real images randomly by up to this fraction (for models trained so).
        """
        from kgen.evaluation.classifier import data_key

        stem = None
        if cache_dir:
            shifted = f"-shift{translate:g}" if translate else ""
            stem = os.path.join(cache_dir, extractor.key, f"{data_key(data)}-{image_size}px{shifted}")
        progress = (lambda n, what: keras.utils.Progbar(n, unit_name=what)) if verbose else (lambda n, what: None)
        if held_out_split(data) == "test":
            reference = _cached(
                stem and f"{stem}-test-{n_reference}.npz",
                lambda: _extract(extractor, uint8_batches(data, "test", image_size, limit=n_reference, translate=translate),
                                 n_reference,
                                 progress(n_reference, "reference image")),
                f"{data} test split",
            )
            ceiling = _cached(
                stem and f"{stem}-train-random{n_ceiling}-seed{seed}.npz",
                lambda: _extract(extractor, uint8_batches(data, "train", image_size, shuffle=True, seed=seed,
                                                          translate=translate),
                                 n_ceiling, progress(n_ceiling, "real image")),
                f"{data} train split, {n_ceiling} random images",
            )
            return cls(reference, ceiling)

        # No test split: alternate images of the shuffled training data go to the reference and the ceiling.
        sets, limits = (([], []), ([], [])), (n_reference, n_ceiling)
        for batch in uint8_batches(data, "train", image_size, shuffle=True, seed=seed, translate=translate):
            for (features, logits), limit, half in zip(sets, limits, (batch[0::2], batch[1::2])):
                room = limit - sum(len(f) for f in features)
                if room > 0 and len(half):
                    half_features, half_logits = extractor(half[:room])
                    features.append(half_features)
                    logits.append(half_logits)
        halves = ("even images of the shuffled training data", "odd images of the shuffled training data")
        reference, ceiling = (FeatureSet(np.concatenate(features), np.concatenate(logits), f"{data}, {what}")
                              for (features, logits), what in zip(sets, halves))
        return cls(reference, ceiling)


def generated_features(model, extractor, n, seed=0, batch_size=500, verbose=False):
    """Features of ``n`` images generated from latent seed ``seed``, quantised to uint8 first (a
    class-conditional model's spread evenly over its classes)."""
    progress = keras.utils.Progbar(n, unit_name="generated image") if verbose else None
    batches = (to_uint8(b, model.output_range) for b in model.sample_batches(n, seed=seed, batch_size=batch_size))
    return FeatureSet(*_extract(extractor, batches, n, progress), f"{n} generated images, seed {seed}")


def class_agreement(model, extractor, generated):
    """For a class-conditional model scored by the evaluator classifier of its data: how often the
    classifier agrees with the class each generated image was requested for.

    Args:
        model: the model that made ``generated`` (with :func:`generated_features`, i.e. ``n`` images
            spread evenly over its classes).
        extractor: the extractor of ``generated``.
        generated: :class:`FeatureSet` of the generated images.

    Returns:
        ``{"per_class": [accuracy of class c], "overall", "n_per_class"}``, or ``None`` when the model
        is unconditional or the extractor's classes are not the model's (e.g. InceptionV3's).
    """
    from kgen.models.base import spread_labels

    if not getattr(model, "conditional", False) or extractor.name != "classifier" \
            or generated.logits.shape[1] != model.num_classes:
        return None
    requested = spread_labels(len(generated), model.num_classes)
    per_class, overall = metric_math.class_agreement(generated.logits, requested, model.num_classes)
    return {"per_class": per_class, "overall": overall,
            "n_per_class": [int(np.sum(requested == c)) for c in range(model.num_classes)]}


def score(candidate, reference, names=METRICS, seed=0):
    """The sample metrics of a candidate feature set against a reference set.

    Args:
        candidate, reference: :class:`FeatureSet`.
        names: metrics among ``fid``, ``is``, ``kid``, ``pr``.
        seed: seed of KID's subsets.

    Returns:
        ``{name: {"value": v[, "std": s]}}`` with ``precision`` and ``recall`` for ``pr``.
    """
    out = {}
    if "fid" in names:
        out["fid"] = {"value": metric_math.fid(candidate.features, reference.features)}
    if "is" in names:
        mean, std = metric_math.inception_score(candidate.logits, splits=min(IS_SPLITS, len(candidate)))
        out["is"] = {"value": mean, "std": std}
    if "kid" in names:
        mean, std = metric_math.kid(candidate.features, reference.features, KID_SUBSETS, KID_SUBSET_SIZE, seed)
        out["kid"] = {"value": mean, "std": std}
    if "pr" in names:
        m = min(len(candidate), len(reference))
        precision, recall = metric_math.precision_recall(reference.features[:m], candidate.features[:m], k=PR_K)
        out["precision"], out["recall"] = {"value": precision}, {"value": recall}
    return out


# A latent dimension counts as active when its KL from the prior, averaged over the data, exceeds this
# (nats): below it the encoder barely moves the dimension away from the prior.
ACTIVE_KL = 0.01


def is_autoencoder(model):
    """Whether ``model`` has an encoder (a VAE / VAE-GAN, or an export with an ``encode`` signature)."""
    return callable(getattr(model, "encode", None)) and getattr(model, "has_encoder", True)


def autoencoder_metrics(model, data, n=1000, samples=64, seed=0, batch_size=None, verbose=False, translate=0.0):
    """Reconstruction error, negative ELBO and importance-weighted NLL on held-out images.

    Every term uses the same pixel model for every autoencoder, so VAE and VAE-GAN compare: images and
    decoder outputs mapped to [0, 1], a Bernoulli likelihood per pixel (nats per image).

    Args:
        model: a VAE or VAE-GAN (or its export).
        data: data spec; its test split is used (the training split if it has none).
        n: number of test images.
        samples: K, posterior samples per image for the ELBO and the importance-weighted bound.
        seed: seed of the posterior samples.
        batch_size: images per step (default ``max(1, 1024 // samples)``).
        verbose: show a progress bar.
        translate: shift the test images randomly by up to this fraction of their size.

    Returns:
        ``{"n", "samples", "reconstruction_mse", "reconstruction_nll", "neg_elbo", "iw_nll",
        "kl_per_dimension", "active_dimensions"}``: per-pixel squared error and Bernoulli NLL of the
        posterior-mean reconstruction, the negative ELBO and the negative importance-weighted bound,
        averaged over the images; the KL of each latent dimension (nats, averaged over the images) and
        how many exceed ``ACTIVE_KL`` nats. For a class-conditional model every term is conditioned on
        the images' labels (the bounds are of −log p(x | y)).
    """
    batch_size = batch_size or max(1, 1024 // samples)
    size = model.image_shape[0]
    batches = uint8_batches(data, held_out_split(data), size, batch_size, limit=n, translate=translate, labels=True)
    scorer = AutoencoderScorer(model, samples, seed)
    totals = dict.fromkeys(AutoencoderScorer.SCORES, 0.0)
    kl_totals = 0.0
    count = 0
    progress = keras.utils.Progbar(n, unit_name="test image") if verbose else None
    for images, labels in batches:
        scores = scorer(images, labels if model.conditional else None)
        kl_totals = kl_totals + np.sum(scores.pop("kl_per_dimension"), axis=0)
        for key, values in scores.items():
            totals[key] += float(np.sum(values))
        count += int(images.shape[0])
        if progress is not None:
            progress.add(int(images.shape[0]))
    kl = kl_totals / count
    return {"n": count, "samples": samples, **{k: v / count for k, v in totals.items()},
            "kl_per_dimension": [float(v) for v in kl], "active_dimensions": int(np.sum(kl > ACTIVE_KL))}


class AutoencoderScorer:
    """Per-image reconstruction and likelihood scores of an autoencoder (VAE, VAE-GAN or their exports).

    Images and decoder outputs are mapped to [0, 1] and scored with a Bernoulli pixel likelihood, the
    same for every model. Posterior samples are drawn from stateless seeds ``(seed, call index)``.

    Args:
        model: anything with ``encode``, ``decode``, ``output_range``, ``conditional``.
        samples: K, posterior samples per image.
        seed: seed of the posterior samples.
    """

    SCORES = ("reconstruction_mse", "reconstruction_nll", "neg_elbo", "iw_nll")

    def __init__(self, model, samples=64, seed=0):
        low, high = model.output_range
        self.value_range, self.samples, self.seed = (low, high), samples, seed
        self._encode = tf.function(lambda x, labels=None: model.encode(x, labels, training=False))
        self._decode = tf.function(
            lambda z, labels=None: (tf.cast(model.decode(z, labels, training=False), tf.float32) - low) / (high - low))
        self._calls = 0

    def __call__(self, images, labels=None):
        """``{score: float64 NumPy [b]}`` for uint8 images ``[b, H, W, C]`` (and their ``labels``, for a
        class-conditional model): per-pixel squared error and Bernoulli NLL of the posterior-mean
        reconstruction, negative ELBO and negative importance-weighted bound (nats); and
        ``kl_per_dimension`` ``[b, latent]``."""
        x01 = tf.cast(images, tf.float32) / 255.0
        if labels is not None:
            labels = tf.cast(labels, tf.int32)
        mean, log_var = (tf.cast(t, tf.float32) for t in self._encode(from_uint8(images, self.value_range), labels))
        reconstruction = self._decode(mean, labels)
        b, k = int(images.shape[0]), self.samples
        eps = tf.random.stateless_normal((k, b, mean.shape[-1]), seed=tf.constant([self.seed, self._calls], tf.int64))
        self._calls += 1
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
        decoded = self._decode(tf.reshape(z, (k * b, -1)), None if labels is None else tf.tile(labels, [k]))
        log_px = -tf.reshape(losses.bernoulli_nll_per_example(tf.tile(x01, (k, 1, 1, 1)), decoded), (k, b))
        elbo, iw_bound = likelihood.elbo_and_iw_bound(likelihood.importance_log_weights(log_px, z, mean, log_var))
        return {
            "reconstruction_mse": tf.reduce_mean(tf.square(reconstruction - x01), axis=[1, 2, 3]).numpy().astype("float64"),
            "reconstruction_nll": losses.bernoulli_nll_per_example(x01, reconstruction).numpy().astype("float64"),
            "neg_elbo": -elbo.numpy(),
            "iw_nll": -iw_bound.numpy(),
            "kl_per_dimension": losses.kl_per_dimension(mean, log_var).numpy().astype("float64"),
        }


def evaluate(model, data, metrics=METRICS, n=10_000, extractor=None, n_reference=10_000, seed=0,
             batch_size=500, autoencoder_n=1000, iw_samples=64, cache_dir=DEFAULT_CACHE, verbose=False, translate=0.0):
    """Evaluate a model with sample metrics (and likelihood metrics for autoencoders).

    Args:
        model: a kgen model or an :class:`kgen.export.ExportedModel`.
        data: data spec of the reference images (the data the model was trained on).
        metrics: names among :data:`METRICS`.
        n: generated images (and ceiling images).
        extractor: a feature extractor (default: the evaluator classifier saved for ``data``).
        n_reference: at most this many reference images.
        seed: latent seed of the generated images, and seed of the ceiling draw and KID subsets.
        batch_size: images generated per batch.
        autoencoder_n: test images for the autoencoder metrics (0 skips them).
        iw_samples: K of the importance-weighted bound.
        cache_dir: cache of real-image features (``None`` disables it).
        verbose: progress bars.
        translate: evaluate against real images shifted randomly by up to this fraction of their size
            (for models trained with ``translate``); 0 uses the images as they are.

    Returns:
        A JSON-serialisable report: ``protocol``, ``metrics`` (``{name: {"value", "std"?, "ceiling",
        "ceiling_std"?}}``), ``autoencoder`` (or ``None``), ``class_agreement`` (a class-conditional
        model's per-class agreement of the evaluator classifier with the requested class, see
        :func:`class_agreement`; else ``None``) and ``seconds``.
    """
    from kgen.evaluation.classifier import find_evaluator

    start = time.perf_counter()
    metrics = parse_metrics(metrics if isinstance(metrics, str) else ",".join(metrics))
    if int(n) < 2:
        raise ValueError(f"n must be at least 2 generated images; got {n}.")
    extractor = extractor or find_evaluator(data)
    real = RealFeatures.load(extractor, data, model.image_shape[0], n, n_reference, seed, cache_dir, verbose, translate)
    generated = generated_features(model, extractor, n, seed, batch_size, verbose)
    values = score(generated, real.reference, metrics, seed)
    ceiling = score(real.ceiling, real.reference, metrics, seed)
    for name, entry in values.items():
        entry["ceiling"] = ceiling[name]["value"]
        if "std" in ceiling[name]:
            entry["ceiling_std"] = ceiling[name]["std"]
    report = {
        "protocol": {
            "extractor": extractor.describe(),
            "extractor_key": extractor.key,
            "data": str(data),
            "image_size": int(model.image_shape[0]),
            "reference": f"{real.reference.description}, {len(real.reference)} images",
            "generated": generated.description,
            "ceiling": f"{real.ceiling.description}, against the same reference",
            "n_generated": len(generated),
            "n_reference": len(real.reference),
            "n_ceiling": len(real.ceiling),
            "kid": f"{KID_SUBSETS} subsets of {min(KID_SUBSET_SIZE, len(generated), len(real.reference))}",
            "precision_recall": f"k = {PR_K}, {min(len(generated), len(real.reference))} images per set",
            "is_splits": min(IS_SPLITS, len(generated)),
            "seed": seed,
            "translate": translate,
        },
        "metrics": values,
        "autoencoder": None,
        "class_agreement": class_agreement(model, extractor, generated),
    }
    if autoencoder_n and is_autoencoder(model):
        report["autoencoder"] = autoencoder_metrics(model, data, autoencoder_n, iw_samples, seed, verbose=verbose,
                                                    translate=translate)
        report["protocol"]["autoencoder"] = (
            f"{report['autoencoder']['n']} test images; images and decoder outputs in [0, 1], Bernoulli pixel "
            f"likelihood (nats per image); K = {iw_samples} posterior samples"
        )
    report["seconds"] = time.perf_counter() - start
    return report


METRIC_LABELS = {"fid": "FID ↓", "is": "IS ↑", "kid": "KID ↓", "precision": "precision ↑", "recall": "recall ↑"}
AUTOENCODER_LABELS = {
    "reconstruction_mse": "reconstruction MSE / pixel ↓",
    "reconstruction_nll": "reconstruction NLL (nats) ↓",
    "neg_elbo": "negative ELBO (nats) ↓",
    "iw_nll": "importance-weighted NLL (nats) ↓",
}


def _value(entry, key="value", std_key="std"):
    text = f"{entry[key]:.4g}"
    return f"{text} ± {entry[std_key]:.3g}" if std_key in entry else text


def format_report(report):
    """A plain-text table of a report from :func:`evaluate`, with its protocol."""
    p = report["protocol"]
    lines = [f"extractor: {p['extractor']}",
             f"generated: {p['generated']}; reference: {p['reference']}; ceiling: {p['ceiling']}", ""]
    lines.append(f"{'metric':<34}{'model':>22}{'real data (ceiling)':>24}")
    for name, entry in report["metrics"].items():
        lines.append(f"{METRIC_LABELS[name]:<34}{_value(entry):>22}{_value(entry, 'ceiling', 'ceiling_std'):>24}")
    if report.get("autoencoder"):
        lines += ["", f"autoencoder metrics: {p['autoencoder']}"]
        for key, label in AUTOENCODER_LABELS.items():
            lines.append(f"{label:<34}{report['autoencoder'][key]:>22.4f}")
        if "kl_per_dimension" in report["autoencoder"]:
            kl = report["autoencoder"]["kl_per_dimension"]
            lines.append(f"{f'active latent dimensions (KL > {ACTIVE_KL})':<34}"
                         f"{report['autoencoder']['active_dimensions']:>18} of {len(kl)}")
            lines.append("KL per latent dimension (nats): " + " ".join(f"{v:.2f}" for v in kl))
    if report.get("class_agreement"):
        agreement = report["class_agreement"]
        lines += ["", "class agreement: the evaluator classifier's class = the requested class, per requested class"]
        lines.append("  ".join(f"{c}: {100 * a:.1f} %" for c, a in enumerate(agreement["per_class"]) if a is not None))
        lines.append(f"{'all classes ↑':<34}{100 * agreement['overall']:>20.1f} %  "
                     f"({sum(agreement['n_per_class'])} images, {min(agreement['n_per_class'])}–"
                     f"{max(agreement['n_per_class'])} per class)")
    lines.append(f"\n({report['seconds']:.1f} s)")
    return "\n".join(lines)
