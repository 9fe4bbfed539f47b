"""A run's record, ``config.json``: its settings (enough to repeat it) and what became of it.

:class:`RunRecord` is the one reader and writer of that file: ``kgen fit`` writes it, ``kgen eval``,
``kgen compare`` and the reports read it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import os

from kgen.files import write_json

CONFIG_FILE = "config.json"


class RunStatus(str, enum.Enum):
    """What became of a run. ``running`` is also the status of a run killed without a chance to say so."""

    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    DIVERGED = "diverged"
    FAILED = "failed"

    @property
    def resumable(self):
        """Whether a run of this status goes on from its checkpoint (a failed or diverged one starts over)."""
        return self in (RunStatus.RUNNING, RunStatus.INTERRUPTED)


def now():
    """The current local time as ``config.json`` records it."""
    return datetime.datetime.now().isoformat(timespec="seconds")


@dataclasses.dataclass
class RunRecord:
    """The contents of a run's ``config.json``.

    Attributes:
        kgen_run: the run settings (:class:`kgen.run.config.RunConfig` as a dict).
        model_config: the model's full config.
        data: what the data pipeline read (:class:`kgen.data.pipeline.DataInfo` as a dict).
        started: when the run began (ISO time).
        status: a :class:`RunStatus`.
        status_detail: why: the signal of an interruption, the message of a divergence or failure.
        evaluator: the evaluator the metrics during training used (its identity, by hash), or ``None``.
        precision: the dtype policy used and why (``{"precision", "reason"}``).
        resumed: one entry per resume: when, and which settings changed (``{"at", "changed"}``).
        rollbacks: the rollbacks after a NaN (``--on-nan rollback``).
        stopped: why training stopped before its last epoch (a time budget), or ``None``.
        finished: when training last ended (ISO time), or ``None``.
        epochs_completed: epochs finished so far.
        learning_rates: each optimizer's learning rate when training began (``{role: rate}``), defaults
            resolved: what ``kgen_run``'s ``learning_rate`` of ``None`` meant for this run. ``None`` in records
            written before kgen recorded it.
        latent_prior: the mixture prior fitted after training (``{"components", "temperature", "images", "draws",
            "seconds"}``; records of kgen 0.4 before the draws name ``codes`` instead of images and draws), or
            ``None`` (a model that samples from N(0, I)).
    """

    kgen_run: dict
    model_config: dict
    data: dict
    started: str = dataclasses.field(default_factory=now)
    status: RunStatus = RunStatus.RUNNING
    status_detail: str = ""
    evaluator: dict | None = None
    precision: dict | None = None
    resumed: list = dataclasses.field(default_factory=list)
    rollbacks: list = dataclasses.field(default_factory=list)
    stopped: str | None = None
    finished: str | None = None
    epochs_completed: int = 0
    learning_rates: dict | None = None
    latent_prior: dict | None = None

    @classmethod
    def read(cls, run_dir):
        """The record of ``run_dir`` (or of a ``.keras`` file's directory), or ``None`` if it has none.

        Records of kgen 0.1 (status strings such as ``"interrupted (SIGINT)"``, ``"diverged: …"``) are read too.
        """
        path = os.path.join(run_dir if os.path.isdir(run_dir) else os.path.dirname(run_dir), CONFIG_FILE)
        if not os.path.isfile(path):
            return None
        with open(path) as f:
            values = json.load(f)
        status, detail = _parse_status(values.get("status", "running"), values.get("status_detail", ""))
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        resumed = [r if isinstance(r, dict) else {"at": r, "changed": {}} for r in values.get("resumed", [])]
        values.update(status=status, status_detail=detail, resumed=resumed)
        values.setdefault("kgen_run", {})
        values.setdefault("model_config", {})
        values.setdefault("data", {})
        return cls(**values)

    def write(self, run_dir):
        """Write the record into ``run_dir`` atomically."""
        values = dataclasses.asdict(self)
        values["status"] = self.status.value
        write_json(os.path.join(run_dir, CONFIG_FILE), values)

    def end(self, status, detail=""):
        """Set the run's final status (and why) and the time it ended."""
        self.status, self.status_detail, self.finished = RunStatus(status), str(detail), now()

    def describe_status(self):
        """The status in words, e.g. ``"interrupted (SIGINT)"`` or ``"diverged: loss=nan at …"``."""
        if not self.status_detail:
            return self.status.value
        if self.status is RunStatus.INTERRUPTED:
            return f"{self.status.value} ({self.status_detail})"
        return f"{self.status.value}: {self.status_detail}"


def _parse_status(text, detail=""):
    """A status as ``config.json`` holds it (kgen 0.1 wrote the detail into the status string)."""
    for status in RunStatus:
        if text == status.value:
            return status, detail
        if text.startswith(status.value + " (") and text.endswith(")"):
            return status, text[len(status.value) + 2:-1]
        if text.startswith(status.value + ": "):
            return status, text[len(status.value) + 2:]
    raise ValueError(f"Unknown run status {text!r} in {CONFIG_FILE}: expected one of "
                     f"{', '.join(s.value for s in RunStatus)}.")
