"""What the dashboard shows, as plain data: cards, mixing tables, at-risk next actions, trends.

:func:`build` does the CPU work (the silo report, the network picture, suggestions for the
members at risk) and runs in a worker thread; the other functions are cheap and shape stored
numbers for the template. Nothing here knows about HTTP or SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from belonging.matching.placement import suggest_groups_for_member
from belonging.matching.profiles import MemberProfile
from belonging.matching.suggest import suggest
from belonging.service import reports
from belonging.service.dashboard.network import COLOURS, NetworkPicture, PictureMember, network_picture
from belonging.service.impact import Week
from belonging.service.indexes import CommunityModel
from belonging.service.repository.groups import SupportGroupRow
from belonging.service.support_groups import as_support_group

#: Members at risk listed on the page with next actions; the CSV export has all of them.
AT_RISK_LISTED = 50
SUGGESTED_TIES = 3
SUGGESTED_GROUPS = 2
HISTORY_POINTS = 90
#: Heat levels of a mixing cell (0 = no ties); the stylesheet colours ``heat-0`` .. ``heat-6``.
HEAT_LEVELS = 6
#: Mixing tables show at most this many groups; the smallest are folded into one.
HEATMAP_GROUPS = 15

REASON_TEXT = {
    "isolated": "No ties yet",
    "one_tie": "Only one tie",
    "outside_main_component": "Cut off from the main network",
    "through_one_member": "Reaches the rest only through one member",
}


@dataclass(frozen=True)
class SuggestedTie:
    member_id: str
    label: str
    score: float
    reasons: list[str]
    crosses_silo: bool


@dataclass(frozen=True)
class SuggestedGroup:
    group_id: str
    name: str
    seats_free: int


@dataclass(frozen=True)
class AtRiskRow:
    member_id: str
    label: str
    reason: str
    reason_text: str
    via: str | None
    via_label: str | None
    open_to_suggestions: bool
    ties: list[SuggestedTie] = field(default_factory=list)
    groups: list[SuggestedGroup] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardData:
    """Everything the page needs that depends only on the community's graph at one revision."""

    revision: int
    report: dict[str, Any]
    picture: NetworkPicture | None
    at_risk: list[AtRiskRow]
    #: Display names of the members who have one.
    names: dict[str, str]
    #: When the community was read for it (UTC).
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Computed by a suggestion index build and read from its folder (see ``service.stored_reports``).
    from_build: bool = False


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    value: str
    change: str | None


@dataclass(frozen=True)
class HeatCell:
    count: int
    level: int


@dataclass(frozen=True)
class Heatmap:
    attribute: str
    values: list[str]
    rows: list[tuple[str, list[HeatCell]]]
    assortativity: float | None
    ei_index: float | None
    members_with_value: int


@dataclass(frozen=True)
class ImpactGroupRow:
    group: str
    shown: int
    acceptance: str
    pairs: int
    met: str
    joined: int
    left_isolation: int


def member_labels(profiles: Iterable[MemberProfile]) -> dict[str, str]:
    """``"Name (id)"`` for members with a display name, otherwise the id."""
    return {p.member_id: f"{p.display_name} ({p.member_id})" if p.display_name else p.member_id for p in profiles}


def display_names(profiles: Iterable[MemberProfile]) -> dict[str, str]:
    return {p.member_id: p.display_name for p in profiles if p.display_name}


def build(
    model: CommunityModel, attributes: list[str], min_group_size: int, bridging_weight: float,
    computed_at: datetime | None = None,
) -> DashboardData:
    """The report with members' communities, the picture, and suggested ties for those at risk.

    ``computed_at`` is when ``model`` was read (default: now).
    """
    report = reports.compute(model, attributes, min_group_size, include_members=True)
    labels = member_labels(model.profiles)
    graph = model.graph
    picture = None
    if graph.number_of_members:
        by_member = report["communities"]["members"]
        membership = np.array([by_member[m] for m in graph.member_ids], dtype=np.int64)
        picture = network_picture(graph, membership, labels)
    listed = report["at_risk"][:AT_RISK_LISTED]
    index = model.suggestion_index() if listed else None
    rows = []
    for entry in listed:
        member_id, via = entry["member_id"], entry.get("via")
        ties = [
            SuggestedTie(s.member_id, labels.get(s.member_id, s.member_id), round(float(s.score), 2),
                         [str(r["text"]) for r in s.reasons], bool(s.crosses_silo))
            for s in suggest(index, member_id, limit=SUGGESTED_TIES, bridging_weight=bridging_weight)
        ] if index is not None else []
        rows.append(AtRiskRow(
            member_id=member_id, label=labels.get(member_id, member_id), reason=entry["reason"],
            reason_text=REASON_TEXT.get(entry["reason"], entry["reason"]), via=via,
            via_label=labels.get(via) if via else None,
            open_to_suggestions=model.profiles[graph.position[member_id]].open_to_suggestions, ties=ties,
        ))
    return DashboardData(model.revision, report, picture, rows, display_names(model.profiles),
                         computed_at or datetime.now(UTC))


