"""Side by side, the last per-epoch sample grid of several run directories, each under its title (the
pictures of docs/quality.md and docs/reproductions.md).

    .venv/bin/python scripts/montage_runs.py OUT.png "TITLE=RUN_DIR" ["TITLE=RUN_DIR" ...]
    .venv/bin/python scripts/montage_runs.py --columns 3 OUT.png "TITLE=RUN_DIR" ...   (rows of 3)
"""

from __future__ import annotations

import argparse
import glob
import math
import sys

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def main(out, entries, columns=None):
    """Write the montage of ``entries`` (``"title=run_dir"``) to ``out``, ``columns`` grids per row (all in one
    row by default)."""
    pairs = [entry.split("=", 1) for entry in entries]
    bad = [entry for entry, pair in zip(entries, pairs) if len(pair) != 2]
    if not pairs or bad:
        sys.exit(f"expected TITLE=RUN_DIR entries; got {bad or 'none'}")
    columns = min(columns or len(pairs), len(pairs))
    rows = math.ceil(len(pairs) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.5 * rows), dpi=100, squeeze=False)
    for ax in axes.flat[len(pairs):]:
        ax.axis("off")
    for ax, (title, run_dir) in zip(axes.flat, pairs):
        grids = sorted(glob.glob(f"{run_dir}/samples/epoch_*.png"))
        if not grids:
            sys.exit(f"{run_dir} has no samples/epoch_*.png")
        ax.imshow(mpimg.imread(grids[-1]), cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    from kgen.images import write_png  # imports TensorFlow: not before the arguments are checked

    fig.tight_layout()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    # Sample grids of grayscale data make a grayscale montage: stored as one channel, a third of the bytes.
    gray = (rgba[..., 0] == rgba[..., 1]).all() and (rgba[..., 1] == rgba[..., 2]).all()
    write_png(out, rgba[..., :1] if gray else rgba[..., :3])
    print(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the PNG to write")
    parser.add_argument("entries", nargs="+", metavar="TITLE=RUN_DIR", help="a run dir and the title above its grid")
    parser.add_argument("--columns", type=int, default=None, help="grids per row (default: all in one row)")
    args = parser.parse_args()
    if args.columns is not None and args.columns < 1:
        parser.error(f"--columns must be at least 1; got {args.columns}")
    main(args.out, args.entries, args.columns)
