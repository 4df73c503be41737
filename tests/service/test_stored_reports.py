"""The dashboard's first view and the silo report, served from the copy an index build stores beside it."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import index_builds, stored_reports
from belonging.service.config import Settings
from belonging.service.routers import dashboard
from tests.conftest import ADMIN, CommunityKeys, LiveServer, make_community
from tests.service.test_dashboard import connect, karate_club, load

SECRET_NEED = "debt-counselling"
"""A need every member keeps private: it must never reach the stored report or the page."""


def community_id(database_url: str, slug: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT community_id FROM communities WHERE slug = %s", (slug,)).fetchone()
    assert row is not None
    return int(row[0])


def karate_with_secrets(http: httpx.Client | TestClient, community: CommunityKeys) -> nx.Graph:
    graph, clubs = karate_club()
    load(http, community, graph, clubs,  # type: ignore[arg-type]
         {n: {"interests": ["chess"], "private_needs": [SECRET_NEED], "needs": ["cv-writing"]} for n in graph})
    return graph


def ask(http: httpx.Client | TestClient, community: CommunityKeys) -> None:
    """Ask for suggestions: the first request for a community waits for its index build."""
    response = http.get(community.url("/members/0/suggestions"), headers=community.platform)
    assert response.status_code == 200, response.text


def build_by_asking(http: httpx.Client | TestClient, community: CommunityKeys, builds: Path) -> index_builds.Build:
    """Ask for suggestions, then wait for the build's stored report, which the build process
    writes once the index is in place."""
    ask(http, community)
    return stored_report_written(builds)


def stored_report_written(builds: Path, seconds: float = 60) -> index_builds.Build:
    """The one build under ``builds`` once its report is in place."""
    deadline = time.monotonic() + seconds
    while True:
        (folder,) = builds.glob("*/r*")
        if (folder / stored_reports.FILE).exists():
            (build,) = index_builds.builds(builds, int(folder.parent.name))
            return build
        assert time.monotonic() < deadline, "the build's report was never written"
        time.sleep(0.05)


def counter(http: httpx.Client, name: str, labels: str = "") -> float:
    text = http.get("/metrics", headers=ADMIN).text
    match = re.search(rf"^{name}_total{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def signed_in_page(http: httpx.Client | TestClient, community: CommunityKeys) -> str:
    response = http.post(f"/dashboard/{community.slug}/login", data={"key": community.organiser_key},
                         follow_redirects=True)
    assert response.status_code == 200 and "Members at risk" in response.text, response.text
    return response.text


def as_of(page: str) -> datetime | None:
    match = re.search(r'<time class="as-of" datetime="([^"]+)"', page)
    return datetime.fromisoformat(match[1]) if match else None


def card(page: str, key: str) -> str:
    match = re.search(rf'data-metric="{key}">\s*<h3>[^<]*</h3>\s*<p class="value">([^<]*)</p>', page)
    assert match, key
    return match[1]


def test_with_a_build_on_disk_the_first_view_reads_no_community(live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.client() as http:
        community = make_community(http, "riverside")  # type: ignore[arg-type]
        karate_with_secrets(http, community)
        before_build = datetime.now(UTC)
        build = build_by_asking(http, community, tmp_path / "live" / "indexes")
        reads = counter(http, "belonging_community_reads")
        served = counter(http, "belonging_stored_reports_served", '{shown_in="dashboard"}')

        page = signed_in_page(http, community)

        assert counter(http, "belonging_community_reads") == reads
        assert counter(http, "belonging_stored_reports_served", '{shown_in="dashboard"}') == served + 1
        computed = as_of(page)
        assert computed is not None and before_build <= computed <= datetime.fromtimestamp(build.written_ns / 1e9, UTC)
        assert "nothing has changed since" in page
        assert card(page, "members") == "37" and card(page, "isolates") == "3"
        assert SECRET_NEED not in page
        assert SECRET_NEED not in (build.folder / stored_reports.FILE).read_text()


def test_the_silo_report_from_a_build_is_the_report_computed_now(live_server: LiveServer, tmp_path: Path) -> None:
    queries: list[dict[str, str | list[str]]] = [{}, {"attribute": "club", "include": "members"}]
    with live_server.client() as http:
        community = make_community(http, "riverside")  # type: ignore[arg-type]
        karate_with_secrets(http, community)
        computed = [http.get(community.url("/reports/silos"), params=q, headers=community.organiser) for q in queries]
        reads = counter(http, "belonging_community_reads")
        build_by_asking(http, community, tmp_path / "live" / "indexes")
        served = counter(http, "belonging_stored_reports_served", '{shown_in="api"}')

        stored = [http.get(community.url("/reports/silos"), params=q, headers=community.organiser) for q in queries]

        assert counter(http, "belonging_stored_reports_served", '{shown_in="api"}') == served + len(queries)
        assert counter(http, "belonging_community_reads") == reads
        for now, kept in zip(computed, stored, strict=True):
            assert now.status_code == kept.status_code == 200
            assert kept.json() == now.json()
        assert "members" not in stored[0].json()["communities"] and stored[0].json()["attributes"] == {}
        unknown = http.get(community.url("/reports/silos"), params={"attribute": "shoe size"},
                           headers=community.organiser)
        assert unknown.status_code == 422 and "club" in unknown.text


def test_a_snapshot_at_the_builds_revision_is_stored_from_its_report(live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.client() as http:
        community = make_community(http, "riverside")  # type: ignore[arg-type]
        karate_with_secrets(http, community)
        build_by_asking(http, community, tmp_path / "live" / "indexes")
        reads = counter(http, "belonging_community_reads")

        saved = http.post(community.url("/reports/silos/snapshots"), headers=community.organiser)

        assert saved.status_code == 201, saved.text
        assert saved.json()["members"] == 37 and saved.json()["isolates"] == 3
        assert counter(http, "belonging_stored_reports_served", '{shown_in="report"}') == 1
        assert counter(http, "belonging_community_reads") == reads
        history = http.get(community.url("/reports/silos/history"), headers=community.organiser).json()
        assert [point["snapshot_id"] for point in history["snapshots"]] == [saved.json()["snapshot_id"]]


def test_a_build_without_a_stored_report_still_serves_everything(live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.client() as http:
        community = make_community(http, "riverside")  # type: ignore[arg-type]
        karate_with_secrets(http, community)
        build = build_by_asking(http, community, tmp_path / "live" / "indexes")
        (build.folder / stored_reports.FILE).unlink()  # as a build of an older version has none
        reads = counter(http, "belonging_community_reads")

        page = signed_in_page(http, community)
        report = http.get(community.url("/reports/silos"), headers=community.organiser)
        ask(http, community)

        assert "Computed now from 37 members" in page and as_of(page) is None
        assert report.status_code == 200 and report.json()["members"] == 37
        assert counter(http, "belonging_community_reads") == reads + 1  # once, then kept by the process
        assert counter(http, "belonging_stored_reports_served", '{shown_in="dashboard"}') == 0


def test_a_half_written_build_folder_is_never_used(live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.client() as http:
        community = make_community(http, "riverside")  # type: ignore[arg-type]
        karate_with_secrets(http, community)
        build = build_by_asking(http, community, tmp_path / "live" / "indexes")
        connect(http, community, "loner-1", "loner-2")  # type: ignore[arg-type]
        # What a builder killed before its rename leaves: a hidden folder, here with a report that
        # would be at the new revision and claims a different community.
        half = build.folder.parent / ".building-4242-deadbeef"
        shutil.copytree(build.folder, half)
        document = json.loads((half / stored_reports.FILE).read_text())
        document["dashboard"]["revision"] = build.revision + 1
        document["dashboard"]["report"]["members"] = 999_999
        (half / stored_reports.FILE).write_text(json.dumps(document))

        page = signed_in_page(http, community)
        report = http.get(community.url("/reports/silos"), headers=community.organiser).json()

        assert "999,999" not in page and "Computed now from 37 members" in page
        assert card(page, "isolates") == "1"
        assert report["members"] == 37 and report["isolates"]["count"] == 1


def test_a_large_community_sees_the_builds_report_and_figures_for_a_while_with_their_time(
    client: TestClient, community: CommunityKeys, database_url: str, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dashboard, "LAG_MIN_TIES", 0)  # every community counts as large
    karate_with_secrets(client, community)
    build_by_asking(client, community, settings.index_dir)
    connect(client, community, "loner-1", "loner-2")  # type: ignore[arg-type]
    with psycopg.connect(database_url) as conn:  # an answer given since the build
        conn.execute("INSERT INTO suggestions (community_id, member_id, candidate_id, score, model_version,"
                     " created_at, outcome, outcome_at) SELECT community_id, '5', '33', 0.5, 'test', now(),"
                     " 'accepted', now() FROM communities WHERE slug = %s", (community.slug,))

    page = signed_in_page(client, community)
    assert card(page, "isolates") == "3" and card(page, "accepted") == "0"
    assert page.count("refreshed at most every 15 minutes") == 2  # the report, and the impact figures
    assert as_of(page) is not None

    monkeypatch.setattr(dashboard, "LARGE_REUSE_S", 0)
    page = client.get(f"/dashboard/{community.slug}").text
    assert card(page, "isolates") == "1" and card(page, "accepted") == "1"
    assert "Computed now" in page and as_of(page) is None


def test_a_report_that_fails_leaves_the_build_whole_without_it(
    client: TestClient, community: CommunityKeys, database_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    karate_with_secrets(client, community)

    def broken(*args: object) -> dict:
        raise RuntimeError("the report failed")

    monkeypatch.setattr(stored_reports, "compute", broken)
    root = tmp_path / "indexes"
    cid = community_id(database_url, community.slug)
    with caplog.at_level(logging.ERROR, logger="belonging.index_builds"):
        built = index_builds.build_in_this_thread(database_url, root, cid)

    assert built is not None
    (build,) = index_builds.builds(root, cid)
    assert (build.folder / "meta.json").exists() and not (build.folder / stored_reports.FILE).exists()
    assert stored_reports.read(build.folder) is None
    assert "dashboard report not stored" in caplog.text


def test_a_report_stored_with_other_settings_is_not_used(
    client: TestClient, community: CommunityKeys, settings: Settings
) -> None:
    karate_with_secrets(client, community)
    build_by_asking(client, community, settings.index_dir)
    changed = client.patch(community.url("/settings"), json={"report_min_group_size": 3}, headers=community.organiser)
    assert changed.status_code == 200, changed.text

    page = signed_in_page(client, community)
    report = client.get(community.url("/reports/silos"), headers=community.organiser).json()

    assert "Computed now" in page and as_of(page) is None
    assert report["parameters"]["min_group_size"] == 3


def test_the_first_suggestions_do_not_wait_for_the_builds_report(
    client: TestClient, community: CommunityKeys, settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    karate_with_secrets(client, community)
    go_on = tmp_path / "report-may-finish"
    compute = stored_reports.compute

    def held(*args: Any) -> dict:  # runs in the forked build process
        deadline = time.monotonic() + 60
        while not go_on.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return compute(*args)

    monkeypatch.setattr(stored_reports, "compute", held)

    ask(client, community)

    (folder,) = settings.index_dir.glob("*/r*")
    assert (folder / "meta.json").exists() and not (folder / stored_reports.FILE).exists()
    assert "Computed now" in signed_in_page(client, community)
    go_on.touch()
    stored_report_written(settings.index_dir)
    stored = stored_reports.read(folder)  # looked for again: its absence a moment ago was not kept
    assert stored is not None and stored.data.report["members"] == 37
    served = counter(client, "belonging_stored_reports_served", '{shown_in="api"}')  # type: ignore[arg-type]
    report = client.get(community.url("/reports/silos"), headers=community.organiser)
    assert report.status_code == 200 and report.json()["members"] == 37
    assert counter(client, "belonging_stored_reports_served", '{shown_in="api"}') == served + 1  # type: ignore[arg-type]
