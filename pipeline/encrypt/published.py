"""Published keys of the reference code, translated into this project's key tables.

Formats (``--from`` of ``python -m pipeline.keys``; docs/schemes.md):

* ``tanaka-pkl``: Tanaka's ``key.pkl`` (``BlockScramble.save``): a pickle of the list
  ``[blockSize, key]``, ``blockSize = [M, M, C]`` and ``key`` a numpy integer array, a permutation
  of 0..2*M*M*C-1 in Tanaka's block layout (:func:`pipeline.encrypt.le.from_tanaka`). The ELE
  paper's 64 block keys ``key4/<i>_.pkl`` are files of the same format, one per block: block i
  (row-major on the plain image) uses file ``<i>_.pkl``.
* ``siagan-npz``: the SIA-GAN package's ``paper_keys.npz``: ``le_key4`` (64, 96), the same 64
  keys as rows; ``pe_inv``, the 32*32*3 bits of its PE key packed (``np.packbits``; 0 = negate,
  1 = keep, samples in (row, column, channel) order); ``pe_colors`` (1024,), each pixel's colour
  code 0..5, an index into the six orders of (R, G, B) in lexicographic order.

Pickles are read by :class:`ArrayUnpickler`, which builds numeric numpy arrays, numpy scalars
and plain Python values and nothing else: a pickle naming any other callable (``os.system``, ...)
is refused before anything is called, and an array's state is checked (numeric dtype, data of
exactly the size its shape needs) before numpy sees it. Every problem is one
:class:`PipelineError` line.
"""
from __future__ import annotations

import io
import math
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np

from pipeline.encrypt.etc_key import check_block_size
from pipeline.encrypt.le import from_tanaka
from pipeline.errors import PipelineError

FORMATS = ("tanaka-pkl", "siagan-npz")
MAX_KEY_FILE_BYTES = 16 << 20  # a Tanaka key of 32 x 32 blocks is 24 KiB; SIA-GAN's archive 25 KiB
#: The ELE paper's block order: its scripts call random.seed(30) and shuffle the block numbers.
PAPER_BLOCK_SEED = 30

class _PickledArray:
    """Stands in for a pickled numpy array: pickle hands it the array's state (BUILD), which is checked
    before any memory is set aside: a plain numeric dtype (no objects) and exactly the bytes the shape needs."""

    def __init__(self, *_ignored) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise PipelineError("holds an array state numpy does not write")
        shape, dtype, fortran, data = state[-4:]
        dtype = _numeric(dtype)
        if isinstance(data, str):  # a Python 2 pickle's bytes, read as latin-1 text
            data = data.encode("latin-1")
        if not isinstance(data, (bytes, bytearray)) or not isinstance(shape, tuple) \
                or not all(isinstance(n, int) and n >= 0 for n in shape) or math.prod(shape) * dtype.itemsize != len(data):
            raise PipelineError("holds an array whose data does not match its shape")
        self.array = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()


def _numeric(dtype: object) -> np.dtype:
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.kind not in "biuf":
        raise PipelineError(f"holds values of {dtype!r}: a key pickle may hold only numeric arrays")
    return dtype


def _frombuffer(buffer, dtype, shape, order):
    """numpy's ``_frombuffer`` (protocol 5) for numeric dtypes only; it allocates nothing beyond the buffer's bytes."""
    return np.frombuffer(buffer, _numeric(dtype)).reshape(shape, order=order).copy()


def _scalar(dtype, data):
    """numpy's ``scalar`` (a pickled numpy number) for numeric dtypes only."""
    return _SCALAR(_numeric(dtype), data)


