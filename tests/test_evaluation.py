"""Feature extractors, evaluating models, metrics during training and TensorBoard read-back."""

import json
import os
from collections import Counter

import keras
import numpy as np
import pytest
import scipy.ndimage
from conftest import tiny_images

from kgen.data import real_images
from kgen.evaluation import autoencoder, features, protocol as ev
from kgen.evaluation.classifier import ClassifierExtractor, EvaluatorError, find_evaluator, train_evaluator
from kgen.evaluation.inception import ExtractorUnavailable, InceptionExtractor
from kgen.evaluation.report import format_report
from kgen.export import ExportedModel, export_model
from kgen.models import GAN, VAE
from kgen.run.config import RunConfig
from kgen.run.tensorboard_logs import read_events
from kgen.training.fit import fit_run as fit


@pytest.fixture(scope="module")
def labelled_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=tiny_images(120), y_train=np.arange(120) % 4, x_test=tiny_images(24, seed=1),
             y_test=np.arange(24) % 4)
    return str(path)


@pytest.fixture(scope="module")
def evaluator(labelled_npz, tmp_path_factory):
    directory, record = train_evaluator(labelled_npz, epochs=1, batch_size=16,
                                        directory=str(tmp_path_factory.mktemp("evaluator")), verbose=0)
    return directory


def test_an_evaluator_records_its_test_accuracy_and_the_images_it_trained_on(labelled_npz, evaluator):
    from kgen.data.content import image_digests

    extractor = ClassifierExtractor(evaluator)
    arrays = np.load(labelled_npz)
    predicted = np.argmax(extractor(arrays["x_test"])[1], axis=1)  # the recorded accuracy, measured again
    assert extractor.record.num_classes == 4
    assert extractor.record.test_accuracy == pytest.approx(np.mean(predicted == arrays["y_test"]), abs=1e-6)
    np.testing.assert_array_equal(extractor.seen, np.sort(image_digests(arrays["x_train"][:100])))


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


def test_inception_extractor_gives_pool_features_and_logits_of_the_preprocessed_images():
    """Against InceptionV3 run by hand with the same (random) weights: grey replicated to RGB, resized to
    299×299 (bilinear, antialiased), scaled to [-1, 1]; features = the 2048-d average pool, logits = the
    top layer before its softmax."""
    import tensorflow as tf

    extractor = InceptionExtractor(weights=None, batch_size=2)
    images = tiny_images(3)  # grayscale 16×16
    features, logits = extractor(images)
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    network = keras.applications.InceptionV3(include_top=True, weights=None, classifier_activation=None)
    top = [extractor._kernel.numpy(), extractor._bias.numpy()]
    network.set_weights([v.numpy() for v in extractor._network.weights] + top)
    x = tf.image.resize(np.repeat(images, 3, axis=-1).astype("float32"), (299, 299), antialias=True) / 127.5 - 1.0
    pool = keras.Model(network.input, [network.get_layer("avg_pool").output, network.output])
    expected_features, expected_logits = (np.asarray(t) for t in pool(x, training=False))
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-4, atol=1e-4)
    assert np.ptp(logits, axis=1).min() > 0 and not np.allclose(logits.sum(axis=1), 1.0)  # logits, not softmax
    assert extractor(tiny_images(1, channels=3))[0].shape == (1, 2048)


def test_inception_extractor_offline_says_what_to_do(monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -2] Name or service "
                        "not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", no_network)
    with pytest.raises(ExtractorUnavailable, match="could not download.*--extractor classifier"):
        InceptionExtractor()


def tiny_gan():
    return GAN(image_shape=(16, 16, 1), latent_dim=4, arch="mlp", width=4, seed=0)


def tiny_vae():
    return VAE(image_shape=(16, 16, 1), latent_dim=4, arch="dcgan", width=4, seed=0)


