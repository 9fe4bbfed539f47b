"""A comparison study: every model × seed trained on the same data with the same settings, evaluated
with the same protocol, in one study directory that an interrupted run continues.

Layout of a study dir::

    study.json                       the plan (re-running needs the same plan)
    runs/<model>-<arch>-seed<S>/     ordinary `kgen fit` run dirs, each with eval/<report>.json
    report.md, report.html, *.png    written by kgen.compare.report
"""

from __future__ import annotations

import dataclasses
import json
import os

from kgen import names
from kgen.compare import DEFAULT_MODELS  # noqa: F401  (part of this module's API)
from kgen.compare.presets import PRESETS
from kgen.files import write_json
from kgen.models import losses, registry
from kgen.run import layout
from kgen.run.config import RunConfig
from kgen.run.locks import directory_lock
from kgen.run.record import RunRecord, RunStatus
from kgen.run.settings import MODEL_OPTION, RUN_SETTING, model_options
from kgen.run.tensorboard_logs import write_hparams_experiment, write_scalars
from kgen.training.callbacks import TRAIN_RUN

STUDY_FILE = "study.json"
RUNS_DIR = "runs"
AUTOENCODER_ONLY = "autoencoder"  # report name of the likelihood-only evaluation, when no extractor can be had


class StudyError(ValueError):
    """A study that cannot run as asked (bad model list, or the study dir holds another plan)."""


# A GAN entry's third part (``gan:dcgan:hinge``) names its loss (each with its published recipe, e.g.
# WGAN-GP's 5 critic steps; see kgen.models.losses.GAN_LOSSES).
GAN_VARIANTS = {name: {"loss": name} for name in losses.GAN_LOSSES}


