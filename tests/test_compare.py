"""Study bookkeeping (plan, skipping, resume), table assembly and the report, on tiny models."""

import json
import os

import numpy as np
import pytest
import scipy.stats
from conftest import assert_one_line_error, run, tiny_images

from kgen.compare import report as rp, tables
from kgen.compare.presets import PRESETS
from kgen.compare.study import StudyError, StudyPlan, load_or_create_plan, parse_models, preset_plan, run_study
from kgen.evaluation.classifier import ClassifierExtractor, train_evaluator
from kgen.run.config import RunConfig
from kgen.run.tensorboard_logs import read_events
from kgen.training.fit import fit_run as fit

TINY_SETTINGS = {"latent_dim": 4, "width": 4, "grid_size": 4, "metrics_n": 16, "metrics_at": [0.0005, 0.001]}


@pytest.fixture(scope="module")
def data_and_evaluator(tmp_path_factory):
    root = tmp_path_factory.mktemp("study-data")
    data = str(root / "tiny.npz")
    # 120 training images: the evaluator holds out 20, enough for a ceiling as large as eval_n
    np.savez(data, x_train=tiny_images(120), y_train=np.arange(120) % 3, x_test=tiny_images(16, seed=3),
             y_test=np.arange(16) % 3)
    directory, _ = train_evaluator(data, epochs=1, batch_size=16, directory=str(root / "evaluator"), verbose=0)
    return data, directory


def tiny_plan(data, **overrides):
    values = dict(data=data, models=["gan:mlp", "vae:mlp"], seeds=2, epochs=1, batch_size=8, eval_n=20,
                  settings=dict(TINY_SETTINGS))
    values.update(overrides)
    return StudyPlan(**values)


def test_parse_models_fills_default_architectures():
    names = [s.name for s in parse_models("gan, vae,vaegan:paper-dcgan")]
    assert names == ["gan:dcgan", "vae:dcgan", "vaegan:paper-dcgan"]
    with pytest.raises(StudyError, match="Unknown architecture 'conv' for gan"):
        parse_models("gan:conv")
    with pytest.raises(StudyError, match="Unknown model 'diffusion'"):
        parse_models("diffusion")
    with pytest.raises(StudyError, match="twice"):
        parse_models("vae,vae:dcgan")


def test_a_study_dir_keeps_its_plan(tmp_path):
    load_or_create_plan(str(tmp_path), tiny_plan("a.npz"))
    load_or_create_plan(str(tmp_path), tiny_plan("a.npz"))  # same plan: fine
    with pytest.raises(StudyError, match="different plan.*epochs"):
        load_or_create_plan(str(tmp_path), tiny_plan("a.npz", epochs=2))


