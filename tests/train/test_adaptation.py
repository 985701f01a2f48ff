"""The LE/ELE adaptation network: the planes it sees are the encryption's, block-wise shapes, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.encrypt.le import to_planes
from train.adaptation import BlockAdaptation, PlaneSplit
from train.models import create_model
from train.errors import TrainError


def test_plane_split_is_the_encryptions_plane_representation():
    pictures = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    x = torch.from_numpy(pictures.transpose(0, 3, 1, 2)).float()
    expected = torch.from_numpy(to_planes(pictures).transpose(0, 3, 1, 2)).float() / 15
    assert torch.equal(PlaneSplit()(x), expected)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # as train.augment normalises CIFAR-10
    normalised = (x / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.equal(PlaneSplit(mean, std)(normalised), expected)


@pytest.mark.parametrize("channels, size, block, per_block", [(3, 32, 16, False), (3, 32, 4, True), (1, 28, 7, True)])
def test_block_adaptation_shapes(channels, size, block, per_block):
    layer = BlockAdaptation(2 * channels, 3, block, size, per_block).eval()
    values = block * block * 2 * channels
    assert layer.w1.shape == ((size // block) ** 2 if per_block else 1, values, values)
    assert layer(torch.rand(2, 2 * channels, size, size)).shape == (2, 3, size, size)


def test_the_model_classifies_pixels_through_planes_adaptation_and_resnet18():
    torch.manual_seed(0)
    model = create_model("adaptation", 1, 10, 28, block=7, per_block=True).eval()
    assert [type(m).__name__ for m in model] == ["PlaneSplit", "BlockAdaptation", "ResNet"]
    with torch.no_grad():
        assert model(torch.randint(0, 256, (1, 1, 28, 28)).float()).shape == (1, 10)


def test_each_block_only_sees_its_own_block():
    """Changing one block of the input changes only that block of the adaptation's output."""
    torch.manual_seed(0)
    layer = BlockAdaptation(2, 1, 4, 8, per_block=True).eval()
    x = torch.rand(1, 2, 8, 8)
    y = x.clone()
    y[:, :, :4, 4:] += 1  # block 1 (top right)
    changed = (layer(x) != layer(y))[0, 0]
    assert changed[:4, 4:].all() and not changed[:4, :4].any() and not changed[4:].any()


def test_bad_sizes_and_normalisation_are_refused():
    with pytest.raises(TrainError, match="block size 5 does not divide the image size 32"):
        create_model("adaptation", 3, 10, 32, block=5)
    with pytest.raises(TrainError, match="give both mean and std, one value per channel"):
        create_model("adaptation", 3, 10, 32, ((0.5,), (0.5,)), block=4)
