"""A hand-made history whose impact figures are known: members, ties, suggestions and rounds in October 2026."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
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


def write_history(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    """Members, ties, suggestions and rounds with the dates above, written as if they had happened then."""
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
