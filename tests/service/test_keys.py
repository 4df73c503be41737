"""Key lifecycle: rotation with a grace period, the key list, last use, and the rotate-key command."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import auth, cli
from belonging.service.config import Settings
from tests.conftest import ADMIN, CommunityKeys


def rotate(client: TestClient, community: CommunityKeys, headers: dict[str, str], role: str,
           grace_seconds: int | None = None) -> dict:
    body: dict[str, object] = {"role": role}
    if grace_seconds is not None:
        body["grace_seconds"] = grace_seconds
    response = client.post(community.url("/keys/rotate"), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_rotating_without_grace_stops_the_old_key_at_once(client: TestClient, community: CommunityKeys) -> None:
    rotated = rotate(client, community, community.organiser, "platform")
    assert rotated["role"] == "platform" and rotated["key"].startswith("bel_p_")
    valid_until = datetime.fromisoformat(rotated["previous_key_valid_until"])
    assert abs(valid_until - datetime.now(UTC)) < timedelta(seconds=30)
    old = client.get(community.url("/members"), headers=community.platform)
    assert old.status_code == 401 and old.headers["content-type"] == "application/problem+json"
    assert client.get(community.url("/members"), headers=bearer(rotated["key"])).status_code == 200


def test_the_old_key_works_until_the_grace_period_ends(client: TestClient, community: CommunityKeys) -> None:
    rotated = rotate(client, community, community.organiser, "platform", grace_seconds=2)
    valid_until = datetime.fromisoformat(rotated["previous_key_valid_until"])
    assert timedelta(0) < valid_until - datetime.now(UTC) <= timedelta(seconds=2)
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200
    assert client.get(community.url("/members"), headers=bearer(rotated["key"])).status_code == 200
    time.sleep(max(0.0, (valid_until - datetime.now(UTC)).total_seconds()) + 0.2)
    assert client.get(community.url("/members"), headers=community.platform).status_code == 401
    assert client.get(community.url("/members"), headers=bearer(rotated["key"])).status_code == 200


def test_a_week_of_grace_is_the_most(client: TestClient, community: CommunityKeys) -> None:
    rotated = rotate(client, community, community.organiser, "platform", grace_seconds=604_800)
    valid_until = datetime.fromisoformat(rotated["previous_key_valid_until"])
    assert valid_until - datetime.now(UTC) > timedelta(days=6, hours=23)
    for grace in (-1, 604_801, "soon"):
        response = client.post(community.url("/keys/rotate"), json={"role": "platform", "grace_seconds": grace},
                               headers=community.organiser)
        assert response.status_code == 422 and "grace_seconds" in response.text


def test_rotating_again_in_the_grace_period_keeps_the_oldest_key_s_end(
    client: TestClient, community: CommunityKeys, database_url: str,
) -> None:
    first = rotate(client, community, community.organiser, "platform", grace_seconds=60)
    second = rotate(client, community, community.organiser, "platform", grace_seconds=3600)
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200
    keys = client.get(community.url("/keys"), headers=community.organiser).json()["keys"]
    platform = {k["key_id"]: k for k in keys if k["role"] == "platform"}
    assert len(platform) == 3 and all(k["active"] for k in platform.values())
    original = community.platform_key.split("_")[2]
    assert datetime.fromisoformat(platform[original]["revoked_at"]) == datetime.fromisoformat(
        first["previous_key_valid_until"])
    middle = first["key"].split("_")[2]
    assert datetime.fromisoformat(platform[middle]["revoked_at"]) == datetime.fromisoformat(
        second["previous_key_valid_until"])
    assert platform[second["key"].split("_")[2]]["revoked_at"] is None


def test_the_organiser_can_rotate_its_own_key(client: TestClient, community: CommunityKeys) -> None:
    rotated = rotate(client, community, community.organiser, "organiser")
    assert rotated["key"].startswith("bel_o_")
    assert client.get(community.url("/settings"), headers=community.organiser).status_code == 401
    assert client.get(community.url("/settings"), headers=bearer(rotated["key"])).status_code == 200
    # the platform key is untouched
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200


def test_the_admin_token_rotates_any_community_s_keys(client: TestClient, community: CommunityKeys) -> None:
    rotated = rotate(client, community, ADMIN, "organiser")
    assert client.get(community.url("/settings"), headers=bearer(rotated["key"])).status_code == 200
    missing = client.post("/v1/communities/nowhere/keys/rotate", json={"role": "platform"}, headers=ADMIN)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_only_the_organiser_key_or_the_admin_token_rotates(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys,
) -> None:
    body = {"role": "platform"}
    assert client.post(community.url("/keys/rotate"), json=body, headers=community.platform).status_code == 403
    assert client.post(community.url("/keys/rotate"), json=body,
                       headers=other_community.organiser).status_code == 403
    assert client.post(community.url("/keys/rotate"), json=body).status_code == 401
    assert client.post(community.url("/keys/rotate"), json=body, headers=bearer("bel_admin_guess")).status_code == 401
    assert client.get(community.url("/keys"), headers=community.platform).status_code == 403
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200


def test_the_key_list_shows_ids_roles_and_dates_never_secrets(
    client: TestClient, community: CommunityKeys,
) -> None:
    rotated = rotate(client, community, community.organiser, "platform")
    response = client.get(community.url("/keys"), headers=community.organiser)
    assert response.status_code == 200
    listed = response.json()["keys"]
    assert {(k["role"], k["active"]) for k in listed} == {("platform", True), ("platform", False),
                                                          ("organiser", True)}
    text = response.text
    for secret in (community.platform_key, community.organiser_key, rotated["key"]):
        assert auth.parse_key(secret).secret not in text
    assert set(listed[0]) == {"key_id", "role", "created_at", "last_used_at", "revoked_at", "active"}
    by_admin = client.get(community.url("/keys"), headers=ADMIN).json()["keys"]
    assert [k["key_id"] for k in by_admin] == [k["key_id"] for k in listed]


def test_last_use_is_recorded_at_most_once_a_minute(
    client: TestClient, community: CommunityKeys, database_url: str,
) -> None:
    def last_used() -> datetime | None:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT last_used_at FROM api_keys WHERE role = 'platform'").fetchone()
        assert row is not None
        return row[0]

    assert last_used() is None
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200
    deadline = time.monotonic() + 5
    while last_used() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first = last_used()
    assert first is not None
    for _ in range(5):
        client.get(community.url("/members"), headers=community.platform)
    time.sleep(0.2)
    assert last_used() == first
    listed = client.get(community.url("/keys"), headers=community.organiser).json()["keys"]
    assert [datetime.fromisoformat(k["last_used_at"]) for k in listed if k["role"] == "platform"] == [first]


def test_dashboard_sessions_of_the_old_organiser_key_end_with_its_grace(
    client: TestClient, community: CommunityKeys,
) -> None:
    signed_in = client.post(f"/dashboard/{community.slug}/login", data={"key": community.organiser_key},
                            follow_redirects=False)
    assert signed_in.status_code == 303
    assert client.get(f"/dashboard/{community.slug}").status_code == 200
    rotated = rotate(client, community, community.organiser, "organiser", grace_seconds=1)
    assert client.get(f"/dashboard/{community.slug}").status_code == 200
    valid_until = datetime.fromisoformat(rotated["previous_key_valid_until"])
    time.sleep(max(0.0, (valid_until - datetime.now(UTC)).total_seconds()) + 0.2)
    assert client.get(f"/dashboard/{community.slug}").status_code == 401


def test_dashboard_sessions_of_a_key_rotated_without_grace_are_closed(
    client: TestClient, community: CommunityKeys, database_url: str,
) -> None:
    client.post(f"/dashboard/{community.slug}/login", data={"key": community.organiser_key}, follow_redirects=False)
    rotate(client, community, ADMIN, "organiser")
    assert client.get(f"/dashboard/{community.slug}").status_code == 401
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM dashboard_sessions").fetchone() == (0,)


def test_the_rotate_key_command_prints_the_new_key_once(
    client: TestClient, community: CommunityKeys, settings: Settings, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("BELONGING_DATA_DIR", str(settings.data_dir))
    cli.main(["rotate-key", community.slug, "--role", "platform", "--grace-seconds", "30"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["role"] == "platform" and printed["key"].startswith("bel_p_")
    assert client.get(community.url("/members"), headers=bearer(printed["key"])).status_code == 200
    assert client.get(community.url("/members"), headers=community.platform).status_code == 200
    with pytest.raises(SystemExit):
        cli.main(["rotate-key", community.slug, "--role", "platform", "--grace-seconds", "604801"])
    with pytest.raises(SystemExit):
        cli.main(["rotate-key", "nowhere", "--role", "organiser"])
