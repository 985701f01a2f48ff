"""The networks: reference stems, shapes, and loading a weights file (right and wrong shapes)."""
from __future__ import annotations

import pytest
import torch

from train import TrainError
from train.model_registry import MODELS, tag
from train.models import create_model, load_weights
from train.presets import PRESETS


@pytest.mark.parametrize("crop, kernel, stride", [(28, 3, 1), (32, 3, 1), (224, 7, 2)])
def test_resnet18_stems_follow_the_reference(crop, kernel, stride):
    model = create_model("resnet18", 1, 10, crop)
    assert model.conv1.kernel_size == (kernel, kernel) and model.conv1.stride == (stride, stride)
    assert model.conv1.in_channels == 1 and model.fc.out_features == 10
    assert isinstance(model.maxpool, torch.nn.Identity) == (crop != 224)
    if crop != 224:
        model.eval()
        assert model(torch.zeros(2, 1, crop, crop)).shape == (2, 10)


def test_smallcnn_and_convmixer_shapes():
    assert create_model("smallcnn", 1, 10, 28)(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    mixer = create_model("convmixer", 3, 10, 32, width=16, depth=2, patch=2, kernel=3)
    assert mixer(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in create_model("convmixer", 3, 10, 32).parameters()) == pytest.approx(0.71e6, rel=0.05)


def test_unknown_model_and_option_are_errors():
    with pytest.raises(TrainError, match="unknown model"):
        create_model("resnet50", 3, 10, 32)
    with pytest.raises(TrainError, match="kernel"):
        create_model("smallcnn", 1, 10, 28, kernel=3)


def test_wrong_shape_in_a_weights_file_names_the_key(tmp_path):
    source = create_model("resnet18", 3, 10, 224).state_dict()
    source["layer1.0.conv1.weight"] = torch.zeros(64, 64, 5, 5)
    path = tmp_path / "bad.pth"
    torch.save(source, path)
    with pytest.raises(TrainError, match=r"layer1\.0\.conv1\.weight.*\(64, 64, 5, 5\)"):
        load_weights(create_model("resnet18", 1, 10, 224), "resnet18", path, crop=224)
    torch.save({"not": "weights"}, path)
    with pytest.raises(TrainError, match="state dict"):
        load_weights(create_model("resnet18", 1, 10, 224), "resnet18", path, crop=224)
    with pytest.raises(TrainError, match="does not exist"):
        load_weights(create_model("resnet18", 1, 10, 224), "resnet18", tmp_path / "none.pth", crop=224)


def test_imagenet_shaped_vit_weights_load_into_a_grey_small_vit(tmp_path):
    """An ImageNet-layout vit_b_16 file (3 channels, 224, 1000 classes) into a 1-channel 32 x 32 10-class ViT."""
    torch.manual_seed(0)
    imagenet = create_model("vit_b_16", 3, 1000, 224)
    path = tmp_path / "vit_b_16.pth"
    torch.save(imagenet.state_dict(), path)
    model = create_model("vit_b_16", 1, 10, 32)
    note = load_weights(model, "vit_b_16", path, crop=32)
    assert "fresh: conv_proj, heads.head" in note
    mine, theirs = model.state_dict(), imagenet.state_dict()
    key = "encoder.layers.encoder_layer_3.mlp.0.weight"
    assert torch.equal(mine[key], theirs[key])
    assert mine["encoder.pos_embedding"].shape == (1, 5, 768)  # interpolated from 197 tokens
    torch.testing.assert_close(mine["encoder.pos_embedding"][:, 0], theirs["encoder.pos_embedding"][:, 0])
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_every_model_declares_a_network_module_of_train_nets_and_a_unique_tag():
    """The registry's one edge that is not an import statement (``network``) still obeys the layers."""
    for model in MODELS.values():
        assert model.network == f"train.nets.{model.network.rsplit('.', 1)[1]}"
        assert callable(model.net().build) and callable(model.net().check)
    tags = [model.tag for model in MODELS.values()]
    assert len(set(tags)) == len(tags)
    # every preset name starts with its dataset and its model's declared tag
    assert all(name.split("_")[1] == tag(preset["model"]) for name, preset in PRESETS.items() if "dataset" in preset)
    assert tag("resnet50") == "resnet50"  # a run of a model not registered keeps its own name


def test_options_and_crop_are_checked_by_the_declarations():
    with pytest.raises(TrainError, match="not a multiple of the patch size 16"):
        create_model("vit_b_16", 3, 10, 40)
    with pytest.raises(TrainError, match="patch 8 is larger than the crop 4"):
        create_model("convmixer", 3, 10, 4, patch=8)
    with pytest.raises(TrainError, match="at least 4"):
        create_model("smallcnn", 1, 10, 3)
