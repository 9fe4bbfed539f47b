"""Evaluate a generative model: generated vs real features under one stated protocol, with the value
real images get under the same protocol (the ceiling), and likelihood metrics for autoencoders.

Protocol (every report records it):

* extractor: named by the hash of its weights (kgen's shipped evaluators are pinned; see
  :mod:`kgen.evaluation.classifier`);
* reference: the data's test split (up to ``n_reference`` images, in order), at the model's image
  size; without a test split, every other image of the shuffled training data;
* generated: ``n`` images from latent seed ``seed``, quantised to uint8;
* ceiling: ``n`` real images the extractor never saw (drawn at random from the training images the
  evaluator did not train on, known by their content), scored against the same reference exactly as
  the generated ones (without a test split: the other images of the shuffled training data); always
  as many as the generated images, so both rows carry the same sample-size bias;
* KID: the unbiased MMD² over all pairs; precision/recall: k = 3 on ``min(n, n_reference)`` rows of
  each set; IS: 10 splits. Subsets and splits are chosen by the rows' content
  (:func:`kgen.evaluation.metrics.content_order`), so no number depends on the order of the images;
* intervals: every value (the ceiling's too) carries a 95 % bootstrap interval from ``replicates``
  resamples of the generated (or ceiling) and the reference images (:mod:`kgen.evaluation.bootstrap`);
* image statistics (:mod:`kgen.evaluation.image_statistics`): the relative sharpness of the generated
  images against up to ``SHARPNESS_N`` held-out real images (ceiling: the next as many), with
  a bootstrap interval; with the evaluator classifier, the classes covered and the class imbalance
  against the reference images' classes (no interval).
"""

from __future__ import annotations

import time

import numpy as np

from kgen.evaluation import metrics as metric_math
from kgen.evaluation.autoencoder import autoencoder_metrics, autoencoder_protocol
from kgen.evaluation.bootstrap import CONFIDENCE, REPLICATES, bootstrap_scores
from kgen.evaluation.features import AUTO_CACHE, RealFeatures, generated_features
from kgen.evaluation.image_statistics import MIN_SHARE_RATIO, class_coverage, laplacian_variance, ratio_interval
from kgen.names import FEATURE_METRICS, METRICS

PR_K, IS_SPLITS = 3, 10
SHARPNESS_N = 2000  # real images per set of the relative sharpness (reference, and as many for the ceiling)


def parse_metrics(text):
    """``"fid,is"`` → ``("fid", "is")``; unknown names raise ``ValueError`` listing the known ones."""
    names = tuple(dict.fromkeys(m.strip().lower() for m in str(text).split(",") if m.strip()))
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        given = ", ".join(unknown) or repr(text)
        raise ValueError(f"Unknown metric(s) {given}: expected some of {', '.join(METRICS)}.")
    return names


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
    from kgen.models.sampling import spread_labels

    if not getattr(model, "conditional", False) or extractor.name != "classifier" \
            or generated.logits.shape[1] != model.num_classes:
        return None
    requested = spread_labels(len(generated), model.num_classes)
    per_class, overall = metric_math.class_agreement(generated.logits, requested, model.num_classes)
    return {"per_class": per_class, "overall": overall,
            "n_per_class": [int(np.sum(requested == c)) for c in range(model.num_classes)]}


def score(candidate, reference, names=METRICS, seed=0, replicates=REPLICATES):
    """The sample metrics of a candidate feature set against a reference set, each with its interval.

    Args:
        candidate, reference: :class:`FeatureSet`.
        names: metrics among ``fid``, ``is``, ``kid``, ``pr`` (others, e.g. ``sharpness``, are not computed
            from features and are left out here).
        seed: seed of the bootstrap resamples.
        replicates: bootstrap resamples per interval (0: no intervals).

    Returns:
        ``{name: {"value": v, "interval": [low, high] or None}}`` with ``precision`` and ``recall`` for ``pr``
        (see :func:`kgen.evaluation.bootstrap.bootstrap_scores`).
    """
    names = [name for name in names if name in FEATURE_METRICS]
    return bootstrap_scores(candidate, reference, names, replicates, seed, splits=IS_SPLITS, k=PR_K)


