"""Racing real clients at one real server: the server, the race, and reading the final rows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import ADMIN, CommunityKeys, LiveServer, create_database, drop_database, empty_citus_tables, serving

Call = Callable[[httpx.Client], httpx.Response]


@pytest.fixture(scope="module")
def shared_server(postgres_url: str, citus: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server and database for a module's race tests; each test works in a community of its own.

    On Citus the one distributed database is emptied instead (see ``database_url``).
    """
    if citus:
        empty_citus_tables(postgres_url)
        with serving(postgres_url, tmp_path_factory.mktemp("live")) as server:
            yield server
        return
    url = create_database(postgres_url)
    try:
        with serving(url, tmp_path_factory.mktemp("live")) as server:
            yield server
    finally:
        drop_database(postgres_url, url)


def new_community(server: LiveServer) -> CommunityKeys:
    slug = f"race-{uuid.uuid4().hex[:10]}"
    with server.client() as http:
        created = http.post("/v1/communities", json={"slug": slug, "name": slug}, headers=ADMIN)
    assert created.status_code == 201, created.text
    body = created.json()
    return CommunityKeys(slug, body["platform_key"], body["organiser_key"])


def race(server: LiveServer, calls: list[Call]) -> list[httpx.Response]:
    """Run ``calls`` at once, each on a client of its own, released together; responses in call order."""
    start = threading.Barrier(len(calls))

    def run(call: Call) -> httpx.Response:
        with server.client() as http:
            http.get("/healthz")  # connect before the barrier, so the requests leave together
            start.wait()
            return call(http)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_no_server_errors(responses: list[httpx.Response]) -> None:
    failed = [(r.status_code, r.text) for r in responses if r.status_code >= 500]
    assert not failed, failed


def rows(server: LiveServer, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """What the database holds now, read outside the server."""
    with psycopg.connect(server.database_url) as conn:
        return conn.execute(query, params).fetchall()


def execute(server: LiveServer, statement: str, params: dict[str, Any] | None = None) -> None:
    with psycopg.connect(server.database_url) as conn:
        conn.execute(statement, params)


def community_id(server: LiveServer, keys: CommunityKeys) -> int:
    (found,) = rows(server, "SELECT community_id FROM communities WHERE slug = %(slug)s", {"slug": keys.slug})
    return int(found[0])
