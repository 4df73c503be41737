"""What is known about a possible pair: one target member against many candidates at once.

:func:`pair_features` computes, for a target and an array of candidates, everything ranking,
re-ranking and reasons need (common neighbours, Adamic-Adar, Jaccard, interest cosine, needs met
both ways, shared attribute values overall and per attribute, degrees, crossing of detected
silos, shared support groups, and for members without ties how many of their profile twins know
each candidate).
:meth:`PairFeatures.model_inputs` turns them into the model's columns, named by
:func:`feature_names`. Cost is linear in the candidates' stored entries; nothing here looks at
the whole community.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from belonging.matching.neighbourhood import TieView, TwoHop, gather_positions
from belonging.matching.silos import NO_SILO
from belonging.matching.target import Target

if TYPE_CHECKING:
    from belonging.matching.index import SuggestionIndex

# Blocks of columns of ``SuggestionIndex.profile_tags`` (candidate side) and
# ``profile_queries`` (target side); a column set on both sides is a match of that kind.
INTERESTS_BLOCK = 0
NEEDS_BLOCK = 1  # the candidate needs it, the target offers it
OFFERS_BLOCK = 2  # the candidate offers it, the target needs it (private needs included)
GROUPS_BLOCK = 3
ATTRIBUTES_BLOCK = 4
N_BLOCKS = 5

# Columns every model sees, in order; ``same:<attribute>`` columns follow, one per attribute.
WARM_FEATURES = (
    "common_neighbours",
    "adamic_adar",
    "jaccard",
    "interest_cosine",
    "shared_interests",
    "needs_met",
    "offers_wanted",
    "shared_attributes",
    "shared_group",
    "target_degree",
    "candidate_degree",
    "crosses_silo",
)
# A member with no ties has no neighbourhood and no silo: the profile is all there is, and the
# ties of their profile twins (``twin_ties``: how many twins know the candidate).
COLD_FEATURES = (
    "twin_ties",
    "twin_similarity",
    "interest_cosine",
    "shared_interests",
    "needs_met",
    "offers_wanted",
    "shared_attributes",
    "shared_group",
    "candidate_degree",
)


def feature_names(attribute_names: Sequence[str], *, cold: bool = False) -> list[str]:
    """Model column names: the base features, then ``same:<attribute>`` for each attribute."""
    base = COLD_FEATURES if cold else WARM_FEATURES
    return [*base, *(f"same:{name}" for name in attribute_names)]


@dataclass(frozen=True)
class PairFeatures:
    """Raw pair quantities for one target and ``candidates`` (all arrays aligned with it)."""

    target: int
    candidates: np.ndarray
    common_neighbours: np.ndarray
    adamic_adar: np.ndarray
    jaccard: np.ndarray
    interest_cosine: np.ndarray
    shared_interests: np.ndarray
    needs_met: np.ndarray
    offers_wanted: np.ndarray
    same_attribute: np.ndarray
    shared_attributes: np.ndarray
    different_attributes: np.ndarray
    shared_group: np.ndarray
    target_degree: np.ndarray
    candidate_degree: np.ndarray
    crosses_silo: np.ndarray
    comparable_silo: np.ndarray
    twin_ties: np.ndarray
    twin_similarity: np.ndarray

    def __len__(self) -> int:
        return len(self.candidates)

    def silo_distance(self) -> np.ndarray:
        """Share of the comparable dimensions (detected silo, each attribute) that differ, 0..1.

        A dimension is comparable when both members have a value for it; pairs with no
        comparable dimension get 0.
        """
        differing = self.crosses_silo + self.different_attributes
        comparable = self.comparable_silo + self.shared_attributes + self.different_attributes
        return np.divide(differing, comparable, out=np.zeros(len(self)), where=comparable > 0)

    def model_inputs(self, *, cold: bool = False) -> np.ndarray:
        """The model's columns (see :func:`feature_names`), counts log-scaled, as float64."""
        base, logged = (COLD_FEATURES, _COLD_LOGGED) if cold else (WARM_FEATURES, _WARM_LOGGED)
        matrix = np.column_stack(
            [*(getattr(self, name) for name in base), self.same_attribute]
        ).astype(np.float64, copy=False)
        matrix[:, logged] = np.log1p(matrix[:, logged])
        return matrix


