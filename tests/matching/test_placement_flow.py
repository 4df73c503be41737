"""The min-cost flow reaches the same optimum as the HiGHS column generation and a plain MIP."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from belonging.matching.groups import SupportGroup
from belonging.matching.placement import PlacementOptions, propose_placement
from belonging.matching.placement.exact import _PricedModel
from belonging.matching.placement.flow import solve_flow
from belonging.matching.placement.problem import Problem, best_per_member, build_problem
from belonging.matching.profiles import MemberProfile


def random_problem(seed: int, max_groups: int) -> Problem:
    """Forty members with one to three needs, eight small groups, some current members."""
    rng = random.Random(seed)
    needs = ["grief", "anxiety", "caring", "loneliness"]
    hobbies = ["chess", "hiking", "music", "food", "film"]
    current = [
        MemberProfile(f"c{i}", interests=tuple(rng.sample(hobbies, 2)), attributes={"cohort": rng.choice("ab")})
        for i in range(10)
    ]
    members = [
        MemberProfile(
            f"m{i}",
            needs=tuple(rng.sample(needs, rng.randint(1, 3))),
            interests=tuple(rng.sample(hobbies, rng.randint(0, 3))),
            formats=rng.choice([("online",), ("in_person",), ("online", "in_person")]),
            attributes={"cohort": rng.choice("ab")},
        )
        for i in range(40)
    ]
    groups = [
        SupportGroup(
            f"g{k}",
            f"Group {k}",
            tuple(rng.sample(needs, rng.randint(1, 3))),
            rng.randint(1, 6),
            rng.choice(["online", "in_person"]),
            member_ids=tuple(c.member_id for c in current if rng.random() < 0.2),
        )
        for k in range(8)
    ]
    degrees = {m.member_id: rng.randint(0, 4) for m in members}
    options = PlacementOptions(max_new_groups_per_member=max_groups, spread_attribute="cohort")
    return build_problem(members + current, groups, (), degrees, None, None, options)


def highs_optimum(problem: Problem) -> float:
    """The LP optimum by the HiGHS column generation the exact solver uses for block rows."""
    model = _PricedModel(problem)
    model.add(best_per_member(problem, np.ones(len(problem.fit), dtype=bool), problem.fit, 3))
    assert model.price(math.inf) == "optimal"
    return model.objective()


def integer_optimum(problem: Problem) -> float:
    """The integer optimum over every eligible pair, as one MIP for scipy's HiGHS."""
    n_pairs, n_members = len(problem.fit), len(problem.to_place)
    matrix = np.zeros((n_members + len(problem.groups), n_pairs))
    matrix[problem.pair_member, np.arange(n_pairs)] = 1.0
    matrix[n_members + problem.pair_group, np.arange(n_pairs)] = 1.0
    upper = np.concatenate([problem.member_cap, problem.seats]).astype(float)
    result = milp(
        -problem.fit,
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(n_pairs),
        bounds=Bounds(0, 1),
    )
    return -result.fun


@pytest.mark.parametrize("max_groups", [1, 2, 3])
@pytest.mark.parametrize("seed", range(8))
def test_flow_optimum_equals_the_highs_optimum_and_the_integer_optimum(seed: int, max_groups: int) -> None:
    problem = random_problem(seed, max_groups)
    flow = solve_flow(problem, math.inf)
    objective = float(problem.fit[flow.chosen].sum())
    assert flow.status == "optimal"
    assert objective == pytest.approx(highs_optimum(problem), abs=1e-9)
    assert objective == pytest.approx(integer_optimum(problem), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_flow_placement_keeps_seats_and_member_limits(seed: int) -> None:
    problem = random_problem(seed, 2)
    chosen = solve_flow(problem, math.inf).chosen
    assert (np.bincount(problem.pair_group[chosen], minlength=len(problem.groups)) <= problem.seats).all()
    assert (np.bincount(problem.pair_member[chosen], minlength=len(problem.to_place)) <= problem.member_cap).all()


def test_placement_without_blocks_is_solved_as_a_flow() -> None:
    members = [MemberProfile(f"m{i}", needs=("grief",)) for i in range(5)]
    groups = [SupportGroup("g", "G", ("grief",), 3, "online")]
    placement = propose_placement(members, groups)
    assert (placement.solver.method, placement.solver.status) == ("flow", "optimal")
    assert len(placement.assignments) == 3
