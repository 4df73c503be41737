"""Bulk imports shared by the HTTP routes and the CLI: validate every line, then load with COPY.

Imports into one community are serialised, and single writes that could collide with one wait
for it (``repository.locks``): an import decides which rows are new from what it reads, so
that read must still be true when it commits. Each import applies whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from psycopg import AsyncConnection
from pydantic import TypeAdapter

from belonging.service.ndjson import LineErrors, parse_lines
from belonging.service.repository import connections, locks, members
from belonging.service.schemas import ConnectionIn, MemberImportLine

_member_line = TypeAdapter(MemberImportLine)
_connection_line = TypeAdapter(ConnectionIn)
Progress = Callable[[int], None]


async def import_members(
    conn: AsyncConnection, community_id: int, body: bytes, progress: Progress | None = None
) -> dict[str, int]:
    """Create or replace members from NDJSON; any bad line raises a 422 and writes nothing."""
    errors = LineErrors()
    lines = parse_lines(body, _member_line.validate_json, errors, progress)
    errors.raise_if_any("members")
    # The validated models are plain field holders; their __dict__ is the profile without a dump pass.
    profiles = {line.member_id: line.__dict__ for _, line in lines}
    await locks.import_exclusively(conn, community_id)
    created, updated = await members.bulk_load(conn, community_id, profiles)
    return {"lines": len(lines), "created": created, "updated": updated}


def _checked_ties(
    lines: Iterable[tuple[int, ConnectionIn]], known: set[str], errors: LineErrors
) -> list[tuple[str, str, float, str | None]]:
    ties: dict[tuple[str, str], tuple[str, str, float, str | None]] = {}
    for number, tie in lines:
        if tie.a == tie.b:
            errors.add(number, "a and b are the same member; a member cannot be connected to themself")
            continue
        unknown = [m for m in (tie.a, tie.b) if m not in known]
        if unknown:
            errors.add(number, f"member {unknown[0]!r} does not exist; import members first")
            continue
        a, b = connections.ordered(tie.a, tie.b)
        ties[(a, b)] = (a, b, tie.weight, tie.kind)  # a tie repeated later in the file wins
    return list(ties.values())


async def import_connections(
    conn: AsyncConnection, community_id: int, body: bytes, progress: Progress | None = None
) -> dict[str, int]:
    """Create or replace ties from NDJSON; any bad line raises a 422 and writes nothing."""
    errors = LineErrors()
    lines = parse_lines(body, _connection_line.validate_json, errors, progress)
    # Lock before reading the members: none may be erased between the check and the load.
    await locks.import_exclusively(conn, community_id)
    ties = _checked_ties(lines, await members.all_ids(conn, community_id), errors)
    errors.raise_if_any("connections")
    created, updated = await connections.bulk_load(conn, community_id, ties)
    return {"lines": len(lines), "created": created, "updated": updated}
