"""``GET /metrics``: Prometheus text, for the admin token only."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belonging.service import auth, metrics
from belonging.service.deps import Credentials
from belonging.service.errors import ApiError, problem_response
from belonging.service.repository import jobs

log = logging.getLogger("belonging.metrics")
router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={
    200: {"description": "Prometheus text exposition format 0.0.4.",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    401: problem_response(401, headers={"WWW-Authenticate": "`Bearer`: the scheme to use."})})
async def prometheus_metrics(request: Request, credentials: Credentials) -> Response:
    """Requests, latency, index builds and lag, jobs and pool connections, in Prometheus text format."""
    if credentials is None or not auth.tokens_equal(credentials.credentials, request.app.state.admin_token):
        raise ApiError(401, "Unauthorised", "metrics are read with the admin token: 'Authorization: Bearer <token>'",
                       headers={"WWW-Authenticate": "Bearer"})
    queued: dict[str, int] = {}
    try:
        async with request.app.state.pool.connection(timeout=2) as conn:
            queued = await jobs.queued_by_kind(conn)
    except Exception:  # the process's own metrics are still worth a scrape when the database is away
        log.warning("could not read the job queue for metrics", exc_info=True)
    return Response(metrics.exposition(request.app.state.pool, queued), media_type=metrics.CONTENT_TYPE_LATEST)