# A model name with this prefix (cgan, cvae, cvaegan) is the class-conditional model.
CONDITIONAL_PREFIX = "c"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One entry of ``--models``: a model family, its architecture, a variant (a GAN's loss), whether
    it is class-conditional, and optional run settings of this entry only (``gan:dcgan``,
    ``gan:dcgan:wgan-gp``, ``cgan:dcgan``, ``vaegan:dcgan@learning_rate=0.00015;optimizer=rmsprop``)."""

    model: str
    arch: str
    settings: tuple = ()
    variant: str = ""
    conditional: bool = False

    @property
    def family(self):
        """The model name as written in an entry: ``cgan`` for the conditional GAN."""
        return (CONDITIONAL_PREFIX if self.conditional else "") + self.model

    @property
    def name(self):
        extra = ";".join(f"{k}={_setting_text(v)}" for k, v in self.settings)
        head = f"{self.family}:{self.arch}" + (f":{self.variant}" if self.variant else "")
        return head + (f"@{extra}" if extra else "")

    @property
    def slug(self):
        """The entry as a directory name: ``vaegan-dcgan-learning_rate0.00015``, ``gan-dcgan-wgan-gp``,
        ``cgan-dcgan``."""
        return "-".join([self.family, self.arch] + ([self.variant] if self.variant else [])
                        + [f"{k}{_slug_text(v)}" for k, v in self.settings])

    def model_options(self):
        """The model constructor arguments the variant and the entry's model options stand for."""
        given = {key: value for key, value in self.settings if key in MODEL_OPTION}
        return {**(GAN_VARIANTS[self.variant] if self.variant else {}), **model_options(self.model, given)}

    def run_settings(self):
        """The entry's run settings (its ``@key=value`` pairs that are not model options)."""
        return {key: value for key, value in self.settings if key not in MODEL_OPTION}


def _setting_text(value):
    """A setting's value as an entry writes it: JSON for a dict or list (``{"d_optimizer":0.0004}``)."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)


def _slug_text(value):
    """A setting's value in a directory name: ``d_optimizer0.0004`` for ``{"d_optimizer": 0.0004}``."""
    if isinstance(value, dict):
        return "-".join(f"{k}{_slug_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "-".join(_slug_text(v) for v in value)
    return str(value)


def _model_name(name):
    """``(model, conditional)`` of an entry's model name: ``cvae`` → ``("vae", True)``, ``gan`` → ``("gan", False)``;
    a name that is no model comes back unchanged, not conditional."""
    base = name[len(CONDITIONAL_PREFIX):]
    if name not in registry.MODELS and name.startswith(CONDITIONAL_PREFIX) and base in registry.MODELS:
        return base, True
    return name, False


def _names_a_model(text):
    """Whether ``text`` begins with a model name (``gan``, ``cvae``, …) followed by its end, ``:``, ``@`` or ``,``."""
    head = text
    for stop in ":@,":
        head = head.partition(stop)[0]
    return _model_name(head.strip())[0] in registry.MODELS


def _entries(text):
    """The comma-separated entries of ``--models``, keeping commas inside ``{}`` and ``[]`` (JSON values) and, after
    an entry's ``@``, commas that do not begin a new entry (``gan@augment=translation,cutout,vae`` is two entries)."""
    text = str(text)
    entries, depth, current = [], 0, []
    for i, char in enumerate(text):
        depth += char in "{["
        depth -= char in "}]"
        if char == "," and depth == 0 and ("@" not in current or _names_a_model(text[i + 1:])):
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    return entries + ["".join(current)]


def parse_models(text):
    """``"gan:mlp,vae"`` → ``[ModelSpec("gan", "mlp"), ModelSpec("vae", "dcgan")]`` (default archs filled in).

    A GAN entry may name its loss as a third part (``gan:dcgan:wgan-gp``; see ``GAN_VARIANTS``). A
    ``c`` before the model name asks for its class-conditional version (``cgan:dcgan``, ``cvae:dcgan``,
    ``cvaegan``; the data needs labels). An entry may end with ``@key=value;key=value``: :class:`RunConfig`
    settings or model options (``kgen fit``'s model options by name) for that entry alone (e.g.
    ``vae:dcgan@latent_dim=2``, ``vaegan:dcgan@gamma=0.1;beta=2``); numbers are read as numbers.

    Raises:
        StudyError: an unknown model, architecture or setting, or a repeated entry.
    """
    fixed = {"model", "arch", "data", "seed", "run_dir", "conditional"}  # given by the entry or the plan
    fields = {f.name for f in dataclasses.fields(RunConfig)} - fixed
    specs = []
    for item in (part.strip() for part in _entries(text)):
        if not item:
            continue
        head, _, extra = item.partition("@")
        model, _, arch = head.partition(":")
        arch, _, variant = arch.partition(":")
        model, conditional = _model_name(model)
        if variant and (model != "gan" or variant not in GAN_VARIANTS):
            raise StudyError(f"In --models {item!r}: {variant!r} is not a variant of {model}; gan and cgan take "
                             f"{', '.join(GAN_VARIANTS)} (e.g. gan:dcgan:wgan-gp).")
        try:
            arch = registry.model_class(model).resolve_arch(arch or None)
        except ValueError as e:
            raise StudyError(f"In --models {item!r}: {e}") from None
        settings = []
        for pair in filter(None, extra.split(";")):
            key, sep, value = pair.partition("=")
            if not sep or key not in fields | set(MODEL_OPTION):
                raise StudyError(f"In --models {item!r}: {pair!r} is not key=value with a run setting among "
                                 f"{', '.join(sorted(fields))} or a model option among {', '.join(MODEL_OPTION)}.")
            settings.append((key, (RUN_SETTING.get(key) or MODEL_OPTION[key]).parse(value)))
        spec = ModelSpec(model, arch, tuple(settings), variant, conditional)
        try:
            spec.model_options()
        except ValueError as e:
            raise StudyError(f"In --models {item!r}: {e}") from None
        if spec in specs:
            raise StudyError(f"--models names {spec.name} twice.")
        specs.append(spec)
    if not specs:
        raise StudyError(f"--models lists no model; expected e.g. {DEFAULT_MODELS}.")
    return specs


@dataclasses.dataclass
class StudyPlan:
    """What a study trains and how it evaluates.

    Attributes:
        data: data spec shared by every run.
        models: model entries, e.g. ``["gan:dcgan", "vae:dcgan"]``.
        seeds: number of seeds per model (0, 1, …).
        epochs: epochs of every run (with ``budget_minutes``: the most epochs a run may take).
        batch_size: shared batch size.
        budget_minutes: matched wall-clock budget per run instead of matched epochs (``None``: off).
        eval_n: generated images per evaluation (classifier metrics; Inception when available); the
            autoencoders' likelihoods use min(1000, eval_n) test images.
        settings: other :class:`RunConfig` fields shared by every run (e.g. ``learning_rate``).
        description: what the study is about (the report's introduction).
        normal_classes: for an anomaly-detection study: every run trains on these classes only, and
            is scored by ROC AUC on the test split with the other classes as anomalies.
    """

    data: str
    models: list
    seeds: int = 3
    epochs: int = 5
    batch_size: int = 128
    budget_minutes: float | None = None
    eval_n: int = 10_000
    settings: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    normal_classes: list | None = None

    def __post_init__(self):
        self.models = [spec.name for spec in parse_models(",".join(self.models))]
        self.run_configs("")  # every entry must make a valid run config
        if int(self.seeds) < 1:
            raise StudyError(f"seeds must be at least 1; got {self.seeds}.")
        if self.budget_minutes is not None and not float(self.budget_minutes) > 0:
            raise StudyError(f"budget_minutes must be positive; got {self.budget_minutes}.")
        unknown = set(self.settings) - {f.name for f in dataclasses.fields(RunConfig)}
        if unknown:
            raise StudyError(f"Unknown run setting(s) {', '.join(sorted(unknown))} in the study plan.")

    def specs(self):
        """The :class:`ModelSpec` of each model entry."""
        return parse_models(",".join(self.models))

    def run_configs(self, study_dir):
        """``[(spec, seed, RunConfig)]`` for every model × seed, in training order (seed-major)."""
        out = []
        for seed in range(self.seeds):
            for spec in self.specs():
                run_dir = os.path.join(study_dir, RUNS_DIR, f"{spec.slug}-seed{seed}")
                values = dict(self.settings, epochs=self.epochs, batch_size=self.batch_size,
                              max_minutes=self.budget_minutes, classes=self.normal_classes)
                values.update(spec.run_settings())
                values["model_options"] = {**values.get("model_options", {}), **spec.model_options()}
                values.update(model=spec.model, arch=spec.arch, data=self.data, seed=seed, run_dir=run_dir,
                              conditional=spec.conditional)
                try:
                    out.append((spec, seed, RunConfig.from_dict(values)))
                except ValueError as e:
                    raise StudyError(f"Entry {spec.name}: {e}") from None
        return out


def preset_plan(name, seeds=3, eval_n=10_000, **overrides):
    """The :class:`StudyPlan` of a preset experiment (:data:`kgen.compare.presets.PRESETS`).

    Args:
        name: the preset's name.
        seeds, eval_n: as in :class:`StudyPlan`.
        overrides: plan fields that replace the preset's (``data``, ``epochs``, ``batch_size``,
            ``budget_minutes``, ``normal_classes``) or run settings added to its ``settings`` (e.g. ``limit=2000``).

    Raises:
        StudyError: no such preset (the message lists them), or the overrides make an invalid plan.
    """
    if name not in PRESETS:
        raise StudyError(f"Unknown preset {name!r}: expected one of {', '.join(PRESETS)}.")
    preset = PRESETS[name]
    fields = {key: overrides.pop(key)
              for key in ("data", "epochs", "batch_size", "budget_minutes", "normal_classes") if key in overrides}
    values = {"data": preset.data, "epochs": preset.epochs, "batch_size": preset.batch_size,
              "budget_minutes": preset.budget_minutes, **fields}
    return StudyPlan(models=_entries(preset.models), seeds=seeds,
                     eval_n=eval_n, settings={**preset.settings, **overrides},
                     description=f"{preset.description}. Preset {name!r} ({preset.paper}).", **values)


def load_or_create_plan(study_dir, plan):
    """Record ``plan`` in a new study dir, or check that an existing study has the same plan.

    The number of seeds may differ: a study run again with more seeds trains the new seeds' runs beside
    the finished ones (with fewer, the report covers the first ones).

    Raises:
        StudyError: the study dir holds a study with a different plan.
    """
    path = os.path.join(study_dir, STUDY_FILE)
    wanted = dataclasses.asdict(plan)
    if os.path.isfile(path):
        with open(path) as f:
            recorded = json.load(f)
        # A study recorded before a plan field existed had that field's default.
        defaults = {f.name: f.default for f in dataclasses.fields(StudyPlan) if f.default is not dataclasses.MISSING}
        recorded = {**{k: v for k, v in defaults.items() if k in wanted}, **recorded}
        changed = sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k) and k != "seeds")
        if changed:
            raise StudyError(
                f"{study_dir} holds a study with a different plan (differs in: {', '.join(changed)}); "
                "re-run it with the same options to continue it, or choose another --study-dir."
            )
        if recorded.get("seeds") == wanted["seeds"]:
            return plan
    write_json(path, wanted)
    return plan


