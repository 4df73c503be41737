"""Density, components, isolates, articulation points and bridges against networkx and by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, random_community, string_nodes

from belonging.graph import (
    CommunityGraph,
    articulation_points,
    biconnected_blocks,
    bridges,
    component_labels,
    component_sizes,
    density,
    isolates,
    keep_igraph,
    largest_component_share,
    number_of_components,
    relabel_by_size,
    tie_endpoints,
)


def test_density_equals_networkx(real_graph: nx.Graph) -> None:
    assert density(as_community(real_graph)) == pytest.approx(nx.density(real_graph), abs=1e-12)


def test_isolated_members_count_as_components() -> None:
    g = CommunityGraph.from_edges(list("abcde"), [("a", "b"), ("b", "c")])
    assert number_of_components(g) == 3
    assert component_sizes(g).tolist() == [3, 1, 1]


def test_component_count_and_sizes_equal_networkx(random_seed: int) -> None:
    graph = random_community(random_seed)
    g = as_community(graph)
    assert number_of_components(g) == nx.number_connected_components(graph)
    expected = sorted((len(c) for c in nx.connected_components(graph)), reverse=True)
    assert component_sizes(g).tolist() == expected


def test_largest_component_is_numbered_zero() -> None:
    g = CommunityGraph.from_edges(list("abcde"), [("a", "b"), ("c", "d"), ("d", "e")])
    assert component_labels(g).tolist() == [1, 1, 0, 0, 0]
    assert largest_component_share(g) == pytest.approx(0.6)


def test_isolates_are_the_members_without_ties(random_seed: int) -> None:
    graph = string_nodes(random_community(random_seed))
    assert isolates(as_community(graph)) == list(nx.isolates(graph))


def test_barbell_graph_has_exactly_one_bridge() -> None:
    g = as_community(nx.barbell_graph(4, 0))
    assert bridges(g) == [("3", "4")]


def test_path_graph_articulation_points_are_its_inner_members() -> None:
    g = as_community(nx.path_graph(5))
    assert articulation_points(g) == ["1", "2", "3"]
    assert len(bridges(g)) == 4


def test_cycle_has_no_articulation_points_or_bridges() -> None:
    g = as_community(nx.cycle_graph(6))
    assert articulation_points(g) == []
    assert bridges(g) == []


def test_articulation_points_and_bridges_equal_networkx(real_graph: nx.Graph) -> None:
    graph = string_nodes(real_graph)
    g = as_community(graph)
    assert set(articulation_points(g)) == set(nx.articulation_points(graph))
    assert {frozenset(t) for t in bridges(g)} == {frozenset(t) for t in nx.bridges(graph)}


def test_articulation_points_and_bridges_equal_networkx_on_random_graphs(
    random_seed: int,
) -> None:
    graph = string_nodes(random_community(random_seed, members=80, p=0.04))
    g = as_community(graph)
    assert set(articulation_points(g)) == set(nx.articulation_points(graph))
    assert {frozenset(t) for t in bridges(g)} == {frozenset(t) for t in nx.bridges(graph)}


def test_empty_community_has_no_components_and_zero_density() -> None:
    g = CommunityGraph.from_edges([], [])
    assert number_of_components(g) == 0
    assert density(g) == 0.0
    assert np.isnan(largest_component_share(g))
    assert isolates(g) == [] and bridges(g) == [] and articulation_points(g) == []


def test_relabel_by_size_numbers_the_largest_group_zero_and_breaks_ties_by_first_member() -> None:
    assert relabel_by_size(np.array([5, 9, 9, 5, 2, 2])).tolist() == [0, 1, 1, 0, 2, 2]


def test_biconnected_blocks_equal_networkx(real_graph: nx.Graph) -> None:
    g = as_community(real_graph)
    ties = tie_endpoints(g)
    blocks, cut_points = biconnected_blocks(g)
    members = {
        frozenset(g.member_ids[i] for i in np.union1d(ties.rows[tree], ties.cols[tree]))
        for tree in blocks
    }
    expected = {
        frozenset(str(node) for node in block) for block in nx.biconnected_components(real_graph)
    }
    assert members == expected
    assert {g.member_ids[i] for i in cut_points} == {
        str(node) for node in nx.articulation_points(real_graph)
    }


def test_cut_points_and_bridges_are_the_same_inside_keep_igraph(random_seed: int) -> None:
    g = as_community(random_community(random_seed))
    outside = (articulation_points(g), bridges(g))
    with keep_igraph(g):
        assert (articulation_points(g), bridges(g)) == outside


def test_a_community_without_ties_has_no_blocks() -> None:
    assert biconnected_blocks(CommunityGraph.from_edges(list("ab"), [])) == ([], [])
