"""Leiden communities, modularity with networkx's formula, and communities against attributes."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, karate_club, random_community, two_triangles

from belonging.graph import (
    CommunityGraph,
    attribute_codes,
    community_attribute_nmi,
    community_attribute_shares,
    leiden_communities,
    modularity,
    nmi_of_codes,
    shares_of_codes,
)


def partition_to_membership(graph: nx.Graph, partition: list[set]) -> list[int]:
    community_of = {node: c for c, members in enumerate(partition) for node in members}
    return [community_of[node] for node in graph.nodes]


@pytest.mark.parametrize("weighted", [True, False])
def test_modularity_equals_networkx_for_the_same_partition(
    real_graph: nx.Graph, weighted: bool
) -> None:
    partition = nx.community.louvain_communities(real_graph, seed=1)
    weight = "weight" if weighted else None
    expected = nx.community.modularity(real_graph, partition, weight=weight)
    membership = partition_to_membership(real_graph, partition)
    actual = modularity(as_community(real_graph), membership, weighted=weighted)
    assert actual == pytest.approx(expected, abs=1e-6)


def test_modularity_with_resolution_equals_networkx() -> None:
    graph = karate_club()
    partition = nx.community.louvain_communities(graph, seed=2)
    expected = nx.community.modularity(graph, partition, resolution=1.5)
    membership = partition_to_membership(graph, partition)
    assert modularity(as_community(graph), membership, resolution=1.5) == pytest.approx(
        expected, abs=1e-6
    )


def test_leiden_modularity_is_close_to_networkx_louvain_on_karate(random_seed: int) -> None:
    graph = karate_club()
    g = as_community(graph)
    louvain = nx.community.modularity(
        graph, nx.community.louvain_communities(graph, seed=random_seed)
    )
    leiden = modularity(g, leiden_communities(g, seed=random_seed))
    assert leiden >= louvain - 0.01


def test_leiden_is_reproducible_for_a_seed(random_seed: int) -> None:
    g = as_community(random_community(random_seed, members=80, p=0.08))
    first = leiden_communities(g, seed=random_seed)
    assert np.array_equal(first, leiden_communities(g, seed=random_seed))


def test_leiden_leaves_pythons_global_random_state_alone() -> None:
    g = as_community(karate_club())
    random.seed(7)
    expected = random.random()
    random.seed(7)
    leiden_communities(g, seed=3)
    assert random.random() == expected


def test_two_triangles_joined_by_one_tie_are_two_communities(random_seed: int) -> None:
    membership = leiden_communities(two_triangles(), seed=random_seed)
    assert membership.tolist() == [0, 0, 0, 1, 1, 1]
    # Two triangles and a bridge, by hand: 2 * (3/7 - (7/14) ** 2) = 5/14.
    assert modularity(two_triangles(), membership) == pytest.approx(5 / 14)


def test_isolated_members_are_communities_of_their_own() -> None:
    g = CommunityGraph.from_edges(list("abcde"), [("a", "b"), ("b", "c"), ("c", "a")])
    assert leiden_communities(g).tolist() == [0, 0, 0, 1, 2]


def test_modularity_of_a_community_without_ties_is_undefined() -> None:
    g = CommunityGraph.from_edges(list("ab"), [])
    assert np.isnan(modularity(g, [0, 1]))


def test_nmi_is_one_when_communities_are_the_attribute_groups() -> None:
    g = two_triangles()
    assert community_attribute_nmi(g, leiden_communities(g), "team") == pytest.approx(1.0)


def test_nmi_leaves_out_members_without_a_value() -> None:
    g = CommunityGraph.from_edges(
        list("abcd"), [], {"team": {"a": "x", "b": "x", "c": "y", "d": None}}
    )
    assert community_attribute_nmi(g, [0, 0, 1, 0], "team") == pytest.approx(1.0)


def test_community_shares_of_each_value_sum_to_one_per_community() -> None:
    graph = karate_club()
    g = as_community(graph, ("club",))
    shares = community_attribute_shares(g, leiden_communities(g), "club")
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_leiden_gives_the_same_communities_when_run_from_several_threads() -> None:
    g = as_community(random_community(0, members=120, p=0.05))
    expected = [leiden_communities(g, seed=seed).tolist() for seed in range(6)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = list(pool.map(lambda seed: leiden_communities(g, seed=seed).tolist(), range(6)))
    assert found == expected


def test_shares_and_nmi_from_codes_equal_the_graph_functions(random_seed: int) -> None:
    g = as_community(random_community(random_seed), ("team",))
    membership = leiden_communities(g, seed=random_seed)
    codes, values = attribute_codes(g, "team")
    np.testing.assert_array_equal(
        shares_of_codes(membership, codes, len(values)),
        community_attribute_shares(g, membership, "team"),
    )
    assert nmi_of_codes(membership, codes) == community_attribute_nmi(g, membership, "team")
