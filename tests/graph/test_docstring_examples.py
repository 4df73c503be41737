"""The examples in the metric modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "belonging.graph.at_risk",
    "belonging.graph.belonging",
    "belonging.graph.brokers",
    "belonging.graph.clustering",
    "belonging.graph.communities",
    "belonging.graph.components",
    "belonging.graph.mixing",
    "belonging.graph.silo_report",
    "belonging.graph.randomness",
    "belonging.graph.ties",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0
