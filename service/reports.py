"""Silo reports for organisers: compute (inline or as a job), snapshot, compare what-if.

Small communities are answered at once; a community above ``SYNC_MAX_TIES`` ties gets a job
(202 and a job URL) so no request holds a worker for seconds. Reading a report never writes
history: a snapshot is stored only when asked for (:func:`request_snapshot`, behind the API's
``POST .../reports/silos/snapshots`` and the dashboard's button) and by the daily job. Stored
snapshots keep the aggregate numbers only, never member ids, so erasing a member leaves nothing
of them behind.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from belonging.graph.silo_report import compare_reports, silo_report, with_added_ties
from belonging.matching.suggest import suggest
from belonging.service import index_builds, metrics, stored_reports
from belonging.service.indexes import CommunityModel, IndexCache
from belonging.service.jobs import JobContext, handler
from belonging.service.repository import jobs as job_repository
from belonging.service.repository import operation_locks
from belonging.service.repository import reports as repository
from belonging.service.schemas import CommunitySettings

if TYPE_CHECKING:
    from belonging.service.stored_reports import StoredDashboard

SYNC_MAX_TIES = 200_000
# Member lists never go into stored snapshots.
_MEMBER_LISTS = (("isolates", "member_ids"), ("articulation_points", "member_ids"), ("bridges", "ties"),
                 ("communities", "members"))


def attribute_names(model: CommunityModel) -> list[str]:
    return sorted(model.graph.attributes)


def compute(model: CommunityModel, attributes: list[str], min_group_size: int, include_members: bool) -> dict:
    scores = {p.member_id: p.belonging_score for p in model.profiles}
    return silo_report(model.graph, attributes, min_group_size=min_group_size, include_members=include_members,
                       belonging_scores=scores, seed=0)


def aggregate(report: dict[str, Any]) -> dict[str, Any]:
    """The report without member ids (for snapshots and history)."""
    kept = copy.deepcopy(report)
    for section, key in _MEMBER_LISTS:
        if isinstance(kept.get(section), dict):
            kept[section].pop(key, None)
    kept.pop("brokers", None)
    kept["at_risk"] = {"count": len(report.get("at_risk", []))}
    return kept


def headline(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The numbers a trend chart needs from one stored snapshot."""
    report = snapshot["report"]
    at_risk = report.get("at_risk")
    return {
        "snapshot_id": snapshot["snapshot_id"],
        "created_at": snapshot["created_at"],
        "kind": snapshot["kind"],
        "members": report["members"],
        "connections": report["connections"],
        "density": report["density"],
        "components": report["components"]["count"],
        "largest_share": report["components"]["largest_share"],
        "isolates": report["isolates"]["count"],
        "communities": report["communities"]["count"],
        "modularity": report["communities"]["modularity"],
        "at_risk": at_risk["count"] if isinstance(at_risk, dict) else len(at_risk or []),
        "attributes": {
            name: {"assortativity": section.get("assortativity"), "ei_index": section.get("ei_index")}
            for name, section in report.get("attributes", {}).items()
        },
    }


def stored_at(builds: Path, community_id: int, revision: int, min_group_size: int) -> StoredDashboard | None:
    """The report stored with this machine's newest build in ``builds`` (the index folder) when it
    is the one a request at ``revision`` with k = ``min_group_size`` would compute."""
    return stored_reports.at_revision(index_builds.newest(builds, community_id), revision, min_group_size)


async def report(
    pool: AsyncConnectionPool, indexes: IndexCache, community_id: int, attributes: list[str] | None,
    include_members: bool, *, builds: Path | None = None,
) -> dict[str, Any]:
    """The silo report over ``attributes`` (None: every attribute members have). Writes nothing.

    Taken from the report stored with this machine's newest build in ``builds`` (the index
    folder) when that build is at the community's revision; otherwise computed here.
    """
    async with pool.connection() as conn:
        revision, stored_settings = await repository.revision_and_settings(conn, community_id)
    k = CommunitySettings.from_stored(stored_settings).report_min_group_size
    if builds is not None:
        stored = await asyncio.to_thread(stored_at, builds, community_id, revision, k)
        known = [] if stored is None else stored_reports.attribute_names(stored)
        if stored is not None and (attributes is None or set(attributes) <= set(known)):
            metrics.STORED_REPORTS_SERVED.labels("report").inc()
            return stored_reports.silo_report(stored, known if attributes is None else attributes, include_members)
    model = await indexes.get(community_id, revision, fresh=True)
    chosen = attribute_names(model) if attributes is None else attributes
    return await asyncio.to_thread(compute, model, chosen, k, include_members)


async def take_snapshot(
    pool: AsyncConnectionPool, indexes: IndexCache, community_id: int, kind: str = "on_demand",
    *, builds: Path | None = None,
) -> dict[str, Any]:
    """Compute the report over every attribute and store its aggregate; returns the new history point."""
    computed = await report(pool, indexes, community_id, None, False, builds=builds)
    attributes = sorted(computed.get("attributes", {}))
    async with pool.connection() as conn:
        stored = await repository.store(conn, community_id, aggregate(computed), attributes, kind)
    return headline(stored)


@dataclass(frozen=True)
class SnapshotRequest:
    """What asking for a snapshot gave: the new history ``point``, or the ``job_id`` that will store it."""

    point: dict[str, Any] | None = None
    job_id: str | None = None