def to_document(data: DashboardData) -> dict[str, Any]:
    """``data`` as JSON-ready plain data (see :func:`from_document`)."""
    document = asdict(data)
    document["computed_at"] = data.computed_at.isoformat()
    del document["from_build"]
    return document


def from_document(document: Mapping[str, Any]) -> DashboardData:
    """The :class:`DashboardData` that :func:`to_document` gave ``document`` for."""
    picture = document["picture"]
    return DashboardData(
        revision=int(document["revision"]),
        report=document["report"],
        picture=None if picture is None else NetworkPicture(**{
            **picture,
            "members": [PictureMember(**m) for m in picture["members"]],
            "ties": [tuple(t) for t in picture["ties"]],
        }),
        at_risk=[
            AtRiskRow(**{**row, "ties": [SuggestedTie(**t) for t in row["ties"]],
                         "groups": [SuggestedGroup(**g) for g in row["groups"]]})
            for row in document["at_risk"]
        ],
        names=dict(document["names"]),
        computed_at=datetime.fromisoformat(document["computed_at"]),
        from_build=True,
    )


def suggested_groups(
    rows: Sequence[AtRiskRow], group_rows: Sequence[SupportGroupRow], profiles: Mapping[str, MemberProfile],
    blocks: Iterable[tuple[str, str]], degrees: Mapping[str, int],
) -> dict[str, list[SuggestedGroup]]:
    """Up to ``SUGGESTED_GROUPS`` open groups per member at risk, best fit first.

    ``profiles`` holds the members at risk and the groups' members (those still members),
    ``blocks`` every block that names a member at risk, ``degrees`` their ties now.
    Uses :func:`matching.placement.suggest_groups_for_member` on the member's public profile:
    the page is the organiser's, so a group chosen for a need the member keeps private would tell
    the organiser about that need. Only the group is shown, as a placement run would show it.
    """
    if not group_rows or not rows:
        return {}
    groups = [as_support_group(g) for g in group_rows]
    by_id = {g.group_id: g for g in groups}
    seated = {m for g in groups for m in g.member_ids if m in profiles}
    seated_profiles = [profiles[m] for m in sorted(seated)]
    blocks_of: dict[str, list[tuple[str, str]]] = {}
    for a, b in blocks:
        blocks_of.setdefault(a, []).append((a, b))
        blocks_of.setdefault(b, []).append((a, b))
    found: dict[str, list[SuggestedGroup]] = {}
    for row in rows:
        profile = profiles.get(row.member_id)
        if profile is None:
            continue  # left the community since the report
        member = replace(profile, private_needs=())
        if not member.needs:
            continue
        options = suggest_groups_for_member(
            member, groups, members=seated_profiles, blocks=blocks_of.get(row.member_id, []),
            degrees={row.member_id: int(degrees.get(row.member_id, 0))}, limit=SUGGESTED_GROUPS,
        )
        found[row.member_id] = [
            SuggestedGroup(o["group_id"], by_id[o["group_id"]].name, by_id[o["group_id"]].seats_free)
            for o in options
        ]
    return found


