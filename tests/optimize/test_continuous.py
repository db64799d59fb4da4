import torch

from matinverse.optimize import solve_level_set


def test_points_reach_the_level_set_of_a_nonlinear_function():
    def f(x):
        return x.pow(2).sum(1) + 0.5 * torch.sin(3 * x[:, 0])

    gen = torch.Generator().manual_seed(0)
    x0 = torch.rand(64, 3, generator=gen) * 2 - 1
    lower, upper = torch.full((3,), -2.0), torch.full((3,), 2.0)
    x = solve_level_set(f, x0, 1.0, lower, upper, steps=50, tolerance=1e-5)
    assert (f(x) - 1.0).abs().max() < 1e-4
    assert ((x >= lower) & (x <= upper)).all()
    # the smallest move: points already near the level set move little
    assert (x - x0).norm(dim=1).max() < 2.0


def test_bounds_are_kept_and_free_coordinates_do_the_work():
    # f = x0 + x1 with x0 pinned at its upper bound 0.5: only x1 can reach the target
    def f(x):
        return x[:, 0] + x[:, 1]

    x0 = torch.tensor([[0.5, 0.0]])
    lower, upper = torch.tensor([-1.0, -1.0]), torch.tensor([0.5, 1.0])
    x = solve_level_set(f, x0, 1.2, lower, upper, steps=40)
    assert float(x[0, 0]) == 0.5
    torch.testing.assert_close(f(x), torch.tensor([1.2]), atol=1e-4, rtol=0)


def test_unreachable_target_stops_at_the_bound():
    def f(x):
        return x[:, 0]

    x = solve_level_set(f, torch.zeros(1, 1), 5.0, torch.tensor([-1.0]), torch.tensor([1.0]))
    assert float(x[0, 0]) == 1.0
