"""Run settings: one strict dataclass, :class:`RunConfig`, written into every run dir so a run can be repeated; its
fields, defaults and checks come from the declarations of :mod:`kgen.run.settings`."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re

from kgen.run.settings import RUN_SETTINGS

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


class _RunSettings:
    """The behaviour of :class:`RunConfig`; its fields come from :data:`kgen.run.settings.RUN_SETTINGS`."""

    def __post_init__(self):
        if self.epochs is None:
            self.epochs = 1 if self.max_minutes is None else EPOCHS_UNDER_A_TIME_BUDGET
        if isinstance(self.checkpoint_every, int) and not isinstance(self.checkpoint_every, bool):
            self.checkpoint_every = str(self.checkpoint_every)  # a number of steps
        for setting in RUN_SETTINGS:
            value = getattr(self, setting.name)
            if setting.type is str and isinstance(value, os.PathLike):
                value = os.fspath(value)
                setattr(self, setting.name, value)
            setting.check(value)
        if self.metrics_at is not None:
            if not all(isinstance(m, (int, float)) and m > 0 for m in self.metrics_at):
                raise ValueError(f"metrics_at must be a list of positive minutes; got {self.metrics_at!r}.")
            self.metrics_at = sorted(float(m) for m in self.metrics_at)
        parse_interval(self.checkpoint_every)
        if not all(isinstance(v, (int, float)) and v > 0 for v in self.learning_rates.values()):
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


def _field(setting):
    if isinstance(setting.default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(setting.default))
    return dataclasses.field(default=setting.default)


def _docstring():
    rows = "\n".join(f"        {s.name}: {s.help}" for s in RUN_SETTINGS)
    return ("Everything ``kgen fit`` needs to train a model; ``None``: the model's (or the data's) default.\n\n"
            "    Built from :data:`kgen.run.settings.RUN_SETTINGS`, which declares each field once (type, default,\n"
            "    limits, help) for this class, ``kgen fit``'s options and docs/options.md.\n\n"
            f"    Attributes:\n{rows}\n    ")


RunConfig = dataclasses.make_dataclass(
    "RunConfig", [(s.name, s.type if s.default is not None else f"{s.type.__name__} | None", _field(s))
                  for s in RUN_SETTINGS],
    bases=(_RunSettings,), namespace={"__doc__": _docstring(), "__module__": __name__})
