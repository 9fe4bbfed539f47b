"""Training steps per minute on short epochs (``--limit``) with kgen's epoch ends as they are now against one of
their earlier habits, in one process that alternates the two:

* ``--old grids``: a sample grid after every epoch (kgen 0.4); now after the first and the last epoch and in
  between at most one per ``SECONDS_BETWEEN_GRIDS``;
* ``--old checkpoints``: the full training state checkpointed after every epoch (until 2026-12-04); now an
  epoch's end only once the time interval (``--checkpoint-every``, 2 minutes by default) has passed, and always
  at the end of training.

Everything else is the same. ::

    .venv/bin/python benchmarks/epoch_end_cost.py [--old grids|checkpoints] [--limit 8000] [--minutes 2] [--rounds 2]

Each run is ``kgen fit``'s default GAN on the first ``--limit`` MNIST images for ``--minutes`` of training
(no metrics during training; validation and checkpoints as by default), in a fresh temporary run dir. Prints
one JSON line per run, then the median steps per minute of each way and their ratio. Needs MNIST
(scripts/get_mnist.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile

import keras

from kgen.run.config import RunConfig
from kgen.training import callbacks
from kgen.training.checkpoint import Checkpointer
from kgen.training.fit import fit_run


@contextlib.contextmanager
def grids_after_every_epoch():
    """Within the block, every grid is made with no time between grids (kgen 0.4 drew one after each epoch)."""
    original = callbacks.EpochGrid.__init__

    def every_epoch(self, directory, log_dir=None, min_seconds=0):
        original(self, directory, log_dir, min_seconds=0)

    callbacks.EpochGrid.__init__ = every_epoch
    try:
        yield
    finally:
        callbacks.EpochGrid.__init__ = original


@contextlib.contextmanager
def checkpoints_after_every_epoch():
    """Within the block, the end of every epoch is checkpointed, whatever the interval."""
    original = Checkpointer.due_at_epoch_end
    Checkpointer.due_at_epoch_end = lambda self: True
    try:
        yield
    finally:
        Checkpointer.due_at_epoch_end = original


OLD_WAYS = {"grids": grids_after_every_epoch, "checkpoints": checkpoints_after_every_epoch}


def steps_per_minute(limit, minutes, old_way, seed):
    """Training steps per minute of training time of one run, its epochs, grids and checkpoints; ``old_way``: a
    context manager of :data:`OLD_WAYS` to run it in, or ``None`` for today's epoch ends."""
    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory() as root:
        config = RunConfig(model="gan", arch="dcgan", data="mnist", limit=limit, epochs=10_000, max_minutes=minutes,
                           seed=seed, metrics_every=0, run_dir=os.path.join(root, "run"))
        with old_way() if old_way else contextlib.nullcontext():
            result = fit_run(config, verbose=0)
        steps = int(result.model.training_steps())
        epochs, grids = len(result.history["epoch_seconds"]), len(result.grid_paths)
    keras.backend.clear_session()
    return steps / minutes, epochs, grids, len(result.checkpoint_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", choices=sorted(OLD_WAYS), default="grids",
                        help="the earlier habit to compare with: a grid or a checkpoint after every epoch")
    parser.add_argument("--limit", type=int, default=8000)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    old_label = f"{args.old} after every epoch"
    rates = {old_label: [], "now": []}
    for round_number in range(args.rounds):
        for way in rates:
            rate, epochs, grids, checkpoints = steps_per_minute(
                args.limit, args.minutes, OLD_WAYS[args.old] if way == old_label else None, seed=round_number)
            rates[way].append(rate)
            print(json.dumps({"round": round_number, "way": way, "limit": args.limit,
                              "steps_per_minute": round(rate, 1), "epochs": epochs, "grids_drawn": grids,
                              "checkpoints": checkpoints}), flush=True)
    before, now = statistics.median(rates[old_label]), statistics.median(rates["now"])
    print(f"\ndefault GAN, {args.limit} images, {args.minutes:g} min runs: {old_label} {before:.0f} steps/min, "
          f"now {now:.0f} steps/min (median of {args.rounds}); ratio ×{now / before:.2f}")


if __name__ == "__main__":
    main()
