"""Request and response bodies. ``*In`` is what clients send, the bare name is what they get."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from belonging.matching.profiles import MAX_TAG_LENGTH, MAX_TAGS, normalise_tag, normalise_tags

MEMBER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
ATTRIBUTE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
MAX_ATTRIBUTES = 20
MAX_LANGUAGES = 10
#: Tie weights are stored as 4-byte floats: far smaller weights would round to nothing (and fail to store).
MIN_TIE_WEIGHT = 1e-6
MAX_TIE_WEIGHT = 1_000_000



#: Control characters no client has a reason to send: tab, line feed and carriage return are fine.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def unstorable(text: str) -> str | None:
    """What in ``text`` is refused: a NUL or a lone surrogate (PostgreSQL cannot store them as
    text) or another control character (it would reach logs, pages and exports); None if nothing."""
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    control = _CONTROL.search(text)
    if control is not None:
        return f"a control character (\\u{ord(control[0]):04x})"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone surrogate (half of a UTF-16 pair, such as \\ud800)"
    return None


def no_nul_or_lone_surrogate(text: str) -> str:
    """``text`` unchanged if it is acceptable; a NUL, a lone surrogate or a control character is refused."""
    found = unstorable(text)
    if found is not None:
        raise ValueError(f"contains {found}; remove it")
    return text


def canonical_uuid(text: str) -> str:
    """``text`` as a lowercase, dashed UUID; anything that is not a UUID is refused."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ValueError("is not a UUID (like 3f2b8c1e-5d6a-4e7f-9a0b-1c2d3e4f5a6b)") from None


#: Any free text a client sends: every string field of every request model, path and query.
Text = Annotated[str, AfterValidator(no_nul_or_lone_surrogate)]
MemberId = Annotated[str, StringConstraints(pattern=MEMBER_ID_PATTERN)]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
#: Group, placement, suggestion and job ids: checked before any SQL, kept as canonical text.
Uuid = Annotated[str, StringConstraints(max_length=45), AfterValidator(canonical_uuid),
                 WithJsonSchema({"type": "string", "format": "uuid"})]
Format = Literal["online", "in_person"]

#: The type of a response field that some answers leave out (``X | Absent = sometimes(...)``).
Absent = SkipJsonSchema[None]


def _is_none(value: Any) -> bool:
    return value is None


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def sometimes(description: str) -> Any:
    """A response field that is present only in some answers, and never null when present.

    Left out of the body when not set (rather than sent as null), and documented as optional
    but not nullable, which is what clients see.
    """
    return Field(default=None, description=description, exclude_if=_is_none, json_schema_extra=_without_default)


def _both_formats() -> list[Format]:
    return ["online", "in_person"]


_SUSPECT = re.compile(r"\\x(?:0[0-8bcef]|1[0-9a-f]|7f)|\\ud[89a-f]")


def _unstorable_leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted path, what) for every string in ``value`` that cannot be stored, keys included."""
    if isinstance(value, str):
        found = unstorable(value)
        if found is not None:
            yield ".".join(path) or "value", found
    elif isinstance(value, BaseModel):
        return  # a nested request model checked itself
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            found = unstorable(key_text)
            if found is not None:
                yield ".".join((*path, "(key)")), found
                continue
            yield from _unstorable_leaves(item, (*path, key_text))
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from _unstorable_leaves(item, (*path, str(i)))


def _tags(values: list[str]) -> list[str]:
    tags = normalise_tags(values)
    too_long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
    if too_long:
        raise ValueError(f"tags must be at most {MAX_TAG_LENGTH} characters: {too_long[0][:80]!r}")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(tags)}")
    return tags


Tags = Annotated[list[Annotated[Text, StringConstraints(max_length=4 * MAX_TAG_LENGTH)]],
                 AfterValidator(_tags)]


def _languages(values: list[str]) -> list[str]:
    languages = normalise_tags(values)
    if len(languages) > MAX_LANGUAGES:
        raise ValueError(f"at most {MAX_LANGUAGES} languages")
    bad = [v for v in languages if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", v)]
    if bad:
        raise ValueError(f"languages are codes like 'en' or 'pt-br', not {bad[0][:40]!r}")
    return languages


def _attributes(values: dict[str, str]) -> dict[str, str]:
    if len(values) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
    cleaned: dict[str, str] = {}
    for name, value in values.items():
        if not re.fullmatch(ATTRIBUTE_NAME_PATTERN, name):
            raise ValueError(
                f"attribute names are lowercase letters, digits and _ (got {name[:40]!r})"
            )
        value = normalise_tag(value) if isinstance(value, str) else value
        if not value:
            continue
        if len(value) > 200:
            raise ValueError(f"attribute {name!r} is longer than 200 characters")
        cleaned[name] = value
    return cleaned


class Strict(BaseModel):
    """The base of every request model: unknown fields are refused, and so is unstorable text.

    Fields are typed ``Text`` (or a stricter type) one by one; the model-wide check below is the
    net under them, so a string field added without ``Text`` (or a dict key, or a list item)
    still cannot carry a NUL or a lone surrogate to the database.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable_text(self) -> Self:
        # repr escapes a NUL as \x00, other control characters as \x01-\x1f and \x7f (tab, line
        # feed and carriage return as \t, \n, \r) and a lone surrogate as \ud800-\udfff, so one
        # scan of it in C clears almost every model; only a hit (or a literal backslash sequence)
        # walks the fields.
        if _SUSPECT.search(repr(self.__dict__)) is None:
            return self
        for name, value in self.__dict__.items():
            for where, found in _unstorable_leaves(value, (name,)):
                raise PydanticCustomError("unstorable_text", "contains {found}; remove it",
                                          {"where": where, "found": found})
        return self


