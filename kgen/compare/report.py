"""The report of a comparison study: its tables (:mod:`.tables`) and figures (:mod:`.figures`) in one
document (:mod:`.document`), written as ``report.md`` and ``report.html``, and the tables' numbers as
``report.json``.

Everything here reads what the runs wrote and, for pictures drawn from the models (samples, latent
spaces, interpolations, reconstructions), loads the seed-0 model of each entry.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

from kgen import names
from kgen.compare import figures, tables
from kgen.compare.document import Document
from kgen.evaluation.bootstrap import CONFIDENCE
from kgen.evaluation.report import metric_label
from kgen.files import atomic_write, write_json
from kgen.run import layout

FIGURES_DIR = "figures"


def write_report(plan, study_dir, run_list, extractor_names=names.EXTRACTORS, title=None, notes=()):
    """Assemble the study's tables and figures into ``report.md`` and ``report.html``.

    Args:
        plan: the :class:`kgen.compare.study.StudyPlan`.
        study_dir: the study directory.
        run_list: ``[(spec, seed, run_dir)]`` from :func:`kgen.compare.study.run_study`.
        extractor_names: extractors whose evaluation reports to tabulate (missing ones are skipped);
            reports of different weights of one extractor (e.g. two evaluator classifiers) get tables
            of their own.
        title: the report's title.
        notes: lines saying which metrics could not be computed and why (from ``run_study``).

    Returns:
        The path of ``report.md``; ``report.json`` beside it holds, per extractor, every entry's values per
        seed with their mean and interval, the ceiling and the winners' tests.
    """
    from kgen.compare.study import AUTOENCODER_ONLY

    names_read = tuple(extractor_names) + (AUTOENCODER_ONLY,)
    records = [tables.StudyRun.read(spec.name, seed, run_dir, names_read, plan.eval_n, plan.normal_classes)
               for spec, seed, run_dir in run_list]
    grouped = tables.group_runs(records)
    figures_dir = os.path.join(study_dir, FIGURES_DIR)
    os.makedirs(figures_dir, exist_ok=True)
    models = {name: layout.load_model(rs[0].run_dir) for name, rs in grouped.items()}
    doc = Document(title or f"kgen comparison on {plan.data}")
    _introduction(doc, plan, notes)
    for extractor in extractor_names:
        _sample_quality(doc, grouped, extractor)
    _autoencoders(doc, grouped)
    _anomaly(doc, grouped)
    _time_to_quality(doc, grouped, figures_dir)
    parameters = {name: tables.network_parameters(m) for name, m in models.items() if hasattr(m, "optimizer_roles")}
    doc.heading("Size, learning rate, training time and final losses")
    doc.table(*tables.cost_table(grouped, parameters))
    _pictures(doc, grouped, models, plan.data, figures_dir)
    path = os.path.join(study_dir, "report.md")
    for file, text in ((path, doc.markdown(study_dir)), (os.path.join(study_dir, "report.html"), doc.html(study_dir))):
        with atomic_write(file) as f:
            f.write(text)
    write_json(os.path.join(study_dir, "report.json"), {
        "plan": dataclasses.asdict(plan), "confidence": CONFIDENCE,
        "sample_quality": {key: tables.quality_summary(grouped, extractor, key) for extractor in extractor_names
                           for key in tables.extractor_keys(grouped, extractor)}})
    return path


def _introduction(doc, plan, notes):
    budget = (f"a budget of {plan.budget_minutes:g} minutes each" if plan.budget_minutes
              else f"{plan.epochs} epoch{'' if plan.epochs == 1 else 's'} each")
    if plan.description:
        doc.paragraph(plan.description + ".")
    doc.paragraph(f"Models {', '.join(plan.models)}; {plan.seeds} seed(s) per model; batch {plan.batch_size}; "
                  f"{budget}. Each number is the mean over seeds with its {100 * CONFIDENCE:g} % Student-t interval "
                  "in brackets (none with one seed); the last row of each quality table is real data under the same "
                  "protocol (the ceiling), with its bootstrap interval over the images. A model is called better "
                  "than another only where Welch's t-test over the seeds says so.")
    for line in notes:
        doc.paragraph(f"Not in this report: {line}")


def _sample_quality(doc, grouped, extractor):
    """One table per extractor weights (by hash), and the class agreement of conditional models."""
    keys = tables.extractor_keys(grouped, extractor)
    for key in keys:
        header, rows, protocol = tables.sample_quality_table(grouped, extractor, key)
        if not rows:
            continue
        doc.heading(f"Sample quality in {extractor} features ({key})")
        doc.paragraph(f"Extractor: {protocol['extractor']}. Numbers in these features compare only with numbers "
                      f"of the same extractor ({key}), never with another extractor's or a paper's. Generated: "
                      f"{protocol['n_generated']} images per run; reference: {protocol['reference']}; ceiling: "
                      f"{protocol['ceiling']}; KID: {protocol['kid']}; precision/recall: "
                      f"{protocol['precision_recall']}.")
        doc.table(header, rows)
        header, rows = tables.winners_table(grouped, extractor, key)
        if rows:
            doc.paragraph("Which model wins on each metric: the best and the runner-up by their means over seeds, the "
                          f"difference of the means with its {100 * CONFIDENCE:g} % interval, and Welch's two-sided "
                          f"t-test; a winner is named only where p < {1 - CONFIDENCE:.2g}, otherwise the verdict is "
                          "\"no clear winner\".")
            doc.table(header, rows)
        header, rows = tables.class_agreement_table(grouped, extractor, key)
        if rows:
            doc.heading("Class-conditional models: does the classifier see the requested class?")
            doc.paragraph("Share (%) of the generated images above whose class according to the evaluator "
                          "classifier is the class they were generated for; the images are spread evenly over "
                          "the classes.")
            doc.table(header, rows)


def _autoencoders(doc, grouped):
    header, rows, protocol = tables.autoencoder_table(grouped)
    if rows:
        doc.heading("Autoencoders: reconstruction and likelihood on held-out images")
        doc.paragraph(protocol)
        doc.table(header, rows)


def _anomaly(doc, grouped):
    header, rows = tables.anomaly_table(grouped)
    if not rows:
        return
    first = next(r.anomaly for rs in grouped.values() for r in rs if r.anomaly)
    doc.heading("Anomaly detection")
    doc.paragraph(f"Every run trained on classes {first['normal_classes']} only; the test split's "
                  f"{first['n_normal']} images of those classes are normal and its {first['n_anomalous']} others "
                  "anomalous. ROC AUC of each score (0.5 is chance): VAE reconstruction error and negative ELBO, "
                  "minus the discriminator's logit.")
    doc.table(header, rows)


def _time_to_quality(doc, grouped, figures_dir):
    if not any(tables.timed_metrics(r.run_dir) for rs in grouped.values() for r in rs):
        return
    _, protocol, _ = tables.training_ceiling(grouped)
    doc.heading("Quality against training time")
    doc.paragraph(f"Each run was scored after the given minutes of training (evaluation time not counted) with "
                  f"{protocol.get('extractor', 'the evaluator classifier')}: {protocol.get('n_generated')} "
                  f"generated images against {protocol.get('reference')}; ceiling: {protocol.get('ceiling')}. "
                  f"Mean over seeds with its {100 * CONFIDENCE:g} % interval.")
    for key, _ in tables.SAMPLE_METRICS:
        header, rows = tables.time_to_quality_table(grouped, key)
        if rows:
            doc.paragraph(f"**{metric_label(key, 'classifier')}**")
            doc.table(header, rows)
    doc.figure(figures.figure_time_to_quality(grouped, os.path.join(figures_dir, "time_to_quality.png")),
               "Classifier metrics against minutes of training (mean over seeds, band: its 95 % interval; dashed: "
               "real data)")


def _pictures(doc, grouped, models, data, figures_dir):
    def path(name):
        return os.path.join(figures_dir, f"{name}.png")

    doc.heading("Pictures")
    doc.figure(figures.figure_samples(models, path("samples")), "36 samples of each model (latent seed 0, seed-0 runs)")
    doc.figure(figures.figure_epochs(grouped, path("epochs")), "The same latent vectors over training (seed-0 runs)")
    conditional = {name: m for name, m in models.items() if getattr(m, "conditional", False)}
    if conditional:
        doc.figure(figures.figure_class_rows(conditional, path("classes")),
                   "Class-conditional models: one row per class, each column from one latent vector")
    doc.figure(figures.figure_losses(grouped, path("losses")), "Training losses per epoch (mean over seeds)")
    for against in ("epoch", "time"):
        doc.figure(figures.figure_metric_curves(grouped, path(f"metrics_{against}"), against=against),
                   f"Classifier metrics during training against {'epoch' if against == 'epoch' else 'wall-clock time'} "
                   "(mean over seeds, band: its 95 % interval; dashed: real data)")
    doc.figure(figures.figure_interpolations(models, path("interpolations")),
               "Linear interpolations between pairs of latent vectors")
    autoencoders = {name: m for name, m in models.items() if m.has_encoder}
    if autoencoders:
        doc.figure(figures.figure_latent_space(autoencoders, data, path("latent")),
                   "Encoder means of 2,000 test images, coloured by class: PCA"
                   + (" and t-SNE" if importlib.util.find_spec("sklearn") else " (t-SNE needs scikit-learn)"))
        doc.figure(figures.figure_reconstructions(autoencoders, data, path("reconstructions")),
                   "The same test images and their reconstructions")
