"""Suggestions are served from one index per community per machine, mapped by every worker, and
brought up to date by a small overlay read from PostgreSQL.

* The index: the newest build on disk (``service/index_builds.py``), mapped read-only, so N
  worker processes share one copy. Each process looks for a newer build at most once a second
  (one ``listdir``) and switches to it; the one it held is unmapped when the last request using
  it ends.
* The overlay: the members touched after the build's revision (profile, ties, seats changed,
  or erased), each as they are now, read from ``community_changes``: in the background when the
  statement that records a request's suggestions reports a newer revision (:meth:`behind`), and
  before ranking again when it finds the asking member changed since the overlay's revision
  (status ``stale``, :meth:`catch_up`) or the member is unknown here. Only what changed since
  the overlay's own revision is read, and a request never waits for a build once any build
  exists.
* Builds run in a process of their own (forked, see ``index_builds.start_build_process``), so their
  CPU never holds a serving process's event loop and their peak memory never stays with it. The
  first request for a community with no build on this machine waits for one; after that,
  compaction makes new builds in the background: when the overlay holds more than
  ``max(index_compact_after_changes, index_compact_after_share × members)`` members, or any
  change for longer than ``COMPACT_AFTER_SECONDS``. The claim (``locks.try_index_build``)
  makes it one build per machine however many workers notice.

What the overlay changes: the asking member is served as they are now (a member who joined a
moment ago with one tie gets their friend's neighbourhood; changed interests, needs, ties and
seats count at once). Candidates are ranked on the build: a member who joined since is proposed
to others from the next build on, and candidates' changed profiles count from then. Hard rules
never depend on either: ties, blocks, declines, opt-outs and erasures are checked in the
statement that records the suggestions (``record_suggestions``, through
``repository.suggestions.record``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from belonging.matching import stored
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile
from belonging.matching.ranking import PairRanker
from belonging.matching.target import Target, Vocabulary
from belonging.service import index_builds, metrics
from belonging.service.config import Settings
from belonging.service.repository import changes

log = logging.getLogger("belonging.shared_indexes")

RESCAN_SECONDS = 1.0
"""How often a process looks for a newer build of a community it serves."""
COMPACT_AFTER_SECONDS = 600
"""A build with changes after it is replaced after this long, so new members become candidates."""
RETRY_COMPACTION_SECONDS = 10
"""After a compaction that failed or was claimed elsewhere, wait this long before trying again."""
FIRST_BUILD_POLL_SECONDS = 0.05
"""While a community's first build runs, how often a waiting request looks for its index in place."""


@dataclass
class Overlay:
    """Members touched after the build, as they were at ``revision`` (None: erased).

    ``complete`` is False when more changed than an overlay should hold; each asking member is
    then read on their own until the next build.
    """

    revision: int
    members: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    complete: bool = True
    since: float = 0.0


@dataclass
class Served:
    """One community as this process serves it: the mapped build and its overlay."""

    build: index_builds.Build
    index: SuggestionIndex
    vocabulary: Vocabulary
    overlay: Overlay
    checked_at: float = field(default_factory=time.monotonic)


class Missing:
    """The asking member is not a member (erased, or never was)."""


MISSING = Missing()


@dataclass(frozen=True)
class Asking:
    """A member asking for suggestions as this process knows them: the ``served`` build and
    overlay, the member (or :data:`MISSING`), and the community revision this reflects."""

    served: Served
    target: Target | Missing
    read_at: int


def profile_of(row: dict[str, Any]) -> MemberProfile:
    created = row.get("created_at")
    return MemberProfile(
        member_id=row["member_id"], display_name=row.get("display_name"),
        interests=tuple(row.get("interests") or ()), needs=tuple(row.get("needs") or ()),
        offers=tuple(row.get("offers") or ()), private_needs=tuple(row.get("private_needs") or ()),
        attributes={k: str(v) for k, v in (row.get("attributes") or {}).items() if v is not None},
        open_to_suggestions=bool(row.get("open_to_suggestions", True)),
        created_at=None if created is None else datetime.fromtimestamp(float(created), UTC),
    )


