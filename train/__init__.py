"""Training and evaluation of ResNet-18, ViT, ConvMixer and a small CNN on plain and encrypted datasets."""
from train.errors import TrainError

__all__ = ["TrainError"]
