"""Silo and fragmentation reports, their history, and what-if (organiser key).

Reading a report computes and returns it, nothing more; history points are written only by
``POST .../reports/silos/snapshots`` and the daily job.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import Field

from belonging.service import impact, metrics, reports, stored_reports
from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, OrganiserCommunity
from belonging.service.errors import ApiError
from belonging.service.exclusive_operations import one_at_a_time
from belonging.service.report_schemas import ImpactReport, SiloHistory, SiloReport, SnapshotPoint, WhatIf
from belonging.service.repository import impact as impact_repository
from belonging.service.repository import jobs, members
from belonging.service.repository import reports as repository
from belonging.service.routers.jobs import accepted_as_job, job_accepted
from belonging.service.schemas import MAX_TIE_WEIGHT, MIN_TIE_WEIGHT, CommunitySettings, MemberId, Strict, Text

router = APIRouter(prefix="/v1/communities/{slug}/reports", tags=["reports"], responses=KEYED_ROUTE_ERRORS)
AttributeQuery = Annotated[list[Text], Query(alias="attribute", max_length=20,
                                            description="Attribute to break the report down by (repeatable).")]


def _check_attributes(requested: list[str], known: list[str]) -> list[str]:
    unknown = [a for a in requested if a not in known]
    if unknown:
        listed = ", ".join(known) if known else "none yet"
        raise ApiError(422, "Invalid input",
                       f"unknown attribute {unknown[0]!r}; attributes members have in this community: {listed}")
    return list(dict.fromkeys(requested))


@router.get("/silos", response_model=SiloReport, responses=accepted_as_job("the report"),
            dependencies=[one_at_a_time("silo_report", "organiser")])
async def get_silo_report(
    request: Request, community: OrganiserCommunity, conn: Conn,
    attributes: AttributeQuery = [],  # noqa: B006 - FastAPI copies query defaults
    include: Annotated[Literal["members"] | None, Query(description="`members`: each member's community")] = None,
) -> Any:
    """Fragmentation and silo metrics; attribute groups smaller than k are never broken out. Stores nothing."""
    include_members = include == "members"
    settings = CommunitySettings.from_stored(community.settings)
    stored = await asyncio.to_thread(reports.stored_at, request.app.state.shared_indexes.root,
                                     community.community_id, community.revision, settings.report_min_group_size)
    if stored is not None:
        chosen = _check_attributes(attributes, stored_reports.attribute_names(stored))
        metrics.STORED_REPORTS_SERVED.labels("api").inc()
        return stored_reports.silo_report(stored, chosen, include_members)
    model = await request.app.state.indexes.get(community.community_id, community.revision, fresh=True)
    chosen = _check_attributes(attributes, reports.attribute_names(model))
    if model.graph.number_of_ties > reports.SYNC_MAX_TIES:
        job_id = await jobs.enqueue(conn, community.community_id, "silo_report",
                                    {"attributes": chosen, "include_members": include_members})
        return job_accepted(community.slug, job_id)
    return await reports.report(request.app.state.pool, request.app.state.indexes, community.community_id,
                                chosen, include_members, builds=request.app.state.shared_indexes.root)


@router.get("/impact", response_model=ImpactReport)
async def get_impact_report(
    community: OrganiserCommunity, conn: Conn,
    since: Annotated[date | None, Query(description="First day (UTC) of the window, ISO date; "
                                                    "default 29 days before `until`.")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC) of the window, ISO date; default today.")] = None,
    attributes: AttributeQuery = [],  # noqa: B006 - FastAPI copies query defaults
) -> Any:
    """Is it working? Suggestions, intro rounds and first ties in a window, overall and per attribute group.

    Attribute groups smaller than k are never broken out. Stores nothing.
    """
    start, end = impact.window(since, until, datetime.now(UTC).date())
    if start > end:
        raise ApiError(422, "Invalid input", f"`since` ({start}) is after `until` ({end})")
    chosen = _check_attributes(attributes, await impact_repository.attribute_names(conn, community.community_id))
    k = CommunitySettings.from_stored(community.settings).report_min_group_size
    return await impact.report(conn, community.community_id, start, end, chosen, k)


@router.post("/silos/snapshots", status_code=status.HTTP_201_CREATED, response_model=SnapshotPoint,
             responses=accepted_as_job("the snapshot"),
             dependencies=[one_at_a_time("silo_report", "organiser")])
async def create_snapshot(request: Request, community: OrganiserCommunity, conn: Conn) -> Any:
    """Store the report's numbers now (every attribute) as a point of the trend; returns the point."""
    saved = await reports.request_snapshot(conn, request.app.state.pool, request.app.state.indexes,
                                           community.community_id, community.revision,
                                           builds=request.app.state.shared_indexes.root)
    if saved.job_id is not None:
        return job_accepted(community.slug, saved.job_id)
    return saved.point


@router.get("/silos/history", response_model=SiloHistory)
async def get_silo_history(
    community: OrganiserCommunity, conn: Conn, limit: Annotated[int, Query(ge=1, le=1000)] = 90
) -> dict:
    """Stored snapshots, oldest first: the numbers behind the trend charts."""
    snapshots = await repository.history(conn, community.community_id, limit)
    return {"snapshots": [reports.headline(s) for s in snapshots]}


class ProposedTie(Strict):
    a: MemberId
    b: MemberId
    weight: float = Field(default=1.0, ge=MIN_TIE_WEIGHT, le=MAX_TIE_WEIGHT)


class WhatIfIn(Strict):
    ties: list[ProposedTie] = Field(default_factory=list, max_length=10_000)
    accept_top_suggestions: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Add this many ties: each of the least connected members accepts their top suggestion.",
    )
    attributes: list[Text] = Field(default_factory=list, max_length=20)


@router.post("/what-if", response_model=WhatIf, responses=accepted_as_job("the what-if"),
             dependencies=[one_at_a_time("what_if", "organiser")])
async def what_if(body: WhatIfIn, request: Request, community: OrganiserCommunity, conn: Conn) -> Any:
    """The report's headline numbers before and after proposed ties (or accepted top suggestions)."""
    if not body.ties and not body.accept_top_suggestions:
        raise ApiError(422, "Invalid input", "give `ties` to add, `accept_top_suggestions`, or both")
    for tie in body.ties:
        if tie.a == tie.b:
            raise ApiError(422, "Invalid input", f"a proposed tie joins {tie.a!r} to themself")
    named = sorted({m for t in body.ties for m in (t.a, t.b)})
    missing = sorted(set(named) - await members.exists(conn, community.community_id, named))
    if missing:
        raise ApiError(422, "Invalid input", f"member {missing[0]!r} in a proposed tie does not exist")
    params = body.model_dump()
    k = CommunitySettings.from_stored(community.settings).report_min_group_size
    stored = await asyncio.to_thread(reports.stored_at, request.app.state.shared_indexes.root,
                                     community.community_id, community.revision, k)
    if stored is not None:  # what a job needs to know, without reading the community here
        known, ties = stored_reports.attribute_names(stored), stored.data.report["connections"]
    else:
        model = await request.app.state.indexes.get(community.community_id, community.revision, fresh=True)
        known, ties = reports.attribute_names(model), model.graph.number_of_ties
    params["attributes"] = _check_attributes(body.attributes, known)
    if ties > reports.SYNC_MAX_TIES:
        job_id = await jobs.enqueue(conn, community.community_id, "what_if", params)
        return job_accepted(community.slug, job_id)
    return await reports.run_what_if(request.app.state.pool, request.app.state.indexes, community.community_id,
                                     params)
