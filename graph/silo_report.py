"""The silo report: every fragmentation metric of a community in one JSON-ready dict.

Privacy: attribute groups with fewer than ``min_group_size`` (k) members are never broken out.
Their members are pooled into one group named ``other`` wherever groups are listed (group E-I,
mixing matrix, community make-up, belonging); a pool itself smaller than k is not shown either
(its members are counted in ``members_not_broken_out``). Single numbers over a whole attribute (assortativity,
overall E-I, NMI) use the real values, since they reveal nothing about any one group. Belonging
means are shown only for groups with at least k rated members, and community make-up only for
communities of at least k members.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from belonging.graph.at_risk import AT_RISK_REASONS, at_risk_positions
from belonging.graph.belonging import belonging_scores as scores_by_member
from belonging.graph.belonging import mean_score_by_group, member_positions
from belonging.graph.brokers import betweenness_centrality
from belonging.graph.clustering import average_clustering
from belonging.graph.communities import (
    leiden_communities,
    modularity,
    nmi_of_codes,
    shares_of_codes,
)
from belonging.graph.community_graph import CommunityGraph, symmetric_adjacency
from belonging.graph.components import articulation_points, bridges, component_labels, density, isolates
from belonging.graph.mixing import (
    OTHER,
    assortativity_of_counts,
    attribute_codes,
    attribute_column,
    ei_index_of_counts,
    merge_small_groups,
    tie_counts_of_codes,
)
from belonging.graph.ties import keep_igraph

#: Betweenness is exact while ``members * (members + ties)`` stays within this many steps
#: (a second or two in igraph); above it, that many steps' worth of pivots are sampled.
BETWEENNESS_BUDGET = 30_000_000
MIN_BETWEENNESS_PIVOTS = 32
#: How many component and community sizes, and communities' make-up, a report lists.
LISTED_SIZES = 10


def silo_report(
    graph: CommunityGraph,
    attributes: Iterable[str] = (),
    *,
    min_group_size: int = 5,
    include_members: bool = False,
    belonging_scores: Mapping[str, float | None] | Sequence[float | None] | None = None,
    seed: int = 0,
    top_brokers: int = 10,
    betweenness_pivots: int | None = None,
) -> dict[str, Any]:
    """Fragmentation and silo metrics of a community, ready to serialise as JSON.

    Parameters
    ----------
    graph : CommunityGraph
    attributes : iterable of str
        Attributes to measure silos on; an unknown name raises ``ValueError``.
    min_group_size : int
        k: smaller attribute groups are pooled as ``other`` (see the module docstring).
    include_members : bool
        Add each member's community under ``communities.members``.
    belonging_scores : mapping or sequence, optional
        Members' belonging ratings (``{member_id: score}`` or one per member); adds
        ``belonging``.
    seed : int
        Seeds community detection and the choice of betweenness pivots.
    top_brokers : int
        How many brokers to list.
    betweenness_pivots : int, optional
        Estimate betweenness from this many pivots; default exact for small communities and
        sampled within :data:`BETWEENNESS_BUDGET` for large ones.

    Returns
    -------
    dict
        Undefined numbers (such as assortativity with a single group) are None::

            {
              "members": int, "connections": int, "density": float,
              "average_clustering": float | None,
              "components": {"count": int, "largest_share": float | None, "sizes": [int]},
              "isolates": {"count": int, "member_ids": [str]},
              "communities": {"count": int, "modularity": float | None, "sizes": [int],
                              "singletons": int, "algorithm": "leiden",
                              "members": {member_id: int}},      # with include_members
              "articulation_points": {"count": int, "member_ids": [str]},
              "bridges": {"count": int, "ties": [[str, str]]},
              "brokers": [{"member_id": str, "betweenness": float}],
              "at_risk": [{"member_id": str, "reason": str, "via": str | None}],
              "attributes": {NAME: {
                  "members_with_value": int, "ties_with_values": int,
                  "assortativity": float | None, "ei_index": float | None,
                  "groups": [{"value": str, "members": int, "internal_ties": int,
                              "external_ties": int, "ei_index": float | None}],
                  "mixing": {"values": [str], "matrix": [[int]]},
                  "communities_by_value": [{"community": int, "members": int,
                                            "members_with_value": int,
                                            "shares": {value: float}}],
                  "nmi": float | None}},
              "belonging": {...},                               # with belonging_scores
              "parameters": {"min_group_size": int, "seed": int,
                             "betweenness_pivots": int | None},
            }

        ``components.count`` counts isolated members as components; ``communities.count``
        counts communities of two or more members (``singletons`` are the isolated members'
        own communities) and ``sizes`` lists the largest. Community numbers are 0 for the
        largest. ``mixing.matrix[i][j]`` is the number of ties between groups ``i`` and ``j``,
        each tie counted once (the diagonal holds ties inside a group; networkx's mixing matrix
        counts those twice). ``at_risk`` reasons are those of :mod:`graph.at_risk`.
        ``belonging`` holds ``members_scored``, ``mean`` and lists ``by_position``,
        ``by_community`` and ``by_attribute[NAME]`` of ``{GROUP, "members_scored", "mean"}``.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abcdef"),
    ...     [("a", "b"), ("b", "c"), ("c", "a"), ("d", "e"), ("e", "f"), ("f", "d"), ("c", "d")],
    ...     {"team": {m: ("x" if m in "abc" else "y") for m in "abcdef"}},
    ... )
    >>> report = silo_report(g, ["team"], min_group_size=3)
    >>> report["bridges"], report["attributes"]["team"]["ei_index"]
    ({'count': 1, 'ties': [['c', 'd']]}, -0.7142857142857143)

    Notes
    -----
    Dominated by Leiden (about linear in ties per pass) and betweenness (O(pivots * ties),
    kept within :data:`BETWEENNESS_BUDGET`); about four seconds of CPU on one core for 100k
    members and 1M ties. The report runs inside :func:`keep_igraph`, so the igraph view, the tie
    arrays, the components and the biconnected blocks are each computed once for all of it.
    """
    if isinstance(attributes, str):
        attributes = [attributes]
    # Small groups pooled as ``other`` (or left out), by attribute name.
    merged = {
        name: merge_small_groups(attribute_column(graph, name), min_group_size=min_group_size)
        for name in dict.fromkeys(attributes)
    }
    n = graph.number_of_members
    n_ties = graph.number_of_ties

    pivots = betweenness_pivots
    if pivots is None:
        pivots = default_betweenness_pivots(n, n_ties)
    if pivots is not None and pivots >= n:
        pivots = None

    # Leiden, clustering, betweenness, cut points, bridges and the core share one igraph view,
    # and every metric shares the tie arrays, the components and the biconnected blocks.
    with keep_igraph(graph):
        report, membership = _graph_sections(
            graph,
            merged,
            pivots=pivots,
            seed=seed,
            min_group_size=min_group_size,
            top_brokers=top_brokers,
        )
        if include_members:
            members = dict(zip(graph.member_ids, membership.tolist(), strict=True))
            report["communities"]["members"] = members
        if belonging_scores is not None:
            ratings = scores_by_member(graph, belonging_scores)
            report["belonging"] = _belonging_section(
                graph, ratings, membership, merged, min_group_size
            )
    report["parameters"] = {
        "min_group_size": min_group_size,
        "seed": seed,
        "betweenness_pivots": pivots,
    }
    return report


def compare_reports(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Headline differences between two silo reports, such as before and after a what-if.

    Returns
    -------
    dict
        ``deltas``: ``{metric: {"before", "after", "delta"}}`` for the headline numbers
        (dotted names such as ``components.count`` and ``attributes.NAME.ei_index``; ``delta``
        is None when either side is); ``no_longer_isolated`` and ``newly_isolated``: member ids;
        ``no_longer_at_risk`` and ``newly_at_risk``: member ids.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [("a", "b")])
    >>> change = compare_reports(silo_report(g), silo_report(with_added_ties(g, [("b", "c")])))
    >>> change["deltas"]["isolates.count"], change["no_longer_isolated"]
    ({'before': 1, 'after': 0, 'delta': -1}, ['c'])

    Notes
    -----
    O(size of the reports).
    """
    paths = [
        ("members",),
        ("connections",),
        ("density",),
        ("average_clustering",),
        ("components", "count"),
        ("components", "largest_share"),
        ("isolates", "count"),
        ("communities", "count"),
        ("communities", "modularity"),
        ("articulation_points", "count"),
        ("bridges", "count"),
    ]
    shared = [name for name in before.get("attributes", {}) if name in after.get("attributes", {})]
    for name in shared:
        paths += [("attributes", name, "assortativity"), ("attributes", name, "ei_index")]
    deltas = {".".join(path): _delta(_lookup(before, path), _lookup(after, path)) for path in paths}
    deltas["at_risk.count"] = _delta(len(before["at_risk"]), len(after["at_risk"]))

    isolated_before = set(before["isolates"]["member_ids"])
    isolated_after = set(after["isolates"]["member_ids"])
    at_risk_before = {member["member_id"] for member in before["at_risk"]}
    at_risk_after = {member["member_id"] for member in after["at_risk"]}
    return {
        "deltas": deltas,
        "no_longer_isolated": sorted(isolated_before - isolated_after),
        "newly_isolated": sorted(isolated_after - isolated_before),
        "no_longer_at_risk": sorted(at_risk_before - at_risk_after),
        "newly_at_risk": sorted(at_risk_after - at_risk_before),
    }


