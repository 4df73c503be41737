"""Intro rounds: everyone who takes part is introduced to someone, the isolated first.

:func:`plan_round` builds a sparse candidate graph over the round's members (for each member
the best friends of friends by Adamic-Adar, the most alike profiles, and a few members drawn at
random so nobody is left without options), drops every pair a hard rule forbids, scores the
rest with the community's suggestion model from both sides, and pairs members by a
maximum-weight matching (:mod:`matching.pairing`). Members whose candidates were all taken get
a second chance: a matching among them, over every allowed pair (or many drawn at random).

Hard rules: each member is in at most one group; never two members already tied, blocked
(either way), with a declined suggestion between them, or one of them not open to suggestions;
no pair that met in the last ``avoid_repeat_rounds`` rounds; the two share a meeting format and,
when both list languages, a language. Private needs may raise a pair's score (the model matches
on them) but are never named in reasons or intros.

Weights: the pair's score is the mean of the model's probabilities from each side, with the
``bridging_weight`` bonus of suggestions for pairs across silos; the matching maximises that
score times the mean priority of the two members, where members with few ties and new members
have a higher priority, so they get their best partners first. An odd member out may join a
pair as a trio (at most one per round); everyone else left out is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp

from belonging.matching.features import ATTRIBUTES_BLOCK, PairFeatures
from belonging.matching.index import NEW_MEMBER_DAYS, SuggestionIndex, epoch_seconds
from belonging.matching.pairing import max_weight_matching
from belonging.matching.profiles import MemberProfile
from belonging.matching.reasons import Reason, ReasonWriter
from belonging.matching.silos import NO_SILO
from belonging.matching.suggest import BRIDGING_STRENGTH, FEW_TIES_BONUS, NEW_MEMBER_BONUS

TWO_HOP_PARTNERS = 10
"""Friends of friends per member in the candidate graph, best by Adamic-Adar."""
PROFILE_PARTNERS = 10
"""Most alike profiles per member (interests, needs met both ways, groups, attribute values)."""
RANDOM_PARTNERS = 3
"""Members drawn at random per member, so that every member has options."""
ALL_PAIRS_UP_TO = 64
"""Rounds of at most this many members consider every pair."""
ALL_LEFTOVER_PAIRS_UP_TO = 400
"""Members left over by the matching, up to this many, are offered every pair among them."""
LEFTOVER_PARTNERS = 40
"""Partners drawn at random for each member left over when there are more."""
PROFILE_ROWS_PER_BLOCK = 1024
"""Members whose profile similarities are computed at once (a dense block of this many rows)."""
DENSE_PROFILE_CELLS = 16_000_000
"""Round members times profile tags up to which the candidates' tags are held as a dense matrix."""
ATTRIBUTE_SIMILARITY = 0.25
"""Profile similarity of one shared attribute value, against interest cosine (0..1)."""
DEFAULT_AVOID_REPEAT_ROUNDS = 4

ONLINE, IN_PERSON = 1, 2

NOT_OPEN = "not open to suggestions"
NO_COMMON_FORMAT = "no other member in this round shares a meeting format and a language with them"
NO_ALLOWED_PARTNER = (
    "everyone they could meet is already a connection, blocked, declined or met them in the last {rounds} rounds"
)
PARTNERS_TAKEN = "every partner they could meet was paired with someone else this round"
ALONE = "the only member in this round"


@dataclass(frozen=True)
class RoundGroup:
    """Members introduced to each other (two, or three when one absorbs an odd member out).

    ``score`` is the mean suggestion score of the group's pairs (0..1); ``weight`` what the
    round maximised for it. ``reasons`` holds, for each member, the reasons written for them
    about the others (private needs never named); ``intro`` is one text for all of them.
    """

    member_ids: tuple[str, ...]
    score: float
    weight: float
    crosses_silo: bool
    reasons: dict[str, list[Reason]]
    intro: str


