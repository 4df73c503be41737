"""The exact solve: a min-cost flow, and HiGHS (block rows, then a MIP) when blocks between
members being placed make the flow's optimum infeasible."""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
import scipy.sparse as sp

from belonging.matching.placement.flow import solve_flow
from belonging.matching.placement.greedy import fill, make_feasible
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.problem import Problem, best_per_member
from belonging.matching.placement.results import FIT_DECIMALS, SolverStats

_INTEGRALITY_TOLERANCE = 1e-6
_ADDED_PER_MEMBER = 2
_FIT_UNIT = 10.0**-FIT_DECIMALS
_PRICING_TOLERANCE = 1e-9
_BOUND_TOLERANCE = 1e-7


def solve_exact(problem: Problem, options: PlacementOptions) -> tuple[np.ndarray, SolverStats]:
    """The assignment maximising total fit, proven optimal unless the time limit stops it.

    1. Solve without block rows as a min-cost flow over priced pairs (:mod:`.flow`). Its
       optimum is optimal over all pairs and integral.
    2. If it seats no blocked pair together, that is the answer (method ``"flow"``).
    3. Otherwise solve the LP with block rows by column generation in HiGHS (dual simplex,
       warm), starting from the pairs the flow priced in and adding any pair whose reduced
       cost turns positive. If that LP optimum is integral, it is the answer (method
       ``"lp"``). If not, it gives a bound ``z`` and reduced costs ``d <= 0``: an integer
       placement using pair ``j`` is worth at most ``z + d[j]``. Solve the MIP over the
       priced pairs (HiGHS, warm-started from the rounded LP placement); with its optimum
       worth ``best``, only pairs with ``d[j] > best - z`` could do better, so add any such
       pair left out and solve again until there is none (method ``"mip"``).
    """
    n_pairs = len(problem.fit)
    started = time.perf_counter()
    deadline = started + options.time_limit_s
    if n_pairs == 0:
        return np.zeros(0, dtype=bool), SolverStats("none", "optimal", 0.0, 0.0, 0.0, 0, 0, 0)
    rows = len(problem.to_place) + len(problem.groups)
    flow = solve_flow(problem, deadline)
    chosen = flow.chosen
    first, second = problem.block_rows[:, 0], problem.block_rows[:, 1]
    if flow.status == "optimal" and not (chosen[first] & chosen[second]).any():
        seconds = time.perf_counter() - started
        return chosen, SolverStats("flow", "optimal", 0.0, 0.0, seconds, n_pairs, len(flow.columns), rows)
    # Stopped early, the last restricted optimum is still a good placement without blocks.
    incumbent = fill(problem, make_feasible(problem, chosen))
    best = float(problem.fit[incumbent].sum())
    if flow.status != "optimal":
        seconds = time.perf_counter() - started
        gap = _relative_gap(flow.bound, best)
        return incumbent, SolverStats("flow", flow.status, gap, 0.0, seconds, n_pairs, len(flow.columns), rows)

    model = _PricedModel(problem)
    model.add(flow.columns)
    model.use_blocks()
    status = model.price(deadline)
    x = model.values()
    relaxed = x > 0.5
    if status == "optimal" and np.all(np.abs(x - relaxed) <= _INTEGRALITY_TOLERANCE):
        seconds = time.perf_counter() - started
        stats = SolverStats("lp", status, 0.0, 0.0, seconds, n_pairs, model.columns, rows + len(first))
        return relaxed, stats
    rounded = fill(problem, make_feasible(problem, relaxed))
    if problem.fit[rounded].sum() > best:
        incumbent, best = rounded, float(problem.fit[rounded].sum())
    if status != "optimal":
        seconds = time.perf_counter() - started
        gap = _relative_gap(model.bound, best)
        stats = SolverStats("mip", status, gap, 0.0, seconds, n_pairs, model.columns, rows)
        return incumbent, stats
    bound = model.objective()
    reduced = model.reduced_costs()
    keep = model.active | incumbent
    upper_bound = bound
    while status == "optimal":
        found, status, restricted_bound = _solve_mip(problem, keep, incumbent, deadline)
        if found is not None and problem.fit[found].sum() > best:
            incumbent, best = found, float(problem.fit[found].sum())
        # A placement using a pair left out is worth at most bound + reduced cost; it can only
        # beat the best one found (by a unit in the last place) if that leaves room.
        room = reduced > best - bound + _FIT_UNIT / 2
        outside = ~keep
        upper_bound = min(
            bound,
            max(restricted_bound, bound + reduced[outside].max(initial=-math.inf)),
        )
        if status != "optimal" or not (outside & room).any():
            break
        keep |= room
    gap = 0.0 if status == "optimal" else max(upper_bound - best, 0.0) / max(abs(best), 1e-9)
    seconds = time.perf_counter() - started
    return incumbent, SolverStats("mip", status, gap, 0.0, seconds, n_pairs, model.columns, rows + len(first))


