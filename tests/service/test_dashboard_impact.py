"""The dashboard's "Is it working?" section and its CSV, on a hand-made history whose numbers are known."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service import reports
from belonging.service.routers import dashboard
from tests.conftest import CommunityKeys
from tests.service.impact_history import WINDOW, write_history
from tests.service.test_dashboard import sign_in

OCTOBER = "?since=2026-10-01&until=2026-10-31"


@pytest.fixture
def signed_in(client: TestClient, community: CommunityKeys, database_url: str) -> TestClient:
    write_history(client, community, database_url)
    assert sign_in(client, community).status_code == 303
    return client


def card(page: str, metric: str) -> tuple[str, str]:
    """The value and the line under it of the card ``metric``."""
    found = re.search(rf'data-metric="{metric}">\s*<h3>[^<]*</h3>\s*<p class="value">([^<]*)</p>\s*'
                      r'<p class="change">([^<]*)</p>', page)
    assert found, f"no card {metric}"
    return found[1], found[2]


def weeks_csv(client: TestClient, community: CommunityKeys, query: str) -> list[dict[str, str]]:
    response = client.get(f"/dashboard/{community.slug}/export/impact.csv{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_cards_answer_with_the_windows_figures(signed_in: TestClient, community: CommunityKeys) -> None:
    response = signed_in.get(f"/dashboard/{community.slug}{OCTOBER}")
    assert response.status_code == 200, response.text
    page = response.text
    assert card(page, "accepted") == ("2", "of 4 suggestions shown (50%)")
    assert card(page, "met") == ("2", "of 4 pairs answered (50%); 2 rounds held")
    assert card(page, "new_members") == ("50%", "of 4 members who joined; median 3.0 days to a first tie")
    assert card(page, "left_isolation") == (
        "5", "2 through suggestions, 2 through rounds, 0 through groups, 1 otherwise")
    assert 'value="2026-10-01"' in page and 'value="2026-10-31"' in page


def test_groups_smaller_than_k_are_not_broken_out_on_the_page(
    signed_in: TestClient, community: CommunityKeys
) -> None:
    page = signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text
    table = re.search(r'<table class="impact-groups" data-attribute="city">.*?</table>', page, re.S)
    assert table
    rows = re.findall(r'<tr><th scope="row">([^<]*)</th>((?:<td>[^<]*</td>)*)</tr>', table[0])
    assert [(group, re.findall(r"<td>([^<]*)</td>", cells)) for group, cells in rows] == [
        ("north", ["3", "67%", "5", "50%", "3", "4"]),  # south has 3 members, fewer than k = 5
    ]


def test_the_weeks_csv_counts_every_event_in_its_week(signed_in: TestClient, community: CommunityKeys) -> None:
    rows = weeks_csv(signed_in, community, OCTOBER)
    # Twelve whole weeks ending on the window's last day, though the window is shorter.
    assert len(rows) == 12 and rows[0]["week_starts"] == "2026-08-09" and rows[-1]["week_ends"] == "2026-10-31"
    by_week = {row["week_starts"]: row for row in rows}
    assert by_week["2026-09-27"] == {
        "week_starts": "2026-09-27", "week_ends": "2026-10-03", "suggestions_shown": "0",
        "suggestions_accepted": "1", "suggestions_declined": "0", "rounds_held": "0", "round_pairs": "0",
        "pairs_met": "0", "pairs_not_met": "0", "pairs_skipped": "0", "members_joined": "2",
        "members_first_tie": "0"}
    assert by_week["2026-10-04"] == {
        "week_starts": "2026-10-04", "week_ends": "2026-10-10", "suggestions_shown": "1",
        "suggestions_accepted": "1", "suggestions_declined": "0", "rounds_held": "1", "round_pairs": "3",
        "pairs_met": "1", "pairs_not_met": "1", "pairs_skipped": "0", "members_joined": "1",
        "members_first_tie": "2"}
    totals = {column: sum(int(row[column]) for row in rows) for column in rows[0] if not column.startswith("week")}
    # Since 9 August: the September round and the suggestion shown on 20 September count too;
    # the answer given on 2 November does not.
    assert totals == {"suggestions_shown": 5, "suggestions_accepted": 2, "suggestions_declined": 1,
                      "rounds_held": 3, "round_pairs": 7, "pairs_met": 3, "pairs_not_met": 1, "pairs_skipped": 1,
                      "members_joined": 4, "members_first_tie": 5}


def test_the_chart_draws_the_same_weeks_as_the_csv(signed_in: TestClient, community: CommunityKeys) -> None:
    page = signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text
    series = json.loads(re.search(r'<script type="application/json" id="impact-data">(.*?)</script>', page, re.S)[1])
    rows = weeks_csv(signed_in, community, OCTOBER)
    assert series["accepted"] == [int(r["suggestions_accepted"]) for r in rows]
    assert series["met"] == [int(r["pairs_met"]) for r in rows]
    assert series["first_tie"] == [int(r["members_first_tie"]) for r in rows]
    assert len(series["labels"]) == 12


def test_a_long_window_is_charted_whole(signed_in: TestClient, community: CommunityKeys) -> None:
    rows = weeks_csv(signed_in, community, "?since=2026-01-01&until=2026-10-31")
    assert rows[0]["week_starts"] <= "2026-01-01" and len(rows) == 44
    assert sum(int(r["members_joined"]) for r in rows) == 8  # everyone but the member who joined in November
    assert sum(int(r["members_first_tie"]) for r in rows) == 7  # old3 and old4 tied in July


@pytest.mark.parametrize(("query", "message"), [
    ("?since=yesterday", "The first day is not a date"),
    ("?until=2026-02-30", "The last day is not a date"),
    ("?since=2026-11-01&until=2026-10-31", "swap them"),
    ("?since=0001-01-01", "must lie between"),
    ("?until=9999-12-31", "must lie between"),
])
def test_dates_that_cannot_be_read_say_what_to_write(
    signed_in: TestClient, community: CommunityKeys, query: str, message: str
) -> None:
    response = signed_in.get(f"/dashboard/{community.slug}{query}")
    assert response.status_code == 422
    assert message in response.text and "Showing the last 30 days instead" in response.text
    refused = signed_in.get(f"/dashboard/{community.slug}/export/impact.csv{query}")
    assert refused.status_code == 422 and message in refused.text


def test_the_weeks_csv_needs_a_session(client: TestClient, community: CommunityKeys) -> None:
    response = client.get(f"/dashboard/{community.slug}/export/impact.csv")
    assert response.status_code == 401
    assert "Sign in" in response.text


def test_the_api_and_the_page_agree(signed_in: TestClient, community: CommunityKeys) -> None:
    body = signed_in.get(community.url("/reports/impact"), params=WINDOW, headers=community.organiser).json()
    page = signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text
    assert card(page, "accepted")[0] == str(body["suggestions"]["accepted"])
    assert card(page, "met")[0] == str(body["rounds"]["met"])
    assert card(page, "left_isolation")[0] == str(body["left_isolation"]["total"])


def test_a_large_communitys_figures_are_kept_for_a_while(
    signed_in: TestClient, community: CommunityKeys, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "SYNC_MAX_TIES", 0)  # every community counts as large
    page = signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text
    assert card(page, "accepted")[0] == "2" and "refreshed at most every 15 minutes" in page
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO suggestions (community_id, member_id, candidate_id, score, model_version, created_at,"
                     " outcome, outcome_at) SELECT community_id, 'new2', 'old4', 0.5, 'test', %s, 'accepted', %s"
                     " FROM communities WHERE slug = %s",
                     (datetime(2026, 10, 6, tzinfo=UTC), datetime(2026, 10, 7, tzinfo=UTC), community.slug))
    assert card(signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text, "accepted")[0] == "2"
    monkeypatch.setattr(dashboard, "LARGE_REUSE_S", 0)
    assert card(signed_in.get(f"/dashboard/{community.slug}{OCTOBER}").text, "accepted")[0] == "3"