class SharedIndexes:
    """The communities this process serves suggestions for."""

    def __init__(self, settings: Settings, database_url: str, pool: AsyncConnectionPool | None = None) -> None:
        self.root = settings.index_dir
        self._pool = pool
        self.database_url = database_url
        self.compact_after_changes = settings.index_compact_after_changes
        self.compact_after_share = settings.index_compact_after_share
        self._served: dict[int, Served] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._compacting: dict[int, asyncio.Task] = {}
        self._next_compaction: dict[int, float] = {}
        self._building: set[int] = set()
        self._catching_up: dict[int, asyncio.Task] = {}

    def _lock(self, community_id: int) -> asyncio.Lock:
        return self._locks.setdefault(community_id, asyncio.Lock())

    async def asking(self, conn: AsyncConnection, community_id: int, member_id: str) -> Asking:
        """The community's mapped build and ``member_id`` as this process knows them now.

        Reads nothing from PostgreSQL when the member is in the build or the overlay. The member
        may have changed since ``read_at`` without this process knowing yet: the statement that
        records their suggestions checks that (status ``stale``) and the caller catches up
        (:meth:`catch_up`) and asks again. Otherwise reads what changed first: when the member is
        unknown here (they may have joined a moment ago), and when more changed since the build
        than the overlay holds (then the member alone).
        """
        served = await self.mapped(community_id)
        read_at = served.overlay.revision
        target = self.target(served, member_id)
        if isinstance(target, Missing):
            served = await self.catch_up(conn, community_id)
            read_at = served.overlay.revision
            target = self.target(served, member_id)
        if target is None:
            read_at, row = await changes.member_now(conn, community_id, member_id)
            target = MISSING if row is None else self.target_from_row(served, row)
        return Asking(served, target, read_at)

    async def mapped(self, community_id: int) -> Served:
        """The community's newest build on this machine with the overlay this process holds.

        Reads nothing from PostgreSQL. Waits for a build only when none exists on this machine yet.
        """
        served = self._served.get(community_id)
        if served is None or time.monotonic() - served.checked_at > RESCAN_SECONDS:
            served = await self._switch_to_newest(community_id, served)
        if served is None:
            served = await self._first_build(community_id)
        self._maybe_compact(community_id, served)
        return served

    async def catch_up(self, conn: AsyncConnection, community_id: int, revision: int | None = None) -> Served:
        """Bring the overlay up to ``revision`` (None: to the community's revision now)."""
        served = await self._catch_up(conn, community_id, revision)
        self._maybe_compact(community_id, served)
        return served

    def behind(self, community_id: int, revision: int) -> None:
        """The community is at ``revision``: catch the overlay up in the background if it is older,
        so that later requests find the members who changed meanwhile without asking."""
        served = self._served.get(community_id)
        if served is None or served.overlay.revision >= revision or self._pool is None:
            return
        running = self._catching_up.get(community_id)
        if running is not None and not running.done():
            return
        task = asyncio.get_running_loop().create_task(self._catch_up_in_background(community_id, revision))
        self._catching_up[community_id] = task

    async def _catch_up_in_background(self, community_id: int, revision: int) -> None:
        assert self._pool is not None
        try:
            async with self._pool.connection() as conn:
                await self.catch_up(conn, community_id, revision)
        except Exception:
            # The next request that needs the changes reads them itself (status ``stale``).
            log.warning("catching up a community's changes failed", exc_info=True,
                        extra={"community_id": community_id})

    def rankers(self, community_id: int) -> tuple[PairRanker, PairRanker] | None:
        """The models of the community's newest build on this machine, if there is one.

        Reports, rounds and the dashboard index the community themselves, as it is now; fitting
        the models is most of that work, and a build's models are at most minutes old.
        """
        served = self._served.get(community_id)
        if served is not None:
            return served.index.ranker, served.index.cold_ranker
        build = index_builds.newest(self.root, community_id)
        if build is None:
            return None
        try:
            return stored.load_rankers(build.folder)
        except (OSError, ValueError, pickle.UnpicklingError):
            return None  # removed meanwhile, or written by another version: fit them

    def target(self, served: Served, member_id: str) -> Target | Missing | None:
        """The asking member as they are now; None when they must be read on their own."""
        overlay = served.overlay
        if member_id in overlay.members:
            row = overlay.members[member_id]
            if row is None:
                return MISSING
            return self.target_from_row(served, row)
        if not overlay.complete:
            return None
        position = served.index.position.get(member_id)
        if position is None:
            return MISSING
        return Target.of(served.index, position)

    @staticmethod
    def target_from_row(served: Served, row: dict[str, Any]) -> Target:
        return Target.from_profile(served.index, profile_of(row), row.get("ties") or (),
                                   row.get("groups") or (), served.vocabulary)

    async def _switch_to_newest(self, community_id: int, served: Served | None) -> Served | None:
        build = index_builds.newest(self.root, community_id)
        if build is not None and build.age_seconds > index_builds.SERVE_BUILDS_FOR_DAYS * 86_400:
            build = None
        if served is not None:
            served.checked_at = time.monotonic()
            if build is None or build.folder == served.build.folder:
                return served
        if build is None:
            return None
        try:
            loaded = await asyncio.to_thread(self._load, build)
        except (FileNotFoundError, ValueError):
            # Removed between listing and loading (it was old), or written by another version.
            log.warning("community index build could not be loaded", extra={
                "community_id": community_id, "folder": build.folder.name})
            return served
        if served is not None and served.build.revision > build.revision:
            return served
        self._served[community_id] = loaded
        log.info("community index mapped", extra={
            "community_id": community_id, "revision": build.revision, "folder": build.folder.name})
        return loaded

    @staticmethod
    def _load(build: index_builds.Build) -> Served:
        index = stored.load(build.folder)
        return Served(build, index, Vocabulary(index), Overlay(build.revision, since=time.monotonic()))

    async def _first_build(self, community_id: int) -> Served:
        """No build on this machine yet: make one (or wait for the process making it).

        Returns as soon as the index is in place: the build process goes on to store the
        dashboard's report in the background (see ``index_builds.write``).
        """
        async with self._lock(community_id):
            while True:
                served = await self._switch_to_newest(community_id, self._served.get(community_id))
                if served is not None:
                    return served
                running = self._compacting.get(community_id)
                if running is None or running.done():
                    # Kept with the background builds: it may outlive this request (its report).
                    running = asyncio.get_running_loop().create_task(self._run_build(community_id))
                    self._compacting[community_id] = running
                await asyncio.wait({running}, timeout=FIRST_BUILD_POLL_SECONDS)
                if not running.done():
                    continue
                status = running.result()
                if status == index_builds.CLAIMED_ELSEWHERE:
                    await asyncio.sleep(FIRST_BUILD_POLL_SECONDS)  # another process is building it
                elif status != 0:
                    raise RuntimeError(f"building the suggestion index of community {community_id} failed"
                                       f" (exit status {status})")

    async def _catch_up(self, conn: AsyncConnection, community_id: int, revision: int | None) -> Served:
        async with self._lock(community_id):
            served = self._served[community_id]
            overlay = served.overlay
            if revision is not None and overlay.revision >= revision:
                return served
            limit = self._overlay_limit(served)
            if overlay.complete:
                found = await changes.since(conn, community_id, overlay.revision,
                                            max(0, limit - len(overlay.members)))
            else:
                found = changes.Changes(await changes.revision(conn, community_id), None)
            if found.members is None:
                overlay.members.clear()
                overlay.complete = False
            else:
                for row in found.members:
                    overlay.members[row["member_id"]] = row if row["present"] else None
            overlay.revision = max(overlay.revision, found.revision)
            return served

    def _overlay_limit(self, served: Served) -> int:
        share = int(self.compact_after_share * served.index.number_of_members)
        return max(self.compact_after_changes, share)

    def _maybe_compact(self, community_id: int, served: Served) -> None:
        overlay = served.overlay
        if overlay.revision == served.build.revision and overlay.complete:
            return
        crowded = not overlay.complete or len(overlay.members) >= self._overlay_limit(served)
        aged = bool(overlay.members) and served.build.age_seconds > COMPACT_AFTER_SECONDS
        if not (crowded or aged):
            return
        running = self._compacting.get(community_id)
        if running is not None and not running.done():
            return
        if time.monotonic() < self._next_compaction.get(community_id, 0.0):
            return
        self._next_compaction[community_id] = time.monotonic() + RETRY_COMPACTION_SECONDS
        self._compacting[community_id] = asyncio.get_running_loop().create_task(self._compact(community_id))

    async def _compact(self, community_id: int) -> None:
        """Build the community anew; this process switches to the build on a later request."""
        status = await self._run_build(community_id)
        if status not in (0, index_builds.CLAIMED_ELSEWHERE):
            log.error("background index build failed", extra={"community_id": community_id, "status": status})

    async def _run_build(self, community_id: int) -> int:
        """Build in a process of its own, so that its seconds of CPU and its peak memory (the whole
        community as Python objects) never stay with a serving process. Returns its exit status."""
        started = time.perf_counter()
        pid = await asyncio.to_thread(index_builds.start_build_process, self.database_url, self.root, community_id)
        self._building.add(pid)
        waiting = asyncio.ensure_future(asyncio.to_thread(index_builds.wait_for_build_process, pid))
        try:
            status = await asyncio.shield(waiting)
        except asyncio.CancelledError:  # the server is stopping: so does the build
            os.kill(pid, signal.SIGKILL)
            await waiting
            raise
        finally:
            self._building.discard(pid)
        if status == 0:
            metrics.INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)
        elif status != index_builds.CLAIMED_ELSEWHERE:
            metrics.INDEX_BUILD_FAILURES.inc()
        return status

    async def close(self) -> None:
        for pid in list(self._building):
            os.kill(pid, signal.SIGKILL)
        tasks = [*self._compacting.values(), *self._catching_up.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
