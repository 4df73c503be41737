"""Who a member can reach: CSR row gathers, bounded posting windows and two-hop counts.

Everything here works on the raw arrays of a CSR matrix (``indptr``, ``indices``, ``data``) so
that one request touches only the rows it needs: no scipy fancy indexing, no Python loop over
neighbours, and no array the size of the community.

A request's arrays hold a few hundred entries, so what numpy costs there is mostly its overhead
per call. Hot paths therefore call array methods (``a.searchsorted``, ``a.repeat``,
``a.cumsum``) rather than the same-named functions, whose dispatch layers cost as much as the
work, and avoid ``np.unique`` (see :func:`sorted_distinct`, :func:`distinct_with_inverse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Two-hop walks through very well-connected members reach most of a large community while
# adding almost nothing to Adamic-Adar; past this many paths the busiest neighbours are skipped.
MAX_TWO_HOP_PATHS = 200_000


@dataclass(frozen=True, eq=False)
class TieView:
    """The ties suggestions are computed on: a symmetric CSR adjacency and per-member degrees.

    ``adamic_adar_weight[k]`` is ``1 / log(degree[k])`` for members with at least two ties and 0
    otherwise, so a common neighbour ``k`` adds that weight to a pair's Adamic-Adar index.
    """

    indptr: np.ndarray
    indices: np.ndarray
    degree: np.ndarray
    adamic_adar_weight: np.ndarray

    @classmethod
    def from_adjacency(cls, adjacency: sp.csr_array | sp.csr_matrix) -> TieView:
        """A view of ``adjacency`` (symmetric, zero diagonal, sorted indices); no data is copied."""
        indptr = np.asarray(adjacency.indptr, dtype=np.int64)
        indices = np.asarray(adjacency.indices, dtype=np.int32)
        degree = np.diff(indptr).astype(np.int32)
        weight = np.zeros(len(degree), dtype=np.float32)
        busy = degree >= 2
        weight[busy] = 1.0 / np.log(degree[busy])
        return cls(indptr, indices, degree, weight)

    @property
    def number_of_members(self) -> int:
        return len(self.degree)

    def neighbours(self, i: int) -> np.ndarray:
        """Sorted row positions of member ``i``'s ties."""
        return self.indices[self.indptr[i] : self.indptr[i + 1]]


