"""The per-community suggestion index: everything a suggestion request reads, as sparse arrays.

:meth:`SuggestionIndex.build` turns a :class:`~graph.CommunityGraph`, the members' profiles,
blocks, declined suggestions and support-group memberships into arrays (CSR matrices with one
row per member, their shuffled transposes as posting lists, integer codes), detects silos and
fits the ranking model. Build time is dominated by silo detection and model fitting: a few
seconds for 100k members and 1M ties, with memory well under 200 MB per million ties.

The index is immutable: :mod:`matching.stored` writes it to files that any number of processes
map read-only. A member who joined or changed after the build is served by describing them on
the index's columns (:class:`matching.target.Target`, :func:`matching.suggest.suggest_for`) until
the next build; callers also pass per-request facts (exposures this week, members to leave out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from belonging.graph.community_graph import CommunityGraph
from belonging.matching.candidates import FEW_TIES
from belonging.matching.features import feature_names
from belonging.matching.neighbourhood import TieView, shuffled_postings
from belonging.matching.profiles import MemberProfile
from belonging.matching.ranking import PairRanker, fit_rankers
from belonging.matching.silos import detect_silos

NEW_MEMBER_DAYS = 30
"""Members who joined less than this many days ago count as new."""

MemberPair = tuple[str, str]


@dataclass(eq=False)
class SuggestionIndex:
    """Read-only arrays for suggesting connections within one community.

    Row ``i`` of every per-member matrix is ``member_ids[i]``. Tag matrices are CSR (float32)
    with sorted column indices.

    Attributes
    ----------
    interests : csr_array (members x interest tags)
        TF-IDF of each member's interests, one token per tag, rows L2-normalised: the dot
        product of two rows is their interest cosine, and rare shared tags weigh more.
    needs : csr_array (members x support tags)
        Every need, private ones included: for matching only, never for display.
    public_needs, offers : csr_array (members x support tags)
        Needs members agreed to show, and what they offer, on the same vocabulary as ``needs``.
    attribute_codes : ndarray of shape (members, attributes)
        Code of each member's value of each attribute in ``attribute_values``, -1 if missing.
    attribute_slots : csr_array (members x attribute values)
        One column per (attribute, value) pair, for finding members who share values.
    groups : csr_array (members x support groups)
        Support-group memberships, columns in ``group_ids`` order.
    silo : ndarray of int
        Detected silo of each member (-1 for members without ties).
    excluded_pairs : csr_array (members x members)
        Blocked or declined pairs, stored both ways: never suggested.
    joined_at : ndarray of float
        When each member joined, in seconds since the epoch (NaN if unknown).
    few_ties_pool : ndarray of int
        Members open to suggestions with at most ``FEW_TIES`` ties, shuffled.
    profile_tags : csr_array (members x all tags)
        ``interests | needs | offers | groups | attribute_slots`` side by side, so one gather of
        a candidate's row gives everything its profile says.
    profile_queries : csr_array (members x all tags)
        The same blocks as seen from the asking member: ``interests | offers | needs | groups |
        attribute_slots``. A column where a target's query row and a candidate's tag row are
        both set is a match: a shared interest, a need of the candidate the target can meet, an
        offer of the candidate the target needs, a shared group or a shared attribute value.
    profile_postings : csr_array (all tags x members)
        ``profile_tags`` transposed, each row shuffled: who has each tag.
    tag_block : ndarray of int8
        Block of each column of ``profile_tags`` (see :mod:`matching.features` ``*_BLOCK``).
    ranker, cold_ranker : PairRanker
        Models for targets with ties and targets without.
    """

    member_ids: Sequence[str]
    position: Mapping[str, int]
    adjacency: sp.csr_array
    ties: TieView
    display_names: Sequence[str | None]
    interests: sp.csr_array
    interest_vocabulary: list[str]
    needs: sp.csr_array
    public_needs: sp.csr_array
    offers: sp.csr_array
    support_vocabulary: list[str]
    attribute_names: list[str]
    attribute_values: list[list[str]]
    attribute_codes: np.ndarray
    attribute_slots: sp.csr_array
    group_ids: list[str]
    groups: sp.csr_array
    silo: np.ndarray
    open_to_suggestions: np.ndarray
    excluded_pairs: sp.csr_array
    joined_at: np.ndarray
    few_ties_pool: np.ndarray
    profile_tags: sp.csr_array
    profile_queries: sp.csr_array
    profile_postings: sp.csr_array
    tag_block: np.ndarray
    warm_feature_names: list[str]
    cold_feature_names: list[str]
    ranker: PairRanker
    cold_ranker: PairRanker
    revision: int
    built_at: datetime

    @classmethod
    def build(
        cls,
        graph: CommunityGraph,
        profiles: Sequence[MemberProfile],
        *,
        blocks: Iterable[MemberPair] = (),
        declined: Iterable[MemberPair] = (),
        group_members: Mapping[str, Sequence[str]] | None = None,
        revision: int = 0,
        random_state: int = 0,
        rankers: tuple[PairRanker, PairRanker] | None = None,
    ) -> SuggestionIndex:
        """Index a community for suggestions.

        Parameters
        ----------
        graph : CommunityGraph
            Members and ties; its member ids are the index's members.
        profiles : sequence of MemberProfile
            At most one per member; members without one have an empty profile and are open to
            suggestions. Profiles of ids not in ``graph`` are ignored.
        blocks, declined : iterable of (member_id, member_id)
            Pairs never to suggest, in either direction. Unknown ids are ignored.
        group_members : mapping of group id to member ids
            Support-group memberships. Unknown member ids are ignored.
        revision : int
            The community revision the inputs reflect, kept for cache checks.
        random_state : int
            Seeds posting-list shuffles, silo detection and model fitting: the same inputs and
            seed give the same index.
        rankers : (ranker, cold ranker), optional
            Models already fitted on this community (by a recent build): used as they are when
            their columns are this index's columns, which saves fitting them again (most of the
            build's time). Otherwise the models are fitted.

        Attribute values come from the profile, falling back to ``graph.attributes``.
        """
        member_ids = list(graph.member_ids)
        position = dict(graph.position)
        n = len(member_ids)
        adjacency = graph.adjacency
        if not adjacency.has_sorted_indices:
            adjacency = adjacency.copy()
            adjacency.sort_indices()
        ties = TieView.from_adjacency(adjacency)

        profile_of: list[MemberProfile | None] = [None] * n
        for profile in profiles:
            at = position.get(profile.member_id)
            if at is not None:
                profile_of[at] = profile
        blank = MemberProfile(member_id="")
        filled = [p if p is not None else blank for p in profile_of]

        interests, interest_vocabulary = _tfidf([p.interests for p in filled])
        support_vocabulary = sorted(
            {tag for p in filled for tag in (*p.needs, *p.private_needs, *p.offers)}
        )
        support_column = {tag: k for k, tag in enumerate(support_vocabulary)}
        needs = _indicator([p.all_needs for p in filled], support_column)
        public_needs = _indicator([p.needs for p in filled], support_column)
        offers = _indicator([p.offers for p in filled], support_column)

        attribute_names, attribute_values, attribute_codes = _attribute_codes(graph, filled)
        attribute_slots = _slots(attribute_codes, [len(v) for v in attribute_values])

        group_ids = list(group_members or {})
        group_column = {g: k for k, g in enumerate(group_ids)}
        memberships: list[list[str]] = [[] for _ in range(n)]
        for group_id, members in (group_members or {}).items():
            for member_id in members:
                at = position.get(member_id)
                if at is not None:
                    memberships[at].append(group_id)
        groups = _indicator(memberships, group_column)

        open_to_suggestions = np.array([p.open_to_suggestions for p in filled], dtype=bool)
        # Block order is matching.features' *_BLOCK numbering: interests, needs, offers, groups,
        # attributes; the query side swaps needs and offers so that a shared column is a match.
        profile_tags = _side_by_side([interests, needs, offers, groups, attribute_slots])
        profile_queries = _side_by_side([interests, offers, needs, groups, attribute_slots])
        widths = [m.shape[1] for m in (interests, needs, offers, groups, attribute_slots)]
        tag_block = np.repeat(np.arange(len(widths), dtype=np.int8), widths)
        rng = np.random.default_rng(random_state)
        few_ties_pool = np.flatnonzero(open_to_suggestions & (ties.degree <= FEW_TIES))
        few_ties_pool = rng.permutation(few_ties_pool).astype(np.int64)
        seed = int(rng.integers(2**31))

        index = cls(
            member_ids=member_ids,
            position=position,
            adjacency=adjacency,
            ties=ties,
            display_names=[p.display_name for p in filled],
            interests=interests,
            profile_tags=profile_tags,
            profile_queries=profile_queries,
            profile_postings=shuffled_postings(profile_tags, seed),
            tag_block=tag_block,
            interest_vocabulary=interest_vocabulary,
            needs=needs,
            public_needs=public_needs,
            offers=offers,
            support_vocabulary=support_vocabulary,
            attribute_names=attribute_names,
            attribute_values=attribute_values,
            attribute_codes=attribute_codes,
            attribute_slots=attribute_slots,
            group_ids=group_ids,
            groups=groups,
            silo=detect_silos(adjacency, random_state=random_state),
            open_to_suggestions=open_to_suggestions,
            excluded_pairs=_pairs(n, position, [*blocks, *declined]),
            joined_at=np.array([epoch_seconds(p.created_at) for p in filled], dtype=np.float64),
            few_ties_pool=few_ties_pool,
            warm_feature_names=feature_names(attribute_names),
            cold_feature_names=feature_names(attribute_names, cold=True),
            ranker=PairRanker(feature_names(attribute_names)),
            cold_ranker=PairRanker(feature_names(attribute_names, cold=True)),
            revision=revision,
            built_at=datetime.now(UTC),
        )
        if rankers is not None and [list(r.feature_names) for r in rankers] == [
            index.warm_feature_names, index.cold_feature_names
        ]:
            index.ranker, index.cold_ranker = rankers
        else:
            index.ranker, index.cold_ranker = fit_rankers(index, random_state=random_state)
        return index

    @property
    def number_of_members(self) -> int:
        return len(self.member_ids)

    @property
    def model_version(self) -> str:
        """Both models' versions, e.g. ``"logistic-v1/logistic-v1"`` (with ties/without)."""
        return f"{self.ranker.model_version_}/{self.cold_ranker.model_version_}"

    def nbytes(self) -> int:
        """Bytes held in the index's arrays (the adjacency included, Python lists excluded)."""
        total = 0
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
            elif isinstance(value, sp.sparray | sp.spmatrix):
                total += value.data.nbytes + value.indices.nbytes + value.indptr.nbytes
            elif isinstance(value, TieView):
                total += sum(
                    a.nbytes for a in (value.indptr, value.degree, value.adamic_adar_weight)
                ) + (0 if value.indices is self.adjacency.indices else value.indices.nbytes)
        return total


