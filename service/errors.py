"""One error type that carries its status, rendered as RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from belonging.service.schemas import Absent, sometimes

log = logging.getLogger("belonging.errors")

PROBLEM_JSON = "application/problem+json"


class ProblemError(BaseModel):
    """One thing to fix: a request field, or a line of an NDJSON import."""

    field: str | Absent = sometimes("The field, dotted (`interests.3`); `body` for the whole body.")
    line: int | Absent = sometimes("The NDJSON line, counting from 1 (imports).")
    message: str = Field(description="What is wrong with it.")


class BlockedPair(BaseModel):
    group_id: str = Field(description="The group the placement would seat both members in.")
    member_ids: list[str] = Field(description="The two members who now block each other.")


class Problem(BaseModel):
    """An error as RFC 9457 problem details. Members other than these may be added later."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="Always `about:blank`: the status and title say what happened.")
    title: str = Field(description="The status in a few words, such as `Invalid input`.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong and what to do about it, for a person to read.")
    errors: list[ProblemError] | Absent = sometimes(
        "Invalid input: each field or import line at fault (imports list at most 100).")
    error_count: int | Absent = sometimes("Imports: how many lines were at fault in all.")
    changed_groups: list[str] | Absent = sometimes(
        "Applying a placement: the groups that changed or would be over capacity since it was proposed.")
    blocked_pairs: list[BlockedPair] | Absent = sometimes(
        "Applying a placement: the members it would seat together who now block each other.")
    unknown_member_ids: list[str] | Absent = sometimes(
        "Starting a round: the member ids given that name no member (at most 100).")


#: What each error status means, wherever a route can answer with it.
PROBLEM_DESCRIPTIONS = {
    401: "No key, or one that is not valid (unknown, revoked or malformed): send `Authorization: Bearer <key>`.",
    403: "A valid key that does not open this route: another community's key, or the wrong role.",
    404: "What the path names does not exist in this community.",
    409: "The request conflicts with the current state; `detail` says how to resolve it.",
    413: "The body is larger than the limit.",
    422: "The request is not valid: `detail` and `errors` say which field (or NDJSON line) and what to fix.",
    429: "Too many requests: this key's rate limit is spent, or the same expensive operation already runs in"
         " this community. Wait as `Retry-After` says.",
    503: "The database could not serve the request right now (restarting, failing over, every connection busy,"
         " or a transaction it had to cancel). Nothing was changed; try again after `Retry-After` seconds.",
}
#: Seconds a client is asked to wait when the database cannot be reached.
DATABASE_RETRY_AFTER_S = 1


def problem_response(status: int, description: str | None = None, *, headers: dict[str, str] | None = None
                     ) -> dict[str, Any]:
    """One ``responses=`` entry: ``status`` answered with a :class:`Problem`, described for this route.

    ``headers`` documents headers the answer always carries, by name and meaning
    (``{"Retry-After": "Seconds to wait."}``).
    """
    entry: dict[str, Any] = {"model": Problem, "description": description or PROBLEM_DESCRIPTIONS[status]}
    if headers:
        entry["headers"] = {name: {"description": meaning, "required": True, "schema": {"type": "string"}}
                            for name, meaning in headers.items()}
    return entry


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting ``statuses`` as :class:`Problem` (``application/problem+json``).

    Routers declare what every route of theirs can answer; a route adds its own on top:
    ``responses=problem_responses(404, 409)``.
    """
    return {status: problem_response(status) for status in statuses}


class ApiError(Exception):
    """An error the client can act on: ``status``, a short ``title`` and a ``detail`` saying what to fix."""

    def __init__(self, status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, "Not found", f"{what} does not exist")


def conflict(detail: str, **extra: Any) -> ApiError:
    return ApiError(409, "Conflict", detail, **extra)


def invalid(detail: str, **extra: Any) -> ApiError:
    return ApiError(422, "Invalid input", detail, **extra)


def printable(value: Any) -> Any:
    """``value`` with every string made safe to send: NUL and lone surrogates escaped, as in repr."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\\x00")
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value


def problem(status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    # Details can quote what the client sent, and a lone surrogate cannot be encoded as UTF-8.
    body = printable({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra})
    sent = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    sent.update(headers or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=sent or None)


def _location(error: Mapping[str, Any]) -> str:
    parts = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form")]
    # A model-wide check names the field it found below the model in its context.
    where = (error.get("ctx") or {}).get("where")
    if where:
        parts = [*parts, str(where)]
        return printable(".".join(parts))
    return printable(".".join(parts) or "body")


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field", "message"}`` pairs a person can read."""
    return [{"field": _location(e), "message": printable(e.get("msg", ""))} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(list(exc.errors()))
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", detail or "the request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
        title = titles.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}; see /docs"
        return problem(exc.status_code, title, detail)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The connection broke (the server restarted or failed over), none could be had in time, or
        # the server cancelled the transaction (a deadlock, a timeout). The request's transaction
        # is gone with it: nothing was changed, and the pool drops a broken connection when it is
        # returned.
        log.warning("database unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
        return problem(503, "Service unavailable", "the database could not serve this request right now; nothing"
                       " was changed, try again shortly", headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "Internal error", "the server failed; the error is logged")
