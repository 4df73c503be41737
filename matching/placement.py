"""Placing members into support groups: the exact optimum of total fit, with reasons.

The engine is pure: profiles, groups, blocks and tie counts in, a :class:`Placement` out.

Who is placed
    The members named in ``member_ids``; otherwise every member with an *open need*, a need that
    none of the groups they already belong to serves. Only open needs are placed for.

Eligibility of a (member, group) pair
    The group is open, in scope (``group_ids``), has a free seat, does not already hold the
    member, has a topic equal to one of the member's open needs (public or private), meets in one
    of the member's formats and, if it has a language, in one of the member's languages. A member
    who lists no formats or no languages accepts any (the platform did not say, and excluding
    them from every group would strand them). A member who has a block with a current member of
    the group is not eligible for it.

Fit of an eligible pair (``fit``; this is exactly what the solver maximises)::

    fit = need_weight     * needs_served / open_needs             in (0, 1]
        + interest_weight * mean over current members j of
                            |interests(m) & interests(j)| / |interests(m)|   in [0, 1]
        + priority_weight / (1 + ties(m))                         in (0, 1]
        - spread_weight   * share of current members with m's spread_attribute value
        - avoid_lone_weight * [group has current members and none has m's avoid_lone value]

    then floored at MIN_FIT (an eligible seat is always worth taking) and rounded half up to
    FIT_DECIMALS places (:func:`round_fit`). With the default weights it lies in [0.01, 3].

Only current members with a known profile count for interests and mixing; the one-shot fit
cannot see who else joins in the same run.

Hard rules
    group seats; at most ``max_new_groups_per_member`` new groups per member (and never more
    than the member has open needs); eligibility; two members who block each other never share a
    group, new or existing.

The solve
    Maximise the sum of fits. Without blocks between members being placed, the rows (one per
    member, one per group) form the incidence matrix of a bipartite graph, which is totally
    unimodular, so the simplex optimum of the LP relaxation is integral and exact. HiGHS
    solves it by column generation: each member's best few pairs first, then any pair whose
    reduced cost turns positive, so only a fraction of the pairs ever become columns. Each
    blocked pair sharing a candidate group adds a row ``x[a,g] + x[b,g] <= 1``; when the LP
    optimum breaks one, those rows join the model and it is re-solved. An integral optimum is
    still exact (method ``"lp"``); otherwise a MIP over the priced pairs, widened by
    reduced-cost bounds until no pair left out could improve it (method ``"mip"``).
    ``time_limit_s`` bounds the whole solve; the proven gap is reported. Since fits have
    FIT_DECIMALS places, an absolute gap below half a unit in the last place is optimal.

    The objective is total fit, not headcount: seating one member in a much better-fitting
    group can outweigh seating two members in worse ones. Every eligible seat is worth the need
    share plus the isolation priority, so in practice the optimum seats about as many members
    as possible, and more than first come, first served.

Private needs
    Reasons go to organisers, and private needs are never shown to anyone else, so placement
    reasons call a private need "a private need" and give no counts that could identify it.
    The assignment itself tells the organiser which group the member joins; that is what the
    member's private need was given for. :func:`suggest_groups_for_member` is the member's own
    view and names their needs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from belonging.matching.groups import FORMATS, ProposedGroup, SupportGroup, format_label, gather_new_groups
from belonging.matching.profiles import MemberProfile, normalise_tags

FIT_DECIMALS = 4
MIN_FIT = 0.01
PRIVATE_NEED = "a private need"
_INTEGRALITY_TOLERANCE = 1e-6
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
class PlacementOptions:
    """Organiser settings for one placement run.

    Parameters
    ----------
    max_new_groups_per_member : int
        New groups one member may join in one run (capped by their number of open needs).
    need_weight, interest_weight, priority_weight : float
        Weights of the need match, shared interests and isolation priority terms of the fit.
    spread_attribute : str or None
        Attribute to spread across groups: a group already holding many members with the
        member's value fits less (``spread_weight`` times that share).
    avoid_lone_attribute : str or None
        Attribute nobody should be alone with: a group where no current member shares the
        member's value fits ``avoid_lone_weight`` less.
    target_group_size, min_new_group_size : int
        Size of the proposed new groups, and the smallest one worth proposing.
    time_limit_s : float
        Wall-clock limit for the solve (all HiGHS runs together).
    explain : bool
        List every eligible group with its fit (``candidates``) for each member.
    """

    max_new_groups_per_member: int = 1
    need_weight: float = 1.0
    interest_weight: float = 1.0
    priority_weight: float = 1.0
    spread_attribute: str | None = None
    spread_weight: float = 0.5
    avoid_lone_attribute: str | None = None
    avoid_lone_weight: float = 0.5
    target_group_size: int = 8
    min_new_group_size: int = 3
    time_limit_s: float = 10.0
    explain: bool = False

    def __post_init__(self) -> None:
        weights = (
            self.need_weight,
            self.interest_weight,
            self.priority_weight,
            self.spread_weight,
            self.avoid_lone_weight,
        )
        if any(not math.isfinite(w) or w < 0 for w in weights):
            raise ValueError("fit weights must be finite and not negative")
        if self.max_new_groups_per_member < 1:
            raise ValueError("max_new_groups_per_member must be at least 1")
        if not 1 <= self.min_new_group_size <= self.target_group_size:
            raise ValueError("need 1 <= min_new_group_size <= target_group_size")
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")


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

    ``method`` is ``"lp"`` (exact, by total unimodularity), ``"mip"`` (blocks needed integer
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


def propose_placement(
    members: Sequence[MemberProfile],
    groups: Sequence[SupportGroup],
    *,
    blocks: Iterable[Collection[str]] = frozenset(),
    degrees: Mapping[str, int] | None = None,
    member_ids: Sequence[str] | None = None,
    group_ids: Sequence[str] | None = None,
    options: PlacementOptions = PlacementOptions(),
) -> Placement:
    """Place members into support groups so that the total fit is as high as possible.

    Parameters
    ----------
    members : sequence of MemberProfile
        The community's members (also used to read current group members' interests).
    groups : sequence of SupportGroup
        All groups; current memberships are read from every group, placements go only to open
        groups in scope.
    blocks : iterable of pairs of member ids
        Pairs (either order, e.g. ``frozenset({a, b})``) who must never share a group.
    degrees : mapping of member id to int, optional
        Number of ties per member (``CommunityGraph.degrees()``); missing members have none.
    member_ids : sequence of str, optional
        Members to place; by default every member with an open need.
    group_ids : sequence of str, optional
        Groups that may receive members; by default all. Unplaced reasons speak of these.
    options : PlacementOptions
        Fit weights, limits and the solver time limit.

    Returns
    -------
    Placement
        Assignments that respect every hard rule (see the module docstring) and maximise the
        sum of fits (proven unless ``solver.status`` says otherwise), every member to place who
        got no group with a specific reason, and proposed new groups for them.

    Raises
    ------
    ValueError
        On duplicate member or group ids, or unknown ids in ``member_ids``/``group_ids``.

    Notes
    -----
    Only eligible pairs can become variables, and only those priced in do. Building the
    problem is ``O(E log E)`` numpy work for ``E`` eligible pairs plus one pass over the
    profiles; each pricing round is ``O(E)`` numpy and a warm HiGHS dual simplex re-solve.
    Reasons cost ``O(n)`` small set operations for ``n`` members to place.

    Examples
    --------
    >>> groups = [SupportGroup("g1", "Grief circle", ("grief",), 1, "online")]
    >>> ana = MemberProfile("ana", needs=("grief",))
    >>> ben = MemberProfile("ben", needs=("grief",))
    >>> placement = propose_placement([ana, ben], groups, degrees={"ana": 5, "ben": 0})
    >>> [(a.member_id, a.group_id, a.fit) for a in placement.assignments]
    [('ben', 'g1', 2.0)]
    >>> placement.unplaced[0].reason
    'the only matching group for grief with a free seat was filled by members with a higher fit or priority'
    """
    started = time.perf_counter()
    problem = _build_problem(members, groups, blocks, degrees, member_ids, group_ids, options)
    chosen, stats = _solve_exact(problem, options)
    return _assemble(problem, chosen, stats, options, started)


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
    problem = _build_problem(members, groups, blocks, degrees, member_ids, group_ids, options)
    solve_started = time.perf_counter()
    chosen = _fill(problem, np.zeros(len(problem.fit), dtype=bool))
    stats = SolverStats(
        "greedy", "feasible", None, 0.0, time.perf_counter() - solve_started, len(problem.fit), 0, 0
    )
    return _assemble(problem, chosen, stats, options, started)


def suggest_groups_for_member(
    member: MemberProfile,
    groups: Sequence[SupportGroup],
    *,
    members: Sequence[MemberProfile] = (),
    blocks: Iterable[Collection[str]] = frozenset(),
    degrees: Mapping[str, int] | None = None,
    limit: int = 10,
    options: PlacementOptions = PlacementOptions(),
) -> list[dict[str, Any]]:
    """Groups a member could join, best fit first, for the member's own view.

    Eligibility and fit are as in :func:`propose_placement`, except that every need of the
    member counts (they may look for another group for a need already served). Groups holding
    someone the member has a block with are left out without saying so. Because this is the
    member's own view, reasons may name the member's private needs.

    Parameters
    ----------
    member : MemberProfile
        The member looking for a group.
    groups : sequence of SupportGroup
        All groups.
    members : sequence of MemberProfile, optional
        Profiles of the groups' current members, for shared interests and mixing.
    blocks, degrees, options
        As in :func:`propose_placement`.
    limit : int
        Most groups to return.

    Returns
    -------
    list of dict
        ``[{"group_id", "fit", "reasons": [{"kind", "text", "tags"}]}]``, highest fit first,
        ties by group id.
    """
    profiles = [m for m in members if m.member_id != member.member_id] + [member]
    problem = _build_problem(
        profiles,
        groups,
        blocks,
        degrees,
        [member.member_id],
        None,
        options,
        needs_override={member.member_id: member.all_needs},
    )
    pairs = sorted(
        range(len(problem.fit)),
        key=lambda j: (-problem.fit[j], problem.groups[problem.pair_group[j]].group_id),
    )
    return [
        {
            "group_id": problem.groups[problem.pair_group[j]].group_id,
            "fit": float(problem.fit[j]),
            "reasons": [r.to_dict() for r in _assignment_reasons(problem, j, own_view=True)],
        }
        for j in pairs[: max(limit, 0)]
    ]


def round_fit(raw: np.ndarray) -> np.ndarray:
    """Round half up to FIT_DECIMALS places, robust to float noise in the last bits.

    Two correct computations of the same fit can differ by ~1e-15; this rounding maps both to
    the same value unless they sit within 1e-10 of a rounding boundary.
    """
    scale = 10.0**FIT_DECIMALS
    return np.floor(np.asarray(raw, dtype=np.float64) * scale + 0.5 + 1e-6) / scale


# --- the problem: members to place, eligible pairs and their fits ------------------------------


@dataclass(eq=False)
class _Problem:
    """Members to place, groups, and eligible pairs as parallel arrays (pair ``j`` is member
    ``pair_member[j]`` in group ``pair_group[j]``), sorted by member then group."""

    profiles: dict[str, MemberProfile]
    to_place: list[MemberProfile]
    needs: list[tuple[str, ...]]
    no_need: list[MemberProfile]
    groups: list[SupportGroup]
    in_scope: np.ndarray
    seats: np.ndarray
    degree: np.ndarray
    member_cap: np.ndarray
    blocked: dict[str, frozenset[str]]
    pair_member: np.ndarray
    pair_group: np.ndarray
    need_share: np.ndarray
    interest: np.ndarray
    spread_share: np.ndarray
    lone: np.ndarray
    fit: np.ndarray
    block_rows: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    options: PlacementOptions = field(default_factory=PlacementOptions)

    @property
    def pair_start(self) -> np.ndarray:
        """``pair_start[i]:pair_start[i + 1]`` are member ``i``'s pairs."""
        return np.searchsorted(self.pair_member, np.arange(len(self.to_place) + 1))


