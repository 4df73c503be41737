"""Suggest peer connections to one member: candidates, likely fit, the mission, then reasons.

A request gathers a bounded candidate pool (:mod:`matching.candidates`), scores every candidate
with the community's model (:mod:`matching.ranking`), then re-ranks for the mission in log-odds:

- members with few ties and new members get a bonus as candidates, so they are proposed first;
- ``bridging_weight`` (0..1) adds a bonus proportional to how far apart the pair sits (other
  detected silo, other attribute values): 0 ranks purely by likely fit, 1 strongly favours
  ties across silos;
- members already proposed ``max_exposures_per_week`` times this week are skipped;
- no silo takes more than ``MAX_SILO_SHARE`` of the list, and members with few ties no more
  than ``MAX_FEW_TIES_SHARE``, nor of any prefix of it from ten places on, while others are
  available.

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

from belonging.matching.candidates import FEW_TIES, budget_for, candidate_pool
from belonging.matching.features import pair_features
from belonging.matching.index import NEW_MEMBER_DAYS, SuggestionIndex, epoch_seconds
from belonging.matching.reasons import Reason, ReasonWriter
from belonging.matching.silos import NO_SILO
from belonging.matching.target import Target

FEW_TIES_BONUS = 1.0
"""Log-odds added for a candidate with no ties; a candidate with d ties gets this / (1 + d)."""
NEW_MEMBER_BONUS = 0.5
"""Log-odds added for a candidate who joined in the last ``NEW_MEMBER_DAYS`` days."""
BRIDGING_STRENGTH = 4.0
"""Log-odds added at ``bridging_weight`` 1 for a pair that differs on every silo dimension."""
MAX_SILO_SHARE = 0.8
"""At most this share of a list (rounded up) comes from one detected silo, if others remain."""
MAX_FEW_TIES_SHARE = 0.4
"""At most this share of a list comes from members with few ties (they are favoured, but a list
made mostly of them would overwhelm them and tell the asker little)."""
DIVERSITY_WINDOW = 10
"""Shares are enforced from this many places on (8 of the first 10, 16 of 20, ...)."""


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
        In the order to show them. Scores are ``sigmoid(model log-odds + mission bonuses)``;
        the silo share may place a candidate above one with a slightly higher score.
    """
    target = Target.of(index, index.position[member_id])
    return suggest_for(
        index, target, limit=limit, bridging_weight=bridging_weight, exposures=exposures,
        max_exposures_per_week=max_exposures_per_week, exclude=exclude, now=now,
    )


def suggest_for(
    index: SuggestionIndex,
    target: Target,
    *,
    limit: int = 10,
    bridging_weight: float = 0.0,
    exposures: Mapping[str, int] | None = None,
    max_exposures_per_week: int | None = None,
    exclude: Iterable[str] = (),
    now: datetime | None = None,
) -> list[Suggestion]:
    """:func:`suggest` for a :class:`~matching.target.Target`: a member the index holds, or one
    it has not seen yet (joined, re-tied or changed since it was built), described by their
    current profile and ties on the index's columns."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if not 0.0 <= bridging_weight <= 1.0:
        raise ValueError(f"bridging_weight must be between 0 and 1, got {bridging_weight}")
    if limit == 0 or not target.open_to_suggestions:
        return []
    moment = epoch_seconds(now or datetime.now(UTC))

    view = index.ties
    neighbours = target.neighbours
    degree = len(neighbours)
    is_new = moment - target.joined_at < NEW_MEMBER_DAYS * 86_400
    left_out = _rows(index, exclude)
    pool = candidate_pool(
        index,
        view,
        target,
        neighbours=neighbours,
        budget=budget_for(degree, is_new=is_new),
        excluded=left_out,
    )
    if len(pool.members) == 0:
        return []
    features = pair_features(index, view, target, pool.members, pool.hops, twins=pool.twins)
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
    )
    if bridging_weight > 0:
        log_odds += bridging_weight * BRIDGING_STRENGTH * features.silo_distance()
    chosen = _choose(
        index,
        candidates,
        log_odds,
        features.candidate_degree,
        limit,
        exposures,
        max_exposures_per_week,
    )
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
    candidate_degree: np.ndarray,
    limit: int,
    exposures: Mapping[str, int] | None,
    max_exposures: int | None,
) -> list[int]:
    """Positions of the candidates to show, in order, under the exposure cap and list shares.

    Candidates at the exposure cap are dropped. Then, place by place, the best remaining
    candidate that keeps the list mixed is taken: among the first ``L`` places one silo holds
    at most ``share(MAX_SILO_SHARE, L)`` and members with few ties at most
    ``share(MAX_FEW_TIES_SHARE, L)``, where ``share(s, L) = min(L, ceil(s * max(L, 10)))``. So
    every prefix of the list (the first 10 of 35, say) is mixed too. If no remaining candidate
    fits, the best remaining one is taken anyway.
    """
    order = np.argsort(-log_odds, kind="stable")
    ranked = order.tolist()
    members = candidates[order].tolist()
    silos = index.silo[candidates[order]].tolist()
    quiet = (candidate_degree[order] <= FEW_TIES).tolist()
    used = [False] * len(ranked)
    if exposures and max_exposures is not None:
        # Looked up lazily: only the candidates the walk reaches, not the whole pool.
        ids = index.member_ids
        checked = [False] * len(ranked)

        def at_cap(j: int) -> bool:
            if not checked[j]:
                checked[j] = True
                if exposures.get(ids[members[j]], 0) >= max_exposures:
                    used[j] = True
            return used[j]
    else:

        def at_cap(j: int) -> bool:
            return False

    per_silo: dict[int, int] = {}
    quiet_taken = 0
    taken: list[int] = []
    first_free = 0
    while True:
        while first_free < len(ranked) and (used[first_free] or at_cap(first_free)):
            first_free += 1
        if len(taken) == limit or first_free == len(ranked):
            break
        places = len(taken) + 1
        silo_room = _share(MAX_SILO_SHARE, places)
        quiet_room = _share(MAX_FEW_TIES_SHARE, places)
        pick = first_free
        for j in range(first_free, len(ranked)):
            if (
                not used[j]
                and not at_cap(j)
                and (silos[j] == NO_SILO or per_silo.get(silos[j], 0) < silo_room)
                and (not quiet[j] or quiet_taken < quiet_room)
            ):
                pick = j
                break
        used[pick] = True
        per_silo[silos[pick]] = per_silo.get(silos[pick], 0) + 1
        quiet_taken += quiet[pick]
        taken.append(ranked[pick])
    return taken


def _rows(index: SuggestionIndex, member_ids: Iterable[str]) -> np.ndarray | None:
    """Sorted rows of the ``member_ids`` the index holds (None when there are none)."""
    wanted = list(member_ids)
    rows_of = getattr(index.member_ids, "rows", None)
    if rows_of is not None:
        found = rows_of(wanted)
    else:
        found = np.array([index.position.get(m, -1) for m in wanted], dtype=np.int64)
    found = np.unique(found[found >= 0]).astype(np.int64)
    return found if len(found) else None


def _share(share: float, places: int) -> int:
    """Most places one kind may hold among the first ``places`` (a share of at least ten)."""
    return min(places, math.ceil(share * max(places, DIVERSITY_WINDOW)))


def _joined_recently(joined_at: np.ndarray, moment: float) -> np.ndarray:
    """Which join times fall within ``NEW_MEMBER_DAYS`` before ``moment`` (NaN: unknown, no)."""
    return (moment - joined_at) < NEW_MEMBER_DAYS * 86_400
