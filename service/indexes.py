"""Per-process, per-community in-memory indexes, kept fresh by the community revision.

Every write that changes members, ties, blocks or group seats bumps the community's revision (``community_revisions``)
in the same transaction. A request already reads the community row (slug and keys), so
checking freshness costs nothing extra. When the revision moved:

* with no index yet, or when the asking member is not in the index, the request waits for a
  rebuild;
* otherwise the request is served from the current index while one rebuild runs in the
  background, so staleness is bounded by one rebuild (about a second per 100k ties).

Hard rules never depend on that staleness: each suggestion request reads the member's ties,
blocks, declined pairs and the candidates' opt-outs fresh from PostgreSQL.
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
        self._locks: dict[int, asyncio.Lock] = {}
        self._refreshing: dict[int, asyncio.Task] = {}
        self._lag = metrics.IndexLag()

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

    async def close(self) -> None:
        for task in self._refreshing.values():
            task.cancel()
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

