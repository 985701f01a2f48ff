"""Named training recipes: the 18 published cells, the EtC recipes, and fast CPU recipes.

A preset is a partial :class:`train.config.TrainConfig`; values given on the command line
override it. Names read ``<dataset>_<model tag>_<scheme>`` (each model declares its tag in
:mod:`train.model_registry`: ``resnet18``, ``vit``, ``convmixer``, ``smallcnn``; scheme ``origin``:
the plain images).

Published (``experiments.md``): SGD with Nesterov momentum 0.9, cosine annealing over the
epochs, seed 3407, and RICAP with beta 0.3 in every cell: the reference script's default for
``--beta_of_ricap`` is 0.3 and it applies RICAP whenever the value is not None, so the published
commands, which pass it only for CIFAR-10 ResNet-18 vor, ran all cells with it. ``--ricap none``
switches it off.

EtC (``etc.md``): ConvMixer-256/8 with patch 1 and kernel 9 on 32 x 32 images, AdamW lr 0.01,
weight decay 0.01, the triangular one-cycle schedule, batch 64, 300 epochs, mixup + CutMix; ViT-B/16
with the patch equal to the EtC block (16) on 224 x 224 images, fine-tuned from a local ImageNet
file (``--weights``) keeping its patch projection. The geometric and colour augmentation of the
vortex recipe is off in these (a shift or flip does not commute with block-wise encryption);
run the same preset with ``--scheme origin`` for the plain column. ``imagenette_convmixer_etc``
(ConvMixer-384/8, patch 4, on 224 x 224) and ``imagenette_vit_etc``: the same on Imagenette.

CPU (``*_smallcnn_cpu``, the default profile's; ``smallcnn_cpu`` the same for any declared dataset, at its image size): the small CNN at width 24 (4.2 M multiply-adds
per 28 x 28 image), 5 epochs, batch 256, SGD with Nesterov momentum, lr 0.2 warmed up linearly
over the first fifth of the steps and then decayed linearly to 0 (per step), label smoothing
0.1, weight decay 5e-4, no RICAP and no augmentation: the same for every variant (a shift or flip
does not commute with the vortex or a permutation). ``*_smallcnn_quick`` is the earlier 3-epoch,
width-16 recipe (cosine, batch 128, lr 0.05), a third of the cost, which the Python API keeps as
its default. (In runs this short the reference augmentation costs accuracy: on 20,000
Fashion-MNIST images and 2 epochs, 86.6 % without it, 80.5 % with crop + flip, 79.2 % with colour
jitter too; restore it with ``--padding 4 --flip 0.5 --jitter 0.4,0.4,0.4,0.2``.)
"""
from __future__ import annotations

from typing import Any

from train.errors import TrainError
from train.model_registry import tag

# dataset, model, scheme, epochs, batch, crop, lr, wd (the table of experiments.md)
_PUBLISHED = [
    ("cifar10", "resnet18", "origin", 100, 256, 32, 0.1, 1e-4),
    ("cifar10", "resnet18", "vor", 100, 32, 224, 0.1, 1e-4),
    ("cifar10", "resnet18", "random", 100, 256, 224, 0.1, 1e-4),
    ("cifar10", "vit_b_16", "origin", 70, 128, 224, 0.005, 1e-4),
    ("cifar10", "vit_b_16", "vor", 70, 128, 224, 0.005, 1e-3),
    ("cifar10", "vit_b_16", "random", 70, 128, 224, 0.005, 1e-4),
    ("mnist", "resnet18", "origin", 30, 256, 28, 0.1, 1e-4),
    ("mnist", "resnet18", "vor", 30, 256, 224, 0.1, 1e-4),
    ("mnist", "resnet18", "random", 30, 256, 28, 0.1, 1e-4),
    ("mnist", "vit_b_16", "origin", 30, 128, 224, 0.1, 1e-4),
    ("mnist", "vit_b_16", "vor", 30, 128, 224, 0.005, 2e-4),
    ("mnist", "vit_b_16", "random", 30, 128, 224, 0.1, 1e-4),
    ("fashion", "resnet18", "origin", 50, 256, 32, 0.1, 1e-4),
    ("fashion", "resnet18", "vor", 50, 256, 224, 0.1, 5e-4),
    ("fashion", "resnet18", "random", 50, 256, 224, 0.1, 1e-4),
    ("fashion", "vit_b_16", "origin", 50, 128, 224, 0.005, 2e-4),
    ("fashion", "vit_b_16", "vor", 50, 128, 224, 0.005, 5e-4),
    ("fashion", "vit_b_16", "random", 50, 128, 224, 0.005, 2e-4),
]

#: The accuracy (%) the paper reports for each published preset (test set, best epoch).
PUBLISHED_ACCURACY = {
    ("mnist", "resnet18"): (99.20, 98.89, 28.99), ("fashion", "resnet18"): (94.12, 92.85, 40.10),
    ("cifar10", "resnet18"): (92.80, 87.56, 42.80), ("mnist", "vit_b_16"): (99.47, 99.15, 31.84),
    ("fashion", "vit_b_16"): (94.95, 92.61, 56.19), ("cifar10", "vit_b_16"): (98.50, 92.04, 50.03),
}
VARIANTS = ("origin", "vor", "random")


