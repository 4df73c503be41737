"""Organiser settings: documented defaults, partial updates, bounds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys


def test_settings_start_at_the_documented_defaults(client: TestClient, community: CommunityKeys) -> None:
    settings = client.get(community.url("/settings"), headers=community.organiser).json()
    assert settings["bridging_weight"] == 0.3
    assert settings["report_min_group_size"] == 5
    assert settings["max_exposures_per_week"] == 20


def test_patch_changes_only_what_is_sent(client: TestClient, community: CommunityKeys) -> None:
    response = client.patch(community.url("/settings"), json={"bridging_weight": 1}, headers=community.organiser)
    assert response.status_code == 200
    settings = client.get(community.url("/settings"), headers=community.organiser).json()
    assert settings["bridging_weight"] == 1 and settings["report_min_group_size"] == 5


def test_out_of_range_settings_are_refused_and_change_nothing(client: TestClient, community: CommunityKeys) -> None:
    for body in ({"bridging_weight": 1.5}, {"report_min_group_size": 0}, {"max_exposures_per_week": -1},
                 {"colour": "blue"}):
        response = client.patch(community.url("/settings"), json=body, headers=community.organiser)
        assert response.status_code == 422, body
    assert client.get(community.url("/settings"), headers=community.organiser).json()["bridging_weight"] == 0.3
