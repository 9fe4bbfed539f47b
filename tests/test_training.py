"""kgen.training.fit.fit_run from Python: the run record, and nothing lost on Ctrl-C."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgen.data import DataError
from kgen.models import registry
from kgen.run.config import RunConfig
from kgen.run.layout import load_model
from kgen.run.settings import PRIOR_DRAWS
from kgen.training.fit import RunDirError, fit_run as fit, load_training_data, validation_data


def tiny_config(npz_file, run_dir, **overrides):
    values = dict(model="vae", arch="dcgan", data=str(npz_file), epochs=3, batch_size=8, latent_dim=4, width=4,
                  run_dir=str(run_dir), grid_size=9)
    values.update(overrides)
    return RunConfig(**values)


class InterruptAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def test_fit_returns_history_and_grids(npz_file, tmp_path):
    result = fit(tiny_config(npz_file, tmp_path / "run", epochs=2), verbose=0)
    assert len(result.history["epoch_seconds"]) == 2 and len(result.grid_paths) == 2
    assert set(result.history) >= {"loss", "kl_loss", "reconstruction_loss", "val_loss"}
    reloaded = load_model(result.run_dir, float32=False)  # in the precision it trained in, as result.model
    np.testing.assert_array_equal(reloaded.sample(4, seed=1), result.model.sample(4, seed=1))


def test_ctrl_c_keeps_the_model_and_records_the_status(npz_file, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_config(npz_file, tmp_path / "run"), verbose=0, callbacks=[InterruptAfter(2)])
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["status"] == "interrupted" and record["epochs_completed"] == 2
    assert load_model(tmp_path / "run").sample(2).shape == (2, 16, 16, 1)


def test_overwrite_replaces_an_existing_run(npz_file, tmp_path):
    fit(tiny_config(npz_file, tmp_path / "run", epochs=1), verbose=0)
    with pytest.raises(RunDirError, match="already holds a finished run"):
        fit(tiny_config(npz_file, tmp_path / "run", epochs=1), verbose=0)
    (tmp_path / "run" / "stale.txt").write_text("old")
    fit(tiny_config(npz_file, tmp_path / "run", epochs=1, model="gan", arch="mlp"), overwrite=True, verbose=0)
    assert not (tmp_path / "run" / "stale.txt").exists()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["kgen_run"]["model"] == "gan"


def test_a_run_recorded_before_a_setting_existed_resumes_with_its_default(npz_file, tmp_path):
    fit(tiny_config(npz_file, tmp_path / "run", epochs=1), verbose=0)
    path = tmp_path / "run" / "config.json"
    record = json.loads(path.read_text())
    del record["kgen_run"]["conditional"]  # as written by kgen before --conditional
    path.write_text(json.dumps(record))
    assert len(fit(tiny_config(npz_file, tmp_path / "run", epochs=2), verbose=0).history["epoch_seconds"]) == 2
    with pytest.raises(RunDirError, match="conditional: False there, True now"):
        fit(tiny_config(npz_file, tmp_path / "run", epochs=3, conditional=True), verbose=0)


def test_the_record_names_the_learning_rates_and_a_resume_keeps_them(npz_file, tmp_path):
    fit(tiny_config(npz_file, tmp_path / "run", epochs=1, model="gan", arch="mlp", learning_rate=1e-3,
                    learning_rates={"d_optimizer": 4e-4}), verbose=0)
    path = tmp_path / "run" / "config.json"
    record = json.loads(path.read_text())
    assert record["learning_rates"] == {"d_optimizer": 4e-4, "g_optimizer": 1e-3}
    # As if trained when these rates were the defaults, then resumed by a kgen whose defaults differ: the run goes
    # on at the rates it began with (from its checkpoint), and its record still says which.
    record["kgen_run"].update(learning_rate=None, learning_rates={})
    path.write_text(json.dumps(record))
    model = fit(tiny_config(npz_file, tmp_path / "run", epochs=2, model="gan", arch="mlp"), verbose=0).model
    rates = {role: float(np.asarray(getattr(model, role).learning_rate)) for role in model.optimizer_roles}
    assert rates == pytest.approx({"d_optimizer": 4e-4, "g_optimizer": 1e-3})
    assert json.loads(path.read_text())["learning_rates"] == pytest.approx(rates)


def validated_images(config):
    """How many test images the validation pass after each epoch of ``config``'s run reads."""
    cls = registry.model_class(config.model)
    _, info = load_training_data(config, cls)
    validation = validation_data(config, cls, info, tf.distribute.get_strategy(), verbose=0)
    return sum(int(batch[0].shape[0] if isinstance(batch, tuple) else batch.shape[0]) for batch in validation)


def test_short_epochs_validate_on_one_test_batch_per_five_training_steps(npz_file, tmp_path):
    # The fixture: 48 training and 16 test images.
    assert validated_images(tiny_config(npz_file, tmp_path, batch_size=1)) == 9  # 48 steps: 9 batches of 1
    assert validated_images(tiny_config(npz_file, tmp_path, batch_size=8)) == 8  # 6 steps: 1 batch of 8
    assert validated_images(tiny_config(npz_file, tmp_path, batch_size=2, limit=8)) == 2  # 4 steps: still 1 batch
    few_tests = tmp_path / "few-tests.npz"
    with np.load(npz_file) as arrays:
        np.savez(few_tests, **dict(arrays, x_test=arrays["x_test"][:4], y_test=arrays["y_test"][:4]))
    assert validated_images(tiny_config(few_tests, tmp_path, batch_size=1)) == 4  # long epochs: the whole split