def run_status(run_dir):
    """The :class:`kgen.run.record.RunStatus` of a study's run, or ``None`` when it has to be trained: no
    record, or a finished record without its model."""
    record = RunRecord.read(run_dir)
    if record is None:
        return None
    if record.status is RunStatus.FINISHED and not os.path.isfile(os.path.join(run_dir, layout.MODEL_FILE)):
        return None
    return record


def eval_path(run_dir, extractor_name, n, seed=0):
    """Where the study keeps a run's evaluation report: the file `kgen eval` writes with the same options."""
    return os.path.join(run_dir, layout.EVAL_DIR, layout.sample_report_name(extractor_name, n, seed))


def run_study(plan, study_dir, extractors=None, verbose=None, echo=print, fit=None, evaluate=None, notes=None):
    """Train every run of ``plan`` that is not finished, evaluate every run not yet evaluated.

    Finished runs are never retrained, so re-running the same command after an interruption goes on
    where it stopped: an interrupted run resumes from its checkpoint; a run without one (or that
    failed) is trained again from the start.

    Args:
        plan: a :class:`StudyPlan`.
        study_dir: the study directory.
        extractors: feature extractors to evaluate with (default: the data's evaluator classifier and
            InceptionV3, each when it can be had; see :func:`default_extractors`). With none, the
            autoencoders still get their reconstruction and likelihood metrics.
        verbose: Keras progress for training (see :func:`kgen.training.fit.fit_run`).
        echo: where progress lines go.
        fit, evaluate: the training and evaluation functions (injectable for tests).
        notes: a list that receives one line per kind of metric the study cannot compute, saying why.

    Returns:
        ``[(spec, seed, run_dir)]`` of every run.
    """
    from kgen.evaluation.anomaly import detect_anomalies
    from kgen.evaluation.autoencoder import autoencoder_report
    from kgen.evaluation.features import check_ceiling_capacity
    from kgen.evaluation.protocol import evaluate as evaluate_model
    from kgen.training.fit import fit_run

    fit, evaluate = fit or fit_run, evaluate or evaluate_model
    with directory_lock(study_dir, "runs a study in"):  # one writer per study dir (kgen compare holds it too)
        load_or_create_plan(study_dir, plan)
        if extractors is None:
            extractors, missing = default_extractors(plan.data)
            for line in missing:
                echo(f"note: {line}")
            if notes is not None:
                notes.extend(missing)
        for extractor in extractors:  # before any training: the evaluation at the end must be possible
            check_ceiling_capacity(extractor, plan.data, plan.eval_n, "--eval-n")
        configs = plan.run_configs(study_dir)
        classifier = next((e for e in extractors if e.name == "classifier"), None)
        if classifier is not None:  # the same evaluator for the metrics during training
            configs = [(spec, seed, dataclasses.replace(c, evaluator=c.evaluator or classifier.directory))
                       for spec, seed, c in configs]
        done = []
        for i, (spec, seed, config) in enumerate(configs, 1):
            record = run_status(config.run_dir)
            label = f"[{i}/{len(configs)}] {spec.name} seed {seed}"
            if record is not None and record.status is RunStatus.FINISHED:
                echo(f"{label}: finished earlier, not retrained")
            else:
                # killed (still "running"), interrupted: go on from the checkpoint; failed, diverged: start over
                resume = (record is not None and record.status.resumable
                          and layout.has_checkpoint(config.run_dir))
                echo(f"{label}: " + ("resuming" if resume else "training")
                     + ("" if record is None else f" (it was {record.describe_status()})"))
                fit(config, overwrite=not resume, verbose=verbose)
            for extractor in extractors:
                path = eval_path(config.run_dir, extractor.name, plan.eval_n)
                if os.path.isfile(path):
                    continue
                echo(f"{label}: evaluating with the {extractor.name} extractor ({plan.eval_n} images)")
                report = evaluate(layout.load_model(config.run_dir), plan.data, n=plan.eval_n, extractor=extractor,
                                  translate=config.translate, autoencoder_n=min(1000, plan.eval_n))
                write_json(path, report)
                log_final_metrics(config.run_dir, extractor.name, report)
            if not extractors:  # no sample metrics: the autoencoders' likelihoods still compare
                path = eval_path(config.run_dir, AUTOENCODER_ONLY, plan.eval_n)
                model = None if os.path.isfile(path) else layout.load_model(config.run_dir)
                if model is not None and model.has_encoder:
                    echo(f"{label}: reconstruction and likelihood on {min(1000, plan.eval_n)} held-out images")
                    write_json(path, autoencoder_report(model, plan.data, min(1000, plan.eval_n),
                                                        translate=config.translate))
            if plan.normal_classes is not None:
                path = anomaly_path(config.run_dir, plan.normal_classes)
                if not os.path.isfile(path):
                    echo(f"{label}: anomaly detection (normal classes {plan.normal_classes})")
                    model = layout.load_model(config.run_dir)
                    write_json(path, detect_anomalies(model, plan.data, plan.normal_classes))
            done.append((spec, seed, config.run_dir))
        write_hparams_experiment(os.path.join(study_dir, RUNS_DIR), {
            "model": [spec.model for spec, _, _ in configs], "arch": [spec.arch for spec, _, _ in configs],
            "seed": [seed for _, seed, _ in configs]},
            {f"eval/{e.name}_{m}{end}": f"{e.name} {m}{what} ({plan.eval_n} images)" for e in extractors
             for m in names.REPORTED_METRICS for end, what in INTERVAL_ENDS})
        return done


