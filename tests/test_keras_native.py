"""kgen as Keras users expect it: loading after `import kgen`, the public names, your own networks,
instant `--help`, and resuming a run from its directory alone."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import kgen
from conftest import FAST, TINY, assert_one_line_error, run, tiny_images

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def python(code, timeout=300):
    """Run ``code`` in a fresh interpreter; return its stdout (it must succeed)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=ENV,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_saved_model_loads_in_a_fresh_interpreter_after_import_kgen(tmp_path):
    model = kgen.GAN(image_shape=(TINY, TINY, 1), latent_dim=4, width=4, seed=0)
    model.compile()
    model.fit(tiny_images(8).astype("float32") / 127.5 - 1.0, batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "expected.npy", model.sample(3, seed=5))
    out = python(f"""
        import kgen, keras, numpy as np
        loaded = keras.saving.load_model({str(path)!r})
        expected = np.load({str(tmp_path / 'expected.npy')!r})
        print(type(loaded).__name__, np.array_equal(loaded.sample(3, seed=5), expected))
    """)
    assert out.split() == ["GAN", "True"]


def test_the_kgen_command_which_imports_lazily_loads_every_class_a_saved_model_names(tmp_path):
    # The console script imports kgen's modules on first use: loading must still find the model class
    # and its optimizers (FusedAdam) by their registered names.
    model = kgen.GAN(image_shape=(TINY, TINY, 1), latent_dim=4, width=4, seed=0)
    model.compile()
    model.fit(tiny_images(8).astype("float32") / 127.5 - 1.0, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    out = python(f"""
        import sys
        sys.argv = ["kgen"]
        from kgen.cli.main import cli
        cli.main(["sample", "--n", "4", "--model", {str(tmp_path / 'model.keras')!r}, "--out",
                  {str(tmp_path / 'grid.png')!r}], prog_name="kgen")
    """)
    assert "Wrote a grid of 4" in out and (tmp_path / "grid.png").is_file()


def test_the_public_names_show_in_dir():
    names = set(dir(kgen))
    assert {"GAN", "VAE", "VAEGAN", "RunConfig", "fit_run", "Trainer", "load_model", "evaluate", "export_model",
            "ExportedModel", "__version__"} <= names
    assert set(kgen.__all__) <= names


def test_help_and_option_errors_answer_without_tensorflow():
    # The console script's process: sys.argv[0] is `kgen`.
    out = python("""
        import sys, time
        start = time.perf_counter()
        sys.argv = ["kgen", "fit", "--help"]
        from kgen.cli.main import cli
        for args in (["fit", "--help"], ["compare", "--help"], ["evaluator", "fit", "--help"], ["fit", "--arch", "x"]):
            try:
                cli.main(args, prog_name="kgen")
            except SystemExit:
                pass
        print("seconds", time.perf_counter() - start, "tensorflow" in sys.modules)
    """)
    seconds, loaded = out.split("seconds")[1].split()
    assert loaded == "False" and float(seconds) < 3.0
    assert "Data:" in out and "GAN options:" in out and "Optimisation:" in out and "Run:" in out


def test_your_own_networks_train_save_and_load(tmp_path):
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(TINY * TINY, activation="tanh"),
                                  keras.layers.Reshape((TINY, TINY, 1))])
    discriminator = keras.Sequential([keras.Input((TINY, TINY, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model = kgen.GAN(image_shape=(TINY, TINY, 1), latent_dim=4, generator=generator, discriminator=discriminator,
                     seed=0)
    model.compile()
    model.fit(tiny_images(16).astype("float32") / 127.5 - 1.0, batch_size=4, epochs=1, verbose=0)
    assert model.generator is generator and model.generator_average is not None
    model.save(tmp_path / "own.keras")
    loaded = keras.saving.load_model(tmp_path / "own.keras")
    np.testing.assert_array_equal(loaded.sample(4, seed=1), model.sample(4, seed=1))
    assert loaded.generator.count_params() == generator.count_params()
    encoder_in = keras.Input((TINY, TINY, 1))
    flat = keras.layers.Flatten()(encoder_in)
    encoder = keras.Model(encoder_in, [keras.layers.Dense(4)(flat), keras.layers.Dense(4)(flat)])
    decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(TINY * TINY, activation="sigmoid"),
                                keras.layers.Reshape((TINY, TINY, 1))])
    vae = kgen.VAE(image_shape=(TINY, TINY, 1), latent_dim=4, encoder=encoder, decoder=decoder)
    vae.compile()
    vae.fit(tiny_images(8).astype("float32") / 255.0, batch_size=4, epochs=1, verbose=0)
    vae.save(tmp_path / "vae.keras")
    assert keras.saving.load_model(tmp_path / "vae.keras").decoder.count_params() == decoder.count_params()
    with pytest.raises(ValueError, match=r"must output \(16, 16, 1\)"):
        kgen.GAN(image_shape=(TINY, TINY, 1), latent_dim=4, generator=discriminator)


def test_fit_resume_takes_the_settings_from_the_run_dir(tmp_path):
    np.savez(tmp_path / "tiny.npz", x_train=tiny_images(32), y_train=np.arange(32) % 10)
    args = ["fit", "--model", "gan", "--arch", "mlp", "--data", "tiny.npz", "--epochs", "1", "--run-dir", "runs/r",
            "--metrics-every", "0", "--no-validate", *FAST]
    assert run(args, tmp_path).exit_code == 0
    # Settings that do not change training may differ on a resume, and are recorded.
    result = run(["fit", "--resume", "runs/r", "--epochs", "2", "--log-every", "3"], tmp_path)
    assert result.exit_code == 0, result.stderr
    record = json.loads((tmp_path / "runs" / "r" / "config.json").read_text())
    assert record["epochs_completed"] == 2 and record["kgen_run"]["log_every"] == 3
    assert record["resumed"][-1]["changed"] == {"epochs": [1, 2], "log_every": [10, 3]}
    assert record["kgen_run"]["latent_dim"] == 4 and record["kgen_run"]["arch"] == "mlp"  # kept from the run
    assert_one_line_error(run(["fit", "--resume", "runs/r", "--epochs", "3", "--lr", "0.1"], tmp_path),
                          "--lr cannot be given with --resume")
    assert_one_line_error(run(["fit", "--resume", "runs/r", "--epochs", "3", "--gan-loss", "hinge"], tmp_path),
                          "--gan-loss cannot be given with --resume")
    # The same command with other metrics settings resumes too (it used to be refused).
    result = run(args[:7] + ["--epochs", "3"] + args[9:] + ["--metrics-n", "400"], tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "runs" / "r" / "config.json").read_text())["epochs_completed"] == 3
