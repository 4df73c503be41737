"""Do groups mix: attribute assortativity, the E-I index and the group-to-group mixing matrix.

Every function takes an attribute either by name (one of ``graph.attributes``) or as one value
per member, and looks only at ties whose two members both have a value: a member without a value
neither counts as a group nor as a contact outside their group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import repeat

import numpy as np

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.ties import tie_endpoints

OTHER = "other"


def attribute_codes(
    graph: CommunityGraph,
    attribute: str | Sequence[str | None],
    *,
    values: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Each member's value as an integer code (-1 for no value), with the values coded.

    Parameters
    ----------
    graph : CommunityGraph
    attribute : str or sequence
        Name of one of ``graph.attributes``, or one value (or None) per member.
    values : sequence of str, optional
        The values in code order; default the sorted distinct values. Members whose value is
        not listed get -1.

    Returns
    -------
    codes : numpy.ndarray
    values : list of str

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [], {"team": {"a": "y", "b": "x"}})
    >>> attribute_codes(g, "team")
    (array([ 1,  0, -1]), ['x', 'y'])

    Notes
    -----
    O(members + values log values).
    """
    column = attribute_column(graph, attribute)
    if values is None:
        values = sorted({value for value in column if value is not None})
    code_of: dict[str | None, int] = {value: code for code, value in enumerate(values)}
    code_of[None] = -1
    codes = np.fromiter(map(code_of.get, column, repeat(-1)), dtype=np.int64, count=len(column))
    return codes, list(values)


def attribute_column(
    graph: CommunityGraph, attribute: str | Sequence[str | None]
) -> Sequence[str | None]:
    """One value (or None) per member, from an attribute name or an explicit column."""
    if isinstance(attribute, str):
        if attribute not in graph.attributes:
            known = ", ".join(sorted(graph.attributes)) or "none"
            raise ValueError(f"unknown attribute {attribute!r} (known: {known})")
        return graph.attributes[attribute]
    if len(attribute) != graph.number_of_members:
        raise ValueError(
            f"attribute has {len(attribute)} values for {graph.number_of_members} members"
        )
    return attribute


def tie_counts_between_groups(
    graph: CommunityGraph,
    attribute: str | Sequence[str | None],
    *,
    values: Sequence[str] | None = None,
) -> np.ndarray:
    """Number of ties between each pair of groups, each tie counted once.

    Entry ``[i, j]`` (= ``[j, i]``) is the number of ties between a member with ``values[i]``
    and a member with ``values[j]``; the diagonal is the ties inside each group.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abc"), [("a", "b"), ("b", "c")], {"team": {"a": "x", "b": "x", "c": "y"}}
    ... )
    >>> tie_counts_between_groups(g, "team").tolist()
    [[1, 1], [1, 0]]

    Notes
    -----
    O(members + ties + values ** 2).
    """
    codes, names = attribute_codes(graph, attribute, values=values)
    return tie_counts_of_codes(graph, codes, len(names))


def attribute_mixing_matrix(
    graph: CommunityGraph,
    attribute: str | Sequence[str | None],
    *,
    values: Sequence[str] | None = None,
    normalized: bool = True,
) -> np.ndarray:
    """The mixing matrix of ``networkx.attribute_mixing_matrix`` for the undirected graph.

    As in networkx, every tie is counted from both of its ends: a tie between groups ``i`` and
    ``j`` adds 1 to ``[i, j]`` and 1 to ``[j, i]``, and a tie inside group ``i`` adds 2 to
    ``[i, i]``. The result is symmetric; it equals
    ``tie_counts_between_groups + diag(tie_counts_between_groups)``.

    Parameters
    ----------
    graph : CommunityGraph
    attribute : str or sequence
    values : sequence of str, optional
        Row and column order (networkx's ``mapping``); default the sorted distinct values.
    normalized : bool
        Divide by the total so that entries sum to 1 (networkx's default).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abc"), [("a", "b"), ("b", "c")], {"team": {"a": "x", "b": "x", "c": "y"}}
    ... )
    >>> attribute_mixing_matrix(g, "team", normalized=False).tolist()
    [[2.0, 1.0], [1.0, 0.0]]

    Notes
    -----
    O(members + ties + values ** 2).
    """
    ties = tie_counts_between_groups(graph, attribute, values=values).astype(np.float64)
    matrix = ties + np.diag(np.diag(ties))
    if normalized:
        total = matrix.sum()
        if total > 0:
            matrix = matrix / total
    return matrix


def attribute_assortativity(graph: CommunityGraph, attribute: str | Sequence[str | None]) -> float:
    """Newman's attribute assortativity: 1 when ties stay inside groups, negative when they cross.

    Equals ``networkx.attribute_assortativity_coefficient`` on the subgraph of members that have
    a value: ``(trace(e) - sum(e @ e)) / (1 - sum(e @ e))`` for the normalised mixing matrix
    ``e``.

    Returns
    -------
    float
        ``nan`` when undefined (no tie between members with values, or all in one group).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abcd"), [("a", "b"), ("c", "d"), ("b", "c")],
    ...     {"team": {"a": "x", "b": "x", "c": "y", "d": "y"}},
    ... )
    >>> round(attribute_assortativity(g, "team"), 4)
    0.3333

    Notes
    -----
    O(members + ties + values ** 2).
    """
    codes, names = attribute_codes(graph, attribute)
    return assortativity_of_counts(tie_counts_of_codes(graph, codes, len(names)))


