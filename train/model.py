"""A model as a registry part: what it declares, without torch (the report and the presets read it).

A :class:`Model` names the module that builds it (``network``, one module of ``train/nets/``) and
declares its short tag and its options; :mod:`train.model_registry` lists the models, one line
each. The network module is imported when a model is first built or checked, so that reading the
declarations (tables, preset names) never loads torch.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping

from train.errors import TrainError


@dataclass(frozen=True)
class Model:
    """One network kind.

    ``name``: the ``--model`` value. ``tag``: its short form in preset and run names
    (``cifar10_vit_etc``). ``network``: the module that defines ``build(in_channels, num_classes,
    crop, normalisation, **options) -> nn.Module`` and ``check(crop, options)`` (refuses a crop the
    network cannot take, naming the option), and, where pre-trained weights need it,
    ``REPLACED`` (key prefixes the reference re-initialises when their shapes do not fit) and
    ``prepare_weights(state, crop, options) -> (state, prefixes always kept fresh)``.
    ``options``: what ``--width`` ... can set, with the defaults. ``pretrained``: its recipes
    fine-tune weights from a file (a run without ``--weights`` says so).
    """

    name: str
    tag: str
    network: str
    options: Mapping[str, int | bool] = field(default_factory=dict)
    pretrained: bool = False

    def net(self) -> ModuleType:
        """The network module (imported on first use: it loads torch)."""
        return importlib.import_module(self.network)

    def with_defaults(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """``options`` checked against the declared ones, the defaults filled in (a TrainError names an unknown one)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise TrainError(f"model {self.name} takes no option(s) {', '.join(sorted(unknown))}", "model")
        return {**self.options, **options}

    def check(self, crop: int, options: Mapping[str, Any]) -> None:
        """Refuse a crop the network cannot take, before any data is loaded."""
        self.net().check(crop, self.with_defaults(options))
