"""Rate limits per community key, and expensive operations one at a time per community."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service.app import create_app
from belonging.service.config import Settings
from belonging.service.rate_limits import RateLimiter
from belonging.service.repository.operation_locks import lock_key
from tests.conftest import ADMIN, CommunityKeys, make_community, serving

LIMIT = 5


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": LIMIT}))) as client:
        yield client


def assert_rate_headers(response: httpx.Response, remaining: int) -> None:
    assert response.headers["RateLimit-Limit"] == str(LIMIT)
    assert response.headers["RateLimit-Remaining"] == str(remaining)
    assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60


# --- the bucket ---------------------------------------------------------------------------------

def test_a_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert [limiter.take("k").retry_after for _ in range(60)] == [None] * 60
    refused = limiter.take("k")
    assert refused.remaining == 0 and refused.retry_after == 1
    now[0] += 1.0
    assert limiter.take("k").retry_after is None
    assert limiter.take("k").retry_after == 1
    now[0] += 60.0
    full = limiter.take("k")
    assert full.remaining == 59 and full.reset_seconds == 1


# --- over HTTP ----------------------------------------------------------------------------------

def test_over_the_limit_a_key_gets_429_with_retry_after(limited: TestClient) -> None:
    community = make_community(limited, "riverside")
    for used in range(1, LIMIT + 1):
        response = limited.get(community.url("/members"), headers=community.platform)
        assert response.status_code == 200
        assert_rate_headers(response, LIMIT - used)
    refused = limited.get(community.url("/members"), headers=community.platform)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429 and "requests a minute" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 // LIMIT + 1
    assert_rate_headers(refused, 0)


def test_every_keyed_response_carries_the_headers_errors_included(limited: TestClient) -> None:
    community = make_community(limited, "riverside")
    missing = limited.get(community.url("/members/nobody"), headers=community.platform)
    assert missing.status_code == 404
    assert_rate_headers(missing, LIMIT - 1)
    invalid = limited.put(community.url("/connections"), json={"a": "x"}, headers=community.platform)
    assert invalid.status_code == 422
    assert_rate_headers(invalid, LIMIT - 2)


def test_each_key_has_its_own_bucket(limited: TestClient) -> None:
    riverside, hillside = make_community(limited, "riverside"), make_community(limited, "hillside")
    for _ in range(LIMIT):
        limited.get(riverside.url("/members"), headers=riverside.platform)
    assert limited.get(riverside.url("/members"), headers=riverside.platform).status_code == 429
    organiser = limited.get(riverside.url("/settings"), headers=riverside.organiser)
    assert organiser.status_code == 200
    assert_rate_headers(organiser, LIMIT - 1)
    other = limited.get(hillside.url("/members"), headers=hillside.platform)
    assert other.status_code == 200
    assert_rate_headers(other, LIMIT - 1)


def test_the_admin_token_is_not_limited(limited: TestClient) -> None:
    for i in range(LIMIT * 3):
        response = limited.post("/v1/communities", json={"slug": f"place-{i}", "name": "Place"}, headers=ADMIN)
        assert response.status_code == 201
        assert "RateLimit-Limit" not in response.headers
    keys = limited.get("/v1/communities/place-0/keys", headers=ADMIN)
    assert keys.status_code == 200 and "RateLimit-Limit" not in keys.headers


def test_requests_without_a_valid_key_spend_nobody_s_bucket(limited: TestClient) -> None:
    community = make_community(limited, "riverside")
    wrong = community.platform_key[:-4] + "AAAA"
    for _ in range(LIMIT * 2):
        assert limited.get(community.url("/members"), headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
    assert limited.get(community.url("/members"), headers=community.platform).status_code == 200


def test_a_zero_limit_turns_the_limit_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": 0}))) as client:
        community = make_community(client, "riverside")
        response = client.get(community.url("/members"), headers=community.platform)
        assert response.status_code == 200 and "RateLimit-Limit" not in response.headers


def test_the_live_server_reads_its_limit_from_the_environment(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path / "live", env={"BELONGING_RATE_LIMIT_PER_MINUTE": "3"}) as server:
        with server.client() as http:
            created = http.post("/v1/communities", json={"slug": "riverside", "name": "Riverside"}, headers=ADMIN)
            body = created.json()
            community = CommunityKeys("riverside", body["platform_key"], body["organiser_key"])
            statuses = [http.get(community.url("/members"), headers=community.platform) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["RateLimit-Limit"] == "3" and "Retry-After" in statuses[3].headers


# --- expensive operations -------------------------------------------------------------------------

def _community_id(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (slug,)).fetchone()
    assert row is not None
    return int(row[0])


EXPENSIVE = [
    ("silo_report", "organiser", "GET", "/reports/silos", None),
    ("silo_report", "organiser", "POST", "/reports/silos/snapshots", None),
    ("what_if", "organiser", "POST", "/reports/what-if", {"ties": [{"a": "ann", "b": "bob"}]}),
    ("placement", "organiser", "POST", "/placements", {}),
    ("import", "platform", "POST", "/members/import", '{"member_id": "cat"}'),
    ("import", "platform", "POST", "/connections/import", '{"a": "ann", "b": "bob"}'),
]


@pytest.mark.parametrize(("operation", "role", "method", "path", "body"), EXPENSIVE,
                         ids=[f"{case[2]} {case[3]}" for case in EXPENSIVE])
def test_an_expensive_operation_already_running_elsewhere_gets_429(
    client: TestClient, community: CommunityKeys, database_url: str,
    operation: str, role: str, method: str, path: str, body: object,
) -> None:
    for member_id in ("ann", "bob"):
        client.put(community.url(f"/members/{member_id}"), json={"interests": ["chess"]}, headers=community.platform)
    headers = community.platform if role == "platform" else community.organiser
    kwargs: dict[str, object] = {"headers": headers}
    if isinstance(body, str):
        kwargs = {"headers": headers | {"Content-Type": "application/x-ndjson"}, "content": body}
    elif body is not None:
        kwargs["json"] = body
    # Another worker (another session) running the same operation for this community holds its lock.
    with psycopg.connect(database_url, autocommit=True) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(%s, %s)", lock_key(operation, _community_id(database_url,
                                                                                                    community.slug)))
        refused = client.request(method, community.url(path), **kwargs)  # type: ignore[arg-type]
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "RateLimit-Remaining" in refused.headers
        other_worker.execute("SELECT pg_advisory_unlock_all()")
    done = client.request(method, community.url(path), **kwargs)  # type: ignore[arg-type]
    assert done.status_code < 300, done.text


def test_concurrent_expensive_operations_of_different_communities_do_not_wait_for_each_other(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(%s, %s)",
                             lock_key("silo_report", _community_id(database_url, community.slug)))
        assert client.get(other_community.url("/reports/silos"), headers=other_community.organiser).status_code == 200
        assert client.post(community.url("/placements"), json={}, headers=community.organiser).status_code == 201
        assert client.get(community.url("/reports/silos"), headers=community.organiser).status_code == 429


def test_a_lock_ends_with_its_request(client: TestClient, community: CommunityKeys) -> None:
    for _ in range(3):
        assert client.get(community.url("/reports/silos"), headers=community.organiser).status_code == 200


def test_a_second_import_while_one_streams_its_body_gets_429_on_the_real_server(
    database_url: str, tmp_path: Path,
) -> None:
    """Two clients over real sockets: the first import holds the lock while its body arrives."""
    first_chunk_sent, finish = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b'{"member_id": "ann", "interests": ["chess"]}\n'
        first_chunk_sent.set()
        finish.wait(30)
        yield b'{"member_id": "bob", "interests": ["chess"]}\n'

    with serving(database_url, tmp_path / "live") as server, server.client() as http:
        created = http.post("/v1/communities", json={"slug": "riverside", "name": "Riverside"}, headers=ADMIN).json()
        community = CommunityKeys("riverside", created["platform_key"], created["organiser_key"])
        ndjson = community.platform | {"Content-Type": "application/x-ndjson"}
        first_key, second_key = lock_key("import", _community_id(database_url, "riverside"))
        results: list[httpx.Response] = []
        with server.client() as streaming:
            first = threading.Thread(target=lambda: results.append(
                streaming.post(community.url("/members/import"), content=slow_body(), headers=ndjson)))
            first.start()
            try:
                assert first_chunk_sent.wait(30)
                deadline = time.monotonic() + 30
                with psycopg.connect(database_url, autocommit=True) as conn:
                    while not conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                           " AND classid = %s AND objid = %s AND granted",
                                           (first_key, second_key)).fetchone() == (1,):
                        assert time.monotonic() < deadline, "the first import never took its lock"
                        time.sleep(0.02)
                second = http.post(community.url("/connections/import"), content=b'{"a": "ann", "b": "bob"}',
                                   headers=ndjson)
                assert second.status_code == 429 and second.headers["Retry-After"] == "5"
                assert second.headers["content-type"] == "application/problem+json"
            finally:
                finish.set()
                first.join(60)
        assert results and results[0].status_code == 200, results
        assert results[0].json()["created"] == 2
        again = http.post(community.url("/connections/import"), content=b'{"a": "ann", "b": "bob"}', headers=ndjson)
        assert again.status_code == 200, again.text
