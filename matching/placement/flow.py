"""Solving without block rows as a min-cost flow, priced in a few pairs at a time.

Without blocks between members being placed, a placement is a flow: source -> member (at most
``member_cap``) -> group (one unit per eligible pair) -> sink (at most the free seats), plus a
free arc source -> sink for seats left empty. Fits have FIT_DECIMALS places, so scaled to
integers the min-cost flow (OR-Tools, exact integer arithmetic) is the exact optimum of total
fit. It is solved over a restricted set of pairs, each member's best few first; the duals of
the restricted optimum then price every other pair, and any pair with a positive reduced cost
joins before the next solve. When none is left, the restricted optimum is optimal over all
pairs (the LP duals prove it).

Notes
-----
The duals come from the restricted optimum by complementary slackness, as a system of
difference constraints over the groups only: with ``v`` a group's dual and ``u`` a member's,

* an unsaturated member has ``u = 0``, so ``v[k] <= w[k]`` for a group ``k`` it uses and
  ``v[k'] >= w[k']`` for a priced pair it does not use;
* a saturated member has ``u = max(0, max over unused k' of w[k'] - v[k'])`` and needs
  ``u + v[k] <= w[k]`` for each ``k`` it uses, i.e. ``v[k] - v[k'] <= w[k] - w[k']`` and
  ``v[k] <= w[k]``;
* ``v >= 0``, and ``v = 0`` for a group with a seat left.

Shortest paths from a root (Bellman-Ford, vectorised over the edges) solve the system; the
restricted optimum guarantees it has no negative cycle. Each round is one OR-Tools solve over
the priced pairs and ``O(rounds_bf x priced pairs)`` numpy work; with ``G`` groups,
Bellman-Ford takes at most ``G + 1`` rounds, in practice a few dozen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from belonging.matching.placement.problem import Problem, best_per_member
from belonging.matching.placement.results import FIT_DECIMALS

# Pairs per member in the first solve, and pairs per member added by each pricing round.
INITIAL_PER_MEMBER = 10
ADDED_PER_MEMBER = 5


@dataclass(frozen=True)
class FlowResult:
    """The flow solve: the chosen pairs, ``"optimal"`` or ``"time_limit"``, the pairs priced
    in, and an upper bound on total fit over all placements without block rows."""

    chosen: np.ndarray
    status: str
    columns: np.ndarray
    bound: float


def solve_flow(problem: Problem, deadline: float) -> FlowResult:
    """The placement maximising total fit, ignoring blocks between members being placed.

    Stops with ``"time_limit"`` (and the last restricted optimum, a valid placement without
    block rows) when ``deadline`` passes between two solves.
    """
    n_pairs = len(problem.fit)
    weight = np.rint(problem.fit * 10.0**FIT_DECIMALS).astype(np.int64)
    active = np.zeros(n_pairs, dtype=bool)
    active[best_per_member(problem, np.ones(n_pairs, dtype=bool), problem.fit, INITIAL_PER_MEMBER)] = True
    chosen = np.zeros(n_pairs, dtype=bool)
    bound = float("inf")
    while True:
        if time.perf_counter() >= deadline:
            return FlowResult(chosen, "time_limit", np.flatnonzero(active), bound)
        pairs = np.flatnonzero(active)
        chosen = np.zeros(n_pairs, dtype=bool)
        chosen[_min_cost_flow(problem, weight, pairs)] = True
        member_dual, group_dual = _duals(problem, weight, pairs, chosen)
        reduced = weight - member_dual[problem.pair_member] - group_dual[problem.pair_group]
        bound = min(
            bound,
            float(
                member_dual @ problem.member_cap
                + group_dual @ problem.seats
                + np.maximum(reduced, 0.0).sum()
            )
            / 10.0**FIT_DECIMALS,
        )
        improving = ~active & (reduced > 0.5)
        if not improving.any():
            return FlowResult(chosen, "optimal", pairs, float(weight[chosen].sum()) / 10.0**FIT_DECIMALS)
        active[best_per_member(problem, improving, reduced, ADDED_PER_MEMBER)] = True


def _min_cost_flow(problem: Problem, weight: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The pairs (among ``pairs``) of a placement with the highest total ``weight``."""
    n_members, n_groups = len(problem.to_place), len(problem.groups)
    source, sink = n_members + n_groups, n_members + n_groups + 1
    supply = int(problem.member_cap.sum())
    tails = np.concatenate(
        [np.full(n_members, source), problem.pair_member[pairs], n_members + np.arange(n_groups), [source]]
    )
    heads = np.concatenate(
        [np.arange(n_members), n_members + problem.pair_group[pairs], np.full(n_groups, sink), [sink]]
    )
    capacities = np.concatenate(
        [problem.member_cap, np.ones(len(pairs), dtype=np.int64), problem.seats, [supply]]
    )
    costs = np.concatenate(
        [np.zeros(n_members, dtype=np.int64), -weight[pairs], np.zeros(n_groups + 1, dtype=np.int64)]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), capacities.astype(np.int64), costs
    )
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != min_cost_flow.SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    used = flow.flows(np.arange(n_members, n_members + len(pairs), dtype=np.int32)) > 0
    return pairs[used]


