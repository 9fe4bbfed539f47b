"""What kgen's fused Adam update (:class:`kgen.models.fused_adam.FusedAdam`) saves per training step against
Keras' own Adam, everything else equal, in one process that alternates the two.

    .venv/bin/python benchmarks/fused_adam.py [--model gan] [--arch dcgan] [--precision auto] [--rounds 3]

Each round builds the model twice from the same seed, once with each optimizer, and times its compiled
training step on random images (``kgen.bench.throughput.training_throughput``). Prints one JSON line per
measurement, then the medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics

import keras

from kgen.bench.throughput import training_throughput, use_keras_adam
from kgen.hardware import resolve_precision
from kgen.run.config import RunConfig
from kgen.training.fit import build_model


def step_ms(model_name, arch, precision, batch_size, keras_adam):
    """Median ms per training step of a freshly built model, with Keras' Adam or kgen's fused one."""
    keras.utils.set_random_seed(0)
    model = build_model(RunConfig(model=model_name, arch=arch, batch_size=batch_size, precision=precision),
                        (28, 28, 1))
    if keras_adam:
        use_keras_adam(model)
    ms = training_throughput(model, batch_size, steps=30, repeats=3)["ms_per_step"]
    keras.backend.clear_session()
    return ms


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gan")
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    precision = resolve_precision(args.precision).precision
    times = {"fused": [], "keras": []}
    for round_number in range(args.rounds):
        for name in ("keras", "fused"):
            ms = step_ms(args.model, args.arch, precision, args.batch_size, keras_adam=name == "keras")
            times[name].append(ms)
            print(json.dumps({"round": round_number, "optimizer": name, "model": f"{args.model}/{args.arch}",
                              "precision": precision, "ms_per_step": round(ms, 1)}), flush=True)
    fused, plain = statistics.median(times["fused"]), statistics.median(times["keras"])
    print(f"\n{args.model}/{args.arch}, {precision}, batch {args.batch_size}: Keras Adam {plain:.1f} ms/step, "
          f"fused Adam {fused:.1f} ms/step (median of {args.rounds}); speed-up ×{plain / fused:.2f}")


if __name__ == "__main__":
    main()
