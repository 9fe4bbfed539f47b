"""Run settings: one strict dataclass, written into every run dir so a run can be repeated."""

from __future__ import annotations

import dataclasses
import json
import re

from kgen.names import ON_NAN as ON_NAN_CHOICES, PRECISIONS, STRATEGIES

# The epochs of a run given a time budget and no epochs: the budget alone ends its training.
EPOCHS_UNDER_A_TIME_BUDGET = 100_000


def parse_interval(text):
    """A checkpoint interval: ``"200"`` → 200 steps; ``"30s"``, ``"5m"``, ``"1h"`` → seconds; ``"0"`` →
    only at the end of each epoch.

    Returns:
        ``(steps, seconds)``: at most one of them is not ``None``.

    Raises:
        ValueError: the text is neither a whole number of steps nor a time.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not match or (not match.group(2) and "." in match.group(1)):
        raise ValueError(f"checkpoint_every must be a number of steps (e.g. 500) or a time such as 30s, 5m or 1h; "
                         f"got {text!r}.")
    value, unit = float(match.group(1)), match.group(2)
    if value == 0:
        return None, None
    if not unit:
        return int(value), None
    return None, value * {"s": 1, "m": 60, "h": 3600}[unit]


@dataclasses.dataclass
class RunConfig:
    """Everything ``kgen fit`` needs to train a model; ``None`` means "the model's default".

    Attributes:
        model: ``gan``, ``vae`` or ``vaegan``.
        arch: architecture among the model's (:data:`kgen.names.MODEL_ARCHS`); ``None``: its default, ``dcgan``.
        data: data spec (dataset name, directory or array file).
        image_size: side of the square training images; ``None`` keeps the data's size.
        epochs: passes over the training data (with ``max_minutes``: the most it may make). ``None`` (the
            default): 1, or with ``max_minutes`` as many as the time allows (``EPOCHS_UNDER_A_TIME_BUDGET``).
        batch_size: images per step (per discriminator update for a GAN with several critic steps).
        latent_dim: size of z.
        width: layer-size multiplier of every network (32 = the paper's sizes).
        learning_rate: learning rate of every optimizer.
        learning_rates: learning rates of some optimizers by role, overriding ``learning_rate`` for them
            (e.g. ``{"d_optimizer": 4e-4, "g_optimizer": 1e-4}``: two time-scale learning rates).
        optimizer: ``adam`` or ``rmsprop``.
        beta_1: Adam's β1 (the model's default: 0.5 for the adversarial models, 0.9 for the VAE, 0 for
            WGAN-GP).
        beta_2: Adam's β2 (the model's default: 0.999; 0.9 for WGAN-GP).
        seed: seed of weights, noise and shuffling.
        run_dir: output directory.
        model_options: extra constructor arguments of the model (e.g. ``beta``, ``gamma``,
            ``reconstruction_loss``, ``feature_layer``).
        conditional: train a class-conditional model on the data's labels (the model gets
            ``num_classes`` from the data).
        translate: random-translation augmentation, as a fraction of the image size.
        limit: use only the first ``limit`` training examples.
        jit_compile: compile each training step with XLA (off by default: on a CPU it made every
            model's step slower; see DEVELOPERS.md).
        validate: report the losses on the test split after each epoch, when the data has one.
        grid_size: images in the per-epoch sample grid.
        metrics_every: epochs between classifier-metric evaluations during training (0: never).
        metrics_n: generated images per evaluation during training.
        metrics: which classifier metrics to compute during training (``fid``, ``is``, ``kid``, ``pr``).
        metrics_at: minutes of training at which to compute them too (the curve of quality against
            training time in ``metrics.json``); evaluation time does not count as training.
        evaluator: directory of the evaluator classifier (default: the one saved for ``data``, if any).
        log_every: steps between per-step loss scalars in TensorBoard.
        classes: train on the examples of these labels only (e.g. the normal classes for anomaly
            detection); ``None``: all.
        max_minutes: stop training after this many minutes (at the end of a step; the epoch's
            validation, grids and metrics still run); ``None``: train all ``epochs``.
        checkpoint_every: how often the full training state is saved, besides after every epoch:
            steps (``"500"``) or time (``"30s"``, ``"2m"``, ``"1h"``); ``"0"``: after epochs only.
        keep_checkpoints: how many checkpoints (the newest) a run keeps while it trains: a damaged newest
            one falls back to the one before. A finished run keeps none (``model.keras`` holds its state).
        on_nan: what a NaN or infinite loss does: ``"stop"`` the run, or ``"rollback"`` to the last
            checkpoint with halved learning rates (at most 3 times).
        deterministic: turn TensorFlow's op determinism on, so a run (and a resumed run) repeats
            bit for bit on the same machine.
        precision: Keras dtype policy of the networks: ``auto`` (bfloat16 where the hardware has it, see
            :func:`kgen.hardware.auto_precision`), ``float32``, ``mixed_bfloat16`` or ``mixed_float16``
            (GPUs; with loss scaling).
        strategy: tf.distribute strategy (see :func:`kgen.distribute.make_strategy`); ``batch_size``
            is the global batch, split across replicas.
    """

    model: str = "gan"
    arch: str | None = None
    data: str = "fashion_mnist"
    image_size: int | None = None
    epochs: int | None = None
    batch_size: int = 128
    latent_dim: int | None = None
    width: int = 32
    learning_rate: float | None = None
    learning_rates: dict = dataclasses.field(default_factory=dict)
    optimizer: str = "adam"
    beta_1: float | None = None
    beta_2: float | None = None
    seed: int = 0
    run_dir: str | None = None
    model_options: dict = dataclasses.field(default_factory=dict)
    conditional: bool = False
    translate: float = 0.0
    limit: int | None = None
    jit_compile: bool = False
    validate: bool = True
    grid_size: int = 64
    metrics_every: int = 1
    metrics_n: int = 2000
    metrics: list = dataclasses.field(default_factory=lambda: ["fid", "is", "kid", "pr"])
    metrics_at: list | None = None
    evaluator: str | None = None
    log_every: int = 10
    max_minutes: float | None = None
    classes: list | None = None
    checkpoint_every: str = "2m"
    keep_checkpoints: int = 2
    on_nan: str = "stop"
    deterministic: bool = False
    precision: str = "auto"
    strategy: str = "auto"

    def __post_init__(self):
        if self.epochs is None:
            self.epochs = 1 if self.max_minutes is None else EPOCHS_UNDER_A_TIME_BUDGET
        for name in ("epochs", "batch_size", "width", "grid_size", "metrics_n", "log_every", "keep_checkpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if not isinstance(self.metrics_every, int) or self.metrics_every < 0:
            raise ValueError(f"metrics_every must be a non-negative integer; got {self.metrics_every!r}.")
        if not 0.0 <= float(self.translate) < 0.5:
            raise ValueError(f"translate must be a fraction in [0, 0.5); got {self.translate!r}.")
        if self.metrics_at is not None:
            if not isinstance(self.metrics_at, (list, tuple)) or not all(
                    isinstance(m, (int, float)) and m > 0 for m in self.metrics_at):
                raise ValueError(f"metrics_at must be a list of positive minutes; got {self.metrics_at!r}.")
            self.metrics_at = sorted(float(m) for m in self.metrics_at)
        if self.max_minutes is not None and not float(self.max_minutes) > 0:
            raise ValueError(f"max_minutes must be positive; got {self.max_minutes!r}.")
        self.checkpoint_every = str(self.checkpoint_every)
        parse_interval(self.checkpoint_every)
        for name, choices in (("precision", PRECISIONS), ("strategy", STRATEGIES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}; got {getattr(self, name)!r}.")
        if self.on_nan not in ON_NAN_CHOICES:
            raise ValueError(f"on_nan must be one of {', '.join(ON_NAN_CHOICES)}; got {self.on_nan!r}.")
        if self.learning_rate is not None and not float(self.learning_rate) > 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}.")
        if not isinstance(self.learning_rates, dict) or not all(
                isinstance(v, (int, float)) and v > 0 for v in self.learning_rates.values()):
            raise ValueError("learning_rates must map optimizer roles (e.g. d_optimizer) to positive learning rates; "
                             f"got {self.learning_rates!r}.")

    @classmethod
    def from_dict(cls, values):
        """Build from a dict; unknown keys are an error (a typo must not be silently ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown run setting(s) {', '.join(unknown)}; expected some of "
                             f"{', '.join(sorted(known))}.")
        return cls(**values)

    def to_dict(self):
        """A JSON-serialisable dict of every field."""
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))
