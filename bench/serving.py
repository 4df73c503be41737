"""Serving at scale: latency, throughput, memory and freshness of suggestions, beside their baselines.

Starts ``belonging serve --workers 2`` on an embedded PostgreSQL (or ``DATABASE_URL``), loads the
seeded synthetic community (default 100k members, 1M ties) with COPY, then measures from outside:

* the index build (the first suggestion request waits for it) and the size of its files;
* p50/p99 of sequential suggestion requests for random members against ``/healthz`` on the same
  server (target: suggestions p50 at most 3x healthz);
* requests per second under ``wrk`` (16 connections, random members, the two workers) against
  ``/healthz`` the same way (target: at least 30%);
* memory of all service processes above their idle memory, as proportional set size (shared
  mapped pages counted once across processes; target: at most 250 MB at 1M ties);
* write-to-suggestion freshness: a member is created with one tie and asks at once; the time
  from the first write to suggestions naming their friend's ties (target: p99 at most 1 s).

    .venv/bin/python bench/serving.py [--quick] [--members N --ties M]

``--quick`` runs 10k members / 100k ties. Needs ``wrk`` on the PATH (Debian: ``apt-get install wrk``).
Background jobs are off for the run (``BELONGING_RUN_WORKER=false``): reports, including the
daily snapshot, still load their own copy of the community and are not measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN, Service, service  # noqa: E402
from suggestion_http import load, percentiles  # noqa: E402

# What the issue measured before this design, from outside, at 100k members / 1M ties, one process.
BASELINE = {
    "ratio": 9.8, "suggest_p50": 10.5, "health_p50": 1.07, "rps": 149, "health_rps": 3431,
    "memory": 814, "freshness": 15.0,
}

WRK_SCRIPT = """
local first = true
request = function()
  if first then math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000) first = false end
  local id = string.format("m%07d", math.random(0, MEMBERS - 1))
  return wrk.format("GET", "/v1/communities/synthetic/members/" .. id .. "/suggestions",
                    {["Authorization"] = "Bearer KEY"})
end
"""


def service_processes(running: Service) -> list[psutil.Process]:
    """The server and its workers; index builds (short-lived processes the workers fork) are left out."""
    root = psutil.Process(running.process.pid)
    return [root, *root.children()]


def memory_mb(running: Service, label: str) -> tuple[float, float]:
    """(proportional set size, resident set size) of all service processes, in MB; prints each."""
    pss = rss = 0
    each = []
    for process in service_processes(running):
        info = process.memory_full_info()
        pss += info.pss
        rss += info.rss
        each.append(f"{process.pid}: {info.pss / 1e6:.0f}")
    print(f"memory {label} (PSS MB per process): {', '.join(each)}", file=sys.stderr)
    return pss / 1e6, rss / 1e6


def wrk(base: str, path_or_script: str, seconds: int) -> tuple[float, int]:
    """Requests per second and non-2xx answers under 16 connections on 2 threads."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
    if path_or_script.endswith(".lua"):
        command += ["-s", path_or_script, base]
    else:
        command.append(base + path_or_script)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(errors[1]) if errors else 0


def touch_every_worker(running: Service, path: str, headers: dict[str, str], workers: int) -> None:
    """Send ``path`` on fresh connections until every worker has answered it (the kernel spreads them)."""
    pids: set[int] = set()
    for _ in range(400):
        with httpx.Client(base_url=running.base_url, timeout=600) as client:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            for process in service_processes(running)[1:]:
                if any(c.raddr and c.raddr.port == port for c in process.net_connections(kind="tcp")):
                    pids.add(process.pid)
        if len(pids) == workers:
            return
    raise SystemExit("the workers did not all answer")


