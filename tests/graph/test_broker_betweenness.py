"""Betweenness centrality against networkx, exact and sampled with the same pivots."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, random_community

from belonging.graph import CommunityGraph, betweenness_centrality, top_brokers


@pytest.mark.parametrize("normalized", [True, False])
def test_exact_betweenness_equals_networkx(real_graph: nx.Graph, normalized: bool) -> None:
    expected = nx.betweenness_centrality(real_graph, normalized=normalized)
    actual = betweenness_centrality(as_community(real_graph), normalized=normalized)
    np.testing.assert_allclose(actual, [expected[v] for v in real_graph], atol=1e-6)


@pytest.mark.parametrize("normalized", [True, False])
def test_sampled_betweenness_equals_networkx_with_the_same_k_and_seed(
    random_seed: int, normalized: bool
) -> None:
    graph = random_community(random_seed, members=70, p=0.08)
    expected = nx.betweenness_centrality(graph, k=12, seed=random_seed, normalized=normalized)
    actual = betweenness_centrality(
        as_community(graph), k=12, seed=random_seed, normalized=normalized
    )
    np.testing.assert_allclose(actual, [expected[v] for v in graph], atol=1e-6)


def test_the_centre_of_a_star_is_the_only_broker() -> None:
    g = as_community(nx.star_graph(5))
    assert top_brokers(g) == [("0", 1.0)]


def test_as_many_pivots_as_members_is_exact() -> None:
    g = as_community(nx.karate_club_graph())
    np.testing.assert_allclose(betweenness_centrality(g, k=34), betweenness_centrality(g))


def test_fewer_than_two_pivots_are_rejected() -> None:
    g = as_community(nx.path_graph(5))
    with pytest.raises(ValueError, match="2 pivots"):
        betweenness_centrality(g, k=1)


def test_a_community_without_ties_has_no_brokers() -> None:
    assert top_brokers(CommunityGraph.from_edges(list("abc"), [])) == []
