"""kgen's training speed against the plain references and against itself with its optimisations off.

    .venv/bin/python scripts/bench_vs_references.py [--rounds 3] [--torch-python /path/to/venv/bin/python]

Part 1 (the DCGAN, batch 128): alternates ``../shared/bench/keras_plain_dcgan.py`` (default and
``--jit``), ``torch_dcgan.py`` (when a Python with torch is given) and ``kgen bench --model gan --arch
dcgan``, each timing 60 steps after a warm-up of 10 in its own process, for ``--rounds`` rounds. The
Keras reference runs through ``reference_step_timer.py``, which adds its steady-state step rate
("steps only": without the ``fit`` call's start and end, where tf.data can stall) to the number the
script reports itself.
Part 2: ``kgen bench`` of every model against ``kgen bench --plain`` (float dropout masks and
``Model.fit``), alternating; 3 repeats each, sized to last about 3 s (``--min-seconds 3``).
Prints every measurement as a JSON line, then the medians and ratios as Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REFERENCES = Path(__file__).resolve().parents[2] / "shared" / "bench"
STEP_TIMER = Path(__file__).resolve().parent / "reference_step_timer.py"
KGEN = [sys.executable, "-m", "kgen.cli.main", "bench", "--no-sampling", "--json"]


def run_json(command):
    """Run a benchmark command; return its JSON lines as dicts (stderr is dropped: TF's log lines)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def kgen_training(*args):
    """kgen bench's training records for the given options."""
    return [r for r in run_json(KGEN + list(args)) if r["measure"] == "training"]


def dcgan_round(torch_python):
    """One round of part 1: images/s of each implementation, in a fixed order."""
    result = {}
    steps = ["--steps", "60", "--repeats", "1"]  # one timed block of 60 steps, as the references time
    record = kgen_training("--model", "gan", "--arch", "dcgan", *steps)[0]
    result["kgen"], result["kgen share of peak"] = record["images_per_s"], record["share_of_peak"]
    for name, flags in (("keras-plain", []), ("keras-plain --jit", ["--jit"])):
        reported, steps_only = run_json([sys.executable, str(STEP_TIMER), str(REFERENCES / "keras_plain_dcgan.py"),
                                         *flags])
        result[name], result[f"{name} (steps only)"] = reported["images_per_s"], steps_only["steps_images_per_s"]
    if torch_python:
        result["torch"] = run_json([torch_python, str(REFERENCES / "torch_dcgan.py")])[0]["images_per_s"]
    return result


def print_dcgan_table(dcgan):
    """Medians, rounds and kgen's ratio to each implementation of part 1, as Markdown."""
    kgen = statistics.median(r["kgen"] for r in dcgan)
    print("\n| implementation | images/s (median) | rounds | kgen ÷ it |\n| --- | --- | --- | --- |")
    for name in (name for name in dcgan[0] if name != "kgen share of peak"):
        values = [r[name] for r in dcgan]
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} | {', '.join(f'{v:.0f}' for v in values)} | {kgen / median:.2f} |")
    shares = [r["kgen share of peak"] for r in dcgan]
    print(f"\nkgen's DCGAN step: {statistics.median(shares):.0%} of the measured matmul peak (median; "
          f"{', '.join(f'{s:.0%}' for s in shares)}).")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--torch-python", help="A Python interpreter with torch installed.")
    parser.add_argument("--skip-models", action="store_true", help="Part 1 only.")
    parser.add_argument("--skip-dcgan", action="store_true", help="Part 2 only.")
    args = parser.parse_args()

    dcgan = []
    for number in range(0 if args.skip_dcgan else args.rounds):
        dcgan.append(dcgan_round(args.torch_python))
        print(json.dumps({"part": "dcgan", "round": number, **dcgan[-1]}), flush=True)
    models = {}
    for number in range(0 if args.skip_models else args.rounds):
        for flags in ([], ["--plain"]):
            for record in kgen_training(*flags, "--steps", "20", "--min-seconds", "3", "--repeats", "3"):
                models.setdefault((record["model"], bool(flags)), []).append(record)
                print(json.dumps({"part": "models", "round": number, **record}), flush=True)

    if dcgan:
        print_dcgan_table(dcgan)
    if models:
        print("\n| model | kgen images/s | plain images/s | kgen ÷ plain | GFLOP/s | share of peak |"
              "\n| --- | --- | --- | --- | --- | --- |")
        for name in dict.fromkeys(model for model, _ in models):
            fast, plain = models[(name, False)], models[(name, True)]
            speed = statistics.median(r["images_per_s"] for r in fast)
            base = statistics.median(r["images_per_s"] for r in plain)
            share = statistics.median(r["share_of_peak"] for r in fast)
            rate = statistics.median(r["gflop_per_s"] for r in fast)
            print(f"| {name} | {speed:.0f} | {base:.0f} | {speed / base:.2f} | {rate:.0f} | {share:.0%} |")


if __name__ == "__main__":
    main()
