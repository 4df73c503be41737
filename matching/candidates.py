"""Who might be suggested to a member: a bounded pool gathered from several sources.

Sources (each bounded, all vectorised over the index's sparse arrays):

- friends of friends, best by Adamic-Adar;
- similar interests (TF-IDF dot products over windows of the target's tags' posting lists);
- members who offer what the target needs, and members who need what the target offers;
- members of the target's support groups;
- members across silos: similar interests but another detected silo or no attribute value in
  common;
- members sharing attribute values (cohort, neighbourhood, ...);
- members with few ties whose profile is most alike (interests and attribute values), so that
  isolated and new members are proposed;
- for members with few ties or new members: profile-driven sources get larger budgets, and a
  sample of members with few ties is added, so isolated members are introduced to each other;
- for members without ties: the ties of their profile twins (the members most like them), since
  who those know stands in for who their friends would know.

Invalid candidates never enter the pool: the target, its current ties, blocked or declined
pairs, members not open to suggestions, and anything the caller excludes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from belonging.matching.features import ATTRIBUTES_BLOCK, INTERESTS_BLOCK, N_BLOCKS
from belonging.matching.neighbourhood import (
    TieView,
    TwoHop,
    not_in,
    sorted_distinct,
    sum_by_member,
    two_hop,
    window_positions,
)
from belonging.matching.silos import NO_SILO
from belonging.matching.target import Target

if TYPE_CHECKING:
    from belonging.matching.index import SuggestionIndex

FEW_TIES = 2
"""Members with at most this many ties count as having few ties."""


@dataclass(frozen=True)
class CandidateBudget:
    """How many candidates each source may contribute, and how far into posting lists to read."""

    friends_of_friends: int = 105
    similar_interests: int = 60
    helpers: int = 24
    helped: int = 24
    support_groups: int = 24
    across_silos: int = 24
    shared_attributes: int = 24
    quiet_matches: int = 15
    """Members with few ties whose profile (interests, attribute values) is most alike."""
    few_ties_sample: int = 0
    """Members with few ties drawn at random, whatever their profile."""
    twins: int = 0
    """Members without ties: how many members with the most similar profile act as anchors."""
    friends_of_twins: int = 0
    posting_entries: int = 1024
    """Entries read from posting lists in all: each of the target's tags gets an equal share."""

    @property
    def total(self) -> int:
        """The most candidates this budget can yield."""
        return (
            self.friends_of_friends
            + self.similar_interests
            + self.helpers
            + self.helped
            + self.support_groups
            + self.across_silos
            + self.shared_attributes
            + self.quiet_matches
            + self.few_ties_sample
            + self.friends_of_twins
        )


# Larger pools did not rank better on the benchmark communities (300 vs 500 candidates gave the
# same precision) and every candidate costs feature time, so pools stay at 300.
WELL_CONNECTED = CandidateBudget()
"""For members with ties: mostly their neighbourhood, then their profile (at most 300)."""

FEW_TIES_BUDGET = CandidateBudget(
    friends_of_friends=40,
    similar_interests=70,
    helpers=18,
    helped=18,
    support_groups=18,
    across_silos=18,
    shared_attributes=36,
    quiet_matches=15,
    few_ties_sample=15,
    twins=20,
    friends_of_twins=52,
)
"""For isolated, barely connected and new members: the profile leads (at most 300). Members
without ties also borrow the ties of their profile twins (members most like them)."""


def budget_for(degree: int, *, is_new: bool = False) -> CandidateBudget:
    """The budget for a target with ``degree`` ties; new members count as having few ties."""
    return FEW_TIES_BUDGET if degree <= 1 or is_new else WELL_CONNECTED


@dataclass(frozen=True)
class CandidatePool:
    """Valid candidates (sorted distinct row positions) and what was learned finding them.

    ``hops`` are the target's friends of friends; ``twins`` the members tied to the target's
    profile twins (empty unless the target has no ties), weighted by twin similarity.
    """

    members: np.ndarray
    hops: TwoHop
    twins: TwoHop = field(default_factory=TwoHop.empty)


