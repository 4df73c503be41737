"""Explanations for organisers: why each assignment fits, why a member got no group, and the
new groups proposed for those left waiting."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from belonging.matching.groups import FORMATS, format_label, gather_new_groups
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.problem import Problem
from belonging.matching.placement.results import (
    UNPLACED_KINDS,
    Assignment,
    Candidate,
    Placement,
    Reason,
    SolverStats,
    Unplaced,
)
from belonging.matching.profiles import MemberProfile, normalise_tags

PRIVATE_NEED = "a private need"



def explain_placement(
    problem: Problem,
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
                    assignment_reasons(problem, j),
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


def assignment_reasons(problem: Problem, j: int, own_view: bool = False) -> tuple[Reason, ...]:
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
    problem: Problem,
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
    problem: Problem,
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