def live_headline(report: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers of :func:`service.reports.headline` for a report that was not stored."""
    return {
        "members": report["members"],
        "isolates": report["isolates"]["count"],
        "components": report["components"]["count"],
        "modularity": report["communities"]["modularity"],
        "at_risk": len(report["at_risk"]),
    }


def cards(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[Card]:
    """The overview cards, each with its change since ``previous`` (a stored snapshot's headline)."""
    now = live_headline(report)
    since = " since the last snapshot"  # the page names its time once, above the cards
    titles = (("members", "Members"), ("isolates", "Isolated members"), ("components", "Components"),
              ("modularity", "Modularity"), ("at_risk", "Members at risk"))
    made = []
    for key, title in titles:
        value = now[key]
        change = None
        if previous is not None:
            change = describe_change(key, value, previous.get(key)) + since
        made.append(Card(key, title, format_number(key, value), change))
    return made


def describe_change(key: str, now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return "not comparable"
    delta = now - before
    if key == "modularity":
        if abs(delta) < 0.0005:
            return "no change"
        return f"{'up' if delta > 0 else 'down'} {abs(delta):.3f}"
    delta = int(delta)
    if delta == 0:
        return "no change"
    return f"{delta:+d}"


def format_number(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if key == "modularity":
        return f"{value:.3f}"
    return f"{int(value):,}"


def format_time(moment: datetime | str) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%d %b %Y %H:%M UTC") if moment.tzinfo else moment.strftime("%d %b %Y %H:%M")


def heatmaps(report: Mapping[str, Any]) -> list[Heatmap]:
    """One colour-scaled table per attribute, from the report's (k-safe) mixing matrices."""
    made = []
    for name, section in sorted(report.get("attributes", {}).items()):
        values, matrix = fold_small_groups(list(section["mixing"]["values"]), section["mixing"]["matrix"])
        largest = max((c for row in matrix for c in row), default=0)
        rows = [
            (value, [HeatCell(int(c), heat_level(int(c), largest)) for c in matrix[i]])
            for i, value in enumerate(values)
        ]
        made.append(Heatmap(name, values, rows, section.get("assortativity"), section.get("ei_index"),
                            int(section.get("members_with_value", 0))))
    return made


def fold_small_groups(values: list[str], matrix: list[list[int]]) -> tuple[list[str], list[list[int]]]:
    """At most ``HEATMAP_GROUPS`` rows: the report lists groups largest first, so the tail is
    summed into one row and column (a sum of groups is never smaller than any of them)."""
    if len(values) <= HEATMAP_GROUPS:
        return values, matrix
    keep = HEATMAP_GROUPS - 1
    ties = np.asarray(matrix, dtype=np.int64)
    folded = np.zeros((HEATMAP_GROUPS, HEATMAP_GROUPS), dtype=np.int64)
    folded[:keep, :keep] = ties[:keep, :keep]
    folded[:keep, keep] = ties[:keep, keep:].sum(axis=1)
    folded[keep, :keep] = ties[keep:, :keep].sum(axis=0)
    # Ties inside the folded tail: those between two of its groups count once, like the diagonal.
    tail = ties[keep:, keep:]
    folded[keep, keep] = int(np.triu(tail).sum())
    return values[:keep] + [f"{len(values) - keep} smaller groups"], folded.tolist()


def heat_level(count: int, largest: int) -> int:
    if count <= 0 or largest <= 0:
        return 0
    return max(1, math.ceil(HEAT_LEVELS * count / largest))


def community_legend(picture: NetworkPicture, report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per colour in the picture: label, colour class, members in all, members drawn."""
    sizes = report["communities"]["sizes"]
    entries: dict[str, dict[str, Any]] = {}
    for member in picture.members:
        key = member.colour_class
        if key not in entries:
            if member.community is None:
                label, size = "No ties (isolated)", picture.total_isolates
            elif key == "c-other":
                label, size = "Smaller communities", None
            else:
                label = f"Community {member.community + 1}"
                size = sizes[member.community] if member.community < len(sizes) else None
            entries[key] = {"order": _legend_order(member.community, key), "label": label, "colour_class": key,
                            "members": size, "drawn": 0}
        entries[key]["drawn"] += 1
    return sorted(entries.values(), key=lambda e: e["order"])


def _legend_order(community: int | None, key: str) -> float:
    """Named communities by number, then the smaller ones together, then the isolated members."""
    if community is None:
        return math.inf
    return float(community) if key != "c-other" else float(COLOURS)


def picture_summary(picture: NetworkPicture, report: Mapping[str, Any]) -> str:
    """A sentence saying what the picture shows, for everyone and for screen readers."""
    communities = report["communities"]
    sizes = ", ".join(f"{s:,}" for s in communities["sizes"][:5])
    more = " and smaller ones" if communities["count"] > 5 else ""
    shape = (f"Members with ties fall into {communities['count']:,} detected communities"
             f" (largest: {sizes}{more}); {picture.total_isolates:,} members have no ties.")
    if not picture.sampled:
        return f"Showing all {picture.total_members:,} members. {shape}"
    if picture.shown_isolates == picture.total_isolates:
        lonely = f"all {picture.total_isolates:,} isolated members"
    else:
        lonely = f"{picture.shown_isolates:,} of the {picture.total_isolates:,} isolated members"
    return (f"Showing a sample of {len(picture.members):,} of {picture.total_members:,} members: {lonely}, and "
            f"groups of members from the {picture.communities_drawn:,} largest communities, in proportion to their "
            f"size. {shape}")


def history_series(snapshots: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Headlines of stored snapshots as chart series, oldest first."""
    return {
        "labels": [format_time(s["created_at"]) for s in snapshots],
        "isolates": [s["isolates"] for s in snapshots],
        "components": [s["components"] for s in snapshots],
        "modularity": [s["modularity"] for s in snapshots],
        "members": [s["members"] for s in snapshots],
    }


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- "Is it working?" ----------------------------------------------------------------------------

#: Columns of the weekly CSV, with the count each one reads.
IMPACT_COLUMNS = (
    ("suggestions_shown", "shown"), ("suggestions_accepted", "accepted"), ("suggestions_declined", "declined"),
    ("rounds_held", "round"), ("round_pairs", "pair"), ("pairs_met", "met"), ("pairs_not_met", "not_met"),
    ("pairs_skipped", "skipped"), ("members_joined", "joined"), ("members_first_tie", "first_tie"),
)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def _count(number: int, one: str, many: str) -> str:
    return f"{number:,} {one if number == 1 else many}"


def impact_cards(figures: Mapping[str, Any]) -> list[Card]:
    """The four answers to "is it working?" over the window, each with what it is out of."""
    s, r, n, left = (figures["suggestions"], figures["rounds"], figures["new_members"], figures["left_isolation"])
    answered = r["met"] + r["not_met"] + r["skipped"]
    median = n["median_days_to_first_tie"]
    routes = left["by_route"]
    return [
        Card("accepted", "Suggestions accepted", f"{s['accepted']:,}",
             f"of {_count(s['shown'], 'suggestion', 'suggestions')} shown ({_share(s['accepted'], s['shown'])})"),
        Card("met", "Intro pairs who met", f"{r['met']:,}",
             f"of {_count(answered, 'pair', 'pairs')} answered ({_share(r['met'], answered)});"
             f" {_count(r['held'], 'round', 'rounds')} held"),
        Card("new_members", "New members with a tie within 14 days",
             f"{n['share_with_tie_within_14_days']:.0%}" if n["joined"] else "n/a",
             f"of {_count(n['joined'], 'member', 'members')} who joined"
             + ("" if median is None else f"; median {median:.1f} days to a first tie")),
        Card("left_isolation", "Members who made a first tie", f"{left['total']:,}",
             f"{routes['suggestion']:,} through suggestions, {routes['round']:,} through rounds,"
             f" {routes['group']:,} through groups, {routes['other']:,} otherwise"),
    ]


def impact_groups(report: Mapping[str, Any]) -> list[tuple[str, list[ImpactGroupRow]]]:
    """Per attribute, a row per group of the (k-safe) impact report."""
    made = []
    for name, groups in sorted(report["attributes"].items()):
        rows = []
        for value, f in groups.items():
            s, r = f["suggestions"], f["rounds"]
            answered = r["met"] + r["not_met"] + r["skipped"]
            rows.append(ImpactGroupRow(value, s["shown"], _share(s["accepted"], s["shown"]), r["pairs"],
                                       _share(r["met"], answered), f["new_members"]["joined"],
                                       f["left_isolation"]["total"]))
        made.append((name, rows))
    return made


def week_label(week: Week) -> str:
    return f"{week.starts:%d %b} – {week.ends:%d %b %Y}"


def impact_series(weeks: Sequence[Week]) -> dict[str, list[Any]]:
    """Weekly counts as chart series, oldest first."""
    return {
        "labels": [f"{w.starts:%d %b}" for w in weeks],
        "accepted": [w.counts["accepted"] for w in weeks],
        "met": [w.counts["met"] for w in weeks],
        "first_tie": [w.counts["first_tie"] for w in weeks],
        "joined": [w.counts["joined"] for w in weeks],
    }


def impact_csv_rows(weeks: Sequence[Week]) -> list[list[object]]:
    rows: list[list[object]] = [["week_starts", "week_ends", *(column for column, _ in IMPACT_COLUMNS)]]
    for w in weeks:
        rows.append([w.starts.isoformat(), w.ends.isoformat(), *(w.counts[what] for _, what in IMPACT_COLUMNS)])
    return rows