def test_study_trains_evaluates_skips_and_resumes(data_and_evaluator, tmp_path):
    data, evaluator_dir = data_and_evaluator
    extractors = [ClassifierExtractor(evaluator_dir)]
    calls = []

    def counting_fit(config, **kwargs):
        calls.append(os.path.basename(config.run_dir))
        return fit(config, **kwargs)

    plan, study = tiny_plan(data), str(tmp_path / "study")
    run_list = run_study(plan, study, extractors, verbose=0, echo=lambda *a: None, fit=counting_fit)
    assert calls == ["gan-mlp-seed0", "vae-mlp-seed0", "gan-mlp-seed1", "vae-mlp-seed1"]
    for _, _, run_dir in run_list:
        report = json.loads(open(os.path.join(run_dir, "eval", "classifier-n20-seed0.json")).read())
        # the final metrics in TensorBoard, for its HParams dashboard
        scalars = read_events(os.path.join(run_dir, "logs"))["train"].scalars
        fid = report["metrics"]["fid"]
        assert scalars["eval/classifier_fid"] == [(0, pytest.approx(fid["value"], rel=1e-6))]
        assert scalars["eval/classifier_fid_low"] == [(0, pytest.approx(fid["interval"][0], rel=1e-6))]
    experiment = read_events(os.path.join(study, "runs"))["."]
    assert experiment.plugins == {"_hparams_/experiment": "hparams"}

    # Re-running finishes nothing twice; an interrupted run is trained again.
    record_path = os.path.join(study, "runs", "vae-mlp-seed1", "config.json")
    record = json.loads(open(record_path).read())
    record["status"] = "interrupted"
    open(record_path, "w").write(json.dumps(record))
    os.remove(os.path.join(study, "runs", "gan-mlp-seed0", "eval", "classifier-n20-seed0.json"))
    calls.clear()
    lines = []
    run_study(plan, study, extractors, verbose=0, echo=lines.append, fit=counting_fit)
    assert calls == ["vae-mlp-seed1"]
    assert any("finished earlier, not retrained" in line for line in lines)
    assert any("gan:mlp seed 0: evaluating" in line for line in lines)

    path = rp.write_report(plan, study, run_list, extractor_names=("classifier",))
    text = open(path).read()
    assert "| gan:mlp | 2 |" in text and "| vae:mlp | 2 |" in text and "| real data (ceiling) |" in text
    assert "95 % Student-t interval" in text and "classifier FID ↓" in text and "Welch's t-test" in text
    summary = json.loads(open(os.path.join(study, "report.json")).read())
    quality = summary["sample_quality"][extractors[0].key]
    fid = quality["models"]["gan:mlp"]["fid"]
    assert len(fid["values"]) == 2 and fid["interval"][0] < fid["mean"] < fid["interval"][1]
    assert f"| gan:mlp | 2 | {fid['mean']:.4g} [{fid['interval'][0]:.3g}, {fid['interval'][1]:.3g}]" in text
    assert quality["winners"]["fid"]["verdict"] in ("no clear winner", "gan:mlp is better", "vae:mlp is better")
    assert "negative ELBO" in text and "Size, learning rate, training time and final losses" in text
    assert "Quality against training time" in text and "| model | 0.0005 min | 0.001 min |" in text
    during_training = text.split("## Quality against training time")[1].split("\n## ")[0]
    assert "sharpness" in text and "sharpness" not in during_training  # scored at the end only: no empty table
    for figure in ("samples", "epochs", "losses", "metrics_epoch", "metrics_time", "interpolations", "latent",
                   "reconstructions", "time_to_quality"):
        assert os.path.getsize(os.path.join(study, "figures", f"{figure}.png")) > 1000, figure
        assert f"figures/{figure}.png" in text
    assert "<table>" in open(os.path.join(study, "report.html")).read()
    assert "PCA and t-SNE" in text  # scikit-learn is a dev dependency


def fake_record(name, seed, fid, ceiling=1.0, key="classifier-aaaa"):
    report = {"protocol": {"extractor_key": key}, "metrics": {"fid": {"value": fid, "ceiling": ceiling}},
              "autoencoder": None}
    return tables.StudyRun(name, seed, "", {}, {}, {"classifier": report})


def test_the_cost_table_names_the_learning_rates_the_runs_began_with():
    from kgen.run.record import RunRecord

    def run(name, seed, rates):
        record = RunRecord({}, {}, {}, learning_rates=rates)
        return tables.StudyRun(name, seed, "", record, {"epoch_seconds": [1.0], "d_loss": [0.5]}, {})

    grouped = tables.group_runs([
        run("gan:dcgan", 0, {"d_optimizer": 8e-4, "g_optimizer": 8e-4}),
        run("gan:dcgan", 1, {"d_optimizer": 8e-4, "g_optimizer": 8e-4}),
        run("ttur", 0, {"d_optimizer": 4e-4, "g_optimizer": 2e-4}),
        run("old", 0, None),  # recorded before kgen kept the rates
        run("mixed", 0, {"d_optimizer": 2e-4, "g_optimizer": 2e-4}),
        run("mixed", 1, {"d_optimizer": 8e-4, "g_optimizer": 8e-4})])
    header, rows = tables.cost_table(grouped, {})
    column = header.index("learning rate")
    assert {row[0]: row[column] for row in rows} == {
        "gan:dcgan": "0.0008", "ttur": "d_optimizer 0.0004, g_optimizer 0.0002", "old": "–", "mixed": "0.0002 / 0.0008"}