def test_evaluate_reports_each_metric_with_its_ceiling_and_protocol(labelled_npz, evaluator):
    from kgen.evaluation import metrics
    from kgen.images import to_uint8

    extractor = ClassifierExtractor(evaluator)
    model = tiny_gan()
    report = ev.evaluate(model, labelled_npz, n=20, extractor=extractor, cache_dir=None, replicates=20)
    # The same numbers computed here from the images themselves: 20 generated images (uint8) against the
    # 24 test images, and the 20 training images the evaluator held out (100–119) as the ceiling.
    arrays = np.load(labelled_npz)
    generated = extractor(to_uint8(model.sample(20, seed=0), model.output_range))
    reference = extractor(arrays["x_test"])
    held_out = extractor(arrays["x_train"][100:])

    def expected(features, logits):
        m = min(len(features), 24)
        precision, recall = metrics.precision_recall(metrics.canonical_rows(reference[0], m),
                                                     metrics.canonical_rows(features, m))
        return {"fid": metrics.fid(features, reference[0]), "is": metrics.inception_score(logits, 10)[0],
                "kid": metrics.kid(features, reference[0]), "precision": precision, "recall": recall}

    model_values, ceiling_values = expected(*generated), expected(*held_out)
    # Image statistics: Laplacian variance with SciPy; up to 2n held-out images, the first half the reference
    # and the second the ceiling; classes by the classifier's decisions, counted here
    sharpness = [scipy.ndimage.laplace(image[..., 0] / 255.0)[1:-1, 1:-1].var()
                 for image in np.concatenate([to_uint8(model.sample(20, seed=0), model.output_range),
                                              arrays["x_test"][:24]]).astype(np.float64)]
    fake, real_a, real_b = np.mean(sharpness[:20]), np.mean(sharpness[20:32]), np.mean(sharpness[32:])
    model_values["sharpness"], ceiling_values["sharpness"] = fake / real_a, real_b / real_a

    def classes(logits):
        ref, found = Counter(np.argmax(reference[1], 1).tolist()), Counter(np.argmax(logits, 1).tolist())
        shares = {c: (found[c] / len(logits), ref[c] / len(reference[1])) for c in ref}
        return (sum(f >= 0.5 * r for f, r in shares.values()),
                0.5 * sum(abs(found[c] / len(logits) - ref[c] / len(reference[1])) for c in set(ref) | set(found)))

    (model_values["classes_covered"], model_values["class_tv"]) = classes(generated[1])
    (ceiling_values["classes_covered"], ceiling_values["class_tv"]) = classes(held_out[1])
    assert set(report["metrics"]) == set(model_values)
    assert report["metrics"]["classes_covered"]["of"] == len(set(np.argmax(reference[1], 1).tolist()))
    for name, entry in report["metrics"].items():
        assert entry["value"] == pytest.approx(model_values[name], rel=1e-5, abs=1e-9), name
        assert entry["ceiling"] == pytest.approx(ceiling_values[name], rel=1e-5, abs=1e-9), name
        for value, interval in ((entry["value"], entry["interval"]), (entry["ceiling"], entry["ceiling_interval"])):
            if name in ("classes_covered", "class_tv"):  # counts of decisions: no interval
                assert interval is None
                continue
            assert interval[0] <= interval[1] and interval[1] > interval[0] - 1e-12, name
    protocol = report["protocol"]
    assert protocol["n_generated"] == 20 and protocol["n_reference"] == 24 and protocol["n_ceiling"] == 20
    assert "test split" in protocol["reference"] and "not among the 100 images the evaluator trained on" \
        in protocol["ceiling"]
    assert protocol["extractor_key"] == f"classifier-{extractor.record.sha256[:12]}"
    assert extractor.record.sha256[:12] in protocol["extractor"]
    assert "20 resamples" in protocol["intervals"]
    assert report["autoencoder"] is None
    json.dumps(report)  # serialisable
    text = format_report(report)
    assert "real data (ceiling)" in text and "classifier FID" in text
    fid = report["metrics"]["fid"]
    assert f"{fid['value']:.4g} [{fid['interval'][0]:.3g}, {fid['interval'][1]:.3g}]" in text


