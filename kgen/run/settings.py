"""Every run setting declared once: its type, default, limits, help text, ``--help`` section, whether a resumed
run may change it, and (for a model option) which models take it and under which constructor argument.

:class:`kgen.run.config.RunConfig`, the options of ``kgen fit`` (:mod:`kgen.cli.fit_command`), the check of what
``kgen fit --resume`` may change (:func:`kgen.training.fit.resumed_config`) and the option tables of
docs/options.md are all derived from :data:`RUN_SETTINGS` and :data:`MODEL_OPTIONS`. No TensorFlow and no click
here: the CLI builds its options from this module before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
import json

from kgen import names

# Read from the command line as a comma-separated list (how kgen.cli.fit_command parses each).
CLASS_LIST, MINUTE_LIST, NAME_LIST = "classes", "minutes", "names"
# The sections of `kgen fit --help` and docs/options.md, in their order.
SECTIONS = ("Data", "Model", "GAN options", "VAE options", "VAE-GAN options", "Optimisation", "Monitoring", "Run")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of a run (a :class:`~kgen.run.config.RunConfig` field) or of a model (a constructor argument).

    Attributes:
        name: the RunConfig field, or for a model option the name of its ``kgen fit`` option.
        type: ``int``, ``float``, ``str``, ``bool``, ``list`` or ``dict``.
        default: the default; ``None``: unset (the model's or the data's own default applies).
        help: what it does, as ``kgen fit --help`` and docs/options.md show it.
        section: its section of ``kgen fit --help`` (e.g. ``"Data"``).
        minimum, maximum: limits of a number (``None``: none); ``open_minimum`` / ``open_maximum`` exclude them.
        choices: the values it may take (empty: any).
        parts: for a comma-separated text, the names each of its parts may be (empty: any).
        flag: its ``kgen fit`` option (e.g. ``"--lr"``, ``"--jit/--no-jit"``); ``None``: ``--`` + its name with
            dashes; ``""``: no option (a setting of the Python API only).
        resumable: a resumed run may change it (it does not change what the run trains).
        models: for a model option, the models that take it (``None``: a run setting).
        argument: for a model option, the models' constructor argument it sets.
        text: how the command line reads a list: :data:`CLASS_LIST`, :data:`MINUTE_LIST` or :data:`NAME_LIST`.
        directory: the text is a directory's path.
    """

    name: str
    type: type
    default: object
    help: str
    section: str
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False
    choices: tuple = ()
    parts: tuple = ()
    flag: str | None = None
    resumable: bool = False
    models: tuple | None = None
    argument: str | None = None
    text: str | None = None
    directory: bool = False

    @property
    def spelling(self):
        """The ``kgen fit`` option as click declares it (``"--lr"``, ``"--jit/--no-jit"``), or ``""`` for none."""
        return "" if self.flag == "" else self.flag or "--" + self.name.replace("_", "-")

    @property
    def option(self):
        """The ``kgen fit`` option's main spelling (``--lr``, ``--jit``), or ``""`` for none."""
        return self.spelling.split("/")[0]

    def parse(self, text):
        """This setting's value written as text (``kgen compare``'s ``@key=value``): JSON where the text reads as
        JSON (numbers, ``true``, lists, mappings), ``True``/``False`` too for a yes-no setting, and the text itself
        for a text setting or where it is not JSON (``checkpoint_every=5`` stays ``"5"``)."""
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if self.type is bool and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return text if self.type is str else value

    def check(self, value):
        """``value`` if it is of this setting's type, within its limits and choices (``None`` only where the
        default is ``None``; an ``int`` is a ``float`` too).

        Raises:
            ValueError: the value is not; the message names the setting, what it expects and what it got.
        """
        if value is None and self.default is None:
            return value
        if self.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.type is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.type is list:
            ok = isinstance(value, (list, tuple))
        else:
            ok = isinstance(value, self.type)
        if ok and self.minimum is not None:
            ok = value > self.minimum if self.open_minimum else value >= self.minimum
        if ok and self.maximum is not None:
            ok = value < self.maximum if self.open_maximum else value <= self.maximum
        if ok and self.choices:
            ok = value in self.choices
        if ok and self.parts:
            ok = all(part.strip() in self.parts for part in value.split(",") if part.strip())
        if not ok:
            raise ValueError(f"{self.name} must be {self.describe()}; got {value!r}.")
        return value

    def describe(self):
        """What a valid value is, in words (``"an integer ≥ 1"``, ``"one of stop, rollback"``)."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.parts:
            return "comma-separated names among " + ", ".join(self.parts)
        if self.text:
            return f"{self.text}, comma-separated"
        noun = {int: "an integer", float: "a number", str: "a text", bool: "true or false", list: "a list",
                dict: "a mapping"}[self.type]
        limits = []
        if self.minimum is not None:
            limits.append(f"{'>' if self.open_minimum else '≥'} {self.minimum:g}")
        if self.maximum is not None:
            limits.append(f"{'<' if self.open_maximum else '≤'} {self.maximum:g}")
        return " ".join([noun] + [" and ".join(limits)] * bool(limits))


def _run(name, type_, default, section, help_, **limits):
    return Setting(name, type_, default, help_, section, **limits)


_POSITIVE = {"minimum": 1}
_FRACTION = {"minimum": 0, "maximum": 1, "open_maximum": True}
_MONITORING = {"resumable": True}

#: At most one validation batch per this many training steps of an epoch. A validation batch runs forward
#: passes only (about a third of a training step's work), so the pass stays a small share of any epoch; with
#: 8,000 MNIST images (62 steps of 128) the whole test split would be 78 batches after every epoch. MNIST-sized
#: epochs (468 steps) still validate on the whole test split.
TRAINING_STEPS_PER_VALIDATION_BATCH = 5

#: After the first and the last epoch a sample (and reconstruction) grid, in between at most one per this many
#: seconds: the averaged generator's batch-norm statistics, measured before each grid, cost about as much as
#: 4 training steps of the default GAN (2-core Xeon, docs/quality.md), a share that grows as the epochs shrink
#: (--limit). MNIST-sized epochs (about a minute there) still get one after each.
SECONDS_BETWEEN_GRIDS = 30

#: Training images whose codes a VAE's or VAE-GAN's mixture prior is fitted to after training (--prior-components;
#: all of them when the data has fewer). MNIST's 60,000: 100 Gaussians fitted to 20,000 of its codes gave samples
#: of FID 39.6, to all of them 13.8 (one VAE-GAN, docs/quality.md); an expectation-maximisation step then takes
#: about 2.5 s on 2 cores.
PRIOR_CODES = 60_000

#: Draws of q(z|x) per training image among those codes. MNIST VAE-GAN, 100 Gaussians, 3 seeds, pinned evaluator:
#: 1 draw FID 16.5 [9.3, 23.7], 3 draws 10.1 [7.3, 12.9] (docs/quality.md); each draw adds the time of one more set
#: of codes to every EM step (a fit of 100 Gaussians: about 1 minute → 2.7).
PRIOR_DRAWS = 3

RUN_SETTINGS = (
    _run("data", str, "fashion_mnist", "Data",
         "Data spec: a dataset name (mnist, fashion_mnist, cifar10, celeb_a; local copies in $KGEN_DATA_DIR/<name>/ or "
         "/usr/share/datasets/<name>/ are used first), a directory of IDX files or of images, or a .npz/.npy file."),
    _run("image_size", int, None, "Data",
         "Side of the square training images (e.g. 28, 32, 64); default: the data's own size.", minimum=4),
    _run("translate", float, 0.0, "Data",
         "Random translation augmentation, as a fraction of height and width (Rana et al. use 0.1).",
         minimum=0, maximum=0.5, open_maximum=True),
    _run("limit", int, None, "Data", "Train on the first N examples only (quick trials).", **_POSITIVE),
    _run("classes", list, None, "Data",
         "Train on the examples of these labels only, comma-separated (e.g. the normal classes of an anomaly "
         "detector: 0,1,2,3,4,5,6,8,9); needs labelled data.", text=CLASS_LIST),
    _run("model", str, "gan", "Model",
         "Model family: gan (Goodfellow et al.), vae (Kingma & Welling), vaegan (Larsen et al.).",
         choices=names.MODELS),
    _run("arch", str, None, "Model",
         "Networks: dcgan (default; Radford et al.'s DCGAN: 4×4 stride-2 convolutions, batch norm), mlp (fully "
         "connected), or the reference comparison's literal paper-dcgan / paper-mlp (slower to train; for "
         "reproducing that paper). vaegan takes dcgan or paper-dcgan.", choices=names.ARCHS),
    _run("latent_dim", int, None, "Model", "Size of the latent vector z (default: gan 100, vae 16, vaegan 100).",
         **_POSITIVE),
    _run("width", int, names.REFERENCE_WIDTH, "Model",
         f"Layer-size multiplier of every network; {names.REFERENCE_WIDTH} gives the reference papers' sizes.",
         **_POSITIVE),
    _run("conditional", bool, False, "Model",
         "Train a class-conditional model on the data's labels: `kgen sample --label C` then draws class C and the "
         "sample grids have one row per class. gan: the label one-hot goes into the generator and a projection "
         "discriminator; vae, vaegan: into encoder and decoder (vaegan's discriminator is a projection "
         "discriminator too)."),
    _run("model_options", dict, {}, "Model",
         "Other constructor arguments of the model (e.g. beta, gamma, reconstruction_loss, feature_layer); "
         "`kgen fit` sets them from the model options below.", flag=""),
    _run("epochs", int, None, "Optimisation",
         "Passes over the training data [default: 1]. With --max-minutes: the most it may make; without --epochs, "
         "--max-minutes alone decides how long training runs.", resumable=True, **_POSITIVE),
    _run("batch_size", int, 128, "Optimisation",
         "Images per training step (per discriminator update for a GAN with several critic steps).", **_POSITIVE),
    _run("learning_rate", float, None, "Optimisation",
         "Learning rate of every optimizer (default: gan 8e-4 for the default GAN on 28×28 images — dcgan, width "
         "32, unconditional, non-saturating loss, where docs/quality.md measured it — else 2e-4; vae 1e-4; "
         "vaegan 3e-4).", minimum=0, open_minimum=True, flag="--lr"),
    _run("learning_rates", dict, {}, "Optimisation",
         "Learning rates of some optimizers by role, overriding the learning rate for them (e.g. {\"d_optimizer\": "
         "4e-4, \"g_optimizer\": 1e-4}: two time-scale learning rates).", flag=""),
    _run("optimizer", str, "adam", "Optimisation", "Optimizer of every network (one instance per network).",
         choices=names.OPTIMIZERS),
    _run("beta_1", float, None, "Optimisation",
         "Adam's beta_1 (default: 0.5 for gan and vaegan, 0.9 for vae, 0 for --gan-loss wgan-gp).", flag="--beta1",
         **_FRACTION),
    _run("beta_2", float, None, "Optimisation", "Adam's beta_2 (default: 0.999; 0.9 for --gan-loss wgan-gp).",
         flag="--beta2", **_FRACTION),
    _run("seed", int, 0, "Optimisation", "Seed of weights, noise and shuffling."),
    _run("jit_compile", bool, False, "Optimisation",
         "Compile each training step with XLA (on a 2-core CPU it slowed every model down, see DEVELOPERS.md; worth "
         "trying on a GPU).", flag="--jit/--no-jit"),
    _run("deterministic", bool, False, "Optimisation",
         "Turn TensorFlow's op determinism on: the same command gives the same weights, also across a resume (may "
         "be slower).", resumable=True),
    _run("max_minutes", float, None, "Optimisation",
         "Stop training after this many minutes (at the end of a step; the epoch's outputs are still written).",
         minimum=0, open_minimum=True, resumable=True),
    _run("precision", str, "auto", "Optimisation",
         "Keras dtype policy: auto picks mixed_bfloat16 where the hardware has bfloat16 units (TPUs, GPUs of compute "
         "capability ≥ 8, CPUs with AVX512-BF16 or AMX), mixed_float16 on older GPUs, else float32 (the choice and "
         "its reason are printed and recorded in config.json). The mixed policies compute in 16 bits and keep "
         "weights, logits, log-variances and losses in float32; samples and exports are float32 / uint8 either "
         "way. mixed_float16 needs a GPU.", choices=names.PRECISIONS),
    _run("strategy", str, "auto", "Optimisation",
         "tf.distribute strategy: auto (several hosts if TF_CONFIG says so, a TPU if TPU_NAME is set, all GPUs if "
         "there are several, else one device), one_device, mirrored (all local GPUs), multi_worker (hosts in "
         "TF_CONFIG; run the same command on each), tpu. --batch-size is the global batch.",
         choices=names.STRATEGIES, resumable=True),
    _run("validate", bool, True, "Monitoring",
         "Report the losses on the test split after each epoch (when the data has one), on at most one test batch "
         f"per {TRAINING_STEPS_PER_VALIDATION_BATCH} training steps of an epoch, so that short epochs (--limit) do "
         "not spend their time validating.",
         flag="--validate/--no-validate", **_MONITORING),
    _run("metrics_every", int, 1, "Monitoring",
         "Epochs between classifier FID / IS / KID / precision-recall during training (0: off). Needs the data's "
         "evaluator classifier (`kgen evaluator fit --data …`); without one, a note says so.", minimum=0,
         **_MONITORING),
    _run("metrics", list, ["fid", "is", "kid", "pr"], "Monitoring",
         "Which classifier metrics to compute during training (comma-separated: fid, is, kid, pr).", text=NAME_LIST,
         **_MONITORING),
    _run("metrics_n", int, 2000, "Monitoring", "Generated images per evaluation during training.", minimum=2,
         **_MONITORING),
    _run("metrics_at", list, None, "Monitoring",
         "Also compute the metrics after these minutes of training, comma-separated (e.g. 1,2,5,10): the curve of "
         "quality against training time, in metrics.json and TensorBoard. Evaluation time does not count as "
         "training (nor against --max-minutes).", text=MINUTE_LIST, **_MONITORING),
    _run("evaluator", str, None, "Monitoring",
         "Evaluator classifier directory for the metrics (default: the one saved for --data).", directory=True,
         **_MONITORING),
    _run("log_every", int, 10, "Monitoring", "Steps between the per-step loss scalars written to TensorBoard.",
         **_POSITIVE, **_MONITORING),
    _run("grid_size", int, 64, "Monitoring",
         "Images in the sample grid written after the first and the last epoch and, in between, after epochs at "
         f"least {SECONDS_BETWEEN_GRIDS} s apart.", flag="", **_POSITIVE,
         **_MONITORING),
    _run("run_dir", str, None, "Run", "Output directory (default: saved_models/<model>-<arch>-<date-time>).",
         directory=True, resumable=True),
    _run("checkpoint_every", str, "2m", "Run",
         "How often the full training state (networks, optimisers, random generators, position) is saved to "
         "checkpoint/: steps (500; and after every epoch) or time (30s, 2m, 1h; an epoch's end too once that time "
         "has passed, so short epochs are not slowed); 0: after every epoch only. The end of training and a stop "
         "by Ctrl-C or SIGTERM are always saved. Run the same command again to resume an interrupted run from it.",
         resumable=True),
    _run("keep_checkpoints", int, 2, "Run",
         "Checkpoints kept while training (the newest): if the newest is damaged, the run resumes from the one "
         "before. A finished run keeps none: its model.keras holds the whole training state.", resumable=True,
         **_POSITIVE),
    _run("on_nan", str, "stop", "Run",
         "When a loss becomes NaN or infinite: stop (the last good checkpoint and model stay), or roll back to the "
         "last checkpoint with halved learning rates (at most 3 times).", choices=names.ON_NAN, resumable=True),
)


def _model(name, argument, models, section, type_, help_, **limits):
    return Setting(name, type_, None, help_, section, models=tuple(models), argument=argument, **limits)


MODEL_OPTIONS = (
    _model("ema", "ema_decay", names.MODELS, "Model", float,
           "Decay of the moving average of the generator's (decoder's) weights that sampling, evaluation, export "
           "and the grids use; 0: off (default: 0.999 for gan and vaegan, off for vae).", **_FRACTION),
    _model("gan_loss", "loss", ("gan",), "GAN options", str,
           "gan: the adversarial loss — non-saturating (default), minimax (the original), least-squares (Mao et "
           "al.), hinge, or wgan-gp (Wasserstein critic with gradient penalty, Gulrajani et al., with the paper's "
           "recipe: 5 critic steps, Adam(1e-4, beta 0/0.9), a critic without dropout or batch norm).",
           choices=names.GAN_LOSSES),
    _model("critic_steps", "critic_steps", ("gan",), "GAN options", int,
           "gan: discriminator updates per generator update, each on its own real batch and fresh noise (default: 5 "
           "for wgan-gp, else 1).", **_POSITIVE),
    _model("gp_weight", "gp_weight", ("gan",), "GAN options", float,
           "gan --gan-loss wgan-gp: weight of the gradient penalty (default 10).", minimum=0),
    _model("r1", "r1_weight", ("gan",), "GAN options", float,
           "gan: weight γ of the R1 penalty on the discriminator, γ/2 · mean ‖∇D(x)‖² at the real images "
           "(Mescheder et al. 2018); 0: none (default). On MNIST 0.1 with --r1-every 4 gave a lower FID after 10 "
           "minutes and kept pace before; on Fashion-MNIST it was behind, and 0.01 made no clear difference there "
           "(docs/quality.md).", minimum=0),
    _model("r1_every", "r1_every", ("gan",), "GAN options", int,
           "gan --r1: lazy regularisation (Karras et al. 2020): the penalty on every K-th discriminator update only, "
           "with K times its weight, which saves most of its cost (default 1: every update).", **_POSITIVE),
    _model("augment", "augment", ("gan",), "GAN options", str,
           "gan: differentiable augmentation of the images the discriminator sees, real and generated (Zhao et al. "
           f"2020, DiffAugment), comma-separated: {', '.join(names.AUGMENTATIONS)} (default: none).",
           parts=names.AUGMENTATIONS),
    _model("minibatch_std", "minibatch_std", ("gan",), "GAN options", int,
           "gan --arch dcgan: give the discriminator the standard deviation of its last convolution's features over "
           "groups of this many images as one more feature map (Karras et al. 2018), so that it can tell a batch of "
           "too-alike fakes from a real one; 0: none (default). On Fashion-MNIST, 4 was ahead after 1–5 minutes and "
           "behind after 10 in both seeds measured (docs/quality.md).", minimum=0),
    _model("reuse_fakes", "reuse_fakes", ("gan",), "GAN options", bool,
           "gan: the generator's update scores the fake batch the discriminator was just updated on again, with the "
           "updated discriminator, instead of a fresh one: one generator pass fewer per step (default: off). On "
           "Fashion-MNIST (3 seeds, 10 minutes) clearly ahead after 1, 2 and 5 minutes, no clear difference after 10; "
           "on MNIST (3 seeds) no clear difference at any point (docs/quality.md).",
           flag="--reuse-fakes/--fresh-fakes"),
    _model("beta", "beta", ("vae", "vaegan"), "VAE options", float,
           "vae: weight of the KL term (β-VAE; default 1); vaegan: its weight in the encoder's loss (default 1).",
           minimum=0),
    _model("prior_components", "prior_components", ("vae", "vaegan"), "VAE options", int,
           "vae, vaegan: after training, fit a mixture of K full-covariance Gaussians to the encoder's codes "
           f"({PRIOR_DRAWS} draws of q(z|x) each) of up to {PRIOR_CODES:,} training images and draw samples (grids, "
           "kgen sample, evaluation, exports) from it instead of N(0, I) (ex-post density estimation, Ghosh et al. "
           "2020); on MNIST, 200 took the VAE-GAN's classifier FID (pinned evaluator, 3 seeds) from 170 [130, 210] "
           "to 8.4 [6.7, 10.0], below the default GAN's 11.3 [8.5, 14.1], in about 4 minutes of fitting "
           "(docs/quality.md). The metrics during training still sample from N(0, I), and kgen eval's likelihoods "
           "keep N(0, I) as the prior the model trained with. 0: N(0, I) (default).", minimum=0),
    _model("prior_temperature", "prior_temperature", ("vae", "vaegan"), "VAE options", float,
           "vae, vaegan --prior-components: scale the fitted mixture's covariances by T² (default 1). T > 1 spreads "
           "the samples: more of the real images' variety covered (recall), fewer that look real (precision, FID). "
           "MNIST VAE-GAN, 200 Gaussians, 3 seeds, pinned evaluator: 1.2 took recall from 0.843 [0.836, 0.851] to "
           "0.867 [0.863, 0.870] and FID from 8.4 [6.7, 10.0] to 18.6 [11.3, 25.9].", minimum=0, open_minimum=True),
    _model("kl_warmup", "kl_warmup_steps", ("vae",), "VAE options", int,
           "vae: training steps over which the KL weight grows linearly to --beta (default 0: no warm-up); `kgen "
           "eval` reports the KL per latent dimension and how many are active.", minimum=0),
    _model("recon_loss", "reconstruction_loss", ("vae",), "VAE options", str,
           "vae: reconstruction loss, Bernoulli (bce, default) or Gaussian (mse).",
           choices=names.RECONSTRUCTION_LOSSES),
    _model("gamma", "gamma", ("vaegan",), "VAE-GAN options", float,
           "vaegan: weight of the feature-space reconstruction loss in the decoder's loss (default 0.01).", minimum=0),
    _model("feature_layer", "feature_layer", ("vaegan",), "VAE-GAN options", int,
           "vaegan: discriminator layer (1-based) whose features measure reconstruction (default: the last "
           "convolution; 3 for paper-dcgan).", **_POSITIVE),
)

RUN_SETTING = {s.name: s for s in RUN_SETTINGS}
MODEL_OPTION = {s.name: s for s in MODEL_OPTIONS}
# The settings a resumed run may change: they decide how long it trains, how it is watched and saved, not what
# it learns.
RESUMABLE_SETTINGS = tuple(s.name for s in RUN_SETTINGS if s.resumable)


def model_options(model, given):
    """The model's constructor arguments from the model options given (``{option: value}``; ``None`` = not given).

    Raises:
        ValueError: an option is unknown, does not apply to ``model``, or its value is invalid.
    """
    arguments = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in MODEL_OPTION:
            raise ValueError(f"Unknown model option {name!r}; expected one of {', '.join(MODEL_OPTION)}.")
        option = MODEL_OPTION[name]
        if model not in option.models:
            raise ValueError(f"{option.option} applies to --model {'/'.join(option.models)} only, not {model}.")
        arguments[option.argument] = option.check(value)
    return arguments


OPTIONS_PAGE_HEADER = """# `kgen fit`'s options

