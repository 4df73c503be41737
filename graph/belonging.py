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
    groups: Sequence[Hashable | None] | np.ndarray,
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
        One group per member; members with None are left out. An integer array is read as
        is (as a membership array of community numbers).
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
    if len(groups) != len(scores):
        raise ValueError(f"got {len(groups)} groups for {len(scores)} scores")
    codes, names = _group_codes(groups, ~np.isnan(scores))
    known = np.flatnonzero(codes >= 0)
    # Rated members grouped, in member order within each group.
    by_group = known[np.argsort(codes[known], kind="stable")]
    counts = np.bincount(codes[known], minlength=len(names))
    starts = np.concatenate([[0], np.cumsum(counts)])
    first = np.full(len(names), len(codes), dtype=np.int64)
    first[counts > 0] = by_group[starts[:-1][counts > 0]]
    # Groups with rated members, in the order in which their first rated member appears.
    code_of = {
        names[code]: code
        for code in np.argsort(first, kind="stable").tolist()
        if counts[code] > 0
    }
    keys = list(code_of) if order is None else [g for g in order if g in code_of]
    result = []
    for group in keys:
        code = code_of[group]
        if counts[code] >= min_group_size:
            rated_scores = scores[by_group[starts[code] : starts[code + 1]]]
            result.append((group, int(counts[code]), float(np.mean(rated_scores))))
    return result


def _group_codes(
    groups: Sequence[Hashable | None] | np.ndarray, rated: np.ndarray
) -> tuple[np.ndarray, list[Hashable]]:
    """Each rated member's group as a code (-1 for unrated members or no group), and the groups."""
    if isinstance(groups, np.ndarray) and groups.dtype.kind in "iu":
        values, codes = np.unique(groups, return_inverse=True)
        names: list[Hashable] = values.tolist()
    else:
        names = [group for group in dict.fromkeys(groups) if group is not None]
        code_of: dict[Hashable | None, int] = {group: code for code, group in enumerate(names)}
        code_of[None] = -1
        codes = np.fromiter(map(code_of.__getitem__, groups), dtype=np.int64, count=len(groups))
    return np.where(rated, codes, -1), names


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
