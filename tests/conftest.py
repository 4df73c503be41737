"""Test fixtures: a real PostgreSQL (``DATABASE_URL`` or an embedded server), a fresh database per test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import make_conninfo

from belonging.service.app import create_app
from belonging.service.config import Settings
from belonging.service.database import EmbeddedPostgres, migrate
from belonging.service.repository import distribution

ADMIN_TOKEN = "test-admin-token"
#: The tests send many requests per key; the rate limit has tests of its own with a low limit.
TEST_RATE_LIMIT = 1_000_000
TEMPLATE = "belonging_test_template"


def is_citus(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return distribution.has_citus(conn)


@pytest.fixture(scope="session")
def citus(postgres_url: str) -> bool:
    """True when the tests run against a Citus coordinator (``make test-citus``)."""
    return is_citus(postgres_url)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server the tests use; an embedded one unless ``DATABASE_URL`` is set.

    On a Citus coordinator, the database of ``DATABASE_URL`` itself is migrated (and so
    distributed) once: a new database would need the extension and the workers of its own.
    """
    embedded = None
    url = os.environ.get("DATABASE_URL")
    if url and is_citus(url):
        migrate(url)
        yield url
        return
    if not url:
        embedded = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
        url = embedded.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    migrate(make_conninfo(url, dbname=TEMPLATE))
    yield url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    if embedded is not None:
        embedded.stop()


def create_database(server_url: str, template: str | None = TEMPLATE) -> str:
    name = f"belonging_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return make_conninfo(server_url, dbname=name)


def drop_database(server_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_citus_tables(url: str) -> None:
    """Remove every community and so every row (the Citus stand-in for a fresh database).

    Every community table reaches ``communities`` through foreign keys that cascade, so one
    DELETE empties them all, and much faster than a TRUNCATE of every shard.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM communities")


@pytest.fixture
def database_url(postgres_url: str, citus: bool) -> Iterator[str]:
    """A fresh, migrated database of this test's own (on Citus: the one database, emptied)."""
    if citus:
        empty_citus_tables(postgres_url)
        yield postgres_url
        return
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(DATABASE_URL=database_url, data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN,
                    pool_min_size=1, pool_max_size=4, run_worker=False, rate_limit_per_minute=TEST_RATE_LIMIT)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass
class CommunityKeys:
    slug: str
    platform_key: str
    organiser_key: str

    @property
    def platform(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform_key}"}

    @property
    def organiser(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.organiser_key}"}

    def url(self, path: str = "") -> str:
        return f"/v1/communities/{self.slug}{path}"


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def make_community(client: TestClient, slug: str) -> CommunityKeys:
    response = client.post("/v1/communities", json={"slug": slug, "name": slug.title()}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    return CommunityKeys(slug, body["platform_key"], body["organiser_key"])


@pytest.fixture
def community(client: TestClient) -> CommunityKeys:
    return make_community(client, "riverside")


@pytest.fixture
def other_community(client: TestClient) -> CommunityKeys:
    return make_community(client, "hillside")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """``belonging serve`` running in its own process against this test's database."""

    base_url: str
    database_url: str
    process: subprocess.Popen | None = None

    def kill(self) -> None:
        """Kill the server at once, workers and whatever they started included, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)  # type: ignore[arg-type]


@contextmanager
def serving(
    database_url: str, data_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    """Run ``belonging serve`` on a free port against ``database_url`` until the block ends.

    ``env`` adds to (or overrides) the server's environment; ``args`` go to ``serve``. The server
    runs in a process group of its own (see :meth:`LiveServer.kill`).
    """
    port = _free_port()
    env = os.environ | {"DATABASE_URL": database_url, "BELONGING_ADMIN_TOKEN": ADMIN_TOKEN,
                        "BELONGING_DATA_DIR": str(data_dir), "BELONGING_LOG_LEVEL": "WARNING",
                        "BELONGING_RATE_LIMIT_PER_MINUTE": str(TEST_RATE_LIMIT)} | (env or {})
    command = [sys.executable, "-m", "belonging.service.cli", "serve", "--port", str(port), *args]
    data_dir.mkdir(parents=True, exist_ok=True)
    # The server's log goes to a file: an unread pipe fills up and stalls the server mid-request.
    log_path = data_dir / "server.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start: " + log_path.read_text()[-4000:])
            time.sleep(0.1)
        yield LiveServer(base, database_url, process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log_file.close()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The real server over real sockets, for racing parallel clients against it."""
    with serving(database_url, tmp_path / "live") as server:
        yield server

