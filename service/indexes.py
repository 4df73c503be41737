"""Whole-community models held in a process's memory, kept fresh by the community revision.

Suggestions never use these: they are served from the shared, mapped build
(:mod:`service.shared_indexes`). A model is the community read whole (graph, profiles, blocks),
for the organiser's work that needs all of it: a silo report or dashboard the build has not
stored, placements, intro rounds and what-ifs. Every write that changes members, ties, blocks or
group seats bumps the community's revision, and a request that needs exact numbers waits for a
model at that revision (``fresh``).

A model may hold hundreds of megabytes (about 800 MB at a million ties), and organiser work is
occasional: a model nobody asked for in ``IDLE_SECONDS`` is dropped, so a serving process goes
back to the memory of its suggestions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from belonging.graph.community_graph import CommunityGraph
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile
from belonging.matching.ranking import PairRanker
from belonging.service import metrics
from belonging.service.repository import snapshot
from belonging.service.repository.snapshot import CommunitySnapshot

log = logging.getLogger("belonging.indexes")

IDLE_SECONDS = 600.0
"""A community's model not asked for this long is dropped from the process."""


def profile_of(row: dict) -> MemberProfile:
    return MemberProfile(
        member_id=row["member_id"], display_name=row["display_name"], interests=tuple(row["interests"]),
        needs=tuple(row["needs"]), offers=tuple(row["offers"]), private_needs=tuple(row["private_needs"]),
        attributes=dict(row["attributes"]), formats=tuple(row["formats"]), languages=tuple(row["languages"]),
        open_to_suggestions=row["open_to_suggestions"], belonging_score=row["belonging_score"],
        created_at=row["created_at"],
    )


@dataclass
class CommunityModel:
    """A community as plain data: the graph, the profiles, and (built on first use) the suggestion index."""

    revision: int
    graph: CommunityGraph
    profiles: list[MemberProfile]
    source: CommunitySnapshot
    built_at: float = field(default_factory=time.monotonic)
    #: Models fitted on this community by a recent shared build, reused by the suggestion index.
    rankers: tuple[PairRanker, PairRanker] | None = None
    _suggestion_index: SuggestionIndex | None = None

    @classmethod
    def from_snapshot(cls, data: CommunitySnapshot) -> CommunityModel:
        profiles = [profile_of(row) for row in data.profiles]
        attribute_names = sorted({name for p in profiles for name in p.attributes})
        attributes = {name: {p.member_id: p.attributes.get(name) for p in profiles} for name in attribute_names}
        graph = CommunityGraph.from_edges([p.member_id for p in profiles], data.ties, attributes)
        return cls(data.revision, graph, profiles, data)

    def suggestion_index(self) -> SuggestionIndex:
        if self._suggestion_index is None:
            self._suggestion_index = SuggestionIndex.build(
                self.graph, self.profiles, blocks=self.source.blocks, declined=self.source.declined,
                group_members=self.source.group_members, revision=self.revision, rankers=self.rankers,
            )
        return self._suggestion_index


class IndexCache:
    """Holds one :class:`CommunityModel` per community for this process."""

    def __init__(
        self, pool: AsyncConnectionPool,
        rankers_for: Callable[[int], tuple[PairRanker, PairRanker] | None] | None = None,
    ) -> None:
        """``rankers_for(community_id)`` gives models already fitted on the community, if any:
        a model's suggestion index then reuses them instead of fitting its own."""
        self.pool = pool
        self.rankers_for = rankers_for
        self._models: dict[int, CommunityModel] = {}
        self._used_at: dict[int, float] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._refreshing: dict[int, asyncio.Task] = {}
        self._lag = metrics.IndexLag()

    def held(self) -> list[int]:
        """The communities whose model this process holds."""
        return sorted(self._models)

    async def _build(self, community_id: int, prepare: Callable[[CommunityModel], object] | None) -> CommunityModel:
        started = time.perf_counter()

        def build(data: CommunitySnapshot) -> CommunityModel:
            model = CommunityModel.from_snapshot(data)
            if self.rankers_for is not None:
                model.rankers = self.rankers_for(community_id)
            if prepare is not None:
                prepare(model)
            return model

        try:
            metrics.COMMUNITY_READS.inc()
            async with self.pool.connection() as conn:
                data = await snapshot.load(conn, community_id)
            model = await asyncio.to_thread(build, data)
        except Exception:
            metrics.INDEX_BUILD_FAILURES.inc()
            raise
        metrics.INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)
        self._models[community_id] = model
        metrics.COMMUNITY_MODELS_HELD.set(len(self._models))
        self._lag.built(community_id, model.revision)
        log.info("community index built", extra={
            "community_id": community_id, "revision": model.revision, "members": model.graph.number_of_members,
            "ties": model.graph.number_of_ties, "seconds": round(time.perf_counter() - started, 3)})
        return model

    async def get(
        self, community_id: int, revision: int, *, must_contain: str | None = None,
        prepare: Callable[[CommunityModel], object] | None = None, fresh: bool = False,
    ) -> CommunityModel:
        """The community's model at ``revision`` or, within the staleness bound, slightly older.

        ``fresh`` waits for a model at ``revision`` or later (reports want exact numbers).
        ``prepare`` runs on a fresh model in the build thread (e.g. build the suggestion index).
        """
        self._used_at[community_id] = time.monotonic()
        self._sweep_later()
        model = self._models.get(community_id)
        self._lag.seen(community_id, revision, None if model is None else model.revision)
        if model is not None and model.revision >= revision:
            return model
        usable = (model is not None and not fresh
                  and (must_contain is None or must_contain in model.graph.position))
        if usable:
            self._refresh_in_background(community_id, prepare)
            assert model is not None
            return model
        lock = self._locks.setdefault(community_id, asyncio.Lock())
        async with lock:
            model = self._models.get(community_id)
            if model is not None and model.revision >= revision:
                return model
            return await self._build(community_id, prepare)

    def _refresh_in_background(self, community_id: int, prepare: Callable[[CommunityModel], object] | None) -> None:
        running = self._refreshing.get(community_id)
        if running is not None and not running.done():
            return

        async def refresh() -> None:
            lock = self._locks.setdefault(community_id, asyncio.Lock())
            async with lock:
                try:
                    await self._build(community_id, prepare)
                except Exception:
                    log.exception("background index rebuild failed", extra={"community_id": community_id})

        self._refreshing[community_id] = asyncio.get_running_loop().create_task(refresh())

    def _sweep_later(self) -> None:
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._drop_idle)

    def _drop_idle(self) -> None:
        """Drop the models idle for ``IDLE_SECONDS``; look again later while any is held."""
        self._sweep = None
        now = time.monotonic()
        for community_id, used_at in list(self._used_at.items()):
            refreshing = self._refreshing.get(community_id)
            if now - used_at < IDLE_SECONDS or (refreshing is not None and not refreshing.done()):
                continue
            del self._used_at[community_id]
            if self._models.pop(community_id, None) is not None:
                self._lag.forget(community_id)
                log.info("community model dropped after being idle", extra={"community_id": community_id})
        metrics.COMMUNITY_MODELS_HELD.set(len(self._models))
        if self._used_at:
            self._sweep_later()

    async def close(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
        for task in self._refreshing.values():
            task.cancel()
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

