"""Mean belonging ratings by position, with small groups hidden."""

from __future__ import annotations

import numpy as np
import pytest

from belonging.graph import (
    CommunityGraph,
    belonging_by_position,
    belonging_scores,
    mean_score_by_group,
    member_positions,
)


def test_members_are_isolated_one_tie_or_well_connected() -> None:
    g = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("b", "c")])
    assert member_positions(g) == ["one_tie", "well_connected", "one_tie", "isolated"]


def test_mean_belonging_is_given_for_each_position() -> None:
    g = CommunityGraph.from_edges(list("abcde"), [("a", "b"), ("b", "c"), ("c", "a"), ("a", "d")])
    result = belonging_by_position(g, [5, 4, 3, 2, 1], min_group_size=1)
    assert result == [("isolated", 1, 1.0), ("one_tie", 1, 2.0), ("well_connected", 3, 4.0)]


def test_groups_with_fewer_than_k_rated_members_are_hidden() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.nan])
    result = mean_score_by_group(scores, ["x", "x", "x", "y", "y", "y"], min_group_size=2)
    assert result == [("x", 3, 2.0)]


def test_scores_can_be_given_by_member_id_and_unknown_ids_are_ignored() -> None:
    g = CommunityGraph.from_edges(list("abc"), [])
    scores = belonging_scores(g, {"c": 2, "a": 5, "nobody": 3})
    np.testing.assert_array_equal(scores, [5.0, np.nan, 2.0])


def test_a_list_of_scores_must_match_the_members() -> None:
    g = CommunityGraph.from_edges(list("abc"), [])
    with pytest.raises(ValueError, match="2 belonging scores for 3 members"):
        belonging_scores(g, [1, 2])


def reference_means(
    scores: np.ndarray, groups: list, min_group_size: int, order: list | None
) -> list[tuple[object, int, float]]:
    """Rated members collected group by group in Python, as a plain reading of the contract."""
    rated: dict[object, list[float]] = {}
    for score, group in zip(scores.tolist(), groups, strict=True):
        if group is not None and not np.isnan(score):
            rated.setdefault(group, []).append(score)
    keys = list(rated) if order is None else [g for g in order if g in rated]
    return [
        (group, len(rated[group]), float(np.mean(rated[group])))
        for group in keys
        if len(rated[group]) >= min_group_size
    ]


@pytest.mark.parametrize("as_array", [False, True])
def test_mean_score_by_group_equals_a_plain_python_reading(
    random_seed: int, as_array: bool
) -> None:
    rng = np.random.default_rng(random_seed)
    n = 200
    scores = rng.random(n) * 4 + 1
    scores[rng.random(n) < 0.3] = np.nan
    labels = rng.integers(0, 12, n)
    groups: list = labels.tolist() if as_array else [
        None if rng.random() < 0.2 else f"g{label}" for label in labels.tolist()
    ]
    for order in (None, sorted({g for g in groups if g is not None}, key=str, reverse=True)):
        for k in (0, 1, 5, 30):
            expected = reference_means(scores, groups, k, order)
            given = labels if as_array else groups
            assert mean_score_by_group(scores, given, min_group_size=k, order=order) == expected


def test_groups_and_scores_must_have_the_same_length() -> None:
    with pytest.raises(ValueError, match="2 groups for 3 scores"):
        mean_score_by_group(np.ones(3), ["a", "b"])