def candidate_pool(
    index: SuggestionIndex,
    view: TieView,
    target: int | Target,
    *,
    neighbours: np.ndarray,
    budget: CandidateBudget,
    excluded: np.ndarray | None = None,
) -> CandidatePool:
    """Gather candidates for ``target`` from every source, within ``budget``.

    ``target`` is a row of the index or a :class:`~matching.target.Target` (a member the index
    may not hold). ``neighbours`` are the target's ties in ``view`` (sorted); they are never
    candidates. ``excluded`` is an optional sorted array of further row positions to leave out.
    """
    asker = target if isinstance(target, Target) else Target.of(index, target, neighbours)
    never = [neighbours, asker.excluded]
    if excluded is not None:
        never.append(excluded)
    if asker.row >= 0:
        never.append(np.array([asker.row]))
    # Everyone never to propose, in one sorted array: each source is then filtered with one
    # lookup instead of one per kind (a request's cost is mostly the count of numpy calls).
    left_out = np.concatenate(never)
    left_out.sort()

    def valid(members: np.ndarray) -> np.ndarray:
        keep = index.open_to_suggestions[members]
        if len(left_out):
            keep &= not_in(left_out, members)
        return keep

    parts: list[np.ndarray] = []
    hops = two_hop(view, neighbours)
    if budget.friends_of_friends and len(hops.members):
        keep = valid(hops.members)
        parts.append(_top(hops.members[keep], hops.adamic_adar[keep], budget.friends_of_friends))

    twins = TwoHop.empty()
    members, scores, bounds = _profile_matches(index, asker, budget.posting_entries)
    if len(members):
        keep = valid(members)
        members, scores = members[keep], scores[keep]
        bounds = keep.nonzero()[0].searchsorted(bounds)
        limits = (
            budget.similar_interests,
            budget.helped,
            budget.helpers,
            budget.support_groups,
            budget.shared_attributes,
        )
        edges = bounds.tolist()
        for block, limit in enumerate(limits):
            lo, hi = edges[block], edges[block + 1]
            parts.append(_top(members[lo:hi], scores[lo:hi], limit))
        if budget.twins and len(neighbours) == 0:
            alike, similarity = _profile_similarity(members, scores, bounds)
            twins = _twins(view, alike, similarity, budget.twins)
            keep = valid(twins.members)
            parts.append(
                _top(twins.members[keep], twins.adamic_adar[keep], budget.friends_of_twins)
            )
            quiet = view.degree[alike] <= FEW_TIES
            parts.append(_top(alike[quiet], similarity[quiet], budget.quiet_matches))
        elif budget.quiet_matches:
            # Only members with few ties compete here, so group just those.
            quiet = view.degree[members] <= FEW_TIES
            alike, similarity = _profile_similarity(members, scores, bounds, quiet)
            parts.append(_top(alike, similarity, budget.quiet_matches))
        if budget.across_silos:
            similar = slice(edges[INTERESTS_BLOCK], edges[INTERESTS_BLOCK + 1])
            # The most similar few are enough to find those in another part of the community.
            best = _top(
                np.arange(similar.stop - similar.start), scores[similar], 4 * budget.across_silos
            )
            members, scores = members[similar][best], scores[similar][best]
            elsewhere = _elsewhere(index, asker, members)
            parts.append(_top(members[elsewhere], scores[elsewhere], budget.across_silos))

    if budget.few_ties_sample and len(index.few_ties_pool):
        pool = index.few_ties_pool
        start = (asker.salt * 7919) % len(pool)
        window = np.arange(start, start + 4 * budget.few_ties_sample)
        sample = pool.take(window, mode="wrap")
        sample = sample[valid(sample)]
        parts.append(sample[: budget.few_ties_sample])

    pooled = sorted_distinct(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    return CandidatePool(pooled.astype(np.int64), hops, twins)


ATTRIBUTE_SIMILARITY = 0.25
"""Profile similarity of one shared attribute value, against interest cosine (0..1)."""


def _profile_similarity(
    members: np.ndarray,
    scores: np.ndarray,
    bounds: np.ndarray,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct profile matches (only those flagged in ``among``, if given) and how alike each
    is to the target: interest score (a TF-IDF dot product) plus ``ATTRIBUTE_SIMILARITY`` per
    shared attribute value.
    """
    interests = np.arange(bounds[INTERESTS_BLOCK], bounds[INTERESTS_BLOCK + 1])
    attributes = np.arange(bounds[ATTRIBUTES_BLOCK], bounds[ATTRIBUTES_BLOCK + 1])
    if among is not None:
        interests, attributes = interests[among[interests]], attributes[among[attributes]]
    pick = np.concatenate([interests, attributes])
    weight = scores[pick]
    weight[len(interests) :] *= ATTRIBUTE_SIMILARITY
    return sum_by_member(members[pick], weight)


def _twins(view: TieView, alike: np.ndarray, similarity: np.ndarray, count: int) -> TwoHop:
    """Members tied to the target's ``count`` profile twins, weighted by twin similarity.

    For a member without ties, who the members most like them know stands in for who their
    friends would know.
    """
    chosen = (-similarity).argsort(kind="stable")[:count]
    chosen = chosen[similarity[chosen] > 0]
    return two_hop(view, alike[chosen], similarity[chosen])


def _elsewhere(index: SuggestionIndex, target: Target, members: np.ndarray) -> np.ndarray:
    """Which ``members`` sit in another part of the community than the target.

    Another detected silo (both having one), or no attribute value in common while both have a
    value for at least one attribute (another cohort, neighbourhood, department).
    """
    own_silo = target.silo
    silo = index.silo[members]
    elsewhere = (silo != own_silo) & (silo != NO_SILO) & (own_silo != NO_SILO)
    own = target.attribute_codes
    if (own >= 0).any():
        theirs = index.attribute_codes[members]
        both = (theirs >= 0) & (own >= 0)
        elsewhere |= both.any(axis=1) & ~(both & (theirs == own)).any(axis=1)
    return elsewhere


def _profile_matches(
    index: SuggestionIndex, target: Target, entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members matching the target's profile, block by block, with a score per block.

    Reads about ``entries`` members from the target's tags' posting lists in all, an equal
    window of each (at least 64), so a popular tag costs no more than a rare one. Returns
    ``(members, scores, bounds)`` where entries ``bounds[b]:bounds[b + 1]`` belong to block
    ``b``: interest dot products, then counts of needs the target can meet, offers the target
    needs, shared groups and shared attribute values. Members may repeat across blocks.
    """
    n = index.number_of_members
    columns = target.query_columns
    weights = target.query_weights
    if len(columns) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0), np.zeros(N_BLOCKS + 1, dtype=np.int64)
    postings = index.profile_postings
    width = max(64, entries // len(columns))
    owner, positions = window_positions(postings.indptr, columns, width, target.salt)
    block = index.tag_block[columns].astype(np.int64)[owner]
    keys = block * n + postings.indices[positions]
    keys, scores = sum_by_member(keys, postings.data[positions] * weights[owner])
    bounds = keys.searchsorted(np.arange(N_BLOCKS + 1, dtype=np.int64) * n)
    return keys % n, scores, bounds


def _top(members: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` members with the highest scores (all of them if there are ``k`` or fewer)."""
    if len(members) <= k:
        return members
    if k <= 0:
        return members[:0]
    return members[(-scores).argpartition(k - 1)[:k]]