@dataclass(frozen=True)
class Unpaired:
    member_id: str
    reason: str


@dataclass(frozen=True)
class Round:
    """A planned round: the groups, who is left out and why, the objective and its bound.

    ``objective`` is the sum of the groups' weights; no round over the same candidate graph can
    exceed ``bound``.
    """

    groups: list[RoundGroup]
    unpaired: list[Unpaired]
    objective: float
    bound: float
    candidate_pairs: int = 0
    stats: dict[str, float] = field(default_factory=dict)


def plan_round(
    index: SuggestionIndex,
    *,
    member_ids: Iterable[str] | None = None,
    profiles: Mapping[str, MemberProfile] | None = None,
    excluded_pairs: Iterable[tuple[str, str]] = (),
    not_open: Iterable[str] = (),
    history: Sequence[Iterable[Sequence[str]]] = (),
    avoid_repeat_rounds: int = DEFAULT_AVOID_REPEAT_ROUNDS,
    bridging_weight: float = 0.0,
    now: datetime | None = None,
    random_state: int = 0,
) -> Round:
    """Pair the round's members (see the module docstring).

    Parameters
    ----------
    index : SuggestionIndex
        The community's index (ties, blocks and declined pairs it holds are respected).
    member_ids : iterable of str, optional
        Who takes part; default every member open to suggestions. Unknown ids raise ``KeyError``.
    profiles : mapping of member id to MemberProfile, optional
        Where meeting formats and languages are read; members without one accept any.
    excluded_pairs : iterable of (member_id, member_id)
        Further pairs never to introduce (ties, blocks and declines newer than the index).
    not_open : iterable of str
        Further members not open to suggestions (opt-outs newer than the index).
    history : sequence of rounds, most recent first
        Each round is an iterable of groups (member id sequences); pairs within a group of one
        of the last ``avoid_repeat_rounds`` rounds are not introduced again.
    bridging_weight : float
        0..1, how strongly pairs across silos are favoured (as in suggestions).
    now : datetime, optional
        The time newness is measured against.
    random_state : int
        Seeds the members drawn at random: the same inputs and seed give the same round.
    """
    if not 0.0 <= bridging_weight <= 1.0:
        raise ValueError(f"bridging_weight must be between 0 and 1, got {bridging_weight}")
    if avoid_repeat_rounds < 0:
        raise ValueError(f"avoid_repeat_rounds must be >= 0, got {avoid_repeat_rounds}")
    position = index.position
    n = index.number_of_members
    closed = np.zeros(n, dtype=bool)
    closed[[position[m] for m in not_open if m in position]] = True
    closed |= ~index.open_to_suggestions
    if member_ids is None:
        asked = np.flatnonzero(~closed)
    else:
        asked = np.unique(np.array([position[m] for m in member_ids], dtype=np.int64))
    unpaired = [Unpaired(index.member_ids[i], NOT_OPEN) for i in asked[closed[asked]].tolist()]
    members = asked[~closed[asked]]
    if len(members) < 2:
        alone = [Unpaired(index.member_ids[i], ALONE) for i in members.tolist()]
        return Round([], unpaired + alone, 0.0, 0.0)

    moment = epoch_seconds(now or datetime.now(UTC))
    formats, languages = _meeting_codes(index, profiles)
    forbidden = _forbidden(index, excluded_pairs, history[:avoid_repeat_rounds])
    rng = np.random.default_rng(random_state)

    u, v = _candidate_pairs(index, members, rng)
    allowed = _compatible(formats, languages, u, v) & ~_contains(forbidden, u, v, n)
    u, v = u[allowed], v[allowed]
    u, v = _add_fallback_pairs(index, members, u, v, formats, languages, forbidden, rng)

    degree = index.ties.degree
    is_new = (moment - index.joined_at) < NEW_MEMBER_DAYS * 86_400
    priority = 1.0 + FEW_TIES_BONUS / (1.0 + degree) + NEW_MEMBER_BONUS * is_new
    score, crosses = _pair_scores(index, u, v, bridging_weight)
    weight = score * (priority[u] + priority[v]) / 2.0

    # Solve on the round's members only, renumbered 0..m-1.
    local = np.full(n, -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    matching = max_weight_matching(len(members), local[u], local[v], weight)
    mate = matching.mate
    keys = u * n + v  # sorted: the pairs come out of np.unique

    def edge(a: int, b: int) -> int | None:
        key = min(a, b) * n + max(a, b)
        at = int(np.searchsorted(keys, key))
        return at if at < len(keys) and keys[at] == key else None

    chosen: list[list[int]] = []
    group_weight: list[float] = []
    for a_local, b_local in enumerate(mate.tolist()):
        if b_local > a_local:
            a, b = int(members[a_local]), int(members[b_local])
            chosen.append([a, b])
            group_weight.append(float(weight[edge(a, b)]))
    objective = float(matching.weight)
    bound = float(matching.bound)

    has_partner = np.zeros(n, dtype=bool)
    has_partner[u] = has_partner[v] = True
    # A second chance: members whose candidates were all taken may still meet each other.
    leftover = members[(mate < 0) & has_partner[members]]
    extra_u, extra_v = _leftover_pairs(leftover, formats, languages, forbidden, n, rng)
    if len(extra_u):
        extra_score, extra_crosses = _pair_scores(index, extra_u, extra_v, bridging_weight)
        extra_weight = extra_score * (priority[extra_u] + priority[extra_v]) / 2.0
        spot = np.full(n, -1, dtype=np.int64)
        spot[leftover] = np.arange(len(leftover))
        second = max_weight_matching(len(leftover), spot[extra_u], spot[extra_v], extra_weight)
        u, v = np.concatenate([u, extra_u]), np.concatenate([v, extra_v])
        order = np.argsort(u * n + v)
        u, v = u[order], v[order]
        score = np.concatenate([score, extra_score])[order]
        crosses = np.concatenate([crosses, extra_crosses])[order]
        weight = np.concatenate([weight, extra_weight])[order]
        keys = u * n + v
        for a_local, b_local in second.pairs():
            a, b = int(leftover[a_local]), int(leftover[b_local])
            chosen.append([a, b])
            group_weight.append(float(weight[edge(a, b)]))
            mate[local[a]], mate[local[b]] = local[b], local[a]
        objective += second.weight
        # A matching of all these edges splits into one of the candidate graph and one among
        # the leftovers, so the two bounds add up.
        bound += second.bound
    free = [int(members[k]) for k in np.flatnonzero(mate < 0).tolist()]
    free.sort(key=lambda i: -priority[i])
    trio_formed = False
    for x in free:
        if trio_formed or not has_partner[x]:
            continue
        best: tuple[float, int] | None = None
        for g, group in enumerate(chosen):
            a, b = group
            ka, kb = edge(x, a), edge(x, b)
            if ka is None or kb is None:
                continue
            gained = float(weight[ka] + weight[kb]) / 2.0
            if best is None or gained > best[0]:
                best = (gained, g)
        if best is not None:
            chosen[best[1]].append(x)
            group_weight[best[1]] += best[0]
            objective += best[0]
            # Any matching plus this member's two half-edges stays below bound + its best edge.
            bound += float(weight[(u == x) | (v == x)].max())
            trio_formed = True

    placed = {i for group in chosen for i in group}
    for x in free:
        if x in placed:
            continue
        if has_partner[x]:
            reason = PARTNERS_TAKEN
        elif not _any_compatible(formats, languages, x, members):
            reason = NO_COMMON_FORMAT
        else:
            reason = NO_ALLOWED_PARTNER.format(rounds=avoid_repeat_rounds)
        unpaired.append(Unpaired(index.member_ids[x], reason))

    groups = [
        _describe(index, group, edge, score, total, crosses, moment)
        for group, total in zip(chosen, group_weight, strict=True)
    ]
    groups.sort(key=lambda g: -g.weight)
    return Round(
        groups,
        unpaired,
        objective=objective,
        bound=max(bound, objective),
        candidate_pairs=len(u),
    )


def _meeting_codes(
    index: SuggestionIndex, profiles: Mapping[str, MemberProfile] | None
) -> tuple[np.ndarray, list[frozenset[str]]]:
    """Per member a format bit mask (both when unknown) and the set of languages (empty: any)."""
    n = index.number_of_members
    formats = np.full(n, ONLINE | IN_PERSON, dtype=np.int8)
    languages: list[frozenset[str]] = [frozenset()] * n
    for member_id, profile in (profiles or {}).items():
        at = index.position.get(member_id)
        if at is None:
            continue
        formats[at] = (ONLINE if "online" in profile.formats else 0) | (
            IN_PERSON if "in_person" in profile.formats else 0
        )
        languages[at] = frozenset(profile.languages)
    return formats, languages


def _compatible(formats: np.ndarray, languages: Sequence[frozenset[str]], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which pairs share a meeting format and, when both list languages, a language."""
    ok = (formats[u] & formats[v]) != 0
    if any(languages):
        listed = np.array([bool(spoken) for spoken in languages], dtype=bool)
        for k in np.flatnonzero(ok & listed[u] & listed[v]).tolist():
            ok[k] = not languages[u[k]].isdisjoint(languages[v[k]])
    return ok


def _any_compatible(formats: np.ndarray, languages: Sequence[frozenset[str]], x: int, members: np.ndarray) -> bool:
    others = members[members != x]
    return bool(_compatible(formats, languages, np.full(len(others), x), others).any())


def _forbidden(
    index: SuggestionIndex,
    excluded_pairs: Iterable[tuple[str, str]],
    recent_rounds: Iterable[Iterable[Sequence[str]]],
) -> np.ndarray:
    """Sorted keys ``min * n + max`` of pairs never to introduce now: ties, blocks and declines
    in the index, ``excluded_pairs``, and pairs grouped together in ``recent_rounds``."""
    n = index.number_of_members
    position = index.position
    pairs: list[tuple[int, int]] = []
    for a, b in excluded_pairs:
        if a in position and b in position:
            pairs.append((position[a], position[b]))
    for groups in recent_rounds:
        for group in groups:
            known = [position[m] for m in group if m in position]
            pairs.extend((a, b) for k, a in enumerate(known) for b in known[k + 1 :])
    excluded = sp.triu(index.excluded_pairs + index.excluded_pairs.T, k=1).tocoo()
    ties = sp.triu(index.adjacency, k=1).tocoo()
    first = np.concatenate([np.array([p[0] for p in pairs], dtype=np.int64), excluded.row, ties.row]).astype(np.int64)
    second = np.concatenate([np.array([p[1] for p in pairs], dtype=np.int64), excluded.col, ties.col]).astype(np.int64)
    return np.unique(np.minimum(first, second) * n + np.maximum(first, second))


def _contains(keys: np.ndarray, u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    wanted = np.minimum(u, v) * n + np.maximum(u, v)
    if len(keys) == 0:
        return np.zeros(len(u), dtype=bool)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[at] == wanted


def _top_per_row(matrix: sp.csr_array, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the ``k`` largest stored entries of each row, largest first; ties go
    to the lower column."""
    matrix = sp.csr_array(matrix)
    matrix.sort_indices()
    indptr, data = matrix.indptr, matrix.data
    lengths = np.diff(indptr)
    keep = np.ones(len(data), dtype=bool)
    # Rows longer than k keep the entries above their k-th largest value, then the first at it.
    for row in np.flatnonzero(lengths > k).tolist():
        lo, hi = indptr[row], indptr[row + 1]
        values = data[lo:hi]
        threshold = np.partition(values, len(values) - k)[len(values) - k]
        mask = values > threshold
        mask[np.flatnonzero(values == threshold)[: k - int(mask.sum())]] = True
        keep[lo:hi] = mask
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), lengths)[keep]
    cols = matrix.indices[keep].astype(np.int64)
    order = np.lexsort((cols, -data[keep], rows))
    return rows[order], cols[order]


