"""The translator's factorised mixing on 224 x 224 x 3 images: set to a key's inverse it undoes the scheme
exactly (oracles: the scheme's own decrypt, numpy indexing), it starts as the identity, and its size is
what mixing.py's docstring states; at 64 x 64 x 3 and below the mixing stays the dense S x S map."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from workbench.data.datasets import DATASETS
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.errors import PipelineError
from pipeline.evaluate.learned import mixing
from pipeline.evaluate.learned.mixing import BlockMixing, DenseMixing, SeparableMixing, mixing_for
from pipeline.evaluate.learned.networks import Translator

BIG = replace(DATASETS["cifar10"], height=224, width=224, name="big")
SHAPE = (224, 224, 3)


def tensor(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float()


def pictures_of(batch: torch.Tensor) -> np.ndarray:
    return batch.permute(0, 2, 3, 1).numpy()


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("side, block, block_wise", [(224, 16, False), (32, 4, True)])
def test_block_mixing_set_to_the_inverse_block_permutation_decrypts_block_scrambling_exactly(side, block, block_wise):
    """At 224 px the block-wise mixing is the default; at 32 px (the colour profile) where block_wise asks for it."""
    scheme = SCHEMES.get("block")
    spec, shape, grid = replace(BIG, height=side, width=side), (side, side, 3), side // block
    key = scheme.adversary_key(spec, KeyOptions(block_size=block), 3)
    net = Translator(shape, 4, block=block, block_wise=block_wise)
    assert isinstance(net.mix, BlockMixing)
    # where each plain block goes: encrypt a picture whose block k is filled with k (at most 196 blocks < 256)
    blocks = grid * grid
    numbered = np.repeat(np.repeat(np.arange(blocks, dtype=np.uint8).reshape(grid, grid), block, 0), block, 1)
    moved = scheme.encrypt(key, np.repeat(numbered[None, :, :, None], 3, axis=3))[0, ::block, ::block, 0].ravel().astype(np.int64)
    inverse = torch.zeros(blocks, blocks)
    inverse[moved, np.arange(blocks)] = 1  # plain block moved[i] is encrypted block i
    with torch.no_grad():
        net.mix.positions.copy_(inverse)
    plain = np.random.default_rng(0).integers(0, 256, (2, *shape), dtype=np.uint8)
    encrypted = scheme.encrypt(key, plain)
    assert not np.array_equal(encrypted, plain)
    with torch.no_grad():
        restored = pictures_of(net.mix(tensor(encrypted)))
    assert np.array_equal(restored, scheme.decrypt(key, encrypted).astype(np.float32))
    assert np.array_equal(restored, plain.astype(np.float32))


def test_the_within_block_map_acts_on_each_block_s_row_column_channel_samples():
    mix = BlockMixing((8, 8, 3), 4)
    order = np.random.default_rng(1).permutation(48)
    with torch.no_grad():
        mix.within.copy_(torch.eye(48)[order])
    x = np.random.default_rng(2).random((1, 8, 8, 3)).astype(np.float32)
    blocks = x.reshape(1, 2, 4, 2, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(1, 4, 48)
    expected = blocks[:, :, order].reshape(1, 2, 2, 4, 4, 3).transpose(0, 1, 3, 2, 4, 5).reshape(1, 8, 8, 3)
    with torch.no_grad():
        assert np.array_equal(pictures_of(mix(tensor(x))), expected)


def test_separable_mixing_set_to_row_column_and_channel_permutations_undoes_them():
    rng = np.random.default_rng(3)
    rows, columns, colours = rng.permutation(224), rng.permutation(224), rng.permutation(3)
    plain = rng.random((2, *SHAPE)).astype(np.float32)
    shuffled = plain[:, rows][:, :, columns][..., colours]
    mix = Translator(SHAPE, 4).mix
    assert isinstance(mix, SeparableMixing)
    with torch.no_grad():  # output sample r takes input sample inverse(r) on each axis
        mix.rows.copy_(torch.eye(224)[np.argsort(rows)])
        mix.columns.copy_(torch.eye(224)[np.argsort(columns)])
        mix.colours.copy_(torch.eye(3)[np.argsort(colours)])
        assert np.array_equal(pictures_of(mix(tensor(shuffled))), plain)


@pytest.mark.parametrize("shape, block", [((224, 224, 3), 16), ((224, 224, 3), None), ((64, 64, 3), 16), ((28, 28, 1), 7)])
def test_every_mixing_starts_as_the_identity(shape, block):
    x = torch.rand(2, shape[2], shape[0], shape[1])
    with torch.no_grad():
        assert torch.equal(mixing_for(shape, block)(x), x)


def test_the_mixing_s_size_at_224_px_is_the_docstring_s():
    assert parameters(mixing_for(SHAPE, 16)) == 196**2 + 768**2 + 150_528 == 778_768
    assert parameters(mixing_for(SHAPE, None)) == 2 * 224**2 + 3**2 + 150_528 == 250_889
    assert "= 778,768 parameters" in mixing.__doc__ and "= 250,889 parameters" in mixing.__doc__
    # a block size that does not tile the image, or whose factors would be too large, falls back to separable
    assert isinstance(mixing_for(SHAPE, 5), SeparableMixing) and isinstance(mixing_for(SHAPE, 112), SeparableMixing)


def test_up_to_64_x_64_x_3_the_mixing_is_the_dense_map_whatever_the_block():
    for shape in ((64, 64, 3), (32, 32, 3), (28, 28, 1)):
        mix = mixing_for(shape, 4)
        size = shape[0] * shape[1] * shape[2]
        assert isinstance(mix, DenseMixing) and mix.weight.shape == (size, size)


def test_a_side_too_long_for_any_mixing_is_refused_before_allocating():
    with pytest.raises(PipelineError) as err:
        mixing_for((12_292, 4, 1), None)
    assert str(err.value) == ("the translator's row and column maps of a 12292 x 4 x 1 image would be 12292 x 12292; "
                              "a side takes at most 12288 samples")



def test_asked_for_the_block_wise_mixing_at_32_px_has_the_docstring_s_size():
    mix = mixing_for((32, 32, 3), 4, block_wise=True)
    assert isinstance(mix, BlockMixing) and parameters(mix) == 64**2 + 48**2 + 3_072 == 9_472
    assert "(9,472 parameters)" in mixing.__doc__
    assert isinstance(mixing_for((32, 32, 3), None, block_wise=True), DenseMixing)  # no block size: the dense map
    assert isinstance(mixing_for((32, 32, 3), 5, block_wise=True), DenseMixing)  # a block that does not tile it
