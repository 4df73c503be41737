"""Member profiles as plain data, and the one rule for normalising free-text tags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

MAX_TAG_LENGTH = 64
MAX_TAGS = 50


def normalise_tag(tag: str) -> str:
    """Trim, lowercase and collapse inner whitespace: ``"  CV   Writing "`` -> ``"cv writing"``."""
    return " ".join(tag.split()).lower()


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Normalise each tag, drop empty ones and duplicates, keep first-seen order.

    >>> normalise_tags([" Hiking", "hiking ", "Chess  Club", ""])
    ['hiking', 'chess club']
    """
    seen: dict[str, None] = {}
    for tag in tags:
        normalised = normalise_tag(tag)
        if normalised:
            seen.setdefault(normalised, None)
    return list(seen)


@dataclass(frozen=True)
class MemberProfile:
    """What matching knows about one member. Tags are already normalised.

    ``private_needs`` are used for matching but must never be shown to anyone else.
    """

    member_id: str
    display_name: str | None = None
    interests: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    private_needs: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    formats: tuple[str, ...] = ("online", "in_person")
    languages: tuple[str, ...] = ()
    open_to_suggestions: bool = True
    belonging_score: int | None = None
    created_at: datetime | None = None

    @property
    def all_needs(self) -> tuple[str, ...]:
        """Public and private needs together, for matching only."""
        return self.needs + tuple(n for n in self.private_needs if n not in self.needs)
