"""An evaluation report (:func:`kgen.evaluation.protocol.evaluate`) as a plain-text table, with its protocol."""

from __future__ import annotations

from kgen.evaluation.autoencoder import ACTIVE_KL


METRIC_LABELS = {"fid": "FID ↓", "is": "IS ↑", "kid": "KID ↓", "precision": "precision ↑", "recall": "recall ↑"}
AUTOENCODER_LABELS = {
    "reconstruction_mse": "reconstruction MSE / pixel ↓",
    "reconstruction_nll": "reconstruction NLL (nats) ↓",
    "neg_elbo": "negative ELBO (nats) ↓",
    "iw_nll": "importance-weighted NLL (nats) ↓",
}


def _value(entry, key="value", std_key="std"):
    text = f"{entry[key]:.4g}"
    return f"{text} ± {entry[std_key]:.3g}" if std_key in entry else text


def format_report(report):
    """A plain-text table of a report from :func:`evaluate`, with its protocol."""
    p = report["protocol"]
    lines = [f"extractor: {p['extractor']}",
             f"generated: {p['generated']}; reference: {p['reference']}; ceiling: {p['ceiling']}", ""]
    lines.append(f"{'metric':<34}{'model':>22}{'real data (ceiling)':>24}")
    for name, entry in report["metrics"].items():
        lines.append(f"{METRIC_LABELS[name]:<34}{_value(entry):>22}{_value(entry, 'ceiling', 'ceiling_std'):>24}")
    if report.get("autoencoder"):
        lines += ["", f"autoencoder metrics: {p['autoencoder']}"]
        for key, label in AUTOENCODER_LABELS.items():
            lines.append(f"{label:<34}{report['autoencoder'][key]:>22.4f}")
        if "kl_per_dimension" in report["autoencoder"]:
            kl = report["autoencoder"]["kl_per_dimension"]
            lines.append(f"{f'active latent dimensions (KL > {ACTIVE_KL})':<34}"
                         f"{report['autoencoder']['active_dimensions']:>18} of {len(kl)}")
            lines.append("KL per latent dimension (nats): " + " ".join(f"{v:.2f}" for v in kl))
    if report.get("class_agreement"):
        agreement = report["class_agreement"]
        lines += ["", "class agreement: the evaluator classifier's class = the requested class, per requested class"]
        lines.append("  ".join(f"{c}: {100 * a:.1f} %" for c, a in enumerate(agreement["per_class"]) if a is not None))
        lines.append(f"{'all classes ↑':<34}{100 * agreement['overall']:>20.1f} %  "
                     f"({sum(agreement['n_per_class'])} images, {min(agreement['n_per_class'])}–"
                     f"{max(agreement['n_per_class'])} per class)")
    lines.append(f"\n({report['seconds']:.1f} s)")
    return "\n".join(lines)
