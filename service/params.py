"""Path and query parameters, declared once: each is checked before any SQL runs.

An id that is not well formed gets a 422 naming the parameter (a group id that is not a UUID,
a member id with a NUL); a well-formed id that names nothing gets the route's 404.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from belonging.service.schemas import MEMBER_ID_PATTERN, MemberId, Slug, Uuid

SlugPath = Annotated[Slug, Path(description="The community's slug.")]
MemberIdPath = Annotated[MemberId, Path(description="The platform's member id.")]
GroupIdPath = Annotated[Uuid, Path(description="The group's id.")]
PlacementIdPath = Annotated[Uuid, Path(description="The placement proposal's id.")]
SuggestionIdPath = Annotated[Uuid, Path(description="The suggestion's id.")]
JobIdPath = Annotated[Uuid, Path(description="The job's id.")]
RoundIdPath = Annotated[Uuid, Path(description="The round's id.")]
PairIdPath = Annotated[Uuid, Path(description="The pair's id.")]


def encode_cursor(member_id: str) -> str:
    """The opaque cursor that continues a member list after ``member_id``."""
    return base64.urlsafe_b64encode(member_id.encode()).decode().rstrip("=")


def _member_after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        member_id = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        member_id = ""
    # Every cursor this API hands out encodes a member id; anything else was not one of ours.
    if not re.fullmatch(MEMBER_ID_PATTERN, member_id):
        raise ValueError("is not a cursor this API returned; start without it")
    return member_id


#: The member id a page continues after, decoded from the ``cursor`` query parameter.
MemberCursor = Annotated[
    str | None,
    Query(alias="cursor", max_length=400, description="`next_cursor` of the previous page."),
    AfterValidator(_member_after),
]
