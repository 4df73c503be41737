"""Suggestions, their feedback, and the per-request facts that keep the hard rules exact."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from psycopg import AsyncConnection
from psycopg.rows import dict_row


class Ranked(Protocol):
    """A candidate as ranked: who, the score shown, and the reasons given."""

    @property
    def member_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def reasons(self) -> Any: ...


@dataclass(frozen=True)
class Recorded:
    """What :func:`record` did.

    ``status`` is ``ok`` (``recorded`` holds ``(candidate_id, suggestion_id)`` in rank order),
    ``unauthorised`` (the key is no longer active), ``settings`` (the community's settings
    changed: ``settings`` holds them), ``stale`` (the asking member changed after ``read_at``)
    or ``missing`` (the asking member does not exist). Only ``ok`` recorded anything.
    ``revision`` is the community's revision the call saw.
    """

    status: Literal["ok", "unauthorised", "settings", "stale", "missing"]
    revision: int
    settings: dict[str, Any] | None
    recorded: list[tuple[str, str]]


# The text never changes, so the statement is prepared once per connection.
_RECORD = (
    "SELECT status, revision, settings, kept, ids FROM record_suggestions("
    "%(cid)s::bigint, %(key_id)s::text, %(secret_hash)s::bytea, %(settings)s::jsonb, %(mid)s::text,"
    " %(read_at)s::bigint, %(ranked)s::jsonb, %(default_cap)s::integer, %(limit)s::integer, %(model_version)s::text)"
)


async def record(
    conn: AsyncConnection, community_id: int, member_id: str, ranked: Sequence[Ranked], *,
    key_id: str, secret_hash: bytes, settings: dict[str, Any] | None, read_at: int | None,
    limit: int, default_max_exposures: int, model_version: str,
) -> Recorded:
    """Record the first ``limit`` of ``ranked`` that may still be shown, in one round trip.

    ``conn`` must be in autocommit: the call is its own transaction. The function
    ``record_suggestions`` (``migrations/20261203_01_record_suggestions.sql``, its lookups revised
    in ``20261204_01_record_suggestions_lookups.sql``) first checks what the ranking assumed: the
    key ``key_id`` with ``secret_hash`` is still an active platform key of the community, its
    settings are still ``settings``, and the asking member has not changed after revision
    ``read_at`` (``None`` for either of the last two: not checked). Then it keeps a candidate
    when they are still a member open to suggestions, not tied to the member, not blocked by or
    blocking them, not in a declined suggestion with them either way, and either already have a
    suggestion to this member awaiting feedback (its id is reused, no new exposure) or were
    proposed fewer times in the last 7 days than the community's stored
    ``max_exposures_per_week`` (``default_max_exposures`` when none is stored); it records the
    new ones and commits without waiting for the WAL to reach disk (a PostgreSQL crash can lose
    the last moments' suggestions, see the README). The cap holds under any concurrency: see the
    migration.
    """
    cur = await conn.execute(
        _RECORD,
        {"cid": community_id, "key_id": key_id, "secret_hash": secret_hash,
         "settings": None if settings is None else json.dumps(settings), "mid": member_id, "read_at": read_at,
         # One JSON document, encoded in one call: arrays of text, reals and jsonb cost more to encode.
         "ranked": json.dumps([[r.member_id, r.score, r.reasons] for r in ranked], ensure_ascii=False),
         "default_cap": default_max_exposures, "limit": limit, "model_version": model_version},
        prepare=True,
    )
    row = await cur.fetchone()
    assert row is not None
    status, revision, current_settings, kept, ids = row
    recorded = list(zip(kept, ids, strict=True)) if status == "ok" else []
    return Recorded(status, int(revision or 0), current_settings, recorded)


async def get(conn: AsyncConnection, community_id: int, suggestion_id: str) -> dict[str, Any] | None:
    """The suggestion, locked for its feedback until the transaction ends; None if it does not exist.

    Its two members are locked against erasure first, and only then the suggestion: erasing a
    member locks the member, then the suggestions it cascades to, so taking the two in the
    other order could deadlock with it. A member erased meanwhile takes the suggestion along,
    and the answer is None. Both statements travel in one round trip.
    """
    params = {"cid": community_id, "sid": suggestion_id}
    async with conn.pipeline(), conn.cursor(row_factory=dict_row) as cur:
        await conn.execute(
            """
            SELECT 1 FROM members
             WHERE community_id = %(cid)s
               AND member_id IN (SELECT unnest(ARRAY[member_id, candidate_id]) FROM suggestions
                                  WHERE community_id = %(cid)s AND suggestion_id = %(sid)s)
             ORDER BY member_id
               FOR KEY SHARE
            """,
            params,
        )
        await cur.execute(
            "SELECT suggestion_id::text AS suggestion_id, member_id, candidate_id, outcome FROM suggestions"
            " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s FOR UPDATE",
            params,
        )
        return await cur.fetchone()


async def record_outcome(conn: AsyncConnection, community_id: int, suggestion_id: str, outcome: str) -> None:
    await conn.execute(
        "UPDATE suggestions SET outcome = %(outcome)s, outcome_at = now()"
        " WHERE community_id = %(cid)s AND suggestion_id = %(sid)s",
        {"cid": community_id, "sid": suggestion_id, "outcome": outcome},
    )


async def declined_pairs(conn: AsyncConnection, community_id: int) -> list[tuple[str, str]]:
    cur = await conn.execute(
        "SELECT member_id, candidate_id FROM suggestions WHERE community_id = %(cid)s AND outcome = 'declined'",
        {"cid": community_id},
    )
    return [(a, b) for a, b in await cur.fetchall()]
