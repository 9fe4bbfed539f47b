"""What the mixture prior of `kgen fit --prior-components K` changes, measured on the same trained networks: the
finished runs of a VAE or VAE-GAN study entry are copied into a new study, each once as it is and once per K
with the prior fitted after training, exactly as `kgen fit` fits it (the prior changes nothing in training).

    .venv/bin/python benchmarks/prior_after_training.py SOURCE_STUDY NEW_STUDY --entry vaegan:dcgan --components 50
    kgen compare --data mnist --models 'vaegan:dcgan,vaegan:dcgan@prior_components=50' \\
        [the source study's other options] --study-dir NEW_STUDY

`kgen compare` then finds every run finished, evaluates the new ones and compares the entries seed by seed
(`benchmarks/reproduction_effects.py NEW_STUDY --effect 'vaegan:dcgan->vaegan:dcgan@prior_components=50'`).
A copied run with a prior holds the trained networks and the optimizers' state, as the run's own model.keras.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil

from kgen.compare.study import RUNS_DIR, parse_models, run_status
from kgen.models.latent_prior import GaussianMixture
from kgen.run import layout
from kgen.run.record import RunRecord, RunStatus
from kgen.training.callbacks import SampleGrid
from kgen.training.fit import save_model
from kgen.training.prior import fit_latent_prior


def copy_run(source, target, components=0, temperature=1.0, fitted=None):
    """Copy the run ``source`` to ``target`` without its evaluations; with ``components`` > 0 its model gets a
    mixture prior of that many Gaussians at ``temperature``, fitted as ``kgen fit`` fits it. ``fitted``: a dict
    that keeps each fitted mixture for the next copy of the same run and components, which only rescales it (the
    fit is deterministic: the same codes and seed give the same mixture). Returns the record's ``latent_prior``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("eval"))
    record = RunRecord.read(target)
    record.kgen_run["run_dir"] = os.path.abspath(target)
    if components:
        trained = layout.load_model(source, float32=False)  # in the precision it trained in, as kgen fit
        options = {"prior_components": components, "prior_temperature": temperature}
        model = type(trained).from_config({**trained.get_config(), **options})
        for name in ("encoder", "decoder", "discriminator", "generator_average"):
            if getattr(trained, name, None) is not None:
                getattr(model, name).set_weights(getattr(trained, name).get_weights())
        model.compile_from_config(trained.get_compile_config())  # the same optimizers, built
        for role in model.optimizer_roles:  # and their state: the copy trains on as the run would
            for mine, theirs in zip(getattr(model, role).variables, getattr(trained, role).variables, strict=True):
                mine.assign(theirs)
        run = record.kgen_run
        fitted = {} if fitted is None else fitted
        if components in fitted:
            record.latent_prior, mixture = fitted[components]
            model.set_prior(mixture)
            record.latent_prior = {**record.latent_prior, "temperature": temperature}
        else:
            record.latent_prior = fit_latent_prior(model, run["data"], limit=run.get("limit"), seed=run["seed"],
                                                   classes=run.get("classes"))
            fitted[components] = (record.latent_prior, GaussianMixture(
                model.prior_weights.numpy(), model.prior_means.numpy(), model.prior_cholesky.numpy() / temperature))
        save_model(model, os.path.join(target, layout.MODEL_FILE))
        redraw_last_grid(model, target, run)
        if temperature == 1:
            del options["prior_temperature"]  # as a compare entry without it names its runs
        run["model_options"] = {**run.get("model_options", {}), **options}
        record.model_config = {**record.model_config, **options}
        print(f"{target}: {record.latent_prior}", flush=True)
    record.write(target)
    return record.latent_prior


def redraw_last_grid(model, run_dir, run):
    """Draw the run's last sample grid again from the model's prior, as ``kgen fit`` does after fitting one."""
    grids = sorted(glob.glob(os.path.join(run_dir, layout.SAMPLES_DIR, "epoch_*.png")))
    if grids:
        grid = SampleGrid(os.path.dirname(grids[-1]), n=run["grid_size"], seed=run["seed"])
        grid.set_model(model)
        grid.paths = [grids[-1]]
        grid.redraw_last()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source_study")
    parser.add_argument("new_study")
    parser.add_argument("--entry", required=True, help="the study entry whose runs to copy, e.g. vaegan:dcgan")
    parser.add_argument("--components", required=True, type=lambda text: [int(k) for k in text.split(",") if k],
                        help="components of each prior, comma-separated (e.g. 10,50)")
    parser.add_argument("--temperatures", default=[1.0], type=lambda text: [float(t) for t in text.split(",") if t],
                        help="temperatures of each prior, comma-separated (default 1): one copy per components and "
                             "temperature")
    args = parser.parse_args()
    spec = parse_models(args.entry)[0]
    prefix = f"{spec.slug}-seed"
    source_runs = os.path.join(args.source_study, RUNS_DIR)
    for name in sorted(os.listdir(source_runs)):
        run_dir = os.path.join(source_runs, name)
        record = run_status(run_dir)
        if not name.startswith(prefix) or record is None or record.status is not RunStatus.FINISHED:
            continue
        seed = name[len(prefix):]
        copy_run(run_dir, os.path.join(args.new_study, RUNS_DIR, name))
        fitted = {}
        for k in args.components:
            for t in args.temperatures:
                options = f"prior_components={k}" + (f";prior_temperature={t:g}" if t != 1 else "")
                with_prior = parse_models(f"{args.entry}{';' if '@' in args.entry else '@'}{options}")[0]
                copy_run(run_dir, os.path.join(args.new_study, RUNS_DIR, f"{with_prior.slug}-seed{seed}"), k, t,
                         fitted)


if __name__ == "__main__":
    main()
