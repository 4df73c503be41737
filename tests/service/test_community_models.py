"""A community read whole for organiser work leaves the serving process once nobody asks for it."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from belonging.service import indexes
from tests.conftest import ADMIN, CommunityKeys
from tests.service.test_dashboard import karate_club, load


def metric(client: TestClient, name: str) -> float:
    text = client.get("/metrics", headers=ADMIN).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def test_a_model_nobody_asks_for_is_dropped_and_read_again_when_needed(
    client: TestClient, community: CommunityKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexes, "IDLE_SECONDS", 0.3)
    graph, clubs = karate_club()
    load(client, community, graph, clubs)
    held = client.app.state.indexes  # type: ignore[attr-defined]
    reads = metric(client, "belonging_community_reads_total")

    first = client.get(community.url("/reports/silos"), headers=community.organiser)
    assert first.status_code == 200 and len(held.held()) == 1
    assert metric(client, "belonging_community_models_held") == 1

    deadline = time.monotonic() + 10
    while held.held() and time.monotonic() < deadline:
        time.sleep(0.05)
    again = client.get(community.url("/reports/silos"), headers=community.organiser)

    assert again.status_code == 200 and again.json() == first.json()
    assert metric(client, "belonging_community_reads_total") == reads + 2  # read, dropped, read again
    assert len(held.held()) == 1


def test_a_model_in_use_stays(client: TestClient, community: CommunityKeys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexes, "IDLE_SECONDS", 1.0)
    graph, clubs = karate_club()
    load(client, community, graph, clubs)
    reads = metric(client, "belonging_community_reads_total")

    for _ in range(8):  # asked for every quarter of a second: never idle for a whole second
        assert client.get(community.url("/reports/silos"), headers=community.organiser).status_code == 200
        time.sleep(0.25)

    assert metric(client, "belonging_community_reads_total") == reads + 1
