"""A community's ties as flat arrays, and the same ties as an igraph graph for C-speed algorithms.

``tie_endpoints`` lists each undirected tie once, as ``(row, col, weight)`` with ``row < col``,
in CSR order. ``as_igraph`` builds an undirected ``igraph.Graph`` whose edge ``e`` is tie ``e`` of
``tie_endpoints``. Building it is the slow part of several metrics, so inside ``keep_igraph`` (as
in one silo report) it is built once per ``CommunityGraph`` and shared (and rebuilt if
``adjacency`` is replaced). The same holds for the other views several metrics of one report
read (the tie arrays, the components, the biconnected blocks): :func:`kept_view` computes each
once per kept graph.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import igraph as ig
import numpy as np
import scipy.sparse as sp

from belonging.graph.community_graph import CommunityGraph


class TieEndpoints(NamedTuple):
    """Each undirected tie once: ``rows[e] < cols[e]``, ``weights[e]`` as float64."""

    rows: np.ndarray
    cols: np.ndarray
    weights: np.ndarray


def tie_endpoints(graph: CommunityGraph) -> TieEndpoints:
    """The upper triangle of ``graph.adjacency`` as three aligned arrays.

    Inside :func:`keep_igraph` the arrays are computed once, shared and read-only.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("b", "a", 2.0), ("b", "c")])
    >>> ties = tie_endpoints(g)
    >>> ties.rows.tolist(), ties.cols.tolist(), ties.weights.tolist()
    ([0, 1], [1, 2], [2.0, 1.0])

    Notes
    -----
    O(members + ties) time and memory.
    """
    return kept_view(graph, "tie_endpoints", lambda: _tie_endpoints(graph.adjacency))


def _tie_endpoints(adjacency: sp.csr_array) -> TieEndpoints:
    n = adjacency.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(adjacency.indptr))
    cols = adjacency.indices.astype(np.int64)
    upper = cols > rows
    return TieEndpoints(rows[upper], cols[upper], adjacency.data[upper].astype(np.float64))


class _KeptViews:
    """Views of one adjacency matrix, by name, kept while someone holds ``keep_igraph``."""

    def __init__(self, adjacency: sp.csr_array) -> None:
        self.adjacency = adjacency
        self.views: dict[str, Any] = {}


_IGRAPH_CACHE: weakref.WeakKeyDictionary[CommunityGraph, _KeptViews] = weakref.WeakKeyDictionary()
_IGRAPH_KEEPERS: weakref.WeakKeyDictionary[CommunityGraph, int] = weakref.WeakKeyDictionary()
_IGRAPH_CACHE_LOCK = threading.Lock()

View = TypeVar("View")


def kept_view(graph: CommunityGraph, name: str, compute: Callable[[], View]) -> View:
    """``compute()``, computed once per graph and ``name`` inside :func:`keep_igraph`.

    Outside ``keep_igraph`` (or once ``graph.adjacency`` is replaced) it simply calls
    ``compute``. A kept view is shared by every caller, so it must not be modified; numpy arrays
    in it are made read-only.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b"], [("a", "b")])
    >>> with keep_igraph(g):
    ...     tie_endpoints(g) is tie_endpoints(g)
    True
    >>> tie_endpoints(g) is tie_endpoints(g)
    False
    """
    with _IGRAPH_CACHE_LOCK:
        kept = _IGRAPH_CACHE.get(graph)
        if kept is not None and kept.adjacency is graph.adjacency and name in kept.views:
            return kept.views[name]
    view = compute()
    with _IGRAPH_CACHE_LOCK:
        if _IGRAPH_KEEPERS.get(graph, 0) > 0:
            _freeze(view)
            kept = _IGRAPH_CACHE.get(graph)
            if kept is None or kept.adjacency is not graph.adjacency:
                kept = _IGRAPH_CACHE[graph] = _KeptViews(graph.adjacency)
            view = kept.views.setdefault(name, view)
    return view


def _freeze(view: object) -> None:
    """Make the numpy arrays of a shared view (an array or a tuple of them) read-only."""
    for part in view if isinstance(view, tuple) else (view,):
        if isinstance(part, np.ndarray):
            part.setflags(write=False)


def as_igraph(graph: CommunityGraph) -> ig.Graph:
    """An undirected ``igraph.Graph`` on member positions, with tie weights in ``es["weight"]``.

    Edge ``e`` is tie ``e`` of :func:`tie_endpoints`. Built afresh on each call, except inside
    :func:`keep_igraph` for the same graph, where it is built once and shared; either way it
    must not be modified.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "b"), ("b", "c", 3.0)])
    >>> as_igraph(g).get_edgelist(), as_igraph(g).es["weight"]
    ([(0, 1), (1, 2)], [1.0, 3.0])

    Notes
    -----
    O(members + ties); about a second per million ties, spent converting to igraph's C arrays.
    """
    return kept_view(graph, "igraph", lambda: _igraph_view(graph))


def _igraph_view(graph: CommunityGraph) -> ig.Graph:
    ties = tie_endpoints(graph)
    # A list of tuples converts about twice as fast as a 2-column array or a list of lists.
    edges = list(zip(ties.rows.tolist(), ties.cols.tolist(), strict=True))
    converted = ig.Graph(n=graph.number_of_members, edges=edges, directed=False)
    converted.es["weight"] = ties.weights.tolist()
    return converted


@contextmanager
def keep_igraph(graph: CommunityGraph) -> Iterator[None]:
    """Within the block, :func:`as_igraph` builds ``graph``'s igraph view once and reuses it.

    So do :func:`tie_endpoints` and every other :func:`kept_view` of the graph. The igraph view
    takes several times the memory of the sparse graph (igraph's edge and index
    arrays plus the weights), so it is only kept while someone asks for it several times, such
    as during one silo report, and dropped afterwards.
    Blocks may nest and run in several threads.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b"], [("a", "b")])
    >>> with keep_igraph(g):
    ...     as_igraph(g) is as_igraph(g)
    True
    >>> as_igraph(g) is as_igraph(g)
    False
    """
    with _IGRAPH_CACHE_LOCK:
        _IGRAPH_KEEPERS[graph] = _IGRAPH_KEEPERS.get(graph, 0) + 1
    try:
        yield
    finally:
        with _IGRAPH_CACHE_LOCK:
            _IGRAPH_KEEPERS[graph] -= 1
            if _IGRAPH_KEEPERS[graph] == 0:
                del _IGRAPH_KEEPERS[graph]
                _IGRAPH_CACHE.pop(graph, None)
