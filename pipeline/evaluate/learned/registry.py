"""The learned attacks, one line each (:class:`pipeline.evaluate.learned.kind.LearnedAttack`); a new
kind is one module declaring its part and one line here."""
from __future__ import annotations

from workbench.registry import Registry
from pipeline.errors import PipelineError
from pipeline.evaluate.learned import fr, gan, itn
from pipeline.evaluate.learned.kind import LearnedAttack

LEARNED: Registry[LearnedAttack] = Registry("learned attack", [
    itn.ATTACK,
    gan.ATTACK,
    fr.ATTACK,
], error=PipelineError)
