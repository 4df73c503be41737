"""The service on a Citus cluster (a coordinator and two workers): layout, routing, locks, COPY, erasure."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import deps
from belonging.service.database import migrate, migration_files
from belonging.service.repository import jobs, operation_locks
from belonging.service.repository.communities import CommunityRow
from tests.conftest import CommunityKeys, make_community


def ndjson(lines: list[dict]) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode()


def community_tables(conn: psycopg.Connection) -> set[str]:
    """Every table with a community_id column, read from the catalogue (not from the code under test)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'community_id' AND NOT a.attisdropped"
        " WHERE n.nspname = 'public' AND c.relkind = 'r'"
    ).fetchall()
    return {name for (name,) in rows}


def community_id(conn: psycopg.Connection, slug: str) -> int:
    row = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (slug,)).fetchone()
    assert row is not None
    return int(row[0])


def nodes_of(conn: psycopg.Connection, cid: int) -> set[int]:
    """The worker ports holding the shards of community ``cid``, over every distributed table."""
    rows = conn.execute(
        "SELECT DISTINCT n.nodeport FROM pg_dist_partition p"
        " JOIN pg_dist_placement pl ON pl.shardid = get_shard_id_for_distribution_column(p.logicalrelid, %(cid)s)"
        " JOIN pg_dist_node n ON n.groupid = pl.groupid WHERE p.partmethod = 'h'",
        {"cid": cid},
    ).fetchall()
    return {port for (port,) in rows}


def test_every_community_table_is_distributed_on_community_id_and_co_located(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = community_tables(conn)
        rows = conn.execute(
            "SELECT logicalrelid::regclass::text, partmethod, repmodel, colocationid,"
            " column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition"
        ).fetchall()
    layout = {name: (method, model, group, column) for name, method, model, group, column in rows}
    assert {"members", "connections", "community_revisions", "jobs", "round_pairs"} <= tables
    distributed = tables - {"communities", "api_keys"}
    assert distributed <= set(layout), sorted(distributed - set(layout))
    assert {layout[t][0] for t in distributed} == {"h"}
    assert {layout[t][3] for t in distributed} == {"community_id"}
    assert len({layout[t][2] for t in distributed}) == 1, "every community table is in one co-location group"
    assert layout["communities"][:2] == ("n", "t") and layout["api_keys"][:2] == ("n", "t")


def test_migrate_says_it_used_citus(database_url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "belonging.service.cli", "migrate"], capture_output=True,
                            text=True, env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}, check=True)
    assert "Mode: Citus" in result.stdout
    assert "community_revisions" in result.stdout


def test_a_table_a_later_migration_adds_is_distributed_with_its_foreign_keys(
    database_url: str, tmp_path: Path
) -> None:
    for shipped in migration_files():
        (tmp_path / shipped.name).write_text(shipped.read_text())
    (tmp_path / "29991231_01_change_log.sql").write_text(
        "CREATE TABLE change_log (community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,"
        " change_id uuid NOT NULL DEFAULT gen_random_uuid(), what text NOT NULL,"
        " PRIMARY KEY (community_id, change_id));"
    )
    try:
        assert migrate(database_url, tmp_path) == ["29991231_01_change_log.sql"]
        with psycopg.connect(database_url) as conn:
            method, group = conn.execute(
                "SELECT partmethod, colocationid FROM pg_dist_partition WHERE logicalrelid = 'change_log'::regclass"
            ).fetchone()
            (members_group,) = conn.execute(
                "SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'members'::regclass").fetchone()
            assert (method, group) == ("h", members_group)
            # The foreign key to the reference table came back: a row needs its community.
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute("INSERT INTO change_log (community_id, what) VALUES (987654321, 'nobody')")
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS change_log")
            conn.execute("DELETE FROM schema_migrations WHERE name = '29991231_01_change_log.sql'")


