"""Physical sanity measures of sheets: holes, under-coordinated carbons, Hueckel levels."""

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from matinverse.graphene.lattice import (
    bond_matrices,
    bonds,
    carbon_bonds,
    carbon_sites,
    check_states,
)
from matinverse.graphene.oracle import HOPPING


def coordination(states: np.ndarray) -> np.ndarray:
    """(N, nx, ny) states -> (N, 2 nx ny) number of carbon neighbours of every carbon (0 at
    vacant sites), sites numbered as in :mod:`matinverse.graphene.lattice`; memory
    O(N nx ny)."""
    states = check_states(states)
    _, nx, ny = states.shape
    pairs = bonds(nx, ny)
    ends = np.arange(len(pairs)).repeat(2)
    incidence = coo_matrix(  # bond -> its two sites
        (np.ones(len(ends)), (ends, pairs.ravel())), shape=(len(pairs), 2 * nx * ny)
    ).tocsr()
    return np.asarray(incidence.T @ carbon_bonds(states).T.astype(np.float64)).T


def undercoordinated_fraction(states: np.ndarray) -> np.ndarray:
    """(N,) share of each sheet's carbons with fewer than 3 carbon neighbours (nan for a
    sheet without carbon)."""
    states = check_states(states)
    carbon = carbon_sites(states)
    under = (coordination(states) < 3) & carbon
    with np.errstate(invalid="ignore", divide="ignore"):
        return under.sum(1) / carbon.sum(1)


def hole_sizes(states: np.ndarray) -> list[np.ndarray]:
    """Per sheet, the sizes (missing atoms) of its holes: connected clusters of vacant
    sites, two vacancies being connected when the lattice bonds them (periodic)."""
    states = check_states(states)
    _, nx, ny = states.shape
    pairs = bonds(nx, ny)
    out = []
    for vacant in ~carbon_sites(states):
        sites = np.flatnonzero(vacant)
        if not len(sites):
            out.append(np.zeros(0, np.int64))
            continue
        both = vacant[pairs[:, 0]] & vacant[pairs[:, 1]]
        index = np.full(len(vacant), -1)
        index[sites] = np.arange(len(sites))
        edges = pairs[both]
        graph = coo_matrix(
            (np.ones(len(edges)), (index[edges[:, 0]], index[edges[:, 1]])),
            shape=(len(sites), len(sites)),
        )
        _, labels = connected_components(graph, directed=False)
        out.append(np.bincount(labels))
    return out


def hueckel_levels(sheet: np.ndarray) -> np.ndarray:
    """(N_C,) ascending Hueckel levels (eV) of one sheet: +-|t| times the singular values
    of its A-B bond matrix, and zeros for the rest."""
    sheet = check_states(sheet)
    singular = np.linalg.svd(bond_matrices(sheet)[0], compute_uv=False)
    nonzero = singular[singular > 1e-9]
    zeros = np.zeros(int(carbon_sites(sheet).sum()) - 2 * len(nonzero))
    return np.sort(np.concatenate([HOPPING * nonzero, -HOPPING * nonzero, zeros]))
