"""Silos as matching sees them: densely tied parts of a community, found with Leiden.

Suggestions only need a label per member to tell whether a pair crosses silos, so this is a
small wrapper around igraph's built-in Leiden (modularity) on the CSR adjacency. Organiser
reports compute their own communities in ``graph/``.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import scipy.sparse as sp

from belonging.graph.randomness import igraph_seeded

NO_SILO = -1


def detect_silos(
    adjacency: sp.csr_array | sp.csr_matrix, *, random_state: int = 0, n_iterations: int = 2
) -> np.ndarray:
    """One silo label per member (``NO_SILO`` for members without ties).

    Labels are ``0 .. k-1``, numbered by decreasing silo size. Deterministic for a given
    ``random_state``. Leiden runs in roughly O(ties) per iteration; a community of 1M ties takes a
    few seconds.

    >>> import scipy.sparse as sp
    >>> a = sp.csr_array(([1.0] * 4, ([0, 1, 2, 3], [1, 0, 3, 2])), shape=(5, 5))
    >>> detect_silos(a).tolist()
    [0, 0, 1, 1, -1]
    """
    n = adjacency.shape[0]
    labels = np.full(n, NO_SILO, dtype=np.int32)
    upper = sp.triu(adjacency, k=1).tocoo()
    if upper.nnz == 0:
        return labels
    graph = ig.Graph(n=n, edges=list(zip(upper.row.tolist(), upper.col.tolist(), strict=True)))
    with igraph_seeded(random_state):
        partition = graph.community_leiden(objective_function="modularity", n_iterations=n_iterations)
    membership = np.asarray(partition.membership)
    has_ties = np.diff(adjacency.indptr) > 0
    sizes = np.bincount(membership[has_ties], minlength=membership.max() + 1)
    rank = np.empty(len(sizes), dtype=np.int32)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes), dtype=np.int32)
    labels[has_ties] = rank[membership[has_ties]]
    return labels