@dataclass(frozen=True)
class TwoHop:
    """Members tied to a set of anchors (see :func:`two_hop`), with counts and weighted sums.

    For a target's own ties as anchors, ``common_neighbours`` and ``adamic_adar`` are exactly
    those indices. ``members`` is sorted and may include the target itself and the anchors;
    callers filter. ``complete`` is False when the busiest anchors were skipped (values are
    then lower bounds).
    """

    members: np.ndarray
    common_neighbours: np.ndarray
    adamic_adar: np.ndarray
    complete: bool = True

    @classmethod
    def empty(cls) -> TwoHop:
        return cls(
            np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64), np.empty(0, np.float64)
        )

    def lookup(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Common-neighbour counts and Adamic-Adar values of ``members`` (zeros where unreached)."""
        if len(self.members) == 0:
            return np.zeros(len(members), dtype=np.int64), np.zeros(len(members))
        at = self.members.searchsorted(members)
        at = np.minimum(at, len(self.members) - 1)
        found = self.members[at] == members
        return (
            np.where(found, self.common_neighbours[at], 0),
            np.where(found, self.adamic_adar[at], 0.0),
        )


def gather_positions(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of every stored entry of ``rows`` in a CSR matrix, and which row owns each.

    Returns ``(owner, positions)``: ``indices[positions[k]]`` is an entry of row
    ``rows[owner[k]]``. Cost is linear in the number of entries gathered.
    """
    rows = np.asarray(rows, dtype=np.int64)
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    owner = np.arange(len(rows)).repeat(lengths)
    first = lengths.cumsum() - lengths
    positions = np.arange(total, dtype=np.int64) + (starts - first).repeat(lengths)
    return owner, positions


def window_positions(
    indptr: np.ndarray, rows: np.ndarray, width: int, salt: int
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`gather_positions` but at most ``width`` entries per row.

    Each row's window starts at an offset derived from ``salt`` (the target member), wrapping
    around, so different targets see different slices of a long posting list while one target
    always sees the same one.
    """
    rows = np.asarray(rows, dtype=np.int64)
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    take = np.minimum(lengths, width)
    owner = np.arange(len(rows)).repeat(take)
    first = take.cumsum() - take
    step = np.arange(int(take.sum()), dtype=np.int64) - first.repeat(take)
    offset = _mix(np.int64(salt), rows) % np.maximum(lengths, 1)
    positions = starts[owner] + (offset[owner] + step) % np.maximum(lengths[owner], 1)
    return owner, positions


def two_hop(
    view: TieView,
    anchors: np.ndarray,
    anchor_weight: np.ndarray | None = None,
    max_paths: int = MAX_TWO_HOP_PATHS,
) -> TwoHop:
    """Members tied to ``anchors``: how many anchors each is tied to, and a weighted sum.

    With a target's own ties as ``anchors`` and no ``anchor_weight`` this is the target's
    friends of friends with their common-neighbour count and Adamic-Adar index (each anchor
    ``k`` weighs ``1 / log degree(k)``). Other anchors (members with a similar profile) carry
    their own ``anchor_weight``. Cost is the number of two-step paths (the sum of the anchors'
    degrees), bounded by ``max_paths``: beyond it, the anchors with the most ties are left out.
    """
    if len(anchors) == 0:
        return TwoHop.empty()
    complete = True
    degrees = view.degree[anchors]
    if int(degrees.sum()) > max_paths:
        order = np.argsort(degrees, kind="stable")
        kept = np.sort(order[np.cumsum(degrees[order]) <= max_paths])
        anchors = anchors[kept]
        anchor_weight = None if anchor_weight is None else anchor_weight[kept]
        complete = False
    if anchor_weight is None:
        anchor_weight = view.adamic_adar_weight[anchors]
    owner, positions = gather_positions(view.indptr, anchors)
    members, inverse = distinct_with_inverse(view.indices[positions])
    common = np.bincount(inverse, minlength=len(members))
    weighted = np.bincount(inverse, weights=anchor_weight[owner], minlength=len(members))
    return TwoHop(members.astype(np.int32), common, weighted, complete)


def sum_by_member(members: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``members`` (sorted) and the sum of ``values`` for each."""
    distinct, inverse = distinct_with_inverse(members)
    return distinct, np.bincount(inverse, weights=values, minlength=len(distinct))


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct ``values`` of a 1-d array, sorted: ``np.unique(values)``, by one sort.

    numpy 2's ``np.unique`` without an inverse finds distinct values with a hash table and then
    sorts them, which costs several times a plain sort on the few hundred values of a request.
    """
    ordered = values.copy()
    ordered.sort()
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def distinct_with_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a 1-d array, with the same results.

    The same steps as numpy's (sort, mark where the value changes, number the runs), without
    its generic layers, which cost more than the work on the few hundred values of a request.
    """
    order = values.argsort()
    ordered = values[order]
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = first.cumsum() - 1
    return ordered[first], inverse


def not_in(sorted_values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Boolean mask of ``members`` that are not in ``sorted_values``."""
    if len(sorted_values) == 0:
        return np.ones(len(members), dtype=bool)
    at = np.minimum(sorted_values.searchsorted(members), len(sorted_values) - 1)
    return sorted_values[at] != members


def shuffled_postings(matrix: sp.csr_array, seed: int) -> sp.csr_array:
    """The transpose of ``matrix`` (one row per column of it), each row's entries shuffled.

    Windows (:func:`window_positions`) over a shuffled posting list are unbiased samples of it, so
    no member of a popular tag is always first or always left out. Indices are left unsorted.
    """
    postings = sp.csr_array(matrix.T)
    rng = np.random.default_rng(seed)
    row_of_entry = np.repeat(np.arange(postings.shape[0]), np.diff(postings.indptr))
    order = np.lexsort((rng.random(postings.nnz), row_of_entry))
    return sp.csr_array(
        (postings.data[order], postings.indices[order].astype(np.int32), postings.indptr),
        shape=postings.shape,
    )


_MIX_ADD = np.uint64(0x9E3779B97F4A7C15)
_MIX_ROW = np.uint64(0xBF58476D1CE4E5B9)
_MIX_SALT = 0x94D049BB133111EB
_BITS_31 = np.uint64(31)
_BITS_2 = np.uint64(2)


def _mix(salt: np.int64, rows: np.ndarray) -> np.ndarray:
    """A cheap deterministic hash of ``(salt, row)`` pairs as non-negative int64.

    Arithmetic is modulo 2**64. The salt's product is one number, worked out in Python (a numpy
    scalar product would warn on overflow); array arithmetic wraps without a warning.
    """
    salted = np.uint64(((int(salt) % 2**64) * _MIX_SALT) % 2**64)
    value = (rows.astype(np.uint64) + _MIX_ADD) * _MIX_ROW
    value ^= salted
    value ^= value >> _BITS_31
    return (value >> _BITS_2).astype(np.int64)
