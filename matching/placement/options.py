"""Organiser settings for one placement run."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PlacementOptions:
    """Organiser settings for one placement run.

    Parameters
    ----------
    max_new_groups_per_member : int
        New groups one member may join in one run (capped by their number of open needs).
    need_weight, interest_weight, priority_weight : float
        Weights of the need match, shared interests and isolation priority terms of the fit.
    spread_attribute : str or None
        Attribute to spread across groups: a group already holding many members with the
        member's value fits less (``spread_weight`` times that share).
    avoid_lone_attribute : str or None
        Attribute nobody should be alone with: a group where no current member shares the
        member's value fits ``avoid_lone_weight`` less.
    target_group_size, min_new_group_size : int
        Size of the proposed new groups, and the smallest one worth proposing.
    time_limit_s : float
        Wall-clock limit for the solve (all HiGHS runs together).
    explain : bool
        List every eligible group with its fit (``candidates``) for each member.
    """

    max_new_groups_per_member: int = 1
    need_weight: float = 1.0
    interest_weight: float = 1.0
    priority_weight: float = 1.0
    spread_attribute: str | None = None
    spread_weight: float = 0.5
    avoid_lone_attribute: str | None = None
    avoid_lone_weight: float = 0.5
    target_group_size: int = 8
    min_new_group_size: int = 3
    time_limit_s: float = 10.0
    explain: bool = False

    def __post_init__(self) -> None:
        weights = (
            self.need_weight,
            self.interest_weight,
            self.priority_weight,
            self.spread_weight,
            self.avoid_lone_weight,
        )
        if any(not math.isfinite(w) or w < 0 for w in weights):
            raise ValueError("fit weights must be finite and not negative")
        if self.max_new_groups_per_member < 1:
            raise ValueError("max_new_groups_per_member must be at least 1")
        if not 1 <= self.min_new_group_size <= self.target_group_size:
            raise ValueError("need 1 <= min_new_group_size <= target_group_size")
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be positive")


