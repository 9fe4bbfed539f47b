"""Draw quality against minutes of training for the runs of several studies side by side (e.g. a default
before and after a change), with kgen compare's own figure: the mean over each group's seeds with a band
of its 95 % interval, and the real-data ceiling dashed.

    .venv/bin/python benchmarks/time_to_quality_figure.py OUT.png "old=STUDY_A/runs/gan-dcgan-seed*" \
        "new=STUDY_B/runs/gan-dcgan-seed*"

Each argument after the output is ``LABEL=GLOB`` of run dirs (runs of ``kgen fit --metrics-at`` or of a
study with ``--metrics-at``).
"""

from __future__ import annotations

import argparse
import glob
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("groups", nargs="+", help="LABEL=GLOB of run dirs")
    args = parser.parse_args(argv)

    from kgen.compare.figures import figure_time_to_quality
    from kgen.compare.tables import StudyRun

    grouped = {}
    for group in args.groups:
        label, sep, pattern = group.partition("=")
        run_dirs = sorted(glob.glob(pattern))
        if not sep or not run_dirs:
            sys.exit(f"Error: expected LABEL=GLOB matching run dirs; got {group!r}.")
        grouped[label] = [StudyRun.read(label, seed, run_dir, (), 0) for seed, run_dir in enumerate(run_dirs)]
    if figure_time_to_quality(grouped, args.out) is None:
        sys.exit("Error: none of these runs has metrics at minutes of training (metrics.json \"timed\").")
    print(args.out)


if __name__ == "__main__":
    main()
