"""Assortativity, E-I index and mixing matrices against networkx and by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, karate_club, random_community, two_triangles

from belonging.graph import (
    CommunityGraph,
    assortativity_of_counts,
    attribute_assortativity,
    attribute_codes,
    attribute_mixing_matrix,
    ei_index,
    ei_index_of_counts,
    group_ei_index,
    merge_small_groups,
    tie_counts_between_groups,
    tie_counts_of_codes,
)


def with_value(graph: nx.Graph, attribute: str) -> nx.Graph:
    """The subgraph of members that have a value, as networkx needs it."""
    return graph.subgraph([v for v, value in graph.nodes(data=attribute) if value is not None])


def test_assortativity_equals_networkx_on_the_karate_club() -> None:
    graph = karate_club()
    expected = nx.attribute_assortativity_coefficient(graph, "club")
    actual = attribute_assortativity(as_community(graph, ("club",)), "club")
    assert actual == pytest.approx(expected, abs=1e-6)


def test_assortativity_only_counts_ties_between_members_with_a_value(random_seed: int) -> None:
    graph = random_community(random_seed, members=80, p=0.08)
    expected = nx.attribute_assortativity_coefficient(with_value(graph, "team"), "team")
    actual = attribute_assortativity(as_community(graph, ("team",)), "team")
    assert actual == pytest.approx(expected, abs=1e-6)


def test_mixing_matrix_equals_networkx(random_seed: int) -> None:
    graph = random_community(random_seed, members=80, p=0.08)
    values = ["blue", "green", "red"]
    mapping = {value: i for i, value in enumerate(values)}
    g = as_community(graph, ("team",))
    for normalized in (True, False):
        expected = nx.attribute_mixing_matrix(
            with_value(graph, "team"), "team", mapping=mapping, normalized=normalized
        )
        actual = attribute_mixing_matrix(g, "team", values=values, normalized=normalized)
        np.testing.assert_allclose(actual, expected, atol=1e-12)


def test_tie_counts_count_each_tie_once_and_are_symmetric() -> None:
    counts = tie_counts_between_groups(two_triangles(), "team")
    assert counts.tolist() == [[3, 1], [1, 3]]


def test_ei_index_of_two_triangles_joined_by_one_tie_is_minus_five_sevenths() -> None:
    # 6 ties inside a team, 1 across: (1 - 6) / (1 + 6).
    assert ei_index(two_triangles(), "team") == pytest.approx(-5 / 7)


def test_each_triangle_has_group_ei_index_minus_one_half() -> None:
    # Each team: 3 ties inside, 1 across: (1 - 3) / (1 + 3).
    assert group_ei_index(two_triangles(), "team") == {"x": -0.5, "y": -0.5}


def test_ei_index_is_plus_one_when_every_tie_crosses_groups() -> None:
    g = CommunityGraph.from_edges(
        list("abcd"), [("a", "c"), ("b", "d")], {"side": dict(zip("abcd", "xxyy", strict=True))}
    )
    assert ei_index(g, "side") == 1.0


def test_ties_to_members_without_a_value_are_ignored() -> None:
    g = CommunityGraph.from_edges(
        list("abc"), [("a", "b"), ("b", "c")], {"side": {"a": "x", "b": "x", "c": None}}
    )
    assert ei_index(g, "side") == -1.0
    assert group_ei_index(g, "side") == {"x": -1.0}


def test_assortativity_is_undefined_when_everyone_shares_one_value() -> None:
    g = CommunityGraph.from_edges(list("ab"), [("a", "b")], {"side": {"a": "x", "b": "x"}})
    assert np.isnan(attribute_assortativity(g, "side"))


def test_an_attribute_can_be_given_as_one_value_per_member() -> None:
    g = two_triangles()
    assert ei_index(g, g.attributes["team"]) == ei_index(g, "team")


def test_unknown_attribute_is_rejected_with_its_name() -> None:
    with pytest.raises(ValueError, match="'floor'"):
        ei_index(two_triangles(), "floor")


def test_values_held_by_fewer_than_k_members_are_pooled_as_other() -> None:
    values = ["x"] * 5 + ["y"] * 3 + ["z"] * 2 + [None]
    assert merge_small_groups(values, min_group_size=5) == ["x"] * 5 + ["other"] * 5 + [None]


def test_a_pool_smaller_than_k_is_not_broken_out() -> None:
    values = ["x"] * 5 + ["y"] * 2 + ["z", None]
    assert merge_small_groups(values, min_group_size=5) == ["x"] * 5 + [None] * 4


def test_assortativity_and_ei_index_from_tie_counts_equal_the_graph_functions(
    random_seed: int,
) -> None:
    g = as_community(random_community(random_seed), ("team",))
    codes, values = attribute_codes(g, "team")
    counts = tie_counts_of_codes(g, codes, len(values))
    assert counts.tolist() == tie_counts_between_groups(g, "team").tolist()
    assert assortativity_of_counts(counts) == attribute_assortativity(g, "team")
    assert ei_index_of_counts(counts) == ei_index(g, "team")


def test_counts_without_ties_give_no_assortativity_or_ei_index() -> None:
    empty = np.zeros((2, 2), dtype=np.int64)
    assert np.isnan(assortativity_of_counts(empty))
    assert np.isnan(ei_index_of_counts(empty))
