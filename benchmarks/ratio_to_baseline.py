"""Whether one study entry's metric is at most (or at least) R times another's, the two possibly from different
studies: the contrast ``A − R·B`` of the per-seed values with its 95 % Welch–Satterthwaite interval. An interval
wholly below 0 says "A is clearly under R·B"; one that straddles 0 says "no clear difference from R·B".

    python benchmarks/ratio_to_baseline.py --ratio 1.5 --metric fid \\
        STUDY_8000 'gan:dcgan@limit=8000' STUDY_60000 gan:dcgan

Per-seed values as benchmarks/reproduction_effects.py reads them (final evaluation, or ``--at MINUTES``).
"""

import argparse

from reproduction_effects import per_seed_values, values_at

from kgen.compare.statistics import contrast_test, mean_interval


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study_a")
    parser.add_argument("entry_a")
    parser.add_argument("study_b")
    parser.add_argument("entry_b")
    parser.add_argument("--ratio", type=float, required=True, help="R in A − R·B")
    parser.add_argument("--metric", action="append", required=True, help="fid, is, recall, … (repeatable)")
    parser.add_argument("--at", type=float, metavar="MINUTES", help="the metrics scored after MINUTES of training")
    args = parser.parse_args()
    read = per_seed_values if args.at is None else (lambda study, entry: values_at(study, entry, args.at))
    a, b = read(args.study_a, args.entry_a), read(args.study_b, args.entry_b)
    for metric in args.metric:
        mean_a, mean_b = mean_interval(a[metric]), mean_interval(b[metric])
        test = contrast_test([a[metric], b[metric]], [1, -args.ratio])
        print(f"{metric}: A {mean_a.mean:.4g} [{mean_a.low:.4g}, {mean_a.high:.4g}], "
              f"B {mean_b.mean:.4g} [{mean_b.low:.4g}, {mean_b.high:.4g}], A/B {mean_a.mean / mean_b.mean:.3g}; "
              f"A − {args.ratio:g}·B = {test.difference:+.4g} [{test.low:+.4g}, {test.high:+.4g}] (p = {test.p:.2g})")


if __name__ == "__main__":
    main()
