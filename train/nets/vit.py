"""torchvision's ViT-B with ``image_size=crop`` and ``patch`` (16; the EtC recipes set it to the block
size), its patch projection taking the dataset's channels."""
from __future__ import annotations

from torch import nn
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings

from train.errors import TrainError

#: Keys the reference replaces after loading pre-trained weights: a fresh patch projection for 1 or
#: 3 channels and the classification head (10 classes, not 1000).
REPLACED = ("conv_proj.", "heads.")


def build(in_channels: int, num_classes: int, crop: int, normalisation=None, *, patch: int,
          fresh_patch_embedding: bool = True) -> nn.Module:
    """(``fresh_patch_embedding`` concerns loading weights only: :func:`prepare_weights`.)"""
    model = VisionTransformer(image_size=crop, patch_size=int(patch), num_layers=12, num_heads=12,
                              hidden_dim=768, mlp_dim=3072, num_classes=num_classes)
    model.conv_proj = nn.Conv2d(in_channels, 768, kernel_size=int(patch), stride=int(patch))
    return model


def check(crop: int, options: dict) -> None:
    if crop % int(options["patch"]):
        raise TrainError(f"vit_b_16: crop {crop} is not a multiple of the patch size {options['patch']} (--patch)", "crop")


def prepare_weights(state: dict, crop: int, options: dict) -> tuple[dict, tuple[str, ...]]:
    """A position embedding made for another image size interpolated (torchvision's
    ``interpolate_embeddings``); the patch projection kept fresh unless ``fresh_patch_embedding`` is off."""
    if "encoder.pos_embedding" in state:
        want = (crop // int(options["patch"])) ** 2 + 1
        if state["encoder.pos_embedding"].shape[1] != want:
            state = interpolate_embeddings(crop, int(options["patch"]), dict(state))
    return state, ("conv_proj.",) if options["fresh_patch_embedding"] else ()
