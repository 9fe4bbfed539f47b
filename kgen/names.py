"""Every list of names a user types, in one place, importable without TensorFlow (the CLI's choices
and ``--help`` come from here before TensorFlow loads; the library checks its registries against them).

``tests/test_names.py`` keeps the registries that hold the objects (``kgen.models.registry.MODELS``,
``kgen.models.losses.GAN_LOSSES``, the models' ``archs``, …) in step with these lists.
"""

MODELS = ("gan", "vae", "vaegan")
# Architectures of kgen.models.networks; each model takes some (its first is its default).
DCGAN, MLP, PAPER_DCGAN, PAPER_MLP = "dcgan", "mlp", "paper-dcgan", "paper-mlp"
ARCHS = (DCGAN, MLP, PAPER_DCGAN, PAPER_MLP)
MODEL_ARCHS = {"gan": ARCHS, "vae": ARCHS, "vaegan": (DCGAN, PAPER_DCGAN)}
# The networks' layer-size multiplier (--width) at which they have the reference papers' sizes: the default.
REFERENCE_WIDTH = 32
# Names of kgen 0.1, whose saved models carry no networks version: they meant the reference paper's networks.
LEGACY_ARCHS = {"dcgan": PAPER_DCGAN, "conv": PAPER_DCGAN, "mlp": PAPER_MLP}
# DiffAugment transformations (kgen.models.augment.TRANSFORMS), comma-separated in --augment.
AUGMENTATIONS = ("brightness", "contrast", "translation", "cutout")
GAN_LOSSES = ("non-saturating", "minimax", "least-squares", "hinge", "wgan-gp")
RECONSTRUCTION_LOSSES = ("bce", "mse")
OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
ON_NAN = ("stop", "rollback")
FEATURE_METRICS = ("fid", "is", "kid", "pr")  # computed from an extractor's features
METRICS = FEATURE_METRICS + ("sharpness", "classes")  # the others: from pixels and from class decisions
# The values a report holds for those metrics ("pr" gives two; "classes" gives the classes covered and the class
# imbalance, with the evaluator classifier only: kgen.evaluation.image_statistics).
REPORTED_METRICS = ("fid", "is", "kid", "precision", "recall", "sharpness", "classes_covered", "class_tv")
EXTRACTORS = ("classifier", "inception")
