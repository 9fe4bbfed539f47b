"""Features of real and generated images under one extractor: the reference and ceiling sets of a data
spec (cached on disk, keyed by the extractor's hash and the images' content), and the features of a
model's samples."""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np

from kgen.data.real_images import held_out_split, uint8_batches
from kgen.files import atomic_path
from kgen.evaluation.image_statistics import laplacian_variance
from kgen.images import to_uint8

AUTO_CACHE = "auto"  # cache real-image features where the extractor keeps them (FeatureExtractor.cache_dir)


def _extract(extractor, batches, n, progress=None, per_image=None):
    """Features and logits of the first ``n`` images of ``batches``; with ``per_image`` (a function of a uint8
    batch), also its values over those images, from the same pass."""
    features, logits, values, count = [], [], [], 0
    for batch in batches:
        batch = batch[: n - count]
        if per_image is not None:
            values.append(per_image(np.asarray(batch)))
        batch_features, batch_logits = extractor(batch)
        features.append(batch_features)
        logits.append(batch_logits)
        count += len(batch_features)
        if progress is not None:
            progress.add(len(batch_features))
        if count >= n:
            break
    if per_image is not None:
        return np.concatenate(features), np.concatenate(logits), np.concatenate(values)
    return np.concatenate(features), np.concatenate(logits)


@dataclasses.dataclass
class FeatureSet:
    """Features and logits of one image set, what the set is, and (generated sets) each image's Laplacian
    variance (:func:`kgen.evaluation.image_statistics.laplacian_variance`), taken from the same pixels."""

    features: np.ndarray
    logits: np.ndarray
    description: str
    sharpness: np.ndarray | None = None

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


class NotEnoughRealImages(ValueError):
    """The real-data ceiling cannot have as many images as the generated set; the message says how many
    it can have."""


def ceiling_capacity(extractor, data):
    """How many real images the ceiling of ``data`` can hold under ``extractor``: the training images
    it never saw (with a test split), else half of the training images (the other half is the reference).
    ``n`` generated images need at most this many."""
    from kgen.data.content import split_content

    train = split_content(data, "train")
    if held_out_split(data) != "test":
        return len(train) // 2
    return int(np.sum(_unseen(extractor, data, train)[0]))


def check_ceiling_capacity(extractor, data, n, option="--n"):
    """Raise :class:`NotEnoughRealImages` unless the ceiling of ``data`` can hold ``n`` images (so the
    model's row and the ceiling carry the same sample-size bias)."""
    capacity = ceiling_capacity(extractor, data)
    if int(n) > capacity:
        raise NotEnoughRealImages(
            f"{option} {n} is more than the {capacity} real images of {data} that can score the real-data ceiling "
            f"(training images the evaluator never saw): use {option} {capacity} or fewer, so that the model and "
            "the ceiling are scored on as many images.")


def _unseen(extractor, data, content):
    """``(mask, description)`` of the training images ``extractor`` never saw (all, for an extractor that
    never trained on any, such as InceptionV3)."""
    if hasattr(extractor, "unseen"):
        return extractor.unseen(data, content)
    return np.ones(len(content), bool), f"none seen by the {extractor.name} extractor"


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
        exactly as generated ones: ``n_ceiling`` random images of the training images it did not train
        on (known by content: :meth:`kgen.evaluation.classifier.ClassifierExtractor.unseen`).
        Without a test split, alternate images of the shuffled training data go to each set. Cache
        entries are keyed by the extractor's hash and the content of the split (its fingerprint), never
        by the data's name.

        Args:
            extractor: a feature extractor.
            data: data spec.
            image_size: the model's image side; real images are resized to it.
            n_ceiling: real images in the ceiling set: the number of generated images, so that both rows
                carry the same sample-size bias.
            n_reference: at most this many reference images.
            seed: seed of the random draw of the ceiling images.
            cache_dir: where features are cached: the extractor's cache (``extractor.cache_dir()``,
                the default), a directory, or ``None`` (no caching).
            verbose: show progress bars.
            translate: shift the real images randomly by up to this fraction (for models trained so).

        Raises:
            NotEnoughRealImages: fewer than ``n_ceiling`` images can make the ceiling.
        """
        from kgen.data.content import split_content

        if cache_dir is AUTO_CACHE:
            cache_dir = extractor.cache_dir()

        def stem(content):
            if not cache_dir:
                return None
            shifted = f"-shift{translate:g}" if translate else ""
            return os.path.join(cache_dir, extractor.key, f"{content.fingerprint[:16]}-{image_size}px{shifted}")

        progress = (lambda n, what: keras.utils.Progbar(n, unit_name=what)) if verbose else (lambda n, what: None)
        if held_out_split(data) != "test":
            return cls._from_training_images(extractor, data, image_size, n_ceiling, n_reference, seed, translate)
        test, train = split_content(data, "test"), split_content(data, "train")
        reference = _cached(
            stem(test) and f"{stem(test)}-test-{n_reference}.npz",
            lambda: _extract(extractor, uint8_batches(data, "test", image_size, limit=n_reference,
                                                      translate=translate),
                             n_reference, progress(n_reference, "reference image")),
            f"{data} test split",
        )
        unseen, which = _unseen(extractor, data, train)
        candidates = np.flatnonzero(unseen)
        if len(candidates) < n_ceiling:
            raise NotEnoughRealImages(
                f"The real-data ceiling needs {n_ceiling} images of {data} the evaluator never saw (as many as the "
                f"generated ones); there are {len(candidates)}: score {len(candidates)} images or fewer.")
        chosen = np.sort(np.random.default_rng(seed).choice(candidates, n_ceiling, replace=False))
        ceiling = _cached(
            stem(train) and f"{stem(train)}-unseen-random{n_ceiling}-seed{seed}.npz",
            lambda: _extract(extractor, uint8_batches(data, "train", image_size, translate=translate, indices=chosen),
                             n_ceiling, progress(n_ceiling, "real image")),
            f"{n_ceiling} random {data} training images, {which}",
        )
        return cls(reference, ceiling)

    @classmethod
    def _from_training_images(cls, extractor, data, image_size, n_ceiling, n_reference, seed, translate):
        """Without a test split: alternate images of the shuffled training data go to the reference and
        the ceiling (not cached)."""
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
        if len(ceiling) < n_ceiling:
            raise NotEnoughRealImages(
                f"The real-data ceiling needs {n_ceiling} images of {data} besides the reference (as many as the "
                f"generated ones); {data} has no test split and {len(ceiling)} are left: score {len(ceiling)} "
                "images or fewer.")
        return cls(reference, ceiling)


def generated_features(model, extractor, n, seed=0, batch_size=500, verbose=False):
    """Features of ``n`` images generated from latent seed ``seed``, quantised to uint8 first (a
    class-conditional model's spread evenly over its classes)."""
    progress = keras.utils.Progbar(n, unit_name="generated image") if verbose else None
    batches = (to_uint8(b, model.output_range) for b in model.sample_batches(n, seed=seed, batch_size=batch_size))
    features, logits, sharpness = _extract(extractor, batches, n, progress, per_image=laplacian_variance)
    return FeatureSet(features, logits, f"{n} generated images, seed {seed}", sharpness)
