"""A run and its directory: the run settings (:mod:`.config`), the run record (:mod:`.record`), where each file
of a run dir lives and how a trained model is found and loaded (:mod:`.layout`), one writer per run or study
(:mod:`.locks`), and the files read from or written beside a run (samples, TensorBoard logs)."""
