"""What the silo report routes answer: the report, its history points and what-if comparisons.

The shape is that of :func:`belonging.graph.silo_report.silo_report` (read its docstring for how
each number is computed). Attribute groups smaller than k are pooled as ``other`` or left out,
so nothing here breaks out a small group.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from belonging.service.schemas import Absent, sometimes

Share = float | None


class Count(BaseModel):
    count: int = Field(description="How many.")


class Components(BaseModel):
    count: int = Field(description="Connected components, isolated members included.")
    largest_share: Share = Field(description="Share of members in the largest component; null with no members.")
    sizes: list[int] = Field(description="Sizes of the largest components, largest first (at most 10).")


class Isolates(BaseModel):
    count: int = Field(description="Members with no ties.")
    member_ids: list[str] = Field(description="Who they are.")


class Communities(BaseModel):
    count: int = Field(description="Communities (Leiden) of two or more members.")
    modularity: Share = Field(description="Modularity of the partition; null when undefined (no ties).")
    sizes: list[int] = Field(description="Sizes of the largest communities, largest first (at most 10).")
    singletons: int = Field(description="Members in a community of their own (isolated members).")
    algorithm: str = Field(description="How communities were found: `leiden`.")
    members: dict[str, int] | Absent = sometimes(
        "With `include=members`: each member's community number (0 for the largest).")


class CommunityNumbers(BaseModel):
    """The communities section without member ids, as stored in history and compared by what-if."""

    count: int = Field(description="Communities (Leiden) of two or more members.")
    modularity: Share = Field(description="Modularity of the partition; null when undefined (no ties).")
    sizes: list[int] = Field(description="Sizes of the largest communities, largest first (at most 10).")
    singletons: int = Field(description="Members in a community of their own (isolated members).")
    algorithm: str = Field(description="How communities were found: `leiden`.")


class ArticulationPoints(BaseModel):
    count: int = Field(description="Members whose leaving would split their component.")
    member_ids: list[str] = Field(description="Who they are.")


class Bridges(BaseModel):
    count: int = Field(description="Ties whose loss would split their component.")
    ties: list[list[str]] = Field(description="Each bridge as the pair of members it joins.")


class Broker(BaseModel):
    member_id: str = Field(description="A member many shortest paths run through.")
    betweenness: float = Field(description="Normalised betweenness centrality.")


class AtRiskMember(BaseModel):
    member_id: str = Field(description="A member at risk of losing their place in the community.")
    reason: str = Field(description="`isolated`, `one_tie`, `outside_main_component` or `through_one_member`.")
    via: str | None = Field(description="With `through_one_member`: the member they depend on.")


class AttributeGroup(BaseModel):
    value: str = Field(description="The attribute value, or `other` for small groups pooled together.")
    members: int = Field(description="Members with this value.")
    internal_ties: int = Field(description="Ties between two members of the group.")
    external_ties: int = Field(description="Ties from the group to members with another value.")
    ei_index: Share = Field(description="(external - internal) / all ties of the group; -1 closed, 1 open.")


class Mixing(BaseModel):
    values: list[str] = Field(description="The groups, in the order of the matrix rows and columns.")
    matrix: list[list[int]] = Field(description="Ties between groups i and j, each counted once.")


class CommunityByValue(BaseModel):
    community: int = Field(description="A community of at least k members (0 is the largest).")
    members: int = Field(description="Its members.")
    members_with_value: int = Field(description="Its members with a value for the attribute.")
    shares: dict[str, float] = Field(description="Share of each group among them (groups with none left out).")


class AttributeSection(BaseModel):
    """Silo metrics over one attribute, over the ties whose two members both have a value."""

    members_with_value: int = Field(description="Members with a value for the attribute.")
    members_not_broken_out: int = Field(description="Members whose value is held by too few to show, even pooled.")
    ties_with_values: int = Field(description="Ties whose two members both have a value.")
    assortativity: Share = Field(description="Attribute assortativity, -1 to 1; null when undefined.")
    ei_index: Share = Field(description="Krackhardt's E-I index over all groups, -1 (closed) to 1 (open).")
    groups: list[AttributeGroup] = Field(description="Each group shown, largest first, `other` last.")
    mixing: Mixing = Field(description="Group-to-group tie counts.")
    communities_by_value: list[CommunityByValue] = Field(description="The make-up of the largest communities.")
    nmi: Share = Field(description="Normalised mutual information between communities and values.")


class AttributeNumbers(BaseModel):
    assortativity: Share = Field(description="Attribute assortativity, -1 to 1; null when undefined.")
    ei_index: Share = Field(description="Krackhardt's E-I index, -1 (closed) to 1 (open).")


class BelongingByPosition(BaseModel):
    position: Literal["isolated", "one_tie", "well_connected"] = Field(description="Where members stand.")
    members_scored: int = Field(description="Members there with a belonging rating.")
    mean: float = Field(description="Their mean rating (1 to 5).")


class BelongingByCommunity(BaseModel):
    community: int = Field(description="A community number.")
    members_scored: int = Field(description="Its members with a belonging rating.")
    mean: float = Field(description="Their mean rating (1 to 5).")


class BelongingByValue(BaseModel):
    value: str = Field(description="An attribute value, or `other`.")
    members_scored: int = Field(description="Members with it and a belonging rating.")
    mean: float = Field(description="Their mean rating (1 to 5).")


class Belonging(BaseModel):
    """Members' own belonging ratings by position, community and attribute; only groups of k or more rated."""

    members_scored: int = Field(description="Members with a belonging rating.")
    mean: Share = Field(description="Their mean rating; null with fewer than k rated.")
    by_position: list[BelongingByPosition] = Field(description="Isolated, one-tie and well-connected members.")
    by_community: list[BelongingByCommunity] = Field(description="By community.")
    by_attribute: dict[str, list[BelongingByValue]] = Field(description="By each attribute's values.")


