"""Training and evaluation of ResNet-18, ViT, ConvMixer and a small CNN on plain and encrypted datasets."""
import os

# Before any of the package's modules loads torch (and OpenMP): threads that sleep instead of
# spinning while they wait. On a busy machine (other jobs on the same cores) spinning made CPU
# training up to 9x slower; idle, it costs little. Set here so the CLI, the API and every
# caller (pipeline.attack, pipeline.information_report) get it, unless torch came first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from train.errors import TrainError  # noqa: E402

__all__ = ["TrainError"]
