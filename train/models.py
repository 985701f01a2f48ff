"""The networks: ResNet-18 and ViT-B/16 as the reference builds them, timm's ConvMixer, and a small CNN.

:func:`create_model` is the one factory (``create_model("resnet18", 1, 10, crop=28)``);
:func:`load_weights` puts a torchvision state-dict file into a model and says what it kept.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from train.adaptation import create_adaptation_model
from train.errors import TrainError

MODELS = ("resnet18", "vit_b_16", "convmixer", "smallcnn", "adaptation")

#: The short tag of each model in preset and run names (``cifar10_vit_etc``).
MODEL_TAGS = {"resnet18": "resnet18", "vit_b_16": "vit", "convmixer": "convmixer", "smallcnn": "smallcnn",
              "adaptation": "adaptation"}

#: Model options the command line can set (``--width`` ...), with their defaults per model.
MODEL_DEFAULTS: dict[str, dict[str, int | bool]] = {
    "resnet18": {},
    "vit_b_16": {"patch": 16, "fresh_patch_embedding": True},
    "convmixer": {"width": 256, "depth": 8, "patch": 1, "kernel": 9},
    "smallcnn": {"width": 16},
    "adaptation": {"block": 16, "per_block": False},  # LE (one sub-network for every block) or ELE (one per block)
}


def create_model(name: str, in_channels: int, num_classes: int, crop: int,
                 normalisation: tuple[tuple[float, ...], tuple[float, ...]] | None = None, **options) -> nn.Module:
    """A freshly initialised network for ``crop`` x ``crop`` images with ``in_channels`` channels.

    * ``resnet18``: torchvision's ResNet-18; for crops up to 64 (the reference's 28 and 32) a
      3x3 stride-1 stem without max-pool, otherwise the 7x7 stride-2 ImageNet stem (224).
    * ``vit_b_16``: torchvision's ViT-B with ``image_size=crop`` and ``patch`` (16; the EtC
      recipes set it to the block size), its patch projection taking ``in_channels``.
    * ``convmixer``: timm's ConvMixer-``width``/``depth`` with ``patch`` and ``kernel``.
    * ``smallcnn``: three conv-BN-ReLU stages (``width``, 2x, 4x channels), for CPU runs.
    * ``adaptation``: the LE/ELE adaptation network (``train.adaptation``: 4-bit planes, a block-wise
      sub-network of ``block`` pixels, ``per_block`` for ELE) before a ResNet-18; it reads the
      input ``normalisation`` (mean, std) back to pixel values to split their bits.
    """
    if name not in MODELS:
        raise TrainError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    unknown = set(options) - set(MODEL_DEFAULTS[name])
    if unknown:
        raise TrainError(f"model {name} takes no option(s) {', '.join(sorted(unknown))}")
    check_geometry(name, crop, options)
    opts = {**MODEL_DEFAULTS[name], **options}
    if name == "resnet18":
        return _resnet18(in_channels, num_classes, crop)
    if name == "vit_b_16":
        return _vit(in_channels, num_classes, crop, int(opts["patch"]))
    if name == "convmixer":
        from timm.models.convmixer import ConvMixer

        return ConvMixer(dim=int(opts["width"]), depth=int(opts["depth"]), kernel_size=int(opts["kernel"]),
                         patch_size=int(opts["patch"]), in_chans=in_channels, num_classes=num_classes)
    if name == "adaptation":
        mean, std = normalisation if normalisation is not None else (None, None)
        return create_adaptation_model(_resnet18(3, num_classes, crop), in_channels, int(opts["block"]), crop,
                                       per_block=bool(opts["per_block"]), mean=mean, std=std)
    return SmallCNN(in_channels, num_classes, int(opts["width"]))


def check_geometry(name: str, crop: int, options: dict) -> None:
    """Refuse a crop the model cannot take, before any data is loaded (:class:`TrainError` naming the
    option): ViT's patches and the adaptation network's blocks must tile it, ConvMixer's patch must
    fit in it, and the small CNN's two 2 x 2 poolings must leave a pixel."""
    opts = {**MODEL_DEFAULTS[name], **options}
    if name == "vit_b_16" and crop % int(opts["patch"]):
        raise TrainError(f"vit_b_16: crop {crop} is not a multiple of the patch size {opts['patch']} (--patch)", "crop")
    if name == "adaptation" and crop % int(opts["block"]):
        raise TrainError(f"adaptation network: block size {opts['block']} does not divide the image size {crop}", "crop")
    if name == "convmixer" and int(opts["patch"]) > crop:
        raise TrainError(f"convmixer: patch {opts['patch']} is larger than the crop {crop} (--crop)", "patch")
    if name == "smallcnn" and crop < 4:
        raise TrainError(f"smallcnn: crop {crop} is too small; its two 2 x 2 poolings need at least 4", "crop")


