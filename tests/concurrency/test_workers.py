"""``belonging serve --workers 2``: both workers serve every community from one mapped build, see
each other's writes at once, and a build killed half-way never costs the previous one."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from belonging.service import index_builds
from tests.concurrency.conftest import community_id, new_community
from tests.conftest import CommunityKeys, LiveServer, create_database, drop_database, serving

PROFILES = {
    "ana": {"interests": ["chess", "go"], "offers": ["cv writing"]},
    "bob": {"interests": ["chess"], "needs": ["tax forms"]},
    "cy": {"interests": ["chess", "hiking"]},
    "dan": {"interests": ["chess", "go"]},
    "eve": {"interests": ["gardening"], "offers": ["debt advice"]},
    "fay": {"interests": ["gardening", "hiking"]},
    "gus": {"interests": ["gardening"], "needs": ["cv writing"]},
    "hal": {"interests": ["chess", "gardening"]},
}
TIES = [("ana", "bob"), ("bob", "cy"), ("cy", "dan"), ("ana", "cy"), ("eve", "fay"), ("fay", "gus")]


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, url)


def load(server: LiveServer) -> CommunityKeys:
    keys = new_community(server)
    with server.client() as http:
        body = "\n".join(json.dumps({"member_id": m} | p) for m, p in PROFILES.items())
        assert http.post(keys.url("/members/import"), content=body, headers=keys.platform).status_code == 200
        ties = "\n".join(json.dumps({"a": a, "b": b}) for a, b in TIES)
        assert http.post(keys.url("/connections/import"), content=ties, headers=keys.platform).status_code == 200
    return keys


def workers(server: LiveServer) -> list[psutil.Process]:
    """The worker processes uvicorn spawned for the server."""
    assert server.process is not None
    return [p for p in psutil.Process(server.process.pid).children() if "spawn_main" in " ".join(p.cmdline())]


def mapped_builds(process: psutil.Process, root: Path) -> set[str]:
    """Files of index builds under ``root`` that ``process`` maps."""
    return {m.path for m in process.memory_maps(grouped=True) if m.path.startswith(str(root.resolve()))}


def worker_of(server: LiveServer, http: httpx.Client) -> int:
    """The pid of the worker holding ``http``'s (kept-alive) connection."""
    response = http.get("/healthz")
    stream = response.extensions["network_stream"]
    local_port = stream.get_extra_info("client_addr")[1]
    for worker in workers(server):
        for connection in worker.net_connections(kind="tcp"):
            if connection.raddr and connection.raddr.port == local_port:
                return worker.pid
    raise AssertionError("no worker holds the connection")


def clients_on_each_worker(server: LiveServer) -> dict[int, httpx.Client]:
    """One kept-alive client per worker: the kernel spreads connections, so open some until both are hit."""
    found: dict[int, httpx.Client] = {}
    for _ in range(200):
        http = server.client()
        pid = worker_of(server, http)
        if pid in found:
            http.close()
        else:
            found[pid] = http
        if len(found) == 2:
            return found
    for http in found.values():
        http.close()
    raise AssertionError("the two workers never both accepted a connection")


def suggestions(http: httpx.Client, keys: CommunityKeys, member_id: str) -> list[dict]:
    response = http.get(keys.url(f"/members/{member_id}/suggestions"), headers=keys.platform)
    assert response.status_code == 200, response.text
    return response.json()["suggestions"]


