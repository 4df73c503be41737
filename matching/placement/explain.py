"""Explanations for organisers: why each assignment fits, why a member got no group, and the
new groups proposed for those left waiting.

Everything here speaks about a member through a :class:`MemberView`, which holds only the needs
that may be named to whoever reads the explanation. The organiser's view
(:func:`organiser_view`) is built from public needs alone, so no reason, unplaced reason,
candidate list or proposed group can mention or hint at a private need: it would take a new
field, not a forgotten filter. The member's own view (:func:`own_view`) names all their needs.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from belonging.matching.groups import FORMATS, ProposedGroup, SupportGroup, format_label, gather_new_groups
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


@dataclass(frozen=True)
class MemberView:
    """What an explanation may know about one member.

    ``needs`` are the open needs the explanation may name; ``lists_needs`` says whether the
    member lists any need the reader may know of. There is deliberately no other need field.
    """

    member_id: str
    needs: tuple[str, ...]
    lists_needs: bool
    interests: tuple[str, ...]
    attributes: Mapping[str, str]
    formats: tuple[str, ...]
    languages: tuple[str, ...]
    ties: int


def organiser_view(member: MemberProfile, open_needs: Sequence[str], ties: int) -> MemberView:
    """The member as an organiser may see them: public open needs only."""
    public = set(member.needs)
    return MemberView(
        member.member_id,
        tuple(n for n in open_needs if n in public),
        bool(member.needs),
        member.interests,
        member.attributes,
        member.formats,
        member.languages,
        ties,
    )


def own_view(member: MemberProfile, open_needs: Sequence[str], ties: int) -> MemberView:
    """The member as they see themself: every open need, private ones included."""
    return MemberView(
        member.member_id,
        tuple(open_needs),
        bool(member.all_needs),
        member.interests,
        member.attributes,
        member.formats,
        member.languages,
        ties,
    )


@dataclass(frozen=True)
class GroupCompany:
    """The known current members of one group, as explanations use them: who holds each
    interest (bit ``c`` set for the group's ``c``-th known member) and how many share each
    value of the attributes the run mixes on."""

    size: int
    holders: Mapping[str, int]
    values: Mapping[str, Counter[str]]


def group_company(problem: Problem) -> list[GroupCompany]:
    attributes = {a for a in (problem.options.spread_attribute, problem.options.avoid_lone_attribute) if a}
    companies = []
    for group in problem.groups:
        known = [problem.profiles[m] for m in group.member_ids if m in problem.profiles]
        holders: dict[str, int] = {}
        for c, other in enumerate(known):
            for tag in set(other.interests):
                holders[tag] = holders.get(tag, 0) | 1 << c
        values = {
            a: Counter(v for o in known if (v := o.attributes.get(a)) is not None) for a in attributes
        }
        companies.append(GroupCompany(len(known), holders, values))
    return companies


def explain_placement(
    problem: Problem,
    chosen: np.ndarray,
    stats: SolverStats,
    options: PlacementOptions,
    started: float,
) -> Placement:
    """The organiser's placement: assignments with reasons, unplaced members with the specific
    reason, and proposed new groups, all told from :func:`organiser_view`."""
    groups = problem.groups
    start = problem.pair_start.tolist()
    fit = problem.fit.tolist()
    pair_group = problem.pair_group.tolist()
    pair_member = problem.pair_member.tolist()
    degree = problem.degree.tolist()
    interest = (problem.interest > 0).tolist()
    chosen_list = chosen.tolist()
    companies = group_company(problem)
    left = problem.seats - np.bincount(problem.pair_group[chosen], minlength=len(groups))
    placed_in: dict[int, set[str]] = {}
    for j in np.flatnonzero(chosen).tolist():
        placed_in.setdefault(pair_group[j], set()).add(problem.to_place[pair_member[j]].member_id)
    funnel = _Funnel(problem, left, placed_in, greedy=stats.method == "greedy")

    assignments: list[Assignment] = []
    unplaced: list[Unplaced] = []
    waiting: list[tuple[int, int, MemberView]] = []
    for member in problem.no_need:
        view = organiser_view(member, (), 0)
        unplaced.append(Unplaced(member.member_id, _no_need(view), "no_need", () if options.explain else None))
    chosen_of: dict[int, list[int]] = {}
    for j in np.flatnonzero(chosen).tolist():
        chosen_of.setdefault(pair_member[j], []).append(j)
    for i, member in enumerate(problem.to_place):
        view = organiser_view(member, problem.needs[i], degree[i])
        pairs = range(start[i], start[i + 1])
        mine = sorted(chosen_of.get(i, ()), key=lambda j: -fit[j])
        candidates = None
        if options.explain:
            nameable = set(view.needs)
            shown = [j for j in pairs if chosen_list[j] or not nameable.isdisjoint(groups[pair_group[j]].topics)]
            shown.sort(key=lambda j: (-fit[j], groups[pair_group[j]].group_id))
            candidates = tuple(Candidate(groups[pair_group[j]].group_id, fit[j]) for j in shown)
        for j in mine:
            group = groups[pair_group[j]]
            reasons = assignment_reasons(
                view, group, companies[pair_group[j]], interest[j], options
            )
            assignments.append(Assignment(member.member_id, group.group_id, fit[j], reasons, candidates))
        if mine:
            continue
        if view.needs:
            text, kind = funnel.reason(view)
            unplaced.append(Unplaced(member.member_id, text, kind, candidates))
            waiting.append((view.ties, i, view))
        elif problem.requested:
            # Only private needs are open: to the organiser, there is nothing to place.
            unplaced.append(Unplaced(member.member_id, _no_need(view), "no_need", () if options.explain else None))

    waiting.sort(key=lambda w: w[:2])
    proposed = proposed_groups([w[2] for w in waiting], problem.blocked, options)
    objective = math.fsum(a.fit for a in assignments)
    stats = SolverStats(
        stats.method,
        stats.status,
        stats.mip_gap,
        time.perf_counter() - started,
        stats.solve_seconds,
        stats.pairs,
        stats.columns,
        stats.constraints,
    )
    return Placement(tuple(assignments), tuple(unplaced), tuple(proposed), objective, stats)


def proposed_groups(
    waiting: Sequence[MemberView], blocked: Mapping[str, frozenset[str]], options: PlacementOptions
) -> list[ProposedGroup]:
    """New groups for members left waiting, gathered by the needs their views may name."""
    return gather_new_groups(
        waiting,
        {view.member_id: view.needs for view in waiting},
        blocked=blocked,
        target_size=options.target_group_size,
        min_size=options.min_new_group_size,
    )


def _no_need(view: MemberView) -> str:
    if view.lists_needs:
        return "no need to place: every need is already served by a current group"
    return "no need to place: no needs listed"


def _join(words: Sequence[str], last: str = "and") -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def assignment_reasons(
    view: MemberView,
    group: SupportGroup,
    company: GroupCompany,
    shares_interests: bool,
    options: PlacementOptions,
) -> tuple[Reason, ...]:
    """Why ``view``'s member fits ``group``, in plain words, naming only the view's needs.

    A seat that rests only on needs the view may not name gets no need reason at all.
    """
    reasons = []
    served = tuple(n for n in view.needs if n in group.topics)
    if served:
        reasons.append(Reason("need", f"serves {_join(served)}", served))

    if shares_interests and company.size:
        counts: dict[str, int] = {}
        sharing = 0
        for tag in view.interests:
            holders = company.holders.get(tag, 0)
            if holders:
                sharing |= holders
                counts[tag] = counts.get(tag, 0) + holders.bit_count()
        top = tuple(sorted(counts, key=lambda t: (-counts[t], t))[:3])
        of = f"{sharing.bit_count()} of {company.size} current members"
        reasons.append(Reason("interests", f"shares {_join(top)} with {of}", top))

    if options.priority_weight > 0 and view.ties <= 2:
        reasons.append(_priority_reason(view.ties))

    reasons.append(_format_reason(group.format, group.language))

    for attribute, weight in (
        (options.spread_attribute, options.spread_weight),
        (options.avoid_lone_attribute, options.avoid_lone_weight),
    ):
        value = view.attributes.get(attribute) if attribute is not None else None
        if attribute is None or value is None or weight == 0 or not company.size:
            continue
        reasons.append(_mixing_reason(attribute, company.values[attribute][value], company.size))
        if attribute == options.spread_attribute == options.avoid_lone_attribute:
            break
    return tuple(reasons)


# Reasons that depend on a few small values only, shared by every assignment that has them.


@functools.lru_cache(maxsize=16)
def _priority_reason(ties: int) -> Reason:
    text = "no ties in the community yet" if ties == 0 else f"only {ties} tie{'s' * (ties > 1)}"
    return Reason("priority", f"{text}, so gets a seat first")


@functools.lru_cache(maxsize=1024)
def _format_reason(group_format: str, language: str | None) -> Reason:
    where = "meets " + ("online" if group_format == "online" else "in person")
    if language is not None:
        where += f" in {language}"
    return Reason("format", where)


@functools.lru_cache(maxsize=4096)
def _mixing_reason(attribute: str, same: int, size: int) -> Reason:
    text = (
        f"{same} of {size} current members share the same {attribute}"
        if same
        else f"no current member shares the same {attribute}"
    )
    return Reason("mixing", text)


# --- why a member got no group ------------------------------------------------------------------


@dataclass(frozen=True)
class _Need:
    """What the funnel needs to know about a member: their id (never in a group for an open
    need, but the rule is checked), formats, languages and who they have blocks with."""

    member_id: str
    formats: tuple[str, ...]
    languages: tuple[str, ...]
    avoid: frozenset[str]
    who: str


# Each stage keeps the groups that pass one rule; where none is left, the need stopped there.
# Sets of groups are bit masks (bit ``k`` for group ``k``): ``keep`` returns the groups that pass
# the stage's rule. ``say`` gets the number of groups that reached the stage and the number that
# reached the stage before, and returns a template in which ``{need}`` stands for the need.
_Keep = Callable[["_Funnel", _Need], int]
_Say = Callable[[_Need, int, int], str]


def _counted(one: str, many: str) -> _Say:
    def say(need: _Need, count: int, before: int) -> str:
        return (one if count == 1 else many).replace("{count}", str(count)).replace("{who}", need.who)

    return say


def _format_words(need: _Need) -> str:
    if len(need.formats) == len(FORMATS):
        return ""
    return _join([format_label(f) for f in need.formats], "or") + " "


def _placed_blocks(need: _Need, count: int, before: int) -> str:
    if count == before:
        return _counted(
            "has a block with a member placed in the only matching group for {need} with a free seat",
            "has a block with a member placed in each of the {count} matching groups for {need} "
            "with a free seat",
        )(need, count, before)
    return (
        "the matching groups for {need} with free seats were filled by "
        + need.who
        + " or hold a member placed in this run that this member has a block with"
    )


_STAGES: tuple[tuple[str, _Keep, _Say], ...] = (
    (
        "no_group",
        lambda f, n: ~f.holding(n.member_id),
        lambda n, count, before: "no group serves {need}",
    ),
    (
        "closed",
        lambda f, n: f.open,
        _counted("the only group for {need} is closed", "all {count} groups for {need} are closed"),
    ),
    (
        "format",
        lambda f, n: f.meeting_in(n.formats),
        lambda n, count, before: f"no {_format_words(n)}group for " + "{need}",
    ),
    (
        "language",
        lambda f, n: f.speaking(n.languages),
        lambda n, count, before: f"no {_format_words(n)}group in {_join(n.languages, 'or')} for " + "{need}",
    ),
    (
        "full",
        lambda f, n: f.with_seats,
        _counted("the only matching group for {need} is full", "all {count} matching groups for {need} are full"),
    ),
    (
        "blocked",
        lambda f, n: ~f.holding(*n.avoid),
        _counted(
            "has a block with a member of the only matching group for {need} with a free seat",
            "has a block with a member of each of the {count} matching groups for {need} with a free seat",
        ),
    ),
    (
        "outcompeted",
        lambda f, n: f.with_seats_left,
        _counted(
            "the only matching group for {need} with a free seat was filled by {who}",
            "the {count} matching groups for {need} with free seats were filled by {who}",
        ),
    ),
    (
        "blocked_in_run",
        lambda f, n: ~f.placed_with(*n.avoid),
        _placed_blocks,
    ),
)
# A need with a group left after every stage could have been placed: the solve was stopped.
_STOPPED = (
    "time_limit",
    "a matching group for {need} still has a free seat; the solver stopped at its time limit before "
    "placing this member",
)


def _mask(groups: Iterable[int]) -> int:
    mask = 0
    for k in groups:
        mask |= 1 << k
    return mask


class _Funnel:
    """Follows a member's nameable needs through the eligibility rules and the run's outcome."""

    def __init__(
        self, problem: Problem, left: np.ndarray, placed_in: Mapping[int, set[str]], greedy: bool
    ) -> None:
        groups = problem.groups
        self.blocked = problem.blocked
        self.who = "members who came earlier" if greedy else "members with a higher fit or priority"
        self._alike: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[str, str]] = {}
        topic_groups: dict[str, list[int]] = {}
        for k, group in enumerate(groups):
            if problem.in_scope[k]:
                for topic in group.topics:
                    topic_groups.setdefault(topic, []).append(k)
        self.topic_index = {topic: _mask(ks) for topic, ks in topic_groups.items()}
        self.open: int = _mask(k for k, g in enumerate(groups) if g.status == "open")
        self.with_seats: int = _mask(np.flatnonzero(problem.seats > 0).tolist())
        self.with_seats_left: int = _mask(np.flatnonzero(left > 0).tolist())
        self._format = {f: _mask(k for k, g in enumerate(groups) if g.format == f) for f in FORMATS}
        language_groups: dict[str | None, list[int]] = {}
        for k, group in enumerate(groups):
            language_groups.setdefault(group.language, []).append(k)
        self._language = {language: _mask(ks) for language, ks in language_groups.items()}
        self._every = (1 << len(groups)) - 1
        self._holding = self._masks_by_member((k, g.member_ids) for k, g in enumerate(groups))
        self._placed = self._masks_by_member(placed_in.items())

    @staticmethod
    def _masks_by_member(members_of: Iterable[tuple[int, Iterable[str]]]) -> dict[str, int]:
        masks: dict[str, int] = {}
        for k, member_ids in members_of:
            for member_id in member_ids:
                masks[member_id] = masks.get(member_id, 0) | 1 << k
        return masks

    def holding(self, *member_ids: str) -> int:
        """The groups that hold any of ``member_ids`` as a current member."""
        mask = 0
        for member_id in member_ids:
            mask |= self._holding.get(member_id, 0)
        return mask

    def placed_with(self, *member_ids: str) -> int:
        """The groups any of ``member_ids`` was placed in by this run."""
        mask = 0
        for member_id in member_ids:
            mask |= self._placed.get(member_id, 0)
        return mask

    def meeting_in(self, formats: Iterable[str]) -> int:
        mask = 0
        for f in formats:
            mask |= self._format.get(f, 0)
        return mask

    def speaking(self, languages: Sequence[str]) -> int:
        """Groups without a language, or in one of ``languages`` (any group when none is given)."""
        if not languages:
            return self._every
        mask = self._language.get(None, 0)
        for language in languages:
            mask |= self._language.get(language, 0)
        return mask

    def reason(self, view: MemberView) -> tuple[str, str]:
        """The reason ``view``'s member got no group, need by need, and its kind (the stage
        nearest a seat among the needs)."""
        formats = tuple(f for f in FORMATS if not view.formats or f in view.formats)
        avoid = self.blocked.get(view.member_id, frozenset())
        context = _Need(view.member_id, formats, tuple(normalise_tags(view.languages)), avoid, self.who)
        by_template: dict[str, list[str]] = {}
        kinds = []
        for need in view.needs:
            groups = self.topic_index.get(need, 0)
            if avoid:
                kind, template = self._stopped_at(context, groups)
            else:
                # Members without blocks and alike in formats and languages stop at the same place
                # (an open need is never served by a group the member is in).
                key = (need, formats, context.languages)
                if key not in self._alike:
                    self._alike[key] = self._stopped_at(context, groups)
                kind, template = self._alike[key]
            kinds.append(kind)
            by_template.setdefault(template, []).append(need)
        kind = max(kinds, key=UNPLACED_KINDS.index)
        texts = [template.replace("{need}", _join(needs, "or")) for template, needs in by_template.items()]
        return "; ".join(texts), kind

    def _stopped_at(self, need: _Need, groups: int) -> tuple[str, str]:
        count = before = groups.bit_count()
        for kind, keep, say in _STAGES:
            passed = groups & keep(self, need)
            if not passed:
                template = say(need, count, before)
                if kind == "blocked_in_run":
                    kind = "blocked" if count == before else "outcompeted"
                return kind, template
            before, groups, count = count, passed, passed.bit_count()
        return _STOPPED