def test_quality_table_gives_the_mean_over_seeds_with_its_interval_and_the_ceiling():
    grouped = tables.group_runs([fake_record("gan:dcgan", 0, 10.0), fake_record("vae:conv", 0, 30.0),
                                 fake_record("gan:dcgan", 1, 14.0), fake_record("gan:dcgan", 2, 13.0)])
    header, rows, _ = tables.sample_quality_table(grouped, "classifier", "classifier-aaaa")
    assert header[:3] == ["model", "seeds", "classifier FID ↓"]
    low, high = scipy.stats.t.interval(0.95, 2, loc=np.mean([10, 14, 13]), scale=scipy.stats.sem([10, 14, 13]))
    assert rows[0][:3] == ["gan:dcgan", "3", f"{np.mean([10, 14, 13]):.4g} [{low:.3g}, {high:.3g}]"]
    assert rows[1][:3] == ["vae:conv", "1", "30 (1 seed)"]
    assert rows[2][:3] == ["real data (ceiling)", "–", "1"]
    assert rows[0][3] == "–"  # IS was not measured


@pytest.mark.parametrize("a, b", [([10.3, 14.7, 12.0], [20.1, 18.5, 21.9]), ([1.0, 2.0, 4.0, 3.5], [2.5, 2.0, 6.0]),
                                  ([0.5, 0.52], [0.49, 0.55, 0.51, 0.48])])
def test_interval_and_welch_test_match_scipy(a, b):
    from kgen.compare import statistics

    found = statistics.mean_interval(a)
    assert [found.low, found.high] == pytest.approx(
        scipy.stats.t.interval(0.95, len(a) - 1, loc=np.mean(a), scale=scipy.stats.sem(a)), rel=1e-9)
    test, expected = statistics.welch_test(a, b), scipy.stats.ttest_ind(a, b, equal_var=False)
    assert test.p == pytest.approx(expected.pvalue, rel=1e-7) and test.t == pytest.approx(expected.statistic)
    assert test.df == pytest.approx(expected.df, rel=1e-9)
    assert [test.low, test.high] == pytest.approx(list(expected.confidence_interval(0.95)), rel=1e-9)
    for p in (0.6, 0.975, 0.999):
        assert statistics.student_t_quantile(p, test.df) == pytest.approx(scipy.stats.t.ppf(p, test.df), rel=1e-9)
    assert statistics.welch_test([1.0], b) is None and statistics.mean_interval([3.0]).interval is None


def test_a_difference_of_two_effects_reduces_to_welchs_test_when_one_effect_is_known_exactly():
    """With the second pair of groups constant, (a − b) − (c − d) is Welch's test of a − b shifted by d − c."""
    from kgen.compare import statistics

    a, b = [10.3, 14.7, 12.0], [20.1, 18.5, 21.9, 19.0]
    test = statistics.contrast_test([a, b, [3.0, 3.0], [5.0, 5.0, 5.0]], [1, -1, -1, 1])
    expected = scipy.stats.ttest_ind(a, b, equal_var=False)
    assert test.difference == pytest.approx(np.mean(a) - np.mean(b) + 2.0)
    assert test.df == pytest.approx(expected.df, rel=1e-9)
    assert [test.low - 2.0, test.high - 2.0] == pytest.approx(list(expected.confidence_interval(0.95)), rel=1e-9)
    # all four groups vary: the standard error adds the four variances of the means
    c, d = [1.0, 2.0, 4.0], [2.5, 2.0, 6.0]
    test = statistics.contrast_test([a, b, c, d], [1, -1, -1, 1])
    se = np.sqrt(sum(np.var(g, ddof=1) / len(g) for g in (a, b, c, d)))
    assert test.t == pytest.approx((np.mean(a) - np.mean(b) - np.mean(c) + np.mean(d)) / se)
    assert statistics.contrast_test([a, b, c, [1.0]], [1, -1, -1, 1]) is None


