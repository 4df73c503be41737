"""Suggestion latency over HTTP, beside ``/healthz`` on the same server in the same run.

Loads the seeded synthetic community (default 100k members, 1M ties) straight into PostgreSQL
with COPY, starts ``belonging serve`` as a separate process, builds the index with one warm-up
request, then times sequential suggestion requests for random members and ``/healthz``.

    .venv/bin/python bench/suggestion_http.py [--members 100000] [--ties 1000000] [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN, database_and_service  # noqa: E402
from synthetic import synthetic_community  # noqa: E402

from belonging.service.repository.copy import copy_rows  # noqa: E402

SUPPORT = ["cv writing", "job search", "tax forms", "english conversation", "grief", "computer help",
           "bike repair", "dog walking", "tutoring maths", "moving to the area"]


async def load(url: str, platform_slug: str, n_members: int, n_ties: int) -> None:
    community = synthetic_community(n_members, n_ties, seed=0)
    graph = community.graph
    rng = np.random.default_rng(1)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT community_id FROM communities WHERE slug = %s", (platform_slug,))
        community_id = (await cur.fetchone())[0]
        neighbourhood = graph.attributes.get("neighbourhood", [None] * graph.number_of_members)
        cohort = graph.attributes.get("cohort", [None] * graph.number_of_members)

        def rows():
            for i, member_id in enumerate(graph.member_ids):
                attributes = {k: v for k, v in (("neighbourhood", neighbourhood[i]), ("cohort", cohort[i])) if v}
                needs = [SUPPORT[int(rng.integers(len(SUPPORT)))]] if rng.random() < 0.4 else []
                offers = [SUPPORT[int(rng.integers(len(SUPPORT)))]] if rng.random() < 0.4 else []
                yield (community_id, member_id, None, community.interests[i], needs, offers, [], attributes,
                       ["online", "in_person"], [], True, None)

        await copy_rows(conn, "COPY members (community_id, member_id, display_name, interests, needs, offers,"
                        " private_needs, attributes, formats, languages, open_to_suggestions, belonging_score)"
                        " FROM STDIN", rows())
        upper = graph.adjacency.tocoo()
        ids = graph.member_ids

        def ties():
            for r, c in zip(upper.row.tolist(), upper.col.tolist(), strict=True):
                if ids[r] < ids[c]:
                    yield (community_id, ids[r], ids[c], 1.0, None)

        await copy_rows(conn, "COPY connections (community_id, member_a, member_b, weight, kind) FROM STDIN", ties())
        await conn.execute("UPDATE community_revisions SET revision = revision + 1 WHERE community_id = %s",
                           (community_id,))
        await conn.commit()
        # What autovacuum does a minute after a bulk load (a bulk insert triggers a vacuum too):
        # measured requests should neither wait for it nor share the CPU with it.
        await conn.set_autocommit(True)
        await conn.execute("VACUUM ANALYZE members, connections, community_changes, suggestions")


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    with database_and_service() as (url, base):
        keys = httpx.post(base + "/v1/communities", json={"slug": "synthetic", "name": "Synthetic"},
                          headers={"Authorization": f"Bearer {ADMIN}"}).json()
        started = time.perf_counter()
        asyncio.run(load(url, "synthetic", args.members, args.ties))
        load_seconds = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {keys['platform_key']}"}
        rng = np.random.default_rng(2)
        members = [f"m{int(i):07d}" for i in rng.integers(0, args.members, size=args.requests)]
        with httpx.Client(base_url=base, timeout=600) as client:
            started = time.perf_counter()
            warm = client.get(f"/v1/communities/synthetic/members/{members[0]}/suggestions", headers=headers)
            build_seconds = time.perf_counter() - started
            assert warm.status_code == 200, warm.text
            suggestion_times, health_times = [], []
            for member_id in members:
                started = time.perf_counter()
                response = client.get(f"/v1/communities/synthetic/members/{member_id}/suggestions",
                                      headers=headers)
                suggestion_times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                started = time.perf_counter()
                client.get("/healthz")
                health_times.append(time.perf_counter() - started)

    s50, s99 = percentiles(suggestion_times)
    h50, h99 = percentiles(health_times)
    print(f"community: {args.members:,} members, {args.ties:,} ties; loaded in {load_seconds:.1f} s;"
          f" first request (index build) {build_seconds:.1f} s")
    print(f"{'request':<28} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'GET .../suggestions':<28} {s50:>8.2f} {s99:>8.2f}")
    print(f"{'GET /healthz':<28} {h50:>8.2f} {h99:>8.2f}")
    print(f"suggestions p50 / healthz p50 = {s50 / h50:.1f}x (target: at most 2x)")


if __name__ == "__main__":
    main()
