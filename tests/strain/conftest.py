"""The MoS2 table, split once, and a small surrogate trained once per session."""

import pytest


@pytest.fixture(scope="session")
def mos2(shared_data):
    """(distinct rows, load report) of the MoS2 table."""
    from matinverse.strain.data import load_mos2

    return load_mos2(shared_data)


@pytest.fixture(scope="session")
def design_split(mos2):
    from matinverse.strain.data import fold_split

    return fold_split(mos2[0], "design")


@pytest.fixture(scope="session")
def tiny_surrogate(design_split, tmp_path_factory):
    """Path of a 2-member ensemble trained for a few hundred steps on the design fold."""
    from matinverse.strain.surrogate import train_surrogate

    model, history = train_surrogate(
        design_split.train,
        design_split.val,
        members=2,
        width=64,
        depth=2,
        epochs=2,
        steps_per_epoch=200,
        lr=3e-3,
    )
    path = tmp_path_factory.mktemp("strain") / "surrogate.pt"
    model.save(path, {"history": history})
    return path


@pytest.fixture(scope="session")
def tiny_inverse(design_split, tmp_path_factory):
    """Path of a small mixture density network trained for a few hundred steps."""
    from matinverse.strain.training import train_inverse

    model, history = train_inverse(
        "mdn",
        design_split.train,
        design_split.val,
        config={"components": 8, "width": 64, "depth": 2},
        epochs=2,
        steps_per_epoch=150,
        batch=256,
        lr=3e-3,
    )
    path = tmp_path_factory.mktemp("strain") / "mdn.pt"
    model.save(path, {"history": history})
    return path
