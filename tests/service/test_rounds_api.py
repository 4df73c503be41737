"""Intro rounds over HTTP: hard rules read fresh, repeats across rounds, the member's view, outcomes."""

from __future__ import annotations

import json
import threading
from itertools import combinations

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import rounds
from belonging.service.jobs import run_one
from tests.conftest import CommunityKeys

MEMBERS = {f"m{k}": {"display_name": f"Member {k}", "interests": ["chess", "walking"][: 1 + k % 2],
                     "formats": ["online"]} for k in range(8)}
TIES = [("m0", "m1"), ("m2", "m3"), ("m4", "m5")]


@pytest.fixture
def members(client: TestClient, community: CommunityKeys) -> None:
    body = "\n".join(json.dumps({"member_id": m} | p) for m, p in MEMBERS.items()).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    ties = "\n".join(json.dumps({"a": a, "b": b}) for a, b in TIES).encode()
    response = client.post(community.url("/connections/import"), content=ties, headers=community.platform)
    assert response.status_code == 200, response.text


def new_round(client: TestClient, community: CommunityKeys, **body: object) -> dict:
    response = client.post(community.url("/rounds"), json=body, headers=community.organiser)
    assert response.status_code == 201, response.text
    return response.json()


def pairs_of(round_: dict) -> set[frozenset[str]]:
    """Every two members introduced to each other (a trio gives three)."""
    return {frozenset(two) for p in round_["pairs"] for two in combinations(p["member_ids"], 2)}


def grouped(round_: dict) -> list[str]:
    return [m for p in round_["pairs"] for m in p["member_ids"]]