def test_time_budget_stops_training_early(data_and_evaluator, tmp_path):
    data, _ = data_and_evaluator
    config = RunConfig(model="gan", arch="mlp", data=data, epochs=50, batch_size=8, run_dir=str(tmp_path / "run"),
                       max_minutes=1e-4, metrics_every=0,
                       **{k: v for k, v in TINY_SETTINGS.items() if k != "metrics_n"})
    result = fit(config, verbose=0)
    assert len(result.history["epoch_seconds"]) == 1
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["status"] == "finished" and "time budget" in record["stopped"]


def test_compare_cli_errors_are_one_line(tmp_path):
    result = run(["compare", "--models", "gan:conv", "--study-dir", "s"], tmp_path)
    assert_one_line_error(result, "Unknown architecture 'conv' for gan")
    assert not (tmp_path / "s").exists()


def test_entries_can_carry_their_own_run_settings():
    specs = parse_models("vaegan@learning_rate=0.00015;optimizer=rmsprop,vae:dcgan@latent_dim=2")
    assert specs[0].settings == (("learning_rate", 0.00015), ("optimizer", "rmsprop"))
    assert specs[0].slug == "vaegan-dcgan-learning_rate0.00015-optimizerrmsprop"
    assert specs[1].name == "vae:dcgan@latent_dim=2"
    plan = StudyPlan(data="d", models=[s.name for s in specs], seeds=1, epochs=2)
    configs = plan.run_configs("study")
    assert configs[0][2].learning_rate == 0.00015 and configs[0][2].optimizer == "rmsprop"
    assert configs[1][2].latent_dim == 2
    assert configs[1][2].run_dir == os.path.join("study", "runs", "vae-dcgan-latent_dim2-seed0")
    # a JSON value (commas inside it do not split entries) survives the plan's round trip through names
    rates = 'gan:dcgan@learning_rates={"d_optimizer":0.0004,"g_optimizer":0.0001},vae'
    plan = StudyPlan(data="d", models=[s.name for s in parse_models(rates)], seeds=1, epochs=2)
    assert plan.models == ['gan:dcgan@learning_rates={"d_optimizer":0.0004,"g_optimizer":0.0001}', "vae:dcgan"]
    config = plan.run_configs("study")[0][2]
    assert config.learning_rates == {"d_optimizer": 0.0004, "g_optimizer": 0.0001}
    assert config.run_dir.endswith("gan-dcgan-learning_ratesd_optimizer0.0004-g_optimizer0.0001-seed0")
    with pytest.raises(StudyError, match="'colour=red' is not key=value with a run setting"):
        parse_models("vae@colour=red")
    with pytest.raises(StudyError, match="learning_rate must be a number > 0; got -1"):
        StudyPlan(data="d", models=["vae@learning_rate=-1"])


def test_a_list_value_after_the_at_sign_keeps_its_commas():
    specs = parse_models("gan:dcgan@augment=translation,cutout;limit=2000,cvae,gan@augment=cutout,vaegan:dcgan")
    assert [s.name for s in specs] == ["gan:dcgan@augment=translation,cutout;limit=2000", "cvae:dcgan",
                                       "gan:dcgan@augment=cutout", "vaegan:dcgan"]
    assert specs[0].model_options() == {"augment": "translation,cutout"}
    assert [s.name for s in parse_models(specs[0].name + ",gan")] == [specs[0].name, "gan:dcgan"]
    with pytest.raises(StudyError, match="diffusion"):
        parse_models("gan:mlp,diffusion")  # before any @, a comma still ends the entry
    # A misspelt transformation fails when the entry is read, not when its run starts.
    with pytest.raises(StudyError, match="augment must be comma-separated names among brightness, contrast, "
                                         "translation, cutout; got 'translation,colour'"):
        parse_models("gan@augment=translation,colour,vae")


