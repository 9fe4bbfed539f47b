"""Data specs → raw examples: ``RawData`` holding a tf.data.Dataset of ``(uint8 image, label)``.

A spec is one of

* a dataset name (``mnist``, ``fashion_mnist``, ``cifar10``, ``celeb_a``), resolved local-first:
  ``$KGEN_DATA_DIR/<name>/``, then ``/usr/share/datasets/<name-with-dashes>/`` (where Debian's
  ``dataset-fashion-mnist`` installs), then tensorflow-datasets (which downloads when online);
* a directory of IDX files (``*-images-idx3-ubyte[.gz]`` with ``*-labels-idx1-ubyte[.gz]``);
* a directory of images (png/jpg/jpeg/bmp/gif, searched recursively);
* a ``.npz`` or ``.npy`` file of images (uint8 in [0, 255] or floats in [0, 1]).

Labels are -1 where the source has none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import logging
import os
import re
import socket
import threading

import numpy as np
import tensorflow as tf

from kgen.data.errors import DataError, NoSplitError
from kgen.data.idx import read_idx

DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "celeb_a")
SYSTEM_DATA_DIR = "/usr/share/datasets"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
NO_LABEL = -1
# The host tensorflow-datasets downloads from; probed before a download is attempted so an offline
# machine gets an answer in seconds instead of minutes of retries.
TFDS_HOST = ("storage.googleapis.com", 443)
# The split names of each kind of source.
IDX_SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}
NPZ_SPLIT_KEYS = {"train": ("x_train", "x", "images", "arr_0"), "test": ("x_test",)}
NPZ_LABEL_KEYS = {"x_train": "y_train", "x": "y", "images": "labels", "x_test": "y_test"}


@dataclasses.dataclass
class RawData:
    """Examples of one split of one source, before resizing, scaling and batching.

    Attributes:
        dataset: ``tf.data.Dataset`` of ``(image uint8 [H, W, C], label int64)``.
        num_examples: number of examples.
        image_shape: ``(H, W, C)`` of the (first) image.
        has_labels: whether the labels are real (else all -1).
        description: where the data came from, for logs and run records.
        files: the image files, for sources whose images are files of possibly different sizes
            (image folders); ``None`` for sources whose images all have ``image_shape``.
        sizes: for image folders, ``{(H, W): first file of that size}``; ``None`` otherwise.
        num_classes: number of classes of the labels (largest label + 1; 0 without labels).
    """

    dataset: tf.data.Dataset
    num_examples: int
    image_shape: tuple
    has_labels: bool
    description: str
    files: list | None = None
    sizes: dict | None = None
    num_classes: int = 0


def local_dataset_dir(name):
    """The local copy of a named dataset, or ``None``: ``$KGEN_DATA_DIR/<name>``, then
    ``/usr/share/datasets/<name with dashes>``."""
    candidates = []
    if os.environ.get("KGEN_DATA_DIR"):
        candidates.append(os.path.join(os.environ["KGEN_DATA_DIR"], name))
    candidates.append(os.path.join(SYSTEM_DATA_DIR, name.replace("_", "-")))
    for directory in candidates:
        if os.path.isdir(directory) and os.listdir(directory):
            return directory
    return None


def resolve(spec, split="train"):
    """Turn a data spec into :class:`RawData` for ``split`` (``"train"`` or ``"test"``).

    Raises:
        DataError: the spec names nothing usable; the message says what was expected.
    """
    spec = str(spec)
    if split not in ("train", "test"):
        raise DataError(f"Unknown split {split!r}: expected 'train' or 'test'.")
    if spec in DATASET_NAMES:
        local = local_dataset_dir(spec)
        return from_directory(local, split) if local else from_tfds(spec, split)
    if os.path.isdir(spec):
        return from_directory(spec, split)
    if os.path.isfile(spec):
        if spec.endswith((".npz", ".npy")):
            return from_array_file(spec, split)
        raise DataError(f"Data file {spec} is not a .npz or .npy file; expected an array file, a directory or a "
                        "dataset name.")
    raise DataError(
        f"Data spec {spec!r} does not exist: expected a dataset name ({', '.join(DATASET_NAMES)}), "
        "a directory of IDX files or images, or a .npz/.npy file."
    )


def source_identity(spec, split="train"):
    """A short hash that changes whenever what ``resolve(spec, split)`` reads changes: the bytes of the
    files of a local source (read, not trusted by size and date), or a tensorflow-datasets dataset's name,
    version and data directory. Used to remember facts about a split's content without decoding it again
    (:mod:`kgen.data.content`)."""
    spec = str(spec)
    if spec in DATASET_NAMES:
        local = local_dataset_dir(spec)
        if not local:
            import tensorflow_datasets as tfds

            with _quiet_absl():
                builder = tfds.builder(spec)
            return _short_hash(f"tfds:{spec}:{builder.version}:{builder.data_dir}:{split}".encode())
        spec = local
    path = os.path.abspath(spec)
    files = sorted(os.path.join(root, name) for root, _, names in os.walk(path) for name in names) \
        if os.path.isdir(path) else [path]
    digest = hashlib.blake2b(split.encode(), digest_size=16)
    for file in files:
        digest.update(os.path.relpath(file, path).encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _short_hash(data):
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def from_directory(directory, split="train"):
    """IDX files if the directory has them, else an array file in it, else its images."""
    entries = os.listdir(directory)
    if not entries:
        raise DataError(f"Data directory {directory} is empty: expected IDX files, a .npz/.npy file or images.")
    if any(re.search(r"-images[-.]idx3-ubyte", e) for e in entries):
        return from_idx_directory(directory, split)
    arrays = sorted(e for e in entries if e.endswith((".npz", ".npy")))
    if arrays:
        return from_array_file(os.path.join(directory, arrays[0]), split)
    if split != "train":
        raise NoSplitError(f"{directory} is a folder of images, which has no {split} split.")
    return from_image_folder(directory)


def _find_idx(directory, prefixes, kind):
    for prefix in prefixes:
        # LeCun's names use "-idx"; copies extracted on some systems have ".idx" (train-images.idx3-ubyte).
        for pattern in (f"{prefix}-{kind}[-.]idx*-ubyte", f"{prefix}-{kind}[-.]idx*-ubyte.gz"):
            found = sorted(glob.glob(os.path.join(directory, pattern)))
            if found:
                return found[0]
    return None


def from_idx_directory(directory, split="train"):
    """Images (and labels when present) from ``<prefix>-images-idx3-ubyte[.gz]`` files."""
    prefixes = IDX_SPLIT_PREFIXES[split]
    images_path = _find_idx(directory, prefixes, "images")
    if images_path is None:
        raise NoSplitError(
            f"No {split} images in {directory}: expected a file named "
            f"{prefixes[0]}-images-idx3-ubyte or {prefixes[0]}-images-idx3-ubyte.gz."
        )
    images = read_idx(images_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path} holds {images.dtype} data of shape {images.shape}; expected uint8 [n, H, W].")
    labels_path = _find_idx(directory, prefixes, "labels")
    labels = read_idx(labels_path) if labels_path else None
    if labels is not None and labels.shape != (len(images),):
        raise DataError(f"{labels_path} has shape {labels.shape}; expected one label per image, ({len(images)},).")
    return from_arrays(images[..., None], labels, f"IDX {images_path}")


def from_array_file(path, split="train"):
    """Images from a ``.npy`` (images only) or ``.npz`` (``x_train``/``x``/``images``, ``x_test``
    for the test split, labels under the matching ``y_*``/``labels`` key) file."""
    try:
        images, labels, key = _read_array_file(path, split)
    except DataError:
        raise
    except Exception as e:  # NumPy and zipfile raise many types for damaged files
        raise DataError(
            f"Cannot read array file {path}: it is damaged or not a NumPy file ({type(e).__name__})."
        ) from None
    return from_arrays(images, labels, f"array {path}" + (f"[{key}]" if key else ""))


def _read_array_file(path, split):
    """``(images, labels or None, npz key or None)`` of an array file, all read into memory."""
    with open(path, "rb") as f:
        loaded = np.load(f, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            if split != "train":
                raise NoSplitError(f"{path} is a single .npy array, which has no {split} split; use a .npz with "
                                   f"x_{split}.")
            return loaded, None, None
        with loaded:
            key = next((k for k in NPZ_SPLIT_KEYS[split] if k in loaded.files), None)
            if key is None:
                raise (NoSplitError if split != "train" else DataError)(
                    f"{path} has no {split} images: expected one of the keys {', '.join(NPZ_SPLIT_KEYS[split])}; "
                    f"found {', '.join(loaded.files) or 'none'}."
                )
            label_key = NPZ_LABEL_KEYS.get(key)
            labels = loaded[label_key] if label_key in loaded.files else None
            return loaded[key], labels, key


def as_uint8_images(array, name="images"):
    """Validate an image array and return it as uint8 ``[n, H, W, C]``, C ∈ {1, 3}.

    Accepts uint8 in [0, 255] or floats in [0, 1], shaped ``[n, H, W]`` or ``[n, H, W, C]``.
    """
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or array.shape[0] == 0:
        raise DataError(f"{name} has shape {array.shape}; expected [n, H, W] or [n, H, W, C] with n ≥ 1 and C 1 or 3.")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
            raise DataError(f"{name} holds floats outside [0, 1]; expected uint8 in [0, 255] or floats in [0, 1].")
        return np.rint(array * 255).astype(np.uint8)
    raise DataError(f"{name} has dtype {array.dtype}; expected uint8 in [0, 255] or floats in [0, 1].")


def from_arrays(images, labels=None, description="arrays"):
    """:class:`RawData` from in-memory images (see :func:`as_uint8_images`) and optional labels."""
    images = as_uint8_images(images, description)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != images.shape[0] or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"Labels of {description} have shape {labels.shape} and dtype {labels.dtype}; expected "
                            f"{images.shape[0]} integers.")
    has_labels = labels is not None
    labels = labels.astype(np.int64) if has_labels else np.full(images.shape[0], NO_LABEL, np.int64)
    if has_labels and labels.size and labels.min() < 0:
        raise DataError(f"Labels of {description} include {labels.min()}; expected class numbers 0, 1, 2, ….")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    num_classes = int(labels.max()) + 1 if has_labels and labels.size else 0
    return RawData(dataset, int(images.shape[0]), tuple(images.shape[1:]), has_labels, description,
                   num_classes=num_classes)


def list_images(directory):
    """Sorted paths of the image files under ``directory`` (recursive)."""
    paths = []
    for root, _, files in os.walk(directory):
        paths += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(paths)


def from_image_folder(directory):
    """Images from the files under ``directory``, all of one kind: grayscale or colour.

    A corrupt or unreadable file stops loading with a :class:`DataError` naming it: kgen never
    silently trains on fewer images than the user gave it. Files of different sizes are allowed
    (``RawData.sizes`` lists them; the pipeline resizes only when asked to), files of different
    channel counts are not.
    """
    paths = list_images(directory)
    if not paths:
        raise DataError(f"No images in {directory}: expected files ending in {', '.join(IMAGE_EXTENSIONS)} "
                        "(searched recursively).")
    sizes, kinds = _scan_headers(paths)
    if len(kinds) > 1:
        (gray, gray_file), (_, colour_file) = sorted(kinds.items())
        raise DataError(f"Images in {directory} mix grayscale and colour files ({gray_file} is grayscale, "
                        f"{colour_file} colour): convert them to one kind first.")
    channels = next(iter(kinds))
    dataset = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda p: (_decode(tf.io.read_file(p), channels), tf.constant(NO_LABEL, tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    (height, width), _ = next(iter(sizes.items()))
    return RawData(dataset, len(paths), (height, width, channels), False,
                   f"image folder {directory} ({len(paths)} files)", paths, sizes)


def _scan_headers(paths):
    """Read only the headers of image files: ``({(H, W): first file}, {channels: first file})``,
    channels 1 for grayscale and 3 for colour (alpha is dropped)."""
    from PIL import Image

    sizes, kinds = {}, {}
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
                mode = image.mode
        except Exception:  # Pillow raises many types for files that are not images
            raise DataError(f"Image file {path} is corrupt or not an image.") from None
        sizes.setdefault((height, width), path)
        kinds.setdefault(1 if mode in ("1", "L", "LA", "I", "I;16", "F") else 3, path)
    return sizes, kinds


def _decode(contents, channels):
    return tf.io.decode_image(contents, channels=channels, expand_animations=False)


def _decode_file(path):
    try:
        return _decode(tf.io.read_file(path), 0).numpy()
    except tf.errors.OpError:
        raise DataError(f"Image file {path} is corrupt or not an image.") from None


def find_corrupt_image(paths):
    """The first file of ``paths`` that does not decode, or ``None``."""
    for path in paths:
        try:
            _decode_file(path)
        except DataError:
            return path
    return None


def network_reachable(address=TFDS_HOST, timeout=3.0):
    """Whether a TCP connection to ``address`` succeeds within ``timeout`` seconds (DNS included)."""
    result = []

    def probe():
        try:
            socket.create_connection(address, timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    return bool(result and result[0])


@contextlib.contextmanager
def _quiet_absl():
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def from_tfds(name, split="train"):
    """A named dataset through tensorflow-datasets: prepared copies load offline; otherwise it is
    downloaded if the network is reachable, and a clear :class:`DataError` says where to put the files
    if it is not."""
    import tensorflow_datasets as tfds

    with _quiet_absl():  # tfds warns about half-downloaded folders it then ignores
        builder = tfds.builder(name)
        prepared = builder.is_prepared()
    if not prepared and not network_reachable():
        raise DataError(
            f"No local copy of {name!r} and no network to download it: put its files (IDX files, a .npz "
            f"or images) in $KGEN_DATA_DIR/{name}/ or {SYSTEM_DATA_DIR}/{name.replace('_', '-')}/"
            + (" (Debian: apt-get install dataset-fashion-mnist)" if name == "fashion_mnist" else "")
            + ", or run once with network access."
        )
    if not prepared:
        builder.download_and_prepare()
    info = builder.info
    if info.splits and split not in info.splits:
        raise NoSplitError(f"tensorflow-datasets {name} has no {split} split; it has {', '.join(info.splits)}.")
    has_labels = "label" in info.features
    dataset = builder.as_dataset(split=split).map(
        lambda ex: (ex["image"], ex["label"] if has_labels else tf.constant(NO_LABEL, tf.int64))
    )
    num_examples = int(dataset.cardinality())
    if num_examples < 0:  # unknown cardinality: trust the dataset's metadata
        num_examples = int(info.splits[split].num_examples)
    shape = tuple(info.features["image"].shape)
    num_classes = int(info.features["label"].num_classes) if has_labels else 0
    return RawData(dataset, num_examples, shape, has_labels, f"tensorflow-datasets {name}:{split}",
                   num_classes=num_classes)
