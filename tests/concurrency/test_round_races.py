"""Intro-round rules that must hold whatever the interleaving, raced by real clients at the real server."""

from __future__ import annotations

import json
from itertools import combinations

import httpx

from tests.concurrency.conftest import (
    Call,
    assert_no_server_errors,
    community_id,
    new_community,
    race,
    rows,
)
from tests.conftest import CommunityKeys, LiveServer

MEMBERS = [f"m{i:02d}" for i in range(12)]


def walking_club(server: LiveServer) -> CommunityKeys:
    keys = new_community(server)
    with server.client() as http:
        profiles = "\n".join(json.dumps({"member_id": m, "interests": ["walking"], "formats": ["in_person"]})
                             for m in MEMBERS)
        imported = http.post(keys.url("/members/import"), content=profiles.encode(), headers=keys.platform)
        assert imported.status_code == 200, imported.text
    return keys


def new_round(server: LiveServer, keys: CommunityKeys, **body: object) -> dict:
    with server.client() as http:
        response = http.post(keys.url("/rounds"), json=body, headers=keys.organiser)
    assert response.status_code == 201, response.text
    return response.json()


def answer(keys: CommunityKeys, round_id: str, pair_id: str, outcome: str) -> Call:
    return lambda http: http.post(keys.url(f"/rounds/{round_id}/pairs/{pair_id}/outcome"),
                                  json={"outcome": outcome}, headers=keys.platform)


def test_parallel_answers_to_a_pair_record_one_outcome_and_one_tie(shared_server: LiveServer) -> None:
    keys = walking_club(shared_server)
    cid = community_id(shared_server, keys)
    round_ = new_round(shared_server, keys)
    for pair in round_["pairs"][:3]:
        outcomes = ["met", "not_met", "skipped", "met"] * 2
        responses = race(shared_server, [answer(keys, round_["round_id"], pair["pair_id"], o) for o in outcomes])
        assert_no_server_errors(responses)
        won = {o for o, r in zip(outcomes, responses, strict=True) if r.status_code == 200}
        assert len(won) == 1, [(o, r.status_code) for o, r in zip(outcomes, responses, strict=True)]
        (outcome,) = won
        assert all(r.status_code == 409 for o, r in zip(outcomes, responses, strict=True) if o != outcome)
        created = [r.json()["connection_created"] for r in responses if r.status_code == 200]
        # The first "met" makes the tie; its repeats change nothing.
        assert created.count(True) == (1 if outcome == "met" else 0)
        (stored,) = rows(shared_server, "SELECT outcome FROM round_pairs WHERE community_id = %(cid)s"
                                        " AND pair_id = %(pid)s", {"cid": cid, "pid": pair["pair_id"]})
        assert stored[0] == outcome
        a, b = sorted(pair["member_ids"])
        ties = rows(shared_server, "SELECT kind, weight FROM connections WHERE community_id = %(cid)s"
                                   " AND member_a = %(a)s AND member_b = %(b)s", {"cid": cid, "a": a, "b": b})
        assert ties == ([("round", 1.0)] if outcome == "met" else [])


def test_one_round_at_a_time_per_community(shared_server: LiveServer) -> None:
    keys = walking_club(shared_server)
    cid = community_id(shared_server, keys)
    new_round(shared_server, keys, member_ids=MEMBERS[:2])  # the index is built: the race is not a cold start

    def post(http: httpx.Client) -> httpx.Response:
        return http.post(keys.url("/rounds"), json={}, headers=keys.organiser)

    responses = race(shared_server, [post] * 4)
    assert_no_server_errors(responses)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 429}, statuses
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 429)
    # Rounds that did run ran one after the other: each avoids the pairs of those before it.
    stored = rows(shared_server, "SELECT count(*) FROM rounds WHERE community_id = %(cid)s", {"cid": cid})
    assert stored[0][0] == 1 + statuses.count(201)
    introduced = [frozenset(two) for r in responses if r.status_code == 201
                  for p in r.json()["pairs"] for two in combinations(p["member_ids"], 2)]
    assert len(introduced) == len(set(introduced))


def test_erasing_members_while_a_round_is_planned_leaves_no_pair_naming_them(shared_server: LiveServer) -> None:
    keys = walking_club(shared_server)
    cid = community_id(shared_server, keys)
    new_round(shared_server, keys, member_ids=MEMBERS[:2])
    erased = MEMBERS[2:6]

    def post(http: httpx.Client) -> httpx.Response:
        return http.post(keys.url("/rounds"), json={}, headers=keys.organiser)

    def erase(member_id: str) -> Call:
        return lambda http: http.delete(keys.url(f"/members/{member_id}"), headers=keys.platform)

    responses = race(shared_server, [post, *(erase(m) for m in erased)])
    assert_no_server_errors(responses)
    assert responses[0].status_code == 201, responses[0].text
    assert [r.status_code for r in responses[1:]] == [204] * len(erased)
    named = rows(shared_server, "SELECT member_id FROM round_pair_members WHERE community_id = %(cid)s"
                                " UNION ALL SELECT member_id FROM round_unpaired WHERE community_id = %(cid)s",
                 {"cid": cid})
    assert not {m for (m,) in named} & set(erased)
    sizes = rows(shared_server, "SELECT count(m.member_id) FROM round_pairs p LEFT JOIN round_pair_members m"
                                " ON m.community_id = p.community_id AND m.pair_id = p.pair_id"
                                " WHERE p.community_id = %(cid)s GROUP BY p.pair_id", {"cid": cid})
    assert {n for (n,) in sizes} <= {2, 3}
