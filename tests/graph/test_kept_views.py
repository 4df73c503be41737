"""Views of a graph shared by the metrics of one report (``keep_igraph``, ``kept_view``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from graph_cases import as_community, karate_club

from belonging.graph import CommunityGraph, component_labels, keep_igraph, silo_report, tie_endpoints
from belonging.graph.ties import kept_view


def test_a_view_is_computed_once_inside_keep_igraph_and_afresh_outside() -> None:
    g = CommunityGraph.from_edges(list("abc"), [("a", "b")])
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with keep_igraph(g):
        assert kept_view(g, "count", compute) == kept_view(g, "count", compute) == 1
    assert kept_view(g, "count", compute) == 2
    assert kept_view(g, "count", compute) == 3


def test_kept_arrays_are_read_only() -> None:
    g = as_community(karate_club())
    with keep_igraph(g):
        ties = tie_endpoints(g)
        with pytest.raises(ValueError, match="read-only"):
            ties.rows[0] = 5
    assert tie_endpoints(g).rows.flags.writeable


def test_component_labels_inside_keep_igraph_are_a_copy_the_caller_may_change() -> None:
    g = CommunityGraph.from_edges(list("abcd"), [("a", "b")])
    with keep_igraph(g):
        labels = component_labels(g)
        labels[:] = 7
        assert component_labels(g).tolist() == [0, 0, 1, 2]


def test_views_follow_a_replaced_adjacency() -> None:
    g = CommunityGraph.from_edges(list("abc"), [("a", "b")])
    with keep_igraph(g):
        assert tie_endpoints(g).rows.tolist() == [0]
        g.adjacency = sp.csr_array(
            (np.ones(2, dtype=np.float32), (np.array([1, 2]), np.array([2, 1]))), shape=(3, 3)
        )
        assert tie_endpoints(g).rows.tolist() == [1]
        assert component_labels(g).tolist() == [1, 0, 0]


def test_a_report_inside_keep_igraph_equals_one_outside() -> None:
    g = as_community(karate_club(), ("club",))
    alone = silo_report(g, ["club"], belonging_scores=[3] * 34, include_members=True)
    with keep_igraph(g):
        first = silo_report(g, ["club"], belonging_scores=[3] * 34, include_members=True)
        again = silo_report(g, ["club"], belonging_scores=[3] * 34, include_members=True)
    assert alone == first == again
