"""The optimisers on a problem with a known optimum: Hamming distance to a hidden vector."""

import numpy as np
import pytest

from matinverse.optimize import VerifiedPool, binary_swarm, random_search, steepest_descent

D = 60


class Hamming:
    """exact = fraction of bits differing from ``hidden``; surrogate = exact + noise."""

    def __init__(self, seed=0, noise=0.02):
        rng = np.random.default_rng(seed)
        self.hidden = (rng.random(D) < 0.5).astype(np.uint8)
        self.noise, self.rng = noise, rng
        self.exact_rows = 0

    def exact(self, x):
        self.exact_rows += len(x)
        return (x != self.hidden).mean(axis=1).astype(float)

    def surrogate(self, x):
        return (x != self.hidden).mean(axis=1) + self.noise * self.rng.standard_normal(len(x))


def test_pool_evaluates_each_design_once():
    obj = Hamming()
    pool = VerifiedPool(obj)
    x = np.zeros((3, D), np.uint8)
    x[1, 0] = 1
    pool.exact(x)
    pool.exact(x[:2])
    assert obj.exact_rows == 2 == pool.calls
    best, losses = pool.best(5)
    assert len(best) == 2 and losses[0] <= losses[1]
    np.testing.assert_array_equal(best[0], obj.hidden if losses[0] == 0 else best[0])


def test_steepest_descent_reaches_the_optimum_and_only_moves_downhill():
    obj = Hamming(noise=0.0)
    pool = VerifiedPool(obj)
    x0 = 1 - obj.hidden
    result = steepest_descent(pool, x0, max_steps=100, verify=4, screen=None)
    assert result.loss == 0.0
    np.testing.assert_array_equal(result.x, obj.hidden)
    assert all(b < a for a, b in zip(result.history, result.history[1:], strict=False))
    assert len(result.history) == D + 1  # one flip per step, each an improvement


def test_steepest_descent_confirms_moves_exactly_despite_a_noisy_surrogate():
    obj = Hamming(noise=0.3)  # the surrogate ranking is mostly wrong
    pool = VerifiedPool(obj)
    result = steepest_descent(pool, 1 - obj.hidden, max_steps=500, verify=16, screen=None)
    assert result.loss == pytest.approx((result.x != obj.hidden).mean())
    assert result.loss < 0.5


def test_swarm_improves_on_its_start_and_returns_a_verified_design():
    obj = Hamming(noise=0.01)
    pool = VerifiedPool(obj)
    rng = np.random.default_rng(1)
    start = (rng.random((20, D)) < 0.5).astype(np.uint8)
    first = obj.exact(start).min()
    result = binary_swarm(pool, start, iterations=60, rng=rng)
    assert result.loss < first
    assert result.loss == obj.exact(result.x[None])[0]
    assert result.history == sorted(result.history, reverse=True)


def test_random_search_keeps_the_best_sample():
    obj = Hamming()
    pool = VerifiedPool(obj)
    rng = np.random.default_rng(2)
    result = random_search(pool, lambda n: rng.random((n, D)) < 0.5, batch=8, max_batches=5)
    assert pool.calls == 40
    assert result.loss == min(pool.losses.values())


def test_best_can_insist_on_distinct_designs():
    obj = Hamming(noise=0.0)
    pool = VerifiedPool(obj)
    near = np.repeat(obj.hidden[None], 4, axis=0)
    near[np.arange(1, 4), np.arange(3)] ^= 1  # the optimum and three of its single flips
    far = obj.hidden.copy()
    far[:10] ^= 1  # 10 bits away
    pool.exact(np.concatenate([near, far[None]]))
    x, losses = pool.best(2)
    assert losses.tolist() == [0.0, 1 / D]
    x, losses = pool.best(2, min_distance=5)
    assert losses.tolist() == [0.0, 10 / D]
    assert np.count_nonzero(x[0] != x[1]) == 10
    x, losses = pool.best(3, min_distance=5)  # only two qualify: the best flip fills up
    assert losses.tolist() == [0.0, 1 / D, 10 / D]


class BoundedHamming(Hamming):
    """Hamming whose ``exact_within`` stops after the first bits once they prove the
    design worse than the bound (counting the bits it read)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bits_read = 0

    def exact_within(self, x, bound):
        values, proven = np.empty(len(x)), np.ones(len(x), bool)
        for i, row in enumerate(x):
            wrong = np.cumsum(row != self.hidden) / D
            over = np.flatnonzero(wrong > bound)
            stop = over[0] if over.size else D - 1
            self.bits_read += stop + 1
            values[i], proven[i] = wrong[stop], stop == D - 1
        return values, proven


def test_pool_keeps_lower_bounds_apart_from_exact_losses():
    obj = BoundedHamming()
    pool = VerifiedPool(obj)
    far = (1 - obj.hidden)[None]
    assert pool.exact(far, bound=0.1)[0] > 0.1  # stopped early: a lower bound
    assert obj.bits_read < D and not pool.losses and pool.calls == 1
    assert pool.exact(far, bound=0.05)[0] > 0.1 and pool.calls == 1  # bound still proves it
    assert pool.exact(far)[0] == 1.0 and pool.calls == 2  # asked without bound: exact
    assert not pool.lower_bounds and pool.best(1)[1][0] == 1.0


def test_steepest_descent_with_early_stops_reaches_the_optimum_reading_fewer_bits():
    bounded, plain = BoundedHamming(noise=0.0), Hamming(noise=0.0)
    results = [
        steepest_descent(VerifiedPool(obj), 1 - obj.hidden, 100, verify=4, screen=None)
        for obj in (bounded, plain)
    ]
    assert [r.loss for r in results] == [0.0, 0.0]
    assert bounded.bits_read < plain.exact_rows * D  # the rejected moves stopped early
