"""The encryptions of the information study, each a scheme with its key under a label: from a run
list (``vor:params=vor_params_mnist_result.mat``, ``etc:block-size=7``) or from a study's ``encryptions`` entries, with fresh vortex
parameters drawn where an entry asks (``draw``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from matlab_compat.rng import rng
from workbench.data.datasets import DatasetSpec
from workbench.data.matfiles import write_mat
from pipeline.encrypt.etc_key import SECRET_ENV
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme, field_of, spelled
from pipeline.encrypt.vortex_params import new_vor_params
from pipeline.errors import PipelineError
from pipeline.evaluate.information import default_label
from pipeline.evaluate.study_definition import StudyDefinition

#: The secret of the study's secret-keyed runs when no key is given: public on purpose (an
#: experiment seed, not a secret), so that anyone can rerun the same keys.
PUBLIC_EXPERIMENT_SECRET = b"vortex-port information report, public key"
#: The default run list: ``scheme[:option=value,...]``, key options spelled as in params and study entries.
DEFAULT_RUNS = {
    "mnist": ("vor:params=vor_params_mnist_result.mat", "random", "etc:block-size=7",
              "vor:params=vor_params_mnist_sensitivity1.mat", "vor:params=vor_params_mnist_sensitivity2.mat",
              "vor:params=vor_params_mnist_sensitivity3.mat", "etc:block-size=4", "block:block-size=7"),
}


@dataclass(frozen=True, eq=False)
class StudyRun:
    """One encryption of the study: a scheme with its key, under the label its results carry."""

    label: str
    scheme: Scheme
    key: object


def parse_run(run: str, spec: DatasetSpec, data_dir: Path, key_file: Optional[Path]) -> StudyRun:
    """``scheme[:option=value,...]`` (``random``, ``etc:block-size=7``, ``vor:params=vor_params_mnist_result.mat``)
    -> a StudyRun; the options are a study entry's (:func:`study_encryptions`), spelled the same way.

    Secret-keyed schemes use ``key_file`` or ``$VORTEX_SECRET``, else the study's public
    experiment secret; ``random`` uses MATLAB's default stream (key seed 0)."""
    name, _, rest = run.partition(":")
    entry: dict = {"scheme": name}
    for part in filter(None, rest.split(",")):
        option, equals, value = part.partition("=")
        if not equals or not value:
            raise PipelineError(f"--run {run!r}: give options as option=value, e.g. etc:block-size=7")
        entry[option] = int(value) if value.isdigit() else value
    scheme, given, draw = _check_entry(f"--run {run!r}", entry)
    if "params" in given:
        given["params"] = Path(data_dir) / spec.name / "params" / str(given["params"])
    if key_file is not None and "key_file" in scheme.options:
        given["key_file"] = key_file
    elif os.environ.get(SECRET_ENV):
        given["secret"] = None
    return study_run(scheme, spec, data_dir, given)


def study_run(scheme: Scheme, spec: DatasetSpec, data_dir: Path, given: dict, label: Optional[str] = None) -> StudyRun:
    """The key of ``scheme`` from the ``given`` key options, with the study's defaults for the rest.

    A secret-keyed scheme without a key file (or an explicit ``secret: None``, meaning
    ``$VORTEX_SECRET``) gets the public experiment secret; per-image draws use MATLAB's
    default stream (seed 0): the study encrypts its own copies."""
    given = dict(given)
    if "key_file" in scheme.options and "key_file" not in given:
        given.setdefault("secret", PUBLIC_EXPERIMENT_SECRET)
    if "key_seed" in scheme.options:
        given.setdefault("key_seed", 0)
    options = KeyOptions(data_dir=Path(data_dir), **{k: v for k, v in given.items() if v is not None})
    key = scheme.key(spec, options)
    return StudyRun(label or default_label(scheme, spec, options, scheme.record(key)), scheme, key)


def study_encryptions(study: StudyDefinition, spec: DatasetSpec, data_dir: Path, draw_dir: Path) -> list[StudyRun]:
    """The study's encryptions with their keys. Key options are those the scheme reads (its ``options``,
    spelled ``block-size``; ``params`` a file name in data/<dataset>/params/); ``draw: {key-seed, vortices,
    scale}`` draws fresh parameters with :func:`new_vor_params` on ``rng(key-seed)`` into ``draw_dir``
    (schemes reading ``params``).
    Every entry is checked before the first draw is written."""
    checked = {label: _check_entry(f"study.{study.name}.encryptions.{label}", entry) for label, entry in study.encryptions.items()}
    runs = []
    for label, (scheme, given, draw) in checked.items():
        where = f"study.{study.name}.encryptions.{label}"
        if "params" in given:
            given["params"] = Path(data_dir) / spec.name / "params" / str(given["params"])
        if draw is not None:
            given["params"], given["vortices"] = draw_params(draw, spec, draw_dir, where)
        try:
            runs.append(study_run(scheme, spec, data_dir, given, label=str(label)))
        except (PipelineError, TypeError) as err:
            raise PipelineError(f"{where}: {err}") from None
    return runs


def _check_entry(where: str, entry: dict) -> tuple[Scheme, dict, Optional[dict]]:
    """(scheme, key options by field name, draw) of one encryption entry, or an error naming it.

    Key options are spelled as params files and the command line spell them (``block-size``)."""
    try:
        scheme = SCHEMES.get(str(entry["scheme"]))
    except PipelineError as err:
        raise PipelineError(f"{where}: {err}") from None
    allowed = {spelled(o) for o in scheme.options} - {"key-file"} | ({"draw"} if "params" in scheme.options else set())
    extra = set(entry) - allowed - {"scheme"}
    if extra:
        raise PipelineError(f"{where}: {scheme.name} takes {', '.join(sorted(allowed)) or 'no options'}, not {', '.join(sorted(extra))}")
    draw = entry.get("draw")
    if draw is not None:
        if "params" in entry:
            raise PipelineError(f"{where}: give params or draw, not both")
        if not isinstance(draw, dict) or set(draw) != {"key-seed", "vortices", "scale"} or not (
                isinstance(draw["key-seed"], int) and draw["key-seed"] >= 0 and isinstance(draw["vortices"], int)
                and 1 <= draw["vortices"] <= 100 and isinstance(draw["scale"], (int, float)) and draw["scale"] > 0):
            raise PipelineError(f"{where}.draw: give key-seed >= 0, vortices 1..100 (integers) and scale > 0, got {draw!r}")
    return scheme, {field_of(k): v for k, v in entry.items() if k not in ("scheme", "draw")}, draw


def draw_params(draw: dict, spec: DatasetSpec, folder: Path, where: str) -> tuple[Path, int]:
    """Fresh vortex parameters ``{key-seed, vortices, scale}`` (Random_Function's degree scale) written to ``folder``."""
    _check_entry(where, {"scheme": "vor", "draw": draw})
    seed, vortices, scale = draw["key-seed"], draw["vortices"], draw["scale"]
    rows = new_vor_params(vortices, spec.height, spec.width, float(scale), rng(seed))
    path = Path(folder) / f"vor_params_{spec.prefix}_draw_s{seed}_v{vortices}_x{scale:g}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = np.empty((1, len(rows)), dtype=object)  # the 1 x V cell vor_par, as the published files hold it
    cell[0, :] = [row.reshape(1, -1) for row in rows]
    write_mat(path, {"vor_par": cell})
    return path, vortices
