"""The one exception type of the package."""


class MatFileError(ValueError):
    """A MAT-file is malformed or cannot be represented; the message names the file and offset."""
