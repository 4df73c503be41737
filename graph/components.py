"""How whole the community is: density, connected components, isolates, cut points and bridges.

Components count every connected piece, isolated members included, so a community of 10 members
with 2 isolated members and everyone else connected has 3 components.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
from scipy.sparse.csgraph import connected_components

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.ties import as_igraph, kept_view, tie_endpoints


def density(graph: CommunityGraph) -> float:
    """Share of possible ties that exist: ``ties / (members * (members - 1) / 2)``.

    Same definition as ``networkx.density`` for an undirected graph (0 for fewer than 2 members).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "b")])
    >>> round(density(g), 4)
    0.3333

    Notes
    -----
    O(1).
    """
    n = graph.number_of_members
    if n < 2:
        return 0.0
    return graph.number_of_ties / (n * (n - 1) / 2)


def component_labels(graph: CommunityGraph) -> np.ndarray:
    """The connected component of each member, numbered 0 (largest) upwards.

    Components of equal size are numbered in the order of their first member.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c", "d"], [("c", "d"), ("d", "b")])
    >>> component_labels(g).tolist()
    [1, 0, 0, 0]

    Notes
    -----
    O(members + ties), with ``scipy.sparse.csgraph.connected_components``.
    """
    return kept_view(graph, "component_labels", lambda: _component_labels(graph)).copy()


def _component_labels(graph: CommunityGraph) -> np.ndarray:
    if graph.number_of_members == 0:
        return np.zeros(0, dtype=np.int64)
    # On a symmetric matrix strong components are the components, and scipy finds them
    # without first building the transpose.
    _, labels = connected_components(graph.adjacency, directed=True, connection="strong")
    return relabel_by_size(labels)


def component_sizes(graph: CommunityGraph) -> np.ndarray:
    """Sizes of the connected components, largest first (isolated members are components of 1).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c", "d"], [("c", "d"), ("d", "b")])
    >>> component_sizes(g).tolist()
    [3, 1]

    Notes
    -----
    O(members + ties).
    """
    return np.bincount(component_labels(graph)).astype(np.int64)


def number_of_components(graph: CommunityGraph) -> int:
    """How many connected components, counting each isolated member as one.

    Same number as ``networkx.number_connected_components``.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "b")])
    >>> number_of_components(g)
    2

    Notes
    -----
    O(members + ties).
    """
    if graph.number_of_members == 0:
        return 0
    count, _ = connected_components(graph.adjacency, directed=True, connection="strong")
    return int(count)


def largest_component_share(graph: CommunityGraph) -> float:
    """Share of members in the largest connected component (``nan`` for an empty community).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c", "d"], [("a", "b"), ("b", "c")])
    >>> largest_component_share(g)
    0.75

    Notes
    -----
    O(members + ties).
    """
    sizes = component_sizes(graph)
    if len(sizes) == 0:
        return float("nan")
    return float(sizes[0] / graph.number_of_members)


def isolates(graph: CommunityGraph) -> list[str]:
    """Members without any tie, in member order (``networkx.isolates``).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "c")])
    >>> isolates(g)
    ['b']

    Notes
    -----
    O(members).
    """
    return [graph.member_ids[i] for i in np.flatnonzero(graph.degrees() == 0)]


def articulation_points(graph: CommunityGraph) -> list[str]:
    """Members whose departure would split their component, in member order.

    Same set as ``networkx.articulation_points``.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "b"), ("b", "c")])
    >>> articulation_points(g)
    ['b']

    Notes
    -----
    O(members + ties), with igraph's biconnected components (Hopcroft-Tarjan) in C, found once
    for cut points, bridges and the core inside :func:`keep_igraph`.
    """
    if graph.number_of_ties == 0:
        return []
    _, cut_points = biconnected_blocks(graph)
    return [graph.member_ids[i] for i in sorted(cut_points)]


def bridges(graph: CommunityGraph) -> list[tuple[str, str]]:
    """Ties whose loss would split their component, as ``(member, member)`` in member order.

    Same set as ``networkx.bridges`` (up to the order inside each pair).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    ... )
    >>> bridges(g)
    [('c', 'd')]

    Notes
    -----
    O(members + ties), with igraph's biconnected components (Hopcroft-Tarjan) in C, found once
    for cut points, bridges and the core inside :func:`keep_igraph`.
    """
    if graph.number_of_ties == 0:
        return []
    ties = tie_endpoints(graph)
    # A bridge is a block of its own, and a block of one tie is a bridge.
    blocks, _ = biconnected_blocks(graph)
    edge_ids = np.sort(np.array([tree[0] for tree in blocks if len(tree) == 1], dtype=np.int64))
    return [
        (graph.member_ids[ties.rows[e]], graph.member_ids[ties.cols[e]]) for e in edge_ids.tolist()
    ]


def biconnected_blocks(graph: CommunityGraph) -> tuple[list[list[int]], list[int]]:
    """The biconnected blocks and the articulation points, from one depth-first search.

    Each block is given by the tie ids (positions in :func:`tie_endpoints`) of a spanning tree
    of it, so a block of ``k`` members lists ``k - 1`` ties; articulation points are member
    positions, in no particular order. Inside :func:`keep_igraph` the search runs once per graph
    and its lists are shared: do not modify them.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     ["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    ... )
    >>> blocks, cut_points = biconnected_blocks(g)
    >>> sorted(len(tree) for tree in blocks), cut_points
    ([1, 2], [2])

    Notes
    -----
    O(members + ties), with igraph's biconnected components (Hopcroft-Tarjan) in C.
    """
    if graph.number_of_ties == 0:
        return [], []
    return kept_view(
        graph,
        "biconnected_blocks",
        lambda: ig.GraphBase.biconnected_components(as_igraph(graph), True),
    )


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber group labels so that 0 is the largest group.

    Groups of equal size are numbered in the order of their first member.

    Examples
    --------
    >>> relabel_by_size(np.array([7, 3, 3, 7, 5])).tolist()
    [0, 1, 1, 0, 2]

    Notes
    -----
    O(members log members).
    """
    labels = np.asarray(labels)
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, dense = np.unique(labels, return_index=True, return_inverse=True)
    sizes = np.bincount(dense)
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[dense].astype(np.int64)
