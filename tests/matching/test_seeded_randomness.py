"""Seeded results stay repeatable when an index build and a report run at once in threads."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import numpy as np
import pytest

from belonging.graph.community_graph import CommunityGraph
from belonging.graph.randomness import igraph_seeded
from belonging.graph.silo_report import silo_report
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile

ROUNDS = 12


def _community() -> tuple[CommunityGraph, list[MemberProfile]]:
    """Loosely joined caves: Leiden has real choices to make, so its seed matters."""
    g = nx.relaxed_caveman_graph(30, 8, 0.3, seed=11)
    members = [f"m{i:03d}" for i in g.nodes]
    graph = CommunityGraph.from_edges(members, [(f"m{a:03d}", f"m{b:03d}") for a, b in g.edges])
    return graph, [MemberProfile(member_id=m) for m in members]


def _index_silos(graph: CommunityGraph, profiles: list[MemberProfile]) -> list[int]:
    index = SuggestionIndex.build(graph, profiles, random_state=3)
    return np.asarray(index.silo).tolist()


def _report_communities(graph: CommunityGraph) -> list[int]:
    report = silo_report(graph, include_members=True, seed=5, betweenness_pivots=32)
    return [entry for entry in report["communities"]["members"].values()]


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so unguarded interleavings show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("eager_thread_switching")
def test_index_build_and_report_in_threads_match_running_them_one_after_the_other() -> None:
    graph, profiles = _community()
    silos_alone = _index_silos(graph, profiles)
    communities_alone = _report_communities(graph)

    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = [pool.submit(_index_silos, graph, profiles) for _ in range(ROUNDS)]
        reports = [pool.submit(_report_communities, graph) for _ in range(ROUNDS)]
        assert [future.result() for future in builds] == [silos_alone] * ROUNDS
        assert [future.result() for future in reports] == [communities_alone] * ROUNDS


def test_an_index_build_waits_while_a_report_holds_igraphs_generator() -> None:
    graph, profiles = _community()
    expected = _index_silos(graph, profiles)
    inside, release = threading.Event(), threading.Event()

    def report_holding_the_generator() -> None:
        with igraph_seeded(5):
            inside.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=report_holding_the_generator)
    holder.start()
    try:
        assert inside.wait(timeout=10)
        with ThreadPoolExecutor(max_workers=1) as pool:
            build = pool.submit(_index_silos, graph, profiles)
            time.sleep(0.5)
            assert not build.done(), "the build drew from igraph's generator while a report held it"
            release.set()
            assert build.result(timeout=30) == expected
    finally:
        release.set()
        holder.join()