def _duals(
    problem: Problem, weight: np.ndarray, pairs: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Member and group duals of the restricted optimum ``chosen`` over ``pairs`` (see Notes)."""
    n_members, n_groups = len(problem.to_place), len(problem.groups)
    pair_member, pair_group = problem.pair_member, problem.pair_group
    root = n_groups
    taken = np.bincount(pair_member[chosen], minlength=n_members)
    saturated = taken >= problem.member_cap
    used = np.flatnonzero(chosen)
    unused = pairs[~chosen[pairs]]

    tails, heads, lengths = [], [], []

    def edges(tail: np.ndarray | int, head: np.ndarray | int, length: np.ndarray) -> None:
        count = len(length)
        tails.append(np.broadcast_to(tail, count))
        heads.append(np.broadcast_to(head, count))
        lengths.append(np.asarray(length, dtype=np.float64))

    edges(root, pair_group[used], weight[used])  # v[k] <= w[k] for a group in use
    free_unused = unused[~saturated[pair_member[unused]]]
    edges(pair_group[free_unused], root, -weight[free_unused])  # v[k'] >= w[k']
    # Saturated members: v[k] - v[k'] <= w[k] - w[k'] for every used k and unused k'.
    full_unused = unused[saturated[pair_member[unused]]]
    full_used = used[saturated[pair_member[used]]]
    if len(full_unused) and len(full_used):
        by_member = np.argsort(pair_member[full_used], kind="stable")
        full_used = full_used[by_member]
        first = np.searchsorted(pair_member[full_used], pair_member[full_unused], side="left")
        last = np.searchsorted(pair_member[full_used], pair_member[full_unused], side="right")
        repeat = last - first
        unused_side = np.repeat(full_unused, repeat)
        offsets = np.arange(len(unused_side)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        used_side = full_used[np.repeat(first, repeat) + offsets]
        edges(pair_group[unused_side], pair_group[used_side], weight[used_side] - weight[unused_side])
    edges(np.arange(n_groups), root, np.zeros(n_groups))  # v >= 0
    filled = np.bincount(pair_group[used], minlength=n_groups)
    free = np.flatnonzero(filled < problem.seats)
    edges(root, free, np.zeros(len(free)))  # v = 0 with a seat left

    distance = _bellman_ford(n_groups + 1, root, np.concatenate(tails), np.concatenate(heads), np.concatenate(lengths))
    group_dual = np.where(np.isfinite(distance[:n_groups]), distance[:n_groups], 0.0)
    member_dual = np.zeros(n_members)
    np.maximum.at(member_dual, pair_member[full_unused], weight[full_unused] - group_dual[pair_group[full_unused]])
    return member_dual, group_dual


def _bellman_ford(
    n_nodes: int, root: int, tails: np.ndarray, heads: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Shortest distances from ``root``; raises RuntimeError on a negative cycle."""
    # Edges grouped by head once, so that each round relaxes them with one segmented minimum.
    order = np.argsort(heads, kind="stable")
    tails, lengths = tails[order], lengths[order]
    targets, first = np.unique(heads[order], return_index=True)
    distance = np.full(n_nodes, np.inf)
    distance[root] = 0.0
    for _ in range(n_nodes):
        reached = np.minimum.reduceat(distance[tails] + lengths, first)
        updated = distance.copy()
        updated[targets] = np.minimum(distance[targets], reached)
        if np.array_equal(updated, distance):
            return distance
        distance = updated
    raise RuntimeError("placement duals: negative cycle, the restricted flow was not optimal")
