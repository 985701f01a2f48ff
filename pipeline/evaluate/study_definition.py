"""A study of information loss against accuracy loss as a params file defines it (``study.<name>``),
checked field by field before any work starts."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

import yaml

from workbench.paths import check_input
from workbench.data.datasets import dataset_spec
from pipeline.errors import PipelineError
from pipeline.evaluate.information import DistanceWeight
from train.config import TrainConfig
from train.errors import TrainError
from train.presets import get_preset

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STUDY_FIELDS = {"dataset", "seeds", "preset", "train_options", "train_images", "test_images", "information_images", "jobs",
                 "baseline", "bootstrap", "weights", "encryptions"}


@dataclass(frozen=True)
class StudyDefinition:
    """One ``study.<name>`` section of a params file (conf/profile/study.yaml documents every field)."""

    name: str
    dataset: str
    seeds: tuple[int, ...]
    preset: str
    train_options: dict
    train_images: Optional[int]
    test_images: Optional[int]
    information_images: int
    baseline: Optional[str]
    resamples: int
    bootstrap_seed: int
    weights: tuple[DistanceWeight, ...]  # the grid; the measure's default weight is always one of them
    encryptions: dict
    jobs: int = 1  # trainings at once, each on cores // jobs torch threads (small CNNs use 2 threads poorly)


def load_study(params_file: Path, name: str) -> StudyDefinition:
    """The study ``name`` of ``params_file``, checked field by field (errors name ``study.<name>.<field>``)."""
    check_input(params_file, "--params-file")  # missing, or a FIFO that would block the read
    try:
        params = yaml.safe_load(Path(params_file).read_text())
    except yaml.YAMLError as err:
        raise PipelineError(f"--params-file {params_file}: not YAML ({str(err).splitlines()[0]})") from None
    studies = params.get("study") if isinstance(params, dict) else None
    if not isinstance(studies, dict) or name not in studies:
        raise PipelineError(f"--study {name}: {params_file} has no study.{name} section (it has: {', '.join(studies or {}) or 'none'})")
    raw, where = studies[name], f"{params_file}: study.{name}"
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: must be a mapping")
    unknown = set(raw) - _STUDY_FIELDS
    if unknown:
        raise PipelineError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_STUDY_FIELDS))}")

    def count(field, default, low=1):
        value = raw.get(field, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise PipelineError(f"{where}.{field}: must be an integer >= {low}, got {value!r}")
        return value

    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or len(seeds) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise PipelineError(f"{where}.seeds: give at least 2 distinct integer seeds >= 0, got {seeds!r}")
    preset = raw.get("preset")
    try:
        get_preset(preset)
    except (TrainError, TypeError) as err:
        raise PipelineError(f"{where}.preset: {err}") from None
    train_options = raw.get("train_options") or {}
    known_train = {f.name for f in fields(TrainConfig)} - {"dataset", "scheme", "preset", "out", "seed"}
    if not isinstance(train_options, dict) or set(train_options) - known_train:
        raise PipelineError(f"{where}.train_options: TrainConfig fields other than seed only, got {train_options!r}")
    bootstrap = raw.get("bootstrap") or {}
    resamples, boot_seed = bootstrap.get("resamples", 2000), bootstrap.get("seed", 0)
    if not isinstance(resamples, int) or resamples < 100 or not isinstance(boot_seed, int) or boot_seed < 0:
        raise PipelineError(f"{where}.bootstrap: resamples >= 100 and seed >= 0 (integers), got {bootstrap!r}")
    grid = raw.get("weights") or {}
    try:
        scales, shapes = [float(v) for v in grid.get("scale", [])], [float(v) for v in grid.get("shape", [])]
        weights = [DistanceWeight(sc, sh) for sc in scales for sh in shapes]
    except (TypeError, ValueError, AttributeError, PipelineError) as err:
        raise PipelineError(f"{where}.weights: lists of scales and shapes > 0 ({err})") from None
    if DistanceWeight() not in weights:
        weights.insert(0, DistanceWeight())
    encryptions = raw.get("encryptions")
    if not isinstance(encryptions, dict) or len(encryptions) < 3:
        raise PipelineError(f"{where}.encryptions: give at least 3 encryptions as label: {{scheme: ..., options}}")
    for label, entry in encryptions.items():
        if not _LABEL.match(str(label)) or label == "plain":
            raise PipelineError(f"{where}.encryptions.{label}: labels are letters, digits, '.', '_', '-' (and not 'plain')")
        if not isinstance(entry, dict) or "scheme" not in entry:
            raise PipelineError(f"{where}.encryptions.{label}: must be a mapping with a scheme")
    baseline = raw.get("baseline")
    if baseline is not None and baseline not in encryptions:
        raise PipelineError(f"{where}.baseline: {baseline!r} is not one of the encryptions")
    return StudyDefinition(name, str(dataset_spec_name(raw.get("dataset"), where)), tuple(seeds), preset, dict(train_options),
                           count("train_images", None), count("test_images", None), count("information_images", 10000),
                           baseline, resamples, boot_seed, tuple(weights), dict(encryptions), count("jobs", 1))


def dataset_spec_name(name, where: str) -> str:
    """A known dataset name, or an error naming the field."""
    try:
        return dataset_spec(str(name)).name
    except PipelineError as err:
        raise PipelineError(f"{where}.dataset: {err}") from None