class _PricedModel:
    """The LP over a growing set of eligible pairs (columns), in one warm HiGHS instance.

    Rows: one per member (at most ``member_cap``), one per group (at most its free seats), and,
    after :meth:`use_blocks`, one per blocked pair whose two pairs are both columns. A blocked
    pair with one column missing needs no row (``x <= 1`` already holds), so leaving it out
    keeps both the restricted optimum feasible and the zero dual for it valid.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.n_members = len(problem.to_place)
        self.highs = _new_highs()
        self.highs.setOptionValue("solver", "simplex")
        # Presolve would redo its work on every warm re-solve.
        self.highs.setOptionValue("presolve", "off")
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        upper = np.concatenate([problem.member_cap, problem.seats]).astype(np.float64)
        no_entries = np.zeros(0, dtype=np.int32)
        self.highs.addRows(
            len(upper), np.full(len(upper), -np.inf), upper, 0, no_entries, no_entries, np.zeros(0)
        )
        self.active = np.zeros(len(problem.fit), dtype=bool)
        self.column_of = np.full(len(problem.fit), -1, dtype=np.int64)
        self.pairs = np.zeros(0, dtype=np.int64)
        self.blocks = False
        self.block_rows = np.zeros(0, dtype=np.int64)  # indices into problem.block_rows
        self.row_upper = upper
        # From the last restricted optimum: its placement (feasible for all pairs) and the
        # Lagrangian bound y b + sum(max(0, d)) on every placement, valid for any duals y >= 0.
        self.last_values = np.zeros(len(problem.fit))
        self.bound = math.inf

    @property
    def columns(self) -> int:
        return len(self.pairs)

    def add(self, pairs: np.ndarray) -> None:
        pairs = pairs[~self.active[pairs]]
        if len(pairs) == 0:
            return
        count = len(pairs)
        entries = np.empty(2 * count, dtype=np.int32)
        entries[0::2] = self.problem.pair_member[pairs]
        entries[1::2] = self.n_members + self.problem.pair_group[pairs]
        self.highs.addCols(
            count,
            self.problem.fit[pairs],
            np.zeros(count),
            np.ones(count),
            2 * count,
            np.arange(0, 2 * count, 2, dtype=np.int32),
            entries,
            np.ones(2 * count),
        )
        self.column_of[pairs] = len(self.pairs) + np.arange(count)
        self.pairs = np.concatenate([self.pairs, pairs])
        self.active[pairs] = True
        if self.blocks:
            self._add_block_rows()

    def use_blocks(self) -> None:
        self.blocks = True
        self._add_block_rows()

    def _add_block_rows(self) -> None:
        first, second = self.problem.block_rows[:, 0], self.problem.block_rows[:, 1]
        present = np.zeros(len(first), dtype=bool)
        present[self.block_rows] = True
        new = np.flatnonzero(~present & self.active[first] & self.active[second])
        if len(new) == 0:
            return
        entries = np.empty(2 * len(new), dtype=np.int32)
        entries[0::2] = self.column_of[first[new]]
        entries[1::2] = self.column_of[second[new]]
        self.highs.addRows(
            len(new),
            np.full(len(new), -np.inf),
            np.ones(len(new)),
            2 * len(new),
            np.arange(0, 2 * len(new), 2, dtype=np.int32),
            entries,
            np.ones(2 * len(new)),
        )
        self.block_rows = np.concatenate([self.block_rows, new])
        self.row_upper = np.concatenate([self.row_upper, np.ones(len(new))])

    def price(self, deadline: float) -> str:
        """Re-solve, adding improving pairs, until none is left; the HiGHS status."""
        while True:
            remaining = max(deadline - time.perf_counter(), 0.0)
            self.highs.setOptionValue("time_limit", self.highs.getRunTime() + remaining)
            self.highs.run()
            status = _status(self.highs)
            if status != "optimal":
                return status
            reduced = self.reduced_costs()
            self.last_values = self.values()
            duals = np.asarray(self.highs.getSolution().row_dual, dtype=np.float64)
            bound = float(duals @ self.row_upper + np.maximum(reduced, 0.0).sum())
            self.bound = min(self.bound, bound)
            improving = ~self.active & (reduced > _PRICING_TOLERANCE)
            if not improving.any():
                return status
            self.add(best_per_member(self.problem, improving, reduced, _ADDED_PER_MEMBER))

    def reduced_costs(self) -> np.ndarray:
        """``fit - y A`` for every eligible pair, with the duals ``y`` of the current rows."""
        problem = self.problem
        duals = np.asarray(self.highs.getSolution().row_dual, dtype=np.float64)
        reduced = (
            problem.fit
            - duals[problem.pair_member]
            - duals[self.n_members + problem.pair_group]
        )
        if len(self.block_rows):
            block_duals = duals[self.n_members + len(problem.groups) + np.arange(len(self.block_rows))]
            pairs = problem.block_rows[self.block_rows]
            reduced -= np.bincount(pairs[:, 0], block_duals, minlength=len(reduced))
            reduced -= np.bincount(pairs[:, 1], block_duals, minlength=len(reduced))
        return reduced

    def values(self) -> np.ndarray:
        x = np.zeros(len(self.problem.fit))
        if _has_solution(self.highs):
            x[self.pairs] = np.asarray(self.highs.getSolution().col_value, dtype=np.float64)
        return x

    def objective(self) -> float:
        return float(self.highs.getInfo().objective_function_value)


def _solve_mip(
    problem: Problem, keep: np.ndarray, start: np.ndarray, deadline: float
) -> tuple[np.ndarray | None, str, float]:
    """The integer optimum over the pairs in ``keep``: placement (or None), status, bound."""
    pairs = np.flatnonzero(keep)
    count = len(pairs)
    column_of = np.full(len(keep), -1, dtype=np.int64)
    column_of[pairs] = np.arange(count)
    n_members, n_groups = len(problem.to_place), len(problem.groups)
    first, second = problem.block_rows[:, 0], problem.block_rows[:, 1]
    both = np.flatnonzero(keep[first] & keep[second])
    block_row = n_members + n_groups + np.arange(len(both))
    rows = np.concatenate(
        [problem.pair_member[pairs], n_members + problem.pair_group[pairs], block_row, block_row]
    )
    cols = np.concatenate([np.arange(count), np.arange(count), column_of[first[both]], column_of[second[both]]])
    upper = np.concatenate([problem.member_cap, problem.seats, np.ones(len(both))]).astype(np.float64)
    matrix = sp.csc_array((np.ones(len(rows)), (rows, cols)), shape=(len(upper), count))
    lp = highspy.HighsLp()
    lp.num_col_ = count
    lp.num_row_ = len(upper)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = problem.fit[pairs]
    lp.col_lower_ = np.zeros(count)
    lp.col_upper_ = np.ones(count)
    lp.row_lower_ = np.full(len(upper), -np.inf)
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * count
    highs = _new_highs()
    highs.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.0))
    highs.setOptionValue("mip_rel_gap", 0.0)
    # Fits are multiples of 10**-FIT_DECIMALS, so a smaller absolute gap proves optimality.
    highs.setOptionValue("mip_abs_gap", 0.5 * 10.0**-FIT_DECIMALS)
    highs.passModel(lp)
    solution = highspy.HighsSolution()
    solution.col_value = start[pairs].astype(np.float64)
    highs.setSolution(solution)
    highs.run()
    status = _status(highs)
    bound = float(highs.getInfo().mip_dual_bound)
    if not _has_solution(highs):
        return None, status, bound
    found = np.zeros(len(keep), dtype=bool)
    found[pairs] = np.asarray(highs.getSolution().col_value) > 0.5
    return found, status, bound


def _relative_gap(bound: float, best: float) -> float | None:
    """``(bound - best) / best``, or None when no bound is known."""
    if not math.isfinite(bound):
        return None
    return max(bound - best, 0.0) / max(abs(best), 1e-9)


def _new_highs() -> highspy.Highs:
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def _status(highs: highspy.Highs) -> str:
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if status == highspy.HighsModelStatus.kTimeLimit:
        return "time_limit"
    return highs.modelStatusToString(status).lower().replace(" ", "_")


def _has_solution(highs: highspy.Highs) -> bool:
    return highs.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