def _build_problem(
    members: Sequence[MemberProfile],
    groups: Sequence[SupportGroup],
    blocks: Iterable[Collection[str]],
    degrees: Mapping[str, int] | None,
    member_ids: Sequence[str] | None,
    group_ids: Sequence[str] | None,
    options: PlacementOptions,
    needs_override: Mapping[str, tuple[str, ...]] | None = None,
) -> _Problem:
    profiles = {m.member_id: m for m in members}
    if len(profiles) != len(members):
        raise ValueError("members: a member_id appears twice")
    groups = list(groups)
    group_position = {g.group_id: k for k, g in enumerate(groups)}
    if len(group_position) != len(groups):
        raise ValueError("groups: a group_id appears twice")
    in_scope = np.ones(len(groups), dtype=bool)
    if group_ids is not None:
        unknown = sorted(set(group_ids) - group_position.keys())
        if unknown:
            raise ValueError(f"group_ids: unknown groups {unknown[:5]}")
        in_scope[:] = False
        in_scope[[group_position[g] for g in group_ids]] = True
    seats = np.array(
        [g.seats_free if g.status == "open" else 0 for g in groups], dtype=np.int64
    ) * in_scope

    current: dict[str, list[int]] = {}
    for k, group in enumerate(groups):
        for member_id in group.member_ids:
            current.setdefault(member_id, []).append(k)

    def open_needs(member: MemberProfile) -> tuple[str, ...]:
        if needs_override is not None:
            return tuple(needs_override.get(member.member_id, ()))
        served = {t for k in current.get(member.member_id, ()) for t in groups[k].topics}
        return tuple(n for n in member.all_needs if n not in served)

    if member_ids is None:
        candidates = list(members)
    else:
        unknown = sorted(set(member_ids) - profiles.keys())
        if unknown:
            raise ValueError(f"member_ids: unknown members {unknown[:5]}")
        candidates = [profiles[m] for m in dict.fromkeys(member_ids)]
    to_place: list[MemberProfile] = []
    needs: list[tuple[str, ...]] = []
    no_need: list[MemberProfile] = []
    for member in candidates:
        member_needs = open_needs(member)
        if member_needs:
            to_place.append(member)
            needs.append(member_needs)
        elif member_ids is not None:
            no_need.append(member)

    degrees = degrees or {}
    degree = np.array([max(0, int(degrees.get(m.member_id, 0))) for m in to_place], dtype=np.int64)
    member_cap = np.array(
        [min(options.max_new_groups_per_member, len(n)) for n in needs], dtype=np.int64
    )
    blocked = _blocked_by_member(blocks)

    pair_member, pair_group, served = _topic_pairs(to_place, needs, groups, seats)
    keep = _format_language_ok(to_place, groups, pair_member, pair_group)
    keep &= ~_existing_conflicts(to_place, groups, current, blocked, pair_member, pair_group)
    keep &= ~_already_members(to_place, groups, current, pair_member, pair_group)
    pair_member, pair_group, served = pair_member[keep], pair_group[keep], served[keep]
    need_count = np.array([len(n) for n in needs], dtype=np.float64)
    need_share = served / need_count[pair_member] if len(served) else np.zeros(0)

    known = [[profiles[m] for m in g.member_ids if m in profiles] for g in groups]
    interest = _interest_overlap(to_place, known, pair_member, pair_group)
    spread_share = np.zeros(len(pair_member))
    lone = np.zeros(len(pair_member), dtype=bool)
    if options.spread_attribute is not None:
        same, size = _same_value(options.spread_attribute, to_place, known, pair_member, pair_group)
        spread_share = np.divide(same, size, out=np.zeros(len(same)), where=size > 0)
    if options.avoid_lone_attribute is not None:
        same, size = _same_value(
            options.avoid_lone_attribute, to_place, known, pair_member, pair_group
        )
        has_value = np.array(
            [m.attributes.get(options.avoid_lone_attribute) is not None for m in to_place],
            dtype=bool,
        )
        lone = has_value[pair_member] & (size > 0) & (same == 0)
    priority = 1.0 / (1.0 + degree[pair_member])
    raw = (
        options.need_weight * need_share
        + options.interest_weight * interest
        + options.priority_weight * priority
        - options.spread_weight * spread_share
        - options.avoid_lone_weight * lone
    )
    fit = round_fit(np.maximum(raw, MIN_FIT))

    problem = _Problem(
        profiles=profiles,
        to_place=to_place,
        needs=needs,
        no_need=no_need,
        groups=groups,
        in_scope=in_scope,
        seats=seats,
        degree=degree,
        member_cap=member_cap,
        blocked=blocked,
        pair_member=pair_member,
        pair_group=pair_group,
        need_share=need_share,
        interest=interest,
        spread_share=spread_share,
        lone=lone,
        fit=fit,
        options=options,
    )
    problem.block_rows = _block_rows(problem)
    return problem