def test_entries_can_carry_model_options_of_their_model_only():
    specs = parse_models("vaegan:dcgan@gamma=0.1;beta=2;learning_rate=0.0003,gan:dcgan:hinge@critic_steps=2")
    assert specs[0].name == "vaegan:dcgan@gamma=0.1;beta=2;learning_rate=0.0003"
    assert specs[0].slug == "vaegan-dcgan-gamma0.1-beta2-learning_rate0.0003"
    plan = StudyPlan(data="d", models=[s.name for s in specs], seeds=1, epochs=1)
    (_, _, vaegan), (_, _, gan) = plan.run_configs("study")
    assert vaegan.model_options == {"gamma": 0.1, "beta": 2.0} and vaegan.learning_rate == 0.0003
    assert gan.model_options == {"loss": "hinge", "critic_steps": 2}
    with pytest.raises(StudyError, match="--gamma applies to --model vaegan only, not vae"):
        parse_models("vae:dcgan@gamma=0.1")
    with pytest.raises(StudyError, match="beta must be a number ≥ 0; got -1"):
        parse_models("vaegan:dcgan@beta=-1")


def test_gan_variants_name_their_loss():
    specs = parse_models("gan:dcgan,gan:dcgan:wgan-gp,gan:mlp:hinge@learning_rate=0.0001")
    assert [s.name for s in specs] == ["gan:dcgan", "gan:dcgan:wgan-gp", "gan:mlp:hinge@learning_rate=0.0001"]
    configs = StudyPlan(data="d", models=[s.name for s in specs], seeds=1, epochs=1).run_configs("study")
    # (WGAN-GP brings its published recipe, 5 critic steps, from kgen.models.losses)
    assert [c.model_options for _, _, c in configs] == [{}, {"loss": "wgan-gp"}, {"loss": "hinge"}]
    assert configs[1][2].run_dir == os.path.join("study", "runs", "gan-dcgan-wgan-gp-seed0")
    assert configs[2][2].learning_rate == 0.0001
    for bad in ("gan:dcgan:wgan", "vae:dcgan:hinge"):
        with pytest.raises(StudyError, match="is not a variant of"):
            parse_models(bad)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_whole_experiments(name):
    preset, plan = PRESETS[name], preset_plan(name)
    configs = plan.run_configs("s")
    assert len(configs) == 3 * len(plan.models) == 3 * len(preset.models.split(","))
    assert {c.data for _, _, c in configs} == {preset.data} and plan.description.startswith(preset.description)
    for spec, _, config in configs:  # an entry's own batch size wins over the preset's
        assert config.batch_size == dict(spec.settings).get("batch_size", preset.batch_size)
        assert (config.epochs, config.max_minutes) == (preset.epochs, preset.budget_minutes)
        for key, value in preset.settings.items():
            assert getattr(config, key) == dict(spec.settings).get(key, value)


def test_a_preset_takes_the_options_given_and_keeps_the_rest():
    plan = preset_plan("translation", seeds=2, epochs=3, limit=500, data="fashion_mnist")
    configs = plan.run_configs("s")
    assert (plan.seeds, plan.epochs, plan.batch_size, plan.data) == (2, 3, 64, "fashion_mnist")
    assert {(c.limit, c.learning_rate, c.batch_size) for _, _, c in configs} == {(500, 0.0003, 64)}
    assert [c.translate for _, _, c in configs[:4]] == [0.0, 0.1, 0.0, 0.1]
    # Banerjee's linear VAE trains at batch 64, the others at the preset's 128, each at the paper's rate
    configs = preset_plan("architecture").run_configs("s")[:4]
    assert [(c.batch_size, c.learning_rate) for _, _, c in configs] == [
        (128, 0.0002), (128, 0.0002), (64, 0.0001), (128, 0.0001)]
    with pytest.raises(StudyError, match="Unknown preset 'colours': expected one of"):
        preset_plan("colours")


def test_unknown_preset_is_one_line_error(tmp_path):
    result = run(["compare", "--preset", "colours", "--study-dir", "s"], tmp_path)
    assert_one_line_error(result, "'colours' is not one of")
    result = run(["compare", "--preset", "optimizers", "--models", "vae", "--study-dir", "s"], tmp_path)
    assert_one_line_error(result, "either --preset or --models")


