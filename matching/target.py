"""The member asking for suggestions, as the index's arrays see them.

A :class:`Target` is everything a request reads about the asker: their ties (as index rows),
their profile as a query row over the index's tag columns, attribute codes, silo, join time and
the pairs never to suggest. :meth:`Target.of` reads it from the index; :meth:`Target.from_profile`
writes it from a profile the index has not seen yet (a member who joined or changed after the
index was built), with the index's vocabulary, so such a member is served at once.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from belonging.matching.profiles import MemberProfile
from belonging.matching.silos import NO_SILO

if TYPE_CHECKING:
    from belonging.matching.index import SuggestionIndex


@dataclass(frozen=True, eq=False)
class Target:
    """One asking member against one index.

    ``row`` is the member's row in the index, or -1 for a member it does not hold. ``salt``
    varies posting windows between members (the row, or a hash of the id). ``neighbours`` and
    ``excluded`` are sorted index rows. ``query_columns``/``query_weights`` are the member's row
    of ``profile_queries``; ``interest_columns``/``interest_weights`` their TF-IDF interests
    (for reasons), and ``public_needs``, ``offers``, ``groups`` their tag columns.
    ``private_needs`` are the names of needs only they may see: never named in a reason.
    """

    row: int
    salt: int
    neighbours: np.ndarray
    query_columns: np.ndarray
    query_weights: np.ndarray
    attribute_codes: np.ndarray
    silo: int
    joined_at: float
    open_to_suggestions: bool
    excluded: np.ndarray
    interest_columns: np.ndarray
    interest_weights: np.ndarray
    public_needs: frozenset[int]
    offers: frozenset[int]
    groups: frozenset[int]
    private_needs: frozenset[str]

    @property
    def degree(self) -> int:
        return len(self.neighbours)

    @classmethod
    def of(cls, index: SuggestionIndex, row: int, neighbours: np.ndarray | None = None) -> Target:
        """Member ``row`` as the index holds them (``neighbours`` overrides their ties)."""
        if neighbours is None:
            neighbours = index.ties.neighbours(row)
        queries = index.profile_queries
        lo, hi = queries.indptr[row], queries.indptr[row + 1]
        interests = index.interests
        ilo, ihi = interests.indptr[row], interests.indptr[row + 1]
        needs, public = _tags(index.needs, row), _tags(index.public_needs, row)
        excluded = index.excluded_pairs
        return cls(
            row=row,
            salt=row,
            neighbours=neighbours,
            query_columns=queries.indices[lo:hi],
            query_weights=queries.data[lo:hi],
            attribute_codes=index.attribute_codes[row],
            silo=int(index.silo[row]),
            joined_at=float(index.joined_at[row]),
            open_to_suggestions=bool(index.open_to_suggestions[row]),
            excluded=excluded.indices[excluded.indptr[row] : excluded.indptr[row + 1]],
            interest_columns=interests.indices[ilo:ihi],
            interest_weights=interests.data[ilo:ihi],
            public_needs=public,
            offers=_tags(index.offers, row),
            groups=_tags(index.groups, row),
            private_needs=frozenset(index.support_vocabulary[k] for k in needs - public),
        )

    @classmethod
    def from_profile(
        cls,
        index: SuggestionIndex,
        profile: MemberProfile,
        neighbours: Sequence[str],
        groups: Sequence[str] = (),
        vocabulary: Vocabulary | None = None,
    ) -> Target:
        """A member as their current ``profile``, ties and support ``groups`` say, on ``index``'s columns.

        Tags, groups and attribute values the index has never seen match nobody yet and are
        left out; ties to members the index does not hold are left out too. A member not in the
        index takes the silo most of their ties are in.
        """
        words = vocabulary or Vocabulary(index)
        row = index.position.get(profile.member_id, -1)
        tied = words.rows(neighbours)
        interest_columns, interest_weights = words.interests(profile.interests)
        needs = words.support(profile.all_needs)
        public = words.support(profile.needs)
        offers = words.support(profile.offers)
        group_columns = np.array(sorted({words.group_column[g] for g in groups if g in words.group_column}),
                                 dtype=np.int64)
        codes = words.attribute_codes(profile.attributes)
        slots = words.slot_offsets[np.flatnonzero(codes >= 0)] + codes[codes >= 0]
        widths = words.block_offsets
        # Query blocks: interests | offers | needs | groups | attribute slots (see SuggestionIndex).
        columns = np.concatenate([
            interest_columns, widths[1] + offers, widths[2] + needs, widths[3] + group_columns, widths[4] + slots,
        ]).astype(np.int64)
        weights = np.concatenate([
            interest_weights, np.ones(len(columns) - len(interest_columns), dtype=np.float32)]).astype(np.float32)
        order = np.argsort(columns, kind="stable")
        if row >= 0:
            silo = int(index.silo[row])
            pairs = index.excluded_pairs
            excluded = pairs.indices[pairs.indptr[row] : pairs.indptr[row + 1]]
        else:
            known = Counter(int(s) for s in index.silo[tied] if s != NO_SILO)
            silo = known.most_common(1)[0][0] if known else NO_SILO
            excluded = np.empty(0, dtype=np.int32)
        if len(tied) == 0 and silo != NO_SILO:
            silo = NO_SILO
        return cls(
            row=row,
            salt=row if row >= 0 else zlib.crc32(profile.member_id.encode()),
            neighbours=tied,
            query_columns=columns[order],
            query_weights=weights[order],
            attribute_codes=codes,
            silo=silo,
            joined_at=_epoch(profile),
            open_to_suggestions=profile.open_to_suggestions,
            excluded=excluded,
            interest_columns=interest_columns,
            interest_weights=interest_weights,
            public_needs=frozenset(public.tolist()),
            offers=frozenset(offers.tolist()),
            groups=frozenset(group_columns.tolist()),
            private_needs=frozenset(set(profile.private_needs) - set(profile.needs)),
        )


class Vocabulary:
    """An index's tag columns by name, built once per loaded index (small: tags, not members)."""

    def __init__(self, index: SuggestionIndex) -> None:
        self.index = index
        self.interest_column = {tag: k for k, tag in enumerate(index.interest_vocabulary)}
        self.support_column = {tag: k for k, tag in enumerate(index.support_vocabulary)}
        self.group_column = {g: k for k, g in enumerate(index.group_ids)}
        self.attribute_code = [{v: k for k, v in enumerate(values)} for values in index.attribute_values]
        sizes = [len(v) for v in index.attribute_values]
        self.slot_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)[:-1] if sizes else np.zeros(
            0, dtype=np.int64)
        widths = [m.shape[1] for m in (index.interests, index.needs, index.offers, index.groups,
                                       index.attribute_slots)]
        self.block_offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        # Smoothed IDF as scikit-learn's TfidfVectorizer computes it, from each tag's member count.
        n = index.number_of_members
        counts = np.bincount(np.asarray(index.interests.indices), minlength=len(index.interest_vocabulary))
        self.idf = (np.log((1.0 + n) / (1.0 + counts)) + 1.0).astype(np.float32)

    def rows(self, member_ids: Sequence[str]) -> np.ndarray:
        rows_of = getattr(self.index.member_ids, "rows", None)
        if rows_of is not None:
            found = rows_of(list(member_ids))
        else:
            found = np.array([self.index.position.get(m, -1) for m in member_ids], dtype=np.int64)
        return np.unique(found[found >= 0]).astype(np.int32)

    def interests(self, tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        columns = np.array(sorted({self.interest_column[t] for t in tags if t in self.interest_column}),
                           dtype=np.int64)
        weights = self.idf[columns] if len(columns) else np.empty(0, dtype=np.float32)
        norm = float(np.sqrt((weights.astype(np.float64) ** 2).sum()))
        return columns, (weights / norm if norm > 0 else weights).astype(np.float32)

    def support(self, tags: Sequence[str]) -> np.ndarray:
        return np.array(sorted({self.support_column[t] for t in tags if t in self.support_column}), dtype=np.int64)

    def attribute_codes(self, attributes: Mapping[str, str | None]) -> np.ndarray:
        codes = np.full(len(self.attribute_code), -1, dtype=np.int32)
        for a, name in enumerate(self.index.attribute_names):
            value = attributes.get(name)
            if value is not None and value in self.attribute_code[a]:
                codes[a] = self.attribute_code[a][value]
        return codes


def _tags(matrix: object, row: int) -> frozenset[int]:
    indptr, indices = matrix.indptr, matrix.indices  # type: ignore[attr-defined]
    return frozenset(indices[indptr[row] : indptr[row + 1]].tolist())


def _epoch(profile: MemberProfile) -> float:
    from belonging.matching.index import epoch_seconds

    return epoch_seconds(profile.created_at)
