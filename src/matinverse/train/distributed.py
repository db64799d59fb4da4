"""Several training processes (``torchrun``) as one: process group, gradient averaging.

``torchrun --nproc-per-node N ...`` starts N copies of a command with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set; :func:`setup`
joins them into a process group (gloo for CPU tensors, NCCL for CUDA tensors when CUDA is
present). Without those variables everything here is a no-op for one process.
"""

import os

import torch
from torch import distributed as dist


def setup() -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (once; later calls only look).
    When the machine has a GPU for each of its processes, process ``LOCAL_RANK`` uses GPU
    ``LOCAL_RANK`` ("cuda" means that one) and CUDA tensors go through NCCL; CPU tensors
    always go through gloo. Returns (rank, world size)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if dist.is_available() and not dist.is_initialized() and world > 1:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        if torch.cuda.is_available() and torch.cuda.device_count() >= local:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            dist.init_process_group("cpu:gloo,cuda:nccl")
        else:
            dist.init_process_group("gloo")
    return rank(), world_size()


def rank() -> int:
    """This process's rank (0 alone or before :func:`setup`, else from the group or
    ``RANK``)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", 0))


def world_size() -> int:
    """Number of processes in the group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def barrier() -> None:
    """Wait until every process gets here (nothing alone)."""
    if world_size() > 1:
        dist.barrier()


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace each gradient by its mean over the processes, in one all-reduce. A parameter
    without a gradient counts as zero where it has none, and keeps ``grad = None`` only if
    no process gave it one (as in one process, where AdamW then skips it)."""
    if world_size() == 1 or not params:
        return
    device = params[0].device
    parts = [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in params]
    seen = torch.tensor([p.grad is not None for p in params], dtype=parts[0].dtype)
    flat = torch.cat(parts + [seen.to(device)])
    dist.all_reduce(flat)
    flat[: -len(params)] /= world_size()
    offset = 0
    for p, any_grad in zip(params, flat[-len(params) :].tolist(), strict=True):
        mean = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
        if any_grad:
            p.grad = mean.clone()


def broadcast_modules(modules) -> None:
    """Copy the parameters and buffers of ``modules`` (name -> module) from rank 0 to all."""
    if world_size() == 1:
        return
    for module in modules.values():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def broadcast_object(obj):
    """Rank 0's ``obj`` (any picklable object) on every process."""
    if world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, 0)
    return box[0]


def mean_over_processes(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over the processes (same keys on all)."""
    if world_size() == 1 or not values:
        return values
    tensor = torch.tensor(list(values.values()), dtype=torch.float64)
    dist.all_reduce(tensor)
    return dict(zip(values, (tensor / world_size()).tolist(), strict=True))
