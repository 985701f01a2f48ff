"""The batched augmentation against the reference's per-image torchvision/PIL transforms."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

from workbench.data.datasets import DATASETS
from train import augment as A

RNG = np.random.default_rng(7)
GREY = RNG.integers(0, 256, size=(6, 1, 28, 28), dtype=np.uint8)
RGB = RNG.integers(0, 256, size=(6, 3, 32, 32), dtype=np.uint8)


def pil(image: np.ndarray) -> Image.Image:
    """One (C, H, W) uint8 image as the reference's PIL image ('L' for grey, 'RGB')."""
    if image.shape[0] == 1:
        return Image.fromarray(image[0], mode="L")
    return Image.fromarray(image.transpose(1, 2, 0))


def from_pil(img: Image.Image) -> np.ndarray:
    a = np.asarray(img)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


@pytest.mark.parametrize("images", [GREY, RGB], ids=["grey", "rgb"])
@pytest.mark.parametrize("size", [32, 224])
def test_resize_matches_pil_resize(images, size):
    ours = A.resize(torch.from_numpy(images).float(), size).numpy()
    for k, image in enumerate(images):
        ref = from_pil(T.Resize(size)(pil(image))).astype(float)
        assert ours[k].shape == ref.shape
        np.testing.assert_array_equal(ours[k], ref)


@pytest.mark.parametrize("images", [GREY, RGB], ids=["grey", "rgb"])
def test_random_crop_is_torchvision_crop_at_the_drawn_offsets(images):
    x = torch.from_numpy(images).float()
    size = x.shape[-1]
    ours = A.random_crop(x, size, 4, torch.Generator().manual_seed(3)).numpy()
    gen = torch.Generator().manual_seed(3)
    tops = A.crop_offsets(len(x), size + 8, size, gen)
    lefts = A.crop_offsets(len(x), size + 8, size, gen)
    assert set(tops.tolist()) | set(lefts.tolist()) <= set(range(9))  # inside the padded image
    for k, image in enumerate(images):
        padded = TF.pad(pil(image), 4)  # RandomCrop(padding=4) pads with zeros
        ref = from_pil(TF.crop(padded, int(tops[k]), int(lefts[k]), size, size))
        np.testing.assert_array_equal(ours[k], ref)


def test_crop_offsets_cover_all_positions():
    offsets = A.crop_offsets(5000, 36, 28, torch.Generator().manual_seed(0))
    assert sorted(set(offsets.tolist())) == list(range(9))


