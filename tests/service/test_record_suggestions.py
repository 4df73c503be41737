"""The statement that records suggestions is the judge of the hard rules, whatever the ranking knew.

A serving process ranks on its build and overlay, which may be a moment behind. These tests hand
``record`` a ranking that ignores every rule and check that the statement alone keeps only the
candidates that may be shown: members open to suggestions, not the asker, not tied, not blocked
either way, not declined either way, under the weekly cap, and with a pending suggestion's id
reused instead of a second exposure.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import auth
from belonging.service.repository import suggestions as repository
from tests.conftest import CommunityKeys

MEMBERS = ["hal", "ana", "bob", "cy", "dan", "eve", "fay", "gus", "ivy", "jo"]


@dataclass(frozen=True)
class Ranked:
    member_id: str
    score: float = 0.5
    reasons: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class Key:
    community_id: int
    key_id: str
    secret_hash: bytes


def platform_key(database_url: str, community: CommunityKeys) -> Key:
    """The community's platform key as the statement checks it: its id and the hash of its secret."""
    parsed = auth.parse_key(community.platform_key)
    assert parsed is not None
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT community_id FROM api_keys WHERE key_id = %s", (parsed.key_id,)).fetchone()
    assert row is not None
    return Key(row[0], parsed.key_id, auth.hash_secret(parsed.secret))


def record(database_url: str, key: Key, member_id: str, ranked: list[str], limit: int = 10) -> list[tuple[str, str]]:
    async def call() -> list[tuple[str, str]]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            outcome = await repository.record(
                conn, key.community_id, member_id, [Ranked(m) for m in ranked], key_id=key.key_id,
                secret_hash=key.secret_hash, settings=None, read_at=None, limit=limit,
                default_max_exposures=20, model_version="test")
        assert outcome.status == "ok", outcome
        return outcome.recorded

    return asyncio.run(call())


@pytest.fixture
def key(client: TestClient, community: CommunityKeys, database_url: str) -> Key:
    body = "\n".join(json.dumps({"member_id": m}) for m in MEMBERS).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    return platform_key(database_url, community)


def feedback(client: TestClient, community: CommunityKeys, suggestion_id: str, outcome: str) -> None:
    response = client.post(community.url(f"/suggestions/{suggestion_id}/feedback"), json={"outcome": outcome},
                           headers=community.platform)
    assert response.status_code == 200, response.text


def test_the_statement_keeps_only_candidates_every_rule_allows(
    client: TestClient, community: CommunityKeys, database_url: str, key: Key
) -> None:
    [(_, declined_by_hal)] = record(database_url, key, "hal", ["ana"])
    feedback(client, community, declined_by_hal, "declined")
    [(_, declined_by_bob)] = record(database_url, key, "bob", ["hal"])
    feedback(client, community, declined_by_bob, "declined")
    assert client.put(community.url("/members/cy/blocks/hal"), headers=community.platform).status_code == 204
    assert client.put(community.url("/members/hal/blocks/ivy"), headers=community.platform).status_code == 204
    assert client.put(community.url("/connections"), json={"a": "dan", "b": "hal"},
                      headers=community.platform).status_code == 201
    [(_, pending)] = record(database_url, key, "hal", ["eve"])
    assert client.put(community.url("/members/jo"), json={"open_to_suggestions": False},
                      headers=community.platform).status_code == 200

    ranked = ["hal", "ana", "bob", "cy", "ivy", "dan", "nobody", "jo", "eve", "gus", "fay"]
    kept = record(database_url, key, "hal", ranked)

    assert [m for m, _ in kept] == ["eve", "gus", "fay"]
    assert dict(kept)["eve"] == pending  # the pending suggestion, not a second exposure


def test_the_weekly_cap_counts_every_asker_and_spares_pending_suggestions(
    client: TestClient, community: CommunityKeys, database_url: str, key: Key
) -> None:
    assert client.patch(community.url("/settings"), json={"max_exposures_per_week": 2},
                        headers=community.organiser).status_code == 200
    first = record(database_url, key, "ana", ["gus"])
    record(database_url, key, "bob", ["gus"])

    kept = record(database_url, key, "cy", ["gus", "fay"])  # gus was proposed twice this week

    assert [m for m, _ in kept] == ["fay"]
    assert record(database_url, key, "cy", ["fay"]) == kept  # asked again: the same pending suggestion
    assert record(database_url, key, "ana", ["gus"]) == first  # ana's own pending one is still shown


def test_the_limit_keeps_the_best_ranked_first(
    client: TestClient, community: CommunityKeys, database_url: str, key: Key
) -> None:
    kept = record(database_url, key, "hal", ["gus", "fay", "eve", "dan"], limit=2)
    assert [m for m, _ in kept] == ["gus", "fay"]
