"""Ports of the MATLAB data scripts: fetch, load_cifar, vortex, random permutation, and further encryptions."""
from pipeline.errors import PipelineError

__all__ = ["PipelineError"]