def with_added_ties(
    graph: CommunityGraph, ties: Iterable[tuple[str, str] | tuple[str, str, float]]
) -> CommunityGraph:
    """A copy of the community with extra ties, for what-if reports.

    Parameters
    ----------
    graph : CommunityGraph
        Left unchanged.
    ties : iterable of ``(member, member)`` or ``(member, member, weight)``
        Weight 1 when not given. A tie that already exists keeps the larger of its two weights.

    Raises
    ------
    KeyError
        A tie names an unknown member.
    ValueError
        A tie joins a member to themselves, or has a weight that is not positive.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [("a", "b", 2.0)])
    >>> h = with_added_ties(g, [("b", "c"), ("b", "a", 1.0)])
    >>> h.number_of_ties, h.adjacency[[0], [1]].tolist(), g.number_of_ties
    (2, [2.0], 1)

    Notes
    -----
    O(members + ties + added ties).
    """
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    for tie in ties:
        a, b = tie[0], tie[1]
        for member in (a, b):
            if member not in graph.position:
                raise KeyError(f"unknown member {member!r}")
        if a == b:
            raise ValueError(f"a tie needs two different members, got {a!r} twice")
        weight = float(tie[2]) if len(tie) > 2 else 1.0
        if not weight > 0:
            raise ValueError(f"tie weight must be positive, got {weight} for {a!r}-{b!r}")
        i, j = graph.position[a], graph.position[b]
        rows.append(min(i, j))
        cols.append(max(i, j))
        weights.append(weight)
    added = symmetric_adjacency(
        graph.number_of_members,
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(weights, dtype=np.float32),
    )
    combined = graph.adjacency.maximum(added).tocsr()
    combined.sort_indices()
    combined.indices = combined.indices.astype(np.int32, copy=False)
    combined.indptr = combined.indptr.astype(np.int32, copy=False)
    attributes = {name: list(values) for name, values in graph.attributes.items()}
    return CommunityGraph(list(graph.member_ids), combined, attributes)


