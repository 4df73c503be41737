"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from belonging.service.database import pending_migrations

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The process and its database answer, and the database schema is up to date."""
    try:
        async with request.app.state.pool.connection(timeout=2) as conn:
            pending = await pending_migrations(conn)
    except Exception:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if pending:
        return JSONResponse({"status": "unavailable", "database": "migrations pending", "pending": pending},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
