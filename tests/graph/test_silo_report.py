"""The silo report: its numbers against networkx, its privacy rule and its JSON shape."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
from graph_cases import as_community, karate_club, random_community, two_triangles

from belonging.graph import CommunityGraph, silo_report

TOP_LEVEL_KEYS = {
    "members",
    "connections",
    "density",
    "average_clustering",
    "components",
    "isolates",
    "communities",
    "articulation_points",
    "bridges",
    "brokers",
    "at_risk",
    "attributes",
    "parameters",
}


def team_community(sizes: dict[str, int]) -> CommunityGraph:
    """A ring of members whose ``team`` values come in blocks of the given sizes."""
    teams = [team for team, size in sizes.items() for _ in range(size)]
    members = [f"m{i}" for i in range(len(teams))]
    ring = [(members[i], members[(i + 1) % len(members)]) for i in range(len(members))]
    return CommunityGraph.from_edges(
        members, ring, {"team": dict(zip(members, teams, strict=True))}
    )


def test_headline_numbers_equal_networkx_on_the_karate_club() -> None:
    graph = karate_club()
    report = silo_report(as_community(graph, ("club",)), ["club"])
    assert report["members"] == 34 and report["connections"] == 78
    assert report["density"] == pytest.approx(nx.density(graph))
    assert report["average_clustering"] == pytest.approx(nx.average_clustering(graph))
    assert report["components"] == {"count": 1, "largest_share": 1.0, "sizes": [34]}
    assert report["articulation_points"]["member_ids"] == ["0"]
    assert report["bridges"] == {"count": 1, "ties": [["0", "11"]]}
    betweenness = nx.betweenness_centrality(graph)
    top = max(betweenness, key=betweenness.get)
    assert report["brokers"][0] == {"member_id": str(top), "betweenness": pytest.approx(
        betweenness[top]
    )}
    club = report["attributes"]["club"]
    assert club["assortativity"] == pytest.approx(
        nx.attribute_assortativity_coefficient(graph, "club")
    )
    assert report["communities"]["modularity"] >= 0.43


def test_report_has_the_documented_keys_and_is_strict_json() -> None:
    report = silo_report(two_triangles(), ["team"], belonging_scores=[3] * 6, min_group_size=3)
    assert set(report) == TOP_LEVEL_KEYS | {"belonging"}
    assert set(report["attributes"]["team"]) == {
        "members_with_value",
        "members_not_broken_out",
        "ties_with_values",
        "assortativity",
        "ei_index",
        "groups",
        "mixing",
        "communities_by_value",
        "nmi",
    }
    json.dumps(report, allow_nan=False)


def test_two_triangles_report_by_hand() -> None:
    report = silo_report(two_triangles(), ["team"], min_group_size=3)
    team = report["attributes"]["team"]
    assert team["ei_index"] == pytest.approx(-5 / 7)
    assert team["groups"] == [
        {"value": "x", "members": 3, "internal_ties": 3, "external_ties": 1, "ei_index": -0.5},
        {"value": "y", "members": 3, "internal_ties": 3, "external_ties": 1, "ei_index": -0.5},
    ]
    assert team["mixing"] == {"values": ["x", "y"], "matrix": [[3, 1], [1, 3]]}
    assert team["nmi"] == pytest.approx(1.0)
    assert report["communities"]["count"] == 2
    assert report["communities"]["modularity"] == pytest.approx(5 / 14)
    assert report["at_risk"] == [
        {"member_id": "d", "reason": "through_one_member", "via": "c"},
        {"member_id": "e", "reason": "through_one_member", "via": "c"},
        {"member_id": "f", "reason": "through_one_member", "via": "c"},
    ]


def test_groups_smaller_than_k_are_pooled_as_other_in_groups_and_mixing() -> None:
    report = silo_report(team_community({"big": 6, "small": 3, "tiny": 2}), ["team"])
    team = report["attributes"]["team"]
    assert [(g["value"], g["members"]) for g in team["groups"]] == [("big", 6), ("other", 5)]
    assert team["mixing"]["values"] == ["big", "other"]
    assert "small" not in json.dumps(report) and "tiny" not in json.dumps(report)


def test_an_other_pool_smaller_than_k_is_not_broken_out_either() -> None:
    report = silo_report(team_community({"big": 6, "small": 2}), ["team"])
    team = report["attributes"]["team"]
    assert [(g["value"], g["members"]) for g in team["groups"]] == [("big", 6)]
    assert team["mixing"]["values"] == ["big"]
    assert team["members_with_value"] == 8 and team["members_not_broken_out"] == 2


def test_overall_attribute_numbers_use_the_real_values() -> None:
    graph = random_community(3, members=80, p=0.08)
    report = silo_report(as_community(graph, ("team",)), ["team"], min_group_size=100)
    with_value = graph.subgraph([v for v, t in graph.nodes(data="team") if t is not None])
    assert report["attributes"]["team"]["assortativity"] == pytest.approx(
        nx.attribute_assortativity_coefficient(with_value, "team")
    )
    assert report["attributes"]["team"]["groups"] == []


def test_mixing_matrix_counts_each_tie_once() -> None:
    graph = random_community(1, members=80, p=0.08)
    report = silo_report(as_community(graph, ("team",)), ["team"], min_group_size=1)
    team = report["attributes"]["team"]
    matrix = np.array(team["mixing"]["matrix"])
    assert np.triu(matrix).sum() == team["ties_with_values"]
    both = [(u, v) for u, v in graph.edges if "team" in graph.nodes[u] and "team" in graph.nodes[v]]
    assert team["ties_with_values"] == len(both)


def test_community_make_up_lists_only_communities_of_at_least_k_members() -> None:
    g = CommunityGraph.from_edges(
        list("abcdefg"),
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("e", "f")],
        {"team": dict(zip("abcdefg", "xxxxyyy", strict=True))},
    )
    report = silo_report(g, ["team"], min_group_size=3)
    made_of = report["attributes"]["team"]["communities_by_value"]
    assert made_of == [
        {"community": 0, "members": 4, "members_with_value": 4, "shares": {"x": 1.0}}
    ]


def test_members_are_listed_per_community_only_when_asked() -> None:
    assert "members" not in silo_report(two_triangles())["communities"]
    members = silo_report(two_triangles(), include_members=True)["communities"]["members"]
    assert members == {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1, "f": 1}


def test_belonging_appears_only_with_scores_and_hides_small_groups() -> None:
    assert "belonging" not in silo_report(two_triangles())
    scores = {"a": 5, "b": 4, "c": 3, "d": 1, "e": 2}
    belonging = silo_report(
        two_triangles(), ["team"], belonging_scores=scores, min_group_size=3
    )["belonging"]
    assert belonging["members_scored"] == 5 and belonging["mean"] == pytest.approx(3.0)
    assert belonging["by_position"] == [
        {"position": "well_connected", "members_scored": 5, "mean": pytest.approx(3.0)}
    ]
    assert belonging["by_community"] == [
        {"community": 0, "members_scored": 3, "mean": pytest.approx(4.0)}
    ]
    assert belonging["by_attribute"]["team"] == [
        {"value": "x", "members_scored": 3, "mean": pytest.approx(4.0)}
    ]


def test_unknown_attribute_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown attribute 'floor'"):
        silo_report(two_triangles(), ["floor"])


def test_a_community_without_members_gives_an_empty_report() -> None:
    report = silo_report(CommunityGraph.from_edges([], []))
    assert report["members"] == 0 and report["components"]["count"] == 0
    assert report["communities"]["modularity"] is None
    json.dumps(report, allow_nan=False)


def test_a_community_without_ties_has_only_isolated_members() -> None:
    g = CommunityGraph.from_edges(list("abc"), [], {"team": {"a": "x", "b": "x", "c": "x"}})
    report = silo_report(g, ["team"], min_group_size=1)
    assert report["isolates"] == {"count": 3, "member_ids": ["a", "b", "c"]}
    assert report["communities"]["count"] == 0 and report["communities"]["singletons"] == 3
    assert report["attributes"]["team"]["assortativity"] is None
    assert report["attributes"]["team"]["ei_index"] is None
    json.dumps(report, allow_nan=False)


def test_betweenness_is_sampled_with_the_given_pivots(random_seed: int) -> None:
    graph = random_community(random_seed)
    report = silo_report(as_community(graph), betweenness_pivots=10, seed=random_seed)
    expected = nx.betweenness_centrality(graph, k=10, seed=random_seed)
    assert report["parameters"]["betweenness_pivots"] == 10
    for broker in report["brokers"]:
        assert broker["betweenness"] == pytest.approx(expected[int(broker["member_id"])])


def test_small_communities_get_exact_betweenness() -> None:
    report = silo_report(as_community(karate_club()))
    assert report["parameters"]["betweenness_pivots"] is None
