"""The registry of encryption schemes: one line per scheme; every stage looks schemes up here.

Adding a scheme: write its module (a :class:`pipeline.encrypt.scheme.Scheme` subclass) and add
one line to :data:`SCHEMES` (``docs/architecture.md``); the registry style is :mod:`workbench.registry`.
"""
from __future__ import annotations

from pipeline.encrypt.ele import EleScheme
from pipeline.encrypt.etc import BlockScrambleScheme, EtcScheme
from pipeline.encrypt.le import LeScheme
from pipeline.encrypt.pe import PeScheme
from pipeline.encrypt.permutation import RandomPermutationScheme
from pipeline.encrypt.scheme import Scheme
from pipeline.encrypt.vortex import VortexScheme
from pipeline.errors import PipelineError
from workbench.registry import Registry

SCHEMES: Registry[Scheme] = Registry("scheme", (
    VortexScheme(),
    RandomPermutationScheme(),
    EtcScheme(),
    PeScheme(),
    LeScheme(),
    EleScheme(),
    BlockScrambleScheme(),
), error=PipelineError)

#: The plain images: a variant of every dataset, but no scheme.
PLAIN = "origin"