_LOG_SCALED = frozenset(
    {
        "twin_ties",
        "twin_similarity",
        "common_neighbours",
        "adamic_adar",
        "shared_interests",
        "needs_met",
        "offers_wanted",
        "target_degree",
        "candidate_degree",
    }
)
_WARM_LOGGED = [k for k, name in enumerate(WARM_FEATURES) if name in _LOG_SCALED]
_COLD_LOGGED = [k for k, name in enumerate(COLD_FEATURES) if name in _LOG_SCALED]


def pair_features(
    index: SuggestionIndex,
    view: TieView,
    target: int | Target,
    candidates: np.ndarray,
    hops: TwoHop,
    *,
    twins: TwoHop | None = None,
    target_degree: int | None = None,
    candidate_degree: np.ndarray | None = None,
) -> PairFeatures:
    """Features of ``(target, c)`` for every ``c`` in ``candidates``.

    ``view`` and ``hops`` (the target's two-hop counts in ``view``) give the structural part, so
    the same code scores pairs on the live graph and on a graph with ties held out for training.
    ``twins`` (for a target without ties) counts the target's profile twins tied to each
    candidate. ``target_degree`` and ``candidate_degree`` override the degrees read from
    ``view``. Needs include private needs here: they are matched on, never shown.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    asker = target if isinstance(target, Target) else Target.of(index, target, view.neighbours(target))
    if target_degree is None:
        target_degree = asker.degree
    if candidate_degree is None:
        candidate_degree = view.degree[candidates].astype(np.int64)
    common, adamic_adar = hops.lookup(candidates)
    union = target_degree + candidate_degree - common
    jaccard = np.divide(common, union, out=np.zeros(len(candidates)), where=union > 0)

    codes = index.attribute_codes
    own = asker.attribute_codes
    theirs = codes[candidates]
    both = (own >= 0) & (theirs >= 0)
    same = both & (theirs == own)
    shared_attributes = same.sum(axis=1)

    weighted, counted = _profile_overlap(index, asker, candidates)
    twin_ties, twin_similarity = (twins or TwoHop.empty()).lookup(candidates)
    silo = index.silo
    comparable = (asker.silo != NO_SILO) & (silo[candidates] != NO_SILO)
    return PairFeatures(
        target=asker.row,
        candidates=candidates,
        common_neighbours=common,
        adamic_adar=adamic_adar,
        jaccard=jaccard,
        interest_cosine=weighted[:, INTERESTS_BLOCK],
        shared_interests=counted[:, INTERESTS_BLOCK],
        needs_met=counted[:, OFFERS_BLOCK],
        offers_wanted=counted[:, NEEDS_BLOCK],
        same_attribute=same,
        shared_attributes=shared_attributes,
        different_attributes=both.sum(axis=1) - shared_attributes,
        # Shared groups count once: being in two groups together is not twice the reason.
        shared_group=counted[:, GROUPS_BLOCK] > 0,
        target_degree=np.full(len(candidates), target_degree),
        candidate_degree=candidate_degree,
        crosses_silo=comparable & (silo[candidates] != asker.silo),
        comparable_silo=comparable,
        twin_ties=twin_ties,
        twin_similarity=twin_similarity,
    )


def _profile_overlap(
    index: SuggestionIndex, target: Target, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate and block: the sum of matched weights, and the number of matched tags.

    One gather of the candidates' ``profile_tags`` rows, looked up in the target's
    ``profile_queries`` row. Both arrays have shape ``(len(candidates), N_BLOCKS)``.
    """
    size = len(candidates) * N_BLOCKS
    wanted = target.query_columns
    wanted_weight = target.query_weights
    if len(wanted) == 0 or len(candidates) == 0:
        empty = np.zeros((len(candidates), N_BLOCKS))
        return empty, empty.copy()
    tags = index.profile_tags
    owner, positions = gather_positions(tags.indptr, candidates)
    columns = tags.indices[positions]
    at = np.minimum(wanted.searchsorted(columns), len(wanted) - 1)
    hit = (wanted[at] == columns).nonzero()[0]
    slot = owner[hit] * N_BLOCKS + index.tag_block[columns[hit]]
    weight = tags.data[positions[hit]] * wanted_weight[at[hit]]
    weighted = np.bincount(slot, weights=weight, minlength=size)
    counted = np.bincount(slot, minlength=size).astype(np.float64)
    return weighted.reshape(-1, N_BLOCKS), counted.reshape(-1, N_BLOCKS)
