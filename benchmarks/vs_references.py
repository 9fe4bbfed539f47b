"""kgen's training speed against plain reference implementations and against itself with its
optimisations off, in one run that alternates the commands (the machines are shared: compare ratios).

    .venv/bin/python benchmarks/vs_references.py [--rounds 3] [--torch-python /path/to/venv/bin/python]

Part 1 (the reference comparison's DCGAN, batch 128, float32 and bfloat16): each round runs
``kgen bench --model gan --arch paper-dcgan``, ``reference_keras_dcgan.py`` and, when a Python with
PyTorch is given, ``reference_torch_dcgan.py``, once per precision, each in its own process timing 60
steps after a warm-up of 10. kgen's record includes its share of the matmul peak of the precision it ran.
Part 2: ``kgen bench`` of the default GAN, VAE and VAE-GAN against ``kgen bench --plain`` (float
dropout masks, Keras' Adam and ``Model.fit``), alternating, per precision; 3 repeats each of at least 2 s.
Prints every measurement as a JSON line, then medians and ratios as Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KGEN = [sys.executable, "-m", "kgen.cli.main", "bench", "--no-sampling", "--json"]
PRECISIONS = {"float32": [], "bfloat16": ["--bf16"]}  # reference flags per precision
KGEN_PRECISION = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
PART2_MODELS = [("gan", "dcgan"), ("vae", "dcgan"), ("vaegan", "dcgan")]  # kgen fit's defaults


def run_json(command):
    """Run a benchmark command; return its JSON lines as dicts (stderr is dropped: TF's log lines)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def kgen_records(*args):
    """kgen bench's records (matmul peak and training) for the given options."""
    return run_json(KGEN + list(args))


def dcgan_round(torch_python):
    """One round of part 1: images/s of each implementation and precision, in a fixed order."""
    result = {}
    for precision, flags in PRECISIONS.items():
        records = kgen_records("--model", "gan", "--arch", "paper-dcgan", "--precision", KGEN_PRECISION[precision],
                               "--steps", "60", "--repeats", "1")
        training = next(r for r in records if r["measure"] == "training")
        peak = next(r for r in records if r["measure"] == "matmul_peak")
        result[f"kgen {precision}"] = training["images_per_s"]
        result[f"kgen {precision} share of {peak['dtype']} peak"] = training["share_of_peak"]
        result[f"{peak['dtype']} matmul peak GFLOP/s"] = peak["gflop_per_s"]
        keras = run_json([sys.executable, str(HERE / "reference_keras_dcgan.py"), *flags])[0]
        result[f"keras-plain {precision}"] = keras["images_per_s"]
        if torch_python:
            result[f"torch {precision}"] = run_json([torch_python, str(HERE / "reference_torch_dcgan.py"),
                                                     *flags])[0]["images_per_s"]
    return result


def print_dcgan_table(rounds):
    """Medians and kgen's ratios of part 1, as Markdown."""
    median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    print("\n| precision | implementation | images/s (median) | rounds | kgen ÷ it |\n| --- | --- | --- | --- | --- |")
    for precision in PRECISIONS:
        kgen = median[f"kgen {precision}"]
        for impl in ("kgen", "keras-plain", "torch"):
            name = f"{impl} {precision}"
            if name in median:
                values = ", ".join(f"{r[name]:.0f}" for r in rounds)
                print(f"| {precision} | {impl} | {median[name]:.0f} | {values} | {kgen / median[name]:.2f} |")
    for name in (n for n in median if "share" in n or "peak GFLOP" in n):
        print(f"\n{name}: {median[name]:.3g} (median; {', '.join(f'{r[name]:.3g}' for r in rounds)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--torch-python", help="A Python interpreter with torch installed.")
    parser.add_argument("--skip-models", action="store_true", help="Part 1 only.")
    parser.add_argument("--skip-dcgan", action="store_true", help="Part 2 only.")
    args = parser.parse_args()

    dcgan, models = [], {}
    for number in range(args.rounds):
        if not args.skip_dcgan:
            dcgan.append(dcgan_round(args.torch_python))
            print(json.dumps({"part": "dcgan", "round": number, **dcgan[-1]}), flush=True)
        if args.skip_models:
            continue
        for precision in PRECISIONS:
            for model, arch in PART2_MODELS:
                for plain in (False, True):
                    flags = ["--model", model, "--arch", arch, "--precision", KGEN_PRECISION[precision], "--steps",
                             "20", "--min-seconds", "2", "--repeats", "3"] + (["--plain"] if plain else [])
                    record = next(r for r in kgen_records(*flags) if r["measure"] == "training")
                    models.setdefault((f"{model}/{arch}", precision, plain), []).append(record)
                    print(json.dumps({"part": "models", "round": number, **record}), flush=True)

    if dcgan:
        print_dcgan_table(dcgan)
    if models:
        print("\n| model | precision | kgen images/s | plain images/s | kgen ÷ plain | share of peak |"
              "\n| --- | --- | --- | --- | --- | --- |")
        for name, precision in dict.fromkeys((m, p) for m, p, _ in models):
            fast, plain = models[(name, precision, False)], models[(name, precision, True)]
            speed = statistics.median(r["images_per_s"] for r in fast)
            base = statistics.median(r["images_per_s"] for r in plain)
            share = statistics.median(r["share_of_peak"] for r in fast)
            print(f"| {name} | {precision} | {speed:.0f} | {base:.0f} | {speed / base:.2f} | {share:.0%} |")


if __name__ == "__main__":
    main()
