"""The OpenAPI document, read as a client generator reads it: every answer has a named, described schema."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from belonging.service.app import create_app
from belonging.service.config import Settings

REF = "#/components/schemas/"
PROBLEM = {"$ref": REF + "Problem"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # The document needs no database: the lifespan is not entered.
    response = TestClient(create_app(Settings(admin_token="unused"))).get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def referenced(document: dict[str, Any], schema: Any) -> Iterator[str]:
    """Names of the component schemas ``schema`` reaches, itself included when it is a reference."""
    seen: set[str] = set()
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF) and ref[len(REF):] not in seen:
                name = ref[len(REF):]
                seen.add(name)
                todo.append(document["components"]["schemas"][name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    yield from sorted(seen)


def test_every_success_with_a_body_has_a_named_schema(document: dict[str, Any]) -> None:
    missing = []
    for label, operation in operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if not status.startswith("2") or status == "204" or (content and "application/json" not in content):
                continue  # no body, or not JSON (the Prometheus text of /metrics)
            schema = content.get("application/json", {}).get("schema")
            if not (isinstance(schema, dict) and schema.get("$ref", "").startswith(REF)):
                missing.append(f"{label} {status}: {schema}")
    assert not missing, "\n".join(missing)


def test_every_keyed_operation_documents_the_key_errors(document: dict[str, Any]) -> None:
    keyed = [(label, op) for label, op in operations(document) if op.get("security")]
    assert len(keyed) >= 30
    for label, operation in keyed:
        # 422 wherever there is something to validate (every community route has its slug).
        validated = bool(operation.get("parameters") or operation.get("requestBody"))
        # /metrics takes no parameters and answers 401 to any token but the admin's.
        for status in ("401", "403", "422") if validated else ("401",):
            assert status in operation["responses"], f"{label} does not document {status}"
        assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True, label


def test_every_error_is_a_problem_as_problem_json(document: dict[str, Any]) -> None:
    for label, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (label, status)
            assert "application/problem+json" not in response.get("content", {}) or status >= "400", (label, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]


def test_every_operation_that_takes_a_body_documents_413(document: dict[str, Any]) -> None:
    for label, operation in operations(document):
        if "requestBody" in operation:
            assert "413" in operation["responses"], label


def test_the_problem_model_names_every_member_the_errors_carry(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"errors", "error_count", "changed_groups", "blocked_pairs"} <= set(problem["properties"])
    assert problem["additionalProperties"] is True
    error = document["components"]["schemas"]["ProblemError"]
    assert set(error["properties"]) == {"field", "line", "message"}


def test_every_field_of_every_response_model_is_described(document: dict[str, Any]) -> None:
    names: set[str] = set()
    for _, operation in operations(document):
        for response in operation["responses"].values():
            for content in response.get("content", {}).values():
                names.update(referenced(document, content.get("schema")))
    assert {"SiloReport", "Placement", "SupportGroups", "GroupSuggestions", "SiloHistory", "WhatIf", "Problem",
            "Readiness", "JobAccepted"} <= names
    undescribed = [f"{name}.{field}" for name in sorted(names)
                   for field, schema in document["components"]["schemas"][name].get("properties", {}).items()
                   if not schema.get("description")]
    assert not undescribed, undescribed


def test_operation_ids_are_short_stable_and_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z_]{2,30}", i) for i in ids), ids
    assert {"create_community", "list_members", "put_member", "get_member", "import_members", "put_connection",
            "list_connections", "get_suggestions", "send_feedback", "create_group", "list_groups",
            "create_placement", "apply_placement", "get_silo_report", "get_silo_history", "create_snapshot",
            "what_if", "get_job", "get_health", "get_readiness"} <= set(ids)


def test_imports_document_ndjson_with_the_model_of_a_line(document: dict[str, Any]) -> None:
    for path, line_fields in [("/v1/communities/{slug}/members/import", {"member_id", "interests"}),
                              ("/v1/communities/{slug}/connections/import", {"a", "b", "weight"})]:
        operation = document["paths"][path]["post"]
        content = operation["requestBody"]["content"]
        assert list(content) == ["application/x-ndjson"]
        assert line_fields <= set(content["application/x-ndjson"]["itemSchema"]["properties"])
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": REF + "ImportResult"}


def test_work_that_may_run_as_a_job_documents_its_202(document: dict[str, Any]) -> None:
    for path, method in [("/v1/communities/{slug}/reports/silos", "get"),
                         ("/v1/communities/{slug}/reports/silos/snapshots", "post"),
                         ("/v1/communities/{slug}/reports/what-if", "post"),
                         ("/v1/communities/{slug}/placements", "post")]:
        accepted = document["paths"][path][method]["responses"]["202"]
        assert accepted["content"]["application/json"]["schema"] == {"$ref": REF + "JobAccepted"}
        assert accepted["headers"]["Location"]["required"] is True


def test_readiness_documents_its_503_body(document: dict[str, Any]) -> None:
    responses = document["paths"]["/readyz"]["get"]["responses"]
    assert responses["503"]["content"]["application/json"]["schema"] == {"$ref": REF + "Readiness"}
