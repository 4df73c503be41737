"""One error type that carries its status, rendered as RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("belonging.errors")

PROBLEM_JSON = "application/problem+json"


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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "Internal error", "the server failed; the error is logged")
