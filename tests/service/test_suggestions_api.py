"""Suggestions over HTTP: boundaries read fresh, feedback, exposure caps."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from belonging.service.schemas import CommunitySettings
from tests.conftest import CommunityKeys

# A small community: a chess club (ana, bob, cy, dan), a garden group (eve, fay, gus), and
# hal, who is new, has no ties and likes chess and gardening.
PROFILES = {
    "ana": {"interests": ["chess", "go"], "offers": ["cv writing"]},
    "bob": {"interests": ["chess"], "needs": ["tax forms"]},
    "cy": {"interests": ["chess", "hiking"]},
    "dan": {"interests": ["chess", "go"], "private_needs": ["debt advice"]},
    "eve": {"interests": ["gardening"], "offers": ["debt advice"]},
    "fay": {"interests": ["gardening", "hiking"]},
    "gus": {"interests": ["gardening"], "needs": ["cv writing"]},
    "hal": {"interests": ["chess", "gardening"], "needs": ["cv writing"], "private_needs": ["debt advice"]},
}
TIES = [("ana", "bob"), ("bob", "cy"), ("cy", "dan"), ("ana", "cy"), ("eve", "fay"), ("fay", "gus")]


@pytest.fixture
def members(client: TestClient, community: CommunityKeys) -> None:
    body = "\n".join(json.dumps({"member_id": m} | p) for m, p in PROFILES.items()).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    ties = "\n".join(json.dumps({"a": a, "b": b}) for a, b in TIES).encode()
    assert (
        client.post(community.url("/connections/import"), content=ties, headers=community.platform).status_code == 200
    )


def suggested(client: TestClient, community: CommunityKeys, member_id: str, limit: int = 10) -> list[dict]:
    response = client.get(
        community.url(f"/members/{member_id}/suggestions"), params={"limit": limit}, headers=community.platform
    )
    assert response.status_code == 200, response.text
    return response.json()["suggestions"]


def ids(suggestions: list[dict]) -> set[str]:
    return {s["member_id"] for s in suggestions}


def test_isolated_member_gets_suggestions_with_reasons(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    result = suggested(client, community, "hal")
    assert result
    assert all(s["reasons"] and s["suggestion_id"] for s in result)
    assert "hal" not in ids(result)


def test_existing_connections_are_never_suggested(client: TestClient, community: CommunityKeys, members: None) -> None:
    assert not ids(suggested(client, community, "ana")) & {"bob", "cy"}


def test_a_block_set_just_now_is_respected_both_ways(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    before = ids(suggested(client, community, "hal"))
    target = sorted(before)[0]
    client.put(community.url(f"/members/{target}/blocks/hal"), headers=community.platform)
    assert target not in ids(suggested(client, community, "hal"))
    assert "hal" not in ids(suggested(client, community, target))


def test_opted_out_member_gets_nothing_and_is_never_proposed(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    client.put(
        community.url("/members/eve"), json=PROFILES["eve"] | {"open_to_suggestions": False}, headers=community.platform
    )
    assert suggested(client, community, "eve") == []
    for member_id in PROFILES:
        assert "eve" not in ids(suggested(client, community, member_id))


def test_private_needs_never_appear_in_reasons(client: TestClient, community: CommunityKeys, members: None) -> None:
    for member_id in PROFILES:
        text = json.dumps(suggested(client, community, member_id))
        assert "debt" not in text


def test_accepting_creates_the_connection(client: TestClient, community: CommunityKeys, members: None) -> None:
    first = suggested(client, community, "hal")[0]
    response = client.post(
        community.url(f"/suggestions/{first['suggestion_id']}/feedback"),
        json={"outcome": "accepted"},
        headers=community.platform,
    )
    assert response.status_code == 200 and response.json()["connection_created"]
    ties = client.get(community.url("/members/hal/connections"), headers=community.platform).json()["connections"]
    assert [t["member_id"] for t in ties] == [first["member_id"]]
    assert first["member_id"] not in ids(suggested(client, community, "hal"))


def test_a_declined_pair_is_never_proposed_again_either_way(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    first = suggested(client, community, "hal")[0]
    response = client.post(
        community.url(f"/suggestions/{first['suggestion_id']}/feedback"),
        json={"outcome": "declined"},
        headers=community.platform,
    )
    assert response.status_code == 200 and not response.json()["connection_created"]
    assert first["member_id"] not in ids(suggested(client, community, "hal"))
    assert "hal" not in ids(suggested(client, community, first["member_id"]))
    again = client.post(
        community.url(f"/suggestions/{first['suggestion_id']}/feedback"),
        json={"outcome": "accepted"},
        headers=community.platform,
    )
    assert again.status_code == 409


def test_asking_twice_reuses_pending_suggestions(client: TestClient, community: CommunityKeys, members: None) -> None:
    first = {s["member_id"]: s["suggestion_id"] for s in suggested(client, community, "hal")}
    second = {s["member_id"]: s["suggestion_id"] for s in suggested(client, community, "hal")}
    shared = first.keys() & second.keys()
    assert shared and all(first[m] == second[m] for m in shared)


def test_exposure_cap_limits_how_often_a_member_is_proposed(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    client.patch(community.url("/settings"), json={"max_exposures_per_week": 1}, headers=community.organiser)
    counts: dict[str, int] = {}
    for member_id in PROFILES:
        for s in suggested(client, community, member_id):
            counts[s["member_id"]] = counts.get(s["member_id"], 0) + 1
    assert counts and max(counts.values()) == 1


def test_bad_requests_get_clear_4xx(client: TestClient, community: CommunityKeys, members: None) -> None:
    assert client.get(community.url("/members/nobody/suggestions"), headers=community.platform).status_code == 404
    too_many = client.get(community.url("/members/hal/suggestions"), params={"limit": 60}, headers=community.platform)
    assert too_many.status_code == 422 and "max_suggestions_per_request" in too_many.json()["detail"]
    unknown = client.post(
        community.url("/suggestions/00000000-0000-0000-0000-000000000000/feedback"),
        json={"outcome": "accepted"},
        headers=community.platform,
    )
    assert unknown.status_code == 404
    first = suggested(client, community, "hal")[0]
    bad = client.post(
        community.url(f"/suggestions/{first['suggestion_id']}/feedback"),
        json={"outcome": "maybe"},
        headers=community.platform,
    )
    assert bad.status_code == 422


def test_another_communitys_key_cannot_give_feedback(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, members: None
) -> None:
    first = suggested(client, community, "hal")[0]
    response = client.post(
        other_community.url(f"/suggestions/{first['suggestion_id']}/feedback"),
        json={"outcome": "accepted"},
        headers=other_community.platform,
    )
    assert response.status_code == 404


# The suggestion route remembers the platform keys it has checked (with their community's
# settings) and has its one statement confirm them: these prove the memory never outlives the truth.

def test_a_platform_key_rotated_without_grace_is_refused_by_its_very_next_suggestion_request(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    assert suggested(client, community, "hal")  # the key is now known to the process
    response = client.post(community.url("/keys/rotate"), json={"role": "platform", "grace_seconds": 0},
                           headers=community.organiser)
    assert response.status_code == 201, response.text
    old = client.get(community.url("/members/hal/suggestions"), headers=community.platform)
    assert old.status_code == 401, old.text
    assert old.headers["content-type"] == "application/problem+json"
    new = client.get(community.url("/members/hal/suggestions"),
                     headers={"Authorization": f"Bearer {response.json()['key']}"})
    assert new.status_code == 200, new.text


def test_a_known_key_id_with_another_secret_is_refused(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    assert suggested(client, community, "hal")
    token = community.platform["Authorization"].removeprefix("Bearer ")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get(community.url("/members/hal/suggestions"), headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401, response.text


def test_changed_settings_count_from_the_next_suggestion_request(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    before = client.get(community.url("/members/hal/suggestions"), headers=community.platform).json()
    assert before["settings"]["bridging_weight"] == CommunitySettings().bridging_weight != 0.9
    patched = client.patch(community.url("/settings"), json={"bridging_weight": 0.9, "max_suggestions_per_request": 2},
                           headers=community.organiser)
    assert patched.status_code == 200, patched.text
    after = client.get(community.url("/members/hal/suggestions"), params={"limit": 2}, headers=community.platform)
    assert after.status_code == 200, after.text
    assert after.json()["settings"]["bridging_weight"] == 0.9
    too_many = client.get(community.url("/members/hal/suggestions"), params={"limit": 3}, headers=community.platform)
    assert too_many.status_code == 422 and "max_suggestions_per_request" in too_many.text
    # Raised again: the limit the process last saw does not refuse a request the new one allows.
    assert client.patch(community.url("/settings"), json={"max_suggestions_per_request": 5},
                        headers=community.organiser).status_code == 200
    allowed = client.get(community.url("/members/hal/suggestions"), params={"limit": 4}, headers=community.platform)
    assert allowed.status_code == 200, allowed.text


def test_a_member_still_gets_a_full_list_when_the_best_candidates_are_at_their_cap(
    client: TestClient, community: CommunityKeys
) -> None:
    # "ask" and "spender" like chess and go, as do the ten "near" members, who therefore rank
    # first for both; thirty "far" members like chess only.
    profiles = {m: {"interests": ["chess", "go"]} for m in ("ask", "spender")}
    profiles |= {f"near{i:02d}": {"interests": ["chess", "go"]} for i in range(10)}
    profiles |= {f"far{i:02d}": {"interests": ["chess"]} for i in range(30)}
    body = "\n".join(json.dumps({"member_id": m} | p) for m, p in profiles.items()).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    assert client.patch(community.url("/settings"), json={"max_exposures_per_week": 1},
                        headers=community.organiser).status_code == 200
    spent = {s["member_id"] for s in suggested(client, community, "spender", limit=15)}
    assert {f"near{i:02d}" for i in range(10)} <= spent
    # Every one of "ask"'s ten best is now at the cap: the list comes from further down, full.
    shown = suggested(client, community, "ask", limit=10)
    assert len(shown) == 10, [s["member_id"] for s in shown]
    assert not {s["member_id"] for s in shown} & spent
