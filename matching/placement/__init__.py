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
    Private needs are matched on (a member can be seated in an existing group for one) but
    never shown to anyone else. Everything an organiser reads (reasons, unplaced reasons,
    candidate lists, proposed groups) is told from an organiser view of the member that holds
    only public needs (:mod:`.explain`): a seat that rests only on a private need gets no need
    reason, unplaced reasons follow public needs only, a member whose only open needs are
    private is not listed as unplaced (or, when requested by id, has "no need to place"), and
    new groups are proposed for public needs only. The assignment itself tells the organiser
    which group the member joins; that is what the member's private need was given for.
    :func:`suggest_groups_for_member` is the member's own view and names all their needs.
"""

from belonging.matching.placement.fit import round_fit
from belonging.matching.placement.greedy import greedy_placement
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.propose import propose_placement, suggest_groups_for_member
from belonging.matching.placement.results import (
    FIT_DECIMALS,
    MIN_FIT,
    UNPLACED_KINDS,
    Assignment,
    Candidate,
    Placement,
    Reason,
    SolverStats,
    Unplaced,
)

__all__ = [
    "FIT_DECIMALS",
    "MIN_FIT",
    "UNPLACED_KINDS",
    "Assignment",
    "Candidate",
    "Placement",
    "PlacementOptions",
    "Reason",
    "SolverStats",
    "Unplaced",
    "greedy_placement",
    "propose_placement",
    "round_fit",
    "suggest_groups_for_member",
]
