"""A small resumable training loop, for one process or several (``torchrun``).

``Trainer.fit(step)`` calls ``step(rng, gen)`` for a batch loss, back-propagates, clips the
gradient norm and steps AdamW under a cosine learning-rate schedule. With ``groups`` (name ->
module names) each group has its own optimiser and ``step`` returns {group: loss} for the
groups to update at that step (a GAN alternates critic and generator updates this way).
Epoch e draws its randomness from ``numpy.random.default_rng([seed, e])`` and a torch
generator seeded the same way, so a run does not depend on where it was interrupted. With
a ``checkpoint`` path the state (modules, optimisers, history) is written atomically after
every epoch and a new ``fit`` with the same settings continues after the last finished epoch;
with a :class:`~matinverse.train.run.Run` as ``checkpoint`` the epoch records also go to its
``metrics.jsonl``.

Several processes (``torchrun --nproc-per-node N``; see :mod:`.distributed`): each runs the
same script and builds the same Trainer, which joins the process group. Rank r of N draws
from ``default_rng([seed, e, r])`` (and a torch generator seeded from it), so ``step``, left
unchanged, samples a different batch on every process and the processes together see N
batches per step: the gradient of each group is averaged over the processes after backward
(one all-reduce, before clipping), which equals the gradient of the mean loss over the N
batches. Parameters and buffers start from rank 0's; the epoch's mean losses are averaged
over the processes; ``evaluate`` runs on rank 0 and its metrics reach all processes, as do
resumed checkpoints; only rank 0 writes files. ``self.rank`` and ``self.world_size`` let a
``step`` take its own slice of a global batch instead.
"""

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from matinverse.errors import InputError
from matinverse.io.atomic import atomic_path
from matinverse.train import distributed
from matinverse.train.run import Run


class Trainer:
    """Fit the parameters of ``modules`` (name -> module) for ``epochs`` x ``steps_per_epoch``
    steps with learning rate ``lr`` decayed by a cosine to ``lr * final_lr_ratio``.

    ``groups`` (default: one group "loss" of all modules) gives each named group of modules
    its own AdamW (``betas``); the schedule follows the step count, shared by all groups."""

    def __init__(
        self,
        modules: dict[str, nn.Module],
        epochs: int,
        steps_per_epoch: int,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        grad_clip: float = 1.0,
        final_lr_ratio: float = 0.02,
        seed: int = 0,
        checkpoint: str | os.PathLike | None = None,
        groups: dict[str, tuple[str, ...]] | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
    ):
        if epochs < 1 or steps_per_epoch < 1:
            raise InputError("epochs and steps per epoch must be at least 1")
        self.rank, self.world_size = distributed.setup()
        self.modules = modules
        self.epochs, self.steps_per_epoch, self.seed = epochs, steps_per_epoch, seed
        self.grad_clip = grad_clip
        self.groups = groups or {"loss": tuple(modules)}
        total = epochs * steps_per_epoch

        def schedule(i):
            return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * i / total))

        self.schedule, self.lr = schedule, lr
        self.params, self.optimizers = {}, {}
        for group, names in self.groups.items():
            params = [p for n in names for p in modules[n].parameters() if p.requires_grad]
            self.params[group] = params
            self.optimizers[group] = torch.optim.AdamW(
                params, lr=lr, weight_decay=weight_decay, betas=betas
            )
        self.run = checkpoint if isinstance(checkpoint, Run) else None
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.settings = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "lr": lr}
        self.settings.update(seed=seed, weight_decay=weight_decay)
        if groups is not None:
            self.settings.update(groups={k: list(v) for k, v in groups.items()}, betas=list(betas))
        if self.world_size > 1:  # the global batch, hence the run, depends on it
            self.settings.update(processes=self.world_size)
        self.history: list[dict] = []
        self.global_step = 0  # index of the step being run, over all epochs

    def fit(
        self,
        step: Callable[[np.random.Generator, torch.Generator], torch.Tensor | dict],
        evaluate: Callable[[], dict] | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_epoch: Callable[[dict], None] | None = None,
    ) -> list[dict]:
        """Train; ``evaluate()`` (metrics dict) runs after each epoch. Returns the history:
        one dict per epoch with ``epoch``, the mean training loss of each group (``loss``
        without groups, else the group names) and the metrics. ``on_epoch(record)`` sees
        each new history record once the epoch is checkpointed; an exception it raises
        (e.g. ``optuna.TrialPruned``) stops training and propagates."""
        start = self._resume()
        distributed.broadcast_modules(self.modules)
        if self.run is not None:
            self.run.restart_metrics(self.history)
        total = self.epochs * self.steps_per_epoch
        for epoch in range(start, self.epochs):
            key = [self.seed, epoch] + ([self.rank] if self.world_size > 1 else [])
            rng = np.random.default_rng(key)
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            for module in self.modules.values():
                module.train()
            losses = {group: [] for group in self.groups}
            for i in range(self.steps_per_epoch):
                self.global_step = epoch * self.steps_per_epoch + i
                for optimizer in self.optimizers.values():
                    for group in optimizer.param_groups:
                        group["lr"] = self.lr * self.schedule(self.global_step)
                result = step(rng, gen)
                if not isinstance(result, dict):
                    result = {"loss": result}
                for group, loss in result.items():
                    self.optimizers[group].zero_grad(set_to_none=True)
                    loss.backward()
                    distributed.average_gradients(self.params[group])
                    nn.utils.clip_grad_norm_(self.params[group], self.grad_clip)
                    self.optimizers[group].step()
                    losses[group].append(float(loss.detach()))
                if progress is not None:
                    progress(epoch * self.steps_per_epoch + i + 1, total)
            for module in self.modules.values():
                module.eval()
            distributed.broadcast_modules(self.modules)  # buffers (e.g. batch-norm statistics)
            record = {"epoch": epoch + 1}
            mean_losses = {g: float(np.mean(v)) for g, v in losses.items() if v}
            record.update(distributed.mean_over_processes(mean_losses))
            if evaluate is not None and self.rank == 0:
                with torch.no_grad():
                    record.update(evaluate())
            record = distributed.broadcast_object(record)
            self.history.append(record)
            self._save(epoch + 1)
            if on_epoch is not None:
                on_epoch(record)
        return self.history

    def _save(self, epochs_done: int) -> None:
        """Write the checkpoint (rank 0; the others wait), then log the epoch's record."""
        if self.checkpoint is None:
            return
        if self.rank == 0:
            self._write_checkpoint(epochs_done)
        distributed.barrier()
        if self.run is not None:
            self.run.log(self.history[-1])

    def _write_checkpoint(self, epochs_done: int) -> None:
        state = {
            "settings": self.settings,
            "epochs_done": epochs_done,
            "history": self.history,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
        }
        with atomic_path(self.checkpoint) as tmp:
            torch.save(state, tmp)

    def _resume(self) -> int:
        """Load the checkpoint (read on rank 0, sent to all); returns the epochs done."""
        state = None
        if self.rank == 0 and self.checkpoint is not None and self.checkpoint.is_file():
            state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        state = distributed.broadcast_object(state)
        if state is None:
            return 0
        if state["settings"] != self.settings:
            raise InputError(
                f"checkpoint {self.checkpoint} was written with other settings "
                f"({state['settings']}); use a new run folder or the same settings"
            )
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for group in self.groups:
            self.optimizers[group].load_state_dict(state["optimizers"][group])
        self.history = list(state["history"])
        return int(state["epochs_done"])
