"""Support groups as plain data, and gathering unplaced members into proposed new groups."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from belonging.matching.profiles import MemberProfile, normalise_tag, normalise_tags  # noqa: F401 (the doctest)

FORMATS = ("online", "in_person")
STATUSES = ("open", "closed")


def format_label(group_format: str) -> str:
    """How a format reads in a sentence: ``"in_person"`` -> ``"in-person"``."""
    return group_format.replace("_", "-")


@dataclass(frozen=True)
class SupportGroup:
    """A capacity-limited support group serving some needs, in one format and maybe one language.

    Topics and language are normalised like every other tag (``normalise_tag``) on construction,
    so ``"Grief"`` and ``"grief"`` are the same topic.

    Parameters
    ----------
    group_id : str
        The group's id.
    name : str
        Display name.
    topics : tuple of str
        The need tags the group serves.
    capacity : int
        Maximum number of members, at least 1.
    format : {"online", "in_person"}
        How the group meets.
    language : str or None
        The language the group meets in; ``None`` means no fixed language.
    member_ids : tuple of str
        Current members. They use seats even when the caller has no profile for them.
    status : {"open", "closed"}
        A closed group takes nobody new.

    Raises
    ------
    ValueError
        On a capacity below 1, an unknown format or status, or a member listed twice.
    """

    group_id: str
    name: str
    topics: tuple[str, ...]
    capacity: int
    format: str
    language: str | None = None
    member_ids: tuple[str, ...] = ()
    status: str = "open"

    def __post_init__(self) -> None:
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int):
            raise ValueError(f"group {self.group_id!r}: capacity must be an integer")
        if self.capacity < 1:
            raise ValueError(f"group {self.group_id!r}: capacity must be at least 1")
        if self.format not in FORMATS:
            raise ValueError(f"group {self.group_id!r}: format must be one of {FORMATS}")
        if self.status not in STATUSES:
            raise ValueError(f"group {self.group_id!r}: status must be one of {STATUSES}")
        if len(set(self.member_ids)) != len(self.member_ids):
            raise ValueError(f"group {self.group_id!r}: a member is listed twice")
        object.__setattr__(self, "topics", tuple(normalise_tags(self.topics)))
        object.__setattr__(self, "member_ids", tuple(self.member_ids))
        language = normalise_tag(self.language) if self.language is not None else None
        object.__setattr__(self, "language", language or None)

    @property
    def seats_free(self) -> int:
        """Seats left for new members (never negative, even for an over-full group)."""
        return max(0, self.capacity - len(self.member_ids))


class Joiner(Protocol):
    """Whoever can join a proposed group: an id, the formats and the languages they accept."""

    @property
    def member_id(self) -> str: ...

    @property
    def formats(self) -> tuple[str, ...]: ...

    @property
    def languages(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ProposedGroup:
    """A new group an organiser could open for members no existing group could take."""

    name: str
    topics: tuple[str, ...]
    format: str
    language: str | None
    capacity: int
    member_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the same keys as a group: ``name, topics, format, language,
        capacity, member_ids``."""
        return {
            "name": self.name,
            "topics": list(self.topics),
            "format": self.format,
            "language": self.language,
            "capacity": self.capacity,
            "member_ids": list(self.member_ids),
        }


