"""Generated requests over every documented operation, as platform and as organiser: never a 5xx.

Schemathesis reads the server's own ``/openapi.json`` and sends bodies, paths and queries built
from it (fixed seed, a few examples per operation) to the real server over a socket. The slug is
pinned to a seeded community so that requests get past authentication and reach the handlers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import ADMIN, LiveServer, create_database, drop_database, serving

SLUG = "fuzzed"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """Imports take one JSON document per line; a generated list becomes lines, anything else one line."""
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item) for item in items).encode()


@pytest.fixture(scope="module")
def fuzz_server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = create_database(postgres_url)
    try:
        with serving(url, tmp_path_factory.mktemp("fuzz")) as server:
            yield server
    finally:
        drop_database(postgres_url, url)


@pytest.fixture(scope="module")
def keys(fuzz_server: LiveServer) -> dict[str, dict[str, str]]:
    """A small community with members, ties, a block, a group and a placement to aim at."""
    with fuzz_server.client() as http:
        created = http.post("/v1/communities", json={"slug": SLUG, "name": "Fuzzed"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        body = created.json()
        platform = {"Authorization": f"Bearer {body['platform_key']}"}
        organiser = {"Authorization": f"Bearer {body['organiser_key']}"}
        base = f"/v1/communities/{SLUG}"
        for i, member_id in enumerate(["ann", "bob", "cat", "dan", "eve"]):
            http.put(f"{base}/members/{member_id}", headers=platform, json={
                "interests": ["chess", "hiking"][: 1 + i % 2], "needs": ["grief"] if i % 2 else [],
                "attributes": {"cohort": "a" if i < 3 else "b"}})
        for a, b in [("ann", "bob"), ("bob", "cat"), ("dan", "eve")]:
            http.put(f"{base}/connections", headers=platform, json={"a": a, "b": b})
        http.put(f"{base}/members/ann/blocks/eve", headers=platform)
        http.post(f"{base}/groups", headers=organiser, json={
            "name": "Grief circle", "topics": ["grief"], "capacity": 4, "format": "online"})
        http.post(f"{base}/placements", headers=organiser, json={})
    return {"platform": platform, "organiser": organiser}


EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


def test_no_operation_answers_with_a_server_error(fuzz_server: LiveServer, keys: dict[str, dict[str, str]]) -> None:
    schema = schemathesis.openapi.from_url(fuzz_server.base_url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    # Rotating a key (with no grace) revokes the key every later request sends: fuzz it last.
    every = sorted((result.ok() for result in schema.get_all_operations()),
                   key=lambda operation: operation.path.endswith("/keys/rotate"))
    for operation in every:
        operations += 1

        @EXAMPLES
        @given(case=operation.as_strategy())
        def send(case: schemathesis.Case) -> None:
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = SLUG
            for role in ("platform", "organiser"):
                try:
                    response = case.call(base_url=fuzz_server.base_url, headers=keys[role], timeout=60)
                except requests.Timeout:
                    failures.append(f"{role} {case.method} {case.formatted_path} -> no answer in 60 s")
                    return
                if response.status_code >= 500:
                    failures.append(f"{role} {case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{case.as_curl_command()}")
                    return

        send()
    assert operations >= 20
    assert not failures, "\n".join(failures[:20])


def test_the_fuzzed_server_is_still_healthy_after_the_run(fuzz_server: LiveServer) -> None:
    assert httpx.get(fuzz_server.base_url + "/readyz").status_code == 200
