"""Peer suggestions: the rules every suggestion request goes through.

One round trip in steady state. The asking member is ranked on the community's mapped build as
this process knows them (:meth:`SharedIndexes.asking`: the build, or the overlay when they changed
since), with the community settings this process last saw for the key
(:class:`~belonging.service.keys.KnownKeys`). Then one statement, ``record_suggestions``
(:func:`belonging.service.repository.suggestions.record`), checks what the ranking assumed and
records:

- the key is no longer active: the process forgets it, 401;
- the settings changed: the process takes the new ones and ranks again;
- the asking member changed after the revision they were read at: the process reads what changed
  and ranks again;
- the asking member does not exist: 404.

An attempt that kept fewer than the limit from a short ranking is followed by one from a longer
ranking (``SPARE``). The last of ``ATTEMPTS`` records without the settings and freshness
checks: its ranking is milliseconds old, and the hard rules (ties, blocks, declines, opt-outs,
erasures, the weekly exposure cap) are checked by the statement on every attempt, under any
concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from belonging.matching.suggest import Suggestion, suggest_for
from belonging.service.errors import ApiError, not_found
from belonging.service.keys import KnownKeys
from belonging.service.repository import communities
from belonging.service.repository import suggestions as repository
from belonging.service.repository.communities import StoredKey
from belonging.service.schemas import CommunitySettings
from belonging.service.shared_indexes import Missing, SharedIndexes

#: Rank a few more candidates than the limit: candidates at their exposure cap, or who opted
#: out, blocked or declined since the index was built, are dropped when the suggestions are
#: recorded. Every ranked candidate costs the statement a lock and a few lookups, so the first
#: attempt ranks ``limit + SPARE``; when more than ``SPARE`` of them were dropped, the next ranks
#: ``limit * HEADROOM + 5`` (the suggestions just recorded come back as pending, with the same
#: ids and no second exposure).
SPARE = 5
HEADROOM = 2
#: The weekly cap of a community that never set one; the statement reads the stored one.
DEFAULT_MAX_EXPOSURES: int = CommunitySettings.model_fields["max_exposures_per_week"].default
#: Rankings made before the statement that records them finds them out of date, at most.
ATTEMPTS = 3


class RefusedKey(Exception):
    """The key the process knew is no longer active (revoked, rotated past its grace, or gone)."""


@dataclass(frozen=True)
class Shown:
    """What a member is shown: ``(suggestion, suggestion_id)`` in order, with the settings used."""

    suggestions: list[tuple[Suggestion, str]]
    model_version: str
    settings: CommunitySettings


async def suggest(
    conn: AsyncConnection, known: KnownKeys, indexes: SharedIndexes, key_id: str, owner: StoredKey,
    member_id: str, limit: int,
) -> Shown:
    """Rank and record up to ``limit`` suggestions for ``member_id``; ``conn`` is in autocommit.

    Raises :class:`RefusedKey` when the statement finds the key no longer active, and
    :class:`ApiError` for a limit over the community's setting (422) or an unknown member (404).
    """
    community_id = owner.community_id
    wide = False
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        settings = CommunitySettings.from_stored(owner.settings)
        if limit > settings.max_suggestions_per_request:
            # Refused by the settings this process last saw: check the key and read them again first.
            owner = await _reread(conn, known, key_id, owner)
            settings = CommunitySettings.from_stored(owner.settings)
        if limit > settings.max_suggestions_per_request:
            raise ApiError(422, "Invalid input", f"limit may be at most {settings.max_suggestions_per_request} "
                           "(the community's max_suggestions_per_request setting)")
        asking = await indexes.asking(conn, community_id, member_id)
        if isinstance(asking.target, Missing):
            raise not_found(f"member {member_id!r}")
        index = asking.served.index
        count = limit * HEADROOM + 5 if wide else limit + SPARE
        ranked = suggest_for(index, asking.target, limit=count, bridging_weight=settings.bridging_weight)
        outcome = await repository.record(
            conn, community_id, member_id, ranked, key_id=key_id, secret_hash=owner.secret_hash,
            settings=None if last else owner.settings, read_at=None if last else asking.read_at, limit=limit,
            default_max_exposures=DEFAULT_MAX_EXPOSURES, model_version=index.model_version)
        if outcome.status == "ok" and len(outcome.recorded) < limit and len(ranked) == count and not (wide or last):
            wide = True  # more of the best were dropped than spared: go further down the ranking
            continue
        if outcome.status == "ok":
            indexes.behind(community_id, outcome.revision)
            by_id = {s.member_id: s for s in ranked}
            return Shown([(by_id[candidate], suggestion_id) for candidate, suggestion_id in outcome.recorded],
                         index.model_version, settings)
        if outcome.status == "unauthorised":
            known.forget(owner, key_id)
            raise RefusedKey()
        if outcome.status == "missing":
            raise not_found(f"member {member_id!r}")
        if outcome.status == "settings":
            assert outcome.settings is not None
            owner = known.resettle(owner, key_id, outcome.settings)
        else:  # stale: the member changed after the process last read them
            await indexes.catch_up(conn, community_id, outcome.revision)
    raise AssertionError("the last attempt checks neither settings nor freshness")


async def _reread(conn: AsyncConnection, known: KnownKeys, key_id: str, owner: StoredKey) -> StoredKey:
    """The key ``owner`` stands for as stored now (with its community's settings), remembered so."""
    fresh = next((k for k in await communities.active_keys(conn, key_id)
                  if k.secret_hash == owner.secret_hash and k.community_id == owner.community_id), None)
    if fresh is None:
        known.forget(owner, key_id)
        raise RefusedKey()
    return known.resettle(owner, key_id, fresh.settings)