def _blocked_by_member(blocks: Iterable[Collection[str]]) -> dict[str, frozenset[str]]:
    """``{member: members they have a block with}``, both directions."""
    others: dict[str, set[str]] = {}
    for pair in blocks:
        ids = tuple(pair)
        if len(ids) != 2 or ids[0] == ids[1]:
            continue
        a, b = ids
        others.setdefault(a, set()).add(b)
        others.setdefault(b, set()).add(a)
    return {m: frozenset(s) for m, s in others.items()}


def _topic_pairs(
    to_place: list[MemberProfile],
    needs: list[tuple[str, ...]],
    groups: list[SupportGroup],
    seats: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (member, group with a free seat) where the group serves an open need, with the
    number of the member's open needs it serves, as a sparse product needs x topics^T."""
    placeable = np.flatnonzero(seats > 0)
    topic_index: dict[str, int] = {}
    g_rows, g_cols = [], []
    for local, k in enumerate(placeable):
        for topic in groups[k].topics:
            g_rows.append(local)
            g_cols.append(topic_index.setdefault(topic, len(topic_index)))
    m_rows, m_cols = [], []
    for i, member_needs in enumerate(needs):
        for need in member_needs:
            t = topic_index.get(need)
            if t is not None:
                m_rows.append(i)
                m_cols.append(t)
    shape_t = len(topic_index)
    need_matrix = sp.csr_array(
        (np.ones(len(m_rows)), (m_rows, m_cols)), shape=(len(to_place), shape_t)
    )
    topic_matrix = sp.csr_array(
        (np.ones(len(g_rows)), (g_rows, g_cols)), shape=(len(placeable), shape_t)
    )
    served = (need_matrix @ topic_matrix.T).tocoo()
    order = np.lexsort((served.col, served.row))
    return (
        served.row[order].astype(np.int64),
        placeable[served.col[order]].astype(np.int64),
        served.data[order].astype(np.float64),
    )


def _format_language_ok(
    to_place: list[MemberProfile],
    groups: list[SupportGroup],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Whether each pair's group meets in a format and a language the member accepts."""
    formats_ok = np.array(
        [[not m.formats or f in m.formats for f in FORMATS] for m in to_place], dtype=bool
    ).reshape(len(to_place), len(FORMATS))
    group_format = np.array([FORMATS.index(g.format) for g in groups], dtype=np.int64)
    ok = formats_ok[pair_member, group_format[pair_group]]

    language_index = {lang: k for k, lang in enumerate(sorted({g.language for g in groups} - {None}))}
    group_language = np.array([language_index.get(g.language, -1) for g in groups], dtype=np.int64)
    languages = [normalise_tags(m.languages) for m in to_place]
    any_language = np.array([not spoken for spoken in languages], dtype=bool)
    spoken = np.array(
        sorted(
            i * len(language_index) + language_index[lang]
            for i, member_languages in enumerate(languages)
            for lang in member_languages
            if lang in language_index
        ),
        dtype=np.int64,
    )
    pair_language = group_language[pair_group]
    speaks = np.isin(pair_member * len(language_index) + pair_language, spoken)
    return ok & ((pair_language < 0) | any_language[pair_member] | speaks)


def _existing_conflicts(
    to_place: list[MemberProfile],
    groups: list[SupportGroup],
    current: Mapping[str, list[int]],
    blocked: Mapping[str, frozenset[str]],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Whether each pair's group already holds someone the member has a block with."""
    keys = [
        i * len(groups) + k
        for i, m in enumerate(to_place)
        for other in blocked.get(m.member_id, ())
        for k in current.get(other, ())
    ]
    return np.isin(pair_member * len(groups) + pair_group, np.array(keys, dtype=np.int64))


def _already_members(
    to_place: list[MemberProfile],
    groups: list[SupportGroup],
    current: Mapping[str, list[int]],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Whether each pair's group already holds the member."""
    keys = [i * len(groups) + k for i, m in enumerate(to_place) for k in current.get(m.member_id, ())]
    return np.isin(pair_member * len(groups) + pair_group, np.array(keys, dtype=np.int64))


def _interest_overlap(
    to_place: list[MemberProfile],
    known: list[list[MemberProfile]],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Mean over a group's known current members of the share of the member's interests they
    share, for each pair (0 for an empty group or a member without interests)."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, member in enumerate(to_place):
        for tag in member.interests:
            rows.append(i)
            cols.append(vocabulary.setdefault(tag, len(vocabulary)))
    member_interests = sp.csr_array(
        (np.ones(len(rows)), (rows, cols)), shape=(len(to_place), len(vocabulary))
    )
    rows, cols = [], []
    for k, group_members in enumerate(known):
        for other in group_members:
            for tag in other.interests:
                if tag in vocabulary:
                    rows.append(k)
                    cols.append(vocabulary[tag])
    group_counts = sp.csr_array(
        (np.ones(len(rows)), (rows, cols)), shape=(len(known), len(vocabulary))
    )
    if not len(pair_member) or not group_counts.nnz:
        return np.zeros(len(pair_member))
    shared = member_interests[pair_member].multiply(group_counts[pair_group]).sum(axis=1)
    shared = np.asarray(shared, dtype=np.float64).ravel()
    own = np.diff(member_interests.indptr)[pair_member]
    size = np.array([len(g) for g in known], dtype=np.float64)[pair_group]
    denominator = own * size
    return np.divide(shared, denominator, out=np.zeros(len(shared)), where=denominator > 0)


def _same_value(
    attribute: str,
    to_place: list[MemberProfile],
    known: list[list[MemberProfile]],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For each pair: known current members sharing the member's value of ``attribute``, and
    known current members in all (a member without a value shares with nobody)."""
    codes: dict[str, int] = {}
    member_code = np.array(
        [
            codes.setdefault(v, len(codes)) if (v := m.attributes.get(attribute)) is not None else -1
            for m in to_place
        ],
        dtype=np.int64,
    )
    counts: dict[int, int] = {}
    width = len(codes) + 1
    for k, group_members in enumerate(known):
        for other in group_members:
            value = other.attributes.get(attribute)
            if value is not None and value in codes:
                key = k * width + codes[value]
                counts[key] = counts.get(key, 0) + 1
    keys = np.array(sorted(counts), dtype=np.int64)
    values = np.array([counts[k] for k in keys.tolist()], dtype=np.float64)
    pair_code = member_code[pair_member]
    same = np.zeros(len(pair_member))
    if len(keys):
        wanted = pair_group * width + pair_code
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        hit = (pair_code >= 0) & (keys[at] == wanted)
        same[hit] = values[at[hit]]
    size = np.array([len(g) for g in known], dtype=np.float64)[pair_group]
    return same, size


def _block_rows(problem: _Problem) -> np.ndarray:
    """Pairs of pair indices ``(j1, j2)``: two members being placed who block each other, both
    eligible for the same group. Each becomes the row ``x[j1] + x[j2] <= 1``."""
    position = {m.member_id: i for i, m in enumerate(problem.to_place)}
    start = problem.pair_start
    rows: list[np.ndarray] = []
    for a, others in problem.blocked.items():
        i = position.get(a)
        if i is None:
            continue
        for b in others:
            j = position.get(b)
            if j is None or j <= i:
                continue
            groups_a = problem.pair_group[start[i] : start[i + 1]]
            groups_b = problem.pair_group[start[j] : start[j + 1]]
            _, at_a, at_b = np.intersect1d(groups_a, groups_b, return_indices=True)
            if len(at_a):
                rows.append(np.column_stack([start[i] + at_a, start[j] + at_b]))
    if not rows:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(rows).astype(np.int64)


# --- solving -----------------------------------------------------------------------------------

_INITIAL_PER_MEMBER = 3
_ADDED_PER_MEMBER = 2
_FIT_UNIT = 10.0**-FIT_DECIMALS
_PRICING_TOLERANCE = 1e-9
_BOUND_TOLERANCE = 1e-7


def _solve_exact(problem: _Problem, options: PlacementOptions) -> tuple[np.ndarray, SolverStats]:
    """The assignment maximising total fit, proven optimal unless the time limit stops it.

    1. Solve the LP without block rows by column generation: start from each member's best
       few pairs and re-solve (HiGHS dual simplex, warm) with the pairs whose reduced cost is
       positive until there are none. The last restricted optimum is then optimal over all
       pairs, and integral because the rows are a bipartite incidence matrix (totally
       unimodular).
    2. If it seats no blocked pair together, that is the answer (method ``"lp"``).
    3. Otherwise add the block rows and price again. If that LP optimum is integral, it is the
       answer (method ``"lp"``). If not, it gives a bound ``z`` and reduced costs ``d <= 0``:
       an integer placement using pair ``j`` is worth at most ``z + d[j]``. Solve the MIP
       over the priced pairs (HiGHS, warm-started from the rounded LP placement); with its
       optimum worth ``best``, only pairs with ``d[j] > best - z`` could do better, so add any
       such pair left out and solve again until there is none (method ``"mip"``).
    """
    n_pairs = len(problem.fit)
    started = time.perf_counter()
    deadline = started + options.time_limit_s
    if n_pairs == 0:
        return np.zeros(0, dtype=bool), SolverStats("none", "optimal", 0.0, 0.0, 0.0, 0, 0, 0)
    rows = len(problem.to_place) + len(problem.groups)
    everything = np.ones(n_pairs, dtype=bool)
    model = _PricedModel(problem)
    model.add(_best_per_member(problem, everything, problem.fit, _INITIAL_PER_MEMBER))
    status = model.price(deadline)
    # Stopped early, the last restricted optimum is still a feasible (and good) placement.
    x = model.values() if status == "optimal" else model.last_values
    chosen = x > 0.5
    integral = bool(np.all(np.abs(x - chosen) <= _INTEGRALITY_TOLERANCE))
    first, second = problem.block_rows[:, 0], problem.block_rows[:, 1]
    if status == "optimal" and integral and not (chosen[first] & chosen[second]).any():
        seconds = time.perf_counter() - started
        return chosen, SolverStats("lp", status, 0.0, 0.0, seconds, n_pairs, model.columns, rows)
    incumbent = _fill(problem, _make_feasible(problem, chosen))
    best = float(problem.fit[incumbent].sum())
    if status != "optimal":
        seconds = time.perf_counter() - started
        gap = _relative_gap(model.bound, best)
        stats = SolverStats("lp", status, gap, 0.0, seconds, n_pairs, model.columns, rows)
        return incumbent, stats

    model.use_blocks()
    status = model.price(deadline)
    x = model.values()
    relaxed = x > 0.5
    if status == "optimal" and np.all(np.abs(x - relaxed) <= _INTEGRALITY_TOLERANCE):
        seconds = time.perf_counter() - started
        stats = SolverStats("lp", status, 0.0, 0.0, seconds, n_pairs, model.columns, rows + len(first))
        return relaxed, stats
    rounded = _fill(problem, _make_feasible(problem, relaxed))
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

    def __init__(self, problem: _Problem) -> None:
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
            self.add(_best_per_member(self.problem, improving, reduced, _ADDED_PER_MEMBER))

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
    problem: _Problem, keep: np.ndarray, start: np.ndarray, deadline: float
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


def _best_per_member(problem: _Problem, mask: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` pairs with the highest ``score`` per member, among ``mask``."""
    pairs = np.flatnonzero(mask)
    order = np.lexsort((-score[pairs], problem.pair_member[pairs]))
    pairs = pairs[order]
    members = problem.pair_member[pairs]
    rank = np.arange(len(pairs)) - np.searchsorted(members, members)
    return pairs[rank < k]


def _make_feasible(problem: _Problem, chosen: np.ndarray) -> np.ndarray:
    """Keep the chosen pairs, highest fit first, that fit seats, member limits and blocks."""
    return _fill(problem, np.zeros_like(chosen), among=np.flatnonzero(chosen))


def _fill(problem: _Problem, chosen: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
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


# --- the result and its reasons ----------------------------------------------------------------


def _assemble(
    problem: _Problem,
    chosen: np.ndarray,
    stats: SolverStats,
    options: PlacementOptions,
    started: float,
) -> Placement:
    start = problem.pair_start
    groups = problem.groups
    assignments: list[Assignment] = []
    unplaced: list[Unplaced] = []
    left = problem.seats - np.bincount(problem.pair_group[chosen], minlength=len(groups))
    placed_in: dict[int, set[str]] = {}
    for j in np.flatnonzero(chosen).tolist():
        member_id = problem.to_place[problem.pair_member[j]].member_id
        placed_in.setdefault(int(problem.pair_group[j]), set()).add(member_id)
    topic_index: dict[str, list[int]] = {}
    for k, group in enumerate(groups):
        if problem.in_scope[k]:
            for topic in group.topics:
                topic_index.setdefault(topic, []).append(k)

    for member in problem.no_need:
        reason = (
            "no need to place: every need is already served by a current group"
            if member.all_needs
            else "no need to place: no needs listed"
        )
        unplaced.append(Unplaced(member.member_id, reason, "no_need", () if options.explain else None))
    for i, member in enumerate(problem.to_place):
        pairs = range(start[i], start[i + 1])
        candidates = None
        if options.explain:
            ranked = sorted(pairs, key=lambda j: (-problem.fit[j], groups[problem.pair_group[j]].group_id))
            candidates = tuple(
                Candidate(groups[problem.pair_group[j]].group_id, float(problem.fit[j]))
                for j in ranked
            )
        mine = [j for j in pairs if chosen[j]]
        for j in sorted(mine, key=lambda j: -problem.fit[j]):
            assignments.append(
                Assignment(
                    member.member_id,
                    groups[problem.pair_group[j]].group_id,
                    float(problem.fit[j]),
                    _assignment_reasons(problem, j),
                    candidates,
                )
            )
        if not mine:
            text, kind = _unplaced_reason(
                problem, i, topic_index, left, placed_in, greedy=stats.method == "greedy"
            )
            unplaced.append(Unplaced(member.member_id, text, kind, candidates))

    waiting = {u.member_id for u in unplaced if u.kind != "no_need"}
    positions = [i for i, m in enumerate(problem.to_place) if m.member_id in waiting]
    positions.sort(key=lambda i: (problem.degree[i], i))
    proposed = gather_new_groups(
        [problem.to_place[i] for i in positions],
        {problem.to_place[i].member_id: problem.needs[i] for i in positions},
        blocked=problem.blocked,
        target_size=options.target_group_size,
        min_size=options.min_new_group_size,
    )
    objective = math.fsum(a.fit for a in assignments)
    seconds = time.perf_counter() - started
    stats = SolverStats(
        stats.method,
        stats.status,
        stats.mip_gap,
        seconds,
        stats.solve_seconds,
        stats.pairs,
        stats.columns,
        stats.constraints,
    )
    return Placement(tuple(assignments), tuple(unplaced), tuple(proposed), objective, stats)


def _need_label(need: str, member: MemberProfile, own_view: bool) -> str:
    return need if own_view or need in member.needs else PRIVATE_NEED


def _join(words: Sequence[str], last: str = "and") -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _assignment_reasons(problem: _Problem, j: int, own_view: bool = False) -> tuple[Reason, ...]:
    """Why pair ``j`` fits, in plain words; private needs unnamed unless ``own_view``."""
    i, k = int(problem.pair_member[j]), int(problem.pair_group[j])
    member, group = problem.to_place[i], problem.groups[k]
    options = problem.options
    served = [n for n in problem.needs[i] if n in group.topics]
    labels = list(dict.fromkeys(_need_label(n, member, own_view) for n in served))
    public = tuple(n for n in served if own_view or n in member.needs)
    reasons = [Reason("need", f"serves {_join(labels)}", public)]

    known = [problem.profiles[m] for m in group.member_ids if m in problem.profiles]
    if problem.interest[j] > 0:
        counts: dict[str, int] = {}
        sharing = 0
        for other in known:
            common = set(member.interests) & set(other.interests)
            sharing += bool(common)
            for tag in common:
                counts[tag] = counts.get(tag, 0) + 1
        top = tuple(sorted(counts, key=lambda t: (-counts[t], t))[:3])
        of = f"{sharing} of {len(known)} current members"
        reasons.append(Reason("interests", f"shares {_join(top)} with {of}", top))

    ties = int(problem.degree[i])
    if options.priority_weight > 0 and ties <= 2:
        text = "no ties in the community yet" if ties == 0 else f"only {ties} tie{'s' * (ties > 1)}"
        reasons.append(Reason("priority", f"{text}, so gets a seat first"))

    where = "meets " + ("online" if group.format == "online" else "in person")
    if group.language is not None:
        where += f" in {group.language}"
    reasons.append(Reason("format", where))

    for attribute, weight in (
        (options.spread_attribute, options.spread_weight),
        (options.avoid_lone_attribute, options.avoid_lone_weight),
    ):
        value = member.attributes.get(attribute) if attribute is not None else None
        if attribute is None or value is None or weight == 0 or not known:
            continue
        same = sum(other.attributes.get(attribute) == value for other in known)
        text = (
            f"{same} of {len(known)} current members share the same {attribute}"
            if same
            else f"no current member shares the same {attribute}"
        )
        reasons.append(Reason("mixing", text))
        if attribute == options.spread_attribute == options.avoid_lone_attribute:
            break
    return tuple(reasons)


def _unplaced_reason(
    problem: _Problem,
    i: int,
    topic_index: Mapping[str, list[int]],
    left: np.ndarray,
    placed_in: Mapping[int, set[str]],
    greedy: bool,
) -> tuple[str, str]:
    """The specific reason member ``i`` got no group, need by need, and its kind."""
    member = problem.to_place[i]
    groups = problem.groups
    formats = [f for f in FORMATS if not member.formats or f in member.formats]
    languages = normalise_tags(member.languages)
    avoid = problem.blocked.get(member.member_id, frozenset())
    # Per need: (stage in UNPLACED_KINDS, template with {need}); stage picks the member's kind.
    parts: list[tuple[str, str, str]] = []
    for need in problem.needs[i]:
        private = need not in member.needs
        serving = [k for k in topic_index.get(need, ()) if member.member_id not in groups[k].member_ids]
        kind, template = _need_funnel(
            serving, formats, languages, avoid, left, placed_in, problem, private, greedy
        )
        parts.append((kind, template, need))
    kind = max((p[0] for p in parts), key=UNPLACED_KINDS.index)
    by_template: dict[str, list[str]] = {}
    for _, template, need in parts:
        by_template.setdefault(template, []).append(need)
    texts = []
    for template, needs in by_template.items():
        public = [n for n in needs if n in member.needs]
        hidden = len(needs) - len(public)
        if hidden:
            public.append(PRIVATE_NEED if hidden == 1 else f"{hidden} private needs")
        texts.append(template.replace("{need}", _join(public, "or")))
    return "; ".join(texts), kind


def _need_funnel(
    serving: list[int],
    formats: list[str],
    languages: list[str],
    avoid: frozenset[str],
    left: np.ndarray,
    placed_in: Mapping[int, set[str]],
    problem: _Problem,
    private: bool,
    greedy: bool,
) -> tuple[str, str]:
    """Follow one need through the eligibility rules and say where its groups ran out.

    Returns the kind and a template in which ``{need}`` stands for the need.
    """
    groups = problem.groups
    who = "members who came earlier" if greedy else "members with a higher fit or priority"

    def counted(count: int, one: str, many: str, hidden: str) -> str:
        # A count could hint at which need a private need is, so private needs get none.
        text = hidden if private else (one if count == 1 else many)
        return text.replace("{count}", str(count)).replace("{who}", who)

    if not serving:
        return "no_group", "no group serves {need}"
    open_groups = [k for k in serving if groups[k].status == "open"]
    if not open_groups:
        return "closed", counted(
            len(serving),
            "the only group for {need} is closed",
            "all {count} groups for {need} are closed",
            "every group for {need} is closed",
        )
    in_format = [k for k in open_groups if groups[k].format in formats]
    fmt = "" if len(formats) == len(FORMATS) else _join([format_label(f) for f in formats], "or")
    fmt = fmt + " " if fmt else ""
    if not in_format:
        return "format", f"no {fmt}group for " + "{need}"
    matching = [
        k
        for k in in_format
        if groups[k].language is None or not languages or groups[k].language in languages
    ]
    if not matching:
        return "language", f"no {fmt}group in {_join(languages, 'or')} for " + "{need}"
    with_seats = [k for k in matching if problem.seats[k] > 0]
    if not with_seats:
        return "full", counted(
            len(matching),
            "the only matching group for {need} is full",
            "all {count} matching groups for {need} are full",
            "every matching group for {need} is full",
        )
    reachable = [k for k in with_seats if avoid.isdisjoint(groups[k].member_ids)]
    if not reachable:
        return "blocked", counted(
            len(with_seats),
            "has a block with a member of the only matching group for {need} with a free seat",
            "has a block with a member of each of the {count} matching groups for {need} "
            "with a free seat",
            "has a block with a member of every matching group for {need} with a free seat",
        )
    still_free = [k for k in reachable if left[k] > 0]
    if any(avoid.isdisjoint(placed_in.get(k, ())) for k in still_free):
        return "time_limit", (
            "a matching group for {need} still has a free seat; the solver stopped at its time "
            "limit before placing this member"
        )
    if not still_free:
        return "outcompeted", counted(
            len(reachable),
            "the only matching group for {need} with a free seat was filled by {who}",
            "the {count} matching groups for {need} with free seats were filled by {who}",
            "every matching group for {need} with a free seat was filled by {who}",
        )
    if len(still_free) == len(reachable):
        return "blocked", counted(
            len(reachable),
            "has a block with a member placed in the only matching group for {need} "
            "with a free seat",
            "has a block with a member placed in each of the {count} matching groups for "
            "{need} with a free seat",
            "has a block with a member placed in every matching group for {need} with a "
            "free seat",
        )
    return "outcompeted", (
        "the matching groups for {need} with free seats were filled by "
        + who
        + " or hold a member placed in this run that this member has a block with"
    )
