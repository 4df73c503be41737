"""Suggestion rules that must hold whatever the interleaving, raced by real clients at the real server."""

from __future__ import annotations

import json

import httpx

from tests.concurrency.conftest import (
    Call,
    assert_no_server_errors,
    community_id,
    execute,
    new_community,
    race,
    rows,
)
from tests.conftest import CommunityKeys, LiveServer

# Everyone likes chess and nobody is tied yet, so every member is a candidate for every other:
# the most contention a weekly exposure cap can meet.
MEMBERS = [f"m{i:02d}" for i in range(16)]
CAP = 2


def chess_club(server: LiveServer, max_exposures_per_week: int = CAP) -> CommunityKeys:
    keys = new_community(server)
    with server.client() as http:
        profiles = "\n".join(json.dumps({"member_id": m, "interests": ["chess"]}) for m in MEMBERS)
        imported = http.post(keys.url("/members/import"), content=profiles.encode(), headers=keys.platform)
        assert imported.status_code == 200, imported.text
        patched = http.patch(keys.url("/settings"), json={"max_exposures_per_week": max_exposures_per_week},
                             headers=keys.organiser)
        assert patched.status_code == 200, patched.text
        # Build the community's index now: the races below are about the database, not a cold start.
        warm = http.get(keys.url(f"/members/{MEMBERS[0]}/suggestions"), params={"limit": 1}, headers=keys.platform)
        assert warm.status_code == 200, warm.text
    forget_suggestions(server, keys)
    return keys


def forget_suggestions(server: LiveServer, keys: CommunityKeys) -> None:
    execute(server, "DELETE FROM suggestions WHERE community_id = %(cid)s", {"cid": community_id(server, keys)})


def ask(keys: CommunityKeys, member_id: str, limit: int = 10) -> Call:
    return lambda http: http.get(keys.url(f"/members/{member_id}/suggestions"), params={"limit": limit},
                                 headers=keys.platform)


def feedback(keys: CommunityKeys, suggestion_id: str, outcome: str) -> Call:
    return lambda http: http.post(keys.url(f"/suggestions/{suggestion_id}/feedback"), json={"outcome": outcome},
                                  headers=keys.platform)


def suggestions_for(server: LiveServer, keys: CommunityKeys, member_id: str, limit: int) -> list[dict]:
    with server.client() as http:
        response: httpx.Response = ask(keys, member_id, limit)(http)
    assert response.status_code == 200, response.text
    return response.json()["suggestions"]


def test_no_member_is_proposed_past_the_weekly_cap_under_concurrent_requests(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server)
    cid = community_id(shared_server, keys)
    for _ in range(3):
        forget_suggestions(shared_server, keys)
        responses = race(shared_server, [ask(keys, m) for m in MEMBERS])
        assert [r.status_code for r in responses] == [200] * len(MEMBERS), [r.text for r in responses]
        exposures = dict(rows(shared_server, "SELECT candidate_id, count(*) FROM suggestions"
                                             " WHERE community_id = %(cid)s AND created_at > now() - interval '7 days'"
                                             " GROUP BY candidate_id", {"cid": cid}))
        assert max(exposures.values()) == CAP, exposures
        shown = [s["member_id"] for r in responses for s in r.json()["suggestions"]]
        assert len(shown) == sum(exposures.values())


def test_a_member_asking_in_parallel_gets_one_pending_suggestion_per_candidate(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server, max_exposures_per_week=100)
    responses = race(shared_server, [ask(keys, "m00") for _ in range(8)])
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    repeated = rows(shared_server, "SELECT candidate_id FROM suggestions WHERE community_id = %(cid)s"
                                   " AND member_id = 'm00' GROUP BY candidate_id HAVING count(*) > 1",
                    {"cid": community_id(shared_server, keys)})
    assert repeated == []
    answers = {(s["member_id"], s["suggestion_id"]) for r in responses for s in r.json()["suggestions"]}
    assert len(answers) == len({member_id for member_id, _ in answers})


def test_accepting_and_declining_at_once_records_exactly_one_outcome(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server)
    cid = community_id(shared_server, keys)
    suggestions = suggestions_for(shared_server, keys, "m00", limit=8)
    assert len(suggestions) == 8
    calls = [feedback(keys, s["suggestion_id"], outcome) for s in suggestions for outcome in ("accepted", "declined")]
    responses = race(shared_server, calls)
    assert_no_server_errors(responses)
    for i, suggestion in enumerate(suggestions):
        answers = [(r.status_code, r.json()) for r in responses[2 * i:2 * i + 2]]
        assert sorted(status for status, _ in answers) == [200, 409], answers
        winner = next(body for status, body in answers if status == 200)
        assert winner["connection_created"] == (winner["outcome"] == "accepted")
        stored = rows(shared_server, "SELECT outcome FROM suggestions WHERE community_id = %(cid)s"
                                     " AND suggestion_id = %(sid)s", {"cid": cid, "sid": suggestion["suggestion_id"]})
        assert stored == [(winner["outcome"],)]
        ties = rows(shared_server, "SELECT weight FROM connections WHERE community_id = %(cid)s"
                                   " AND member_a = 'm00' AND member_b = %(b)s",
                    {"cid": cid, "b": suggestion["member_id"]})
        assert ties == ([(1.0,)] if winner["outcome"] == "accepted" else [])


