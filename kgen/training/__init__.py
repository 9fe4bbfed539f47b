"""Training a run: what ``kgen fit`` does (:mod:`.fit`), the training loop (:mod:`.loop`), its callbacks,
training-state checkpoints, signal handling and the placement on devices (:mod:`.distribute`)."""
