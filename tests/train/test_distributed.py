"""Two training processes (gloo on the CPU) against one: same global batch, same result."""

import json
import os
import socket

import torch
import torch.multiprocessing as mp

from matinverse.train import Trainer
from matinverse.train.run import Run

BATCH, EPOCHS, STEPS = 16, 2, 5


def _train(folder, rank=0, world=1):
    """Fit a linear model; each step draws BATCH global rows from a generator that all ranks
    share and uses this rank's BATCH / world of them. Returns the trained weights."""
    torch.manual_seed(0)
    x = torch.randn(128, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    model = torch.nn.Linear(3, 1)
    trainer = Trainer({"m": model}, EPOCHS, STEPS, lr=0.05, checkpoint=Run(folder))

    def step(rng, gen):
        shared = torch.Generator().manual_seed(trainer.global_step)
        rows = torch.randint(0, len(x), (BATCH,), generator=shared)
        mine = rows.chunk(trainer.world_size)[trainer.rank]
        return torch.nn.functional.mse_loss(model(x[mine]).squeeze(1), y[mine])

    history = trainer.fit(step)
    return torch.cat([model.weight.detach().ravel(), model.bias.detach()]), history


def _worker(rank, world, port, folder):
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    weights, history = _train(folder, rank, world)
    torch.save({"weights": weights, "history": history}, f"{folder}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_agree_with_one(tmp_path):
    mp.spawn(_worker, (2, _free_port(), str(tmp_path / "two")), nprocs=2)
    single, history = _train(tmp_path / "one")
    ranks = [torch.load(tmp_path / f"two/rank{r}.pt", weights_only=True) for r in (0, 1)]
    torch.testing.assert_close(ranks[0]["weights"], ranks[1]["weights"], rtol=0, atol=0)
    torch.testing.assert_close(ranks[0]["weights"], single, rtol=0, atol=1e-5)
    assert ranks[0]["history"] == ranks[1]["history"]  # losses averaged over the processes
    for got, want in zip(ranks[0]["history"], history, strict=True):
        assert abs(got["loss"] - want["loss"]) < 1e-5 * max(1.0, want["loss"])
    lines = (tmp_path / "two/metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]  # written by rank 0 only
