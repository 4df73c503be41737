"""The benchmark's synthetic community has the shape the benchmarks rely on."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

from belonging.graph import attribute_assortativity, isolates


def load_synthetic() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "synthetic.py"
    spec = importlib.util.spec_from_file_location("bench_synthetic", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_community_has_the_requested_size_and_planted_isolates(
    random_seed: int,
) -> None:
    community = load_synthetic().synthetic_community(5_000, 40_000, seed=random_seed)
    graph = community.graph
    assert (graph.number_of_members, graph.number_of_ties) == (5_000, 40_000)
    assert 0.01 < len(isolates(graph)) / 5_000 < 0.03
    assert len(community.interests) == 5_000
    assert all(1 <= len(tags) <= 8 for tags in community.interests)


def test_synthetic_degrees_are_heavy_tailed_with_many_single_ties(random_seed: int) -> None:
    degrees = load_synthetic().synthetic_community(5_000, 40_000, seed=random_seed).graph.degrees()
    assert degrees.max() > 8 * np.median(degrees)
    assert (degrees == 1).mean() > 0.05


def test_most_ties_stay_inside_silos() -> None:
    community = load_synthetic().synthetic_community(5_000, 40_000, seed=0)
    assert attribute_assortativity(community.graph, "neighbourhood") > 0.5
    assert set(community.graph.attributes) == {"neighbourhood", "cohort"}