def assortativity_of_counts(counts: np.ndarray) -> float:
    """:func:`attribute_assortativity` from the tie counts of :func:`tie_counts_between_groups`.

    Examples
    --------
    >>> round(assortativity_of_counts(np.array([[1, 1], [1, 1]])), 4)
    0.3333

    Notes
    -----
    O(values ** 3).
    """
    ties = counts.astype(np.float64)
    mixing = ties + np.diag(np.diag(ties))
    total = mixing.sum()
    if total == 0:
        return float("nan")
    mixing = mixing / total
    expected = float((mixing @ mixing).sum())
    if expected >= 1.0:
        return float("nan")
    return float((np.trace(mixing) - expected) / (1.0 - expected))


def ei_index(graph: CommunityGraph, attribute: str | Sequence[str | None]) -> float:
    """Krackhardt's E-I index: ``(external - internal) / (external + internal)`` ties.

    -1 when every tie stays inside a group, +1 when every tie crosses groups.

    Returns
    -------
    float
        ``nan`` when no tie joins two members with values.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abcd"), [("a", "b"), ("c", "d"), ("b", "c")],
    ...     {"team": {"a": "x", "b": "x", "c": "y", "d": "y"}},
    ... )
    >>> round(ei_index(g, "team"), 4)
    -0.3333

    Notes
    -----
    O(members + ties).
    """
    codes, names = attribute_codes(graph, attribute)
    return ei_index_of_counts(tie_counts_of_codes(graph, codes, len(names)))


def ei_index_of_counts(counts: np.ndarray) -> float:
    """:func:`ei_index` from the tie counts of :func:`tie_counts_between_groups`.

    Examples
    --------
    >>> ei_index_of_counts(np.array([[1, 1], [1, 1]]))
    -0.3333333333333333

    Notes
    -----
    O(values ** 2).
    """
    internal = int(np.trace(counts))
    total = int(np.triu(counts).sum())
    if total == 0:
        return float("nan")
    external = total - internal
    return (external - internal) / (external + internal)


def group_ei_index(
    graph: CommunityGraph,
    attribute: str | Sequence[str | None],
    *,
    values: Sequence[str] | None = None,
) -> dict[str, float]:
    """E-I index of each group: its ties to other groups against its ties inside.

    For group ``g``: ``(E_g - I_g) / (E_g + I_g)`` with ``I_g`` the ties between two members
    of ``g`` and ``E_g`` the ties between a member of ``g`` and a member of another group.

    Returns
    -------
    dict
        Value to E-I index, ``nan`` for a group without ties to members with values.

    Examples
    --------
    >>> g = CommunityGraph.from_edges(
    ...     list("abc"), [("a", "b"), ("b", "c")], {"team": {"a": "x", "b": "x", "c": "y"}}
    ... )
    >>> group_ei_index(g, "team")
    {'x': 0.0, 'y': 1.0}

    Notes
    -----
    O(members + ties + values ** 2).
    """
    codes, names = attribute_codes(graph, attribute, values=values)
    ties = tie_counts_of_codes(graph, codes, len(names))
    internal = np.diag(ties).astype(np.float64)
    external = ties.sum(axis=1) - internal
    total = internal + external
    index = np.full(len(names), np.nan)
    np.divide(external - internal, total, out=index, where=total > 0)
    return {name: float(value) for name, value in zip(names, index, strict=True)}


def merge_small_groups(
    attribute: Sequence[str | None], *, min_group_size: int = 5, other: str = OTHER
) -> list[str | None]:
    """The attribute with every value held by fewer than ``min_group_size`` members renamed.

    Small groups are never broken out in reports; their members are pooled as ``other``. A
    value already named ``other`` joins the pool. When the pool is itself smaller than
    ``min_group_size`` it is not broken out either: its members become ``None`` (no value), so
    no group of fewer than k members ever appears in a breakdown.

    Examples
    --------
    >>> merge_small_groups(["x", "x", "y", "z", None], min_group_size=2)
    ['x', 'x', 'other', 'other', None]
    >>> merge_small_groups(["x", "x", "y", None], min_group_size=2)
    ['x', 'x', None, None]

    Notes
    -----
    O(members).
    """
    sizes = Counter(value for value in attribute if value is not None)
    small = {value for value, size in sizes.items() if size < min_group_size}
    small.add(other)
    pooled = sum(size for value, size in sizes.items() if value in small)
    replacement = other if pooled >= min_group_size else None
    return [replacement if value in small else value for value in attribute]


def tie_counts_of_codes(graph: CommunityGraph, codes: np.ndarray, size: int) -> np.ndarray:
    """:func:`tie_counts_between_groups` from the members' value codes (-1 for none).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(list("abc"), [("a", "b"), ("b", "c")])
    >>> tie_counts_of_codes(g, np.array([0, 0, 1]), 2).tolist()
    [[1, 1], [1, 0]]

    Notes
    -----
    O(ties + size ** 2).
    """
    first, second = _coded_ties(graph, codes)
    counts = np.bincount(first * size + second, minlength=size * size).reshape(size, size)
    return (counts + counts.T - np.diag(np.diag(counts))).astype(np.int64)


def _coded_ties(graph: CommunityGraph, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes at both ends of each tie whose two members have a value."""
    ties = tie_endpoints(graph)
    first, second = codes[ties.rows], codes[ties.cols]
    both = (first >= 0) & (second >= 0)
    return first[both], second[both]
