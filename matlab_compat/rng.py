"""MATLAB's default random stream: the Mersenne Twister (MT19937) behind ``rand``.

``rng(seed)`` seeds the twister with ``seed`` (MATLAB maps seed 0 -- also ``rng('default')``
and a fresh session -- to the twister's classic seed 5489). ``rand`` turns two 32-bit outputs
a, b into ``((a >> 5) * 2**26 + (b >> 6)) / 2**53``, the recipe of
``numpy.random.RandomState.random_sample``, so the stream wraps a ``RandomState`` seeded the
same way (integer seeds use MT19937's ``init_genrand``, as MATLAB does). ``rand(m, n)``
fills its result column-major, one draw after another.

The stream is an object passed explicitly, never hidden global state.
"""
from __future__ import annotations

import numpy as np

MATLAB_DEFAULT_SEED = 5489  # the twister seed of rng(0) / rng('default') / a fresh session


class MatlabStream:
    """One MATLAB random stream; draws advance it exactly as MATLAB's ``rand`` calls do."""

    def __init__(self, seed: int = 0):
        if isinstance(seed, bool) or int(seed) != seed or not 0 <= int(seed) < 2**32:
            raise ValueError(f"MATLAB seeds are integers 0 .. 2^32-1, got {seed!r}")
        self.seed = int(seed)
        self._state = np.random.RandomState(self.seed or MATLAB_DEFAULT_SEED)

    def rand(self, *shape: int) -> np.ndarray:
        """MATLAB ``rand(m, n, ...)``: float64 in (0, 1), filled column-major.

        ``rand(n)`` is n x n as in MATLAB; ``rand()`` is one value as a 1 x 1 array.
        """
        if len(shape) == 0:
            shape = (1, 1)
        elif len(shape) == 1:
            shape = (shape[0], shape[0])
        shape = tuple(max(int(s), 0) for s in shape)
        count = int(np.prod(shape))
        return self.draws(count).reshape(shape, order="F")

    def draws(self, count: int) -> np.ndarray:
        """The next ``count`` values of the stream as a flat float64 array (``rand(count, 1)``)."""
        return self._state.random_sample(int(count))


def rng(seed: int = 0) -> MatlabStream:
    """MATLAB ``rng(seed)`` (twister): a fresh stream; ``rng(0)`` is MATLAB's default stream."""
    return MatlabStream(seed)
