"""Serving at scale: latency, throughput, memory and freshness of suggestions, beside their baselines.

Starts ``belonging serve --workers 2`` on an embedded PostgreSQL (or ``DATABASE_URL``), loads the
seeded synthetic community (default 100k members, 1M ties) with COPY, then measures from outside:

* the index build (the first suggestion request waits for it) and the size of its files;
* p50/p99 of sequential suggestion requests for random members against ``/healthz`` on the same
  server (target: suggestions p50 at most 3x healthz);
* requests per second under ``wrk`` (16 connections, random members, the two workers) against
  ``/healthz`` the same way (target: at least 30%), and against ``/readyz``, which runs one
  statement on a pooled connection: the floor of any route that reaches the database once; with
  the CPU milliseconds each request cost the service's processes and the embedded PostgreSQL;
* memory of all service processes above their idle memory, as proportional set size (shared
  mapped pages counted once across processes; target: at most 250 MB at 1M ties);
* write-to-suggestion freshness: a member is created with one tie and asks at once; the time
  from the first write to suggestions naming their friend's ties (target: p99 at most 1 s);
* the organiser's silo report over HTTP (the build stores it), and then, in this process, the
  silo report as the service computes it beside a networkx pipeline doing the same work on the
  same community (``bench/report_speed.py``; target at least 10x; ``--no-networkx`` skips it).

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
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ADMIN, Service, service  # noqa: E402
from report_speed import Timings, belonging_ratings, networkx_pipeline  # noqa: E402
from suggestion_http import load, percentiles  # noqa: E402
from synthetic import synthetic_community  # noqa: E402

from belonging.graph import CommunityGraph, default_betweenness_pivots, silo_report  # noqa: E402

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


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second, non-2xx answers, and CPU milliseconds per request spent by
    the service's processes and by PostgreSQL's (None when the database is not the embedded one)."""

    rate: float
    failed: int
    service_ms: float
    database_ms: float | None


