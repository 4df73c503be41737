"""NDJSON imports are all or nothing, and a good file loads completely."""

from __future__ import annotations

import json

import psycopg
from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys


def ndjson(rows: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def member_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM members").fetchone()[0]


def tie_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM connections").fetchone()[0]


def import_members(client: TestClient, community: CommunityKeys, body: bytes):
    return client.post(community.url("/members/import"), content=body,
                       headers=community.platform | {"content-type": "application/x-ndjson"})


def import_ties(client: TestClient, community: CommunityKeys, body: bytes):
    return client.post(community.url("/connections/import"), content=body,
                       headers=community.platform | {"content-type": "application/x-ndjson"})


def test_member_import_creates_and_replaces(client: TestClient, community: CommunityKeys) -> None:
    client.put(community.url("/members/m1"), json={"interests": ["old"]}, headers=community.platform)
    body = ndjson([{"member_id": "m1", "interests": ["New  Tag"]}, {"member_id": "m2"}, {"member_id": "m3"}])
    response = import_members(client, community, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"lines": 3, "created": 2, "updated": 1}
    assert client.get(community.url("/members/m1"), headers=community.platform).json()["interests"] == ["new tag"]


def test_one_bad_member_line_anywhere_rejects_the_whole_import(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    rows = [{"member_id": f"m{i}"} for i in range(50)]
    lines = [json.dumps(r) for r in rows]
    lines[37] = '{"member_id": "m37", "belonging_score": 9}'
    lines[12] = "{broken"
    response = import_members(client, community, "\n".join(lines).encode())
    assert response.status_code == 422
    body = response.json()
    assert [e["line"] for e in body["errors"]] == [13, 38]
    assert "13" in body["detail"] and "38" in body["detail"]
    assert member_count(database_url) == 0


def test_connection_import_checks_members_and_loads_in_one_go(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    import_members(client, community, ndjson([{"member_id": f"m{i}"} for i in range(5)]))
    good = ndjson([{"a": "m0", "b": "m1"}, {"a": "m1", "b": "m0", "weight": 4}, {"a": "m2", "b": "m3", "kind": "x"}])
    response = import_ties(client, community, good)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    ties = client.get(community.url("/members/m0/connections"), headers=community.platform).json()["connections"]
    assert ties == [{"member_id": "m1", "weight": 4.0, "kind": None}]
    again = import_ties(client, community, ndjson([{"a": "m3", "b": "m2", "weight": 2}, {"a": "m3", "b": "m4"}]))
    assert again.json() == {"lines": 2, "created": 1, "updated": 1}
    assert tie_count(database_url) == 3


def test_one_bad_connection_line_rejects_the_whole_import(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    import_members(client, community, ndjson([{"member_id": f"m{i}"} for i in range(5)]))
    bad = ndjson([{"a": "m0", "b": "m1"}, {"a": "m2", "b": "m2"}, {"a": "m3", "b": "ghost"},
                  {"a": "m3", "b": "m4", "weight": -2}])
    response = import_ties(client, community, bad)
    assert response.status_code == 422
    assert [e["line"] for e in response.json()["errors"]] == [2, 3, 4]
    assert tie_count(database_url) == 0


def test_empty_import_is_refused(client: TestClient, community: CommunityKeys) -> None:
    response = import_members(client, community, b"\n\n")
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]
