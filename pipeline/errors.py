"""The one exception type of the package."""


class PipelineError(ValueError):
    """Bad input to a pipeline step (file, shape, variable or parameter); the message says which."""
