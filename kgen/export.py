"""SavedModel export for TF Serving: versioned, self-contained, with sampling signatures.

A kgen export is a TensorFlow SavedModel at ``<base>/<name>/<version>/`` — the layout TF Serving
loads — that needs neither kgen nor Keras custom objects to run. Its signatures:

* ``serving_default``: ``z`` float32 ``[batch, latent]`` → ``images`` uint8 ``[batch, H, W, C]``
  and ``float_images`` float32 in the model's output range;
* ``sample``: scalars ``n`` (int32, 1 ≤ n ≤ ``MAX_SAMPLE_N``) and ``seed`` (int64) → ``n`` images,
  the same images ``model.sample(n, seed)`` gives in kgen;
* ``latents``: scalars ``n``, ``seed`` and ``offset`` (int64, a multiple of 256) → ``z``, the latent vectors
  ``sample`` decodes (from N(0, I), or from the mixture prior fitted to a VAE's or VAE-GAN's codes), the i-th
  of a seed at index ``offset + i``;
* ``images`` and ``sample_images``: as ``serving_default`` and ``sample``, with ``images`` only (a REST
  reply of float images is four times the size: choose these when uint8 pixels are all you need);
* VAE and VAE-GAN also: ``encode`` (uint8 ``images`` → ``z_mean``, ``z_log_var``), ``decode``
  (``z`` → images, as ``serving_default``) and ``reconstruct`` (uint8 ``images`` → images).

A class-conditional model's signatures also take the classes: ``labels`` int32 ``[batch]`` beside
``z`` or ``images``, and for ``sample`` a scalar ``label`` (int32; -1 spreads the ``n`` images evenly
over the classes, as ``model.sample(n, seed)`` does).

``assets.extra/kgen.json`` records what kgen needs to use the export again (model family, shapes,
output range, the model's config, and the training data: a dataset name, or a path relative to the
export's directory); TF Serving ignores that folder.
"""

from __future__ import annotations

import json
import os
import shutil

import keras
import tensorflow as tf

from kgen import __version__
from kgen.files import atomic_path, write_json
from kgen.images import from_uint8, to_uint8_tensor
from kgen.models.latent_prior import mixture_draws
from kgen.models.sampling import SAMPLE_CHUNK, LatentSampler

MAX_SAMPLE_N = 4096  # images per `sample` request; larger requests are refused with a clear error
INFO_FILE = os.path.join("assets.extra", "kgen.json")


class ExportError(ValueError):
    """An export that cannot be written where asked (the version exists, the name is invalid)."""


