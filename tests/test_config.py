"""RunConfig: strict keys, validation, JSON round trip."""

import pytest

from kgen.config import RunConfig


def test_json_round_trip():
    config = RunConfig(model="vae", arch="dcgan", epochs=3, model_options={"beta": 4.0}, seed=9)
    assert RunConfig.from_json(config.to_json()) == config


def test_unknown_keys_are_errors():
    with pytest.raises(ValueError, match="Unknown run setting\\(s\\) epoch"):
        RunConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": -1}, "batch_size must be"),
    ({"translate": 0.7}, "translate must be"),
    ({"learning_rate": 0.0}, "learning_rate must be positive"),
])
def test_invalid_values(values, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**values)


def test_a_time_budget_without_epochs_lets_the_budget_alone_end_training():
    from kgen.config import EPOCHS_UNDER_A_TIME_BUDGET

    assert RunConfig().epochs == 1
    assert RunConfig(max_minutes=5).epochs == EPOCHS_UNDER_A_TIME_BUDGET
    assert RunConfig(max_minutes=5, epochs=3).epochs == 3
    assert RunConfig.from_json(RunConfig(max_minutes=5).to_json()).epochs == EPOCHS_UNDER_A_TIME_BUDGET
