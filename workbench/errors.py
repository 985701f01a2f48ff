"""The one exception base of the project: each package raises one subclass of it."""
from __future__ import annotations


class WorkbenchError(ValueError):
    """Bad input (file, shape, variable or option); the message says which. Raised as is by the base
    package (the dataset layer, the path checks); ``pipeline`` and ``train`` raise their own subclass."""
