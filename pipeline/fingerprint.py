"""``python -m pipeline.fingerprint``: the keyed fingerprint of the private secret (``--key-file`` or
``$VORTEX_SECRET``), never the secret.

    VORTEX_SECRET=... python -m pipeline.fingerprint --out .private/fashion-etc.fingerprint

DVC's ``fingerprint`` stage runs it on every ``dvc repro`` (``always_changed``) for each private
encryption of a profile; the file it writes is a declared dependency of that encryption alone, so a
changed secret re-runs exactly the stages it affects, and an unchanged one nothing (README, "Private keys").
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli import meaning, run, typer_app
from workbench.outputs import atomic_output
from workbench.paths import check_input, check_writable
from pipeline.encrypt.etc_key import read_secret
from pipeline.encrypt.options import KEY_FILE
from pipeline.encrypt.secret import secret_fingerprint

app = typer_app(__doc__)


@app.command()
def main(
    key_file: Optional[Path] = KEY_FILE,
    out: Path = typer.Option(..., "--out", help=meaning("--out", "the file the fingerprint (16 hex digits) is written to")),
) -> None:
    """Write the keyed fingerprint of the private secret to OUT."""
    check_input(key_file, "--key-file")
    check_writable(out, folder=False)
    fingerprint = secret_fingerprint(read_secret(key_file))
    with atomic_output(out) as tmp:
        tmp.write_text(fingerprint + "\n")
    typer.echo(f"wrote {out}: {fingerprint}")


if __name__ == "__main__":
    run(app)
