"""Silo report speed: the graph/ metric layer against the same metrics in pure networkx.

Builds the synthetic community (100k members and 1M ties by default), times each metric with
graph/ and with networkx in the same run, checks that the numbers agree, and measures resident
memory. Betweenness uses the same pivots (``k`` and ``seed``) on both sides, so it must match
exactly; communities come from different algorithms (Leiden here, Louvain in networkx), so only
their modularity is compared. The whole report is also timed end to end as the service calls it
(``belonging.service.reports.compute``: every attribute, k = 5 and the members' belonging
ratings, here seeded ratings from 1 to 5 for about 60% of members); that time against the whole
networkx pipeline is the headline ratio.

    .venv/bin/python bench/report_speed.py                       # full size, several minutes
    .venv/bin/python bench/report_speed.py --members 5000 --ties 40000
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import psutil
from synthetic import synthetic_community

from belonging.graph import (
    CommunityGraph,
    articulation_points,
    as_igraph,
    attribute_assortativity,
    attribute_mixing_matrix,
    average_clustering,
    betweenness_centrality,
    bridges,
    component_sizes,
    default_betweenness_pivots,
    density,
    isolates,
    keep_igraph,
    leiden_communities,
    modularity,
    silo_report,
)

ATTRIBUTES = ("neighbourhood", "cohort")
TOLERANCE = 1e-6


class PeakMemory:
    """Samples this process's resident memory in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.02) -> None:
        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


@dataclass
class Row:
    metric: str
    ours: float = 0.0
    networkx: float = 0.0
    ours_cpu: float = 0.0
    networkx_cpu: float = 0.0
    match: str = ""


@dataclass
class Timings:
    rows: dict[str, Row] = field(default_factory=dict)

    @contextmanager
    def time(self, metric: str, side: str) -> Iterator[None]:
        row = self.rows.setdefault(metric, Row(metric))
        started, started_cpu = time.perf_counter(), time.process_time()
        yield
        setattr(row, side, getattr(row, side) + time.perf_counter() - started)
        cpu = f"{side}_cpu"
        setattr(row, cpu, getattr(row, cpu) + time.process_time() - started_cpu)

    def run(self, metric: str, side: str, compute: Callable[[], Any]) -> Any:
        with self.time(metric, side):
            return compute()

    def check(self, metric: str, verdict: str) -> None:
        self.rows[metric].match = verdict


def same(ok: bool, detail: str = "") -> str:
    return ("yes" if ok else "NO") + (f" ({detail})" if detail else "")


def ours_pipeline(graph: CommunityGraph, pivots: int | None, seed: int, t: Timings) -> dict:
    """Each metric with graph/; run inside ``keep_igraph`` so the igraph view is built once."""
    results: dict[str, Any] = {}
    t.run("graph view", "ours", lambda: as_igraph(graph))
    results["components"] = t.run("components", "ours", lambda: component_sizes(graph).tolist())
    results["density"] = t.run("density", "ours", lambda: density(graph))
    results["isolates"] = t.run("isolates", "ours", lambda: isolates(graph))
    results["clustering"] = t.run("average clustering", "ours", lambda: average_clustering(graph))
    with t.time("communities + modularity", "ours"):
        membership = leiden_communities(graph, seed=seed)
        results["modularity"] = modularity(graph, membership)
        results["communities"] = int(np.count_nonzero(np.bincount(membership) >= 2))
    for name in ATTRIBUTES:
        results[f"assortativity {name}"] = t.run(
            f"assortativity {name}", "ours", lambda name=name: attribute_assortativity(graph, name)
        )
        values = sorted({v for v in graph.attributes[name] if v is not None})
        results[f"mixing {name}"] = t.run(
            f"mixing matrix {name}",
            "ours",
            lambda name=name, values=values: attribute_mixing_matrix(
                graph, name, values=values, normalized=False
            ),
        )
    results["articulation"] = t.run(
        "articulation points", "ours", lambda: set(articulation_points(graph))
    )
    results["bridges"] = t.run(
        "bridges", "ours", lambda: {frozenset(tie) for tie in bridges(graph)}
    )
    results["betweenness"] = t.run(
        "betweenness", "ours", lambda: betweenness_centrality(graph, k=pivots, seed=seed)
    )
    return results