def test_two_workers_serve_a_community_from_one_set_of_mapped_files_and_see_each_others_writes(
    database: str, tmp_path: Path,
) -> None:
    with serving(database, tmp_path / "live", args=("--workers", "2")) as server:
        assert len(workers(server)) == 2
        keys = load(server)
        clients = clients_on_each_worker(server)
        (first, one), (second, other) = clients.items()
        try:
            assert suggestions(one, keys, "hal") and suggestions(other, keys, "hal")
            root = tmp_path / "live" / "indexes"
            files = mapped_builds(psutil.Process(first), root)
            assert files and files == mapped_builds(psutil.Process(second), root)
            assert len(index_builds.builds(root, community_id(server, keys))) == 1

            # A write through one worker, then the very next request, in the other.
            assert one.put(keys.url("/members/zoe"), json={}, headers=keys.platform).status_code == 201
            assert one.put(keys.url("/connections"), json={"a": "zoe", "b": "ana"},
                           headers=keys.platform).status_code == 201
            found = suggestions(other, keys, "zoe")
            knows = {s["member_id"] for s in found if any(r["kind"] == "mutual_connections" for r in s["reasons"])}
            assert knows == {"bob", "cy"}

            assert one.delete(keys.url("/members/zoe"), headers=keys.platform).status_code == 204
            gone = other.get(keys.url("/members/zoe/suggestions"), headers=keys.platform)
            assert gone.status_code == 404
            assert len(index_builds.builds(root, community_id(server, keys))) == 1
        finally:
            for http in clients.values():
                http.close()


def waiting_on(database: str, table: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted",
                           (table,)).fetchone()
    return int(row[0]) if row else 0


def test_killing_the_server_mid_build_leaves_the_previous_build_serving(database: str, tmp_path: Path) -> None:
    data = tmp_path / "live"
    # Any change asks for a new build, so the next request starts one in the background.
    eager = {"BELONGING_INDEX_COMPACT_AFTER_CHANGES": "1"}
    with serving(database, data, env=eager, args=("--workers", "2")) as server:
        keys = load(server)
        cid = community_id(server, keys)
        with server.client() as http:
            assert suggestions(http, keys, "hal")
            (previous,) = index_builds.builds(data / "indexes", cid)
            assert http.put(keys.url("/members/zoe"), json={}, headers=keys.platform).status_code == 201
            assert http.put(keys.url("/connections"), json={"a": "zoe", "b": "ana"},
                            headers=keys.platform).status_code == 201
        # Hold the build half-way: it reads blocks after members and ties, and waits here.
        with psycopg.connect(database) as holder:
            holder.execute("LOCK TABLE blocks IN ACCESS EXCLUSIVE MODE")
            outcome: list[object] = []

            def ask() -> None:
                try:
                    with server.client() as http:
                        outcome.append(http.get(keys.url("/members/zoe/suggestions"), headers=keys.platform))
                except httpx.TransportError as error:
                    outcome.append(error)

            asking = threading.Thread(target=ask)
            asking.start()
            # The request (recording, it reads blocks) and the build both wait on the lock.
            while waiting_on(database, "blocks") < 2:
                assert asking.is_alive()
                threading.Event().wait(0.05)
            # A build is a process a worker forked.
            assert [p for w in workers(server) for p in w.children()], "no build was running"
            server.kill()
            asking.join()
            holder.rollback()
        assert isinstance(outcome[0], httpx.TransportError)
        assert index_builds.builds(data / "indexes", cid) == [previous]

    with serving(database, data, args=("--workers", "2")) as server, server.client() as http:
        knows = {s["member_id"] for s in suggestions(http, keys, "zoe")
                 if any(r["kind"] == "mutual_connections" for r in s["reasons"])}
        assert knows == {"bob", "cy"}
        assert index_builds.builds(data / "indexes", cid) == [previous]


LEADERS = """
SELECT pid FROM pg_locks
 WHERE locktype = 'advisory' AND granted
   AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('belonging.leader:' || %s, 0)
"""


def leaders(database: str, data: Path, until: Callable[[list[int]], bool]) -> list[int]:
    """The backends holding the leader lock of the machine serving ``data``, once ``until`` holds
    of them (a minute at most)."""
    machine = index_builds.machine_name(data / "indexes")
    for _ in range(600):
        with psycopg.connect(database) as conn:
            found = [pid for (pid,) in conn.execute(LEADERS, (machine,)).fetchall()]
        if until(found):
            return found
        threading.Event().wait(0.1)
    return found


def asking(database: str, leader: int) -> int:
    """Connections other than the leader's whose last statement asked for a leader lock."""
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> %s",
                           ("%pg_try_advisory_lock(hashtextextended('belonging.leader:'%", leader)).fetchone()
    return int(row[0]) if row else 0


