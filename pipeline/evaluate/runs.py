"""The training runs of a results folder, grouped into cells of repeated runs.

Reads ``<runs>/*/metrics.json`` as ``python -m train`` writes them. A run is placed by the fields its
file records (dataset, scheme, model, seed, key_seed; files written before those fields existed by
their configuration), never by its folder's name; the runs of one dataset x model x recipe x variant
form a :class:`Cell`, summarised as mean ± sd over its seeds (and benchmark keys).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workbench.outputs import read_json
from pipeline.encrypt.registry import PLAIN, SCHEMES
from pipeline.errors import PipelineError
from pipeline.evaluate.aggregate import Spread, grouped, spread
from train.errors import TrainError
from train.model_registry import tag
from train.presets import PUBLISHED_ACCURACY, VARIANTS, published_preset

#: Variants in table order: the plain images, then the schemes in registry order.
ORDER = (PLAIN, *SCHEMES)


def in_order(variant: str) -> tuple[int, str]:
    """Sort key of a variant: its place in :data:`ORDER` (unknown ones last, by name)."""
    return (ORDER.index(variant) if variant in ORDER else len(ORDER), variant)


#: The EtC paper's CIFAR-10 and Imagenette (224 x 224) figures (%), for runs of the ``*_etc`` presets.
PUBLISHED_ETC = {("cifar10", "convmixer"): {"origin": 96.07, "etc": 92.72},
                 ("cifar10", "vit_b_16"): {"origin": 99.06, "etc": 87.89},
                 ("imagenette", "convmixer"): {"origin": 96.10, "etc": 90.11},
                 ("imagenette", "vit_b_16"): {"origin": 99.64, "etc": 90.62}}


@dataclass(frozen=True)
class Run:
    """One training run as its metrics.json records it."""

    dataset: str  # mnist, fashion, cifar10
    model: str
    recipe: str  # "published", the preset's suffix ("cpu", "etc"), or "custom"
    variant: str  # "origin" (plain) or the scheme, as metrics.json records it
    final: float  # %: the last epoch's test accuracy (a maximum over test evaluations would select on the test set)
    epochs: int
    seconds: float
    folder: str
    seed: int | None = None  # the training seed
    key_seed: int | None = None  # the benchmark key of a keyed scheme
    setup: tuple = ()  # the resolved configuration apart from seed, dataset and paths: runs of one cell share it

    @property
    def published(self) -> float | None:
        if self.recipe == "published" and (self.dataset, self.model) in PUBLISHED_ACCURACY and self.variant in VARIANTS:
            return PUBLISHED_ACCURACY[(self.dataset, self.model)][VARIANTS.index(self.variant)]
        if self.recipe == "etc":
            return PUBLISHED_ETC.get((self.dataset, self.model), {}).get(self.variant)
        return None


#: Configuration fields that may differ between the runs of one cell (repetitions of one recipe): the
#: scheme's folder too, since each benchmark key of a scheme has its own (``data/fashion/etc-k1``, :func:`workbench.data.datasets.variant_name`);
#: the cell is the scheme its encrypt stage recorded.
PER_RUN = ("seed", "dataset", "scheme", "out", "data_dir", "device")


def _recipe(config: dict, dataset: str, variant: str) -> str:
    preset = config.get("preset")
    if not preset:
        return "custom"
    if preset == published_preset(dataset, config["model"], variant):
        return "published"
    cell = f"{dataset}_{tag(config['model'])}_"
    return preset[len(cell):] if preset.startswith(cell) else preset


def trained(metrics: dict, config: dict) -> tuple[str, str]:
    """(dataset, scheme) a run trained: as metrics.json records them, else as its configuration gives them;
    a configuration written before ``--scheme`` existed named both in one, ``fashion_vor`` (``fashion_origin``
    or a bare ``fashion``: the plain images)."""
    if "scheme" in metrics:
        return metrics["dataset"], metrics["scheme"]
    if "scheme" in config:
        return config["dataset"], config["scheme"]
    dataset, _, scheme = config["dataset"].partition("_")
    return dataset, scheme or PLAIN


def find_runs(runs_dir: Path) -> list[Run]:
    """Every run under ``runs_dir`` with a ``metrics.json`` (sorted by dataset, model, recipe, variant, seed).

    What a run trained is read from the fields metrics.json records (dataset, scheme, model, seed,
    key_seed); files written before those fields existed are read from their configuration.
    """
    runs = []
    for path in sorted(runs_dir.glob("*/metrics.json")):
        try:
            m = read_json(path)
            config = m["config"]
            dataset, variant = trained(m, config)
            setup = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in config.items() if k not in PER_RUN))
            runs.append(Run(dataset, m.get("model", config["model"]), _recipe(config, dataset, variant), variant,
                            100 * m["test_acc_final"], int(m["epochs"]), float(m["train_seconds"]), path.parent.name,
                            m.get("seed", config.get("seed")), m.get("key_seed"), setup))
        except (KeyError, ValueError, TypeError, TrainError) as err:
            raise PipelineError(f"{path}: not a metrics file of python -m train ({err})") from None
    return sorted(runs, key=lambda r: (r.dataset, r.model, r.recipe, *in_order(r.variant),
                                       (r.seed is None, r.seed or 0), (r.key_seed is None, r.key_seed or 0)))


@dataclass(frozen=True)
class Cell:
    """The runs of one dataset x model x recipe x variant: repetitions over seeds (and benchmark keys)."""

    runs: tuple[Run, ...]

    @property
    def dataset(self) -> str:
        return self.runs[0].dataset

    @property
    def model(self) -> str:
        return self.runs[0].model

    @property
    def recipe(self) -> str:
        return self.runs[0].recipe

    @property
    def variant(self) -> str:
        return self.runs[0].variant

    @property
    def epochs(self) -> int:
        return self.runs[0].epochs

    @property
    def published(self) -> float | None:
        return self.runs[0].published

    @property
    def accuracy(self) -> Spread:
        return spread(r.final for r in self.runs)

    @property
    def seconds(self) -> float:
        return spread(r.seconds for r in self.runs).mean

    @property
    def repetitions(self) -> str:
        """The seeds (and benchmark keys) of the cell's runs, as the tables list them: ``3407`` or ``0, 1, 2; keys 0, 1, 2``."""
        seeds = sorted({r.seed for r in self.runs}, key=lambda s: (s is None, s or 0))
        keys = sorted({r.key_seed for r in self.runs if r.key_seed is not None})
        return ", ".join(map(str, seeds)) + (f"; keys {', '.join(map(str, keys))}" if keys else "")


