"""CLI: see :mod:`pipeline.evaluate.jpeg`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Optional
import numpy as np
import PIL
import typer
from matlab_compat import atomic_output
from pipeline.data.datasets import SPLITS, dataset_spec, rows_from_pictures, variant_files
from pipeline.errors import PipelineError
from pipeline.etc import VARIANT, key_variables, read_key_record, write_split
from pipeline.encrypt.etc_key import derive_key, read_secret
from pipeline.evaluate.jpeg import compare, jpeg_variant, load_both, markdown_table

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    quality: list[int] = typer.Option([85, 80], help="JPEG quality; repeat for several"),
    key_file: Optional[Path] = typer.Option(None, help="file holding the EtC secret; else $VORTEX_ETC_SECRET"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder (reads <dataset>/origin and <dataset>/etc)"),
    results_dir: Path = typer.Option(Path("results/jpeg"), help="where <dataset>.json and <dataset>.md go"),
    write_dataset: bool = typer.Option(False, help="also write data/<dataset>/originq<Q> and etcq<Q>"),
) -> None:
    """JPEG-compress plain and EtC images of DATASET (train + test) and report sizes and PSNR."""
    try:
        spec = dataset_spec(dataset)
        _, block = read_key_record(data_dir / spec.name / variant_files(spec.name, VARIANT)["test"].path)
        key = derive_key(read_secret(key_file), (spec.height, spec.width, spec.channels), block)
        plain, encrypted, labels = load_both(data_dir, spec.name, key)
        train_count = len(plain["train"])
        plain_all = np.concatenate([plain[s] for s in SPLITS])
        results, decoded = compare(plain_all, np.concatenate([encrypted[s] for s in SPLITS]), key, list(quality), progress=True)
        report = {
            "dataset": spec.name,
            "images": len(plain_all),
            "uncompressed_bytes": int(plain_all.size),
            "block_size": key.block_size,
            "key_fingerprint": key.fingerprint,
            "jpeg": {"library": f"Pillow {PIL.__version__}", "subsampling": "4:2:0", "optimize": False},
            "psnr": "dataset-wide MSE; EtC: decrypt(JPEG(EtC)) vs plain",
            "results": [asdict(r) for r in results],
        }
        table = markdown_table(spec.name, len(plain_all), plain_all.size, results)
        with atomic_output(results_dir / f"{spec.name}.json") as tmp:
            tmp.write_text(json.dumps(report, indent=2) + "\n")
        with atomic_output(results_dir / f"{spec.name}.md") as tmp:
            tmp.write_text(table)
        if write_dataset:
            for (variant, q), pictures in decoded.items():
                files = variant_files(spec.name, jpeg_variant(variant, q))
                extra = key_variables(key) if variant == VARIANT else {}
                for split, part in zip(SPLITS, np.split(pictures, [train_count])):
                    write_split(data_dir / spec.name / files[split].path, split, rows_from_pictures(part, spec), labels[split], spec.name, extra)
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(table)


if __name__ == "__main__":
    app()
