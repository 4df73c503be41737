"""Two ``belonging serve`` processes against one cluster: one community, served consistently; jobs run once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg

from tests.conftest import ADMIN, serving


def test_two_replicas_serve_one_community_consistently_and_run_each_job_once(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path / "first") as first, serving(database_url, tmp_path / "second") as second:
        with first.client() as one, second.client() as two:
            created = one.post("/v1/communities", json={"slug": "harbour", "name": "Harbour"}, headers=ADMIN)
            assert created.status_code == 201, created.text
            platform = {"Authorization": f"Bearer {created.json()['platform_key']}"}
            base = "/v1/communities/harbour"
            # A key issued through one replica opens the other; a write through one is read by the other.
            members = "\n".join(json.dumps({"member_id": f"m{k}", "interests": ["chess"]}) for k in range(6))
            imported = two.post(base + "/members/import", content=members.encode(),
                                headers=platform | {"content-type": "application/x-ndjson"})
            assert imported.status_code == 200, imported.text
            assert one.put(base + "/connections", json={"a": "m0", "b": "m1"}, headers=platform).status_code == 201
            ties = two.get(base + "/members/m1/connections", headers=platform).json()["connections"]
            assert [tie["member_id"] for tie in ties] == ["m0"]
            # Both indexes follow the revision: neither suggests the tie just made through the other.
            for client in (one, two):
                suggested = client.get(base + "/members/m0/suggestions", headers=platform)
                assert suggested.status_code == 200, suggested.text
                assert "m1" not in [s["member_id"] for s in suggested.json()["suggestions"]]
            assert one.delete(base + "/members/m5", headers=platform).status_code == 204
            assert two.get(base + "/members/m5", headers=platform).status_code == 404
        # Both replicas run the job worker and the daily scheduler: the community gets exactly one
        # daily snapshot job, run once, whichever replica took it.
        with psycopg.connect(database_url) as conn:
            (cid,) = conn.execute("SELECT community_id FROM communities WHERE slug = 'harbour'").fetchone()
            for _ in range(10):
                conn.execute("INSERT INTO jobs (community_id, kind, run_after) VALUES (%s, 'daily_snapshot', now())",
                             (cid,))
            conn.commit()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                jobs = conn.execute("SELECT status, attempts FROM jobs WHERE community_id = %s", (cid,)).fetchall()
                conn.commit()
                if jobs and all(status == "done" for status, _ in jobs):
                    break
                time.sleep(0.5)
            snapshots = conn.execute("SELECT count(*) FROM report_snapshots WHERE community_id = %s AND kind = 'daily'",
                                     (cid,)).fetchone()
    assert len(jobs) >= 10 and {(status, attempts) for status, attempts in jobs} == {("done", 1)}, jobs
    assert snapshots == (len(jobs),), "every job ran exactly once"