def _candidate_pairs(
    index: SuggestionIndex, members: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs ``u < v`` of round members worth scoring (no rule applied yet)."""
    n = index.number_of_members
    if len(members) <= ALL_PAIRS_UP_TO:
        first, second = np.triu_indices(len(members), k=1)
        return members[first], members[second]
    taking = np.zeros(n, dtype=np.float32)
    taking[members] = 1.0
    keep = sp.diags_array(taking)
    binary = sp.csr_array(index.adjacency, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    binary = keep @ binary  # paths start at a round member
    hops = binary @ sp.diags_array(index.ties.adamic_adar_weight) @ binary.T
    hops = sp.csr_array(hops)
    hops.setdiag(0)
    hops.eliminate_zeros()
    parts_u, parts_v = [], []
    rows, cols = _top_per_row(hops, TWO_HOP_PARTNERS)
    parts_u.append(rows)
    parts_v.append(cols)

    tags = index.profile_tags
    column_weight = np.where(index.tag_block == ATTRIBUTES_BLOCK, ATTRIBUTE_SIMILARITY, 1.0)
    queries = index.profile_queries[members] @ sp.diags_array(column_weight.astype(np.float32))
    candidates = tags[members].T.tocsr()
    if candidates.shape[0] * candidates.shape[1] <= DENSE_PROFILE_CELLS:
        candidates = candidates.toarray()  # a sparse block times a dense matrix is the faster product
    for start in range(0, len(members), PROFILE_ROWS_PER_BLOCK):
        product = queries[start : start + PROFILE_ROWS_PER_BLOCK] @ candidates
        block = product if isinstance(product, np.ndarray) else product.toarray()
        rows = np.arange(start, start + len(block))
        block[rows - start, rows] = 0.0
        k = min(PROFILE_PARTNERS, block.shape[1] - 1)
        if k <= 0:
            continue
        best = np.argpartition(-block, k - 1, axis=1)[:, :k]
        picked = np.take_along_axis(block, best, axis=1) > 0
        parts_u.append(members[np.repeat(rows, k)[picked.ravel()]])
        parts_v.append(members[best.ravel()[picked.ravel()]])

    draws = rng.integers(0, len(members), size=(len(members), RANDOM_PARTNERS))
    parts_u.append(np.repeat(members, RANDOM_PARTNERS))
    parts_v.append(members[draws.ravel()])

    u = np.concatenate(parts_u).astype(np.int64)
    v = np.concatenate(parts_v).astype(np.int64)
    u, v = np.minimum(u, v), np.maximum(u, v)
    keys = np.unique(u[u != v] * n + v[u != v])
    return keys // n, keys % n


def _add_fallback_pairs(
    index: SuggestionIndex,
    members: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    formats: np.ndarray,
    languages: Sequence[frozenset[str]],
    forbidden: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Give members left without a candidate a few allowed partners from the whole round.

    Candidates are sampled, so a member whose sampled pairs all broke a rule may still have
    allowed partners; they are looked up exhaustively, for those members only.
    """
    n = index.number_of_members
    covered = np.zeros(n, dtype=bool)
    covered[u] = covered[v] = True
    extra_u, extra_v = [u], [v]
    for x in members[~covered[members]].tolist():
        others = members[members != x]
        xs = np.full(len(others), x)
        ok = _compatible(formats, languages, xs, others) & ~_contains(forbidden, xs, others, n)
        allowed = others[ok]
        if len(allowed):
            picked = rng.permutation(allowed)[: RANDOM_PARTNERS + PROFILE_PARTNERS]
            extra_u.append(np.minimum(x, picked))
            extra_v.append(np.maximum(x, picked))
    u = np.concatenate(extra_u)
    v = np.concatenate(extra_v)
    keys = np.unique(u * n + v)
    return keys // n, keys % n


def _leftover_pairs(
    leftover: np.ndarray,
    formats: np.ndarray,
    languages: Sequence[frozenset[str]],
    forbidden: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Allowed pairs ``u < v`` among members left over: every pair of up to
    ``ALL_LEFTOVER_PAIRS_UP_TO`` members, else ``LEFTOVER_PARTNERS`` drawn at random each."""
    if len(leftover) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if len(leftover) <= ALL_LEFTOVER_PAIRS_UP_TO:
        first, second = np.triu_indices(len(leftover), k=1)
        u, v = leftover[first], leftover[second]
    else:
        draws = rng.integers(0, len(leftover), size=(len(leftover), LEFTOVER_PARTNERS))
        u, v = np.repeat(leftover, LEFTOVER_PARTNERS), leftover[draws.ravel()]
    u, v = np.minimum(u, v), np.maximum(u, v)
    keys = np.unique(u[u != v] * n + v[u != v])
    u, v = keys // n, keys % n
    allowed = _compatible(formats, languages, u, v) & ~_contains(forbidden, u, v, n)
    return u[allowed], v[allowed]


def _pair_scores(
    index: SuggestionIndex, u: np.ndarray, v: np.ndarray, bridging_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the model's probabilities from each side (with the bridging bonus), and whether
    each pair crosses detected silos."""
    if len(u) == 0:
        return np.empty(0), np.empty(0, dtype=bool)
    forward = _edge_features(index, u, v)
    # Only needs, offers and degrees depend on the side: the rest is the same both ways.
    backward = replace(
        forward, candidates=u, needs_met=forward.offers_wanted, offers_wanted=forward.needs_met,
        target_degree=forward.candidate_degree, candidate_degree=forward.target_degree,
    )
    probabilities = []
    for features, targets in ((forward, u), (backward, v)):
        cold = index.ties.degree[targets] == 0
        log_odds = index.ranker.decision_function(features.model_inputs())
        if cold.any():
            cold_odds = index.cold_ranker.decision_function(features.model_inputs(cold=True))
            log_odds = np.where(cold, cold_odds, log_odds)
        log_odds = log_odds + bridging_weight * BRIDGING_STRENGTH * features.silo_distance()
        probabilities.append(1.0 / (1.0 + np.exp(-log_odds)))
    return (probabilities[0] + probabilities[1]) / 2.0, forward.crosses_silo


def _row_dot(left: sp.csr_array, right: sp.csr_array, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``left[u[k]] . right[v[k]]`` for every k."""
    return np.asarray(left[u].multiply(right[v]).sum(axis=1)).ravel().astype(np.float64)


def _binary(matrix: sp.csr_array) -> sp.csr_array:
    out = matrix.copy()
    out.data[:] = 1.0
    return out


def _edge_features(index: SuggestionIndex, u: np.ndarray, v: np.ndarray) -> PairFeatures:
    """Pair features of ``(u[k], v[k])`` from ``u``'s side, for many pairs at once.

    The same quantities as :func:`matching.features.pair_features`, except the twin columns
    (who a member without ties' profile twins know), which are 0 here.
    """
    adjacency = _binary(index.adjacency)
    common = _row_dot(adjacency, adjacency, u, v)
    weighted = adjacency @ sp.diags_array(index.ties.adamic_adar_weight.astype(np.float32))
    adamic_adar = _row_dot(weighted, adjacency, u, v)
    degree = index.ties.degree.astype(np.int64)
    union = degree[u] + degree[v] - common
    jaccard = np.divide(common, union, out=np.zeros(len(u)), where=union > 0)
    codes = index.attribute_codes
    both = (codes[u] >= 0) & (codes[v] >= 0)
    same = both & (codes[u] == codes[v])
    shared_attributes = same.sum(axis=1)
    silo = index.silo
    comparable = (silo[u] != NO_SILO) & (silo[v] != NO_SILO)
    zeros = np.zeros(len(u))
    return PairFeatures(
        target=-1,
        candidates=v,
        common_neighbours=common,
        adamic_adar=adamic_adar,
        jaccard=jaccard,
        interest_cosine=_row_dot(index.interests, index.interests, u, v),
        shared_interests=_row_dot(_binary(index.interests), _binary(index.interests), u, v),
        needs_met=_row_dot(index.needs, index.offers, u, v),
        offers_wanted=_row_dot(index.offers, index.needs, u, v),
        same_attribute=same,
        shared_attributes=shared_attributes,
        different_attributes=both.sum(axis=1) - shared_attributes,
        shared_group=_row_dot(index.groups, index.groups, u, v) > 0,
        target_degree=degree[u],
        candidate_degree=degree[v],
        crosses_silo=comparable & (silo[u] != silo[v]),
        comparable_silo=comparable,
        twin_ties=zeros,
        twin_similarity=zeros,
    )


def _describe(
    index: SuggestionIndex,
    group: list[int],
    edge: Callable[[int, int], int | None],
    score: np.ndarray,
    weight: float,
    crosses: np.ndarray,
    moment: float,
) -> RoundGroup:
    """The group as members see it: scores, reasons for each member, and one intro text."""
    edges = [edge(a, b) for k, a in enumerate(group) for b in group[k + 1 :]]
    known = [k for k in edges if k is not None]
    adjacency = index.ties
    reasons: dict[str, list[Reason]] = {}
    for k, member in enumerate(group):
        partner = group[1] if k == 0 else group[0]
        writer = ReasonWriter(index, member, frozenset(index.silo[adjacency.neighbours(member)].tolist()))
        common = len(np.intersect1d(adjacency.neighbours(member), adjacency.neighbours(partner), assume_unique=True))
        reasons[index.member_ids[member]] = writer.reasons(
            partner,
            common_neighbours=common,
            crosses_silo=bool(index.silo[member] != index.silo[partner])
            and index.silo[member] != NO_SILO
            and index.silo[partner] != NO_SILO,
            candidate_is_new=bool(moment - index.joined_at[partner] < NEW_MEMBER_DAYS * 86_400),
        )
    return RoundGroup(
        member_ids=tuple(index.member_ids[m] for m in group),
        score=round(float(np.mean(score[known])), 4) if known else 0.0,
        weight=weight,
        crosses_silo=bool(crosses[known[0]]) if known else False,
        reasons=reasons,
        intro=_intro(index, group, reasons),
    )


def _intro(index: SuggestionIndex, group: list[int], reasons: Mapping[str, list[Reason]]) -> str:
    """One text to send to every member of the group, built only from their public reasons."""
    names = [index.display_names[m] or "a fellow member" for m in group]
    if len(names) == 2:
        opening = f"Meet each other: {names[0]} and {names[1]}."
    else:
        opening = f"Meet each other: {names[0]}, {names[1]} and {names[2]}."
    lines = [opening]
    first = reasons.get(index.member_ids[group[0]], [])
    shared = [r for r in first if r["kind"] == "shared_interests"]
    if shared:
        lines.append(str(shared[0]["text"]) + ".")
    for k, member in enumerate(group[:2]):
        other = names[1 - k]
        for reason in reasons.get(index.member_ids[member], []):
            if reason["kind"] == "can_help_you":
                tags = reason["tags"]
                assert isinstance(tags, list)
                lines.append(f"{other} can help {names[k]} with {', '.join(map(str, tags))}.")
    if any(r["kind"] == "same_support_group" for r in first):
        lines.append("You are in the same support group.")
    lines.append("Say hello and find a time that suits you both.")
    return " ".join(lines)
