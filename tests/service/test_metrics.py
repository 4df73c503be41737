"""``GET /metrics``: Prometheus text for the admin token, with numbers that move."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from belonging.service import jobs, metrics
from tests.conftest import ADMIN, CommunityKeys, serving


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_admin_token(client: TestClient, community: CommunityKeys) -> None:
    for headers in ({}, community.organiser, community.platform, {"Authorization": "Bearer nonsense"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_requests_are_counted_by_route_template_method_and_status(
    client: TestClient, community: CommunityKeys,
) -> None:
    route = "/v1/communities/{slug}/members/{member_id}"
    before = scrape(client)
    client.put(community.url("/members/ann"), json={"interests": ["chess"]}, headers=community.platform)
    client.get(community.url("/members/ann"), headers=community.platform)
    client.get(community.url("/members/nobody"), headers=community.platform)
    client.get("/no/such/route")
    after = scrape(client)
    assert value(after, "belonging_http_requests_total", route=route, method="PUT", status="201") == value(
        before, "belonging_http_requests_total", route=route, method="PUT", status="201") + 1
    assert value(after, "belonging_http_requests_total", route=route, method="GET", status="404") == value(
        before, "belonging_http_requests_total", route=route, method="GET", status="404") + 1
    assert value(after, "belonging_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    count = "belonging_http_request_duration_seconds_count"
    assert value(after, count, route=route, method="GET") == value(before, count, route=route, method="GET") + 2
    # no member ids, slugs or keys in the labels
    assert not any("ann" in str(labels) or community.slug in str(labels) for _, labels in after)


def test_index_builds_and_pool_connections_appear(client: TestClient, community: CommunityKeys) -> None:
    before = scrape(client)
    for member_id in ("ann", "bob", "cat"):
        client.put(community.url(f"/members/{member_id}"), json={"interests": ["chess"]}, headers=community.platform)
    assert client.get(community.url("/members/ann/suggestions"), headers=community.platform).status_code == 200
    after = scrape(client)
    builds = "belonging_index_build_seconds_count"
    assert value(after, builds) >= value(before, builds) + 1
    assert value(after, "belonging_index_build_seconds_sum") > value(before, "belonging_index_build_seconds_sum")
    assert ("belonging_index_revision_lag", ()) in after
    assert value(after, "belonging_db_pool_connections") >= 1
    assert ("belonging_db_pool_connections_in_use", ()) in after


def test_the_job_queue_depth_and_job_durations(
    client: TestClient, community: CommunityKeys, database_url: str,
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO jobs (community_id, kind) SELECT community_id, 'silo_report' FROM communities")
    assert value(scrape(client), "belonging_jobs_queued", kind="silo_report") == 1
    before = scrape(client)
    # The test app runs no worker; run the queued job on the app's own loop and pool.
    app = client.app
    assert client.portal is not None
    assert client.portal.call(jobs.run_one, app.state.pool, app.state)  # type: ignore[attr-defined]
    after = scrape(client)
    assert value(after, "belonging_jobs_queued", kind="silo_report") == 0
    finished = sum(value(after, "belonging_job_duration_seconds_count", kind="silo_report", outcome=outcome)
                   - value(before, "belonging_job_duration_seconds_count", kind="silo_report", outcome=outcome)
                   for outcome in ("done", "failed"))
    assert finished == 1


def test_several_processes_share_one_view_through_the_multiprocess_folder(
    database_url: str, tmp_path: Path,
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    with serving(database_url, tmp_path / "live", env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as server:
        with server.client() as http:
            http.get("/healthz")
            response = http.get("/metrics", headers=ADMIN)
    assert response.status_code == 200
    assert 'belonging_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    assert "belonging_db_pool_connections_in_use" in response.text
    assert os.listdir(folder), "each process writes its samples to the folder"


def test_several_workers_share_their_metrics_without_any_setting(database_url: str, tmp_path: Path) -> None:
    stale = tmp_path / "live" / "metrics"
    stale.mkdir(parents=True)
    (stale / "counter_999999.db").write_bytes(b"left by an earlier run")
    with serving(database_url, tmp_path / "live", args=("--workers", "2")) as server:
        with server.client() as http:
            for _ in range(6):
                http.get("/healthz")
            response = http.get("/metrics", headers=ADMIN)
        written = os.listdir(stale)
    assert response.status_code == 200
    assert 'belonging_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    assert "counter_999999.db" not in written and written, "serve empties the folder, then the workers write to it"


def test_each_scrape_builds_its_own_registry() -> None:
    """Scraping twice registers nothing twice, and numbers read at scrape time are not kept."""
    class _Pool:
        def get_stats(self) -> dict[str, int]:
            return {"pool_size": 2, "pool_available": 1}

    first = metrics.exposition(_Pool(), {"placement": 2})  # type: ignore[arg-type]
    second = metrics.exposition(_Pool(), {})  # type: ignore[arg-type]
    assert b'belonging_jobs_queued{kind="placement"} 2.0' in first
    assert b"belonging_db_pool_connections_in_use 1.0" in second
    assert b"belonging_jobs_queued{" not in second
