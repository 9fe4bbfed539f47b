"""Features of real and generated images under one extractor: the reference and ceiling sets of a data
spec (cached on disk, keyed by the extractor's hash), and the features of a model's samples."""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np

from kgen.data.real_images import held_out_split, uint8_batches
from kgen.files import atomic_path
from kgen.images import to_uint8

AUTO_CACHE = "auto"  # cache real-image features where the extractor keeps them (FeatureExtractor.cache_dir)


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
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, features=result.features, logits=result.logits, description=description)
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
             cache_dir=AUTO_CACHE, verbose=False, translate=0.0):
        """Compute (or read from the cache) the reference and ceiling features.

        The reference is the test split. The ceiling is real images the extractor never saw, scored
        exactly as generated ones: ``n_ceiling`` random images of the training images the evaluator
        held out (when the extractor is the evaluator of this data), else of the training split.
        Without a test split, alternate images of the shuffled training data go to each set.

        Args:
            extractor: a feature extractor.
            data: data spec.
            image_size: the model's image side; real images are resized to it.
            n_ceiling: real images in the ceiling set (use the number of generated images); at most
                the number of held-out images.
            n_reference: at most this many reference images.
            seed: seed of the random draw of the ceiling images.
            cache_dir: where features are cached: the extractor's cache (``extractor.cache_dir()``,
                the default), a directory, or ``None`` (no caching).
            verbose: show progress bars.
            translate: shift the real images randomly by up to this fraction (for models trained so).
        """
        from kgen.evaluation.classifier import data_key

        if cache_dir is AUTO_CACHE:
            cache_dir = extractor.cache_dir()
        stem = None
        if cache_dir:
            shifted = f"-shift{translate:g}" if translate else ""
            stem = os.path.join(cache_dir, extractor.key, f"{data_key(data)}-{image_size}px{shifted}")
        progress = (lambda n, what: keras.utils.Progbar(n, unit_name=what)) if verbose else (lambda n, what: None)
        if held_out_split(data) == "test":
            reference = _cached(
                stem and f"{stem}-test-{n_reference}.npz",
                lambda: _extract(extractor, uint8_batches(data, "test", image_size, limit=n_reference,
                                                          translate=translate),
                                 n_reference, progress(n_reference, "reference image")),
                f"{data} test split",
            )
            held_out = extractor.held_out(data) if hasattr(extractor, "held_out") else None
            if held_out is not None:
                first, count = held_out
                n_ceiling = min(n_ceiling, count)
                where = (f"{data} training images {first}–{first + count - 1}, held out from the evaluator's training: "
                         f"{n_ceiling} random ones")
                name, skip, limit = f"heldout{first}+{count}", first, count
            else:
                where = f"{data} train split, {n_ceiling} random images (none seen by the extractor)"
                name, skip, limit = "train", 0, None
            ceiling = _cached(
                stem and f"{stem}-{name}-random{n_ceiling}-seed{seed}.npz",
                lambda: _extract(extractor, uint8_batches(data, "train", image_size, shuffle=True, seed=seed,
                                                          translate=translate, skip=skip, limit=limit),
                                 n_ceiling, progress(n_ceiling, "real image")),
                where,
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
