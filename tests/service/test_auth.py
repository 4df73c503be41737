"""Who may call what: admin, platform, organiser, nobody, and another community's keys.

A missing or bad key gets 401 and a valid key that does not open the route gets 403, both the
same whether or not the community in the URL exists, so slugs cannot be enumerated.
"""

from __future__ import annotations

import psycopg
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
    assert _call(client, method, url, body, {"Authorization": "Bearer bel_p_000000000000_forged"}) == 401
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


FORGED = "bel_p_000000000000_" + "x" * 43


def _bad_keys(community: CommunityKeys) -> dict[str, dict[str, str]]:
    secret_changed = community.platform_key[:-3] + ("abc" if not community.platform_key.endswith("abc") else "xyz")
    return {
        "missing": {},
        "empty": {"Authorization": "Bearer "},
        "not a key": {"Authorization": "Bearer hello"},
        "forged": {"Authorization": f"Bearer {FORGED}"},
        "wrong secret": {"Authorization": f"Bearer {secret_changed}"},
        "not bearer": {"Authorization": f"Basic {community.platform_key}"},
    }


@pytest.mark.parametrize("which", ["missing", "empty", "not a key", "forged", "wrong secret", "not bearer"])
def test_a_bad_or_missing_key_gets_the_same_401_whether_or_not_the_community_exists(
    client: TestClient, community: CommunityKeys, which: str
) -> None:
    headers = _bad_keys(community)[which]
    existing = client.get(community.url("/members"), headers=headers)
    unknown = client.get("/v1/communities/nowhere/members", headers=headers)
    for response in (existing, unknown):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    assert existing.json() == unknown.json()


@pytest.mark.parametrize("which", ["admin", "organiser", "other community"])
def test_a_valid_key_that_does_not_open_the_route_gets_the_same_403_whether_or_not_the_community_exists(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, which: str
) -> None:
    headers = {"admin": ADMIN, "organiser": community.organiser, "other community": other_community.platform}[which]
    existing = client.get(community.url("/members"), headers=headers)
    unknown = client.get("/v1/communities/nowhere/members", headers=headers)
    assert existing.status_code == unknown.status_code == 403
    assert existing.json()["detail"].replace(community.slug, "nowhere") == unknown.json()["detail"]


def test_a_communitys_own_key_on_an_unknown_community_is_forbidden(
    client: TestClient, community: CommunityKeys
) -> None:
    response = client.get("/v1/communities/nowhere/members", headers=community.platform)
    assert response.status_code == 403


def test_a_revoked_key_is_a_bad_key(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE role = 'platform'")
    assert client.get(community.url("/members"), headers=community.platform).status_code == 401