def default_betweenness_pivots(n_members: int, n_ties: int) -> int | None:
    """How many betweenness pivots a report uses: None (exact) or a sample within the budget.

    Exact while ``members * (members + ties)`` stays within :data:`BETWEENNESS_BUDGET`; above,
    as many pivots as the budget pays for, at least :data:`MIN_BETWEENNESS_PIVOTS`.

    Examples
    --------
    >>> default_betweenness_pivots(1_000, 20_000) is None
    True
    >>> default_betweenness_pivots(100_000, 1_000_000)
    32

    Notes
    -----
    O(1).
    """
    steps_per_source = n_members + n_ties
    if n_members * steps_per_source <= BETWEENNESS_BUDGET:
        return None
    return min(n_members, max(MIN_BETWEENNESS_PIVOTS, BETWEENNESS_BUDGET // steps_per_source))


def _graph_sections(
    graph: CommunityGraph,
    merged: Mapping[str, Sequence[str | None]],
    *,
    pivots: int | None,
    seed: int,
    min_group_size: int,
    top_brokers: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """The report's sections from the graph and attributes, and the community of each member."""
    n = graph.number_of_members
    n_ties = graph.number_of_ties
    empty = np.zeros(0, dtype=np.int64)
    membership = leiden_communities(graph, seed=seed)
    clustering = average_clustering(graph)
    scores = betweenness_centrality(graph, k=pivots, seed=seed)
    cut_points = articulation_points(graph)
    bridge_ties = bridges(graph)
    at_risk = _at_risk_section(graph)
    component_sizes = np.bincount(component_labels(graph)) if n else empty
    community_sizes = np.bincount(membership) if n else empty
    lonely = isolates(graph)
    communities: dict[str, Any] = {
        "count": int(np.count_nonzero(community_sizes >= 2)),
        "modularity": _number(modularity(graph, membership)),
        "sizes": [int(s) for s in community_sizes[community_sizes >= 2][:LISTED_SIZES]],
        "singletons": int(np.count_nonzero(community_sizes == 1)),
        "algorithm": "leiden",
    }
    report: dict[str, Any] = {
        "members": n,
        "connections": n_ties,
        "density": density(graph),
        "average_clustering": _number(clustering),
        "components": {
            "count": len(component_sizes),
            "largest_share": _number(component_sizes[0] / n) if n else None,
            "sizes": [int(s) for s in component_sizes[:LISTED_SIZES]],
        },
        "isolates": {"count": len(lonely), "member_ids": lonely},
        "communities": communities,
        "articulation_points": {"count": len(cut_points), "member_ids": cut_points},
        "bridges": {"count": len(bridge_ties), "ties": [[a, b] for a, b in bridge_ties]},
        "brokers": [
            {"member_id": graph.member_ids[i], "betweenness": float(scores[i])}
            for i in np.argsort(-scores, kind="stable")[:top_brokers].tolist()
            if scores[i] > 0
        ],
        "at_risk": at_risk,
        "attributes": {
            name: _attribute_section(
                graph, attribute_column(graph, name), column, membership, min_group_size
            )
            for name, column in merged.items()
        },
    }
    return report, membership


def _at_risk_section(graph: CommunityGraph) -> list[dict[str, str | None]]:
    """``at_risk_members`` as dicts, built from positions without a tuple per member."""
    order, reason, via = at_risk_positions(graph)
    ids = graph.member_ids
    return [
        {
            "member_id": ids[i],
            "reason": AT_RISK_REASONS[r],
            "via": ids[v] if v >= 0 else None,
        }
        for i, r, v in zip(order.tolist(), reason[order].tolist(), via[order].tolist(), strict=True)
    ]


def _attribute_section(
    graph: CommunityGraph,
    column: Sequence[str | None],
    merged: Sequence[str | None],
    membership: np.ndarray,
    min_group_size: int,
) -> dict[str, Any]:
    groups = _group_order(merged)
    merged_codes, _ = attribute_codes(graph, merged, values=groups)
    ties = tie_counts_of_codes(graph, merged_codes, len(groups))
    has_value = merged_codes >= 0
    member_counts = np.bincount(merged_codes[has_value], minlength=len(groups))
    internal = np.diag(ties)
    external = ties.sum(axis=1) - internal
    group_rows = [
        {
            "value": value,
            "members": int(member_counts[i]),
            "internal_ties": int(internal[i]),
            "external_ties": int(external[i]),
            "ei_index": _ratio(int(external[i]) - int(internal[i]), int(external[i] + internal[i])),
        }
        for i, value in enumerate(groups)
    ]

    community_sizes = np.bincount(membership) if len(membership) else np.zeros(0, dtype=np.int64)
    shown = np.flatnonzero(community_sizes >= min_group_size)[:LISTED_SIZES].tolist()
    shares = shares_of_codes(membership, merged_codes, len(groups))
    with_value = np.bincount(membership[has_value], minlength=len(community_sizes))
    by_community = [
        {
            "community": c,
            "members": int(community_sizes[c]),
            "members_with_value": int(with_value[c]),
            "shares": {
                value: float(shares[c, i])
                for i, value in enumerate(groups)
                if with_value[c] and shares[c, i] > 0
            },
        }
        for c in shown
    ]
    # Assortativity, E-I index and NMI over the real values (sorted), not the pooled ones.
    codes, values = attribute_codes(graph, column)
    value_ties = tie_counts_of_codes(graph, codes, len(values))
    had_value = codes >= 0
    return {
        "members_with_value": int(had_value.sum()),
        # Members whose value is held by too few others to show, even pooled.
        "members_not_broken_out": int((had_value & ~has_value).sum()),
        "ties_with_values": int(np.triu(ties).sum()),
        "assortativity": _number(assortativity_of_counts(value_ties)),
        "ei_index": _number(ei_index_of_counts(value_ties)),
        "groups": group_rows,
        "mixing": {"values": groups, "matrix": ties.tolist()},
        "communities_by_value": by_community,
        "nmi": _number(nmi_of_codes(membership, codes)),
    }


def _belonging_section(
    graph: CommunityGraph,
    scores: np.ndarray,
    membership: np.ndarray,
    merged: Mapping[str, Sequence[str | None]],
    min_group_size: int,
) -> dict[str, Any]:
    rated = scores[~np.isnan(scores)]
    by_attribute = {}
    for name, column in merged.items():
        by_attribute[name] = [
            {"value": value, "members_scored": count, "mean": mean}
            for value, count, mean in mean_score_by_group(
                scores, column, min_group_size=min_group_size, order=_group_order(column)
            )
        ]
    return {
        "members_scored": len(rated),
        "mean": float(rated.mean()) if len(rated) >= min_group_size and len(rated) else None,
        "by_position": [
            {"position": position, "members_scored": count, "mean": mean}
            for position, count, mean in mean_score_by_group(
                scores,
                member_positions(graph),
                min_group_size=min_group_size,
                order=("isolated", "one_tie", "well_connected"),
            )
        ],
        "by_community": [
            {"community": community, "members_scored": count, "mean": mean}
            for community, count, mean in mean_score_by_group(
                scores,
                membership,
                min_group_size=min_group_size,
                order=range(int(membership.max()) + 1 if len(membership) else 0),
            )
        ],
        "by_attribute": by_attribute,
    }


def _group_order(values: Sequence[str | None]) -> list[str]:
    """Groups by member count (largest first, then by name), with ``other`` last."""
    counts = Counter(value for value in values if value is not None)
    named = sorted((value for value in counts if value != OTHER), key=lambda v: (-counts[v], v))
    return named + ([OTHER] if OTHER in counts else [])


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _number(value: float) -> float | None:
    """A plain float, or None for nan and infinities (which JSON cannot carry)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _delta(before: Any, after: Any) -> dict[str, Any]:
    change = None if before is None or after is None else after - before
    return {"before": before, "after": after, "delta": change}


def _lookup(report: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = report
    for key in path:
        value = value[key]
    return value
