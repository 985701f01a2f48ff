"""The one exception type of the package."""
from __future__ import annotations

from workbench.errors import WorkbenchError


class PipelineError(WorkbenchError):
    """Bad input to a pipeline step (file, shape, variable or parameter); the message says which."""
