"""Maximum-weight matching on a sparse weighted graph: a linear relaxation, local search, a bound.

Intro rounds pair members along the edges of a sparse candidate graph (a few dozen edges per
member). :func:`max_weight_matching` solves the linear relaxation (one variable per edge, at
most one matched edge per vertex) with HiGHS while the graph has at most ``LP_EDGES`` edges:
its optimum is half-integral and almost always integral on these graphs, its value bounds
every matching from above, and the edges at 1 are kept. What is left (odd cycles at 1/2, or
the whole graph when it is too large for the relaxation) is matched greedily, heaviest edge
first, then improved locally: an edge outside the matching replaces the one or two matched
edges it touches when that gains weight, the partners it frees re-pairing with free neighbours
(or with each other) in the same move.

Measured on random sparse graphs: the relaxation solves 2,000 vertices and 10,000 edges in
0.15 s at the exact optimum (networkx's blossom algorithm takes 40 s); greedy with local
improvement alone lands about 2% below it, in a quarter of a second.

:func:`dual_bound` gives a cheaper upper bound (a feasible solution of the dual of the
fractional matching problem) when the relaxation is not solved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

LP_EDGES = 120_000
"""Graphs with at most this many edges go through the linear relaxation (a few seconds at most)."""
MAX_PASSES = 6
"""Local-improvement passes over every edge; passes stop early once one gains less than
``SETTLED`` of the matching's weight."""
SETTLED = 1e-4
_GAIN = 1e-12


@dataclass(frozen=True)
class Matching:
    """``mate[i]`` is the vertex matched to ``i`` (-1 if free); ``weight`` the total weight;
    ``bound`` an upper bound on the weight of any matching of the graph."""

    mate: np.ndarray
    weight: float
    bound: float

    def pairs(self) -> list[tuple[int, int]]:
        """Matched pairs ``(i, j)`` with ``i < j``, in vertex order."""
        return [(i, int(j)) for i, j in enumerate(self.mate.tolist()) if j > i]


