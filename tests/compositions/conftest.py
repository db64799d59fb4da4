"""Small composition property models trained once per session on a slice of OQMD."""

import pytest

ROWS = {"train": 4000, "val": 1000, "test": 1000}
# settings of the small attention ensembles trained in the tests
TINY = dict(
    architecture="attention",
    member_config={"dim": 32, "heads": 2, "layers": 1},
    size=2,
    epochs=2,
    steps_per_epoch=150,
    batch=64,
    lr=3e-3,
)


@pytest.fixture(scope="session")
def property_splits(shared_data):
    """{property: {split: PropertyData}} of the first rows of the OQMD tables."""
    from matinverse.compositions.data import CompositionTable, load_split
    from matinverse.compositions.property_training import PROPERTIES, property_data

    out = {}
    for name, (table, _, _) in PROPERTIES.items():
        out[name] = {}
        for split, rows in ROWS.items():
            full = load_split(table, split, shared_data)
            part = CompositionTable(full.formulas[:rows], full.target[:rows])
            out[name][split] = property_data(part)
    return out


@pytest.fixture(scope="session")
def tiny_property_models(property_splits, tmp_path_factory):
    """{property: path} of small attention ensembles trained for a few hundred steps."""
    from matinverse.compositions.property_training import train_property_model

    folder = tmp_path_factory.mktemp("property-models")
    paths = {}
    for name, splits in property_splits.items():
        model, history = train_property_model(splits["train"], splits["val"], name, **TINY)
        paths[name] = folder / f"{name}.pt"
        model.save(paths[name], {"history": history})
    return paths
