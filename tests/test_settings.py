"""The run-setting declarations (kgen/run/settings.py) and what is derived from them: RunConfig's fields and checks,
the options of `kgen fit`, the models' constructor arguments, the resume rule and docs/options.md."""

import dataclasses
import inspect
import os

import click
import pytest

from kgen.cli.fit_command import fit
from kgen.models.registry import model_class
from kgen.run.config import RunConfig
from kgen.run.settings import MODEL_OPTIONS, RESUMABLE_SETTINGS, RUN_SETTINGS, Setting, model_options, options_page

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")


def test_runconfig_has_one_field_per_declared_run_setting_with_its_default():
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    assert list(fields) == [s.name for s in RUN_SETTINGS]
    config = RunConfig()
    for setting in RUN_SETTINGS:
        expected = 1 if setting.name == "epochs" else setting.default  # epochs: 1 unless a time budget is given
        assert getattr(config, setting.name) == expected, setting.name


def test_kgen_fit_has_one_option_per_declared_setting_with_a_flag_and_no_other_settings():
    options = {p.name: p for p in fit.params}
    declared = [s for s in RUN_SETTINGS + MODEL_OPTIONS if s.option]
    assert {s.name for s in declared} | {"overwrite", "resume"} == set(options)
    assert {s.name for s in RUN_SETTINGS if not s.option} == {"model_options", "learning_rates", "grid_size"}
    for setting in declared:
        assert options[setting.name].opts[0] == setting.option
        assert options[setting.name].help == setting.help


@pytest.mark.parametrize("setting", [s for s in RUN_SETTINGS if s.minimum is not None], ids=lambda s: s.name)
def test_runconfig_refuses_a_number_beyond_a_declared_limit_and_the_cli_too(setting, tmp_path):
    below = setting.minimum if setting.open_minimum else setting.minimum - (1 if setting.type is int else 0.001)
    with pytest.raises(ValueError, match=f"{setting.name} must be"):
        RunConfig(**{setting.name: setting.type(below)})
    if setting.option:
        with pytest.raises(click.BadParameter):
            options = {p.name: p for p in fit.params}
            options[setting.name].type.convert(str(setting.type(below)), None, click.Context(fit))
    at = setting.minimum + (1 if setting.open_minimum else 0)
    assert getattr(RunConfig(**{setting.name: setting.type(at)}), setting.name) == at


@pytest.mark.parametrize("setting", [s for s in RUN_SETTINGS if s.choices], ids=lambda s: s.name)
def test_runconfig_refuses_a_value_outside_the_declared_choices(setting):
    with pytest.raises(ValueError, match=f"{setting.name} must be one of {', '.join(setting.choices)}; got 'other'"):
        RunConfig(**{setting.name: "other"})


def test_a_setting_checks_open_and_closed_limits_types_and_none():
    fraction = Setting("f", float, None, "", "Model", minimum=0, maximum=1, open_maximum=True)
    assert fraction.check(0) == 0 and fraction.check(0.5) == 0.5 and fraction.check(None) is None
    for bad in (1, 1.5, -0.1, "0.5", True):
        with pytest.raises(ValueError, match=r"f must be a number ≥ 0 and < 1; got"):
            fraction.check(bad)
    count = Setting("n", int, 3, "", "Model", minimum=1)
    assert count.check(1) == 1
    for bad in (None, 0, 2.0):
        with pytest.raises(ValueError, match="n must be an integer ≥ 1"):
            count.check(bad)


@pytest.mark.parametrize("option", MODEL_OPTIONS, ids=lambda s: s.name)
def test_every_model_option_is_a_constructor_argument_of_each_model_it_names(option):
    for model in option.models:
        assert option.argument in inspect.signature(model_class(model).__init__).parameters, (option.name, model)


def test_model_options_become_constructor_arguments_and_refuse_other_models_and_bad_values():
    given = {"gan_loss": "hinge", "ema": 0.99, "beta": None}
    assert model_options("gan", given) == {"loss": "hinge", "ema_decay": 0.99}
    with pytest.raises(ValueError, match="--gamma applies to --model vaegan only, not vae"):
        model_options("vae", {"gamma": 1.0})
    with pytest.raises(ValueError, match="gan_loss must be one of"):
        model_options("gan", {"gan_loss": "other"})


def test_resumable_settings_are_those_that_do_not_change_what_a_run_learns():
    assert {"epochs", "max_minutes", "metrics_at", "checkpoint_every", "run_dir"} <= set(RESUMABLE_SETTINGS)
    assert not {"model", "arch", "data", "learning_rate", "batch_size", "seed", "width"} & set(RESUMABLE_SETTINGS)


def test_docs_options_page_is_the_one_the_declarations_write():
    with open(os.path.join(DOCS, "options.md"), encoding="utf-8") as f:
        assert f.read() == options_page(), "docs/options.md is stale: python scripts/options_page.py > docs/options.md"


def test_a_setting_reads_its_value_from_a_study_entrys_text():
    from kgen.run.settings import RUN_SETTING

    assert RUN_SETTING["deterministic"].parse("True") is True and RUN_SETTING["validate"].parse("false") is False
    assert RUN_SETTING["learning_rate"].parse("0.0003") == 0.0003 and RUN_SETTING["latent_dim"].parse("2") == 2
    assert RUN_SETTING["checkpoint_every"].parse("5") == "5" and RUN_SETTING["checkpoint_every"].parse("2m") == "2m"
    assert RUN_SETTING["learning_rates"].parse('{"d_optimizer":0.0004}') == {"d_optimizer": 0.0004}
    assert RUN_SETTING["metrics_at"].parse("[1,2]") == [1, 2]
    config = RunConfig(**{name: RUN_SETTING[name].parse(text) for name, text in
                          (("deterministic", "True"), ("checkpoint_every", "5"), ("translate", "0.1"))})
    assert (config.deterministic, config.checkpoint_every, config.translate) == (True, "5", 0.1)
