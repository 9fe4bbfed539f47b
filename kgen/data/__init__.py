"""kgen's data layer: data specs (dataset names, IDX directories, image folders, array files) →
tf.data pipelines of images scaled to a model's range."""

from kgen.data.errors import DataError, NoSplitError
from kgen.data.pipeline import DataInfo, EpochPipeline, load_dataset, load_epochs
from kgen.data.sources import DATASET_NAMES, RawData, resolve

__all__ = ["DATASET_NAMES", "DataError", "NoSplitError", "DataInfo", "EpochPipeline", "RawData", "load_dataset",
           "load_epochs", "resolve"]