def serving_functions(model):
    """The functions an export serves, keyed by signature name, each with its input signature.

    Args:
        model: a kgen model.

    Returns:
        ``{name: (function, input_signature)}``.
    """
    value_range = model.output_range
    latent = model.latent_dim
    classes = model.num_classes

    def images_from(z, labels=None):
        float_images = tf.cast(model.generate(z, labels, training=False), tf.float32)
        return {"images": to_uint8_tensor(float_images, value_range), "float_images": float_images}

    prior = model.latent_prior()  # read now, eagerly: the traced functions below capture its variables

    def latent_sample(n, seed, offset=tf.constant(0, tf.int64)):
        checks = [
            tf.debugging.assert_greater_equal(n, 1, message="n must be at least 1"),
            tf.debugging.assert_less_equal(n, MAX_SAMPLE_N, message=f"n must be at most {MAX_SAMPLE_N}"),
            tf.debugging.assert_equal(offset % SAMPLE_CHUNK, tf.constant(0, tf.int64),
                                      message=f"offset must be a multiple of {SAMPLE_CHUNK}"),
        ]
        with tf.control_dependencies(checks):
            chunks = offset // SAMPLE_CHUNK + tf.range((tf.cast(n, tf.int64) + SAMPLE_CHUNK - 1) // SAMPLE_CHUNK)
        # Chunk k of 256 vectors from the stateless seed (seed, k): kgen.models.sampling.latent_vectors.
        z = tf.reshape(tf.map_fn(
            lambda k: tf.random.stateless_normal((SAMPLE_CHUNK, latent), seed=tf.stack([seed, k])),
            chunks,
            fn_output_signature=tf.float32,
        ), (-1, latent))[:n]
        if prior is None:
            return z
        # The mixture's component choices: kgen.models.sampling.latent_uniforms, chunk k from (seed, -1 - k).
        uniforms = tf.reshape(tf.map_fn(
            lambda k: tf.random.stateless_uniform((SAMPLE_CHUNK,), seed=tf.stack([seed, -1 - k])),
            chunks,
            fn_output_signature=tf.float32,
        ), [-1])[:n]
        return mixture_draws(z, uniforms, *prior)

    def latents(n, seed, offset):
        return {"z": latent_sample(n, seed, offset)}

    def sample(n, seed):
        return images_from(latent_sample(n, seed))

    def only_images(function):  # the same outputs without float_images: REST replies a quarter the size
        return lambda *args: {"images": function(*args)["images"]}

    def sample_class(n, seed, label):
        check = tf.debugging.assert_less(label, classes, message=f"label must be -1 or a class below {classes}")
        above = tf.debugging.assert_greater_equal(label, -1, message="label must be ≥ -1")
        with tf.control_dependencies([check, above]):
            # label -1: kgen.models.sampling.spread_labels.
            spread = tf.cast(tf.range(tf.cast(n, tf.int64)) * classes // tf.cast(n, tf.int64), tf.int32)
            labels = tf.where(label < 0, spread, tf.fill([n], label))
        return images_from(latent_sample(n, seed), labels)

    z_spec = [tf.TensorSpec((None, latent), tf.float32, name="z")]
    sample_spec = [tf.TensorSpec((), tf.int32, name="n"), tf.TensorSpec((), tf.int64, name="seed")]
    labels_spec = [tf.TensorSpec((None,), tf.int32, name="labels")] if classes else []
    sampling = (sample_class, sample_spec + [tf.TensorSpec((), tf.int32, name="label")]) if classes \
        else (sample, sample_spec)
    functions = {
        "serving_default": (images_from, z_spec + labels_spec),
        "images": (only_images(images_from), z_spec + labels_spec),
        "sample": sampling,
        "sample_images": (only_images(sampling[0]), sampling[1]),
        "latents": (latents, sample_spec + [tf.TensorSpec((), tf.int64, name="offset")]),
    }
    if model.has_encoder:
        image_spec = [tf.TensorSpec((None,) + model.image_shape, tf.uint8, name="images")]

        def encode(images, labels=None):
            z_mean, z_log_var = model.encode(from_uint8(images, value_range), labels, training=False)
            return {"z_mean": tf.cast(z_mean, tf.float32), "z_log_var": tf.cast(z_log_var, tf.float32)}

        def decode(z, labels=None):  # the encoder's own decoder (model.decode), not the average that samples
            float_images = tf.cast(model.decode(z, labels, training=False), tf.float32)
            return {"images": to_uint8_tensor(float_images, value_range), "float_images": float_images}

        def reconstruct(images, labels=None):
            return decode(encode(images, labels)["z_mean"], labels)

        functions.update(encode=(encode, image_spec + labels_spec), decode=(decode, z_spec + labels_spec),
                         reconstruct=(reconstruct, image_spec + labels_spec))
    return functions


def export_info(model, data=None, directory=None):
    """What ``assets.extra/kgen.json`` records about an exported model and the data spec it was trained on
    (a path is recorded relative to the export's ``directory``, so the export can be moved with its data)."""
    if data is not None and directory is not None and os.path.exists(str(data)):
        data = os.path.relpath(os.path.abspath(str(data)), os.path.abspath(directory))
    return {
        "data": data,
        "kgen_version": __version__,
        "model": type(model).__name__,
        "arch": model.arch,
        "image_shape": list(model.image_shape),
        "latent_dim": model.latent_dim,
        "num_classes": model.num_classes,
        "output_range": list(model.output_range),
        "max_sample_n": MAX_SAMPLE_N,
        "signatures": sorted(serving_functions(model)),
        "model_config": {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")},
    }


def next_version(model_dir):
    """1 + the largest integer-named version directory in ``model_dir`` (1 if there is none)."""
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export_model(model, base_dir="saved_models", name=None, version=None, replace=False, data=None):
    """Write ``model`` as a SavedModel at ``<base_dir>/<name>/<version>/``, atomically.

    The SavedModel is written to a hidden temporary directory beside the target and renamed into
    place only when complete, so a failed export leaves no partial version behind.

    Args:
        model: a kgen model.
        base_dir: the TF Serving model base directory's parent.
        name: the model name (default ``<family>_<arch>``, e.g. ``gan_dcgan``).
        version: positive integer version; default: the next free one.
        replace: replace an existing version directory (default: refuse).
        data: the data spec the model was trained on, recorded for `kgen eval`.

    Returns:
        The path of the version directory.

    Raises:
        ExportError: the name or version is invalid, or the version exists and ``replace`` is false.
    """
    name = name or f"{type(model).__name__.lower()}_{model.arch}"
    if not name or os.sep in name or name.startswith("."):
        raise ExportError(f"Export name {name!r} must be a plain directory name.")
    model_dir = os.path.join(base_dir, name)
    version = next_version(model_dir) if version is None else version
    if not isinstance(version, int) or version < 1:
        raise ExportError(f"Export version must be a positive integer; got {version!r}.")
    target = os.path.join(model_dir, str(version))
    if os.path.exists(target) and not replace:
        raise ExportError(f"{target} already exists: choose another --version, or pass --replace to replace it.")

    old = os.path.join(model_dir, f".old-{version}-{os.getpid()}")
    with atomic_path(target) as tmp:
        write_savedmodel(model, tmp, data, info_directory=target)
        if os.path.exists(target):  # --replace: the old version steps aside once the new one is complete
            os.replace(target, old)
    shutil.rmtree(old, ignore_errors=True)
    return target


def write_savedmodel(model, path, data=None, info_directory=None):
    """Write ``model``'s SavedModel (the signatures of :func:`serving_functions` and ``kgen.json``) at ``path``.

    Args:
        model: a kgen model.
        path: the directory to write (must not exist).
        data: the data spec the model was trained on.
        info_directory: where the SavedModel will finally live (data paths are recorded relative to
            it); default ``path``.
    """
    model.refresh_average_statistics()  # the traced signatures below use the statistics as they are
    archive = keras.export.ExportArchive()
    archive.track(model)
    for signature, (function, spec) in serving_functions(model).items():
        archive.add_endpoint(signature, function, input_signature=spec)
    archive.write_out(path, verbose=False)
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    write_json(os.path.join(path, INFO_FILE), export_info(model, data, info_directory or path))


def recorded_data(path, info):
    """The training data spec an export's ``kgen.json`` records, as a usable spec (a recorded relative path
    is resolved against the export's directory ``path``)."""
    data = info.get("data")
    if data and not os.path.isabs(data):
        candidate = os.path.normpath(os.path.join(path, data))
        if os.path.exists(candidate):
            return candidate
    return data


def is_export(path):
    """Whether ``path`` is a directory holding a SavedModel exported by kgen."""
    return os.path.isfile(os.path.join(path, "saved_model.pb")) and os.path.isfile(os.path.join(path, INFO_FILE))


class ExportedModel(LatentSampler):
    """A kgen SavedModel used from Python the way kgen uses its ``.keras`` models (for sampling).

    Args:
        path: a version directory written by :func:`export_model`.

    Attributes:
        image_shape, latent_dim, output_range, arch, num_classes: as recorded at export.
    """

    def __init__(self, path):
        with open(os.path.join(path, INFO_FILE)) as f:
            info = json.load(f)
        self.path = path
        self.info = info
        self.image_shape = tuple(info["image_shape"])
        self.latent_dim = int(info["latent_dim"])
        self.output_range = tuple(info["output_range"])
        self.arch = info["arch"]
        self.num_classes = int(info.get("num_classes", 0))
        self._loaded = tf.saved_model.load(path)
        self._generate = self._loaded.signatures["serving_default"]

    def latent_batch(self, n, seed=0, offset=0):
        """The latent vectors the export's ``sample`` signature decodes (its ``latents`` signature; an export
        of an older kgen has none and samples from N(0, I))."""
        if "latents" not in self._loaded.signatures:
            return super().latent_batch(n, seed=seed, offset=offset)
        parts = [self._loaded.signatures["latents"](n=tf.constant(min(MAX_SAMPLE_N, n - start), tf.int32),
                                                    seed=tf.constant(seed, tf.int64),
                                                    offset=tf.constant(offset + start, tf.int64))["z"]
                 for start in range(0, n, MAX_SAMPLE_N)]
        return tf.concat(parts, axis=0)

    def generate(self, z, labels=None, training=False):
        """Float images in ``output_range`` for latent vectors ``z`` (and ``labels`` when conditional)."""
        return self._generate(z=tf.convert_to_tensor(z, tf.float32), **self._labels(labels))["float_images"]

    def _labels(self, labels):
        """The ``labels`` argument of a signature: none for an unconditional export."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"The export at {self.path} is not class-conditional: it takes no labels.")
            return {}
        if labels is None:
            raise ValueError(f"The export at {self.path} is conditional on {self.num_classes} classes: "
                             "give a label per image.")
        return {"labels": tf.convert_to_tensor(labels, tf.int32)}

    def decode(self, z, labels=None, training=False):
        """Float images decoded by the decoder that trained with the encoder (the ``decode`` signature;
        for an export without an encoder, the generator)."""
        if "decode" not in self._loaded.signatures:
            return self.generate(z, labels)
        return self._loaded.signatures["decode"](z=tf.convert_to_tensor(z, tf.float32),
                                                 **self._labels(labels))["float_images"]

    @property
    def has_encoder(self):
        """Whether the export has an ``encode`` signature (VAE and VAE-GAN)."""
        return "encode" in self._loaded.signatures

    def encode(self, images, labels=None, training=False):
        """``(z_mean, z_log_var)`` for float images in ``output_range`` (sent as uint8, as a client would)."""
        if not self.has_encoder:
            raise TypeError(f"The {self.info['model']} export at {self.path} has no encoder.")
        result = self._loaded.signatures["encode"](images=to_uint8_tensor(images, self.output_range),
                                                   **self._labels(labels))
        return result["z_mean"], result["z_log_var"]
