"""Run a Keras reference benchmark unchanged, and also time its training steps alone.

    .venv/bin/python scripts/reference_step_timer.py ../shared/bench/keras_plain_dcgan.py [its options]

The reference times a whole ``model.fit`` call, which includes tearing down the epoch's tf.data
iterator; with tf.data's autotuning on, that teardown often blocks for seconds (see
``scripts/bench_iterator_teardown.py``). This wrapper adds a callback to every ``fit`` that records
when each batch ends, runs the script as it is, and after the script's own JSON line prints one more:
``steps_images_per_s``, the images/s from the first to the last timed batch end of the last ``fit``
(steady-state steps, without the fit's start and end).
"""

from __future__ import annotations

import json
import runpy
import sys
import time

import keras


class BatchEnds(keras.callbacks.Callback):
    """Records ``time.perf_counter()`` at every training batch's end."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def main():
    script, sys.argv = sys.argv[1], sys.argv[1:]
    recorders, fit = [], keras.Model.fit

    def timed_fit(model, *args, callbacks=None, **kwargs):
        recorders.append(BatchEnds())
        return fit(model, *args, callbacks=list(callbacks or []) + [recorders[-1]], **kwargs)

    keras.Model.fit = timed_fit
    runpy.run_path(script, run_name="__main__")
    times = recorders[-1].times
    batch = next((int(sys.argv[i + 1]) for i, a in enumerate(sys.argv) if a == "--batch"), 128)
    print(json.dumps({"steps_images_per_s": batch * (len(times) - 1) / (times[-1] - times[0]),
                      "timed_batches": len(times) - 1}))


if __name__ == "__main__":
    main()