def _resnet18(in_channels: int, num_classes: int, crop: int) -> nn.Module:
    from torchvision.models import resnet18

    model = resnet18(weights=None, num_classes=num_classes)
    if crop <= 64:  # the reference's stem for crop 28 / 32
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:  # crop 224: the ImageNet stem, taking the dataset's channels
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def _vit(in_channels: int, num_classes: int, crop: int, patch: int) -> nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    model = VisionTransformer(image_size=crop, patch_size=patch, num_layers=12, num_heads=12,
                              hidden_dim=768, mlp_dim=3072, num_classes=num_classes)
    model.conv_proj = nn.Conv2d(in_channels, 768, kernel_size=patch, stride=patch)
    return model


class SmallCNN(nn.Sequential):
    """conv3x3-BN-ReLU-maxpool twice, conv3x3-BN-ReLU, max-pool to 3 x 3, linear.

    With ``width`` 16 a 28 x 28 image costs about 2 M multiply-adds, so that a full
    Fashion-MNIST epoch takes about a minute on two busy CPU cores. The 3 x 3 map before the
    classifier keeps where things are (a global average would lose it, which cost 7 points
    in short runs).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16):
        def stage(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        super().__init__(
            *stage(in_channels, width), nn.MaxPool2d(2),
            *stage(width, 2 * width), nn.MaxPool2d(2),
            *stage(2 * width, 4 * width),
            nn.AdaptiveMaxPool2d(3), nn.Flatten(), nn.Linear(4 * width * 9, num_classes),
        )


# Keys that the reference replaces after loading pre-trained weights (a fresh patch
# projection for 1 or 3 channels) and the classification head (10 classes, not 1000).
_REPLACED = {"vit_b_16": ("conv_proj.", "heads."), "resnet18": ("conv1.", "fc.")}


def load_weights(model: nn.Module, name: str, path: str | Path, *, crop: int, patch: int = 16,
                 fresh_patch_embedding: bool = True) -> str:
    """Load a torchvision state-dict file (e.g. ImageNet ``vit_b_16``) into ``model``; return a summary.

    Keys the reference replaces (ViT: ``conv_proj``, ``heads``; ResNet: ``conv1``, ``fc``) are
    kept from the file only when their shapes fit and, for ``conv_proj``, when
    ``fresh_patch_embedding`` is off. A ViT position embedding made for another image size is
    interpolated (torchvision's ``interpolate_embeddings``). Any other missing key or key of
    the wrong shape is a :class:`TrainError` naming it.
    """
    path = Path(path)
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
    if name == "vit_b_16" and "encoder.pos_embedding" in state:
        want = model.state_dict()["encoder.pos_embedding"].shape
        if state["encoder.pos_embedding"].shape != want:
            from torchvision.models.vision_transformer import interpolate_embeddings

            state = interpolate_embeddings(crop, patch, dict(state))
    own = model.state_dict()
    replaceable = _REPLACED.get(name, ())
    always_fresh = ("conv_proj.",) if name == "vit_b_16" and fresh_patch_embedding else ()
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
