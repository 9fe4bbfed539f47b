"""Comparison studies: :mod:`.study` (plan, training and evaluating every model × seed, resumable) and
:mod:`.report` (tables and figures as Markdown and HTML)."""

# The five models of the reference comparisons, with kgen's default networks (no imports here: the CLI reads
# it before TensorFlow loads).
DEFAULT_MODELS = "gan:mlp,gan:dcgan,vae:mlp,vae:dcgan,vaegan:dcgan"
