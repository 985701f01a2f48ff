"""Several processes (GPUs, machines or CPU groups) under ``torchrun``: process group, ranks, global BatchNorm.

``torchrun`` starts one process per GPU (or per CPU group) and sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; :func:`distributed` joins the process group (NCCL on CUDA, gloo on CPU) for
the time of a run. Without those variables (a plain ``python -m train``) it is one process and
nothing distributed happens. :class:`train.loop.fit` asks :func:`rank` and :func:`world_size`.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import nn

from train.errors import TrainError


@dataclass(frozen=True)
class Processes:
    """This process's place among the run's processes, and its device."""

    rank: int
    world_size: int
    device: torch.device

    def describe(self) -> str:
        return str(self.device) if self.world_size == 1 else f"{self.world_size} processes ({self.device} in rank 0)"


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def resolve_device(name: str) -> torch.device:
    """The torch device of ``--device`` (auto: CUDA when torch sees a GPU), refused clearly when unusable."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise TrainError(f"unsupported device {name!r}: auto, cpu or cuda", "device")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("cuda asked for, but torch sees no CUDA device", "device")
    return device


@contextlib.contextmanager
def distributed(device_name: str) -> Iterator[Processes]:
    """Join torchrun's process group (if ``WORLD_SIZE`` > 1) on this rank's device; leave it at the end.

    CUDA: one GPU per process (``LOCAL_RANK``), NCCL. CPU: gloo; torchrun gives each process
    ``OMP_NUM_THREADS=1`` unless it is set.
    """
    device = resolve_device(device_name)
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1 or dist.is_initialized():
        yield Processes(rank(), world_size(), device)
        return
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise TrainError(f"local rank {local} but torch sees {torch.cuda.device_count()} GPU(s): "
                             f"--nproc_per_node must not exceed them", "device")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    try:
        yield Processes(dist.get_rank(), dist.get_world_size(), device)
    finally:
        dist.destroy_process_group()


def all_sum(values: list[torch.Tensor]) -> list[float]:
    """The sums over all ranks of scalar tensors (as floats); the values themselves with one process."""
    stacked = torch.stack([v.detach().double().reshape(()) for v in values])
    if world_size() > 1:
        stacked = stacked.to(_comm_device())
        dist.all_reduce(stacked)
    return stacked.cpu().tolist()


def from_rank0(make) -> Any:
    """``make()`` run on rank 0 and its result handed to every rank; a :class:`TrainError` there is raised on all."""
    result: Any
    if rank() == 0:
        try:
            result = ("ok", make())
        except TrainError as err:
            result = ("error", (err.problem, err.option))
    if world_size() > 1:
        box = [result if rank() == 0 else None]
        dist.broadcast_object_list(box, src=0, device=_comm_device())
        result = box[0]
    if result[0] == "error":
        raise TrainError(*result[1])
    return result[1]


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def broadcast_buffers(model: nn.Module) -> None:
    """Rank 0's BatchNorm running statistics on every rank, so every rank evaluates the checkpointed model."""
    if world_size() > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


class _AllSum(torch.autograd.Function):
    """The sum over ranks, differentiable: the gradient of a sum that every rank uses is the sum of their gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch (all ranks' slices together).

    torch's ``SyncBatchNorm`` does this on GPUs only; this one serves gloo on CPU. Two
    all-reduces per layer (sums, then squared deviations from the global mean), both
    differentiable, so the gradients are those of one process holding the
    whole batch (up to the order of float sums).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or world_size() == 1:
            return super().forward(x)
        channels = x.shape[1]
        count = torch.full((1,), x.numel() // channels, dtype=x.dtype, device=x.device)
        sums = _AllSum.apply(torch.cat([x.sum((0, 2, 3)), count]))
        n = sums[-1]
        mean = sums[:channels] / n
        centred = x - mean[None, :, None, None]
        var = _AllSum.apply(centred.square().sum((0, 2, 3))) / n
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)
        scale = self.weight * torch.rsqrt(var + self.eps)
        return centred * scale[None, :, None, None] + self.bias[None, :, None, None]


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm2d of ``model`` with global-batch statistics: torch's SyncBatchNorm on CUDA, ours on CPU."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if type(child) is nn.BatchNorm2d:
            if not (child.affine and child.track_running_stats and child.momentum is not None):
                raise TrainError(f"{name}: global BatchNorm needs an affine layer with running statistics", "sync_bn")
            replacement = GlobalBatchNorm2d(child.num_features, child.eps, child.momentum).to(child.weight.device)
            replacement.load_state_dict(child.state_dict())
            setattr(model, name, replacement)
        else:
            sync_batchnorm(child, device)
    return model
