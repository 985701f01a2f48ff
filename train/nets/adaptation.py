"""The LE/ELE adaptation network (:mod:`train.adaptation`: 4-bit planes, a block-wise sub-network of
``block`` pixels, ``per_block`` for ELE) before a ResNet-18; it reads the input ``normalisation``
(mean, std) back to pixel values to split their bits."""
from __future__ import annotations

from torch import nn

from train.adaptation import create_adaptation_model
from train.errors import TrainError
from train.nets import resnet18


def build(in_channels: int, num_classes: int, crop: int, normalisation=None, *, block: int,
          per_block: bool) -> nn.Module:
    mean, std = normalisation if normalisation is not None else (None, None)
    return create_adaptation_model(resnet18.build(3, num_classes, crop), in_channels, int(block), crop,
                                   per_block=bool(per_block), mean=mean, std=std)


def check(crop: int, options: dict) -> None:
    if crop % int(options["block"]):
        raise TrainError(f"adaptation network: block size {options['block']} does not divide the image size {crop}", "crop")
