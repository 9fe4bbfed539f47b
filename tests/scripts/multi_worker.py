"""One worker of a two-worker run on 127.0.0.1 (TF_CONFIG set by the caller): kgen.fit_run with
--strategy multi_worker, then this script (not kgen) saves the final weights for comparison.

Usage: multi_worker.py DATA RUN_DIR MODEL ARCH WEIGHTS_OUT
"""

import sys

import numpy as np

from kgen.run.config import RunConfig
from kgen.training.fit import fit_run as fit

data, run_dir, model, arch, out = sys.argv[1:6]
result = fit(RunConfig(model=model, arch=arch, data=data, width=4, latent_dim=4, batch_size=8, epochs=1,
                       strategy="multi_worker", run_dir=run_dir, metrics_every=0, grid_size=4,
                       checkpoint_every="3"), verbose=0)
np.savez(out, *[v.numpy() for v in result.model.trainable_variables])