def _published() -> dict[str, dict[str, Any]]:
    return {
        f"{d}_{tag(m)}_{v}": dict(dataset=d, scheme=v, model=m, epochs=e, batch=b,
                                  crop=c, lr=lr, wd=wd, ricap=0.3, optimizer="sgd", schedule="cosine")
        for d, m, v, e, b, c, lr, wd in _PUBLISHED
    }


_NO_AUGMENT = dict(padding=0, flip=0.0, jitter=(0.0, 0.0, 0.0, 0.0))

_ETC = {
    "cifar10_convmixer_etc": dict(
        dataset="cifar10", scheme="etc", model="convmixer", model_options={"width": 256, "depth": 8, "patch": 1, "kernel": 9},
        epochs=300, batch=64, crop=32, lr=0.01, wd=0.01, optimizer="adamw", schedule="onecycle",
        ricap=None, mixup=0.8, cutmix=1.0, **_NO_AUGMENT),
    "cifar10_vit_etc": dict(
        dataset="cifar10", scheme="etc", model="vit_b_16", model_options={"patch": 16, "fresh_patch_embedding": False},
        epochs=70, batch=128, crop=224, lr=0.005, wd=1e-4, optimizer="sgd", schedule="cosine",
        ricap=None, **_NO_AUGMENT),
}
# Imagenette at 224 x 224 (conf/profile/imagenette.yaml): ConvMixer-384/8 with patch 4, the CIFAR-10 recipe's training.
_ETC["imagenette_convmixer_etc"] = dict(
    _ETC["cifar10_convmixer_etc"], dataset="imagenette", crop=224,
    model_options={"width": 384, "depth": 8, "patch": 4, "kernel": 9})
_ETC["imagenette_vit_etc"] = dict(_ETC["cifar10_vit_etc"], dataset="imagenette")

_CPU_BASE = dict(model="smallcnn", model_options={"width": 24}, epochs=5, batch=256, lr=0.2, wd=5e-4,
                 optimizer="sgd", schedule="triangle", label_smoothing=0.1, ricap=None, checkpoint_every=1,
                 **_NO_AUGMENT)
_QUICK_BASE = dict(model="smallcnn", model_options={"width": 16}, epochs=3, batch=128, lr=0.05, wd=5e-4,
                   optimizer="sgd", schedule="cosine", ricap=None, checkpoint_every=1, **_NO_AUGMENT)
_CROPS = {"mnist": 28, "fashion": 28, "cifar10": 32}
_CPU = {f"{d}_smallcnn_cpu": dict(_CPU_BASE, dataset=d, crop=c) for d, c in _CROPS.items()}
_QUICK = {f"{d}_smallcnn_quick": dict(_QUICK_BASE, dataset=d, crop=c) for d, c in _CROPS.items()}
#: The CPU recipe for any dataset (a declared one): the network sees the stored image size (crop None).
_ANY_CPU = {"smallcnn_cpu": dict(_CPU_BASE, crop=None)}

PRESETS: dict[str, dict[str, Any]] = {**_published(), **_ETC, **_CPU, **_QUICK, **_ANY_CPU}


def get_preset(name: str) -> dict[str, Any]:
    """The preset called ``name`` (a copy); an unknown name is a :class:`TrainError` listing the known ones."""
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise TrainError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None


#: Profile names that stand for one preset per cell, so a sweep (the DVC pipeline) can say
#: "the CPU recipe" or "the paper's recipe" for every dataset x model x scheme at once.
PROFILES = ("cpu", "paper")


def profile_preset(profile: str, dataset: str, model: str, scheme: str) -> str:
    """The preset that ``profile`` means for one cell: ``cpu`` -> ``<dataset>_<model>_cpu``,
    ``paper`` -> the published recipe of that dataset, model and scheme."""
    if profile == "cpu":
        for name in (f"{dataset}_{tag(model)}_cpu", f"{tag(model)}_cpu"):  # the built-ins' named recipes, else the one for any dataset
            if name in _CPU or name in _ANY_CPU:
                return name
        raise TrainError(f"no CPU preset for {dataset} / {model}; CPU presets: {', '.join(sorted({**_CPU, **_ANY_CPU}))}")
    name = published_preset(dataset, model, scheme)
    if name is None:
        raise TrainError(f"the paper has no recipe for {dataset} / {model} / {scheme}; "
                         f"published presets: {', '.join(sorted(_published()))}")
    return name


def published_preset(dataset: str, model: str, scheme: str) -> str | None:
    """The name of the published preset for one cell of the paper's table, if there is one."""
    name = f"{dataset}_{tag(model)}_{scheme}"
    return name if name in _published() else None
