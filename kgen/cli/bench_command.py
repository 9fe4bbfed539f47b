"""``kgen bench``: training and sampling speed, FLOPs and the share of this machine's peak."""

from __future__ import annotations

import json
import tempfile

import click

from kgen import names
from kgen.cli.common import KgenCommand

# Each model's architectures (their `archs`), spelled out so --help works without importing TensorFlow.
MODELS = names.MODEL_ARCHS
PROFILE_ROWS = 12  # op types printed by --profile
PEAK_MATRIX = 4096  # side of the float32 matrices whose product measures the peak


@click.command(cls=KgenCommand)
@click.option("--model", "model_name", type=click.Choice(sorted(MODELS)),
              help="Model to measure (default: every model with every architecture).")
@click.option("--arch", type=click.Choice(names.ARCHS),
              help="Architecture (default: each of the model's).")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True,
              help="Images per training step.")
@click.option("--steps", type=click.IntRange(min=1), default=30, show_default=True,
              help="Timed steps per repeat, at least (more when they would take less than --min-seconds).")
@click.option("--min-seconds", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Shortest timed repeat: fast models run more steps per repeat, so that timer noise stays small.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Timed repeats; medians are reported.")
@click.option("--image-size", type=click.IntRange(min=4), default=28, show_default=True,
              help="Side of the random square training images (28: MNIST / Fashion-MNIST; 32: CIFAR-10; 64: CelebA "
                   "as kgen resizes it).")
@click.option("--channels", type=click.Choice(["1", "3"]), default="1", show_default=True,
              help="Colour channels of the training images: 1 grayscale, 3 RGB (CIFAR-10, CelebA).")
@click.option("--precision", type=click.Choice(names.PRECISIONS), default="auto",
              show_default=True, help="Keras dtype policy of the networks (auto: as kgen fit picks it here).")
@click.option("--jit/--no-jit", "jit_compile", default=False, show_default=True, help="Compile each step with XLA.")
@click.option("--sampling/--no-sampling", default=True, show_default=True,
              help="Also measure the exported generator's sampling speed at batch 1, 64 and 1024.")
@click.option("--plain", is_flag=True,
              help="Baseline: kgen's optimisations off — float dropout masks as Keras' Dropout draws them, "
                   "Keras' own Adam instead of the fused update, and Keras' Model.fit instead of kgen's loop.")
@click.option("--profile", "profile_steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also profile this many training steps with TensorFlow's profiler and print the op types "
                   "that take the time (0: no profile).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per measurement instead of a table.")
def bench(model_name, arch, batch_size, steps, min_seconds, repeats, image_size, channels, precision, jit_compile,
          sampling, plain, profile_steps, as_json):
    """Measure, after a warm-up, training images/s and ms/step (median over repeats) of each model ×
    architecture asked for, the analytic FLOPs of one training step (from the layer shapes, forward
    + backward), the achieved GFLOP/s and its share of this machine's peak (measured in the
    same run with a large matrix multiplication of the precision measured: bfloat16 for
    mixed_bfloat16), the peak memory, and the exported generator's
    sampling throughput. With --profile, the op types that take a step's time (TensorFlow's profiler;
    self time summed over threads, per step, and its share of all busy time). With --plain, the same
    model without kgen's optimisations, for comparison.

    \b
    Example:
      kgen bench --model gan --arch dcgan --batch-size 128 --json
      kgen bench --model gan --arch dcgan --no-sampling --profile 10
      kgen bench --model vae --image-size 32 --channels 3 --no-sampling
    """
    import keras

    from kgen.bench.flops import training_flops_per_image
    from kgen.bench.throughput import (compute_dtype, matmul_peak, peak_memory_mb, profile_training,
                                       savedmodel_sampling_throughput, training_throughput, use_keras_adam,
                                       use_plain_dropout_masks)
    from kgen.export import export_model
    from kgen.hardware import resolve_precision
    from kgen.run.config import RunConfig
    from kgen.training.fit import build_model

    if arch and not model_name:
        raise click.UsageError("--arch needs --model.")
    if arch and arch not in MODELS[model_name]:
        raise click.UsageError(f"--arch {arch} does not apply to {model_name}: expected one of "
                               f"{', '.join(MODELS[model_name])}.")
    targets = [(model_name, arch)] if arch else [(m, a) for m in ([model_name] if model_name else MODELS)
                                                 for a in MODELS[m]]

    def emit(record):
        click.echo(json.dumps(record) if as_json else _line(record))

    choice = resolve_precision(precision)
    dtype = compute_dtype(choice.precision)
    peak = matmul_peak(PEAK_MATRIX, dtype=dtype)  # the peak of the precision measured
    emit({"measure": "matmul_peak", "gflop_per_s": round(peak, 1), "matrix": PEAK_MATRIX, "dtype": dtype,
          "precision": choice.precision, "why": choice.reason})
    for name, architecture in targets:
        keras.utils.set_random_seed(0)
        config = RunConfig(model=name, arch=architecture, batch_size=batch_size, precision=choice.precision,
                           jit_compile=jit_compile)
        model = build_model(config, (image_size, image_size, int(channels)))
        if plain:
            use_plain_dropout_masks(model)
            use_keras_adam(model)
        speed = training_throughput(model, batch_size, steps, repeats, use_fit=plain, min_seconds=min_seconds)
        flops = training_flops_per_image(model) * batch_size
        achieved = flops / (speed["ms_per_step"] / 1000) / 1e9
        emit({"measure": "training", "model": f"{name}/{architecture}", "batch": batch_size,
              "image_shape": [image_size, image_size, int(channels)],
              "precision": choice.precision,
              "jit": jit_compile, "plain": plain, "images_per_s": round(speed["images_per_s"], 1),
              "ms_per_step": round(speed["ms_per_step"], 1), "gflop_per_step": round(flops / 1e9, 2),
              "gflop_per_s": round(achieved, 1), "share_of_peak": round(achieved / peak, 3),
              "peak_memory_mb": round(peak_memory_mb()), "steps": speed["steps"], "repeats": repeats})
        if profile_steps:
            for row in profile_training(model, batch_size, profile_steps)[:PROFILE_ROWS]:
                emit({"measure": "profile", "model": f"{name}/{architecture}", "op_type": row["op_type"],
                      "ms_per_step": round(row["ms_per_step"], 1), "share": round(row["share"], 3)})
        if sampling:
            with tempfile.TemporaryDirectory() as directory:
                version_dir = export_model(model, directory, name="bench")
                for result in savedmodel_sampling_throughput(version_dir):
                    emit({"measure": "sampling", "model": f"{name}/{architecture}", "batch": result["batch"],
                          "images_per_s": round(result["images_per_s"], 1),
                          "ms_per_call": round(result["ms_per_call"], 2)})


def _line(record):
    """A measurement as one readable line."""
    kind = record.pop("measure")
    return f"{kind:<12} " + "  ".join(f"{k}={v}" for k, v in record.items())
