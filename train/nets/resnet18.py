"""torchvision's ResNet-18: for crops up to 64 (the reference's 28 and 32) a 3x3 stride-1 stem without
max-pool, otherwise the 7x7 stride-2 ImageNet stem (224), taking the dataset's channels."""
from __future__ import annotations

from torch import nn
from torchvision.models import resnet18

#: Keys the reference replaces after loading pre-trained weights: the stem and the 10-class head.
REPLACED = ("conv1.", "fc.")


def build(in_channels: int, num_classes: int, crop: int, normalisation=None) -> nn.Module:
    model = resnet18(weights=None, num_classes=num_classes)
    if crop <= 64:  # the reference's stem for crop 28 / 32
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:  # crop 224: the ImageNet stem, taking the dataset's channels
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def check(crop: int, options: dict) -> None:
    """Any crop works."""
