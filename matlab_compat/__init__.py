"""MATLAB compatibility: MAT-file I/O byte-compatible with MATLAB, and MATLAB semantics."""
from matlab_compat.atomic import atomic_output
from matlab_compat.errors import MatFileError

__all__ = ["MatFileError", "atomic_output"]