def gather_new_groups(
    members: Sequence[Joiner],
    needs: Mapping[str, Sequence[str]],
    *,
    blocked: Mapping[str, frozenset[str]] | None = None,
    target_size: int = 8,
    min_size: int = 3,
) -> list[ProposedGroup]:
    """Gather members sharing a need, a format and a language into proposed new groups.

    Members are taken in the order given (put the most isolated first); each joins at most one
    proposed group. The largest pool of members sharing ``(need, format, language)`` is cut into
    groups of about ``target_size`` first, then the next largest among those still left, and so
    on until no pool has ``min_size`` members left.

    Parameters
    ----------
    members : sequence of Joiner
        Members still without a group, in priority order (any object with ``member_id``,
        ``formats`` and ``languages``, such as a MemberProfile).
    needs : mapping of member id to sequence of str
        The needs each member is to be placed for (other needs are not used).
    blocked : mapping of member id to frozenset of str, optional
        Members each member must never share a group with.
    target_size : int
        Preferred size of a new group; also its proposed capacity (or its size, if larger).
    min_size : int
        No proposed group is smaller than this.

    Returns
    -------
    list of ProposedGroup
        No member appears twice, no two members who block each other share a group, every group
        has between ``min_size`` and ``target_size`` members, and its language is one every
        member speaks (members who list no language are taken to speak any).

    Notes
    -----
    A greedy cover, not an optimum. With ``P`` pool memberships (members x needs x formats x
    languages) it takes ``O(P log P)`` heap work plus one scan of a pool each time it is popped.

    Examples
    --------
    >>> ms = [MemberProfile(f"m{i}", needs=("grief",), formats=("online",)) for i in range(3)]
    >>> [g.member_ids for g in gather_new_groups(ms, {m.member_id: m.needs for m in ms})]
    [('m0', 'm1', 'm2')]
    """
    if min_size < 1 or target_size < min_size:
        raise ValueError("need 1 <= min_size <= target_size")
    blocked = blocked or {}
    order = {m.member_id: i for i, m in enumerate(members)}
    pools: dict[tuple[str, str, str | None], list[str]] = {}
    any_language: list[tuple[Joiner, list[tuple[str, str]]]] = []
    for member in members:
        formats = [f for f in FORMATS if not member.formats or f in member.formats]
        languages = normalise_tags(member.languages)
        pairs = [(need, f) for need in needs.get(member.member_id, ()) for f in formats]
        for need, f in pairs:
            language_options: list[str | None] = [*languages] or [None]  # None: any language
            for language in language_options:
                pools.setdefault((need, f, language), []).append(member.member_id)
        if not languages:
            any_language.append((member, pairs))
    # Members who list no language can join a pool in any language.
    in_a_language: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
    for key in pools:
        if key[2] is not None:
            in_a_language.setdefault(key[:2], []).append(key)
    for member, pairs in any_language:
        for need, f in pairs:
            for key in in_a_language.get((need, f), ()):
                pools[key].append(member.member_id)
    for key in pools:
        pools[key].sort(key=order.__getitem__)

    # Lazy greedy: a pool only shrinks, so a popped pool whose size is still current is largest.
    taken: set[str] = set()
    proposed: list[ProposedGroup] = []
    heap = [(-len(ids), key[0], key[1], key[2] or "", key) for key, ids in pools.items()]
    heapq.heapify(heap)
    while heap:
        negative_size, need, group_format, language, key = heapq.heappop(heap)
        free = [m for m in pools[key] if m not in taken]
        if len(free) < min_size:
            continue
        if len(free) < -negative_size:
            pools[key] = free
            heapq.heappush(heap, (-len(free), need, group_format, language, key))
            continue
        for chunk in _cut(free, blocked, target_size, min_size):
            taken.update(chunk)
            proposed.append(_proposed_group(key, chunk, target_size))
    return _number_duplicate_names(proposed)


def _cut(
    member_ids: list[str], blocked: Mapping[str, frozenset[str]], target_size: int, min_size: int
) -> list[tuple[str, ...]]:
    """Cut one pool into groups of near-equal size, never seating two blocked members together."""
    count = math.ceil(len(member_ids) / target_size)
    chunks: list[list[str]] = [[] for _ in range(count)]
    # Smallest chunk first keeps sizes even; a member with blocks skips chunks holding them.
    smallest = [(0, k) for k in range(count)]
    for member_id in member_ids:
        avoid = blocked.get(member_id, frozenset())
        skipped = []
        while smallest:
            size, k = heapq.heappop(smallest)
            if avoid.isdisjoint(chunks[k]):
                chunks[k].append(member_id)
                if size + 1 < target_size:
                    heapq.heappush(smallest, (size + 1, k))
                break
            skipped.append((size, k))
        for item in skipped:
            heapq.heappush(smallest, item)
    return [tuple(c) for c in chunks if len(c) >= min_size]


def _proposed_group(
    key: tuple[str, str, str | None], member_ids: tuple[str, ...], target_size: int
) -> ProposedGroup:
    need, group_format, language = key
    where = format_label(group_format) + (f", {language}" if language else "")
    return ProposedGroup(
        name=f"{need[:1].upper()}{need[1:]} circle ({where})",
        topics=(need,),
        format=group_format,
        language=language,
        capacity=max(target_size, len(member_ids)),
        member_ids=member_ids,
    )


def _number_duplicate_names(groups: Iterable[ProposedGroup]) -> list[ProposedGroup]:
    seen: dict[str, int] = {}
    named: list[ProposedGroup] = []
    for group in groups:
        seen[group.name] = seen.get(group.name, 0) + 1
        if seen[group.name] > 1:
            group = ProposedGroup(
                f"{group.name} {seen[group.name]}",
                group.topics,
                group.format,
                group.language,
                group.capacity,
                group.member_ids,
            )
        named.append(group)
    return named
