"""The quality guard: the default GAN trained on real data (Debian's Fashion-MNIST, installed by
scripts/setup.sh), scored by the pinned evaluator. A change that breaks training — a loss, a learning
rate, the generator average, the data's scaling — makes its samples worse and fails here.

Two guards, whose bounds come from measurements (docs/evaluation.md, "The quality guard"): the classifier
FID of 2,000 samples, seeds 0–2, and of the same run with both learning rates at 1e-12 (noise), with a wide
margin between them. Steps, not minutes: a slower machine takes longer, not worse.

- The default suite's guard trains 300 steps at 4× the default GAN's learning rate: it leaves the initial
  plateau in fewer steps (at the default rate the first 300 steps are still noise), so it trains 3/7 of the
  slow guard's steps. The rate is a multiple of the model's default, so a default broken to a rate that
  cannot learn fails it too.
- The slow guard trains 700 steps with every default as it is, the learning rate's value included.
"""

import os

import pytest

from kgen.evaluation.classifier import find_evaluator
from kgen.evaluation.protocol import evaluate
from kgen.models.registry import model_class
from kgen.run.config import RunConfig
from kgen.training.fit import fit_run

FASHION = "/usr/share/datasets/fashion-mnist"
STEPS_PER_EPOCH = dict(limit=12_800, batch_size=128)  # 100 steps per epoch
FAST_EPOCHS, FAST_RATE_FACTOR = 3, 4  # 300 steps at 4× the default learning rate
DEFAULT_EPOCHS = 7  # 700 steps with every default
# Seeds 0–2, fast guard: 328, 282, 302 (2026-12-03); 700-step guard: 424, 479, 428 (2026-12-02); both learning
# rates at 1e-12 (noise): 1467 for both (docs/evaluation.md).
FID_BOUND = 900.0


def guard_fid(run_dir, epochs, seed=0, **changes):
    """Train the default GAN for ``epochs`` × 100 steps on Fashion-MNIST (``changes``: other settings) and
    return the classifier FID of 2,000 samples."""
    assert os.path.isdir(FASHION), f"{FASHION} is missing: run scripts/setup.sh (apt-get install dataset-fashion-mnist)"
    config = RunConfig(model="gan", data="fashion_mnist", run_dir=str(run_dir), seed=seed, metrics_every=0,
                       validate=False, checkpoint_every="0", epochs=epochs, **STEPS_PER_EPOCH, **changes)
    model = fit_run(config, verbose=0).model
    report = evaluate(model, "fashion_mnist", metrics="fid", n=2000, extractor=find_evaluator("fashion_mnist"),
                      autoencoder_n=0, replicates=0)
    return report["metrics"]["fid"]["value"]


def fast_guard_fid(run_dir, seed=0):
    """:func:`guard_fid` of the default suite's guard: 300 steps at 4× the default learning rate."""
    rate = FAST_RATE_FACTOR * model_class("gan").default_learning_rate
    return guard_fid(run_dir, FAST_EPOCHS, seed=seed, learning_rate=rate)


def test_the_default_gan_learns_fashion_mnist_in_300_steps_at_4x_its_learning_rate(tmp_path):
    fid = fast_guard_fid(tmp_path / "run")
    print(f"quality guard: classifier FID after 300 steps at 4x the learning rate = {fid:.1f} (bound {FID_BOUND})")
    assert fid < FID_BOUND, (f"the default GAN's classifier FID after 300 steps at 4x its learning rate is "
                             f"{fid:.1f}, above {FID_BOUND}")


@pytest.mark.slow
def test_the_default_gan_learns_fashion_mnist_in_700_steps(tmp_path):
    fid = guard_fid(tmp_path / "run", DEFAULT_EPOCHS)
    print(f"quality guard: classifier FID after 700 steps = {fid:.1f} (bound {FID_BOUND})")
    assert fid < FID_BOUND, f"the default GAN's classifier FID after 700 steps is {fid:.1f}, above {FID_BOUND}"


if __name__ == "__main__":  # the measurements behind the bounds: python tests/test_quality_guard.py [fast|default]
    import sys
    import tempfile

    fast = (sys.argv[1:] or ["fast"])[0] == "fast"
    epochs = FAST_EPOCHS if fast else DEFAULT_EPOCHS
    for seed in range(3):
        fid = fast_guard_fid(tempfile.mkdtemp(), seed) if fast else guard_fid(tempfile.mkdtemp(), epochs, seed)
        print("seed", seed, fid, flush=True)
    print("both learning rates at 1e-12:", guard_fid(tempfile.mkdtemp(), epochs, learning_rate=1e-12), flush=True)
    sys.exit(0)
