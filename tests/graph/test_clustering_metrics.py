"""Triangles and clustering against networkx and by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, random_community

from belonging.graph import CommunityGraph, average_clustering, clustering, triangles


def test_average_clustering_equals_networkx(real_graph: nx.Graph) -> None:
    g = as_community(real_graph)
    assert average_clustering(g) == pytest.approx(nx.average_clustering(real_graph), abs=1e-9)


def test_average_clustering_without_zeros_equals_networkx(real_graph: nx.Graph) -> None:
    g = as_community(real_graph)
    expected = nx.average_clustering(real_graph, count_zeros=False)
    assert average_clustering(g, count_zeros=False) == pytest.approx(expected, abs=1e-9)


def test_triangles_and_local_clustering_equal_networkx(random_seed: int) -> None:
    graph = random_community(random_seed, members=50, p=0.15)
    g = as_community(graph)
    assert triangles(g).tolist() == [nx.triangles(graph)[v] for v in graph]
    expected = nx.clustering(graph)
    np.testing.assert_allclose(clustering(g), [expected[v] for v in graph], atol=1e-9)


def test_a_triangle_is_fully_clustered_and_a_star_not_at_all() -> None:
    triangle = CommunityGraph.from_edges(list("abc"), [("a", "b"), ("b", "c"), ("c", "a")])
    star = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("a", "c"), ("a", "d")])
    assert average_clustering(triangle) == 1.0
    assert average_clustering(star) == 0.0


def test_clustering_of_a_community_without_members_is_undefined() -> None:
    assert np.isnan(average_clustering(CommunityGraph.from_edges([], [])))
