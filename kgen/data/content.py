"""What a split of a data spec holds, by content: a digest of every image and a fingerprint of the
split, so that evaluation knows which images an evaluator saw and keys its caches by what the images
are, not by the name they were given (two copies of ``mnist`` in different orders, or a folder that
changed, are told apart)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os

import numpy as np

from kgen.data import sources
from kgen.files import atomic_path, user_cache_dir

DIGEST_BYTES = 8  # per image: a collision among a million images has a probability of about 3e-8
BATCH = 1000


@dataclasses.dataclass(frozen=True)
class SplitContent:
    """The content of one split of a data spec.

    Attributes:
        digests: uint64 ``[n]``: a digest of each image (its shape and uint8 pixels at their stored
            size), in the split's order.
        fingerprint: sha256 (hex) of the digests in order: equal for equal images in equal order.
    """

    digests: np.ndarray
    fingerprint: str

    def __len__(self):
        return len(self.digests)


def image_digests(images):
    """uint64 ``[n]`` digests (BLAKE2b) of uint8 images ``[n, H, W, C]``: equal for equal pixels."""
    images = np.ascontiguousarray(np.asarray(images, dtype=np.uint8))
    shape = np.asarray(images.shape[1:], np.int64).tobytes()
    return np.array([int.from_bytes(hashlib.blake2b(shape + image.tobytes(), digest_size=DIGEST_BYTES).digest(),
                                    "little") for image in images], dtype=np.uint64)


def _read_digests(spec, split):
    raw = sources.resolve(spec, split)
    dataset = raw.dataset.map(lambda image, label: image)
    if raw.files is None:  # one image size: batches are faster
        return np.concatenate([image_digests(batch) for batch in dataset.batch(BATCH).as_numpy_iterator()])
    return np.concatenate([image_digests(image[None]) for image in dataset.as_numpy_iterator()])


def split_content(spec, split="train"):
    """The :class:`SplitContent` of ``split`` of data spec ``spec``.

    Decoding every image of a split takes a while for large data, so the result is kept (in memory, and
    in ``<cache>/content/``, see :func:`kgen.files.user_cache_dir`) under the split's
    :func:`kgen.data.sources.source_identity`, a hash of the source's files: it is decoded again only
    when they change.

    Raises:
        DataError: the spec cannot be read; NoSplitError: it has no such split.
    """
    return _content_of(str(spec), split, sources.source_identity(spec, split))


@functools.lru_cache(maxsize=16)
def _content_of(spec, split, identity):
    path = os.path.join(user_cache_dir(), "content", f"{identity}.npy")
    if os.path.isfile(path):
        digests = np.load(path)
    else:
        digests = _read_digests(spec, split)
        with atomic_path(path, suffix=".npy") as tmp:
            np.save(tmp, digests)
    return SplitContent(digests, hashlib.sha256(digests.astype("<u8").tobytes()).hexdigest())
