"""The models, one line each (:class:`train.model.Model`); adding a model is one module in
``train/nets/`` and one line here. No torch is loaded by reading this module."""
from __future__ import annotations

from workbench.registry import Registry
from train.errors import TrainError
from train.model import Model

MODELS: Registry[Model] = Registry("model", [
    Model("resnet18", tag="resnet18", network="train.nets.resnet18"),
    Model("vit_b_16", tag="vit", network="train.nets.vit", options={"patch": 16, "fresh_patch_embedding": True},
          pretrained=True),
    Model("convmixer", tag="convmixer", network="train.nets.convmixer",
          options={"width": 256, "depth": 8, "patch": 1, "kernel": 9}),
    Model("smallcnn", tag="smallcnn", network="train.nets.smallcnn", options={"width": 16}),
    # LE (one sub-network for every block) or ELE (one per block)
    Model("adaptation", tag="adaptation", network="train.nets.adaptation", options={"block": 16, "per_block": False}),
], error=TrainError)


def tag(model: str) -> str:
    """The short tag of ``model`` in table rows and run names (its own name when it is not registered:
    a run recorded by a model since removed)."""
    return MODELS[model].tag if model in MODELS else model
