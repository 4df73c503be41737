"""Belonging by position: how members' own belonging ratings differ with their place in the graph.

Ratings are the members' latest self-rated ``belonging_score`` (1 to 5) from the platform's
survey. Means are only shown for groups with at least ``min_group_size`` rated members, so that
no small group's answers can be read off a report.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from belonging.graph.community_graph import CommunityGraph

POSITIONS = ("isolated", "one_tie", "well_connected")


def belonging_scores(
    graph: CommunityGraph, scores: Mapping[str, float | None] | Sequence[float | None]
) -> np.ndarray:
    """Ratings as a float array aligned with ``graph.member_ids`` (``nan`` where unrated).

    Parameters
    ----------
    graph : CommunityGraph
    scores : mapping or sequence
        ``{member_id: score}`` (members left out are unrated, unknown ids are ignored) or one
        score (or None) per member.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [])
    >>> belonging_scores(g, {"a": 4, "c": None}).tolist()
    [4.0, nan, nan]

    Notes
    -----
    O(members).
    """
    n = graph.number_of_members
    if isinstance(scores, Mapping):
        values = [scores.get(member_id) for member_id in graph.member_ids]
    else:
        if len(scores) != n:
            raise ValueError(f"got {len(scores)} belonging scores for {n} members")
        values = list(scores)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def member_positions(graph: CommunityGraph) -> list[str]:
    """Each member's position: ``isolated`` (no tie), ``one_tie`` or ``well_connected`` (2+).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("b", "c")])
    >>> member_positions(g)
    ['one_tie', 'well_connected', 'one_tie', 'isolated']

    Notes
    -----
    O(members).
    """
    position = np.minimum(graph.degrees(), 2)
    return [POSITIONS[p] for p in position.tolist()]


def mean_score_by_group(
    scores: np.ndarray,
    groups: Sequence[Hashable | None],
    *,
    min_group_size: int = 5,
    order: Sequence[Hashable] | None = None,
) -> list[tuple[Hashable, int, float]]:
    """``(group, rated members, mean rating)`` for each group with enough rated members.

    Parameters
    ----------
    scores : numpy.ndarray
        One rating per member, ``nan`` where unrated.
    groups : sequence
        One group per member; members with None are left out.
    min_group_size : int
        Groups with fewer rated members are left out.
    order : sequence, optional
        Order of the result; default the order in which groups first appear.

    Examples
    --------
    >>> mean_score_by_group(np.array([1.0, 3.0, 5.0, np.nan]), ["x", "x", "y", "y"],
    ...                     min_group_size=2)
    [('x', 2, 2.0)]

    Notes
    -----
    O(members).
    """
    rated: dict[Hashable, list[float]] = {}
    for score, group in zip(scores.tolist(), groups, strict=True):
        if group is not None and not np.isnan(score):
            rated.setdefault(group, []).append(score)
    keys = list(rated) if order is None else [g for g in order if g in rated]
    return [
        (group, len(rated[group]), float(np.mean(rated[group])))
        for group in keys
        if len(rated[group]) >= min_group_size
    ]


def belonging_by_position(
    graph: CommunityGraph,
    scores: Mapping[str, float | None] | Sequence[float | None] | np.ndarray,
    *,
    min_group_size: int = 5,
) -> list[tuple[Hashable, int, float]]:
    """Mean rating of isolated, one-tie and well-connected members (see :func:`member_positions`).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("b", "c"), ("c", "a")])
    >>> belonging_by_position(g, [4, 5, 3, 1], min_group_size=1)
    [('isolated', 1, 1.0), ('well_connected', 3, 4.0)]

    Notes
    -----
    O(members).
    """
    if not isinstance(scores, np.ndarray):
        scores = belonging_scores(graph, scores)
    return mean_score_by_group(
        scores, member_positions(graph), min_group_size=min_group_size, order=POSITIONS
    )
