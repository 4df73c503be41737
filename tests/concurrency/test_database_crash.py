"""PostgreSQL itself crashing under a running service: what the README promises.

Acknowledged feedback is never lost; a suggestion recorded more than a moment before the crash is
never lost (its commit did not wait for the disk, but the WAL writer flushes within three times
``wal_writer_delay``); while the database is away every request gets a 503 with ``Retry-After``
(never a 500, never a dropped connection); and once it is back the same service answers again,
with no restart.

The database here is an embedded server of the test's own, so crashing it touches nothing else.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psycopg

from belonging.service.database import EmbeddedPostgres
from tests.concurrency.test_workers import load, suggestions
from tests.conftest import serving

# The README's bound: three times wal_writer_delay (200 ms by default), and some margin.
ASYNC_COMMITS_ON_DISK_AFTER_S = 1.0


def crash(server: EmbeddedPostgres) -> None:
    """Stop PostgreSQL the way a crash does: immediate shutdown, no checkpoint, WAL replayed at the next start."""
    pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("PostgreSQL did not stop")


def answered(http: httpx.Client, request: httpx.Request, *, within_s: float) -> httpx.Response:
    """The first answer that is not a 503, asking again while the database comes back."""
    deadline = time.monotonic() + within_s
    while True:
        response = http.send(request)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_database_crash_loses_no_feedback_nor_any_suggestion_older_than_a_moment(tmp_path: Path) -> None:
    database = EmbeddedPostgres(tmp_path / "db")
    url = database.start()
    try:
        # A request waits this long for a connection before its 503 (5 s by default).
        env = {"BELONGING_POOL_TIMEOUT_S": "1"}
        with serving(url, tmp_path / "live", env=env) as server, server.client() as http:
            keys = load(server)
            shown = {m: suggestions(http, keys, m) for m in ("hal", "dan", "gus")}
            accepted = http.post(keys.url(f"/suggestions/{shown['hal'][0]['suggestion_id']}/feedback"),
                                 json={"outcome": "accepted"}, headers=keys.platform)
            declined = http.post(keys.url(f"/suggestions/{shown['dan'][0]['suggestion_id']}/feedback"),
                                 json={"outcome": "declined"}, headers=keys.platform)
            assert accepted.status_code == declined.status_code == 200, (accepted.text, declined.text)
            time.sleep(ASYNC_COMMITS_ON_DISK_AFTER_S)
            crash(database)

            while_down = [http.get(keys.url("/members/gus/suggestions"), headers=keys.platform),
                          http.get(keys.url("/members"), headers=keys.platform),
                          http.put(keys.url("/members/ivy"), json={}, headers=keys.platform)]
            for response in while_down:
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert int(response.headers["retry-after"]) >= 1

            database.stop()
            database = EmbeddedPostgres(tmp_path / "db")
            assert database.start() == url
            # The same server, no restart: its pool drops the broken connections and makes new ones.
            again = answered(http, http.build_request("GET", keys.url("/members/fay/suggestions"),
                                                      headers=keys.platform), within_s=30)
            assert again.status_code == 200, again.text
            created = answered(http, http.build_request("PUT", keys.url("/members/ivy"), json={},
                                                        headers=keys.platform), within_s=30)
            assert created.status_code == 201, created.text  # the write refused while down never happened

        with psycopg.connect(url) as conn:
            recorded = dict(conn.execute("SELECT suggestion_id::text, outcome FROM suggestions").fetchall())
        assert {s["suggestion_id"] for listed in shown.values() for s in listed} <= set(recorded)
        assert recorded[shown["hal"][0]["suggestion_id"]] == "accepted"
        assert recorded[shown["dan"][0]["suggestion_id"]] == "declined"
    finally:
        database.stop()
