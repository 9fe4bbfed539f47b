"""Evaluation: metric math on feature arrays (:mod:`.metrics`, :mod:`.likelihood`), feature
extractors (:mod:`.classifier`, :mod:`.inception`) and evaluating a model (:mod:`.evaluate`)."""
