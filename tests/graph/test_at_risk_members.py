"""Who is at risk, and why, on graphs worked out by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
from graph_cases import as_community, random_community, string_nodes

from belonging.graph import (
    AtRiskMember,
    CommunityGraph,
    at_risk_members,
    at_risk_positions,
    core_members,
)
from belonging.graph.at_risk import AT_RISK_REASONS

SQUARE = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]


def test_isolated_and_single_tie_members_are_at_risk() -> None:
    g = CommunityGraph.from_edges(list("abcdef"), [*SQUARE, ("a", "e")])
    assert at_risk_members(g) == [
        AtRiskMember("f", "isolated"),
        AtRiskMember("e", "one_tie"),
    ]


def test_members_of_a_small_separate_group_are_outside_the_main_component() -> None:
    g = CommunityGraph.from_edges(
        list("abcdxyz"), [*SQUARE, ("x", "y"), ("y", "z"), ("z", "x")]
    )
    assert [tuple(m) for m in at_risk_members(g)] == [
        ("x", "outside_main_component", None),
        ("y", "outside_main_component", None),
        ("z", "outside_main_component", None),
    ]


def test_a_branch_hanging_on_one_member_is_at_risk_through_that_member() -> None:
    # A square a-b-c-d, a triangle c-e-f hanging on c, and a path f-g-h hanging on f.
    g = CommunityGraph.from_edges(
        list("abcdefgh"),
        [*SQUARE, ("c", "e"), ("e", "f"), ("f", "c"), ("f", "g"), ("g", "h")],
    )
    assert [tuple(m) for m in at_risk_members(g)] == [
        ("h", "one_tie", None),
        ("e", "through_one_member", "c"),
        ("f", "through_one_member", "c"),
        ("g", "through_one_member", "c"),
    ]


def test_members_of_a_cycle_are_not_at_risk() -> None:
    assert at_risk_members(as_community(nx.cycle_graph(7))) == []


def test_the_core_is_the_largest_biconnected_block() -> None:
    g = as_community(nx.barbell_graph(5, 2))
    assert core_members(g).sum() == 5


def test_members_at_risk_through_one_member_lose_the_core_without_that_member(
    random_seed: int,
) -> None:
    graph = string_nodes(random_community(random_seed, members=80, p=0.04))
    g = as_community(graph)
    core = {g.member_ids[i] for i in np.flatnonzero(core_members(g))}
    cut_points = set(nx.articulation_points(graph))
    at_risk = at_risk_members(g)
    for member in at_risk:
        if member.reason == "through_one_member":
            assert member.via in core and member.via in cut_points
            without = graph.subgraph(set(graph) - {member.via})
            assert not nx.node_connected_component(without, member.member_id) & core
    assert set(graph) - {member.member_id for member in at_risk} <= core


def test_at_risk_positions_give_the_members_reasons_and_via_of_at_risk_members(
    random_seed: int,
) -> None:
    g = as_community(string_nodes(random_community(random_seed, members=80, p=0.04)))
    order, reason, via = at_risk_positions(g)
    assert [
        AtRiskMember(
            g.member_ids[i],
            AT_RISK_REASONS[reason[i]],
            g.member_ids[via[i]] if via[i] >= 0 else None,
        )
        for i in order.tolist()
    ] == at_risk_members(g)
    assert set(np.flatnonzero(reason >= 0).tolist()) == set(order.tolist())
