"""The impact report over HTTP, on a hand-made history whose numbers are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys
from tests.service.impact_history import WINDOW, write_history


@pytest.fixture
def history(client: TestClient, community: CommunityKeys, database_url: str) -> None:
    write_history(client, community, database_url)


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