Every option of `kgen fit`, by the section of `kgen fit --help` it stands in. A run records all of them in its
`config.json`; `kgen fit --resume RUN_DIR` (or the same command again) keeps the ones marked *kept*, and may change
those marked *may change*. In Python, each run setting is a field of the same name of `kgen.RunConfig`, and each
model option a constructor argument of the models it names ([python.md](python.md)).

This page is written by `python scripts/options_page.py > docs/options.md` from the declarations in
`kgen/run/settings.py`, the one place each option is written; a test fails when the two differ.
"""


def options_page():
    """docs/options.md: :data:`OPTIONS_PAGE_HEADER` and the tables of :func:`options_markdown`."""
    return OPTIONS_PAGE_HEADER + "\n" + options_markdown()


def options_markdown():
    """docs/options.md's tables: one per ``--help`` section, a row per option (flag, default, what it does,
    whether a resumed run may change it)."""
    sections = {section: [] for section in SECTIONS}
    for setting in RUN_SETTINGS + MODEL_OPTIONS:
        if setting.option:
            sections[setting.section].append(setting)
    lines = []
    for section, settings in sections.items():
        lines += [f"## {section}", "", "| option | default | values | what it does | on --resume |",
                  "| --- | --- | --- | --- | --- |"]
        for s in settings:
            default = "—" if s.default in (None, [], {}) else f"`{_text(s.default)}`"
            if s.type is bool and s.default is not None:
                default = f"`{s.spelling.split('/')[1 - s.default]}`" if "/" in s.spelling else (
                    "off" if not s.default else "on")
            flag = " / ".join(f"`{f}`" for f in s.spelling.split("/"))
            values = "flag" if s.type is bool else s.describe()
            resume = f"kept (models: {', '.join(s.models)})" if s.models else (
                "may change" if s.resumable else "kept")
            help_ = s.help.replace("|", "\\|")
            lines.append(f"| {flag} | {default} | {values} | {help_} | {resume} |")
        lines.append("")
    return "\n".join(lines)


def _text(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