def test_translated_reference_features_are_cached_apart(data_and_evaluator, tmp_path):
    from kgen.evaluation.features import RealFeatures

    data, evaluator_dir = data_and_evaluator
    extractor = ClassifierExtractor(evaluator_dir)
    plain = RealFeatures.load(extractor, data, 16, 10, cache_dir=str(tmp_path))
    shifted = RealFeatures.load(extractor, data, 16, 10, cache_dir=str(tmp_path), translate=0.2)
    assert not np.allclose(plain.reference.features, shifted.reference.features)
    assert len(list((tmp_path / extractor.key).iterdir())) == 4


def test_anomaly_study_trains_on_normal_classes_and_reports_auc(data_and_evaluator, tmp_path):
    data, evaluator_dir = data_and_evaluator
    plan = tiny_plan(data, models=["vae:mlp"], seeds=1, normal_classes=[0, 1])
    study = str(tmp_path / "study")
    run_list = run_study(plan, study, [ClassifierExtractor(evaluator_dir)], verbose=0, echo=lambda *a: None)
    run_dir = run_list[0][2]
    assert json.loads(open(os.path.join(run_dir, "config.json")).read())["data"]["num_examples"] == 80  # labels 0, 1
    anomaly = json.loads(open(os.path.join(run_dir, "eval", "anomaly-normal0_1.json")).read())
    assert set(anomaly["auc"]) == {"reconstruction_error", "neg_elbo"}
    text = open(rp.write_report(plan, study, run_list, extractor_names=("classifier",))).read()
    assert "## Anomaly detection" in text and "| vae:mlp |" in text.split("## Anomaly detection")[1]


def test_conditional_entries_train_conditional_models():
    specs = parse_models("gan:dcgan,cgan:dcgan,cgan:mlp:hinge,cvae:dcgan,cvaegan")
    assert [s.name for s in specs] == ["gan:dcgan", "cgan:dcgan", "cgan:mlp:hinge", "cvae:dcgan", "cvaegan:dcgan"]
    configs = StudyPlan(data="d", models=[s.name for s in specs], seeds=1, epochs=1).run_configs("study")
    assert [(c.model, c.conditional) for _, _, c in configs] == [
        ("gan", False), ("gan", True), ("gan", True), ("vae", True), ("vaegan", True)]
    assert configs[2][2].model_options == {"loss": "hinge"}
    assert configs[1][2].run_dir == os.path.join("study", "runs", "cgan-dcgan-seed0")
    for bad, message in (("cdiffusion", "Unknown model 'cdiffusion'"), ("cgan:dcgan@conditional=false", "run setting")):
        with pytest.raises(StudyError, match=message):
            parse_models(bad)


def test_class_agreement_table_gives_the_mean_over_seeds_with_its_interval_in_percent():
    from kgen.compare.tables import class_agreement_table

    class Record:
        def __init__(self, agreement):
            self.evals = {"classifier": {"class_agreement": agreement, "protocol": {"extractor_key": "classifier-1"}}}

    grouped = {"cgan:dcgan": [Record({"per_class": [1.0, 0.5], "overall": 0.75}),
                              Record({"per_class": [0.8, 0.5], "overall": 0.65})],
               "gan:dcgan": [Record(None)]}
    header, rows = class_agreement_table(grouped, "classifier", "classifier-1")
    assert header == ["model", "seeds", "all classes ↑", "class 0", "class 1"]
    assert rows == [["cgan:dcgan", "2", "70 [6.47, 134]", "90 [-37.1, 217]", "50 [50, 50]"]]


