"""Where each dataset and parameter file comes from, and the checksums that identify it.

A file is *verified* when the md5 of the file as published (the ``.gz`` / ``.tar.gz``)
matches, or when the sha256 of its content (the decompressed IDX bytes, the parameter
file itself) matches. Content checksums matter because mirrors such as Debian's
``dataset-fashion-mnist`` recompress the archives: their ``.gz`` bytes differ from the
official ones while the data inside are identical.

Provenance of every pinned value (see ``docs/fetch.md``):

* MNIST ``.gz`` md5: the published values (LeCun's page, torchvision). ``t10k`` content
  sha256: computed from the official ``t10k-*.gz`` files (their md5 matches the published
  one). The ``train`` content sha256 are not pinned: we had no official copy to compute them.
* Fashion-MNIST ``.gz`` md5: zalando's README. Content sha256: computed from Debian's
  ``dataset-fashion-mnist`` package (the full official data, recompressed).
* CIFAR-10 MATLAB release: the tarball md5 from the Toronto page; no per-``.mat`` sha256 pinned.
* Imagenette (``imagenette2-320.tgz``, fast.ai's archive of 10 ImageNet classes, 320 px on the
  shorter side): the md5 that torchvision's ``Imagenette`` dataset pins for the archive; no
  per-image checksums are published (``images.tsv`` records ours).
* Vortex parameters: sha256 of the MATLAB-written files of the authors' repository
  ``CaoXiaokai/Random_Vortex_Transformation`` at commit ``f9f38e35``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

#: Environment variable: extra mirror folders (``os.pathsep``-separated), after ``--mirror``.
MIRROR_ENV = "VORTEX_MIRROR"
#: Environment variable: another base URL for the parameter files (a fork or a local server).
PARAMS_URL_ENV = "VORTEX_PARAMS_URL"

PARAMS_REPO = "CaoXiaokai/Random_Vortex_Transformation"
PARAMS_COMMIT = "f9f38e3570108453789b6c53c14ce3ef9b7d0e9f"
PARAMS_BASE_URL = f"https://raw.githubusercontent.com/{PARAMS_REPO}/{PARAMS_COMMIT}/DataProcess/params"


@dataclass(frozen=True)
class IdxFile:
    """One official IDX file: its published name (``.gz``), URLs, checksums and shape."""

    name: str  # e.g. "train-images-idx3-ubyte.gz"; a mirror may hold it without ".gz"
    urls: tuple[str, ...]
    shape: tuple[int, ...]  # documented shape, e.g. (60000, 28, 28)
    gz_md5: str | None = None
    content_sha256: str | None = None

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class IdxDataset:
    """The four IDX files of MNIST or Fashion-MNIST (images and labels of each split)."""

    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile

    @property
    def files(self) -> tuple[IdxFile, ...]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


@dataclass(frozen=True)
class CifarRelease:
    """The MATLAB release of CIFAR-10: one tarball holding ``cifar-10-batches-mat/``."""

    name: str
    urls: tuple[str, ...]
    md5: str | None
    #: sha256 of each ``.mat`` of the release, where known (none are pinned for the real release).
    mat_sha256: tuple[tuple[str, str], ...] = ()
    train_batches: int = 5
    batch_rows: int = 10000


@dataclass(frozen=True)
class ImageArchive:
    """An archive of an image folder (class sub-folders under ``train/`` and ``<test>/``), fetched then read
    like a declared ``folder`` source."""

    name: str
    urls: tuple[str, ...]
    md5: str | None
    folder: str  # the top folder inside the archive
    images: tuple[int, int]  # documented train and test image counts


@dataclass(frozen=True)
class ParamFile:
    """One published vortex parameter file."""

    name: str
    folder: str  # the authors' folder under DataProcess/params (mnist, fashion, cifar)
    sha256: str

    def url(self, base: str | None = None) -> str:
        base = base or os.environ.get(PARAMS_URL_ENV) or PARAMS_BASE_URL
        return f"{base.rstrip('/')}/{self.folder}/{self.name}"


def _idx(urls: tuple[str, ...], name: str, shape: tuple[int, ...], gz_md5: str, sha256: str | None) -> IdxFile:
    return IdxFile(name, tuple(u + name for u in urls), shape, gz_md5, sha256)


MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-matlab.tar.gz"

MNIST = IdxDataset(
    _idx(MNIST_URLS, "train-images-idx3-ubyte.gz", (60000, 28, 28), "f68b3c2dcbeaaa9fbdd348bbdeb94873", None),
    _idx(MNIST_URLS, "train-labels-idx1-ubyte.gz", (60000,), "d53e105ee54ea40749a09fcbcd1e9432", None),
    _idx(MNIST_URLS, "t10k-images-idx3-ubyte.gz", (10000, 28, 28), "9fb629c4189551a2d022fa330f9573f3",
         "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    _idx(MNIST_URLS, "t10k-labels-idx1-ubyte.gz", (10000,), "ec29112dd5afa0611ce80d1b7f02629c",
         "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
)

FASHION = IdxDataset(
    _idx(FASHION_URLS, "train-images-idx3-ubyte.gz", (60000, 28, 28), "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    _idx(FASHION_URLS, "train-labels-idx1-ubyte.gz", (60000,), "25c81989df183df01b3e8a0aad5dffbe",
         "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    _idx(FASHION_URLS, "t10k-images-idx3-ubyte.gz", (10000, 28, 28), "bef4ecab320f06d8554ea6380940ec79",
         "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    _idx(FASHION_URLS, "t10k-labels-idx1-ubyte.gz", (10000,), "bb300cfdad3c16e7a12a480ee83cd310",
         "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
)

CIFAR10 = CifarRelease("cifar-10-matlab.tar.gz", (CIFAR_URL,), "70270af85842c9e89bb428ec9976c926")

#: The EtC paper's 224 px set: 9,469 train and 3,925 validation images of 10 classes (13,394 in all).
IMAGENETTE = ImageArchive("imagenette2-320.tgz", ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",),
                          "3df6f0d01a2c9592104656642f5e78a3", "imagenette2-320", (9469, 3925))

#: Published vortex parameters, by the project's dataset name.
PARAMS: dict[str, tuple[ParamFile, ...]] = {
    "mnist": (
        ParamFile("vor_params_mnist_result.mat", "mnist",
                  "b8458fa07e0fe37776dbe132a40c59e50f1c8a320c44fc5fbc038e59abfeb00b"),
        ParamFile("vor_params_mnist_sensitivity1.mat", "mnist",
                  "74f64f70cd18c9dd72771df81b855a8bc36ea6df973ae67b1bde573e82902403"),
        ParamFile("vor_params_mnist_sensitivity2.mat", "mnist",
                  "5a7d389ff38a618a4bdf7e0b20d20afeaf6330725fcbcf7e43ed3bfde5a764ab"),
        ParamFile("vor_params_mnist_sensitivity3.mat", "mnist",
                  "98281552427fa440ce8ea9e56b71dd7e2b9220c6622503b5529bb052cbff7726"),
    ),
    "fashion": (
        ParamFile("vor_params_fashion.mat", "fashion",
                  "013f42026458a966970cd492fc202ff5b29516d85d3dbfa9083844b46de61105"),
    ),
    "cifar10": (
        ParamFile("vor_params_cifar.mat", "cifar",
                  "1d9608a2eb3735d4281f70ac41f29815e89665b04c4ffcff77a5699e63343a01"),
    ),
}


@dataclass(frozen=True)
class Sources:
    """The whole table: what ``pipeline.fetch`` fetches; tests pass their own."""

    mnist: IdxDataset = MNIST
    fashion: IdxDataset = FASHION
    cifar10: CifarRelease = CIFAR10
    imagenette: ImageArchive = IMAGENETTE
    params: dict[str, tuple[ParamFile, ...]] | None = None

    def params_for(self, dataset: str) -> tuple[ParamFile, ...]:
        return (self.params if self.params is not None else PARAMS).get(dataset, ())


OFFICIAL = Sources()
