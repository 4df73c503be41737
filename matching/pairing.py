"""Maximum-weight matching on a sparse weighted graph: a linear relaxation, local search, a bound.

Intro rounds pair members along the edges of a sparse candidate graph (a few dozen edges per
member). :func:`max_weight_matching` solves the linear relaxation of matching (one variable per
edge, at most one matched edge per vertex) exactly, as an assignment problem on the graph's
bipartite double cover: every vertex appears once on each side, an edge ``(i, j)`` gives the
arcs ``i -> j`` and ``j -> i`` of its weight, and ``i -> i`` of weight 0 leaves ``i`` alone.
Half the best assignment's weight is the relaxation's optimum, so it bounds every matching from
above (OR-Tools' ``SimpleLinearSumAssignment`` solves it). The assignment is a permutation: its
2-cycles are matched edges, and each longer cycle is a cycle of the graph, matched exactly by
dynamic programming. The result is then completed greedily, heaviest edge first, and improved
locally: an edge outside the matching replaces the one or two matched edges it touches when that
gains weight, the partners it frees re-pairing with free neighbours (or with each other) in the
same move.

Measured on the candidate graph of a 10,000-member round (193,000 edges): the assignment takes
0.4 s and the result lands within 0.2% of the bound; HiGHS on the same relaxation took 5 s, and
greedy with local improvement alone landed 4.6% below it. networkx's blossom algorithm takes
40 s on 2,000 vertices and 10,000 edges.

:func:`dual_bound` gives a cheaper upper bound (a feasible solution of the dual of the
fractional matching problem) when the relaxation is not solved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.graph.python import linear_sum_assignment

COST_SCALE = 1e9
"""The heaviest edge's cost in the assignment (costs are integers there)."""
MAX_PASSES = 6
"""Local-improvement passes over every edge; passes stop early once one gains less than
``SETTLED`` of the matching's weight."""
PASSES_AFTER_RELAXATION = 1
"""Passes after the relaxation's matching: on a 10,000-member round the first closes a third of
the gap to the bound (0.22% to 0.14%) and a second gains 0.005%."""
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
    relaxation: bool = True,
) -> Matching:
    """A matching of high total weight on ``n`` vertices and edges ``(u[k], v[k], w[k])``.

    Parameters
    ----------
    n : int
        Number of vertices.
    u, v, w : ndarray
        Edge endpoints (distinct, ``u[k] != v[k]``, no edge twice) and positive weights.
    relaxation : bool
        Start from the linear relaxation; False uses greedy with local improvement alone (and
        :func:`dual_bound`).

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
    The relaxation takes about 0.4 s for 10,000 vertices and 200,000 edges. Greedy takes
    O(E log E), and each improvement pass O(E * d) where ``d`` is the typical degree.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    mate = np.full(n, -1, dtype=np.int64)
    if len(u) == 0:
        return Matching(mate, 0.0, 0.0)
    bound = None
    if relaxation:
        mate, bound = _relaxation(n, u, v, w)
    mate, weight = _greedy_and_improve(n, u, v, w, mate,
                                       passes=PASSES_AFTER_RELAXATION if relaxation else MAX_PASSES)
    if bound is None:
        bound = dual_bound(n, u, v, w)
    return Matching(mate, weight, max(bound, weight))


def _relaxation(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float | None]:
    """A matching from an optimum of the fractional matching problem, and that optimum's value
    (None when the solver fails, and the matching is then empty)."""
    mate = np.full(n, -1, dtype=np.int64)
    scale = COST_SCALE / float(w.max())
    cost = -np.rint(w * scale).astype(np.int64)
    nodes = np.arange(n, dtype=np.int64)
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(np.concatenate([u, v, nodes]), np.concatenate([v, u, nodes]),
                              np.concatenate([cost, cost, np.zeros(n, dtype=np.int64)]))
    if solver.solve() != solver.OPTIMAL:
        return mate, None
    successor = [solver.right_mate(i) for i in range(n)]
    # Rounding moved each arc's cost by at most 1/2, and at most n arcs carry weight.
    bound = (-solver.optimal_cost() + n / 2) / scale / 2
    keys = u * n + v
    order = np.argsort(keys)
    keys, weights = keys[order], w[order]
    seen = [False] * n
    for start in range(n):
        if seen[start] or successor[start] == start:
            continue
        cycle = []
        x = start
        while not seen[x]:
            seen[x] = True
            cycle.append(x)
            x = successor[x]
        if len(cycle) == 2:
            a, b = cycle
            mate[a], mate[b] = b, a
            continue
        ends = np.array(cycle, dtype=np.int64)
        nexts = np.roll(ends, -1)
        edge_weights = weights[np.searchsorted(keys, np.minimum(ends, nexts) * n + np.maximum(ends, nexts))]
        for k in _cycle_matching(edge_weights.tolist()):
            a, b = cycle[k], cycle[(k + 1) % len(cycle)]
            mate[a], mate[b] = b, a
    return mate, bound


def _path_matching(weights: list[float]) -> tuple[float, list[int]]:
    """The heaviest set of pairwise non-adjacent edges of a path with these edge weights."""
    best = [0.0] * (len(weights) + 1)
    for k, weight in enumerate(weights):
        best[k + 1] = max(best[k], (best[k - 1] if k else 0.0) + weight)
    chosen, k = [], len(weights)
    while k > 0:
        if best[k] == best[k - 1]:
            k -= 1
        else:
            chosen.append(k - 1)
            k -= 2
    return best[-1], chosen[::-1]


def _cycle_matching(weights: list[float]) -> list[int]:
    """The heaviest matching of a cycle whose edge ``k`` joins its vertices ``k`` and ``k + 1``."""
    without_last, chosen = _path_matching(weights[:-1])
    last = len(weights) - 1
    inner, inner_chosen = _path_matching(weights[1:-2])
    if inner + weights[last] > without_last:
        return [k + 1 for k in inner_chosen] + [last]
    return chosen


def _greedy_and_improve(
    n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, start: np.ndarray, passes: int = MAX_PASSES
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

    for _ in range(passes):
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
