"""The impact report: is the community connecting? Suggestions, intro rounds and first ties in a window.

The figures are counted from event rows (:mod:`belonging.service.repository.impact`), once for
the whole community and once per attribute group. Groups smaller than k are merged as the silo
report merges them (:func:`belonging.graph.mixing.merge_small_groups`), so no group of fewer
than k members is ever broken out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from psycopg import AsyncConnection

from belonging.graph.mixing import merge_small_groups
from belonging.service.repository import impact as repository

DEFAULT_DAYS = 30
TIE_WITHIN = timedelta(days=14)
ROUTES = {"suggested": "suggestion", "round": "round"}

#: The chart over time shows at least this many weeks, and at most the longer cap.
CHART_WEEKS = 12
CHART_MAX_WEEKS = 104
#: What is counted per week (see :func:`belonging.service.repository.impact.weekly_counts`).
WEEKLY = ("shown", "accepted", "declined", "round", "pair", "met", "not_met", "skipped", "joined", "first_tie")

Rows = list[dict[str, Any]]


def window(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The days asked for; by default the 30 days up to ``until`` (today unless given)."""
    until = until or today
    if since is None:
        span = timedelta(days=DEFAULT_DAYS - 1)
        since = until - span if until >= date.min + span else date.min
    return since, until


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def figures(suggestions: Rows, pairs: Rows, members: Rows) -> dict[str, Any]:
    """The figures over these rows: for a group, the rows of its members (see :func:`breakdown`)."""
    outcomes = [s["outcome"] for s in suggestions]
    accepted, declined = outcomes.count("accepted"), outcomes.count("declined")
    shown_count = sum(1 for s in suggestions if s["shown"])

    held = {p["round_id"] for p in pairs}
    answers = [p["outcome"] for p in pairs if p["pair_id"] is not None]
    met, not_met, skipped = answers.count("met"), answers.count("not_met"), answers.count("skipped")

    joined = [m for m in members if m["joined"]]
    days = [max((m["first_tie_at"] - m["created_at"]).total_seconds(), 0.0) / 86400
            for m in joined if m["first_tie_at"] is not None]
    soon = sum(1 for d in days if d <= TIE_WITHIN.days)
    left = [m for m in members if m["first_tie_in_window"]]
    routes = {"suggestion": 0, "round": 0, "group": 0, "other": 0}
    for m in left:
        routes[ROUTES.get(m["first_tie_kind"] or "", "other")] += 1
    return {
        "suggestions": {"shown": shown_count, "accepted": accepted, "declined": declined,
                        "acceptance_rate": _rate(accepted, shown_count)},
        "rounds": {"held": len(held), "pairs": len(answers), "met": met, "not_met": not_met, "skipped": skipped,
                   "met_rate": _rate(met, met + not_met + skipped)},
        "new_members": {"joined": len(joined),
                        "median_days_to_first_tie": statistics.median(days) if days else None,
                        "share_with_tie_within_14_days": _rate(soon, len(joined))},
        "left_isolation": {"total": len(left), "by_route": routes},
    }


def breakdown(suggestions: Rows, pairs: Rows, members: Rows, groups: dict[str, set[str]]) -> dict[str, Any]:
    """The figures per group, each over its members' rows, in one pass over the rows.

    A suggestion counts for the member it was shown to; a pair for the group of each of its
    members (once per group), with the round it was in.
    """
    value_of = {member: value for value, group in groups.items() for member in group}
    buckets: dict[str, tuple[Rows, Rows, Rows]] = {value: ([], [], []) for value in groups}
    for s in suggestions:
        if (value := value_of.get(s["member_id"])) is not None:
            buckets[value][0].append(s)
    for p in pairs:
        if p["pair_id"] is None:
            continue
        for value in {value_of[m] for m in p["member_ids"] if m in value_of}:
            buckets[value][1].append(p)
    for m in members:
        if (value := value_of.get(m["member_id"])) is not None:
            buckets[value][2].append(m)
    return {value: figures(*rows) for value, rows in buckets.items()}


def groups(values: dict[str, str], k: int) -> dict[str, set[str]]:
    """Members by attribute value, small groups merged (k); values with no group left out."""
    members = sorted(values)
    merged = merge_small_groups([values[m] for m in members], min_group_size=k)
    out: dict[str, set[str]] = {}
    for member_id, value in zip(members, merged, strict=True):
        if value is not None:
            out.setdefault(value, set()).add(member_id)
    return dict(sorted(out.items()))


async def report(
    conn: AsyncConnection, community_id: int, since: date, until: date, attributes: Iterable[str], k: int
) -> dict[str, Any]:
    suggestions = await repository.suggestions(conn, community_id, since, until)
    pairs = await repository.round_pairs(conn, community_id, since, until)
    members = await repository.members_and_first_ties(conn, community_id, since, until)
    values = await repository.attribute_values(conn, community_id, list(attributes))
    by_attribute = {name: breakdown(suggestions, pairs, members, groups(by_member, k))
                    for name, by_member in values.items()}
    return {"since": since, "until": until, "min_group_size": k,
            **figures(suggestions, pairs, members), "attributes": by_attribute}


@dataclass(frozen=True)
class Week:
    starts: date
    ends: date  # the week's last day, included
    counts: dict[str, int]


def chart_span(since: date, until: date) -> tuple[date, int]:
    """The first day and the number of weeks of the chart: whole weeks ending on ``until``,
    covering the window, at least :data:`CHART_WEEKS` and at most :data:`CHART_MAX_WEEKS`."""
    weeks = min(max(CHART_WEEKS, math.ceil(((until - since).days + 1) / 7)), CHART_MAX_WEEKS)
    return until + timedelta(days=1) - timedelta(weeks=weeks), weeks


async def weekly(conn: AsyncConnection, community_id: int, since: date, until: date) -> list[Week]:
    """The community's events week by week over the chart of the window, oldest first, every week listed."""
    first, weeks = chart_span(since, until)
    counts: dict[date, dict[str, int]] = {}
    for row in await repository.weekly_counts(conn, community_id, first, until):
        counts.setdefault(row["week"].astimezone(UTC).date(), {})[row["what"]] = row["count"]
    starts = [first + timedelta(weeks=n) for n in range(weeks)]
    return [Week(day, day + timedelta(days=6), {what: counts.get(day, {}).get(what, 0) for what in WEEKLY})
            for day in starts]