# The scalars of a metric in TensorBoard: its value and the two ends of its bootstrap interval.
INTERVAL_ENDS = (("", ""), ("_low", ", 95 % interval low"), ("_high", ", 95 % interval high"))


def log_final_metrics(run_dir, extractor_name, report):
    """A run's final metrics (``kgen eval``'s) and their intervals as TensorBoard scalars
    ``eval/<extractor>_<metric>`` (``_low``, ``_high``) in its ``train`` run: what TensorBoard's HParams
    dashboard shows beside each run's settings."""
    values = {}
    for name, entry in report["metrics"].items():
        values[f"eval/{extractor_name}_{name}"] = entry["value"]
        if entry.get("interval"):
            values[f"eval/{extractor_name}_{name}_low"], values[f"eval/{extractor_name}_{name}_high"] = \
                entry["interval"]
    write_scalars(os.path.join(run_dir, layout.LOGS_DIR, TRAIN_RUN), values)


def anomaly_path(run_dir, normal_classes):
    """Where a run's anomaly-detection report is kept (the file `kgen anomaly` writes)."""
    return os.path.join(run_dir, layout.EVAL_DIR, layout.anomaly_report_name(normal_classes))


def default_extractors(data):
    """The feature extractors a study of ``data`` can use: the data's evaluator classifier and
    InceptionV3, each when it can be had.

    Returns:
        ``(extractors, missing)``: ``missing`` holds one line per extractor that cannot be had, saying
        which metrics are missing and why.
    """
    from kgen.evaluation.classifier import EvaluatorError, find_evaluator
    from kgen.evaluation.inception import ExtractorUnavailable, InceptionExtractor

    extractors, missing = [], []
    try:
        extractors.append(find_evaluator(data))
    except EvaluatorError as e:
        missing.append(f"no classifier metrics (FID / IS / KID / precision-recall in the evaluator's features): {e}")
    try:
        extractors.append(InceptionExtractor())
    except ExtractorUnavailable as e:
        missing.append(f"no Inception metrics: {e}")
    return extractors, missing
