"""The error statuses a route can answer with, for its ``responses=`` in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from belonging.service.errors import PROBLEM_JSON


class Problem(BaseModel):
    """RFC 9457 problem details: every error this API sends."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description="Always about:blank; `title` names the problem.")
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to change.")


_PROBLEM_SCHEMA = Problem.model_json_schema()
_DESCRIPTIONS = {
    401: "No key, or a key that is unknown, malformed, revoked or past its grace period.",
    403: "A valid key that does not open this route (another community's key, or the other role).",
    404: "The community (or the resource) does not exist.",
    422: "The body or a parameter is not valid; `errors` names each field.",
    429: "Too many requests: this key's rate limit is spent, or the same expensive operation already runs in"
         " this community. Retry after `Retry-After` seconds.",
}
_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"description": "Requests a minute this key may send.", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the key's bucket.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the bucket is full again.", "schema": {"type": "integer"}},
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for ``statuses``, each a problem+json body."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
        }
        if status == 429:
            entry["headers"] = {**_RETRY_AFTER, **_RATE_LIMIT_HEADERS}
        responses[status] = entry
    return responses


#: Headers on every answer to a request made with a community key.
RATE_LIMIT_HEADERS = _RATE_LIMIT_HEADERS