def cells(runs: list[Run]) -> list[Cell]:
    """The runs grouped by what they recorded (never by folder name), one cell per dataset x model x recipe x
    variant. A cell whose runs differ in more than seed and key, or that holds one seed and key twice, is
    refused: its mean would mix recipes or count a run twice."""
    out = []
    for members in grouped(runs, lambda r: (r.dataset, r.model, r.recipe, r.variant)).values():
        first = members[0]
        for run in members[1:]:
            if run.setup != first.setup:
                differ = sorted({k for k, _ in set(run.setup) ^ set(first.setup)})
                raise PipelineError(f"runs {first.folder} and {run.folder}: the same {first.dataset} {first.model} "
                                    f"{first.recipe} {first.variant} cell with different {', '.join(differ)}; "
                                    "report them from separate --runs-dir folders or give one of them another preset")
        seen = {}
        for run in members:
            if (run.seed, run.key_seed) in seen:
                raise PipelineError(f"runs {seen[(run.seed, run.key_seed)]} and {run.folder}: both are seed {run.seed}"
                                    f"{'' if run.key_seed is None else f', key {run.key_seed}'} of the same cell")
            seen[(run.seed, run.key_seed)] = run.folder
        out.append(Cell(tuple(members)))
    return out


def _plain_cell(table: list[Cell], cell: Cell) -> Cell | None:
    """The cell of the plain images with the same dataset, model and recipe, if any."""
    return next((c for c in table if (c.dataset, c.model, c.recipe, c.variant) ==
                 (cell.dataset, cell.model, cell.recipe, PLAIN)), None)


def drop(table: list[Cell], cell: Cell) -> float | None:
    """Accuracy drop against the plain cell of the same recipe, in points: the difference of the means."""
    plain = _plain_cell(table, cell)
    return None if plain is None or cell.variant == PLAIN else plain.accuracy.mean - cell.accuracy.mean


def plain_published(cell: Cell | Run) -> float | None:
    """The published figure of the plain images for the cell's dataset, model and recipe, if any."""
    plain = Run(cell.dataset, cell.model, cell.recipe, PLAIN, 0, 0, 0, "")
    return plain.published


