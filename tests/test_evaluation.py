"""Feature extractors, evaluating models, metrics during training and TensorBoard read-back."""

import json
import os

import keras
import numpy as np
import pytest

from conftest import tiny_images
from kgen.config import RunConfig
from kgen.evaluation import evaluate as ev
from kgen.evaluation.classifier import ClassifierExtractor, EvaluatorError, find_evaluator, train_evaluator
from kgen.evaluation.inception import ExtractorUnavailable, InceptionExtractor
from kgen.export import ExportedModel, export_model
from kgen.models import GAN, VAE
from kgen.tensorboard_logs import read_events
from kgen.training import fit


@pytest.fixture(scope="module")
def labelled_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=tiny_images(64), y_train=np.arange(64) % 4, x_test=tiny_images(24, seed=1),
             y_test=np.arange(24) % 4)
    return str(path)


@pytest.fixture(scope="module")
def evaluator(labelled_npz, tmp_path_factory):
    directory, record = train_evaluator(labelled_npz, epochs=1, batch_size=16,
                                        directory=str(tmp_path_factory.mktemp("evaluator")), verbose=0)
    assert record.num_classes == 4 and 0.0 <= record.test_accuracy <= 1.0
    return directory


def test_classifier_extractor_gives_features_and_logits(evaluator):
    extractor = ClassifierExtractor(evaluator)
    features, logits = extractor(tiny_images(7))
    assert features.shape == (7, 128) and logits.shape == (7, 4)
    assert features.dtype == np.float32 and np.all(features >= 0)  # ReLU features
    # other sizes are resized to the classifier's input
    assert extractor(tiny_images(3, size=24))[0].shape == (3, 128)
    with pytest.raises(ValueError, match="uint8"):
        extractor(np.zeros((2, 16, 16, 1), np.float32))
    with pytest.raises(EvaluatorError, match="1-channel"):
        extractor(tiny_images(2, channels=3))
    assert "test accuracy" in extractor.describe()


def test_missing_evaluator_names_the_command(tmp_path):
    with pytest.raises(EvaluatorError, match="kgen evaluator fit --data fashion_mnist"):
        find_evaluator("fashion_mnist", str(tmp_path / "none"))


def test_inception_extractor_with_random_weights():
    extractor = InceptionExtractor(weights=None, batch_size=2)
    features, logits = extractor(tiny_images(3))  # grayscale 16×16 → RGB 299×299
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    assert np.isfinite(features).all() and np.isfinite(logits).all()
    assert extractor(tiny_images(1, channels=3))[0].shape == (1, 2048)