def test_the_ceiling_has_as_many_images_as_the_model_row_or_evaluation_refuses(labelled_npz, evaluator):
    extractor = ClassifierExtractor(evaluator)
    assert features.ceiling_capacity(extractor, labelled_npz) == 20  # the images the evaluator never saw
    with pytest.raises(features.NotEnoughRealImages, match="needs 21 images .* there are 20: score 20 images"):
        ev.evaluate(tiny_gan(), labelled_npz, n=21, extractor=extractor, cache_dir=None, replicates=0)
    with pytest.raises(features.NotEnoughRealImages, match="--eval-n 40 is more than the 20 real images"):
        features.check_ceiling_capacity(extractor, labelled_npz, 40, "--eval-n")


def test_an_evaluator_is_pinned_by_the_hash_of_its_weights(labelled_npz, evaluator, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(evaluator, copy)
    record = json.loads((copy / "evaluator.json").read_text())
    assert record["train_examples"] == 100 and record["held_out"] == 20  # the last sixth never trained on
    ClassifierExtractor(str(copy))  # intact: loads
    with open(copy / "classifier.weights.h5", "r+b") as f:  # one byte changed
        f.seek(-100, os.SEEK_END)
        byte = f.read(1)
        f.seek(-100, os.SEEK_END)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(EvaluatorError, match="not the recorded"):
        ClassifierExtractor(str(copy))


def test_the_same_evaluator_command_gives_the_same_weights(labelled_npz, tmp_path):
    hashes = [train_evaluator(labelled_npz, epochs=1, batch_size=16, directory=str(tmp_path / name),
                              verbose=0)[1].sha256 for name in ("a", "b")]
    assert hashes[0] == hashes[1]


def test_kgen_ships_pinned_evaluators_for_mnist_and_fashion_mnist():
    from kgen.evaluation.classifier import SHIPPED_DATA, file_sha256

    for data in SHIPPED_DATA:
        extractor = find_evaluator(data)
        assert extractor.shipped and extractor.record.data == data and extractor.record.held_out == 10_000
        assert file_sha256(os.path.join(extractor.directory, "classifier.weights.h5")) == extractor.record.sha256
        assert extractor.record.test_accuracy > {"mnist": 0.99, "fashion_mnist": 0.905}[data]
        assert "shipped with kgen" in extractor.describe()


def test_feature_caches_live_beside_a_users_evaluator_or_in_kgen_cache(evaluator, monkeypatch, tmp_path):
    extractor = ClassifierExtractor(evaluator)
    monkeypatch.delenv("KGEN_CACHE", raising=False)
    assert extractor.cache_dir() == os.path.join(evaluator, "cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert find_evaluator("mnist").cache_dir() == str(tmp_path / "xdg" / "kgen" / "features")
    monkeypatch.setenv("KGEN_CACHE", str(tmp_path / "mine"))
    assert extractor.cache_dir() == str(tmp_path / "mine" / "features")


def test_a_run_is_evaluated_with_the_evaluator_it_recorded(evaluator, tmp_path):
    from kgen.evaluation.classifier import recorded_evaluator

    extractor = ClassifierExtractor(evaluator)
    found, note = recorded_evaluator(extractor.identity(), "fashion_mnist")
    assert found.directory == evaluator and note is None
    shipped = find_evaluator("mnist")
    found, note = recorded_evaluator(shipped.identity(), "mnist")
    assert found.shipped and note is None
    # Scores of other weights cannot be compared with the run's: an error that names the way out, never a note.
    with pytest.raises(EvaluatorError, match="ships sha256:e23b.*cannot be compared.*--evaluator .*evaluators/mnist"):
        recorded_evaluator({**shipped.identity(), "sha256": "0" * 64}, "mnist")
    with pytest.raises(EvaluatorError, match="now holds"):
        recorded_evaluator({**extractor.identity(), "sha256": "0" * 64}, "fashion_mnist")


def test_reference_features_are_cached_and_reused(labelled_npz, evaluator, tmp_path):
    extractor = ClassifierExtractor(evaluator)
    cache = tmp_path / "cache"
    first = features.RealFeatures.load(extractor, labelled_npz, 16, n_ceiling=20, cache_dir=str(cache))
    files = sorted(p.name for p in (cache / extractor.key).iterdir())
    assert len(files) == 2 and any("-test-" in f for f in files)
    for f in (cache / extractor.key).iterdir():  # mark the cache: a reuse must return the marked values
        with np.load(f) as saved:
            np.savez(f, features=saved["features"] + 1.0, logits=saved["logits"], description=saved["description"])
    second = features.RealFeatures.load(extractor, labelled_npz, 16, n_ceiling=20, cache_dir=str(cache))
    np.testing.assert_allclose(second.reference.features, first.reference.features + 1.0)


def test_caches_are_keyed_by_the_images_not_by_the_data_name(evaluator, tmp_path):
    """The same file name with other images inside gets features of its own images, not the cached ones."""
    extractor, cache = ClassifierExtractor(evaluator), str(tmp_path / "cache")
    path = tmp_path / "data.npz"
    for seed in (5, 6):  # the second file replaces the first under the same name
        test = tiny_images(12, seed=seed)
        np.savez(path, x_train=tiny_images(40, seed=seed + 10), y_train=np.arange(40) % 4, x_test=test,
                 y_test=np.arange(12) % 4)
        os.utime(path, ns=(10**18, 10**18))  # and the same modification time: only the content tells them apart
        real = features.RealFeatures.load(extractor, str(path), 16, n_ceiling=5, cache_dir=cache)
        np.testing.assert_allclose(real.reference.features, extractor(test)[0], rtol=1e-6)


def test_the_ceiling_uses_the_images_the_evaluator_never_saw_in_any_copy_of_its_data(labelled_npz, evaluator,
                                                                                     tmp_path):
    """A shuffled copy of the evaluator's data under another name: the ceiling still takes exactly the 20
    training images the evaluator held out (recognised by content), none of the 100 it trained on."""
    extractor = ClassifierExtractor(evaluator)
    arrays = dict(np.load(labelled_npz))
    order = np.random.default_rng(0).permutation(120)
    copy = tmp_path / "shuffled_copy.npz"
    np.savez(copy, **{**arrays, "x_train": arrays["x_train"][order], "y_train": arrays["y_train"][order]})
    real = features.RealFeatures.load(extractor, str(copy), 16, n_ceiling=20, cache_dir=None)
    held_out = np.sort(extractor(arrays["x_train"][100:])[0], axis=0)
    # Batches of other sizes round differently (3e-8 on an AVX2 CPU); other images differ by far more.
    np.testing.assert_allclose(np.sort(real.ceiling.features, axis=0), held_out, rtol=1e-5, atol=1e-6)
    assert "not among the 100 images the evaluator trained on" in real.ceiling.description


def test_data_without_a_test_split_splits_the_training_images(evaluator, tmp_path):
    """Reference and ceiling are disjoint halves of the training images: every image in exactly one."""
    images = tiny_images(40)
    path = tmp_path / "only_train.npy"
    np.save(path, images)
    extractor = ClassifierExtractor(evaluator)
    real = features.RealFeatures.load(extractor, str(path), 16, n_ceiling=20, cache_dir=None)
    assert len(real.reference) == len(real.ceiling) == 20
    every = extractor(images)[0]
    assert len(np.unique(every.round(4), axis=0)) == 40  # the images are all different: else no test

    def index(rows):  # which image each feature row belongs to
        return [int(np.argmin(np.abs(every - row).sum(axis=1))) for row in rows]

    reference, ceiling = index(real.reference.features), index(real.ceiling.features)
    assert sorted(reference + ceiling) == list(range(40))
    with pytest.raises(features.NotEnoughRealImages, match="no test split and 20 are left"):
        features.RealFeatures.load(extractor, str(path), 16, n_ceiling=21, cache_dir=None)


def test_autoencoder_metrics_match_a_computation_by_hand(labelled_npz):
    import scipy.special
    import scipy.stats

    from kgen.images import from_uint8

    model, k = tiny_vae(), 5
    scores = autoencoder.autoencoder_metrics(model, labelled_npz, n=10, samples=k)
    assert scores["n"] == 10 and scores["samples"] == k
    images = np.load(labelled_npz)["x_test"][:10]
    x = images.astype("float64") / 255.0
    mean, log_var = (np.asarray(t, "float64") for t in model.encode(from_uint8(images, model.output_range)))
    # The scorer's posterior draws: stateless seed (seed, call index) = (0, 0) for the first batch.
    eps = np.asarray(__import__("tensorflow").random.stateless_normal((k, 10, 4), seed=(0, 0)), "float64")
    z = mean[None] + np.exp(0.5 * log_var)[None] * eps
    decoded = np.clip(np.asarray(model.decode(z.reshape(k * 10, 4).astype("float32")), "float64"), 1e-7, 1 - 1e-7)
    decoded = decoded.reshape((k,) + x.shape)
    log_px = np.sum(x * np.log(decoded) + (1 - x) * np.log(1 - decoded), axis=(2, 3, 4))
    log_w = (log_px + scipy.stats.norm.logpdf(z).sum(-1)
             - scipy.stats.norm.logpdf(z, mean[None], np.exp(0.5 * log_var)[None]).sum(-1))
    assert scores["neg_elbo"] == pytest.approx(-np.mean(log_w), rel=1e-4)
    assert scores["iw_nll"] == pytest.approx(-np.mean(scipy.special.logsumexp(log_w, axis=0) - np.log(k)), rel=1e-4)
    reconstruction = np.asarray(model.decode(mean.astype("float32")), "float64")
    assert scores["reconstruction_mse"] == pytest.approx(np.mean((reconstruction - x) ** 2), rel=1e-4)


def test_autoencoder_metrics_report_kl_per_latent_dimension(labelled_npz):
    from kgen.images import from_uint8

    model = tiny_vae()
    scores = autoencoder.autoencoder_metrics(model, labelled_npz, n=10, samples=2)
    batches = real_images.uint8_batches(labelled_npz, real_images.held_out_split(labelled_npz), 16, limit=10)
    images = np.concatenate([b.numpy() for b in batches])
    mean, log_var = (np.asarray(t, np.float64) for t in model.encode(from_uint8(images, model.output_range)))
    expected = np.mean(0.5 * (np.exp(log_var) + mean ** 2 - 1.0 - log_var), axis=0)  # closed form, per dimension
    np.testing.assert_allclose(scores["kl_per_dimension"], expected, rtol=1e-4, atol=1e-7)
    assert scores["active_dimensions"] == int(np.sum(expected > autoencoder.ACTIVE_KL))


def test_evaluate_an_export_like_its_keras_model(labelled_npz, evaluator, tmp_path):
    model = tiny_vae()
    exported = ExportedModel(export_model(model, str(tmp_path / "exports"), data=labelled_npz))
    extractor = ClassifierExtractor(evaluator)
    kwargs = dict(n=20, extractor=extractor, cache_dir=None, autoencoder_n=8, iw_samples=4)
    from_keras, from_export = ev.evaluate(model, labelled_npz, **kwargs), ev.evaluate(exported, labelled_npz, **kwargs)
    for name in from_keras["metrics"]:
        expected = from_keras["metrics"][name]["value"]
        assert from_export["metrics"][name]["value"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    for name in ("reconstruction_mse", "neg_elbo", "iw_nll"):
        assert from_export["autoencoder"][name] == pytest.approx(from_keras["autoencoder"][name], rel=1e-4)


def test_unknown_metric_names_are_rejected():
    assert ev.parse_metrics("FID, pr") == ("fid", "pr")
    with pytest.raises(ValueError, match="Unknown metric.*expected some of fid, is, kid, pr"):
        ev.parse_metrics("fid,lpips")


def test_training_logs_metrics_reconstructions_and_tensorboard(labelled_npz, evaluator, tmp_path):
    config = RunConfig(model="vae", arch="dcgan", data=labelled_npz, epochs=2, batch_size=8, latent_dim=4, width=4,
                       run_dir=str(tmp_path / "run"), grid_size=4, metrics_n=20, evaluator=evaluator, log_every=3)
    result = fit(config, verbose=0)
    run = tmp_path / "run"
    names = ("classifier_fid", "classifier_is", "classifier_kid", "classifier_precision", "classifier_recall")
    for name in names:
        assert len(result.history[name]) == 2 and np.isfinite(result.history[name]).all()
    assert len(result.history["metrics_seconds"]) == 2 and min(result.history["metrics_seconds"]) > 0
    record = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [1, 2] and set(record["ceiling"]) == set(names)
    for entry in record["epochs"]:  # each value with its bootstrap interval around it
        for name in names:
            low, high = entry["intervals"][name]
            assert low - 1e-9 <= entry[name] <= high + 1e-9 or name == "classifier_kid", (name, entry)
    assert set(record["ceiling_intervals"]) == set(names) and "resamples" in record["protocol"]["intervals"]
    assert sorted(os.listdir(run / "reconstructions")) == ["epoch_001.png", "epoch_002.png"]

    events = read_events(str(run / "logs"))
    assert sorted(events) == ["train", "validation"]  # one TensorBoard run per training
    train = events["train"]
    assert len(train.scalars["epoch_loss"]) == 2
    fid = result.history["classifier_fid"]
    assert train.scalars["quality/classifier_fid"] == [(0, pytest.approx(fid[0], rel=1e-5)),
                                                       (1, pytest.approx(fid[1], rel=1e-5))]
    assert [v for _, v in train.scalars["quality/classifier_fid_real_data"]] == [
        pytest.approx(record["ceiling"]["classifier_fid"], rel=1e-5)] * 2
    assert "epoch_classifier_fid" not in train.scalars and "epoch_metrics_seconds" not in train.scalars
    assert [v for _, v in train.scalars["learning_rate/optimizer"]] == [pytest.approx(1e-4)] * 2  # the VAE's
    assert len(train.scalars["time/epoch_seconds"]) == len(train.scalars["time/metrics_seconds"]) == 2
    assert [step for step, _ in train.scalars["batch_loss"]] == list(range(3, 31, 3))  # 15 steps per epoch, every 3rd
    assert len(events["validation"].scalars["epoch_loss"]) == 2  # val_loss, in the validation run
    # images at the steps of the epoch scalars
    assert [step for step, _ in train.images["samples"]] == [step for step, _ in train.scalars["epoch_loss"]] == [0, 1]
    assert [step for step, _ in train.images["reconstructions"]] == [0, 1]
    assert '"model": "vae"' in train.texts["run_config"][0][1]
    assert "hparams" in train.plugins.values()


def test_score_takes_is_from_the_logits_and_precision_recall_rows_by_content():
    # Diverse, class-sorted samples (as a conditional model draws them), more of them than reference images:
    # IS must come from the logits, and precision/recall from rows chosen by content, not the first ones.
    from kgen.evaluation import metrics

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 8)) * 0.5  # small features: as logits they would give an IS near 1
    labels, ref_labels = np.sort(rng.integers(0, 10, 40)), rng.integers(0, 10, 24)
    candidate = features.FeatureSet(centres[labels] + 0.1 * rng.normal(size=(40, 8)),
                                    np.eye(10)[labels] * 4 + rng.normal(size=(40, 10)), "samples")
    reference = features.FeatureSet(centres[ref_labels] + 0.1 * rng.normal(size=(24, 8)),
                                    np.eye(10)[ref_labels] * 4 + rng.normal(size=(24, 10)), "reference")
    out = ev.score(candidate, reference, ("is", "pr"))
    splits = min(ev.IS_SPLITS, 40)
    expected_is = metrics.inception_score(candidate.logits, splits)[0]
    assert abs(metrics.inception_score(candidate.features, splits)[0] - expected_is) > 0.1  # else no test
    assert out["is"]["value"] == pytest.approx(expected_is, rel=1e-6)
    precision, recall = metrics.precision_recall(metrics.canonical_rows(reference.features, 24),
                                                 metrics.canonical_rows(candidate.features, 24), k=ev.PR_K)
    first_rows = metrics.precision_recall(reference.features, candidate.features[:24], k=ev.PR_K)
    assert first_rows != (precision, recall)  # the first rows hold only the low classes: else no test
    assert (out["precision"]["value"], out["recall"]["value"]) == pytest.approx((precision, recall), rel=1e-6)
