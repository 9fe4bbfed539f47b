"""What the R1 penalty costs per training step of the default GAN: no penalty, the penalty on every discriminator
update, and lazily on every K-th; the variants alternate within one process, so the ratios are fair on a machine
whose speed drifts.

    python benchmarks/r1_step_cost.py [--every 4 --every 16] [--steps 40] [--rounds 5] [--batch-size 128]

Prints per variant the fastest and the median of the rounds' milliseconds per step, and both as a ratio to no
penalty, beside the machine and the precision (``--precision auto``'s choice).
"""

import argparse
import statistics
import time

import keras
import numpy as np

from kgen import hardware
from kgen.models.gan import GAN


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, action="append", help="lazy R1 every K-th update (repeatable; default 4)")
    parser.add_argument("--weight", type=float, default=0.1, help="γ of the penalty (default 0.1)")
    parser.add_argument("--steps", type=int, default=40, help="training steps per round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    precision = hardware.auto_precision()
    keras.mixed_precision.set_global_policy(precision.precision)
    variants = {"no penalty": dict(r1_weight=0.0), "every update": dict(r1_weight=args.weight, r1_every=1)}
    for every in args.every or [4]:
        variants[f"every {every}th update"] = dict(r1_weight=args.weight, r1_every=every)
    images = np.random.default_rng(0).uniform(-1, 1, (args.steps * args.batch_size, 28, 28, 1)).astype("float32")
    models = {}
    for name, options in variants.items():
        model = GAN(image_shape=(28, 28, 1), seed=0, **options)
        model.compile()
        model.fit(images[:2 * args.batch_size], batch_size=args.batch_size, epochs=1, verbose=0)  # trace, warm up
        models[name] = model
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(images, batch_size=args.batch_size, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / args.steps * 1000)
    print(f"{hardware.machine_description()}; precision {precision.precision}; batch {args.batch_size}, "
          f"{args.steps} steps × {args.rounds} rounds, alternating")
    fastest, median = min(times["no penalty"]), statistics.median(times["no penalty"])
    for name, values in times.items():
        print(f"  {name:>20}: fastest {min(values):6.1f} ms/step (×{min(values) / fastest:.3f}), "
              f"median {statistics.median(values):6.1f} (×{statistics.median(values) / median:.3f})")


if __name__ == "__main__":
    main()