def _latin1(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as pickles of protocols 0-2 use it for bytes (latin-1 only: no other codec is looked up)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise PipelineError("encodes bytes with a codec other than latin-1: not a key pickle")
    return text.encode("latin-1")


# What a pickled numpy array or scalar names (numpy.core became numpy._core in numpy 2; pickles name either).
_SCALAR = np.int64(0).__reduce__()[0]
_ALLOWED = {
    **{(module, name): target for module in ("numpy.core.multiarray", "numpy._core.multiarray")
       for name, target in (("_reconstruct", _PickledArray), ("scalar", _scalar))},
    **{(module, "_frombuffer"): _frombuffer for module in ("numpy.core.numeric", "numpy._core.numeric")},
    ("_codecs", "encode"): _latin1,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can only make numeric numpy arrays, numpy scalars and plain Python values."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise PipelineError(f"refers to {module}.{name}: a key pickle may hold only numpy arrays and integers") from None


def _arrays(value: object) -> object:
    """The unpickled value with every stand-in replaced by its checked array."""
    if isinstance(value, _PickledArray):
        if value.array is None:
            raise PipelineError("holds an array without its data")
        return value.array
    if isinstance(value, (list, tuple)):
        return type(value)(_arrays(v) for v in value)
    return value


def read_bytes(path: Path, what: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_KEY_FILE_BYTES` (a FIFO or a folder is refused unread)."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{what} {path}: not a regular file")
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as err:
        raise PipelineError(f"{what} {path}: {err.strerror or err}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise PipelineError(f"{what} {path}: larger than {MAX_KEY_FILE_BYTES} bytes, not a key file")
    return data


def load_pickle(path: Path) -> object:
    """The value of a key pickle (Python 2 pickles too), built by :class:`ArrayUnpickler`."""
    data = read_bytes(path, "key pickle")
    try:
        return _arrays(ArrayUnpickler(io.BytesIO(data), encoding="latin1").load())
    except PipelineError as err:
        raise PipelineError(f"key pickle {path} {err}") from None
    except Exception as err:  # a malformed pickle raises whatever its opcodes provoke; each is one line
        raise PipelineError(f"key pickle {path}: not a readable pickle ({type(err).__name__}: {' '.join(str(err).split())})") from None


def _integers(value: object, where: str) -> np.ndarray:
    array = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray, np.integer, int)) else None
    if array is None or array.dtype.kind not in "iu" or array.ndim > 1:
        raise PipelineError(f"{where}: integers expected, got {type(value).__name__}"
                            f"{'' if array is None else f' of {array.dtype} {array.shape}'}")
    return array.astype(np.int64)


def _permutation(key: np.ndarray, size: int, where: str) -> np.ndarray:
    if key.shape != (size,) or not np.array_equal(np.sort(key), np.arange(size)):
        raise PipelineError(f"{where}: the key is not a permutation of 0..{size - 1} ({key.shape[0]} values)")
    return key


def tanaka_key(path: Path, channels: int) -> tuple[int, np.ndarray]:
    """(M, key) of a Tanaka ``key.pkl``: blocks of M x M x ``channels``, the key a permutation of 0..2M^2C-1."""
    value = load_pickle(path)
    where = f"key pickle {path}"
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise PipelineError(f"{where}: Tanaka's key.pkl holds [blockSize, key], got {type(value).__name__}"
                            f"{f' of {len(value)} items' if isinstance(value, (list, tuple)) else ''}")
    size, key = _integers(value[0], f"{where}: blockSize"), _integers(value[1], f"{where}: key")
    if size.shape != (3,) or size[0] != size[1] or size[0] < 1:
        raise PipelineError(f"{where}: blockSize {size.tolist()} is not [M, M, C] of square blocks")
    if size[2] != channels:
        raise PipelineError(f"{where}: a key for {size[2]}-channel blocks; the images have {channels}")
    block = int(size[0])
    return block, _permutation(key.reshape(-1), 2 * block * block * channels, where)


def block_order(seed: int, blocks: int) -> np.ndarray:
    """The reference scripts' block order: ``random.seed(seed)``, then ``random.shuffle`` of 0..blocks-1."""
    order = list(range(blocks))
    random.Random(seed).shuffle(order)
    return np.asarray(order, dtype=np.int64)


def ele_rows(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per-block keys by plain block (the reference's indexing) -> by encrypted block (this project's: row j
    is the key of the plain block that encrypted block j holds)."""
    return keys[order]


def le_tables(keys: np.ndarray, block: int, image_shape: tuple[int, int, int], per_block: bool,
              block_seed: int) -> dict[str, np.ndarray]:
    """LE (one Tanaka key) or ELE (one per plain block, block order of ``block_seed``) as key tables."""
    h, w, c = image_shape
    try:
        check_block_size(h, w, block)
    except PipelineError as err:
        raise PipelineError(f"the published key has blocks of {block}: {err}") from None
    blocks = (h // block) * (w // block)
    if per_block and len(keys) != blocks:
        raise PipelineError(f"ELE on {h} x {w} images with blocks of {block} needs {blocks} block keys, got {len(keys)}")
    order = block_order(block_seed, blocks) if per_block else np.arange(blocks, dtype=np.int64)
    shuffle, negate = from_tanaka(ele_rows(keys, order) if per_block else keys[:1], block, c)
    return {"block_perm": order, "shuffle": shuffle, "negate": negate}


def tanaka_folder(folder: Path, channels: int) -> tuple[int, np.ndarray]:
    """(M, keys) of the ELE paper's key folder: files ``0_.pkl``, ``1_.pkl``, ... one Tanaka key per block."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"--input {folder}: ELE's published keys are a folder of <i>_.pkl files")
    count = 0
    while (folder / f"{count}_.pkl").exists():
        count += 1
    if count == 0:
        raise PipelineError(f"--input {folder}: no 0_.pkl (the ELE paper's key files are 0_.pkl, 1_.pkl, ...)")
    found = [tanaka_key(folder / f"{i}_.pkl", channels) for i in range(count)]
    if len({block for block, _ in found}) != 1:
        raise PipelineError(f"--input {folder}: the key files are for different block sizes")
    return found[0][0], np.stack([key for _, key in found])


def siagan_archive(path: Path) -> dict[str, np.ndarray]:
    """The arrays of SIA-GAN's ``paper_keys.npz`` (no pickles; sizes checked before inflating)."""
    data = read_bytes(path, "--input")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_KEY_FILE_BYTES:
                raise PipelineError(f"--input {path}: its arrays would take more than {MAX_KEY_FILE_BYTES} bytes")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except PipelineError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise PipelineError(f"--input {path}: not a readable .npz archive ({' '.join(str(err).split())})") from None


def _member(arrays: dict[str, np.ndarray], name: str, path: Path) -> np.ndarray:
    if name not in arrays:
        raise PipelineError(f"--input {path}: no {name} (SIA-GAN's paper_keys.npz holds le_key4, pe_inv, pe_colors)")
    return arrays[name]


def siagan_le_keys(path: Path, channels: int) -> tuple[int, np.ndarray]:
    """(M, keys) of ``le_key4``: rows of Tanaka keys for 4 x 4 RGB blocks."""
    keys = _integers_2d(_member(siagan_archive(path), "le_key4", path), f"--input {path}: le_key4")
    if channels != 3 or keys.shape[1] != 96:
        raise PipelineError(f"--input {path}: le_key4 holds keys of 4 x 4 RGB blocks ({keys.shape[1]} values), not for these images")
    return 4, np.stack([_permutation(row, 96, f"--input {path}: le_key4 row {i}") for i, row in enumerate(keys)])


def _integers_2d(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype.kind not in "iu" or array.ndim != 2:
        raise PipelineError(f"{where}: a 2-D integer array expected, got {array.dtype} {array.shape}")
    return array.astype(np.int64)


def siagan_pe_tables(path: Path, image_shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """PE tables of ``pe_inv`` / ``pe_colors`` (32 x 32 RGB): ``negate`` (1024, 3), ``order`` (1024,)."""
    if tuple(image_shape) != (32, 32, 3):
        raise PipelineError(f"--input {path}: its PE key is for 32 x 32 RGB images, not {'x'.join(map(str, image_shape))}")
    arrays = siagan_archive(path)
    packed, colors = _member(arrays, "pe_inv", path), _member(arrays, "pe_colors", path)
    if packed.dtype != np.uint8 or packed.shape != (384,):
        raise PipelineError(f"--input {path}: pe_inv is {packed.dtype} {packed.shape}; 3072 packed bits (uint8 (384,)) expected")
    colors = _integers(colors, f"--input {path}: pe_colors")
    if colors.shape != (1024,) or colors.min() < 0 or colors.max() > 5:
        raise PipelineError(f"--input {path}: pe_colors must be 1024 colour codes 0..5")
    keep = np.unpackbits(packed)[:3072].astype(bool)
    return {"negate": ~keep.reshape(1024, 3), "order": colors}
