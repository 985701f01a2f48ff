"""The one exception type of the package."""
from __future__ import annotations

from workbench.errors import WorkbenchError


class TrainError(WorkbenchError):
    """Bad input to training or evaluation (missing data, bad preset, bad weights); the message says which.

    ``option`` names the setting at fault (a :class:`train.config.TrainConfig` field such as
    ``lr``) when there is one, so the command line can say ``error: --lr: <problem>``.
    """

    def __init__(self, problem: str, option: str | None = None):
        super().__init__(f"--{option.replace('_', '-')}: {problem}" if option else problem)
        self.option, self.problem = option, problem