def test_reports_of_different_evaluators_never_share_a_table():
    grouped = tables.group_runs([fake_record("gan:dcgan", 0, 10.0),
                                 fake_record("gan:dcgan", 1, 99.0, key="classifier-bbbb"),
                                 fake_record("vae:mlp", 0, 30.0, key="classifier-bbbb")])
    assert tables.extractor_keys(grouped, "classifier") == ["classifier-aaaa", "classifier-bbbb"]
    _, rows, _ = tables.sample_quality_table(grouped, "classifier", "classifier-aaaa")
    assert [r[:3] for r in rows[:-1]] == [["gan:dcgan", "1", "10 (1 seed)"]]
    _, rows, _ = tables.sample_quality_table(grouped, "classifier", "classifier-bbbb")
    assert [r[:3] for r in rows[:-1]] == [["gan:dcgan", "1", "99 (1 seed)"], ["vae:mlp", "1", "30 (1 seed)"]]


def test_a_study_without_any_feature_extractor_still_trains_and_reports(data_and_evaluator, tmp_path, monkeypatch):
    from kgen.evaluation import inception

    def offline(*args, **kwargs):
        raise inception.ExtractorUnavailable("InceptionV3's ImageNet weights are not available (offline).")

    monkeypatch.setattr(inception, "InceptionExtractor", offline)
    data, _ = data_and_evaluator  # a data file kgen has no evaluator for
    plan, study, notes = tiny_plan(data, models=["gan:mlp", "vae:mlp"], seeds=1), str(tmp_path / "study"), []
    run_list = run_study(plan, study, verbose=0, echo=lambda *a: None, notes=notes)
    assert len(notes) == 2 and "no classifier metrics" in notes[0] and "no Inception metrics" in notes[1]
    text = open(rp.write_report(plan, study, run_list, notes=notes)).read()
    assert "Not in this report: no classifier metrics" in text and "kgen evaluator fit" in text
    assert "Sample quality" not in text
    assert "| vae:mlp |" in text and "negative ELBO" in text  # the likelihoods still compare
    assert "figures/samples.png" in text and "Size, learning rate, training time and final losses" in text


def test_a_winner_is_named_only_where_welchs_test_says_the_lead_is_real():
    grouped = tables.group_runs([fake_record("gan:dcgan", 0, 10.0), fake_record("gan:dcgan", 1, 12.0),
                                 fake_record("gan:dcgan", 2, 11.0), fake_record("vae:mlp", 0, 30.0),
                                 fake_record("vae:mlp", 1, 31.0), fake_record("vae:mlp", 2, 29.0),
                                 fake_record("gan:mlp", 0, 11.5), fake_record("gan:mlp", 1, 20.0),
                                 fake_record("gan:mlp", 2, 9.0)])
    header, rows = tables.winners_table(grouped, "classifier", "classifier-aaaa")
    assert header[:2] == ["metric", "best"] and header[-2:] == ["Welch's t-test p", "verdict"]
    fid = rows[0]
    assert fid[:5] == ["classifier FID ↓", "gan:dcgan", "11", "gan:mlp", "13.5"]  # lower is better
    expected = scipy.stats.ttest_ind([10.0, 12.0, 11.0], [11.5, 20.0, 9.0], equal_var=False)
    assert fid[6] == f"{expected.pvalue:.2g}" and fid[-1] == "no clear winner"  # a lead of 2.5 within the noise
    low, high = expected.confidence_interval(0.95)
    assert fid[5] == f"{-2.5:.3g} [{low:.2g}, {high:.2g}]"
    close = tables.group_runs([fake_record("a", 0, 10.0), fake_record("a", 1, 10.2), fake_record("a", 2, 10.1),
                               fake_record("b", 0, 30.0), fake_record("b", 1, 30.4), fake_record("b", 2, 30.1)])
    assert tables.winners_table(close, "classifier", "classifier-aaaa")[1][0][-1] == "a is better"
    one_seed = tables.group_runs([fake_record("a", 0, 10.0), fake_record("b", 0, 30.0)])
    assert tables.winners_table(one_seed, "classifier", "classifier-aaaa")[1][0][-1] == \
        "cannot tell: fewer than 2 seeds"


