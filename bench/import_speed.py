"""Import speed: the NDJSON import endpoints against a raw psycopg COPY of the same rows.

Both run in the same process tree against the same PostgreSQL (``DATABASE_URL`` or an embedded
server in a temporary folder), into two communities of the same database.

    .venv/bin/python bench/import_speed.py [--members 100000] [--ties 1000000]
"""

from __future__ import annotations

import argparse
import json
import time

import httpx
import numpy as np
import psycopg
from harness import ADMIN, database_and_service
from psycopg.types.json import Jsonb

INTERESTS = ["hiking", "chess", "gardening", "python", "choir", "running", "cooking", "film", "yoga", "baking"]
NEEDS = ["cv writing", "job search", "tax forms", "english conversation", "grief", "computer help"]


def synthetic_rows(n_members: int, n_ties: int, seed: int = 0) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    members = []
    for i in range(n_members):
        picks = rng.choice(len(INTERESTS), size=3, replace=False)
        members.append({
            "member_id": f"m{i:07d}",
            "interests": [INTERESTS[j] for j in picks],
            "needs": [NEEDS[int(rng.integers(len(NEEDS)))]],
            "attributes": {"cohort": str(2018 + int(rng.integers(7)))},
        })
    # Distinct unordered pairs, no self-ties.
    pairs = rng.integers(0, n_members, size=(int(n_ties * 1.1), 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs.sort(axis=1)
    pairs = np.unique(pairs, axis=0)[:n_ties]
    rng.shuffle(pairs)
    return members, pairs


def api_import(base: str, members: list[dict], pairs: np.ndarray) -> tuple[float, float]:
    created = httpx.post(base + "/v1/communities", json={"slug": "via-api", "name": "API"},
                         headers={"Authorization": f"Bearer {ADMIN}"}).json()
    headers = {"Authorization": f"Bearer {created['platform_key']}", "content-type": "application/x-ndjson"}
    member_body = "\n".join(json.dumps(m) for m in members).encode()
    tie_body = "\n".join(f'{{"a":"m{a:07d}","b":"m{b:07d}"}}' for a, b in pairs).encode()
    with httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        response = client.post(base + "/v1/communities/via-api/members/import", content=member_body, headers=headers)
        member_seconds = time.perf_counter() - started
        assert response.status_code == 200, response.text
        started = time.perf_counter()
        response = client.post(base + "/v1/communities/via-api/connections/import", content=tie_body,
                               headers=headers)
        tie_seconds = time.perf_counter() - started
        assert response.status_code == 200, response.text
    return member_seconds, tie_seconds


def raw_copy(url: str, members: list[dict], pairs: np.ndarray) -> tuple[float, float]:
    with psycopg.connect(url) as conn:
        community_id = conn.execute(
            "INSERT INTO communities (slug, name) VALUES ('raw-copy', 'Raw') RETURNING community_id").fetchone()[0]
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy(
            "COPY members (community_id, member_id, interests, needs, attributes) FROM STDIN"
        ) as copy:
            for m in members:
                copy.write_row((community_id, m["member_id"], m["interests"], m["needs"], Jsonb(m["attributes"])))
        conn.commit()
        member_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with conn.cursor().copy("COPY connections (community_id, member_a, member_b, weight) FROM STDIN") as copy:
            for a, b in pairs:
                copy.write_row((community_id, f"m{a:07d}", f"m{b:07d}", 1.0))
        conn.commit()
        tie_seconds = time.perf_counter() - started
    return member_seconds, tie_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    args = parser.parse_args()

    members, pairs = synthetic_rows(args.members, args.ties)
    with database_and_service() as (url, base):
        raw_members, raw_ties = raw_copy(url, members, pairs)
        api_members, api_ties = api_import(base, members, pairs)

    rows = [
        ("members", len(members), api_members, raw_members),
        ("connections", len(pairs), api_ties, raw_ties),
    ]
    print(f"{'rows':<12} {'count':>10} {'API rows/s':>12} {'raw COPY rows/s':>16} {'API / COPY':>11}")
    for name, count, api_s, raw_s in rows:
        print(f"{name:<12} {count:>10,} {count / api_s:>12,.0f} {count / raw_s:>16,.0f} {raw_s / api_s:>10.0%}")
    print("target: API import at 50% or more of the raw COPY rate")


if __name__ == "__main__":
    main()
