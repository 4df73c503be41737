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

    def _private_names(self, member: int) -> set[str]:
        index = self.index
        needs, public = index.needs, index.public_needs
        if needs.indptr[member + 1] - needs.indptr[member] == (
            public.indptr[member + 1] - public.indptr[member]
        ):
            return set()
        private = _tags(needs, member) - _tags(public, member)
        return {index.support_vocabulary[k] for k in private}

    def reasons(
        self,
        candidate: int,
        *,
        common_neighbours: int,
        crosses_silo: bool,
        candidate_is_new: bool = False,
    ) -> list[Reason]:
        """The reasons ``candidate`` is suggested to the target, strongest first."""
        index = self.index
        name = index.display_names[candidate]
        subject, whom, be = (name, name, "is") if name else ("They", "them", "are")
        hidden = self.private_names | self._private_names(candidate)
        reasons: list[Reason] = []

        if self.interests:
            theirs = _tags(index.interests, candidate)
            vocabulary = index.interest_vocabulary
            shared = [vocabulary[k] for k in self.interests if k in theirs]
            shared = [tag for tag in shared if tag not in hidden][:MAX_TAGS_NAMED]
            if shared:
                text = f"You both care about {_join(shared)}"
                reasons.append(_reason("shared_interests", text, shared))
        if self.public_needs:
            helps = self._support(_tags(index.offers, candidate) & self.public_needs, hidden)
            if helps:
                text = f"{subject} can help with {_join(helps)}, which you asked for"
                reasons.append(_reason("can_help_you", text, helps))
        if self.offers:
            helped = self._support(self.offers & _tags(index.public_needs, candidate), hidden)
            if helped:
                text = f"You could help {whom} with {_join(helped)}"
                reasons.append(_reason("you_can_help", text, helped))
        if common_neighbours == 1:
            text = f"1 person you know already knows {whom}"
            reasons.append(_reason("mutual_connections", text, []))
        elif common_neighbours > 1:
            text = f"{common_neighbours} people you know already know {whom}"
            reasons.append(_reason("mutual_connections", text, []))
        if self.groups and self.groups & _tags(index.groups, candidate):
            reasons.append(_reason("same_support_group", "You are in the same support group", []))
        if crosses_silo and int(index.silo[candidate]) not in self.silos_known:
            text = f"{subject} {be} from a part of the community you have no ties to yet"
            reasons.append(_reason("new_part_of_community", text, []))
        if candidate_is_new:
            reasons.append(_reason("new_member", f"{subject} {be} new to the community", []))
        return reasons

    def _support(self, columns: set[int], hidden: set[str]) -> list[str]:
        names = sorted(self.index.support_vocabulary[k] for k in columns)
        return [tag for tag in names if tag not in hidden][:MAX_TAGS_NAMED]


def _reason(kind: str, text: str, tags: Sequence[str]) -> Reason:
    return {"kind": kind, "text": text, "tags": list(tags)}


def _tags(matrix: sp.csr_array, row: int) -> set[int]:
    return set(matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]].tolist())


def _join(names: Sequence[str]) -> str:
    """``["a"]`` -> ``"a"``; ``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
