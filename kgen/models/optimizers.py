"""One optimizer per sub-network (a GAN's D and G, a VAE-GAN's three networks), compiled, serialised and
restored with the model, so ``keras.saving.load_model`` brings their state back and training goes on."""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen.models.fused_adam import FusedAdam  # imported here also to register it: saved models name it
from kgen.models.runtime import num_replicas


class OptimizerRoles:
    """Mixin of :class:`kgen.models.base.GenerativeModel`: ``optimizer_roles`` maps each ``compile``
    keyword (e.g. ``"d_optimizer"``) to the sub-networks that optimizer trains (``("discriminator",)``).
    """

    optimizer_roles: dict = {}
    default_learning_rate = 2e-4
    default_beta_1 = 0.5
    default_beta_2 = 0.999

    def _compile_roles(self, optimizers, **kwargs):
        """Compile with one optimizer per sub-network; ``None`` entries get the model's default."""
        # optimizer=None: Keras would otherwise create an unused RMSprop as `self.optimizer`.
        super().compile(optimizer=None, **kwargs)
        for role in self.optimizer_roles:
            optimizer = optimizers.get(role)
            if optimizer is None:
                optimizer = self.default_optimizer()
            setattr(self, role, keras.optimizers.get(optimizer))
        self._kgen_compile_kwargs = dict(kwargs)

    def default_optimizer(self):
        """The optimizer used for a sub-network when ``compile`` is given none: Adam (with TensorFlow's
        fused update, :class:`kgen.models.fused_adam.FusedAdam`) at the model's defaults."""
        return FusedAdam(self.default_learning_rate, beta_1=self.default_beta_1, beta_2=self.default_beta_2)

    def get_compile_config(self):
        """Serialised optimizers (and compile options), so a loaded model is compiled the same way."""
        if not self.compiled:
            return {}
        config = {role: keras.saving.serialize_keras_object(getattr(self, role)) for role in self.optimizer_roles}
        config.update(getattr(self, "_kgen_compile_kwargs", {}))
        return config

    def compile_from_config(self, config):
        """Compile from ``get_compile_config()`` and build every optimizer, so its state can load."""
        config = dict(config)
        optimizers = {role: keras.saving.deserialize_keras_object(config.pop(role))
                      for role in self.optimizer_roles if role in config}
        self.compile(**optimizers, **config)
        self.build_optimizers()

    def build_optimizers(self):
        """Create every optimizer's slot variables for the weights it trains."""
        for role in self.optimizer_roles:
            optimizer = getattr(self, role)
            if not optimizer.built:
                optimizer.build(self.role_variables(role))

    def role_variables(self, role):
        """The trainable variables of the sub-networks that the optimizer ``role`` trains."""
        return [v for name in self.optimizer_roles[role] for v in getattr(self, name).trainable_variables]

    def role_gradients(self, role, tape, loss):
        """Gradients of ``loss`` (recorded on ``tape``) w.r.t. the weights the optimizer ``role`` trains,
        ready for that optimizer.

        Under a distribution strategy each replica's loss is the mean over its share of the batch and
        the optimizer sums the replicas' gradients: the gradients are divided by the replica count, so
        the update is that of the mean over the global batch. For a LossScaleOptimizer
        (``mixed_float16``) they are the gradients of the loss times its scale; it unscales them and
        skips the step when they overflowed.
        """
        optimizer = getattr(self, role)
        factor = 1.0 / num_replicas()
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            factor = optimizer.scale_loss(factor)
        return tape.gradient(loss, self.role_variables(role), output_gradients=tf.cast(factor, loss.dtype))

    def apply_gradients(self, role, tape, loss):
        """One optimizer step of a sub-network: gradients of ``loss`` w.r.t. its trainable weights.

        Args:
            role: the ``compile`` keyword of the optimizer (a key of ``optimizer_roles``).
            tape: the ``tf.GradientTape`` that recorded ``loss``.
            loss: scalar loss tensor.
        """
        self.apply_role_gradients(role, self.role_gradients(role, tape, loss))

    def apply_role_gradients(self, role, gradients):
        """One optimizer step of a sub-network with gradients that :meth:`role_gradients` gave."""
        getattr(self, role).apply_gradients(zip(gradients, self.role_variables(role)))
