"""``python -m pipeline.compress``: file sizes of plain and encrypted images under JPEG and lossless
codecs, for every scheme (the EtC paper's Table IV), with PSNR after decryption.

    python -m pipeline.compress --dataset cifar10 --data-dir data --out results/compress
    python -m pipeline.compress --dataset fashion --public-secret --scheme etc --scheme ele --block-size 7

Reads the plain splits (as the encrypt stage does), encrypts them in memory with each scheme
(default: every registered one) and writes ``<out>/<dataset>.json`` and ``<out>/<dataset>.md``.
Secret-keyed schemes take the secret of ``--key-file`` / ``$VORTEX_SECRET``, or with
``--public-secret`` a published one (compressibility does not depend on which key; the report
says which was used). Without ``--scheme``, a scheme whose key cannot be made here (e.g. no
vortex parameter file) is left out with the reason in the report.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import PIL
import typer

from matlab_compat import atomic_output
from workbench.cli import meaning, run, typer_app
from workbench.paths import check_input, check_writable
from workbench.data.codecs import (
    SUBSAMPLINGS,
    available_lossless,
    check_quality,
    check_subsampling,
)
from workbench.data.datasets import SPLITS, dataset_spec, pictures_from_rows
from workbench.data.layouts import default_input, read_origin
from pipeline.encrypt.options import (
    DATA_DIR,
    DATASET,
    DatasetName,
    SchemeName,
    flag,
    with_key_options,
)
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.errors import PipelineError
from pipeline.evaluate.compress import PUBLIC_SECRET, compressibility, markdown_table

app = typer_app(__doc__)


@app.command()
@with_key_options
def main(
    dataset: DatasetName = DATASET,
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(Path("results/compress"), "--out", help=meaning("--out", "the folder of <dataset>.json and <dataset>.md")),
    quality: list[int] = typer.Option([85, 80], "--quality", help="JPEG quality; repeat for several"),
    subsampling: str = typer.Option("4:4:4", "--subsampling", help=f"JPEG chroma subsampling: {' or '.join(SUBSAMPLINGS)} (4:4:4 reproduces the EtC paper's Table IV)"),
    scheme: Optional[list[SchemeName]] = typer.Option(None, "--scheme", help=meaning("--scheme", "one to measure; repeat [default: every registered one]")),
    public_secret: bool = typer.Option(False, "--public-secret", help="key the secret-keyed schemes with a published study secret"),
    key_given: dict = None,
) -> None:
    """Compress the plain and encrypted images of DATASET with every codec; write the Table IV report."""
    out = check_writable(out, folder=True)
    spec = dataset_spec(dataset, data_dir)
    for q in quality:
        check_quality(q, "--quality")
    check_subsampling(subsampling)
    chosen = [SCHEMES.get(s) for s in scheme] if scheme else list(SCHEMES.values())
    for name, value in key_given.items():  # an option no measured scheme reads would be silently ignored
        option = flag(name)
        if value is not None and not any(name in s.options for s in chosen):
            raise PipelineError(f"{option}: none of the measured schemes ({', '.join(s.name for s in chosen)}) takes it")
        if value is not None and name == "key_file" and public_secret:
            raise PipelineError(f"{option}: --public-secret keys the secret-keyed schemes instead; give one of them")
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    check_input(key_given["params"], "--params")
    check_input(key_given["key_file"], "--key-file")
    options = KeyOptions(data_dir=data_dir, secret=PUBLIC_SECRET if public_secret else None, **key_given)
    keyed, skipped = [], {}
    for s in chosen:
        try:
            keyed.append((s, s.key(spec, options)))
        except PipelineError as err:
            if scheme:  # asked for by name: its key must be made
                raise
            skipped[s.name] = str(err)
    plain = {split: pictures_from_rows(rows, spec) for split, (rows, _) in read_origin(spec, default_input(spec, data_dir)).items()}
    lossless = available_lossless()
    clock = time.perf_counter()
    rows = compressibility(plain, keyed, quality, lossless, subsampling, progress=lambda name: typer.echo(f"measuring {name}", err=True))
    images = sum(len(plain[s]) for s in SPLITS)
    uncompressed = sum(plain[s].size for s in SPLITS)
    secret = "public study secret (--public-secret)" if public_secret else "user's secret (--key-file / $VORTEX_SECRET)"
    report = {
        "dataset": spec.name, "images": images, "uncompressed_bytes": int(uncompressed),
        "codecs": {"library": f"Pillow {PIL.__version__}", "jpeg": {"qualities": quality, "subsampling": subsampling, "optimize": False},
                   "lossless": lossless},
        "secret": secret, "psnr": "dataset-wide MSE of decrypt(JPEG(encrypted)) vs plain; plain: JPEG(plain) vs plain",
        "rows": rows, "skipped": skipped, "seconds": round(time.perf_counter() - clock, 1),
    }
    note = f"JPEG chroma subsampling {subsampling}. Secret-keyed schemes use the {secret}." + "".join(f" Left out: {n} ({why})." for n, why in skipped.items())
    table = markdown_table(spec.name, images, uncompressed, rows, note)
    with atomic_output(out / f"{spec.name}.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    with atomic_output(out / f"{spec.name}.md") as tmp:
        tmp.write_text(table)
    typer.echo(table)


if __name__ == "__main__":
    run(app)