def build_folder(running: Service) -> Path:
    (folder,) = [p for p in (running.data_dir / "indexes").glob("*/r*") if p.is_dir()]
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k members, 100k ties, shorter runs")
    parser.add_argument("--members", type=int)
    parser.add_argument("--ties", type=int)
    parser.add_argument("--requests", type=int)
    parser.add_argument("--seconds", type=int, help="of each wrk run")
    parser.add_argument("--newcomers", type=int, help="members created for the freshness measure")
    args = parser.parse_args()
    members = args.members or (10_000 if args.quick else 100_000)
    ties = args.ties or (100_000 if args.quick else 1_000_000)
    requests = args.requests or (200 if args.quick else 500)
    seconds = args.seconds or (5 if args.quick else 15)
    newcomers = args.newcomers or (30 if args.quick else 100)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not on the PATH (Debian: apt-get install wrk)")
    workers = 2

    # No rate limit (wrk sends thousands a second with one key), and no background jobs: the daily
    # silo snapshot of the new community would load the community into the leader worker the
    # way every report still does (its own in-process copy, about 800 MB at 1M ties), which is
    # not what serving suggestions costs.
    env = {"BELONGING_RATE_LIMIT_PER_MINUTE": "0", "BELONGING_RUN_WORKER": "false"}
    with service(args=("--workers", str(workers)), env=env) as running:
        base = running.base_url
        touch_every_worker(running, "/healthz", {}, workers)
        idle_pss, idle_rss = memory_mb(running, "idle")
        keys = httpx.post(base + "/v1/communities", json={"slug": "synthetic", "name": "Synthetic"},
                          headers={"Authorization": f"Bearer {ADMIN}"}).json()
        asyncio.run(load(running.database_url, "synthetic", members, ties))
        headers = {"Authorization": f"Bearer {keys['platform_key']}"}
        path = "/v1/communities/synthetic/members/{}/suggestions"
        rng = np.random.default_rng(2)
        sample = [f"m{int(i):07d}" for i in rng.integers(0, members, size=requests)]

        with httpx.Client(base_url=base, timeout=600) as client:
            started = time.perf_counter()
            first = client.get(path.format(sample[0]), headers=headers)
            build_seconds = time.perf_counter() - started
            assert first.status_code == 200, first.text
        folder = build_folder(running)
        build_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        touch_every_worker(running, path.format(sample[1]), headers, workers)
        # Statistics of the suggestions table, as autovacuum keeps them once it has rows to count.
        with httpx.Client(base_url=base, timeout=600) as client:
            for member_id in sample[: min(200, len(sample))]:
                assert client.get(path.format(member_id), headers=headers).status_code == 200
        with psycopg.connect(running.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE suggestions")

        suggestion_times, health_times = [], []
        with httpx.Client(base_url=base, timeout=600) as client:
            for member_id in sample:
                started = time.perf_counter()
                response = client.get(path.format(member_id), headers=headers)
                suggestion_times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                started = time.perf_counter()
                client.get("/healthz")
                health_times.append(time.perf_counter() - started)

        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "suggestions.lua"
            script.write_text(WRK_SCRIPT.replace("MEMBERS", str(members)).replace("KEY", keys["platform_key"]))
            rps, failed = wrk(base, str(script), seconds)
        health_rps, health_failed = wrk(base, "/healthz", seconds)
        serving_pss, serving_rss = memory_mb(running, "serving")

        fresh_times, served_from_friend = [], 0
        with httpx.Client(base_url=base, timeout=600) as client:
            for k in range(newcomers):
                newcomer = f"new{k:05d}"
                friend = f"m{int(rng.integers(0, members)):07d}"
                started = time.perf_counter()
                assert client.put(f"/v1/communities/synthetic/members/{newcomer}", json={},
                                  headers=headers).status_code == 201
                assert client.put("/v1/communities/synthetic/connections", json={"a": newcomer, "b": friend},
                                  headers=headers).status_code == 201
                response = client.get(path.format(newcomer), headers=headers)
                fresh_times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                served_from_friend += any(r["kind"] == "mutual_connections" for s in response.json()["suggestions"]
                                          for r in s["reasons"])
        rebuilt = [p.name for p in (running.data_dir / "indexes").glob("*/r*")] != [folder.name]

    s50, s99 = percentiles(suggestion_times)
    h50, h99 = percentiles(health_times)
    f50, f99 = percentiles(fresh_times)
    above = serving_pss - idle_pss
    b = BASELINE
    baseline_share = 100 * b["rps"] / b["health_rps"]
    table = [
        ("index build (first request waits), s", f"{build_seconds:.1f}", "-", "-"),
        ("index files, MB", f"{build_mb:.1f}", "-", "-"),
        ("suggestions p50 / p99, ms", f"{s50:.2f} / {s99:.2f}", f"{b['suggest_p50']}", "-"),
        ("/healthz p50 / p99, ms", f"{h50:.2f} / {h99:.2f}", f"{b['health_p50']}", "-"),
        ("suggestions p50 / healthz p50", f"{s50 / h50:.1f}x", f"{b['ratio']}x", "<= 3x"),
        ("suggestions, requests/s (wrk, 16 conns)", f"{rps:.0f}", f"{b['rps']}", "-"),
        ("/healthz, requests/s (wrk, 16 conns)", f"{health_rps:.0f}", f"{b['health_rps']}", "-"),
        ("suggestions / healthz throughput", f"{100 * rps / health_rps:.0f}%", f"{baseline_share:.0f}%", ">= 30%"),
        ("non-2xx under wrk (suggestions / healthz)", f"{failed} / {health_failed}", "-", "0"),
        ("service memory idle, MB (PSS / RSS)", f"{idle_pss:.0f} / {idle_rss:.0f}", "187 (RSS)", "-"),
        ("service memory above idle, MB (PSS)", f"{above:.0f}", f"{b['memory']}", "<= 250"),
        ("  RSS above idle (shared pages per process)", f"{serving_rss - idle_rss:.0f}", "-", "-"),
        ("new member: write to suggestions p50 / p99, s", f"{f50 / 1000:.3f} / {f99 / 1000:.3f}",
         f"{b['freshness']}", "<= 1 s"),
        ("  newcomers shown their friend's ties", f"{served_from_friend}/{newcomers}", "-", "-"),
        ("  index rebuilt meanwhile", str(rebuilt), "-", "-"),
    ]
    print(f"community: {members:,} members, {ties:,} ties; {workers} workers")
    print(f"{'measure':<46} {'now':>15} {'baseline':>10} {'target':>8}")
    for name, now, before, target in table:
        print(f"{name:<46} {now:>15} {before:>10} {target:>8}")

if __name__ == "__main__":
    main()