def test_inception_extractor_offline_says_what_to_do(monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", no_network)
    with pytest.raises(ExtractorUnavailable, match="could not download.*--extractor classifier"):
        InceptionExtractor()


def tiny_gan():
    return GAN(image_shape=(16, 16, 1), latent_dim=4, arch="mlp", width=4, seed=0)


def tiny_vae():
    return VAE(image_shape=(16, 16, 1), latent_dim=4, arch="conv", width=4, seed=0)


def test_evaluate_reports_each_metric_with_its_ceiling_and_protocol(labelled_npz, evaluator, tmp_path):
    extractor = ClassifierExtractor(evaluator)
    report = ev.evaluate(tiny_gan(), labelled_npz, n=40, extractor=extractor, cache_dir=str(tmp_path / "cache"))
    assert set(report["metrics"]) == {"fid", "is", "kid", "precision", "recall"}
    for name, entry in report["metrics"].items():
        assert np.isfinite(entry["value"]) and np.isfinite(entry["ceiling"]), name
    # an untrained generator is far worse than real images
    assert report["metrics"]["fid"]["value"] > report["metrics"]["fid"]["ceiling"]
    protocol = report["protocol"]
    assert protocol["n_generated"] == 40 and protocol["n_reference"] == 24 and protocol["n_ceiling"] == 40
    assert "test split" in protocol["reference"] and "train split" in protocol["ceiling"]
    assert report["autoencoder"] is None
    json.dumps(report)  # serialisable
    assert "real data (ceiling)" in ev.format_report(report)


def test_reference_features_are_cached_and_reused(labelled_npz, evaluator, tmp_path):
    extractor = ClassifierExtractor(evaluator)
    cache = tmp_path / "cache"
    first = ev.RealFeatures.load(extractor, labelled_npz, 16, n_ceiling=20, cache_dir=str(cache))
    files = sorted(p.name for p in (cache / extractor.key).iterdir())
    assert len(files) == 2 and any("-test-" in f for f in files)
    for f in (cache / extractor.key).iterdir():  # mark the cache: a reuse must return the marked values
        with np.load(f) as saved:
            np.savez(f, features=saved["features"] + 1.0, logits=saved["logits"], description=saved["description"])
    second = ev.RealFeatures.load(extractor, labelled_npz, 16, n_ceiling=20, cache_dir=str(cache))
    np.testing.assert_allclose(second.reference.features, first.reference.features + 1.0)


def test_data_without_a_test_split_splits_the_training_images(evaluator, tmp_path):
    path = tmp_path / "only_train.npy"
    np.save(path, tiny_images(40))
    real = ev.RealFeatures.load(ClassifierExtractor(evaluator), str(path), 16, n_ceiling=30, cache_dir=None)
    assert len(real.reference) + len(real.ceiling) <= 40 and len(real.ceiling) > 0 and len(real.reference) > 0


def test_autoencoder_metrics(labelled_npz):
    scores = ev.autoencoder_metrics(tiny_vae(), labelled_npz, n=10, samples=5)
    assert scores["n"] == 10 and scores["samples"] == 5
    assert 0 < scores["reconstruction_mse"] < 1
    assert scores["iw_nll"] <= scores["neg_elbo"]  # the importance-weighted bound is tighter
    assert scores["reconstruction_nll"] > 0


def test_autoencoder_metrics_report_kl_per_latent_dimension(labelled_npz):
    from kgen.images import from_uint8

    model = tiny_vae()
    scores = ev.autoencoder_metrics(model, labelled_npz, n=10, samples=2)
    batches = ev.uint8_batches(labelled_npz, ev.held_out_split(labelled_npz), 16, limit=10)
    images = np.concatenate([b.numpy() for b in batches])
    mean, log_var = (np.asarray(t, np.float64) for t in model.encode(from_uint8(images, model.output_range)))
    expected = np.mean(0.5 * (np.exp(log_var) + mean ** 2 - 1.0 - log_var), axis=0)  # closed form, per dimension
    np.testing.assert_allclose(scores["kl_per_dimension"], expected, rtol=1e-4, atol=1e-7)
    assert scores["active_dimensions"] == int(np.sum(expected > ev.ACTIVE_KL))


def test_evaluate_an_export_like_its_keras_model(labelled_npz, evaluator, tmp_path):
    model = tiny_vae()
    exported = ExportedModel(export_model(model, str(tmp_path / "exports"), data=labelled_npz))
    extractor = ClassifierExtractor(evaluator)
    kwargs = dict(n=30, extractor=extractor, cache_dir=None, autoencoder_n=8, iw_samples=4)
    from_keras, from_export = ev.evaluate(model, labelled_npz, **kwargs), ev.evaluate(exported, labelled_npz, **kwargs)
    for name in from_keras["metrics"]:
        assert from_export["metrics"][name]["value"] == pytest.approx(from_keras["metrics"][name]["value"], rel=1e-4, abs=1e-6)
    for name in ("reconstruction_mse", "neg_elbo", "iw_nll"):
        assert from_export["autoencoder"][name] == pytest.approx(from_keras["autoencoder"][name], rel=1e-4)


def test_unknown_metric_names_are_rejected():
    assert ev.parse_metrics("FID, pr") == ("fid", "pr")
    with pytest.raises(ValueError, match="Unknown metric.*expected some of fid, is, kid, pr"):
        ev.parse_metrics("fid,lpips")


def test_training_logs_metrics_reconstructions_and_tensorboard(labelled_npz, evaluator, tmp_path):
    config = RunConfig(model="vae", arch="conv", data=labelled_npz, epochs=2, batch_size=8, latent_dim=4, width=4,
                       run_dir=str(tmp_path / "run"), grid_size=4, metrics_n=20, evaluator=evaluator, log_every=3)
    result = fit(config, verbose=0)
    run = tmp_path / "run"
    names = ("classifier_fid", "classifier_is", "classifier_kid", "classifier_precision", "classifier_recall")
    for name in names:
        assert len(result.history[name]) == 2 and np.isfinite(result.history[name]).all()
    assert len(result.history["metrics_seconds"]) == 2 and min(result.history["metrics_seconds"]) > 0
    record = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [1, 2] and set(record["ceiling"]) == set(names)
    assert sorted(os.listdir(run / "reconstructions")) == ["epoch_001.png", "epoch_002.png"]

    events = read_events(str(run / "logs"))
    train = events["train"]
    assert len(train.scalars["epoch_loss"]) == 2
    assert train.scalars["epoch_classifier_fid"] == [(0, pytest.approx(result.history["classifier_fid"][0], rel=1e-5)),
                                                     (1, pytest.approx(result.history["classifier_fid"][1], rel=1e-5))]
    assert [step for step, _ in train.scalars["batch_loss"]] == list(range(3, 17, 3))  # 8 steps per epoch, every 3rd
    assert len(events["validation"].scalars["epoch_loss"]) == 2  # val_loss, in the validation run
    assert events["ceiling"].scalars["epoch_classifier_fid"][0][1] == pytest.approx(record["ceiling"]["classifier_fid"], rel=1e-5)
    assert [step for step, _ in events["samples"].images["samples"]] == [1, 2]
    assert [step for step, _ in events["reconstructions"].images["reconstructions"]] == [1, 2]
    assert '"model": "vae"' in events["config"].texts["run_config"][0][1]