def image_statistics(model, data, generated, real, extractor, n, seed=0, batch_size=500, translate=0.0,
                     replicates=REPLICATES, names=("sharpness", "classes")):
    """The relative sharpness of generated images and, with the evaluator classifier, their class coverage
    (:mod:`kgen.evaluation.image_statistics`), as report entries like :func:`score`'s, with the ceiling's.

    Args:
        model: the model (its image size and output range).
        data: the data spec; its held-out images are the sharpness reference (first half) and ceiling.
        generated, real: the :class:`FeatureSet` of the generated images (with their per-image sharpness) and
            the :class:`RealFeatures`.
        extractor: their extractor; class coverage only for the evaluator classifier (its classes are the data's).
        n, seed, batch_size, translate, replicates: as in :func:`evaluate`.
        names: which of ``sharpness`` and ``classes`` to compute.
    """
    from kgen.data.real_images import held_out_split, uint8_batches

    out, n = {}, min(int(n), SHARPNESS_N)
    if "classes" in names and extractor.name == "classifier":
        model_coverage = class_coverage(generated.logits, real.reference.logits)
        real_coverage = class_coverage(real.ceiling.logits, real.reference.logits)
        out["classes_covered"] = {"value": model_coverage["covered"], "interval": None,
                                  "ceiling": real_coverage["covered"], "ceiling_interval": None,
                                  "of": model_coverage["classes"]}
        out["class_tv"] = {"value": model_coverage["total_variation"], "interval": None,
                           "ceiling": real_coverage["total_variation"], "ceiling_interval": None}
    if "sharpness" not in names:
        return out
    fake = generated.sharpness  # taken when the generated images were scored: no second generation
    real_values = np.concatenate([laplacian_variance(b.numpy()) for b in uint8_batches(
        data, held_out_split(data), model.image_shape[0], batch_size=batch_size, limit=2 * n, translate=translate,
        seed=seed)])
    half = max(1, len(real_values) // 2)
    value, interval = ratio_interval(fake, real_values[:half], replicates, seed)
    ceiling, ceiling_interval = ratio_interval(real_values[half:], real_values[:half], replicates, seed) \
        if len(real_values) > half else (None, None)
    out["sharpness"] = {"value": value, "interval": interval, "ceiling": ceiling, "ceiling_interval": ceiling_interval}
    return out


def interval_protocol(replicates):
    """One line saying how the intervals of a report were computed."""
    if not replicates:
        return "none"
    return (f"{100 * CONFIDENCE:g} % bootstrap intervals: {replicates} resamples of the generated (or ceiling) and the "
            "reference images, their range re-centred on the value (kgen.evaluation.bootstrap)")


def evaluate(model, data, metrics=METRICS, n=10_000, extractor=None, n_reference=10_000, seed=0,
             batch_size=500, autoencoder_n=1000, iw_samples=64, cache_dir=AUTO_CACHE, verbose=False, translate=0.0,
             replicates=REPLICATES):
    """Evaluate a model with sample metrics (and likelihood metrics for autoencoders).

    Args:
        model: a kgen model or an :class:`kgen.export.ExportedModel`.
        data: data spec of the reference images (the data the model was trained on).
        metrics: names among :data:`METRICS`.
        n: generated images (and ceiling images: as many).
        extractor: a feature extractor (default: the evaluator classifier saved for ``data``).
        n_reference: at most this many reference images.
        seed: latent seed of the generated images, and seed of the ceiling draw and the bootstrap resamples.
        batch_size: images generated per batch.
        autoencoder_n: test images for the autoencoder metrics (0 skips them).
        iw_samples: K of the importance-weighted bound.
        cache_dir: cache of real-image features: the extractor's (default), a directory, or ``None``.
        verbose: progress bars.
        translate: evaluate against real images shifted randomly by up to this fraction of their size
            (for models trained with ``translate``); 0 uses the images as they are.
        replicates: bootstrap resamples per interval (0: values without intervals).

    Returns:
        A JSON-serialisable report: ``protocol``, ``metrics`` (``{name: {"value", "interval", "ceiling",
        "ceiling_interval"}}``, each interval ``[low, high]`` or ``None``), ``autoencoder`` (or ``None``),
        ``class_agreement`` (a class-conditional
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
    values = score(generated, real.reference, metrics, seed, replicates)
    ceiling = score(real.ceiling, real.reference, metrics, seed, replicates)
    for name, entry in values.items():
        entry["ceiling"], entry["ceiling_interval"] = ceiling[name]["value"], ceiling[name]["interval"]
    values.update(image_statistics(model, data, generated, real, extractor, n, seed, batch_size, translate, replicates,
                                   metrics))
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
            "kid": "unbiased MMD² over all pairs (cubic polynomial kernel)",
            "precision_recall": f"k = {PR_K}, {min(len(generated), len(real.reference))} images per set",
            "sharpness": f"variance of the 4-neighbour Laplacian, mean over the {len(generated)} generated images / "
                         f"mean over {min(int(n), SHARPNESS_N)} held-out real images (ceiling: the next as many)",
            "classes": f"evaluator classifier's decisions; a class is covered at >= {MIN_SHARE_RATIO:g} × its share "
                       "among the reference images; imbalance: total variation between the class shares",
            "is_splits": min(IS_SPLITS, len(generated)),
            "seed": seed,
            "translate": translate,
            "intervals": interval_protocol(replicates),
        },
        "metrics": values,
        "autoencoder": None,
        "class_agreement": class_agreement(model, extractor, generated),
    }
    if autoencoder_n and model.has_encoder:
        report["autoencoder"] = autoencoder_metrics(model, data, autoencoder_n, iw_samples, seed, verbose=verbose,
                                                    translate=translate)
        report["protocol"]["autoencoder"] = autoencoder_protocol(report["autoencoder"])
    report["seconds"] = time.perf_counter() - start
    return report