class MemberIn(Strict):
    """A member's profile, as the platform sends it. Tags are normalised on the way in."""

    display_name: Annotated[Text, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        default=None, description="The name other members see, if the platform shares one.")
    interests: Tags = Field(default_factory=list, description="What the member cares about.")
    needs: Tags = Field(default_factory=list, description="Support the member is looking for (shown in reasons).")
    offers: Tags = Field(default_factory=list, description="What the member can give.")
    private_needs: Tags = Field(
        default_factory=list,
        description="Needs used for matching but never shown to anyone else.",
    )
    attributes: Annotated[dict[Text, Text], AfterValidator(_attributes)] = Field(
        default_factory=dict,
        description="Organiser-defined dimensions such as cohort or neighbourhood.",
    )
    formats: list[Format] = Field(
        default_factory=_both_formats,
        min_length=1,
        description="Meeting formats the member accepts; both when not given.",
    )
    languages: Annotated[list[Text], AfterValidator(_languages)] = Field(
        default_factory=list, description="Language codes; empty means any language."
    )
    open_to_suggestions: bool = Field(default=True, description="False: never suggested to others.")
    belonging_score: int | None = Field(
        default=None, ge=1, le=5, description="The member's latest belonging self-rating, 1 to 5, if any.")

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, formats: list[str]) -> list[str]:
        return list(dict.fromkeys(formats))


class MemberImportLine(MemberIn):
    member_id: MemberId


class Member(MemberIn):
    """A member's profile as stored, private needs included (only the member's platform sees them)."""

    member_id: str = Field(description="The platform's id for the member.")
    created_at: datetime = Field(description="When the member was first stored.")
    updated_at: datetime = Field(description="When the profile was last replaced.")


class MemberPage(BaseModel):
    members: list[Member] = Field(description="Members in id order.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class ImportResult(BaseModel):
    """What an NDJSON import wrote (all of it, or nothing and a 422)."""

    lines: int = Field(description="Lines read that were not blank.")
    created: int = Field(description="Rows that did not exist before.")
    updated: int = Field(description="Rows that existed and were replaced.")


class ConnectionIn(Strict):
    a: MemberId
    b: MemberId
    weight: float = Field(default=1.0, ge=MIN_TIE_WEIGHT, le=MAX_TIE_WEIGHT,
                          description="Strength of the tie, from 0.000001; 1 when not given.")
    kind: Annotated[Text, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    @field_validator("weight")
    @classmethod
    def _finite(cls, weight: float) -> float:
        if not math.isfinite(weight):
            raise ValueError("weight must be a finite number")
        return weight


class Connection(BaseModel):
    """An undirected tie between two members."""

    a: str = Field(description="One member.")
    b: str = Field(description="The other member.")
    weight: float = Field(description="Strength of the tie, above 0.")
    kind: str | None = Field(description="What kind of tie the platform says it is, if it said.")


class MemberConnection(BaseModel):
    member_id: str = Field(description="The other member of the tie.")
    weight: float = Field(description="Strength of the tie, above 0.")
    kind: str | None = Field(description="What kind of tie the platform says it is, if it said.")


class MemberConnections(BaseModel):
    member_id: str = Field(description="The member whose ties these are.")
    connections: list[MemberConnection] = Field(description="Every tie of the member.")


class CommunityIn(Strict):
    slug: Slug = Field(
        description="2-63 lowercase letters, digits and dashes; used in URLs."
    )
    name: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CommunityCreated(BaseModel):
    slug: str = Field(description="The community's slug, as in its URLs.")
    name: str = Field(description="The community's name.")
    platform_key: str = Field(description="Shown once; stored hashed.")
    organiser_key: str = Field(description="Shown once; stored hashed.")


class CommunitySettings(Strict):
    """Organiser settings. Every field has a documented default."""

    bridging_weight: float = Field(
        default=0.3, ge=0, le=1,
        description="0 = suggest purely by likely fit, 1 = favour ties across silos strongly.",
    )
    report_min_group_size: int = Field(
        default=5, ge=2, le=1000,
        description="k: attribute groups smaller than this are never broken out in reports.",
    )
    max_exposures_per_week: int = Field(
        default=20, ge=1, le=10_000,
        description="How often one member may be proposed to others in a rolling week.",
    )
    max_suggestions_per_request: int = Field(
        default=25, ge=1, le=100, description="Upper bound for `limit` on suggestion requests.",
    )
    new_member_days: int = Field(
        default=30, ge=0, le=365,
        description="Members who joined this many days ago or less count as new.",
    )


    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> CommunitySettings:
        """Stored overrides on top of the documented defaults."""
        return cls(**{k: v for k, v in stored.items() if k in cls.model_fields})


class CommunitySettingsPatch(Strict):
    bridging_weight: float | None = Field(default=None, ge=0, le=1)
    report_min_group_size: int | None = Field(default=None, ge=2, le=1000)
    max_exposures_per_week: int | None = Field(default=None, ge=1, le=10_000)
    max_suggestions_per_request: int | None = Field(default=None, ge=1, le=100)
    new_member_days: int | None = Field(default=None, ge=0, le=365)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class Reason(BaseModel):
    """One reason in plain words, and the public tags it is about."""

    kind: str = Field(description="What the reason rests on, such as `shared_interests`, `need`, `priority`.")
    text: str = Field(description="The reason as a sentence a member can read.")
    tags: list[str] = Field(default_factory=list, description="The tags it names (never private needs of others).")
