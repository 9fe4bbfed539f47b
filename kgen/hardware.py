"""What this machine computes fast, and the precision ``--precision auto`` picks from it.

* TPUs and GPUs of compute capability ≥ 8.0 have bfloat16 units: ``mixed_bfloat16``.
* Older GPUs have float16 units only: ``mixed_float16`` (with loss scaling).
* CPUs with AVX512-BF16 or AMX-BF16 instructions run bfloat16 matrix products through oneDNN:
  ``mixed_bfloat16`` when :data:`CPU_BFLOAT16` is on (see its comment for the measurement behind it).
* Anything else: ``float32``.

float16 on a CPU is refused (:func:`check_precision`): TensorFlow runs it through slow fallback kernels
there (a GAN step of batch 64 did not finish in 15 minutes on an AVX-512 CPU).
"""

from __future__ import annotations

import dataclasses
import os

from kgen.names import PRECISIONS

CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# Whether `auto` uses bfloat16 on CPUs that have bfloat16 instructions. On for measured reasons: at equal
# training time, bfloat16 reached at least float32's quality on every default model (docs/quality.md).
CPU_BFLOAT16 = True


class PrecisionError(ValueError):
    """A precision this machine cannot run well; the message names the better choice."""


@dataclasses.dataclass(frozen=True)
class Choice:
    """A resolved precision: the Keras dtype policy and why it was chosen."""

    precision: str
    reason: str


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (Linux ``/proc/cpuinfo``); an empty set where that file does not exist."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_bf16_flags(flags=None):
    """The bfloat16 instruction sets among the CPU's flags (e.g. ``["avx512_bf16"]``)."""
    flags = cpu_flags() if flags is None else flags
    return [f for f in CPU_BF16_FLAGS if f in flags]


def machine_description(flags=None):
    """This machine's processor and the instruction sets that change floating-point results (e.g.
    ``"x86_64 AMD EPYC; avx2 avx512f avx512_bf16"``): what a bit-for-bit reproduction depends on."""
    import platform

    flags = cpu_flags() if flags is None else flags
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    sets = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{platform.machine()} {model}; {' '.join(sets)}".strip()


def gpu_compute_capabilities():
    """The compute capability ``(major, minor)`` of each GPU TensorFlow sees (``[]`` without GPUs)."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        found.append(tuple(details.get("compute_capability", (0, 0))))
    return found


def auto_precision(flags=None, gpus=None, tpu=None):
    """The precision ``--precision auto`` picks on this machine, and why.

    Args:
        flags: CPU flags (default: :func:`cpu_flags`).
        gpus: GPU compute capabilities (default: :func:`gpu_compute_capabilities`).
        tpu: whether a TPU is used (default: ``TPU_NAME`` is set).

    Returns:
        A :class:`Choice`.
    """
    tpu = bool(os.environ.get("TPU_NAME")) if tpu is None else tpu
    if tpu:
        return Choice("mixed_bfloat16", "auto: TPUs compute in bfloat16")
    gpus = gpu_compute_capabilities() if gpus is None else gpus
    if gpus:
        if min(gpus) >= (8, 0):
            return Choice("mixed_bfloat16", "auto: the GPUs have bfloat16 units (compute capability ≥ 8.0)")
        return Choice("mixed_float16", "auto: GPUs of compute capability < 8.0 have float16 units, not bfloat16")
    bf16 = cpu_bf16_flags(flags)
    if bf16 and CPU_BFLOAT16:
        return Choice("mixed_bfloat16", f"auto: this CPU has bfloat16 instructions ({', '.join(bf16)})")
    if bf16:
        return Choice("float32", "auto: bfloat16 is not used on CPUs by default")
    return Choice("float32", "auto: this CPU has no bfloat16 instructions (no AVX512-BF16 or AMX)")


def resolve_precision(name, flags=None, gpus=None, tpu=None):
    """``name`` as a Keras dtype policy: ``auto`` becomes :func:`auto_precision`; others are checked by
    :func:`check_precision`.

    Returns:
        A :class:`Choice`.

    Raises:
        PrecisionError: unknown name, or float16 without a GPU.
    """
    if name not in PRECISIONS:
        raise PrecisionError(f"Unknown precision {name!r}: expected one of {', '.join(PRECISIONS)}.")
    if name == "auto":
        return auto_precision(flags, gpus, tpu)
    check_precision(name, flags, gpus)
    return Choice(name, "asked for")


def check_precision(name, flags=None, gpus=None):
    """Refuse ``mixed_float16`` on a machine without GPUs: TensorFlow has no fast float16 kernels for
    CPUs, and a single step can take minutes.

    Raises:
        PrecisionError: float16 without a GPU; the message names the better choice.
    """
    if name != "mixed_float16":
        return
    gpus = gpu_compute_capabilities() if gpus is None else gpus
    if gpus:
        return
    bf16 = cpu_bf16_flags(flags)
    better = (f"--precision mixed_bfloat16 (this CPU has {', '.join(bf16)})" if bf16
              else "--precision float32 (this CPU has no bfloat16 instructions either)")
    raise PrecisionError(f"--precision mixed_float16 needs a GPU: on a CPU TensorFlow runs float16 through slow "
                         f"fallback kernels (one step can take minutes). Use {better}, or auto.")
