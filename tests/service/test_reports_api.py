"""Silo reports over HTTP: the right numbers, k-anonymity, snapshots, what-if, jobs."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from belonging.service import reports
from tests.conftest import CommunityKeys


def load(client: TestClient, community: CommunityKeys, graph: nx.Graph, attributes: dict[str, dict]) -> None:
    rows = [
        {
            "member_id": str(n),
            "attributes": {name: values[n] for name, values in attributes.items() if values.get(n) is not None},
        }
        for n in graph.nodes
    ]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    assert client.post(community.url("/members/import"), content=body, headers=community.platform).status_code == 200
    ties = "\n".join(json.dumps({"a": str(u), "b": str(v)}) for u, v in graph.edges).encode()
    if ties:
        response = client.post(community.url("/connections/import"), content=ties, headers=community.platform)
        assert response.status_code == 200


@pytest.fixture
def karate(client: TestClient, community: CommunityKeys) -> nx.Graph:
    graph = nx.karate_club_graph()
    graph.add_nodes_from(["loner-1", "loner-2"])
    clubs = {n: ("mr hi" if d.get("club") == "Mr. Hi" else "officer") for n, d in graph.nodes(data=True) if "club" in d}
    # Two members in a tiny third "club" must never be broken out (k = 5).
    clubs[0] = clubs[33] = "tiny"
    load(client, community, graph, {"club": clubs})
    return graph


def report(client: TestClient, community: CommunityKeys, **params) -> dict:
    response = client.get(community.url("/reports/silos"), params=params, headers=community.organiser)
    assert response.status_code == 200, response.text
    return response.json()


def test_report_counts_match_networkx(client: TestClient, community: CommunityKeys, karate: nx.Graph) -> None:
    body = report(client, community)
    assert body["members"] == 36 and body["connections"] == 78
    assert body["density"] == pytest.approx(nx.density(karate))
    assert body["components"]["count"] == nx.number_connected_components(karate) == 3
    assert sorted(body["isolates"]["member_ids"]) == ["loner-1", "loner-2"]
    assert body["communities"]["count"] >= 2 and 0.3 < body["communities"]["modularity"] < 0.5


def test_small_attribute_groups_are_never_broken_out(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    section = report(client, community, attribute="club")["attributes"]["club"]
    values = {g["value"] for g in section["groups"]}
    assert "tiny" not in values and "tiny" not in section["mixing"]["values"]
    assert {"mr hi", "officer"} <= values


def test_include_members_lists_each_members_community(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    body = report(client, community, include="members")
    assert len(body["communities"]["members"]) == 36


def test_unknown_attribute_is_a_422_naming_the_known_ones(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    response = client.get(community.url("/reports/silos"), params={"attribute": "dorm"}, headers=community.organiser)
    assert response.status_code == 422
    assert "dorm" in response.json()["detail"] and "club" in response.json()["detail"]


def history(client: TestClient, community: CommunityKeys) -> list[dict]:
    response = client.get(community.url("/reports/silos/history"), headers=community.organiser)
    assert response.status_code == 200, response.text
    return response.json()["snapshots"]


def save_snapshot(client: TestClient, community: CommunityKeys) -> dict:
    response = client.post(community.url("/reports/silos/snapshots"), headers=community.organiser)
    assert response.status_code == 201, response.text
    return response.json()


def test_reading_the_report_writes_no_history(client: TestClient, community: CommunityKeys, karate: nx.Graph) -> None:
    for params in ({}, {"attribute": "club"}, {"include": "members"}):
        report(client, community, **params)
    assert history(client, community) == []


def test_each_saved_snapshot_is_a_point_in_history(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    first = save_snapshot(client, community)
    assert first["isolates"] == 2 and first["members"] == 36 and first["kind"] == "on_demand"
    assert "club" in first["attributes"]
    client.put(community.url("/connections"), json={"a": "loner-1", "b": "0"}, headers=community.platform)
    second = save_snapshot(client, community)
    points = history(client, community)
    assert [s["isolates"] for s in points] == [2, 1]
    assert [s["snapshot_id"] for s in points] == [first["snapshot_id"], second["snapshot_id"]]
    assert json.loads(json.dumps(points[-1])) == second
    assert "loner-1" not in json.dumps(points)


def test_only_the_organiser_key_saves_a_snapshot(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    url = community.url("/reports/silos/snapshots")
    assert client.post(url).status_code == 401
    assert client.post(url, headers=community.platform).status_code == 403
    assert history(client, community) == []


def test_what_if_shows_before_and_after(client: TestClient, community: CommunityKeys, karate: nx.Graph) -> None:
    response = client.post(
        community.url("/reports/what-if"), json={"ties": [{"a": "loner-1", "b": "5"}]}, headers=community.organiser
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deltas"]["isolates.count"] == {"before": 2, "after": 1, "delta": -1}
    assert body["no_longer_isolated"] == ["loner-1"]
    assert report(client, community)["isolates"]["count"] == 2  # nothing was written


def test_what_if_accepting_top_suggestions_reaches_isolated_members(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    response = client.post(
        community.url("/reports/what-if"), json={"accept_top_suggestions": 2}, headers=community.organiser
    )
    assert response.status_code == 200, response.text
    assert response.json()["deltas"]["isolates.count"]["after"] < 2


@pytest.mark.parametrize(
    "body", [{}, {"ties": [{"a": "0", "b": "0"}]}, {"ties": [{"a": "0", "b": "ghost"}]}, {"accept_top_suggestions": 0}]
)
def test_bad_what_if_is_a_422(client: TestClient, community: CommunityKeys, karate: nx.Graph, body: dict) -> None:
    response = client.post(community.url("/reports/what-if"), json=body, headers=community.organiser)
    assert response.status_code == 422


def test_large_community_report_runs_as_a_job(
    client: TestClient, community: CommunityKeys, karate: nx.Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "SYNC_MAX_TIES", 10)
    response = client.get(community.url("/reports/silos"), headers=community.organiser)
    assert response.status_code == 202
    status_url = response.json()["status_url"]
    assert response.headers["location"] == status_url
    from belonging.service.jobs import run_one

    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    job = client.get(status_url, headers=community.organiser).json()
    assert job["status"] == "done" and job["result"]["members"] == 36
    assert history(client, community) == []


def test_large_community_snapshot_runs_as_a_job(
    client: TestClient, community: CommunityKeys, karate: nx.Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "SYNC_MAX_TIES", 10)
    response = client.post(community.url("/reports/silos/snapshots"), headers=community.organiser)
    assert response.status_code == 202
    status_url = response.json()["status_url"]
    assert response.headers["location"] == status_url
    assert history(client, community) == []
    from belonging.service.jobs import run_one

    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    job = client.get(status_url, headers=community.organiser).json()
    assert job["status"] == "done" and job["result"]["isolates"] == 2
    assert [s["snapshot_id"] for s in history(client, community)] == [job["result"]["snapshot_id"]]


def test_daily_snapshots_are_scheduled_once_a_day(
    client: TestClient, community: CommunityKeys, karate: nx.Graph
) -> None:
    from belonging.service.jobs import run_one

    client.portal.call(reports.schedule_daily_snapshots, client.app.state.pool)
    client.portal.call(reports.schedule_daily_snapshots, client.app.state.pool)
    assert client.portal.call(run_one, client.app.state.pool, client.app.state)
    assert not client.portal.call(run_one, client.app.state.pool, client.app.state)
    client.portal.call(reports.schedule_daily_snapshots, client.app.state.pool)
    assert not client.portal.call(run_one, client.app.state.pool, client.app.state)
    history = client.get(community.url("/reports/silos/history"), headers=community.organiser).json()["snapshots"]
    assert [s["kind"] for s in history] == ["daily"]
