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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import numpy as np

from belonging.matching.candidates import FEW_TIES, budget_for, candidate_pool
from belonging.matching.features import pair_features
from belonging.matching.index import NEW_MEMBER_DAYS, SuggestionIndex, epoch_seconds
from belonging.matching.neighbourhood import sorted_distinct
from belonging.matching.reasons import Reason, ReasonWriter
from belonging.matching.silos import NO_SILO
from belonging.matching.stored import take
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
    # Everything about the chosen few as Python values at once: one gather per array instead of
    # a numpy scalar read per candidate and array.
    picked = np.array(chosen, dtype=np.intp)
    rows = candidates[picked].tolist()
    crosses = features.crosses_silo[picked].tolist()
    writer = ReasonWriter(index, target, frozenset(index.silo[neighbours].tolist()))
    reasons = writer.reasons_for(
        rows,
        common_neighbours=features.common_neighbours[picked].tolist(),
        crosses_silo=crosses,
        candidate_is_new=candidate_is_new[picked].tolist(),
    )
    return [
        Suggestion(
            member_id=member_id,
            score=1.0 / (1.0 + math.exp(-odds)),
            reasons=why,
            crosses_silo=across,
        )
        for member_id, odds, why, across in zip(
            take(index.member_ids, rows), log_odds[picked].tolist(), reasons, crosses, strict=True
        )
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
    order = (-log_odds).argsort(kind="stable")
    ranked = order.tolist()
    ordered = candidates[order]
    silos = index.silo[ordered].tolist()
    quiet = (candidate_degree[order] <= FEW_TIES).tolist()
    at_cap: Callable[[int], bool] | None = None
    if exposures and max_exposures is not None:
        ids = index.member_ids
        members = ordered.tolist()

        def at_cap(j: int) -> bool:
            return exposures.get(ids[members[j]], 0) >= max_exposures

    # Rank positions neither taken nor found at the cap, best first. Caps are looked up lazily,
    # once each, as the walk first reaches a position (``reached``): only the candidates the
    # walk reaches, not the whole pool.
    remaining = list(range(len(ranked)))
    reached = -1
    per_silo: dict[int, int] = {}
    quiet_taken = 0
    taken: list[int] = []
    while remaining and len(taken) < limit:
        silo_room, quiet_room = _rooms(len(taken) + 1)
        first = pick = -1
        at = 0
        while at < len(remaining):
            j = remaining[at]
            if j > reached:
                reached = j
                if at_cap is not None and at_cap(j):
                    del remaining[at]
                    continue
            if first < 0:
                first = at
            silo = silos[j]
            if (silo == NO_SILO or per_silo.get(silo, 0) < silo_room) and (
                not quiet[j] or quiet_taken < quiet_room
            ):
                pick = at
                break
            at += 1
        if first < 0:
            break
        j = remaining.pop(pick if pick >= 0 else first)
        per_silo[silos[j]] = per_silo.get(silos[j], 0) + 1
        quiet_taken += quiet[j]
        taken.append(ranked[j])
    return taken


def _rows(index: SuggestionIndex, member_ids: Iterable[str]) -> np.ndarray | None:
    """Sorted rows of the ``member_ids`` the index holds (None when there are none)."""
    wanted = list(member_ids)
    if not wanted:
        return None
    rows_of = getattr(index.member_ids, "rows", None)
    if rows_of is not None:
        found = rows_of(wanted)
    else:
        found = np.array([index.position.get(m, -1) for m in wanted], dtype=np.int64)
    found = sorted_distinct(found[found >= 0]).astype(np.int64)
    return found if len(found) else None


@cache
def _rooms(places: int) -> tuple[int, int]:
    """Most places one silo, and members with few ties, may hold among the first ``places``.

    Cached: a walk asks for every place of the list, and lists are no longer than a pool.
    """
    return _share(MAX_SILO_SHARE, places), _share(MAX_FEW_TIES_SHARE, places)


def _share(share: float, places: int) -> int:
    """Most places one kind may hold among the first ``places`` (a share of at least ten)."""
    return min(places, math.ceil(share * max(places, DIVERSITY_WINDOW)))


def _joined_recently(joined_at: np.ndarray, moment: float) -> np.ndarray:
    """Which join times fall within ``NEW_MEMBER_DAYS`` before ``moment`` (NaN: unknown, no)."""
    return (moment - joined_at) < NEW_MEMBER_DAYS * 86_400
