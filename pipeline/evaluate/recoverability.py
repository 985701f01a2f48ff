"""What the attacks recovered and what information the schemes lost, per dataset x scheme over benchmark keys.

Reads the rows of :func:`pipeline.evaluate.attack_summary.summary_rows` and ``pipeline.information``'s files,
and groups them by the fields each file records (dataset, scheme, key_seed; older files name the
scheme as ``encryption``), never by file name: a keyed scheme measured under several benchmark keys
is one cell whose scores are :class:`~pipeline.evaluate.aggregate.Spread` s over the keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.outputs import read_json
from pipeline.errors import PipelineError
from pipeline.evaluate.aggregate import Spread, grouped, spread

#: The statistical attack kinds; every other kind in the attacks folder is a learned attack (ITN, GAN, FR).
STATISTICAL = ("ciphertext-only", "known-plaintext")


@dataclass(frozen=True)
class Attack:
    """One attack (kind, method, pairs) on one dataset x scheme, over the benchmark keys it ran under:
    each score a :class:`Spread` with one value per key (rows of :func:`pipeline.evaluate.attack_summary.summary_rows`)."""

    rows: tuple[dict, ...]

    @property
    def kind(self) -> str:
        return self.rows[0]["kind"]

    @property
    def method(self) -> str:
        return self.rows[0]["method"]

    @property
    def pairs(self) -> int | None:
        return self.rows[0]["pairs"]

    @property
    def uses_statistics(self) -> bool:
        return self.rows[0]["uses_statistics"]

    def score(self, name: str) -> Spread | None:
        """``name`` (psnr, ssim, key_share, accuracy_recovered...) over the keys; None where a row has none."""
        values = [r[name] for r in self.rows]
        return None if any(v is None for v in values) else spread(values)

    @property
    def stopped_at_cap(self) -> int:
        """Runs whose training stopped at its cap (not converged)."""
        return sum(r.get("stopped") == "cap" for r in self.rows)

    @property
    def below_mean_image(self) -> int:
        """Runs that recover less than the public mean image."""
        return sum(r.get("beats_mean_image") is False for r in self.rows)


def attacks_by_cell(rows: list[dict]) -> dict[tuple[str, str], list[Attack]]:
    """Attack rows (:func:`pipeline.evaluate.attack_summary.summary_rows`) grouped by what their files recorded:
    per (dataset, scheme), one :class:`Attack` per kind x method x pairs, its rows one per benchmark key.
    Two results of one attack under the same key are refused (a file of another run)."""
    out: dict[tuple[str, str], list[Attack]] = {}
    for (dataset, scheme, *_), members in grouped(rows, lambda r: (r["dataset"], _scheme(r), r["kind"], r["method"],
                                                                     r["pairs"], r["uses_statistics"])).items():
        keys = [r.get("key_seed") for r in members]
        if len(set(keys)) < len(keys):
            raise PipelineError(f"attack results: {members[0]['kind']} {members[0]['method']} on {dataset} {scheme} "
                                f"is recorded twice for one key ({keys}); remove the stale file")
        out.setdefault((dataset, scheme), []).append(Attack(tuple(members)))
    return out


def _scheme(row: dict) -> str:
    return row.get("scheme") or row["encryption"]


def _strongest(attacks: list[Attack]) -> Attack | None:
    """The attack that recovers most (highest mean PSNR), if any."""
    scored = [a for a in attacks if a.score("psnr") is not None]
    return max(scored, key=lambda a: a.score("psnr").mean, default=None)


def blind(attacks: list[Attack]) -> Attack | None:
    """The strongest ciphertext-only attack."""
    return _strongest([a for a in attacks if a.kind == "ciphertext-only"])


def paired(attacks: list[Attack]) -> Attack | None:
    """The strongest known-plaintext attack from the most pairs, using the pairs alone."""
    known = [a for a in attacks if a.kind == "known-plaintext" and not a.uses_statistics]
    most = max((a.pairs for a in known), default=None)
    return _strongest([a for a in known if a.pairs == most])


def learned(attacks: list[Attack]) -> Attack | None:
    """The strongest learned attack (ITN, GAN, FR)."""
    return _strongest([a for a in attacks if a.kind not in STATISTICAL])


#: The parts of an information-loss measurement, as pipeline.information's files name their rates.
LOSS_RATES = {"total": "total_loss_rate", "value": "value_loss_rate", "neighbour": "neighbour_loss_rate"}


def information_results(folder: Path) -> dict[tuple[str, str], list[dict]]:
    """``pipeline.information``'s default measurements per (dataset, scheme), one per benchmark key, read from
    what each file records: a file whose label is its scheme's name, or that records the ``key_seed`` it
    measured, is a default measurement; any other label is a parameter study and left out. Two files of
    one scheme and key are refused (one of them is stale)."""
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            result = read_json(path)
        except ValueError as err:
            raise PipelineError(f"{path}: not JSON ({err})") from None
        if not (isinstance(result, dict) and {"dataset", "encryption", "label", *LOSS_RATES.values()} <= set(result)):
            continue
        scheme = result.get("scheme") or result["encryption"]
        if result["label"] not in (scheme, result["encryption"]) and result.get("key_seed") is None:
            continue
        where = (result["dataset"], scheme, result.get("key_seed"))
        if where in found:
            raise PipelineError(f"{path} and {found[where]['path']}: two measurements of {scheme} on {result['dataset']}"
                                f"{'' if where[2] is None else f' under key {where[2]}'}; remove the stale one")
        found[where] = {**result, "path": path}
    out: dict[tuple[str, str], list[dict]] = {}
    for (dataset, scheme, _), result in found.items():
        out.setdefault((dataset, scheme), []).append(result)
    return out


def information_losses(folder: Path, part: str = "total") -> dict[tuple[str, str], Spread]:
    """The ``part`` loss rate (total, value or neighbour) per (dataset, scheme), over its benchmark keys."""
    return {cell: spread(r[LOSS_RATES[part]] for r in results) for cell, results in information_results(folder).items()}
