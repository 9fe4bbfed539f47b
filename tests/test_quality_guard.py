"""The quality guard of the default suite: the default GAN trained for 700 steps on real data (Debian's
Fashion-MNIST, installed by scripts/setup.sh), scored by the pinned evaluator. A change that breaks
training — a loss, a learning rate, the generator average, the data's scaling — makes its samples worse
and fails CI here.

The bound comes from measurements (docs/evaluation.md, "The quality guard"): the classifier FID of
2,000 samples after these 700 steps, seeds 0–2, and of the same run with the generator's learning rate
at 0, with a wide margin between them. Steps, not minutes: a slower machine takes longer, not worse.
"""

import os

from kgen.evaluation.classifier import find_evaluator
from kgen.evaluation.protocol import evaluate
from kgen.run.config import RunConfig
from kgen.training.fit import fit_run

FASHION = "/usr/share/datasets/fashion-mnist"
STEPS_SETTINGS = dict(limit=12_800, batch_size=128, epochs=7)  # 100 steps per epoch, 700 in all
FID_BOUND = 900.0  # seeds 0–2: 424, 479, 428; learning rate 0: 1467 (2026-12-02, docs/evaluation.md)


def guard_fid(run_dir, seed=0, **changes):
    """Train the default GAN for 700 steps on Fashion-MNIST and return the classifier FID of 2,000 samples."""
    config = RunConfig(model="gan", data="fashion_mnist", run_dir=str(run_dir), seed=seed, metrics_every=0,
                       validate=False, checkpoint_every="0", **STEPS_SETTINGS, **changes)
    model = fit_run(config, verbose=0).model
    report = evaluate(model, "fashion_mnist", metrics="fid", n=2000, extractor=find_evaluator("fashion_mnist"),
                      autoencoder_n=0, replicates=0)
    return report["metrics"]["fid"]["value"]


def test_the_default_gan_learns_fashion_mnist_in_700_steps(tmp_path):
    assert os.path.isdir(FASHION), f"{FASHION} is missing: run scripts/setup.sh (apt-get install dataset-fashion-mnist)"
    fid = guard_fid(tmp_path / "run")
    print(f"quality guard: classifier FID after 700 steps = {fid:.1f} (bound {FID_BOUND})")
    assert fid < FID_BOUND, f"the default GAN's classifier FID after 700 steps is {fid:.1f}, above {FID_BOUND}"


if __name__ == "__main__":  # the measurements behind FID_BOUND: python tests/test_quality_guard.py
    import sys
    import tempfile

    for seed in range(3):
        print("seed", seed, guard_fid(tempfile.mkdtemp(), seed=seed), flush=True)
    print("learning rate 0:", guard_fid(tempfile.mkdtemp(), learning_rate=1e-12), flush=True)
    sys.exit(0)
