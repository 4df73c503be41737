"""Brokers: members who sit on many shortest paths between others (betweenness centrality).

Brokers hold a community together across silos; they are also where it is fragile. Betweenness is
exact on small communities and estimated from ``k`` random source members (pivots) on large ones,
with the very pivots and scaling that ``networkx.betweenness_centrality(G, k=k, seed=seed)``
uses, so both give the same numbers.
"""

from __future__ import annotations

import random

import numpy as np

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.ties import as_igraph


def betweenness_pivots(graph: CommunityGraph, k: int, *, seed: int = 0) -> list[int]:
    """The ``k`` member positions networkx samples as sources for ``k`` and integer ``seed``.

    networkx draws ``random.Random(seed).sample(list(G), k)``; sampling positions from a
    sequence of the same length with the same generator picks the same members.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abcde"), [])
    >>> len(betweenness_pivots(g, 3, seed=1))
    3

    Notes
    -----
    O(k).
    """
    return random.Random(seed).sample(range(graph.number_of_members), k)


def betweenness_centrality(
    graph: CommunityGraph, *, k: int | None = None, normalized: bool = True, seed: int = 0
) -> np.ndarray:
    """Shortest-path betweenness of each member, as ``networkx.betweenness_centrality``.

    Ties are unweighted hops (a tie's weight is its strength, not a distance); endpoints are
    not counted.

    Parameters
    ----------
    graph : CommunityGraph
    k : int, optional
        Number of pivots to estimate from; None (or ``k >= members``) computes it exactly.
    normalized : bool
        Scale to the share of member pairs, as networkx does (for ``k`` pivots, networkx's
        sampling correction: members that were pivots are scaled by ``1 / ((k - 1)(n - 2))``,
        others by ``1 / (k (n - 2))``).
    seed : int
        Chooses the pivots; the same ``k`` and ``seed`` pick the same pivots as networkx.

    Returns
    -------
    numpy.ndarray
        One float per member.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [("a", "b"), ("b", "c")])
    >>> betweenness_centrality(g).tolist()
    [0.0, 1.0, 0.0]

    Notes
    -----
    Brandes' algorithm in igraph's C code: O(members * ties) exact, O(k * ties) estimated.
    """
    n = graph.number_of_members
    if k is not None and k < 2 and k < n:
        raise ValueError("betweenness needs at least 2 pivots (or k=None for the exact value)")
    pivots = None if k is None or k >= n else betweenness_pivots(graph, k, seed=seed)
    if graph.number_of_ties == 0:
        return np.zeros(n, dtype=np.float64)
    converted = as_igraph(graph)
    # igraph counts each unordered pair once; networkx accumulates ordered (source, target) pairs.
    if pivots is None or k is None:
        ordered = 2.0 * np.asarray(converted.betweenness(directed=False), dtype=np.float64)
    else:
        ordered = 2.0 * np.asarray(
            converted.betweenness(directed=False, sources=pivots), dtype=np.float64
        )
    if n <= 2:
        return ordered
    if normalized:
        if pivots is None or k is None:
            return ordered / ((n - 1) * (n - 2))
        is_pivot = np.zeros(n, dtype=bool)
        is_pivot[pivots] = True
        scale = np.where(is_pivot, 1.0 / ((k - 1) * (n - 2)), 1.0 / (k * (n - 2)))
        return ordered * scale
    if pivots is None or k is None:
        return ordered / 2.0
    is_pivot = np.zeros(n, dtype=bool)
    is_pivot[pivots] = True
    return ordered * np.where(is_pivot, (n - 1) / ((k - 1) * 2.0), (n - 1) / (k * 2.0))


def top_brokers(
    graph: CommunityGraph, n: int = 10, *, k: int | None = None, seed: int = 0
) -> list[tuple[str, float]]:
    """The ``n`` members with the highest (normalised) betweenness, highest first.

    Members with zero betweenness are never listed; equal scores keep member order.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("b", "c"), ("c", "d")])
    >>> [(member, round(score, 4)) for member, score in top_brokers(g, 3)]
    [('b', 0.6667), ('c', 0.6667)]

    Notes
    -----
    Same cost as :func:`betweenness_centrality`, plus O(members log members).
    """
    scores = betweenness_centrality(graph, k=k, seed=seed)
    order = np.argsort(-scores, kind="stable")[:n]
    return [(graph.member_ids[i], float(scores[i])) for i in order if scores[i] > 0]
