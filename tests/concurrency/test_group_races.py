"""Seat capacity and blocks hold when real clients race each other at the real server.

Every test fires its requests from threads at once (one HTTP client each, released together by a
barrier) and then reads the rows the server left behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.conftest import ADMIN, LiveServer

Request = Callable[[httpx.Client], httpx.Response]


@pytest.fixture(scope="module")
def server(shared_server: LiveServer) -> LiveServer:
    """One server for the module; each test works in a community of its own."""
    return shared_server


class Community:
    def __init__(self, server: LiveServer, slug: str) -> None:
        self.server = server
        with server.client() as http:
            created = http.post("/v1/communities", json={"slug": slug, "name": slug.title()}, headers=ADMIN)
        assert created.status_code == 201, created.text
        keys = created.json()
        self.base = f"/v1/communities/{slug}"
        self.platform = {"Authorization": f"Bearer {keys['platform_key']}"}
        self.organiser = {"Authorization": f"Bearer {keys['organiser_key']}"}

    def import_members(self, member_ids: list[str]) -> None:
        lines = (json.dumps({"member_id": m, "needs": ["grief"], "formats": ["online"]}) for m in member_ids)
        with self.server.client() as http:
            response = http.post(self.base + "/members/import", content="\n".join(lines).encode(),
                                 headers=self.platform)
        assert response.status_code == 200, response.text

    def create_group(self, name: str, capacity: int) -> str:
        body = {"name": name, "topics": ["grief"], "capacity": capacity, "format": "online"}
        with self.server.client() as http:
            response = http.post(self.base + "/groups", json=body, headers=self.organiser)
        assert response.status_code == 201, response.text
        return response.json()["group_id"]

    def block(self, member_id: str, other_id: str) -> Request:
        return lambda http: http.put(f"{self.base}/members/{member_id}/blocks/{other_id}", headers=self.platform)

    def add(self, group_id: str, member_id: str) -> Request:
        return lambda http: http.put(f"{self.base}/groups/{group_id}/members/{member_id}", headers=self.organiser)

    def apply(self, placement_id: str) -> Request:
        return lambda http: http.post(f"{self.base}/placements/{placement_id}/apply", headers=self.organiser)


def race(server: LiveServer, requests: list[Request], delays: list[float] | None = None) -> list[httpx.Response]:
    """Send every request from its own thread and client, all released at the same moment
    (request ``i`` then waits ``delays[i]`` seconds)."""
    start = threading.Barrier(len(requests))

    def send(request: Request, delay: float) -> httpx.Response:
        with server.client() as http:
            http.get("/healthz")  # connect before the barrier, so the requests leave together
            start.wait()
            time.sleep(delay)
            return request(http)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        responses = list(pool.map(send, requests, delays or [0.0] * len(requests)))
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    return responses


def seated(server: LiveServer, group_id: str) -> set[str]:
    with psycopg.connect(server.database_url) as conn:
        rows = conn.execute("SELECT member_id FROM group_memberships WHERE group_id = %s", (group_id,)).fetchall()
    return {member_id for (member_id,) in rows}


def test_parallel_adds_never_fill_a_group_past_its_seats(server: LiveServer) -> None:
    community = Community(server, "seats")
    member_ids = [f"m{i:02d}" for i in range(24)]
    community.import_members(member_ids)
    group_id = community.create_group("Five seats", capacity=5)

    responses = race(server, [community.add(group_id, m) for m in member_ids])

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204] * 5 + [409] * 19
    added = {m for m, r in zip(member_ids, responses, strict=True) if r.status_code == 204}
    assert seated(server, group_id) == added


def test_two_members_who_block_each_other_never_both_get_in_when_added_together(server: LiveServer) -> None:
    community = Community(server, "blocked")
    pairs = [(f"a{i}", f"b{i}") for i in range(10)]
    community.import_members([m for pair in pairs for m in pair])
    with server.client() as http:
        for a, b in pairs:
            assert community.block(a, b)(http).status_code == 204
    groups = [community.create_group(f"Circle {i}", capacity=5) for i in range(len(pairs))]

    requests = [community.add(group_id, m) for group_id, pair in zip(groups, pairs, strict=True) for m in pair]
    responses = race(server, requests)

    for i, (group_id, (a, b)) in enumerate(zip(groups, pairs, strict=True)):
        assert sorted(r.status_code for r in responses[2 * i:2 * i + 2]) == [204, 409]
        assert seated(server, group_id) in ({a}, {b})


def test_applying_a_placement_while_members_are_added_by_hand_keeps_seats(server: LiveServer) -> None:
    community = Community(server, "apply")
    # Round by round the hand adds leave later after the apply, so that some arrive before it
    # takes the group, some while it holds the group, and some after it committed.
    starts = [0.0, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02]
    placed = [[f"p{r}{i}" for i in range(5)] for r in range(len(starts))]
    by_hand = [[f"h{r}{i}" for i in range(5)] for r in range(len(starts))]
    community.import_members([m for members in placed + by_hand for m in members])
    for start, to_place, to_add in zip(starts, placed, by_hand, strict=True):
        group_id = community.create_group(f"Circle {start}", capacity=5)
        with server.client() as http:
            body = {"member_ids": to_place, "group_ids": [group_id]}
            proposal = http.post(community.base + "/placements", json=body, headers=community.organiser)
        assert proposal.status_code == 201, proposal.text
        assert {a["member_id"] for a in proposal.json()["assignments"]} == set(to_place)

        requests = [community.apply(proposal.json()["placement_id"])] + [community.add(group_id, m) for m in to_add]
        delays = [0.0] + [start + 0.002 * i for i in range(len(to_add))]
        apply, *adds = race(server, requests, delays)

        assert apply.status_code in (200, 409)
        added = {m for m, response in zip(to_add, adds, strict=True) if response.status_code == 204}
        assert seated(server, group_id) == (set(to_place) if apply.status_code == 200 else added)


def test_a_block_written_while_the_pair_is_added_never_leaves_both_in_the_group(server: LiveServer) -> None:
    community = Community(server, "late-block")
    pairs = [(f"c{i}", f"d{i}") for i in range(8)]
    community.import_members([m for pair in pairs for m in pair])
    groups = [community.create_group(f"Circle {i}", capacity=5) for i in range(len(pairs))]

    requests = []
    for group_id, (c, d) in zip(groups, pairs, strict=True):
        requests += [community.add(group_id, c), community.block(c, d), community.add(group_id, d)]
    responses = race(server, requests)

    assert all(r.status_code == 204 for r in responses[1::3]), "a block is always recorded"
    with psycopg.connect(server.database_url) as conn:
        blocks = {tuple(row) for row in conn.execute(
            "SELECT b.member_id, b.blocked_id FROM blocks b JOIN communities c USING (community_id)"
            " WHERE c.slug = 'late-block'").fetchall()}
    assert blocks == set(pairs)
    for group_id, (c, d) in zip(groups, pairs, strict=True):
        assert {c, d} - seated(server, group_id), f"{c} and {d} block each other and share a group"
