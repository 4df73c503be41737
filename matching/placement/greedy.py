"""First come, first served: the baseline the exact engine is measured against, and the
rounding step that repairs a fractional or stopped solve."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from belonging.matching.groups import SupportGroup
from belonging.matching.placement.explain import explain_placement
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.problem import Problem, build_problem
from belonging.matching.placement.results import Placement, SolverStats
from belonging.matching.profiles import MemberProfile


def greedy_placement(
    members: Sequence[MemberProfile],
    groups: Sequence[SupportGroup],
    *,
    blocks: Iterable[Collection[str]] = frozenset(),
    degrees: Mapping[str, int] | None = None,
    member_ids: Sequence[str] | None = None,
    group_ids: Sequence[str] | None = None,
    options: PlacementOptions = PlacementOptions(),
) -> Placement:
    """First come, first served: the baseline :func:`propose_placement` is measured against.

    Members are taken in the order given (``member_ids``, else ``members``); each takes the
    free groups with the highest fit that hold nobody they have a block with. Same eligibility,
    fits, rules and result shape as :func:`propose_placement`, but no optimality.
    """
    started = time.perf_counter()
    problem = build_problem(members, groups, blocks, degrees, member_ids, group_ids, options)
    solve_started = time.perf_counter()
    chosen = fill(problem, np.zeros(len(problem.fit), dtype=bool))
    stats = SolverStats(
        "greedy", "feasible", None, 0.0, time.perf_counter() - solve_started, len(problem.fit), 0, 0
    )
    return explain_placement(problem, chosen, stats, options, started)



def make_feasible(problem: Problem, chosen: np.ndarray) -> np.ndarray:
    """Keep the chosen pairs, highest fit first, that fit seats, member limits and blocks."""
    return fill(problem, np.zeros_like(chosen), among=np.flatnonzero(chosen))


def fill(problem: Problem, chosen: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """Add pairs to ``chosen`` first come, first served: members in order, each taking their
    best-fitting groups that still have a seat and hold nobody they have a block with.

    With ``among``, only those pairs are considered, highest fit first.
    """
    chosen = chosen.copy()
    seats = problem.seats - np.bincount(problem.pair_group[chosen], minlength=len(problem.seats))
    taken = np.bincount(problem.pair_member[chosen], minlength=len(problem.to_place))
    placed_in: dict[int, set[str]] = {}
    for j in np.flatnonzero(chosen).tolist():
        group = int(problem.pair_group[j])
        placed_in.setdefault(group, set()).add(problem.to_place[problem.pair_member[j]].member_id)
    if among is None:
        order = np.lexsort((np.arange(len(problem.fit)), -problem.fit, problem.pair_member))
    else:
        order = among[np.lexsort((among, -problem.fit[among]))]
    for j in order.tolist():
        i, group = int(problem.pair_member[j]), int(problem.pair_group[j])
        if chosen[j] or taken[i] >= problem.member_cap[i] or seats[group] <= 0:
            continue
        member_id = problem.to_place[i].member_id
        if not problem.blocked.get(member_id, frozenset()).isdisjoint(placed_in.get(group, ())):
            continue
        chosen[j] = True
        seats[group] -= 1
        taken[i] += 1
        placed_in.setdefault(group, set()).add(member_id)
    return chosen

