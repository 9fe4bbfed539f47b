"""An exponential moving average of a model's generator (Yazıcı et al., 2019): what sampling, evaluation,
the grids and exports use, updated after every generator step, with batch-normalisation statistics
measured for its own weights ("standing statistics")."""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen.models.sampling import spread_labels

STANDING_SAMPLES = 4096  # latent vectors the averaged generator's batch-norm statistics are measured on
STANDING_SEED = 2**31 - 7  # their stateless seed: no other draw of kgen uses it
STANDING_BATCH = 512


def batch_norm_probes(network):
    """For each batch-normalisation layer of a functional ``network`` (at its top level, in the order
    they run), the layer and a traced function of a batch of the network's inputs that gives the float64
    sums of that layer's inputs and of their squares over every axis but the layer's, with how many
    values each sum adds; ``None`` when the network is not functional (e.g. a subclassed model), so its
    layers' inputs cannot be reached."""
    layers = [layer for layer in getattr(network, "layers", []) if isinstance(layer, keras.layers.BatchNormalization)]
    try:
        return [(layer, _moment_sums(keras.Model(network.inputs, layer.input), layer.axis)) for layer in layers]
    except (AttributeError, ValueError, TypeError):
        return None


def _moment_sums(probe, axis):
    # Traced once per model: a refresh (one before every grid) took about a quarter less time than with
    # eager calls of the probe models (measured with the default GAN, same values to the bit).
    def sums(inputs):
        x = tf.cast(probe(inputs, training=False), tf.float64)
        axes = [a for a in range(x.shape.rank) if a != axis % x.shape.rank]
        count = tf.reduce_prod(tf.gather(tf.shape(x), axes))
        return tf.reduce_sum(x, axis=axes), tf.reduce_sum(tf.square(x), axis=axes), count

    return tf.function(sums, reduce_retracing=True)


def measure_standing_statistics(probes, inputs, batch_size=STANDING_BATCH):
    """Set each batch-normalisation layer's moving mean and variance to the statistics of its inputs
    over ``inputs``, with the network in inference mode, one layer after the other (each layer sees
    the inputs the layers before it give with their new statistics): the statistics inference needs.

    Args:
        probes: :func:`batch_norm_probes` of the network.
        inputs: the network's inputs (a tensor, or a list for several inputs), all rows at once.
        batch_size: rows per forward pass.
    """
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    n = int(inputs[0].shape[0])
    for layer, moment_sums in probes:
        total = squares = 0.0
        count = 0
        for start in range(0, n, batch_size):
            batch = [x[start:start + batch_size] for x in inputs]
            batch_total, batch_squares, batch_count = moment_sums(batch if len(batch) > 1 else batch[0])
            total += batch_total
            squares += batch_squares
            count += int(batch_count)
        mean = total / count
        layer.moving_mean.assign(tf.cast(mean, layer.moving_mean.dtype))
        layer.moving_variance.assign(tf.cast(tf.maximum(squares / count - tf.square(mean), 0.0),
                                             layer.moving_variance.dtype))


class StandingStatistics:
    """What measuring the averaged generator's batch-norm statistics needs: the probes of its layers
    (:func:`batch_norm_probes`), their statistics' variables, and the training step they were last
    measured at. A plain object, so that Keras does not track the probe models as layers of the model."""

    def __init__(self, network):
        self.probes = batch_norm_probes(network) or []
        self.variable_ids = {id(v) for layer, _ in self.probes for v in (layer.moving_mean, layer.moving_variance)}
        self.step = None


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

        The average is what sampling, evaluation, export and the sample grids use (``generate`` with
        ``training=False``); ``train_step`` updates its weights after every generator step, and its
        batch-normalisation statistics are measured for its own weights before it makes images
        (:meth:`refresh_average_statistics`). Call at the end of a subclass's ``__init__``, inside
        :meth:`network_policy`.
        """
        if not self.averaging:
            return
        own = self.generator_network in self._own_network_names
        average = keras.models.clone_model(getattr(self, self.generator_network)) if own else build()
        average.set_weights(getattr(self, self.generator_network).get_weights())
        average.trainable = False  # no optimiser trains it: update_average moves it
        self.generator_average = average
        # Statistics measured for the average are not averaged (a network that cannot be probed keeps the
        # average of the generator's statistics, as before kgen 0.3).
        self._standing = StandingStatistics(average)

    def sampling_network(self, training=False):
        """The network that makes images: the generator while training, else its average (when on; called
        eagerly, with its batch-normalisation statistics measured first)."""
        if training or self.generator_average is None:
            return getattr(self, self.generator_network)
        if tf.executing_eagerly():
            self.refresh_average_statistics()
        return self.generator_average

    def refresh_average_statistics(self):
        """Measure the batch-normalisation statistics of the generator's average for its current weights
        ("standing statistics"): the mean and variance of each such layer's inputs over
        ``STANDING_SAMPLES`` latent vectors of a fixed seed, drawn from the model's prior, in inference mode,
        layer by layer.

        The running statistics the generator keeps belong to its own weights, and their average to none
        of the weights it passed through; the averaged weights need their own. Done at most once per
        training step (sampling, grids, evaluation, ``save`` and export call it; it does nothing when the
        statistics are current or the model has no average), and deterministic: the same weights give
        the same statistics.
        """
        if self.generator_average is None or not self._standing.probes:
            return
        try:
            steps = self.training_steps()
        except (AttributeError, ValueError):  # not compiled: no optimizer counts steps
            steps = -1
        # A Keras variable's value is a MirroredVariable under a distribution strategy: read it as a tensor.
        step = int(tf.convert_to_tensor(getattr(steps, "value", steps)))
        if self._standing.step == step:
            return
        z = self.latent_batch(STANDING_SAMPLES, seed=STANDING_SEED)  # from the prior that samples are drawn from
        inputs = [z, tf.constant(spread_labels(STANDING_SAMPLES, self.num_classes))] if self.conditional else z
        measure_standing_statistics(self._standing.probes, inputs)
        self._standing.step = step

    def forget_average_statistics(self):
        """Have the next :meth:`refresh_average_statistics` measure them again even at the same training step
        (the prior that latent vectors are drawn from changed)."""
        if self.generator_average is not None:
            self._standing.step = None

    def update_average(self):
        """One step of the generator's moving average: ``w̄ ← d·w̄ + (1 − d)·w`` for every weight (the
        batch-norm statistics are measured instead: :meth:`refresh_average_statistics`), with
        ``d = min(decay, (1 + t) / (10 + t))`` after ``t`` generator steps, so the average follows the fast
        early changes (as TensorFlow's ExponentialMovingAverage does).

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
                if id(average) in self._standing.variable_ids:
                    continue
                # w̄ − (1 − d)(w̄ − w) = d·w̄ + (1 − d)·w, with one pass less over the weights
                average.assign_sub((1.0 - decay) * (average - tf.cast(value, average.dtype)))

        if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
            tf.distribute.get_replica_context().merge_call(update)
        else:
            update()
