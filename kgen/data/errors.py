"""The exception kgen's data layer raises for bad or missing data."""


class DataError(ValueError):
    """A data spec that cannot be turned into images: missing, empty, corrupt or malformed.

    The message names the file or directory and says what was expected and what was found.
    """


class NoSplitError(DataError):
    """The source exists and is readable but has no such split (e.g. an image folder has no test
    split); training can go on without validation."""