class ReportParameters(BaseModel):
    min_group_size: int = Field(description="k: groups smaller than this are never broken out.")
    seed: int = Field(description="Seed of community detection and betweenness sampling.")
    betweenness_pivots: int | None = Field(description="Pivots betweenness was estimated from; null when exact.")


class SiloReport(BaseModel):
    """Fragmentation and silo metrics of a community."""

    members: int = Field(description="Members.")
    connections: int = Field(description="Ties.")
    density: float = Field(description="Ties over possible ties.")
    average_clustering: Share = Field(description="Mean local clustering coefficient.")
    components: Components = Field(description="Connected components.")
    isolates: Isolates = Field(description="Members with no ties.")
    communities: Communities = Field(description="Communities found in the ties.")
    articulation_points: ArticulationPoints = Field(description="Members who hold their component together.")
    bridges: Bridges = Field(description="Ties that hold their component together.")
    brokers: list[Broker] = Field(description="Members with the highest betweenness (at most 10).")
    at_risk: list[AtRiskMember] = Field(description="Members at risk, and why.")
    attributes: dict[str, AttributeSection] = Field(description="Silo metrics per attribute asked for.")
    belonging: Belonging = Field(description="Belonging ratings by position, community and attribute.")
    parameters: ReportParameters = Field(description="What the report was computed with.")


class SiloNumbers(BaseModel):
    """The report's numbers without member ids: what a snapshot keeps and what a what-if compares."""

    members: int = Field(description="Members.")
    connections: int = Field(description="Ties.")
    density: float = Field(description="Ties over possible ties.")
    average_clustering: Share = Field(description="Mean local clustering coefficient.")
    components: Components = Field(description="Connected components.")
    isolates: Count = Field(description="Members with no ties.")
    communities: CommunityNumbers = Field(description="Communities found in the ties.")
    articulation_points: Count = Field(description="Members who hold their component together.")
    bridges: Count = Field(description="Ties that hold their component together.")
    at_risk: Count = Field(description="Members at risk.")
    attributes: dict[str, AttributeSection] = Field(description="Silo metrics per attribute.")
    belonging: Belonging = Field(description="Belonging ratings by position, community and attribute.")
    parameters: ReportParameters = Field(description="What the report was computed with.")


class SnapshotPoint(BaseModel):
    """One stored snapshot: the numbers behind a point of the trend charts."""

    snapshot_id: int = Field(description="The snapshot's id, increasing over time.")
    created_at: datetime = Field(description="When it was taken.")
    kind: str = Field(description="`on_demand` (asked for) or `daily` (the daily job).")
    members: int = Field(description="Members.")
    connections: int = Field(description="Ties.")
    density: float = Field(description="Ties over possible ties.")
    components: int = Field(description="Connected components, isolated members included.")
    largest_share: Share = Field(description="Share of members in the largest component.")
    isolates: int = Field(description="Members with no ties.")
    communities: int = Field(description="Communities of two or more members.")
    modularity: Share = Field(description="Modularity of the communities.")
    at_risk: int = Field(description="Members at risk.")
    attributes: dict[str, AttributeNumbers] = Field(description="Per attribute: assortativity and E-I index.")


