"""No organiser-visible response says anything about a member's private needs.

Seeded random communities whose members carry distinctive private needs (``privneed-<hex>``,
served by no group, so nothing may ever print them) and private needs that existing groups do
serve (members are matched on them, never told about). Every organiser route and dashboard
page is called, and no response may contain a private-need string or the word "private".
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from belonging.service import reports
from belonging.service.jobs import run_one
from tests.conftest import CommunityKeys, make_community

PUBLIC_NEEDS = ["grief", "anxiety", "caring", "loneliness", "burnout"]
ATTRIBUTES = {"cohort": ["2021", "2022", "2023"], "area": ["north", "south"]}


def load_community(client: TestClient, community: CommunityKeys, rng: random.Random) -> list[str]:
    """Members, ties, blocks and groups; returns the private needs no group serves."""
    secrets = [f"privneed-{rng.getrandbits(48):012x}" for _ in range(4)]
    served_privately = ["gambling", "debt"]
    rows = []
    for i in range(40):
        private = rng.sample(secrets, rng.randint(0, 2)) + rng.sample(served_privately, rng.randint(0, 1))
        rows.append(
            {
                "member_id": f"m{i:02d}",
                "display_name": f"Member {i}",
                "needs": rng.sample(PUBLIC_NEEDS, rng.randint(0 if private else 1, 2)),
                "private_needs": private,
                "interests": rng.sample(["chess", "hiking", "music", "film"], rng.randint(0, 2)),
                "formats": rng.choice([["online"], ["in_person"], ["online", "in_person"]]),
                "attributes": {name: rng.choice(values) for name, values in ATTRIBUTES.items()},
            }
        )
    body = "\n".join(json.dumps(r) for r in rows).encode()
    response = client.post(community.url("/members/import"), content=body, headers=community.platform)
    assert response.status_code == 200, response.text
    ids = [r["member_id"] for r in rows]
    ties = {tuple(sorted(rng.sample(ids[:30], 2))) for _ in range(45)}
    body = "\n".join(json.dumps({"a": a, "b": b}) for a, b in ties).encode()
    response = client.post(community.url("/connections/import"), content=body, headers=community.platform)
    assert response.status_code == 200, response.text
    for _ in range(4):
        a, b = rng.sample(ids, 2)
        response = client.put(community.url(f"/members/{a}/blocks/{b}"), headers=community.platform)
        assert response.status_code in (200, 201, 204), response.text
    topics = PUBLIC_NEEDS + served_privately
    for k in range(6):
        group = {
            "name": f"Circle {k}",
            "topics": rng.sample(topics, rng.randint(1, 2)),
            "capacity": rng.randint(2, 5),
            "format": rng.choice(["online", "in_person"]),
        }
        response = client.post(community.url("/groups"), json=group, headers=community.organiser)
        assert response.status_code == 201, response.text
        group_id = response.json()["group_id"]
        for member_id in rng.sample(ids, rng.randint(0, 1)):
            client.put(community.url(f"/groups/{group_id}/members/{member_id}"), headers=community.organiser)
    return secrets


def organiser_responses(
    client: TestClient, community: CommunityKeys, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Every organiser-visible route and page, one response at a time."""
    organiser = community.organiser
    for explain in (False, True):
        for body in ({"explain": explain}, {"explain": explain, "member_ids": ["m00", "m01", "m02", "m03"]}):
            response = client.post(
                community.url("/placements"), json={**body, "spread_attribute": "cohort"}, headers=organiser
            )
            yield response
    placement_id = response.json()["placement_id"]
    yield client.get(community.url(f"/placements/{placement_id}"), headers=organiser)
    response = client.post(community.url("/placements"), json={}, headers=organiser)
    yield response
    yield client.post(community.url(f"/placements/{response.json()['placement_id']}/apply"), headers=organiser)
    groups = client.get(community.url("/groups"), headers=organiser)
    yield groups
    for group in groups.json()["groups"]:
        yield client.get(community.url(f"/groups/{group['group_id']}"), headers=organiser)
    yield client.get(community.url("/settings"), headers=organiser)
    round_ = client.post(community.url("/rounds"), json={}, headers=organiser)
    yield round_
    yield client.get(community.url("/rounds"), headers=organiser)
    yield client.get(community.url(f"/rounds/{round_.json()['round_id']}"), headers=organiser)
    yield client.get(
        community.url("/reports/silos"),
        params=[("attribute", "cohort"), ("attribute", "area"), ("include", "members")],
        headers=organiser,
    )
    yield client.get(community.url("/reports/silos/history"), headers=organiser)
    yield client.get(community.url("/reports/impact"), params=[("attribute", "cohort"), ("attribute", "area")],
                     headers=organiser)
    yield client.post(
        community.url("/reports/what-if"),
        json={"ties": [{"a": "m31", "b": "m05"}], "accept_top_suggestions": 3, "attributes": ["cohort"]},
        headers=organiser,
    )
    # A large community's report and what-if run as jobs; their results are organiser-visible too.
    monkeypatch.setattr(reports, "SYNC_MAX_TIES", 1)
    for accepted in (
        client.get(community.url("/reports/silos"), params={"attribute": "area"}, headers=organiser),
        client.post(community.url("/reports/what-if"), json={"accept_top_suggestions": 2}, headers=organiser),
    ):
        yield accepted
        assert accepted.status_code == 202, accepted.text
        assert client.portal.call(run_one, client.app.state.pool, client.app.state)
        yield client.get(accepted.json()["status_url"], headers=organiser)
    monkeypatch.undo()
    signed_in = client.post(
        f"/dashboard/{community.slug}/login", data={"key": community.organiser_key}, follow_redirects=False
    )
    yield signed_in
    yield client.get(f"/dashboard/{community.slug}")
    yield client.post(f"/dashboard/{community.slug}/snapshots", follow_redirects=True)
    yield client.get(f"/dashboard/{community.slug}/export/at-risk.csv")
    yield client.get(f"/dashboard/{community.slug}/export/members-by-community.csv")
    yield client.get(f"/dashboard/{community.slug}/export/impact.csv")


@pytest.mark.parametrize("seed", range(3))
def test_no_organiser_response_mentions_a_private_need(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    community = make_community(client, f"privacy-{seed}")
    secrets = load_community(client, community, rng)
    seen = 0
    for response in organiser_responses(client, community, monkeypatch):
        assert response.status_code < 400, (response.request.url, response.text)
        where = f"{response.request.method} {response.request.url}"
        content = response.content.lower()
        assert b"private" not in content, where
        for secret in secrets:
            assert secret.encode() not in content, where
        seen += 1
    assert seen >= 20


def test_placement_seats_a_member_by_a_private_need_without_saying_so(client: TestClient) -> None:
    community = make_community(client, "quiet")
    profile = {"private_needs": ["gambling"], "formats": ["online"]}
    response = client.put(community.url("/members/ana"), json=profile, headers=community.platform)
    assert response.status_code in (200, 201), response.text
    group = {"name": "Thursday circle", "topics": ["gambling"], "capacity": 4, "format": "online"}
    group_id = client.post(community.url("/groups"), json=group, headers=community.organiser).json()["group_id"]
    response = client.post(community.url("/placements"), json={"explain": True}, headers=community.organiser)
    assert response.status_code == 201, response.text
    body = response.json()
    assert [(a["member_id"], a["group_id"]) for a in body["assignments"]] == [("ana", group_id)]
    reasons = json.dumps([a["reasons"] for a in body["assignments"]])
    assert "gambling" not in reasons and "private" not in reasons
