"""Background job status (organiser key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from belonging.service.deps import Conn, OrganiserCommunity
from belonging.service.errors import not_found
from belonging.service.params import JobIdPath
from belonging.service.repository import jobs

router = APIRouter(prefix="/v1/communities/{slug}/jobs", tags=["jobs"])


def job_accepted(slug: str, job_id: str) -> JSONResponse:
    """202 for work that runs as a background job: where to poll it (body and ``Location``)."""
    url = f"/v1/communities/{slug}/jobs/{job_id}"
    return JSONResponse({"job_id": job_id, "status": "queued", "status_url": url},
                        status_code=status.HTTP_202_ACCEPTED, headers={"Location": url})


class Job(BaseModel):
    job_id: str
    kind: str
    status: str
    progress: float
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


@router.get("/{job_id}", response_model=Job)
async def get_job(
    job_id: JobIdPath, community: OrganiserCommunity, conn: Conn
) -> dict:
    """A background job's state, progress and, when done, its result."""
    job = await jobs.get(conn, community.community_id, job_id)
    if job is None:
        raise not_found(f"job {job_id!r}")
    return job
