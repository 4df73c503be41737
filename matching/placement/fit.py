"""The fit of a (member, group) pair: the terms of the documented formula, as arrays over pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from belonging.matching.placement.options import PlacementOptions
from belonging.matching.placement.results import FIT_DECIMALS, MIN_FIT
from belonging.matching.profiles import MemberProfile


def round_fit(raw: np.ndarray) -> np.ndarray:
    """Round half up to FIT_DECIMALS places, robust to float noise in the last bits.

    Two correct computations of the same fit can differ by ~1e-15; this rounding maps both to
    the same value unless they sit within 1e-10 of a rounding boundary.
    """
    scale = 10.0**FIT_DECIMALS
    return np.floor(np.asarray(raw, dtype=np.float64) * scale + 0.5 + 1e-6) / scale


_BLOCK = 2048  # members per dense block when counting shared interests


@dataclass(frozen=True)
class FitTerms:
    """The terms of the fit for each pair, and the fit itself (rounded, floored at MIN_FIT)."""

    need_share: np.ndarray
    interest: np.ndarray
    spread_share: np.ndarray
    lone: np.ndarray
    fit: np.ndarray


def pair_fits(
    options: PlacementOptions,
    to_place: list[MemberProfile],
    known: list[list[MemberProfile]],
    degree: np.ndarray,
    pair_member: np.ndarray,
    pair_group: np.ndarray,
    need_share: np.ndarray,
) -> FitTerms:
    """Every term of the fit for each pair (member ``pair_member[j]`` in group ``pair_group[j]``).

    ``known`` lists each group's current members with a known profile; ``need_share`` is the
    share of the member's open needs the group serves.
    """
    interest = interest_overlap(to_place, known, pair_member, pair_group)
    spread_share = np.zeros(len(pair_member))
    lone = np.zeros(len(pair_member), dtype=bool)
    if options.spread_attribute is not None:
        same, size = same_value(options.spread_attribute, to_place, known, pair_member, pair_group)
        spread_share = np.divide(same, size, out=np.zeros(len(same)), where=size > 0)
    if options.avoid_lone_attribute is not None:
        same, size = same_value(options.avoid_lone_attribute, to_place, known, pair_member, pair_group)
        has_value = np.array(
            [m.attributes.get(options.avoid_lone_attribute) is not None for m in to_place], dtype=bool
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
    return FitTerms(need_share, interest, spread_share, lone, fit)


def interest_overlap(
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
    # Interests shared with each group, a block of members at a time against the groups'
    # tag counts as a dense array: fast, and memory bounded by the block.
    counts = group_counts.toarray().T
    start = np.searchsorted(pair_member, np.arange(0, len(to_place) + _BLOCK, _BLOCK))
    shared = np.zeros(len(pair_member))
    for b, first in enumerate(range(0, len(to_place), _BLOCK)):
        pairs = slice(start[b], start[b + 1])
        block = member_interests[first : first + _BLOCK] @ counts
        shared[pairs] = block[pair_member[pairs] - first, pair_group[pairs]]
    own = np.diff(member_interests.indptr)[pair_member]
    size = np.array([len(g) for g in known], dtype=np.float64)[pair_group]
    denominator = own * size
    return np.divide(shared, denominator, out=np.zeros(len(shared)), where=denominator > 0)


def same_value(
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

