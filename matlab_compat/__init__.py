"""MATLAB compatibility: MAT-file I/O byte-compatible with MATLAB, and MATLAB semantics."""
from matlab_compat.atomic import atomic_output
from matlab_compat.errors import MatFileError
from matlab_compat.header import DEFAULT_TEXT, Header, read_header
from matlab_compat.mat73 import RowChunks, RowReader
from matlab_compat.matfile import loadmat, savemat
from matlab_compat.values import MatlabOpaque, MatStruct

__all__ = ["MatFileError", "atomic_output"]
__all__ += ["DEFAULT_TEXT", "Header", "loadmat", "read_header", "savemat", "MatlabOpaque", "MatStruct", "RowChunks", "RowReader"]
from matlab_compat.rng import MatlabStream, rng
from matlab_compat.semantics import flatten_f, mrange, mround, mslice, reshape_f

__all__ += ["MatlabStream", "rng", "flatten_f", "mrange", "mround", "mslice", "reshape_f"]
