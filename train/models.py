"""Building a registered model and loading weights into it.

:func:`create_model` is the one factory (``create_model("resnet18", 1, 10, crop=28)``); the
models and what each declares are in :mod:`train.model_registry`, their networks in ``train/nets/``.
:func:`load_weights` puts a torchvision state-dict file into a model and says what it kept.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from train.errors import TrainError
from train.model_registry import MODELS


def create_model(name: str, in_channels: int, num_classes: int, crop: int,
                 normalisation: tuple[tuple[float, ...], tuple[float, ...]] | None = None, **options) -> nn.Module:
    """A freshly initialised network ``name`` for ``crop`` x ``crop`` images with ``in_channels`` channels
    (``normalisation``: the input's (mean, std), for networks that read pixel values back)."""
    model = MODELS.get(name)
    opts = model.with_defaults(options)
    model.check(crop, opts)
    return model.net().build(in_channels, num_classes, crop, normalisation, **opts)


def load_weights(model: nn.Module, name: str, path: str | Path, *, crop: int, **options) -> str:
    """Load a torchvision state-dict file (e.g. ImageNet ``vit_b_16``) into ``model`` (of registered model
    ``name`` built with ``options``); return a summary.

    Keys the network module declares ``REPLACED`` (ViT: ``conv_proj``, ``heads``; ResNet: ``conv1``,
    ``fc``) are kept from the file only when their shapes fit; its ``prepare_weights`` may adapt the
    file (ViT: interpolate the position embedding; keep the patch projection fresh with
    ``fresh_patch_embedding``). Any other missing key or key of the wrong shape is a
    :class:`TrainError` naming it.
    """
    path = Path(path)
    part = MODELS.get(name)
    net = part.net()
    if not path.is_file():
        raise TrainError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a file that is not a state dict
        raise TrainError(f"{path}: not a loadable torch state dict ({err})") from err
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a checkpoint of ours
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TrainError(f"{path}: expected a state dict of tensors")
    always_fresh: tuple[str, ...] = ()
    if hasattr(net, "prepare_weights"):
        state, always_fresh = net.prepare_weights(state, crop, part.with_defaults(options))
    own = model.state_dict()
    replaceable = getattr(net, "REPLACED", ())
    kept, fresh = {}, []
    for key, value in own.items():
        unfit = key not in state or state[key].shape != value.shape
        if key.startswith(always_fresh) or (unfit and key.startswith(replaceable)):
            fresh.append(key)
        elif key not in state:
            raise TrainError(f"{path}: key {key!r} is missing (is this a {name} state dict?)")
        elif unfit:
            raise TrainError(f"{path}: key {key!r} has shape {tuple(state[key].shape)}, "
                             f"the model needs {tuple(value.shape)}")
        else:
            kept[key] = state[key]
    unexpected = sorted(set(state) - set(own))
    if unexpected:
        raise TrainError(f"{path}: key {unexpected[0]!r} is not part of {name} ({len(unexpected)} unexpected keys)")
    model.load_state_dict(kept, strict=False)
    fresh_layers = sorted({k.rsplit(".", 1)[0] for k in fresh})
    return f"pre-trained weights from {path} ({len(kept)} tensors); fresh: {', '.join(fresh_layers) or 'none'}"
