"""Building the community graph from ties."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_cases import karate_club

from belonging.graph import CommunityGraph


def test_ties_become_a_symmetric_adjacency_with_their_weights() -> None:
    g = CommunityGraph.from_edges(list("abc"), [("b", "a", 2.5), ("b", "c")])
    assert g.adjacency.toarray().tolist() == [[0.0, 2.5, 0.0], [2.5, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert g.adjacency.indices.dtype == np.int32 and g.adjacency.data.dtype == np.float32


def test_self_ties_are_dropped_and_a_repeated_tie_keeps_its_last_weight() -> None:
    g = CommunityGraph.from_edges(
        list("abc"), [("a", "a", 9.0), ("a", "b", 1.0), ("c", "c"), ("b", "a", 3.0)]
    )
    assert g.number_of_ties == 1
    assert g.adjacency.toarray()[0, 1] == g.adjacency.toarray()[1, 0] == 3.0


def test_a_tie_naming_an_unknown_member_raises_key_error() -> None:
    with pytest.raises(KeyError, match="zed"):
        CommunityGraph.from_edges(list("ab"), [("a", "b"), ("a", "zed")])


def test_no_ties_give_an_empty_adjacency() -> None:
    g = CommunityGraph.from_edges(list("ab"), iter([]))
    assert g.number_of_members == 2 and g.number_of_ties == 0


def test_the_karate_club_has_the_same_ties_and_weights_as_networkx() -> None:
    graph = karate_club()
    g = CommunityGraph.from_networkx(graph)
    expected = nx.to_scipy_sparse_array(graph, nodelist=list(graph.nodes), weight="weight")
    np.testing.assert_array_equal(g.adjacency.toarray(), expected.toarray().astype(np.float32))
