"""THE registry of statistical attack methods: one line per method, in the order they run and are reported."""
from __future__ import annotations

from workbench.registry import Registry
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_methods.etc_blocks import ETC_BLOCKS
from pipeline.evaluate.attack_methods.method import AttackMethod
from pipeline.evaluate.attack_methods.pixel_map import PIXEL_MAP
from pipeline.evaluate.attack_methods.sample_map import SAMPLE_MAP

METHODS: Registry[AttackMethod] = Registry("statistical attack method", error=PipelineError)
METHODS.add(SAMPLE_MAP)
METHODS.add(PIXEL_MAP)
METHODS.add(ETC_BLOCKS)