def test_flip_mirrors_each_image_or_leaves_it():
    x = torch.from_numpy(GREY).float()
    out = A.random_flip(x, 0.5, torch.Generator().manual_seed(1))
    flipped = [bool(torch.equal(o, i.flip(-1))) for o, i in zip(out, x)]
    kept = [bool(torch.equal(o, i)) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    assert torch.equal(A.random_flip(x, 1.0, torch.Generator()), x.flip(-1))
    assert torch.equal(A.random_flip(x, 0.0, torch.Generator()), x)


@pytest.mark.parametrize("images", [GREY, RGB], ids=["grey", "rgb"])
@pytest.mark.parametrize("factor", [0.6, 0.93, 1.37])
def test_brightness_contrast_saturation_match_pil(images, factor):
    x = torch.from_numpy(images).float()
    f = torch.full((len(x),), factor)
    checks = [(A.adjust_brightness, TF.adjust_brightness), (A.adjust_contrast, TF.adjust_contrast),
              (A.adjust_saturation, TF.adjust_saturation)]
    for ours_fn, ref_fn in checks:
        ours = ours_fn(x, f).numpy()
        for k, image in enumerate(images):
            ref = from_pil(ref_fn(pil(image), factor)).astype(float)
            assert np.abs(ours[k] - ref).max() <= 1, ours_fn.__name__
            assert np.mean(ours[k] == ref) > 0.99, ours_fn.__name__


def test_saturation_and_hue_leave_grey_images_alone():
    x = torch.from_numpy(GREY).float()
    assert torch.equal(A.adjust_saturation(x, torch.full((6,), 1.4)), x)
    assert torch.equal(A.adjust_hue(x, torch.full((6,), 0.2)), x)


def test_hue_matches_torchvision_tensor_hue_and_is_close_to_pil():
    x = torch.from_numpy(RGB).float()
    for shift in (-0.2, 0.05, 0.2):
        ours = A.adjust_hue(x, torch.full((6,), shift))
        tensor_ref = TF.adjust_hue(torch.from_numpy(RGB), shift).float()
        assert (ours - tensor_ref).abs().max() <= 1
        for k, image in enumerate(RGB):
            ref = from_pil(TF.adjust_hue(pil(image), shift)).astype(float)
            # PIL rotates an 8-bit hue; the mean difference stays a few levels
            assert np.abs(ours[k].numpy() - ref).mean() < 4


def test_jitter_factors_lie_in_colorjitter_ranges():
    f = A.jitter_factors(4000, A.REFERENCE_JITTER, torch.Generator().manual_seed(0))
    for j in range(3):
        assert 0.6 <= f[:, j].min() and f[:, j].max() <= 1.4
        assert f[:, j].min() < 0.62 and f[:, j].max() > 1.38
    assert -0.2 <= f[:, 3].min() and f[:, 3].max() <= 0.2


@pytest.mark.parametrize("images", [GREY, RGB], ids=["grey", "rgb"])
def test_color_jitter_keeps_integer_values_in_range_and_changes_images(images):
    x = torch.from_numpy(images).float()
    out = A.color_jitter(x, A.REFERENCE_JITTER, torch.Generator().manual_seed(5))
    assert out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 255 and torch.equal(out, out.round())
    assert not torch.equal(out, x)
    assert torch.equal(A.color_jitter(x, (0, 0, 0, 0), torch.Generator()), x)


def test_train_transform_shapes_ranges_and_seed():
    aug = A.BatchAugment(224, (0.5,), (0.5,))
    x = torch.from_numpy(GREY)
    out = aug.train(x, torch.Generator().manual_seed(11))
    assert out.shape == (6, 1, 224, 224) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1  # (0..1 - 0.5) / 0.5
    again = aug.train(x, torch.Generator().manual_seed(11))
    assert torch.equal(out, again)
    assert not torch.equal(out, aug.train(x, torch.Generator().manual_seed(12)))


def test_test_transform_matches_reference_compose():
    mean, std = DATASETS["cifar10"].mean, DATASETS["cifar10"].std
    aug = A.BatchAugment(224, mean, std)
    ref_tf = T.Compose([T.Resize(224), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
    ours = aug.test(torch.from_numpy(RGB))
    for k, image in enumerate(RGB):
        ref = ref_tf(pil(image))
        assert (ours[k] - ref).abs().max() <= 1 / 255 / min(std) + 1e-6


def test_ricap_weights_sum_to_one_and_quarters_are_crops_of_shuffled_images():
    x = torch.arange(8 * 1 * 10 * 10, dtype=torch.float32).reshape(8, 1, 10, 10)
    labels = torch.arange(8)
    for seed in range(20):
        out, picked, weights = A.ricap(x, labels, 0.3, np.random.default_rng(seed), torch.Generator().manual_seed(seed))
        assert out.shape == x.shape and picked.shape == (4, 8) and weights.shape == (4,)
        assert float(weights.sum()) == pytest.approx(1.0)
        assert (weights >= 0).all()
        # each output pixel comes from the image its quarter's label names
        for n in range(8):
            for value in out[n].flatten().tolist():
                source = int(value) // 100
                assert source in picked[:, n].tolist()


def test_ricap_quarter_areas_equal_weights():
    x = torch.zeros(4, 1, 16, 16)
    labels = torch.arange(4)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        marked = torch.stack([torch.full((1, 16, 16), float(k)) for k in range(4)])
        out, picked, weights = A.ricap(marked + x, labels, 0.3, rng, torch.Generator().manual_seed(seed))
        # with every image a constant, the area of image picked[k, n] in out[n] is weights[k]
        # (summed over quarters that happened to pick the same image)
        for n in range(4):
            for img in range(4):
                share = float((out[n] == img).float().mean())
                expected = float(sum(weights[k] for k in range(4) if picked[k, n] == img))
                assert share == pytest.approx(expected)
