"""The impact report over HTTP, on a hand-made history whose numbers are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys

WINDOW = {"since": "2026-10-01", "until": "2026-10-31"}
OLD = "2026-06-01"
#: Five members live in the north (a group of k = 5); three in the south, too few to break out.
CITY = {"old1": "north", "old2": "north", "new1": "north", "new2": "north", "new3": "north",
        "old3": "south", "old4": "south", "new4": "south"}
JOINED = {"old1": OLD, "old2": OLD, "old3": OLD, "old4": OLD, "new1": "2026-10-02", "new2": "2026-10-03",
          "new3": "2026-10-10", "new4": "2026-10-20", "late": "2026-11-01"}
#: (a, b, made on, kind)
TIES = [
    ("old3", "old4", "2026-07-01", None),       # before the window: neither left isolation in it
    ("new1", "old1", "2026-10-05", "suggested"),  # new1 after 3 days; old1's first tie
    ("new2", "old2", "2026-10-23", "round"),      # new2 after 20 days; old2's first tie
    ("new4", "old3", "2026-10-21", None),         # new4 after 1 day (other); old3 had a tie already
]
#: (shown to, candidate, shown on, outcome, answered on)
SUGGESTIONS = [
    ("new1", "old1", "2026-10-04", "accepted", "2026-10-05"),
    ("new3", "old1", "2026-10-11", "declined", "2026-10-12"),
    ("old2", "new3", "2026-10-15", None, None),
    ("old1", "old2", "2026-09-20", "accepted", "2026-10-02"),  # answered in the window, shown before
    ("old4", "new3", "2026-10-30", "declined", "2026-11-02"),  # shown in the window, answered after
    ("new4", "old1", "2026-11-05", None, None),                # after the window
]
#: round made on -> pairs (members, outcome)
ROUNDS = {
    "2026-09-01": [(("old1", "old2"), "met")],
    "2026-10-08": [(("new1", "old2"), "met"), (("new2", "old3"), "not_met"), (("new3", "old4"), None)],
    "2026-10-22": [(("new2", "old2"), "met"), (("new4", "old1"), "skipped"), (("old3", "old4"), None)],
}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture
def history(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    rows = [{"member_id": m, "attributes": {"city": CITY[m]} if m in CITY else {}} for m in JOINED]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    response = client.post(community.url("/members/import"), content=body, headers=community.platform)
    assert response.status_code == 200, response.text
    with psycopg.connect(database_url) as conn:
        cid = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (community.slug,)).fetchone()[0]
        for member_id, day in JOINED.items():
            conn.execute("UPDATE members SET created_at = %s WHERE community_id = %s AND member_id = %s",
                         (at(day), cid, member_id))
        for a, b, day, kind in TIES:
            conn.execute("INSERT INTO connections (community_id, member_a, member_b, kind, created_at)"
                         " VALUES (%s, %s, %s, %s, %s)", (cid, min(a, b), max(a, b), kind, at(day)))
        for member_id, candidate_id, day, outcome, answered in SUGGESTIONS:
            conn.execute("INSERT INTO suggestions (community_id, member_id, candidate_id, score, model_version,"
                         " created_at, outcome, outcome_at) VALUES (%s, %s, %s, 0.5, 'test', %s, %s, %s)",
                         (cid, member_id, candidate_id, at(day), outcome, answered and at(answered)))
        for day, pairs in ROUNDS.items():
            round_id = conn.execute(
                "INSERT INTO rounds (community_id, group_size, avoid_repeat_rounds, bridging_weight, objective,"
                " bound, created_at) VALUES (%s, 2, 4, 0, 1, 1, %s) RETURNING round_id", (cid, at(day))).fetchone()[0]
            for position, (pair, outcome) in enumerate(pairs):
                pair_id = conn.execute(
                    "INSERT INTO round_pairs (community_id, round_id, position, score, intro, outcome, outcome_at)"
                    " VALUES (%s, %s, %s, 0.5, 'Meet!', %s, %s) RETURNING pair_id",
                    (cid, round_id, position, outcome, outcome and at(day) + timedelta(days=3))).fetchone()[0]
                for member_id in pair:
                    conn.execute("INSERT INTO round_pair_members (community_id, pair_id, member_id)"
                                 " VALUES (%s, %s, %s)", (cid, pair_id, member_id))


def impact(client: TestClient, community: CommunityKeys, **params: object) -> dict:
    response = client.get(community.url("/reports/impact"), params=params, headers=community.organiser)
    assert response.status_code == 200, response.text
    return response.json()


def test_figures_over_a_known_history(client: TestClient, community: CommunityKeys, history: None) -> None:
    body = impact(client, community, **WINDOW)
    assert body["since"] == "2026-10-01" and body["until"] == "2026-10-31" and body["min_group_size"] == 5
    assert body["suggestions"] == {"shown": 4, "accepted": 2, "declined": 1, "acceptance_rate": 0.5}
    assert body["rounds"] == {"held": 2, "pairs": 6, "met": 2, "not_met": 1, "skipped": 1, "met_rate": 0.5}
    assert body["new_members"] == {"joined": 4, "median_days_to_first_tie": 3.0,
                                   "share_with_tie_within_14_days": 0.5}
    assert body["left_isolation"] == {"total": 5, "by_route": {"suggestion": 2, "round": 2, "group": 0, "other": 1}}
    assert body["attributes"] == {}


def test_attribute_groups_smaller_than_k_are_never_broken_out(
    client: TestClient, community: CommunityKeys, history: None
) -> None:
    body = impact(client, community, attribute="city", **WINDOW)
    assert list(body["attributes"]["city"]) == ["north"]
    north = body["attributes"]["city"]["north"]
    assert north["suggestions"] == {"shown": 3, "accepted": 2, "declined": 1, "acceptance_rate": pytest.approx(2 / 3)}
    assert north["rounds"] == {"held": 2, "pairs": 5, "met": 2, "not_met": 1, "skipped": 1, "met_rate": 0.5}
    assert north["new_members"] == {"joined": 3, "median_days_to_first_tie": 11.5,
                                    "share_with_tie_within_14_days": pytest.approx(1 / 3)}
    assert north["left_isolation"] == {"total": 4, "by_route": {"suggestion": 2, "round": 2, "group": 0, "other": 0}}


def test_a_smaller_k_breaks_out_the_south(client: TestClient, community: CommunityKeys, history: None) -> None:
    response = client.patch(community.url("/settings"), json={"report_min_group_size": 3}, headers=community.organiser)
    assert response.status_code == 200, response.text
    south = impact(client, community, attribute="city", **WINDOW)["attributes"]["city"]["south"]
    assert south["suggestions"] == {"shown": 1, "accepted": 0, "declined": 0, "acceptance_rate": 0}
    assert south["rounds"] == {"held": 2, "pairs": 4, "met": 0, "not_met": 1, "skipped": 1, "met_rate": 0}
    assert south["left_isolation"] == {"total": 1, "by_route": {"suggestion": 0, "round": 0, "group": 0, "other": 1}}


def test_a_window_with_nothing_in_it(client: TestClient, community: CommunityKeys, history: None) -> None:
    body = impact(client, community, since="2025-01-01", until="2025-01-31")
    assert body["suggestions"]["shown"] == 0 and body["suggestions"]["acceptance_rate"] == 0
    assert body["rounds"]["held"] == 0 and body["rounds"]["met_rate"] == 0
    assert body["new_members"] == {"joined": 0, "median_days_to_first_tie": None,
                                   "share_with_tie_within_14_days": 0}
    assert body["left_isolation"]["total"] == 0


def test_the_default_window_is_the_last_30_days(client: TestClient, community: CommunityKeys) -> None:
    body = impact(client, community)
    today = datetime.now(UTC).date()
    assert body["until"] == today.isoformat()
    assert body["since"] == (today - timedelta(days=29)).isoformat()
    assert impact(client, community, until="2026-10-31")["since"] == "2026-10-02"


@pytest.mark.parametrize("params", [
    {"since": "2026-11-01", "until": "2026-10-31"},
    {"since": "yesterday"},
    {"until": "2026-02-30"},
    {"attribute": "shoe size"},
])
def test_bad_queries_get_422(client: TestClient, community: CommunityKeys, params: dict) -> None:
    response = client.get(community.url("/reports/impact"), params=params, headers=community.organiser)
    assert response.status_code == 422, response.text


def test_only_the_organiser_key_reads_it(client: TestClient, community: CommunityKeys) -> None:
    assert client.get(community.url("/reports/impact"), headers=community.platform).status_code == 403
    assert client.get(community.url("/reports/impact")).status_code == 401


@pytest.mark.parametrize("params", [
    {"since": "0001-01-01", "until": "9999-12-31"},
    {"until": "0001-01-05"},
    {"since": "9999-12-31", "until": "9999-12-31"},
])
def test_the_ends_of_the_calendar(client: TestClient, community: CommunityKeys, params: dict) -> None:
    body = impact(client, community, **params)
    assert body["suggestions"]["shown"] == 0
