"""Who might be suggested to a member: a bounded pool gathered from several sources.

Sources (each bounded, all vectorised over the index's sparse arrays):

- friends of friends, best by Adamic-Adar;
- similar interests (TF-IDF dot products over windows of the target's tags' posting lists);
- members who offer what the target needs, and members who need what the target offers;
- members of the target's support groups;
- members across silos: similar interests but another detected silo;
- members sharing attribute values (cohort, neighbourhood, ...);
- for members with few ties or new members: profile-driven sources get larger budgets, and
  interest-similar members with few ties plus a sample of members with few ties are added, so
  isolated members are introduced to each other.

Invalid candidates never enter the pool: the target, its current ties, blocked or declined
pairs, members not open to suggestions, and anything the caller excludes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from matching.features import INTERESTS_BLOCK, N_BLOCKS
from matching.neighbourhood import (
    TieView,
    TwoHop,
    not_in,
    sum_by_member,
    two_hop,
    window_positions,
)
from matching.silos import NO_SILO

if TYPE_CHECKING:
    from matching.index import SuggestionIndex

FEW_TIES = 2
"""Members with at most this many ties count as having few ties."""


@dataclass(frozen=True)
class CandidateBudget:
    """How many candidates each source may contribute, and how far into a posting list to read."""

    friends_of_friends: int = 200
    similar_interests: int = 100
    helpers: int = 40
    helped: int = 40
    support_groups: int = 40
    across_silos: int = 40
    shared_attributes: int = 40
    few_ties: int = 0
    posting_entries: int = 2048
    """Entries read from posting lists in all: each of the target's tags gets an equal share."""

    @property
    def total(self) -> int:
        return (
            self.friends_of_friends
            + self.similar_interests
            + self.helpers
            + self.helped
            + self.support_groups
            + self.across_silos
            + self.shared_attributes
            + 2 * self.few_ties
        )


WELL_CONNECTED = CandidateBudget()
"""For members with ties: mostly their neighbourhood, then their profile (at most 540)."""

FEW_TIES_BUDGET = CandidateBudget(
    friends_of_friends=60,
    similar_interests=150,
    helpers=40,
    helped=40,
    support_groups=40,
    across_silos=40,
    shared_attributes=80,
    few_ties=25,
)
"""For isolated, barely connected and new members: the profile leads (at most 500)."""


def budget_for(degree: int, *, is_new: bool = False) -> CandidateBudget:
    """The budget for a target with ``degree`` ties; new members count as having few ties."""
    return FEW_TIES_BUDGET if degree <= 1 or is_new else WELL_CONNECTED


@dataclass(frozen=True)
class CandidatePool:
    """Valid candidates (sorted distinct row positions) and the target's two-hop counts."""

    members: np.ndarray
    hops: TwoHop


def candidate_pool(
    index: SuggestionIndex,
    view: TieView,
    target: int,
    *,
    neighbours: np.ndarray,
    budget: CandidateBudget,
    excluded: np.ndarray | None = None,
) -> CandidatePool:
    """Gather candidates for ``target`` from every source, within ``budget``.

    ``neighbours`` are the target's ties in ``view`` (sorted); they are never candidates.
    ``excluded`` is an optional sorted array of further row positions to leave out.
    """
    extra = np.empty(0, dtype=np.int64) if excluded is None else excluded
    blocked = index.excluded_pairs.indices[
        index.excluded_pairs.indptr[target] : index.excluded_pairs.indptr[target + 1]
    ]

    def valid(members: np.ndarray) -> np.ndarray:
        keep = index.open_to_suggestions[members] & (members != target)
        keep &= not_in(neighbours, members) & not_in(blocked, members) & not_in(extra, members)
        return keep

    parts: list[np.ndarray] = []
    hops = two_hop(view, neighbours)
    if budget.friends_of_friends and len(hops.members):
        keep = valid(hops.members)
        parts.append(_top(hops.members[keep], hops.adamic_adar[keep], budget.friends_of_friends))

    members, scores, block_bounds = _profile_matches(index, target, budget.posting_entries)
    if len(members):
        keep = valid(members)
        members, scores = members[keep], scores[keep]
        block_bounds = np.searchsorted(np.flatnonzero(keep), block_bounds)
        limits = (
            budget.similar_interests,
            budget.helped,
            budget.helpers,
            budget.support_groups,
            budget.shared_attributes,
        )
        for block, limit in enumerate(limits):
            lo, hi = block_bounds[block], block_bounds[block + 1]
            parts.append(_top(members[lo:hi], scores[lo:hi], limit))
        similar = slice(block_bounds[INTERESTS_BLOCK], block_bounds[INTERESTS_BLOCK + 1])
        members, scores = members[similar], scores[similar]
        if budget.across_silos and index.silo[target] != NO_SILO:
            silo = index.silo[members]
            elsewhere = (silo != index.silo[target]) & (silo != NO_SILO)
            parts.append(_top(members[elsewhere], scores[elsewhere], budget.across_silos))
        if budget.few_ties:
            quiet = view.degree[members] <= FEW_TIES
            parts.append(_top(members[quiet], scores[quiet], budget.few_ties))

    if budget.few_ties and len(index.few_ties_pool):
        pool = index.few_ties_pool
        start = (target * 7919) % len(pool)
        sample = np.take(pool, np.arange(start, start + 4 * budget.few_ties), mode="wrap")
        sample = sample[valid(sample)]
        parts.append(sample[: budget.few_ties])

    pooled = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    return CandidatePool(pooled.astype(np.int64), hops)


def _profile_matches(
    index: SuggestionIndex, target: int, entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members matching the target's profile, block by block, with a score per block.

    Reads about ``entries`` members from the target's tags' posting lists in all, an equal
    window of each (at least 64), so a popular tag costs no more than a rare one. Returns
    ``(members, scores, bounds)`` where entries ``bounds[b]:bounds[b + 1]`` belong to block
    ``b``: interest dot products, then counts of needs the target can meet, offers the target
    needs, shared groups and shared attribute values. Members may repeat across blocks.
    """
    queries = index.profile_queries
    lo, hi = queries.indptr[target], queries.indptr[target + 1]
    n = index.number_of_members
    if hi == lo:
        return np.empty(0, dtype=np.int64), np.empty(0), np.zeros(N_BLOCKS + 1, dtype=np.int64)
    columns = queries.indices[lo:hi]
    weights = queries.data[lo:hi]
    postings = index.profile_postings
    width = max(64, entries // len(columns))
    owner, positions = window_positions(postings.indptr, columns, width, target)
    block = index.tag_block[columns].astype(np.int64)[owner]
    keys = block * n + postings.indices[positions]
    keys, scores = sum_by_member(keys, postings.data[positions] * weights[owner])
    bounds = np.searchsorted(keys, np.arange(N_BLOCKS + 1, dtype=np.int64) * n)
    return keys % n, scores, bounds


def _top(members: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` members with the highest scores (all of them if there are ``k`` or fewer)."""
    if len(members) <= k:
        return members
    if k <= 0:
        return members[:0]
    return members[np.argpartition(-scores, k - 1)[:k]]
