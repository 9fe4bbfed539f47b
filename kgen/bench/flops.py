"""Analytic FLOP counts of kgen's networks and training steps, from the layers' shapes.

Only the layers that do the arithmetic are counted — ``Dense``, ``Conv2D`` and ``Conv2DTranspose``
(a multiply-add is 2 FLOPs, a bias add 1); element-wise layers (activations, dropout, reshapes) are
memory-bound and left out. A backward pass through a network is counted as twice its forward pass
(gradients with respect to its inputs and to its weights), the usual convention.
"""

from __future__ import annotations

import math

import keras


def layer_flops(layer):
    """Forward FLOPs of one layer for one example (0 for layers without matrix arithmetic).

    Args:
        layer: a built Keras layer.

    Returns:
        int FLOPs.

    Example:
        A ``Dense(3)`` on 4 inputs: 2·4·3 multiply-adds + 3 bias adds = 27.
    """
    bias = getattr(layer, "use_bias", False)
    if isinstance(layer, keras.layers.Dense):
        inputs, units = int(layer.input.shape[-1]), int(layer.units)
        return 2 * inputs * units + (units if bias else 0)
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        kh, kw = layer.kernel_size
        c_in, c_out = int(layer.input.shape[-1]), int(layer.filters)
        out_pixels = math.prod(int(d) for d in layer.output.shape[1:3])
        # A convolution does its multiply-adds per output pixel; a transposed one per input pixel.
        transposed = isinstance(layer, keras.layers.Conv2DTranspose)
        pixels = math.prod(int(d) for d in layer.input.shape[1:3]) if transposed else out_pixels
        return 2 * kh * kw * c_in * c_out * pixels + (c_out * out_pixels if bias else 0)
    return 0


def forward_flops(network):
    """Forward FLOPs of a (functional) network for one example, nested models included."""
    return sum(forward_flops(layer) if isinstance(layer, keras.Model) else layer_flops(layer)
               for layer in network.layers)


def training_flops_per_image(model):
    """FLOPs of one training step of a kgen model, per image of the batch.

    With F(N) the forward FLOPs of network N and a backward pass costing 2·F:

    - GAN: the D update runs G once and D on the real and the fake batch, then back through D for
      both (F(G) + 2F(D) + 4F(D)); the G update runs G and D and back through both
      (F(G) + F(D) + 2F(D) + 2F(G)): 4F(G) + 9F(D). This is the convention the reference
      benchmarks use (≈ 0.86 GFLOP per image for the DCGAN). The G update needs only D's input
      gradients, not its weight gradients, so the arithmetic actually executed is about one F(D)
      less (4F(G) + 8F(D)); the achieved GFLOP/s are therefore slightly flattering.
    - VAE: the encoder and decoder forward and backward: 3F(E) + 3F(Dec).
    - VAE-GAN: encoder, decoder on the posterior and prior samples, the discriminator on three
      batches for the logits and two for the features (forward E + 2Dec + 5D); back through the
      feature pass, decoder and encoder for the encoder (2D + 2Dec + 2E), through the logits of two
      batches, the features and the decoder twice for the decoder (6D + 4Dec), and through three
      batches for the discriminator (6D): 3F(E) + 8F(Dec) + 19F(D). The feature pass stops at a
      middle layer, so this slightly over-counts.

    Returns:
        int FLOPs per image.

    Raises:
        ValueError: a model kgen does not know.
    """
    name = type(model).__name__
    if name == "GAN":
        return 4 * forward_flops(model.generator) + 9 * forward_flops(model.discriminator)
    if name == "VAE":
        return 3 * (forward_flops(model.encoder) + forward_flops(model.decoder))
    if name == "VAEGAN":
        return 3 * forward_flops(model.encoder) + 8 * forward_flops(model.decoder) + 19 * forward_flops(
            model.discriminator)
    raise ValueError(f"No FLOP count for {name}: expected a kgen GAN, VAE or VAEGAN.")
