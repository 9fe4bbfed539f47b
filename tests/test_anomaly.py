"""Anomaly detection: ROC AUC against SciPy, class filtering, scores of each model, the CLI."""

import json

import numpy as np
import pytest
import scipy.stats

from conftest import FAST, assert_one_line_error, run, tiny_images
from kgen.data import DataError, load_dataset
from kgen.evaluation.anomaly import average_ranks, detect_anomalies, roc_auc
from kgen.models import GAN, VAE, VAEGAN


def test_average_ranks_match_scipy_with_ties():
    values = np.array([3.0, 1.0, 2.0, 2.0, 5.0, 3.0, 3.0])
    np.testing.assert_array_equal(average_ranks(values), scipy.stats.rankdata(values))


@pytest.mark.parametrize("seed", [0, 1])
def test_roc_auc_is_the_mann_whitney_u_statistic(seed):
    rng = np.random.default_rng(seed)
    normal, anomalous = rng.integers(0, 6, 40).astype(float), rng.integers(2, 9, 25).astype(float)  # many ties
    u = scipy.stats.mannwhitneyu(anomalous, normal, alternative="two-sided").statistic
    assert roc_auc(normal, anomalous) == pytest.approx(u / (40 * 25), rel=1e-12)


def test_roc_auc_extremes():
    assert roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert roc_auc([3, 4], [0, 1, 2]) == 0.0
    assert roc_auc([1, 1], [1]) == 0.5
    with pytest.raises(ValueError, match="both normal and anomalous"):
        roc_auc([], [1.0])


def test_classes_filter_keeps_only_those_labels(npz_file):
    dataset, info = load_dataset(str(npz_file), batch_size=4, classes=[1, 3], labels=True, shuffle=False,
                                 drop_remainder=False)
    labels = np.concatenate([y.numpy() for _, y in dataset])
    assert set(labels) == {1, 3} and info.num_examples == len(labels) == 10  # 48 images, labels i % 10
    assert int(dataset.cardinality()) == 3  # known, so Keras' loops end without an "ran out of data" warning
    with pytest.raises(DataError, match="no examples of classes"):
        load_dataset(str(npz_file), batch_size=4, classes=[42])


@pytest.mark.parametrize("model, expected", [
    (VAE(image_shape=(16, 16, 1), latent_dim=4, arch="mlp", width=4), {"reconstruction_error", "neg_elbo"}),
    (GAN(image_shape=(16, 16, 1), latent_dim=4, arch="mlp", width=4), {"discriminator"}),
    (VAEGAN(image_shape=(16, 16, 1), latent_dim=4, width=4), {"reconstruction_error", "neg_elbo", "discriminator"}),
])
def test_each_model_offers_its_scores(npz_file, model, expected):
    report = detect_anomalies(model, str(npz_file), normal_classes=[0, 1, 2], samples=3, batch_size=5)
    assert set(report["auc"]) == expected
    assert report["n_normal"] == 6 and report["n_anomalous"] == 10  # 16 test images, labels i % 10
    assert all(0.0 <= v <= 1.0 for v in report["auc"].values())


def test_anomaly_cli(tmp_path):
    np.savez(tmp_path / "tiny.npz", x_train=tiny_images(48), y_train=np.arange(48) % 4,
             x_test=tiny_images(16, seed=2), y_test=np.arange(16) % 4)
    result = run(["fit", "--model", "vae", "--data", "tiny.npz", "--classes", "0,1,2", "--run-dir", "saved_models/n",
                  "--metrics-every", "0", *FAST], tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    record = json.loads((tmp_path / "saved_models" / "n" / "config.json").read_text())
    assert record["kgen_run"]["classes"] == [0, 1, 2] and record["data"]["num_examples"] == 36
    result = run(["anomaly", "--run-dir", "saved_models/n", "--normal-classes", "0,1,2", "--samples", "2"], tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "ROC AUC of neg_elbo" in result.output
    report = json.loads((tmp_path / "saved_models" / "n" / "eval" / "anomaly-normal0_1_2.json").read_text())
    assert report["n_normal"] == 12 and report["n_anomalous"] == 4
    assert_one_line_error(run(["anomaly", "--run-dir", "saved_models/n", "--normal-classes", "a,b"], tmp_path),
                          "expected comma-separated class numbers")
