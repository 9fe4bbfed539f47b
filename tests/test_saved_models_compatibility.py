"""Models saved by an earlier layout of kgen's modules load, sample and resume with today's code.

tests/fixtures/saved_before_wings/ holds two tiny runs (a GAN and a VAE-GAN, dcgan at width 1, one epoch on
64 random images) written by ``kgen fit`` at commit cde0753, before the root modules moved into packages,
with the first 4 samples of seed 0 that the code of that commit drew from them.
"""

import os

import numpy as np
import pytest

import kgen
from kgen.run.config import RunConfig
from kgen.training.fit import recorded_settings
from kgen.run.record import RunRecord

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "saved_before_wings")


@pytest.mark.parametrize("model", ["gan", "vaegan"])
def test_a_model_saved_before_the_move_loads_and_samples_the_same_images(model):
    run_dir = os.path.join(FIXTURES, model)
    loaded = kgen.load_model(run_dir)
    assert type(loaded).__name__ == {"gan": "GAN", "vaegan": "VAEGAN"}[model]
    expected = np.load(os.path.join(run_dir, "samples_seed0.npy"))
    # float32 sampling; the tolerance allows for another CPU's kernels, far below one uint8 level (2/255)
    np.testing.assert_allclose(loaded.sample(4, seed=0), expected, atol=1e-4)


@pytest.mark.parametrize("model", ["gan", "vaegan"])
def test_the_settings_recorded_before_the_move_are_read_as_run_settings(model):
    record = RunRecord.read(os.path.join(FIXTURES, model))
    config = RunConfig.from_dict(recorded_settings(record))
    assert (config.model, config.arch, config.width, config.latent_dim, config.batch_size) == (
        model, "dcgan", 1, 4, 32)
