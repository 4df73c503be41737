"""The organiser dashboard: sign-in and sessions, exports, and the page itself in a real browser."""

from __future__ import annotations

import csv
import io
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import networkx as nx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright

from belonging.graph.at_risk import at_risk_members
from belonging.graph.communities import leiden_communities
from belonging.graph.community_graph import CommunityGraph
from belonging.service.app import create_app
from belonging.service.config import Settings
from belonging.service.dashboard import session as sessions
from belonging.service.dashboard import view
from belonging.service.dashboard.network import MAX_MEMBERS, MIN_SNOWBALL, network_picture
from tests.conftest import ADMIN, ADMIN_TOKEN, CommunityKeys

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
LONERS = ["loner-1", "loner-2", "loner-3"]


def karate_club() -> tuple[nx.Graph, dict[str, str]]:
    """Zachary's karate club plus three members without ties; ``club`` is each member's attribute."""
    graph = nx.relabel_nodes(nx.karate_club_graph(), str)
    clubs = {n: ("mr hi" if d["club"] == "Mr. Hi" else "officer") for n, d in graph.nodes(data=True)}
    graph.add_nodes_from(LONERS)
    return graph, clubs


def load(client: httpx.Client, community: CommunityKeys, graph: nx.Graph, clubs: dict[str, str],
         profiles: dict[str, dict] | None = None) -> None:
    rows = [{"member_id": n, "attributes": {"club": clubs[n]} if n in clubs else {}} | (profiles or {}).get(n, {})
            for n in graph.nodes]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    response = client.post(community.url("/members/import"), content=body, headers=community.platform)
    assert response.status_code == 200, response.text
    if graph.number_of_edges():
        ties = "\n".join(json.dumps({"a": u, "b": v}) for u, v in graph.edges).encode()
        response = client.post(community.url("/connections/import"), content=ties, headers=community.platform)
        assert response.status_code == 200, response.text


def connect(client: httpx.Client, community: CommunityKeys, a: str, b: str) -> None:
    response = client.put(community.url("/connections"), json={"a": a, "b": b}, headers=community.platform)
    assert response.status_code in (200, 201), response.text


def snapshot(client: httpx.Client, community: CommunityKeys) -> None:
    response = client.post(community.url("/reports/silos/snapshots"), headers=community.organiser)
    assert response.status_code == 201, response.text


def sign_in(client: TestClient, community: CommunityKeys, key: str | None = None) -> httpx.Response:
    return client.post(f"/dashboard/{community.slug}/login", data={"key": key or community.organiser_key},
                       follow_redirects=False)


def altered(text: str) -> str:
    """``text`` with its last characters changed."""
    return text[:-3] + ("abc" if not text.endswith("abc") else "xyz")


def is_sign_in_form(response: httpx.Response) -> bool:
    return 'name="key"' in response.text and "Members at risk" not in response.text


@pytest.fixture
def karate(client: TestClient, community: CommunityKeys) -> nx.Graph:
    graph, clubs = karate_club()
    load(client, community, graph, clubs)
    return graph


# --- signing in --------------------------------------------------------------------------------

def test_without_a_session_the_dashboard_shows_the_sign_in_form(client: TestClient, community: CommunityKeys) -> None:
    response = client.get(f"/dashboard/{community.slug}")
    assert response.status_code == 200
    assert is_sign_in_form(response)
    assert '<label for="key">' in response.text and 'method="post"' in response.text
    assert "set-cookie" not in response.headers