def test_the_same_acceptance_sent_six_times_at_once_creates_one_connection(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server)
    (suggestion,) = suggestions_for(shared_server, keys, "m00", limit=1)
    responses = race(shared_server, [feedback(keys, suggestion["suggestion_id"], "accepted") for _ in range(6)])
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert sum(r.json()["connection_created"] for r in responses) == 1
    ties = rows(shared_server, "SELECT member_a, member_b, weight FROM connections WHERE community_id = %(cid)s",
                {"cid": community_id(shared_server, keys)})
    assert ties == [("m00", suggestion["member_id"], 1.0)]


def test_erasing_a_member_while_others_are_offered_them_fails_no_request(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server, max_exposures_per_week=1000)
    cid = community_id(shared_server, keys)
    erase: Call = lambda http: http.delete(keys.url("/members/m00"), headers=keys.platform)  # noqa: E731
    for _ in range(5):
        with shared_server.client() as http:
            assert http.put(keys.url("/members/m00"), json={"interests": ["chess"]},
                            headers=keys.platform).status_code in (200, 201)
        # m00 is a candidate for everyone, and asks for themself, while being erased.
        responses = race(shared_server, [ask(keys, m) for m in MEMBERS[:9]] + [erase])
        assert_no_server_errors(responses)
        assert responses[-1].status_code == 204
        assert rows(shared_server, "SELECT count(*) FROM suggestions WHERE community_id = %(cid)s"
                                   " AND 'm00' IN (member_id, candidate_id)", {"cid": cid}) == [(0,)]


def test_accepting_while_the_candidate_is_erased_fails_no_request(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server, max_exposures_per_week=1000)
    suggestions = suggestions_for(shared_server, keys, "m00", limit=8)
    erasures: list[Call] = [lambda http, m=s["member_id"]: http.delete(keys.url(f"/members/{m}"), headers=keys.platform)
                            for s in suggestions]
    responses = race(shared_server, [feedback(keys, s["suggestion_id"], "accepted") for s in suggestions] + erasures)
    assert_no_server_errors(responses)
    assert all(r.status_code == 204 for r in responses[len(suggestions):])
    # Each acceptance either came first (200, then erased with the member) or found it gone (404).
    assert {r.status_code for r in responses[:len(suggestions)]} <= {200, 404}
    assert rows(shared_server, "SELECT count(*) FROM connections WHERE community_id = %(cid)s",
                {"cid": community_id(shared_server, keys)}) == [(0,)]


# The server remembers each platform key it has checked, with its community's settings, and asks
# the database nothing more before the statement that records (service/keys.KnownKeys). These
# race that memory against the writes that make it stale.

def test_a_cap_lowered_after_the_server_read_the_settings_holds_under_parallel_requests(
    shared_server: LiveServer,
) -> None:
    keys = chess_club(shared_server, max_exposures_per_week=1000)  # asked once: the server knows 1000
    cid = community_id(shared_server, keys)
    with shared_server.client() as http:
        patched = http.patch(keys.url("/settings"), json={"max_exposures_per_week": CAP}, headers=keys.organiser)
        assert patched.status_code == 200, patched.text
    responses = race(shared_server, [ask(keys, m) for m in MEMBERS])
    assert [r.status_code for r in responses] == [200] * len(MEMBERS), [r.text for r in responses]
    exposures = dict(rows(shared_server, "SELECT candidate_id, count(*) FROM suggestions"
                                         " WHERE community_id = %(cid)s GROUP BY candidate_id", {"cid": cid}))
    assert max(exposures.values()) == CAP, exposures
    assert all(r.json()["settings"]["max_exposures_per_week"] == CAP for r in responses)


def test_a_platform_key_rotated_while_requests_run_is_refused_from_then_on(shared_server: LiveServer) -> None:
    keys = chess_club(shared_server, max_exposures_per_week=1000)  # asked once: the server knows the key
    rotate: Call = lambda http: http.post(keys.url("/keys/rotate"), json={"role": "platform", "grace_seconds": 0},  # noqa: E731
                                          headers=keys.organiser)
    responses = race(shared_server, [ask(keys, m) for m in MEMBERS[:12]] + [rotate])
    assert_no_server_errors(responses)
    assert responses[-1].status_code == 201, responses[-1].text
    # Each request ran before the rotation committed or after it: answered, or refused as a bad key.
    assert {r.status_code for r in responses[:-1]} <= {200, 401}, [r.text for r in responses[:-1]]
    new_key = {"Authorization": f"Bearer {responses[-1].json()['key']}"}
    for member_id in MEMBERS[:4]:
        with shared_server.client() as http:
            old = ask(keys, member_id)(http)
            assert old.status_code == 401, old.text
            new = http.get(keys.url(f"/members/{member_id}/suggestions"), headers=new_key)
            assert new.status_code == 200, new.text
