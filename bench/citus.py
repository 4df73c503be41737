"""The same workload on a single PostgreSQL and on a 3-node Citus cluster, side by side.

Starts both with ``scripts/citus-cluster`` (one plain PostgreSQL 15 node with the same settings,
and a coordinator with two workers, 32 shards), runs ``belonging serve`` against each, and for
each: imports one large community (members, then ties) and many small ones over the NDJSON
endpoints, times sequential suggestion requests in the large community and in small ones, and
times the silo report of the large community (a job above 200,000 ties). Prints one table with
the cluster's figure over the single node's.

    .venv/bin/python bench/citus.py [--quick] [--members 100000] [--ties 1000000] [--small 200]

The issue's targets: suggestions p50 on the cluster at most 1.5x the single node; imports at
least half the single node's rate. On one machine the "cluster" shares the same cores, so it
measures the cost of routing through the coordinator, not the gain of more machines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN, database_and_service  # noqa: E402
from import_speed import synthetic_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = str(ROOT / "scripts" / "citus-cluster")
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}
NDJSON = {"content-type": "application/x-ndjson"}


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples), q)) * 1000


def create(client: httpx.Client, url: str, slug: str) -> tuple[dict[str, str], dict[str, str]]:
    """A new community, with a daily snapshot already on record: the daily scheduler then leaves it
    alone, so no background report competes with the measurements (both servers run the worker,
    which the large silo report needs)."""
    response = client.post("/v1/communities", json={"slug": slug, "name": slug}, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text
    body = response.json()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO report_snapshots (community_id, kind, report)"
                     " SELECT community_id, 'daily', '{}' FROM communities WHERE slug = %s", (slug,))
    return {"Authorization": f"Bearer {body['platform_key']}"}, {"Authorization": f"Bearer {body['organiser_key']}"}


def tie_body(pairs: np.ndarray) -> bytes:
    return "\n".join(f'{{"a":"m{a:07d}","b":"m{b:07d}"}}' for a, b in pairs).encode()


def workload(url: str, base: str, args: argparse.Namespace) -> dict[str, float]:
    results: dict[str, float] = {}
    members, pairs = synthetic_rows(args.members, args.ties, seed=0)
    member_body = "\n".join(json.dumps(m) for m in members).encode()
    with httpx.Client(base_url=base, timeout=1800) as client:
        platform, organiser = create(client, url, "large")
        started = time.perf_counter()
        response = client.post("/v1/communities/large/members/import", content=member_body, headers=platform | NDJSON)
        assert response.status_code == 200, response.text
        results["import members/s (large)"] = len(members) / (time.perf_counter() - started)
        started = time.perf_counter()
        response = client.post("/v1/communities/large/connections/import", content=tie_body(pairs),
                               headers=platform | NDJSON)
        assert response.status_code == 200, response.text
        results["import ties/s (large)"] = len(pairs) / (time.perf_counter() - started)

        small_members, small_pairs = synthetic_rows(50, 100, seed=1)
        small_member_body = "\n".join(json.dumps(m) for m in small_members).encode()
        small_keys = []
        started = time.perf_counter()
        for k in range(args.small):
            keys, _ = create(client, url, f"small-{k}")
            for path, body in (("members", small_member_body), ("connections", tie_body(small_pairs))):
                response = client.post(f"/v1/communities/small-{k}/{path}/import", content=body, headers=keys | NDJSON)
                assert response.status_code == 200, response.text
            small_keys.append(keys)
        results["small communities created+imported/s"] = args.small / (time.perf_counter() - started)

        rng = np.random.default_rng(2)
        started = time.perf_counter()
        response = client.get(f"/v1/communities/large/members/{members[0]['member_id']}/suggestions",
                              headers=platform)
        assert response.status_code == 200, response.text
        results["index build + first suggestion s (large)"] = time.perf_counter() - started
        latencies = []
        for _ in range(args.requests):
            member = members[int(rng.integers(len(members)))]["member_id"]
            started = time.perf_counter()
            response = client.get(f"/v1/communities/large/members/{member}/suggestions", headers=platform)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        results["suggestions p50 ms (large)"] = percentile(latencies, 50)
        results["suggestions p95 ms (large)"] = percentile(latencies, 95)
        for k, keys in enumerate(small_keys):  # build every small community's index first
            client.get(f"/v1/communities/small-{k}/members/m0000000/suggestions", headers=keys)
        latencies = []
        for _ in range(args.requests):
            k = int(rng.integers(len(small_keys)))
            member = small_members[int(rng.integers(len(small_members)))]["member_id"]
            started = time.perf_counter()
            response = client.get(f"/v1/communities/small-{k}/members/{member}/suggestions", headers=small_keys[k])
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        results["suggestions p50 ms (small, random community)"] = percentile(latencies, 50)

        started = time.perf_counter()
        response = client.get("/v1/communities/large/reports/silos?attribute=cohort", headers=organiser)
        if response.status_code == 202:
            job = response.headers["location"]
            while (state := client.get(job, headers=organiser).json())["status"] not in ("done", "failed"):
                time.sleep(0.2)
            assert state["status"] == "done", state
        else:
            assert response.status_code == 200, response.text
        results["silo report s (large)"] = time.perf_counter() - started
    return results


def run_on(url: str, args: argparse.Namespace) -> dict[str, float]:
    os.environ["DATABASE_URL"] = url
    with database_and_service() as (_, base):
        return workload(url, base, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k members, 100k ties, 20 small communities")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if args.quick:
        args.members, args.ties, args.small, args.requests = 10_000, 100_000, 20, 200
    env = os.environ | {"CITUS_SHARD_COUNT": "32"}
    try:
        single_url = subprocess.run([CLUSTER, "single"], check=True, capture_output=True, text=True,
                                    env=env).stdout.strip().splitlines()[-1]
        single = run_on(single_url, args)
        subprocess.run([CLUSTER, "start"], check=True, env=env, stdout=subprocess.DEVNULL)
        cluster_url = subprocess.run([CLUSTER, "url"], check=True, capture_output=True, text=True).stdout.strip()
        cluster = run_on(cluster_url, args)
    finally:
        subprocess.run([CLUSTER, "stop"], check=False)
    print(f"\n{args.members:,} members / {args.ties:,} ties in one community, "
          f"{args.small} small communities (50 members / 100 ties), {args.requests} requests per latency row")
    print(f"{'':46} {'single':>12} {'cluster':>12} {'cluster/single':>15}")
    for name in single:
        print(f"{name:46} {single[name]:12.2f} {cluster[name]:12.2f} {cluster[name] / single[name]:15.2f}")


if __name__ == "__main__":
    main()
