"""The dashboard's first view, computed by each suggestion index build and stored in its folder.

A build (:mod:`service.index_builds`) already holds the whole community, read in one snapshot,
in a process of its own. Computing there what the dashboard shows (the silo report over every
attribute with each member's community, the network picture, the members at risk with their
suggested ties) costs the build the report's seconds once; after that, a dashboard visit or a
silo report at the build's revision is one file read in the serving process, instead of a read
of the whole community and seconds of CPU on a serving worker.

The document (``dashboard.json``) is written once the build's index is in place, so the first
suggestions of a community never wait for it: under a temporary name, synced, then renamed over
``dashboard.json``, so a reader finds the whole document or none. A build without one (written
by an older version, whose report failed, or whose report is still being computed) serves
suggestions as before, and the dashboard then computes the report itself.

What is stored is what the dashboard already shows organisers: the report (k-safe attribute
groups, member ids of isolates, cut points, brokers and those at risk), display names, and the
suggested ties' reasons as the dashboard words them. Private needs are never in it: the report
has no field for them and suggestion reasons name only public needs (``tests/service/test_privacy.py``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from belonging.service import impact, reports
from belonging.service.dashboard import view
from belonging.service.indexes import CommunityModel
from belonging.service.schemas import CommunitySettings

if TYPE_CHECKING:
    from belonging.service.dashboard.view import DashboardData
    from belonging.service.index_builds import Build

log = logging.getLogger("belonging.stored_reports")

FILE = "dashboard.json"
FORMAT = 1
"""Bumped when the document changes; a document of another format is not used."""


@dataclass(frozen=True)
class Impact:
    """The "Is it working?" figures and weeks of one window, read with the build."""

    since: date
    until: date
    min_group_size: int
    figures: dict[str, Any]
    weeks: list[impact.Week]

    def to_document(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(), "min_group_size": self.min_group_size,
            "figures": {**self.figures, "since": self.since.isoformat(), "until": self.until.isoformat()},
            "weeks": [{"starts": w.starts.isoformat(), "ends": w.ends.isoformat(), "counts": w.counts}
                      for w in self.weeks],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Impact:
        since, until = date.fromisoformat(document["since"]), date.fromisoformat(document["until"])
        return cls(since, until, int(document["min_group_size"]),
                   {**document["figures"], "since": since, "until": until},
                   [impact.Week(date.fromisoformat(w["starts"]), date.fromisoformat(w["ends"]), dict(w["counts"]))
                    for w in document["weeks"]])


@dataclass(frozen=True)
class StoredDashboard:
    """A build's stored dashboard data, and the settings it was computed with."""

    data: DashboardData
    min_group_size: int
    bridging_weight: float
    #: The default window's "Is it working?" figures when the build read them (suggestions shown
    #: and rounds do not move the revision: these are as of the build's time, whatever the revision).
    impact: Impact | None = None

    def fits(self, settings: CommunitySettings) -> bool:
        """Computed with the community's current report settings."""
        return (self.min_group_size == settings.report_min_group_size
                and self.bridging_weight == settings.bridging_weight)


def compute(
    model: CommunityModel, settings: CommunitySettings, read_at: datetime, figures: Impact | None = None
) -> dict[str, Any]:
    """The document for ``model`` (read at ``read_at``), as the dashboard would compute it, with
    the "Is it working?" ``figures`` read beside it, if any."""
    data = view.build(model, reports.attribute_names(model), settings.report_min_group_size,
                      settings.bridging_weight, computed_at=read_at)
    return {
        "format": FORMAT,
        "min_group_size": settings.report_min_group_size,
        "bridging_weight": settings.bridging_weight,
        "dashboard": view.to_document(data),
        "impact": None if figures is None else figures.to_document(),
    }


def write(folder: Path, document: dict[str, Any]) -> int:
    """Put ``document`` in the build ``folder`` whole, or not at all; returns its size in bytes."""
    path = folder / FILE
    partial = folder / f".{FILE}.{os.getpid()}"
    try:
        with partial.open("w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path.stat().st_size


def read(folder: Path) -> StoredDashboard | None:
    """The dashboard data stored in the build ``folder``; None when it has none that fits this version.

    A report not written yet is looked for again on the next call; one found is kept (see
    :func:`_read`). The data is shared by every caller and must not be changed.
    """
    if not (folder / FILE).exists():
        return None  # an older build, a build whose report failed or is still being computed, or a build removed
    return _read(folder)


@functools.lru_cache(maxsize=16)
def _read(folder: Path) -> StoredDashboard | None:
    """Kept for the latest few folders read: a report, once in its folder, never changes."""
    try:
        with (folder / FILE).open(encoding="utf-8") as source:
            document = json.load(source)
    except FileNotFoundError:
        return None  # an older build, a build whose report failed, or a build removed meanwhile
    except (OSError, ValueError):
        log.warning("stored dashboard could not be read", extra={"folder": folder.name})
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None
    try:
        figures = document.get("impact")
        return StoredDashboard(view.from_document(document["dashboard"]), int(document["min_group_size"]),
                               float(document["bridging_weight"]),
                               None if figures is None else Impact.from_document(figures))
    except (KeyError, TypeError, ValueError):
        log.warning("stored dashboard could not be read", extra={"folder": folder.name})
        return None


def at_revision(build: Build | None, revision: int, min_group_size: int) -> StoredDashboard | None:
    """The report stored with ``build`` (a community's newest on this machine) when the build is at
    ``revision`` and its report used ``min_group_size``: then it is the report a request at
    ``revision`` would compute, and other reports of the revision can start from it."""
    if build is None or build.revision != revision:
        return None
    stored = read(build.folder)
    return stored if stored is not None and stored.min_group_size == min_group_size else None


def silo_report(stored: StoredDashboard, attributes: Sequence[str], include_members: bool) -> dict[str, Any]:
    """The silo report over ``attributes`` (a subset of the community's), from the stored one.

    Equal to :func:`service.reports.compute` on the same community: the stored report covers
    every attribute, and each attribute's sections are computed on their own.
    """
    stored_report = stored.data.report
    report = dict(stored_report)
    report["attributes"] = {name: stored_report["attributes"][name] for name in attributes}
    belonging = stored_report.get("belonging")
    if belonging is not None:
        report["belonging"] = {**belonging,
                               "by_attribute": {name: belonging["by_attribute"][name] for name in attributes}}
    if not include_members:
        report["communities"] = {k: v for k, v in stored_report["communities"].items() if k != "members"}
    return report


def attribute_names(stored: StoredDashboard) -> list[str]:
    """The attributes members had at the build's revision (the stored report covers them all)."""
    return sorted(stored.data.report["attributes"])
