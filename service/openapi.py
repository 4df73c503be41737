"""The OpenAPI document clients generate code from: stable operation ids, errors as problem details.

Routes declare what they answer with ``response_model`` and ``responses=`` (errors through
:func:`belonging.service.errors.problem_responses`); two facts hold for every route and are
applied here, once, to the generated document:

- an error documented with the :class:`~belonging.service.errors.Problem` model is sent as
  ``application/problem+json`` (FastAPI documents every declared model under the route's own
  media type, ``application/json``);
- any operation that takes a body can answer 413: the body limit
  (:class:`~belonging.service.middleware.BodyLimit`) stands in front of every route;
- any operation that reaches the database can answer 503 with ``Retry-After`` when it cannot be
  reached (:func:`belonging.service.errors.install_error_handlers`); only the liveness and
  metrics routes never do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from belonging.service.errors import PROBLEM_DESCRIPTIONS, PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"
NDJSON = "application/x-ndjson"
#: Operations that never reach the database, so never answer 503.
WITHOUT_DATABASE = frozenset({"get_health", "prometheus_metrics"})


def operation_id(route: APIRoute) -> str:
    """The route function's name (``list_members``, ``send_feedback``): short, and stable across releases."""
    return route.name


def ndjson_body(line: type[BaseModel], description: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads NDJSON itself: the media type, and the model of one line.

    ``itemSchema`` (OpenAPI 3.2's schema of each item of a sequential media type, as FastAPI
    already writes for JSON Lines responses) holds the line's model; ``schema`` is the raw body.
    """
    return {"requestBody": {"required": True, "description": description, "content": {NDJSON: {
        "schema": {"type": "string", "format": "binary"},
        "itemSchema": line.model_json_schema(ref_template="#/components/schemas/{model}"),
    }}}}


def _problems_as_problem_json(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for response in responses.values():
                content = response.get("content", {})
                if content.get("application/json", {}).get("schema") == {"$ref": PROBLEM_REF}:
                    content[PROBLEM_JSON] = content.pop("application/json")
            if "requestBody" in operation and "413" not in responses:
                responses["413"] = {"description": PROBLEM_DESCRIPTIONS[413],
                                    "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}
            if operation.get("operationId") not in WITHOUT_DATABASE and "503" not in responses:
                responses["503"] = {"description": PROBLEM_DESCRIPTIONS[503],
                                    "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                                                "required": True, "schema": {"type": "string"}}},
                                    "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}


def install_openapi(app: FastAPI) -> None:
    """Generate ``app``'s document once, with the rules above applied."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = generate()
        if first:
            _problems_as_problem_json(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
