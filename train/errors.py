"""The one exception type of the package."""


class TrainError(ValueError):
    """Bad input to training or evaluation (missing data, bad preset, bad weights); the message says which."""
