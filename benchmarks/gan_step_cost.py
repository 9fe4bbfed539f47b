"""What a GAN option costs per training step: GANs made from `kgen compare`-style entries train in turn within one
process, round after round, so the ratios are fair on a machine whose speed drifts.

    python benchmarks/gan_step_cost.py [--models 'gan:dcgan,gan:dcgan@r1=0.1;r1_every=4'] [--steps 40] [--rounds 5]
        [--batch-size 128]

Prints per entry the fastest and the median of the rounds' milliseconds per step, and both as a ratio to the first
entry, beside the machine and the precision (``--precision auto``'s choice). A step of an entry with k critic steps
takes k real batches, as in ``kgen fit``. The entries' model options (``@r1=0.1``, ``@augment=translation``) and
the run settings that shape the networks (``@width=64``, ``@latent_dim=128``) count, as ``kgen fit`` builds them;
other run settings, such as the learning rate, do not change a step's cost and are refused, so that no entry is
timed as something it is not.
"""

import argparse
import statistics
import time

import keras
import numpy as np

from kgen import hardware
from kgen.compare.study import StudyError, parse_models
from kgen.models import registry

DEFAULT_MODELS = "gan:dcgan,gan:dcgan@r1=0.1,gan:dcgan@r1=0.1;r1_every=4"
NETWORK_SETTINGS = ("width", "latent_dim")  # run settings that kgen fit passes to the model's constructor


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help=f"comma-separated compare entries, the first the baseline (default {DEFAULT_MODELS!r})")
    parser.add_argument("--steps", type=int, default=40, help="training steps per round and entry")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    try:
        specs = parse_models(args.models)
    except StudyError as e:
        parser.error(str(e))
    if any(spec.model != "gan" or spec.conditional for spec in specs):
        parser.error(f"--models must list unconditional GAN entries only; got {args.models!r}")
    timed_apart = sorted({key for spec in specs for key in spec.run_settings()} - set(NETWORK_SETTINGS))
    if timed_apart:
        parser.error(f"--models may set model options and {', '.join(NETWORK_SETTINGS)} only (the batch: "
                     f"--batch-size); got {', '.join(timed_apart)}")
    precision = hardware.auto_precision()
    keras.mixed_precision.set_global_policy(precision.precision)
    rng = np.random.default_rng(0)
    models, images = {}, {}
    for spec in specs:
        network = {key: value for key, value in spec.run_settings().items() if key in NETWORK_SETTINGS}
        model = registry.model_class("gan")(image_shape=(28, 28, 1), arch=spec.arch, seed=0, **network,
                                            **spec.model_options())
        model.compile()
        # A step takes one real batch per critic step, as kgen fit feeds it.
        step_batch = args.batch_size * model.batches_per_step
        images[spec.name] = rng.uniform(-1, 1, (args.steps * step_batch, 28, 28, 1)).astype("float32")
        model.fit(images[spec.name][:2 * step_batch], batch_size=step_batch, epochs=1, verbose=0)  # trace, warm up
        models[spec.name] = model
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(images[name], batch_size=args.batch_size * model.batches_per_step, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / args.steps * 1000)
    print(f"{hardware.machine_description()}; precision {precision.precision}; batch {args.batch_size}, "
          f"{args.steps} steps × {args.rounds} rounds, alternating")
    baseline = times[specs[0].name]
    fastest, median = min(baseline), statistics.median(baseline)
    width = max(map(len, times))
    for name, values in times.items():
        print(f"  {name:>{width}}: fastest {min(values):6.1f} ms/step (×{min(values) / fastest:.3f}), "
              f"median {statistics.median(values):6.1f} (×{statistics.median(values) / median:.3f})")


if __name__ == "__main__":
    main()
