"""An exponential moving average of a model's generator (Yazıcı et al., 2019): what sampling, evaluation,
the grids and exports use, updated after every generator step."""

from __future__ import annotations

import keras
import tensorflow as tf


class GeneratorAveraging:
    """Mixin of :class:`kgen.models.base.GenerativeModel`: the average of the network named by
    ``generator_network``, trained by the optimizer ``generator_role``, with decay ``ema_decay`` (or the
    class's ``default_ema_decay``)."""

    default_ema_decay = 0.0
    generator_network = "generator"  # the attribute holding the network that makes images from z
    generator_role = "g_optimizer"  # the optimizer that trains it

    @property
    def averaging(self):
        """The decay of the generator's weight average (0: no averaging): ``ema_decay``, or the model's default."""
        return float(self.default_ema_decay if self.ema_decay is None else self.ema_decay)

    def average_generator(self, build):
        """With :attr:`averaging` on, make the generator's exponential moving average (Yazıcı et al., 2019)
        with ``build()`` (a second network like the generator), starting from the generator's weights.

        The average is what sampling, evaluation, export and the per-epoch grids use (``generate`` with
        ``training=False``); ``train_step`` updates it after every generator step. Call at the end of a
        subclass's ``__init__``, inside :meth:`network_policy`.
        """
        if not self.averaging:
            return
        own = self.generator_network in self._own_network_names
        average = keras.models.clone_model(getattr(self, self.generator_network)) if own else build()
        average.set_weights(getattr(self, self.generator_network).get_weights())
        average.trainable = False  # no optimiser trains it: update_average moves it
        self.generator_average = average

    def sampling_network(self, training=False):
        """The network that makes images: the generator while training, else its average (when on)."""
        if training or self.generator_average is None:
            return getattr(self, self.generator_network)
        return self.generator_average

    def update_average(self):
        """One step of the generator's moving average: ``w̄ ← d·w̄ + (1 − d)·w`` for every weight and
        batch-norm statistic, with ``d = min(decay, (1 + t) / (10 + t))`` after ``t`` generator steps, so
        the average follows the fast early changes (as TensorFlow's ExponentialMovingAverage does).

        Under a distribution strategy the update runs once in cross-replica context (``merge_call``):
        the generator's weights are the same on every replica.
        """
        if self.generator_average is None:
            return

        def update(*_):
            steps = tf.cast(getattr(self, self.generator_role).iterations, tf.float32)
            decay = tf.minimum(self.averaging, (1.0 + steps) / (10.0 + steps))
            for average, value in zip(self.generator_average.variables,
                                      getattr(self, self.generator_network).variables):
                # w̄ − (1 − d)(w̄ − w) = d·w̄ + (1 − d)·w, with one pass less over the weights
                average.assign_sub((1.0 - decay) * (average - tf.cast(value, average.dtype)))

        if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
            tf.distribute.get_replica_context().merge_call(update)
        else:
            update()
