"""Side by side, the last per-epoch sample grid of several run directories, each under its title (the
pictures of docs/quality.md).

    .venv/bin/python scripts/montage_runs.py OUT.png "TITLE=RUN_DIR" ["TITLE=RUN_DIR" ...]
"""

from __future__ import annotations

import glob
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def main(out, entries):
    """Write the montage of ``entries`` (``"title=run_dir"``) to ``out``."""
    pairs = [entry.split("=", 1) for entry in entries]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        sys.exit("usage: montage_runs.py OUT.png TITLE=RUN_DIR [TITLE=RUN_DIR ...]")
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3.5), squeeze=False)
    for ax, (title, run_dir) in zip(axes[0], pairs):
        grids = sorted(glob.glob(f"{run_dir}/samples/epoch_*.png"))
        if not grids:
            sys.exit(f"{run_dir} has no samples/epoch_*.png")
        ax.imshow(mpimg.imread(grids[-1]), cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
