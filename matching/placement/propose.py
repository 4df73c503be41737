"""The entry points: an organiser's placement run, and the groups a member could join."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from belonging.matching.groups import SupportGroup
from belonging.matching.placement.exact import solve_exact
from belonging.matching.placement.explain import assignment_reasons, explain_placement, group_company, own_view
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.problem import build_problem
from belonging.matching.placement.results import Placement
from belonging.matching.profiles import MemberProfile


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
    problem = build_problem(members, groups, blocks, degrees, member_ids, group_ids, options)
    chosen, stats = solve_exact(problem, options)
    return explain_placement(problem, chosen, stats, options, started)



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
    problem = build_problem(
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
    if not problem.to_place:
        return []
    view = own_view(member, problem.needs[0], int(problem.degree[0]))
    companies = group_company(problem)
    suggestions = []
    for j in pairs[: max(limit, 0)]:
        k = int(problem.pair_group[j])
        reasons = assignment_reasons(view, problem.groups[k], companies[k], problem.interest[j] > 0, options)
        suggestions.append(
            {
                "group_id": problem.groups[k].group_id,
                "fit": float(problem.fit[j]),
                "reasons": [r.to_dict() for r in reasons],
            }
        )
    return suggestions
