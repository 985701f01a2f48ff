"""A small CNN for CPU runs: conv3x3-BN-ReLU-maxpool twice, conv3x3-BN-ReLU, max-pool to 3 x 3, linear.

With ``width`` 16 a 28 x 28 image costs about 2 M multiply-adds, so that a full Fashion-MNIST
epoch takes about a minute on two busy CPU cores. The 3 x 3 map before the classifier keeps
where things are (a global average would lose it, which cost 7 points in short runs).
"""
from __future__ import annotations

from torch import nn

from train.errors import TrainError


def build(in_channels: int, num_classes: int, crop: int, normalisation=None, *, width: int = 16) -> nn.Module:
    width = int(width)

    def stage(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *stage(in_channels, width), nn.MaxPool2d(2),
        *stage(width, 2 * width), nn.MaxPool2d(2),
        *stage(2 * width, 4 * width),
        nn.AdaptiveMaxPool2d(3), nn.Flatten(), nn.Linear(4 * width * 9, num_classes),
    )


def check(crop: int, options: dict) -> None:
    if crop < 4:
        raise TrainError(f"smallcnn: crop {crop} is too small; its two 2 x 2 poolings need at least 4", "crop")