def weighted_adjacency(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_array:
    """The symmetric CSR adjacency of edges ``(u[k], v[k])`` with weight ``w[k]`` (no duplicates)."""
    rows = np.concatenate([u, v]).astype(np.int64)
    cols = np.concatenate([v, u]).astype(np.int64)
    data = np.concatenate([w, w]).astype(np.float64)
    matrix = sp.csr_array((data, (rows, cols)), shape=(n, n))
    matrix.sort_indices()
    return matrix


def max_weight_matching(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    *,
    lp_edges: int = LP_EDGES,
) -> Matching:
    """A matching of high total weight on ``n`` vertices and edges ``(u[k], v[k], w[k])``.

    Parameters
    ----------
    n : int
        Number of vertices.
    u, v, w : ndarray
        Edge endpoints (distinct, ``u[k] != v[k]``, no edge twice) and positive weights.
    lp_edges : int
        Start from the linear relaxation when there are at most this many edges; 0 uses greedy
        with local improvement alone.

    Returns
    -------
    Matching

    Examples
    --------
    A path a-b-c-d where the middle edge is heaviest alone but lighter than the two ends:

    >>> import numpy as np
    >>> m = max_weight_matching(4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([2.0, 3.0, 2.0]))
    >>> m.pairs(), m.weight
    ([(0, 1), (2, 3)], 4.0)

    Notes
    -----
    The relaxation takes about 0.15 s for 10,000 edges and grows a little faster than linearly.
    Greedy takes O(E log E), and each improvement pass O(E * d) where ``d`` is the typical
    degree: about a second for 10,000 vertices and 300,000 edges.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    mate = np.full(n, -1, dtype=np.int64)
    if len(u) == 0:
        return Matching(mate, 0.0, 0.0)
    bound = None
    if len(u) <= lp_edges:
        chosen, bound = _relaxation(n, u, v, w)
        mate[u[chosen]], mate[v[chosen]] = v[chosen], u[chosen]
    mate, weight = _greedy_and_improve(n, u, v, w, mate)
    if bound is None:
        bound = dual_bound(n, u, v, w)
    return Matching(mate, weight, max(bound, weight))


def _relaxation(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Edges at 1 in an optimum of the fractional matching problem, and its value."""
    edges = len(u)
    incidence = sp.csr_array(
        (np.ones(2 * edges), (np.concatenate([u, v]), np.tile(np.arange(edges), 2))),
        shape=(n, edges),
    )
    result = linprog(-w, A_ub=incidence, b_ub=np.ones(n), bounds=(0, 1), method="highs")
    if result.status != 0 or result.x is None:
        return np.zeros(edges, dtype=bool), float(w.clip(min=0).sum())
    return result.x > 0.99, float(-result.fun)


def _greedy_and_improve(
    n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, float]:
    """Complete the matching ``start`` greedily, then improve it locally; ``(mate, weight)``."""
    mate = start.tolist()
    matched_weight = [0.0] * n
    order = np.argsort(-w, kind="stable")
    u_sorted, v_sorted, w_sorted = u[order], v[order], w[order]
    us, vs, ws = u_sorted.tolist(), v_sorted.tolist(), w_sorted.tolist()
    for a, b, weight in zip(us, vs, ws, strict=True):
        if mate[a] == b:
            matched_weight[a] = matched_weight[b] = weight
    for a, b, weight in zip(us, vs, ws, strict=True):
        if mate[a] < 0 and mate[b] < 0:
            mate[a], mate[b] = b, a
            matched_weight[a] = matched_weight[b] = weight

    adjacency = weighted_adjacency(n, u, v, w)
    indptr = adjacency.indptr.tolist()
    indices = adjacency.indices.tolist()
    weights = adjacency.data.tolist()
    weight_of = {a * n + b: weight for a, b, weight in zip(us, vs, ws, strict=True)}
    has_edges = np.diff(adjacency.indptr) > 0
    heaviest = np.zeros(n)
    np.maximum.at(heaviest, np.concatenate([u, v]), np.concatenate([w, w]))
    owner = np.repeat(np.arange(n), np.diff(adjacency.indptr))

    def best_free(x: int, avoid: tuple[int, ...]) -> tuple[float, int]:
        top, chosen = 0.0, -1
        for k in range(indptr[x], indptr[x + 1]):
            y = indices[k]
            if mate[y] < 0 and weights[k] > top and y not in avoid:
                top, chosen = weights[k], y
        return top, chosen

    for _ in range(MAX_PASSES):
        # The heaviest edge from each vertex to a free vertex, as of the start of the pass:
        # moves that could not gain even with it are skipped without a look.
        free = np.asarray(mate) < 0
        to_free = np.where(free[adjacency.indices], adjacency.data, 0.0)
        room_of = np.zeros(n)
        np.maximum.at(room_of, owner, to_free)
        room_of[~has_edges] = 0.0
        room = room_of.tolist()
        # Edges that could gain as things stand at the start of the pass; each is re-checked
        # against the current matching before it is taken.
        current = np.asarray(mate)
        held = np.asarray(matched_weight)
        partner_a, partner_b = current[u_sorted], current[v_sorted]
        room_a = np.where(partner_a >= 0, room_of[partner_a], 0.0)
        room_b = np.where(partner_b >= 0, room_of[partner_b], 0.0)
        both = (partner_a >= 0) & (partner_b >= 0)
        pair_room = np.where(both, np.minimum(heaviest[partner_a], heaviest[partner_b]), 0.0)
        loss = held[u_sorted] + held[v_sorted]
        promising = (partner_a != v_sorted) & (w_sorted + np.maximum(room_a + room_b, pair_room) > loss + _GAIN)
        gained_in_pass = 0.0
        for k in np.flatnonzero(promising).tolist():
            a, b, weight = us[k], vs[k], ws[k]
            if mate[a] == b:
                continue
            pa, pb = mate[a], mate[b]
            loss_now = matched_weight[a] + matched_weight[b]
            together = weight_of.get(min(pa, pb) * n + max(pa, pb), 0.0) if pa >= 0 and pb >= 0 else 0.0
            reach = room[pa] * (pa >= 0) + room[pb] * (pb >= 0)
            if weight + max(reach, together) <= loss_now + _GAIN:
                continue
            # Partners freed by taking (a, b): re-pair them with free neighbours or each other.
            first, c = best_free(pa, (a, b)) if pa >= 0 else (0.0, -1)
            second, d = best_free(pb, (a, b, c)) if pb >= 0 else (0.0, -1)
            if together > first + second:
                first, c, second, d = together, pb, 0.0, -1
            gain = weight + first + second - loss_now
            if gain <= _GAIN:
                continue
            for x in (pa, pb):
                if x >= 0:
                    mate[x], matched_weight[x] = -1, 0.0
            mate[a], mate[b] = b, a
            matched_weight[a] = matched_weight[b] = weight
            for x, y, gained in ((pa, c, first), (pb, d, second)):
                if x >= 0 and y >= 0 and mate[x] < 0 and mate[y] < 0:
                    mate[x], mate[y] = y, x
                    matched_weight[x] = matched_weight[y] = gained
            gained_in_pass += gain
        if gained_in_pass <= SETTLED * sum(matched_weight) / 2.0:
            break
    return np.array(mate, dtype=np.int64), sum(matched_weight) / 2.0


def dual_bound(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, *, passes: int = 3) -> float:
    """An upper bound on the weight of any matching of the graph.

    Starts from half of each vertex's heaviest edge (``y_i = max w / 2``, so ``y_a + y_b >= w``
    on every edge) and lowers each ``y_i`` in turn to ``max(0, max_j (w_ij - y_j))``, which
    keeps every edge covered. Any matching weighs at most ``sum(y)``.

    On a path of two unit edges (best matching: 1) it gives 1.5; the relaxation gives 1:

    >>> import numpy as np
    >>> dual_bound(3, np.array([0, 1]), np.array([1, 2]), np.array([1.0, 1.0]))
    1.5
    """
    if len(u) == 0:
        return 0.0
    adjacency = weighted_adjacency(n, np.asarray(u), np.asarray(v), np.asarray(w, dtype=np.float64))
    indptr, indices, data = adjacency.indptr, adjacency.indices, adjacency.data
    y = np.zeros(n)
    np.maximum.at(y, adjacency.nonzero()[0], data / 2.0)
    vertices = np.flatnonzero(np.diff(indptr) > 0)
    for _ in range(passes):
        for i in vertices.tolist():
            lo, hi = indptr[i], indptr[i + 1]
            y[i] = max(0.0, float(np.max(data[lo:hi] - y[indices[lo:hi]])))
    return float(y.sum())