def test_the_organiser_key_opens_a_strict_http_only_session_for_this_community_only(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    response = sign_in(client, community)
    assert response.status_code == 303 and response.headers["location"] == f"/dashboard/{community.slug}"
    cookie = response.headers["set-cookie"]
    assert f"{sessions.COOKIE_NAME}=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path=/dashboard/{community.slug}" in cookie
    secret = community.organiser_key.split("_", 3)[3]
    assert community.organiser_key not in cookie and secret not in cookie
    page = client.get(f"/dashboard/{community.slug}")
    assert page.status_code == 200 and "Members at risk" in page.text
    assert community.organiser_key not in page.text


@pytest.mark.parametrize("which", ["wrong", "platform", "other community", "empty", "garbage"])
def test_a_key_that_is_not_this_communitys_organiser_key_is_refused_without_a_cookie(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys, which: str
) -> None:
    key = {
        "wrong": altered(community.organiser_key),
        "platform": community.platform_key,
        "other community": other_community.organiser_key,
        "empty": " ",
        "garbage": "not a key at all",
    }[which]
    response = sign_in(client, community, key)
    assert response.status_code in (401, 403)
    assert is_sign_in_form(response) and 'role="alert"' in response.text
    assert "set-cookie" not in response.headers


def test_a_login_posted_from_another_site_is_refused(client: TestClient, community: CommunityKeys) -> None:
    response = client.post(f"/dashboard/{community.slug}/login", data={"key": community.organiser_key},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_a_forged_cookie_is_refused(client: TestClient, community: CommunityKeys, karate: nx.Graph) -> None:
    sign_in(client, community)
    real = client.cookies.get(sessions.COOKIE_NAME)
    assert real
    version, payload, mac = real.split(".")
    # A session that lasts a year longer, signed with a secret that is not the deployment's.
    forged, _ = sessions.issue(community.slug, b"guessed secret", now=time.time() + 365 * 86400)
    forgeries = [
        forged,
        f"{version}.{forged.split('.')[1]}.{mac}",  # the longer session under the real signature
        f"{version}.{payload}.{altered(mac)}",  # signature changed
        "garbage",
    ]
    for value in forgeries:
        client.cookies.clear()
        response = client.get(f"/dashboard/{community.slug}", headers={"Cookie": f"{sessions.COOKIE_NAME}={value}"})
        assert response.status_code == 401 and is_sign_in_form(response), value


def test_an_expired_session_is_refused(client: TestClient, community: CommunityKeys) -> None:
    value, _ = sessions.issue(community.slug, sessions.signing_key(ADMIN_TOKEN),
                              now=time.time() - sessions.LIFETIME_S - 1)
    response = client.get(f"/dashboard/{community.slug}", headers={"Cookie": f"{sessions.COOKIE_NAME}={value}"})
    assert response.status_code == 401 and is_sign_in_form(response)


def test_a_session_of_one_community_does_not_open_another(
    client: TestClient, community: CommunityKeys, other_community: CommunityKeys
) -> None:
    sign_in(client, community)
    value = client.cookies.get(sessions.COOKIE_NAME)
    client.cookies.clear()
    for path in (f"/dashboard/{other_community.slug}", f"/dashboard/{other_community.slug}/export/at-risk.csv"):
        response = client.get(path, headers={"Cookie": f"{sessions.COOKIE_NAME}={value}"})
        assert response.status_code == 401 and "Members at risk" not in response.text


def test_revoking_the_organiser_key_ends_its_sessions(
    client: TestClient, community: CommunityKeys, settings: Settings
) -> None:
    sign_in(client, community)
    assert client.get(f"/dashboard/{community.slug}").status_code == 200
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE role = 'organiser'")
    response = client.get(f"/dashboard/{community.slug}")
    assert response.status_code == 401 and is_sign_in_form(response)


def test_signing_out_clears_the_cookie(client: TestClient, community: CommunityKeys) -> None:
    sign_in(client, community)
    response = client.post(f"/dashboard/{community.slug}/logout", follow_redirects=False)
    assert response.status_code == 303
    cleared = response.headers["set-cookie"]
    assert cleared.startswith(f"{sessions.COOKIE_NAME}=") and "Max-Age=0" in cleared
    assert is_sign_in_form(client.get(f"/dashboard/{community.slug}"))


def test_signing_out_ends_the_session_on_the_server(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    value = client.cookies.get(sessions.COOKIE_NAME)
    assert value and client.get(f"/dashboard/{community.slug}").status_code == 200
    assert client.post(f"/dashboard/{community.slug}/logout", follow_redirects=False).status_code == 303
    client.cookies.clear()
    replayed = {"Cookie": f"{sessions.COOKIE_NAME}={value}"}
    for path in ("", "/export/at-risk.csv"):
        response = client.get(f"/dashboard/{community.slug}{path}", headers=replayed)
        assert response.status_code == 401 and "Members at risk" not in response.text
    assert is_sign_in_form(client.get(f"/dashboard/{community.slug}", headers=replayed))
    saved = client.post(f"/dashboard/{community.slug}/snapshots", headers=replayed, follow_redirects=False)
    assert saved.status_code == 401


def test_signing_out_ends_only_that_session(client: TestClient, community: CommunityKeys, karate: nx.Graph) -> None:
    sign_in(client, community)
    first = client.cookies.get(sessions.COOKIE_NAME)
    client.cookies.clear()
    sign_in(client, community)
    second = client.cookies.get(sessions.COOKIE_NAME)
    assert first != second
    client.cookies.clear()
    client.post(f"/dashboard/{community.slug}/logout", headers={"Cookie": f"{sessions.COOKIE_NAME}={first}"},
                follow_redirects=False)
    assert client.get(f"/dashboard/{community.slug}",
                      headers={"Cookie": f"{sessions.COOKIE_NAME}={second}"}).status_code == 200


def test_a_sign_out_posted_from_another_site_leaves_the_session(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    response = client.post(f"/dashboard/{community.slug}/logout", headers={"Origin": "https://evil.example"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert client.get(f"/dashboard/{community.slug}").status_code == 200


def test_the_key_never_reaches_the_logs(
    client: TestClient, community: CommunityKeys, karate: nx.Graph, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        sign_in(client, community)
        sign_in(client, community, altered(community.organiser_key))
        client.get(f"/dashboard/{community.slug}")
    secret = community.organiser_key.split("_", 3)[3]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert secret not in logged


def test_pages_forbid_framing_caching_and_inline_scripts(client: TestClient, community: CommunityKeys) -> None:
    headers = client.get(f"/dashboard/{community.slug}").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


# --- what the page says ------------------------------------------------------------------------

def test_the_page_shows_the_reports_numbers_and_every_member_in_the_picture(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    page = client.get(f"/dashboard/{community.slug}").text
    assert '<li class="card" data-metric="members">' in page
    assert page.count('class="member ') == karate.number_of_nodes() == 37
    assert page.count('class="member isolate"') == 3
    assert '<th scope="col">mr hi</th>' in page and '<th scope="row">officer</th>' in page


def test_cards_show_the_change_since_the_last_snapshot(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    snapshot(client, community)
    connect(client, community, "loner-1", "0")
    sign_in(client, community)
    page = client.get(f"/dashboard/{community.slug}").text
    isolates = page.split('data-metric="isolates"')[1].split("</li>")[0]
    assert '<p class="value">2</p>' in isolates and "-1 since" in isolates


def test_saving_a_snapshot_adds_a_point_to_the_trend(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    response = client.post(f"/dashboard/{community.slug}/snapshots", follow_redirects=False)
    assert response.status_code == 303
    history = client.get(community.url("/reports/silos/history"), headers=community.organiser).json()["snapshots"]
    assert [s["isolates"] for s in history] == [3]
    assert "loner-1" not in json.dumps(history)


def test_saving_a_snapshot_of_a_large_community_queues_the_same_job_as_the_api(
    client: TestClient, community: CommunityKeys, karate: nx.Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    from belonging.service import reports
    from belonging.service.jobs import run_one

    monkeypatch.setattr(reports, "SYNC_MAX_TIES", 10)
    sign_in(client, community)
    response = client.post(f"/dashboard/{community.slug}/snapshots", follow_redirects=False)
    assert response.status_code == 303 and "saved=queued" in response.headers["location"]
    assert "in the background" in client.get(response.headers["location"]).text
    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    history = client.get(community.url("/reports/silos/history"), headers=community.organiser).json()["snapshots"]
    assert [s["isolates"] for s in history] == [3]


def test_groups_are_suggested_to_organisers_for_public_needs_only(
    client: TestClient, community: CommunityKeys
) -> None:
    graph = nx.path_graph(["a", "b", "c"])
    graph.add_nodes_from(["quiet", "open"])
    profiles = {"quiet": {"private_needs": ["debt advice"], "display_name": "Quinn"},
                "open": {"needs": ["grief support"]}}
    load(client, community, graph, {}, profiles)
    for name, topic in (("Money worries circle", "debt advice"), ("Grief circle", "grief support")):
        response = client.post(community.url("/groups"), headers=community.organiser,
                               json={"name": name, "topics": [topic], "capacity": 8, "format": "online"})
        assert response.status_code == 201, response.text
    sign_in(client, community)
    page = client.get(f"/dashboard/{community.slug}").text
    quiet = page.split('<tr data-member-id="quiet">')[1].split("</tr>")[0]
    opened = page.split('<tr data-member-id="open">')[1].split("</tr>")[0]
    # A group chosen for Quinn's private need would tell the organiser about that need.
    assert "Quinn (quiet)" in quiet and "Money worries circle" not in quiet
    assert "Grief circle" in opened
    assert "debt" not in page.replace("Money worries", "")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_large_community_is_drawn_as_a_bounded_sample_that_keeps_silos_visible(seed: int) -> None:
    planted = nx.planted_partition_graph(12, 80, 0.15, 0.002, seed=seed)
    planted.add_nodes_from(range(960, 1160))  # 200 members without ties
    graph = CommunityGraph.from_networkx(planted)
    membership = leiden_communities(graph, seed=seed)
    picture = network_picture(graph, membership, seed=seed)
    assert len(picture.members) == MAX_MEMBERS and picture.sampled
    assert picture.shown_isolates == MAX_MEMBERS // 3 and picture.total_isolates == 200
    drawn = Counter(m.community for m in picture.members if m.community is not None)
    assert all(count >= MIN_SNOWBALL for count in drawn.values())
    assert len(picture.ties) > len(drawn) * MIN_SNOWBALL  # snowballs keep ties, not loose dots
    inside = [(m.x, m.y) for m in picture.members]
    assert all(0 <= x <= picture.width and 0 <= y <= picture.height for x, y in inside)
    assert network_picture(graph, membership, seed=seed) == picture


def test_a_community_without_ties_is_drawn_as_rows_of_isolated_members() -> None:
    graph = CommunityGraph.from_edges([f"m{i}" for i in range(120)], [])
    picture = network_picture(graph, leiden_communities(graph))
    assert picture.shown_isolates == 120 and not picture.ties
    assert all(0 <= m.y <= picture.height for m in picture.members)


def test_mixing_tables_fold_the_smallest_groups_and_keep_every_tie(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(view, "HEATMAP_GROUPS", 3)
    matrix = [[5, 1, 2, 0], [1, 4, 0, 3], [2, 0, 6, 1], [0, 3, 1, 7]]
    values, folded = view.fold_small_groups(["a", "b", "c", "other"], matrix)
    assert values == ["a", "b", "2 smaller groups"]
    assert folded == [[5, 1, 2], [1, 4, 3], [2, 3, 14]]


# --- exports -----------------------------------------------------------------------------------

def test_exports_need_a_session(client: TestClient, community: CommunityKeys) -> None:
    for name in ("at-risk.csv", "members-by-community.csv"):
        response = client.get(f"/dashboard/{community.slug}/export/{name}")
        assert response.status_code == 401 and "member" not in response.text.lower()


def test_the_at_risk_csv_lists_every_member_at_risk(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    response = client.get(f"/dashboard/{community.slug}/export/at-risk.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = at_risk_members(CommunityGraph.from_networkx(karate))
    assert {(r["member_id"], r["reason"], r["via"] or None) for r in rows} == {tuple(m) for m in expected}


def test_the_members_by_community_csv_lists_everyone_once(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    sign_in(client, community)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/{community.slug}/export/members-by-community.csv")
                                           .text)))
    assert sorted(r["member_id"] for r in rows) == sorted(karate.nodes)
    assert {r["member_id"] for r in rows if r["isolated"] == "yes"} == set(LONERS)
    assert all(r["community"] == "" for r in rows if r["isolated"] == "yes")
    assert {int(r["community"]) for r in rows if r["isolated"] == "no"} >= {1, 2}


def test_csv_cells_never_start_a_formula(client: TestClient, community: CommunityKeys) -> None:
    graph = nx.Graph()
    graph.add_nodes_from(["m1"])
    load(client, community, graph, {}, {"m1": {"display_name": "=HYPERLINK(\"http://x\")"}})
    sign_in(client, community)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/{community.slug}/export/at-risk.csv").text)))
    assert rows[0]["display_name"].startswith("'=")


# --- in a real browser -------------------------------------------------------------------------

@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False, ws="none", lifespan="on",
                            loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()


def chromium_path() -> str:
    if not CHROMIUM.exists():
        pytest.fail(f"the dashboard test drives Debian's chromium at {CHROMIUM}, which is missing: run `make test` "
                    "as root (it installs it) or `apt-get install -y chromium`")
    return str(CHROMIUM)


def serious_accessibility_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.evaluate("() => { " + AXE.read_text() + "\n}")
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                               ".violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_an_organiser_signs_in_and_sees_the_dashboard_in_a_browser(live_server: str, tmp_path: Path) -> None:
    executable = chromium_path()
    graph, clubs = karate_club()
    with httpx.Client(base_url=live_server, timeout=30) as api:
        response = api.post("/v1/communities", json={"slug": "karate", "name": "Karate club"}, headers=ADMIN)
        assert response.status_code == 201, response.text
        keys = response.json()
        community = CommunityKeys("karate", keys["platform_key"], keys["organiser_key"])
        load(api, community, graph, clubs)
        snapshot(api, community)  # 3 isolated members
        connect(api, community, "loner-1", "0")
        snapshot(api, community)  # 2
        connect(api, community, "loner-2", "33")  # now 1, not yet in a snapshot
    graph.add_edges_from([("loner-1", "0"), ("loner-2", "33")])
    expected_at_risk = {m.member_id for m in at_risk_members(CommunityGraph.from_networkx(graph))}

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            dashboard = f"{live_server}/dashboard/karate"

            page.goto(dashboard)
            assert page.get_by_label("Organiser key").is_visible()
            page.get_by_label("Organiser key").fill(altered(community.organiser_key))
            with page.expect_response(lambda r: r.url.endswith("/login")) as refused:
                page.get_by_role("button", name="Sign in").click()
            assert refused.value.status == 403
            assert "not an organiser key" in page.get_by_role("alert").inner_text()
            assert context.cookies() == []
            assert serious_accessibility_violations(page) == []
            problems.clear()  # the browser reports the refused sign-in's 403 as a console error

            page.get_by_label("Organiser key").fill(community.organiser_key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(dashboard)
            (cookie,) = context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/dashboard/karate"

            assert page.locator("[data-metric=members] .value").inner_text() == "37"
            assert page.locator("[data-metric=isolates] .value").inner_text() == "1"
            assert page.locator("[data-metric=isolates] .change").inner_text().startswith("-1 since")
            assert page.locator("[data-metric=at_risk] .value").inner_text() == str(len(expected_at_risk))

            network = page.locator("svg.network")
            assert network.get_attribute("role") == "img" and network.get_attribute("aria-labelledby")
            assert page.locator("svg.network circle.member").count() == 37
            assert page.locator("svg.network circle.isolate").count() == 1
            assert page.locator("svg.network line").count() == graph.number_of_edges()
            assert network.bounding_box()["height"] > 200

            heat = page.locator("table.heatmap").first
            assert heat.locator("th[scope=col]").count() == 3 and heat.locator("td").count() == 4
            assert {r.get_attribute("data-member-id") for r in page.locator("table.at-risk tbody tr").all()} \
                == expected_at_risk

            chart = page.locator("#history-chart[data-drawn=true]")
            chart.wait_for(state="attached")
            drawn = page.evaluate("""() => {
                const canvas = document.getElementById('history-chart');
                const chart = Chart.getChart(canvas);
                const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
                return {isolates: chart.data.datasets[0].data, painted: painted};
            }""")
            assert drawn["isolates"] == [3, 2] and drawn["painted"] > 2000

            page.keyboard.press("Tab")
            focused = page.evaluate("() => [document.activeElement.className, "
                                    "getComputedStyle(document.activeElement).outlineStyle]")
            assert focused == ["skip-link", "solid"]

            with page.expect_download() as download_info:
                page.get_by_role("link", name="Members at risk (CSV)").click()
            rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
            assert {r["member_id"] for r in rows} == expected_at_risk

            # Is it working? Everyone but loner-3 made a first tie today, and 37 members joined today.
            assert page.locator("#impact [data-metric=left_isolation] .value").inner_text() == "36"
            page.locator("#impact-chart[data-drawn=true]").wait_for(state="attached")
            weekly = page.evaluate("""() => {
                const chart = Chart.getChart(document.getElementById('impact-chart'));
                return {labels: chart.data.labels.length, first_ties: chart.data.datasets[2].data};
            }""")
            assert weekly["labels"] == 12 and weekly["first_ties"][-1] == 36 and sum(weekly["first_ties"]) == 36
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Download the weeks as CSV").click()
            weeks = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
            assert [int(w["members_first_tie"]) for w in weeks] == weekly["first_ties"]
            assert int(weeks[-1]["members_joined"]) == 37

            assert serious_accessibility_violations(page) == []

            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(dashboard)
            assert page.get_by_label("Organiser key").is_visible() and context.cookies() == []
        finally:
            browser.close()
    assert problems == [], problems  # script errors, Content-Security-Policy refusals, missing files
