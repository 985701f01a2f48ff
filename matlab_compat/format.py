"""The one description of the MAT-file v5/v7 format, shared by reader and writer.

Type codes (``mi*``: how bytes are stored), class codes (``mx*``: what MATLAB holds), the
tables between them and numpy dtypes, and the array-flag bits. Source: MathWorks' "MAT-File
Format" (matfile_format.pdf) and the MATLAB-written fixtures (see docs/matfile.md).
"""
from __future__ import annotations

import numpy as np

HEADER_BYTES = 128
HEADER_TEXT_BYTES = 116
SUBSYS_BYTES = 8
V5_VERSION = 0x0100
V73_VERSION = 0x0200
V73_USERBLOCK = 512

# Data types (miTYPE).
miINT8, miUINT8, miINT16, miUINT16, miINT32, miUINT32 = 1, 2, 3, 4, 5, 6
miSINGLE, miDOUBLE, miINT64, miUINT64 = 7, 9, 12, 13
miMATRIX, miCOMPRESSED, miUTF8, miUTF16, miUTF32 = 14, 15, 16, 17, 18

# Array classes (mxCLASS).
mxCELL, mxSTRUCT, mxOBJECT, mxCHAR, mxSPARSE = 1, 2, 3, 4, 5
mxDOUBLE, mxSINGLE, mxINT8, mxUINT8, mxINT16, mxUINT16 = 6, 7, 8, 9, 10, 11
mxINT32, mxUINT32, mxINT64, mxUINT64 = 12, 13, 14, 15
mxFUNCTION, mxOPAQUE = 16, 17

# Array-flag bits (in the first word of the array-flags element, class in the low byte).
FLAG_COMPLEX, FLAG_GLOBAL, FLAG_LOGICAL = 0x0800, 0x0400, 0x0200
#: Set on every sparse array by MATLAB since 7.x (2007 on; absent in 6.5's files).
FLAG_SPARSE_V7 = 0x1000

#: numpy dtype (native order) of each numeric data type.
MI_DTYPE: dict[int, np.dtype] = {
    miINT8: np.dtype("i1"), miUINT8: np.dtype("u1"), miINT16: np.dtype("i2"),
    miUINT16: np.dtype("u2"), miINT32: np.dtype("i4"), miUINT32: np.dtype("u4"),
    miSINGLE: np.dtype("f4"), miDOUBLE: np.dtype("f8"), miINT64: np.dtype("i8"),
    miUINT64: np.dtype("u8"),
}
#: data type of each numpy dtype kind+size (inverse of MI_DTYPE).
DTYPE_MI: dict[str, int] = {dt.str[1:]: mi for mi, dt in MI_DTYPE.items()}

#: numpy dtype MATLAB holds for each numeric class (that of the data type of the same name).
MX_DTYPE: dict[int, np.dtype] = {mx: MI_DTYPE[mi] for mx, mi in (
    (mxDOUBLE, miDOUBLE), (mxSINGLE, miSINGLE), (mxINT8, miINT8), (mxUINT8, miUINT8),
    (mxINT16, miINT16), (mxUINT16, miUINT16), (mxINT32, miINT32), (mxUINT32, miUINT32),
    (mxINT64, miINT64), (mxUINT64, miUINT64))}
#: numeric class of each numpy dtype (kind+size).
DTYPE_MX: dict[str, int] = {dt.str[1:]: mx for mx, dt in MX_DTYPE.items()}

#: MATLAB class names (as ``whos`` prints them), by class code.
MX_NAME: dict[int, str] = {
    mxCELL: "cell", mxSTRUCT: "struct", mxOBJECT: "object", mxCHAR: "char",
    mxSPARSE: "sparse", mxDOUBLE: "double", mxSINGLE: "single", mxINT8: "int8",
    mxUINT8: "uint8", mxINT16: "int16", mxUINT16: "uint16", mxINT32: "int32",
    mxUINT32: "uint32", mxINT64: "int64", mxUINT64: "uint64",
    mxFUNCTION: "function_handle", mxOPAQUE: "opaque",
}
MI_NAME: dict[int, str] = {
    miINT8: "int8", miUINT8: "uint8", miINT16: "int16", miUINT16: "uint16", miINT32: "int32",
    miUINT32: "uint32", miSINGLE: "single", miDOUBLE: "double", miINT64: "int64",
    miUINT64: "uint64", miMATRIX: "matrix", miCOMPRESSED: "compressed", miUTF8: "utf8",
    miUTF16: "utf16", miUTF32: "utf32",
}

#: MATLAB's compact storage of integer-valued DOUBLE arrays: the first of these storage types
#: whose range holds every value is used (never int8). From MATLAB's files: [21 27 0 1] ->
#: uint8, [15 28 -1 1] -> int16, 306 -> uint16, 978454800..1009841400 -> int32 (see
#: docs/matfile.md); never uint32: values of 2^31..2^32-1 stay double (fdd_compileInfo.mat of
#: the modern corpus stores [6.8e8 .. 3.7e9] as miDOUBLE).
COMPACT_TYPES: tuple[int, ...] = (miUINT8, miUINT16, miINT16, miINT32)

#: MATLAB's zlib stream: level 6, fed in chunks of this many bytes with a full flush after each.
ZLIB_LEVEL = 6
ZLIB_CHUNK = 8192
#: Upper bound of zlib's compression ratio (deflate's maximum is about 1032:1); a declared
#: uncompressed size beyond it is corrupt, never allocated.
ZLIB_MAX_RATIO = 1100

def padded(n: int) -> int:
    """Bytes of an element's data of ``n`` bytes padded to the 8-byte boundary."""
    return n + (-n % 8)
