"""Members at risk of dropping out: those hanging on by a thread, or not at all.

The *core* of a community is the largest biconnected block of its largest connected component:
the biggest set of members in which everyone stays reachable when any one member leaves. A member
is at risk, for the first reason that applies, when they are

``isolated``
    without any tie;
``one_tie``
    with exactly one tie (losing it isolates them);
``outside_main_component``
    in a connected component other than the largest one (cut off from most of the community);
``through_one_member``
    in the largest component but outside its core: every path from them to the core passes
    through one articulation point, reported as ``via`` (the core member their branch hangs on).
    Their whole branch is cut off if that member leaves.

Members in the core are not at risk. When the largest component has no cycle, its core is a
single tie and the rest of that component is at risk ``through_one_member``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.components import biconnected_blocks, component_labels
from belonging.graph.ties import tie_endpoints

AT_RISK_REASONS = ("isolated", "one_tie", "outside_main_component", "through_one_member")


class AtRiskMember(NamedTuple):
    """One member at risk, why, and (for ``through_one_member``) the member they depend on."""

    member_id: str
    reason: str
    via: str | None = None


def core_members(graph: CommunityGraph) -> np.ndarray:
    """Boolean mask of the core: the largest biconnected block of the largest component.

    Blocks of equal size are told apart by their lowest member position. A block of two members
    is a single tie; a community without ties has no core.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abcde"), [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]
    ... )
    >>> core_members(g).tolist()
    [True, True, True, False, False]

    Notes
    -----
    O(members + ties), with igraph's biconnected components (Hopcroft-Tarjan) in C.
    """
    n = graph.number_of_members
    core = np.zeros(n, dtype=bool)
    if graph.number_of_ties == 0:
        return core
    main = component_labels(graph) == 0
    ties = tie_endpoints(graph)
    # Each block comes as the tie ids of a spanning tree: a block of k members has k - 1 of
    # them, which is all that is needed to find the largest.
    blocks, _ = biconnected_blocks(graph)
    trees = [tree for tree in blocks if main[ties.rows[tree[0]]]]
    largest = max(len(tree) for tree in trees)
    largest_blocks = [
        np.union1d(ties.rows[tree], ties.cols[tree]) for tree in trees if len(tree) == largest
    ]
    core[min(largest_blocks, key=lambda members: members[0])] = True
    return core


def at_risk_members(graph: CommunityGraph) -> list[AtRiskMember]:
    """Every member at risk with the reason (see the module docstring for the definitions).

    Listed by reason (``isolated``, ``one_tie``, ``outside_main_component``,
    ``through_one_member``), then in member order.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abcdefgh"),
    ...     [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("c", "e"), ("e", "f"),
    ...      ("f", "c"), ("a", "g")],
    ... )
    >>> for member in at_risk_members(g):
    ...     print(*member)
    h isolated None
    g one_tie None
    e through_one_member c
    f through_one_member c

    Notes
    -----
    O(members + ties).
    """
    order, reason, via = at_risk_positions(graph)
    return [
        AtRiskMember(
            graph.member_ids[i],
            AT_RISK_REASONS[reason[i]],
            graph.member_ids[via[i]] if reason[i] == 3 else None,
        )
        for i in order.tolist()
    ]


def at_risk_positions(graph: CommunityGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`at_risk_members` as positions: ``(order, reason, via)``.

    ``order`` lists the positions of the members at risk in the order of
    :func:`at_risk_members`; ``reason[i]`` is the index in :data:`AT_RISK_REASONS` of member
    ``i``'s reason (-1 when not at risk) and ``via[i]`` the position of the member they depend
    on (-1 when none).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abcd"), [("a", "b"), ("b", "c"), ("c", "a")])
    >>> order, reason, via = at_risk_positions(g)
    >>> order.tolist(), reason.tolist(), via.tolist()
    ([3], [-1, -1, -1, 0], [-1, -1, -1, -1])

    Notes
    -----
    O(members + ties).
    """
    n = graph.number_of_members
    degrees = graph.degrees()
    reason = np.full(n, -1, dtype=np.int64)
    via = np.full(n, -1, dtype=np.int64)
    reason[degrees == 0] = 0
    reason[degrees == 1] = 1
    if graph.number_of_ties:
        main = component_labels(graph) == 0
        reason[(reason < 0) & ~main] = 2
        core = core_members(graph)
        hanging = main & ~core
        via[hanging] = _attachment_points(graph, hanging, core)[hanging]
        reason[(reason < 0) & hanging] = 3
    via[reason != 3] = -1
    at_risk = np.flatnonzero(reason >= 0)
    # A stable sort by reason keeps member order within each reason.
    order = at_risk[np.argsort(reason[at_risk], kind="stable")]
    return order, reason, via


def _attachment_points(graph: CommunityGraph, hanging: np.ndarray, core: np.ndarray) -> np.ndarray:
    """For each hanging member, the core member its branch is attached to (-1 elsewhere).

    Removing the core splits the hanging members into branches; each branch touches the core in
    exactly one member, or it would belong to the (maximal) biconnected core.
    """
    n = graph.number_of_members
    ties = tie_endpoints(graph)
    inside = hanging[ties.rows] & hanging[ties.cols]
    branches = sp.csr_array(
        (np.ones(int(inside.sum()), dtype=np.int8), (ties.rows[inside], ties.cols[inside])),
        shape=(n, n),
    )
    _, branch = connected_components(branches, directed=False)
    branch_via = np.full(n, -1, dtype=np.int64)
    outward = hanging[ties.rows] & core[ties.cols]
    branch_via[branch[ties.rows[outward]]] = ties.cols[outward]
    inward = hanging[ties.cols] & core[ties.rows]
    branch_via[branch[ties.cols[inward]]] = ties.rows[inward]
    return np.where(hanging, branch_via[branch], -1)
