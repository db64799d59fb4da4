import numpy as np
import pytest
import torch

from matinverse.compositions.design import (
    PropertyRequest,
    design,
    evaluate_candidates,
    relaxed_fractions,
    steer,
)
from matinverse.compositions.encoding import decode
from matinverse.compositions.features import fractions
from matinverse.compositions.models import CompositionGenerator
from matinverse.compositions.weights import WEIGHTS
from matinverse.errors import InputError
from matinverse.nn import load_model


@pytest.fixture(scope="module")
def generator():
    return load_model(WEIGHTS / "generator-valid.pt", CompositionGenerator)


@pytest.fixture(scope="module")
def models(tiny_property_models):
    return {name: load_model(path) for name, path in tiny_property_models.items()}


def test_request_checks_its_bounds():
    with pytest.raises(InputError, match="at least one"):
        PropertyRequest()
    with pytest.raises(InputError, match="0 <= LO < HI"):
        PropertyRequest(bandgap=(2.0, 1.0))
    request = PropertyRequest(-0.5, (1.0, 3.0), confidence=2.0)
    assert request.properties == ("formation_energy", "bandgap")
    np.testing.assert_allclose(
        request.violation("formation_energy", np.array([-1.0, -0.6]), np.array([0.1, 0.1])),
        [0.0, 0.1],
    )
    np.testing.assert_allclose(
        request.violation("bandgap", np.array([2.0, 0.5, 3.0]), np.array([0.1, 0.1, 0.0])),
        [0.0, 0.7, 0.0],
    )


def test_relaxed_fractions_of_sharp_logits_are_the_decoded_fractions(generator):
    logits = generator(torch.randn(64, 128, generator=torch.Generator().manual_seed(0)))
    sharp = relaxed_fractions(logits * 1e4)
    formulas = decode(logits.argmax(-1).to(torch.uint8).numpy())
    keep = [i for i, f in enumerate(formulas) if f is not None]
    expect, _ = fractions([formulas[i] for i in keep])
    np.testing.assert_allclose(sharp.detach().numpy()[keep], expect, atol=1e-5)
    soft = relaxed_fractions(logits).detach().numpy()
    np.testing.assert_allclose(soft[keep].sum(1), 1, rtol=1e-5)
    assert ((soft > 0) <= (sharp.detach().numpy() > 0)).all()  # only decoded elements take part


def test_steering_raises_the_share_of_decoded_formulas_meeting_the_request(generator, models):
    request = PropertyRequest(formation_energy_max=-1.0, confidence=0.0)
    z = torch.randn(256, 128, generator=torch.Generator().manual_seed(1))
    moved = steer(generator, models, request, z, steps=15)

    def share(latents):
        with torch.no_grad():
            formulas = decode(generator(latents).argmax(-1).to(torch.uint8).numpy())
        return float(evaluate_candidates(formulas, models, request, set())[0].mean())

    assert share(moved) > 1.3 * share(z)
    assert float(moved.pow(2).mean()) == pytest.approx(1.0, abs=0.3)  # stays on the prior shell


def test_design_returns_distinct_valid_novel_hits(generator, models):
    request = PropertyRequest(formation_energy_max=-1.0, confidence=0.0)
    known = {"NaCl"}
    result = design(generator, models, request, 20, known, seed=2, batch=128, steps=15)
    formulas = [row["formula"] for row in result.rows]
    assert len(formulas) == 20 == len(set(formulas)) and "NaCl" not in formulas
    hits, predictions = evaluate_candidates(formulas, models, request, known)
    assert hits.all()
    np.testing.assert_allclose(
        predictions["formation_energy"][0],
        [row["formation_energy"] for row in result.rows],
        rtol=1e-5,
    )
    assert 0 < result.hit_rate <= 1 and result.hits >= 20
    plain = design(generator, models, request, 5, known, seed=2, steering=False, batch=128)
    assert plain.hit_rate < result.hit_rate


def test_design_gives_up_on_an_impossible_request(generator, models):
    request = PropertyRequest(formation_energy_max=-50.0)
    with pytest.raises(InputError, match="relax the request"):
        design(generator, models, request, 3, set(), batch=64, steps=2, max_draws=128)
