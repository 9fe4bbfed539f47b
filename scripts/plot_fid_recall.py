"""FID against recall of study entries, each point the mean over its seeds with both 95 % intervals as error
bars (the trade-off pictures of docs/quality.md). Every point must come from the same evaluator: numbers of
different feature extractors are not comparable.

    .venv/bin/python scripts/plot_fid_recall.py OUT.png --point LABEL STUDY_DIR ENTRY [--point ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import matplotlib
import matplotlib.ticker
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def entry_metrics(study, entry):
    """``(evaluator key, {metric: {"mean", "interval"}})`` of ``entry`` in the report of the study at ``study``."""
    path = os.path.join(study, "report.json")
    try:
        with open(path) as f:
            quality = json.load(f)["sample_quality"]
    except (OSError, KeyError, json.JSONDecodeError) as e:
        sys.exit(f"{path}: no sample-quality report ({type(e).__name__}: {e}); run kgen compare there first")
    found = [(key, table["models"][entry]) for key, table in quality.items() if entry in table.get("models", {})]
    if len(found) != 1:
        sys.exit(f"{path}: expected entry {entry!r} under one evaluator; found it under {len(found)}")
    return found[0]


def main(out, points):
    """Write the plot of ``points`` (``(label, study_dir, entry)``) to ``out``."""
    measured = [(label, *entry_metrics(study, entry)) for label, study, entry in points]
    evaluators = sorted({key for _, key, _ in measured})
    if len(evaluators) != 1:
        sys.exit(f"the points come from different evaluators ({', '.join(evaluators)}): not comparable")
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    for label, _, metrics in measured:
        x, y = metrics["recall"]["mean"], metrics["fid"]["mean"]
        (x_low, x_high), (y_low, y_high) = metrics["recall"]["interval"], metrics["fid"]["interval"]
        ax.errorbar(x, y, xerr=[[x - x_low], [x_high - x]], yerr=[[y - y_low], [y_high - y]], fmt="o", capsize=3,
                    label=f"{label}: FID {y:.1f}, recall {x:.3f}")
    ax.set_xlabel("recall ↑ (mean of the seeds, 95 % interval)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))  # 10, 20, not 10¹, 2·10¹
    ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_ylabel("FID ↓ (log scale)")
    ax.set_title(f"{evaluators[0]}: FID against recall", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    from kgen.images import write_png  # imports TensorFlow: not before the reports are read

    fig.tight_layout()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    write_png(out, rgba[..., :3])
    print(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the PNG to write")
    parser.add_argument("--point", nargs=3, action="append", required=True, metavar=("LABEL", "STUDY_DIR", "ENTRY"),
                        help="a study entry to plot, under LABEL in the legend")
    args = parser.parse_args()
    main(args.out, args.point)
