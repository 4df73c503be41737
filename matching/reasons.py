"""Why a member is suggested, in plain words: a short list of ``{kind, text, tags}`` dicts.

Reasons are written for the target (``you``) about the candidate (their display name, or a
neutral "They"/"them"). Private needs are never named, whoever they belong to: a tag that is in
either member's private needs is left out of every reason, even where it is also an interest or
an offer, and a match that rests only on a private need gives no reason at all.

Kinds: ``shared_interests``, ``can_help_you``, ``you_can_help``, ``mutual_connections``,
``same_support_group``, ``new_part_of_community``, ``new_member``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from belonging.matching.stored import take
from belonging.matching.target import Target

if TYPE_CHECKING:
    from belonging.matching.index import SuggestionIndex

MAX_TAGS_NAMED = 3
Reason = dict[str, object]


class ReasonWriter:
    """Writes reasons for one target; reads the target's tags once, then each candidate's.

    ``silos_known`` are the silos of the target's current ties: a candidate across silos from
    one of those is not "from a part of the community you have no ties to yet".
    """

    def __init__(self, index: SuggestionIndex, target: int | Target, silos_known: frozenset[int]) -> None:
        self.index = index
        self.silos_known = silos_known
        asker = target if isinstance(target, Target) else Target.of(index, target)
        # Rarest first: a higher TF-IDF weight means fewer members share the tag.
        order = np.argsort(-asker.interest_weights, kind="stable")
        self.interests = asker.interest_columns[order].tolist()
        self.public_needs = set(asker.public_needs)
        self.offers = set(asker.offers)
        self.groups = set(asker.groups)
        self.private_names = set(asker.private_needs)

    def reasons(
        self,
        candidate: int,
        *,
        common_neighbours: int,
        crosses_silo: bool,
        candidate_is_new: bool = False,
    ) -> list[Reason]:
        """The reasons ``candidate`` is suggested to the target, strongest first."""
        return self.reasons_for(
            [candidate],
            common_neighbours=[common_neighbours],
            crosses_silo=[crosses_silo],
            candidate_is_new=[candidate_is_new],
        )[0]

    def reasons_for(
        self,
        candidates: Sequence[int],
        *,
        common_neighbours: Sequence[int],
        crosses_silo: Sequence[bool],
        candidate_is_new: Sequence[bool],
    ) -> list[list[Reason]]:
        """:meth:`reasons` for each of ``candidates`` (the other sequences aligned with it).

        Each tag matrix is read for all candidates with a few vectorised gathers, rather than a
        few numpy calls per candidate: a request names about 25 candidates, and per-call
        overhead, not data, is what numpy costs at that size.
        """
        index = self.index
        rows = np.asarray(candidates, dtype=np.int64)
        no_rows: list[list[int]] = [[] for _ in candidates]
        interests = _columns(index.interests, rows) if self.interests else no_rows
        offers = _columns(index.offers, rows) if self.public_needs else no_rows
        public_needs = _columns(index.public_needs, rows) if self.offers else no_rows
        groups = _columns(index.groups, rows) if self.groups else no_rows
        silos = index.silo[rows].tolist()
        hidden = self._hidden(rows)
        vocabulary = index.interest_vocabulary
        written: list[list[Reason]] = []
        for k, name in enumerate(take(index.display_names, candidates)):
            subject, whom, be = (name, name, "is") if name else ("They", "them", "are")
            reasons: list[Reason] = []
            if self.interests:
                theirs = set(interests[k])
                shared = [vocabulary[c] for c in self.interests if c in theirs]
                shared = [tag for tag in shared if tag not in hidden[k]][:MAX_TAGS_NAMED]
                if shared:
                    text = f"You both care about {_join(shared)}"
                    reasons.append(_reason("shared_interests", text, shared))
            if offers[k]:
                helps = self._support(self.public_needs.intersection(offers[k]), hidden[k])
                if helps:
                    text = f"{subject} can help with {_join(helps)}, which you asked for"
                    reasons.append(_reason("can_help_you", text, helps))
            if public_needs[k]:
                helped = self._support(self.offers.intersection(public_needs[k]), hidden[k])
                if helped:
                    text = f"You could help {whom} with {_join(helped)}"
                    reasons.append(_reason("you_can_help", text, helped))
            mutual = common_neighbours[k]
            if mutual == 1:
                text = f"1 person you know already knows {whom}"
                reasons.append(_reason("mutual_connections", text, []))
            elif mutual > 1:
                text = f"{mutual} people you know already know {whom}"
                reasons.append(_reason("mutual_connections", text, []))
            if groups[k] and not self.groups.isdisjoint(groups[k]):
                reasons.append(_reason("same_support_group", "You are in the same support group", []))
            if crosses_silo[k] and silos[k] not in self.silos_known:
                text = f"{subject} {be} from a part of the community you have no ties to yet"
                reasons.append(_reason("new_part_of_community", text, []))
            if candidate_is_new[k]:
                reasons.append(_reason("new_member", f"{subject} {be} new to the community", []))
            written.append(reasons)
        return written

    def _hidden(self, rows: np.ndarray) -> list[set[str]]:
        """Names never to show for each of ``rows``: the target's private needs and theirs."""
        index = self.index
        needs, public = index.needs, index.public_needs
        needs_start, needs_end = needs.indptr[rows].tolist(), needs.indptr[rows + 1].tolist()
        public_start, public_end = public.indptr[rows].tolist(), public.indptr[rows + 1].tolist()
        hidden = []
        for k in range(len(rows)):
            if needs_end[k] - needs_start[k] == public_end[k] - public_start[k]:
                # Public needs are a subset of needs: equal counts, no private ones.
                hidden.append(self.private_names)
                continue
            private = set(needs.indices[needs_start[k] : needs_end[k]].tolist()) - set(
                public.indices[public_start[k] : public_end[k]].tolist()
            )
            hidden.append(self.private_names | {index.support_vocabulary[c] for c in private})
        return hidden

    def _support(self, columns: set[int], hidden: set[str]) -> list[str]:
        names = sorted(self.index.support_vocabulary[k] for k in columns)
        return [tag for tag in names if tag not in hidden][:MAX_TAGS_NAMED]


def _reason(kind: str, text: str, tags: Sequence[str]) -> Reason:
    return {"kind": kind, "text": text, "tags": list(tags)}


def _columns(matrix: sp.csr_array, rows: np.ndarray) -> list[list[int]]:
    """The column indices of each of ``rows``: one gather of where rows start and end, then a
    slice per row (most rows of the support matrices are empty, and cost no numpy call)."""
    indptr, indices = matrix.indptr, matrix.indices
    starts, ends = indptr[rows].tolist(), indptr[rows + 1].tolist()
    return [indices[lo:hi].tolist() if hi > lo else [] for lo, hi in zip(starts, ends, strict=True)]


def _join(names: Sequence[str]) -> str:
    """``["a"]`` -> ``"a"``; ``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
