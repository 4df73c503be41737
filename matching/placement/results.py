"""What a placement run returns: assignments, unplaced members, proposed groups and solver stats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from belonging.matching.groups import ProposedGroup

FIT_DECIMALS = 4
MIN_FIT = 0.01

# Unplaced kinds, from "furthest from a seat" to "nearest"; a member's kind is the nearest.
UNPLACED_KINDS = (
    "no_need",
    "no_group",
    "closed",
    "format",
    "language",
    "full",
    "blocked",
    "outcompeted",
    "time_limit",
)




@dataclass(frozen=True)
class Reason:
    """One plain-language reason: a ``kind`` (``need``, ``interests``, ``priority``, ``format``,
    ``mixing``), a sentence, and the public tags it refers to."""

    kind: str
    text: str
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "tags": list(self.tags)}


@dataclass(frozen=True)
class Candidate:
    """A group a member was eligible for, with the member's fit in it."""

    group_id: str
    fit: float

    def to_dict(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "fit": self.fit}


@dataclass(frozen=True)
class Assignment:
    """Member ``member_id`` joins group ``group_id``; ``fit`` is their term of the objective."""

    member_id: str
    group_id: str
    fit: float
    reasons: tuple[Reason, ...]
    candidates: tuple[Candidate, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "member_id": self.member_id,
            "group_id": self.group_id,
            "fit": self.fit,
            "reasons": [r.to_dict() for r in self.reasons],
        }
        if self.candidates is not None:
            out["candidates"] = [c.to_dict() for c in self.candidates]
        return out


@dataclass(frozen=True)
class Unplaced:
    """A member left without a group, why (``reason``), and the kind of reason (one of
    :data:`UNPLACED_KINDS`)."""

    member_id: str
    reason: str
    kind: str
    candidates: tuple[Candidate, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"member_id": self.member_id, "reason": self.reason, "kind": self.kind}
        if self.candidates is not None:
            out["candidates"] = [c.to_dict() for c in self.candidates]
        return out


@dataclass(frozen=True)
class SolverStats:
    """How the placement was found.

    ``method`` is ``"flow"`` (min-cost flow, no block binds), ``"lp"`` (the LP with block
    rows had an integral optimum), ``"mip"`` (blocks needed integer
    programming), ``"greedy"`` (the first-come baseline) or ``"none"`` (no eligible pair).
    ``status`` is ``"optimal"`` when the optimum is proven, else the HiGHS status that stopped
    it (``"time_limit"``); ``mip_gap`` is the proven relative gap between the placement's
    objective and the best bound on any placement (0 when optimal, ``None`` when unknown).
    ``pairs`` counts eligible (member, group) pairs, ``columns`` those the solver needed as
    variables, ``constraints`` the rows of the final model.
    """

    method: str
    status: str
    mip_gap: float | None
    seconds: float
    solve_seconds: float
    pairs: int
    columns: int
    constraints: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "status": self.status,
            "mip_gap": self.mip_gap,
            "seconds": round(self.seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "pairs": self.pairs,
            "columns": self.columns,
            "constraints": self.constraints,
        }


@dataclass(frozen=True)
class Placement:
    """A placement proposal for an organiser to review.

    ``objective`` is the sum of the assignments' fits.
    """

    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    proposed_groups: tuple[ProposedGroup, ...]
    objective: float
    solver: SolverStats

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form::

            {"assignments": [{"member_id", "group_id", "fit",
                              "reasons": [{"kind", "text", "tags"}],
                              "candidates": [{"group_id", "fit"}]   # only with explain
                              }],
             "unplaced": [{"member_id", "reason", "kind"[, "candidates"]}],
             "proposed_groups": [{"name", "topics", "format", "language", "capacity",
                                  "member_ids"}],
             "objective": float,
             "solver": {"method", "status", "mip_gap", "seconds", "solve_seconds",
                        "variables", "constraints"}}
        """
        return {
            "assignments": [a.to_dict() for a in self.assignments],
            "unplaced": [u.to_dict() for u in self.unplaced],
            "proposed_groups": [g.to_dict() for g in self.proposed_groups],
            "objective": round(self.objective, FIT_DECIMALS),
            "solver": self.solver.to_dict(),
        }