async def request_snapshot(
    conn: AsyncConnection, pool: AsyncConnectionPool, indexes: IndexCache, community_id: int, revision: int,
    *, builds: Path | None = None,
) -> SnapshotRequest:
    """Store a snapshot now, or queue a job for it in a large community (on ``conn``, the request's).

    With a report stored at ``revision`` in ``builds`` (see :func:`report`), it is stored at once.
    """
    if builds is not None:
        _, stored_settings = await repository.revision_and_settings(conn, community_id)
        settings = CommunitySettings.from_stored(stored_settings)
        stored = await asyncio.to_thread(stored_at, builds, community_id, revision, settings.report_min_group_size)
        if stored is not None:
            return SnapshotRequest(point=await take_snapshot(pool, indexes, community_id, builds=builds))
    model = await indexes.get(community_id, revision, fresh=True)
    if model.graph.number_of_ties > SYNC_MAX_TIES:
        return SnapshotRequest(job_id=await job_repository.enqueue(conn, community_id, "silo_snapshot", {}))
    return SnapshotRequest(point=await take_snapshot(pool, indexes, community_id, builds=builds))


def top_suggestion_ties(model: CommunityModel, count: int, bridging_weight: float) -> list[tuple[str, str]]:
    """``count`` ties: each of the least connected members (fewest ties first) accepts their top suggestion."""
    index = model.suggestion_index()
    degrees = model.graph.degrees()
    order = sorted(range(len(degrees)), key=lambda i: (degrees[i], model.graph.member_ids[i]))
    ties: list[tuple[str, str]] = []
    taken: set[frozenset[str]] = set()
    for i in order:
        if len(ties) >= count:
            break
        member_id = model.graph.member_ids[i]
        for suggestion in suggest(index, member_id, limit=3, bridging_weight=bridging_weight):
            pair = frozenset((member_id, suggestion.member_id))
            if pair not in taken:
                taken.add(pair)
                ties.append((member_id, suggestion.member_id))
                break
    return ties


def what_if(model: CommunityModel, ties: list[tuple[str, str, float]], attributes: list[str], k: int) -> dict:
    before = compute(model, attributes, k, False)
    after_graph = with_added_ties(model.graph, ties)
    scores = {p.member_id: p.belonging_score for p in model.profiles}
    after = silo_report(after_graph, attributes, min_group_size=k, belonging_scores=scores, seed=0)
    changes = compare_reports(before, after)
    return {
        "added_ties": [{"a": a, "b": b, "weight": w} for a, b, w in ties],
        "before": aggregate(before),
        "after": aggregate(after),
        "deltas": changes["deltas"],
        "no_longer_isolated": changes["no_longer_isolated"],
        "newly_isolated": changes["newly_isolated"],
    }


async def run_what_if(
    pool: AsyncConnectionPool, indexes: IndexCache, community_id: int, params: dict[str, Any]
) -> dict[str, Any]:
    async with pool.connection() as conn:
        revision, stored_settings = await repository.revision_and_settings(conn, community_id)
    settings = CommunitySettings.from_stored(stored_settings)
    model = await indexes.get(community_id, revision, fresh=True)

    def work() -> dict[str, Any]:
        ties = [(t["a"], t["b"], float(t.get("weight") or 1.0)) for t in params.get("ties", [])]
        if params.get("accept_top_suggestions"):
            ties += [(a, b, 1.0) for a, b in top_suggestion_ties(model, params["accept_top_suggestions"],
                                                                   settings.bridging_weight)]
        return what_if(model, ties, params.get("attributes", []), settings.report_min_group_size)

    return await asyncio.to_thread(work)


@handler("silo_report")
async def _silo_report_job(job: JobContext) -> dict[str, Any]:
    await job.progress(0.1)
    return await report(job.pool, job.app_state.indexes, job.community_id, job.params["attributes"],
                        job.params.get("include_members", False), builds=job.app_state.shared_indexes.root)


@handler("silo_snapshot")
async def _silo_snapshot_job(job: JobContext) -> dict[str, Any]:
    await job.progress(0.1)
    point = await take_snapshot(job.pool, job.app_state.indexes, job.community_id,
                                builds=job.app_state.shared_indexes.root)
    return {**point, "created_at": point["created_at"].isoformat()}  # a job result is stored as JSON


@handler("what_if")
async def _what_if_job(job: JobContext) -> dict[str, Any]:
    await job.progress(0.1)
    return await run_what_if(job.pool, job.app_state.indexes, job.community_id, job.params)


@handler("daily_snapshot")
async def _daily_snapshot_job(job: JobContext) -> dict[str, Any]:
    point = await take_snapshot(job.pool, job.app_state.indexes, job.community_id, kind="daily",
                                builds=job.app_state.shared_indexes.root)
    return {"snapshot_id": point["snapshot_id"]}


async def schedule_daily_snapshots(pool: AsyncConnectionPool) -> None:
    """Queue a daily snapshot for every community that has not had one today.

    Several service processes run this loop; the lock lets one of them queue at a time, so a
    community never gets two daily jobs from processes that looked at the same moment.
    """
    async with pool.connection() as conn, conn.transaction():
        if not await operation_locks.try_lock(conn, "daily_schedule", 0):
            return
        for community_id in await repository.communities_due_daily(conn):
            await job_repository.enqueue(conn, community_id, "daily_snapshot", {})
