"""Adversarial training on :class:`~matinverse.train.Trainer`: a critic and a generator
with their own optimisers, ``n_critic`` critic updates per generator update."""

import os

from torch import nn

from matinverse.train.loop import Trainer


class GanTrainer(Trainer):
    """A Trainer over {"generator", "critic"} with one optimiser group each; in ``fit``'s
    step, :meth:`critic_turn` says whether this step updates the critic (return
    {"critic": loss}) or the generator (return {"generator": loss})."""

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        epochs: int,
        steps_per_epoch: int,
        lr: float,
        n_critic: int = 5,
        seed: int = 0,
        checkpoint: str | os.PathLike | None = None,
        betas: tuple[float, float] = (0.5, 0.9),
        final_lr_ratio: float = 0.1,
    ):
        super().__init__(
            {"generator": generator, "critic": critic},
            epochs,
            steps_per_epoch,
            lr,
            seed=seed,
            checkpoint=checkpoint,
            groups={"critic": ("critic",), "generator": ("generator",)},
            betas=betas,
            final_lr_ratio=final_lr_ratio,
        )
        self.n_critic = n_critic

    def critic_turn(self) -> bool:
        """True for n_critic steps out of every n_critic + 1 (the critic's), else False."""
        return bool((self.global_step + 1) % (self.n_critic + 1))