def database_processes(running: Service) -> list[psutil.Process]:
    """The embedded PostgreSQL's processes (found by its data folder), or none for ``DATABASE_URL``."""
    host = running.database_url.split("host=")[-1] if "host=" in running.database_url else None
    if host is None:
        return []
    found = [p for p in psutil.process_iter(["name", "cmdline"])
             if p.info["name"] == "postgres" and host.removesuffix("/") in " ".join(p.info["cmdline"] or [])]
    return found + [child for p in found for child in p.children()]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def wrk(running: Service, path_or_script: str, seconds: int) -> Load:
    """wrk with 16 connections on 2 threads, and the CPU each request cost the service and the database."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
    if path_or_script.endswith(".lua"):
        command += ["-s", path_or_script, running.base_url]
    else:
        command.append(running.base_url + path_or_script)
    # Database backends come and go with connections: list them after the run as well as before.
    service, database = service_processes(running), database_processes(running)
    service_before, database_before = cpu_seconds(service), {p.pid: cpu_seconds([p]) for p in database}
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    service_after = cpu_seconds(service)
    database_spent = sum(cpu_seconds([p]) - database_before.get(p.pid, 0.0) for p in database_processes(running))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    count = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Load(rate, int(errors[1]) if errors else 0, 1000 * (service_after - service_before) / count,
                1000 * database_spent / count if database else None)


@dataclass(frozen=True)
class ReportTimes:
    """The silo report as the service computes it, and the networkx pipeline doing the same work,
    on the same community: wall-clock and CPU seconds of each."""

    ours: float
    ours_cpu: float
    networkx: float
    networkx_cpu: float


def report_beside_networkx(members: int, ties: int) -> ReportTimes:
    """Build the benched community again (same generator, same seed) and time both in this process."""
    graph = synthetic_community(members, ties, seed=0).graph
    ratings = belonging_ratings(graph, 0)
    fresh = CommunityGraph(graph.member_ids, graph.adjacency, graph.attributes)
    started, started_cpu = time.perf_counter(), time.process_time()
    # As service/reports.compute calls it: every attribute, groups under k pooled, ratings too.
    silo_report(fresh, sorted(fresh.attributes), min_group_size=5, include_members=False,
                belonging_scores=ratings, seed=0)
    ours, ours_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    del fresh
    timings = Timings()
    pivots = default_betweenness_pivots(graph.number_of_members, graph.number_of_ties)
    started, started_cpu = time.perf_counter(), time.process_time()
    networkx_pipeline(graph, pivots, 0, timings)
    return ReportTimes(ours, ours_cpu, time.perf_counter() - started, time.process_time() - started_cpu)


def cpu_per_request(load: Load) -> str:
    database = "-" if load.database_ms is None else f"{load.database_ms:.2f}"
    return f"{load.service_ms:.2f} / {database}"


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
    parser.add_argument("--no-networkx", action="store_true",
                        help="skip the networkx pipeline beside the silo report (minutes at full size)")
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
        # The build process goes on to store the dashboard's first view beside the index.
        while not (folder / "dashboard.json").exists():
            time.sleep(0.1)
        report_stored_seconds = time.perf_counter() - started
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
            suggesting = wrk(running, str(script), seconds)
        health = wrk(running, "/healthz", seconds)
        # The floor of any route that runs one statement on a pooled connection and answers.
        ready = wrk(running, "/readyz", seconds)
        serving_pss, serving_rss = memory_mb(running, "serving")

        # The organiser's silo report from outside, before any write: the build holds it.
        organiser = {"Authorization": f"Bearer {keys['organiser_key']}"}
        with httpx.Client(base_url=base, timeout=600) as client:
            started = time.perf_counter()
            report = client.get("/v1/communities/synthetic/reports/silos", headers=organiser)
            report_seconds = time.perf_counter() - started
        report_answer = f"{report_seconds:.2f}" if report.status_code == 200 else f"HTTP {report.status_code}"

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

    compared = None if args.no_networkx else report_beside_networkx(members, ties)

    s50, s99 = percentiles(suggestion_times)
    h50, h99 = percentiles(health_times)
    f50, f99 = percentiles(fresh_times)
    above = serving_pss - idle_pss
    b = BASELINE
    baseline_share = 100 * b["rps"] / b["health_rps"]
    table = [
        ("index build (first request waits), s", f"{build_seconds:.1f}", "-", "-"),
        ("  dashboard report stored with it, s", f"{report_stored_seconds:.1f}", "-", "-"),
        ("index files, MB", f"{build_mb:.1f}", "-", "-"),
        ("suggestions p50 / p99, ms", f"{s50:.2f} / {s99:.2f}", f"{b['suggest_p50']}", "-"),
        ("/healthz p50 / p99, ms", f"{h50:.2f} / {h99:.2f}", f"{b['health_p50']}", "-"),
        ("suggestions p50 / healthz p50", f"{s50 / h50:.1f}x", f"{b['ratio']}x", "<= 3x"),
        ("suggestions, requests/s (wrk, 16 conns)", f"{suggesting.rate:.0f}", f"{b['rps']}", "-"),
        ("/healthz, requests/s (wrk, 16 conns)", f"{health.rate:.0f}", f"{b['health_rps']}", "-"),
        ("suggestions / healthz throughput", f"{100 * suggesting.rate / health.rate:.0f}%", f"{baseline_share:.0f}%",
         ">= 30%"),
        ("/readyz (one statement), requests/s", f"{ready.rate:.0f}", "-", "-"),
        ("  /readyz / healthz throughput", f"{100 * ready.rate / health.rate:.0f}%", "-", "-"),
        ("  suggestions / readyz throughput", f"{100 * suggesting.rate / ready.rate:.0f}%", "-", "-"),
        ("CPU per request, service / database, ms", "", "", ""),
        ("  suggestions", cpu_per_request(suggesting), "-", "-"),
        ("  /healthz", cpu_per_request(health), "-", "-"),
        ("  /readyz", cpu_per_request(ready), "-", "-"),
        ("non-2xx under wrk (suggestions / healthz)", f"{suggesting.failed} / {health.failed}", "-", "0"),
        ("service memory idle, MB (PSS / RSS)", f"{idle_pss:.0f} / {idle_rss:.0f}", "187 (RSS)", "-"),
        ("service memory above idle, MB (PSS)", f"{above:.0f}", f"{b['memory']}", "<= 250"),
        ("  RSS above idle (shared pages per process)", f"{serving_rss - idle_rss:.0f}", "-", "-"),
        ("new member: write to suggestions p50 / p99, s", f"{f50 / 1000:.3f} / {f99 / 1000:.3f}",
         f"{b['freshness']}", "<= 1 s"),
        ("  newcomers shown their friend's ties", f"{served_from_friend}/{newcomers}", "-", "-"),
        ("  index rebuilt meanwhile", str(rebuilt), "-", "-"),
        ("silo report over HTTP (stored with the build), s", report_answer, "-", "-"),
    ]
    if compared is not None:
        table += [
            ("silo report in process, wall / CPU s", f"{compared.ours:.1f} / {compared.ours_cpu:.1f}", "-", "-"),
            ("networkx pipeline, same work, wall / CPU s", f"{compared.networkx:.1f} / {compared.networkx_cpu:.1f}",
             "-", "-"),
            ("  networkx / ours (wall; CPU)",
             f"{compared.networkx / compared.ours:.0f}x; {compared.networkx_cpu / compared.ours_cpu:.0f}x",
             "8.1x", ">= 10x"),
        ]
    print(f"community: {members:,} members, {ties:,} ties; {workers} workers")
    print(f"{'measure':<46} {'now':>15} {'baseline':>10} {'target':>8}")
    for name, now, before, target in table:
        print(f"{name:<46} {now:>15} {before:>10} {target:>8}")

if __name__ == "__main__":
    main()
