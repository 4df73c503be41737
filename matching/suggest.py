"""Suggest peer connections to one member: candidates, likely fit, the mission, then reasons.

A request gathers a bounded candidate pool (:mod:`matching.candidates`), scores every candidate
with the community's model (:mod:`matching.ranking`), then re-ranks for the mission in log-odds:

- members with few ties and new members get a bonus as candidates, so they are proposed first;
- ``bridging_weight`` (0..1) adds a bonus proportional to how far apart the pair sits (other
  detected silo, other attribute values): 0 ranks purely by likely fit, 1 strongly favours
  ties across silos;
- members already proposed ``max_exposures_per_week`` times this week are skipped;
- no silo takes more than ``MAX_SILO_SHARE`` of the list while others are available.

Hard rules, always: never the member themself, an existing connection, a blocked or declined
pair (either direction), or anyone not open to suggestions; a member not open to suggestions
gets none; private needs are never named in reasons. A request touches only the target's
neighbourhood and tags' posting windows: about a millisecond on 1M ties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from matching.candidates import budget_for, candidate_pool
from matching.features import pair_features
from matching.index import NEW_MEMBER_DAYS, SuggestionIndex, epoch_seconds
from matching.reasons import Reason, ReasonWriter
from matching.silos import NO_SILO

FEW_TIES_BONUS = 1.0
"""Log-odds added for a candidate with no ties; a candidate with d ties gets this / (1 + d)."""
NEW_MEMBER_BONUS = 0.5
"""Log-odds added for a candidate who joined in the last ``NEW_MEMBER_DAYS`` days."""
BRIDGING_STRENGTH = 4.0
"""Log-odds added at ``bridging_weight`` 1 for a pair that differs on every silo dimension."""
MAX_SILO_SHARE = 0.8
"""At most this share of a list (rounded up) comes from one detected silo, if others remain."""


@dataclass(frozen=True)
class Suggestion:
    """One proposed connection: who, how strongly (0..1, higher first), why, across silos?"""

    member_id: str
    score: float
    reasons: list[Reason] = field(default_factory=list)
    crosses_silo: bool = False


def suggest(
    index: SuggestionIndex,
    member_id: str,
    *,
    limit: int = 10,
    bridging_weight: float = 0.0,
    exposures: Mapping[str, int] | None = None,
    max_exposures_per_week: int | None = None,
    exclude: Iterable[str] = (),
    now: datetime | None = None,
) -> list[Suggestion]:
    """Up to ``limit`` members to suggest to ``member_id``, best first.

    Parameters
    ----------
    index : SuggestionIndex
        The community's index.
    member_id : str
        The member asking. Unknown ids raise ``KeyError``; a member not open to suggestions
        gets an empty list.
    limit : int
        Most suggestions to return (>= 0).
    bridging_weight : float
        0 = purely by likely fit; 1 = strongly favour ties across silos.
    exposures : mapping of member id to int, optional
        How often each member has been proposed to others this week.
    max_exposures_per_week : int, optional
        Members with at least this many exposures are not proposed.
    exclude : iterable of str
        Further member ids to leave out (for example, suggestions still pending); unknown ids
        are ignored.
    now : datetime, optional
        The time newness is measured against; defaults to the current time.

    Returns
    -------
    list of Suggestion
        Scores are ``sigmoid(model log-odds + mission bonuses)``, comparable within one list.
    """
    target = index.position[member_id]
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if not 0.0 <= bridging_weight <= 1.0:
        raise ValueError(f"bridging_weight must be between 0 and 1, got {bridging_weight}")
    if limit == 0 or not index.open_to_suggestions[target]:
        return []
    moment = epoch_seconds(now or datetime.now(UTC))

    view = index.ties
    neighbours = view.neighbours(target)
    degree = len(neighbours)
    is_new = _joined_recently(index.joined_at[target : target + 1], moment)[0]
    left_out = np.unique([index.position[m] for m in exclude if m in index.position]).astype(
        np.int64
    )
    pool = candidate_pool(
        index,
        view,
        target,
        neighbours=neighbours,
        budget=budget_for(degree, is_new=bool(is_new)),
        excluded=left_out,
    )
    if len(pool.members) == 0:
        return []
    features = pair_features(index, view, target, pool.members, pool.hops)
    if degree == 0:
        log_odds = index.cold_ranker.decision_function(features.model_inputs(cold=True))
    else:
        log_odds = index.ranker.decision_function(features.model_inputs())

    candidates = pool.members
    candidate_is_new = _joined_recently(index.joined_at[candidates], moment)
    log_odds = (
        log_odds
        + FEW_TIES_BONUS / (1.0 + features.candidate_degree)
        + NEW_MEMBER_BONUS * candidate_is_new
        + bridging_weight * BRIDGING_STRENGTH * features.silo_distance()
    )
    chosen = _choose(index, candidates, log_odds, limit, exposures, max_exposures_per_week)
    writer = ReasonWriter(index, target, frozenset(index.silo[neighbours].tolist()))
    return [
        Suggestion(
            member_id=index.member_ids[candidates[k]],
            score=1.0 / (1.0 + math.exp(-float(log_odds[k]))),
            reasons=writer.reasons(
                int(candidates[k]),
                common_neighbours=int(features.common_neighbours[k]),
                crosses_silo=bool(features.crosses_silo[k]),
                candidate_is_new=bool(candidate_is_new[k]),
            ),
            crosses_silo=bool(features.crosses_silo[k]),
        )
        for k in chosen
    ]


def _choose(
    index: SuggestionIndex,
    candidates: np.ndarray,
    log_odds: np.ndarray,
    limit: int,
    exposures: Mapping[str, int] | None,
    max_exposures: int | None,
) -> list[int]:
    """Positions of the best candidates under the exposure cap and the per-silo share."""
    per_silo = max(1, math.ceil(MAX_SILO_SHARE * limit))
    capped = exposures is not None and max_exposures is not None
    order = np.argsort(-log_odds, kind="stable")
    silos = index.silo[candidates[order]].tolist()
    taken: list[int] = []
    held_back: list[int] = []
    silo_count: dict[int, int] = {}
    for k, silo in zip(order.tolist(), silos, strict=True):
        if capped and exposures.get(index.member_ids[candidates[k]], 0) >= max_exposures:
            continue
        if silo != NO_SILO and silo_count.get(silo, 0) >= per_silo:
            if len(held_back) < limit:
                held_back.append(k)
            continue
        silo_count[silo] = silo_count.get(silo, 0) + 1
        taken.append(k)
        if len(taken) == limit:
            break
    if len(taken) < limit:
        taken.extend(held_back[: limit - len(taken)])
        taken.sort(key=lambda k: -log_odds[k])
    return taken


def _joined_recently(joined_at: np.ndarray, moment: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (moment - joined_at) < NEW_MEMBER_DAYS * 86_400