def test_a_round_pairs_everyone_once_with_reasons_and_an_intro(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    round_ = new_round(client, community)
    assert set(round_) >= {"round_id", "created_at", "pairs", "unpaired", "objective", "bound"}
    seen = grouped(round_) + [u["member_id"] for u in round_["unpaired"]]
    assert sorted(seen) == sorted(MEMBERS)
    assert len(grouped(round_)) == len(set(grouped(round_))) >= 6
    for pair in round_["pairs"]:
        assert pair["pair_id"] and pair["intro"] and 0 <= pair["score"] <= 1 and pair["outcome"] is None
        assert set(pair["reasons"]) == set(pair["member_ids"])
    assert round_["objective"] <= round_["bound"] + 1e-9
    fetched = client.get(community.url(f"/rounds/{round_['round_id']}"), headers=community.organiser)
    assert fetched.status_code == 200 and fetched.json() == round_


def test_tied_blocked_and_opted_out_members_are_never_paired(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    # Set just now, so only a fresh read of the database knows them.
    assert client.put(community.url("/members/m6/blocks/m7"), headers=community.platform).status_code < 300
    assert client.put(community.url("/members/m2/blocks/m4"), headers=community.platform).status_code < 300
    response = client.put(community.url("/members/m3"), json=MEMBERS["m3"] | {"open_to_suggestions": False},
                          headers=community.platform)
    assert response.status_code < 300, response.text
    for _ in range(3):
        round_ = new_round(client, community, avoid_repeat_rounds=0)
        pairs = pairs_of(round_)
        forbidden = {frozenset(t) for t in TIES} | {frozenset(("m6", "m7")), frozenset(("m2", "m4"))}
        assert not pairs & forbidden
        assert "m3" not in grouped(round_)
    explicit = new_round(client, community, member_ids=["m3", "m0", "m2"])
    assert "m3" not in grouped(explicit)
    assert {"member_id": "m3", "reason": "not open to suggestions"} in explicit["unpaired"]


def test_unknown_members_are_a_422(client: TestClient, community: CommunityKeys, members: None) -> None:
    response = client.post(community.url("/rounds"), json={"member_ids": ["m0", "ghost"]},
                           headers=community.organiser)
    assert response.status_code == 422, response.text
    assert response.json()["unknown_member_ids"] == ["ghost"]


def test_pairs_are_not_repeated_within_avoid_repeat_rounds(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    rounds = [new_round(client, community, avoid_repeat_rounds=2) for _ in range(3)]
    assert not pairs_of(rounds[0]) & pairs_of(rounds[1])
    assert not pairs_of(rounds[2]) & (pairs_of(rounds[0]) | pairs_of(rounds[1]))
    listed = client.get(community.url("/rounds"), headers=community.organiser)
    assert listed.status_code == 200
    assert [r["round_id"] for r in listed.json()["rounds"]] == [r["round_id"] for r in reversed(rounds)]


def test_an_unknown_round_is_a_404(client: TestClient, community: CommunityKeys) -> None:
    response = client.get(community.url("/rounds/00000000-0000-4000-8000-000000000000"),
                          headers=community.organiser)
    assert response.status_code == 404


def test_a_member_sees_their_pair_in_the_latest_round(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    assert client.get(community.url("/members/m0/rounds/current"), headers=community.platform).status_code == 404
    new_round(client, community, member_ids=["m0", "m2"])
    latest = new_round(client, community, member_ids=["m0", "m3", "m4", "m5"])
    mine = client.get(community.url("/members/m0/rounds/current"), headers=community.platform)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    pair = next(p for p in latest["pairs"] if "m0" in p["member_ids"])
    assert body["round_id"] == latest["round_id"] and body["pair_id"] == pair["pair_id"]
    assert body["member_ids"] == pair["member_ids"] and body["reasons"] == pair["reasons"]["m0"]
    assert body["intro"] == pair["intro"]
    # Left out of the latest round, m2 still sees the pair of the round that included them.
    other = client.get(community.url("/members/m2/rounds/current"), headers=community.platform)
    assert other.status_code == 200 and "m0" in other.json()["member_ids"]
    assert client.get(community.url("/members/m7/rounds/current"), headers=community.platform).status_code == 404
    # Left out of the latest round that took them in (m0 and m1 are tied): no current pair, and why.
    new_round(client, community, member_ids=["m0", "m1"])
    left_out = client.get(community.url("/members/m0/rounds/current"), headers=community.platform)
    assert left_out.status_code == 404 and "connection" in left_out.json()["detail"]


def send(client: TestClient, community: CommunityKeys, round_id: str, pair_id: str, outcome: str) -> httpx.Response:
    return client.post(community.url(f"/rounds/{round_id}/pairs/{pair_id}/outcome"), json={"outcome": outcome},
                       headers=community.platform)


def tie_kinds(database_url: str, a: str, b: str) -> list[str | None]:
    with psycopg.connect(database_url) as conn:
        return [r[0] for r in conn.execute("SELECT kind FROM connections WHERE member_a = %s AND member_b = %s",
                                           (min(a, b), max(a, b))).fetchall()]


def test_met_creates_the_tie_once_and_a_changed_answer_is_a_409(
    client: TestClient, community: CommunityKeys, members: None, database_url: str
) -> None:
    round_ = new_round(client, community, member_ids=["m0", "m2"])
    (pair,) = round_["pairs"]
    first = send(client, community, round_["round_id"], pair["pair_id"], "met")
    assert first.status_code == 200, first.text
    assert first.json() == {"pair_id": pair["pair_id"], "outcome": "met", "connection_created": True}
    assert tie_kinds(database_url, "m0", "m2") == ["round"]
    again = send(client, community, round_["round_id"], pair["pair_id"], "met")
    assert again.status_code == 200 and again.json()["connection_created"] is False
    assert send(client, community, round_["round_id"], pair["pair_id"], "skipped").status_code == 409
    stored = client.get(community.url(f"/rounds/{round_['round_id']}"), headers=community.organiser).json()
    assert stored["pairs"][0]["outcome"] == "met"
    # Tied now: the next round never pairs them.
    assert not pairs_of(new_round(client, community, member_ids=["m0", "m2"], avoid_repeat_rounds=0))


def test_not_met_creates_nothing(
    client: TestClient, community: CommunityKeys, members: None, database_url: str
) -> None:
    round_ = new_round(client, community, member_ids=["m0", "m2"])
    (pair,) = round_["pairs"]
    response = send(client, community, round_["round_id"], pair["pair_id"], "not_met")
    assert response.status_code == 200 and response.json()["connection_created"] is False
    assert tie_kinds(database_url, "m0", "m2") == []
    assert send(client, community, round_["round_id"], pair["pair_id"], "met").status_code == 409


def test_an_outcome_for_an_unknown_pair_is_a_404(client: TestClient, community: CommunityKeys, members: None) -> None:
    round_ = new_round(client, community, member_ids=["m0", "m2"])
    response = send(client, community, round_["round_id"], "00000000-0000-4000-8000-000000000000", "met")
    assert response.status_code == 404


def test_parallel_answers_record_one_outcome(
    client: TestClient, community: CommunityKeys, members: None
) -> None:
    round_ = new_round(client, community, member_ids=["m0", "m2"])
    (pair,) = round_["pairs"]
    answers: list[int] = []

    def answer(outcome: str) -> None:
        answers.append(send(client, community, round_["round_id"], pair["pair_id"], outcome).status_code)

    threads = [threading.Thread(target=answer, args=(o,)) for o in ("met", "not_met", "met", "not_met")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = client.get(community.url(f"/rounds/{round_['round_id']}"), headers=community.organiser).json()
    # Whichever answer came first holds: it and its repeat get 200, the other answer 409 twice.
    assert stored["pairs"][0]["outcome"] in {"met", "not_met"}
    assert sorted(answers) == [200, 200, 409, 409]


def test_erasing_a_member_removes_their_round_rows(
    client: TestClient, community: CommunityKeys, members: None, database_url: str
) -> None:
    round_ = new_round(client, community)
    paired = round_["pairs"][0]["member_ids"][0]
    assert client.delete(community.url(f"/members/{paired}"), headers=community.platform).status_code < 300
    stored = client.get(community.url(f"/rounds/{round_['round_id']}"), headers=community.organiser).json()
    assert paired not in json.dumps(stored)
    assert len(stored["pairs"]) == len(round_["pairs"]) - 1
    with psycopg.connect(database_url) as conn:
        for table in ("round_pair_members", "round_unpaired"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE member_id = %s", (paired,)).fetchone() == (0,)


def test_a_private_need_is_never_named_in_a_round(client: TestClient, community: CommunityKeys) -> None:
    for member_id, profile in {"ann": {"interests": ["chess"], "private_needs": ["debt advice"]},
                               "bob": {"interests": ["chess"], "offers": ["debt advice"]}}.items():
        response = client.put(community.url(f"/members/{member_id}"), json=profile, headers=community.platform)
        assert response.status_code < 300, response.text
    round_ = new_round(client, community)
    assert [p["member_ids"] for p in round_["pairs"]] == [["ann", "bob"]]
    assert "debt" not in json.dumps(round_)
    mine = client.get(community.url("/members/ann/rounds/current"), headers=community.platform)
    assert mine.status_code == 200 and "debt" not in mine.text


def test_met_after_a_block_records_the_outcome_without_a_tie(
    client: TestClient, community: CommunityKeys, members: None, database_url: str
) -> None:
    round_ = new_round(client, community, member_ids=["m0", "m2"])
    (pair,) = round_["pairs"]
    assert client.put(community.url("/members/m2/blocks/m0"), headers=community.platform).status_code < 300
    response = send(client, community, round_["round_id"], pair["pair_id"], "met")
    assert response.status_code == 200 and response.json()["connection_created"] is False
    assert tie_kinds(database_url, "m0", "m2") == []


def test_a_round_over_the_member_limit_runs_as_a_job(
    client: TestClient, community: CommunityKeys, members: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rounds, "SYNC_MAX_MEMBERS", 3)
    response = client.post(community.url("/rounds"), json={}, headers=community.organiser)
    assert response.status_code == 202, response.text
    status_url = response.json()["status_url"]
    assert response.headers["location"] == status_url
    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    job = client.get(status_url, headers=community.organiser).json()
    assert job["status"] == "done", job["error"]
    result = job["result"]
    assert sorted(grouped(result) + [u["member_id"] for u in result["unpaired"]]) == sorted(MEMBERS)
    assert not pairs_of(result) & {frozenset(t) for t in TIES}
    stored = client.get(community.url(f"/rounds/{result['round_id']}"), headers=community.organiser)
    assert stored.status_code == 200 and stored.json()["pairs"] == result["pairs"]
    # Small rounds still answer at once.
    assert client.post(community.url("/rounds"), json={"member_ids": ["m0", "m2"]},
                       headers=community.organiser).status_code == 201
