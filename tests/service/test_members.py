"""Member profiles: upsert, read, list, erase, normalisation and bad input."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys


def put(client: TestClient, community: CommunityKeys, member_id: str, body: dict) -> dict:
    response = client.put(community.url(f"/members/{member_id}"), json=body, headers=community.platform)
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_put_creates_then_replaces(client: TestClient, community: CommunityKeys) -> None:
    first = client.put(community.url("/members/ana"), json={"interests": ["chess"]}, headers=community.platform)
    assert first.status_code == 201
    second = client.put(community.url("/members/ana"), json={"interests": ["go"]}, headers=community.platform)
    assert second.status_code == 200
    assert second.json()["interests"] == ["go"]
    assert second.json()["created_at"] == first.json()["created_at"]


def test_tags_are_trimmed_lowercased_collapsed_and_deduplicated(client: TestClient, community: CommunityKeys) -> None:
    member = put(client, community, "ana", {
        "interests": ["  Board   Games ", "board games", "CHESS", " "],
        "needs": ["CV  Writing"], "languages": ["EN", "en"],
        "attributes": {"cohort": " 2024 ", "neighbourhood": "Old   Town"},
    })
    assert member["interests"] == ["board games", "chess"]
    assert member["needs"] == ["cv writing"]
    assert member["languages"] == ["en"]
    assert member["attributes"] == {"cohort": "2024", "neighbourhood": "old town"}


def test_get_returns_the_profile_and_unknown_member_is_404(client: TestClient, community: CommunityKeys) -> None:
    put(client, community, "ana", {"display_name": "Ana", "offers": ["bike repair"], "belonging_score": 4})
    member = client.get(community.url("/members/ana"), headers=community.platform).json()
    assert member["display_name"] == "Ana" and member["offers"] == ["bike repair"] and member["belonging_score"] == 4
    missing = client.get(community.url("/members/bob"), headers=community.platform)
    assert missing.status_code == 404
    assert "bob" in missing.json()["detail"]


def test_delete_erases_the_member_and_everything_about_them(
    client: TestClient, community: CommunityKeys, database_url: str
) -> None:
    for member_id in ("ana", "bob", "cy"):
        put(client, community, member_id, {})
    client.put(community.url("/connections"), json={"a": "ana", "b": "bob"}, headers=community.platform)
    client.put(community.url("/members/cy/blocks/ana"), headers=community.platform)
    put(client, community, "ana", {"needs": ["grief"]})
    client.post(community.url("/groups"), json={"name": "G", "topics": ["grief"], "capacity": 3, "format": "online"},
                headers=community.organiser)
    proposal = client.post(community.url("/placements"), json={}, headers=community.organiser).json()
    assert "ana" in json.dumps(proposal)
    what_if = client.post(community.url("/reports/what-if"), json={"ties": [{"a": "ana", "b": "cy"}]},
                          headers=community.organiser)
    assert what_if.status_code == 200
    assert client.delete(community.url("/members/ana"), headers=community.platform).status_code == 204
    assert client.get(community.url(f"/placements/{proposal['placement_id']}"),
                      headers=community.organiser).status_code == 404
    assert client.get(community.url("/members/ana"), headers=community.platform).status_code == 404
    bob_ties = client.get(community.url("/members/bob/connections"), headers=community.platform).json()
    assert bob_ties["connections"] == []
    with psycopg.connect(database_url) as conn:
        for table, column in [("connections", "member_a"), ("connections", "member_b"), ("blocks", "member_id"),
                              ("blocks", "blocked_id"), ("suggestions", "member_id"),
                              ("suggestions", "candidate_id"), ("group_memberships", "member_id")]:
            count = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = 'ana'").fetchone()[0]
            assert count == 0, table
        for table, column in [("placements", "result"), ("jobs", "result"), ("report_snapshots", "report")]:
            count = conn.execute(f"SELECT count(*) FROM {table} WHERE {column}::text LIKE '%%\"ana\"%%'").fetchone()[0]
            assert count == 0, table
    assert client.delete(community.url("/members/ana"), headers=community.platform).status_code == 404


def test_list_pages_through_every_member_once(client: TestClient, community: CommunityKeys) -> None:
    ids = [f"m{i:02d}" for i in range(7)]
    for member_id in reversed(ids):
        put(client, community, member_id, {})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(community.url("/members"), params=params, headers=community.platform).json()
        seen += [m["member_id"] for m in page["members"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interests": "chess"}, "interests"),
        ({"interests": ["x" * 65]}, "interests"),
        ({"interests": [f"tag {i}" for i in range(51)]}, "interests"),
        ({"formats": ["carrier pigeon"]}, "formats"),
        ({"formats": []}, "formats"),
        ({"languages": ["english please"]}, "languages"),
        ({"belonging_score": 6}, "belonging_score"),
        ({"attributes": {"Cohort!": "x"}}, "attributes"),
        ({"favourite_colour": "green"}, "favourite_colour"),
        ({"open_to_suggestions": "maybe"}, "open_to_suggestions"),
    ],
)
def test_bad_profiles_get_422_naming_the_field_and_change_nothing(
    client: TestClient, community: CommunityKeys, body: dict, field: str
) -> None:
    put(client, community, "ana", {"interests": ["chess"]})
    response = client.put(community.url("/members/ana"), json=body, headers=community.platform)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]
    assert client.get(community.url("/members/ana"), headers=community.platform).json()["interests"] == ["chess"]


@pytest.mark.parametrize("member_id", ["-starts-with-dash", "has space", "x" * 129])
def test_bad_member_ids_are_refused(client: TestClient, community: CommunityKeys, member_id: str) -> None:
    response = client.put(community.url(f"/members/{member_id}"), json={}, headers=community.platform)
    assert response.status_code == 422


def test_malformed_json_body_is_a_4xx_problem(client: TestClient, community: CommunityKeys) -> None:
    response = client.put(community.url("/members/ana"), content=b"{not json",
                          headers=community.platform | {"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["title"] == "Invalid input"


def test_oversize_body_is_refused_with_413(client: TestClient, community: CommunityKeys) -> None:
    body = {"display_name": "x" * 2_000_000}
    response = client.put(community.url("/members/ana"), json=body, headers=community.platform)
    assert response.status_code == 413
    assert client.get(community.url("/members/ana"), headers=community.platform).status_code == 404


def test_bad_cursor_is_a_422(client: TestClient, community: CommunityKeys) -> None:
    response = client.get(community.url("/members"), params={"cursor": "%%%"}, headers=community.platform)
    assert response.status_code == 422
