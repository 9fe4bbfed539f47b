"""RunConfig: strict keys, validation, JSON round trip."""

import pytest

from kgen.run.config import RunConfig


def test_json_round_trip():
    config = RunConfig(model="vae", arch="dcgan", epochs=3, model_options={"beta": 4.0}, seed=9)
    assert RunConfig.from_json(config.to_json()) == config


def test_unknown_keys_are_errors():
    with pytest.raises(ValueError, match="Unknown run setting\\(s\\) epoch"):
        RunConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "epochs must be an integer ≥ 1; got 0"),
    ({"batch_size": -1}, "batch_size must be"),
    ({"translate": 0.7}, "translate must be"),
    ({"learning_rate": 0.0}, "learning_rate must be a number > 0; got 0.0"),
])
def test_invalid_values(values, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**values)


def test_a_time_budget_without_epochs_lets_the_budget_alone_end_training():
    from kgen.run.config import EPOCHS_UNDER_A_TIME_BUDGET

    assert RunConfig().epochs == 1
    assert RunConfig(max_minutes=5).epochs == EPOCHS_UNDER_A_TIME_BUDGET
    assert RunConfig(max_minutes=5, epochs=3).epochs == 3
    assert RunConfig.from_json(RunConfig(max_minutes=5).to_json()).epochs == EPOCHS_UNDER_A_TIME_BUDGET


def test_every_kgen_fit_option_of_a_run_setting_has_its_default():
    """The CLI and RunConfig must not disagree: an option named after a RunConfig field defaults to the
    field's default (after the option's own parsing), or has none where the field's is None."""
    import dataclasses

    import click

    from kgen.cli.fit_command import fit

    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    ctx = click.Context(fit)
    checked = []
    for param in fit.params:
        if param.name not in fields:
            continue
        field = fields[param.name]
        expected = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        value = param.get_default(ctx)
        if value is not None and type(value).__name__ == "Sentinel":  # click's "no default"
            value = None
        if param.callback is not None and value is not None:
            value = param.callback(ctx, param, value)
        flag = "--" + param.name.replace("_", "-")
        assert value == expected, f"{flag}: the CLI's default {value!r}, RunConfig's {expected!r}"
        checked.append(param.name)
    assert len(checked) >= 20 and {"batch_size", "metrics", "checkpoint_every", "precision"} <= set(checked)