class SiloHistory(BaseModel):
    snapshots: list[SnapshotPoint] = Field(description="Stored snapshots, oldest first.")


class AddedTie(BaseModel):
    a: str = Field(description="One member.")
    b: str = Field(description="The other member.")
    weight: float = Field(description="Strength of the tie.")


class Delta(BaseModel):
    before: int | float | None = Field(description="The number before; null when undefined.")
    after: int | float | None = Field(description="The number after; null when undefined.")
    delta: int | float | None = Field(description="after - before; null when either is.")


class WhatIf(BaseModel):
    """The report's numbers before and after the proposed ties."""

    added_ties: list[AddedTie] = Field(description="The ties added, proposed and from accepted top suggestions.")
    before: SiloNumbers = Field(description="The community as it is.")
    after: SiloNumbers = Field(description="The community with the ties added.")
    deltas: dict[str, Delta] = Field(
        description="Headline numbers by dotted name (`components.count`, `attributes.NAME.ei_index`).")
    no_longer_isolated: list[str] = Field(description="Members the added ties connect.")
    newly_isolated: list[str] = Field(description="Members isolated after but not before (none when only adding).")


class SuggestionImpact(BaseModel):
    shown: int = Field(description="Suggestions shown in the window (rows created in it; round intros not included).")
    accepted: int = Field(description="Suggestions accepted in the window, whenever they were shown.")
    declined: int = Field(description="Suggestions declined in the window, whenever they were shown.")
    acceptance_rate: float = Field(description="`accepted` / `shown`; 0 when none were shown.")


class RoundImpact(BaseModel):
    held: int = Field(description="Intro rounds created in the window.")
    pairs: int = Field(description="Pairs (or trios) introduced by those rounds.")
    met: int = Field(description="Of those pairs, how many answered `met` (whenever answered).")
    not_met: int = Field(description="Of those pairs, how many answered `not_met`.")
    skipped: int = Field(description="Of those pairs, how many answered `skipped`.")
    met_rate: float = Field(description="`met` / answered (`met` + `not_met` + `skipped`); 0 when none answered.")


class NewMemberImpact(BaseModel):
    joined: int = Field(description="Members who joined in the window (and are still members).")
    median_days_to_first_tie: float | None = Field(
        description="Over those who joined and have a tie: median days from joining to their first tie; "
                    "null when none has one.")
    share_with_tie_within_14_days: float = Field(
        description="Share of those who joined whose first tie came within 14 days of joining; 0 when none joined.")


class RouteCounts(BaseModel):
    suggestion: int = Field(description="First tie made by accepting a suggestion (tie kind `suggested`).")
    round: int = Field(description="First tie made by meeting in an intro round (tie kind `round`).")
    group: int = Field(description="First tie made in a support group. No tie kind marks group ties yet, "
                                   "so this is always 0.")
    other: int = Field(description="First tie of any other kind, or of none (recorded or imported by the platform).")


class LeftIsolation(BaseModel):
    total: int = Field(description="Members whose first tie (the earliest tie they still have) was made in the window.")
    by_route: RouteCounts = Field(description="The same members by how their first tie was made.")


class ImpactFigures(BaseModel):
    suggestions: SuggestionImpact = Field(description="Suggestions shown and answered.")
    rounds: RoundImpact = Field(description="Intro rounds held and what came of their pairs.")
    new_members: NewMemberImpact = Field(description="Members who joined, and how soon they found a first tie.")
    left_isolation: LeftIsolation = Field(description="Members who made their first tie.")


class ImpactReport(ImpactFigures):
    since: date = Field(description="First day of the window (UTC), included.")
    until: date = Field(description="Last day of the window (UTC), included.")
    min_group_size: int = Field(description="k: attribute groups smaller than this are never broken out.")
    attributes: dict[str, dict[str, ImpactFigures]] = Field(
        description="Per attribute asked for, the same figures per group of members holding each value. Groups "
                    "smaller than k are pooled as `other` (or left out when the pool is smaller than k too). "
                    "Suggestions count for the member they were shown to; round figures count the pairs "
                    "with a member in the group, and the rounds those pairs were in.")
