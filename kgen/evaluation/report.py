"""An evaluation report (:func:`kgen.evaluation.protocol.evaluate`) as a plain-text table, with its protocol."""

from __future__ import annotations

from kgen.evaluation.autoencoder import ACTIVE_KL


METRIC_LABELS = {"fid": "FID ↓", "is": "IS ↑", "kid": "KID ↓", "precision": "precision ↑", "recall": "recall ↑",
                 "sharpness": "sharpness (real = 1)", "classes_covered": "classes covered ↑",
                 "class_tv": "class imbalance (TV) ↓"}
# Metrics of the pixels, whatever the extractor: their label names the measure instead.
PIXEL_METRICS = {"sharpness": "Laplacian"}
# How a metric's name says which features it was computed in: "classifier FID" is not an "Inception FID".
EXTRACTOR_KINDS = {"classifier": "classifier", "inception": "Inception"}


def metric_label(name, extractor_name):
    """The label of a sample metric that names its measuring stick: ``"classifier FID ↓"``, ``"Laplacian
    sharpness (real = 1)"``."""
    kind = PIXEL_METRICS.get(name) or EXTRACTOR_KINDS.get(extractor_name, extractor_name)
    return f"{kind} {METRIC_LABELS[name]}"


def extractor_kind(protocol):
    """``"classifier"`` or ``"inception"``: the kind of extractor a report's protocol names (by its key,
    ``classifier-<hash>`` or ``inception-<weights>``)."""
    return str(protocol.get("extractor_key") or "classifier").split("-")[0]


def with_interval(value, interval=None, digits=4):
    """``"20.61 [19.8, 21.5]"``: a value and its interval (just the value when there is none)."""
    if value is None:
        return "–"
    text = f"{value:.{digits}g}"
    return f"{text} [{interval[0]:.{digits - 1}g}, {interval[1]:.{digits - 1}g}]" if interval else text


AUTOENCODER_LABELS = {
    "reconstruction_mse": "reconstruction MSE / pixel ↓",
    "reconstruction_nll": "reconstruction NLL (nats) ↓",
    "neg_elbo": "negative ELBO (nats) ↓",
    "iw_nll": "importance-weighted NLL (nats) ↓",
}


def _value(entry, key="value", interval_key="interval", std_key="std"):
    text = with_interval(entry[key], entry.get(interval_key))
    # Reports of kgen 0.2 gave IS and KID with the standard deviation over their splits instead.
    return f"{text} ± {entry[std_key]:.3g} (splits)" if std_key in entry and interval_key not in entry else text


def format_report(report):
    """A plain-text table of a report from :func:`evaluate`, with its protocol."""
    p = report["protocol"]
    kind = extractor_kind(p)
    lines = [f"extractor: {p['extractor']}",
             f"generated: {p['generated']}; reference: {p['reference']}; ceiling: {p['ceiling']}"]
    if p.get("intervals"):
        lines.append(f"intervals: {p['intervals']}")
    lines += ["", f"{'metric':<26}{'model':>28}{'real data (ceiling)':>30}"]
    for name, entry in report["metrics"].items():
        lines.append(f"{metric_label(name, kind):<26}{_value(entry):>28}"
                     f"{_value(entry, 'ceiling', 'ceiling_interval', 'ceiling_std'):>30}")
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
