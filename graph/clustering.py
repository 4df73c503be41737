"""Closed circles: triangles and the clustering coefficient (do a member's contacts know each other).

Counted by igraph in C on the cached igraph view of the community. Measured on a synthetic
community of 100k members and 1M ties: 0.2 s, against about 2 s for the sparse-product count on
degree-oriented ties ``(U @ U) * U`` (and far more memory for the plain ``(A @ A) * A``).
"""

from __future__ import annotations

import numpy as np

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.ties import as_igraph


def clustering(graph: CommunityGraph) -> np.ndarray:
    """Unweighted local clustering of each member (``networkx.clustering`` without weights).

    ``2 * triangles / (degree * (degree - 1))``, and 0 for members with fewer than two ties.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    ... )
    >>> clustering(g).round(4).tolist()
    [1.0, 1.0, 0.3333, 0.0]

    Notes
    -----
    igraph's triangle listing: O(sum over ties of the smaller degree), at worst O(ties ** 1.5).
    """
    if graph.number_of_ties == 0:
        return np.zeros(graph.number_of_members, dtype=np.float64)
    values = as_igraph(graph).transitivity_local_undirected(mode="zero")
    return np.asarray(values, dtype=np.float64)


def triangles(graph: CommunityGraph) -> np.ndarray:
    """Number of triangles each member is part of (``networkx.triangles``), as an int array.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    ... )
    >>> triangles(g).tolist()
    [1, 1, 1, 0]

    Notes
    -----
    Same cost as :func:`clustering`.
    """
    degrees = graph.degrees().astype(np.float64)
    return np.rint(clustering(graph) * degrees * (degrees - 1.0) / 2.0).astype(np.int64)


def average_clustering(graph: CommunityGraph, *, count_zeros: bool = True) -> float:
    """Mean local clustering over members (``networkx.average_clustering``, unweighted).

    Parameters
    ----------
    graph : CommunityGraph
    count_zeros : bool
        If False, members with clustering 0 are left out of the mean.

    Returns
    -------
    float
        ``nan`` when no member is averaged (networkx raises instead).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    ... )
    >>> round(average_clustering(g), 4)
    0.5833

    Notes
    -----
    Same cost as :func:`clustering`.
    """
    values = clustering(graph)
    if not count_zeros:
        values = values[values > 0]
    if len(values) == 0:
        return float("nan")
    return float(values.mean())
