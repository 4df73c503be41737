"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from belonging.service.database import pending_migrations
from belonging.service.schemas import Absent, sometimes

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok`: the process answers.")


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"] = Field(description="`ok` when the service can serve requests.")
    database: str = Field(description="`ok`, `unreachable` or `migrations pending`.")
    pending: list[str] | Absent = sometimes("Migrations not yet applied (with `migrations pending`).")


@router.get("/healthz", response_model=Health)
async def get_health() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={
    503: {"model": Readiness, "description": "The database cannot be reached, or migrations are pending."}})
async def get_readiness(request: Request) -> JSONResponse:
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
