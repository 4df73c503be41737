"""The community graph: members as rows of a symmetric sparse adjacency matrix.

One community's ties are held as a ``scipy.sparse`` CSR array (int32 indices, float32 weights),
about 16 bytes per undirected tie, so a community of millions of ties fits in memory and graph
arithmetic (common neighbours, Adamic-Adar, components) runs as sparse linear algebra.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import networkx as nx
import numpy as np
import scipy.sparse as sp


@dataclass(eq=False)
class CommunityGraph:
    """Members, their ties and their organiser-defined attributes.

    Parameters
    ----------
    member_ids : sequence of str
        The platform's member ids; row ``i`` of ``adjacency`` is ``member_ids[i]``.
    adjacency : scipy.sparse.csr_array
        Symmetric ``n x n`` matrix of tie weights, zero diagonal.
    attributes : mapping of str to sequence
        Per attribute name, one value per member (``None`` where the member has none).

    Examples
    --------
    >>> g = CommunityGraph.from_edges(["a", "b", "c"], [("a", "b", 1.0)])
    >>> g.number_of_members, g.number_of_ties
    (3, 1)
    >>> g.degrees().tolist()
    [1, 1, 0]
    """

    member_ids: list[str]
    adjacency: sp.csr_array
    attributes: dict[str, list[str | None]] = field(default_factory=dict)
    position: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.member_ids = list(self.member_ids)
        self.position = {member_id: i for i, member_id in enumerate(self.member_ids)}
        if len(self.position) != len(self.member_ids):
            raise ValueError("member_ids must be unique")
        n = len(self.member_ids)
        if self.adjacency.shape != (n, n):
            raise ValueError(f"adjacency must be {n}x{n}, got {self.adjacency.shape}")
        for name, values in self.attributes.items():
            if len(values) != n:
                raise ValueError(f"attribute {name!r} has {len(values)} values for {n} members")

    @classmethod
    def from_edges(
        cls,
        member_ids: Sequence[str],
        edges: Iterable[tuple[str, str] | tuple[str, str, float]],
        attributes: Mapping[str, Mapping[str, str | None]] | None = None,
    ) -> CommunityGraph:
        """Build from member ids, ``(a, b[, weight])`` ties and ``{attribute: {member: value}}``.

        Ties naming an unknown member raise ``KeyError``; self-ties are dropped; a tie given twice
        (in either direction) keeps the last weight.
        """
        member_ids = list(member_ids)
        position = {m: i for i, m in enumerate(member_ids)}
        edges = list(edges)
        count = len(edges)
        # Whole columns at a time (C-level map and fromiter), not one Python step per tie.
        first = np.fromiter(
            map(position.__getitem__, map(itemgetter(0), edges)), dtype=np.int64, count=count
        )
        second = np.fromiter(
            map(position.__getitem__, map(itemgetter(1), edges)), dtype=np.int64, count=count
        )
        weights = np.fromiter(map(_tie_weight, edges), dtype=np.float64, count=count)
        kept = first != second
        first, second = first[kept], second[kept]
        adjacency = symmetric_adjacency(
            len(member_ids),
            np.minimum(first, second),
            np.maximum(first, second),
            weights[kept].astype(np.float32),
        )
        attribute_columns = {
            name: [values.get(m) for m in member_ids] for name, values in (attributes or {}).items()
        }
        return cls(member_ids, adjacency, attribute_columns)

    @classmethod
    def from_networkx(
        cls, graph: nx.Graph, attributes: Iterable[str] = (), weight: str = "weight"
    ) -> CommunityGraph:
        """Build from a networkx graph; node ids become strings, named node attributes are kept."""
        member_ids = [str(node) for node in graph.nodes]
        edges = [(str(u), str(v), float(d.get(weight, 1.0))) for u, v, d in graph.edges(data=True)]
        attribute_values = {
            name: {
                str(node): (None if data.get(name) is None else str(data[name]))
                for node, data in graph.nodes(data=True)
            }
            for name in attributes
        }
        return cls.from_edges(member_ids, edges, attribute_values)

    @property
    def number_of_members(self) -> int:
        return len(self.member_ids)

    @property
    def number_of_ties(self) -> int:
        return int(self.adjacency.nnz // 2)

    def degrees(self) -> np.ndarray:
        """Number of ties of each member (unweighted), as an int array."""
        return np.diff(self.adjacency.indptr).astype(np.int64)

    def neighbours(self, i: int) -> np.ndarray:
        """Row positions of member ``i``'s ties."""
        return self.adjacency.indices[self.adjacency.indptr[i] : self.adjacency.indptr[i + 1]]

    def to_networkx(self) -> nx.Graph:
        """A networkx graph with member ids as nodes, ``weight`` on ties, attributes on nodes."""
        graph = nx.Graph()
        for i, member_id in enumerate(self.member_ids):
            graph.add_node(
                member_id,
                **{
                    name: values[i]
                    for name, values in self.attributes.items()
                    if values[i] is not None
                },
            )
        upper = sp.triu(self.adjacency, k=1).tocoo()
        graph.add_weighted_edges_from(
            (self.member_ids[r], self.member_ids[c], float(w))
            for r, c, w in zip(upper.row, upper.col, upper.data, strict=True)
        )
        return graph


def _tie_weight(edge: tuple[str, str] | tuple[str, str, float]) -> float:
    return float(edge[2]) if len(edge) > 2 else 1.0


def symmetric_adjacency(
    n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray
) -> sp.csr_array:
    """A symmetric CSR array from upper-triangle ``(rows, cols, weights)``; duplicates keep the last.

    Uses int32 indices and float32 weights to keep about 16 bytes per undirected tie.
    """
    if len(rows):
        # Keep the last occurrence of a repeated pair rather than summing duplicates.
        keys = rows.astype(np.int64) * n + cols.astype(np.int64)
        _, last = np.unique(keys[::-1], return_index=True)
        keep = len(keys) - 1 - last
        rows, cols, weights = rows[keep], cols[keep], weights[keep]
    all_rows = np.concatenate([rows, cols]).astype(np.int32)
    all_cols = np.concatenate([cols, rows]).astype(np.int32)
    all_weights = np.concatenate([weights, weights]).astype(np.float32)
    adjacency = sp.csr_array((all_weights, (all_rows, all_cols)), shape=(n, n))
    adjacency.sort_indices()
    adjacency.indices = adjacency.indices.astype(np.int32, copy=False)
    adjacency.indptr = adjacency.indptr.astype(np.int32, copy=False)
    return adjacency
