"""Reading NDJSON import bodies: every line validated before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import ValidationError

from belonging.service.errors import ApiError, problem_response, validation_errors

T = TypeVar("T")
MAX_REPORTED_ERRORS = 100

#: ``responses=`` of an import route: what its 422 carries.
IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {422: problem_response(
    422, "A bad line (or an empty body): `errors` lists each line at fault with what to fix; nothing was written.")}


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refusing (413) past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "Payload too large", f"the body is larger than {limit} bytes; split the file")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "Payload too large", f"the body is larger than {limit} bytes; split the file")
        chunks.append(chunk)
    return b"".join(chunks)


class LineErrors:
    """Collects per-line problems; ``raise_if_any`` turns them into one 422."""

    def __init__(self) -> None:
        self.count = 0
        self.reported: list[dict[str, Any]] = []

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.reported) < MAX_REPORTED_ERRORS:
            self.reported.append({"line": line, "message": message})

    def raise_if_any(self, what: str) -> None:
        if not self.count:
            return
        self.reported.sort(key=lambda e: e["line"])
        lines = ", ".join(str(e["line"]) for e in self.reported[:10])
        more = "" if self.count <= 10 else f" and {self.count - 10} more"
        raise ApiError(
            422, "Invalid import",
            f"{self.count} bad line(s) in the {what} import, nothing was written: see lines "
            f"{lines}{more}",
            errors=self.reported, error_count=self.count,
        )


def parse_lines(
    body: bytes,
    validate: Callable[[bytes], T],
    errors: LineErrors,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[int, T]]:
    """Validate each non-blank line; returns (line number, value) for the good ones.

    ``progress``, when given, is called with the number of lines done every 10,000 lines.
    """
    if not body.strip():
        raise ApiError(422, "Invalid import", "the body is empty; send one JSON object per line")
    parsed: list[tuple[int, T]] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if progress is not None and number % 10_000 == 0:
            progress(10_000)
        if not line.strip():
            continue
        try:
            parsed.append((number, validate(line)))
        except ValidationError as exc:
            for e in validation_errors(list(exc.errors()))[:3]:
                errors.add(number, f"{e['field']}: {e['message']}")
        except UnicodeDecodeError:
            errors.add(number, "the line is not UTF-8")
    return parsed
