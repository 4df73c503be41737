"""What-if: adding ties to a copy of the community and comparing reports."""

from __future__ import annotations

import pytest
from graph_cases import two_triangles

from belonging.graph import CommunityGraph, compare_reports, silo_report, with_added_ties


def test_adding_a_tie_leaves_the_original_community_unchanged() -> None:
    g = two_triangles()
    h = with_added_ties(g, [("a", "f")])
    assert (g.number_of_ties, h.number_of_ties) == (7, 8)
    assert h.attributes == g.attributes and h.member_ids == g.member_ids


def test_an_existing_tie_keeps_the_larger_weight() -> None:
    g = CommunityGraph.from_edges(list("ab"), [("a", "b", 3.0)])
    assert with_added_ties(g, [("b", "a", 1.0)]).adjacency[[0], [1]].tolist() == [3.0]
    assert with_added_ties(g, [("a", "b", 5.0)]).adjacency[[1], [0]].tolist() == [5.0]


def test_a_tie_with_an_unknown_member_raises_key_error() -> None:
    with pytest.raises(KeyError, match="zed"):
        with_added_ties(two_triangles(), [("a", "zed")])


def test_a_tie_to_oneself_is_rejected() -> None:
    with pytest.raises(ValueError, match="two different members"):
        with_added_ties(two_triangles(), [("a", "a")])


def test_a_tie_without_positive_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        with_added_ties(two_triangles(), [("a", "f", 0.0)])


def test_closing_the_bridge_shows_in_the_deltas() -> None:
    g = two_triangles()
    before = silo_report(g, ["team"], min_group_size=3)
    after = silo_report(with_added_ties(g, [("a", "f")]), ["team"], min_group_size=3)
    change = compare_reports(before, after)
    assert change["deltas"]["bridges.count"] == {"before": 1, "after": 0, "delta": -1}
    assert change["deltas"]["attributes.team.ei_index"]["delta"] == pytest.approx(
        (2 - 6) / 8 - (1 - 6) / 7
    )
    assert change["no_longer_at_risk"] == ["d", "e", "f"]


def test_connecting_an_isolated_member_is_reported() -> None:
    g = CommunityGraph.from_edges(list("abc"), [("a", "b")])
    change = compare_reports(silo_report(g), silo_report(with_added_ties(g, [("c", "a")])))
    assert change["no_longer_isolated"] == ["c"] and change["newly_isolated"] == []
    assert change["deltas"]["components.count"]["delta"] == -1
