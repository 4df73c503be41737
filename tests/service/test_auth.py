"""Who may call what: admin, platform, organiser, nobody, and another community's keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, CommunityKeys

PLATFORM_ROUTES = [
    ("PUT", "/members/m1", {"interests": ["chess"]}),
    ("GET", "/members/m1", None),
    ("GET", "/members", None),
    ("GET", "/members/m1/connections", None),
    ("PUT", "/connections", {"a": "m1", "b": "m2"}),
    ("PUT", "/members/m1/blocks/m2", None),
]
ORGANISER_ROUTES = [
    ("GET", "/settings", None),
    ("PATCH", "/settings", {"bridging_weight": 0.5}),
]


def _seed(client: TestClient, community: CommunityKeys) -> None:
    for member in ("m1", "m2"):
        assert client.put(community.url(f"/members/{member}"), json={}, headers=community.platform).status_code == 201


def _call(client: TestClient, method: str, url: str, body: dict | None, headers: dict) -> int:
    return client.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "body"), PLATFORM_ROUTES)
def test_platform_routes_accept_only_the_communitys_platform_key(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, method: str, path: str,
    body: dict | None,
) -> None:
    _seed(client, community)
    url = community.url(path)
    assert _call(client, method, url, body, {}) == 401
    assert _call(client, method, url, body, ADMIN) == 403
    assert _call(client, method, url, body, community.organiser) == 403
    assert _call(client, method, url, body, other_community.platform) == 403
    assert _call(client, method, url, body, {"Authorization": "Bearer bel_p_000000000000_forged"}) == 403
    assert _call(client, method, url, body, community.platform) in (200, 201, 204)


@pytest.mark.parametrize(("method", "path", "body"), ORGANISER_ROUTES)
def test_organiser_routes_accept_only_the_communitys_organiser_key(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, method: str, path: str,
    body: dict | None,
) -> None:
    url = community.url(path)
    assert _call(client, method, url, body, {}) == 401
    assert _call(client, method, url, body, ADMIN) == 403
    assert _call(client, method, url, body, community.platform) == 403
    assert _call(client, method, url, body, other_community.organiser) == 403
    assert _call(client, method, url, body, community.organiser) == 200


def test_only_the_admin_token_creates_communities(client: TestClient, community: CommunityKeys) -> None:
    body = {"slug": "lakeside", "name": "Lakeside"}
    assert client.post("/v1/communities", json=body).status_code == 401
    assert client.post("/v1/communities", json=body, headers=community.platform).status_code == 403
    assert client.post("/v1/communities", json=body, headers=community.organiser).status_code == 403
    created = client.post("/v1/communities", json=body, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["platform_key"] != created.json()["organiser_key"]


def test_a_key_never_reads_another_communitys_member(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys
) -> None:
    client.put(community.url("/members/secret"), json={"needs": ["grief"]}, headers=community.platform)
    response = client.get(other_community.url("/members/secret"), headers=other_community.platform)
    assert response.status_code == 404
    response = client.get(community.url("/members/secret"), headers=other_community.platform)
    assert response.status_code == 403
    assert "grief" not in response.text


def test_keys_are_stored_hashed(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        stored = [bytes(r[0]) for r in conn.execute("SELECT secret_hash FROM api_keys").fetchall()]
    secret = community.platform_key.split("_", 3)[3]
    assert stored and all(secret.encode() not in h for h in stored)
    assert all(len(h) == 32 for h in stored)


def test_duplicate_community_slug_is_a_conflict(client: TestClient, community: CommunityKeys) -> None:
    response = client.post("/v1/communities", json={"slug": community.slug, "name": "Again"}, headers=ADMIN)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_unknown_community_is_not_found(client: TestClient, community: CommunityKeys) -> None:
    response = client.get("/v1/communities/nowhere/members", headers=community.platform)
    assert response.status_code == 404