def test_background_jobs_run_in_one_worker_at_a_time_and_another_takes_over(database: str, tmp_path: Path) -> None:
    data = tmp_path / "live"
    with serving(database, data, args=("--workers", "2")):
        # Both workers ask; one holds the lock, the other keeps asking.
        (leader,) = leaders(database, data, lambda found: len(found) == 1 and asking(database, found[0]) == 1)
        assert asking(database, leader) == 1
        with psycopg.connect(database) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (leader,))
        (successor,) = leaders(database, data, lambda found: len(found) == 1 and found[0] != leader)
        assert successor != leader


def test_every_machine_runs_background_jobs_from_the_one_queue(database: str, tmp_path: Path) -> None:
    """Two machines (two servers on one database, each with its own data folder) each run a job
    runner; racing over one queue, they run every job queued exactly once."""
    one, two = tmp_path / "one", tmp_path / "two"
    with serving(database, one) as first, serving(database, two):
        (leader_one,) = leaders(database, one, lambda found: len(found) == 1)
        (leader_two,) = leaders(database, two, lambda found: len(found) == 1)
        assert leader_one != leader_two
        keys = load(first)
        cid = community_id(first, keys)
        with psycopg.connect(database) as conn:  # all due at once: both runners claim side by side
            conn.execute(QUEUE_SNAPSHOTS, (cid, JOBS))
        with psycopg.connect(database, autocommit=True) as conn:
            for _ in range(900):
                jobs = conn.execute(SNAPSHOT_JOBS, (cid,)).fetchall()
                if all(status == "done" for status, _ in jobs):
                    break
                threading.Event().wait(0.1)
            (snapshots,) = conn.execute(ON_DEMAND_SNAPSHOTS, (cid,)).fetchone()  # type: ignore[misc]
        assert len(jobs) == JOBS and set(jobs) == {("done", 1)}, jobs
        assert snapshots == JOBS  # each job's work done once


JOBS = 24
# On-demand snapshots only: a runner may also queue the day's snapshot of the new community.
QUEUE_SNAPSHOTS = "INSERT INTO jobs (community_id, kind) SELECT %s, 'silo_snapshot' FROM generate_series(1, %s)"
SNAPSHOT_JOBS = "SELECT status, attempts FROM jobs WHERE community_id = %s AND kind = 'silo_snapshot'"
ON_DEMAND_SNAPSHOTS = "SELECT count(*) FROM report_snapshots WHERE community_id = %s AND kind = 'on_demand'"


def test_a_killed_server_loses_no_suggestion_it_answered_nor_any_feedback(database: str, tmp_path: Path) -> None:
    """What the README promises: only a crash of PostgreSQL itself can lose the last moment of
    recorded suggestions; the service dying loses nothing it answered."""
    data = tmp_path / "live"
    with serving(database, data, args=("--workers", "2")) as server:
        keys = load(server)
        with server.client() as http:
            shown = suggestions(http, keys, "hal")
            accepted = http.post(keys.url(f"/suggestions/{shown[0]['suggestion_id']}/feedback"),
                                 json={"outcome": "accepted"}, headers=keys.platform)
            assert accepted.status_code == 200, accepted.text
            again = suggestions(http, keys, "dan")
        server.kill()
    with psycopg.connect(database) as conn:
        recorded = {row[0]: row[1] for row in conn.execute("SELECT suggestion_id::text, outcome FROM suggestions")}
    assert {s["suggestion_id"] for s in shown + again} <= set(recorded)
    assert recorded[shown[0]["suggestion_id"]] == "accepted"
    with serving(database, data, args=("--workers", "2")) as server, server.client() as http:
        tied = http.get(keys.url("/members/hal/connections"), headers=keys.platform)
        assert shown[0]["member_id"] in tied.text
        declined = http.post(keys.url(f"/suggestions/{again[0]['suggestion_id']}/feedback"),
                             json={"outcome": "declined"}, headers=keys.platform)
        assert declined.status_code == 200, declined.text