def _as_tokens(tags: Sequence[str]) -> Sequence[str]:
    """Each tag is one token: ``"cv writing"`` stays one term."""
    return tags


def _tfidf(documents: list[Sequence[str]]) -> tuple[sp.csr_array, list[str]]:
    """TF-IDF rows (L2-normalised, float32, sorted indices) and the tag vocabulary."""
    if not any(documents):
        return sp.csr_array((len(documents), 0), dtype=np.float32), []
    vectorizer = TfidfVectorizer(
        analyzer=_as_tokens, lowercase=False, token_pattern=None, binary=True, dtype=np.float32
    )
    matrix = sp.csr_array(vectorizer.fit_transform(documents))
    matrix.sort_indices()
    return matrix, list(vectorizer.get_feature_names_out())


def _side_by_side(blocks: Sequence[sp.csr_array]) -> sp.csr_array:
    """Blocks of columns joined left to right (float32, sorted indices)."""
    matrix = sp.csr_array(sp.hstack(blocks, format="csr", dtype=np.float32))
    matrix.sort_indices()
    return matrix


def _indicator(documents: Sequence[Sequence[str]], column: Mapping[str, int]) -> sp.csr_array:
    """A binary CSR matrix (float32, sorted indices): row ``i`` marks the tags of document ``i``."""
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    columns = np.fromiter(
        (column[tag] for document in documents for tag in document),
        dtype=np.int32,
        count=int(lengths.sum()),
    )
    rows = np.repeat(np.arange(len(documents)), lengths)
    matrix = sp.csr_array(
        (np.ones(len(columns), dtype=np.float32), (rows, columns)),
        shape=(len(documents), len(column)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _attribute_codes(
    graph: CommunityGraph, profiles: Sequence[MemberProfile]
) -> tuple[list[str], list[list[str]], np.ndarray]:
    """Attribute names, their distinct values, and each member's value codes (-1 if missing)."""
    names = sorted(set(graph.attributes) | {k for p in profiles for k in p.attributes})
    codes = np.full((len(profiles), len(names)), -1, dtype=np.int32)
    values: list[list[str]] = []
    for a, name in enumerate(names):
        fallback = graph.attributes.get(name) or [None] * len(profiles)
        code: dict[str, int] = {}
        for i, profile in enumerate(profiles):
            value = profile.attributes.get(name, fallback[i])
            if value is not None and value != "":
                codes[i, a] = code.setdefault(value, len(code))
        values.append(list(code))
    return names, values, codes


def _slots(codes: np.ndarray, sizes: Sequence[int]) -> sp.csr_array:
    """One column per (attribute, value): member ``i`` has 1 where it has that value."""
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = codes.shape[0]
    rows, attributes = np.nonzero(codes >= 0)
    columns = offsets[attributes] + codes[rows, attributes]
    matrix = sp.csr_array(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(n, int(offsets[-1]))
    )
    matrix.sort_indices()
    return matrix


def _pairs(n: int, position: Mapping[str, int], pairs: Iterable[MemberPair]) -> sp.csr_array:
    """A symmetric boolean CSR matrix of the known ``pairs`` (sorted indices)."""
    found = [(position[a], position[b]) for a, b in pairs if a in position and b in position]
    rows = np.array([a for a, _ in found] + [b for _, b in found], dtype=np.int64)
    cols = np.array([b for _, b in found] + [a for a, _ in found], dtype=np.int64)
    matrix = sp.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    return matrix


def epoch_seconds(moment: datetime | None) -> float:
    """Seconds since the epoch (naive datetimes are taken as UTC); NaN for ``None``."""
    if moment is None:
        return float("nan")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
