"""Run a command as ``python -m`` would, in-process: exit code, stdout and stderr (for CLI tests).

The commands' one error path (:func:`workbench.cli.run`) turns known errors into one line on
stderr and exit code 1; this runs it exactly so, without a subprocess.
"""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Callable, Sequence

import typer

from workbench.cli import run


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(command: typer.Typer | Callable[[list[str]], None], args: Sequence[str]) -> Result:
    """Run a Typer app (through :func:`workbench.cli.run`) or a ``main(argv)`` with ``args``."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            if isinstance(command, typer.Typer):
                run(command, argv=[str(a) for a in args])
            else:
                command([str(a) for a in args])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return Result(code, out.getvalue(), err.getvalue())
