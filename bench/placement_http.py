"""Placement over HTTP end to end: POST /v1/communities/{slug}/placements on a 10k-member
community with 500 groups, beside the same placement computed in process.

Loads the seeded ``random 10k/500`` instance of ``bench/placement.py`` straight into PostgreSQL
with COPY (members, groups, current group members, and random ties so that members differ in
isolation priority), starts ``belonging serve`` as a separate process, and times sequential
placement requests from the client's side: the first (which also builds the community model)
and the median of the rest. The objective must equal the in-process
:func:`matching.placement.propose_placement` on the same data.

    .venv/bin/python bench/placement_http.py [--members 10000] [--groups 500] [--requests 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN, database_and_service  # noqa: E402
from placement import Instance, random_instance  # noqa: E402

from belonging.matching.groups import SupportGroup  # noqa: E402
from belonging.matching.placement import PlacementOptions, propose_placement  # noqa: E402
from belonging.service.repository.copy import copy_rows  # noqa: E402

SLUG = "placement-bench"


def with_ties(instance: Instance, n_ties: int, seed: int) -> tuple[Instance, list[tuple[str, str]]]:
    """The instance with group ids as UUIDs and random ties, its degrees counted from them."""
    rng = np.random.default_rng(seed)
    n = len(instance.members)
    pairs = {tuple(sorted((f"m{a}", f"m{b}"))) for a, b in rng.integers(0, n, size=(n_ties, 2)) if a != b}
    ties = sorted(pairs)
    degrees: dict[str, int] = {}
    for a, b in ties:
        degrees[a] = degrees.get(a, 0) + 1
        degrees[b] = degrees.get(b, 0) + 1
    groups = [
        SupportGroup(str(uuid.UUID(int=k + 1)), g.name, g.topics, g.capacity, g.format, g.language,
                     g.member_ids, g.status)
        for k, g in enumerate(instance.groups)
    ]
    return Instance(instance.name, instance.members, groups, instance.blocks, degrees), ties


async def load(url: str, instance: Instance, ties: list[tuple[str, str]]) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT community_id FROM communities WHERE slug = %s", (SLUG,))
        community_id = (await cur.fetchone())[0]
        await copy_rows(conn, "COPY members (community_id, member_id, display_name, interests, needs, offers,"
                        " private_needs, attributes, formats, languages, open_to_suggestions, belonging_score)"
                        " FROM STDIN",
                        ((community_id, m.member_id, None, list(m.interests), list(m.needs), [],
                          list(m.private_needs), m.attributes, list(m.formats), list(m.languages), True, None)
                         for m in instance.members))
        await copy_rows(conn, "COPY connections (community_id, member_a, member_b, weight, kind) FROM STDIN",
                        ((community_id, a, b, 1.0, None) for a, b in ties))
        await copy_rows(conn, "COPY support_groups (community_id, group_id, name, topics, capacity, format,"
                        " language, status) FROM STDIN",
                        ((community_id, g.group_id, g.name, list(g.topics), g.capacity, g.format, g.language,
                          g.status) for g in instance.groups))
        await copy_rows(conn, "COPY group_memberships (community_id, group_id, member_id) FROM STDIN",
                        ((community_id, g.group_id, m) for g in instance.groups for m in g.member_ids))
        await conn.execute("UPDATE community_revisions SET revision = revision + 1 WHERE community_id = %s",
                           (community_id,))
        await conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    instance, ties = with_ties(random_instance(args.members, args.groups, 1), args.members * 2, seed=7)
    body = {"spread_attribute": "cohort", "time_limit_s": 120}
    options = PlacementOptions(spread_attribute="cohort", time_limit_s=120)

    started = time.perf_counter()
    local = propose_placement(instance.members, instance.groups, blocks=instance.blocks,
                              degrees=instance.degrees, options=options)
    local_seconds = time.perf_counter() - started

    with database_and_service() as (url, base):
        keys = httpx.post(base + "/v1/communities", json={"slug": SLUG, "name": "Placement bench"},
                          headers={"Authorization": f"Bearer {ADMIN}"}).json()
        asyncio.run(load(url, instance, ties))
        headers = {"Authorization": f"Bearer {keys['organiser_key']}"}
        times, objectives = [], set()
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.post(f"/v1/communities/{SLUG}/placements", json=body, headers=headers)
                times.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
                result = response.json()
                objectives.add(result["objective"])

    same = objectives == {round(local.objective, 4)}
    print(f"{instance.name}: {len(local.assignments)} placed, objective {local.objective:.4f},"
          f" in process {local_seconds:.2f} s ({local.solver.method}/{local.solver.status})")
    print(f"POST .../placements: first {times[0]:.2f} s (builds the community model),"
          f" median of the rest {statistics.median(times[1:] or times):.2f} s"
          f" over {max(len(times) - 1, 1)}; all {', '.join(f'{t:.2f}' for t in times)}")
    print(f"HTTP objective {'equals' if same else 'DIFFERS from'} the in-process one: {sorted(objectives)}")


if __name__ == "__main__":
    main()
