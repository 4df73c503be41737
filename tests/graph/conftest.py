"""Fixtures for the metric tests."""

from __future__ import annotations

import networkx as nx
import pytest
from graph_cases import REAL_GRAPHS


@pytest.fixture(params=sorted(REAL_GRAPHS))
def real_graph(request: pytest.FixtureRequest) -> nx.Graph:
    """Each of the small real graphs shipped with networkx in turn."""
    return REAL_GRAPHS[request.param]()


@pytest.fixture(params=range(5))
def random_seed(request: pytest.FixtureRequest) -> int:
    """Several seeds, so that randomised code is tested for any seed, not one lucky seed."""
    return int(request.param)
