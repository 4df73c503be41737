"""Operations: health, migrations, the embedded server, OpenAPI, logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service.database import EmbeddedPostgres, migrate, migration_files
from belonging.service.logs import JsonFormatter
from tests.conftest import CommunityKeys, create_database, drop_database


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"


def test_openapi_lists_the_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/communities", "/v1/communities/{slug}/members/{member_id}",
                 "/v1/communities/{slug}/members/import", "/v1/communities/{slug}/connections",
                 "/v1/communities/{slug}/settings"):
        assert path in paths
    assert client.get("/docs").status_code == 200


def test_migrations_apply_to_an_empty_database_exactly_once(postgres_url: str) -> None:
    url = create_database(postgres_url, template=None)
    try:
        applied = migrate(url)
        assert applied == [p.name for p in migration_files()]
        assert migrate(url) == []
        with psycopg.connect(url) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        assert {"communities", "members", "connections", "blocks", "suggestions", "support_groups",
                "group_memberships", "placements", "report_snapshots", "jobs"} <= tables
    finally:
        drop_database(postgres_url, url)


def test_migrate_on_plain_postgresql_says_so_and_distributes_nothing(database_url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "belonging.service.cli", "migrate"], capture_output=True,
                            text=True, env=os.environ | {"DATABASE_URL": database_url}, check=True)
    assert "The database is up to date." in result.stdout
    assert "Mode: single PostgreSQL" in result.stdout
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone() == (0,)


def test_every_table_leads_with_the_community(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE i.indisprimary AND n.nspname = 'public'"
            " AND c.relname NOT IN ('communities', 'schema_migrations')").fetchall()
    assert rows and all(column == "community_id" for _, column in rows)


def test_embedded_database_keeps_data_across_a_restart(tmp_path: pytest.TempPathFactory) -> None:
    server = EmbeddedPostgres(tmp_path)
    url = server.start()
    migrate(url)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO communities (slug, name) VALUES ('kept', 'Kept')")
    server.stop()
    again = EmbeddedPostgres(tmp_path)
    url = again.start()
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name FROM communities WHERE slug = 'kept'").fetchone() == ("Kept",)
    finally:
        again.stop()


def test_logs_never_carry_keys_or_needs(
    client: TestClient, community: CommunityKeys, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.put(community.url("/members/ana"), json={"needs": ["grief"], "private_needs": ["debt"]},
                   headers=community.platform)
        client.get(community.url("/members/ana"), headers=community.platform)
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any(json.loads(line).get("path") == "/v1/communities/riverside/members/ana" for line in lines)
    text = "\n".join(lines)
    secret = community.platform_key.split("_", 3)[3]
    assert secret not in text and "grief" not in text and "debt" not in text


def test_json_log_formatter_redacts_sensitive_fields() -> None:
    record = logging.makeLogRecord({"msg": "x", "token": "abc", "needs": ["grief"], "member": "m1"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["token"] == "[redacted]" and entry["needs"] == "[redacted]" and entry["member"] == "m1"