def test_a_query_over_every_shard_fails_under_the_suites_setting(database_url: str) -> None:
    """The guard the suite relies on is live: a request's query that fans out is an error."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET citus.multi_task_query_log_level = 'error'")
        conn.execute("SELECT count(*) FROM members WHERE community_id = 1")
        with pytest.raises(psycopg.errors.InternalError):
            conn.execute("SELECT count(*) FROM members")


def test_each_community_lives_on_one_node_and_communities_spread_over_both_workers(
    client: TestClient, database_url: str
) -> None:
    slugs = [f"town-{k}" for k in range(10)]
    for slug in slugs:
        make_community(client, slug)
    with psycopg.connect(database_url) as conn:
        placements = [nodes_of(conn, community_id(conn, slug)) for slug in slugs]
        workers = {port for (port,) in conn.execute(
            "SELECT nodeport FROM pg_dist_node WHERE shouldhaveshards").fetchall()}
    assert all(len(nodes) == 1 for nodes in placements), placements
    assert set().union(*placements) == workers and len(workers) == 2


def test_copy_imports_load_on_the_communitys_shard_and_move_the_revision_once(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, database_url: str
) -> None:
    members = [{"member_id": f"m{k:03}", "interests": ["chess"] if k % 2 else ["walking"]} for k in range(300)]
    ties = [{"a": f"m{k:03}", "b": f"m{(k * 7 + 1) % 300:03}"} for k in range(300) if k != (k * 7 + 1) % 300]
    headers = community.platform | {"content-type": "application/x-ndjson"}
    with psycopg.connect(database_url) as conn:
        cid = community_id(conn, community.slug)
        before = conn.execute("SELECT revision FROM community_revisions WHERE community_id = %s", (cid,)).fetchone()
    assert client.post(community.url("/members/import"), content=ndjson(members), headers=headers).status_code == 200
    loaded = client.post(community.url("/connections/import"), content=ndjson(ties), headers=headers)
    assert loaded.status_code == 200, loaded.text
    # Re-importing replaces through a temporary table and an UPDATE joined to it.
    again = client.post(community.url("/members/import"), content=ndjson(members[:10]), headers=headers)
    assert again.json()["updated"] == 10
    with psycopg.connect(database_url) as conn:
        counted = conn.execute("SELECT (SELECT count(*) FROM members WHERE community_id = %(c)s),"
                               " (SELECT count(*) FROM connections WHERE community_id = %(c)s)", {"c": cid}).fetchone()
        after = conn.execute("SELECT revision FROM community_revisions WHERE community_id = %s", (cid,)).fetchone()
    assert counted == (300, loaded.json()["created"])
    assert after[0] == before[0] + 3, "one revision per import, however many rows and shards it wrote"
    listed = client.get(community.url("/members?limit=500"), headers=community.platform).json()
    assert len(listed["members"]) == 300
    assert client.get(other_community.url("/members"), headers=other_community.platform).json()["members"] == []


def test_the_communitys_advisory_lock_holds_across_connections_to_the_coordinator(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    body = ndjson([{"member_id": "a"}, {"member_id": "b"}])
    headers = community.platform | {"content-type": "application/x-ndjson"}
    with psycopg.connect(database_url) as holder:
        cid = community_id(holder, community.slug)
        first, second = operation_locks.lock_key("import", cid)
        holder.execute("SELECT pg_advisory_xact_lock(%s, %s)", (first, second))
        refused = client.post(community.url("/members/import"), content=body, headers=headers)
        assert refused.status_code == 429
    assert client.post(community.url("/members/import"), content=body, headers=headers).status_code == 200


def test_a_job_locked_on_its_shard_is_skipped_and_each_job_is_claimed_once(
    client: TestClient, database_url: str
) -> None:
    for slug in ("north", "south"):
        make_community(client, slug)
    with psycopg.connect(database_url) as conn:
        north, south = community_id(conn, "north"), community_id(conn, "south")
        for cid in (north, south):
            conn.execute("INSERT INTO jobs (community_id, kind, run_after)"
                         " VALUES (%s, 'nothing', now() - interval '1 hour')", (cid,))
        conn.commit()
        (north_job,) = conn.execute("SELECT job_id FROM jobs WHERE community_id = %s", (north,)).fetchone()
        # Another worker holds the north job: a claim must pass over it, not wait for it.
        conn.execute("SELECT 1 FROM jobs WHERE community_id = %s AND job_id = %s FOR UPDATE", (north, north_job))

        async def claim_three() -> list[int | None]:
            claimed: list[int | None] = []
            async with await psycopg.AsyncConnection.connect(database_url) as worker:
                for release in (False, False, True):
                    if release:
                        conn.rollback()
                    job = await jobs.claim(worker)
                    claimed.append(None if job is None else job["community_id"])
                claimed.append(None if (job := await jobs.claim(worker)) is None else job["community_id"])
            return claimed

        assert asyncio.run(claim_three()) == [south, None, north, None]
        rows = conn.execute("SELECT status, attempts FROM jobs WHERE community_id IN (%s, %s)",
                            (north, south)).fetchall()
    assert rows == [("running", 1), ("running", 1)]


def test_erasing_a_member_cascades_through_every_table_on_the_cluster(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    members = [{"member_id": m, "needs": ["grief"], "interests": ["chess"], "formats": ["online"]}
               for m in ("ana", "bob", "cy", "dee")]
    headers = community.platform | {"content-type": "application/x-ndjson"}
    assert client.post(community.url("/members/import"), content=ndjson(members), headers=headers).status_code == 200
    client.put(community.url("/connections"), json={"a": "ana", "b": "bob"}, headers=community.platform)
    client.put(community.url("/members/cy/blocks/ana"), headers=community.platform)
    assert client.get(community.url("/members/cy/suggestions"), headers=community.platform).status_code == 200
    group = client.post(community.url("/groups"), json={"name": "G", "topics": ["grief"], "capacity": 4,
                                                        "format": "online"}, headers=community.organiser).json()
    proposal = client.post(community.url("/placements"), json={}, headers=community.organiser).json()
    assert "ana" in json.dumps(proposal)
    client.put(community.url(f"/groups/{group['group_id']}/members/ana"), headers=community.organiser)
    round_ = client.post(community.url("/rounds"), json={}, headers=community.organiser)
    assert round_.status_code == 201, round_.text
    assert client.delete(community.url("/members/ana"), headers=community.platform).status_code == 204
    with psycopg.connect(database_url) as conn:
        cid = community_id(conn, community.slug)
        for table in sorted(community_tables(conn) - {"communities", "api_keys", "community_revisions"}):
            naming = conn.execute(f"SELECT count(*) FROM {table} t WHERE community_id = %s"
                                  " AND to_jsonb(t)::text LIKE '%%\"ana\"%%'", (cid,)).fetchone()
            assert naming == (0,), table
        pairs = conn.execute("SELECT count(*) FROM round_pairs p WHERE community_id = %s AND NOT EXISTS"
                             " (SELECT 1 FROM round_pair_members m WHERE m.community_id = %s"
                             "  AND m.pair_id = p.pair_id)", (cid, cid)).fetchone()
    assert pairs == (0,), "a pair that lost a member goes whole"
    assert client.get(community.url("/members/bob/connections"), headers=community.platform).json()["connections"] == []


def test_the_key_check_reads_the_revision_from_the_communitys_shard(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    async def check() -> CommunityRow:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute("SET citus.multi_task_query_log_level = 'error'")
            return await deps.community_for_key(conn, community.slug, community.platform_key, "platform")

    before = asyncio.run(check()).revision
    client.put(community.url("/members/zed"), json={}, headers=community.platform)
    assert asyncio.run(check()).revision == before + 1
