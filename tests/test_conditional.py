"""Class-conditional models: networks, training, sampling by class, grids, export, evaluation, CLI."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import FAST, TINY, assert_one_line_error, run, tiny_images

from kgen import export, images
from kgen.models import networks, registry
from kgen.models.sampling import spread_labels
from kgen.run.sample_files import write_samples

CLASSES = 4
FAMILIES = [("gan", "mlp"), ("gan", "dcgan"), ("vae", "mlp"), ("vae", "dcgan"), ("vaegan", "dcgan")]


def conditional_model(name, arch, **kwargs):
    return registry.model_class(name)(image_shape=(TINY, TINY, 1), latent_dim=4, arch=arch, width=4, seed=1,
                                      num_classes=CLASSES, **kwargs)


def labelled_batch(model, n=16):
    low, high = model.output_range
    x = (tiny_images(n).astype("float32") / 255.0) * (high - low) + low
    return x, np.arange(n) % CLASSES


def test_projection_discriminator_adds_the_class_embedding_dot_the_features():
    d = networks.build_discriminator((TINY, TINY, 1), "mlp", width=2, num_classes=3)
    x = tiny_images(3).astype("float32") / 255.0
    labels = np.array([0, 2, 2], "int32")
    features = keras.Model(d.inputs, d.get_layer("logits").input)([x, labels]).numpy()
    w, b = (v.numpy() for v in d.get_layer("logits").weights)
    embedding = d.get_layer("class_projection").weights[0].numpy()
    expected = features @ w + b + np.sum(embedding[labels] * features, axis=1, keepdims=True)
    np.testing.assert_allclose(d([x, labels]).numpy(), expected, rtol=1e-5, atol=1e-6)
    # the same image under another class gets another logit
    assert not np.allclose(d([x[:1], np.array([0])]), d([x[:1], np.array([1])]))


def test_conditional_generator_and_encoder_take_labels():
    g = networks.build_generator((TINY, TINY, 1), "dcgan", 4, width=2, num_classes=3)
    z = np.zeros((2, 4), "float32")
    out = g([z, np.array([0, 1])]).numpy()
    assert out.shape == (2, TINY, TINY, 1) and not np.allclose(out[0], out[1])  # z equal, labels differ
    e = networks.build_encoder((TINY, TINY, 1), "mlp", 4, width=2, num_classes=3)
    mean, _ = e([np.repeat(tiny_images(1).astype("float32") / 255.0, 2, 0), np.array([0, 2])])
    assert not np.allclose(mean[0], mean[1])


@pytest.mark.parametrize("name, arch", FAMILIES)
def test_conditional_models_train_save_and_load(name, arch, tmp_path):
    model = conditional_model(name, arch)
    model.compile()
    x, y = labelled_batch(model)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x[:8], y[:8]))
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights)), \
        "every weight, the label embeddings included, must be trained"
    assert type(model).from_config(model.get_config()).num_classes == CLASSES
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    labels = [3, 0, 1, 2, 3]
    np.testing.assert_allclose(loaded.sample(5, seed=2, labels=labels), model.sample(5, seed=2, labels=labels),
                               atol=1e-6)


def test_labels_are_checked():
    model = conditional_model("gan", "mlp")
    with pytest.raises(ValueError, match="conditional on 4 classes"):
        model.generate(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="Label 4 is not a class of this model: expected 0 to 3"):
        model.sample(3, labels=4)
    with pytest.raises(ValueError, match="one integer label or 3"):
        model.sample(3, labels=[0, 1])
    with pytest.raises(ValueError, match="trains on \\(images, labels\\)"):
        model.compile()
        model.fit(labelled_batch(model)[0], batch_size=4, epochs=1, verbose=0)
    plain = registry.model_class("gan")(image_shape=(TINY, TINY, 1), latent_dim=4, arch="mlp", width=4)
    with pytest.raises(ValueError, match="not class-conditional"):
        plain.sample(2, labels=1)
    with pytest.raises(ValueError, match="0 \\(unconditional\\) or at least 2"):
        conditional_model("vae", "mlp").__class__(num_classes=1)


def test_spread_labels_give_each_class_its_share_in_order():
    labels = spread_labels(64, 10)
    assert np.all(np.diff(labels) >= 0) and set(labels) == set(range(10))
    assert sorted(np.bincount(labels)) == [6] * 6 + [7] * 4


def test_sampling_draws_the_requested_class_and_keeps_latents():
    model = conditional_model("gan", "dcgan")
    same_class = model.sample(6, seed=3, labels=2)
    z = model.latent_batch(6, seed=3)
    np.testing.assert_allclose(same_class, model.generate(z, np.full(6, 2), training=False), atol=1e-6)
    spread = model.sample(8, seed=3)  # labels 0,0,1,1,2,2,3,3
    np.testing.assert_allclose(spread, model.generate(model.latent_batch(8, seed=3), spread_labels(8, CLASSES)),
                               atol=1e-6)


def test_a_conditional_vae_learns_to_draw_the_requested_class():
    """Class c = a bright square in quadrant c: samples of class c must be brightest in quadrant c."""
    keras.utils.set_random_seed(0)
    n, half = 256, TINY // 2
    labels = np.arange(n) % CLASSES
    x = np.random.RandomState(0).uniform(0, 0.1, (n, TINY, TINY, 1)).astype("float32")
    corners = [(0, 0), (0, half), (half, 0), (half, half)]
    for i, c in enumerate(labels):
        top, left = corners[c]
        x[i, top:top + half, left:left + half] = 0.9
    model = conditional_model("vae", "mlp")
    model.compile(keras.optimizers.Adam(3e-3))
    model.fit(x, labels, batch_size=32, epochs=15, verbose=0, shuffle=False)
    for c in range(CLASSES):
        samples = model.sample(16, seed=c, labels=c)
        brightness = [samples[:, t:t + half, l:l + half].mean() for t, l in corners]
        assert int(np.argmax(brightness)) == c, (c, brightness)


def test_class_rows_grid_puts_each_class_on_its_own_row(tmp_path):
    model = conditional_model("gan", "mlp")
    path = tmp_path / "grid.png"
    assert write_samples(model, 10, str(path), seed=0, scale=1) == 10
    grid = tf.io.decode_png(path.read_bytes()).numpy()
    # 4 rows (one per class), 3 columns (the largest class has 3 of the 10 images), 2-pixel padding
    assert grid.shape == (4 * (TINY + 2) + 2, 3 * (TINY + 2) + 2, 1)
    tiles, cols = images.rows_by_class(images.to_uint8(model.sample(10, seed=0), model.output_range),
                                       spread_labels(10, CLASSES))
    np.testing.assert_array_equal(grid, images.make_grid(tiles, cols=cols))
    # labels 0 0 0 1 1 2 2 2 3 3: the last tile of class 1's row is blank, that of class 0's is not
    top, left = 2 + (TINY + 2), 2 + 2 * (TINY + 2)
    assert np.all(grid[top:top + TINY, left:left + TINY] == 255)
    assert not np.all(grid[2:2 + TINY, left:left + TINY] == 255)


def test_sample_grid_callback_shares_one_latent_per_column():
    from kgen.training.callbacks import SampleGrid

    model = conditional_model("gan", "mlp")
    callback = SampleGrid("unused", n=8)
    callback.set_model(model)
    callback.on_train_begin()
    z, labels = callback._z.numpy(), callback._labels
    assert z.shape == (8, 4) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    np.testing.assert_array_equal(z[0::2], np.repeat(z[:1], 4, 0))  # column 0: one latent for all classes


@pytest.fixture(scope="module")
def conditional_exports(tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    out = {}
    for name, arch in (("gan", "dcgan"), ("vae", "dcgan")):
        model = conditional_model(name, arch)
        model.compile()
        x, y = labelled_batch(model, 8)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        out[name] = (model, export.export_model(model, base_dir=str(base)))
    return out


def test_conditional_export_serves_classes_without_kgen(conditional_exports, tmp_path):
    script = textwrap.dedent("""
        import sys, numpy as np, tensorflow as tf
        m = tf.saved_model.load(sys.argv[1])
        out = {}
        for label in (2, -1):
            out[f"sample{label}"] = m.signatures["sample"](
                n=tf.constant(6), seed=tf.constant(3, tf.int64), label=tf.constant(label))["images"].numpy()
        z = np.random.RandomState(0).normal(size=(4, 4)).astype("float32")
        labels = tf.constant([3, 2, 1, 0])
        out["default"] = m.signatures["serving_default"](z=tf.constant(z), labels=labels)["images"].numpy()
        if "reconstruct" in m.signatures:
            x = np.random.RandomState(1).randint(0, 256, (2, 16, 16, 1)).astype("uint8")
            reconstruct = m.signatures["reconstruct"]
            out["reconstruct"] = reconstruct(images=tf.constant(x), labels=tf.constant([1, 3]))["images"].numpy()
        out["imported"] = np.array(sorted(k for k in sys.modules if k.split(".")[0] == "kgen"))
        np.savez(sys.argv[2], **out)
    """)
    for name, (model, path) in conditional_exports.items():
        target = tmp_path / f"{name}.npz"
        subprocess.run([sys.executable, "-c", script, path, str(target)], check=True, timeout=300, cwd=tmp_path,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        got = np.load(target)
        assert got["imported"].size == 0
        as_uint8 = lambda x: images.to_uint8(x, model.output_range)  # noqa: E731
        np.testing.assert_array_equal(got["sample2"], as_uint8(model.sample(6, seed=3, labels=2)))
        np.testing.assert_array_equal(got["sample-1"], as_uint8(model.sample(6, seed=3)))
        z = np.random.RandomState(0).normal(size=(4, 4)).astype("float32")
        np.testing.assert_array_equal(got["default"], as_uint8(model.generate(z, np.array([3, 2, 1, 0]))))
        if name == "vae":
            x = np.random.RandomState(1).randint(0, 256, (2, 16, 16, 1)).astype("uint8")
            xf = images.from_uint8(x, model.output_range)
            np.testing.assert_array_equal(got["reconstruct"], as_uint8(model.reconstruct(xf, np.array([1, 3]))))


def test_exported_model_samples_by_class_like_its_keras_model(conditional_exports):
    model, path = conditional_exports["gan"]
    exported = export.ExportedModel(path)
    assert exported.num_classes == CLASSES and exported.conditional
    np.testing.assert_allclose(exported.sample(5, seed=1, labels=1), model.sample(5, seed=1, labels=1), atol=1e-6)
    with pytest.raises(ValueError, match="Label 9 is not a class"):
        exported.sample(2, labels=9)
    with open(os.path.join(path, export.INFO_FILE)) as f:
        assert json.load(f)["num_classes"] == CLASSES


class ClassifierStandIn:
    """What class_agreement reads of an extractor: its name."""

    name = "classifier"


def test_evaluation_reports_per_class_agreement(tmp_path):
    from kgen.evaluation import protocol as ev
    from kgen.evaluation.features import FeatureSet

    model = conditional_model("gan", "mlp")
    # the 8 images were requested as spread_labels(8, 4) = 0 0 1 1 2 2 3 3
    predicted = np.array([0, 0, 1, 3, 2, 2, 0, 0])
    logits = np.eye(CLASSES, dtype="float32")[predicted]
    generated = FeatureSet(np.zeros((8, 2), "float32"), logits, "8 generated images")
    agreement = ev.class_agreement(model, ClassifierStandIn(), generated)
    assert agreement["per_class"] == [1.0, 0.5, 1.0, 0.0] and agreement["overall"] == 0.625
    assert agreement["n_per_class"] == [2, 2, 2, 2]
    # an unconditional model, or an extractor with other classes (InceptionV3's 1,000), gets none
    plain = registry.model_class("gan")(image_shape=(TINY, TINY, 1), latent_dim=4, arch="mlp", width=4)
    assert ev.class_agreement(plain, ClassifierStandIn(), generated) is None
    wide = FeatureSet(np.zeros((8, 2), "float32"), np.zeros((8, 1000), "float32"), "")
    assert ev.class_agreement(model, ClassifierStandIn(), wide) is None


@pytest.fixture(scope="module")
def labelled_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "labelled.npz"
    # 120 training images: an evaluator holds 20 out, as many as the metrics' ceiling needs
    np.savez(path, x_train=tiny_images(120), y_train=np.arange(120) % CLASSES, x_test=tiny_images(16, seed=1),
             y_test=np.arange(16) % CLASSES)
    return str(path)


def test_cli_conditional_fit_sample_and_eval(labelled_npz, tmp_path):
    from kgen.evaluation.classifier import train_evaluator

    train_evaluator(labelled_npz, epochs=1, batch_size=16, directory=str(tmp_path / "evaluator"), verbose=0)
    result = run(["fit", "--model", "vae", "--arch", "dcgan", "--conditional", "--data", labelled_npz, "--epochs", "1",
                  "--run-dir", "run", "--evaluator", "evaluator", "--metrics-n", "16", *FAST],
                 tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    with open(tmp_path / "run" / "config.json") as f:
        record = json.load(f)
    assert record["kgen_run"]["conditional"] and record["model_config"]["num_classes"] == CLASSES
    with open(tmp_path / "run" / "history.json") as f:
        assert 0.0 <= json.load(f)["classifier_class_agreement"][-1] <= 1.0
    grid = tf.io.decode_png((tmp_path / "run" / "samples" / "epoch_001.png").read_bytes()).numpy()
    assert grid.shape[0] == 2 * (CLASSES * (TINY + 2) + 2)  # one row per class, scale 2

    result = run(["sample", "--run-dir", "run", "--n", "6", "--label", "3"], tmp_path)
    assert result.exit_code == 0 and "6 images of class 3" in result.output
    assert (tmp_path / "run" / "samples" / "sample_n6_seed0_label3.png").is_file()
    assert_one_line_error(run(["sample", "--run-dir", "run", "--label", "4"], tmp_path),
                          "Label 4 is not a class of this model: expected 0 to 3")

    result = run(["eval", "--run-dir", "run", "--n", "16", "--evaluator", "evaluator", "--metrics", "fid"], tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "class agreement" in result.output and "all classes" in result.output


def test_cli_conditional_errors(labelled_npz, tmp_path):
    unlabelled = tmp_path / "unlabelled.npy"
    np.save(unlabelled, tiny_images(16))
    assert_one_line_error(run(["fit", "--conditional", "--data", str(unlabelled), "--run-dir", "r", *FAST], tmp_path),
                          "has no labels: a conditional model needs labelled data")
    assert not (tmp_path / "r").exists()
    result = run(["fit", "--model", "gan", "--arch", "mlp", "--data", labelled_npz, "--run-dir", "plain",
                  "--metrics-every", "0", *FAST], tmp_path)
    assert result.exit_code == 0
    assert_one_line_error(run(["sample", "--run-dir", "plain", "--label", "1"], tmp_path), "not class-conditional")
