"""Bulk imports into one community raced against each other and against single writes, at the real server."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable

import httpx

from tests.concurrency.conftest import Call, assert_no_server_errors, community_id, new_community, race, rows
from tests.conftest import CommunityKeys, LiveServer

FILES = 6
SPAN = 600  # members per file; neighbouring files share half of theirs


def ndjson(lines: Iterable[dict]) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode()


def member_file(number: int) -> list[str]:
    """The member ids of file ``number``, shuffled so that concurrent writers meet rows in different orders."""
    ids = [f"m{i:05d}" for i in range(number * SPAN // 2, number * SPAN // 2 + SPAN)]
    random.Random(number).shuffle(ids)
    return ids


def post(keys: CommunityKeys, path: str, body: bytes) -> Call:
    return lambda http: http.post(keys.url(path), content=body, headers=keys.platform)


def put(keys: CommunityKeys, path: str, payload: dict) -> Call:
    return lambda http: http.put(keys.url(path), json=payload, headers=keys.platform)


def assert_each_file_applied_whole(winners: dict[str, int], files: list[list[str]]) -> None:
    """Where two files share rows, all the shared rows come from the same one: no import was half applied."""
    for i in range(len(files)):
        for j in range(i + 1, len(files)):
            shared = set(files[i]) & set(files[j])
            assert len({winners[key] for key in shared}) <= 1, (i, j)


def _accepted(responses: list[httpx.Response], files: list[int]) -> list[int]:
    """The files whose import was applied; the others were refused whole, with a time to retry.

    Imports run one at a time per community: one that arrives while another runs gets 429.
    """
    assert_no_server_errors(responses)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429} and 200 in statuses, [r.text for r in responses]
    assert all(int(r.headers["Retry-After"]) > 0 for r in responses if r.status_code == 429)
    return [f for f, r in zip(files, responses, strict=True) if r.status_code == 200]


def test_parallel_member_imports_into_one_community_apply_whole_or_not_at_all(shared_server: LiveServer) -> None:
    keys = new_community(shared_server)
    files = [member_file(n) for n in range(FILES)]
    bodies = [ndjson({"member_id": m, "display_name": f"file {n}"} for m in ids) for n, ids in enumerate(files)]
    responses = race(shared_server, [post(keys, "/members/import", body) for body in bodies])
    applied = _accepted(responses, list(range(FILES)))
    stored = rows(shared_server, "SELECT member_id, display_name FROM members WHERE community_id = %(cid)s",
                  {"cid": community_id(shared_server, keys)})
    assert {m for m, _ in stored} == set().union(*(files[n] for n in applied))
    by_file = {m: int(name.removeprefix("file ")) for m, name in stored}
    assert set(by_file.values()) <= set(applied)
    assert_each_file_applied_whole(by_file, [files[n] for n in applied])
    assert sum(r.json()["created"] for r in responses if r.status_code == 200) == len(stored)


def test_parallel_connection_imports_into_one_community_apply_whole_or_not_at_all(
    shared_server: LiveServer,
) -> None:
    keys = new_community(shared_server)
    members = sorted(set().union(*(member_file(n) for n in range(FILES))))
    with shared_server.client() as http:
        loaded = http.post(keys.url("/members/import"), content=ndjson({"member_id": m} for m in members),
                           headers=keys.platform)
        assert loaded.status_code == 200, loaded.text
    # File n ties each of its members to the next one in id order, weight n + 1.
    files = [[(a, b) for a, b in zip(members, members[1:], strict=False) if a in set(member_file(n))]
             for n in range(FILES)]
    bodies = [ndjson({"a": a, "b": b, "weight": n + 1} for a, b in pairs) for n, pairs in enumerate(files)]
    responses = race(shared_server, [post(keys, "/connections/import", body) for body in bodies])
    applied = _accepted(responses, list(range(FILES)))
    stored = rows(shared_server, "SELECT member_a, member_b, weight FROM connections WHERE community_id = %(cid)s",
                  {"cid": community_id(shared_server, keys)})
    assert {(a, b) for a, b, _ in stored} == set().union(*(files[n] for n in applied))
    by_file = {(a, b): int(weight) - 1 for a, b, weight in stored}
    assert set(by_file.values()) <= set(applied)
    assert_each_file_applied_whole(by_file, [files[n] for n in applied])
    assert sum(r.json()["created"] for r in responses if r.status_code == 200) == len(stored)


def test_single_writes_racing_imports_never_fail_and_nothing_is_lost(shared_server: LiveServer) -> None:
    keys = new_community(shared_server)
    cid = community_id(shared_server, keys)
    imported = member_file(0)
    # Single writes create members the import also creates, and some of its own.
    singles = imported[:8] + [f"x{i}" for i in range(4)]
    calls = [post(keys, "/members/import", ndjson({"member_id": m} for m in imported))]
    calls += [put(keys, f"/members/{m}", {"display_name": "single"}) for m in singles]
    responses = race(shared_server, calls)
    assert_no_server_errors(responses)
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    stored = {m for (m,) in rows(shared_server, "SELECT member_id FROM members WHERE community_id = %(cid)s",
                                 {"cid": cid})}
    assert stored == set(imported) | set(singles)

    # Now ties: an import into a community with none yet, against single ties among the same members.
    ordered = sorted(imported)
    pairs = list(zip(ordered, ordered[1:], strict=False))
    calls = [post(keys, "/connections/import", ndjson({"a": a, "b": b} for a, b in pairs))]
    calls += [put(keys, "/connections", {"a": a, "b": b, "weight": 2.0}) for a, b in pairs[:6]]
    calls += [put(keys, "/connections", {"a": "x0", "b": f"x{i}"}) for i in range(1, 4)]
    responses = race(shared_server, calls)
    assert_no_server_errors(responses)
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    ties = {(a, b) for a, b in rows(shared_server, "SELECT member_a, member_b FROM connections"
                                                   " WHERE community_id = %(cid)s", {"cid": cid})}
    assert ties == set(pairs) | {("x0", f"x{i}") for i in range(1, 4)}