def test_a_colour_preset_runs_on_tensorflow_datasets_mock_cifar10(tmp_path, monkeypatch):
    """The CIFAR-10 preset end to end through tensorflow-datasets (its mock data: no files, no network):
    32×32×3 GAN and VAE trained, evaluated without an extractor (none for cifar10 here), reported."""
    import tensorflow_datasets as tfds

    from kgen.data import sources

    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path / "data"))  # no local copy
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(sources, "network_reachable", lambda *a, **k: True)
    monkeypatch.setattr("kgen.compare.study.default_extractors", lambda data: ([], ["no extractor in this test"]))
    with tfds.testing.mock_data(num_examples=16):
        result = run(["compare", "--preset", "gan-vs-vae-cifar10", "--epochs", "1", "--limit", "8", "--batch-size",
                      "4", "--seeds", "1", "--eval-n", "8", "--no-validate", "--study-dir", "s"], tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    assert result.output.startswith("Preset gan-vs-vae-cifar10: cifar10, 10 min per run, batch 128; --epochs 1 as "
                                    "given; --batch-size 4 as given")
    plan = json.loads((tmp_path / "s" / "study.json").read_text())
    assert plan["data"] == "cifar10" and plan["models"] == ["gan:dcgan", "vae:dcgan"]
    for slug in ("gan-dcgan-seed0", "vae-dcgan-seed0"):
        record = json.loads((tmp_path / "s" / "runs" / slug / "config.json").read_text())
        assert record["data"]["image_shape"] == [32, 32, 3] and "tensorflow-datasets" in record["data"]["description"]
    assert "negative ELBO" in (tmp_path / "s" / "report.md").read_text()


def test_long_entry_names_are_broken_into_lines_that_fit_a_small_panel():
    from kgen.compare.figures import _panel_title

    assert _panel_title("gan:dcgan") == "gan:dcgan"
    assert _panel_title("gan:paper-dcgan@learning_rate=0.0002") == "gan:paper-dcgan\n@learning_rate=0.0002"
    title = _panel_title("vae:paper-mlp@batch_size=64;learning_rate=0.0001;optimizer=rmsprop")
    assert title.splitlines() == ["vae:paper-mlp", "@batch_size=64;", "learning_rate=0.0001;", "optimizer=rmsprop"]


def test_metric_curves_sit_at_the_epochs_that_computed_them(tmp_path, monkeypatch):
    """With --metrics-every 2 the metrics of epochs 2 and 4 are drawn at epochs 2 and 4 (and at the
    minutes those epochs ended), each point the mean of the seeds' values there."""
    from kgen.compare import figures

    records = []
    for seed, fid in enumerate((100.0, 300.0)):
        run_dir = tmp_path / f"seed{seed}"
        run_dir.mkdir()
        epochs = [{"epoch": 2, "classifier_fid": fid}, {"epoch": 4, "classifier_fid": fid / 10}]
        (run_dir / "metrics.json").write_text(json.dumps({"epochs": epochs, "ceiling": {"classifier_fid": 1.0}}))
        history = {"classifier_fid": [fid, fid / 10], "epoch_seconds": [60.0, 60.0 * (1 + seed), 60.0, 60.0]}
        records.append(tables.StudyRun("gan:dcgan", seed, str(run_dir), None, history, {}))
    drawn = []
    monkeypatch.setattr(figures, "_plot_mean_and_band",
                        lambda ax, x, per_seed, label, metric=None: drawn.append((list(x), per_seed)))
    assert figures.figure_metric_curves({"gan:dcgan": records}, str(tmp_path / "e.png"), against="epoch")
    assert drawn == [([2, 4], [[100.0, 300.0], [10.0, 30.0]])]
    drawn.clear()
    figures.figure_metric_curves({"gan:dcgan": records}, str(tmp_path / "t.png"), against="time")
    assert drawn == [([2.5, 4.5], [[100.0, 300.0], [10.0, 30.0]])]  # minutes: mean of 2 and 3, of 4 and 5
    assert os.path.isfile(tmp_path / "e.png") and os.path.isfile(tmp_path / "t.png")