def test_an_image_folder_trains_without_validation(image_folder, tmp_path):
    result = fit(tiny_config(image_folder, tmp_path / "run", epochs=1, image_size=16), verbose=0)
    assert "loss" in result.history and "val_loss" not in result.history


def test_a_corrupt_test_split_is_an_error_not_a_silent_skip(idx_dir, tmp_path):
    (idx_dir / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="t10k-images"):
        fit(tiny_config(idx_dir, tmp_path / "run", epochs=1), verbose=0)
    assert not (tmp_path / "run").exists()


def test_the_time_point_at_the_budget_is_scored_when_the_budget_stops_training_first():
    # The metrics callback runs before the budget at each step: at the last step it may read 9.99 minutes
    # and the budget 10.0. The 10-minute point must still be scored, at the end of that epoch.
    from types import SimpleNamespace

    from kgen.training.callbacks import MetricsMonitor

    class Clock:
        now = 0.0

        def minutes(self):
            return self.now

        def start(self):
            pass

    clock = Clock()
    monitor = MetricsMonitor(SimpleNamespace(name="classifier"), "data", every=0, at_minutes=[1, 2], clock=clock)
    monitor._measure = lambda: ({"classifier_fid": 3.0}, {"classifier_fid": [2.5, 3.5]})
    model = SimpleNamespace(stop_training=False, training_steps=lambda: 42)
    monitor.set_model(model)
    clock.now = 1.2
    monitor.on_train_batch_end(0)
    clock.now = 1.999
    monitor.on_train_batch_end(1)  # not yet
    clock.now, model.stop_training = 2.001, True  # the budget stopped training at this step
    monitor.on_epoch_end(0, {})
    assert [(t["minutes"], t["step"]) for t in monitor.record["timed"]] == [(1.0, 42), (2.0, 42)]
    monitor.on_epoch_end(0, {})  # nothing left to score
    assert len(monitor.record["timed"]) == 2


def test_short_epochs_get_a_grid_after_the_first_and_the_last_only(npz_file, tmp_path):
    """Grids cost a measurement of the average's batch-norm statistics: between the first and the last epoch
    at most one per SECONDS_BETWEEN_GRIDS (tiny epochs take far less than that)."""
    result = fit(tiny_config(npz_file, tmp_path / "run", epochs=4), verbose=0)
    assert [p.rsplit("/", 1)[-1] for p in result.grid_paths] == ["epoch_001.png", "epoch_004.png"]
    for folder in ("samples", "reconstructions"):
        assert sorted(p.name for p in (tmp_path / "run" / folder).iterdir()) == ["epoch_001.png", "epoch_004.png"]


class StopDuring(keras.callbacks.Callback):
    """Stops training during epoch ``epoch`` (1-based), as a time budget does."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._epoch + 1 == self.epoch:
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


def test_a_grid_follows_the_epoch_a_stop_ends_and_every_epoch_when_asked(tmp_path):
    from kgen.training.callbacks import SampleGrid

    model = registry.model_class("gan")(image_shape=(16, 16, 1), latent_dim=4, arch="dcgan", width=4, seed=1)
    model.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
    sparse = SampleGrid(str(tmp_path / "sparse"), n=4, min_seconds=3600)
    every = SampleGrid(str(tmp_path / "every"), n=4, min_seconds=0)
    model.fit(x, batch_size=8, epochs=10, verbose=0, callbacks=[StopDuring(3), sparse, every])
    assert [p.rsplit("/", 1)[-1] for p in sparse.paths] == ["epoch_001.png", "epoch_003.png"]
    assert len(every.paths) == 3 and all((tmp_path / "every" / f"epoch_00{e}.png").exists() for e in (1, 2, 3))


def test_a_run_with_a_mixture_prior_fits_it_after_training_and_samples_from_it(npz_file, tmp_path, capsys):
    result = fit(tiny_config(npz_file, tmp_path / "run", epochs=1, model_options={"prior_components": 3}), verbose=0)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["latent_prior"]["components"] == 3 and record["latent_prior"]["images"] == 48
    assert record["latent_prior"]["draws"] == PRIOR_DRAWS and record["latent_prior"]["temperature"] == 1.0
    assert f"a mixture of 3 Gaussians to {PRIOR_DRAWS} codes each of 48 training images" in capsys.readouterr().out
    reloaded = load_model(result.run_dir, float32=False)
    assert reloaded.latent_prior() is not None
    np.testing.assert_array_equal(reloaded.latent_batch(9, seed=0), result.model.latent_batch(9, seed=0))
    normal = tiny_config(npz_file, tmp_path / "plain", epochs=1)
    assert fit(normal, verbose=0).model.latent_prior() is None


def test_a_failed_prior_fit_keeps_the_trained_model_and_says_so(npz_file, tmp_path, monkeypatch):
    import kgen.training.fit as fit_module

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(fit_module, "fit_latent_prior", broken)
    with pytest.raises(fit_module.PriorFitError, match="fitting the latent prior failed.*not positive definite"):
        fit(tiny_config(npz_file, tmp_path / "run", epochs=1, model_options={"prior_components": 3}), verbose=0)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["status"] == "failed" and "model.keras keeps the trained networks" in record["status_detail"]
    assert load_model(tmp_path / "run").latent_prior() is None


def test_a_run_on_some_classes_fits_its_prior_to_the_codes_of_those_classes_only(npz_file, tmp_path):
    fit(tiny_config(npz_file, tmp_path / "run", epochs=1, classes=[0, 1], validate=False,
                    model_options={"prior_components": 2}),
        verbose=0)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["latent_prior"]["images"] == 10  # 5 zeros and 5 ones among the 48 training images
