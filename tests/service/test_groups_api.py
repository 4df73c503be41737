"""Support groups and placements over HTTP."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.matching.placement import suggest_groups_for_member
from belonging.service import metrics, support_groups
from belonging.service.indexes import profile_of
from belonging.service.jobs import run_one
from belonging.service.repository import connections as repository_connections
from belonging.service.repository import groups as repository_groups
from belonging.service.repository import members as repository_members
from tests.conftest import CommunityKeys

PROFILES = {
    "ana": {"needs": ["grief"], "formats": ["online"], "languages": ["nl"]},
    "bob": {"needs": ["grief"], "formats": ["online"], "languages": ["en"]},
    "cy": {"needs": ["grief"], "formats": ["in_person"]},
    "dan": {"private_needs": ["grief"], "formats": ["online"]},
    "eve": {"needs": ["job search"], "formats": ["online"]},
    "fay": {"needs": ["job search"], "formats": ["online"]},
    "gus": {"needs": ["job search"], "formats": ["online"]},
    "hal": {"needs": ["cv writing"]},
}


@pytest.fixture
def members(client: TestClient, community: CommunityKeys) -> None:
    body = "\n".join(json.dumps({"member_id": m} | p) for m, p in PROFILES.items()).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    client.put(community.url("/connections"), json={"a": "bob", "b": "cy"}, headers=community.platform)


def create_group(client: TestClient, community: CommunityKeys, **fields) -> dict:
    body = {"name": "Grief circle", "topics": ["Grief"], "capacity": 2, "format": "online"} | fields
    response = client.post(community.url("/groups"), json=body, headers=community.organiser)
    assert response.status_code == 201, response.text
    return response.json()


def propose(client: TestClient, community: CommunityKeys, **body) -> dict:
    response = client.post(community.url("/placements"), json=body, headers=community.organiser)
    assert response.status_code == 201, response.text
    return response.json()


def test_groups_can_be_created_read_changed_and_deleted(client: TestClient, community: CommunityKeys) -> None:
    group = create_group(client, community, language="EN")
    assert group["topics"] == ["grief"] and group["language"] == "en" and group["seats_free"] == 2
    url = community.url(f"/groups/{group['group_id']}")
    changed = client.patch(url, json={"capacity": 5}, headers=community.organiser).json()
    assert changed["capacity"] == 5 and changed["name"] == "Grief circle"
    assert [
        g["group_id"] for g in client.get(community.url("/groups"), headers=community.organiser).json()["groups"]
    ] == [group["group_id"]]
    assert client.delete(url, headers=community.organiser).status_code == 204
    assert client.get(url, headers=community.organiser).status_code == 404


@pytest.mark.parametrize("body", [{"capacity": 0}, {"topics": []}, {"format": "carrier pigeon"}, {"colour": "red"}])
def test_bad_groups_are_refused(client: TestClient, community: CommunityKeys, body: dict) -> None:
    base = {"name": "G", "topics": ["grief"], "capacity": 2, "format": "online"}
    response = client.post(community.url("/groups"), json=base | body, headers=community.organiser)
    assert response.status_code == 422
    assert client.get(community.url("/groups"), headers=community.organiser).json()["groups"] == []


def test_placement_respects_format_language_and_capacity(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    group = create_group(client, community, language="en")
    result = propose(client, community, explain=True)
    placed = {a["member_id"]: a["group_id"] for a in result["assignments"]}
    assert set(placed) <= {"bob", "dan"}  # ana speaks only Dutch, cy meets only in person
    assert len(placed) <= 2 and set(placed.values()) <= {group["group_id"]}
    assert result["objective"] == pytest.approx(sum(a["fit"] for a in result["assignments"]), abs=1e-3)
    assert all(a["candidates"] for a in result["assignments"])
    reasons = {u["member_id"]: u["reason"] for u in result["unplaced"]}
    assert "ana" in reasons and "cy" in reasons
    assert "grief" not in json.dumps([a for a in result["assignments"] if a["member_id"] == "dan"])


def test_unserved_needs_become_proposed_groups(client: TestClient, community: CommunityKeys, members: None) -> None:
    result = propose(client, community)
    proposed = [g for g in result["proposed_groups"] if g["topics"] == ["job search"]]
    assert proposed and set(proposed[0]["member_ids"]) == {"eve", "fay", "gus"}


def test_applying_a_placement_seats_members_once(client: TestClient, community: CommunityKeys, members: None) -> None:
    group = create_group(client, community, language="en")
    result = propose(client, community)
    url = community.url(f"/placements/{result['placement_id']}/apply")
    applied = client.post(url, headers=community.organiser)
    assert applied.status_code == 200 and applied.json()["applied"] == len(result["assignments"]) > 0
    seated = client.get(community.url(f"/groups/{group['group_id']}"), headers=community.organiser).json()
    assert set(seated["member_ids"]) == {a["member_id"] for a in result["assignments"]}
    assert client.post(url, headers=community.organiser).status_code == 409


def test_apply_is_refused_when_groups_changed_since_the_proposal(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    group = create_group(client, community, language="en")
    result = propose(client, community)
    client.patch(community.url(f"/groups/{group['group_id']}"), json={"capacity": 1}, headers=community.organiser)
    response = client.post(community.url(f"/placements/{result['placement_id']}/apply"), headers=community.organiser)
    assert response.status_code == 409
    seated = client.get(community.url(f"/groups/{group['group_id']}"), headers=community.organiser).json()
    assert seated["member_ids"] == []


def test_adding_by_hand_respects_capacity_and_blocks(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    group = create_group(client, community, capacity=2)
    url = community.url(f"/groups/{group['group_id']}/members")
    assert client.put(f"{url}/bob", headers=community.organiser).status_code == 204
    client.put(community.url("/members/dan/blocks/bob"), headers=community.platform)
    assert client.put(f"{url}/dan", headers=community.organiser).status_code == 409
    assert client.put(f"{url}/eve", headers=community.organiser).status_code == 204
    assert client.put(f"{url}/fay", headers=community.organiser).status_code == 409
    assert client.put(f"{url}/ghost", headers=community.organiser).status_code == 404


def test_member_sees_groups_that_fit_them(client: TestClient, community: CommunityKeys, members: None) -> None:
    group = create_group(client, community)
    create_group(client, community, name="Jobs", topics=["job search"])
    response = client.get(community.url("/members/bob/groups/suggestions"), headers=community.platform)
    assert response.status_code == 200
    assert [g["group_id"] for g in response.json()["groups"]] == [group["group_id"]]


def test_placement_with_unknown_member_group_or_attribute_is_a_422(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    for body in (
        {"member_ids": ["ghost"]},
        {"group_ids": ["00000000-0000-0000-0000-000000000000"]},
        {"spread_attribute": "dorm"},
    ):
        response = client.post(community.url("/placements"), json=body, headers=community.organiser)
        assert response.status_code == 422, body


def test_apply_is_refused_when_members_it_seats_together_blocked_each_other_since(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    group = create_group(client, community, language="en")
    result = propose(client, community)
    assert {a["member_id"] for a in result["assignments"]} == {"bob", "dan"}
    assert client.put(community.url("/members/dan/blocks/bob"), headers=community.platform).status_code == 204

    response = client.post(community.url(f"/placements/{result['placement_id']}/apply"), headers=community.organiser)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["blocked_pairs"] == [{"group_id": group["group_id"], "member_ids": ["bob", "dan"]}]
    assert "'bob' and 'dan'" in problem["detail"] and "propose a new placement" in problem["detail"]
    seated = client.get(community.url(f"/groups/{group['group_id']}"), headers=community.organiser).json()
    assert seated["member_ids"] == []
    assert len(propose(client, community)["assignments"]) == 1


def test_a_block_between_members_who_share_a_group_takes_the_blocked_member_out(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    group = create_group(client, community, capacity=3)
    url = community.url(f"/groups/{group['group_id']}")
    for member_id in ("bob", "dan", "eve"):
        assert client.put(f"{url}/members/{member_id}", headers=community.organiser).status_code == 204

    assert client.put(community.url("/members/dan/blocks/bob"), headers=community.platform).status_code == 204

    assert client.get(url, headers=community.organiser).json()["member_ids"] == ["dan", "eve"]
    assert client.put(f"{url}/members/bob", headers=community.organiser).status_code == 409


def test_a_placement_over_the_member_limit_runs_as_a_job(
    client: TestClient, community: CommunityKeys, members: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support_groups, "SYNC_MAX_MEMBERS", len(PROFILES) - 1)
    group = create_group(client, community, language="en")

    response = client.post(community.url("/placements"), json={}, headers=community.organiser)

    assert response.status_code == 202
    status_url = response.json()["status_url"]
    assert response.headers["location"] == status_url
    assert client.get(status_url, headers=community.organiser).json()["status"] == "queued"
    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    job = client.get(status_url, headers=community.organiser).json()
    assert job["status"] == "done", job["error"]
    placement = job["result"]
    assert {(a["member_id"], a["group_id"]) for a in placement["assignments"]} == {
        ("bob", group["group_id"]), ("dan", group["group_id"])}
    stored = client.get(community.url(f"/placements/{placement['placement_id']}"), headers=community.organiser)
    assert stored.status_code == 200 and stored.json()["assignments"] == placement["assignments"]
    applied = client.post(community.url(f"/placements/{placement['placement_id']}/apply"), headers=community.organiser)
    assert applied.status_code == 200 and applied.json()["applied"] == 2


def test_a_placement_at_the_member_limit_is_answered_at_once(
    client: TestClient, community: CommunityKeys, members: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support_groups, "SYNC_MAX_MEMBERS", 2)
    create_group(client, community, language="en")
    assert len(propose(client, community, member_ids=["bob", "dan"])["assignments"]) == 2
    too_many = client.post(community.url("/placements"), json={"member_ids": ["ana", "bob", "dan"]},
                           headers=community.organiser)
    assert too_many.status_code == 202


def test_a_large_placement_with_an_unknown_member_is_a_422_before_any_job(
    client: TestClient, community: CommunityKeys, members: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support_groups, "SYNC_MAX_MEMBERS", 0)
    response = client.post(community.url("/placements"), json={"member_ids": ["ghost"]}, headers=community.organiser)
    assert response.status_code == 422
    assert not client.portal.call(run_one, client.app.state.pool, client.app.state)


def test_a_members_own_view_reads_only_their_groups_members_and_fits_as_with_the_whole_community(
    client: TestClient, community: CommunityKeys, members: None, database_url: str
) -> None:
    more = [{"member_id": "ivy", "needs": ["grief"], "interests": ["chess", "poetry"], "formats": ["online"]},
            {"member_id": "jo", "interests": ["chess"], "formats": ["online"], "languages": ["en"]},
            {"member_id": "kim", "interests": ["poetry"], "formats": ["online"]}]
    body = "\n".join(json.dumps(m) for m in more).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    circle = create_group(client, community, capacity=4)
    talk = create_group(client, community, name="Grief talk", capacity=4)
    create_group(client, community, name="Jobs", topics=["job search"])
    for group, member_id in ((circle, "jo"), (circle, "eve"), (talk, "kim"), (talk, "fay")):
        url = community.url(f"/groups/{group['group_id']}/members/{member_id}")
        assert client.put(url, headers=community.organiser).status_code == 204
    client.put(community.url("/connections"), json={"a": "ivy", "b": "jo"}, headers=community.platform)
    reads = metrics.COMMUNITY_READS._value.get()

    for member_id in ("ivy", "bob", "dan", "eve"):
        response = client.get(community.url(f"/members/{member_id}/groups/suggestions"), headers=community.platform)
        assert response.status_code == 200, response.text
        assert response.json()["groups"] == whole_community_view(database_url, community, member_id), member_id
        if member_id == "ivy":
            assert {g["group_id"] for g in response.json()["groups"]} == {circle["group_id"], talk["group_id"]}
    client.put(community.url("/members/kim/blocks/ivy"), headers=community.platform)
    after_block = client.get(community.url("/members/ivy/groups/suggestions"), headers=community.platform).json()

    assert metrics.COMMUNITY_READS._value.get() == reads
    assert [g["group_id"] for g in after_block["groups"]] == [circle["group_id"]]
    assert after_block["groups"] == whole_community_view(database_url, community, "ivy")


def whole_community_view(database_url: str, community: CommunityKeys, member_id: str) -> list[dict]:
    """The member's groups computed from every member's profile, every block and every tie count."""
    with psycopg.connect(database_url) as conn:
        (cid,) = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (community.slug,)).fetchone()

    async def read() -> tuple[list, list, list, dict]:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            rows = await repository_members.all_profiles(conn, cid)
            blocks = await repository_connections.all_blocks(conn, cid)
            groups = await repository_groups.all_groups(conn, cid)
            degrees = await repository_connections.degrees(conn, cid, [r["member_id"] for r in rows])
            return rows, blocks, groups, degrees

    rows, blocks, groups, degrees = asyncio.run(read())
    profiles = [profile_of(row) for row in rows]
    (member,) = [p for p in profiles if p.member_id == member_id]
    return suggest_groups_for_member(member, [support_groups.as_support_group(g) for g in groups], members=profiles,
                                     blocks=[frozenset(b) for b in blocks], degrees=degrees)
