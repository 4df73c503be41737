"""Silo reports on real communities with known groups, with networkx's numbers beside ours.

Data sets (read from the shared data folder, never copied into the project):

- email_eu_core: e-mail ties in a research institution, attribute ``department``;
- lazega_lawyers: a law firm's advice, friendship and co-work ties (one row each), attributes
  ``office`` and ``practice``;
- facebook100 Caltech36: student friendships, attributes ``dorm`` and ``year`` (0 = missing);
- newman_classic_labelled polblogs: political blogs, attribute ``side`` (liberal/conservative).

Directed data become undirected simple graphs (a tie where either side named the other;
self-ties dropped). For each data set: members, ties, modularity and number of communities
(Leiden here, networkx's Louvain beside), and per attribute the assortativity (ours and
networkx's), the E-I index and the NMI between detected communities and the known groups.

    .venv/bin/python bench/report_real.py

The data folder is ``../shared/data`` next to the project, or ``$BELONGING_SHARED_DATA``.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from harness import shared_data
from sklearn.metrics import normalized_mutual_info_score

from belonging.graph import CommunityGraph, silo_report


@dataclass
class DataSet:
    name: str
    graph: CommunityGraph
    attributes: tuple[str, ...]


def undirected(
    member_ids: list[str],
    arcs: list[tuple[str, str]],
    attributes: dict[str, dict[str, str | None]],
) -> CommunityGraph:
    """A simple undirected community from directed arcs: one tie per pair, self-ties dropped."""
    ties = {(min(a, b), max(a, b)) for a, b in arcs if a != b}
    return CommunityGraph.from_edges(member_ids, sorted(ties), attributes)


def email_eu_core(folder: Path) -> list[DataSet]:
    base = folder / "email_eu_core"
    department: dict[str, str | None] = {}
    for line in (base / "email-Eu-core-department-labels.txt").read_text().splitlines():
        if line.strip():
            member, dept = line.split()
            department[member] = dept
    arcs = [
        (a, b)
        for a, b in (line.split() for line in (base / "email-Eu-core.txt").read_text().splitlines())
    ]
    members = sorted(department, key=int)
    graph = undirected(members, arcs, {"department": department})
    return [DataSet("email_eu_core", graph, ("department",))]


def lazega_lawyers(folder: Path) -> list[DataSet]:
    base = folder / "lazega_lawyers"
    with open(base / "lazega_nodes.csv", newline="") as handle:
        nodes = list(csv.DictReader(handle))
    members = [row["id"] for row in nodes]
    attributes = {
        name: {row["id"]: row[name] or None for row in nodes} for name in ("office", "practice")
    }
    with open(base / "lazega_edges.csv", newline="") as handle:
        edges = list(csv.DictReader(handle))
    layers = sorted({row["layer"] for row in edges})
    return [
        DataSet(
            f"lazega_lawyers {layer}",
            undirected(
                members,
                [(row["source"], row["target"]) for row in edges if row["layer"] == layer],
                attributes,
            ),
            ("office", "practice"),
        )
        for layer in layers
    ]


def caltech36(folder: Path) -> list[DataSet]:
    network = nx.read_gml(folder / "facebook100" / "Caltech36.gml")
    members = [str(node) for node in network.nodes]
    attributes = {
        name: {
            str(node): (None if not data.get(name) else str(data[name]))
            for node, data in network.nodes(data=True)
        }
        for name in ("dorm", "year")
    }
    arcs = [(str(a), str(b)) for a, b in network.edges]
    return [DataSet("facebook100 Caltech36", undirected(members, arcs, attributes), ("dorm", "year"))]


def polblogs(folder: Path) -> list[DataSet]:
    text = (folder / "newman_classic_labelled" / "polblogs.gml").read_text()
    # The file repeats some arcs, which read_gml only accepts for a multigraph.
    network = nx.parse_gml(text.replace("directed 1", "directed 1\n  multigraph 1", 1), label="id")
    sides = {0: "liberal", 1: "conservative"}
    members = [str(node) for node in network.nodes]
    side = {str(node): sides.get(data.get("value")) for node, data in network.nodes(data=True)}
    arcs = [(str(a), str(b)) for a, b, _ in network.edges]
    return [DataSet("polblogs", undirected(members, arcs, {"side": side}), ("side",))]


LOADERS: dict[str, Callable[[Path], list[DataSet]]] = {
    "email_eu_core": email_eu_core,
    "lazega_lawyers": lazega_lawyers,
    "facebook100": caltech36,
    "newman_classic_labelled": polblogs,
}


def louvain_nmi(graph: CommunityGraph, partition: list[set[str]], attribute: str) -> float:
    community_of = {member: c for c, members in enumerate(partition) for member in members}
    pairs = [
        (value, community_of[member])
        for member, value in zip(graph.member_ids, graph.attributes[attribute], strict=True)
        if value is not None
    ]
    values, communities = zip(*pairs, strict=True)
    return float(normalized_mutual_info_score(values, communities))


def number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-group-size", type=int, default=5)
    args = parser.parse_args()
    folder = shared_data()
    print(f"data: {folder}")

    summary: list[str] = []
    details: list[str] = []
    for subfolder, load in LOADERS.items():
        if not (folder / subfolder).is_dir():
            summary.append(f"{subfolder:<28} skipped: {folder / subfolder} not found")
            continue
        for data in load(folder):
            started = time.perf_counter()
            report = silo_report(
                data.graph,
                data.attributes,
                min_group_size=args.min_group_size,
                seed=args.seed,
            )
            seconds = time.perf_counter() - started
            network = data.graph.to_networkx()
            partition = nx.community.louvain_communities(network, seed=args.seed)
            louvain_q = nx.community.modularity(network, partition)
            louvain_count = sum(1 for c in partition if len(c) >= 2)
            summary.append(
                f"{data.name:<28}{report['members']:>8,}{report['connections']:>9,}"
                f"{report['components']['count']:>7}{report['isolates']['count']:>6}"
                f"{number(report['communities']['modularity']):>9}{number(louvain_q):>9}"
                f"{report['communities']['count']:>7}{louvain_count:>7}{seconds:>8.2f}"
            )
            for attribute in data.attributes:
                section = report["attributes"][attribute]
                members = [
                    m
                    for m, value in zip(
                        data.graph.member_ids, data.graph.attributes[attribute], strict=True
                    )
                    if value is not None
                ]
                nx_r = nx.attribute_assortativity_coefficient(
                    network.subgraph(members), attribute
                )
                groups = len({v for v in data.graph.attributes[attribute] if v is not None})
                details.append(
                    f"{data.name:<28}{attribute:<12}{groups:>7}{len(section['groups']):>7}"
                    f"{number(section['assortativity']):>8}{number(nx_r):>8}"
                    f"{number(section['ei_index']):>8}{number(section['nmi']):>8}"
                    f"{number(louvain_nmi(data.graph, partition, attribute)):>9}"
                )

    print()
    print(
        f"{'data set':<28}{'members':>8}{'ties':>9}{'comps':>7}{'isol':>6}"
        f"{'Q leiden':>9}{'Q louv':>9}{'#leid':>7}{'#louv':>7}{'report':>8}"
    )
    print("-" * 98)
    print("\n".join(summary))
    print()
    print(
        f"{'data set':<28}{'attribute':<12}{'values':>7}{'shown':>7}{'r':>8}{'nx r':>8}"
        f"{'E-I':>8}{'NMI':>8}{'NMI louv':>9}"
    )
    print("-" * 95)
    print("\n".join(details))
    print()
    print(
        "comps: connected components (isolated members included); isol: isolated members;\n"
        "Q leiden / Q louv: modularity of our Leiden communities / networkx louvain_communities;\n"
        "#leid / #louv: communities of 2+ members; report: silo_report seconds;\n"
        f"values: distinct values; shown: groups in the report (fewer than "
        f"{args.min_group_size} members pooled as 'other');\n"
        "r / nx r: attribute assortativity, ours / networkx (members with a value); E-I: ours;\n"
        "NMI / NMI louv: communities (Leiden / Louvain) against the attribute's values."
    )


if __name__ == "__main__":
    main()
