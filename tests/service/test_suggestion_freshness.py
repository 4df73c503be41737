"""Suggestions after writes: served at once from the build on disk and the overlay, never rebuilt per request."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from belonging.service import index_builds
from belonging.service.config import Settings
from tests.conftest import CommunityKeys
from tests.service.test_suggestions_api import ids, members, suggested  # noqa: F401 - fixture

# In the chess club (ana, bob, cy, dan): ana knows bob and cy, cy knows dan.


def builds_on_disk(settings: Settings) -> list[str]:
    root = settings.index_dir
    return sorted(str(p.relative_to(root)) for p in root.glob("*/*")) if root.exists() else []


def mutual(suggestions: list[dict]) -> set[str]:
    return {s["member_id"] for s in suggestions if any(r["kind"] == "mutual_connections" for r in s["reasons"])}


def test_a_new_member_with_one_tie_gets_their_friends_neighbours_at_once_without_a_rebuild(
    client: TestClient, community: CommunityKeys, members: None, settings: Settings,  # noqa: F811
) -> None:
    suggested(client, community, "hal")  # the first request ever builds the community
    before = builds_on_disk(settings)
    assert len(before) == 1
    put = client.put(community.url("/members/zoe"), json={"interests": ["knitting"]}, headers=community.platform)
    assert put.status_code == 201, put.text
    tie = client.put(community.url("/connections"), json={"a": "zoe", "b": "ana"}, headers=community.platform)
    assert tie.status_code == 201, tie.text

    found = suggested(client, community, "zoe")

    assert "ana" not in ids(found)
    # bob and cy are ana's ties: zoe knows them through her.
    assert mutual(found) == {"bob", "cy"}
    assert builds_on_disk(settings) == before


def test_a_removed_tie_and_an_erased_member_count_at_once(
    client: TestClient, community: CommunityKeys, members: None,  # noqa: F811
) -> None:
    assert "bob" not in ids(suggested(client, community, "ana"))
    assert client.delete(community.url("/connections/ana/bob"), headers=community.platform).status_code == 204
    assert client.delete(community.url("/members/dan"), headers=community.platform).status_code == 204

    found = suggested(client, community, "ana")

    assert "bob" in ids(found)
    assert "dan" not in ids(found)
    missing = client.get(community.url("/members/dan/suggestions"), headers=community.platform)
    assert missing.status_code == 404


def reason_tags(suggestions: list[dict], member_id: str, kind: str) -> list[str]:
    return [tag for s in suggestions if s["member_id"] == member_id
            for r in s["reasons"] if r["kind"] == kind for tag in r["tags"]]


def test_a_changed_profile_changes_the_members_own_suggestions_at_once(
    client: TestClient, community: CommunityKeys, members: None,  # noqa: F811
) -> None:
    before = suggested(client, community, "bob")
    assert "gardening" not in reason_tags(before, "fay", "shared_interests")
    assert "debt advice" not in reason_tags(before, "eve", "can_help_you")
    client.put(community.url("/members/bob"), json={"interests": ["gardening"], "needs": ["debt advice"]},
               headers=community.platform)

    found = suggested(client, community, "bob")

    assert reason_tags(found, "fay", "shared_interests") == ["gardening"]
    assert reason_tags(found, "eve", "can_help_you") == ["debt advice"]


def test_a_half_written_build_is_never_served(
    client: TestClient, community: CommunityKeys, members: None, settings: Settings,  # noqa: F811
    database_url: str,
) -> None:
    suggested(client, community, "hal")
    with psycopg.connect(database_url) as conn:
        (cid,) = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (community.slug,)).fetchone()
    (build,) = index_builds.builds(settings.index_dir, cid)
    # What a builder killed while writing leaves behind: a hidden folder, some files missing.
    abandoned = build.folder.parent / f".building-{cid}-deadbeef"
    abandoned.mkdir()
    (abandoned / "meta.json").write_text("{")
    os.utime(abandoned)

    assert index_builds.newest(settings.index_dir, cid) == build
    assert suggested(client, community, "hal")
    index_builds.remove_old(settings.index_dir, cid)
    assert not abandoned.exists() and build.folder.exists()


def test_builds_go_under_the_data_folder(settings: Settings) -> None:
    assert settings.index_dir == Path(settings.data_dir) / "indexes"
