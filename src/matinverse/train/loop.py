"""A small resumable training loop.

``Trainer.fit(step)`` calls ``step(rng)`` for a batch loss, back-propagates, clips the
gradient norm and steps Adam under a cosine learning-rate schedule. Epoch e draws its
randomness from ``numpy.random.default_rng([seed, e])`` and a torch generator seeded the
same way, so a run does not depend on where it was interrupted. With a ``checkpoint``
path the state (modules, optimiser, schedule, history) is written atomically after every
epoch and a new ``fit`` with the same settings continues after the last finished epoch.
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


class Trainer:
    """Fit the parameters of ``modules`` (name -> module) for ``epochs`` x ``steps_per_epoch``
    Adam steps with learning rate ``lr`` decayed by a cosine to ``lr * final_lr_ratio``."""

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
    ):
        if epochs < 1 or steps_per_epoch < 1:
            raise InputError("epochs and steps per epoch must be at least 1")
        self.modules = modules
        self.epochs, self.steps_per_epoch, self.seed = epochs, steps_per_epoch, seed
        self.grad_clip = grad_clip
        params = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
        self.params = params
        self.optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        total = epochs * steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda i: (
                final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * i / total))
            ),
        )
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.settings = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "lr": lr}
        self.settings.update(seed=seed, weight_decay=weight_decay)
        self.history: list[dict] = []

    def fit(
        self,
        step: Callable[[np.random.Generator, torch.Generator], torch.Tensor],
        evaluate: Callable[[], dict] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[dict]:
        """Train; ``evaluate()`` (metrics dict) runs after each epoch. Returns the history:
        one dict per epoch with ``epoch``, ``loss`` (mean training loss) and the metrics."""
        start = self._resume()
        total = self.epochs * self.steps_per_epoch
        for epoch in range(start, self.epochs):
            rng = np.random.default_rng([self.seed, epoch])
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            for module in self.modules.values():
                module.train()
            losses = []
            for i in range(self.steps_per_epoch):
                loss = step(rng, gen)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.params, self.grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                losses.append(float(loss.detach()))
                if progress is not None:
                    progress(epoch * self.steps_per_epoch + i + 1, total)
            for module in self.modules.values():
                module.eval()
            record = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
            if evaluate is not None:
                with torch.no_grad():
                    record.update(evaluate())
            self.history.append(record)
            self._save(epoch + 1)
        return self.history

    def _save(self, epochs_done: int) -> None:
        if self.checkpoint is None:
            return
        state = {
            "settings": self.settings,
            "epochs_done": epochs_done,
            "history": self.history,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
        }
        with atomic_path(self.checkpoint) as tmp:
            torch.save(state, tmp)

    def _resume(self) -> int:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return 0
        state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        if state["settings"] != self.settings:
            raise InputError(
                f"checkpoint {self.checkpoint} was written with other settings "
                f"({state['settings']}); use a new run folder or the same settings"
            )
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = list(state["history"])
        return int(state["epochs_done"])
