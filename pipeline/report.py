"""``python -m pipeline.report``: the results table of every run, attack and information measurement found.

Writes ``results/table.md`` and ``results/table.png`` (see :mod:`pipeline.evaluate.report`).
"""
from __future__ import annotations

from pathlib import Path

import typer

from matlab_compat.atomic import atomic_output
from pipeline.evaluate.attack import summary_rows
from pipeline.evaluate.report import chart, find_runs, information_losses, markdown, security_markdown

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(runs_dir: Path = typer.Option(Path("results/runs"), help="folder of run folders (each with metrics.json)"),
         out: Path = typer.Option(Path("results"), help="where table.md and table.png go"),
         attacks_dir: Path = typer.Option(Path("results/attacks"), help="pipeline.attack results (if any)"),
         information_dir: Path = typer.Option(Path("results/information"), help="pipeline.information results (if any)"),
         ) -> None:
    """Write results/table.md and results/table.png from every run found."""
    from pipeline.attack import summary_rows
    from pipeline.errors import PipelineError

    try:
        runs = find_runs(runs_dir)
        if not runs:
            raise TrainError(f"no runs found under {runs_dir} (python -m train writes <run>/metrics.json there)")
        attacks = summary_rows(attacks_dir) if attacks_dir.is_dir() else []
        information = information_losses(information_dir) if information_dir.is_dir() else {}
    except (TrainError, PipelineError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    table = markdown(runs)
    security = security_markdown(runs, attacks, information)
    if security:
        table += "\n## Accuracy and recoverability\n\n" + security
    with atomic_output(out / "table.md") as tmp:
        tmp.write_text(table)
    with atomic_output(out / "table.png") as tmp:
        chart(runs).save(tmp, format="PNG")
    typer.echo(table)
    typer.echo(f"wrote {out / 'table.md'} and {out / 'table.png'} ({len(runs)} runs)")


if __name__ == "__main__":
    app()
