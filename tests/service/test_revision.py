"""Every write route moves the community revision exactly when the suggestion index's inputs change.

The revision is moved by database triggers, not by the routes, so no write path can forget it; this
file enumerates every write operation of the published API and proves what each does to it.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, CommunityKeys

WRITE_METHODS = {"post", "put", "patch", "delete"}


def _revision(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url) as conn:
        (community_id,) = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (slug,)).fetchone()
        row = conn.execute("SELECT revision FROM community_revisions WHERE community_id = %s",
                           (community_id,)).fetchone()
    assert row is not None
    return int(row[0])


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 300, response.text
    return response


class World:
    """A small community: four members, one tie, one chess group, and a member who needs chess."""

    def __init__(self, client: TestClient, community: CommunityKeys, database_url: str) -> None:
        self.client, self.c, self.database_url = client, community, database_url
        for member_id, body in {
            "ann": {"interests": ["chess", "hiking"], "formats": ["online"]},
            "bob": {"interests": ["chess"], "formats": ["online"]},
            "cat": {"interests": ["hiking", "chess"], "formats": ["online"]},
            "dan": {"interests": ["chess"], "needs": ["chess"], "formats": ["online"]},
        }.items():
            _ok(client.put(community.url(f"/members/{member_id}"), json=body, headers=community.platform))
        _ok(client.put(community.url("/connections"), json={"a": "ann", "b": "bob"}, headers=community.platform))
        _ok(client.put(community.url("/connections"), json={"a": "bob", "b": "cat"}, headers=community.platform))
        self.group_id = _ok(client.post(community.url("/groups"), headers=community.organiser, json={
            "name": "Chess club", "topics": ["chess"], "capacity": 5, "format": "online"})).json()["group_id"]

    def revision(self) -> int:
        return _revision(self.database_url, self.c.slug)

    def suggestion_id(self, member_id: str = "ann") -> str:
        body = _ok(self.client.get(self.c.url(f"/members/{member_id}/suggestions"), headers=self.c.platform)).json()
        assert body["suggestions"], body
        return body["suggestions"][0]["suggestion_id"]

    def placement_id(self) -> str:
        return _ok(self.client.post(self.c.url("/placements"), json={}, headers=self.c.organiser)).json()[
            "placement_id"]

    def empty_group(self) -> str:
        return _ok(self.client.post(self.c.url("/groups"), headers=self.c.organiser, json={
            "name": "Walks", "topics": ["walking"], "capacity": 3, "format": "online"})).json()["group_id"]


# Each case: the operation it covers, what happens, an unmeasured set-up write (or None), the measured
# write, and how far the revision must move.
Write = Callable[[World], httpx.Response]
Case = tuple[str, str, Write | None, Write, int]


def _feedback(outcome: str) -> Write:
    def send(w: World) -> httpx.Response:
        suggestion_id = w.suggestion_id()
        return w.client.post(w.c.url(f"/suggestions/{suggestion_id}/feedback"), json={"outcome": outcome},
                             headers=w.c.platform)
    return send


def _round_outcome(outcome: str) -> Write:
    def send(w: World) -> httpx.Response:
        round_ = _ok(w.client.post(w.c.url("/rounds"), json={"member_ids": ["ann", "dan"]},
                                   headers=w.c.organiser)).json()
        assert round_["pairs"], round_
        pair_id = round_["pairs"][0]["pair_id"]
        return w.client.post(w.c.url(f"/rounds/{round_['round_id']}/pairs/{pair_id}/outcome"),
                             json={"outcome": outcome}, headers=w.c.platform)
    return send


def _ndjson(path: str, lines: list[str]) -> Write:
    return lambda w: w.client.post(w.c.url(path), content="\n".join(lines),
                                   headers=w.c.platform | {"Content-Type": "application/x-ndjson"})


def _apply_new_placement(w: World) -> httpx.Response:
    return w.client.post(w.c.url(f"/placements/{w.placement_id()}/apply"), headers=w.c.organiser)


def _block(w: World) -> httpx.Response:
    return w.client.put(w.c.url("/members/ann/blocks/cat"), headers=w.c.platform)


def _seat(w: World) -> httpx.Response:
    return w.client.put(w.c.url(f"/groups/{w.group_id}/members/dan"), headers=w.c.organiser)


def _platform(method: str, path: str, **kwargs: object) -> Write:
    return lambda w: w.client.request(method, w.c.url(path), headers=w.c.platform, **kwargs)  # type: ignore[arg-type]


def _organiser(method: str, path: str, **kwargs: object) -> Write:
    return lambda w: w.client.request(method, w.c.url(path.replace("{group}", w.group_id)),
                                      headers=w.c.organiser, **kwargs)  # type: ignore[arg-type]


SLUG = "/v1/communities/{slug}"
CASES: list[Case] = [
    ("POST /v1/communities", "another community is created", None,
     lambda w: w.client.post("/v1/communities", json={"slug": "elsewhere", "name": "Elsewhere"}, headers=ADMIN), 0),
    (f"PATCH {SLUG}/settings", "settings change", None,
     _organiser("PATCH", "/settings", json={"bridging_weight": 0.7}), 0),
    (f"PUT {SLUG}/members/{{member_id}}", "a member joins", None,
     _platform("PUT", "/members/eve", json={"interests": ["chess"]}), 1),
    (f"PUT {SLUG}/members/{{member_id}}", "a profile is replaced", None,
     _platform("PUT", "/members/ann", json={"interests": ["go"]}), 1),
    (f"DELETE {SLUG}/members/{{member_id}}", "a member is erased", None, _platform("DELETE", "/members/cat"), 1),
    (f"DELETE {SLUG}/members/{{member_id}}", "erasing an unknown member changes nothing", None,
     _platform("DELETE", "/members/nobody"), 0),
    (f"POST {SLUG}/members/import", "fifty members in one import", None,
     _ndjson("/members/import", [f'{{"member_id": "m{i}", "interests": ["chess"]}}' for i in range(50)]), 1),
    (f"PUT {SLUG}/connections", "a tie is made", None,
     _platform("PUT", "/connections", json={"a": "ann", "b": "dan"}), 1),
    (f"DELETE {SLUG}/connections/{{a}}/{{b}}", "a tie is removed", None,
     _platform("DELETE", "/connections/bob/ann"), 1),
    (f"POST {SLUG}/connections/import", "three ties in one import", None,
     _ndjson("/connections/import", ['{"a": "ann", "b": "cat"}', '{"a": "cat", "b": "dan"}',
                                     '{"a": "ann", "b": "dan"}']), 1),
    (f"PUT {SLUG}/members/{{member_id}}/blocks/{{other_id}}", "a block is set", None, _block, 1),
    (f"PUT {SLUG}/members/{{member_id}}/blocks/{{other_id}}", "the same block again", _block, _block, 0),
    (f"DELETE {SLUG}/members/{{member_id}}/blocks/{{other_id}}", "a block is lifted", _block,
     _platform("DELETE", "/members/ann/blocks/cat"), 1),
    (f"POST {SLUG}/suggestions/{{suggestion_id}}/feedback", "a suggestion is declined", None,
     _feedback("declined"), 1),
    (f"POST {SLUG}/suggestions/{{suggestion_id}}/feedback",
     "a suggestion is accepted, outcome and tie in one transaction", None, _feedback("accepted"), 1),
    (f"POST {SLUG}/groups", "a group is created", None, _organiser("POST", "/groups", json={
        "name": "Go", "topics": ["go"], "capacity": 4, "format": "online"}), 0),
    (f"PATCH {SLUG}/groups/{{group_id}}", "a group is renamed", None,
     _organiser("PATCH", "/groups/{group}", json={"name": "Chess circle"}), 0),
    (f"DELETE {SLUG}/groups/{{group_id}}", "an empty group is deleted", None,
     _organiser("DELETE", "/groups/{group}"), 0),
    (f"DELETE {SLUG}/groups/{{group_id}}", "a group with seats is deleted", _seat,
     _organiser("DELETE", "/groups/{group}"), 1),
    (f"PUT {SLUG}/groups/{{group_id}}/members/{{member_id}}", "a seat is given", None, _seat, 1),
    (f"PUT {SLUG}/groups/{{group_id}}/members/{{member_id}}", "the same seat again", _seat, _seat, 0),
    (f"DELETE {SLUG}/groups/{{group_id}}/members/{{member_id}}", "a seat is taken back", _seat,
     _organiser("DELETE", "/groups/{group}/members/dan"), 1),
    (f"POST {SLUG}/placements", "a placement is proposed", None, _organiser("POST", "/placements", json={}), 0),
    (f"POST {SLUG}/placements/{{placement_id}}/apply", "a placement with seats is applied", None,
     _apply_new_placement, 1),
    (f"POST {SLUG}/rounds", "a round is made", None, _organiser("POST", "/rounds", json={}), 0),
    (f"POST {SLUG}/rounds/{{round_id}}/pairs/{{pair_id}}/outcome", "a pair met: outcome and tie in one transaction",
     None, _round_outcome("met"), 1),
    (f"POST {SLUG}/rounds/{{round_id}}/pairs/{{pair_id}}/outcome", "a pair did not meet", None,
     _round_outcome("not_met"), 0),
    (f"POST {SLUG}/reports/silos/snapshots", "a history point is saved", None,
     _organiser("POST", "/reports/silos/snapshots"), 0),
    (f"POST {SLUG}/keys/rotate", "a key is rotated", None,
     _organiser("POST", "/keys/rotate", json={"role": "platform", "grace_seconds": 60}), 0),
    (f"POST {SLUG}/reports/what-if", "a what-if is computed", None,
     _organiser("POST", "/reports/what-if", json={"add_ties": [{"a": "ann", "b": "dan"}]}), 0),
]


def test_every_write_operation_has_a_revision_case(client: TestClient) -> None:
    operations = {f"{method.upper()} {path}" for path, item in client.app.openapi()["paths"].items()
                  for method in item if method in WRITE_METHODS}
    assert operations == {operation for operation, *_ in CASES}


@pytest.mark.parametrize(("operation", "what", "setup", "write", "moves"), CASES, ids=[case[1] for case in CASES])
def test_write_moves_the_revision_exactly_when_it_should(
    client: TestClient, community: CommunityKeys, database_url: str,
    operation: str, what: str, setup: Write | None, write: Write, moves: int,
) -> None:
    world = World(client, community, database_url)
    if setup is not None:
        _ok(setup(world))
    before = world.revision()
    response = write(world)
    assert response.status_code < 500, response.text
    assert world.revision() - before == moves, f"{operation}: {what} ({response.status_code} {response.text[:200]})"


def test_reads_never_move_the_revision(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    world = World(client, community, database_url)
    world.suggestion_id()
    before = world.revision()
    world.suggestion_id("bob")
    for path, headers in (("/members", community.platform), ("/members/ann", community.platform),
                          ("/members/ann/connections", community.platform), ("/groups", community.organiser),
                          ("/members/dan/groups/suggestions", community.platform),
                          ("/reports/silos", community.organiser)):
        _ok(client.get(community.url(path), headers=headers))
    assert world.revision() == before


def test_erasing_a_member_deletes_the_placements_and_jobs_that_name_them(
    client: TestClient, community: CommunityKeys, database_url: str,
) -> None:
    world = World(client, community, database_url)
    placement_id = world.placement_id()
    placement = _ok(client.get(community.url(f"/placements/{placement_id}"), headers=community.organiser)).json()
    assert "dan" in str(placement)
    _ok(client.delete(community.url("/members/dan"), headers=community.platform))
    assert client.get(community.url(f"/placements/{placement_id}"), headers=community.organiser).status_code == 404
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM placements WHERE result::text LIKE '%\"dan\"%'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM jobs WHERE params::text LIKE '%\"dan\"%'"
                            " OR result::text LIKE '%\"dan\"%'").fetchone() == (0,)