def networkx_pipeline(graph: CommunityGraph, pivots: int | None, seed: int, t: Timings) -> dict:
    results: dict[str, Any] = {}
    network = t.run("graph view", "networkx", graph.to_networkx)
    results["components"] = t.run(
        "components",
        "networkx",
        lambda: sorted((len(c) for c in nx.connected_components(network)), reverse=True),
    )
    results["density"] = t.run("density", "networkx", lambda: nx.density(network))
    results["isolates"] = t.run("isolates", "networkx", lambda: list(nx.isolates(network)))
    results["clustering"] = t.run(
        "average clustering", "networkx", lambda: nx.average_clustering(network)
    )
    with t.time("communities + modularity", "networkx"):
        partition = nx.community.louvain_communities(network, seed=seed)
        results["modularity"] = nx.community.modularity(network, partition)
        results["communities"] = sum(1 for c in partition if len(c) >= 2)
    for name in ATTRIBUTES:
        with_value = network.subgraph(
            [m for m, value in zip(graph.member_ids, graph.attributes[name], strict=True) if value]
        )
        results[f"assortativity {name}"] = t.run(
            f"assortativity {name}",
            "networkx",
            lambda name=name, sub=with_value: nx.attribute_assortativity_coefficient(sub, name),
        )
        values = sorted({v for v in graph.attributes[name] if v is not None})
        mapping = {value: i for i, value in enumerate(values)}
        results[f"mixing {name}"] = t.run(
            f"mixing matrix {name}",
            "networkx",
            lambda name=name, sub=with_value, mapping=mapping: nx.attribute_mixing_matrix(
                sub, name, mapping=mapping, normalized=False
            ),
        )
    results["articulation"] = t.run(
        "articulation points", "networkx", lambda: set(nx.articulation_points(network))
    )
    results["bridges"] = t.run(
        "bridges", "networkx", lambda: {frozenset(tie) for tie in nx.bridges(network)}
    )
    betweenness = t.run(
        "betweenness",
        "networkx",
        lambda: nx.betweenness_centrality(network, k=pivots, seed=seed),
    )
    results["betweenness"] = np.array([betweenness[m] for m in graph.member_ids])
    return results


def compare(ours: dict, theirs: dict, t: Timings) -> None:
    t.check("components", same(ours["components"] == theirs["components"]))
    t.check("density", same(abs(ours["density"] - theirs["density"]) <= TOLERANCE))
    t.check("isolates", same(ours["isolates"] == theirs["isolates"]))
    t.check(
        "average clustering", same(abs(ours["clustering"] - theirs["clustering"]) <= TOLERANCE)
    )
    q, q_nx = ours["modularity"], theirs["modularity"]
    t.check(
        "communities + modularity",
        f"{'close' if q >= q_nx - 0.01 else 'LOWER'} (Q {q:.4f} vs {q_nx:.4f}; "
        f"{ours['communities']} vs {theirs['communities']} communities)",
    )
    for name in ATTRIBUTES:
        r, r_nx = ours[f"assortativity {name}"], theirs[f"assortativity {name}"]
        t.check(f"assortativity {name}", same(abs(r - r_nx) <= TOLERANCE, f"{r:.4f}"))
        t.check(
            f"mixing matrix {name}",
            same(np.allclose(ours[f"mixing {name}"], theirs[f"mixing {name}"], atol=TOLERANCE)),
        )
    t.check("articulation points", same(ours["articulation"] == theirs["articulation"]))
    t.check("bridges", same(ours["bridges"] == theirs["bridges"]))
    gap = float(np.abs(ours["betweenness"] - theirs["betweenness"]).max())
    t.check("betweenness", same(gap <= TOLERANCE, f"max diff {gap:.1e}"))


def belonging_ratings(graph: CommunityGraph, seed: int) -> dict[str, int | None]:
    """Seeded self-ratings from 1 to 5 for about 60% of members, None for the others."""
    rng = np.random.default_rng(seed)
    rated = rng.random(graph.number_of_members) < 0.6
    values = rng.integers(1, 6, size=graph.number_of_members)
    return {
        member_id: (int(value) if is_rated else None)
        for member_id, value, is_rated in zip(
            graph.member_ids, values.tolist(), rated.tolist(), strict=True
        )
    }


def megabytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ties", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pivots", type=int, default=None, help="betweenness pivots (default: as silo_report)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    community = synthetic_community(args.members, args.ties, seed=args.seed)
    graph = community.graph
    built = time.perf_counter() - started
    pivots = args.pivots
    if pivots is None:
        pivots = default_betweenness_pivots(graph.number_of_members, graph.number_of_ties)
    print(
        f"synthetic community: {graph.number_of_members:,} members, "
        f"{graph.number_of_ties:,} ties, built in {built:.1f} s; "
        f"betweenness {'exact' if pivots is None else f'from {pivots} pivots'}, seed {args.seed}"
    )

    process = psutil.Process()
    gc.collect()
    baseline = process.memory_info().rss

    # End to end on a fresh graph object, so that the igraph view is built inside the report.
    fresh = CommunityGraph(graph.member_ids, graph.adjacency, graph.attributes)
    with PeakMemory() as report_memory:
        started = time.perf_counter()
        silo_report(fresh, ATTRIBUTES, seed=args.seed, betweenness_pivots=pivots)
        report_seconds = time.perf_counter() - started
    del fresh
    gc.collect()

    # As the service calls it (service/reports.py, ``compute``), again on a fresh graph object.
    ratings = belonging_ratings(graph, args.seed)
    fresh = CommunityGraph(graph.member_ids, graph.adjacency, graph.attributes)
    started, started_cpu = time.perf_counter(), time.process_time()
    silo_report(
        fresh,
        sorted(fresh.attributes),
        min_group_size=5,
        include_members=False,
        belonging_scores=ratings,
        seed=args.seed,
        betweenness_pivots=args.pivots,
    )
    service_seconds = time.perf_counter() - started
    service_cpu = time.process_time() - started_cpu
    del fresh
    gc.collect()

    timings = Timings()
    with PeakMemory() as ours_memory, keep_igraph(graph):
        ours = ours_pipeline(graph, pivots, args.seed, timings)
    gc.collect()
    with PeakMemory() as networkx_memory:
        theirs = networkx_pipeline(graph, pivots, args.seed, timings)
    compare(ours, theirs, timings)

    width = max(len(row.metric) for row in timings.rows.values()) + 2
    header = (
        f"{'metric':<{width}}{'graph/ s':>10}{'networkx s':>12}{'ratio':>9}{'CPU ratio':>11}"
        "  numbers match"
    )
    print()
    print(header)
    print("-" * max(len(header), 90))
    total_ours = total_networkx = total_networkx_cpu = 0.0
    for row in timings.rows.values():
        total_ours += row.ours
        total_networkx += row.networkx
        total_networkx_cpu += row.networkx_cpu
        ratio = row.networkx / row.ours if row.ours > 0 else float("inf")
        cpu_ratio = row.networkx_cpu / row.ours_cpu if row.ours_cpu > 0 else float("inf")
        print(
            f"{row.metric:<{width}}{row.ours:>10.3f}{row.networkx:>12.3f}{ratio:>8.0f}x"
            f"{cpu_ratio:>10.0f}x  {row.match or '-'}"
        )
    print("-" * max(len(header), 90))
    print(
        f"{'all metrics':<{width}}{total_ours:>10.3f}{total_networkx:>12.3f}"
        f"{total_networkx / total_ours:>8.0f}x"
    )
    print(
        f"{'silo_report, end to end':<{width}}{report_seconds:>10.3f}{total_networkx:>12.3f}"
        f"{total_networkx / report_seconds:>8.0f}x  (the full report, at-risk members included)"
    )
    print(
        f"{'silo_report, as the service':<{width}}{service_seconds:>10.3f}{total_networkx:>12.3f}"
        f"{total_networkx / service_seconds:>8.0f}x  (every attribute, belonging ratings too)"
    )
    print()
    # On a shared machine the wall clock carries other processes' load; CPU time does not.
    print(
        f"whole silo report, ours vs networkx pipeline: {total_networkx / service_seconds:.1f}x "
        f"({service_seconds:.2f} s against {total_networkx:.1f} s); in CPU time "
        f"{total_networkx_cpu / service_cpu:.1f}x "
        f"({service_cpu:.2f} s against {total_networkx_cpu:.1f} s)"
    )
    print()
    print(f"resident memory before:          {megabytes(baseline)}")
    print(f"peak during silo_report:         {megabytes(report_memory.peak)}")
    print(f"peak during graph/ metrics:      {megabytes(ours_memory.peak)}")
    print(f"peak during networkx metrics:    {megabytes(networkx_memory.peak)}")
    print(
        f"above the baseline: graph/ {megabytes(ours_memory.peak - baseline)}, "
        f"silo_report {megabytes(report_memory.peak - baseline)}, "
        f"networkx {megabytes(networkx_memory.peak - baseline)}"
    )
    target = "met" if total_networkx / service_seconds >= 10 else "NOT met"
    print(f"target (silo_report as the service calls it, 10x faster than networkx): {target}")


if __name__ == "__main__":
    main()
