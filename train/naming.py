"""The training's dataset names, ``<dataset>[_<variant>]`` (``fashion_vor``; a bare ``fashion`` is
the plain ``origin``), in both directions; no torch, so that the report can read run records."""
from __future__ import annotations


def split_name(name: str) -> tuple[str, str]:
    """``fashion_vor`` -> (``fashion``, ``vor``); a bare ``fashion`` -> ``origin`` (dataset names hold no ``_``)."""
    base, _, variant = name.partition("_")
    return base, variant or "origin"


def join_name(dataset: str, variant: str) -> str:
    """(``fashion``, ``vor``) -> ``fashion_vor``; (``fashion``, ``origin``) -> ``fashion``."""
    return dataset if variant == "origin" else f"{dataset}_{variant}"
