"""The placement problem: who is placed for which open needs, where, and every eligible pair.

Pairs are parallel arrays (pair ``j`` is member ``pair_member[j]`` in group ``pair_group[j]``),
sorted by member then group, so that a member's pairs are one slice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from belonging.matching.groups import FORMATS, SupportGroup
from belonging.matching.placement.fit import FitTerms, pair_fits
from belonging.matching.placement.options import PlacementOptions
from belonging.matching.profiles import MemberProfile, normalise_tags


@dataclass(eq=False)
class Problem:
    """Members to place, groups, and eligible pairs with the terms of their fits.

    ``needs`` holds each member's open needs, private ones included: they are matched on. Only
    explanations built from an organiser view (:mod:`.explain`) may be shown to organisers.
    ``requested`` says whether the caller named the members to place.
    """

    profiles: dict[str, MemberProfile]
    to_place: list[MemberProfile]
    needs: list[tuple[str, ...]]
    no_need: list[MemberProfile]
    requested: bool
    groups: list[SupportGroup]
    in_scope: np.ndarray
    seats: np.ndarray
    degree: np.ndarray
    member_cap: np.ndarray
    blocked: dict[str, frozenset[str]]
    pair_member: np.ndarray
    pair_group: np.ndarray
    terms: FitTerms
    block_rows: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    options: PlacementOptions = field(default_factory=PlacementOptions)

    @property
    def fit(self) -> np.ndarray:
        return self.terms.fit

    @property
    def interest(self) -> np.ndarray:
        return self.terms.interest

    @property
    def pair_start(self) -> np.ndarray:
        """``pair_start[i]:pair_start[i + 1]`` are member ``i``'s pairs."""
        return np.searchsorted(self.pair_member, np.arange(len(self.to_place) + 1))


def build_problem(
    members: Sequence[MemberProfile],
    groups: Sequence[SupportGroup],
    blocks: Iterable[Collection[str]],
    degrees: Mapping[str, int] | None,
    member_ids: Sequence[str] | None,
    group_ids: Sequence[str] | None,
    options: PlacementOptions,
    needs_override: Mapping[str, tuple[str, ...]] | None = None,
) -> Problem:
    """Check the ids, find who is placed for which open needs, and every eligible pair's fit.

    ``needs_override`` replaces the open needs of the members it names (a member's own view
    counts every need). Raises ValueError on duplicate or unknown ids.
    """
    profiles = {m.member_id: m for m in members}
    if len(profiles) != len(members):
        raise ValueError("members: a member_id appears twice")
    groups = list(groups)
    in_scope, seats = _scope(groups, group_ids)
    current: dict[str, list[int]] = {}
    for k, group in enumerate(groups):
        for member_id in group.member_ids:
            current.setdefault(member_id, []).append(k)
    to_place, needs, no_need = _members_to_place(
        members, profiles, groups, current, member_ids, needs_override
    )
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
    terms = pair_fits(options, to_place, known, degree, pair_member, pair_group, need_share)

    problem = Problem(
        profiles=profiles,
        to_place=to_place,
        needs=needs,
        no_need=no_need,
        requested=member_ids is not None,
        groups=groups,
        in_scope=in_scope,
        seats=seats,
        degree=degree,
        member_cap=member_cap,
        blocked=blocked,
        pair_member=pair_member,
        pair_group=pair_group,
        terms=terms,
        options=options,
    )
    problem.block_rows = _block_rows(problem)
    return problem


def _scope(groups: list[SupportGroup], group_ids: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Which groups may receive members, and their free seats (0 for closed or out of scope)."""
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
    seats = np.array([g.seats_free if g.status == "open" else 0 for g in groups], dtype=np.int64)
    return in_scope, seats * in_scope


def _members_to_place(
    members: Sequence[MemberProfile],
    profiles: Mapping[str, MemberProfile],
    groups: list[SupportGroup],
    current: Mapping[str, list[int]],
    member_ids: Sequence[str] | None,
    needs_override: Mapping[str, tuple[str, ...]] | None,
) -> tuple[list[MemberProfile], list[tuple[str, ...]], list[MemberProfile]]:
    """Members with open needs and those needs; requested members with none go to ``no_need``."""

    def open_needs(member: MemberProfile) -> tuple[str, ...]:
        if needs_override is not None:
            return tuple(needs_override.get(member.member_id, ()))
        held = current.get(member.member_id)
        if held is None:
            return member.all_needs
        served = {t for k in held for t in groups[k].topics}
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
    return to_place, needs, no_need


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
    served = sp.csr_array(need_matrix @ topic_matrix.T)
    served.sort_indices()  # rows are members; sorted columns keep each member's groups in order
    return (
        np.repeat(np.arange(len(to_place), dtype=np.int64), np.diff(served.indptr)),
        placeable[served.indices].astype(np.int64),
        served.data.astype(np.float64),
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

    language_index = {lang: k for k, lang in enumerate(sorted({g.language for g in groups if g.language is not None}))}
    group_language = np.array([language_index.get(g.language or "", -1) for g in groups], dtype=np.int64)
    normalised: dict[tuple[str, ...], list[str]] = {}
    for m in to_place:
        if m.languages not in normalised:
            normalised[m.languages] = normalise_tags(m.languages)
    languages = [normalised[m.languages] for m in to_place]
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
    return _pairs_among(pair_member, pair_group, len(groups), keys)


def _already_members(
    to_place: list[MemberProfile],
    groups: list[SupportGroup],
    current: Mapping[str, list[int]],
    pair_member: np.ndarray,
    pair_group: np.ndarray,
) -> np.ndarray:
    """Whether each pair's group already holds the member."""
    keys = [i * len(groups) + k for i, m in enumerate(to_place) for k in current.get(m.member_id, ())]
    return _pairs_among(pair_member, pair_group, len(groups), keys)


def _pairs_among(
    pair_member: np.ndarray, pair_group: np.ndarray, n_groups: int, keys: list[int]
) -> np.ndarray:
    """Whether each pair's key ``member * n_groups + group`` is one of ``keys``.

    Pairs are sorted by member then group, so their keys are sorted: each key is found by
    binary search, without sorting all the pairs.
    """
    pair_keys = pair_member * n_groups + pair_group
    found = np.zeros(len(pair_keys), dtype=bool)
    wanted = np.array(keys, dtype=np.int64)
    at = np.searchsorted(pair_keys, wanted)
    hit = at < len(pair_keys)
    hit[hit] = pair_keys[at[hit]] == wanted[hit]
    found[at[hit]] = True
    return found



def _block_rows(problem: Problem) -> np.ndarray:
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


def best_per_member(problem: Problem, mask: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` pairs with the highest ``score`` per member, among ``mask``."""
    pairs = np.flatnonzero(mask)
    order = np.lexsort((-score[pairs], problem.pair_member[pairs]))
    pairs = pairs[order]
    members = problem.pair_member[pairs]
    rank = np.arange(len(pairs)) - np.searchsorted(members, members)
    return pairs[rank < k]

