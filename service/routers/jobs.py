"""Background jobs: where long reports, what-ifs and placements are polled (organiser key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from belonging.service.deps import KEYED_ROUTE_ERRORS, Conn, OrganiserCommunity
from belonging.service.errors import not_found, problem_responses
from belonging.service.params import JobIdPath
from belonging.service.repository import jobs

router = APIRouter(prefix="/v1/communities/{slug}/jobs", tags=["jobs"], responses=KEYED_ROUTE_ERRORS)


class JobAccepted(BaseModel):
    """The work runs as a background job: poll ``status_url`` (also sent as ``Location``)."""

    job_id: str = Field(description="The job's id.")
    status: Literal["queued"] = Field(description="Always `queued` when accepted.")
    status_url: str = Field(description="Where to poll the job: `GET` it for its state and, when done, its result.")


def accepted_as_job(what: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer 202 and run ``what`` as a job."""
    return {202: {"model": JobAccepted, "description": f"A large community: {what} runs as a job; poll `status_url`.",
                  "headers": {"Location": {"description": "The job's URL, as `status_url`.", "required": True,
                                           "schema": {"type": "string"}}}}}


def job_accepted(slug: str, job_id: str) -> JSONResponse:
    """202 for work that runs as a background job: where to poll it (body and ``Location``)."""
    url = f"/v1/communities/{slug}/jobs/{job_id}"
    return JSONResponse({"job_id": job_id, "status": "queued", "status_url": url},
                        status_code=status.HTTP_202_ACCEPTED, headers={"Location": url})


class Job(BaseModel):
    job_id: str = Field(description="The job's id.")
    kind: str = Field(description="`silo_report`, `silo_snapshot`, `what_if`, `placement`, `round` or "
                                  "`daily_snapshot`.")
    status: Literal["queued", "running", "done", "failed"] = Field(description="Where the job is.")
    progress: float = Field(description="From 0 to 1.")
    result: dict[str, Any] | None = Field(
        description="When done, what the route that queued it would have answered: a `SiloReport` (silo_report), "
                    "a `SnapshotPoint` (silo_snapshot), a `WhatIf` (what_if), a `Placement` (placement) or a "
                    "`RoundOut` (round).")
    error: str | None = Field(description="Why the job failed, when it did.")
    created_at: datetime = Field(description="When the job was queued.")
    finished_at: datetime | None = Field(description="When it finished, done or failed.")


@router.get("/{job_id}", response_model=Job, responses=problem_responses(404))
async def get_job(
    job_id: JobIdPath, community: OrganiserCommunity, conn: Conn
) -> dict:
    """A background job's state, progress and, when done, its result."""
    job = await jobs.get(conn, community.community_id, job_id)
    if job is None:
        raise not_found(f"job {job_id!r}")
    return job
